//! The web UI and its JSON API: `moor controller --ui-addr` and `moor ui`.
//!
//! Reading order: [`server`] (the routes and their state), [`auth`] (who the caller is, by
//! TokenReview, and what they may do, by SubjectAccessReview against the Application: the
//! server never acts with its own powers for a user), [`store`] (every Application, watched once
//! and shared by every request and the server-sent events), [`list`] (paging, filters, counts),
//! [`tree`], [`resource`] and [`history`] (one app's objects, live manifests, diffs and past
//! deployments, rendered through [`render`]), [`actions`] (sync, refresh, suspend, resume and
//! rollback, written with the caller's own credentials), [`assets`] (the pages, embedded).
//! The API is documented in `docs/ui-api.md`.

pub(crate) mod actions;
pub(crate) mod assets;
pub(crate) mod auth;
pub(crate) mod history;
pub(crate) mod list;
pub(crate) mod render;
pub(crate) mod resource;
pub(crate) mod server;
pub(crate) mod store;
pub(crate) mod tree;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a UI request failed; each becomes one HTTP status with `{"error": message}`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UiError {
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Kubernetes RBAC refused it (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such app, object or history entry, or not one the caller may see (404).
    #[error("{0}")]
    NotFound(String),
    /// A malformed request (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the app's state, e.g. an operation runs (409).
    #[error("{0}")]
    Conflict(String),
    /// The server is at a limit it keeps (503), e.g. of open event streams.
    #[error("{0}")]
    Unavailable(String),
    /// Something moor could not do (500); the message names the object and the cause.
    #[error("{0}")]
    Internal(String),
}

impl UiError {
    /// An internal error from any error, with its whole chain of causes once.
    pub(crate) fn internal(e: impl Into<anyhow::Error>) -> Self {
        let e: anyhow::Error = e.into();
        UiError::Internal(moor_types::error_chain(e.as_ref()))
    }

    fn status(&self) -> StatusCode {
        match self {
            UiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            UiError::Forbidden(_) => StatusCode::FORBIDDEN,
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::Conflict(_) => StatusCode::CONFLICT,
            UiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.status();
        (status, Json(serde_json::json!({"error": self.to_string()}))).into_response()
    }
}
