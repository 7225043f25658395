//! `moor app wait` (Argo CD's `argocd app wait`): poll the Application until its status says
//! Synced and/or Healthy, optionally at a given commit. What counts as reached, and which failed
//! operation ends the wait, are pure functions of the Application, tested below.

use std::time::Duration;

use anyhow::Result;
use moor_controller::crd::{Application, OperationState};
use moor_types::{HealthStatus, OperationPhase, SyncStatus};

use super::Apps;
use super::print::short;
use crate::cli::app::AppWaitArgs;

/// How often the Application is read: its status changes at most once per reconcile.
const POLL: Duration = Duration::from_millis(500);

/// What the wait is for.
struct Goal {
    sync: bool,
    health: bool,
    /// A prefix of the commit `status.sync.revision` must hold.
    revision: Option<String>,
}

impl Goal {
    /// Neither --sync nor --health: both, as `argocd app wait` does.
    fn of(args: &AppWaitArgs) -> Goal {
        let both = !args.sync && !args.health;
        Goal {
            sync: args.sync || both,
            health: args.health || both,
            revision: args.revision.as_deref().map(|r| r.trim().to_lowercase()),
        }
    }

    /// "Synced and Healthy at revision abc1234".
    fn describe(&self) -> String {
        let mut words = vec![];
        if self.sync {
            words.push(SyncStatus::Synced.as_str());
        }
        if self.health {
            words.push(HealthStatus::Healthy.as_str());
        }
        let mut s = words.join(" and ");
        if let Some(r) = &self.revision {
            s.push_str(&format!(" at revision {r}"));
        }
        s
    }

    /// Whether the app's status shows the goal, for its current spec.
    fn reached(&self, app: &Application) -> bool {
        let Some(st) = &app.status else {
            return false;
        };
        // A status of an older spec (or of a suspended app, which the controller no longer
        // compares) says nothing about the app as it is now.
        if stale(app) || app.spec.suspend {
            return false;
        }
        let running = app.operation.is_some()
            || st
                .operation_state
                .as_ref()
                .is_some_and(|os| os.phase == OperationPhase::Running);
        (!self.sync || (st.sync.status == SyncStatus::Synced && !running))
            && (!self.health || st.health.status == HealthStatus::Healthy)
            && self.revision.as_deref().is_none_or(|r| {
                st.sync
                    .revision
                    .as_deref()
                    .is_some_and(|have| have.to_lowercase().starts_with(r))
            })
    }

    /// The message of an operation that failed since the wait began (`before` is the operation
    /// state then): waiting for a sync, such a failure ends the wait. One that had already
    /// failed before does not: the next sync (a retry, a new commit) may still succeed.
    fn failure<'a>(
        &self,
        app: &'a Application,
        before: Option<&OperationState>,
    ) -> Option<&'a str> {
        let os = app.status.as_ref()?.operation_state.as_ref()?;
        let failed = matches!(
            os.phase.parse(),
            Ok(OperationPhase::Failed | OperationPhase::Error)
        );
        (self.sync && failed && before != Some(os)).then_some(os.message.as_str())
    }
}

/// The status was written for an older generation of the spec than the current one.
fn stale(app: &Application) -> bool {
    let observed = app.status.as_ref().and_then(|s| s.observed_generation);
    matches!((observed, app.metadata.generation), (Some(o), Some(g)) if o < g)
}

/// The app's state in a few words: "OutOfSync and Progressing at abc1234; suspended".
fn state(app: &Application) -> String {
    let st = app.status.clone().unwrap_or_default();
    let word = |s: &str| {
        if s.is_empty() {
            "Unknown".to_string()
        } else {
            s.to_string()
        }
    };
    let mut s = format!("{} and {}", word(&st.sync.status), word(&st.health.status));
    if let Some(r) = &st.sync.revision {
        s.push_str(&format!(" at {}", short(r)));
    }
    if let Some(os) = &st.operation_state {
        s.push_str(&format!("; last operation {}", os.phase));
    }
    if app.spec.suspend {
        s.push_str("; suspended");
    } else if app.status.is_none() {
        s.push_str("; no status yet (is the controller running?)");
    } else if stale(app) {
        s.push_str("; the controller has not seen its latest spec yet");
    }
    s
}

/// 0: reached; 1: timed out; 2: a sync failed while waiting for --sync.
pub(super) async fn wait(apps: &Apps, args: AppWaitArgs) -> Result<u8> {
    let goal = Goal::of(&args);
    let name = &args.name;
    let deadline = tokio::time::Instant::now() + args.timeout;
    let first = apps.get(name).await?;
    let before = first.status.and_then(|s| s.operation_state);
    // Printed once the operation state to compare with is read: from here a failed sync is new.
    eprintln!(
        "waiting up to {} for application {}/{name} to be {}",
        humantime::format_duration(args.timeout),
        apps.namespace,
        goal.describe()
    );
    loop {
        let app = apps.get(name).await?;
        if goal.reached(&app) {
            println!(
                "application {}/{name} is {}",
                apps.namespace,
                state(&app).split(';').next().unwrap_or_default().trim_end()
            );
            return Ok(0);
        }
        if let Some(msg) = goal.failure(&app, before.as_ref()) {
            eprintln!(
                "error: a sync of application {}/{name} failed while waiting for it to be {}: {msg}",
                apps.namespace,
                goal.describe()
            );
            return Ok(2);
        }
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "error: timed out after {} waiting for application {}/{name} to be {}: it is {}",
                humantime::format_duration(args.timeout),
                apps.namespace,
                goal.describe(),
                state(&app)
            );
            return Ok(1);
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moor_controller::crd::ApplicationStatus;

    fn app(sync: &str, health: &str, rev: &str) -> Application {
        let mut a = Application::default();
        a.metadata.generation = Some(2);
        let mut st = ApplicationStatus {
            observed_generation: Some(2),
            ..Default::default()
        };
        st.sync.status = sync.into();
        st.sync.revision = Some(rev.into());
        st.health.status = health.into();
        a.status = Some(st);
        a
    }

    fn goal(sync: bool, health: bool, revision: Option<&str>) -> Goal {
        Goal::of(&AppWaitArgs {
            name: "a".into(),
            sync,
            health,
            revision: revision.map(Into::into),
            timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn neither_flag_waits_for_both() {
        let g = goal(false, false, None);
        assert_eq!(g.describe(), "Synced and Healthy");
        assert!(!g.reached(&app("Synced", "Progressing", "abc")));
        assert!(!g.reached(&app("OutOfSync", "Healthy", "abc")));
        assert!(g.reached(&app("Synced", "Healthy", "abc")));
        assert!(goal(true, false, None).reached(&app("Synced", "Progressing", "abc")));
        assert!(goal(false, true, None).reached(&app("OutOfSync", "Healthy", "abc")));
    }

    #[test]
    fn revision_is_a_prefix_of_the_compared_commit() {
        let a = app(
            "Synced",
            "Healthy",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
        );
        assert!(goal(true, false, Some("9F8E7D6")).reached(&a));
        assert!(!goal(true, false, Some("1234567")).reached(&a));
        assert_eq!(
            goal(true, false, Some("9f8e7d6")).describe(),
            "Synced at revision 9f8e7d6"
        );
    }

    #[test]
    fn stale_suspended_or_syncing_apps_have_not_reached_it() {
        let g = goal(true, true, None);
        let mut a = app("Synced", "Healthy", "abc");
        a.metadata.generation = Some(3);
        assert!(!g.reached(&a), "status of an older spec");
        assert!(state(&a).contains("has not seen its latest spec"));
        let mut a = app("Synced", "Healthy", "abc");
        a.spec.suspend = true;
        assert!(!g.reached(&a));
        assert_eq!(state(&a), "Synced and Healthy at abc; suspended");
        let mut a = app("Synced", "Healthy", "abc");
        a.operation = Some(Default::default());
        assert!(!g.reached(&a), "a sync is requested");
        assert!(goal(false, true, None).reached(&a));
    }

    #[test]
    fn only_a_failure_after_the_wait_began_ends_it() {
        let failed = |started: &str| OperationState {
            phase: "Failed".into(),
            message: "boom".into(),
            started_at: Some(started.into()),
            ..Default::default()
        };
        let mut a = app("OutOfSync", "Healthy", "abc");
        a.status.as_mut().unwrap().operation_state = Some(failed("t2"));
        let g = goal(true, false, None);
        assert_eq!(g.failure(&a, None), Some("boom"));
        assert_eq!(g.failure(&a, Some(&failed("t1"))), Some("boom"));
        assert_eq!(g.failure(&a, Some(&failed("t2"))), None, "failed before");
        assert_eq!(goal(false, true, None).failure(&a, None), None);
        assert!(state(&a).ends_with("; last operation Failed"));
    }
}
