//! Per-app backoff kept in the controller's memory: self-heal, when something keeps reverting an
//! app's objects, and failures, when an app's reconcile keeps failing. Either only slows the app
//! concerned, never the others. (Argo CD's `syncPolicy.retry`, read from the app's own spec and
//! status, is in `retry.rs`.) Lost on restart, which at worst means one early attempt.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Heals allowed at once within a window before backing off.
const FREE_HEALS: u32 = 3;
const HEAL_WINDOW: Duration = Duration::from_secs(60);
const MAX_HEAL_WAIT: Duration = Duration::from_secs(300);
const FIRST_FAILURE_WAIT: u64 = 5;
const MAX_FAILURE_WAIT: Duration = Duration::from_secs(180);
/// Failures counted at most: the wait stops growing long before, and the shift cannot overflow.
const MAX_FAILURES: u32 = 10;

/// Both backoffs for every app, by app id.
#[derive(Default)]
pub struct Backoffs {
    heals: Mutex<HashMap<String, HealWindow>>,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoffs {
    /// Whether `app` may self-heal now; counts the heal when it may (see [`HealWindow::allow`]).
    pub fn heal_allowed(&self, app: &str) -> bool {
        let now = Instant::now();
        let mut heals = self.heals.lock().expect("heals lock");
        heals
            .entry(app.to_string())
            .or_insert_with(|| HealWindow::new(now))
            .allow(now)
    }

    /// Counts one more failure of `app` and returns how long it waits before the next attempt.
    pub fn failure(&self, app: &str) -> Duration {
        let mut f = self.failures.lock().expect("failures lock");
        let n = f.entry(app.to_string()).or_insert(0);
        *n = (*n + 1).min(MAX_FAILURES);
        failure_wait(*n)
    }

    /// A success: the next failure of `app` waits the shortest time again.
    pub fn clear_failures(&self, app: &str) {
        self.failures.lock().expect("failures lock").remove(app);
    }
}

/// Self-heals of one app within the current window.
struct HealWindow {
    count: u32,
    window_start: Instant,
    last: Option<Instant>,
}

impl HealWindow {
    fn new(now: Instant) -> HealWindow {
        HealWindow {
            count: 0,
            window_start: now,
            last: None,
        }
    }

    /// Self-heal at once the first times; when something keeps reverting the app's objects
    /// (more than 3 heals within a minute), back off 2 s x 3^n up to 5 minutes, as Argo CD
    /// does. A heal that is allowed is counted; a refused one is not.
    fn allow(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) > HEAL_WINDOW {
            self.count = 0;
            self.window_start = now;
        }
        if self.count >= FREE_HEALS
            && let Some(last) = self.last
            && now.duration_since(last) < heal_wait(self.count)
        {
            return false;
        }
        self.count += 1;
        self.last = Some(now);
        true
    }
}

/// The wait after `heals` heals within a window (at least [`FREE_HEALS`]): 2 s x 3^n, at most
/// 5 minutes.
fn heal_wait(heals: u32) -> Duration {
    let n = heals.saturating_sub(FREE_HEALS);
    Duration::from_secs(3u64.saturating_pow(n).saturating_mul(2)).min(MAX_HEAL_WAIT)
}

/// The wait after `failures` consecutive failures (at least 1): 5 s doubling, at most 3 minutes.
fn failure_wait(failures: u32) -> Duration {
    Duration::from_secs(FIRST_FAILURE_WAIT.saturating_mul(1 << (failures.max(1) - 1)))
        .min(MAX_FAILURE_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn three_heals_at_once_then_waits_growing_by_three() {
        let t0 = Instant::now();
        let mut w = HealWindow::new(t0);
        assert!(w.allow(t0));
        assert!(w.allow(t0 + S));
        assert!(w.allow(t0 + 2 * S));
        // The fourth within the minute waits 2 s after the last heal.
        assert!(!w.allow(t0 + 3 * S));
        assert!(w.allow(t0 + 4 * S));
        // Then 6 s.
        assert!(!w.allow(t0 + 9 * S));
        assert!(w.allow(t0 + 10 * S));
        // Then 18 s.
        assert!(!w.allow(t0 + 27 * S));
        assert!(w.allow(t0 + 28 * S));
        assert_eq!(w.count, 6);
    }

    #[test]
    fn a_refused_heal_is_not_counted() {
        let t0 = Instant::now();
        let mut w = HealWindow::new(t0);
        for i in 0..3 {
            assert!(w.allow(t0 + i * S));
        }
        for _ in 0..5 {
            assert!(!w.allow(t0 + 3 * S));
        }
        assert_eq!(w.count, 3);
        assert!(w.allow(t0 + 4 * S));
    }

    #[test]
    fn a_new_minute_starts_free_again() {
        let t0 = Instant::now();
        let mut w = HealWindow::new(t0);
        for i in 0..3 {
            assert!(w.allow(t0 + i * S));
        }
        assert!(!w.allow(t0 + 3 * S));
        let later = t0 + HEAL_WINDOW + S;
        assert!(w.allow(later));
        assert!(w.allow(later));
        assert!(w.allow(later));
        assert!(!w.allow(later));
    }

    #[test]
    fn heal_waits_stop_growing_at_five_minutes() {
        let secs: Vec<u64> = (3..=8).map(|n| heal_wait(n).as_secs()).collect();
        assert_eq!(secs, [2, 6, 18, 54, 162, 300]);
        assert_eq!(heal_wait(100), MAX_HEAL_WAIT);
    }

    #[test]
    fn failure_waits_double_up_to_three_minutes() {
        let secs: Vec<u64> = (1..=MAX_FAILURES)
            .map(|n| failure_wait(n).as_secs())
            .collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 180, 180, 180, 180]);
    }

    #[test]
    fn failures_count_per_app_until_cleared() {
        let b = Backoffs::default();
        assert_eq!(b.failure("a"), 5 * S);
        assert_eq!(b.failure("a"), 10 * S);
        assert_eq!(b.failure("b"), 5 * S);
        for _ in 0..20 {
            b.failure("a");
        }
        assert_eq!(b.failure("a"), MAX_FAILURE_WAIT);
        b.clear_failures("a");
        assert_eq!(b.failure("a"), 5 * S);
        assert_eq!(b.failure("b"), 10 * S);
    }

    #[test]
    fn heals_count_per_app() {
        let b = Backoffs::default();
        for _ in 0..3 {
            assert!(b.heal_allowed("a"));
        }
        assert!(!b.heal_allowed("a"));
        assert!(b.heal_allowed("b"));
    }
}
