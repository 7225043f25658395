//! End to end: Helm charts from a Helm repository (issue 14's acceptance). A real repository
//! (static HTTP with basic auth serving `helm package` and `helm repo index` output) holds a
//! chart; an Application names it with `chart:` and a semver range in `targetRevision`, the
//! repository Secret gives the username and password. The app deploys the highest version in
//! the range; a newer one published later is deployed at the next interval, and the history
//! records each chart version. Wrong credentials leave the app unsynced with a condition that
//! names the repository and chart but not the password.
//! Needs helm on PATH (`source scripts/lib/tools.sh; ensure_tools`).

mod common;

use common::apps::{apply_app, conditions, get_app, synced_healthy, wait_app};
use common::controller::Controller;
use common::get;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use moor_testkit::helm_repo::HelmRepo;
use moor_testkit::{TestNamespace, client, eventually, unique_name};
use serde_json::{Value, json};

const USER: &str = "chart-reader";

/// An automated app deploying `chart` from `repo_url` at `constraint` into `dest`.
fn chart_app(repo_url: &str, chart: &str, constraint: &str, dest: &str) -> Value {
    json!({
        "source": {"repoURL": repo_url, "chart": chart, "targetRevision": constraint},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
        "syncPolicy": {"automated": {"prune": true}},
        "pollInterval": "10s",
    })
}

/// A repository Secret in `ns` for the Helm repository `url` (Argo CD's form).
async fn repo_secret(client: &kube::Client, ns: &str, url: &str, password: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {
            "name": unique_name("helm-repo"),
            "labels": {"moor.dev/secret-type": "repository"}
        },
        "stringData": {"url": url, "type": "helm", "username": USER, "password": password}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create repository Secret");
}

/// The chart's ConfigMap (`<release>-<chart>`) field `key`, if it exists.
async fn chart_data(client: &kube::Client, ns: &str, name: &str, key: &str) -> Option<String> {
    let cm = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    cm["data"][key].as_str().map(str::to_string)
}

fn synced_at(a: &Value, version: &str) -> bool {
    synced_healthy(a) && a["status"]["sync"]["revision"] == version
}

/// The revisions of `status.history`, oldest first.
fn history(a: &Value) -> Vec<String> {
    a["status"]["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|e| e["revision"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_pinned_by_a_range_follows_new_versions_of_the_helm_repository() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "helmrepo").await;
    let password = "helm-Repo-pa55";
    let repo = HelmRepo::with_basic_auth(USER, password);
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        repo.publish("hdemo", v);
    }
    repo_secret(&client, &ns.name, repo.url(), password).await;
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    apply_app(
        &client,
        &ns.name,
        "demo",
        chart_app(repo.url(), "hdemo", ">=1.0.0 <2.0.0", &ns.name),
    )
    .await;
    wait_app(&client, &ns.name, "demo", "synced at 1.1.0", 120, |a| {
        synced_at(a, "1.1.0")
    })
    .await;
    let version = chart_data(&client, &ns.name, "demo-hdemo", "version").await;
    assert_eq!(version.as_deref(), Some("1.1.0"));

    // A new version in the range is published: deployed at the next interval.
    repo.publish("hdemo", "1.2.0");
    wait_app(&client, &ns.name, "demo", "synced at 1.2.0", 120, |a| {
        synced_at(a, "1.2.0")
    })
    .await;
    eventually(
        "the ConfigMap of chart version 1.2.0",
        std::time::Duration::from_secs(60),
        || async {
            let v = chart_data(&client, &ns.name, "demo-hdemo", "version").await;
            (v.as_deref() == Some("1.2.0")).then_some(())
        },
    )
    .await;
    // The history shows the chart versions deployed, with the source that named them.
    let a = wait_app(&client, &ns.name, "demo", "history of 1.2.0", 60, |a| {
        history(a).last().map(String::as_str) == Some("1.2.0")
    })
    .await;
    let revisions = history(&a);
    assert!(
        revisions.ends_with(&["1.1.0".into(), "1.2.0".into()]),
        "{revisions:?}"
    );
    let last = &a["status"]["history"].as_array().unwrap().last().unwrap()["source"];
    assert_eq!(last["chart"], "hdemo", "{last}");
    assert_eq!(last["targetRevision"], ">=1.0.0 <2.0.0", "{last}");
    // Every request carried the Secret's credentials; the index is polled, not refetched
    // per render.
    assert_eq!(repo.authorized_requests().len(), repo.requests().len());
    assert_eq!(repo.count("/hdemo-1.1.0.tgz"), 1, "{:?}", repo.requests());
    assert!(!a["status"].to_string().contains(password));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_names_the_repository_and_chart_but_not_the_password() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "helmdeny").await;
    let repo = HelmRepo::with_basic_auth(USER, "the-right-Pa55");
    repo.publish("hdeny", "1.0.0");
    let wrong = "a-wrong-Pa55word";
    repo_secret(&client, &ns.name, repo.url(), wrong).await;
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    apply_app(
        &client,
        &ns.name,
        "denied",
        chart_app(repo.url(), "hdeny", "1.x", &ns.name),
    )
    .await;
    let a = wait_app(
        &client,
        &ns.name,
        "denied",
        "to say the repository refused it",
        90,
        |a| conditions(a).contains(repo.url()),
    )
    .await;
    let text = conditions(&a);
    assert!(
        text.contains("\"hdeny\"")
            && text.contains("401")
            && text.contains("refused the credentials"),
        "{text}"
    );
    assert_ne!(a["status"]["sync"]["status"], "Synced", "{a}");
    assert!(
        chart_data(&client, &ns.name, "denied-hdeny", "version")
            .await
            .is_none()
    );
    let status = get_app(&client, &ns.name, "denied").await.unwrap()["status"].to_string();
    assert!(!status.contains(wrong), "{status}");
}
