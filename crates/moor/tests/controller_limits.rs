//! End to end: a real `moor controller` cannot be exhausted over HTTP or by its poll settings.
//! Oversized unsigned webhooks are refused with bounded memory, metrics and webhooks can listen
//! apart, and a poll interval below the minimum is refused by the CRD schema and by the flag.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::apps::app_ar;
use common::controller::{Controller, ensure_crds, free_port};
use kube::api::{Api, DynamicObject, PostParams};
use moor_testkit::{TestNamespace, client};
use serde_json::json;

/// Resident memory of a process, from /proc/PID/status (VmRSS, in KiB).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS line")
}

/// Sends one request with `body_len` bytes of body (declared, or chunked without a length) and
/// returns the status; the body is written from another thread while the answer is read, as a
/// client that does not wait for the server would. 0 when no status line arrived.
fn send_oversized(port: u16, body_len: usize, chunked: bool) -> u16 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {body_len}")
    };
    let head = format!(
        "POST /api/webhook/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n\
         X-Hub-Signature-256: sha256=00\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    );
    let mut writer = stream.try_clone().unwrap();
    let feeder = std::thread::spawn(move || {
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < body_len {
            let n = chunk.len().min(body_len - sent);
            let ok = if chunked {
                writer
                    .write_all(format!("{n:x}\r\n").as_bytes())
                    .and_then(|_| writer.write_all(&chunk[..n]))
                    .and_then(|_| writer.write_all(b"\r\n"))
            } else {
                writer.write_all(&chunk[..n])
            };
            if ok.is_err() {
                return;
            }
            sent += n;
        }
        if chunked {
            let _ = writer.write_all(b"0\r\n\r\n");
        }
    });
    let mut head = [0u8; 12];
    let status = match stream.read_exact(&mut head) {
        Ok(()) => std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    };
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = feeder.join();
    status
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_oversized_unsigned_webhooks_are_refused_with_bounded_memory() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "wh-limits").await;
    let ctl = Controller::start(&apps.name, &["--github-secret", "not-this-one"]);
    // Settle: the first requests of a fresh process allocate its pools.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(ctl.pid());

    // Sample the RSS while the flood runs, keeping the peak.
    let peak = Arc::new(AtomicU64::new(idle));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running, pid) = (peak.clone(), running.clone(), ctl.pid());
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let port = ctl.port;
    let start = Arc::new(Barrier::new(50));
    let senders: Vec<_> = (0..50)
        .map(|i| {
            let start = start.clone();
            // 16 MiB each, half declared, half chunked: 800 MiB if anything buffered them.
            std::thread::spawn(move || {
                start.wait();
                send_oversized(port, 16 << 20, i % 2 == 1)
            })
        })
        .collect();
    let statuses: Vec<u16> = senders.into_iter().map(|t| t.join().unwrap()).collect();
    running.store(false, Ordering::Relaxed);
    sampler.join().unwrap();

    let grew_mib = (peak.load(Ordering::Relaxed).saturating_sub(idle)) / 1024;
    println!(
        "idle RSS {} MiB, peak grew by {grew_mib} MiB; statuses {statuses:?}",
        idle / 1024
    );
    assert!(
        grew_mib < 50,
        "RSS grew by {grew_mib} MiB under 50 oversized webhooks (idle {} MiB)",
        idle / 1024
    );
    for s in &statuses {
        assert!(
            *s == 413 || *s == 503,
            "every oversized request gets 413 (or 503 beyond the in-flight bound): {statuses:?}"
        );
    }
    assert!(
        statuses.iter().filter(|s| **s == 413).count() >= 16,
        "at least the in-flight bound of requests got 413: {statuses:?}"
    );
    // Still serving: a signed-in generic push is accepted afterwards.
    assert_eq!(ctl.push("https://example.com/none.git", "main", true), 202);
}

/// One request to 127.0.0.1:`port`; the status, or 0 when nothing answered.
fn request(port: u16, method: &str, path: &str, body: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_webhooks_listen_on_separate_addresses() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "split-ports").await;
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let ctl = Controller::start(&apps.name, &["--metrics-addr", &metrics_addr]);

    let (status, text) = ctl.get("/metrics").expect("webhook port answers");
    assert_eq!(status, 404, "the webhook port serves no metrics: {text}");
    assert_eq!(ctl.push("https://example.com/none.git", "main", true), 202);

    assert_eq!(request(metrics_port, "GET", "/metrics", ""), 200);
    assert_eq!(request(metrics_port, "GET", "/readyz", ""), 200);
    let push = r#"{"repoURL": "https://example.com/none.git", "revision": "main"}"#;
    for path in ["/api/webhook", "/api/webhook/generic"] {
        assert_eq!(
            request(metrics_port, "POST", path, push),
            404,
            "the metrics port accepts no webhooks ({path})"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn application_with_a_poll_interval_below_ten_seconds_is_refused_by_the_api_server() {
    let client = client().await;
    ensure_crds();
    let apps = TestNamespace::create(&client, "poll-min").await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &apps.name, &app_ar("moor.dev"));
    let app = |name: &str, every: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": apps.name},
            "spec": {
                "source": {"repoURL": "https://example.com/r.git", "path": "."},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
                "pollInterval": every
            }
        }))
        .unwrap()
    };
    let err = api
        .create(&PostParams::default(), &app("fast", "1s"))
        .await
        .expect_err("pollInterval 1s is refused");
    let msg = err.to_string();
    assert!(
        msg.contains("spec.pollInterval") && msg.contains("at least 10s"),
        "the API server names the field and the minimum: {msg}"
    );
    api.create(&PostParams::default(), &app("ok", "10s"))
        .await
        .expect("pollInterval 10s is accepted");
    api.create(&PostParams::default(), &app("slow", "1m30s"))
        .await
        .expect("pollInterval 1m30s is accepted");
}

#[test]
fn controller_refuses_a_poll_interval_flag_below_the_minimum() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_moor"))
        .args(["controller", "--poll-interval", "1s"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .expect("moor runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("poll interval 1s is below the minimum of 10s"),
        "{stderr}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_moor"))
        .args(["controller", "--min-poll-interval", "0s"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .expect("moor runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--min-poll-interval 0s is below 1s"),
        "{stderr}"
    );
}
