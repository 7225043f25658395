//! End to end: ownership holds under concurrency and at the edges (issue 10): concurrent syncs
//! keep every object in the inventory, prune spares what a concurrent sync applied, moor.dev and
//! argoproj.io Applications never share objects, an operation requested during a sync is kept,
//! Namespaces and CRDs holding objects the app does not own are not pruned, adoption is reported
//! (and refused with --no-adopt).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::apps::{app_ar, apply_app, wait_app};
use common::controller::Controller;
use common::{get, moor, moor_ok, repo_args, write};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use moor_testkit::{GitServer, TestNamespace, client, unique_name};
use serde_json::{Value, json};

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

/// `moor sync --repo DIR --app APP -n NS [extra] -o json`, as JSON (panics unless exit 0).
fn sync_json(dir: &Path, app: &str, ns: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "sync",
        "--repo",
        dir.to_str().unwrap(),
        "--app",
        app,
        "-n",
        ns,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", "json"]);
    moor_ok(&args, &[]).json()
}

fn change_of(set: &Value, kind: &str, name: &str) -> (String, String) {
    let o = set["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["kind"] == kind && o["key"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in the change set: {set}"));
    (
        o["change"].as_str().unwrap().to_string(),
        o["message"].as_str().unwrap_or("").to_string(),
    )
}

/// The names in the app's inventory ConfigMap (moor-system/inventory-APP).
async fn inventory_names(client: &Client, app: &str) -> BTreeSet<String> {
    let inv = get(
        client,
        "v1",
        "ConfigMap",
        Some("moor-system"),
        &format!("inventory-{app}"),
    )
    .await
    .expect("the inventory exists");
    let objects: Vec<Value> =
        serde_json::from_str(inv["data"]["objects"].as_str().unwrap()).unwrap();
    objects
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

/// The ConfigMaps of `ns` that carry `app`'s tracking id.
async fn tracked_configmaps(client: &Client, ns: &str, app: &str) -> BTreeSet<String> {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns);
    api.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|c| {
            c.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("moor.dev/tracking-id"))
                .is_some_and(|t| t.starts_with(&format!("{app}:")))
        })
        .filter_map(|c| c.metadata.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_syncs_of_one_app_leave_every_live_object_in_its_inventory() {
    let client = client().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for i in 0..6 {
        write(a.path(), &format!("a{i}.yaml"), &cm(&format!("a{i}"), "a"));
        write(b.path(), &format!("b{i}.yaml"), &cm(&format!("b{i}"), "b"));
    }
    for round in 0..3 {
        let ns = TestNamespace::create(&client, "race").await;
        let app = unique_name(&format!("race{round}"));
        let runs: Vec<_> = [a.path().to_path_buf(), b.path().to_path_buf()]
            .into_iter()
            .map(|dir| {
                let (app, ns) = (app.clone(), ns.name.clone());
                std::thread::spawn(move || {
                    moor(
                        &repo_args("sync", dir.to_str().unwrap(), &app, &ns, &["--prune"]),
                        &[],
                    )
                })
            })
            .collect();
        for r in runs {
            let r = r.join().unwrap();
            assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        }
        let live = tracked_configmaps(&client, &ns.name, &app).await;
        let listed = inventory_names(&client, &app).await;
        let lost: Vec<_> = live.difference(&listed).collect();
        assert!(
            lost.is_empty(),
            "round {round}: objects applied by one of two concurrent syncs are missing from the \
             inventory, so no prune could ever find them: {lost:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_spares_an_object_a_concurrent_sync_applied_after_it_began() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "spare").await;
    let app = unique_name("spare");
    let opts = moor_apply::SyncOptions::new(&app, &ns.name);
    let engine = moor_apply::Engine::new(client.clone());
    let manifests = |docs: &[(&str, &str)]| -> Vec<moor_types::Manifest> {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in docs {
            write(dir.path(), &format!("{name}.yaml"), &cm(name, value));
        }
        moor_render::render(dir.path(), &Default::default()).unwrap()
    };
    engine
        .sync(manifests(&[("shared", "1")]), &opts, &|_| {})
        .await
        .unwrap();

    // Sync B (without "shared") compares first; sync A then re-applies "shared"; B prunes.
    let compared = engine
        .compare(manifests(&[("other", "1")]), &opts)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    engine
        .sync(manifests(&[("shared", "2")]), &opts, &|_| {})
        .await
        .unwrap();
    let mut prune = opts.clone();
    prune.prune = true;
    let set = engine
        .sync_compared(&compared, &prune, &|_| {})
        .await
        .unwrap();
    let set = serde_json::to_value(&set).unwrap();
    let (change, message) = change_of(&set, "ConfigMap", "shared");
    assert_eq!(change, "skipped", "{set}");
    assert!(
        message.contains("another sync of this app applied it"),
        "{message}"
    );
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "shared")
            .await
            .is_some()
    );
    assert!(inventory_names(&client, &app).await.contains("shared"));
}

#[tokio::test(flavor = "multi_thread")]
async fn moor_and_argo_applications_with_one_name_never_share_objects() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "twin").await;
    let dest = TestNamespace::create(&client, "twin-dest").await;
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "moor/cm.yaml", &cm("from-moor", "1"));
    write(tmp.path(), "argo/cm.yaml", &cm("from-argo", "1"));
    let server = GitServer::start();
    server.create_repo("manifests", tmp.path());
    let url = server.http_url("manifests");
    let _ctl = Controller::start(&apps_ns.name, &["--argocd-compat"]);
    let spec = |path: &str| {
        json!({
            "source": {"repoURL": url, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest.name},
            "syncPolicy": {"automated": {"prune": true}},
        })
    };
    apply_app(&client, &apps_ns.name, "web", spec("moor")).await;
    let argo: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &apps_ns.name, &app_ar("argoproj.io"));
    let mut argo_spec = spec("argo");
    argo_spec["project"] = json!("default");
    argo.patch(
        "web",
        &PatchParams::apply("test").force(),
        &Patch::Apply(
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": apps_ns.name}, "spec": argo_spec}),
        ),
    )
    .await
    .unwrap();
    wait_app(&client, &apps_ns.name, "web", "Synced", 60, |a| {
        a["status"]["sync"]["status"] == "Synced"
    })
    .await;
    moor_testkit::eventually(
        "the argoproj.io app Synced",
        std::time::Duration::from_secs(60),
        || async {
            let a = get(
                &client,
                "argoproj.io/v1alpha1",
                "Application",
                Some(&apps_ns.name),
                "web",
            )
            .await?;
            (a["status"]["sync"]["status"] == "Synced").then_some(())
        },
    )
    .await;
    // Each app's prune ran (both synced with prune): neither took the other's object.
    let tracking = |o: Value| {
        o["metadata"]["annotations"]["moor.dev/tracking-id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let m = get(&client, "v1", "ConfigMap", Some(&dest.name), "from-moor")
        .await
        .expect("moor's object");
    let a = get(&client, "v1", "ConfigMap", Some(&dest.name), "from-argo")
        .await
        .expect("argo's object");
    assert!(tracking(m).starts_with(&format!("{}_web:", apps_ns.name)));
    assert!(tracking(a).starts_with(&format!("argo_{}_web:", apps_ns.name)));

    // A CLI app can never be named like an Application's id.
    let r = moor(
        &[
            "sync",
            "--repo",
            tmp.path().join("moor").to_str().unwrap(),
            "--app",
            &format!("{}_web", apps_ns.name),
            "-n",
            &dest.name,
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is not a valid app name"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operation_requested_during_a_sync_is_kept_and_run_next() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "opq").await;
    let dest = TestNamespace::create(&client, "opq-dest").await;
    let tmp = tempfile::tempdir().unwrap();
    // Wave 0 takes a few seconds to become healthy (minReadySeconds), holding the sync open.
    write(
        tmp.path(),
        "app/deploy.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: slow}
spec:
  replicas: 1
  minReadySeconds: 6
  selector: {matchLabels: {app: slow}}
  template:
    metadata: {labels: {app: slow}}
    spec: {containers: [{name: c, image: registry.local/slow:1}]}
"#,
    );
    write(
        tmp.path(),
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  annotations: {moor.dev/sync-wave: \"1\"}\n",
    );
    let server = GitServer::start();
    server.create_repo("manifests", tmp.path());
    let url = server.http_url("manifests");
    let _ctl = Controller::start(&apps_ns.name, &[]);
    apply_app(
        &client,
        &apps_ns.name,
        "web",
        json!({
            "source": {"repoURL": url, "targetRevision": "main", "path": "app"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest.name},
        }),
    )
    .await;
    moor_ok(&["app", "sync", "web", "-n", &apps_ns.name], &[]);
    wait_app(&client, &apps_ns.name, "web", "syncing", 60, |a| {
        a["status"]["operationState"]["phase"] == "Running"
    })
    .await;
    // A second request while the first runs (as another user's `moor app sync` would).
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &apps_ns.name, &app_ar("moor.dev"));
    apps.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"operation": {"sync": {"prune": true}, "initiatedBy": {"username": "second"}}}),
        ),
    )
    .await
    .unwrap();
    let app = wait_app(
        &client,
        &apps_ns.name,
        "web",
        "ran the second operation",
        90,
        |a| {
            a["status"]["operationState"]["operation"]["initiatedBy"]["username"] == "second"
                && a["status"]["operationState"]["phase"] == "Succeeded"
        },
    )
    .await;
    assert!(app["operation"].is_null(), "{app}");
}

/// Creates a Widget that no app owns, waiting for its CRD to be served.
async fn foreign_widget(client: &Client, group: &str, ns: &str, name: &str) {
    let ar = kube::core::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(group, "v1", "Widget"),
        "widgets",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Widget", "metadata": {"name": name}
    }))
    .unwrap();
    moor_testkit::eventually(
        "a foreign Widget created",
        std::time::Duration::from_secs(30),
        || async { api.create(&PostParams::default(), &obj).await.ok() },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_namespace_or_crd_holding_objects_the_app_does_not_own_is_not_pruned() {
    let client = client().await;
    let group = format!("{}.moor.test", unique_name("own"));
    let owned_ns = unique_name("owned-ns");
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ns.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {owned_ns}\n"),
    );
    write(dir.path(), "crd.yaml", &common::widget_crd(&group));
    write(dir.path(), "keep.yaml", &cm("keep", "1"));
    let app = unique_name("own");
    sync_json(dir.path(), &app, &owned_ns, &[]);
    // Objects nobody's app owns: a custom resource (no fixed list of kinds finds it) in the
    // app's Namespace.
    foreign_widget(&client, &group, &owned_ns, "foreign").await;

    // Git drops the Namespace and the CRD (keep.yaml goes to another namespace's app now).
    std::fs::remove_file(dir.path().join("ns.yaml")).unwrap();
    std::fs::remove_file(dir.path().join("crd.yaml")).unwrap();
    let set = sync_json(dir.path(), &app, &owned_ns, &["--prune"]);
    let (change, message) = change_of(&set, "Namespace", &owned_ns);
    assert_eq!(change, "skipped", "{set}");
    assert!(message.contains("Widget foreign"), "{message}");
    let (change, message) = change_of(
        &set,
        "CustomResourceDefinition",
        &format!("widgets.{group}"),
    );
    assert_eq!(change, "skipped", "{set}");
    assert!(
        message.contains(&format!("Widget {owned_ns}/foreign")),
        "{message}"
    );
    assert!(
        get(&client, "v1", "Namespace", None, &owned_ns)
            .await
            .is_some()
    );
    assert!(
        get(
            &client,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            &format!("widgets.{group}")
        )
        .await
        .is_some()
    );
    // Clean up what the test made outside a TestNamespace.
    let _ = std::process::Command::new("kubectl")
        .args(["delete", "--wait=false", "namespace", &owned_ns])
        .output();
    let _ = std::process::Command::new("kubectl")
        .args(["delete", "--wait=false", "crd", &format!("widgets.{group}")])
        .output();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_object_is_reported_adopted_and_no_adopt_refuses_it() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "adopt").await;
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    for name in ["existing", "kept-apart"] {
        let obj = serde_json::from_value(
            json!({"metadata": {"name": name}, "data": {"value": "by hand"}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &obj).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "existing.yaml", &cm("existing", "from git"));
    write(dir.path(), "new.yaml", &cm("new", "from git"));
    let set = sync_json(dir.path(), &unique_name("adopt"), &ns.name, &[]);
    assert_eq!(
        change_of(&set, "ConfigMap", "existing").0,
        "adopted",
        "{set}"
    );
    assert_eq!(change_of(&set, "ConfigMap", "new").0, "created", "{set}");

    // The controller with --no-adopt: refused before any write, the object named.
    let apps_ns = TestNamespace::create(&client, "noadopt").await;
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "app/cm.yaml", &cm("kept-apart", "from git"));
    write(tmp.path(), "app/other.yaml", &cm("other", "from git"));
    let server = GitServer::start();
    server.create_repo("manifests", tmp.path());
    let url = server.http_url("manifests");
    let _ctl = Controller::start(&apps_ns.name, &["--no-adopt"]);
    apply_app(
        &client,
        &apps_ns.name,
        "web",
        common::apps::spec(&url, "app", &ns.name, json!({"prune": true})),
    )
    .await;
    let app = wait_app(
        &client,
        &apps_ns.name,
        "web",
        "refusing adoption",
        60,
        |a| a.to_string().contains("--no-adopt"),
    )
    .await;
    assert!(
        app.to_string()
            .contains(&format!("ConfigMap {}/kept-apart", ns.name)),
        "{app}"
    );
    let live = get(&client, "v1", "ConfigMap", Some(&ns.name), "kept-apart")
        .await
        .unwrap();
    assert_eq!(live["data"]["value"], "by hand");
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "other")
            .await
            .is_none()
    );
}
