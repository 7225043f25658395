//! The router over a real socket, with a bare HTTP/1.1 client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use moor_server::{Metrics, PushEvent, ServerState, WebhookConfig, serve};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const SECRET: &str = "webhook-secret";
const GITHUB_PUSH: &str = include_str!("fixtures/github_push.json");
const GITLAB_PUSH: &str = include_str!("fixtures/gitlab_push.json");

struct Server {
    addr: std::net::SocketAddr,
    ready: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    pushes: UnboundedReceiver<PushEvent>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = unbounded_channel();
    let state = ServerState {
        metrics: Arc::new(Metrics::new()),
        ready: Arc::new(AtomicBool::new(false)),
        webhook: WebhookConfig {
            github_secret: Some(SECRET.into()),
            gitlab_token: Some("gl-token".into()),
            generic_token: Some("generic-token".into()),
        },
        pushes: tx,
    };
    let (ready, metrics) = (state.ready.clone(), state.metrics.clone());
    tokio::spawn(async move { serve(listener, state).await.unwrap() });
    Server {
        addr,
        ready,
        metrics,
        pushes: rx,
    }
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

/// One request per connection (`Connection: close`), so the reply ends at EOF.
async fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.addr,
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("server answered in time")
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("complete response");
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        headers: headers.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn assert_no_event(server: &mut Server) {
    assert!(server.pushes.try_recv().is_err(), "no event may be sent");
}

#[tokio::test]
async fn signed_github_push_sends_one_event() {
    let mut server = start().await;
    let sig = sign(SECRET, GITHUB_PUSH);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-GitHub-Event", "push"),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    let reply = request(&server, "POST", "/api/webhook", &headers, GITHUB_PUSH).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&reply.body).unwrap(),
        serde_json::json!({"refreshed": true})
    );
    let event = server.pushes.try_recv().expect("one event");
    assert_eq!(event.branch.as_deref(), Some("main"));
    assert!(
        event
            .repo_urls
            .contains(&"https://github.com/acme/deploy.git".to_string())
    );
    assert_no_event(&mut server);
}

#[tokio::test]
async fn wrong_signature_is_401_without_event() {
    let mut server = start().await;
    let sig = sign("not-the-secret", GITHUB_PUSH);
    for headers in [
        vec![
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", sig.as_str()),
        ],
        vec![("X-GitHub-Event", "push")],
    ] {
        let reply = request(&server, "POST", "/api/webhook", &headers, GITHUB_PUSH).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.body.lines().count(), 1, "{:?}", reply.body);
        assert!(!reply.body.contains(SECRET));
    }
    // Signed for a different body.
    let sig = sign(SECRET, "{}");
    let headers = [
        ("X-GitHub-Event", "push"),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    let reply = request(
        &server,
        "POST",
        "/api/webhook/github",
        &headers,
        GITHUB_PUSH,
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body.trim(), "signature does not match the payload");
    assert_no_event(&mut server);
}

#[tokio::test]
async fn github_ping_is_200_without_event() {
    let mut server = start().await;
    let body = r#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
    let sig = sign(SECRET, body);
    let headers = [
        ("X-GitHub-Event", "ping"),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    let reply = request(&server, "POST", "/api/webhook", &headers, body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_no_event(&mut server);
}

#[tokio::test]
async fn gitlab_push_with_token() {
    let mut server = start().await;
    let wrong = [("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "nope")];
    let reply = request(&server, "POST", "/api/webhook", &wrong, GITLAB_PUSH).await;
    assert_eq!(
        (reply.status, reply.body.trim()),
        (401, "token does not match")
    );
    assert_no_event(&mut server);

    let right = [
        ("X-Gitlab-Event", "Push Hook"),
        ("X-Gitlab-Token", "gl-token"),
    ];
    let reply = request(&server, "POST", "/api/webhook", &right, GITLAB_PUSH).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let event = server.pushes.try_recv().unwrap();
    assert_eq!(event.branch.as_deref(), Some("release-1.x"));
}

#[tokio::test]
async fn generic_push_and_malformed_json() {
    let mut server = start().await;
    let auth = [("Authorization", "Bearer generic-token")];
    let reply = request(&server, "POST", "/api/webhook", &auth, "{oops").await;
    assert_eq!(reply.status, 400);
    assert_no_event(&mut server);

    let reply = request(
        &server,
        "POST",
        "/api/webhook",
        &[],
        r#"{"repoURL":"https://x/y.git"}"#,
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_no_event(&mut server);

    let body = r#"{"repoURL": "https://git.example.com/deploy.git", "revision": "refs/tags/v3"}"#;
    let reply = request(&server, "POST", "/api/webhook/generic", &auth, body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let event = server.pushes.try_recv().unwrap();
    assert_eq!(event.tag.as_deref(), Some("v3"));
}

#[tokio::test]
async fn kind_path_overrides_detection() {
    let mut server = start().await;
    // A GitLab-looking request sent to the GitHub path must carry a GitHub signature.
    let headers = [
        ("X-Gitlab-Event", "Push Hook"),
        ("X-Gitlab-Token", "gl-token"),
    ];
    let reply = request(
        &server,
        "POST",
        "/api/webhook/github",
        &headers,
        GITLAB_PUSH,
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_no_event(&mut server);
}

#[tokio::test]
async fn closed_channel_is_503() {
    let server = start().await;
    let Server {
        addr,
        ready,
        metrics,
        pushes,
    } = server;
    drop(pushes);
    let server = Server {
        addr,
        ready,
        metrics,
        pushes: unbounded_channel().1,
    };
    let auth = [("X-Moor-Token", "generic-token")];
    let reply = request(&server, "POST", "/api/webhook", &auth, r#"{"repoURL":"r"}"#).await;
    assert_eq!(reply.status, 503);
}

#[tokio::test]
async fn metrics_endpoint() {
    let server = start().await;
    server
        .metrics
        .set_app_info("web", "apps", "Synced", "Healthy");
    server.metrics.inc_sync("Succeeded");
    server.metrics.observe_reconcile("web", "apps", 0.2);
    server
        .metrics
        .observe_git_fetch("https://github.com/acme/deploy", 0.7);
    server.metrics.inc_api_request("in-cluster", "GET", 200);
    let reply = request(&server, "GET", "/metrics", &[], "").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .headers
            .contains("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{}",
        reply.headers
    );
    for name in [
        "moor_app_info{",
        "moor_app_reconcile_duration_seconds_bucket{",
        "moor_app_sync_total{",
        "moor_git_fetch_duration_seconds_count{",
        "moor_cluster_api_requests_total{",
    ] {
        assert!(
            reply.body.contains(name),
            "missing {name} in\n{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn probes() {
    let server = start().await;
    let reply = request(&server, "GET", "/healthz", &[], "").await;
    assert_eq!((reply.status, reply.body.trim()), (200, "ok"));

    assert_eq!(
        request(&server, "GET", "/readyz", &[], "").await.status,
        503
    );
    server.ready.store(true, Ordering::Release);
    assert_eq!(
        request(&server, "GET", "/readyz", &[], "").await.status,
        200
    );
    server.ready.store(false, Ordering::Release);
    assert_eq!(
        request(&server, "GET", "/readyz", &[], "").await.status,
        503
    );
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let server = start().await;
    assert_eq!(request(&server, "GET", "/nope", &[], "").await.status, 404);
    assert_eq!(
        request(&server, "GET", "/api/webhook", &[], "")
            .await
            .status,
        405
    );
}
