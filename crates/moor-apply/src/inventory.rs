//! The app's inventory: what it applied (with API versions), kept in a ConfigMap in moor-system
//! so that prune knows what the app owned even after the objects left Git.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use moor_types::{FIELD_MANAGER, LABEL_APP, ObjKey, SYSTEM_NAMESPACE};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::SyncError;

/// One object the app applied, with the API version it was applied at, so that prune can reach
/// it after its manifest left Git.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// API group ("" for the core group).
    pub group: String,
    /// API version it was applied at.
    pub version: String,
    /// Its kind.
    pub kind: String,
    /// None for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl Entry {
    /// The object's key, to compare with desired objects and name it in results.
    pub fn key(&self) -> ObjKey {
        ObjKey::new(
            &self.group,
            &self.kind,
            self.namespace.as_deref(),
            &self.name,
        )
    }

    /// `group/version`, or `version` for the core group, as manifests write it.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// What an app owns, ordered so the stored list is stable across writes.
pub type Inventory = BTreeSet<Entry>;

/// ConfigMap name for an app: the app name when it is a valid name, else a cleaned name plus a hash.
fn configmap_name(app: &str) -> String {
    let clean: String = app
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean == app && clean.len() <= 200 {
        format!("inventory-{clean}")
    } else {
        let h = hex::encode(&Sha256::digest(app.as_bytes())[..6]);
        let mut c = clean;
        c.truncate(180);
        format!("inventory-{}-{h}", c.trim_matches(['-', '.']))
    }
}

fn api(client: &Client) -> Api<ConfigMap> {
    Api::namespaced(client.clone(), SYSTEM_NAMESPACE)
}

/// The app's stored inventory; empty when it has none yet.
pub async fn load(client: &Client, app: &str) -> Result<Inventory, SyncError> {
    Ok(read(client, app).await?.0)
}

/// The stored inventory and the resourceVersion of its ConfigMap (None when there is none yet).
pub(crate) async fn read(
    client: &Client,
    app: &str,
) -> Result<(Inventory, Option<String>), SyncError> {
    let Some(cm) = api(client)
        .get_opt(&configmap_name(app))
        .await
        .map_err(inventory_error("read", app))?
    else {
        return Ok((Inventory::new(), None));
    };
    let raw = cm
        .data
        .as_ref()
        .and_then(|d| d.get("objects"))
        .map(String::as_str)
        .unwrap_or("[]");
    let inv = serde_json::from_str(raw).map_err(|e| {
        inventory_error("read", app)(kube::Error::Service(
            format!("its list of objects is corrupt: {e}").into(),
        ))
    })?;
    Ok((inv, cm.metadata.resource_version))
}

fn inventory_error(action: &'static str, app: &str) -> impl Fn(kube::Error) -> SyncError {
    let app = app.to_string();
    move |source| SyncError::Inventory {
        action,
        app: app.clone(),
        configmap: format!("{SYSTEM_NAMESPACE}/{}", configmap_name(&app)),
        source,
    }
}

/// Tries of [`update`] before it gives up on a contended inventory.
pub(crate) const UPDATE_TRIES: usize = 20;

/// Changes the app's inventory by `change`, applied to what is stored at the moment of the write
/// (not to what this sync read at its start), under optimistic concurrency: the write carries the
/// resourceVersion it read, and on a conflict (another sync of the same app wrote meanwhile) it
/// reads again and re-applies `change`. So two syncs racing never lose each other's entries.
pub async fn update(
    client: &Client,
    app: &str,
    revision: Option<&str>,
    change: impl Fn(&mut Inventory),
) -> Result<Option<String>, SyncError> {
    update_from(client, app, revision, None, change).await
}

/// [`update`], starting from `first`, the inventory and resourceVersion a plan read moments
/// ago, instead of reading it again; a conflict reads it as usual.
pub(crate) async fn update_from(
    client: &Client,
    app: &str,
    revision: Option<&str>,
    mut first: Option<(Inventory, Option<String>)>,
    change: impl Fn(&mut Inventory),
) -> Result<Option<String>, SyncError> {
    for _ in 0..UPDATE_TRIES {
        let (stored, rv) = match first.take() {
            Some(read) => read,
            None => read(client, app).await?,
        };
        let mut inv = stored.clone();
        change(&mut inv);
        if inv == stored && rv.is_some() {
            return Ok(rv);
        }
        if let Some(written) = write(client, app, &inv, revision, rv).await? {
            return Ok(Some(written));
        }
    }
    Err(contended(app))
}

/// After a sync applied `entries`: puts back any of them a concurrent sync of the app took out
/// as gone (it found the object missing just before this sync created it). When the inventory
/// is no longer as this sync wrote it (`written`, what [`update`] returned), it is written even
/// with every entry there, so that a concurrent prune's removal (`Engine::remove_gone`) that read it before
/// conflicts and looks at the objects again.
pub async fn reassert(
    client: &Client,
    app: &str,
    revision: Option<&str>,
    entries: &Inventory,
    written: Option<&str>,
) -> Result<(), SyncError> {
    for _ in 0..UPDATE_TRIES {
        let (stored, rv) = read(client, app).await?;
        let untouched = written.is_none() || rv.as_deref() == written;
        if entries.is_subset(&stored) && untouched {
            return Ok(());
        }
        let mut inv = stored;
        inv.extend(entries.iter().cloned());
        if write(client, app, &inv, revision, rv).await?.is_some() {
            return Ok(());
        }
    }
    Err(contended(app))
}

pub(crate) fn contended(app: &str) -> SyncError {
    inventory_error("write", app)(kube::Error::Service(
        format!("the inventory kept changing under {UPDATE_TRIES} tries to write it").into(),
    ))
}

/// Writes `inv` over the inventory last read at `rv` (None: create it). The resourceVersion
/// written, or None on a conflict (someone wrote since: read again).
pub(crate) async fn write(
    client: &Client,
    app: &str,
    inv: &Inventory,
    revision: Option<&str>,
    rv: Option<String>,
) -> Result<Option<String>, SyncError> {
    let err = inventory_error("write", app);
    let cm = configmap(app, inv, revision, rv.as_deref());
    let written = match rv {
        Some(_) => {
            api(client)
                .replace(&configmap_name(app), &PostParams::default(), &cm)
                .await
        }
        None => match api(client).create(&PostParams::default(), &cm).await {
            // Its namespace is made only when missing: a least-privilege controller
            // (deploy/impersonation) may write ConfigMaps there but not Namespaces.
            Err(e) if crate::error::is_not_found(&e) => {
                ensure_system_namespace(client).await.map_err(&err)?;
                api(client).create(&PostParams::default(), &cm).await
            }
            created => created,
        },
    };
    match written {
        Ok(cm) => Ok(Some(cm.metadata.resource_version.unwrap_or_default())),
        // 409: written (or created) by someone else since the read.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(None),
        Err(e) => Err(err(e)),
    }
}

fn configmap(app: &str, inv: &Inventory, revision: Option<&str>, rv: Option<&str>) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": configmap_name(app), "namespace": SYSTEM_NAMESPACE,
                     "resourceVersion": rv,
                     "labels": {"moor.dev/inventory": "true"},
                     // Every write differs (the API server does not bump the resourceVersion
                     // of a write that changes nothing; reassert needs it to).
                     "annotations": {LABEL_APP: app,
                                     "moor.dev/inventory-written": k8s_openapi::jiff::Timestamp::now().to_string()}},
        "data": {
            "objects": serde_json::to_string(inv).expect("inventory serializes"),
            "revision": revision.unwrap_or(""),
        }
    }))
    .expect("an inventory ConfigMap")
}

async fn ensure_system_namespace(client: &Client) -> Result<(), kube::Error> {
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let ns =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}});
    Api::<Namespace>::all(client.clone())
        .patch(SYSTEM_NAMESPACE, &pp, &Patch::Apply(&ns))
        .await
        .map(|_| ())
}

/// Deletes the app's inventory, once the app is gone; none stored is no error.
pub async fn remove(client: &Client, app: &str) -> Result<(), SyncError> {
    match api(client)
        .delete(&configmap_name(app), &Default::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(inventory_error("delete", app)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_names_are_valid_and_distinct() {
        assert_eq!(configmap_name("shop"), "inventory-shop");
        let odd = configmap_name("Shop_App");
        assert!(odd.starts_with("inventory-shop-app-"), "{odd}");
        assert_ne!(configmap_name("Shop_App"), configmap_name("shop-app"));
    }
}
