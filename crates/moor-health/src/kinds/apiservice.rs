//! APIService: the aggregator's Available condition, whose message names the failing backend.

use serde_json::Value;

use crate::util::condition;
use crate::{Health, with_detail};

pub(super) fn health(obj: &Value) -> Option<Health> {
    Some(match condition(obj, "Available") {
        Some(c) if c.is_true() => Health::healthy(with_detail("available", c.message)),
        Some(c) if c.is_false() => Health::degraded(with_detail("not available", &c.describe())),
        _ => Health::progressing("waiting for the API service to become available"),
    })
}
