//! Helm charts that do not come from Git: Helm repositories (`https://…/index.yaml`) and OCI
//! registries (`oci://host/path`), and the dependencies a chart's `Chart.yaml` names.
//!
//! Reading order: [`ChartRequest`] (what an Application names: repository, chart, version or
//! semver constraint, credentials) → [`Charts::resolve`] (the version a constraint picks, from
//! the repository's index or the registry's tags, fetched at most once per interval and shared
//! by every app) → [`Charts::pull`] (the chart archive, cached by repository, chart and version,
//! extracted safely into the cache) → a chart directory `helm template` renders.
//! `constraint` holds Argo CD's (Masterminds) semver constraint rules, `repo` the Helm
//! repository client, `oci` the OCI one, `archive` the extraction, `deps` chart dependencies.

#![warn(missing_docs)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub use deps::{ChartDependency, DependencyError, dependencies};
pub use error::{ChartError, ChartRef};

/// Credentials and TLS settings for a chart repository, from a repository Secret (Argo CD's
/// `username`, `password`, `tlsClientCertData`, `tlsClientCertKey`, `insecure`, `enableOCI`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RepoAuth {
    /// Basic-auth user (Helm repository) or registry user (OCI).
    pub username: Option<String>,
    /// Its password or token.
    pub password: Option<String>,
    /// PEM of CA certificates to trust besides the platform's.
    pub ca_pem: Option<String>,
    /// PEM client certificate for mutual TLS.
    pub tls_client_cert: Option<String>,
    /// PEM key of that certificate.
    pub tls_client_key: Option<String>,
    /// Skip verification of the server's certificate (Argo CD's `insecure`).
    pub insecure_skip_verify: bool,
}

impl std::fmt::Debug for RepoAuth {
    // Never prints a secret: only which fields are set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoAuth")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_pem", &self.ca_pem.is_some())
            .field("tls_client_cert", &self.tls_client_cert.is_some())
            .field(
                "tls_client_key",
                &self.tls_client_key.as_ref().map(|_| "***"),
            )
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// A chart as an Application names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartRequest {
    /// `https://charts.example.com` (a Helm repository), `oci://registry/path`, or a plain
    /// `registry/path` with `enable_oci`.
    pub repo_url: String,
    /// The chart's name (`spec.source.chart`).
    pub chart: String,
    /// `targetRevision`: an exact version, or a semver constraint (`>=1.0.0 <2`, `1.2.x`,
    /// `^1.2`, `~1.2.3`, `*`); None or empty takes the newest non-prerelease version.
    pub version: Option<String>,
    /// Credentials and TLS settings.
    pub auth: RepoAuth,
    /// Argo CD's `enableOCI` on a repository Secret: a `repoURL` without scheme is an OCI one.
    pub enable_oci: bool,
}

/// A chart extracted into the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledChart {
    /// The chart's directory (holds `Chart.yaml`); shared, never to be written to.
    pub dir: PathBuf,
    /// The exact version pulled.
    pub version: String,
    /// sha256 hex of the chart archive.
    pub digest: String,
}

/// The chart cache: indexes of Helm repositories (fetched at most once per interval per
/// repository and credentials, shared by every app) and extracted chart archives (downloaded
/// once per repository, chart and version). One per process.
pub struct Charts {
    cache_dir: PathBuf,
    interval: Duration,
    /// Per repository URL and credentials fingerprint.
    indexes: Mutex<HashMap<String, Arc<IndexSlot>>>,
    /// Per repository, credentials, chart and version: concurrent pulls wait for one download.
    pulls: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<PulledChart>>>>>,
    /// When [`Charts::invalidate`] was last called per repository URL: anything fetched
    /// before is stale.
    invalidated: Mutex<HashMap<String, Instant>>,
    /// One HTTP client per credentials fingerprint (TLS settings differ).
    clients: Mutex<HashMap<String, reqwest::Client>>,
    /// Tag lists of OCI charts, cached like indexes.
    oci_tags: oci::TagCache,
}

/// One repository's index, fetched by the first caller while the others wait.
struct IndexSlot {
    repo_url: String,
    index: tokio::sync::Mutex<Option<(Instant, Arc<repo::Index>)>>,
}

impl Charts {
    /// A cache under `cache_dir`, refetching indexes at most every `interval`.
    pub fn new(cache_dir: PathBuf, interval: Duration) -> Charts {
        Charts {
            cache_dir,
            interval,
            indexes: Mutex::default(),
            pulls: Mutex::default(),
            invalidated: Mutex::default(),
            clients: Mutex::default(),
            oci_tags: oci::TagCache::default(),
        }
    }

    /// The next use of `repo_url` refetches its index (or tag list), whatever its age: a
    /// webhook or a hard refresh.
    pub fn invalidate(&self, repo_url: &str) {
        lock(&self.invalidated).insert(repo_key(repo_url), Instant::now());
    }

    /// The version `req.version` picks: from the repository's index.yaml (fetched at most once
    /// per `min(interval, max_age)` per repository and credentials) or the OCI registry's tags.
    pub async fn resolve(
        &self,
        req: &ChartRequest,
        max_age: Duration,
    ) -> Result<String, ChartError> {
        let constraint = req
            .version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let at = ChartRef::new(req, constraint);
        check_chart_name(&req.chart, &at)?;
        let versions: Vec<String> = if is_oci(&req.repo_url, req.enable_oci) {
            oci::versions(self, req, max_age).await?
        } else {
            let index = self.index(req, max_age, &at).await?;
            let entries = index
                .entries
                .get(&req.chart)
                .ok_or_else(|| ChartError::ChartNotFound { at: at.clone() })?;
            entries.iter().map(|e| e.version.clone()).collect()
        };
        match constraint::pick(versions.iter().map(String::as_str), constraint) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(ChartError::NoMatchingVersion {
                at,
                newest: constraint::newest(versions.iter().map(String::as_str), 5),
            }),
            Err(reason) => Err(ChartError::InvalidConstraint { at, reason }),
        }
    }

    /// The chart at exactly `version`, extracted into the cache. Downloaded once per
    /// repository, chart and version (concurrent callers wait for one download); the sha256
    /// is checked against the index's `digest` when it names one.
    pub async fn pull(&self, req: &ChartRequest, version: &str) -> Result<PulledChart, ChartError> {
        let at = ChartRef::new(req, Some(version));
        check_chart_name(&req.chart, &at)?;
        archive::check_version(version, &at)?;
        let oci = is_oci(&req.repo_url, req.enable_oci);
        // For a Helm repository the index (fetched with these credentials) says where the
        // archive is and its digest; an app without access to the index gets nothing cached.
        let entry = if oci {
            None
        } else {
            let index = self.index(req, self.interval, &at).await?;
            let found = index
                .entries
                .get(&req.chart)
                .ok_or_else(|| ChartError::ChartNotFound { at: at.clone() })?
                .iter()
                .find(|e| e.version == version)
                .cloned();
            Some(found.ok_or_else(|| ChartError::NoMatchingVersion {
                at: at.clone(),
                newest: constraint::newest(
                    index.entries[&req.chart].iter().map(|e| e.version.as_str()),
                    5,
                ),
            })?)
        };
        let expected = entry.as_ref().and_then(|e| e.digest.clone());
        let key = format!(
            "{}\n{}\n{}\n{}",
            repo_key(&req.repo_url),
            auth_fingerprint(&req.auth),
            req.chart,
            version
        );
        let slot = lock(&self.pulls).entry(key).or_default().clone();
        let mut slot = slot.lock().await;
        if let Some(done) = slot.as_ref()
            && expected.as_ref().is_none_or(|d| *d == done.digest)
        {
            return Ok(done.clone());
        }
        let dest = self
            .cache_dir
            .join("charts")
            .join(&short_hash(&repo_key(&req.repo_url))[..16])
            .join(format!("{}-{}", req.chart, version));
        // Extracted by an earlier process with the digest the index names now: reuse it.
        if let Some(digest) = &expected
            && let Some(done) = archive::existing(&dest, &req.chart, version, digest)
        {
            *slot = Some(done.clone());
            return Ok(done);
        }
        let bytes = match &entry {
            None => oci::archive(self, req, version).await?,
            Some(entry) => {
                let client = self.client(&req.auth, &at)?;
                repo::download(&client, req, entry, &at).await?
            }
        };
        let actual = hex::encode(Sha256::digest(&bytes));
        if let Some(expected) = expected
            && expected != actual
        {
            return Err(ChartError::DigestMismatch {
                at,
                expected,
                actual,
            });
        }
        let dir = archive::extract(&bytes, &dest, &req.chart, &actual, &at)?;
        let done = PulledChart {
            dir,
            version: version.to_string(),
            digest: actual,
        };
        *slot = Some(done.clone());
        Ok(done)
    }

    /// The repository's index, refetched when older than `min(interval, max_age)` or
    /// invalidated since; one fetch at a time per repository and credentials.
    async fn index(
        &self,
        req: &ChartRequest,
        max_age: Duration,
        at: &ChartRef,
    ) -> Result<Arc<repo::Index>, ChartError> {
        let repo_url = repo_key(&req.repo_url);
        let key = format!("{repo_url}\n{}", auth_fingerprint(&req.auth));
        let slot = lock(&self.indexes)
            .entry(key)
            .or_insert_with(|| {
                Arc::new(IndexSlot {
                    repo_url: repo_url.clone(),
                    index: tokio::sync::Mutex::default(),
                })
            })
            .clone();
        let mut cached = slot.index.lock().await;
        if let Some((fetched, index)) = cached.as_ref()
            && self.fresh(&slot.repo_url, *fetched, max_age)
        {
            return Ok(index.clone());
        }
        let client = self.client(&req.auth, at)?;
        let fetched = Instant::now();
        let index = Arc::new(repo::fetch_index(&client, req, at).await?);
        *cached = Some((fetched, index.clone()));
        Ok(index)
    }

    /// Whether something of `repo_url` fetched at `fetched` may still be used: younger than
    /// `min(interval, max_age)` and not invalidated since.
    pub(crate) fn fresh(&self, repo_url: &str, fetched: Instant, max_age: Duration) -> bool {
        let invalidated = lock(&self.invalidated).get(&repo_key(repo_url)).copied();
        fetched.elapsed() < self.interval.min(max_age) && invalidated.is_none_or(|i| i < fetched)
    }

    /// The HTTP client for these credentials' TLS settings, built once.
    pub(crate) fn client(
        &self,
        auth: &RepoAuth,
        at: &ChartRef,
    ) -> Result<reqwest::Client, ChartError> {
        let key = auth_fingerprint(auth);
        if let Some(c) = lock(&self.clients).get(&key) {
            return Ok(c.clone());
        }
        let client = http::client(auth).map_err(|e| e.context(at))?;
        lock(&self.clients).insert(key, client.clone());
        Ok(client)
    }

    /// The cache directory (for the OCI and dependency code).
    #[allow(dead_code)]
    pub(crate) fn cache_dir(&self) -> &std::path::Path {
        &self.cache_dir
    }
}

/// Whether `repo_url` names an OCI registry: `oci://…`, or no scheme at all with Argo CD's
/// `enableOCI`.
pub fn is_oci(repo_url: &str, enable_oci: bool) -> bool {
    let url = repo_url.trim();
    url.starts_with("oci://") || (enable_oci && !url.contains("://"))
}

/// The repository URL as cache keys use it: no trailing `/` or `/index.yaml`.
fn repo_key(repo_url: &str) -> String {
    let url = repo_url.trim().trim_end_matches('/');
    url.strip_suffix("/index.yaml").unwrap_or(url).to_string()
}

/// A hash of everything in `auth`: entries fetched with other credentials are not shared.
fn auth_fingerprint(auth: &RepoAuth) -> String {
    let mut h = Sha256::new();
    for field in [
        &auth.username,
        &auth.password,
        &auth.ca_pem,
        &auth.tls_client_cert,
        &auth.tls_client_key,
    ] {
        match field {
            Some(v) => {
                h.update([1]);
                h.update((v.len() as u64).to_le_bytes());
                h.update(v.as_bytes());
            }
            None => h.update([0]),
        }
    }
    h.update([auth.insecure_skip_verify as u8]);
    hex::encode(h.finalize())
}

fn short_hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A chart name is one path component of letters, digits, `.`, `_` and `-` (Helm's rule,
/// and what keeps the cache paths inside the cache).
fn check_chart_name(chart: &str, at: &ChartRef) -> Result<(), ChartError> {
    let ok = !chart.is_empty()
        && chart.len() <= 250
        && !chart.starts_with('.')
        && chart
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ChartError::InvalidRequest {
            at: at.clone(),
            reason: "a chart name is letters, digits, '.', '_' and '-', not starting with '.'"
                .to_string(),
        })
    }
}

/// A std mutex whose poisoning (a panic while held) is ignored: the maps stay usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

mod archive;
mod constraint;
mod deps;
mod error;
mod http;
mod oci;
mod repo;
