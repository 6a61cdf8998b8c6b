//! Health checkers of a real server: `TCP_CHECK`, `HTTP_GET`, `SSL_GET`,
//! `SMTP_CHECK`, `MISC_CHECK`, `DNS_CHECK`, `UDP_CHECK`, `PING_CHECK`,
//! `FILE_CHECK` and `BFD_CHECK` (keepalived/check/check_*.c).

use super::ScriptSpec;
use super::num::{self, TIMER_HZ, TIMER_MAXIMUM};
use super::parse::{Ctx, need_arg, unknown};
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use crate::model::bfd::BFD_INAME_MAX;
use crate::model::util::split_command;
use crate::model::vrrp::TrackFile;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One health checker with its settings resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checker {
    pub kind: CheckerKind,
    pub alpha: bool,
    pub delay_loop: Duration,
    pub warmup: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    /// The checker's `log_all_failures`, or global `checker_log_all_failures`.
    pub log_all_failures: bool,
    /// Where and how to connect (all kinds but `MISC_CHECK`).
    pub connection: Option<Connection>,
    pub loc: Loc,
}

/// A checker's connection options (`connect_ip`, `connect_port`,
/// `bindto`, `bind_port`, `bind_if`, `connect_timeout`, `fwmark`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Destination: the real server's address and port unless overridden.
    pub dst: SocketAddr,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub timeout: Duration,
    /// `SO_MARK` for the checker's socket (0: none).
    pub fwmark: u32,
}

/// What a checker does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckerKind {
    Tcp,
    /// `HTTP_GET`, or `SSL_GET` when `ssl`.
    Http(HttpCheck),
    Smtp(SmtpCheck),
    Misc(MiscCheck),
    Dns(DnsCheck),
    Udp(UdpCheck),
    Ping,
}

impl CheckerKind {
    /// The configuration keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(h) if h.ssl => "SSL_GET",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpProtocol {
    /// `1.0` (the default).
    #[serde(rename = "1.0")]
    Http10,
    #[serde(rename = "1.1")]
    Http11,
    /// `1.0C`: HTTP/1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10Close,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    pub ssl: bool,
    /// The checker's `virtualhost` (a url's own one wins).
    pub virtualhost: Option<String>,
    pub http_protocol: HttpProtocol,
    pub enable_sni: bool,
    pub fast_recovery: bool,
    /// At least one.
    pub urls: Vec<Url>,
}

/// An inclusive range of accepted HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRange {
    pub min: u16,
    pub max: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    pub path: String,
    /// MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// Accepted status codes, sorted and merged; 200-299 when none given.
    pub status_codes: Vec<StatusRange>,
    pub virtualhost: Option<String>,
    /// The `Host:` header name keepalived sends: the url's virtualhost, or
    /// the checker's, the real server's, the virtual server's (`None`: the
    /// destination address).
    pub request_host: Option<String>,
    /// The TLS SNI name (`SSL_GET` with `enable_sni`): the url's
    /// virtualhost, or the checker's, or the virtual server's (keepalived
    /// skips the real server's here).
    pub sni_name: Option<String>,
    pub regex: Option<UrlRegex>,
    pub loc: Loc,
}

impl Url {
    pub fn accepts(&self, code: u16) -> bool {
        self.status_codes
            .iter()
            .any(|r| code >= r.min && code <= r.max)
    }
}

/// `regex` and its options (PCRE2; compiled by the checker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlRegex {
    pub pattern: String,
    /// PCRE2 option names from `regex_options` that keepalived knows.
    pub options: Vec<String>,
    pub no_match: bool,
    pub min_offset: u64,
    /// `regex_max_offset`: the last acceptable offset (none when unset).
    pub max_offset: Option<u64>,
    /// `regex_stack START MAX`.
    pub stack: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpCheck {
    pub helo_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiscCheck {
    /// `misc_path` with `user USER [GROUP]`.
    pub script: ScriptSpec,
    /// `misc_timeout`, or the virtual server's `delay_loop`.
    pub timeout: Duration,
    pub dynamic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsType {
    A,
    Ns,
    Cname,
    Soa,
    Mx,
    Txt,
    Aaaa,
    Rrsig,
    Dnskey,
}

impl DnsType {
    pub const ALL: [DnsType; 9] = [
        DnsType::A,
        DnsType::Ns,
        DnsType::Cname,
        DnsType::Soa,
        DnsType::Mx,
        DnsType::Txt,
        DnsType::Aaaa,
        DnsType::Rrsig,
        DnsType::Dnskey,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::Ns => "NS",
            DnsType::Cname => "CNAME",
            DnsType::Soa => "SOA",
            DnsType::Mx => "MX",
            DnsType::Txt => "TXT",
            DnsType::Aaaa => "AAAA",
            DnsType::Rrsig => "RRSIG",
            DnsType::Dnskey => "DNSKEY",
        }
    }

    /// The query type code.
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsCheck {
    /// `type` (SOA by default).
    pub query_type: DnsType,
    /// `name` ("" by default: the root).
    pub name: String,
}

/// Bytes from a hex string; `mask` marks wildcard nibbles (`x`) with 1s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HexPattern {
    pub data: Vec<u8>,
    pub mask: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpCheck {
    pub payload: Option<Vec<u8>>,
    pub require_reply: bool,
    /// The reply's expected leading bytes (`require_reply HEX`).
    pub reply: Option<HexPattern>,
    pub min_reply_length: u16,
    pub max_reply_length: u16,
}

/// `FILE_CHECK { track_file NAME weight W [reverse] }`: the real server's
/// weight follows a top-level `track_file` (one defined before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheck {
    pub track_file: String,
    /// The tracked file's path (from the `track_file` block).
    pub path: String,
    /// The FILE_CHECK's weight, or the `track_file` block's.
    pub weight: i32,
    pub reverse: bool,
    pub loc: Loc,
}

/// `BFD_CHECK { name NAME alpha }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdCheck {
    pub name: String,
    pub alpha: Option<bool>,
    pub loc: Loc,
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// A checker as read, before inheritance is resolved.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawChecker {
    pub kind: CheckerKind,
    pub alpha: Option<bool>,
    pub delay_loop: Option<u64>,
    pub warmup: Option<u64>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<u64>,
    pub log_all_failures: bool,
    pub conn: Option<RawConn>,
    pub default_retry: u32,
    /// `None`: defaults to the delay loop (DNS_CHECK).
    pub default_delay_before_retry: Option<u64>,
    /// MISC_CHECK's `misc_timeout` (0: the virtual server's delay_loop).
    pub misc_timeout: u64,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawConn {
    pub dst: SocketAddr,
    /// `connect_ip` or `connect_port` given (SMTP_CHECK's host handling).
    pub dst_set: bool,
    /// The destination has an address family (SMTP_CHECK's main connection
    /// has none until `connect_ip`).
    pub family_known: bool,
    pub port_set: bool,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub timeout: Option<u64>,
    pub fwmark: u32,
}

impl RawConn {
    fn new(dst: SocketAddr) -> Self {
        RawConn {
            dst,
            dst_set: false,
            family_known: true,
            port_set: false,
            bindto: None,
            bind_port: None,
            bind_if: None,
            timeout: None,
            fwmark: 0,
        }
    }

    fn anything_set(&self) -> bool {
        self.dst_set
            || self.port_set
            || self.bindto.is_some()
            || self.bind_port.is_some()
            || self.bind_if.is_some()
            || self.fwmark != 0
            || self.timeout.is_some()
    }

    pub fn resolve(&self, default_timeout: u64) -> Connection {
        Connection {
            dst: self.dst,
            bindto: self.bindto,
            bind_port: self.bind_port,
            bind_if: self.bind_if.clone(),
            timeout: num::micros(self.timeout.unwrap_or(default_timeout)),
            fwmark: self.fwmark,
        }
    }
}

/// What a real server collected from its checker blocks.
#[derive(Debug, Default)]
pub(super) struct Collected {
    pub checkers: Vec<RawChecker>,
    pub file_checks: Vec<FileCheck>,
    pub bfd_checks: Vec<BfdCheck>,
}

pub(super) fn is_checker(keyword: &str) -> bool {
    matches!(
        keyword,
        "TCP_CHECK"
            | "HTTP_GET"
            | "SSL_GET"
            | "SMTP_CHECK"
            | "MISC_CHECK"
            | "DNS_CHECK"
            | "UDP_CHECK"
            | "PING_CHECK"
            | "FILE_CHECK"
            | "BFD_CHECK"
    )
}

/// Read one checker block of a real server.
pub(super) fn parse_checker(
    node: &Node,
    ctx: &Ctx<'_>,
    out: &mut Collected,
    diags: &mut Diagnostics,
) {
    match node.keyword.as_str() {
        "FILE_CHECK" => parse_file_check(node, ctx, out, diags),
        "BFD_CHECK" => parse_bfd_check(node, ctx, out, diags),
        "MISC_CHECK" => {
            if let Some(c) = parse_misc(node, diags) {
                out.checkers.push(c);
            }
        }
        "SMTP_CHECK" => parse_smtp(node, ctx, out, diags),
        kw => {
            let (kind, default_dbr) = match kw {
                "TCP_CHECK" => (CheckerKind::Tcp, Some(TIMER_HZ)),
                "HTTP_GET" | "SSL_GET" => (
                    CheckerKind::Http(HttpCheck {
                        ssl: kw == "SSL_GET",
                        virtualhost: None,
                        http_protocol: HttpProtocol::Http10,
                        enable_sni: false,
                        fast_recovery: false,
                        urls: Vec::new(),
                    }),
                    Some(3 * TIMER_HZ),
                ),
                "DNS_CHECK" => (
                    CheckerKind::Dns(DnsCheck {
                        query_type: DnsType::Soa,
                        name: String::new(),
                    }),
                    None,
                ),
                "UDP_CHECK" => (
                    CheckerKind::Udp(UdpCheck {
                        payload: None,
                        require_reply: false,
                        reply: None,
                        min_reply_length: 0,
                        max_reply_length: u16::from(u8::MAX),
                    }),
                    Some(TIMER_HZ),
                ),
                _ => (CheckerKind::Ping, Some(TIMER_HZ)),
            };
            let mut c = new_raw(kind, node, Some(RawConn::new(ctx.rs_addr)));
            c.default_delay_before_retry = default_dbr;
            if matches!(c.kind, CheckerKind::Dns(_)) {
                c.default_retry = 3;
            }
            let mut dns_name_set = false;
            for child in node.children() {
                if common_keyword(child, &mut c, diags) {
                    continue;
                }
                if child.keyword == "nb_get_retry" && matches!(c.kind, CheckerKind::Http(_)) {
                    nb_get_retry(child, &mut c, diags);
                    continue;
                }
                match &mut c.kind {
                    CheckerKind::Http(h) => {
                        if !http_keyword(child, h, diags) {
                            unknown(child, diags);
                        }
                    }
                    CheckerKind::Dns(d) => {
                        if !dns_keyword(child, d, &mut dns_name_set, diags) {
                            unknown(child, diags);
                        }
                    }
                    CheckerKind::Udp(u) => {
                        if !udp_keyword(child, u, diags) {
                            unknown(child, diags);
                        }
                    }
                    _ => unknown(child, diags),
                }
            }
            // End of block.
            if let CheckerKind::Http(h) = &c.kind
                && h.urls.is_empty()
            {
                diags.warn(
                    &node.close_loc(),
                    "HTTP/SSL_GET checker has no urls specified - ignoring",
                );
                return;
            }
            if !check_conn(c.conn.as_ref(), &node.close_loc(), diags) {
                return;
            }
            if let CheckerKind::Udp(u) = &c.kind
                && u.min_reply_length > u.max_reply_length
            {
                diags.warn(
                    &node.close_loc(),
                    format!(
                        "UDP_CHECK min_reply length {} > max_reply_length {} - will always fail",
                        u.min_reply_length, u.max_reply_length
                    ),
                );
            }
            out.checkers.push(c);
        }
    }
}

fn new_raw(kind: CheckerKind, node: &Node, conn: Option<RawConn>) -> RawChecker {
    RawChecker {
        kind,
        alpha: None,
        delay_loop: None,
        warmup: None,
        retry: None,
        delay_before_retry: None,
        log_all_failures: false,
        conn,
        default_retry: 1,
        default_delay_before_retry: Some(TIMER_HZ),
        misc_timeout: 0,
        loc: node.loc.clone(),
    }
}

/// keepalived's `check_conn_opts`: a link-local IPv6 destination needs
/// `bind_if`.
fn check_conn(conn: Option<&RawConn>, loc: &Loc, diags: &mut Diagnostics) -> bool {
    let Some(co) = conn else { return true };
    if let IpAddr::V6(a) = co.dst.ip()
        && (a.segments()[0] & 0xffc0) == 0xfe80
        && co.bind_if.is_none()
    {
        diags.warn(
            loc,
            format!("Checker link local address {a} requires a bind_if"),
        );
        return false;
    }
    true
}

/// Connection keywords (`install_checker_common_keywords(true)`); the
/// connection is `conn` (a SMTP host block has its own).
fn conn_keyword(node: &Node, co: &mut RawConn, diags: &mut Diagnostics) -> bool {
    let loc = &node.loc;
    match node.keyword.as_str() {
        "connect_ip" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::parse_ip(a) {
                None => diags.warn(loc, format!("Invalid connect_ip address {a} - ignoring")),
                Some(ip) => {
                    if co.bindto.is_some_and(|b| b.is_ipv4() != ip.is_ipv4()) {
                        // keepalived leaves the destination without an
                        // address family; the real server's stays here.
                        diags.warn(
                            loc,
                            format!(
                                "connect_ip address {a} does not match address family of bindto - skipping"
                            ),
                        );
                    } else {
                        co.dst = SocketAddr::new(ip, co.dst.port());
                        co.dst_set = true;
                    }
                }
            }
        }
        "connect_port" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_unsigned(loc, a, 1, 65535, diags) {
                Some(p) => {
                    co.dst.set_port(p as u16);
                    co.port_set = true;
                }
                None => diags.warn(loc, format!("Invalid checker connect_port '{a}'")),
            }
        }
        "bindto" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::parse_ip(a) {
                None => diags.warn(loc, format!("Invalid bindto address {a} - ignoring")),
                Some(ip) => {
                    if (co.dst_set || co.family_known) && co.dst.is_ipv4() != ip.is_ipv4() {
                        diags.warn(
                            loc,
                            format!(
                                "bindto address {a} does not match address family of connect_ip - skipping"
                            ),
                        );
                        co.bindto = None;
                    } else {
                        co.bindto = Some(ip);
                    }
                }
            }
        }
        "bind_port" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_unsigned(loc, a, 1, 65535, diags) {
                Some(p) => co.bind_port = Some(p as u16),
                None => diags.warn(loc, format!("Invalid checker bind_port '{a}'")),
            }
        }
        "bind_if" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            // IFNAMSIZ - 1
            if a.len() > 15 {
                diags.warn(loc, format!("Interface name {a} is too long - ignoring"));
            } else {
                co.bind_if = Some(a.to_string());
            }
        }
        "connect_timeout" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_timer(loc, a, 1, u64::from(u32::MAX), diags) {
                Some(t) => co.timeout = Some(t),
                None => diags.warn(loc, format!("connect_timeout {a} invalid - ignoring")),
            }
        }
        "fwmark" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_unsigned(loc, a, 0, u64::from(u32::MAX), diags) {
                Some(m) => co.fwmark = m as u32,
                None => diags.warn(loc, format!("Invalid fwmark connection value '{a}'")),
            }
        }
        _ => return false,
    }
    true
}

/// Keywords every checker but FILE/BFD has; connection ones when it has a
/// connection.
fn common_keyword(node: &Node, c: &mut RawChecker, diags: &mut Diagnostics) -> bool {
    if let Some(co) = c.conn.as_mut()
        && conn_keyword(node, co, diags)
    {
        return true;
    }
    let loc = &node.loc;
    match node.keyword.as_str() {
        "retry" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_unsigned(loc, a, 0, u64::from(u32::MAX), diags) {
                Some(v) => c.retry = Some(v as u32),
                None => diags.warn(loc, format!("Invalid retry connection value '{a}'")),
            }
        }
        "delay_before_retry" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_timer(loc, a, 0, TIMER_MAXIMUM, diags) {
                Some(v) => c.delay_before_retry = Some(v),
                None => diags.warn(
                    loc,
                    format!("Invalid delay_before_retry connection value '{a}'"),
                ),
            }
        }
        "warmup" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_timer(loc, a, 0, TIMER_MAXIMUM, diags) {
                Some(v) => c.warmup = Some(v),
                None => diags.warn(loc, format!("Invalid warmup connection value '{a}'")),
            }
        }
        "delay_loop" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match num::read_timer(loc, a, 1, TIMER_MAXIMUM, diags) {
                Some(v) => c.delay_loop = Some(v),
                None => diags.warn(loc, format!("delay_loop '{a}' is invalid - ignoring")),
            }
        }
        "alpha" => {
            if let Some(v) = opt_bool(node, "alpha", diags) {
                c.alpha = Some(v);
            }
        }
        "log_all_failures" => {
            if let Some(v) = opt_bool(node, "log_all_failures", diags) {
                c.log_all_failures = v;
            }
        }
        _ => return false,
    }
    true
}

/// An optional `true|false` argument (absent means true), keepalived's
/// wording on a bad one: `Invalid NAME parameter X`.
pub(super) fn opt_bool(node: &Node, name: &str, diags: &mut Diagnostics) -> Option<bool> {
    match node.arg(0) {
        None => Some(true),
        Some(a) => match num::true_false(a) {
            Some(v) => Some(v),
            None => {
                diags.warn(&node.loc, format!("Invalid {name} parameter {a}"));
                None
            }
        },
    }
}

fn http_keyword(node: &Node, h: &mut HttpCheck, diags: &mut Diagnostics) -> bool {
    let loc = &node.loc;
    match node.keyword.as_str() {
        "virtualhost" => match node.arg(0) {
            None => diags.warn(loc, "HTTP_GET virtualhost name missing"),
            Some(v) => h.virtualhost = Some(v.to_string()),
        },
        "http_protocol" => match node.arg(0) {
            None => diags.warn(loc, "Missing http_protocol version"),
            Some("1.0") => h.http_protocol = HttpProtocol::Http10,
            Some("1.1") => h.http_protocol = HttpProtocol::Http11,
            Some("1.0C" | "1.0c") => h.http_protocol = HttpProtocol::Http10Close,
            Some(v) => diags.warn(loc, format!("Invalid http_protocol version {v}")),
        },
        "enable_sni" => {
            if let Some(v) = opt_bool(node, "enable_sni", diags) {
                h.enable_sni = v;
            }
        }
        "fast_recovery" => {
            if let Some(v) = opt_bool(node, "fast_recovery", diags) {
                h.fast_recovery = v;
            }
        }
        "url" => {
            if let Some(u) = parse_url(node, diags) {
                h.urls.push(u);
            }
        }
        _ => return false,
    }
    true
}

/// keepalived's PCRE2 option names for `regex_options`.
const REGEX_OPTIONS: [&str; 24] = [
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

fn parse_url(node: &Node, diags: &mut Diagnostics) -> Option<Url> {
    let mut path: Option<String> = None;
    let mut digest: Option<[u8; 16]> = None;
    let mut codes = [false; 500];
    let mut virtualhost = None;
    let mut pattern: Option<String> = None;
    let mut options: Vec<String> = Vec::new();
    let mut no_match = false;
    let mut min_offset = 0u64;
    let mut max_offset = 0u64; // one beyond the last acceptable offset
    let mut stack = None;
    let mut notices: Vec<String> = Vec::new();
    for child in node.children() {
        let loc = &child.loc;
        match child.keyword.as_str() {
            "path" => {
                if let Some(a) = need_arg(child, diags) {
                    path = Some(a.to_string());
                }
            }
            "digest" => {
                let Some(a) = need_arg(child, diags) else {
                    continue;
                };
                if digest.is_some() {
                    diags.warn(loc, format!("Digest '{a}' is a duplicate"));
                } else if a.len() != 32 {
                    diags.warn(
                        loc,
                        format!(
                            "digest '{a}' character length should be 32 rather than {}",
                            a.len()
                        ),
                    );
                } else {
                    match parse_digest(a) {
                        Ok(d) => digest = Some(d),
                        Err(i) => diags.warn(
                            loc,
                            format!(
                                "Unable to interpret hex digit in '{a}' at offset {}/{}",
                                2 * i,
                                2 * i + 1
                            ),
                        ),
                    }
                }
            }
            "status_code" => {
                for a in &child.args {
                    match parse_status(a) {
                        Some((lo, hi)) => {
                            for c in lo..=hi {
                                codes[usize::from(c - 100)] = true;
                            }
                        }
                        None => diags.warn(loc, format!("Invalid HTTP_GET status code '{a}'")),
                    }
                }
            }
            "virtualhost" => match child.arg(0) {
                None => diags.warn(loc, "Missing HTTP_GET virtualhost name"),
                Some(v) => virtualhost = Some(v.to_string()),
            },
            "regex" => {
                if child.args.len() == 1 {
                    pattern = Some(child.args[0].clone());
                } else {
                    notices.push("regex missing or too many fields".into());
                }
            }
            "regex_no_match" => no_match = true,
            "regex_options" => {
                for a in &child.args {
                    if REGEX_OPTIONS.contains(&a.as_str()) && !options.contains(a) {
                        options.push(a.clone());
                    }
                }
            }
            "regex_min_offset" => {
                min_offset = regex_offset(child, "min", &mut notices);
            }
            "regex_max_offset" => {
                max_offset = regex_offset(child, "max", &mut notices) + 1;
            }
            "regex_stack" => {
                if child.args.len() != 2 {
                    notices.push("regex_stack requires start and max values".into());
                } else {
                    match (child.args[0].parse::<u64>(), child.args[1].parse::<u64>()) {
                        (Err(_), _) => notices.push("regex_stack invalid start value".into()),
                        (_, Err(_)) => notices.push("regex_stack invalid max value".into()),
                        (Ok(s), Ok(m)) if s > m => {
                            notices.push("regex stack start cannot exceed max value".into());
                        }
                        (Ok(s), Ok(m)) => stack = Some((s, m)),
                    }
                }
            }
            _ => unknown(child, diags),
        }
    }
    // The regex notices are INFO logs in keepalived; they are not
    // configuration errors, so they are not diagnostics.
    let _ = notices;
    let Some(path) = path else {
        diags.warn(
            &node.close_loc(),
            "HTTP/SSL_GET checker url has no path - ignoring",
        );
        return None;
    };
    if !codes.iter().any(|c| *c) {
        for c in &mut codes[100..200] {
            *c = true;
        }
    }
    let regex = match pattern {
        Some(pattern) => {
            let max = if max_offset != 0 && min_offset >= max_offset {
                min_offset = 0;
                None
            } else if max_offset != 0 {
                Some(max_offset - 1)
            } else {
                None
            };
            Some(UrlRegex {
                pattern,
                options,
                no_match,
                min_offset,
                max_offset: max,
                stack,
            })
        }
        None => None,
    };
    Some(Url {
        path,
        digest,
        status_codes: ranges(&codes),
        virtualhost,
        request_host: None,
        sni_name: None,
        regex,
        loc: node.loc.clone(),
    })
}

fn regex_offset(node: &Node, kind: &str, notices: &mut Vec<String>) -> u64 {
    if node.args.len() != 1 {
        notices.push(format!(
            "Missing or too may options for regex_{kind}_offset"
        ));
        return 0;
    }
    match node.args[0].parse::<u64>() {
        Ok(v) => v,
        Err(_) => {
            notices.push(format!(
                "Invalid regex_{kind}_offset {} specified",
                node.args[0]
            ));
            0
        }
    }
}

fn ranges(codes: &[bool; 500]) -> Vec<StatusRange> {
    let mut out: Vec<StatusRange> = Vec::new();
    for (i, on) in codes.iter().enumerate() {
        if !on {
            continue;
        }
        let code = 100 + i as u16;
        match out.last_mut() {
            Some(r) if r.max + 1 == code => r.max = code,
            _ => out.push(StatusRange {
                min: code,
                max: code,
            }),
        }
    }
    out
}

/// `N` or `N-M` within 100-599, read with `strtoul` as keepalived reads
/// them (leading blanks and a `+` accepted).
fn parse_status(s: &str) -> Option<(u16, u16)> {
    fn read(s: &str) -> (u64, &str) {
        match num::strtou(s, 10) {
            (false, Some(v), rest) => (v, rest),
            (_, _, rest) => (u64::MAX, rest),
        }
    }
    let (min, rest) = read(s);
    let (max, rest) = match rest.strip_prefix('-') {
        Some(r) => read(r),
        None => (min, rest),
    };
    if !rest.is_empty() || !(100..=599).contains(&min) || !(100..=599).contains(&max) || min > max {
        return None;
    }
    Some((min as u16, max as u16))
}

/// 32 hex digits as 16 bytes; on failure the index of the bad pair, found
/// from the end as keepalived scans.
fn parse_digest(s: &str) -> Result<[u8; 16], usize> {
    let b = s.as_bytes();
    let mut out = [0u8; 16];
    for i in (0..16).rev() {
        let pair = &b[2 * i..2 * i + 2];
        let hi = (pair[0] as char).to_digit(16);
        let lo = (pair[1] as char).to_digit(16);
        match (hi, lo) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return Err(i),
        }
    }
    Ok(out)
}

fn dns_keyword(
    node: &Node,
    d: &mut DnsCheck,
    name_set: &mut bool,
    diags: &mut Diagnostics,
) -> bool {
    let loc = &node.loc;
    match node.keyword.as_str() {
        "type" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            match DnsType::ALL
                .into_iter()
                .find(|t| t.label().eq_ignore_ascii_case(a))
            {
                Some(t) => d.query_type = t,
                None => diags.warn(loc, format!("Unknown DNS check type {a} - ignoring")),
            }
        }
        "name" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            if *name_set {
                diags.warn(loc, "DNS_CHECK name already specified - ignoring");
            } else if (a.starts_with('.') && a.len() > 1) || a.contains("..") {
                diags.warn(
                    loc,
                    format!("DNS_CHECK name '{a}' has empty label - ignoring"),
                );
            } else {
                d.name = a.to_string();
                *name_set = true;
            }
        }
        _ => return false,
    }
    true
}

/// keepalived's `read_hex_str`: hex digits, optionally separated by blanks
/// (a lone digit before a blank is one byte); with `wildcards`, `x`/`X`
/// nibbles match anything. `None` when invalid or empty.
fn read_hex(s: &str, wildcards: bool) -> Option<HexPattern> {
    fn nibble(c: u8, wild: bool) -> Option<Option<u8>> {
        let c = if c >= b'a' { c - (b'a' - b'A') } else { c };
        match c {
            b'0'..=b'9' => Some(Some(c - b'0')),
            b'A'..=b'F' => Some(Some(c - b'A' + 10)),
            b'X' if wild => Some(None),
            _ => None,
        }
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut data = Vec::new();
    let mut mask = Vec::new();
    let mut using_mask = false;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let first = nibble(b[i], wildcards)?;
        i += 1;
        let (mut val, mut m) = match first {
            Some(v) => (v, 0u8),
            None => {
                using_mask = true;
                (0, 0x0f)
            }
        };
        if i < b.len() && b[i] != b' ' {
            let second = nibble(b[i], wildcards)?;
            i += 1;
            val <<= 4;
            m <<= 4;
            match second {
                Some(v) => val |= v,
                None => {
                    using_mask = true;
                    m |= 0x0f;
                }
            }
        }
        data.push(val);
        mask.push(m);
    }
    if data.is_empty() {
        return None;
    }
    Some(HexPattern {
        data,
        mask: using_mask.then_some(mask),
    })
}

fn udp_keyword(node: &Node, u: &mut UdpCheck, diags: &mut Diagnostics) -> bool {
    let loc = &node.loc;
    match node.keyword.as_str() {
        "payload" => {
            if node.args.is_empty() {
                diags.warn(loc, "UDP_CHECK payload requires a payload");
            } else {
                match read_hex(&node.args.join(" "), false) {
                    Some(p) => u.payload = Some(p.data),
                    None => diags.warn(loc, "Invalid hex string for UDP_CHECK payload"),
                }
            }
        }
        "require_reply" => {
            u.require_reply = true;
            if !node.args.is_empty() {
                match read_hex(&node.args.join(" "), true) {
                    Some(p) => u.reply = Some(p),
                    None => diags.warn(loc, "Invalid hex string for UDP_CHECK reply"),
                }
            }
        }
        "min_reply_length" | "max_reply_length" => {
            let Some(a) = need_arg(node, diags) else {
                return true;
            };
            let which = if node.keyword == "min_reply_length" {
                "min"
            } else {
                "max"
            };
            match num::read_unsigned(loc, a, 0, u64::from(u16::MAX), diags) {
                Some(v) if which == "min" => u.min_reply_length = v as u16,
                Some(v) => u.max_reply_length = v as u16,
                None => diags.warn(
                    loc,
                    format!(
                        "UDP_CHECK {which} length {a} not valid - must be between 0 & {}",
                        u16::MAX
                    ),
                ),
            }
        }
        _ => return false,
    }
    true
}

fn parse_misc(node: &Node, diags: &mut Diagnostics) -> Option<RawChecker> {
    let mut c = new_raw(
        CheckerKind::Misc(MiscCheck {
            script: ScriptSpec {
                argv: Vec::new(),
                user: None,
                group: None,
                loc: node.loc.clone(),
            },
            timeout: Duration::ZERO,
            dynamic: false,
        }),
        node,
        None,
    );
    c.default_retry = 0;
    let mut argv: Vec<String> = Vec::new();
    let mut script_loc = node.loc.clone();
    let mut user: Option<(String, Option<String>)> = None;
    let mut dynamic = false;
    for child in node.children() {
        if common_keyword(child, &mut c, diags) {
            continue;
        }
        let loc = &child.loc;
        match child.keyword.as_str() {
            "misc_path" => {
                if let Some(a) = child.arg(0) {
                    match split_command(a) {
                        Ok(words) => {
                            argv = words;
                            script_loc = loc.clone();
                        }
                        Err(e) => diags.warn(loc, e),
                    }
                }
            }
            "misc_timeout" => {
                let Some(a) = need_arg(child, diags) else {
                    continue;
                };
                match num::read_unsigned(loc, a, 0, u64::from(u32::MAX) / TIMER_HZ, diags) {
                    Some(v) => c.misc_timeout = v * TIMER_HZ,
                    None => diags.warn(loc, format!("Invalid misc_timeout value '{a}'")),
                }
            }
            "misc_dynamic" => dynamic = true,
            "user" => match child.arg(0) {
                None => diags.warn(
                    loc,
                    format!(
                        "No user specified for misc checker script {}",
                        argv.join(" ")
                    ),
                ),
                Some(u) => user = Some((u.to_string(), child.arg(1).map(str::to_string))),
            },
            _ => unknown(child, diags),
        }
    }
    if argv.is_empty() {
        diags.warn(
            &node.close_loc(),
            "No script path has been specified for MISC_CHECKER - skipping",
        );
        return None;
    }
    let (user, group) = match user {
        Some((u, g)) => (Some(u), g),
        None => (None, None),
    };
    c.kind = CheckerKind::Misc(MiscCheck {
        script: ScriptSpec {
            argv,
            user,
            group,
            loc: script_loc,
        },
        timeout: Duration::ZERO,
        dynamic,
    });
    Some(c)
}

fn parse_smtp(node: &Node, ctx: &Ctx<'_>, out: &mut Collected, diags: &mut Diagnostics) {
    // keepalived starts the main connection with no address so it can
    // tell whether anything was configured.
    let mut c = new_raw(
        CheckerKind::Smtp(SmtpCheck {
            helo_name: String::new(),
        }),
        node,
        Some(RawConn {
            family_known: false,
            ..RawConn::new(ctx.rs_addr)
        }),
    );
    let mut helo: Option<String> = None;
    let mut hosts: Vec<(RawConn, Loc)> = Vec::new();
    for child in node.children() {
        match child.keyword.as_str() {
            "helo_name" => match child.arg(0) {
                None => diags.warn(&child.loc, "SMTP_CHECK helo name missing"),
                Some(h) => helo = Some(h.to_string()),
            },
            "host" => {
                let mut co = RawConn::new(ctx.rs_addr);
                // A host's connect_timeout defaults to 0, not to the real
                // server's (keepalived allocates it zeroed).
                co.timeout = Some(0);
                for g in child.children() {
                    if conn_keyword(g, &mut co, diags) {
                        continue;
                    }
                    // Checker-level keywords in a host block apply to the
                    // SMTP checker itself.
                    let main = c.conn.take();
                    let handled = common_keyword(g, &mut c, diags);
                    c.conn = main;
                    if !handled {
                        unknown(g, diags);
                    }
                }
                if check_conn(Some(&co), &child.close_loc(), diags) {
                    hosts.push((co, child.loc.clone()));
                }
            }
            _ => {
                if !common_keyword(child, &mut c, diags) {
                    unknown(child, diags);
                }
            }
        }
    }
    let helo_name = helo.unwrap_or_else(|| "smtpchecker.keepalived.org".to_string());
    c.kind = CheckerKind::Smtp(SmtpCheck {
        helo_name: helo_name.clone(),
    });
    // The real server's (or virtual server's) connect_timeout as it stands
    // at the end of this block.
    let conn_to = ctx.rs_connect_timeout.unwrap_or(ctx.vs_connect_timeout);
    let main_co = c.conn.take().unwrap_or_else(|| RawConn::new(ctx.rs_addr));
    let mut result: Vec<RawChecker> = Vec::new();
    if main_co.anything_set() || hosts.is_empty() {
        if !check_conn(Some(&main_co), &node.close_loc(), diags) {
            return;
        }
        let mut m = c.clone();
        let mut co = main_co;
        co.timeout = Some(co.timeout.unwrap_or(conn_to));
        m.conn = Some(co);
        result.push(m);
    }
    // Otherwise the first host takes the place of the main connection.
    for (co, loc) in hosts {
        let mut h = c.clone();
        h.conn = Some(co);
        h.loc = loc;
        result.push(h);
    }
    out.checkers.extend(result);
}

fn parse_file_check(node: &Node, ctx: &Ctx<'_>, out: &mut Collected, diags: &mut Diagnostics) {
    let mut file: Option<&TrackFile> = None;
    let mut weight: Option<(i32, bool)> = None;
    for child in node.children() {
        let loc = &child.loc;
        match child.keyword.as_str() {
            "track_file" => {
                let Some(a) = need_arg(child, diags) else {
                    continue;
                };
                match ctx.track_files.iter().find(|t| t.name == a) {
                    Some(t) => file = Some(t),
                    None => diags.warn(loc, format!("track_file {a} not found")),
                }
            }
            "weight" => {
                let Some(a) = child.arg(0) else {
                    diags.warn(loc, "track file weight missing");
                    continue;
                };
                let lim = i64::from(i32::MAX);
                let Some(w) = num::read_int(loc, a, -lim, lim, diags) else {
                    diags.warn(
                        loc,
                        format!(
                            "weight for track file must be in [{}..{}] inclusive. Ignoring...",
                            -lim, lim
                        ),
                    );
                    continue;
                };
                let rev = match child.arg(1) {
                    None | Some("noreverse") => false,
                    Some("reverse") => true,
                    Some(o) => {
                        diags.warn(
                            loc,
                            format!("unknown track file weight option {o} - ignoring"),
                        );
                        continue;
                    }
                };
                weight = Some((w as i32, rev));
            }
            _ => unknown(child, diags),
        }
    }
    match file {
        Some(t) => {
            let (weight, reverse) = weight.unwrap_or((t.weight, t.weight_reverse));
            out.file_checks.push(FileCheck {
                track_file: t.name.clone(),
                path: t.path.clone(),
                weight,
                reverse,
                loc: node.loc.clone(),
            });
        }
        None => diags.warn(
            &node.close_loc(),
            "FILE_CHECK has no track_file specified - ignoring",
        ),
    }
}

fn parse_bfd_check(node: &Node, ctx: &Ctx<'_>, out: &mut Collected, diags: &mut Diagnostics) {
    let mut name: Option<String> = None;
    let mut alpha = None;
    // keepalived drops the checker at its first bad `name`; the block's
    // other lines are still read (unknown keywords reported) but change
    // nothing.
    let mut dropped = false;
    for child in node.children() {
        let loc = &child.loc;
        match child.keyword.as_str() {
            "name" if dropped => {}
            "name" => {
                let rs = &ctx.rs_name;
                let problem = if child.args.len() != 1 {
                    Some(format!(
                        "({rs}) BFD_CHECK - No or too many names specified - skipping checker"
                    ))
                } else {
                    let n = &child.args[0];
                    if !ctx.bfd_instances.iter().any(|b| b.checker && &b.name == n) {
                        Some(format!("({rs}) BFD_CHECK - BFD {n} not configured"))
                    } else if let Some(prev) = &name {
                        Some(format!(
                            "({rs}) BFD_CHECK - BFD {n} already specified as {prev}"
                        ))
                    } else if n.len() >= BFD_INAME_MAX {
                        Some(format!("({rs}) BFD_CHECK - BFD name {n} too long"))
                    } else if out.bfd_checks.iter().any(|b| &b.name == n) {
                        Some(format!("({rs}) BFD_CHECK - RS already monitoring {n}"))
                    } else {
                        None
                    }
                };
                match problem {
                    Some(msg) => {
                        diags.warn(loc, msg);
                        dropped = true;
                    }
                    None => name = Some(child.args[0].clone()),
                }
            }
            "alpha" if dropped => {}
            "alpha" => {
                if let Some(v) = opt_bool(child, "alpha", diags) {
                    alpha = Some(v);
                }
            }
            _ => unknown(child, diags),
        }
    }
    if dropped {
        return;
    }
    match name {
        Some(name) => out.bfd_checks.push(BfdCheck {
            name,
            alpha,
            loc: node.loc.clone(),
        }),
        None => diags.warn(
            &node.close_loc(),
            format!(
                "({}) No name has been specified for BFD_CHECKER - skipping",
                ctx.rs_name
            ),
        ),
    }
}

/// Handle the deprecated `nb_get_retry` of HTTP_GET/SSL_GET: keepalived
/// warns, then takes it as `retry`.
pub(super) fn nb_get_retry(node: &Node, c: &mut RawChecker, diags: &mut Diagnostics) {
    diags.warn(&node.loc, "nb_get_retry is deprecated - please use 'retry'");
    let Some(a) = need_arg(node, diags) else {
        return;
    };
    match num::read_unsigned(&node.loc, a, 0, u64::from(u32::MAX), diags) {
        Some(v) => c.retry = Some(v as u32),
        None => diags.warn(&node.loc, format!("Invalid nb_get_retry value '{a}'")),
    }
}
