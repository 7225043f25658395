//! A real OCI registry for tests: distribution's registry (`docker-registry serve`, Debian's
//! docker-registry package) on a free loopback port with a temp storage dir, anonymous, with
//! htpasswd basic auth, or with token auth (a small token service in this process signing real
//! RS256 JWTs with openssl, which the registry verifies against its root certificate). Images
//! are pushed without docker, through the distribution API: two blobs and an OCI manifest.
#![allow(dead_code)] // each test crate uses its own subset

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as B64URL};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const SERVICE: &str = "moor-test-registry";
const ISSUER: &str = "moor-test-token-issuer";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    /// htpasswd (bcrypt) basic auth.
    Basic {
        user: String,
        password: String,
    },
    /// Bearer tokens from a token service that checks these basic credentials.
    Token {
        user: String,
        password: String,
    },
}

/// A running registry; stopped (and its storage removed) on drop.
pub struct Registry {
    child: Option<Child>,
    pub port: u16,
    pub auth: Auth,
    dir: TempDir,
    token: Option<TokenServer>,
    http: reqwest::Client,
}

/// Fails (never skips) when the registry binary is missing, saying how to get it.
pub fn require_registry() {
    assert!(
        Path::new(REGISTRY_BIN).is_file(),
        "{REGISTRY_BIN} not found: install Debian's docker-registry package \
         (source scripts/lib/registry.sh && ensure_registry_deps)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn random_hex(bytes: usize) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{:?}{}{:?}",
        SystemTime::now(),
        std::process::id(),
        std::thread::current().id()
    ));
    hex::encode(h.finalize())[..bytes * 2].to_string()
}

impl Registry {
    pub fn start() -> Registry {
        Registry::start_with(Auth::Anonymous)
    }

    pub fn start_with(auth: Auth) -> Registry {
        require_registry();
        let dir = tempfile::Builder::new()
            .prefix("moor-registry-")
            .tempdir()
            .expect("create registry temp dir");
        let token = match &auth {
            Auth::Token { user, password } => Some(TokenServer::start(dir.path(), user, password)),
            _ => None,
        };
        let auth_yaml = match &auth {
            Auth::Anonymous => String::new(),
            Auth::Basic { user, password } => {
                let hash = bcrypt::hash(password, 4).expect("bcrypt");
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, format!("{user}:{hash}\n")).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: moor-test\n    path: {}\n",
                    path.display()
                )
            }
            Auth::Token { .. } => {
                let t = token.as_ref().expect("token server");
                format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {SERVICE}\n    \
                     issuer: {ISSUER}\n    rootcertbundle: {}\n",
                    t.port,
                    t.keys.cert.display()
                )
            }
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("test http client");
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n  secret: {}\n{auth_yaml}",
                    dir.path().join("data").display(),
                    random_hex(16)
                ),
            )
            .expect("write registry config");
            let log = dir.path().join("registry.log");
            let mut child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("registry log"))
                .spawn()
                .unwrap_or_else(|e| panic!("failed to start {REGISTRY_BIN}: {e}"));
            if wait_ready(&mut child, port, Duration::from_secs(20)) {
                return Registry {
                    child: Some(child),
                    port,
                    auth,
                    dir,
                    token,
                    http,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
            // A port taken between probe and bind is the only expected failure: try another.
            if !last_log.contains("address already in use") {
                break;
            }
        }
        panic!("the registry did not start:\n{last_log}");
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the registry now (its address then refuses connections).
    pub fn stop(&mut self) {
        self.kill();
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>/<repo>`.
    pub fn image(&self, repo: &str) -> String {
        format!("{}/{repo}", self.host())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// How many token requests the token service answered (token auth only).
    pub fn token_requests(&self) -> usize {
        self.token
            .as_ref()
            .map_or(0, |t| t.requests.load(Ordering::SeqCst))
    }

    /// The credentials of the registry's one user, if it has auth.
    pub fn user(&self) -> Option<(&str, &str)> {
        match &self.auth {
            Auth::Anonymous => None,
            Auth::Basic { user, password } | Auth::Token { user, password } => {
                Some((user, password))
            }
        }
    }

    /// Authorization for pushing to `repo`.
    fn push_auth(&self, repo: &str) -> Option<String> {
        match &self.auth {
            Auth::Anonymous => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                BASE64.encode(format!("{user}:{password}"))
            )),
            Auth::Token { user, .. } => {
                let t = self.token.as_ref().expect("token server");
                Some(format!(
                    "Bearer {}",
                    t.keys.token(user, &[(repo, &["pull", "push"])])
                ))
            }
        }
    }

    /// Pushes a tiny OCI image (config + one layer, unique per tag) as `repo:tag`.
    pub async fn push(&self, repo: &str, tag: &str) {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"tag":"{tag}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let layer = format!("layer of {repo}:{tag}").into_bytes();
        let config_digest = self.upload_blob(repo, config.as_bytes()).await;
        let layer_digest = self.upload_blob(repo, &layer).await;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer_digest,
                "size": layer.len(),
            }],
        });
        let url = format!("http://{}/v2/{repo}/manifests/{tag}", self.host());
        let resp = self
            .authed(self.http.put(&url), repo)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(serde_json::to_vec(&manifest).expect("manifest json"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        let status = resp.status();
        assert!(
            status.as_u16() == 201,
            "PUT manifest {repo}:{tag}: {status} {}",
            resp.text().await.unwrap_or_default()
        );
    }

    /// A GET on the registry API, authorized as the pusher (for `repo` in the path).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let repo = path
            .trim_start_matches("/v2/")
            .split("/tags/")
            .next()
            .unwrap_or("");
        let url = format!("http://{}{path}", self.host());
        self.authed(self.http.get(&url), repo)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    fn authed(&self, req: reqwest::RequestBuilder, repo: &str) -> reqwest::RequestBuilder {
        match self.push_auth(repo) {
            Some(a) => req.header("Authorization", a),
            None => req,
        }
    }

    /// `POST /v2/<repo>/blobs/uploads/`, then `PUT <location>?digest=`; returns the digest.
    async fn upload_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
        let base = format!("http://{}", self.host());
        let url = format!("{base}/v2/{repo}/blobs/uploads/");
        let resp = self
            .authed(self.http.post(&url), repo)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = resp.status();
        let location = resp
            .headers()
            .get("Location")
            .and_then(|l| l.to_str().ok())
            .map(String::from);
        let Some(location) = location.filter(|_| status.as_u16() == 202) else {
            panic!(
                "POST {url}: {status} {}",
                resp.text().await.unwrap_or_default()
            );
        };
        let mut put = reqwest::Url::parse(&base)
            .and_then(|b| b.join(&location))
            .expect("upload location");
        put.query_pairs_mut().append_pair("digest", &digest);
        let resp = self
            .authed(self.http.put(put.clone()), repo)
            .header("Content-Type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {put}: {e}"));
        let status = resp.status();
        assert!(
            status.as_u16() == 201,
            "PUT blob {digest}: {status} {}",
            resp.text().await.unwrap_or_default()
        );
        digest
    }
}

/// Waits until the registry accepts connections; false when it exited or timed out.
fn wait_ready(child: &mut Child, port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A docker config JSON with one registry's credentials.
pub fn docker_config(host: &str, user: &str, password: &str) -> String {
    serde_json::json!({"auths": {host: {"auth": BASE64.encode(format!("{user}:{password}"))}}})
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Token service

/// An RSA key and self-signed certificate (openssl), signing RS256 JWTs with an x5c header.
struct TokenKeys {
    key: PathBuf,
    cert: PathBuf,
    cert_der_b64: String,
}

impl TokenKeys {
    fn create(dir: &Path) -> TokenKeys {
        let key = dir.join("token.key");
        let cert = dir.join("token.crt");
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=moor-test-token-issuer", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl runs (it is needed for the token service of registry tests)");
        assert!(
            out.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .expect("openssl x509");
        assert!(der.status.success(), "openssl x509 -outform DER");
        TokenKeys {
            key,
            cert,
            cert_der_b64: BASE64.encode(der.stdout),
        }
    }

    /// A token for `sub` granting `actions` on each repository.
    fn token(&self, sub: &str, access: &[(&str, &[&str])]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der_b64]});
        let access: Vec<_> = access
            .iter()
            .map(|(name, actions)| {
                serde_json::json!({"type": "repository", "name": name, "actions": actions})
            })
            .collect();
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": sub, "aud": SERVICE,
            "exp": now + 300, "nbf": now - 10, "iat": now - 10,
            "jti": random_hex(8), "access": access,
        });
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl dgst");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write signing input");
        let out = child.wait_with_output().expect("openssl dgst output");
        assert!(
            out.status.success(),
            "openssl dgst: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("{input}.{}", B64URL.encode(out.stdout))
    }
}

/// `GET /token?service=..&scope=repository:<name>:<actions>`: checks basic credentials (none:
/// an anonymous token without access; wrong: 401) and grants the requested scope.
struct TokenServer {
    port: u16,
    keys: Arc<TokenKeys>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
        let keys = Arc::new(TokenKeys::create(dir));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind token service");
        let port = listener.local_addr().expect("token addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let expected = format!("Basic {}", BASE64.encode(format!("{user}:{password}")));
        let user = user.to_string();
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (k, s, r) = (keys.clone(), stop.clone(), requests.clone());
        let thread = std::thread::Builder::new()
            .name("moor-token-service".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(conn) = conn {
                        r.fetch_add(1, Ordering::SeqCst);
                        serve_token(conn, &k, &user, &expected);
                    }
                }
            })
            .expect("spawn token service");
        TokenServer {
            port,
            keys,
            requests,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_token(mut conn: TcpStream, keys: &TokenKeys, user: &str, expected_auth: &str) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/");
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    let url = reqwest::Url::parse(&format!("http://token{target}")).expect("token request url");
    let scopes: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .collect();
    let (status, body) = match auth.as_deref() {
        Some(a) if a != expected_auth => (
            "401 Unauthorized",
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}"#
                .to_string(),
        ),
        granted => {
            let mut access: Vec<(String, Vec<String>)> = Vec::new();
            if granted.is_some() {
                for s in &scopes {
                    // repository:<name>:<actions>
                    let mut parts = s.splitn(2, ':');
                    let (Some("repository"), Some(rest)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    if let Some((name, actions)) = rest.rsplit_once(':') {
                        access.push((
                            name.to_string(),
                            actions.split(',').map(String::from).collect(),
                        ));
                    }
                }
            }
            let access_refs: Vec<(&str, Vec<&str>)> = access
                .iter()
                .map(|(n, a)| (n.as_str(), a.iter().map(String::as_str).collect()))
                .collect();
            let access_refs: Vec<(&str, &[&str])> = access_refs
                .iter()
                .map(|(n, a)| (*n, a.as_slice()))
                .collect();
            let sub = if granted.is_some() { user } else { "" };
            let token = keys.token(sub, &access_refs);
            (
                "200 OK",
                serde_json::json!({"token": token, "access_token": token, "expires_in": 300})
                    .to_string(),
            )
        }
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Tag list pagination

/// A proxy in front of a registry that paginates `GET /v2/<name>/tags/list` as the distribution
/// spec says (`n`, `last`, `Link: <...>; rel="next"`): Debian's distribution 2.8 ignores `n` on
/// tag lists (tag pagination came with distribution 3). Everything else, authorization and
/// challenges included, goes to the real registry unchanged; the tags are the registry's.
pub struct PagingProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Tag list requests answered, pages included.
    pub tag_requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl PagingProxy {
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

/// The request line and headers of one HTTP/1.1 request (no body: GETs only).
fn read_head(conn: &mut TcpStream) -> (String, Vec<(String, String)>) {
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
