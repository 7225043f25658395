//! Shared helpers of moor-apply's library tests: an [`Engine`] on the local control plane
//! (scripts/test), manifests parsed from YAML written in the test, and reads of live objects.
#![allow(dead_code)] // each test file uses its own subset

use std::sync::{Arc, Mutex};

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_apply::{ChangeSet, Engine, ObjectResult, SyncOptions};
use moor_testkit::{TestNamespace, unique_name};
use moor_types::Manifest;
use serde_json::Value;

/// A client of the test cluster (checked to be the one scripts/test started) and an engine on it.
pub async fn engine() -> (Client, Engine) {
    let client = moor_testkit::client().await;
    (client.clone(), Engine::new(client))
}

/// What most tests start from: a client and an engine on the test cluster, a fresh namespace
/// and an app name, both named after `prefix`.
pub async fn setup(prefix: &str) -> (Client, Engine, TestNamespace, String) {
    let (client, engine) = engine().await;
    let ns = TestNamespace::create(&client, prefix).await;
    (client, engine, ns, unique_name(prefix))
}

/// `Engine::sync` of `yaml` with `o`, without progress, that must succeed (`what` names it
/// when it does not).
pub async fn sync_ok(engine: &Engine, yaml: &str, o: &SyncOptions, what: &str) -> ChangeSet {
    engine.sync(manifests(yaml), o, &|_| {}).await.expect(what)
}

/// An engine on the test cluster acting as `user` (impersonated, no roles bound): every request
/// but discovery is forbidden.
pub async fn engine_as(user: &str) -> Engine {
    let mut config = moor_testkit::kube_config(&moor_testkit::kubeconfig_path()).await;
    config.auth_info.impersonate = Some(user.to_string());
    Engine::new(Client::try_from(config).expect("a kube client"))
}

/// Manifests parsed from `yaml` as the renderers do (file name `test.yaml` in errors).
pub fn manifests(yaml: &str) -> Vec<Manifest> {
    moor_render::parse_manifests(yaml, "test.yaml").expect("the test's YAML parses")
}

/// Options for app `app` in namespace `ns`, with a generous bound on waits (loaded CI machine).
pub fn opts(app: &str, ns: &str) -> SyncOptions {
    let mut o = SyncOptions::new(app, ns);
    o.timeout = std::time::Duration::from_secs(120);
    o
}

/// A ConfigMap named `name` holding `key: value`, with extra metadata lines (already indented).
pub fn configmap(name: &str, value: &str, extra_metadata: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra_metadata}data:\n  key: {value:?}\n"
    )
}

fn resource(api_version: &str, kind: &str) -> ApiResource {
    let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&GroupVersionKind::gvk(g, v, kind))
}

/// The live object as JSON; None when it does not exist.
pub async fn get(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &resource(api_version, kind));
    api.get_opt(name)
        .await
        .unwrap_or_else(|e| panic!("failed to read {kind} {ns}/{name}: {e}"))
        .map(|o| serde_json::to_value(o).expect("object serializes"))
}

/// The resourceVersion of a ConfigMap; panics when it does not exist.
pub async fn configmap_rv(client: &Client, ns: &str, name: &str) -> String {
    let cm = get(client, "v1", "ConfigMap", ns, name)
        .await
        .unwrap_or_else(|| panic!("ConfigMap {ns}/{name} does not exist"));
    cm["metadata"]["resourceVersion"]
        .as_str()
        .expect("a resourceVersion")
        .to_string()
}

/// Merge-patches a live object as another field manager would (a person with kubectl).
pub async fn merge_patch(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
    patch: Value,
) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &resource(api_version, kind));
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("failed to patch {kind} {ns}/{name}: {e}"));
}

/// A progress callback recording every result it is given, in order.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<ObjectResult>>>);

impl Recorder {
    pub fn record(&self, r: &ObjectResult) {
        self.0.lock().unwrap().push(r.clone());
    }

    pub fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.key.name.clone())
            .collect()
    }
}

/// The change reported for the object named `name` (panics when none is).
pub fn change_of(objects: &[ObjectResult], name: &str) -> moor_types::Change {
    objects
        .iter()
        .find(|o| o.key.name == name)
        .unwrap_or_else(|| panic!("no result for {name} in {objects:?}"))
        .change
}
