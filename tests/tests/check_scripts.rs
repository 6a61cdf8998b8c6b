//! Scripts end to end, as keepalived defines them and as the parent's
//! script runner runs them: the real `keepalived-rs` (VRRP, check and
//! IPVS workers) in a test namespace, every script writing the uid it runs
//! as into a file the test reads.
//!
//! - A MISC_CHECK with `user daemon` runs as daemon; a `vrrp_script` and a
//!   `notify_master` with no user run as `keepalived_script` when that user
//!   exists, else `nobody`, never as root.
//! - A MISC_CHECK script that hangs is killed at `misc_timeout` with its
//!   whole process group (its background child too), and its real server
//!   goes down: its `notify_down` runs (its `notify_up` and the
//!   `notify_down` of a real server that stays up do not).
//! - With `enable_script_security`, a world-writable script run as root is
//!   refused with keepalived's log text and never runs; its real server
//!   keeps its other state (keepalived removes the checker).
//! - Without it, the same script runs as root (configured explicitly) and
//!   both of keepalived's SECURITY VIOLATION lines are logged.
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tests::{NetNs, Requirement, require};

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The uid a script wrote into `out/NAME.uid`, once it has.
fn wait_uid(out: &Path, name: &str, limit: Duration, d: &tests::Daemon) -> u32 {
    let p = out.join(format!("{name}.uid"));
    let t0 = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(&p)
            && let Ok(uid) = s.trim().parse()
        {
            return uid;
        }
        assert!(
            t0.elapsed() < limit,
            "{name} never ran (no {})\n{}",
            p.display(),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn uid_of(user: &str) -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&user)).then(|| f.get(2)?.parse().ok())?
    })
}

/// `(up, weight)` of real server 127.0.0.1:`port`.
fn rs(s: &serde_json::Value, port: u16) -> Option<bool> {
    s["virtual_servers"].as_array()?.iter().find_map(|vs| {
        vs["real_servers"].as_array()?.iter().find_map(|r| {
            (r["address"] == "127.0.0.1" && r["port"] == port)
                .then(|| r["up"].as_bool().unwrap_or(false))
        })
    })
}

fn alive(pid: u32) -> bool {
    tests::daemon::alive(pid)
}

fn conf(dir: &Path, security: bool) -> String {
    let d = dir.display();
    format!(
        r#"
global_defs {{
    router_id check_scripts
    {sec}
}}
vrrp_script chk {{
    script "{d}/vrrp.sh"
    interval 1
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 100
    advert_int 1
    track_script {{
        chk
    }}
    notify_master "{d}/notify.sh"
    virtual_ipaddress {{
        10.250.9.1/24
    }}
}}
virtual_server 10.250.0.10 80 {{
    delay_loop 1
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 7401 {{
        notify_down "{d}/rsup.sh"
        MISC_CHECK {{
            misc_path "{d}/misc.sh"
            user daemon
            misc_timeout 2
            warmup 0
        }}
    }}
    real_server 127.0.0.1 7402 {{
        notify_down "{d}/rsdown.sh"
        notify_up "{d}/rsup.sh"
        MISC_CHECK {{
            misc_path "{d}/hang.sh"
            misc_timeout 1
            warmup 0
        }}
    }}
    real_server 127.0.0.1 7403 {{
        MISC_CHECK {{
            misc_path "{d}/insecure.sh"
            user root
            misc_timeout 2
            warmup 0
        }}
    }}
}}
"#,
        sec = if security {
            "enable_script_security"
        } else {
            ""
        }
    )
}

#[test]
fn scripts_run_as_their_users_time_out_and_respect_script_security() {
    if !require(
        "scripts end to end (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let daemon_uid = uid_of("daemon").expect("a 'daemon' user (Debian has uid 1)");
    // keepalived-rs's default script user: keepalived_script, else nobody.
    let default_uid = uid_of("keepalived_script")
        .or_else(|| uid_of("nobody"))
        .expect("nobody");
    assert_ne!(default_uid, 0);

    // The scripts' folder must be root's and not writable by others (the
    // security checks walk the whole path); their output folder is
    // writable by all (sticky, as /tmp).
    let dir = PathBuf::from(format!("/run/krs-check-scripts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let o = out.display();
    let record = |name: &str| {
        format!("#!/bin/sh\nid -u > {o}/{name}.uid.tmp && mv {o}/{name}.uid.tmp {o}/{name}.uid\n")
    };
    write(
        &dir.join("misc.sh"),
        &format!("{}exit 0\n", record("misc")),
        0o755,
    );
    write(
        &dir.join("vrrp.sh"),
        &format!("{}exit 0\n", record("vrrp")),
        0o755,
    );
    write(
        &dir.join("notify.sh"),
        &format!("{}exit 0\n", record("notify")),
        0o755,
    );
    // notify_down of the real server that goes down; rsup.sh is its
    // notify_up and the notify_down of one that stays up: never run.
    write(
        &dir.join("rsdown.sh"),
        &format!("{}exit 0\n", record("rsdown")),
        0o755,
    );
    write(
        &dir.join("rsup.sh"),
        &format!("{}exit 0\n", record("rsup")),
        0o755,
    );
    // Hangs with a child in its process group: both must die at the
    // timeout.
    write(
        &dir.join("hang.sh"),
        &format!("#!/bin/sh\nsleep 300 &\necho $! > {o}/hang.pid\nwait\n"),
        0o755,
    );
    // World-writable and run as root: insecure.
    write(
        &dir.join("insecure.sh"),
        &format!("{}exit 0\n", record("insecure")),
        0o757,
    );

    // ---- with enable_script_security
    let ns = NetNs::new("chk-scr", &["eth0"]).expect("netns");
    ns.add_address("eth0", "10.250.9.2/24");
    let d = tests::Daemon::start(&ns, "chk-scripts-sec", &conf(&dir, true), &[]);
    d.wait_ready(3);
    // The hanging script (first run 1 s after start): killed at
    // misc_timeout (1 s) with its child; the real server goes down.
    let limit = Duration::from_secs(8);
    let t0 = Instant::now();
    let pidfile = out.join("hang.pid");
    let (child, started) = loop {
        if let Ok(s) = std::fs::read_to_string(&pidfile)
            && let Ok(p) = s.trim().parse::<u32>()
        {
            let mtime = std::fs::metadata(&pidfile)
                .and_then(|m| m.modified())
                .expect("mtime");
            break (p, mtime);
        }
        assert!(t0.elapsed() < limit, "hang.sh never ran\n{}", d.log());
        std::thread::sleep(Duration::from_millis(5));
    };
    d.wait_for("7402 down", limit, |s| rs(s, 7402) == Some(false));
    let down = started.elapsed().expect("clock");
    // Its background sleep died with it (same process group).
    let t1 = Instant::now();
    while alive(child) && t1.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(child),
        "the hanging script's child {child} survived the timeout"
    );
    eprintln!("hanging MISC_CHECK: down {down:?} after it started (misc_timeout 1 s)");
    assert!(
        down >= Duration::from_millis(900) && down < Duration::from_millis(3000),
        "{down:?}"
    );
    assert!(
        d.log()
            .contains("Misc check to [127.0.0.1] failed (timed out)."),
        "{}",
        d.log()
    );

    assert_eq!(
        wait_uid(&out, "misc", limit, &d),
        daemon_uid,
        "MISC_CHECK user daemon"
    );
    assert_eq!(
        wait_uid(&out, "vrrp", limit, &d),
        default_uid,
        "vrrp_script, no user"
    );
    assert_eq!(
        wait_uid(&out, "notify", limit, &d),
        default_uid,
        "notify_master, no user"
    );

    // notify_down ran once the real server went down (as the default
    // user); nothing ran for a real server whose state did not change.
    assert_eq!(
        wait_uid(&out, "rsdown", limit, &d),
        default_uid,
        "notify_down"
    );

    // The insecure script: refused with keepalived's words, never run; the
    // real server keeps its state (up) as without that checker.
    std::thread::sleep(Duration::from_millis(2500));
    let log = d.log();
    let insecure = dir.join("insecure.sh");
    for want in [
        format!(
            "Unsafe permissions found for script '{}' - disabling.",
            insecure.display()
        ),
        format!(
            "Disabling misc script '{}' due to insecure",
            insecure.display()
        ),
    ] {
        assert!(log.contains(&want), "missing {want:?} in\n{log}");
    }
    assert!(!log.contains("SECURITY VIOLATION"), "{log}");
    assert!(
        !out.join("insecure.uid").exists(),
        "the insecure script ran\n{log}"
    );
    assert!(
        !out.join("rsup.uid").exists(),
        "a notify script ran without a change of state\n{log}"
    );
    let s = d.status().expect("status");
    assert_eq!(rs(&s, 7403), Some(true), "{s}");
    assert_eq!(rs(&s, 7401), Some(true), "{s}");
    // No script ever ran as root.
    for name in ["misc", "vrrp", "notify"] {
        assert_ne!(wait_uid(&out, name, limit, &d), 0);
    }
    drop(d);

    // ---- without enable_script_security: keepalived runs it (as root,
    // since configured so) and says SECURITY VIOLATION for each side.
    for f in ["misc", "vrrp", "notify"] {
        let _ = std::fs::remove_file(out.join(format!("{f}.uid")));
    }
    let d = tests::Daemon::start(&ns, "chk-scripts-nosec", &conf(&dir, false), &[]);
    d.wait_ready(3);
    assert_eq!(
        wait_uid(&out, "insecure", limit, &d),
        0,
        "user root, honoured"
    );
    assert_eq!(wait_uid(&out, "misc", limit, &d), daemon_uid);
    assert_eq!(wait_uid(&out, "vrrp", limit, &d), default_uid);
    let log = d.log();
    for want in [
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled. There are insecure scripts.".to_string(),
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.".to_string(),
        format!("Unsafe permissions found for script '{}'.", insecure.display()),
    ] {
        assert!(log.contains(&want), "missing {want:?} in\n{log}");
    }
    assert!(
        !log.contains(
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There"
        ),
        "the VRRP side's scripts run as {default_uid}, not root: not insecure\n{log}"
    );
    drop(d);
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
