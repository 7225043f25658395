//! Who the caller is and what they may do: the server never acts with its own powers for a
//! user. In server mode a bearer token (header or `moor_session` cookie) is checked by
//! TokenReview and every read and action by SubjectAccessReview against the Application; writes
//! go out with a client built from the caller's own token, so the API server's RBAC and audit
//! log see the user. In local mode (`moor ui`) the kubeconfig's identity is the user, checked
//! with SelfSubjectAccessReview.
//!
//! Tokens are kept only as their SHA-256 in the caches and never logged or put in errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec, SubjectAccessReview,
    SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use kube::{Client, Config};
use sha2::{Digest, Sha256};

use super::UiError;

/// Cookie holding the session's token (HttpOnly).
pub(crate) const SESSION_COOKIE: &str = "moor_session";
/// Cookie holding the CSRF token (readable by the page's script).
pub(crate) const CSRF_COOKIE: &str = "moor_csrf";
/// Header a cookie-authenticated POST repeats the CSRF cookie in.
pub(crate) const CSRF_HEADER: &str = "x-moor-csrf";

/// How long a TokenReview's answer is reused.
const IDENTITY_TTL: Duration = Duration::from_secs(60);
/// How long a refused token is remembered (short: a token may be created just after).
const REFUSED_TTL: Duration = Duration::from_secs(5);
/// How long an access decision is reused.
const DECISION_TTL: Duration = Duration::from_secs(10);
/// Entries per cache before expired ones are dropped (and, if still full, all): bounds the
/// memory a flood of distinct tokens or apps can take.
const CACHE_MAX: usize = 50_000;
/// Longest token accepted; service account tokens are about 1 KiB.
const TOKEN_MAX: usize = 16 * 1024;

/// Where the server runs, which decides how callers are authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `moor controller --ui-addr`: bearer tokens, TokenReview, SubjectAccessReview.
    Server,
    /// `moor ui`: the kubeconfig's identity, SelfSubjectAccessReview.
    Local,
}

impl Mode {
    /// As `GET /api/v1/me` names it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Server => "server",
            Mode::Local => "local",
        }
    }
}

/// A user as the API server knows them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Identity {
    /// Username.
    pub user: String,
    /// Groups.
    pub groups: Vec<String>,
    uid: Option<String>,
    extra: BTreeMap<String, Vec<String>>,
}

/// An authenticated request's caller. Not `Debug`: it holds the token.
#[derive(Clone)]
pub(crate) struct Caller {
    /// Who they are.
    pub identity: Arc<Identity>,
    /// The cache key of the identity: the token's SHA-256, or `local`.
    key: String,
    /// The bearer token (server mode), for the caller's own client.
    token: Option<String>,
    /// Authenticated by the session cookie, so POSTs need the CSRF header.
    pub by_cookie: bool,
}

/// One access decision's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DecisionKey {
    who: String,
    verb: &'static str,
    group: String,
    namespace: Option<String>,
    name: Option<String>,
}

type Cache<K, V> = Mutex<HashMap<K, (Instant, V)>>;

/// Authentication and authorization, with their caches.
pub(crate) struct Auth {
    /// Server or local.
    pub mode: Mode,
    /// The server's own client: reviews, and reads once a review allowed them.
    client: Client,
    /// The server's config, whose cluster and TLS settings the callers' clients reuse.
    config: Config,
    identities: Cache<String, Option<Arc<Identity>>>,
    decisions: Cache<DecisionKey, bool>,
    /// Local mode: the kubeconfig's identity (looked up once) and the process's CSRF token.
    local: tokio::sync::OnceCell<Arc<Identity>>,
    local_csrf: String,
}

impl Auth {
    /// Auth for `mode` with the server's `config` (and its client).
    pub(crate) fn new(mode: Mode, config: Config) -> Result<Self, kube::Error> {
        Ok(Auth {
            mode,
            client: Client::try_from(config.clone())?,
            config,
            identities: Mutex::default(),
            decisions: Mutex::default(),
            local: tokio::sync::OnceCell::new(),
            local_csrf: random_token(),
        })
    }

    /// The server's own client.
    pub(crate) fn server_client(&self) -> &Client {
        &self.client
    }

    /// The caller of a request, or 401.
    pub(crate) async fn caller(&self, headers: &HeaderMap) -> Result<Caller, UiError> {
        if self.mode == Mode::Local {
            return Ok(Caller {
                identity: self.local_identity().await,
                key: "local".into(),
                token: None,
                by_cookie: false,
            });
        }
        let (token, by_cookie) = match bearer(headers) {
            Some(t) => (t, false),
            None => match cookie(headers, SESSION_COOKIE) {
                Some(t) => (t, true),
                None => {
                    return Err(UiError::Unauthenticated(
                        "no credentials: send `Authorization: Bearer TOKEN` or log in".into(),
                    ));
                }
            },
        };
        let identity = self.review_token(&token).await?;
        Ok(Caller {
            identity,
            key: token_key(&token),
            token: Some(token),
            by_cookie,
        })
    }

    /// The identity the API server gives `token` (TokenReview, cached), or 401.
    pub(crate) async fn review_token(&self, token: &str) -> Result<Arc<Identity>, UiError> {
        let refused = || UiError::Unauthenticated("the API server did not accept the token".into());
        if token.is_empty() || token.len() > TOKEN_MAX || !token.bytes().all(is_token_byte) {
            return Err(refused());
        }
        let key = token_key(token);
        if let Some(found) = cached(&self.identities, &key) {
            return found.ok_or_else(refused);
        }
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let status = api
            .create(&PostParams::default(), &review)
            .await
            // The request holds the token; kube's error does not, but say only what failed.
            .map_err(|e| UiError::Internal(format!("TokenReview failed: {}", kube_reason(&e))))?
            .status
            .unwrap_or_default();
        let identity = match (status.authenticated, status.user) {
            (Some(true), Some(u)) => Some(Arc::new(Identity {
                user: u.username.unwrap_or_default(),
                groups: u.groups.unwrap_or_default(),
                uid: u.uid,
                extra: u.extra.unwrap_or_default(),
            })),
            _ => None,
        };
        let ttl = if identity.is_some() {
            IDENTITY_TTL
        } else {
            REFUSED_TTL
        };
        remember(&self.identities, key, identity.clone(), ttl);
        identity.ok_or_else(refused)
    }

    /// Whether the caller's token is still accepted (local mode: always); cached like
    /// [`Auth::review_token`], so long event streams end within a minute of a revocation.
    pub(crate) async fn still_valid(&self, caller: &Caller) -> bool {
        match &caller.token {
            Some(t) => self.review_token(t).await.is_ok(),
            None => true,
        }
    }

    /// The kubeconfig's user (SelfSubjectReview), for `/me` in local mode.
    async fn local_identity(&self) -> Arc<Identity> {
        self.local
            .get_or_init(|| async {
                let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
                let review = api
                    .create(&PostParams::default(), &SelfSubjectReview::default())
                    .await;
                let info = review.ok().and_then(|r| r.status).and_then(|s| s.user_info);
                Arc::new(match info {
                    Some(u) => Identity {
                        user: u.username.unwrap_or_default(),
                        groups: u.groups.unwrap_or_default(),
                        ..Identity::default()
                    },
                    // Older API servers: the name is only for display.
                    None => Identity {
                        user: "(kubeconfig user)".into(),
                        ..Identity::default()
                    },
                })
            })
            .await
            .clone()
    }

    /// Refuses (403) a POST that a page of another site could have made: a cookie-authenticated
    /// one without the CSRF header matching the CSRF cookie, and in local mode (no credentials
    /// at all in the request) one without the process's CSRF token. Bearer headers are never
    /// sent by browsers on their own, so they need no token.
    pub(crate) fn check_csrf(&self, caller: &Caller, headers: &HeaderMap) -> Result<(), UiError> {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let expected = match self.mode {
            Mode::Local => Some(self.local_csrf.clone()),
            Mode::Server if caller.by_cookie => cookie(headers, CSRF_COOKIE),
            Mode::Server => return Ok(()),
        };
        match (sent, expected) {
            (Some(s), Some(e)) if !e.is_empty() && same(s.as_bytes(), e.as_bytes()) => Ok(()),
            _ => Err(UiError::Forbidden(format!(
                "missing or wrong {CSRF_HEADER} header: repeat the {CSRF_COOKIE} cookie in it"
            ))),
        }
    }

    /// The CSRF token of local mode (served by `/me`).
    pub(crate) fn local_csrf(&self) -> &str {
        &self.local_csrf
    }

    /// Whether `caller` may `verb` Applications of `group`, in `namespace` (None: all) and named
    /// `name` (None: any), by (Self)SubjectAccessReview, cached 10 s.
    pub(crate) async fn allowed(
        &self,
        caller: &Caller,
        verb: &'static str,
        group: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<bool, UiError> {
        let key = DecisionKey {
            who: caller.key.clone(),
            verb,
            group: group.to_string(),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
        };
        if let Some(allowed) = cached(&self.decisions, &key) {
            return Ok(allowed);
        }
        let attrs = ResourceAttributes {
            verb: Some(verb.into()),
            group: Some(group.into()),
            resource: Some("applications".into()),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
            ..Default::default()
        };
        let allowed = match self.mode {
            Mode::Local => {
                let review = SelfSubjectAccessReview {
                    spec: SelfSubjectAccessReviewSpec {
                        resource_attributes: Some(attrs),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
                api.create(&PostParams::default(), &review)
                    .await
                    .map(|r| r.status.is_some_and(|s| s.allowed))
            }
            Mode::Server => {
                let id = &caller.identity;
                let review = SubjectAccessReview {
                    spec: SubjectAccessReviewSpec {
                        resource_attributes: Some(attrs),
                        user: Some(id.user.clone()),
                        groups: Some(id.groups.clone()),
                        uid: id.uid.clone(),
                        extra: Some(id.extra.clone()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
                api.create(&PostParams::default(), &review)
                    .await
                    .map(|r| r.status.is_some_and(|s| s.allowed))
            }
        }
        .map_err(|e| {
            UiError::Internal(format!(
                "the access review of {verb} applications.{group} failed: {}",
                kube_reason(&e)
            ))
        })?;
        remember(&self.decisions, key, allowed, DECISION_TTL);
        Ok(allowed)
    }

    /// A client that acts as the caller: in server mode the server's cluster and TLS settings
    /// with the caller's token as the only credential (never the server's client certificate
    /// or ServiceAccount token); in local mode the kubeconfig's, which is the caller's.
    pub(crate) fn client_for(&self, caller: &Caller) -> Result<Client, UiError> {
        let Some(token) = &caller.token else {
            return Ok(self.client.clone());
        };
        let mut config = self.config.clone();
        // Built by deserialising: the token field's secret type is kube's own.
        config.auth_info = serde_json::from_value(serde_json::json!({ "token": token }))
            .map_err(|_| UiError::Internal("could not build the caller's credentials".into()))?;
        // No header may make the server's identity act in the caller's place.
        config
            .headers
            .retain(|(name, _)| !name.as_str().starts_with("impersonate-"));
        Client::try_from(config)
            .map_err(|e| UiError::Internal(format!("could not build the caller's client: {e}")))
    }
}

/// The `Authorization: Bearer` token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The value of cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Bytes a token may hold: visible ASCII without the cookie separators, so it can never break
/// out of the Set-Cookie header it is written into.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\')
}

/// 32 random bytes, hex: CSRF tokens.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    // No randomness means no safe token: the process cannot serve the UI.
    getrandom::fill(&mut b).expect("the operating system's random source works");
    hex::encode(b)
}

fn token_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the API server said, without anything of the request.
fn kube_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

fn cached<K: std::hash::Hash + Eq, V: Clone>(cache: &Cache<K, V>, key: &K) -> Option<V> {
    let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .get(key)
        .filter(|(until, _)| Instant::now() < *until)
        .map(|(_, v)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(cache: &Cache<K, V>, key: K, value: V, ttl: Duration) {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    if cache.len() >= CACHE_MAX {
        cache.retain(|_, (until, _)| now < *until);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
    }
    cache.insert(key, (now + ttl, value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn tokens_from_headers_and_cookies() {
        let h = headers(&[("authorization", "Bearer abc.def")]);
        assert_eq!(bearer(&h).as_deref(), Some("abc.def"));
        assert_eq!(bearer(&headers(&[("authorization", "Basic xyz")])), None);
        let h = headers(&[("cookie", "a=1; moor_session=tok; moor_csrf=c")]);
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, CSRF_COOKIE).as_deref(), Some("c"));
        assert_eq!(cookie(&h, "moor"), None);
        assert!(!b"a;b".iter().all(|b| is_token_byte(*b)));
        assert!(b"eyJ.a-b_c=".iter().all(|b| is_token_byte(*b)));
    }

    #[test]
    fn caches_expire_and_stay_bounded() {
        let cache: Cache<u32, bool> = Mutex::default();
        remember(&cache, 1, true, Duration::from_secs(10));
        remember(&cache, 2, true, Duration::ZERO);
        assert_eq!(cached(&cache, &1), Some(true));
        assert_eq!(cached(&cache, &2), None);
        for i in 0..(CACHE_MAX as u32 + 10) {
            remember(&cache, i, false, Duration::from_secs(10));
        }
        assert!(cache.lock().unwrap().len() <= CACHE_MAX);
    }

    #[test]
    fn random_tokens_differ_and_compare_exactly() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(a.as_bytes(), a.as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
        assert!(!same(b"ab", b"abc"));
        assert_eq!(token_key("t").len(), 64);
    }
}
