//! The kustomize conformance corpus (shared/conformance/kustomize, next to the repo): our
//! kustomize building block must print exactly what the reference kustomize v5.5.0 printed.

mod common;

use std::path::{Path, PathBuf};

use moor_render::{RenderOptions, kustomize_build, parse_manifests};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/kustomize/cases")
}

/// `build` of a case's meta.json.
fn build_dir(meta: &str) -> String {
    let meta: serde_json::Value = serde_json::from_str(meta).expect("meta.json is JSON");
    meta["build"]
        .as_str()
        .expect("meta.json has build")
        .to_string()
}

/// The first line where `got` and `want` differ, for a readable failure.
fn first_difference(got: &str, want: &str) -> String {
    let (mut g, mut w) = (got.lines(), want.lines());
    for n in 1.. {
        match (g.next(), w.next()) {
            (None, None) => return "outputs differ only in line endings".into(),
            (a, b) if a != b => return format!("line {n}: got {a:?}, want {b:?}"),
            _ => {}
        }
    }
    unreachable!()
}

#[test]
fn kustomize_conformance_corpus() {
    common::require_tool("kustomize");
    let root = corpus();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("conformance corpus {}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", root.display());

    let mut failures = Vec::new();
    for case in &cases {
        // Each case is a repository: overlays reach their bases with `..` inside it.
        let opts = RenderOptions {
            root: Some(case.clone()),
            ..RenderOptions::default()
        };
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let build = build_dir(&std::fs::read_to_string(case.join("meta.json")).unwrap());
        let want = std::fs::read_to_string(case.join("expected.yaml")).unwrap();
        match kustomize_build(&case.join(&build), &opts) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(got) if got != want => {
                failures.push(format!("{name}: {}", first_difference(&got, &want)))
            }
            // Byte-identical; it must also parse into objects like any render.
            Ok(got) => {
                if let Err(e) = parse_manifests(&got, "expected.yaml") {
                    failures.push(format!("{name}: output does not parse: {e}"));
                }
            }
        }
    }
    let passed = cases.len() - failures.len();
    println!(
        "kustomize conformance: {passed}/{} cases passed",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} kustomize conformance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
