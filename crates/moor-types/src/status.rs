use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::vocab::{HealthStatus, SyncStatus};

impl HealthStatus {
    /// Worst of two health values: an app is as healthy as its least healthy object.
    pub fn worst(self, other: HealthStatus) -> HealthStatus {
        self.max(other)
    }
}

/// What a sync did (or, on a dry run, would do) to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// It did not exist and was created.
    Created,
    /// It existed, had drifted, and was written.
    Configured,
    /// An object that existed before this app first applied it, now taken into the app.
    Adopted,
    /// It matched Git; nothing was written.
    Unchanged,
    /// It left Git and was deleted.
    Pruned,
    /// It was left alone; the result's message says why.
    Skipped,
    /// A field the API server does not let change differed (a Job's template, a Service's
    /// clusterIP), and `Replace=true` or `Force=true` allowed it: deleted, then created again.
    Replaced,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::Created => "created",
            Change::Configured => "configured",
            Change::Adopted => "adopted",
            Change::Unchanged => "unchanged",
            Change::Pruned => "pruned",
            Change::Skipped => "skipped",
            Change::Replaced => "replaced",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_health_wins() {
        use HealthStatus::*;
        assert_eq!(Healthy.worst(Progressing), Progressing);
        assert_eq!(Degraded.worst(Progressing), Degraded);
        assert_eq!(Healthy.worst(Healthy), Healthy);
    }
}
