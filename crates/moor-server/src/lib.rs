//! HTTP side of the controller: verified Git push webhooks, Prometheus metrics and health
//! probes. The controller crate owns the listener and the receiving end of the push channel.

mod layer;
mod metrics;
mod router;
mod webhook;

pub use layer::{ApiRequestCounter, ApiRequestCounterService};
pub use metrics::{Metrics, NO_RESPONSE_CODE, OPENMETRICS_CONTENT_TYPE};
pub use router::{ServerState, WEBHOOK_BODY_LIMIT, router, serve, serve_with_shutdown};
pub use webhook::{
    PushEvent, WebhookConfig, WebhookError, WebhookKind, WebhookOutcome, handle as handle_webhook,
    verify_github_signature,
};
