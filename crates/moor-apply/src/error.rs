use std::fmt;
use std::time::Duration;

use moor_types::{ObjKey, Origin};

/// One object that cannot be applied, with where it came from and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectError {
    /// The object (what may be known of it: a manifest without a kind or name still counts).
    pub key: ObjKey,
    /// File and document it was rendered from; empty where not known (prune, waits).
    pub origin: Origin,
    /// Why, in the API server's words or moor's.
    pub reason: String,
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match (self.key.kind.is_empty(), self.key.name.is_empty()) {
            (true, true) => "object".to_string(),
            (false, true) => format!("{} (no name)", self.key.kind),
            _ => self.key.to_string(),
        };
        if self.origin.file.is_empty() {
            write!(f, "{key}: {}", self.reason)
        } else {
            write!(f, "{key} ({}): {}", self.origin, self.reason)
        }
    }
}

fn lines<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a sync, comparison or diff failed; each variant names the objects (or the app) concerned.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Objects failed validation or the server-side dry-run; nothing was written.
    #[error("failed to validate {} object(s); nothing was applied:\n{}", .0.len(), lines(.0))]
    Invalid(Vec<ObjectError>),
    /// The write of one object failed (its dry-run had passed).
    #[error("failed to apply {0}")]
    Apply(ObjectError),
    /// Reading or deleting an object left in the inventory failed.
    #[error("failed to prune {0}")]
    Prune(ObjectError),
    /// The app's inventory could not be read, written or deleted.
    #[error("failed to {action} the inventory of app {app} (ConfigMap {configmap})")]
    Inventory {
        /// `read`, `write` or `delete`.
        action: &'static str,
        /// The app whose inventory it is.
        app: String,
        /// `namespace/name` of the ConfigMap that holds it.
        configmap: String,
        /// The API server's (or the connection's) error.
        #[source]
        source: kube::Error,
    },
    /// A request about one object failed. There is deliberately no `From<kube::Error>`: every
    /// API error must say which object it was about.
    #[error("failed to {action} {key}")]
    Object {
        /// What was being done (`read`, `look up the kind of`).
        action: &'static str,
        /// The object it was about.
        key: ObjKey,
        /// The API server's (or the connection's) error.
        #[source]
        source: kube::Error,
    },
    /// One LIST that reads several desired objects of one kind and namespace failed.
    #[error("failed to read {first} and {more} more of its kind and namespace with one list")]
    List {
        /// One object the list was for, to name it.
        first: ObjKey,
        /// How many other objects the list was for.
        more: usize,
        /// The API server's (or the connection's) error.
        #[source]
        source: kube::Error,
    },
    /// [`crate::Engine::sync_compared`] was given a comparison not made by `compare`.
    #[error("failed to sync: the comparison given holds no plan (only Engine::compare makes one)")]
    NotCompared,
    /// A hook failed or did not finish within its deadline; later phases did not run.
    #[error("{phase} hook {key} failed: {message}")]
    Hook {
        /// The phase it ran in.
        phase: &'static str,
        /// The hook object (its generated name when it got one).
        key: ObjKey,
        /// Why: the Job's or Pod's failure, or the deadline.
        message: String,
    },
    /// Objects did not become healthy within the sync's timeout.
    #[error("timed out after {} waiting for {} object(s) to become healthy:\n{}", humanize(.timeout), .waiting.len(), lines(.waiting))]
    Timeout {
        /// The bound that was reached.
        timeout: Duration,
        /// Each object not healthy yet, with its health message as the reason.
        waiting: Vec<ObjectError>,
    },
}

fn humanize(d: &Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// Wraps a kube error about `key` (for `map_err`).
pub(crate) fn about(action: &'static str, key: &ObjKey) -> impl FnOnce(kube::Error) -> SyncError {
    let key = key.clone();
    move |source| SyncError::Object {
        action,
        key,
        source,
    }
}

/// The API server's message for a kube error, without client-side noise.
pub(crate) fn api_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}
