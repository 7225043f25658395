//! End to end: Helm charts from an OCI registry. A chart packaged and pushed with the real
//! `helm push` to the real registry (distribution's `docker-registry`) is deployed by an
//! Application naming `oci://127.0.0.1:PORT/charts`, its `targetRevision` a semver constraint;
//! a newer matching version is picked up. Argo CD's plain-host form (`127.0.0.1:PORT/charts`
//! with a repository Secret saying `enableOCI: "true"`) takes the Secret's username and
//! password to a registry that requires them; without them the app says which registry and
//! chart refused it, never the password.
//! Needs helm on PATH (`source scripts/lib/tools.sh; ensure_tools`).

mod common;

use std::path::Path;

use common::apps::{apply_app, conditions, get_app, synced_healthy, wait_app};
use common::controller::Controller;
use common::get;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use moor_testkit::registry::{Auth, Registry, package_chart};
use moor_testkit::{TestNamespace, client, eventually, unique_name};
use serde_json::{Value, json};

/// Packages `name` at each of `versions` and pushes them to `oci://<registry>/charts`.
fn push(reg: &Registry, dir: &Path, name: &str, versions: &[&str]) {
    for v in versions {
        reg.helm_push(&package_chart(dir, name, v), "charts");
    }
}

/// An automated app deploying `chart` from `repo_url` at `constraint` into `dest`.
fn chart_app(repo_url: &str, chart: &str, constraint: &str, dest: &str) -> Value {
    json!({
        "source": {"repoURL": repo_url, "chart": chart, "targetRevision": constraint},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
        "syncPolicy": {"automated": {"prune": true}},
        "pollInterval": "10s",
    })
}

/// The chart's ConfigMap (`<release>-<chart>`) field `key`, if it exists.
async fn chart_data(client: &kube::Client, ns: &str, name: &str, key: &str) -> Option<String> {
    let cm = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    cm["data"][key].as_str().map(str::to_string)
}

fn synced_at(a: &Value, version: &str) -> bool {
    synced_healthy(a) && a["status"]["sync"]["revision"] == version
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_pushed_to_the_registry_deploys_from_oci_and_follows_its_constraint() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "ocichart").await;
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    push(&reg, tmp.path(), "ocidemo", &["1.0.0", "1.1.0", "2.0.0"]);
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    let url = format!("oci://{}/charts", reg.host());
    apply_app(
        &client,
        &ns.name,
        "demo",
        chart_app(&url, "ocidemo", "1.x", &ns.name),
    )
    .await;
    wait_app(&client, &ns.name, "demo", "synced at 1.1.0", 120, |a| {
        synced_at(a, "1.1.0")
    })
    .await;
    // The release is named after the app; the object is what the chart at 1.1.0 renders.
    let version = chart_data(&client, &ns.name, "demo-ocidemo", "version").await;
    assert_eq!(version.as_deref(), Some("1.1.0"));
    assert_eq!(
        chart_data(&client, &ns.name, "demo-ocidemo", "greeting")
            .await
            .as_deref(),
        Some("hello")
    );

    // A newer version the constraint admits is deployed at the next poll; 2.x is not.
    push(&reg, tmp.path(), "ocidemo", &["1.2.0", "2.1.0"]);
    wait_app(&client, &ns.name, "demo", "synced at 1.2.0", 120, |a| {
        synced_at(a, "1.2.0")
    })
    .await;
    eventually(
        "the ConfigMap of chart version 1.2.0",
        std::time::Duration::from_secs(60),
        || async {
            let v = chart_data(&client, &ns.name, "demo-ocidemo", "version").await;
            (v.as_deref() == Some("1.2.0")).then_some(())
        },
    )
    .await;
}

/// A repository Secret in `ns` for `url`, Argo CD's OCI form.
async fn oci_secret(client: &kube::Client, ns: &str, url: &str, user: &str, password: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {
            "name": unique_name("oci-repo"),
            "labels": {"moor.dev/secret-type": "repository"}
        },
        "stringData": {"url": url, "type": "helm", "enableOCI": "true",
                       "username": user, "password": password}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create repository Secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_host_url_with_enable_oci_uses_the_secrets_credentials_and_errors_keep_them() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "ocisecret").await;
    let password = "oci-Secret-pa55";
    let private = Registry::start_with(Auth::Token {
        user: "charts".into(),
        password: password.into(),
    });
    // A second registry that requires credentials no Secret gives.
    let other_password = "other-Pa55-word";
    let other = Registry::start_with(Auth::Basic {
        user: "charts".into(),
        password: other_password.into(),
    });
    let tmp = tempfile::tempdir().unwrap();
    push(&private, tmp.path(), "private", &["0.9.0", "1.0.0+build.7"]);
    push(&other, tmp.path(), "private", &["1.0.0"]);
    let plain = format!("{}/charts", private.host());
    oci_secret(&client, &ns.name, &plain, "charts", password).await;
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    apply_app(
        &client,
        &ns.name,
        "plain",
        chart_app(&plain, "private", ">=1.0.0", &ns.name),
    )
    .await;
    let other_url = format!("oci://{}/charts", other.host());
    apply_app(
        &client,
        &ns.name,
        "denied",
        chart_app(&other_url, "private", "1.x", &ns.name),
    )
    .await;

    // `+` in the version was `_` in the tag; the app reports the version as the chart has it.
    wait_app(
        &client,
        &ns.name,
        "plain",
        "synced at 1.0.0+build.7",
        120,
        |a| synced_at(a, "1.0.0+build.7"),
    )
    .await;
    let version = chart_data(&client, &ns.name, "plain-private", "version").await;
    assert_eq!(version.as_deref(), Some("1.0.0+build.7"));
    assert!(
        private.token_requests() > 0,
        "the token service was not asked"
    );

    let a = wait_app(
        &client,
        &ns.name,
        "denied",
        "to say the registry refused it",
        90,
        |a| conditions(a).contains(&other.host()),
    )
    .await;
    let text = conditions(&a);
    assert!(
        text.contains("\"private\"") && text.contains("refused the credentials"),
        "{text}"
    );
    assert_ne!(a["status"]["sync"]["status"], "Synced", "{a}");
    assert!(
        chart_data(&client, &ns.name, "denied-private", "version")
            .await
            .is_none(),
        "the app without credentials deployed the chart"
    );
    // No password in any status: the Secret's (sent to its own registry) nor the other one.
    let apps = [get_app(&client, &ns.name, "plain").await, Some(a)];
    for app in apps.into_iter().flatten() {
        let status = app["status"].to_string();
        assert!(
            !status.contains(password) && !status.contains(other_password),
            "{status}"
        );
    }
}
