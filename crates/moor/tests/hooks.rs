//! End to end through the controller: hooks shown in the Application's status and by
//! `moor app get`, a failing PreSync hook failing the operation by name with the SyncFail hook
//! run, a new revision pushed while a hook runs synced after it (queued, not lost), and PreDelete
//! / PostDelete hooks around the deletion of an app. Failing and hanging pods come from the local
//! control plane's kwok stages (`moor.dev/test-outcome`).

mod common;

use std::time::Duration;

use common::apps::{apply_app, get_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::{get, git_repo, moor_ok, write};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::{GitServer, Repo, TestNamespace, client, eventually};
use serde_json::{Value, json};

fn job(name: &str, hook: &str, extra_annotations: &str, outcome: Option<&str>) -> String {
    let marker = outcome
        .map(|o| format!("      annotations: {{moor.dev/test-outcome: {o}}}\n"))
        .unwrap_or_default();
    format!(
        "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  {name}\n  annotations:\n    argocd.argoproj.io/hook: {hook}\n{extra_annotations}\
         spec:\n  backoffLimit: 0\n  template:\n    metadata:\n{marker}      labels: {{app: hook}}\n\
         \x20   spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: busybox}}]\n"
    )
}

fn cm(name: &str, value: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value:?}\n"
    )
}

/// The hook entries of the app's last operation: `PHASE:name:STATUS`.
fn hook_runs(a: &Value) -> Vec<String> {
    a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r.get("hookType").is_some())
        .map(|r| {
            format!(
                "{}:{}:{}",
                r["hookType"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or(""),
                r["hookPhase"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// What the controller tests here start from: `manifests` as app/all.yaml in repository `r` of a
/// git server, a controller for `ns`, and app `a` there syncing it with `automated`. The server,
/// repository and controller live as long as the test holds them; the URL is for webhook pushes.
async fn start_app(
    client: &kube::Client,
    ns: &str,
    manifests: &str,
    automated: Value,
) -> (GitServer, Repo, String, Controller) {
    let (server, repo) = git_repo("r", &[("app/all.yaml", manifests)]);
    let url = server.file_url("r");
    let ctl = Controller::start(ns, &["--namespace", ns]);
    apply_app(client, ns, "a", spec(&url, "app", ns, automated)).await;
    (server, repo, url, ctl)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_controller_runs_hooks_shows_them_and_fails_the_operation_naming_a_failed_hook() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "ctlhooks").await;
    let (_server, repo, url, ctl) = start_app(
        &client,
        &ns.name,
        &[
            job("name: migrate", "PreSync", "", None),
            job("name: smoke", "PostSync", "", None),
            cm("settings", "v1"),
        ]
        .concat(),
        json!({"prune": true}),
    )
    .await;
    let a = wait_app(&client, &ns.name, "a", "synced with its hooks", 90, |a| {
        synced_healthy(a) && hook_runs(a).len() == 2
    })
    .await;
    assert_eq!(
        hook_runs(&a),
        ["PreSync:migrate:Succeeded", "PostSync:smoke:Succeeded"]
    );
    let shown = moor_ok(&["app", "get", "a", "-n", &ns.name], &[]).stdout;
    assert!(
        shown.contains("HOOKS") && shown.contains("PreSync") && shown.contains("smoke"),
        "{shown}"
    );
    // The hook objects are not app resources.
    let resources = a["status"]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");

    // A failing PreSync hook: the operation fails naming it, nothing steady is written, the
    // SyncFail hook runs.
    let work = repo.clone_work();
    work.write(
        "app/all.yaml",
        [
            job("name: migrate", "PreSync", "", Some("fail")),
            job("name: page", "SyncFail", "", None),
            cm("settings", "v2"),
        ]
        .concat(),
    );
    work.commit_and_push("a failing migration");
    ctl.push(&url, "main", true);
    let a = wait_app(&client, &ns.name, "a", "failed by its hook", 90, |a| {
        a["status"]["operationState"]["phase"] == "Failed"
    })
    .await;
    let msg = a["status"]["operationState"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "PreSync hook Job {}/migrate failed: job failed",
            ns.name
        )),
        "{msg}"
    );
    assert!(
        hook_runs(&a).contains(&"SyncFail:page:Succeeded".to_string()),
        "{:?}",
        hook_runs(&a)
    );
    let settings = get(&client, "v1", "ConfigMap", Some(&ns.name), "settings")
        .await
        .unwrap();
    assert_eq!(settings["data"]["k"], "v1", "a steady object was written");
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revision_pushed_while_a_hook_runs_is_synced_after_it() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "hookqueue").await;
    let slow = "    moor.dev/hook-timeout: 8s\n";
    let (_server, repo, url, ctl) = start_app(
        &client,
        &ns.name,
        &[
            job("name: slow", "PreSync", slow, Some("hang")),
            cm("settings", "v1"),
        ]
        .concat(),
        json!({}),
    )
    .await;
    wait_app(&client, &ns.name, "a", "waiting for its hook", 60, |a| {
        hook_runs(a).contains(&"PreSync:slow:Running".to_string())
    })
    .await;
    // While the hook runs, a fixed revision arrives.
    let work = repo.clone_work();
    work.write(
        "app/all.yaml",
        [
            job("name: fixed", "PreSync", "", None),
            cm("settings", "v2"),
        ]
        .concat(),
    );
    let fixed = work.commit_and_push("fix the migration");
    ctl.push(&url, "main", true);
    let a = wait_app(
        &client,
        &ns.name,
        "a",
        "synced at the pushed revision",
        90,
        |a| synced_healthy(a) && a["status"]["sync"]["revision"] == fixed.as_str(),
    )
    .await;
    assert!(hook_runs(&a).contains(&"PreSync:fixed:Succeeded".to_string()));
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pre_delete_and_post_delete_hooks_run_around_the_deletion_of_an_app() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "delhooks").await;
    let (_server, _repo, _url, _ctl) = start_app(
        &client,
        &ns.name,
        &[
            job("name: drain", "PreDelete", "", None),
            job("name: cleanup", "PostDelete", "", None),
            cm("settings", "v1"),
        ]
        .concat(),
        json!({"prune": true}),
    )
    .await;
    wait_app(&client, &ns.name, "a", "synced", 90, synced_healthy).await;
    // Deletion hooks do not run on a sync.
    assert!(
        get(&client, "batch/v1", "Job", Some(&ns.name), "drain")
            .await
            .is_none()
    );

    let apps: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns.name,
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("moor.dev", "v1alpha1", "Application"),
            "applications",
        ),
    );
    apps.delete("a", &Default::default()).await.unwrap();
    eventually("the app gone", Duration::from_secs(90), || async {
        get_app(&client, &ns.name, "a")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "settings")
            .await
            .is_none()
    );
    let drain = get(&client, "batch/v1", "Job", Some(&ns.name), "drain")
        .await
        .expect("PreDelete ran");
    let cleanup = get(&client, "batch/v1", "Job", Some(&ns.name), "cleanup")
        .await
        .expect("PostDelete ran");
    // The PostDelete hook was created once the PreDelete one had completed.
    let completed = drain["status"]["completionTime"]
        .as_str()
        .unwrap_or_else(|| panic!("the PreDelete hook ran again: {}", drain["status"]));
    let created = cleanup["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(
        created >= completed,
        "cleanup created {created}, drain completed {completed}"
    );
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn moor_render_and_moor_sync_print_objects_and_hooks_in_the_one_sync_order() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "clihooks").await;
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/all.yaml",
        &[
            job("name: smoke", "PostSync", "", None),
            cm("settings", "v1"),
            job("name: migrate", "PreSync", "", None),
            cm("early", "v1").replace(
                "metadata:\n",
                "metadata:\n  annotations: {argocd.argoproj.io/sync-wave: \"-1\"}\n",
            ),
        ]
        .concat(),
    );
    let dir = src.path().to_str().unwrap();
    let rendered = moor_ok(&["render", "--repo", dir, "--path", "app"], &[]).stdout;
    let names: Vec<&str> = rendered
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .collect();
    assert_eq!(
        names,
        ["migrate", "early", "settings", "smoke"],
        "{rendered}"
    );
    let synced = moor_ok(
        &[
            "sync",
            "--repo",
            dir,
            "--path",
            "app",
            "--app",
            "clihooks",
            "--namespace",
            &ns.name,
        ],
        &[],
    )
    .stdout;
    let rows: Vec<String> = synced
        .lines()
        .skip(1)
        .filter(|l| l.contains(&ns.name))
        .map(|l| {
            l.split_whitespace()
                .skip(2)
                .take(4)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        rows,
        [
            "migrate PreSync hook succeeded",
            "early created",
            "settings created",
            "smoke PostSync hook succeeded"
        ],
        "{synced}"
    );
    ns.delete(&client).await;
}
