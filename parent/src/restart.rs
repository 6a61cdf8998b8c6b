//! When to restart a worker, and when a silent one counts as hung.
//! Pure logic: the caller passes the clock in.

use std::time::{Duration, Instant};

/// A worker that ran this long before dying is not crash-looping: its next
/// restart is immediate again.
pub const GOOD_RUN: Duration = Duration::from_secs(60);
/// The longest wait between restarts of a crash-looping worker.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// keepalived's respawn ladder: the first restart is immediate, then a
/// crash-looping worker waits 1, 2, 4, ... seconds, at most 60; the ladder
/// resets once a worker has run for 60 s.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    /// Deaths in a row without a good run in between.
    consecutive: u32,
}

impl Backoff {
    /// A worker started at `started` died at `now`: how long to wait
    /// before starting it again.
    pub fn on_death(&mut self, started: Instant, now: Instant) -> Duration {
        if now.saturating_duration_since(started) >= GOOD_RUN {
            self.consecutive = 0;
        }
        let delay = match self.consecutive {
            0 => Duration::ZERO,
            n => Duration::from_secs(1u64 << (n - 1).min(6)).min(MAX_DELAY),
        };
        self.consecutive = self.consecutive.saturating_add(1);
        delay
    }
}

/// Heartbeat watchdog: a worker silent for `MISSED` intervals is hung.
#[derive(Debug, Clone)]
pub struct Watchdog {
    interval: Duration,
    last_seen: Instant,
}

impl Watchdog {
    pub const MISSED: u32 = 3;

    pub fn new(interval: Duration, now: Instant) -> Self {
        Self {
            interval,
            last_seen: now,
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Anything from the worker counts as a sign of life.
    pub fn seen(&mut self, now: Instant) {
        self.last_seen = now;
    }

    pub fn deadline(&self) -> Instant {
        self.last_seen + self.interval * Self::MISSED
    }

    pub fn is_hung(&self, now: Instant) -> bool {
        now >= self.deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn ladder_immediate_then_doubling_capped() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..10)
            .map(|i| b.on_death(t0 + secs(i), t0 + secs(i) + Duration::from_millis(10)))
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(delays, vec![0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn ladder_resets_after_a_good_run() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert_eq!(b.on_death(t0, t0 + secs(1)), Duration::ZERO);
        assert_eq!(b.on_death(t0 + secs(1), t0 + secs(2)), secs(1));
        assert_eq!(b.on_death(t0 + secs(3), t0 + secs(4)), secs(2));
        // Ran 60 s: back to an immediate restart.
        assert_eq!(b.on_death(t0 + secs(10), t0 + secs(70)), Duration::ZERO);
        assert_eq!(b.on_death(t0 + secs(70), t0 + secs(71)), secs(1));
    }

    #[test]
    fn watchdog_three_intervals() {
        let t0 = Instant::now();
        let iv = Duration::from_millis(200);
        let mut w = Watchdog::new(iv, t0);
        assert!(!w.is_hung(t0 + Duration::from_millis(599)));
        assert!(w.is_hung(t0 + Duration::from_millis(600)));
        w.seen(t0 + Duration::from_millis(500));
        assert!(!w.is_hung(t0 + Duration::from_millis(1000)));
        assert_eq!(w.deadline(), t0 + Duration::from_millis(1100));
    }
}
