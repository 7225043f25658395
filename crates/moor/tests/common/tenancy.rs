//! Helpers of the multi-tenancy tests: objects applied as the test's admin, projects, exactly
//! named namespaces, app conditions, the second cluster registered as a Secret, deploying
//! service accounts, and kubectl for RBAC checks.

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use moor_testkit::{GitServer, TestNamespace};
use serde_json::{Value, json};

use super::apps::{apply_app, wait_app};
use super::get;

pub const HOME: &str = "https://kubernetes.default.svc";

pub fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value:?}\n")
}

/// Creates (or updates) an object from JSON, server-side, as the test's admin.
pub async fn apply(client: &Client, obj: Value) {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = obj["kind"].as_str().unwrap();
    let (ar, caps) = kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(g, v, kind))
        .await
        .unwrap_or_else(|e| panic!("{kind} is not served: {e}"));
    let name = obj["metadata"]["name"].as_str().unwrap();
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
}

pub async fn apply_project(client: &Client, group: &str, ns: &str, name: &str, spec: Value) {
    // Projects are made before a controller starts (which installs the CRDs): on a fresh
    // cluster the AppProject CRD must be installed here first.
    super::controller::ensure_crds();
    apply(
        client,
        json!({"apiVersion": format!("{group}/v1alpha1"), "kind": "AppProject",
               "metadata": {"name": name, "namespace": ns}, "spec": spec}),
    )
    .await;
}

/// A namespace with exactly this name (projects match namespaces by pattern), deleted on drop.
pub async fn namespace(client: &Client, name: &str) -> TestNamespace {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": {"moor.dev/test": "true"}}}),
    )
    .await;
    TestNamespace {
        name: name.to_string(),
    }
}

/// The message of the app's condition of `type_`, if it has one.
pub fn condition(a: &Value, type_: &str) -> Option<String> {
    a["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

pub async fn wait_condition(
    client: &Client,
    ns: &str,
    app: &str,
    type_: &str,
    needle: &str,
) -> String {
    let a = wait_app(
        client,
        ns,
        app,
        &format!("to have a {type_} condition with {needle:?}"),
        90,
        |a| condition(a, type_).is_some_and(|m| m.contains(needle)),
    )
    .await;
    condition(&a, type_).unwrap()
}

/// Applies app `name` and waits for its condition `type_` to mention `needle`; the message.
pub async fn apply_app_until(
    client: &Client,
    ns: &str,
    name: &str,
    spec: Value,
    type_: &str,
    needle: &str,
) -> String {
    apply_app(client, ns, name, spec).await;
    wait_condition(client, ns, name, type_, needle).await
}

/// A git server with repository `repo` whose `app/` holds one ConfigMap, `settings`, of
/// `value`: the source of most tenancy tests.
pub fn settings_repo(repo: &str, value: &str) -> GitServer {
    super::git_repo(repo, &[("app/settings.yaml", &cm("settings", value))]).0
}

pub async fn configmap_value(client: &Client, ns: &str, name: &str) -> Option<String> {
    let o = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    o["data"]["k"].as_str().map(str::to_string)
}

pub async fn second_cluster_client() -> Client {
    let path = moor_testkit::second_kubeconfig_path();
    Client::try_from(moor_testkit::kube_config(&path).await).unwrap()
}

/// Registers the second test cluster as cluster Secret `second` in `ns`.
pub async fn register_second_cluster(client: &Client, ns: &str, project: Option<&str>) {
    let kubeconfig = std::fs::read_to_string(moor_testkit::second_kubeconfig_path()).unwrap();
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    let mut data = json!({"name": "second", "server": server, "config": kubeconfig});
    if let Some(p) = project {
        data["project"] = json!(p);
    }
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "cluster-second", "namespace": ns,
                            "labels": {"moor.dev/secret-type": "cluster"}},
               "stringData": data}),
    )
    .await;
}

/// A service account in `ns` that may manage only ConfigMaps and Deployments in `target`.
pub async fn deployer(client: &Client, ns: &str, name: &str, target: &str) {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": name, "namespace": ns}}),
    )
    .await;
    apply(
        client,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": name, "namespace": target},
               "rules": [
                   {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]},
                   {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]}),
    )
    .await;
    apply(
        client,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": format!("{ns}-{name}"), "namespace": target},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]}),
    )
    .await;
}

pub const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n";

pub fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write as _;
    moor_testkit::kubeconfig_path();
    let mut child = std::process::Command::new("kubectl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `kubectl auth can-i --list` rows (resource and verbs) that are not what every authenticated
/// user gets (discovery URLs, self reviews).
pub fn granted(user: &str, namespace: &str) -> std::collections::BTreeSet<String> {
    let out = kubectl(
        &["auth", "can-i", "--list", "--as", user, "-n", namespace],
        None,
    );
    out.lines()
        .skip(1)
        .filter(|l| !l.starts_with(' ') && !l.starts_with("selfsubject"))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let verbs = l[l.rfind('[').unwrap()..].to_string();
            format!("{} {verbs}", cols[0])
        })
        .collect()
}

/// `to` relative to `from` (kustomize takes only relative paths to other kustomizations).
pub fn pathdiff(to: &std::path::Path, from: &std::path::Path) -> String {
    let (t, f): (Vec<_>, Vec<_>) = (to.components().collect(), from.components().collect());
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}
