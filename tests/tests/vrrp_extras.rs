//! The second half of VRRP configuration, end to end and side by side with
//! Debian's keepalived 2.2.7 running the same configuration in another
//! namespace of the same LAN:
//!
//! - `virtual_routes` / `virtual_rules` (installed on MASTER, removed on
//!   BACKUP and on stop) and `static_ipaddress` / `static_routes` /
//!   `static_rules` (installed at start, kept across state changes,
//!   removed on stop), as `ip route` / `ip rule` / `ip addr` show them.
//!
//! Root and iproute2 are required; under CI (CI=true) a missing one fails
//! the test.

use std::time::Duration;
use tests::Daemon;
use tests::daemon::wait_until;
use tests::lan::{Lan, bursts, ip};
use tests::side::{self, Side, lower_priority_pairs, stop};

// ------------------------------------------------------------ routes

/// One instance with routes and rules, and static entries; `vrid` differs
/// per node so the two daemons do not elect against each other.
fn routes_conf(vrid: u8) -> String {
    format!(
        r#"
global_defs {{
    router_id routes_{vrid}
}}
static_ipaddress {{
    192.168.77.1/24 dev eth0
}}
static_routes {{
    10.240.0.0/24 via 192.168.77.254 dev eth0
    10.241.0.0/24 via 192.168.77.254 dev eth0 table 100
}}
static_rules {{
    from 10.250.0.0/24 table 100
}}
vrrp_instance VI_{vrid} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    version 3
    priority 100
    advert_int 0.5
    virtual_ipaddress {{
        10.201.0.{vrid}/24
    }}
    virtual_routes {{
        10.230.0.0/24 via 10.201.0.254 dev eth0
        10.231.0.0/24 via 10.201.0.254 dev eth0 table 101 metric 7
        blackhole 10.232.0.0/24
    }}
    virtual_rules {{
        from 10.231.0.0/24 table 101
        to 10.233.0.0/24 fwmark 5 table 101 priority 200
    }}
}}
"#
    )
}

/// The two instances of `routes_conf` at a higher priority: both other
/// nodes go BACKUP.
const PREEMPTOR: &str = r#"
vrrp_instance A {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority 200
    advert_int 0.5
    virtual_ipaddress {
        10.201.0.51/24
    }
}
vrrp_instance B {
    state BACKUP
    interface eth0
    virtual_router_id 52
    version 3
    priority 200
    advert_int 0.5
    virtual_ipaddress {
        10.201.0.52/24
    }
}
"#;

/// What keepalived installed in a node's namespace, in `ip`'s words:
/// the routes of protocol keepalived in every table, the rules of
/// protocol keepalived, and the addresses in 192.168.77.0/24.
fn installed(lan: &Lan, node: usize) -> Vec<String> {
    let ns = lan.nodes[node].name();
    let mut v: Vec<String> = Vec::new();
    for l in ip(&["-n", ns, "-4", "route", "show", "table", "all"]).lines() {
        if l.contains("proto keepalived") {
            v.push(format!("route {}", l.trim()));
        }
    }
    for l in ip(&["-n", ns, "-4", "rule", "show"]).lines() {
        if l.contains("proto keepalived") {
            v.push(format!("rule {}", l.trim()));
        }
    }
    for l in ip(&["-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"]).lines() {
        if l.contains("192.168.77.") {
            let a = l.split_whitespace().nth(3).unwrap_or("");
            v.push(format!("addr {a}"));
        }
    }
    v.sort();
    v
}

fn has_vip(lan: &Lan, node: usize, vrid: u8) -> bool {
    lan.has_addr(node, &format!("inet 10.201.0.{vrid}/24"))
}

#[test]
fn routes_rules_and_static_entries_as_keepalived() {
    if !side::ready("the VRRP routes and rules test", &[]) {
        return;
    }
    let mut side = Side::on("vrroute")
        .nodes(3)
        .start(&routes_conf(51), &routes_conf(52));
    // At start, BACKUP: the static entries only.
    let statics = [
        "addr 192.168.77.1/24",
        "route 10.240.0.0/24 via 192.168.77.254 dev eth0 proto keepalived",
        "route 10.241.0.0/24 via 192.168.77.254 dev eth0 table 100 proto keepalived",
    ];
    side.wait("static entries", Duration::from_secs(5), |lan| {
        [0, 1].iter().all(|n| {
            statics
                .iter()
                .all(|s| installed(lan, *n).iter().any(|x| x == s))
        })
    });
    let at_start = side.same("at start", installed);
    assert!(
        at_start
            .iter()
            .any(|l| l.starts_with("rule") && l.contains("from 10.250.0.0/24 lookup 100")),
        "{at_start:?}"
    );
    assert!(
        !at_start.iter().any(|l| l.contains("10.23")),
        "{at_start:?}"
    );
    // MASTER: the virtual routes and rules join them.
    side.wait("both MASTER", Duration::from_secs(10), |lan| {
        has_vip(lan, 0, 51) && has_vip(lan, 1, 52)
    });
    side.wait("virtual routes", Duration::from_secs(3), |lan| {
        installed(lan, 0).len() > at_start.len() && installed(lan, 1).len() > at_start.len()
    });
    let master = side.same("MASTER", installed);
    eprintln!(
        "routes: as MASTER, both install:\n  {}",
        master.join("\n  ")
    );
    for want in [
        "route 10.230.0.0/24 via 10.201.0.254 dev eth0 proto keepalived",
        "route 10.231.0.0/24 via 10.201.0.254 dev eth0 table 101 proto keepalived metric 7",
        "route blackhole 10.232.0.0/24 proto keepalived",
    ] {
        assert!(
            master.iter().any(|l| l == want),
            "{want} missing: {master:?}"
        );
    }
    assert_eq!(
        master
            .iter()
            .filter(|l| l.starts_with("rule") && l.contains("lookup 101"))
            .count(),
        2,
        "{master:?}"
    );
    // BACKUP (a higher priority appears): the virtual ones go, the static
    // ones stay.
    let pre = Daemon::start(&side.lan.nodes[2], "routes-pre", PREEMPTOR, &[]);
    let lan = &side.lan;
    wait_until(
        "both BACKUP",
        Duration::from_secs(10),
        &[&side.rs, &side.ka, &pre],
        || !has_vip(lan, 0, 51) && !has_vip(lan, 1, 52),
    );
    side.wait("virtual routes removed", Duration::from_secs(3), |lan| {
        installed(lan, 0) == at_start && installed(lan, 1) == at_start
    });
    side.same("BACKUP", installed);
    // Stop: everything goes.
    side.stop();
    let after = side.same("after stop", installed);
    assert!(after.is_empty(), "left after stop: {after:?}");
}

// ------------------------------------------------------------ VMAC

fn vmac_conf(priority: u8) -> String {
    format!(
        r#"
global_defs {{
    router_id vmac_{priority}
}}
vrrp_instance V4 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    use_vmac
    virtual_ipaddress {{
        10.201.0.100/24
    }}
}}
vrrp_instance V6 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority {priority}
    advert_int 1
    use_vmac
    virtual_ipaddress {{
        fe80::52/64
        2001:db8::52/64
    }}
}}
"#
    )
}

const MAC4: &str = "00:00:5e:00:01:33";
const MAC6: &str = "00:00:5e:00:02:34";

/// How a node's VMACs and interfaces are set up: the VMACs' kind, mode,
/// MAC and address generation, and the sysctls keepalived sets.
fn vmac_setup(lan: &Lan, node: usize) -> Vec<String> {
    let ns = &lan.nodes[node];
    let mut v = Vec::new();
    for dev in ["vrrp.51", "vrrp.52"] {
        let d = ip(&["-n", ns.name(), "-d", "link", "show", dev]);
        let words: Vec<&str> = d.split_whitespace().collect();
        let after = |w: &str| {
            words
                .iter()
                .position(|x| *x == w)
                .and_then(|i| words.get(i + 1))
                .copied()
                .unwrap_or("?")
                .to_string()
        };
        v.push(format!(
            "{dev}: mac {} addrgenmode {}",
            after("link/ether"),
            after("addrgenmode")
        ));
        v.push(format!(
            "{dev}: macvlan mode private {}",
            d.contains("macvlan mode private")
        ));
    }
    let read = |fam: &str, dev: &str, key: &str| sysctl(lan, node, fam, dev, key);
    for dev in ["all", "default", "lo", "eth0", "vrrp.51", "vrrp.52"] {
        for key in [
            "arp_ignore",
            "arp_filter",
            "rp_filter",
            "accept_local",
            "promote_secondaries",
        ] {
            v.push(format!("{dev} ipv4 {key}={}", read("ipv4", dev, key)));
        }
        for key in ["disable_ipv6", "addr_gen_mode"] {
            v.push(format!("{dev} ipv6 {key}={}", read("ipv6", dev, key)));
        }
    }
    v
}

/// `net.{fam}.conf.{dev}.{key}` in a node.
fn sysctl(lan: &Lan, node: usize, fam: &str, dev: &str, key: &str) -> String {
    let out = lan.nodes[node]
        .command("cat")
        .arg(format!("/proc/sys/net/{fam}/conf/{dev}/{key}"))
        .output()
        .expect("cat");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The IPv6 link-local addresses of a node's device.
fn link_locals(lan: &Lan, node: usize, dev: &str) -> Vec<String> {
    ip(&[
        "-n",
        lan.nodes[node].name(),
        "-6",
        "-o",
        "addr",
        "show",
        "dev",
        dev,
        "scope",
        "link",
    ])
    .lines()
    .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
    .collect()
}

/// `ip addr show dev DEV` contains `what` (a missing DEV does not).
fn on_dev(lan: &Lan, node: usize, dev: &str, what: &str) -> bool {
    std::process::Command::new("ip")
        .args([
            "-n",
            lan.nodes[node].name(),
            "-o",
            "addr",
            "show",
            "dev",
            dev,
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(what))
}

fn dev_exists(lan: &Lan, node: usize, dev: &str) -> bool {
    ip(&["-n", lan.nodes[node].name(), "-o", "link", "show"])
        .lines()
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|n| n.split('@').next() == Some(dev))
        })
}

#[test]
fn vmac_as_keepalived() {
    if !side::ready("the VRRP VMAC test", &["tshark", "nft"]) {
        return;
    }
    let setup = Side::on("vrvmac").capture("ip proto 112 or ip6 proto 112 or arp or icmp6");
    let lan = setup.lan();
    // As systemd sets it: keepalived then moves rp_filter from `all` to the
    // interfaces.
    for n in &lan.nodes {
        let ok = n
            .command("sysctl")
            .args(["-qw", "net.ipv4.conf.all.rp_filter=2"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "sysctl all.rp_filter");
    }
    let mut side = setup.start_on(lan, &vmac_conf(150), &vmac_conf(100));
    let t = side.wait(
        "keepalived-rs MASTER on its VMACs",
        Duration::from_secs(10),
        |lan| {
            on_dev(lan, 0, "vrrp.51", "inet 10.201.0.100/24")
                && on_dev(lan, 0, "vrrp.52", "2001:db8::52/64")
        },
    );
    eprintln!(
        "vmac: keepalived-rs MASTER in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );
    // keepalived (BACKUP) made the same VMACs, with the same settings.
    side.wait("keepalived's VMACs", Duration::from_secs(5), |lan| {
        dev_exists(lan, 1, "vrrp.51") && dev_exists(lan, 1, "vrrp.52")
    });
    let rs_setup = side.same("the VMACs' setup", vmac_setup);
    eprintln!("vmac: both:\n  {}", rs_setup.join("\n  "));
    // And the same nftables rules for the VMACs' IGMP/MLD reports.
    side.agree("the VMAC rule set", ruleset);
    let lan = &side.lan;
    let text = nft_text(lan, 0);
    for want in [
        "ip protocol igmp meta oifkind \"macvlan\" dup to ip daddr device oif map @vmac_map drop",
        "\"vrrp.51\" : \"eth0\"",
        "\"vrrp.52\" : \"eth0\"",
        "icmpv6 type nd-router-solicit meta oifkind \"macvlan\" oif @vmac_set drop",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    for want in [
        format!("vrrp.51: mac {MAC4} addrgenmode none"),
        format!("vrrp.52: mac {MAC6} addrgenmode none"),
        "vrrp.51: macvlan mode private true".to_string(),
        "vrrp.52: macvlan mode private true".to_string(),
        "eth0 ipv4 arp_ignore=1".to_string(),
        "eth0 ipv4 arp_filter=1".to_string(),
        "vrrp.51 ipv4 accept_local=1".to_string(),
        "vrrp.51 ipv6 disable_ipv6=1".to_string(),
        "all ipv4 rp_filter=0".to_string(),
        "default ipv4 rp_filter=2".to_string(),
        "eth0 ipv4 rp_filter=2".to_string(),
        "vrrp.51 ipv4 rp_filter=0".to_string(),
    ] {
        assert!(rs_setup.contains(&want), "{want} not in {rs_setup:?}");
    }
    // The IPv6 VMAC carries the base interface's link-local address.
    for node in [0, 1] {
        let base = link_locals(lan, node, "eth0");
        let vmac = link_locals(lan, node, "vrrp.52");
        assert!(
            !base.is_empty() && base.iter().all(|a| vmac.contains(a)),
            "node {}: eth0 {base:?}, vrrp.52 {vmac:?}",
            node + 1
        );
    }
    // Stop: keepalived takes over; our VMACs are gone and eth0's ARP
    // sysctls are back (keepalived 2.2.7 leaves them at 1).
    stop(&mut side.rs);
    side.wait("keepalived MASTER", Duration::from_secs(5), |lan| {
        on_dev(lan, 1, "vrrp.51", "inet 10.201.0.100/24")
            && on_dev(lan, 1, "vrrp.52", "2001:db8::52/64")
    });
    let lan = &side.lan;
    assert!(!dev_exists(lan, 0, "vrrp.51") && !dev_exists(lan, 0, "vrrp.52"));
    for key in ["arp_ignore", "arp_filter", "rp_filter"] {
        assert_eq!(sysctl(lan, 0, "ipv4", "eth0", key), "0", "eth0 {key}");
    }
    assert_eq!(sysctl(lan, 0, "ipv4", "all", "rp_filter"), "2");
    assert_eq!(sysctl(lan, 0, "ipv4", "default", "rp_filter"), "0");
    // Started again it preempts; a killed VRRP worker's successor adopts
    // the VMACs (keepalived#2693) and stays MASTER.
    side.rs = Daemon::start(&side.lan.nodes[0], "vmac-rs2", &vmac_conf(150), &[]);
    side.wait("keepalived-rs preempts", Duration::from_secs(10), |lan| {
        on_dev(lan, 0, "vrrp.51", "inet 10.201.0.100/24")
            && !on_dev(lan, 1, "vrrp.51", "inet 10.201.0.100/24")
    });
    let rs = &side.rs;
    let st = rs.status().expect("status");
    let (pid, _, _) = tests::daemon::worker(&st, "vrrp").expect("vrrp worker");
    tests::daemon::signal_pid(pid, "KILL");
    rs.wait_for("a new VRRP worker", Duration::from_secs(10), |s| {
        tests::daemon::worker(s, "vrrp").is_some_and(|(p, r, ready)| p != pid && r >= 1 && ready)
    });
    side.wait("VMACs adopted", Duration::from_secs(5), |_| {
        rs.log().contains("(V4) adopting the existing VMAC vrrp.51")
            && rs.log().contains("(V6) adopting the existing VMAC vrrp.52")
    });
    std::thread::sleep(Duration::from_millis(1500));
    let lan = &side.lan;
    assert!(
        on_dev(lan, 0, "vrrp.51", "inet 10.201.0.100/24"),
        "{}",
        rs.log()
    );
    assert!(
        !on_dev(lan, 1, "vrrp.51", "inet 10.201.0.100/24"),
        "{}",
        side.logs()
    );
    stop(&mut side.rs);
    let lan = &side.lan;
    assert!(!dev_exists(lan, 0, "vrrp.51") && !dev_exists(lan, 0, "vrrp.52"));
    std::thread::sleep(Duration::from_millis(1500));
    stop(&mut side.ka);
    side.stop_capture();
    // On the wire: every advert of either implementation comes from the
    // VMAC's MAC, and so do the gratuitous ARPs and NAs for the VIPs.
    let adverts = side.adverts();
    let lan = &side.lan;
    for (node, src4) in [(0, "10.201.0.1"), (1, "10.201.0.2")] {
        let v4: Vec<_> = adverts.iter().filter(|a| a.src == src4).collect();
        assert!(!v4.is_empty(), "no IPv4 advert from node {}", node + 1);
        assert!(
            v4.iter().all(|a| a.eth_src == MAC4 && a.vrid == "51"),
            "{v4:?}"
        );
        let v6: Vec<_> = adverts
            .iter()
            .filter(|a| {
                a.vrid == "52"
                    && link_locals(lan, node, "eth0")
                        .iter()
                        .any(|l| l.starts_with(&a.src))
            })
            .collect();
        assert!(!v6.is_empty(), "no IPv6 advert from node {}", node + 1);
        assert!(v6.iter().all(|a| a.eth_src == MAC6), "{v6:?}");
    }
    let ann = side.announcements();
    let garps: Vec<_> = ann.iter().filter(|a| a.addr == "10.201.0.100").collect();
    assert!(garps.len() >= 2, "{ann:?}");
    assert!(
        garps.iter().all(|a| a.eth_src == MAC4 && a.arp_sha == MAC4),
        "{garps:?}"
    );
    let nas: Vec<_> = ann.iter().filter(|a| a.addr == "2001:db8::52").collect();
    assert!(nas.len() >= 2, "{ann:?}");
    assert!(nas.iter().all(|a| a.eth_src == MAC6), "{nas:?}");
    eprintln!(
        "vmac: {} adverts, {} GARPs, {} NAs on the bridge, all from the VMAC MACs",
        adverts.len(),
        garps.len(),
        nas.len()
    );
}

// ------------------------------------------------------------ strict mode

fn strict_conf(vrid: u8) -> String {
    let v6 = vrid + 1;
    format!(
        r#"
global_defs {{
    router_id strict_{vrid}
    vrrp_strict
}}
vrrp_instance V4 {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        10.201.0.100/24
        10.201.0.101/24
    }}
    virtual_ipaddress_excluded {{
        10.201.0.102/24
    }}
}}
vrrp_instance V6 {{
    state BACKUP
    interface eth0
    virtual_router_id {v6}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        fe80::52/64
        2001:db8::52/64
    }}
}}
"#
    )
}

/// `nft -j list ruleset` of a node without what differs between two
/// namespaces (handles, the version banner), set elements sorted.
fn ruleset(lan: &Lan, node: usize) -> serde_json::Value {
    let out = lan.nodes[node]
        .command("nft")
        .args(["-j", "list", "ruleset"])
        .output()
        .expect("nft");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    if let Some(items) = v["nftables"].as_array_mut() {
        items.retain(|i| i.get("metainfo").is_none());
        for i in items.iter_mut() {
            if let Some(o) = i.as_object_mut().and_then(|o| o.values_mut().next()) {
                if let Some(o) = o.as_object_mut() {
                    o.remove("handle");
                    if let Some(e) = o.get_mut("elem").and_then(|e| e.as_array_mut()) {
                        e.sort_by_key(|x| x.to_string());
                    }
                    // Counters (`nftables_counters`) count what each
                    // namespace saw.
                    if let Some(e) = o.get_mut("expr").and_then(|e| e.as_array_mut()) {
                        for x in e.iter_mut() {
                            if let Some(c) = x.get_mut("counter").and_then(|c| c.as_object_mut()) {
                                c.insert("packets".into(), 0.into());
                                c.insert("bytes".into(), 0.into());
                            }
                        }
                    }
                }
            }
        }
    }
    v["nftables"].clone()
}

fn nft_text(lan: &Lan, node: usize) -> String {
    let out = lan.nodes[node]
        .command("nft")
        .args(["list", "ruleset"])
        .output()
        .expect("nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn strict_mode_drop_rules_as_keepalived() {
    if !side::ready("the VRRP strict mode test", &["nft"]) {
        return;
    }
    let mut side = Side::on("vrstrict")
        .nodes(3)
        .start(&strict_conf(51), &strict_conf(61));
    // BACKUP: no table yet, in either.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(nft_text(&side.lan, 0), "", "keepalived-rs as BACKUP");
    assert_eq!(nft_text(&side.lan, 1), "", "keepalived as BACKUP");
    side.wait("both MASTER", Duration::from_secs(10), |lan| {
        (0..2)
            .all(|n| lan.has_addr(n, "inet 10.201.0.100/24") && lan.has_addr(n, "2001:db8::52/64"))
    });
    side.agree("the rule set", ruleset);
    let lan = &side.lan;
    let text = nft_text(lan, 0);
    eprintln!("strict: both install:\n{text}");
    for want in [
        "table ip keepalived",
        "ip daddr @vips drop",
        "ip saddr @vips drop",
        "10.201.0.102",
        "table ip6 keepalived",
        "ip6 daddr . iif @vips_link_local drop",
        "fe80::52 . \"eth0\"",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    // The drop is real: in keepalived-rs's node the VIP does not answer
    // a local ping while the node's own address does.
    ip(&["-n", lan.nodes[0].name(), "link", "set", "lo", "up"]);
    let ping = |dst: &str| {
        lan.nodes[0]
            .command("ping")
            .args(["-c", "1", "-W", "1", dst])
            .output()
            .expect("ping")
            .status
            .success()
    };
    assert!(ping("10.201.0.1"), "the node's address answers");
    assert!(!ping("10.201.0.100"), "the VIP answers despite strict mode");
    assert!(
        side.rs
            .log()
            .contains("(V4) strict mode / no_accept: traffic to and from its VIPs is dropped"),
        "{}",
        side.rs.log()
    );
    // BACKUP (a higher priority takes over both): the VIPs leave the sets,
    // the tables stay, in both.
    let body = |vrid: u8, tag: &str| {
        let c = strict_conf(vrid).replace("priority 100", "priority 200");
        c[c.find("vrrp_instance").expect("instance")..]
            .replace("vrrp_instance V", &format!("vrrp_instance {tag}"))
    };
    let pre = format!(
        "global_defs {{\n    vrrp_strict\n}}\n{}{}",
        body(51, "A"),
        body(61, "B")
    );
    let pre = Daemon::start(&lan.nodes[2], "strict-pre", &pre, &[]);
    wait_until(
        "both BACKUP",
        Duration::from_secs(10),
        &[&side.rs, &side.ka, &pre],
        || {
            (0..2).all(|n| {
                !lan.has_addr(n, "inet 10.201.0.100/24") && !lan.has_addr(n, "2001:db8::52/64")
            })
        },
    );
    side.agree("the BACKUP rule set", ruleset);
    let backup = nft_text(lan, 0);
    assert!(
        backup.contains("table ip keepalived") && !backup.contains("10.201.0.100"),
        "{backup}"
    );
    drop(pre);
    // Stop: the tables go (keepalived's too).
    side.stop();
    assert_eq!(nft_text(&side.lan, 0), "", "left by keepalived-rs");
    assert_eq!(nft_text(&side.lan, 1), "", "left by keepalived");
}

// ------------------------------------------------------------ GARP timers

fn garp_conf(vrid: u8) -> String {
    format!(
        r#"
global_defs {{
    router_id garp_{vrid}
    vrrp_garp_master_delay 1
    vrrp_garp_master_repeat 3
    vrrp_garp_master_refresh 2
    vrrp_garp_master_refresh_repeat 2
}}
vrrp_instance V {{
    state MASTER
    interface eth0
    virtual_router_id {vrid}
    priority 255
    advert_int 1
    virtual_ipaddress {{
        10.201.0.{vrid}/24
    }}
}}
"#
    )
}

/// The gratuitous ARPs / NAs for `addr` as bursts.
fn addr_bursts(ann: &[tests::lan::Announcement], addr: &str) -> Vec<(f64, usize)> {
    bursts(ann.iter().filter(|a| a.addr == addr).map(|a| a.t))
}

#[test]
fn garp_master_delay_repeat_and_refresh_as_keepalived() {
    if !side::ready("the GARP timers test", &["tshark"]) {
        return;
    }
    let mut side = Side::on("vrgarp")
        .capture("arp")
        .start(&garp_conf(71), &garp_conf(72));
    std::thread::sleep(Duration::from_millis(7500));
    side.stop();
    let ann = side.announcements();
    let ours = addr_bursts(&ann, "10.201.0.71");
    let theirs = addr_bursts(&ann, "10.201.0.72");
    eprintln!("garp: keepalived-rs bursts {ours:?}\ngarp: keepalived bursts {theirs:?}");
    // Becoming MASTER: 3, and 3 again a second later; then 2 at each
    // refresh, every 2 s.
    let sizes = |b: &[(f64, usize)]| b.iter().map(|x| x.1).take(4).collect::<Vec<_>>();
    assert_eq!(sizes(&ours), [3, 3, 2, 2], "{ours:?}");
    assert_eq!(sizes(&ours), sizes(&theirs), "{ours:?} vs {theirs:?}");
    for (a, b) in ours.iter().zip(&theirs).take(4) {
        assert!(
            (a.0 - b.0).abs() < 0.35,
            "burst times differ: {ours:?} vs {theirs:?}"
        );
    }
}

// ------------------------------------------------------------ -V

fn dont_release_conf(vrid: u8) -> String {
    format!(
        r#"
static_ipaddress {{
    192.168.77.1/24 dev eth0
}}
vrrp_instance V {{
    state MASTER
    interface eth0
    virtual_router_id {vrid}
    priority 100
    advert_int 1
    use_vmac vk
    no_accept
    virtual_ipaddress {{
        10.201.0.100/24
    }}
    virtual_routes {{
        10.230.0.0/24 via 10.201.0.254 dev eth0
    }}
}}
"#
    )
}

/// What a node still has of a `dont_release_conf` configuration.
fn kept(lan: &Lan, node: usize) -> Vec<String> {
    let ns = lan.nodes[node].name();
    let mut v = Vec::new();
    v.push(format!("vmac {}", dev_exists(lan, node, "vk")));
    v.push(format!(
        "vip {}",
        on_dev(lan, node, "vk", "inet 10.201.0.100/24")
    ));
    v.push(format!(
        "static {}",
        on_dev(lan, node, "eth0", "inet 192.168.77.1/24")
    ));
    v.push(format!(
        "virtual route {}",
        ip(&["-n", ns, "route", "show"])
            .contains("10.230.0.0/24 via 10.201.0.254 dev eth0 proto keepalived")
    ));
    v.push(format!(
        "nft tables {}",
        nft_text(lan, node).matches("table ").count()
    ));
    v
}

#[test]
fn dont_release_keeps_what_keepalived_keeps() {
    if !side::ready("the --dont-release-vrrp test", &["nft"]) {
        return;
    }
    let mut side = Side::on("vrkeep")
        .args(&["-V"])
        .start(&dont_release_conf(81), &dont_release_conf(82));
    side.wait("both MASTER", Duration::from_secs(10), |lan| {
        (0..2).all(|n| {
            on_dev(lan, n, "vk", "inet 10.201.0.100/24")
                && nft_text(lan, n).contains("10.201.0.100")
        })
    });
    side.same("while running", kept);
    side.stop();
    let after = side.same("after stop with -V", kept);
    eprintln!("dont-release: after stop both keep {after:?}");
    assert_eq!(
        after,
        [
            "vmac true",
            "vip true",
            "static false",
            "virtual route true",
            "nft tables 0"
        ]
    );
}

// ------------------------------------------------------------ vmac_xmit_base

fn xmit_base_conf(vrid: u8) -> String {
    format!(
        r#"
vrrp_instance X {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority 100
    advert_int 1
    use_vmac
    vmac_xmit_base
    virtual_ipaddress {{
        10.201.0.{vrid}/24
    }}
}}
"#
    )
}

#[test]
fn vmac_xmit_base_as_keepalived() {
    if !side::ready("the vmac_xmit_base test", &["tshark"]) {
        return;
    }
    let mut side = Side::on("vrxmit")
        .capture("ip proto 112 or arp")
        .start(&xmit_base_conf(91), &xmit_base_conf(92));
    side.wait("both MASTER", Duration::from_secs(10), |lan| {
        on_dev(lan, 0, "vrrp.91", "inet 10.201.0.91/24")
            && on_dev(lan, 1, "vrrp.92", "inet 10.201.0.92/24")
    });
    std::thread::sleep(Duration::from_millis(1500));
    side.stop();
    let adverts = side.adverts();
    let ann = side.announcements();
    // Per node: (adverts' source MACs, GARPs' source MACs), with the
    // node's own MAC and its VMAC's written as BASE / VMAC.
    let seen = |node: usize, vrid: u8| {
        let name = |m: &str| {
            if m == tests::lan::node_mac(node) {
                "BASE".to_string()
            } else if m == format!("00:00:5e:00:01:{vrid:02x}") {
                "VMAC".to_string()
            } else {
                m.to_string()
            }
        };
        let mut a: Vec<String> = adverts
            .iter()
            .filter(|x| x.vrid == vrid.to_string())
            .map(|x| name(&x.eth_src))
            .collect();
        a.dedup();
        let mut g: Vec<String> = ann
            .iter()
            .filter(|x| x.addr == format!("10.201.0.{vrid}"))
            .map(|x| format!("{}/{}", name(&x.eth_src), name(&x.arp_sha)))
            .collect();
        g.dedup();
        (a, g)
    };
    let ours = seen(0, 91);
    let theirs = seen(1, 92);
    eprintln!("xmit_base: keepalived-rs {ours:?}, keepalived {theirs:?}");
    assert_eq!(ours.0, ["BASE"], "adverts leave from the base interface");
    assert_eq!(ours, theirs, "keepalived-rs (left) and keepalived (right)");
}

// ------------------------------------------------------------ higher_prio_send_advert

fn send_advert_conf(vrid: u8) -> String {
    format!(
        r#"
global_defs {{
    vrrp_higher_prio_send_advert
}}
vrrp_instance H {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        10.201.0.{vrid}/24
    }}
}}
"#
    )
}

/// Both VRIDs at priority 200: the MASTERs at 100 see a higher priority.
const HIGHER: &str = r#"
vrrp_instance H11 {
    state BACKUP
    interface eth0
    virtual_router_id 11
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.201.0.11/24
    }
}
vrrp_instance H12 {
    state BACKUP
    interface eth0
    virtual_router_id 12
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.201.0.12/24
    }
}
"#;

#[test]
fn higher_prio_send_advert_on_the_wire_as_keepalived() {
    if !side::ready("the higher_prio_send_advert test", &["tshark"]) {
        return;
    }
    let mut side = Side::on("vrhigh")
        .nodes(3)
        .capture(tests::lan::ADVERT_FILTER)
        .start(&send_advert_conf(11), &send_advert_conf(12));
    side.wait("both MASTER", Duration::from_secs(10), |lan| {
        lan.has_addr(0, "inet 10.201.0.11/24") && lan.has_addr(1, "inet 10.201.0.12/24")
    });
    let hi = Daemon::start(&side.lan.nodes[2], "high-hi", HIGHER, &[]);
    let lan = &side.lan;
    wait_until(
        "both BACKUP",
        Duration::from_secs(10),
        &[&side.rs, &side.ka, &hi],
        || !lan.has_addr(0, "inet 10.201.0.11/24") && !lan.has_addr(1, "inet 10.201.0.12/24"),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let adverts = side.adverts();
    // Per VRID: the adverts at priority 100 after the first at 200, with
    // their delay after it.
    let after = |vrid: &str| {
        let t200 = adverts
            .iter()
            .find(|a| a.vrid == vrid && a.prio == "200")
            .map(|a| a.t)
            .expect("an advert at 200");
        adverts
            .iter()
            .filter(|a| a.vrid == vrid && a.prio == "100" && a.t > t200)
            .map(|a| a.t - t200)
            .collect::<Vec<f64>>()
    };
    let ours = after("11");
    let theirs = after("12");
    eprintln!(
        "higher_prio_send_advert: keepalived-rs answers after {ours:?} s, keepalived after {theirs:?} s"
    );
    assert_eq!(ours.len(), 1, "one advert in answer: {ours:?}");
    assert!(ours[0] < 0.1, "{ours:?}");
    assert_eq!(ours.len(), theirs.len(), "{ours:?} vs {theirs:?}");
}

// ------------------------------------------------------------ lower_prio_no_advert

/// Two instances at `prio`: VRID `v` answering lower priorities at once
/// (the default) and VRID `v + 2` with `lower_prio_no_advert`.
fn lower_prio_conf(v: u8, prio: u8) -> String {
    let inst = |vrid: u8, extra: &str| {
        format!(
            "vrrp_instance L{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {prio}\n    advert_int 1\n    {extra}\n    virtual_ipaddress {{\n        10.201.0.{vrid}/24\n    }}\n}}\n"
        )
    };
    format!("{}{}", inst(v, ""), inst(v + 2, "lower_prio_no_advert"))
}

#[test]
fn lower_prio_no_advert_on_the_wire_as_keepalived() {
    if !side::ready("the lower_prio_no_advert test", &["tshark", "nft"]) {
        return;
    }
    // Nodes 2 and 4 hear nothing, so they stay MASTER at 100 and keep
    // advertising to the MASTERs at 200 on nodes 1 (keepalived-rs) and 3
    // (keepalived).
    let (_lan, mut cap, _daemons) = lower_priority_pairs(
        "vrlow",
        tests::lan::ADVERT_FILTER,
        lower_prio_conf,
        (21, 22),
    );
    let adverts = cap.adverts();
    // For a VRID: of the adverts at 100 (once the one at 200 is MASTER),
    // how many got an advert at 200 within 100 ms.
    let answered = |vrid: u8| {
        let v = vrid.to_string();
        let high: Vec<f64> = adverts
            .iter()
            .filter(|a| a.vrid == v && a.prio == "200")
            .map(|a| a.t)
            .collect();
        let first_high = high.first().copied().unwrap_or(f64::MAX);
        let low: Vec<f64> = adverts
            .iter()
            .filter(|a| a.vrid == v && a.prio == "100" && a.t > first_high)
            .map(|a| a.t)
            .collect();
        let n = low
            .iter()
            .filter(|t| high.iter().any(|h| *h >= **t && *h - **t < 0.1))
            .count();
        (n, low.len())
    };
    let ours = (answered(21), answered(23));
    let theirs = (answered(22), answered(24));
    eprintln!(
        "lower_prio: (answered, lower-priority adverts) default / lower_prio_no_advert: keepalived-rs {ours:?}, keepalived {theirs:?}"
    );
    // Default: every lower-priority advert is answered at once.
    assert!(ours.0.1 >= 3 && ours.0.0 == ours.0.1, "{ours:?}");
    assert!(theirs.0.1 >= 3 && theirs.0.0 == theirs.0.1, "{theirs:?}");
    // lower_prio_no_advert: none is (an advert due anyway may fall in
    // the window once).
    assert!(ours.1.1 >= 3 && ours.1.0 <= 1, "{ours:?}");
    assert!(theirs.1.1 >= 3 && theirs.1.0 <= 1, "{theirs:?}");
}

// ------------------------------------------------------------ garp_extra_if

/// `E`: VIPs on eth0 (its own), eth1 (two) and eth2 (an IPv6 excluded
/// VIP), the global `vrrp_garp_extra_if all 2`; `F`: its own
/// `vmac_garp_intvl 3` (the old name, no `all`) on a `vmac_xmit_base`
/// VMAC, another VIP on eth1.
fn extra_if_conf(v: u8) -> String {
    let f = v + 1;
    format!(
        r#"
global_defs {{
    vrrp_garp_extra_if all 2
}}
vrrp_instance E {{
    state MASTER
    interface eth0
    virtual_router_id {v}
    priority 255
    advert_int 1
    garp_master_delay 0
    virtual_ipaddress {{
        10.201.0.{v}/24
        10.202.0.{v}/24 dev eth1
        10.202.1.{v}/24 dev eth1
    }}
    virtual_ipaddress_excluded {{
        2001:db8:2::{v}/64 dev eth2
    }}
}}
vrrp_instance F {{
    state MASTER
    interface eth0
    virtual_router_id {f}
    priority 255
    advert_int 1
    garp_master_delay 0
    use_vmac
    vmac_xmit_base
    vmac_garp_intvl 3
    virtual_ipaddress {{
        10.201.1.{f}/24
        10.202.2.{f}/24 dev eth1
    }}
}}
"#
    )
}

#[test]
fn garp_extra_if_as_keepalived() {
    if !side::ready("the garp_extra_if test", &["tshark"]) {
        return;
    }
    let mut side = Side::on("vrextra")
        .ports(&["eth1", "eth2"])
        .capture("arp or icmp6")
        .start(&extra_if_conf(61), &extra_if_conf(71));
    std::thread::sleep(Duration::from_millis(7600));
    side.stop();
    let ann = side.announcements();
    // Per VIP of a node: the times of its announcements after the first
    // burst (becoming MASTER), in seconds after that burst.
    let extra = |addr: String| {
        let b = addr_bursts(&ann, &addr);
        b.iter()
            .skip(1)
            .map(|x| (x.0 * 10.0).round() / 10.0)
            .collect::<Vec<f64>>()
    };
    let seen = |v: u8| {
        let f = v + 1;
        [
            format!("10.201.0.{v}"),
            format!("10.202.0.{v}"),
            format!("10.202.1.{v}"),
            format!("2001:db8:2::{v}"),
            format!("10.201.1.{f}"),
            format!("10.202.2.{f}"),
        ]
        .map(|a| {
            let e = extra(a.clone());
            (
                a.replace(&format!(".{v}"), ".V")
                    .replace(&format!(".{f}"), ".F")
                    .replace(&format!("::{v}"), "::V"),
                e,
            )
        })
    };
    let ours = seen(61);
    let theirs = seen(71);
    eprintln!("garp_extra_if: keepalived-rs {ours:?}\ngarp_extra_if: keepalived {theirs:?}");
    for ((a, o), (_, t)) in ours.iter().zip(&theirs) {
        // The same rounds: none, or one every 2 s (at the first advert
        // after each 2 s: 2, 4, 6).
        assert_eq!(o.len(), t.len(), "{a}: {ours:?} vs {theirs:?}");
        for w in o.windows(2) {
            assert!((w[1] - w[0] - 2.0).abs() < 0.35, "{a}: {o:?}");
        }
    }
    let n = |a: &str| ours.iter().find(|x| x.0 == a).map_or(0, |x| x.1.len());
    // eth1's first VIP and eth2's NA, every 2 s; nothing on the own
    // interface, for a second VIP of eth1, or for F (no `all`, and its
    // own VMAC is its own interface).
    assert_eq!(n("10.202.0.V"), 3, "{ours:?}");
    assert_eq!(n("2001:db8:2::V"), 3, "{ours:?}");
    for a in ["10.201.0.V", "10.202.1.V", "10.201.1.F", "10.202.2.F"] {
        assert_eq!(n(a), 0, "{a}: {ours:?}");
    }
}

// ------------------------------------------------------------ nftables options

/// `no_accept` instances (IPv4 on a VMAC, IPv6 with `dont_track_primary`)
/// under the global nftables options `globals`; the VRIDs differ per node,
/// the VIPs and VMAC name do not (each node has its own namespace).
fn nft_options_conf(v: u8, globals: &str) -> String {
    let v6 = v + 1;
    format!(
        r#"
global_defs {{
{globals}
}}
vrrp_instance V4 {{
    state BACKUP
    interface eth0
    virtual_router_id {v}
    version 3
    priority 100
    advert_int 0.5
    no_accept
    use_vmac vk4
    virtual_ipaddress {{
        10.201.0.100/24
    }}
}}
vrrp_instance V6 {{
    state BACKUP
    interface eth0
    virtual_router_id {v6}
    priority 100
    advert_int 0.5
    no_accept
    dont_track_primary
    virtual_ipaddress {{
        fe80::52/64
        2001:db8::52/64
    }}
}}
"#
    )
}

#[test]
fn nftables_options_as_keepalived() {
    if !side::ready("the nftables options test", &["nft"]) {
        return;
    }
    let mut lan = Some(Side::on("vrnftopt").lan());
    let phases: [(&str, &str, &[&str], &[&str]); 2] = [
        (
            "named table, priority, counters",
            "    nftables mytab\n    nftables_priority -5\n    nftables_counters",
            &[
                "table ip mytab",
                "table ip6 mytab",
                "type filter hook output priority filter - 5",
                "ip daddr @vips counter packets",
                "dup to ip daddr device oif map @vmac_map counter packets",
                "ip6 daddr . iifname @vips_link_local_name counter packets",
                "fe80::52 . \"eth0\"",
            ],
            &["table ip keepalived", "vips_link_local "],
        ),
        (
            "nftables_ifindex",
            "    nftables\n    nftables_ifindex",
            &[
                "table ip6 keepalived",
                "type filter hook input priority filter - 1",
                "ip6 daddr . iif @vips_link_local drop",
            ],
            &["counter", "vips_link_local_name"],
        ),
    ];
    for (what, globals, want, not) in phases {
        let mut side = Side::on("vrnftopt").start_on(
            lan.take().expect("the LAN"),
            &nft_options_conf(51, globals),
            &nft_options_conf(61, globals),
        );
        side.wait("both MASTER", Duration::from_secs(10), |lan| {
            (0..2).all(|n| {
                on_dev(lan, n, "vk4", "inet 10.201.0.100/24") && lan.has_addr(n, "2001:db8::52/64")
            })
        });
        side.agree(&format!("{what}: the rule set"), ruleset);
        let text = nft_text(&side.lan, 0);
        eprintln!("nftables options, {what}: both install:\n{text}");
        for w in want {
            assert!(text.contains(w), "{what}: {w} missing:\n{text}");
        }
        for w in not {
            assert!(!text.contains(w), "{what}: {w} present:\n{text}");
        }
        side.stop();
        assert_eq!(nft_text(&side.lan, 0), "", "{what}: left by keepalived-rs");
        assert_eq!(nft_text(&side.lan, 1), "", "{what}: left by keepalived");
        lan = Some(side.into_lan());
    }
}

// ------------------------------------------------------------ use_vmac_addr

/// `A` (VRID `v`): its own VMAC and `use_vmac_addr`, so its VIP on eth1
/// and its IPv6 eVIP on eth0 get VMACs of their own (which
/// `garp_extra_if 2` refreshes); `B` (VRID `v + 1`, no VMAC): one VIP on
/// eth1 with its own `use_vmac`, one without.
fn vmac_addr_conf(v: u8) -> String {
    let b = v + 1;
    format!(
        r#"
vrrp_instance A {{
    state BACKUP
    interface eth0
    virtual_router_id {v}
    priority 100
    advert_int 1
    garp_master_delay 0
    use_vmac
    use_vmac_addr
    garp_extra_if 2
    virtual_ipaddress {{
        10.201.0.100/24
        10.202.0.100/24 dev eth1
        10.202.0.101/24 dev eth1
    }}
    virtual_ipaddress_excluded {{
        2001:db8:5::100/64
    }}
}}
vrrp_instance B {{
    state BACKUP
    interface eth0
    virtual_router_id {b}
    priority 100
    advert_int 1
    garp_master_delay 0
    virtual_ipaddress {{
        10.201.1.100/24
        10.203.0.100/24 dev eth1 use_vmac
        10.204.0.100/24 dev eth1
    }}
}}
"#
    )
}

/// A node's macvlans and the addresses on them and on eth1, in `ip`'s
/// words, with its VRIDs `v` and `v + 1` written as V and W.
fn vmacs_of(lan: &Lan, node: usize, v: u8) -> Vec<String> {
    let ns = lan.nodes[node].name();
    let norm = |s: &str| {
        s.replace(&format!(".{}", v + 1), ".W")
            .replace(&format!(".{v}"), ".V")
            .replace(&format!(":{:02x} ", v + 1), ":W ")
            .replace(&format!(":{v:02x} "), ":V ")
    };
    let mut out = Vec::new();
    for l in ip(&["-n", ns, "-d", "-o", "link", "show", "type", "macvlan"]).lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let after = |k: &str| {
            w.iter()
                .rposition(|x| *x == k)
                .and_then(|i| w.get(i + 1))
                .copied()
                .unwrap_or("?")
        };
        let name = w.get(1).map_or("?", |n| n.trim_end_matches(':'));
        out.push(norm(&format!(
            "{name} ether {} mode {} addrgenmode {} ",
            after("link/ether"),
            after("mode"),
            after("addrgenmode")
        )));
        let dev = name.split('@').next().unwrap_or(name);
        for key in ["arp_ignore", "arp_filter", "rp_filter", "accept_local"] {
            out.push(norm(&format!(
                "{dev} {key}={}",
                sysctl(lan, node, "ipv4", dev, key)
            )));
        }
        out.push(norm(&format!(
            "{dev} disable_ipv6={}",
            sysctl(lan, node, "ipv6", dev, "disable_ipv6")
        )));
        for a in ip(&["-n", ns, "-o", "addr", "show", "dev", dev]).lines() {
            let f: Vec<&str> = a.split_whitespace().collect();
            // The link-local address is the base interface's (its MAC's).
            let addr = if f[3].starts_with("fe80:") {
                "LINK-LOCAL"
            } else {
                f[3]
            };
            out.push(norm(&format!("{dev} {} {addr}", f[2])));
        }
    }
    for key in ["arp_ignore", "arp_filter"] {
        out.push(format!(
            "eth1 {key}={}",
            sysctl(lan, node, "ipv4", "eth1", key)
        ));
    }
    for a in ip(&["-n", ns, "-o", "-4", "addr", "show", "dev", "eth1"]).lines() {
        out.push(format!(
            "eth1 {}",
            a.split_whitespace().nth(3).unwrap_or("?")
        ));
    }
    out.sort();
    out
}

#[test]
fn use_vmac_addr_and_per_vip_use_vmac_as_keepalived() {
    if !side::ready("the use_vmac_addr test", &["tshark", "nft"]) {
        return;
    }
    let mut side = Side::on("vrvmaddr")
        .ports(&["eth1"])
        .capture("arp or icmp6")
        .start(&vmac_addr_conf(51), &vmac_addr_conf(61));
    // VRIDs 51 and 52 on node 1, 61 and 62 on node 2.
    let vmacs = |lan: &Lan, n: usize| vmacs_of(lan, n, [51, 61][n]);
    side.wait("both MASTER", Duration::from_secs(10), |lan| {
        (0..2).all(|n| {
            vmacs(lan, n)
                .iter()
                .any(|l| l.starts_with("vrrp.W ") && l.contains("10.203.0.100/24"))
        })
    });
    let ours = side.agree("the VMACs and their addresses", vmacs);
    eprintln!("use_vmac_addr: both:\n  {}", ours.join("\n  "));
    for want in [
        "vrrp1.V@eth1 ether 00:00:5e:00:01:V mode private addrgenmode none ",
        "vrrp6.V@eth0 ether 00:00:5e:00:02:V mode private addrgenmode none ",
        "vrrp.W@eth1 ether 00:00:5e:00:01:W mode private addrgenmode none ",
        "vrrp1.V inet 10.202.0.100/24",
        "vrrp1.V inet 10.202.0.101/24",
        "vrrp6.V inet6 2001:db8:5::100/64",
        "vrrp.W inet 10.203.0.100/24",
        "eth1 10.204.0.100/24",
    ] {
        assert!(ours.iter().any(|l| l == want), "{want} missing: {ours:?}");
    }
    // The same VMAC rules (the VRIDs written alike).
    side.agree("the VMAC rule set", |lan, n| {
        let v = [51, 61][n];
        ruleset(lan, n)
            .to_string()
            .replace(&format!(".{}\"", v + 1), ".W\"")
            .replace(&format!(".{v}\""), ".V\"")
    });
    std::thread::sleep(Duration::from_millis(4600));
    side.stop();
    for n in 0..2 {
        let left = ip(&[
            "-n",
            side.lan.nodes[n].name(),
            "-o",
            "link",
            "show",
            "type",
            "macvlan",
        ]);
        assert!(left.trim().is_empty(), "node {}: {left}", n + 1);
    }
    // On the wire: each address from its VMAC's MAC; the garp_extra_if
    // rounds on A's address VMACs (not on its own VMAC, nor for B).
    let ann = side.announcements();
    let seen = |v: u8| {
        [
            "10.201.0.100",
            "10.202.0.100",
            "10.202.0.101",
            "2001:db8:5::100",
            "10.201.1.100",
            "10.203.0.100",
        ]
        .map(|a| {
            let on_node: Vec<_> = ann
                .iter()
                .filter(|x| {
                    x.addr == a
                        && (x.eth_src.ends_with(&format!(":{v:02x}"))
                            || x.eth_src.ends_with(&format!(":{:02x}", v + 1))
                            || x.eth_src == tests::lan::node_mac(if v == 51 { 0 } else { 1 }))
                })
                .collect();
            let node_mac = tests::lan::node_mac(if v == 51 { 0 } else { 1 });
            let macs: std::collections::BTreeSet<String> = on_node
                .iter()
                .map(|x| {
                    x.eth_src
                        .replace(&node_mac, "NODE")
                        .replace(&format!(":{:02x}", v + 1), ":W")
                        .replace(&format!(":{v:02x}"), ":V")
                })
                .collect();
            let t: Vec<f64> = on_node.iter().map(|x| x.t).collect();
            let first = t.iter().copied().fold(f64::MAX, f64::min);
            let later = t.iter().filter(|x| **x - first > 1.0).count();
            (a, macs, later)
        })
    };
    let ours = seen(51);
    let theirs = seen(61);
    eprintln!("use_vmac_addr on the wire: keepalived-rs {ours:?}\nkeepalived {theirs:?}");
    for ((a, m1, n1), (_, m2, n2)) in ours.iter().zip(&theirs) {
        assert_eq!(m1, m2, "{a}: source MACs differ");
        assert!(
            n1.abs_diff(*n2) <= 1,
            "{a}: {n1} vs {n2} later announcements"
        );
    }
    let later = |a: &str| ours.iter().find(|x| x.0 == a).map_or(0, |x| x.2);
    assert!(later("10.202.0.100") >= 2, "{ours:?}");
    assert!(later("2001:db8:5::100") >= 1, "{ours:?}");
    for a in ["10.201.0.100", "10.202.0.101", "10.203.0.100"] {
        assert_eq!(later(a), 0, "{a}: {ours:?}");
    }
}
