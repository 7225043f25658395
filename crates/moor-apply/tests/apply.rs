//! `Engine::sync` on the local control plane: only drifted objects are written, objects go in
//! wave then kind order, and an invalid object fails the sync before anything is written.

mod common;

use common::{
    Recorder, change_of, configmap, configmap_rv, engine, engine_as, get, manifests, merge_patch,
    opts, setup, sync_ok,
};
use moor_apply::{Engine, SyncError};
use moor_testkit::{TestNamespace, unique_name};
use moor_types::{Change, kind_rank};
use serde_json::json;

#[tokio::test]
async fn a_resync_writes_only_the_drifted_objects() {
    let (client, engine, ns, app) = setup("apply-drift").await;
    let o = opts(&app, &ns.name);
    let first = [
        configmap("a", "1", ""),
        configmap("b", "1", ""),
        configmap("c", "1", ""),
    ]
    .concat();
    sync_ok(&engine, &first, &o, "first sync").await;
    let rv_a = configmap_rv(&client, &ns.name, "a").await;
    let rv_b = configmap_rv(&client, &ns.name, "b").await;
    let rv_c = configmap_rv(&client, &ns.name, "c").await;

    // b changes in Git; c is changed in the cluster by someone else; a is untouched.
    let second = [
        configmap("a", "1", ""),
        configmap("b", "2", ""),
        configmap("c", "1", ""),
    ]
    .concat();
    merge_patch(
        &client,
        "v1",
        "ConfigMap",
        &ns.name,
        "c",
        json!({"data": {"key": "edited"}}),
    )
    .await;
    let rv_c_edited = configmap_rv(&client, &ns.name, "c").await;
    assert_ne!(rv_c, rv_c_edited);
    let set = sync_ok(&engine, &second, &o, "second sync").await;

    assert_eq!(change_of(&set.objects, "a"), Change::Unchanged);
    assert_eq!(change_of(&set.objects, "b"), Change::Configured);
    assert_eq!(change_of(&set.objects, "c"), Change::Configured);
    assert_eq!(
        configmap_rv(&client, &ns.name, "a").await,
        rv_a,
        "a was written although it had not drifted"
    );
    assert_ne!(configmap_rv(&client, &ns.name, "b").await, rv_b);
    assert_ne!(configmap_rv(&client, &ns.name, "c").await, rv_c_edited);
    let c = get(&client, "v1", "ConfigMap", &ns.name, "c")
        .await
        .unwrap();
    assert_eq!(c["data"]["key"], "1", "the drift of c was not undone");

    // Nothing drifted now: a third sync writes nothing at all.
    let rvs = [
        configmap_rv(&client, &ns.name, "a").await,
        configmap_rv(&client, &ns.name, "b").await,
        configmap_rv(&client, &ns.name, "c").await,
    ];
    let set = sync_ok(&engine, &second, &o, "third sync").await;
    assert_eq!(set.count(Change::Unchanged), 3, "{:?}", set.objects);
    for (name, rv) in ["a", "b", "c"].iter().zip(rvs) {
        assert_eq!(
            configmap_rv(&client, &ns.name, name).await,
            rv,
            "{name} was written by an unchanged sync"
        );
    }
    ns.delete(&client).await;
}

#[tokio::test]
async fn objects_are_applied_by_wave_then_kind() {
    let (client, engine, ns, app) = setup("apply-order").await;
    // Given in the wrong order on purpose: Service before ServiceAccount, wave 1 before wave -1.
    let yaml = format!(
        "{}{}{}{}{}",
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: w0-svc\nspec:\n  ports: [{port: 80}]\n",
        configmap("w1-cm", "x", "  annotations: {moor.dev/sync-wave: \"1\"}\n"),
        configmap("w0-cm", "x", ""),
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: w0-sa\n",
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: wm1-secret\n  annotations: {moor.dev/sync-wave: \"-1\"}\nstringData: {k: v}\n",
    );
    let rec = Recorder::default();
    let set = engine
        .sync(manifests(&yaml), &opts(&app, &ns.name), &|r| rec.record(r))
        .await
        .expect("sync");
    assert_eq!(
        rec.names(),
        ["wm1-secret", "w0-sa", "w0-cm", "w0-svc", "w1-cm"]
    );
    let in_set: Vec<_> = set.objects.iter().map(|o| o.key.name.as_str()).collect();
    assert_eq!(in_set, rec.names());
    assert!(
        kind_rank("ServiceAccount") < kind_rank("ConfigMap")
            && kind_rank("ConfigMap") < kind_rank("Service")
    );
    assert_eq!(set.count(Change::Created), 5);
    ns.delete(&client).await;
}

#[tokio::test]
async fn an_invalid_object_fails_the_sync_before_any_write_and_names_the_object() {
    let (client, engine, ns, app) = setup("apply-invalid").await;
    // The ConfigMap is valid and sorts first; the Service's port is out of range.
    let yaml = format!(
        "{}{}",
        configmap("good", "x", ""),
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports: [{port: 99999}]\n",
    );
    let err = engine
        .sync(manifests(&yaml), &opts(&app, &ns.name), &|_| {})
        .await
        .expect_err("an out-of-range port must fail the sync");
    assert!(matches!(err, SyncError::Invalid(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("Service {}/bad", ns.name)), "{text}");
    assert!(text.contains("test.yaml"), "the file is not named: {text}");
    assert!(text.contains("nothing was applied"), "{text}");
    assert!(
        !text.contains("ConfigMap"),
        "the valid object is reported as failing: {text}"
    );
    assert!(
        get(&client, "v1", "ConfigMap", &ns.name, "good")
            .await
            .is_none(),
        "the valid object was written"
    );
    let inventory = moor_apply::inventory::load(&client, &app).await.unwrap();
    assert!(
        inventory.is_empty(),
        "an inventory was written: {inventory:?}"
    );
    ns.delete(&client).await;
}

#[tokio::test]
async fn compare_finds_the_drifted_objects_and_sync_compared_writes_only_those() {
    let (client, engine, ns, app) = setup("apply-compare").await;
    let o = opts(&app, &ns.name);
    let yaml = [configmap("a", "1", ""), configmap("b", "1", "")].concat();
    sync_ok(&engine, &yaml, &o, "sync").await;
    let compared = engine.compare(manifests(&yaml), &o).await.expect("compare");
    assert!(compared.in_sync(), "{:?}", compared.resources);

    merge_patch(
        &client,
        "v1",
        "ConfigMap",
        &ns.name,
        "b",
        json!({"data": {"key": "edited"}}),
    )
    .await;
    let rv_a = configmap_rv(&client, &ns.name, "a").await;
    let compared = engine.compare(manifests(&yaml), &o).await.expect("compare");
    let out: Vec<_> = compared
        .out_of_sync()
        .map(|r| r.key.name.as_str())
        .collect();
    assert_eq!(out, ["b"]);
    assert_eq!(
        configmap_rv(&client, &ns.name, "a").await,
        rv_a,
        "compare wrote"
    );

    let set = engine
        .sync_compared(&compared, &o, &|_| {})
        .await
        .expect("sync_compared");
    assert_eq!(change_of(&set.objects, "a"), Change::Unchanged);
    assert_eq!(change_of(&set.objects, "b"), Change::Configured);
    assert_eq!(
        configmap_rv(&client, &ns.name, "a").await,
        rv_a,
        "a was written"
    );
    let b = get(&client, "v1", "ConfigMap", &ns.name, "b")
        .await
        .unwrap();
    assert_eq!(b["data"]["key"], "1");
    assert!(
        engine
            .compare(manifests(&yaml), &o)
            .await
            .unwrap()
            .in_sync()
    );
    ns.delete(&client).await;
}

#[tokio::test]
async fn an_api_error_names_the_object_it_was_about() {
    let (client, admin) = engine().await;
    let ns = TestNamespace::create(&client, "apply-forbidden").await;
    let app = unique_name("apply-forbidden");
    let yaml = configmap("settings", "1", "");
    // In the app's inventory, so the next sync reads it (a new object is dry-run created).
    sync_ok(&admin, &yaml, &opts(&app, &ns.name), "the first sync").await;
    // A user without roles may discover kinds but not read the ConfigMap (its inventory is read
    // as the controller, as for an impersonating app): the API server's 403 comes back naming
    // the object the read was for.
    let nobody = engine_as(&unique_name("moor-test-nobody")).await;
    let nobody = Engine::with_inventory_client(nobody.client().clone(), client.clone());
    let err = nobody
        .sync(manifests(&yaml), &opts(&app, &ns.name), &|_| {})
        .await
        .expect_err("a user without roles cannot read the ConfigMap");
    assert!(matches!(err, SyncError::Object { .. }), "{err:?}");
    let line = moor_types::error_chain(&err);
    assert!(
        line.starts_with(&format!("failed to read ConfigMap {}/settings: ", ns.name)),
        "{line}"
    );
    assert!(line.contains("forbidden"), "{line}");
    ns.delete(&client).await;
}
