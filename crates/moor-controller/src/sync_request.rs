//! What a requested sync asks beyond "sync everything": Argo CD's `dryRun` (validate and
//! dry-run, report, write nothing) and `resources` (a selective sync), turned into the engine's
//! options, and the operation's message for each.

use moor_apply::{ChangeSet, SyncOptions};
use moor_types::{Change, ObjKey};

use crate::crd::{Application, Operation, OperationState, SyncOperationResource};

/// Sets `opts.dry_run` and `opts.selection` from the operation `op`.
pub fn apply(op: &Operation, opts: &mut SyncOptions) {
    let Some(sync) = &op.sync else {
        return;
    };
    opts.dry_run = sync.dry_run;
    opts.selection =
        (!sync.resources.is_empty()).then(|| sync.resources.iter().map(key_of).collect());
}

/// The operation `st` records was a dry run or a selective sync: it did not sync its revision
/// as a whole, so automation neither takes the revision as synced nor retries it as failed.
pub fn partial(st: &OperationState) -> bool {
    let sync = st.operation.as_ref().and_then(|o| o.sync.as_ref());
    sync.is_some_and(|s| s.dry_run || !s.resources.is_empty())
}

/// The revision automation takes the app as synced at: the last operation's, but for a dry run
/// (which synced nothing) the last one deployed, from the history. A selective sync counts, as
/// in Argo CD: automation does not sync the rest of that revision, self-heal does.
pub fn last_synced(app: &Application) -> Option<&str> {
    let status = app.status.as_ref()?;
    let last = status.operation_state.as_ref()?;
    if last
        .operation
        .as_ref()
        .and_then(|o| o.sync.as_ref())
        .is_some_and(|s| s.dry_run)
    {
        return status.history.last().map(|h| h.revision.as_str());
    }
    last.sync_result.as_ref().map(|r| r.revision.as_str())
}

/// The object a selective sync names; an empty namespace is a cluster-scoped object's.
fn key_of(r: &SyncOperationResource) -> ObjKey {
    ObjKey::new(&r.group, &r.kind, r.namespace.as_deref(), &r.name)
}

/// The operation's message once the engine returned `set`.
pub fn summary(set: &ChangeSet, selective: bool) -> String {
    let n = set.objects.len();
    let some = if selective { " selected" } else { "" };
    if set.dry_run {
        let count = |cs: &[Change]| {
            set.objects
                .iter()
                .filter(|o| cs.contains(&o.change))
                .count()
        };
        let created = count(&[Change::Created]);
        let configured = count(&[Change::Configured, Change::Adopted, Change::Replaced]);
        let pruned = count(&[Change::Pruned]);
        return format!(
            "dry run of {n}{some} objects, nothing written: {created} would be created, \
             {configured} configured, {pruned} pruned"
        );
    }
    let changed = (set.objects.iter())
        .filter(|o| o.change != Change::Unchanged)
        .count();
    format!("synced {n}{some} objects ({changed} changed)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::SyncOperation;
    use moor_apply::ObjectResult;

    fn result(name: &str, change: Change) -> ObjectResult {
        ObjectResult {
            key: ObjKey::new("", "ConfigMap", Some("ns"), name),
            api_version: "v1".into(),
            change,
            message: String::new(),
        }
    }

    #[test]
    fn a_dry_run_says_so_and_counts_what_it_would_do() {
        let mut set = ChangeSet {
            dry_run: true,
            objects: vec![
                result("a", Change::Created),
                result("b", Change::Configured),
                result("c", Change::Unchanged),
                result("d", Change::Pruned),
            ],
            ..Default::default()
        };
        assert_eq!(
            summary(&set, false),
            "dry run of 4 objects, nothing written: 1 would be created, 1 configured, 1 pruned"
        );
        set.dry_run = false;
        assert_eq!(summary(&set, true), "synced 4 selected objects (3 changed)");
    }

    #[test]
    fn the_operation_sets_dry_run_and_the_selection() {
        let op: Operation = serde_json::from_value(serde_json::json!({"sync": {
            "dryRun": true,
            "resources": [{"group": "", "kind": "ConfigMap", "namespace": "ns", "name": "a"},
                          {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "namespace": "", "name": "r"}]}}))
        .unwrap();
        let mut opts = SyncOptions::new("app", "ns");
        apply(&op, &mut opts);
        assert!(opts.dry_run);
        assert_eq!(
            opts.selection.unwrap(),
            [
                ObjKey::new("", "ConfigMap", Some("ns"), "a"),
                ObjKey::new("rbac.authorization.k8s.io", "ClusterRole", None, "r"),
            ]
        );
        let plain = Operation {
            sync: Some(SyncOperation::default()),
            initiated_by: None,
        };
        let mut opts = SyncOptions::new("app", "ns");
        apply(&plain, &mut opts);
        assert!(!opts.dry_run && opts.selection.is_none());

        let state = |op: &Operation| OperationState {
            operation: Some(op.clone()),
            ..Default::default()
        };
        assert!(partial(&state(&op)));
        assert!(!partial(&state(&plain)));
    }

    #[test]
    fn a_dry_run_leaves_the_revision_synced_as_the_history_has_it() {
        let with = |op: Operation, result: &str| {
            let mut app = Application::default();
            let status = app.status.get_or_insert_default();
            status.history.push(crate::crd::HistoryEntry {
                revision: "c1".into(),
                ..Default::default()
            });
            status.operation_state = Some(OperationState {
                operation: Some(op),
                sync_result: Some(crate::crd::SyncResult {
                    revision: result.into(),
                    ..Default::default()
                }),
                ..Default::default()
            });
            app
        };
        let op = |dry_run| Operation {
            sync: Some(SyncOperation {
                dry_run,
                ..Default::default()
            }),
            initiated_by: None,
        };
        assert_eq!(last_synced(&with(op(true), "c2")), Some("c1"));
        assert_eq!(last_synced(&with(op(false), "c2")), Some("c2"));
        assert_eq!(last_synced(&Application::default()), None);
    }
}
