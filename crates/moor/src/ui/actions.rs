//! The actions of the app page: sync, rollback, refresh, suspend and resume, with the same
//! meaning as `moor app sync/rollback/refresh/suspend/resume` and through the same code where
//! there is more than one field to write ([`crate::app::operation`]). Each is written with the
//! caller's own client (see [`super::auth`]) by field manager `moor-ui`, and returns at once:
//! the page follows the operation through the event stream.

use kube::Api;
use kube::api::{Patch, PatchParams};
use moor_controller::crd::{Application, REFRESH_ANNOTATION};
use serde::Deserialize;
use serde_json::json;

use super::UiError;
use crate::app::operation::{self, SyncRequest};

/// Field manager of every write the UI makes.
pub(crate) const MANAGER: &str = "moor-ui";

/// Most objects a selective sync may name.
const MAX_RESOURCES: usize = 1000;

/// The body of `POST .../sync`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SyncBody {
    /// Prune objects no longer in Git.
    #[serde(default)]
    pub prune: bool,
    /// Validate and dry-run only.
    #[serde(default)]
    pub dry_run: bool,
    /// Only these objects; empty: the whole app.
    #[serde(default)]
    pub resources: Vec<ObjectRef>,
}

/// One object of a selective sync.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ObjectRef {
    /// API group ("" for the core group).
    #[serde(default)]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace; none for cluster-scoped objects.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// The body of `POST .../rollback`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollbackBody {
    /// The history entry's id.
    pub id: i64,
    /// Prune objects the entry does not have.
    #[serde(default)]
    pub prune: bool,
}

/// What an action acts on and as whom.
pub(crate) struct Target<'a> {
    /// The app's API, built on the caller's own client.
    pub api: Api<Application>,
    /// The app as just read.
    pub app: &'a Application,
    /// `namespace/name`, for messages.
    pub id: String,
    /// The caller's username, recorded as the operation's initiator.
    pub username: &'a str,
}

/// Requests a sync like `moor app sync` (prune, dry-run, a selection of objects); 409 while an
/// operation runs.
pub(crate) async fn sync(t: &Target<'_>, body: SyncBody) -> Result<String, UiError> {
    operation::refuse_if_running(t.app).map_err(|e| UiError::Conflict(e.to_string()))?;
    if body.resources.len() > MAX_RESOURCES {
        return Err(UiError::BadRequest(format!(
            "a sync names at most {MAX_RESOURCES} objects, not {}",
            body.resources.len()
        )));
    }
    let resources = body
        .resources
        .iter()
        .map(|r| {
            let mut o = json!({"group": r.group, "kind": r.kind, "name": r.name});
            if let Some(ns) = r.namespace.as_ref().filter(|n| !n.is_empty()) {
                o["namespace"] = json!(ns);
            }
            o
        })
        .collect();
    let req = SyncRequest {
        prune: body.prune,
        dry_run: body.dry_run,
        resources,
        ..SyncRequest::default()
    };
    let name = t.app.metadata.name.as_deref().unwrap_or_default();
    operation::write_operation(&t.api, name, MANAGER, t.username, json!({}), &req)
        .await
        .map_err(|e| write_error(e, &t.id))?;
    Ok(format!(
        "{} of application {} requested{}{}",
        if body.dry_run { "dry-run sync" } else { "sync" },
        t.id,
        if body.prune { " with prune" } else { "" },
        match body.resources.len() {
            0 => String::new(),
            n => format!(" for {n} object(s)"),
        }
    ))
}

/// Requests a rollback to history entry `id` like `moor app rollback` (auto-sync turned off);
/// 409 while an operation runs, 400 for an unknown id.
pub(crate) async fn rollback(t: &Target<'_>, body: RollbackBody) -> Result<String, UiError> {
    operation::refuse_if_running(t.app).map_err(|e| UiError::Conflict(e.to_string()))?;
    let rb =
        operation::rollback_to(t.app, body.id).map_err(|e| UiError::BadRequest(e.to_string()))?;
    let req = SyncRequest {
        revision: rb.revision.as_deref(),
        revisions: &rb.revisions,
        prune: body.prune,
        ..SyncRequest::default()
    };
    let name = t.app.metadata.name.as_deref().unwrap_or_default();
    operation::write_operation(&t.api, name, MANAGER, t.username, rb.extra, &req)
        .await
        .map_err(|e| write_error(e, &t.id))?;
    Ok(format!(
        "rollback of application {} to history entry {} requested{}",
        t.id,
        body.id,
        if rb.auto_sync_off {
            "; auto-sync is now off (turn it back on to follow Git again)"
        } else {
            ""
        }
    ))
}

/// Sets the refresh annotation like `moor app refresh` (without waiting: the controller
/// removes it when the status is fresh, which the event stream shows).
pub(crate) async fn refresh(t: &Target<'_>) -> Result<String, UiError> {
    // A value of its own per request: the controller removes exactly the value it served.
    let token = format!("ui-{}", k8s_openapi::jiff::Timestamp::now().as_nanosecond());
    patch(
        t,
        json!({"metadata": {"annotations": {REFRESH_ANNOTATION: token}}}),
    )
    .await?;
    Ok(format!("refresh of application {} requested", t.id))
}

/// Sets (true) or removes (false) `spec.suspend` like `moor app suspend` / `resume`.
pub(crate) async fn suspend(t: &Target<'_>, suspend: bool) -> Result<String, UiError> {
    // Removed rather than set to false, so a resumed app's spec is as it was.
    let value = if suspend { json!(true) } else { json!(null) };
    patch(t, json!({"spec": {"suspend": value}})).await?;
    Ok(format!(
        "application {} {}",
        t.id,
        if suspend { "suspended" } else { "resumed" }
    ))
}

async fn patch(t: &Target<'_>, patch: serde_json::Value) -> Result<(), UiError> {
    let pp = PatchParams {
        field_manager: Some(MANAGER.into()),
        ..PatchParams::default()
    };
    let name = t.app.metadata.name.as_deref().unwrap_or_default();
    t.api
        .patch(name, &pp, &Patch::Merge(&patch))
        .await
        .map_err(|e| write_error(e, &t.id))?;
    Ok(())
}

/// The API server's refusal of a write as the caller, as the matching status.
fn write_error(e: kube::Error, id: &str) -> UiError {
    match e {
        kube::Error::Api(s) if s.code == 403 => UiError::Forbidden(format!(
            "the API server refused the write to application {id}: {}",
            s.message
        )),
        kube::Error::Api(s) if s.code == 401 => {
            UiError::Unauthenticated("the API server did not accept the token".into())
        }
        kube::Error::Api(s) if s.code == 404 => {
            UiError::NotFound(format!("application {id} not found"))
        }
        kube::Error::Api(s) if s.code == 409 => {
            UiError::Conflict(format!("application {id} changed meanwhile: {}", s.message))
        }
        e => UiError::Internal(format!("the write to application {id} failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_and_refuse_unknown_fields() {
        let b: SyncBody = serde_json::from_str(
            r#"{"prune":true,"dryRun":true,"resources":[{"group":"apps","kind":"Deployment","namespace":"web","name":"api"}]}"#,
        )
        .unwrap();
        assert!(b.prune && b.dry_run);
        assert_eq!(b.resources[0].kind, "Deployment");
        let empty: SyncBody = serde_json::from_str("{}").unwrap();
        assert!(!empty.prune && !empty.dry_run && empty.resources.is_empty());
        assert!(serde_json::from_str::<SyncBody>(r#"{"revision":"x"}"#).is_err());
        let r: RollbackBody = serde_json::from_str(r#"{"id":3}"#).unwrap();
        assert_eq!((r.id, r.prune), (3, false));
        assert!(serde_json::from_str::<RollbackBody>("{}").is_err());
    }

    #[test]
    fn write_refusals_keep_their_meaning() {
        let api = |code: u16| {
            kube::Error::Api(
                kube::core::Status::failure("no", "Forbidden")
                    .with_code(code)
                    .boxed(),
            )
        };
        assert!(matches!(
            write_error(api(403), "n/a"),
            UiError::Forbidden(_)
        ));
        assert!(matches!(write_error(api(404), "n/a"), UiError::NotFound(_)));
        assert!(matches!(write_error(api(409), "n/a"), UiError::Conflict(_)));
        assert!(matches!(write_error(api(500), "n/a"), UiError::Internal(_)));
    }
}
