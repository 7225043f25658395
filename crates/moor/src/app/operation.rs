//! Operations (sync, rollback) are requested the way Argo CD does it: by writing the top-level
//! `operation` field, which the controller runs, records in `status.operationState` and clears.
//! Here: refusing while one runs, writing the request, and waiting for exactly that request.

use std::time::Duration;

use anyhow::{Result, bail};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use moor_controller::crd::{Application, OperationState};
use moor_types::OperationPhase;
use serde_json::json;

use super::print::operation_line;
use super::{Apps, MANAGER};

/// Argo CD refuses a new operation while one runs; so does moor.
pub(crate) fn refuse_if_running(app: &Application) -> Result<()> {
    let running = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .filter(|os| os.phase == OperationPhase::Running && app.operation.is_some());
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
pub(crate) struct Requested {
    /// Written into `initiatedBy.requestID` and copied by the controller into the operation it
    /// records: the only sure way to tell our operation from another one (an automated sync or
    /// an earlier request) of the same second, as startedAt has whole seconds.
    id: String,
}

/// Writes `operation` (and `extra`, e.g. a spec change) in one merge patch.
pub(super) async fn request_operation(
    apps: &Apps,
    name: &str,
    extra: serde_json::Value,
    revision: Option<&str>,
    revisions: &[String],
    prune: bool,
) -> Result<Requested> {
    let sync = SyncRequest {
        revision,
        revisions,
        prune,
        ..SyncRequest::default()
    };
    write_operation(&apps.api, name, MANAGER, MANAGER, extra, &sync)
        .await
        .map_err(|e| apps.error(e, name))
}

/// What a sync or rollback asks the controller for (`operation.sync`).
#[derive(Default)]
pub(crate) struct SyncRequest<'a> {
    /// The revision of a single-source app; None: its target revision.
    pub revision: Option<&'a str>,
    /// Each source's revision of a multi-source app (rollback).
    pub revisions: &'a [String],
    /// Prune in this sync.
    pub prune: bool,
    /// Validate and dry-run only.
    pub dry_run: bool,
    /// Only these objects (`{group, kind, namespace, name}`); empty: the whole app.
    pub resources: Vec<serde_json::Value>,
}

/// Writes `operation` (and `extra`, e.g. a spec change) in one merge patch through `api`, by
/// field manager `manager`, naming `username` as its initiator: `moor app` and the web UI (which
/// passes an Api built from the caller's own credentials) request operations the same way.
pub(crate) async fn write_operation(
    api: &kube::Api<Application>,
    name: &str,
    manager: &str,
    username: &str,
    mut extra: serde_json::Value,
    sync: &SyncRequest<'_>,
) -> Result<Requested, kube::Error> {
    let id = format!(
        "{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    // null (not an empty list) for a single-source app: the controller clears the operation it
    // ran by a patch that tests the operation is still what it read, as it reads it.
    let revisions = if sync.revisions.is_empty() {
        serde_json::Value::Null
    } else {
        json!(sync.revisions)
    };
    // null, not false or [], for the defaults: a merge patch then also clears what an earlier
    // request that was never run left there, and the operation reads back as it was written.
    let dry_run = if sync.dry_run {
        json!(true)
    } else {
        json!(null)
    };
    let resources = if sync.resources.is_empty() {
        serde_json::Value::Null
    } else {
        json!(sync.resources)
    };
    extra["operation"] = json!({
        // null clears a revision left by an earlier request that was never run.
        "sync": {"revision": sync.revision, "revisions": revisions, "prune": sync.prune,
                 "dryRun": dry_run, "resources": resources},
        "initiatedBy": {"username": username, "requestID": id},
    });
    let pp = kube::api::PatchParams {
        field_manager: Some(manager.to_string()),
        ..Default::default()
    };
    api.patch(name, &pp, &kube::api::Patch::Merge(&extra))
        .await?;
    Ok(Requested { id })
}

/// What a rollback to history entry `id` of `app` writes: the entry's revision(s), and auto-sync
/// turned off (in `extra`) when it is on, since it would undo the rollback at once (Argo CD turns
/// it off too). Errors name the valid ids.
pub(crate) struct Rollback {
    /// The spec change to write with the operation.
    pub extra: serde_json::Value,
    /// Whether auto-sync is being turned off.
    pub auto_sync_off: bool,
    /// The entry's revision (single source).
    pub revision: Option<String>,
    /// Each source's revision (multi-source entry).
    pub revisions: Vec<String>,
    /// The entry's (first) revision, for messages.
    pub entry_revision: String,
}

/// The [`Rollback`] of `app` to its history entry `id`.
pub(crate) fn rollback_to(app: &Application, id: i64) -> Result<Rollback> {
    let history = app.status.as_ref().map(|s| &s.history[..]).unwrap_or(&[]);
    let Some(entry) = history.iter().find(|h| h.id == id) else {
        let ids: Vec<String> = history.iter().map(|h| h.id.to_string()).collect();
        bail!(
            "application {}/{} has no history entry {id}; {}",
            app.namespace().unwrap_or_default(),
            app.name_any(),
            if ids.is_empty() {
                "it has no history yet".to_string()
            } else {
                format!("valid ids: {}", ids.join(", "))
            }
        );
    };
    let auto_sync_off = app.automated().is_some();
    let extra = if auto_sync_off {
        json!({"spec": {"syncPolicy": {"automated": null}}})
    } else {
        json!({})
    };
    // A multi-source entry is rolled back to each source's revision (operation.sync.revisions).
    Ok(Rollback {
        extra,
        auto_sync_off,
        revision: entry.revisions.is_empty().then(|| entry.revision.clone()),
        revisions: entry.revisions.clone(),
        entry_revision: entry.revision.clone(),
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
        let ours = state.filter(|os| is_requested(os, &requested));
        if let Some(os) = ours {
            let now = (os.phase.clone(), os.message.clone());
            if shown.as_ref() != Some(&now) {
                eprintln!("  {}", operation_line(os));
                shown = Some(now);
            }
            match os.phase.parse() {
                Ok(OperationPhase::Succeeded) => return Ok(0),
                Ok(OperationPhase::Failed | OperationPhase::Error) => {
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
fn is_requested(os: &OperationState, requested: &Requested) -> bool {
    os.operation
        .as_ref()
        .and_then(|o| o.initiated_by.as_ref())
        .and_then(|i| i.get("requestID"))
        .and_then(|v| v.as_str())
        == Some(requested.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_operation_carrying_our_request_id_is_ours() {
        let req = Requested { id: "42-1".into() };
        let state = |initiated_by: serde_json::Value| OperationState {
            phase: "Succeeded".into(),
            started_at: Some("2025-03-05T10:00:00Z".into()),
            operation: Some(moor_controller::crd::Operation {
                sync: None,
                initiated_by: Some(initiated_by),
            }),
            ..OperationState::default()
        };
        // An automated sync, or another request, of the very same second is not ours.
        assert!(!is_requested(&state(json!({"automated": true})), &req));
        assert!(!is_requested(
            &state(json!({"username": "moor-cli", "requestID": "41-9"})),
            &req
        ));
        assert!(!is_requested(&state(json!({"username": "moor-cli"})), &req));
        assert!(is_requested(
            &state(json!({"username": "moor-cli", "requestID": "42-1"})),
            &req
        ));
    }
}
