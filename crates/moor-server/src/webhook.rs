//! Git push webhooks: verify who sent them, then turn them into a [`PushEvent`].
//!
//! Verification always happens before the payload is parsed or the event type is looked at, so
//! an unauthenticated caller learns nothing beyond "not verified".

use std::fmt;

use axum::http::{HeaderMap, StatusCode, header};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Secrets for each webhook kind; a kind left `None` (or empty) is rejected.
#[derive(Clone, Default)]
pub struct WebhookConfig {
    /// Key of GitHub's `X-Hub-Signature-256` HMAC.
    pub github_secret: Option<String>,
    /// Value GitLab sends in `X-Gitlab-Token`.
    pub gitlab_token: Option<String>,
    /// Bearer token of the generic `{"repoURL", "revision"}` webhook.
    pub generic_token: Option<String>,
}

// Hand-written so that `{:?}` in a log line can never print a secret.
impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &Option<String>| {
            if configured(s).is_some() {
                "<set>"
            } else {
                "<unset>"
            }
        };
        f.debug_struct("WebhookConfig")
            .field("github_secret", &shown(&self.github_secret))
            .field("gitlab_token", &shown(&self.gitlab_token))
            .field("generic_token", &shown(&self.generic_token))
            .finish()
    }
}

/// An empty secret would let anyone sign, so it counts as not configured.
fn configured(secret: &Option<String>) -> Option<&str> {
    secret.as_deref().filter(|s| !s.is_empty())
}

/// A verified push to a repository: refresh the apps that follow it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushEvent {
    /// Every URL the payload gives for the repository (https, ssh, web), as sent; match them
    /// against apps after normalising (`moor_git::normalize_url`).
    pub repo_urls: Vec<String>,
    /// Full ref (`refs/heads/main`, `refs/tags/v1`), or a bare revision from the generic hook
    /// that cannot be told to be a branch or a tag.
    pub git_ref: Option<String>,
    /// The branch pushed, when the ref is `refs/heads/...`.
    pub branch: Option<String>,
    /// The tag pushed, when the ref is `refs/tags/...`.
    pub tag: Option<String>,
    /// Commit the ref now points at; `None` when the ref was deleted or not given.
    pub after: Option<String>,
}

impl PushEvent {
    /// Whether an app following `target_revision` of one of [`Self::repo_urls`] may have moved.
    /// Errs on the side of refreshing: a push without ref information matches everything, and
    /// `HEAD` (or empty) matches any branch push since the default branch is not known here.
    pub fn matches_revision(&self, target_revision: &str) -> bool {
        let target = target_revision.trim();
        if self.git_ref.is_none() && self.branch.is_none() && self.tag.is_none() {
            return true;
        }
        if target.is_empty() || target == "HEAD" {
            return self.tag.is_none();
        }
        let same = |v: &Option<String>| v.as_deref() == Some(target);
        same(&self.git_ref) || same(&self.branch) || same(&self.tag) || same(&self.after)
    }

    /// Fills `git_ref`, `branch` and `tag` from a ref or bare revision.
    fn set_ref(&mut self, git_ref: Option<String>) {
        let Some(git_ref) = git_ref.filter(|r| !r.is_empty()) else {
            return;
        };
        if let Some(branch) = git_ref.strip_prefix("refs/heads/") {
            self.branch = Some(branch.to_string());
        } else if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
            self.tag = Some(tag.to_string());
        } else if is_commit(&git_ref) {
            self.after = Some(git_ref);
            return;
        }
        self.git_ref = Some(git_ref);
    }

    fn add_urls<'a>(&mut self, urls: impl IntoIterator<Item = &'a Option<String>>) {
        for url in urls.into_iter().flatten() {
            let url = url.trim();
            if !url.is_empty() && !self.repo_urls.iter().any(|u| u == url) {
                self.repo_urls.push(url.to_string());
            }
        }
    }
}

/// A full SHA-1 or SHA-256 object name.
fn is_commit(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `None` for the all-zero object name GitHub and GitLab send when a ref is deleted.
fn commit(s: Option<String>) -> Option<String> {
    s.filter(|c| !c.is_empty() && !c.bytes().all(|b| b == b'0'))
}

/// Which sender a webhook request claims to come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookKind {
    /// `X-GitHub-Event` present: verified by the HMAC in `X-Hub-Signature-256`.
    GitHub,
    /// `X-Gitlab-Event` present: verified by the token in `X-Gitlab-Token`.
    GitLab,
    /// Anything else: verified by the token in `X-Moor-Token`.
    Generic,
}

impl WebhookKind {
    /// GitHub and GitLab announce themselves with an event header; anything else is generic.
    pub fn detect(headers: &HeaderMap) -> Self {
        if headers.contains_key(GITHUB_EVENT) {
            Self::GitHub
        } else if headers.contains_key(GITLAB_EVENT) {
            Self::GitLab
        } else {
            Self::Generic
        }
    }
}

impl fmt::Display for WebhookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::GitHub => "GitHub",
            Self::GitLab => "GitLab",
            Self::Generic => "generic",
        })
    }
}

const GITHUB_EVENT: &str = "x-github-event";
const GITHUB_SIGNATURE: &str = "x-hub-signature-256";
const GITLAB_EVENT: &str = "x-gitlab-event";
const GITLAB_TOKEN: &str = "x-gitlab-token";
const MOOR_TOKEN: &str = "x-moor-token";

/// What a verified webhook asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A push: the apps following that repository and ref are refreshed.
    Push(PushEvent),
    /// Verified, but nothing to refresh (a ping, or an event other than a push).
    Ignored(String),
}

/// Why a webhook request was refused; the message goes back to the sender, so it never holds
/// a secret.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No secret is set for this sender kind: every such request is refused.
    #[error("{0} webhooks are not configured on this server")]
    NotConfigured(WebhookKind),
    /// The signature or token header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header is not text, or the signature is not `sha256=<hex>`.
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    /// The HMAC of the body does not match: wrong secret or altered payload.
    #[error("signature does not match the payload")]
    BadSignature,
    /// The token sent is not the configured one.
    #[error("token does not match")]
    BadToken,
    /// Verified, but the body is not the JSON expected.
    #[error("invalid payload: {0}")]
    BadPayload(String),
    /// Verified, but there is no repository to refresh.
    #[error("payload names no repository URL")]
    NoRepository,
}

impl WebhookError {
    /// 401 for anything that failed verification, 400 for a verified but unusable payload.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotConfigured(_)
            | Self::MissingHeader(_)
            | Self::MalformedHeader(_)
            | Self::BadSignature
            | Self::BadToken => StatusCode::UNAUTHORIZED,
            Self::BadPayload(_) | Self::NoRepository => StatusCode::BAD_REQUEST,
        }
    }

    fn payload(err: impl fmt::Display) -> Self {
        // serde_json messages are one line already; keep the response to one line regardless.
        Self::BadPayload(err.to_string().replace('\n', " "))
    }
}

/// Verifies and parses one webhook request of the given kind.
pub fn handle(
    config: &WebhookConfig,
    kind: WebhookKind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<WebhookOutcome, WebhookError> {
    match kind {
        WebhookKind::GitHub => {
            let secret =
                configured(&config.github_secret).ok_or(WebhookError::NotConfigured(kind))?;
            verify_github_signature(
                secret.as_bytes(),
                body,
                header_str(headers, GITHUB_SIGNATURE)?,
            )?;
            let event = header_str(headers, GITHUB_EVENT)?
                .ok_or(WebhookError::MissingHeader("X-GitHub-Event"))?;
            match event {
                "push" => parse_github_push(&github_json(headers, body)?).map(WebhookOutcome::Push),
                "ping" => Ok(WebhookOutcome::Ignored("ping".to_string())),
                other => Ok(WebhookOutcome::Ignored(format!(
                    "GitHub event {other:?} ignored"
                ))),
            }
        }
        WebhookKind::GitLab => {
            let token =
                configured(&config.gitlab_token).ok_or(WebhookError::NotConfigured(kind))?;
            verify_token(token, header_str(headers, GITLAB_TOKEN)?, "X-Gitlab-Token")?;
            let event = header_str(headers, GITLAB_EVENT)?
                .ok_or(WebhookError::MissingHeader("X-Gitlab-Event"))?;
            match event {
                "Push Hook" | "Tag Push Hook" => parse_gitlab_push(body).map(WebhookOutcome::Push),
                other => Ok(WebhookOutcome::Ignored(format!(
                    "GitLab event {other:?} ignored"
                ))),
            }
        }
        WebhookKind::Generic => {
            let token =
                configured(&config.generic_token).ok_or(WebhookError::NotConfigured(kind))?;
            verify_token(token, generic_token(headers)?, "Authorization")?;
            parse_generic(body).map(WebhookOutcome::Push)
        }
    }
}

/// A header as text; a value that is not visible ASCII is malformed rather than missing.
fn header_str<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, WebhookError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| WebhookError::MalformedHeader(name))
        })
        .transpose()
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the HMAC-SHA256 of the raw body.
pub fn verify_github_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingHeader("X-Hub-Signature-256"))?;
    let hex_sig = header
        .strip_prefix("sha256=")
        .ok_or(WebhookError::MalformedHeader("X-Hub-Signature-256"))?;
    let sig =
        hex::decode(hex_sig).map_err(|_| WebhookError::MalformedHeader("X-Hub-Signature-256"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    // verify_slice compares in constant time.
    mac.verify_slice(&sig)
        .map_err(|_| WebhookError::BadSignature)
}

/// Constant-time token check. Both sides are hashed first so that neither the content nor the
/// length of the expected token leaks through timing.
fn verify_token(
    expected: &str,
    given: Option<&str>,
    header: &'static str,
) -> Result<(), WebhookError> {
    let given = given.ok_or(WebhookError::MissingHeader(header))?;
    let (a, b) = (
        Sha256::digest(expected.as_bytes()),
        Sha256::digest(given.as_bytes()),
    );
    if bool::from(a.ct_eq(&b)) {
        Ok(())
    } else {
        Err(WebhookError::BadToken)
    }
}

/// `Authorization: Bearer <token>`, else `X-Moor-Token: <token>`.
fn generic_token(headers: &HeaderMap) -> Result<Option<&str>, WebhookError> {
    if let Some(auth) = header_str(headers, header::AUTHORIZATION.as_str())? {
        let bearer = auth
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        if bearer.is_some() {
            return Ok(bearer);
        }
    }
    header_str(headers, MOOR_TOKEN)
}

/// GitHub may be set to send `application/x-www-form-urlencoded` with the JSON in `payload`.
fn github_json(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, WebhookError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Ok(body.to_vec());
    }
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned().into_bytes())
        .ok_or_else(|| WebhookError::BadPayload("form body has no payload field".to_string()))
}

#[derive(Deserialize)]
struct GithubPush {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    after: Option<String>,
    repository: Option<GithubRepo>,
}

#[derive(Deserialize)]
struct GithubRepo {
    html_url: Option<String>,
    clone_url: Option<String>,
    ssh_url: Option<String>,
    git_url: Option<String>,
}

pub(crate) fn parse_github_push(body: &[u8]) -> Result<PushEvent, WebhookError> {
    let push: GithubPush = serde_json::from_slice(body).map_err(WebhookError::payload)?;
    let mut event = PushEvent::default();
    if let Some(r) = &push.repository {
        event.add_urls([&r.html_url, &r.clone_url, &r.ssh_url, &r.git_url]);
    }
    event.set_ref(push.git_ref);
    event.after = commit(push.after);
    finish(event)
}

#[derive(Deserialize)]
struct GitlabPush {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    after: Option<String>,
    checkout_sha: Option<String>,
    project: Option<GitlabProject>,
    repository: Option<GitlabRepository>,
}

#[derive(Deserialize)]
struct GitlabProject {
    web_url: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
}

#[derive(Deserialize)]
struct GitlabRepository {
    homepage: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
}

pub(crate) fn parse_gitlab_push(body: &[u8]) -> Result<PushEvent, WebhookError> {
    let push: GitlabPush = serde_json::from_slice(body).map_err(WebhookError::payload)?;
    let mut event = PushEvent::default();
    if let Some(p) = &push.project {
        event.add_urls([&p.web_url, &p.git_http_url, &p.git_ssh_url]);
    }
    if let Some(r) = &push.repository {
        event.add_urls([&r.homepage, &r.git_http_url, &r.git_ssh_url]);
    }
    event.set_ref(push.git_ref);
    // For an annotated tag `after` is the tag object; checkout_sha is the commit.
    event.after = commit(push.checkout_sha).or_else(|| commit(push.after));
    finish(event)
}

#[derive(Deserialize)]
struct GenericPush {
    #[serde(rename = "repoURL", alias = "repoUrl")]
    repo_url: Option<String>,
    revision: Option<String>,
}

pub(crate) fn parse_generic(body: &[u8]) -> Result<PushEvent, WebhookError> {
    let push: GenericPush = serde_json::from_slice(body).map_err(WebhookError::payload)?;
    let mut event = PushEvent::default();
    event.add_urls([&push.repo_url]);
    event.set_ref(push.revision.map(|r| r.trim().to_string()));
    finish(event)
}

fn finish(event: PushEvent) -> Result<PushEvent, WebhookError> {
    if event.repo_urls.is_empty() {
        Err(WebhookError::NoRepository)
    } else {
        Ok(event)
    }
}

#[cfg(test)]
mod tests;
