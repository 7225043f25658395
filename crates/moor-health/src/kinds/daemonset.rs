//! DaemonSet: scheduled, updated and available pods against the desired number of nodes.

use serde_json::Value;

use crate::Health;
use crate::util::{count, name, str_at};

pub(super) fn health(obj: &Value) -> Option<Health> {
    let desired = count(obj, "/status/desiredNumberScheduled");
    let updated = count(obj, "/status/updatedNumberScheduled");
    let available = count(obj, "/status/numberAvailable");
    if str_at(obj, "/spec/updateStrategy/type") == Some("OnDelete") {
        // Pods only change when deleted; an old revision is what the user asked for.
        return Some(Health::healthy(format!(
            "{available} of {desired} pods available (OnDelete: pods update when deleted)"
        )));
    }
    let name = name(obj);
    Some(if updated < desired {
        Health::progressing(format!(
            "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
        ))
    } else if available < desired {
        Health::progressing(format!(
            "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
        ))
    } else {
        Health::healthy(format!("{available} of {desired} pods available"))
    })
}
