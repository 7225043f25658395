//! Namespace: Active is healthy; Terminating lingers while finalizers clean its content up.

use serde_json::Value;

use crate::Health;
use crate::util::str_at;

pub(super) fn health(obj: &Value) -> Option<Health> {
    Some(match str_at(obj, "/status/phase") {
        Some("Terminating") => Health::progressing("namespace is terminating"),
        _ => Health::healthy(""),
    })
}
