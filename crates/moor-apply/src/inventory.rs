//! The app's inventory: what it applied (with API versions), kept in a ConfigMap in moor-system
//! so that prune knows what the app owned even after the objects left Git.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use moor_types::{FIELD_MANAGER, LABEL_APP, ObjKey, SYSTEM_NAMESPACE};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::SyncError;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl Entry {
    pub fn key(&self) -> ObjKey {
        ObjKey::new(
            &self.group,
            &self.kind,
            self.namespace.as_deref(),
            &self.name,
        )
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

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

pub async fn load(client: &Client, app: &str) -> Result<Inventory, SyncError> {
    let err = |source| SyncError::Inventory {
        action: "read",
        app: app.to_string(),
        source,
    };
    let Some(cm) = api(client)
        .get_opt(&configmap_name(app))
        .await
        .map_err(err)?
    else {
        return Ok(Inventory::new());
    };
    let raw = cm
        .data
        .as_ref()
        .and_then(|d| d.get("objects"))
        .map(String::as_str)
        .unwrap_or("[]");
    serde_json::from_str(raw).map_err(|e| {
        err(kube::Error::Service(
            format!(
                "inventory ConfigMap {SYSTEM_NAMESPACE}/{} is corrupt: {e}",
                configmap_name(app)
            )
            .into(),
        ))
    })
}

pub async fn store(
    client: &Client,
    app: &str,
    inv: &Inventory,
    revision: Option<&str>,
) -> Result<(), SyncError> {
    let err = |source| SyncError::Inventory {
        action: "write",
        app: app.to_string(),
        source,
    };
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let ns =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}});
    Api::<Namespace>::all(client.clone())
        .patch(SYSTEM_NAMESPACE, &pp, &Patch::Apply(&ns))
        .await
        .map_err(err)?;
    let name = configmap_name(app);
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE,
                     "labels": {"moor.dev/inventory": "true"},
                     "annotations": {LABEL_APP: app}},
        "data": {
            "objects": serde_json::to_string(inv).expect("inventory serializes"),
            "revision": revision.unwrap_or(""),
        }
    });
    api(client)
        .patch(&name, &pp, &Patch::Apply(&cm))
        .await
        .map_err(err)?;
    Ok(())
}

pub async fn remove(client: &Client, app: &str) -> Result<(), SyncError> {
    match api(client)
        .delete(&configmap_name(app), &Default::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(source) => Err(SyncError::Inventory {
            action: "delete",
            app: app.to_string(),
            source,
        }),
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
