//! What a cluster serves, as Helm's `.Capabilities` sees it: the server version and every
//! `group/version` and `group/version/Kind`. Taken from the same full discovery the engine
//! keeps for prunes and comparisons (see `Resolver::discovered`), so a chart render costs no
//! discovery of its own.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::core::ApiResource;
use kube::discovery::{self, Discovery, Scope};

use crate::Engine;

/// The destination cluster as `helm template --kube-version --api-versions` is told of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterCapabilities {
    /// The server's `gitVersion`, e.g. `v1.34.4`.
    pub kube_version: String,
    /// Every served `group/version` (core: `v1`) and `group/version/Kind`, sorted, as Argo CD
    /// passes them to Helm.
    pub api_versions: Vec<String>,
}

/// One full discovery of an API server and what is derived from it.
pub(crate) struct Snapshot {
    /// Every namespaced type that can be listed (preferred versions).
    pub namespaced: Vec<ApiResource>,
    /// The server version and API versions for Helm.
    pub capabilities: ClusterCapabilities,
}

impl Snapshot {
    /// Derives the snapshot from a discovery run and the server's version.
    pub fn of(discovery: &Discovery, kube_version: String) -> Snapshot {
        let namespaced = discovery
            .groups()
            .flat_map(|g| g.recommended_resources())
            .filter(|(_, caps)| {
                caps.scope == Scope::Namespaced && caps.supports_operation(discovery::verbs::LIST)
            })
            .map(|(ar, _)| ar)
            .collect();
        // Every version, not only the preferred one: a chart may ask for a beta version the
        // cluster still serves next to the stable one.
        let mut api_versions = BTreeSet::new();
        for group in discovery.groups() {
            for version in group.versions() {
                let gv = match group.name() {
                    "" => version.to_string(),
                    g => format!("{g}/{version}"),
                };
                for (ar, _) in group.versioned_resources(version) {
                    api_versions.insert(format!("{gv}/{}", ar.kind));
                }
                api_versions.insert(gv);
            }
        }
        Snapshot {
            namespaced,
            capabilities: ClusterCapabilities {
                kube_version,
                api_versions: api_versions.into_iter().collect(),
            },
        }
    }
}

impl Engine {
    /// The cluster's version and API versions for Helm, from a discovery at most `max_age`
    /// old (the engine's own, shared with prunes and comparisons). A sync that changes a
    /// CustomResourceDefinition or an APIService forgets it, so the next call sees the change.
    pub async fn capabilities(
        &self,
        max_age: Duration,
    ) -> Result<ClusterCapabilities, kube::Error> {
        let snapshot = self.resolver.discovered(&self.client, max_age).await?;
        Ok(snapshot.capabilities.clone())
    }
}

/// Whether a change to an object of `kind` changes what the API server serves.
pub(crate) fn changes_api(kind: &str) -> bool {
    matches!(kind, "CustomResourceDefinition" | "APIService")
}
