use std::fmt;

use serde_json::Value;

use crate::ObjKey;

/// Where a rendered object came from, for error messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// File path relative to the rendered path (or the tool that produced it, e.g. "kustomize").
    pub file: String,
    /// 1-based line of the document's start, when known.
    pub line: Option<usize>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}", self.file, l),
            None => f.write_str(&self.file),
        }
    }
}

/// One desired object as rendered from Git, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The object as JSON, edited in place as moor adds its annotations.
    pub obj: Value,
    /// File and document it was rendered from, for error messages.
    pub origin: Origin,
}

impl Manifest {
    /// A manifest of `obj` rendered from `origin`.
    pub fn new(obj: Value, origin: Origin) -> Self {
        Manifest { obj, origin }
    }

    fn str_at(&self, pointer: &str) -> &str {
        self.obj
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `apiVersion`; "" when missing (validation reports it).
    pub fn api_version(&self) -> &str {
        self.str_at("/apiVersion")
    }

    /// `kind`; "" when missing.
    pub fn kind(&self) -> &str {
        self.str_at("/kind")
    }

    /// `metadata.name`; "" when missing.
    pub fn name(&self) -> &str {
        self.str_at("/metadata/name")
    }

    /// `metadata.namespace`; None when unset or empty.
    pub fn namespace(&self) -> Option<&str> {
        Some(self.str_at("/metadata/namespace")).filter(|s| !s.is_empty())
    }

    /// The string value of annotation `name`, if set.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.obj
            .get("metadata")?
            .get("annotations")?
            .get(name)?
            .as_str()
    }

    /// Its identity, from apiVersion's group, kind, namespace and name as written.
    pub fn key(&self) -> ObjKey {
        ObjKey::new(
            ObjKey::group_of(self.api_version()),
            self.kind(),
            self.namespace(),
            self.name(),
        )
    }

    /// Sets a metadata string map entry (labels or annotations), creating the map as needed.
    pub fn set_meta_entry(&mut self, map: &str, name: &str, value: &str) {
        let Some(obj) = self.obj.as_object_mut() else {
            return;
        };
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        let Some(meta) = meta.as_object_mut() else {
            return;
        };
        let m = meta
            .entry(map)
            .or_insert_with(|| Value::Object(Default::default()));
        if !m.is_object() {
            *m = Value::Object(Default::default());
        }
        m.as_object_mut()
            .expect("just made an object")
            .insert(name.to_string(), Value::String(value.to_string()));
    }

    /// Sets `metadata.namespace` (the default namespace of namespaced objects without one).
    pub fn set_namespace(&mut self, ns: &str) {
        if let Some(meta) = self.obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), Value::String(ns.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_and_meta_entries() {
        let mut m = Manifest::new(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
            Origin {
                file: "a.yaml".into(),
                line: Some(3),
            },
        );
        assert_eq!(m.key().to_string(), "Deployment web");
        m.set_namespace("prod");
        m.set_meta_entry("annotations", "x", "1");
        assert_eq!(m.annotation("x"), Some("1"));
        assert_eq!(m.key().to_string(), "Deployment prod/web");
        assert_eq!(m.origin.to_string(), "a.yaml:3");
    }
}
