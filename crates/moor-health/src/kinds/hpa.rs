//! HorizontalPodAutoscaler: degraded when it cannot read metrics or scale its target.
//!
//! `autoscaling/v2` publishes its conditions in `status.conditions`; `autoscaling/v1` has no
//! such field and keeps them, as a JSON string, in an annotation. Both are read the same way.

use serde_json::Value;

use crate::util::{Condition, condition_in};
use crate::{Health, with_detail};

/// Where `autoscaling/v1` keeps the conditions `autoscaling/v2` has in `status.conditions`.
const V1_CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";

pub(super) fn health(obj: &Value) -> Option<Health> {
    let annotated = match v1_conditions(obj) {
        Ok(list) => list,
        Err(h) => return Some(h),
    };
    let list = obj
        .pointer("/status/conditions")
        .filter(|l| l.as_array().is_some_and(|a| !a.is_empty()))
        .or(annotated.as_ref());
    let cond = |t: &str| list.and_then(|l| condition_in(l, t));
    Some(verdict(
        cond("AbleToScale"),
        cond("ScalingActive"),
        cond("ScalingLimited"),
    ))
}

fn verdict(
    able: Option<Condition>,
    active: Option<Condition>,
    limited: Option<Condition>,
) -> Health {
    if let Some(c) = able.filter(|c| c.is_false()) {
        return Health::degraded(with_detail("cannot scale", &c.describe()));
    }
    match active {
        // Target scaled to zero on purpose: autoscaling is off until it is scaled up again.
        Some(c) if c.is_false() && c.reason == "ScalingDisabled" => {
            Health::suspended(with_detail("scaling disabled", c.message))
        }
        Some(c) if c.is_false() => Health::degraded(with_detail("scaling inactive", &c.describe())),
        Some(c) => Health::healthy(match limited.filter(|l| l.is_true()) {
            Some(l) => l.describe(),
            None => c.message.to_string(),
        }),
        None => Health::progressing("waiting for the autoscaler to compute metrics"),
    }
}

/// The conditions in the v1 annotation; an annotation that is not a JSON list is reported as
/// such rather than read as "no conditions yet" (which would wait forever).
fn v1_conditions(obj: &Value) -> Result<Option<Value>, Health> {
    let pointer = format!("/metadata/annotations/{}", V1_CONDITIONS.replace('/', "~1"));
    let Some(text) = obj.pointer(&pointer).and_then(Value::as_str) else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(text) {
        Ok(list @ Value::Array(_)) => Ok(Some(list)),
        Ok(_) => Err(unreadable("it is not a JSON list")),
        Err(e) => Err(unreadable(&e.to_string())),
    }
}

fn unreadable(why: &str) -> Health {
    Health::new(
        moor_types::HealthStatus::Unknown,
        format!("cannot read the {V1_CONDITIONS} annotation: {why}"),
    )
}
