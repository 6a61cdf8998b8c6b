//! `ha_suspend` end to end: the real `keepalived-rs -C` in a network
//! namespace the test creates. The parent watches the namespace's
//! addresses (rtnetlink; the sandboxed check worker has no netlink) and
//! the check worker probes the real server of a virtual server with
//! `ha_suspend` only while the virtual server's address is configured:
//! a listener that counts its connections sees none while the address is
//! absent, probes once it is added (and the real server's state follows
//! the listener), none again once it is deleted. The log lines are
//! keepalived 2.2.7's (check_api.c's register_checkers_thread and
//! update_checker_activity; keepalived's checker needs IPVS, which this
//! kernel lacks, so they are compared with its source, not a live run).
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tests::servers::{PYTHON, Proc, spawn, wait_tcp};
use tests::{NetNs, Requirement, require};

const VIP: &str = "10.250.0.77";
const PORT: u16 = 7301;

/// A listener on 127.0.0.1:`port` that accepts and closes each connection
/// and appends a line per connection to `count`.
fn counting_listener(ns: &NetNs, port: u16, count: &Path) -> Proc {
    let code = format!(
        "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port}))\ns.listen(16)\nwhile True:\n    s.accept()[0].close()\n    \
         f = open('{}', 'a')\n    f.write('c\\n')\n    f.close()\n",
        count.display()
    );
    let p = spawn(ns, Path::new("/"), &[PYTHON, "-c", &code]);
    wait_tcp(ns, port);
    p
}

fn connections(count: &Path) -> usize {
    std::fs::read_to_string(count)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// (up) of the real server 127.0.0.1:PORT.
fn rs_up(s: &serde_json::Value) -> Option<bool> {
    s["virtual_servers"].as_array()?.iter().find_map(|vs| {
        vs["real_servers"].as_array()?.iter().find_map(|r| {
            (r["address"] == "127.0.0.1" && r["port"] == PORT).then(|| r["up"].as_bool())?
        })
    })
}

fn wait_log(d: &tests::Daemon, line: &str, n: usize, limit: Duration) -> Duration {
    let t0 = Instant::now();
    while d.log().matches(line).count() < n {
        assert!(
            t0.elapsed() < limit,
            "no {n} x {line:?} within {limit:?}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

#[test]
fn ha_suspend_probes_only_while_the_virtual_servers_address_is_present() {
    if !require(
        "ha_suspend end to end (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("chk-ha", &[]).expect("netns");
    let dir = PathBuf::from(format!("/run/krs-check-ha-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let count = dir.join("connections");
    let conf = format!(
        "virtual_server {VIP} 80 {{\n delay_loop 1\n lb_kind NAT\n protocol TCP\n ha_suspend\n\
         real_server 127.0.0.1 {PORT} {{\n TCP_CHECK {{\n connect_timeout 1\n retry 0\n warmup 0\n }}\n }}\n}}\n"
    );
    let listener = counting_listener(&ns, PORT, &count);
    let d = tests::Daemon::start(&ns, "chk-ha-daemon", &conf, &["-C"]);
    d.wait_ready(2);
    let service = format!("service [127.0.0.1]:tcp:{PORT} for VS [{VIP}]:tcp:80");
    wait_log(
        &d,
        &format!("Deactivating healthchecker for {service}"),
        1,
        Duration::from_secs(5),
    );

    // Absent: no probe for 3 s (delay_loop 1: three would have run).
    let before = connections(&count);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(connections(&count), before, "probed while suspended");
    assert_eq!(d.status().as_ref().and_then(rs_up), Some(true));

    // Added: activated, probes within about a delay_loop.
    let t_add = Instant::now();
    ns.add_address("lo", &format!("{VIP}/32"));
    let logged = wait_log(
        &d,
        &format!("Activating healthchecker for {service}"),
        1,
        Duration::from_secs(5),
    );
    assert!(
        d.log()
            .contains(&format!("Netlink reflector reports IP {VIP} added")),
        "{}",
        d.log()
    );
    let before = connections(&count);
    while connections(&count) < before + 2 {
        assert!(
            t_add.elapsed() < Duration::from_secs(5),
            "no probes after the address was added\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let probing = t_add.elapsed();
    eprintln!("address added: logged after {logged:?}, two probes after {probing:?}");

    // The real server's state follows the listener.
    drop(listener);
    d.wait_for("real server down", Duration::from_secs(5), |s| {
        rs_up(s) == Some(false)
    });
    let listener = counting_listener(&ns, PORT, &count);
    d.wait_for("real server up", Duration::from_secs(5), |s| {
        rs_up(s) == Some(true)
    });

    // A restarted check worker gets the presence in its Init: it
    // activates the checker at once and probes on.
    let pid = tests::daemon::worker(&d.status().expect("status"), "check")
        .expect("check worker")
        .0;
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    wait_log(
        &d,
        &format!("Activating healthchecker for {service}"),
        2,
        Duration::from_secs(5),
    );
    let before = connections(&count);
    let t = Instant::now();
    while connections(&count) < before + 2 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the restarted worker does not probe\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Deleted: suspended; no probe after the one that may be running, and
    // the real server keeps its state when the listener goes (probing, it
    // would be down within a second).
    let ok = Command::new("ip")
        .args([
            "-n",
            ns.name(),
            "addr",
            "del",
            &format!("{VIP}/32"),
            "dev",
            "lo",
        ])
        .status()
        .expect("ip")
        .success();
    assert!(ok, "ip addr del");
    wait_log(
        &d,
        &format!("Suspending healthchecker for {service}"),
        1,
        Duration::from_secs(5),
    );
    assert!(
        d.log()
            .contains(&format!("Netlink reflector reports IP {VIP} removed")),
        "{}",
        d.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    let before = connections(&count);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(connections(&count), before, "probed after suspension");
    drop(listener);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(d.status().as_ref().and_then(rs_up), Some(true));
    assert!(!d.log().contains("SIGSYS"), "{}", d.log());
    for l in d
        .log()
        .lines()
        .filter(|l| l.contains("healthchecker for") || l.contains("reflector"))
    {
        eprintln!("{l}");
    }
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ha_suspend_follows_an_ipv6_address_until_its_last_interface_loses_it() {
    if !require(
        "ha_suspend end to end (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("chk-ha6", &["ha0", "ha1"]).expect("netns");
    let conf = "virtual_server fd00::77 80 {\n delay_loop 1\n lb_kind NAT\n protocol TCP\n ha_suspend\n\
         real_server ::1 7302 {\n TCP_CHECK {\n connect_timeout 1\n retry 0\n warmup 0\n }\n }\n}\n";
    let d = tests::Daemon::start(&ns, "chk-ha6-daemon", conf, &["-C"]);
    d.wait_ready(2);
    let service = "service [::1]:tcp:7302 for VS [fd00::77]:tcp:80";
    let limit = Duration::from_secs(5);
    wait_log(
        &d,
        &format!("Deactivating healthchecker for {service}"),
        1,
        limit,
    );
    let addr = |op: &str, dev: &str| {
        let ok = Command::new("ip")
            .args(["-n", ns.name(), "addr", op, "fd00::77/128", "dev", dev])
            .status()
            .expect("ip")
            .success();
        assert!(ok, "ip addr {op} fd00::77 dev {dev}");
    };
    addr("add", "ha0");
    wait_log(
        &d,
        &format!("Activating healthchecker for {service}"),
        1,
        limit,
    );
    // The same address on a second interface (its DAD completing is one
    // more RTM_NEWADDR), then gone from the first: still present.
    addr("add", "ha1");
    std::thread::sleep(Duration::from_millis(500));
    addr("del", "ha0");
    // Active, the checker probes: the real server (nothing listens) goes
    // down; and no "Suspending" line, the address being still on ha1.
    d.wait_for("[::1]:7302 down", limit, |s| {
        s["virtual_servers"][0]["real_servers"][0]["up"] == false
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!d.log().contains("Suspending healthchecker"), "{}", d.log());
    addr("del", "ha1");
    wait_log(
        &d,
        &format!("Suspending healthchecker for {service}"),
        1,
        limit,
    );
    assert!(
        d.log()
            .contains("Netlink reflector reports IP fd00::77 removed"),
        "{}",
        d.log()
    );
}
