//! The local control plane is real: a plain Deployment becomes Available on kwok nodes, and its
//! ReplicaSet and Pods are garbage-collected after it is deleted.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use moor_testkit::{TestNamespace, client, eventually};

#[tokio::test]
async fn deployment_becomes_available_and_is_garbage_collected() {
    let client = client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let ready_nodes = nodes
        .list(&ListParams::default().labels("type=kwok"))
        .await
        .expect("list nodes")
        .items
        .len();
    assert!(ready_nodes >= 1, "the test cluster has no kwok nodes");

    let ns = TestNamespace::create(&client, "cp").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &d)
        .await
        .expect("create deployment");

    eventually(
        "Deployment web to become Available",
        Duration::from_secs(60),
        || async {
            let d = deployments.get("web").await.ok()?;
            let st = d.status?;
            let available = st
                .conditions?
                .iter()
                .any(|c| c.type_ == "Available" && c.status == "True");
            (available && st.ready_replicas == Some(2)).then_some(())
        },
    )
    .await;

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let running = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(running.items.len(), 2);
    for p in &running.items {
        let st = p.status.as_ref().unwrap();
        assert_eq!(st.phase.as_deref(), Some("Running"));
        let node = p.spec.as_ref().unwrap().node_name.as_deref().unwrap_or("");
        assert!(
            node.starts_with("kwok-node-"),
            "pod scheduled onto {node:?}"
        );
    }

    deployments
        .delete("web", &DeleteParams::background())
        .await
        .expect("delete deployment");
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns.name);
    eventually(
        "ReplicaSets and Pods of web to be garbage-collected",
        Duration::from_secs(60),
        || async {
            let rs = replicasets
                .list(&ListParams::default().labels("app=web"))
                .await
                .ok()?;
            let ps = pods
                .list(&ListParams::default().labels("app=web"))
                .await
                .ok()?;
            (rs.items.is_empty() && ps.items.is_empty()).then_some(())
        },
    )
    .await;
    ns.delete(&client).await;
}
