//! End to end: `moor app` against the local control plane, with no controller running: the CLI
//! only writes Application objects (and reads what a controller would write into status), so
//! each test checks the object the CLI left behind.

mod common;

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use moor_controller::crd::{Application, FINALIZER, MOOR_GROUP, api_resource};
use moor_testkit::{TestNamespace, client, eventually, unique_name};
use serde_json::{Value, json};

use common::{moor, moor_ok, write};

const CRD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/crds/application.yaml"
);

/// Installs (idempotently) the Application CRD from deploy/ and waits until it is served.
async fn install_crd(client: &Client) {
    let text = std::fs::read_to_string(CRD).unwrap();
    let crd: CustomResourceDefinition = serde_saphyr::from_str(&text).unwrap();
    let name = crd.metadata.name.clone().unwrap();
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        &name,
        &PatchParams::apply("moor-tests").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap_or_else(|e| panic!("failed to apply {CRD}: {e}"));
    eventually(
        "the Application CRD to be established",
        Duration::from_secs(30),
        || {
            let api = api.clone();
            let name = name.clone();
            async move {
                let crd = api.get(&name).await.ok()?;
                let conds = crd.status?.conditions?;
                conds
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
            }
        },
    )
    .await;
}

fn apps(client: &Client, ns: &str) -> Api<Application> {
    Api::namespaced_with(client.clone(), ns, &api_resource(MOOR_GROUP))
}

/// The Application as JSON, the way the API server stores it.
async fn app_json(client: &Client, ns: &str, name: &str) -> Value {
    serde_json::to_value(apps(client, ns).get(name).await.unwrap()).unwrap()
}

/// `moor app create NAME -n NS --repo REPO EXTRA...`: how every test here makes its app.
fn create_args<'a>(name: &'a str, ns: &'a str, repo: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [
        &["app", "create", name, "-n", ns, "--repo", repo][..],
        extra,
    ]
    .concat()
}

async fn setup(prefix: &str) -> (Client, TestNamespace) {
    let client = client().await;
    install_crd(&client).await;
    let ns = TestNamespace::create(&client, prefix).await;
    (client, ns)
}

#[tokio::test(flavor = "multi_thread")]
async fn create_then_list_and_get_show_it() {
    let (client, ns) = setup("app-create").await;
    let name = unique_name("web");
    moor_ok(
        &create_args(
            &name,
            &ns.name,
            "https://git.example.com/org/gitops.git",
            &[
                "--revision",
                "main",
                "--path",
                "apps/web",
                "--dest-namespace",
                "web",
                "--auto-sync",
                "--prune",
                "--sync-option",
                "CreateNamespace=true",
                "--depends-on",
                "db",
                "--depends-on",
                "infra/cache",
            ],
        ),
        &[],
    );

    let app = app_json(&client, &ns.name, &name).await;
    assert_eq!(
        app["spec"],
        json!({
            "source": {"repoURL": "https://git.example.com/org/gitops.git",
                "targetRevision": "main", "path": "apps/web"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": false},
                "syncOptions": ["CreateNamespace=true"]},
            "dependsOn": [{"name": "db"}, {"name": "cache", "namespace": "infra"}],
        })
    );

    let list = moor_ok(&["app", "list", "-n", &ns.name], &[]);
    let header = list.stdout.lines().next().unwrap_or_default();
    for col in ["NAME", "SYNC", "HEALTH", "REVISION", "AGE"] {
        assert!(header.contains(col), "no {col} column:\n{}", list.stdout);
    }
    assert!(
        list.stdout.lines().any(|l| l.starts_with(&name)),
        "{}",
        list.stdout
    );
    let listed = moor_ok(&["app", "list", "-n", &ns.name, "-o", "json"], &[]).json();
    assert_eq!(listed[0]["metadata"]["name"], json!(name), "{listed}");
    let yaml = moor_ok(&["app", "list", "-n", &ns.name, "-o", "yaml"], &[]);
    assert!(
        yaml.stdout.contains(&format!("name: {name}")),
        "{}",
        yaml.stdout
    );

    let get = moor_ok(&["app", "get", &name, "-n", &ns.name], &[]);
    for want in [
        "https://git.example.com/org/gitops.git",
        "apps/web",
        "https://kubernetes.default.svc (namespace web)",
        "automated (prune)",
        "db, infra/cache",
    ] {
        assert!(get.stdout.contains(want), "no {want:?} in:\n{}", get.stdout);
    }
    let got = moor_ok(&["app", "get", &name, "-n", &ns.name, "-o", "json"], &[]).json();
    assert_eq!(got["spec"], app["spec"]);
    assert!(
        got["metadata"].get("managedFields").is_none(),
        "managedFields printed"
    );

    // Once the controller reports status, list and get show it.
    apps(&client, &ns.name)
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "sync": {"status": "OutOfSync", "revision": "0123456789abcdef0123456789abcdef01234567"},
                "health": {"status": "Progressing", "message": "1 of 2 objects ready"},
                "resources": [{"group": "apps", "version": "v1", "kind": "Deployment",
                    "namespace": "web", "name": "api", "status": "OutOfSync",
                    "health": {"status": "Progressing", "message": "1 of 3 replicas available"}}],
            }})),
        )
        .await
        .unwrap();
    let list = moor_ok(&["app", "list", "-n", &ns.name], &[]);
    let row = list.stdout.lines().find(|l| l.starts_with(&name)).unwrap();
    for want in ["OutOfSync", "Progressing", "0123456"] {
        assert!(row.contains(want), "no {want} in {row:?}");
    }
    assert!(
        !row.contains("0123456789"),
        "revision not shortened: {row:?}"
    );
    let get = moor_ok(&["app", "get", &name, "-n", &ns.name], &[]);
    assert!(
        get.stdout.contains("Progressing: 1 of 2 objects ready"),
        "{}",
        get.stdout
    );
    let resource = get
        .stdout
        .lines()
        .find(|l| l.starts_with("apps") && l.contains("Deployment"))
        .unwrap_or_else(|| panic!("no resource row:\n{}", get.stdout));
    for want in ["web", "api", "OutOfSync", "1 of 3 replicas available"] {
        assert!(resource.contains(want), "no {want} in {resource:?}");
    }

    let missing = moor(&["app", "get", "no-such-app", "-n", &ns.name], &[]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains(&format!(
            "application no-such-app not found in namespace {}",
            ns.name
        )),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_twice_fails_unless_upsert() {
    let (client, ns) = setup("app-twice").await;
    let name = unique_name("twice");
    let create = |extra: &[&str]| {
        moor(
            &create_args(&name, &ns.name, "https://git.example.com/a.git", extra),
            &[],
        )
    };
    let first = create(&["--auto-sync", "--self-heal", "--path", "one"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let again = create(&["--path", "two"]);
    assert_eq!(again.code, 2, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stderr.contains("already exists") && again.stderr.contains("--upsert"),
        "{}",
        again.stderr
    );
    assert_eq!(
        app_json(&client, &ns.name, &name).await["spec"]["source"]["path"],
        "one"
    );

    // --upsert makes the spec what the flags say: fields left out go (auto-sync here).
    let upsert = create(&["--path", "two", "--dest-name", "in-cluster", "--upsert"]);
    assert_eq!(upsert.code, 0, "{}", upsert.stderr);
    let spec = app_json(&client, &ns.name, &name).await["spec"].clone();
    assert_eq!(
        spec,
        json!({
            "source": {"repoURL": "https://git.example.com/a.git", "path": "two"},
            "destination": {"name": "in-cluster"},
        })
    );

    // The API server's validation (deploy/crds) is reported as it is.
    let bad = moor(&["app", "create", "bad", "-n", &ns.name, "--repo", ""], &[]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("spec.source.repoURL"), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_sets_the_operation() {
    let (client, ns) = setup("app-sync").await;
    let name = unique_name("sync");
    moor_ok(
        &create_args(&name, &ns.name, "https://git.example.com/a.git", &[]),
        &[],
    );
    let r = moor_ok(
        &[
            "app",
            "sync",
            &name,
            "-n",
            &ns.name,
            "--revision",
            "v1.2.0",
            "--prune",
        ],
        &[],
    );
    assert!(r.stdout.contains("requested"), "{}", r.stdout);
    let mut app = app_json(&client, &ns.name, &name).await;
    // Each request carries an id of its own, so `--wait` tells it from an earlier one.
    let id = app["operation"]["initiatedBy"]
        .as_object_mut()
        .and_then(|i| i.remove("requestID"));
    assert!(id.is_some_and(|id| id.as_str().is_some_and(|s| !s.is_empty())));
    assert_eq!(
        app["operation"],
        json!({"sync": {"revision": "v1.2.0", "prune": true},
            "initiatedBy": {"username": "moor-cli"}})
    );

    // A new request replaces one the controller has not run yet, revision included.
    moor_ok(&["app", "sync", &name, "-n", &ns.name], &[]);
    let mut app = app_json(&client, &ns.name, &name).await;
    app["operation"]["initiatedBy"]
        .as_object_mut()
        .and_then(|i| i.remove("requestID"))
        .expect("a request id");
    assert_eq!(
        app["operation"],
        json!({"sync": {"prune": false}, "initiatedBy": {"username": "moor-cli"}})
    );

    let missing = moor(&["app", "sync", "no-such-app", "-n", &ns.name], &[]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no-such-app not found"),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn history_and_rollback_set_the_operation_and_turn_auto_sync_off() {
    let (client, ns) = setup("app-rollback").await;
    let name = unique_name("rb");
    moor_ok(
        &create_args(
            &name,
            &ns.name,
            "https://git.example.com/a.git",
            &[
                "--auto-sync",
                "--self-heal",
                "--sync-option",
                "ServerSideApply=true",
            ],
        ),
        &[],
    );
    let none = moor(&["app", "rollback", &name, "1", "-n", &ns.name], &[]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("no history yet"), "{}", none.stderr);

    let (old, new) = (
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    );
    apps(&client, &ns.name)
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "sync": {"status": "Synced", "revision": new},
                "health": {"status": "Healthy"},
                "history": [
                    {"id": 1, "revision": old, "deployedAt": "2025-03-01T10:00:00Z"},
                    {"id": 2, "revision": new, "deployedAt": "2025-03-02T10:00:00Z"},
                ],
            }})),
        )
        .await
        .unwrap();

    let history = moor_ok(&["app", "history", &name, "-n", &ns.name], &[]);
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", history.stdout);
    for col in ["ID", "DEPLOYED AT", "REVISION"] {
        assert!(lines[0].contains(col), "{}", history.stdout);
    }
    assert!(
        lines[1].starts_with('1')
            && lines[1].contains("2025-03-01T10:00:00Z")
            && lines[1].contains(old)
    );
    assert!(lines[2].starts_with('2') && lines[2].contains(new));

    let unknown = moor(&["app", "rollback", &name, "7", "-n", &ns.name], &[]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no history entry 7") && unknown.stderr.contains("valid ids: 1, 2"),
        "{}",
        unknown.stderr
    );
    let app = app_json(&client, &ns.name, &name).await;
    assert!(
        app.get("operation").is_none(),
        "failed rollback wrote: {app}"
    );

    moor_ok(&["app", "rollback", &name, "1", "-n", &ns.name], &[]);
    let mut app = app_json(&client, &ns.name, &name).await;
    app["operation"]["initiatedBy"]
        .as_object_mut()
        .and_then(|i| i.remove("requestID"))
        .expect("a request id");
    assert_eq!(
        app["operation"],
        json!({"sync": {"revision": old, "prune": false},
            "initiatedBy": {"username": "moor-cli"}})
    );
    assert_eq!(
        app["spec"]["syncPolicy"],
        json!({"syncOptions": ["ServerSideApply=true"]}),
        "automated must be gone, the rest kept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_without_cascade_removes_the_finalizer_first() {
    let (client, ns) = setup("app-delete").await;
    let api = apps(&client, &ns.name);
    let finalizers = |extra: &[&str]| {
        let mut f = vec![FINALIZER.to_string()];
        f.extend(extra.iter().map(|s| s.to_string()));
        json!({"metadata": {"finalizers": f}})
    };
    let create = |name: String| {
        moor_ok(
            &create_args(&name, &ns.name, "https://git.example.com/a.git", &[]),
            &[],
        )
    };

    // As the controller would have: its finalizer, so that deletion prunes the app's objects.
    let kept = unique_name("orphan");
    create(kept.clone());
    api.patch(
        &kept,
        &PatchParams::default(),
        &Patch::Merge(finalizers(&[])),
    )
    .await
    .unwrap();
    let r = moor_ok(
        &[
            "app",
            "delete",
            &kept,
            "-n",
            &ns.name,
            "--cascade=false",
            "--wait",
            "--timeout",
            "30s",
        ],
        &[],
    );
    assert!(r.stdout.contains("left in place"), "{}", r.stdout);
    assert!(api.get_opt(&kept).await.unwrap().is_none());

    // Cascade (the default) leaves the finalizer to the controller: with none running, the app
    // stays terminating, and --wait says what it waits on.
    let cascade = unique_name("cascade");
    create(cascade.clone());
    api.patch(
        &cascade,
        &PatchParams::default(),
        &Patch::Merge(finalizers(&["example.com/other"])),
    )
    .await
    .unwrap();
    let r = moor(
        &[
            "app",
            "delete",
            &cascade,
            "-n",
            &ns.name,
            "--wait",
            "--timeout",
            "2s",
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(FINALIZER), "{}", r.stderr);
    let app = api.get(&cascade).await.unwrap();
    assert!(app.metadata.deletion_timestamp.is_some());
    assert_eq!(
        app.metadata.finalizers.as_deref().unwrap_or_default(),
        [FINALIZER, "example.com/other"]
    );

    // --cascade=false on a terminating app removes only moor's finalizer.
    moor_ok(
        &[
            "app",
            "delete",
            &cascade,
            "-n",
            &ns.name,
            "--cascade",
            "false",
        ],
        &[],
    );
    let app = api.get(&cascade).await.unwrap();
    assert_eq!(
        app.metadata.finalizers.as_deref().unwrap_or_default(),
        ["example.com/other"]
    );
    api.patch(
        &cascade,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_renders_the_source_locally() {
    let (client, ns) = setup("app-diff").await;
    let dir = tempfile::tempdir().unwrap();
    let cm = |value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: {value}\n"
        )
    };
    write(dir.path(), "app/settings.yaml", &cm("fast"));
    write(
        dir.path(),
        "app/notes.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n",
    );
    let name = unique_name("diff");
    // A local directory is a valid source for moor, and keeps this test off the network.
    let repo = dir.path().to_str().unwrap();
    apps(&client, &ns.name)
        .patch(
            &name,
            &PatchParams::apply("moor-tests"),
            &Patch::Apply(json!({
                "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": name},
                "spec": {
                    "source": {"repoURL": repo, "path": "app",
                        "directory": {"include": "{settings.yaml,other.yaml}"}},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": ns.name},
                },
            })),
        )
        .await
        .unwrap();

    let r = moor(
        &["app", "diff", &name, "-n", &ns.name, "--color", "never"],
        &[],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("ConfigMap {}/settings", ns.name)),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("notes"),
        "include ignored:\n{}",
        r.stdout
    );
    // The objects carry the app's id, namespace_name, as the controller would apply them.
    let app_id = format!("{}_{name}", ns.name);
    assert!(
        r.stdout.contains(&format!("moor.dev/app: {app_id}")),
        "{}",
        r.stdout
    );

    // Synced under that id (as the controller would, through the engine: `moor sync --app`
    // refuses ids of the controller's Applications), nothing differs; a change shows again.
    let opts = moor_render::RenderOptions {
        include: vec!["settings.yaml".into()],
        ..Default::default()
    };
    let manifests = moor_render::render(&dir.path().join("app"), &opts).unwrap();
    moor_apply::Engine::new(client.clone())
        .sync(
            manifests,
            &moor_apply::SyncOptions::new(&app_id, &ns.name),
            &|_| {},
        )
        .await
        .unwrap();
    let r = moor(&["app", "diff", &name, "-n", &ns.name], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    write(dir.path(), "app/settings.yaml", &cm("safe"));
    let r = moor(
        &["app", "diff", &name, "-n", &ns.name, "--color", "never"],
        &[],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("-  mode: fast") && r.stdout.contains("+  mode: safe"),
        "{}",
        r.stdout
    );

    // Another cluster needs its kubeconfig.
    let remote = unique_name("remote");
    moor_ok(
        &create_args(
            &remote,
            &ns.name,
            repo,
            &["--dest-server", "https://10.0.0.1:6443"],
        ),
        &[],
    );
    let r = moor(&["app", "diff", &remote, "-n", &ns.name], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("https://10.0.0.1:6443") && r.stderr.contains("--dest-kubeconfig"),
        "{}",
        r.stderr
    );

    moor_apply::inventory::remove(&client, &app_id)
        .await
        .unwrap();
}
