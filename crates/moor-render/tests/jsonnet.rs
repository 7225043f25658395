//! Jsonnet directories rendered by moor against the reference `jsonnet` (go-jsonnet) run by
//! hand on the same files, plus what Argo CD does with the output (arrays, `List`s, `null`) and
//! the checks before Jsonnet runs. Needs `jsonnet` on PATH (`source scripts/lib/tools.sh;
//! ensure_tools`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use moor_render::{JsonnetOptions, JsonnetVar, RenderOptions, input_files, render};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    common::fixture("jsonnet/repo")
}

fn var(name: &str, value: &str, code: bool) -> JsonnetVar {
    JsonnetVar {
        name: name.into(),
        value: value.into(),
        code,
    }
}

fn opts(root: &Path, jsonnet: JsonnetOptions) -> RenderOptions {
    RenderOptions {
        root: Some(root.to_path_buf()),
        jsonnet,
        ..Default::default()
    }
}

fn guestbook_opts() -> RenderOptions {
    opts(
        &repo(),
        JsonnetOptions {
            ext_vars: vec![var("env", "prod", false)],
            tlas: vec![var("replicas", "3", true), var("tier", "front", false)],
            libs: vec!["vendor/k8s".into()],
        },
    )
}

/// The objects `jsonnet` itself gives for `file` in `dir` with `o`'s options, flattened as Argo
/// CD does (an array's objects, `null`s skipped, `*List` items).
fn reference(dir: &Path, file: &str, o: &JsonnetOptions) -> Vec<Value> {
    common::require_tool("jsonnet");
    let mut cmd = Command::new("jsonnet");
    cmd.current_dir(dir);
    for (flag, vars) in [("ext", &o.ext_vars), ("tla", &o.tlas)] {
        for v in vars {
            let kind = if v.code { "code" } else { "str" };
            cmd.arg(format!("--{flag}-{kind}"))
                .arg(format!("{}={}", v.name, v.value));
        }
    }
    cmd.arg("-J").arg(".");
    for lib in &o.libs {
        cmd.arg("-J").arg(repo().join(lib));
    }
    let out = cmd.arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut objs = Vec::new();
    for v in match value {
        Value::Array(items) => items,
        other => vec![other],
    } {
        match v {
            Value::Null => {}
            Value::Object(o) if o["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                objs.extend(o["items"].as_array().unwrap().iter().cloned())
            }
            other => objs.push(other),
        }
    }
    objs
}

#[test]
fn guestbook_matches_the_jsonnet_binary_merged_with_yaml() {
    let o = guestbook_opts();
    let dir = repo().join("apps/guestbook");
    let ms = render(&dir, &o).unwrap();
    let yaml = ms.iter().find(|m| m.origin.file == "extra.yaml").unwrap();
    assert_eq!(yaml.obj["data"]["from"], "yaml");
    let from_jsonnet: Vec<Value> = (ms.iter())
        .filter(|m| m.origin.file == "main.jsonnet")
        .map(|m| m.obj.clone())
        .collect();
    assert_eq!(from_jsonnet, reference(&dir, "main.jsonnet", &o.jsonnet));
    // File order: extra.yaml, then main.jsonnet; the List's Service flattened, null dropped.
    let keys: Vec<String> = ms.iter().map(|m| m.key().to_string()).collect();
    assert_eq!(
        keys,
        [
            "ConfigMap plain-yaml",
            "ConfigMap guestbook-front-config",
            "Deployment guestbook-front",
            "Service guestbook-front",
        ]
    );
    // The ext var, the code TLA (a number, not a string) and importstr reached the objects.
    assert_eq!(ms[1].obj["data"]["env"], "prod");
    assert_eq!(ms[1].obj["data"]["banner"], "Welcome to the guestbook\n");
    assert_eq!(ms[2].obj["spec"]["replicas"], 3);
    assert_eq!(ms[1].origin.to_string(), "main.jsonnet");
}

#[test]
fn a_single_object_with_an_ext_var_as_code_matches() {
    let o = opts(
        &repo(),
        JsonnetOptions {
            ext_vars: vec![var("settings", "{ size: 2, mode: 'fast' }", true)],
            ..Default::default()
        },
    );
    let dir = repo().join("apps/single");
    let ms = render(&dir, &o).unwrap();
    let objs: Vec<Value> = ms.iter().map(|m| m.obj.clone()).collect();
    assert_eq!(objs, reference(&dir, "obj.jsonnet", &o.jsonnet));
    assert_eq!(objs[0]["data"], json!({"mode": "fast", "size": "2"}));
}

#[test]
fn jsonnet_errors_name_the_file_and_missing_values() {
    // Without its ext var, the guestbook fails in jsonnet, which says what is missing.
    let mut o = guestbook_opts();
    o.jsonnet.ext_vars.clear();
    let err = render(&repo().join("apps/guestbook"), &o)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("failed to run jsonnet main.jsonnet in "),
        "{err}"
    );
    assert!(err.contains("Undefined external variable: env"), "{err}");

    o.jsonnet_bin = Some("/nonexistent/jsonnet".into());
    o.jsonnet.ext_vars = vec![var("env", "x", false)];
    let err = render(&repo().join("apps/guestbook"), &o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "jsonnet not found at /nonexistent/jsonnet: install it or pass --jsonnet-bin"
    );
}

fn tmp_app(files: &[(&str, &str)]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = t.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    t
}

#[test]
fn output_shapes_follow_argo_cd() {
    common::require_tool("jsonnet");
    let cm = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }";
    for (text, result) in [
        ("null", Ok(0)),
        ("[]", Ok(0)),
        (
            &format!("[{cm}, null, {{ kind: 'ConfigMapList', items: [{cm}, {cm}] }}]"),
            Ok(3),
        ),
        (
            &format!("[[{cm}]]"),
            Err(
                "main.jsonnet: expected a mapping (a Kubernetes object), found a sequence \
                 inside the output's array",
            ),
        ),
        (
            "'text'",
            Err("main.jsonnet: expected a mapping (a Kubernetes object), found a string"),
        ),
        (
            "[1]",
            Err("main.jsonnet: expected a mapping (a Kubernetes object), found a number"),
        ),
    ] {
        let t = tmp_app(&[
            ("main.jsonnet", text),
            ("lib.libsonnet", "error 'never evaluated'"),
        ]);
        let got = render(t.path(), &opts(t.path(), Default::default()));
        match (got, result) {
            (Ok(ms), Ok(n)) => assert_eq!(ms.len(), n, "{text}"),
            (Err(e), Err(msg)) => assert_eq!(e.to_string(), msg, "{text}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn hostile_imports_are_refused_before_jsonnet_runs() {
    common::require_tool("jsonnet");
    let outside = tmp_app(&[("token", "MOOR-SECRET-MARKER")]);
    let token = outside.path().join("token");
    let t = tmp_app(&[
        (
            "app/main.jsonnet",
            &format!("{{}}\n+ {{ a: importstr '{}' }}", token.display()),
        ),
        ("app/ok.libsonnet", "{}"),
    ]);
    let root = t.path();
    let err = render(&root.join("app"), &opts(root, Default::default())).unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!(
            "app/main.jsonnet:2: importstr {:?} leaves the repository",
            token.display().to_string()
        )
    );
    // A library path leaving the checkout is refused as well.
    std::fs::write(root.join("app/main.jsonnet"), "import 'ok.libsonnet'").unwrap();
    let libs = JsonnetOptions {
        libs: vec!["../elsewhere".into()],
        ..Default::default()
    };
    let err = render(&root.join("app"), &opts(root, libs)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "jsonnet libs entry \"../elsewhere\" leaves the repository"
    );
}

#[test]
fn imported_library_files_are_render_inputs() {
    let o = guestbook_opts();
    let files: Vec<String> = input_files(&repo().join("apps/guestbook"), &o)
        .unwrap()
        .into_iter()
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        files.contains(&"vendor/k8s/k.libsonnet".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"apps/guestbook/banner.txt".to_string()),
        "{files:?}"
    );
    assert!(
        !files.iter().any(|f| f.starts_with("apps/single")),
        "{files:?}"
    );
}
