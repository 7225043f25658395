//! CustomResourceDefinition: usable once Established; a name conflict never resolves by itself.

use serde_json::Value;

use crate::util::condition;
use crate::{Health, with_detail};

pub(super) fn health(obj: &Value) -> Option<Health> {
    if let Some(c) = condition(obj, "NamesAccepted").filter(|c| c.is_false()) {
        return Some(Health::degraded(with_detail(
            "names not accepted",
            &c.describe(),
        )));
    }
    if let Some(c) = condition(obj, "NonStructuralSchema").filter(|c| c.is_true()) {
        return Some(Health::degraded(with_detail(
            "schema is not structural",
            &c.describe(),
        )));
    }
    Some(match condition(obj, "Established") {
        Some(c) if c.is_true() => Health::healthy("established"),
        Some(c) => Health::progressing(with_detail("not established yet", &c.describe())),
        None => Health::progressing("not established yet"),
    })
}
