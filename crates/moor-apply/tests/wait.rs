//! Waits on the local control plane: each wave is healthy before the next is applied (a
//! Deployment whose pods cannot be scheduled until the test lets them holds the next wave back),
//! and a wait that times out names the object it waited for.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{configmap, get, manifests, opts, setup};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use moor_apply::SyncError;
use moor_testkit::{eventually, unique_name};
use serde_json::json;

/// A Deployment in `wave` whose pods only fit on a node labelled `label: "yes"`.
fn deployment(name: &str, wave: i64, label: &str) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations: {{moor.dev/sync-wave: \"{wave}\"}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      nodeSelector: {{{label}: \"yes\"}}
      containers: [{{name: web, image: nginx:1.27}}]
"
    )
}

/// Labels (or, with `None`, unlabels) one kwok node of the shared cluster with a label only this test uses.
async fn label_a_node(client: &kube::Client, label: &str, value: Option<&str>) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = nodes
        .list(&ListParams::default().labels("type=kwok"))
        .await
        .expect("list nodes")
        .items
        .into_iter()
        .next()
        .expect("the test cluster has a kwok node");
    let name = node.metadata.name.unwrap();
    nodes
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": {label: value}}})),
        )
        .await
        .expect("label the node");
}

#[tokio::test]
async fn each_wave_is_healthy_before_the_next_is_applied() {
    let (client, engine, ns, app) = setup("wait-waves").await;
    let label = format!("moor-test.dev/{}", unique_name("w"));
    let yaml = [
        deployment("first", 0, &label),
        configmap(
            "second",
            "x",
            "  annotations: {moor.dev/sync-wave: \"1\"}\n",
        ),
    ]
    .concat();

    let applied: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let record = applied.clone();
    let o = opts(&app, &ns.name);
    let sync = tokio::spawn(async move {
        engine
            .sync(manifests(&yaml), &o, &|r| {
                record
                    .lock()
                    .unwrap()
                    .push((r.key.name.clone(), Instant::now()))
            })
            .await
    });

    // Wave 0 is applied and its pod exists, unschedulable: the Deployment cannot be Available.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    eventually(
        "the pod of Deployment first to be created (and Pending)",
        Duration::from_secs(60),
        || async {
            let list = pods
                .list(&ListParams::default().labels("app=first"))
                .await
                .ok()?;
            list.items
                .iter()
                .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"))
                .then_some(())
        },
    )
    .await;
    assert!(
        get(&client, "v1", "ConfigMap", &ns.name, "second")
            .await
            .is_none(),
        "wave 1 was applied while wave 0's Deployment could not be Available"
    );

    // Let the pod run: from here on the Deployment may become Available, and only then wave 1.
    let released = Instant::now();
    label_a_node(&client, &label, Some("yes")).await;
    let result = tokio::time::timeout(Duration::from_secs(150), sync).await;
    label_a_node(&client, &label, None).await;
    let set = result
        .expect("the sync finished")
        .expect("the task ran")
        .expect("the sync succeeded");
    assert_eq!(set.objects.len(), 2);

    let applied = applied.lock().unwrap().clone();
    let at = |name: &str| {
        applied
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not applied: {applied:?}"))
            .1
    };
    assert!(at("first") < released);
    assert!(
        at("second") > released,
        "wave 1 was applied before wave 0's Deployment could be Available"
    );
    let d = get(&client, "apps/v1", "Deployment", &ns.name, "first")
        .await
        .unwrap();
    let available = d["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True")
    });
    assert!(
        available,
        "wave 1 was applied but wave 0 is not Available: {}",
        d["status"]
    );
    ns.delete(&client).await;
}

#[tokio::test]
async fn a_wait_that_times_out_names_the_object_and_holds_back_later_waves() {
    let (client, engine, ns, app) = setup("wait-timeout").await;
    // No node carries this label: the Deployment never becomes Available.
    let label = format!("moor-test.dev/{}", unique_name("never"));
    let yaml = [
        deployment("stuck", 0, &label),
        configmap("later", "x", "  annotations: {moor.dev/sync-wave: \"1\"}\n"),
    ]
    .concat();
    let mut o = opts(&app, &ns.name);
    o.timeout = Duration::from_secs(3);
    let err = engine
        .sync(manifests(&yaml), &o, &|_| {})
        .await
        .expect_err("the wave can never become healthy");
    assert!(matches!(err, SyncError::Timeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("Deployment {}/stuck", ns.name)),
        "{text}"
    );
    assert!(text.contains("timed out after 3s"), "{text}");
    assert!(
        get(&client, "v1", "ConfigMap", &ns.name, "later")
            .await
            .is_none(),
        "a later wave was applied after the timeout"
    );
    ns.delete(&client).await;
}

#[tokio::test]
async fn sync_with_wait_returns_once_every_object_is_healthy() {
    let (client, engine, ns, app) = setup("wait-all").await;
    let label = format!("moor-test.dev/{}", unique_name("all"));
    label_a_node(&client, &label, Some("yes")).await;
    let mut o = opts(&app, &ns.name);
    o.wait = true;
    let result = engine
        .sync(manifests(&deployment("web", 0, &label)), &o, &|_| {})
        .await;
    label_a_node(&client, &label, None).await;
    result.expect("sync --wait");
    let d = get(&client, "apps/v1", "Deployment", &ns.name, "web")
        .await
        .unwrap();
    assert_eq!(
        d["status"]["availableReplicas"], 1,
        "returned before the Deployment was Available: {}",
        d["status"]
    );
    ns.delete(&client).await;
}
