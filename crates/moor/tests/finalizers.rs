//! End to end: moor's finalizer is added and removed without touching another controller's.

mod common;

use std::time::Duration;

use common::apps::{app_ar, apply_app, get_app, spec, wait_app};
use common::controller::Controller;
use common::{get, write};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::json;

const OTHER: &str = "example.com/other-controller";

fn finalizers(app: &serde_json::Value) -> Vec<String> {
    app["metadata"]["finalizers"]
        .as_array()
        .map(|f| f.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn another_controllers_finalizer_survives_moors_add_and_remove() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "fin").await;
    let dest = TestNamespace::create(&client, "fin-dest").await;
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n",
    );
    let server = GitServer::start();
    server.create_repo("r", src.path());
    let url = server.http_url("r");
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &apps_ns.name, &app_ar("moor.dev"));
    // The app exists with another controller's finalizer before moor sees it.
    apply_app(
        &client,
        &apps_ns.name,
        "web",
        spec(&url, "app", &dest.name, json!({"prune": true})),
    )
    .await;
    apps.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": [OTHER]}})),
    )
    .await
    .unwrap();
    let _ctl = Controller::start(&apps_ns.name, &[]);
    let app = wait_app(&client, &apps_ns.name, "web", "Synced", 60, |a| {
        a["status"]["sync"]["status"] == "Synced"
    })
    .await;
    assert_eq!(
        finalizers(&app),
        [OTHER, "moor.dev/resources-finalizer"],
        "{app}"
    );

    // Deleting: moor prunes its objects and removes only its own finalizer.
    apps.delete("web", &DeleteParams::default()).await.unwrap();
    let app = eventually(
        "moor's finalizer removed",
        Duration::from_secs(60),
        || async {
            let a = get_app(&client, &apps_ns.name, "web").await?;
            (finalizers(&a) == [OTHER]).then_some(a)
        },
    )
    .await;
    assert!(app["metadata"]["deletionTimestamp"].is_string(), "{app}");
    assert!(
        get(&client, "v1", "ConfigMap", Some(&dest.name), "owned")
            .await
            .is_none(),
        "the app's object was not pruned"
    );
    apps.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
}
