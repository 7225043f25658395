//! Job: terminal conditions first, then suspension; anything else is still running.

use serde_json::Value;

use crate::util::{bool_at, condition, count};
use crate::{Health, with_detail};

pub(super) fn health(obj: &Value) -> Option<Health> {
    let cond = |t| condition(obj, t).filter(|c| c.is_true());
    if let Some(c) = cond("Complete") {
        return Some(Health::healthy(with_detail("job completed", c.message)));
    }
    // FailureTarget is set as soon as the controller decides to fail the Job, before its pods are
    // gone and Failed is added; both mean the same to a user.
    if let Some(c) = cond("Failed").or_else(|| cond("FailureTarget")) {
        return Some(Health::degraded(with_detail("job failed", &c.describe())));
    }
    if cond("Suspended").is_some() || bool_at(obj, "/spec/suspend") {
        return Some(Health::suspended("job is suspended"));
    }
    let active = count(obj, "/status/active");
    let succeeded = count(obj, "/status/succeeded");
    let failed = count(obj, "/status/failed");
    Some(Health::progressing(format!(
        "job is running: {active} active, {succeeded} succeeded, {failed} failed"
    )))
}
