//! What a comparison found (sync and health of every desired object, and what is left to
//! prune), and the same after a sync, told from what the sync wrote instead of read again.

use std::sync::Arc;

use moor_types::{Change, HealthStatus, ObjKey};

use crate::{ChangeSet, Plan};

/// Sync and health of one object, as a controller reports it.
#[derive(Clone, Debug)]
pub struct ResourceState {
    /// The object.
    pub key: ObjKey,
    /// Its API version, for the status's resource list.
    pub api_version: String,
    /// Live matches the dry-run result of desired.
    pub synced: bool,
    /// Its health by the app's rules; Missing when it does not exist yet.
    pub health: moor_health::Health,
}

/// Result of [`Engine::compare`].
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// One per desired object, in the order given.
    pub resources: Vec<ResourceState>,
    /// Objects the app owns that are no longer desired (OutOfSync until pruned, unless they
    /// ask to be ignored: `IgnoreExtraneous`).
    pub extra: Vec<ResourceState>,
    /// What the comparison was made from, so that [`Engine::sync_compared`] need not dry-run
    /// everything again.
    pub(crate) plan: Option<Arc<Plan>>,
}

impl Comparison {
    /// Every desired object matches and nothing is left to prune (but objects annotated
    /// `argocd.argoproj.io/compare-options: IgnoreExtraneous`, listed in `extra` as synced).
    pub fn in_sync(&self) -> bool {
        self.extra.iter().all(|r| r.synced) && self.resources.iter().all(|r| r.synced)
    }

    /// The app's health: the worst of its desired objects'.
    pub fn health(&self) -> HealthStatus {
        moor_health::aggregate(self.resources.iter().map(|r| &r.health))
    }

    /// The objects that differ from Git, desired or left to prune.
    pub fn out_of_sync(&self) -> impl Iterator<Item = &ResourceState> {
        self.resources
            .iter()
            .chain(&self.extra)
            .filter(|r| !r.synced)
    }
}

impl Comparison {
    /// Whether a sync of this comparison runs hooks (of any phase).
    pub fn has_hooks(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| !p.hooks.is_empty())
    }

    /// The comparison after `set`, a sync of what `self` compared, told from what the sync
    /// wrote (`SyncOptions::read_back`): applied objects are in sync and their health is read
    /// off the API server's answer; the rest is as compared. None when that cannot be told
    /// without reading the cluster again: a dry run, hooks, a prune, objects left to prune, an
    /// object skipped or missing from the set (a selective sync), or one applied without its
    /// answer kept.
    pub fn after(&self, set: &ChangeSet, rules: &moor_health::HealthRules) -> Option<Comparison> {
        if set.dry_run || !set.hooks.is_empty() || !self.extra.is_empty() {
            return None;
        }
        let changes: std::collections::HashMap<&ObjKey, Change> =
            set.objects.iter().map(|o| (&o.key, o.change)).collect();
        let mut resources = Vec::with_capacity(self.resources.len());
        for r in &self.resources {
            let r = match changes.get(&r.key)? {
                Change::Unchanged => r.clone(),
                Change::Created | Change::Configured | Change::Adopted | Change::Replaced => {
                    ResourceState {
                        synced: true,
                        health: rules.health(set.written.get(&r.key)?),
                        ..r.clone()
                    }
                }
                _ => return None,
            };
            resources.push(r);
        }
        (changes.len() == resources.len()).then(|| Comparison {
            resources,
            extra: vec![],
            plan: None,
        })
    }
}
