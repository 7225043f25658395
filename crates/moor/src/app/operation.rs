//! Operations (sync, rollback) are requested the way Argo CD does it: by writing the top-level
//! `operation` field, which the controller runs, records in `status.operationState` and clears.
//! Here: refusing while one runs, writing the request, and waiting for exactly that request.

use std::time::Duration;

use anyhow::{Result, bail};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use moor_controller::crd::{Application, OperationState};
use serde_json::json;

use super::print::operation_line;
use super::{Apps, MANAGER};

/// Argo CD refuses a new operation while one runs; so does moor.
pub(super) fn refuse_if_running(app: &Application) -> Result<()> {
    let running = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .filter(|os| os.phase == "Running" && app.operation.is_some());
    if let Some(os) = running {
        bail!(
            "another operation is running on application {}/{}: {}; wait for it to finish",
            app.namespace().unwrap_or_default(),
            app.name_any(),
            operation_line(os)
        );
    }
    Ok(())
}

/// What identifies the operation a command requested, to recognise it in status.operationState.
pub(super) struct Requested {
    /// Written into `initiatedBy.requestID`: tells our operation from one that ran just before
    /// (startedAt has whole seconds, so two syncs within a second look alike by time).
    id: String,
    /// No operation that started before this is ours.
    since: Timestamp,
    revision: Option<String>,
}

/// Writes `operation` (and `extra`, e.g. a spec change) in one merge patch.
pub(super) async fn request_operation(
    apps: &Apps,
    name: &str,
    mut extra: serde_json::Value,
    revision: Option<&str>,
    prune: bool,
) -> Result<Requested> {
    // Whole seconds: startedAt is RFC 3339 with second precision.
    let local = Timestamp::from_second(Timestamp::now().as_second())?;
    let id = format!(
        "{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    extra["operation"] = json!({
        // null clears a revision left by an earlier request that was never run.
        "sync": {"revision": revision, "prune": prune},
        "initiatedBy": {"username": MANAGER, "requestID": id},
    });
    let patched = apps.patch(name, extra).await?;
    // The API server's clock, as it recorded our write: immune to skew between this machine and
    // the cluster, where the controller stamps startedAt.
    let server = patched
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.manager.as_deref() == Some(MANAGER))
        .filter_map(|m| m.time.as_ref().map(|t| t.0))
        .max();
    Ok(Requested {
        id,
        since: server.map_or(local, |s| s.min(local)),
        revision: revision.map(str::to_string),
    })
}

/// Polls until the requested operation has finished. 0: Succeeded; 2: Failed, Error or timeout.
pub(super) async fn wait_for_operation(
    apps: &Apps,
    name: &str,
    requested: Requested,
    timeout: Duration,
) -> Result<u8> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut shown: Option<(String, String)> = None;
    loop {
        let app = apps.get(name).await?;
        let state = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
        let ours = state.filter(|os| is_requested(os, &requested, app.operation.is_none()));
        if let Some(os) = ours {
            let now = (os.phase.clone(), os.message.clone());
            if shown.as_ref() != Some(&now) {
                eprintln!("  {}", operation_line(os));
                shown = Some(now);
            }
            match os.phase.as_str() {
                "Succeeded" => return Ok(0),
                "Failed" | "Error" => {
                    eprintln!(
                        "error: the operation on application {}/{name} ended {}: {}",
                        apps.namespace, os.phase, os.message
                    );
                    return Ok(2);
                }
                _ => {}
            }
        }
        if tokio::time::Instant::now() >= deadline {
            let last = match ours {
                Some(os) => format!("last state: {}", operation_line(os)),
                None => "the controller has not started it (is the controller running?)".into(),
            };
            eprintln!(
                "error: timed out after {} waiting for the operation on application {}/{name}; {last}",
                humantime::format_duration(timeout),
                apps.namespace
            );
            return Ok(2);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Whether `os` records the operation we requested: it started no earlier than the request, or
/// (for a controller that leaves startedAt out) it is for the same revision and the controller
/// has cleared the request.
fn is_requested(os: &OperationState, requested: &Requested, cleared: bool) -> bool {
    let id = os
        .operation
        .as_ref()
        .and_then(|o| o.initiated_by.as_ref())
        .and_then(|i| i.get("requestID"))
        .and_then(|v| v.as_str());
    if let Some(id) = id {
        return id == requested.id;
    }
    match os.started_at.as_deref() {
        Some(t) => t
            .parse::<Timestamp>()
            .is_ok_and(|started| started >= requested.since),
        None => {
            let rev = os
                .operation
                .as_ref()
                .and_then(|o| o.sync.as_ref())
                .and_then(|s| s.revision.clone());
            cleared && requested.revision.is_some() && rev == requested.revision
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_operation_is_recognised_by_start_time_or_revision() {
        let since: Timestamp = "2025-03-05T10:00:00Z".parse().unwrap();
        let req = Requested {
            id: "42-1".into(),
            since,
            revision: Some("abc".into()),
        };
        let mut os = OperationState {
            phase: "Succeeded".into(),
            started_at: Some("2025-03-05T09:59:59Z".into()),
            ..OperationState::default()
        };
        assert!(!is_requested(&os, &req, true), "an earlier operation");
        os.started_at = Some("2025-03-05T10:00:00Z".into());
        assert!(is_requested(&os, &req, false));
        os.started_at = None;
        assert!(!is_requested(&os, &req, true), "no revision recorded");
        os.operation = Some(moor_controller::crd::Operation {
            sync: Some(moor_controller::crd::SyncOperation {
                revision: Some("abc".into()),
                prune: None,
            }),
            initiated_by: None,
        });
        assert!(is_requested(&os, &req, true));
        assert!(!is_requested(&os, &req, false), "request not yet cleared");

        // With a request id, only the id decides: an operation of the same second that an
        // earlier request started is not ours.
        let op = |id: &str| moor_controller::crd::Operation {
            sync: None,
            initiated_by: Some(json!({"username": "moor-cli", "requestID": id})),
        };
        os.started_at = Some("2025-03-05T10:00:00Z".into());
        os.operation = Some(op("41-9"));
        assert!(!is_requested(&os, &req, true));
        os.operation = Some(op("42-1"));
        assert!(is_requested(&os, &req, false));
    }
}
