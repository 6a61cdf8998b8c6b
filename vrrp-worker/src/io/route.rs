//! `virtual_routes` and `virtual_rules` as rtnetlink requests
//! (RTM_NEWROUTE / RTM_DELROUTE, RTM_NEWRULE / RTM_DELRULE), as keepalived
//! 2.2.7 installs them: protocol `keepalived` (18) unless configured, the
//! scope as configured (else global), the table by number.
//!
//! Not supported (the entry is not installed and the reason logged):
//! table names other than main/local/default (the worker cannot read
//! /etc/iproute2), multipath `nexthop`, `encap`, time-valued metrics
//! (`rtt`, `rttvar`, `rto_min`), and rule options other than
//! `suppress_prefixlength`, `ipproto`, `sport`, `dport`, `uidrange` and
//! numeric `realms`.

use super::netlink::Msg;
use config::model::vrrp::{Family, Route, RouteDest, RouteTable, Rule, RuleAction};
use std::net::IpAddr;

const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_NEWRULE: u16 = 32;
const RTM_DELRULE: u16 = 33;

const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTA_TABLE: u16 = 15;

const RTNH_F_ONLINK: u32 = 4;
const RTPROT_KEEPALIVED: u8 = 18;

const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_FLOW: u16 = 11;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_L3MDEV: u16 = 19;
const FRA_UID_RANGE: u16 = 20;
const FRA_PROTOCOL: u16 = 21;
const FRA_IP_PROTO: u16 = 22;
const FRA_SPORT_RANGE: u16 = 23;
const FRA_DPORT_RANGE: u16 = 24;

const FR_ACT_TO_TBL: u8 = 1;
const FR_ACT_GOTO: u8 = 2;
const FR_ACT_NOP: u8 = 3;
const FR_ACT_BLACKHOLE: u8 = 6;
const FR_ACT_UNREACHABLE: u8 = 7;
const FR_ACT_PROHIBIT: u8 = 8;
const FIB_RULE_INVERT: u32 = 0x2;

fn family_byte(f: Family) -> u8 {
    match f {
        Family::Ipv4 => libc::AF_INET as u8,
        Family::Ipv6 => libc::AF_INET6 as u8,
    }
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn table_id(t: &RouteTable) -> Result<u32, String> {
    match t {
        RouteTable::Id(n) => Ok(*n),
        RouteTable::Name(n) => Err(format!(
            "routing table '{n}': only numbers and main/local/default are supported"
        )),
    }
}

/// `rtm_type` from iproute2's names.
fn route_type(s: &str) -> Result<u8, String> {
    Ok(match s {
        "unicast" | "" => 1,
        "local" => 2,
        "broadcast" => 3,
        "anycast" => 4,
        "multicast" => 5,
        "blackhole" => 6,
        "unreachable" => 7,
        "prohibit" => 8,
        "throw" => 9,
        "nat" => 10,
        other => return Err(format!("route type '{other}' is not supported")),
    })
}

/// `rtm_protocol` from iproute2's names or a number.
fn protocol(s: Option<&str>) -> Result<u8, String> {
    Ok(match s {
        None | Some("keepalived") => RTPROT_KEEPALIVED,
        Some("redirect") => 1,
        Some("kernel") => 2,
        Some("boot") => 3,
        Some("static") => 4,
        Some("ra") => 9,
        Some("dhcp") => 16,
        Some(n) => parse_u32(n)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| format!("route protocol '{n}' is not supported"))?,
    })
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn tos(s: Option<&str>) -> Result<u8, String> {
    match s {
        None => Ok(0),
        Some(t) => parse_u32(t)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| format!("tos '{t}' is not supported (numbers only)")),
    }
}

/// The RTA_METRICS nest for `mtu`, `advmss`, ... (with `lock`).
fn metrics(options: &[String]) -> Result<Vec<u8>, String> {
    let mut nest = Msg::empty();
    let mut locks: u32 = 0;
    let mut i = 0;
    while i < options.len() {
        let key = options[i].as_str();
        let id: u16 = match key {
            "mtu" => 2,
            "window" => 3,
            "ssthresh" => 6,
            "cwnd" => 7,
            "advmss" => 8,
            "reordering" => 9,
            "hoplimit" => 10,
            "initcwnd" => 11,
            "initrwnd" => 14,
            other => return Err(format!("route option '{other}' is not supported")),
        };
        i += 1;
        if options.get(i).map(String::as_str) == Some("lock") {
            locks |= 1 << id;
            i += 1;
        }
        let v = options
            .get(i)
            .and_then(|v| parse_u32(v))
            .ok_or_else(|| format!("route option '{key}' needs a number"))?;
        nest.attr(id, &v.to_ne_bytes());
        i += 1;
    }
    if locks != 0 {
        nest.attr(1, &locks.to_ne_bytes()); // RTAX_LOCK
    }
    Ok(nest.into_bytes())
}

/// The RTM_NEWROUTE / RTM_DELROUTE request for `r`; `oif` is the index of
/// its `dev`, when it has one. `Err` names what is not supported.
pub fn route_request(r: &Route, oif: Option<u32>, add: bool, seq: u32) -> Result<Vec<u8>, String> {
    let (ty, flags) = if add {
        (RTM_NEWROUTE, Msg::CREATE_EXCL)
    } else {
        (RTM_DELROUTE, Msg::ACK)
    };
    let table = table_id(&r.table)?;
    let mut m = Msg::new(ty, flags, seq);
    let (dst_len, dst) = match &r.dst {
        RouteDest::Default => (0, None),
        RouteDest::Prefix(ip, len) => (*len, Some(ip)),
    };
    // struct rtmsg { family, dst_len, src_len, tos, table, protocol,
    // scope, type, flags: u32 }
    let mut rtm = [0u8; 12];
    rtm[0] = family_byte(r.family);
    rtm[1] = dst_len;
    rtm[2] = r.from.map_or(0, |(_, l)| l);
    rtm[3] = tos(r.tos.as_deref())?;
    rtm[4] = if table < 256 { table as u8 } else { 0 };
    rtm[5] = protocol(r.protocol.as_deref())?;
    rtm[6] = r.scope.unwrap_or(0);
    rtm[7] = route_type(&r.route_type)?;
    let rflags = if r.onlink { RTNH_F_ONLINK } else { 0 };
    rtm[8..12].copy_from_slice(&rflags.to_ne_bytes());
    m.put(&rtm);
    if let Some(d) = dst {
        m.attr(RTA_DST, &ip_bytes(d));
    }
    if let Some((f, _)) = &r.from {
        m.attr(RTA_SRC, &ip_bytes(f));
    }
    if let Some(i) = oif {
        m.attr(RTA_OIF, &i.to_ne_bytes());
    }
    if let Some(g) = &r.via {
        m.attr(RTA_GATEWAY, &ip_bytes(g));
    }
    if let Some(s) = &r.src {
        m.attr(RTA_PREFSRC, &ip_bytes(s));
    }
    if let Some(p) = r.metric {
        m.attr(RTA_PRIORITY, &p.to_ne_bytes());
    }
    m.attr(RTA_TABLE, &table.to_ne_bytes());
    let opts: Vec<String> = r
        .options
        .iter()
        .filter(|o| !matches!(o.as_str(), "add" | "append" | "prepend"))
        .cloned()
        .collect();
    if !opts.is_empty() {
        let nest = metrics(&opts)?;
        m.attr(RTA_METRICS, &nest);
    }
    Ok(m.finish())
}

fn port_range(s: &str) -> Option<[u8; 4]> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
    let mut v = [0u8; 4];
    v[..2].copy_from_slice(&a.to_ne_bytes());
    v[2..].copy_from_slice(&b.to_ne_bytes());
    Some(v)
}

fn ip_proto(s: &str) -> Option<u8> {
    match s {
        "tcp" => Some(6),
        "udp" => Some(17),
        "sctp" => Some(132),
        "icmp" => Some(1),
        "ipv6-icmp" | "icmpv6" => Some(58),
        n => parse_u32(n).and_then(|v| u8::try_from(v).ok()),
    }
}

/// The RTM_NEWRULE / RTM_DELRULE request for `r`.
pub fn rule_request(r: &Rule, add: bool, seq: u32) -> Result<Vec<u8>, String> {
    let (ty, flags) = if add {
        (RTM_NEWRULE, Msg::CREATE_EXCL)
    } else {
        (RTM_DELRULE, Msg::ACK)
    };
    let mut m = Msg::new(ty, flags, seq);
    let (action, table) = match &r.action {
        RuleAction::Table(t) => (FR_ACT_TO_TBL, Some(table_id(t)?)),
        RuleAction::L3mdev => (FR_ACT_TO_TBL, None),
        RuleAction::Goto(_) => (FR_ACT_GOTO, None),
        RuleAction::Nop => (FR_ACT_NOP, None),
        RuleAction::Blackhole => (FR_ACT_BLACKHOLE, None),
        RuleAction::Unreachable => (FR_ACT_UNREACHABLE, None),
        RuleAction::Prohibit => (FR_ACT_PROHIBIT, None),
    };
    // struct fib_rule_hdr { family, dst_len, src_len, tos, table, res1,
    // res2, action, flags: u32 }
    let mut h = [0u8; 12];
    h[0] = family_byte(r.family);
    h[1] = r.to.map_or(0, |(_, l)| l);
    h[2] = r.from.map_or(0, |(_, l)| l);
    h[3] = tos(r.tos.as_deref())?;
    h[4] = table.map_or(0, |t| if t < 256 { t as u8 } else { 0 });
    h[7] = action;
    let f = if r.not { FIB_RULE_INVERT } else { 0 };
    h[8..12].copy_from_slice(&f.to_ne_bytes());
    m.put(&h);
    if let Some((a, _)) = &r.to {
        m.attr(FRA_DST, &ip_bytes(a));
    }
    if let Some((a, _)) = &r.from {
        m.attr(FRA_SRC, &ip_bytes(a));
    }
    if let Some(i) = &r.iif {
        let mut v = i.as_bytes().to_vec();
        v.push(0);
        m.attr(FRA_IIFNAME, &v);
    }
    if let Some(o) = &r.oif {
        let mut v = o.as_bytes().to_vec();
        v.push(0);
        m.attr(FRA_OIFNAME, &v);
    }
    if r.priority != 0 {
        m.attr(FRA_PRIORITY, &r.priority.to_ne_bytes());
    }
    if let Some(fw) = r.fwmark {
        m.attr(FRA_FWMARK, &fw.to_ne_bytes());
    }
    if let Some(mask) = r.fwmask {
        m.attr(FRA_FWMASK, &mask.to_ne_bytes());
    }
    if let Some(t) = table {
        m.attr(FRA_TABLE, &t.to_ne_bytes());
    }
    if let RuleAction::Goto(t) = r.action {
        m.attr(FRA_GOTO, &t.to_ne_bytes());
    }
    if r.action == RuleAction::L3mdev {
        m.attr(FRA_L3MDEV, &[1]);
    }
    m.attr(FRA_PROTOCOL, &[RTPROT_KEEPALIVED]);
    let mut i = 0;
    while i < r.options.len() {
        let key = r.options[i].as_str();
        let val = r.options.get(i + 1).map(String::as_str).unwrap_or("");
        let bad = || format!("rule option '{key} {val}' is not supported");
        match key {
            "suppress_prefixlength" | "sup_pl" => {
                let v = parse_u32(val).ok_or_else(bad)?;
                m.attr(FRA_SUPPRESS_PREFIXLEN, &v.to_ne_bytes());
            }
            "ipproto" => m.attr(FRA_IP_PROTO, &[ip_proto(val).ok_or_else(bad)?]),
            "sport" => m.attr(FRA_SPORT_RANGE, &port_range(val).ok_or_else(bad)?),
            "dport" => m.attr(FRA_DPORT_RANGE, &port_range(val).ok_or_else(bad)?),
            "uidrange" => {
                let (a, b) = val.split_once('-').ok_or_else(bad)?;
                let (a, b) = (parse_u32(a).ok_or_else(bad)?, parse_u32(b).ok_or_else(bad)?);
                let mut v = [0u8; 8];
                v[..4].copy_from_slice(&a.to_ne_bytes());
                v[4..].copy_from_slice(&b.to_ne_bytes());
                m.attr(FRA_UID_RANGE, &v);
            }
            "realms" => {
                let (from, to) = val.split_once('/').unwrap_or(("0", val));
                let (from, to) = (
                    parse_u32(from).ok_or_else(bad)?,
                    parse_u32(to).ok_or_else(bad)?,
                );
                m.attr(FRA_FLOW, &((from << 16) | (to & 0xffff)).to_ne_bytes());
            }
            _ => return Err(bad()),
        }
        i += 2;
    }
    Ok(m.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::netlink::{attrs, messages};

    fn load(text: &str) -> config::model::vrrp::VrrpInstance {
        let loaded = config::load_str(
            std::path::Path::new("t.conf"),
            text,
            &config::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.config.vrrp.instances[0].clone()
    }

    const CONF: &str = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n \
        priority 100\n virtual_ipaddress {\n 10.1.0.100/24\n }\n virtual_routes {\n \
        10.2.0.0/24 via 10.1.0.254 dev eth0 table 100 metric 5 src 10.1.0.100 mtu lock 1400\n \
        blackhole 10.3.0.0/24\n }\n virtual_rules {\n from 10.1.0.100 table 100 priority 100\n \
        not to 10.4.0.0/16 fwmark 5/0xff lookup main priority 101 ipproto tcp dport 80-90\n }\n}\n";

    #[test]
    fn routes_are_encoded_as_keepalived_sends_them() {
        let i = load(CONF);
        let r = route_request(&i.virtual_routes[0], Some(7), true, 3).unwrap();
        let m = messages(&r);
        assert_eq!(m[0].ty, RTM_NEWROUTE);
        assert_eq!(m[0].flags, Msg::CREATE_EXCL);
        // family, /24, src_len 0, tos 0, table 100, proto 18, scope 0, unicast
        assert_eq!(
            &m[0].body[..8],
            &[libc::AF_INET as u8, 24, 0, 0, 100, 18, 0, 1]
        );
        let a = attrs(m[0].body, 12);
        let get = |t: u16| a.iter().find(|(x, _)| *x == t).map(|(_, d)| d.to_vec());
        assert_eq!(get(RTA_DST), Some(vec![10, 2, 0, 0]));
        assert_eq!(get(RTA_OIF), Some(7u32.to_ne_bytes().to_vec()));
        assert_eq!(get(RTA_GATEWAY), Some(vec![10, 1, 0, 254]));
        assert_eq!(get(RTA_PREFSRC), Some(vec![10, 1, 0, 100]));
        assert_eq!(get(RTA_PRIORITY), Some(5u32.to_ne_bytes().to_vec()));
        assert_eq!(get(RTA_TABLE), Some(100u32.to_ne_bytes().to_vec()));
        let nest = get(RTA_METRICS).expect("metrics");
        let n = attrs(&nest, 0);
        assert!(n.contains(&(2, &1400u32.to_ne_bytes()[..])), "mtu");
        assert!(n.contains(&(1, &(1u32 << 2).to_ne_bytes()[..])), "lock mtu");
        let b = route_request(&i.virtual_routes[1], None, false, 4).unwrap();
        let m = messages(&b);
        assert_eq!(m[0].ty, RTM_DELROUTE);
        assert_eq!(m[0].body[7], 6, "blackhole");
        assert_eq!(m[0].body[4], 254, "main table");
    }

    #[test]
    fn rules_are_encoded_with_their_options() {
        let i = load(CONF);
        let r = rule_request(&i.virtual_rules[1], true, 1).unwrap();
        let m = messages(&r);
        assert_eq!(m[0].ty, RTM_NEWRULE);
        let h = m[0].body;
        assert_eq!(h[1], 16, "dst_len");
        assert_eq!(h[4], 254);
        assert_eq!(h[7], FR_ACT_TO_TBL);
        assert_eq!(
            u32::from_ne_bytes(h[8..12].try_into().unwrap()),
            FIB_RULE_INVERT
        );
        let a = attrs(h, 12);
        let get = |t: u16| a.iter().find(|(x, _)| *x == t).map(|(_, d)| d.to_vec());
        assert_eq!(get(FRA_DST), Some(vec![10, 4, 0, 0]));
        assert_eq!(get(FRA_PRIORITY), Some(101u32.to_ne_bytes().to_vec()));
        assert_eq!(get(FRA_FWMARK), Some(5u32.to_ne_bytes().to_vec()));
        assert_eq!(get(FRA_FWMASK), Some(0xffu32.to_ne_bytes().to_vec()));
        assert_eq!(get(FRA_IP_PROTO), Some(vec![6]));
        let mut pr = 80u16.to_ne_bytes().to_vec();
        pr.extend_from_slice(&90u16.to_ne_bytes());
        assert_eq!(get(FRA_DPORT_RANGE), Some(pr));
        assert_eq!(get(FRA_PROTOCOL), Some(vec![RTPROT_KEEPALIVED]));
    }

    #[test]
    fn unsupported_parts_are_refused_not_dropped() {
        let mut i = load(CONF);
        i.virtual_routes[0].table = RouteTable::Name("vips".into());
        assert!(route_request(&i.virtual_routes[0], None, true, 1).is_err());
        i.virtual_routes[1].options = vec!["nexthop".into(), "via".into(), "10.1.0.1".into()];
        assert!(route_request(&i.virtual_routes[1], None, true, 1).is_err());
        i.virtual_rules[0].options = vec!["tunnel-id".into(), "5".into()];
        assert!(rule_request(&i.virtual_rules[0], true, 1).is_err());
    }
}
