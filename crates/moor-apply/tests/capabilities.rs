//! `Engine::capabilities` on the local control plane: the server's version and every served
//! `group/version` and `group/version/Kind` (what Helm's `.Capabilities` is told), and a CRD a
//! sync creates shows without waiting for the discovery's five minutes to pass.

mod common;

use std::time::Duration;

use common::{opts, setup, sync_ok};

const LONG: Duration = Duration::from_secs(300);

fn crd(group: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.{group}\n\
spec:\n  group: {group}\n  scope: Namespaced\n  names: {{kind: Gadget, plural: gadgets}}\n  versions:\n\
\x20   - name: v1\n      served: true\n      storage: true\n\
\x20     schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}\n"
    )
}

#[tokio::test]
async fn capabilities_name_every_served_version_and_kind_and_follow_a_synced_crd() {
    let (client, engine, ns, app) = setup("caps").await;
    let caps = engine.capabilities(LONG).await.expect("discovery");
    let version = client.apiserver_version().await.unwrap().git_version;
    assert_eq!(caps.kube_version, version);
    for want in [
        "v1",
        "v1/ConfigMap",
        "apps/v1",
        "apps/v1/Deployment",
        "apiextensions.k8s.io/v1/CustomResourceDefinition",
    ] {
        assert!(
            caps.api_versions.iter().any(|v| v == want),
            "{want} missing"
        );
    }
    let mut sorted = caps.api_versions.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, caps.api_versions, "sorted, each once");
    assert!(
        !caps.api_versions.iter().any(|v| v.ends_with("/status")),
        "no subresources"
    );

    // A group of this run only. The discovery above would serve for minutes; the sync that
    // creates the CRD makes the next calls look again.
    let group = format!("{}.caps.moor.dev", ns.name);
    sync_ok(
        &engine,
        &crd(&group),
        &opts(&app, &ns.name),
        "sync of the CRD",
    )
    .await;
    let wanted = format!("{group}/v1/Gadget");
    moor_testkit::eventually(
        "the synced CRD in the capabilities",
        Duration::from_secs(30),
        || async {
            let caps = engine.capabilities(LONG).await.ok()?;
            caps.api_versions.contains(&wanted).then_some(())
        },
    )
    .await;
    let _ = std::process::Command::new("kubectl")
        .args(["delete", "crd", &format!("gadgets.{group}"), "--wait=false"])
        .output();
}
