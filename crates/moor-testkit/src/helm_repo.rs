//! A real Helm repository: a static HTTP server on a free loopback port (optionally behind
//! basic auth) serving a directory of what `helm package` and `helm repo index` produce.
//! Charts are published with the real helm binary from PATH, later ones too, as a chart
//! maintainer does. The server stops when the [`HelmRepo`] is dropped.
//!
//! [`HelmRepo::with_tls`] serves HTTPS instead, with a certificate of a test CA made by the
//! openssl binary, optionally requiring a client certificate of that CA (mutual TLS).

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
    tls: Option<TlsCerts>,
}

/// The test CA and a client certificate it signed, PEM, for a [`HelmRepo::with_tls`].
pub struct TlsCerts {
    /// The CA that signed the server's and the client's certificates.
    pub ca_pem: String,
    /// A client certificate the server accepts when it requires one.
    pub client_cert_pem: String,
    /// Its private key.
    pub client_key_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
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
        HelmRepo::serve(None, None)
    }

    /// An empty repository that answers 401 to requests without `user:password`.
    pub fn with_basic_auth(user: &str, password: &str) -> HelmRepo {
        HelmRepo::serve(Some((user.to_string(), password.to_string())), None)
    }

    /// An empty repository anyone may read over HTTPS (`https://127.0.0.1:<port>`), its
    /// certificate signed by a test CA ([`HelmRepo::tls`]); with `require_client_cert`, only
    /// clients presenting a certificate of that CA get an answer.
    pub fn with_tls(require_client_cert: bool) -> HelmRepo {
        let certs = make_certs();
        HelmRepo::serve(None, Some((certs, require_client_cert)))
    }

    /// The certificates of a [`HelmRepo::with_tls`].
    pub fn tls(&self) -> Option<&TlsCerts> {
        self.tls.as_ref()
    }

    fn serve(auth: Option<(String, String)>, tls: Option<(TlsCerts, bool)>) -> HelmRepo {
        let dir = tempfile::Builder::new()
            .prefix("moor-helm-repo-")
            .tempdir()
            .expect("create helm repo dir");
        let work = tempfile::Builder::new()
            .prefix("moor-helm-charts-")
            .tempdir()
            .expect("create chart work dir");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind helm repo port");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("local addr"));
        let acceptor = tls.as_ref().map(|(c, require)| acceptor(c, *require));
        let state = Arc::new(State {
            dir,
            auth,
            seen: Mutex::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let served = state.clone();
        let thread = std::thread::spawn(move || run(listener, acceptor, served, stopped));
        HelmRepo {
            state,
            url,
            work,
            stop: Some(stop),
            thread: Some(thread),
            tls: tls.map(|(c, _)| c),
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

fn run(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
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
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    // A failed handshake (no or a wrong client certificate) just closes.
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            serve_connection(tls, state).await;
                        }
                    }
                    None => serve_connection(stream, state).await,
                }
            });
        }
    });
}

async fn serve_connection<S>(io: S, state: Arc<State>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&req, &state)) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// The server side of TLS: the test CA's server certificate, and with `require_client_cert`
/// a verifier of client certificates of that CA.
fn acceptor(certs: &TlsCerts, require_client_cert: bool) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(certs.server_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("server certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(certs.server_key_pem.as_bytes()).expect("server key");
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(certs.ca_pem.as_bytes()) {
            roots.add(ca.expect("CA PEM")).expect("add CA");
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(chain, key)
        .expect("server certificate and key");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// A test CA, a server certificate for 127.0.0.1 and a client certificate, by `openssl`.
fn make_certs() -> TlsCerts {
    let dir = tempfile::Builder::new()
        .prefix("moor-helm-tls-")
        .tempdir()
        .expect("create cert dir");
    let d = dir.path();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .stdin(Stdio::null())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=moor test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth",
        ),
        ("client", "extendedKeyUsage=clientAuth"),
    ] {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        let extfile = format!("{name}.ext");
        std::fs::write(
            d.join(&extfile),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{ext}\n"),
        )
        .expect("write extensions");
        let subject = format!("/CN=moor test {name}");
        openssl(
            &[
                &["req"][..],
                &ec,
                &["-keyout", &key, "-out", &csr, "-subj", &subject],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &extfile,
        ]);
    }
    let read = |f: &str| std::fs::read_to_string(d.join(f)).expect("read PEM");
    TlsCerts {
        ca_pem: read("ca.pem"),
        client_cert_pem: read("client.pem"),
        client_key_pem: read("client.key"),
        server_cert_pem: read("server.pem"),
        server_key_pem: read("server.key"),
    }
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
