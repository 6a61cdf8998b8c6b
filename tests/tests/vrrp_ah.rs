//! VRRPv2 `authentication { auth_type AH }` side by side with Debian's
//! keepalived 2.2.7, on a LAN of namespaces:
//!
//! * a keepalived-rs node (priority 150) and a keepalived node (100) with
//!   the same AH password elect one MASTER (ours, the VIP on it alone),
//!   hand over both ways (ours stopped: keepalived takes over; ours back:
//!   it preempts, numbering on from keepalived's sequence numbers), and on
//!   the bridge tshark sees AH (IP protocol 51) adverts from both, laid out
//!   the same (IP, AH and VRRP fields), with SPI = source and sequence
//!   numbers counting up (across a reload of ours too, as keepalived's,
//!   and across a restart of our VRRP worker while MASTER);
//! * with different passwords each refuses the other's adverts ("invalid
//!   IPSEC HMAC-MD5 value") and both are MASTER, exactly as a pair of
//!   keepalived daemons with different passwords (run beside them), and
//!   keepalived-rs counts the refusals as authentication failures.

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;
use tests::Requirement;
use tests::daemon::{Daemon, logs, wait_until};
use tests::lan::{BridgeCapture, Lan, node_addr};

fn conf(name: &str, vrid: u8, prio: u8, password: &str) -> String {
    format!(
        r#"
global_defs {{
    router_id {name}
}}
vrrp_instance {name} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {prio}
    advert_int 1
    authentication {{
        auth_type AH
        auth_pass {password}
    }}
    virtual_ipaddress {{
        10.201.0.{vrid}/24
    }}
}}
"#
    )
}

fn require() -> bool {
    tests::require(
        "the VRRP AH tests",
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    )
}

fn instance<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["vrrp_instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {s}"))
}

fn drops(s: &Value, name: &str) -> BTreeMap<String, u64> {
    instance(s, name)["counters"]["drops"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// One AH advert on the wire, as tshark decodes it.
#[derive(Debug, Clone)]
struct AhAdvert {
    src: String,
    /// The layout: every field but the addresses, IP id, header checksum,
    /// priority, VRRP checksum, sequence number and ICV.
    layout: Vec<String>,
    spi: u32,
    seq: u32,
    prio: u8,
}

const AH_FIELDS: &[&str] = &[
    "ip.src",
    "ah.spi",
    "ah.sequence",
    "vrrp.prio",
    // the layout
    "ip.hdr_len",
    "ip.dsfield",
    "ip.len",
    "ip.flags",
    "ip.ttl",
    "ip.proto",
    "ip.dst",
    "ah.next_header",
    "ah.length",
    "ah.reserved",
    "vrrp.version",
    "vrrp.type",
    "vrrp.virt_rtr_id",
    "vrrp.addr_count",
    "vrrp.auth_type",
    "vrrp.adver_int",
    "vrrp.ip_addr",
    "vrrp.checksum.status",
];

fn decode_ah(cap: &mut BridgeCapture) -> Vec<AhAdvert> {
    cap.stop();
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"])
        .arg(cap.pcap())
        .args(["-Y", "ah"])
        .args(["-T", "fields", "-E", "separator=|"]);
    for f in AH_FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark -r");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            assert_eq!(f.len(), AH_FIELDS.len(), "{l}");
            let num = |s: &str| {
                s.strip_prefix("0x")
                    .map_or_else(|| s.parse().ok(), |h| u32::from_str_radix(h, 16).ok())
                    .unwrap_or_else(|| panic!("not a number: {s} in {l}"))
            };
            AhAdvert {
                src: f[0].into(),
                spi: num(f[1]),
                seq: num(f[2]),
                prio: num(f[3]) as u8,
                layout: f[4..].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

fn spi_of(addr: &str) -> u32 {
    u32::from(addr.parse::<std::net::Ipv4Addr>().expect("IPv4"))
}

#[test]
fn ah_elects_and_fails_over_both_ways_with_keepalived() {
    if !require() {
        return;
    }
    let lan = Lan::new("vah", 2);
    let vip = "inet 10.201.0.161/24";
    let mut cap = BridgeCapture::start_filtered(&lan, "vah", "ip proto 51 or ip proto 112");
    let rs_conf = conf("AH_RS", 161, 150, "secret12");
    // Ours first, alone: MASTER; then keepalived (100) joins as BACKUP.
    let rs = Daemon::start(&lan.nodes[0], "vah-rs", &rs_conf, &[]);
    let took = wait_until(
        "keepalived-rs MASTER",
        Duration::from_secs(10),
        &[&rs],
        || lan.holders(vip) == vec![0],
    );
    rs.wait_for("AH_RS MASTER", Duration::from_secs(5), |s| {
        instance(s, "AH_RS")["state"] == "MASTER"
    });
    let ka = Daemon::start_keepalived(
        &lan.nodes[1],
        "vah-ka",
        &conf("AH_KA", 161, 100, "secret12"),
        &["-P"],
    );
    let ds = [&rs, &ka];
    // Stable: keepalived accepts our adverts and stays BACKUP.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(lan.holders(vip), vec![0], "{}", logs(&ds));
    let klog = ka.log();
    assert!(klog.contains("(AH_KA) Entering BACKUP STATE"), "{klog}");
    assert!(!klog.contains("(AH_KA) Entering MASTER STATE"), "{klog}");
    assert!(!klog.contains("IPSEC"), "{klog}");
    eprintln!("AH election: keepalived-rs MASTER {took:?} after start");

    // Ours stops (priority 0): keepalived takes over.
    rs.signal("TERM");
    let took = wait_until("keepalived MASTER", Duration::from_secs(10), &ds, || {
        lan.holders(vip) == vec![1]
    });
    eprintln!("AH failover to keepalived: {took:?}");
    let rlog_before = rs.log();
    drop(rs);
    std::thread::sleep(Duration::from_secs(2));

    // Ours back, counter from 0: it takes keepalived's numbers, preempts
    // with higher ones, and keepalived steps down.
    let rs = Daemon::start(&lan.nodes[0], "vah-rs2", &rs_conf, &[]);
    let ds = [&rs, &ka];
    // Four seconds on, ours is still the only MASTER and keepalived has
    // not complained about a sequence number (nor taken over).
    let steady = || {
        std::thread::sleep(Duration::from_secs(4));
        assert_eq!(lan.holders(vip), vec![0], "{}", logs(&ds));
        let klog = ka.log();
        assert!(!klog.contains("IPSEC"), "{klog}");
        assert_eq!(
            klog.matches("(AH_KA) Entering MASTER STATE").count(),
            1,
            "{klog}"
        );
    };
    let took = wait_until(
        "keepalived-rs MASTER again",
        Duration::from_secs(10),
        &ds,
        || lan.holders(vip) == vec![0],
    );
    eprintln!("AH failback to keepalived-rs (preempting): {took:?}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lan.holders(vip), vec![0], "{}", logs(&ds));
    let s = rs.status().expect("status");
    assert!(drops(&s, "AH_RS").is_empty(), "{s}");
    let klog = ka.log();
    assert!(!klog.contains("IPSEC"), "{klog}");
    assert!(
        klog.matches("(AH_KA) Entering BACKUP STATE").count() >= 2,
        "{klog}"
    );
    assert!(!rlog_before.contains("IPSEC"), "{rlog_before}");

    // A reload: ours goes on numbering, as keepalived does (a MASTER
    // starting again from 1 would have its adverts refused as replays
    // and keepalived would take over).
    let gen0 = rs.status().expect("status")["generation"].as_u64();
    rs.signal("HUP");
    rs.wait_for("the reload", Duration::from_secs(10), |s| {
        s["generation"].as_u64() != gen0
    });
    steady();

    // SIGKILL of our VRRP worker: its successor resumes MASTER from the
    // parent's record, numbering on above the last number it reported (a
    // counter at 0 would be refused as replays and keepalived would take
    // over).
    let (old_pid, restarts, _) =
        tests::daemon::worker(&rs.status().expect("status"), "vrrp").expect("vrrp worker");
    tests::daemon::signal_pid(old_pid, "KILL");
    rs.wait_for("a new VRRP worker", Duration::from_secs(10), |s| {
        tests::daemon::worker(s, "vrrp")
            .is_some_and(|(p, r, ready)| p != old_pid && r == restarts + 1 && ready)
    });
    steady();

    // The wire: AH adverts from both, the same layout, SPI = source,
    // sequence numbers counting up per sender within each mastership.
    let adverts = decode_ah(&mut cap);
    let (rs_addr, ka_addr) = (node_addr(0), node_addr(1));
    let from =
        |a: &str| -> Vec<AhAdvert> { adverts.iter().filter(|x| x.src == a).cloned().collect() };
    let (ours, theirs) = (from(&rs_addr), from(&ka_addr));
    assert!(ours.len() >= 6 && theirs.len() >= 2, "{adverts:#?}");
    assert_eq!(adverts.len(), ours.len() + theirs.len());
    let layouts: std::collections::BTreeSet<&Vec<String>> =
        adverts.iter().map(|a| &a.layout).collect();
    assert_eq!(layouts.len(), 1, "layouts differ: {layouts:#?}");
    eprintln!(
        "AH adverts: keepalived-rs {}, keepalived {}, one layout: {:?}",
        ours.len(),
        theirs.len(),
        layouts.iter().next()
    );
    for a in &adverts {
        assert_eq!(a.spi, spi_of(&a.src), "{a:?}");
    }
    let order: Vec<(String, u32, u8)> = adverts
        .iter()
        .map(|a| (a.src.clone(), a.seq, a.prio))
        .collect();
    eprintln!("AH (source, sequence, priority) in order: {order:?}");
    // Ours starts at 1. A backup takes the master's numbers and goes on
    // from them when it takes over (keepalived from ours, ours restarted
    // from keepalived's), so the numbers on the wire only go up.
    assert_eq!(ours[0].seq, 1, "{order:?}");
    for w in adverts.windows(2) {
        assert!(w[1].seq > w[0].seq, "{order:?}");
    }
}

#[test]
fn ah_with_a_wrong_password_is_refused_as_keepalived_refuses_it() {
    if !require() {
        return;
    }
    // Nodes 0 (keepalived-rs) and 1 (keepalived): VRID 162, passwords
    // differ. Nodes 2 and 3: two keepalived, VRID 163, passwords differ.
    let lan = Lan::new("vahbad", 4);
    let rs = Daemon::start(
        &lan.nodes[0],
        "vahbad-rs",
        &conf("BAD_RS", 162, 150, "secret12"),
        &[],
    );
    let ka = Daemon::start_keepalived(
        &lan.nodes[1],
        "vahbad-ka",
        &conf("BAD_KA", 162, 100, "other999"),
        &["-P"],
    );
    let ka2 = Daemon::start_keepalived(
        &lan.nodes[2],
        "vahbad-ka2",
        &conf("BAD_K2", 163, 150, "secret12"),
        &["-P"],
    );
    let ka3 = Daemon::start_keepalived(
        &lan.nodes[3],
        "vahbad-ka3",
        &conf("BAD_K3", 163, 100, "other999"),
        &["-P"],
    );
    let ds = [&rs, &ka, &ka2, &ka3];
    // Each refuses the other's adverts: both MASTER, in either pair.
    wait_until("all four MASTER", Duration::from_secs(10), &ds, || {
        lan.holders("inet 10.201.0.162/24") == vec![0, 1]
            && lan.holders("inet 10.201.0.163/24") == vec![2, 3]
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(lan.holders("inet 10.201.0.162/24"), vec![0, 1]);
    assert_eq!(lan.holders("inet 10.201.0.163/24"), vec![2, 3]);
    let line = |name: &str| {
        format!(
            "({name}) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
        )
    };
    let (rlog, klog, k2log, k3log) = (rs.log(), ka.log(), ka2.log(), ka3.log());
    for (log, name) in [
        (&rlog, "BAD_RS"),
        (&klog, "BAD_KA"),
        (&k2log, "BAD_K2"),
        (&k3log, "BAD_K3"),
    ] {
        assert!(log.contains(&line(name)), "{name}: {}", logs(&ds));
        assert!(
            log.contains(&format!("({name}) Entering MASTER STATE")),
            "{name}: {}",
            logs(&ds)
        );
        assert!(
            !log.contains(&format!("({name}) Master received advert")),
            "{name}: {}",
            logs(&ds)
        );
    }
    // keepalived's adverts, one a second, each refused and counted.
    let s = rs.wait_for("3 auth failures", Duration::from_secs(10), |s| {
        drops(s, "BAD_RS").get("auth_failure").copied().unwrap_or(0) >= 3
    });
    let d = drops(&s, "BAD_RS");
    let n = d["auth_failure"];
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(instance(&s, "BAD_RS")["state"], "MASTER");
    eprintln!(
        "AH wrong password: keepalived-rs counted {n} auth failures; log lines: keepalived-rs {}, keepalived {}, keepalived pair {} / {}",
        rs.log().matches(&line("BAD_RS")).count(),
        ka.log().matches(&line("BAD_KA")).count(),
        ka2.log().matches(&line("BAD_K2")).count(),
        ka3.log().matches(&line("BAD_K3")).count()
    );
}
