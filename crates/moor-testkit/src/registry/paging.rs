//! A proxy paginating tag lists in front of a test registry.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Registry;

/// A proxy in front of a registry that paginates `GET /v2/<name>/tags/list` as the distribution
/// spec says (`n`, `last`, `Link: <...>; rel="next"`): Debian's distribution 2.8 ignores `n` on
/// tag lists (tag pagination came with distribution 3). Everything else, authorization and
/// challenges included, goes to the real registry unchanged; the tags are the registry's.
pub struct PagingProxy {
    /// Port on 127.0.0.1.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Tag list requests answered, pages included.
    pub tag_requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl PagingProxy {
    /// A proxy in front of `registry`, on a free port.
    pub fn start(registry: &Registry) -> PagingProxy {
        let upstream = registry.port;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let tag_requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, n) = (stop.clone(), tag_requests.clone());
        let thread = std::thread::Builder::new()
            .name("moor-paging-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                let http = reqwest::Client::new();
                for conn in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(conn) = conn {
                        rt.block_on(serve_paged(conn, upstream, &http, &n));
                    }
                }
            })
            .expect("spawn proxy");
        PagingProxy {
            port,
            stop,
            thread: Some(thread),
            tag_requests,
        }
    }

    /// `repo` as an image reference through the proxy.
    pub fn image(&self, repo: &str) -> String {
        format!("127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for PagingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The request line and headers (names lower-cased) of one HTTP/1.1 request (no body: GETs
/// only); the token server reads its requests with it too.
pub(super) fn read_head(conn: &mut TcpStream) -> (String, Vec<(String, String)>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (first, headers)
}

async fn serve_paged(
    mut conn: TcpStream,
    upstream: u16,
    http: &reqwest::Client,
    tag_requests: &std::sync::atomic::AtomicUsize,
) {
    let (first, headers) = read_head(&mut conn);
    let mut parts = first.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let url = reqwest::Url::parse(&format!("http://127.0.0.1:{upstream}{target}")).expect("url");
    let paged = method == "GET" && url.path().ends_with("/tags/list");
    let mut up = url.clone();
    if paged {
        tag_requests.fetch_add(1, Ordering::SeqCst);
        up.set_query(None);
    }
    let mut req = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
        up,
    );
    if let Some((_, a)) = headers.iter().find(|(k, _)| k == "authorization") {
        req = req.header("Authorization", a);
    }
    let (status, mut out_headers, mut body) = match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            let keep: Vec<(String, String)> = ["content-type", "www-authenticate"]
                .iter()
                .filter_map(|k| {
                    resp.headers()
                        .get(*k)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| (k.to_string(), v.to_string()))
                })
                .collect();
            (
                status,
                keep,
                resp.bytes().await.unwrap_or_default().to_vec(),
            )
        }
        Err(_) => (reqwest::StatusCode::BAD_GATEWAY, vec![], vec![]),
    };
    if paged && status.is_success() {
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        let v: serde_json::Value = serde_json::from_slice(&body).expect("tag list json");
        let mut tags: Vec<String> = v["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        if let Some(last) = q.get("last") {
            tags.retain(|t| t > last);
        }
        if let Some(n) = q.get("n").and_then(|n| n.parse::<usize>().ok())
            && tags.len() > n
        {
            tags.truncate(n);
            let next = format!(
                "<{}?n={n}&last={}>; rel=\"next\"",
                url.path(),
                tags.last().expect("a page")
            );
            out_headers.push(("link".into(), next));
        }
        body = serde_json::to_vec(&serde_json::json!({"name": v["name"], "tags": tags}))
            .expect("json");
    }
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    for (k, v) in out_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body);
}
