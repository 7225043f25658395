//! An app's resource tree: the Application, the objects it manages (status.resources) and their
//! children by ownerReferences (Deployment -> ReplicaSet -> Pod), each with health and sync.
//!
//! Reads are lists, never one GET per object, so a 500-object app costs a handful of requests:
//! one list per (kind, namespace) of the managed objects (for their uids and live state) and one
//! per child kind (ReplicaSet, Job, Pod) in the namespaces whose workloads have such children.
//! Children are linked by owner uid; kinds that are noise in a tree (EndpointSlices, Events,
//! ControllerRevisions) are not listed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use kube::{Client, ResourceExt};
use moor_controller::crd::{Application, ResourceStatus};
use moor_health::HealthRules;
use serde::Serialize;
use serde_json::Value;

use super::UiError;

/// The nodes of one app's tree, parents before children.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Tree {
    /// Every node; the first is the Application.
    pub nodes: Vec<Node>,
    /// Why some nodes or children are missing (another destination cluster, a kind that could
    /// not be listed); empty when the tree is whole.
    pub warnings: Vec<String>,
}

/// One object in the tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Node {
    /// Stable id: `group/Kind/namespace/name` for the app and its managed objects (the core
    /// group is `core`), the uid for children.
    pub id: String,
    /// The parent's id; None for the Application.
    pub parent: Option<String>,
    /// API group ("" for the core group).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace; None for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// The live object's uid; None when it does not exist.
    pub uid: Option<String>,
    /// Whether the app manages it (it is in Git), rather than a child of such an object.
    pub managed: bool,
    /// Its health and why.
    pub health: Option<NodeHealth>,
    /// Synced or OutOfSync, for the app and its managed objects.
    pub sync: Option<String>,
    /// A short state, e.g. "Running" or "2/2 ready".
    pub info: Option<String>,
}

/// A health status and why.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct NodeHealth {
    /// Healthy, Progressing, Degraded, Suspended, Missing, Unknown.
    pub status: String,
    /// Why.
    pub message: Option<String>,
}

/// Children listed per namespace: (kind, API resource, kinds of managed workloads that have
/// them). A Pod can be the child of any workload, a ReplicaSet only of a Deployment (or an Argo
/// Rollout), a Job of a CronJob.
fn child_kinds() -> [(&'static str, ApiResource, &'static [&'static str]); 3] {
    [
        (
            "ReplicaSet",
            ApiResource::erase::<ReplicaSet>(&()),
            &["Deployment", "Rollout"],
        ),
        ("Job", ApiResource::erase::<Job>(&()), &["CronJob"]),
        (
            "Pod",
            ApiResource::erase::<Pod>(&()),
            &[
                "Deployment",
                "Rollout",
                "ReplicaSet",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "CronJob",
            ],
        ),
    ]
}

/// Bound on the objects one list may return, so a namespace with huge numbers of Pods cannot
/// make one request hold them all.
const MAX_LISTED: usize = 20_000;
/// Lists in flight at once for one tree: an app spread over many kinds and namespaces must not
/// open hundreds of requests at a time.
const MAX_LISTS: usize = 16;
/// Bound on children in one tree.
const MAX_CHILDREN: usize = 5_000;

/// The tree of `app` as it is live in its destination.
pub(crate) async fn build(client: &Client, app: &Application) -> Result<Tree, UiError> {
    let resources = app
        .status
        .as_ref()
        .map(|s| s.resources.clone())
        .unwrap_or_default();
    let mut warnings = Vec::new();
    if !crate::app::is_in_cluster(&app.spec.destination) {
        let d = &app.spec.destination;
        warnings.push(format!(
            "the app deploys to {}, not to the cluster the UI reads: its objects are shown from \
             the app's status, without their children",
            d.name
                .as_deref()
                .or(d.server.as_deref())
                .unwrap_or_default()
        ));
        let mut tree = assemble(app, &resources, &HashMap::new(), Vec::new());
        tree.warnings = warnings;
        return Ok(tree);
    }
    // Where a namespaced object without a namespace went, as `moor app diff` places it; never
    // every namespace, where same-named objects of others would be taken for the app's.
    let default_ns = app.spec.destination.namespace.clone();
    let default_ns = default_ns.unwrap_or_else(|| "default".into());
    let live = list_managed(client, &resources, &default_ns, &mut warnings).await;
    let children = list_children(client, &resources, &live, &mut warnings).await;
    let mut tree = assemble(app, &resources, &live, children);
    tree.warnings.extend(warnings);
    Ok(tree)
}

/// (group, kind, namespace, name) of a managed object, how status.resources names it.
type ManagedKey = (String, String, Option<String>, String);

fn managed_key(r: &ResourceStatus) -> ManagedKey {
    (
        r.group.clone(),
        r.kind.clone(),
        r.namespace.clone().filter(|n| !n.is_empty()),
        r.name.clone(),
    )
}

/// The node id of an object the app manages (and of the app itself).
pub(crate) fn managed_id(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    format!("{group}/{kind}/{}/{name}", namespace.unwrap_or(""))
}

/// The live managed objects, by one list per (group, version, kind, namespace).
async fn list_managed(
    client: &Client,
    resources: &[ResourceStatus],
    default_ns: &str,
    warnings: &mut Vec<String>,
) -> HashMap<ManagedKey, Value> {
    let mut groups: BTreeMap<(String, String, String, Option<String>), HashSet<String>> =
        BTreeMap::new();
    // Only kinds the tree shows something live of (info, children): a ConfigMap's node needs
    // nothing but its status, and listing a namespace of 500 of them costs the page its budget.
    for r in resources.iter().filter(|r| read_live(&r.kind)) {
        let ns = r.namespace.clone().filter(|n| !n.is_empty());
        let k = (r.group.clone(), r.version.clone(), r.kind.clone(), ns);
        groups.entry(k).or_default().insert(r.name.clone());
    }
    let lists = groups
        .into_iter()
        .map(|((group, version, kind, ns), names)| {
            let client = client.clone();
            async move {
                let gvk = GroupVersionKind::gvk(&group, &version, &kind);
                let (ar, namespaced) = match resolve(&client, &gvk).await {
                    Ok(Some(found)) => found,
                    Ok(None) => return Err(format!("{kind}.{group} is not served by the cluster")),
                    Err(e) => return Err(format!("looking up {kind}.{group}: {e}")),
                };
                // Status names a namespaced object's namespace; an older status may not.
                let list_ns = ns.clone().unwrap_or_else(|| default_ns.to_string());
                let (api, where_): (Api<DynamicObject>, &str) = if namespaced {
                    (Api::namespaced_with(client, &list_ns, &ar), &list_ns)
                } else {
                    (Api::all_with(client, &ar), "the cluster")
                };
                let items = list_all(&api, &ar, INFO_KINDS.contains(&kind.as_str()))
                    .await
                    .map_err(|e| format!("listing {kind}.{group} in {where_}: {e}"))?;
                let found: Vec<(ManagedKey, Value)> = items
                    .into_iter()
                    .filter_map(|o| {
                        let name = str_at(&o, "/metadata/name").to_string();
                        names
                            .contains(&name)
                            .then(|| ((group.clone(), kind.clone(), ns.clone(), name), o))
                    })
                    .collect();
                Ok(found)
            }
        });
    let mut live = HashMap::new();
    for r in stream::iter(lists)
        .buffer_unordered(MAX_LISTS)
        .collect::<Vec<_>>()
        .await
    {
        match r {
            Ok(found) => live.extend(found),
            Err(w) => warnings.push(w),
        }
    }
    live
}

/// The children of the managed workloads: one list per child kind and namespace.
async fn list_children(
    client: &Client,
    resources: &[ResourceStatus],
    live: &HashMap<ManagedKey, Value>,
    warnings: &mut Vec<String>,
) -> Vec<Value> {
    let mut wanted: BTreeSet<(usize, String)> = BTreeSet::new();
    let kinds = child_kinds();
    for r in resources {
        let Some(obj) = live.get(&managed_key(r)) else {
            continue;
        };
        let Some(ns) = obj.pointer("/metadata/namespace").and_then(Value::as_str) else {
            continue;
        };
        for (i, (_, _, parents)) in kinds.iter().enumerate() {
            if parents.contains(&r.kind.as_str()) {
                wanted.insert((i, ns.to_string()));
            }
        }
    }
    let lists = wanted.into_iter().map(|(i, ns)| {
        let (kind, ar, _) = kinds[i].clone();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        async move {
            list_all(&api, &ar, true)
                .await
                .map_err(|e| format!("listing {kind}s in {ns}: {e}"))
        }
    });
    let mut out: Vec<Value> = Vec::new();
    for r in stream::iter(lists)
        .buffer_unordered(MAX_LISTS)
        .collect::<Vec<_>>()
        .await
    {
        match r {
            Ok(items) => out.extend::<Vec<Value>>(items),
            Err(w) => warnings.push(w),
        }
    }
    out
}

/// Every object of `api` as JSON with its apiVersion and kind, page by page, at most
/// [`MAX_LISTED`]. Without `full`, only metadata: enough to link and name an object whose state
/// [`info`] does not show, and far less to read for ConfigMaps; Secrets' data is never read.
async fn list_all(
    api: &Api<DynamicObject>,
    ar: &ApiResource,
    full: bool,
) -> Result<Vec<Value>, kube::Error> {
    let mut out = Vec::new();
    let mut lp = ListParams::default().limit(500);
    loop {
        let next = if full {
            let page = api.list(&lp).await?;
            out.extend(page.items.into_iter().map(|o| with_type(o, ar)));
            page.metadata.continue_
        } else {
            let page = api.list_metadata(&lp).await?;
            out.extend(page.items.into_iter().map(|o| {
                let meta = serde_json::to_value(o.metadata).unwrap_or(Value::Null);
                serde_json::json!({"apiVersion": ar.api_version, "kind": ar.kind, "metadata": meta})
            }));
            page.metadata.continue_
        };
        match next {
            Some(c) if !c.is_empty() && out.len() < MAX_LISTED => lp = lp.continue_token(&c),
            _ => return Ok(out),
        }
    }
}

/// Whether the tree reads live objects of `kind`: it shows their state ([`INFO_KINDS`]) or
/// links children to them (the owners of [`child_kinds`]).
fn read_live(kind: &str) -> bool {
    INFO_KINDS.contains(&kind)
        || child_kinds()
            .iter()
            .any(|(_, _, owners)| owners.contains(&kind))
}

/// Kinds whose live state [`info`] shows, so their lists are read whole.
const INFO_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "Service",
];

/// The object as JSON with apiVersion and kind, which list items may lack.
fn with_type(o: DynamicObject, ar: &ApiResource) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), ar.api_version.clone().into());
        m.insert("kind".into(), ar.kind.clone().into());
    }
    v
}

/// A kind's API resource and whether it is namespaced, by discovery; cached five minutes per
/// kind (only kinds found: a CRD installed later is seen at once).
pub(crate) async fn resolve(
    client: &Client,
    gvk: &GroupVersionKind,
) -> Result<Option<(ApiResource, bool)>, kube::Error> {
    type Cache = Mutex<HashMap<GroupVersionKind, (Instant, ApiResource, bool)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    const TTL: Duration = Duration::from_secs(300);
    let cache = CACHE.get_or_init(Default::default);
    if let Some((at, ar, ns)) = cache.lock().expect("kind cache").get(gvk)
        && at.elapsed() < TTL
    {
        return Ok(Some((ar.clone(), *ns)));
    }
    match kube::discovery::pinned_kind(client, gvk).await {
        Ok((ar, caps)) => {
            let namespaced = caps.scope == Scope::Namespaced;
            let entry = (Instant::now(), ar.clone(), namespaced);
            cache.lock().expect("kind cache").insert(gvk.clone(), entry);
            Ok(Some((ar, namespaced)))
        }
        Err(kube::Error::Discovery(_)) => Ok(None),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// The tree from what was listed: pure, so linking is testable from fixtures.
fn assemble(
    app: &Application,
    resources: &[ResourceStatus],
    live: &HashMap<ManagedKey, Value>,
    children: Vec<Value>,
) -> Tree {
    let rules = HealthRules::compile_usable(&app.spec.health_check_exprs).0;
    let mut nodes = vec![app_node(app)];
    let app_id = nodes[0].id.clone();
    // Children by their owners' uids.
    let mut by_owner: HashMap<String, Vec<&Value>> = HashMap::new();
    for c in &children {
        for uid in owner_uids(c) {
            by_owner.entry(uid).or_default().push(c);
        }
    }
    for list in by_owner.values_mut() {
        list.sort_by_key(|c| (str_at(c, "/kind"), str_at(c, "/metadata/name")));
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut managed: Vec<&ResourceStatus> = resources.iter().collect();
    managed.sort_by_key(|r| (&r.namespace, &r.kind, &r.name));
    for r in managed {
        let obj = live.get(&managed_key(r));
        let id = managed_id(&r.group, &r.kind, r.namespace.as_deref(), &r.name);
        let uid = obj.and_then(|o| o.pointer("/metadata/uid")?.as_str().map(str::to_string));
        nodes.push(Node {
            id: id.clone(),
            parent: Some(app_id.clone()),
            group: r.group.clone(),
            version: r.version.clone(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone().filter(|n| !n.is_empty()),
            name: r.name.clone(),
            uid: uid.clone(),
            managed: true,
            health: r.health.as_ref().map(|h| NodeHealth {
                status: h.status.clone(),
                message: h.message.clone().filter(|m| !m.is_empty()),
            }),
            sync: Some(r.status.clone()).filter(|s| !s.is_empty()),
            info: obj.and_then(info),
        });
        if let Some(uid) = uid {
            add_children(&mut nodes, &by_owner, &uid, &id, &rules, &mut seen);
        }
    }
    Tree {
        nodes,
        warnings: Vec::new(),
    }
}

/// Appends the descendants of the object `uid` (node `id`), depth first.
fn add_children(
    nodes: &mut Vec<Node>,
    by_owner: &HashMap<String, Vec<&Value>>,
    uid: &str,
    id: &str,
    rules: &HealthRules,
    seen: &mut HashSet<String>,
) {
    for c in by_owner.get(uid).into_iter().flatten() {
        let Some(cuid) = c.pointer("/metadata/uid").and_then(Value::as_str) else {
            continue;
        };
        // An object with two owners in the app is shown once; a cycle ends here too.
        if seen.len() >= MAX_CHILDREN || !seen.insert(cuid.to_string()) {
            continue;
        }
        let api_version = str_at(c, "/apiVersion");
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let health = rules.health(c);
        nodes.push(Node {
            id: cuid.to_string(),
            parent: Some(id.to_string()),
            group: group.to_string(),
            version: version.to_string(),
            kind: str_at(c, "/kind").to_string(),
            namespace: c
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string),
            name: str_at(c, "/metadata/name").to_string(),
            uid: Some(cuid.to_string()),
            managed: false,
            health: Some(NodeHealth {
                status: health.status.to_string(),
                message: Some(health.message).filter(|m| !m.is_empty()),
            }),
            sync: None,
            info: info(c),
        });
        add_children(nodes, by_owner, cuid, cuid, rules, seen);
    }
}

/// The Application's own node.
fn app_node(app: &Application) -> Node {
    let api_version = app
        .api_version
        .clone()
        .unwrap_or_else(|| "moor.dev/v1alpha1".into());
    let (group, version) = api_version
        .split_once('/')
        .map(|(g, v)| (g.to_string(), v.to_string()))
        .unwrap_or_default();
    let ns = app.namespace();
    let status = app.status.clone().unwrap_or_default();
    Node {
        id: managed_id(&group, "Application", ns.as_deref(), &app.name_any()),
        parent: None,
        group,
        version,
        kind: "Application".into(),
        namespace: ns,
        name: app.name_any(),
        uid: app.uid(),
        managed: false,
        health: Some(NodeHealth {
            status: status.health.status.clone(),
            message: status.health.message.clone().filter(|m| !m.is_empty()),
        })
        .filter(|h| !h.status.is_empty()),
        sync: Some(status.sync.status.clone()).filter(|s| !s.is_empty()),
        info: status.sync.revision.map(|r| r.chars().take(7).collect()),
    }
}

fn owner_uids(obj: &Value) -> Vec<String> {
    let refs = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array);
    refs.into_iter()
        .flatten()
        .filter_map(|r| r.get("uid")?.as_str().map(str::to_string))
        .collect()
}

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// A short state for a node: a Pod's phase (or why its container waits), a workload's ready
/// replicas, a Job's outcome, a Service's type.
fn info(obj: &Value) -> Option<String> {
    let terminating = obj.pointer("/metadata/deletionTimestamp").is_some();
    match str_at(obj, "/kind") {
        _ if terminating => Some("Terminating".into()),
        "Pod" => {
            let statuses = obj
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let waiting = statuses.into_iter().flatten().find_map(|c| {
                let r = c.pointer("/state/waiting/reason")?.as_str()?;
                (!r.is_empty()).then(|| r.to_string())
            });
            waiting.or_else(|| {
                Some(str_at(obj, "/status/phase").to_string()).filter(|p| !p.is_empty())
            })
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" => {
            let want = int_at(obj, "/spec/replicas").unwrap_or(1);
            let ready = int_at(obj, "/status/readyReplicas").unwrap_or(0);
            Some(format!("{ready}/{want} ready"))
        }
        "DaemonSet" => {
            let want = int_at(obj, "/status/desiredNumberScheduled").unwrap_or(0);
            let ready = int_at(obj, "/status/numberReady").unwrap_or(0);
            Some(format!("{ready}/{want} ready"))
        }
        "Job" => {
            let conds = obj.pointer("/status/conditions").and_then(Value::as_array);
            let done = conds.into_iter().flatten().find_map(|c| {
                let t = c.get("type")?.as_str()?;
                (c.get("status")?.as_str()? == "True" && (t == "Complete" || t == "Failed"))
                    .then(|| t.to_string())
            });
            done.or_else(|| {
                let active = int_at(obj, "/status/active").unwrap_or(0);
                Some(format!("{active} running"))
            })
        }
        "Service" => Some(str_at(obj, "/spec/type").to_string()).filter(|t| !t.is_empty()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moor_controller::crd::HealthStatusField;
    use serde_json::json;

    fn app() -> Application {
        serde_json::from_value(json!({
            "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "apps", "uid": "app-uid"},
            "spec": {"source": {"repoURL": "https://example.com/r.git"},
                     "destination": {"namespace": "prod"}},
            "status": {"sync": {"status": "Synced", "revision": "0123456789abcdef"},
                       "health": {"status": "Healthy"}}
        }))
        .unwrap()
    }

    fn managed(group: &str, kind: &str, name: &str) -> ResourceStatus {
        ResourceStatus {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some("prod".into()),
            name: name.into(),
            status: "Synced".into(),
            health: Some(HealthStatusField {
                status: "Healthy".into(),
                message: None,
            }),
        }
    }

    fn obj(api_version: &str, kind: &str, name: &str, uid: &str, owner: Option<&str>) -> Value {
        let mut o = json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": "prod", "uid": uid}});
        if let Some(owner) = owner {
            o["metadata"]["ownerReferences"] = json!([{"uid": owner, "kind": "X", "name": "x"}]);
        }
        o
    }

    #[test]
    fn links_children_by_owner_uid() {
        let resources = vec![
            managed("apps", "Deployment", "web"),
            managed("", "Service", "web"),
        ];
        let mut deploy = obj("apps/v1", "Deployment", "web", "d1", None);
        deploy["spec"] = json!({"replicas": 2});
        deploy["status"] = json!({"readyReplicas": 2});
        let live = HashMap::from([(managed_key(&resources[0]), deploy)]);
        let mut pod = obj("v1", "Pod", "web-abc-1", "p1", Some("rs1"));
        pod["status"] = json!({"phase": "Running"});
        let children = vec![
            pod,
            obj("apps/v1", "ReplicaSet", "web-abc", "rs1", Some("d1")),
            // Not the app's: owned by something else, never shown.
            obj("v1", "Pod", "other", "p9", Some("elsewhere")),
        ];
        let tree = assemble(&app(), &resources, &live, children);
        let rows: Vec<(&str, Option<&str>, &str, Option<&str>)> = tree
            .nodes
            .iter()
            .map(|n| {
                (
                    n.id.as_str(),
                    n.parent.as_deref(),
                    n.kind.as_str(),
                    n.info.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "moor.dev/Application/apps/web",
                    None,
                    "Application",
                    Some("0123456")
                ),
                (
                    "apps/Deployment/prod/web",
                    Some("moor.dev/Application/apps/web"),
                    "Deployment",
                    Some("2/2 ready")
                ),
                (
                    "rs1",
                    Some("apps/Deployment/prod/web"),
                    "ReplicaSet",
                    Some("0/1 ready")
                ),
                ("p1", Some("rs1"), "Pod", Some("Running")),
                (
                    "core/Service/prod/web",
                    Some("moor.dev/Application/apps/web"),
                    "Service",
                    None
                ),
            ]
        );
        // A missing managed object has no uid and no children; children get health by rules.
        assert_eq!(tree.nodes[4].uid, None);
        assert!(tree.nodes[1].managed && !tree.nodes[2].managed);
        assert_eq!(tree.nodes[1].sync.as_deref(), Some("Synced"));
        assert_eq!(tree.nodes[3].sync, None);
        assert!(tree.nodes[3].health.is_some());
    }

    #[test]
    fn only_kinds_with_live_state_or_children_are_read() {
        for kind in ["Deployment", "CronJob", "Pod", "Service", "Rollout"] {
            assert!(read_live(kind), "{kind}");
        }
        for kind in ["ConfigMap", "Secret", "Role", "CustomResourceDefinition"] {
            assert!(!read_live(kind), "{kind}");
        }
    }

    #[test]
    fn owner_cycles_end() {
        let resources = vec![managed("apps", "Deployment", "web")];
        let live = HashMap::from([(
            managed_key(&resources[0]),
            obj("apps/v1", "Deployment", "web", "d1", None),
        )]);
        let mut a = obj("v1", "Pod", "a", "a", Some("d1"));
        a["metadata"]["ownerReferences"] = json!([{"uid": "d1"}, {"uid": "b"}]);
        let b = obj("v1", "Pod", "b", "b", Some("a"));
        let tree = assemble(&app(), &resources, &live, vec![a, b]);
        assert_eq!(tree.nodes.len(), 4, "{:?}", tree.nodes);
    }

    #[test]
    fn pod_info_prefers_the_waiting_reason() {
        let pod = json!({"kind": "Pod", "status": {"phase": "Running", "containerStatuses": [
            {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(info(&pod).as_deref(), Some("CrashLoopBackOff"));
        let job = json!({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(info(&job).as_deref(), Some("Complete"));
    }
}
