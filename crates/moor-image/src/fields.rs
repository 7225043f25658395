//! `image:` fields (containers, initContainers, ephemeral containers, CRDs alike): any `image`
//! key whose value is a reference to the image being updated.

use std::path::Path;

use crate::text::{ScalarEdit, block_scalar_lines, edit_scalars, key_line, scalar, split_lines};
use crate::{ImageRef, ImageUpdate, TextEdit};

/// Every `image:` field whose value reads as an image reference: (1-based line, reference).
/// Values that are not references (templates, empty) are skipped.
pub fn image_fields(text: &str) -> Vec<(usize, ImageRef)> {
    let lines = split_lines(text);
    let data = block_scalar_lines(&lines);
    lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !data[*i])
        .filter_map(|(i, l)| {
            let k = key_line(&l.text).filter(|k| k.key == "image")?;
            let s = scalar(&l.text, k.value_from)?;
            Some((i + 1, ImageRef::parse(&s.value).ok()?))
        })
        .collect()
}

/// Replaces, in place, the value of every `image:` field whose repository is an update's NAME
/// with the update's reference, in the value's own quoting; comments and every other byte stay.
pub fn set_image_fields(file: &Path, text: &str, updates: &[ImageUpdate]) -> TextEdit {
    edit_scalars(file, text, |line| {
        let k = key_line(line).filter(|k| k.key == "image")?;
        let s = scalar(line, k.value_from)?;
        let current = ImageRef::parse(&s.value).ok()?;
        let update = updates.iter().find(|u| u.name == current.name)?;
        Some(ScalarEdit {
            scalar: s,
            matched: update.name.clone(),
            image: update.name.clone(),
            new: Some(update.new.to_string()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = r#"# A deployment with two containers and an init container.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: "registry.local/myapp:1.0.0"   # same image, quoted
      containers:
        - name: web
          image: registry.local/myapp:1.0.0 # the app
          args: ["--port", "8080"]

        - image: 'registry.local/sidecar:2.1'
          name: sidecar
        - name: other
          image: registry.local/myapp-extra:1.0.0
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  readme: |
    image: registry.local/myapp:1.0.0
"#;

    fn update(arg: &str) -> ImageUpdate {
        ImageUpdate::parse(arg).unwrap()
    }

    #[test]
    fn replaces_matching_image_fields_and_nothing_else() {
        let edit = set_image_fields(
            Path::new("deploy.yaml"),
            DEPLOYMENT,
            &[update("registry.local/myapp=registry.local/myapp:3f2c1ab")],
        );
        let want = DEPLOYMENT
            .replace(
                "image: \"registry.local/myapp:1.0.0\"   #",
                "image: \"registry.local/myapp:3f2c1ab\"   #",
            )
            .replace(
                "image: registry.local/myapp:1.0.0 # the app",
                "image: registry.local/myapp:3f2c1ab # the app",
            );
        assert_eq!(edit.text, want);
        let lines: Vec<(usize, Option<&str>, &str)> = edit
            .changes
            .iter()
            .map(|c| (c.line, c.old.as_deref(), c.new.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (
                    11,
                    Some("registry.local/myapp:1.0.0"),
                    "registry.local/myapp:3f2c1ab"
                ),
                (
                    14,
                    Some("registry.local/myapp:1.0.0"),
                    "registry.local/myapp:3f2c1ab"
                ),
            ]
        );
        assert!(edit.matched.contains("registry.local/myapp"));
    }

    #[test]
    fn digest_and_new_repository() {
        let sha = "sha256:".to_string() + &"ab".repeat(32);
        let edit = set_image_fields(
            Path::new("d.yaml"),
            DEPLOYMENT,
            &[update(&format!(
                "registry.local/sidecar=other.local/sidecar@{sha}"
            ))],
        );
        assert!(
            edit.text
                .contains(&format!("- image: 'other.local/sidecar@{sha}'\n")),
            "{}",
            edit.text
        );
        assert_eq!(edit.changes.len(), 1);
    }

    #[test]
    fn unmatched_or_already_set_leaves_the_text_byte_identical() {
        let edit = set_image_fields(
            Path::new("d.yaml"),
            DEPLOYMENT,
            &[update("registry.local/nope=registry.local/nope:1")],
        );
        assert_eq!(edit.text, DEPLOYMENT);
        assert!(edit.changes.is_empty() && edit.matched.is_empty());
        let edit = set_image_fields(
            Path::new("d.yaml"),
            DEPLOYMENT,
            &[update("registry.local/myapp=registry.local/myapp:1.0.0")],
        );
        assert_eq!(edit.text, DEPLOYMENT);
        assert!(edit.changes.is_empty());
        assert!(
            edit.matched.contains("registry.local/myapp"),
            "matched though unchanged"
        );
    }

    #[test]
    fn keeps_line_endings_and_a_missing_final_newline() {
        let text =
            "containers:\r\n- image: registry.local/myapp:1 # c\r\n- image: registry.local/myapp:1";
        let edit = set_image_fields(
            Path::new("d.yaml"),
            text,
            &[update("registry.local/myapp=registry.local/myapp:2")],
        );
        assert_eq!(
            edit.text,
            "containers:\r\n- image: registry.local/myapp:2 # c\r\n- image: registry.local/myapp:2"
        );
    }

    #[test]
    fn lists_image_fields() {
        let found: Vec<(usize, String)> = image_fields(DEPLOYMENT)
            .into_iter()
            .map(|(l, r)| (l, r.to_string()))
            .collect();
        assert_eq!(
            found,
            vec![
                (11, "registry.local/myapp:1.0.0".to_string()),
                (14, "registry.local/myapp:1.0.0".to_string()),
                (17, "registry.local/sidecar:2.1".to_string()),
                (20, "registry.local/myapp-extra:1.0.0".to_string()),
            ]
        );
    }
}
