//! What every reconcile shares: clients, caches, watches, metrics, events and per-app backoff
//! ([`Shared`], one per controller), the app cache of an API group ([`Ctx`]), the engine
//! options an app's writes start from, and the error of a failed write to an Application. The
//! decisions themselves live in their own modules (`decide`, `dependencies`, `backoff`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::events::{Event, EventType, Recorder};
use kube::core::ApiResource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};
use moor_apply::SyncOptions;
use moor_git::Credentials;
use moor_server::Metrics;
use moor_types::{EventReason, SyncOption};

use crate::backoff::Backoffs;
use crate::clusters::Clusters;
use crate::crd::Application;
use crate::repo_credentials::RepoCredentials;
use crate::sources::Sources;
use crate::watches::Watches;

pub struct Shared {
    pub home: Client,
    pub namespace: String,
    pub clusters: Clusters,
    pub sources: Sources,
    pub watches: Watches,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub poll_interval: Duration,
    /// Floor of every app's poll interval (`--min-poll-interval`).
    pub min_poll_interval: Duration,
    /// Objects that exist without any app's tracking id may be adopted (`--no-adopt` turns it off).
    pub adopt: bool,
    /// Controller-wide health rules (the `moor-health` ConfigMap), cached.
    pub health: crate::health_rules::ControllerRules,
    /// Self-heal and failure backoff of every app.
    pub backoff: Backoffs,
    pub repo_creds: Arc<RepoCredentials>,
    /// Projects and the controller's tenancy settings (`--strict-projects`, impersonation).
    pub tenancy: crate::tenancy::Tenancy,
    /// Destination namespaces created with `CreateNamespace=true` (once each, not per reconcile).
    pub namespaces: crate::namespaces::Ensured,
}

/// A write to the Application failed (status, finalizer, operation or refresh annotation):
/// the reconcile is retried with the app's failure backoff. Shared by the reconcile and the
/// finalizer.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("failed to update Application {0}")]
    Update(String, #[source] kube::Error),
}

/// One per Application API group (moor.dev, and argoproj.io with --argocd-compat).
pub struct Ctx {
    pub ar: ApiResource,
    pub store: Store<Application>,
    pub shared: Arc<Shared>,
    /// With `--shards auto`: which apps this replica may reconcile now.
    pub shards: Option<Arc<crate::shard::Shards>>,
    /// The group's explicit triggers: a running reconcile holds its app's back.
    pub triggers: crate::triggers::Sender<kube::runtime::reflector::ObjectRef<Application>>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        home: Client,
        namespace: String,
        clusters: Clusters,
        sources: Sources,
        watches: Watches,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        poll_interval: Duration,
        key_dir: PathBuf,
    ) -> Shared {
        let repo_creds = Arc::new(RepoCredentials::new(
            home.clone(),
            namespace.clone(),
            key_dir,
        ));
        Shared {
            home,
            namespace,
            clusters,
            sources,
            watches,
            metrics,
            recorder,
            poll_interval,
            min_poll_interval: crate::poll::DEFAULT_MIN_POLL_INTERVAL,
            adopt: true,
            health: Default::default(),
            backoff: Backoffs::default(),
            repo_creds,
            tenancy: Default::default(),
            namespaces: Default::default(),
        }
    }

    /// Credentials for a repository (see [`RepoCredentials::for_url`]).
    pub async fn credentials_for(&self, repo_url: &str, project: &str) -> Credentials {
        self.repo_creds.for_url(repo_url, Some(project)).await
    }
}

impl Ctx {
    /// An Application of this API group from the controller's cache (no API request).
    pub fn lookup(&self, namespace: &str, name: &str) -> Option<Arc<Application>> {
        self.store
            .get(&ObjectRef::new_with(name, self.ar.clone()).within(namespace))
    }

    /// The engine options every comparison, sync and prune of `app` starts from: its identity,
    /// destination namespace, ignore rules, and the controller's adopt setting.
    pub fn sync_options(&self, app: &Application, commit: &str) -> SyncOptions {
        let ns = app
            .spec
            .destination
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let mut opts = SyncOptions::new(&app.app_id(&self.ar.group), &ns);
        opts.adopt = self.shared.adopt;
        opts.revision = Some(commit.to_string());
        opts.ignore_differences = app.ignore_rules();
        opts.respect_ignore_differences =
            app.has_sync_option(SyncOption::RespectIgnoreDifferences(true));
        opts.replace = app.has_sync_option(SyncOption::Replace(true));
        opts.force = app.has_sync_option(SyncOption::Force(true));
        // Prune, Delete, PruneLast, PrunePropagationPolicy, Validate, SkipDryRunOnMissingResource.
        opts.app_options = app.sync_options().collect();
        opts.timeout = Duration::from_secs(300);
        opts.concurrency = 16;
        opts
    }

    /// Records an Event on `app`. Best effort: an Event that cannot be written is only logged,
    /// never a reason to fail the reconcile.
    pub async fn publish(
        &self,
        app: &Application,
        type_: EventType,
        reason: EventReason,
        note: String,
    ) {
        let ev = Event {
            type_,
            reason: reason.to_string(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        let reference = app.object_ref(&self.ar);
        if let Err(e) = self.shared.recorder.publish(&ev, &reference).await {
            tracing::debug!("failed to publish event {reason}: {e}");
        }
    }
}
