//! The health checkers end to end: the real `keepalived-rs -C` in a
//! network namespace the test creates, its check worker sandboxed (nobody,
//! no capabilities, seccomp, Landlock), real servers on the namespace's
//! loopback. Each server is stopped and started again and `ctl status`
//! must show its real server go down and come back, with the weight
//! MISC_CHECK's misc_dynamic sets. The IPVS worker finds no IPVS on most
//! test kernels and just says so; the health is the parent's.
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::servers::{listener, spawn, wait_tcp};
use tests::{NetNs, Requirement, require};

/// `keepalived-rs -C` (check and IPVS workers) in the test's namespace.
/// The daemon stops before the namespace goes (fields drop in order).
struct Daemon {
    d: tests::Daemon,
    ns: NetNs,
}

impl std::ops::Deref for Daemon {
    type Target = tests::Daemon;
    fn deref(&self) -> &tests::Daemon {
        &self.d
    }
}

impl Daemon {
    /// Start on `conf`; `dir` holds the test's own files (servers').
    fn start(ns: NetNs, dir: PathBuf, conf: &str) -> Daemon {
        let tag = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("check")
            .to_string();
        let d = tests::Daemon::start(&ns, &format!("{tag}-daemon"), conf, &["-C"]);
        d.wait_ready(2);
        Daemon { d, ns }
    }

    /// (up, weight) of real server `addr`:`port`.
    fn rs(s: &serde_json::Value, addr: &str, port: u16) -> Option<(bool, u64)> {
        s["virtual_servers"].as_array()?.iter().find_map(|vs| {
            vs["real_servers"].as_array()?.iter().find_map(|r| {
                (r["address"] == addr && r["port"] == port).then(|| {
                    (
                        r["up"].as_bool().unwrap_or(false),
                        r["weight"].as_u64().unwrap_or(0),
                    )
                })
            })
        })
    }

    /// Wait until real server `addr`:`port` is `up` (with `weight` if
    /// given); how long it took from `since`.
    fn wait_rs(
        &self,
        addr: &str,
        port: u16,
        up: bool,
        weight: Option<u64>,
        since: Instant,
        limit: Duration,
    ) -> Duration {
        self.wait_for(
            &format!("{addr}:{port} up={up} weight={weight:?}"),
            limit,
            |s| {
                Self::rs(s, addr, port)
                    .is_some_and(|(u, w)| u == up && weight.is_none_or(|x| x == w))
            },
        );
        since.elapsed()
    }

    fn check_worker(&self) -> (u64, u64) {
        let s = self.status().expect("status");
        let w = s["workers"]
            .as_array()
            .and_then(|ws| ws.iter().find(|w| w["role"] == "check").cloned())
            .expect("a check worker");
        (
            w["pid"].as_u64().unwrap_or(0),
            w["restarts"].as_u64().unwrap_or(u64::MAX),
        )
    }
}

fn sh(ns: &NetNs, cmd: &str) {
    let ok = Command::new("ip")
        .args(["netns", "exec", ns.name(), "sh", "-c", cmd])
        .status()
        .expect("run")
        .success();
    assert!(ok, "{cmd}");
}

fn md5_of(data: &[u8], dir: &Path) -> String {
    let f = dir.join("md5-input");
    std::fs::write(&f, data).expect("write");
    let out = Command::new("md5sum").arg(&f).output().expect("md5sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

const TCP_PORT: u16 = 7001;
const HTTP_PORT: u16 = 7002;
const SSL_PORT: u16 = 7003;
const MISC_PORT: u16 = 7004;
const UDP_PORT: u16 = 7005;
const DNS_PORT: u16 = 7006;

fn conf(dir: &Path, digest: &str, tls_digest: &str) -> String {
    let script = dir.join("misc.sh");
    format!(
        r#"
global_defs {{
    router_id check_e2e
    enable_script_security
}}
virtual_server 10.250.0.10 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 {TCP_PORT} {{
        weight 2
        TCP_CHECK {{
            connect_timeout 1
            retry 0
            warmup 0
        }}
    }}
    real_server 127.0.0.1 {HTTP_PORT} {{
        weight 3
        HTTP_GET {{
            url {{
                path /hc.txt
                digest {digest}
            }}
            connect_timeout 1
            retry 0
            delay_before_retry 1
            warmup 0
        }}
    }}
    real_server 127.0.0.1 {SSL_PORT} {{
        weight 4
        SSL_GET {{
            url {{
                path /hc.txt
                digest {tls_digest}
            }}
            connect_timeout 2
            retry 0
            delay_before_retry 1
            warmup 0
        }}
    }}
    real_server 127.0.0.1 {UDP_PORT} {{
        weight 7
        UDP_CHECK {{
            payload 68 69
            require_reply 4f 4b
            connect_timeout 1
            retry 0
            warmup 0
        }}
    }}
    real_server 127.0.0.1 {DNS_PORT} {{
        weight 8
        DNS_CHECK {{
            type A
            name www.example.test
            connect_timeout 1
            retry 0
            warmup 0
        }}
    }}
    real_server 127.0.0.2 {MISC_PORT} {{
        weight 5
        MISC_CHECK {{
            misc_path "{script}"
            misc_timeout 3
            misc_dynamic
            warmup 0
        }}
    }}
}}
virtual_server 10.250.0.11 0 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 127.0.0.3 0 {{
        weight 6
        PING_CHECK {{
            connect_timeout 1
            retry 0
            warmup 0
        }}
    }}
}}
"#,
        script = script.display()
    )
}

#[test]
fn real_servers_go_down_and_up_through_the_sandboxed_worker() {
    if !require(
        "the check worker end to end (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("chk-e2e", &[]).expect("netns");
    // The worker (nobody) may open ICMP datagram sockets here.
    sh(&ns, "sysctl -qw net.ipv4.ping_group_range='0 2147483647'");
    // Not under /tmp: with enable_script_security the script's folders
    // must not be writable by others.
    let dir = PathBuf::from(format!("/run/krs-check-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Servers' files.
    std::fs::write(dir.join("hc.txt"), b"alive\n").expect("write");
    let digest = md5_of(b"alive\n", &dir);
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=e2e", "-days", "2",
            "-keyout", "key.pem", "-out", "cert.pem",
        ])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl")
        .success();
    assert!(ok, "openssl req");
    // MISC_CHECK: exits with the number in `code` (run by the parent as the
    // script user, so everything is world-readable).
    let code = dir.join("code");
    std::fs::write(&code, "0\n").expect("write");
    std::fs::set_permissions(&code, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let script = dir.join("misc.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexit $(cat {})\n", code.display()),
    )
    .expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let tcp = listener(&ns, TCP_PORT);
    let http_args = [
        "python3",
        "-m",
        "http.server",
        "7002",
        "--bind",
        "127.0.0.1",
    ];
    let http = spawn(&ns, &dir, &http_args);
    let ssl_args = [
        "openssl", "s_server", "-quiet", "-accept", "7003", "-cert", "cert.pem", "-key", "key.pem",
        "-WWW",
    ];
    let ssl = spawn(&ns, &dir, &ssl_args);
    let udp_code = format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.bind(('127.0.0.1', {UDP_PORT}))\nwhile True:\n    d, a = s.recvfrom(512)\n    s.sendto(b'OK' + d, a)\n"
    );
    let udp_args = ["python3", "-c", udp_code.as_str()];
    let udp = spawn(&ns, &dir, &udp_args);
    let dns_port = format!("--port={DNS_PORT}");
    let dns_args = [
        "dnsmasq",
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        dns_port.as_str(),
        "--user=root",
        "--pid-file=",
        "--address=/www.example.test/10.1.2.3",
    ];
    let dns = spawn(&ns, &dir, &dns_args);
    wait_tcp(&ns, HTTP_PORT);
    wait_tcp(&ns, SSL_PORT);
    // dnsmasq also listens on TCP.
    wait_tcp(&ns, DNS_PORT);

    let conf = conf(&dir, &digest, &digest);
    let d = Daemon::start(ns, dir.clone(), &conf);
    let (pid, restarts) = d.check_worker();
    assert_eq!(restarts, 0);
    let long = Duration::from_secs(8);
    // Everything up, MISC_CHECK with exit 0 keeps the weight.
    let t = Instant::now();
    for (addr, port, w) in [
        ("127.0.0.1", TCP_PORT, 2),
        ("127.0.0.1", HTTP_PORT, 3),
        ("127.0.0.1", SSL_PORT, 4),
        ("127.0.0.2", MISC_PORT, 5),
        ("127.0.0.3", 0, 6),
        ("127.0.0.1", UDP_PORT, 7),
        ("127.0.0.1", DNS_PORT, 8),
    ] {
        d.wait_rs(addr, port, true, Some(w), t, long);
    }
    // Let the first round of checks run: still all up.
    std::thread::sleep(Duration::from_millis(2500));
    let s = d.status().expect("status");
    for (addr, port) in [
        ("127.0.0.1", TCP_PORT),
        ("127.0.0.1", HTTP_PORT),
        ("127.0.0.1", SSL_PORT),
        ("127.0.0.3", 0),
    ] {
        assert_eq!(
            Daemon::rs(&s, addr, port).map(|x| x.0),
            Some(true),
            "{addr}:{port}\n{}",
            d.log()
        );
    }

    // TCP_CHECK: listener gone, down (next probe, no retry); back, up.
    let t = Instant::now();
    drop(tcp);
    let down = d.wait_rs("127.0.0.1", TCP_PORT, false, None, t, long);
    let t = Instant::now();
    let _tcp = listener(&d.ns, TCP_PORT);
    let up = d.wait_rs("127.0.0.1", TCP_PORT, true, None, t, long);
    eprintln!("TCP_CHECK: down {down:?} after the stop, up {up:?} after the start");
    assert!(down < Duration::from_millis(2500) && up < Duration::from_millis(2500));

    // HTTP_GET: server gone, down; back, up (the failed url, then all).
    let t = Instant::now();
    drop(http);
    let down = d.wait_rs("127.0.0.1", HTTP_PORT, false, None, t, long);
    let _http = spawn(&d.ns, &dir, &http_args);
    wait_tcp(&d.ns, HTTP_PORT);
    let t = Instant::now();
    let up = d.wait_rs("127.0.0.1", HTTP_PORT, true, None, t, long);
    eprintln!("HTTP_GET: down {down:?} after the stop, up {up:?} after the start");
    assert!(down < Duration::from_millis(2500) && up < Duration::from_millis(3500));

    // SSL_GET (TLS inside the sandbox).
    let t = Instant::now();
    drop(ssl);
    let down = d.wait_rs("127.0.0.1", SSL_PORT, false, None, t, long);
    let _ssl = spawn(&d.ns, &dir, &ssl_args);
    wait_tcp(&d.ns, SSL_PORT);
    let t = Instant::now();
    let up = d.wait_rs("127.0.0.1", SSL_PORT, true, None, t, long);
    eprintln!("SSL_GET: down {down:?} after the stop, up {up:?} after the start");
    assert!(down < Duration::from_millis(3500) && up < Duration::from_millis(3500));

    // MISC_CHECK misc_dynamic through the parent's script runner: exit 12
    // sets weight 10, exit 1 is down, exit 0 is up with the weight kept.
    let t = Instant::now();
    std::fs::write(&code, "12\n").expect("write");
    let w = d.wait_rs("127.0.0.2", MISC_PORT, true, Some(10), t, long);
    std::fs::write(&code, "1\n").expect("write");
    let t = Instant::now();
    let down = d.wait_rs("127.0.0.2", MISC_PORT, false, None, t, long);
    std::fs::write(&code, "0\n").expect("write");
    let t = Instant::now();
    let up = d.wait_rs("127.0.0.2", MISC_PORT, true, Some(10), t, long);
    eprintln!("MISC_CHECK: weight 10 after {w:?}, down after {down:?}, up after {up:?}");
    assert!(down < Duration::from_millis(2500) && up < Duration::from_millis(2500));

    // UDP_CHECK: the echo server stops (port unreachable), starts again.
    let t = Instant::now();
    drop(udp);
    let down = d.wait_rs("127.0.0.1", UDP_PORT, false, None, t, long);
    let t = Instant::now();
    let _udp = spawn(&d.ns, &dir, &udp_args);
    let up = d.wait_rs("127.0.0.1", UDP_PORT, true, None, t, long);
    eprintln!("UDP_CHECK: down after {down:?}, up after {up:?}");
    assert!(down < Duration::from_millis(2500) && up < Duration::from_millis(2500));

    // DNS_CHECK against dnsmasq.
    let t = Instant::now();
    drop(dns);
    let down = d.wait_rs("127.0.0.1", DNS_PORT, false, None, t, long);
    let t = Instant::now();
    let _dns = spawn(&d.ns, &dir, &dns_args);
    let up = d.wait_rs("127.0.0.1", DNS_PORT, true, None, t, long);
    eprintln!("DNS_CHECK: down after {down:?}, up after {up:?}");
    assert!(down < Duration::from_millis(2500) && up < Duration::from_millis(2500));

    // PING_CHECK (an ICMP datagram socket in the sandbox).
    let t = Instant::now();
    sh(&d.ns, "sysctl -qw net.ipv4.icmp_echo_ignore_all=1");
    let down = d.wait_rs("127.0.0.3", 0, false, None, t, long);
    sh(&d.ns, "sysctl -qw net.ipv4.icmp_echo_ignore_all=0");
    let t = Instant::now();
    let up = d.wait_rs("127.0.0.3", 0, true, None, t, long);
    eprintln!("PING_CHECK: down after {down:?}, up after {up:?}");
    assert!(down < Duration::from_millis(3000) && up < Duration::from_millis(2500));

    // The worker never broke its sandbox nor was restarted, and reported
    // nothing the parent did not know.
    let log = d.log();
    assert!(!log.contains("SIGSYS"), "{log}");
    assert!(!log.contains("unknown real server"), "{log}");
    assert_eq!(d.check_worker(), (pid, 0), "{log}");
}

#[test]
fn a_reload_keeps_the_health_of_unchanged_checkers() {
    if !require(
        "the check worker end to end (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("chk-rld", &[]).expect("netns");
    let dir = std::env::temp_dir().join(format!("krs-check-rld-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let body = |extra: &str| {
        format!(
            "virtual_server 10.250.0.10 80 {{\n delay_loop 1\n lb_kind NAT\n protocol TCP\n\
             real_server 127.0.0.1 7101 {{\n TCP_CHECK {{\n connect_timeout 1\n retry 0\n warmup 0\n }}\n }}\n\
             {extra}}}\n"
        )
    };
    // Nothing listens on 7101: down at the first check.
    let d = Daemon::start(ns, dir, &body(""));
    let (pid, _) = d.check_worker();
    d.wait_rs(
        "127.0.0.1",
        7101,
        false,
        None,
        Instant::now(),
        Duration::from_secs(5),
    );
    // A reload that adds a real server (delay_loop 30: its first check
    // only after the bootstrap delay) keeps the first one down, without a
    // new worker; the new one starts up as keepalived starts it.
    std::fs::write(
        d.dir.join("keepalived.conf"),
        body("real_server 127.0.0.1 7102 {\n TCP_CHECK {\n delay_loop 30\n warmup 0\n }\n }\n"),
    )
    .expect("write");
    let _ = Command::new("kill")
        .args(["-HUP", &d.child.id().to_string()])
        .status();
    let s = d.wait_for("generation 2", Duration::from_secs(5), |s| {
        s["generation"] == 2
    });
    assert_eq!(Daemon::rs(&s, "127.0.0.1", 7101).map(|x| x.0), Some(false));
    assert_eq!(Daemon::rs(&s, "127.0.0.1", 7102).map(|x| x.0), Some(true));
    // Stays down across later checks (no flap from the reload).
    std::thread::sleep(Duration::from_millis(1500));
    let s = d.status().expect("status");
    assert_eq!(Daemon::rs(&s, "127.0.0.1", 7101).map(|x| x.0), Some(false));
    // The new real server's first check fails: down.
    d.wait_rs(
        "127.0.0.1",
        7102,
        false,
        None,
        Instant::now(),
        Duration::from_secs(5),
    );
    assert_eq!(d.check_worker(), (pid, 0), "{}", d.log());
}

#[test]
fn a_restarted_worker_resumes_from_the_parents_health() {
    if !require(
        "the check worker end to end (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("chk-rst", &[]).expect("netns");
    let dir = PathBuf::from(format!("/run/krs-check-rst-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    // 7201 listens, 7202 does not; long delay_loop and warmup 0: the new
    // worker's first checks run 1 s after it starts.
    let conf = "virtual_server 10.250.0.10 80 {\n delay_loop 3\n lb_kind NAT\n protocol TCP\n\
         real_server 127.0.0.1 7201 {\n TCP_CHECK {\n connect_timeout 1\n retry 0\n warmup 0\n }\n }\n\
         real_server 127.0.0.1 7202 {\n TCP_CHECK {\n connect_timeout 1\n retry 0\n warmup 0\n }\n }\n}\n";
    let _l = listener(&ns, 7201);
    let d = Daemon::start(ns, dir, conf);
    let long = Duration::from_secs(5);
    d.wait_rs("127.0.0.1", 7202, false, None, Instant::now(), long);
    let (pid, _) = d.check_worker();
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    // 7202 comes back while the worker restarts. The new worker starts
    // from the parent's health (7202 down), so its first check (1 s after
    // it starts) reports 7202 up; one that assumed its configuration's
    // initial health (up) would see nothing to report and leave 7202 down
    // for good. Until then nothing changes.
    let t0 = Instant::now();
    let _l2 = listener(&d.ns, 7202);
    let mut new_pid = None;
    let mut up_at = None;
    while t0.elapsed() < Duration::from_secs(5) && up_at.is_none() {
        if let Some(s) = d.status() {
            assert_eq!(
                Daemon::rs(&s, "127.0.0.1", 7201).map(|x| x.0),
                Some(true),
                "{s}"
            );
            let w = s["workers"]
                .as_array()
                .and_then(|ws| ws.iter().find(|w| w["role"] == "check").cloned());
            if let Some(w) = w
                && w["restarts"] == 1
                && w["ready"] == true
                && new_pid.is_none()
            {
                new_pid = w["pid"].as_u64().map(|p| (p, t0.elapsed()));
            }
            if Daemon::rs(&s, "127.0.0.1", 7202).map(|x| x.0) == Some(true) {
                up_at = Some(t0.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (new_pid, ready_at) = new_pid.expect("the check worker was restarted");
    let up_at = up_at.unwrap_or_else(|| panic!("7202 never came back up\n{}", d.log()));
    eprintln!("new worker ready after {ready_at:?}, 7202 up after {up_at:?}");
    // The new worker's first check runs 1 s (bootstrap delay) after it
    // started, which was after the kill.
    assert!(up_at >= Duration::from_millis(950), "{up_at:?}");
    assert_ne!(new_pid, pid);
    assert!(!d.log().contains("SIGSYS"), "{}", d.log());
}

#[test]
fn file_checks_follow_their_files_through_the_sandboxed_worker() {
    if !require(
        "the check worker end to end (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = NetNs::new("chk-file", &[]).expect("netns");
    // The worker runs as nobody: the folder and files must be readable.
    let dir = PathBuf::from(format!("/run/krs-check-file-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let files = dir.join("files");
    std::fs::create_dir_all(&files).expect("mkdir");
    std::fs::set_permissions(&files, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let set = |name: &str, v: &str| {
        let p = files.join(name);
        std::fs::write(&p, format!("{v}\n")).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    };
    set("down", "1");
    set("weight", "2");
    let conf = format!(
        "track_file down {{\n file {f}/down\n}}\n\
         track_file wt {{\n file {f}/weight\n weight 10\n}}\n\
         virtual_server 10.250.0.10 80 {{\n delay_loop 1\n lb_kind NAT\n protocol TCP\n\
         real_server 127.0.0.1 7301 {{\n weight 5\n FILE_CHECK {{\n track_file down\n weight 0\n }}\n }}\n\
         real_server 127.0.0.1 7302 {{\n weight 5\n FILE_CHECK {{\n track_file wt\n }}\n }}\n\
         real_server 127.0.0.1 7303 {{\n weight 5\n FILE_CHECK {{\n track_file down\n weight 0 reverse\n }}\n }}\n}}\n",
        f = files.display()
    );
    let d = Daemon::start(ns, dir.clone(), &conf);
    let (pid, _) = d.check_worker();
    let long = Duration::from_secs(5);
    // The files as they were at start: 7301 down (1 is non-zero), 7302 at
    // 5 + 2 * 10, 7303 (reverse) up.
    let t = Instant::now();
    d.wait_rs("127.0.0.1", 7301, false, Some(5), t, long);
    d.wait_rs("127.0.0.1", 7302, true, Some(25), t, long);
    d.wait_rs("127.0.0.1", 7303, true, Some(5), t, long);

    // 0: 7301 up, 7303 down (polled every second).
    let t = Instant::now();
    set("down", "0");
    let up = d.wait_rs("127.0.0.1", 7301, true, Some(5), t, long);
    let down = d.wait_rs("127.0.0.1", 7303, false, None, t, long);
    eprintln!("FILE_CHECK: 7301 up after {up:?}, 7303 down after {down:?}");
    assert!(up < Duration::from_millis(2500) && down < Duration::from_millis(2500));
    // 1 again: back down (and 7303 up).
    let t = Instant::now();
    set("down", "1");
    let down = d.wait_rs("127.0.0.1", 7301, false, None, t, long);
    d.wait_rs("127.0.0.1", 7303, true, None, t, long);
    assert!(down < Duration::from_millis(2500), "{down:?}");
    // Removed: counts as 0.
    let t = Instant::now();
    std::fs::remove_file(files.join("down")).expect("rm");
    d.wait_rs("127.0.0.1", 7301, true, None, t, long);
    d.wait_rs("127.0.0.1", 7303, false, None, t, long);

    // The weighted one: the weight follows the value.
    let t = Instant::now();
    set("weight", "7");
    d.wait_rs("127.0.0.1", 7302, true, Some(75), t, long);
    set("weight", "-1");
    d.wait_rs("127.0.0.1", 7302, true, Some(0), t, long);
    set("weight", "0");
    d.wait_rs("127.0.0.1", 7302, true, Some(5), t, long);
    // Far below: FAULT, down.
    set("weight", "-100000");
    d.wait_rs("127.0.0.1", 7302, false, None, t, long);

    let log = d.log();
    assert!(!log.contains("SIGSYS"), "{log}");
    assert!(log.contains("tracked file down now FAULT state"), "{log}");
    assert_eq!(d.check_worker(), (pid, 0), "{log}");
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
}
