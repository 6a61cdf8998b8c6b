//! VRRP failover benchmark (not a test): Debian's keepalived pairs and
//! keepalived-rs pairs, side by side in the same run, through the same
//! scenarios, each measured against the protocol's bound.
//!
//! Each trial: a fresh LAN (`tests::lan`: a bridge and two nodes in network
//! namespaces), node 1 (priority 120) elected MASTER, node 2 (priority
//! 110) BACKUP, a settling time and a random phase of the advert cycle;
//! then node 1 is hit:
//!
//! * `sigterm`: SIGTERM to the daemon (priority-0 advert, node 2 takes
//!   over after its skew).
//! * `sigkill`: SIGKILL to the whole daemon (parent and every child, all
//!   stopped first so that none reacts to another's death).
//! * `linkdown`: `ip link set eth0 down` on node 1.
//! * `worker-kill`: SIGKILL to the VRRP process alone (keepalived-rs's
//!   VRRP worker, keepalived's VRRP child); each parent restarts its own.
//!
//! Takeover = the VIP appearing on node 2 (netlink, `ip -ts monitor
//! address`), measured from the event the protocol counts from, seen by
//! tshark on the bridge: node 1's priority-0 advert (sigterm; bound: node
//! 2's skew, (256-110)/256 x advert interval) or node 1's last advert
//! (the others; bound: master down interval, 3 x advert + skew). Also the
//! time from the signal. The goal for keepalived-rs is within 5 ms of the
//! bound.
//!
//! Usage (as root; bench/vrrp-failover.sh builds and runs it):
//!   vrrp-failover-bench [--repeat N] [--only SCENARIO,...] [--impl rs|ka|both]
//!                       [--config v2|v3|both]
//! Environment: KEEPALIVED_RS_BIN (keepalived-rs to test), KEEPALIVED.

use rand_phase::phase;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};
use tests::daemon::{Daemon, worker};
use tests::lan::{
    AddrMonitor, BridgeCapture, Lan, epoch_now, kill_at_once, node_addr, process_tree,
};

const VIP: &str = "10.201.0.100";
const PRIO: [u8; 2] = [120, 110];
const SCENARIOS: [&str; 4] = ["sigterm", "sigkill", "linkdown", "worker-kill"];

/// A random phase in [0, 1) from the clock (no dependency for this).
mod rand_phase {
    pub fn phase() -> f64 {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // Mix the low bits a little.
        let x = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
        (x as f64) / ((1u64 << 53) as f64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Impl {
    Ka,
    Rs,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Ka => "keepalived",
            Impl::Rs => "keepalived-rs",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Cfg {
    version: u8,
    advert: f64,
}

impl Cfg {
    fn advert_text(&self) -> String {
        if self.advert.fract() == 0.0 {
            format!("{}", self.advert as u32)
        } else {
            format!("{}", self.advert)
        }
    }

    fn skew(&self, prio: u8) -> f64 {
        let f = f64::from(256 - u16::from(prio)) / 256.0;
        if self.version == 2 {
            f
        } else {
            f * self.advert
        }
    }

    fn master_down(&self, prio: u8) -> f64 {
        3.0 * self.advert + self.skew(prio)
    }

    fn conf(&self, prio: u8) -> String {
        let auth = if self.version == 2 {
            "    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n"
        } else {
            ""
        };
        format!(
            "global_defs {{\n    router_id bench_{prio}\n    vrrp_version {v}\n}}\n\
             vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id 51\n    priority {prio}\n    advert_int {adv}\n{auth}    \
             virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n",
            v = self.version,
            adv = self.advert_text(),
        )
    }
}

/// One trial's figures (seconds).
#[derive(Debug, Clone, Default)]
struct Trial {
    /// VIP on node 2, from the reference event (None: no takeover).
    takeover: Option<f64>,
    /// VIP on node 2, from the signal.
    from_signal: Option<f64>,
    /// The protocol's bound for `takeover`.
    bound: f64,
    /// worker-kill: the largest gap between node 1's adverts.
    max_gap: Option<f64>,
    /// worker-kill: node 1 had the VIP again at the end.
    node1_back: bool,
    note: String,
}

fn start(lan: &Lan, node: usize, imp: Impl, tag: &str, conf: &str) -> Daemon {
    match imp {
        Impl::Rs => Daemon::start(&lan.nodes[node], tag, conf, &[]),
        Impl::Ka => Daemon::start_keepalived(&lan.nodes[node], tag, conf, &["-P"]),
    }
}

fn wait(limit: Duration, pred: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn in_backup(d: &Daemon, imp: Impl) -> bool {
    match imp {
        Impl::Rs => d
            .status()
            .is_some_and(|s| s["vrrp_instances"][0]["state"] == "BACKUP"),
        Impl::Ka => d.log().contains("Entering BACKUP STATE"),
    }
}

/// The VRRP process of a daemon: keepalived-rs's worker, keepalived's
/// child.
fn vrrp_pid(d: &Daemon, imp: Impl) -> Option<u32> {
    match imp {
        Impl::Rs => worker(&d.status()?, "vrrp").map(|w| w.0),
        Impl::Ka => std::fs::read_to_string(d.dir.join("v.pid"))
            .ok()?
            .trim()
            .parse()
            .ok(),
    }
}

fn trial(imp: Impl, cfg: Cfg, scenario: &str, n: usize) -> Result<Trial, String> {
    let tag = format!("vb{n}");
    let lan = Lan::new(&tag, 2);
    let vip = format!("{VIP}/24");
    let has_vip = |i: usize| lan.has_addr(i, &format!("inet {vip}"));
    let mut cap = BridgeCapture::start(&lan, &tag);
    let mon2 = AddrMonitor::start(&lan.nodes[1]);
    let mut d1 = start(&lan, 0, imp, &format!("{tag}-1"), &cfg.conf(PRIO[0]));
    if !wait(Duration::from_secs(15), || has_vip(0)) {
        return Err(format!("node 1 not elected\n{}", d1.log()));
    }
    let d2 = start(&lan, 1, imp, &format!("{tag}-2"), &cfg.conf(PRIO[1]));
    if !wait(Duration::from_secs(10), || in_backup(&d2, imp)) {
        return Err(format!("node 2 not BACKUP\n{}", d2.log()));
    }
    // Settle, then hit node 1 at a random phase of its advert cycle.
    std::thread::sleep(Duration::from_secs_f64(
        (4.0 * cfg.advert).max(2.0) + phase() * cfg.advert,
    ));
    if has_vip(1) {
        return Err("node 2 held the VIP before the failover".into());
    }
    let node1 = node_addr(0);
    let t_sig = epoch_now();
    match scenario {
        "sigterm" => d1.signal("TERM"),
        "sigkill" => {
            let pids = process_tree(d1.pid());
            kill_at_once(&pids);
            let _ = d1.child.wait();
        }
        "linkdown" => lan.set_link(0, false),
        "worker-kill" => {
            let pid = vrrp_pid(&d1, imp).ok_or("no VRRP process")?;
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        other => return Err(format!("unknown scenario {other}")),
    }
    let limit = Duration::from_secs_f64(cfg.master_down(PRIO[1]) + 2.0);
    let took = mon2.wait(&vip, true, t_sig, limit);
    let mut t = Trial::default();
    if scenario == "worker-kill" {
        // Let the restarted process settle (keepalived's new child comes
        // back as BACKUP and preempts after its master down interval).
        std::thread::sleep(Duration::from_secs_f64(cfg.master_down(PRIO[0]) + 1.0));
        t.node1_back = has_vip(0) && !has_vip(1);
    } else {
        std::thread::sleep(Duration::from_millis(200));
    }
    let adverts = cap.adverts();
    drop(d2);
    drop(d1);
    let from1: Vec<f64> = adverts
        .iter()
        .filter(|a| a.src == node1)
        .map(|a| a.t)
        .collect();
    t.from_signal = took.as_ref().map(|e| e.t - t_sig);
    match scenario {
        "sigterm" => {
            t.bound = cfg.skew(PRIO[1]);
            let p0 = adverts
                .iter()
                .find(|a| a.src == node1 && a.prio == "0" && a.t >= t_sig)
                .map(|a| a.t);
            match (p0, &took) {
                (Some(p0), Some(e)) => t.takeover = Some(e.t - p0),
                (None, _) => t.note = "no priority-0 advert seen".into(),
                _ => {}
            }
        }
        _ => {
            t.bound = cfg.master_down(PRIO[1]);
            if let Some(e) = &took {
                match from1.iter().rev().find(|x| **x <= e.t) {
                    Some(last) => t.takeover = Some(e.t - last),
                    None => t.note = "no advert from node 1 seen".into(),
                }
            }
            if scenario == "worker-kill" {
                t.max_gap = from1
                    .windows(2)
                    .filter(|w| w[1] >= t_sig - cfg.advert)
                    .map(|w| w[1] - w[0])
                    .reduce(f64::max);
            }
        }
    }
    Ok(t)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn stat(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let mut w = v.to_vec();
    let m = median(&mut w);
    format!("{:.1} [{:.1}..{:.1}]", m, w[0], w[w.len() - 1])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut repeat = 3usize;
    let mut only: Vec<String> = SCENARIOS.iter().map(|s| s.to_string()).collect();
    let mut impls = vec![Impl::Ka, Impl::Rs];
    let mut cfgs = vec![
        Cfg {
            version: 2,
            advert: 1.0,
        },
        Cfg {
            version: 3,
            advert: 0.1,
        },
    ];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--repeat" => repeat = v.parse().expect("--repeat N"),
            "--only" => only = v.split(',').map(str::to_string).collect(),
            "--impl" => {
                impls = match v.as_str() {
                    "rs" => vec![Impl::Rs],
                    "ka" => vec![Impl::Ka],
                    _ => vec![Impl::Ka, Impl::Rs],
                }
            }
            "--config" => cfgs.retain(|c| v == "both" || format!("v{}", c.version) == v),
            _ => {
                eprintln!(
                    "usage: vrrp-failover-bench [--repeat N] [--only SCENARIO,...] \
                     [--impl rs|ka|both] [--config v2|v3|both]"
                );
                std::process::exit(2);
            }
        }
    }
    if !tests::privilege::is_root() {
        eprintln!("vrrp-failover-bench: run as root (it creates network namespaces)");
        std::process::exit(1);
    }
    let rs_bin = tests::keepalived_rs_binary();
    println!(
        "keepalived-rs: {}\nkeepalived:    {}",
        rs_bin.display(),
        tests::keepalived_system_binary().display()
    );
    println!(
        "node 1 priority {}, node 2 priority {}; VRRPv2 with auth PASS; repeat {repeat}",
        PRIO[0], PRIO[1]
    );
    let mut results: BTreeMap<(u8, u64, usize, Impl), Vec<Trial>> = BTreeMap::new();
    let mut n = 0;
    let t_all = Instant::now();
    for cfg in &cfgs {
        for (si, scenario) in SCENARIOS.iter().enumerate() {
            if !only.iter().any(|o| o == scenario) {
                continue;
            }
            for _ in 0..repeat {
                // Side by side: each repetition runs every implementation.
                for imp in &impls {
                    n += 1;
                    let r = trial(*imp, *cfg, scenario, n);
                    let key = (cfg.version, (cfg.advert * 1000.0) as u64, si, *imp);
                    match r {
                        Ok(t) => {
                            println!(
                                "v{} adv {:<4} {:<12} {:<14} takeover {:>8} ms (bound {:.1}), from signal {:>8} ms{}{}",
                                cfg.version,
                                cfg.advert_text(),
                                scenario,
                                imp.name(),
                                t.takeover
                                    .map_or("none".into(), |x| format!("{:.1}", x * 1000.0)),
                                t.bound * 1000.0,
                                t.from_signal
                                    .map_or("none".into(), |x| format!("{:.1}", x * 1000.0)),
                                t.max_gap.map_or(String::new(), |g| format!(
                                    ", largest advert gap {:.1} ms",
                                    g * 1000.0
                                )),
                                if t.note.is_empty() {
                                    String::new()
                                } else {
                                    format!(" ({})", t.note)
                                },
                            );
                            results.entry(key).or_default().push(t);
                        }
                        Err(e) => println!(
                            "v{} adv {} {scenario} {}: FAILED: {e}",
                            cfg.version,
                            cfg.advert_text(),
                            imp.name()
                        ),
                    }
                }
            }
        }
    }
    println!();
    println!(
        "== summary: takeover = VIP on node 2 (netlink) after node 1's priority-0 advert (sigterm) \
         or last advert (others), median [min..max] ms; diff = takeover - protocol bound"
    );
    println!(
        "{:<4} {:<4} {:<12} {:<14} {:>2} {:>24} {:>9} {:>24} {:>24}  note",
        "vrrp",
        "adv",
        "scenario",
        "daemon",
        "n",
        "takeover ms",
        "bound ms",
        "diff ms",
        "from signal ms",
    );
    let mut rs_ok = true;
    let mut rs_any = false;
    for ((v, adv, si, imp), ts) in &results {
        let takeovers: Vec<f64> = ts
            .iter()
            .filter_map(|t| t.takeover)
            .map(|x| x * 1000.0)
            .collect();
        let bound = ts.first().map_or(0.0, |t| t.bound * 1000.0);
        let diffs: Vec<f64> = takeovers.iter().map(|x| x - bound).collect();
        let from_sig: Vec<f64> = ts
            .iter()
            .filter_map(|t| t.from_signal)
            .map(|x| x * 1000.0)
            .collect();
        let scenario = SCENARIOS[*si];
        let mut note = String::new();
        if scenario == "worker-kill" {
            let none = ts.iter().filter(|t| t.takeover.is_none()).count();
            let gaps: Vec<f64> = ts
                .iter()
                .filter_map(|t| t.max_gap)
                .map(|g| g * 1000.0)
                .collect();
            let back = ts.iter().filter(|t| t.node1_back).count();
            note = format!(
                "no takeover {none}/{}, node 1 holds the VIP at the end {back}/{}, largest advert gap {}",
                ts.len(),
                ts.len(),
                stat(&gaps)
            );
        }
        let met = if *imp == Impl::Rs && scenario != "worker-kill" {
            rs_any = true;
            let ok = !diffs.is_empty()
                && diffs.len() == ts.len()
                && diffs.iter().all(|d| d.abs() <= 5.0);
            rs_ok &= ok;
            if ok {
                "  within 5 ms"
            } else {
                "  NOT within 5 ms"
            }
        } else {
            ""
        };
        println!(
            "{:<4} {:<4} {:<12} {:<14} {:>2} {:>24} {:>9.1} {:>24} {:>24}  {}{}",
            v,
            format!("{}", *adv as f64 / 1000.0),
            scenario,
            imp.name(),
            ts.len(),
            stat(&takeovers),
            bound,
            stat(&diffs),
            stat(&from_sig),
            note,
            met
        );
    }
    println!();
    if rs_any {
        println!(
            "goal (keepalived-rs takeover within 5 ms of the protocol bound in every trial): {}",
            if rs_ok { "met" } else { "NOT met" }
        );
    }
    println!("elapsed: {:.0} s", t_all.elapsed().as_secs_f64());
}
