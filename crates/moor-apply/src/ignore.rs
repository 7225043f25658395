//! Argo CD's `ignoreDifferences`: fields (JSON pointers) left out of drift detection for the
//! objects a rule matches, so that a field another controller owns (an HPA's replicas, a
//! webhook's injected CA bundle) neither shows as OutOfSync nor gets "healed". With
//! `RespectIgnoreDifferences` a sync also writes those fields at their live values.

use std::borrow::Cow;

use moor_types::ObjKey;
use serde_json::Value;

/// One `ignoreDifferences` entry: which objects, which fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    /// API group ("" for the core group).
    pub group: String,
    pub kind: String,
    /// Any name when None.
    pub name: Option<String>,
    /// Any namespace when None.
    pub namespace: Option<String>,
    pub json_pointers: Vec<String>,
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

/// The pointers every rule matching `key` ignores.
pub(crate) fn pointers_for(rules: &[IgnoreRule], key: &ObjKey) -> Vec<String> {
    rules
        .iter()
        .filter(|r| r.matches(key))
        .flat_map(|r| r.json_pointers.iter().cloned())
        .collect()
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
