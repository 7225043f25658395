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

/// Label selector of the Secrets that describe destination clusters (Argo CD's cluster Secrets).
pub const CLUSTER_SECRET_LABEL: &str = "moor.dev/secret-type=cluster";
/// The name `destination.name` gives the controller's own cluster, as in Argo CD.
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
    /// API server URL, as projects' `destinations` match it.
    pub server: String,
    /// The project the cluster Secret is scoped to (its `project` key): no other may use it.
    pub project: Option<String>,
    /// The controller's own client: watches and the inventory.
    pub client: Client,
    /// Reads and writes the app's objects: as the controller, or as the app's service account.
    pub engine: Arc<Engine>,
    /// What `client` was built from, to build impersonating clients; and its Secret's
    /// resourceVersion, so those are rebuilt when the Secret changes.
    config: Config,
    version: String,
}

pub struct Clusters {
    home: Cluster,
    namespace: String,
    /// Built clients by secret name and resourceVersion, so a changed secret builds a new one.
    cache: Mutex<HashMap<String, (String, Cluster)>>,
    /// Engines impersonating service accounts, by cluster, its version and the user name.
    impersonating: Mutex<HashMap<(String, String, String), Cluster>>,
    layer: Box<MakeClient>,
    /// Commands a cluster Secret's kubeconfig may run (`--allow-exec-command`).
    pub allowed_commands: Vec<String>,
}

impl Clusters {
    /// `make_client` builds a client for a cluster's config (the controller adds its metrics layer).
    pub fn new(
        home: Client,
        home_config: Config,
        namespace: &str,
        make_client: impl Fn(Config, &str) -> Result<Client, String> + Send + Sync + 'static,
    ) -> Clusters {
        Clusters {
            home: Cluster {
                name: IN_CLUSTER_NAME.into(),
                server: IN_CLUSTER.into(),
                project: None,
                engine: Arc::new(Engine::new(home.clone())),
                client: home,
                config: home_config,
                version: String::new(),
            },
            namespace: namespace.to_string(),
            cache: Mutex::new(HashMap::new()),
            impersonating: Mutex::new(HashMap::new()),
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
            let client = (self.layer)(config.clone(), &name).map_err(bad)?;
            let cluster = Cluster {
                name: name.clone(),
                server: field("server")
                    .unwrap_or_else(|| config.cluster_url.to_string())
                    .trim_end_matches('/')
                    .to_string(),
                project: field("project").filter(|p| !p.is_empty()),
                engine: Arc::new(Engine::new(client.clone())),
                client,
                config,
                version: rv.clone(),
            };
            self.cache
                .lock()
                .expect("cluster cache")
                .insert(secret_name, (rv, cluster.clone()));
            return Ok(cluster);
        }
        Err(ClusterError::Unknown(wanted))
    }

    /// `cluster` with an engine that reads and writes as service account `namespace/name`
    /// (Kubernetes impersonation), so the API server's RBAC decides what the app may do; its
    /// inventory stays the controller's. Built once per cluster version and account.
    pub fn impersonating(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
    ) -> Result<Cluster, ClusterError> {
        let user = format!("system:serviceaccount:{namespace}:{name}");
        let key = (cluster.name.clone(), cluster.version.clone(), user.clone());
        if let Some(c) = self
            .impersonating
            .lock()
            .expect("impersonation cache")
            .get(&key)
        {
            return Ok(c.clone());
        }
        let mut config = cluster.config.clone();
        config.auth_info.impersonate = Some(user);
        // The API server adds the service account's groups itself.
        config.auth_info.impersonate_groups = None;
        let client =
            (self.layer)(config, &cluster.name).map_err(|cause| ClusterError::BadConfig {
                name: cluster.name.clone(),
                cause,
            })?;
        let imp = Cluster {
            engine: Arc::new(Engine::with_inventory_client(
                client,
                cluster.client.clone(),
            )),
            ..cluster.clone()
        };
        self.impersonating
            .lock()
            .expect("impersonation cache")
            .insert(key, imp.clone());
        Ok(imp)
    }
}
