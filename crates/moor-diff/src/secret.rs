//! Secret values never leave this module: a diff shows only which keys exist and whether each
//! one changed, never the value, its length or its encoding.

use base64::Engine;
use serde_json::{Map, Value};

use crate::normalize::LAST_APPLIED;

/// Mask for a value that is the same on both sides (or exists on one side only).
pub const MASK: &str = "++++++++";
/// Mask for the live side of a value that differs between live and desired, so the diff shows
/// a change without the value.
pub const MASK_LIVE: &str = "++++++++ (live)";
/// Mask for the desired side of a value that differs (the counterpart of [`MASK_LIVE`]).
pub const MASK_DESIRED: &str = "++++++++ (desired)";

pub(crate) fn is_secret(obj: &Value) -> bool {
    obj.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && obj.get("kind").and_then(Value::as_str) == Some("Secret")
}

/// `obj` with every value in `data` and `stringData` replaced by [`MASK`], if it is a v1 Secret;
/// otherwise an unchanged copy.
pub fn mask_secret(obj: &Value) -> Value {
    let mut out = obj.clone();
    if !is_secret(obj) {
        return out;
    }
    drop_last_applied(&mut out);
    for field in ["data", "stringData"] {
        if let Some(m) = out.get_mut(field).and_then(Value::as_object_mut) {
            m.values_mut().for_each(|v| *v = Value::String(MASK.into()));
        }
    }
    out
}

/// Masks a live/desired pair consistently: a key whose value is equal on both sides gets [`MASK`]
/// on both, a key whose value differs gets [`MASK_LIVE`] and [`MASK_DESIRED`]. `stringData` is
/// folded into `data` first, as the API server does, so `stringData: {a: x}` and
/// `data: {a: eA==}` compare equal. Objects that are not v1 Secrets are returned unchanged.
pub fn mask_secrets_pair(
    live: Option<&Value>,
    desired: Option<&Value>,
) -> (Option<Value>, Option<Value>) {
    let mut live = live.cloned();
    let mut desired = desired.cloned();
    let live_data = live.as_mut().filter(|v| is_secret(v)).map(take_data);
    let desired_data = desired.as_mut().filter(|v| is_secret(v)).map(take_data);
    let empty = Map::new();
    if let (Some(obj), Some(data)) = (live.as_mut(), live_data.as_ref()) {
        put_masked(
            obj,
            data,
            desired_data.as_ref().unwrap_or(&empty),
            MASK_LIVE,
        );
    }
    if let (Some(obj), Some(data)) = (desired.as_mut(), desired_data.as_ref()) {
        put_masked(
            obj,
            data,
            live_data.as_ref().unwrap_or(&empty),
            MASK_DESIRED,
        );
    }
    (live, desired)
}

fn drop_last_applied(obj: &mut Value) {
    if let Some(a) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED);
    }
}

/// Removes `data` and `stringData` from a Secret and returns them merged, base64 encoded.
fn take_data(obj: &mut Value) -> Map<String, Value> {
    drop_last_applied(obj);
    let Some(m) = obj.as_object_mut() else {
        return Map::new();
    };
    let mut data = match m.remove("data") {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    if let Some(Value::Object(sd)) = m.remove("stringData") {
        for (k, v) in sd {
            let encoded = match v {
                Value::String(s) => Value::String(base64::prelude::BASE64_STANDARD.encode(s)),
                other => other,
            };
            data.insert(k, encoded);
        }
    }
    data
}

/// Puts `data` back as masks: a key also in `other` with a different value gets `changed`.
fn put_masked(
    obj: &mut Value,
    data: &Map<String, Value>,
    other: &Map<String, Value>,
    changed: &str,
) {
    let masked: Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            let mask = match other.get(k) {
                Some(o) if o != v => changed,
                _ => MASK,
            };
            (k.clone(), Value::String(mask.into()))
        })
        .collect();
    if let Some(m) = obj.as_object_mut()
        && !masked.is_empty()
    {
        m.insert("data".into(), Value::Object(masked));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data})
    }

    #[test]
    fn single_mask_hides_every_value() {
        let mut s = secret(json!({"a": "c2VjcmV0"}));
        s["stringData"] = json!({"b": "plain"});
        s["metadata"]["annotations"] = json!({LAST_APPLIED: "{\"stringData\":{\"b\":\"plain\"}}"});
        let text = mask_secret(&s).to_string();
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("plain"),
            "{text}"
        );
        assert_eq!(mask_secret(&s)["data"]["a"], MASK);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "x"}});
        assert_eq!(mask_secret(&cm), cm);
    }

    #[test]
    fn pair_marks_only_changed_keys() {
        let live = secret(json!({"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}));
        let desired = secret(json!({"same": "YQ==", "changed": "Ynl0ZQ==", "new": "ZA=="}));
        let (l, d) = mask_secrets_pair(Some(&live), Some(&desired));
        let (l, d) = (l.unwrap(), d.unwrap());
        assert_eq!(
            l["data"],
            json!({"same": MASK, "changed": MASK_LIVE, "gone": MASK})
        );
        assert_eq!(
            d["data"],
            json!({"same": MASK, "changed": MASK_DESIRED, "new": MASK})
        );
    }

    #[test]
    fn string_data_compares_as_encoded_data() {
        let live = secret(json!({"token": "aGVsbG8="}));
        let mut desired = secret(json!({}));
        desired["stringData"] = json!({"token": "hello"});
        let (l, d) = mask_secrets_pair(Some(&live), Some(&desired));
        assert_eq!(l, d);
        assert!(d.unwrap().get("stringData").is_none());
    }

    #[test]
    fn one_sided_and_non_secrets() {
        let live = secret(json!({"a": "YQ=="}));
        let (l, d) = mask_secrets_pair(Some(&live), None);
        assert_eq!(l.unwrap()["data"]["a"], MASK);
        assert!(d.is_none());
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "x"}});
        assert_eq!(
            mask_secrets_pair(Some(&cm), Some(&cm)),
            (Some(cm.clone()), Some(cm))
        );
    }
}
