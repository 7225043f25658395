//! Every Application, watched once by the server and shared by every request and event stream:
//! a page of 10,000 apps is then a pass over memory, not a LIST against the API server.
//!
//! Only summaries are kept (a few hundred bytes an app, so 10,000 apps stay within the memory
//! budget); the app page GETs the one Application it shows.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use moor_controller::crd::{ARGO_GROUP, Application, MOOR_GROUP, VERSION, api_resource};
use tokio::sync::broadcast;

use super::list::AppSummary;

/// How an app is found, in the list's order: namespace, name, group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct AppKey {
    /// The app's namespace.
    pub namespace: String,
    /// The app's name.
    pub name: String,
    /// moor.dev or argoproj.io.
    pub group: String,
}

/// A change the event streams pass on.
#[derive(Clone, Debug)]
pub(crate) enum Change {
    /// An app was added or changed.
    Applied(Arc<AppSummary>),
    /// An app is gone.
    Deleted(AppKey),
}

/// Events buffered per slow subscriber before it misses some (it is then told to reload).
const CHANNEL: usize = 4096;

/// The summaries of every app watched, and a channel of their changes.
pub(crate) struct Store {
    apps: RwLock<BTreeMap<AppKey, Arc<AppSummary>>>,
    tx: broadcast::Sender<Change>,
}

impl Store {
    /// An empty store (filled by [`Store::watch`]).
    pub(crate) fn new() -> Arc<Self> {
        let (tx, _) = broadcast::channel(CHANNEL);
        Arc::new(Store {
            apps: RwLock::new(BTreeMap::new()),
            tx,
        })
    }

    /// Every summary, sorted by namespace, name, group. Arcs, so the lock is held only to copy
    /// pointers, never while a response is written.
    pub(crate) fn snapshot(&self) -> Vec<Arc<AppSummary>> {
        self.read().values().cloned().collect()
    }

    /// A receiver of every later change.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<AppKey, Arc<AppSummary>>> {
        // A panic while holding the lock left whole entries behind, never half ones.
        self.apps.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<AppKey, Arc<AppSummary>>> {
        self.apps.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `app` (group `group`) and tells the subscribers, unless nothing it shows changed.
    pub(crate) fn apply(&self, group: &str, app: &Application) {
        let summary = AppSummary::of(group, app);
        let key = AppKey {
            namespace: summary.namespace.clone(),
            name: summary.name.clone(),
            group: group.to_string(),
        };
        let summary = Arc::new(summary);
        let old = self.write().insert(key, summary.clone());
        // The status is rewritten at every reconcile; clients need only what they show.
        let same = old.is_some_and(|o| {
            AppSummary {
                resource_version: summary.resource_version.clone(),
                ..(*o).clone()
            } == *summary
        });
        if !same {
            // No receivers is no error: nobody is watching.
            let _ = self.tx.send(Change::Applied(summary));
        }
    }

    /// Removes an app and tells the subscribers.
    pub(crate) fn delete(&self, key: &AppKey) {
        if self.write().remove(key).is_some() {
            let _ = self.tx.send(Change::Deleted(key.clone()));
        }
    }

    /// After a (re)list of `group`: removes that group's apps the list no longer holds.
    fn retain_listed(&self, group: &str, listed: &std::collections::HashSet<AppKey>) {
        let gone: Vec<AppKey> = self
            .read()
            .keys()
            .filter(|k| k.group == group && !listed.contains(k))
            .cloned()
            .collect();
        for k in gone {
            self.delete(&k);
        }
    }

    /// Watches Applications of moor.dev, and of argoproj.io once its CRD is served (checked
    /// every minute until it is), in `namespace` or everywhere, for as long as the process runs.
    pub(crate) fn watch(self: &Arc<Self>, client: Client, namespace: Option<String>) {
        let store = self.clone();
        let (c, ns) = (client.clone(), namespace.clone());
        tokio::spawn(async move { store.watch_group(c, ns, MOOR_GROUP).await });
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                match served(&client, ARGO_GROUP).await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(
                        "ui: could not ask whether applications.{ARGO_GROUP} is served: {}",
                        moor_types::error_chain(&e)
                    ),
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            store.watch_group(client, namespace, ARGO_GROUP).await
        });
    }

    async fn watch_group(&self, client: Client, namespace: Option<String>, group: &str) {
        let ar = api_resource(group);
        let api: Api<Application> = match &namespace {
            Some(ns) => Api::namespaced_with(client, ns, &ar),
            None => Api::all_with(client, &ar),
        };
        let mut listed = std::collections::HashSet::new();
        let mut events = watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(ev) = events.next().await {
            match ev {
                Ok(Event::Init) => listed.clear(),
                Ok(Event::InitApply(app)) => {
                    listed.insert(key(group, &app));
                    self.apply(group, &app);
                }
                Ok(Event::InitDone) => self.retain_listed(group, &std::mem::take(&mut listed)),
                Ok(Event::Apply(app)) => self.apply(group, &app),
                Ok(Event::Delete(app)) => self.delete(&key(group, &app)),
                // The backoff retries; the list shows what was last seen meanwhile.
                Err(e) => tracing::warn!(
                    "ui: watch of applications.{group} in {} failed (retrying): {}{}",
                    namespace.as_deref().unwrap_or("all namespaces"),
                    moor_types::error_chain(&e),
                    if namespace.is_none() && e.to_string().contains("forbidden") {
                        "; a user who may list Applications only in some namespaces runs \
                         `moor ui --namespace NS`"
                    } else {
                        ""
                    }
                ),
            }
        }
    }
}

fn key(group: &str, app: &Application) -> AppKey {
    AppKey {
        namespace: app.namespace().unwrap_or_default(),
        name: app.name_any(),
        group: group.to_string(),
    }
}

/// Whether the API server serves Applications in `group`.
async fn served(client: &Client, group: &str) -> Result<bool, kube::Error> {
    match client
        .list_api_group_resources(&format!("{group}/{VERSION}"))
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == "applications")),
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(name: &str, rv: &str, sync: &str) -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv},
            "spec": {"source": {"repoURL": "r"}, "destination": {}},
            "status": {"sync": {"status": sync}}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn changes_reach_subscribers_once() {
        let store = Store::new();
        let mut rx = store.subscribe();
        store.apply(MOOR_GROUP, &app("b", "1", "Synced"));
        store.apply(ARGO_GROUP, &app("a", "2", "Synced"));
        // A new resourceVersion with nothing shown changed is no event.
        store.apply(MOOR_GROUP, &app("b", "3", "Synced"));
        store.apply(MOOR_GROUP, &app("b", "4", "OutOfSync"));
        let names: Vec<String> = store.snapshot().iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, ["a", "b"]);
        let mut seen = vec![];
        while let Ok(Change::Applied(s)) = rx.try_recv() {
            seen.push(format!("{}:{}", s.name, s.sync));
        }
        assert_eq!(seen, ["b:Synced", "a:Synced", "b:OutOfSync"]);
        let listed = [key(ARGO_GROUP, &app("a", "", ""))].into_iter().collect();
        store.retain_listed(MOOR_GROUP, &listed);
        assert!(matches!(rx.try_recv(), Ok(Change::Deleted(k)) if k.name == "b"));
        assert_eq!(store.snapshot().len(), 1);
    }
}
