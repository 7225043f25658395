//! End to end: `ignoreDifferences` with self-heal, as an HPA owning a Deployment's replicas needs.

mod common;

use std::time::Duration;

use common::apps::{apply_app, get_app, spec, synced_at, wait_app};
use common::controller::Controller;
use common::{get, moor, write};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::{GitServer, TestNamespace, client, unique_name};
use serde_json::json;

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  \
         selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    \
         spec:\n      containers:\n        - name: web\n          image: {image}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn ignored_replicas_are_neither_out_of_sync_nor_healed_nor_overwritten_by_a_sync() {
    let rule = json!({"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]});
    replicas_scaled_by_another_manager_are_left_alone(rule).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_of_an_ignored_field_manager_are_left_alone() {
    let rule = json!({"group": "apps", "kind": "Deployment", "managedFieldsManagers": [SCALER]});
    replicas_scaled_by_another_manager_are_left_alone(rule).await;
}

/// The field manager of the test's stand-in for an autoscaler.
const SCALER: &str = "autoscaler-sim";

/// An app ignoring `rule` (selfHeal, RespectIgnoreDifferences): scaling by `SCALER` is not
/// healed nor OutOfSync nor diffed, and a later sync of a new image keeps the replicas.
async fn replicas_scaled_by_another_manager_are_left_alone(rule: serde_json::Value) {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "ign").await;
    let dest = TestNamespace::create(&client, "ign-dest").await;
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/web.yaml", &deployment("nginx:1.0"));
    let server = GitServer::start();
    let repo = server.create_repo(&unique_name("ign"), src.path());
    // Polled every 2 s (below the default floor, so the floor is lowered too).
    let _ctl = Controller::start(
        &apps_ns.name,
        &["--poll-interval", "2s", "--min-poll-interval", "1s"],
    );
    let mut s = spec(
        &repo.file_url(),
        "app",
        &dest.name,
        json!({"prune": true, "selfHeal": true}),
    );
    s["ignoreDifferences"] = json!([rule]);
    s["syncPolicy"]["syncOptions"] = json!(["RespectIgnoreDifferences=true"]);
    apply_app(&client, &apps_ns.name, "web", s).await;
    let first = repo.head();
    wait_app(&client, &apps_ns.name, "web", "Synced", 60, |a| {
        synced_at(a, &first)
    })
    .await;

    // Something else (an autoscaler) scales the Deployment.
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &dest.name,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment")),
    );
    api.patch(
        "web",
        &PatchParams {
            field_manager: Some(SCALER.into()),
            ..Default::default()
        },
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .unwrap();
    // Self-heal reacts to drift within about a second (see controller.rs); give it three.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let replicas = |client: kube::Client, ns: String| async move {
        get(&client, "apps/v1", "Deployment", Some(&ns), "web")
            .await
            .unwrap()["spec"]["replicas"]
            .clone()
    };
    assert_eq!(
        replicas(client.clone(), dest.name.clone()).await,
        5,
        "self-heal reverted an ignored field"
    );
    let a = get_app(&client, &apps_ns.name, "web").await.unwrap();
    assert_eq!(a["status"]["sync"]["status"], "Synced", "{a}");

    // `moor app diff` agrees: nothing to show.
    let d = moor(&["app", "diff", "web", "-n", &apps_ns.name], &[]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);

    // A new image in Git is synced; the replicas stay the autoscaler's.
    let work = repo.clone_work();
    work.write("app/web.yaml", deployment("nginx:2.0"));
    let second = work.commit_and_push("new image");
    wait_app(
        &client,
        &apps_ns.name,
        "web",
        "Synced at the new commit",
        60,
        |a| synced_at(a, &second),
    )
    .await;
    let live = get(&client, "apps/v1", "Deployment", Some(&dest.name), "web")
        .await
        .unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2.0"
    );
    assert_eq!(
        live["spec"]["replicas"], 5,
        "the sync overwrote an ignored field despite RespectIgnoreDifferences"
    );
}
