//! The Helm renderer on a tiny chart (Deployment + Service, a CRD, a test hook), with the real
//! helm binary.

mod common;

use moor_render::{HelmOptions, RenderOptions, render, renderer_for};
use moor_types::Manifest;

/// `Kind namespace/name @ origin` of each manifest.
fn summary(ms: &[Manifest]) -> Vec<String> {
    ms.iter()
        .map(|m| format!("{} @ {}", m.key(), m.origin))
        .collect()
}

fn image(deploy: &Manifest) -> &str {
    deploy.obj["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

#[test]
fn chart_renders_with_release_namespace_and_values() {
    common::require_tool("helm");
    let dir = common::fixture("helm/web");
    assert_eq!(renderer_for(&dir).name(), "helm");
    let opts = RenderOptions {
        helm: HelmOptions {
            release_name: Some("shop".into()),
            namespace: Some("prod".into()),
            value_files: vec!["values-prod.yaml".into()],
            values: Some("replicas: 3\nservice:\n  type: NodePort\n".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let ms = render(&dir, &opts).unwrap();
    // The CRD from crds/ is in; the `helm test` hook is not.
    assert_eq!(
        summary(&ms),
        [
            "CustomResourceDefinition widgets.example.com @ crds/widgets.yaml",
            "Service prod/shop-web @ templates/service.yaml",
            "Deployment prod/shop-web @ templates/deployment.yaml",
        ]
    );
    let (svc, deploy) = (&ms[1], &ms[2]);
    // values.yaml < values-prod.yaml < inline values.
    assert_eq!(svc.obj["spec"]["ports"][0]["port"], 8080);
    assert_eq!(svc.obj["spec"]["type"], "NodePort");
    assert_eq!(deploy.obj["spec"]["replicas"], 3);
    assert_eq!(image(deploy), "nginx:1.27.3");
    assert_eq!(
        deploy.obj["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"],
        "shop"
    );
}

#[test]
fn chart_defaults_release_to_dir_name_and_namespace_to_default() {
    common::require_tool("helm");
    let ms = render(&common::fixture("helm/web"), &RenderOptions::default()).unwrap();
    let names: Vec<String> = ms.iter().skip(1).map(|m| m.key().to_string()).collect();
    assert_eq!(names, ["Service default/web", "Deployment default/web"]);
    assert_eq!(ms[1].obj["spec"]["ports"][0]["port"], 80);
    assert_eq!(ms[2].obj["spec"]["replicas"], 1);
    assert_eq!(image(&ms[2]), "nginx:1.27.0");
}

#[test]
fn helm_failure_carries_its_stderr() {
    common::require_tool("helm");
    let dir = common::fixture("helm/web");
    let opts = RenderOptions {
        helm: HelmOptions {
            values: Some("image:\n  repository: \"\"\n".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let msg = render(&dir, &opts).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("failed to run helm template {}: ", dir.display())),
        "{msg}"
    );
    assert!(msg.contains("image.repository is required"), "{msg}");
}
