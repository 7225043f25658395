//! Git and render economy: one fetch per repository URL per interval, shared by every app that
//! uses it, and renders cached by (commit, path, render options).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moor_git::{Credentials, RepoCache, normalize_url, redact_url};
use moor_render::{HelmOptions, RenderOptions};
use moor_types::Manifest;

use crate::crd::{Application, Source};

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
    #[error("failed to render {url} at {commit}, path {path:?}: {cause}")]
    Render {
        url: String,
        commit: String,
        path: String,
        cause: String,
    },
}

/// A rendered app source.
#[derive(Clone)]
pub struct Rendered {
    pub manifests: Arc<Vec<Manifest>>,
}

type OnFetch = dyn Fn(&str, f64) + Send + Sync;

struct RepoState {
    last_fetch: Option<Instant>,
    /// Set by a webhook: the next use fetches whatever the interval says.
    stale: bool,
    lock: Arc<tokio::sync::Mutex<()>>,
}

pub struct Sources {
    cache: RepoCache,
    interval: Duration,
    repos: Mutex<HashMap<String, RepoState>>,
    renders: Mutex<HashMap<String, Arc<Vec<Manifest>>>>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Digest of an app's render inputs per (commit, repo#path): computed once per commit.
    digests: Mutex<HashMap<(String, String), String>>,
    /// Observes each fetch's duration (repo, seconds): feeds moor_git_fetch_duration_seconds.
    pub on_fetch: Box<OnFetch>,
    /// Called on each actual render (cache miss), with `repo#path`.
    pub on_render: Box<dyn Fn(&str) + Send + Sync>,
}

const RENDER_CACHE_MAX: usize = 4096;

impl Sources {
    pub fn new(cache: RepoCache, interval: Duration) -> Sources {
        Sources {
            cache,
            interval,
            repos: Mutex::new(HashMap::new()),
            renders: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            digests: Mutex::new(HashMap::new()),
            on_fetch: Box::new(|_, _| {}),
            on_render: Box::new(|_| {}),
        }
    }

    /// Marks a repository stale so the next reconcile of any of its apps fetches it.
    pub fn invalidate(&self, url: &str) {
        let key = normalize_url(url);
        if let Some(st) = self.repos.lock().expect("repos lock").get_mut(&key) {
            st.stale = true;
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
        let lock = {
            let mut repos = self.repos.lock().expect("repos lock");
            let st = repos.entry(key.clone()).or_insert_with(|| RepoState {
                last_fetch: None,
                stale: true,
                lock: Arc::new(tokio::sync::Mutex::new(())),
            });
            st.lock.clone()
        };
        let _guard = lock.lock().await;
        let due = {
            let repos = self.repos.lock().expect("repos lock");
            let st = &repos[&key];
            st.stale
                || st
                    .last_fetch
                    .is_none_or(|t| t.elapsed() >= max_age.min(self.interval))
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
                    st.stale = false;
                }
                Err(e) => {
                    return Err(SourceError::Fetch {
                        url: redact_url(url),
                        cause: e.to_string(),
                    });
                }
            }
        }
        self.cache
            .resolve(url, revision)
            .await
            .map_err(|e| SourceError::Resolve {
                url: redact_url(url),
                revision: revision.unwrap_or("HEAD").to_string(),
                cause: e.to_string(),
            })
    }

    /// Renders the app's source at `commit`. The cache key is a digest of the files the render
    /// reads (the app's path plus what its kustomizations and Helm values reference), so a
    /// commit that touches nothing under an app's inputs reuses the earlier render.
    pub async fn render(&self, app: &Application, commit: &str) -> Result<Rendered, SourceError> {
        let source = &app.spec.source;
        let path = source.path.clone().unwrap_or_else(|| ".".into());
        let mut opts = render_options(app);
        let id = format!("{}#{path}", redact_url(&normalize_url(&source.repo_url)));
        let err = |cause: String| SourceError::Render {
            url: redact_url(&source.repo_url),
            commit: commit.to_string(),
            path: path.clone(),
            cause,
        };
        let root = self
            .cache
            .checkout(&source.repo_url, commit)
            .await
            .map_err(|e| err(e.to_string()))?;
        let dir: PathBuf = root.join(&path);
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
        let digest_key = (commit.to_string(), id.clone());
        let cached_digest = self
            .digests
            .lock()
            .expect("digest lock")
            .get(&digest_key)
            .cloned();
        let digest = match cached_digest {
            Some(d) => d,
            None => {
                let (r, d, h) = (root.clone(), dir.clone(), opts.helm.value_files.clone());
                let digest = tokio::task::spawn_blocking(move || crate::inputs::digest(&r, &d, &h))
                    .await
                    .map_err(|e| err(e.to_string()))?
                    .map_err(|e| err(format!("failed to read the render inputs: {e}")))?;
                let mut digests = self.digests.lock().expect("digest lock");
                if digests.len() >= RENDER_CACHE_MAX {
                    digests.clear();
                }
                digests.insert(digest_key, digest.clone());
                digest
            }
        };
        let key = moor_render::cache_key(&digest, &id, &opts);
        let cached = |key: &str| {
            let hit = self.renders.lock().expect("render lock").get(key).cloned();
            hit.map(|manifests| Rendered { manifests })
        };
        if let Some(hit) = cached(&key) {
            return Ok(hit);
        }
        // One render per key at a time: apps sharing a source wait for the first one's result.
        let flight = self
            .inflight
            .lock()
            .expect("inflight lock")
            .entry(key.clone())
            .or_default()
            .clone();
        let _turn = flight.lock().await;
        if let Some(hit) = cached(&key) {
            return Ok(hit);
        }
        (self.on_render)(&id);
        let rendered = tokio::task::spawn_blocking(move || moor_render::render(&dir, &opts))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_err(err)?;
        let manifests = Arc::new(rendered);
        let mut renders = self.renders.lock().expect("render lock");
        if renders.len() >= RENDER_CACHE_MAX {
            renders.clear();
        }
        renders.insert(key.clone(), manifests.clone());
        drop(renders);
        self.inflight.lock().expect("inflight lock").remove(&key);
        Ok(Rendered { manifests })
    }
}

pub fn render_options(app: &Application) -> RenderOptions {
    let Source {
        directory, helm, ..
    } = &app.spec.source;
    let dir = directory.clone().unwrap_or_default();
    let helm = helm.clone().unwrap_or_default();
    RenderOptions {
        recurse: dir.recurse,
        include: moor_render::split_globs(dir.include.as_deref()),
        exclude: moor_render::split_globs(dir.exclude.as_deref()),
        helm: HelmOptions {
            release_name: helm.release_name.or_else(|| app.metadata.name.clone()),
            namespace: app.spec.destination.namespace.clone(),
            value_files: helm.value_files,
            values: helm.values,
        },
        ..RenderOptions::default()
    }
}
