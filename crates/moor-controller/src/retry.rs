//! Argo CD's `syncPolicy.retry`: an automated sync that failed is tried again for the same
//! revision, at most `limit` times (no limit when negative, none when 0 or unset), each after
//! `duration * factor^n` (defaults 5s and 2), never longer than `maxDuration` (default 3m).
//! Without it a failed revision waits for a new commit, a manual sync or self-heal.

use std::time::Duration;

use moor_types::OperationPhase;

use crate::crd::{Application, Retry};

const DEFAULT_DURATION: Duration = Duration::from_secs(5);
const DEFAULT_FACTOR: i64 = 2;
const DEFAULT_MAX: Duration = Duration::from_secs(180);

/// Whether a sync that failed after `retried` retries may be tried again.
pub fn allowed(retry: &Retry, retried: i64) -> bool {
    let limit = retry.limit.unwrap_or(0);
    limit < 0 || retried < limit
}

/// How long to wait before retry number `retried + 1`.
pub fn delay(retry: &Retry, retried: i64) -> Duration {
    let backoff = retry.backoff.clone().unwrap_or_default();
    let parse = |s: Option<&String>, default| {
        s.and_then(|s| humantime::parse_duration(s.trim()).ok())
            .unwrap_or(default)
    };
    let base = parse(backoff.duration.as_ref(), DEFAULT_DURATION);
    let max = parse(backoff.max_duration.as_ref(), DEFAULT_MAX);
    let factor = backoff.factor.unwrap_or(DEFAULT_FACTOR).max(1) as f64;
    let exp = retried.clamp(0, 30) as i32;
    Duration::from_secs_f64((base.as_secs_f64() * factor.powi(exp)).min(max.as_secs_f64()))
}

/// The retry count of the app's last sync if it failed at `commit`, else None.
pub fn failed_at(app: &Application, commit: &str) -> Option<i64> {
    let st = app.status.as_ref()?.operation_state.as_ref()?;
    // A failed dry run or selective sync is not retried (as a full sync).
    let failed = st.phase == OperationPhase::Failed
        && !crate::sync_request::partial(st)
        && st
            .sync_result
            .as_ref()
            .is_some_and(|r| r.revision == commit);
    failed.then_some(st.retry_count)
}

/// The wait until a retry of the app's failed sync at `commit` is due, when one will be.
/// Any reconcile in between must keep it scheduled: an object has one requeue, the last set.
pub fn due_in(app: &Application, commit: &str) -> Option<Duration> {
    let policy = app.retry()?;
    let retried = failed_at(app, commit)?;
    if !allowed(policy, retried) {
        return None;
    }
    let since = since_finished(app).unwrap_or_default();
    Some(delay(policy, retried).saturating_sub(since))
}

/// Time since the app's last sync finished (None when unknown).
pub fn since_finished(app: &Application) -> Option<Duration> {
    let st = app.status.as_ref()?.operation_state.as_ref()?;
    let finished: k8s_openapi::jiff::Timestamp = st.finished_at.as_deref()?.parse().ok()?;
    let d = k8s_openapi::jiff::Timestamp::now().duration_since(finished);
    Duration::try_from(d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Backoff;

    #[test]
    fn limit_defaults_to_no_retry_and_negative_means_unlimited() {
        let r = |limit| Retry {
            limit,
            backoff: None,
        };
        assert!(!allowed(&r(None), 0));
        assert!(!allowed(&r(Some(0)), 0));
        assert!(allowed(&r(Some(2)), 1));
        assert!(!allowed(&r(Some(2)), 2));
        assert!(allowed(&r(Some(-1)), 1000));
    }

    #[test]
    fn backoff_grows_by_factor_up_to_the_maximum() {
        let defaults = Retry {
            limit: Some(5),
            backoff: None,
        };
        let secs = |r: &Retry, n| delay(r, n).as_secs();
        assert_eq!(
            [0, 1, 2, 5, 6].map(|n| secs(&defaults, n)),
            [5, 10, 20, 160, 180]
        );
        let custom = Retry {
            limit: Some(5),
            backoff: Some(Backoff {
                duration: Some("1s".into()),
                factor: Some(3),
                max_duration: Some("10s".into()),
            }),
        };
        assert_eq!([0, 1, 2, 3].map(|n| secs(&custom, n)), [1, 3, 9, 10]);
    }

    #[test]
    fn go_style_durations_as_argo_cd_writes_them() {
        let r = Retry {
            limit: Some(1),
            backoff: Some(Backoff {
                duration: Some("1m30s".into()),
                factor: Some(1),
                max_duration: Some("1h".into()),
            }),
        };
        assert_eq!(delay(&r, 0), Duration::from_secs(90));
    }
}
