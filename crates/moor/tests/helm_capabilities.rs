//! End to end: a chart branching on `.Capabilities` renders as on its destination cluster
//! (`helm template --kube-version --api-versions` from the cluster's discovery, as Argo CD
//! does). The same chart goes to the `test` cluster, which serves a Widget CRD of a group made
//! for this run, and to the `second` cluster, which does not: each gets its own branch, and
//! the Kubernetes version each reports.

mod common;

use common::apps::{apply_app, spec, wait_app};
use common::controller::Controller;
use common::get;
use common::tenancy::{register_second_cluster, second_cluster_client};
use kube::Client;
use moor_testkit::{TestNamespace, client};
use serde_json::{Value, json};

fn chart_cm(group: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
data:
  widget: "{{{{ if .Capabilities.APIVersions.Has "{group}/v1/Widget" }}}}yes{{{{ else }}}}no{{{{ end }}}}"
  group: "{{{{ if .Capabilities.APIVersions.Has "{group}/v1" }}}}yes{{{{ else }}}}no{{{{ end }}}}"
  kube: {{{{ .Capabilities.KubeVersion.Version | quote }}}}
"#
    )
}

async fn version_of(client: &Client) -> String {
    client.apiserver_version().await.unwrap().git_version
}

async fn caps_data(client: &Client, ns: &str) -> Option<Value> {
    let cm = get(client, "v1", "ConfigMap", Some(ns), "caps").await?;
    Some(cm["data"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_renders_the_capabilities_of_its_destination_cluster() {
    let client = client().await;
    let second = second_cluster_client().await;
    let home = TestNamespace::create(&client, "caps").await;
    let here = TestNamespace::create(&client, "caps-here").await;
    let there = TestNamespace::create(&second, "caps-there").await;
    // A group of this run only, so no other test's CRD answers for it.
    let group = format!("{}.caps.moor.dev", home.name);
    let crd_dir = tempfile::tempdir().unwrap();
    let crd = common::write(crd_dir.path(), "crd.yaml", &common::widget_crd(&group));
    moor_testkit::apply_crds(&[crd], &[&format!("crd/widgets.{group}")]);

    let (server, _repo) = common::git_repo(
        "charts",
        &[
            (
                "chart/Chart.yaml",
                "apiVersion: v2\nname: caps\nversion: 0.1.0\n",
            ),
            ("chart/templates/cm.yaml", &chart_cm(&group)),
        ],
    );
    let url = server.file_url("charts");
    register_second_cluster(&client, &home.name, None).await;
    let _ctl = Controller::start(&home.name, &["--namespace", &home.name]);
    apply_app(
        &client,
        &home.name,
        "here",
        spec(&url, "chart", &here.name, json!({"prune": true})),
    )
    .await;
    let mut s = spec(&url, "chart", &there.name, json!({"prune": true}));
    s["destination"] = json!({"name": "second", "namespace": there.name});
    apply_app(&client, &home.name, "there", s).await;
    for app in ["here", "there"] {
        wait_app(&client, &home.name, app, "synced", 90, |a| {
            a["status"]["sync"]["status"] == "Synced"
        })
        .await;
    }

    let on_test = caps_data(&client, &here.name).await.expect("caps on test");
    assert_eq!(
        on_test,
        json!({"widget": "yes", "group": "yes", "kube": version_of(&client).await})
    );
    let on_second = caps_data(&second, &there.name)
        .await
        .expect("caps on second");
    assert_eq!(
        on_second,
        json!({"widget": "no", "group": "no", "kube": version_of(&second).await})
    );

    let _ = std::process::Command::new("kubectl")
        .args(["delete", "crd", &format!("widgets.{group}"), "--wait=false"])
        .output();
    home.delete(&client).await;
    here.delete(&client).await;
    there.delete(&second).await;
}
