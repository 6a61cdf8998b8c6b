//! Each worker, inside its real sandbox in a running daemon, is asked to do
//! what its role must not (open a netlink socket, read /etc/shadow, exec
//! /bin/sh), and the parent's script runner is asked for a script id that
//! does not exist and, by a worker speaking a forged frame, for a path.
//!
//! This uses the daemon built with the `test-messages` feature (`ctl probe`;
//! see tests::binaries: it is built in its own target folder so the normal
//! binary never has it).
//!
//! What "refused" is, per role (the roles' policies in sandbox/src/policies.rs):
//! - a call outside the role's seccomp allow-list kills the worker with
//!   SIGSYS; the parent logs a line naming the role, counts it in
//!   `ctl status` (`seccomp_violations`) and restarts the worker;
//! - a call the allow-list has (the VRRP and check workers open files)
//!   that Landlock or the user switch refuses fails with EACCES, and the
//!   worker answers with that errno and runs on.
//!
//! The VRRP worker's rtnetlink socket is its job (VIPs, routes), so that
//! probe must succeed there: it shows the probe itself works. The metrics
//! worker (started by `metrics_listen`) may create no socket and open no
//! file at all: seccomp kills it for each of the three.

use serde_json::Value;
use std::time::{Duration, Instant};
use tests::Requirement;
use tests::binaries::keepalived_rs_probe_binary;
use tests::daemon::{BASIC_CONF, Daemon, worker};
use tests::netns::NetNs;

/// The shared configuration, with its own addresses and the metrics
/// worker.
fn conf() -> String {
    BASIC_CONF
        .replace(
            "router_id e2e_test",
            "router_id probe_test\n    metrics_listen 127.0.0.1:9660",
        )
        .replace("10.250.", "10.251.")
}

const EACCES: i64 = 13;

#[derive(Debug)]
enum Outcome {
    /// The worker answered (it survived the attempt).
    Reply(Value),
    /// The worker died; `sigsys` when the parent counted a seccomp violation.
    Killed { sigsys: bool },
}

fn counters(s: &Value, role: &str) -> (u64, u64) {
    let w = s["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["role"] == role))
        .unwrap_or_else(|| panic!("no {role} worker in {s}"));
    (
        w["restarts"].as_u64().unwrap_or(0),
        w["seccomp_violations"].as_u64().unwrap_or(0),
    )
}

/// Send `probe ROLE WHAT` and wait for the worker's answer or death; then
/// wait until the role has a ready worker again.
fn probe(d: &Daemon, role: &str, what: &str) -> Outcome {
    let s0 = d.status().expect("status");
    let (restarts0, sigsys0) = counters(&s0, role);
    let answered0 = d
        .request("probes")
        .expect("probes")
        .as_array()
        .map_or(0, Vec::len);
    let sent = d.request(&format!("probe {role} {what}")).expect("probe");
    assert_eq!(sent["probe"], "sent", "{sent}");
    let t0 = Instant::now();
    let outcome = loop {
        let replies = d.request("probes").expect("probes");
        if let Some(r) = replies.as_array().and_then(|a| a.get(answered0)) {
            assert_eq!(r["role"], role, "{r}");
            break Outcome::Reply(r.clone());
        }
        let s = d.status().expect("status");
        let (restarts, sigsys) = counters(&s, role);
        if restarts > restarts0 {
            break Outcome::Killed {
                sigsys: sigsys > sigsys0,
            };
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no answer to probe {role} {what}\nlog:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    d.wait_for(
        &format!("a ready {role} worker after probe {what}"),
        Duration::from_secs(15),
        |s| worker(s, role).is_some_and(|(_, _, ready)| ready),
    );
    outcome
}

fn assert_refused_by_errno(o: &Outcome, role: &str, what: &str) {
    match o {
        Outcome::Reply(r) => {
            // (Landlock refuses it: a kernel without Landlock fails here.)
            assert_eq!(r["ok"], false, "{role} {what}: {r}");
            assert_eq!(r["errno"].as_i64(), Some(EACCES), "{role} {what}: {r}");
        }
        other => panic!("{role} {what}: expected an EACCES answer, got {other:?}"),
    }
}

fn assert_killed_by_seccomp(o: &Outcome, d: &Daemon, role: &str, what: &str) {
    assert!(
        matches!(o, Outcome::Killed { sigsys: true }),
        "{role} {what}: expected a SIGSYS kill, got {o:?}\nlog:\n{}",
        d.log()
    );
}

#[test]
fn forbidden_things_are_refused_inside_each_worker() {
    if !tests::require(
        "the sandbox probe test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("probe", &["eth0"]).expect("netns");
    let d = Daemon::start_bin(&keepalived_rs_probe_binary(), &ns, "probe", &conf(), &[]);
    d.wait_ready(4);

    // VRRP: rtnetlink is its job; files outside /sys and /proc/sys are
    // hidden by Landlock (it runs as uid 0, which owns /etc/shadow); exec
    // is not in its allow-list.
    match probe(&d, "vrrp", "netlink") {
        Outcome::Reply(r) => assert_eq!(r["ok"], true, "{r}"),
        o => panic!("vrrp netlink: {o:?}\n{}", d.log()),
    }
    let o = probe(&d, "vrrp", "read /etc/shadow");
    assert_refused_by_errno(&o, "vrrp", "read /etc/shadow");
    let o = probe(&d, "vrrp", "exec /bin/sh");
    assert_killed_by_seccomp(&o, &d, "vrrp", "exec /bin/sh");

    // Check: reads files (TLS, resolver, FILE_CHECK) but Landlock and its
    // unprivileged user refuse /etc/shadow; no netlink, no exec.
    let o = probe(&d, "check", "read /etc/shadow");
    assert_refused_by_errno(&o, "check", "read /etc/shadow");
    let o = probe(&d, "check", "netlink");
    assert_killed_by_seccomp(&o, &d, "check", "netlink");
    let o = probe(&d, "check", "exec /bin/sh");
    assert_killed_by_seccomp(&o, &d, "check", "exec /bin/sh");

    // IPVS: generic netlink only (not rtnetlink), no file at all, no exec.
    let o = probe(&d, "ipvs", "netlink");
    assert_killed_by_seccomp(&o, &d, "ipvs", "netlink");
    let o = probe(&d, "ipvs", "read /etc/shadow");
    assert_killed_by_seccomp(&o, &d, "ipvs", "read /etc/shadow");
    let o = probe(&d, "ipvs", "exec /bin/sh");
    assert_killed_by_seccomp(&o, &d, "ipvs", "exec /bin/sh");

    // Metrics: accepts scrapes on the socket the parent passed; it creates
    // no socket, opens no file, execs nothing (seccomp refuses all three).
    let o = probe(&d, "metrics", "netlink");
    assert_killed_by_seccomp(&o, &d, "metrics", "netlink");
    let o = probe(&d, "metrics", "read /etc/shadow");
    assert_killed_by_seccomp(&o, &d, "metrics", "read /etc/shadow");
    let o = probe(&d, "metrics", "exec /bin/sh");
    assert_killed_by_seccomp(&o, &d, "metrics", "exec /bin/sh");

    let s = d.status().expect("status");
    for (role, kills) in [("vrrp", 1), ("check", 2), ("ipvs", 3), ("metrics", 3)] {
        assert_eq!(counters(&s, role), (kills, kills), "{role}: {s}");
    }
    let log = d.log();
    for role in ["vrrp", "check", "ipvs", "metrics"] {
        assert!(
            log.contains(&format!("seccomp violation: the {role} worker")),
            "no seccomp line naming {role}:\n{log}"
        );
    }

    // The script runner: an id outside the worker's table is refused and
    // logged, for every role.
    for role in ["vrrp", "check", "ipvs", "metrics"] {
        match probe(&d, role, "script 4000000") {
            Outcome::Reply(r) => {
                assert_eq!(r["ok"], false, "{r}");
                let m = r["message"].as_str().unwrap_or("");
                assert!(m.contains("Refused") && m.contains("not a script"), "{r}");
            }
            o => panic!("{role} script: {o:?}\n{}", d.log()),
        }
        assert!(
            d.log().contains(&format!(
                "{role} worker (pid {}) asked for script#4000000, which is not in its script table: refused",
                worker(&d.status().expect("status"), role).expect("worker").0
            )),
            "{}",
            d.log()
        );
    }
    // A worker cannot name a path: RunScript carries a ScriptId (u32) and
    // nothing else, so a frame with a path where the id goes does not
    // decode. The parent treats it as a bad frame and replaces the worker;
    // no script runs.
    let before = d.status().expect("status");
    let (r0, v0) = counters(&before, "check");
    match probe(&d, "check", "script-path /bin/sh") {
        Outcome::Killed { sigsys: false } => {}
        o => panic!("check script-path: {o:?}\n{}", d.log()),
    }
    let after = d.status().expect("status");
    assert_eq!(counters(&after, "check"), (r0 + 1, v0));
    assert!(d.log().contains("sent a bad frame"), "{}", d.log());
    assert!(!d.log().contains("Running /bin/sh"), "{}", d.log());
}
