//! The HTTP routes: webhooks, metrics and probes. They can be served on one address
//! ([`router`]) or split, so that the metrics port stays inside the cluster while the webhook
//! port faces the Git host ([`webhook_router`], [`metrics_router`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use crate::limits::{Guard, WebhookLimits, guard};
use crate::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};
use crate::webhook::{self, PushEvent, WebhookConfig, WebhookKind, WebhookOutcome};

/// Everything the routes need.
#[derive(Clone, Debug)]
pub struct ServerState {
    /// What `/metrics` serves.
    pub metrics: Arc<Metrics>,
    /// Set by the controller once its caches are warm; drives `/readyz`.
    pub ready: Arc<AtomicBool>,
    /// The secrets webhooks are verified with.
    pub webhook: WebhookConfig,
    /// Verified pushes go here; the controller refreshes the matching apps.
    pub pushes: UnboundedSender<PushEvent>,
}

type Routes = Router<Arc<ServerState>>;

/// Everything on one address, with the default [`WebhookLimits`]: `POST /api/webhook` (kind
/// detected from headers) and `/api/webhook/{github,gitlab,generic}` (kind fixed by the path),
/// `GET /metrics`, `GET /healthz`, `GET /readyz`.
pub fn router(state: ServerState) -> Router {
    router_with(state, WebhookLimits::default())
}

/// Like [`router`], with webhook requests bounded by `limits`.
pub fn router_with(state: ServerState, limits: WebhookLimits) -> Router {
    Router::new()
        .merge(webhook_routes(limits))
        .merge(metrics_routes())
        .merge(probe_routes())
        .with_state(Arc::new(state))
}

/// The webhook routes and the probes, without `/metrics`.
pub fn webhook_router(state: ServerState, limits: WebhookLimits) -> Router {
    Router::new()
        .merge(webhook_routes(limits))
        .merge(probe_routes())
        .with_state(Arc::new(state))
}

/// `/metrics` and the probes, without the webhook routes.
pub fn metrics_router(state: ServerState) -> Router {
    Router::new()
        .merge(metrics_routes())
        .merge(probe_routes())
        .with_state(Arc::new(state))
}

fn webhook_routes(limits: WebhookLimits) -> Routes {
    Router::new()
        .route("/api/webhook", post(webhook_detect))
        .route("/api/webhook/github", post(webhook_github))
        .route("/api/webhook/gitlab", post(webhook_gitlab))
        .route("/api/webhook/generic", post(webhook_generic))
        // Bodies without a declared length are cut off here while they are read.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(from_fn_with_state(Guard::new(limits), guard))
}

fn metrics_routes() -> Routes {
    Router::new().route("/metrics", get(metrics))
}

fn probe_routes() -> Routes {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Serves [`router`] on `listener` until the task is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, state: ServerState) -> std::io::Result<()> {
    serve_router(listener, router(state)).await
}

/// Serves one of [`router`], [`webhook_router`] or [`metrics_router`] on `listener`.
pub async fn serve_router(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).await
}

/// Like [`serve`], but stops accepting on `shutdown` and returns once open requests finish.
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

type AppState = State<Arc<ServerState>>;

/// The body as read under the limit; `Err` is the response for a body that could not be read.
type Body = Result<Bytes, BytesRejection>;

async fn webhook_detect(State(s): AppState, headers: HeaderMap, body: Body) -> Response {
    let kind = WebhookKind::detect(&headers);
    receive(&s, kind, &headers, body)
}

async fn webhook_github(State(s): AppState, headers: HeaderMap, body: Body) -> Response {
    receive(&s, WebhookKind::GitHub, &headers, body)
}

async fn webhook_gitlab(State(s): AppState, headers: HeaderMap, body: Body) -> Response {
    receive(&s, WebhookKind::GitLab, &headers, body)
}

async fn webhook_generic(State(s): AppState, headers: HeaderMap, body: Body) -> Response {
    receive(&s, WebhookKind::Generic, &headers, body)
}

fn receive(state: &ServerState, kind: WebhookKind, headers: &HeaderMap, body: Body) -> Response {
    let body = match body {
        Ok(b) => b,
        // Over the limit while read: 413, worded by the guard.
        Err(rejection) => return rejection.into_response(),
    };
    match webhook::handle(&state.webhook, kind, headers, &body) {
        Ok(WebhookOutcome::Push(event)) => {
            // URLs from a generic hook may carry credentials; only redacted forms are logged.
            let repos: Vec<String> = event
                .repo_urls
                .iter()
                .map(|u| moor_git::redact_url(u))
                .collect();
            tracing::info!(%kind, ?repos, git_ref = ?event.git_ref, after = ?event.after, "webhook push");
            if state.pushes.send(event).is_err() {
                tracing::warn!(%kind, "webhook push dropped: controller is not listening");
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "controller is not accepting events",
                );
            }
            (StatusCode::ACCEPTED, Json(json!({"refreshed": true}))).into_response()
        }
        Ok(WebhookOutcome::Ignored(reason)) => {
            tracing::debug!(%kind, %reason, "webhook ignored");
            (
                StatusCode::OK,
                Json(json!({"refreshed": false, "reason": reason})),
            )
                .into_response()
        }
        Err(err) => {
            // The error text names headers, never their values.
            tracing::warn!(%kind, %err, "webhook rejected");
            text(err.status(), &err.to_string())
        }
    }
}

fn text(status: StatusCode, line: &str) -> Response {
    (status, format!("{line}\n")).into_response()
}

async fn metrics(State(s): AppState) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        s.metrics.encode(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): AppState) -> Response {
    if s.ready.load(Ordering::Acquire) {
        text(StatusCode::OK, "ok")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}
