//! Fairness (issue 15): apps that fail every reconcile, some slowly (a renderer running into its
//! timeout), while webhooks for their repository keep arriving, do not delay the healthy apps:
//! with 50 failing and 500 healthy apps on one controller, drift on healthy apps is healed
//! within a second (p50; each drift within 5 s on a loaded machine).

mod common;

use std::time::{Duration, Instant};

use common::apps::{apply_app, spec};
use common::controller::Controller;
use common::write;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams};
use moor_testkit::{GitServer, TestNamespace, client, eventually};
use serde_json::json;

const HEALTHY: usize = 500;
const FAILING: usize = 50;

fn cm(i: usize) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:03}\ndata:\n  v: \"1\"\n")
}

/// One generic webhook push (as `Controller::push`, from another thread).
fn push(port: u16, token: &str, repo_url: &str) {
    use std::io::{Read, Write};
    let body = format!(r#"{{"repoURL": "{repo_url}", "revision": "main"}}"#);
    let req = format!(
        "POST /api/webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = s.write_all(req.as_bytes());
        let _ = s.read_to_end(&mut Vec::new());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_and_slow_apps_do_not_delay_drift_healing_of_healthy_ones() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "fair").await;
    let dest = TestNamespace::create(&client, "fair-dest").await;
    let good = tempfile::tempdir().unwrap();
    for i in 0..HEALTHY {
        write(good.path(), &format!("app-{i:03}/cm.yaml"), &cm(i));
    }
    let bad = tempfile::tempdir().unwrap();
    // Fails at once: a kustomization naming a file that is not there.
    write(
        bad.path(),
        "broken/kustomization.yaml",
        "resources:\n  - missing.yaml\n",
    );
    // Fails slowly: Jsonnet that computes (in little memory) until the render timeout kills it.
    write(
        bad.path(),
        "slow/main.jsonnet",
        "local inner(a) = std.foldl(function(b, j) b + 1, std.range(1, 1000), a);\n\
         std.foldl(function(a, i) inner(a), std.range(1, 100000), 0)\n",
    );
    let server = GitServer::start();
    server.create_repo("good", good.path());
    server.create_repo("bad", bad.path());
    let (good_url, bad_url) = (server.file_url("good"), server.file_url("bad"));
    let ctl = Controller::start(&apps.name, &["--render-timeout", "3s"]);

    for i in 0..HEALTHY {
        apply_app(
            &client,
            &apps.name,
            &format!("ok-{i:03}"),
            spec(
                &good_url,
                &format!("app-{i:03}"),
                &dest.name,
                json!({"selfHeal": true}),
            ),
        )
        .await;
    }
    for i in 0..FAILING {
        // One in five renders slowly; each its own path, so no render is shared.
        let path = if i % 5 == 0 { "slow" } else { "broken" };
        let mut s = spec(&bad_url, path, &dest.name, json!({"selfHeal": true}));
        s["source"]["directory"] =
            json!({"include": format!("*{i}*,main.jsonnet,kustomization.yaml")});
        apply_app(&client, &apps.name, &format!("bad-{i:02}"), s).await;
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &dest.name);
    eventually(
        "every healthy app's ConfigMap",
        Duration::from_secs(300),
        || async {
            let all = cms.list(&ListParams::default()).await.ok()?.items;
            let ours = all
                .iter()
                .filter(|c| {
                    c.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("cm-"))
                })
                .count();
            (ours == HEALTHY).then_some(())
        },
    )
    .await;
    // And every healthy app reports Synced, the failing ones their error: the start-up backlog
    // of 550 first reconciles is over before the drifts are timed.
    let app_api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &apps.name,
        &common::apps::app_ar("moor.dev"),
    );
    eventually(
        "every app reconciled once",
        Duration::from_secs(300),
        || async {
            let all = app_api.list(&ListParams::default()).await.ok()?.items;
            let synced = all
                .iter()
                .filter(|a| a.data["status"]["sync"]["status"] == "Synced")
                .count();
            let failed = all
                .iter()
                .filter(|a| {
                    a.data["status"]["conditions"]
                        .as_array()
                        .is_some_and(|c| !c.is_empty())
                })
                .count();
            (synced == HEALTHY && failed >= FAILING).then_some(())
        },
    )
    .await;

    // A webhook storm for the failing apps' repository while drift happens.
    let storm = {
        let (port, token, bad_url) = (ctl.port, ctl.token.clone(), bad_url.clone());
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(20);
            let mut sent = 0;
            while Instant::now() < until {
                push(port, &token, &bad_url);
                sent += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            sent
        })
    };
    let mut took = Vec::new();
    for i in (0..HEALTHY).step_by(25) {
        let name = format!("cm-{i:03}");
        cms.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"v": "drifted"}})),
        )
        .await
        .unwrap();
        let start = Instant::now();
        eventually(
            &format!("{name} healed"),
            Duration::from_secs(30),
            || async {
                let c = cms.get(&name).await.ok()?;
                (c.data?.get("v")? == "1").then_some(())
            },
        )
        .await;
        took.push(start.elapsed());
        if start.elapsed() > Duration::from_secs(1) {
            println!("{name} took {:?}", start.elapsed());
        }
    }
    let sent = storm.join().unwrap();
    took.sort();
    let p50 = took[took.len() / 2];
    let max = *took.last().unwrap();
    println!(
        "drift healed with {FAILING} failing apps and {sent} webhook pushes: p50 {p50:?}, max {max:?} over {} drifts",
        took.len()
    );
    if max >= Duration::from_secs(5) {
        std::fs::write("/tmp/moor-fairness-controller.log", ctl.log_text()).ok();
    }
    // The issue's figure is a second; p50 is held to it, and every drift to a bound no
    // starvation could meet (before the trigger queue and push folding, one drift in each run
    // waited for the whole 20 s storm), with room for a loaded 2-core CI machine.
    assert!(p50 < Duration::from_secs(1), "p50 {p50:?}: {took:?}");
    assert!(
        max < Duration::from_secs(5),
        "a drift took {max:?} to heal: {took:?}"
    );
}
