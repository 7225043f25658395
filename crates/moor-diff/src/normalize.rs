//! What must never show in a diff: fields the API server or controllers own, and JSON pointers
//! the user asked to ignore.

use serde_json::Value;

/// Metadata the API server sets on every write; a diff of them is noise.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Written by client-side `kubectl apply`; holds a full copy of the object (Secret values too).
pub(crate) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A copy of `obj` without server-owned metadata, the last-applied annotation and `status`,
/// and without labels/annotations maps left empty (absent and empty must compare equal).
pub fn normalize(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    map.remove("status");
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            meta.remove(*field);
        }
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove(LAST_APPLIED);
        }
        for m in ["annotations", "labels"] {
            let empty = meta.get(m).is_some_and(|v| {
                v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty)
            });
            if empty {
                meta.remove(m);
            }
        }
    }
    out
}

/// Removes each RFC 6901 JSON pointer from `obj` (e.g. `/spec/replicas`,
/// `/metadata/annotations/example.com~1owner`, `/spec/template/spec/containers/0/image`).
/// Pointers that do not resolve, and the empty pointer (the whole object), are skipped.
pub fn ignore_pointers(obj: &mut Value, pointers: &[String]) {
    for p in pointers {
        let Some((parent, last)) = p.rsplit_once('/') else {
            continue;
        };
        let last = last.replace("~1", "/").replace("~0", "~");
        match obj.pointer_mut(parent) {
            Some(Value::Object(m)) => {
                m.remove(&last);
            }
            Some(Value::Array(a)) => {
                if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < a.len()) {
                    a.remove(i);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_server_fields_and_empty_maps() {
        let obj = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": "c", "namespace": "ns", "uid": "u", "resourceVersion": "1",
                "generation": 2, "creationTimestamp": "t", "selfLink": "/x",
                "managedFields": [{"manager": "kubectl"}],
                "deletionTimestamp": "t", "deletionGracePeriodSeconds": 0,
                "labels": {},
                "annotations": {LAST_APPLIED: "{}"},
            },
            "data": {"a": "1"},
            "status": {"x": 1},
        });
        assert_eq!(
            normalize(&obj),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "1"}})
        );
    }

    #[test]
    fn keeps_non_empty_labels_and_other_annotations() {
        let obj = json!({"metadata": {"labels": {"a": "b"}, "annotations": {"x": "y"}}});
        assert_eq!(normalize(&obj), obj);
        assert_eq!(normalize(&json!("scalar")), json!("scalar"));
    }

    #[test]
    fn ignore_pointers_removes_fields_and_items() {
        let mut obj = json!({
            "metadata": {"annotations": {"example.com/owner": "x", "keep": "y"}},
            "spec": {"replicas": 3, "items": ["a", "b", "c"], "t~x": 1},
        });
        let ptrs: Vec<String> = [
            "/spec/replicas",
            "/metadata/annotations/example.com~1owner",
            "/spec/items/1",
            "/spec/t~0x",
            "/spec/items/9",
            "/nope/deeper",
            "",
            "no-slash",
        ]
        .map(String::from)
        .into();
        ignore_pointers(&mut obj, &ptrs);
        assert_eq!(
            obj,
            json!({"metadata": {"annotations": {"keep": "y"}}, "spec": {"items": ["a", "c"]}})
        );
    }
}
