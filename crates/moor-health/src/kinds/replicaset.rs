//! ReplicaSet: pod creation failures (quota, admission) and ready/available counts.

use serde_json::Value;

use crate::util::{condition, count, spec_replicas};
use crate::{Health, with_detail};

pub(super) fn health(obj: &Value) -> Option<Health> {
    if let Some(c) = condition(obj, "ReplicaFailure").filter(|c| c.is_true()) {
        return Some(Health::degraded(with_detail(
            "cannot create pods",
            &c.describe(),
        )));
    }
    let want = spec_replicas(obj);
    let ready = count(obj, "/status/readyReplicas");
    let available = count(obj, "/status/availableReplicas");
    Some(if ready < want {
        Health::progressing(format!(
            "Waiting for pods: {ready} of {want} replicas are ready..."
        ))
    } else if available < want {
        Health::progressing(format!(
            "Waiting for pods: {available} of {want} replicas are available..."
        ))
    } else {
        Health::healthy(format!("{available} of {want} replicas available"))
    })
}
