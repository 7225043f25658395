//! Webhook bounds over a real socket: body size (declared and undeclared), requests in flight,
//! time per request, and the split of webhook and metrics routes.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use moor_server::{
    Metrics, ServerState, WebhookConfig, WebhookLimits, metrics_router, router_with, serve_router,
    webhook_router,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::unbounded_channel;

const LIMIT: usize = 64 * 1024;

fn state() -> ServerState {
    let (tx, rx) = unbounded_channel();
    // The receiver lives as long as the test process, so pushes are accepted.
    std::mem::forget(rx);
    ServerState {
        metrics: Arc::new(Metrics::new()),
        ready: Arc::new(AtomicBool::new(true)),
        webhook: WebhookConfig {
            github_secret: Some("secret".into()),
            gitlab_token: None,
            generic_token: Some("token".into()),
        },
        pushes: tx,
    }
}

fn limits() -> WebhookLimits {
    WebhookLimits {
        max_body_bytes: LIMIT,
        max_in_flight: 2,
        timeout: Duration::from_secs(2),
    }
}

async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { serve_router(listener, app).await.unwrap() });
    addr
}

/// Writes `head` (and optionally a body), then reads the status of the answer.
async fn status_of(stream: &mut TcpStream) -> u16 {
    let mut buf = vec![0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut buf))
        .await
        .expect("answered in time")
        .expect("a status line");
    std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap()
}

fn post_head(path: &str, framing: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\n\
         Content-Type: application/json\r\n{framing}\r\n\r\n"
    )
}

#[tokio::test]
async fn declared_oversized_body_is_refused_before_it_is_sent() {
    let addr = serve(router_with(state(), limits())).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    // Only the head: the answer may not wait for (or read) the body.
    let head = post_head(
        "/api/webhook/github",
        &format!("Content-Length: {}", LIMIT + 1),
    );
    s.write_all(head.as_bytes()).await.unwrap();
    assert_eq!(status_of(&mut s).await, 413);
}

#[tokio::test]
async fn undeclared_oversized_body_is_cut_off_while_read() {
    let addr = serve(router_with(state(), limits())).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(post_head("/api/webhook", "Transfer-Encoding: chunked").as_bytes())
        .await
        .unwrap();
    let chunk = vec![b'x'; 8 * 1024];
    let mut sent = 0;
    // Stops on the server's answer; sends at most twice the limit.
    while sent <= 2 * LIMIT {
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if s.write_all(&framed).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert_eq!(status_of(&mut s).await, 413);
}

#[tokio::test]
async fn body_within_the_limit_reaches_verification() {
    let addr = serve(router_with(state(), limits())).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = "{}";
    let head = post_head(
        "/api/webhook/github",
        &format!("Content-Length: {}", body.len()),
    );
    s.write_all(format!("{head}{body}").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        status_of(&mut s).await,
        401,
        "a bad signature, not a size problem"
    );
}

#[tokio::test]
async fn requests_beyond_the_in_flight_bound_are_shed_at_once() {
    let addr = serve(router_with(state(), limits())).await;
    // Two requests whose bodies never come hold both slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(post_head("/api/webhook", "Content-Length: 100").as_bytes())
            .await
            .unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(post_head("/api/webhook", "Content-Length: 2").as_bytes())
        .await
        .unwrap();
    third.write_all(b"{}").await.unwrap();
    assert_eq!(status_of(&mut third).await, 503);
    assert!(started.elapsed() < Duration::from_secs(1), "shed at once");

    // The stalled ones run out of time, which frees their slots.
    for mut s in held {
        assert_eq!(status_of(&mut s).await, 408);
    }
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    fourth
        .write_all(
            format!(
                "{}{{}}",
                post_head("/api/webhook/github", "Content-Length: 2")
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(status_of(&mut fourth).await, 401);
}

async fn get_status(addr: std::net::SocketAddr, method: &str, path: &str) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
            .as_bytes(),
    )
    .await
    .unwrap();
    status_of(&mut s).await
}

#[tokio::test]
async fn split_routers_serve_webhooks_and_metrics_apart() {
    let webhooks = serve(webhook_router(state(), limits())).await;
    let metrics = serve(metrics_router(state())).await;
    assert_eq!(get_status(webhooks, "GET", "/metrics").await, 404);
    assert_eq!(
        get_status(webhooks, "POST", "/api/webhook/github").await,
        401
    );
    assert_eq!(get_status(webhooks, "GET", "/healthz").await, 200);
    assert_eq!(get_status(metrics, "GET", "/metrics").await, 200);
    assert_eq!(get_status(metrics, "POST", "/api/webhook").await, 404);
    assert_eq!(
        get_status(metrics, "POST", "/api/webhook/github").await,
        404
    );
    assert_eq!(get_status(metrics, "GET", "/readyz").await, 200);
}
