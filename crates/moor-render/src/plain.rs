//! The plain renderer: YAML and JSON files of a directory, as they are.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use moor_types::{Manifest, Origin};

use crate::parse::{Doc, Syntax, docs_to_manifests, json_docs, yaml_docs};
use crate::{RenderError, RenderOptions, Renderer};

/// Reads `.yaml`, `.yml` and `.json` files and evaluates `.jsonnet` files (see
/// `jsonnet.rs`) in path order (subdirectories only with `opts.recurse`), filtered by
/// `opts.include`/`opts.exclude` globs on the path relative to the directory (`*` stays within
/// one directory, `**` crosses them). Hidden files and directories are skipped: they hold
/// tooling config (`.git`, `.github`, `.pre-commit-config.yaml`).
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainRenderer;

impl Renderer for PlainRenderer {
    fn name(&self) -> &str {
        "plain"
    }

    /// Symlinks leaving `opts.root` are refused before any file is read; reading stops once
    /// the files pass `opts.max_bytes` in all.
    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        // Also checks every Jsonnet import before any `jsonnet` runs.
        crate::input_files(dir, opts)?;
        let mut out = Vec::new();
        let mut budget = opts.max_bytes;
        for rel in selected_files(dir, opts)? {
            if crate::jsonnet::is_jsonnet_file(&rel) {
                out.extend(crate::jsonnet::render_file(dir, &rel, opts, &mut budget)?);
            } else {
                out.extend(render_file(dir, &rel, &mut budget, opts.max_bytes)?);
            }
        }
        Ok(out)
    }
}

/// The files of `dir` the plain renderer reads or evaluates, relative to it, sorted.
pub(crate) fn selected_files(dir: &Path, opts: &RenderOptions) -> Result<Vec<String>, RenderError> {
    let include = glob_set(&opts.include)?;
    let exclude = glob_set(&opts.exclude)?;
    let mut files = Vec::new();
    collect(dir, "", opts.recurse, &mut files)?;
    files
        .retain(|rel| (opts.include.is_empty() || include.is_match(rel)) && !exclude.is_match(rel));
    files.sort();
    Ok(files)
}

/// Argo CD's `directory.include`/`exclude` string as globs: one glob, `{a,b}` alternatives (kept
/// whole: the glob matcher expands braces, nested ones too), or globs separated by commas
/// outside braces.
pub fn split_globs(s: Option<&str>) -> Vec<String> {
    let Some(s) = s else { return vec![] };
    let mut out = vec![];
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect()
}

fn glob_set(patterns: &[String]) -> Result<GlobSet, RenderError> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(glob(p)?);
    }
    set.build().map_err(|e| RenderError::Glob {
        pattern: patterns.join(", "),
        cause: e.to_string(),
    })
}

fn glob(pattern: &str) -> Result<Glob, RenderError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| RenderError::Glob {
            pattern: pattern.to_string(),
            cause: e.kind().to_string(),
        })
}

fn is_manifest_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".yaml", ".yml", ".json", ".jsonnet"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Collects manifest files under `dir/rel` as `/`-separated paths relative to `dir`.
/// Symlinked files are read; symlinked directories are not followed, so links cannot loop.
fn collect(dir: &Path, rel: &str, recurse: bool, out: &mut Vec<String>) -> Result<(), RenderError> {
    let here = dir.join(rel);
    let io = |source| RenderError::Io {
        path: here.clone(),
        source,
    };
    for entry in std::fs::read_dir(&here).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8: cannot be matched by globs or named in errors
        };
        if name.starts_with('.') {
            continue;
        }
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let file_type = entry.file_type().map_err(io)?;
        if file_type.is_dir() {
            if recurse {
                collect(dir, &child, recurse, out)?;
            }
        } else if is_manifest_file(&name) && entry.path().is_file() {
            out.push(child);
        }
    }
    Ok(())
}

/// Parses one file, counting its bytes against `budget` (left of `limit`): a file is read no
/// further than the budget, so a huge one costs no more memory than the limit.
fn render_file(
    dir: &Path,
    rel: &str,
    budget: &mut u64,
    limit: u64,
) -> Result<Vec<Manifest>, RenderError> {
    use std::io::Read;
    let path = dir.join(rel);
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&path)
        .and_then(|f| f.take(budget.saturating_add(1)).read_to_end(&mut bytes));
    read.map_err(|source| RenderError::Io { path, source })?;
    *budget = budget
        .checked_sub(bytes.len() as u64)
        .ok_or_else(|| RenderError::TooLarge {
            what: format!("{rel} with the files read before it"),
            limit,
        })?;
    let parse_err = |s: Syntax| RenderError::Parse {
        file: rel.to_string(),
        line: s.line,
        cause: s.cause,
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        parse_err(Syntax {
            line: Some(
                bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1,
            ),
            cause: "not valid UTF-8".to_string(),
        })
    })?;
    let docs: Vec<Doc> = if rel.to_ascii_lowercase().ends_with(".json") {
        json_docs(text)
    } else {
        yaml_docs(text)
    }
    .map_err(parse_err)?;
    docs_to_manifests(docs, |line| Origin {
        file: rel.to_string(),
        line: Some(line),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = tmp.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        tmp
    }

    fn cm(name: &str) -> String {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n")
    }

    fn render(dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        PlainRenderer.render(dir, opts)
    }

    /// `name @ file:line` of each manifest, in order.
    fn summary(ms: &[Manifest]) -> Vec<String> {
        ms.iter()
            .map(|m| format!("{} @ {}", m.name(), m.origin))
            .collect()
    }

    #[test]
    fn multi_document_stream_skips_empty_documents() {
        let text = format!(
            "---\n{}---\n\n---\n# comment only\n---\n{}...\n",
            cm("a"),
            cm("b")
        );
        let tmp = tree(&[("all.yaml", &text)]);
        let ms = render(tmp.path(), &RenderOptions::default()).unwrap();
        assert_eq!(summary(&ms), ["a @ all.yaml:2", "b @ all.yaml:11"]);
    }

    #[test]
    fn list_kinds_are_flattened() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  \
                    metadata: {name: a}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n";
        let tmp = tree(&[("list.yaml", text)]);
        let ms = render(tmp.path(), &RenderOptions::default()).unwrap();
        assert_eq!(summary(&ms), ["a @ list.yaml:1", "b @ list.yaml:1"]);
        assert_eq!(ms[1].kind(), "Secret");
    }

    #[test]
    fn files_sorted_by_path_and_recursion_is_opt_in() {
        let tmp = tree(&[
            ("b.yml", &cm("b")),
            ("a.yaml", &cm("a")),
            ("sub/c.yaml", &cm("c")),
            (
                "sub/deeper/d.json",
                r#"{"kind": "ConfigMap", "metadata": {"name": "d"}}"#,
            ),
            ("README.md", "# not yaml"),
            (".git/config.yaml", "not: [parsed"),
            (".github/workflows/ci.yml", "not: [parsed"),
            (".hidden.yaml", "not: [parsed"),
        ]);
        let flat = render(tmp.path(), &RenderOptions::default()).unwrap();
        assert_eq!(summary(&flat), ["a @ a.yaml:1", "b @ b.yml:1"]);
        let opts = RenderOptions {
            recurse: true,
            ..Default::default()
        };
        let deep = render(tmp.path(), &opts).unwrap();
        assert_eq!(
            summary(&deep),
            [
                "a @ a.yaml:1",
                "b @ b.yml:1",
                "c @ sub/c.yaml:1",
                "d @ sub/deeper/d.json:1"
            ]
        );
    }

    #[test]
    fn argo_include_strings_split_on_commas_outside_braces_only() {
        assert_eq!(split_globs(None), Vec::<String>::new());
        assert_eq!(split_globs(Some("")), Vec::<String>::new());
        assert_eq!(split_globs(Some("*.yaml")), ["*.yaml"]);
        assert_eq!(split_globs(Some("a.yaml, b/*.yml")), ["a.yaml", "b/*.yml"]);
        assert_eq!(
            split_globs(Some("{a.yaml,b/*},c.json")),
            ["{a.yaml,b/*}", "c.json"]
        );
        // Nested alternatives stay one glob (splitting inside them broke the pattern).
        assert_eq!(
            split_globs(Some("{app/{x,y}.yaml,crds/*}")),
            ["{app/{x,y}.yaml,crds/*}"]
        );
    }

    #[test]
    fn argo_brace_alternatives_select_files() {
        let tmp = tree(&[
            ("app.yaml", &cm("app")),
            ("app.test.yaml", &cm("test")),
            ("crds/crd.yaml", &cm("crd")),
            ("other/x.yaml", &cm("x")),
        ]);
        let names = |include: &str| -> Vec<String> {
            let o = RenderOptions {
                recurse: true,
                include: split_globs(Some(include)),
                ..Default::default()
            };
            let ms = render(tmp.path(), &o).unwrap();
            ms.iter().map(|m| m.name().to_string()).collect()
        };
        assert_eq!(names("{app.yaml,crds/*}"), ["app", "crd"]);
        assert_eq!(names("{app.{yaml,json},other/*}"), ["app", "x"]);
    }

    #[test]
    fn include_and_exclude_match_the_relative_path() {
        let tmp = tree(&[
            ("app.yaml", &cm("app")),
            ("app.test.yaml", &cm("test")),
            ("crds/crd.yaml", &cm("crd")),
            ("other/x.yaml", &cm("x")),
        ]);
        let opts = |include: &[&str], exclude: &[&str]| RenderOptions {
            recurse: true,
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let names = |o: RenderOptions| -> Vec<String> {
            let ms = render(tmp.path(), &o).unwrap();
            ms.iter().map(|m| m.name().to_string()).collect()
        };
        assert_eq!(names(opts(&["*.yaml"], &[])), ["test", "app"]);
        assert_eq!(
            names(opts(&["*.yaml", "crds/**"], &["*.test.yaml"])),
            ["app", "crd"]
        );
        assert_eq!(
            names(opts(&[], &["other/**", "**/*.test.yaml"])),
            ["app", "crd"]
        );
        let err = render(tmp.path(), &opts(&["a[b"], &[])).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid glob \"a[b\": "),
            "{err}"
        );
    }

    #[test]
    fn bad_yaml_error_names_file_and_line() {
        let text = format!(
            "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n",
            cm("a")
        );
        let tmp = tree(&[("a.yaml", &cm("ok")), ("web/bad.yaml", &text)]);
        let opts = RenderOptions {
            recurse: true,
            ..Default::default()
        };
        let err = render(tmp.path(), &opts).unwrap_err();
        let RenderError::Parse { file, line, .. } = &err else {
            panic!("expected a parse error, got {err}")
        };
        assert_eq!((file.as_str(), *line), ("web/bad.yaml", Some(9)));
        assert!(
            err.to_string()
                .starts_with("failed to parse web/bad.yaml:9: "),
            "{err}"
        );
    }

    #[test]
    fn scalar_or_sequence_document_is_an_error() {
        let tmp = tree(&[("s.yaml", &format!("{}---\njust a string\n", cm("a")))]);
        let err = render(tmp.path(), &RenderOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.yaml:6: expected a mapping (a Kubernetes object), found a string"
        );
        let tmp = tree(&[("q.yaml", "- a\n- b\n")]);
        let err = render(tmp.path(), &RenderOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("q.yaml:1: "), "{err}");
        assert!(err.to_string().ends_with("found a sequence"), "{err}");
    }

    #[test]
    fn json_files_hold_an_object_or_a_list() {
        let tmp = tree(&[
            (
                "a.json",
                r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}"#,
            ),
            (
                "b.json",
                "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    \
                 {\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"b\"}},\n    \
                 {\"kind\": \"Secret\", \"metadata\": {\"name\": \"c\"}}\n  ]\n}\n",
            ),
        ]);
        let ms = render(tmp.path(), &RenderOptions::default()).unwrap();
        assert_eq!(
            summary(&ms),
            ["a @ a.json:1", "b @ b.json:1", "c @ b.json:1"]
        );
        assert_eq!(ms[0].obj["metadata"]["name"], "a");

        let tmp = tree(&[("bad.json", "{\n  \"kind\": \"ConfigMap\",\n  oops\n}\n")]);
        let err = render(tmp.path(), &RenderOptions::default()).unwrap_err();
        assert!(
            err.to_string().starts_with("failed to parse bad.json:3: "),
            "{err}"
        );
        let tmp = tree(&[("arr.json", "[1, 2]")]);
        let err = render(tmp.path(), &RenderOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "arr.json:1: expected a mapping (a Kubernetes object), found a sequence"
        );
    }

    #[test]
    fn empty_directory_renders_nothing_and_missing_one_is_an_error() {
        let tmp = tree(&[]);
        assert!(
            render(tmp.path(), &RenderOptions::default())
                .unwrap()
                .is_empty()
        );
        let missing: PathBuf = tmp.path().join("nope");
        let err = render(&missing, &RenderOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("failed to read "), "{err}");
    }
}
