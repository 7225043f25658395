//! End to end: the controller survives its API server going away. The test starts a control
//! plane of its own (`scripts/cluster up --name outage`), kills its kube-apiserver with -9 for
//! 30 s while Git moves on, restarts it, and expects the commit made meanwhile to be applied.

mod common;

use std::time::Duration;

use common::apps::{apply_app, spec, synced_at, wait_app};
use common::controller::Controller;
use common::{get, write};
use kube::Client;
use moor_testkit::{GitServer, eventually};
use serde_json::{Value, json};

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

/// A control plane of the test's own (`scripts/cluster up --name NAME`), stopped when dropped.
struct OwnCluster {
    name: String,
    kubeconfig: String,
}

/// `scripts/cluster up`: starts what is not running (etcd keeps its data), returns the kubeconfig.
fn cluster_up(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(root.join("scripts/cluster"))
        .args(["up", "--name", name, "--nodes", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cluster {name} did not start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl OwnCluster {
    fn up(name: &str) -> OwnCluster {
        OwnCluster {
            name: name.to_string(),
            kubeconfig: cluster_up(name),
        }
    }

    fn pid(&self, component: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::fs::read_to_string(root.join(format!(
            ".moor-state/clusters/{}/pids/{component}",
            self.name
        )))
        .unwrap()
        .trim()
        .to_string()
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let _ = std::process::Command::new(root.join("scripts/cluster"))
            .args(["down", "--name", &self.name])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn api_server_gone_for_30_seconds_is_retried_and_recovered_from() {
    let cluster = OwnCluster::up("outage");
    let kubeconfig = std::path::Path::new(&cluster.kubeconfig);
    let client = Client::try_from(moor_testkit::kube_config(kubeconfig).await).unwrap();
    let crds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
    kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/applications.moor.dev",
        "--timeout=30s",
    ]);
    kubectl(&["create", "namespace", "apps"]);
    kubectl(&["create", "namespace", "dest"]);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/cm.yaml", &cm("cm", "1"));
    let server = GitServer::start();
    let repo = server.create_repo("r", src.path());
    let url = server.file_url("r");
    let ctl = Controller::start(
        "apps",
        &[
            "--kubeconfig",
            &cluster.kubeconfig,
            "--log-format",
            "json",
            "--poll-interval",
            "2s",
            "--min-poll-interval",
            "1s",
        ],
    );
    let s = spec(&url, "app", "dest", json!({"prune": true}));
    apply_app(&client, "apps", "app", s).await;
    let first = repo.head();
    wait_app(&client, "apps", "app", "Synced", 60, |a| {
        synced_at(a, &first)
    })
    .await;

    // The API server dies; Git moves on meanwhile; 30 s later the control plane comes back.
    let apiserver = cluster.pid("kube-apiserver");
    let killed = std::process::Command::new("kill")
        .args(["-9", &apiserver])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -9 {apiserver} failed");
    // Proof the outage is real: the process is gone and the API server answers nobody.
    eventually(
        "the killed kube-apiserver to be gone",
        Duration::from_secs(10),
        || async { (!std::path::Path::new(&format!("/proc/{apiserver}")).exists()).then_some(()) },
    )
    .await;
    let down = || async {
        tokio::time::timeout(Duration::from_secs(5), client.apiserver_version())
            .await
            .map_or(true, |r| r.is_err())
    };
    assert!(down().await, "the API server still answers after kill -9");
    let work = repo.clone_work();
    work.write("app/cm.yaml", cm("cm", "2"));
    let second = work.commit_and_push("v2 during the outage");
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        down().await,
        "the API server came back before the test restarted it"
    );
    cluster_up("outage");
    let a = wait_app(
        &client,
        "apps",
        "app",
        "Synced at the commit made during the outage",
        90,
        |a| synced_at(a, &second),
    )
    .await;
    assert_eq!(
        get(&client, "v1", "ConfigMap", Some("dest"), "cm")
            .await
            .unwrap()["data"]["value"],
        "2",
        "{a}"
    );
    let log = ctl.log_text();
    assert!(!log.is_empty());
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "--log-format json wrote a non-JSON line: {line}"
        );
    }
}
