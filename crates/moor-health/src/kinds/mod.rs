//! One health function per kind, Argo CD gitops-engine style. Each returns None to fall through to
//! the `Ready` condition, which only kinds without rules of their own (custom resources) rely on.

mod apiservice;
mod application;
mod certificate;
mod crd;
mod cronjob;
mod daemonset;
mod deployment;
mod hpa;
mod ingress;
mod job;
mod namespace;
mod pod;
mod pvc;
mod replicaset;
mod rollout;
mod service;
mod statefulset;

use serde_json::Value;

use crate::Health;

type Check = fn(&Value) -> Option<Health>;

/// (API group, kind) -> rule. Older groups that served the same kind are listed too, since a
/// cluster may still return them for objects created long ago.
const CHECKS: &[(&str, &str, Check)] = &[
    ("apps", "Deployment", deployment::health),
    ("apps", "StatefulSet", statefulset::health),
    ("apps", "DaemonSet", daemonset::health),
    ("apps", "ReplicaSet", replicaset::health),
    ("", "Pod", pod::health),
    ("", "PersistentVolumeClaim", pvc::health),
    ("", "Service", service::health),
    ("", "Namespace", namespace::health),
    ("batch", "Job", job::health),
    ("batch", "CronJob", cronjob::health),
    ("networking.k8s.io", "Ingress", ingress::health),
    ("extensions", "Ingress", ingress::health),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        crd::health,
    ),
    ("apiregistration.k8s.io", "APIService", apiservice::health),
    ("autoscaling", "HorizontalPodAutoscaler", hpa::health),
    ("moor.dev", "Application", application::health),
    ("argoproj.io", "Application", application::health),
    ("argoproj.io", "Rollout", rollout::health),
    ("cert-manager.io", "Certificate", certificate::health),
];

pub(crate) fn check(group: &str, kind: &str, obj: &Value) -> Option<Health> {
    CHECKS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .and_then(|(_, _, f)| f(obj))
}
