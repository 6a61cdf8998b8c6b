//! The IPVS worker against the kernel and against keepalived.
//!
//! The hosts (development and CI) run kernels without IP_VS, so the table
//! comparison runs in a QEMU guest booted with Debian's stock kernel
//! (tests/vm/ipvs-vm.sh, once for all scenarios): for each configuration of
//! tests/vm/scenarios, the `ipvsadm -Ln` listings (plain, --persistent-conn,
//! --sort, --thresholds, --tun-info) and `ipvsadm -L --timeout` after
//! keepalived-rs -C starts must equal those after Debian's keepalived -C
//! starts, and so must the table each leaves when stopped (each starts with
//! a foreign service in the table, which only lvs_flush/lvs_flush_on_stop
//! remove). With the first configuration the IPVS worker is also
//! killed with SIGKILL (the table must stay intact, and the restarted
//! worker must not disturb it) and the table is tampered with by hand (a
//! real server deleted, a weight changed, a foreign real server added):
//! the periodic reconcile must put it back, count the repairs, and leave a
//! foreign service alone. Last, ipvs-worker's example `ipvs-drive` plays
//! the parent to an IPVS worker in the guest: health changes (quorum lost
//! and regained with the sorry server, inhibit_on_failure, weights), a
//! reload, a repair and the shutdown must each leave the expected table.
//! Then tests/vm/dynamic (see its dynamic.sh): ip_vs loaded on demand by
//! the kernel when the IPVS worker resolves the family; health changes
//! from real checks, quorum scripts and -I compared with keepalived; the
//! check worker's SIGKILL, the IPVS worker's restart without a second
//! lvs_flush, the chaos loop (50 random SIGKILL/SIGSTOP of the IPVS and
//! check workers, the table sampled throughout); lvs_sync_daemon following
//! a VRRP instance, compared with keepalived.
//!
//! On the host, without IP_VS, the worker must say once that IPVS is
//! unavailable, report it in the status, and keep running.
//!
//! Root is required (apt-get, QEMU, network namespaces); in CI (CI=true) a
//! test that cannot run fails.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::binaries::{keepalived_rs_binary, workspace_root};
use tests::netns::NetNs;

fn require_root(what: &str) -> bool {
    tests::require(what, &[tests::Requirement::Root])
}

/// The guest's console split into blocks: "=== SCENARIO WHO VIEW" -> text.
fn blocks(console: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut cur: Option<(String, String)> = None;
    for line in console.lines() {
        let line = line.trim_end();
        let end = line.starts_with("GUEST-END") || line.starts_with("GUEST: ");
        if let Some(h) = line.strip_prefix("=== ") {
            if let Some((k, v)) = cur.take() {
                out.insert(k, v);
            }
            cur = Some((h.to_string(), String::new()));
        } else if end {
            if let Some((k, v)) = cur.take() {
                out.insert(k, v);
            }
        } else if let Some((_, v)) = cur.as_mut() {
            // Kernel messages may interleave with the guest's output.
            if !line.starts_with('[') {
                v.push_str(line);
                v.push('\n');
            }
        }
    }
    if let Some((k, v)) = cur {
        out.insert(k, v);
    }
    out
}

fn scenarios() -> Vec<String> {
    let dir = workspace_root().join("tests/vm/scenarios");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "conf").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    v.sort();
    v
}

const VIEWS: [&str; 7] = [
    "ln",
    "persistent",
    "sort",
    "thresholds",
    "tun",
    "timeout",
    "stopped",
];

#[test]
fn ipvs_tables_match_keepalived_in_a_vm() {
    if !require_root("the IPVS VM test") {
        return;
    }
    let script = workspace_root().join("tests/vm/ipvs-scenarios.sh");
    let t0 = Instant::now();
    let out = Command::new(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    let console = String::from_utf8_lossy(&out.stdout).into_owned();
    let elapsed = t0.elapsed();
    let summary = console
        .lines()
        .filter(|l| l.starts_with("IPVS-VM:") || l.starts_with("GUEST: "))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{summary}\n(ipvs-scenarios.sh took {elapsed:.1?})");
    assert!(
        out.status.success(),
        "ipvs-scenarios.sh failed ({}); console:\n{console}",
        out.status
    );
    let b = blocks(&console);
    let get = |k: &str| -> &str {
        b.get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no block '{k}' in the console:\n{console}"))
    };
    let mut failures = Vec::new();
    let scen = scenarios();
    assert!(scen.len() >= 5, "scenarios: {scen:?}");
    for s in &scen {
        let ka_ln = get(&format!("{s} ka ln"));
        let pre = get(&format!("{s} pre"));
        assert!(
            ka_ln != pre && ka_ln.lines().count() > pre.lines().count(),
            "{s}: keepalived programmed nothing:\n{ka_ln}\nlog:\n{}",
            get(&format!("{s} ka log"))
        );
        for v in VIEWS {
            let ka = get(&format!("{s} ka {v}"));
            let rs = get(&format!("{s} rs {v}"));
            if ka != rs {
                failures.push(format!(
                    "{s} {v}: keepalived:\n{ka}keepalived-rs:\n{rs}keepalived-rs log:\n{}",
                    get(&format!("{s} rs log"))
                ));
            }
        }
        let log = get(&format!("{s} rs log"));
        assert!(
            log.contains("IPVS: IP Virtual Server version"),
            "{s}: the IPVS worker did not reach IPVS:\n{log}"
        );
        assert!(
            !log.contains("SIGSYS"),
            "{s}: a worker was killed by its sandbox:\n{log}"
        );
    }
    let first = &scen[0];
    let want = get(&format!("{first} rs ln"));
    for v in ["killed", "restarted", "repaired"] {
        let got = get(&format!("{first} rs {v}"));
        if got != want {
            failures.push(format!(
                "{first} after '{v}': expected the table as started:\n{want}got:\n{got}log:\n{}",
                get(&format!("{first} rs log"))
            ));
        }
    }
    assert_ne!(
        get(&format!("{first} rs tampered")),
        want,
        "the tampering changed nothing"
    );
    let foreign = get(&format!("{first} rs foreign"));
    assert!(
        foreign.contains("10.9.9.9:80"),
        "a foreign service was removed:\n{foreign}"
    );
    let status: serde_json::Value = serde_json::from_str(get(&format!("{first} rs status")).trim())
        .unwrap_or_else(|e| panic!("status JSON: {e}"));
    assert_eq!(status["ipvs"]["available"], true, "{status}");
    let repaired = status["ipvs"]["repaired"].as_u64().unwrap_or(0);
    assert!(
        repaired >= 3,
        "a deleted real server, a changed weight and a foreign real server make at least 3 repairs, counted {repaired}: {status}"
    );
    let ipvs = status["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["role"] == "ipvs").cloned())
        .expect("ipvs worker in status");
    assert!(
        ipvs["restarts"].as_u64().unwrap_or(0) >= 1,
        "the IPVS worker was killed once: {ipvs}"
    );
    dynamic_checks(&b, &console, &mut failures);
    let drive = get("drive");
    if !drive.contains("ipvs-drive: 0 failure(s)") || drive.contains("FAIL") {
        failures.push(format!(
            "ipvs-drive (health, quorum, reload, repair, shutdown):\n{drive}"
        ));
    }
    assert!(
        drive.lines().filter(|l| l.starts_with("PASS")).count() >= 10,
        "ipvs-drive ran too few steps:\n{drive}"
    );
    assert!(
        failures.is_empty(),
        "{} difference(s):\n{}",
        failures.len(),
        failures.join("\n----\n")
    );
}

/// `key=value` words of a line.
fn fields(line: &str) -> BTreeMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect()
}

/// The blocks of tests/vm/dynamic/dynamic.sh and the autoload block of the
/// guest script.
fn dynamic_checks(b: &BTreeMap<String, String>, console: &str, failures: &mut Vec<String>) {
    let get = |k: &str| -> &str {
        b.get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no block '{k}' in the console:\n{console}"))
    };
    // ip_vs loaded on demand when the IPVS worker resolved the family.
    let before = get("autoload before");
    assert!(
        !before.contains("ip_vs"),
        "ip_vs was loaded before keepalived-rs started:\n{before}"
    );
    let after = get("autoload after");
    let table = get("autoload table");
    if !(after.lines().any(|l| l == "ip_vs")
        && after.lines().any(|l| l == "ip_vs_wrr")
        && table.contains("10.0.0.2:80 wrr"))
    {
        failures.push(format!(
            "autoload: modules after keepalived-rs started:\n{after}table:\n{table}log:\n{}",
            get("autoload log")
        ));
    }
    // Health changes, quorum scripts, -I: keepalived and keepalived-rs alike.
    for v in ["up", "down", "up2", "quorum", "stopped"] {
        let ka = get(&format!("health ka {v}"));
        let rs = get(&format!("health rs {v}"));
        if ka != rs {
            failures.push(format!(
                "health {v}: keepalived:\n{ka}keepalived-rs:\n{rs}keepalived-rs log:\n{}\nkeepalived log:\n{}",
                get("health rs log"),
                get("health ka log")
            ));
        }
    }
    // The checkers close their connections as keepalived's do: an orderly
    // close from the checker's side (TIME_WAIT there), no resets.
    let (ka, rs) = (get("health ka wire"), get("health rs wire"));
    let closes = |s: &str| {
        let f = fields(s);
        let n = |k| f.get(k).and_then(|v| v.parse::<u64>().ok());
        (n("client_time_wait").map(|n| n > 0), n("abort_on_data"))
    };
    eprintln!("checker closes: keepalived {ka:?}, keepalived-rs {rs:?}");
    let (k, r) = (closes(ka), closes(rs));
    if k != r || k.0.is_none() || k.1.is_none() {
        failures.push(format!(
            "checker connection close: keepalived:\n{ka}keepalived-rs:\n{rs}"
        ));
    }
    let (up, down) = (get("health ka up"), get("health ka down"));
    assert_ne!(up, down, "the listener going down changed nothing");
    assert!(
        up.contains("192.168.2.1:80") && get("health ka stopped").contains("10.1.0.1:80"),
        "health: up:\n{up}stopped (-I):\n{}",
        get("health ka stopped")
    );
    assert!(
        !get("health ka quorum").trim().is_empty(),
        "keepalived ran no quorum script"
    );
    // The check worker killed while a real server is down.
    let ck = get("health rs check-kill");
    let f = fields(ck.lines().next().unwrap_or(""));
    if f.get("differing") != Some(&"0") || f.get("new") == Some(&"none") || f.is_empty() {
        failures.push(format!("check worker SIGKILL: the table changed:\n{ck}"));
    }
    // The restarted IPVS worker did not flush again.
    let resumed = get("health rs resumed");
    let without: String = resumed
        .lines()
        .filter(|l| !l.contains("10.9.9.8:80"))
        .map(|l| format!("{l}\n"))
        .collect();
    if !resumed.contains("10.9.9.8:80") || without != get("health rs up2") {
        failures.push(format!(
            "IPVS worker restart: expected the table of 'up2' plus 10.9.9.8:80, got:\n{resumed}"
        ));
    }
    // Chaos.
    let chaos = get("health rs chaos");
    let f = fields(chaos.lines().next().unwrap_or(""));
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
    let rounds = num("rounds").unwrap_or(0);
    eprintln!("chaos: {}", chaos.lines().next().unwrap_or(""));
    if rounds < 50 || num("differing") != Some(0) || num("lost") != Some(0) {
        failures.push(format!(
            "chaos: the table diverged or a worker was lost:\n{chaos}"
        ));
    }
    let status: serde_json::Value = serde_json::from_str(get("health rs chaos-status").trim())
        .unwrap_or_else(|e| panic!("chaos status JSON: {e}"));
    let restarts: u64 = status["workers"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter(|w| w["role"] == "ipvs" || w["role"] == "check")
                .map(|w| w["restarts"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    eprintln!("chaos: ipvs+check restarts {restarts}");
    if restarts < rounds {
        failures.push(format!(
            "chaos: {rounds} workers killed or stopped, {restarts} restarts counted: {status}"
        ));
    }
    // lvs_sync_daemon follows the VRRP instance.
    for v in ["master", "fault", "stopped"] {
        let ka = get(&format!("syncd ka {v}"));
        let rs = get(&format!("syncd rs {v}"));
        if ka != rs {
            failures.push(format!(
                "syncd {v}: keepalived:\n{ka}keepalived-rs:\n{rs}keepalived-rs log:\n{}\nkeepalived log:\n{}",
                get("syncd rs log"),
                get("syncd ka log")
            ));
        }
    }
    assert!(
        get("syncd ka master").contains("master sync daemon"),
        "keepalived started no master sync daemon:\n{}",
        get("syncd ka log")
    );
    if get("syncd rs master-after-kill") != get("syncd rs master") {
        failures.push(format!(
            "syncd: the IPVS worker's restart changed the sync daemons:\n{}",
            get("syncd rs master-after-kill")
        ));
    }
}

fn ctl_status(sock: &std::path::Path) -> Option<serde_json::Value> {
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"status\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    serde_json::from_str(&out).ok()
}

#[test]
fn without_ip_vs_the_worker_says_so_once_and_keeps_running() {
    if !require_root("the no-IPVS test") {
        return;
    }
    let ns = NetNs::new("ipvs-none", &[]).expect("netns");
    let has_ipvs = ns
        .command("sh")
        .args(["-c", "test -e /proc/net/ip_vs"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if has_ipvs {
        // This host's kernel has IPVS: the VM test covers the worker.
        eprintln!("this kernel has IPVS; the unavailable path is not reachable here");
        return;
    }
    let dir = std::env::temp_dir().join(format!("krs-ipvs-none-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 10.251.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n real_server 10.251.0.2 80 {\n }\n}\n",
    )
    .expect("conf");
    let sock = dir.join("ctl.sock");
    let log_path = dir.join("daemon.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut child = ns
        .command(keepalived_rs_binary())
        .args(["-n", "-l", "-G", "-C", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("-c")
        .arg(dir.join("c.pid"))
        .arg("--control-socket")
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start keepalived-rs");
    // One retry happens after 10 s: wait past it.
    let t0 = Instant::now();
    let mut last = None;
    while t0.elapsed() < Duration::from_secs(12) {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(s) = ctl_status(&sock) {
            last = Some(s);
        }
    }
    let status = last.expect("control socket answered");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let said = text.matches("IPVS: Can't initialize ipvs").count();
    assert_eq!(said, 1, "said {said} times:\n{text}");
    assert_eq!(status["ipvs"]["available"], false, "{status}");
    assert!(
        status["ipvs"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("IPVS")),
        "{status}"
    );
    let ipvs = status["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["role"] == "ipvs").cloned())
        .expect("ipvs worker");
    assert_eq!(
        ipvs["restarts"], 0,
        "the worker kept running: {ipvs}\n{text}"
    );
    assert_eq!(ipvs["ready"], true, "{ipvs}");
}
