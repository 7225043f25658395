//! A real `moor controller` process for end-to-end tests, limited to one namespace of
//! Applications so that tests running in parallel never reconcile each other's apps.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Controller {
    child: Child,
    pub port: u16,
    pub token: String,
    pub log: PathBuf,
    _cache: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Applies the Application CRDs (idempotent, server-side) and waits until they are served.
pub fn ensure_crds() {
    moor_testkit::apply_crds(
        &[Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")],
        &[
            "crd/applications.moor.dev",
            "crd/applications.argoproj.io",
            "crd/appprojects.moor.dev",
            "crd/appprojects.argoproj.io",
        ],
    );
}

impl Controller {
    /// Starts a controller for Applications in `app_namespace`, with a generic webhook token.
    pub fn start(app_namespace: &str, extra: &[&str]) -> Controller {
        Controller::start_with_env(app_namespace, extra, &[])
    }

    /// [`Controller::start`] with extra environment variables.
    pub fn start_with_env(app_namespace: &str, extra: &[&str], env: &[(&str, &str)]) -> Controller {
        ensure_crds();
        let cache = tempfile::tempdir().unwrap();
        let port = free_port();
        let token = format!("token-{}", std::process::id());
        let log = cache.path().join("controller.log");
        let logfile = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_moor"))
            .args([
                "controller",
                "--app-namespace",
                app_namespace,
                "--webhook-addr",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--cache-dir"])
            .arg(cache.path())
            .args(extra)
            .env("MOOR_WEBHOOK_TOKEN", &token)
            .env("MOOR_LOG", "info,kube=warn")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(logfile)
            .spawn()
            .expect("moor controller starts");
        let c = Controller {
            child,
            port,
            token,
            log,
            _cache: cache,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((200, _)) = c.get("/readyz") {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "controller not ready in 30 s; log:\n{}",
                c.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id of the controller (for /proc/PID/status).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http(
            self.port,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    }

    /// Sends a generic webhook push for `repo_url` (optionally signed with the right token).
    pub fn push(&self, repo_url: &str, revision: &str, authorized: bool) -> u16 {
        let body = format!(r#"{{"repoURL": "{repo_url}", "revision": "{revision}"}}"#);
        let auth = if authorized {
            format!("Authorization: Bearer {}\r\n", self.token)
        } else {
            String::new()
        };
        let req = format!(
            "POST /api/webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        http(self.port, &req).map(|(s, _)| s).unwrap_or(0)
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
        // A failing test shows what the controller said.
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- controller log (last 40 lines) ---");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

fn http(port: u16, request: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}
