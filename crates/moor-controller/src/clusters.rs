//! Destination clusters: the controller's own (`https://kubernetes.default.svc` or `in-cluster`)
//! and clusters registered as Secrets labelled `moor.dev/secret-type: cluster` in the controller's
//! namespace, holding `name`, `server` and `config` (a kubeconfig).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use moor_apply::Engine;

use crate::crd::{Destination, IN_CLUSTER};

pub const CLUSTER_SECRET_LABEL: &str = "moor.dev/secret-type=cluster";
pub const IN_CLUSTER_NAME: &str = "in-cluster";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("failed to list cluster secrets")]
    List(#[source] kube::Error),
    #[error("destination names no cluster: set destination.server or destination.name")]
    NoDestination,
    #[error(
        "no cluster is registered as {0:?} (a Secret labelled {CLUSTER_SECRET_LABEL} in the controller's namespace)"
    )]
    Unknown(String),
    #[error("failed to load the kubeconfig of cluster {name:?}: {cause}")]
    BadConfig { name: String, cause: String },
    #[error("the kubeconfig of cluster {name:?} is not used: {cause}")]
    Unsafe {
        name: String,
        cause: crate::cluster_config::UnsafeKubeconfig,
    },
}

/// Builds a client for a cluster config (the controller adds its metrics layer).
type MakeClient = dyn Fn(Config, &str) -> Result<Client, String> + Send + Sync;

/// A destination cluster: its name (for metrics and watches), a client and its sync engine.
#[derive(Clone)]
pub struct Cluster {
    pub name: String,
    pub client: Client,
    pub engine: Arc<Engine>,
}

pub struct Clusters {
    home: Cluster,
    namespace: String,
    /// Built clients by secret name and resourceVersion, so a changed secret builds a new one.
    cache: Mutex<HashMap<String, (String, Cluster)>>,
    layer: Box<MakeClient>,
    /// Commands a cluster Secret's kubeconfig may run (`--allow-exec-command`).
    pub allowed_commands: Vec<String>,
}

impl Clusters {
    /// `make_client` builds a client for a cluster's config (the controller adds its metrics layer).
    pub fn new(
        home: Client,
        namespace: &str,
        make_client: impl Fn(Config, &str) -> Result<Client, String> + Send + Sync + 'static,
    ) -> Clusters {
        Clusters {
            home: Cluster {
                name: IN_CLUSTER_NAME.into(),
                engine: Arc::new(Engine::new(home.clone())),
                client: home,
            },
            namespace: namespace.to_string(),
            cache: Mutex::new(HashMap::new()),
            layer: Box::new(make_client),
            allowed_commands: vec![],
        }
    }

    pub async fn for_destination(&self, dest: &Destination) -> Result<Cluster, ClusterError> {
        let server = dest.server.as_deref().map(|s| s.trim_end_matches('/'));
        match (dest.name.as_deref(), server) {
            (Some(IN_CLUSTER_NAME), _) | (None, Some(IN_CLUSTER)) => return Ok(self.home.clone()),
            (None, None) => return Err(ClusterError::NoDestination),
            _ => {}
        }
        let secrets: Api<Secret> = Api::namespaced(self.home.client.clone(), &self.namespace);
        let list = secrets
            .list(&ListParams::default().labels(CLUSTER_SECRET_LABEL))
            .await
            .map_err(ClusterError::List)?;
        let wanted = dest
            .name
            .clone()
            .or_else(|| server.map(str::to_string))
            .unwrap_or_default();
        for s in list.items {
            let field = |k: &str| {
                s.data
                    .as_ref()
                    .and_then(|d| d.get(k))
                    .map(|b| String::from_utf8_lossy(&b.0).trim().to_string())
            };
            let name = field("name").unwrap_or_else(|| s.metadata.name.clone().unwrap_or_default());
            let matches = match dest.name.as_deref() {
                Some(n) => n == name,
                None => field("server").as_deref().map(|s| s.trim_end_matches('/')) == server,
            };
            if !matches {
                continue;
            }
            let rv = s.metadata.resource_version.clone().unwrap_or_default();
            let secret_name = s.metadata.name.clone().unwrap_or_default();
            let cached = self
                .cache
                .lock()
                .expect("cluster cache")
                .get(&secret_name)
                .cloned();
            if let Some((cached_rv, c)) = cached
                && cached_rv == rv
            {
                return Ok(c);
            }
            let bad = |cause: String| ClusterError::BadConfig {
                name: name.clone(),
                cause,
            };
            let raw =
                field("config").ok_or_else(|| bad("the secret has no `config` key".into()))?;
            let kc = Kubeconfig::from_yaml(&raw).map_err(|e| bad(e.to_string()))?;
            crate::cluster_config::vet(&kc, &self.allowed_commands).map_err(|cause| {
                ClusterError::Unsafe {
                    name: name.clone(),
                    cause,
                }
            })?;
            let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| bad(e.to_string()))?;
            let client = (self.layer)(config, &name).map_err(bad)?;
            let cluster = Cluster {
                name: name.clone(),
                engine: Arc::new(Engine::new(client.clone())),
                client,
            };
            self.cache
                .lock()
                .expect("cluster cache")
                .insert(secret_name, (rv, cluster.clone()));
            return Ok(cluster);
        }
        Err(ClusterError::Unknown(wanted))
    }
}
