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
use tests::daemon::{Daemon, logs, wait_until};
use tests::lan::{Lan, ip};
use tests::{Requirement, require};

/// Stop a daemon with SIGTERM and wait for it to exit.
fn stop(d: &mut Daemon) {
    d.signal("TERM");
    let t0 = std::time::Instant::now();
    loop {
        if let Some(st) = d.child.try_wait().expect("wait") {
            assert!(st.success(), "exit: {st:?}\n{}", d.log());
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(6),
            "no clean stop\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

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

/// The same set on both nodes.
fn same_on_both(lan: &Lan, what: &str, ds: &[&Daemon]) -> Vec<String> {
    let rs = installed(lan, 0);
    let ka = installed(lan, 1);
    assert_eq!(
        rs,
        ka,
        "{what}: keepalived-rs (left) and keepalived (right) differ\n{}",
        logs(ds)
    );
    rs
}

fn has_vip(lan: &Lan, node: usize, vrid: u8) -> bool {
    lan.has_addr(node, &format!("inet 10.201.0.{vrid}/24"))
}

#[test]
fn routes_rules_and_static_entries_as_keepalived() {
    if !require(
        "the VRRP routes and rules test",
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    ) {
        return;
    }
    let lan = Lan::new("vrroute", 3);
    let mut rs = Daemon::start(&lan.nodes[0], "routes-rs", &routes_conf(51), &[]);
    let mut ka = Daemon::start_keepalived(&lan.nodes[1], "routes-ka", &routes_conf(52), &["-P"]);
    // At start, BACKUP: the static entries only.
    let statics = [
        "addr 192.168.77.1/24",
        "route 10.240.0.0/24 via 192.168.77.254 dev eth0 proto keepalived",
        "route 10.241.0.0/24 via 192.168.77.254 dev eth0 table 100 proto keepalived",
    ];
    wait_until(
        "static entries",
        Duration::from_secs(5),
        &[&rs, &ka],
        || {
            [0, 1].iter().all(|n| {
                statics
                    .iter()
                    .all(|s| installed(&lan, *n).iter().any(|x| x == s))
            })
        },
    );
    let at_start = same_on_both(&lan, "at start", &[&rs, &ka]);
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
    wait_until("both MASTER", Duration::from_secs(10), &[&rs, &ka], || {
        has_vip(&lan, 0, 51) && has_vip(&lan, 1, 52)
    });
    wait_until(
        "virtual routes",
        Duration::from_secs(3),
        &[&rs, &ka],
        || installed(&lan, 0).len() > at_start.len() && installed(&lan, 1).len() > at_start.len(),
    );
    let master = same_on_both(&lan, "MASTER", &[&rs, &ka]);
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
    let pre = Daemon::start(&lan.nodes[2], "routes-pre", PREEMPTOR, &[]);
    wait_until(
        "both BACKUP",
        Duration::from_secs(10),
        &[&rs, &ka, &pre],
        || !has_vip(&lan, 0, 51) && !has_vip(&lan, 1, 52),
    );
    wait_until(
        "virtual routes removed",
        Duration::from_secs(3),
        &[&rs, &ka],
        || installed(&lan, 0) == at_start && installed(&lan, 1) == at_start,
    );
    same_on_both(&lan, "BACKUP", &[&rs, &ka]);
    // Stop: everything goes.
    stop(&mut rs);
    stop(&mut ka);
    let after = same_on_both(&lan, "after stop", &[&rs, &ka]);
    assert!(after.is_empty(), "left after stop: {after:?}");
}
