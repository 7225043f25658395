//! End to end: `syncPolicy.retry` tries a failed automated sync of the same revision again.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::apps::{apply_app, spec, synced_at, wait_app};
use common::controller::Controller;
use common::{get, write};
use moor_testkit::{GitServer, TestNamespace, client, eventually, unique_name};
use serde_json::json;

fn kubectl(args: &[&str], stdin: &str) -> std::process::Output {
    moor_testkit::kubeconfig_path(); // kubectl reads KUBECONFIG: only the checked test cluster's
    let mut child = Command::new("kubectl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_automated_sync_is_retried_until_it_succeeds() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "retry").await;
    let dest = TestNamespace::create(&client, "retry-dest").await;
    // An admission policy that refuses the real write of ConfigMap "guarded" in dest but lets its
    // dry-run pass: the comparison succeeds, the sync fails, as with a webhook that is down.
    let policy = unique_name("deny-guarded");
    let manifests = format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {policy}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [configmaps]
  validations:
    - expression: "request.dryRun == true || object.metadata.name != 'guarded'"
      message: writes of ConfigMap guarded are refused for now
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {policy}}}
spec:
  policyName: {policy}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {{kubernetes.io/metadata.name: {ns}}}
"#,
        ns = dest.name
    );
    let out = kubectl(&["apply", "-f", "-"], &manifests);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The API server enforces a new policy within a moment.
    eventually(
        "the admission policy to refuse a write",
        Duration::from_secs(30),
        || async {
            let probe = kubectl(&["create", "configmap", "guarded", "-n", &dest.name], "");
            if probe.status.success() {
                kubectl(&["delete", "configmap", "guarded", "-n", &dest.name], "");
                return None;
            }
            String::from_utf8_lossy(&probe.stderr)
                .contains("refused for now")
                .then_some(())
        },
    )
    .await;

    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guarded\ndata:\n  k: v\n",
    );
    let server = GitServer::start();
    let repo = server.create_repo(&unique_name("retry"), src.path());
    let _ctl = Controller::start(&apps_ns.name, &[]);
    let mut s = spec(&repo.file_url(), "app", &dest.name, json!({}));
    s["syncPolicy"]["retry"] =
        json!({"limit": 20, "backoff": {"duration": "1s", "factor": 1, "maxDuration": "2s"}});
    apply_app(&client, &apps_ns.name, "guarded", s).await;
    let a = wait_app(&client, &apps_ns.name, "guarded", "sync Failed", 60, |a| {
        a["status"]["operationState"]["phase"] == "Failed"
    })
    .await;
    assert!(
        a["status"]["operationState"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused for now"),
        "{a}"
    );

    // The cause goes away; no new commit: only a retry can sync it now.
    let out = kubectl(&["delete", "validatingadmissionpolicybinding", &policy], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = repo.head();
    let a = wait_app(
        &client,
        &apps_ns.name,
        "guarded",
        "Synced by a retry",
        30,
        |a| synced_at(a, &head) && a["status"]["operationState"]["phase"] == "Succeeded",
    )
    .await;
    assert!(
        a["status"]["operationState"]["retryCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1,
        "{a}"
    );
    assert!(
        get(&client, "v1", "ConfigMap", Some(&dest.name), "guarded")
            .await
            .is_some()
    );
    kubectl(&["delete", "validatingadmissionpolicy", &policy], "");
}
