//! Commit messages from a template with `{images}`, `{path}`, `{branch}` (and any other
//! variable the caller passes) placeholders.

use crate::ImageChange;

/// Default message of `moor image set`.
pub const DEFAULT_SET_MESSAGE: &str = "Update images in {path}\n\n{images}";
/// Default message of `moor promote`.
pub const DEFAULT_PROMOTE_MESSAGE: &str = "Promote images from {from} to {path}\n\n{images}";

/// One `name: old -> new` line per distinct change (an added entry's old side is `(none)`).
pub fn image_lines(changes: &[ImageChange]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for c in changes {
        let line = format!(
            "{}: {} -> {}",
            c.image,
            c.old.as_deref().unwrap_or("(none)"),
            c.new
        );
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// Replaces `{images}` with [`image_lines`] (one per line) and `{NAME}` with the value of
/// `NAME` in `vars`, in one pass (a value is never expanded again). Unknown placeholders stay
/// as written. An empty result becomes "Update images".
pub fn render_message(template: &str, changes: &[ImageChange], vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').filter(|&c| {
            after[..c]
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        });
        match close {
            Some(c) => {
                let name = &after[..c];
                let value = if name == "images" {
                    Some(image_lines(changes).join("\n"))
                } else {
                    vars.iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.to_string())
                };
                match value {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[open..open + c + 2]),
                }
                rest = &after[c + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let out = out.trim_end().to_string();
    if out.trim().is_empty() {
        "Update images".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(image: &str, old: Option<&str>, new: &str) -> ImageChange {
        ImageChange {
            file: "k.yaml".into(),
            line: 1,
            image: image.into(),
            old: old.map(str::to_string),
            new: new.into(),
        }
    }

    #[test]
    fn renders_placeholders_once() {
        let changes = [
            change(
                "registry.local/myapp",
                Some("registry.local/myapp:1.0.1"),
                "registry.local/myapp:3f2c1ab",
            ),
            change(
                "registry.local/myapp",
                Some("registry.local/myapp:1.0.1"),
                "registry.local/myapp:3f2c1ab",
            ),
            change("worker", None, "registry.local/worker:2"),
        ];
        let msg = render_message(
            DEFAULT_SET_MESSAGE,
            &changes,
            &[("path", "overlays/staging"), ("branch", "main {images}")],
        );
        assert_eq!(
            msg,
            "Update images in overlays/staging\n\nregistry.local/myapp: registry.local/myapp:1.0.1 -> registry.local/myapp:3f2c1ab\nworker: (none) -> registry.local/worker:2"
        );
        let msg = render_message(
            "ci({branch}): {path} {unknown} {not a var} {",
            &changes,
            &[("path", "p"), ("branch", "main {images}")],
        );
        assert_eq!(msg, "ci(main {images}): p {unknown} {not a var} {");
        assert_eq!(
            render_message(
                "  {nothing_here_either}",
                &[],
                &[("nothing_here_either", "")]
            ),
            "Update images"
        );
    }
}
