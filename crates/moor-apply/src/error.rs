use std::fmt;
use std::time::Duration;

use moor_types::{ObjKey, Origin};

/// One object that cannot be applied, with where it came from and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectError {
    pub key: ObjKey,
    pub origin: Origin,
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

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("failed to validate {} object(s); nothing was applied:\n{}", .0.len(), lines(.0))]
    Invalid(Vec<ObjectError>),
    #[error("failed to apply {0}")]
    Apply(ObjectError),
    #[error("failed to prune {0}")]
    Prune(ObjectError),
    #[error("failed to {action} the inventory of app {app}")]
    Inventory {
        action: &'static str,
        app: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to talk to the API server")]
    Kube(#[from] kube::Error),
    #[error("failed to sync: the comparison given holds no plan (only Engine::compare makes one)")]
    NotCompared,
    #[error("timed out after {} waiting for {} object(s) to become healthy:\n{}", humanize(.timeout), .waiting.len(), lines(.waiting))]
    Timeout {
        timeout: Duration,
        waiting: Vec<ObjectError>,
    },
}

fn humanize(d: &Duration) -> String {
    format!("{}s", d.as_secs_f64())
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
