//! Applications in end-to-end tests: create them, read them, wait for their status.

use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::get;

pub fn app_ar(group: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, "v1alpha1", "Application"),
        "applications",
    )
}

/// Creates or updates a moor.dev Application (server-side apply).
pub async fn apply_app(client: &Client, ns: &str, name: &str, spec: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &app_ar("moor.dev"));
    let obj = json!({"apiVersion": "moor.dev/v1alpha1", "kind": "Application", "metadata": {"name": name, "namespace": ns}, "spec": spec});
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .expect("apply Application");
}

/// The moor.dev Application `ns/name` as JSON; None when it does not exist.
pub async fn get_app(client: &Client, ns: &str, name: &str) -> Option<Value> {
    get(client, "moor.dev/v1alpha1", "Application", Some(ns), name).await
}

/// Polls the Application until `f` holds, or panics after `secs` naming `what`.
pub async fn wait_app(
    client: &Client,
    ns: &str,
    name: &str,
    what: &str,
    secs: u64,
    f: impl Fn(&Value) -> bool,
) -> Value {
    moor_testkit::eventually(
        &format!("Application {ns}/{name} {what}"),
        Duration::from_secs(secs),
        || async {
            let a = get_app(client, ns, name).await?;
            f(&a).then_some(a)
        },
    )
    .await
}

/// A spec syncing `path` of `url` (branch main) into `dest_ns` of the controller's own cluster.
pub fn spec(url: &str, path: &str, dest_ns: &str, automated: Value) -> Value {
    json!({
        "source": {"repoURL": url, "targetRevision": "main", "path": path},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": dest_ns},
        "syncPolicy": {"automated": automated}
    })
}

pub fn synced_healthy(a: &Value) -> bool {
    a["status"]["sync"]["status"] == "Synced" && a["status"]["health"]["status"] == "Healthy"
}

pub fn synced_at(a: &Value, commit: &str) -> bool {
    a["status"]["sync"]["status"] == "Synced" && a["status"]["sync"]["revision"] == commit
}

/// Every condition message of the app, joined by newlines.
pub fn conditions(a: &Value) -> String {
    a["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["message"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
