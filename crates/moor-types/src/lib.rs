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
    ConditionReason, ConditionType, EventReason, OperationPhase, SyncOption, UnknownWord,
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

/// Whether an object's annotations ask for it never to be pruned (moor's or Argo CD's).
pub fn prune_disabled(annotation: impl Fn(&str) -> Option<String>) -> bool {
    annotation(ANNOTATION_PRUNE).as_deref() == Some("false")
        || annotation(ARGO_ANNOTATION_SYNC_OPTIONS)
            .is_some_and(|o| SyncOption::split(&o).any(|o| o == SyncOption::Prune(false)))
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
    fn tracking_id_round_trips_the_app() {
        let key = ObjKey::new("apps", "Deployment", Some("prod"), "web");
        let id = tracking_id("shop", &key);
        assert_eq!(id, "shop:apps/Deployment:prod/web");
        assert_eq!(tracking_app(&id), Some("shop"));
        assert_eq!(tracking_app("garbage"), None);
        assert_eq!(tracking_app(":x:y"), None);
    }
}
