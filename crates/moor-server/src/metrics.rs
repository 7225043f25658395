//! The controller's Prometheus metrics, one registry per process.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Content type of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `code` label of a request that got no HTTP response at all (connect error, timeout), as
/// client-go spells it.
pub const NO_RESPONSE_CODE: &str = "<error>";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppInfoLabels {
    name: String,
    namespace: String,
    sync_status: String,
    health_status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    name: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RepoLabels {
    repo: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    cluster: String,
    method: String,
    code: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1ms doubling up to ~65s: a no-op reconcile is milliseconds, a sync that waits for health
/// can take a minute.
fn reconcile_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// 5ms doubling up to ~160s: a cached fetch is fast, a first clone of a big repository is not.
fn git_fetch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// All metrics of the controller. Shared behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    app_info: Family<AppInfoLabels, Gauge>,
    /// The label set currently exported per (namespace, name), so a status change can remove
    /// the old series instead of leaving a stale `1` behind.
    app_info_current: Mutex<HashMap<(String, String), AppInfoLabels>>,
    reconcile_duration: HistogramFamily<AppLabels>,
    sync_total: Family<PhaseLabels, Counter>,
    git_fetch_duration: HistogramFamily<RepoLabels>,
    api_requests: Family<ApiLabels, Counter>,
    renders: Family<RepoLabels, Counter>,
    leader: Gauge,
    shard_members: Gauge,
    shard_apps: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every moor metric registered, at zero, so a scrape shows them before the first event.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let app_info = Family::<AppInfoLabels, Gauge>::default();
        let reconcile_duration: HistogramFamily<AppLabels> =
            Family::new_with_constructor(reconcile_histogram);
        let sync_total = Family::<PhaseLabels, Counter>::default();
        let git_fetch_duration: HistogramFamily<RepoLabels> =
            Family::new_with_constructor(git_fetch_histogram);
        let api_requests = Family::<ApiLabels, Counter>::default();
        let renders = Family::<RepoLabels, Counter>::default();
        let leader = Gauge::default();
        let shard_members = Gauge::default();
        let shard_apps = Gauge::default();

        // Counters get their `_total` suffix from the encoder.
        registry.register(
            "moor_app_info",
            "Current sync and health status of an application (always 1)",
            app_info.clone(),
        );
        registry.register(
            "moor_app_reconcile_duration_seconds",
            "Time taken by one reconcile of an application",
            reconcile_duration.clone(),
        );
        registry.register(
            "moor_app_sync",
            "Syncs run, by final phase (Succeeded, Failed, Error)",
            sync_total.clone(),
        );
        registry.register(
            "moor_git_fetch_duration_seconds",
            "Time taken to fetch a Git repository",
            git_fetch_duration.clone(),
        );
        registry.register(
            "moor_cluster_api_requests",
            "Requests sent to a cluster's API server, by method and response code",
            api_requests.clone(),
        );

        registry.register(
            "moor_renders",
            "Manifest renders run (cache misses), by source (repo#path)",
            renders.clone(),
        );
        registry.register(
            "moor_leader",
            "1 while this replica reconciles (holds the leader Lease, or runs without leader election)",
            leader.clone(),
        );
        registry.register(
            "moor_shard_members",
            "Replicas sharing the apps (--shards auto) as this replica sees them; 0 when not sharded",
            shard_members.clone(),
        );
        registry.register(
            "moor_shard_apps",
            "Applications this replica owns and may reconcile (--shards auto)",
            shard_apps.clone(),
        );

        Self {
            registry,
            app_info,
            app_info_current: Mutex::default(),
            reconcile_duration,
            sync_total,
            git_fetch_duration,
            api_requests,
            renders,
            leader,
            shard_members,
            shard_apps,
        }
    }

    /// `--shards auto`: the live replicas this one sees, and how many apps it owns.
    pub fn set_shard(&self, members: usize, apps: usize) {
        self.shard_members.set(members as i64);
        self.shard_apps.set(apps as i64);
    }

    /// Whether this replica reconciles: `moor_leader` 1 or 0.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Counts one render of `source` (a redacted `repo#path`): render-cache misses.
    pub fn inc_render(&self, source: &str) {
        self.renders
            .get_or_create(&RepoLabels {
                repo: source.to_string(),
            })
            .inc();
    }

    /// Exports the app's current status, replacing whatever status was exported before. `sync`
    /// and `health` are the status fields as written (moor-types' `SyncStatus`/`HealthStatus`
    /// words, or whatever another controller wrote).
    pub fn set_app_info(&self, name: &str, namespace: &str, sync: &str, health: &str) {
        let labels = AppInfoLabels {
            name: name.to_string(),
            namespace: namespace.to_string(),
            sync_status: sync.to_string(),
            health_status: health.to_string(),
        };
        // Held across remove and set so two concurrent updates cannot leave two series.
        let mut current = self
            .app_info_current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (namespace.to_string(), name.to_string());
        if let Some(old) = current.get(&key)
            && *old != labels
        {
            self.app_info.remove(old);
        }
        self.app_info.get_or_create(&labels).set(1);
        current.insert(key, labels);
    }

    /// Drops every per-app series of a deleted app.
    pub fn remove_app(&self, name: &str, namespace: &str) {
        let mut current = self
            .app_info_current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = current.remove(&(namespace.to_string(), name.to_string())) {
            self.app_info.remove(&old);
        }
        self.reconcile_duration.remove(&AppLabels {
            name: name.to_string(),
            namespace: namespace.to_string(),
        });
    }

    /// Records one reconcile of an app and how long it took, in seconds.
    pub fn observe_reconcile(&self, name: &str, namespace: &str, secs: f64) {
        self.reconcile_duration
            .get_or_create(&AppLabels {
                name: name.to_string(),
                namespace: namespace.to_string(),
            })
            .observe(secs);
    }

    /// `phase` is the finished operation's phase as moor-types' `OperationPhase` writes it
    /// (`Succeeded`, `Failed`, `Error`); a string, so this crate needs no vocabulary of its own.
    pub fn inc_sync(&self, phase: &str) {
        self.sync_total
            .get_or_create(&PhaseLabels {
                phase: phase.to_string(),
            })
            .inc();
    }

    /// `repo` must already be redacted and normalised by the caller: it becomes a label.
    pub fn observe_git_fetch(&self, repo: &str, secs: f64) {
        self.git_fetch_duration
            .get_or_create(&RepoLabels {
                repo: repo.to_string(),
            })
            .observe(secs);
    }

    /// Counts one request to a cluster's API server and its response status.
    pub fn inc_api_request(&self, cluster: &str, method: &str, code: u16) {
        self.inc_api_request_code(cluster, method, &code.to_string());
    }

    /// Counts a request that failed without a response (`code="<error>"`).
    pub fn inc_api_request_failed(&self, cluster: &str, method: &str) {
        self.inc_api_request_code(cluster, method, NO_RESPONSE_CODE);
    }

    fn inc_api_request_code(&self, cluster: &str, method: &str, code: &str) {
        self.api_requests
            .get_or_create(&ApiLabels {
                cluster: cluster.to_string(),
                method: method.to_string(),
                code: code.to_string(),
            })
            .inc();
    }

    /// The whole registry in the OpenMetrics text format, `# EOF` included.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(err) = encode(&mut out, &self.registry) {
            // Writing to a String cannot fail; only a metric the text format cannot express
            // could, and none is registered.
            tracing::error!(%err, "encoding metrics failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn metrics_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Metrics>();
    }

    #[test]
    fn encode_names_every_metric() {
        let m = Metrics::new();
        m.set_app_info("web", "apps", "Synced", "Healthy");
        m.observe_reconcile("web", "apps", 0.25);
        m.inc_sync("Succeeded");
        m.observe_git_fetch("https://github.com/org/repo", 1.5);
        m.inc_api_request("in-cluster", "GET", 200);
        let out = m.encode();
        for name in [
            "# TYPE moor_app_info gauge",
            "# TYPE moor_app_reconcile_duration_seconds histogram",
            "# TYPE moor_app_sync counter",
            "# TYPE moor_git_fetch_duration_seconds histogram",
            "# TYPE moor_cluster_api_requests counter",
            "# TYPE moor_leader gauge",
            "# TYPE moor_shard_members gauge",
            "# TYPE moor_shard_apps gauge",
        ] {
            assert!(out.contains(name), "missing {name:?} in\n{out}");
        }
        assert!(out.contains(
            r#"moor_app_info{name="web",namespace="apps",sync_status="Synced",health_status="Healthy"} 1"#
        ));
        assert!(out.contains(r#"moor_app_sync_total{phase="Succeeded"} 1"#));
        assert!(out.contains(
            r#"moor_cluster_api_requests_total{cluster="in-cluster",method="GET",code="200"} 1"#
        ));
        assert!(out.contains(
            r#"moor_app_reconcile_duration_seconds_count{name="web",namespace="apps"} 1"#
        ));
        assert!(out.contains(
            r#"moor_git_fetch_duration_seconds_sum{repo="https://github.com/org/repo"} 1.5"#
        ));
        assert!(out.ends_with("# EOF\n"));
    }

    #[test]
    fn app_info_keeps_one_series_per_app() {
        let m = Metrics::new();
        m.set_app_info("web", "apps", "OutOfSync", "Progressing");
        m.set_app_info("web", "apps", "Synced", "Healthy");
        m.set_app_info("db", "apps", "Synced", "Degraded");
        let out = m.encode();
        let web = lines_with(&out, r#"moor_app_info{name="web""#);
        assert_eq!(
            web,
            [
                r#"moor_app_info{name="web",namespace="apps",sync_status="Synced",health_status="Healthy"} 1"#
            ]
        );
        assert_eq!(lines_with(&out, r#"moor_app_info{name="db""#).len(), 1);
    }

    #[test]
    fn same_name_in_other_namespace_is_another_app() {
        let m = Metrics::new();
        m.set_app_info("web", "a", "Synced", "Healthy");
        m.set_app_info("web", "b", "OutOfSync", "Healthy");
        assert_eq!(lines_with(&m.encode(), "moor_app_info{").len(), 2);
    }

    #[test]
    fn remove_app_drops_its_series() {
        let m = Metrics::new();
        m.set_app_info("web", "apps", "Synced", "Healthy");
        m.observe_reconcile("web", "apps", 0.01);
        m.set_app_info("db", "apps", "Synced", "Healthy");
        m.remove_app("web", "apps");
        let out = m.encode();
        assert!(!out.contains(r#"name="web""#), "{out}");
        assert!(out.contains(r#"name="db""#));
        // Removing twice, or an unknown app, is harmless.
        m.remove_app("web", "apps");
        m.remove_app("nope", "apps");
    }

    #[test]
    fn reconcile_buckets_cover_1ms_to_60s() {
        let m = Metrics::new();
        m.observe_reconcile("web", "apps", 0.0005);
        let out = m.encode();
        let buckets = lines_with(&out, "moor_app_reconcile_duration_seconds_bucket");
        assert!(buckets[0].contains(r#"le="0.001""#), "{}", buckets[0]);
        assert!(buckets.iter().any(|l| l.contains(r#"le="65.536""#)));
        assert!(buckets.last().unwrap().contains(r#"le="+Inf""#));
    }

    #[test]
    fn failed_api_requests_have_error_code() {
        let m = Metrics::new();
        m.inc_api_request_failed("prod", "PATCH");
        m.inc_api_request_failed("prod", "PATCH");
        assert!(m.encode().contains(
            r#"moor_cluster_api_requests_total{cluster="prod",method="PATCH",code="<error>"} 2"#
        ));
    }
}
