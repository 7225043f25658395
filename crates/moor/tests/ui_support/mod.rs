//! Helpers of the web UI's browser tests (ui_browser.rs): logins with ServiceAccount tokens,
//! raw HTTP to the UI, reading the apps table, `moor ui` as a process, screenshots. Shared by
//! ui_api.rs and ui_objects.rs too, which use only some of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::Client;
use moor_testkit::browser::Browser;
use serde_json::{Value, json};

use crate::common::tenancy::{apply, kubectl};

/// Generous waits: the machine is small and shared. Only the drift check has a tight bound.
pub const LONG: Duration = Duration::from_secs(60);
pub const SHORT: Duration = Duration::from_secs(20);

/// Where screenshots go (MOOR_UI_SCREENSHOTS, relative to the repository root), if asked for.
pub fn screenshot_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("MOOR_UI_SCREENSHOTS")?);
    Some(if dir.is_absolute() {
        dir
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir)
    })
}

pub async fn screenshot(b: &Browser, name: &str) {
    if let Some(dir) = screenshot_dir() {
        b.screenshot(&dir.join(name)).await;
    }
}

/// Applications RBAC for a ServiceAccount `sa` in `ns`: a Role of `verbs` on moor.dev and
/// argoproj.io applications (none: no Role at all), and a token for it.
pub async fn token_for(client: &Client, ns: &str, sa: &str, verbs: &[&str]) -> String {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": sa, "namespace": ns}}),
    )
    .await;
    if !verbs.is_empty() {
        apply(
            client,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": sa, "namespace": ns},
                   "rules": [{"apiGroups": ["moor.dev", "argoproj.io"],
                              "resources": ["applications"], "verbs": verbs}]}),
        )
        .await;
        apply(
            client,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": sa, "namespace": ns},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
                   "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}),
        )
        .await;
    }
    kubectl(&["create", "token", sa, "-n", ns, "--duration", "2h"], None)
        .trim()
        .to_string()
}

/// One HTTP/1.1 exchange with the UI: status, headers (lowercased names) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The body as JSON, or a panic naming the status and body.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The first header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        let found = self.headers.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name` set by this reply.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .find_map(|(_, v)| v.split(';').next()?.strip_prefix(&format!("{name}=")))
            .map(String::from)
    }
}

/// A raw HTTP/1.1 request to the UI on loopback at `port`, with exactly `headers` besides Host,
/// Connection and Content-Length; a chunked body is decoded.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("UI server accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = vec![];
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let raw = buf.get(split + 4..).unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP status in reply {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The body of a chunked response.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&raw[..eol]).to_string();
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        let data = &raw[eol + 2..];
        if n == 0 || data.len() < n {
            break;
        }
        out.extend_from_slice(&data[..n]);
        raw = data.get(n + 2..).unwrap_or_default();
    }
    out
}

/// A JSON request to the UI on loopback: (status, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    let r = request(port, method, path, &all, body);
    (r.status, r.body)
}

/// Waits until the UI at `port` answers.
pub fn wait_ui(port: u16, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "UI not listening on 127.0.0.1:{port} after 60 s; log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// WebDriver's codes of the keys the keyboard checks press.
pub const ARROW_DOWN: &str = "\u{E015}";
pub const ENTER: &str = "\u{E007}";

/// `data-KEY` of the element matching `css` that holds the focus (or is its ancestor).
pub async fn focused(b: &Browser, css: &str, key: &str) -> Value {
    b.execute(
        "const e = document.activeElement && document.activeElement.closest(arguments[0]); \
         return e ? (e.dataset[arguments[1]] || null) : null;",
        vec![json!(css), json!(key)],
    )
    .await
}

/// Logs in through the login page with `token` (after dropping any earlier session).
pub async fn login(b: &Browser, base: &str, token: &str) {
    b.goto(&format!("{base}#/login")).await;
    b.clear_cookies().await;
    b.goto(&format!("{base}#/login")).await;
    b.refresh().await;
    let field = b.wait_for("[data-testid=login-token]", LONG).await;
    b.type_text(&field, token).await;
    b.click_on("[data-testid=login-submit]", SHORT).await;
    let deadline = Instant::now() + LONG;
    while b.cookie("moor_session").await.is_none() {
        assert!(
            Instant::now() < deadline,
            "the login did not set the session cookie in {LONG:?}{}",
            b.context().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn row(ns: &str, name: &str) -> String {
    format!("[data-testid=app-row][data-app=\"{ns}/{name}\"]")
}

/// The text of the `cell` (app-sync, app-health) of the row of `ns/name`, read in one script.
pub async fn cell(b: &Browser, ns: &str, name: &str, cell: &str) -> String {
    b.execute(
        "const r = document.querySelector(arguments[0]); \
         const c = r && r.querySelector('[data-testid=' + arguments[1] + ']'); \
         return c ? c.innerText : '';",
        vec![json!(row(ns, name)), json!(cell)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

pub async fn wait_cell(b: &Browser, ns: &str, name: &str, which: &str, want: &str) {
    let deadline = Instant::now() + LONG;
    loop {
        let got = cell(b, ns, name, which).await;
        if got.contains(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the {which} cell of app {ns}/{name} says {got:?}, not {want:?}, after {LONG:?}; rows: {:?}",
            b.texts("[data-testid=app-row]").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A `moor ui --port 0` process, killed on drop.
pub struct LocalUi {
    child: Child,
    pub url: String,
    pub port: u16,
}

impl LocalUi {
    pub fn start() -> LocalUi {
        moor_testkit::kubeconfig_path();
        let mut child = Command::new(env!("CARGO_BIN_EXE_moor"))
            .args(["ui", "--port", "0"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("moor ui starts");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut ui = LocalUi {
            child,
            url: String::new(),
            port: 0,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("moor ui prints its URL within 60 s");
        let url = line
            .strip_prefix("moor ui: ")
            .unwrap_or_else(|| panic!("moor ui's first line is not `moor ui: URL`: {line:?}"))
            .trim()
            .to_string();
        ui.port = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url:?}"));
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "moor ui binds loopback: {url}"
        );
        ui.url = url;
        wait_ui(ui.port, String::new);
        ui
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// GET `path`: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let r = request(self.port, "GET", path, &[], "");
        (r.status, r.body)
    }

    /// GET `path`, which must answer 200 with JSON.
    pub fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

impl Drop for LocalUi {
    fn drop(&mut self) {
        self.stop();
    }
}
