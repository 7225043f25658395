use std::cmp::Ordering;

use crate::{ANNOTATION_SYNC_WAVE, ARGO_ANNOTATION_SYNC_WAVE, Manifest};

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

/// Sorting key: wave > kind rank > namespace > name. Namespaces and CRDs sort first in a wave
/// by kind rank; moor-apply additionally applies them before all waves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApplyOrder {
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

impl ApplyOrder {
    /// The sorting key of `m`.
    pub fn of(m: &Manifest) -> ApplyOrder {
        ApplyOrder {
            wave: sync_wave(m).unwrap_or(0),
            rank: kind_rank(m.kind()),
            kind: m.kind().to_string(),
            namespace: m.namespace().unwrap_or("").to_string(),
            name: m.name().to_string(),
        }
    }

    /// Compares two manifests in apply order (for `sort_by`).
    pub fn cmp_manifests(a: &Manifest, b: &Manifest) -> Ordering {
        ApplyOrder::of(a).cmp(&ApplyOrder::of(b))
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

    #[test]
    fn orders_by_wave_then_kind_then_name() {
        let mut v = [
            m("Deployment", "b", None),
            m("Widget", "a", None),
            m("Service", "z", None),
            m("Namespace", "n", None),
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
                "ConfigMap/early",
                "Namespace/n",
                "Service/z",
                "Deployment/a",
                "Deployment/b",
                "Widget/a"
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
