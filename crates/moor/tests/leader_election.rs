//! End to end, `moor controller --leader-elect`: two replicas, one Lease. Exactly one reconciles;
//! when it is killed with -9 in the middle of a 500-object sync the other takes the Lease within
//! the lease duration and finishes the sync with an exact inventory; a webhook sent to the
//! follower reaches the leader.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::apps::{apply_app, spec, synced_at, wait_app};
use common::controller::Controller;
use common::write;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::json;

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

/// A replica with a short Lease (4 s), its Lease and projects in `namespace`.
fn replica(apps: &str, namespace: &str) -> Controller {
    Controller::start(
        apps,
        &[
            "--namespace",
            namespace,
            "--leader-elect",
            "--leader-election-lease-duration",
            "4s",
            "--leader-election-renew-deadline",
            "3s",
            "--leader-election-retry-period",
            "1s",
            // Nothing but the Lease, the app's changes and webhooks triggers a fetch in the test.
            "--poll-interval",
            "10m",
        ],
    )
}

/// The identity holding the Lease `namespace/moor-controller`, if any.
async fn holder(client: &Client, namespace: &str) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    api.get_opt("moor-controller")
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity)
        .filter(|h| !h.is_empty())
}

/// A replica's identity is `HOST-PID` (no POD_NAME in tests).
fn is_holder(holder: &str, ctl: &Controller) -> bool {
    holder.ends_with(&format!("-{}", ctl.pid()))
}

async fn wait_holder(client: &Client, namespace: &str, ctl: &Controller, secs: u64) {
    eventually(
        &format!("replica {} to hold the Lease", ctl.pid()),
        Duration::from_secs(secs),
        || async {
            holder(client, namespace)
                .await
                .filter(|h| is_holder(h, ctl))
                .map(|_| ())
        },
    )
    .await;
}

fn metrics(ctl: &Controller) -> String {
    let (code, body) = ctl.get("/metrics").expect("metrics answer");
    assert_eq!(code, 200, "{body}");
    body
}

fn leader_gauge(ctl: &Controller) -> String {
    metrics(ctl)
        .lines()
        .find(|l| l.starts_with("moor_leader "))
        .unwrap_or("moor_leader missing")
        .to_string()
}

fn reconciles(ctl: &Controller) -> Vec<String> {
    metrics(ctl)
        .lines()
        .filter(|l| l.starts_with("moor_app_reconcile_duration_seconds_count{"))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_replica_reconciles_and_the_other_takes_over_a_killed_sync() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "le").await;
    let system = TestNamespace::create(&client, "le-sys").await;
    let dest = TestNamespace::create(&client, "le-dest").await;
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "small/cm.yaml", &cm("small", "1"));
    let mut all = String::new();
    for i in 0..500 {
        all.push_str(&format!("---\n{}", cm(&format!("cm-{i:03}"), "v1")));
    }
    write(src.path(), "big/objects.yaml", &all);
    let server = GitServer::start();
    let repo = server.create_repo("r", src.path());
    let url = server.file_url("r");

    let mut first = replica(&apps.name, &system.name);
    wait_holder(&client, &system.name, &first, 30).await;
    let second = replica(&apps.name, &system.name);
    // Both are ready (Controller::start waited for /readyz); one Lease, one holder: the first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let h = holder(&client, &system.name).await.expect("a holder");
    assert!(is_holder(&h, &first), "the Lease moved to {h}");
    assert_eq!(leader_gauge(&first), "moor_leader 1");
    assert_eq!(leader_gauge(&second), "moor_leader 0");

    apply_app(
        &client,
        &apps.name,
        "small",
        spec(&url, "small", &dest.name, json!({"prune": true})),
    )
    .await;
    let head = repo.head();
    wait_app(&client, &apps.name, "small", "Synced", 60, |a| {
        synced_at(a, &head)
    })
    .await;
    assert!(
        !reconciles(&first).is_empty(),
        "the leader counted no reconcile"
    );
    assert_eq!(
        reconciles(&second),
        Vec::<String>::new(),
        "the follower reconciled"
    );
    assert!(
        second
            .log_text()
            .contains("is the leader; this replica follows"),
        "{}",
        second.log_text()
    );

    // A 500-object sync, and the leader killed in its middle.
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
    let lp = ListParams::default().labels(&format!("moor.dev/app={}_big", apps.name));
    // Polled tightly (not every 200 ms as `eventually` does) so the kill lands mid-sync.
    let deadline = Instant::now() + Duration::from_secs(60);
    while cms.list(&lp).await.map_or(0, |l| l.items.len()) < 20 {
        assert!(
            Instant::now() < deadline,
            "the sync did not start within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    let killed = Instant::now();
    let applied = cms.list(&lp).await.unwrap().items.len();
    println!("killed the leader with {applied} of 500 objects applied");
    assert!(
        applied < 500,
        "the sync had finished before the kill ({applied} of 500 applied): nothing was cut short"
    );

    // The follower takes over within lease duration + retry period (4 s + 1 s), bounded at 15 s.
    wait_holder(&client, &system.name, &second, 15).await;
    let took = killed.elapsed();
    println!("the follower took the Lease {took:?} after the kill");
    assert!(took < Duration::from_secs(15), "took over after {took:?}");
    assert_eq!(leader_gauge(&second), "moor_leader 1");
    assert!(second.log_text().contains("acquired the leader Lease"));
    wait_app(
        &client,
        &apps.name,
        "big",
        "Synced after the takeover",
        120,
        |a| synced_at(a, &head),
    )
    .await;

    // The inventory is exact: every object in it exists, every object of the app is in it.
    let live: BTreeSet<String> = cms
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    assert_eq!(live.len(), 500, "objects of the app after the takeover");
    let inventory = moor_apply::inventory::load(&client, &format!("{}_big", apps.name))
        .await
        .expect("the app's inventory");
    let listed: BTreeSet<String> = inventory
        .iter()
        .filter(|e| e.kind == "ConfigMap" && e.namespace.as_deref() == Some(&dest.name))
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(inventory.len(), 500, "inventory entries: {inventory:?}");
    assert_eq!(listed, live, "inventory is not exactly the app's objects");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_sent_to_the_follower_makes_the_leader_sync_the_pushed_commit() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "lew").await;
    let system = TestNamespace::create(&client, "lew-sys").await;
    let dest = TestNamespace::create(&client, "lew-dest").await;
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/cm.yaml", &cm("cm", "1"));
    let server = GitServer::start();
    let repo = server.create_repo("r", src.path());
    let url = server.file_url("r");

    let leader = replica(&apps.name, &system.name);
    wait_holder(&client, &system.name, &leader, 30).await;
    let follower = replica(&apps.name, &system.name);
    apply_app(
        &client,
        &apps.name,
        "app",
        spec(&url, "app", &dest.name, json!({"prune": true})),
    )
    .await;
    let head = repo.head();
    wait_app(&client, &apps.name, "app", "Synced", 60, |a| {
        synced_at(a, &head)
    })
    .await;

    let work = repo.clone_work();
    work.write("app/cm.yaml", cm("cm", "2"));
    let pushed = work.commit_and_push("v2");
    // The poll interval is 10 minutes: only the webhook can bring the new commit in time.
    assert_eq!(follower.push(&url, "main", true), 202);
    wait_app(
        &client,
        &apps.name,
        "app",
        "Synced at the pushed commit",
        30,
        |a| synced_at(a, &pushed),
    )
    .await;
    assert!(
        follower.log_text().contains("for refresh by the leader"),
        "{}",
        follower.log_text()
    );
    assert_eq!(reconciles(&follower), Vec::<String>::new());
    let h = holder(&client, &system.name).await.expect("a holder");
    assert!(is_holder(&h, &leader), "the Lease moved to {h}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_that_finds_another_holder_exits_at_once() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "lel").await;
    let system = TestNamespace::create(&client, "lel-sys").await;
    let ctl = replica(&apps.name, &system.name);
    wait_holder(&client, &system.name, &ctl, 30).await;
    // Another replica's write, as after a partition: the Lease names someone else.
    let api: Api<Lease> = Api::namespaced(client.clone(), &system.name);
    // Retried: the leader's own renewal may win a round (409 on this update).
    eventually(
        "the Lease to name an intruder",
        Duration::from_secs(10),
        || async {
            let mut lease = api.get("moor-controller").await.ok()?;
            lease.spec.as_mut()?.holder_identity = Some("intruder".into());
            api.replace("moor-controller", &Default::default(), &lease)
                .await
                .ok()
                .map(|_| ())
        },
    )
    .await;
    // Gone (or a zombie not yet waited for) within the retry period and some slack.
    let pid = ctl.pid();
    eventually(
        "the replica that lost the Lease to exit",
        Duration::from_secs(10),
        || async {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            (status.is_empty() || status.contains("zombie")).then_some(())
        },
    )
    .await;
    let log = ctl.log_text();
    assert!(
        log.contains("lost the leader Lease (intruder holds it now)"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_leader_releases_the_lease_and_the_follower_takes_over_at_once() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "ler").await;
    let system = TestNamespace::create(&client, "ler-sys").await;
    // The production lease duration (15 s): a takeover well before it proves the release.
    let start = || {
        Controller::start(
            &apps.name,
            &[
                "--namespace",
                &system.name,
                "--leader-elect",
                "--leader-election-lease-duration",
                "15s",
                "--leader-election-renew-deadline",
                "10s",
                "--leader-election-retry-period",
                "1s",
            ],
        )
    };
    let first = start();
    wait_holder(&client, &system.name, &first, 30).await;
    let second = start();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(leader_gauge(&second), "moor_leader 0");

    let stopped = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &first.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_holder(&client, &system.name, &second, 15).await;
    let took = stopped.elapsed();
    println!("the follower took the released Lease {took:?} after SIGTERM");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: the Lease was not released (it expires only after 15 s)"
    );
    let log = first.log_text();
    assert!(
        log.contains("SIGTERM: released the leader Lease; exiting"),
        "{log}"
    );
    eventually("the new leader's gauge", Duration::from_secs(5), || async {
        (leader_gauge(&second) == "moor_leader 1").then_some(())
    })
    .await;
}
