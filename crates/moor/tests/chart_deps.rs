//! End to end: chart dependencies (issue 14's acceptance, "a chart with a dependency on another
//! chart of the local repository"). A chart in a Git repository names in its Chart.yaml a
//! chart of a real Helm repository (static HTTP with basic auth serving `helm package` and
//! `helm repo index` output; the repository Secret gives the credentials) and a `file://`
//! chart of the same Git repository: the objects of all three are applied. A dependency the
//! repository does not have leaves the app unsynced, nothing applied, with a condition naming
//! the dependency, its repository and the Chart.yaml line that asks for it.
//! Needs helm on PATH (`source scripts/lib/tools.sh; ensure_tools`).

mod common;

use common::apps::{apply_app, conditions, get_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::{get, git_repo};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use moor_testkit::helm_repo::HelmRepo;
use moor_testkit::{TestNamespace, client, unique_name};
use serde_json::json;

const USER: &str = "deps-reader";

/// A template of one ConfigMap `<release>-<chart>` holding the chart's version.
const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n\
data:\n  version: {{ .Chart.Version | quote }}\n";

/// The files of a Git repository with the chart `web` (its `dependencies` block as given)
/// and the chart `lib` 0.3.0 beside it.
fn files(dependencies: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "web/Chart.yaml",
            format!("apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n{dependencies}"),
        ),
        ("web/templates/cm.yaml", CM.to_string()),
        (
            "lib/Chart.yaml",
            "apiVersion: v2\nname: lib\nversion: 0.3.0\n".to_string(),
        ),
        ("lib/templates/cm.yaml", CM.to_string()),
    ]
}

/// A repository Secret in `ns` for the Helm repository `url` (Argo CD's form).
async fn repo_secret(client: &kube::Client, ns: &str, url: &str, password: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {
            "name": unique_name("deps-repo"),
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

/// The `version` of the ConfigMap `name`, if it exists.
async fn version_of(client: &kube::Client, ns: &str, name: &str) -> Option<String> {
    let cm = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    cm["data"]["version"].as_str().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_from_git_with_dependencies_on_the_helm_repository_and_file_deploys_all() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "chartdeps").await;
    let password = "deps-Pa55-word";
    let repo = HelmRepo::with_basic_auth(USER, password);
    for v in ["1.0.0", "1.2.0", "2.0.0"] {
        repo.publish("ddb", v);
    }
    let deps = format!(
        "- name: ddb\n  version: ^1.0.0\n  repository: {}\n\
         - name: lib\n  version: 0.3.x\n  repository: file://../lib\n",
        repo.url()
    );
    let files = files(&deps);
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let (git, _) = git_repo("deps", &files);
    repo_secret(&client, &ns.name, repo.url(), password).await;
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    let automated = json!({"prune": true});
    apply_app(
        &client,
        &ns.name,
        "shop",
        spec(&git.file_url("deps"), "web", &ns.name, automated),
    )
    .await;
    let a = wait_app(&client, &ns.name, "shop", "synced", 120, synced_healthy).await;
    // The release is named after the app; each chart made its ConfigMap, the Helm repository's
    // at the highest version ^1.0.0 admits.
    assert_eq!(
        version_of(&client, &ns.name, "shop-web").await.as_deref(),
        Some("0.1.0")
    );
    assert_eq!(
        version_of(&client, &ns.name, "shop-ddb").await.as_deref(),
        Some("1.2.0")
    );
    assert_eq!(
        version_of(&client, &ns.name, "shop-lib").await.as_deref(),
        Some("0.3.0")
    );
    assert!(
        repo.authorized_requests()
            .iter()
            .any(|p| p == "/ddb-1.2.0.tgz"),
        "the archive was fetched with the Secret's credentials: {:?}",
        repo.requests()
    );
    assert!(!a["status"].to_string().contains(password));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_dependency_is_a_condition_naming_it_and_nothing_is_applied() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "chartdepsmissing").await;
    let repo = HelmRepo::start();
    repo.publish("present", "1.0.0");
    let deps = format!(
        "- name: present\n  version: ^1\n  repository: {url}\n\
         - name: absent\n  version: ^1\n  repository: {url}\n",
        url = repo.url()
    );
    let files = files(&deps);
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let (git, _) = git_repo("deps-missing", &files);
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    let automated = json!({"prune": true});
    apply_app(
        &client,
        &ns.name,
        "broken",
        spec(&git.file_url("deps-missing"), "web", &ns.name, automated),
    )
    .await;
    let a = wait_app(
        &client,
        &ns.name,
        "broken",
        "to name the missing dependency",
        90,
        |a| conditions(a).contains("\"absent\""),
    )
    .await;
    let text = conditions(&a);
    let expected = format!(
        "web/Chart.yaml:8: dependency \"absent\": chart \"absent\" version \"^1\" from {}: the \
         repository's index.yaml has no chart of that name",
        repo.url()
    );
    assert!(text.contains(&expected), "{text}");
    assert_ne!(a["status"]["sync"]["status"], "Synced", "{a}");
    // Nothing of the chart is applied: not its own objects, nor the dependency found.
    let a = get_app(&client, &ns.name, "broken").await.unwrap();
    assert!(
        a["status"]["resources"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "{a}"
    );
    assert_eq!(version_of(&client, &ns.name, "broken-web").await, None);
    assert_eq!(version_of(&client, &ns.name, "broken-present").await, None);
}
