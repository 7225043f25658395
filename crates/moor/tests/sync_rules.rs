//! End to end: nothing applied when one object of twenty is invalid; a CRD and its custom
//! resources in one sync; --wait success and timeout; render order; prune=false and Argo CD annotations.

mod common;

use common::{get, moor, moor_ok, repo_args, write};
use moor_testkit::{TestNamespace, client, unique_name};
use serde_json::json;

/// `moor VERB --repo DIR --app APP --namespace NS`.
fn run_in(verb: &str, dir: &std::path::Path, app: &str, ns: &str) -> common::Run {
    moor(&repo_args(verb, dir.to_str().unwrap(), app, ns, &[]), &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn one_invalid_object_among_twenty_applies_nothing_and_names_it() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "inv").await;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..19 {
        write(
            dir.path(),
            &format!("cm-{i:02}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:02}\ndata:\n  k: v\n"
            ),
        );
    }
    // Port 70000 is out of range: only the API server's validation (the dry-run) can tell.
    write(
        dir.path(),
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n    - port: 70000\n",
    );
    let app = unique_name("inv");
    let r = run_in("sync", dir.path(), &app, &ns.name);
    assert!(r.code > 1, "exit {}:\n{}\n{}", r.code, r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("Service {}/bad", ns.name)),
        "error does not name the object:\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("svc.yaml"),
        "error does not name the file:\n{}",
        r.stderr
    );
    // The API server's own reason (sent in protobuf for a new object's dry-run) is shown.
    assert!(
        r.stderr.contains("spec.ports[0].port") && r.stderr.contains("65535"),
        "error does not give the API server's reason:\n{}",
        r.stderr
    );
    for i in 0..19 {
        assert!(
            get(
                &client,
                "v1",
                "ConfigMap",
                Some(&ns.name),
                &format!("cm-{i:02}")
            )
            .await
            .is_none(),
            "cm-{i:02} was applied"
        );
    }

    // Structural problems are all listed at once, with file names, before talking to the server.
    write(
        dir.path(),
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {}\n",
    );
    write(
        dir.path(),
        "cm-00.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-01\n",
    );
    let r = run_in("sync", dir.path(), &app, &ns.name);
    assert!(r.code > 1);
    assert!(
        r.stderr.contains("missing metadata.name") && r.stderr.contains("defined twice"),
        "{}",
        r.stderr
    );
    ns.delete(&client).await;
}

/// Regression: a new object with a misspelt field passed the dry-run (a create only warns about
/// unknown fields) and then failed at the apply, after the objects before it were written.
#[tokio::test(flavor = "multi_thread")]
async fn regression_unknown_field_in_a_new_object_is_rejected_before_any_write() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "typo").await;
    let dir = tempfile::tempdir().unwrap();
    // A ConfigMap sorts (and would be applied) before the Service.
    write(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\ndata:\n  k: v\n",
    );
    write(
        dir.path(),
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: typo\nspec:\n  selector: {app: a}\n  portz:\n    - port: 80\n  ports:\n    - port: 81\n",
    );
    let app = unique_name("typo");
    let r = run_in("sync", dir.path(), &app, &ns.name);
    assert!(r.code > 1, "exit {}:\n{}\n{}", r.code, r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("Service {}/typo", ns.name))
            && r.stderr.contains("svc.yaml")
            && r.stderr.contains("spec.portz"),
        "error does not name the object, file and field:\n{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("ERROR"),
        "a client library log line leaked into the output:\n{}",
        r.stderr
    );
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "fine")
            .await
            .is_none(),
        "the ConfigMap was applied although the sync failed validation"
    );
    // diff says the same, exit > 1.
    let d = run_in("diff", dir.path(), &app, &ns.name);
    assert!(
        d.code > 1 && d.stderr.contains("spec.portz"),
        "{}",
        d.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crd_and_its_custom_resources_apply_in_one_sync() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "crd").await;
    let group = format!("{}.moor.test", unique_name("g"));
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "crd.yaml",
        // A typed schema: the API server checks spec.size of the Widgets applied with it.
        &common::widget_crd_with_schema(
            &group,
            "{type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}",
        ),
    );
    write(
        dir.path(),
        "widgets.yaml",
        &format!(
            "apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: a\nspec:\n  size: 1\n---\napiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: b\nspec:\n  size: 2\n"
        ),
    );
    let app = unique_name("crd");
    // Synced twice: the second sync must find everything unchanged.
    let sync = || {
        moor_ok(
            &repo_args(
                "sync",
                dir.path().to_str().unwrap(),
                &app,
                &ns.name,
                &["-o", "json"],
            ),
            &[],
        )
    };
    let r = sync();
    let set = r.json();
    assert_eq!(set["objects"].as_array().unwrap().len(), 3, "{set}");
    let w = get(
        &client,
        &format!("{group}/v1"),
        "Widget",
        Some(&ns.name),
        "b",
    )
    .await
    .expect("widget b applied");
    assert_eq!(w["spec"]["size"], 2);
    let r = sync();
    assert!(
        r.json()["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["change"] == "unchanged"),
        "{}",
        r.stdout
    );
    // Clean up the cluster-scoped CRD through prune: an empty source prunes everything the app owns.
    let empty = tempfile::tempdir().unwrap();
    write(
        empty.path(),
        "keep.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n",
    );
    moor_ok(
        &repo_args(
            "sync",
            empty.path().to_str().unwrap(),
            &app,
            &ns.name,
            &["--prune"],
        ),
        &[],
    );
    // Gone, or on its way (custom resources are being removed first).
    let crd = get(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        &format!("widgets.{group}"),
    )
    .await;
    assert!(
        crd.is_none_or(|c| c["metadata"]["deletionTimestamp"].is_string()),
        "the CRD was not pruned"
    );
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_returns_once_available_and_fails_at_the_timeout_naming_the_deployment() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "wait").await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = |name: &str, extra: &str| {
        format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: c, image: "nginx:1.27"}}]
{extra}"#
        )
    };
    write(dir.path(), "ok.yaml", &deployment("ok", ""));
    let app = unique_name("wait");
    let src = dir.path().to_str().unwrap();
    let r = moor_ok(
        &repo_args("sync", src, &app, &ns.name, &["--wait", "--timeout", "90s"]),
        &[],
    );
    assert!(r.stdout.contains("1 created"), "{}", r.stdout);
    let d = get(&client, "apps/v1", "Deployment", Some(&ns.name), "ok")
        .await
        .unwrap();
    assert_eq!(
        d["status"]["availableReplicas"], 2,
        "--wait returned before the Deployment was Available: {d}"
    );

    // No node matches this selector, so its pods stay Pending and it never becomes Available.
    write(
        dir.path(),
        "stuck.yaml",
        &deployment("stuck", "      nodeSelector: {no-such-label: \"true\"}\n"),
    );
    let start = std::time::Instant::now();
    let r = moor(
        &repo_args("sync", src, &app, &ns.name, &["--wait", "--timeout", "8s"]),
        &[],
    );
    assert!(r.code > 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("Deployment {}/stuck", ns.name)),
        "timeout does not name the Deployment:\n{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains(&format!("Deployment {}/ok", ns.name)),
        "names a healthy Deployment:\n{}",
        r.stderr
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "did not stop at the timeout"
    );
    ns.delete(&client).await;
}

#[test]
fn render_prints_one_stream_in_apply_order() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    );
    write(
        dir.path(),
        "b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n",
    );
    let r = moor(&["render", "--repo", dir.path().to_str().unwrap()], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let kinds: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(
        kinds,
        ["Namespace", "ConfigMap", "Deployment"],
        "{}",
        r.stdout
    );
}

/// Manifests moved from Argo CD keep their meaning: `argocd.argoproj.io/sync-wave` orders and
/// `argocd.argoproj.io/sync-options: Prune=false` keeps, like moor's own annotations.
#[tokio::test(flavor = "multi_thread")]
async fn prune_false_and_argo_cd_annotations_are_honoured() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "keep").await;
    let dir = tempfile::tempdir().unwrap();
    let cm = |name: &str, annotations: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\ndata:\n  k: v\n"
        )
    };
    write(
        dir.path(),
        "a.yaml",
        &cm("keep-moor", "moor.dev/prune: \"false\""),
    );
    write(
        dir.path(),
        "b.yaml",
        &cm(
            "keep-argo",
            "argocd.argoproj.io/sync-options: \"Replace=false,Prune=false\"",
        ),
    );
    write(dir.path(), "c.yaml", &cm("gone", ""));
    // A Service in Argo CD's wave -1 goes before the ConfigMaps (which rank first in a wave).
    write(
        dir.path(),
        "d.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: early\n  annotations: {argocd.argoproj.io/sync-wave: \"-1\"}\nspec:\n  ports:\n    - port: 80\n",
    );
    let r = moor(&["render", "--repo", dir.path().to_str().unwrap()], &[]);
    let kinds: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(kinds.first(), Some(&"Service"), "{}", r.stdout);

    let app = unique_name("keep");
    let r = run_in("sync", dir.path(), &app, &ns.name);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in ["a.yaml", "b.yaml", "c.yaml"] {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    let r = moor_ok(
        &repo_args(
            "sync",
            dir.path().to_str().unwrap(),
            &app,
            &ns.name,
            &["--prune", "-o", "json"],
        ),
        &[],
    );
    let set = r.json();
    let change = |name: &str| common::change_of(&set, name);
    assert_eq!(change("gone"), Some(json!("pruned")), "{set}");
    for name in ["keep-moor", "keep-argo"] {
        assert_eq!(change(name), Some(json!("skipped")), "{set}");
        assert!(
            get(&client, "v1", "ConfigMap", Some(&ns.name), name)
                .await
                .is_some(),
            "{name} was pruned"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_chart_syncs_with_release_name_namespace_and_values() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "helm").await;
    let chart = tempfile::tempdir().unwrap();
    write(
        chart.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    );
    write(chart.path(), "values.yaml", "replicas: 1\ntag: \"1.0\"\n");
    write(chart.path(), "values-prod.yaml", "tag: \"2.0\"\n");
    write(
        chart.path(),
        "templates/deployment.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers: [{name: web, image: "registry.local/shop:{{ .Values.tag }}"}]
"#,
    );
    let app = unique_name("helm");
    let r = moor_ok(
        &repo_args(
            "sync",
            chart.path().to_str().unwrap(),
            &app,
            &ns.name,
            &[
                "--helm-release-name",
                "prod",
                "--helm-values-file",
                "values-prod.yaml",
                "--helm-values",
                "replicas: 2",
                "--wait",
                "--timeout",
                "60s",
            ],
        ),
        &[],
    );
    assert!(r.stdout.contains("1 created"), "{}", r.stdout);
    let d = get(&client, "apps/v1", "Deployment", Some(&ns.name), "prod-web")
        .await
        .expect("the chart's Deployment");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/shop:2.0"
    );
    ns.delete(&client).await;
}
