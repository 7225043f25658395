//! How often an app is polled: `spec.pollInterval`, else the controller's `--poll-interval`,
//! never below the minimum. The CRD schema refuses a shorter `pollInterval` already; this is the
//! second line for Applications stored before that rule, or served by another CRD version, so
//! that no setting can make the controller fetch in a loop.

use std::time::Duration;

/// The floor of every poll interval unless the controller is started with another one.
pub const DEFAULT_MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// An app's poll interval and, when its `spec.pollInterval` could not be used as written, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollInterval {
    pub every: Duration,
    /// For a condition: names the field, the value and the interval used instead.
    pub problem: Option<String>,
}

/// The interval for `spec` (an app's `spec.pollInterval`), given the controller's default and
/// minimum. The default itself is checked against the minimum at start.
pub fn effective(spec: Option<&str>, default: Duration, min: Duration) -> PollInterval {
    let Some(raw) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return PollInterval {
            every: default,
            problem: None,
        };
    };
    match humantime::parse_duration(raw) {
        Ok(d) if d >= min => PollInterval {
            every: d,
            problem: None,
        },
        Ok(_) => PollInterval {
            every: min,
            problem: Some(format!(
                "spec.pollInterval {raw:?} is below the minimum of {}: polling every {}",
                humantime::format_duration(min),
                humantime::format_duration(min)
            )),
        },
        Err(e) => PollInterval {
            every: default,
            problem: Some(format!(
                "spec.pollInterval {raw:?} is not a duration ({e}; write e.g. 30s or 5m): \
                 polling every {}",
                humantime::format_duration(default)
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = DEFAULT_MIN_POLL_INTERVAL;
    const DEFAULT: Duration = Duration::from_secs(60);

    #[test]
    fn poll_interval_below_the_minimum_polls_at_the_minimum_and_says_so() {
        let p = effective(Some("1s"), DEFAULT, MIN);
        assert_eq!(p.every, MIN);
        let msg = p.problem.unwrap();
        assert!(
            msg.contains("spec.pollInterval") && msg.contains("\"1s\"") && msg.contains("10s"),
            "{msg}"
        );
        assert_eq!(effective(Some("0s"), DEFAULT, MIN).every, MIN);
    }

    #[test]
    fn poll_interval_at_or_above_the_minimum_is_used() {
        assert_eq!(
            effective(Some("10s"), DEFAULT, MIN),
            PollInterval {
                every: MIN,
                problem: None
            }
        );
        assert_eq!(
            effective(Some("1m30s"), DEFAULT, MIN).every,
            Duration::from_secs(90)
        );
        assert_eq!(effective(None, DEFAULT, MIN).every, DEFAULT);
        assert_eq!(effective(Some(" "), DEFAULT, MIN).every, DEFAULT);
    }

    #[test]
    fn unparsable_poll_interval_uses_the_default_and_names_the_field() {
        let p = effective(Some("soon"), DEFAULT, MIN);
        assert_eq!(p.every, DEFAULT);
        assert!(p.problem.unwrap().contains("spec.pollInterval \"soon\""));
    }
}
