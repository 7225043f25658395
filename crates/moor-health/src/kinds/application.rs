//! Application (moor.dev, and Argo CD's argoproj.io): the health its controller reports in
//! `status.health`. An app of apps is thus healthy only when every child app is.

use serde_json::Value;

use crate::util::str_at;
use crate::{Health, HealthStatus};

pub(super) fn health(obj: &Value) -> Option<Health> {
    let message = str_at(obj, "/status/health/message").unwrap_or("");
    Some(match str_at(obj, "/status/health/status") {
        None | Some("") => {
            Health::progressing("waiting for the controller to report the app's health")
        }
        Some(s) => match serde_json::from_value::<HealthStatus>(Value::from(s)) {
            Ok(status) => Health::new(status, message),
            Err(_) => Health::new(
                HealthStatus::Unknown,
                crate::with_detail(&format!("unrecognised health status {s:?}"), message),
            ),
        },
    })
}
