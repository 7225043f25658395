//! Prune through `Engine::sync` on the local control plane: it deletes only what left Git and
//! carries this app's tracking id, keeps `moor.dev/prune: "false"` objects and another app's
//! objects, and goes in reverse apply order.

mod common;

use common::{Recorder, change_of, configmap, get, manifests, merge_patch, opts, setup, sync_ok};
use moor_types::{ANNOTATION_TRACKING, Change, ObjKey, tracking_id};
use serde_json::json;

fn pruning(app: &str, ns: &str) -> moor_apply::SyncOptions {
    let mut o = opts(app, ns);
    o.prune = true;
    o
}

/// Names in the app's inventory.
async fn inventory_names(client: &kube::Client, app: &str) -> Vec<String> {
    moor_apply::inventory::load(client, app)
        .await
        .expect("inventory")
        .into_iter()
        .map(|e| e.name)
        .collect()
}

#[tokio::test]
async fn prune_deletes_only_the_objects_that_left_git() {
    let (client, engine, ns, app) = setup("prune-left").await;
    let o = pruning(&app, &ns.name);
    let both = [configmap("a", "1", ""), configmap("b", "1", "")].concat();
    sync_ok(&engine, &both, &o, "first sync").await;
    // An object of nobody in the same namespace, never in Git.
    merge_patch_create_unowned(&client, &ns.name, "bystander").await;

    let set = sync_ok(&engine, &configmap("a", "1", ""), &o, "sync without b").await;
    assert_eq!(change_of(&set.objects, "b"), Change::Pruned);
    assert_eq!(change_of(&set.objects, "a"), Change::Unchanged);
    assert!(
        get(&client, "v1", "ConfigMap", &ns.name, "b")
            .await
            .is_none(),
        "b was not deleted"
    );
    assert!(
        get(&client, "v1", "ConfigMap", &ns.name, "a")
            .await
            .is_some()
    );
    assert!(
        get(&client, "v1", "ConfigMap", &ns.name, "bystander")
            .await
            .is_some()
    );
    assert_eq!(inventory_names(&client, &app).await, ["a"]);
    ns.delete(&client).await;
}

/// Creates a ConfigMap without any tracking annotation (as a person would).
async fn merge_patch_create_unowned(client: &kube::Client, ns: &str, name: &str) {
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), ns);
    let cm =
        serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap();
    api.create(&Default::default(), &cm)
        .await
        .expect("create unowned ConfigMap");
}

#[tokio::test]
async fn prune_skips_an_inventory_object_whose_tracking_names_another_app() {
    let (client, engine, ns, app) = setup("prune-other").await;
    let o = pruning(&app, &ns.name);
    let both = [configmap("a", "1", ""), configmap("b", "1", "")].concat();
    sync_ok(&engine, &both, &o, "first sync").await;
    // b has since been taken by another app: its tracking id names that app.
    let other = tracking_id(
        "other-app",
        &ObjKey::new("", "ConfigMap", Some(&ns.name), "b"),
    );
    merge_patch(
        &client,
        "v1",
        "ConfigMap",
        &ns.name,
        "b",
        json!({"metadata": {"annotations": {ANNOTATION_TRACKING: other}}}),
    )
    .await;

    let set = sync_ok(&engine, &configmap("a", "1", ""), &o, "sync without b").await;
    let b = set
        .objects
        .iter()
        .find(|r| r.key.name == "b")
        .expect("a result for b");
    assert_eq!(b.change, Change::Skipped, "{b:?}");
    assert!(b.message.contains("managed by other-app"), "{}", b.message);
    let live = get(&client, "v1", "ConfigMap", &ns.name, "b")
        .await
        .expect("b was deleted");
    assert_eq!(
        live["metadata"]["annotations"][ANNOTATION_TRACKING],
        other.as_str()
    );
    // It is not this app's any more: out of the inventory, never looked at again.
    assert_eq!(inventory_names(&client, &app).await, ["a"]);
    ns.delete(&client).await;
}

#[tokio::test]
async fn an_object_annotated_prune_false_is_kept_when_it_leaves_git() {
    let (client, engine, ns, app) = setup("prune-false").await;
    let o = pruning(&app, &ns.name);
    let both = [
        configmap("a", "1", ""),
        configmap("keep", "1", "  annotations: {moor.dev/prune: \"false\"}\n"),
    ]
    .concat();
    sync_ok(&engine, &both, &o, "first sync").await;

    let set = sync_ok(&engine, &configmap("a", "1", ""), &o, "sync without keep").await;
    let keep = set
        .objects
        .iter()
        .find(|r| r.key.name == "keep")
        .expect("a result for keep");
    assert_eq!(keep.change, Change::Skipped);
    assert!(keep.message.contains("moor.dev/prune"), "{}", keep.message);
    assert!(
        get(&client, "v1", "ConfigMap", &ns.name, "keep")
            .await
            .is_some(),
        "keep was deleted"
    );
    // Still this app's: it stays in the inventory (a later sync may bring it back into Git).
    assert_eq!(inventory_names(&client, &app).await, ["a", "keep"]);
    ns.delete(&client).await;
}

#[tokio::test]
async fn prune_goes_in_reverse_apply_order() {
    let (client, engine, ns, app) = setup("prune-order").await;
    let o = pruning(&app, &ns.name);
    let all = format!(
        "{}{}{}{}",
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n",
        configmap("cm", "1", ""),
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports: [{port: 80}]\n",
        configmap("stays", "1", ""),
    );
    let set = sync_ok(&engine, &all, &o, "first sync").await;
    // The change set is in apply order (progress is not: objects of one kind are applied at
    // once and reported as each finishes).
    let applied: Vec<_> = set.objects.iter().map(|r| r.key.name.as_str()).collect();
    assert_eq!(applied, ["sa", "cm", "stays", "svc"], "apply order");

    let rec = Recorder::default();
    let set = engine
        .sync(manifests(&configmap("stays", "1", "")), &o, &|r| {
            rec.record(r)
        })
        .await
        .expect("sync that prunes three");
    let pruned: Vec<_> = set
        .objects
        .iter()
        .filter(|r| r.change == Change::Pruned)
        .map(|r| r.key.name.as_str())
        .collect();
    assert_eq!(pruned, ["svc", "cm", "sa"]);
    assert_eq!(rec.names(), ["stays", "svc", "cm", "sa"], "progress order");
    ns.delete(&client).await;
}
