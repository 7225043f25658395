//! End to end: the controller's repository cache does not grow with every commit.

mod common;

use std::path::Path;
use std::time::Duration;

use common::apps::{apply_app, spec, synced_at, wait_app};
use common::controller::Controller;
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::json;

fn configmap(n: usize) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: counter\ndata:\n  n: \"{n}\"\n")
}

/// Checkout directories (`repos/checkouts/<repo>/<commit>`) under the controller's cache.
fn checkouts(cache: &Path) -> Vec<String> {
    let list = |dir: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    };
    list(&cache.join("repos/checkouts"))
        .iter()
        .flat_map(|repo| list(repo))
        .map(|c| c.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_commits_through_the_controller_leave_a_bounded_number_of_checkouts() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "cachegc").await;
    let server = GitServer::start();
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "app/cm.yaml", &configmap(0));
    let repo = server.create_repo("m", dir.path());
    let url = server.http_url("m");
    let ctl = Controller::start(
        &ns.name,
        &["--cache-gc-interval", "1s", "--cache-gc-min-idle", "2s"],
    );
    let cache = ctl.log.parent().unwrap().to_path_buf();
    apply_app(
        &client,
        &ns.name,
        "busy",
        spec(&url, "app", &ns.name, json!({})),
    )
    .await;
    let first = repo.head();
    wait_app(&client, &ns.name, "busy", "synced", 60, |a| {
        synced_at(a, &first)
    })
    .await;

    let work = repo.clone_work();
    let mut last = first;
    for n in 1..=20 {
        work.write("app/cm.yaml", configmap(n));
        last = work.commit_and_push(&format!("n = {n}"));
        assert_eq!(ctl.push(&url, "main", true), 202);
        wait_app(&client, &ns.name, "busy", "at the new commit", 60, |a| {
            synced_at(a, &last)
        })
        .await;
    }
    // 21 commits were checked out; the collector keeps the 5 most recently used per repository
    // (the app's current commit among them).
    let left = eventually(
        "unused checkouts to be removed",
        Duration::from_secs(30),
        || {
            let now = checkouts(&cache);
            async move { (now.len() <= 5).then_some(now) }
        },
    )
    .await;
    assert!(
        left.contains(&last),
        "the app's current commit was removed: {left:?}"
    );
    // A collection never takes what is in use: the app stays synced and healthy at its commit.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let app = wait_app(&client, &ns.name, "busy", "still synced", 10, |a| {
        synced_at(a, &last)
    })
    .await;
    assert!(
        app["status"]["conditions"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{app}"
    );
    assert!(checkouts(&cache).contains(&last));
}
