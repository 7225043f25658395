//! `status.operationState` says Running while a sync runs. A requested operation (a manual
//! sync, a rollback) records it before anything is written: a controller that dies mid-sync
//! finds it there and runs the operation again (`decide::pending_operation`); so does a sync
//! with hooks, whose progress is written into it as they run. Any other automated sync, which
//! nothing resumes, records it only once it has run for [`AUTOMATED_AFTER`]: most end sooner,
//! and for a new app of three ConfigMaps that write was one in every seventeen requests.

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::context::Ctx;
use crate::crd::{Application, Operation, OperationState};
use crate::status::now;
use moor_types::OperationPhase;

/// How long an automated sync runs before its status says Running.
pub const AUTOMATED_AFTER: Duration = Duration::from_secs(1);

/// The Running state of a sync, written now or later; [`Running::done`] ends it before the
/// reconcile writes the final status.
pub struct Running(Option<(oneshot::Sender<()>, JoinHandle<()>)>);

impl Running {
    /// Records the sync of `op` as Running: `at_once`, or after [`AUTOMATED_AFTER`].
    pub async fn start(app: &Application, ctx: &Ctx, op: &Operation, at_once: bool) -> Running {
        let (ns, name) = (
            app.metadata.namespace.clone().unwrap_or_default(),
            app.metadata.name.clone().unwrap_or_default(),
        );
        let api: Api<Application> = Api::namespaced_with(ctx.shared.home.clone(), &ns, &ctx.ar);
        let state = OperationState {
            phase: OperationPhase::Running.to_string(),
            message: "syncing".into(),
            operation: Some(op.clone()),
            started_at: Some(now()),
            ..Default::default()
        };
        let patch = json!({"status": {"operationState": state}});
        if at_once {
            write(&api, &ns, &name, &patch).await;
            return Running(None);
        }
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = rx => {}
                _ = tokio::time::sleep(AUTOMATED_AFTER) => write(&api, &ns, &name, &patch).await,
            }
        });
        Running(Some((tx, task)))
    }

    /// The sync ended: a write not started is dropped, one under way is waited for, so it
    /// never lands after the final status.
    pub async fn done(self) {
        if let Some((tx, task)) = self.0 {
            let _ = tx.send(());
            let _ = task.await;
        }
    }
}

async fn write(api: &Api<Application>, ns: &str, name: &str, patch: &Value) {
    if let Err(e) = api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        tracing::warn!("failed to record the running operation of {ns}/{name}: {e}");
    }
}
