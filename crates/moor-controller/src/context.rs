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
use moor_git::{CREDENTIALS_URL_ENV, Credentials, ScopedCredentials};
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
    /// Floor of every app's poll interval (`--min-poll-interval`).
    pub min_poll_interval: Duration,
    /// Objects that exist without any app's tracking id may be adopted (`--no-adopt` turns it off).
    pub adopt: bool,
    /// Controller-wide health rules (the `moor-health` ConfigMap), cached.
    pub health: crate::health_rules::ControllerRules,
    heals: Mutex<HashMap<String, HealState>>,
    failures: Mutex<HashMap<String, u32>>,
    pub repo_creds: Arc<RepoCredentials>,
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
        let repo_creds = Arc::new(RepoCredentials::new(
            home.clone(),
            namespace.clone(),
            key_dir,
        ));
        Shared {
            home,
            namespace,
            clusters,
            sources,
            watches,
            metrics,
            recorder,
            poll_interval,
            min_poll_interval: crate::poll::DEFAULT_MIN_POLL_INTERVAL,
            adopt: true,
            health: Default::default(),
            heals: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            repo_creds,
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

    /// Credentials for a repository (see [`RepoCredentials::for_url`]).
    pub async fn credentials_for(&self, repo_url: &str) -> Credentials {
        self.repo_creds.for_url(repo_url).await
    }
}

/// The controller's git credentials: repository Secrets in its namespace and its own
/// environment (`MOOR_GIT_*`, scoped by `MOOR_GIT_CREDENTIALS_URL`). Shared by the Application
/// reconciler and image automation pushes, so both follow one rule.
pub struct RepoCredentials {
    client: Client,
    namespace: String,
    key_dir: PathBuf,
    env: ScopedCredentials,
    secrets: tokio::sync::Mutex<Option<(Instant, Vec<Secret>)>>,
}

/// Whose credentials won a lookup.
enum Chosen<'a> {
    Secret(&'a Secret),
    Env,
}

impl RepoCredentials {
    /// Reads the environment's credentials now; Secrets are listed on use (cached 30 s).
    pub fn new(client: Client, namespace: String, key_dir: PathBuf) -> RepoCredentials {
        let env = ScopedCredentials::from_env();
        if !env.credentials.is_empty() && env.scopes.is_empty() {
            tracing::warn!(
                "MOOR_GIT_* credentials are set but {CREDENTIALS_URL_ENV} is not: \
                 they are sent to no repository"
            );
        }
        RepoCredentials {
            client,
            namespace,
            key_dir,
            env,
            secrets: tokio::sync::Mutex::new(None),
        }
    }

    /// Credentials for a repository: of the repository Secrets (label
    /// `moor.dev/secret-type: repository`) whose `url` covers `repo_url` (same scheme, host and
    /// port, path prefix at a `/` boundary; see [`moor_git::scope_match`]) and the environment's
    /// credentials when one of their scopes covers it, the most specific wins (a Secret over
    /// the environment when equal, else Secrets by name). None when nothing covers it.
    pub async fn for_url(&self, repo_url: &str) -> Credentials {
        let mut secrets = self.secrets().await;
        secrets.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let urls: Vec<(String, &Secret)> = secrets
            .iter()
            .filter_map(|s| Some((field(s, "url")?, s)))
            .collect();
        let from_secret = urls
            .iter()
            .filter_map(|(url, s)| Some((moor_git::scope_match(url, repo_url)?, *s)))
            .fold(None::<(usize, &Secret)>, |best, (n, s)| match best {
                Some((m, _)) if m >= n => best,
                _ => Some((n, s)),
            });
        let chosen = match (from_secret, self.env.specificity_for(repo_url)) {
            (Some((n, s)), Some(e)) if n >= e => Chosen::Secret(s),
            (_, Some(_)) => Chosen::Env,
            (Some((_, s)), None) => Chosen::Secret(s),
            (None, None) => return Credentials::default(),
        };
        match chosen {
            Chosen::Env => self.env.for_url(repo_url),
            Chosen::Secret(s) => Credentials {
                username: field(s, "username"),
                password: field(s, "password"),
                ssh_key: field(s, "sshPrivateKey")
                    .and_then(|k| secret_file(&self.key_dir, &k, "key")),
                known_hosts: field(s, "knownHosts")
                    .and_then(|k| secret_file(&self.key_dir, &k, "known_hosts")),
            },
        }
    }

    /// Where ssh keys and known_hosts from Secrets are written (0600).
    pub fn key_dir(&self) -> &Path {
        &self.key_dir
    }

    /// The repository Secrets, listed at most every 30 s.
    async fn secrets(&self) -> Vec<Secret> {
        let mut cache = self.secrets.lock().await;
        let fresh = cache.as_ref().is_some_and(|(t, _)| t.elapsed() < CREDS_TTL);
        if !fresh {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let list = api
                .list(&ListParams::default().labels(REPO_SECRET_LABEL))
                .await;
            *cache = Some((Instant::now(), list.map(|l| l.items).unwrap_or_default()));
        }
        cache.as_ref().map(|(_, s)| s.clone()).unwrap_or_default()
    }
}

/// A non-empty string field of a Secret.
fn field(s: &Secret, key: &str) -> Option<String> {
    s.data
        .as_ref()?
        .get(key)
        .map(|b| String::from_utf8_lossy(&b.0).to_string())
        .filter(|v| !v.is_empty())
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
