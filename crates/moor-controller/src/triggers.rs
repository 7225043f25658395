//! The queue of explicit reconcile triggers (drift, webhook pushes, project changes, shard
//! hand-overs), de-duplicated per app.
//!
//! kube-runtime reads its trigger stream only while a worker is free, so a plain channel
//! grows without bound when triggers come faster than reconciles end: under a webhook storm
//! for 50 failing apps (thousands of triggers a second) a healthy app's drift trigger would
//! wait behind every one of them. Here an app that is already waiting is not queued again, so
//! the queue never holds more entries than there are apps, and each app is served in the
//! order it first asked (fair: a noisy app cannot take more than one place in line).
//!
//! A trigger of an app whose reconcile is running waits here until that reconcile ends: given
//! to kube-runtime, it would be held as "pending", and kube-runtime serves pending messages
//! before anything in its timer queue, so apps re-triggered while they run (failing apps under
//! a webhook storm) would starve every other app's trigger.

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures::Stream;
use tokio::sync::Notify;

struct Items<T> {
    /// Waiting, in first-asked order.
    order: VecDeque<T>,
    /// The same, to refuse a second place in line.
    waiting: HashSet<T>,
    /// Apps whose reconcile runs: their triggers wait.
    running: HashSet<T>,
}

struct Queue<T> {
    items: Mutex<Items<T>>,
    ready: Notify,
}

/// The sending side; cheap to clone.
pub struct Sender<T>(Arc<Queue<T>>);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T: Eq + Hash + Clone> Sender<T> {
    /// Queues `item` unless it is already waiting. Never fails (the `Result` keeps the shape
    /// of a channel's `send`, whose callers ignore a closed receiver).
    pub fn send(&self, item: T) -> Result<(), ()> {
        let mut q = self.0.items.lock().expect("trigger queue lock");
        if q.waiting.insert(item.clone()) {
            q.order.push_back(item);
            drop(q);
            self.0.ready.notify_one();
        }
        Ok(())
    }

    /// Marks `item`'s reconcile as running until the returned guard is dropped; its triggers
    /// wait meanwhile.
    pub fn running(&self, item: T) -> Running<T> {
        let mut q = self.0.items.lock().expect("trigger queue lock");
        q.running.insert(item.clone());
        Running {
            queue: self.0.clone(),
            item,
        }
    }

    /// Entries waiting (each app at most once).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.items.lock().expect("trigger queue lock").order.len()
    }
}

/// A running reconcile (see [`Sender::running`]).
pub struct Running<T: Eq + Hash> {
    queue: Arc<Queue<T>>,
    item: T,
}

impl<T: Eq + Hash> Drop for Running<T> {
    fn drop(&mut self) {
        let mut q = self.queue.items.lock().expect("trigger queue lock");
        q.running.remove(&self.item);
        let waits = q.waiting.contains(&self.item);
        drop(q);
        if waits {
            self.queue.ready.notify_one();
        }
    }
}

/// A de-duplicating queue: its sender, and the stream of its items in first-asked order.
pub fn queue<T: Eq + Hash + Clone + Send + 'static>() -> (Sender<T>, impl Stream<Item = T> + Send) {
    let q = Arc::new(Queue {
        items: Mutex::new(Items {
            order: VecDeque::new(),
            waiting: HashSet::new(),
            running: HashSet::new(),
        }),
        ready: Notify::new(),
    });
    let stream = futures::stream::unfold(q.clone(), |q| async move {
        loop {
            {
                let mut items = q.items.lock().expect("trigger queue lock");
                let Items {
                    order,
                    waiting,
                    running,
                } = &mut *items;
                // The first in line whose app is not running; at most one place per app, so
                // the scan is bounded by the number of apps.
                if let Some(at) = order.iter().position(|i| !running.contains(i)) {
                    let item = order.remove(at).expect("position is in range");
                    // Taken out of line: a later trigger of the same app queues it again.
                    waiting.remove(&item);
                    tracing::trace!(waiting = order.len(), "trigger handed to the runtime");
                    return Some((item, q.clone()));
                }
            }
            q.ready.notified().await;
        }
    });
    (Sender(q), stream)
}

/// What of an Application triggers its reconcile when it changes: everything but its status
/// (the controller's own output) and bookkeeping (resourceVersion, managedFields). The spec and
/// `operation` move `metadata.generation` (a custom resource's generation counts every change
/// outside metadata and status); annotations (a refresh), labels (a shard pin) and deletion
/// are metadata, so they count here too. Not the finalizers: the controller adds its own in the
/// first reconcile, which would trigger a second one, and every reconcile puts it back.
pub fn app_changed(app: &crate::crd::Application) -> Option<u64> {
    let m = &app.metadata;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    m.uid.hash(&mut h);
    m.generation.hash(&mut h);
    m.deletion_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .hash(&mut h);
    m.labels.hash(&mut h);
    m.annotations.hash(&mut h);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn a_status_write_is_no_trigger_but_spec_operation_and_metadata_are() {
        let app = |generation: i64, annotation: &str, phase: &str| -> crate::crd::Application {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": "web", "namespace": "apps", "uid": "u1",
                             "generation": generation, "resourceVersion": phase,
                             "annotations": {"moor.dev/refresh": annotation}},
                "spec": {"source": {"repoURL": "file:///r", "path": "."}, "destination": {}},
                "status": {"operationState": {"phase": phase}}
            }))
            .unwrap()
        };
        let base = app_changed(&app(1, "", "Running"));
        assert_eq!(base, app_changed(&app(1, "", "Succeeded")), "status only");
        assert_ne!(
            base,
            app_changed(&app(2, "", "Running")),
            "spec or operation"
        );
        assert_ne!(base, app_changed(&app(1, "normal", "Running")), "refresh");
    }

    #[tokio::test]
    async fn an_app_waits_once_and_apps_are_served_in_first_asked_order() {
        let (tx, rx) = queue::<&str>();
        for _ in 0..1000 {
            for app in ["noisy-1", "noisy-2"] {
                tx.send(app).unwrap();
            }
        }
        tx.send("healthy").unwrap();
        assert_eq!(tx.len(), 3, "each app waits once");
        let got: Vec<&str> = rx.take(3).collect().await;
        assert_eq!(got, ["noisy-1", "noisy-2", "healthy"]);
    }

    #[tokio::test]
    async fn a_running_apps_trigger_waits_for_its_end_and_does_not_block_others() {
        let (tx, rx) = queue::<&str>();
        let mut rx = Box::pin(rx);
        let busy = tx.running("busy");
        tx.send("busy").unwrap();
        tx.send("other").unwrap();
        assert_eq!(rx.next().await, Some("other"));
        let waiter = tokio::spawn(async move { rx.next().await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "served while running");
        drop(busy);
        assert_eq!(waiter.await.unwrap(), Some("busy"));
    }

    #[tokio::test]
    async fn a_served_app_can_be_queued_again_and_a_waiting_stream_wakes() {
        let (tx, rx) = queue::<u32>();
        let mut rx = Box::pin(rx);
        tx.send(1).unwrap();
        assert_eq!(rx.next().await, Some(1));
        let waiter = tokio::spawn(async move { rx.next().await });
        tokio::task::yield_now().await;
        tx.send(1).unwrap();
        assert_eq!(waiter.await.unwrap(), Some(1));
    }
}
