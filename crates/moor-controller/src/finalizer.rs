//! moor's finalizer on Applications: added before anything is applied, removed once the app's
//! objects are pruned on deletion. Both writes are JSON patches that test what they change first
//! (as kube-runtime's finalizer helper does), so another controller's finalizer is never lost.

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::{Value, json};

use crate::context::{Ctx, ReconcileError};
use crate::crd::{Application, FINALIZER};
use moor_types::{EventReason, error_chain};

/// Adds moor's finalizer with a JSON patch that first tests the list it saw, so a finalizer
/// another controller adds at the same moment is never overwritten (a merge patch of the whole
/// list would drop it); a failed test is a conflict and the reconcile is retried.
pub async fn ensure(app: &Application, api: &Api<Application>) -> Result<(), ReconcileError> {
    let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
    if finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let ops = if finalizers.is_empty() {
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ])
    } else {
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": finalizers},
            {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
        ])
    };
    json_patch_app(app, api, ops).await
}

/// Removes moor's finalizer by its index, testing that the index still holds it.
async fn remove(app: &Application, api: &Api<Application>) -> Result<(), ReconcileError> {
    let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
    let Some(i) = finalizers.iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{i}");
    let ops = json!([
        {"op": "test", "path": path, "value": FINALIZER},
        {"op": "remove", "path": path},
    ]);
    json_patch_app(app, api, ops).await
}

async fn json_patch_app(
    app: &Application,
    api: &Api<Application>,
    ops: Value,
) -> Result<(), ReconcileError> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let patch: json_patch::Patch = serde_json::from_value(ops).expect("a JSON patch");
    api.patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .map_err(|e| ReconcileError::Update(name, e))?;
    Ok(())
}

/// Deletion with the finalizer: prune everything the app owns, then let the object go.
pub async fn finalize(
    app: &Application,
    api: &Api<Application>,
    ctx: &Ctx,
) -> Result<Action, ReconcileError> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let has_finalizer = |a: &Application| {
        a.metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == FINALIZER)
    };
    if !has_finalizer(app) {
        return Ok(Action::await_change());
    }
    // The copy this reconcile was given may be stale: a deletion that just finished (finalizer
    // removed) would otherwise run the app's PreDelete hooks a second time.
    match api.get_opt(&name).await {
        Ok(Some(fresh)) if has_finalizer(&fresh) => {}
        Ok(_) => return Ok(Action::await_change()),
        Err(e) => return Err(ReconcileError::Update(name, e)),
    }
    // Deleting is writing: the project must still admit the app, and the prune runs as its
    // service account. A refused app's objects are left in place, and the Event says why.
    let admitted = ctx
        .shared
        .tenancy
        .admit(app, &ctx.ar.group, &ctx.shared.clusters)
        .await;
    if let Err(refusal) = &admitted {
        let note = format!("objects of the app are kept: {refusal}");
        ctx.publish(app, EventType::Warning, EventReason::DeleteSkipped, note)
            .await;
    }
    if let Ok(crate::tenancy::Admitted {
        cluster, project, ..
    }) = admitted
    {
        let mut opts = ctx.sync_options(app, "");
        opts.prune = true;
        opts.deleting_app = true;
        opts.revision = None;
        let source = delete_hook_source(app, ctx, &project, &cluster).await;
        if let Err(e) = cluster.engine.delete(source, &opts, &|_| {}).await {
            ctx.publish(
                app,
                EventType::Warning,
                EventReason::DeleteFailed,
                error_chain(&e),
            )
            .await;
            return Ok(Action::requeue(Duration::from_secs(5)));
        }
        let _ = cluster.engine.forget(&app.app_id(&ctx.ar.group)).await;
    }
    remove(app, api).await?;
    ctx.shared
        .metrics
        .remove_app(&name, app.metadata.namespace.as_deref().unwrap_or(""));
    Ok(Action::await_change())
}

/// The app's rendered source, for its PreDelete and PostDelete hooks: at the revision it was
/// last synced to (else its target). A source that cannot be read or rendered any more deletes
/// the app without hooks, logged: a deleted repository must not keep the app forever.
async fn delete_hook_source(
    app: &Application,
    ctx: &Ctx,
    project: &str,
    cluster: &crate::clusters::Cluster,
) -> Vec<moor_types::Manifest> {
    // The revisions last synced, as a rollback would name them.
    let status = app.status.as_ref();
    let op = crate::crd::SyncOperation {
        revision: status.and_then(|s| s.sync.revision.clone()),
        revisions: status.map(|s| s.sync.revisions.clone()).unwrap_or_default(),
        ..Default::default()
    };
    let op = op.revision.is_some().then_some(&op);
    let sources = &ctx.shared.sources;
    let interval = ctx.shared.poll_interval;
    let rendered = async {
        let resolved = crate::source_set::resolve(&ctx.shared, app, project, op, interval)
            .await
            .map_err(|e| e.to_string())?;
        // As a sync renders it: the destination's Helm capabilities, the app's variables.
        let caps = crate::capabilities::for_render(cluster, &resolved).await?;
        let rendered = crate::source_set::render(sources, app, &resolved, &caps)
            .await
            .map_err(|e| e.to_string())?;
        let max_bytes = sources.policy.max_bytes;
        crate::substitution::apply(app, &ctx.shared.home, rendered, max_bytes).await
    }
    .await;
    match rendered {
        Ok(r) => (*r.manifests).clone(),
        Err(e) => {
            tracing::warn!(
                "Application {}/{}: deleting without its PreDelete/PostDelete hooks: {e}",
                app.metadata.namespace.as_deref().unwrap_or(""),
                app.metadata.name.as_deref().unwrap_or("")
            );
            vec![]
        }
    }
}
