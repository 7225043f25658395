//! A real Helm repository: a static HTTP server on a free loopback port (optionally behind
//! basic auth) serving a directory of what `helm package` and `helm repo index` produce.
//! Charts are published with the real helm binary from PATH, later ones too, as a chart
//! maintainer does. The server stops when the [`HelmRepo`] is dropped.

use std::convert::Infallible;
use std::net::TcpListener;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// A served Helm repository; see the module docs.
pub struct HelmRepo {
    state: Arc<State>,
    url: String,
    work: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct State {
    dir: tempfile::TempDir,
    auth: Option<(String, String)>,
    /// Every request as `path`, with whether it carried an Authorization header.
    seen: Mutex<Vec<(String, bool)>>,
}

impl HelmRepo {
    /// An empty repository anyone may read.
    pub fn start() -> HelmRepo {
        HelmRepo::serve(None)
    }

    /// An empty repository that answers 401 to requests without `user:password`.
    pub fn with_basic_auth(user: &str, password: &str) -> HelmRepo {
        HelmRepo::serve(Some((user.to_string(), password.to_string())))
    }

    fn serve(auth: Option<(String, String)>) -> HelmRepo {
        let dir = tempfile::Builder::new()
            .prefix("moor-helm-repo-")
            .tempdir()
            .expect("create helm repo dir");
        let work = tempfile::Builder::new()
            .prefix("moor-helm-charts-")
            .tempdir()
            .expect("create chart work dir");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind helm repo port");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(State {
            dir,
            auth,
            seen: Mutex::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let served = state.clone();
        let thread = std::thread::spawn(move || run(listener, served, stopped));
        HelmRepo {
            state,
            url,
            work,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, the repository URL an Application names.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The served directory (index.yaml and the archives), for tests that tamper with it.
    pub fn dir(&self) -> &Path {
        self.state.dir.path()
    }

    /// Packages the chart `name` at `version` with `helm package` (one ConfigMap
    /// `<release>-<name>` holding the version, see [`crate::registry::package_chart`]), puts
    /// the archive in the repository and regenerates index.yaml. Returns the archive's path.
    pub fn publish(&self, name: &str, version: &str) -> PathBuf {
        let tgz = crate::registry::package_chart(self.work.path(), name, version);
        self.add_archive(&tgz)
    }

    /// Copies an archive (`helm package` output, or anything a test wants served) into the
    /// repository and regenerates index.yaml. Returns the served path.
    pub fn add_archive(&self, tgz: &Path) -> PathBuf {
        let dest = self.dir().join(tgz.file_name().expect("archive file name"));
        std::fs::copy(tgz, &dest).expect("copy chart archive");
        self.reindex();
        dest
    }

    /// `helm repo index --url <url>` over the served archives. It runs in a staging directory
    /// and the result is renamed into place, so a client never reads half an index.
    pub fn reindex(&self) {
        let staging = tempfile::Builder::new()
            .prefix("moor-helm-index-")
            .tempdir()
            .expect("create index staging dir");
        for entry in std::fs::read_dir(self.dir()).expect("read repo dir") {
            let path = entry.expect("repo dir entry").path();
            if path.extension().is_some_and(|e| e == "tgz") {
                let name = path.file_name().expect("file name");
                std::fs::copy(&path, staging.path().join(name)).expect("stage archive");
            }
        }
        let home = staging.path().join(".helm");
        let out = Command::new("helm")
            .args(["repo", "index"])
            .arg(staging.path())
            .args(["--url", &self.url])
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("helm repo index: {e} (is helm on PATH? source scripts/lib/tools.sh; ensure_tools)")
            });
        assert!(
            out.status.success(),
            "helm repo index failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tmp = self.dir().join(".index.yaml.tmp");
        std::fs::copy(staging.path().join("index.yaml"), &tmp).expect("stage index");
        std::fs::rename(&tmp, self.dir().join("index.yaml")).expect("publish index");
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        let seen = self.state.seen.lock().expect("seen lock");
        seen.iter().map(|(p, _)| p.clone()).collect()
    }

    /// How many requests asked for `path` (e.g. `/index.yaml`).
    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|p| *p == path).count()
    }

    /// The paths requested with an Authorization header.
    pub fn authorized_requests(&self) -> Vec<String> {
        let seen = self.state.seen.lock().expect("seen lock");
        seen.iter()
            .filter(|(_, a)| *a)
            .map(|(p, _)| p.clone())
            .collect()
    }
}

impl Drop for HelmRepo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(listener: TcpListener, state: Arc<State>, mut stop: tokio::sync::oneshot::Receiver<()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build helm repo runtime");
    rt.block_on(async move {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            let stream = tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok((s, _)) => s,
                    Err(_) => continue,
                },
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(&req, &state)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn handle(req: &Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let header = req.headers().get(hyper::header::AUTHORIZATION);
    state
        .seen
        .lock()
        .expect("seen lock")
        .push((path.clone(), header.is_some()));
    if let Some((user, password)) = &state.auth {
        let given = header
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| BASE64.decode(v.trim()).ok());
        if given.as_deref() != Some(format!("{user}:{password}").as_bytes()) {
            let mut resp = text(StatusCode::UNAUTHORIZED, "authentication required\n");
            resp.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Basic realm=\"charts\""),
            );
            return resp;
        }
    }
    if req.method() != hyper::Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    // Only plain components below the served directory.
    let rel = Path::new(path.trim_start_matches('/'));
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    match std::fs::read(state.dir.path().join(rel)) {
        Ok(body) => Response::new(Full::new(Bytes::from(body))),
        Err(_) => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp
}
