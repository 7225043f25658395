//! Small readers over untyped objects: health rules must never panic on odd or partial objects.

use serde_json::Value;

pub(crate) fn str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// Integer at `pointer`; absent or non-integer fields read as None.
pub(crate) fn int_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// Integer at `pointer`, 0 when absent: the API server omits zero counters from status.
pub(crate) fn count(obj: &Value, pointer: &str) -> i64 {
    int_at(obj, pointer).unwrap_or(0)
}

pub(crate) fn bool_at(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// One entry of `status.conditions`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Condition<'a> {
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

impl Condition<'_> {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }

    pub fn is_false(&self) -> bool {
        self.status == "False"
    }

    /// `reason: message`, or whichever of the two is set.
    pub fn describe(&self) -> String {
        match (self.reason, self.message) {
            ("", "") => String::new(),
            (r, "") => r.to_string(),
            ("", m) => m.to_string(),
            (r, m) => format!("{r}: {m}"),
        }
    }
}

pub(crate) fn condition<'a>(obj: &'a Value, kind: &str) -> Option<Condition<'a>> {
    condition_in(obj.pointer("/status/conditions")?, kind)
}

/// The condition of type `kind` in a list of conditions, wherever the list lives (status, or
/// an annotation as for `autoscaling/v1` HorizontalPodAutoscalers).
pub(crate) fn condition_in<'a>(list: &'a Value, kind: &str) -> Option<Condition<'a>> {
    let c = list
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
    let s = |f: &str| c.get(f).and_then(Value::as_str).unwrap_or("");
    Some(Condition {
        status: s("status"),
        reason: s("reason"),
        message: s("message"),
    })
}

/// `spec.replicas`, which the API server defaults to 1 for workloads.
pub(crate) fn spec_replicas(obj: &Value) -> i64 {
    int_at(obj, "/spec/replicas").unwrap_or(1)
}

pub(crate) fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name").unwrap_or("")
}
