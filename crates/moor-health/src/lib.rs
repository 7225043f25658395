//! Health of Kubernetes objects: kstatus rules plus one pure function per kind.
//!
//! [`health`] applies, in order: the `moor.dev/health: ignore` opt-out, the generic kstatus rules
//! that hold for every kind (terminating, generation not yet observed, `Reconciling`, `Stalled`),
//! then the kind's own rules (dispatched by API group and kind), then the `Ready` condition, and
//! otherwise calls the object Healthy. [`HealthRules`] adds user-written CEL rules, which replace
//! the kind's own rules for the kinds they name.
//! Everything here is pure: no I/O, no clock, so every rule is testable from a YAML fixture.

#![warn(missing_docs)]

mod kinds;
mod rules;
mod util;

use std::fmt;

pub use moor_types::HealthStatus;
pub use rules::{
    ANNOTATION_HEALTH, HEALTH_IGNORE, HealthCheckExpr, HealthRules, RuleError, ignored,
};
use serde_json::Value;

use util::{condition, int_at, str_at};

/// Health of one object and why, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// The verdict, what app health aggregates and waits poll for.
    pub status: HealthStatus,
    /// Why, shown next to the verdict so a user knows what to fix or wait for.
    pub message: String,
}

impl Health {
    /// A verdict with its reason.
    pub fn new(status: HealthStatus, message: impl Into<String>) -> Self {
        Health {
            status,
            message: message.into(),
        }
    }

    /// Healthy, and why.
    pub fn healthy(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Healthy, message)
    }

    /// Progressing, and what it waits for.
    pub fn progressing(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Progressing, message)
    }

    /// Degraded, and why.
    pub fn degraded(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Degraded, message)
    }

    /// Suspended, and why.
    pub fn suspended(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Suspended, message)
    }
}

/// `Status` or `Status: message`.
impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{}: {}", self.status, self.message)
        }
    }
}

/// Health of one live object by the built-in rules (and the opt-out annotation).
pub fn health(obj: &Value) -> Health {
    HealthRules::default().health(obj)
}

/// The kind's own rules, else the `Ready` condition, else Healthy.
fn built_in(obj: &Value) -> Health {
    let group = moor_types::ObjKey::group_of(str_at(obj, "/apiVersion").unwrap_or(""));
    let kind = str_at(obj, "/kind").unwrap_or("");
    if let Some(h) = kinds::check(group, kind, obj) {
        return h;
    }
    ready(obj).unwrap_or_else(|| Health::healthy(""))
}

/// Worst health of a set of objects (an app is as healthy as its least healthy object);
/// Healthy when empty.
pub fn aggregate<'a>(healths: impl IntoIterator<Item = &'a Health>) -> HealthStatus {
    healths
        .into_iter()
        .fold(HealthStatus::Healthy, |acc, h| acc.worst(h.status))
}

/// kstatus rules that hold for every kind and come before the kind's own rules.
fn generic(obj: &Value) -> Option<Health> {
    if let Some(ts) = str_at(obj, "/metadata/deletionTimestamp") {
        // Finalizers are what a stuck deletion waits on, so name them.
        let finalizers: Vec<&str> = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut msg = format!("terminating (deletion requested at {ts}");
        if !finalizers.is_empty() {
            msg = format!("{msg}; waiting for finalizers {}", finalizers.join(", "));
        }
        return Some(Health::progressing(msg + ")"));
    }
    if let (Some(generation), Some(observed)) = (
        int_at(obj, "/metadata/generation"),
        int_at(obj, "/status/observedGeneration"),
    ) && observed != generation
    {
        return Some(Health::progressing(format!(
            "waiting for the controller to observe generation {generation} (observed {observed})"
        )));
    }
    if let Some(c) = condition(obj, "Reconciling").filter(|c| c.is_true()) {
        return Some(Health::progressing(with_detail(
            "reconciling",
            &c.describe(),
        )));
    }
    if let Some(c) = condition(obj, "Stalled").filter(|c| c.is_true()) {
        return Some(Health::degraded(with_detail("stalled", &c.describe())));
    }
    None
}

/// The `Ready` condition most custom resources publish. kstatus treats False and Unknown alike as
/// still in progress: a controller retrying may yet succeed, and `Stalled` is how it says it gave up.
fn ready(obj: &Value) -> Option<Health> {
    let c = condition(obj, "Ready")?;
    Some(if c.is_true() {
        Health::healthy(if c.message.is_empty() {
            c.reason
        } else {
            c.message
        })
    } else {
        Health::progressing(with_detail(&format!("Ready={}", c.status), &c.describe()))
    })
}

pub(crate) fn with_detail(what: &str, detail: &str) -> String {
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aggregate_takes_the_worst() {
        assert_eq!(aggregate(&[]), HealthStatus::Healthy);
        let hs = [
            Health::healthy(""),
            Health::degraded("x"),
            Health::progressing("y"),
        ];
        assert_eq!(aggregate(&hs), HealthStatus::Degraded);
        assert_eq!(aggregate(hs.iter().take(1)), HealthStatus::Healthy);
    }

    #[test]
    fn objects_without_status_are_healthy() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert_eq!(health(&cm), Health::healthy(""));
        assert_eq!(health(&json!(null)).status, HealthStatus::Healthy);
    }

    #[test]
    fn generation_rule_needs_both_fields() {
        let mut d = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "generation": 3}, "status": {}});
        assert_eq!(health(&d).status, HealthStatus::Healthy);
        d["status"]["observedGeneration"] = json!(2);
        let h = health(&d);
        assert_eq!(h.status, HealthStatus::Progressing);
        assert!(h.message.contains("observe generation 3"), "{h}");
    }

    #[test]
    fn ready_unknown_is_progressing() {
        let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(health(&w), Health::progressing("Ready=Unknown"));
    }

    #[test]
    fn deployment_without_replicas_defaults_to_one() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {}});
        let h = health(&d);
        assert_eq!(h.status, HealthStatus::Progressing);
        assert!(h.message.contains("0 out of 1 new replicas"), "{h}");
    }

    #[test]
    fn statefulset_not_yet_observed_is_progressing() {
        let s = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"replicas": 0}, "status": {"replicas": 0}});
        assert_eq!(health(&s).status, HealthStatus::Progressing);
    }

    #[test]
    fn odd_pod_phase_is_unknown() {
        let p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "status": {"phase": "Unknown", "message": "node lost"}});
        assert_eq!(
            health(&p),
            Health::new(HealthStatus::Unknown, "pod phase Unknown: node lost")
        );
    }

    #[test]
    fn waiting_reasons_named_like_kubelet_errors_are_degraded() {
        let pod = |reason: &str| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "status": {"phase": "Pending", "containerStatuses": [
                    {"name": "c", "ready": false, "state": {"waiting": {"reason": reason}}}]}})
        };
        for bad in ["ErrSomethingNew", "PreStartHookError", "SomeNewBackOff"] {
            assert_eq!(health(&pod(bad)).status, HealthStatus::Degraded, "{bad}");
        }
        for fine in ["ContainerCreating", "PodInitializing"] {
            assert_eq!(
                health(&pod(fine)).status,
                HealthStatus::Progressing,
                "{fine}"
            );
        }
    }

    #[test]
    fn kinds_are_matched_by_group_too() {
        // A custom resource that happens to be called Deployment must not get Deployment rules.
        let d = json!({"apiVersion": "example.com/v1", "kind": "Deployment",
            "metadata": {"name": "d"}, "spec": {"replicas": 3}});
        assert_eq!(health(&d), Health::healthy(""));
    }

    #[test]
    fn display_joins_status_and_message() {
        assert_eq!(Health::degraded("boom").to_string(), "Degraded: boom");
        assert_eq!(Health::healthy("").to_string(), "Healthy");
    }
}
