//! Pod: phase first, then container states. A container stuck waiting on an error is Degraded
//! even while the phase still says Pending or Running, since it will not fix itself; so is one
//! that exited with an error and is being restarted (as Argo CD decides it), without waiting for
//! the kubelet to call it CrashLoopBackOff.

use serde_json::Value;

use crate::util::{condition, str_at};
use crate::{Health, with_detail};

/// Waiting reasons that mean the kubelet gave up for now, not that it is still starting.
const BAD_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// A listed reason, or one named like the kubelet names its errors (`Err...`, `...Error`,
/// `...BackOff`), as Argo CD reads them: new error reasons need no new release.
fn is_bad_waiting(reason: &str) -> bool {
    BAD_WAITING.contains(&reason)
        || reason.starts_with("Err")
        || reason.ends_with("Error")
        || reason.ends_with("BackOff")
}

pub(super) fn health(obj: &Value) -> Option<Health> {
    let phase = str_at(obj, "/status/phase").unwrap_or("");
    let restart = str_at(obj, "/spec/restartPolicy").unwrap_or("Always");
    let statuses = container_statuses(obj);
    // Pods that restart forever never reach Failed, so their errors show only as waiting reasons.
    // Pods that do not restart (Jobs) end in Failed on their own and are judged by phase.
    if restart == "Always"
        && matches!(phase, "Pending" | "Running")
        && let Some(h) = stuck_container(&statuses).or_else(|| restarting_after_error(&statuses))
    {
        return Some(h);
    }
    let status_msg = str_at(obj, "/status/message").unwrap_or("");
    Some(match phase {
        "Succeeded" => Health::healthy(or(status_msg, "pod completed")),
        "Failed" => Health::degraded(failure(obj, &statuses)),
        "Running" if restart == "Always" => {
            let not_ready: Vec<&str> = statuses
                .iter()
                .filter(|c| !c.init && !c.ready)
                .map(|c| c.name)
                .collect();
            if not_ready.is_empty() {
                Health::healthy(or(status_msg, "all containers are ready"))
            } else {
                Health::progressing(format!("containers not ready: {}", not_ready.join(", ")))
            }
        }
        // A run-to-completion pod is progressing until it ends.
        "Running" => Health::progressing(or(status_msg, "pod is running")),
        // Unschedulable is only Progressing: the scheduler retries, and a new node may fit it.
        "Pending" => match condition(obj, "PodScheduled").filter(|c| c.is_false()) {
            Some(c) => Health::progressing(with_detail("pod is not scheduled", &c.describe())),
            None => Health::progressing(or(status_msg, &waiting_summary(&statuses))),
        },
        "" => Health::progressing("waiting for the pod to be scheduled"),
        other => Health::new(
            moor_types::HealthStatus::Unknown,
            with_detail(&format!("pod phase {other}"), status_msg),
        ),
    })
}

struct Container<'a> {
    name: &'a str,
    init: bool,
    ready: bool,
    state: Option<&'a Value>,
    last_state: Option<&'a Value>,
    restarts: i64,
}

fn container_statuses(obj: &Value) -> Vec<Container<'_>> {
    let list = |field: &str, init: bool| {
        obj.pointer(&format!("/status/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(move |c| Container {
                name: c.get("name").and_then(Value::as_str).unwrap_or(""),
                init,
                ready: c.get("ready").and_then(Value::as_bool).unwrap_or(false),
                state: c.get("state"),
                last_state: c.get("lastState"),
                restarts: c.get("restartCount").and_then(Value::as_i64).unwrap_or(0),
            })
    };
    list("initContainerStatuses", true)
        .chain(list("containerStatuses", false))
        .collect()
}

fn stuck_container(statuses: &[Container]) -> Option<Health> {
    statuses.iter().find_map(|c| {
        let waiting = c.state?.get("waiting")?;
        let reason = waiting.get("reason").and_then(Value::as_str)?;
        if !is_bad_waiting(reason) {
            return None;
        }
        let kind = if c.init {
            "init container"
        } else {
            "container"
        };
        let mut msg = format!("{kind} {:?} is waiting: {reason}", c.name);
        if let Some(m) = waiting
            .get("message")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
        {
            msg = format!("{msg}: {m}");
        }
        Some(Health::degraded(msg))
    })
}

/// A container that is not ready and whose previous run ended with a non-zero exit code: the
/// kubelet is restarting it, and it will most likely fail the same way again.
fn restarting_after_error(statuses: &[Container]) -> Option<Health> {
    statuses.iter().filter(|c| !c.ready).find_map(|c| {
        let t = c.last_state?.get("terminated")?;
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        if code == 0 {
            return None;
        }
        let mut msg = format!(
            "container {:?} is restarting after it exited with code {code}",
            c.name
        );
        if let Some(why) = t
            .get("reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            msg = format!("{msg} ({why})");
        }
        if c.restarts > 0 {
            msg = format!("{msg}; {} restart(s)", c.restarts);
        }
        if let Some(m) = t
            .get("message")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
        {
            msg = format!("{msg}: {m}");
        }
        Some(Health::degraded(msg))
    })
}

/// Why a pod failed: the pod's own reason/message (eviction, deadline), else the first container
/// that exited non-zero.
fn failure(obj: &Value, statuses: &[Container]) -> String {
    let reason = str_at(obj, "/status/reason").unwrap_or("");
    let message = str_at(obj, "/status/message").unwrap_or("");
    if !reason.is_empty() || !message.is_empty() {
        let detail = [reason, message]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>();
        return with_detail("pod failed", &detail.join(": "));
    }
    let exited = statuses.iter().find_map(|c| {
        let t = c.state?.get("terminated")?;
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        (code != 0).then(|| {
            let why = t.get("reason").and_then(Value::as_str).unwrap_or("");
            let mut s = format!("container {:?} exited with code {code}", c.name);
            if !why.is_empty() {
                s = format!("{s} ({why})");
            }
            s
        })
    });
    match exited {
        Some(s) => format!("pod failed: {s}"),
        None => "pod failed".to_string(),
    }
}

/// `waiting for containers: a (ContainerCreating), b (PodInitializing)`, or a plain "pending".
fn waiting_summary(statuses: &[Container]) -> String {
    let waiting: Vec<String> = statuses
        .iter()
        .filter_map(|c| {
            let reason = c.state?.get("waiting")?.get("reason")?.as_str()?;
            Some(format!("{} ({reason})", c.name))
        })
        .collect();
    if waiting.is_empty() {
        "pod is pending".to_string()
    } else {
        format!("waiting for containers: {}", waiting.join(", "))
    }
}

fn or<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.is_empty() { default } else { s }
}
