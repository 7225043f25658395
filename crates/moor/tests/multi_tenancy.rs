//! End to end: projects and impersonation, tested as a hostile tenant would try them. Each test
//! runs its own controller whose namespace (`--namespace`) holds its projects and Secrets, so
//! tests never see each other's projects.

mod common;

use std::time::Duration;

use common::apps::{apply_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::{get, write};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::{GitServer, TestNamespace, client, eventually, unique_name};
use serde_json::{Value, json};

const HOME: &str = "https://kubernetes.default.svc";

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value:?}\n")
}

/// Creates (or updates) an object from JSON, server-side, as the test's admin.
async fn apply(client: &Client, obj: Value) {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = obj["kind"].as_str().unwrap();
    let (ar, caps) = kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(g, v, kind))
        .await
        .unwrap_or_else(|e| panic!("{kind} is not served: {e}"));
    let name = obj["metadata"]["name"].as_str().unwrap();
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    api.patch(name, &PatchParams::apply("test").force(), &Patch::Apply(&obj))
        .await
        .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
}

async fn apply_project(client: &Client, group: &str, ns: &str, name: &str, spec: Value) {
    apply(
        client,
        json!({"apiVersion": format!("{group}/v1alpha1"), "kind": "AppProject",
               "metadata": {"name": name, "namespace": ns}, "spec": spec}),
    )
    .await;
}

/// A namespace with exactly this name (projects match namespaces by pattern), deleted on drop.
async fn namespace(client: &Client, name: &str) -> TestNamespace {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": {"moor.dev/test": "true"}}}),
    )
    .await;
    TestNamespace {
        name: name.to_string(),
    }
}

/// The message of the app's condition of `type_`, if it has one.
fn condition(a: &Value, type_: &str) -> Option<String> {
    a["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

async fn wait_condition(client: &Client, ns: &str, app: &str, type_: &str, needle: &str) -> String {
    let a = wait_app(
        client,
        ns,
        app,
        &format!("to have a {type_} condition with {needle:?}"),
        90,
        |a| condition(a, type_).is_some_and(|m| m.contains(needle)),
    )
    .await;
    condition(&a, type_).unwrap()
}

async fn configmap_value(client: &Client, ns: &str, name: &str) -> Option<String> {
    let o = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    o["data"]["k"].as_str().map(str::to_string)
}

async fn second_cluster_client() -> Client {
    let kc = kube::config::Kubeconfig::read_from(moor_testkit::second_kubeconfig_path()).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    Client::try_from(cfg).unwrap()
}

/// Registers the second test cluster as cluster Secret `second` in `ns`.
async fn register_second_cluster(client: &Client, ns: &str, project: Option<&str>) {
    let kubeconfig = std::fs::read_to_string(moor_testkit::second_kubeconfig_path()).unwrap();
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    let mut data = json!({"name": "second", "server": server, "config": kubeconfig});
    if let Some(p) = project {
        data["project"] = json!(p);
    }
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "cluster-second", "namespace": ns,
                            "labels": {"moor.dev/secret-type": "cluster"}},
               "stringData": data}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_is_refused_every_object_repo_and_destination_outside_its_project_before_any_write()
 {
    let client = client().await;
    let home = TestNamespace::create(&client, "tenancy").await;
    let uid = unique_name("t");
    let dev = namespace(&client, &format!("{uid}-team-a-dev")).await;
    let team_b = namespace(&client, &format!("{uid}-team-b")).await;
    let server = GitServer::start();
    let a_src = tempfile::tempdir().unwrap();
    write(a_src.path(), "app/settings.yaml", &cm("settings", "v1"));
    let repo_a = server.create_repo("team-a", a_src.path());
    let b_src = tempfile::tempdir().unwrap();
    write(b_src.path(), "app/settings.yaml", &cm("from-b", "b"));
    server.create_repo("team-b", b_src.path());
    let (url_a, url_b) = (server.file_url("team-a"), server.file_url("team-b"));
    register_second_cluster(&client, &home.name, None).await;
    apply_project(
        &client,
        "moor.dev",
        &home.name,
        "team-a",
        json!({"sourceRepos": [url_a],
               "destinations": [{"server": HOME, "namespace": format!("{uid}-team-a-*")}]}),
    )
    .await;
    let ctl = Controller::start(&home.name, &["--namespace", &home.name]);
    let mut s = spec(&url_a, "app", &dev.name, json!({"prune": true}));
    s["project"] = json!("team-a");
    apply_app(&client, &home.name, "a", s).await;
    wait_app(&client, &home.name, "a", "synced", 90, synced_healthy).await;

    // Each attempt in its own commit, which also changes `settings`: a sync that applied
    // anything of the commit would show there.
    let work = repo_a.clone_work();
    let attempts = [
        (
            "crb.yaml",
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {uid}-crb\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\n\
                 subjects: [{{kind: ServiceAccount, name: default, namespace: {}}}]\n",
                dev.name
            ),
            format!(
                "ClusterRoleBinding {uid}-crb (cluster-scoped kind rbac.authorization.k8s.io/ClusterRoleBinding is not in clusterResourceWhitelist)"
            ),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None, format!("{uid}-crb")),
        ),
        (
            "web.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {}\n\
                 spec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n\
                 \x20   spec: {{containers: [{{name: web, image: nginx}}]}}\n",
                team_b.name
            ),
            format!(
                "Deployment {}/web (namespace {} is not in destinations)",
                team_b.name, team_b.name
            ),
            ("apps/v1", "Deployment", Some(team_b.name.clone()), "web".to_string()),
        ),
        (
            "ns.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {uid}-team-a-new\n"),
            format!(
                "Namespace {uid}-team-a-new (cluster-scoped kind Namespace is not in clusterResourceWhitelist)"
            ),
            ("v1", "Namespace", None, format!("{uid}-team-a-new")),
        ),
    ];
    for (i, (file, body, rule, (api_version, kind, ns, name))) in attempts.iter().enumerate() {
        work.write(&format!("app/{file}"), body);
        work.write("app/settings.yaml", cm("settings", &format!("v{}", i + 2)));
        work.commit_and_push(&format!("try {file}"));
        assert_eq!(ctl.push(&url_a, "main", true), 202);
        let msg = wait_condition(&client, &home.name, "a", "InvalidSpecError", rule).await;
        assert!(
            msg.starts_with("project \"team-a\" does not permit: "),
            "{msg}"
        );
        assert_eq!(
            configmap_value(&client, &dev.name, "settings").await.as_deref(),
            Some("v1"),
            "part of the refused commit ({file}) was applied"
        );
        assert!(
            get(&client, api_version, kind, ns.as_deref(), name)
                .await
                .is_none(),
            "{kind} {name} was written"
        );
        work.remove(&format!("app/{file}"));
    }
    // Back inside the project, the app syncs again.
    work.write("app/settings.yaml", cm("settings", "v5"));
    work.commit_and_push("only permitted objects");
    ctl.push(&url_a, "main", true);
    eventually("settings v5", Duration::from_secs(60), || async {
        (configmap_value(&client, &dev.name, "settings").await.as_deref() == Some("v5")).then_some(())
    })
    .await;

    // An app of team-a reading team-b's repository.
    let mut s = spec(&url_b, "app", &dev.name, json!({}));
    s["project"] = json!("team-a");
    apply_app(&client, &home.name, "other-repo", s).await;
    let msg = wait_condition(&client, &home.name, "other-repo", "InvalidSpecError", "sourceRepos").await;
    assert!(
        msg.starts_with("project \"team-a\" does not permit repository ")
            && msg.ends_with("it is not in sourceRepos"),
        "{msg}"
    );
    // An app of team-a writing to the second cluster.
    let mut s = spec(&url_a, "app", &dev.name, json!({}));
    s["project"] = json!("team-a");
    s["destination"] = json!({"name": "second", "namespace": dev.name});
    apply_app(&client, &home.name, "other-cluster", s).await;
    let msg = wait_condition(&client, &home.name, "other-cluster", "InvalidSpecError", "destinations").await;
    assert!(
        msg.contains("does not permit destination second (server https://127.0.0.1:"),
        "{msg}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(configmap_value(&client, &dev.name, "from-b").await.is_none());
    let second = second_cluster_client().await;
    assert!(get(&second, "v1", "Namespace", None, &dev.name).await.is_none());
    for app in ["other-repo", "other-cluster"] {
        let a = get(&client, "moor.dev/v1alpha1", "Application", Some(&home.name), app)
            .await
            .unwrap();
        assert!(
            a["status"]["resources"].as_array().is_none_or(|r| r.is_empty()),
            "a refused app compared objects: {a}"
        );
    }
    home.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_secret_scoped_to_a_project_is_refused_to_another_project() {
    let client = client().await;
    let home = TestNamespace::create(&client, "clproj").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "v1"));
    server.create_repo("r", src.path());
    let url = server.file_url("r");
    register_second_cluster(&client, &home.name, Some("team-b")).await;
    let everything = json!({"sourceRepos": ["*"], "destinations": [{"name": "*", "server": "*", "namespace": "*"}]});
    apply_project(&client, "moor.dev", &home.name, "team-a", everything).await;
    let _ctl = Controller::start(&home.name, &["--namespace", &home.name]);
    let mut s = spec(&url, "app", "default", json!({}));
    s["project"] = json!("team-a");
    s["destination"] = json!({"name": "second", "namespace": "default"});
    apply_app(&client, &home.name, "a", s).await;
    let msg = wait_condition(&client, &home.name, "a", "InvalidSpecError", "belongs").await;
    assert_eq!(msg, "cluster second belongs to project \"team-b\", not to \"team-a\"");
    home.delete(&client).await;
}
