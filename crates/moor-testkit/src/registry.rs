//! A real OCI registry for tests: distribution's registry (`docker-registry serve`, Debian's
//! docker-registry package) on a free loopback port with a temp storage dir, anonymous, with
//! htpasswd basic auth, or with token auth (a small token service in this process signing real
//! RS256 JWTs with openssl, which the registry verifies against its root certificate). Images
//! are pushed without docker, through the distribution API: two blobs and an OCI manifest.
//! Shared by the tests of moor-registry and of the `moor` binary.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

mod charts;
mod paging;
mod token;

pub use charts::package_chart;
pub use paging::PagingProxy;
use token::TokenServer;

/// Where Debian's docker-registry package installs the registry the tests run.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const SERVICE: &str = "moor-test-registry";
const ISSUER: &str = "moor-test-token-issuer";

/// How the test registry authenticates clients, one per scheme moor-registry speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Anyone may pull.
    Anonymous,
    /// htpasswd (bcrypt) basic auth.
    Basic {
        /// The one user allowed.
        user: String,
        /// Its password.
        password: String,
    },
    /// Bearer tokens from a token service that checks these basic credentials.
    Token {
        /// The one user allowed.
        user: String,
        /// Its password.
        password: String,
    },
}

/// A running registry; stopped (and its storage removed) on drop.
pub struct Registry {
    child: Option<Child>,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// How it authenticates clients.
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
    /// An anonymous registry.
    pub fn start() -> Registry {
        Registry::start_with(Auth::Anonymous)
    }

    /// A registry that authenticates as `auth` says.
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

    /// What the registry logged, to explain a failing test.
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
