//! The Helm chart (charts/moor) and deploy/ install the same objects: for the default values
//! against `kustomize build deploy/`, and with `rbac.mode=impersonation` against
//! `deploy/impersonation`; its CRDs are deploy/crds' (scripts/sync-chart-crds copies them) and
//! `helm lint` finds nothing to warn about. Needs helm and kustomize on PATH, no cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{cmd} runs: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The objects of a YAML stream by `apiVersion Kind namespace/name`.
fn objects(yaml: &str) -> BTreeMap<String, Value> {
    moor_render::parse_manifests(yaml, "tool output")
        .expect("tool output parses")
        .into_iter()
        .map(|m| {
            let o = m.obj;
            let key = format!(
                "{} {} {}/{}",
                o["apiVersion"].as_str().unwrap_or_default(),
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            );
            (key, o)
        })
        .collect()
}

fn helm(extra: &[&str]) -> BTreeMap<String, Value> {
    let mut args = vec![
        "template",
        "moor",
        "charts/moor",
        "--namespace",
        "moor-system",
        "--include-crds",
    ];
    args.extend_from_slice(extra);
    objects(&run("helm", &args))
}

/// Equal object sets, naming the first object that differs and how.
fn assert_same(chart: &BTreeMap<String, Value>, deploy: &BTreeMap<String, Value>, what: &str) {
    let only = |a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>| -> Vec<String> {
        a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
    };
    assert_eq!(
        only(chart, deploy),
        Vec::<String>::new(),
        "{what}: only in the chart"
    );
    assert_eq!(
        only(deploy, chart),
        Vec::<String>::new(),
        "{what}: only in deploy/"
    );
    for (key, obj) in chart {
        if *obj == deploy[key] {
            continue;
        }
        // Key order aside (kustomize sorts keys, helm keeps the template's), the first line
        // that differs.
        let (a, b) = (sorted_text(obj), sorted_text(&deploy[key]));
        let at = a.lines().zip(b.lines()).position(|(x, y)| x != y);
        let line = |t: &str| t.lines().nth(at.unwrap_or(0)).unwrap_or("").to_string();
        panic!(
            "{what}: {key} differs at line {at:?}: chart {:?}, deploy/ {:?}",
            line(&a),
            line(&b)
        );
    }
}

/// Pretty JSON with every object's keys sorted.
fn sorted_text(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::to_value(sorted).unwrap()
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&sort(v)).unwrap()
}

#[test]
fn default_values_render_what_deploy_renders() {
    let deploy = objects(&run("kustomize", &["build", "deploy"]));
    // The Namespace is `helm install --create-namespace`'s business unless asked for.
    let mut without_ns = deploy.clone();
    without_ns
        .remove("v1 Namespace /moor-system")
        .expect("deploy/ has the Namespace");
    assert_same(&helm(&[]), &without_ns, "default values");
    assert_same(
        &helm(&["--set", "createNamespace=true"]),
        &deploy,
        "createNamespace=true",
    );
}

#[test]
fn impersonation_mode_renders_what_deploy_impersonation_renders() {
    let deploy = objects(&run("kustomize", &["build", "deploy/impersonation"]));
    assert_same(
        &helm(&[
            "--set",
            "rbac.mode=impersonation",
            "--set",
            "createNamespace=true",
        ]),
        &deploy,
        "rbac.mode=impersonation",
    );
}

#[test]
fn chart_crds_are_deploy_crds() {
    let out = run("scripts/sync-chart-crds", &["--check"]);
    assert!(out.contains("is current"), "{out}");
}

#[test]
fn settings_reach_the_objects_and_lint_is_clean() {
    for set in [
        vec![],
        vec!["--set", "rbac.mode=impersonation"],
        vec![
            "--set",
            "webhook.token=t0ken",
            "--set",
            "ingress.enabled=true",
            "--set",
            "replicaCount=3",
            "--set",
            "image.tag=1.2.3",
            "--set",
            "leaderElection.leaseDuration=30s",
        ],
    ] {
        let mut args = vec!["lint", "charts/moor", "--strict"];
        args.extend_from_slice(&set);
        let out = run("helm", &args);
        assert!(
            !out.contains("[WARNING]") && !out.contains("[ERROR]"),
            "{out}"
        );
    }
    let objs = helm(&[
        "--set",
        "webhook.token=t0ken",
        "--set",
        "ingress.enabled=true",
        "--set",
        "replicaCount=3",
        "--set",
        "image.tag=1.2.3",
        "--set",
        "leaderElection.leaseDuration=30s",
    ]);
    let d = &objs["apps/v1 Deployment moor-system/moor-controller"];
    assert_eq!(d["spec"]["replicas"], 3);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "ghcr.io/moor-dev/moor:1.2.3");
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--leader-election-lease-duration", "30s"]),
        "{args:?}"
    );
    let env = serde_json::to_string(&c["env"]).unwrap();
    assert!(
        env.contains("MOOR_WEBHOOK_TOKEN") && env.contains("moor-webhook"),
        "{env}"
    );
    // The token is in the Secret only, never in the Deployment.
    assert!(!serde_json::to_string(d).unwrap().contains("t0ken"));
    assert_eq!(
        objs["v1 Secret moor-system/moor-webhook"]["stringData"]["token"],
        "t0ken"
    );
    assert!(objs.contains_key("networking.k8s.io/v1 Ingress moor-system/moor-controller"));
    // A mode that does not exist is an error, not a controller without RBAC.
    let out = Command::new("helm")
        .args(["template", "moor", "charts/moor", "--set", "rbac.mode=none"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rbac.mode must be full or impersonation"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The controller container of a rendering, its args and its port names.
fn controller_container(objs: &BTreeMap<String, Value>) -> (&Value, Vec<&str>, Vec<&str>) {
    let c = &objs["apps/v1 Deployment moor-system/moor-controller"]["spec"]["template"]["spec"]["containers"]
        [0];
    let args = c["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let ports = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    (c, args, ports)
}

#[test]
fn the_web_ui_is_on_by_default_behind_service_moor_ui_and_ui_enabled_false_removes_it() {
    let svc = "v1 Service moor-system/moor-ui";
    let on = helm(&[]);
    let (c, args, ports) = controller_container(&on);
    assert!(
        args.windows(2).any(|w| w == ["--ui-addr", "0.0.0.0:8082"]),
        "{args:?}"
    );
    assert!(ports.contains(&"ui"), "{ports:?}");
    // Readiness stays the controller's: a UI that is slow to answer never takes a replica out.
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http");
    let s = &on[svc];
    assert_eq!(s["spec"]["type"], "ClusterIP");
    assert_eq!(s["spec"]["ports"][0]["port"], 80);
    assert_eq!(s["spec"]["ports"][0]["targetPort"], "ui");

    // Off: no Service, flag or port; every other object as before.
    let off = helm(&["--set", "ui.enabled=false"]);
    assert!(!off.contains_key(svc), "{:?}", off.keys());
    let (_, args, ports) = controller_container(&off);
    assert!(!args.contains(&"--ui-addr"), "{args:?}");
    assert!(!ports.contains(&"ui"), "{ports:?}");
    let mut same = on.clone();
    same.remove(svc);
    same.retain(|k, _| !k.contains("Deployment"));
    let mut off_rest = off.clone();
    off_rest.retain(|k, _| !k.contains("Deployment"));
    assert_same(&off_rest, &same, "ui.enabled=false");
    let out = run(
        "helm",
        &[
            "lint",
            "charts/moor",
            "--strict",
            "--set",
            "ui.enabled=false",
        ],
    );
    assert!(
        !out.contains("[WARNING]") && !out.contains("[ERROR]"),
        "{out}"
    );

    // The port and the Service's type and port are settings.
    let set = helm(&[
        "--set",
        "ui.port=9000",
        "--set",
        "ui.service.type=NodePort",
        "--set",
        "ui.service.port=8443",
    ]);
    let (c, args, _) = controller_container(&set);
    assert!(
        args.windows(2).any(|w| w == ["--ui-addr", "0.0.0.0:9000"]),
        "{args:?}"
    );
    let ui_port = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ui")
        .unwrap();
    assert_eq!(ui_port["containerPort"], 9000);
    assert_eq!(set[svc]["spec"]["type"], "NodePort");
    assert_eq!(set[svc]["spec"]["ports"][0]["port"], 8443);
}
