//! Reads the live objects, checks ownership and dry-runs every desired object before the first
//! write, deciding which objects drifted (only those are written).

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt, stream};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use moor_types::{
    ANNOTATION_APPLIED_HASH, ANNOTATION_TRACKING, FIELD_MANAGER, ObjKey, tracking_app,
};
use serde_json::Value;

use crate::error::{ObjectError, SyncError, about, api_reason, is_not_found};
use crate::prepare::Desired;
use crate::probe::{self, Probe};
use crate::replace;
use crate::request;

/// Objects of one type in one namespace above this count are read with one LIST instead of GETs.
const LIST_THRESHOLD: usize = 4;

#[derive(Clone, Debug)]
pub struct Planned {
    pub d: Desired,
    pub live: Option<Value>,
    /// Whether the server-side dry-run passed; false while deferred (its namespace or CRD is
    /// created by this same sync, so the server cannot dry-run it yet).
    pub checked: bool,
    /// The dry-run result. Kept for every object that exists (drift is decided on it) and, when
    /// asked (to diff), for new objects too.
    pub dry: Option<Value>,
    pub drifted: bool,
    /// Its dry-run refused a changed immutable field and `Replace=true`/`Force=true` applies:
    /// a sync deletes it and creates it again (`crate::replace`).
    pub replace: bool,
}

impl Planned {
    /// The object exists but does not carry this app's tracking id: applying it adopts it
    /// (ownership conflicts with other apps were refused before).
    pub fn adopts(&self) -> bool {
        self.live.as_ref().is_some_and(|l| {
            annotation(l, ANNOTATION_TRACKING) != annotation(&self.d.m.obj, ANNOTATION_TRACKING)
        })
    }
}

pub(crate) fn api_for(client: &Client, d: &Desired) -> Api<DynamicObject> {
    match d.api_namespace() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &d.res.ar),
        None => Api::all_with(client.clone(), &d.res.ar),
    }
}

pub(crate) fn to_value(obj: DynamicObject, d: &Desired) -> Value {
    let mut v = serde_json::to_value(obj).expect("a DynamicObject serializes");
    // LIST items come without apiVersion/kind; put them back so objects compare like for like.
    if let Some(map) = v.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            Value::String(d.res.ar.api_version.clone()),
        );
        map.insert("kind".into(), Value::String(d.res.ar.kind.clone()));
    }
    v
}

/// Plans the sync of `desired` for `app`; every failing object is reported at once.
/// `new_bodies`: keep the dry-run result of objects that do not exist yet. `adopt`: objects
/// that exist without any app's tracking id may be taken into the app.
pub async fn plan(
    client: &Client,
    desired: Vec<Desired>,
    app: &str,
    concurrency: usize,
    new_bodies: bool,
    adopt: bool,
    known: &HashSet<ObjKey>,
) -> Result<Vec<Planned>, SyncError> {
    let mut probes = probe::new_objects(client, &desired, known, new_bodies, concurrency).await?;
    let read: Vec<&Desired> = (desired.iter())
        .filter(|d| !probes.contains_key(&d.key))
        .collect();
    let mut live = fetch_live(client, &read, concurrency).await?;
    for (key, p) in &mut probes {
        if let Probe::Exists(l) = p {
            live.insert(key.clone(), std::mem::take(l));
        }
    }
    let mut errors = ownership_conflicts(&desired, &live, app, adopt);
    if !errors.is_empty() {
        return Err(SyncError::Invalid(errors));
    }
    let created_namespaces: HashSet<String> = desired
        .iter()
        .filter(|d| d.key.kind == "Namespace" && d.key.group.is_empty())
        .map(|d| d.key.name.clone())
        .collect();
    let items: Vec<_> = desired
        .into_iter()
        .map(|d| {
            let l = live.remove(&d.key);
            let dry = match probes.remove(&d.key) {
                Some(Probe::New(dry)) => Some(dry),
                _ => None,
            };
            (d, l, dry)
        })
        .collect();
    let results: Vec<Result<Planned, ObjectError>> = stream::iter(items)
        .map(|(d, live, dry)| plan_one(client, d, live, &created_namespaces, new_bodies, dry))
        .buffered(concurrency)
        .collect()
        .await;
    let mut planned = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(p) => planned.push(p),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(planned)
    } else {
        Err(SyncError::Invalid(errors))
    }
}

async fn plan_one(
    client: &Client,
    mut d: Desired,
    live: Option<Value>,
    created_namespaces: &HashSet<String>,
    new_bodies: bool,
    probed: Option<Result<Option<Value>, kube::Error>>,
) -> Result<Planned, ObjectError> {
    if let Some(l) = &live {
        d.ignore.learn_owned(l);
    }
    if let Some(l) = &live
        && unchanged_since_last_apply(&d, l)
    {
        return Ok(Planned {
            dry: Some(l.clone()),
            live,
            d,
            checked: true,
            drifted: false,
            replace: false,
        });
    }
    if d.res.from_pending_crd {
        return Ok(Planned {
            d,
            live,
            checked: false,
            dry: None,
            drifted: true,
            replace: false,
        });
    }
    let dry = match probed {
        Some(dry) => dry,
        None => dry_run(client, &d, live.is_some(), new_bodies).await,
    };
    match dry {
        Ok(dry) => {
            let drifted = dry
                .as_ref()
                .is_none_or(|dry| drifted_ignoring(&d, dry, live.as_ref()));
            Ok(Planned {
                d,
                live,
                checked: true,
                dry,
                drifted,
                replace: false,
            })
        }
        Err(e)
            if is_not_found(&e)
                && d.key
                    .namespace
                    .as_ref()
                    .is_some_and(|ns| created_namespaces.contains(ns)) =>
        {
            Ok(Planned {
                d,
                live,
                checked: false,
                dry: None,
                drifted: true,
                replace: false,
            })
        }
        Err(e) => match replace::immutable_fields(&e) {
            // Checked: the update was refused for immutable fields only, the rest of it passed.
            Some(_) if d.replace.is_some() && live.is_some() => Ok(Planned {
                d,
                live,
                checked: true,
                dry: None,
                drifted: true,
                replace: true,
            }),
            Some(fields) => Err(ObjectError {
                key: d.key.clone(),
                origin: d.m.origin.clone(),
                reason: replace::refusal(&fields),
            }),
            None => Err(ObjectError {
                key: d.key.clone(),
                origin: d.m.origin.clone(),
                reason: format!("server-side dry-run failed: {}", api_reason(&e)),
            }),
        },
    }
}

/// Server-side dry-run of the apply of `d`; the result is None only for a new object whose
/// body was not asked for (`new_body`). An object that does not exist yet is dry-run as a
/// create: the API server validates and defaults it just the same, without the apply merge.
pub(crate) async fn dry_run(
    client: &Client,
    d: &Desired,
    exists: bool,
    new_body: bool,
) -> Result<Option<Value>, kube::Error> {
    // Validate=false: the apply's own dry-run, which refuses exactly what the write will.
    if !exists && d.validate {
        match dry_run_create(client, d, new_body).await {
            // Created meanwhile by someone else: dry-run the apply instead.
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            other => return other,
        }
    }
    let pp = apply_params(d).dry_run();
    let obj = api_for(client, d)
        .patch(&d.key.name, &pp, &Patch::Apply(&d.m.obj))
        .await?;
    Ok(Some(to_value(obj, d)))
}

/// Server-side dry-run of the create of `d`; its body only with `new_body`.
pub(crate) async fn dry_run_create(
    client: &Client,
    d: &Desired,
    new_body: bool,
) -> Result<Option<Value>, kube::Error> {
    let req = request::dry_run_create(d)?;
    if new_body {
        client
            .request::<DynamicObject>(req)
            .await
            .map(|o| Some(to_value(o, d)))
    } else {
        request::send_unread(client, req).await.map(|()| None)
    }
}

/// The server-side apply of `d`: forced (moor owns what it applies), and with
/// `fieldValidation=Ignore` when `Validate=false` holds for it.
pub(crate) fn apply_params(d: &Desired) -> PatchParams {
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    if d.validate {
        pp
    } else {
        pp.validation_ignore()
    }
}

/// Another app's object is never taken over: that is a conflict, reported before any write.
/// With `adopt` false, neither is an object that exists without any app's tracking id.
fn ownership_conflicts(
    desired: &[Desired],
    live: &HashMap<ObjKey, Value>,
    app: &str,
    adopt: bool,
) -> Vec<ObjectError> {
    desired
        .iter()
        .filter_map(|d| {
            let l = live.get(&d.key)?;
            let Some(owner) = annotation(l, ANNOTATION_TRACKING).and_then(tracking_app) else {
                return (!adopt).then(|| ObjectError {
                    key: d.key.clone(),
                    origin: d.m.origin.clone(),
                    reason: "exists and is not managed by moor; adopting existing objects is \
                             turned off (--no-adopt)"
                        .into(),
                });
            };
            (owner != app).then(|| ObjectError {
                key: d.key.clone(),
                origin: d.m.origin.clone(),
                reason: format!("already managed by app {owner:?}; moor does not take over another app's objects"),
            })
        })
        .collect()
}

pub(crate) fn annotation<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(name)?.as_str()
}

/// The fast path of a resync: the live object carries the hash of exactly this desired manifest
/// and still holds every value it sets, so a dry-run would find nothing to do.
fn unchanged_since_last_apply(d: &Desired, live: &Value) -> bool {
    annotation(live, ANNOTATION_APPLIED_HASH) == Some(d.applied_hash())
        && covers(live, &d.ignore.strip(&d.m.obj), true)
}

/// [`drifted`], leaving out the fields `d` ignores.
pub(crate) fn drifted_ignoring(d: &Desired, dry: &Value, live: Option<&Value>) -> bool {
    let live = live.map(|l| d.ignore.strip(l));
    drifted(&d.ignore.strip(dry), live.as_deref())
}

/// Whether `live` holds every value of `desired` (maps may have more keys; lists must match in length).
fn covers(live: &Value, desired: &Value, top: bool) -> bool {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => d.iter().all(|(k, dv)| {
            if top && k == "status" {
                return true;
            }
            match l.get(k) {
                Some(lv) => covers(lv, dv, false),
                None => dv.is_null(),
            }
        }),
        (Value::Array(l), Value::Array(d)) => {
            l.len() == d.len() && l.iter().zip(d).all(|(l, d)| covers(l, d, false))
        }
        (l, d) => l == d,
    }
}

/// Flux's rule: new object, or labels/annotations differ, or anything but metadata/status differs.
pub fn drifted(dry: &Value, live: Option<&Value>) -> bool {
    let Some(live) = live else { return true };
    if dry.pointer("/metadata/resourceVersion").is_none() {
        return true;
    }
    for field in ["labels", "annotations"] {
        if dry.get("metadata").and_then(|m| m.get(field))
            != live.get("metadata").and_then(|m| m.get(field))
        {
            return true;
        }
    }
    strip_meta(dry) != strip_meta(live)
}

fn strip_meta(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

/// Live objects of `desired`, read with one LIST per type and namespace when there are many.
async fn fetch_live(
    client: &Client,
    desired: &[&Desired],
    concurrency: usize,
) -> Result<HashMap<ObjKey, Value>, SyncError> {
    let mut groups: HashMap<(String, String, Option<String>), Vec<&Desired>> = HashMap::new();
    for d in desired.iter().copied().filter(|d| !d.res.from_pending_crd) {
        let k = (
            d.res.ar.api_version.clone(),
            d.res.ar.plural.clone(),
            d.key.namespace.clone(),
        );
        groups.entry(k).or_default().push(d);
    }
    let mut live = HashMap::new();
    let (listed, single): (Vec<_>, Vec<_>) =
        groups.into_values().partition(|g| g.len() > LIST_THRESHOLD);
    for group in listed {
        let want: HashMap<&str, &Desired> =
            group.iter().map(|d| (d.key.name.as_str(), *d)).collect();
        let api = api_for(client, group[0]);
        let list = match api.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(e) if is_not_found(&e) => continue, // namespace created by this sync
            Err(source) => {
                return Err(SyncError::List {
                    first: group[0].key.clone(),
                    more: group.len() - 1,
                    source,
                });
            }
        };
        for obj in list.items {
            let name = obj.metadata.name.clone().unwrap_or_default();
            if let Some(d) = want.get(name.as_str()) {
                live.insert(d.key.clone(), to_value(obj, d));
            }
        }
    }
    let singles: Vec<Desired> = single.into_iter().flatten().cloned().collect();
    let fetched: Vec<(ObjKey, Option<Value>)> = stream::iter(singles)
        .map(|d| {
            let client = client.clone();
            async move {
                match api_for(&client, &d).get_opt(&d.key.name).await {
                    Ok(o) => Ok((d.key.clone(), o.map(|o| to_value(o, &d)))),
                    Err(e) if is_not_found(&e) => Ok((d.key.clone(), None)),
                    Err(e) => Err(about("read", &d.key)(e)),
                }
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    live.extend(fetched.into_iter().filter_map(|(k, v)| Some((k, v?))));
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn covers_allows_server_defaults_but_not_changed_values() {
        let desired = json!({"spec": {"replicas": 2, "template": {"containers": [{"name": "a", "image": "x:1"}]}}});
        let live = json!({"spec": {"replicas": 2, "strategy": {}, "template": {"containers": [{"name": "a", "image": "x:1", "imagePullPolicy": "IfNotPresent"}]}}, "status": {}});
        assert!(covers(&live, &desired, true));
        let scaled = json!({"spec": {"replicas": 5, "template": {"containers": [{"name": "a", "image": "x:1"}]}}});
        assert!(!covers(&scaled, &desired, true));
        let extra = json!({"spec": {"replicas": 2, "template": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b"}]}}});
        assert!(!covers(&extra, &desired, true));
    }

    #[test]
    fn drift_follows_flux_rules() {
        let live = json!({"metadata": {"resourceVersion": "5", "labels": {"a": "1"}}, "spec": {"x": 1}, "status": {"y": 1}});
        let same = json!({"metadata": {"resourceVersion": "5", "labels": {"a": "1"}, "managedFields": []}, "spec": {"x": 1}});
        assert!(!drifted(&same, Some(&live)));
        let relabeled =
            json!({"metadata": {"resourceVersion": "5", "labels": {"a": "2"}}, "spec": {"x": 1}});
        assert!(drifted(&relabeled, Some(&live)));
        let changed =
            json!({"metadata": {"resourceVersion": "5", "labels": {"a": "1"}}, "spec": {"x": 2}});
        assert!(drifted(&changed, Some(&live)));
        let new = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}});
        assert!(drifted(&new, None));
    }
}
