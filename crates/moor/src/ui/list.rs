//! The apps list: one [`AppSummary`] per Application, and the filters, search, counts and paging
//! of `GET /api/v1/apps`. Pure functions over the store's summaries, so that the first page of
//! 10,000 apps costs one pass over them and the serialisation of one page.

use std::collections::BTreeMap;

use kube::ResourceExt;
use moor_controller::crd::Application;
use serde::{Deserialize, Serialize};

/// Largest page served; bigger `limit`s are lowered to it.
pub(crate) const MAX_LIMIT: usize = 500;
/// The page size when none is asked for.
pub(crate) const DEFAULT_LIMIT: usize = 100;

/// What the apps list shows of one Application (the contract's AppSummary).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppSummary {
    /// API group: moor.dev or argoproj.io.
    pub group: String,
    /// The app's namespace.
    pub namespace: String,
    /// The app's name.
    pub name: String,
    /// Its AppProject (`default` when unset).
    pub project: String,
    /// Synced, OutOfSync, Unknown (no status yet).
    pub sync: String,
    /// Healthy, Progressing, Degraded, ..., Unknown (no status yet).
    pub health: String,
    /// Why it has that health, when the controller said.
    pub health_message: Option<String>,
    /// The commit compared (the first source's for a multi-source app).
    pub revision: Option<String>,
    /// Its first 7 characters.
    pub short_revision: Option<String>,
    /// The commit's subject line.
    pub message: Option<String>,
    /// The commit's author.
    pub author: Option<String>,
    /// Where it deploys.
    pub destination: DestinationSummary,
    /// The destination's name, else its server.
    pub cluster: String,
    /// When the last operation finished.
    pub last_synced_at: Option<String>,
    /// The last (or running) operation.
    pub operation: Option<OperationSummary>,
    /// spec.suspend.
    pub suspended: bool,
    /// The Application's labels.
    pub labels: BTreeMap<String, String>,
    /// metadata.resourceVersion, so clients can tell an update from a repeat.
    pub resource_version: Option<String>,
}

/// The destination of an app.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct DestinationSummary {
    /// Cluster API server URL.
    pub server: Option<String>,
    /// Cluster name.
    pub name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
}

/// The phase and message of an app's operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct OperationSummary {
    /// Running, Succeeded, Failed, Error, Terminating.
    pub phase: String,
    /// What it did or is doing.
    pub message: String,
}

impl AppSummary {
    /// The summary of `app`, served in API group `group`.
    pub(crate) fn of(group: &str, app: &Application) -> Self {
        let status = app.status.as_ref();
        let or_unknown = |s: Option<&String>| {
            s.filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| "Unknown".into())
        };
        let revision = status.and_then(|s| {
            s.sync
                .revision
                .clone()
                .or_else(|| s.sync.revisions.first().cloned())
                .filter(|r| !r.is_empty())
        });
        let meta = status.and_then(|s| s.sync.revision_metadata.as_ref());
        let op = status.and_then(|s| s.operation_state.as_ref());
        let d = &app.spec.destination;
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        AppSummary {
            group: group.to_string(),
            namespace: app.namespace().unwrap_or_default(),
            name: app.name_any(),
            project: app
                .spec
                .project
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "default".into()),
            sync: or_unknown(status.map(|s| &s.sync.status)),
            health: or_unknown(status.map(|s| &s.health.status)),
            health_message: status
                .and_then(|s| s.health.message.clone())
                .filter(|m| !m.is_empty()),
            short_revision: revision.as_ref().map(|r| r.chars().take(7).collect()),
            revision,
            // The subject only: a body can be long and the list shows one line.
            message: meta
                .map(|m| m.message.lines().next().unwrap_or_default().to_string())
                .filter(|m| !m.is_empty()),
            author: meta.map(|m| m.author.clone()).filter(|a| !a.is_empty()),
            cluster: non_empty(&d.name)
                .or_else(|| non_empty(&d.server))
                .unwrap_or_default(),
            destination: DestinationSummary {
                server: d.server.clone(),
                name: d.name.clone(),
                namespace: d.namespace.clone(),
            },
            last_synced_at: op.and_then(|o| o.finished_at.clone()),
            operation: op.map(|o| OperationSummary {
                phase: o.phase.clone(),
                message: o.message.clone(),
            }),
            suspended: app.spec.suspend,
            labels: app.labels().clone(),
            resource_version: app.resource_version(),
        }
    }
}

/// The query string of `GET /api/v1/apps`. Each filter holds one value or several separated by
/// commas (any of them matches); all filters given must match.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    /// Page size (default 100, at most 500).
    pub limit: Option<usize>,
    /// Apps skipped before the page.
    pub offset: Option<usize>,
    /// Sync status.
    pub sync: Option<String>,
    /// Health status.
    pub health: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// App namespace.
    pub namespace: Option<String>,
    /// Destination name or server (as in `cluster`).
    pub cluster: Option<String>,
    /// `key=value` (or `key`: the label is set).
    pub label: Option<String>,
    /// Case-insensitive part of the name (or of `namespace/name`).
    pub search: Option<String>,
}

/// Most values listed per `project` / `namespace` / `cluster` count map: bounds the response when
/// every app has its own namespace (a select of thousands of values helps nobody either).
pub(crate) const MAX_COUNT_VALUES: usize = 1000;

/// The counts at the top of the apps page: of every app the caller may see, before the filters,
/// so each count stays a way into its filter (and the filter selects list every value).
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Counts {
    /// Apps per sync status.
    pub sync: BTreeMap<String, usize>,
    /// Apps per health status.
    pub health: BTreeMap<String, usize>,
    /// Apps per project (at most [`MAX_COUNT_VALUES`] projects).
    pub project: BTreeMap<String, usize>,
    /// Apps per app namespace (at most [`MAX_COUNT_VALUES`] namespaces).
    pub namespace: BTreeMap<String, usize>,
    /// Apps per destination cluster, as in AppSummary's `cluster` (at most [`MAX_COUNT_VALUES`]).
    pub cluster: BTreeMap<String, usize>,
    /// Every app the caller may see.
    pub total: usize,
}

/// One more app with value `v` in `map`. get_mut first: the values are few next to the apps,
/// so most apps allocate no key. Past `cap` distinct values, new ones are not listed.
fn count(map: &mut BTreeMap<String, usize>, v: &str, cap: usize) {
    if let Some(n) = map.get_mut(v) {
        *n += 1;
    } else if map.len() < cap {
        map.insert(v.to_string(), 1);
    }
}

/// One page of the apps list.
#[derive(Debug, Serialize)]
pub(crate) struct Page<'a> {
    /// Apps matching the filters.
    pub total: usize,
    /// As asked.
    pub offset: usize,
    /// As served (after the bounds).
    pub limit: usize,
    /// See [`Counts`].
    pub counts: Counts,
    /// The page, sorted by namespace, name, group.
    pub items: Vec<&'a AppSummary>,
}

/// `values` split at commas, trimmed, without empties; None when nothing remains (no filter).
fn values(v: &Option<String>) -> Option<Vec<&str>> {
    let list: Vec<&str> = v
        .as_deref()?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!list.is_empty()).then_some(list)
}

/// The filters of a query, parsed once per request rather than once per app.
struct Filter<'q> {
    sync: Option<Vec<&'q str>>,
    health: Option<Vec<&'q str>>,
    project: Option<Vec<&'q str>>,
    namespace: Option<Vec<&'q str>>,
    cluster: Option<Vec<&'q str>>,
    label: Option<Vec<(&'q str, Option<&'q str>)>>,
    search: Option<String>,
}

impl<'q> Filter<'q> {
    fn new(q: &'q ListQuery) -> Self {
        Filter {
            sync: values(&q.sync),
            health: values(&q.health),
            project: values(&q.project),
            namespace: values(&q.namespace),
            cluster: values(&q.cluster),
            label: values(&q.label).map(|l| {
                l.into_iter()
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (k.trim(), Some(v.trim())),
                        None => (kv, None),
                    })
                    .collect()
            }),
            search: q
                .search
                .as_deref()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
        }
    }

    fn matches(&self, a: &AppSummary) -> bool {
        let any = |f: &Option<Vec<&str>>, v: &str| f.as_ref().is_none_or(|f| f.contains(&v));
        any(&self.sync, &a.sync)
            && any(&self.health, &a.health)
            && any(&self.project, &a.project)
            && any(&self.namespace, &a.namespace)
            && (any(&self.cluster, &a.cluster)
                || a.destination
                    .server
                    .as_deref()
                    .is_some_and(|s| any(&self.cluster, s)))
            && self.label.as_ref().is_none_or(|ls| {
                ls.iter().any(|(k, v)| match (a.labels.get(*k), v) {
                    (Some(have), Some(want)) => have == want,
                    (Some(_), None) => true,
                    (None, _) => false,
                })
            })
            && self.search.as_ref().is_none_or(|s| {
                // Names are lowercase in Kubernetes; only `s` needs lowering.
                a.name.contains(s.as_str())
                    || (s.contains('/') && format!("{}/{}", a.namespace, a.name).contains(s))
            })
    }
}

/// The page `q` asks for out of `visible` (every app the caller may see, already sorted by
/// namespace, name, group: the store's order), with the counts.
pub(crate) fn page<'a>(
    visible: impl IntoIterator<Item = &'a AppSummary>,
    q: &ListQuery,
) -> Page<'a> {
    let filter = Filter::new(q);
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let mut counts = Counts::default();
    let mut total = 0;
    let mut items = Vec::with_capacity(limit.min(DEFAULT_LIMIT));
    for a in visible {
        counts.total += 1;
        // Statuses are a handful of words; no cap needed (but one costs nothing either).
        count(&mut counts.sync, &a.sync, usize::MAX);
        count(&mut counts.health, &a.health, usize::MAX);
        count(&mut counts.project, &a.project, MAX_COUNT_VALUES);
        count(&mut counts.namespace, &a.namespace, MAX_COUNT_VALUES);
        if !a.cluster.is_empty() {
            count(&mut counts.cluster, &a.cluster, MAX_COUNT_VALUES);
        }
        if filter.matches(a) {
            if total >= offset && items.len() < limit {
                items.push(a);
            }
            total += 1;
        }
    }
    Page {
        total,
        offset,
        limit,
        counts,
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(ns: &str, name: &str, sync: &str, health: &str) -> AppSummary {
        AppSummary {
            group: "moor.dev".into(),
            namespace: ns.into(),
            name: name.into(),
            project: "default".into(),
            sync: sync.into(),
            health: health.into(),
            cluster: "in-cluster".into(),
            ..AppSummary::default()
        }
    }

    fn q(v: serde_json::Value) -> ListQuery {
        serde_json::from_value(v).unwrap()
    }

    fn names(p: &Page) -> Vec<String> {
        p.items
            .iter()
            .map(|a| format!("{}/{}", a.namespace, a.name))
            .collect()
    }

    #[test]
    fn summary_of_an_application() {
        let a: Application = serde_json::from_value(json!({
            "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "team", "labels": {"tier": "front"},
                         "resourceVersion": "42"},
            "spec": {"source": {"repoURL": "https://g/r"}, "suspend": true,
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}},
            "status": {"sync": {"status": "OutOfSync", "revision": "0123456789abcdef",
                                "revisionMetadata": {"author": "Ann <a@x>", "message": "Fix it\n\nbody"}},
                       "health": {"status": "Degraded", "message": "0/1 ready"},
                       "operationState": {"phase": "Succeeded", "message": "done",
                                          "finishedAt": "2026-01-01T00:00:00Z"}}
        }))
        .unwrap();
        let s = AppSummary::of("moor.dev", &a);
        assert_eq!(s.project, "default");
        assert_eq!(s.sync, "OutOfSync");
        assert_eq!(s.health_message.as_deref(), Some("0/1 ready"));
        assert_eq!(s.short_revision.as_deref(), Some("0123456"));
        assert_eq!(s.message.as_deref(), Some("Fix it"));
        assert_eq!(s.author.as_deref(), Some("Ann <a@x>"));
        assert_eq!(s.cluster, "https://kubernetes.default.svc");
        assert_eq!(s.last_synced_at.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert!(s.suspended);
        assert_eq!(s.labels["tier"], "front");
        assert_eq!(s.resource_version.as_deref(), Some("42"));
        let v = serde_json::to_value(&s).unwrap();
        for key in [
            "shortRevision",
            "healthMessage",
            "lastSyncedAt",
            "resourceVersion",
        ] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        // No status yet: Unknown, not empty strings the filters cannot name.
        let bare: Application = serde_json::from_value(json!({
            "metadata": {"name": "x", "namespace": "n"},
            "spec": {"source": {"repoURL": "r"}, "destination": {"name": "prod"}}
        }))
        .unwrap();
        let s = AppSummary::of("argoproj.io", &bare);
        assert_eq!((s.sync.as_str(), s.health.as_str()), ("Unknown", "Unknown"));
        assert_eq!(s.cluster, "prod");
        assert_eq!(s.operation, None);
    }

    #[test]
    fn filters_search_and_counts() {
        let mut apps = vec![
            app("a", "api", "Synced", "Healthy"),
            app("a", "web", "OutOfSync", "Degraded"),
            app("b", "api", "Synced", "Progressing"),
            app("b", "db", "OutOfSync", "Healthy"),
        ];
        apps[1].labels.insert("tier".into(), "front".into());
        apps[3].project = "data".into();
        apps[3].cluster = "prod".into();
        apps[3].destination.server = Some("https://prod:6443".into());
        let p = page(&apps, &q(json!({"sync": "OutOfSync"})));
        assert_eq!(names(&p), ["a/web", "b/db"]);
        assert_eq!(p.total, 2);
        // Counts are before the filters.
        assert_eq!(p.counts.total, 4);
        assert_eq!(p.counts.sync["Synced"], 2);
        assert_eq!(p.counts.health["Healthy"], 2);
        // Per project / namespace / cluster too, also before the filters: the selects' options.
        let n = |m: &BTreeMap<String, usize>| m.clone().into_iter().collect::<Vec<_>>();
        assert_eq!(
            n(&p.counts.project),
            [("data".into(), 1), ("default".into(), 3)]
        );
        assert_eq!(n(&p.counts.namespace), [("a".into(), 2), ("b".into(), 2)]);
        assert_eq!(
            n(&p.counts.cluster),
            [("in-cluster".into(), 3), ("prod".into(), 1)]
        );
        let v = serde_json::to_value(&p.counts).unwrap();
        assert_eq!(v["namespace"], json!({"a": 2, "b": 2}));
        assert_eq!(v["cluster"]["prod"], 1);
        let p = page(
            &apps,
            &q(json!({"health": "Healthy,Progressing", "namespace": "b"})),
        );
        assert_eq!(names(&p), ["b/api", "b/db"]);
        assert_eq!(
            names(&page(&apps, &q(json!({"project": "data"})))),
            ["b/db"]
        );
        assert_eq!(
            names(&page(&apps, &q(json!({"cluster": "prod"})))),
            ["b/db"]
        );
        let by_server = page(&apps, &q(json!({"cluster": "https://prod:6443"})));
        assert_eq!(names(&by_server), ["b/db"]);
        assert_eq!(
            names(&page(&apps, &q(json!({"label": "tier=front"})))),
            ["a/web"]
        );
        assert_eq!(names(&page(&apps, &q(json!({"label": "tier"})))), ["a/web"]);
        assert!(
            page(&apps, &q(json!({"label": "tier=back"})))
                .items
                .is_empty()
        );
        assert_eq!(
            names(&page(&apps, &q(json!({"search": "AP"})))),
            ["a/api", "b/api"]
        );
        assert_eq!(names(&page(&apps, &q(json!({"search": "b/a"})))), ["b/api"]);
        // Empty filters filter nothing.
        assert_eq!(page(&apps, &q(json!({"sync": "", "search": " "}))).total, 4);
    }

    #[test]
    fn paging_is_bounded() {
        let apps: Vec<AppSummary> = (0..1000)
            .map(|i| app("ns", &format!("app-{i:04}"), "Synced", "Healthy"))
            .collect();
        let p = page(&apps, &q(json!({})));
        assert_eq!((p.items.len(), p.limit, p.total), (100, 100, 1000));
        let p = page(&apps, &q(json!({"limit": 10000, "offset": 900})));
        assert_eq!((p.items.len(), p.limit), (100, 500));
        assert_eq!(p.items[0].name, "app-0900");
        assert!(page(&apps, &q(json!({"offset": 5000}))).items.is_empty());
    }

    #[test]
    fn value_counts_are_bounded() {
        let apps: Vec<AppSummary> = (0..MAX_COUNT_VALUES + 50)
            .map(|i| app(&format!("ns-{i:05}"), "a", "Synced", "Healthy"))
            .collect();
        let p = page(&apps, &q(json!({"namespace": "ns-01040"})));
        assert_eq!(p.counts.namespace.len(), MAX_COUNT_VALUES);
        assert_eq!(p.counts.total, MAX_COUNT_VALUES + 50);
        // An unlisted value still filters.
        assert_eq!(names(&p), ["ns-01040/a"]);
    }

    /// The issue's budget: the first page of 10,000 apps in well under 200 ms and 500 KB.
    #[test]
    fn first_page_of_ten_thousand_apps_is_fast_and_small() {
        let apps: Vec<AppSummary> = (0..10_000)
            .map(|i| {
                let mut a = app(
                    &format!("team-{}", i % 100),
                    &format!("app-{i:05}"),
                    "Synced",
                    "Healthy",
                );
                a.revision = Some("0123456789abcdef0123456789abcdef01234567".into());
                a.short_revision = Some("0123456".into());
                a.message = Some("Bump the web image to 1.2.3 for the spring release".into());
                a.author = Some("Release Bot <bot@example.com>".into());
                a.labels.insert("team".into(), format!("t{}", i % 7));
                a
            })
            .collect();
        let start = std::time::Instant::now();
        let body = serde_json::to_vec(&page(&apps, &q(json!({})))).unwrap();
        let filtered = serde_json::to_vec(&page(
            &apps,
            &q(json!({"search": "app-09", "label": "team=t3"})),
        ));
        let took = start.elapsed();
        assert!(filtered.is_ok());
        assert!(body.len() < 500 * 1024, "{} bytes", body.len());
        // Debug builds are slow; the budget is for the whole request in release.
        assert!(took < std::time::Duration::from_millis(200), "{took:?}");
    }
}
