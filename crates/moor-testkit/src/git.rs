//! Real git servers for tests: smart HTTP (the real `git http-backend` behind a small hyper
//! server, with a public and a basic-auth prefix), a real `sshd` on a loopback port, and
//! `file://`, all serving the same bare repositories in a temp dir. No mocks: what passes here
//! talks to git the way a real forge does.

use std::convert::Infallible;
use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Author and committer of every commit the test kit makes.
pub const TEST_AUTHOR_NAME: &str = "Moor Test";
pub const TEST_AUTHOR_EMAIL: &str = "test@moor.invalid";

/// A running set of git servers over one directory of bare repositories. Stops on drop.
pub struct GitServer {
    // Dropped first, so sshd is gone before its directory is removed.
    sshd: Sshd,
    root: TempDir,
    repos: PathBuf,
    http_port: u16,
    http_user: String,
    http_password: String,
    http_stop: Option<tokio::sync::oneshot::Sender<()>>,
    http_thread: Option<JoinHandle<()>>,
    http_seen: Arc<Seen>,
}

/// What the HTTP server saw, for tests about where credentials go.
#[derive(Default)]
struct Seen {
    /// `host[:port]/path` of every request.
    requests: Mutex<Vec<String>>,
    /// `host[:port]/path` of every request that carried an `Authorization` header.
    authorized: Mutex<Vec<String>>,
    /// Where `/moved/...` redirects to (a URL prefix), when set.
    redirect: Mutex<Option<String>>,
}

impl GitServer {
    /// Starts the HTTP server and sshd. Sync, so it works from `#[test]` and `#[tokio::test]`.
    pub fn start() -> GitServer {
        let root = tempfile::Builder::new()
            .prefix("moor-git-server-")
            .tempdir()
            .expect("create git server temp dir");
        let repos = root.path().join("repos");
        fs::create_dir_all(&repos).expect("create repos dir");
        let http_user = format!("moor-{}", random_hex(4));
        let http_password = random_hex(16);

        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind http listener on loopback");
        let http_port = listener.local_addr().expect("http local addr").port();
        let cfg = Arc::new(HttpConfig {
            repos: repos.clone(),
            user: http_user.clone(),
            password: http_password.clone(),
            backend: http_backend(),
            log: root.path().join("http-backend.log"),
            seen: Arc::new(Seen::default()),
        });
        let http_seen = cfg.seen.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        // Its own thread and runtime: tests that block on `git` would otherwise starve it.
        let http_thread = std::thread::Builder::new()
            .name("moor-git-http".into())
            .spawn(move || serve_http(listener, cfg, stop_rx))
            .expect("spawn http server thread");

        let sshd = Sshd::start(&root.path().join("ssh"));
        GitServer {
            root,
            repos,
            http_port,
            http_user,
            http_password,
            http_stop: Some(stop_tx),
            http_thread: Some(http_thread),
            http_seen,
            sshd,
        }
    }

    /// Every HTTP request received so far, as `host[:port]/path` (the host as the client
    /// spelled it: `127.0.0.1:PORT` or `localhost:PORT`).
    pub fn http_requests(&self) -> Vec<String> {
        self.http_seen.requests.lock().expect("seen lock").clone()
    }

    /// The HTTP requests so far that carried an `Authorization` header (whatever its value),
    /// as `host[:port]/path`: a test that a credential never reached this server asserts this
    /// is empty.
    pub fn http_requests_with_authorization(&self) -> Vec<String> {
        self.http_seen.authorized.lock().expect("seen lock").clone()
    }

    /// From now on `/moved/<rest>` answers `302 Found` to `<target><rest>` (query kept), the
    /// way a forge redirects a renamed repository.
    pub fn redirect_moved_to(&self, target: &str) {
        *self.http_seen.redirect.lock().expect("seen lock") = Some(target.to_string());
    }

    /// `http://127.0.0.1:PORT/moved/<name>.git`: redirected as [`GitServer::redirect_moved_to`] says.
    pub fn http_moved_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/moved/{name}.git", self.http_port)
    }

    /// The HTTP port (for URLs spelled with another host name, e.g. `localhost`).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Directory holding the bare repositories (`<name>.git`).
    pub fn repos_dir(&self) -> &Path {
        &self.repos
    }

    /// Temp dir of this server (logs, keys); removed on drop.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A bare repo `name` on branch `main` holding one commit of `from_dir`'s contents.
    pub fn create_repo(&self, name: &str, from_dir: &Path) -> Repo {
        let repo = self.create_empty_repo(name);
        let index = TempDir::new().expect("temp dir for index");
        let index_file = index.path().join("index");
        let git_dir = format!("--git-dir={}", repo.path.display());
        let work_tree = format!("--work-tree={}", from_dir.display());
        let env = [("GIT_INDEX_FILE", index_file.as_os_str())];
        // Committing straight into the bare repo with a throwaway index is the same as cloning,
        // committing and pushing, without copying the directory.
        git_env(None, &[&git_dir, &work_tree, "add", "-A", "."], &env);
        git_env(
            None,
            &[
                &git_dir,
                &work_tree,
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "initial",
            ],
            &env,
        );
        repo
    }

    /// A bare repo `name` with no commits, `HEAD` on `main`, pushable over HTTP.
    pub fn create_empty_repo(&self, name: &str) -> Repo {
        let path = self.repos.join(format!("{name}.git"));
        assert!(!path.exists(), "repo {name} already exists");
        fs::create_dir_all(&path).expect("create repo dir");
        git(Some(&path), &["init", "-q", "--bare", "-b", "main"]);
        git(Some(&path), &["config", "http.receivepack", "true"]);
        Repo {
            name: name.to_string(),
            path,
        }
    }

    /// `http://127.0.0.1:PORT/public/<name>.git`: no authentication.
    pub fn http_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/public/{name}.git", self.http_port)
    }

    /// `http://127.0.0.1:PORT/private/<name>.git`: needs [`GitServer::http_credentials`].
    pub fn http_auth_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/private/{name}.git", self.http_port)
    }

    /// User and password the private prefix accepts.
    pub fn http_credentials(&self) -> (String, String) {
        (self.http_user.clone(), self.http_password.clone())
    }

    /// `ssh://USER@127.0.0.1:PORT/abs/path/<name>.git`.
    pub fn ssh_url(&self, name: &str) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}/{name}.git",
            self.sshd.user,
            self.sshd.port,
            self.repos.display()
        )
    }

    /// `file:///abs/path/<name>.git`.
    pub fn file_url(&self, name: &str) -> String {
        format!("file://{}/{name}.git", self.repos.display())
    }

    /// Private key sshd accepts.
    pub fn ssh_key_path(&self) -> &Path {
        &self.sshd.client_key
    }

    /// known_hosts holding sshd's host key for `[127.0.0.1]:PORT`.
    pub fn known_hosts_path(&self) -> &Path {
        &self.sshd.known_hosts
    }

    pub fn ssh_port(&self) -> u16 {
        self.sshd.port
    }

    /// A `GIT_SSH_COMMAND` value that logs in with the test key and trusts only the test host key.
    pub fn ssh_command(&self) -> String {
        ssh_command_with(&self.sshd.client_key, &self.sshd.known_hosts)
    }

    /// sshd's log so far, for assertion messages.
    pub fn sshd_log(&self) -> String {
        fs::read_to_string(&self.sshd.log).unwrap_or_default()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(stop) = self.http_stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.http_thread.take() {
            let _ = thread.join();
        }
    }
}

/// A `GIT_SSH_COMMAND` value using `key` and trusting only the hosts in `known_hosts`.
pub fn ssh_command_with(key: &Path, known_hosts: &Path) -> String {
    format!(
        "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} \
         -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes",
        shell_quote(&key.display().to_string()),
        shell_quote(&known_hosts.display().to_string())
    )
}

/// A bare repository on a [`GitServer`].
#[derive(Clone, Debug)]
pub struct Repo {
    name: String,
    path: PathBuf,
}

impl Repo {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the bare repository.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Commit `main` points at.
    pub fn head(&self) -> String {
        git(Some(&self.path), &["rev-parse", "refs/heads/main"])
    }

    /// A work tree cloned over `file://`, to change the repo the way a user would.
    pub fn clone_work(&self) -> WorkTree {
        let dir = tempfile::Builder::new()
            .prefix("moor-work-")
            .tempdir()
            .expect("create work tree dir");
        let target = dir.path().to_str().expect("utf-8 temp path").to_string();
        git(None, &["clone", "-q", &self.file_url(), &target]);
        // An empty repo clones onto the client's default branch; keep to `main`.
        git(
            Some(dir.path()),
            &["symbolic-ref", "HEAD", "refs/heads/main"],
        );
        WorkTree { dir }
    }
}

/// A clone of a [`Repo`] in a temp dir, removed on drop.
pub struct WorkTree {
    dir: TempDir,
}

impl WorkTree {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `rel`, creating parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dirs");
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Removes a file or a whole directory.
    pub fn remove(&self, rel: &str) {
        let path = self.dir.path().join(rel);
        let result = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// Commits everything and pushes the current branch; returns the new commit.
    pub fn commit_and_push(&self, message: &str) -> String {
        self.git(&["add", "-A", "."]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["push", "-q", "origin", "HEAD"]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs git in the work tree (test identity, no user config); returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git(Some(self.dir.path()), args)
    }
}

/// Runs git with the test identity and no system/global config; panics on failure.
fn git(dir: Option<&Path>, args: &[&str]) -> String {
    git_env(dir, args, &[])
}

fn git_env(dir: Option<&Path>, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> String {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", TEST_AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", TEST_AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", TEST_AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", TEST_AUTHOR_EMAIL);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run git (is it installed?)");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Smart HTTP: git http-backend as CGI.

struct HttpConfig {
    repos: PathBuf,
    user: String,
    password: String,
    backend: Vec<String>,
    log: PathBuf,
    seen: Arc<Seen>,
}

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// The git-http-backend binary, or `git http-backend` when it is not in the usual place.
fn http_backend() -> Vec<String> {
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    [exec_path, Some(PathBuf::from("/usr/lib/git-core"))]
        .into_iter()
        .flatten()
        .map(|dir| dir.join("git-http-backend"))
        .find(|p| p.is_file())
        .map(|p| vec![p.display().to_string()])
        .unwrap_or_else(|| vec!["git".into(), "http-backend".into()])
}

fn serve_http(
    listener: TcpListener,
    cfg: Arc<HttpConfig>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build http server runtime");
    rt.block_on(async move {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(_) => continue,
                },
            };
            let cfg = cfg.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let cfg = cfg.clone();
                    async move { Ok::<_, Infallible>(handle(req, &cfg, peer).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn text_response(status: StatusCode, text: &str) -> Response<Body> {
    let body = Full::new(Bytes::from(text.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp
}

async fn handle(req: Request<Incoming>, cfg: &HttpConfig, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path().to_string();
    record(&req, cfg);
    if let Some(rest) = path.strip_prefix("/moved/") {
        let target = cfg.seen.redirect.lock().expect("seen lock").clone();
        let Some(target) = target else {
            return text_response(StatusCode::NOT_FOUND, "not found\n");
        };
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let mut resp = text_response(StatusCode::FOUND, "moved\n");
        if let Ok(location) =
            hyper::header::HeaderValue::from_str(&format!("{target}{rest}{query}"))
        {
            resp.headers_mut().insert(hyper::header::LOCATION, location);
        }
        return resp;
    }
    let (path_info, user) = if let Some(rest) = path.strip_prefix("/public/") {
        (format!("/{rest}"), "anonymous".to_string())
    } else if let Some(rest) = path.strip_prefix("/private/") {
        if !authorized(&req, cfg) {
            let mut resp = text_response(StatusCode::UNAUTHORIZED, "authentication required\n");
            resp.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Basic realm=\"moor\""),
            );
            return resp;
        }
        (format!("/{rest}"), cfg.user.clone())
    } else {
        return text_response(StatusCode::NOT_FOUND, "not found\n");
    };
    match run_cgi(req, cfg, &path_info, &user, peer).await {
        Ok(resp) => resp,
        Err(e) => text_response(StatusCode::BAD_GATEWAY, &format!("http-backend: {e}\n")),
    }
}

/// Notes the request as `host[:port]/path`, the host as the client named it (`Host`).
fn record(req: &Request<Incoming>, cfg: &HttpConfig) {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let path = format!("{host}{}", req.uri().path());
    if req.headers().contains_key(hyper::header::AUTHORIZATION) {
        cfg.seen
            .authorized
            .lock()
            .expect("seen lock")
            .push(path.clone());
    }
    cfg.seen.requests.lock().expect("seen lock").push(path);
}

fn authorized(req: &Request<Incoming>, cfg: &HttpConfig) -> bool {
    let Some(value) = req.headers().get(hyper::header::AUTHORIZATION) else {
        return false;
    };
    let Some(encoded) = value.to_str().ok().and_then(|v| v.strip_prefix("Basic ")) else {
        return false;
    };
    let Ok(decoded) = BASE64.decode(encoded.trim()) else {
        return false;
    };
    decoded == format!("{}:{}", cfg.user, cfg.password).as_bytes()
}

async fn run_cgi(
    req: Request<Incoming>,
    cfg: &HttpConfig,
    path_info: &str,
    user: &str,
    peer: SocketAddr,
) -> std::io::Result<Response<Body>> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let method = req.method().as_str().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let content_type = header("content-type");
    let encoding = header("content-encoding");
    let protocol = header("git-protocol");
    // Collected whole: test pushes are small, and CONTENT_LENGTH must be known up front.
    let body = req
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();

    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cfg.log)?;
    let mut cmd = tokio::process::Command::new(&cfg.backend[0]);
    cmd.args(&cfg.backend[1..])
        .env("GIT_PROJECT_ROOT", &cfg.repos)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("PATH_INFO", path_info)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", method)
        .env("CONTENT_TYPE", content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", peer.ip().to_string())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    if !encoding.is_empty() {
        cmd.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if !protocol.is_empty() {
        cmd.env("GIT_PROTOCOL", protocol);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written concurrently with reading stdout so a large exchange cannot deadlock.
    tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let mut stdout = child.stdout.take().expect("piped stdout");

    let mut buf = Vec::new();
    let header_end = loop {
        if let Some(end) = find_header_end(&buf) {
            break end;
        }
        let mut chunk = [0u8; 8192];
        let n = stdout.read(&mut chunk).await?;
        if n == 0 {
            let _ = child.wait().await;
            return Err(std::io::Error::other("backend ended before its headers"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end.0]).to_string();
    let rest = Bytes::copy_from_slice(&buf[header_end.1..]);

    let mut builder = Response::builder().status(StatusCode::OK);
    for line in head.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500");
            builder = builder.status(code.parse::<u16>().unwrap_or(500));
        } else {
            builder = builder.header(name.trim(), value);
        }
    }

    let first = futures::stream::iter([Ok::<_, std::io::Error>(Frame::data(rest))]);
    let tail = futures::stream::unfold(Some((stdout, child)), |state| async move {
        let (mut stdout, mut child) = state?;
        let mut chunk = vec![0u8; 64 * 1024];
        match stdout.read(&mut chunk).await {
            Ok(0) => {
                let _ = child.wait().await;
                None
            }
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(Frame::data(Bytes::from(chunk))), Some((stdout, child))))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let body = StreamBody::new(first.chain(tail)).boxed_unsync();
    builder.body(body).map_err(std::io::Error::other)
}

/// End of the CGI headers: (end of header text, start of body).
fn find_header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    let lf = buf
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

// ---------------------------------------------------------------------------------------------
// sshd.

struct Sshd {
    child: Child,
    port: u16,
    user: String,
    client_key: PathBuf,
    known_hosts: PathBuf,
    log: PathBuf,
}

impl Sshd {
    fn start(dir: &Path) -> Sshd {
        fs::create_dir_all(dir).expect("create ssh dir");
        // Privilege separation dir; Debian's package normally creates it at boot.
        let _ = fs::create_dir_all("/run/sshd");
        let host_key = dir.join("ssh_host_ed25519_key");
        let client_key = dir.join("id_ed25519");
        keygen(&host_key);
        keygen(&client_key);
        let authorized = dir.join("authorized_keys");
        fs::copy(client_key.with_extension("pub"), &authorized).expect("write authorized_keys");
        let user = Command::new("whoami")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".to_string());
        let log = dir.join("sshd.log");
        let host_pub = fs::read_to_string(host_key.with_extension("pub")).expect("host pub key");
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();

        // The free port is probed and then released, so another process may grab it first:
        // retry with a fresh port when sshd exits early.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = free_port();
            let config = dir.join("sshd_config");
            fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                     PidFile {}\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                     PermitRootLogin prohibit-password\nAcceptEnv GIT_PROTOCOL\nLogLevel VERBOSE\n",
                    host_key.display(),
                    authorized.display(),
                    dir.join("sshd.pid").display()
                ),
            )
            .expect("write sshd_config");
            let log_file = fs::File::create(&log).expect("create sshd log");
            let mut child = Command::new("/usr/sbin/sshd")
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("start /usr/sbin/sshd (is openssh-server installed?)");
            match wait_for_port(&mut child, port) {
                Ok(()) => {
                    let known_hosts = dir.join("known_hosts");
                    fs::write(
                        &known_hosts,
                        format!("[127.0.0.1]:{port} {}\n", host_pub.join(" ")),
                    )
                    .expect("write known_hosts");
                    return Sshd {
                        child,
                        port,
                        user,
                        client_key,
                        known_hosts,
                        log,
                    };
                }
                Err(exited) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    if !exited || attempts >= 3 {
                        panic!("sshd did not start on port {port}:\n{text}");
                    }
                }
            }
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "moor-test", "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

/// Ok once the port accepts connections; Err(true) if sshd exited, Err(false) on timeout.
fn wait_for_port(child: &mut Child, port: u16) -> Result<(), bool> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Err(true);
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            // Someone else may own the port while our sshd is failing to bind it.
            std::thread::sleep(Duration::from_millis(100));
            return match child.try_wait() {
                Ok(Some(_)) => Err(true),
                _ => Ok(()),
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(false)
}
