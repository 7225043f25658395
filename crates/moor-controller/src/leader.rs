//! Leader election: with `--leader-elect`, a `coordination.k8s.io/v1` Lease decides which replica
//! reconciles, so a Deployment can run two or more. The others serve probes, metrics and
//! webhooks; a push they receive marks the matching Applications for refresh (the annotation
//! the leader's reconcile honours), so it reaches whichever replica leads, now or after a
//! takeover.
//!
//! The rules are Kubernetes' (client-go's leaderelection): a candidate takes the Lease when it
//! is free, or when its record has not changed for `leaseDurationSeconds` as timed by the
//! candidate's own clock since it saw the record change (so clocks of different nodes never
//! have to agree); every write is an update carrying the resourceVersion read, so of two
//! candidates at most one wins. The leader renews every retry period; a leader that has not
//! renewed within the renew deadline (shorter than the lease duration, so before anyone else
//! may take it) or that finds another holder exits the process at once: no write ever happens
//! without the Lease, and Kubernetes restarts the container as a follower.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use moor_git::normalize_url;
use moor_server::{Metrics, PushEvent};
use serde_json::json;
use tokio::sync::mpsc;

use crate::crd::{Application, REFRESH_ANNOTATION, api_resource};

/// The Lease's name when `--leader-election-id` is not given.
pub const DEFAULT_LEASE_NAME: &str = "moor-controller";

/// How replicas elect the one that reconciles (Kubernetes' names and meanings).
#[derive(Clone, Debug)]
pub struct LeaderElection {
    /// Name of the Lease, in the controller's namespace.
    pub lease_name: String,
    /// This replica's name in the Lease's `holderIdentity` ([`default_identity`]).
    pub identity: String,
    /// How long followers wait, after the record last changed, before taking the Lease.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up (and exits).
    pub renew_deadline: Duration,
    /// How often candidates try to take the Lease, and the leader renews it.
    pub retry_period: Duration,
}

impl LeaderElection {
    /// The timings must leave the leader time to stop before anyone may take over.
    pub fn check(&self) -> Result<(), String> {
        if self.lease_duration <= self.renew_deadline {
            return Err("the leader election lease duration must be longer than the renew deadline: a leader must give up before another replica may take over".into());
        }
        if self.renew_deadline <= self.retry_period {
            return Err("the leader election renew deadline must be longer than the retry period: the leader renews once per retry period".into());
        }
        if self.lease_duration < Duration::from_secs(1) {
            return Err("the leader election lease duration must be at least 1s".into());
        }
        Ok(())
    }
}

/// `POD_NAME` (the downward API in deploy/), else the host name and the process id, so two
/// processes on one machine are two candidates.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.trim().is_empty()
    {
        return pod.trim().to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "moor".into());
    format!("{host}-{}", std::process::id())
}

/// The result of one attempt to take or renew the Lease.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// This replica holds the Lease (taken or renewed just now).
    Leading,
    /// Another replica holds it, or won a race for it (its identity when known).
    Held(String),
}

struct Elector {
    api: Api<Lease>,
    cfg: LeaderElection,
    /// The Lease's resourceVersion last seen and when it was first seen: expiry is timed from
    /// there on this process's monotonic clock.
    observed: Option<(String, Instant)>,
    /// Set once this replica took the Lease: from then on, a Lease that names anyone else (or
    /// no one, or is gone) means it was lost, never that it is free to take again.
    leading: bool,
}

impl Elector {
    async fn try_acquire_or_renew(&mut self) -> Result<Attempt, kube::Error> {
        let now = Some(MicroTime(Timestamp::now()));
        let seconds = i32::try_from(self.cfg.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
        let me = self.cfg.identity.clone();
        let found = self.api.get_opt(&self.cfg.lease_name).await?;
        if self.leading {
            let holder = found
                .as_ref()
                .and_then(|l| l.spec.as_ref()?.holder_identity.clone());
            match holder {
                None => return Ok(Attempt::Held("nobody (the Lease is gone)".into())),
                Some(h) if h.is_empty() => return Ok(Attempt::Held("nobody (released)".into())),
                Some(h) if h != me => return Ok(Attempt::Held(h)),
                Some(_) => {}
            }
        }
        let Some(mut lease) = found else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.lease_name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: now.clone(),
                    renew_time: now,
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(l) => self.won(&l),
                // Another candidate created it first.
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Held(String::new())),
                Err(e) => Err(e),
            };
        };
        let rv = lease.resource_version().unwrap_or_default();
        let seen = match &self.observed {
            Some((v, at)) if *v == rv => *at,
            _ => Instant::now(),
        };
        self.observed = Some((rv, seen));
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let duration =
            Duration::from_secs(spec.lease_duration_seconds.unwrap_or(seconds).max(1) as u64);
        if !holder.is_empty() && holder != me && seen.elapsed() < duration {
            return Ok(Attempt::Held(holder));
        }
        let taken = holder != me;
        if taken {
            tracing::info!(
                "the leader Lease {} was {}: taking it",
                self.cfg.lease_name,
                if holder.is_empty() {
                    "released".to_string()
                } else {
                    format!(
                        "not renewed by {holder} for {}",
                        humantime::format_duration(duration)
                    )
                }
            );
        }
        lease.spec = Some(LeaseSpec {
            holder_identity: Some(me),
            lease_duration_seconds: Some(seconds),
            renew_time: now.clone(),
            acquire_time: if taken {
                now
            } else {
                spec.acquire_time.clone()
            },
            lease_transitions: Some(spec.lease_transitions.unwrap_or(0) + i32::from(taken)),
            ..spec
        });
        // An update, not a patch: it carries the resourceVersion read above, so a write by any
        // other candidate since then makes this one fail with 409 instead of overwriting it.
        match self
            .api
            .replace(&self.cfg.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(l) => self.won(&l),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Held(holder)),
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up (client-go's ReleaseOnCancel): an empty holder and a 1 s duration, by
    /// an update carrying the resourceVersion read, so a Lease someone else took meanwhile is
    /// left alone. Followers take a released Lease at their next retry instead of waiting for
    /// it to expire.
    async fn release(&mut self) -> Result<bool, kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.cfg.lease_name).await? else {
            return Ok(false);
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = Some(String::new());
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        lease.spec = Some(spec);
        self.api
            .replace(&self.cfg.lease_name, &PostParams::default(), &lease)
            .await?;
        Ok(true)
    }

    fn won(&mut self, lease: &Lease) -> Result<Attempt, kube::Error> {
        self.observed = Some((lease.resource_version().unwrap_or_default(), Instant::now()));
        self.leading = true;
        Ok(Attempt::Leading)
    }
}

/// Returns once this replica holds the Lease `namespace/cfg.lease_name`, then keeps renewing
/// it in a task that exits the process when it is lost. Until then, pushes from `pushes` mark
/// the matching Applications for refresh; from then on they go to the returned receiver, for
/// the leader's own dispatch.
pub(crate) async fn lead(
    home: &Client,
    namespace: &str,
    cfg: LeaderElection,
    metrics: Arc<Metrics>,
    pushes: mpsc::UnboundedReceiver<PushEvent>,
    targets: PushTargets,
) -> mpsc::UnboundedReceiver<PushEvent> {
    let leading = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(route_pushes(pushes, tx, leading.clone(), targets));
    metrics.set_leader(false);
    let name = format!("{namespace}/{}", cfg.lease_name);
    let mut elector = Elector {
        api: Api::namespaced(home.clone(), namespace),
        cfg: cfg.clone(),
        observed: None,
        leading: false,
    };
    tracing::info!(lease = %name, identity = %cfg.identity, "waiting to become the leader");
    let mut last_holder = None;
    let acquired = loop {
        let sent = Instant::now();
        match elector.try_acquire_or_renew().await {
            Ok(Attempt::Leading) => break sent,
            Ok(Attempt::Held(holder)) => {
                if !holder.is_empty() && last_holder.as_ref() != Some(&holder) {
                    tracing::info!(lease = %name, "{holder} is the leader; this replica follows");
                    last_holder = Some(holder);
                }
            }
            Err(e) => {
                tracing::warn!(lease = %name, "leader election: {}", moor_types::error_chain(&e))
            }
        }
        tokio::time::sleep(cfg.retry_period).await;
    };
    leading.store(true, Ordering::SeqCst);
    metrics.set_leader(true);
    tracing::info!(lease = %name, identity = %cfg.identity, "acquired the leader Lease: this replica reconciles");
    tokio::spawn(renew(elector, acquired, name, metrics));
    rx
}

/// Renews every retry period; exits the process once the Lease is lost, or releases it and
/// exits when the process is asked to stop (SIGTERM, as on a rolling update or a drain, or
/// SIGINT), so another replica takes over at its next retry rather than after the lease
/// duration.
async fn renew(mut elector: Elector, mut renewed: Instant, name: String, metrics: Arc<Metrics>) {
    let cfg = elector.cfg.clone();
    let mut stop = stop_signals();
    loop {
        tokio::select! {
            () = tokio::time::sleep(cfg.retry_period) => {}
            sig = stop.recv() => {
                release_and_exit(&mut elector, &name, &metrics, sig.unwrap_or("a stop signal")).await
            }
        }
        let left = cfg.renew_deadline.saturating_sub(renewed.elapsed());
        let sent = Instant::now();
        match tokio::time::timeout(left, elector.try_acquire_or_renew()).await {
            Ok(Ok(Attempt::Leading)) => renewed = sent,
            Ok(Ok(Attempt::Held(holder))) if !holder.is_empty() && holder != cfg.identity => {
                lost(&metrics, &name, &format!("{holder} holds it now"));
            }
            Ok(Ok(Attempt::Held(_))) => {}
            Ok(Err(e)) => {
                tracing::warn!(lease = %name, "renewing the leader Lease: {}", moor_types::error_chain(&e))
            }
            Err(_) => {}
        }
        if renewed.elapsed() >= cfg.renew_deadline {
            lost(
                &metrics,
                &name,
                &format!(
                    "not renewed within the renew deadline of {}",
                    humantime::format_duration(cfg.renew_deadline)
                ),
            );
        }
    }
}

/// SIGTERM and SIGINT, as one stream of their names.
pub(crate) fn stop_signals() -> mpsc::UnboundedReceiver<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = mpsc::unbounded_channel();
    for (kind, what) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::interrupt(), "SIGINT"),
    ] {
        let tx = tx.clone();
        match signal(kind) {
            Ok(mut s) => {
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        let _ = tx.send(what);
                    }
                });
            }
            Err(e) => tracing::warn!("cannot watch for {what}: {e}"),
        }
    }
    rx
}

/// Releases the Lease (bounded in time: a stopping process must not hang on an unreachable API
/// server) and exits. The process exits right after the release, before any follower's next
/// retry could take the Lease, so no reconcile of this process overlaps the next leader's.
async fn release_and_exit(elector: &mut Elector, name: &str, metrics: &Metrics, why: &str) -> ! {
    metrics.set_leader(false);
    match tokio::time::timeout(Duration::from_secs(2), elector.release()).await {
        Ok(Ok(true)) => tracing::info!(lease = %name, "{why}: released the leader Lease; exiting"),
        Ok(Ok(false)) => {
            tracing::info!(lease = %name, "{why}: the Lease was no longer ours; exiting")
        }
        Ok(Err(e)) => {
            tracing::warn!(lease = %name, "{why}: releasing the leader Lease failed ({}); exiting, it expires on its own", moor_types::error_chain(&e))
        }
        Err(_) => {
            tracing::warn!(lease = %name, "{why}: releasing the leader Lease timed out; exiting, it expires on its own")
        }
    }
    std::process::exit(0)
}

/// Exits at once: a reconcile still running would write without the Lease, and stopping every
/// loop and watch in place is more code than a restart, which Kubernetes does anyway.
fn lost(metrics: &Metrics, name: &str, why: &str) -> ! {
    metrics.set_leader(false);
    tracing::error!(lease = %name, "lost the leader Lease ({why}): exiting so that no write happens without it");
    std::process::exit(1)
}

/// Where a follower looks for the Applications a push concerns.
pub(crate) struct PushTargets {
    /// The home cluster's client.
    pub home: Client,
    /// The Application groups served.
    pub groups: Vec<&'static str>,
    /// `--app-namespace`, when the controller is limited to one.
    pub app_namespace: Option<String>,
}

/// The leader's pushes go on to its dispatch; a follower's mark the apps for refresh.
async fn route_pushes(
    mut rx: mpsc::UnboundedReceiver<PushEvent>,
    tx: mpsc::UnboundedSender<PushEvent>,
    leading: Arc<AtomicBool>,
    targets: PushTargets,
) {
    while let Some(push) = rx.recv().await {
        if leading.load(Ordering::SeqCst) {
            let _ = tx.send(push);
        } else {
            mark_for_refresh(&targets, &push).await;
        }
    }
}

/// Sets the refresh annotation on every app the push concerns (the same match as the leader's
/// dispatch): the leader's watch of Applications sees it, fetches afresh and removes it. It stays
/// on the app if the leader is gone, so the next leader's first reconcile serves it.
pub(crate) async fn mark_for_refresh(t: &PushTargets, push: &PushEvent) {
    let urls: Vec<String> = push.repo_urls.iter().map(|u| normalize_url(u)).collect();
    let token = format!("webhook-{}", Timestamp::now().as_nanosecond());
    for g in &t.groups {
        let ar = api_resource(g);
        let api: Api<Application> = match &t.app_namespace {
            Some(ns) => Api::namespaced_with(t.home.clone(), ns, &ar),
            None => Api::all_with(t.home.clone(), &ar),
        };
        let apps = match api.list(&Default::default()).await {
            Ok(l) => l.items,
            Err(e) => {
                tracing::warn!(
                    "webhook push: listing applications.{g}: {}",
                    moor_types::error_chain(&e)
                );
                continue;
            }
        };
        for app in apps {
            // Any of the app's sources: a push to its values repo refreshes it too.
            if crate::source_set::pushed_sources(&app, &urls, push).is_empty() {
                continue;
            }
            let (ns, name) = (app.namespace().unwrap_or_default(), app.name_any());
            let api: Api<Application> = Api::namespaced_with(t.home.clone(), &ns, &ar);
            let patch = json!({"metadata": {"annotations": {REFRESH_ANNOTATION: token}}});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => tracing::info!("webhook push marks {ns}/{name} for refresh by the leader"),
                Err(e) => tracing::warn!(
                    "webhook push: marking {ns}/{name}: {}",
                    moor_types::error_chain(&e)
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(lease: u64, renew: u64, retry: u64) -> LeaderElection {
        LeaderElection {
            lease_name: DEFAULT_LEASE_NAME.into(),
            identity: "a".into(),
            lease_duration: Duration::from_secs(lease),
            renew_deadline: Duration::from_secs(renew),
            retry_period: Duration::from_secs(retry),
        }
    }

    #[test]
    fn timings_leave_the_leader_time_to_stop() {
        assert!(cfg(15, 10, 2).check().is_ok());
        assert!(cfg(10, 10, 2).check().is_err());
        assert!(cfg(15, 2, 2).check().is_err());
    }

    #[test]
    fn identity_is_unique_per_process() {
        if std::env::var("POD_NAME").is_err() {
            assert!(default_identity().ends_with(&format!("-{}", std::process::id())));
        }
    }
}
