//! Every fixture under tests/fixtures is a live object as a cluster returns it; the table says
//! what health it must have and a piece of the message a user would see.

use std::path::Path;

use moor_health::{Health, HealthStatus, health};
use serde_json::Value;

use HealthStatus::{Degraded, Healthy, Missing, Progressing, Suspended, Unknown};

// One row per fixture, kept one line each so the table reads as a table.
#[rustfmt::skip]
const CASES: &[(&str, HealthStatus, &str)] = &[
    ("apiservice-available", Healthy, "all checks passed"),
    ("apiservice-unavailable", Degraded, "FailedDiscoveryCheck: failing or missing response"),
    ("apiservice-unknown", Progressing, "waiting for the API service"),
    ("application-argo-progressing", Progressing, "1 out of 3 new replicas have been updated"),
    ("application-argo-suspended", Suspended, ""),
    ("application-degraded", Degraded, "Deployment payments/api: \"api\" exceeded its progress deadline"),
    ("application-healthy", Healthy, "all 4 objects are healthy"),
    ("application-missing", Missing, "3 objects are not in the cluster yet"),
    ("application-no-status", Progressing, "waiting for the controller"),
    ("application-unrecognised", Unknown, "unrecognised health status \"Broken\": written by"),
    ("certificate-failed", Degraded, "not ready: Failed: The certificate request has failed to complete"),
    ("certificate-issuing", Progressing, "issuing: DoesNotExist: Issuing certificate as Secret does not exist"),
    ("certificate-ready", Healthy, "Certificate is up to date"),
    ("clusterrole-plain", Healthy, ""),
    ("configmap-plain", Healthy, ""),
    ("crd-established", Healthy, "established"),
    ("crd-installing", Progressing, "not established yet: Installing"),
    ("crd-names-conflict", Degraded, "ShortNamesConflict: \"wd\" is already in use"),
    ("cronjob-active", Healthy, "last scheduled at 2025-03-05T01:00:00Z"),
    ("cronjob-suspended", Suspended, "cronjob is suspended"),
    ("daemonset-healthy", Healthy, "3 of 3 pods available"),
    ("daemonset-ondelete", Healthy, "OnDelete"),
    ("daemonset-unavailable", Progressing, "2 of 3 updated pods are available"),
    ("daemonset-updating", Progressing, "1 out of 3 new pods have been updated"),
    ("deployment-generation", Progressing, "waiting for the controller to observe generation 6"),
    ("deployment-healthy", Healthy, "3 of 3 replicas available"),
    ("deployment-old-replicas", Progressing, "1 old replicas are pending termination"),
    ("deployment-paused", Suspended, "deployment is paused"),
    ("deployment-progress-deadline", Degraded, "\"web\" exceeded its progress deadline"),
    ("deployment-terminating", Progressing, "waiting for finalizers foregroundDeletion"),
    ("deployment-unavailable", Progressing, "1 of 3 updated replicas are available"),
    ("deployment-updating", Progressing, "1 out of 3 new replicas have been updated"),
    ("hpa-healthy", Healthy, "the HPA was able to successfully calculate a replica count"),
    ("hpa-no-metrics", Degraded, "scaling inactive: FailedGetResourceMetric: the HPA was unable to compute"),
    ("hpa-scaling-disabled", Suspended, "scaling disabled: scaling is disabled since the replica count"),
    ("hpa-v1-bad-annotation", Unknown, "cannot read the autoscaling.alpha.kubernetes.io/conditions annotation: it is not a JSON list"),
    ("hpa-v1-healthy", Healthy, "the HPA was able to successfully calculate a replica count"),
    ("hpa-v1-new", Progressing, "waiting for the autoscaler to compute metrics"),
    ("hpa-v1-no-metrics", Degraded, "scaling inactive: FailedGetResourceMetric: the HPA was unable to compute"),
    ("ingress-pending", Progressing, "publish an address (none since it was created at 2025-03-02T10:14:08Z); none may be running in this cluster"),
    ("ingress-ready", Healthy, "address"),
    ("job-complete", Healthy, "job completed"),
    ("job-failed", Degraded, "BackoffLimitExceeded: Job has reached the specified backoff limit"),
    ("job-running", Progressing, "1 active, 0 succeeded, 1 failed"),
    ("job-suspended", Suspended, "job is suspended"),
    ("kustomization-reconciling", Progressing, "reconciling: ProgressingWithRetry"),
    ("kustomization-stalled", Degraded, "stalled: InvalidPath: kustomization path not found"),
    ("namespace-active", Healthy, ""),
    ("namespace-terminating", Progressing, "terminating"),
    ("pod-container-creating", Progressing, "waiting for containers: envoy (ContainerCreating)"),
    ("pod-crashloop", Degraded, "container \"web\" is waiting: CrashLoopBackOff"),
    ("pod-create-config-error", Degraded, "CreateContainerConfigError: secret"),
    ("pod-err-image-pull", Degraded, "container \"web\" is waiting: ErrImagePull"),
    ("pod-evicted", Degraded, "pod failed: Evicted: The node was low on resource: memory"),
    ("pod-failed", Degraded, "container \"web\" exited with code 2 (Error)"),
    ("pod-image-pull-backoff", Degraded, "container \"web\" is waiting: ImagePullBackOff"),
    ("pod-not-ready", Progressing, "containers not ready: web"),
    ("pod-recovered-after-restart", Healthy, "all containers are ready"),
    ("pod-restarting-after-error", Degraded, "container \"api\" is restarting after it exited with code 1 (Error); 1 restart(s): panic: DATABASE_URL is not set"),
    ("pod-run-once-running", Progressing, "pod is running"),
    ("pod-running", Healthy, "all containers are ready"),
    ("pod-succeeded", Healthy, "pod completed"),
    ("pod-unschedulable", Progressing, "Unschedulable: 0/3 nodes are available"),
    ("pvc-bound", Healthy, "bound to volume pvc-7c9e1a3b"),
    ("pvc-lost", Degraded, "lost"),
    ("pvc-pending", Progressing, "waiting for the claim to be bound"),
    ("replicaset-healthy", Healthy, "3 of 3 replicas available"),
    ("replicaset-not-ready", Progressing, "1 of 3 replicas are ready"),
    ("replicaset-replica-failure", Degraded, "FailedCreate: pods \"web-5c8f9d7b6-x2k9p\""),
    ("rolebinding-plain", Healthy, ""),
    ("rollout-degraded", Degraded, "RolloutAborted: Rollout aborted update to revision 6"),
    ("rollout-healthy", Healthy, "rollout is healthy"),
    ("rollout-new-generation", Progressing, "observe generation 8 (observed 7)"),
    ("rollout-paused", Suspended, "rollout is paused: CanaryPauseStep"),
    ("rollout-progressing", Progressing, "more replicas need to be updated"),
    ("secret-opaque", Healthy, ""),
    ("service-cluster-ip", Healthy, ""),
    ("service-lb-pending", Progressing, "waiting for the load balancer"),
    ("service-lb-ready", Healthy, "load balancer is ready"),
    ("serviceaccount-plain", Healthy, ""),
    ("statefulset-healthy", Healthy, "rolling update complete 3 pods at revision db-5d8f7c9b4"),
    ("statefulset-not-ready", Progressing, "Waiting for 2 pods to be ready"),
    ("statefulset-ondelete", Healthy, "OnDelete"),
    ("statefulset-partition-done", Healthy, "partitioned roll out complete: 3 new pods"),
    ("statefulset-partition-pending", Progressing, "1 out of 3 new pods have been updated"),
    ("statefulset-rolling-update", Progressing, "1 pods at revision db-6b7c8d9e0"),
    ("widget-generation", Progressing, "observe generation 4 (observed 3)"),
    ("widget-no-status", Healthy, ""),
];

fn fixtures_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn load(stem: &str) -> Value {
    let path = fixtures_dir().join(format!("{stem}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_has_the_expected_health() {
    let mut failures = Vec::new();
    for (stem, status, needle) in CASES {
        let h = health(&load(stem));
        if h.status != *status || !h.message.contains(needle) {
            failures.push(format!(
                "{stem}: want {status} containing {needle:?}, got {h}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A fixture without a table row would silently test nothing.
#[test]
fn every_fixture_is_in_the_table() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let in_table: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    assert_eq!(
        on_disk, in_table,
        "fixtures on disk and table rows differ (table is sorted)"
    );
}

/// The full messages, reviewed once, so wording changes show up in review.
#[test]
fn messages_snapshot() {
    let lines: Vec<String> = CASES
        .iter()
        .map(|(stem, _, _)| format!("{stem}: {}", health(&load(stem))))
        .collect();
    insta::assert_snapshot!("messages", lines.join("\n"));
}

#[test]
fn aggregate_over_fixtures_is_the_worst() {
    let hs: Vec<Health> = ["deployment-healthy", "pod-crashloop", "job-running"]
        .iter()
        .map(|s| health(&load(s)))
        .collect();
    assert_eq!(moor_health::aggregate(&hs), Degraded);
}

/// An app of apps: the parent's objects are child Applications, so the parent is healthy only
/// when every child reports healthy.
#[test]
fn app_of_apps_is_as_healthy_as_its_children() {
    let children =
        |stems: &[&str]| -> Vec<Health> { stems.iter().map(|s| health(&load(s))).collect() };
    assert_eq!(
        moor_health::aggregate(&children(&[
            "application-healthy",
            "application-argo-suspended"
        ])),
        Suspended
    );
    assert_eq!(
        moor_health::aggregate(&children(&["application-healthy", "application-no-status"])),
        Progressing
    );
    assert_eq!(
        moor_health::aggregate(&children(&["application-healthy", "application-degraded"])),
        Degraded
    );
}

/// User rules in the style of Flux's CEL cheat sheet (macros over `status.conditions`) judge real
/// objects, and replace the built-in rule of their kind.
#[test]
fn flux_style_cel_rules_judge_fixtures() {
    let rule = moor_health::HealthCheckExpr {
        api_version: "cert-manager.io/v1".into(),
        kind: "Certificate".into(),
        current: "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')".into(),
        in_progress: None,
        failed: Some(
            "has(self.status.conditions) && self.status.conditions.exists(e, e.type == 'Ready' \
             && e.status == 'False')"
                .into(),
        ),
    };
    let rules = moor_health::HealthRules::compile(&[rule]).unwrap();
    let ready = rules.health(&load("certificate-ready"));
    assert_eq!(ready.status, Healthy, "{ready}");
    assert!(
        ready.message.contains("Certificate is up to date"),
        "{ready}"
    );
    // Built in, an issuing certificate is Progressing; this rule calls any Ready=False failed.
    let issuing = rules.health(&load("certificate-issuing"));
    assert_eq!(issuing.status, Degraded, "{issuing}");
    assert!(issuing.message.contains("failed is true"), "{issuing}");
    // Other kinds keep their built-in rules.
    assert_eq!(rules.health(&load("pod-crashloop")).status, Degraded);
    assert_eq!(rules.health(&load("deployment-healthy")).status, Healthy);
}
