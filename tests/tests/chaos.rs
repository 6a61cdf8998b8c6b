//! Chaos under traffic: two keepalived-rs nodes on a bridge, a client
//! namespace pinging the VIP every 10 ms, and a loop that kills a random
//! worker (vrrp, check, ipvs) of the MASTER at random moments: 100 times
//! with SIGKILL (the restart path), then with SIGSTOP (the watchdog path:
//! a stopped worker is silent until the parent's watchdog kills and
//! replaces it). Pass: no reply gap over 30 ms, the BACKUP never becomes
//! MASTER, and the restart counts in `ctl status` match the kills.
//!
//! (On a kernel without IP_VS the IPVS worker runs in its retry mode; it is
//! killed all the same.)
//!
//! The figures (kills, restarts, longest reply gap, replies) are printed;
//! run with `--nocapture` to see them.

use serde_json::Value;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tests::Requirement;
use tests::daemon::{Daemon, logs, signal_pid, wait_until, worker};
use tests::lan::Lan;

const VIP: &str = "10.201.0.100";
const ROLES: [&str; 3] = ["vrrp", "check", "ipvs"];
const MAX_GAP: Duration = Duration::from_millis(30);

fn conf(priority: u8) -> String {
    format!(
        r#"
global_defs {{
    router_id chaos_{priority}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
virtual_server 10.201.0.200 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.201.0.3 80 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"#
    )
}

fn state(d: &Daemon) -> Option<String> {
    d.status()?["vrrp_instances"][0]["state"]
        .as_str()
        .map(str::to_string)
}

fn restarts(s: &Value) -> [u64; 3] {
    ROLES.map(|r| worker(s, r).map_or(0, |w| w.1))
}

/// A cheap xorshift generator seeded from the clock (printed, so a failing
/// run can be replayed with CHAOS_SEED).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        println!("chaos: seed {seed}");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo))
    }
}

/// An ICMP echo client in the client namespace: one request every 10 ms
/// (paced against the clock, at real-time priority so that the host's
/// load does not make gaps of its own; iputils ping paces at ~16 ms here),
/// printing each request's send time and each reply's arrival time (the
/// kernel's receive timestamp) when interrupted. Python's standard library
/// only.
const PINGER: &str = r#"
import os, select, signal, socket, struct, sys, time
dst = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setblocking(False)
# Arrival times from the kernel (SO_TIMESTAMPNS), so the pinger's own
# scheduling does not count as the VIP's delay; send times on the same
# clock (CLOCK_REALTIME).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
ident = os.getpid() & 0xffff
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
stop = False
def on_int(*_):
    global stop
    stop = True
signal.signal(signal.SIGINT, on_int)
replies = []
sends = []
sent = 0
seen = set()
nxt = time.monotonic()
while not stop:
    now = time.monotonic()
    if now >= nxt:
        h = struct.pack("!BBHHH", 8, 0, 0, ident, sent & 0xffff) + b"krs-chaos"
        h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
        sends.append(time.time())
        try: s.sendto(h, (dst, 0))
        except OSError: pass
        sent += 1
        nxt += 0.01
        if nxt < now: nxt = now + 0.01
        continue
    r, _, _ = select.select([s], [], [], max(0.0, nxt - now))
    if r:
        while True:
            try: pkt, anc, _, _ = s.recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError): break
            at = time.time()
            for lvl, typ, data in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(data) >= 16:
                    sec, nsec = struct.unpack("qq", data[:16])
                    at = sec + nsec / 1e9
            ihl = (pkt[0] & 15) * 4
            t, _, _, i, q = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
            if t == 0 and i == ident and q not in seen:
                seen.add(q)
                replies.append((q, at))
for t in sends: print("s %.6f" % t)
for q, t in replies: print("r %d %.6f" % (q, t))
"#;

struct Pinger {
    child: Child,
    out: std::path::PathBuf,
}

impl Pinger {
    fn start(lan: &Lan, client: usize, tag: &str) -> Pinger {
        let out = std::env::temp_dir().join(format!("krs-chaos-{tag}-{}.ping", std::process::id()));
        let file = std::fs::File::create(&out).expect("pinger output");
        // Real-time priority where the host allows it (a container may
        // have no real-time budget): then plain python3.
        let rt = lan.nodes[client]
            .command("chrt")
            .args(["-f", "50", "true"])
            .status()
            .is_ok_and(|s| s.success());
        let mut cmd = if rt {
            let mut c = lan.nodes[client].command("chrt");
            c.args(["-f", "50", "python3"]);
            c
        } else {
            println!("chaos: chrt -f refused here; the pinger runs at normal priority");
            lan.nodes[client].command("python3")
        };
        let child = cmd
            .args(["-c", PINGER, VIP])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("start the pinger");
        Pinger { child, out }
    }

    /// Stop it and measure.
    fn stop(mut self) -> PingStats {
        signal_pid(self.child.id(), "INT");
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let _ = std::fs::remove_file(&self.out);
        let sends: Vec<f64> = text
            .lines()
            .filter_map(|l| l.strip_prefix("s ")?.parse().ok())
            .collect();
        // (request index, arrival): the 16-bit sequence unwrapped.
        let mut replies: Vec<(usize, f64)> = Vec::new();
        for l in text.lines().filter_map(|l| l.strip_prefix("r ")) {
            let mut w = l.split_whitespace();
            let (Some(q), Some(t)) = (w.next(), w.next()) else {
                continue;
            };
            let (Ok(q), Ok(t)) = (q.parse::<usize>(), t.parse::<f64>()) else {
                continue;
            };
            let base = replies.last().map_or(0, |r| r.0 & !0xffff);
            let mut idx = base | q;
            if replies.last().is_some_and(|r| idx < r.0) {
                idx += 0x10000;
            }
            replies.push((idx, t));
        }
        let mut st = PingStats {
            sent: sends.len(),
            replies: replies.len(),
            ..PingStats::default()
        };
        for &(i, t) in &replies {
            if let Some(s) = sends.get(i) {
                st.max_rtt = st.max_rtt.max(t - s);
            }
        }
        for w in replies.windows(2) {
            let ((i, a), (j, b)) = (w[0], w[1]);
            st.max_gap = st.max_gap.max(b - a);
            // The part of the gap that is the pinger's own lateness (it
            // sent request j later than 10 ms per request after i) is not
            // the VIP's.
            if let (Some(si), Some(sj)) = (sends.get(i), sends.get(j)) {
                let late = ((sj - si) - 0.010 * (j - i) as f64).max(0.0);
                st.max_unanswered = st.max_unanswered.max(b - a - late);
            }
        }
        for w in sends.windows(2) {
            st.max_send_gap = st.max_send_gap.max(w[1] - w[0]);
        }
        st
    }
}

/// What the pinger saw (times in seconds).
#[derive(Debug, Default)]
struct PingStats {
    sent: usize,
    replies: usize,
    /// The longest time between two replies.
    max_gap: f64,
    /// The same, less the pinger's own lateness in sending.
    max_unanswered: f64,
    /// The longest time between two requests (the pinger's pacing).
    max_send_gap: f64,
    max_rtt: f64,
}

impl Drop for Pinger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Watch the BACKUP's state every 20 ms until dropped; remembers whether it
/// was ever MASTER.
struct Watch {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Watch {
    fn start(dir: std::path::PathBuf) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !s2.load(Ordering::Relaxed) {
                if let Some(st) = status_at(&dir) {
                    let s = st["vrrp_instances"][0]["state"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    if s != "BACKUP" && !seen.contains(&s) {
                        seen.push(s);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            seen
        });
        Watch {
            stop,
            handle: Some(handle),
        }
    }

    /// The states other than BACKUP the node was seen in.
    fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

fn status_at(dir: &std::path::Path) -> Option<Value> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(dir.join("ctl.sock")).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"status\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    serde_json::from_str(&out).ok()
}

/// Kill `n` random workers of `master` with `sig`, each at a random moment
/// (a random pause after the previous one is back). Returns the kills per
/// role.
fn chaos(master: &Daemon, ds: &[&Daemon], sig: &str, n: usize, rng: &mut Rng) -> [u64; 3] {
    let mut kills = [0u64; 3];
    for i in 0..n {
        let r = rng.below(3) as usize;
        let role = ROLES[r];
        let s = master.status().expect("status");
        let (pid, before, _) = worker(&s, role).expect("worker");
        signal_pid(pid, sig);
        kills[r] += 1;
        // Back: a new pid, ready, and one more restart.
        let limit = if sig == "STOP" {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(3)
        };
        wait_until(
            &format!("{role} back after kill {i} ({sig})"),
            limit,
            ds,
            || {
                master.status().is_some_and(|s| {
                    worker(&s, role).is_some_and(|(p, rs, ready)| p != pid && ready && rs > before)
                })
            },
        );
        if sig == "STOP" {
            // The stopped process was killed by the parent (SIGKILL reaches
            // a stopped process); nothing of it is left.
            assert!(
                !tests::daemon::alive(pid),
                "stopped {role} {pid} left alive"
            );
        }
        std::thread::sleep(rng.millis(250, 900));
    }
    kills
}

#[test]
fn killing_workers_of_the_master_under_traffic() {
    if !tests::require(
        "the chaos test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let mut rng = Rng::new();
    let lan = Lan::new("chaos", 3);
    let master = Daemon::start(&lan.nodes[0], "chaos-m", &conf(150), &[]);
    let backup = Daemon::start(&lan.nodes[1], "chaos-b", &conf(100), &[]);
    let ds = [&master, &backup];
    master.wait_ready(3);
    backup.wait_ready(3);
    wait_until("node 1 MASTER", Duration::from_secs(10), &ds, || {
        state(&master).as_deref() == Some("MASTER")
    });
    wait_until("node 2 BACKUP", Duration::from_secs(10), &ds, || {
        state(&backup).as_deref() == Some("BACKUP")
    });
    wait_until(
        "the VIP on node 1 only",
        Duration::from_secs(5),
        &ds,
        || lan.holders(&format!("inet {VIP}/24")) == vec![0],
    );

    let watch = Watch::start(backup.dir.clone());
    let s0 = master.status().expect("status");
    let r0 = restarts(&s0);

    let runs = [("KILL", 100), ("STOP", 30)];
    let mut total = [0u64; 3];
    let mut failures = Vec::new();
    for (sig, n) in runs {
        let ping = Pinger::start(&lan, 2, sig);
        // Replies flowing before the first kill.
        std::thread::sleep(Duration::from_millis(500));
        let t0 = Instant::now();
        let kills = chaos(&master, &ds, sig, n, &mut rng);
        std::thread::sleep(Duration::from_millis(300));
        let p = ping.stop();
        for k in 0..3 {
            total[k] += kills[k];
        }
        let s = master.status().expect("status");
        let r = restarts(&s);
        let counted: Vec<u64> = (0..3).map(|k| r[k] - r0[k]).collect();
        println!(
            "chaos SIG{sig}: {n} kills in {:.1} s (vrrp {}, check {}, ipvs {}); restarts counted so far {:?} (expected {:?}); {} echo requests, {} replies; longest gap between replies {:.1} ms ({:.1} ms less the pinger's own lateness; longest gap between its requests {:.1} ms); longest round trip {:.1} ms",
            t0.elapsed().as_secs_f64(),
            kills[0],
            kills[1],
            kills[2],
            counted,
            total,
            p.sent,
            p.replies,
            p.max_gap * 1000.0,
            p.max_unanswered * 1000.0,
            p.max_send_gap * 1000.0,
            p.max_rtt * 1000.0,
        );
        if counted != total.to_vec() {
            failures.push(format!("SIG{sig}: restarts {counted:?}, kills {total:?}"));
        }
        if Duration::from_secs_f64(p.max_unanswered) > MAX_GAP {
            failures.push(format!(
                "SIG{sig}: the VIP left a gap of {:.1} ms between replies",
                p.max_unanswered * 1000.0
            ));
        }
        // Every request answered but the last few in flight.
        if p.replies + 3 < p.sent || p.sent < n * 20 {
            failures.push(format!(
                "SIG{sig}: {} replies to {} requests",
                p.replies, p.sent
            ));
        }
        if state(&master).as_deref() != Some("MASTER") {
            failures.push(format!("SIG{sig}: node 1 is no longer MASTER"));
        }
    }
    let seen = watch.finish();
    if !seen.is_empty() {
        failures.push(format!("the BACKUP was seen in {seen:?}"));
    }
    let b = backup.status().expect("backup status");
    let bm = &b["vrrp_instances"][0]["counters"]["became_master"];
    if bm.as_u64() != Some(0) {
        failures.push(format!("the BACKUP became MASTER {bm} times"));
    }
    if lan.holders(&format!("inet {VIP}/24")) != vec![0] {
        failures.push("the VIP moved".into());
    }
    let m = master.status().expect("status");
    for (k, role) in ROLES.iter().enumerate() {
        let v = m["workers"][k]["seccomp_violations"].as_u64().unwrap_or(0);
        if m["workers"][k]["role"] == *role && v != 0 {
            failures.push(format!("{role}: {v} seccomp violations"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        logs(&ds)
    );
}
