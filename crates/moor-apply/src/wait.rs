//! Waiting for objects to become healthy, always with a timeout that names what it waited for,
//! for how long, and why each object is not healthy yet.

use std::time::Duration;

use futures::{StreamExt, stream};
use kube::Client;
use moor_health::HealthRules;
use moor_types::HealthStatus;

use crate::SyncOptions;
use crate::error::{ObjectError, SyncError, is_not_found};
use crate::plan::{api_for, to_value};
use crate::prepare::Desired;

const POLL: Duration = Duration::from_millis(500);
/// How often a long wait says, in the log, what it is still waiting for: a wait on something
/// that never comes (an Ingress in a cluster without an ingress controller) should not be silent
/// until the timeout.
const NOTE_EVERY: Duration = Duration::from_secs(30);

/// Polls until every object in `targets` is Healthy (or Suspended) by `opts.health_rules`, or
/// fails at `opts.timeout` naming each object that is not, with its health message.
pub async fn until_healthy(
    client: &Client,
    targets: &[&Desired],
    opts: &SyncOptions,
) -> Result<(), SyncError> {
    let started = tokio::time::Instant::now();
    let deadline = started + opts.timeout;
    let mut next_note = started + NOTE_EVERY;
    // Owned copies: the futures below must not borrow through a closure argument (they run in
    // spawned, Send tasks of the controller).
    // An object whose kind is not served (SkipDryRunOnMissingResource) was not written.
    let mut pending: Vec<Desired> = targets
        .iter()
        .filter(|d| !d.kind_missing)
        .map(|d| (*d).clone())
        .collect();
    loop {
        let checks: Vec<(Desired, Option<String>)> = stream::iter(pending)
            .map(|d| {
                let client = client.clone();
                let rules = opts.health_rules.clone();
                async move {
                    let r = unhealthy_reason(&client, &d, &rules).await;
                    (d, r)
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        let waiting: Vec<(Desired, String)> = checks
            .into_iter()
            .filter_map(|(d, r)| Some((d, r?)))
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            let waiting = waiting
                .into_iter()
                .map(|(d, reason)| ObjectError {
                    key: d.key.clone(),
                    origin: Default::default(),
                    reason,
                })
                .collect();
            return Err(SyncError::Timeout {
                timeout: opts.timeout,
                waiting,
            });
        }
        if now >= next_note {
            note_still_waiting(&opts.app, now - started, &waiting);
            next_note = now + NOTE_EVERY;
        }
        pending = waiting.into_iter().map(|(d, _)| d).collect();
        tokio::time::sleep(POLL).await;
    }
}

fn note_still_waiting(app: &str, waited: Duration, waiting: &[(Desired, String)]) {
    let what: Vec<String> = waiting
        .iter()
        .take(5)
        .map(|(d, reason)| format!("{}: {reason}", d.key))
        .collect();
    let more = waiting.len().saturating_sub(what.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    tracing::warn!(
        "app {app}: still waiting after {}s for {} object(s) to become healthy: {}{more}",
        waited.as_secs(),
        waiting.len(),
        what.join("; ")
    );
}

/// None when healthy; otherwise why not.
async fn unhealthy_reason(client: &Client, d: &Desired, rules: &HealthRules) -> Option<String> {
    match api_for(client, d).get(&d.key.name).await {
        Ok(obj) => {
            let h = rules.health(&to_value(obj, d));
            match h.status {
                HealthStatus::Healthy | HealthStatus::Suspended => None,
                _ => Some(h.to_string()),
            }
        }
        Err(e) if is_not_found(&e) => Some("Missing: not found".into()),
        Err(e) => Some(format!("Unknown: {e}")),
    }
}
