//! End to end, `moor controller --shards auto`: three replicas split 30 apps, each app
//! reconciled by exactly one replica (from each replica's reconcile metrics); one replica
//! killed with -9: its apps move to the others and reconcile within 30 s, and none of the
//! others' apps changes hands. Apps pinned by the `moor.dev/shard` label go to the replica it
//! names, `moor app get` shows it, and they move when that replica dies.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::apps::{apply_app, spec, synced_at, wait_app};
use common::controller::Controller;
use common::{moor_ok, write};
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::json;

const APPS: usize = 30;

/// A replica with short shard Leases (4 s), in `system`.
fn replica(apps: &str, system: &str) -> Controller {
    named_replica(apps, system, None)
}

/// A replica whose identity (its Lease holder) is `name` when given.
fn named_replica(apps: &str, system: &str, name: Option<&str>) -> Controller {
    let env: Vec<(&str, &str)> = name.map(|n| ("POD_NAME", n)).into_iter().collect();
    Controller::start_with_env(
        apps,
        &[
            "--namespace",
            system,
            "--shards",
            "auto",
            "--leader-election-lease-duration",
            "4s",
            "--leader-election-renew-deadline",
            "3s",
            "--leader-election-retry-period",
            "1s",
            "--poll-interval",
            "10m",
        ],
        &env,
    )
}

fn metric(ctl: &Controller, name: &str) -> Option<String> {
    let (code, body) = ctl.get("/metrics")?;
    assert_eq!(code, 200, "{body}");
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_string))
}

/// The apps a replica has reconciled (its reconcile duration series).
fn reconciled(ctl: &Controller) -> BTreeSet<String> {
    counts(ctl).into_keys().collect()
}

/// How many times a replica reconciled each app.
fn counts(ctl: &Controller) -> BTreeMap<String, u64> {
    let Some((_, body)) = ctl.get("/metrics") else {
        return BTreeMap::new();
    };
    body.lines()
        .filter_map(|l| l.strip_prefix("moor_app_reconcile_duration_seconds_count{"))
        .filter_map(|l| {
            let name = l.split("name=\"").nth(1)?.split('"').next()?.to_string();
            let n = l.rsplit(' ').next()?.parse().ok()?;
            Some((name, n))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_split_the_apps_and_a_killed_ones_move_within_30s() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "shard").await;
    let system = TestNamespace::create(&client, "shard-sys").await;
    let dest = TestNamespace::create(&client, "shard-dest").await;
    let src = tempfile::tempdir().unwrap();
    for i in 0..APPS {
        write(
            src.path(),
            &format!("app-{i:02}/cm.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:02}\ndata:\n  v: \"1\"\n"
            ),
        );
    }
    let server = GitServer::start();
    let repo = server.create_repo("r", src.path());
    let url = server.file_url("r");

    // All three agree on the members before any app exists, so no app changes hands below.
    let mut replicas = [
        replica(&apps.name, &system.name),
        replica(&apps.name, &system.name),
        replica(&apps.name, &system.name),
    ];
    eventually(
        "three shard members seen by every replica",
        Duration::from_secs(30),
        || async {
            replicas
                .iter()
                .all(|r| metric(r, "moor_shard_members").as_deref() == Some("3"))
                .then_some(())
        },
    )
    .await;
    for i in 0..APPS {
        apply_app(
            &client,
            &apps.name,
            &format!("app-{i:02}"),
            spec(
                &url,
                &format!("app-{i:02}"),
                &dest.name,
                json!({"prune": true}),
            ),
        )
        .await;
    }
    let head = repo.head();
    for i in 0..APPS {
        wait_app(
            &client,
            &apps.name,
            &format!("app-{i:02}"),
            "Synced",
            90,
            |a| synced_at(a, &head),
        )
        .await;
    }
    let sets: Vec<BTreeSet<String>> = replicas.iter().map(reconciled).collect();
    for (i, a) in sets.iter().enumerate() {
        for b in &sets[i + 1..] {
            let both: Vec<_> = a.intersection(b).collect();
            assert!(both.is_empty(), "reconciled by two replicas: {both:?}");
        }
        assert!(!a.is_empty(), "replica {i} reconciled nothing: {sets:?}");
    }
    let all: BTreeSet<String> = sets.iter().flatten().cloned().collect();
    assert_eq!(all.len(), APPS, "{sets:?}");
    // Each replica's count is refreshed once per retry period: every app owned by exactly one.
    eventually(
        "moor_shard_apps summing to every app",
        Duration::from_secs(15),
        || async {
            let total: usize = replicas
                .iter()
                .map(|r| {
                    metric(r, "moor_shard_apps")
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(0)
                })
                .sum();
            (total == APPS).then_some(())
        },
    )
    .await;

    // Kill one; its apps must be reconciled by the others within 30 s.
    let victim = sets[2].clone();
    let before: Vec<BTreeMap<String, u64>> = replicas[..2].iter().map(counts).collect();
    replicas[2].kill();
    let killed = Instant::now();
    let survivors = &replicas[..2];
    eventually(
        "the killed replica's apps reconciled by the others",
        Duration::from_secs(30),
        || async {
            let now: BTreeSet<String> = survivors.iter().flat_map(reconciled).collect();
            victim.iter().all(|a| now.contains(a)).then_some(())
        },
    )
    .await;
    println!(
        "{} apps of the killed replica reconciled elsewhere {:?} after the kill",
        victim.len(),
        killed.elapsed()
    );
    // The survivors kept their own apps: none of them was taken by the other survivor.
    let after: Vec<BTreeSet<String>> = survivors.iter().map(reconciled).collect();
    for (i, own) in sets[..2].iter().enumerate() {
        let other = &after[1 - i];
        let taken: Vec<_> = own.intersection(other).collect();
        assert!(
            taken.is_empty(),
            "apps moved between survivors: {taken:?} ({before:?})"
        );
    }
    eventually("two shard members", Duration::from_secs(10), || async {
        survivors
            .iter()
            .all(|r| metric(r, "moor_shard_members").as_deref() == Some("2"))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apps_pinned_by_label_go_to_the_named_replica_and_move_when_it_dies() {
    const PINNED: usize = 4;
    let client = client().await;
    let apps = TestNamespace::create(&client, "shard-pin").await;
    let system = TestNamespace::create(&client, "shard-pin-sys").await;
    let dest = TestNamespace::create(&client, "shard-pin-dest").await;
    let src = tempfile::tempdir().unwrap();
    for i in 0..PINNED {
        write(
            src.path(),
            &format!("p-{i}/cm.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p-{i}\ndata:\n  v: \"1\"\n"
            ),
        );
    }
    let server = GitServer::start();
    let repo = server.create_repo("r", src.path());
    let url = server.file_url("r");
    // Unique identities: other tests' replicas may run at the same time.
    let (a, b) = (format!("{}-a", apps.name), format!("{}-b", apps.name));
    let mut replicas = [
        named_replica(&apps.name, &system.name, Some(&a)),
        named_replica(&apps.name, &system.name, Some(&b)),
    ];
    eventually(
        "two shard members seen by both replicas",
        Duration::from_secs(30),
        || async {
            replicas
                .iter()
                .all(|r| metric(r, "moor_shard_members").as_deref() == Some("2"))
                .then_some(())
        },
    )
    .await;
    // Every app pinned to b, whatever its hash says.
    let apps_api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        &apps.name,
        &common::apps::app_ar("moor.dev"),
    );
    for i in 0..PINNED {
        let name = format!("p-{i}");
        let obj = json!({"apiVersion": "moor.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": apps.name, "labels": {"moor.dev/shard": b}},
            "spec": spec(&url, &name, &dest.name, json!({"prune": true}))});
        apps_api
            .patch(
                &name,
                &kube::api::PatchParams::apply("test").force(),
                &kube::api::Patch::Apply(&obj),
            )
            .await
            .unwrap();
    }
    let head = repo.head();
    for i in 0..PINNED {
        wait_app(
            &client,
            &apps.name,
            &format!("p-{i}"),
            "synced by b",
            90,
            |x| synced_at(x, &head) && x["status"]["reconciledBy"] == json!(b),
        )
        .await;
    }
    let on_a = reconciled(&replicas[0]);
    assert!(
        on_a.is_empty(),
        "replica a reconciled pinned apps: {on_a:?}"
    );
    // A reconcile is counted in the metrics just after its status write.
    eventually(
        "b counting every pinned app",
        Duration::from_secs(10),
        || async { (reconciled(&replicas[1]).len() == PINNED).then_some(()) },
    )
    .await;
    let on_a = reconciled(&replicas[0]);
    assert!(
        on_a.is_empty(),
        "replica a reconciled pinned apps: {on_a:?}"
    );
    let kubeconfig = moor_testkit::kubeconfig_path();
    let shown = moor_ok(
        &[
            "app",
            "get",
            "p-0",
            "-n",
            &apps.name,
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        shown.stdout.contains(&format!(
            "Shard:          {b} (pinned by label moor.dev/shard={b})"
        )),
        "{}",
        shown.stdout
    );

    // b dies: its pinned apps go by the hash to the one live replica, a, within 30 s.
    replicas[1].kill();
    let killed = Instant::now();
    for i in 0..PINNED {
        wait_app(
            &client,
            &apps.name,
            &format!("p-{i}"),
            "reconciled by a",
            30,
            |x| x["status"]["reconciledBy"] == json!(a),
        )
        .await;
    }
    println!(
        "pinned apps moved to the survivor {:?} after the kill",
        killed.elapsed()
    );
}
