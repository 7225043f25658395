use std::cmp::Ordering;

use crate::{
    ANNOTATION_SYNC_WAVE, ARGO_ANNOTATION_SYNC_WAVE, HookRole, Manifest, ObjKey, SyncPhase,
    helm_hook_weight, hook_role,
};

/// Kinds in the order they are applied (as Helm and Argo CD do); custom resources come last.
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Position of a kind in the apply order; unknown kinds (custom resources) sort after all known.
pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// The object's sync wave (annotation `moor.dev/sync-wave`, else Argo CD's
/// `argocd.argoproj.io/sync-wave`), 0 when absent. A value that is not an integer is an error
/// naming the annotation and the value.
pub fn sync_wave(m: &Manifest) -> Result<i64, String> {
    let found = [ANNOTATION_SYNC_WAVE, ARGO_ANNOTATION_SYNC_WAVE]
        .into_iter()
        .find_map(|name| Some((name, m.annotation(name)?)));
    match found {
        None => Ok(0),
        Some((name, v)) => v
            .trim()
            .parse()
            .map_err(|_| format!("annotation {name} must be an integer, got {v:?}")),
    }
}

/// The one order of a sync, as one sorting key: phase (PreSync, Sync, PostSync, …) > early
/// (Namespaces and CRDs of a phase before the rest, so what others live in exists first) > wave >
/// kind rank > kind > namespace > name. Apply goes up it, prune down it, and `moor render` and
/// `moor sync` print objects in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApplyOrder {
    /// The hook phase; steady objects are `Sync`.
    pub phase: SyncPhase,
    /// False for Namespaces and CRDs (they sort first), true for everything else.
    pub late: bool,
    /// `moor.dev/sync-wave` (0 when unset or invalid).
    pub wave: i64,
    /// [`kind_rank`] of the kind.
    pub rank: usize,
    /// The kind, so kinds of equal rank do not interleave.
    pub kind: String,
    /// The namespace ("" for cluster-scoped objects).
    pub namespace: String,
    /// The name, last, so the order is total.
    pub name: String,
}

/// Kinds every other object may live in or be an instance of: applied before the rest of their
/// phase, pruned after it.
pub fn is_early(group: &str, kind: &str) -> bool {
    (group.is_empty() && kind == "Namespace")
        || (group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition")
}

impl ApplyOrder {
    /// The key of an object known by its parts.
    pub fn new(
        phase: SyncPhase,
        wave: i64,
        group: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        ApplyOrder {
            phase,
            late: !is_early(group, kind),
            wave,
            rank: kind_rank(kind),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The key of `m`: its first hook phase (`Sync` for a steady object) and its wave (a
    /// hook's Helm weight when it has no sync wave).
    pub fn of(m: &Manifest) -> ApplyOrder {
        let phase = match hook_role(m) {
            Ok(HookRole::Hook(h)) => h.phases.first().copied().unwrap_or(SyncPhase::Sync),
            _ => SyncPhase::Sync,
        };
        ApplyOrder::new(
            phase,
            wave_of(m).unwrap_or(0),
            ObjKey::group_of(m.api_version()),
            m.kind(),
            m.namespace().unwrap_or(""),
            m.name(),
        )
    }

    /// Compares two manifests in apply order (for `sort_by`).
    pub fn cmp_manifests(a: &Manifest, b: &Manifest) -> Ordering {
        ApplyOrder::of(a).cmp(&ApplyOrder::of(b))
    }

    /// The stage of the sync the object belongs to: objects of one stage are applied together,
    /// and a stage is healthy before the next begins.
    pub fn stage(&self) -> (SyncPhase, bool, i64) {
        (self.phase, self.late, self.wave)
    }
}

/// The wave of an object: its sync-wave annotation, else a Helm hook's `helm.sh/hook-weight`.
pub fn wave_of(m: &Manifest) -> Result<i64, String> {
    let explicit = [ANNOTATION_SYNC_WAVE, ARGO_ANNOTATION_SYNC_WAVE]
        .iter()
        .any(|a| m.annotation(a).is_some());
    match helm_hook_weight(m)? {
        Some(w) if !explicit => Ok(w),
        _ => sync_wave(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Origin;
    use serde_json::json;

    fn m(kind: &str, name: &str, wave: Option<&str>) -> Manifest {
        let mut v = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}});
        if let Some(w) = wave {
            v["metadata"]["annotations"] = json!({ ANNOTATION_SYNC_WAVE: w });
        }
        Manifest::new(v, Origin::default())
    }

    fn hook(kind: &str, name: &str, annotations: serde_json::Value) -> Manifest {
        Manifest::new(
            json!({"apiVersion": "batch/v1", "kind": kind,
                   "metadata": {"name": name, "annotations": annotations}}),
            Origin::default(),
        )
    }

    #[test]
    fn orders_by_phase_then_early_kinds_then_wave_then_kind_then_name() {
        let mut v = [
            m("Deployment", "b", None),
            hook(
                "Job",
                "smoke",
                json!({"argocd.argoproj.io/hook": "PostSync"}),
            ),
            m("Widget", "a", None),
            hook(
                "Job",
                "late",
                json!({"argocd.argoproj.io/hook": "Sync", ANNOTATION_SYNC_WAVE: "1"}),
            ),
            m("Service", "z", None),
            m("Namespace", "n", Some("2")),
            hook(
                "Job",
                "migrate",
                json!({"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "5"}),
            ),
            hook(
                "Job",
                "first",
                json!({"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-5"}),
            ),
            m("ConfigMap", "early", Some("-1")),
            m("Deployment", "a", None),
        ];
        v.sort_by(ApplyOrder::cmp_manifests);
        let names: Vec<_> = v
            .iter()
            .map(|m| format!("{}/{}", m.kind(), m.name()))
            .collect();
        assert_eq!(
            names,
            [
                "Job/first",
                "Job/migrate",
                "Namespace/n",
                "ConfigMap/early",
                "Service/z",
                "Deployment/a",
                "Deployment/b",
                "Widget/a",
                "Job/late",
                "Job/smoke",
            ]
        );
    }

    #[test]
    fn bad_wave_is_an_error() {
        assert!(
            sync_wave(&m("ConfigMap", "x", Some("soon")))
                .unwrap_err()
                .contains("soon")
        );
        assert_eq!(sync_wave(&m("ConfigMap", "x", Some(" 3 "))), Ok(3));
    }

    #[test]
    fn argo_cd_wave_is_used_when_moor_has_none() {
        let with = |annotations: serde_json::Value| {
            let v = json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "x", "annotations": annotations}});
            sync_wave(&Manifest::new(v, Origin::default()))
        };
        assert_eq!(with(json!({"argocd.argoproj.io/sync-wave": "-2"})), Ok(-2));
        assert_eq!(
            with(json!({"argocd.argoproj.io/sync-wave": "-2", ANNOTATION_SYNC_WAVE: "4"})),
            Ok(4)
        );
        let err = with(json!({"argocd.argoproj.io/sync-wave": "late"})).unwrap_err();
        assert!(
            err.contains("argocd.argoproj.io/sync-wave") && err.contains("late"),
            "{err}"
        );
    }
}
