//! End to end: `moor project` against the local control plane. The CLI writes AppProjects with
//! Argo CD's field names; `moor app create --project` puts an app in one, and once a controller
//! reconciles it, `moor app get` shows the rule of the project that refuses it.

mod common;

use std::time::Duration;

use common::apps::{synced_healthy, wait_app};
use common::controller::{Controller, ensure_crds};
use common::{moor, moor_ok, write};
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::json;

const HOME: &str = "https://kubernetes.default.svc";

/// The value of the `KEY:` line of `moor app get`'s summary.
fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(str::trim)
}

#[tokio::test(flavor = "multi_thread")]
async fn projects_are_created_listed_shown_and_deleted_with_argo_cd_field_names() {
    let client = client().await;
    ensure_crds();
    let ns = TestNamespace::create(&client, "proj-cli").await;
    let n = ns.name.as_str();
    let created = moor_ok(
        &[
            "project",
            "create",
            "team-a",
            "-n",
            n,
            "--description",
            "Team A's apps",
            "--source-repo",
            "https://git.example.com/team-a/*",
            "-s",
            "!https://git.example.com/team-a/secret*",
            "--dest",
            &format!("{HOME},team-a-*"),
            "-d",
            "second,team-a-prod",
            "--allow-cluster-resource",
            "Namespace",
            "--deny-cluster-resource",
            "rbac.authorization.k8s.io/ClusterRoleBinding",
            "--allow-namespaced-resource",
            "apps/*",
            "--deny-namespaced-resource",
            "/ResourceQuota",
            "--source-namespace",
            "team-a-apps",
            "--dest-service-account",
            &format!("{HOME},team-a-*,deployer"),
        ],
        &[],
    );
    assert_eq!(
        created.stdout.trim(),
        format!("AppProject {n}/team-a created")
    );

    let got = moor_ok(&["project", "get", "team-a", "-n", n, "-o", "json"], &[]).json();
    assert_eq!(got["apiVersion"], "moor.dev/v1alpha1");
    assert_eq!(got["kind"], "AppProject");
    assert!(got["metadata"].get("managedFields").is_none(), "{got}");
    assert_eq!(
        got["spec"],
        json!({
            "description": "Team A's apps",
            "sourceRepos": ["https://git.example.com/team-a/*", "!https://git.example.com/team-a/secret*"],
            "destinations": [{"server": HOME, "namespace": "team-a-*"},
                             {"name": "second", "namespace": "team-a-prod"}],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "clusterResourceBlacklist": [{"group": "rbac.authorization.k8s.io", "kind": "ClusterRoleBinding"}],
            "namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
            "sourceNamespaces": ["team-a-apps"],
            "destinationServiceAccounts": [{"server": HOME, "namespace": "team-a-*",
                                            "defaultServiceAccount": "deployer"}],
        })
    );
    let yaml = moor_ok(&["project", "get", "team-a", "-n", n, "-o", "yaml"], &[]);
    assert!(yaml.stdout.contains("sourceRepos:"), "{}", yaml.stdout);

    let shown = moor_ok(&["project", "get", "team-a", "-n", n], &[]).stdout;
    for (key, want) in [
        ("Name", format!("{n}/team-a")),
        ("Description", "Team A's apps".into()),
        (
            "Source Repositories",
            "https://git.example.com/team-a/*, !https://git.example.com/team-a/secret*".into(),
        ),
        ("Source Namespaces", "team-a-apps".into()),
        ("Cluster Resources Allowed", "Namespace".into()),
        (
            "Cluster Resources Denied",
            "rbac.authorization.k8s.io/ClusterRoleBinding".into(),
        ),
        ("Namespaced Resources Allowed", "apps/*".into()),
        ("Namespaced Resources Denied", "ResourceQuota".into()),
    ] {
        assert_eq!(
            field(&shown, key),
            Some(want.as_str()),
            "{key} in:\n{shown}"
        );
    }
    // The destination and service account tables.
    let rows: Vec<Vec<&str>> = shown
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for row in [
        vec![HOME, "-", "team-a-*"],
        vec!["-", "second", "team-a-prod"],
        vec![HOME, "team-a-*", "deployer"],
    ] {
        assert!(rows.contains(&row), "no {row:?} in:\n{shown}");
    }

    // Once made, a project changes only with --upsert, which makes the rules what the flags say.
    let again = moor(&["project", "create", "team-a", "-n", n, "-s", "*"], &[]);
    assert_eq!(again.code, 2, "{}", again.stdout);
    assert!(
        again
            .stderr
            .contains(&format!("AppProject {n}/team-a already exists"))
            && again.stderr.contains("--upsert"),
        "{}",
        again.stderr
    );
    let upsert = moor_ok(
        &[
            "project",
            "create",
            "team-a",
            "-n",
            n,
            "-s",
            "*",
            "-d",
            "*,team-a-*",
            "--upsert",
        ],
        &[],
    );
    assert_eq!(
        upsert.stdout.trim(),
        format!("AppProject {n}/team-a applied")
    );
    let got = moor_ok(&["project", "get", "team-a", "-n", n, "-o", "json"], &[]).json();
    assert_eq!(
        got["spec"],
        json!({"sourceRepos": ["*"], "destinations": [{"name": "*", "namespace": "team-a-*"}]})
    );
    let shown = moor_ok(&["project", "get", "team-a", "-n", n], &[]).stdout;
    assert_eq!(
        field(&shown, "Cluster Resources Allowed"),
        Some("none"),
        "{shown}"
    );
    assert_eq!(
        field(&shown, "Namespaced Resources Allowed"),
        Some("all"),
        "{shown}"
    );

    // Argo CD's projects, for a controller with --argocd-compat, are another resource.
    moor_ok(
        &[
            "project",
            "create",
            "argo",
            "-n",
            n,
            "--group",
            "argoproj.io",
            "-s",
            "*",
        ],
        &[],
    );
    let argo = moor_ok(
        &[
            "project",
            "list",
            "-n",
            n,
            "--group",
            "argoproj.io",
            "-o",
            "json",
        ],
        &[],
    )
    .json();
    assert_eq!(argo.as_array().map(Vec::len), Some(1), "{argo}");
    assert_eq!(argo[0]["apiVersion"], "argoproj.io/v1alpha1");

    let list = moor_ok(&["project", "list", "-n", n], &[]).stdout;
    let mut lines = list.lines();
    assert_eq!(
        lines
            .next()
            .map(|h| h.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["NAME", "DESCRIPTION", "SOURCES", "DESTINATIONS"]),
        "{list}"
    );
    let row: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["team-a", "-", "*", "*,team-a-*"], "{list}");
    assert_eq!(lines.next(), None, "{list}");
    let listed = moor_ok(&["project", "list", "-n", n, "-o", "json"], &[]).json();
    assert_eq!(listed[0]["metadata"]["name"], "team-a", "{listed}");

    // An app names its project; one that names none is in `default`.
    moor_ok(
        &[
            "app",
            "create",
            "web",
            "-n",
            n,
            "--repo",
            "https://git.example.com/team-a/web.git",
            "--project",
            "team-a",
        ],
        &[],
    );
    moor_ok(
        &[
            "app",
            "create",
            "plain",
            "-n",
            n,
            "--repo",
            "https://git.example.com/plain.git",
        ],
        &[],
    );
    let app = moor_ok(&["app", "get", "web", "-n", n, "-o", "json"], &[]).json();
    assert_eq!(app["spec"]["project"], "team-a");
    let app = moor_ok(&["app", "get", "plain", "-n", n, "-o", "json"], &[]).json();
    assert!(app["spec"].get("project").is_none(), "{app}");
    let web = moor_ok(&["app", "get", "web", "-n", n], &[]).stdout;
    assert_eq!(field(&web, "Project"), Some("team-a"), "{web}");
    let plain = moor_ok(&["app", "get", "plain", "-n", n], &[]).stdout;
    assert_eq!(field(&plain, "Project"), Some("default"), "{plain}");

    // A project still used by an app stays (as Argo CD), naming the app.
    let r = moor(&["project", "delete", "team-a", "-n", n], &[]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "error: AppProject {n}/team-a is used by 1 Application: {n}/web; delete them or \
             move them to another project first"
        )
    );
    moor_ok(&["app", "delete", "web", "-n", n], &[]);
    let deleted = moor_ok(&["project", "delete", "team-a", "-n", n], &[]);
    assert_eq!(
        deleted.stdout.trim(),
        format!("AppProject {n}/team-a deleted")
    );
    // Errors name the object once.
    for args in [
        vec!["project", "get", "team-a", "-n", n],
        vec!["project", "delete", "team-a", "-n", n],
    ] {
        let r = moor(&args, &[]);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert_eq!(
            r.stderr.trim(),
            format!("error: AppProject {n}/team-a not found"),
            "{args:?}"
        );
    }
    let r = moor(
        &[
            "project",
            "create",
            "x",
            "-n",
            &format!("{n}-missing"),
            "-s",
            "*",
        ],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains(&format!("namespace {n}-missing does not exist")),
        "{}",
        r.stderr
    );
    // A malformed rule is refused before anything is sent.
    let r = moor(&["project", "create", "x", "-n", n, "-d", HOME], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not SERVER_OR_NAME,NAMESPACE"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn app_get_shows_the_project_rule_that_refuses_the_app_until_the_project_permits_it() {
    let client = client().await;
    let home = TestNamespace::create(&client, "proj-app").await;
    let n = home.name.as_str();
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: v1\n",
    );
    server.create_repo("team-a", src.path());
    let url = server.file_url("team-a");
    let dest = format!("{HOME},{n}");
    ensure_crds();
    moor_ok(
        &[
            "project",
            "create",
            "team-a",
            "-n",
            n,
            "-s",
            "https://git.example.com/team-a/*",
            "-d",
            &dest,
        ],
        &[],
    );
    // Projects live in the controller's namespace, here the test's.
    let _ctl = Controller::start(n, &["--namespace", n]);
    moor_ok(
        &[
            "app",
            "create",
            "web",
            "-n",
            n,
            "--project",
            "team-a",
            "--repo",
            &url,
            "--path",
            "app",
            "--dest-namespace",
            n,
            "--auto-sync",
        ],
        &[],
    );

    let shown = eventually(
        "moor app get to show the project's refusal",
        Duration::from_secs(90),
        || async {
            let out = moor_ok(&["app", "get", "web", "-n", n], &[]).stdout;
            out.contains("does not permit").then_some(out)
        },
    )
    .await;
    assert_eq!(field(&shown, "Project"), Some("team-a"), "{shown}");
    let rule = format!(
        "project \"team-a\" does not permit repository {}: it is not in sourceRepos",
        moor_git::redact_url(&url)
    );
    assert_eq!(field(&shown, "Spec Error"), Some(rule.as_str()), "{shown}");
    assert_eq!(shown.matches("does not permit").count(), 1, "{shown}");

    // Permitting the repository admits the app at once: it syncs and the error goes.
    moor_ok(
        &[
            "project", "create", "team-a", "-n", n, "-s", &url, "-d", &dest, "--upsert",
        ],
        &[],
    );
    wait_app(&client, n, "web", "synced", 90, synced_healthy).await;
    let shown = eventually("the spec error to go", Duration::from_secs(30), || async {
        let out = moor_ok(&["app", "get", "web", "-n", n], &[]).stdout;
        (!out.contains("Spec Error")).then_some(out)
    })
    .await;
    assert_eq!(field(&shown, "Project"), Some("team-a"), "{shown}");
}
