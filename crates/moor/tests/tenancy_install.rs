//! End to end: the least-privilege install (deploy/impersonation) grants exactly what it
//! documents and suffices to sync; repository credentials scoped to a project serve no other.

mod common;

use common::apps::{apply_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::tenancy::*;
use common::{git_repo, write};
use moor_testkit::{TestNamespace, client, unique_name};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn the_controller_installed_in_impersonation_mode_has_only_the_rbac_it_documents_and_syncs_with_it()
 {
    let client = client().await;
    // deploy/impersonation as a user installs it, under names of this test's own (a default-mode
    // install in the same cluster binds `moor-controller` to everything).
    let uid = unique_name("imp");
    let overlay = tempfile::tempdir().unwrap();
    let deploy =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/impersonation");
    let rel = pathdiff(
        &deploy.canonicalize().unwrap(),
        &overlay.path().canonicalize().unwrap(),
    );
    write(
        overlay.path(),
        "kustomization.yaml",
        &format!("resources: [{rel}]\nnameSuffix: -{uid}\n"),
    );
    let built = kubectl(&["kustomize", overlay.path().to_str().unwrap()], None);
    let rbac: Vec<&str> = built
        .split("\n---\n")
        .filter(|d| {
            [
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
            ]
            .iter()
            .any(|k| {
                d.contains(&format!("\nkind: {k}\n")) || d.starts_with(&format!("kind: {k}\n"))
            })
        })
        .collect();
    assert_eq!(
        rbac.len(),
        5,
        "deploy/impersonation's RBAC changed:\n{built}"
    );
    kubectl(
        &["apply", "--server-side", "-f", "-"],
        Some(&rbac.join("\n---\n")),
    );
    let sa = format!("moor-controller-{uid}");
    let user = format!("system:serviceaccount:moor-system:{sa}");
    let common = [
        "*.argoproj.io [*]",
        "*.moor.dev [*]",
        "*.* [get list watch]",
        "events [create patch update]",
        "events.events.k8s.io [create patch update]",
        "serviceaccounts [impersonate]",
        "subjectaccessreviews.authorization.k8s.io [create]",
        "tokenreviews.authentication.k8s.io [create]",
    ];
    let expect = |extra: &[&str]| -> std::collections::BTreeSet<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    assert_eq!(granted(&user, "default"), expect(&[]));
    assert_eq!(
        granted(&user, "moor-system"),
        expect(&[
            "configmaps [create update patch delete]",
            "leases.coordination.k8s.io [create update patch delete]"
        ])
    );

    // And that is enough: a controller with only this account's token syncs an app as the
    // service account its project names.
    let token = kubectl(
        &[
            "create",
            "token",
            &sa,
            "-n",
            "moor-system",
            "--duration",
            "1h",
        ],
        None,
    );
    let admin = std::fs::read_to_string(moor_testkit::kubeconfig_path()).unwrap();
    let field = |key: &str| {
        admin
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap()
            .trim()
            .to_string()
    };
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{}\", certificate-authority-data: {}}}}}]\n\
         users: [{{name: u, user: {{token: {}}}}}]\ncontexts: [{{name: x, context: {{cluster: c, user: u}}}}]\ncurrent-context: x\n",
        field("server:"),
        field("certificate-authority-data:"),
        token.trim()
    );
    let kc_path = write(overlay.path(), "controller.kubeconfig", &kubeconfig);
    let home = TestNamespace::create(&client, "impctl").await;
    let dev = TestNamespace::create(&client, "impctl-dev").await;
    deployer(&client, &dev.name, "deployer", &dev.name).await;
    apply_project(
        &client,
        "moor.dev",
        &home.name,
        "team-a",
        json!({"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": dev.name}],
               "destinationServiceAccounts": [
                   {"server": "*", "namespace": dev.name, "defaultServiceAccount": "deployer"}]}),
    )
    .await;
    let (server, _repo) = git_repo(
        "r",
        &[
            ("app/settings.yaml", cm("settings", "v1").as_str()),
            ("app/web.yaml", DEPLOYMENT),
        ],
    );
    let _ctl = Controller::start_with_env(
        &home.name,
        &["--namespace", &home.name, "--require-impersonation"],
        &[("KUBECONFIG", kc_path.to_str().unwrap())],
    );
    let mut s = spec(
        &server.file_url("r"),
        "app",
        &dev.name,
        json!({"prune": true}),
    );
    s["project"] = json!("team-a");
    apply_app(&client, &home.name, "a", s).await;
    wait_app(
        &client,
        &home.name,
        "a",
        "synced by the least-privilege controller",
        90,
        synced_healthy,
    )
    .await;
    assert_eq!(
        configmap_value(&client, &dev.name, "settings")
            .await
            .as_deref(),
        Some("v1")
    );
    kubectl(
        &["delete", "-f", "-", "--ignore-not-found"],
        Some(&rbac.join("\n---\n")),
    );
    home.delete(&client).await;
    dev.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_secret_scoped_to_one_project_is_never_used_for_another_projects_app() {
    let client = client().await;
    let home = TestNamespace::create(&client, "repoproj").await;
    let server = settings_repo("private", "private");
    let url = server.http_auth_url("private");
    let (user, password) = server.http_credentials();
    apply(
        &client,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "team-a-git", "namespace": home.name,
                            "labels": {"moor.dev/secret-type": "repository"}},
               "stringData": {"url": url, "username": user, "password": password,
                              "project": "team-a"}}),
    )
    .await;
    let everything =
        json!({"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]});
    for p in ["team-a", "team-b"] {
        apply_project(&client, "moor.dev", &home.name, p, everything.clone()).await;
    }
    let a_ns = TestNamespace::create(&client, "repoproj-a").await;
    let b_ns = TestNamespace::create(&client, "repoproj-b").await;
    // A long poll interval: only each app's own first fetch reaches the server.
    let _ctl = Controller::start(
        &home.name,
        &["--namespace", &home.name, "--poll-interval", "10m"],
    );
    let mut s = spec(&url, "app", &a_ns.name, json!({}));
    s["project"] = json!("team-a");
    apply_app(&client, &home.name, "a", s).await;
    wait_app(
        &client,
        &home.name,
        "a",
        "synced with team-a's Secret",
        90,
        synced_healthy,
    )
    .await;
    let authorized = server.http_requests_with_authorization().len();
    let requests = server.http_requests().len();
    assert!(authorized > 0, "team-a's fetch sent no credentials");

    // Same repository, same host, another project: no credentials, so no access (and no
    // serving of what team-a's fetch put in the cache).
    let mut s = spec(&url, "app", &b_ns.name, json!({}));
    s["project"] = json!("team-b");
    let msg = apply_app_until(&client, &home.name, "b", s, "ComparisonError", "private").await;
    assert!(!msg.contains(&password), "{msg}");
    assert!(
        server.http_requests().len() > requests,
        "team-b's app never asked the server"
    );
    assert_eq!(
        server.http_requests_with_authorization().len(),
        authorized,
        "team-a's credentials were sent for team-b's app"
    );
    assert!(
        configmap_value(&client, &b_ns.name, "settings")
            .await
            .is_none()
    );
    home.delete(&client).await;
    a_ns.delete(&client).await;
    b_ns.delete(&client).await;
}
