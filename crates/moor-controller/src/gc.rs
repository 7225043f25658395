//! Periodic garbage collection of the controller's repository cache: what the Applications
//! need now (their repositories; the commits in their status and pending operation) stays, so
//! do a few recent checkouts per repository and anything used lately; the rest is removed
//! (see [`moor_git::RepoCache::gc`]).

use std::path::PathBuf;
use std::time::Duration;

use kube::runtime::reflector::Store;
use moor_git::{GcPolicy, InUse, RepoCache};

use crate::crd::Application;

/// How often and how conservatively the cache is collected.
#[derive(Clone, Debug)]
pub struct GcOptions {
    /// Time between collections.
    pub interval: Duration,
    /// What a collection keeps: recent checkouts and anything used lately.
    pub policy: GcPolicy,
}

/// Collects `cache_root` every `opts.interval`, forever, given the apps in `stores`.
pub fn spawn(cache_root: PathBuf, stores: Vec<Store<Application>>, opts: GcOptions) {
    let cache = RepoCache::new(cache_root);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(opts.interval).await;
            let in_use = in_use(&stores);
            let (cache, policy) = (cache.clone(), opts.policy.clone());
            match tokio::task::spawn_blocking(move || cache.gc(&in_use, &policy)).await {
                Ok(Ok(report)) if report != Default::default() => tracing::info!(
                    checkouts = report.checkouts_removed,
                    repos = report.repos_removed,
                    "cache gc removed unused checkouts and repositories"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("cache gc: {}", moor_types::error_chain(&e)),
                Err(e) => tracing::warn!("cache gc panicked: {e}"),
            }
        }
    });
}

/// The repositories of every app, and the commits their status, last history entry and
/// pending operation name.
fn in_use(stores: &[Store<Application>]) -> InUse {
    let mut in_use = InUse::default();
    for app in stores.iter().flat_map(Store::state) {
        let urls: Vec<&str> = app.sources().iter().map(|s| s.repo_url.as_str()).collect();
        for url in &urls {
            in_use.repo(url);
        }
        // Revisions the status and operation name, kept under every source's repository:
        // the collector only keeps what is named, so a name too many costs nothing.
        let mut revs: Vec<&str> = vec![];
        if let Some(sync) = app.operation.as_ref().and_then(|o| o.sync.as_ref()) {
            revs.extend(sync.revision.as_deref());
            revs.extend(sync.revisions.iter().map(String::as_str));
        }
        if let Some(status) = &app.status {
            revs.extend(status.sync.revision.as_deref());
            revs.extend(status.sync.revisions.iter().map(String::as_str));
            let result = (status.operation_state.as_ref()).and_then(|o| o.sync_result.as_ref());
            if let Some(r) = result {
                revs.push(&r.revision);
                revs.extend(r.revisions.iter().map(String::as_str));
            }
            if let Some(last) = status.history.last() {
                match &last.source {
                    Some(s) if last.sources.is_empty() => {
                        in_use.commit(&s.repo_url, &last.revision)
                    }
                    _ => revs.push(&last.revision),
                }
                for (s, rev) in last.sources.iter().zip(&last.revisions) {
                    in_use.commit(&s.repo_url, rev);
                }
            }
        }
        for url in &urls {
            for rev in &revs {
                in_use.commit(url, rev);
            }
        }
    }
    in_use
}
