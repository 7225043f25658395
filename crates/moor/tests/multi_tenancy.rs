//! End to end: projects and impersonation, tested as a hostile tenant would try them. Each test
//! runs its own controller whose namespace (`--namespace`) holds its projects and Secrets, so
//! tests never see each other's projects.

mod common;

use std::time::Duration;

use common::apps::{apply_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::{get, write};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use moor_testkit::{GitServer, TestNamespace, client, eventually, unique_name};
use serde_json::{Value, json};

const HOME: &str = "https://kubernetes.default.svc";

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value:?}\n")
}

/// Creates (or updates) an object from JSON, server-side, as the test's admin.
async fn apply(client: &Client, obj: Value) {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = obj["kind"].as_str().unwrap();
    let (ar, caps) = kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(g, v, kind))
        .await
        .unwrap_or_else(|e| panic!("{kind} is not served: {e}"));
    let name = obj["metadata"]["name"].as_str().unwrap();
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
}

async fn apply_project(client: &Client, group: &str, ns: &str, name: &str, spec: Value) {
    apply(
        client,
        json!({"apiVersion": format!("{group}/v1alpha1"), "kind": "AppProject",
               "metadata": {"name": name, "namespace": ns}, "spec": spec}),
    )
    .await;
}

/// A namespace with exactly this name (projects match namespaces by pattern), deleted on drop.
async fn namespace(client: &Client, name: &str) -> TestNamespace {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": {"moor.dev/test": "true"}}}),
    )
    .await;
    TestNamespace {
        name: name.to_string(),
    }
}

/// The message of the app's condition of `type_`, if it has one.
fn condition(a: &Value, type_: &str) -> Option<String> {
    a["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

async fn wait_condition(client: &Client, ns: &str, app: &str, type_: &str, needle: &str) -> String {
    let a = wait_app(
        client,
        ns,
        app,
        &format!("to have a {type_} condition with {needle:?}"),
        90,
        |a| condition(a, type_).is_some_and(|m| m.contains(needle)),
    )
    .await;
    condition(&a, type_).unwrap()
}

async fn configmap_value(client: &Client, ns: &str, name: &str) -> Option<String> {
    let o = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    o["data"]["k"].as_str().map(str::to_string)
}

async fn second_cluster_client() -> Client {
    let kc = kube::config::Kubeconfig::read_from(moor_testkit::second_kubeconfig_path()).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    Client::try_from(cfg).unwrap()
}

/// Registers the second test cluster as cluster Secret `second` in `ns`.
async fn register_second_cluster(client: &Client, ns: &str, project: Option<&str>) {
    let kubeconfig = std::fs::read_to_string(moor_testkit::second_kubeconfig_path()).unwrap();
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    let mut data = json!({"name": "second", "server": server, "config": kubeconfig});
    if let Some(p) = project {
        data["project"] = json!(p);
    }
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "cluster-second", "namespace": ns,
                            "labels": {"moor.dev/secret-type": "cluster"}},
               "stringData": data}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_is_refused_every_object_repo_and_destination_outside_its_project_before_any_write()
 {
    let client = client().await;
    let home = TestNamespace::create(&client, "tenancy").await;
    let uid = unique_name("t");
    let dev = namespace(&client, &format!("{uid}-team-a-dev")).await;
    let team_b = namespace(&client, &format!("{uid}-team-b")).await;
    let server = GitServer::start();
    let a_src = tempfile::tempdir().unwrap();
    write(a_src.path(), "app/settings.yaml", &cm("settings", "v1"));
    let repo_a = server.create_repo("team-a", a_src.path());
    let b_src = tempfile::tempdir().unwrap();
    write(b_src.path(), "app/settings.yaml", &cm("from-b", "b"));
    server.create_repo("team-b", b_src.path());
    let (url_a, url_b) = (server.file_url("team-a"), server.file_url("team-b"));
    register_second_cluster(&client, &home.name, None).await;
    apply_project(
        &client,
        "moor.dev",
        &home.name,
        "team-a",
        json!({"sourceRepos": [url_a],
               "destinations": [{"server": HOME, "namespace": format!("{uid}-team-a-*")}]}),
    )
    .await;
    let ctl = Controller::start(&home.name, &["--namespace", &home.name]);
    let mut s = spec(&url_a, "app", &dev.name, json!({"prune": true}));
    s["project"] = json!("team-a");
    apply_app(&client, &home.name, "a", s).await;
    wait_app(&client, &home.name, "a", "synced", 90, synced_healthy).await;

    // Each attempt in its own commit, which also changes `settings`: a sync that applied
    // anything of the commit would show there.
    let work = repo_a.clone_work();
    let attempts = [
        (
            "crb.yaml",
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {uid}-crb\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\n\
                 subjects: [{{kind: ServiceAccount, name: default, namespace: {}}}]\n",
                dev.name
            ),
            format!(
                "ClusterRoleBinding {uid}-crb (cluster-scoped kind rbac.authorization.k8s.io/ClusterRoleBinding is not in clusterResourceWhitelist)"
            ),
            (
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                None,
                format!("{uid}-crb"),
            ),
        ),
        (
            "web.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {}\n\
                 spec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n\
                 \x20   spec: {{containers: [{{name: web, image: nginx}}]}}\n",
                team_b.name
            ),
            format!(
                "Deployment {}/web (namespace {} is not in destinations)",
                team_b.name, team_b.name
            ),
            (
                "apps/v1",
                "Deployment",
                Some(team_b.name.clone()),
                "web".to_string(),
            ),
        ),
        (
            "ns.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {uid}-team-a-new\n"),
            format!(
                "Namespace {uid}-team-a-new (cluster-scoped kind Namespace is not in clusterResourceWhitelist)"
            ),
            ("v1", "Namespace", None, format!("{uid}-team-a-new")),
        ),
    ];
    for (i, (file, body, rule, (api_version, kind, ns, name))) in attempts.iter().enumerate() {
        work.write(&format!("app/{file}"), body);
        work.write("app/settings.yaml", cm("settings", &format!("v{}", i + 2)));
        work.commit_and_push(&format!("try {file}"));
        assert_eq!(ctl.push(&url_a, "main", true), 202);
        let msg = wait_condition(&client, &home.name, "a", "InvalidSpecError", rule).await;
        assert!(
            msg.starts_with("project \"team-a\" does not permit: "),
            "{msg}"
        );
        assert_eq!(
            configmap_value(&client, &dev.name, "settings")
                .await
                .as_deref(),
            Some("v1"),
            "part of the refused commit ({file}) was applied"
        );
        assert!(
            get(&client, api_version, kind, ns.as_deref(), name)
                .await
                .is_none(),
            "{kind} {name} was written"
        );
        work.remove(&format!("app/{file}"));
    }
    // Back inside the project, the app syncs again.
    work.write("app/settings.yaml", cm("settings", "v5"));
    work.commit_and_push("only permitted objects");
    ctl.push(&url_a, "main", true);
    eventually("settings v5", Duration::from_secs(60), || async {
        (configmap_value(&client, &dev.name, "settings")
            .await
            .as_deref()
            == Some("v5"))
        .then_some(())
    })
    .await;

    // An app of team-a reading team-b's repository.
    let mut s = spec(&url_b, "app", &dev.name, json!({}));
    s["project"] = json!("team-a");
    apply_app(&client, &home.name, "other-repo", s).await;
    let msg = wait_condition(
        &client,
        &home.name,
        "other-repo",
        "InvalidSpecError",
        "sourceRepos",
    )
    .await;
    assert!(
        msg.starts_with("project \"team-a\" does not permit repository ")
            && msg.ends_with("it is not in sourceRepos"),
        "{msg}"
    );
    // An app of team-a writing to the second cluster.
    let mut s = spec(&url_a, "app", &dev.name, json!({}));
    s["project"] = json!("team-a");
    s["destination"] = json!({"name": "second", "namespace": dev.name});
    apply_app(&client, &home.name, "other-cluster", s).await;
    let msg = wait_condition(
        &client,
        &home.name,
        "other-cluster",
        "InvalidSpecError",
        "destinations",
    )
    .await;
    assert!(
        msg.contains("does not permit destination second (server https://127.0.0.1:"),
        "{msg}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        configmap_value(&client, &dev.name, "from-b")
            .await
            .is_none()
    );
    let second = second_cluster_client().await;
    assert!(
        get(&second, "v1", "Namespace", None, &dev.name)
            .await
            .is_none()
    );
    for app in ["other-repo", "other-cluster"] {
        let a = get(
            &client,
            "moor.dev/v1alpha1",
            "Application",
            Some(&home.name),
            app,
        )
        .await
        .unwrap();
        assert!(
            a["status"]["resources"]
                .as_array()
                .is_none_or(|r| r.is_empty()),
            "a refused app compared objects: {a}"
        );
    }
    home.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_secret_scoped_to_a_project_is_refused_to_another_project() {
    let client = client().await;
    let home = TestNamespace::create(&client, "clproj").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "v1"));
    server.create_repo("r", src.path());
    let url = server.file_url("r");
    register_second_cluster(&client, &home.name, Some("team-b")).await;
    let everything = json!({"sourceRepos": ["*"], "destinations": [{"name": "*", "server": "*", "namespace": "*"}]});
    apply_project(&client, "moor.dev", &home.name, "team-a", everything).await;
    let _ctl = Controller::start(&home.name, &["--namespace", &home.name]);
    let mut s = spec(&url, "app", "default", json!({}));
    s["project"] = json!("team-a");
    s["destination"] = json!({"name": "second", "namespace": "default"});
    apply_app(&client, &home.name, "a", s).await;
    let msg = wait_condition(&client, &home.name, "a", "InvalidSpecError", "belongs").await;
    assert_eq!(
        msg,
        "cluster second belongs to project \"team-b\", not to \"team-a\""
    );
    home.delete(&client).await;
}

/// A service account in `ns` that may manage only ConfigMaps and Deployments in `target`.
async fn deployer(client: &Client, ns: &str, name: &str, target: &str) {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": name, "namespace": ns}}),
    )
    .await;
    apply(
        client,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": name, "namespace": target},
               "rules": [
                   {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]},
                   {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]}),
    )
    .await;
    apply(
        client,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": format!("{ns}-{name}"), "namespace": target},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]}),
    )
    .await;
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n";

#[tokio::test(flavor = "multi_thread")]
async fn with_required_impersonation_the_api_server_refuses_what_the_service_account_may_not_write()
{
    let client = client().await;
    let home = TestNamespace::create(&client, "imp").await;
    let dev = TestNamespace::create(&client, "imp-dev").await;
    deployer(&client, &dev.name, "deployer", &dev.name).await;
    // Flux's field names an account of the Application's own namespace.
    deployer(&client, &home.name, "ops", &dev.name).await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "v1"));
    write(src.path(), "app/web.yaml", DEPLOYMENT);
    write(src.path(), "flux/other.yaml", &cm("other", "v1"));
    let repo = server.create_repo("r", src.path());
    let url = server.file_url("r");
    apply_project(
        &client,
        "moor.dev",
        &home.name,
        "team-a",
        json!({"sourceRepos": ["*"],
               "destinations": [{"server": "*", "namespace": dev.name}],
               "destinationServiceAccounts": [
                   {"server": "*", "namespace": dev.name, "defaultServiceAccount": "deployer"}]}),
    )
    .await;
    let ctl = Controller::start(
        &home.name,
        &["--namespace", &home.name, "--require-impersonation"],
    );
    let mut s = spec(&url, "app", &dev.name, json!({"prune": true}));
    s["project"] = json!("team-a");
    apply_app(&client, &home.name, "a", s).await;
    wait_app(
        &client,
        &home.name,
        "a",
        "synced as deployer",
        90,
        synced_healthy,
    )
    .await;

    // A Secret the account may not write: the dry-run as the account fails, nothing is written.
    let work = repo.clone_work();
    work.write(
        "app/token.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  t: x\n",
    );
    work.write("app/settings.yaml", cm("settings", "v2"));
    work.commit_and_push("a secret");
    ctl.push(&url, "main", true);
    let msg = wait_condition(&client, &home.name, "a", "ComparisonError", "Secret").await;
    let account = format!("system:serviceaccount:{}:deployer", dev.name);
    assert!(
        msg.contains(&format!("Secret {}/token", dev.name))
            && msg.contains("forbidden")
            && msg.contains(&account),
        "the condition does not carry the API server's reason: {msg}"
    );
    assert_eq!(
        configmap_value(&client, &dev.name, "settings")
            .await
            .as_deref(),
        Some("v1"),
        "the refused sync wrote part of the commit"
    );
    assert!(
        get(&client, "v1", "Secret", Some(&dev.name), "token")
            .await
            .is_none()
    );

    // No service account at all: with --require-impersonation, nothing happens.
    apply_app(
        &client,
        &home.name,
        "none",
        spec(&url, "flux", &dev.name, json!({})),
    )
    .await;
    let msg = wait_condition(
        &client,
        &home.name,
        "none",
        "InvalidSpecError",
        "service account",
    )
    .await;
    assert!(msg.contains("--require-impersonation"), "{msg}");
    // spec.serviceAccountName (Flux's field): an account of the app's namespace.
    let mut s = spec(&url, "flux", &dev.name, json!({}));
    s["serviceAccountName"] = json!("ops");
    apply_app(&client, &home.name, "flux", s).await;
    wait_app(
        &client,
        &home.name,
        "flux",
        "synced as ops",
        90,
        synced_healthy,
    )
    .await;
    assert!(configmap_value(&client, &dev.name, "other").await.is_some());
    home.delete(&client).await;
    dev.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_argo_cd_app_project_restricts_its_applications_as_argo_cd_documents() {
    let client = client().await;
    // The controller's namespace plays Argo CD's `argocd` namespace.
    let argocd = TestNamespace::create(&client, "argocd").await;
    let guestbook = TestNamespace::create(&client, "guestbook").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "guestbook/ui.yaml", DEPLOYMENT);
    write(
        src.path(),
        "guestbook/quota.yaml",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\nspec:\n  hard: {pods: \"10\"}\n",
    );
    let repo = server.create_repo("argocd-example-apps", src.path());
    let url = server.file_url("argocd-example-apps");
    let repos = url.rsplit_once('/').unwrap().0;
    // The shape of Argo CD's "Projects" documentation (roles and windows kept, not used).
    apply(
        &client,
        json!({
          "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
          "metadata": {"name": "my-project", "namespace": argocd.name},
          "spec": {
            "description": "Example Project",
            "sourceRepos": [format!("{repos}/*")],
            "destinations": [{"namespace": guestbook.name, "server": HOME}],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceBlacklist": [
              {"group": "", "kind": "ResourceQuota"},
              {"group": "", "kind": "LimitRange"},
              {"group": "", "kind": "NetworkPolicy"}],
            "namespaceResourceWhitelist": [
              {"group": "apps", "kind": "Deployment"},
              {"group": "apps", "kind": "StatefulSet"}],
            "roles": [{"name": "read-only", "description": "Read-only privileges to my-project",
                       "policies": ["p, proj:my-project:read-only, applications, get, my-project/*, allow"],
                       "groups": ["my-oidc-group"]}]
          }
        }),
    )
    .await;
    let ctl = Controller::start(
        &argocd.name,
        &["--namespace", &argocd.name, "--argocd-compat"],
    );
    let argo_app = |name: &str, ns: &str| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
               "metadata": {"name": name, "namespace": argocd.name},
               "spec": {"project": "my-project",
                        "source": {"repoURL": url, "targetRevision": "HEAD", "path": "guestbook"},
                        "destination": {"server": HOME, "namespace": ns},
                        "syncPolicy": {"automated": {"prune": true}}}})
    };
    apply(&client, argo_app("guestbook", &guestbook.name)).await;
    let argo_condition = |needle: &'static str| {
        let (client, ns) = (client.clone(), argocd.name.clone());
        async move {
            eventually(
                &format!("the Argo CD app to have a condition with {needle:?}"),
                Duration::from_secs(90),
                || async {
                    let a = get(
                        &client,
                        "argoproj.io/v1alpha1",
                        "Application",
                        Some(&ns),
                        "guestbook",
                    )
                    .await?;
                    condition(&a, "InvalidSpecError").filter(|m| m.contains(needle))
                },
            )
            .await
        }
    };
    let msg = argo_condition("ResourceQuota").await;
    assert!(
        msg.contains(&format!(
            "ResourceQuota {}/quota (ResourceQuota is in namespaceResourceBlacklist)",
            guestbook.name
        )),
        "{msg}"
    );
    assert!(
        get(
            &client,
            "apps/v1",
            "Deployment",
            Some(&guestbook.name),
            "web"
        )
        .await
        .is_none()
    );
    // Without the blacklisted kind, the app syncs.
    let work = repo.clone_work();
    work.remove("guestbook/quota.yaml");
    work.commit_and_push("no quota");
    ctl.push(&url, "HEAD", true);
    eventually(
        "the guestbook Deployment",
        Duration::from_secs(90),
        || async {
            get(
                &client,
                "apps/v1",
                "Deployment",
                Some(&guestbook.name),
                "web",
            )
            .await
            .map(|_| ())
        },
    )
    .await;
    // A destination the project does not list.
    let mut other = argo_app("elsewhere", "kube-system");
    other["metadata"]["name"] = json!("elsewhere");
    apply(&client, other).await;
    eventually(
        "the refused destination",
        Duration::from_secs(90),
        || async {
            let a = get(
                &client,
                "argoproj.io/v1alpha1",
                "Application",
                Some(&argocd.name),
                "elsewhere",
            )
            .await?;
            condition(&a, "InvalidSpecError").filter(|m| {
                m.contains("does not permit destination in-cluster")
                    && m.contains("namespace kube-system")
            })
        },
    )
    .await;
    argocd.delete(&client).await;
    guestbook.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_application_outside_its_projects_source_namespaces_is_not_reconciled_and_says_why() {
    let client = client().await;
    let home = TestNamespace::create(&client, "srcns").await;
    let apps = TestNamespace::create(&client, "srcns-apps").await;
    let dest = TestNamespace::create(&client, "srcns-dest").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "v1"));
    server.create_repo("r", src.path());
    let url = server.file_url("r");
    let project = |source_namespaces: Vec<String>| {
        json!({"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
               "sourceNamespaces": source_namespaces})
    };
    apply_project(&client, "moor.dev", &home.name, "team-a", project(vec![])).await;
    // Applications are read from `apps`; projects and Secrets from `home`.
    let _ctl = Controller::start(&apps.name, &["--namespace", &home.name]);
    let mut s = spec(&url, "app", &dest.name, json!({}));
    s["project"] = json!("team-a");
    apply_app(&client, &apps.name, "a", s).await;
    let msg = wait_condition(
        &client,
        &apps.name,
        "a",
        "InvalidSpecError",
        "sourceNamespaces",
    )
    .await;
    assert_eq!(
        msg,
        format!(
            "project \"team-a\" does not permit Applications in namespace {}: it is not in sourceNamespaces",
            apps.name
        )
    );
    assert!(
        configmap_value(&client, &dest.name, "settings")
            .await
            .is_none()
    );
    // Listing the namespace admits the app at once (a project change re-admits its apps).
    apply_project(
        &client,
        "moor.dev",
        &home.name,
        "team-a",
        project(vec![apps.name.clone()]),
    )
    .await;
    wait_app(
        &client,
        &apps.name,
        "a",
        "synced once admitted",
        60,
        synced_healthy,
    )
    .await;
    home.delete(&client).await;
    apps.delete(&client).await;
    dest.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_strict_projects_an_app_without_a_project_does_nothing() {
    let client = client().await;
    let home = TestNamespace::create(&client, "strict").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "v1"));
    server.create_repo("r", src.path());
    let url = server.file_url("r");
    let _ctl = Controller::start(
        &home.name,
        &["--namespace", &home.name, "--strict-projects"],
    );
    apply_app(
        &client,
        &home.name,
        "a",
        spec(&url, "app", &home.name, json!({})),
    )
    .await;
    let msg = wait_condition(
        &client,
        &home.name,
        "a",
        "InvalidSpecError",
        "does not exist",
    )
    .await;
    assert!(msg.contains("--strict-projects"), "{msg}");
    assert!(
        get(
            &client,
            "moor.dev/v1alpha1",
            "AppProject",
            Some(&home.name),
            "default"
        )
        .await
        .is_none(),
        "a strict controller created the default project"
    );
    assert!(
        configmap_value(&client, &home.name, "settings")
            .await
            .is_none()
    );
    home.delete(&client).await;
}

fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write as _;
    moor_testkit::kubeconfig_path();
    let mut child = std::process::Command::new("kubectl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `kubectl auth can-i --list` rows (resource and verbs) that are not what every authenticated
/// user gets (discovery URLs, self reviews).
fn granted(user: &str, namespace: &str) -> std::collections::BTreeSet<String> {
    let out = kubectl(
        &["auth", "can-i", "--list", "--as", user, "-n", namespace],
        None,
    );
    out.lines()
        .skip(1)
        .filter(|l| !l.starts_with(' ') && !l.starts_with("selfsubject"))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let verbs = l[l.rfind('[').unwrap()..].to_string();
            format!("{} {verbs}", cols[0])
        })
        .collect()
}

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
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "v1"));
    write(src.path(), "app/web.yaml", DEPLOYMENT);
    server.create_repo("r", src.path());
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

/// `to` relative to `from` (kustomize takes only relative paths to other kustomizations).
fn pathdiff(to: &std::path::Path, from: &std::path::Path) -> String {
    let (t, f): (Vec<_>, Vec<_>) = (to.components().collect(), from.components().collect());
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_secret_scoped_to_one_project_is_never_used_for_another_projects_app() {
    let client = client().await;
    let home = TestNamespace::create(&client, "repoproj").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "private"));
    server.create_repo("private", src.path());
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
    apply_app(&client, &home.name, "b", s).await;
    let msg = wait_condition(&client, &home.name, "b", "ComparisonError", "private").await;
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
