//! End to end: Argo CD's source overrides (`spec.source.kustomize`, `spec.source.helm`) through
//! the controller. What it applies must be what the real tools make of the same overrides:
//! `kustomize edit set image|nameprefix` on a copy then `kustomize build`, and `helm template`
//! with `--set`/`--set-string` and value files.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::apps::{apply_app, spec, wait_app};
use common::controller::Controller;
use common::{copy_dir, get, write};
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::{Value, json};

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n\
spec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n\
\x20   spec: {containers: [{name: web, image: nginx:1.25}, {name: side, image: busybox:1.36}]}\n";

const CHART_CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n\
data:\n  tag: {{ .Values.tag | quote }}\n  tagKind: {{ kindOf .Values.tag | quote }}\n\
\x20 replicas: {{ .Values.replicas | quote }}\n  message: {{ .Values.message | quote }}\n\
\x20 nested: {{ .Values.nested.a | quote }}\n  other: {{ .Values.other | quote }}\n";

/// Runs `cmd` in `dir` and returns its stdout, panicking with stderr on failure.
fn run(dir: &Path, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} runs: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The objects of a multi-document YAML stream, by `Kind/name`.
fn objects(yaml: &str) -> std::collections::BTreeMap<String, Value> {
    let manifests = moor_render::parse_manifests(yaml, "tool output").expect("tool output parses");
    manifests
        .into_iter()
        .map(|m| {
            let o = m.obj;
            let name = o["metadata"]["name"].as_str().unwrap();
            (format!("{}/{name}", o["kind"].as_str().unwrap()), o)
        })
        .collect()
}

fn images(d: &Value) -> Vec<String> {
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    containers
        .iter()
        .map(|c| c["image"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kustomize_and_helm_overrides_render_what_the_tools_render() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "overrides").await;
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "kapp/kustomization.yaml",
        "resources: [deploy.yaml, cm.yaml]\n",
    );
    write(src.path(), "kapp/deploy.yaml", DEPLOYMENT);
    write(
        src.path(),
        "kapp/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
    );
    write(
        src.path(),
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    write(
        src.path(),
        "chart/values.yaml",
        "tag: latest\nreplicas: 1\nmessage: default\nnested: {a: x}\nother: default\n",
    );
    write(src.path(), "chart/templates/cm.yaml", CHART_CM);
    let server = GitServer::start();
    server.create_repo("overrides", src.path());
    let url = server.file_url("overrides");
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    // Kustomize: images (a rename with tag, and a tag only) and namePrefix.
    let image_overrides = ["nginx=registry.example/web/nginx:2.0", "busybox:1.37"];
    // selfHeal: an automated sync of an unchanged commit only heals drift.
    let automated = json!({"prune": true, "selfHeal": true});
    let mut k = spec(&url, "kapp", &ns.name, automated);
    k["source"]["kustomize"] = json!({"images": image_overrides, "namePrefix": "p-"});
    apply_app(&client, &ns.name, "kapp", k.clone()).await;

    // Helm: parameters (one forced to a string), values, then valuesObject over them.
    let values = "message: from-values\nother: from-values\n";
    let object = json!({"message": "from-object", "nested": {"a": "y"}});
    let mut h = spec(&url, "chart", &ns.name, json!({"prune": true}));
    h["source"]["helm"] = json!({
        "values": values,
        "valuesObject": object,
        "parameters": [
            {"name": "replicas", "value": "3"},
            {"name": "tag", "value": "1.10", "forceString": true},
        ],
    });
    apply_app(&client, &ns.name, "happ", h).await;

    // What the tools make of the same overrides.
    let work = tempfile::tempdir().unwrap();
    copy_dir(&src.path().join("kapp"), &work.path().join("kapp"));
    let kdir = work.path().join("kapp");
    let mut edit = vec!["edit", "set", "image"];
    edit.extend(image_overrides);
    run(&kdir, "kustomize", &edit);
    run(&kdir, "kustomize", &["edit", "set", "nameprefix", "p-"]);
    let want_k = objects(&run(&kdir, "kustomize", &["build", "."]));
    write(work.path(), "values.yaml", values);
    write(work.path(), "object.json", &object.to_string());
    let chart = src.path().join("chart");
    let helm_out = run(
        work.path(),
        "helm",
        &[
            "template",
            "happ",
            chart.to_str().unwrap(),
            "--namespace",
            &ns.name,
            "-f",
            "values.yaml",
            "-f",
            "object.json",
            "--set",
            "replicas=3",
            "--set-string",
            "tag=1.10",
        ],
    );
    let want_h = objects(&helm_out);

    let ok = |a: &Value| a["status"]["sync"]["status"] == "Synced";
    wait_app(&client, &ns.name, "kapp", "synced", 90, ok).await;
    wait_app(&client, &ns.name, "happ", "synced", 90, ok).await;

    let want_d = &want_k["Deployment/p-web"];
    let live_d = get(&client, "apps/v1", "Deployment", Some(&ns.name), "p-web")
        .await
        .expect("the prefixed Deployment was applied");
    assert_eq!(images(&live_d), images(want_d));
    assert_eq!(
        images(&live_d),
        ["registry.example/web/nginx:2.0", "busybox:1.37"]
    );
    let live_cm = get(&client, "v1", "ConfigMap", Some(&ns.name), "p-settings")
        .await
        .expect("the prefixed ConfigMap was applied");
    assert_eq!(live_cm["data"], want_k["ConfigMap/p-settings"]["data"]);
    assert!(
        get(&client, "apps/v1", "Deployment", Some(&ns.name), "web")
            .await
            .is_none(),
        "the unprefixed Deployment exists"
    );

    let want_cm = &want_h["ConfigMap/happ-cfg"];
    let live = get(&client, "v1", "ConfigMap", Some(&ns.name), "happ-cfg")
        .await
        .expect("the chart's ConfigMap was applied");
    assert_eq!(live["data"], want_cm["data"]);
    assert_eq!(
        live["data"],
        json!({"tag": "1.10", "tagKind": "string", "replicas": "3",
               "message": "from-object", "nested": "y", "other": "from-values"})
    );

    // A changed override alone (same commit) renders again.
    k["source"]["kustomize"]["images"] = json!(["nginx=registry.example/web/nginx:2.1"]);
    apply_app(&client, &ns.name, "kapp", k).await;
    eventually(
        "the new image override applied",
        Duration::from_secs(90),
        || async {
            let d = get(&client, "apps/v1", "Deployment", Some(&ns.name), "p-web").await?;
            (images(&d)[0] == "registry.example/web/nginx:2.1").then_some(())
        },
    )
    .await;
}
