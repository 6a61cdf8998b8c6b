//! Operations end to end: systemd's notification protocol as a `Type=notify`
//! service sees it, and `keepalived-rs ctl`. The real binary, as root, in a
//! network namespace the test creates.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};
use tests::Requirement;
use tests::daemon::{BASIC_CONF as CONF, Daemon};
use tests::netns::NetNs;
use tests::servers::listener;

/// A virtual server whose real server listens on the namespace's
/// loopback ([`listener`]).
const LOOPBACK_VS: &str = r#"
virtual_server 127.0.0.1 9651 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 9652 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            warmup 0
        }
    }
}
"#;

fn require_root() -> bool {
    tests::require(
        "the operations end-to-end test",
        &[Requirement::Root, Requirement::NetTools],
    )
}

/// Receive notification datagrams until `pred` matches one (the watchdog
/// pings are collected on the way). Returns every message seen, in order.
fn recv_until(
    rx: &UnixDatagram,
    what: &str,
    limit: Duration,
    seen: &mut Vec<(Instant, String)>,
    pred: impl Fn(&str) -> bool,
) -> String {
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(t0.elapsed());
        assert!(!left.is_zero(), "no {what} within {limit:?}; saw {seen:?}");
        rx.set_read_timeout(Some(left)).expect("timeout");
        match rx.recv(&mut buf) {
            Ok(n) => {
                let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.push((Instant::now(), m.clone()));
                if pred(&m) {
                    return m;
                }
            }
            Err(e) => panic!("no {what} within {limit:?} ({e}); saw {seen:?}"),
        }
    }
}

fn monotonic_usec() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64) * 1_000_000 + (t.tv_nsec as u64) / 1_000
}

/// The parent talks to `$NOTIFY_SOCKET` as systemd's `Type=notify` wants:
/// READY=1 only once all three workers have their configuration, WATCHDOG=1
/// every half `$WATCHDOG_USEC`, RELOADING=1 with MONOTONIC_USEC on SIGHUP
/// then READY=1 when the workers have the new generation, STOPPING=1 on
/// SIGTERM; nothing else and in that order.
#[test]
fn systemd_notifications_in_order() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new("ops-notify", &["eth0"]).expect("netns");
    let dir = std::env::temp_dir().join(format!("krs-notify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let sock = dir.join("notify");
    let rx = UnixDatagram::bind(&sock).expect("bind notify socket");
    let sock_s = sock.to_str().expect("utf-8 path");
    let d = Daemon::start_env(
        &ns,
        "ops-notify",
        CONF,
        &[],
        &[("NOTIFY_SOCKET", sock_s), ("WATCHDOG_USEC", "400000")],
    );
    let mut seen = Vec::new();
    let ready = recv_until(&rx, "READY=1", Duration::from_secs(10), &mut seen, |m| {
        m.starts_with("READY=1")
    });
    assert!(ready.contains("STATUS=3 workers running"), "{ready}");
    // At READY=1 every worker already said it has the configuration.
    let s = d.status().expect("status");
    let w = s["workers"].as_array().expect("workers");
    assert_eq!(w.len(), 3, "{s}");
    assert!(w.iter().all(|w| w["ready"] == true), "{s}");

    // Watchdog pings at half of 400 ms.
    let t0 = Instant::now();
    seen.clear();
    for _ in 0..3 {
        recv_until(&rx, "WATCHDOG=1", Duration::from_secs(2), &mut seen, |m| {
            m == "WATCHDOG=1"
        });
    }
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "3 pings took {took:?}: {seen:?}"
    );
    let pings: Vec<Instant> = seen.iter().map(|(t, _)| *t).collect();
    for w in pings.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_millis(150) && gap < Duration::from_millis(400),
            "ping gap {gap:?}"
        );
    }

    // Reload: RELOADING=1 with a current MONOTONIC_USEC, then READY=1.
    seen.clear();
    let before = monotonic_usec();
    d.signal("HUP");
    let r = recv_until(&rx, "RELOADING=1", Duration::from_secs(5), &mut seen, |m| {
        m != "WATCHDOG=1"
    });
    assert!(r.starts_with("RELOADING=1\n"), "first after SIGHUP: {r}");
    let usec: u64 = r
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .expect("MONOTONIC_USEC")
        .parse()
        .expect("number");
    assert!(
        usec >= before && usec < before + 5_000_000,
        "{usec} vs {before}"
    );
    let ready = recv_until(&rx, "READY=1", Duration::from_secs(10), &mut seen, |m| {
        m != "WATCHDOG=1"
    });
    assert!(ready.starts_with("READY=1"), "after RELOADING: {ready}");
    assert!(ready.contains("configuration generation 2"), "{ready}");
    let s = d.status().expect("status");
    assert_eq!(s["generation"], 2);

    // A bad configuration: RELOADING=1, then READY=1 on the old one.
    d.rewrite(&CONF.replace("virtual_router_id 51", "virtual_router_id 300"));
    seen.clear();
    d.signal("HUP");
    let r = recv_until(&rx, "RELOADING=1", Duration::from_secs(5), &mut seen, |m| {
        m != "WATCHDOG=1"
    });
    assert!(r.starts_with("RELOADING=1\n"), "{r}");
    let ready = recv_until(&rx, "READY=1", Duration::from_secs(5), &mut seen, |m| {
        m != "WATCHDOG=1"
    });
    assert!(
        ready.starts_with("READY=1") && ready.contains("generation 2"),
        "{ready}"
    );

    // Stop: STOPPING=1 and nothing but watchdog pings after it.
    seen.clear();
    d.signal("TERM");
    let m = recv_until(&rx, "STOPPING=1", Duration::from_secs(5), &mut seen, |m| {
        m != "WATCHDOG=1"
    });
    assert!(m.starts_with("STOPPING=1"), "first after SIGTERM: {seen:?}");
    let mut d = d;
    let t0 = Instant::now();
    while d.child.try_wait().expect("wait").is_none() {
        assert!(t0.elapsed() < Duration::from_secs(10), "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    rx.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 512];
    while let Ok(n) = rx.recv(&mut buf) {
        let m = String::from_utf8_lossy(&buf[..n]);
        assert_eq!(m, "WATCHDOG=1", "after STOPPING=1");
    }
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The unit file's exposure score, as `systemd-analyze security` rates it
/// offline; `None` (with the reason) when systemd-analyze cannot rate it.
fn exposure(unit: &std::path::Path) -> Result<f64, String> {
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(unit)
        .output()
        .map_err(|e| format!("systemd-analyze: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.split("Overall exposure level for ").nth(1))
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            format!(
                "no score in: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// dist/keepalived-rs.service: Type=notify with the reload and hardening
/// the issue asks for, rated by systemd-analyze well below Debian's
/// keepalived.service.
#[test]
fn unit_file_is_notify_and_hardened() {
    let unit = tests::workspace_root().join("dist/keepalived-rs.service");
    let text = std::fs::read_to_string(&unit).expect("unit file");
    for line in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_KILL",
        "SystemCallArchitectures=native",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{} lacks {line}",
            unit.display()
        );
    }
    let ours = match exposure(&unit) {
        Ok(s) => s,
        Err(e) if !tests::privilege::in_ci() => {
            eprintln!("SKIP the exposure score: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    eprintln!("systemd-analyze security: keepalived-rs.service {ours}");
    assert!(ours <= 3.5, "exposure {ours}");
    let debian = std::path::Path::new("/lib/systemd/system/keepalived.service");
    if debian.exists() {
        let theirs = exposure(debian).expect("Debian's unit");
        eprintln!("systemd-analyze security: keepalived.service {theirs}");
        assert!(ours < theirs);
    }
}

fn ctl(d: &Daemon, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(tests::keepalived_rs_binary())
        .arg("ctl")
        .arg("--control-socket")
        .arg(d.dir.join("ctl.sock"))
        .args(args)
        .output()
        .expect("run ctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `keepalived-rs ctl`: status as tables and as JSON, reload (good and
/// bad), dump/stats/json printing what keepalived's files hold, and
/// SIGJSON (SIGRTMIN+2) writing keepalived's /tmp/keepalived.json.
#[test]
fn ctl_commands() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new("ops-ctl", &["eth0"]).expect("netns");
    let d = Daemon::start(&ns, "ops-ctl", CONF, &[]);
    d.wait_ready(3);

    let (code, table, err) = ctl(&d, &["status"]);
    eprintln!("ctl status:\n{table}");
    assert_eq!(code, 0, "{err}");
    assert!(table.starts_with("configuration generation 1\n"), "{table}");
    assert!(
        table.contains("WORKER  PID") && table.contains("RESTARTS"),
        "{table}"
    );
    for role in ["vrrp", "check", "ipvs"] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(role) && l.contains("  yes  ")),
            "{role}: {table}"
        );
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("VI_1 ") && l.contains("10.250.0.100/24")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("10.250.0.10:80")
                && l.contains("TCP_CHECK 10.250.0.1:80 every 5s")),
        "{table}"
    );

    let (code, json, _) = ctl(&d, &["status", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("status JSON");
    let rs = &v["virtual_servers"][0]["real_servers"][0];
    assert_eq!(rs["checkers"][0]["type"], "TCP_CHECK");
    assert_eq!(rs["checkers"][0]["target"], "10.250.0.1:80");
    assert_eq!(rs["checkers"][0]["timeout_s"], 1.0);

    let (code, out, err) = ctl(&d, &["reload"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "reloaded: configuration generation 2\n"),
        "{err}"
    );
    d.rewrite(&CONF.replace("virtual_router_id 51", "virtual_router_id 300"));
    let (code, out, err) = ctl(&d, &["reload"]);
    assert_ne!(code, 0);
    assert_eq!(out, "");
    assert!(
        err.contains("reload failed: configuration has errors")
            && err.contains("(generation 2)")
            && err.contains("virtual router id must be set"),
        "{err}"
    );
    d.rewrite(CONF);

    let (code, out, err) = ctl(&d, &["dump"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("==> /tmp/keepalived.data <==\n"), "{out}");
    assert!(
        out.contains("\n==> /tmp/keepalived_check.data <==\n"),
        "{out}"
    );
    assert!(out.contains("VRRP Instance = VI_1"), "{out}");
    let (code, out, err) = ctl(&d, &["stats"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("==> /tmp/keepalived.stats <==\n"), "{out}");
    assert!(
        out.contains("VRRP Instance: VI_1\n  Advertisements:"),
        "{out}"
    );

    // SIGJSON and `ctl json`: keepalived's layout.
    let _ = std::fs::remove_file("/tmp/keepalived.json");
    let st = std::process::Command::new("kill")
        .args(["-s", "RTMIN+2", &d.pid().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    let t0 = Instant::now();
    let text = loop {
        if let Ok(t) = std::fs::read_to_string("/tmp/keepalived.json") {
            if t.ends_with('\n') {
                break t;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no /tmp/keepalived.json"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let j: serde_json::Value = serde_json::from_str(&text).expect("keepalived.json");
    assert_eq!(j[0]["data"]["iname"], "VI_1");
    assert_eq!(j[0]["data"]["vrid"], 51);
    assert_eq!(j[0]["data"]["ifp_ifname"], "eth0");
    assert_eq!(j[0]["data"]["vips"][0], "10.250.0.100/24");
    assert!(j[0]["stats"]["advert_rcvd"].is_u64());
    let (code, out, _) = ctl(&d, &["json"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("==> /tmp/keepalived.json <==\n[{\"data\":"),
        "{out}"
    );

    let (code, _, err) = ctl(&d, &["bogus"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("usage: keepalived-rs ctl"), "{err}");
}

/// Scrape `url` from inside `ns` with Python, check the body with the
/// Prometheus client library's parser of the exposition format, and
/// return (status, content type, body, "family sample labels value" lines).
fn scrape(ns: &NetNs, url: &str) -> (u16, String, String, Vec<String>) {
    const PY: &str = r#"
import sys, urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    status, ctype, body = r.status, r.headers.get("Content-Type"), r.read().decode()
except urllib.error.HTTPError as e:
    status, ctype, body = e.code, e.headers.get("Content-Type"), e.read().decode()
print(status)
print(ctype)
if status == 200:
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            print(f"SAMPLE {fam.type} {s.name} {{{labels}}} {s.value:g}")
print("BODY")
print(body, end="")
"#;
    let out = ns
        .command("/usr/bin/python3")
        .args(["-c", PY, url])
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "scrape failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    let status = lines.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let ctype = lines.next().unwrap_or("").to_string();
    let mut samples = Vec::new();
    for l in lines.by_ref() {
        if l == "BODY" {
            break;
        }
        samples.push(l.trim_start_matches("SAMPLE ").to_string());
    }
    let body = text.split_once("\nBODY\n").map_or("", |x| x.1).to_string();
    (status, ctype, body, samples)
}

/// Prometheus metrics from `metrics_listen` in global_defs: served by the
/// metrics worker (nobody, no capabilities), checked with the Prometheus
/// client library's parser, with the community exporter's names and
/// labels; worker restarts counted; other paths 404.
#[test]
fn metrics_endpoint() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new("ops-metrics", &["eth0"]).expect("netns");
    // A real server on the namespace's loopback, checked every second:
    // its probes' latency and counts in the scrape and in `ctl status`.
    let conf = CONF.replace(
        "router_id e2e_test",
        "router_id e2e_test\n    metrics_listen 127.0.0.1:9650",
    ) + LOOPBACK_VS;
    let _listener = listener(&ns, 9652);
    let d = Daemon::start(&ns, "ops-metrics", &conf, &[]);
    let s = d.wait_ready(4);
    let (mpid, _, _) = tests::daemon::worker(&s, "metrics").expect("metrics worker");
    let st = std::fs::read_to_string(format!("/proc/{mpid}/status")).expect("status");
    assert!(
        st.lines()
            .any(|l| l.starts_with("Uid:") && l.contains("65534")),
        "{st}"
    );
    assert!(st.lines().any(|l| l == "CapEff:\t0000000000000000"), "{st}");

    // The instance's state as the parent holds it (FAULT or BACKUP here:
    // the namespace has no peer), once the VRRP worker has reported it.
    let s = d.wait_for("VI_1 reported", Duration::from_secs(5), |s| {
        s["vrrp_instances"][0]["state"] != "INIT"
    });
    let state = s["vrrp_instances"][0]["state"]
        .as_str()
        .expect("state")
        .to_string();
    let number = ["INIT", "BACKUP", "MASTER", "FAULT"]
        .iter()
        .position(|n| *n == state)
        .expect("known state");
    let url = "http://127.0.0.1:9650/metrics";
    let (status, ctype, body, samples) = scrape(&ns, url);
    assert_eq!(status, 200, "{body}");
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    let has = |want: &str| samples.iter().any(|s| s == want);
    let vrrp_state = format!(
        "gauge keepalived_vrrp_state {{iname=VI_1,intf=eth0,ip_address=10.250.0.100/24,vrid=51}} {number}"
    );
    for want in [
        "gauge keepalived_up {} 1",
        vrrp_state.as_str(),
        "gauge keepalived_lvs_rs_up {protocol=TCP,real_server=10.250.0.1:80,virtual_server=10.250.0.10:80} 1",
        "gauge keepalived_lvs_rs_weight {protocol=TCP,real_server=10.250.0.1:80,virtual_server=10.250.0.10:80} 1",
        "counter keepalived_rs_worker_restarts_total {role=vrrp} 0",
        "gauge keepalived_rs_worker_up {role=metrics} 1",
        "gauge keepalived_rs_config_generation {} 1",
        "gauge keepalived_rs_vrrp_effective_priority {iname=VI_1,intf=eth0,vrid=51} 100",
    ] {
        assert!(has(want), "no '{want}' in:\n{}", samples.join("\n"));
    }
    // keepalived-exporter's VRRP counters, with its labels.
    for name in [
        "keepalived_advertisements_received_total",
        "keepalived_advertisements_sent_total",
        "keepalived_become_master_total",
        "keepalived_release_master_total",
        "keepalived_ip_ttl_errors_total",
        "keepalived_priority_zero_sent_total",
    ] {
        let prefix = format!("counter {name} {{iname=VI_1,intf=eth0,state={state},vrid=51}} ");
        assert!(
            samples.iter().any(|s| s.starts_with(&prefix)),
            "no {prefix} in:\n{}",
            samples.join("\n")
        );
    }

    // The loopback checker's figures: the check worker sums them up every
    // 5 s; wait for a summary with two probes or more.
    let labels = "{checker=TCP_CHECK,protocol=TCP,real_server=127.0.0.1:9652,\
                  target=[127.0.0.1]:tcp:9652,virtual_server=127.0.0.1:9651}";
    let t0 = Instant::now();
    let samples = loop {
        let (_, _, _, samples) = scrape(&ns, url);
        let checks = format!("counter keepalived_lvs_rs_checks_total {labels} ");
        let n = samples
            .iter()
            .find_map(|s| s.strip_prefix(&checks))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if n >= 2.0 {
            break samples;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no probe figures within 20 s:\n{}",
            samples.join("\n")
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let latency = format!("gauge keepalived_lvs_rs_check_latency_seconds {labels} ");
    let secs: f64 = samples
        .iter()
        .find_map(|s| s.strip_prefix(&latency))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {latency} in:\n{}", samples.join("\n")));
    // A loopback connect: more than nothing, far less than the 1 s timeout.
    assert!(secs > 0.0 && secs < 0.5, "latency {secs} s");
    let failures = format!("counter keepalived_lvs_rs_check_failures_total {labels} 0");
    assert!(
        samples.contains(&failures),
        "no '{failures}' in:\n{}",
        samples.join("\n")
    );
    // The same in `ctl status`'s checker detail.
    let st = d.wait_for("probe figures in status", Duration::from_secs(5), |s| {
        s["virtual_servers"][1]["real_servers"][0]["checkers"][0]["probes"]
            .as_u64()
            .is_some_and(|n| n >= 2)
    });
    let chk = &st["virtual_servers"][1]["real_servers"][0]["checkers"][0];
    assert_eq!(chk["last_probe_ok"], true, "{chk}");
    let last = chk["last_probe_s"].as_f64().expect("last_probe_s");
    assert!(last > 0.0 && last < 0.5, "{chk}");
    eprintln!(
        "loopback TCP_CHECK: last probe {:.0} us (scrape), {:.0} us (status)",
        secs * 1e6,
        last * 1e6
    );

    // A restarted worker shows in the count.
    let (vpid, _, _) = tests::daemon::worker(&s, "vrrp").expect("vrrp worker");
    d.signal("HUP");
    tests::daemon::signal_pid(vpid, "KILL");
    d.wait_for("vrrp restarted", Duration::from_secs(5), |s| {
        tests::daemon::worker(s, "vrrp").is_some_and(|(p, r, ready)| p != vpid && r == 1 && ready)
    });
    let (_, _, _, samples) = scrape(&ns, url);
    for want in [
        "counter keepalived_rs_worker_restarts_total {role=vrrp} 1",
        "gauge keepalived_rs_config_generation {} 2",
    ] {
        assert!(
            samples.iter().any(|s| s == want),
            "no '{want}' in:\n{}",
            samples.join("\n")
        );
    }

    let (status, _, _, _) = scrape(&ns, "http://127.0.0.1:9650/");
    assert_eq!(status, 404);
    let log = d.log();
    assert!(!log.contains("SIGSYS"), "{log}");
    assert!(
        log.contains("metrics worker serving http://127.0.0.1:9650/metrics"),
        "{log}"
    );
}
