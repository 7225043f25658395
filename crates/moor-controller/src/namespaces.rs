//! `CreateNamespace=true`: the destination namespace is created (not tracked, so never pruned)
//! before the dry-run of what goes in it, once per cluster and namespace rather than on every
//! reconcile: at 10,000 apps that apply was a write per app per poll (BENCHMARKS.md, scale).

use std::collections::HashSet;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use moor_types::SyncOption;
use serde_json::json;

use crate::clusters::Cluster;
use crate::crd::Application;

/// Namespaces this process created or found created, by cluster server URL and name.
#[derive(Default)]
pub struct Ensured(Mutex<HashSet<(String, String)>>);

impl Ensured {
    fn known(&self, server: &str, ns: &str) -> bool {
        let set = self.0.lock().expect("namespaces lock");
        set.contains(&(server.to_string(), ns.to_string()))
    }

    fn insert(&self, server: &str, ns: &str) {
        let mut set = self.0.lock().expect("namespaces lock");
        set.insert((server.to_string(), ns.to_string()));
    }

    /// Forgets the app's namespace after a failed comparison or sync: someone may have deleted
    /// it, and the next reconcile creates it again.
    pub fn forget(&self, server: &str, app: &Application) {
        if let Some(ns) = app.spec.destination.namespace.as_deref() {
            let mut set = self.0.lock().expect("namespaces lock");
            set.remove(&(server.to_string(), ns.to_string()));
        }
    }
}

/// Creates the app's destination namespace with `CreateNamespace=true`, unless this process did
/// so already. As the app's service account when it has one (`cluster.engine`): creating a
/// namespace is a write too. A failure is logged; the dry-run that follows names it.
pub async fn ensure(ensured: &Ensured, app: &Application, cluster: &Cluster) {
    let Some(ns) = app.spec.destination.namespace.as_deref() else {
        return;
    };
    if !app.has_sync_option(SyncOption::CreateNamespace(true)) || ensured.known(&cluster.server, ns)
    {
        return;
    }
    let api: Api<Namespace> = Api::all(cluster.engine.client().clone());
    let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    let pp = PatchParams::apply("moor-controller");
    match api.patch(ns, &pp, &Patch::Apply(&obj)).await {
        Ok(_) => ensured.insert(&cluster.server, ns),
        Err(e) => tracing::warn!("failed to create namespace {ns}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_is_known_per_cluster_until_forgotten() {
        let e = Ensured::default();
        e.insert("https://a", "team");
        assert!(e.known("https://a", "team"));
        assert!(!e.known("https://b", "team"));
        let app: Application = serde_json::from_value(json!({
            "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"source": {"repoURL": "file:///r", "path": "."},
                     "destination": {"namespace": "team"}}
        }))
        .unwrap();
        e.forget("https://a", &app);
        assert!(!e.known("https://a", "team"));
    }
}
