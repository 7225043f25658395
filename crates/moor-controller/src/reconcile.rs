//! The reconcile of one Application, top to bottom: finalizer, dependencies, destination, source,
//! render, compare, decide, sync, status. Every step is a named function below `reconcile`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use moor_apply::{ChangeSet, Comparison};
use moor_types::{
    Change, ConditionType, EventReason, HealthStatus, OperationPhase, SyncStatus, error_chain,
};
use serde_json::{Value, json};

use crate::clusters::Cluster;
use crate::context::{Ctx, ReconcileError};
use crate::crd::*;
use crate::decide;
use crate::dependencies;
use crate::finalizer;
use crate::retry;
use crate::status::{self, now};
use crate::unsupported::Stop;

/// What the steps found; turned into status, events and metrics at the end.
struct Outcome {
    status: ApplicationStatus,
    requeue: Duration,
    clear_operation: bool,
    events: Vec<(EventType, EventReason, String)>,
}

pub async fn reconcile(app: Arc<Application>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let name = app.metadata.name.clone().unwrap_or_default();
    let ns = app.metadata.namespace.clone().unwrap_or_default();
    let api: Api<Application> = Api::namespaced_with(ctx.shared.home.clone(), &ns, &ctx.ar);
    if app.metadata.deletion_timestamp.is_some() {
        let key = crate::watches::AppKey::of(&app);
        ctx.shared.watches.unchanged.forget(&key);
        return finalizer::finalize(&app, &api, &ctx).await;
    }
    finalizer::ensure(&app, &api).await?;

    let outcome = reconcile_app(&app, &ctx).await;
    write_status(&app, &api, &outcome).await?;
    // After the status: whoever waits for the annotation to go sees the fresh comparison.
    clear_refresh(&app, &api).await?;
    if outcome.clear_operation {
        clear_operation(&app, &api, &ctx.ar).await?;
    }
    for (type_, reason, note) in outcome.events {
        ctx.publish(&app, type_, reason, note).await;
    }
    let m = &ctx.shared.metrics;
    m.set_app_info(
        &name,
        &ns,
        &outcome.status.sync.status,
        &outcome.status.health.status,
    );
    m.observe_reconcile(&name, &ns, started.elapsed().as_secs_f64());
    Ok(Action::requeue(outcome.requeue))
}

async fn reconcile_app(app: &Application, ctx: &Ctx) -> Outcome {
    let mut out = Outcome {
        status: app.status.clone().unwrap_or_default(),
        requeue: poll_interval(app, ctx),
        clear_operation: false,
        events: vec![],
    };
    out.status.observed_generation = app.metadata.generation;
    out.status.reconciled_at = Some(now());
    out.status.reconciled_by = ctx.shards.as_ref().map(|s| s.identity().to_string());
    out.status.conditions.clear();
    if let Some(msg) = poll_setting(app, ctx).problem {
        status::condition(&mut out.status, ConditionType::InvalidSpecWarning, &msg);
    }
    if app.spec.suspend {
        return suspended(out, app);
    }
    // Fields moor does not implement are never ignored silently; one that would change what is
    // applied stops the app here, before anything is fetched or written.
    if let Some(refusal) = crate::unsupported::check(&mut out.status, &app.spec) {
        return refused(out, refusal, ctx, app);
    }
    match crate::unsupported::check_operation(app, ctx).await {
        Ok(()) => {}
        Err(Stop::Refused(refusal)) => return refused(out, refusal, ctx, app),
        Err(Stop::Unreadable(e)) => {
            return failed_comparison(out, ConditionType::ComparisonError, e, ctx, app);
        }
        // An older copy neither runs the operation nor writes its status over the newer one's.
        Err(Stop::Stale) => {
            out.status = app.status.clone().unwrap_or_default();
            out.requeue = Duration::from_secs(1);
            return out;
        }
    }

    let deps = dependencies::check(app, |ns, name| ctx.lookup(ns, name));
    if let Some((kind, msg)) = deps.condition() {
        status::condition(&mut out.status, kind, &msg);
        out.requeue = deps.requeue();
        return out;
    }
    // The project admits the app before its source is read or its destination touched.
    let admitted = match ctx
        .shared
        .tenancy
        .admit(app, &ctx.ar.group, &ctx.shared.clusters)
        .await
    {
        Ok(a) => a,
        Err(refusal) => return refused(out, refusal, ctx, app),
    };
    let cluster = admitted.cluster.clone();
    // A health rule that does not compile is a spec error: stop before fetching or writing.
    let sh = &ctx.shared;
    let health_rules =
        match crate::health_rules::for_app(app, &sh.health, &sh.home, &sh.namespace).await {
            Ok(r) => r,
            Err(e) => return failed_comparison(out, ConditionType::InvalidSpecError, e, ctx, app),
        };
    let operation = decide::operation_to_run(app);
    // Sources that cannot be read as written (a `$ref` naming no ref source) stop the app
    // before anything is fetched or written.
    if let Err(message) = crate::source_set::check(app) {
        let refusal = crate::tenancy::Refusal {
            condition: ConditionType::InvalidSpecError,
            message,
        };
        return refused(out, refusal, ctx, app);
    }
    // A sync, a rollback or a refresh resolves the revisions against the remotes as they are
    // now, not as the last poll saw them (Argo CD does the same for every operation).
    if operation.is_some() || !app.refresh_requested().is_empty() {
        for url in crate::source_set::repo_urls(app) {
            ctx.shared.sources.invalidate(url);
        }
    }
    let op_sync = operation.as_ref().and_then(|o| o.sync.as_ref());
    let max_age = poll_interval(app, ctx);
    let project = &admitted.project;
    let resolved =
        match crate::source_set::resolve(&ctx.shared, app, project, op_sync, max_age).await {
            Ok(r) => r,
            Err(e) => {
                let e = e.to_string();
                return failed_comparison(out, ConditionType::ComparisonError, e, ctx, app);
            }
        };
    let (commit, revisions) = (resolved.revision(), resolved.revisions());
    let revision_metadata = crate::revision_metadata::of(&ctx.shared.sources, &resolved).await;
    // Helm's .Capabilities as the destination has them (chart renders only).
    let capabilities = match crate::capabilities::for_render(&cluster, &resolved).await {
        Ok(c) => c,
        Err(e) => return failed_comparison(out, ConditionType::ComparisonError, e, ctx, app),
    };
    let sources = &ctx.shared.sources;
    let rendered = match crate::source_set::render(sources, app, &resolved, &capabilities).await {
        Ok(r) => r,
        Err(e) => {
            return degraded(
                out,
                ConditionType::ComparisonError,
                e.to_string(),
                ctx,
                app,
                operation.is_some(),
            );
        }
    };
    // spec.postBuild: after the render cache, as the values change without a commit; before
    // the project's checks, as a value may name a namespace or kind.
    let max_bytes = sources.policy.max_bytes;
    let home = &ctx.shared.home;
    let rendered = match crate::substitution::apply(app, home, rendered, max_bytes).await {
        Ok(r) => r,
        Err(e) => {
            let requested = operation.is_some();
            return degraded(out, ConditionType::ComparisonError, e, ctx, app, requested);
        }
    };
    let refused_objects = crate::tenancy::refused_objects(&admitted, &rendered.manifests).await;
    if !refused_objects.is_empty() {
        let msg = format!(
            "project {:?} does not permit: {}",
            admitted.project,
            refused_objects.join("; ")
        );
        return degraded(
            out,
            ConditionType::InvalidSpecError,
            msg,
            ctx,
            app,
            operation.is_some(),
        );
    }
    let empty = rendered.empty_reason(app);
    let mut opts = ctx.sync_options(app, &commit);
    opts.health_rules = health_rules;
    // Unknown sync options (the app's or an object's) are ignored, but never silently.
    let unknown = moor_apply::sync_option_warnings(&opts.app_options, &rendered.manifests);
    if !unknown.is_empty() {
        let mut msg = unknown
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if unknown.len() > 10 {
            msg.push_str(&format!("; and {} more", unknown.len() - 10));
        }
        status::condition(&mut out.status, ConditionType::InvalidSpecWarning, &msg);
    }
    // CreateNamespace=true: the namespace must exist before the dry-run of what goes in it.
    // Not for a dry run, which writes nothing.
    let dry_run = op_sync.is_some_and(|s| s.dry_run);
    if (app.automated().is_some() || operation.is_some()) && !dry_run {
        crate::namespaces::ensure(&ctx.shared.namespaces, app, &cluster).await;
    }
    // Nothing changed since the last comparison in sync: the live objects are as it read them.
    let unchanged = &ctx.shared.watches.unchanged;
    let app_key = crate::watches::AppKey::of(app);
    let mark = unchanged.mark(&app_key);
    let rules = format!("{:?}|{commit}|{revisions:?}", opts.health_rules);
    let inputs = crate::unchanged::inputs(&rendered.manifests, app.metadata.generation, &rules);
    let quiet = operation.is_none() && app.refresh_requested().is_empty() && empty.is_none();
    let was_synced = app.status.as_ref().is_some_and(|s| {
        s.sync.status == SyncStatus::Synced && s.sync.revision.as_deref() == Some(&commit)
    });
    if quiet && was_synced && unchanged.holds(&app_key, inputs) {
        return out;
    }
    let comparison = match cluster
        .engine
        .compare((*rendered.manifests).clone(), &opts)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            ctx.shared.namespaces.forget(&cluster.server, app);
            return degraded(
                out,
                ConditionType::ComparisonError,
                error_chain(&e),
                ctx,
                app,
                operation.is_some(),
            );
        }
    };
    let watched = watch_resources(ctx, &cluster, &comparison).await;

    let mut comparison = comparison;
    // An empty source only syncs when asked for by hand: automated, it would prune everything.
    let facts = decide::SyncFacts::of(app, &commit, operation.is_some());
    let heal_allowed = || ctx.shared.backoff.heal_allowed(&app.app_id(&ctx.ar.group));
    let reason = decide::sync_reason(&facts, &comparison, &commit, heal_allowed)
        .filter(|_| operation.is_some() || empty.is_none());
    if let Some(decide::SyncReason {
        why: reason,
        retry_count,
    }) = reason
    {
        let prune = operation
            .as_ref()
            .and_then(|o| o.sync.as_ref()?.prune)
            .unwrap_or_else(|| app.automated().is_some_and(|a| a.prune));
        out.clear_operation = app.operation.is_some();
        let op = operation.clone().unwrap_or(Operation {
            sync: Some(SyncOperation {
                revision: revisions.is_empty().then(|| commit.clone()),
                revisions: revisions.clone(),
                prune: Some(prune),
                ..Default::default()
            }),
            initiated_by: Some(json!({"automated": true})),
        });
        // At once when something reads it: a requested operation (resumed after a crash) or
        // hooks (their progress is written as they run).
        let at_once = operation.is_some() || comparison.has_hooks();
        let running = crate::running::Running::start(app, ctx, &op, at_once).await;
        out.events.push((
            EventType::Normal,
            EventReason::SyncStarted,
            format!("{reason} at revision {commit}"),
        ));
        let mut opts = opts.clone();
        opts.prune = prune;
        // dryRun and a selective sync's resources.
        crate::sync_request::apply(&op, &mut opts);
        // Hooks show in the status while they run.
        let api = Api::namespaced_with(ctx.shared.home.clone(), &app_ns(app), &ctx.ar);
        let hooks = crate::hook_status::HookLog::start(api, app_name(app), commit.clone());
        opts.hook_progress = Some(hooks.progress());
        // What the applies wrote tells the state after the sync (no second read of it).
        opts.read_back = true;
        opts.on_written = Some(ctx.shared.watches.written_hook(&cluster));
        // Applies what the comparison above dry-ran, rather than planning everything again.
        let result = cluster
            .engine
            .sync_compared(&comparison, &opts, &|_| {})
            .await;
        if result.is_err() {
            ctx.shared.namespaces.forget(&cluster.server, app);
        }
        let after =
            (result.as_ref().ok()).and_then(|set| comparison.after(set, &opts.health_rules));
        let hook_runs = hooks.finish().await;
        running.done().await;
        let run = SyncRun {
            op,
            retry_count,
            result,
            hook_runs,
            revisions: revisions.clone(),
            metadata: revision_metadata.clone(),
        };
        record_sync(&mut out, app, ctx, &commit, run);
        if let Some(c) = after {
            comparison = c;
        } else if let Ok(c) = cluster
            .engine
            .compare((*rendered.manifests).clone(), &opts)
            .await
        {
            comparison = c;
        }
    } else if let Some(wait) = retry::due_in(app, &commit).filter(|_| app.automated().is_some()) {
        out.requeue = out.requeue.min(wait.max(Duration::from_millis(200)));
    }
    status::apply_comparison(&mut out.status, &comparison, &commit, &revisions);
    if out.status.sync.revision_metadata.is_none() {
        out.status.sync.revision_metadata = revision_metadata;
    }
    if comparison.in_sync() && empty.is_none() {
        unchanged.record(&app_key, inputs, mark, &watched);
    }
    if let Some(msg) = empty {
        out.status.sync.status = SyncStatus::OutOfSync.to_string();
        status::condition(&mut out.status, ConditionType::ComparisonError, &msg);
    }
    if app.automated().is_some()
        && !comparison.in_sync()
        && !app.automated().is_some_and(|a| a.self_heal)
    {
        let names: Vec<String> = comparison
            .out_of_sync()
            .map(|r| r.key.to_string())
            .collect();
        status::condition(
            &mut out.status,
            ConditionType::OutOfSync,
            &format!("drifted or not pruned: {}", names.join(", ")),
        );
    }
    note_health_change(app, &mut out);
    out
}

/// Removes the operation this reconcile ran, and only that one: the patch tests that
/// `operation` is still what it was, so an operation requested during the sync is kept and run
/// next (a merge patch of null would silently drop it).
async fn clear_operation(
    app: &Application,
    api: &Api<Application>,
    ar: &kube::core::ApiResource,
) -> Result<(), ReconcileError> {
    let Some(ran) = &app.operation else {
        return Ok(());
    };
    let name = app.metadata.name.clone().unwrap_or_default();
    let update = |e| ReconcileError::Update(name.clone(), e);
    // The stored operation as it is, unknown fields included (Argo CD's have more than moor
    // reads), so that the test below compares exactly.
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        api.clone().into_client(),
        app.metadata.namespace.as_deref().unwrap_or_default(),
        ar,
    );
    let Some(stored) = raw.get_opt(&name).await.map_err(update)? else {
        return Ok(());
    };
    let stored = stored.data.get("operation").cloned().unwrap_or(Value::Null);
    if serde_json::from_value::<Operation>(stored.clone())
        .ok()
        .as_ref()
        != Some(ran)
    {
        tracing::info!("a new operation was requested on {name} during the sync: keeping it");
        return Ok(());
    }
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/operation", "value": stored},
        {"op": "remove", "path": "/operation"},
    ]))
    .expect("a JSON patch");
    match api
        .patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
    {
        Ok(_) => Ok(()),
        // The test failed: a new operation was requested meanwhile; it stays for the next pass.
        Err(kube::Error::Api(s)) if s.code == 422 => {
            tracing::info!("a new operation was requested on {name} during the sync: keeping it");
            Ok(())
        }
        Err(e) => Err(update(e)),
    }
}

/// Removes the refresh annotations the app carried when this reconcile began: the refresh is done.
async fn clear_refresh(app: &Application, api: &Api<Application>) -> Result<(), ReconcileError> {
    let annotations = app.metadata.annotations.clone().unwrap_or_default();
    // Each removal tests the value this reconcile saw: a reconcile working from an older copy
    // of the app never removes a refresh requested after it began (the CLI writes a new value
    // per request), which would make `moor app refresh` return with a stale status.
    let ops: Vec<Value> = app
        .refresh_requested()
        .into_iter()
        .flat_map(|a| {
            let path = format!(
                "/metadata/annotations/{}",
                a.replace('~', "~0").replace('/', "~1")
            );
            [
                json!({"op": "test", "path": path, "value": annotations[a]}),
                json!({"op": "remove", "path": path}),
            ]
        })
        .collect();
    if ops.is_empty() {
        return Ok(());
    }
    let name = app.metadata.name.clone().unwrap_or_default();
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).expect("a JSON patch");
    match api
        .patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
    {
        // 422: a newer request replaced the value; the next reconcile serves it.
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 422 => Ok(()),
        Err(e) => Err(ReconcileError::Update(name, e)),
    }
}

fn poll_interval(app: &Application, ctx: &Ctx) -> Duration {
    poll_setting(app, ctx).every
}

/// spec.pollInterval, or the controller's, never below the controller's minimum.
fn poll_setting(app: &Application, ctx: &Ctx) -> crate::poll::PollInterval {
    crate::poll::effective(
        app.spec.poll_interval.as_deref(),
        ctx.shared.poll_interval,
        ctx.shared.min_poll_interval,
    )
}

/// One sync as it ended: the operation it ran, its result, and its hooks' runs.
struct SyncRun {
    op: Operation,
    retry_count: i64,
    result: Result<ChangeSet, moor_apply::SyncError>,
    hook_runs: Vec<ResourceResult>,
    /// With `spec.sources`: each source's revision.
    revisions: Vec<String>,
    /// Author, date and subject of the commit, for the history entry.
    metadata: Option<RevisionMetadata>,
}

fn record_sync(out: &mut Outcome, app: &Application, ctx: &Ctx, commit: &str, run: SyncRun) {
    let SyncRun {
        op,
        retry_count,
        result,
        hook_runs,
        revisions,
        metadata,
    } = run;
    let selective = op.sync.as_ref().is_some_and(|s| !s.resources.is_empty());
    let started_at = Some(now());
    match result {
        Ok(set) => {
            let changed = set
                .objects
                .iter()
                .filter(|o| o.change != Change::Unchanged)
                .count();
            let (dry_run, message) = (set.dry_run, crate::sync_request::summary(&set, selective));
            out.status.operation_state = Some(OperationState {
                phase: OperationPhase::Succeeded.to_string(),
                message: message.clone(),
                operation: Some(op),
                started_at,
                finished_at: Some(now()),
                sync_result: Some({
                    let mut r = status::sync_result(&set, commit, &revisions);
                    r.resources.extend(hook_runs);
                    r
                }),
                retry_count,
            });
            // A dry run deployed nothing: no history, and no reset of the backoff.
            if dry_run {
                out.events
                    .push((EventType::Normal, EventReason::SyncSucceeded, message));
                return;
            }
            status::add_history(&mut out.status, app, commit, &revisions);
            if let Some(h) = out
                .status
                .history
                .last_mut()
                .filter(|h| h.revision == commit)
            {
                h.revision_metadata = h.revision_metadata.take().or(metadata);
            }
            ctx.shared
                .metrics
                .inc_sync(OperationPhase::Succeeded.as_str());
            ctx.shared
                .backoff
                .clear_failures(&app.app_id(&ctx.ar.group));
            out.events.push((
                EventType::Normal,
                EventReason::SyncSucceeded,
                format!("synced revision {commit}: {changed} objects changed"),
            ));
        }
        Err(e) => {
            let msg = error_chain(&e);
            out.status.operation_state = Some(OperationState {
                phase: OperationPhase::Failed.to_string(),
                message: msg.clone(),
                operation: Some(op),
                started_at,
                finished_at: Some(now()),
                sync_result: Some(SyncResult {
                    revision: commit.to_string(),
                    revisions,
                    resources: hook_runs,
                }),
                retry_count,
            });
            status::condition(&mut out.status, ConditionType::SyncError, &msg);
            ctx.shared.metrics.inc_sync(OperationPhase::Failed.as_str());
            out.requeue = match app.retry().filter(|r| retry::allowed(r, retry_count)) {
                Some(policy) => retry::delay(policy, retry_count),
                None => ctx
                    .shared
                    .backoff
                    .failure(&app.app_id(&ctx.ar.group))
                    .min(poll_interval(app, ctx)),
            };
            out.events.push((
                EventType::Warning,
                EventReason::SyncFailed,
                truncate(&msg, 1000),
            ));
        }
    }
}

fn app_ns(app: &Application) -> String {
    app.metadata.namespace.clone().unwrap_or_default()
}

fn app_name(app: &Application) -> String {
    app.metadata.name.clone().unwrap_or_default()
}

/// Source or destination unusable: the cluster is left as it is, the reason goes in a condition.
fn failed_comparison(
    mut out: Outcome,
    kind: ConditionType,
    msg: String,
    ctx: &Ctx,
    app: &Application,
) -> Outcome {
    tracing::warn!(
        "Application {}/{}: {kind}: {msg}",
        app.metadata.namespace.as_deref().unwrap_or(""),
        app.metadata.name.as_deref().unwrap_or("")
    );
    status::condition(&mut out.status, kind, &msg);
    out.status.sync.status = SyncStatus::Unknown.to_string();
    out.requeue = ctx
        .shared
        .backoff
        .failure(&app.app_id(&ctx.ar.group))
        .min(poll_interval(app, ctx));
    out
}

/// The app's project refuses it: nothing read or written; a requested operation fails with
/// the rule, so `moor app sync --wait` says why instead of waiting.
fn refused(
    mut out: Outcome,
    refusal: crate::tenancy::Refusal,
    ctx: &Ctx,
    app: &Application,
) -> Outcome {
    if let Some(op) = decide::operation_to_run(app) {
        out.clear_operation = app.operation.is_some();
        out.status.operation_state = Some(OperationState {
            phase: OperationPhase::Failed.to_string(),
            message: truncate(&refusal.message, 2000),
            operation: Some(op),
            started_at: Some(now()),
            finished_at: Some(now()),
            sync_result: None,
            retry_count: 0,
        });
    }
    failed_comparison(out, refusal.condition, refusal.message, ctx, app)
}

/// `spec.suspend`: nothing fetched, compared or applied, so drift and webhooks only lead here.
/// Sync and health stay as last seen, with a condition saying they may be stale. A requested
/// operation fails, so `moor app sync --wait` says why instead of waiting for the resume.
fn suspended(mut out: Outcome, app: &Application) -> Outcome {
    status::condition(
        &mut out.status,
        ConditionType::Suspended,
        "reconciliation is suspended (spec.suspend): no fetch, sync or self-heal until resumed",
    );
    if let Some(op) = decide::operation_to_run(app) {
        out.clear_operation = app.operation.is_some();
        out.status.operation_state = Some(OperationState {
            phase: OperationPhase::Failed.to_string(),
            message: "the application is suspended: resume it (spec.suspend: false) to sync".into(),
            operation: Some(op),
            started_at: Some(now()),
            finished_at: Some(now()),
            sync_result: None,
            retry_count: 0,
        });
    }
    out
}

/// Manifests that do not render or validate: nothing applied, the app Degraded with the reason.
fn degraded(
    mut out: Outcome,
    kind: ConditionType,
    msg: String,
    ctx: &Ctx,
    app: &Application,
    requested: bool,
) -> Outcome {
    let was = out.status.health.status.clone();
    out.status.health = HealthStatusField {
        status: HealthStatus::Degraded.to_string(),
        message: Some(truncate(&msg, 2000)),
    };
    out.status.sync.status = SyncStatus::Unknown.to_string();
    if requested {
        out.clear_operation = app.operation.is_some();
        out.status.operation_state = Some(OperationState {
            phase: OperationPhase::Failed.to_string(),
            message: truncate(&msg, 2000),
            operation: decide::operation_to_run(app),
            started_at: Some(now()),
            finished_at: Some(now()),
            sync_result: None,
            retry_count: 0,
        });
    }
    if was != out.status.health.status {
        out.events.push((
            EventType::Warning,
            EventReason::HealthChanged,
            format!(
                "health {was} -> {}: {}",
                HealthStatus::Degraded,
                truncate(&msg, 500)
            ),
        ));
    }
    failed_comparison(out, kind, msg, ctx, app)
}

fn note_health_change(app: &Application, out: &mut Outcome) {
    let was = app
        .status
        .as_ref()
        .map(|s| s.health.status.clone())
        .unwrap_or_default();
    let now = &out.status.health.status;
    if &was != now {
        out.events.push((
            EventType::Normal,
            EventReason::HealthChanged,
            format!(
                "health {} -> {now}",
                if was.is_empty() {
                    HealthStatus::Unknown.as_str()
                } else {
                    &was
                }
            ),
        ));
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Starts the shared watches for every resource type the app has.
/// Makes sure the app's resource types are watched (drift); returns the watches' keys.
async fn watch_resources(ctx: &Ctx, cluster: &Cluster, cmp: &Comparison) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut watched = Vec::new();
    for r in cmp.resources.iter().chain(&cmp.extra) {
        if seen.insert((r.api_version.clone(), r.key.kind.clone()))
            && let Some(ar) = cluster.engine.resolve(&r.api_version, &r.key.kind).await
        {
            watched.push(ctx.shared.watches.ensure(cluster, &ar));
        }
    }
    watched
}

async fn write_status(
    app: &Application,
    api: &Api<Application>,
    out: &Outcome,
) -> Result<(), ReconcileError> {
    let none = ApplicationStatus::default();
    let before = app.status.as_ref().unwrap_or(&none);
    if status::same_ignoring_time(before, &out.status) {
        return Ok(());
    }
    let mut v = serde_json::to_value(&out.status).expect("status serializes");
    // Merge patch keeps keys it is not given: name the emptied ones so they are removed.
    if let Some(map) = v.as_object_mut() {
        for k in ["conditions", "resources", "history", "operationState"] {
            map.entry(k).or_insert(Value::Null);
        }
    }
    let name = app.metadata.name.clone().unwrap_or_default();
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": v})),
    )
    .await
    .map_err(|e| ReconcileError::Update(name, e))?;
    Ok(())
}

pub fn error_policy(app: Arc<Application>, err: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    tracing::warn!("{}", error_chain(err));
    Action::requeue(ctx.shared.backoff.failure(&app.app_id(&ctx.ar.group)))
}
