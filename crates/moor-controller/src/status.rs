//! Building the Application status: resources, sync and health, history, conditions.

use moor_apply::{ChangeSet, Comparison};
use moor_types::{ConditionType, SyncStatus};

use crate::crd::*;

/// RFC 3339 time, seconds precision, as Kubernetes writes it.
pub fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Adds a condition saying why the app is not plainly Synced (cleared at each reconcile).
pub fn condition(status: &mut ApplicationStatus, type_: ConditionType, message: &str) {
    status.conditions.push(Condition {
        type_: type_.to_string(),
        message: message.to_string(),
        last_transition_time: Some(now()),
    });
}

/// Sync, health and resources from a comparison at `commit` (with `spec.sources`, every
/// source's revision joined) and, with `spec.sources`, each source's `revisions`.
pub fn apply_comparison(
    status: &mut ApplicationStatus,
    cmp: &Comparison,
    commit: &str,
    revisions: &[String],
) {
    let sync = if cmp.in_sync() {
        SyncStatus::Synced
    } else {
        SyncStatus::OutOfSync
    };
    // The commit's metadata is looked up once per revision; it stays while the revision does.
    let revision_metadata = (status.sync.revision.as_deref() == Some(commit))
        .then(|| status.sync.revision_metadata.take())
        .flatten();
    status.sync = SyncStatusField {
        status: sync.to_string(),
        revision: Some(commit.to_string()),
        revisions: revisions.to_vec(),
        revision_metadata,
    };
    let health = cmp.health();
    let unhealthy: Vec<String> = cmp
        .resources
        .iter()
        .filter(|r| r.health.status == health && health != moor_types::HealthStatus::Healthy)
        .map(|r| {
            if r.health.message.is_empty() {
                r.key.to_string()
            } else {
                format!("{}: {}", r.key, r.health.message)
            }
        })
        .take(5)
        .collect();
    status.health = HealthStatusField {
        status: health.to_string(),
        message: (!unhealthy.is_empty()).then(|| unhealthy.join("; ")),
    };
    status.resources = cmp
        .resources
        .iter()
        .chain(&cmp.extra)
        .map(|r| {
            let (group, version) = api_group_version(&r.api_version);
            ResourceStatus {
                group,
                version,
                kind: r.key.kind.clone(),
                namespace: r.key.namespace.clone(),
                name: r.key.name.clone(),
                status: if r.synced {
                    SyncStatus::Synced
                } else {
                    SyncStatus::OutOfSync
                }
                .to_string(),
                health: Some(HealthStatusField {
                    status: r.health.status.to_string(),
                    message: (!r.health.message.is_empty()).then(|| r.health.message.clone()),
                }),
            }
        })
        .collect();
}

pub fn sync_result(set: &ChangeSet, commit: &str, revisions: &[String]) -> SyncResult {
    SyncResult {
        revision: commit.to_string(),
        revisions: revisions.to_vec(),
        resources: set
            .objects
            .iter()
            .map(|o| {
                let (group, version) = api_group_version(&o.api_version);
                ResourceResult {
                    group,
                    version,
                    kind: o.key.kind.clone(),
                    namespace: o.key.namespace.clone(),
                    name: o.key.name.clone(),
                    status: o.change.to_string(),
                    message: o.message.clone(),
                    hook_type: None,
                    hook_phase: None,
                }
            })
            .collect(),
    }
}

/// Records a deployed revision (with `spec.sources`: every source's, joined, and each one in
/// `revisions` beside the `sources`); keeps `revisionHistoryLimit` entries (default 10).
pub fn add_history(
    status: &mut ApplicationStatus,
    app: &Application,
    commit: &str,
    revisions: &[String],
) {
    if status.history.last().is_some_and(|h| h.revision == commit) {
        return;
    }
    let id = status.history.iter().map(|h| h.id).max().unwrap_or(-1) + 1;
    let multi = app.is_multi_source();
    status.history.push(HistoryEntry {
        id,
        revision: commit.to_string(),
        deployed_at: now(),
        source: (!multi).then(|| app.spec.source.clone()),
        revisions: revisions.to_vec(),
        sources: if multi {
            app.spec.sources.clone()
        } else {
            vec![]
        },
        revision_metadata: None,
    });
    let limit = app.spec.revision_history_limit.unwrap_or(10) as usize;
    if status.history.len() > limit {
        let drop = status.history.len() - limit;
        status.history.drain(..drop);
    }
}

/// Equal but for the reconcile time and condition timestamps: then no status write is needed.
/// Every reconcile asks, so one copy (of `b`, given `a`'s times), not two stripped ones.
pub fn same_ignoring_time(a: &ApplicationStatus, b: &ApplicationStatus) -> bool {
    if a.conditions.len() != b.conditions.len() {
        return false;
    }
    let mut b = b.clone();
    b.reconciled_at.clone_from(&a.reconciled_at);
    for (cb, ca) in b.conditions.iter_mut().zip(&a.conditions) {
        cb.last_transition_time.clone_from(&ca.last_transition_time);
    }
    *a == b
}

/// `apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`): the group and version fields of status entries.
pub fn api_group_version(api_version: &str) -> (String, String) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_skips_repeats() {
        let mut app = Application::default();
        app.spec.revision_history_limit = Some(2);
        let mut st = ApplicationStatus::default();
        add_history(&mut st, &app, "a", &[]);
        add_history(&mut st, &app, "a", &[]);
        add_history(&mut st, &app, "b", &[]);
        add_history(&mut st, &app, "c", &[]);
        let revs: Vec<_> = st
            .history
            .iter()
            .map(|h| (h.id, h.revision.as_str()))
            .collect();
        assert_eq!(revs, [(1, "b"), (2, "c")]);
    }

    #[test]
    fn reconcile_time_alone_is_no_change() {
        let a = ApplicationStatus {
            reconciled_at: Some("x".into()),
            ..Default::default()
        };
        let mut b = a.clone();
        b.reconciled_at = Some("y".into());
        assert!(same_ignoring_time(&a, &b));
        b.sync.status = "Synced".into();
        assert!(!same_ignoring_time(&a, &b));
        // A condition's time alone is no change either; its message, or another one, is.
        let cond = |msg: &str, at: &str| Condition {
            type_: ConditionType::SyncError.to_string(),
            message: msg.into(),
            last_transition_time: Some(at.into()),
        };
        let mut c = a.clone();
        c.conditions = vec![cond("m", "t1")];
        let mut d = a.clone();
        d.conditions = vec![cond("m", "t2")];
        assert!(same_ignoring_time(&c, &d));
        d.conditions[0].message = "n".into();
        assert!(!same_ignoring_time(&c, &d));
        d.conditions = vec![cond("m", "t2"), cond("m", "t2")];
        assert!(!same_ignoring_time(&c, &d));
    }
}
