//! Argo Rollouts Rollout: the controller computes the verdict itself in `status.phase`
//! (Healthy, Progressing, Degraded, Paused) with a `status.message`.

use serde_json::Value;

use crate::util::str_at;
use crate::{Health, with_detail};

pub(super) fn health(obj: &Value) -> Option<Health> {
    // Rollouts writes observedGeneration as a string, which the generic rule does not read.
    let generation = obj.pointer("/metadata/generation").map(as_text);
    let observed = obj.pointer("/status/observedGeneration").map(as_text);
    if let (Some(g), Some(o)) = (&generation, &observed)
        && g != o
    {
        return Some(Health::progressing(format!(
            "waiting for the rollout controller to observe generation {g} (observed {o})"
        )));
    }
    let message = str_at(obj, "/status/message").unwrap_or("");
    Some(match str_at(obj, "/status/phase") {
        Some("Healthy") => Health::healthy(if message.is_empty() {
            "rollout is healthy"
        } else {
            message
        }),
        Some("Degraded") => Health::degraded(message),
        Some("Paused") => Health::suspended(with_detail("rollout is paused", message)),
        Some("Progressing") => Health::progressing(message),
        Some(other) => Health::new(
            moor_types::HealthStatus::Unknown,
            with_detail(&format!("unrecognised rollout phase {other:?}"), message),
        ),
        None => Health::progressing("waiting for the rollout controller"),
    })
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
