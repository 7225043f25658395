//! A client of the OCI distribution API, just enough to list the tags of a repository:
//! `GET /v2/<name>/tags/list`, followed page by page through `Link: <...>; rel="next"`.
//!
//! Authentication is negotiated the way registries ask for it: the first request is anonymous;
//! on `401` the `WWW-Authenticate` challenge says either `Basic` (send the credentials) or
//! `Bearer realm=...,service=...,scope=...` (fetch a token from the realm, with the credentials
//! when there are any, and send that). Credentials come from a docker-config JSON
//! ([`DockerConfig`]) and never appear in errors, logs or `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use moor_types::ConditionReason;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{StatusCode, Url};

/// How Docker Hub is named in image references.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is served.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// A registry that keeps answering `next` is cut off here.
const MAX_PAGES: usize = 1000;
/// Larger answers (a tag page, a token) are refused, while reading.
const MAX_BODY: usize = 8 << 20;
/// A repository with more tags is refused: with tags of at most [`MAX_TAG_LEN`] bytes, the
/// list in memory stays under 13 MB whatever the registry sends.
const MAX_TAGS: usize = 100_000;
/// The OCI distribution spec's limit on a tag.
const MAX_TAG_LEN: usize = 128;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

use headers::{Challenge, next_link};

// What the tests of the header parsing reach through `super::*`.
#[cfg(test)]
use {headers::parse_auth_params, reqwest::header::LINK};

/// Why listing the tags of a repository failed, sorted into what a condition reports.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// An image that does not parse as `host[:port]/path`.
    #[error("invalid image {image:?}: {reason}")]
    InvalidImage {
        /// The image as given.
        image: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A docker config (Secret) that is not the JSON expected; the message never shows its content.
    #[error("invalid docker config: {0}")]
    InvalidDockerConfig(String),
    /// The request got no response from the registry (name, connection, TLS or timeout).
    #[error("registry {registry} is unreachable (repository {repository}): {reason}")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// The repository the request was for.
        repository: String,
        /// What failed, from the HTTP client or the registry.
        reason: String,
    },
    /// The registry refused the credentials (401/403).
    #[error("registry {registry} refused access to {repository}: {reason}")]
    AuthenticationFailed {
        /// The registry host.
        registry: String,
        /// The repository the request was for.
        repository: String,
        /// What failed, from the HTTP client or the registry.
        reason: String,
    },
    /// The registry has no such repository (404).
    #[error("repository {repository} not found on registry {registry}: {reason}")]
    RepositoryNotFound {
        /// The registry host.
        registry: String,
        /// The repository the request was for.
        repository: String,
        /// What failed, from the HTTP client or the registry.
        reason: String,
    },
    /// Any other failure: an unexpected status or a response that does not parse.
    #[error("registry {registry} failed on repository {repository}: {reason}")]
    Protocol {
        /// The registry host.
        registry: String,
        /// The repository the request was for.
        repository: String,
        /// What failed, from the HTTP client or the registry.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("failed to set up the registry HTTP client: {0}")]
    Client(String),
}

impl RegistryError {
    /// The condition reason this error is reported with (`Ready=False`).
    pub fn reason(&self) -> ConditionReason {
        match self {
            RegistryError::InvalidImage { .. } => ConditionReason::InvalidImage,
            RegistryError::InvalidDockerConfig(_) => ConditionReason::InvalidSecret,
            RegistryError::Unreachable { .. } => ConditionReason::RegistryUnavailable,
            RegistryError::AuthenticationFailed { .. } => ConditionReason::AuthenticationFailed,
            RegistryError::RepositoryNotFound { .. } => ConditionReason::RepositoryNotFound,
            RegistryError::Protocol { .. } | RegistryError::Client(_) => {
                ConditionReason::RegistryError
            }
        }
    }
}

/// A repository in a registry, parsed from an image reference without tag or digest:
/// `host[:port]/path` or a Docker Hub name (`nginx` is `docker.io/library/nginx`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageName {
    /// `host[:port]`, lower case; Docker Hub is [`DOCKER_HUB`].
    pub registry: String,
    /// The repository path inside the registry, e.g. `library/nginx`.
    pub repository: String,
}

impl ImageName {
    /// Parses an image reference without tag or digest, applying Docker Hub's defaults.
    pub fn parse(image: &str) -> Result<ImageName, RegistryError> {
        let bad = |reason: &str| RegistryError::InvalidImage {
            image: image.to_string(),
            reason: reason.to_string(),
        };
        let s = image.trim();
        if s.is_empty() {
            return Err(bad("the image is empty"));
        }
        if s.contains("://") {
            return Err(bad(
                "an image has no scheme: write host[:port]/repository (set insecure for plain HTTP)",
            ));
        }
        if s.contains('@') {
            return Err(bad(
                "an image to scan has no digest: write host[:port]/repository",
            ));
        }
        let (registry, path) = match s.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_ascii_lowercase(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), s.to_string()),
        };
        if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
        {
            return Err(bad(
                "an image to scan has no tag: write host[:port]/repository (the policy picks the tag)",
            ));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let path = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if !path.split('/').all(valid_path_component) {
            return Err(bad(
                "the repository path must be lower-case components of letters, digits and . _ - \
                 separated by /",
            ));
        }
        Ok(ImageName {
            registry,
            repository: path,
        })
    }

    /// The host the registry API is served on.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the distribution spec's path component.
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A username and password. `Debug` shows the username only.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// Sent in the Basic header and to the token endpoint.
    pub username: String,
    /// A password or token; never shown by `Debug`.
    pub password: String,
}

impl fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl RegistryCredentials {
    fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            BASE64.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// The registry credentials of a docker config (`~/.docker/config.json`, or a
/// `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`):
/// `{"auths": {"host": {"auth": base64("user:pass")} | {"username": .., "password": ..}}}`.
/// The legacy `.dockercfg` form (the `auths` map at the top level) is read too.
#[derive(Clone, Debug, Default)]
pub struct DockerConfig {
    /// By normalised registry host.
    auths: BTreeMap<String, RegistryCredentials>,
}

impl DockerConfig {
    /// Reads a docker config; says where the JSON is wrong, never what it holds.
    pub fn from_json(bytes: &[u8]) -> Result<DockerConfig, RegistryError> {
        let bad = |m: String| RegistryError::InvalidDockerConfig(m);
        // serde_json's messages give a position, never the content.
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let auths = match v.get("auths") {
            Some(a) => a,
            None => &v,
        };
        let auths = auths
            .as_object()
            .ok_or_else(|| bad("\"auths\" is not an object".into()))?;
        let mut out = BTreeMap::new();
        for (host, entry) in auths {
            let str_field = |k: &str| entry.get(k).and_then(|x| x.as_str()).unwrap_or("");
            let (user, pass) = if !str_field("auth").is_empty() {
                let decoded = BASE64
                    .decode(str_field("auth").trim())
                    .ok()
                    .and_then(|d| String::from_utf8(d).ok())
                    .ok_or_else(|| bad(format!("the auth of {host} is not base64 text")))?;
                let (u, p) = decoded.split_once(':').ok_or_else(|| {
                    bad(format!(
                        "the auth of {host} is not base64 of username:password"
                    ))
                })?;
                (u.to_string(), p.to_string())
            } else if !str_field("username").is_empty() {
                (
                    str_field("username").to_string(),
                    str_field("password").to_string(),
                )
            } else {
                // identitytoken / registrytoken only: not supported, so no credentials.
                continue;
            };
            out.insert(
                normalize_registry_host(host),
                RegistryCredentials {
                    username: user,
                    password: pass,
                },
            );
        }
        Ok(DockerConfig { auths: out })
    }

    /// The credentials for a registry (`host[:port]`, as [`ImageName::registry`]).
    pub fn credentials_for(&self, registry: &str) -> Option<&RegistryCredentials> {
        self.auths.get(&normalize_registry_host(registry))
    }

    /// The registries that have credentials (normalised host names).
    pub fn registries(&self) -> impl Iterator<Item = &str> {
        self.auths.keys().map(String::as_str)
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://Host:5000/x` → `host:5000`.
fn normalize_registry_host(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => host,
    }
}

/// How a [`RegistryClient`] talks to its registry.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Talk plain HTTP instead of HTTPS (registries on loopback or inside the cluster).
    pub insecure: bool,
    /// Credentials for the registry; None lists anonymously.
    pub credentials: Option<RegistryCredentials>,
    /// Per request (default 30 s).
    pub timeout: Option<Duration>,
    /// How many tags to ask for per page (`n`); `None` lets the registry choose.
    pub page_size: Option<u32>,
}

/// Lists tags of repositories of one registry, with one set of options.
#[derive(Clone, Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    opts: ClientOptions,
}

impl RegistryClient {
    /// A client with `opts`, sharing one connection pool with every other client.
    pub fn new(opts: ClientOptions) -> Result<RegistryClient, RegistryError> {
        Ok(RegistryClient {
            http: shared_http()?,
            opts,
        })
    }

    /// Every tag of the repository, in the registry's order (lexical for distribution).
    pub async fn list_tags(&self, image: &ImageName) -> Result<Vec<String>, RegistryError> {
        let scheme = if self.opts.insecure { "http" } else { "https" };
        let mut url = Url::parse(&format!(
            "{scheme}://{}/v2/{}/tags/list",
            image.api_host(),
            image.repository
        ))
        .map_err(|e| RegistryError::InvalidImage {
            image: image.to_string(),
            reason: e.to_string(),
        })?;
        if let Some(n) = self.opts.page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let origin = url.origin();
        let mut auth: Option<HeaderValue> = None;
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = self.get_authorized(image, &url, &mut auth).await?;
            let next = next_link(resp.headers(), &url);
            let body = read_body(resp)
                .await
                .map_err(|reason| self.unreachable(image, reason))?;
            let page: TagPage = serde_json::from_slice(&body).map_err(|e| {
                self.protocol(image, format!("the tag list is not valid JSON: {e}"))
            })?;
            let page = page.tags.unwrap_or_default();
            if let Some(long) = page.iter().find(|t| t.len() > MAX_TAG_LEN) {
                let start: String = long.chars().take(40).collect();
                return Err(self.protocol(
                    image,
                    format!("a tag is longer than {MAX_TAG_LEN} bytes ({start:?}...)"),
                ));
            }
            if tags.len() + page.len() > MAX_TAGS {
                return Err(self.protocol(image, format!("more than {MAX_TAGS} tags")));
            }
            tags.extend(page);
            match next {
                None => return Ok(tags),
                Some(next) if next.origin() == origin && next != url => url = next,
                Some(next) => {
                    return Err(self.protocol(
                        image,
                        format!("the next page link {next} leaves the registry or loops"),
                    ));
                }
            }
        }
        Err(self.protocol(image, format!("more than {MAX_PAGES} pages of tags")))
    }

    /// GET with the current authorization; on a 401 challenge, authorizes once and retries.
    async fn get_authorized(
        &self,
        image: &ImageName,
        url: &Url,
        auth: &mut Option<HeaderValue>,
    ) -> Result<reqwest::Response, RegistryError> {
        self.get_authorized_with(image, url, auth, "application/json")
            .await
    }

    /// [`RegistryClient::get_authorized`], asking for the media types `accept` names.
    async fn get_authorized_with(
        &self,
        image: &ImageName,
        url: &Url,
        auth: &mut Option<HeaderValue>,
        accept: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut challenged = false;
        loop {
            let mut req = self
                .http
                .get(url.clone())
                .header(ACCEPT, accept)
                .timeout(self.opts.timeout.unwrap_or(DEFAULT_TIMEOUT));
            if let Some(a) = auth.as_ref() {
                req = req.header(AUTHORIZATION, a.clone());
            }
            let resp = req.send().await.map_err(|e| {
                let mut reason = describe(&e);
                if !self.opts.insecure && reason.contains("InvalidContentType") {
                    reason.push_str(" (no TLS there: set insecure for a plain HTTP registry)");
                }
                self.unreachable(image, reason)
            })?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                let challenge = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|h| h.to_str().ok())
                    .map(Challenge::parse);
                *auth = Some(self.authorize(image, challenge).await?);
                continue;
            }
            let detail = error_detail(resp).await;
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    self.auth_failed(image, status, detail)
                }
                StatusCode::NOT_FOUND => RegistryError::RepositoryNotFound {
                    registry: image.registry.clone(),
                    repository: image.repository.clone(),
                    reason: detail,
                },
                _ => self.protocol(image, format!("HTTP {status}: {detail}")),
            });
        }
    }

    /// The Authorization header answering a 401 challenge.
    async fn authorize(
        &self,
        image: &ImageName,
        challenge: Option<Challenge>,
    ) -> Result<HeaderValue, RegistryError> {
        let header = match challenge {
            Some(Challenge::Bearer(params)) => {
                format!("Bearer {}", self.fetch_token(image, &params).await?)
            }
            Some(Challenge::Basic) => match &self.opts.credentials {
                Some(c) => c.basic_header(),
                None => {
                    return Err(self.auth_failed(
                        image,
                        StatusCode::UNAUTHORIZED,
                        "credentials are required".into(),
                    ));
                }
            },
            Some(Challenge::Other(scheme)) => {
                return Err(self.auth_failed(
                    image,
                    StatusCode::UNAUTHORIZED,
                    format!("unsupported authentication scheme {scheme}"),
                ));
            }
            None => {
                return Err(self.auth_failed(
                    image,
                    StatusCode::UNAUTHORIZED,
                    "no WWW-Authenticate challenge".into(),
                ));
            }
        };
        let mut v = HeaderValue::from_str(&header).map_err(|_| {
            self.protocol(image, "the token is not a valid header value".to_string())
        })?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// A bearer token from the challenge's realm, asked with basic credentials when we have some.
    async fn fetch_token(
        &self,
        image: &ImageName,
        params: &BTreeMap<String, String>,
    ) -> Result<String, RegistryError> {
        let realm = params.get("realm").map(String::as_str).unwrap_or("");
        let mut url = Url::parse(realm)
            .map_err(|_| self.protocol(image, format!("the token realm {realm:?} is not a URL")))?;
        let loopback = is_loopback(url.host_str().unwrap_or(""));
        match url.scheme() {
            "https" => {}
            "http" if self.opts.insecure || loopback => {}
            _ => {
                return Err(self.protocol(
                    image,
                    format!("the token realm {url} is not https (set insecure to allow it)"),
                ));
            }
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                q.append_pair("service", service);
            }
            let scope = params
                .get("scope")
                .cloned()
                .unwrap_or_else(|| format!("repository:{}:pull", image.repository));
            q.append_pair("scope", &scope);
        }
        let mut req = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .timeout(self.opts.timeout.unwrap_or(DEFAULT_TIMEOUT));
        if let Some(c) = &self.opts.credentials {
            let mut v = HeaderValue::from_str(&c.basic_header()).map_err(|_| {
                RegistryError::InvalidDockerConfig(
                    "the credentials are not valid header text".into(),
                )
            })?;
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        let host = url.host_str().unwrap_or("").to_string();
        let resp = req.send().await.map_err(|e| {
            self.unreachable(image, format!("token service {host}: {}", describe(&e)))
        })?;
        let status = resp.status();
        if !status.is_success() {
            let detail = error_detail(resp).await;
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    self.auth_failed(image, status, format!("token service {host}: {detail}"))
                }
                _ => self.protocol(
                    image,
                    format!("token service {host} answered HTTP {status}: {detail}"),
                ),
            });
        }
        let body = read_body(resp)
            .await
            .map_err(|reason| self.unreachable(image, reason))?;
        let t: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            self.protocol(image, format!("token service {host} sent no JSON token"))
        })?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.protocol(image, format!("token service {host} sent no token")))
    }

    fn unreachable(&self, image: &ImageName, reason: String) -> RegistryError {
        RegistryError::Unreachable {
            registry: image.registry.clone(),
            repository: image.repository.clone(),
            reason,
        }
    }

    fn protocol(&self, image: &ImageName, reason: String) -> RegistryError {
        RegistryError::Protocol {
            registry: image.registry.clone(),
            repository: image.repository.clone(),
            reason,
        }
    }

    fn auth_failed(&self, image: &ImageName, status: StatusCode, detail: String) -> RegistryError {
        let who = match &self.opts.credentials {
            Some(c) => format!("credentials of user {:?} rejected", c.username),
            None => "anonymous access denied (set secretRef to a docker-config Secret)".into(),
        };
        RegistryError::AuthenticationFailed {
            registry: image.registry.clone(),
            repository: image.repository.clone(),
            reason: format!("{who} (HTTP {}): {detail}", status.as_u16()),
        }
    }
}

#[derive(serde::Deserialize)]
struct TagPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// One HTTP client for the process (connection pool, TLS roots loaded once): rustls with the
/// ring provider, as kube uses, and the platform's certificate verifier.
fn shared_http() -> Result<reqwest::Client, RegistryError> {
    static HTTP: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    HTTP.get_or_init(|| {
        use rustls_platform_verifier::BuilderVerifierExt as _;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_platform_verifier()
            .map_err(|e| e.to_string())?
            .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("moor-registry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| describe(&e))
    })
    .clone()
    .map_err(RegistryError::Client)
}

async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is larger than {MAX_BODY} bytes");
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The distribution error list (`{"errors":[{"code","message"}]}`), or the start of the body.
async fn error_detail(resp: reqwest::Response) -> String {
    let status = resp.status();
    let body = read_body(resp).await.unwrap_or_default();
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(e) = serde_json::from_slice::<Errors>(&body)
        && !e.errors.is_empty()
    {
        return e
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no details")
            .to_string()
    } else {
        text.chars().take(200).collect()
    }
}

/// A transport error as a readable chain, without reqwest's "error sending request for url".
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = cur {
        let s = err.to_string();
        // hyper-util's wrapper says nothing its source does not.
        if !s.starts_with("client error (") && !parts.iter().any(|p| p == &s) {
            parts.push(s);
        }
        cur = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// `localhost`, `127.x.y.z`, `[::1]`.
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

mod content;
mod headers;
#[cfg(test)]
mod tests;

pub use content::{Descriptor, MAX_MANIFEST, Manifest};
