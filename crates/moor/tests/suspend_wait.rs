//! End to end, `spec.suspend` and `moor app wait`: a suspended automated app syncs no new commit
//! and heals no drift (while the controller keeps looking at it), fails a requested sync, is
//! visible in `kubectl get` and `moor app get`, syncs at once when resumed and is still deleted
//! with its objects; `moor app wait` returns 0 when the app is Synced and Healthy (at a given
//! commit), 1 with a one-line message on timeout and 2 when a sync fails while it waits.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::apps::{apply_app, get_app, spec, synced_at, wait_app};
use common::controller::Controller;
use common::{Run, get, git_repo, moor, moor_ok};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::{TestNamespace, client, eventually};
use serde_json::{Value, json};

fn cm(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  value: \"{value}\"\n"
    )
}

async fn cm_value(client: &Client, ns: &str) -> Option<String> {
    let c = get(client, "v1", "ConfigMap", Some(ns), "cfg").await?;
    c["data"]["value"].as_str().map(String::from)
}

fn has_condition(a: &Value, type_: &str) -> bool {
    a["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == type_))
}

/// How many reconciles of the app the controller has finished (its metric).
fn reconciles(ctl: &Controller, ns: &str, name: &str) -> u64 {
    let (_, metrics) = ctl.get("/metrics").expect("metrics");
    let prefix =
        format!("moor_app_reconcile_duration_seconds_count{{name=\"{name}\",namespace=\"{ns}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Starts `moor app wait` and returns once it has read the app and printed that it waits.
fn start_wait(args: &[&str]) -> (Child, String) {
    moor_testkit::kubeconfig_path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_moor"))
        .args(["app", "wait"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("moor app wait starts");
    let mut first = String::new();
    BufReader::new(child.stderr.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("waiting up to"), "{first}");
    (child, first)
}

/// `moor app wait ARGS`, run to its end.
fn app_wait(args: &[&str]) -> Run {
    moor(&[&["app", "wait"][..], args].concat(), &[])
}

fn finish(child: Child) -> Run {
    child.wait_with_output().unwrap().into()
}

/// What each test here starts from, in this order (dropped in reverse): the client, the app's
/// namespace and its destination, the git server, its repository, the repository's URL and the
/// controller.
type Started = (
    Client,
    TestNamespace,
    TestNamespace,
    moor_testkit::GitServer,
    moor_testkit::Repo,
    String,
    Controller,
);

/// App `name` in a fresh namespace, syncing one ConfigMap (`cm("1")`) from a git server into a
/// second namespace with `automated`, under a controller of its own.
async fn start(prefix: &str, name: &str, automated: Value) -> Started {
    let client = client().await;
    let apps = TestNamespace::create(&client, prefix).await;
    let dest = TestNamespace::create(&client, &format!("{prefix}-d")).await;
    let ns = apps.name.as_str();
    let (server, repo) = git_repo("r", &[("app/cm.yaml", &cm("1"))]);
    let url = server.file_url("r");
    let ctl = Controller::start(ns, &["--namespace", ns]);
    apply_app(&client, ns, name, spec(&url, "app", &dest.name, automated)).await;
    (client, apps, dest, server, repo, url, ctl)
}

#[tokio::test(flavor = "multi_thread")]
async fn suspended_app_neither_syncs_nor_heals_and_resume_syncs_at_once() {
    let (client, apps, dest, _server, repo, url, ctl) =
        start("susp", "paused", json!({"prune": true, "selfHeal": true})).await;
    let (ns, name) = (apps.name.as_str(), "paused");
    let first = repo.head();
    wait_app(&client, ns, name, "Synced", 60, |a| synced_at(a, &first)).await;

    let out = moor_ok(&["app", "suspend", name, "-n", ns], &[]);
    assert!(out.stdout.contains("suspended"), "{}", out.stdout);
    wait_app(&client, ns, name, "with a Suspended condition", 30, |a| {
        has_condition(a, "Suspended")
    })
    .await;
    let listed = Command::new("kubectl")
        .args(["get", "applications.moor.dev", name, "-n", ns])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("SUSPENDED") && listed.contains("true"),
        "{listed}"
    );
    let shown = moor_ok(&["app", "get", name, "-n", ns], &[]).stdout;
    assert!(shown.contains("Suspended:"), "{shown}");

    // A new commit, announced by a webhook, and drift of the live object.
    let work = repo.clone_work();
    work.write("app/cm.yaml", cm("2"));
    let second = work.commit_and_push("value 2");
    let before = reconciles(&ctl, ns, name);
    assert_eq!(ctl.push(&url, "main", true), 202);
    eventually(
        "a reconcile after the webhook",
        Duration::from_secs(30),
        || async { (reconciles(&ctl, ns, name) > before).then_some(()) },
    )
    .await;
    let cms: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &dest.name,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    );
    cms.patch(
        "cfg",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"value": "drift"}})),
    )
    .await
    .unwrap();
    // The controller removes the refresh annotation in a reconcile that began after it was set,
    // so after the push and the drift: that reconcile synced nothing and healed nothing.
    let refreshed = moor_ok(&["app", "refresh", name, "-n", ns, "-o", "json"], &[]).json();
    assert_eq!(refreshed["status"]["sync"]["revision"], first.as_str());
    assert!(has_condition(&refreshed, "Suspended"), "{refreshed}");
    assert_eq!(
        cm_value(&client, &dest.name).await.as_deref(),
        Some("drift")
    );

    // A requested sync fails with the reason instead of waiting for the resume.
    let sync = moor(
        &["app", "sync", name, "-n", ns, "--wait", "--timeout", "30s"],
        &[],
    );
    assert_eq!(sync.code, 2, "{}{}", sync.stdout, sync.stderr);
    assert!(sync.stderr.contains("suspended"), "{}", sync.stderr);
    assert_eq!(
        cm_value(&client, &dest.name).await.as_deref(),
        Some("drift")
    );

    // Resumed: synced at once (well within the 60s poll interval), the drift healed on the way.
    moor_ok(&["app", "resume", name, "-n", ns], &[]);
    let a = wait_app(&client, ns, name, "Synced at the new commit", 15, |a| {
        synced_at(a, &second)
    })
    .await;
    assert!(!has_condition(&a, "Suspended"), "{a}");
    assert!(a["spec"].get("suspend").is_none(), "{}", a["spec"]);
    assert_eq!(cm_value(&client, &dest.name).await.as_deref(), Some("2"));

    // Deleting a suspended app still deletes its objects (the finalizer runs).
    moor_ok(&["app", "suspend", name, "-n", ns], &[]);
    wait_app(&client, ns, name, "with a Suspended condition", 30, |a| {
        has_condition(a, "Suspended")
    })
    .await;
    moor_ok(
        &[
            "app",
            "delete",
            name,
            "-n",
            ns,
            "--wait",
            "--timeout",
            "60s",
        ],
        &[],
    );
    assert_eq!(cm_value(&client, &dest.name).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn app_wait_for_sync_health_and_revision_times_out_with_the_state() {
    let (client, apps, dest, _server, repo, url, ctl) =
        start("wait", "waited", json!({"prune": true})).await;
    let (ns, name) = (apps.name.as_str(), "waited");
    let first = repo.head();

    let out = app_wait(&[name, "-n", ns, "--sync", "--health", "--timeout", "90s"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Synced and Healthy"), "{}", out.stdout);
    let a = get_app(&client, ns, name).await.unwrap();
    assert!(synced_at(&a, &first), "{a}");

    // --revision waits for the commit the webhook announces after the wait began.
    let work = repo.clone_work();
    work.write("app/cm.yaml", cm("2"));
    let second = work.commit_and_push("value 2");
    let (child, _) = start_wait(&[
        name,
        "-n",
        ns,
        "--revision",
        &second[..10],
        "--timeout",
        "60s",
    ]);
    assert_eq!(ctl.push(&url, "main", true), 202);
    let out = finish(child);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&second[..7]), "{}", out.stdout);
    assert_eq!(cm_value(&client, &dest.name).await.as_deref(), Some("2"));

    // A commit that never comes: exit 1, one line naming the app, the goal and the state.
    let out = app_wait(&[name, "-n", ns, "--revision", "0000000", "--timeout", "2s"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let last: Vec<&str> = out.stderr.lines().skip(1).collect();
    assert_eq!(last.len(), 1, "{}", out.stderr);
    for part in [
        "timed out after 2s",
        &format!("application {ns}/{name}"),
        "Synced and Healthy at revision 0000000",
        &format!("it is Synced and Healthy at {}", &second[..7]),
    ] {
        assert!(last[0].contains(part), "{part:?} not in {}", last[0]);
    }

    // A sync that fails while the wait runs (here: asked of a suspended app) ends it with 2.
    moor_ok(&["app", "suspend", name, "-n", ns], &[]);
    wait_app(&client, ns, name, "with a Suspended condition", 30, |a| {
        has_condition(a, "Suspended")
    })
    .await;
    let (child, _) = start_wait(&[name, "-n", ns, "--sync", "--timeout", "60s"]);
    moor_ok(&["app", "sync", name, "-n", ns], &[]);
    let out = finish(child);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("failed") && out.stderr.contains("suspended"),
        "{}",
        out.stderr
    );
    let _ = moor(&["app", "delete", name, "-n", ns], &[]);
}
