//! Argo CD's sync options as the engine reads them: the app's (`SyncOptions::app_options`)
//! overridden per object by its own `argocd.argoproj.io/sync-options` or `moor.dev/sync-options`
//! annotation, and the warnings for options moor does not know.

use kube::Client;
use kube::api::{DeleteParams, PropagationPolicy as KubePropagation};
use kube::discovery::Scope;
use moor_types::{Manifest, PropagationPolicy, SyncOption, object_sync_options, option_flag};
use serde_json::Value;

use crate::SyncOptions;
use crate::plan::{Planned, annotation};
use crate::resolve::{Resolved, gvk_of};

/// The value of the yes/no option `which` for `obj` (a manifest or a live object): its own
/// annotation, else the app's option; None when neither sets it.
pub(crate) fn object_flag(
    opts: &SyncOptions,
    obj: &Value,
    which: fn(bool) -> SyncOption,
) -> Option<bool> {
    let own = object_sync_options(|name| annotation(obj, name).map(str::to_string));
    option_flag(&own, &opts.app_options, which)
}

/// The app's `PrunePropagationPolicy`, the last one given; None when it gives none.
pub(crate) fn propagation(opts: &SyncOptions) -> Option<PropagationPolicy> {
    opts.app_options.iter().rev().find_map(|o| match o {
        SyncOption::PrunePropagationPolicy(p) => Some(*p),
        _ => None,
    })
}

/// How a prune deletes: the app's propagation policy, background when it names none (moor's
/// behaviour before the option existed; Argo CD defaults to foreground).
pub(crate) fn delete_params(opts: &SyncOptions, dry_run: bool) -> DeleteParams {
    let propagation_policy = Some(match propagation(opts) {
        Some(PropagationPolicy::Foreground) => KubePropagation::Foreground,
        Some(PropagationPolicy::Orphan) => KubePropagation::Orphan,
        Some(PropagationPolicy::Background) | None => KubePropagation::Background,
    });
    DeleteParams {
        dry_run,
        propagation_policy,
        ..DeleteParams::default()
    }
}

/// Why an object whose kind is still not served was not written (`SkipDryRunOnMissingResource`).
pub(crate) const KIND_MISSING: &str = "not applied: its kind is not served yet \
     (SkipDryRunOnMissingResource=true); a later sync applies it once its CRD exists";

/// Looks up again the kind of an object that `SkipDryRunOnMissingResource` let through
/// unresolved: served now, the object is resolved and dry-run like any other before it is
/// written; still missing, it stays `kind_missing` and is skipped (not dry-run, not written).
pub(crate) async fn resolve_missing_kind(client: &Client, p: &mut Planned) {
    let gvk = gvk_of(p.d.m.api_version(), p.d.m.kind());
    if let Ok((ar, caps)) = kube::discovery::pinned_kind(client, &gvk).await {
        p.d.res = Resolved {
            ar,
            namespaced: caps.scope == Scope::Namespaced,
            from_pending_crd: false,
        };
        p.d.kind_missing = false;
    } else {
        p.checked = true;
        p.drifted = false;
    }
}

/// One line per sync option moor does not know, at app level or on an object of `manifests`,
/// naming the option and where it was found: a condition on the Application, a warning line
/// of `moor sync`. Unknown options are otherwise ignored, never silently.
pub fn sync_option_warnings(app: &[SyncOption], manifests: &[Manifest]) -> Vec<String> {
    let mut out: Vec<String> = app
        .iter()
        .filter(|o| matches!(o, SyncOption::Unknown(_)))
        .map(|o| {
            format!(
                "unknown sync option {:?} in syncPolicy.syncOptions: ignored",
                o.as_str()
            )
        })
        .collect();
    for m in manifests {
        for o in object_sync_options(|name| m.annotation(name).map(str::to_string)) {
            if let SyncOption::Unknown(word) = o {
                out.push(format!(
                    "unknown sync option {word:?} on {} ({}): ignored",
                    m.key(),
                    m.origin
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_annotation(value: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "a", "annotations": {"argocd.argoproj.io/sync-options": value}}})
    }

    #[test]
    fn an_objects_option_overrides_the_apps() {
        let mut opts = SyncOptions::new("a", "ns");
        opts.app_options = vec![SyncOption::PruneLast(true), SyncOption::Validate(false)];
        let obj = with_annotation("PruneLast=false");
        assert_eq!(object_flag(&opts, &obj, SyncOption::PruneLast), Some(false));
        assert_eq!(object_flag(&opts, &obj, SyncOption::Validate), Some(false));
        assert_eq!(object_flag(&opts, &obj, SyncOption::Delete), None);
    }

    #[test]
    fn propagation_is_background_unless_the_app_says_otherwise() {
        let mut opts = SyncOptions::new("a", "ns");
        let policy = |o: &SyncOptions| format!("{:?}", delete_params(o, false).propagation_policy);
        assert_eq!(policy(&opts), "Some(Background)");
        opts.app_options = vec![SyncOption::parse("PrunePropagationPolicy=orphan")];
        assert_eq!(policy(&opts), "Some(Orphan)");
        opts.app_options = vec![SyncOption::parse("PrunePropagationPolicy=foreground")];
        assert_eq!(policy(&opts), "Some(Foreground)");
    }

    #[test]
    fn unknown_options_are_named_with_their_object() {
        let m = Manifest::new(with_annotation("Prune=false, Bogus=1"), Default::default());
        let w = sync_option_warnings(&[SyncOption::parse("Nope=true")], &[m]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("\"Nope=true\" in syncPolicy.syncOptions"),
            "{}",
            w[0]
        );
        assert!(w[1].contains("\"Bogus=1\" on ConfigMap"), "{}", w[1]);
    }
}
