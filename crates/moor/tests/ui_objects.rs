//! End to end: the per-app API of the web UI (tree, node panel, history) served by `moor ui`
//! (local mode, the test kubeconfig's identity) for a Deployment app synced by a real
//! `moor controller` from a real git server, on the local control plane whose kwok nodes run
//! the Pods.

mod common;
mod ui_support;

use std::process::Command;
use std::time::{Duration, Instant};

use common::apps::{apply_app, spec, synced_at, synced_healthy, wait_app};
use common::controller::Controller;
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::{Value, json};
use ui_support::LocalUi;

/// The value of the Secret in Git; never to be seen in any answer of the API.
const SECRET_V1: &str = "hunter2-ui-obj-first";
const SECRET_V2: &str = "hunter2-ui-obj-second";

fn manifests(ns: &str, color: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "web/deployment.yaml",
            format!(
                r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: nginx:1.27}}]
"#
            ),
        ),
        (
            "web/configmap.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web-config, namespace: {ns}}}\n\
                 data: {{color: {color}, size: large}}\n"
            ),
        ),
        (
            "web/secret.yaml",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata: {{name: web-creds, namespace: {ns}}}\n\
                 stringData: {{password: {secret}}}\n"
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn tree_panel_and_history_of_a_deployment_app() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "ui-obj-apps").await;
    let dest = TestNamespace::create(&client, "ui-obj-dest").await;
    let seed = tempfile::tempdir().unwrap();
    for (path, text) in manifests(&dest.name, "blue", SECRET_V1) {
        common::write(seed.path(), path, &text);
    }
    let server = GitServer::start();
    let repo = server.create_repo("ui-obj", seed.path());
    let url = server.http_url(repo.name());
    let ctl = Controller::start(&apps.name, &[]);
    apply_app(
        &client,
        &apps.name,
        "web",
        spec(&url, "web", &dest.name, json!({"prune": true})),
    )
    .await;
    let first = wait_app(
        &client,
        &apps.name,
        "web",
        "Synced and Healthy",
        120,
        synced_healthy,
    )
    .await;
    let first_commit = first["status"]["sync"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let ui = LocalUi::start();
    let base = format!("/api/v1/apps/moor.dev/{}/web", apps.name);

    // The tree: Application -> Deployment -> ReplicaSet -> two Pods, linked by ids.
    let tree = eventually(
        "the tree shows two Pods",
        Duration::from_secs(60),
        || async {
            let t = ui.json(&format!("{base}/tree"));
            let pods = nodes_of(&t, "Pod").len();
            (pods == 2).then_some(t)
        },
    )
    .await;
    let nodes = tree["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["kind"], "Application", "{tree}");
    assert_eq!(nodes[0]["parent"], Value::Null, "{tree}");
    let deploy = &nodes_of(&tree, "Deployment")[0];
    assert_eq!(deploy["parent"], nodes[0]["id"], "{tree}");
    assert_eq!(deploy["managed"], true);
    assert_eq!(deploy["sync"], "Synced");
    assert_eq!(deploy["health"]["status"], "Healthy", "{tree}");
    let rs = nodes_of(&tree, "ReplicaSet");
    assert_eq!(rs.len(), 1, "{tree}");
    assert_eq!(rs[0]["parent"], deploy["id"], "{tree}");
    assert_eq!(rs[0]["managed"], false);
    for pod in nodes_of(&tree, "Pod") {
        assert_eq!(pod["parent"], rs[0]["id"], "{tree}");
        assert!(pod["health"]["status"].is_string(), "{pod}");
    }
    assert_eq!(nodes_of(&tree, "Secret").len(), 1, "{tree}");
    assert_eq!(tree["warnings"], json!([]), "{tree}");
    // One list per kind and namespace: fast even here, where the cluster is shared.
    let started = Instant::now();
    ui.json(&format!("{base}/tree"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A Pod (a descendant) is served; an object of the namespace the app does not own is not.
    let pod_name = nodes_of(&tree, "Pod")[0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let pod = ui.json(&object(&base, "", "v1", "Pod", &dest.name, &pod_name));
    assert!(pod["live"].as_str().unwrap().contains("kind: Pod"), "{pod}");
    assert!(
        !pod["live"].as_str().unwrap().contains("managedFields"),
        "{pod}"
    );
    let (status, body) = ui.get(&object(
        &base,
        "",
        "v1",
        "ConfigMap",
        &dest.name,
        "kube-root-ca.crt",
    ));
    assert_eq!(status, 404, "{body}");

    // The Secret: masked in live and desired, no diff while in sync.
    let secret_q = object(&base, "", "v1", "Secret", &dest.name, "web-creds");
    let s = ui.json(&secret_q);
    assert_no_secret(&s);
    assert!(s["live"].as_str().unwrap().contains("++++++++"), "{s}");
    assert_eq!(s["diff"], Value::Null, "{s}");
    assert_eq!(s["diffError"], Value::Null, "{s}");
    // Events of the Deployment (its ReplicaSet scaled up).
    let d = ui.json(&object(
        &base,
        "apps",
        "v1",
        "Deployment",
        &dest.name,
        "web",
    ));
    assert!(d["events"].as_array().is_some_and(|e| !e.is_empty()), "{d}");

    // Drift made with kubectl shows in the panel's diff, naming the field; a Secret's changed
    // value shows as changed, never as text.
    kubectl(&[
        "-n",
        &dest.name,
        "patch",
        "configmap",
        "web-config",
        "--type=merge",
        "-p",
        r#"{"data":{"color":"red"}}"#,
    ]);
    kubectl(&[
        "-n",
        &dest.name,
        "patch",
        "secret",
        "web-creds",
        "--type=merge",
        "-p",
        r#"{"stringData":{"password":"drifted-ui-obj-value"}}"#,
    ]);
    let cm = ui.json(&object(
        &base,
        "",
        "v1",
        "ConfigMap",
        &dest.name,
        "web-config",
    ));
    let diff = cm["diff"]
        .as_str()
        .unwrap_or_else(|| panic!("no diff: {cm}"));
    assert!(
        diff.contains("-  color: red") && diff.contains("+  color: blue"),
        "{diff}"
    );
    let s = ui.json(&secret_q);
    assert_no_secret(&s);
    assert!(!s.to_string().contains("drifted-ui-obj-value"), "{s}");
    let sd = s["diff"]
        .as_str()
        .unwrap_or_else(|| panic!("no Secret diff: {s}"));
    assert!(
        sd.contains("++++++++ (live)") && sd.contains("++++++++ (desired)"),
        "{sd}"
    );

    // A second commit, synced: history lists it first and its diff shows the changed line.
    let work = repo.clone_work();
    for (path, text) in manifests(&dest.name, "green", SECRET_V2) {
        work.write(path, text);
    }
    let second_commit = work.commit_and_push("ui-obj: paint it green");
    ctl.push(&url, &second_commit, true);
    wait_app(
        &client,
        &apps.name,
        "web",
        "synced at the second commit",
        120,
        |a| synced_at(a, &second_commit),
    )
    .await;
    let history = ui.json(&format!("{base}/history"));
    let entries = history["entries"].as_array().unwrap();
    assert!(entries.len() >= 2, "{history}");
    assert_eq!(entries[0]["revision"], second_commit.as_str(), "{history}");
    assert_eq!(entries[1]["revision"], first_commit.as_str(), "{history}");
    assert_eq!(entries[0]["result"], "Succeeded");
    assert_eq!(entries[0]["shortRevision"], &second_commit[..7]);
    // The controller records commit metadata when it has it; when it does, it is the commit's.
    if !entries[0]["message"].is_null() {
        assert_eq!(entries[0]["message"], "ui-obj: paint it green", "{history}");
    }
    let (from, to) = (entries[1]["id"].clone(), entries[0]["id"].clone());
    let d = ui.json(&format!("{base}/history/diff?from={from}&to={to}"));
    let text = d["diff"].as_str().unwrap();
    assert!(
        text.contains("-  color: blue") && text.contains("+  color: green"),
        "{text}"
    );
    assert!(
        text.contains("Secret") && text.contains("++++++++"),
        "{text}"
    );
    assert_no_secret(&d);
    let (status, body) = ui.get(&format!("{base}/history/diff?from={from}&to=999999"));
    assert_eq!(status, 404, "{body}");
}

/// Issue 16's budget: the tree of a 500-object app is served in <= 300 ms (lists per kind and
/// namespace, not a GET per object). Also prints what one node's panel costs there, which
/// renders and dry-runs the whole app like `moor app diff`.
#[tokio::test(flavor = "multi_thread")]
async fn tree_of_a_500_object_app_within_300_ms() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "ui-obj-big").await;
    let dest = TestNamespace::create(&client, "ui-obj-bigdest").await;
    let seed = tempfile::tempdir().unwrap();
    let deployment = &manifests(&dest.name, "blue", SECRET_V1)[0].1;
    let mut docs = vec![deployment.clone()];
    for i in 0..497 {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:03}, namespace: {}}}\n\
             data: {{n: \"{i}\"}}\n",
            dest.name
        ));
    }
    common::write(seed.path(), "big/all.yaml", &docs.join("---\n"));
    let server = GitServer::start();
    let repo = server.create_repo("ui-obj-big", seed.path());
    let _ctl = Controller::start(&apps.name, &[]);
    apply_app(
        &client,
        &apps.name,
        "big",
        spec(&server.http_url(repo.name()), "big", &dest.name, json!({})),
    )
    .await;
    wait_app(
        &client,
        &apps.name,
        "big",
        "Synced and Healthy",
        240,
        synced_healthy,
    )
    .await;
    let ui = LocalUi::start();
    let base = format!("/api/v1/apps/moor.dev/{}/big", apps.name);
    let tree = eventually(
        "the tree shows two Pods",
        Duration::from_secs(60),
        || async {
            let t = ui.json(&format!("{base}/tree"));
            (nodes_of(&t, "Pod").len() == 2).then_some(t)
        },
    )
    .await;
    // The app, 498 managed objects, a ReplicaSet and two Pods.
    assert_eq!(
        tree["nodes"].as_array().unwrap().len(),
        502,
        "{}",
        tree["warnings"]
    );
    // Best of three: the shared cluster serves other tests at the same time.
    let best = (0..3)
        .map(|_| {
            let started = Instant::now();
            ui.json(&format!("{base}/tree"));
            started.elapsed()
        })
        .min()
        .unwrap();
    eprintln!("tree of a 500-object app: {best:?}");
    assert!(
        best <= Duration::from_millis(300),
        "tree served in {best:?}"
    );
    let started = Instant::now();
    let panel = ui.json(&object(&base, "", "v1", "ConfigMap", &dest.name, "cm-007"));
    eprintln!("first panel of a 500-object app: {:?}", started.elapsed());
    let desired = panel["desired"].as_str().unwrap_or_default();
    assert!(
        desired.contains("name: cm-007") && desired.contains("\"7\""),
        "{panel}"
    );
    assert_eq!(panel["diff"], Value::Null, "in sync: {panel}");
    let started = Instant::now();
    ui.json(&object(&base, "", "v1", "ConfigMap", &dest.name, "cm-008"));
    eprintln!("next panel (render cached): {:?}", started.elapsed());
}

/// An app deploying to another cluster: its tree says why it has no children, and its objects'
/// panels say why there is no diff, instead of failing.
#[tokio::test(flavor = "multi_thread")]
async fn another_destination_is_explained() {
    let client = client().await;
    common::controller::ensure_crds();
    let apps = TestNamespace::create(&client, "ui-obj-far").await;
    let mut s = spec("https://example.invalid/r.git", "web", "prod", json!({}));
    s["destination"] = json!({"name": "far-away", "namespace": "prod"});
    s["syncPolicy"] = json!({});
    apply_app(&client, &apps.name, "far", s).await;
    let ui = LocalUi::start();
    let base = format!("/api/v1/apps/moor.dev/{}/far", apps.name);
    let tree = ui.json(&format!("{base}/tree"));
    assert_eq!(tree["nodes"][0]["kind"], "Application", "{tree}");
    let warnings = tree["warnings"].to_string();
    assert!(warnings.contains("far-away"), "{tree}");
    // Not an object of the app (its status names none): 404, not a read of this cluster.
    let (status, body) = ui.get(&object(&base, "", "v1", "ConfigMap", "prod", "x"));
    assert_eq!(status, 404, "{body}");
}

fn nodes_of(tree: &Value, kind: &str) -> Vec<Value> {
    let nodes = tree["nodes"].as_array().cloned().unwrap_or_default();
    nodes.into_iter().filter(|n| n["kind"] == kind).collect()
}

fn object(base: &str, group: &str, version: &str, kind: &str, ns: &str, name: &str) -> String {
    format!(
        "{base}/resource?group={group}&version={version}&kind={kind}&namespace={ns}&name={name}"
    )
}

/// Neither Secret value appears, as text or base64.
fn assert_no_secret(v: &Value) {
    let text = v.to_string();
    for secret in [SECRET_V1, SECRET_V2] {
        let b64 = base64_of(secret);
        assert!(
            !text.contains(secret) && !text.contains(&b64),
            "a Secret value leaked: {text}"
        );
    }
}

fn base64_of(s: &str) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn kubectl(args: &[&str]) {
    let out = Command::new("kubectl")
        .args(args)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
