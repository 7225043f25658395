//! Drift detection: one shared watch per (cluster, resource type) across all apps, not one per
//! app. Events on objects moor manages are mapped back to the owning Application through the
//! tracking annotation and trigger its reconcile at once.

use std::collections::HashSet;
use std::sync::Mutex;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use moor_types::{ANNOTATION_TRACKING, LABEL_APP, tracking_app};
use tokio::sync::mpsc::UnboundedSender;

use crate::clusters::Cluster;

/// An Application by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppKey {
    pub namespace: String,
    pub name: String,
}

impl AppKey {
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

pub struct Watches {
    started: Mutex<HashSet<(String, String)>>,
    tx: UnboundedSender<AppKey>,
}

impl Watches {
    pub fn new(tx: UnboundedSender<AppKey>) -> Watches {
        Watches {
            started: Mutex::new(HashSet::new()),
            tx,
        }
    }

    /// Starts the shared watch of `ar` on `cluster` unless it runs already.
    pub fn ensure(&self, cluster: &Cluster, ar: &ApiResource) {
        let key = (
            cluster.name.clone(),
            format!("{}/{}", ar.api_version, ar.plural),
        );
        if !self.started.lock().expect("watches lock").insert(key) {
            return;
        }
        let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), ar);
        let tx = self.tx.clone();
        let what = format!("{} on {}", ar.plural, cluster.name);
        tokio::spawn(async move {
            // Only objects moor labelled; the initial listing is skipped (the poll covers it).
            let config = watcher::Config::default().labels(LABEL_APP);
            let mut events = watcher::watcher(api, config).default_backoff().boxed();
            tracing::debug!("watching {what}");
            while let Some(ev) = events.next().await {
                match ev {
                    Ok(Event::Apply(obj)) | Ok(Event::Delete(obj)) => {
                        if let Some(app) = owner(&obj) {
                            tracing::debug!(app = %app.name, namespace = %app.namespace, object = %obj.metadata.name.as_deref().unwrap_or_default(), "owned object changed");
                            let _ = tx.send(app);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!("watch of {what}: {e}"),
                }
            }
        });
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
