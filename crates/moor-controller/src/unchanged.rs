//! A poll that can skip the comparison. An app's live objects change only through events its
//! drift watches see, so a poll finding the same inputs (rendered manifests, generation, health
//! rules) and no event of the app's objects since its last comparison in sync would only read
//! the same objects again: at 10,000 apps polled every minute those reads were 4 GETs per app
//! per minute, most of the API server's and controller's work (BENCHMARKS.md, scale).
//!
//! Trusted only while every watch the app depends on is synced and has not restarted since
//! (a restart or error bumps one epoch for all: a relist may hide a deletion), and for at most
//! [`FULL_COMPARE_EVERY`]; a requested operation or refresh always compares.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moor_types::Manifest;

use crate::watches::AppKey;

/// However quiet an app, it is compared in full at least this often.
pub const FULL_COMPARE_EVERY: Duration = Duration::from_secs(600);

/// Where an app's events and the watches stood when a comparison began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    epoch: u64,
    events: u64,
}

struct Clean {
    inputs: u64,
    mark: Mark,
    at: Instant,
}

/// Events per app, watch health, and the apps whose last comparison still holds.
#[derive(Default)]
pub struct Unchanged {
    /// Bumped whenever any watch starts, relists or fails.
    epoch: AtomicU64,
    /// Watches (cluster, `apiVersion/plural`) listed and running.
    synced: Mutex<HashSet<(String, String)>>,
    /// Events seen of each app's objects (not the controller's own writes).
    events: Mutex<HashMap<AppKey, u64>>,
    clean: Mutex<HashMap<AppKey, Clean>>,
}

impl Unchanged {
    /// An event of one of `app`'s objects: its next poll compares. Counted only for apps this
    /// controller has begun comparing (`mark`): the tracking annotation that names the app is
    /// written by whoever can create a labelled object, so naming apps that do not exist must
    /// not grow the map (and an app not yet marked has no comparison an event could outdate).
    pub fn changed(&self, app: &AppKey) {
        if let Some(n) = self.events.lock().expect("events lock").get_mut(app) {
            *n += 1;
        }
    }

    /// A watch listed everything (`up`) or stopped, relists or failed (not `up`).
    pub fn watch(&self, key: &(String, String), up: bool) {
        let mut synced = self.synced.lock().expect("synced lock");
        if up {
            synced.insert(key.clone());
        } else {
            synced.remove(key);
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Taken before a comparison reads anything; from then on the app's events are counted.
    pub fn mark(&self, app: &AppKey) -> Mark {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let mut events = self.events.lock().expect("events lock");
        let events = *events.entry(app.clone()).or_default();
        Mark { epoch, events }
    }

    /// The comparison begun at `mark` found `app` in sync with `inputs`, its objects being of
    /// the watched types `watched`: a later poll may skip comparing while nothing changes.
    pub fn record(&self, app: &AppKey, inputs: u64, mark: Mark, watched: &[(String, String)]) {
        let synced = self.synced.lock().expect("synced lock");
        if watched.iter().all(|w| synced.contains(w)) {
            let at = Instant::now();
            let clean = Clean { inputs, mark, at };
            self.clean
                .lock()
                .expect("clean lock")
                .insert(app.clone(), clean);
        }
    }

    /// Whether `app`'s last comparison still holds for `inputs`: nothing of it changed since.
    pub fn holds(&self, app: &AppKey, inputs: u64) -> bool {
        let now = self.mark(app);
        let clean = self.clean.lock().expect("clean lock");
        clean.get(app).is_some_and(|c| {
            c.inputs == inputs && c.mark == now && c.at.elapsed() < FULL_COMPARE_EVERY
        })
    }

    /// The app is being deleted: nothing of it is kept (its event count neither: no entry
    /// outlives its app).
    pub fn forget(&self, app: &AppKey) {
        self.clean.lock().expect("clean lock").remove(app);
        self.events.lock().expect("events lock").remove(app);
    }
}

/// The digest of what a comparison depends on besides the live objects: the rendered
/// manifests, the app's generation (spec, ignore rules, sync options) and its health rules.
pub fn inputs(manifests: &[Manifest], generation: Option<i64>, health_rules: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    generation.hash(&mut h);
    health_rules.hash(&mut h);
    for m in manifests {
        serde_json::to_string(&m.obj)
            .unwrap_or_default()
            .hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> AppKey {
        AppKey {
            namespace: "apps".into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_comparison_holds_until_an_event_a_watch_restart_or_other_inputs() {
        let u = Unchanged::default();
        let w = ("in-cluster".to_string(), "v1/configmaps".to_string());
        let (web, db) = (key("web"), key("db"));
        // Not while the watch has not listed.
        let m = u.mark(&web);
        u.record(&web, 1, m, std::slice::from_ref(&w));
        assert!(!u.holds(&web, 1));
        u.watch(&w, true);
        let m = u.mark(&web);
        u.record(&web, 1, m, std::slice::from_ref(&w));
        assert!(u.holds(&web, 1));
        assert!(!u.holds(&web, 2), "other inputs");
        // Another app's event leaves it; its own does not.
        u.changed(&db);
        assert!(u.holds(&web, 1));
        u.changed(&web);
        assert!(!u.holds(&web, 1));
        // An event during the comparison (after the mark) is not lost.
        let m = u.mark(&web);
        u.changed(&web);
        u.record(&web, 1, m, std::slice::from_ref(&w));
        assert!(!u.holds(&web, 1));
        let m = u.mark(&web);
        u.record(&web, 1, m, std::slice::from_ref(&w));
        assert!(u.holds(&web, 1));
        // A relist or failure of any watch: every app compares again.
        u.watch(&w, false);
        assert!(!u.holds(&web, 1));
        // Events naming apps never compared here keep nothing (anyone may write the name).
        for i in 0..100 {
            u.changed(&key(&format!("made-up-{i}")));
        }
        assert_eq!(
            u.events.lock().unwrap().len(),
            1,
            "web only: db was never compared"
        );
    }
}
