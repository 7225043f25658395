//! Argo CD's `ignoreDifferences`: fields (JSON pointers) left out of drift detection for the
//! objects a rule matches, so that a field another controller owns (an HPA's replicas, a
//! webhook's injected CA bundle) neither shows as OutOfSync nor gets "healed". Fields are named
//! by JSON pointer, or by the field managers that own them in the live object's managedFields.
//! With `RespectIgnoreDifferences` a sync also writes those fields at their live values.

use std::borrow::Cow;

use moor_types::ObjKey;
use serde_json::Value;

/// One `ignoreDifferences` entry: which objects, which fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    /// API group ("" for the core group).
    pub group: String,
    /// Kind of the objects the rule is for.
    pub kind: String,
    /// Any name when None.
    pub name: Option<String>,
    /// Any namespace when None.
    pub namespace: Option<String>,
    /// RFC 6901 pointers to the ignored fields (e.g. `/spec/replicas`).
    pub json_pointers: Vec<String>,
    /// Fields these managers own in the live object (its managedFields) are ignored too.
    pub managed_fields_managers: Vec<String>,
}

impl IgnoreRule {
    fn matches(&self, key: &ObjKey) -> bool {
        self.group == key.group
            && self.kind == key.kind
            && self.name.as_ref().is_none_or(|n| *n == key.name)
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| Some(ns) == key.namespace.as_ref())
    }
}

/// What one object ignores: JSON pointers, and the field sets (managedFields `fieldsV1`) that
/// the ignored managers hold in the live object. The sets are resolved in whichever object is
/// compared, so `k:{"name":"sidecar"}` means that container wherever it stands in each list.
#[derive(Clone, Debug, Default)]
pub struct Ignored {
    pointers: Vec<String>,
    managers: Vec<String>,
    owned: Vec<serde_json::Map<String, Value>>,
}

impl Ignored {
    /// What the rules matching `key` ignore.
    pub(crate) fn for_key(rules: &[IgnoreRule], key: &ObjKey) -> Ignored {
        let matching = || rules.iter().filter(|r| r.matches(key));
        Ignored {
            pointers: matching()
                .flat_map(|r| r.json_pointers.iter().cloned())
                .collect(),
            managers: matching()
                .flat_map(|r| r.managed_fields_managers.iter().cloned())
                .collect(),
            owned: vec![],
        }
    }

    /// Takes the field sets the ignored managers own from `live`'s managedFields.
    pub(crate) fn learn_owned(&mut self, live: &Value) {
        if self.managers.is_empty() {
            return;
        }
        let entries = live
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array);
        // Subresource writes (an autoscaler's /scale) are recorded on the object's own fields.
        self.owned = entries
            .into_iter()
            .flatten()
            .filter(|e| {
                let m = e.get("manager").and_then(Value::as_str).unwrap_or_default();
                self.managers.iter().any(|x| x == m)
            })
            .filter_map(|e| e.get("fieldsV1")?.as_object().cloned())
            .collect();
    }

    /// The pointers of the ignored fields in `v`, ordered for removal one after another.
    pub(crate) fn pointers_in(&self, v: &Value) -> Vec<String> {
        let mut out = self.pointers.clone();
        for set in &self.owned {
            walk(set, v, String::new(), &mut out);
        }
        order_for_removal(&mut out);
        out
    }

    /// `v` without its ignored fields (borrowed as is when nothing is ignored).
    pub(crate) fn strip<'a>(&self, v: &'a Value) -> Cow<'a, Value> {
        if self.pointers.is_empty() && self.owned.is_empty() {
            return Cow::Borrowed(v);
        }
        without(v, &self.pointers_in(v))
    }
}

/// Orders `pointers` so that removing them one after another never shifts a later list index.
fn order_for_removal(pointers: &mut Vec<String>) {
    pointers.sort_by(|a, b| segments(b).cmp(&segments(a)));
    pointers.dedup();
}

/// Pointer segments with list indexes compared as numbers.
fn segments(p: &str) -> Vec<(u8, u64, &str)> {
    p.split('/')
        .map(|s| match s.parse::<u64>() {
            Ok(n) => (0, n, ""),
            Err(_) => (1, 0, s),
        })
        .collect()
}

/// Follows a managedFields `fieldsV1` set through `node`: `f:name` is a field, `k:{..}` the list
/// item with those keys, `v:..` the list item with that value, `i:N` item N; a member with
/// nothing below it (or only `.`, the item itself) is owned whole.
fn walk(
    fields: &serde_json::Map<String, Value>,
    node: &Value,
    prefix: String,
    out: &mut Vec<String>,
) {
    for (k, sub) in fields {
        let found = if let Some(name) = k.strip_prefix("f:") {
            node.get(name)
                .map(|c| (name.replace('~', "~0").replace('/', "~1"), c))
        } else if let Some(keys) = k.strip_prefix("k:") {
            let keys: serde_json::Map<String, Value> =
                serde_json::from_str(keys).unwrap_or_default();
            list_item(node, |item| {
                keys.iter().all(|(k, v)| item.get(k) == Some(v))
            })
        } else if let Some(value) = k.strip_prefix("v:") {
            let value: Value = serde_json::from_str(value).unwrap_or(Value::Null);
            list_item(node, |item| *item == value)
        } else if let Some(i) = k.strip_prefix("i:") {
            i.parse::<usize>()
                .ok()
                .and_then(|i| Some((i.to_string(), node.as_array()?.get(i)?)))
        } else {
            None
        };
        let Some((segment, child)) = found else {
            continue;
        };
        let path = format!("{prefix}/{segment}");
        match sub.as_object().filter(|m| m.keys().any(|k| k != ".")) {
            Some(m) => walk(m, child, path, out),
            None => out.push(path),
        }
    }
}

fn list_item(node: &Value, matches: impl Fn(&Value) -> bool) -> Option<(String, &Value)> {
    let (i, item) = node
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, v)| matches(v))?;
    Some((i.to_string(), item))
}

/// `v` without the fields at `pointers` (borrowed as is when there are none).
pub(crate) fn without<'a>(v: &'a Value, pointers: &[String]) -> Cow<'a, Value> {
    if pointers.is_empty() {
        return Cow::Borrowed(v);
    }
    let mut v = v.clone();
    moor_diff::ignore_pointers(&mut v, pointers);
    Cow::Owned(v)
}

/// `desired` with each ignored field it sets taken from `live` instead (or dropped, when the live
/// object has no such field), so that writing it leaves those fields as they are.
pub(crate) fn keep_live<'a>(
    desired: &'a Value,
    live: Option<&Value>,
    pointers: &[String],
) -> Cow<'a, Value> {
    let Some(live) = live.filter(|_| !pointers.is_empty()) else {
        return Cow::Borrowed(desired);
    };
    let mut out = desired.clone();
    for p in pointers {
        match (out.pointer_mut(p), live.pointer(p)) {
            (Some(slot), Some(current)) => *slot = current.clone(),
            (Some(_), None) => moor_diff::ignore_pointers(&mut out, std::slice::from_ref(p)),
            (None, _) => {}
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers_for(rules: &[IgnoreRule], key: &ObjKey) -> Vec<String> {
        Ignored::for_key(rules, key).pointers
    }

    fn managers_for(rules: &[IgnoreRule], key: &ObjKey) -> Vec<String> {
        Ignored::for_key(rules, key).managers
    }

    /// The pointers `managers` own in `live`, resolved in `target`.
    fn owned_in(live: &Value, managers: &[&str], target: &Value) -> Vec<String> {
        let mut i = Ignored {
            managers: managers.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        i.learn_owned(live);
        i.pointers_in(target)
    }

    fn key(group: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjKey {
        ObjKey {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn rules_match_on_group_kind_and_optional_name_and_namespace() {
        let rules = vec![
            IgnoreRule {
                group: "apps".into(),
                kind: "Deployment".into(),
                json_pointers: vec!["/spec/replicas".into()],
                ..Default::default()
            },
            IgnoreRule {
                group: "".into(),
                kind: "ConfigMap".into(),
                name: Some("ca".into()),
                namespace: Some("a".into()),
                json_pointers: vec!["/data/ca.crt".into()],
                managed_fields_managers: vec!["injector".into()],
            },
        ];
        let web = key("apps", "Deployment", Some("a"), "web");
        assert_eq!(pointers_for(&rules, &web), ["/spec/replicas"]);
        assert!(pointers_for(&rules, &key("", "Deployment", Some("a"), "web")).is_empty());
        assert_eq!(
            pointers_for(&rules, &key("", "ConfigMap", Some("a"), "ca")),
            ["/data/ca.crt"]
        );
        assert!(pointers_for(&rules, &key("", "ConfigMap", Some("b"), "ca")).is_empty());
        assert!(pointers_for(&rules, &key("", "ConfigMap", Some("a"), "other")).is_empty());
        assert_eq!(
            managers_for(&rules, &key("", "ConfigMap", Some("a"), "ca")),
            ["injector"]
        );
        assert!(managers_for(&rules, &web).is_empty());
    }

    #[test]
    fn without_removes_fields_keys_with_slashes_and_list_items() {
        let v = json!({"spec": {"replicas": 3, "template": {"x": 1}},
                       "metadata": {"annotations": {"a/b": "1", "c": "2"}},
                       "list": [1, 2, 3]});
        let ptrs = vec![
            "/spec/replicas".to_string(),
            "/metadata/annotations/a~1b".to_string(),
            "/list/1".to_string(),
            "/not/there".to_string(),
        ];
        assert_eq!(
            *without(&v, &ptrs),
            json!({"spec": {"template": {"x": 1}}, "metadata": {"annotations": {"c": "2"}}, "list": [1, 3]})
        );
        assert!(matches!(without(&v, &[]), Cow::Borrowed(_)));
    }

    #[test]
    fn fields_owned_by_managers_become_pointers_into_the_live_object() {
        let live = json!({
            "metadata": {
                "annotations": {"example.com/ca": "x", "mine": "y"},
                "managedFields": [
                    {"manager": "moor", "operation": "Apply", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                         "k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}}},
                    {"manager": "autoscaler", "operation": "Update", "subresource": "scale",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                    {"manager": "injector", "operation": "Update", "fieldsType": "FieldsV1",
                     "fieldsV1": {
                        "f:metadata": {"f:annotations": {"f:example.com/ca": {}}},
                        "f:spec": {"f:template": {"f:spec": {"f:containers": {
                            "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}},
                            "k:{\"name\":\"proxy\"}": {".": {}}}}}}}}
                ]
            },
            "spec": {"replicas": 4, "template": {"spec": {"containers": [
                {"name": "web", "image": "web:1"},
                {"name": "sidecar", "image": "side:1"},
                {"name": "proxy", "image": "proxy:1"}
            ]}}}
        });
        assert_eq!(owned_in(&live, &["autoscaler"], &live), ["/spec/replicas"]);
        let injected = owned_in(&live, &["injector", "nobody"], &live);
        assert_eq!(
            injected,
            [
                "/spec/template/spec/containers/2",
                "/spec/template/spec/containers/1/name",
                "/spec/template/spec/containers/1/image",
                "/metadata/annotations/example.com~1ca"
            ]
        );
        // Removed in that order, the later index never shifts onto another container.
        let cleaned = without(&live, &injected);
        assert_eq!(
            cleaned["spec"]["template"]["spec"]["containers"],
            json!([{"name": "web", "image": "web:1"}, {}])
        );
        assert_eq!(cleaned["metadata"]["annotations"], json!({"mine": "y"}));
        assert!(owned_in(&live, &[], &live).is_empty());
        // Resolved in Git's object, list items are found by their keys, not by live's indexes:
        // a container only Git has is never hidden.
        let desired = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "web", "image": "web:2"}, {"name": "other", "image": "o:1"}]}}}});
        assert_eq!(
            owned_in(&live, &["injector", "autoscaler"], &desired),
            ["/spec/replicas"]
        );
    }

    #[test]
    fn keep_live_takes_live_values_and_drops_what_live_lacks() {
        let desired = json!({"spec": {"replicas": 2, "paused": false, "image": "x:2"}});
        let live = json!({"spec": {"replicas": 7, "image": "x:1"}});
        let ptrs = vec!["/spec/replicas".to_string(), "/spec/paused".to_string()];
        assert_eq!(
            *keep_live(&desired, Some(&live), &ptrs),
            json!({"spec": {"replicas": 7, "image": "x:2"}})
        );
        // A new object is written as desired.
        assert_eq!(*keep_live(&desired, None, &ptrs), desired);
    }
}
