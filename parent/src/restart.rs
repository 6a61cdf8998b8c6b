//! When to restart a worker, and when a silent one counts as hung.
//! Pure logic: the caller passes the clock in.

use std::time::{Duration, Instant};

/// A worker that ran this long before dying is not crash-looping: its next
/// restart is immediate again.
pub const GOOD_RUN: Duration = Duration::from_secs(60);
/// The longest wait between restarts of a crash-looping worker.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A worker that reached Ready and then ran this long was working: it was
/// killed (OOM killer, an operator, the watchdog), not crash-looping, so
/// its restart is immediate. A worker that cannot get to Ready, or dies
/// right after it, climbs the ladder (at most 1/SETTLED restarts a second
/// otherwise). VRRP depends on this: a MASTER whose worker is killed
/// repeatedly must come back within its peers' master-down interval.
pub const SETTLED: Duration = Duration::from_millis(200);

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
        self.on_death_after(started, None, now)
    }

    /// [`Backoff::on_death`] for a worker that became ready at `ready`.
    pub fn on_death_after(
        &mut self,
        started: Instant,
        ready: Option<Instant>,
        now: Instant,
    ) -> Duration {
        let settled = ready.is_some_and(|r| now.saturating_duration_since(r) >= SETTLED);
        if settled || now.saturating_duration_since(started) >= GOOD_RUN {
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

/// Heartbeat watchdog: a worker silent for `MISSED` intervals is hung, but
/// never sooner than its role's floor, and a starting worker (not yet Ready)
/// gets `STARTUP_GRACE`: a worker decoding a configuration of thousands of
/// real servers, or applying thousands of changes on a loaded machine, is
/// busy, not hung. The VRRP floor stays short: a hung MASTER's worker must
/// be replaced within its peers' master-down interval (3 adverts plus skew:
/// over 300 ms at VRRPv3's shortest usual advert_int, 0.1 s; the heartbeat
/// interval follows the fastest advert_int).
#[derive(Debug, Clone)]
pub struct Watchdog {
    interval: Duration,
    floor: Duration,
    starting: bool,
    last_seen: Instant,
}

/// The shortest silence that counts as hung for the VRRP worker.
pub const VRRP_FLOOR: Duration = Duration::from_millis(150);
/// The same for the other workers (no protocol deadline depends on them).
pub const OTHER_FLOOR: Duration = Duration::from_secs(2);
/// The silence allowed to a worker that has not yet answered Ready.
pub const STARTUP_GRACE: Duration = Duration::from_secs(5);

impl Watchdog {
    pub const MISSED: u32 = 3;

    /// A watchdog for a starting worker; `vrrp` picks the role's floor.
    pub fn new(interval: Duration, vrrp: bool, now: Instant) -> Self {
        Self {
            interval,
            floor: if vrrp { VRRP_FLOOR } else { OTHER_FLOOR },
            starting: true,
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

    /// The worker answered Ready: the start-up grace is over.
    pub fn settled(&mut self) {
        self.starting = false;
    }

    /// How long a silence counts as hung now.
    pub fn limit(&self) -> Duration {
        let limit = (self.interval * Self::MISSED).max(self.floor);
        if self.starting {
            limit.max(STARTUP_GRACE)
        } else {
            limit
        }
    }

    pub fn deadline(&self) -> Instant {
        self.last_seen + self.limit()
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
    fn a_worker_killed_after_settling_restarts_at_once() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut b = Backoff::default();
        // Killed again and again, each time after being ready for 300 ms.
        for i in 0..20 {
            let start = t0 + ms(400 * i);
            assert_eq!(
                b.on_death_after(start, Some(start + ms(50)), start + ms(350)),
                Duration::ZERO
            );
        }
        // Dying before Ready, or right after it, climbs the ladder.
        assert_eq!(b.on_death_after(t0, None, t0 + ms(100)), secs(1));
        assert_eq!(
            b.on_death_after(t0, Some(t0 + ms(50)), t0 + ms(100)),
            secs(2)
        );
        assert_eq!(b.on_death_after(t0, Some(t0), t0 + SETTLED), Duration::ZERO);
    }

    #[test]
    fn watchdog_three_intervals() {
        let t0 = Instant::now();
        let iv = Duration::from_millis(200);
        let mut w = Watchdog::new(iv, true, t0);
        w.settled();
        assert!(!w.is_hung(t0 + Duration::from_millis(599)));
        assert!(w.is_hung(t0 + Duration::from_millis(600)));
        w.seen(t0 + Duration::from_millis(500));
        assert!(!w.is_hung(t0 + Duration::from_millis(1000)));
        assert_eq!(w.deadline(), t0 + Duration::from_millis(1100));
    }

    #[test]
    fn watchdog_floors_and_startup_grace() {
        let t0 = Instant::now();
        let iv = Duration::from_millis(25);
        // A starting worker gets the grace whatever its role.
        let mut vrrp = Watchdog::new(iv, true, t0);
        assert_eq!(vrrp.limit(), STARTUP_GRACE);
        assert!(!vrrp.is_hung(t0 + Duration::from_millis(4999)));
        assert!(vrrp.is_hung(t0 + STARTUP_GRACE));
        // Ready: 3 x 25 ms is below the VRRP floor.
        vrrp.settled();
        assert_eq!(vrrp.limit(), VRRP_FLOOR);
        assert!(!vrrp.is_hung(t0 + Duration::from_millis(149)));
        assert!(vrrp.is_hung(t0 + Duration::from_millis(150)));
        let mut check = Watchdog::new(iv, false, t0);
        check.settled();
        assert_eq!(check.limit(), OTHER_FLOOR);
        // A slow heartbeat above the floors keeps its three intervals.
        let mut slow = Watchdog::new(Duration::from_secs(1), false, t0);
        slow.settled();
        assert_eq!(slow.limit(), Duration::from_secs(3));
    }
}
