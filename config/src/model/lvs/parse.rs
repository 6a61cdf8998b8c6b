//! Reading `virtual_server_group`, `virtual_server`, `real_server` and
//! `SSL` blocks (keepalived/check/check_parser.c, check_data.c), including
//! what keepalived checks at the end of each block.

use super::checkers::{self, BfdCheck, Collected, FileCheck, RawChecker};
use super::num::{self, TIMER_MAXIMUM};
use super::{
    Forwarding, Granularity, IpFamily, LvsConfig, Protocol, Refs, Scheduler, ServiceFlags,
    SslConfig, TunnelCsum, TunnelType, VirtualServerGroup, VsgEntry, fmt_trio,
};
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use crate::model::bfd::BfdInstance;
use crate::model::relevel::{Kind, leaves};
use crate::model::util::{ScriptSpec, arg_or_missing, parse_script};
use crate::model::vrrp::TrackFile;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// keepalived's `IPVS_SVC_PERSISTENT_TIMEOUT` (seconds).
pub(super) const DEFAULT_PERSISTENCE: u32 = 360;
/// keepalived's `LVS_MAX_TIMEOUT` (31 days, seconds).
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;
/// keepalived's `IPVS_WEIGHT_LIMIT`.
pub(super) const WEIGHT_LIMIT: u64 = i32::MAX as u64;
/// `IP_VS_PENAME_MAXLEN`.
const PENAME_MAXLEN: usize = 16;

/// What a checker needs to know about its real and virtual server.
pub(super) struct Ctx<'a> {
    /// `track_file` blocks defined so far.
    pub track_files: &'a [TrackFile],
    /// `bfd_instance` blocks defined so far.
    pub bfd_instances: &'a [BfdInstance],
    pub rs_addr: SocketAddr,
    /// The real server's `connect_timeout` so far (microseconds).
    pub rs_connect_timeout: Option<u64>,
    pub vs_connect_timeout: u64,
    /// keepalived's `FMT_RS` of the real server.
    pub rs_name: String,
}

/// The first argument, or keepalived's fatal missing-parameter error.
pub(super) fn need_arg<'a>(node: &'a Node, diags: &mut Diagnostics) -> Option<&'a str> {
    arg_or_missing(node, 0, diags)
}

/// keepalived's `Unknown keyword 'X'`. (A block after an unknown keyword
/// is not its block: `model::relevel` has read its lines as statements of
/// the enclosing block.)
pub(super) fn unknown(node: &Node, diags: &mut Diagnostics) {
    diags.warn(&node.loc, format!("Unknown keyword '{}'", node.keyword));
}

/// How keepalived reads the keywords of a `real_server` block.
pub(super) fn rs_level(keyword: &str) -> Kind {
    match keyword {
        "HTTP_GET" | "SSL_GET" => Kind::Block(http_level),
        "SMTP_CHECK" => Kind::Block(smtp_level),
        k if checkers::is_checker(k) => Kind::Block(leaves),
        _ => Kind::Leaf,
    }
}

fn http_level(keyword: &str) -> Kind {
    match keyword {
        "url" => Kind::Block(leaves),
        _ => Kind::Leaf,
    }
}

fn smtp_level(keyword: &str) -> Kind {
    match keyword {
        "host" => Kind::Block(leaves),
        _ => Kind::Leaf,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Nat,
    Dr,
    Tun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TunKind {
    Ipip,
    Gue,
    Gre,
}

/// A forwarding method as read: `method` unset until configured
/// (keepalived's `IP_VS_CONN_F_FWD_MASK`), tunnel options kept even when
/// the method is not TUN, as keepalived keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawFwd {
    pub method: Option<Method>,
    pub tun: TunKind,
    pub port: u16,
    pub csum: TunnelCsum,
}

impl Default for RawFwd {
    fn default() -> Self {
        RawFwd {
            method: None,
            tun: TunKind::Ipip,
            port: 0,
            csum: TunnelCsum::NoCsum,
        }
    }
}

impl RawFwd {
    pub fn resolve(&self) -> Forwarding {
        match self.method {
            None | Some(Method::Nat) => Forwarding::Nat,
            Some(Method::Dr) => Forwarding::Dr,
            Some(Method::Tun) => Forwarding::Tun {
                tunnel: match self.tun {
                    TunKind::Ipip => TunnelType::Ipip,
                    TunKind::Gue => TunnelType::Gue { port: self.port },
                    TunKind::Gre => TunnelType::Gre,
                },
                csum: self.csum,
            },
        }
    }
}

/// keepalived's `svr_forwarding_handler`: `NAT|DR|TUN [type ipip|gue|gre]
/// [port N] [nocsum|csum|remcsum]`. `s_type` is `virtual`, `real` or
/// `sorry`.
fn forwarding(node: &Node, fwd: &mut RawFwd, s_type: &str, diags: &mut Diagnostics) {
    let Some(m) = need_arg(node, diags) else {
        return;
    };
    let loc = &node.loc;
    fwd.method = Some(match m {
        "NAT" => Method::Nat,
        "DR" => Method::Dr,
        "TUN" => Method::Tun,
        _ => {
            diags.warn(
                loc,
                format!("PARSER : unknown [{m}] routing method for {s_type} server."),
            );
            return;
        }
    });
    let mut tun = TunKind::Ipip;
    let mut port = 0u16;
    let mut csum = TunnelCsum::NoCsum;
    let args = &node.args;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "type" => {
                let Some(t) = args.get(i + 1) else {
                    diags.warn(loc, format!("Missing tunnel type for {s_type} server."));
                    return;
                };
                tun = match t.as_str() {
                    "ipip" => TunKind::Ipip,
                    "gue" => TunKind::Gue,
                    "gre" => TunKind::Gre,
                    _ => {
                        diags.warn(loc, format!("Unknown tunnel type {t} for {s_type} server."));
                        return;
                    }
                };
                i += 1;
            }
            "port" => {
                let Some(p) = args.get(i + 1) else {
                    diags.warn(loc, format!("Missing port for {s_type} server gue tunnel."));
                    return;
                };
                match num::read_unsigned(loc, p, 1, 65535, diags) {
                    Some(v) => port = v as u16,
                    None => {
                        diags.warn(
                            loc,
                            format!("Invalid gue tunnel port {p} for {s_type} server."),
                        );
                        return;
                    }
                }
                i += 1;
            }
            "nocsum" => csum = TunnelCsum::NoCsum,
            "csum" => csum = TunnelCsum::Csum,
            "remcsum" => csum = TunnelCsum::RemCsum,
            o => {
                diags.warn(
                    loc,
                    format!("Invalid tunnel option {o} for {s_type} server."),
                );
                return;
            }
        }
        i += 1;
    }
    if (tun == TunKind::Gue) != (port != 0) {
        diags.warn(loc, "gue tunnels require port, otherwise cannot have port.");
        return;
    }
    if tun == TunKind::Ipip && csum != TunnelCsum::NoCsum {
        diags.warn(loc, "ipip tunnels do not support checksum option.");
        return;
    }
    if tun == TunKind::Gre && csum == TunnelCsum::RemCsum {
        diags.warn(loc, "gre tunnels do not support remote checksum option.");
        return;
    }
    fwd.tun = tun;
    fwd.port = port;
    fwd.csum = csum;
}

/// How a `virtual_server` line names the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RawKey {
    Addr(SocketAddr),
    Fwmark(u32),
    Group(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawSorry {
    pub addr: SocketAddr,
    pub fwd: RawFwd,
    pub inhibit: bool,
    pub loc: Loc,
}

/// A virtual server as read (times in microseconds).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawVs {
    pub key: RawKey,
    pub af: Option<IpFamily>,
    pub protocol: Option<Protocol>,
    pub sched: Option<Scheduler>,
    pub flags: ServiceFlags,
    pub fwd: RawFwd,
    /// Seconds; 0: not persistent.
    pub persistence_timeout: u32,
    pub granularity: Option<Granularity>,
    pub pe_name: Option<String>,
    pub delay_loop: u64,
    pub connect_timeout: u64,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<u64>,
    pub warmup: Option<u64>,
    pub weight: u32,
    pub inhibit: bool,
    pub alpha: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<ScriptSpec>,
    pub quorum_down: Option<ScriptSpec>,
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub sorry: Option<RawSorry>,
    pub rs: Vec<RawRs>,
    pub loc: Loc,
}

impl RawVs {
    /// keepalived prints the group name of a group service, `(null)`
    /// otherwise, in some messages.
    fn vsgname(&self) -> &str {
        match &self.key {
            RawKey::Group(n) => n,
            _ => "(null)",
        }
    }
}

/// A real server as read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawRs {
    pub addr: SocketAddr,
    pub weight: Option<u32>,
    pub fwd: RawFwd,
    pub alpha: Option<bool>,
    pub inhibit: Option<bool>,
    pub uthreshold: u32,
    pub lthreshold: u32,
    pub retry: Option<u32>,
    pub delay_loop: Option<u64>,
    pub connect_timeout: Option<u64>,
    pub delay_before_retry: Option<u64>,
    pub warmup: Option<u64>,
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub notify_up: Option<ScriptSpec>,
    pub notify_down: Option<ScriptSpec>,
    pub checkers: Vec<RawChecker>,
    pub file_checks: Vec<FileCheck>,
    pub bfd_checks: Vec<BfdCheck>,
    pub loc: Loc,
}

// ---------------------------------------------------------------------------
// virtual_server_group
// ---------------------------------------------------------------------------

pub(super) fn parse_vsg(node: &Node, out: &mut LvsConfig, diags: &mut Diagnostics) {
    let Some(name) = need_arg(node, diags) else {
        return;
    };
    let mut g = VirtualServerGroup {
        name: name.to_string(),
        entries: Vec::new(),
        loc: node.loc.clone(),
    };
    for line in node.children() {
        if let Some(e) = vsg_entry(line, name, diags) {
            g.entries.push(e);
        }
    }
    if g.entries.is_empty() {
        diags.warn(
            &node.close_loc(),
            format!("virtual server group {name} has no entries - removing"),
        );
    } else if g.has_ipv4() && g.has_ipv6() && g.fwmark_without_family() {
        diags.warn(
            &node.close_loc(),
            format!(
                "virtual server group {name} cannot have IPv4, IPv6 and fwmark without family - removing"
            ),
        );
    } else {
        out.groups.push(g);
    }
}

fn u128_of(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

fn ip_of(family_v4: bool, v: u128) -> IpAddr {
    if family_v4 {
        IpAddr::V4(Ipv4Addr::from(v as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// keepalived's `alloc_vsg_entry`.
fn vsg_entry(line: &Node, gname: &str, diags: &mut Diagnostics) -> Option<VsgEntry> {
    let loc = &line.loc;
    let addr_str = line.keyword.as_str();
    if addr_str == "fwmark" {
        let a = need_arg(line, diags)?;
        let Some(mark) = num::read_unsigned(loc, a, 0, u64::from(u32::MAX), diags) else {
            diags.warn(
                loc,
                format!(
                    "({gname}): fwmark '{a}' must be in [0, {}] - ignoring",
                    u32::MAX
                ),
            );
            return None;
        };
        let family = match line.arg(1) {
            None => None,
            Some("inet") => Some(IpFamily::Inet),
            Some("inet6") => Some(IpFamily::Inet6),
            Some(f) => {
                diags.warn(
                    loc,
                    format!("({gname}): fwmark '{mark}' family {f} unknown - ignoring"),
                );
                return None;
            }
        };
        return Some(VsgEntry::Fwmark {
            mark: mark as u32,
            family,
            loc: loc.clone(),
        });
    }
    let port_str = num::port_or_none(line.arg(0));
    let Some(start) = num::sockaddr(loc, addr_str, port_str, diags) else {
        let (a, b, c) = match port_str {
            Some(p) => ("/port", "/", p),
            None => ("", "", ""),
        };
        diags.warn(
            loc,
            format!("Invalid virtual server group IP address {addr_str} {a}{b}{c} - skipping"),
        );
        return None;
    };
    let v4 = start.is_ipv4();
    let first = start.ip();
    let port = start.port();
    let last;
    if let Some(slash) = addr_str.find('/') {
        let mask_str = &addr_str[slash + 1..];
        let bits = if v4 { 32 } else { 128 };
        let mask = match mask_str.parse::<u32>() {
            Ok(m) if m != 0 && m <= bits && mask_str.bytes().all(|b| b.is_ascii_digit()) => m,
            _ => {
                diags.warn(loc, format!("Invalid netmask - {addr_str} - skipping"));
                return None;
            }
        };
        let host_bits = bits - mask;
        let host_mask: u128 = if host_bits == 0 {
            0
        } else {
            (1u128 << host_bits) - 1
        };
        let f = u128_of(first);
        if f & host_mask != 0 {
            diags.warn(
                loc,
                format!("Address mask bits not empty - {addr_str} - skipping"),
            );
            return None;
        }
        last = ip_of(v4, f | host_mask);
    } else if let Some(dash) = addr_str.find('-')
        && ((v4 && addr_str[dash + 1..].contains('.'))
            || (!v4 && addr_str[dash + 1..].contains(':')))
    {
        let end_str = &addr_str[dash + 1..];
        let Some(end) = num::sockaddr(loc, end_str, port_str, diags) else {
            diags.warn(loc, format!("Invalid range end {addr_str} - skipping"));
            return None;
        };
        if end.is_ipv4() != v4 {
            diags.warn(
                loc,
                format!("Range address families do not match {addr_str} - skipping"),
            );
            return None;
        }
        if u128_of(end.ip()) < u128_of(first) {
            diags.warn(
                loc,
                format!(
                    "Address range end is less than address range start - {addr_str} - skipping"
                ),
            );
            return None;
        }
        last = end.ip();
    } else if let Some(dash) = addr_str.find('-') {
        // keepalived's `inet_stor`: the last octet (IPv4, decimal) or the
        // last 16-bit group (IPv6, hexadecimal).
        let end_str = &addr_str[dash + 1..];
        let radix = if v4 { 10 } else { 16 };
        let digits = if v4 {
            end_str
        } else {
            end_str
                .strip_prefix("0x")
                .or_else(|| end_str.strip_prefix("0X"))
                .filter(|r| r.starts_with(|c: char| c.is_ascii_hexdigit()))
                .unwrap_or(end_str)
        };
        let n = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        if n < digits.len() || (n == 0 && !digits.is_empty()) {
            let rest = if n == 0 { end_str } else { &digits[n..] };
            diags.warn(
                loc,
                format!(
                    "Virtual server group range '{addr_str}' has extra characters at end '{rest}'"
                ),
            );
            return None;
        }
        let range = if n == 0 {
            Some(0)
        } else {
            u64::from_str_radix(&digits[..n], radix).ok()
        };
        let limit = if v4 { 255 } else { 0xffff };
        let Some(range) = range.filter(|r| *r <= limit) else {
            diags.warn(
                loc,
                format!("Virtual server group range '{addr_str}' end '{end_str}' too large"),
            );
            return None;
        };
        let f = u128_of(first);
        let (start_v, end_v) = if v4 {
            (f & 0xff, (f & !0xff) | u128::from(range))
        } else {
            (f & 0xffff, (f & !0xffff) | u128::from(range))
        };
        if start_v >= u128::from(range) {
            diags.warn(
                loc,
                format!(
                    "Address range end is not greater than address range start - {addr_str} - skipping"
                ),
            );
            return None;
        }
        last = ip_of(v4, end_v);
    } else {
        last = first;
    }
    Some(VsgEntry::Addresses {
        first,
        last,
        port,
        loc: loc.clone(),
    })
}

// ---------------------------------------------------------------------------
// virtual_server
// ---------------------------------------------------------------------------

pub(super) fn parse_vs(node: &Node, out: &mut LvsConfig, refs: &Refs<'_>, diags: &mut Diagnostics) {
    let Some(p1) = need_arg(node, diags) else {
        return;
    };
    let loc = &node.loc;
    let key = match p1 {
        "group" => {
            let Some(name) = arg_or_missing(node, 1, diags) else {
                return;
            };
            RawKey::Group(name.to_string())
        }
        "fwmark" => {
            let Some(p2) = arg_or_missing(node, 1, diags) else {
                return;
            };
            match num::read_unsigned(loc, p2, 0, u64::from(u32::MAX), diags) {
                Some(m) => RawKey::Fwmark(m as u32),
                None => {
                    diags.warn(
                        loc,
                        format!(
                            "virtual server fwmark '{p2}' must be in [0, {}] - ignoring",
                            u32::MAX
                        ),
                    );
                    return;
                }
            }
        }
        ip => {
            let port_str = num::port_or_none(node.arg(1));
            match num::sockaddr(loc, ip, port_str, diags) {
                Some(a) => RawKey::Addr(a),
                None => {
                    let msg = match port_str {
                        Some(p) => {
                            format!("Invalid virtual server IP address/port {ip}/{p} - skipping")
                        }
                        None => format!("Invalid virtual server IP address {ip} - skipping"),
                    };
                    diags.warn(loc, msg);
                    return;
                }
            }
        }
    };
    let af = match &key {
        RawKey::Addr(a) => Some(IpFamily::of(&a.ip())),
        _ => None,
    };
    let mut vs = RawVs {
        key,
        af,
        protocol: None,
        sched: None,
        flags: ServiceFlags::default(),
        fwd: RawFwd::default(),
        persistence_timeout: 0,
        granularity: None,
        pe_name: None,
        delay_loop: 60 * num::TIMER_HZ,
        connect_timeout: 5 * num::TIMER_HZ,
        retry: None,
        delay_before_retry: None,
        warmup: None,
        weight: 1,
        inhibit: false,
        alpha: false,
        omega: false,
        ha_suspend: false,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        smtp_alert: None,
        virtualhost: None,
        snmp_name: None,
        sorry: None,
        rs: Vec::new(),
        loc: loc.clone(),
    };
    for child in node.children() {
        vs_keyword(child, &mut vs, refs, diags);
    }
    vs_end(node, &mut vs, diags);
    out.pending.push(vs);
}

/// Keywords of a `virtual_server` block.
const VS_KEYWORDS: &[&str] = &[
    "ip_family",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "inhibit_on_failure",
    "lb_algo",
    "lvs_sched",
    "hashed",
    "ops",
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "lb_kind",
    "lvs_method",
    "persistence_engine",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "ha_suspend",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
    "alpha",
    "omega",
    "quorum_up",
    "quorum_down",
    "quorum",
    "hysteresis",
    "weight",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "real_server",
];

/// Keywords of a `real_server` block (besides the checkers).
const RS_KEYWORDS: &[&str] = &[
    "weight",
    "lvs_method",
    "uthreshold",
    "lthreshold",
    "inhibit_on_failure",
    "notify_up",
    "notify_down",
    "alpha",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
];

/// One statement of a `virtual_server` block.
fn vs_keyword(node: &Node, vs: &mut RawVs, refs: &Refs<'_>, diags: &mut Diagnostics) {
    if !VS_KEYWORDS.contains(&node.keyword.as_str()) {
        unknown(node, diags);
        return;
    }
    vs_statement(node, vs, refs, diags);
}

fn vs_statement(node: &Node, vs: &mut RawVs, refs: &Refs<'_>, diags: &mut Diagnostics) {
    let loc = &node.loc;
    let kw = node.keyword.as_str();
    match kw {
        "ip_family" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            let af = match a {
                "inet" => IpFamily::Inet,
                "inet6" => IpFamily::Inet6,
                _ => {
                    diags.warn(loc, format!("unknown address family {a}"));
                    return;
                }
            };
            if vs.af.is_some_and(|f| f != af) {
                diags.warn(
                    loc,
                    format!("Virtual server specified family {a} conflicts with server family"),
                );
                return;
            }
            vs.af = Some(af);
        }
        "retry" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_unsigned(loc, a, 1, u64::from(u32::MAX), diags) {
                Some(v) => vs.retry = Some(v as u32),
                None => diags.warn(loc, format!("retry value invalid - {a}")),
            }
        }
        "delay_before_retry" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 0, TIMER_MAXIMUM, diags) {
                Some(v) => vs.delay_before_retry = Some(v),
                None => diags.warn(
                    loc,
                    format!("virtual server delay before retry '{a}' invalid - ignoring"),
                ),
            }
        }
        "warmup" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 0, TIMER_MAXIMUM, diags) {
                Some(v) => vs.warmup = Some(v),
                None => diags.warn(
                    loc,
                    format!("virtual server warmup '{a}' invalid - ignoring"),
                ),
            }
        }
        "connect_timeout" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 1, u64::from(u32::MAX), diags) {
                Some(v) => vs.connect_timeout = v,
                None => diags.warn(
                    loc,
                    format!("virtual server connect_timeout {a} invalid - ignoring"),
                ),
            }
        }
        "delay_loop" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 1, TIMER_MAXIMUM, diags) {
                Some(v) => vs.delay_loop = v,
                None => diags.warn(
                    loc,
                    format!("virtual server delay loop '{a}' invalid - ignoring"),
                ),
            }
        }
        "inhibit_on_failure" => vs.inhibit = true,
        "lb_algo" | "lvs_sched" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match Scheduler::from_name(a) {
                Some(s) => vs.sched = Some(s),
                None => diags.warn(loc, format!("Invalid lvs_scheduler '{a}' - ignoring")),
            }
        }
        "hashed" | "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback"
        | "mh-port" | "mh-fallback" => match kw {
            "ops" => vs.flags.one_packet = true,
            "flag-1" => vs.flags.sched_flag_1 = true,
            "flag-2" => vs.flags.sched_flag_2 = true,
            "flag-3" => vs.flags.sched_flag_3 = true,
            // Whether sh-/mh- flags apply depends on the scheduler set so
            // far, as in keepalived.
            _ if vs.sched == Some(Scheduler::Sh) => match kw {
                "sh-port" => vs.flags.sched_flag_2 = true,
                "sh-fallback" => vs.flags.sched_flag_1 = true,
                _ => {}
            },
            _ if vs.sched == Some(Scheduler::Mh) => match kw {
                "mh-port" => vs.flags.sched_flag_2 = true,
                "mh-fallback" => vs.flags.sched_flag_1 = true,
                _ => {}
            },
            _ => diags.warn(loc, format!("{kw} only applies to sh scheduler - ignoring")),
        },
        "lb_kind" | "lvs_method" => forwarding(node, &mut vs.fwd, "virtual", diags),
        "persistence_engine" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            let mut name = a.to_string();
            if name.len() > PENAME_MAXLEN {
                diags.warn(loc, format!("persistence_name too long, truncating - {a}"));
                let mut cut = PENAME_MAXLEN;
                while !name.is_char_boundary(cut) {
                    cut -= 1;
                }
                name.truncate(cut);
            }
            vs.pe_name = Some(name);
        }
        "persistence_timeout" => match node.arg(0) {
            None => vs.persistence_timeout = DEFAULT_PERSISTENCE,
            Some(a) => match num::read_unsigned(loc, a, 1, LVS_MAX_TIMEOUT, diags) {
                Some(v) => vs.persistence_timeout = v as u32,
                None => diags.warn(loc, "persistence_timeout invalid"),
            },
        },
        "persistence_granularity" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            let af = vs.af.unwrap_or(if a.contains('.') {
                IpFamily::Inet
            } else {
                IpFamily::Inet6
            });
            match af {
                IpFamily::Inet6 => match num::read_unsigned(loc, a, 1, 128, diags) {
                    Some(v) => vs.granularity = Some(Granularity::PrefixLen(v as u8)),
                    None => {
                        diags.warn(
                            loc,
                            format!("Invalid IPv6 persistence_granularity specified - {a}"),
                        );
                        return;
                    }
                },
                IpFamily::Inet => match num::inet_aton(a) {
                    Some(m) => vs.granularity = Some(Granularity::Netmask(m)),
                    None => {
                        diags.warn(
                            loc,
                            format!("Invalid IPv4 persistence_granularity specified - {a}"),
                        );
                        return;
                    }
                },
            }
            if vs.af.is_none() {
                vs.af = Some(af);
            }
            if vs.persistence_timeout == 0 {
                vs.persistence_timeout = DEFAULT_PERSISTENCE;
            }
        }
        "protocol" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match a.to_ascii_uppercase().as_str() {
                "TCP" => vs.protocol = Some(Protocol::Tcp),
                "SCTP" => vs.protocol = Some(Protocol::Sctp),
                "UDP" => vs.protocol = Some(Protocol::Udp),
                _ => diags.warn(loc, format!("Unknown protocol {a} - ignoring")),
            }
        }
        "ha_suspend" => vs.ha_suspend = true,
        "smtp_alert" => {
            if let Some(v) = checkers::opt_bool(node, "virtual_server smtp_alert", diags) {
                vs.smtp_alert = Some(v);
            }
        }
        "virtualhost" => match node.arg(0) {
            None => diags.warn(loc, "virtual server virtualhost missing"),
            Some(v) => vs.virtualhost = Some(v.to_string()),
        },
        "snmp_name" => {
            if node.args.len() != 1 {
                diags.warn(loc, "virtual server snmp_name missing or extra parameters");
            } else {
                vs.snmp_name = Some(node.args[0].clone());
            }
        }
        "alpha" => vs.alpha = true,
        "omega" => vs.omega = true,
        "quorum_up" | "quorum_down" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            let already = if kw == "quorum_up" {
                vs.quorum_up.is_some()
            } else {
                vs.quorum_down.is_some()
            };
            if already {
                diags.warn(
                    loc,
                    format!(
                        "({}) {kw} script already specified - ignoring {a}",
                        vs.vsgname()
                    ),
                );
                return;
            }
            let s = parse_script(node, true, diags);
            if kw == "quorum_up" {
                vs.quorum_up = s;
            } else {
                vs.quorum_down = s;
            }
        }
        "quorum" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            vs.quorum = match num::read_unsigned(loc, a, 1, u64::from(u32::MAX), diags) {
                Some(v) => v as u32,
                None => {
                    diags.warn(
                        loc,
                        format!("Quorum {a} must be in [1, {}]. Setting to 1.", u32::MAX),
                    );
                    1
                }
            };
        }
        "hysteresis" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_unsigned(loc, a, 0, u64::from(u32::MAX), diags) {
                Some(v) => vs.hysteresis = v as u32,
                None => diags.warn(
                    loc,
                    format!("Hysteresis {a} must be in [0, {}] - ignoring", u32::MAX),
                ),
            }
        }
        "weight" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_unsigned(loc, a, 1, WEIGHT_LIMIT, diags) {
                Some(v) => vs.weight = v as u32,
                None => diags.warn(
                    loc,
                    format!("Virtual server weight {a} is outside range 1-{WEIGHT_LIMIT}"),
                ),
            }
        }
        "sorry_server" => {
            let Some(ip) = need_arg(node, diags) else {
                return;
            };
            let port_str = num::port_or_none(node.arg(1));
            match num::sockaddr(loc, ip, port_str, diags) {
                Some(addr) => {
                    vs.sorry = Some(RawSorry {
                        addr,
                        fwd: vs.fwd,
                        inhibit: false,
                        loc: loc.clone(),
                    });
                }
                None => diags.warn(
                    loc,
                    format!("Invalid sorry server IP address {ip} - skipping"),
                ),
            }
        }
        "sorry_server_inhibit" => match vs.sorry.as_mut() {
            Some(s) => s.inhibit = true,
            None => diags.warn(
                loc,
                "Ignoring sorry_server inhibit used before or without sorry_server",
            ),
        },
        "sorry_server_lvs_method" => match vs.sorry.as_mut() {
            Some(s) => forwarding(node, &mut s.fwd, "sorry", diags),
            None => diags.warn(loc, "sorry_server forwarding used without sorry_server"),
        },
        "real_server" => parse_rs(node, vs, refs, diags),
        _ => unknown(node, diags),
    }
}

/// keepalived's `vs_end_handler`: settle the address family from the
/// sorry and real servers.
fn vs_end(node: &Node, vs: &mut RawVs, diags: &mut Diagnostics) {
    if let Some(s) = &vs.sorry
        && s.fwd.method != Some(Method::Tun)
    {
        let f = IpFamily::of(&s.addr.ip());
        match vs.af {
            None => vs.af = Some(f),
            Some(af) if af != f => {
                diags.warn(
                    &node.close_loc(),
                    format!(
                        "Address family of virtual server and sorry server {} don't match - skipping sorry server.",
                        s.addr.ip()
                    ),
                );
                vs.sorry = None;
            }
            Some(_) => {}
        }
    }
    if vs.af.is_none() && !matches!(vs.key, RawKey::Group(_)) {
        // Only tunnelled real/sorry servers: take their family when they
        // agree, IPv4 otherwise.
        let mut af = vs.sorry.as_ref().map(|s| IpFamily::of(&s.addr.ip()));
        let mut mixed = false;
        for rs in &vs.rs {
            let f = IpFamily::of(&rs.addr.ip());
            match af {
                None => af = Some(f),
                Some(a) if a != f => {
                    mixed = true;
                    break;
                }
                Some(_) => {}
            }
        }
        vs.af = Some(if mixed {
            IpFamily::Inet
        } else {
            af.unwrap_or(IpFamily::Inet)
        });
    }
}

// ---------------------------------------------------------------------------
// real_server
// ---------------------------------------------------------------------------

fn parse_rs(node: &Node, vs: &mut RawVs, refs: &Refs<'_>, diags: &mut Diagnostics) {
    let Some(ip) = need_arg(node, diags) else {
        return;
    };
    let loc = &node.loc;
    let port = node.arg(1);
    let Some(addr) = num::sockaddr(loc, ip, num::port_or_none(port), diags) else {
        diags.warn(
            loc,
            format!(
                "Invalid real server ip address/port {ip}/{} - skipping",
                port.unwrap_or("(null)")
            ),
        );
        return;
    };
    let mut rs = RawRs {
        addr,
        weight: None,
        fwd: vs.fwd,
        alpha: None,
        inhibit: None,
        uthreshold: 0,
        lthreshold: 0,
        retry: None,
        delay_loop: None,
        connect_timeout: None,
        delay_before_retry: None,
        warmup: None,
        smtp_alert: None,
        virtualhost: None,
        snmp_name: None,
        notify_up: None,
        notify_down: None,
        checkers: Vec::new(),
        file_checks: Vec::new(),
        bfd_checks: Vec::new(),
        loc: loc.clone(),
    };
    let mut collected = Collected::default();
    for child in node.children() {
        if checkers::is_checker(&child.keyword) {
            let ctx = Ctx {
                track_files: refs.track_files,
                bfd_instances: refs.bfd_instances,
                rs_addr: rs.addr,
                rs_connect_timeout: rs.connect_timeout,
                vs_connect_timeout: vs.connect_timeout,
                rs_name: fmt_trio(&rs.addr, vs.protocol),
            };
            checkers::parse_checker(child, &ctx, &mut collected, diags);
            continue;
        }
        rs_keyword(child, &mut rs, vs.vsgname(), diags);
    }
    rs.checkers = collected.checkers;
    rs.file_checks = collected.file_checks;
    rs.bfd_checks = collected.bfd_checks;
    // keepalived's `rs_end_handler`: unless tunnelled, the real server's
    // family must be the virtual server's.
    if rs.fwd.method != Some(Method::Tun) {
        let f = IpFamily::of(&rs.addr.ip());
        match vs.af {
            None => vs.af = Some(f),
            Some(af) if af != f => {
                diags.warn(
                    &node.close_loc(),
                    format!(
                        "Address family of virtual server and real server {} don't match - skipping real server.",
                        rs.addr.ip()
                    ),
                );
                return;
            }
            Some(_) => {}
        }
    }
    vs.rs.push(rs);
}

/// One statement of a `real_server` block.
fn rs_keyword(node: &Node, rs: &mut RawRs, vsgname: &str, diags: &mut Diagnostics) {
    if !RS_KEYWORDS.contains(&node.keyword.as_str()) {
        unknown(node, diags);
        return;
    }
    rs_statement(node, rs, vsgname, diags);
}

fn rs_statement(node: &Node, rs: &mut RawRs, vsgname: &str, diags: &mut Diagnostics) {
    let loc = &node.loc;
    let kw = node.keyword.as_str();
    match kw {
        "weight" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_unsigned(loc, a, 0, WEIGHT_LIMIT, diags) {
                Some(v) => rs.weight = Some(v as u32),
                None => diags.warn(
                    loc,
                    format!("Real server weight {a} is outside range 0-{WEIGHT_LIMIT}"),
                ),
            }
        }
        "lvs_method" => forwarding(node, &mut rs.fwd, "real", diags),
        "uthreshold" | "lthreshold" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_unsigned(loc, a, 0, u64::from(u32::MAX), diags) {
                Some(v) if kw == "uthreshold" => rs.uthreshold = v as u32,
                Some(v) => rs.lthreshold = v as u32,
                None => diags.warn(loc, format!("Invalid real_server {kw} '{a}' - ignoring")),
            }
        }
        "inhibit_on_failure" => {
            if let Some(v) = checkers::opt_bool(node, "inhibit_on_failure", diags) {
                rs.inhibit = Some(v);
            }
        }
        "notify_up" | "notify_down" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            let slot = if kw == "notify_up" {
                &mut rs.notify_up
            } else {
                &mut rs.notify_down
            };
            if slot.is_some() {
                diags.warn(
                    loc,
                    format!("({vsgname}) {kw} script already specified - ignoring {a}"),
                );
                return;
            }
            *slot = parse_script(node, true, diags);
        }
        "alpha" => {
            if let Some(v) = checkers::opt_bool(node, "alpha", diags) {
                rs.alpha = Some(v);
            }
        }
        "retry" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_unsigned(loc, a, 1, u64::from(u32::MAX), diags) {
                Some(v) => rs.retry = Some(v as u32),
                None => diags.warn(loc, format!("retry value invalid - {a}")),
            }
        }
        "delay_before_retry" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 0, TIMER_MAXIMUM, diags) {
                Some(v) => rs.delay_before_retry = Some(v),
                None => diags.warn(
                    loc,
                    format!("real server delay_before_retry '{a}' invalid - ignoring"),
                ),
            }
        }
        "warmup" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 0, TIMER_MAXIMUM, diags) {
                Some(v) => rs.warmup = Some(v),
                None => diags.warn(loc, format!("real server warmup '{a}' invalid - ignoring")),
            }
        }
        "connect_timeout" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 1, u64::from(u32::MAX), diags) {
                Some(v) => rs.connect_timeout = Some(v),
                None => diags.warn(
                    loc,
                    format!("real server connect_timeout {a} invalid - ignoring"),
                ),
            }
        }
        "delay_loop" => {
            let Some(a) = need_arg(node, diags) else {
                return;
            };
            match num::read_timer(loc, a, 1, TIMER_MAXIMUM, diags) {
                Some(v) => rs.delay_loop = Some(v),
                None => diags.warn(
                    loc,
                    format!("real server delay_loop '{a}' invalid - ignoring"),
                ),
            }
        }
        "smtp_alert" => {
            if let Some(v) = checkers::opt_bool(node, "real_server smtp_alert", diags) {
                rs.smtp_alert = Some(v);
            }
        }
        "virtualhost" => match node.arg(0) {
            None => diags.warn(loc, "real server virtualhost missing"),
            Some(v) => rs.virtualhost = Some(v.to_string()),
        },
        "snmp_name" => {
            if node.args.len() != 1 {
                diags.warn(loc, "real server snmp_name missing or extra parameters");
            } else {
                rs.snmp_name = Some(node.args[0].clone());
            }
        }
        _ => unknown(node, diags),
    }
}

// ---------------------------------------------------------------------------
// SSL
// ---------------------------------------------------------------------------

pub(super) fn parse_ssl(node: &Node, out: &mut LvsConfig, diags: &mut Diagnostics) {
    if out.ssl.is_some() {
        diags.warn(&node.loc, "SSL context already specified - replacing");
    }
    let mut ssl = SslConfig {
        loc: Some(node.loc.clone()),
        ..SslConfig::default()
    };
    for child in node.children() {
        let (slot, what) = match child.keyword.as_str() {
            "password" => (&mut ssl.password, "password"),
            "ca" => (&mut ssl.ca, "cafile"),
            "certificate" => (&mut ssl.certificate, "certfile"),
            "key" => (&mut ssl.key, "keyfile"),
            _ => {
                unknown(child, diags);
                continue;
            }
        };
        let Some(v) = child.arg(0) else {
            diags.warn(&child.loc, format!("SSL {what} missing"));
            continue;
        };
        if slot.is_some() {
            diags.warn(
                &child.loc,
                format!("SSL {what} already specified - replacing"),
            );
        }
        *slot = Some(v.to_string());
    }
    out.ssl = Some(ssl);
}
