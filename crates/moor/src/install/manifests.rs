//! The objects of deploy/, compiled into the binary (no checkout needed to install), and the
//! settings `moor install` changes in them.

use anyhow::{Context, Result};
use moor_types::{ANNOTATION_PRUNE, Manifest, SYSTEM_NAMESPACE};
use serde_json::{Value, json};

use crate::cli::install::RbacMode;

/// One embedded file: its path in the repository (named in errors) and its text.
type File = (&'static str, &'static str);

macro_rules! deploy_file {
    ($path:literal) => {
        (
            concat!("deploy/", $path),
            include_str!(concat!("../../../../deploy/", $path)),
        )
    };
}

/// deploy/crds, as its kustomization lists them.
const CRDS: &[File] = &[
    deploy_file!("crds/application.yaml"),
    deploy_file!("crds/argoproj-application.yaml"),
    deploy_file!("crds/appproject.yaml"),
    deploy_file!("crds/argoproj-appproject.yaml"),
    deploy_file!("crds/imagerepository.yaml"),
    deploy_file!("crds/imagepolicy.yaml"),
    deploy_file!("crds/imageupdateautomation.yaml"),
];

/// deploy/controller.
const CONTROLLER: &[File] = &[
    deploy_file!("controller/namespace.yaml"),
    deploy_file!("controller/serviceaccount.yaml"),
    deploy_file!("controller/service.yaml"),
    deploy_file!("controller/ui-service.yaml"),
    deploy_file!("controller/deployment.yaml"),
];

const RBAC_FULL: File = deploy_file!("rbac/rbac.yaml");
const RBAC_IMPERSONATION: File = deploy_file!("impersonation/rbac.yaml");

/// The controller Deployment's name (in the install namespace).
pub const DEPLOYMENT: &str = "moor-controller";
/// Its container that runs moor.
pub const CONTAINER: &str = "controller";
/// Where released images are published; `moor install --version V` runs `IMAGE_REPO:V`.
pub const IMAGE_REPO: &str = "ghcr.io/moor-dev/moor";

/// What `moor install` sets in deploy/'s objects.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The controller's namespace.
    pub namespace: String,
    /// The controller image.
    pub image: String,
    /// deploy/rbac or deploy/impersonation.
    pub rbac: RbacMode,
    /// None: deploy/'s own count.
    pub replicas: Option<u32>,
    /// Include deploy/crds.
    pub crds: bool,
}

/// The objects to apply for `s`, in file order (the engine sorts them into apply order).
pub fn manifests(s: &Settings) -> Result<Vec<Manifest>> {
    let rbac = match s.rbac {
        RbacMode::Full => RBAC_FULL,
        RbacMode::Impersonation => RBAC_IMPERSONATION,
    };
    let crds: &[File] = if s.crds { CRDS } else { &[] };
    let mut out = vec![];
    for (path, text) in crds.iter().chain(CONTROLLER).chain([&rbac]) {
        let parsed = moor_render::parse_manifests(text, path)
            .with_context(|| format!("the embedded {path} does not parse"))?;
        for mut m in parsed {
            customize(&mut m, s);
            out.push(m);
        }
    }
    Ok(out)
}

/// Cluster-wide names carry the namespace when it is not moor-system: two installs in one
/// cluster (a test's, a second team's) then never bind each other's service account.
fn cluster_name(name: &str, ns: &str) -> String {
    if ns == SYSTEM_NAMESPACE {
        name.to_string()
    } else {
        format!("{name}-{ns}")
    }
}

fn customize(m: &mut Manifest, s: &Settings) {
    let ns = s.namespace.as_str();
    let kind = m.kind().to_string();
    let obj = &mut m.obj;
    match kind.as_str() {
        // A later install with --skip-crds, or one in another namespace, must never prune them:
        // deleting a CRD deletes every Application, deleting the namespace the inventories.
        // Only `moor uninstall --crds` deletes them (as Flux marks its own).
        "CustomResourceDefinition" => {
            obj["metadata"]["annotations"][ANNOTATION_PRUNE] = json!("false");
        }
        "Namespace" => {
            obj["metadata"]["name"] = json!(ns);
            obj["metadata"]["annotations"][ANNOTATION_PRUNE] = json!("false");
        }
        "ClusterRole" | "ClusterRoleBinding" => {
            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
            obj["metadata"]["name"] = json!(cluster_name(name, ns));
        }
        _ => {}
    }
    if obj["metadata"].get("namespace").is_some() {
        obj["metadata"]["namespace"] = json!(ns);
    }
    if kind.ends_with("RoleBinding") {
        if kind == "ClusterRoleBinding" && obj["roleRef"]["kind"] == "ClusterRole" {
            let role = obj["roleRef"]["name"].as_str().unwrap_or_default();
            obj["roleRef"]["name"] = json!(cluster_name(role, ns));
        }
        if let Some(subjects) = obj["subjects"].as_array_mut() {
            for sub in subjects {
                if sub["kind"] == "ServiceAccount" && sub["namespace"] == SYSTEM_NAMESPACE {
                    sub["namespace"] = json!(ns);
                }
            }
        }
    }
    if kind == "Deployment" && m.name() == DEPLOYMENT {
        deployment(&mut m.obj, s);
    }
}

fn deployment(obj: &mut Value, s: &Settings) {
    if let Some(n) = s.replicas {
        obj["spec"]["replicas"] = json!(n);
    }
    let Some(containers) = obj
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in containers.iter_mut().filter(|c| c["name"] == CONTAINER) {
        c["image"] = json!(s.image);
        // As deploy/impersonation's patch: a write as the controller itself is refused.
        if s.rbac == RbacMode::Impersonation
            && let Some(args) = c["args"].as_array_mut()
        {
            args.push(json!("--require-impersonation"));
        }
        // Its Secrets and Lease live in its own namespace.
        if s.namespace != SYSTEM_NAMESPACE
            && let Some(env) = c["env"].as_array_mut()
        {
            env.push(json!({"name": "MOOR_NAMESPACE", "value": s.namespace}));
        }
    }
}

/// The image of `--version`/`--image`: the client's own version by default.
pub fn image(version: Option<&str>, image: Option<&str>) -> String {
    match (image, version) {
        (Some(i), _) => i.to_string(),
        (None, Some(v)) => format!("{IMAGE_REPO}:{v}"),
        (None, None) => format!("{IMAGE_REPO}:{}", env!("CARGO_PKG_VERSION")),
    }
}

/// The tag of an image reference (after the last `:` of its last path segment), without a
/// digest; None for an untagged reference.
pub fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ns: &str, rbac: RbacMode) -> Settings {
        Settings {
            namespace: ns.into(),
            image: "registry.local/moor:9.9.9".into(),
            rbac,
            replicas: Some(1),
            crds: true,
        }
    }

    fn find<'a>(ms: &'a [Manifest], kind: &str) -> Vec<&'a Value> {
        ms.iter()
            .filter(|m| m.kind() == kind)
            .map(|m| &m.obj)
            .collect()
    }

    #[test]
    fn the_default_namespace_keeps_deploy_s_names() {
        let ms = manifests(&settings(SYSTEM_NAMESPACE, RbacMode::Full)).unwrap();
        assert_eq!(find(&ms, "CustomResourceDefinition").len(), 7);
        assert_eq!(
            find(&ms, "ClusterRole")[0]["metadata"]["name"],
            "moor-controller"
        );
        let d = find(&ms, "Deployment")[0];
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.local/moor:9.9.9"
        );
        assert_eq!(d["spec"]["replicas"], 1);
        let env = d["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
        assert!(!env.contains("MOOR_NAMESPACE"), "{env}");
    }

    #[test]
    fn another_namespace_moves_every_namespaced_object_and_names_the_cluster_rbac_after_it() {
        let ms = manifests(&settings("team-x", RbacMode::Impersonation)).unwrap();
        for m in &ms {
            if let Some(ns) = m.namespace() {
                assert_eq!(ns, "team-x", "{}", m.key());
            }
            assert!(
                !m.obj.to_string().contains("\"moor-system\""),
                "{}",
                m.key()
            );
        }
        assert_eq!(find(&ms, "Namespace")[0]["metadata"]["name"], "team-x");
        let ui = find(&ms, "Service")
            .into_iter()
            .find(|s| s["metadata"]["name"] == "moor-ui")
            .expect("the web UI's Service");
        assert_eq!(ui["metadata"]["namespace"], "team-x");
        let crb = find(&ms, "ClusterRoleBinding")[0];
        assert_eq!(
            crb["metadata"]["name"],
            "moor-controller-impersonation-team-x"
        );
        assert_eq!(
            crb["roleRef"]["name"],
            "moor-controller-impersonation-team-x"
        );
        assert_eq!(crb["subjects"][0]["namespace"], "team-x");
        let d = find(&ms, "Deployment")[0];
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert!(c["args"].to_string().contains("--require-impersonation"));
        assert!(c["env"].to_string().contains("team-x"));
    }

    #[test]
    fn image_references_by_version_or_given() {
        assert_eq!(image(Some("1.2.3"), None), "ghcr.io/moor-dev/moor:1.2.3");
        assert_eq!(image(Some("1"), Some("r:5000/m:x")), "r:5000/m:x");
        assert_eq!(image_tag("r:5000/m:x"), Some("x"));
        assert_eq!(image_tag("r:5000/m"), None);
        assert_eq!(image_tag("m:1@sha256:ab"), Some("1"));
    }
}
