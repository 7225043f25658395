//! CronJob: only suspension is a state of its own; the Jobs it creates carry their own health.

use serde_json::Value;

use crate::Health;
use crate::util::{bool_at, str_at};

pub(super) fn health(obj: &Value) -> Option<Health> {
    if bool_at(obj, "/spec/suspend") {
        return Some(Health::suspended("cronjob is suspended"));
    }
    Some(Health::healthy(
        match str_at(obj, "/status/lastScheduleTime") {
            Some(t) => format!("last scheduled at {t}"),
            None => "not scheduled yet".to_string(),
        },
    ))
}
