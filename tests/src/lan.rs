//! A LAN for VRRP tests: a bridge in a network namespace of its own and
//! `n` nodes, each a namespace with `eth0` plugged into the bridge
//! (10.201.0.i/24, MAC 02:00:0a:c9:00:0i, for i = 1..=n), all deleted on
//! drop. Plus what the VRRP tests and the failover benchmark look at: the
//! addresses of a node, a tshark capture of the adverts on the bridge, a
//! netlink address monitor, and a daemon's process tree.
//!
//! Traffic stays inside the namespaces: nothing here touches the host's
//! interfaces.

use crate::netns::NetNs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Run `ip ARGS`, panicking with its error output if it fails; returns
/// its standard output.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first three octets of the LAN's IPv4 subnet.
pub const SUBNET: &str = "10.201.0";

/// Node `i`'s (0-based) address on the LAN.
pub fn node_addr(i: usize) -> String {
    format!("{SUBNET}.{}", i + 1)
}

/// Node `i`'s (0-based) MAC address.
pub fn node_mac(i: usize) -> String {
    format!("02:00:0a:c9:00:{:02x}", i + 1)
}

/// A bridge in its own namespace and its nodes.
pub struct Lan {
    pub nodes: Vec<NetNs>,
    bridge: NetNs,
}

impl Lan {
    /// `n` nodes named after `prefix` (a few letters: namespace names are
    /// cut at 12 characters before the process id is added).
    pub fn new(prefix: &str, n: usize) -> Lan {
        let bridge = NetNs::new(&format!("{prefix}-lan"), &[]).expect("bridge namespace");
        let b = bridge.name().to_string();
        ip(&["-n", &b, "link", "add", "br0", "type", "bridge"]);
        ip(&[
            "-n",
            &b,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &b, "link", "set", "br0", "up"]);
        let mut nodes = Vec::new();
        for i in 0..n {
            let ns = NetNs::new(&format!("{prefix}-n{}", i + 1), &[]).expect("node namespace");
            let port = format!("p{}", i + 1);
            ip(&[
                "-n",
                &b,
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns.name(),
            ]);
            ip(&["-n", &b, "link", "set", &port, "master", "br0", "up"]);
            ip(&[
                "-n",
                ns.name(),
                "link",
                "set",
                "eth0",
                "address",
                &node_mac(i),
            ]);
            ip(&[
                "-n",
                ns.name(),
                "addr",
                "add",
                &format!("{}/24", node_addr(i)),
                "dev",
                "eth0",
            ]);
            let dad = ns
                .command("sysctl")
                .args(["-qw", "net.ipv6.conf.eth0.accept_dad=0"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(dad, "sysctl accept_dad");
            ip(&["-n", ns.name(), "link", "set", "eth0", "up"]);
            nodes.push(ns);
        }
        let lan = Lan { nodes, bridge };
        lan.wait_carriers();
        lan
    }

    /// Wait until every node's `eth0` has its carrier (a veth drops
    /// traffic until then).
    fn wait_carriers(&self) {
        let t0 = Instant::now();
        while !(0..self.nodes.len()).all(|i| self.link_up(i)) {
            assert!(t0.elapsed() < Duration::from_secs(5), "links not up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The namespace holding the bridge `br0`.
    pub fn bridge(&self) -> &NetNs {
        &self.bridge
    }

    /// Give node `node` another interface `ifname` on the bridge (a veth
    /// whose bridge end is `p{node+1}{ifname}`), up with its carrier, no
    /// address, IPv6 DAD off.
    pub fn add_port(&self, node: usize, ifname: &str) {
        let ns = self.nodes[node].name();
        let b = self.bridge.name();
        let port = format!("p{}{ifname}", node + 1);
        ip(&[
            "-n", b, "link", "add", &port, "type", "veth", "peer", "name", ifname, "netns", ns,
        ]);
        ip(&["-n", b, "link", "set", &port, "master", "br0", "up"]);
        let dad = self.nodes[node]
            .command("sysctl")
            .args(["-qw", &format!("net.ipv6.conf.{ifname}.accept_dad=0")])
            .status()
            .is_ok_and(|s| s.success());
        assert!(dad, "sysctl accept_dad");
        ip(&["-n", ns, "link", "set", ifname, "up"]);
        let t0 = Instant::now();
        while !ip(&["-n", ns, "-o", "link", "show", ifname]).contains("state UP") {
            assert!(t0.elapsed() < Duration::from_secs(5), "{ifname} not up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Node `node` hears no VRRP: an nftables rule of its own drops
    /// protocol 112 on input (it still sends).
    pub fn deafen(&self, node: usize) {
        let ok = self.nodes[node]
            .command("nft")
            .args([
                "add table inet deaf; add chain inet deaf in { type filter hook input priority 0; }; add rule inet deaf in meta l4proto 112 drop",
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "nft deaf");
    }

    /// Node `node`'s `eth0` is up with a carrier.
    pub fn link_up(&self, node: usize) -> bool {
        ip(&["-n", self.nodes[node].name(), "-o", "link", "show", "eth0"]).contains("state UP")
    }

    /// `ip link set eth0 up|down` in node `node`; waits for the carrier
    /// when bringing it up.
    pub fn set_link(&self, node: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        ip(&["-n", self.nodes[node].name(), "link", "set", "eth0", state]);
        if up {
            self.wait_carriers();
        }
    }

    /// `ip addr show dev eth0` of a node contains `what`.
    pub fn has_addr(&self, node: usize, what: &str) -> bool {
        ip(&[
            "-n",
            self.nodes[node].name(),
            "-o",
            "addr",
            "show",
            "dev",
            "eth0",
        ])
        .contains(what)
    }

    /// The nodes whose `eth0` has `what` (e.g. `inet 10.201.0.100/24`).
    pub fn holders(&self, what: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.has_addr(*i, what))
            .collect()
    }
}

// ---------------------------------------------------------------- capture

/// The capture filter for VRRP adverts (IPv4 and IPv6 protocol 112).
pub const ADVERT_FILTER: &str = "ip proto 112 or ip6 proto 112";

/// A tshark capture of the VRRP adverts crossing the bridge (IPv4 and
/// IPv6 protocol 112), or of what a filter lets through on any interface
/// of a namespace, written to a pcap file and decoded when done.
pub struct BridgeCapture {
    child: Option<Child>,
    pcap: PathBuf,
    err: PathBuf,
}

/// One decoded advert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Advert {
    /// Capture time, seconds since the epoch (CLOCK_REALTIME).
    pub t: f64,
    pub eth_src: String,
    /// Source and destination address, IPv4 or IPv6.
    pub src: String,
    pub dst: String,
    /// TTL or hop limit.
    pub ttl: String,
    pub version: String,
    pub kind: String,
    pub vrid: String,
    pub prio: String,
    pub addr_count: String,
    /// The addresses, comma separated.
    pub addrs: String,
    /// VRRPv2: seconds; VRRPv3: centiseconds.
    pub adver_int: String,
    pub auth_type: String,
    pub auth_string: String,
    /// tshark's checksum status: 1 good, 0 bad, 2 unverified.
    pub checksum_status: String,
}

/// The tshark fields of [`Advert`], in order.
const FIELDS: &[&str] = &[
    "frame.time_epoch",
    "eth.src",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "ip.ttl",
    "ipv6.hlim",
    "vrrp.version",
    "vrrp.type",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "vrrp.adver_int",
    "vrrp.short_adver_int",
    "vrrp.auth_type",
    "vrrp.auth_string",
    "vrrp.checksum.status",
];

/// Wait until tshark/dumpcap, whose stderr goes to `err`, says it is
/// capturing; panic with what it printed after `limit`.
pub fn wait_capturing(err: &Path, limit: Duration) {
    let t0 = Instant::now();
    while !std::fs::read_to_string(err)
        .unwrap_or_default()
        .contains("Capturing on")
    {
        assert!(
            t0.elapsed() < limit,
            "tshark did not start: {}",
            std::fs::read_to_string(err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl BridgeCapture {
    /// Start capturing on the bridge; returns once dumpcap is capturing.
    pub fn start(lan: &Lan, tag: &str) -> BridgeCapture {
        Self::start_filtered(lan, tag, ADVERT_FILTER)
    }

    /// Start capturing what the capture filter `filter` lets through.
    pub fn start_filtered(lan: &Lan, tag: &str, filter: &str) -> BridgeCapture {
        Self::start_on(lan.bridge(), "br0", tag, filter)
    }

    /// Capture on interface `iface` of namespace `ns` (e.g. its loopback)
    /// what `filter` lets through.
    pub fn start_on(ns: &NetNs, iface: &str, tag: &str, filter: &str) -> BridgeCapture {
        let base = std::env::temp_dir().join(format!("krs-cap-{tag}-{}", std::process::id()));
        let pcap = base.with_extension("pcap");
        let err = base.with_extension("err");
        let _ = std::fs::remove_file(&pcap);
        // Its own process group, so that dumpcap goes with it on drop.
        let child = ns
            .command("tshark")
            .process_group(0)
            .args(["-q", "-n", "-i", iface, "-f", filter])
            .arg("-w")
            .arg(&pcap)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).expect("capture errors"))
            .spawn()
            .expect("start tshark");
        wait_capturing(&err, Duration::from_secs(20));
        // dumpcap says so a little before it is.
        std::thread::sleep(Duration::from_millis(300));
        BridgeCapture {
            child: Some(child),
            pcap,
            err,
        }
    }

    /// Stop capturing (what is captured so far stays readable).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Let the last frames reach the file: the kernel hands libpcap
            // its ring's blocks when full or after a timeout, and dumpcap
            // stopped meanwhile drops a block not yet handed over (200 ms
            // measured not to be always enough).
            std::thread::sleep(Duration::from_millis(1000));
            crate::daemon::signal_pid(c.id(), "INT");
            let _ = c.wait();
        }
    }

    pub fn pcap(&self) -> &Path {
        &self.pcap
    }

    /// Stop, then decode every advert captured.
    pub fn adverts(&mut self) -> Vec<Advert> {
        self.stop();
        decode(&self.pcap)
    }
}

/// Frame times as bursts: `(seconds after the first burst, frames in the
/// burst)`; frames less than 300 ms apart are one burst.
pub fn bursts(times: impl IntoIterator<Item = f64>) -> Vec<(f64, usize)> {
    let mut t: Vec<f64> = times.into_iter().collect();
    t.sort_by(f64::total_cmp);
    let mut out: Vec<(f64, usize)> = Vec::new();
    let mut last = f64::NEG_INFINITY;
    for x in t {
        match out.last_mut() {
            Some(b) if x - last < 0.3 => b.1 += 1,
            _ => out.push((x, 1)),
        }
        last = x;
    }
    let t0 = out.first().map_or(0.0, |b| b.0);
    out.into_iter().map(|(t, n)| (t - t0, n)).collect()
}

/// A gratuitous ARP or unsolicited neighbour advertisement seen on the
/// bridge.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    /// Capture time, seconds since the epoch.
    pub t: f64,
    pub eth_src: String,
    /// The ARP sender hardware address (empty for an NA).
    pub arp_sha: String,
    /// The address announced (ARP sender / NA target).
    pub addr: String,
}

/// Decode the gratuitous ARPs and neighbour advertisements of a pcap.
pub fn decode_announcements(pcap: &Path) -> Vec<Announcement> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", "arp or icmpv6.type == 136"])
        .args(["-T", "fields", "-E", "separator=|"])
        .args([
            "-e",
            "frame.time_epoch",
            "-e",
            "eth.src",
            "-e",
            "arp.src.hw_mac",
            "-e",
            "arp.src.proto_ipv4",
        ])
        .args(["-e", "icmpv6.nd.na.target_address"])
        .output()
        .expect("run tshark -r");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f.len() >= 5).then(|| Announcement {
                t: f[0].parse().unwrap_or(0.0),
                eth_src: f[1].to_string(),
                arp_sha: f[2].to_string(),
                addr: if f[3].is_empty() { f[4] } else { f[3] }.to_string(),
            })
        })
        .collect()
}

/// Decode the VRRP adverts of a pcap file with tshark.
pub fn decode(pcap: &Path) -> Vec<Advert> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"])
        .arg(pcap)
        .args(["-o", "vrrp.v3_checksum_as_in_v2:FALSE", "-Y", "vrrp"])
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"])
        .args(["-E", "aggregator=,"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark -r");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            if f.len() != FIELDS.len() {
                return None;
            }
            let or = |a: &str, b: &str| if a.is_empty() { b } else { a }.to_string();
            Some(Advert {
                t: f[0].parse().ok()?,
                eth_src: f[1].into(),
                src: or(f[2], f[3]),
                dst: or(f[4], f[5]),
                ttl: or(f[6], f[7]),
                version: f[8].into(),
                kind: f[9].into(),
                vrid: f[10].into(),
                prio: f[11].into(),
                addr_count: f[12].into(),
                addrs: or(f[13], f[14]),
                adver_int: or(f[15], f[16]),
                auth_type: f[17].into(),
                auth_string: f[18].into(),
                checksum_status: f[19].into(),
            })
        })
        .collect()
}

impl Drop for BridgeCapture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // tshark and its dumpcap (killing tshark alone leaves dumpcap
            // running).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.pcap);
        let _ = std::fs::remove_file(&self.err);
    }
}

// ---------------------------------------------------------------- netlink

/// An address appearing on or leaving a node, as `ip monitor` saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct AddrEvent {
    /// Seconds since the epoch (CLOCK_REALTIME, microseconds).
    pub t: f64,
    pub added: bool,
    /// As `ip` prints it, e.g. `10.201.0.100/24`.
    pub addr: String,
}

/// `ip -ts monitor address` in a namespace: the kernel's address events
/// with their times, collected by a thread.
pub struct AddrMonitor {
    child: Child,
    events: Arc<Mutex<Vec<AddrEvent>>>,
}

impl AddrMonitor {
    pub fn start(ns: &NetNs) -> AddrMonitor {
        let mut child = ns
            .command("ip")
            .args(["-ts", "monitor", "address"])
            .env("TZ", "UTC")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ip monitor");
        let out = child.stdout.take().expect("piped");
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(e) = parse_monitor_line(&line) {
                    ev.lock().expect("lock").push(e);
                }
            }
        });
        // `ip monitor` has subscribed once it runs; give it a moment.
        std::thread::sleep(Duration::from_millis(100));
        AddrMonitor { child, events }
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<AddrEvent> {
        self.events.lock().expect("lock").clone()
    }

    /// The first event at or after `after` (epoch seconds) for `addr`
    /// (added or removed), waiting up to `limit`.
    pub fn wait(&self, addr: &str, added: bool, after: f64, limit: Duration) -> Option<AddrEvent> {
        let t0 = Instant::now();
        loop {
            if let Some(e) = self
                .events()
                .into_iter()
                .find(|e| e.t >= after && e.added == added && e.addr == addr)
            {
                return Some(e);
            }
            if t0.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for AddrMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `[2026-01-02T03:04:05.123456] 2: eth0    inet 10.201.0.100/24 ...` or
/// `[...] Deleted 2: eth0    inet ...`.
fn parse_monitor_line(line: &str) -> Option<AddrEvent> {
    let rest = line.strip_prefix('[')?;
    let (ts, rest) = rest.split_once(']')?;
    let t = parse_utc(ts)?;
    let rest = rest.trim_start();
    let (added, rest) = match rest.strip_prefix("Deleted ") {
        Some(r) => (false, r),
        None => (true, rest),
    };
    let mut words = rest.split_whitespace();
    while let Some(w) = words.next() {
        if w == "inet" || w == "inet6" {
            return Some(AddrEvent {
                t,
                added,
                addr: words.next()?.to_string(),
            });
        }
    }
    None
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC) as seconds since the epoch.
fn parse_utc(s: &str) -> Option<f64> {
    let (date, time) = s.split_once('T')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let h: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3 || h.len() != 3 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h[0] * 3600 + h[1] * 60 + h[2];
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    Some(secs as f64 + frac)
}

/// Seconds since the epoch now (CLOCK_REALTIME, as tshark and `ip -ts`
/// stamp their records).
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

// ---------------------------------------------------------------- processes

/// `pid` and all its descendants (from /proc), parent first.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                let stat =
                    std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
                // pid (comm) state ppid ...
                let ppid = stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid == Some(parent) && !all.contains(&child) {
                    all.push(child);
                }
            }
        }
        i += 1;
    }
    all
}

/// Send `sig` to all of `pids` with one kill(1), so they are hit at once.
pub fn signal_all(pids: &[u32], sig: &str) {
    let mut cmd = Command::new("kill");
    cmd.arg(format!("-{sig}"));
    for p in pids {
        cmd.arg(p.to_string());
    }
    let ok = cmd.status().is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pids:?} failed");
}

/// SIGKILL all of `pids` as if the machine lost power: SIGSTOP them all
/// first, so none sees another die and reacts (a keepalived-rs worker
/// whose parent is gone stops cleanly, with priority-0 adverts), then
/// SIGKILL them all.
pub fn kill_at_once(pids: &[u32]) {
    signal_all(pids, "STOP");
    signal_all(pids, "KILL");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_lines() {
        let e = parse_monitor_line(
            "[2026-11-22T06:01:28.148305] 2: eth0    inet 10.201.0.100/24 scope global secondary eth0",
        )
        .expect("parsed");
        assert!(e.added);
        assert_eq!(e.addr, "10.201.0.100/24");
        assert!((e.t - 1_795_327_288.148_305).abs() < 1e-6, "{}", e.t);
        let e = parse_monitor_line(
            "[2026-11-22T06:01:29.000001] Deleted 2: eth0    inet6 fd00::1/64 scope global",
        )
        .expect("parsed");
        assert!(!e.added);
        assert_eq!(e.addr, "fd00::1/64");
        assert_eq!(parse_utc("1970-01-01T00:00:00.5"), Some(0.5));
        assert_eq!(parse_utc("2000-03-01T00:00:00.0"), Some(951_868_800.0));
        assert!(parse_monitor_line("       valid_lft forever preferred_lft forever").is_none());
    }
}
