//! Smart HTTP: the real `git http-backend` as CGI behind a small hyper server, with a public
//! and a basic-auth prefix, recording what it saw.

use std::convert::Infallible;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::Seen;

pub(super) struct HttpConfig {
    pub(super) repos: PathBuf,
    pub(super) user: String,
    pub(super) password: String,
    pub(super) backend: Vec<String>,
    pub(super) log: PathBuf,
    pub(super) seen: Arc<Seen>,
}

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// The git-http-backend binary, or `git http-backend` when it is not in the usual place.
pub(super) fn http_backend() -> Vec<String> {
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

pub(super) fn serve_http(
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
