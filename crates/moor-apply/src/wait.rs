//! Waiting for objects to become healthy, always with a timeout that names what it waited for.

use std::time::Duration;

use futures::{StreamExt, stream};
use kube::Client;
use moor_health::health;
use moor_types::HealthStatus;

use crate::error::{ObjectError, SyncError, is_not_found};
use crate::plan::{api_for, to_value};
use crate::prepare::Desired;

const POLL: Duration = Duration::from_millis(500);

/// Polls until every object in `targets` is Healthy (or Suspended), or fails at `timeout`
/// naming each object that is not, with its health message.
pub async fn until_healthy(
    client: &Client,
    targets: &[&Desired],
    timeout: Duration,
    concurrency: usize,
) -> Result<(), SyncError> {
    let deadline = tokio::time::Instant::now() + timeout;
    // Owned copies: the futures below must not borrow through a closure argument (they run in
    // spawned, Send tasks of the controller).
    let mut pending: Vec<Desired> = targets.iter().map(|d| (*d).clone()).collect();
    loop {
        let checks: Vec<(Desired, Option<String>)> = stream::iter(pending)
            .map(|d| {
                let client = client.clone();
                async move {
                    let r = unhealthy_reason(&client, &d).await;
                    (d, r)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let waiting: Vec<(Desired, String)> = checks
            .into_iter()
            .filter_map(|(d, r)| Some((d, r?)))
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let waiting = waiting
                .into_iter()
                .map(|(d, reason)| ObjectError {
                    key: d.key.clone(),
                    origin: Default::default(),
                    reason,
                })
                .collect();
            return Err(SyncError::Timeout { timeout, waiting });
        }
        pending = waiting.into_iter().map(|(d, _)| d).collect();
        tokio::time::sleep(POLL).await;
    }
}

/// None when healthy; otherwise why not.
async fn unhealthy_reason(client: &Client, d: &Desired) -> Option<String> {
    match api_for(client, d).get(&d.key.name).await {
        Ok(obj) => {
            let h = health(&to_value(obj, d));
            match h.status {
                HealthStatus::Healthy | HealthStatus::Suspended => None,
                s if h.message.is_empty() => Some(s.to_string()),
                s => Some(format!("{s}: {}", h.message)),
            }
        }
        Err(e) if is_not_found(&e) => Some("Missing: not found".into()),
        Err(e) => Some(format!("Unknown: {e}")),
    }
}
