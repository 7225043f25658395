//! Hooks in the Application's status while they run: every start and end of a hook is written
//! into `status.operationState.syncResult.resources` at once (Argo CD's `hookType`/`hookPhase`),
//! so `moor app get` and `kubectl` show which hook a sync waits for, not just "syncing".

use std::sync::{Arc, Mutex};

use kube::api::{Api, Patch, PatchParams};
use moor_apply::{HookProgress, HookResult};
use serde_json::json;
use tokio::sync::mpsc;

use crate::crd::{Application, ResourceResult};

/// Collects the hook runs of one sync and writes them to the app's status as they change.
pub struct HookLog {
    results: Arc<Mutex<Vec<HookResult>>>,
    /// `true`: the runs changed; `false`: the sync is over, stop after this write.
    tx: mpsc::UnboundedSender<bool>,
    writer: tokio::task::JoinHandle<()>,
}

impl HookLog {
    /// Starts writing hook runs of the sync of `commit` to Application `name` through `api`.
    pub fn start(api: Api<Application>, name: String, commit: String) -> HookLog {
        let results: Arc<Mutex<Vec<HookResult>>> = Arc::default();
        let (tx, mut rx) = mpsc::unbounded_channel::<bool>();
        let seen = results.clone();
        let writer = tokio::spawn(async move {
            while let Some(mut go_on) = rx.recv().await {
                // Coalesce: one write carries every change made meanwhile.
                while let Ok(more) = rx.try_recv() {
                    go_on &= more;
                }
                if !go_on {
                    return;
                }
                let resources: Vec<ResourceResult> = seen
                    .lock()
                    .expect("hook log")
                    .iter()
                    .map(resource_result)
                    .collect();
                let patch = json!({"status": {"operationState": {
                    "message": running_message(&resources),
                    "syncResult": {"revision": commit, "resources": resources}}}});
                if let Err(e) = api
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    tracing::debug!("writing the hooks of {name} to its status: {e}");
                }
            }
        });
        HookLog {
            results,
            tx,
            writer,
        }
    }

    /// The callback for the engine's `hook_progress`.
    pub fn progress(&self) -> HookProgress {
        let (results, tx) = (self.results.clone(), self.tx.clone());
        HookProgress(Arc::new(move |r: &HookResult| {
            let mut all = results.lock().expect("hook log");
            match all
                .iter_mut()
                .find(|x| x.key == r.key && x.phase == r.phase)
            {
                Some(x) => *x = r.clone(),
                None => all.push(r.clone()),
            }
            let _ = tx.send(true);
        }))
    }

    /// Stops writing (after the last pending write) and returns the hook runs as status entries.
    pub async fn finish(self) -> Vec<ResourceResult> {
        let HookLog {
            results,
            tx,
            writer,
        } = self;
        // The final status is written by the reconcile: pending progress writes are dropped.
        let _ = tx.send(false);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
        let all = results.lock().expect("hook log");
        all.iter().map(resource_result).collect()
    }
}

fn running_message(resources: &[ResourceResult]) -> String {
    let running: Vec<String> = resources
        .iter()
        .filter(|r| r.hook_phase.as_deref() == Some("Running"))
        .map(|r| {
            format!(
                "{} hook {} {}",
                r.hook_type.as_deref().unwrap_or(""),
                r.kind,
                r.name
            )
        })
        .collect();
    if running.is_empty() {
        "syncing".into()
    } else {
        format!("waiting for {}", running.join(", "))
    }
}

/// A hook run as an entry of `syncResult.resources`, with Argo CD's hook fields.
pub fn resource_result(h: &HookResult) -> ResourceResult {
    let (group, version) = crate::status::api_group_version(&h.api_version);
    ResourceResult {
        group,
        version,
        kind: h.key.kind.clone(),
        namespace: h.key.namespace.clone(),
        name: h.key.name.clone(),
        status: h.status.as_str().to_string(),
        message: h.message.clone(),
        hook_type: Some(h.phase.as_str().to_string()),
        hook_phase: Some(h.status.as_str().to_string()),
    }
}
