//! One object of an app: its live manifest (Secret values masked), its diff against Git (the
//! normalised diff of `moor app diff`) and its Events.
//!
//! Only objects the app manages (status.resources) or their descendants by ownerReferences are
//! served: the caller was authorised to read the Application, not every object of the cluster.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use moor_apply::Engine;
use moor_controller::crd::{Application, ResourceStatus};
use moor_types::ObjKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::UiError;
use super::render::Renders;
use super::tree::resolve;

/// Which object: the query string of `GET .../resource`.
#[derive(Debug, Deserialize)]
pub(crate) struct ObjectQuery {
    /// API group ("" for the core group).
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace; none for cluster-scoped objects.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// What the node panel shows, as the JSON of [`Panel`] (the router sends `body` as it is).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Resource {
    /// A [`Panel`] as JSON.
    pub body: Value,
}

/// The panel of one node: `{"live", "desired", "diff", "diffError", "events"}`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Panel {
    /// The live object as YAML, managedFields dropped, Secret values masked; None when it does
    /// not exist.
    pub live: Option<String>,
    /// The object as Git has it, normalised and masked like the diff; None for children.
    pub desired: Option<String>,
    /// The unified diff of live against Git; None when in sync or not managed.
    pub diff: Option<String>,
    /// Why there is no diff to show (e.g. the app has several sources), or what the diff shown
    /// leaves out (kustomize overrides).
    pub diff_error: Option<String>,
    /// The object's Events, newest first.
    pub events: Vec<EventRow>,
}

/// One Event of the object.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventRow {
    /// Normal or Warning.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Why, in one word.
    pub reason: Option<String>,
    /// What happened.
    pub message: Option<String>,
    /// How many times.
    pub count: Option<i32>,
    /// When last (RFC 3339).
    pub last_timestamp: Option<String>,
}

/// Ancestors followed from a child to the object the app manages: Pod -> ReplicaSet ->
/// Deployment is two; a few more allow CronJob -> Job -> Pod and custom controllers.
const MAX_DEPTH: usize = 5;
/// Events shown per object.
const MAX_EVENTS: usize = 100;

/// The object `q` of `app` (whose API group is `group`).
pub(crate) async fn get(
    client: &Client,
    renders: &Renders,
    app: &Application,
    group: &str,
    q: &ObjectQuery,
) -> Result<Resource, UiError> {
    let panel = panel(client, renders, app, group, q).await?;
    Ok(Resource {
        body: serde_json::to_value(panel).unwrap_or(Value::Null),
    })
}

/// The [`Panel`] of `q`, or 404 when the object is neither managed by `app` nor a descendant.
async fn panel(
    client: &Client,
    renders: &Renders,
    app: &Application,
    group: &str,
    q: &ObjectQuery,
) -> Result<Panel, UiError> {
    let what = describe(q);
    let status = app.status.clone().unwrap_or_default();
    let managed = status.resources.iter().find(|r| is(r, q));
    if !crate::app::is_in_cluster(&app.spec.destination) {
        if managed.is_none() {
            return Err(not_found(&what, app));
        }
        return Ok(Panel {
            diff_error: Some(
                "the app deploys to another cluster: the UI reads only the cluster it runs in"
                    .into(),
            ),
            ..Panel::default()
        });
    }
    let version = match (q.version.as_str(), managed) {
        ("", Some(r)) => r.version.clone(),
        ("", None) => return Err(UiError::BadRequest(format!("{what}: version is required"))),
        (v, _) => v.to_string(),
    };
    let Some((ar, namespaced)) =
        resolve(client, &GroupVersionKind::gvk(&q.group, &version, &q.kind))
            .await
            .map_err(|e| {
                UiError::internal(anyhow::anyhow!(e).context(format!("looking up {what}")))
            })?
    else {
        return match managed {
            Some(_) => Ok(Panel {
                diff_error: Some(format!(
                    "{}.{} is not served by the cluster",
                    q.kind, q.group
                )),
                ..Panel::default()
            }),
            None => Err(not_found(&what, app)),
        };
    };
    let ns = q.namespace.as_deref().filter(|n| !n.is_empty());
    let live = get_object(client, &ar, namespaced, ns, &q.name)
        .await
        .map_err(|e| UiError::internal(anyhow::anyhow!(e).context(format!("reading {what}"))))?;
    if managed.is_none() {
        let owned = match &live {
            Some(obj) => descends_from_app(client, &status.resources, obj).await?,
            None => false,
        };
        if !owned {
            return Err(not_found(&what, app));
        }
    }
    let mut out = Panel {
        live: live.as_ref().map(live_yaml),
        ..Panel::default()
    };
    if managed.is_some() {
        match compare(client, renders, app, group, q).await {
            Ok((desired, diff)) => {
                out.desired = desired;
                out.diff = diff;
            }
            Err(e) => out.diff_error = Some(e),
        }
        // The diff is still shown, with the caveat `moor app diff` prints.
        let overrides = app.spec.source.kustomize.as_ref();
        if out.diff_error.is_none() && overrides.is_some_and(|k| !k.is_empty()) {
            out.diff_error = Some(
                "spec.source.kustomize overrides are applied by the controller, not by this \
                 diff: it compares with the kustomization as it is in Git"
                    .into(),
            );
        }
    }
    if let Some(uid) = live
        .as_ref()
        .and_then(|o| o.pointer("/metadata/uid")?.as_str())
    {
        out.events = events(client, ns, uid).await.map_err(|e| {
            UiError::internal(anyhow::anyhow!(e).context(format!("listing the events of {what}")))
        })?;
    }
    Ok(out)
}

fn describe(q: &ObjectQuery) -> String {
    let kind = if q.group.is_empty() {
        q.kind.clone()
    } else {
        format!("{}.{}", q.kind, q.group)
    };
    match q.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => format!("{kind} {ns}/{}", q.name),
        None => format!("{kind} {}", q.name),
    }
}

fn not_found(what: &str, app: &Application) -> UiError {
    UiError::NotFound(format!(
        "{what} is not an object of application {}/{} or one of their children",
        app.namespace().unwrap_or_default(),
        app.name_any()
    ))
}

/// Whether status entry `r` names the object `q` (its version aside: status keeps the one it was
/// applied at).
fn is(r: &ResourceStatus, q: &ObjectQuery) -> bool {
    r.group == q.group
        && r.kind == q.kind
        && r.name == q.name
        && r.namespace.as_deref().filter(|n| !n.is_empty())
            == q.namespace.as_deref().filter(|n| !n.is_empty())
}

async fn get_object(
    client: &Client,
    ar: &ApiResource,
    namespaced: bool,
    ns: Option<&str>,
    name: &str,
) -> Result<Option<Value>, kube::Error> {
    let api: Api<DynamicObject> = match (ns, namespaced) {
        (Some(n), true) => Api::namespaced_with(client.clone(), n, ar),
        (None, true) => return Ok(None),
        _ => Api::all_with(client.clone(), ar),
    };
    let obj = api.get_opt(name).await?;
    Ok(obj.map(|o| {
        let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.insert("apiVersion".into(), ar.api_version.clone().into());
            m.insert("kind".into(), ar.kind.clone().into());
        }
        v
    }))
}

/// Whether `obj` is owned, through at most [`MAX_DEPTH`] controllers, by a live object the app
/// manages: each owner is read and matched by uid, so a forged ownerReference naming a managed
/// object's kind and name but another uid does not count.
async fn descends_from_app(
    client: &Client,
    managed: &[ResourceStatus],
    obj: &Value,
) -> Result<bool, UiError> {
    let mut current = obj.clone();
    for _ in 0..MAX_DEPTH {
        let ns = current
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        let refs = current
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut next = None;
        for r in &refs {
            let (Some(api_version), Some(kind), Some(name), Some(uid)) = (
                r.get("apiVersion").and_then(Value::as_str),
                r.get("kind").and_then(Value::as_str),
                r.get("name").and_then(Value::as_str),
                r.get("uid").and_then(Value::as_str),
            ) else {
                continue;
            };
            let group = ObjKey::group_of(api_version);
            let version = api_version.rsplit('/').next().unwrap_or(api_version);
            let Ok(Some((ar, namespaced))) =
                resolve(client, &GroupVersionKind::gvk(group, version, kind)).await
            else {
                continue;
            };
            // Owners are in the object's namespace, or cluster scoped.
            let owner_ns = if namespaced { ns.as_deref() } else { None };
            let Ok(Some(owner)) = get_object(client, &ar, namespaced, owner_ns, name).await else {
                continue;
            };
            if owner.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid) {
                continue;
            }
            let is_managed = managed.iter().any(|m| {
                m.group == group
                    && m.kind == kind
                    && m.name == name
                    && m.namespace.as_deref().filter(|n| !n.is_empty()) == owner_ns
            });
            if is_managed {
                return Ok(true);
            }
            next.get_or_insert(owner);
        }
        match next {
            Some(owner) => current = owner,
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// The live manifest for reading: no managedFields (noise a user never edits), Secret values
/// masked by moor-diff's one rule.
fn live_yaml(obj: &Value) -> String {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    moor_diff::to_yaml(&moor_diff::mask_secret(&obj))
}

/// (desired YAML, diff) of the managed object `q`: the app's source rendered (at the commit the
/// controller last compared, so the panel agrees with the app's sync status) and compared by
/// `moor app diff`'s engine; the error says why there is nothing to compare.
async fn compare(
    client: &Client,
    renders: &Renders,
    app: &Application,
    group: &str,
    q: &ObjectQuery,
) -> Result<(Option<String>, Option<String>), String> {
    if app.is_multi_source() || app.spec.source.is_chart() {
        return Err(
            "the app has spec.sources or a chart: its diff is not rendered here; its objects' \
             sync state is the controller's comparison"
                .into(),
        );
    }
    let status = app.status.clone().unwrap_or_default();
    let revision = status.sync.revision.filter(|r| is_commit(r));
    let rendered = renders
        .render(app, &app.spec.source, revision.as_deref())
        .await?;
    let opts = crate::app::diff_options(app, group, rendered.revision.clone());
    let key = ObjKey::new(&q.group, &q.kind, q.namespace.as_deref(), &q.name);
    let diffs = Engine::new(client.clone())
        .diff(rendered.manifests.clone(), &opts)
        .await
        .map_err(|e| moor_types::error_chain(&e))?;
    if let Some(d) = diffs.into_iter().find(|d| d.key == key) {
        return Ok((d.desired, Some(d.unified)));
    }
    // In sync: show Git's object as the diff would (normalised, Secret values masked).
    let dest_ns = opts.namespace.as_str();
    let desired = rendered.manifests.iter().find(|m| {
        ObjKey::group_of(m.api_version()) == q.group
            && m.kind() == q.kind
            && m.name() == q.name
            && (m.namespace().is_none_or(|n| n.is_empty())
                || m.namespace() == q.namespace.as_deref())
            && (m.namespace().is_some_and(|n| !n.is_empty())
                || q.namespace.as_deref().is_none_or(|n| n == dest_ns))
    });
    Ok((
        desired.map(|m| moor_diff::to_yaml(&moor_diff::mask_secret(&moor_diff::normalize(&m.obj)))),
        None,
    ))
}

/// A full commit id, as the controller records: a branch name would render whatever the branch
/// holds now.
fn is_commit(r: &str) -> bool {
    r.len() >= 40 && r.chars().all(|c| c.is_ascii_hexdigit())
}

/// The object's Events by its uid, newest first.
async fn events(
    client: &Client,
    ns: Option<&str>,
    uid: &str,
) -> Result<Vec<EventRow>, kube::Error> {
    let api: Api<Event> = match ns {
        Some(n) => Api::namespaced(client.clone(), n),
        None => Api::all(client.clone()),
    };
    let lp = ListParams::default().fields(&format!("involvedObject.uid={uid}"));
    let mut items = api.list(&lp).await?.items;
    let when = |e: &Event| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0.to_string())
            .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
            .or_else(|| e.first_timestamp.as_ref().map(|t| t.0.to_string()))
            .or_else(|| {
                e.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string())
            })
    };
    items.sort_by_key(|e| std::cmp::Reverse(when(e)));
    Ok(items
        .iter()
        .take(MAX_EVENTS)
        .map(|e| EventRow {
            type_: e.type_.clone(),
            reason: e.reason.clone(),
            message: e.message.clone(),
            count: e.count,
            last_timestamp: when(e),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn live_drops_managed_fields_and_masks_secrets() {
        let s = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "managedFields": [{"manager": "x"}]},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "plain"}});
        let y = live_yaml(&s);
        assert!(!y.contains("aHVudGVyMg==") && !y.contains("plain"), "{y}");
        assert!(!y.contains("managedFields"), "{y}");
        assert!(y.contains(moor_diff::MASK), "{y}");
    }

    #[test]
    fn status_entries_match_by_group_kind_namespace_name() {
        let r = ResourceStatus {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: Some("prod".into()),
            name: "web".into(),
            ..Default::default()
        };
        let q = |ns: Option<&str>, name: &str| ObjectQuery {
            group: "apps".into(),
            version: String::new(),
            kind: "Deployment".into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        };
        assert!(is(&r, &q(Some("prod"), "web")));
        assert!(!is(&r, &q(Some("other"), "web")));
        assert!(!is(&r, &q(None, "web")));
        assert!(!is(&r, &q(Some("prod"), "api")));
        assert!(is_commit(&"a".repeat(40)) && !is_commit("main"));
    }
}
