//! End to end: a kubeconfig in a cluster Secret cannot make the controller run a command or read
//! one of its own files (issue 10, "code execution through configuration").

mod common;

use common::apps::{apply_app, spec, wait_app};
use common::controller::Controller;
use common::write;
use kube::api::{Api, Patch, PatchParams};
use moor_testkit::{GitServer, TestNamespace, client};
use serde_json::{Value, json};

/// Registers a cluster named `name` whose kubeconfig's user is `user` (YAML flow mapping).
async fn cluster_secret(client: &kube::Client, ns: &str, name: &str, user: &str) {
    let kubeconfig = format!(
        r#"apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:1"}}}}]
users: [{{name: u, user: {user}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"#
    );
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("cluster-{name}"), "labels": {"moor.dev/secret-type": "cluster"}},
        "stringData": {"name": name, "server": "https://127.0.0.1:1", "config": kubeconfig}});
    secrets
        .patch(
            &format!("cluster-{name}"),
            &PatchParams::apply("test"),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
}

fn condition_with(a: &Value, needle: &str) -> bool {
    a["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["message"].as_str().is_some_and(|m| m.contains(needle)))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_secret_with_an_exec_plugin_or_a_token_file_is_not_used() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "execk").await;
    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    let server = GitServer::start();
    server.create_repo("r", src.path());
    let url = server.http_url("r");
    let exec = format!(
        r#"{{exec: {{apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "touch {}"]}}}}"#,
        ran.display()
    );
    cluster_secret(&client, &apps_ns.name, "evil-exec", &exec).await;
    cluster_secret(
        &client,
        &apps_ns.name,
        "evil-file",
        "{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}",
    )
    .await;
    let _ctl = Controller::start(&apps_ns.name, &["--namespace", &apps_ns.name]);
    for (app, cluster, needle) in [
        (
            "exec",
            "evil-exec",
            "runs the command \"/bin/sh\" (an exec credential plugin), which the controller does not allow",
        ),
        (
            "file",
            "evil-file",
            "reads the controller's file \"/var/run/secrets/kubernetes.io/serviceaccount/token\" through tokenFile",
        ),
    ] {
        let mut s = spec(&url, "app", "default", json!({"prune": true}));
        s["destination"] = json!({"name": cluster, "namespace": "default"});
        apply_app(&client, &apps_ns.name, app, s).await;
        let a = wait_app(
            &client,
            &apps_ns.name,
            app,
            "refusing the kubeconfig",
            60,
            |a| condition_with(a, needle),
        )
        .await;
        assert!(
            condition_with(
                &a,
                &format!("the kubeconfig of cluster \"{cluster}\" is not used")
            ),
            "{a}"
        );
    }
    assert!(!ran.exists(), "the exec plugin of a cluster Secret ran");
}
