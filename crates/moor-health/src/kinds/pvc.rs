//! PersistentVolumeClaim: its phase says it all.

use serde_json::Value;

use crate::Health;
use crate::util::str_at;

pub(super) fn health(obj: &Value) -> Option<Health> {
    Some(match str_at(obj, "/status/phase").unwrap_or("Pending") {
        "Bound" => Health::healthy(match str_at(obj, "/spec/volumeName") {
            Some(v) => format!("bound to volume {v}"),
            None => "bound".to_string(),
        }),
        // The volume behind the claim is gone; data may be lost and nothing will rebind it.
        "Lost" => Health::degraded("claim lost its persistent volume"),
        "Pending" => Health::progressing("waiting for the claim to be bound"),
        other => Health::new(
            moor_types::HealthStatus::Unknown,
            format!("claim phase {other}"),
        ),
    })
}
