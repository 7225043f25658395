//! What every reconcile shares: clients, caches, watches, metrics, events and per-app backoff.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ListParams};
use kube::core::ApiResource;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use moor_git::{Credentials, normalize_url};
use moor_server::Metrics;
use sha2::{Digest, Sha256};

use crate::clusters::Clusters;
use crate::crd::Application;
use crate::reconcile::AppRefKey;
use crate::sources::Sources;
use crate::watches::Watches;

pub const REPO_SECRET_LABEL: &str = "moor.dev/secret-type=repository";
const CREDS_TTL: Duration = Duration::from_secs(30);

pub struct Shared {
    pub home: Client,
    pub namespace: String,
    pub clusters: Clusters,
    pub sources: Sources,
    pub watches: Watches,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub poll_interval: Duration,
    pub key_dir: PathBuf,
    /// Controller-wide health rules (the `moor-health` ConfigMap), cached.
    pub health: crate::health_rules::ControllerRules,
    heals: Mutex<HashMap<String, HealState>>,
    failures: Mutex<HashMap<String, u32>>,
    repo_secrets: tokio::sync::Mutex<Option<(Instant, Vec<Secret>)>>,
}

struct HealState {
    count: u32,
    window_start: Instant,
    last: Option<Instant>,
}

/// One per Application API group (moor.dev, and argoproj.io with --argocd-compat).
pub struct Ctx {
    pub ar: ApiResource,
    pub store: Store<Application>,
    pub shared: Arc<Shared>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        home: Client,
        namespace: String,
        clusters: Clusters,
        sources: Sources,
        watches: Watches,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        poll_interval: Duration,
        key_dir: PathBuf,
    ) -> Shared {
        Shared {
            home,
            namespace,
            clusters,
            sources,
            watches,
            metrics,
            recorder,
            poll_interval,
            key_dir,
            health: Default::default(),
            heals: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            repo_secrets: tokio::sync::Mutex::new(None),
        }
    }

    /// Self-heal at once the first times; when something keeps reverting the app's objects
    /// (more than 3 heals within a minute), back off 2 s x 3^n up to 5 minutes, as Argo CD does.
    pub fn heal_allowed(&self, app: &str) -> bool {
        let mut heals = self.heals.lock().expect("heals lock");
        let now = Instant::now();
        let st = heals.entry(app.to_string()).or_insert(HealState {
            count: 0,
            window_start: now,
            last: None,
        });
        if now.duration_since(st.window_start) > Duration::from_secs(60) {
            st.count = 0;
            st.window_start = now;
        }
        if st.count >= 3 {
            let wait = Duration::from_secs(2 * 3u64.saturating_pow(st.count - 3))
                .min(Duration::from_secs(300));
            if st.last.is_some_and(|last| now.duration_since(last) < wait) {
                return false;
            }
        }
        st.count += 1;
        st.last = Some(now);
        true
    }

    /// Exponential backoff for a failing app (5 s doubling, at most 3 minutes): a failing app
    /// never delays others, it only waits longer itself.
    pub fn failure_backoff(&self, app: &str) -> Duration {
        let mut f = self.failures.lock().expect("failures lock");
        let n = f.entry(app.to_string()).or_insert(0);
        *n = (*n + 1).min(10);
        Duration::from_secs(5u64.saturating_mul(1 << (*n - 1))).min(Duration::from_secs(180))
    }

    pub fn clear_failures(&self, app: &str) {
        self.failures.lock().expect("failures lock").remove(app);
    }

    /// Credentials for a repository: from a Secret labelled `moor.dev/secret-type: repository`
    /// whose `url` is a prefix of the repo's (longest wins), else the controller's environment.
    pub async fn credentials_for(&self, repo_url: &str) -> Credentials {
        let secrets = {
            let mut cache = self.repo_secrets.lock().await;
            let fresh = cache.as_ref().is_some_and(|(t, _)| t.elapsed() < CREDS_TTL);
            if !fresh {
                let api: Api<Secret> = Api::namespaced(self.home.clone(), &self.namespace);
                let list = api
                    .list(&ListParams::default().labels(REPO_SECRET_LABEL))
                    .await;
                *cache = Some((Instant::now(), list.map(|l| l.items).unwrap_or_default()));
            }
            cache.as_ref().map(|(_, s)| s.clone()).unwrap_or_default()
        };
        let want = normalize_url(repo_url);
        let field = |s: &Secret, k: &str| {
            s.data
                .as_ref()?
                .get(k)
                .map(|b| String::from_utf8_lossy(&b.0).to_string())
                .filter(|v| !v.is_empty())
        };
        let best = secrets
            .iter()
            .filter_map(|s| {
                let url = normalize_url(&field(s, "url")?);
                want.starts_with(&url).then_some((url.len(), s))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, s)| s);
        let Some(s) = best else {
            return Credentials::from_env();
        };
        Credentials {
            username: field(s, "username"),
            password: field(s, "password"),
            ssh_key: field(s, "sshPrivateKey").and_then(|k| self.key_file(&k, "key")),
            known_hosts: field(s, "knownHosts").and_then(|k| self.key_file(&k, "known_hosts")),
        }
    }

    /// ssh needs files: secrets are written 0600 under the controller's cache, named by hash.
    fn key_file(&self, contents: &str, suffix: &str) -> Option<PathBuf> {
        secret_file(&self.key_dir, contents, suffix)
    }
}

impl Ctx {
    pub fn lookup(&self, namespace: &str, name: &str) -> Option<Arc<Application>> {
        self.store
            .get(&ObjectRef::new_with(name, self.ar.clone()).within(namespace))
    }

    /// A dependsOn cycle through `start`, as the list of apps on it.
    pub fn find_cycle(&self, start: &AppRefKey) -> Option<Vec<String>> {
        fn visit(
            ctx: &Ctx,
            at: &AppRefKey,
            start: &AppRefKey,
            path: &mut Vec<AppRefKey>,
            seen: &mut HashSet<AppRefKey>,
        ) -> bool {
            let Some(app) = ctx.lookup(&at.0, &at.1) else {
                return false;
            };
            for dep in &app.spec.depends_on {
                let next = AppRefKey(
                    dep.namespace.clone().unwrap_or_else(|| at.0.clone()),
                    dep.name.clone(),
                );
                if &next == start {
                    path.push(next);
                    return true;
                }
                if seen.insert(next.clone()) {
                    path.push(next.clone());
                    if visit(ctx, &next, start, path, seen) {
                        return true;
                    }
                    path.pop();
                }
            }
            false
        }
        let mut path = vec![start.clone()];
        let mut seen = HashSet::new();
        visit(self, start, start, &mut path, &mut seen)
            .then(|| path.iter().map(|k| format!("{}/{}", k.0, k.1)).collect())
    }
}

/// Writes a secret that a tool needs as a file (ssh key, known_hosts) under `dir`, mode 0600,
/// named by the hash of its contents so that different secrets never share a file.
pub(crate) fn secret_file(dir: &Path, contents: &str, suffix: &str) -> Option<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!(
        "{}.{suffix}",
        hex::encode(&Sha256::digest(contents.as_bytes())[..12])
    );
    let path = dir.join(name);
    if !path.exists() {
        std::fs::create_dir_all(dir).ok()?;
        // ssh refuses a key file without its final newline.
        let mut text = contents.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .ok()?;
        std::io::Write::write_all(&mut f, text.as_bytes()).ok()?;
    }
    Some(path)
}
