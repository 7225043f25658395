//! ChartError: every error names the repository (redacted), the chart and the version.

use std::fmt;

use crate::ChartRequest;

/// What an error is about: the repository (credentials redacted), the chart, and the version
/// or constraint asked for. Printed at the start of every [`ChartError`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartRef {
    /// The repository URL, any userinfo redacted.
    pub repo: String,
    /// The chart's name.
    pub chart: String,
    /// The exact version or the constraint; empty when none was given (the newest).
    pub version: String,
}

impl ChartRef {
    /// The subject of an error about `req`, with `version` (a constraint or an exact version).
    pub fn new(req: &ChartRequest, version: Option<&str>) -> ChartRef {
        ChartRef {
            repo: moor_git::redact_url(&req.repo_url),
            chart: req.chart.clone(),
            version: version.unwrap_or_default().trim().to_string(),
        }
    }
}

impl fmt::Display for ChartRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chart {:?}", self.chart)?;
        if !self.version.is_empty() {
            write!(f, " version {:?}", self.version)?;
        }
        write!(f, " from {}", self.repo)
    }
}

/// Why resolving or pulling a chart failed. Messages name the [`ChartRef`] and the cause once,
/// and never hold a password: URLs are redacted and texts from the network scrubbed.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The request itself is unusable: an empty or unsafe chart name, a bad repository URL.
    #[error("{at}: {reason}")]
    InvalidRequest {
        /// What the error is about.
        at: ChartRef,
        /// What is wrong.
        reason: String,
    },
    /// The repository Secret's TLS settings (CA, client certificate or key) do not load.
    #[error("{at}: invalid TLS settings in the repository Secret: {reason}")]
    InvalidTls {
        /// What the error is about.
        at: ChartRef,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be set up; [`ChartError::context`] turns it into
    /// [`ChartError::InvalidTls`] once the chart is known.
    #[error("invalid TLS settings in the repository Secret: {0}")]
    Client(String),
    /// `targetRevision` is neither a version nor a constraint.
    #[error("{at}: invalid version constraint: {reason}")]
    InvalidConstraint {
        /// What the error is about.
        at: ChartRef,
        /// What is wrong with it.
        reason: String,
    },
    /// No version of the chart matches.
    #[error("{at}: no version matches ({})", newest_text(.newest))]
    NoMatchingVersion {
        /// What the error is about.
        at: ChartRef,
        /// The newest few versions available, newest first.
        newest: Vec<String>,
    },
    /// The repository's index has no such chart.
    #[error("{at}: the repository's index.yaml has no chart of that name")]
    ChartNotFound {
        /// What the error is about.
        at: ChartRef,
    },
    /// The request got no response (name, connection, TLS, timeout) or the body broke off.
    #[error("{at}: fetching {url} failed: {reason}")]
    Unreachable {
        /// What the error is about.
        at: ChartRef,
        /// The URL fetched (redacted).
        url: String,
        /// The cause.
        reason: String,
    },
    /// 401 or 403: the credentials are missing or wrong.
    #[error(
        "{at}: {url} answered {status}: the repository refused the credentials (check the repository Secret's username and password)"
    )]
    AccessDenied {
        /// What the error is about.
        at: ChartRef,
        /// The URL fetched (redacted).
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// 404.
    #[error("{at}: {url} answered 404 Not Found")]
    NotFound {
        /// What the error is about.
        at: ChartRef,
        /// The URL fetched (redacted).
        url: String,
    },
    /// Any other unexpected HTTP status.
    #[error("{at}: {url} answered HTTP {status}")]
    HttpStatus {
        /// What the error is about.
        at: ChartRef,
        /// The URL fetched (redacted).
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// A response larger than the limit, refused while reading.
    #[error("{at}: {url} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// What the error is about.
        at: ChartRef,
        /// The URL fetched (redacted).
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// index.yaml does not parse or breaks its rules.
    #[error("{at}: invalid index.yaml: {reason}")]
    InvalidIndex {
        /// What the error is about.
        at: ChartRef,
        /// What is wrong.
        reason: String,
    },
    /// The archive's sha256 is not the one the index (or manifest) names.
    #[error("{at}: digest mismatch: the index names sha256 {expected}, the archive has {actual}")]
    DigestMismatch {
        /// What the error is about.
        at: ChartRef,
        /// The digest announced.
        expected: String,
        /// The digest of what was downloaded.
        actual: String,
    },
    /// The archive is not a gzipped tar, or holds what is refused (absolute paths, `..`,
    /// links, devices, too many or too large files, no Chart.yaml).
    #[error("{at}: refused chart archive: {reason}")]
    UnsafeArchive {
        /// What the error is about.
        at: ChartRef,
        /// What was refused.
        reason: String,
    },
    /// An answer that breaks the protocol (OCI manifests, media types and the like).
    #[error("{at}: {reason}")]
    Protocol {
        /// What the error is about.
        at: ChartRef,
        /// What is wrong.
        reason: String,
    },
    /// The local cache could not be written or read.
    #[error("{at}: chart cache {path}: {reason}")]
    Cache {
        /// What the error is about.
        at: ChartRef,
        /// The file or directory.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

fn newest_text(newest: &[String]) -> String {
    if newest.is_empty() {
        "the repository lists no versions of it".to_string()
    } else {
        format!("newest available: {}", newest.join(", "))
    }
}

impl ChartError {
    /// What the error is about, when it names it (all but [`ChartError::Client`]).
    pub fn chart_ref(&self) -> Option<&ChartRef> {
        use ChartError::*;
        match self {
            Client(_) => None,
            InvalidRequest { at, .. }
            | InvalidTls { at, .. }
            | InvalidConstraint { at, .. }
            | NoMatchingVersion { at, .. }
            | ChartNotFound { at }
            | Unreachable { at, .. }
            | AccessDenied { at, .. }
            | NotFound { at, .. }
            | HttpStatus { at, .. }
            | TooLarge { at, .. }
            | InvalidIndex { at, .. }
            | DigestMismatch { at, .. }
            | UnsafeArchive { at, .. }
            | Protocol { at, .. }
            | Cache { at, .. } => Some(at),
        }
    }

    /// A [`ChartError::Client`] named after `at`; other errors unchanged.
    pub fn context(self, at: &ChartRef) -> ChartError {
        match self {
            ChartError::Client(reason) => ChartError::InvalidTls {
                at: at.clone(),
                reason,
            },
            other => other,
        }
    }

    /// Whether retrying later may help (network, server errors) rather than a fix of the
    /// Application or the repository Secret.
    pub fn is_transient(&self) -> bool {
        match self {
            ChartError::Unreachable { .. } | ChartError::Cache { .. } => true,
            ChartError::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// `text` from the network or a library with the secrets of `auth` and the userinfo of every
/// URL in it replaced by `***`.
pub(crate) fn scrub(text: &str, auth: &crate::RepoAuth) -> String {
    let secrets: Vec<&str> = [&auth.password, &auth.tls_client_key]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    moor_git::redact(text, &secrets)
}
