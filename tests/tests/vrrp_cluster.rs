//! VRRP clusters end to end (issue 4): nodes in network namespaces on a
//! bridge (`tests::lan`), keepalived-rs and Debian's keepalived 2.2.7.
//!
//! 1. Three keepalived-rs nodes (priorities 150/120/100), VRRPv2 with
//!    advert_int 1 and auth PASS, and VRRPv3 with advert_int 0.1:
//!    election, then failover on SIGTERM (priority 0: the 120 node takes
//!    over after its skew), on SIGKILL of the whole daemon (parent and
//!    workers: after the master down interval), on link down (the
//!    master's eth0 down: node down). A node restarted after SIGKILL
//!    first removes the VIP its dead predecessor left (as keepalived does
//!    at start). The counters in `ctl status` match what happened. Every
//!    advert crossing the bridge meanwhile is decoded by tshark and
//!    checked: good checksum, configured version, VRID, priority,
//!    addresses, interval and authentication (also for IPv6 VRRPv3).
//! 2. A node with the wrong auth_pass is ignored (no takeover, no VIP
//!    change) and its adverts are counted as auth failures in `ctl status`
//!    and in the SIGUSR2 stats dump.
//! 3. nopreempt and preempt_delay: the same scenario (the higher priority
//!    node returns after a failover) with keepalived pairs, keepalived-rs
//!    pairs and mixed pairs in both roles gives the same VIP holders.
//! 4. The seed setup: three nodes, a real haproxy on each, a weight-2
//!    `vrrp_script` checking it, nopreempt, auth PASS, scripts run as root
//!    under enable_script_security; stopping haproxy on the master lowers
//!    its priority, and the VIP stays or moves exactly as with keepalived.
//!
//! Timings are printed (`--nocapture`); their bounds are generous (the
//! machine may be loaded): exact figures are bench/vrrp-failover.sh's job.
//! Root, iproute2 and tshark are needed (keepalived and haproxy for some
//! tests); under CI (CI=true) a missing one fails the test.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::binaries::keepalived_rs_binary;
use tests::daemon::{Daemon, alive, logs, wait_until};
use tests::lan::{Advert, BridgeCapture, Lan, kill_at_once, node_addr, node_mac, process_tree};
use tests::{Requirement, require};

const VIP: &str = "10.201.0.100";
const VIP_ADDR: &str = "inet 10.201.0.100/24";

// ---------------------------------------------------------------- configuration

/// One node's keepalived.conf (the same text for both implementations).
#[derive(Debug, Clone)]
struct Conf {
    priority: u8,
    version: u8,
    advert: &'static str,
    auth: Option<&'static str>,
    nopreempt: bool,
    preempt_delay: Option<u32>,
    /// Extra `global_defs` lines.
    global: String,
    /// Blocks before the instance (vrrp_script).
    before: String,
    /// Extra instance lines.
    instance: String,
}

impl Conf {
    fn new(priority: u8, version: u8, advert: &'static str) -> Conf {
        Conf {
            priority,
            version,
            advert,
            auth: None,
            nopreempt: false,
            preempt_delay: None,
            global: String::new(),
            before: String::new(),
            instance: String::new(),
        }
    }

    fn render(&self) -> String {
        let mut inst = String::new();
        if self.nopreempt {
            inst.push_str("    nopreempt\n");
        }
        if let Some(d) = self.preempt_delay {
            inst.push_str(&format!("    preempt_delay {d}\n"));
        }
        if let Some(p) = self.auth {
            inst.push_str(&format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
            ));
        }
        inst.push_str(&self.instance);
        format!(
            r#"
global_defs {{
    router_id node_{prio}
    vrrp_version {version}
{global}}}
{before}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {advert}
{inst}    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"#,
            prio = self.priority,
            version = self.version,
            advert = self.advert,
            global = self.global,
            before = self.before,
        )
    }

    fn advert_secs(&self) -> f64 {
        self.advert.parse().expect("advert_int")
    }

    /// keepalived's skew for this node as a backup: VRRPv2 (256-p)/256 s,
    /// VRRPv3 (256-p)/256 of the advert interval.
    fn skew(&self) -> f64 {
        skew(self.version, self.priority, self.advert_secs())
    }

    /// The master down interval: 3 adverts and the skew.
    fn master_down(&self) -> f64 {
        3.0 * self.advert_secs() + self.skew()
    }
}

fn skew(version: u8, priority: u8, advert: f64) -> f64 {
    let f = f64::from(256 - u16::from(priority)) / 256.0;
    if version == 2 { f } else { f * advert }
}

// ---------------------------------------------------------------- nodes

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    /// keepalived-rs
    Rs,
    /// Debian's keepalived 2.2.7
    Ka,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Rs => "keepalived-rs",
            Impl::Ka => "keepalived",
        }
    }
}

/// Start a node's daemon; `tag` must be unique in the test process.
fn start(lan: &Lan, node: usize, imp: Impl, tag: &str, conf: &Conf) -> Daemon {
    match imp {
        Impl::Rs => Daemon::start(&lan.nodes[node], tag, &conf.render(), &[]),
        Impl::Ka => Daemon::start_keepalived(&lan.nodes[node], tag, &conf.render(), &["-P"]),
    }
}

/// Exactly `want` hold the VIP, for all of `d`.
fn steady(lan: &Lan, want: &[usize], d: Duration, ds: &[&Daemon]) {
    let t0 = Instant::now();
    while t0.elapsed() < d {
        assert_eq!(
            lan.holders(VIP_ADDR),
            want,
            "VIP holders changed after {:?}\n{}",
            t0.elapsed(),
            logs(ds)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// keepalived-rs: the instance's state in `ctl status`.
fn state(d: &Daemon) -> Option<String> {
    d.status()?["vrrp_instances"][0]["state"]
        .as_str()
        .map(str::to_string)
}

/// keepalived-rs: the instance's entry in `ctl status`.
fn instance(d: &Daemon) -> Value {
    d.status()
        .map_or(Value::Null, |s| s["vrrp_instances"][0].clone())
}

/// The daemon has entered BACKUP (from `ctl status` or keepalived's log).
fn in_backup(d: &Daemon, imp: Impl) -> bool {
    match imp {
        Impl::Rs => state(d).as_deref() == Some("BACKUP"),
        Impl::Ka => d.log().contains("Entering BACKUP STATE"),
    }
}

/// SIGTERM and wait for a clean exit.
fn stop(d: &mut Daemon) {
    tests::side::stop_within(d, Duration::from_secs(8));
}

/// SIGKILL the whole daemon at once: the parent and every process it
/// started (keepalived-rs's workers, keepalived's VRRP child).
fn kill_all(d: &mut Daemon) {
    let pids = process_tree(d.pid());
    assert!(pids.len() >= 2, "no workers under {}: {pids:?}", d.pid());
    kill_at_once(&pids);
    let _ = d.child.wait();
    let t0 = Instant::now();
    while pids.iter().any(|p| alive(*p)) {
        assert!(t0.elapsed() < Duration::from_secs(3), "{pids:?} survived");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// No worker broke its sandbox or was restarted.
fn healthy(ds: &[&Daemon]) {
    for d in ds {
        let log = d.log();
        assert!(
            !log.contains("SIGSYS"),
            "a worker broke its sandbox:\n{log}"
        );
        assert!(
            !log.contains("restarting it"),
            "a worker was restarted:\n{log}"
        );
    }
}

fn r(n: &[Daemon]) -> Vec<&Daemon> {
    n.iter().collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn tool_present(tool: &str, why: &str) -> bool {
    let ok = Command::new(tool)
        .arg(if tool == "haproxy" { "-v" } else { "--version" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if tests::privilege::in_ci() {
            panic!("{tool} is missing ({why}); CI=true: failing");
        }
        eprintln!("!!! SKIPPED: {why} needs {tool}");
    }
    ok
}

// ---------------------------------------------------------------- 1. clusters

/// The three-node scenario; prints its timings.
fn three_nodes(tag: &str, version: u8, advert: &'static str, auth: Option<&'static str>) {
    let lan = Lan::new(tag, 3);
    let mut cap = BridgeCapture::start(&lan, tag);
    let confs: Vec<Conf> = [150, 120, 100]
        .iter()
        .map(|p| Conf {
            auth,
            ..Conf::new(*p, version, advert)
        })
        .collect();
    let adv = confs[0].advert_secs();
    let (c1, c2) = (&confs[0], &confs[1]);
    let mut timings: Vec<(String, f64, f64)> = Vec::new();
    let _ = keepalived_rs_binary();
    let t_start = Instant::now();
    let mut n: Vec<Daemon> = (0..3)
        .map(|i| start(&lan, i, Impl::Rs, &format!("{tag}-n{}", i + 1), &confs[i]))
        .collect();

    // ---- election: the VIP on node 1 only; nodes 2 and 3 BACKUP.
    wait_until("node 1 elected", Duration::from_secs(15), &r(&n), || {
        lan.holders(VIP_ADDR) == [0]
    });
    let elected = t_start.elapsed();
    timings.push((
        "election (start -> VIP)".into(),
        ms(elected),
        c1.master_down() * 1000.0,
    ));
    wait_until(
        "states in ctl status",
        Duration::from_secs(3),
        &r(&n),
        || {
            state(&n[0]).as_deref() == Some("MASTER")
                && state(&n[1]).as_deref() == Some("BACKUP")
                && state(&n[2]).as_deref() == Some("BACKUP")
        },
    );
    steady(
        &lan,
        &[0],
        Duration::from_secs_f64((4.0 * adv).max(1.5)),
        &r(&n),
    );

    // ---- SIGTERM: priority 0, the 120 node takes over after its skew.
    n[0].signal("TERM");
    let t = wait_until(
        "node 2 after SIGTERM",
        Duration::from_secs(6),
        &r(&n),
        || lan.holders(VIP_ADDR) == [1],
    );
    timings.push(("SIGTERM -> VIP on node 2".into(), ms(t), c2.skew() * 1000.0));
    assert!(
        t.as_secs_f64() < c2.skew() + 1.0,
        "SIGTERM takeover took {t:?} (skew {} s)",
        c2.skew()
    );
    stop(&mut n[0]);
    assert_eq!(state(&n[1]).as_deref(), Some("MASTER"));
    steady(
        &lan,
        &[1],
        Duration::from_secs_f64((4.0 * adv).max(1.0)),
        &r(&n),
    );
    assert_eq!(state(&n[2]).as_deref(), Some("BACKUP"));

    // ---- node 1 returns and preempts.
    n[0] = start(&lan, 0, Impl::Rs, &format!("{tag}-n1b"), c1);
    let t = wait_until("node 1 preempts", Duration::from_secs(15), &r(&n), || {
        lan.holders(VIP_ADDR) == [0]
    });
    timings.push((
        "node 1 restarted -> preempts".into(),
        ms(t),
        c1.master_down() * 1000.0,
    ));
    steady(&lan, &[0], Duration::from_secs_f64(2.0 * adv), &r(&n));

    // ---- SIGKILL of the whole daemon: node 2 after its master down timer.
    kill_all(&mut n[0]);
    let t = wait_until(
        "node 2 after SIGKILL",
        Duration::from_secs(10),
        &r(&n),
        || lan.has_addr(1, VIP_ADDR),
    );
    timings.push((
        "SIGKILL (parent+workers) -> VIP on node 2".into(),
        ms(t),
        c2.master_down() * 1000.0,
    ));
    // Its timer restarted with the last advert, at most one interval
    // before the kill.
    assert!(
        t.as_secs_f64() > 0.9 * (c2.master_down() - adv),
        "node 2 took over after {t:?}, before its master down interval"
    );
    assert!(t.as_secs_f64() < c2.master_down() + 2.0, "{t:?}");
    // The dead node keeps the VIP (nothing removed it).
    assert!(lan.has_addr(0, VIP_ADDR));
    assert!(!lan.has_addr(2, VIP_ADDR));

    // ---- node 1 restarted: it removes the VIP left behind, as keepalived
    // does at start, stays BACKUP for a master down interval, preempts.
    n[0] = start(&lan, 0, Impl::Rs, &format!("{tag}-n1c"), c1);
    wait_until("node 1 BACKUP", Duration::from_secs(5), &r(&n), || {
        state(&n[0]).as_deref() == Some("BACKUP")
    });
    assert!(
        !lan.has_addr(0, VIP_ADDR),
        "the restarted node keeps the VIP its dead predecessor left\n{}",
        n[0].log()
    );
    assert!(
        n[0].log()
            .contains("(VI_1) removed 10.201.0.100/24 from eth0, left by a previous run"),
        "{}",
        n[0].log()
    );
    wait_until(
        "node 1 preempts again",
        Duration::from_secs(15),
        &r(&n),
        || lan.holders(VIP_ADDR) == [0],
    );
    steady(&lan, &[0], Duration::from_secs_f64(2.0 * adv), &r(&n));

    // ---- link down on the master: FAULT, node 2 after master down.
    lan.set_link(0, false);
    let t = wait_until(
        "node 2 after link down",
        Duration::from_secs(10),
        &r(&n),
        || lan.holders(VIP_ADDR) == [1],
    );
    timings.push((
        "link down -> VIP on node 2".into(),
        ms(t),
        c2.master_down() * 1000.0,
    ));
    assert!(
        t.as_secs_f64() > 0.9 * (c2.master_down() - adv),
        "node 2 took over after {t:?}, before its master down interval"
    );
    assert!(t.as_secs_f64() < c2.master_down() + 2.0, "{t:?}");
    wait_until("node 1 FAULT", Duration::from_secs(3), &r(&n), || {
        state(&n[0]).as_deref() == Some("FAULT")
    });
    lan.set_link(0, true);
    let t = wait_until(
        "node 1 back after link up",
        Duration::from_secs(15),
        &r(&n),
        || lan.holders(VIP_ADDR) == [0],
    );
    timings.push((
        "link up -> node 1 preempts".into(),
        ms(t),
        c1.master_down() * 1000.0,
    ));
    steady(&lan, &[0], Duration::from_secs_f64(2.0 * adv), &r(&n));
    healthy(&r(&n));
    // The counters in ctl status (they reach the parent every 2 s): node
    // 1 (since its last start) became MASTER twice (start, link up) and
    // released it once (link down); node 2 took over three times and gave
    // the VIP back three times; node 2 and 3 heard one priority-0 advert
    // (SIGTERM: a node whose link is down cannot say goodbye); nobody
    // dropped an advert.
    let want: [(u64, u64, u64); 3] = [(2, 1, 0), (3, 3, 1), (0, 0, 1)];
    for (i, (became, released, zero)) in want.into_iter().enumerate() {
        let c = n[i].wait_for("the counters", Duration::from_secs(5), |s| {
            let c = &s["vrrp_instances"][0]["counters"];
            c["became_master"] == became && c["released_master"] == released
        })["vrrp_instances"][0]["counters"]
            .clone();
        assert_eq!(c["priority_zero_received"], zero, "node {}: {c}", i + 1);
        assert_eq!(c["drops"], serde_json::json!({}), "node {}: {c}", i + 1);
        assert!(
            (c["adverts_sent"].as_u64() > Some(0)) == (i < 2),
            "node {}: {c}",
            i + 1
        );
        assert!(
            c["adverts_received"].as_u64() > Some(0),
            "node {}: {c}",
            i + 1
        );
    }
    // Backups first, so nothing takes over at the end.
    for d in n.iter_mut().rev() {
        stop(d);
    }
    assert!(lan.holders(VIP_ADDR).is_empty());

    eprintln!("three keepalived-rs nodes, VRRPv{version}, advert_int {advert}:");
    eprintln!("  {:<44} {:>9} {:>16}", "event", "ms", "protocol (ms)");
    for (what, t, bound) in &timings {
        eprintln!("  {what:<44} {t:>9.0} {bound:>16.0}");
    }

    // ---- every advert on the wire, decoded by tshark.
    let adverts = cap.adverts();
    check_adverts(&adverts, &confs, version, auth);
}

/// Every advert keepalived-rs sent: tshark finds its checksum good and
/// the configured fields.
fn check_adverts(adverts: &[Advert], confs: &[Conf], version: u8, auth: Option<&str>) {
    let mut per_node = vec![(0usize, 0usize); confs.len()];
    for a in adverts {
        let i = (0..confs.len())
            .find(|i| a.src == node_addr(*i))
            .unwrap_or_else(|| panic!("advert from an unknown source: {a:?}"));
        let c = &confs[i];
        let ctx = format!("advert from node {}: {a:?}", i + 1);
        assert_eq!(a.checksum_status, "1", "checksum not good: {ctx}");
        assert_eq!(a.version, version.to_string(), "{ctx}");
        assert_eq!(a.kind, "1", "{ctx}");
        assert_eq!(a.vrid, "51", "{ctx}");
        assert!(
            a.prio == c.priority.to_string() || a.prio == "0",
            "priority: {ctx}"
        );
        assert_eq!(a.addr_count, "1", "{ctx}");
        assert_eq!(a.addrs, VIP, "{ctx}");
        let interval = if version == 2 {
            format!("{}", c.advert_secs() as u32)
        } else {
            format!("{}", (c.advert_secs() * 100.0).round() as u32)
        };
        assert_eq!(a.adver_int, interval, "{ctx}");
        assert_eq!(a.ttl, "255", "{ctx}");
        assert_eq!(a.dst, "224.0.0.18", "{ctx}");
        assert_eq!(a.eth_src, node_mac(i), "{ctx}");
        match (version, auth) {
            (2, Some(p)) => {
                assert_eq!(a.auth_type, "1", "{ctx}");
                assert_eq!(a.auth_string, p, "{ctx}");
            }
            (2, None) => assert_eq!(a.auth_type, "0", "{ctx}"),
            _ => assert!(a.auth_type.is_empty(), "{ctx}"),
        }
        per_node[i].0 += 1;
        if a.prio == "0" {
            per_node[i].1 += 1;
        }
    }
    eprintln!(
        "tshark decoded {} adverts, all with a good checksum and the configured fields \
         (per node: adverts, of which priority 0): {per_node:?}",
        adverts.len()
    );
    // Node 1 was master four times, node 2 three times; node 1 said
    // goodbye on SIGTERM and at the end.
    assert!(per_node[0].0 >= 5 && per_node[1].0 >= 3, "{per_node:?}");
    assert!(per_node[0].1 >= 2, "{per_node:?}");
    assert_eq!(per_node[2], (0, 0), "node 3 never was master");
}

fn cluster_requirements(what: &str) -> bool {
    require(what, &[Requirement::Root, Requirement::NetTools]) && tool_present("tshark", what)
}

#[test]
fn three_nodes_vrrpv2_auth_pass() {
    if !cluster_requirements("the three-node VRRPv2 test") {
        return;
    }
    three_nodes("vc2", 2, "1", Some("secret"));
}

#[test]
fn three_nodes_vrrpv3_fast() {
    if !cluster_requirements("the three-node VRRPv3 test") {
        return;
    }
    three_nodes("vc3", 3, "0.1", None);
}

// ---------------------------------------------------------------- 2. auth

/// The `Failure:` count of the parent's "Authentication Errors:" block in
/// a stats dump.
fn auth_failures_in_dump(text: &str) -> Option<u64> {
    let block = &text[text.find("  Authentication Errors:\n")?..];
    block
        .lines()
        .find_map(|l| l.strip_prefix("    Failure: "))
        .and_then(|n| n.trim().parse().ok())
}

fn counter(d: &Daemon, key: &str) -> u64 {
    instance(d)["counters"][key].as_u64().unwrap_or(0)
}

fn auth_drops(d: &Daemon) -> u64 {
    instance(d)["counters"]["drops"]["auth_failure"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_node_with_the_wrong_auth_pass_is_ignored() {
    if !require(
        "the auth PASS mismatch test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vca", 3);
    let with = |prio: u8, pass: &'static str| Conf {
        auth: Some(pass),
        ..Conf::new(prio, 2, "1")
    };
    let n1 = start(&lan, 0, Impl::Rs, "vca-n1", &with(150, "secret"));
    let n2 = start(&lan, 1, Impl::Rs, "vca-n2", &with(120, "secret"));
    wait_until(
        "node 1 elected",
        Duration::from_secs(15),
        &[&n1, &n2],
        || lan.holders(VIP_ADDR) == [0],
    );
    // The rogue: a higher priority, another password. It hears nobody (it
    // drops their adverts) and makes itself MASTER; the others must not
    // hear it either.
    let n3 = start(&lan, 2, Impl::Rs, "vca-n3", &with(200, "wrong"));
    let ds = [&n1, &n2, &n3];
    let t = wait_until("the rogue MASTER", Duration::from_secs(10), &ds, || {
        lan.has_addr(2, VIP_ADDR)
    });
    eprintln!(
        "auth mismatch: the rogue (priority 200) made itself MASTER after {:.0} ms",
        ms(t)
    );
    // Node 1 keeps the VIP and MASTER, node 2 stays BACKUP, for several
    // of the rogue's adverts.
    steady(&lan, &[0, 2], Duration::from_secs(5), &ds);
    assert_eq!(state(&n1).as_deref(), Some("MASTER"));
    assert_eq!(state(&n2).as_deref(), Some("BACKUP"));
    assert_eq!(state(&n3).as_deref(), Some("MASTER"));
    // Counters reach the parent every 2 s.
    n1.wait_for("node 1's auth failures", Duration::from_secs(5), |_| {
        auth_drops(&n1) >= 4
    });
    n2.wait_for("node 2's auth failures", Duration::from_secs(5), |_| {
        auth_drops(&n2) >= 4
    });
    let c1 = instance(&n1)["counters"].clone();
    let c2 = instance(&n2)["counters"].clone();
    let c3 = instance(&n3)["counters"].clone();
    eprintln!("auth mismatch: ctl status counters\n  node 1: {c1}\n  node 2: {c2}\n  rogue:  {c3}");
    assert_eq!(c1["became_master"], 1, "{c1}");
    assert_eq!(c1["released_master"], 0, "{c1}");
    assert_eq!(c2["became_master"], 0, "{c2}");
    // Node 2 accepts node 1's adverts and only drops the rogue's.
    assert!(counter(&n2, "adverts_received") >= 5, "{c2}");
    assert_eq!(
        c2["drops"].as_object().map(|o| o.len()),
        Some(1),
        "only auth failures: {c2}"
    );
    // The rogue drops node 1's.
    assert!(c3["drops"]["auth_failure"].as_u64() >= Some(3), "{c3}");
    assert_eq!(c3["adverts_received"], 0, "{c3}");
    assert!(n2.log().contains("(VI_1) received an invalid passwd!"));

    // The SIGUSR2 stats dump says the same (keepalived's file and layout).
    let before = auth_drops(&n2);
    let stats = Path::new("/tmp/keepalived.stats");
    let worker = tests::daemon::worker(&n2.status().expect("status"), "vrrp")
        .expect("vrrp worker")
        .0;
    let mark = format!("VRRP worker (pid {worker})");
    n2.signal("USR2");
    let text = {
        let t0 = Instant::now();
        loop {
            let text = std::fs::read_to_string(stats).unwrap_or_default();
            if text.contains(&mark) {
                break text;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "no stats dump from node 2:\n{}",
                n2.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let in_dump = auth_failures_in_dump(&text).unwrap_or_else(|| panic!("{text}"));
    eprintln!("auth mismatch: node 2's stats dump counts {in_dump} authentication failures");
    assert!(in_dump >= before, "{in_dump} < {before}:\n{text}");
    assert!(
        text.contains("VRRP Instance: VI_1\n  Advertisements:\n"),
        "{text}"
    );
    assert!(text.contains("  Became master: 0\n"), "{text}");
    healthy(&ds);
}

// ---------------------------------------------------------------- 3. preemption

#[derive(Debug, Clone, Copy, PartialEq)]
enum Preempt {
    /// `nopreempt` on both nodes.
    No,
    /// `preempt_delay N` on both nodes.
    Delay(u32),
}

/// What a pair did: the VIP holders after the election, after the
/// failover, and some time after the higher priority node returned (and
/// when it took the VIP back, from its restart).
#[derive(Debug, Clone, PartialEq)]
struct Recovery {
    elected: Vec<usize>,
    after_failover: Vec<usize>,
    after_return: Vec<usize>,
    took_back: Option<f64>,
}

/// Node 1 (priority 150, `a`) and node 2 (priority 100, `b`): election,
/// SIGTERM on node 1, node 1 restarted.
fn recovery(
    tag: &str,
    a: Impl,
    b: Impl,
    mode: Preempt,
    version: u8,
    advert: &'static str,
) -> Recovery {
    let lan = Lan::new(tag, 2);
    let conf = |prio: u8| Conf {
        nopreempt: mode == Preempt::No,
        preempt_delay: match mode {
            Preempt::Delay(n) => Some(n),
            Preempt::No => None,
        },
        auth: (version == 2).then_some("secret"),
        ..Conf::new(prio, version, advert)
    };
    let (ca, cb) = (conf(150), conf(100));
    let adv = ca.advert_secs();
    // Node 2 starts once node 1 runs, so that node 1's master down timer
    // (the shorter one) runs out first however long each daemon takes to
    // start (at advert_int 0.1 they are only 20 ms apart).
    let mut na = start(&lan, 0, a, &format!("{tag}-a"), &ca);
    wait_until("node 1 BACKUP", Duration::from_secs(10), &[&na], || {
        in_backup(&na, a)
    });
    let nb = start(&lan, 1, b, &format!("{tag}-b"), &cb);
    wait_until("an election", Duration::from_secs(15), &[&na, &nb], || {
        !lan.holders(VIP_ADDR).is_empty()
    });
    std::thread::sleep(Duration::from_secs_f64((3.0 * adv).max(1.0)));
    let elected = lan.holders(VIP_ADDR);
    stop(&mut na);
    wait_until("the failover", Duration::from_secs(6), &[&na, &nb], || {
        lan.holders(VIP_ADDR) == [1]
    });
    let after_failover = lan.holders(VIP_ADDR);
    // Node 1 returns. Watch for long enough that a preempting node would
    // have taken over (its master down interval, the delay, a margin).
    let na2 = start(&lan, 0, a, &format!("{tag}-a2"), &ca);
    let t0 = Instant::now();
    let window = ca.master_down()
        + match mode {
            Preempt::Delay(n) => f64::from(n),
            Preempt::No => 0.0,
        }
        + 3.0;
    let mut took_back = None;
    while t0.elapsed().as_secs_f64() < window {
        if took_back.is_none() && lan.has_addr(0, VIP_ADDR) {
            took_back = Some(t0.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let after_return = lan.holders(VIP_ADDR);
    let _ = (na2, nb);
    Recovery {
        elected,
        after_failover,
        after_return,
        took_back,
    }
}

/// The same scenario with every pairing of the implementations.
fn pairings(
    tag: &str,
    mode: Preempt,
    version: u8,
    advert: &'static str,
) -> Vec<(Impl, Impl, Recovery)> {
    let mut out = Vec::new();
    for (i, (a, b)) in [
        (Impl::Ka, Impl::Ka),
        (Impl::Rs, Impl::Rs),
        (Impl::Rs, Impl::Ka),
        (Impl::Ka, Impl::Rs),
    ]
    .into_iter()
    .enumerate()
    {
        let r = recovery(&format!("{tag}{i}"), a, b, mode, version, advert);
        eprintln!(
            "{mode:?}, VRRPv{version} advert_int {advert}: node 1 {} (150), node 2 {} (100): \
             elected {:?}, after failover {:?}, after node 1 returned {:?} (took the VIP back \
             after {})",
            a.name(),
            b.name(),
            r.elected,
            r.after_failover,
            r.after_return,
            r.took_back
                .map_or("-".into(), |t| format!("{:.0} ms", t * 1000.0))
        );
        out.push((a, b, r));
    }
    out
}

fn preempt_requirements(what: &str) -> bool {
    require(
        what,
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    )
}

#[test]
fn nopreempt_as_keepalived() {
    if !preempt_requirements("the nopreempt test") {
        return;
    }
    let runs = pairings("vcn", Preempt::No, 2, "1");
    let reference = runs[0].2.clone();
    // keepalived: the returning higher priority node stays BACKUP.
    assert_eq!(reference.elected, [0]);
    assert_eq!(reference.after_failover, [1]);
    assert_eq!(reference.after_return, [1]);
    assert_eq!(reference.took_back, None);
    for (a, b, r) in &runs {
        assert_eq!(r, &reference, "{a:?}/{b:?} differ from keepalived");
    }
}

#[test]
fn preempt_delay_as_keepalived() {
    if !preempt_requirements("the preempt_delay test") {
        return;
    }
    let delay = 2;
    let runs = pairings("vcd", Preempt::Delay(delay), 3, "0.1");
    let reference = runs[0].2.clone();
    // keepalived: the returning node takes over once the delay has run
    // (then its master down timer: 3 x 0.1 s + skew).
    assert_eq!(reference.elected, [0]);
    assert_eq!(reference.after_failover, [1]);
    assert_eq!(reference.after_return, [0]);
    let t_ref = reference.took_back.expect("keepalived took the VIP back");
    assert!(t_ref >= f64::from(delay), "{t_ref}");
    for (a, b, r) in &runs {
        assert_eq!(r.elected, reference.elected, "{a:?}/{b:?}");
        assert_eq!(r.after_failover, reference.after_failover, "{a:?}/{b:?}");
        assert_eq!(r.after_return, reference.after_return, "{a:?}/{b:?}");
        let t = r.took_back.expect("the VIP taken back");
        // About N s, as keepalived (generous: the machine may be loaded).
        assert!(
            t >= f64::from(delay) && (t - t_ref).abs() < 1.0,
            "{a:?}/{b:?}: took the VIP back after {t:.3} s, keepalived after {t_ref:.3} s"
        );
    }
}

// ---------------------------------------------------------------- 4. seed

/// A real haproxy in a node's namespace, listening on the node's address.
struct Haproxy {
    dir: PathBuf,
    pidfile: PathBuf,
}

impl Haproxy {
    fn start(lan: &Lan, node: usize, tag: &str) -> Haproxy {
        let dir = std::env::temp_dir().join(format!("krs-haproxy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n    maxconn 100\ndefaults\n    mode tcp\n    timeout connect 1s\n    \
                 timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind {}:8080\n    \
                 default_backend be\nbackend be\n    server s1 127.0.0.1:9\n",
                node_addr(node)
            ),
        )
        .expect("haproxy.cfg");
        let pidfile = dir.join("haproxy.pid");
        let out = lan.nodes[node]
            .command("haproxy")
            .arg("-D")
            .arg("-f")
            .arg(&cfg)
            .arg("-p")
            .arg(&pidfile)
            .output()
            .expect("run haproxy");
        assert!(
            out.status.success(),
            "haproxy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let h = Haproxy { dir, pidfile };
        assert!(h.running(), "haproxy is not running");
        h
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.pidfile)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn running(&self) -> bool {
        self.pid().is_some_and(alive)
    }

    /// The vrrp_script that checks this haproxy. (`killall -0 haproxy`
    /// would see every node's haproxy: the namespaces share one process
    /// table.)
    fn check(&self) -> String {
        format!("/usr/bin/pgrep -F {} haproxy", self.pidfile.display())
    }

    /// SIGTERM, and wait until it is gone: not only dead but reaped (by
    /// init, as `-D` detached it), since pgrep, like `killall -0`, still
    /// finds a zombie.
    fn stop(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let t0 = Instant::now();
            while Path::new(&format!("/proc/{pid}")).exists() {
                assert!(t0.elapsed() < Duration::from_secs(15), "haproxy survived");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Some(pid) = self.pid().filter(|p| alive(*p)) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The effective priority: `ctl status`, or keepalived's last "Changing
/// effective priority" line.
fn effective(d: &Daemon, imp: Impl, base: u8) -> u64 {
    match imp {
        Impl::Rs => instance(d)["effective_priority"].as_u64().unwrap_or(0),
        Impl::Ka => d
            .log()
            .lines()
            .rev()
            .filter_map(|l| l.split("Changing effective priority from ").nth(1))
            .filter_map(|r| r.split(" to ").nth(1))
            .find_map(|p| p.trim().parse().ok())
            .unwrap_or(u64::from(base)),
    }
}

/// What the seed setup did: VIP holders after the election, some time
/// after haproxy stopped on the master, and (nopreempt) after the
/// master's daemon stopped; the effective priorities along the way.
#[derive(Debug, Clone, PartialEq)]
struct Seed {
    elected: Vec<usize>,
    priorities: Vec<u64>,
    priority_after_stop: u64,
    after_haproxy_stop: Vec<usize>,
    after_master_stop: Vec<usize>,
}

fn seed(tag: &str, imp: Impl, nopreempt: bool) -> Seed {
    let lan = Lan::new(tag, 3);
    let haproxies: Vec<Haproxy> = (0..3)
        .map(|i| Haproxy::start(&lan, i, &format!("{tag}-{i}")))
        .collect();
    // 121/120/100 + 2 for a running haproxy: 123/122/102. Without its
    // haproxy the master (121) is below node 2 (122): it must move, but
    // for nopreempt.
    let prios = [121u8, 120, 100];
    let confs: Vec<Conf> = (0..3)
        .map(|i| Conf {
            auth: Some("h4pr0xy"),
            nopreempt,
            global: "    enable_script_security\n    script_user root\n".into(),
            before: format!(
                "vrrp_script chk_haproxy {{\n    script \"{}\"\n    interval 1\n    weight 2\n}}\n",
                haproxies[i].check()
            ),
            instance: "    track_script {\n        chk_haproxy\n    }\n".into(),
            ..Conf::new(prios[i], 2, "1")
        })
        .collect();
    // Node 1 first, then the others once it is MASTER: with a 1-point
    // priority gap a simultaneous start is a 4 ms race (and with
    // nopreempt the loser would stay MASTER).
    let mut n: Vec<Daemon> = vec![start(&lan, 0, imp, &format!("{tag}-n1"), &confs[0])];
    wait_until("node 1 MASTER", Duration::from_secs(15), &r(&n), || {
        lan.holders(VIP_ADDR) == [0]
    });
    for (i, c) in confs.iter().enumerate().skip(1) {
        n.push(start(&lan, i, imp, &format!("{tag}-n{}", i + 1), c));
    }
    wait_until(
        "all scripts passing",
        Duration::from_secs(10),
        &r(&n),
        || (0..3).all(|i| effective(&n[i], imp, prios[i]) == u64::from(prios[i]) + 2),
    );
    steady(&lan, &[0], Duration::from_secs(2), &r(&n));
    let elected = lan.holders(VIP_ADDR);
    let priorities = (0..3).map(|i| effective(&n[i], imp, prios[i])).collect();

    // haproxy stops on the master: its priority drops by the weight
    // (within the script's 1 s interval).
    haproxies[0].stop();
    let t = wait_until(
        "node 1's priority drops",
        Duration::from_secs(6),
        &r(&n),
        || effective(&n[0], imp, prios[0]) == u64::from(prios[0]),
    );
    eprintln!(
        "seed, {}{}: node 1's priority dropped {:.0} ms after haproxy was gone",
        imp.name(),
        if nopreempt { ", nopreempt" } else { "" },
        ms(t)
    );
    let priority_after_stop = effective(&n[0], imp, prios[0]);
    // Long enough for node 2 to preempt if it would (master down 3.5 s).
    let t0 = Instant::now();
    let mut moved = None;
    while t0.elapsed() < Duration::from_secs(7) {
        if moved.is_none() && lan.has_addr(1, VIP_ADDR) {
            moved = Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(t) = moved {
        eprintln!(
            "seed, {}{}: the VIP moved to node 2 {:.0} ms after the priority drop",
            imp.name(),
            if nopreempt { ", nopreempt" } else { "" },
            ms(t)
        );
    }
    let after_haproxy_stop = lan.holders(VIP_ADDR);

    // The master's daemon stops: the VIP goes to the highest remaining
    // effective priority (node 2, 122 against 102).
    let holder = after_haproxy_stop.first().copied().unwrap_or(0);
    stop(&mut n[holder]);
    std::thread::sleep(Duration::from_secs(4));
    let after_master_stop = lan.holders(VIP_ADDR);
    assert!(lan.holders(VIP_ADDR).len() <= 1, "{}", logs(&r(&n)));
    if imp == Impl::Rs {
        healthy(&r(&n));
    }
    drop(n);
    drop(haproxies);
    Seed {
        elected,
        priorities,
        priority_after_stop,
        after_haproxy_stop,
        after_master_stop,
    }
}

fn seed_requirements(what: &str) -> bool {
    require(
        what,
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    ) && tool_present("haproxy", what)
}

#[test]
fn seed_setup_haproxy_nopreempt_as_keepalived() {
    if !seed_requirements("the haproxy seed setup test") {
        return;
    }
    let ka = seed("vcs0", Impl::Ka, true);
    let rs = seed("vcs1", Impl::Rs, true);
    eprintln!("seed, nopreempt: keepalived {ka:?}\n                 keepalived-rs {rs:?}");
    // keepalived: the priority drops, but a nopreempt backup never takes
    // over from a live master, whatever its priority: the VIP stays on the
    // haproxy-less node until that node's daemon stops.
    assert_eq!(ka.elected, [0]);
    assert_eq!(ka.priorities, [123, 122, 102]);
    assert_eq!(ka.priority_after_stop, 121);
    assert_eq!(ka.after_haproxy_stop, [0]);
    assert_eq!(ka.after_master_stop, [1]);
    assert_eq!(rs, ka);
}

#[test]
fn seed_setup_haproxy_preempt_as_keepalived() {
    if !seed_requirements("the haproxy seed setup test (preempt)") {
        return;
    }
    let ka = seed("vcs2", Impl::Ka, false);
    let rs = seed("vcs3", Impl::Rs, false);
    eprintln!("seed, preempt: keepalived {ka:?}\n               keepalived-rs {rs:?}");
    // Without nopreempt the node with the higher priority (122) takes the
    // VIP from the master without haproxy (121).
    assert_eq!(ka.elected, [0]);
    assert_eq!(ka.after_haproxy_stop, [1]);
    assert_eq!(rs, ka);
}

// ---------------------------------------------------------------- IPv6 on the wire

#[test]
fn ipv6_vrrpv3_adverts_decode() {
    if !cluster_requirements("the IPv6 VRRPv3 decode test") {
        return;
    }
    let lan = Lan::new("vc6", 2);
    let mut cap = BridgeCapture::start(&lan, "vc6");
    let conf6 = |prio: u8| {
        format!(
            "vrrp_instance VI_6 {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id 52\n    priority {prio}\n    version 3\n    advert_int 0.1\n    \
             virtual_ipaddress {{\n        fd00:201::100/64\n        fd00:201::101/64\n    }}\n}}\n"
        )
    };
    let vip6 = "inet6 fd00:201::100/64";
    let prios = [150u8, 100];
    let mut n1 = Daemon::start(&lan.nodes[0], "vc6-n1", &conf6(prios[0]), &[]);
    wait_until("node 1 MASTER", Duration::from_secs(10), &[&n1], || {
        lan.has_addr(0, vip6)
    });
    let mut n2 = Daemon::start(&lan.nodes[1], "vc6-n2", &conf6(prios[1]), &[]);
    wait_until(
        "node 2 BACKUP",
        Duration::from_secs(10),
        &[&n1, &n2],
        || state(&n2).as_deref() == Some("BACKUP"),
    );
    std::thread::sleep(Duration::from_secs(1));
    stop(&mut n1);
    wait_until("node 2 MASTER", Duration::from_secs(5), &[&n1, &n2], || {
        lan.has_addr(1, vip6)
    });
    std::thread::sleep(Duration::from_millis(500));
    stop(&mut n2);
    let adverts = cap.adverts();
    let mut per_node = [(0usize, 0usize); 2];
    for a in &adverts {
        let i = (0..2)
            .find(|i| a.eth_src == node_mac(*i))
            .unwrap_or_else(|| panic!("advert from an unknown node: {a:?}"));
        let ctx = format!("advert from node {}: {a:?}", i + 1);
        assert_eq!(a.checksum_status, "1", "checksum not good: {ctx}");
        assert!(a.src.starts_with("fe80::"), "link-local source: {ctx}");
        assert_eq!(a.dst, "ff02::12", "{ctx}");
        assert_eq!(a.ttl, "255", "hop limit: {ctx}");
        assert_eq!(
            (a.version.as_str(), a.kind.as_str(), a.vrid.as_str()),
            ("3", "1", "52"),
            "{ctx}"
        );
        assert!(
            a.prio == prios[i].to_string() || a.prio == "0",
            "priority: {ctx}"
        );
        assert_eq!(a.addr_count, "2", "{ctx}");
        assert_eq!(a.addrs, "fd00:201::100,fd00:201::101", "{ctx}");
        assert_eq!(a.adver_int, "10", "centiseconds: {ctx}");
        assert!(a.auth_type.is_empty(), "{ctx}");
        per_node[i].0 += 1;
        if a.prio == "0" {
            per_node[i].1 += 1;
        }
    }
    eprintln!(
        "IPv6 VRRPv3: tshark decoded {} adverts, all good (per node: adverts, of which \
         priority 0): {per_node:?}",
        adverts.len()
    );
    assert!(per_node[0].0 >= 8 && per_node[0].1 >= 1, "{per_node:?}");
    assert!(
        per_node[1].0 >= 3 && per_node[1].1 >= 1,
        "{per_node:?}: {:#?}\n{}",
        &adverts[adverts.len().saturating_sub(4)..],
        logs(&[&n1, &n2])
    );
    healthy(&[&n1, &n2]);
}
