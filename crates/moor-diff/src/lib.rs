//! Normalised diff of live vs desired objects, Secret values masked.
//!
//! [`diff`] normalises both sides ([`normalize`]), masks Secret values consistently
//! ([`mask_secrets_pair`]), renders each as YAML with sorted keys ([`to_yaml`]) and compares the
//! text, so two objects differ exactly when their diff has lines to show.

#![warn(missing_docs)]

mod normalize;
mod secret;

use moor_types::ObjKey;
use serde_json::{Map, Value};
use similar::TextDiff;

pub use normalize::{ignore_pointers, normalize};
pub use secret::{MASK, MASK_DESIRED, MASK_LIVE, mask_secret, mask_secrets_pair};

/// The difference between one live object and its desired state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDiff {
    /// Which object differs, for the diff's header line.
    pub key: ObjKey,
    /// Normalised, masked YAML of the live object; None when it does not exist.
    pub live: Option<String>,
    /// Normalised, masked YAML of the desired object; None when it is to be deleted.
    pub desired: Option<String>,
    /// Unified diff from `live` to `desired`, 3 lines of context.
    pub unified: String,
}

/// Diff of `live` against `desired` for the object `key`; None when they are equal once
/// normalised and masked. A missing side diffs as an empty document.
pub fn diff(key: &ObjKey, live: Option<&Value>, desired: Option<&Value>) -> Option<ObjectDiff> {
    let (live, desired) = mask_secrets_pair(
        live.map(normalize).as_ref(),
        desired.map(normalize).as_ref(),
    );
    let live = live.as_ref().map(to_yaml);
    let desired = desired.as_ref().map(to_yaml);
    if live == desired {
        return None;
    }
    let unified = TextDiff::from_lines(
        live.as_deref().unwrap_or(""),
        desired.as_deref().unwrap_or(""),
    )
    .unified_diff()
    .context_radius(3)
    .header(&format!("live/{key}"), &format!("desired/{key}"))
    .to_string();
    Some(ObjectDiff {
        key: key.clone(),
        live,
        desired,
        unified,
    })
}

/// YAML with map keys sorted at every level: serde_json preserves insertion order in this
/// workspace, and the same object fetched twice must render the same text.
pub fn to_yaml(obj: &Value) -> String {
    let sorted = sort_keys(obj);
    // Serialising a Value cannot meet unsupported types; JSON is valid YAML if it ever fails.
    serde_saphyr::to_string(&sorted)
        .unwrap_or_else(|_| serde_json::to_string_pretty(&sorted).unwrap_or_default() + "\n")
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sort_keys(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// ANSI colours for a terminal: removed lines red, added green, hunk headers cyan, file headers
/// bold (as git does, so `--- live/...` does not read as a removed line).
pub fn colorize(unified: &str) -> String {
    let mut out = String::with_capacity(unified.len() + unified.len() / 4);
    let mut in_hunk = false;
    for line in unified.split_inclusive('\n') {
        let (text, nl) = match line.strip_suffix('\n') {
            Some(t) => (t, "\n"),
            None => (line, ""),
        };
        let color = if text.starts_with("@@") {
            in_hunk = true;
            Some(CYAN)
        } else if !in_hunk && (text.starts_with("--- ") || text.starts_with("+++ ")) {
            Some(BOLD)
        } else if text.starts_with('-') {
            Some(RED)
        } else if text.starts_with('+') {
            Some(GREEN)
        } else {
            None
        };
        match color {
            Some(c) => {
                out.push_str(c);
                out.push_str(text);
                out.push_str(RESET);
            }
            None => out.push_str(text),
        }
        out.push_str(nl);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> ObjKey {
        ObjKey::new("", "ConfigMap", Some("prod"), "c")
    }

    #[test]
    fn yaml_keys_are_sorted_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [{"g": 1, "f": 2}], "c": "x"}});
        assert_eq!(to_yaml(&v), "a:\n  c: x\n  d:\n  - f: 2\n    g: 1\nb: 1\n");
    }

    #[test]
    fn equal_objects_have_no_diff_and_missing_both_is_equal() {
        let v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(diff(&key(), Some(&v), Some(&v)), None);
        assert_eq!(diff(&key(), None, None), None);
    }

    #[test]
    fn new_object_is_all_additions() {
        let v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let d = diff(&key(), None, Some(&v)).unwrap();
        assert_eq!(d.live, None);
        assert!(
            d.unified
                .starts_with("--- live/ConfigMap prod/c\n+++ desired/ConfigMap prod/c\n")
        );
        assert!(
            d.unified.lines().skip(3).all(|l| l.starts_with('+')),
            "{}",
            d.unified
        );
    }

    #[test]
    fn colorize_marks_headers_hunks_and_lines() {
        let u = "--- live/x\n+++ desired/x\n@@ -1 +1 @@\n-a\n+b\n c\n";
        assert_eq!(
            colorize(u),
            "\x1b[1m--- live/x\x1b[0m\n\x1b[1m+++ desired/x\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n\
             \x1b[31m-a\x1b[0m\n\x1b[32m+b\x1b[0m\n c\n"
        );
        // A removed line that itself starts with "-- " is still a removal once inside a hunk.
        assert_eq!(
            colorize("@@ -1 @@\n--- x"),
            "\x1b[36m@@ -1 @@\x1b[0m\n\x1b[31m--- x\x1b[0m"
        );
    }
}
