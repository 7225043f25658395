//! Resource hooks on the real control plane: the order objects are created in (as a watch sees
//! it), hooks run again with their old objects deleted first, a failing PreSync hook stopping
//! the sync with SyncFail hooks run, a hook past its deadline, and Helm's hook annotations. Each
//! app is named after its test's unique namespace, so concurrent runs never share an inventory. The
//! failing and hanging pods come from the local control plane's kwok stages (`moor.dev/test-outcome`).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{engine, get, manifests, opts, sync_ok};
use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use moor_apply::{HookStatus, SyncError};
use moor_testkit::{TestNamespace, eventually};

fn job(name_line: &str, annotations: &str, outcome: Option<&str>) -> String {
    let marker = outcome
        .map(|o| format!("      annotations: {{moor.dev/test-outcome: {o}}}\n"))
        .unwrap_or_default();
    format!(
        "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  {name_line}\n  annotations:\n{annotations}\
         spec:\n  backoffLimit: 0\n  template:\n    metadata:\n{marker}      labels: {{app: hook}}\n\
         \x20   spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: busybox}}]\n"
    )
}

const STEADY: &str = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{port: 80}]\n  selector: {app: web}\n---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n";

/// Records, per object, the resourceVersion it was created at, as watches of `kinds` in `ns`
/// see them; etcd's revisions order the creations across kinds.
fn watch_creations(
    client: &Client,
    ns: &str,
    kinds: &[(&str, &str, &str)],
) -> Arc<Mutex<BTreeMap<u64, String>>> {
    let seen: Arc<Mutex<BTreeMap<u64, String>>> = Arc::default();
    for (group, version, kind) in kinds {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        let (seen, kind) = (seen.clone(), kind.to_string());
        tokio::spawn(async move {
            let mut events = watcher(api, watcher::Config::default()).boxed();
            while let Some(Ok(ev)) = events.next().await {
                if let watcher::Event::Apply(o) = ev {
                    let rv = o.metadata.resource_version.clone().unwrap_or_default();
                    let created =
                        o.metadata.generation == Some(1) || o.metadata.generation.is_none();
                    let name = format!("{kind}/{}", o.metadata.name.clone().unwrap_or_default());
                    let mut s = seen.lock().unwrap();
                    if created && !s.values().any(|n| *n == name) {
                        s.insert(rv.parse().unwrap_or(0), name);
                    }
                }
            }
        });
    }
    seen
}

fn created_in_order(seen: &Arc<Mutex<BTreeMap<u64, String>>>) -> Vec<String> {
    seen.lock().unwrap().values().cloned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_run_in_phase_order_around_the_steady_objects_and_again_on_every_sync() {
    let (client, engine) = engine().await;
    let ns = TestNamespace::create(&client, "hooks").await;
    let yaml = [
        job(
            "generateName: migrate-",
            "    argocd.argoproj.io/hook: PreSync\n",
            None,
        ),
        job(
            "name: seed",
            "    argocd.argoproj.io/hook: Sync\n    argocd.argoproj.io/sync-wave: \"1\"\n    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation\n",
            None,
        ),
        job(
            "name: smoke",
            "    argocd.argoproj.io/hook: PostSync\n",
            None,
        ),
        STEADY.to_string(),
    ]
    .concat();
    let seen = watch_creations(
        &client,
        &ns.name,
        &[
            ("batch", "v1", "Job"),
            ("", "v1", "Service"),
            ("apps", "v1", "ReplicaSet"),
        ],
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut o = opts(&ns.name, &ns.name);
    o.prune = true;
    let set = sync_ok(&engine, &yaml, &o, "the sync with hooks succeeds").await;
    let phases: Vec<(String, HookStatus)> = set
        .hooks
        .iter()
        .map(|h| (format!("{}:{}", h.phase, h.key.name), h.status))
        .collect();
    assert_eq!(phases.len(), 3, "{phases:?}");
    assert!(phases[0].0.starts_with("PreSync:migrate-"), "{phases:?}");
    assert_eq!(phases[1].0, "Sync:seed");
    assert_eq!(phases[2].0, "PostSync:smoke");
    assert!(phases.iter().all(|(_, s)| *s == HookStatus::Succeeded));
    // Hooks are not app objects: not in the change set, the inventory or the comparison.
    let names: Vec<&str> = set.objects.iter().map(|o| o.key.name.as_str()).collect();
    assert_eq!(names, ["web", "web"], "{:?}", set.objects);
    let migrate = set.hooks[0].key.name.clone();
    eventually("every creation seen", Duration::from_secs(10), || async {
        (created_in_order(&seen).len() >= 5).then_some(())
    })
    .await;
    assert_eq!(
        created_in_order(&seen),
        [
            format!("Job/{migrate}"),
            "Service/web".to_string(),
            "ReplicaSet/web".to_string(),
            "Job/seed".to_string(),
            "Job/smoke".to_string(),
        ]
    );
    let cmp = engine.compare(manifests(&yaml), &o).await.unwrap();
    assert!(
        cmp.in_sync(),
        "hooks counted as out of sync: {:?}",
        cmp.resources
    );
    assert_eq!(cmp.resources.len(), 2);
    assert!(
        cmp.extra.is_empty(),
        "hooks would be pruned: {:?}",
        cmp.extra
    );

    // The same revision again: the hooks run again, the named ones' old objects deleted first,
    // the generated one's earlier run too.
    let seed_uid = get(&client, "batch/v1", "Job", &ns.name, "seed")
        .await
        .unwrap()["metadata"]["uid"]
        .clone();
    let again = engine.sync(manifests(&yaml), &o, &|_| {}).await.unwrap();
    assert_eq!(again.hooks.len(), 3);
    let seed = get(&client, "batch/v1", "Job", &ns.name, "seed")
        .await
        .unwrap();
    assert_ne!(
        seed["metadata"]["uid"], seed_uid,
        "the Sync hook did not run again"
    );
    assert!(
        get(&client, "batch/v1", "Job", &ns.name, &migrate)
            .await
            .is_none(),
        "the first run of the generated PreSync hook was not deleted"
    );
    assert_ne!(again.hooks[0].key.name, migrate);
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_presync_hook_writes_no_steady_object_and_runs_the_syncfail_hook() {
    let (client, engine) = engine().await;
    let ns = TestNamespace::create(&client, "hookfail").await;
    let yaml = [
        job(
            "name: migrate",
            "    argocd.argoproj.io/hook: PreSync\n",
            Some("fail"),
        ),
        job(
            "name: page-oncall",
            "    argocd.argoproj.io/hook: SyncFail\n",
            None,
        ),
        STEADY.to_string(),
    ]
    .concat();
    let err = engine
        .sync(manifests(&yaml), &opts(&ns.name, &ns.name), &|_| {})
        .await
        .expect_err("a failing PreSync hook fails the sync");
    let msg = err.to_string();
    assert!(
        matches!(err, SyncError::Hook { .. })
            && msg.starts_with(&format!(
                "PreSync hook Job {}/migrate failed: job failed",
                ns.name
            )),
        "{msg}"
    );
    assert!(
        get(&client, "v1", "Service", &ns.name, "web")
            .await
            .is_none()
    );
    assert!(
        get(&client, "apps/v1", "ReplicaSet", &ns.name, "web")
            .await
            .is_none()
    );
    let paged = get(&client, "batch/v1", "Job", &ns.name, "page-oncall")
        .await
        .expect("the SyncFail hook ran");
    assert_eq!(paged["status"]["succeeded"], 1, "{}", paged["status"]);
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_that_never_finishes_fails_at_its_deadline_naming_it() {
    let (client, engine) = engine().await;
    let ns = TestNamespace::create(&client, "hookhang").await;
    let yaml = job(
        "name: stuck",
        "    argocd.argoproj.io/hook: PreSync\n    moor.dev/hook-timeout: 4s\n",
        Some("hang"),
    );
    let started = std::time::Instant::now();
    let err = engine
        .sync(manifests(&yaml), &opts(&ns.name, &ns.name), &|_| {})
        .await
        .expect_err("a hook past its deadline fails the sync");
    assert_eq!(
        err.to_string(),
        format!(
            "PreSync hook Job {}/stuck failed: did not finish within 4s (annotation moor.dev/hook-timeout)",
            ns.name
        )
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(60),
        "{took:?}"
    );
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_hooks_run_in_phase_and_weight_order_and_test_hooks_are_not_applied() {
    let (client, engine) = engine().await;
    let ns = TestNamespace::create(&client, "helmhooks").await;
    let tmp = tempfile::tempdir().unwrap();
    // The release is named after the chart's directory.
    let chart = tmp.path().join("hooked");
    let w = |rel: &str, text: &str| {
        let p = chart.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w(
        "Chart.yaml",
        "apiVersion: v2\nname: hooked\nversion: 0.1.0\n",
    );
    let hook = |name: &str, kind: &str, weight: &str, policy: &str| {
        job(
            &format!("name: {name}"),
            &format!(
                "    helm.sh/hook: {kind}\n    helm.sh/hook-weight: \"{weight}\"\n    helm.sh/hook-delete-policy: {policy}\n"
            ),
            None,
        )
    };
    w(
        "templates/second.yaml",
        &hook(
            "db-migrate",
            "pre-install,pre-upgrade",
            "5",
            "before-hook-creation",
        ),
    );
    w(
        "templates/first.yaml",
        &hook(
            "db-backup",
            "pre-install,pre-upgrade",
            "-5",
            "before-hook-creation",
        ),
    );
    w(
        "templates/after.yaml",
        &hook("notify", "post-install,post-upgrade", "0", "hook-succeeded"),
    );
    w(
        "templates/test.yaml",
        &hook("connection-test", "test", "0", "before-hook-creation"),
    );
    w("templates/svc.yaml", STEADY);
    let rendered = moor_render::render(&chart, &moor_render::RenderOptions::default())
        .expect("the chart renders");
    let mut o = opts(&ns.name, &ns.name);
    o.prune = true;
    let set = engine.sync(rendered.clone(), &o, &|_| {}).await.unwrap();
    let ran: Vec<String> = set
        .hooks
        .iter()
        .map(|h| format!("{}:{}", h.phase, h.key.name))
        .collect();
    assert_eq!(
        ran,
        ["PreSync:db-backup", "PreSync:db-migrate", "PostSync:notify"]
    );
    assert!(
        get(&client, "batch/v1", "Job", &ns.name, "connection-test")
            .await
            .is_none()
    );
    // hook-succeeded: gone once it succeeded; before-hook-creation: kept until the next run.
    assert!(
        get(&client, "batch/v1", "Job", &ns.name, "notify")
            .await
            .is_none()
    );
    let backup = get(&client, "batch/v1", "Job", &ns.name, "db-backup")
        .await
        .unwrap();
    let again = engine.sync(rendered, &o, &|_| {}).await.unwrap();
    assert_eq!(again.hooks.len(), 3);
    let backup2 = get(&client, "batch/v1", "Job", &ns.name, "db-backup")
        .await
        .unwrap();
    assert_ne!(backup["metadata"]["uid"], backup2["metadata"]["uid"]);
    ns.delete(&client).await;
}
