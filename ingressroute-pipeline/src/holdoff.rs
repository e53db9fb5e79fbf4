//! When to rebuild after a change: Contour's holdoff, as a state machine that is told the
//! time instead of reading a clock (docs/behaviour.md#s5-3).
//!
//! ```text
//!  relevant change at t ──▶ more than MAX_DELAY since the last rebuild? ──▶ rebuild now
//!                                          │ no
//!                                          ▼
//!                             rebuild at t + DELAY (each change restarts it)
//!
//!  changes:        x          x  x  x  x  x  x  x  x  x ...
//!  rebuilds:       ▲ at once  │◀ 100 ms ▶│ ...          ▲ at most 500 ms after the last
//! ```
//!
//! A change after a quiet period is built at once; a burst (an editor saving several
//! files, a controller's first list, `kubectl apply -f dir/`) gives one rebuild once it has
//! been quiet for [`DELAY`]; a stream of changes that never goes quiet still gives a
//! rebuild at least every [`MAX_DELAY`]. The controller and `serve` both use it.

use std::time::{Duration, Instant};

/// How long a change waits for the next one before a rebuild (Contour's
/// `HoldoffDelay`).
pub const DELAY: Duration = Duration::from_millis(100);
/// A change more than this long after the last rebuild is built at once (Contour's
/// `HoldoffMaxDelay`).
pub const MAX_DELAY: Duration = Duration::from_millis(500);

/// What to do about a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Rebuild now.
    RebuildNow,
    /// Rebuild at this time unless another change comes first.
    RebuildAt(Instant),
}

/// Changes not yet rebuilt, and when to rebuild them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdoff {
    delay: Duration,
    max_delay: Duration,
    last_rebuild: Instant,
    deadline: Option<Instant>,
}

impl Holdoff {
    /// Contour's holdoff (100 ms, 500 ms), its clock started at `start` (Contour starts it
    /// when its event loop starts).
    #[must_use]
    pub fn new(start: Instant) -> Self {
        Self::with_delays(DELAY, MAX_DELAY, start)
    }

    /// A holdoff with other delays than Contour's.
    #[must_use]
    pub fn with_delays(delay: Duration, max_delay: Duration, start: Instant) -> Self {
        Self {
            delay,
            max_delay,
            last_rebuild: start,
            deadline: None,
        }
    }

    /// Notes a relevant change at `now` and says when to rebuild. After
    /// [`Decision::RebuildNow`], call [`Holdoff::rebuilt`] once the rebuild is done.
    pub fn changed(&mut self, now: Instant) -> Decision {
        if now.saturating_duration_since(self.last_rebuild) > self.max_delay {
            self.deadline = None;
            Decision::RebuildNow
        } else {
            let at = now.checked_add(self.delay).unwrap_or(now);
            self.deadline = Some(at);
            Decision::RebuildAt(at)
        }
    }

    /// When the pending rebuild is due; `None` when nothing waits.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether a rebuild is due at `now`.
    #[must_use]
    pub fn is_due(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|deadline| deadline <= now)
    }

    /// Notes that a rebuild at `now` took in every change so far.
    pub fn rebuilt(&mut self, now: Instant) {
        self.last_rebuild = now;
        self.deadline = None;
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
        let t0 = Instant::now();
        let holdoff = Holdoff::new(t0);
        assert_eq!(holdoff.deadline(), None);
        assert!(!holdoff.is_due(t0 + ms(10_000)));
    }

    #[test]
    fn a_change_soon_after_the_start_waits_100_ms() {
        let t0 = Instant::now();
        let mut holdoff = Holdoff::new(t0);
        assert_eq!(holdoff.changed(t0 + ms(10)), Decision::RebuildAt(t0 + ms(110)));
        assert!(!holdoff.is_due(t0 + ms(109)));
        assert!(holdoff.is_due(t0 + ms(110)));
        holdoff.rebuilt(t0 + ms(110));
        assert_eq!(holdoff.deadline(), None);
    }

    #[test]
    fn a_change_after_a_quiet_period_is_built_at_once() {
        let t0 = Instant::now();
        let mut holdoff = Holdoff::new(t0);
        assert_eq!(holdoff.changed(t0 + ms(501)), Decision::RebuildNow);
        assert_eq!(holdoff.deadline(), None);
        holdoff.rebuilt(t0 + ms(501));
        assert_eq!(
            holdoff.changed(t0 + ms(600)),
            Decision::RebuildAt(t0 + ms(700)),
            "the next change is within 500 ms of that rebuild"
        );
    }

    #[test]
    fn each_change_restarts_the_quiet_period() {
        let t0 = Instant::now();
        let mut holdoff = Holdoff::new(t0);
        holdoff.changed(t0);
        holdoff.changed(t0 + ms(80));
        assert_eq!(holdoff.changed(t0 + ms(150)), Decision::RebuildAt(t0 + ms(250)));
        assert_eq!(holdoff.deadline(), Some(t0 + ms(250)));
    }

    #[test]
    fn changes_that_never_go_quiet_are_built_once_500_ms_have_passed() {
        let t0 = Instant::now();
        let mut holdoff = Holdoff::new(t0);
        let mut now = t0;
        let rebuilt_at = loop {
            now += ms(50);
            if holdoff.changed(now) == Decision::RebuildNow {
                break now;
            }
            assert!(now - t0 <= ms(550), "a rebuild at most 500 ms after the last");
        };
        assert_eq!(
            rebuilt_at,
            t0 + ms(550),
            "the first change more than 500 ms after the last rebuild"
        );
    }
}
