//! End to end: the ImageRepository / ImagePolicy controllers (run in this process) against the
//! local control plane (scripts/test) and real registries. Each test has its own namespace and
//! runs its own controllers limited to it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::ApiResource;
use moor_registry::crd::{ImagePolicy, ImageRepository, READY, condition};
use moor_registry::{list_latest_images, run};
use moor_testkit::registry::{Auth, Registry, docker_config};
use moor_testkit::{TestNamespace, client};
use serde_json::{Value, json};

const CRDS: [&str; 3] = [
    "imagerepository.yaml",
    "imagepolicy.yaml",
    "imageupdateautomation.yaml",
];

/// Applies the image CRDs (idempotent, server-side) and waits until they are served.
fn ensure_crds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    moor_testkit::apply_crds(
        &CRDS.map(|f| dir.join(f)),
        &[
            "crd/imagerepositories.moor.dev",
            "crd/imagepolicies.moor.dev",
            "crd/imageupdateautomations.moor.dev",
        ],
    );
}

/// The controllers of one namespace, in a task of this test; stopped on drop.
struct Controllers {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Controllers {
    fn start(client: &Client, ns: &str) -> Controllers {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (client, ns) = (client.clone(), ns.to_string());
        let task = tokio::spawn(async move {
            run(client, Some(ns), async {
                let _ = stopped.await;
            })
            .await
            .expect("the image controllers run");
        });
        Controllers {
            stop: Some(stop),
            task,
        }
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.abort();
    }
}

async fn create<K>(client: &Client, ns: &str, obj: Value) -> K
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let obj: K = serde_json::from_value(obj).expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", K::kind(&())))
}

async fn repository(client: &Client, ns: &str, name: &str, spec: Value) {
    create::<ImageRepository>(
        client,
        ns,
        json!({"apiVersion": "moor.dev/v1alpha1", "kind": "ImageRepository",
               "metadata": {"name": name}, "spec": spec}),
    )
    .await;
}

async fn policy(client: &Client, ns: &str, name: &str, repo: &str, policy: Value) {
    create::<ImagePolicy>(
        client,
        ns,
        json!({"apiVersion": "moor.dev/v1alpha1", "kind": "ImagePolicy",
               "metadata": {"name": name},
               "spec": {"imageRepositoryRef": {"name": repo}, "policy": policy}}),
    )
    .await;
}

async fn docker_secret(client: &Client, ns: &str, name: &str, config: String) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config}
    }))
    .expect("secret");
    api.create(&PostParams::default(), &s)
        .await
        .expect("create Secret");
}

/// Waits for `f` to hold of the object's status, returning the object.
async fn wait_for<K>(client: &Client, ns: &str, name: &str, what: &str, f: impl Fn(&K) -> bool) -> K
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut last = None;
    loop {
        if let Ok(Some(o)) = api.get_opt(name).await {
            if f(&o) {
                return o;
            }
            last = Some(o);
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "timed out after 60 s waiting for {} {ns}/{name} {what}; last seen: {last:#?}",
                K::kind(&())
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn repo_ready(r: &ImageRepository) -> Option<(String, String, String)> {
    let c = condition(&r.status.as_ref()?.conditions, READY)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn policy_ready(p: &ImagePolicy) -> Option<(String, String, String)> {
    let c = condition(&p.status.as_ref()?.conditions, READY)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_resolve_the_latest_image_and_follow_new_tags() {
    ensure_crds();
    let client = client().await;
    let ns = TestNamespace::create(&client, "imgpol").await;
    let reg = Registry::start();
    for t in ["1.2.0", "1.3.0-rc.1", "1.10.0", "sha256-0123.sig"] {
        reg.push("app", t).await;
    }
    let image = reg.image("app");
    repository(
        &client,
        &ns.name,
        "app",
        json!({"image": image, "interval": "2s", "insecure": true}),
    )
    .await;
    policy(
        &client,
        &ns.name,
        "app",
        "app",
        json!({"semver": {"range": ">=1.0.0 <2.0.0"}}),
    )
    .await;
    policy(
        &client,
        &ns.name,
        "nothing",
        "app",
        json!({"semver": {"range": ">=5.0.0"}}),
    )
    .await;
    let _ctl = Controllers::start(&client, &ns.name);

    let want = format!("{image}:1.10.0");
    let p: ImagePolicy = wait_for(
        &client,
        &ns.name,
        "app",
        "resolves 1.10.0",
        |p: &ImagePolicy| p.latest_image() == Some(want.as_str()),
    )
    .await;
    let st = p.status.as_ref().unwrap();
    let r = st.latest_ref.as_ref().unwrap();
    assert_eq!(
        (r.name.as_str(), r.tag.as_str()),
        (image.as_str(), "1.10.0")
    );
    assert_eq!(policy_ready(&p).unwrap().1, "Succeeded");

    let repo: ImageRepository = wait_for(
        &client,
        &ns.name,
        "app",
        "scanned",
        |r: &ImageRepository| repo_ready(r).is_some_and(|c| c.0 == "True"),
    )
    .await;
    let st = repo.status.unwrap();
    let scan = st.last_scan_result.unwrap();
    assert_eq!(scan.tag_count, 3, "the .sig tag is excluded: {scan:?}");
    assert_eq!(scan.latest_tags, ["1.3.0-rc.1", "1.2.0", "1.10.0"]);
    assert_eq!(st.canonical_image_name.as_deref(), Some(image.as_str()));

    let nothing: ImagePolicy = wait_for(
        &client,
        &ns.name,
        "nothing",
        "says no match",
        |p: &ImagePolicy| policy_ready(p).is_some_and(|c| c.0 == "False"),
    )
    .await;
    let (_, reason, message) = policy_ready(&nothing).unwrap();
    assert_eq!(reason, "NoMatchingTag", "{message}");
    assert!(
        message.contains("no tag matches policy nothing") && message.contains(">=5.0.0"),
        "{message}"
    );
    assert!(nothing.latest_image().is_none());

    // A new tag is found at the next scan (interval 2s) and the policy moves on.
    reg.push("app", "1.11.0").await;
    let want = format!("{image}:1.11.0");
    let p: ImagePolicy = wait_for(
        &client,
        &ns.name,
        "app",
        "moves to 1.11.0",
        |p: &ImagePolicy| p.latest_image() == Some(want.as_str()),
    )
    .await;
    assert_eq!(
        p.status.unwrap().observed_previous_image,
        Some(format!("{image}:1.10.0"))
    );
    let latest = list_latest_images(&client, Some(&ns.name)).await.unwrap();
    assert_eq!(
        latest.get(&format!("{}:app", ns.name)),
        Some(&want),
        "{latest:?}"
    );
    assert!(!latest.contains_key(&format!("{}:nothing", ns.name)));

    // The printer columns (shown with --nocapture).
    let out = Command::new("kubectl")
        .args([
            "get",
            "imagerepositories,imagepolicies",
            "-o",
            "wide",
            "-n",
            &ns.name,
        ])
        .output()
        .expect("kubectl runs");
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_failures_are_conditions_with_reasons() {
    ensure_crds();
    let client = client().await;
    let ns = TestNamespace::create(&client, "imgauth").await;
    let password = "right-pw-2f8a";
    let wrong = "wrong-pw-9c1d";
    let reg = Registry::start_with(Auth::Basic {
        user: "moor".into(),
        password: password.into(),
    });
    reg.push("app", "1.0.0").await;
    let mut down = Registry::start();
    down.stop();
    docker_secret(
        &client,
        &ns.name,
        "good",
        docker_config(&reg.host(), "moor", password),
    )
    .await;
    docker_secret(
        &client,
        &ns.name,
        "bad",
        docker_config(&reg.host(), "moor", wrong),
    )
    .await;
    let spec = |image: &str, secret: Option<&str>| {
        let mut s = json!({"image": image, "interval": "1m", "insecure": true});
        if let Some(secret) = secret {
            s["secretRef"] = json!({"name": secret});
        }
        s
    };
    let image = reg.image("app");
    repository(&client, &ns.name, "good", spec(&image, Some("good"))).await;
    repository(&client, &ns.name, "bad", spec(&image, Some("bad"))).await;
    repository(&client, &ns.name, "anonymous", spec(&image, None)).await;
    repository(&client, &ns.name, "nosecret", spec(&image, Some("absent"))).await;
    repository(&client, &ns.name, "down", spec(&down.image("app"), None)).await;
    repository(
        &client,
        &ns.name,
        "unknown",
        spec(&reg.image("nope"), Some("good")),
    )
    .await;
    policy(
        &client,
        &ns.name,
        "on-bad",
        "bad",
        json!({"alphabetical": {}}),
    )
    .await;
    let _ctl = Controllers::start(&client, &ns.name);

    let failed = |name: &'static str| {
        let client = client.clone();
        let ns = ns.name.clone();
        async move {
            let r: ImageRepository =
                wait_for(&client, &ns, name, "fails", |r: &ImageRepository| {
                    repo_ready(r).is_some_and(|c| c.0 == "False")
                })
                .await;
            let (_, reason, message) = repo_ready(&r).unwrap();
            (reason, message)
        }
    };
    let (reason, message) = failed("bad").await;
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(
        message.contains(&reg.host()) && message.contains("app"),
        "{message}"
    );
    assert!(
        !message.contains(wrong) && !message.contains(password),
        "{message}"
    );
    let (reason, message) = failed("anonymous").await;
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    let (reason, message) = failed("nosecret").await;
    assert_eq!(reason, "InvalidSecret", "{message}");
    assert!(
        message.contains("absent") && message.contains("not found"),
        "{message}"
    );
    let (reason, message) = failed("down").await;
    assert_eq!(reason, "RegistryUnavailable", "{message}");
    assert!(message.contains(&down.host()), "{message}");
    let (reason, message) = failed("unknown").await;
    assert_eq!(reason, "RepositoryNotFound", "{message}");

    let good: ImageRepository =
        wait_for(&client, &ns.name, "good", "scans", |r: &ImageRepository| {
            repo_ready(r).is_some_and(|c| c.0 == "True")
        })
        .await;
    assert_eq!(good.status.unwrap().last_scan_result.unwrap().tag_count, 1);

    let p: ImagePolicy = wait_for(
        &client,
        &ns.name,
        "on-bad",
        "waits for its repository",
        |p| policy_ready(p).is_some_and(|c| c.1 == "DependencyNotReady" && c.2.contains("refused")),
    )
    .await;
    assert!(p.latest_image().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn crds_reject_malformed_specs_with_clear_messages() {
    ensure_crds();
    let client = client().await;
    let ns = TestNamespace::create(&client, "imgcrd").await;
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let try_create = |kind: &'static str, plural: &'static str, spec: Value| {
        let client = client.clone();
        let ns = ns.name.clone();
        let dry = dry.clone();
        async move {
            let ar = ApiResource {
                group: "moor.dev".into(),
                version: "v1alpha1".into(),
                api_version: "moor.dev/v1alpha1".into(),
                kind: kind.into(),
                plural: plural.into(),
            };
            let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &ar);
            let obj: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "moor.dev/v1alpha1", "kind": kind,
                "metadata": {"name": "x"}, "spec": spec
            }))
            .expect("object");
            api.create(&dry, &obj)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    let repo = |spec| try_create("ImageRepository", "imagerepositories", spec);
    let pol = |spec| try_create("ImagePolicy", "imagepolicies", spec);
    let auto = |spec| try_create("ImageUpdateAutomation", "imageupdateautomations", spec);

    repo(json!({"image": "127.0.0.1:5000/app", "interval": "1h30m", "insecure": true}))
        .await
        .expect("a good ImageRepository");
    repo(json!({"image": "nginx"}))
        .await
        .expect("a Docker Hub name");
    let e = repo(json!({"image": "ghcr.io/org/app:1.0"}))
        .await
        .unwrap_err();
    assert!(e.contains("without tag or digest"), "{e}");
    let e = repo(json!({"image": "https://ghcr.io/org/app"}))
        .await
        .unwrap_err();
    assert!(e.contains("image has no scheme"), "{e}");
    let e = repo(json!({"image": "ghcr.io/a", "interval": "5 minutes"}))
        .await
        .unwrap_err();
    assert!(e.contains("interval must be a duration"), "{e}");
    let e = repo(json!({"interval": "1m"})).await.unwrap_err();
    assert!(e.contains("spec.image: Required value"), "{e}");

    let r = json!({"name": "app"});
    pol(
        json!({"imageRepositoryRef": r, "policy": {"numerical": {"order": "desc"}},
               "filterTags": {"pattern": "^main-(?P<ts>\\d+)$", "extract": "$ts"}}),
    )
    .await
    .expect("a good ImagePolicy");
    let e = pol(json!({"imageRepositoryRef": r,
                       "policy": {"semver": {"range": ">=1"}, "alphabetical": {}}}))
    .await
    .unwrap_err();
    assert!(
        e.contains("exactly one of semver, alphabetical, numerical"),
        "{e}"
    );
    let e = pol(json!({"imageRepositoryRef": r, "policy": {}}))
        .await
        .unwrap_err();
    assert!(e.contains("exactly one of"), "{e}");
    let e = pol(json!({"imageRepositoryRef": r, "policy": {"alphabetical": {"order": "newest"}}}))
        .await
        .unwrap_err();
    assert!(e.contains("Unsupported value: \"newest\""), "{e}");
    let e = pol(json!({"policy": {"alphabetical": {}}}))
        .await
        .unwrap_err();
    assert!(e.contains("spec.imageRepositoryRef: Required value"), "{e}");

    let git = json!({"repoURL": "https://git.example/r.git", "branch": "main",
                     "commit": {"author": {"name": "bot", "email": "bot@example.com"}}});
    auto(json!({"git": git, "interval": "5m", "update": {"path": "./apps"}}))
        .await
        .expect("a good ImageUpdateAutomation");
    let e = auto(json!({"git": git, "update": {"strategy": "Regex"}}))
        .await
        .unwrap_err();
    assert!(e.contains("Unsupported value: \"Regex\""), "{e}");
    let e = auto(
        json!({"git": {"repoURL": "x", "branch": "main", "commit": {"author": {"name": "bot"}}}}),
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("spec.git.commit.author.email: Required value"),
        "{e}"
    );
}
