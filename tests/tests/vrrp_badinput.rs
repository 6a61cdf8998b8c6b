//! A malformed-advert corpus sent at a running MASTER from another
//! namespace on its LAN (raw IPv4 socket, IP_HDRINCL, to 224.0.0.18):
//! each kind is dropped, counted under its reason in `ctl status`, changes
//! no state (every packet carries priority 254 against our 100, so one
//! accepted advert would make the MASTER step down), and a flood of 1000
//! bad packets gives a bounded number of log lines. Adverts for a VRID no
//! instance has are counted by interface (`vrrp_unknown_vrid`), and with
//! `log_unknown_vrids` logged as keepalived does, at a bounded rate.
//! `check_unicast_src`: unicast adverts from a stranger dropped and logged,
//! side by side with keepalived (and taken by both without it).

use serde_json::Value;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;
use tests::Requirement;
use tests::daemon::{Daemon, logs, wait_until};
use tests::lan::{Lan, ip, node_addr};

const CONF: &str = r#"
global_defs {
    router_id badinput
    log_unknown_vrids
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 71
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret1
    }
    virtual_ipaddress {
        10.201.0.171/24
    }
}
vrrp_instance VI_3 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 72
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.201.0.172/24
    }
}
"#;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A VRRP advert's fields, each one open to corruption.
#[derive(Clone)]
struct Adv {
    version: u8,
    kind: u8,
    vrid: u8,
    priority: u8,
    count: u8,
    addrs: Vec<Ipv4Addr>,
    auth_type: u8,
    auth: [u8; 8],
    /// v2: seconds; v3: centiseconds.
    interval: u16,
    bad_checksum: bool,
}

impl Adv {
    fn v2() -> Adv {
        let mut auth = [0u8; 8];
        auth[..7].copy_from_slice(b"secret1");
        Adv {
            version: 2,
            kind: 1,
            vrid: 71,
            priority: 254,
            count: 1,
            addrs: vec![Ipv4Addr::new(10, 201, 0, 171)],
            auth_type: 1,
            auth,
            interval: 1,
            bad_checksum: false,
        }
    }

    fn v3() -> Adv {
        Adv {
            version: 3,
            vrid: 72,
            addrs: vec![Ipv4Addr::new(10, 201, 0, 172)],
            auth_type: 0,
            interval: 100,
            ..Adv::v2()
        }
    }

    fn bytes(&self, src: Ipv4Addr) -> Vec<u8> {
        let mut v = vec![
            (self.version << 4) | self.kind,
            self.vrid,
            self.priority,
            self.count,
        ];
        if self.version == 3 {
            v.extend_from_slice(&(self.interval & 0x0fff).to_be_bytes());
        } else {
            v.push(self.auth_type);
            v.push(self.interval as u8);
        }
        v.extend_from_slice(&[0, 0]);
        for a in &self.addrs {
            v.extend_from_slice(&a.octets());
        }
        // Only v2 carries authentication data (a packet of another
        // version is laid out as its version says, so that it passes the
        // length check and is judged on its version).
        if self.version == 2 {
            v.extend_from_slice(&self.auth);
        }
        let sum = if self.version == 3 {
            let mut p = Vec::new();
            p.extend_from_slice(&src.octets());
            p.extend_from_slice(&GROUP.octets());
            p.extend_from_slice(&[0, 112]);
            p.extend_from_slice(&(v.len() as u16).to_be_bytes());
            p.extend_from_slice(&v);
            csum(&p)
        } else {
            csum(&v)
        };
        let sum = if self.bad_checksum { sum ^ 0x5555 } else { sum };
        v[6..8].copy_from_slice(&sum.to_be_bytes());
        v
    }
}

/// An IPv4 header (the kernel fills in the total length and checksum).
fn ip4(src: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x45, 0xc0, 0, 0, 0, 0, 0, 0, ttl, 112, 0, 0];
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&GROUP.octets());
    v.extend_from_slice(payload);
    v
}

/// Sends `count hexpacket` lines read from stdin on a raw socket.
const SENDER: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for line in sys.stdin:
    n, pkt = line.split()
    pkt = bytes.fromhex(pkt)
    for i in range(int(n)):
        s.sendto(pkt, ("224.0.0.18", 0))
        if i % 50 == 49: time.sleep(0.005)
"#;

fn send(lan: &Lan, node: usize, packets: &[(usize, Vec<u8>)]) {
    let mut child = lan.nodes[node]
        .command("python3")
        .args(["-c", SENDER])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for (n, p) in packets {
            let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(stdin, "{n} {hex}").expect("write");
        }
    }
    let st = child.wait().expect("sender");
    assert!(st.success(), "the raw sender failed: {st}");
}

fn instance<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["vrrp_instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {s}"))
}

fn drops(s: &Value, name: &str) -> serde_json::Map<String, Value> {
    instance(s, name)["counters"]["drops"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn malformed_adverts_are_dropped_counted_and_logged_at_a_bounded_rate() {
    if !tests::require(
        "the malformed-advert test",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let lan = Lan::new("vbad", 2);
    let d = Daemon::start(&lan.nodes[0], "vbad", CONF, &[]);
    let ds = [&d];
    d.wait_for("both instances MASTER", Duration::from_secs(10), |s| {
        ["VI_2", "VI_3"]
            .iter()
            .all(|n| instance(s, n)["state"] == "MASTER")
    });
    ip(&[
        "-n",
        lan.nodes[1].name(),
        "route",
        "add",
        "224.0.0.0/4",
        "dev",
        "eth0",
    ]);
    let src: Ipv4Addr = node_addr(1).parse().expect("addr");
    let s0 = d.status().expect("status");

    // (what, instance, expected reason, packet)
    let good2 = Adv::v2();
    let good3 = Adv::v3();
    let mut cases: Vec<(&str, &str, &str, Vec<u8>)> = Vec::new();
    let v2 = |f: &dyn Fn(&mut Adv)| {
        let mut a = good2.clone();
        f(&mut a);
        ip4(src, 255, &a.bytes(src))
    };
    let v3 = |f: &dyn Fn(&mut Adv)| {
        let mut a = good3.clone();
        f(&mut a);
        ip4(src, 255, &a.bytes(src))
    };
    let mut short = good2.bytes(src);
    short.truncate(6);
    cases.push((
        "short packet",
        "VI_2",
        "packet_length",
        ip4(src, 255, &short),
    ));
    cases.push((
        "bad checksum",
        "VI_2",
        "checksum",
        v2(&|a| a.bad_checksum = true),
    ));
    cases.push((
        "TTL 254",
        "VI_2",
        "ip_ttl",
        ip4(src, 254, &good2.bytes(src)),
    ));
    cases.push(("version 1", "VI_2", "version", v2(&|a| a.version = 1)));
    cases.push((
        "address count mismatch",
        "VI_2",
        "address_list",
        v2(&|a| {
            a.count = 2;
            a.addrs.push(Ipv4Addr::new(10, 201, 0, 99));
        }),
    ));
    cases.push((
        "count says 2, one address",
        "VI_2",
        "packet_length",
        v2(&|a| a.count = 2),
    ));
    cases.push((
        "VIP not in the advert",
        "VI_2",
        "address_list",
        v2(&|a| a.addrs = vec![Ipv4Addr::new(10, 201, 0, 99)]),
    ));
    cases.push((
        "bad password",
        "VI_2",
        "auth_failure",
        v2(&|a| a.auth = *b"wrongpw\0"),
    ));
    cases.push((
        "no authentication",
        "VI_2",
        "auth_type_mismatch",
        v2(&|a| a.auth_type = 0),
    ));
    cases.push((
        "unknown auth type",
        "VI_2",
        "invalid_auth_type",
        v2(&|a| a.auth_type = 7),
    ));
    cases.push((
        "advert interval 2",
        "VI_2",
        "advert_interval",
        v2(&|a| a.interval = 2),
    ));
    cases.push(("type 2", "VI_2", "invalid_type", v2(&|a| a.kind = 2)));
    cases.push((
        "VRRPv3 to a v2 instance",
        "VI_2",
        "version",
        v3(&|a| a.vrid = 71),
    ));
    cases.push((
        "VRRPv2 to a v3 instance",
        "VI_3",
        "version",
        v2(&|a| a.vrid = 72),
    ));
    cases.push((
        "v3 bad checksum",
        "VI_3",
        "checksum",
        v3(&|a| a.bad_checksum = true),
    ));
    cases.push(("v3 TTL 1", "VI_3", "ip_ttl", ip4(src, 1, &good3.bytes(src))));

    // Each kind on its own, so each count is checked against its reason.
    const N: u64 = 20;
    let mut expected: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
    let mut before = s0.clone();
    for (what, inst, reason, pkt) in &cases {
        send(&lan, 1, &[(N as usize, pkt.clone())]);
        *expected.entry((inst, reason)).or_default() += N;
        let want = expected[&(*inst, *reason)];
        let after = d.wait_for(
            &format!("{what}: {want} {reason} drops on {inst}"),
            Duration::from_secs(5),
            |s| drops(s, inst).get(*reason).and_then(Value::as_u64) == Some(want),
        );
        // Nothing else moved.
        for name in ["VI_2", "VI_3"] {
            for (k, v) in drops(&after, name) {
                let exp = expected.get(&(name, k.as_str())).copied().unwrap_or(0);
                assert_eq!(v.as_u64(), Some(exp), "{what}: {name} {k}: {after}");
            }
            assert_eq!(instance(&after, name)["state"], "MASTER", "{what}");
            assert_eq!(
                instance(&after, name)["counters"]["released_master"],
                instance(&before, name)["counters"]["released_master"],
                "{what}"
            );
        }
        before = after;
    }
    // A wrong VRID belongs to no instance: not counted under any
    // instance (keepalived's counters are per instance), but under the
    // interface in `vrrp_unknown_vrid`; logged (log_unknown_vrids) at most
    // REJECT_LOG_BURST times; no state change.
    assert_eq!(s0["vrrp_unknown_vrid"], serde_json::json!({}), "{s0}");
    let log_before = d.log().len();
    send(&lan, 1, &[(N as usize, v2(&|a| a.vrid = 99))]);
    // A v3 advert for VRID 71 (a v2 instance's) still reaches VI_2 as a
    // version drop, and VRID 72 over v2 reaches VI_3: only 99 and 98 are
    // unknown.
    send(&lan, 1, &[(N as usize, v3(&|a| a.vrid = 98))]);
    let s = d.wait_for(
        &format!("{} unknown-VRID drops on eth0", 2 * N),
        Duration::from_secs(5),
        |s| s["vrrp_unknown_vrid"]["eth0"].as_u64() == Some(2 * N),
    );
    assert_eq!(
        s["vrrp_unknown_vrid"].as_object().map(|m| m.len()),
        Some(1),
        "{s}"
    );
    let log_now = d.log();
    let unknown_lines: Vec<&str> = log_now[log_before..]
        .lines()
        .filter(|l| l.contains("Unknown VRID("))
        .collect::<Vec<_>>();
    assert!(
        (1..=5).contains(&unknown_lines.len()),
        "{} unknown-VRID log lines for {} packets:\n{}",
        unknown_lines.len(),
        2 * N,
        logs(&ds)
    );
    assert!(
        unknown_lines[0].contains("Unknown VRID(99) received on interface(eth0). ignoring..."),
        "{}",
        unknown_lines[0]
    );
    for name in ["VI_2", "VI_3"] {
        assert_eq!(instance(&s, name)["state"], "MASTER");
        let total: u64 = drops(&s, name).values().filter_map(Value::as_u64).sum();
        let exp: u64 = expected
            .iter()
            .filter(|((n, _), _)| *n == name)
            .map(|(_, v)| v)
            .sum();
        assert_eq!(total, exp, "{name}: {s}");
    }

    // A flood: 1000 bad checksums, a bounded number of log lines.
    let log_before = d.log();
    send(&lan, 1, &[(1000, v2(&|a| a.bad_checksum = true))]);
    let want = expected[&("VI_2", "checksum")] + 1000;
    d.wait_for("1000 more checksum drops", Duration::from_secs(10), |s| {
        drops(s, "VI_2").get("checksum").and_then(Value::as_u64) == Some(want)
    });
    let new_lines = d.log()[log_before.len()..]
        .lines()
        .filter(|l| l.contains("checksum"))
        .count();
    assert!(
        new_lines <= 6,
        "{new_lines} log lines for 1000 bad packets:\n{}",
        logs(&ds)
    );
    let all_reject_lines = d
        .log()
        .lines()
        .filter(|l| {
            l.contains("Keepalived_vrrp") && !l.contains("Entering") && !l.contains("confined")
        })
        .count();
    println!(
        "bad input: {} packets of {} kinds, then a flood of 1000, dropped and counted; {} VRRP worker log lines in all, {new_lines} for the flood",
        cases.len() as u64 * N + 2 * N,
        cases.len() + 2,
        all_reject_lines
    );
    wait_until("still MASTER", Duration::from_secs(1), &ds, || {
        d.status().is_some_and(|s| {
            ["VI_2", "VI_3"]
                .iter()
                .all(|n| instance(&s, n)["state"] == "MASTER")
        })
    });
    let transitions = d.log().matches("Entering BACKUP").count();
    assert!(transitions <= 2, "state changes:\n{}", logs(&ds));
}

// ------------------------------------------------------------ check_unicast_src

/// Unicast instances at priority 100 whose only peer (10.201.0.200) is
/// silent, so each is MASTER: VRID `v` with `check_unicast_src`, VRID
/// `v + 2` without.
fn unicast_conf(v: u8, src: &str) -> String {
    let inst = |vrid: u8, extra: &str| {
        format!(
            "vrrp_instance U{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n    unicast_src_ip {src}\n    unicast_peer {{\n        10.201.0.200\n    }}\n{extra}    virtual_ipaddress {{\n        10.201.0.{vrid}/24\n    }}\n}}\n"
        )
    };
    format!("{}{}", inst(v, "    check_unicast_src\n"), inst(v + 2, ""))
}

/// Sends `count dst hexpacket` lines read from stdin on a raw socket.
const SENDER_TO: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for line in sys.stdin:
    n, dst, pkt = line.split()
    pkt = bytes.fromhex(pkt)
    for i in range(int(n)):
        s.sendto(pkt, (dst, 0))
        time.sleep(0.01)
"#;

/// A VRRPv2 advert at priority 254 for `vrid` (its VIP 10.201.0.VRID) in
/// an IPv4 header from `src` to `dst`.
fn unicast_advert(vrid: u8, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let a = Adv {
        vrid,
        addrs: vec![Ipv4Addr::new(10, 201, 0, vrid)],
        auth_type: 0,
        auth: [0; 8],
        ..Adv::v2()
    };
    let mut v = vec![0x45, 0xc0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0];
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(&a.bytes(src));
    v
}

/// The state lines "(NAME) Entering BACKUP STATE" (not the start-up one).
fn backup_entries(log: &str, name: &str) -> usize {
    let want = format!("({name}) Entering BACKUP STATE");
    log.lines()
        .filter(|l| l.trim_end().ends_with(&want))
        .count()
}

#[test]
fn check_unicast_src_drops_adverts_from_strangers_as_keepalived() {
    if !tests::require(
        "the check_unicast_src test",
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    ) {
        return;
    }
    let lan = Lan::new("vusrc", 3);
    let rs = Daemon::start(
        &lan.nodes[0],
        "usrc-rs",
        &unicast_conf(81, &node_addr(0)),
        &[],
    );
    let ka = Daemon::start_keepalived(
        &lan.nodes[1],
        "usrc-ka",
        &unicast_conf(82, &node_addr(1)),
        &["-P"],
    );
    let ds = [&rs, &ka];
    wait_until("all MASTER", Duration::from_secs(10), &ds, || {
        [(0, 81), (0, 83), (1, 82), (1, 84)]
            .iter()
            .all(|(n, v)| lan.has_addr(*n, &format!("inet 10.201.0.{v}/24")))
    });
    // From node 2, not a peer: priority 254 to every instance.
    const N: usize = 10;
    let src: Ipv4Addr = node_addr(2).parse().expect("addr");
    let to_rs: Ipv4Addr = node_addr(0).parse().expect("addr");
    let to_ka: Ipv4Addr = node_addr(1).parse().expect("addr");
    let mut child = lan.nodes[2]
        .command("python3")
        .args(["-c", SENDER_TO])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for (vrid, dst) in [(81, to_rs), (83, to_rs), (82, to_ka), (84, to_ka)] {
            let hex: String = unicast_advert(vrid, src, dst)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            writeln!(stdin, "{N} {dst} {hex}").expect("write");
        }
    }
    assert!(
        child.wait().expect("sender").success(),
        "the raw sender failed"
    );
    let key = "other: unicast source not a peer";
    let s = rs.wait_for(
        &format!("{N} '{key}' drops on U81"),
        Duration::from_secs(5),
        |s| drops(s, "U81").get(key).and_then(Value::as_u64) == Some(N as u64),
    );
    assert_eq!(
        instance(&s, "U81")["counters"]["released_master"],
        0,
        "U81 stepped down: {s}"
    );
    assert!(drops(&s, "U83").is_empty(), "{s}");
    let (rlog, klog) = (rs.log(), ka.log());
    let line = |name: &str| format!("({name}) unicast source address {src} not a unicast peer");
    eprintln!(
        "check_unicast_src: keepalived-rs {} log lines for {N} adverts, keepalived {}; without it, BACKUP entries: keepalived-rs {}, keepalived {}",
        rlog.matches(&line("U81")).count(),
        klog.matches(&line("U82")).count(),
        backup_entries(&rlog, "U83"),
        backup_entries(&klog, "U84"),
    );
    // With check_unicast_src: dropped, logged, still MASTER.
    assert!(rlog.contains(&line("U81")), "{}", logs(&ds));
    assert!(klog.contains(&line("U82")), "{}", logs(&ds));
    assert_eq!(backup_entries(&rlog, "U81"), 0, "{}", logs(&ds));
    assert_eq!(backup_entries(&klog, "U82"), 0, "{}", logs(&ds));
    assert!(lan.has_addr(0, "inet 10.201.0.81/24") && lan.has_addr(1, "inet 10.201.0.82/24"));
    // Without it: the stranger's priority 254 wins on both.
    assert!(backup_entries(&rlog, "U83") >= 1, "{}", logs(&ds));
    assert!(backup_entries(&klog, "U84") >= 1, "{}", logs(&ds));
}
