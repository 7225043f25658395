//! Prune: delete objects that are in the app's last inventory and no longer desired, only when
//! their tracking annotation names this very object of this app, in reverse apply order.

use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_types::{
    ANNOTATION_PRUNE, ANNOTATION_TRACKING, ApplyOrder, Change, FIELD_MANAGER, ObjKey, SyncOption,
    SyncPhase, ignore_extraneous, prune_disabled, tracking_app, tracking_id,
};
use serde_json::Value;

use crate::error::{ObjectError, SyncError, about, api_reason, is_not_found};
use crate::inventory::Entry;
use crate::options::{delete_params, object_flag};
use crate::plan::annotation;
use crate::prepare::Desired;
use crate::resolve::{Resolver, gvk_of};
use crate::wait::until_healthy;
use crate::{ObjectResult, SyncOptions};

/// What prune did, and the entries that stay in the inventory (kept objects).
pub struct Pruned {
    pub results: Vec<ObjectResult>,
    pub kept: Vec<Entry>,
    /// `PruneLast=true` objects left for a last prune (only with `defer_last`).
    pub deferred: Vec<Entry>,
    /// Objects that would be pruned but ask not to count as OutOfSync (`IgnoreExtraneous`).
    pub ignore_extraneous: Vec<ObjKey>,
}

/// Prunes `stale` as the app of `opts`, with its sync options. `defer_last`: objects whose
/// `PruneLast=true` holds are not pruned but returned in `deferred`, for the caller to prune
/// once the rest of the sync is healthy.
pub async fn prune(
    client: &Client,
    resolver: &Resolver,
    opts: &SyncOptions,
    mut stale: Vec<Entry>,
    since: Option<Timestamp>,
    dry_run: bool,
    defer_last: bool,
) -> Result<Pruned, SyncError> {
    let app = opts.app.as_str();
    // Reverse apply order: custom resources first, Namespaces and CRDs last.
    stale.sort_by_key(|e| {
        let ns = e.namespace.as_deref().unwrap_or("");
        std::cmp::Reverse(ApplyOrder::new(
            SyncPhase::Sync,
            0,
            ObjKey::group_of(&e.api_version()),
            &e.kind,
            ns,
            &e.name,
        ))
    });
    let mut out = Pruned {
        results: Vec::new(),
        kept: Vec::new(),
        deferred: Vec::new(),
        ignore_extraneous: Vec::new(),
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
            .await
            .map_err(about("look up the kind of", &key))?
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
        if defer_last && object_flag(opts, &live, SyncOption::PruneLast) == Some(true) {
            out.deferred.push(entry);
            continue;
        }
        // An app-level Prune=false is about pruning only: deleting the app still deletes.
        if prune_disabled(|name| annotation(&live, name).map(str::to_string))
            || (!opts.deleting_app && object_flag(opts, &live, SyncOption::Prune) == Some(false))
        {
            out.results.push(result(
                Change::Skipped,
                &format!(
                    "not pruned: annotated {ANNOTATION_PRUNE}: \"false\" (or Argo CD's Prune=false)"
                ),
            ));
            out.kept.push(entry);
            continue;
        }
        if opts.deleting_app && object_flag(opts, &live, SyncOption::Delete) == Some(false) {
            out.results.push(result(
                Change::Skipped,
                "not deleted with the app: Delete=false",
            ));
            out.kept.push(entry);
            continue;
        }
        if since.is_some_and(|t| applied_since(&live, t)) {
            out.results.push(result(
                Change::Skipped,
                "not pruned: another sync of this app applied it after this sync began",
            ));
            out.kept.push(entry);
            continue;
        }
        let unmanaged = if key.kind == "Namespace" && key.group.is_empty() {
            unmanaged_in_namespace(client, resolver, &entry.name, app, !dry_run).await
        } else if key.kind == "CustomResourceDefinition" && key.group == "apiextensions.k8s.io" {
            unmanaged_custom_resources(client, &live, app).await
        } else {
            None
        };
        if let Some(why) = unmanaged {
            out.results
                .push(result(Change::Skipped, &format!("not pruned: {why}")));
            out.kept.push(entry);
            continue;
        }
        if ignore_extraneous(|name| annotation(&live, name).map(str::to_string)) {
            out.ignore_extraneous.push(key.clone());
        }
        match api.delete(&entry.name, &delete_params(opts, dry_run)).await {
            Ok(_) => out.results.push(result(Change::Pruned, "")),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(fail(api_reason(&e))),
        }
    }
    Ok(out)
}

/// A sync's prune: every stale object but those whose `PruneLast=true` holds, which are pruned
/// last, as a final implicit wave once everything the sync applied (`targets`) is healthy.
pub async fn prune_last_after_health(
    client: &Client,
    resolver: &Resolver,
    opts: &SyncOptions,
    stale: Vec<Entry>,
    since: Timestamp,
    targets: &[Desired],
) -> Result<Pruned, SyncError> {
    let mut pruned = prune(client, resolver, opts, stale, Some(since), false, true).await?;
    if !pruned.deferred.is_empty() {
        let refs: Vec<_> = targets.iter().collect();
        until_healthy(client, &refs, opts).await?;
        let last = std::mem::take(&mut pruned.deferred);
        let last = prune(client, resolver, opts, last, Some(since), false, false).await?;
        pruned.results.extend(last.results);
        pruned.kept.extend(last.kept);
    }
    Ok(pruned)
}

/// Whether moor applied `live` after `since` (its managedFields entry's time, which has whole
/// seconds: only a later second counts, so the sync that applied an object moments before a
/// commit removed it never keeps it alive by accident).
fn applied_since(live: &Value, since: Timestamp) -> bool {
    let since = since.as_second();
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m["manager"] == FIELD_MANAGER && m["operation"] == "Apply")
        .filter_map(|m| m["time"].as_str()?.parse::<Timestamp>().ok())
        .any(|t| t.as_second() > since)
}

/// Why the Namespace `ns` must stay, if it must: the first object in it that `app` does not
/// own, of any namespaced type the API server serves (discovery, not a fixed list, so custom
/// resources count too). A type that cannot be listed keeps the namespace as well: moor deletes
/// nothing it cannot see is its own.
async fn unmanaged_in_namespace(
    client: &Client,
    resolver: &Resolver,
    ns: &str,
    app: &str,
    fresh: bool,
) -> Option<String> {
    let types = match resolver.namespaced_types(client, fresh).await {
        Ok(t) => t,
        Err(e) => return Some(format!("the API server's types could not be listed: {e}")),
    };
    for ar in types {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        let items = match api.list(&ListParams::default()).await {
            Ok(l) => l.items,
            Err(e) if is_not_found(&e) => continue,
            Err(e) => {
                return Some(format!(
                    "its {} could not be listed to check they are this app's: {}",
                    ar.plural,
                    api_reason(&e)
                ));
            }
        };
        if let Some(other) = items.iter().find(|o| !owned_or_builtin(o, &ar.kind, app)) {
            return Some(format!(
                "the namespace still holds {} {}, which this app does not own",
                ar.kind,
                other.metadata.name.as_deref().unwrap_or("")
            ));
        }
    }
    None
}

/// Whether an object in a namespace being pruned is no reason to keep it: this app's, owned by
/// another object (which is checked itself), or made by Kubernetes in every namespace.
fn owned_or_builtin(obj: &DynamicObject, kind: &str, app: &str) -> bool {
    let name = obj.metadata.name.as_deref().unwrap_or("");
    let builtin = matches!(
        (kind, name),
        ("ConfigMap", "kube-root-ca.crt") | ("ServiceAccount", "default")
    ) || matches!(kind, "Event" | "Endpoints");
    let owned_by_object = !obj
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .is_empty();
    let tracked = obj
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_TRACKING))
        .and_then(|v| tracking_app(v))
        == Some(app);
    builtin || owned_by_object || tracked
}

/// Why a CustomResourceDefinition must stay, if it must: deleting it deletes every custom
/// resource of its kind, so one that this app does not own keeps it.
async fn unmanaged_custom_resources(client: &Client, crd: &Value, app: &str) -> Option<String> {
    let spec = &crd["spec"];
    let (group, plural, kind) = (
        spec["group"].as_str()?,
        spec["names"]["plural"].as_str()?,
        spec["names"]["kind"].as_str()?,
    );
    let version = spec["versions"]
        .as_array()?
        .iter()
        .find(|v| v["storage"] == true)?["name"]
        .as_str()?;
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let items = match Api::<DynamicObject>::all_with(client.clone(), &ar)
        .list(&ListParams::default())
        .await
    {
        Ok(l) => l.items,
        Err(e) if is_not_found(&e) => return None,
        Err(e) => {
            return Some(format!(
                "its {plural} could not be listed to check they are this app's: {}",
                api_reason(&e)
            ));
        }
    };
    let other = items.iter().find(|o| !owned_or_builtin(o, kind, app))?;
    Some(format!(
        "{kind} {}{} still exists and is not this app's; deleting the CustomResourceDefinition \
         would delete it",
        other
            .metadata
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default(),
        other.metadata.name.as_deref().unwrap_or("")
    ))
}
