//! Address, route and rule entries (`virtual_ipaddress`, `static_routes`,
//! `virtual_rules`, ...), as keepalived 2.2.7's `vrrp_ipaddress.c`,
//! `vrrp_iproute.c` and `vrrp_iprule.c` read them.

use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use crate::model::util::{parse_ip, read_unsigned};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(ip: &IpAddr) -> Family {
        if ip.is_ipv6() {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }
}

/// `preferred_lft forever` (and keepalived's default for IPv6 addresses
/// with a prefix shorter than 128).
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// One line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or
/// `static_ipaddress`: `ADDR[/PREFIX] [dev IF] [scope S] [brd ADDR|+|-]
/// [label L] [peer ADDR] [home] [-nodad] [mngtmpaddr] [noprefixroute]
/// [autojoin] [no_track] [preferred_lft N|forever] [use_vmac]
/// [track_group G]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAddress {
    pub addr: IpAddr,
    pub prefix: u8,
    /// `None`: the instance's interface (or VMAC), resolved by the worker.
    pub dev: Option<String>,
    /// Route scope number (global 0, site 200, link 253, host 254,
    /// nowhere 255); IPv4 only.
    pub scope: Option<u8>,
    pub broadcast: Option<Ipv4Addr>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    pub home: bool,
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    /// IPv6 only: set explicitly or keepalived's default (0 for /128, else
    /// forever); `None` for IPv4 unless configured.
    pub preferred_lft: Option<u32>,
    pub use_vmac: bool,
    pub track_group: Option<String>,
    pub loc: Loc,
}

impl IpAddress {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// keepalived's `parse_ipaddress`: `ADDR[/PREFIX]`, the family decided by a
/// `:` in the text.
fn parse_addr_prefix(
    node: &Node,
    text: &str,
    allow_prefix: bool,
    diags: &mut Diagnostics,
) -> Option<(IpAddr, u8)> {
    let family = if text.contains(':') {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    let max = family.max_prefix();
    let (a, p) = match text.split_once('/') {
        Some((a, p)) if allow_prefix => (a, Some(p)),
        _ => (text, None),
    };
    let mut prefix = max;
    if let Some(p) = p {
        match read_unsigned(node, p, 0, u64::from(max), diags) {
            Some(v) => prefix = v as u8,
            None => diags.warn(
                &node.loc,
                format!("Invalid address prefix len {p} for address {text} - using {max}"),
            ),
        }
    }
    match parse_ip(a) {
        Some(ip) if Family::of(&ip) == family => Some((ip, prefix)),
        _ => {
            diags.warn(
                &node.loc,
                format!("VRRP parsed invalid IP {text}. skipping IP..."),
            );
            None
        }
    }
}

fn scope_number(s: &str) -> Option<u8> {
    match s {
        "global" => Some(0),
        "nowhere" => Some(255),
        "host" => Some(254),
        "link" => Some(253),
        "site" => Some(200),
        _ => {
            // Numbers: decimal or 0x hex, as iproute2 files allow.
            if let Some(h) = s.strip_prefix("0x") {
                u8::from_str_radix(h, 16).ok()
            } else {
                s.parse().ok()
            }
        }
    }
}

/// One address line; `static_addr` allows `track_group`, otherwise
/// `use_vmac` is allowed. `None` when keepalived drops the line.
pub fn parse_ip_address(
    node: &Node,
    static_addr: bool,
    diags: &mut Diagnostics,
) -> Option<IpAddress> {
    let words: Vec<&str> = std::iter::once(node.keyword.as_str())
        .chain(node.args.iter().map(String::as_str))
        .collect();
    let addr_text = words[0];
    let (addr, prefix) = parse_addr_prefix(node, addr_text, true, diags)?;
    let mut new = IpAddress {
        addr,
        prefix,
        dev: None,
        scope: None,
        broadcast: None,
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        preferred_lft: None,
        use_vmac: false,
        track_group: None,
        loc: node.loc.clone(),
    };
    let is6 = addr.is_ipv6();
    // brd: None, Some(Ok(addr)), Some(Err(+1|-1)) for '+'/'-'
    let mut brd_sign: i8 = 0;
    let mut have_broadcast = false;
    let mut i = 1;
    while i < words.len() {
        let w = words[i];
        let param = words.get(i + 1).copied();
        let needs_param = matches!(
            w,
            "dev" | "scope" | "broadcast" | "brd" | "label" | "peer" | "preferred_lft"
        ) || (static_addr && w == "track_group");
        if needs_param && param.is_none() {
            diags.warn(
                &node.loc,
                format!("No {w} parameter specified for {addr_text}"),
            );
            return None;
        }
        let p = param.unwrap_or("");
        match w {
            "dev" => {
                if new.dev.is_some() {
                    diags.warn(
                        &node.loc,
                        format!("Cannot specify ipaddress device more than once for {addr_text}"),
                    );
                    return None;
                }
                new.dev = Some(p.to_string());
                i += 1;
            }
            "scope" => {
                match scope_number(p) {
                    Some(s) => new.scope = Some(s),
                    None => diags.warn(
                        &node.loc,
                        format!("Invalid scope '{p}' specified for {addr_text} - ignoring"),
                    ),
                }
                i += 1;
            }
            "broadcast" | "brd" => {
                if is6 {
                    diags.warn(
                        &node.loc,
                        format!(
                            "VRRP is trying to assign a broadcast {w} to the IPv6 address {addr_text} !!?? WTF... skipping VIP..."
                        ),
                    );
                    return None;
                }
                have_broadcast = true;
                match p {
                    "-" => brd_sign = -1,
                    "+" => brd_sign = 1,
                    _ => match p.parse::<Ipv4Addr>() {
                        Ok(b) => new.broadcast = Some(b),
                        Err(_) => {
                            diags.warn(
                                &node.loc,
                                format!(
                                    "VRRP is trying to assign invalid broadcast {p}. skipping VIP..."
                                ),
                            );
                            return None;
                        }
                    },
                }
                i += 1;
            }
            "label" => {
                if p.len() >= 16 {
                    diags.warn(
                        &node.loc,
                        format!(
                            "Address label {p} is longer than maximum length 15 - removing address"
                        ),
                    );
                    return None;
                }
                new.label = Some(p.to_string());
                i += 1;
            }
            "peer" => {
                i += 1;
                if new.peer.is_some() {
                    diags.warn(
                        &node.loc,
                        format!("Peer {p} - another peer has already been specified"),
                    );
                } else {
                    match parse_addr_prefix(node, p, false, diags) {
                        None => diags.warn(&node.loc, format!("Invalid peer address {p}")),
                        Some((pa, _)) if pa.is_ipv6() != is6 => diags.warn(
                            &node.loc,
                            format!("Peer address {p} does not match address family"),
                        ),
                        Some((pa, _)) => {
                            if new.prefix != new.family().max_prefix() {
                                diags.warn(
                                    &node.loc,
                                    "Cannot specify address prefix when specifying peer address - ignoring",
                                );
                            }
                            new.prefix = new.family().max_prefix();
                            new.peer = Some(pa);
                        }
                    }
                }
            }
            "home" => new.home = true,
            "-nodad" => new.nodad = true,
            "mngtmpaddr" => new.mngtmpaddr = true,
            "noprefixroute" => new.noprefixroute = true,
            "autojoin" => new.autojoin = true,
            "no_track" => new.no_track = true,
            "preferred_lft" => {
                i += 1;
                if p == "forever" {
                    new.preferred_lft = Some(INFINITY_LIFE_TIME);
                } else {
                    match read_unsigned(node, p, 0, u64::from(u32::MAX), diags) {
                        Some(v) => new.preferred_lft = Some(v as u32),
                        None => diags.warn(&node.loc, format!("preferred_lft {p} is invalid")),
                    }
                }
            }
            "track_group" if static_addr => {
                i += 1;
                if new.track_group.is_some() {
                    diags.warn(&node.loc, format!("track_group {p} is a duplicate"));
                    break;
                }
                new.track_group = Some(p.to_string());
            }
            "use_vmac" if !static_addr => new.use_vmac = true,
            other => diags.warn(
                &node.loc,
                format!("Unknown configuration entry '{other}' for ip address - ignoring"),
            ),
        }
        i += 1;
    }

    if have_broadcast && new.peer.is_some() {
        diags.warn(
            &node.loc,
            "Cannot specify broadcast and peer addresses - ignoring broadcast address",
        );
        new.broadcast = None;
    } else if brd_sign != 0 && new.prefix <= 30 {
        let base = match new.peer.unwrap_or(new.addr) {
            IpAddr::V4(v) => u32::from(v),
            IpAddr::V6(_) => 0,
        };
        let mask = u32::MAX.checked_shr(u32::from(new.prefix)).unwrap_or(0);
        let b = if brd_sign > 0 {
            base | mask
        } else {
            base & !mask
        };
        new.broadcast = Some(Ipv4Addr::from(b));
    } else if brd_sign != 0 {
        diags.warn(
            &node.loc,
            format!(
                "Address prefix length {} too long for broadcast",
                new.prefix
            ),
        );
    }

    if is6 {
        if new.scope.take().is_some_and(|s| s != 0) {
            diags.warn(
                &node.loc,
                format!("Cannot specify scope for IPv6 addresses ({addr_text}) - ignoring scope"),
            );
        }
        if new.label.take().is_some() {
            diags.warn(
                &node.loc,
                format!("Cannot specify label for IPv6 addresses ({addr_text}) - ignoring label"),
            );
        }
        if new.preferred_lft.is_none() {
            new.preferred_lft = Some(if new.prefix == 128 {
                0
            } else {
                INFINITY_LIFE_TIME
            });
        }
    }
    if new.track_group.is_some() && new.dev.is_none() {
        diags.warn(
            &node.loc,
            "Static route cannot have track_group if interface not specified",
        );
        new.track_group = None;
    }
    Some(new)
}

/// A routing table: a number, or a name from iproute2's `rt_tables`
/// (`main`, `local`, `default` are resolved here; others by the worker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteTable {
    Id(u32),
    Name(String),
}

fn parse_table(s: &str) -> Option<RouteTable> {
    match s {
        "main" => Some(RouteTable::Id(254)),
        "local" => Some(RouteTable::Id(255)),
        "default" => Some(RouteTable::Id(253)),
        "unspec" => Some(RouteTable::Id(0)),
        _ => {
            if let Some(h) = s.strip_prefix("0x") {
                return u32::from_str_radix(h, 16).ok().map(RouteTable::Id);
            }
            if let Ok(n) = s.parse::<u32>() {
                return Some(RouteTable::Id(n));
            }
            if s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && !s.is_empty()
            {
                Some(RouteTable::Name(s.to_string()))
            } else {
                None
            }
        }
    }
}

/// A route destination: `default`/`any`/`all`, or an address and prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteDest {
    Default,
    Prefix(IpAddr, u8),
}

/// One line of `virtual_routes` / `static_routes`, in `ip route` syntax.
/// The options keepalived passes through to the kernel without checking
/// more than their syntax (`mtu`, `advmss`, `rtt`, `nexthop ...`) are kept
/// as words in `options`, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub family: Family,
    pub dst: RouteDest,
    /// `unicast` (default), `blackhole`, `unreachable`, `prohibit`,
    /// `throw`, `local`, ...
    pub route_type: String,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub src: Option<IpAddr>,
    pub from: Option<(IpAddr, u8)>,
    pub table: RouteTable,
    pub metric: Option<u32>,
    pub scope: Option<u8>,
    /// Routes keepalived tracks are installed with protocol `keepalived`.
    pub protocol: Option<String>,
    pub tos: Option<String>,
    pub onlink: bool,
    pub no_track: bool,
    pub track_group: Option<String>,
    pub options: Vec<String>,
    pub loc: Loc,
}

const ROUTE_TYPES: &[&str] = &[
    "local",
    "nat",
    "broadcast",
    "brd",
    "anycast",
    "multicast",
    "prohibit",
    "unreachable",
    "blackhole",
    "xresolve",
    "unicast",
    "throw",
];

/// Route options taking one value (optionally preceded by `lock`), passed
/// through.
const ROUTE_VALUE_OPTS: &[&str] = &[
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "expires",
    "encap",
    "as",
    "vrf",
];

pub fn parse_route(node: &Node, allow_track_group: bool, diags: &mut Diagnostics) -> Option<Route> {
    let words: Vec<&str> = std::iter::once(node.keyword.as_str())
        .chain(node.args.iter().map(String::as_str))
        .collect();
    let loc = &node.loc;
    let mut family: Option<Family> = None;
    let mut r = Route {
        family: Family::Ipv4,
        dst: RouteDest::Default,
        route_type: "unicast".into(),
        via: None,
        dev: None,
        src: None,
        from: None,
        table: RouteTable::Id(254),
        metric: None,
        scope: None,
        protocol: None,
        tos: None,
        onlink: false,
        no_track: false,
        track_group: None,
        options: Vec::new(),
        loc: loc.clone(),
    };
    let mut have_dst = false;
    let mut dest_text = String::new();
    let mix =
        |family: &mut Option<Family>, f: Family, diags: &mut Diagnostics, what: &str| -> bool {
            match family {
                None => {
                    *family = Some(f);
                    true
                }
                Some(x) if *x == f => true,
                _ => {
                    diags.warn(loc, what.to_string());
                    false
                }
            }
        };
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let next = words.get(i + 1).copied();
        let pos = i + 2;
        let need = |diags: &mut Diagnostics| {
            diags.error(
                loc,
                format!(
                    "*** Configuration line starting `{}` is missing a parameter after keyword `{w}` at word position {pos}",
                    words[0]
                ),
            );
        };
        match w {
            "inet" | "inet6" => {
                let f = if w == "inet" {
                    Family::Ipv4
                } else {
                    Family::Ipv6
                };
                if family.is_some_and(|x| x != f) {
                    let other = if f == Family::Ipv6 { "IPv4" } else { "IPv6" };
                    diags.warn(loc, format!("{w} specified for {other} route"));
                    return None;
                }
                family = Some(f);
            }
            "src" | "via" | "gw" | "from" => {
                let Some(mut v) = next else {
                    need(diags);
                    return None;
                };
                if w == "gw" {
                    diags.warn(loc, "\"gw\" for routes is deprecated. Please use \"via\"");
                }
                i += 1;
                if (w == "via" || w == "gw") && (v == "inet" || v == "inet6") {
                    i += 1;
                    v = words.get(i).copied().unwrap_or("");
                }
                let allow_prefix = w == "from";
                let Some((ip, plen)) = parse_addr_prefix(node, v, allow_prefix, diags) else {
                    let what = match w {
                        "src" => "src",
                        "from" => "from",
                        _ => "via",
                    };
                    diags.warn(loc, format!("invalid route {what} address {v}"));
                    return None;
                };
                if !mix(
                    &mut family,
                    Family::of(&ip),
                    diags,
                    "Cannot mix IPv4 and IPv6 addresses for route",
                ) {
                    return None;
                }
                match w {
                    "src" => r.src = Some(ip),
                    "from" => {
                        if !ip.is_ipv6() {
                            diags.warn(
                                loc,
                                format!("route from address only supported with IPv6 ({v})"),
                            );
                            return None;
                        }
                        r.from = Some((ip, plen));
                    }
                    _ => r.via = Some(ip),
                }
            }
            "tos" | "dsfield" => {
                let Some(v) = next else {
                    need(diags);
                    return None;
                };
                r.tos = Some(v.to_string());
                i += 1;
            }
            "table" => {
                let Some(v) = next else {
                    need(diags);
                    return None;
                };
                match parse_table(v) {
                    Some(t) => r.table = t,
                    None => {
                        diags.warn(loc, format!("Routing table {v} not found for route"));
                        return None;
                    }
                }
                i += 1;
            }
            "protocol" | "proto" => {
                let Some(v) = next else {
                    need(diags);
                    return None;
                };
                r.protocol = Some(v.to_string());
                i += 1;
            }
            "scope" => {
                let Some(v) = next else {
                    need(diags);
                    return None;
                };
                match scope_number(v) {
                    Some(s) => r.scope = Some(s),
                    None => {
                        diags.warn(loc, format!("Scope {v} not found or invalid for route"));
                        return None;
                    }
                }
                i += 1;
            }
            "metric" | "priority" | "preference" => {
                let Some(v) = next else {
                    need(diags);
                    return None;
                };
                match read_unsigned(node, v, 0, u64::from(u32::MAX), diags) {
                    Some(m) => r.metric = Some(m as u32),
                    None => return None,
                }
                i += 1;
            }
            "dev" | "oif" => {
                let Some(v) = next else {
                    need(diags);
                    return None;
                };
                r.dev = Some(v.to_string());
                i += 1;
            }
            "onlink" => r.onlink = true,
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                let Some(v) = next else {
                    need(diags);
                    return None;
                };
                if r.track_group.is_some() {
                    diags.warn(loc, format!("track_group {v} is a duplicate"));
                } else {
                    r.track_group = Some(v.to_string());
                }
                i += 1;
            }
            "nexthop" | "or" => {
                // Multipath: the rest of the line describes the hops.
                r.options.extend(words[i..].iter().map(|s| s.to_string()));
                break;
            }
            "add" | "prepend" | "append" => r.options.push(w.to_string()),
            _ if ROUTE_VALUE_OPTS.contains(&w) => {
                r.options.push(w.to_string());
                let Some(mut v) = next else {
                    need(diags);
                    return None;
                };
                if v == "lock" {
                    r.options.push(v.to_string());
                    i += 1;
                    v = match words.get(i + 1) {
                        Some(v) => v,
                        None => {
                            need(diags);
                            return None;
                        }
                    };
                }
                r.options.push(v.to_string());
                i += 1;
            }
            _ => {
                let mut j = i;
                if w == "to" {
                    j += 1;
                }
                let mut word = words.get(j).copied().unwrap_or("");
                if ROUTE_TYPES.contains(&word) {
                    r.route_type = if word == "brd" {
                        "broadcast".into()
                    } else {
                        word.to_string()
                    };
                    j += 1;
                    word = words.get(j).copied().unwrap_or("");
                }
                let dst = match word {
                    "default" | "any" | "all" => Some((RouteDest::Default, None)),
                    "default6" => {
                        diags.warn(
                            loc,
                            "'default6' is deprecated - please replace with 'inet6 default'",
                        );
                        Some((RouteDest::Default, Some(Family::Ipv6)))
                    }
                    _ => parse_addr_prefix(node, word, true, diags)
                        .map(|(ip, p)| (RouteDest::Prefix(ip, p), Some(Family::of(&ip)))),
                };
                let Some((d, f)) = dst else {
                    diags.warn(loc, format!("unknown route keyword {word}"));
                    return None;
                };
                if let Some(f) = f
                    && !mix(
                        &mut family,
                        f,
                        diags,
                        &format!("Cannot mix IPv4 and IPv6 addresses for route ({word})"),
                    )
                {
                    return None;
                }
                dest_text = word.to_string();
                r.dst = d;
                have_dst = true;
                i = j;
            }
        }
        i += 1;
    }
    if !have_dst {
        diags.warn(loc, "Route must have a destination");
        return None;
    }
    if !r.no_track {
        if r.protocol
            .as_deref()
            .is_some_and(|p| p != "keepalived" && p != "18")
        {
            diags.warn(
                loc,
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
            );
        }
        r.protocol = Some("keepalived".into());
        if r.dev.is_none() {
            diags.warn(
                loc,
                format!(
                    "Warning - cannot track route {dest_text} with no interface specified, not tracking"
                ),
            );
            r.no_track = true;
        }
    }
    if r.track_group.is_some() && r.dev.is_none() {
        diags.warn(
            loc,
            "Static route cannot have track group if no oif specified",
        );
        r.track_group = None;
    }
    r.family = family.unwrap_or(Family::Ipv4);
    Some(r)
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleAction {
    Table(RouteTable),
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
    L3mdev,
}

/// One line of `virtual_rules` / `static_rules`, in `ip rule` syntax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub family: Family,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub not: bool,
    pub action: RuleAction,
    pub priority: u32,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub tos: Option<String>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub no_track: bool,
    pub track_group: Option<String>,
    /// Other options passed through (`realms`, `suppress_prefixlength`,
    /// `uidrange`, `sport`, `ipproto`, ...), as words.
    pub options: Vec<String>,
    pub loc: Loc,
}

const RULE_VALUE_OPTS: &[&str] = &[
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "tunnel-id",
    "uidrange",
    "protocol",
    "ipproto",
    "sport",
    "dport",
];

fn parse_num_base0(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Rule priority counters keepalived assigns when a rule has none
/// (decreasing from 16384 per family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulePriorities {
    pub v4: u32,
    pub v6: u32,
}

impl Default for RulePriorities {
    fn default() -> Self {
        Self {
            v4: 16384,
            v6: 16384,
        }
    }
}

pub fn parse_rule(
    node: &Node,
    allow_track_group: bool,
    next_prio: &mut RulePriorities,
    diags: &mut Diagnostics,
) -> Option<Rule> {
    let words: Vec<&str> = std::iter::once(node.keyword.as_str())
        .chain(node.args.iter().map(String::as_str))
        .collect();
    let loc = &node.loc;
    let mut family: Option<Family> = None;
    let mut action: Option<RuleAction> = None;
    let mut priority: Option<u32> = None;
    let mut r = Rule {
        family: Family::Ipv4,
        from: None,
        to: None,
        not: false,
        action: RuleAction::Nop,
        priority: 0,
        fwmark: None,
        fwmask: None,
        tos: None,
        iif: None,
        oif: None,
        no_track: false,
        track_group: None,
        options: Vec::new(),
        loc: loc.clone(),
    };
    let mut table_option = false;
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let next = words.get(i + 1).copied();
        let takes_value = matches!(
            w,
            "from"
                | "to"
                | "table"
                | "lookup"
                | "preference"
                | "order"
                | "priority"
                | "tos"
                | "dsfield"
                | "fwmark"
                | "dev"
                | "iif"
                | "oif"
                | "goto"
        ) || RULE_VALUE_OPTS.contains(&w)
            || (allow_track_group && w == "track_group");
        if takes_value && next.is_none() {
            diags.error(
                loc,
                format!(
                    "*** Configuration line starting `{}` is missing a parameter after keyword `{w}` at word position {}",
                    words[0],
                    i + 2
                ),
            );
            return None;
        }
        let v = next.unwrap_or("");
        match w {
            "inet" | "inet6" => {
                let f = if w == "inet" {
                    Family::Ipv4
                } else {
                    Family::Ipv6
                };
                if family.is_some_and(|x| x != f) {
                    let other = if f == Family::Ipv6 { "IPv4" } else { "IPv6" };
                    diags.warn(loc, format!("{w} specified for {other} rule"));
                    return None;
                }
                family = Some(f);
            }
            "from" | "to" => {
                i += 1;
                let parsed = if v == "all" {
                    None
                } else {
                    match parse_addr_prefix(node, v, true, diags) {
                        Some(x) => Some(x),
                        None => {
                            diags.warn(loc, format!("Invalid rule {w} address {v}"));
                            return None;
                        }
                    }
                };
                if let Some((ip, p)) = parsed {
                    let f = Family::of(&ip);
                    if family.is_some_and(|x| x != f) {
                        diags.warn(loc, "rule specification has mixed IPv4 and IPv6");
                        return None;
                    }
                    family = Some(f);
                    if w == "from" {
                        r.from = Some((ip, p));
                    } else {
                        r.to = Some((ip, p));
                    }
                }
            }
            "table" | "lookup" => {
                i += 1;
                let Some(t) = parse_table(v) else {
                    diags.warn(loc, format!("Routing table {v} not found for rule"));
                    return None;
                };
                if t == RouteTable::Id(0) {
                    diags.warn(loc, "Table 0 is not valid");
                    return None;
                }
                if action.is_some() {
                    diags.warn(
                        loc,
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule",
                    );
                    return None;
                }
                action = Some(RuleAction::Table(t));
            }
            "not" => r.not = true,
            "preference" | "order" | "priority" => {
                i += 1;
                match parse_num_base0(v) {
                    Some(p) => priority = Some(p),
                    None => {
                        diags.warn(loc, format!("Invalid rule preference {w} specified"));
                        return None;
                    }
                }
            }
            "tos" | "dsfield" => {
                i += 1;
                r.tos = Some(v.to_string());
            }
            "fwmark" => {
                i += 1;
                let (m, mask) = match v.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (v, None),
                };
                let mark = parse_num_base0(m);
                let mask_v = mask.map(parse_num_base0);
                match (mark, mask_v) {
                    (Some(m), None) => r.fwmark = Some(m),
                    (Some(m), Some(Some(k))) => {
                        r.fwmark = Some(m);
                        r.fwmask = Some(k);
                    }
                    _ => {
                        diags.warn(loc, format!("Invalid rule fwmark {v} specified"));
                        return None;
                    }
                }
            }
            "dev" | "iif" => {
                i += 1;
                r.iif = Some(v.to_string());
            }
            "oif" => {
                i += 1;
                r.oif = Some(v.to_string());
            }
            "l3mdev" => {
                if action.is_some() {
                    diags.warn(loc, "Cannot specify l3mdev with other action");
                    return None;
                }
                action = Some(RuleAction::L3mdev);
            }
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                i += 1;
                if r.track_group.is_some() {
                    diags.warn(loc, format!("track_group {v} is a duplicate"));
                } else {
                    r.track_group = Some(v.to_string());
                }
            }
            _ if RULE_VALUE_OPTS.contains(&w) => {
                if matches!(
                    w,
                    "realms"
                        | "suppress_prefixlength"
                        | "sup_pl"
                        | "suppress_ifgroup"
                        | "sup_group"
                ) {
                    table_option = true;
                }
                r.options.push(w.to_string());
                r.options.push(v.to_string());
                i += 1;
            }
            _ => {
                let mut word = w;
                if word == "type" {
                    i += 1;
                    word = words.get(i).copied().unwrap_or("");
                }
                let a = match word {
                    "goto" => {
                        i += 1;
                        let t = words.get(i).copied().unwrap_or("");
                        match t.parse::<u32>() {
                            Ok(n) => RuleAction::Goto(n),
                            Err(_) => {
                                diags.warn(loc, format!("Invalid target {word} specified"));
                                return None;
                            }
                        }
                    }
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    _ if ROUTE_TYPES.contains(&word) => {
                        diags.warn(loc, format!("Invalid rule action {word}"));
                        return None;
                    }
                    _ => {
                        diags.warn(loc, format!("Unknown rule option {word}"));
                        return None;
                    }
                };
                if action.is_some() {
                    diags.warn(
                        loc,
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule",
                    );
                    return None;
                }
                action = Some(a);
            }
        }
        i += 1;
    }
    if let Some(RuleAction::Goto(t)) = action {
        match priority {
            Some(p) if p >= t => {
                diags.warn(
                    loc,
                    format!("Invalid rule - preference {p} >= goto target {t}"),
                );
                return None;
            }
            Some(_) => {}
            None => {
                diags.warn(
                    loc,
                    format!("Invalid rule - goto target {t} specified without preference"),
                );
                return None;
            }
        }
    }
    let Some(action) = action else {
        diags.warn(loc, "No action specified for rule - ignoring");
        return None;
    };
    if table_option && !matches!(action, RuleAction::Table(_)) {
        diags.warn(
            loc,
            "suppressor/realm specified for non table action - skipping",
        );
        return None;
    }
    if r.track_group.is_some() && r.iif.is_none() {
        diags.warn(
            loc,
            "Static rule cannot have track_group if dev/iif not specified",
        );
        r.track_group = None;
    }
    r.action = action;
    r.family = family.unwrap_or(Family::Ipv4);
    r.priority = match priority {
        Some(p) => p,
        None => {
            let slot = if r.family == Family::Ipv4 {
                &mut next_prio.v4
            } else {
                &mut next_prio.v6
            };
            let p = *slot;
            *slot = slot.saturating_sub(1);
            diags.warn(
                loc,
                format!(
                    "Rule has no preference specified - setting to {p}. This is probably not what you want."
                ),
            );
            p
        }
    };
    Some(r)
}
