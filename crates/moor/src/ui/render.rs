//! An app's sources rendered at a revision, for the diff panels: the same loading as
//! `moor app diff` ([`crate::app::render`]), cached briefly so clicking through nodes renders
//! once.
//!
//! Credentials: only what `moor app diff` uses, the `MOOR_GIT_*` environment scoped to the URLs
//! in `MOOR_GIT_CREDENTIALS_URL`. The controller's repository Secrets are not read here, so a
//! private repository renders in the UI only when the UI's process has such scoped credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use moor_controller::crd::{Application, Source};
use moor_types::{ConditionType, Manifest};
use tokio::sync::{OnceCell, Semaphore};

/// How long a render serves: long enough for a user clicking through an app's nodes, short
/// enough that a branch's new commit shows within a minute.
const TTL: Duration = Duration::from_secs(60);
/// A failed render is retried sooner: the cause (a network error, a missing commit) may pass.
const FAILED_TTL: Duration = Duration::from_secs(5);
/// Renders kept at once.
const MAX_ENTRIES: usize = 32;
/// Bytes of manifests kept at once (as JSON): one render may be up to the render limit (64 MiB
/// by default), and any reader of an app can ask for one, so entries alone do not bound memory.
const MAX_BYTES: usize = 128 << 20;
/// Renders running at once: each is a fetch and a helm/kustomize process, and any reader of an
/// app can ask for one.
const MAX_RUNNING: usize = 4;

/// One source rendered.
#[derive(Debug)]
pub(crate) struct Rendered {
    /// The objects, as `moor app diff` renders them.
    pub manifests: Vec<Manifest>,
    /// The commit rendered.
    pub revision: Option<String>,
    /// Size of the manifests as JSON, what the cache's byte budget counts.
    pub bytes: usize,
}

/// The result of one render; the error is the whole message, once.
type Outcome = Result<Arc<Rendered>, String>;

/// (app uid, revision asked for, source as JSON, destination namespace): everything a render
/// depends on, so two apps or two sources never share an entry.
type Key = (String, String, String, String);

struct Slot {
    created: Instant,
    cell: Arc<OnceCell<Outcome>>,
}

/// Recent renders, keyed by app, source and revision.
pub(crate) struct Renders {
    slots: Mutex<HashMap<Key, Slot>>,
    running: Semaphore,
}

impl Default for Renders {
    fn default() -> Self {
        Renders {
            slots: Mutex::new(HashMap::new()),
            running: Semaphore::new(MAX_RUNNING),
        }
    }
}

impl Renders {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `source` of `app` rendered at `revision` (a commit, branch or tag; None: the source's
    /// own targetRevision). Concurrent asks for one key wait for one render.
    pub(crate) async fn render(
        &self,
        app: &Application,
        source: &Source,
        revision: Option<&str>,
    ) -> Outcome {
        check_remote(&source.repo_url)?;
        admitted(app)?;
        let mut source = source.clone();
        if let Some(r) = revision.filter(|r| !r.is_empty()) {
            source.target_revision = Some(r.to_string());
        }
        let key: Key = (
            app.uid().unwrap_or_else(|| app.name_any()),
            source.target_revision.clone().unwrap_or_default(),
            serde_json::to_string(&source).unwrap_or_default(),
            app.spec.destination.namespace.clone().unwrap_or_default(),
        );
        let cell = self.slot(key);
        let out = cell
            .get_or_init(|| async {
                let _permit = self.running.acquire().await;
                crate::app::render(app, &source, None, None)
                    .await
                    .map(|l| {
                        let bytes = l.manifests.iter().map(|m| m.obj.to_string().len()).sum();
                        Arc::new(Rendered {
                            manifests: l.manifests,
                            revision: l.revision,
                            bytes,
                        })
                    })
                    .map_err(|e| moor_types::error_chain(e.as_ref()))
            })
            .await;
        out.clone()
    }

    /// The cell for `key`, a fresh one when there is none or it expired; drops expired
    /// entries, then the oldest, to stay within [`MAX_ENTRIES`] and [`MAX_BYTES`].
    fn slot(&self, key: Key) -> Arc<OnceCell<Outcome>> {
        let now = Instant::now();
        let mut slots = self.slots.lock().expect("render cache lock");
        slots.retain(|_, s| !expired(s, now));
        if let Some(s) = slots.get(&key) {
            return s.cell.clone();
        }
        let bytes = |slots: &HashMap<Key, Slot>| -> usize {
            let done = slots.values().filter_map(|s| s.cell.get()?.as_ref().ok());
            done.map(|r| r.bytes).sum()
        };
        while slots.len() >= MAX_ENTRIES || (!slots.is_empty() && bytes(&slots) > MAX_BYTES) {
            let Some(oldest) =
                (slots.iter().min_by_key(|(_, s)| s.created)).map(|(k, _)| k.clone())
            else {
                break;
            };
            slots.remove(&oldest);
        }
        let cell = Arc::new(OnceCell::new());
        slots.insert(
            key,
            Slot {
                created: now,
                cell: cell.clone(),
            },
        );
        cell
    }
}

fn expired(s: &Slot, now: Instant) -> bool {
    let ttl = match s.cell.get() {
        Some(Err(_)) => FAILED_TTL,
        _ => TTL,
    };
    now.duration_since(s.created) > ttl
}

/// The UI renders only what the controller has admitted: it found nothing refused in the app
/// (no InvalidSpecError: a project's sourceRepos, a forbidden field) and fetched a revision. Otherwise an Application could make
/// the UI's process fetch and show what its project forbids.
fn admitted(app: &Application) -> Result<(), String> {
    let status = app.status.as_ref();
    let refused = status.and_then(|s| {
        (s.conditions.iter()).find(|c| c.type_ == ConditionType::InvalidSpecError.as_str())
    });
    if let Some(c) = refused {
        return Err(format!(
            "not rendered: the controller refused this app: {}",
            c.message
        ));
    }
    if status.and_then(|s| s.sync.revision.as_ref()).is_none() {
        return Err(
            "not rendered: the controller has not fetched this app's sources yet; try again once \
             it has reconciled"
                .into(),
        );
    }
    Ok(())
}

/// The UI renders only repositories git fetches: a repoURL naming a plain local directory
/// would be read as it is (`moor app diff`'s convenience for local work), making the UI's
/// process show its own files in a diff. `file://` URLs are fetched by git like any other, as
/// the controller fetches them for the same Application, so they expose nothing more.
fn check_remote(repo: &str) -> Result<(), String> {
    let repo = repo.trim();
    let url_scheme = repo
        .split_once("://")
        .map(|(s, _)| s)
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+'));
    let remote = url_scheme.is_some()
        // scp syntax: host:path, where the host part holds no slash.
        || repo
            .split_once(':')
            .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'));
    if remote {
        Ok(())
    } else {
        Err(format!(
            "repoURL {repo} is a local directory, not a repository URL: the UI renders only \
             repositories it fetches"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fetched_repositories_render() {
        for ok in [
            "https://example.com/org/repo.git",
            "http://127.0.0.1:8080/r.git",
            "ssh://git@example.com/r",
            "git@example.com:org/r.git",
            "file:///srv/git/r.git",
        ] {
            assert!(check_remote(ok).is_ok(), "{ok}");
        }
        for bad in ["/etc", "./repo", "relative/dir", ""] {
            assert!(check_remote(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_admitted_apps_render() {
        let app = |status: serde_json::Value| -> Application {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "a", "namespace": "n", "generation": 2},
                "spec": {"source": {"repoURL": "https://x"}, "destination": {}},
                "status": status,
            }))
            .unwrap()
        };
        let ok = serde_json::json!({"observedGeneration": 2, "sync": {"status": "Synced", "revision": "abc"}, "health": {}});
        assert_eq!(admitted(&app(ok.clone())), Ok(()));
        let mut refused = ok.clone();
        refused["conditions"] = serde_json::json!([{"type": "InvalidSpecError", "message": "project p does not permit repo https://x"}]);
        let e = admitted(&app(refused)).unwrap_err();
        assert!(e.contains("does not permit"), "{e}");
        let mut unfetched = ok;
        unfetched["sync"] = serde_json::json!({"status": "Unknown"});
        assert!(admitted(&app(unfetched)).is_err());
    }

    #[tokio::test]
    async fn entries_are_bounded_and_expire() {
        let r = Renders::new();
        for i in 0..(MAX_ENTRIES + 5) {
            let key = (i.to_string(), String::new(), String::new(), String::new());
            r.slot(key);
        }
        assert_eq!(r.slots.lock().unwrap().len(), MAX_ENTRIES);
        // The oldest went first.
        assert!(!(r.slots.lock().unwrap()).contains_key(&(
            "0".into(),
            "".into(),
            "".into(),
            "".into()
        )));
        let key: Key = ("x".into(), "".into(), "".into(), "".into());
        let cell = r.slot(key.clone());
        cell.set(Err("no".into())).unwrap();
        assert!(Arc::ptr_eq(&cell, &r.slot(key.clone())));
        let later = Instant::now() + FAILED_TTL + Duration::from_millis(1);
        assert!(expired(&r.slots.lock().unwrap()[&key], later));
    }

    #[tokio::test]
    async fn big_renders_are_evicted_by_bytes() {
        let r = Renders::new();
        let key = |n: &str| -> Key { (n.into(), "".into(), "".into(), "".into()) };
        for n in ["a", "b"] {
            let big = Rendered {
                manifests: vec![],
                revision: None,
                bytes: MAX_BYTES / 2 + 1,
            };
            r.slot(key(n)).set(Ok(Arc::new(big))).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        r.slot(key("c"));
        let slots = r.slots.lock().unwrap();
        assert!(!slots.contains_key(&key("a")) && slots.contains_key(&key("b")));
        assert!(slots.contains_key(&key("c")));
    }
}
