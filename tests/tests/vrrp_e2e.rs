//! VRRP end to end: two keepalived-rs nodes on a bridge, each in its own
//! network namespace (the test creates them and deletes them after).
//!
//! 1. Election: the node with the higher priority becomes MASTER and is
//!    the only one holding the VIP.
//! 2. SIGKILL of the MASTER's VRRP worker: the parent restarts it, it
//!    resumes as MASTER, and the VIP does not move (the backup never sees
//!    a gap long enough to take over).
//! 3. SIGTERM on the MASTER: it sends a priority-0 advert and removes the
//!    VIP; the backup takes over.
//!
//! Timings are printed (run with `--nocapture` to see them). Root and
//! tshark are required; under CI (CI=true) a missing one fails the test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tests::binaries::keepalived_rs_binary;
use tests::daemon::{Daemon, logs, signal_pid, wait_until};
use tests::lan::{Lan, ip};
use tests::netns::NetNs;
use tests::side::stop;
use tests::{Requirement, require};

const VIP: &str = "10.201.0.100";

fn conf(priority: u8) -> String {
    format!(
        r#"
global_defs {{
    router_id e2e_{priority}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"#
    )
}

/// The VIP of these tests on a node.
trait HasVip {
    fn has_vip(&self, node: usize) -> bool;
}

impl HasVip for Lan {
    fn has_vip(&self, node: usize) -> bool {
        self.has_addr(node, &format!("inet {VIP}/24"))
    }
}

/// The VRRP side of a daemon's status.
trait VrrpStatus {
    fn instance_state(&self) -> Option<String>;
    fn vrrp_worker(&self) -> Option<(u32, u64, bool)>;
}

impl VrrpStatus for Daemon {
    fn instance_state(&self) -> Option<String> {
        self.status()?["vrrp_instances"][0]["state"]
            .as_str()
            .map(str::to_string)
    }

    fn vrrp_worker(&self) -> Option<(u32, u64, bool)> {
        tests::daemon::worker(&self.status()?, "vrrp")
    }
}

/// No worker died of its sandbox (SIGSYS) and, unless allowed, none was
/// restarted at all.
fn healthy(ds: &[&Daemon], restarts_allowed: bool) {
    for d in ds {
        let log = d.log();
        assert!(
            !log.contains("SIGSYS"),
            "a worker broke its sandbox:\n{log}"
        );
        if !restarts_allowed {
            assert!(
                !log.contains("restarting it"),
                "a worker was restarted:\n{log}"
            );
        }
    }
}

fn tshark_present() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if tests::privilege::in_ci() {
            panic!("tshark is missing (apt-get install -y tshark); CI=true: failing");
        }
        eprintln!("!!! SKIPPED: the VRRP end-to-end test needs tshark");
    }
    ok
}

/// A tshark capture of VRRP adverts on `eth0` of a namespace.
struct Capture {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Capture {
    fn start(ns: &NetNs, tag: &str) -> Capture {
        let base = std::env::temp_dir().join(format!("krs-vrrp-cap-{tag}-{}", std::process::id()));
        let out = base.with_extension("txt");
        let err = base.with_extension("err");
        let child = ns
            .command("tshark")
            .args(["-l", "-n", "-i", "eth0", "-f", "ip proto 112 or arp"])
            .args(["-T", "fields", "-E", "separator=|"])
            .args(["-e", "frame.time_epoch", "-e", "ip.src", "-e", "vrrp.prio"])
            .args([
                "-e",
                "eth.src",
                "-e",
                "arp.opcode",
                "-e",
                "arp.src.proto_ipv4",
            ])
            .args(["-e", "arp.dst.hw_mac", "-e", "arp.dst.proto_ipv4"])
            .args(["-e", "vrrp.virt_rtr_id"])
            .stdout(std::fs::File::create(&out).expect("capture file"))
            .stderr(std::fs::File::create(&err).expect("capture errors"))
            .spawn()
            .expect("start tshark");
        tests::lan::wait_capturing(&err, Duration::from_secs(15));
        Capture { child, out, err }
    }

    /// Wait until an advert has been captured (dumpcap says it is
    /// capturing a little before it is).
    fn wait_live(&self) {
        let t0 = Instant::now();
        while std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .next()
            .is_none()
        {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "tshark captured nothing"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stop and return what was captured.
    fn finish(mut self) -> Captured {
        signal_pid(self.child.id(), "INT");
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let mut c = Captured::default();
        for l in text.lines() {
            let f: Vec<&str> = l.split('|').collect();
            let Some(t) = f.first().and_then(|t| t.parse::<f64>().ok()) else {
                continue;
            };
            let field = |i: usize| f.get(i).copied().unwrap_or("").to_string();
            if let Ok(prio) = field(2).parse::<u8>() {
                c.adverts.push((t, field(1), prio));
                if let Ok(vrid) = field(8).parse::<u8>() {
                    c.with_vrid.push((t, field(1), prio, vrid));
                }
            } else if !field(4).is_empty() {
                c.arps.push(Arp {
                    t,
                    eth_src: field(3),
                    opcode: field(4),
                    sender_ip: field(5),
                    target_mac: field(6),
                    target_ip: field(7),
                });
            }
        }
        c
    }
}

#[derive(Debug)]
#[allow(dead_code)] // fields are printed in assertion messages
struct Arp {
    t: f64,
    eth_src: String,
    opcode: String,
    sender_ip: String,
    target_mac: String,
    target_ip: String,
}

#[derive(Debug, Default)]
struct Captured {
    /// (epoch seconds, source, priority)
    adverts: Vec<(f64, String, u8)>,
    /// (epoch seconds, source, priority, VRID)
    with_vrid: Vec<(f64, String, u8, u8)>,
    arps: Vec<Arp>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.out);
        let _ = std::fs::remove_file(&self.err);
    }
}

fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[test]
fn election_worker_restart_without_loss_and_failover() {
    if !require(
        "the VRRP end-to-end test",
        &[Requirement::Root, Requirement::NetTools],
    ) || !tshark_present()
    {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    // Node 1 (index 0) has the higher priority. (The binary is found, and
    // built if needed, before the clock starts.)
    let _ = keepalived_rs_binary();
    let t_start = Instant::now();
    let mut n1 = Daemon::start(&lan.nodes[0], "n1", &conf(150), &[]);
    let n2 = Daemon::start(&lan.nodes[1], "n2", &conf(100), &[]);

    // ---- 1. election
    wait_until(
        "node 1 to hold the VIP",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(0),
    );
    let from_start = t_start.elapsed();
    assert!(!lan.has_vip(1), "both nodes hold the VIP");
    wait_until(
        "node 1 MASTER, node 2 BACKUP in ctl status",
        Duration::from_secs(3),
        &[&n1, &n2],
        || {
            n1.instance_state().as_deref() == Some("MASTER")
                && n2.instance_state().as_deref() == Some("BACKUP")
        },
    );
    // It stays that way: no flapping, the VIP on node 1 only.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(1500) {
        assert!(
            lan.has_vip(0) && !lan.has_vip(1),
            "VIP moved\n{}",
            logs(&[&n1, &n2])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log1 = n1.log();
    assert!(
        log1.contains("(VI_1) Entering BACKUP STATE")
            && log1.contains("(VI_1) Entering MASTER STATE"),
        "{log1}"
    );
    assert!(!n2.log().contains("Entering MASTER STATE"), "{}", n2.log());
    eprintln!(
        "election: VIP on the priority-150 node {:.0} ms after the daemons started",
        from_start.as_secs_f64() * 1000.0
    );

    // ---- 2. SIGKILL of the master's VRRP worker: the VIP must not move.
    let cap = Capture::start(&lan.nodes[1], "kill");
    cap.wait_live();
    let (old_pid, restarts, _) = n1.vrrp_worker().expect("vrrp worker");
    assert_eq!(restarts, 0);
    let kill_epoch = epoch_now();
    let t_kill = Instant::now();
    signal_pid(old_pid, "KILL");
    let mut replaced = None;
    // Watch for longer than the backup's master down interval (3 x 1 s +
    // skew 0.61 s): the VIP stays on node 1, node 2 stays BACKUP.
    while t_kill.elapsed() < Duration::from_secs(5) {
        assert!(
            lan.has_vip(0),
            "VIP gone from node 1 after killing its VRRP worker\n{}",
            logs(&[&n1, &n2])
        );
        assert!(
            !lan.has_vip(1),
            "VIP moved to node 2 after killing node 1's VRRP worker\n{}",
            logs(&[&n1, &n2])
        );
        if replaced.is_none() {
            if let Some((pid, r, true)) = n1.vrrp_worker() {
                if pid != old_pid && r == 1 {
                    replaced = Some(t_kill.elapsed());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let adverts = cap.finish().adverts;
    let replaced = replaced
        .unwrap_or_else(|| panic!("the VRRP worker was not replaced\n{}", logs(&[&n1, &n2])));
    assert_eq!(n1.instance_state().as_deref(), Some("MASTER"));
    assert_eq!(n2.instance_state().as_deref(), Some("BACKUP"));
    // The new worker resumed as MASTER: it never went through BACKUP.
    let log1 = n1.log();
    let after = &log1[log1.rfind("killed by signal 9").expect("kill logged")..];
    assert!(after.contains("(VI_1) resuming MASTER STATE"), "{log1}");
    assert!(!after.contains("Entering BACKUP STATE"), "{log1}");
    // The adverts node 2 saw: all from node 1 at priority 150, and the
    // largest gap around the kill well below the master down interval.
    let from_n1: Vec<f64> = adverts
        .iter()
        .filter(|(_, src, prio)| src == "10.201.0.1" && *prio == 150)
        .map(|(t, _, _)| *t)
        .collect();
    assert!(
        adverts.iter().all(|(_, src, _)| src == "10.201.0.1"),
        "node 2 sent adverts (it became master): {adverts:?}"
    );
    assert!(
        !adverts.iter().any(|(_, _, p)| *p == 0),
        "a priority-0 advert was sent: {adverts:?}"
    );
    assert!(from_n1.len() >= 4, "too few adverts seen: {adverts:?}");
    let max_gap = from_n1
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(0.0_f64, f64::max);
    let first_after_kill = from_n1
        .iter()
        .find(|t| **t > kill_epoch)
        .map(|t| t - kill_epoch)
        .expect("an advert after the kill");
    eprintln!(
        "SIGKILL of the master's VRRP worker: replaced and ready after {:.0} ms; first advert \
         after the kill at +{:.0} ms; largest advert gap {:.0} ms (backup takes over after \
         3610 ms); VIP never left node 1 in 5 s",
        replaced.as_secs_f64() * 1000.0,
        first_after_kill * 1000.0,
        max_gap * 1000.0
    );
    // Below node 2's master down interval (3.61 s), or it would have
    // taken over (which the VIP check above already rules out).
    assert!(max_gap < 3.0, "advert gap {max_gap} s");

    // ---- 3. SIGTERM on the master: the VIP moves to node 2.
    let cap = Capture::start(&lan.nodes[1], "term");
    cap.wait_live();
    let term_epoch = epoch_now();
    let t_term = Instant::now();
    n1.signal("TERM");
    let to_backup = wait_until(
        "node 2 to hold the VIP after SIGTERM on node 1",
        Duration::from_secs(6),
        &[&n1, &n2],
        || lan.has_vip(1),
    );
    let status = loop {
        if let Some(st) = n1.child.try_wait().expect("wait") {
            break st;
        }
        assert!(
            t_term.elapsed() < Duration::from_secs(6),
            "node 1 did not stop\n{}",
            n1.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "node 1 exit: {status:?}\n{}", n1.log());
    assert!(!lan.has_vip(0), "node 1 kept the VIP after stopping");
    wait_until("node 2 MASTER", Duration::from_secs(2), &[&n1, &n2], || {
        n2.instance_state().as_deref() == Some("MASTER")
    });
    std::thread::sleep(Duration::from_millis(300));
    let captured = cap.finish();
    let adverts = &captured.adverts;
    // Node 2 announced the VIP on becoming MASTER: garp_master_repeat (5)
    // gratuitous ARPs in keepalived's format, right after its first advert.
    let garps: Vec<&Arp> = captured
        .arps
        .iter()
        .filter(|a| a.eth_src == "02:00:0a:c9:00:02" && a.sender_ip == VIP)
        .collect();
    assert_eq!(garps.len(), 5, "{captured:?}");
    for g in &garps {
        assert_eq!(g.opcode, "1", "request: {g:?}");
        assert_eq!(g.target_ip, VIP, "{g:?}");
        assert_eq!(g.target_mac, "ff:ff:ff:ff:ff:ff", "{g:?}");
    }
    let prio0 = adverts
        .iter()
        .find(|(t, src, p)| *t >= term_epoch && src == "10.201.0.1" && *p == 0)
        .map(|(t, _, _)| t - term_epoch);
    let n2_first = adverts
        .iter()
        .find(|(_, src, p)| src == "10.201.0.2" && *p == 100)
        .map(|(t, _, _)| t - term_epoch);
    eprintln!(
        "SIGTERM on the master: priority-0 advert at +{} ms, node 2's first advert at +{} ms, \
         VIP on node 2 after {:.0} ms",
        prio0.map_or("?".into(), |t| format!("{:.0}", t * 1000.0)),
        n2_first.map_or("?".into(), |t| format!("{:.0}", t * 1000.0)),
        to_backup.as_secs_f64() * 1000.0
    );
    assert!(prio0.is_some(), "no priority-0 advert on stop: {adverts:?}");
    assert!(n2_first.is_some(), "node 2 never advertised: {adverts:?}");
    // keepalived: the backup takes over after its skew, (256-100)/256 s.
    assert!(
        to_backup < Duration::from_millis(2000),
        "failover took {to_backup:?}"
    );
    healthy(&[&n1, &n2], true);
}

/// The VIP stays on `node` only for `d`.
fn holds_steady(lan: &Lan, node: usize, d: Duration, ds: &[&Daemon]) {
    let t0 = Instant::now();
    while t0.elapsed() < d {
        let want: Vec<bool> = (0..lan.nodes.len()).map(|i| i == node).collect();
        let have: Vec<bool> = (0..lan.nodes.len()).map(|i| lan.has_vip(i)).collect();
        assert_eq!(
            have,
            want,
            "VIP not steady on node {}\n{}",
            node + 1,
            logs(ds)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn interoperates_with_keepalived() {
    if !require(
        "the VRRP interoperability test",
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    ) {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    // keepalived-rs (node 1) at 150, keepalived 2.2.7 (node 2) at 100.
    let mut rs = Daemon::start(&lan.nodes[0], "interop-rs", &conf(150), &[]);
    let mut ka = Daemon::start_keepalived(&lan.nodes[1], "interop-ka", &conf(100), &["-P"]);
    let t = wait_until(
        "keepalived-rs MASTER",
        Duration::from_secs(10),
        &[&rs, &ka],
        || lan.has_vip(0),
    );
    eprintln!(
        "interop: keepalived-rs elected over keepalived in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    // keepalived accepts our adverts: it stays BACKUP without the VIP.
    holds_steady(&lan, 0, Duration::from_secs(5), &[&rs, &ka]);
    assert!(!ka.log().contains("Entering MASTER STATE"), "{}", ka.log());
    // Our priority-0 advert makes keepalived take over after its skew.
    let t0 = Instant::now();
    stop(&mut rs);
    let t = wait_until(
        "keepalived MASTER",
        Duration::from_secs(6),
        &[&rs, &ka],
        || lan.has_vip(1),
    );
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "no fast takeover: {:?}",
        t0.elapsed()
    );
    eprintln!(
        "interop: keepalived took over {:.0} ms after SIGTERM on keepalived-rs",
        t.as_secs_f64() * 1000.0
    );
    assert!(!lan.has_vip(0));
    // keepalived-rs back at 150 preempts keepalived: keepalived accepts
    // our higher priority and releases the VIP; we accept its adverts
    // meanwhile (no early takeover).
    let rs = Daemon::start(&lan.nodes[0], "interop-rs2", &conf(150), &[]);
    let t = wait_until(
        "keepalived-rs preempts",
        Duration::from_secs(10),
        &[&rs, &ka],
        || lan.has_vip(0) && !lan.has_vip(1),
    );
    eprintln!(
        "interop: keepalived-rs preempted keepalived in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    assert!(
        rs.log().contains("(VI_1) Entering BACKUP STATE"),
        "{}",
        rs.log()
    );
    holds_steady(&lan, 0, Duration::from_secs(2), &[&rs, &ka]);
    assert!(ka.log().contains("Entering BACKUP STATE"), "{}", ka.log());
    // And keepalived as the higher priority wins over keepalived-rs.
    stop(&mut ka);
    let ka = Daemon::start_keepalived(
        &lan.nodes[1],
        "interop-ka2",
        &conf(100).replace("priority 100", "priority 200"),
        &["-P"],
    );
    let t = wait_until(
        "keepalived preempts",
        Duration::from_secs(10),
        &[&rs, &ka],
        || lan.has_vip(1) && !lan.has_vip(0),
    );
    eprintln!(
        "interop: keepalived (200) preempted keepalived-rs (150) in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    holds_steady(&lan, 1, Duration::from_secs(2), &[&rs, &ka]);
    assert_eq!(rs.instance_state().as_deref(), Some("BACKUP"));
    healthy(&[&rs, &ka], false);
}

#[test]
fn ipv6_vrrpv3_election_and_failover() {
    if !require(
        "the VRRPv3 IPv6 test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    let conf6 = |prio: u8| {
        format!(
            r#"
vrrp_instance VI_6 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority {prio}
    version 3
    advert_int 0.5
    virtual_ipaddress {{
        fd00:201::100/64
    }}
}}
"#
        )
    };
    let vip = "inet6 fd00:201::100/64";
    let _ = keepalived_rs_binary();
    let t_start = Instant::now();
    let mut n1 = Daemon::start(&lan.nodes[0], "v6-n1", &conf6(150), &[]);
    let n2 = Daemon::start(&lan.nodes[1], "v6-n2", &conf6(100), &[]);
    wait_until(
        "node 1 holds the IPv6 VIP",
        Duration::from_secs(8),
        &[&n1, &n2],
        || lan.has_addr(0, vip),
    );
    eprintln!(
        "IPv6 VRRPv3 (advert 0.5 s): VIP on node 1 {:.0} ms after start",
        t_start.elapsed().as_secs_f64() * 1000.0
    );
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2) {
        assert!(
            lan.has_addr(0, vip) && !lan.has_addr(1, vip),
            "{}",
            logs(&[&n1, &n2])
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(n2.instance_state().as_deref(), Some("BACKUP"));
    let t0 = Instant::now();
    n1.signal("TERM");
    let t = wait_until(
        "node 2 holds the IPv6 VIP",
        Duration::from_secs(3),
        &[&n1, &n2],
        || lan.has_addr(1, vip),
    );
    eprintln!(
        "IPv6 VRRPv3: failover on SIGTERM in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    // The backup's skew: (256 - 100) * 0.5 s / 256 = 0.30 s.
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t0.elapsed()
    );
    stop(&mut n1);
    assert!(!lan.has_addr(0, vip));
    healthy(&[&n1, &n2], false);
}

#[test]
fn unicast_peers() {
    if !require(
        "the VRRP unicast test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    let confu = |prio: u8, me: u8, peer: u8| {
        format!(
            r#"
vrrp_instance VI_U {{
    state BACKUP
    interface eth0
    virtual_router_id 53
    priority {prio}
    advert_int 1
    unicast_src_ip 10.201.0.{me}
    unicast_peer {{
        10.201.0.{peer}
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"#
        )
    };
    let mut n1 = Daemon::start(&lan.nodes[0], "uc-n1", &confu(150, 1, 2), &[]);
    let n2 = Daemon::start(&lan.nodes[1], "uc-n2", &confu(100, 2, 1), &[]);
    wait_until(
        "node 1 MASTER (unicast)",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(0),
    );
    holds_steady(&lan, 0, Duration::from_secs(2), &[&n1, &n2]);
    let t0 = Instant::now();
    stop(&mut n1);
    let t = wait_until(
        "node 2 MASTER (unicast)",
        Duration::from_secs(6),
        &[&n1, &n2],
        || lan.has_vip(1),
    );
    assert!(t0.elapsed() < Duration::from_secs(2));
    eprintln!(
        "unicast: failover on SIGTERM in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    healthy(&[&n1, &n2], false);
}

#[test]
fn a_failing_vrrp_script_moves_the_vip() {
    if !require(
        "the vrrp_script test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    // World-readable flag file: scripts run as keepalived_script/nobody.
    let flag = std::env::temp_dir().join(format!("krs-vrrp-flag-{}", std::process::id()));
    std::fs::write(&flag, "up").expect("flag");
    struct Rm(PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _rm = Rm(flag.clone());
    let with_script = |prio: u8| {
        conf(prio)
            .replace("    router_id", "    enable_script_security\n    router_id")
            .replace(
                "vrrp_instance VI_1 {",
                &format!(
                    "vrrp_script chk {{\n    script \"/usr/bin/test -e {}\"\n    interval 1\n    \
                 weight -60\n    fall 1\n    rise 1\n}}\nvrrp_instance VI_1 {{\n    \
                 track_script {{\n        chk\n    }}",
                    flag.display()
                ),
            )
    };
    let n1 = Daemon::start(&lan.nodes[0], "scr-n1", &with_script(150), &[]);
    let n2 = Daemon::start(&lan.nodes[1], "scr-n2", &conf(100), &[]);
    wait_until(
        "node 1 MASTER",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(0),
    );
    assert_eq!(
        n1.status().expect("status")["vrrp_instances"][0]["effective_priority"],
        150
    );
    // The script starts failing: 150 - 60 = 90 < 100, node 2 preempts.
    std::fs::remove_file(&flag).expect("rm flag");
    let t = wait_until(
        "node 2 takes over",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(1) && !lan.has_vip(0),
    );
    eprintln!(
        "vrrp_script failure: VIP moved in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    wait_until(
        "node 1 effective priority 90",
        Duration::from_secs(3),
        &[&n1, &n2],
        || {
            n1.status()
                .is_some_and(|s| s["vrrp_instances"][0]["effective_priority"] == 90)
        },
    );
    assert_eq!(n1.instance_state().as_deref(), Some("BACKUP"));
    // It recovers: 150 again, node 1 preempts back.
    std::fs::write(&flag, "up").expect("flag");
    let t = wait_until("node 1 back", Duration::from_secs(10), &[&n1, &n2], || {
        lan.has_vip(0) && !lan.has_vip(1)
    });
    eprintln!(
        "vrrp_script recovery: VIP back in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    healthy(&[&n1, &n2], false);
}

#[test]
fn a_tracked_interface_going_down_means_fault() {
    if !require(
        "the track_interface test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    let n1 = Daemon::start(&lan.nodes[0], "trk-n1", &conf(150), &[]);
    let n2 = Daemon::start(&lan.nodes[1], "trk-n2", &conf(100), &[]);
    wait_until(
        "node 1 MASTER",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(0),
    );
    let ns1 = lan.nodes[0].name().to_string();
    ip(&["-n", &ns1, "link", "set", "eth0", "down"]);
    let t = wait_until(
        "node 1 FAULT without the VIP",
        Duration::from_secs(3),
        &[&n1, &n2],
        || n1.instance_state().as_deref() == Some("FAULT") && !lan.has_vip(0),
    );
    eprintln!(
        "track_interface: FAULT and VIP removed {:.0} ms after link down",
        t.as_secs_f64() * 1000.0
    );
    assert!(
        n1.log().contains("(VI_1) Entering FAULT STATE"),
        "{}",
        n1.log()
    );
    wait_until("node 2 MASTER", Duration::from_secs(6), &[&n1, &n2], || {
        lan.has_vip(1)
    });
    ip(&["-n", &ns1, "link", "set", "eth0", "up"]);
    let t = wait_until(
        "node 1 MASTER again",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(0) && !lan.has_vip(1),
    );
    eprintln!(
        "track_interface: VIP back on node 1 {:.0} ms after link up",
        t.as_secs_f64() * 1000.0
    );
    assert_eq!(n1.instance_state().as_deref(), Some("MASTER"));
    healthy(&[&n1, &n2], false);
}

#[test]
fn reload_keeps_the_master_and_applies_vip_changes() {
    if !require(
        "the VRRP reload test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vrrpe2e", 1);
    // notify_master runs through the parent (as nobody/keepalived_script):
    // it creates a file in /tmp.
    let marker = std::env::temp_dir().join(format!("krs-vrrp-notify-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let base = conf(150)
        .replace("    router_id", "    enable_script_security\n    router_id")
        .replace(
            "    advert_int 1\n",
            &format!(
                "    advert_int 1\n    notify_master \"/usr/bin/touch {}\"\n",
                marker.display()
            ),
        );
    let d = Daemon::start(&lan.nodes[0], "reload", &base, &[]);
    wait_until("MASTER", Duration::from_secs(10), &[&d], || lan.has_vip(0));
    wait_until("notify_master ran", Duration::from_secs(3), &[&d], || {
        marker.exists()
    });
    let _ = std::fs::remove_file(&marker);
    let entered = |d: &Daemon| d.log().matches("Entering MASTER STATE").count();
    assert_eq!(entered(&d), 1);
    let ctl = |d: &Daemon| d.status().and_then(|s| s["generation"].as_u64());
    // Add a VIP and an excluded VIP.
    d.rewrite(&base.replace(
        &format!("        {VIP}/24\n    }}\n"),
        &format!(
            "        {VIP}/24\n        10.201.0.101/24\n    }}\n    virtual_ipaddress_excluded {{\n        \
             10.201.0.150/24\n    }}\n"
        ),
    ));
    d.signal("HUP");
    wait_until(
        "generation 2 with the new VIPs",
        Duration::from_secs(5),
        &[&d],
        || {
            ctl(&d) == Some(2)
                && lan.has_vip(0)
                && lan.has_addr(0, "inet 10.201.0.101/24")
                && lan.has_addr(0, "inet 10.201.0.150/24")
        },
    );
    assert_eq!(d.instance_state().as_deref(), Some("MASTER"));
    // Remove the first VIP: it goes, the others stay.
    d.rewrite(&base.replace(&format!("{VIP}/24"), "10.201.0.101/24"));
    d.signal("HUP");
    wait_until(
        "generation 3 without the old VIP",
        Duration::from_secs(5),
        &[&d],
        || ctl(&d) == Some(3) && !lan.has_vip(0) && lan.has_addr(0, "inet 10.201.0.101/24"),
    );
    assert!(!lan.has_addr(0, "10.201.0.150"), "excluded VIP left behind");
    // Never left MASTER, never re-entered it.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(d.instance_state().as_deref(), Some("MASTER"));
    assert_eq!(entered(&d), 1, "{}", d.log());
    assert!(!marker.exists(), "notify_master ran again on reload");
    assert_eq!(
        d.log().matches("Entering BACKUP STATE").count(),
        1,
        "only the initial BACKUP: {}",
        d.log()
    );
    healthy(&[&d], false);
}

#[test]
fn the_master_parent_killed_releases_the_vip() {
    if !require(
        "the parent-death test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    // With a virtual route and rule, installed with the VIP.
    let with_routes = |prio: u8| {
        conf(prio).replace(
            "    virtual_ipaddress {",
            &format!(
                "    virtual_routes {{\n        10.230.0.0/24 via 10.201.0.254 dev eth0 src {VIP}\n    }}\n    \
                 virtual_rules {{\n        from {VIP} table 100 priority 100\n    }}\n    virtual_ipaddress {{"
            ),
        )
    };
    let routes = |node: usize| ip(&["-n", lan.nodes[node].name(), "route", "show"]);
    let rules = |node: usize| ip(&["-n", lan.nodes[node].name(), "rule", "show"]);
    let n1 = Daemon::start(&lan.nodes[0], "pk-n1", &with_routes(150), &[]);
    let n2 = Daemon::start(&lan.nodes[1], "pk-n2", &with_routes(100), &[]);
    wait_until(
        "node 1 MASTER",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(0),
    );
    let want_route = format!("10.230.0.0/24 via 10.201.0.254 dev eth0 proto keepalived src {VIP}");
    let want_rule = format!("100:\tfrom {VIP} lookup 100 proto keepalived");
    assert!(routes(0).contains(&want_route), "{}", routes(0));
    assert!(rules(0).contains(&want_rule), "{}", rules(0));
    assert!(!routes(1).contains("10.230.0.0") && !rules(1).contains("proto keepalived"));
    let (worker, _, _) = n1.vrrp_worker().expect("vrrp worker");
    // The parent dies outright: its VRRP worker sees the link close and
    // stops as on SIGTERM (priority-0 advert, VIP removed), as keepalived's
    // VRRP child does when its parent is killed.
    n1.signal("KILL");
    let t = wait_until("node 2 MASTER", Duration::from_secs(6), &[&n1, &n2], || {
        lan.has_vip(1) && !lan.has_vip(0)
    });
    eprintln!(
        "parent SIGKILL on the master: VIP on node 2 after {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    assert!(t < Duration::from_secs(2), "no priority-0 handover: {t:?}");
    // The route and rule went with the VIP, and came up on node 2.
    assert!(!routes(0).contains("10.230.0.0"), "{}", routes(0));
    assert!(!rules(0).contains("proto keepalived"), "{}", rules(0));
    wait_until(
        "node 2's route and rule",
        Duration::from_secs(2),
        &[&n2],
        || routes(1).contains(&want_route) && rules(1).contains(&want_rule),
    );
    let t0 = Instant::now();
    while std::path::Path::new(&format!("/proc/{worker}")).exists()
        && !std::fs::read_to_string(format!("/proc/{worker}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "the worker outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    healthy(&[&n2], false);
}

fn two_instances(p1: u8, p2: u8, with_second: bool) -> String {
    let second = format!(
        r#"
vrrp_instance VI_2 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority {p2}
    advert_int 1
    virtual_ipaddress {{
        10.201.0.102/24
    }}
}}
"#
    );
    format!(
        "{}{}",
        conf(p1),
        if with_second { second.as_str() } else { "" }
    )
}

#[test]
fn two_instances_share_a_socket_and_a_removed_one_says_goodbye() {
    if !require(
        "the two-instance test",
        &[Requirement::Root, Requirement::NetTools],
    ) || !tshark_present()
    {
        return;
    }
    let lan = Lan::new("vrrpe2e", 2);
    let vip2 = "inet 10.201.0.102/24";
    let n1 = Daemon::start(&lan.nodes[0], "two-n1", &two_instances(150, 100, true), &[]);
    let n2 = Daemon::start(&lan.nodes[1], "two-n2", &two_instances(100, 150, true), &[]);
    // Each node is MASTER of one VRID: adverts are told apart by VRID on
    // the one socket per interface.
    wait_until(
        "VI_1 on node 1, VI_2 on node 2",
        Duration::from_secs(10),
        &[&n1, &n2],
        || lan.has_vip(0) && lan.has_addr(1, vip2),
    );
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2) {
        assert!(
            lan.has_vip(0) && !lan.has_vip(1) && lan.has_addr(1, vip2) && !lan.has_addr(0, vip2),
            "{}",
            logs(&[&n1, &n2])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Node 2 reloads without VI_2: it sends VI_2's priority-0 advert and
    // drops the VIP; node 1 takes VI_2 over after its skew.
    let cap = Capture::start(&lan.nodes[0], "two");
    cap.wait_live();
    n2.rewrite(&two_instances(100, 150, false));
    let epoch = epoch_now();
    n2.signal("HUP");
    let t = wait_until(
        "node 1 takes VI_2",
        Duration::from_secs(6),
        &[&n1, &n2],
        || lan.has_addr(0, vip2) && !lan.has_addr(1, vip2),
    );
    let c = cap.finish();
    let bye = c
        .with_vrid
        .iter()
        .find(|(t, src, p, v)| *t >= epoch && src == "10.201.0.2" && *p == 0 && *v == 52)
        .map(|(t, ..)| t - epoch);
    eprintln!(
        "reload removing a MASTER instance: priority-0 advert at +{} ms, VIP taken over after {:.0} ms",
        bye.map_or("?".into(), |t| format!("{:.0}", t * 1000.0)),
        t.as_secs_f64() * 1000.0
    );
    assert!(bye.is_some(), "no priority-0 advert for VRID 52: {c:?}");
    assert!(t < Duration::from_secs(2), "{t:?}");
    assert!(lan.has_vip(0) && !lan.has_vip(1), "VI_1 untouched");
    assert!(
        n2.log().contains("(VI_2) removed from the configuration"),
        "{}",
        n2.log()
    );
    healthy(&[&n1, &n2], false);
}
