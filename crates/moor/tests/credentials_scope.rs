//! End to end: git credentials go only to the repositories they are for. Real git servers that
//! record every `Authorization` header they receive, the real controller and the real CLI.

mod common;

use common::apps::{apply_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::moor;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use moor_testkit::registry;
use moor_testkit::{GitServer, TestNamespace, client, unique_name};
use serde_json::json;

/// A repo holding one ConfigMap under `app/`.
fn repo(server: &GitServer, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    common::write(
        dir.path(),
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    );
    server.create_repo(name, dir.path());
}

/// A repository credential Secret (`moor.dev/secret-type: repository`) in `ns`.
async fn repo_secret(client: &kube::Client, ns: &str, url: &str, user: &str, password: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {
            "name": unique_name("repo"),
            "labels": {"moor.dev/secret-type": "repository"}
        },
        "stringData": {"url": url, "username": user, "password": password}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create repository Secret");
}

fn authorized_outside(server: &GitServer, allowed_prefix: &str) -> Vec<String> {
    server
        .http_requests_with_authorization()
        .into_iter()
        .filter(|r| !r.starts_with(allowed_prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_secret_reaches_only_its_scheme_host_port_and_path() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "credscope").await;
    let (home, other) = (GitServer::start(), GitServer::start());
    repo(&home, "m");
    repo(&other, "m");
    let (user, password) = home.http_credentials();
    let scope = format!("http://127.0.0.1:{}/private", home.http_port());
    repo_secret(&client, &ns.name, &scope, &user, &password).await;
    // Decoys whose URLs are string prefixes of other repos' URLs, but not scopes covering them:
    // `/pub` is not `/public/`, and port 4123 is not port 41234.
    let public_prefix = format!("http://127.0.0.1:{}/pub", home.http_port());
    let port = other.http_port().to_string();
    let port_prefix = format!("http://127.0.0.1:{}", &port[..port.len() - 1]);
    for decoy in [&public_prefix, &port_prefix] {
        repo_secret(&client, &ns.name, decoy, "decoy", "decoy-password").await;
    }
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    let apps = [
        // Covered by the Secret: it must be used (the repo needs it).
        ("covered", home.http_auth_url("m")),
        // Another server on another port.
        ("other-port", other.http_url("m")),
        // The same server under another host name (a look-alike host).
        (
            "look-alike",
            home.http_url("m").replace("127.0.0.1", "localhost"),
        ),
        // The same host and port, a path outside the Secret's prefix.
        ("other-path", home.http_url("m")),
    ];
    for (name, url) in &apps {
        let dest = format!("{}-{name}", ns.name);
        let mut s = spec(url, "app", &dest, json!({}));
        s["syncPolicy"]["syncOptions"] = json!(["CreateNamespace=true"]);
        apply_app(&client, &ns.name, name, s).await;
    }
    for (name, _) in &apps {
        wait_app(&client, &ns.name, name, "synced", 120, synced_healthy).await;
    }

    assert!(
        !home.http_requests_with_authorization().is_empty(),
        "the Secret was not used for the repository it covers"
    );
    let allowed = format!("127.0.0.1:{}/private/", home.http_port());
    assert_eq!(
        authorized_outside(&home, &allowed),
        Vec::<String>::new(),
        "credentials reached a look-alike host or a path outside the Secret's prefix"
    );
    assert!(
        !other.http_requests().is_empty(),
        "the other server was not asked"
    );
    assert_eq!(
        other.http_requests_with_authorization(),
        Vec::<String>::new(),
        "credentials reached another server"
    );
    for (name, _) in &apps {
        kube_delete_dest(&client, &format!("{}-{name}", ns.name)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_controllers_env_credentials_reach_only_the_urls_they_are_scoped_to() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "envscope").await;
    let (home, other) = (GitServer::start(), GitServer::start());
    repo(&home, "m");
    repo(&other, "m");
    let (user, password) = home.http_credentials();
    let scope = format!("http://127.0.0.1:{}/private", home.http_port());
    let env = [
        ("MOOR_GIT_USERNAME", user.as_str()),
        ("MOOR_GIT_PASSWORD", password.as_str()),
        ("MOOR_GIT_CREDENTIALS_URL", scope.as_str()),
    ];
    let _ctl = Controller::start_with_env(&ns.name, &["--namespace", &ns.name], &env);
    for (name, url) in [
        ("covered", home.http_auth_url("m")),
        ("other", other.http_url("m")),
    ] {
        let dest = format!("{}-{name}", ns.name);
        let mut s = spec(&url, "app", &dest, json!({}));
        s["syncPolicy"]["syncOptions"] = json!(["CreateNamespace=true"]);
        apply_app(&client, &ns.name, name, s).await;
    }
    for name in ["covered", "other"] {
        wait_app(&client, &ns.name, name, "synced", 120, synced_healthy).await;
    }
    assert!(!home.http_requests_with_authorization().is_empty());
    assert!(!other.http_requests().is_empty());
    assert_eq!(
        other.http_requests_with_authorization(),
        Vec::<String>::new(),
        "the controller's env credentials reached a server they are not scoped to"
    );
    for name in ["covered", "other"] {
        kube_delete_dest(&client, &format!("{}-{name}", ns.name)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn app_diff_sends_the_operators_credentials_only_to_urls_the_operator_named() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "diffscope").await;
    let (home, other) = (GitServer::start(), GitServer::start());
    repo(&home, "m");
    repo(&other, "m");
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    // Someone else's Application, pointing at a server the operator never named.
    apply_app(
        &client,
        &ns.name,
        "theirs",
        manual(spec(&other.http_url("m"), "app", &ns.name, json!({}))),
    )
    .await;
    apply_app(
        &client,
        &ns.name,
        "ours",
        manual(spec(&home.http_auth_url("m"), "app", &ns.name, json!({}))),
    )
    .await;
    let (user, password) = home.http_credentials();
    let scope = format!("http://127.0.0.1:{}/private", home.http_port());
    let creds = [
        ("MOOR_GIT_USERNAME", user.as_str()),
        ("MOOR_GIT_PASSWORD", password.as_str()),
        ("MOOR_CACHE", cache_dir),
    ];
    let scoped = [
        creds.as_slice(),
        &[("MOOR_GIT_CREDENTIALS_URL", scope.as_str())],
    ]
    .concat();
    let diff = |name: &str, env: &[(&str, &str)]| {
        moor(
            &["app", "diff", name, "-n", &ns.name, "--color", "never"],
            env,
        )
    };

    // Their app: rendered (it differs: nothing is applied), without the operator's credentials.
    let r = diff("theirs", &scoped);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(!other.http_requests().is_empty());
    assert_eq!(
        other.http_requests_with_authorization(),
        Vec::<String>::new(),
        "moor app diff sent the operator's credentials to a host the operator did not name"
    );
    // Ours, under the URL the operator named: the credentials go there.
    let r = diff("ours", &scoped);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    // Without naming it, they go nowhere, and the private repo cannot be read.
    let before = home.http_requests_with_authorization().len();
    let r = diff("ours", &creds);
    assert!(r.code > 1, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains(&password), "{}", r.stderr);
    assert_eq!(home.http_requests_with_authorization().len(), before);
}

/// Applies a moor.dev image automation resource.
async fn apply_kind(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    plural: &str,
    spec: serde_json::Value,
) {
    use kube::api::{DynamicObject, Patch, PatchParams};
    use kube::core::{ApiResource, GroupVersionKind};
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("moor.dev", "v1alpha1", kind),
        plural,
    );
    let name = spec["name"].as_str().unwrap_or("app").to_string();
    let mut body = spec.clone();
    body.as_object_mut().unwrap().remove("name");
    let obj = json!({"apiVersion": "moor.dev/v1alpha1", "kind": kind,
        "metadata": {"name": name, "namespace": ns}, "spec": body});
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar)
        .patch(
            &name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn image_automation_pushes_use_only_credentials_that_cover_the_repo() {
    registry::require_registry();
    let client = client().await;
    let ns = TestNamespace::create(&client, "autoscope").await;
    let reg = registry::Registry::start();
    reg.push("team/app", "1.2.0").await;
    let image = reg.image("team/app");
    let (home, other) = (GitServer::start(), GitServer::start());
    let src = tempfile::tempdir().unwrap();
    let deployment = format!(
        "image: {image}:1.0.0 # {{\"$imagepolicy\": \"{}:app\"}}\n",
        ns.name
    );
    common::write(src.path(), "app/values.yaml", &deployment);
    let home_repo = home.create_repo("m", src.path());
    let other_repo = other.create_repo("m", src.path());
    let (user, password) = home.http_credentials();
    let scope = format!("http://127.0.0.1:{}/private", home.http_port());
    repo_secret(&client, &ns.name, &scope, &user, &password).await;
    // The controller also has environment credentials, scoped to nothing: they go nowhere.
    let env = [
        ("MOOR_GIT_USERNAME", "env-user"),
        ("MOOR_GIT_PASSWORD", "env-password"),
    ];
    let _ctl = Controller::start_with_env(&ns.name, &["--namespace", &ns.name], &env);
    apply_kind(
        &client,
        &ns.name,
        "ImageRepository",
        "imagerepositories",
        json!({"image": image, "interval": "2s", "insecure": true}),
    )
    .await;
    apply_kind(
        &client,
        &ns.name,
        "ImagePolicy",
        "imagepolicies",
        json!({"imageRepositoryRef": {"name": "app"}, "policy": {"semver": {"range": ">=1.0.0"}}}),
    )
    .await;
    for (name, url) in [
        ("home", home.http_auth_url("m")),
        ("other", other.http_url("m")),
    ] {
        apply_kind(
            &client,
            &ns.name,
            "ImageUpdateAutomation",
            "imageupdateautomations",
            json!({
            "name": name,
            "git": {"repoURL": url, "branch": "main",
                "commit": {"author": {"name": "moor-bot", "email": "bot@moor.dev"}}},
            "update": {"path": "app"}, "interval": "2s"}),
        )
        .await;
    }
    let (home_before, other_before) = (home_repo.head(), other_repo.head());
    moor_testkit::eventually(
        "both automations to push",
        std::time::Duration::from_secs(90),
        || async {
            (home_repo.head() != home_before && other_repo.head() != other_before).then_some(())
        },
    )
    .await;
    let allowed = format!("127.0.0.1:{}/private/", home.http_port());
    assert!(!home.http_requests_with_authorization().is_empty());
    assert_eq!(authorized_outside(&home, &allowed), Vec::<String>::new());
    assert_eq!(
        other.http_requests_with_authorization(),
        Vec::<String>::new(),
        "an automation push sent credentials to a repo they do not cover"
    );
}

/// `spec` without its sync policy: nothing syncs it.
fn manual(mut spec: serde_json::Value) -> serde_json::Value {
    spec.as_object_mut().unwrap().remove("syncPolicy");
    spec
}

/// Deletes a destination namespace the app created (best effort; the test namespace's own
/// cleanup covers the rest).
async fn kube_delete_dest(client: &kube::Client, name: &str) {
    use k8s_openapi::api::core::v1::Namespace;
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &Default::default())
        .await;
}
