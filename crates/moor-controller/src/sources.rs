//! Git and render economy: one fetch per repository URL per interval, shared by every app that
//! uses it, and renders cached by (commit, path, render options).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moor_git::{Credentials, RepoCache, normalize_url, redact_url};
use moor_render::RenderOptions;
use moor_types::Manifest;

use crate::crd::{Application, Source};
use crate::render_cache::{InflightGuard, RenderCache};
use crate::render_options::{render_options, replica_count_errors};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("failed to fetch {url}: {cause}")]
    Fetch { url: String, cause: String },
    #[error("failed to resolve revision {revision:?} of {url}: {cause}")]
    Resolve {
        url: String,
        revision: String,
        cause: String,
    },
    #[error("path {path:?} does not exist in {url} at {commit}")]
    MissingPath {
        url: String,
        path: String,
        commit: String,
    },
    /// The chart error names the repository (redacted), the chart and the version.
    #[error("{field}: {cause}")]
    Chart { field: String, cause: String },
    #[error("{object} is rendered by both {first} and {second}")]
    Duplicate {
        object: String,
        first: String,
        second: String,
    },
    #[error("failed to check out {url} at {commit}: {cause}")]
    Checkout {
        url: String,
        commit: String,
        cause: String,
    },
    #[error("failed to render {url} at {commit}, path {path:?}: {cause}")]
    Render {
        url: String,
        commit: String,
        path: String,
        cause: String,
    },
}

/// What a repository may make a render do, from the controller's flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderPolicy {
    /// Let Helm fetch `http(s)://` value files.
    pub allow_remote_value_files: bool,
    /// Let kustomize fetch remote bases and charts.
    pub allow_remote_bases: bool,
    /// A renderer running longer is killed.
    pub timeout: Duration,
    /// Limit on the bytes of one render (files read, tool output).
    pub max_bytes: u64,
    /// Limit on the objects of one app.
    pub max_objects: usize,
    /// Limit on the render cache's estimated size in memory.
    pub cache_bytes: usize,
}

impl Default for RenderPolicy {
    fn default() -> Self {
        RenderPolicy {
            allow_remote_value_files: false,
            allow_remote_bases: false,
            timeout: moor_render::DEFAULT_TIMEOUT,
            max_bytes: moor_render::DEFAULT_MAX_BYTES,
            max_objects: moor_render::DEFAULT_MAX_OBJECTS,
            cache_bytes: DEFAULT_RENDER_CACHE_BYTES,
        }
    }
}

/// Default bound of the render cache: 256 MiB.
pub const DEFAULT_RENDER_CACHE_BYTES: usize = 256 << 20;

/// A rendered app source (or the merge of an app's sources).
#[derive(Clone)]
pub struct Rendered {
    pub manifests: Arc<Vec<Manifest>>,
    /// The source's directory (checkout path or pulled chart), to say what was there when
    /// nothing rendered.
    pub dir: PathBuf,
    /// "path P of URL at REV" or "chart C of URL at VERSION", for messages.
    pub what: String,
    /// The options it rendered with (for the files no renderer took).
    pub opts: RenderOptions,
}

impl Rendered {
    /// Why a source that rendered no objects is not synced automatically, or None when it
    /// rendered something or the app allows empty (`syncPolicy.automated.allowEmpty`). A broken
    /// generator, a wrong path or an emptied directory would otherwise prune every object of
    /// the app.
    pub fn empty_reason(&self, app: &Application) -> Option<String> {
        if !self.manifests.is_empty() || app.allows_empty() {
            return None;
        }
        let files = moor_render::unrendered_files(&self.dir, &self.opts);
        Some(format!(
            "{} renders no objects; files found that no renderer took: {files}. \
             Automated sync is skipped, as it would delete every object of the app: set \
             syncPolicy.automated.allowEmpty=true to allow it, or sync by hand with prune",
            self.what,
        ))
    }
}

/// One source of an app, resolved: its revision and where its files are.
#[derive(Clone, Debug)]
pub struct ResolvedSource {
    /// The source as the spec has it.
    pub source: Source,
    /// Where the spec has it: `spec.source` or `spec.sources[i]`.
    pub field: String,
    /// The commit, or for a chart the exact chart version.
    pub revision: String,
    /// The checkout at `revision`, or the pulled chart's directory.
    pub root: PathBuf,
    /// For a chart: the sha256 of its archive (part of the render cache key).
    pub chart_digest: Option<String>,
    /// The chart's dependencies its `charts/` lacks, fetched (their digests key the render).
    pub dependencies: Vec<moor_render::HelmDependency>,
}

impl ResolvedSource {
    /// `repo#path`, or `repo chart@version` with the archive's digest: names renders in
    /// metrics and keys their cache.
    fn id(&self) -> String {
        let repo = redact_url(&normalize_url(&self.source.repo_url));
        match (&self.source.chart, &self.chart_digest) {
            (Some(chart), digest) => format!(
                "{repo} chart {chart}@{} {}",
                self.revision,
                digest.as_deref().unwrap_or("")
            ),
            (None, _) => format!("{repo}#{}", self.path()),
        }
    }

    /// The path rendered, relative to `root`: `.` for a chart (Argo CD ignores `path` there).
    pub fn path(&self) -> String {
        match &self.source.chart {
            Some(_) => ".".into(),
            None => (self.source.path.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| ".".into()),
        }
    }

    /// "path P of URL at REV" or "chart C of URL at VERSION".
    pub fn describe(&self) -> String {
        let url = redact_url(&self.source.repo_url);
        match &self.source.chart {
            Some(c) => format!("chart {c} of {url} at version {}", self.revision),
            None => format!("path {} of {url} at {}", self.path(), self.revision),
        }
    }
}

type OnFetch = dyn Fn(&str, f64) + Send + Sync;

struct RepoState {
    last_fetch: Option<Instant>,
    /// Bumped by each webhook (invalidation): a resolve that arrived after bump `n` fetches
    /// unless a fetch that started after it (`fetched >= n`) has succeeded since.
    wanted: u64,
    /// `wanted` as it was when the last successful fetch started. Under a storm of pushes,
    /// every reconcile waiting on the repository's lock is served by the next fetch that
    /// starts after it arrived, instead of fetching once each.
    fetched: u64,
    /// The credentials of the last successful fetch: an app resolving with others fetches
    /// afresh, so the cache never serves a repository to an app whose own credentials (e.g.
    /// another project's) could not read it.
    fetched_with: Option<Credentials>,
    /// Revisions resolved since the last fetch (revision -> commit). Only a fetch moves the
    /// bare repository's refs, so polls answer from here instead of a `git rev-parse` each
    /// (at 10,000 apps that process per poll was most of the controller's idle CPU).
    resolved: HashMap<String, String>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

pub struct Sources {
    cache: RepoCache,
    /// Helm repository indexes and chart archives, shared by every app like the Git cache.
    pub charts: moor_chart::Charts,
    interval: Duration,
    repos: Mutex<HashMap<String, RepoState>>,
    renders: Mutex<RenderCache>,
    /// Renders that failed, by key, and when: served as they failed for [`FAILED_RENDER_TTL`],
    /// so an app that cannot render (a broken kustomization, a renderer running into its
    /// timeout) costs nothing on reconciles a webhook storm or a retry triggers, and healthy
    /// apps keep the workers and the CPU.
    failed: Mutex<HashMap<String, (Instant, String)>>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Digest of an app's render inputs per (commit, repo#path): computed once per commit.
    digests: Mutex<HashMap<(String, String), String>>,
    /// Observes each fetch's duration (repo, seconds): feeds moor_git_fetch_duration_seconds.
    pub on_fetch: Box<OnFetch>,
    /// Called on each actual render (cache miss), with `repo#path`.
    pub on_render: Box<dyn Fn(&str) + Send + Sync>,
    /// Limits and permissions of every render.
    pub policy: RenderPolicy,
}

/// How long a failed render is answered from its failure: inputs that did not change fail
/// again (a new commit or option is another key), and a failure that depends on time (a
/// timeout under load, a remote base) is retried at most this often.
pub(crate) const FAILED_RENDER_TTL: Duration = Duration::from_secs(30);

/// Bound on the entries of the render and digest caches.
pub(crate) const RENDER_CACHE_MAX: usize = 4096;

impl Sources {
    /// Repositories cached in `cache`, charts under `chart_dir`, each fetched at most once per
    /// `interval`.
    pub fn new(cache: RepoCache, chart_dir: PathBuf, interval: Duration) -> Sources {
        Sources {
            cache,
            charts: moor_chart::Charts::new(chart_dir, interval),
            interval,
            repos: Mutex::new(HashMap::new()),
            renders: Mutex::new(RenderCache::default()),
            failed: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            digests: Mutex::new(HashMap::new()),
            on_fetch: Box::new(|_, _| {}),
            on_render: Box::new(|_| {}),
            policy: RenderPolicy::default(),
        }
    }

    /// Marks a repository (Git, or a chart repository) stale so the next reconcile of any of
    /// its apps fetches it.
    pub fn invalidate(&self, url: &str) {
        self.charts.invalidate(url);
        let key = normalize_url(url);
        if let Some(st) = self.repos.lock().expect("repos lock").get_mut(&key) {
            st.wanted += 1;
        }
    }

    /// Fetches `url` unless it was fetched (by any app) within `max_age`, then resolves `revision`.
    pub async fn resolve(
        &self,
        url: &str,
        revision: Option<&str>,
        creds: &Credentials,
        max_age: Duration,
    ) -> Result<String, SourceError> {
        let key = normalize_url(url);
        let (lock, arrived) = {
            let mut repos = self.repos.lock().expect("repos lock");
            let st = repos.entry(key.clone()).or_insert_with(|| RepoState {
                last_fetch: None,
                wanted: 1,
                fetched: 0,
                fetched_with: None,
                resolved: HashMap::new(),
                lock: Arc::new(tokio::sync::Mutex::new(())),
            });
            (st.lock.clone(), st.wanted)
        };
        let _guard = lock.lock().await;
        let (due, generation) = {
            let repos = self.repos.lock().expect("repos lock");
            let st = &repos[&key];
            let due = st.fetched < arrived
                || st.fetched_with.as_ref() != Some(creds)
                || st
                    .last_fetch
                    .is_none_or(|t| t.elapsed() >= max_age.min(self.interval));
            (due, st.wanted)
        };
        if due {
            let start = Instant::now();
            let fetched = self.cache.fetch(url, creds).await;
            (self.on_fetch)(&redact_url(url), start.elapsed().as_secs_f64());
            match fetched {
                Ok(()) => {
                    let mut repos = self.repos.lock().expect("repos lock");
                    let st = repos.get_mut(&key).expect("entry made above");
                    st.last_fetch = Some(Instant::now());
                    st.fetched = st.fetched.max(generation);
                    st.fetched_with = Some(creds.clone());
                    st.resolved.clear();
                }
                Err(e) => {
                    return Err(SourceError::Fetch {
                        url: redact_url(url),
                        cause: moor_types::error_chain(&e),
                    });
                }
            }
        }
        let wanted = revision.map(str::trim).filter(|r| !r.is_empty());
        let wanted = wanted.unwrap_or("HEAD");
        let known = |repos: &HashMap<String, RepoState>| repos[&key].resolved.get(wanted).cloned();
        if let Some(sha) = known(&self.repos.lock().expect("repos lock")) {
            return Ok(sha);
        }
        let sha = self.cache.resolve(url, revision).await.map_err(|e| {
            let cause = moor_types::error_chain(&e);
            let (url, revision) = (redact_url(url), wanted.to_string());
            SourceError::Resolve {
                url,
                revision,
                cause,
            }
        })?;
        let mut repos = self.repos.lock().expect("repos lock");
        let resolved = &mut repos.get_mut(&key).expect("entry made above").resolved;
        // Bounded: apps may name any number of revisions (commit prefixes) of one repository.
        if resolved.len() >= RENDER_CACHE_MAX {
            resolved.clear();
        }
        resolved.insert(wanted.to_string(), sha.clone());
        Ok(sha)
    }

    /// The bare repository of `url` in the cache (commit metadata is read from it).
    pub fn repo_dir(&self, url: &str) -> PathBuf {
        self.cache.repo_dir(url)
    }

    /// The checkout of `url` at `commit` (fetched by [`Sources::resolve`]).
    pub async fn checkout(&self, url: &str, commit: &str) -> Result<PathBuf, SourceError> {
        self.cache
            .checkout(url, commit)
            .await
            .map_err(|e| SourceError::Checkout {
                url: redact_url(url),
                commit: commit.to_string(),
                cause: moor_types::error_chain(&e),
            })
    }

    /// Renders one resolved source of `app`; `refs` are the checkouts of its `ref` sources by
    /// name (for `$name/path` value files). The cache key is a digest of the files the render
    /// reads (the app's path plus what its kustomizations and Helm values reference, in this
    /// checkout or a ref's), so a commit that touches nothing under an app's inputs reuses the
    /// earlier render.
    pub async fn render_source(
        &self,
        app: &Application,
        rs: &ResolvedSource,
        refs: &BTreeMap<String, PathBuf>,
        capabilities: &moor_render::HelmCapabilities,
    ) -> Result<Rendered, SourceError> {
        let source = &rs.source;
        let path = rs.path();
        let commit = rs.revision.as_str();
        let mut opts = render_options(app, source);
        self.apply_policy(&mut opts);
        opts.helm.capabilities = capabilities.clone();
        opts.helm.ref_roots = refs.clone();
        opts.helm.dependencies = rs.dependencies.clone();
        let id = rs.id();
        let err = |cause: String| SourceError::Render {
            url: redact_url(&source.repo_url),
            commit: commit.to_string(),
            path: path.clone(),
            cause,
        };
        let root = rs.root.clone();
        opts.root = Some(root.clone());
        // The app names paths; none may leave its checkout (nor reach another one in the cache).
        let path_field = format!("{}.path", rs.field);
        let dir: PathBuf = moor_render::confine(&root, &root, &path_field, &path)
            .map_err(|e| err(moor_types::error_chain(&e)))?;
        let field = format!("{}.helm.valueFiles entry", rs.field);
        for f in &opts.helm.value_files {
            if f.starts_with("https://") || f.starts_with("http://") {
                continue;
            }
            match ref_value_file(f, refs) {
                Some((ref_root, rest)) => moor_render::confine(ref_root, ref_root, &field, rest),
                None => moor_render::confine(&root, &dir, &field, f),
            }
            .map_err(|e| err(moor_types::error_chain(&e)))?;
        }
        if !dir.is_dir() {
            return Err(SourceError::MissingPath {
                url: redact_url(&source.repo_url),
                path,
                commit: commit.to_string(),
            });
        }
        // Helm options (release name, namespace) only shape a chart's output: apps that render
        // one plain or kustomize path share the render whatever their names and namespaces.
        if !dir.join("Chart.yaml").is_file() {
            opts.helm = Default::default();
        }
        // Likewise kustomize overrides only shape a kustomization's output.
        if moor_render::kustomization_file(&dir).is_none() {
            opts.kustomize = Default::default();
        }
        // And Jsonnet options a plain directory's.
        if moor_render::renderer_for(&dir).name() != "plain" {
            opts.jsonnet = Default::default();
        }
        if let Some(e) = replica_count_errors(source, &rs.field) {
            return Err(err(e));
        }
        // Value files, ref checkouts and override components are inputs too: apps sharing a
        // path but not these differ.
        let refs_key: Vec<String> = (opts.helm.ref_roots.iter())
            .map(|(k, v)| format!("{k}={}", v.display()))
            .collect();
        let digest_key = (
            commit.to_string(),
            format!(
                "{id}\0{}\0\0{}\0\0{}",
                opts.helm.value_files.join("\0"),
                opts.kustomize.components.join("\0"),
                refs_key.join("\0"),
            ),
        );
        let cached_digest = self
            .digests
            .lock()
            .expect("digest lock")
            .get(&digest_key)
            .cloned();
        let digest = match cached_digest {
            Some(d) => d,
            None => {
                let (d, o) = (dir.clone(), opts.clone());
                // The digest walk also refuses links and references leaving the checkout.
                let digest = tokio::task::spawn_blocking(move || crate::inputs::digest(&d, &o))
                    .await
                    .map_err(|e| err(e.to_string()))?
                    .map_err(|e| err(moor_types::error_chain(&e)))?;
                let mut digests = self.digests.lock().expect("digest lock");
                if digests.len() >= RENDER_CACHE_MAX {
                    digests.clear();
                }
                digests.insert(digest_key, digest.clone());
                digest
            }
        };
        let key = moor_render::cache_key(&digest, &id, &opts);
        let done = |manifests| Rendered {
            manifests,
            dir: dir.clone(),
            what: rs.describe(),
            opts: opts.clone(),
        };
        let cached = |key: &str| self.renders.lock().expect("render lock").get(key);
        if let Some(hit) = cached(&key) {
            return Ok(done(hit));
        }
        let failed = |key: &str| {
            let f = self.failed.lock().expect("failed lock");
            f.get(key)
                .filter(|(at, _)| at.elapsed() < FAILED_RENDER_TTL)
                .map(|(_, cause)| cause.clone())
        };
        if let Some(cause) = failed(&key) {
            return Err(err(cause));
        }
        // One render per key at a time: apps sharing a source wait for the first one's result.
        let flight = self
            .inflight
            .lock()
            .expect("inflight lock")
            .entry(key.clone())
            .or_default()
            .clone();
        let _inflight = InflightGuard {
            inflight: &self.inflight,
            key: key.clone(),
            flight: flight.clone(),
        };
        let _turn = flight.lock().await;
        if let Some(hit) = cached(&key) {
            return Ok(done(hit));
        }
        if let Some(cause) = failed(&key) {
            return Err(err(cause));
        }
        (self.on_render)(&id);
        if let Some(v) = source.kustomize.as_ref().and_then(|k| k.version.as_ref()) {
            tracing::warn!(app = %app.app_id(crate::crd::MOOR_GROUP), version = %v,
                "{}.kustomize.version is ignored: moor runs the kustomize it was given", rs.field);
        }
        let (render_dir, render_opts) = (dir.clone(), opts.clone());
        let rendered =
            tokio::task::spawn_blocking(move || moor_render::render(&render_dir, &render_opts))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| moor_types::error_chain(&e)))
                .map_err(|cause| {
                    let mut f = self.failed.lock().expect("failed lock");
                    if f.len() >= RENDER_CACHE_MAX {
                        f.retain(|_, (at, _)| at.elapsed() < FAILED_RENDER_TTL);
                        if f.len() >= RENDER_CACHE_MAX {
                            f.clear();
                        }
                    }
                    f.insert(key.clone(), (Instant::now(), cause.clone()));
                    err(cause)
                })?;
        let size = moor_render::estimated_size(&rendered);
        let manifests = Arc::new(rendered);
        let max = self.policy.cache_bytes;
        let mut renders = self.renders.lock().expect("render lock");
        renders.insert(key.clone(), manifests.clone(), size, max);
        drop(renders);
        Ok(done(manifests))
    }
}

/// `$name/path` naming one of `refs`: that checkout and the path in it.
pub fn ref_value_file<'a>(
    f: &'a str,
    refs: &'a BTreeMap<String, PathBuf>,
) -> Option<(&'a PathBuf, &'a str)> {
    let (name, rest) = f.strip_prefix('$')?.split_once('/')?;
    Some((refs.get(name)?, rest))
}

impl Sources {
    /// Sets the controller's limits and permissions on `opts`.
    fn apply_policy(&self, opts: &mut RenderOptions) {
        let p = &self.policy;
        opts.allow_remote_value_files = p.allow_remote_value_files;
        opts.allow_remote_bases = p.allow_remote_bases;
        opts.timeout = p.timeout;
        opts.max_bytes = p.max_bytes;
        opts.max_objects = p.max_objects;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moor_render::HelmParameter;
    use serde_json::json;

    fn git(dir: &std::path::Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn app(url: &str, path: &str, value_files: &[&str]) -> Application {
        serde_json::from_value(json!({
            "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": "a", "namespace": "n"},
            "spec": {
                "source": {"repoURL": url, "path": path, "helm": {"valueFiles": value_files}},
                "destination": {"namespace": "d"}
            }
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn polls_resolve_from_memory_until_the_next_fetch() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("a.yaml"), "a: 1\n").unwrap();
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "one"]);
        let url = format!("file://{}", repo.display());
        let cache = RepoCache::new(t.path().join("cache"));
        let bare = cache.repo_dir(&url);
        let sources = Sources::new(cache, t.path().join("charts"), Duration::from_secs(3600));
        let creds = Credentials::default();
        let hour = Duration::from_secs(3600);
        let first = sources.resolve(&url, Some("main"), &creds, hour).await;
        let first = first.unwrap();
        // No git process answers a poll: with the bare repository's refs gone, rev-parse
        // could not resolve `main`, yet the poll still gets the commit of the last fetch.
        let refs = bare.join("refs/heads");
        std::fs::remove_dir_all(&refs).unwrap();
        let _ = std::fs::remove_file(bare.join("packed-refs"));
        let again = sources.resolve(&url, Some("main"), &creds, hour).await;
        assert_eq!(again.unwrap(), first);
        // A fetch (here a webhook's invalidation) forgets them: the new commit is seen.
        std::fs::write(repo.join("a.yaml"), "a: 2\n").unwrap();
        git(&repo, &["commit", "-qam", "two"]);
        sources.invalidate(&url);
        let second = sources.resolve(&url, Some("main"), &creds, hour).await;
        let second = second.unwrap();
        assert_ne!(second, first);
        assert_eq!(
            sources.resolve(&url, None, &creds, hour).await.unwrap(),
            second
        );
    }

    #[tokio::test]
    async fn failed_renders_leave_no_inflight_entry_and_paths_are_confined() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        std::fs::create_dir_all(repo.join("bad")).unwrap();
        std::fs::write(repo.join("bad/x.yaml"), "a: [\n").unwrap();
        std::fs::create_dir_all(repo.join("chart/templates")).unwrap();
        std::fs::write(repo.join("chart/Chart.yaml"), "name: c\n").unwrap();
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "x"]);
        let url = format!("file://{}", repo.display());
        let sources = Sources::new(
            RepoCache::new(t.path().join("cache")),
            t.path().join("charts"),
            Duration::ZERO,
        );
        let creds = Credentials::default();
        let commit = sources
            .resolve(&url, None, &creds, Duration::ZERO)
            .await
            .unwrap();

        let root = sources.checkout(&url, &commit).await.unwrap();
        let refs: BTreeMap<String, PathBuf> = [("values".to_string(), root.clone())].into();
        let render = |a: Application| {
            let rs = ResolvedSource {
                source: a.spec.source.clone(),
                field: "spec.source".into(),
                revision: commit.clone(),
                root: root.clone(),
                chart_digest: None,
                dependencies: vec![],
            };
            let (sources, refs) = (&sources, &refs);
            async move {
                let caps = Default::default();
                sources.render_source(&a, &rs, refs, &caps).await
            }
        };
        let err = render(app(&url, "bad", &[])).await;
        assert!(err.is_err());
        assert!(
            sources.inflight.lock().unwrap().is_empty(),
            "a failed render left its in-flight entry"
        );

        for (path, values, expected) in [
            (
                "../repo",
                vec![],
                "spec.source.path \"../repo\" leaves the repository",
            ),
            (
                "/etc",
                vec![],
                "spec.source.path \"/etc\" leaves the repository",
            ),
            (
                "chart",
                vec!["../../x.yaml"],
                "spec.source.helm.valueFiles entry \"../../x.yaml\" leaves the repository",
            ),
            (
                // A ref source's files are confined to its own checkout.
                "chart",
                vec!["$values/../x.yaml"],
                "spec.source.helm.valueFiles entry \"../x.yaml\" leaves the repository",
            ),
        ] {
            let Err(e) = render(app(&url, path, &values)).await else {
                panic!("{path} rendered")
            };
            assert!(e.to_string().contains(expected), "{e}");
        }
    }

    #[test]
    fn overrides_in_the_spec_become_render_options() {
        let mut a = app("u", "p", &[]);
        a.spec.source.helm = serde_json::from_value(json!({
            "namespace": "rel", "skipCrds": true, "valuesObject": {"x": 1},
            "parameters": [{"name": "t", "value": "1.10", "forceString": true}],
        }))
        .unwrap();
        a.spec.source.kustomize = serde_json::from_value(json!({
            "images": ["nginx:2"], "namePrefix": "p-", "version": "v5", "futureField": 1,
            "replicas": [{"name": "web", "count": "3"}],
        }))
        .unwrap();
        let o = render_options(&a, &a.spec.source);
        assert_eq!(
            o.helm.namespace.as_deref(),
            Some("rel"),
            "helm.namespace wins"
        );
        assert!(o.helm.skip_crds);
        assert_eq!(o.helm.values_object, Some(json!({"x": 1})));
        assert_eq!(
            o.helm.parameters,
            [HelmParameter {
                name: "t".into(),
                value: "1.10".into(),
                force_string: true
            }]
        );
        assert_eq!(o.kustomize.images, ["nginx:2"]);
        assert_eq!(o.kustomize.name_prefix.as_deref(), Some("p-"));
        assert_eq!(o.kustomize.replicas[0].count, 3);
        assert!(replica_count_errors(&a.spec.source, "spec.source").is_none());
        // Unknown fields are kept: the spec round-trips.
        let back = serde_json::to_value(&a.spec.source.kustomize).unwrap();
        assert_eq!(back["futureField"], 1);

        a.spec.source.helm = None;
        assert_eq!(
            render_options(&a, &a.spec.source).helm.namespace.as_deref(),
            Some("d")
        );
        a.spec.source.kustomize.as_mut().unwrap().replicas[0].count = json!("many");
        let e = replica_count_errors(&a.spec.source, "spec.source").unwrap();
        assert!(e.contains("spec.source.kustomize.replicas") && e.contains("\"web\""));
    }
}
