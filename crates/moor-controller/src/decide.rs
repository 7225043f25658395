//! The reconcile's decisions, apart from its I/O: which operation to run, and whether (and why)
//! to sync now. They read plain values taken from the app's spec and status, so each branch is
//! tested below without a cluster.

use std::time::Duration;

use moor_apply::Comparison;
use moor_types::OperationPhase;

use crate::crd::{Application, Automated, Operation, OperationState, Retry};
use crate::retry;

/// The app's last operation as its status records it (running, or finished).
pub fn last_operation(app: &Application) -> Option<&OperationState> {
    app.status.as_ref()?.operation_state.as_ref()
}

/// The operation to run: the one `requested` (the app's `operation` field), or a requested one
/// a crash interrupted (`last` still Running). An interrupted automated sync is not replayed:
/// its revision may be stale, and the automated policy syncs the current one anyway.
pub fn pending_operation(
    requested: Option<&Operation>,
    last: Option<&OperationState>,
) -> Option<Operation> {
    if let Some(op) = requested {
        return Some(op.clone());
    }
    let st = last?;
    let op = st
        .operation
        .as_ref()
        .filter(|_| st.phase == OperationPhase::Running)?;
    let automated = op
        .initiated_by
        .as_ref()
        .and_then(|i| i.get("automated"))
        .is_some_and(|a| a == true || a == "true");
    (!automated).then(|| op.clone())
}

/// The operation to run for `app` (see [`pending_operation`]).
pub fn operation_to_run(app: &Application) -> Option<Operation> {
    pending_operation(app.operation.as_ref(), last_operation(app))
}

/// What the decision to sync reads from the app, besides the comparison.
#[derive(Clone, Debug, Default)]
pub struct SyncFacts<'a> {
    /// An operation is pending (see [`pending_operation`]).
    pub requested: bool,
    /// `syncPolicy.automated`.
    pub automated: Option<&'a Automated>,
    /// `syncPolicy.retry`.
    pub retry: Option<&'a Retry>,
    /// The commit of the app's last sync, whether it succeeded or failed.
    pub last_synced: Option<&'a str>,
    /// The retries so far, when the last sync failed at the commit now wanted.
    pub failed_retries: Option<i64>,
    /// Time since the last sync finished, when known.
    pub since_finished: Option<Duration>,
}

impl<'a> SyncFacts<'a> {
    /// The facts of `app` for a sync of `commit`.
    pub fn of(app: &'a Application, commit: &str, requested: bool) -> SyncFacts<'a> {
        SyncFacts {
            requested,
            automated: app.automated(),
            retry: app.retry(),
            last_synced: crate::sync_request::last_synced(app),
            failed_retries: retry::failed_at(app, commit),
            since_finished: retry::since_finished(app),
        }
    }
}

/// Why a sync runs now, for its event, and the retry count its operation state carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReason {
    pub why: String,
    pub retry_count: i64,
}

impl SyncReason {
    fn new(why: impl Into<String>, retry_count: i64) -> SyncReason {
        SyncReason {
            why: why.into(),
            retry_count,
        }
    }
}

/// Why to sync `commit` now, or None. A requested sync always runs. Automated apps sync a new
/// revision, retry a failed one when `syncPolicy.retry` allows and its delay has passed; with
/// self-heal they also re-apply drift, if `heal_allowed` (asked last, as it counts the heal:
/// see `backoff.rs`). Objects to prune and nothing else drifted are only synced with `prune`.
pub fn sync_reason(
    facts: &SyncFacts,
    cmp: &Comparison,
    commit: &str,
    heal_allowed: impl FnOnce() -> bool,
) -> Option<SyncReason> {
    if facts.requested {
        return Some(SyncReason::new("sync requested", 0));
    }
    let auto = facts.automated?;
    if cmp.in_sync() {
        return None;
    }
    if facts.last_synced != Some(commit) {
        return Some(SyncReason::new("automated sync of a new revision", 0));
    }
    if let (Some(policy), Some(retried)) = (facts.retry, facts.failed_retries)
        && retry::allowed(policy, retried)
        && facts
            .since_finished
            .is_none_or(|d| d >= retry::delay(policy, retried))
    {
        return Some(SyncReason::new(
            format!("retry {} of the failed sync", retried + 1),
            retried + 1,
        ));
    }
    let pruning_only = cmp.resources.iter().all(|r| r.synced);
    if pruning_only && !auto.prune {
        return None;
    }
    if auto.self_heal && heal_allowed() {
        return Some(SyncReason::new("self-heal of drifted objects", 0));
    }
    None
}

#[cfg(test)]
mod tests {
    use moor_apply::ResourceState;
    use moor_types::{HealthStatus, ObjKey};
    use serde_json::json;

    use super::*;
    use crate::crd::{ApplicationStatus, SyncOperation, SyncPolicy, SyncResult};

    fn op(initiated_by: serde_json::Value) -> Operation {
        Operation {
            sync: Some(SyncOperation {
                revision: Some("abc".into()),
                prune: None,
                ..Default::default()
            }),
            initiated_by: Some(initiated_by),
        }
    }

    fn state(phase: &str, op: Operation) -> OperationState {
        OperationState {
            phase: phase.into(),
            operation: Some(op),
            ..Default::default()
        }
    }

    #[test]
    fn a_requested_operation_is_run() {
        let asked = op(json!({"username": "me"}));
        let other = state("Running", op(json!({"username": "old"})));
        assert_eq!(pending_operation(Some(&asked), None), Some(asked.clone()));
        assert_eq!(pending_operation(Some(&asked), Some(&other)), Some(asked));
        assert_eq!(pending_operation(None, None), None);
    }

    #[test]
    fn an_interrupted_requested_sync_is_resumed() {
        let by_hand = op(json!({"username": "me"}));
        let last = state("Running", by_hand.clone());
        assert_eq!(pending_operation(None, Some(&last)), Some(by_hand));
    }

    #[test]
    fn a_finished_or_automated_operation_is_not_resumed() {
        let by_hand = op(json!({"username": "me"}));
        for phase in ["Succeeded", "Failed", "Error"] {
            assert_eq!(
                pending_operation(None, Some(&state(phase, by_hand.clone()))),
                None
            );
        }
        // Argo CD writes `automated: true`; a string "true" is read the same.
        for automated in [json!({"automated": true}), json!({"automated": "true"})] {
            let last = state("Running", op(automated));
            assert_eq!(pending_operation(None, Some(&last)), None);
        }
        let not_automated = op(json!({"automated": false}));
        let last = state("Running", not_automated.clone());
        assert_eq!(pending_operation(None, Some(&last)), Some(not_automated));
        let without_op = OperationState {
            phase: "Running".into(),
            ..Default::default()
        };
        assert_eq!(pending_operation(None, Some(&without_op)), None);
    }

    #[test]
    fn facts_come_from_the_policy_and_the_last_sync() {
        let mut app = Application::default();
        let retry = Retry {
            limit: Some(3),
            backoff: None,
        };
        app.spec.sync_policy = Some(SyncPolicy {
            automated: Some(AUTO),
            retry: Some(retry.clone()),
            ..Default::default()
        });
        let none = SyncFacts::of(&app, "c1", false);
        assert_eq!((none.last_synced, none.failed_retries), (None, None));
        app.status = Some(ApplicationStatus {
            operation_state: Some(OperationState {
                phase: "Failed".into(),
                sync_result: Some(SyncResult {
                    revision: "c1".into(),
                    resources: vec![],
                    ..Default::default()
                }),
                retry_count: 2,
                finished_at: Some("2020-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let f = SyncFacts::of(&app, "c1", false);
        assert_eq!(f.automated, Some(&AUTO));
        assert_eq!(f.retry, Some(&retry));
        assert_eq!(f.last_synced, Some("c1"));
        assert_eq!(f.failed_retries, Some(2));
        assert!(
            f.since_finished
                .is_some_and(|d| d > Duration::from_secs(86400))
        );
        // Failed at another commit: nothing to retry at this one.
        let f = SyncFacts::of(&app, "c2", true);
        assert!(f.requested);
        assert_eq!((f.last_synced, f.failed_retries), (Some("c1"), None));
    }

    fn resource(name: &str, synced: bool) -> ResourceState {
        ResourceState {
            key: ObjKey::new("", "ConfigMap", Some("default"), name),
            api_version: "v1".into(),
            synced,
            health: moor_health::Health {
                status: HealthStatus::Healthy,
                message: String::new(),
            },
        }
    }

    /// A comparison with `drifted` objects out of sync and `extra` objects to prune.
    fn comparison(drifted: bool, extra: bool) -> Comparison {
        let mut c = Comparison::default();
        c.resources.push(resource("a", true));
        if drifted {
            c.resources.push(resource("b", false));
        }
        if extra {
            c.extra.push(resource("old", false));
        }
        c
    }

    const AUTO: Automated = Automated {
        prune: false,
        self_heal: false,
        allow_empty: false,
    };

    /// An automated app whose last sync was of "c1".
    fn synced_c1(auto: &Automated) -> SyncFacts<'_> {
        SyncFacts {
            automated: Some(auto),
            last_synced: Some("c1"),
            ..Default::default()
        }
    }

    fn why(r: Option<SyncReason>) -> Option<(String, i64)> {
        r.map(|r| (r.why, r.retry_count))
    }

    fn never() -> bool {
        panic!("self-heal must not be asked (it counts a heal)")
    }

    #[test]
    fn a_requested_sync_runs_whatever_the_policy() {
        let facts = SyncFacts {
            requested: true,
            ..Default::default()
        };
        let r = sync_reason(&facts, &comparison(false, false), "c1", never);
        assert_eq!(why(r), Some(("sync requested".into(), 0)));
    }

    #[test]
    fn without_automation_or_drift_nothing_syncs() {
        let manual = SyncFacts::default();
        assert_eq!(
            sync_reason(&manual, &comparison(true, true), "c2", never),
            None
        );
        let auto = synced_c1(&AUTO);
        assert_eq!(
            sync_reason(&auto, &comparison(false, false), "c2", never),
            None
        );
    }

    #[test]
    fn a_new_revision_syncs() {
        let r = sync_reason(&synced_c1(&AUTO), &comparison(true, false), "c2", never);
        assert_eq!(why(r), Some(("automated sync of a new revision".into(), 0)));
        let never_synced = SyncFacts {
            automated: Some(&AUTO),
            ..Default::default()
        };
        let r = sync_reason(&never_synced, &comparison(true, false), "c1", never);
        assert_eq!(why(r), Some(("automated sync of a new revision".into(), 0)));
    }

    #[test]
    fn a_failed_sync_is_retried_once_its_delay_passed() {
        let policy = Retry {
            limit: Some(2),
            backoff: None,
        };
        let failed = |retried, since| SyncFacts {
            retry: Some(&policy),
            failed_retries: Some(retried),
            since_finished: since,
            ..synced_c1(&AUTO)
        };
        let cmp = comparison(true, false);
        let secs = |s| Some(Duration::from_secs(s));
        // Default delay: 5 s, then 10 s.
        let r = sync_reason(&failed(0, secs(5)), &cmp, "c1", never);
        assert_eq!(why(r), Some(("retry 1 of the failed sync".into(), 1)));
        assert_eq!(sync_reason(&failed(0, secs(4)), &cmp, "c1", never), None);
        assert_eq!(sync_reason(&failed(1, secs(9)), &cmp, "c1", never), None);
        let r = sync_reason(&failed(1, None), &cmp, "c1", never);
        assert_eq!(why(r), Some(("retry 2 of the failed sync".into(), 2)));
        // The limit is reached.
        assert_eq!(sync_reason(&failed(2, secs(600)), &cmp, "c1", never), None);
        // No retry policy: a failed revision waits for a new one.
        let no_policy = SyncFacts {
            failed_retries: Some(0),
            since_finished: secs(600),
            ..synced_c1(&AUTO)
        };
        assert_eq!(sync_reason(&no_policy, &cmp, "c1", never), None);
    }

    #[test]
    fn drift_is_healed_only_with_self_heal_and_when_the_backoff_allows() {
        let cmp = comparison(true, false);
        assert_eq!(sync_reason(&synced_c1(&AUTO), &cmp, "c1", never), None);
        let heal = Automated {
            self_heal: true,
            ..AUTO
        };
        let r = sync_reason(&synced_c1(&heal), &cmp, "c1", || true);
        assert_eq!(why(r), Some(("self-heal of drifted objects".into(), 0)));
        assert_eq!(sync_reason(&synced_c1(&heal), &cmp, "c1", || false), None);
    }

    #[test]
    fn objects_left_to_prune_are_healed_only_with_prune() {
        let cmp = comparison(false, true);
        let heal = Automated {
            self_heal: true,
            ..AUTO
        };
        assert_eq!(sync_reason(&synced_c1(&heal), &cmp, "c1", never), None);
        let heal_and_prune = Automated {
            prune: true,
            ..heal
        };
        let r = sync_reason(&synced_c1(&heal_and_prune), &cmp, "c1", || true);
        assert_eq!(why(r), Some(("self-heal of drifted objects".into(), 0)));
        // A new revision syncs even when it only prunes (the sync decides what to prune).
        let r = sync_reason(&synced_c1(&heal), &cmp, "c2", never);
        assert_eq!(why(r), Some(("automated sync of a new revision".into(), 0)));
    }
}
