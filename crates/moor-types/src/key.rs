use std::fmt;

use serde::{Deserialize, Serialize};

/// Identity of a Kubernetes object, independent of API version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjKey {
    /// API group, "" for the core group.
    pub group: String,
    /// The kind, e.g. `Deployment`.
    pub kind: String,
    /// None for cluster-scoped objects.
    pub namespace: Option<String>,
    /// metadata.name.
    pub name: String,
}

impl ObjKey {
    /// A key from its parts, borrowed so callers need not allocate first.
    pub fn new(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// Group of an `apiVersion` string: "apps/v1" -> "apps", "v1" -> "".
    pub fn group_of(api_version: &str) -> &str {
        api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
    }
}

/// `Kind namespace/name` (or `Kind name` when cluster scoped), as users read it in errors.
impl fmt::Display for ObjKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_namespace_and_name() {
        let k = ObjKey::new("apps", "Deployment", Some("prod"), "web");
        assert_eq!(k.to_string(), "Deployment prod/web");
        let k = ObjKey::new("", "Namespace", Some(""), "prod");
        assert_eq!(k.to_string(), "Namespace prod");
    }

    #[test]
    fn group_of_api_version() {
        assert_eq!(ObjKey::group_of("apps/v1"), "apps");
        assert_eq!(ObjKey::group_of("v1"), "");
        assert_eq!(
            ObjKey::group_of("apiextensions.k8s.io/v1"),
            "apiextensions.k8s.io"
        );
    }
}
