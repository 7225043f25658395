//! The end of a sync's prune: the stale objects pruned, and the inventory told what is gone,
//! without ever dropping an entry whose object a concurrent sync of the same app has just
//! created (it would be an orphan no prune could find).

use k8s_openapi::jiff::Timestamp;

use crate::error::SyncError;
use crate::inventory::Entry;
use crate::{Engine, ObjectResult, Progress, SyncOptions, inventory, prepare, prune};

impl Engine {
    /// Prunes the objects that left Git and takes what is gone out of the inventory.
    pub(crate) async fn prune_stale(
        &self,
        stale: Vec<Entry>,
        started_at: Timestamp,
        targets: &[prepare::Desired],
        opts: &SyncOptions,
        progress: &Progress<'_>,
    ) -> Result<Vec<ObjectResult>, SyncError> {
        let pruned = prune::prune_last_after_health(
            &self.client,
            &self.resolver,
            opts,
            stale.clone(),
            started_at,
            targets,
        )
        .await?;
        for r in &pruned.results {
            progress(r);
        }
        // Pruned, gone, or another app's: out of the inventory. Kept objects stay.
        let gone: Vec<Entry> = stale
            .into_iter()
            .filter(|e| !pruned.kept.contains(e))
            .collect();
        if !gone.is_empty() {
            self.remove_gone(&opts.app, opts.revision.as_deref(), &gone)
                .await?;
        }
        Ok(pruned.results)
    }

    /// Takes `gone` out of the inventory, but for the entries whose object is found again at the
    /// moment of the write: a concurrent sync of the app may have created it since prune looked.
    /// The write carries the resourceVersion read before looking, so an entry put back by
    /// [`inventory::reassert`] in between makes it look again.
    async fn remove_gone(
        &self,
        app: &str,
        revision: Option<&str>,
        gone: &[inventory::Entry],
    ) -> Result<(), SyncError> {
        for _ in 0..inventory::UPDATE_TRIES {
            let (stored, rv) = inventory::read(&self.inventory, app).await?;
            let mut inv = stored.clone();
            for e in gone.iter().filter(|e| stored.contains(*e)) {
                if !self.recreated(app, e).await {
                    inv.remove(e);
                }
            }
            if inv == stored
                || (inventory::write(&self.inventory, app, &inv, revision, rv).await?).is_some()
            {
                return Ok(());
            }
        }
        Err(inventory::contended(app))
    }

    /// Whether the object of `e` exists as `app`'s and is not being deleted: created again by a
    /// concurrent sync of the app after prune found it gone (another app's object leaves the
    /// inventory, as before). When that cannot be told, it is kept (an entry too many is pruned
    /// later; one too few is an orphan forever).
    async fn recreated(&self, app: &str, e: &inventory::Entry) -> bool {
        let gvk = kube::core::GroupVersionKind::gvk(&e.group, &e.version, &e.kind);
        let Ok(Some(res)) = self.resolver.resolve(&self.client, &gvk).await else {
            return false;
        };
        let api: kube::Api<kube::api::DynamicObject> = match &e.namespace {
            Some(ns) if res.namespaced => {
                kube::Api::namespaced_with(self.client.clone(), ns, &res.ar)
            }
            _ => kube::Api::all_with(self.client.clone(), &res.ar),
        };
        match api.get_opt(&e.name).await {
            Ok(Some(o)) => {
                let ours = (o.metadata.annotations.as_ref())
                    .and_then(|a| a.get(moor_types::ANNOTATION_TRACKING))
                    .is_some_and(|t| *t == moor_types::tracking_id(app, &e.key()));
                ours && o.metadata.deletion_timestamp.is_none()
            }
            Ok(None) => false,
            Err(_) => true,
        }
    }
}
