//! Argo CD's source overrides (kustomize overlay, Helm flags) with the real kustomize and helm.

mod common;

use std::path::Path;

use moor_render::{HelmOptions, HelmParameter, KustomizeOptions, RenderOptions, Replica, render};
use serde_json::json;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn every_kustomize_override_reaches_the_output() {
    common::require_tool("kustomize");
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    common_copy(&common::fixture("kustomize/base"), &root.join("apps/web"));
    write(
        root,
        "apps/extra/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n\
         commonAnnotations: {from-component: \"yes\"}\n",
    );
    let opts = RenderOptions {
        root: Some(root.to_path_buf()),
        kustomize: KustomizeOptions {
            images: vec!["nginx=registry.example/nginx:9".into()],
            name_prefix: Some("p-".into()),
            name_suffix: Some("-s".into()),
            common_labels: [("team".to_string(), "a".to_string())].into(),
            common_annotations: [("note".to_string(), "b".to_string())].into(),
            namespace: Some("prod".into()),
            replicas: vec![Replica {
                name: "web".into(),
                count: 4,
            }],
            patches: vec![json!({
                "target": {"kind": "Service"},
                "patch": "- op: add\n  path: /metadata/labels/patched\n  value: \"true\"\n",
            })],
            components: vec!["../extra".into()],
        },
        ..Default::default()
    };
    let ms = render(&root.join("apps/web"), &opts).unwrap();
    let keys: Vec<String> = ms.iter().map(|m| m.key().to_string()).collect();
    assert_eq!(keys, ["Service prod/p-web-s", "Deployment prod/p-web-s"]);
    let (svc, deploy) = (&ms[0].obj, &ms[1].obj);
    assert_eq!(deploy["spec"]["replicas"], 4);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/nginx:9"
    );
    assert_eq!(deploy["metadata"]["labels"]["team"], "a");
    assert_eq!(deploy["metadata"]["annotations"]["note"], "b");
    assert_eq!(deploy["metadata"]["annotations"]["from-component"], "yes");
    assert_eq!(svc["metadata"]["labels"]["patched"], "true");
    assert_eq!(ms[0].origin.file, "kustomization.yaml");

    // A component leaving the checkout is refused before kustomize runs.
    let escaping = RenderOptions {
        kustomize: KustomizeOptions {
            components: vec!["../../..".into()],
            ..Default::default()
        },
        ..opts.clone()
    };
    let err = render(&root.join("apps/web"), &escaping).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.source.kustomize.components entry \"../../..\" leaves the repository"
    );
}

fn common_copy(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
}

#[test]
fn helm_overrides_follow_argo_cd_precedence() {
    common::require_tool("helm");
    let dir = common::fixture("helm/web");
    let opts = RenderOptions {
        helm: HelmOptions {
            value_files: vec!["values-prod.yaml".into(), "missing.yaml".into()],
            ignore_missing_value_files: true,
            values: Some("replicas: 5\nimage: {tag: from-values}\n".into()),
            values_object: Some(json!({"image": {"tag": "from-object"}})),
            parameters: vec![HelmParameter {
                name: "replicas".into(),
                value: "7".into(),
                force_string: false,
            }],
            skip_crds: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let ms = render(&dir, &opts).unwrap();
    let keys: Vec<String> = ms.iter().map(|m| m.key().to_string()).collect();
    assert_eq!(
        keys,
        ["Service default/web", "Deployment default/web"],
        "skipCrds leaves the CRD out"
    );
    assert_eq!(ms[1].obj["spec"]["replicas"], 7);
    assert_eq!(
        ms[1].obj["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:from-object"
    );
}
