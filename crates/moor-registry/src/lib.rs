//! Image automation sources for moor, after Flux's image-reflector: scan OCI registries for tags
//! (`ImageRepository`) and pick the latest per policy (`ImagePolicy`); the
//! `ImageUpdateAutomation` resource says where to write them (done by the automation, which
//! reads [`latest_images`]).
//!
//! Reading order: [`client`] lists tags over the OCI distribution API (anonymous, basic, bearer
//! token); [`policy`] chooses a tag; [`reconcile_repository`] and [`reconcile_policy`] are one
//! reconcile each; [`run`] runs both as kube-runtime controllers.

#![warn(missing_docs)]

pub mod client;
pub mod crd;
pub mod policy;
mod reconcile;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, future};
use kube::Client;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};

pub use client::{
    ClientOptions, DockerConfig, ImageName, RegistryClient, RegistryCredentials, RegistryError,
};
pub use crd::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
pub use policy::{Policy, PolicyError, Selection};
pub use reconcile::{
    ImageReconcileError, Reconciled, TagCache, latest_images, list_latest_images, reconcile_policy,
    reconcile_repository, split_image_ref,
};

/// After a failed API call (status write, read), a reconcile is retried after this.
const ERROR_RETRY: Duration = Duration::from_secs(15);

/// Why the image controllers cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A CRD the controllers watch is missing: named, with the API error.
    #[error("the {0} CRD is not installed or not served: apply deploy/crds/ first")]
    MissingCrd(&'static str, #[source] kube::Error),
}

struct Ctx {
    client: Client,
    cache: TagCache,
}

/// Runs the ImageRepository and ImagePolicy controllers (in `namespace`, or all namespaces)
/// until `shutdown` completes. Repositories are scanned at their spec.interval; policies are
/// reconciled when they change and whenever their repository changes (each scan writes its
/// status).
pub async fn run(
    client: Client,
    namespace: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let api = |c: &Client| -> (Api<ImageRepository>, Api<ImagePolicy>) {
        match &namespace {
            Some(ns) => (
                Api::namespaced(c.clone(), ns),
                Api::namespaced(c.clone(), ns),
            ),
            None => (Api::all(c.clone()), Api::all(c.clone())),
        }
    };
    let (repos, policies) = api(&client);
    repos
        .list(&ListParams::default().limit(1))
        .await
        .map_err(|e| RunError::MissingCrd("imagerepositories.moor.dev", e))?;
    policies
        .list(&ListParams::default().limit(1))
        .await
        .map_err(|e| RunError::MissingCrd("imagepolicies.moor.dev", e))?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        cache: TagCache::new(),
    });
    let repo_loop = Controller::new(repos.clone(), watcher::Config::default())
        .graceful_shutdown_on(stopped())
        .run(reconcile_repo, error_policy, ctx.clone())
        .for_each(|r| {
            if let Err(e) = r {
                tracing::debug!("ImageRepository reconcile: {}", moor_types::error_chain(&e));
            }
            future::ready(())
        });
    let policy_ctl = Controller::new(policies, watcher::Config::default());
    let store = policy_ctl.store();
    let policy_loop = policy_ctl
        .watches(repos, watcher::Config::default(), move |repo| {
            policies_of(&store, &repo)
        })
        .graceful_shutdown_on(stopped())
        .run(reconcile_pol, error_policy, ctx)
        .for_each(|r| {
            if let Err(e) = r {
                tracing::debug!("ImagePolicy reconcile: {}", moor_types::error_chain(&e));
            }
            future::ready(())
        });
    future::join(repo_loop, policy_loop).await;
    Ok(())
}

/// The policies that choose from `repo`'s tags.
fn policies_of(store: &Store<ImagePolicy>, repo: &ImageRepository) -> Vec<ObjectRef<ImagePolicy>> {
    let ns = repo.metadata.namespace.as_deref();
    let name = repo.metadata.name.as_deref().unwrap_or("");
    store
        .state()
        .iter()
        .filter(|p| {
            p.metadata.namespace.as_deref() == ns && p.spec.image_repository_ref.name == name
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

fn action(r: Reconciled) -> Action {
    match r.requeue_after {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    }
}

async fn reconcile_repo(
    repo: Arc<ImageRepository>,
    ctx: Arc<Ctx>,
) -> Result<Action, ImageReconcileError> {
    reconcile_repository(&ctx.client, &repo, &ctx.cache)
        .await
        .map(action)
}

async fn reconcile_pol(
    policy: Arc<ImagePolicy>,
    ctx: Arc<Ctx>,
) -> Result<Action, ImageReconcileError> {
    reconcile_policy(&ctx.client, &policy, &ctx.cache)
        .await
        .map(action)
}

fn error_policy<K>(_: Arc<K>, e: &ImageReconcileError, _: Arc<Ctx>) -> Action {
    tracing::warn!("{}", moor_types::error_chain(e));
    Action::requeue(ERROR_RETRY)
}
