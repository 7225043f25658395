//! End to end, controller operations: prune vs. no prune, rollback, kill -9 mid-sync, Argo CD
//! compatibility, two clusters, malformed manifests, git down, dependency cycles, deploy/. The API
//! server outage test is in controller_outage.rs.

mod common;

use std::time::Duration;

use common::apps::{apply_app, get_app, spec, synced_at, wait_app};
use common::controller::Controller;
use common::{get, git_repo, moor, moor_ok, seed_copy, write};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::{GitServer, TestNamespace, client, eventually, unique_name};
use serde_json::{Value, json};

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_manifest_is_pruned_with_prune_and_listed_without() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "prn").await;
    let (ns1, ns2) = (
        TestNamespace::create(&client, "prn-a").await,
        TestNamespace::create(&client, "prn-b").await,
    );
    let (server, repo) = git_repo(
        "r",
        &[
            ("app/a.yaml", &cm("cm-a", "1")),
            ("app/b.yaml", &cm("cm-b", "1")),
        ],
    );
    let url = server.file_url("r");
    let ctl = Controller::start(&apps.name, &[]);
    apply_app(
        &client,
        &apps.name,
        "pruner",
        spec(&url, "app", &ns1.name, json!({"prune": true})),
    )
    .await;
    apply_app(
        &client,
        &apps.name,
        "keeper",
        spec(&url, "app", &ns2.name, json!({"prune": false})),
    )
    .await;
    let first = repo.head();
    for n in ["pruner", "keeper"] {
        wait_app(&client, &apps.name, n, "Synced", 60, |a| {
            synced_at(a, &first)
        })
        .await;
    }
    let work = repo.clone_work();
    work.remove("app/b.yaml");
    let second = work.commit_and_push("drop cm-b");
    assert_eq!(ctl.push(&url, "main", true), 202);

    eventually(
        "cm-b to be pruned by the pruning app",
        Duration::from_secs(30),
        || async {
            get(&client, "v1", "ConfigMap", Some(&ns1.name), "cm-b")
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    let keeper = wait_app(
        &client,
        &apps.name,
        "keeper",
        "OutOfSync at the new commit",
        30,
        |a| {
            a["status"]["sync"]["status"] == "OutOfSync"
                && a["status"]["sync"]["revision"] == second.as_str()
        },
    )
    .await;
    let listed: Vec<&Value> = keeper["status"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "OutOfSync")
        .collect();
    assert_eq!(listed.len(), 1, "{keeper}");
    assert_eq!(listed[0]["name"], "cm-b");
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns2.name), "cm-b")
            .await
            .is_some(),
        "prune=false app deleted cm-b"
    );
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns1.name), "cm-a")
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_brings_back_an_earlier_revision_and_turns_automated_sync_off() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "rb").await;
    let suffix = unique_name("r");
    let seed = seed_copy(&suffix);
    let server = GitServer::start();
    let repo = server.create_repo("m", seed.path());
    let url = server.file_url("m");
    let ctl = Controller::start(&apps.name, &[]);
    let ns = format!("production-{suffix}");
    apply_app(
        &client,
        &apps.name,
        "shop",
        spec(&url, "overlays/production", &ns, json!({"prune": true})),
    )
    .await;
    let first = repo.head();
    wait_app(&client, &apps.name, "shop", "Synced", 60, |a| {
        synced_at(a, &first)
    })
    .await;

    let work = repo.clone_work();
    let k = "overlays/production/kustomization.yaml";
    let text = std::fs::read_to_string(work.path().join(k))
        .unwrap()
        .replace("newTag: 1.0.0", "newTag: 9.9.9");
    work.write(k, text);
    let second = work.commit_and_push("release 9.9.9");
    assert_eq!(ctl.push(&url, "main", true), 202);
    wait_app(
        &client,
        &apps.name,
        "shop",
        "Synced at the second commit",
        30,
        |a| synced_at(a, &second),
    )
    .await;
    let image = |d: Value| {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        image(
            get(&client, "apps/v1", "Deployment", Some(&ns), "myapp")
                .await
                .unwrap()
        ),
        "registry.local/myapp:9.9.9"
    );

    let h = moor_ok(&["app", "history", "shop", "-n", &apps.name], &[]);
    assert!(
        h.stdout.contains(&first) && h.stdout.contains(&second),
        "{}",
        h.stdout
    );
    moor_ok(&["app", "rollback", "shop", "0", "-n", &apps.name], &[]);
    eventually(
        "the rollback to restore 1.0.0",
        Duration::from_secs(30),
        || async {
            let d = get(&client, "apps/v1", "Deployment", Some(&ns), "myapp").await?;
            (image(d) == "registry.local/myapp:1.0.0").then_some(())
        },
    )
    .await;
    let a = get_app(&client, &apps.name, "shop").await.unwrap();
    assert!(
        a["spec"]["syncPolicy"]["automated"].is_null(),
        "automated sync still on: {}",
        a["spec"]
    );
    // A positive signal that the controller looked again after the rollback (a refresh it
    // served: fetch, compare, status) rather than a sleep: Git's newer commit is still not applied.
    let refreshed = moor_ok(
        &["app", "refresh", "shop", "-n", &apps.name, "-o", "json"],
        &[],
    )
    .json();
    assert_eq!(
        refreshed["status"]["sync"]["status"], "OutOfSync",
        "{refreshed}"
    );
    assert_eq!(
        image(
            get(&client, "apps/v1", "Deployment", Some(&ns), "myapp")
                .await
                .unwrap()
        ),
        "registry.local/myapp:1.0.0",
        "rollback was undone"
    );
    let _ = moor(&["app", "delete", "shop", "-n", &apps.name], &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_500_object_sync_then_restart_ends_synced_with_a_complete_inventory() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "k9").await;
    let dest = TestNamespace::create(&client, "k9-dest").await;
    let src = tempfile::tempdir().unwrap();
    let mut all = String::new();
    for i in 0..500 {
        all.push_str(&format!("---\n{}", cm(&format!("cm-{i:03}"), "v1")));
    }
    write(src.path(), "big/objects.yaml", &all);
    let server = GitServer::start();
    let repo = server.create_repo("big", src.path());
    let url = server.file_url("big");
    let mut ctl = Controller::start(&apps.name, &[]);
    apply_app(
        &client,
        &apps.name,
        "big",
        spec(&url, "big", &dest.name, json!({"prune": true})),
    )
    .await;
    let cms: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &dest.name,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    );
    let lp = ListParams::default().labels("moor.dev/app");
    // Polled tightly (not every 200 ms as `eventually` does) so the kill lands mid-sync.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while cms.list(&lp).await.map_or(0, |l| l.items.len()) < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sync did not start within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ctl.kill();
    let applied = cms.list(&lp).await.unwrap().items.len();
    println!("killed with {applied} of 500 objects applied");
    // The test is about a sync cut short: the kill must have landed before the last object.
    assert!(
        applied < 500,
        "the sync had finished before the kill ({applied} of 500 applied): nothing was cut short"
    );
    let a = get_app(&client, &apps.name, "big").await.unwrap();
    assert_ne!(
        a["status"]["sync"]["status"], "Synced",
        "the app was Synced before the kill: {}",
        a["status"]
    );

    // While the controller is down, Git moves on: new values, and 100 objects removed.
    let work = repo.clone_work();
    let mut next = String::new();
    for i in 0..400 {
        next.push_str(&format!("---\n{}", cm(&format!("cm-{i:03}"), "v2")));
    }
    work.write("big/objects.yaml", next);
    let second = work.commit_and_push("v2, 400 objects");

    let _ctl = Controller::start(&apps.name, &[]);
    wait_app(
        &client,
        &apps.name,
        "big",
        "Synced at the new commit",
        120,
        |a| synced_at(a, &second),
    )
    .await;
    let items = cms.list(&lp).await.unwrap().items;
    assert_eq!(items.len(), 400, "objects left after restart");
    assert!(
        items.iter().all(|o| o.data["data"]["value"] == "v2"),
        "an object from the stale revision survived"
    );
    let inventories: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "moor-system",
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    );
    let app_id = format!("{}_big", apps.name);
    let inv = inventories
        .list(&ListParams::default().labels("moor.dev/inventory=true"))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| {
            c.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("moor.dev/app"))
                == Some(&app_id)
        })
        .expect("the app's inventory");
    let entries: Vec<Value> =
        serde_json::from_str(inv.data["data"]["objects"].as_str().unwrap()).unwrap();
    assert_eq!(
        entries.len(),
        400,
        "inventory is not exactly the desired objects"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn argocd_application_manifest_deploys_the_production_overlay() {
    let client = client().await;
    let seed = tempfile::tempdir().unwrap();
    common::copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed"),
        seed.path(),
    );
    let server = GitServer::start();
    server.create_repo("k8s-manifests", seed.path());
    let url = server.http_url("k8s-manifests");
    let _ = std::process::Command::new("kubectl")
        .args(["create", "namespace", "argocd"])
        .output();
    let _ctl = Controller::start("argocd", &["--argocd-compat"]);
    // The seed's manifest, with only repoURL pointed at the local git server.
    let manifest = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: myapp, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://github.com/org/k8s-manifests.git, targetRevision: HEAD, path: overlays/production}
  destination: {server: https://kubernetes.default.svc, namespace: production}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
"#
    .replace("https://github.com/org/k8s-manifests.git", &url);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "app.yaml", &manifest);
    let out = std::process::Command::new("kubectl")
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = eventually(
        "the production Deployment",
        Duration::from_secs(60),
        || async {
            let d = get(
                &client,
                "apps/v1",
                "Deployment",
                Some("production"),
                "myapp",
            )
            .await?;
            (d["status"]["availableReplicas"] == 3).then_some(d)
        },
    )
    .await;
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/myapp:1.0.0"
    );
    let a = eventually(
        "the argoproj Application to be Synced and Healthy",
        Duration::from_secs(30),
        || async {
            let a = get(
                &client,
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                "myapp",
            )
            .await?;
            (a["status"]["sync"]["status"] == "Synced"
                && a["status"]["health"]["status"] == "Healthy")
                .then_some(a)
        },
    )
    .await;
    assert!(a["status"]["resources"].as_array().unwrap().len() >= 4);
    // Deleting it cascades through the finalizer.
    let out = std::process::Command::new("kubectl")
        .args(["delete", "-f"])
        .arg(&file)
        .args(["--wait=true", "--timeout=60s"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually(
        "the cascade to delete the Deployment",
        Duration::from_secs(30),
        || async {
            get(
                &client,
                "apps/v1",
                "Deployment",
                Some("production"),
                "myapp",
            )
            .await
            .is_none()
            .then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_controller_deploys_the_same_app_to_two_clusters() {
    // Checked to be a second cluster scripts/test started, like the first.
    let second_kc = moor_testkit::second_kubeconfig_path();
    let client = client().await;
    let second = Client::try_from(moor_testkit::kube_config(&second_kc).await).unwrap();
    let apps = TestNamespace::create(&client, "mc").await;
    let suffix = unique_name("m");
    let seed = seed_copy(&suffix);
    let server = GitServer::start();
    server.create_repo("m", seed.path());
    let url = server.file_url("m");
    // The second cluster is registered as a Secret in the controller's namespace.
    let kubeconfig = std::fs::read_to_string(&second_kc).unwrap();
    let server_url = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), &apps.name);
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cluster-second", "labels": {"moor.dev/secret-type": "cluster"}},
        "stringData": {"name": "second", "server": server_url, "config": kubeconfig}});
    secrets
        .patch(
            "cluster-second",
            &PatchParams::apply("test"),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
    let _ctl = Controller::start(&apps.name, &["--namespace", &apps.name]);
    let ns = format!("staging-{suffix}");
    apply_app(
        &client,
        &apps.name,
        "here",
        spec(&url, "overlays/staging", &ns, json!({"prune": true})),
    )
    .await;
    let mut there = spec(&url, "overlays/staging", &ns, json!({"prune": true}));
    there["destination"] = json!({"name": "second", "namespace": ns});
    apply_app(&client, &apps.name, "there", there).await;
    for c in [&client, &second] {
        eventually(
            "the Deployment in each cluster",
            Duration::from_secs(60),
            || async {
                get(c, "apps/v1", "Deployment", Some(&ns), "myapp")
                    .await
                    .map(|_| ())
            },
        )
        .await;
    }
    wait_app(
        &client,
        &apps.name,
        "there",
        "Synced and Healthy",
        60,
        |a| {
            a["status"]["sync"]["status"] == "Synced"
                && a["status"]["health"]["status"] == "Healthy"
        },
    )
    .await;
    for n in ["here", "there"] {
        let _ = moor(&["app", "delete", n, "-n", &apps.name], &[]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_manifest_leaves_the_cluster_as_it_was_and_the_app_degraded() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "bad").await;
    let dest = TestNamespace::create(&client, "bad-dest").await;
    let (server, repo) = git_repo("r", &[("app/a.yaml", &cm("cm-a", "1"))]);
    let url = server.http_url("r");
    // Polled every second (below the default floor, so the floor is lowered too).
    let ctl = Controller::start(
        &apps.name,
        &["--poll-interval", "1s", "--min-poll-interval", "1s"],
    );
    apply_app(
        &client,
        &apps.name,
        "app",
        spec(
            &url,
            "app",
            &dest.name,
            json!({"prune": true, "selfHeal": true}),
        ),
    )
    .await;
    let first = repo.head();
    wait_app(&client, &apps.name, "app", "Synced", 60, |a| {
        synced_at(a, &first)
    })
    .await;

    let work = repo.clone_work();
    work.write("app/a.yaml", cm("cm-a", "2"));
    work.write(
        "app/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
    );
    work.commit_and_push("broken");
    assert_eq!(ctl.push(&url, "main", true), 202);
    let a = wait_app(&client, &apps.name, "app", "Degraded", 30, |a| {
        a["status"]["health"]["status"] == "Degraded"
    })
    .await;
    let msg = a["status"]["health"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("broken.yaml") && msg.contains("missing metadata.name"),
        "{msg}"
    );
    let cm_a = get(&client, "v1", "ConfigMap", Some(&dest.name), "cm-a")
        .await
        .unwrap();
    assert_eq!(
        cm_a["data"]["value"], "1",
        "a write happened despite the invalid manifest"
    );

    // The git server goes away: the last good state stays and a condition says why.
    // The controller polls every second here, so the next fetch finds the server gone.
    drop(server);
    let a = wait_app(
        &client,
        &apps.name,
        "app",
        "reporting the unreachable source",
        30,
        |a| {
            a["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter().any(|c| {
                    c["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains("failed to fetch")
                })
            })
        },
    )
    .await;
    assert!(
        get(&client, "v1", "ConfigMap", Some(&dest.name), "cm-a")
            .await
            .is_some(),
        "{a}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn depends_on_cycles_are_rejected_with_a_condition() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "cyc").await;
    let dest = TestNamespace::create(&client, "cyc-dest").await;
    let (server, _repo) = git_repo("r", &[("a/a.yaml", &cm("cm-a", "1"))]);
    let url = server.file_url("r");
    let _ctl = Controller::start(&apps.name, &[]);
    let with_dep = |dep: &str| {
        let mut s = spec(&url, "a", &dest.name, json!({}));
        s["dependsOn"] = json!([{"name": dep}]);
        s
    };
    apply_app(&client, &apps.name, "one", with_dep("two")).await;
    apply_app(&client, &apps.name, "two", with_dep("one")).await;
    let a = wait_app(&client, &apps.name, "one", "DependencyCycle", 30, |a| {
        a["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "DependencyCycle"))
    })
    .await;
    assert!(a.to_string().contains("one -> "), "{a}");
    assert!(
        get(&client, "v1", "ConfigMap", Some(&dest.name), "cm-a")
            .await
            .is_none(),
        "an app in a cycle was synced"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_manifests_install_the_controller() {
    let client = client().await;
    common::controller::ensure_crds();
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    // The controller and its RBAC; the CRDs (installed above) stay out, so this sync does not
    // take them into an app of its own (install.rs installs them with `moor install` later).
    for part in ["controller", "rbac"] {
        moor_ok(
            &[
                "sync",
                "--repo",
                deploy.to_str().unwrap(),
                "--path",
                part,
                "--app",
                &format!("moor-install-{part}"),
                "--wait",
                "--timeout",
                "90s",
            ],
            &[],
        );
    }
    let d = get(
        &client,
        "apps/v1",
        "Deployment",
        Some("moor-system"),
        "moor-controller",
    )
    .await
    .expect("controller Deployment");
    assert!(
        d["status"]["availableReplicas"].as_i64().unwrap_or(0) >= 1,
        "{}",
        d["status"]
    );
    assert!(
        get(
            &client,
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            None,
            "moor-controller"
        )
        .await
        .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_application_specs_are_rejected_by_the_schema_with_a_clear_message() {
    let client = client().await;
    common::controller::ensure_crds();
    let ns = TestNamespace::create(&client, "schema").await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns.name, &common::apps::app_ar("moor.dev"));
    let try_apply = |spec: Value| {
        let api = api.clone();
        let ns = ns.name.clone();
        async move {
            let obj = json!({"apiVersion": "moor.dev/v1alpha1", "kind": "Application", "metadata": {"name": "bad", "namespace": ns}, "spec": spec});
            api.patch("bad", &PatchParams::apply("test"), &Patch::Apply(&obj))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    let no_repo = try_apply(json!({"source": {"path": "x"}, "destination": {"server": "https://kubernetes.default.svc"}})).await;
    assert!(
        no_repo.as_ref().is_err_and(|e| e.contains("repoURL")),
        "{no_repo:?}"
    );
    let no_dest = try_apply(json!({"source": {"repoURL": "https://example.com/r.git"}, "destination": {"namespace": "x"}})).await;
    assert!(
        no_dest
            .as_ref()
            .is_err_and(|e| e.contains("server") && e.contains("name")),
        "{no_dest:?}"
    );
    let base = || json!({"source": {"repoURL": "https://example.com/r.git"}, "destination": {"name": "in-cluster"}});
    let mut bad_pointer = base();
    bad_pointer["ignoreDifferences"] =
        json!([{"group": "apps", "kind": "Deployment", "jsonPointers": ["spec/replicas"]}]);
    let e = try_apply(bad_pointer).await;
    assert!(
        e.as_ref()
            .is_err_and(|e| e.contains("jsonPointers") && e.contains("\"bad\"")),
        "{e:?}"
    );
    let mut bad_backoff = base();
    bad_backoff["syncPolicy"] = json!({"retry": {"limit": 2, "backoff": {"duration": "soon"}}});
    let e = try_apply(bad_backoff).await;
    assert!(
        e.as_ref()
            .is_err_and(|e| e.contains("backoff.duration") && e.contains("soon")),
        "{e:?}"
    );
    let ok = try_apply(base()).await;
    assert!(ok.is_ok(), "{ok:?}");
}
