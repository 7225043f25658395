//! The Application controller: keeps every cluster matching Git. One reconcile loop per
//! Application API group (moor.dev; argoproj.io with --argocd-compat), triggered by spec and
//! operation changes, the poll interval, webhooks, and shared watches of owned objects (drift).
//!
//! Reading order: [`run`] wires things up; `reconcile::reconcile` is one app's reconcile, one
//! named step after another. Its decisions are pure functions of plain values, tested without a
//! cluster: `decide` (which operation to run, whether and why to sync), `dependencies`
//! (`dependsOn`), `retry` (`syncPolicy.retry`) and `backoff` (self-heal and failure backoff).
//! `context` is what every reconcile shares; `repo_credentials` picks a repository's credentials.

#![warn(missing_docs)]

mod automation;
mod backoff;
mod capabilities;
mod cluster_config;
mod clusters;
mod context;
pub mod crd;
mod decide;
mod dependencies;
pub mod events;
mod finalizer;
mod gc;
mod health_rules;
mod hook_status;
mod inputs;
mod leader;
mod namespaces;
mod poll;
pub mod project;
mod project_rules;
mod reconcile;
mod render_cache;
mod render_options;
mod repo_credentials;
mod retry;
mod revision_metadata;
mod running;
mod shard;
mod source_set;
mod sources;
mod status;
mod substitution;
mod sync_request;
mod tenancy;
mod triggers;
mod unchanged;
pub mod unsupported;
mod watches;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::events::{Recorder, Reporter};
use futures::{StreamExt, future};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, WatchStreamExt, controller, watcher};
use kube::{Client, Config, ResourceExt};
use moor_git::{RepoCache, normalize_url};
use moor_server::{Metrics, PushEvent, ServerState, WebhookConfig, WebhookLimits};
use tokio::sync::mpsc;

pub use clusters::{CLUSTER_SECRET_LABEL, IN_CLUSTER_NAME};
pub use gc::GcOptions;
pub use leader::{DEFAULT_LEASE_NAME, LeaderElection, default_identity};
pub use poll::DEFAULT_MIN_POLL_INTERVAL;
pub use repo_credentials::REPO_SECRET_LABEL;
pub use shard::{PIN_LABEL as SHARD_PIN_LABEL, ShardBy, Sharding};
pub use sources::{DEFAULT_RENDER_CACHE_BYTES, RenderPolicy};

use crate::context::{Ctx, Shared};
use crate::crd::{ARGO_GROUP, Application, MOOR_GROUP, api_resource};
use crate::watches::{AppKey, Watches};

/// How far ahead of now a trigger is scheduled (see the Controller's config in [`run`]).
const TRIGGER_DEBOUNCE: Duration = Duration::from_millis(10);

/// Why the controller cannot start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The Application CRD of a group it serves is not installed.
    #[error("the Application CRD {0} is not installed or not served: apply deploy/crds/ first")]
    MissingCrd(String, #[source] kube::Error),
    /// The AppProjects cannot be watched (CRD missing, default project not made).
    #[error(transparent)]
    Projects(#[from] tenancy::TenancyError),
    /// The HTTP address could not be bound.
    #[error("failed to listen on {0}")]
    Listen(SocketAddr, #[source] std::io::Error),
    /// The poll interval is below the minimum (given, minimum).
    #[error(
        "the poll interval {} is below the minimum of {}: polling that often would fetch every repository in a loop",
        humantime::format_duration(*.0),
        humantime::format_duration(*.1)
    )]
    PollIntervalTooShort(Duration, Duration),
}

/// How the controller runs: what it serves, how often it polls, where it caches.
pub struct ControllerOptions {
    /// Namespace of cluster and repository Secrets.
    pub namespace: String,
    /// Only reconcile Applications in this namespace (default: all namespaces).
    pub app_namespace: Option<String>,
    /// How often each app's repository is fetched (webhooks make it sooner).
    pub poll_interval: Duration,
    /// No app is polled more often than this (`spec.pollInterval` below it is raised to it).
    pub min_poll_interval: Duration,
    /// Webhooks and probes; also `/metrics` unless `metrics_addr` is given.
    pub webhook_addr: Option<SocketAddr>,
    /// `/metrics` and probes on their own address, so that port can stay inside the cluster.
    pub metrics_addr: Option<SocketAddr>,
    /// Secrets the push webhooks are verified with.
    pub webhook: WebhookConfig,
    /// Body size, concurrency and time bounds of webhook requests.
    pub webhook_limits: WebhookLimits,
    /// Also serve argoproj.io Applications.
    pub argocd_compat: bool,
    /// Apps reconciled at once.
    pub concurrency: u16,
    /// Where repositories are cached and checked out.
    pub cache_root: PathBuf,
    /// Garbage collection of the repository cache.
    pub cache_gc: GcOptions,
    /// Take objects that exist without any app's tracking id into an app (reported as adopted);
    /// false refuses them before any write.
    pub adopt: bool,
    /// Commands that kubeconfigs of cluster Secrets may run (exec plugins, auth-provider
    /// cmd-path); none by default.
    pub allowed_exec_commands: Vec<String>,
    /// Limits and permissions of renders (remote bases and value files, sizes, timeout).
    pub render: RenderPolicy,
    /// No `default` project is created: every app needs a project an administrator made.
    pub strict_projects: bool,
    /// An app whose project (or spec) names no service account to impersonate is not synced.
    pub require_impersonation: bool,
    /// Reconcile only while holding this Lease (`--leader-elect`), so replicas can run side by side.
    pub leader_election: Option<LeaderElection>,
    /// Split the apps between replicas (`--shards auto`) instead of electing one leader.
    pub sharding: Option<Sharding>,
}

/// Builds a client for a cluster config, with `moor_cluster_api_requests_total` counting.
pub fn counted_client(
    config: Config,
    cluster: &str,
    metrics: &Arc<Metrics>,
) -> Result<Client, String> {
    let layer = moor_server::ApiRequestCounter::new(metrics.clone(), cluster.to_string());
    kube::client::ClientBuilder::try_from(config)
        .map(|b| b.with_layer(&layer).build())
        .map_err(|e| e.to_string())
}

/// The controller-wide poll interval may not be below the minimum (checked at start).
pub fn check_poll_interval(poll: Duration, min: Duration) -> Result<(), ControllerError> {
    if poll < min {
        return Err(ControllerError::PollIntervalTooShort(poll, min));
    }
    Ok(())
}

/// Runs the controller until the process is stopped.
pub async fn run(home_config: Config, opts: ControllerOptions) -> Result<(), ControllerError> {
    check_poll_interval(opts.poll_interval, opts.min_poll_interval)?;
    let metrics = Arc::new(Metrics::new());
    let home = counted_client(home_config.clone(), IN_CLUSTER_NAME, &metrics)
        .expect("the home client builds");
    let mut groups = vec![MOOR_GROUP];
    if opts.argocd_compat {
        groups.push(ARGO_GROUP);
    }
    let apps_api = |ar: &kube::core::ApiResource| -> Api<Application> {
        match &opts.app_namespace {
            Some(ns) => Api::namespaced_with(home.clone(), ns, ar),
            None => Api::all_with(home.clone(), ar),
        }
    };
    for g in &groups {
        let api = apps_api(&api_resource(g));
        api.list(&kube::api::ListParams::default().limit(1))
            .await
            .map_err(|e| ControllerError::MissingCrd(format!("applications.{g}"), e))?;
    }

    // With leader election, probes, metrics and webhooks are served from the start (ready
    // means running: a follower must pass its readiness probe, or a rolling update would wait
    // for a leader that only goes away after it) and everything below waits for the Lease.
    let (push_tx, mut push_rx) = mpsc::unbounded_channel::<PushEvent>();
    let ready = Arc::new(AtomicBool::new(false));
    let state = ServerState {
        metrics: metrics.clone(),
        ready: ready.clone(),
        webhook: opts.webhook.clone(),
        pushes: push_tx.clone(),
    };
    if let Some(le) = opts.leader_election.clone() {
        listen(&opts, state.clone()).await?;
        ready.store(true, Ordering::SeqCst);
        let targets = leader::PushTargets {
            home: home.clone(),
            groups: groups.clone(),
            app_namespace: opts.app_namespace.clone(),
        };
        push_rx = leader::lead(
            &home,
            &opts.namespace,
            le,
            metrics.clone(),
            push_rx,
            targets,
        )
        .await;
    }
    metrics.set_leader(true);
    let shards = opts
        .sharding
        .clone()
        .map(|cfg| Arc::new(shard::Shards::new(cfg)));
    if let Some(shards) = &shards {
        // Every replica takes webhooks: the refresh annotation reaches the app's owner, which
        // may be another replica (the local dispatch below serves the ones owned here).
        let targets = leader::PushTargets {
            home: home.clone(),
            groups: groups.clone(),
            app_namespace: opts.app_namespace.clone(),
        };
        push_rx = shard_pushes(push_rx, targets, shards.clone());
    }

    let (app_tx, app_rx) = mpsc::unbounded_channel::<AppKey>();
    let m = metrics.clone();
    let mut sources = sources::Sources::new(
        RepoCache::new(opts.cache_root.join("repos")),
        opts.cache_root.join("charts"),
        opts.poll_interval,
    );
    sources.on_fetch = Box::new(move |repo, secs| m.observe_git_fetch(repo, secs));
    let m = metrics.clone();
    sources.on_render = Box::new(move |id| m.inc_render(id));
    sources.policy = opts.render.clone();
    let m = metrics.clone();
    let mut clusters = clusters::Clusters::new(
        home.clone(),
        home_config,
        &opts.namespace,
        move |config, name| counted_client(config, name, &m),
    );
    clusters.allowed_commands = opts.allowed_exec_commands.clone();
    let recorder = Recorder::new(
        home.clone(),
        Reporter {
            controller: "moor-controller".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    let mut shared = Shared::new(
        home.clone(),
        opts.namespace.clone(),
        clusters,
        sources,
        Watches::new(app_tx.clone()),
        metrics.clone(),
        recorder,
        opts.poll_interval,
        opts.cache_root.join("keys"),
    );
    shared.adopt = opts.adopt;
    shared.tenancy.namespace = opts.namespace.clone();
    shared.tenancy.strict = opts.strict_projects;
    shared.tenancy.require_impersonation = opts.require_impersonation;
    let (project_tx, project_rx) = mpsc::unbounded_channel::<String>();
    shared.tenancy.changed = Some(project_tx);
    for g in &groups {
        shared.tenancy.watch(&home, g).await?;
    }
    shared.min_poll_interval = opts.min_poll_interval;
    let shared = Arc::new(shared);

    // Per group: a controller on Applications plus explicit triggers (drift, webhooks).
    let mut loops = Vec::new();
    let mut stores = Vec::new();
    let mut trigger_txs = Vec::new();
    for g in &groups {
        let ar = api_resource(g);
        let api = apps_api(&ar);
        let (tx, rx) = triggers::queue::<ObjectRef<Application>>();
        trigger_txs.push((ar.clone(), tx.clone()));
        // Status-only updates trigger nothing (`app_changed`): the status is this controller's
        // own output, and each status write would otherwise cost a second reconcile.
        let writer = reflector::store::Writer::<Application>::new(ar.clone());
        let reader = writer.as_reader();
        // Without managedFields: no reconcile reads them (every write is a patch), and at
        // 10,000 apps they were the largest part of each cached Application.
        let watch = watcher::watcher(api, watcher::Config::default())
            .modify(|app| app.managed_fields_mut().clear());
        let apps = reflector::reflector(writer, watch)
            .applied_objects()
            .predicate_filter(triggers::app_changed, Default::default());
        let ctl = Controller::for_stream_with(apps, reader, ar.clone())
            .with_config(
                controller::Config::default()
                    .concurrency(opts.concurrency)
                    // Not to delay anything: kube-runtime's queue hands out entries scheduled
                    // for a time already past last in, first out, so under a storm of triggers
                    // for some apps an older trigger of another app waits for the storm to end.
                    // Scheduled a little ahead, every trigger goes into the timer wheel, which
                    // hands them out in time order.
                    .debounce(TRIGGER_DEBOUNCE),
            )
            .reconcile_on(rx);
        let store = ctl.store();
        stores.push(store.clone());
        let ctx = Arc::new(Ctx {
            ar: ar.clone(),
            store,
            shared: shared.clone(),
            shards: shards.clone(),
            triggers: tx.clone(),
        });
        let ctl = ctl
            .run(reconcile_owned, reconcile::error_policy, ctx)
            .for_each(|r| {
                if let Err(e) = r {
                    tracing::debug!("reconcile: {}", moor_types::error_chain(&e));
                }
                future::ready(())
            });
        loops.push(ctl);
    }

    if let Some(shards) = &shards {
        spawn_shards(
            &home,
            &opts.namespace,
            shards,
            &metrics,
            &stores,
            &trigger_txs,
        );
    }

    gc::spawn(
        opts.cache_root.join("repos"),
        stores.clone(),
        opts.cache_gc.clone(),
    );

    // Owned-object events and webhook pushes both end as app triggers.
    tokio::spawn(dispatch_app_events(app_rx, trigger_txs.clone()));
    tokio::spawn(dispatch_project_changes(
        project_rx,
        stores.clone(),
        trigger_txs.clone(),
    ));
    tokio::spawn(dispatch_pushes(
        push_rx,
        stores.clone(),
        trigger_txs,
        shared.clone(),
    ));

    if opts.leader_election.is_none() {
        listen(&opts, state).await?;
    }
    // Image automation (registry scans, policies, Git updates) when its CRDs are installed.
    if automation::installed(&home).await {
        let (c, ns) = (home.clone(), opts.app_namespace.clone());
        tokio::spawn(async move {
            if let Err(e) = moor_registry::run(c, ns, future::pending()).await {
                tracing::error!("image scanning stopped: {}", moor_types::error_chain(&e));
            }
        });
        tokio::spawn(automation::run(
            home.clone(),
            opts.app_namespace.clone(),
            shared.repo_creds.clone(),
            push_tx.clone(),
        ));
    } else {
        tracing::info!("image automation CRDs not installed: registry scanning is off");
    }
    let ready_flag = ready.clone();
    tokio::spawn(async move {
        for s in stores {
            // Polled with a timeout: a single long wait was seen to miss its wake-up.
            while tokio::time::timeout(Duration::from_millis(200), s.wait_until_ready())
                .await
                .is_err()
            {}
        }
        ready_flag.store(true, Ordering::SeqCst);
        tracing::info!("controller ready");
    });
    future::join_all(loops).await;
    Ok(())
}

/// One app's reconcile, when it is this replica's to do: with `--shards auto`, only the apps
/// it owns (and counted as running while they run, so a hand-over waits for them).
async fn reconcile_owned(
    app: Arc<Application>,
    ctx: Arc<Ctx>,
) -> Result<kube::runtime::controller::Action, context::ReconcileError> {
    let _running = match ctx.shards.clone() {
        None => None,
        Some(shards) => match shards.begin_owned(&app) {
            Some(r) => Some(r),
            // Another replica's; if it comes here later, the hand-over triggers it.
            None => return Ok(kube::runtime::controller::Action::await_change()),
        },
    };
    // The same reference the dispatchers queue, so a trigger sent meanwhile is recognised.
    let _busy = ctx.triggers.running(
        ObjectRef::new_with(
            app.metadata.name.as_deref().unwrap_or_default(),
            ctx.ar.clone(),
        )
        .within(app.metadata.namespace.as_deref().unwrap_or_default()),
    );
    let started = std::time::Instant::now();
    let id = app.app_id(&ctx.ar.group);
    tracing::debug!(app = %id, "reconcile started");
    let result = reconcile::reconcile(app, ctx).await;
    tracing::debug!(app = %id, took = ?started.elapsed(), "reconcile done");
    result
}

/// Starts the membership loop of `--shards auto`: when a view is agreed, every app this replica
/// now owns is reconciled at once (gained apps would otherwise wait for their next event).
fn spawn_shards(
    home: &Client,
    namespace: &str,
    shards: &Arc<shard::Shards>,
    metrics: &Arc<Metrics>,
    stores: &[reflector::Store<Application>],
    txs: &[(
        kube::core::ApiResource,
        triggers::Sender<ObjectRef<Application>>,
    )],
) {
    let (s1, st1, tx1) = (shards.clone(), stores.to_vec(), txs.to_vec());
    let on_agreed = Box::new(move || {
        for (store, (ar, tx)) in st1.iter().zip(&tx1) {
            for app in store.state().iter().filter(|a| s1.owns(a)) {
                let (ns, name) = (
                    app.metadata.namespace.clone().unwrap_or_default(),
                    app.metadata.name.clone().unwrap_or_default(),
                );
                let _ = tx.send(ObjectRef::new_with(&name, ar.clone()).within(&ns));
            }
        }
    });
    let (s2, st2) = (shards.clone(), stores.to_vec());
    let owned = Box::new(move || {
        st2.iter()
            .map(|s| s.state().iter().filter(|a| s2.owns(a)).count())
            .sum()
    });
    tokio::spawn(shard::run(
        home.clone(),
        namespace.to_string(),
        shards.clone(),
        metrics.clone(),
        on_agreed,
        owned,
    ));
}

/// `--shards auto`: a push received here marks its apps for refresh (their owners see the
/// annotation, wherever they run) and goes on to the local dispatch for the apps owned here.
fn shard_pushes(
    mut rx: mpsc::UnboundedReceiver<PushEvent>,
    targets: leader::PushTargets,
    _shards: Arc<shard::Shards>,
) -> mpsc::UnboundedReceiver<PushEvent> {
    let (tx, out) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(push) = rx.recv().await {
            leader::mark_for_refresh(&targets, &push).await;
            let _ = tx.send(push);
        }
    });
    out
}

/// Serves webhooks, probes and metrics: all on the webhook address, or metrics (and probes) on
/// their own address when one is given. Binds before returning, so a taken port fails the start.
async fn listen(opts: &ControllerOptions, state: ServerState) -> Result<(), ControllerError> {
    let limits = opts.webhook_limits;
    let bind = |addr: SocketAddr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ControllerError::Listen(addr, e))
    };
    let routers = match (opts.webhook_addr, opts.metrics_addr) {
        (None, None) => vec![],
        (Some(w), None) => vec![(
            w,
            moor_server::router_with(state, limits),
            "webhook/metrics",
        )],
        (None, Some(m)) => vec![(m, moor_server::metrics_router(state), "metrics")],
        (Some(w), Some(m)) => vec![
            (
                w,
                moor_server::webhook_router(state.clone(), limits),
                "webhook",
            ),
            (m, moor_server::metrics_router(state), "metrics"),
        ],
    };
    for (addr, router, what) in routers {
        let listener = bind(addr).await?;
        tokio::spawn(async move {
            if let Err(e) = moor_server::serve_router(listener, router).await {
                tracing::error!("the {what} server on {addr} stopped: {e}");
            }
        });
    }
    Ok(())
}

async fn dispatch_app_events(
    mut rx: mpsc::UnboundedReceiver<AppKey>,
    txs: Vec<(
        kube::core::ApiResource,
        triggers::Sender<ObjectRef<Application>>,
    )>,
) {
    while let Some(key) = rx.recv().await {
        for (ar, tx) in &txs {
            let _ = tx.send(ObjectRef::new_with(&key.name, ar.clone()).within(&key.namespace));
        }
    }
}

/// A created or changed AppProject admits its apps again at once.
async fn dispatch_project_changes(
    mut rx: mpsc::UnboundedReceiver<String>,
    stores: Vec<reflector::Store<Application>>,
    txs: Vec<(
        kube::core::ApiResource,
        triggers::Sender<ObjectRef<Application>>,
    )>,
) {
    while let Some(project) = rx.recv().await {
        for (store, (ar, tx)) in stores.iter().zip(&txs) {
            for app in store.state() {
                let named = app.spec.project.as_deref().filter(|p| !p.is_empty());
                if named.unwrap_or(project::DEFAULT_PROJECT) != project {
                    continue;
                }
                let (ns, name) = (
                    app.metadata.namespace.clone().unwrap_or_default(),
                    app.metadata.name.clone().unwrap_or_default(),
                );
                let _ = tx.send(ObjectRef::new_with(&name, ar.clone()).within(&ns));
            }
        }
    }
}

/// A verified push refreshes every app whose normalised repoURL and revision match, each app at
/// most once per [`PUSH_MIN_GAP`]: pushes within the gap are folded into one trailing refresh
/// (their repositories are marked stale at once, so that refresh fetches what they pushed). A
/// webhook storm thus costs a bounded number of reconciles per app, and healthy apps keep the
/// workers.
async fn dispatch_pushes(
    mut rx: mpsc::UnboundedReceiver<PushEvent>,
    stores: Vec<reflector::Store<Application>>,
    txs: Vec<(
        kube::core::ApiResource,
        triggers::Sender<ObjectRef<Application>>,
    )>,
    shared: Arc<Shared>,
) {
    use std::collections::{HashMap, HashSet};
    use std::time::Instant;
    // Per (group index, app): when a push last triggered it, and the ones waiting for the gap.
    let mut last: HashMap<(usize, ObjectRef<Application>), Instant> = HashMap::new();
    let mut deferred: HashSet<(usize, ObjectRef<Application>)> = HashSet::new();
    let mut tick = tokio::time::interval(PUSH_MIN_GAP / 4);
    loop {
        tokio::select! {
            push = rx.recv() => {
                let Some(push) = push else { return };
                let urls: Vec<String> = push.repo_urls.iter().map(|u| normalize_url(u)).collect();
                for u in &push.repo_urls {
                    shared.sources.invalidate(u);
                }
                for (g, (store, (ar, _))) in stores.iter().zip(&txs).enumerate() {
                    for app in store.state() {
                        // Any of the app's sources: a push to its values repo refreshes it too.
                        let pushed = source_set::pushed_sources(&app, &urls, &push);
                        if pushed.is_empty() {
                            continue;
                        }
                        for url in pushed {
                            shared.sources.invalidate(url);
                        }
                        let r = ObjectRef::new_with(
                            app.metadata.name.as_deref().unwrap_or_default(),
                            ar.clone(),
                        )
                        .within(app.metadata.namespace.as_deref().unwrap_or_default());
                        deferred.insert((g, r));
                    }
                }
            }
            _ = tick.tick() => {}
        }
        // Every waiting app whose gap has passed is triggered now.
        deferred.retain(|(g, r)| {
            if last
                .get(&(*g, r.clone()))
                .is_some_and(|t| t.elapsed() < PUSH_MIN_GAP)
            {
                return true;
            }
            tracing::info!(
                "webhook push refreshes {}/{}",
                r.namespace.as_deref().unwrap_or_default(),
                r.name
            );
            let _ = txs[*g].1.send(r.clone());
            last.insert((*g, r.clone()), Instant::now());
            false
        });
        if last.len() > 4 * deferred.len() + 10_000 {
            last.retain(|_, t| t.elapsed() < PUSH_MIN_GAP);
        }
    }
}

/// The shortest time between two refreshes of one app by webhook pushes.
const PUSH_MIN_GAP: Duration = Duration::from_secs(1);

/// HEAD (or no revision) follows the default branch, which a push event does not name: any
/// branch push refreshes it. Otherwise the branch, tag or commit must be the pushed one.
fn revision_matches(target: Option<&str>, push: &PushEvent) -> bool {
    match target
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "HEAD")
    {
        None => push.branch.is_some() || push.tag.is_none(),
        Some(t) => {
            push.branch.as_deref() == Some(t)
                || push.tag.as_deref() == Some(t)
                || push.git_ref.as_deref() == Some(t)
                || push
                    .after
                    .as_deref()
                    .is_some_and(|a| a.starts_with(t) && t.len() >= 7)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(branch: Option<&str>, tag: Option<&str>) -> PushEvent {
        PushEvent {
            repo_urls: vec![],
            git_ref: None,
            branch: branch.map(Into::into),
            tag: tag.map(Into::into),
            after: Some("0123456789abcdef".into()),
        }
    }

    #[test]
    fn pushes_match_revisions() {
        assert!(revision_matches(None, &push(Some("main"), None)));
        assert!(revision_matches(Some("HEAD"), &push(Some("dev"), None)));
        assert!(revision_matches(Some("main"), &push(Some("main"), None)));
        assert!(!revision_matches(Some("main"), &push(Some("dev"), None)));
        assert!(revision_matches(Some("v1"), &push(None, Some("v1"))));
        assert!(!revision_matches(None, &push(None, Some("v1"))));
    }
}
