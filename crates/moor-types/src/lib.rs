//! Core types shared by every moor crate: object keys, rendered manifests, the vocabulary of
//! statuses, phases, conditions, reasons and sync options (`vocab`), the annotations and labels
//! moor writes, and the apply order. No I/O lives here.

#![warn(missing_docs)]

mod error;
mod hook;
mod key;
mod manifest;
mod order;
mod status;
mod vocab;

pub use error::error_chain;
pub use hook::{
    ANNOTATION_HOOK, ANNOTATION_HOOK_DELETE_POLICY, ANNOTATION_HOOK_TIMEOUT, ARGO_ANNOTATION_HOOK,
    ARGO_ANNOTATION_HOOK_DELETE_POLICY, DEFAULT_HOOK_TIMEOUT, HELM_ANNOTATION_HOOK,
    HELM_ANNOTATION_HOOK_DELETE_POLICY, HELM_ANNOTATION_HOOK_WEIGHT, Hook, HookDeletePolicy,
    HookRole, SyncPhase, helm_hook_weight, hook_role,
};
pub use key::ObjKey;
pub use manifest::{Manifest, Origin};
pub use order::{ApplyOrder, is_early, kind_rank, sync_wave, wave_of};
pub use status::{Change, HealthStatus, SyncStatus};
pub use vocab::{
    ConditionReason, ConditionType, EventReason, OperationPhase, PropagationPolicy, SyncOption,
    UnknownWord,
};

/// Field manager used for every server-side apply moor does.
pub const FIELD_MANAGER: &str = "moor";
/// Annotation naming the app (and the object's own identity) that owns an object.
pub const ANNOTATION_TRACKING: &str = "moor.dev/tracking-id";
/// Label carrying the owning app's name, for label selection (`kubectl get -l moor.dev/app=x`).
pub const LABEL_APP: &str = "moor.dev/app";
/// Integer sync wave; waves are applied in ascending order, each healthy before the next.
pub const ANNOTATION_SYNC_WAVE: &str = "moor.dev/sync-wave";
/// `"false"` keeps an object when it leaves Git, even with prune on.
pub const ANNOTATION_PRUNE: &str = "moor.dev/prune";
/// Argo CD's sync wave, honoured when `moor.dev/sync-wave` is absent (manifests moved from Argo CD).
pub const ARGO_ANNOTATION_SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Argo CD's comma-separated per-object sync options; `Prune=false` keeps the object like
/// `moor.dev/prune: "false"`.
pub const ARGO_ANNOTATION_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// moor's name for the same per-object sync options; both annotations are read, moor's last.
pub const ANNOTATION_SYNC_OPTIONS: &str = "moor.dev/sync-options";
/// Argo CD's per-object compare options; `IgnoreExtraneous` keeps an object that left Git out
/// of the app's sync status.
pub const ARGO_ANNOTATION_COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";

/// An object's own sync options: Argo CD's annotation, then moor's (a later option of the same
/// key wins, see [`option_flag`]).
pub fn object_sync_options(annotation: impl Fn(&str) -> Option<String>) -> Vec<SyncOption> {
    [ARGO_ANNOTATION_SYNC_OPTIONS, ANNOTATION_SYNC_OPTIONS]
        .into_iter()
        .filter_map(annotation)
        .flat_map(|list| SyncOption::split(&list).collect::<Vec<_>>())
        .collect()
}

/// The value of the yes/no option `which` for one object: its own options override the app's
/// (as in Argo CD), and the last one of a list wins. None when neither sets it.
pub fn option_flag(
    object: &[SyncOption],
    app: &[SyncOption],
    which: fn(bool) -> SyncOption,
) -> Option<bool> {
    let last = |opts: &[SyncOption]| opts.iter().rev().find_map(|o| o.flag(which));
    last(object).or_else(|| last(app))
}

/// Whether an object's annotations ask for it never to be pruned (moor's or Argo CD's).
pub fn prune_disabled(annotation: impl Fn(&str) -> Option<String>) -> bool {
    annotation(ANNOTATION_PRUNE).as_deref() == Some("false")
        || object_sync_options(annotation).contains(&SyncOption::Prune(false))
}

/// Whether an object's compare options hold `IgnoreExtraneous`: left out of Git, it does not
/// make the app OutOfSync.
pub fn ignore_extraneous(annotation: impl Fn(&str) -> Option<String>) -> bool {
    annotation(ARGO_ANNOTATION_COMPARE_OPTIONS)
        .is_some_and(|o| o.split(',').any(|o| o.trim() == "IgnoreExtraneous"))
}
/// Hash of the desired manifest as last applied: when it and every desired field still match the
/// live object, a resync skips the server-side dry-run (the expensive part of an unchanged sync).
pub const ANNOTATION_APPLIED_HASH: &str = "moor.dev/applied-hash";
/// Namespace where moor keeps inventories of apps synced by the CLI.
pub const SYSTEM_NAMESPACE: &str = "moor-system";
/// File names kustomize accepts for a kustomization, in the order it looks for them; the
/// renderer and the image editor must agree on which file a directory's kustomization is.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The tracking annotation's value for `key` owned by `app`: `app:group/Kind:namespace/name`.
/// It names the object itself too, so a copy of a managed object (same annotations, other name)
/// is not mistaken for a managed one.
pub fn tracking_id(app: &str, key: &ObjKey) -> String {
    format!(
        "{app}:{}/{}:{}/{}",
        key.group,
        key.kind,
        key.namespace.as_deref().unwrap_or(""),
        key.name
    )
}

/// The app named by a tracking annotation value, if it is well formed.
pub fn tracking_app(value: &str) -> Option<&str> {
    let (app, rest) = value.split_once(':')?;
    (!app.is_empty() && rest.contains(':')).then_some(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_is_disabled_by_moor_or_argo_cd_annotations() {
        let with = |pairs: &[(&str, &str)]| {
            let map: std::collections::HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            prune_disabled(|name| map.get(name).cloned())
        };
        assert!(!with(&[]));
        assert!(with(&[("moor.dev/prune", "false")]));
        assert!(!with(&[("moor.dev/prune", "true")]));
        assert!(with(&[(
            "argocd.argoproj.io/sync-options",
            "ServerSideApply=true, Prune=false"
        )]));
        assert!(!with(&[(
            "argocd.argoproj.io/sync-options",
            "Replace=true"
        )]));
    }

    #[test]
    fn object_options_override_the_apps_and_both_annotations_count() {
        let map: std::collections::HashMap<&str, &str> = [
            (
                "argocd.argoproj.io/sync-options",
                "PruneLast=true, Delete=false",
            ),
            ("moor.dev/sync-options", "Delete=true"),
            (
                "argocd.argoproj.io/compare-options",
                "ServerSideDiff=true,IgnoreExtraneous",
            ),
        ]
        .into();
        let get = |k: &str| map.get(k).map(|v| v.to_string());
        let obj = object_sync_options(get);
        assert_eq!(option_flag(&obj, &[], SyncOption::PruneLast), Some(true));
        assert_eq!(option_flag(&obj, &[], SyncOption::Delete), Some(true));
        let app = [SyncOption::Validate(false), SyncOption::PruneLast(false)];
        assert_eq!(option_flag(&obj, &app, SyncOption::PruneLast), Some(true));
        assert_eq!(option_flag(&obj, &app, SyncOption::Validate), Some(false));
        assert_eq!(option_flag(&obj, &app, SyncOption::Prune), None);
        assert!(ignore_extraneous(get));
        assert!(!ignore_extraneous(|_| None));
        assert!(prune_disabled(
            |k| (k == "moor.dev/sync-options").then(|| "Prune=false".into())
        ));
    }

    #[test]
    fn tracking_id_round_trips_the_app() {
        let key = ObjKey::new("apps", "Deployment", Some("prod"), "web");
        let id = tracking_id("shop", &key);
        assert_eq!(id, "shop:apps/Deployment:prod/web");
        assert_eq!(tracking_app(&id), Some("shop"));
        assert_eq!(tracking_app("garbage"), None);
        assert_eq!(tracking_app(":x:y"), None);
    }
}
