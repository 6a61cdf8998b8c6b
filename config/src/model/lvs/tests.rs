//! LVS model tests: configuration text through `load_str`, checking typed
//! values, defaults, inheritance and each diagnostic's severity, line and
//! wording (as keepalived 2.2.7 `-t` prints them).

use super::*;
use crate::diag::Severity;
use crate::{LoadOptions, Loaded};
use std::net::{Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

fn load(text: &str) -> Loaded {
    let l = crate::load_str(
        Path::new("/nonexistent/t.conf"),
        text,
        &LoadOptions::default(),
    );
    if let Ok(dir) = std::env::var("KA_DUMP_DIR") {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = std::thread::current()
            .name()
            .unwrap_or("x")
            .replace("::", "_");
        let base = format!("{dir}/{name}-{n}");
        std::fs::write(format!("{base}.conf"), text).unwrap();
        std::fs::write(format!("{base}.ours"), diags(&l).join("\n") + "\n").unwrap();
    }
    l
}

/// Diagnostics as `W|E line: message` (`-` for no line).
fn diags(l: &Loaded) -> Vec<String> {
    l.diagnostics
        .iter()
        .map(|d| {
            #[allow(unreachable_patterns)]
            let sev = match d.severity {
                Severity::Warning => "W",
                Severity::Error => "E",
                Severity::Security => "S",
                _ => "N",
            };
            match &d.loc {
                Some(loc) => format!("{sev} {}: {}", loc.line, d.message),
                None => format!("{sev} -: {}", d.message),
            }
        })
        .collect()
}

#[track_caller]
fn assert_diags(l: &Loaded, expected: &[&str]) {
    assert_eq!(diags(l), expected, "diagnostics differ");
}

fn vs0(l: &Loaded) -> &VirtualServer {
    &l.config.lvs.virtual_servers[0]
}

fn rs0(l: &Loaded) -> &RealServer {
    &vs0(l).real_servers[0]
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A complete, clean virtual server wrapped around `rs_body` (the inside
/// of one real server 10.0.0.2 80).
fn with_rs(rs_body: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.2 80 {{\n{rs_body}\n }}\n}}\n"
    )
}

// --- virtual_server and real_server basics --------------------------------

#[test]
fn clean_config_has_typed_values_and_defaults() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
",
    );
    assert_diags(&l, &[]);
    let vs = vs0(&l);
    assert_eq!(
        vs.key,
        VsKey::Addr {
            addr: sa("10.0.0.1:80")
        }
    );
    assert_eq!(vs.family, IpFamily::Inet);
    assert_eq!(vs.protocol, Some(Protocol::Tcp));
    assert_eq!(vs.scheduler, Scheduler::Rr);
    assert_eq!(vs.forwarding, Forwarding::Dr);
    assert_eq!(vs.delay_loop, secs(60.0));
    assert_eq!(vs.connect_timeout, secs(5.0));
    assert_eq!(vs.quorum, 1);
    assert_eq!(vs.persistence_timeout, None);
    assert!(!vs.smtp_alert);
    assert_eq!(vs.loc.line, 1);
    let rs = rs0(&l);
    assert_eq!(rs.addr, sa("10.0.0.2:80"));
    assert_eq!(rs.weight, 1);
    assert_eq!(rs.forwarding, Forwarding::Dr);
    assert!(rs.smtp_alert, "real servers default to smtp_alert on");
    assert_eq!(rs.loc.line, 5);
    let c = &rs.checkers[0];
    assert_eq!(c.kind, CheckerKind::Tcp);
    assert_eq!(c.retry, 1);
    assert_eq!(c.delay_loop, secs(60.0));
    assert_eq!(c.warmup, secs(60.0));
    assert_eq!(c.delay_before_retry, secs(1.0));
    let co = c.connection.as_ref().unwrap();
    assert_eq!(co.dst, sa("10.0.0.2:80"));
    assert_eq!(co.timeout, secs(5.0));
    assert_eq!(c.loc.line, 6);
}

#[test]
fn missing_scheduler_forwarding_and_protocol_are_defaulted_with_warnings() {
    let l = load("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n}\n");
    assert_diags(
        &l,
        &[
            "W -: Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP",
            "W -: Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'",
            "W -: Virtual server [10.0.0.1]:udp:80: no forwarding method set, setting default NAT",
        ],
    );
    let vs = vs0(&l);
    assert_eq!(vs.protocol, Some(Protocol::Udp));
    assert_eq!(vs.scheduler, Scheduler::Wlc);
    assert_eq!(vs.forwarding, Forwarding::Nat);
    assert_eq!(rs0(&l).forwarding, Forwarding::Nat);
    assert!(!l.has_errors());
}

#[test]
fn virtual_server_settings() {
    let l = load(
        "virtual_server 2001:db8::1 443 {
    lvs_sched sh
    sh-port
    sh-fallback
    flag-3
    lvs_method DR
    protocol sctp
    persistence_timeout 600
    persistence_granularity 64
    persistence_engine sip
    delay_loop 2.5
    connect_timeout 0.25
    retry 4
    delay_before_retry 2
    warmup 7
    weight 3
    alpha
    omega
    inhibit_on_failure
    quorum 2
    hysteresis 1
    smtp_alert no
    virtualhost www.example.com
    snmp_name web
    real_server 2001:db8::2 443 {
    }
}
",
    );
    assert_diags(&l, &[]);
    let vs = vs0(&l);
    assert_eq!(vs.family, IpFamily::Inet6);
    assert_eq!(vs.scheduler, Scheduler::Sh);
    assert_eq!(
        vs.flags,
        ServiceFlags {
            one_packet: false,
            sched_flag_1: true,
            sched_flag_2: true,
            sched_flag_3: true
        }
    );
    assert_eq!(vs.protocol, Some(Protocol::Sctp));
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(600)));
    assert_eq!(vs.persistence_granularity, Some(Granularity::PrefixLen(64)));
    assert_eq!(vs.persistence_engine.as_deref(), Some("sip"));
    assert_eq!(vs.delay_loop, secs(2.5));
    assert_eq!(vs.connect_timeout, secs(0.25));
    assert_eq!(vs.retry, Some(4));
    assert_eq!(vs.delay_before_retry, Some(secs(2.0)));
    assert_eq!(vs.warmup, Some(secs(7.0)));
    assert_eq!(vs.weight, 3);
    assert!(vs.alpha && vs.omega && vs.inhibit_on_failure);
    assert_eq!((vs.quorum, vs.hysteresis), (2, 1));
    assert!(!vs.smtp_alert);
    assert_eq!(vs.virtualhost.as_deref(), Some("www.example.com"));
    assert_eq!(vs.snmp_name.as_deref(), Some("web"));
    // Inherited by the real server.
    let rs = rs0(&l);
    assert_eq!(rs.weight, 3);
    assert!(rs.alpha && rs.inhibit_on_failure);
    assert_eq!(rs.retry, Some(4));
    assert_eq!(rs.delay_loop, secs(2.5));
    assert_eq!(rs.connect_timeout, secs(0.25));
    assert_eq!(rs.delay_before_retry, Some(secs(2.0)));
    assert_eq!(rs.warmup, Some(secs(7.0)));
}

#[test]
fn scheduler_flags_depend_on_the_scheduler_set_before_them() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    sh-port
    lb_algo mh
    mh-fallback
    sh-port
    hashed
    lb_algo foo
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W 2: sh-port only applies to sh scheduler - ignoring",
            "W 7: Invalid lvs_scheduler 'foo' - ignoring",
        ],
    );
    let vs = vs0(&l);
    assert_eq!(vs.scheduler, Scheduler::Mh);
    assert!(vs.flags.sched_flag_1);
    assert!(!vs.flags.sched_flag_2);
}

#[test]
fn tunnel_forwarding_options() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    protocol TCP
    lb_kind TUN type gue port 6080 csum
    real_server 10.0.0.2 80 {
    }
    real_server 10.0.0.3 80 {
        lvs_method TUN type gre remcsum
    }
    real_server 10.0.0.4 80 {
        lvs_method TUN type ipip csum
    }
    real_server 10.0.0.5 80 {
        lvs_method TUN type gue
    }
    real_server 10.0.0.6 80 {
        lvs_method FOO
    }
    real_server 10.0.0.7 80 {
        lvs_method TUN type vxlan
    }
    real_server 10.0.0.8 80 {
        lvs_method TUN type gre csum
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W 8: gre tunnels do not support remote checksum option.",
            "W 11: ipip tunnels do not support checksum option.",
            "W 14: gue tunnels require port, otherwise cannot have port.",
            "W 17: PARSER : unknown [FOO] routing method for real server.",
            "W 20: Unknown tunnel type vxlan for real server.",
        ],
    );
    let gue = Forwarding::Tun {
        tunnel: TunnelType::Gue { port: 6080 },
        csum: TunnelCsum::Csum,
    };
    let vs = vs0(&l);
    assert_eq!(vs.forwarding, gue);
    let f: Vec<Forwarding> = vs.real_servers.iter().map(|r| r.forwarding).collect();
    // A rejected option leaves the method set and the previous (here the
    // virtual server's) tunnel settings in place.
    assert_eq!(
        f,
        vec![
            gue,
            gue,
            gue,
            gue,
            gue,
            gue,
            Forwarding::Tun {
                tunnel: TunnelType::Gre,
                csum: TunnelCsum::Csum
            }
        ]
    );
}

#[test]
fn persistence_settings() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_granularity 255.255.255.0
    persistence_engine abcdefghijklmnopqrstuvwxyz
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.9 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout
    persistence_granularity 1.2.3.4.5
    persistence_granularity 0xffff00
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout 0
    persistence_timeout 2678401
    real_server 10.0.0.2 80 {
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W 6: persistence_name too long, truncating - abcdefghijklmnopqrstuvwxyz",
            "W 15: Invalid IPv4 persistence_granularity specified - 1.2.3.4.5",
            "W 24: number '0' outside range [1, 2678400]",
            "W 24: persistence_timeout invalid",
            "W 25: number '2678401' outside range [1, 2678400]",
            "W 25: persistence_timeout invalid",
        ],
    );
    let v = &l.config.lvs.virtual_servers;
    assert_eq!(
        v[0].persistence_granularity,
        Some(Granularity::Netmask("255.255.255.0".parse().unwrap()))
    );
    assert_eq!(v[0].persistence_timeout, Some(Duration::from_secs(360)));
    assert_eq!(v[0].persistence_engine.as_deref(), Some("abcdefghijklmnop"));
    assert_eq!(v[1].persistence_timeout, Some(Duration::from_secs(360)));
    // inet_aton forms: one part fills all four bytes.
    assert_eq!(
        v[1].persistence_granularity,
        Some(Granularity::Netmask("0.255.255.0".parse().unwrap()))
    );
    assert_eq!(v[2].persistence_timeout, None);
}

#[test]
fn bad_numbers_are_reported_like_keepalived() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    delay_before_retry abc
    retry 0
    warmup 1.1234567
    connect_timeout 0
    quorum 0
    hysteresis -1
    weight 0
    smtp_alert maybe
    virtualhost
    delay_loop 5x
    real_server 10.0.0.2 80 {
        weight -1
        uthreshold x
        inhibit_on_failure maybe
        retry 0
        delay_loop 0
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W 5: invalid number 'abc'",
            "W 6: number '0' outside range [1, 4294967295]",
            "W 6: retry value invalid - 0",
            "W 7: number '1.1234567' has too many decimal places",
            "W 8: number '0' outside range [0.000001, 4294.967295]",
            "W 8: virtual server connect_timeout 0 invalid - ignoring",
            "W 9: number '0' outside range [1, 4294967295]",
            "W 9: Quorum 0 must be in [1, 4294967295]. Setting to 1.",
            "W 10: negative number '-1'",
            "W 10: Hysteresis -1 must be in [0, 4294967295] - ignoring",
            "W 11: number '0' outside range [1, 2147483647]",
            "W 11: Virtual server weight 0 is outside range 1-2147483647",
            "W 12: Invalid virtual_server smtp_alert parameter maybe",
            "W 13: virtual server virtualhost missing",
            "W 14: invalid number '5x'",
            "W 16: negative number '-1'",
            "W 16: Real server weight -1 is outside range 0-2147483647",
            "W 17: invalid number 'x'",
            "W 17: Invalid real_server uthreshold 'x' - ignoring",
            "W 18: Invalid inhibit_on_failure parameter maybe",
            "W 19: number '0' outside range [1, 4294967295]",
            "W 19: retry value invalid - 0",
            "W 20: number '0' outside range [0.000001, 18446744073709.551614]",
            "W 20: real server delay_loop '0' invalid - ignoring",
        ],
    );
    assert!(!l.has_errors());
    let vs = vs0(&l);
    // keepalived's timer reader keeps leading digits: `abc` is 0 and `5x`
    // is 5 microseconds; extra decimal places are rounded.
    assert_eq!(vs.delay_before_retry, Some(Duration::ZERO));
    assert_eq!(vs.delay_loop, Duration::from_micros(5));
    assert_eq!(vs.warmup, Some(Duration::from_micros(1_123_457)));
    assert_eq!(vs.connect_timeout, secs(5.0));
    assert_eq!(vs.quorum, 1);
    assert_eq!(vs.weight, 1);
    assert_eq!(rs0(&l).weight, 1);
}

#[test]
fn missing_values_are_errors() {
    let l = load(
        "virtual_server 10.0.0.1 80 {\n    lb_algo\n    real_server 10.0.0.2 80 {\n        weight\n    }\n}\n",
    );
    let d = diags(&l);
    assert_eq!(
        d[0],
        "E 2: *** Configuration line starting `lb_algo` is missing a parameter after keyword `lb_algo` at word position 2"
    );
    assert_eq!(
        d[1],
        "E 4: *** Configuration line starting `weight` is missing a parameter after keyword `weight` at word position 2"
    );
    assert!(l.has_errors());
    let l = load("virtual_server fwmark\n{\n}\n");
    assert_eq!(
        diags(&l),
        [
            "E 1: *** Configuration line starting `virtual_server` is missing a parameter after keyword `fwmark` at word position 3"
        ]
    );
}

#[test]
fn invalid_addresses_skip_the_server() {
    let l = load(
        "virtual_server 10.0.0.x 80 {
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.1 70000 {
}
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server foo 80 {
        weight 2
    }
    real_server 10.0.0.3 {
    }
    real_server 2001:db8::5 80 { }
    sorry_server bar 80
}
",
    );
    assert_diags(
        &l,
        &[
            "W 1: Invalid virtual server IP address/port 10.0.0.x/80 - skipping",
            "W 5: number '70000' outside range [1, 65535]",
            "W 5: Invalid virtual server IP address/port 10.0.0.1/70000 - skipping",
            "W 11: Invalid real server ip address/port foo/80 - skipping",
            "W 16: Address family of virtual server and real server 2001:db8::5 don't match - skipping real server.",
            "W 17: Invalid sorry server IP address bar - skipping",
        ],
    );
    assert_eq!(l.config.lvs.virtual_servers.len(), 1);
    let vs = vs0(&l);
    // The port-less NAT real server takes the virtual server's port.
    assert_eq!(vs.real_servers.len(), 1);
    assert_eq!(vs.real_servers[0].addr, sa("10.0.0.3:80"));
    assert!(vs.sorry_server.is_none());
}

#[test]
fn unknown_keywords_at_every_level() {
    let l = load(&with_rs(
        "  bogus_rs 1\n  TCP_CHECK {\n   bogus_check\n   nb_get_retry 3\n  }",
    ));
    assert_diags(
        &l,
        &[
            "W 6: Unknown keyword 'bogus_rs'",
            "W 8: Unknown keyword 'bogus_check'",
            "W 9: Unknown keyword 'nb_get_retry'",
        ],
    );
    let l = load(
        "virtual_server 10.0.0.1 80 {\n lb_kind NAT\n foo\n real_server 10.0.0.2 80 {\n weight 3 {\n }\n }\n}\n",
    );
    // The block after `weight 3` is not its block: its `}` closes the
    // real server, the next one the virtual server, the last one is
    // surplus (keepalived's messages, in its order).
    assert_diags(
        &l,
        &[
            "W 3: Unknown keyword 'foo'",
            "W 5: Unexpected '{' - ignoring",
            "W 8: Unknown keyword '}'",
            "W -: Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP",
            "W -: Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'",
        ],
    );
}

// --- virtual_server_group --------------------------------------------------

#[test]
fn group_entries() {
    let l = load(
        "virtual_server_group g1 {
    10.0.0.1 80
    10.0.1.1-10 80
    10.0.2.5-10.0.3.7 443
    10.0.4.0/24 0
    192.168.1.1/32 80
    fwmark 7 inet
}
virtual_server_group g6 {
    2001:db8::1-ff 80
    2001:db8:1::/64 80
    fwmark 8 inet6
}
",
    );
    assert_diags(&l, &[]);
    let g = &l.config.lvs.groups;
    assert_eq!(g.len(), 2);
    let addrs = |e: &VsgEntry| match e {
        VsgEntry::Addresses {
            first, last, port, ..
        } => format!("{first}-{last}:{port}"),
        VsgEntry::Fwmark { mark, family, .. } => format!("fwm{mark}/{family:?}"),
    };
    let e: Vec<String> = g[0].entries.iter().map(addrs).collect();
    assert_eq!(
        e,
        [
            "10.0.0.1-10.0.0.1:80",
            "10.0.1.1-10.0.1.10:80",
            "10.0.2.5-10.0.3.7:443",
            "10.0.4.0-10.0.4.255:0",
            "192.168.1.1-192.168.1.1:80",
            "fwm7/Some(Inet)"
        ]
    );
    let e: Vec<String> = g[1].entries.iter().map(addrs).collect();
    assert_eq!(
        e,
        [
            "2001:db8::1-2001:db8::ff:80",
            "2001:db8:1::-2001:db8:1:0:ffff:ffff:ffff:ffff:80",
            "fwm8/Some(Inet6)"
        ]
    );
    assert_eq!(g[0].entries[1].to_string(), "10.0.1.1-10.0.1.10,80");
    assert!(g[0].has_ipv4() && !g[0].has_ipv6());
}

#[test]
fn bad_group_entries() {
    let l = load(
        "virtual_server_group g1 {
    10.0.0.5-5 80
    10.0.0.5-300 80
    10.0.0.5-7x 80
    10.0.0.9-10.0.0.1 80
    10.0.0.1/33 80
    10.0.0.1/24 80
    10.0.0.x 80
    fwmark -1
    fwmark 5 ipx
    10.0.0.1 80
}
virtual_server_group empty { }
",
    );
    assert_diags(
        &l,
        &[
            "W 2: Address range end is not greater than address range start - 10.0.0.5-5 - skipping",
            "W 3: Virtual server group range '10.0.0.5-300' end '300' too large",
            "W 4: Virtual server group range '10.0.0.5-7x' has extra characters at end 'x'",
            "W 5: Address range end is less than address range start - 10.0.0.9-10.0.0.1 - skipping",
            "W 6: Invalid netmask - 10.0.0.1/33 - skipping",
            "W 7: Address mask bits not empty - 10.0.0.1/24 - skipping",
            "W 8: Invalid virtual server group IP address 10.0.0.x /port/80 - skipping",
            "W 9: negative number '-1'",
            "W 9: (g1): fwmark '-1' must be in [0, 4294967295] - ignoring",
            "W 10: (g1): fwmark '5' family ipx unknown - ignoring",
            "W 13: virtual server group empty has no entries - removing",
        ],
    );
    assert_eq!(l.config.lvs.groups.len(), 1);
    assert_eq!(l.config.lvs.groups[0].entries.len(), 1);
    let l = load("virtual_server_group mixed {\n 10.0.0.1 80\n 2001:db8::1 80\n fwmark 1\n}\n");
    assert_diags(
        &l,
        &[
            "W 5: virtual server group mixed cannot have IPv4, IPv6 and fwmark without family - removing",
        ],
    );
    assert!(l.config.lvs.groups.is_empty());
}

#[test]
fn group_services_are_linked_and_numbered() {
    let l = load(
        "virtual_server_group g1 {
    10.0.0.1 80
}
virtual_server group g1 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
virtual_server group nosuch {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
virtual_server group g1 {
    lb_algo wrr
    lb_kind NAT
    protocol UDP
    real_server 10.0.0.3 80 {
    }
}
",
    );
    // keepalived only logs the missing group (not a configuration error).
    assert_diags(&l, &[]);
    let n = &l.config.lvs.notices;
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].message,
        "Virtual server group nosuch specified but not configured - ignoring virtual server [nosuch]:0"
    );
    assert_eq!(n[0].loc.as_ref().unwrap().line, 11);
    let v = &l.config.lvs.virtual_servers;
    assert_eq!(v.len(), 2);
    assert_eq!(
        v[0].key,
        VsKey::Group {
            name: "g1".into(),
            index: 0
        }
    );
    assert_eq!(
        v[1].key,
        VsKey::Group {
            name: "g1".into(),
            index: 1
        }
    );
    assert_eq!(v[1].display_name(), "[g1]:1");
    assert_eq!(v[1].family, IpFamily::Inet);
    assert_eq!(v[0].group(), Some("g1"));
}

#[test]
fn group_port_checks() {
    let l = load(
        "virtual_server_group g {
    10.0.0.1 80
    10.0.0.2 0
    fwmark 3
}
virtual_server group g {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.9 8080 {
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W -: Virtual server [g]:0: zero port only valid for persistent services - setting",
            "W -: WARNING - fwmark virtual server [g]:0, real server [10.0.0.9]:tcp:8080 has port specified - port will be ignored",
            "W -: virtual server [g]:0:[10.0.0.1,80] and real server [10.0.0.9]:tcp:8080 ports don't match",
            "W -: virtual server [g]:0:[10.0.0.2,0] and real server [10.0.0.9]:tcp:8080 ports don't match",
        ],
    );
    assert_eq!(vs0(&l).persistence_timeout, Some(Duration::from_secs(360)));
}

// --- validation --------------------------------------------------------------

#[test]
fn post_parse_validation() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    protocol TCP
    ops
    quorum 10
    hysteresis 20
    sorry_server 10.0.0.50 8080
    sorry_server_lvs_method DR
    real_server 10.0.0.2 80 {
        weight 2
    }
    real_server 10.0.0.2 80 {
    }
    real_server 10.0.0.3 90 {
        lvs_method DR
    }
    real_server 10.0.0.4 90 {
    }
}
virtual_server 10.0.0.9 80 {
}
virtual_server fwmark 5 {
    lb_algo rr
    lb_kind DR
    protocol UDP
    ha_suspend
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.7 0 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 0 {
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W -: Virtual server [10.0.0.1]:tcp:80: one packet scheduling requires UDP - resetting",
            "W -: Virtual server [10.0.0.1]:tcp:80: no forwarding method set, setting default NAT",
            "W -: VS [10.0.0.1]:tcp:80: real server [10.0.0.2]:tcp:80 is duplicated - removing second rs",
            "W -: Warning - quorum 10 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 4, reducing quorum to 4",
            "W -: Virtual server [10.0.0.1]:tcp:80: hysteresis 20 >= quorum 4; setting hysteresis to 3",
            "W -: WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.0.0.3]:tcp:90 ports don't match - resetting",
            "W -: WARNING - virtual server [10.0.0.1]:tcp:80 and sorry server ports don't match - resetting",
            "W -: Virtual server [10.0.0.9]:none:80 has no real servers - ignoring",
            "W -: Virtual server FWM 5: cannot use ha_suspend with fwmarks - clearing ha_suspend",
            "W -: Warning: Virtual server FWM 5: protocol specified for fwmark - protocol will be ignored",
            "W -: WARNING - fwmark virtual server FWM 5, real server [10.0.0.2]:none:80 has port specified - clearing",
            "W -: Virtual server [10.0.0.7]:tcp:0: zero port only valid for persistent services - setting",
        ],
    );
    let v = &l.config.lvs.virtual_servers;
    assert_eq!(v.len(), 3);
    let a = &v[0];
    assert!(!a.flags.one_packet);
    assert_eq!((a.quorum, a.hysteresis), (4, 3));
    let addrs: Vec<SocketAddr> = a.real_servers.iter().map(|r| r.addr).collect();
    // NAT keeps its own port; DR is reset to the service's.
    assert_eq!(
        addrs,
        [sa("10.0.0.2:80"), sa("10.0.0.3:80"), sa("10.0.0.4:90")]
    );
    assert_eq!(a.real_servers[1].forwarding, Forwarding::Dr);
    let s = a.sorry_server.as_ref().unwrap();
    assert_eq!(s.addr, sa("10.0.0.50:80"));
    assert_eq!(s.forwarding, Forwarding::Dr);
    let f = &v[1];
    assert!(!f.ha_suspend);
    assert_eq!(f.protocol, None);
    assert_eq!(f.real_servers[0].addr, sa("10.0.0.2:0"));
    assert_eq!(f.display_name(), "FWM 5");
    assert_eq!(v[2].persistence_timeout, Some(Duration::from_secs(360)));
}

#[test]
fn sorry_server_checks() {
    let l = load(
        "virtual_server 10.0.0.1 80 { sorry_server 2001:db8::1 80 }
virtual_server 10.0.0.1 81 {
    sorry_server_inhibit
    sorry_server_lvs_method DR
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server 10.0.0.2 81
    sorry_server_inhibit
    real_server 10.0.0.2 81 {
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W 1: Address family of virtual server and sorry server 2001:db8::1 don't match - skipping sorry server.",
            "W 3: Ignoring sorry_server inhibit used before or without sorry_server",
            "W 4: sorry_server forwarding used without sorry_server",
            "W -: Virtual server [10.0.0.1]:none:80 has no real servers - ignoring",
            "W -: Virtual server [10.0.0.1]:tcp:81: real server [10.0.0.2]:tcp:81 matches sorry server, but inhibit setting differs, clearing on sorry server",
        ],
    );
    let s = vs0(&l).sorry_server.as_ref().unwrap();
    assert!(!s.inhibit);
    assert!(s.duplicates_real_server);
}

#[test]
fn fwmark_service_family_from_tunnelled_real_servers() {
    let l = load(
        "virtual_server fwmark 1 {
    lb_algo rr
    lb_kind TUN
    real_server 2001:db8::2 0 {
    }
}
",
    );
    assert_diags(&l, &[]);
    assert_eq!(vs0(&l).family, IpFamily::Inet6);
    assert_eq!(vs0(&l).protocol, None);
}

#[test]
fn ip_family_conflict() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    ip_family inet6
    ip_family ipx
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W 2: Virtual server specified family inet6 conflicts with server family",
            "W 3: unknown address family ipx",
        ],
    );
}

// --- inheritance ---------------------------------------------------------------

#[test]
fn checker_inheritance_and_per_kind_defaults() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    delay_loop 10
    connect_timeout 3
    real_server 10.0.0.2 80 {
        delay_loop 7
        TCP_CHECK {
        }
        HTTP_GET {
            url {
                path /
            }
        }
        MISC_CHECK {
            misc_path /bin/true
        }
        DNS_CHECK {
        }
        TCP_CHECK {
            retry 5
            delay_loop 2
            delay_before_retry 0.5
            warmup 9
            connect_timeout 1
            alpha
            log_all_failures
        }
    }
    real_server 10.0.0.3 80 {
        retry 6
        warmup 4
        delay_before_retry 8
        alpha no
        connect_timeout 2
        DNS_CHECK {
        }
    }
}
",
    );
    assert_diags(&l, &[]);
    let vs = vs0(&l);
    let c = &vs.real_servers[0].checkers;
    let row = |c: &Checker| (c.retry, c.delay_loop, c.warmup, c.delay_before_retry);
    assert_eq!(row(&c[0]), (1, secs(7.0), secs(7.0), secs(1.0)));
    assert_eq!(row(&c[1]), (1, secs(7.0), secs(7.0), secs(3.0)));
    assert_eq!(row(&c[2]), (0, secs(7.0), secs(7.0), secs(1.0)));
    assert_eq!(row(&c[3]), (3, secs(7.0), secs(7.0), secs(7.0)));
    assert_eq!(row(&c[4]), (5, secs(2.0), secs(9.0), secs(0.5)));
    assert!(c[4].alpha && c[4].log_all_failures && !c[0].alpha);
    assert_eq!(c[0].connection.as_ref().unwrap().timeout, secs(3.0));
    assert_eq!(c[4].connection.as_ref().unwrap().timeout, secs(1.0));
    assert!(c[2].connection.is_none());
    // The MISC_CHECK timeout defaults to the virtual server's delay_loop.
    let CheckerKind::Misc(m) = &c[2].kind else {
        panic!()
    };
    assert_eq!(m.timeout, secs(10.0));
    let c = &vs.real_servers[1].checkers[0];
    assert_eq!(row(c), (6, secs(10.0), secs(4.0), secs(8.0)));
    assert_eq!(c.connection.as_ref().unwrap().timeout, secs(2.0));
    assert!(!c.alpha);
}

#[test]
fn smtp_alert_defaults() {
    // Virtual servers default off, real servers on.
    let l = load(&with_rs(""));
    assert!(!vs0(&l).smtp_alert);
    assert!(rs0(&l).smtp_alert);
    let l = load(&with_rs("  smtp_alert off"));
    assert!(!rs0(&l).smtp_alert);
    // global smtp_alert_checker, then smtp_alert, stand in for both.
    let l = load(&format!(
        "global_defs {{\n smtp_alert_checker\n smtp_alert off\n}}\n{}",
        with_rs("")
    ));
    assert_diags(&l, &[]);
    assert!(vs0(&l).smtp_alert);
    assert!(rs0(&l).smtp_alert);
    let l = load(&format!(
        "global_defs {{\n smtp_alert off\n}}\n{}",
        with_rs("")
    ));
    assert_diags(&l, &[]);
    assert!(!vs0(&l).smtp_alert);
    assert!(!rs0(&l).smtp_alert);
}

#[test]
fn global_checker_log_all_failures() {
    let l = load(&format!(
        "global_defs {{\n checker_log_all_failures\n}}\n{}",
        with_rs("  TCP_CHECK {\n  }")
    ));
    assert_diags(&l, &[]);
    assert!(rs0(&l).checkers[0].log_all_failures);
}

// --- checkers ---------------------------------------------------------------------

#[test]
fn http_get_checker() {
    let l = load(&with_rs(
        "  SSL_GET {
   virtualhost www.example.com
   http_protocol 1.1
   enable_sni
   fast_recovery yes
   nb_get_retry 4
   url {
    path /health
    digest 0123456789abcdef0123456789ABCDEF
    status_code 404 200-204 +302
    virtualhost other.example.com
   }
   url {
    path /b
    regex \"fo+\"
    regex_options caseless bogus
    regex_no_match
    regex_min_offset 2
    regex_max_offset 30
   }
  }",
    ));
    assert_diags(
        &l,
        &["W 11: nb_get_retry is deprecated - please use 'retry'"],
    );
    let c = &rs0(&l).checkers[0];
    assert_eq!(c.retry, 4);
    assert_eq!(c.delay_before_retry, secs(3.0));
    let CheckerKind::Http(h) = &c.kind else {
        panic!()
    };
    assert!(h.ssl && h.enable_sni && h.fast_recovery);
    assert_eq!(h.http_protocol, HttpProtocol::Http11);
    assert_eq!(h.virtualhost.as_deref(), Some("www.example.com"));
    assert_eq!(c.kind.keyword(), "SSL_GET");
    let u = &h.urls[0];
    assert_eq!(u.path, "/health");
    assert_eq!(
        u.digest,
        Some([
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef
        ])
    );
    assert_eq!(
        u.status_codes,
        [
            StatusRange { min: 200, max: 204 },
            StatusRange { min: 302, max: 302 },
            StatusRange { min: 404, max: 404 }
        ]
    );
    assert!(u.accepts(203) && !u.accepts(205));
    assert_eq!(u.virtualhost.as_deref(), Some("other.example.com"));
    assert_eq!(u.request_host.as_deref(), Some("other.example.com"));
    assert_eq!(u.sni_name.as_deref(), Some("other.example.com"));
    let u = &h.urls[1];
    assert_eq!(u.request_host.as_deref(), Some("www.example.com"));
    assert_eq!(u.status_codes, [StatusRange { min: 200, max: 299 }]);
    assert_eq!(
        u.regex,
        Some(UrlRegex {
            pattern: "fo+".into(),
            options: vec!["caseless".into()],
            no_match: true,
            min_offset: 2,
            max_offset: Some(30),
            stack: None,
        })
    );
    assert!(l.config.lvs.ssl_required());
}

#[test]
fn end_of_block_problems_at_the_closing_brace() {
    // keepalived reports these at the `}` ending the block.
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /
            }
            url {
                status_code 200
            }
        }
        FILE_CHECK {
            track_file nosuch
        }
        UDP_CHECK {
            min_reply_length 300
        }
    }
    real_server 2001:db8::9 80 {
        weight 1
    }
    sorry_server 2001:db8::1 80
}
",
    );
    assert_diags(
        &l,
        &[
            "W 12: HTTP/SSL_GET checker url has no path - ignoring",
            "W 15: track_file nosuch not found",
            "W 16: FILE_CHECK has no track_file specified - ignoring",
            "W 19: UDP_CHECK min_reply length 300 > max_reply_length 255 - will always fail",
            "W 23: Address family of virtual server and real server 2001:db8::9 don't match - skipping real server.",
            "W 25: Address family of virtual server and sorry server 2001:db8::1 don't match - skipping sorry server.",
        ],
    );
    let l = load(&with_rs(
        "  HTTP_GET {\n   url {\n    status_code 200\n   }\n  }",
    ));
    assert_diags(
        &l,
        &[
            "W 9: HTTP/SSL_GET checker url has no path - ignoring",
            "W 10: HTTP/SSL_GET checker has no urls specified - ignoring",
        ],
    );
}

#[test]
fn http_virtualhost_resolution() {
    let l = load(
        "virtual_server 10.0.0.1 443 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    virtualhost vs.example.com
    real_server 10.0.0.2 443 {
        virtualhost rs.example.com
        SSL_GET {
            enable_sni
            url { path / }
        }
        HTTP_GET {
            url { path / }
        }
    }
}
",
    );
    assert_diags(&l, &[]);
    let c = &rs0(&l).checkers;
    let url = |i: usize| match &c[i].kind {
        CheckerKind::Http(h) => h.urls[0].clone(),
        _ => panic!(),
    };
    // Host: url, checker, real server, virtual server; SNI skips the
    // real server.
    assert_eq!(url(0).request_host.as_deref(), Some("rs.example.com"));
    assert_eq!(url(0).sni_name.as_deref(), Some("vs.example.com"));
    assert_eq!(url(1).request_host.as_deref(), Some("rs.example.com"));
    assert_eq!(url(1).sni_name, None);
}

#[test]
fn http_get_problems() {
    let l = load(&with_rs(
        "  HTTP_GET {
   virtualhost
   http_protocol 2.0
   enable_sni maybe
   url { }
   url {
    path /a
    digest 0123456789abcdef0123456789abcdeg
    digest 123
    status_code 600 abc 300-200 100
    virtualhost
   }
  }
  HTTP_GET { }",
    ));
    assert_diags(
        &l,
        &[
            "W 7: HTTP_GET virtualhost name missing",
            "W 8: Invalid http_protocol version 2.0",
            "W 9: Invalid enable_sni parameter maybe",
            "W 10: HTTP/SSL_GET checker url has no path - ignoring",
            "W 13: Unable to interpret hex digit in '0123456789abcdef0123456789abcdeg' at offset 30/31",
            "W 14: digest '123' character length should be 32 rather than 3",
            "W 15: Invalid HTTP_GET status code '600'",
            "W 15: Invalid HTTP_GET status code 'abc'",
            "W 15: Invalid HTTP_GET status code '300-200'",
            "W 16: Missing HTTP_GET virtualhost name",
            "W 19: HTTP/SSL_GET checker has no urls specified - ignoring",
        ],
    );
    let c = &rs0(&l).checkers;
    assert_eq!(c.len(), 1);
    let CheckerKind::Http(h) = &c[0].kind else {
        panic!()
    };
    assert_eq!(h.urls.len(), 1);
    assert_eq!(h.urls[0].digest, None);
    assert_eq!(h.urls[0].status_codes, [StatusRange { min: 100, max: 100 }]);
}

#[test]
fn connection_options() {
    let l = load(&with_rs(
        "  TCP_CHECK {
   connect_ip 10.0.0.9
   connect_port 8080
   bindto 10.0.0.1
   bind_port 5000
   bind_if eth0
   fwmark 7
  }
  TCP_CHECK {
   connect_ip 10.0.0.9
   bindto fe80::1
   connect_port 0
   bind_port 99999
   bind_if averyveryverylongifname
   connect_timeout x
   fwmark -1
   retry -1
   delay_before_retry -1
   warmup -1
   delay_loop 0
   alpha maybe
   log_all_failures maybe
  }
  PING_CHECK { connect_ip fe80::1 }
  PING_CHECK {
   connect_ip fe80::1
   bind_if eth1
  }",
    ));
    assert_diags(
        &l,
        &[
            "W 16: bindto address fe80::1 does not match address family of connect_ip - skipping",
            "W 17: number '0' outside range [1, 65535]",
            "W 17: Invalid checker connect_port '0'",
            "W 18: number '99999' outside range [1, 65535]",
            "W 18: Invalid checker bind_port '99999'",
            "W 19: Interface name averyveryverylongifname is too long - ignoring",
            "W 20: invalid number 'x'",
            "W 20: connect_timeout x invalid - ignoring",
            "W 21: negative number '-1'",
            "W 21: Invalid fwmark connection value '-1'",
            "W 22: negative number '-1'",
            "W 22: Invalid retry connection value '-1'",
            "W 23: negative number '-1'",
            "W 23: Invalid delay_before_retry connection value '-1'",
            "W 24: negative number '-1'",
            "W 24: Invalid warmup connection value '-1'",
            "W 25: number '0' outside range [0.000001, 18446744073709.551614]",
            "W 25: delay_loop '0' is invalid - ignoring",
            "W 26: Invalid alpha parameter maybe",
            "W 27: Invalid log_all_failures parameter maybe",
            "W 29: Checker link local address fe80::1 requires a bind_if",
        ],
    );
    let c = &rs0(&l).checkers;
    assert_eq!(c.len(), 3);
    let co = c[0].connection.as_ref().unwrap();
    assert_eq!(co.dst, sa("10.0.0.9:8080"));
    assert_eq!(co.bindto, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(co.bind_port, Some(5000));
    assert_eq!(co.bind_if.as_deref(), Some("eth0"));
    assert_eq!(co.fwmark, 7);
    let co = c[1].connection.as_ref().unwrap();
    assert_eq!(co.dst, sa("10.0.0.9:80"));
    assert_eq!(co.bindto, None);
    let co = c[2].connection.as_ref().unwrap();
    assert_eq!(
        co.dst,
        SocketAddr::new("fe80::1".parse::<Ipv6Addr>().unwrap().into(), 80)
    );
}

#[test]
fn smtp_checker_and_host_blocks() {
    let l = load(&with_rs(
        "  SMTP_CHECK {
   connect_port 25
  }
  SMTP_CHECK {
   helo_name mx.example.com
   retry 2
   host {
    connect_ip 10.0.0.77
    connect_port 2525
   }
   host {
    connect_ip 10.0.0.78
    connect_timeout 4
    delay_loop 3
   }
  }
  SMTP_CHECK {
   helo_name
  }",
    ));
    assert_diags(&l, &["W 23: SMTP_CHECK helo name missing"]);
    let c = &rs0(&l).checkers;
    assert_eq!(c.len(), 4);
    let CheckerKind::Smtp(s) = &c[0].kind else {
        panic!()
    };
    assert_eq!(s.helo_name, "smtpchecker.keepalived.org");
    let co = c[0].connection.as_ref().unwrap();
    assert_eq!((co.dst, co.timeout), (sa("10.0.0.2:25"), secs(5.0)));
    // Host blocks replace the main connection; their timeout defaults to
    // 0 as in keepalived, and checker keywords apply to the whole checker.
    let CheckerKind::Smtp(s) = &c[1].kind else {
        panic!()
    };
    assert_eq!(s.helo_name, "mx.example.com");
    let co = c[1].connection.as_ref().unwrap();
    assert_eq!((co.dst, co.timeout), (sa("10.0.0.77:2525"), Duration::ZERO));
    let co = c[2].connection.as_ref().unwrap();
    assert_eq!((co.dst, co.timeout), (sa("10.0.0.78:80"), secs(4.0)));
    assert_eq!((c[1].retry, c[1].delay_loop), (2, secs(3.0)));
    assert_eq!((c[2].retry, c[2].delay_loop), (2, secs(3.0)));
    assert_eq!(c[1].loc.line, 12);
    let co = c[3].connection.as_ref().unwrap();
    assert_eq!(co.dst, sa("10.0.0.2:80"));
}

#[test]
fn misc_checker_and_scripts() {
    let l = load(
        "virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum_up \"/bin/echo up\" root daemon
    quorum_up /bin/true
    quorum_down /bin/down
    real_server 10.0.0.2 80 {
        notify_up \"/usr/bin/notify 'a b'\" daemon
        notify_up /bin/false
        notify_down /bin/nd
        MISC_CHECK {
            misc_path \"/bin/check --port 80\"
            misc_timeout 5
            misc_dynamic
            user daemon root
        }
        MISC_CHECK { misc_timeout x }
        MISC_CHECK { user }
    }
}
",
    );
    assert_diags(
        &l,
        &[
            "W 6: ((null)) quorum_up script already specified - ignoring /bin/true",
            "W 10: ((null)) notify_up script already specified - ignoring /bin/false",
            "W 18: invalid number 'x'",
            "W 18: Invalid misc_timeout value 'x'",
            "W 18: No script path has been specified for MISC_CHECKER - skipping",
            "W 19: No user specified for misc checker script ",
            "W 19: No script path has been specified for MISC_CHECKER - skipping",
        ],
    );
    let vs = vs0(&l);
    let up = vs.quorum_up.as_ref().unwrap();
    assert_eq!(up.argv, ["/bin/echo", "up"]);
    assert_eq!(up.user.as_deref(), Some("root"));
    assert_eq!(up.group.as_deref(), Some("daemon"));
    let rs = rs0(&l);
    let n = rs.notify_up.as_ref().unwrap();
    assert_eq!(n.argv, ["/usr/bin/notify", "a b"]);
    assert_eq!(n.user.as_deref(), Some("daemon"));
    assert_eq!(rs.checkers.len(), 1);
    let CheckerKind::Misc(m) = &rs.checkers[0].kind else {
        panic!()
    };
    assert_eq!(m.script.argv, ["/bin/check", "--port", "80"]);
    assert_eq!(m.script.user.as_deref(), Some("daemon"));
    assert_eq!(m.script.group.as_deref(), Some("root"));
    assert_eq!(m.script.loc.line, 13);
    assert_eq!(m.timeout, secs(5.0));
    assert!(m.dynamic);
    let scripts = l.config.lvs.scripts();
    let roles: Vec<ScriptRole> = scripts.iter().map(|s| s.role).collect();
    assert_eq!(
        roles,
        [
            ScriptRole::QuorumUp { vs: 0 },
            ScriptRole::QuorumDown { vs: 0 },
            ScriptRole::NotifyUp { vs: 0, rs: 0 },
            ScriptRole::NotifyDown { vs: 0, rs: 0 },
            ScriptRole::Misc {
                vs: 0,
                rs: 0,
                checker: 0
            },
        ]
    );
    for s in &scripts {
        assert_eq!(l.config.lvs.script(s.role), Some(s.script));
    }
    assert_eq!(
        l.config.lvs.script(ScriptRole::NotifyUp { vs: 0, rs: 5 }),
        None
    );
}

#[test]
fn dns_checker() {
    let l = load(&with_rs(
        "  DNS_CHECK {
   type FOO
   type aaaa
   name a..b
   name ok.example
   name other
  }
  DNS_CHECK {
  }",
    ));
    assert_diags(
        &l,
        &[
            "W 7: Unknown DNS check type FOO - ignoring",
            "W 9: DNS_CHECK name 'a..b' has empty label - ignoring",
            "W 11: DNS_CHECK name already specified - ignoring",
        ],
    );
    let c = &rs0(&l).checkers;
    assert_eq!(
        c[0].kind,
        CheckerKind::Dns(DnsCheck {
            query_type: DnsType::Aaaa,
            name: "ok.example".into()
        })
    );
    assert_eq!(
        c[1].kind,
        CheckerKind::Dns(DnsCheck {
            query_type: DnsType::Soa,
            name: String::new()
        })
    );
}

#[test]
fn udp_checker() {
    let l = load(&with_rs(
        "  UDP_CHECK {
   payload 01 02ab c
   require_reply 0a xX f
   min_reply_length 2
   max_reply_length 100
  }
  UDP_CHECK {
   payload zz
   require_reply
   min_reply_length 70000
   max_reply_length 3
  }
  UDP_CHECK { min_reply_length 300 }",
    ));
    assert_diags(
        &l,
        &[
            "W 13: Invalid hex string for UDP_CHECK payload",
            "W 15: number '70000' outside range [0, 65535]",
            "W 15: UDP_CHECK min length 70000 not valid - must be between 0 & 65535",
            "W 18: UDP_CHECK min_reply length 300 > max_reply_length 255 - will always fail",
        ],
    );
    let c = &rs0(&l).checkers;
    let CheckerKind::Udp(u) = &c[0].kind else {
        panic!()
    };
    assert_eq!(u.payload.as_deref(), Some(&[0x01, 0x02, 0xab, 0x0c][..]));
    assert!(u.require_reply);
    assert_eq!(
        u.reply,
        Some(HexPattern {
            data: vec![0x0a, 0x00, 0x0f],
            mask: Some(vec![0x00, 0xff, 0x00])
        })
    );
    assert_eq!((u.min_reply_length, u.max_reply_length), (2, 100));
    let CheckerKind::Udp(u) = &c[1].kind else {
        panic!()
    };
    assert_eq!(u.payload, None);
    assert!(u.require_reply && u.reply.is_none());
    assert_eq!((u.min_reply_length, u.max_reply_length), (0, 3));
    let CheckerKind::Udp(u) = &c[2].kind else {
        panic!()
    };
    assert_eq!((u.min_reply_length, u.max_reply_length), (300, 255));
}

#[test]
fn file_checks() {
    let l = load(&format!(
        "track_file tf1 {{
 file /nonexistent/tf1
 weight 5 reverse
}}
track_file tf2 {{
 file /nonexistent/tf2
}}
{}",
        with_rs(
            "  FILE_CHECK {
   track_file tf1
   weight -3
  }
  FILE_CHECK {
   track_file tf2
  }
  FILE_CHECK {
   track_file tf1
  }"
        )
    ));
    assert_diags(&l, &[]);
    let f = &rs0(&l).file_checks;
    let got: Vec<(&str, &str, i32, bool, u32)> = f
        .iter()
        .map(|c| {
            (
                c.track_file.as_str(),
                c.path.as_str(),
                c.weight,
                c.reverse,
                c.loc.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("tf1", "/nonexistent/tf1", -3, false, 13),
            ("tf2", "/nonexistent/tf2", 1, false, 17),
            ("tf1", "/nonexistent/tf1", 5, true, 20),
        ]
    );
    assert!(rs0(&l).checkers.is_empty());
}

#[test]
fn file_check_problems() {
    let l = load(&format!(
        "track_file tf0 {{
 file /nonexistent/tf0
}}
{}track_file tf1 {{
 file /nonexistent/tf1
}}
",
        with_rs(
            "  FILE_CHECK {
   track_file tf0
   weight 300000000000
   weight 2 bogus
   weight
  }
  FILE_CHECK { track_file tf1 }
  FILE_CHECK { }"
        )
    ));
    // tf1 is defined after the virtual server: keepalived does not find it.
    assert_diags(
        &l,
        &[
            "W 11: number '300000000000' outside integer range",
            "W 11: weight for track file must be in [-2147483647..2147483647] inclusive. Ignoring...",
            "W 12: unknown track file weight option bogus - ignoring",
            "W 13: track file weight missing",
            "W 15: track_file tf1 not found",
            "W 15: FILE_CHECK has no track_file specified - ignoring",
            "W 16: FILE_CHECK has no track_file specified - ignoring",
        ],
    );
    let f = &rs0(&l).file_checks;
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].track_file.as_str(), f[0].weight), ("tf0", 1));
}

#[test]
fn bfd_check_without_name() {
    let l = load(&with_rs("  BFD_CHECK { }"));
    assert_diags(
        &l,
        &["W 6: ([10.0.0.2]:tcp:80) No name has been specified for BFD_CHECKER - skipping"],
    );
    assert!(rs0(&l).bfd_checks.is_empty());
}

#[test]
fn ssl_block() {
    let l = load("SSL {\n ca\n key /a\n key /b\n password secret\n}\nSSL {\n certificate /c\n}\n");
    assert_diags(
        &l,
        &[
            "W 2: SSL cafile missing",
            "W 4: SSL keyfile already specified - replacing",
            "W 7: SSL context already specified - replacing",
        ],
    );
    let s = l.config.lvs.ssl.as_ref().unwrap();
    assert_eq!(s.certificate.as_deref(), Some("/c"));
    assert_eq!(s.key, None);
}

#[test]
fn model_round_trips_through_json() {
    let l = load(&with_rs(
        "  weight 2\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n  MISC_CHECK {\n   misc_path /bin/x\n  }\n  UDP_CHECK {\n   require_reply 0x\n  }",
    ));
    assert_diags(&l, &[]);
    let j = serde_json::to_string(&l.config.lvs).unwrap();
    let back: LvsConfig = serde_json::from_str(&j).unwrap();
    assert_eq!(back, l.config.lvs);
}
