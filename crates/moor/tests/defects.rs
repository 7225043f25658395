//! End to end: regression tests of defects a new user found (issue 9, items 1-3), against the
//! real control plane, real git servers and a real `moor controller`.

mod common;

use common::apps::{apply_app, get_app, spec, wait_app};
use common::controller::Controller;
use common::{get, moor, moor_ok, write};
use moor_testkit::{GitServer, TestNamespace, client};
use serde_json::{Value, json};

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

async fn cm_value(client: &kube::Client, ns: &str, name: &str) -> Option<String> {
    let o = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    o["data"]["value"].as_str().map(String::from)
}

fn has_condition(app: &Value, type_: &str, needle: &str) -> bool {
    app["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter().any(|c| {
            c["type"] == type_ && c["message"].as_str().is_some_and(|m| m.contains(needle))
        })
    })
}

/// A manual app (no automated policy) syncing `path` of `url` into `dest`.
fn manual_spec(url: &str, path: &str, dest: &str) -> Value {
    json!({
        "source": {"repoURL": url, "targetRevision": "main", "path": path},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_app_sync_deploys_the_branch_head_not_the_last_polled_commit() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "head").await;
    let dest = TestNamespace::create(&client, "head-dest").await;
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "app/cm.yaml", &cm("settings", "v1"));
    let server = GitServer::start();
    let repo = server.create_repo("manifests", tmp.path());
    let url = server.http_url("manifests");
    // A poll interval far longer than the test: only the sync itself can see new commits.
    let _ctl = Controller::start(&apps_ns.name, &["--poll-interval", "600s"]);
    apply_app(
        &client,
        &apps_ns.name,
        "web",
        manual_spec(&url, "app", &dest.name),
    )
    .await;
    let ns_flag = ["-n", apps_ns.name.as_str()];
    let sync = |extra: &[&str]| {
        let mut args = vec!["app", "sync", "web", "--wait", "--timeout", "90s"];
        args.extend_from_slice(&ns_flag);
        args.extend_from_slice(extra);
        moor_ok(&args, &[])
    };
    sync(&[]);
    assert_eq!(
        cm_value(&client, &dest.name, "settings").await.as_deref(),
        Some("v1")
    );

    // The controller has fetched the repo; a new commit must still be what the sync deploys.
    let work = repo.clone_work();
    work.write("app/cm.yaml", cm("settings", "v2"));
    let v2 = work.commit_and_push("v2");
    sync(&[]);
    assert_eq!(
        cm_value(&client, &dest.name, "settings").await.as_deref(),
        Some("v2"),
        "moor app sync --wait returned before the branch head {v2} was live"
    );

    // Refresh: a fresh fetch and comparison, reflected in the status when the command returns.
    work.write("app/cm.yaml", cm("settings", "v3"));
    let v3 = work.commit_and_push("v3");
    let got = moor_ok(
        &[
            "app",
            "get",
            "web",
            "--refresh",
            "-o",
            "json",
            "-n",
            &apps_ns.name,
        ],
        &[],
    )
    .json();
    assert_eq!(got["status"]["sync"]["revision"], v3.as_str(), "{got}");
    assert_eq!(got["status"]["sync"]["status"], "OutOfSync", "{got}");
    assert!(
        got["metadata"]["annotations"]["moor.dev/refresh"].is_null(),
        "{got}"
    );
    // `moor app refresh` does the same and shows the app.
    work.write("app/cm.yaml", cm("settings", "v4"));
    let v4 = work.commit_and_push("v4");
    let out = moor_ok(&["app", "refresh", "web", "-n", &apps_ns.name], &[]);
    assert!(out.stdout.contains(&v4[..7]), "{}", out.stdout);
    // Nothing was synced by the refreshes.
    assert_eq!(
        cm_value(&client, &dest.name, "settings").await.as_deref(),
        Some("v2")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_an_emptied_source_is_never_pruned_automatically_unless_allow_empty() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "empty").await;
    let kept = TestNamespace::create(&client, "empty-kept").await;
    let allowed = TestNamespace::create(&client, "empty-allowed").await;
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["kept", "allowed"] {
        write(tmp.path(), &format!("{dir}/a.yaml"), &cm("a", "1"));
        write(tmp.path(), &format!("{dir}/b.yaml"), &cm("b", "1"));
        write(
            tmp.path(),
            &format!("{dir}/README.md"),
            "# the app's manifests\n",
        );
    }
    let server = GitServer::start();
    let repo = server.create_repo("manifests", tmp.path());
    let url = server.http_url("manifests");
    let ctl = Controller::start(&apps_ns.name, &["--poll-interval", "600s"]);
    apply_app(
        &client,
        &apps_ns.name,
        "kept",
        spec(&url, "kept", &kept.name, json!({"prune": true})),
    )
    .await;
    apply_app(
        &client,
        &apps_ns.name,
        "allowed",
        spec(
            &url,
            "allowed",
            &allowed.name,
            json!({"prune": true, "allowEmpty": true}),
        ),
    )
    .await;
    for app in ["kept", "allowed"] {
        wait_app(&client, &apps_ns.name, app, "Synced", 60, |a| {
            a["status"]["sync"]["status"] == "Synced"
        })
        .await;
    }

    // One commit deletes every manifest of both apps; their READMEs stay.
    let work = repo.clone_work();
    for dir in ["kept", "allowed"] {
        work.remove(&format!("{dir}/a.yaml"));
        work.remove(&format!("{dir}/b.yaml"));
    }
    let head = work.commit_and_push("remove everything");
    assert_eq!(ctl.push(&url, "main", true), 202);

    let app = wait_app(
        &client,
        &apps_ns.name,
        "kept",
        "blocked as empty",
        60,
        |a| {
            a["status"]["sync"]["revision"] == head.as_str()
                && has_condition(a, "ComparisonError", "renders no objects")
        },
    )
    .await;
    assert_eq!(app["status"]["sync"]["status"], "OutOfSync", "{app}");
    assert!(
        has_condition(&app, "ComparisonError", "README.md (not a manifest file)"),
        "{app}"
    );
    assert!(
        has_condition(&app, "ComparisonError", "allowEmpty"),
        "{app}"
    );
    for name in ["a", "b"] {
        assert!(
            get(&client, "v1", "ConfigMap", Some(&kept.name), name)
                .await
                .is_some(),
            "ConfigMap {name} was pruned by an automated sync of an empty source"
        );
    }
    // allowEmpty: true prunes as asked.
    wait_app(
        &client,
        &apps_ns.name,
        "allowed",
        "Synced at the empty commit",
        60,
        |a| {
            a["status"]["sync"]["status"] == "Synced"
                && a["status"]["sync"]["revision"] == head.as_str()
        },
    )
    .await;
    for name in ["a", "b"] {
        assert!(
            get(&client, "v1", "ConfigMap", Some(&allowed.name), name)
                .await
                .is_none()
        );
    }
    // A manual sync with prune is still allowed.
    moor_ok(
        &[
            "app",
            "sync",
            "kept",
            "--prune",
            "--wait",
            "--timeout",
            "90s",
            "-n",
            &apps_ns.name,
        ],
        &[],
    );
    let after = get_app(&client, &apps_ns.name, "kept").await.unwrap();
    for name in ["a", "b"] {
        assert!(
            get(&client, "v1", "ConfigMap", Some(&kept.name), name)
                .await
                .is_none(),
            "{name} not pruned by a sync by hand with prune: {}",
            after["status"]["operationState"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_a_path_without_manifests_is_an_error_listing_the_files() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "nofiles").await;
    let dest = TestNamespace::create(&client, "nofiles-dest").await;
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "jsonnet/lib.libsonnet",
        "{ kind: 'ConfigMap' }\n",
    );
    write(tmp.path(), "jsonnet/README.md", "# jsonnet\n");

    // The CLI: an error naming the path and the files, nothing written; --allow-empty accepts it.
    let repo = tmp.path().to_str().unwrap();
    for cmd in [
        vec!["render", "--repo", repo, "--path", "jsonnet"],
        vec![
            "sync", "--repo", repo, "--path", "jsonnet", "--app", "nofiles", "-n", &dest.name,
        ],
    ] {
        let r = moor(&cmd, &[]);
        assert_ne!(r.code, 0, "{cmd:?} succeeded: {}", r.stdout);
        assert!(r.stderr.contains("path jsonnet of"), "{}", r.stderr);
        assert!(r.stderr.contains("renders no objects"), "{}", r.stderr);
        assert!(
            r.stderr.contains(
                "README.md (not a manifest file), lib.libsonnet (a Jsonnet library: only imported)"
            ),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("--allow-empty"), "{}", r.stderr);
        assert_eq!(
            r.stderr.matches("renders no objects").count(),
            1,
            "{}",
            r.stderr
        );
    }
    moor_ok(
        &[
            "sync",
            "--repo",
            repo,
            "--path",
            "jsonnet",
            "--app",
            "nofiles",
            "-n",
            &dest.name,
            "--allow-empty",
        ],
        &[],
    );

    // The controller: not Synced, a condition listing the files.
    let server = GitServer::start();
    server.create_repo("manifests", tmp.path());
    let url = server.http_url("manifests");
    let _ctl = Controller::start(&apps_ns.name, &[]);
    apply_app(
        &client,
        &apps_ns.name,
        "nofiles",
        spec(&url, "jsonnet", &dest.name, json!({"prune": true})),
    )
    .await;
    let app = wait_app(
        &client,
        &apps_ns.name,
        "nofiles",
        "blocked as empty",
        60,
        |a| {
            has_condition(
                a,
                "ComparisonError",
                "lib.libsonnet (a Jsonnet library: only imported)",
            )
        },
    )
    .await;
    assert_eq!(app["status"]["sync"]["status"], "OutOfSync", "{app}");
}
