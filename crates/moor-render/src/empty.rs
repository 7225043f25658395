//! Why a source rendered no objects: the files found under its path that no renderer took.
//!
//! Rendering nothing is almost never what a user meant (a typo'd path, a directory of
//! `.libsonnet` files only, manifests one level too deep), and an app that renders nothing and
//! prunes deletes everything it owns. So an empty render is an error unless the app allows empty,
//! and the error lists what was there, each file with the reason it was not rendered.

use std::path::Path;

use crate::{RenderOptions, renderer_for};

/// At most this many files are listed; the rest are counted.
const LISTED: usize = 20;
/// At most this many directory entries are looked at, so a huge tree cannot slow the error down.
const VISITED: usize = 10_000;

/// The files under `dir` (hidden ones aside) with why the renderer picked for `dir` took nothing
/// from them, e.g. `README.md (not a manifest file)` or `app/cm.yaml (in a subdirectory: set
/// directory.recurse)`, as one line: `none` for an empty directory.
pub fn unrendered_files(dir: &Path, opts: &RenderOptions) -> String {
    let renderer = renderer_for(dir).name();
    let mut found = Vec::new();
    let mut visited = 0;
    walk(dir, "", &mut found, &mut visited);
    found.sort();
    let total = found.len();
    let mut listed: Vec<String> = found
        .iter()
        .take(LISTED)
        .map(|rel| format!("{rel} ({})", why_not(rel, renderer, opts)))
        .collect();
    if total > LISTED {
        listed.push(format!("and {} more", total - LISTED));
    }
    if visited >= VISITED {
        listed.push(format!("(stopped looking after {VISITED} entries)"));
    }
    if listed.is_empty() {
        "none".into()
    } else {
        listed.join(", ")
    }
}

/// Why a file found under the path gave no object.
fn why_not(rel: &str, renderer: &str, opts: &RenderOptions) -> &'static str {
    if renderer != "plain" {
        // Kustomize and Helm decide what they read; the file was there but gave nothing.
        return "no objects rendered";
    }
    let lower = rel.to_ascii_lowercase();
    if lower.ends_with(".libsonnet") {
        return "a Jsonnet library: only imported";
    }
    if ![".yaml", ".yml", ".json", ".jsonnet"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        return "not a manifest file";
    }
    if rel.contains('/') && !opts.recurse {
        return "in a subdirectory: set directory.recurse";
    }
    if !opts.include.is_empty() || !opts.exclude.is_empty() {
        return "no objects, or left out by directory.include/exclude";
    }
    "no objects in it"
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>, visited: &mut usize) {
    let Ok(entries) = std::fs::read_dir(dir.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        *visited += 1;
        if *visited >= VISITED {
            return;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        // file_type does not follow links: a linked directory is listed, never walked.
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(dir, &child, out, visited),
            Ok(_) => out.push(child),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for rel in files {
            let p = tmp.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "# nothing\n").unwrap();
        }
        tmp
    }

    #[test]
    fn each_file_says_why_it_gave_nothing() {
        let tmp = tree(&[
            "README.md",
            "app.libsonnet",
            "sub/cm.yaml",
            "empty.yaml",
            ".github/x.yaml",
        ]);
        let listed = unrendered_files(tmp.path(), &RenderOptions::default());
        assert_eq!(
            listed,
            "README.md (not a manifest file), app.libsonnet (a Jsonnet library: only imported), \
             empty.yaml (no objects in it), sub/cm.yaml (in a subdirectory: set directory.recurse)"
        );
    }

    #[test]
    fn an_empty_directory_lists_none_and_long_lists_are_cut() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            unrendered_files(tmp.path(), &RenderOptions::default()),
            "none"
        );
        let names: Vec<String> = (0..25).map(|i| format!("f{i:02}.txt")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let tmp = tree(&refs);
        let listed = unrendered_files(tmp.path(), &RenderOptions::default());
        assert!(
            listed.ends_with("f19.txt (not a manifest file), and 5 more"),
            "{listed}"
        );
    }
}
