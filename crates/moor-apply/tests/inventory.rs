//! The inventory on the local control plane: kept in a ConfigMap in moor-system, it lists what
//! the app applied, concurrent updates lose no entry (optimistic concurrency), and `forget`
//! removes it.

mod common;

use common::{configmap, opts, setup, sync_ok};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use moor_apply::inventory::{self, Entry};
use moor_testkit::unique_name;
use moor_types::{LABEL_APP, SYSTEM_NAMESPACE};

/// The inventory ConfigMap of `app` in moor-system, found by its app annotation.
async fn inventory_configmap(client: &kube::Client, app: &str) -> Option<ConfigMap> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), SYSTEM_NAMESPACE);
    api.list(&ListParams::default().labels("moor.dev/inventory=true"))
        .await
        .expect("list inventories")
        .items
        .into_iter()
        .find(|cm| {
            cm.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(LABEL_APP))
                .map(String::as_str)
                == Some(app)
        })
}

fn entry(ns: &str, name: &str) -> Entry {
    Entry {
        group: String::new(),
        version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(ns.into()),
        name: name.into(),
    }
}

#[tokio::test]
async fn the_inventory_is_kept_in_moor_system_and_lists_what_the_app_applied() {
    let (client, engine, ns, app) = setup("inv-stored").await;
    let mut o = opts(&app, &ns.name);
    o.revision = Some("abc123".into());
    let yaml = [
        configmap("a", "1", ""),
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx:1.27}]}\n".to_string(),
    ]
    .concat();
    sync_ok(&engine, &yaml, &o, "sync").await;

    let cm = inventory_configmap(&client, &app)
        .await
        .expect("an inventory ConfigMap in moor-system");
    let data = cm.data.expect("inventory data");
    assert_eq!(data["revision"], "abc123");
    let stored: Vec<Entry> =
        serde_json::from_str(&data["objects"]).expect("objects are JSON entries");
    let mut web = entry(&ns.name, "web");
    web.group = "apps".into();
    web.kind = "Deployment".into();
    assert_eq!(stored, [entry(&ns.name, "a"), web.clone()]);
    let loaded: Vec<Entry> = inventory::load(&client, &app)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(loaded, stored);
    assert_eq!(web.api_version(), "apps/v1");

    engine.forget(&app).await.expect("forget");
    assert!(
        inventory_configmap(&client, &app).await.is_none(),
        "forget left the inventory"
    );
    assert!(inventory::load(&client, &app).await.unwrap().is_empty());
    ns.delete(&client).await;
}

#[tokio::test]
async fn concurrent_inventory_updates_lose_no_entry() {
    let client = moor_testkit::client().await;
    let app = unique_name("inv-race");
    let writers = 8;
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let client = client.clone();
            let app = app.clone();
            tokio::spawn(async move {
                inventory::update(&client, &app, None, |inv| {
                    inv.insert(entry("race", &format!("obj-{i}")));
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("update");
    }
    let names: Vec<String> = inventory::load(&client, &app)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    let want: std::collections::BTreeSet<String> =
        (0..writers).map(|i| format!("obj-{i}")).collect();
    assert_eq!(
        names.into_iter().collect::<std::collections::BTreeSet<_>>(),
        want
    );

    // A change applies to what is stored at the write, not to an earlier read: removing one
    // entry keeps the others.
    inventory::update(&client, &app, None, |inv| {
        inv.remove(&entry("race", "obj-0"));
    })
    .await
    .unwrap();
    assert_eq!(
        inventory::load(&client, &app).await.unwrap().len(),
        writers - 1
    );
    inventory::remove(&client, &app).await.unwrap();
    // Removing what is not there is no error.
    inventory::remove(&client, &app).await.unwrap();
}
