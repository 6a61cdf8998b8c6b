use super::*;
use crate::netlink::ipvs::{IP_VS_CONN_F_MASQ, IPPROTO_UDP};
use std::path::Path;

fn lvs(text: &str) -> LvsConfig {
    let l = config::load_str(Path::new("t.conf"), text, &config::LoadOptions::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    l.config.lvs
}

fn tcp(a: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: IPPROTO_TCP,
        addr: a.parse().unwrap(),
        port,
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// (address, weight) of each destination of `key`.
fn dests(d: &Desired, key: ServiceKey) -> Vec<(SocketAddr, u32)> {
    d.get(&key)
        .unwrap_or_else(|| panic!("no service {key}"))
        .dests
        .iter()
        .map(|x| (SocketAddr::new(x.addr, x.port), x.weight))
        .collect()
}

fn set_health(
    h: &mut BTreeMap<RealServerKey, Health>,
    cfg: &LvsConfig,
    vs: usize,
    rs: usize,
    up: bool,
) {
    let v = &cfg.virtual_servers[vs];
    let r = &v.real_servers[rs];
    h.insert(
        rs_key(v, r),
        Health {
            up,
            weight: r.weight,
        },
    );
}

const BASIC: &str = "
virtual_server 10.0.0.1 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 192.168.1.10 8080 {
        weight 3
        uthreshold 100
        lthreshold 10
    }
    real_server 192.168.1.11 8080 {
        weight 1
    }
}
";

#[test]
fn real_servers_up_at_start_without_alpha() {
    let cfg = lvs(BASIC);
    let d = Planner::new().desired(&cfg, &BTreeMap::new());
    assert_eq!(d.services.len(), 1);
    let s = &d.services[0];
    assert_eq!(
        s.service,
        Service {
            key: tcp("10.0.0.1", 80),
            sched: "wrr".into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        }
    );
    assert_eq!(
        s.dests,
        vec![
            Dest {
                addr: "192.168.1.10".parse().unwrap(),
                port: 8080,
                fwd: IP_VS_CONN_F_MASQ,
                weight: 3,
                u_threshold: 100,
                l_threshold: 10,
                tun_type: 0,
                tun_port: 0,
                tun_flags: 0,
            },
            dest_for(sa("192.168.1.11:8080"), Forwarding::Nat, 1, 0, 0),
        ]
    );
}

#[test]
fn down_real_servers_leave_or_stay_at_weight_zero_when_inhibited() {
    let cfg = lvs("
virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_kind DR
    real_server 192.168.1.10 80 {
        weight 2
        inhibit_on_failure
        TCP_CHECK { }
    }
    real_server 192.168.1.11 80 {
        weight 5
        TCP_CHECK { }
    }
}
");
    let mut p = Planner::new();
    let mut h = BTreeMap::new();
    set_health(&mut h, &cfg, 0, 0, false);
    set_health(&mut h, &cfg, 0, 1, false);
    let d = p.desired(&cfg, &h);
    assert_eq!(
        dests(&d, tcp("10.0.0.1", 80)),
        vec![(sa("192.168.1.10:80"), 0)]
    );
    set_health(&mut h, &cfg, 0, 0, true);
    set_health(&mut h, &cfg, 0, 1, true);
    let d = p.desired(&cfg, &h);
    assert_eq!(
        dests(&d, tcp("10.0.0.1", 80)),
        vec![(sa("192.168.1.10:80"), 2), (sa("192.168.1.11:80"), 5)]
    );
    // A changed weight is the health's weight.
    h.insert(
        rs_key(
            &cfg.virtual_servers[0],
            &cfg.virtual_servers[0].real_servers[1],
        ),
        Health {
            up: true,
            weight: 9,
        },
    );
    let d = p.desired(&cfg, &h);
    assert_eq!(
        dests(&d, tcp("10.0.0.1", 80))[1],
        (sa("192.168.1.11:80"), 9)
    );
}

#[test]
fn alpha_checkers_start_down_and_alpha_without_checkers_does_not() {
    let cfg = lvs("
virtual_server 10.0.0.1 80 {
    protocol TCP
    alpha
    real_server 192.168.1.10 80 {
        TCP_CHECK { }
    }
    real_server 192.168.1.11 80 {
    }
}
");
    let vs = &cfg.virtual_servers[0];
    assert!(!initial_health(&vs.real_servers[0]).up);
    assert!(initial_health(&vs.real_servers[1]).up);
    let d = Planner::new().desired(&cfg, &BTreeMap::new());
    assert_eq!(
        dests(&d, tcp("10.0.0.1", 80)),
        vec![(sa("192.168.1.11:80"), 1)]
    );
}

#[test]
fn groups_expand_ranges_and_fwmarks() {
    let cfg = lvs("
virtual_server_group G4 {
    10.0.0.1-3 80
    10.0.1.9 443
    fwmark 7
}
virtual_server_group G6 {
    2001:db8::1-2 53
}
virtual_server group G4 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 192.168.1.10 80 { }
}
virtual_server group G6 {
    lb_algo sh
    protocol UDP
    real_server 2001:db8:1::10 53 { }
}
");
    let d = Planner::new().desired(&cfg, &BTreeMap::new());
    let keys: Vec<String> = d
        .services
        .iter()
        .map(|s| s.service.key.to_string())
        .collect();
    assert_eq!(
        keys,
        vec![
            "TCP 10.0.0.1:80",
            "TCP 10.0.0.2:80",
            "TCP 10.0.0.3:80",
            "TCP 10.0.1.9:443",
            "FWM 7",
            "UDP [2001:db8::1]:53",
            "UDP [2001:db8::2]:53",
        ]
    );
    assert!(d.services[..5].iter().all(|s| s.service.sched == "rr"
        && s.dests.len() == 1
        && s.dests[0].fwd == IP_VS_CONN_F_DROUTE));
    // Not masqueraded: each service's port, 0 for the fwmark.
    let ports: Vec<u16> = d.services[..5].iter().map(|s| s.dests[0].port).collect();
    assert_eq!(ports, vec![80, 80, 80, 443, 0]);
    let v6 = &d.services[6];
    assert_eq!(v6.service.netmask, 128);
    assert_eq!(
        v6.dests[0].addr,
        "2001:db8:1::10".parse::<IpAddr>().unwrap()
    );
    assert!(matches!(
        v6.service.key,
        ServiceKey::Addr {
            protocol: IPPROTO_UDP,
            ..
        }
    ));
}

#[test]
fn persistence_flags_and_tunnels() {
    let cfg = lvs("
virtual_server 10.0.0.1 443 {
    protocol TCP
    lb_algo sh
    sh-port
    sh-fallback
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    lb_kind TUN
    real_server 192.168.1.10 443 {
        lvs_method TUN type gue port 6080 csum
    }
    real_server 192.168.1.11 443 {
        lvs_method TUN type gre
    }
}
virtual_server fwmark 9 {
    ip_family inet6
    lb_algo lc
    persistence_timeout 60
    persistence_granularity 64
    real_server 2001:db8::10 0 { lb_kind DR }
}
virtual_server 10.0.0.2 53 {
    protocol UDP
    lb_algo mh
    ops
    mh-port
    real_server 192.168.1.12 53 { }
}
");
    let d = Planner::new().desired(&cfg, &BTreeMap::new());
    let s = &d.services[0].service;
    assert_eq!(
        s.flags,
        IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2
    );
    assert_eq!((s.timeout, s.netmask), (600, 0xffff_ff00));
    let t = &d.services[0].dests;
    assert_eq!(
        (t[0].fwd, t[0].tun_type, t[0].tun_port, t[0].tun_flags),
        (
            IP_VS_CONN_F_TUNNEL,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            6080,
            IP_VS_TUNNEL_ENCAP_FLAG_CSUM
        )
    );
    assert_eq!(t[1].tun_type, IP_VS_CONN_F_TUNNEL_TYPE_GRE);
    let f = &d.services[1].service;
    assert_eq!(
        f.key,
        ServiceKey::Fwmark {
            af: Af::Inet6,
            mark: 9
        }
    );
    assert_eq!(
        (f.flags, f.timeout, f.netmask),
        (IP_VS_SVC_F_PERSISTENT, 60, 64)
    );
    let u = &d.services[2].service;
    assert_eq!(u.flags, IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED2);
    assert_eq!((u.timeout, u.netmask), (0, u32::MAX));
}

const SORRY: &str = "
virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_kind DR
    quorum 4
    hysteresis 1
    sorry_server 192.168.1.99 80
    real_server 192.168.1.10 80 {
        weight 2
        TCP_CHECK { }
    }
    real_server 192.168.1.11 80 {
        weight 3
        inhibit_on_failure
        TCP_CHECK { }
    }
}
";

#[test]
fn sorry_server_replaces_the_pool_without_quorum_with_hysteresis() {
    let cfg = lvs(SORRY);
    let key = tcp("10.0.0.1", 80);
    let mut p = Planner::new();
    let mut h = BTreeMap::new();
    // Start with 3 of 4: quorum needs 4 + 1 to be gained at start.
    set_health(&mut h, &cfg, 0, 0, false);
    set_health(&mut h, &cfg, 0, 1, true);
    let d = p.desired(&cfg, &h);
    assert_eq!(
        dests(&d, key),
        vec![(sa("192.168.1.11:80"), 0), (sa("192.168.1.99:80"), 1)],
        "the inhibited real server stays at weight 0, the sorry server serves"
    );
    // 5 >= 4 + 1: quorum gained, the sorry server leaves.
    set_health(&mut h, &cfg, 0, 0, true);
    let d = p.desired(&cfg, &h);
    assert_eq!(
        dests(&d, key),
        vec![(sa("192.168.1.10:80"), 2), (sa("192.168.1.11:80"), 3)]
    );
    assert_eq!(p.states().values().copied().collect::<Vec<_>>(), vec![true]);
    // 3 is not below 4 - 1: quorum kept (hysteresis).
    set_health(&mut h, &cfg, 0, 0, false);
    let d = p.desired(&cfg, &h);
    assert_eq!(dests(&d, key), vec![(sa("192.168.1.11:80"), 3)]);
    // 2 < 3: lost.
    set_health(&mut h, &cfg, 0, 0, true);
    set_health(&mut h, &cfg, 0, 1, false);
    let d = p.desired(&cfg, &h);
    assert_eq!(
        dests(&d, key),
        vec![(sa("192.168.1.11:80"), 0), (sa("192.168.1.99:80"), 1)]
    );
}

#[test]
fn inhibited_sorry_server_waits_at_weight_zero() {
    let cfg = lvs("
virtual_server 10.0.0.1 80 {
    protocol TCP
    sorry_server 192.168.1.99 80
    sorry_server_inhibit
    real_server 192.168.1.10 80 {
        TCP_CHECK { }
    }
}
");
    let key = tcp("10.0.0.1", 80);
    let mut p = Planner::new();
    let d = p.desired(&cfg, &BTreeMap::new());
    assert_eq!(
        dests(&d, key),
        vec![(sa("192.168.1.10:80"), 1), (sa("192.168.1.99:80"), 0)]
    );
    let mut h = BTreeMap::new();
    set_health(&mut h, &cfg, 0, 0, false);
    let d = p.desired(&cfg, &h);
    assert_eq!(dests(&d, key), vec![(sa("192.168.1.99:80"), 1)]);
}

fn kernel_of(d: &Desired) -> KernelTable {
    let mut k = KernelTable::default();
    for op in diff(d, &KernelTable::default(), |_| false) {
        k.apply(&op);
    }
    k
}

#[test]
fn diff_builds_from_empty_then_is_quiet() {
    let cfg = lvs(BASIC);
    let d = Planner::new().desired(&cfg, &BTreeMap::new());
    let ops = diff(&d, &KernelTable::default(), |_| true);
    let key = tcp("10.0.0.1", 80);
    assert_eq!(
        ops,
        vec![
            Request::NewService(d.services[0].service.clone()),
            Request::NewDest(key, d.services[0].dests[0]),
            Request::NewDest(key, d.services[0].dests[1]),
        ]
    );
    let k = kernel_of(&d);
    assert!(diff(&d, &k, |_| true).is_empty());
}

#[test]
fn diff_repairs_only_what_it_owns() {
    let cfg = lvs(BASIC);
    let d = Planner::new().desired(&cfg, &BTreeMap::new());
    let key = tcp("10.0.0.1", 80);
    let mut k = kernel_of(&d);
    // Someone deletes a destination by hand (keepalived#1877), changes a
    // weight, adds a foreign destination to our service, changes our
    // scheduler and adds a service of their own.
    let gone = d.services[0].dests[1];
    k.apply(&Request::DelDest(key, gone));
    let mut heavier = d.services[0].dests[0];
    heavier.weight = 50;
    k.apply(&Request::SetDest(key, heavier));
    let stranger = dest_for(sa("192.168.9.9:80"), Forwarding::Dr, 1, 0, 0);
    k.apply(&Request::NewDest(key, stranger));
    let mut s = d.services[0].service.clone();
    s.sched = "rr".into();
    k.apply(&Request::SetService(s));
    let foreign = Service {
        key: tcp("10.9.9.9", 80),
        sched: "wlc".into(),
        flags: 0,
        timeout: 0,
        netmask: u32::MAX,
        pe_name: None,
    };
    k.apply(&Request::NewService(foreign.clone()));

    let ops = diff(&d, &k, |key| d.get(key).is_some());
    assert_eq!(
        ops,
        vec![
            Request::SetService(d.services[0].service.clone()),
            Request::DelDest(key, stranger),
            Request::SetDest(key, d.services[0].dests[0]),
            Request::NewDest(key, gone),
        ]
    );
    for op in &ops {
        k.apply(op);
    }
    assert!(diff(&d, &k, |_| false).is_empty());
    assert!(
        k.services.contains_key(&foreign.key),
        "not ours: left alone"
    );

    // Owned but no longer desired (a reload removed it): deleted.
    let ops = diff(&Desired::default(), &k, |key| *key == tcp("10.0.0.1", 80));
    assert_eq!(ops, vec![Request::DelService(key)]);
    // Everything owned (lvs_flush at start): the foreign service too.
    let ops = diff(&d, &k, |_| true);
    assert_eq!(ops, vec![Request::DelService(foreign.key)]);
}

#[test]
fn tunnel_fields_only_matter_for_tunnels() {
    let a = dest_for(sa("192.168.1.1:80"), Forwarding::Dr, 1, 0, 0);
    let mut b = a;
    b.tun_port = 9;
    assert!(same_dest(&a, &b));
    let t = dest_for(
        sa("192.168.1.1:80"),
        Forwarding::Tun {
            tunnel: TunnelType::Gue { port: 6080 },
            csum: TunnelCsum::Csum,
        },
        1,
        0,
        0,
    );
    let mut u = t;
    u.tun_port = 6081;
    assert!(!same_dest(&t, &u));
}

#[test]
fn ipv6_ranges_step_the_last_group() {
    assert_eq!(
        range(
            "2001:db8::fffe".parse().unwrap(),
            "2001:db8::ffff".parse().unwrap()
        )
        .len(),
        2
    );
    assert_eq!(
        range("10.0.0.254".parse().unwrap(), "10.0.1.1".parse().unwrap()).len(),
        4
    );
}

#[test]
fn a_fwmark_shared_by_two_protocols_gets_both_pools() {
    let cfg = lvs("
virtual_server_group G {
    10.0.0.1 80
    fwmark 7
}
virtual_server group G {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.10 80 { weight 2 }
}
virtual_server group G {
    lb_algo rr
    lb_kind DR
    protocol UDP
    real_server 192.168.1.12 80 { }
}
");
    let d = Planner::new().desired(&cfg, &BTreeMap::new());
    let keys: Vec<String> = d
        .services
        .iter()
        .map(|s| s.service.key.to_string())
        .collect();
    assert_eq!(keys, vec!["TCP 10.0.0.1:80", "FWM 7", "UDP 10.0.0.1:80"]);
    let fwm = &d.services[1];
    assert_eq!(
        fwm.service.sched, "wrr",
        "the first virtual server configures it"
    );
    assert_eq!(
        dests(&d, fwm.service.key),
        vec![(sa("192.168.1.10:0"), 2), (sa("192.168.1.12:0"), 1)]
    );
}
