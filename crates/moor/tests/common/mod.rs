//! Shared helpers of the end-to-end tests: run the real `moor` binary against the local control
//! plane (scripts/test) and the real git servers of moor-testkit.
#![allow(dead_code)]

pub mod apps;
pub mod controller;
pub mod tenancy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// This run, after asserting that `moor ARGS` exited 0 (its output shown when it did not).
    pub fn expect_ok(self, args: &[&str]) -> Run {
        assert_eq!(
            self.code, 0,
            "moor {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `moor` with `args` (and extra env), against the test cluster's KUBECONFIG.
pub fn moor(args: &[&str], env: &[(&str, &str)]) -> Run {
    moor_testkit::kubeconfig_path();
    Command::new(env!("CARGO_BIN_EXE_moor"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("failed to run moor")
        .into()
}

/// `VERB --repo REPO --app APP --namespace NS EXTRA...`: how the tests render, diff and sync a
/// source of their own.
pub fn repo_args<'a>(
    verb: &'a str,
    repo: &'a str,
    app: &'a str,
    ns: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    [
        &[verb, "--repo", repo, "--app", app, "--namespace", ns][..],
        extra,
    ]
    .concat()
}

/// Like `moor` but panics unless it exits 0.
pub fn moor_ok(args: &[&str], env: &[(&str, &str)]) -> Run {
    moor(args, env).expect_ok(args)
}

/// A copy of examples/seed whose overlay namespaces carry `suffix`, so parallel tests don't meet.
pub fn seed_copy(suffix: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed");
    let dst = tempfile::tempdir().unwrap();
    copy_dir(&src, dst.path());
    for env in ["development", "staging", "production"] {
        for file in ["kustomization.yaml", "namespace.yaml"] {
            let p = dst.path().join("overlays").join(env).join(file);
            let text = std::fs::read_to_string(&p).unwrap();
            let text = text
                .replace(
                    &format!("namespace: {env}"),
                    &format!("namespace: {env}-{suffix}"),
                )
                .replace(&format!("name: {env}"), &format!("name: {env}-{suffix}"));
            std::fs::write(&p, text).unwrap();
        }
    }
    dst
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

pub fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

/// A git server with one repository, `name`, holding `files` (path, text): the source of most
/// tests' apps. The server must outlive the test's use of the repository.
pub fn git_repo(
    name: &str,
    files: &[(&str, &str)],
) -> (moor_testkit::GitServer, moor_testkit::Repo) {
    let src = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        write(src.path(), rel, text);
    }
    let server = moor_testkit::GitServer::start();
    let repo = server.create_repo(name, src.path());
    (server, repo)
}

/// Any object by apiVersion/kind, as JSON; None when it does not exist.
pub async fn get(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
    name: &str,
) -> Option<Value> {
    let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (ar, _) = kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(g, v, kind))
        .await
        .expect("kind is served");
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ApiResource { ..ar }),
    };
    api.get_opt(name)
        .await
        .expect("get")
        .map(|o| serde_json::to_value(o).unwrap())
}

/// The change `moor sync -o json` reports for the object named `name`, if it reports one.
pub fn change_of(set: &Value, name: &str) -> Option<Value> {
    set["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["name"] == name)
        .map(|o| o["change"].clone())
}

pub fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A namespaced `Widget` CRD in `group` that keeps any fields: a custom kind no controller
/// looks after, for tests of custom resources (prune, health rules).
pub fn widget_crd(group: &str) -> String {
    widget_crd_with_schema(
        group,
        "{type: object, x-kubernetes-preserve-unknown-fields: true}",
    )
}

/// The `Widget` CRD in `group` with `schema` (one line of YAML flow style) as its OpenAPI schema.
pub fn widget_crd_with_schema(group: &str, schema: &str) -> String {
    format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {schema}
"#
    )
}
