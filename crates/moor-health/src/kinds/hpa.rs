//! HorizontalPodAutoscaler: degraded when it cannot read metrics or scale its target.

use serde_json::Value;

use crate::util::condition;
use crate::{Health, with_detail};

pub(super) fn health(obj: &Value) -> Option<Health> {
    if let Some(c) = condition(obj, "AbleToScale").filter(|c| c.is_false()) {
        return Some(Health::degraded(with_detail("cannot scale", &c.describe())));
    }
    match condition(obj, "ScalingActive") {
        // Target scaled to zero on purpose: autoscaling is off until it is scaled up again.
        Some(c) if c.is_false() && c.reason == "ScalingDisabled" => Some(Health::suspended(
            with_detail("scaling disabled", c.message),
        )),
        Some(c) if c.is_false() => Some(Health::degraded(with_detail(
            "scaling inactive",
            &c.describe(),
        ))),
        Some(_) => Some(Health::healthy(
            condition(obj, "ScalingLimited")
                .filter(|c| c.is_true())
                .map(|c| c.describe())
                .unwrap_or_default(),
        )),
        None => Some(Health::progressing(
            "waiting for the autoscaler to compute metrics",
        )),
    }
}
