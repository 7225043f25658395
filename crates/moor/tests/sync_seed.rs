//! End to end: the seed layout (base + overlays) synced from real git servers into the real
//! control plane; resync writes nothing; image change + removed Service with diff and prune;
//! manual drift shows in diff and is restored.

mod common;

use common::{get, moor, moor_ok, rv, seed_copy};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use moor_testkit::{GitServer, Repo, client, unique_name};

const ANN: &str = "moor.dev/tracking-id";

/// `VERB --repo REPO --path PATH --app APP EXTRA...`: how each test here renders an overlay.
fn seed_args<'a>(
    verb: &'a str,
    repo: &'a str,
    path: &'a str,
    app: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    [
        &[verb, "--repo", repo, "--path", path, "--app", app][..],
        extra,
    ]
    .concat()
}

/// A copy of examples/seed whose namespaces end in a fresh suffix (made from `prefix`), served as
/// repository `manifests`: the suffix, the server and the repository.
fn served_seed(prefix: &str) -> (String, GitServer, Repo) {
    let suffix = unique_name(prefix);
    let seed = seed_copy(&suffix);
    let server = GitServer::start();
    let repo = server.create_repo("manifests", seed.path());
    (suffix, server, repo)
}

/// The resourceVersions of the overlay's ConfigMap, Service and Deployment in `ns`, to tell
/// whether a sync wrote any of them.
async fn overlay_rvs(client: &kube::Client, ns: &str) -> Vec<String> {
    let mut rvs = Vec::new();
    for (av, kind, name) in [
        ("v1", "ConfigMap", "myapp-config"),
        ("v1", "Service", "myapp"),
        ("apps/v1", "Deployment", "myapp"),
    ] {
        rvs.push(rv(&get(client, av, kind, Some(ns), name).await.unwrap()));
    }
    rvs
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_layout_syncs_over_ssh_and_http_with_auth_and_resync_writes_nothing() {
    let client = client().await;
    let (suffix, server, _repo) = served_seed("s");

    // Production over SSH with key auth and known_hosts.
    let prod_ns = format!("production-{suffix}");
    let app = format!("prod-{suffix}");
    let ssh_env = [
        ("MOOR_GIT_SSH_KEY", server.ssh_key_path().to_str().unwrap()),
        (
            "MOOR_GIT_KNOWN_HOSTS",
            server.known_hosts_path().to_str().unwrap(),
        ),
    ];
    let ssh_url = server.ssh_url("manifests");
    let r = moor_ok(
        &seed_args(
            "sync",
            &ssh_url,
            "overlays/production",
            &app,
            &[
                // Settled, so the resourceVersions compared below move only if moor writes.
                "--wait", "-o", "json",
            ],
        ),
        &ssh_env,
    );
    let set = r.json();
    let objects = set["objects"].as_array().unwrap();
    assert_eq!(
        objects.len(),
        4,
        "namespace, configmap, service, deployment: {set}"
    );
    assert!(objects.iter().all(|o| o["change"] == "created"), "{set}");

    for (api_version, kind, ns, name) in [
        ("v1", "Namespace", None, prod_ns.as_str()),
        ("v1", "ConfigMap", Some(prod_ns.as_str()), "myapp-config"),
        ("v1", "Service", Some(prod_ns.as_str()), "myapp"),
        ("apps/v1", "Deployment", Some(prod_ns.as_str()), "myapp"),
    ] {
        let obj = get(&client, api_version, kind, ns, name)
            .await
            .unwrap_or_else(|| panic!("{kind} {name} missing"));
        let tracking = obj["metadata"]["annotations"][ANN].as_str().unwrap_or("");
        assert!(
            tracking.starts_with(&format!("{app}:")),
            "{kind} {name} tracking annotation: {tracking:?}"
        );
        assert_eq!(obj["metadata"]["labels"]["moor.dev/app"], app.as_str());
    }
    let dep = get(&client, "apps/v1", "Deployment", Some(&prod_ns), "myapp")
        .await
        .unwrap();
    assert_eq!(dep["spec"]["replicas"], 3);
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/myapp:1.0.0"
    );

    // Staging over HTTP with basic auth.
    let (user, password) = server.http_credentials();
    let http_env = [
        ("MOOR_GIT_USERNAME", user.as_str()),
        ("MOOR_GIT_PASSWORD", password.as_str()),
    ];
    let stage_app = format!("stage-{suffix}");
    let http_url = server.http_auth_url("manifests");
    let r = moor_ok(
        &seed_args("sync", &http_url, "overlays/staging", &stage_app, &[]),
        &http_env,
    );
    assert!(r.stdout.contains("4 created"), "{}", r.stdout);
    assert!(
        !r.stdout.contains(&password) && !r.stderr.contains(&password),
        "password printed"
    );
    let stage_dep = get(
        &client,
        "apps/v1",
        "Deployment",
        Some(&format!("staging-{suffix}")),
        "myapp",
    )
    .await
    .unwrap();
    assert_eq!(
        stage_dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/myapp:1.0.1"
    );

    // A second sync: all unchanged, nothing written.
    let rvs = overlay_rvs(&client, &prod_ns).await;
    let ns_rv = rv(&get(&client, "v1", "Namespace", None, &prod_ns)
        .await
        .unwrap());
    let r = moor_ok(
        &seed_args(
            "sync",
            &ssh_url,
            "overlays/production",
            &app,
            &["-o", "json"],
        ),
        &ssh_env,
    );
    let set = r.json();
    assert!(
        set["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["change"] == "unchanged"),
        "{set}"
    );
    let after = overlay_rvs(&client, &prod_ns).await;
    assert_eq!(rvs, after, "a resync wrote objects");
    assert_eq!(
        ns_rv,
        rv(&get(&client, "v1", "Namespace", None, &prod_ns)
            .await
            .unwrap())
    );

    // diff agrees: in sync.
    let r = moor(
        &seed_args("diff", &ssh_url, "overlays/production", &app, &[]),
        &ssh_env,
    );
    assert_eq!(
        r.code, 0,
        "diff of a synced app: {}\n{}",
        r.stdout, r.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn image_change_and_removed_service_are_diffed_and_pruned_but_unowned_objects_survive() {
    let client = client().await;
    let (suffix, server, repo) = served_seed("p");
    let url = server.file_url("manifests");
    let ns = format!("production-{suffix}");
    let app = format!("prune-{suffix}");
    moor_ok(
        &seed_args("sync", &url, "overlays/production", &app, &[]),
        &[],
    );

    // Objects moor does not own: a same-named Service elsewhere and a ConfigMap next to the app's.
    let other_ns = unique_name("other");
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(serde_json::json!({"metadata": {"name": other_ns}})).unwrap(),
    )
    .await
    .unwrap();
    let svc = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "myapp"},
        "spec": {"ports": [{"port": 80}]}});
    let svcs: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(client.clone(), &other_ns);
    svcs.create(
        &PostParams::default(),
        &serde_json::from_value(svc).unwrap(),
    )
    .await
    .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(
            serde_json::json!({"metadata": {"name": "unmanaged"}, "data": {"a": "b"}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();

    let work = repo.clone_work();
    let k = work.path().join("overlays/production/kustomization.yaml");
    let text = std::fs::read_to_string(&k)
        .unwrap()
        .replace("newTag: 1.0.0", "newTag: 2.0.0");
    work.write("overlays/production/kustomization.yaml", text);
    work.remove("base/service.yaml");
    let base = std::fs::read_to_string(work.path().join("base/kustomization.yaml"))
        .unwrap()
        .replace("  - service.yaml\n", "");
    work.write("base/kustomization.yaml", base);
    work.commit_and_push("Bump to 2.0.0 and drop the Service");

    let r = moor(
        &seed_args("diff", &url, "overlays/production", &app, &[]),
        &[],
    );
    assert_eq!(
        r.code, 1,
        "diff should report differences:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stdout.contains("registry.local/myapp:2.0.0")
            && r.stdout.contains("registry.local/myapp:1.0.0"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("Service {ns}/myapp")),
        "diff does not show the removed Service:\n{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("unmanaged"),
        "diff shows an unmanaged object:\n{}",
        r.stdout
    );

    let r = moor_ok(
        &seed_args(
            "sync",
            &url,
            "overlays/production",
            &app,
            &["--prune", "-o", "json"],
        ),
        &[],
    );
    let set = r.json();
    let change_of = |kind: &str| {
        set["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["key"]["kind"] == kind)
            .map(|o| o["change"].clone())
    };
    assert_eq!(change_of("Deployment"), Some("configured".into()), "{set}");
    assert_eq!(change_of("Service"), Some("pruned".into()), "{set}");

    let dep = get(&client, "apps/v1", "Deployment", Some(&ns), "myapp")
        .await
        .unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/myapp:2.0.0"
    );
    moor_testkit::eventually(
        "the pruned Service to be gone",
        std::time::Duration::from_secs(30),
        || async {
            get(&client, "v1", "Service", Some(&ns), "myapp")
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        get(&client, "v1", "Service", Some(&other_ns), "myapp")
            .await
            .is_some(),
        "the other namespace's Service was deleted"
    );
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns), "unmanaged")
            .await
            .is_some(),
        "the unmanaged ConfigMap was deleted"
    );
    let _ = nss.delete(&other_ns, &Default::default()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_replica_change_shows_in_diff_and_sync_restores_it() {
    let client = client().await;
    let suffix = unique_name("d");
    let seed = seed_copy(&suffix);
    let ns = format!("development-{suffix}");
    let app = format!("drift-{suffix}");
    // A local directory works as a source too.
    let dir = seed.path().to_str().unwrap();
    moor_ok(
        &seed_args("sync", dir, "overlays/development", &app, &[]),
        &[],
    );

    let deps: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let patch = serde_json::json!({"spec": {"replicas": 5}});
    deps.patch("myapp", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();

    let r = moor(
        &seed_args("diff", dir, "overlays/development", &app, &[]),
        &[],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("-  replicas: 5") || r.stdout.contains("replicas: 5"),
        "{}",
        r.stdout
    );

    let r = moor_ok(
        &seed_args("sync", dir, "overlays/development", &app, &["-o", "json"]),
        &[],
    );
    let set = r.json();
    let dep_change = set["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["kind"] == "Deployment")
        .unwrap()["change"]
        .clone();
    assert_eq!(dep_change, "configured", "{set}");
    let dep = deps.get("myapp").await.unwrap();
    assert_eq!(dep.spec.unwrap().replicas, Some(1));
    let r = moor(
        &seed_args("diff", dir, "overlays/development", &app, &[]),
        &[],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}
