//! Prune: delete objects that are in the app's last inventory and no longer desired, only when
//! their tracking annotation names this very object of this app, in reverse apply order.

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::core::ApiResource;
use moor_types::{
    ANNOTATION_PRUNE, ANNOTATION_TRACKING, Change, kind_rank, prune_disabled, tracking_app,
    tracking_id,
};
use serde_json::Value;

use crate::ObjectResult;
use crate::error::{ObjectError, SyncError, api_reason, is_not_found};
use crate::inventory::Entry;
use crate::plan::annotation;
use crate::resolve::{Resolver, gvk_of};

/// What prune did, and the entries that stay in the inventory (kept objects).
pub struct Pruned {
    pub results: Vec<ObjectResult>,
    pub kept: Vec<Entry>,
}

/// Namespaced kinds checked before a Namespace is pruned: it is kept while it holds any of them
/// that this app does not own.
const NAMESPACE_CONTENT: &[(&str, &str, &str)] = &[
    ("", "v1", "ConfigMap"),
    ("", "v1", "Secret"),
    ("", "v1", "Service"),
    ("", "v1", "PersistentVolumeClaim"),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("apps", "v1", "DaemonSet"),
    ("batch", "v1", "Job"),
    ("batch", "v1", "CronJob"),
];

pub async fn prune(
    client: &Client,
    resolver: &Resolver,
    app: &str,
    mut stale: Vec<Entry>,
    dry_run: bool,
) -> Result<Pruned, SyncError> {
    // Reverse apply order: custom resources first, Namespaces last.
    stale.sort_by(|a, b| {
        kind_rank(&b.kind)
            .cmp(&kind_rank(&a.kind))
            .then_with(|| a.cmp(b))
    });
    let mut out = Pruned {
        results: Vec::new(),
        kept: Vec::new(),
    };
    for entry in stale {
        let key = entry.key();
        let fail = |reason: String| {
            SyncError::Prune(ObjectError {
                key: key.clone(),
                origin: Default::default(),
                reason,
            })
        };
        let Some(res) = resolver
            .resolve(client, &gvk_of(&entry.api_version(), &entry.kind))
            .await?
        else {
            continue; // the kind is gone, and with it the object
        };
        let api: Api<DynamicObject> = match &entry.namespace {
            Some(ns) if res.namespaced => Api::namespaced_with(client.clone(), ns, &res.ar),
            _ => Api::all_with(client.clone(), &res.ar),
        };
        let live = match api.get_opt(&entry.name).await {
            Ok(Some(o)) => serde_json::to_value(o).expect("object serializes"),
            Ok(None) => continue,
            Err(e) => return Err(fail(api_reason(&e))),
        };
        let result = |change, message: &str| ObjectResult {
            key: key.clone(),
            api_version: entry.api_version(),
            change,
            message: message.to_string(),
        };
        if annotation(&live, ANNOTATION_TRACKING) != Some(tracking_id(app, &key).as_str()) {
            let owner = annotation(&live, ANNOTATION_TRACKING)
                .and_then(tracking_app)
                .unwrap_or("nobody");
            out.results.push(result(
                Change::Skipped,
                &format!("not pruned: managed by {owner}, not by this app"),
            ));
            continue;
        }
        if prune_disabled(|name| annotation(&live, name).map(str::to_string)) {
            out.results.push(result(
                Change::Skipped,
                &format!(
                    "not pruned: annotated {ANNOTATION_PRUNE}: \"false\" (or Argo CD's Prune=false)"
                ),
            ));
            out.kept.push(entry);
            continue;
        }
        let unmanaged = if key.kind == "Namespace" && key.group.is_empty() {
            unmanaged_content(client, &entry.name, app)
                .await
                .map_err(|e| fail(api_reason(&e)))?
        } else {
            None
        };
        if let Some(other) = unmanaged {
            let msg = format!(
                "not pruned: the namespace still holds {other}, which this app does not own"
            );
            out.results.push(result(Change::Skipped, &msg));
            out.kept.push(entry);
            continue;
        }
        let dp = DeleteParams {
            dry_run,
            ..DeleteParams::background()
        };
        match api.delete(&entry.name, &dp).await {
            Ok(_) => out.results.push(result(Change::Pruned, "")),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(fail(api_reason(&e))),
        }
    }
    Ok(out)
}

/// The first object in namespace `ns` that `app` does not own, if any (`Kind name`).
async fn unmanaged_content(
    client: &Client,
    ns: &str,
    app: &str,
) -> Result<Option<String>, kube::Error> {
    for (group, version, kind) in NAMESPACE_CONTENT {
        let ar = ApiResource::from_gvk(&gvk_of(
            &if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            },
            kind,
        ));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        for obj in api.list(&ListParams::default()).await?.items {
            let name = obj.metadata.name.clone().unwrap_or_default();
            // Made by Kubernetes itself in every namespace.
            if (*kind == "ConfigMap" && name == "kube-root-ca.crt")
                || !obj
                    .metadata
                    .owner_references
                    .as_deref()
                    .unwrap_or_default()
                    .is_empty()
            {
                continue;
            }
            let v: Value = serde_json::to_value(&obj).expect("object serializes");
            if annotation(&v, ANNOTATION_TRACKING).and_then(tracking_app) != Some(app) {
                return Ok(Some(format!("{kind} {name}")));
            }
        }
    }
    Ok(None)
}
