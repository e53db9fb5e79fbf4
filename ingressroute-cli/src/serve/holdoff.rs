//! When to rebuild after a change: Contour's holdoff (spec §5.3), as a pure state machine
//! that is told the time instead of reading a clock.
//!
//! ```text
//!  change ─▶ rebuild at min(last change + 100 ms, first unbuilt change + 500 ms)
//!
//!  changes:  x  x   x  x  x  x  x  x  x ...        x
//!            │◀──────── 500 ms ────────▶│ rebuild  │◀ 100 ms ▶│ rebuild
//! ```
//!
//! A burst of changes (an editor saving several files, `git checkout`) gives one rebuild
//! once it has been quiet for [`DELAY`], and a stream of changes that never goes quiet
//! still gives a rebuild every [`MAX_DELAY`].

use std::time::{Duration, Instant};

/// How long it must be quiet after a change before rebuilding (Contour's `HoldoffDelay`).
pub const DELAY: Duration = Duration::from_millis(100);
/// The longest a change waits for its rebuild (Contour's `HoldoffMaxDelay`).
pub const MAX_DELAY: Duration = Duration::from_millis(500);

/// Changes not yet rebuilt, and when to rebuild them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdoff {
    delay: Duration,
    max_delay: Duration,
    /// The first change since the last rebuild.
    first: Option<Instant>,
    /// The latest change since the last rebuild.
    last: Option<Instant>,
}

impl Default for Holdoff {
    fn default() -> Self {
        Self::new(DELAY, MAX_DELAY)
    }
}

impl Holdoff {
    /// A holdoff with other delays than Contour's (for tests).
    #[must_use]
    pub fn new(delay: Duration, max_delay: Duration) -> Self {
        Self {
            delay,
            max_delay,
            first: None,
            last: None,
        }
    }

    /// Notes a change at `now`.
    pub fn changed(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// When to rebuild: `None` when nothing changed since the last rebuild.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        let quiet = last.checked_add(self.delay).unwrap_or(last);
        let latest = first.checked_add(self.max_delay).unwrap_or(first);
        Some(quiet.min(latest))
    }

    /// Whether a rebuild is due at `now`.
    #[must_use]
    pub fn is_due(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|deadline| deadline <= now)
    }

    /// Notes that a rebuild took in every change so far.
    pub fn rebuilt(&mut self) {
        self.first = None;
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_changed_means_no_rebuild() {
        let holdoff = Holdoff::default();
        assert_eq!(holdoff.deadline(), None);
        assert!(!holdoff.is_due(Instant::now()));
    }

    #[test]
    fn one_change_is_rebuilt_after_100_ms_of_quiet() {
        let t0 = Instant::now();
        let mut holdoff = Holdoff::default();
        holdoff.changed(t0);
        assert_eq!(holdoff.deadline(), Some(t0 + ms(100)));
        assert!(!holdoff.is_due(t0 + ms(99)));
        assert!(holdoff.is_due(t0 + ms(100)));
        holdoff.rebuilt();
        assert_eq!(holdoff.deadline(), None);
    }

    #[test]
    fn each_change_restarts_the_quiet_period() {
        let t0 = Instant::now();
        let mut holdoff = Holdoff::default();
        holdoff.changed(t0);
        holdoff.changed(t0 + ms(80));
        holdoff.changed(t0 + ms(150));
        assert_eq!(holdoff.deadline(), Some(t0 + ms(250)));
    }

    #[test]
    fn changes_that_never_go_quiet_are_rebuilt_500_ms_after_the_first() {
        let t0 = Instant::now();
        let mut holdoff = Holdoff::default();
        for i in 0..100 {
            holdoff.changed(t0 + ms(50 * i));
            assert!(holdoff.deadline().unwrap() <= t0 + ms(500), "change {i}");
        }
        assert_eq!(holdoff.deadline(), Some(t0 + ms(500)));
        holdoff.rebuilt();
        holdoff.changed(t0 + ms(5000));
        assert_eq!(holdoff.deadline(), Some(t0 + ms(5100)), "the next burst starts afresh");
    }
}
