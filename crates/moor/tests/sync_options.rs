//! End to end: Argo CD's sync options through the controller and `moor sync`. An unknown option
//! (the app's or an object's) is ignored with an `InvalidSpecWarning` condition naming it and its
//! object, and a warning line of `moor sync`; `Delete=false` keeps an object when the Application
//! is deleted (the finalizer's cascade).

mod common;

use std::time::Duration;

use common::apps::{app_ar, apply_app, get_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::tenancy::condition;
use common::{get, moor_ok, repo_args, write};
use kube::api::{Api, DeleteParams, DynamicObject};
use moor_testkit::{GitServer, TestNamespace, client, eventually, unique_name};
use serde_json::json;

fn cm(name: &str, options: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    \
         argocd.argoproj.io/sync-options: {options:?}\ndata:\n  k: v\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_options_warn_and_delete_false_survives_the_apps_deletion() {
    let client = client().await;
    let home = TestNamespace::create(&client, "so-ctl").await;
    let dest = TestNamespace::create(&client, "so-ctl-dest").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/keep.yaml", &cm("keep", "Delete=false"));
    write(
        src.path(),
        "app/odd.yaml",
        &cm("odd", "Nope=true, Validate=true"),
    );
    server.create_repo("so", src.path());
    let _ctl = Controller::start(&home.name, &[]);
    let mut s = spec(
        &server.file_url("so"),
        "app",
        &dest.name,
        json!({"prune": true}),
    );
    s["syncPolicy"]["syncOptions"] = json!(["Bogus=1", "PruneLast=true"]);
    apply_app(&client, &home.name, "web", s).await;
    let a = wait_app(
        &client,
        &home.name,
        "web",
        "synced with a warning",
        90,
        |a| synced_healthy(a) && condition(a, "InvalidSpecWarning").is_some(),
    )
    .await;
    let warning = condition(&a, "InvalidSpecWarning").unwrap();
    assert!(
        warning.contains("\"Bogus=1\" in syncPolicy.syncOptions"),
        "{warning}"
    );
    assert!(
        warning.contains("\"Nope=true\" on ConfigMap odd (odd.yaml"),
        "{warning}"
    );
    assert!(!warning.contains("PruneLast"), "{warning}");

    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &home.name, &app_ar("moor.dev"));
    apps.delete("web", &DeleteParams::default()).await.unwrap();
    eventually(
        "the Application is gone",
        Duration::from_secs(90),
        || async {
            get_app(&client, &home.name, "web")
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        get(&client, "v1", "ConfigMap", Some(&dest.name), "keep")
            .await
            .is_some(),
        "Delete=false was deleted with the app"
    );
    assert!(
        get(&client, "v1", "ConfigMap", Some(&dest.name), "odd")
            .await
            .is_none(),
        "the app's other object stayed"
    );
    dest.delete(&client).await;
    home.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn moor_sync_prints_a_warning_line_per_unknown_option() {
    let ns = TestNamespace::create(&client().await, "so-cli").await;
    let app = unique_name("so-cli");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "odd.yaml", &cm("odd", "Nope=true"));
    let dir = src.path().to_str().unwrap();
    let r = moor_ok(&repo_args("sync", dir, &app, &ns.name, &[]), &[]);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: unknown sync option \"Nope=true\""))
        .collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(lines[0].contains("ConfigMap odd (odd.yaml"), "{}", lines[0]);
    ns.delete(&client().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn moor_sync_takes_the_apps_sync_options_and_refuses_unknown_ones() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "so-cli-opts").await;
    let app = unique_name("so-cli-opts");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.yaml", &cm("a", "Validate=true"));
    write(src.path(), "b.yaml", &cm("b", "Validate=true"));
    let dir = src.path().to_str().unwrap();
    let sync = repo_args(
        "sync",
        dir,
        &app,
        &ns.name,
        &["--prune", "--sync-option", "Prune=false"],
    );
    moor_ok(&sync, &[]);
    std::fs::remove_file(src.path().join("b.yaml")).unwrap();
    let r = moor_ok(&sync, &[]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains(" b") && l.contains("skipped")),
        "{}",
        r.stdout
    );
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "b")
            .await
            .is_some(),
        "Prune=false for the app still pruned b"
    );
    let r = common::moor(&[&sync[..8], &["--sync-option", "Nope=1"]].concat(), &[]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("sync option Nope=1"), "{}", r.stderr);
    ns.delete(&client).await;
}
