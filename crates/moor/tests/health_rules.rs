//! End to end: health rules users write (CEL in the Application and in the controller's
//! `moor-health` ConfigMap), the `moor.dev/health: ignore` annotation, the wait on an Ingress in a
//! cluster without an ingress controller, and an `autoscaling/v1` HorizontalPodAutoscaler's
//! health read from its conditions annotation.

mod common;

use common::apps::{apply_app, spec, wait_app};
use common::controller::Controller;
use common::{moor, repo_args, write};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use moor_testkit::{GitServer, Repo, TestNamespace, client, unique_name};
use serde_json::{Value, json};

/// A kind no controller looks after: its health is whatever the rules say.
const WIDGET_GROUP: &str = "healthrules.moor-test.dev";

/// Creates the Widget CRD once (idempotent) and waits until it is served.
fn ensure_widget_crd() {
    let crd = common::widget_crd(WIDGET_GROUP);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "crd.yaml", &crd);
    moor_testkit::apply_crds(&[path], &[&format!("crd/widgets.{WIDGET_GROUP}")]);
}

/// A Widget whose phase lives in the manifest itself (the CRD has no status subresource), so a
/// commit is all it takes to change what the health rule sees.
fn widget(phase: &str) -> String {
    format!(
        "apiVersion: {WIDGET_GROUP}/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 1\n\
         status:\n  phase: {phase}\n  message: widget is {phase}\n"
    )
}

fn widget_rule() -> Value {
    json!({
        "apiVersion": format!("{WIDGET_GROUP}/v1"),
        "kind": "Widget",
        "current": "status.phase == 'Ready'",
        "failed": "self.status.phase == 'Broken'"
    })
}

fn app_health(a: &Value) -> (&str, &str) {
    (
        a["status"]["health"]["status"].as_str().unwrap_or(""),
        a["status"]["health"]["message"].as_str().unwrap_or(""),
    )
}

/// A git server whose repository (named after `prefix`) holds one Widget in `phase` under `app/`.
fn widget_repo(prefix: &str, phase: &str) -> (GitServer, Repo) {
    common::git_repo(&unique_name(prefix), &[("app/widget.yaml", &widget(phase))])
}

/// Waits until app `widgets` in `ns` has the health `status` the rule gives its Widget.
async fn wait_widgets_health(client: &kube::Client, ns: &str, status: &str) -> Value {
    wait_app(
        client,
        ns,
        "widgets",
        &format!("{status} by the rule"),
        90,
        |a| app_health(a).0 == status,
    )
    .await
}

/// Commits the Widget as Ready and waits for the rule to call the app Healthy.
async fn push_ready_widget_and_wait_healthy(client: &kube::Client, repo: &Repo, ns: &str) {
    let work = repo.clone_work();
    work.write("app/widget.yaml", widget("Ready"));
    work.commit_and_push("widget ready");
    wait_widgets_health(client, ns, "Healthy").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn application_cel_rule_turns_a_custom_resource_degraded_then_healthy() {
    ensure_widget_crd();
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "hr-app").await;
    let dest = TestNamespace::create(&client, "hr-dest").await;
    // Built-in rules would call this Healthy (no conditions at all): only the CEL rule says not.
    let (_server, repo) = widget_repo("hr", "Broken");
    let _ctl = Controller::start(&apps_ns.name, &[]);
    let mut s = spec(&repo.file_url(), "app", &dest.name, json!({"prune": true}));
    s["healthCheckExprs"] = json!([widget_rule()]);
    s["pollInterval"] = json!("10s");
    apply_app(&client, &apps_ns.name, "widgets", s).await;

    let a = wait_widgets_health(&client, &apps_ns.name, "Degraded").await;
    let (_, message) = app_health(&a);
    assert!(
        message.contains(&format!("Widget {}/w", dest.name))
            && message.contains("failed is true (self.status.phase == 'Broken')"),
        "{message}"
    );

    push_ready_widget_and_wait_healthy(&client, &repo, &apps_ns.name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn application_cel_rule_that_does_not_compile_is_an_invalid_spec_naming_the_rule() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "hr-bad").await;
    let dest = TestNamespace::create(&client, "hr-bad-dest").await;
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    );
    let server = GitServer::start();
    let repo = server.create_repo(&unique_name("hr-bad"), src.path());
    let ctl = Controller::start(&apps_ns.name, &[]);
    let mut s = spec(&repo.file_url(), "app", &dest.name, json!({"prune": true}));
    let mut rule = widget_rule();
    rule["inProgress"] = json!("status.phase == ");
    s["healthCheckExprs"] = json!([rule]);
    apply_app(&client, &apps_ns.name, "bad", s).await;
    let a = wait_app(
        &client,
        &apps_ns.name,
        "bad",
        "an InvalidSpecError",
        60,
        |a| {
            a["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "InvalidSpecError"))
        },
    )
    .await;
    let message = a["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "InvalidSpecError")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(&format!(
            "spec.healthCheckExprs: health rule 1 ({WIDGET_GROUP}/v1 Widget): the inProgress \
             expression \"status.phase ==\" does not compile"
        )),
        "{message}"
    );
    // Nothing was applied for an app whose spec is invalid.
    let cm = common::get(&client, "v1", "ConfigMap", Some(&dest.name), "c").await;
    assert!(cm.is_none(), "applied despite the invalid spec");
    assert!(
        ctl.log_text().contains("does not compile"),
        "controller log does not say why:\n{}",
        ctl.log_text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn controller_configmap_rule_applies_to_apps_without_their_own() {
    ensure_widget_crd();
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "hr-cm").await;
    let ctl_ns = TestNamespace::create(&client, "hr-cm-ctl").await;
    let dest = TestNamespace::create(&client, "hr-cm-dest").await;
    let rules = format!(
        "- apiVersion: {WIDGET_GROUP}/v1\n  kind: Widget\n  current: status.phase == 'Ready'\n  \
         inProgress: status.phase == 'Starting'\n"
    );
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "moor-health"},
        "data": {
            "widgets.yaml": rules,
            // One bad rule is logged and left out; the good ones still apply.
            "broken.yaml": "apiVersion: v1\nkind: Secret\ncurrent: 'data.size() >'\n"
        }
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), &ctl_ns.name)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    let (_server, repo) = widget_repo("hr-cm", "Starting");
    let ctl = Controller::start(&apps_ns.name, &["--namespace", &ctl_ns.name]);
    let mut s = spec(&repo.file_url(), "app", &dest.name, json!({"prune": true}));
    s["pollInterval"] = json!("10s");
    apply_app(&client, &apps_ns.name, "widgets", s).await;
    let a = wait_widgets_health(&client, &apps_ns.name, "Progressing").await;
    assert!(
        app_health(&a).1.contains("inProgress is true"),
        "{}",
        app_health(&a).1
    );
    push_ready_widget_and_wait_healthy(&client, &repo, &apps_ns.name).await;
    let log = ctl.log_text();
    assert!(
        log.contains(
            "key broken.yaml: left out: health rule 1 (v1 Secret): the current expression"
        ),
        "the bad ConfigMap rule is not named in the log:\n{log}"
    );
}

fn ingress(annotations: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n{annotations}\
         spec:\n  defaultBackend:\n    service:\n      name: web\n      port:\n        number: 80\n"
    )
}

/// `moor sync --wait` of `files` into a new namespace, with `timeout`.
async fn sync_wait(prefix: &str, files: &[(&str, String)], timeout: &str) -> (common::Run, String) {
    let client = client().await;
    let ns = TestNamespace::create(&client, prefix).await;
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    let app = unique_name(prefix);
    let r = moor(
        &repo_args(
            "sync",
            dir.path().to_str().unwrap(),
            &app,
            &ns.name,
            &["--wait", "--timeout", timeout],
        ),
        &[],
    );
    let name = ns.name.clone();
    ns.delete(&client).await;
    (r, name)
}

#[tokio::test(flavor = "multi_thread")]
async fn health_ignore_annotation_lets_sync_wait_finish_without_an_ingress_controller() {
    let started = std::time::Instant::now();
    let (r, _) = sync_wait(
        "hr-ign",
        &[(
            "ingress.yaml",
            ingress("  annotations:\n    moor.dev/health: ignore\n"),
        )],
        "120s",
    )
    .await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Well before the timeout: nothing waited for the address.
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ingress_wait_timeout_says_how_long_and_that_no_ingress_controller_may_run() {
    let (r, ns) = sync_wait("hr-ing", &[("ingress.yaml", ingress(""))], "4s").await;
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for needle in [
        "timed out after 4s waiting for 1 object(s) to become healthy".to_string(),
        format!(
            "Ingress {ns}/web: Progressing: waiting for an ingress controller to publish an address"
        ),
        "(none since it was created at ".to_string(),
        "none may be running in this cluster".to_string(),
        "moor.dev/health: ignore".to_string(),
    ] {
        assert!(
            r.stderr.contains(&needle),
            "no {needle:?} in:\n{}",
            r.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn autoscaling_v1_hpa_health_comes_from_its_conditions_annotation() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "hr-hpa").await;
    let dest = TestNamespace::create(&client, "hr-hpa-dest").await;
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  \
         selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    \
         spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n          \
         resources: {requests: {cpu: 100m}}\n",
    );
    write(
        src.path(),
        "app/hpa.yaml",
        "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  \
         scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 1\n  \
         maxReplicas: 3\n  targetCPUUtilizationPercentage: 80\n",
    );
    let server = GitServer::start();
    let repo = server.create_repo(&unique_name("hr-hpa"), src.path());
    let _ctl = Controller::start(&apps_ns.name, &[]);
    let mut s = spec(&repo.file_url(), "app", &dest.name, json!({"prune": true}));
    s["pollInterval"] = json!("10s");
    apply_app(&client, &apps_ns.name, "hpa", s).await;
    // Until the autoscaler has looked at it, there is no annotation and it waits; after, its
    // verdict comes from the annotation's conditions (autoscaling/v1 has no status.conditions).
    let hpa_health = |a: &Value| -> Option<(String, String)> {
        let r = a["status"]["resources"]
            .as_array()?
            .iter()
            .find(|r| r["kind"] == "HorizontalPodAutoscaler")?;
        Some((
            r["health"]["status"].as_str()?.to_string(),
            r["health"]["message"].as_str().unwrap_or("").to_string(),
        ))
    };
    let a = wait_app(
        &client,
        &apps_ns.name,
        "hpa",
        "an HPA verdict from its conditions",
        120,
        |a| hpa_health(a).is_some_and(|(_, m)| !m.contains("waiting for the autoscaler")),
    )
    .await;
    let (status, message) = hpa_health(&a).unwrap();
    let live = common::get(
        &client,
        "autoscaling/v1",
        "HorizontalPodAutoscaler",
        Some(&dest.name),
        "web",
    )
    .await
    .unwrap();
    let annotation = live["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"]
        .as_str()
        .expect("the autoscaler wrote its conditions annotation")
        .to_string();
    // The local cluster has no metrics server: the autoscaler cannot read CPU, so Argo CD (and
    // moor) call it Degraded; with metrics it is Healthy. Either way the verdict names the
    // condition the annotation holds.
    if annotation.contains("\"reason\":\"FailedGetResourceMetric\"") {
        assert_eq!(status, "Degraded", "{message}");
        assert!(
            message.contains("scaling inactive: FailedGetResourceMetric"),
            "{message}"
        );
    } else if annotation.contains("\"reason\":\"ValidMetricFound\"") {
        assert_eq!(status, "Healthy", "{message}");
    } else {
        panic!("unexpected HPA conditions {annotation}; moor says {status}: {message}");
    }
}
