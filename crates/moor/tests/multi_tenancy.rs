//! End to end: projects and impersonation, tested as a hostile tenant would try them. Each test
//! runs its own controller whose namespace (`--namespace`) holds its projects and Secrets, so
//! tests never see each other's projects.

mod common;

use std::time::Duration;

use common::apps::{apply_app, get_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::tenancy::*;
use common::{get, git_repo, write};
use moor_testkit::{GitServer, TestNamespace, client, eventually, unique_name};
use serde_json::json;

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
    let msg = apply_app_until(
        &client,
        &home.name,
        "other-repo",
        s,
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
    let msg = apply_app_until(
        &client,
        &home.name,
        "other-cluster",
        s,
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
        let a = get_app(&client, &home.name, app).await.unwrap();
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
    let server = settings_repo("r", "v1");
    let url = server.file_url("r");
    register_second_cluster(&client, &home.name, Some("team-b")).await;
    let everything = json!({"sourceRepos": ["*"], "destinations": [{"name": "*", "server": "*", "namespace": "*"}]});
    apply_project(&client, "moor.dev", &home.name, "team-a", everything).await;
    let _ctl = Controller::start(&home.name, &["--namespace", &home.name]);
    let mut s = spec(&url, "app", "default", json!({}));
    s["project"] = json!("team-a");
    s["destination"] = json!({"name": "second", "namespace": "default"});
    let msg = apply_app_until(&client, &home.name, "a", s, "InvalidSpecError", "belongs").await;
    assert_eq!(
        msg,
        "cluster second belongs to project \"team-b\", not to \"team-a\""
    );
    home.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_required_impersonation_the_api_server_refuses_what_the_service_account_may_not_write()
{
    let client = client().await;
    let home = TestNamespace::create(&client, "imp").await;
    let dev = TestNamespace::create(&client, "imp-dev").await;
    deployer(&client, &dev.name, "deployer", &dev.name).await;
    // Flux's field names an account of the Application's own namespace.
    deployer(&client, &home.name, "ops", &dev.name).await;
    let (server, repo) = git_repo(
        "r",
        &[
            ("app/settings.yaml", cm("settings", "v1").as_str()),
            ("app/web.yaml", DEPLOYMENT),
            ("flux/other.yaml", &cm("other", "v1")),
        ],
    );
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
    let msg = apply_app_until(
        &client,
        &home.name,
        "none",
        spec(&url, "flux", &dev.name, json!({})),
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
    let (server, repo) = git_repo(
        "argocd-example-apps",
        &[
            ("guestbook/ui.yaml", DEPLOYMENT),
            (
                "guestbook/quota.yaml",
                "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\nspec:\n  hard: {pods: \"10\"}\n",
            ),
        ],
    );
    let url = server.file_url("argocd-example-apps");
    let repos = url.rsplit_once('/').unwrap().0;
    // The shape of Argo CD's "Projects" documentation (roles and windows kept, not used).
    common::controller::ensure_crds();
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
    let server = settings_repo("r", "v1");
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
    let msg = apply_app_until(
        &client,
        &apps.name,
        "a",
        s,
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
    let server = settings_repo("r", "v1");
    let url = server.file_url("r");
    let _ctl = Controller::start(
        &home.name,
        &["--namespace", &home.name, "--strict-projects"],
    );
    let msg = apply_app_until(
        &client,
        &home.name,
        "a",
        spec(&url, "app", &home.name, json!({})),
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
