//! LVS sections: `virtual_server_group`, `virtual_server`, `real_server`,
//! their health checkers and the checkers' `SSL` context, modelled on
//! keepalived 2.2.7's check parser (keepalived/check/check_parser.c and the
//! checker modules) and its post-parse validation (`link_vsg_to_vs`,
//! `validate_check_config`).
//!
//! Everything keepalived reports while reading these sections is a
//! configuration problem it adjusts or ignores (the checker process still
//! runs): a [`Severity::Warning`](crate::Severity). The one exception is a
//! keyword missing its value, where keepalived stops reading the
//! configuration: an error.
//!
//! After [`finish`] every value is final: inherited settings (checker <-
//! real server <- virtual server <- global) are resolved, defaults filled
//! in and keepalived's corrections applied, so consumers read the model and
//! never re-derive keepalived's rules.
//!
//! Consumers iterate [`LvsConfig::virtual_servers`], each one's
//! [`VirtualServer::real_servers`], and each real server's
//! [`RealServer::checkers`] and [`RealServer::file_checks`];
//! [`LvsConfig::scripts`] lists every script with who runs it.

mod checkers;
mod num;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

pub use checkers::{
    BfdCheck, Checker, CheckerKind, Connection, DnsCheck, DnsType, FileCheck, HexPattern,
    HttpCheck, HttpProtocol, MiscCheck, SmtpCheck, StatusRange, UdpCheck, Url, UrlRegex,
};

use super::bfd::BfdInstance;
use super::global::GlobalDefs;
use super::relevel::Kind;
use super::util::ScriptSpec;
use super::vrrp::TrackFile;
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The LVS part of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LvsConfig {
    /// `virtual_server_group` blocks that have entries, in order.
    pub groups: Vec<VirtualServerGroup>,
    /// Virtual servers keepalived keeps (see [`finish`]), in order.
    pub virtual_servers: Vec<VirtualServer>,
    /// The top-level `SSL` block (context for `SSL_GET`), if any.
    pub ssl: Option<SslConfig>,
    /// Messages keepalived logs at INFO level while reading these sections
    /// without counting them as configuration errors (`-t` neither prints
    /// them nor fails on them), e.g. a virtual server naming a group that
    /// does not exist. The daemon logs them.
    pub notices: Vec<Notice>,
    /// Virtual servers as read, before [`finish`] links and validates them.
    #[serde(skip)]
    pending: Vec<parse::RawVs>,
}

/// An INFO-level message keepalived logs (see [`LvsConfig::notices`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub loc: Option<Loc>,
    pub message: String,
}

/// An address family (`ip_family inet|inet6`, fwmark families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    Inet,
    Inet6,
}

impl IpFamily {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => IpFamily::Inet,
            IpAddr::V6(_) => IpFamily::Inet6,
        }
    }
}

/// `virtual_server_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub entries: Vec<VsgEntry>,
    pub loc: Loc,
}

impl VirtualServerGroup {
    /// Whether any address entry, or fwmark entry with family `inet`, is IPv4.
    pub fn has_ipv4(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.family() == Some(IpFamily::Inet))
    }

    pub fn has_ipv6(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.family() == Some(IpFamily::Inet6))
    }

    pub fn has_addresses(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Addresses { .. }))
    }

    pub fn has_fwmarks(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
    }

    /// Whether a `fwmark N` entry has no family.
    pub fn fwmark_without_family(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { family: None, .. }))
    }
}

/// One line of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VsgEntry {
    /// `IP PORT`, `IP-LAST PORT`, `IP-IP PORT` or `IP/MASK PORT`: the
    /// addresses `first..=last` (equal for a single address). Port 0 when
    /// none was given.
    Addresses {
        first: IpAddr,
        last: IpAddr,
        port: u16,
        loc: Loc,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        mark: u32,
        family: Option<IpFamily>,
        loc: Loc,
    },
}

impl VsgEntry {
    pub fn family(&self) -> Option<IpFamily> {
        match self {
            VsgEntry::Addresses { first, .. } => Some(IpFamily::of(first)),
            VsgEntry::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for VsgEntry {
    /// keepalived's `format_vsge`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VsgEntry::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
            VsgEntry::Addresses {
                first, last, port, ..
            } if first != last => write!(f, "{first}-{last},{port}"),
            VsgEntry::Addresses { first, port, .. } => write!(f, "{first},{port}"),
        }
    }
}

/// What a `virtual_server` line names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VsKey {
    /// `virtual_server IP [PORT]` (port 0 when none was given).
    Addr { addr: SocketAddr },
    /// `virtual_server fwmark N`.
    Fwmark { mark: u32 },
    /// `virtual_server group NAME`. `index` is this virtual server's
    /// sequence number among those using the group (keepalived keeps it in
    /// the port field and prints it as `[NAME]:index`).
    Group { name: String, index: u16 },
}

/// An IPVS scheduler (`lb_algo` / `lvs_sched`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Lblcr,
    Sed,
    Nq,
    Twos,
}

impl Scheduler {
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Dh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Lblcr,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Twos,
    ];

    /// The kernel's name for the scheduler.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Dh => "dh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Twos => "twos",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// IPVS service flags set by `ops`, `flag-1..3`, `sh-port`, `sh-fallback`,
/// `mh-port`, `mh-fallback`. `sh-fallback`/`mh-fallback` are the kernel's
/// scheduler flag 1 and `sh-port`/`mh-port` its flag 2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceFlags {
    /// `ops`: one-packet scheduling (UDP only).
    pub one_packet: bool,
    pub sched_flag_1: bool,
    pub sched_flag_2: bool,
    pub sched_flag_3: bool,
}

/// `protocol TCP|UDP|SCTP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The name keepalived prints (`inet_sockaddrtotrio`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// Tunnel encapsulation of `TUN` forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    Ipip,
    Gue { port: u16 },
    Gre,
}

/// Tunnel checksum option (`nocsum`, `csum`, `remcsum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelCsum {
    NoCsum,
    Csum,
    RemCsum,
}

/// The IPVS forwarding method of a real or sorry server (`lb_kind`,
/// `lvs_method`, `sorry_server_lvs_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Forwarding {
    Nat,
    Dr,
    Tun {
        tunnel: TunnelType,
        csum: TunnelCsum,
    },
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Netmask(Ipv4Addr),
    PrefixLen(u8),
}

/// The top-level `SSL { password ca certificate key }` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SslConfig {
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
    pub loc: Option<Loc>,
}

/// `sorry_server IP PORT` with its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    /// Port adjusted as keepalived adjusts it (see [`RealServer::addr`]).
    pub addr: SocketAddr,
    pub forwarding: Forwarding,
    /// `sorry_server_inhibit`.
    pub inhibit: bool,
    /// The sorry server is also one of the real servers.
    pub duplicates_real_server: bool,
    pub loc: Loc,
}

/// `virtual_server ... { ... }` after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServer {
    pub key: VsKey,
    /// The service's address family (for fwmark and group services the
    /// one keepalived derives or defaults, IPv4).
    pub family: IpFamily,
    /// `None` for fwmark services, where keepalived drops any protocol.
    pub protocol: Option<Protocol>,
    pub scheduler: Scheduler,
    pub flags: ServiceFlags,
    /// `lb_kind` / `lvs_method` (NAT when unset, as keepalived defaults).
    pub forwarding: Forwarding,
    /// `persistence_timeout` (also set by keepalived for port-0 services
    /// and by `persistence_granularity`); `None`: not persistent.
    pub persistence_timeout: Option<Duration>,
    pub persistence_granularity: Option<Granularity>,
    pub persistence_engine: Option<String>,
    pub delay_loop: Duration,
    pub connect_timeout: Duration,
    /// Virtual-server level `retry`, `delay_before_retry`, `warmup`, as
    /// configured (already applied to the real servers and checkers).
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    /// `weight` at virtual-server level: real servers' default weight.
    pub weight: u32,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<ScriptSpec>,
    pub quorum_down: Option<ScriptSpec>,
    pub smtp_alert: bool,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub sorry_server: Option<SorryServer>,
    pub real_servers: Vec<RealServer>,
    pub loc: Loc,
}

impl VirtualServer {
    /// keepalived's `FMT_VS`: `[IP]:proto:port`, `FWM N` or `[GROUP]:index`.
    pub fn display_name(&self) -> String {
        fmt_vs(&self.key, self.protocol)
    }

    pub fn group(&self) -> Option<&str> {
        match &self.key {
            VsKey::Group { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// `real_server IP PORT { ... }` after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServer {
    /// Address and port. keepalived fills a missing port from the virtual
    /// server and resets a differing one for non-NAT forwarding; for a
    /// fwmark service a non-NAT real server's port is cleared.
    pub addr: SocketAddr,
    pub weight: u32,
    pub forwarding: Forwarding,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    /// `uthreshold` / `lthreshold` (0: none).
    pub uthreshold: u32,
    pub lthreshold: u32,
    /// Resolved from the virtual server when not set here. `retry`,
    /// `delay_before_retry` and `warmup` may stay unset: each checker then
    /// uses its own default.
    pub retry: Option<u32>,
    pub delay_loop: Duration,
    pub connect_timeout: Duration,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub smtp_alert: bool,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub notify_up: Option<ScriptSpec>,
    pub notify_down: Option<ScriptSpec>,
    pub checkers: Vec<Checker>,
    pub file_checks: Vec<FileCheck>,
    pub bfd_checks: Vec<BfdCheck>,
    pub loc: Loc,
}

/// Which script of the LVS configuration a [`ScriptRef`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptRole {
    QuorumUp {
        vs: usize,
    },
    QuorumDown {
        vs: usize,
    },
    NotifyUp {
        vs: usize,
        rs: usize,
    },
    NotifyDown {
        vs: usize,
        rs: usize,
    },
    /// `MISC_CHECK` number `checker` of the real server.
    Misc {
        vs: usize,
        rs: usize,
        checker: usize,
    },
}

/// A script of the LVS configuration and where it sits in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptRef<'a> {
    pub role: ScriptRole,
    pub script: &'a ScriptSpec,
}

impl LvsConfig {
    /// Every script (quorum_up/down, notify_up/down, misc_path) with its
    /// position, in configuration order. A spec's `user`/`group` is `None`
    /// when the configuration names none (keepalived then runs it as the
    /// default script user).
    pub fn scripts(&self) -> Vec<ScriptRef<'_>> {
        let mut out = Vec::new();
        for (v, vs) in self.virtual_servers.iter().enumerate() {
            if let Some(s) = &vs.quorum_up {
                out.push(ScriptRef {
                    role: ScriptRole::QuorumUp { vs: v },
                    script: s,
                });
            }
            if let Some(s) = &vs.quorum_down {
                out.push(ScriptRef {
                    role: ScriptRole::QuorumDown { vs: v },
                    script: s,
                });
            }
            for (r, rs) in vs.real_servers.iter().enumerate() {
                if let Some(s) = &rs.notify_up {
                    out.push(ScriptRef {
                        role: ScriptRole::NotifyUp { vs: v, rs: r },
                        script: s,
                    });
                }
                if let Some(s) = &rs.notify_down {
                    out.push(ScriptRef {
                        role: ScriptRole::NotifyDown { vs: v, rs: r },
                        script: s,
                    });
                }
                for (c, ck) in rs.checkers.iter().enumerate() {
                    if let CheckerKind::Misc(m) = &ck.kind {
                        out.push(ScriptRef {
                            role: ScriptRole::Misc {
                                vs: v,
                                rs: r,
                                checker: c,
                            },
                            script: &m.script,
                        });
                    }
                }
            }
        }
        out
    }

    /// Look a script up by its role (as a worker names it to the parent).
    pub fn script(&self, role: ScriptRole) -> Option<&ScriptSpec> {
        match role {
            ScriptRole::QuorumUp { vs } => self.virtual_servers.get(vs)?.quorum_up.as_ref(),
            ScriptRole::QuorumDown { vs } => self.virtual_servers.get(vs)?.quorum_down.as_ref(),
            ScriptRole::NotifyUp { vs, rs } => self
                .virtual_servers
                .get(vs)?
                .real_servers
                .get(rs)?
                .notify_up
                .as_ref(),
            ScriptRole::NotifyDown { vs, rs } => self
                .virtual_servers
                .get(vs)?
                .real_servers
                .get(rs)?
                .notify_down
                .as_ref(),
            ScriptRole::Misc { vs, rs, checker } => {
                match &self
                    .virtual_servers
                    .get(vs)?
                    .real_servers
                    .get(rs)?
                    .checkers
                    .get(checker)?
                    .kind
                {
                    CheckerKind::Misc(m) => Some(&m.script),
                    _ => None,
                }
            }
        }
    }

    pub fn group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Whether any checker or the configuration asks for an SSL context.
    pub fn ssl_required(&self) -> bool {
        self.virtual_servers.iter().any(|vs| {
            vs.real_servers.iter().any(|rs| {
                rs.checkers
                    .iter()
                    .any(|c| matches!(&c.kind, CheckerKind::Http(h) if h.ssl))
            })
        })
    }
}

/// keepalived's `FMT_VS`.
pub(crate) fn fmt_vs(key: &VsKey, proto: Option<Protocol>) -> String {
    match key {
        VsKey::Group { name, index } => format!("[{name}]:{index}"),
        VsKey::Fwmark { mark } => format!("FWM {mark}"),
        VsKey::Addr { addr } => fmt_trio(addr, proto),
    }
}

/// keepalived's `inet_sockaddrtotrio`: `[IP]:proto:port`.
pub(crate) fn fmt_trio(addr: &SocketAddr, proto: Option<Protocol>) -> String {
    format!(
        "[{}]:{}:{}",
        addr.ip(),
        proto.map_or("none", Protocol::as_str),
        addr.port()
    )
}

/// Top-level keywords this module reads.
pub fn is_top_level(keyword: &str) -> bool {
    matches!(keyword, "virtual_server_group" | "virtual_server" | "SSL")
}

/// What the LVS sections may name that other sections define: those
/// defined before the section being read, as keepalived looks them up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refs<'a> {
    /// `track_file` blocks (FILE_CHECK names one).
    pub track_files: &'a [TrackFile],
    /// `bfd_instance` blocks (BFD_CHECK names one).
    pub bfd_instances: &'a [BfdInstance],
}

/// How keepalived reads the keywords of a `virtual_server` block (and,
/// below it, of real servers and their checkers).
pub fn vs_level(keyword: &str) -> Kind {
    match keyword {
        "real_server" => Kind::Block(parse::rs_level),
        _ => Kind::Leaf,
    }
}

/// Read one top-level LVS section.
pub fn parse_top_level(node: &Node, out: &mut LvsConfig, refs: &Refs<'_>, diags: &mut Diagnostics) {
    match node.keyword.as_str() {
        "virtual_server_group" => parse::parse_vsg(node, out, diags),
        "virtual_server" => parse::parse_vs(node, out, refs, diags),
        "SSL" => parse::parse_ssl(node, out, diags),
        _ => {}
    }
}

/// Cross-section checks and keepalived's post-parse validation: link
/// virtual servers to their groups, apply defaults and inheritance, drop
/// what keepalived drops.
pub fn finish(out: &mut LvsConfig, global: &GlobalDefs, diags: &mut Diagnostics) {
    validate::finish(out, global, diags);
}
