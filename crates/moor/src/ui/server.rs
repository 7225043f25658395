//! The routes of the UI and its JSON API (`docs/ui-api.md`), their shared state, and the two
//! ways to run them: inside `moor controller --ui-addr` (server mode) and `moor ui` (local mode).
//!
//! Every route that names an app checks the caller's `get` on it first and answers 404 when it
//! is refused, so a name the caller may not see does not leak; actions then need `patch` (403).

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::header::{HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use kube::Api;
use moor_controller::crd::{ARGO_GROUP, Application, MOOR_GROUP, api_resource};
use serde::Deserialize;
use serde_json::json;

use super::auth::{Auth, CSRF_COOKIE, Caller, Mode, SESSION_COOKIE};
use super::list::{AppSummary, ListQuery, page};
use super::render::Renders;
use super::store::{AppKey, Change, Store};
use super::{UiError, actions, assets, history, resource, tree};

/// Largest request body: actions and login are small JSON documents.
const MAX_BODY: usize = 64 * 1024;
/// Access reviews run at once when a list needs many (per namespace or per app).
const REVIEWS_AT_ONCE: usize = 32;
/// The Content-Security-Policy of every response: only the embedded script and style run.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                   script-src 'self'; frame-ancestors 'none'";

/// Event streams open at once; each holds a receiver of every change, so they are bounded.
const MAX_STREAMS: usize = 1024;

/// The state every route shares.
struct Ui {
    auth: Auth,
    store: Arc<Store>,
    renders: Renders,
    streams: Arc<tokio::sync::Semaphore>,
}

type Shared = State<Arc<Ui>>;

/// Binds `addr` and returns the address bound (port 0 picks one) and the server, which runs
/// until it fails. `namespace` limits the apps shown, as the controller's --app-namespace does.
pub(crate) async fn start(
    mode: Mode,
    config: kube::Config,
    addr: SocketAddr,
    namespace: Option<String>,
) -> anyhow::Result<(SocketAddr, impl Future<Output = anyhow::Result<()>>)> {
    let auth = Auth::new(mode, config).context("failed to create the UI's Kubernetes client")?;
    // Bound first: a taken address fails before any watch starts.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr} for the UI"))?;
    let bound = listener.local_addr()?;
    let store = Store::new();
    store.watch(auth.server_client().clone(), namespace);
    let ui = Arc::new(Ui {
        auth,
        store,
        renders: Renders::new(),
        streams: Arc::new(tokio::sync::Semaphore::new(MAX_STREAMS)),
    });
    let app = router(ui);
    Ok((bound, async move {
        axum::serve(listener, app)
            .await
            .context("the UI server failed")?;
        anyhow::bail!("the UI server stopped")
    }))
}

/// `moor ui`: local mode on 127.0.0.1 with the kubeconfig's identity.
pub(crate) async fn run_local(args: crate::cli::UiArgs) -> anyhow::Result<u8> {
    let config = crate::kubeconfig::load(args.kubeconfig.as_deref(), args.context.clone()).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let (bound, serve) = start(Mode::Local, config, addr, args.namespace).await?;
    println!("moor ui: http://{bound}/");
    serve.await?;
    Ok(0)
}

fn router(ui: Arc<Ui>) -> Router {
    let app = "/api/v1/apps/{group}/{ns}/{name}";
    Router::new()
        .route("/", get(assets::index))
        .route("/ui/app.js", get(assets::app_js))
        .route("/ui/apps.js", get(assets::apps_js))
        .route("/ui/app-page.js", get(assets::app_page_js))
        .route("/ui/style.css", get(assets::style_css))
        .route("/api/v1/me", get(me))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/apps", get(apps))
        .route("/api/v1/events", get(events))
        .route(app, get(app_detail))
        .route(&format!("{app}/tree"), get(app_tree))
        .route(&format!("{app}/resource"), get(app_resource))
        .route(&format!("{app}/history"), get(app_history))
        .route(&format!("{app}/history/diff"), get(app_history_diff))
        .route(&format!("{app}/{{action}}"), post(action))
        .fallback(|| async { UiError::NotFound("no such page or API route".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(ui.clone(), guard))
        .with_state(ui)
}

/// Refuses requests a page of another site could make, and adds the security headers.
async fn guard(State(ui): Shared, req: Request, next: Next) -> Response {
    let headers = req.headers();
    // Local mode has no credentials in the request: a DNS name of the attacker's resolving to
    // 127.0.0.1 (DNS rebinding) must not reach it.
    if ui.auth.mode == Mode::Local && !loopback_host(headers) {
        return UiError::Forbidden("moor ui answers only to 127.0.0.1 and localhost".into())
            .into_response();
    }
    if req.method() == Method::POST && cross_origin(headers) {
        return UiError::Forbidden("cross-origin requests are refused".into()).into_response();
    }
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if api {
        // Answers depend on who asks; no cache may keep them.
        h.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    resp
}

fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

/// An Origin header naming another host than the one asked (browsers send it on POSTs). Behind
/// a proxy that rewrites Host, the X-Forwarded-Host it sets counts too: a page of another site
/// cannot set that header without a CORS preflight, which this server never grants.
fn cross_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    let asked = |name| {
        let value = headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok());
        value.map(|v| v.split(',').next().unwrap_or_default().trim())
    };
    let same = |h: Option<&str>| h.is_some() && h == authority;
    !(same(asked(HOST)) || same(asked(HeaderName::from_static("x-forwarded-host"))))
}

/// `GET /api/v1/me`: the mode and the caller; the CSRF token the page repeats on POSTs.
async fn me(State(ui): Shared, headers: HeaderMap) -> Result<Response, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let csrf = match ui.auth.mode {
        Mode::Local => Some(ui.auth.local_csrf().to_string()),
        Mode::Server => super::auth::cookie(&headers, CSRF_COOKIE).filter(|_| caller.by_cookie),
    };
    let body = Json(json!({
        "mode": ui.auth.mode.as_str(),
        "user": caller.identity.user,
        "groups": caller.identity.groups,
        "csrf": csrf,
    }));
    if ui.auth.mode == Mode::Local {
        // The page reads the token from this cookie, as after a login in server mode.
        let c = format!(
            "{CSRF_COOKIE}={}; SameSite=Strict; Path=/",
            ui.auth.local_csrf()
        );
        return Ok(([(SET_COOKIE, header(&c)?)], body).into_response());
    }
    Ok(body.into_response())
}

/// `POST /api/v1/login` `{"token": "..."}`: checks the token (TokenReview) and keeps it in an
/// HttpOnly cookie, with a fresh CSRF token.
async fn login(State(ui): Shared, headers: HeaderMap, body: Bytes) -> Result<Response, UiError> {
    if ui.auth.mode == Mode::Local {
        return Err(UiError::BadRequest(
            "moor ui uses the kubeconfig's identity: no login".into(),
        ));
    }
    #[derive(Deserialize)]
    struct Login {
        token: String,
    }
    let login: Login = serde_json::from_slice(&body)
        .map_err(|_| UiError::BadRequest("the body must be JSON {\"token\": \"...\"}".into()))?;
    let token = login.token.trim();
    let identity = ui.auth.review_token(token).await?;
    let csrf = super::auth::random_token();
    // review_token accepted only cookie-safe bytes.
    // Behind a TLS-terminating proxy the cookies must never travel over plain HTTP.
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = if https { "; Secure" } else { "" };
    let session = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}");
    let csrf_cookie = format!("{CSRF_COOKIE}={csrf}; SameSite=Strict; Path=/{secure}");
    Ok((
        // Appended: an array of headers would keep only the last Set-Cookie.
        AppendHeaders([
            (SET_COOKIE, header(&session)?),
            (SET_COOKIE, header(&csrf_cookie)?),
        ]),
        Json(json!({"ok": true, "user": identity.user, "groups": identity.groups, "csrf": csrf})),
    )
        .into_response())
}

/// `POST /api/v1/logout`: clears both cookies.
async fn logout() -> Result<Response, UiError> {
    let clear = |name: &str| format!("{name}=; Max-Age=0; SameSite=Strict; Path=/");
    Ok((
        // Appended: an array of headers would keep only the last Set-Cookie.
        AppendHeaders([
            (SET_COOKIE, header(&clear(SESSION_COOKIE))?),
            (SET_COOKIE, header(&clear(CSRF_COOKIE))?),
        ]),
        Json(json!({"ok": true})),
    )
        .into_response())
}

fn header(v: &str) -> Result<HeaderValue, UiError> {
    HeaderValue::from_str(v).map_err(|_| UiError::BadRequest("invalid header value".into()))
}

/// `GET /api/v1/apps`: one page of the apps the caller may see.
async fn apps(
    State(ui): Shared,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let q = query(q)?;
    let visible = visible(&ui, &caller, ui.store.snapshot()).await?;
    let body =
        serde_json::to_vec(&page(visible.iter().map(|a| &**a), &q)).map_err(UiError::internal)?;
    Ok(([("content-type", "application/json")], body).into_response())
}

/// The apps of `all` the caller may see: per group one cluster-wide `list` review; where it is
/// refused, one per namespace; where that is refused too, one `get` per app.
async fn visible(
    ui: &Ui,
    caller: &Caller,
    all: Vec<Arc<AppSummary>>,
) -> Result<Vec<Arc<AppSummary>>, UiError> {
    let auth = &ui.auth;
    let groups: HashSet<&str> = all.iter().map(|a| a.group.as_str()).collect();
    let mut whole: HashSet<String> = HashSet::new();
    for g in groups {
        if auth.allowed(caller, "list", g, None, None).await? {
            whole.insert(g.to_string());
        }
    }
    // The common case (a cluster-wide reader): no per-app work at all.
    if all.iter().all(|a| whole.contains(&a.group)) {
        return Ok(all);
    }
    let namespaces: HashSet<(String, String)> = all
        .iter()
        .filter(|a| !whole.contains(&a.group))
        .map(|a| (a.group.clone(), a.namespace.clone()))
        .collect();
    let by_ns: HashMap<(String, String), bool> = futures::stream::iter(namespaces)
        .map(|(g, ns)| async move {
            let ok = auth.allowed(caller, "list", &g, Some(&ns), None).await;
            ok.map(|ok| ((g, ns), ok))
        })
        .buffer_unordered(REVIEWS_AT_ONCE)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let listed =
        |a: &AppSummary| whole.contains(&a.group) || by_ns[&(a.group.clone(), a.namespace.clone())];
    let checks = futures::stream::iter(all.into_iter().enumerate())
        .map(|(i, a)| async move {
            if listed(&a) {
                return Ok((i, Some(a)));
            }
            let ok = auth
                .allowed(caller, "get", &a.group, Some(&a.namespace), Some(&a.name))
                .await?;
            Ok::<_, UiError>((i, ok.then_some(a)))
        })
        .buffered(REVIEWS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    let mut out = Vec::with_capacity(checks.len());
    for c in checks {
        if let (_, Some(a)) = c? {
            out.push(a);
        }
    }
    Ok(out)
}

/// `GET /api/v1/events`: server-sent events of the apps the caller may see.
async fn events(
    State(ui): Shared,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let Ok(permit) = ui.streams.clone().try_acquire_owned() else {
        return Err(UiError::Unavailable(format!(
            "{MAX_STREAMS} event streams are open; try again later"
        )));
    };
    let rx = ui.store.subscribe();
    // The permit lives in the stream's state: it is released when the client goes away.
    let state = (ui, caller, rx, permit);
    let stream = futures::stream::unfold(state, |(ui, caller, mut rx, permit)| async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let change = match rx.recv().await {
                Ok(c) => c,
                // Missed changes: the page reloads the list rather than show a stale one.
                Err(RecvError::Lagged(_)) => {
                    let ev = Event::default().event("resync").data("{}");
                    return Some((Ok(ev), (ui, caller, rx, permit)));
                }
                Err(RecvError::Closed) => return None,
            };
            // A revoked token stops its stream within the identity cache's minute.
            if !ui.auth.still_valid(&caller).await {
                return None;
            }
            let (key, ev) = match &change {
                Change::Applied(s) => (
                    AppKey {
                        namespace: s.namespace.clone(),
                        name: s.name.clone(),
                        group: s.group.clone(),
                    },
                    Event::default().event("app").json_data(&**s),
                ),
                Change::Deleted(k) => (
                    k.clone(),
                    Event::default().event("delete").json_data(
                        json!({"group": k.group, "namespace": k.namespace, "name": k.name}),
                    ),
                ),
            };
            if let (Ok(true), Ok(ev)) = (may_see(&ui, &caller, &key).await, ev) {
                return Some((Ok(ev), (ui, caller, rx, permit)));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("ping"),
    ))
}

/// Whether the list would show `key` to `caller`: the same three reviews as [`visible`], each
/// cached, so a stream of many apps' changes costs a few reviews, not one per app.
async fn may_see(ui: &Ui, caller: &Caller, key: &AppKey) -> Result<bool, UiError> {
    let (auth, g, ns) = (&ui.auth, key.group.as_str(), key.namespace.as_str());
    Ok(auth.allowed(caller, "list", g, None, None).await?
        || auth.allowed(caller, "list", g, Some(ns), None).await?
        || auth
            .allowed(caller, "get", g, Some(ns), Some(&key.name))
            .await?)
}

/// The app a route names, read with the server's client once the caller may `get` it.
async fn load(
    ui: &Ui,
    caller: &Caller,
    (group, ns, name): &(String, String, String),
) -> Result<Application, UiError> {
    let not_found = || UiError::NotFound(format!("application {ns}/{name} not found"));
    // Only names Kubernetes can hold: a `..` or `/` would be sent, with the server's powers,
    // into the path of the API request below.
    if (group != MOOR_GROUP && group != ARGO_GROUP) || !dns_name(ns) || !dns_name(name) {
        return Err(not_found());
    }
    if !ui
        .auth
        .allowed(caller, "get", group, Some(ns), Some(name))
        .await?
    {
        return Err(not_found());
    }
    let api: Api<Application> =
        Api::namespaced_with(ui.auth.server_client().clone(), ns, &api_resource(group));
    match api.get_opt(name).await {
        Ok(Some(app)) => Ok(app),
        Ok(None) => Err(not_found()),
        Err(e) => Err(UiError::Internal(format!(
            "reading application {ns}/{name} failed: {e}"
        ))),
    }
}

/// A DNS subdomain name (RFC 1123), which every namespace and Application name is.
fn dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

type AppPath = Path<(String, String, String)>;

/// `GET /api/v1/apps/{group}/{ns}/{name}`.
async fn app_detail(
    State(ui): Shared,
    headers: HeaderMap,
    Path(p): AppPath,
) -> Result<Json<serde_json::Value>, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let app = load(&ui, &caller, &p).await?;
    let (group, ns, name) = &p;
    let can_patch = ui
        .auth
        .allowed(&caller, "patch", group, Some(ns), Some(name))
        .await?;
    let status = app.status.as_ref();
    Ok(Json(json!({
        "summary": AppSummary::of(group, &app),
        "spec": app.spec,
        "conditions": status.map(|s| &s.conditions[..]).unwrap_or(&[]),
        "operationState": status.and_then(|s| s.operation_state.as_ref()),
        "resources": status.map(|s| &s.resources[..]).unwrap_or(&[]),
        "canPatch": can_patch,
    })))
}

/// `GET .../tree`.
async fn app_tree(
    State(ui): Shared,
    headers: HeaderMap,
    Path(p): AppPath,
) -> Result<Response, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let app = load(&ui, &caller, &p).await?;
    let tree = tree::build(ui.auth.server_client(), &app).await?;
    Ok(Json(tree).into_response())
}

/// `GET .../resource?group=&version=&kind=&namespace=&name=`.
async fn app_resource(
    State(ui): Shared,
    headers: HeaderMap,
    Path(p): AppPath,
    q: Result<Query<resource::ObjectQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let q = query(q)?;
    let app = load(&ui, &caller, &p).await?;
    let r = resource::get(ui.auth.server_client(), &ui.renders, &app, &p.0, &q).await?;
    Ok(Json(r.body).into_response())
}

/// `GET .../history`.
async fn app_history(
    State(ui): Shared,
    headers: HeaderMap,
    Path(p): AppPath,
) -> Result<Response, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let app = load(&ui, &caller, &p).await?;
    let entries: Vec<serde_json::Value> =
        history::entries(&app).into_iter().map(|e| e.body).collect();
    Ok(Json(json!({ "entries": entries })).into_response())
}

/// The query of `GET .../history/diff`.
#[derive(Deserialize)]
struct DiffQuery {
    from: i64,
    to: i64,
}

/// `GET .../history/diff?from=ID&to=ID`.
async fn app_history_diff(
    State(ui): Shared,
    headers: HeaderMap,
    Path(p): AppPath,
    q: Result<Query<DiffQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    let q = query(q)?;
    let app = load(&ui, &caller, &p).await?;
    let d = history::diff(&ui.renders, &app, &p.0, q.from, q.to).await?;
    Ok(Json(d.body).into_response())
}

/// `POST .../{sync,rollback,refresh,suspend,resume}`: 404 without `get`, 403 without `patch`
/// (or without the CSRF header), written as the caller.
async fn action(
    State(ui): Shared,
    headers: HeaderMap,
    Path((group, ns, name, action)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, UiError> {
    let caller = ui.auth.caller(&headers).await?;
    ui.auth.check_csrf(&caller, &headers)?;
    let p = (group, ns, name);
    if !matches!(
        action.as_str(),
        "sync" | "rollback" | "refresh" | "suspend" | "resume"
    ) {
        return Err(UiError::NotFound(format!("no action {action:?}")));
    }
    let app = load(&ui, &caller, &p).await?;
    let (group, ns, name) = &p;
    if !ui
        .auth
        .allowed(&caller, "patch", group, Some(ns), Some(name))
        .await?
    {
        return Err(UiError::Forbidden(format!(
            "{} may not patch applications.{group} {ns}/{name}",
            caller.identity.user
        )));
    }
    let target = actions::Target {
        api: Api::namespaced_with(ui.auth.client_for(&caller)?, ns, &api_resource(group)),
        app: &app,
        id: format!("{ns}/{name}"),
        username: &caller.identity.user,
    };
    let message = match action.as_str() {
        "sync" => actions::sync(&target, json_body(&body)?).await?,
        "rollback" => actions::rollback(&target, json_body(&body)?).await?,
        "refresh" => actions::refresh(&target).await?,
        "suspend" => actions::suspend(&target, true).await?,
        _ => actions::suspend(&target, false).await?,
    };
    tracing::info!(user = %caller.identity.user, app = %target.id, "ui: {message}");
    Ok(Json(json!({"ok": true, "message": message})))
}

/// A query string, or 400 with `{"error"}` like every other refusal (axum's own is plain text).
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, UiError> {
    q.map(|Query(q)| q)
        .map_err(|e| UiError::BadRequest(e.body_text()))
}

/// A JSON body; an empty one is `{}`, so `curl -X POST` alone works.
fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, UiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| UiError::BadRequest(format!("invalid body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_loopback_hosts_in_local_mode() {
        for ok in ["127.0.0.1:8081", "localhost:1", "[::1]:8081", "localhost"] {
            assert!(loopback_host(&headers(&[(HOST, ok)])), "{ok}");
        }
        for bad in ["evil.example:8081", "127.0.0.1.evil.example", ""] {
            assert!(!loopback_host(&headers(&[(HOST, bad)])), "{bad}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn cross_origin_posts_are_recognised() {
        let same = headers(&[(HOST, "ui.example:443"), (ORIGIN, "https://ui.example:443")]);
        assert!(!cross_origin(&same));
        let other = headers(&[(HOST, "ui.example"), (ORIGIN, "https://evil.example")]);
        assert!(cross_origin(&other));
        assert!(!cross_origin(&headers(&[(HOST, "ui.example")])));
        let xfh = HeaderName::from_static("x-forwarded-host");
        let proxied = headers(&[
            (HOST, "moor.moor-system.svc:8443"),
            (xfh.clone(), "ui.example"),
            (ORIGIN, "https://ui.example"),
        ]);
        assert!(!cross_origin(&proxied));
        let forged = headers(&[(HOST, "ui.example"), (xfh, "ui.example"), (ORIGIN, "null")]);
        assert!(cross_origin(&forged));
    }

    #[test]
    fn only_kubernetes_names_reach_the_api_path() {
        for ok in ["web", "team-a", "a.b-c", "x1"] {
            assert!(dns_name(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            "../secrets",
            "a/b",
            "A",
            "-a",
            "a-",
            "a%2Fb",
            &"a".repeat(254),
        ] {
            assert!(!dns_name(bad), "{bad}");
        }
    }

    #[test]
    fn empty_bodies_are_empty_objects() {
        let b: actions::SyncBody = json_body(&Bytes::from_static(b"")).unwrap();
        assert!(!b.prune);
        assert!(json_body::<actions::RollbackBody>(&Bytes::from_static(b"{")).is_err());
    }
}
