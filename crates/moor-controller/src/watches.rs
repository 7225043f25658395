//! Drift detection: one shared watch per (cluster, resource type) across all apps, not one per
//! app. Events on objects moor manages are mapped back to the owning Application through the
//! tracking annotation and trigger its reconcile at once. An event of the controller's own
//! apply (the resourceVersion the apply returned) is no drift and triggers nothing: that
//! reconcile already knows what it wrote (`Comparison::after`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use moor_apply::WrittenHook;
use moor_types::{ANNOTATION_TRACKING, LABEL_APP, ObjKey, tracking_app};
use tokio::sync::mpsc::UnboundedSender;

use crate::clusters::Cluster;

/// An Application by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppKey {
    pub namespace: String,
    pub name: String,
}

impl AppKey {
    /// The key of an Application.
    pub fn of(app: &crate::crd::Application) -> AppKey {
        AppKey {
            namespace: app.metadata.namespace.clone().unwrap_or_default(),
            name: app.metadata.name.clone().unwrap_or_default(),
        }
    }

    /// Parses an app id (`namespace_name`, or `argo_namespace_name` for argoproj.io, see
    /// `Application::app_id`). Names hold no `_`, so a second `_` marks the argoproj.io form.
    pub fn from_app_id(id: &str) -> Option<AppKey> {
        let id = id
            .strip_prefix("argo_")
            .filter(|rest| rest.contains('_'))
            .unwrap_or(id);
        let (ns, name) = id.split_once('_')?;
        (!ns.is_empty() && !name.is_empty()).then(|| AppKey {
            namespace: ns.into(),
            name: name.into(),
        })
    }
}

/// The resourceVersion of each object as the controller's last apply wrote it, by cluster
/// name and object; an entry goes at the first event of its object.
type OwnWrites = Arc<Mutex<HashMap<(String, ObjKey), String>>>;

pub struct Watches {
    started: Mutex<HashSet<(String, String)>>,
    tx: UnboundedSender<AppKey>,
    own: OwnWrites,
    /// What the watches saw, for polls that may skip comparing (`unchanged.rs`).
    pub unchanged: Arc<crate::unchanged::Unchanged>,
}

impl Watches {
    pub fn new(tx: UnboundedSender<AppKey>) -> Watches {
        Watches {
            started: Mutex::new(HashSet::new()),
            tx,
            own: Default::default(),
            unchanged: Default::default(),
        }
    }

    /// For a sync on `cluster`: records each object as its apply wrote it, so that the
    /// watch event of that very write triggers no second reconcile.
    pub fn written_hook(&self, cluster: &Cluster) -> WrittenHook {
        let (own, name) = (self.own.clone(), cluster.name.clone());
        WrittenHook(Arc::new(move |key, obj| {
            if let Some(rv) = obj
                .pointer("/metadata/resourceVersion")
                .and_then(|v| v.as_str())
            {
                let mut own = own.lock().expect("own writes lock");
                own.insert((name.clone(), key.clone()), rv.to_string());
            }
        }))
    }

    /// Starts the shared watch of `ar` on `cluster` unless it runs already; returns its key
    /// (cluster, `apiVersion/plural`).
    pub fn ensure(&self, cluster: &Cluster, ar: &ApiResource) -> (String, String) {
        let key = (
            cluster.name.clone(),
            format!("{}/{}", ar.api_version, ar.plural),
        );
        if !self
            .started
            .lock()
            .expect("watches lock")
            .insert(key.clone())
        {
            return key;
        }
        let (unchanged, watch_key) = (self.unchanged.clone(), key.clone());
        let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), ar);
        let (tx, own) = (self.tx.clone(), self.own.clone());
        let (cluster_name, group, kind) = (cluster.name.clone(), ar.group.clone(), ar.kind.clone());
        let what = format!("{} on {}", ar.plural, cluster.name);
        tokio::spawn(async move {
            // Only objects moor labelled; the initial listing triggers nothing (the poll covers it).
            let config = watcher::Config::default().labels(LABEL_APP);
            let mut events = watcher::watcher(api, config).default_backoff().boxed();
            tracing::debug!("watching {what}");
            while let Some(ev) = events.next().await {
                match ev {
                    Ok(Event::Apply(obj)) | Ok(Event::Delete(obj)) => {
                        let key = (cluster_name.clone(), key_of(&group, &kind, &obj));
                        let written = own.lock().expect("own writes lock").remove(&key);
                        if written.is_some() && written == obj.metadata.resource_version {
                            continue;
                        }
                        if let Some(app) = owner(&obj) {
                            unchanged.changed(&app);
                            tracing::debug!(app = %app.name, namespace = %app.namespace, object = %obj.metadata.name.as_deref().unwrap_or_default(), "owned object changed");
                            let _ = tx.send(app);
                        }
                    }
                    // A (re)list: until it is done, events may have been missed.
                    Ok(Event::Init) => unchanged.watch(&watch_key, false),
                    Ok(Event::InitDone) => unchanged.watch(&watch_key, true),
                    Ok(Event::InitApply(_)) => {}
                    Err(e) => {
                        unchanged.watch(&watch_key, false);
                        tracing::debug!("watch of {what}: {e}");
                    }
                }
            }
        });
        key
    }
}

fn key_of(group: &str, kind: &str, obj: &DynamicObject) -> ObjKey {
    ObjKey {
        group: group.to_string(),
        kind: kind.to_string(),
        namespace: obj.metadata.namespace.clone(),
        name: obj.metadata.name.clone().unwrap_or_default(),
    }
}

fn owner(obj: &DynamicObject) -> Option<AppKey> {
    let id = obj
        .metadata
        .annotations
        .as_ref()?
        .get(ANNOTATION_TRACKING)?;
    AppKey::from_app_id(tracking_app(id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_map_back_to_applications() {
        assert_eq!(
            AppKey::from_app_id("argocd_myapp"),
            Some(AppKey {
                namespace: "argocd".into(),
                name: "myapp".into()
            })
        );
        let key = |ns: &str, name: &str| {
            Some(AppKey {
                namespace: ns.into(),
                name: name.into(),
            })
        };
        assert_eq!(AppKey::from_app_id("argo_team_web"), key("team", "web"));
        // A moor.dev app in a namespace called argo.
        assert_eq!(AppKey::from_app_id("argo_web"), key("argo", "web"));
        assert_eq!(AppKey::from_app_id("cliapp"), None);
    }
}
