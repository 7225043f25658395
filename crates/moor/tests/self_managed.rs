//! End to end: moor manages its own installation from Git (examples/self-managed). A controller
//! syncs an Application whose source holds deploy/ (moved into a namespace of this test's own
//! and named after it by the repository's kustomization, so no other install is touched); a
//! commit that bumps the image tag is then rolled out to the controller's Deployment by the
//! controller itself. The nodes are kwok's: the Deployment becomes Available without running.

mod common;

use std::path::Path;
use std::time::Duration;

use common::apps::{apply_app, synced_at, synced_healthy, wait_app};
use common::controller::Controller;
use common::{copy_dir, get, moor_ok};
use moor_testkit::{TestNamespace, client, eventually};
use serde_json::{Value, json};

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The repository's kustomization: deploy/'s controller and RBAC (the CRDs are the test
/// cluster's, shared by every test), in `ns`, cluster-wide names suffixed, image at `tag`.
fn kustomization(ns: &str, tag: &str) -> String {
    format!(
        "resources: [../deploy/controller, ../deploy/rbac]\n\
         namespace: {ns}\n\
         nameSuffix: -{ns}\n\
         images: [{{name: ghcr.io/moor-dev/moor, newTag: \"{tag}\"}}]\n\
         patches:\n\
         \x20 - patch: |-\n\
         \x20     $patch: delete\n\
         \x20     apiVersion: v1\n\
         \x20     kind: Namespace\n\
         \x20     metadata:\n\
         \x20       name: moor-system\n"
    )
}

fn image_of(d: &Value) -> &str {
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
}

fn available(d: &Value) -> bool {
    d["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Available" && c["status"] == "True")
        && d["status"]["observedGeneration"] == d["metadata"]["generation"]
        && d["status"]["updatedReplicas"] == d["spec"]["replicas"]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_application_of_deploy_upgrades_the_controller_when_git_bumps_its_image_tag() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "selfm").await;
    let n = ns.name.as_str();
    let src = tempfile::tempdir().unwrap();
    for dir in ["controller", "rbac"] {
        copy_dir(
            &repo_root().join("deploy").join(dir),
            &src.path().join("deploy").join(dir),
        );
    }
    common::write(
        src.path(),
        "install/kustomization.yaml",
        &kustomization(n, "1.0.0"),
    );
    let server = moor_testkit::GitServer::start();
    let repo = server.create_repo("moor", src.path());
    let url = server.http_url("moor");

    let controller = Controller::start(n, &["--poll-interval", "60s"]);
    apply_app(
        &client,
        n,
        "moor",
        json!({
            "source": {"repoURL": url, "targetRevision": "main", "path": "install"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": n},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}
        }),
    )
    .await;
    let deployment = format!("moor-controller-{n}");
    let first = repo.head();
    wait_app(&client, n, "moor", "synced and healthy", 120, |a| {
        synced_at(a, &first) && synced_healthy(a)
    })
    .await;
    let d = get(&client, "apps/v1", "Deployment", Some(n), &deployment)
        .await
        .expect("the controller Deployment");
    assert_eq!(image_of(&d), "ghcr.io/moor-dev/moor:1.0.0");
    let crb = get(
        &client,
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        None,
        &deployment,
    )
    .await
    .expect("the ClusterRoleBinding");
    assert_eq!(crb["subjects"][0]["namespace"], n);
    assert_eq!(crb["subjects"][0]["name"], deployment.as_str());

    // The upgrade is a commit: the controller rolls its own Deployment to the new tag.
    let work = repo.clone_work();
    work.write("install/kustomization.yaml", kustomization(n, "1.0.1"));
    let bumped = work.commit_and_push("moor 1.0.1");
    assert_eq!(controller.push(&url, "main", true), 202);
    wait_app(&client, n, "moor", "synced at the bump", 120, |a| {
        synced_at(a, &bumped) && synced_healthy(a)
    })
    .await;
    eventually(
        "the Deployment to run 1.0.1 and be Available",
        Duration::from_secs(60),
        || async {
            let d = get(&client, "apps/v1", "Deployment", Some(n), &deployment).await?;
            (image_of(&d) == "ghcr.io/moor-dev/moor:1.0.1" && available(&d)).then_some(())
        },
    )
    .await;

    // Cluster-wide objects outlive the namespace: remove them here.
    drop(controller);
    for kind in ["clusterrolebinding", "clusterrole"] {
        let _ = std::process::Command::new("kubectl")
            .args(["delete", kind, &deployment, "--ignore-not-found"])
            .output();
    }
}

/// The example a user applies renders deploy/ with the pinned tag, the CRDs and the namespace
/// protected from pruning.
#[test]
fn the_example_renders_deploy_with_its_pinned_tag_and_unprunable_crds() {
    let root = repo_root().to_str().unwrap();
    let out = moor_ok(
        &["render", "--repo", root, "--path", "examples/self-managed"],
        &[],
    )
    .stdout;
    let docs: Vec<&str> = out.split("\n---\n").collect();
    let crds: Vec<&&str> = docs
        .iter()
        .filter(|d| d.contains("kind: CustomResourceDefinition"))
        .collect();
    assert_eq!(crds.len(), 7, "{out}");
    for d in crds.iter().chain(
        docs.iter()
            .filter(|d| d.contains("kind: Namespace\n"))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        assert!(
            d.contains("moor.dev/prune: \"false\"") || d.contains("moor.dev/prune: 'false'"),
            "{d}"
        );
    }
    assert!(out.contains("image: ghcr.io/moor-dev/moor:0.1.0"), "{out}");
}
