//! Argo CD's `spec.source.kustomize` overrides, applied as a kustomization overlay.
//!
//! The app's kustomization is never edited: a temporary directory gets a kustomization whose
//! only resource is the app's directory and whose fields are the overrides, and that overlay is
//! built. For an app whose own kustomization does not set the same field this renders what
//! Argo CD's `kustomize edit set ...` on a copy renders; where it does, the override applies on
//! top (a `namePrefix` is prepended to the app's own rather than replacing it).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::RenderError;

/// One `replicas` override: the workload's name and its count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replica {
    /// Name of the Deployment, StatefulSet (...) as in the app's kustomization output.
    pub name: String,
    /// Replicas to set.
    pub count: i64,
}

/// Argo CD's kustomize overrides (`spec.source.kustomize`); empty renders the app as in Git.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KustomizeOptions {
    /// Image overrides as `kustomize edit set image` takes them: `name=newName:tag`,
    /// `name:tag`, `name@digest`.
    pub images: Vec<String>,
    /// Prefix of every object's name.
    pub name_prefix: Option<String>,
    /// Suffix of every object's name.
    pub name_suffix: Option<String>,
    /// Labels added to every object (and selectors, as kustomize's `commonLabels` does).
    pub common_labels: BTreeMap<String, String>,
    /// Annotations added to every object.
    pub common_annotations: BTreeMap<String, String>,
    /// Namespace of every namespaced object.
    pub namespace: Option<String>,
    /// Replica counts by workload name.
    pub replicas: Vec<Replica>,
    /// Kustomize `patches` entries (inline `patch` with an optional `target`).
    pub patches: Vec<Value>,
    /// Component directories, relative to the app's directory.
    pub components: Vec<String>,
}

impl KustomizeOptions {
    /// No override is set.
    pub fn is_empty(&self) -> bool {
        *self == KustomizeOptions::default()
    }
}

fn invalid(field: &str, cause: impl Into<String>) -> RenderError {
    RenderError::InvalidOverride {
        field: format!("spec.source.kustomize.{field}"),
        cause: cause.into(),
    }
}

/// A kustomization `images` entry from an override string, read as `kustomize edit set image`
/// reads it: `[name=]newName[:tag][@digest]`, the name without `=` being the image's own.
pub(crate) fn image_entry(spec: &str) -> Result<Value, RenderError> {
    let spec = spec.trim();
    let (name, image) = match spec.split_once('=') {
        Some((name, image)) => (Some(name), image),
        None => (None, spec),
    };
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    // A `:` after the last `/` starts the tag; one before it is a registry's port.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (base, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if base.is_empty() || name.is_some_and(str::is_empty) {
        return Err(invalid("images", format!("{spec:?} names no image")));
    }
    let mut entry = Map::new();
    entry.insert("name".into(), json!(name.unwrap_or(base)));
    if name.is_some() {
        entry.insert("newName".into(), json!(base));
    }
    if let Some(tag) = tag {
        entry.insert("newTag".into(), json!(tag));
    }
    if let Some(digest) = digest {
        entry.insert("digest".into(), json!(digest));
    }
    Ok(Value::Object(entry))
}

/// `to` as a path relative to the directory `from` (both absolute, canonical): kustomize
/// refuses absolute resource paths.
pub(crate) fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    to[common..].iter().for_each(|c| rel.push(c));
    rel
}

/// The overlay kustomization for `dir` (canonical) written in `overlay_dir` (canonical), with
/// `components` already confined to the checkout (canonical paths).
pub(crate) fn overlay(
    overlay_dir: &Path,
    dir: &Path,
    k: &KustomizeOptions,
    components: &[PathBuf],
) -> Result<Value, RenderError> {
    let rel = |p: &Path| relative(overlay_dir, p).to_string_lossy().into_owned();
    let mut doc = Map::new();
    doc.insert(
        "apiVersion".into(),
        json!("kustomize.config.k8s.io/v1beta1"),
    );
    doc.insert("kind".into(), json!("Kustomization"));
    doc.insert("resources".into(), json!([rel(dir)]));
    if !components.is_empty() {
        let list: Vec<String> = components.iter().map(|c| rel(c)).collect();
        doc.insert("components".into(), json!(list));
    }
    if let Some(p) = &k.name_prefix {
        doc.insert("namePrefix".into(), json!(p));
    }
    if let Some(s) = &k.name_suffix {
        doc.insert("nameSuffix".into(), json!(s));
    }
    if let Some(ns) = &k.namespace {
        doc.insert("namespace".into(), json!(ns));
    }
    if !k.common_labels.is_empty() {
        doc.insert("commonLabels".into(), json!(k.common_labels));
    }
    if !k.common_annotations.is_empty() {
        doc.insert("commonAnnotations".into(), json!(k.common_annotations));
    }
    if !k.images.is_empty() {
        let images: Result<Vec<Value>, _> = k.images.iter().map(|i| image_entry(i)).collect();
        doc.insert("images".into(), Value::Array(images?));
    }
    if !k.replicas.is_empty() {
        let list: Vec<Value> = k
            .replicas
            .iter()
            .map(|r| json!({"name": r.name, "count": r.count}))
            .collect();
        doc.insert("replicas".into(), Value::Array(list));
    }
    if !k.patches.is_empty() {
        for p in &k.patches {
            // A patch file would be read from the overlay's temporary directory, outside the
            // checkout's confinement: only inline patches are taken.
            if p.get("path").is_some() {
                return Err(invalid(
                    "patches",
                    "only inline `patch` entries are supported, not `path`",
                ));
            }
            if !p.get("patch").is_some_and(Value::is_string) {
                return Err(invalid("patches", "each entry needs an inline `patch`"));
            }
        }
        doc.insert("patches".into(), Value::Array(k.patches.clone()));
    }
    Ok(Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_overrides_read_as_kustomize_edit_set_image() {
        for (spec, want) in [
            ("nginx:1.25", json!({"name": "nginx", "newTag": "1.25"})),
            (
                "nginx=registry:5000/web/nginx:2",
                json!({"name": "nginx", "newName": "registry:5000/web/nginx", "newTag": "2"}),
            ),
            (
                "nginx@sha256:abc",
                json!({"name": "nginx", "digest": "sha256:abc"}),
            ),
            (
                "nginx=other@sha256:abc",
                json!({"name": "nginx", "newName": "other", "digest": "sha256:abc"}),
            ),
            ("a=b", json!({"name": "a", "newName": "b"})),
        ] {
            assert_eq!(image_entry(spec).unwrap(), want, "{spec}");
        }
        assert!(image_entry("=x:1").is_err());
        assert!(image_entry(":1").is_err());
    }

    #[test]
    fn relative_paths_climb_to_the_common_parent() {
        let r = relative(Path::new("/tmp/moor-k-1"), Path::new("/work/repo/apps/web"));
        assert_eq!(r, Path::new("../../work/repo/apps/web"));
        let r = relative(Path::new("/a/b"), Path::new("/a/c"));
        assert_eq!(r, Path::new("../c"));
    }

    #[test]
    fn overlay_holds_every_override() {
        let k = KustomizeOptions {
            images: vec!["nginx:2".into()],
            name_prefix: Some("p-".into()),
            name_suffix: Some("-s".into()),
            common_labels: [("team".to_string(), "a".to_string())].into(),
            common_annotations: [("note".to_string(), "b".to_string())].into(),
            namespace: Some("prod".into()),
            replicas: vec![Replica {
                name: "web".into(),
                count: 3,
            }],
            patches: vec![json!({"patch": "- op: add", "target": {"kind": "Deployment"}})],
            components: vec!["../comp".into()],
        };
        let doc = overlay(
            Path::new("/tmp/o"),
            Path::new("/r/apps/web"),
            &k,
            &[PathBuf::from("/r/apps/comp")],
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../../r/apps/web"],
                "components": ["../../r/apps/comp"],
                "namePrefix": "p-",
                "nameSuffix": "-s",
                "namespace": "prod",
                "commonLabels": {"team": "a"},
                "commonAnnotations": {"note": "b"},
                "images": [{"name": "nginx", "newTag": "2"}],
                "replicas": [{"name": "web", "count": 3}],
                "patches": [{"patch": "- op: add", "target": {"kind": "Deployment"}}],
            })
        );
        let bad = KustomizeOptions {
            patches: vec![json!({"path": "/etc/passwd"})],
            ..Default::default()
        };
        let err = overlay(Path::new("/t"), Path::new("/r"), &bad, &[]).unwrap_err();
        assert!(
            err.to_string().contains("spec.source.kustomize.patches"),
            "{err}"
        );
    }
}
