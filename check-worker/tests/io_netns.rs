//! The checkers against real servers, in a network namespace each test
//! creates: the engine runs on a thread that entered the namespace (its
//! sockets live there), the servers are Python's http.server, openssl
//! s_server, dnsmasq, the kernel's ICMP echo and small scripted listeners.
//! Each server is stopped and started again; the test checks the health
//! transitions and their timing, and that nothing else is reported.
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use check_worker::engine::{Engine, Out};
use ipc::{Health, HealthChange};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tests::{NetNs, Requirement, require};

fn setns(ns: &str) {
    let fd = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&fd),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .expect("setns");
}

fn sh(ns: &str, cmd: &str) {
    let ok = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", cmd])
        .status()
        .expect("run")
        .success();
    assert!(ok, "{cmd}");
}

static PORT: AtomicU16 = AtomicU16::new(20000);
fn port() -> u16 {
    PORT.fetch_add(1, Ordering::Relaxed)
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cw-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// The engine on its own loop inside a namespace.
struct Run {
    rx: Receiver<(Instant, Out)>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    /// Every health change seen, with its time.
    seen: Vec<(Instant, HealthChange)>,
    logs: Vec<String>,
}

fn conf(rs: &str) -> String {
    format!("virtual_server 10.0.0.1 80 {{\n delay_loop 1\n lb_kind NAT\n protocol TCP\n{rs}\n}}\n")
}

impl Run {
    /// Start the engine on `text`, every real server restored as `up`.
    fn start(ns: &NetNs, text: &str, up: bool) -> Run {
        let loaded = config::load_str(Path::new("t.conf"), text, &config::LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let lvs = loaded.config.lvs;
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let name = ns.name().to_string();
        let handle = std::thread::spawn(move || {
            setns(&name);
            let mut restored = BTreeMap::new();
            for vs in &lvs.virtual_servers {
                for rs in &vs.real_servers {
                    restored.insert(
                        check_worker::sched::rs_key(vs, rs),
                        Health {
                            up,
                            weight: rs.weight,
                        },
                    );
                }
            }
            let mut poll = mio::Poll::new().expect("poll");
            let now = Instant::now();
            let (mut e, first) = Engine::new(lvs.clone(), &[], &restored, now, Box::new(|| 0.0), 7);
            for o in first {
                let _ = tx.send((now, o));
            }
            e.register(poll.registry()).expect("register");
            let mut events = mio::Events::with_capacity(64);
            while !stop2.load(Ordering::Relaxed) {
                let now = Instant::now();
                let wait = e
                    .next_deadline()
                    .map_or(Duration::from_millis(50), |d| {
                        d.saturating_duration_since(now)
                    })
                    .min(Duration::from_millis(50));
                poll.poll(&mut events, Some(wait)).expect("poll");
                for ev in &events {
                    for o in e.on_event(ev.token(), ev.is_writable(), Instant::now()) {
                        let _ = tx.send((Instant::now(), o));
                    }
                }
                for o in e.on_timer(Instant::now()) {
                    let _ = tx.send((Instant::now(), o));
                }
            }
        });
        Run {
            rx,
            stop,
            handle: Some(handle),
            seen: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// Wait for a report with `up`; returns how long after `since` it came.
    fn wait(&mut self, up: bool, since: Instant, limit: Duration) -> Duration {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((t, Out::Health(h))) => {
                    self.seen.push((t, h.clone()));
                    if h.up == up {
                        return t.saturating_duration_since(since);
                    }
                }
                Ok((_, Out::Log(_, m))) => self.logs.push(m),
                Ok((_, Out::RunScript { .. })) => {}
                Err(_) => panic!(
                    "no report up={up} within {limit:?}; seen {:?}; logs {:#?}",
                    self.seen
                        .iter()
                        .map(|x| (x.1.up, x.1.weight))
                        .collect::<Vec<_>>(),
                    self.logs
                ),
            }
        }
    }

    /// Nothing reported for `d`.
    fn quiet(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while let Ok((_, o)) = self
            .rx
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            match o {
                Out::Health(h) => panic!("unexpected report {h:?}; logs {:#?}", self.logs),
                Out::Log(_, m) => self.logs.push(m),
                Out::RunScript { .. } => {}
            }
        }
    }

    fn drain_logs(&mut self) -> Vec<String> {
        while let Ok((_, o)) = self.rx.try_recv() {
            match o {
                Out::Log(_, m) => self.logs.push(m),
                Out::Health(h) => panic!("unexpected report {h:?}"),
                Out::RunScript { .. } => {}
            }
        }
        self.logs.clone()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ns(name: &str) -> Option<NetNs> {
    if !require(
        "the checker I/O tests (network namespaces)",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return None;
    }
    Some(NetNs::new(name, &[]).expect("netns"))
}

/// A TCP listener thread in the namespace, serving each connection with
/// `serve`, until stopped (the listening socket then closes).
struct TcpServer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl TcpServer {
    fn start(
        ns: &NetNs,
        port: u16,
        serve: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> TcpServer {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let name = ns.name().to_string();
        let (ready_tx, ready_rx) = channel();
        let handle = std::thread::spawn(move || {
            setns(&name);
            let l = TcpListener::bind(("127.0.0.1", port)).expect("bind");
            l.set_nonblocking(true).expect("nonblocking");
            ready_tx.send(()).expect("ready");
            while !stop2.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).expect("blocking");
                        s.set_read_timeout(Some(Duration::from_secs(2)))
                            .expect("timeout");
                        serve(s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ready_rx.recv().expect("listener up");
        TcpServer {
            stop,
            handle: Some(handle),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("server thread");
        }
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A process in the namespace, killed on drop.
struct Proc(Child);

impl Proc {
    fn start(ns: &NetNs, dir: &Path, args: &[&str]) -> Proc {
        let child = ns
            .command(args[0])
            .args(&args[1..])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        Proc(child)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until something listens on TCP `port` in the namespace.
fn wait_tcp(ns: &NetNs, port: u16) {
    let name = ns.name().to_string();
    let ok = std::thread::spawn(move || {
        setns(&name);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    })
    .join()
    .expect("probe thread");
    assert!(ok, "nothing listens on {port}");
}

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------- TCP_CHECK

#[test]
fn tcp_check_down_and_up_with_retry() {
    let Some(ns) = ns("cwtcp") else { return };
    let p = port();
    let srv = TcpServer::start(&ns, p, |_| {});
    // delay_loop 1, retry 1, delay_before_retry 1.
    let text = conf(&format!(
        "real_server 127.0.0.1 {p} {{\n TCP_CHECK {{\n connect_timeout 1\n retry 1\n delay_before_retry 1\n warmup 0\n }}\n }}"
    ));
    let mut run = Run::start(&ns, &text, true);
    run.quiet(Duration::from_millis(2500));
    let t = Instant::now();
    srv.stop();
    // The next probe (within 1 s) is refused, retried 1 s later: down.
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) > 0.9 && secs(down) < 2.6, "down after {down:?}");
    let t = Instant::now();
    let _srv = TcpServer::start(&ns, p, |_| {});
    let up = run.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) < 1.6, "up after {up:?}");
    run.quiet(Duration::from_millis(1500));
    assert_eq!(run.seen.len(), 2);
    eprintln!("TCP_CHECK: down {down:?} after stop, up {up:?} after start");
}

#[test]
fn tcp_check_connect_timeout() {
    let Some(ns) = ns("cwtmo") else { return };
    // 10.98.0.2 is on a link where nobody answers: the connect hangs.
    sh(
        ns.name(),
        "ip link add d0 type veth peer name d1 && ip link set d1 up && ip link set d0 up \
         && ip addr add 10.98.0.1/24 dev d0",
    );
    let text =
        conf("real_server 10.98.0.2 80 {\n TCP_CHECK {\n connect_timeout 1\n warmup 0\n }\n }");
    let t = Instant::now();
    let mut run = Run::start(&ns, &text, true);
    // First probe at 1 s (bootstrap delay), times out 1 s later; one
    // failure is enough before a check has run.
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) > 1.9 && secs(down) < 2.5, "down after {down:?}");
    let logs = run.drain_logs();
    assert!(
        logs.iter().any(|l| l.contains("connection timeout")),
        "{logs:#?}"
    );
}

// ---------------------------------------------------------------- HTTP_GET

fn http_conf(p: u16, extra_url: &str, digest: &str) -> String {
    conf(&format!(
        "real_server 127.0.0.1 {p} {{\n HTTP_GET {{\n url {{\n path /hc.txt\n digest {digest}\n }}\n {extra_url}\n connect_timeout 1\n retry 0\n delay_before_retry 1\n warmup 0\n }}\n }}"
    ))
}

#[test]
fn http_get_status_digest_and_restart() {
    let Some(ns) = ns("cwhttp") else { return };
    let dir = temp("http");
    std::fs::write(dir.join("hc.txt"), b"healthy\n").expect("write");
    let p = port();
    let ps = p.to_string();
    let server = Proc::start(
        &ns,
        &dir,
        &["python3", "-m", "http.server", &ps, "--bind", "127.0.0.1"],
    );
    wait_tcp(&ns, p);
    // genhash (keepalived's own tool) agrees on the digest.
    let out = ns
        .command("genhash")
        .args(["-s", "127.0.0.1", "-p", &ps, "-u", "/hc.txt"])
        .output()
        .expect("genhash");
    let text = String::from_utf8_lossy(&out.stdout);
    let digest = md5_hex(b"healthy\n");
    assert!(
        text.contains(&digest),
        "genhash said {text:?}, want {digest}"
    );
    // A second url that must answer 404.
    let extra = "url {\n path /missing\n status_code 404\n }";
    let t = Instant::now();
    let mut run = Run::start(&ns, &http_conf(p, extra, &digest), false);
    // Restored down: up once both urls answered (1 s + 1 s delay_loop).
    let up = run.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) > 1.9 && secs(up) < 2.6, "up after {up:?}");
    // Body changes: the digest no longer matches.
    let t = Instant::now();
    std::fs::write(dir.join("hc.txt"), b"sick\n").expect("write");
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) < 2.2, "down after {down:?}");
    assert!(
        run.logs.iter().any(|l| l.contains("MD5 digest error")),
        "{:#?}",
        run.logs
    );
    std::fs::write(dir.join("hc.txt"), b"healthy\n").expect("write");
    let t = Instant::now();
    // The failed url is checked every max(delay_before_retry, delay_loop)
    // = 1 s; once it answers, every url is checked again (2 more runs 1 s
    // apart): up.
    let up = run.wait(true, t, Duration::from_secs(6));
    assert!(secs(up) > 1.9 && secs(up) < 3.7, "up after {up:?}");
    // The server stops: connection refused, down; and back.
    drop(server);
    let t = Instant::now();
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) < 1.6, "down after {down:?}");
    let _server = Proc::start(
        &ns,
        &dir,
        &["python3", "-m", "http.server", &ps, "--bind", "127.0.0.1"],
    );
    wait_tcp(&ns, p);
    let t = Instant::now();
    let up = run.wait(true, t, Duration::from_secs(6));
    assert!(secs(up) > 1.9 && secs(up) < 3.7, "up after {up:?}");
    run.quiet(Duration::from_secs(2));
    assert_eq!(run.seen.len(), 5, "{:?}", run.seen);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn http_request_is_byte_for_byte_genhash_s() {
    let Some(ns) = ns("cwreq") else { return };
    let p = port();
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let got2 = got.clone();
    let srv = TcpServer::start(&ns, p, move |mut s| {
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut req = Vec::new();
        loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                break;
            }
            req.extend_from_slice(&line);
            if line == b"\r\n" {
                break;
            }
        }
        got2.lock().expect("lock").push(req);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nok");
    });
    let out = ns
        .command("genhash")
        .args(["-s", "127.0.0.1", "-p", &p.to_string(), "-u", "/a/b?c=d"])
        .output()
        .expect("genhash");
    assert!(out.status.success() || !got.lock().expect("lock").is_empty());
    let text = conf(&format!(
        "real_server 127.0.0.1 {p} {{\n HTTP_GET {{\n url {{\n path /a/b?c=d\n }}\n warmup 0\n }}\n }}"
    ));
    let mut run = Run::start(&ns, &text, true);
    let t0 = Instant::now();
    while got.lock().expect("lock").len() < 2 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    run.quiet(Duration::from_millis(100));
    srv.stop();
    let g = got.lock().expect("lock");
    assert_eq!(g.len(), 2, "{g:?}");
    assert_eq!(
        String::from_utf8_lossy(&g[1]),
        String::from_utf8_lossy(&g[0]),
        "ours (second) against genhash's (first)"
    );
}

// ---------------------------------------------------------------- SSL_GET

fn openssl_cert(dir: &Path) {
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=checker-test",
            "-days",
            "2",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl req")
        .success();
    assert!(ok, "openssl req");
}

fn s_server(ns: &NetNs, dir: &Path, p: u16, sni: Option<&str>) -> Proc {
    let ps = p.to_string();
    let mut args = vec![
        "openssl", "s_server", "-quiet", "-accept", &ps, "-cert", "cert.pem", "-key", "key.pem",
        "-WWW",
    ];
    if let Some(name) = sni {
        args.extend_from_slice(&[
            "-servername",
            name,
            "-servername_fatal",
            "-cert2",
            "cert.pem",
            "-key2",
            "key.pem",
        ]);
    }
    let p2 = Proc::start(ns, dir, &args);
    wait_tcp(ns, p);
    p2
}

#[test]
fn ssl_get_without_verification_down_and_up() {
    let Some(ns) = ns("cwssl") else { return };
    let dir = temp("ssl");
    openssl_cert(&dir);
    std::fs::write(dir.join("hc.txt"), b"tls ok\n").expect("write");
    let p = port();
    let server = s_server(&ns, &dir, p, None);
    let text = conf(&format!(
        "real_server 127.0.0.1 {p} {{\n SSL_GET {{\n url {{\n path /hc.txt\n digest {}\n }}\n connect_timeout 2\n retry 0\n delay_before_retry 1\n warmup 0\n }}\n }}",
        md5_hex(b"tls ok\n")
    ));
    let t = Instant::now();
    let mut run = Run::start(&ns, &text, false);
    // A self-signed certificate is fine (keepalived does not verify).
    let up = run.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) > 0.9 && secs(up) < 2.0, "up after {up:?}");
    drop(server);
    let t = Instant::now();
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) < 1.6, "down after {down:?}");
    let _server = s_server(&ns, &dir, p, None);
    let t = Instant::now();
    // The failed url answers (<= 1 s), then it is checked again 1 s later.
    let up = run.wait(true, t, Duration::from_secs(6));
    assert!(secs(up) > 0.9 && secs(up) < 2.7, "up after {up:?}");
    eprintln!("SSL_GET up again {up:?} after the server restarted");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ssl_get_sends_sni_only_with_enable_sni() {
    let Some(ns) = ns("cwsni") else { return };
    let dir = temp("sni");
    openssl_cert(&dir);
    std::fs::write(dir.join("hc.txt"), b"sni\n").expect("write");
    let p = port();
    // s_server aborts a handshake whose SNI is not good.test.
    let _server = s_server(&ns, &dir, p, Some("good.test"));
    let ssl = |vhost: &str, sni: &str| {
        conf(&format!(
            "real_server 127.0.0.1 {p} {{\n SSL_GET {{\n virtualhost {vhost}\n {sni}\n url {{\n path /hc.txt\n }}\n connect_timeout 2\n retry 0\n warmup 0\n }}\n }}"
        ))
    };
    let t = Instant::now();
    let mut good = Run::start(&ns, &ssl("good.test", "enable_sni"), false);
    let up = good.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) < 2.0, "{up:?}");
    drop(good);
    let t = Instant::now();
    let mut bad = Run::start(&ns, &ssl("bad.test", "enable_sni"), true);
    let down = bad.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) < 2.0, "{down:?}");
    assert!(
        bad.logs.iter().any(|l| l.contains("SSL")),
        "{:#?}",
        bad.logs
    );
    drop(bad);
    // Without enable_sni no name is sent, which s_server accepts.
    let t = Instant::now();
    let mut plain = Run::start(&ns, &ssl("bad.test", ""), false);
    let up = plain.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) < 2.0, "{up:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- SMTP_CHECK

#[test]
fn smtp_check_dialogue_down_and_up() {
    let Some(ns) = ns("cwsmtp") else { return };
    let p = port();
    let healthy = Arc::new(AtomicBool::new(true));
    let helos: Arc<Mutex<Vec<String>>> = Arc::default();
    let (h2, l2) = (healthy.clone(), helos.clone());
    let _srv = TcpServer::start(&ns, p, move |mut s| {
        if !h2.load(Ordering::Relaxed) {
            let _ = s.write_all(b"554 no service\r\n");
            return;
        }
        let _ = s.write_all(b"220-smtp.test ESMTP\r\n220 ready\r\n");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut line = String::new();
        if r.read_line(&mut line).is_err() {
            return;
        }
        l2.lock().expect("lock").push(line.clone());
        let _ = s.write_all(b"250 hello\r\n");
        line.clear();
        let _ = r.read_line(&mut line);
        if line == "QUIT\r\n" {
            let _ = s.write_all(b"221 bye\r\n");
        }
    });
    let text = conf(&format!(
        "real_server 127.0.0.1 {p} {{\n SMTP_CHECK {{\n helo_name checker.test\n connect_timeout 1\n retry 0\n warmup 0\n }}\n }}"
    ));
    let mut run = Run::start(&ns, &text, false);
    let up = run.wait(true, Instant::now(), Duration::from_secs(5));
    assert!(secs(up) < 2.0);
    assert_eq!(helos.lock().expect("lock")[0], "HELO checker.test\r\n");
    let t = Instant::now();
    healthy.store(false, Ordering::Relaxed);
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) < 1.6, "down after {down:?}");
    assert!(
        run.logs.iter().any(|l| l.contains("Bad greeting banner")),
        "{:#?}",
        run.logs
    );
    let t = Instant::now();
    healthy.store(true, Ordering::Relaxed);
    let up = run.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) < 1.6, "up after {up:?}");
}

// ---------------------------------------------------------------- DNS_CHECK

fn dnsmasq(ns: &NetNs, dir: &Path, p: u16) -> Proc {
    let port = format!("--port={p}");
    Proc::start(
        ns,
        dir,
        &[
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            &port,
            "--user=root",
            "--pid-file=",
            "--local=/test/",
            "--address=/www.example.test/10.1.2.3",
        ],
    )
}

#[test]
fn dns_check_answer_rcode_down_and_up() {
    let Some(ns) = ns("cwdns") else { return };
    if Command::new("dnsmasq").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "dnsmasq is missing (scripts/deps.sh)"
        );
        eprintln!("SKIPPED: no dnsmasq");
        return;
    }
    let dir = temp("dns");
    let p = port();
    let server = dnsmasq(&ns, &dir, p);
    std::thread::sleep(Duration::from_millis(300));
    let dns = |name: &str| {
        conf(&format!(
            "real_server 127.0.0.1 {p} {{\n DNS_CHECK {{\n type A\n name {name}\n connect_timeout 1\n retry 1\n delay_before_retry 1\n warmup 0\n }}\n }}"
        ))
    };
    // An answered name.
    let mut run = Run::start(&ns, &dns("www.example.test"), false);
    let up = run.wait(true, Instant::now(), Duration::from_secs(5));
    assert!(secs(up) < 2.0);
    // NXDOMAIN (rcode 3) is a failure.
    let t = Instant::now();
    let mut nx = Run::start(&ns, &dns("nothing.test"), true);
    let down = nx.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) < 2.0);
    assert!(
        nx.logs.iter().any(|l| l.contains("rcode = 3")),
        "{:#?}",
        nx.logs
    );
    drop(nx);
    // The server stops: port unreachable, retried after 1 s, down.
    let t = Instant::now();
    drop(server);
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) > 0.9 && secs(down) < 2.6, "down after {down:?}");
    let _server = dnsmasq(&ns, &dir, p);
    let t = Instant::now();
    let up = run.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) < 2.0, "up after {up:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- UDP_CHECK

struct UdpServer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl UdpServer {
    fn start(ns: &NetNs, p: u16, reply: &'static [u8]) -> UdpServer {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let name = ns.name().to_string();
        let (tx, rx) = channel();
        let handle = std::thread::spawn(move || {
            setns(&name);
            let s = UdpSocket::bind(("127.0.0.1", p)).expect("bind udp");
            s.set_read_timeout(Some(Duration::from_millis(20)))
                .expect("timeout");
            tx.send(()).expect("ready");
            let mut buf = [0u8; 512];
            while !stop2.load(Ordering::Relaxed) {
                if let Ok((_, from)) = s.recv_from(&mut buf) {
                    let _ = s.send_to(reply, from);
                }
            }
        });
        rx.recv().expect("udp up");
        UdpServer {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for UdpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[test]
fn udp_check_reply_pattern_down_and_up() {
    let Some(ns) = ns("cwudp") else { return };
    let p = port();
    let server = UdpServer::start(&ns, p, b"\xab\xcdOK");
    let text = conf(&format!(
        "real_server 127.0.0.1 {p} {{\n UDP_CHECK {{\n payload 01 02\n require_reply ab cx\n min_reply_length 3\n connect_timeout 1\n retry 0\n warmup 0\n }}\n }}"
    ));
    let mut run = Run::start(&ns, &text, false);
    let up = run.wait(true, Instant::now(), Duration::from_secs(5));
    assert!(secs(up) < 2.0);
    let t = Instant::now();
    drop(server);
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) < 1.6, "down after {down:?}");
    // A reply that does not match the pattern is a failure too.
    let bad = UdpServer::start(&ns, p, b"\xab\xddOK");
    run.quiet(Duration::from_millis(2500));
    drop(bad);
    let _good = UdpServer::start(&ns, p, b"\xab\xcfOK");
    let t = Instant::now();
    let up = run.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) < 1.6, "up after {up:?}");
}

// ---------------------------------------------------------------- PING_CHECK

#[test]
fn ping_check_echo_down_and_up() {
    let Some(ns) = ns("cwping") else { return };
    sh(
        ns.name(),
        "sysctl -qw net.ipv4.ping_group_range='0 2147483647'",
    );
    let text = conf(
        "real_server 127.0.0.1 0 {\n PING_CHECK {\n connect_timeout 1\n retry 0\n warmup 0\n }\n }",
    );
    let mut run = Run::start(&ns, &text, false);
    let up = run.wait(true, Instant::now(), Duration::from_secs(5));
    assert!(secs(up) < 2.0);
    let t = Instant::now();
    sh(ns.name(), "sysctl -qw net.ipv4.icmp_echo_ignore_all=1");
    // Next echo within 1 s, unanswered for connect_timeout (1 s): down.
    let down = run.wait(false, t, Duration::from_secs(5));
    assert!(secs(down) > 0.9 && secs(down) < 2.6, "down after {down:?}");
    sh(ns.name(), "sysctl -qw net.ipv4.icmp_echo_ignore_all=0");
    let t = Instant::now();
    let up = run.wait(true, t, Duration::from_secs(5));
    assert!(secs(up) < 2.2, "up after {up:?}");
}

#[test]
fn ping_check_says_once_when_ping_group_range_forbids_it() {
    let Some(ns) = ns("cwpgr") else { return };
    // No group may open ICMP datagram sockets.
    sh(ns.name(), "sysctl -qw net.ipv4.ping_group_range='1 0'");
    let text = conf(
        "real_server 127.0.0.1 0 {\n PING_CHECK {\n connect_timeout 1\n retry 0\n warmup 0\n }\n }",
    );
    let mut run = Run::start(&ns, &text, true);
    let down = run.wait(false, Instant::now(), Duration::from_secs(5));
    assert!(secs(down) < 1.5);
    run.quiet(Duration::from_millis(2200));
    let logs = run.drain_logs();
    let said: Vec<_> = logs
        .iter()
        .filter(|l| l.contains("net.ipv4.ping_group_range"))
        .collect();
    assert_eq!(said.len(), 1, "{logs:#?}");
}

#[test]
fn tcp_check_connects_from_bindto_bind_port_on_bind_if_to_connect_ip_port() {
    let Some(ns) = ns("cwbind") else { return };
    let p = port();
    let src_port = port();
    // The peer addresses as accept() gives them (the probe may be reset
    // before the server asks).
    let peers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = peers.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let name = ns.name().to_string();
    let (ready_tx, ready_rx) = channel();
    let srv = std::thread::spawn(move || {
        setns(&name);
        let l = TcpListener::bind(("127.0.0.1", p)).expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        ready_tx.send(()).expect("ready");
        while !stop2.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((_, a)) => seen.lock().expect("lock").push(a),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    ready_rx.recv().expect("listener up");
    sh(ns.name(), "ip addr add 127.0.0.9/8 dev lo");
    // The real server's own port has no listener: only connect_ip/
    // connect_port can make it up; the probe leaves from bindto:bind_port
    // through bind_if.
    let dead = port();
    let text = conf(&format!(
        "real_server 127.0.0.2 {dead} {{\n TCP_CHECK {{\n connect_ip 127.0.0.1\n connect_port {p}\n \
         bindto 127.0.0.9\n bind_port {src_port}\n bind_if lo\n connect_timeout 1\n retry 0\n warmup 0\n }}\n }}"
    ));
    let mut run = Run::start(&ns, &text, false);
    let up = run.wait(true, Instant::now(), Duration::from_secs(5));
    run.quiet(Duration::from_millis(1200));
    stop.store(true, Ordering::Relaxed);
    srv.join().expect("server thread");
    let peers = peers.lock().expect("lock").clone();
    assert!(!peers.is_empty(), "no connection reached the listener");
    for a in &peers {
        assert_eq!(a.to_string(), format!("127.0.0.9:{src_port}"), "{peers:?}");
    }
    eprintln!(
        "TCP_CHECK with connect_ip/port, bindto/bind_port, bind_if: up after {up:?}, {} probes",
        peers.len()
    );
}
