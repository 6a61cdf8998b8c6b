//! End-to-end tests of the supervisor: the real binary, run as root in a
//! network namespace the test creates. They need root; in CI (CI=true) a
//! missing privilege is a failure, elsewhere the tests say so and stop.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};
use tests::Requirement;
use tests::daemon::{BASIC_CONF as CONF, Daemon, alive, signal_pid, worker};
use tests::netns::NetNs;

fn require_root() -> bool {
    tests::require(
        "the supervisor end-to-end test",
        &[Requirement::Root, Requirement::NetTools],
    )
}

/// A daemon in its own namespace (the daemon is stopped before the
/// namespace goes: fields drop in order).
struct Node {
    d: Daemon,
    _ns: NetNs,
}

impl std::ops::Deref for Node {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.d
    }
}

impl Node {
    fn start(name: &str, conf: &str) -> Node {
        Self::start_with(name, conf, &[], 3)
    }

    /// Start with extra options; wait until `workers` workers are ready.
    fn start_with(name: &str, conf: &str, extra: &[&str], workers: usize) -> Node {
        let ns = NetNs::new(name, &["eth0"]).expect("netns");
        let d = Daemon::start(&ns, name, conf, extra);
        d.wait_ready(workers);
        Node { d, _ns: ns }
    }

    fn worker(&self, status: &serde_json::Value, role: &str) -> (u32, u64) {
        let (pid, restarts, _) =
            worker(status, role).unwrap_or_else(|| panic!("no {role} worker in {status}"));
        (pid, restarts)
    }

    fn pids(&self, status: &serde_json::Value) -> Vec<(String, u32)> {
        ["vrrp", "check", "ipvs"]
            .iter()
            .map(|r| (r.to_string(), self.worker(status, r).0))
            .collect()
    }
}

fn proc_status(pid: u32) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn killed_workers_are_replaced_within_a_second() {
    if !require_root() {
        return;
    }
    let d = Node::start("sup-kill", CONF);
    let s0 = d.status().expect("status");
    for (i, role) in ["vrrp", "check", "ipvs"].iter().enumerate() {
        let (pid, restarts) = d.worker(&d.status().expect("status"), role);
        assert_eq!(restarts, 0);
        let t0 = Instant::now();
        signal_pid(pid, "KILL");
        let s = d.wait_for(
            &format!("{role} worker replaced"),
            Duration::from_secs(1),
            |s| {
                let w = s["workers"].as_array().cloned().unwrap_or_default();
                w.iter().any(|w| {
                    w["role"] == *role
                        && w["ready"] == true
                        && w["pid"].as_u64().is_some_and(|p| p as u32 != pid)
                })
            },
        );
        let took = t0.elapsed();
        eprintln!("{role} worker replaced in {took:?}");
        assert_eq!(d.worker(&s, role).1, 1, "restart counted");
        // The other workers were not touched.
        for other in ["vrrp", "check", "ipvs"].iter().skip(i + 1) {
            assert_eq!(d.worker(&s, other).0, d.worker(&s0, other).0);
        }
    }
    assert!(
        d.log()
            .contains("killed by signal 9 (SIGKILL); restarting it"),
        "{}",
        d.log()
    );
    // The pid files follow the restarted workers.
    let s = d.status().expect("status");
    let vpid: u32 = std::fs::read_to_string(d.dir.join("v.pid"))
        .expect("vrrp pid file")
        .trim()
        .parse()
        .expect("pid");
    assert_eq!(vpid, d.worker(&s, "vrrp").0);
}

#[test]
fn a_hung_worker_is_replaced_by_the_watchdog() {
    if !require_root() {
        return;
    }
    let d = Node::start("sup-stop", CONF);
    let s0 = d.status().expect("status");
    let (pid, _) = d.worker(&s0, "check");
    let t0 = Instant::now();
    signal_pid(pid, "STOP");
    let s = d.wait_for("watchdog restart", Duration::from_secs(5), |s| {
        let w = s["workers"].as_array().cloned().unwrap_or_default();
        w.iter()
            .any(|w| w["role"] == "check" && w["restarts"] == 1 && w["ready"] == true)
    });
    eprintln!("hung check worker replaced in {:?}", t0.elapsed());
    assert_ne!(d.worker(&s, "check").0, pid);
    assert!(
        d.log().contains("heartbeat intervals): hung"),
        "{}",
        d.log()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!alive(pid), "the hung worker was killed");
    assert_eq!(d.worker(&s, "vrrp"), d.worker(&s0, "vrrp"));
    assert_eq!(d.worker(&s, "ipvs"), d.worker(&s0, "ipvs"));
}

#[test]
fn a_garbage_frame_restarts_only_that_worker() {
    if !require_root() {
        return;
    }
    let d = Node::start("sup-garb", CONF);
    let s0 = d.status().expect("status");
    let (pid, _) = d.worker(&s0, "ipvs");
    // Write into the worker's own end of its socketpair, as a compromised
    // worker would: a header announcing an impossible length.
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid as i32).expect("pid"),
        rustix::process::PidfdFlags::empty(),
    )
    .expect("pidfd_open");
    let fd = rustix::process::pidfd_getfd(&pidfd, 3, rustix::process::PidfdGetfdFlags::empty())
        .expect("pidfd_getfd");
    let mut sock = UnixStream::from(fd);
    sock.write_all(&[1, 0xff, 0xff, 0xff, 0x7f, 0xde, 0xad, 0xbe, 0xef])
        .expect("write garbage");
    drop(sock);
    let s = d.wait_for("ipvs worker replaced", Duration::from_secs(3), |s| {
        s["workers"].as_array().is_some_and(|w| {
            w.iter()
                .any(|w| w["role"] == "ipvs" && w["restarts"] == 1 && w["ready"] == true)
        })
    });
    assert_ne!(d.worker(&s, "ipvs").0, pid);
    assert_eq!(d.worker(&s, "vrrp"), d.worker(&s0, "vrrp"));
    assert_eq!(d.worker(&s, "check"), d.worker(&s0, "check"));
    assert!(d.log().contains("sent a bad frame"), "{}", d.log());
    assert!(alive(d.pid()), "the parent survives");
}

#[test]
fn a_broken_reload_changes_nothing_and_a_good_one_applies() {
    if !require_root() {
        return;
    }
    let d = Node::start("sup-hup", CONF);
    let s0 = d.status().expect("status");
    assert_eq!(s0["generation"], 1);
    std::fs::write(
        d.conf_path(),
        CONF.replace("virtual_router_id 51", "virtual_router_id 300"),
    )
    .expect("write broken conf");
    d.signal("HUP");
    let t0 = Instant::now();
    while !d.log().contains("keeping the running configuration") {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no reload failure logged:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = d.log();
    assert!(
        log.contains("keepalived.conf:8:"),
        "the error names file:line:\n{log}"
    );
    let s1 = d.status().expect("status");
    assert_eq!(s1["generation"], 1, "generation unchanged");
    assert_eq!(d.pids(&s1), d.pids(&s0), "no worker restarted");
    assert_eq!(s1["vrrp_instances"], s0["vrrp_instances"]);
    assert_eq!(s1["virtual_servers"], s0["virtual_servers"]);

    // A good configuration is applied in place: same workers, new generation.
    std::fs::write(d.conf_path(), CONF.replace("priority 100", "priority 110")).expect("write");
    d.signal("HUP");
    let s2 = d.wait_for("generation 2", Duration::from_secs(5), |s| {
        s["generation"] == 2 && s["vrrp_instances"][0]["priority"] == 110
    });
    assert_eq!(d.pids(&s2), d.pids(&s0), "reload restarts no worker");
}

#[test]
fn stop_and_parent_death() {
    if !require_root() {
        return;
    }
    // SIGTERM: workers stop, the parent exits 0 and removes its pid files.
    let mut d = Node::start("sup-term", CONF);
    let pids = d.pids(&d.status().expect("status"));
    d.signal("TERM");
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = d.child.try_wait().expect("wait") {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(6),
            "no clean stop:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}\n{}", d.log());
    for (_, p) in &pids {
        assert!(!alive(*p));
    }
    assert!(!d.dir.join("k.pid").exists());
    assert!(!d.dir.join("v.pid").exists());

    // The parent killed outright: the workers notice the closed link and
    // exit by themselves.
    let d = Node::start("sup-pkill", CONF);
    let pids = d.pids(&d.status().expect("status"));
    d.signal("KILL");
    let t0 = Instant::now();
    while pids.iter().any(|(_, p)| alive(*p)) {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "workers outlived the parent: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn workers_hold_only_their_privileges() {
    if !require_root() {
        return;
    }
    let d = Node::start("sup-priv", CONF);
    let s = d.status().expect("status");
    // CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13.
    let expect = [
        ("vrrp", "0000000000003000", true),
        ("check", "0000000000000000", false),
        ("ipvs", "0000000000001000", true),
    ];
    for (role, caps, root) in expect {
        let (pid, _) = d.worker(&s, role);
        let st = proc_status(pid);
        assert_eq!(st["CapEff"], caps, "{role} CapEff");
        assert_eq!(st["CapPrm"], caps, "{role} CapPrm");
        assert_eq!(st["CapInh"], "0000000000000000", "{role} CapInh");
        assert_eq!(st["CapAmb"], "0000000000000000", "{role} CapAmb");
        assert_eq!(st["CapBnd"], "0000000000000000", "{role} CapBnd");
        assert_eq!(st["NoNewPrivs"], "1", "{role} NoNewPrivs");
        assert_eq!(st["Seccomp"], "2", "{role} Seccomp");
        let uid = st["Uid"]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        if root {
            assert_eq!(uid, "0", "{role} Uid");
        } else {
            assert_ne!(uid, "0", "{role} must not run as root");
            let all: Vec<&str> = st["Uid"].split_whitespace().collect();
            assert!(
                all.iter().all(|u| *u == uid),
                "{role}: every uid switched: {all:?}"
            );
        }
        // fds 0-2 are the standard streams (stderr is the parent's, so a
        // worker's panic message is not lost), 3 is the IPC socket, and
        // anything above is what the worker opened itself after
        // confinement (its epoll, its raw/netlink sockets): no file, pipe
        // or device inherited from the parent survives.
        let fds: Vec<(u32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("fds")
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let n = e.file_name().to_str()?.parse().ok()?;
                Some((n, std::fs::read_link(e.path()).ok()?.display().to_string()))
            })
            .collect();
        assert!(
            fds.iter().any(|(n, t)| *n == 3 && t.starts_with("socket:")),
            "{role}: fd 3 is not the IPC socket: {fds:?}"
        );
        assert!(
            fds.iter()
                .filter(|(n, _)| *n > 3)
                .all(|(_, t)| t.starts_with("anon_inode:") || t.starts_with("socket:")),
            "{role} has unexpected fds: {fds:?}"
        );
    }
    // The parent runs as root with what its children need (no script runs
    // as root here): CAP_DAC_READ_SEARCH, CAP_KILL, CAP_SETGID,
    // CAP_SETUID, CAP_SETPCAP, CAP_NET_ADMIN, CAP_NET_RAW (bits 2, 5-8,
    // 12, 13), nothing inheritable or ambient.
    let st = proc_status(d.pid());
    assert!(Path::new(&format!("/proc/{}", d.pid())).exists());
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(st[set], "00000000000031e4", "parent {set}");
    }
    assert_eq!(st["CapInh"], "0000000000000000", "parent CapInh");
    assert_eq!(st["CapAmb"], "0000000000000000", "parent CapAmb");
    assert!(
        d.log()
            .contains("capabilities limited to CAP_DAC_READ_SEARCH"),
        "{}",
        d.log()
    );
}

/// A configured script running as root keeps the parent's full root
/// capabilities (keepalived's root notify scripts expect them).
#[test]
fn a_root_script_keeps_the_parent_fully_privileged() {
    if !require_root() {
        return;
    }
    let conf = CONF.replace(
        "global_defs {\n    router_id e2e_test\n}",
        "global_defs {\n    router_id e2e_test\n    script_user root\n}\nvrrp_script chk_true {\n    script \"/bin/true\"\n    interval 1\n}",
    );
    assert_ne!(conf, CONF);
    let d = Node::start("sup-rootscr", &conf);
    let st = proc_status(d.pid());
    let full = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        .expect("our CapBnd");
    assert_eq!(st["CapBnd"], full, "parent CapBnd");
    assert!(
        d.log()
            .contains("keeping root's full capabilities: script /bin/true runs as root"),
        "{}",
        d.log()
    );
}

#[test]
fn dumps_on_sigusr1_and_sigusr2() {
    if !require_root() {
        return;
    }
    let d = Node::start("sup-dump", CONF);
    // File times come from the kernel's coarse clock: remove old dumps and
    // wait for new ones rather than compare times.
    for f in [
        "/tmp/keepalived.data",
        "/tmp/keepalived_check.data",
        "/tmp/keepalived.stats",
    ] {
        let _ = std::fs::remove_file(f);
    }
    let fresh = |p: &str| Path::new(p).exists();
    d.signal("USR1");
    let t0 = Instant::now();
    while !(fresh("/tmp/keepalived.data") && fresh("/tmp/keepalived_check.data")) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no data dump:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let data = std::fs::read_to_string("/tmp/keepalived.data").expect("data");
    assert!(data.contains("keepalived-rs parent"), "{data}");
    assert!(data.contains("VRRP Instance = VI_1"), "{data}");
    assert!(
        data.contains("VRRP worker (pid"),
        "the worker's own part: {data}"
    );
    let check = std::fs::read_to_string("/tmp/keepalived_check.data").expect("check data");
    assert!(check.contains("check worker (pid"), "{check}");
    assert!(check.contains("IPVS worker (pid"), "{check}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata("/tmp/keepalived.data")
            .expect("stat")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    d.signal("USR2");
    let t0 = Instant::now();
    while !fresh("/tmp/keepalived.stats") {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no stats dump:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = std::fs::read_to_string("/tmp/keepalived.stats").expect("stats");
    assert!(stats.contains("Configuration generation = 1"), "{stats}");
}

#[test]
fn vrrp_only_and_check_only() {
    if !require_root() {
        return;
    }
    for (flag, roles) in [("-P", vec!["vrrp"]), ("-C", vec!["check", "ipvs"])] {
        let d = Node::start_with("sup-role", CONF, &[flag], roles.len());
        let status = d.status().expect("status");
        let got: Vec<&str> = status["workers"]
            .as_array()
            .expect("workers")
            .iter()
            .filter_map(|w| w["role"].as_str())
            .collect();
        assert_eq!(got, roles, "{flag}");
    }
}

/// keepalived 2.2.7's vrrp_complete_init: an lvs_sync_daemon naming no
/// instance of the configuration is logged and dropped, at start and at
/// each reload (not a configuration error).
#[test]
fn a_sync_daemon_naming_a_missing_instance_is_logged_and_cleared() {
    if !require_root() {
        return;
    }
    let line = "Unable to find vrrp instance VI_9 for lvs_syncd - clearing lvs_syncd config";
    let conf = CONF.replace(
        "router_id e2e_test\n",
        "router_id e2e_test\n    lvs_sync_daemon eth0 VI_9 id 5\n",
    );
    assert!(conf.contains("VI_9"));
    let d = Node::start("sup-syncd", &conf);
    assert_eq!(d.log().matches(line).count(), 1, "{}", d.log());
    d.signal("HUP");
    let t0 = Instant::now();
    while !d.log().contains("Reload done") {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(d.log().matches(line).count(), 2, "{}", d.log());
    // The instance that exists: nothing said.
    let ok = conf.replace("VI_9", "VI_1");
    let d = Node::start("sup-syncd", &ok);
    assert!(!d.log().contains("lvs_syncd"), "{}", d.log());
}

#[test]
fn a_reload_racing_a_restart_does_not_break_the_new_worker() {
    if !require_root() {
        return;
    }
    let d = Node::start("sup-race", CONF);
    // Each role once: a first restart is immediate, so the reload reaches
    // the parent while it waits for the new worker's Hello. (A second kill
    // of the same worker would wait out the crash-loop backoff instead.)
    for (i, role) in ["check", "ipvs", "vrrp"].iter().enumerate() {
        let generation = 2 + i as u64;
        let (pid, _) = d.worker(&d.status().expect("status"), role);
        signal_pid(pid, "KILL");
        d.signal("HUP");
        d.wait_for("reload and restart done", Duration::from_secs(5), |s| {
            s["generation"] == generation
                && worker(s, role).is_some_and(|(p, r, ready)| p != pid && r >= 1 && ready)
        });
        std::thread::sleep(Duration::from_millis(100));
        let s = d.status().expect("status");
        assert_eq!(
            d.worker(&s, role).1,
            1,
            "{role}: the new worker must not fail its handshake\n{}",
            d.log()
        );
    }
    assert!(!d.log().contains("expected Init"), "{}", d.log());
}

#[test]
fn a_security_violation_is_logged_and_the_daemon_runs() {
    if !require_root() {
        return;
    }
    // A script without enable_script_security: keepalived -t exits 6 and
    // its daemon logs SECURITY VIOLATION and runs; so must ours.
    let conf = CONF.replace(
        "vrrp_instance VI_1 {",
        "vrrp_script chk {\n    script \"/bin/true\"\n    interval 1\n}\nvrrp_instance VI_1 {",
    );
    let d = Node::start("sup-secv", &conf);
    assert!(
        d.log().contains("SECURITY VIOLATION"),
        "the violation is logged:\n{}",
        d.log()
    );
    assert!(!d.log().contains("not starting"), "{}", d.log());
}

/// Broken configurations on SIGHUP while VRRP runs with a peer: each is
/// refused with its FILE:LINE in the log, the running configuration stays
/// (generation, workers, VRRP state and counters on both nodes), and no
/// transition happens on either node over the following adverts.
#[test]
fn broken_reloads_with_a_peer_cause_no_transition() {
    use tests::daemon::{logs, wait_until};
    use tests::lan::Lan;
    if !require_root() {
        return;
    }
    const VIP: &str = "10.201.0.100";
    let conf = |prio: u32| {
        format!(
            "global_defs {{\n    router_id hup_{prio}\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 81\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
        )
    };
    let lan = Lan::new("suphup", 2);
    let m = Daemon::start(&lan.nodes[0], "suphup-m", &conf(150), &[]);
    let b = Daemon::start(&lan.nodes[1], "suphup-b", &conf(100), &[]);
    let ds = [&m, &b];
    let state = |d: &Daemon| {
        d.status()
            .and_then(|s| s["vrrp_instances"][0]["state"].as_str().map(str::to_string))
    };
    wait_until("MASTER and BACKUP", Duration::from_secs(10), &ds, || {
        state(&m).as_deref() == Some("MASTER") && state(&b).as_deref() == Some("BACKUP")
    });
    // The counters follow the state report: wait for them too.
    m.wait_for("became_master 1", Duration::from_secs(5), |s| {
        s["vrrp_instances"][0]["counters"]["became_master"] == 1
    });
    let snapshot = |d: &Daemon| {
        let s = d.status().expect("status");
        let i = &s["vrrp_instances"][0];
        (
            s["generation"].clone(),
            s["workers"].clone(),
            i["state"].clone(),
            i["counters"]["became_master"].clone(),
            i["counters"]["released_master"].clone(),
            i["priority"].clone(),
        )
    };
    let before = [snapshot(&m), snapshot(&b)];
    let entering = |d: &Daemon| d.log().matches("Entering").count();
    let entering0 = [entering(&m), entering(&b)];

    // (what, main file text, extra file, the FILE:LINE the log must name)
    let good_m = conf(150);
    let broken: Vec<(&str, String, Option<String>, String)> = vec![
        (
            "a keyword without its parameter",
            good_m.replace("interface eth0", "interface"),
            None,
            "keepalived.conf:6:".into(),
        ),
        (
            "a VRID out of range",
            good_m.replace("virtual_router_id 81", "virtual_router_id 300"),
            None,
            "keepalived.conf:7:".into(),
        ),
        (
            "an error in an included file",
            format!(
                "include broken.conf\n{}",
                good_m.replace("priority 150", "priority 151")
            ),
            Some("vrrp_instance VI_9 {\n    interface\n}\n".into()),
            "broken.conf:2:".into(),
        ),
    ];
    for (node, d) in [(0usize, &m), (1, &b)] {
        for (what, text, extra, line) in &broken {
            let text = if node == 1 {
                text.replace("150", "100").replace("151", "101")
            } else {
                text.clone()
            };
            if let Some(x) = extra {
                std::fs::write(d.dir.join("broken.conf"), x).expect("write include");
            }
            let log0 = d.log().len();
            d.rewrite(&text);
            d.signal("HUP");
            let t0 = Instant::now();
            loop {
                let new = d.log()[log0..].to_string();
                if new.contains("keeping the running configuration") {
                    assert!(
                        new.contains(line.as_str()),
                        "node {}: {what}: the error must name {line}:\n{new}",
                        node + 1
                    );
                    break;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(5),
                    "node {}: {what}: no reload failure logged\n{}",
                    node + 1,
                    logs(&ds)
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    // Two advert intervals and a master-down interval's worth of adverts
    // go by: still no transition anywhere, nothing changed.
    std::thread::sleep(Duration::from_millis(3700));
    assert_eq!(
        [snapshot(&m), snapshot(&b)],
        before,
        "the running configuration and state stay\n{}",
        logs(&ds)
    );
    assert_eq!(
        [entering(&m), entering(&b)],
        entering0,
        "no transition\n{}",
        logs(&ds)
    );
    assert_eq!(
        lan.holders(&format!("inet {VIP}/24")),
        vec![0],
        "the VIP stays"
    );
    // The good configuration back: accepted (generation 2), still no
    // transition.
    m.rewrite(&good_m);
    m.signal("HUP");
    m.wait_for("generation 2", Duration::from_secs(5), |s| {
        s["generation"] == 2
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(state(&m).as_deref(), Some("MASTER"));
    assert_eq!(state(&b).as_deref(), Some("BACKUP"));
    assert_eq!([entering(&m), entering(&b)], entering0, "{}", logs(&ds));
}
