//! VRRP start-up timers end to end, side by side with Debian's keepalived
//! 2.2.7 on the same LAN (each with VRIDs of its own, so they never
//! elect against each other):
//!
//! - `vrrp_startup_delay`: backups start their master-down timers only
//!   after the delay;
//! - `down_timer_adverts`: the master-down timer is that many advert
//!   intervals plus the skew (3 by default);
//! - `unicast_fault_no_peer` with an empty peer list: the instance stays in
//!   FAULT, sends nothing and never takes its VIP.
//!
//! One daemon of each for all three: the first advert of each VRID is
//! timed on the wire (tshark on the bridge) from the daemon's start.
//!
//! - `garp_lower_prio_delay` / `garp_lower_prio_repeat`: a MASTER hearing
//!   a lower priority sends its gratuitous ARPs at once and again after
//!   the delay, bursts compared on the wire with keepalived's.

use std::time::{Duration, Instant};
use tests::daemon::logs;
use tests::lan::{ADVERT_FILTER, bursts, node_addr, node_mac};
use tests::side::{self, Side, lower_priority_pairs};

const STARTUP_DELAY: f64 = 1.5;
/// keepalived's skew time at priority 100 with advert_int 1 s.
const SKEW: f64 = (256.0 - 100.0) / 256.0;

/// Three instances at priority 100, VRIDs `v`, `v + 1`, `v + 2`: the
/// default down timer (3 adverts), `down_timer_adverts 1`, and a unicast
/// instance with no peer and `unicast_fault_no_peer`.
fn conf(v: u8, src: &str) -> String {
    let inst = |vrid: u8, name: &str, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n{extra}    virtual_ipaddress {{\n        10.201.0.{vrid}/24\n    }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n    vrrp_startup_delay {STARTUP_DELAY}\n}}\n{}{}{}",
        inst(v, &format!("D{v}"), ""),
        inst(v + 1, &format!("Q{}", v + 1), "    down_timer_adverts 1\n"),
        inst(
            v + 2,
            &format!("F{}", v + 2),
            &format!("    unicast_src_ip {src}\n    unicast_fault_no_peer\n"),
        ),
    )
}

/// The epoch time of the VRRP worker's "Delaying startup" line, from its
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` stamp and the day of `near`.
fn worker_start(log: &str, near: f64) -> f64 {
    let line = log
        .lines()
        .find(|l| l.contains("Delaying startup for"))
        .unwrap_or_else(|| panic!("no 'Delaying startup' line:\n{log}"));
    let tod = &line[11..23];
    let h: f64 = tod[0..2].parse().expect("hour");
    let m: f64 = tod[3..5].parse().expect("minute");
    let sec: f64 = tod[6..12].parse().expect("second");
    let day = (near / 86400.0).floor() * 86400.0;
    let mut t = day + h * 3600.0 + m * 60.0 + sec;
    if t < near - 43200.0 {
        t += 86400.0;
    }
    t
}

#[test]
fn startup_delay_down_timer_adverts_and_fault_no_peer_as_keepalived() {
    if !side::ready("the VRRP start-up timer test", &[]) {
        return;
    }
    let mut side = Side::on("vrtim")
        .capture(ADVERT_FILTER)
        .start(&conf(41, &node_addr(0)), &conf(44, &node_addr(1)));
    let t0 = Instant::now();
    side.wait("D and Q MASTER on both", Duration::from_secs(12), |lan| {
        [(0, 41), (0, 42), (1, 44), (1, 45)]
            .iter()
            .all(|(n, v)| lan.has_addr(*n, &format!("inet 10.201.0.{v}/24")))
    });
    // The FAULT instances have had more than their timers by now (the
    // default one is the longest).
    let left =
        Duration::from_secs_f64(STARTUP_DELAY + 3.0 + SKEW + 1.0).saturating_sub(t0.elapsed());
    std::thread::sleep(left);
    let adverts = side.adverts();
    let (t_ka, ds) = (side.ka_started, side.daemons());
    let (rs, ka, lan) = (&side.rs, &side.ka, &side.lan);
    let first = |vrid: u8, start: f64| {
        adverts
            .iter()
            .find(|a| a.vrid == vrid.to_string())
            .map(|a| a.t - start)
    };
    // keepalived-rs from its VRRP worker's start (the log's UTC time of
    // day, to the millisecond): a freshly built debug binary can take
    // seconds to load on a busy machine, which is not the timers' doing.
    let t_rs = worker_start(&rs.log(), side.rs_started);
    let ours = [first(41, t_rs), first(42, t_rs), first(43, t_rs)];
    let theirs = [first(44, t_ka), first(45, t_ka), first(46, t_ka)];
    eprintln!(
        "first advert after start (startup delay {STARTUP_DELAY} s; 3 adverts / 1 advert / fault_no_peer): keepalived-rs {ours:?}, keepalived {theirs:?}"
    );
    let want = [STARTUP_DELAY + 3.0 + SKEW, STARTUP_DELAY + 1.0 + SKEW];
    for (who, got) in [("keepalived-rs", &ours), ("keepalived", &theirs)] {
        let mut g = [0.0; 2];
        for (k, w) in want.iter().enumerate() {
            g[k] = got[k].unwrap_or_else(|| panic!("{who}: no advert {k}\n{}", logs(&ds)));
            // The daemon's own start-up comes on top (a fraction of a
            // second, more on a loaded machine); never earlier than the
            // startup delay plus the down timer.
            assert!(
                g[k] >= w - 0.05 && g[k] < w + 1.5,
                "{who}: first advert {k} after {:.3} s, want {w:.3} s\n{}",
                g[k],
                logs(&ds)
            );
        }
        // Both timers started at the same moment: 3 adverts against 1.
        assert!(
            (g[0] - g[1] - 2.0).abs() < 0.15,
            "{who}: {:.3} s between the two first adverts, want 2 s",
            g[0] - g[1]
        );
        assert_eq!(got[2], None, "{who}: the no-peer instance advertised");
    }
    // The no-peer instances: FAULT, no VIP.
    assert!(!lan.has_addr(0, "inet 10.201.0.43/24"));
    assert!(!lan.has_addr(1, "inet 10.201.0.46/24"));
    let s = rs.status().expect("status");
    let f = s["vrrp_instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == "F43"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(f["state"], "FAULT", "{s}");
    // The same log line, and no "Entering FAULT STATE (init)" after it.
    for (d, name) in [(rs, "F43"), (ka, "F46")] {
        let log = d.log();
        assert!(
            log.contains(&format!(
                "({name}) Cannot use unicast without any peers - going to fault state"
            )),
            "{}",
            logs(&ds)
        );
        assert!(
            !log.contains(&format!("({name}) Entering FAULT STATE")),
            "{}",
            logs(&ds)
        );
    }
}

// ------------------------------------------------------------ garp_lower_prio

/// One instance at `prio` for VRID `v` with `garp_lower_prio_delay 1` and
/// `garp_lower_prio_repeat 2`; one GARP on becoming MASTER and the delayed
/// burst out of the way (10 s).
fn lower_prio_garp_conf(v: u8, prio: u8) -> String {
    format!(
        "vrrp_instance G{v} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {v}\n    priority {prio}\n    advert_int 1\n    garp_master_delay 10\n    garp_master_repeat 1\n    garp_lower_prio_delay 1\n    garp_lower_prio_repeat 2\n    virtual_ipaddress {{\n        10.201.0.{v}/24\n    }}\n}}\n"
    )
}

/// `node`'s gratuitous ARPs for `addr` as bursts.
fn garp_bursts(ann: &[tests::lan::Announcement], addr: &str, node: usize) -> Vec<(f64, usize)> {
    let mac = node_mac(node);
    bursts(
        ann.iter()
            .filter(|a| a.addr == addr && a.arp_sha == mac)
            .map(|a| a.t),
    )
}

#[test]
fn garp_lower_prio_delay_and_repeat_as_keepalived() {
    if !side::ready("the garp_lower_prio test", &[]) {
        return;
    }
    // Nodes 2 and 4 hear no VRRP, so they stay MASTER at 100 and keep
    // advertising to the MASTERs at 200 on nodes 1 (keepalived-rs) and 3
    // (keepalived), which answer with gratuitous ARPs.
    let (_lan, mut cap, daemons) =
        lower_priority_pairs("vrglp", "arp", lower_prio_garp_conf, (51, 52));
    let ds: Vec<&tests::Daemon> = daemons.iter().collect();
    cap.stop();
    let ann = tests::lan::decode_announcements(cap.pcap());
    let ours = garp_bursts(&ann, "10.201.0.51", 0);
    let theirs = garp_bursts(&ann, "10.201.0.52", 2);
    eprintln!("garp_lower_prio: keepalived-rs {ours:?}\ngarp_lower_prio: keepalived {theirs:?}");
    // Becoming MASTER: 1 frame; the first lower-priority advert: 2 at
    // once (the two may fall within one burst, depending on when the
    // deaf MASTER's first advert comes); from the next advert on, every
    // second: its 2 at once plus the 2 the previous advert scheduled a
    // second earlier (garp_lower_prio_delay).
    let split = |b: &[(f64, usize)]| -> (usize, Vec<(f64, usize)>) {
        let k = b
            .iter()
            .position(|x| x.1 == 4)
            .unwrap_or_else(|| panic!("no burst of 4: {b:?}\n{}", logs(&ds)));
        let t0 = b[k].0;
        (
            b[..k].iter().map(|x| x.1).sum(),
            b[k..].iter().map(|x| (x.0 - t0, x.1)).collect(),
        )
    };
    let (ours_before, ours4) = split(&ours);
    let (theirs_before, theirs4) = split(&theirs);
    assert_eq!(ours_before, 3, "{ours:?}");
    assert_eq!(theirs_before, 3, "{theirs:?}");
    let n = ours4.len().min(theirs4.len());
    assert!(n >= 3, "{ours:?} vs {theirs:?}\n{}", logs(&ds));
    assert!((ours4.len() as i64 - theirs4.len() as i64).abs() <= 1);
    // (The last one may be cut by the end of the capture.)
    for (a, b) in ours4.iter().zip(&theirs4).take(n - 1) {
        assert_eq!(a.1, 4, "{ours:?}");
        assert_eq!(b.1, 4, "{theirs:?}");
        assert!(
            (a.0 - b.0).abs() < 0.35,
            "burst times differ: {ours:?} vs {theirs:?}"
        );
    }
}
