//! Argo CD's selective sync (`operation.sync.resources`): a sync of some of the app's objects.
//! Only the selected objects are applied, and only selected ones are pruned; the inventory keeps
//! every other entry (an object not selected is still the app's), and no hook runs (Argo CD
//! skips them too, as a hook belongs to the whole app's sync).

use moor_types::{ObjKey, Origin};

use crate::Plan;
use crate::error::ObjectError;

/// Narrows `plan` to the objects of `selection`. A selected object the render does not have and
/// the app does not own (nothing to apply or prune) is returned: the sync fails before any
/// write, naming it.
pub(crate) fn narrow(plan: &mut Plan, selection: &[ObjKey]) -> Result<(), Vec<ObjectError>> {
    let missing: Vec<ObjectError> = selection
        .iter()
        .filter(|k| {
            !plan.planned.iter().any(|p| &p.d.key == *k)
                && !plan.stale.iter().any(|e| &e.key() == *k)
        })
        .map(|k| ObjectError {
            key: k.clone(),
            origin: Origin::default(),
            reason: "selected for sync (operation.sync.resources), but the source does not \
                     render it and the app does not own it"
                .into(),
        })
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    plan.planned.retain(|p| selection.contains(&p.d.key));
    plan.stale.retain(|e| selection.contains(&e.key()));
    plan.desired_entries
        .retain(|e| selection.contains(&e.key()));
    plan.hooks.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Entry;

    fn entry(kind: &str, name: &str) -> Entry {
        Entry {
            group: String::new(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some("shop".into()),
            name: name.into(),
        }
    }

    #[test]
    fn only_selected_stale_objects_stay_and_an_unknown_one_is_named() {
        let mut plan = Plan {
            planned: vec![],
            previous: Default::default(),
            previous_rv: None,
            desired_entries: [entry("ConfigMap", "a"), entry("ConfigMap", "b")].into(),
            stale: vec![entry("ConfigMap", "old"), entry("Secret", "old")],
            started_at: k8s_openapi::jiff::Timestamp::now(),
            hooks: vec![],
        };
        let old = ObjKey::new("", "ConfigMap", Some("shop"), "old");
        narrow(&mut plan, std::slice::from_ref(&old)).unwrap();
        assert_eq!(plan.stale, [entry("ConfigMap", "old")]);
        // Not applied, so not added to the inventory by this sync (nor removed from it).
        assert!(plan.desired_entries.is_empty());

        let ghost = ObjKey::new("apps", "Deployment", Some("shop"), "ghost");
        let err = narrow(&mut plan, &[old, ghost]).unwrap_err();
        let text = crate::SyncError::Invalid(err).to_string();
        assert!(text.contains("Deployment shop/ghost"), "{text}");
        assert!(text.contains("operation.sync.resources"), "{text}");
    }
}
