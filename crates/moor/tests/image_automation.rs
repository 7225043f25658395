//! End to end: a real OCI registry on loopback, ImageRepository + ImagePolicy +
//! ImageUpdateAutomation under `moor controller`: the chosen tag is committed to Git and the
//! Application deploys it; a policy that matches nothing leaves Git untouched and says so.

mod common;

use std::time::Duration;

use common::apps::{apply_app, spec};
use common::controller::Controller;
use common::{get, write};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::registry;
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::{Value, json};

async fn apply(client: &Client, ns: &str, kind: &str, plural: &str, name: &str, spec: Value) {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("moor.dev", "v1alpha1", kind),
        plural,
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let obj = json!({"apiVersion": "moor.dev/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec});
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_newest_matching_tag_is_committed_and_deployed_and_no_match_leaves_git_untouched() {
    registry::require_registry();
    let client = client().await;
    let ns = TestNamespace::create(&client, "imgauto").await;
    let dest = TestNamespace::create(&client, "imgauto-dest").await;
    let reg = registry::Registry::start();
    for tag in ["1.2.0", "1.3.0-rc.1", "1.10.0"] {
        reg.push("team/app", tag).await;
    }
    let image = reg.image("team/app");
    let src = tempfile::tempdir().unwrap();
    let deployment = format!(
        r#"# The app; its tag is kept current by the image automation.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector: {{matchLabels: {{app: app}}}}
  template:
    metadata: {{labels: {{app: app}}}}
    spec:
      containers:
        - name: app
          image: {image}:1.0.0 # {{"$imagepolicy": "{ns}:app"}}
        - name: sidecar
          image: {image}:1.0.0 # {{"$imagepolicy": "{ns}:nothing"}}
"#,
        ns = ns.name
    );
    write(src.path(), "app/deployment.yaml", &deployment);
    let server = GitServer::start();
    let repo = server.create_repo("m", src.path());
    let url = server.file_url("m");
    let _ctl = Controller::start(&ns.name, &[]);

    apply(
        &client,
        &ns.name,
        "ImageRepository",
        "imagerepositories",
        "app",
        json!({"image": image, "interval": "2s", "insecure": true}),
    )
    .await;
    apply(&client, &ns.name, "ImagePolicy", "imagepolicies", "app", json!({"imageRepositoryRef": {"name": "app"}, "policy": {"semver": {"range": ">=1.0.0 <2.0.0"}}})).await;
    apply(
        &client,
        &ns.name,
        "ImagePolicy",
        "imagepolicies",
        "nothing",
        json!({"imageRepositoryRef": {"name": "app"}, "policy": {"semver": {"range": ">=5.0.0"}}}),
    )
    .await;
    apply(&client, &ns.name, "ImageUpdateAutomation", "imageupdateautomations", "app", json!({
        "git": {"repoURL": url, "branch": "main", "commit": {"author": {"name": "moor-bot", "email": "bot@moor.dev"}}},
        "update": {"path": "app"}, "interval": "2s"})).await;
    apply_app(
        &client,
        &ns.name,
        "app",
        spec(&url, "app", &dest.name, json!({"prune": true})),
    )
    .await;

    let start = std::time::Instant::now();
    eventually(
        "1.10.0 to run in the cluster",
        Duration::from_secs(90),
        || async {
            let d = get(&client, "apps/v1", "Deployment", Some(&dest.name), "app").await?;
            (d["spec"]["template"]["spec"]["containers"][0]["image"]
                == format!("{image}:1.10.0").as_str())
            .then_some(())
        },
    )
    .await;
    let took = start.elapsed();
    println!("tags pushed -> 1.10.0 running: {took:?}");
    // Scans every 2 s; the automation's push refreshes the app at once (its poll is 60 s).
    assert!(
        took < Duration::from_secs(30),
        "took {took:?}: longer than a scan interval plus one sync"
    );

    // Exactly the policy's tag changed in Git, comments and the other container untouched.
    let work = repo.clone_work();
    let text = std::fs::read_to_string(work.path().join("app/deployment.yaml")).unwrap();
    let expected = deployment.replacen(
        &format!("{image}:1.0.0 # {{\"$imagepolicy\": \"{}:app\"}}", ns.name),
        &format!("{image}:1.10.0 # {{\"$imagepolicy\": \"{}:app\"}}", ns.name),
        1,
    );
    assert_eq!(text, expected);
    let author = work.git(&["log", "-1", "--format=%an <%ae>"]);
    assert_eq!(author.trim(), "moor-bot <bot@moor.dev>");

    let nothing = get(
        &client,
        "moor.dev/v1alpha1",
        "ImagePolicy",
        Some(&ns.name),
        "nothing",
    )
    .await
    .unwrap();
    let msg = nothing["status"]["conditions"].to_string();
    assert!(msg.contains("no tag matches"), "{nothing}");
    let auto = get(
        &client,
        "moor.dev/v1alpha1",
        "ImageUpdateAutomation",
        Some(&ns.name),
        "app",
    )
    .await
    .unwrap();
    assert!(auto["status"]["lastPushCommit"].is_string(), "{auto}");

    // A registry that goes away: a condition with the reason, nothing committed.
    let head = repo.head();
    drop(reg);
    let r = eventually(
        "the ImageRepository to report the registry unreachable",
        Duration::from_secs(30),
        || async {
            let r = get(
                &client,
                "moor.dev/v1alpha1",
                "ImageRepository",
                Some(&ns.name),
                "app",
            )
            .await?;
            r["status"]["conditions"]
                .to_string()
                .contains("RegistryUnavailable")
                .then_some(r)
        },
    )
    .await;
    assert!(
        r["status"]["conditions"].to_string().contains("False"),
        "{r}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        repo.head(),
        head,
        "something was committed while the registry was down"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn image_set_from_ci_is_deployed_by_the_controller_and_a_rerun_commits_nothing() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "imgset").await;
    let suffix = moor_testkit::unique_name("i");
    let seed = common::seed_copy(&suffix);
    let server = GitServer::start();
    let repo = server.create_repo("m", seed.path());
    let url = server.http_auth_url("m");
    let (user, password) = server.http_credentials();
    let creds = [
        ("MOOR_GIT_USERNAME", user.as_str()),
        ("MOOR_GIT_PASSWORD", password.as_str()),
    ];
    let _ctl = Controller::start(
        &ns.name,
        &["--poll-interval", "3s", "--min-poll-interval", "1s"],
    );
    // The controller reads the same repository anonymously over file://.
    let dest = format!("staging-{suffix}");
    apply_app(
        &client,
        &ns.name,
        "staging",
        spec(
            &server.file_url("m"),
            "overlays/staging",
            &dest,
            json!({"prune": true}),
        ),
    )
    .await;
    eventually("the first sync", Duration::from_secs(60), || async {
        get(&client, "apps/v1", "Deployment", Some(&dest), "myapp")
            .await
            .map(|_| ())
    })
    .await;

    let before = repo.head();
    let args = [
        "image",
        "set",
        "--repo",
        &url,
        "--path",
        "overlays/staging",
        "registry.local/myapp=registry.local/myapp:3f2c1ab",
    ];
    common::moor_ok(&args, &creds);
    assert_ne!(repo.head(), before, "image set made no commit");
    let image = |d: Value| {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    eventually(
        "the controller to deploy the CI's commit",
        Duration::from_secs(90),
        || async {
            let d = get(&client, "apps/v1", "Deployment", Some(&dest), "myapp").await?;
            (image(d) == "registry.local/myapp:3f2c1ab").then_some(())
        },
    )
    .await;
    let head = repo.head();
    let r = common::moor_ok(&args, &creds);
    assert_eq!(
        repo.head(),
        head,
        "a second identical image set committed: {}",
        r.stdout
    );
    let _ = common::moor(&["app", "delete", "staging", "-n", &ns.name], &[]);
}
