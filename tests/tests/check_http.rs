//! HTTP_GET url `regex` and SSL_GET with the top-level `SSL` block's client
//! certificate, end to end: the real `keepalived-rs -C` in a test
//! namespace, a Python HTTP server and `openssl s_server -Verify` (which
//! refuses a client without a certificate its CA signed) on loopback.
//!
//! - regex "ali+ve" on a page saying "alive": up; regex "dead": down;
//!   regex "dead" with regex_no_match: up; a PCRE-only pattern (a
//!   backreference) is refused with the reason and its url fails.
//! - The client certificate (its key encrypted, with `password`) is sent:
//!   the server that trusts its CA lets the check in (up), the one that
//!   trusts another CA does not (down). keepalived does not verify the
//!   server's certificate (self-signed here).
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tests::servers::{spawn, wait_tcp};
use tests::{NetNs, Requirement, require};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `up` of real server 127.0.0.1:`port` in virtual server port `vport`.
fn rs(s: &serde_json::Value, vport: u16, port: u16) -> Option<bool> {
    s["virtual_servers"].as_array()?.iter().find_map(|vs| {
        (vs["port"] == vport).then_some(())?;
        vs["real_servers"].as_array()?.iter().find_map(|r| {
            (r["address"] == "127.0.0.1" && r["port"] == port)
                .then(|| r["up"].as_bool().unwrap_or(false))
        })
    })
}

const HTTP: u16 = 7501;
const TLS_OK: u16 = 7502;
const TLS_OTHER_CA: u16 = 7503;

fn vs(vport: u16, port: u16, checker: &str) -> String {
    format!(
        "virtual_server 10.250.0.20 {vport} {{\n delay_loop 1\n lb_kind NAT\n protocol TCP\n\
         real_server 127.0.0.1 {port} {{\n {checker}\n }}\n}}\n"
    )
}

fn http_get(url: &str) -> String {
    format!(
        "HTTP_GET {{\n url {{\n path /hc.txt\n {url}\n }}\n connect_timeout 1\n retry 0\n warmup 0\n }}"
    )
}

const SSL_GET: &str =
    "SSL_GET {\n url {\n path /hc.txt\n }\n connect_timeout 2\n retry 0\n warmup 0\n }";

#[test]
fn url_regex_and_ssl_client_certificates() {
    if !require(
        "HTTP_GET regex and SSL_GET client certificates (network namespaces, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let dir = PathBuf::from(format!("/run/krs-check-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::write(dir.join("hc.txt"), b"<p>alive and well</p>\n").expect("write");
    // Two CAs; a client certificate from the first, its key encrypted
    // (PKCS#8, as OpenSSL writes it) with the password; a self-signed
    // server certificate.
    for ca in ["ca", "other"] {
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ],
        );
    }
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-subj",
            "/CN=keepalived-client",
            "-passout",
            "pass:s3cret",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
        ],
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-days",
            "2",
            "-out",
            "client.pem",
        ],
    );
    let key = std::fs::read_to_string(dir.join("client.key")).expect("key");
    assert!(key.contains("ENCRYPTED PRIVATE KEY"), "{key}");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=server",
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
        ],
    );

    let ns = NetNs::new("chk-http", &[]).expect("netns");
    let port = HTTP.to_string();
    let _http = spawn(
        &ns,
        &dir,
        &["python3", "-m", "http.server", &port, "--bind", "127.0.0.1"],
    );
    let s_server = |port: u16, ca: &str| {
        let port = port.to_string();
        spawn(
            &ns,
            &dir,
            &[
                "openssl",
                "s_server",
                "-quiet",
                "-accept",
                &port,
                "-cert",
                "server.pem",
                "-key",
                "server.key",
                "-Verify",
                "1",
                "-verify_return_error",
                "-CAfile",
                ca,
                "-WWW",
            ],
        )
    };
    let _ok = s_server(TLS_OK, "ca.pem");
    let _other = s_server(TLS_OTHER_CA, "other.pem");
    for p in [HTTP, TLS_OK, TLS_OTHER_CA] {
        wait_tcp(&ns, p);
    }

    let d = dir.display();
    let conf = format!(
        "SSL {{\n password s3cret\n ca {d}/ca.pem\n certificate {d}/client.pem\n key {d}/client.key\n}}\n{}{}{}{}{}{}",
        vs(81, HTTP, &http_get("regex \"ali+ve\"")),
        vs(82, HTTP, &http_get("regex dead")),
        vs(83, HTTP, &http_get("regex dead\n regex_no_match")),
        vs(84, HTTP, &http_get("regex \"(a)\\\\1\"")),
        vs(85, TLS_OK, SSL_GET),
        vs(86, TLS_OTHER_CA, SSL_GET),
    );
    let daemon = tests::Daemon::start(&ns, "chk-http", &conf, &["-C"]);
    daemon.wait_ready(2);
    let t0 = Instant::now();
    let want = [
        (81, HTTP, true),
        (82, HTTP, false),
        (83, HTTP, true),
        (84, HTTP, false),
        (85, TLS_OK, true),
        (86, TLS_OTHER_CA, false),
    ];
    // Real servers start up: wait until every down one has gone down, then
    // check all together after another round.
    daemon.wait_for("the regex and TLS verdicts", Duration::from_secs(8), |s| {
        want.iter().all(|&(v, p, up)| rs(s, v, p) == Some(up))
    });
    std::thread::sleep(Duration::from_millis(1500));
    let s = daemon.status().expect("status");
    for (v, p, up) in want {
        assert_eq!(rs(&s, v, p), Some(up), "vs {v} rs {p}\n{}", daemon.log());
    }
    eprintln!("verdicts settled after {:?}", t0.elapsed());
    let log = daemon.log();
    assert!(log.contains("Invalid regex: '(a)\\1'"), "{log}");
    assert!(log.contains("Regex match failed"), "{log}");
    assert!(!log.contains("SSL error"), "{log}");
    assert!(!log.contains("SIGSYS"), "{log}");
    drop(daemon);
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

const WIRE_TCP: u16 = 7511;

const WIRE_HTTP: u16 = 7512;

/// How the checkers end their connections, decoded by tshark from the
/// namespace's loopback: keepalived 2.2.7 closes every checker socket the
/// orderly way (SO_LINGER {1, 5 s}: a FIN, never a reset), so servers see
/// a normal close. TCP_CHECK against a listener that waits for the
/// checker's close (so the checker closes first) and HTTP_GET against a
/// Python HTTP server: FINs from the checker, no RST from it.
#[test]
fn checker_connections_end_with_fin_not_reset() {
    if !require(
        "checker connection close on the wire (network namespaces, tshark, root)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let dir = PathBuf::from(format!("/run/krs-check-wire-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("hc.txt"), b"alive\n").expect("write");
    let ns = NetNs::new("chk-wire", &[]).expect("netns");
    // Accepts, then reads until the checker closes: the checker's side
    // closes first.
    let hold = format!(
        "import socket, threading\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {WIRE_TCP}))\ns.listen(64)\n\
         def serve(c):\n    while c.recv(4096):\n        pass\n    c.close()\n\
         while True:\n    c, _ = s.accept()\n    threading.Thread(target=serve, args=(c,), daemon=True).start()\n"
    );
    let _hold = spawn(&ns, &dir, &["python3", "-c", &hold]);
    let port = WIRE_HTTP.to_string();
    let _http = spawn(
        &ns,
        &dir,
        &["python3", "-m", "http.server", "--bind", "127.0.0.1", &port],
    );
    wait_tcp(&ns, WIRE_TCP);
    wait_tcp(&ns, WIRE_HTTP);
    let filter = format!("tcp port {WIRE_TCP} or tcp port {WIRE_HTTP}");
    let mut cap = tests::lan::BridgeCapture::start_on(&ns, "lo", "chk-wire", &filter);
    let conf = vs(
        81,
        WIRE_TCP,
        "TCP_CHECK {\n connect_timeout 1\n retry 0\n warmup 0\n }",
    ) + &vs(82, WIRE_HTTP, &http_get(""));
    let d = tests::Daemon::start(&ns, "chk-wire", &conf, &["-C"]);
    d.wait_ready(2);
    d.wait_for("both up", Duration::from_secs(5), |s| {
        rs(s, 81, WIRE_TCP) == Some(true) && rs(s, 82, WIRE_HTTP) == Some(true)
    });
    // Two more rounds of checks.
    std::thread::sleep(Duration::from_millis(2300));
    cap.stop();
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(cap.pcap())
        .args(["-T", "fields", "-E", "separator=,"])
        .args(["-e", "tcp.srcport", "-e", "tcp.dstport"])
        .args([
            "-e",
            "tcp.flags.syn",
            "-e",
            "tcp.flags.fin",
            "-e",
            "tcp.flags.reset",
        ])
        .output()
        .expect("tshark -r");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // (server port, from the checker?) -> (SYNs, FINs, RSTs)
    let mut counts = std::collections::BTreeMap::<(u16, bool), [u32; 3]>::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let [src, dst, syn, fin, rst] = f[..] else {
            continue;
        };
        let (src, dst): (u16, u16) = (src.parse().unwrap_or(0), dst.parse().unwrap_or(0));
        let (server, from_checker) = if dst == WIRE_TCP || dst == WIRE_HTTP {
            (dst, true)
        } else {
            (src, false)
        };
        let flag = |v: &str| u32::from(v == "1" || v == "True");
        let c = counts.entry((server, from_checker)).or_default();
        c[0] += flag(syn);
        c[1] += flag(fin);
        c[2] += flag(rst);
    }
    eprintln!("checker connections, (server port, from checker) -> [SYN, FIN, RST]: {counts:?}");
    for port in [WIRE_TCP, WIRE_HTTP] {
        let [syn, fin, rst] = counts.get(&(port, true)).copied().unwrap_or_default();
        assert!(syn >= 3, "port {port}: {syn} connections seen:\n{text}");
        assert!(
            fin >= syn - 1,
            "port {port}: {fin} FINs for {syn} connections:\n{text}"
        );
        // The checker's side only: once both FINs are exchanged, a
        // server retransmission answered from the checker's TIME_WAIT can
        // draw a reset from the server (seen once under load).
        assert_eq!(rst, 0, "port {port}: resets from the checker:\n{text}");
    }
    assert!(!d.log().contains("SIGSYS"), "{}", d.log());
    let _ = std::fs::remove_dir_all(&dir);
}
