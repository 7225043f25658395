//! Deployment: paused, progress deadline, then the rollout counters `kubectl rollout status` reads.

use serde_json::Value;

use crate::Health;
use crate::util::{bool_at, condition, count, name, spec_replicas};

pub(super) fn health(obj: &Value) -> Option<Health> {
    if bool_at(obj, "/spec/paused") {
        return Some(Health::suspended("deployment is paused"));
    }
    if let Some(c) =
        condition(obj, "Progressing").filter(|c| c.reason == "ProgressDeadlineExceeded")
    {
        let mut msg = format!("deployment {:?} exceeded its progress deadline", name(obj));
        if !c.message.is_empty() {
            msg = format!("{msg}: {}", c.message);
        }
        return Some(Health::degraded(msg));
    }
    let want = spec_replicas(obj);
    let replicas = count(obj, "/status/replicas");
    let updated = count(obj, "/status/updatedReplicas");
    let available = count(obj, "/status/availableReplicas");
    Some(if updated < want {
        Health::progressing(format!(
            "Waiting for rollout to finish: {updated} out of {want} new replicas have been updated..."
        ))
    } else if replicas > updated {
        Health::progressing(format!(
            "Waiting for rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ))
    } else if available < updated {
        Health::progressing(format!(
            "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
        ))
    } else {
        Health::healthy(format!("{available} of {want} replicas available"))
    })
}
