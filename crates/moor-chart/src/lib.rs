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

use std::path::PathBuf;

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
            .field("tls_client_key", &self.tls_client_key.as_ref().map(|_| "***"))
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

mod archive;
mod constraint;
mod deps;
mod error;
mod http;
mod oci;
mod repo;
