//! Kind resolution through discovery, cached per GroupVersionKind. Kinds whose CRD is part of the
//! same sync resolve from that CRD, so a CRD and its custom resources can apply in one sync.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Client;
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{self, Scope};
use moor_types::Manifest;
use serde_json::Value;

use crate::capabilities::Snapshot;
use crate::error::is_not_found;

/// A resolved kind: how to reach it and whether it is namespaced.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub ar: ApiResource,
    pub namespaced: bool,
    /// True when the kind is not served yet and comes from a CRD in the same sync.
    pub from_pending_crd: bool,
}

/// Discovery with a cache, shared by every sync of one engine so kinds are looked up once.
#[derive(Default)]
pub struct Resolver {
    cache: Mutex<HashMap<GroupVersionKind, Option<Resolved>>>,
    /// The last full discovery (namespaced types, Helm capabilities) and when it was made.
    discovered: Mutex<Option<(Instant, Arc<Snapshot>)>>,
    /// Until when a discovery may miss what a sync just changed (see `forget_discovery`).
    unsettled_until: Mutex<Option<Instant>>,
}

/// How long a full discovery serves comparisons (a real prune always makes a fresh one).
const NAMESPACED_TTL: Duration = Duration::from_secs(300);

/// After a sync changes a CRD, how long the API server may take to serve it: discoveries made
/// in that time serve only [`UNSETTLED_TTL`], so one made before the CRD showed is not kept.
const UNSETTLED: Duration = Duration::from_secs(60);
const UNSETTLED_TTL: Duration = Duration::from_secs(5);

pub fn gvk_of(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    GroupVersionKind::gvk(group, version, kind)
}

impl Resolver {
    /// Resolves a kind against the API server; Ok(None) when the server does not serve it.
    pub async fn resolve(
        &self,
        client: &Client,
        gvk: &GroupVersionKind,
    ) -> Result<Option<Resolved>, kube::Error> {
        if let Some(hit) = self.cache.lock().expect("resolver lock").get(gvk) {
            return Ok(hit.clone());
        }
        let found = match discovery::pinned_kind(client, gvk).await {
            Ok((ar, caps)) => Some(Resolved {
                ar,
                namespaced: caps.scope == Scope::Namespaced,
                from_pending_crd: false,
            }),
            Err(e) if is_not_found(&e) || matches!(e, kube::Error::Discovery(_)) => None,
            Err(e) => return Err(e),
        };
        self.cache
            .lock()
            .expect("resolver lock")
            .insert(gvk.clone(), found.clone());
        Ok(found)
    }

    /// Every namespaced type the API server serves and can list (preferred versions). `fresh`:
    /// discover now, as a prune about to delete a Namespace must; otherwise a discovery made in
    /// the last few minutes serves, so a comparison that re-checks a kept Namespace on every
    /// reconcile does not rediscover the whole API each time.
    pub async fn namespaced_types(
        &self,
        client: &Client,
        fresh: bool,
    ) -> Result<Vec<ApiResource>, kube::Error> {
        let max_age = if fresh {
            Duration::ZERO
        } else {
            NAMESPACED_TTL
        };
        Ok(self.discovered(client, max_age).await?.namespaced.clone())
    }

    /// A full discovery made at most `max_age` ago (zero: now), shared by prunes, comparisons
    /// and Helm's capabilities.
    pub(crate) async fn discovered(
        &self,
        client: &Client,
        max_age: Duration,
    ) -> Result<Arc<Snapshot>, kube::Error> {
        let unsettled = *self.unsettled_until.lock().expect("resolver lock");
        if let Some((at, snapshot)) = self.discovered.lock().expect("resolver lock").as_ref()
            && at.elapsed() < max_age
            && (unsettled.is_none_or(|until| *at >= until) || at.elapsed() < UNSETTLED_TTL)
        {
            return Ok(snapshot.clone());
        }
        let discovery = discovery::Discovery::new(client.clone()).run().await?;
        let version = client.apiserver_version().await?.git_version;
        let snapshot = Arc::new(Snapshot::of(&discovery, version));
        *self.discovered.lock().expect("resolver lock") = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    /// Forgets the last full discovery: what the server serves changed (a CRD was applied).
    /// A new CRD is served a little after it is written, so discoveries of the next minute are
    /// kept only seconds.
    pub fn forget_discovery(&self) {
        *self.discovered.lock().expect("resolver lock") = None;
        *self.unsettled_until.lock().expect("resolver lock") = Some(Instant::now() + UNSETTLED);
    }

    /// Forgets the kinds found missing, so kinds whose CRD was just established resolve anew.
    pub fn forget_missing(&self) {
        self.cache
            .lock()
            .expect("resolver lock")
            .retain(|_, v| v.is_some());
    }
}

/// Resolves `gvk` from a CustomResourceDefinition among `set`, if one defines it.
pub fn from_crds(set: &[Manifest], gvk: &GroupVersionKind) -> Option<Resolved> {
    set.iter()
        .filter(|m| m.kind() == "CustomResourceDefinition")
        .find_map(|crd| {
            let spec = crd.obj.get("spec")?;
            let names = spec.get("names")?;
            let group = spec.get("group")?.as_str()?;
            if group != gvk.group || names.get("kind")?.as_str()? != gvk.kind {
                return None;
            }
            let served = spec.get("versions")?.as_array()?.iter().any(|v| {
                v.get("name").and_then(Value::as_str) == Some(gvk.version.as_str())
                    && v.get("served").and_then(Value::as_bool).unwrap_or(true)
            });
            if !served {
                return None;
            }
            let plural = names.get("plural")?.as_str()?;
            let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
            Some(Resolved {
                ar: ApiResource::from_gvk_with_plural(gvk, plural),
                namespaced,
                from_pending_crd: true,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use moor_types::Origin;
    use serde_json::json;

    #[test]
    fn resolves_kinds_from_crds_in_the_set() {
        let crd = Manifest::new(
            json!({
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "widgets.example.com"},
                "spec": {"group": "example.com", "scope": "Namespaced",
                         "names": {"kind": "Widget", "plural": "widgets"},
                         "versions": [{"name": "v1", "served": true, "storage": true}]}
            }),
            Origin::default(),
        );
        let r = from_crds(
            std::slice::from_ref(&crd),
            &gvk_of("example.com/v1", "Widget"),
        )
        .unwrap();
        assert_eq!(r.ar.plural, "widgets");
        assert!(r.namespaced && r.from_pending_crd);
        assert!(
            from_crds(
                std::slice::from_ref(&crd),
                &gvk_of("example.com/v2", "Widget")
            )
            .is_none()
        );
        assert!(from_crds(&[crd], &gvk_of("other.com/v1", "Widget")).is_none());
    }
}
