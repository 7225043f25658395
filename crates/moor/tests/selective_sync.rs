//! End to end: the parts of a requested sync a UI asks for. `operation.sync.dryRun` validates and
//! dry-runs, and reports what each object would do, writing no object, inventory or history;
//! `operation.sync.resources` (Argo CD's selective sync) applies and prunes only the listed
//! objects, keeping every other one in the inventory; and the commit's author, date and subject
//! show in `status.sync.revisionMetadata` and in the history.

mod common;

use std::collections::BTreeSet;

use common::apps::{app_ar, apply_app, spec, wait_app};
use common::controller::Controller;
use common::{get, write};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use moor_testkit::{GitServer, TestNamespace, client};
use serde_json::{Value, json};

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
}

/// Requests `sync` on the app, tagged `id` (its initiatedBy username), and waits until it ran.
async fn run_op(client: &Client, ns: &str, app: &str, id: &str, sync: Value) -> Value {
    let apps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &app_ar("moor.dev"));
    let patch = json!({"operation": {"sync": sync, "initiatedBy": {"username": id}}});
    apps.patch(app, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("request the operation");
    wait_app(client, ns, app, &format!("ran operation {id}"), 120, |a| {
        let st = &a["status"]["operationState"];
        a.get("operation").is_none()
            && st["operation"]["initiatedBy"]["username"] == id
            && (st["phase"] == "Succeeded" || st["phase"] == "Failed")
    })
    .await
}

/// What the operation's result says of each object: name -> status.
fn results(a: &Value) -> Vec<(String, String)> {
    let rs = a["status"]["operationState"]["syncResult"]["resources"].as_array();
    let mut v: Vec<_> = rs
        .into_iter()
        .flatten()
        .map(|r| {
            let s = |f: &str| r[f].as_str().unwrap_or_default().to_string();
            (s("name"), s("status"))
        })
        .collect();
    v.sort();
    v
}

async fn value_of(client: &Client, ns: &str, name: &str) -> Option<String> {
    let o = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    Some(o["data"]["k"].as_str().unwrap_or_default().to_string())
}

/// Someone edits the live object: the app drifts.
async fn drift(client: &Client, ns: &str, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns);
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "drifted"}})),
    )
    .await
    .unwrap();
}

/// The names in the inventory of the moor.dev app `ns/app`; None when it has none.
async fn inventory(client: &Client, ns: &str, app: &str) -> Option<BTreeSet<String>> {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), "moor-system");
    let lp = ListParams::default().labels("moor.dev/inventory=true");
    let id = format!("{ns}_{app}");
    let cm = api
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| (c.metadata.annotations.iter().flatten()).any(|(_, v)| *v == id))?;
    let objects: Vec<Value> =
        serde_json::from_str(&cm.data.unwrap_or_default()["objects"]).unwrap();
    Some(
        objects
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_string())
            .collect(),
    )
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn selected(ns: &str, name: &str) -> Value {
    json!({"group": "", "kind": "ConfigMap", "namespace": ns, "name": name})
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_selective_sync_and_revision_metadata() {
    let client = client().await;
    let home = TestNamespace::create(&client, "sel-sync-home").await;
    let dest = TestNamespace::create(&client, "sel-sync-dest").await;
    let d = dest.name.as_str();
    let server = GitServer::start();
    let repo = server.create_empty_repo("sel");
    let work = repo.clone_work();
    for n in ["a", "b", "c"] {
        write(work.path(), &format!("app/{n}.yaml"), &cm(n, "v1"));
    }
    // A hook: a sync runs it, a dry run and a selective sync do not.
    write(
        work.path(),
        "app/pre.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pre\n  annotations:\n    \
         argocd.argoproj.io/hook: PreSync\ndata:\n  k: v\n",
    );
    let author = "Grace Hopper <grace@example.com>";
    work.git(&["add", "-A", "."]);
    let first_subject = "Add a, b and c";
    work.git(&[
        "commit",
        "-q",
        "--author",
        author,
        "-m",
        first_subject,
        "-m",
        "body",
    ]);
    work.git(&["push", "-q", "origin", "HEAD"]);
    let first = work.head();

    let _ctl = Controller::start(&home.name, &[]);
    let mut s = spec(&server.file_url("sel"), "app", d, json!({}));
    s["syncPolicy"] = json!({});
    apply_app(&client, &home.name, "web", s).await;
    let a = wait_app(&client, &home.name, "web", "compared", 90, |a| {
        a["status"]["sync"]["revision"] == first.as_str()
    })
    .await;
    // The commit's metadata shows from the first comparison on.
    let meta = &a["status"]["sync"]["revisionMetadata"];
    assert_eq!(meta["author"], author, "{meta}");
    assert_eq!(meta["message"], first_subject, "{meta}");
    assert!(
        meta["date"].as_str().is_some_and(|d| d.contains('T')),
        "{meta}"
    );

    // A dry run: a result per object, nothing written.
    let a = run_op(
        &client,
        &home.name,
        "web",
        "dry",
        json!({"dryRun": true, "prune": true}),
    )
    .await;
    let st = &a["status"]["operationState"];
    assert_eq!(st["phase"], "Succeeded", "{st}");
    let msg = st["message"].as_str().unwrap();
    assert!(
        msg.contains("dry run") && msg.contains("3 would be created"),
        "{msg}"
    );
    assert_eq!(
        results(&a),
        [("a", "created"), ("b", "created"), ("c", "created")].map(|(n, s)| (n.into(), s.into()))
    );
    for n in ["a", "b", "c"] {
        assert_eq!(
            value_of(&client, d, n).await,
            None,
            "{n} was written by a dry run"
        );
    }
    assert_eq!(inventory(&client, &home.name, "web").await, None);
    assert_eq!(
        value_of(&client, d, "pre").await,
        None,
        "a dry run ran the hook"
    );
    assert!(a["status"].get("history").is_none(), "{}", a["status"]);
    assert_eq!(a["status"]["sync"]["status"], "OutOfSync");

    // A full sync records the commit's metadata in the history.
    let a = run_op(&client, &home.name, "web", "full-1", json!({"prune": true})).await;
    assert_eq!(a["status"]["operationState"]["phase"], "Succeeded");
    let h = &a["status"]["history"][0];
    assert_eq!(h["revision"], first.as_str());
    assert_eq!(h["revisionMetadata"]["author"], author, "{h}");
    assert_eq!(h["revisionMetadata"]["message"], first_subject, "{h}");

    assert_eq!(value_of(&client, d, "pre").await.as_deref(), Some("v"));
    let hooks: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), d);
    hooks.delete("pre", &Default::default()).await.unwrap();

    // Two objects drift; a selective sync of one fixes that one only, and runs no hook.
    drift(&client, d, "a").await;
    drift(&client, d, "b").await;
    let id = "only-a";
    let a = run_op(
        &client,
        &home.name,
        "web",
        id,
        json!({"resources": [selected(d, "a")]}),
    )
    .await;
    let st = &a["status"]["operationState"];
    assert_eq!(st["phase"], "Succeeded", "{st}");
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .contains("1 selected objects"),
        "{st}"
    );
    assert_eq!(results(&a), [("a".to_string(), "configured".to_string())]);
    assert_eq!(value_of(&client, d, "a").await.as_deref(), Some("v1"));
    assert_eq!(value_of(&client, d, "b").await.as_deref(), Some("drifted"));
    assert_eq!(
        value_of(&client, d, "pre").await,
        None,
        "a selective sync ran the hook"
    );
    assert_eq!(
        inventory(&client, &home.name, "web").await,
        Some(names(&["a", "b", "c"]))
    );
    let a = wait_app(&client, &home.name, "web", "OutOfSync on b", 30, |a| {
        a["status"]["sync"]["status"] == "OutOfSync"
    })
    .await;
    let b = (a["status"]["resources"].as_array().unwrap().iter())
        .find(|r| r["name"] == "b")
        .unwrap();
    assert_eq!(b["status"], "OutOfSync", "{b}");

    // A full sync fixes the other.
    run_op(&client, &home.name, "web", "full-2", json!({})).await;
    assert_eq!(value_of(&client, d, "b").await.as_deref(), Some("v1"));
    wait_app(&client, &home.name, "web", "Synced", 30, |a| {
        a["status"]["sync"]["status"] == "Synced"
    })
    .await;

    // b and c leave Git; a selective sync with prune prunes only the selected c.
    work.remove("app/b.yaml");
    work.remove("app/c.yaml");
    work.git(&["add", "-A", "."]);
    work.git(&[
        "commit",
        "-q",
        "--author",
        "Alan Turing <alan@example.com>",
        "-m",
        "Drop b and c",
    ]);
    work.git(&["push", "-q", "origin", "HEAD"]);
    let second = work.head();
    let sync = json!({"prune": true, "resources": [selected(d, "c")]});
    let a = run_op(&client, &home.name, "web", "prune-c", sync).await;
    let st = &a["status"]["operationState"];
    assert_eq!(st["phase"], "Succeeded", "{st}");
    assert_eq!(results(&a), [("c".to_string(), "pruned".to_string())]);
    assert_eq!(value_of(&client, d, "c").await, None);
    assert_eq!(value_of(&client, d, "b").await.as_deref(), Some("v1"));
    assert_eq!(
        inventory(&client, &home.name, "web").await,
        Some(names(&["a", "b"]))
    );
    // The selective sync is in the history, with its commit's metadata.
    let last = a["status"]["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["revision"], second.as_str());
    assert_eq!(
        last["revisionMetadata"]["author"],
        "Alan Turing <alan@example.com>"
    );
    assert_eq!(last["revisionMetadata"]["message"], "Drop b and c");
    let a = wait_app(
        &client,
        &home.name,
        "web",
        "at the second commit",
        30,
        |a| a["status"]["sync"]["revision"] == second.as_str(),
    )
    .await;
    assert_eq!(
        a["status"]["sync"]["revisionMetadata"]["message"],
        "Drop b and c"
    );
    assert_eq!(
        a["status"]["sync"]["status"], "OutOfSync",
        "b is left to prune"
    );

    // A selected object the source does not render (nor the app own) fails, named.
    let sync = json!({"resources": [selected(d, "ghost")]});
    let a = run_op(&client, &home.name, "web", "ghost", sync).await;
    let st = &a["status"]["operationState"];
    assert_eq!(st["phase"], "Failed", "{st}");
    let msg = st["message"].as_str().unwrap();
    assert!(msg.contains(&format!("ConfigMap {d}/ghost")), "{msg}");
    assert_eq!(value_of(&client, d, "b").await.as_deref(), Some("v1"));
}

/// Asks for a refresh and waits until a reconcile served it.
async fn refresh(client: &Client, ns: &str, app: &str) {
    let apps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &app_ar("moor.dev"));
    let patch = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
    apps.patch(app, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    wait_app(client, ns, app, "refreshed", 60, |a| {
        a["metadata"]["annotations"]
            .get("argocd.argoproj.io/refresh")
            .is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_of_an_automated_app_syncs_nothing_afterwards() {
    let client = client().await;
    let home = TestNamespace::create(&client, "sel-sync-auto").await;
    let dest = TestNamespace::create(&client, "sel-sync-auto-dest").await;
    let d = dest.name.as_str();
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/a.yaml", &cm("a", "v1"));
    server.create_repo("auto", src.path());
    let _ctl = Controller::start(&home.name, &[]);
    // Automated without self-heal: a drifted object stays drifted at the synced revision.
    let s = spec(&server.file_url("auto"), "app", d, json!({"prune": true}));
    apply_app(&client, &home.name, "web", s).await;
    wait_app(&client, &home.name, "web", "Synced", 90, |a| {
        a["status"]["sync"]["status"] == "Synced"
    })
    .await;
    drift(&client, d, "a").await;
    wait_app(&client, &home.name, "web", "OutOfSync", 30, |a| {
        a["status"]["sync"]["status"] == "OutOfSync"
    })
    .await;

    let a = run_op(&client, &home.name, "web", "dry", json!({"dryRun": true})).await;
    assert_eq!(results(&a), [("a".to_string(), "configured".to_string())]);
    // The dry run is not taken for the last sync: the reconciles after it leave the drift.
    refresh(&client, &home.name, "web").await;
    refresh(&client, &home.name, "web").await;
    assert_eq!(value_of(&client, d, "a").await.as_deref(), Some("drifted"));
    let a = get(
        &client,
        "moor.dev/v1alpha1",
        "Application",
        Some(&home.name),
        "web",
    )
    .await
    .unwrap();
    assert_eq!(a["status"]["sync"]["status"], "OutOfSync");
    assert_eq!(a["status"]["history"].as_array().map(Vec::len), Some(1));
}
