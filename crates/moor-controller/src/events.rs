//! Kubernetes Events on Applications (`events.k8s.io/v1`), written as client-go's recorder
//! does: an Event repeated within [`SERIES_WINDOW`] (same object, type, reason, action and
//! note) is counted on the first one (`series.count`, `series.lastObservedTime`) instead of
//! creating another.
//!
//! Written here, not with kube-runtime's `Recorder`, for two measured reasons: the Recorder
//! keeps every Event it wrote, whole, for six minutes in a map that only grows (13.4 MiB of the
//! controller's 66 MiB heap at 2000 apps, ~6.7 KiB an Event; 30,000 Events in a 10,000-app
//! initial sync) and sweeps all of it on every publish; and it keys a repeat without the note,
//! so a second sync's "applied at revision B" within six minutes was shown as a repeat of
//! "applied at revision A". This keeps a small record per repeatable Event (its key's hash,
//! where it is and how often it was seen), at most [`MAX_ENTRIES`] of them (client-go's bound),
//! the oldest going first.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
pub use kube::runtime::events::{Event, EventType, Reporter};

/// How long a repeat is counted on the first Event rather than written as a new one
/// (kube-runtime's and client-go's six minutes).
pub const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);

/// How many Events are remembered for counting repeats (client-go's LRU size).
pub const MAX_ENTRIES: usize = 4096;

/// An Event already written: where it is, how often it was seen.
struct Written {
    namespace: String,
    name: String,
    count: i32,
    first: Instant,
}

/// The remembered Events by key hash, and (key, first seen) in the order written: the
/// front is the oldest, so expired and evicted entries go from there.
#[derive(Default)]
struct Seen {
    by_key: HashMap<u64, Written>,
    order: VecDeque<(u64, Instant)>,
}

impl Seen {
    /// The Event of `key` if it was written within the window.
    fn repeat(&mut self, key: u64, now: Instant) -> Option<&mut Written> {
        self.by_key
            .get_mut(&key)
            .filter(|w| now.duration_since(w.first) < SERIES_WINDOW)
    }

    /// Remembers a new Event, forgetting those past the window and the oldest past the bound.
    fn insert(&mut self, key: u64, written: Written) {
        let now = written.first;
        while let Some(&(old, first)) = self.order.front() {
            let expired = now.duration_since(first) >= SERIES_WINDOW;
            if !expired && self.by_key.len() < MAX_ENTRIES {
                break;
            }
            self.order.pop_front();
            // Only if it is still this entry (not one written again for the same key since).
            if self.by_key.get(&old).is_some_and(|w| w.first == first) {
                self.by_key.remove(&old);
            }
        }
        self.order.push_back((key, now));
        self.by_key.insert(key, written);
    }
}

/// Writes Events for one controller (`reportingController`, `reportingInstance`).
pub struct Recorder {
    client: Client,
    reporter: Reporter,
    seen: Mutex<Seen>,
}

impl Recorder {
    /// A recorder writing with `client` as `reporter`.
    pub fn new(client: Client, reporter: Reporter) -> Recorder {
        Recorder {
            client,
            reporter,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Writes `ev` about `regarding`: a new Event, or a repeat counted on the one written
    /// within the window. Cluster-scoped objects' Events go to `default`.
    pub async fn publish(
        &self,
        ev: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let key = key_of(ev, regarding);
        let now = Instant::now();
        let repeat = {
            let mut seen = self.seen.lock().expect("events lock");
            seen.repeat(key, now).map(|w| {
                w.count += 1;
                (w.namespace.clone(), w.name.clone(), w.count)
            })
        };
        if let Some((ns, name, count)) = repeat {
            let series = EventSeries {
                count,
                last_observed_time: MicroTime(Timestamp::now()),
            };
            let patch = serde_json::json!({ "series": series });
            let events: Api<K8sEvent> = Api::namespaced(self.client.clone(), &ns);
            match events
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // Gone (deleted by hand, or the API server's Event TTL): write a new one.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let event = self.event(ev, regarding, namespace);
        let created = api.create(&PostParams::default(), &event).await?;
        let written = Written {
            namespace: namespace.to_string(),
            name: created.metadata.name.unwrap_or_default(),
            count: 1,
            first: now,
        };
        self.seen.lock().expect("events lock").insert(key, written);
        Ok(())
    }

    fn event(&self, ev: &Event, regarding: &ObjectReference, namespace: &str) -> K8sEvent {
        let now = Timestamp::now();
        let controller = &self.reporter.controller;
        K8sEvent {
            metadata: ObjectMeta {
                namespace: Some(namespace.to_string()),
                // As kubectl shows them: the object's name, then a unique suffix.
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(controller),
                    now.as_nanosecond()
                )),
                ..Default::default()
            },
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            note: ev.note.clone(),
            type_: Some(type_name(ev.type_).to_string()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: ev.secondary.clone(),
            reporting_controller: Some(controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| controller.clone()),
            ),
            ..Default::default()
        }
    }
}

fn type_name(t: EventType) -> &'static str {
    match t {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

/// What makes two Events the same: the object (by uid too, so a recreated object's Events
/// start afresh), type, reason, action and note.
fn key_of(ev: &Event, regarding: &ObjectReference) -> u64 {
    let mut h = DefaultHasher::new();
    (
        &regarding.api_version,
        &regarding.kind,
        &regarding.namespace,
        &regarding.name,
        &regarding.uid,
    )
        .hash(&mut h);
    (type_name(ev.type_), &ev.reason, &ev.action, &ev.note).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(first: Instant) -> Written {
        Written {
            namespace: "ns".into(),
            name: "e".into(),
            count: 1,
            first,
        }
    }

    fn ev(note: &str) -> Event {
        Event {
            type_: EventType::Normal,
            reason: "SyncSucceeded".into(),
            note: Some(note.into()),
            action: "Reconcile".into(),
            secondary: None,
        }
    }

    #[test]
    fn the_note_is_part_of_what_repeats() {
        let app = ObjectReference {
            name: Some("web".into()),
            namespace: Some("apps".into()),
            ..Default::default()
        };
        assert_eq!(key_of(&ev("at a"), &app), key_of(&ev("at a"), &app));
        assert_ne!(key_of(&ev("at a"), &app), key_of(&ev("at b"), &app));
        let other = ObjectReference {
            name: Some("api".into()),
            ..app.clone()
        };
        assert_ne!(key_of(&ev("at a"), &app), key_of(&ev("at a"), &other));
    }

    #[test]
    fn repeats_count_only_within_the_window() {
        let mut seen = Seen::default();
        let t0 = Instant::now();
        seen.insert(1, written(t0));
        assert!(seen.repeat(1, t0 + Duration::from_secs(60)).is_some());
        assert!(seen.repeat(1, t0 + SERIES_WINDOW).is_none());
        assert!(seen.repeat(2, t0).is_none());
    }

    #[test]
    fn the_record_is_bounded_and_forgets_the_oldest_first() {
        let mut seen = Seen::default();
        let t0 = Instant::now();
        for k in 0..(MAX_ENTRIES as u64 + 100) {
            seen.insert(k, written(t0));
        }
        assert_eq!(seen.by_key.len(), MAX_ENTRIES);
        assert_eq!(seen.order.len(), MAX_ENTRIES);
        assert!(seen.repeat(0, t0).is_none(), "the oldest went first");
        assert!(seen.repeat(MAX_ENTRIES as u64 + 99, t0).is_some());
        // Expired entries go at the next insert, however few there are.
        seen.insert(u64::MAX, written(t0 + SERIES_WINDOW));
        assert_eq!(seen.by_key.len(), 1);
        assert_eq!(seen.order.len(), 1);
    }
}
