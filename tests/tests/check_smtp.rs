//! SMTP_CHECK end to end against a real SMTP server: Debian's aiosmtpd
//! (python3-aiosmtpd, run by /usr/bin/python3) on the loopback of a test
//! namespace, the real `keepalived-rs -C` checking it with `helo_name`.
//! Stopped: the real server goes down; started again: up.
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use std::process::Stdio;
use std::time::{Duration, Instant};
use tests::servers::{PYTHON, Proc, wait_tcp};
use tests::{NetNs, Requirement, require};

const PORT: u16 = 7601;

fn aiosmtpd(ns: &NetNs) -> Proc {
    let listen = format!("127.0.0.1:{PORT}");
    let child = ns
        .command(PYTHON)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            &listen,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd (apt-get install python3-aiosmtpd)");
    let p = Proc(child);
    wait_tcp(ns, PORT);
    p
}

fn up(s: &serde_json::Value) -> Option<bool> {
    s["virtual_servers"].as_array()?.iter().find_map(|vs| {
        vs["real_servers"].as_array()?.iter().find_map(|r| {
            (r["address"] == "127.0.0.1" && r["port"] == PORT)
                .then(|| r["up"].as_bool().unwrap_or(false))
        })
    })
}

#[test]
fn smtp_check_against_aiosmtpd_down_and_up() {
    if !require(
        "SMTP_CHECK against aiosmtpd (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("chk-smtp", &[]).expect("netns");
    let server = aiosmtpd(&ns);
    let conf = format!(
        "virtual_server 10.250.0.30 25 {{\n delay_loop 1\n lb_kind NAT\n protocol TCP\n\
         real_server 127.0.0.1 {PORT} {{\n SMTP_CHECK {{\n helo_name checker.example.test\n \
         connect_timeout 1\n retry 0\n warmup 0\n }}\n }}\n}}\n"
    );
    let d = tests::Daemon::start(&ns, "chk-smtp", &conf, &["-C"]);
    d.wait_ready(2);
    // Checks pass: still up after two rounds.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(up(&d.status().expect("status")), Some(true), "{}", d.log());
    let t = Instant::now();
    drop(server);
    d.wait_for("down", Duration::from_secs(6), |s| up(s) == Some(false));
    let down = t.elapsed();
    let t = Instant::now();
    let _server = aiosmtpd(&ns);
    d.wait_for("up", Duration::from_secs(6), |s| up(s) == Some(true));
    let back = t.elapsed();
    eprintln!("SMTP_CHECK: down {down:?} after the stop, up {back:?} after the start");
    assert!(down < Duration::from_millis(2600), "{down:?}");
    assert!(back < Duration::from_millis(2600), "{back:?}");
    let log = d.log();
    assert!(
        log.contains("SMTP_CHECK on service [127.0.0.1]:tcp:7601 failed"),
        "{log}"
    );
    assert!(!log.contains("SIGSYS"), "{log}");
}
