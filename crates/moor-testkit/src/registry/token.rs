//! The token service of a registry with token auth: an RSA key and certificate from openssl,
//! and a loopback HTTP server handing out RS256 JWTs the registry verifies.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as B64URL};

use super::{ISSUER, SERVICE, random_hex};

/// An RSA key and self-signed certificate (openssl), signing RS256 JWTs with an x5c header.
pub(super) struct TokenKeys {
    key: PathBuf,
    pub(super) cert: PathBuf,
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
    pub(super) fn token(&self, sub: &str, access: &[(&str, &[&str])]) -> String {
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
pub(super) struct TokenServer {
    pub(super) port: u16,
    pub(super) keys: Arc<TokenKeys>,
    pub(super) requests: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    pub(super) fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
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
    let (request_line, headers) = super::paging::read_head(&mut conn);
    let target = request_line.split(' ').nth(1).unwrap_or("/");
    let auth = headers
        .into_iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v);
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
