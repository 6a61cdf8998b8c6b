//! The checkers' probe figures: how long each checker's last probe took,
//! how many ran and how many failed. The engine marks a probe's start and
//! its end; the worker sends a summary to the parent every
//! [`ipc::CHECK_STATS_INTERVAL`] when probes ended since the last one
//! (never a message per probe). Sans-IO: times are passed in.

use crate::idmap::IdMap;
use ipc::{CheckerStats, MAX_CHECKER_STATS, RealServerKey};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
struct Figures {
    started: Option<Instant>,
    last: Option<Duration>,
    last_ok: bool,
    checks: u64,
    failures: u64,
}

/// Per checker id.
#[derive(Debug, Default)]
pub struct ProbeStats {
    by_id: IdMap<u64, Figures>,
    /// Probes ended since the last [`ProbeStats::summary`].
    dirty: bool,
}

/// Who a checker is, for the summary.
pub struct Identity<'a> {
    pub real_server: &'a RealServerKey,
    pub kind: &'a str,
    pub target: String,
}

impl ProbeStats {
    /// Checker `id` started a probe at `now`.
    pub fn begin(&mut self, id: u64, now: Instant) {
        self.by_id.entry(id).or_default().started = Some(now);
    }

    /// Checker `id`'s probe ended at `now`. A probe with no recorded start
    /// (ended before it began, e.g. no socket) counts with no duration.
    pub fn end(&mut self, id: u64, ok: bool, now: Instant) {
        let f = self.by_id.entry(id).or_default();
        f.last = Some(
            f.started
                .take()
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s)),
        );
        f.last_ok = ok;
        f.checks += 1;
        f.failures += u64::from(!ok);
        self.dirty = true;
    }

    /// Whether probes ended since the last summary.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Every checker that has started a probe and that `who` still knows
    /// (checkers a reload removed are forgotten), by id, at most
    /// [`MAX_CHECKER_STATS`]; clears the dirty mark.
    pub fn summary<'a>(&mut self, who: impl Fn(u64) -> Option<Identity<'a>>) -> Vec<CheckerStats> {
        self.dirty = false;
        // Sized once (grown by doubling, its freed copies raised the
        // worker's peak memory at every summary).
        let mut v: Vec<(u64, CheckerStats)> = Vec::with_capacity(self.by_id.len());
        self.by_id.retain(|&id, f| {
            let Some(w) = who(id) else {
                return false;
            };
            v.push((
                id,
                CheckerStats {
                    real_server: w.real_server.clone(),
                    kind: w.kind.to_string(),
                    target: w.target,
                    last_duration: f.last,
                    last_ok: f.last_ok,
                    checks: f.checks,
                    failures: f.failures,
                },
            ));
            true
        });
        v.sort_unstable_by_key(|(id, _)| *id);
        v.truncate(MAX_CHECKER_STATS);
        v.into_iter().map(|(_, c)| c).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc::{Protocol, VirtualServerKey};

    fn key() -> RealServerKey {
        RealServerKey {
            virtual_server: VirtualServerKey::Addr {
                addr: "10.0.0.1".parse().unwrap(),
                port: 80,
                protocol: Protocol::Tcp,
            },
            addr: "10.0.0.2".parse().unwrap(),
            port: 8080,
        }
    }

    #[test]
    fn last_duration_and_counts() {
        let k = key();
        let t0 = Instant::now();
        let mut s = ProbeStats::default();
        assert!(!s.dirty());
        s.begin(1, t0);
        s.end(1, true, t0 + Duration::from_millis(3));
        s.begin(1, t0 + Duration::from_secs(1));
        s.end(1, false, t0 + Duration::from_millis(1_250));
        // No start seen: counted, no duration.
        s.end(2, false, t0);
        assert!(s.dirty());
        s.begin(3, t0);
        let who = |id| {
            (id != 4).then(|| Identity {
                real_server: &k,
                kind: "TCP_CHECK",
                target: format!("t{id}"),
            })
        };
        let v = s.summary(who);
        assert!(!s.dirty());
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].last_duration, Some(Duration::from_millis(250)));
        assert!(!v[0].last_ok);
        assert_eq!((v[0].checks, v[0].failures), (2, 1));
        assert_eq!(v[1].last_duration, Some(Duration::ZERO));
        assert_eq!((v[1].checks, v[1].failures), (1, 1));
        // Running its first probe.
        assert_eq!(v[2].last_duration, None);
        assert_eq!((v[2].checks, v[2].target.as_str()), (0, "t3"));
        // Checker 1 removed by a reload: gone from the summary and the map.
        let v = s.summary(|id| (id != 1).then(|| who(id)).flatten());
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].target, "t2");
        assert!(!s.by_id.contains_key(&1));
    }
}
