//! Bounds on webhook requests. Anyone who can reach the webhook port can send them, before any
//! signature is checked, so each one costs the controller a bounded amount of memory and time,
//! and only a bounded number are handled at once.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// How much one webhook request may cost, and how many are handled at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookLimits {
    /// Largest body read; a larger one gets 413 before it is buffered or verified.
    pub max_body_bytes: usize,
    /// Webhook requests read and verified at once; more get 503 at once.
    pub max_in_flight: usize,
    /// Bound on reading and handling one request, so a slow sender cannot hold a slot.
    pub timeout: Duration,
}

/// 1 MiB: GitHub push payloads of ordinary pushes are far smaller (a push lists at most 20
/// commits); raise it with `--webhook-max-body` for unusual senders.
pub const DEFAULT_WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

impl Default for WebhookLimits {
    fn default() -> Self {
        WebhookLimits {
            max_body_bytes: DEFAULT_WEBHOOK_BODY_LIMIT,
            max_in_flight: 16,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The state of the [`guard`] middleware: the limits and the in-flight slots.
#[derive(Clone, Debug)]
pub(crate) struct Guard {
    limits: WebhookLimits,
    slots: Arc<Semaphore>,
}

impl Guard {
    pub(crate) fn new(limits: WebhookLimits) -> Self {
        Guard {
            limits,
            slots: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
        }
    }
}

/// Rejects a declared oversize body without reading it, sheds load beyond the in-flight bound,
/// and bounds the time of the rest. Bodies sent without a length are cut off at the limit while
/// they are read (axum's `DefaultBodyLimit`, set next to this layer).
pub(crate) async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let max = g.limits.max_body_bytes;
    if declared_length(&req).is_some_and(|n| n > max as u64) {
        return too_large(max);
    }
    let Ok(_slot) = g.slots.clone().try_acquire_owned() else {
        tracing::debug!("webhook request shed: {} in flight", g.limits.max_in_flight);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many webhook requests in flight\n",
        )
            .into_response();
    };
    match tokio::time::timeout(g.limits.timeout, next.run(req)).await {
        // The body extractor's own 413, for a body found too large while read.
        Ok(response) if response.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            tracing::debug!("webhook payload over the limit of {max} bytes");
            too_large(max)
        }
        Ok(response) => response,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "webhook request not received within {} s\n",
                g.limits.timeout.as_secs()
            ),
        )
            .into_response(),
    }
}

fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The answer to a body over the limit, whether declared or found while reading.
fn too_large(max: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("webhook payload larger than {max} bytes\n"),
    )
        .into_response()
}

/// Parses a byte size: a number with an optional binary (KiB, MiB, GiB) or decimal (k, M, G)
/// suffix, e.g. `1MiB`, `512KiB`, `2000000`.
pub fn parse_byte_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a byte size (write e.g. 1MiB or 1048576)"))?;
    let factor: usize = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "kB" | "KB" => 1000,
        "KiB" | "Ki" => 1 << 10,
        "M" | "MB" => 1_000_000,
        "MiB" | "Mi" => 1 << 20,
        "G" | "GB" => 1_000_000_000,
        "GiB" | "Gi" => 1 << 30,
        other => {
            return Err(format!(
                "unknown byte unit {other:?} in {s:?} (use KiB, MiB or GiB)"
            ));
        }
    };
    n.checked_mul(factor)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{s:?} is not a usable byte size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_with_units() {
        assert_eq!(parse_byte_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_byte_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_byte_size("2000"), Ok(2000));
        assert_eq!(parse_byte_size("3M"), Ok(3_000_000));
        assert!(parse_byte_size("0").is_err());
        assert!(parse_byte_size("1 parsec").is_err());
        assert!(parse_byte_size("MiB").is_err());
    }
}
