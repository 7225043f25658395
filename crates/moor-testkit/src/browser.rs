//! A real headless Chromium for the web UI's acceptance tests, driven over the W3C WebDriver
//! protocol through `chromedriver` (Debian's `chromium` and `chromium-driver`).
//!
//! A small client of our own over reqwest rather than a WebDriver crate: fantoccini, the
//! maintained one, reaches TLS only through hyper-rustls' default features (aws-lc-rs, a C
//! build) or native-tls (openssl), while the workspace uses ring; and a test talks to a
//! chromedriver on loopback over plain HTTP, which needs a dozen endpoints.
//!
//! Every helper panics with what it was doing, the page's URL and the start of its text: these
//! are test helpers, and a failing browser test is read from that message.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a polled wait sleeps between two looks at the page.
const POLL: Duration = Duration::from_millis(50);

/// A headless Chromium session, with the chromedriver that runs it. Dropping it ends the
/// session (Chromium exits) and kills chromedriver by its pid.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    port: u16,
    profile: tempfile::TempDir,
}

/// An element found on the page: its WebDriver reference and the selector that found it (for
/// messages).
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
    /// The CSS selector this element was found by.
    pub selector: String,
}

/// The Chromium binary: `MOOR_CHROMIUM`, else Debian's /usr/bin/chromium.
fn chromium_path() -> PathBuf {
    std::env::var_os("MOOR_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The chromedriver binary: `MOOR_CHROMEDRIVER`, else Debian's /usr/bin/chromedriver.
fn chromedriver_path() -> PathBuf {
    std::env::var_os("MOOR_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session in a fresh
    /// profile, with a 1400x900 window. Panics, saying how to install them, when Chromium or
    /// chromedriver is missing: the browser tests are never skipped.
    pub async fn start() -> Browser {
        let chromium = chromium_path();
        let driver_bin = chromedriver_path();
        for (bin, pkg) in [(&chromium, "chromium"), (&driver_bin, "chromium-driver")] {
            assert!(
                bin.is_file(),
                "{} is missing: the web UI's browser tests need Debian's {pkg} package \
                 (scripts/test installs chromium and chromium-driver through ensure_browser_deps \
                 in scripts/lib/deps.sh; or set MOOR_CHROMIUM / MOOR_CHROMEDRIVER)",
                bin.display()
            );
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        // chromedriver listens on loopback: never through an HTTP(S)_PROXY of the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("WebDriver http client");
        let profile = tempfile::tempdir().expect("browser profile dir");
        let port = free_port();
        let log = profile.path().join("chromedriver.log");
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver_bin.display()));
        let base = format!("http://127.0.0.1:{port}");
        let mut b = Browser {
            http,
            base,
            session: String::new(),
            driver,
            port,
            profile,
        };
        b.wait_driver_ready(&log).await;
        let user_data = b.profile.path().join("chromium");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,900",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", user_data.display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": chromium.to_string_lossy(), "args": args}
        }}});
        let v = b
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "starting headless Chromium ({}) through chromedriver: {e}\nchromedriver log:\n{}",
                    chromium.display(),
                    tail(&log, 30)
                )
            });
        b.session = v["sessionId"]
            .as_str()
            .expect("new session has an id")
            .to_string();
        b.call_ok(
            reqwest::Method::POST,
            "/timeouts",
            json!({"pageLoad": 60_000, "script": 30_000, "implicit": 0}),
        )
        .await;
        b
    }

    async fn wait_driver_ready(&mut self, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(format!("{}/status", self.base)).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return;
            }
            if let Ok(Some(st)) = self.driver.try_wait() {
                panic!(
                    "chromedriver exited ({st}) before it was ready; its log:\n{}",
                    tail(log, 30)
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready on port {} in 30 s; its log:\n{}",
                self.port,
                tail(log, 30)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One WebDriver command on this session (`path` under /session/{id}, or the absolute
    /// `/session` before there is one): its `value`, or the WebDriver error as text.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = if self.session.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .map_err(|e| format!("{method} {path}: reply is not JSON: {e}"))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!(
                "{method} {path}: {} ({}): {}",
                value["error"].as_str().unwrap_or("error"),
                status.as_u16(),
                value["message"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            ))
        }
    }

    /// [`Browser::call`] (no body when `body` is null), panicking with the page's context.
    async fn call_ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let body = (!body.is_null()).then_some(body);
        match self.call(method, path, body).await {
            Ok(v) => v,
            Err(e) => panic!("{e}{}", self.context().await),
        }
    }

    /// The page's URL and the start of its text, for failure messages.
    pub async fn context(&self) -> String {
        let url = self
            .call(reqwest::Method::GET, "/url", None)
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let text = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": "return document.body ? document.body.innerText : ''", "args": []})),
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let text: String = text.chars().take(1500).collect();
        format!("\n  page: {url}\n  page text:\n{text}")
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.call_ok(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        let v = self
            .call_ok(reqwest::Method::GET, "/url", Value::Null)
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Reloads the page.
    pub async fn refresh(&self) {
        self.call_ok(reqwest::Method::POST, "/refresh", json!({}))
            .await;
    }

    /// Every element matching the CSS selector `css`, in document order.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.elements("/elements", css, css.to_string()).await
    }

    /// Every element matching `css` inside `parent`, in document order.
    pub async fn find_within(&self, parent: &Element, css: &str) -> Vec<Element> {
        let path = format!("/element/{}/elements", parent.id);
        let selector = format!("{} {css}", parent.selector);
        self.elements(&path, css, selector).await
    }

    /// The elements a find-elements command at `path` returns for `css`, each remembered by
    /// `selector` for error messages.
    async fn elements(&self, path: &str, css: &str, selector: String) -> Vec<Element> {
        let v = self
            .call_ok(
                reqwest::Method::POST,
                path,
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element {
                        id: id.to_string(),
                        selector: selector.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Deletes every cookie of the current page's site (a fresh login).
    pub async fn clear_cookies(&self) {
        self.call_ok(reqwest::Method::DELETE, "/cookie", Value::Null)
            .await;
    }

    /// The first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Option<Element> {
        self.find_all(css).await.into_iter().next()
    }

    /// The first element matching `css` that is displayed, waiting up to `timeout` for it.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            for el in self.find_all(css).await {
                if self.displayed(&el).await {
                    return el;
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "no displayed element matches {css:?} after {timeout:?}{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The first element matching `css` whose text contains `needle`, waiting up to `timeout`.
    pub async fn wait_for_text(&self, css: &str, needle: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            for el in self.find_all(css).await {
                if self.try_text(&el).await.is_some_and(|t| t.contains(needle)) {
                    return el;
                }
            }
            if Instant::now() >= deadline {
                let seen: Vec<String> = self.texts(css).await;
                panic!(
                    "no element matching {css:?} has text {needle:?} after {timeout:?}; \
                     their texts: {seen:?}{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to `timeout` until no element matches `css`.
    pub async fn wait_gone(&self, css: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.find_all(css).await.is_empty() {
            if Instant::now() >= deadline {
                panic!(
                    "elements matching {css:?} still there after {timeout:?}{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether the element is displayed (false once it left the page).
    pub async fn displayed(&self, el: &Element) -> bool {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/displayed", el.id),
            None,
        )
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
    }

    /// Clicks the element (scrolled into view first, by WebDriver).
    pub async fn click(&self, el: &Element) {
        if let Err(e) = self.try_click(el).await {
            panic!("clicking {:?}: {e}{}", el.selector, self.context().await);
        }
    }

    /// Clicks the element; the WebDriver error (e.g. it was replaced by a redraw) if it fails.
    pub async fn try_click(&self, el: &Element) -> Result<(), String> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/click", el.id),
            Some(json!({})),
        )
        .await
        .map(|_| ())
    }

    /// Waits for a displayed element matching `css`, then clicks it; when a live update redrew
    /// it between the find and the click (a stale element), finds it again until `timeout`.
    pub async fn click_on(&self, css: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let el = self.wait_for(css, timeout).await;
            match self.try_click(&el).await {
                Ok(()) => return,
                Err(e) if e.contains("stale element") && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("clicking {:?}: {e}{}", el.selector, self.context().await),
            }
        }
    }

    /// Types `text` into the element (WebDriver key codes such as "\u{E007}", Enter, work too).
    pub async fn type_text(&self, el: &Element, text: &str) {
        if let Err(e) = self
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/value", el.id),
                Some(json!({"text": text})),
            )
            .await
        {
            panic!("typing into {:?}: {e}{}", el.selector, self.context().await);
        }
    }

    /// Types `keys` into whatever element has the focus (keyboard navigation).
    pub async fn press(&self, keys: &str) {
        let active = self
            .call_ok(reqwest::Method::GET, "/element/active", Value::Null)
            .await;
        let id = active[ELEMENT_KEY]
            .as_str()
            .expect("an element has the focus")
            .to_string();
        let el = Element {
            id,
            selector: "(focused element)".into(),
        };
        self.type_text(&el, keys).await;
    }

    async fn try_text(&self, el: &Element) -> Option<String> {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/text", el.id),
            None,
        )
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
    }

    /// The element's rendered text.
    pub async fn text(&self, el: &Element) -> String {
        match self.try_text(el).await {
            Some(t) => t,
            None => panic!(
                "reading the text of {:?}: the element is gone{}",
                el.selector,
                self.context().await
            ),
        }
    }

    /// The texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = vec![];
        for el in self.find_all(css).await {
            out.push(self.try_text(&el).await.unwrap_or_default());
        }
        out
    }

    /// The element's attribute `name`, if it has one.
    pub async fn attr(&self, el: &Element, name: &str) -> Option<String> {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", el.id),
            None,
        )
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page; what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.call_ok(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// The value of the browser's cookie `name` for the current page, if set.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let v = self
            .call(reqwest::Method::GET, &format!("/cookie/{name}"), None)
            .await
            .ok()?;
        v["value"].as_str().map(str::to_string)
    }

    /// Saves a PNG screenshot of the window to `path` (creating its directory).
    pub async fn screenshot(&self, path: &Path) {
        let v = self
            .call_ok(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Ends the session the blocking way (Drop cannot await): a raw HTTP DELETE to chromedriver,
    /// which quits Chromium.
    fn delete_session(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
        let req = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.session, self.port
        );
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf.starts_with("HTTP/1.1 200")
    }

    /// Kills any Chromium process of this session's profile that outlived chromedriver: they
    /// are ours (their command line names our own temporary profile directory).
    fn kill_leftover_chromium(&self) {
        let marker = format!("--user-data-dir={}", self.profile.path().display());
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let ours = cmd
                .split(|b| *b == 0)
                .any(|arg| arg.starts_with(marker.as_bytes()));
            if ours {
                let _ = Command::new("kill")
                    .args(["-KILL", pid])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let quit = !self.session.is_empty() && self.delete_session();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if !quit {
            self.kill_leftover_chromium();
        }
    }
}

/// The last `n` lines of the file at `path` (a log), or a note that it could not be read.
fn tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) => {
            let lines: Vec<&str> = t.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}
