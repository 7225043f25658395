//! End to end: Argo CD's multiple sources (`spec.sources`) through the controller. A chart from
//! one Git repository takes a value file from another (`$values/...` naming the `ref: values`
//! source); a commit to the values repository re-renders and re-applies that app alone, history
//! and rollback carry every source's revision, and a `$ref` naming no source stops the app.

mod common;

use std::time::Duration;

use common::apps::{apply_app, get_app, wait_app};
use common::controller::Controller;
use common::tenancy::condition;
use common::{get, git_repo, moor_ok, rv};
use moor_testkit::{TestNamespace, client, eventually};
use serde_json::{Value, json};

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\n";
const TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n\
data:\n  message: {{ .Values.message | quote }}\n  size: {{ .Values.size | quote }}\n";

/// The chart repository: `chart/` with a default message.
fn chart_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("chart/Chart.yaml", CHART),
        ("chart/values.yaml", "message: default\nsize: small\n"),
        ("chart/templates/cm.yaml", TEMPLATE),
    ]
}

fn data(cm: &Value, key: &str) -> String {
    cm["data"][key].as_str().unwrap_or_default().to_string()
}

async fn message(client: &kube::Client, ns: &str, name: &str) -> Option<String> {
    let cm = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    Some(data(&cm, "message"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_values_commit_re_renders_only_the_app_that_reads_it_and_history_keeps_both_revisions() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "multisrc").await;
    let (chart_server, chart_repo) = git_repo("charts", &chart_files());
    let (values_server, values_repo) =
        git_repo("values", &[("prod.yaml", "message: from-values-1\n")]);
    let (chart_url, values_url) = (
        chart_server.file_url("charts"),
        values_server.file_url("values"),
    );
    let ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    // The app of two sources, made with the CLI's repeated --source.
    let chart_source =
        format!("repo={chart_url},path=chart,revision=main,values=$values/prod.yaml");
    let values_source = format!("repo={values_url},revision=main,ref=values");
    moor_ok(
        &[
            "app",
            "create",
            "web",
            "-n",
            &ns.name,
            "--source",
            &chart_source,
            "--source",
            &values_source,
            "--dest-namespace",
            &ns.name,
            "--auto-sync",
            "--prune",
        ],
        &[],
    );
    // Another app on the same chart repository, without the values repository.
    let other = json!({
        "source": {"repoURL": chart_url, "targetRevision": "main", "path": "chart"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns.name},
        "syncPolicy": {"automated": {"prune": true}},
    });
    apply_app(&client, &ns.name, "other", other).await;

    let (chart_commit, values_1) = (chart_repo.head(), values_repo.head());
    let both = |a: &Value, values: &str| {
        a["status"]["sync"]["status"] == "Synced"
            && a["status"]["sync"]["revisions"] == json!([chart_commit, values])
    };
    let app = wait_app(
        &client,
        &ns.name,
        "web",
        "synced at both revisions",
        120,
        |a| both(a, &values_1),
    )
    .await;
    assert_eq!(
        message(&client, &ns.name, "web-cfg").await.as_deref(),
        Some("from-values-1"),
        "the value file of the ref source was not used"
    );
    let sync_result = &app["status"]["operationState"]["syncResult"];
    assert_eq!(sync_result["revisions"], json!([chart_commit, values_1]));
    let ok = |a: &Value| a["status"]["sync"]["status"] == "Synced";
    wait_app(&client, &ns.name, "other", "synced", 120, ok).await;
    let other_cm = get(&client, "v1", "ConfigMap", Some(&ns.name), "other-cfg")
        .await
        .expect("the other app's ConfigMap");
    assert_eq!(data(&other_cm, "message"), "default");

    // A commit to the values repository, announced by a webhook: the app that reads it moves
    // to the new values revision; the other app is not refreshed and its object not written.
    let work = values_repo.clone_work();
    work.write("prod.yaml", "message: from-values-2\n");
    let values_2 = work.commit_and_push("new message");
    assert_eq!(ctl.push(&values_url, "main", true), 202);
    wait_app(
        &client,
        &ns.name,
        "web",
        "synced at the new values revision",
        120,
        |a| both(a, &values_2),
    )
    .await;
    eventually("the new value applied", Duration::from_secs(60), || async {
        let m = message(&client, &ns.name, "web-cfg").await?;
        (m == "from-values-2").then_some(())
    })
    .await;
    let log = ctl.log_text();
    let refreshed = |app: &str| log.contains(&format!("webhook push refreshes {}/{app}", ns.name));
    assert!(refreshed("web"), "the push did not refresh web:\n{log}");
    assert!(!refreshed("other"), "the push refreshed other:\n{log}");
    let other_after = get(&client, "v1", "ConfigMap", Some(&ns.name), "other-cfg")
        .await
        .unwrap();
    assert_eq!(
        rv(&other_after),
        rv(&other_cm),
        "the other app's object was written"
    );

    // History: one entry per deployment, each with both sources and their revisions.
    let app = get_app(&client, &ns.name, "web").await.unwrap();
    let history = app["status"]["history"].as_array().unwrap().clone();
    assert_eq!(history.len(), 2, "{history:#?}");
    assert_eq!(history[0]["revisions"], json!([chart_commit, values_1]));
    assert_eq!(history[1]["revisions"], json!([chart_commit, values_2]));
    assert_eq!(history[1]["sources"][1]["ref"], "values");
    let shown = moor_ok(&["app", "history", "web", "-n", &ns.name], &[]).stdout;
    for rev in [&values_1, &values_2, &chart_commit] {
        assert!(shown.contains(&rev[..7]), "{rev} not in:\n{shown}");
    }
    assert!(shown.contains("(ref values)"), "{shown}");

    // Rollback to the first entry syncs both of its revisions (the values repo's old commit).
    let first = history[0]["id"].as_i64().unwrap().to_string();
    moor_ok(
        &[
            "app",
            "rollback",
            "web",
            &first,
            "-n",
            &ns.name,
            "--wait",
            "--timeout",
            "2m",
        ],
        &[],
    );
    assert_eq!(
        message(&client, &ns.name, "web-cfg").await.as_deref(),
        Some("from-values-1"),
        "the rollback did not sync the values repository's earlier commit"
    );
    let app = get_app(&client, &ns.name, "web").await.unwrap();
    assert_eq!(
        app["status"]["operationState"]["syncResult"]["revisions"],
        json!([chart_commit, values_1])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_file_naming_no_ref_source_is_a_spec_error_and_nothing_is_applied() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "multisrc-bad").await;
    let (chart_server, _chart) = git_repo("charts", &chart_files());
    let (values_server, _values) = git_repo("values", &[("prod.yaml", "message: x\n")]);
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);
    let spec = json!({
        "sources": [
            {"repoURL": chart_server.file_url("charts"), "targetRevision": "main", "path": "chart",
             "helm": {"valueFiles": ["$vals/prod.yaml"]}},
            {"repoURL": values_server.file_url("values"), "targetRevision": "main", "ref": "values"},
        ],
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns.name},
        "syncPolicy": {"automated": {"prune": true}},
    });
    apply_app(&client, &ns.name, "typo", spec).await;
    let app = wait_app(&client, &ns.name, "typo", "refused", 90, |a| {
        condition(a, "InvalidSpecError").is_some()
    })
    .await;
    let msg = condition(&app, "InvalidSpecError").unwrap();
    assert!(
        msg.contains("spec.sources[0].helm.valueFiles entry \"$vals/prod.yaml\"")
            && msg.contains("names ref \"vals\""),
        "{msg}"
    );
    assert!(app["status"]["history"].is_null(), "{app:#?}");
    // A few reconciles later, still nothing applied.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "typo-cfg")
            .await
            .is_none(),
        "an app with an unknown $ref applied its chart"
    );
}

/// A project admits an app of several sources only when it permits every repository, the
/// values (`ref`) one included: otherwise nothing is fetched or applied.
#[tokio::test(flavor = "multi_thread")]
async fn a_project_must_permit_every_source_repository() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "multisrc-proj").await;
    let (chart_server, _chart) = git_repo("charts", &chart_files());
    let (values_server, _values) = git_repo("values", &[("prod.yaml", "message: x\n")]);
    let (chart_url, values_url) = (
        chart_server.file_url("charts"),
        values_server.file_url("values"),
    );
    common::tenancy::apply_project(
        &client,
        "moor.dev",
        &ns.name,
        "charts-only",
        json!({"sourceRepos": [chart_url],
               "destinations": [{"server": "https://kubernetes.default.svc", "namespace": ns.name}]}),
    )
    .await;
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);
    let spec = json!({
        "project": "charts-only",
        "sources": [
            {"repoURL": chart_url, "targetRevision": "main", "path": "chart",
             "helm": {"valueFiles": ["$values/prod.yaml"]}},
            {"repoURL": values_url, "targetRevision": "main", "ref": "values"},
        ],
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns.name},
        "syncPolicy": {"automated": {"prune": true}},
    });
    apply_app(&client, &ns.name, "web", spec).await;
    let app = wait_app(&client, &ns.name, "web", "refused", 90, |a| {
        condition(a, "InvalidSpecError").is_some()
    })
    .await;
    let msg = condition(&app, "InvalidSpecError").unwrap();
    assert!(
        msg.contains(&format!("does not permit repository {values_url}")),
        "{msg}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "web-cfg")
            .await
            .is_none(),
        "an app reading a repository its project does not permit was applied"
    );
}

/// The acceptance: a chart from a Helm repository behind basic auth (credentials from
/// a repository Secret), pinned by a semver range, with a value file from a Git repository via
/// `$values`. A values commit re-renders the app; a newly published chart version is taken at
/// the next refresh, and status and history show the chart version as its source's revision.
#[tokio::test(flavor = "multi_thread")]
async fn a_chart_from_a_helm_repository_with_auth_takes_values_from_git() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "multisrc-helm").await;
    let helm = moor_testkit::helm_repo::HelmRepo::with_basic_auth("charts", "s3cret-pw");
    helm.publish("web", "1.0.0");
    helm.publish("web", "2.0.0");
    let (values_server, values_repo) =
        git_repo("values", &[("prod.yaml", "greeting: from-git-1\n")]);
    let values_url = values_server.file_url("values");
    common::tenancy::apply(
        &client,
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "helm-charts", "namespace": ns.name,
                         "labels": {"moor.dev/secret-type": "repository"}},
            "stringData": {"url": helm.url(), "username": "charts", "password": "s3cret-pw"},
        }),
    )
    .await;
    let ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);
    let spec = json!({
        "sources": [
            {"repoURL": helm.url(), "chart": "web", "targetRevision": ">=1.0.0 <2.0.0",
             "helm": {"valueFiles": ["$values/prod.yaml"]}},
            {"repoURL": values_url, "targetRevision": "main", "ref": "values"},
        ],
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns.name},
        "syncPolicy": {"automated": {"prune": true}},
    });
    apply_app(&client, &ns.name, "web", spec).await;
    let at = |a: &Value, chart: &str, values: &str| {
        a["status"]["sync"]["status"] == "Synced"
            && a["status"]["sync"]["revisions"] == json!([chart, values])
    };
    let values_1 = values_repo.head();
    wait_app(
        &client,
        &ns.name,
        "web",
        "synced at chart 1.0.0",
        120,
        |a| at(a, "1.0.0", &values_1),
    )
    .await;
    let cm = get(&client, "v1", "ConfigMap", Some(&ns.name), "web-web")
        .await
        .expect("the chart's ConfigMap");
    assert_eq!(data(&cm, "version"), "1.0.0", "the range took 2.0.0");
    assert_eq!(data(&cm, "greeting"), "from-git-1");
    assert!(
        helm.authorized_requests()
            .iter()
            .any(|p| p == "/index.yaml"),
        "the index was not fetched with the Secret's credentials: {:?}",
        helm.requests()
    );

    // A values commit, announced by a webhook, re-renders the app.
    let work = values_repo.clone_work();
    work.write("prod.yaml", "greeting: from-git-2\n");
    let values_2 = work.commit_and_push("new greeting");
    assert_eq!(ctl.push(&values_url, "main", true), 202);
    wait_app(
        &client,
        &ns.name,
        "web",
        "synced at the new values",
        120,
        |a| at(a, "1.0.0", &values_2),
    )
    .await;

    // A new version in range, published: a refresh (as the next interval would) takes it.
    helm.publish("web", "1.1.0");
    moor_ok(&["app", "refresh", "web", "-n", &ns.name], &[]);
    let app = wait_app(
        &client,
        &ns.name,
        "web",
        "synced at chart 1.1.0",
        120,
        |a| at(a, "1.1.0", &values_2),
    )
    .await;
    eventually("chart 1.1.0 applied", Duration::from_secs(60), || async {
        let cm = get(&client, "v1", "ConfigMap", Some(&ns.name), "web-web").await?;
        (data(&cm, "version") == "1.1.0" && data(&cm, "greeting") == "from-git-2").then_some(())
    })
    .await;
    let history = app["status"]["history"].as_array().unwrap();
    let revisions: Vec<&Value> = history.iter().map(|h| &h["revisions"]).collect();
    assert_eq!(
        revisions,
        [
            &json!(["1.0.0", values_1]),
            &json!(["1.0.0", values_2]),
            &json!(["1.1.0", values_2])
        ]
    );
    assert_eq!(history[2]["sources"][0]["chart"], "web");
    let shown = moor_ok(&["app", "history", "web", "-n", &ns.name], &[]).stdout;
    assert!(shown.contains("1.1.0") && shown.contains(" web"), "{shown}");
    // The password is in no status and no log line.
    let app = get_app(&client, &ns.name, "web").await.unwrap();
    assert!(!app.to_string().contains("s3cret-pw"));
    assert!(!ctl.log_text().contains("s3cret-pw"));
}
