//! HTTP side of the controller: verified Git push webhooks, Prometheus metrics and health
//! probes. The controller crate owns the listener and the receiving end of the push channel.

#![warn(missing_docs)]

mod layer;
mod limits;
mod metrics;
mod router;
mod webhook;

pub use layer::{ApiRequestCounter, ApiRequestCounterService};
pub use limits::{DEFAULT_WEBHOOK_BODY_LIMIT, WebhookLimits, parse_byte_size};
pub use metrics::{Metrics, NO_RESPONSE_CODE, OPENMETRICS_CONTENT_TYPE};
pub use router::{
    ServerState, metrics_router, router, router_with, serve, serve_router, serve_with_shutdown,
    webhook_router,
};
pub use webhook::{
    PushEvent, WebhookConfig, WebhookError, WebhookKind, WebhookOutcome, handle as handle_webhook,
    verify_github_signature,
};
