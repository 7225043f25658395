//! Flux-style setter markers: a comment `# {"$imagepolicy": "ns:policy"}` on a line makes the
//! scalar on that line follow the policy's latest image: the whole reference, or with the
//! suffix `:tag`, `:name` or `:digest`, that part only.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::text::{ScalarEdit, edit_scalars, key_line, scalar, skip_dashes};
use crate::{ImageRef, TextEdit};

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[ \t])#\s*\{\s*"\$imagepolicy"\s*:\s*"([^"]+)"\s*\}\s*$"#)
        .expect("marker regex")
});

/// Which part of the policy's reference a marker sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyField {
    /// `ns:policy`: the whole reference.
    Full,
    /// `ns:policy:tag`.
    Tag,
    /// `ns:policy:name`.
    Name,
    /// `ns:policy:digest`.
    Digest,
}

impl PolicyField {
    /// Splits a marker's value into the policy (`ns:policy`) and the field it sets.
    pub fn split(marker: &str) -> (&str, PolicyField) {
        if let Some((policy, suffix)) = marker.rsplit_once(':')
            && policy.contains(':')
        {
            let field = match suffix {
                "tag" => Some(PolicyField::Tag),
                "name" => Some(PolicyField::Name),
                "digest" => Some(PolicyField::Digest),
                _ => None,
            };
            if let Some(field) = field {
                return (policy, field);
            }
        }
        (marker, PolicyField::Full)
    }

    fn value(self, r: &ImageRef) -> Option<String> {
        match self {
            PolicyField::Full => Some(r.to_string()),
            PolicyField::Tag => r.tag.clone(),
            PolicyField::Name => Some(r.name.clone()),
            PolicyField::Digest => r.digest.clone(),
        }
    }
}

/// Sets the scalar on every line with a marker naming a policy in `policies` (`ns:policy` to
/// its latest reference). A marker whose policy has no value for its field (`:tag` of a
/// digest-only reference) leaves its line alone.
pub fn set_policy_markers(
    file: &Path,
    text: &str,
    policies: &BTreeMap<String, ImageRef>,
) -> TextEdit {
    edit_scalars(file, text, |line| {
        let caps = MARKER.captures(line)?;
        let marker = caps.get(1).map_or("", |m| m.as_str()).trim().to_string();
        let comment = caps.get(0).map_or(0, |m| m.start());
        let (policy, field) = PolicyField::split(&marker);
        let reference = policies.get(policy)?;
        let from = match key_line(line) {
            Some(k) => k.value_from,
            None => skip_dashes(line).1,
        };
        let s = scalar(line, from).filter(|s| s.end <= comment)?;
        Some(ScalarEdit {
            scalar: s,
            matched: policy.to_string(),
            new: field.value(reference),
            image: marker,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
        - name: quoted
          image: "ghcr.io/org/app:1.0.0"  # {"$imagepolicy": "flux-system:app"}
        - name: other
          image: ghcr.io/org/other:1.0.0 # {"$imagepolicy": "flux-system:other"}
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: app
    newName: ghcr.io/org/app # {"$imagepolicy": "flux-system:app:name"}
    newTag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000 # {"$imagepolicy": "flux-system:app:digest"}
args:
  - '1.0.0' # {"$imagepolicy": "flux-system:app:tag"}
"#;

    #[test]
    fn markers_set_the_whole_reference_the_tag_the_name_or_the_digest() {
        let digest = "sha256:".to_string() + &"1".repeat(64);
        let app = ImageRef::parse(&format!("ghcr.io/org/app:1.1.0@{digest}")).unwrap();
        let policies = BTreeMap::from([("flux-system:app".to_string(), app.clone())]);
        let edit = set_policy_markers(Path::new("all.yaml"), TEXT, &policies);
        let want = TEXT
            .replace("image: ghcr.io/org/app:1.0.0 #", &format!("image: {app} #"))
            .replace(
                "image: \"ghcr.io/org/app:1.0.0\"  #",
                &format!("image: \"{app}\"  #"),
            )
            .replace("newTag: 1.0.0 #", "newTag: 1.1.0 #")
            .replace(&format!("sha256:{}", "0".repeat(64)), &digest)
            .replace("- '1.0.0' #", "- '1.1.0' #");
        assert_eq!(edit.text, want);
        let changed: Vec<(usize, &str)> = edit
            .changes
            .iter()
            .map(|c| (c.line, c.image.as_str()))
            .collect();
        assert_eq!(
            changed,
            vec![
                (8, "flux-system:app"),
                (10, "flux-system:app"),
                (19, "flux-system:app:tag"),
                (20, "flux-system:app:digest"),
                (22, "flux-system:app:tag"),
            ]
        );
        assert!(edit.matched.contains("flux-system:app"));
        assert!(!edit.matched.contains("flux-system:other"));
    }

    #[test]
    fn no_policies_or_missing_parts_change_nothing() {
        let edit = set_policy_markers(Path::new("a.yaml"), TEXT, &BTreeMap::new());
        assert_eq!(edit.text, TEXT);
        let digest_only =
            ImageRef::parse(&format!("ghcr.io/org/app@sha256:{}", "2".repeat(64))).unwrap();
        let policies = BTreeMap::from([("flux-system:app".to_string(), digest_only)]);
        let edit = set_policy_markers(Path::new("a.yaml"), TEXT, &policies);
        assert!(
            edit.text.contains("newTag: 1.0.0 #"),
            "tag marker untouched"
        );
        assert!(edit.text.contains("- '1.0.0' #"));
    }

    #[test]
    fn splits_marker_values() {
        assert_eq!(PolicyField::split("ns:p"), ("ns:p", PolicyField::Full));
        assert_eq!(PolicyField::split("ns:p:tag"), ("ns:p", PolicyField::Tag));
        assert_eq!(PolicyField::split("ns:p:name"), ("ns:p", PolicyField::Name));
        assert_eq!(PolicyField::split("ns:tag"), ("ns:tag", PolicyField::Full));
    }
}
