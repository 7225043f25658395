//! StatefulSet: ready pods first, then the update strategy decides what "rolled out" means.

use serde_json::Value;

use crate::Health;
use crate::util::{count, int_at, spec_replicas, str_at};

pub(super) fn health(obj: &Value) -> Option<Health> {
    // Without observedGeneration the controller has not looked at the object yet; the generic
    // rule only covers a stale value, not a missing one.
    if int_at(obj, "/status/observedGeneration").is_none() {
        return Some(Health::progressing(
            "waiting for the statefulset spec to be observed",
        ));
    }
    let want = spec_replicas(obj);
    let ready = count(obj, "/status/readyReplicas");
    if ready < want {
        return Some(Health::progressing(format!(
            "Waiting for {} pods to be ready ({ready} of {want} ready)...",
            want - ready
        )));
    }
    let strategy = str_at(obj, "/spec/updateStrategy/type").unwrap_or("RollingUpdate");
    if strategy == "OnDelete" {
        // Pods only change when someone deletes them, so there is no rollout to wait for.
        return Some(Health::healthy(format!(
            "{ready} of {want} pods ready (OnDelete: pods update when deleted)"
        )));
    }
    let updated = count(obj, "/status/updatedReplicas");
    if let Some(partition) =
        int_at(obj, "/spec/updateStrategy/rollingUpdate/partition").filter(|p| *p > 0)
    {
        // Only ordinals >= partition are updated; the rest stay on the old revision on purpose.
        let target = (want - partition).max(0);
        return Some(if updated < target {
            Health::progressing(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {target} new pods have been updated..."
            ))
        } else {
            Health::healthy(format!(
                "partitioned roll out complete: {updated} new pods have been updated"
            ))
        });
    }
    let current = str_at(obj, "/status/currentRevision").unwrap_or("");
    let update = str_at(obj, "/status/updateRevision").unwrap_or("");
    Some(if !update.is_empty() && update != current {
        Health::progressing(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update}..."
        ))
    } else {
        Health::healthy(format!(
            "statefulset rolling update complete {ready} pods at revision {current}"
        ))
    })
}
