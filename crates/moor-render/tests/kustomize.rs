//! The Kustomize renderer on a base + production overlay, with the real kustomize binary.

mod common;

use moor_render::{RenderError, RenderOptions, render, renderer_for};
use serde_json::json;

#[test]
fn production_overlay_applies_prefix_namespace_images_and_replicas() {
    common::require_tool("kustomize");
    let dir = common::fixture("kustomize/overlays/production");
    assert_eq!(renderer_for(&dir).name(), "kustomize");
    let opts = RenderOptions {
        root: Some(common::fixture("kustomize")),
        ..RenderOptions::default()
    };
    let ms = render(&dir, &opts).unwrap();

    let keys: Vec<String> = ms.iter().map(|m| m.key().to_string()).collect();
    assert_eq!(
        keys,
        [
            "Service production/prod-web",
            "Deployment production/prod-web"
        ]
    );
    for m in &ms {
        assert_eq!(m.origin.file, "kustomization.yaml");
        assert_eq!(m.origin.line, None);
        assert_eq!(m.obj["metadata"]["labels"], json!({"app": "web"}));
    }
    let deploy = &ms[1].obj;
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(
        deploy["spec"]["selector"]["matchLabels"],
        json!({"app": "web"})
    );
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.27.3");
    assert_eq!(ms[0].obj["spec"]["selector"], json!({"app": "web"}));
}

#[test]
fn base_renders_unprefixed() {
    common::require_tool("kustomize");
    let ms = render(
        &common::fixture("kustomize/base"),
        &RenderOptions::default(),
    )
    .unwrap();
    let keys: Vec<String> = ms.iter().map(|m| m.key().to_string()).collect();
    assert_eq!(keys, ["Service web", "Deployment web"]);
    assert_eq!(
        ms[1].obj["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25.0"
    );
}

#[test]
fn kustomize_failure_carries_its_stderr() {
    common::require_tool("kustomize");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("kustomization.yaml"),
        "resources:\n  - missing.yaml\n",
    )
    .unwrap();
    let err = render(tmp.path(), &RenderOptions::default()).unwrap_err();
    assert!(matches!(err, RenderError::ToolFailed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "failed to run kustomize build {}: ",
            tmp.path().display()
        )),
        "{msg}"
    );
    assert!(msg.contains("missing.yaml"), "{msg}");
}
