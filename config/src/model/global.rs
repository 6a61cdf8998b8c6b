//! `global_defs`, as keepalived 2.2.7's `core/global_parser.c` reads it.
//!
//! Values keepalived derives from the running machine (the default
//! `router_id` is the host name, the default `notification_email_from` is
//! `user@host`) are left `None` here: the parent resolves them.

use super::relevel::Kind;
use super::util::{
    self, ScriptSpec, TIMER_HZ, TIMER_HZ_DIGITS, arg_or_missing, micros, parse_bool_word,
    read_decimal, read_int, read_unsigned,
};
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum VrrpVersion {
    #[default]
    V2,
    V3,
}

impl VrrpVersion {
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// `smtp_server ADDR|NAME [PORT]`. A name is resolved by whoever sends mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpServer {
    pub host: SmtpHost,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmtpHost {
    Ip(IpAddr),
    Name(String),
}

/// A `notify_fifo` / `vrrp_notify_fifo` / `lvs_notify_fifo` and its
/// `*_script`. keepalived appends the FIFO path to the script's arguments
/// when it runs it; `script.argv` here is as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifo {
    pub path: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub script: Option<ScriptSpec>,
    pub loc: Option<Loc>,
}

impl NotifyFifo {
    pub fn is_set(&self) -> bool {
        self.path.is_some()
    }
}

/// `lvs_flush_on_stop [VS]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LvsFlushOnStop {
    #[default]
    None,
    /// Everything (no argument).
    Full,
    /// Only the virtual servers keepalived configured (`VS`).
    Vs,
}

/// `lvs_timeouts tcp N tcpfin N udp N` (seconds; `None` = leave as is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsTimeouts {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}

/// `lvs_sync_daemon IFNAME [inst VRRP_INSTANCE] [id SYNCID] [maxlen N]
/// [port N] [ttl N] [group ADDR]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    /// The VRRP instance whose state drives the sync daemon.
    pub instance: Option<String>,
    /// Defaults to the instance's virtual_router_id (resolved by
    /// `vrrp::finish`), else 0.
    pub syncid: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` / `smtp_alert_vrrp` / `smtp_alert_checker`; `None` =
    /// not configured (instances then alert only if they say so).
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    pub checker_log_all_failures: bool,

    /// `script_user USER [GROUP]`: default user for scripts that name none
    /// (keepalived's own default is `keepalived_script`, else root).
    pub script_user: Option<String>,
    pub script_group: Option<String>,
    pub enable_script_security: bool,
    pub startup_script: Option<ScriptSpec>,
    pub startup_script_timeout: Option<Duration>,
    pub shutdown_script: Option<ScriptSpec>,
    pub shutdown_script_timeout: Option<Duration>,

    pub process_name: Option<String>,
    pub vrrp_process_name: Option<String>,
    pub checker_process_name: Option<String>,
    pub bfd_process_name: Option<String>,
    /// `max_auto_priority [N]` (-1 disables; no value = SCHED_RR maximum).
    pub max_auto_priority: Option<i32>,

    pub dynamic_interfaces: bool,
    pub allow_if_changes: bool,
    pub default_interface: Option<String>,

    pub vrrp_strict: bool,
    pub vrrp_version: VrrpVersion,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    pub vrrp_garp_master_delay: Duration,
    pub vrrp_garp_master_repeat: u32,
    pub vrrp_garp_master_refresh: Duration,
    pub vrrp_garp_master_refresh_repeat: u32,
    /// Unset: instances default to `vrrp_garp_master_delay` / `_repeat`.
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// Delay between gratuitous ARPs / unsolicited NAs on one interface.
    pub vrrp_garp_interval: Option<Duration>,
    pub vrrp_gna_interval: Option<Duration>,
    /// `vrrp_garp_extra_if [all] SECS` (formerly `vrrp_vmac_garp_intvl`):
    /// instances that set no `garp_extra_if` send a gratuitous ARP / NA
    /// this often on the VMACs (with `all`: every interface) of their VIPs
    /// other than their own interface, while MASTER.
    pub vrrp_garp_extra_if: Option<Duration>,
    pub vrrp_garp_extra_if_all: bool,
    /// `nftables [TABLE]`, `nftables_priority`, `nftables_ifindex`,
    /// `nftables_counters`: keepalived's nftables table name (both
    /// families), its base chains' priority, IPv6 link-local VIPs of
    /// `dont_track_primary` instances keyed by interface index rather than
    /// name, and a counter in every rule.
    pub nftables: NftablesOptions,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_startup_delay: Option<Duration>,
    pub vrrp_notify_priority_changes: bool,
    /// `log_unknown_vrids`: log adverts whose VRID no instance has.
    pub log_unknown_vrids: bool,

    pub notify_fifo: NotifyFifo,
    pub vrrp_notify_fifo: NotifyFifo,
    pub lvs_notify_fifo: NotifyFifo,

    pub lvs_flush: bool,
    pub lvs_flush_on_stop: LvsFlushOnStop,
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub rs_init_notifies: bool,
    pub no_checker_emails: bool,
    /// keepalived-rs only: `metrics_listen ADDR:PORT`, where Prometheus
    /// metrics are served (path /metrics). keepalived 2.2.7 warns
    /// "Unknown keyword" for it and runs on.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            checker_log_all_failures: false,
            script_user: None,
            script_group: None,
            enable_script_security: false,
            startup_script: None,
            startup_script_timeout: None,
            shutdown_script: None,
            shutdown_script_timeout: None,
            process_name: None,
            vrrp_process_name: None,
            checker_process_name: None,
            bfd_process_name: None,
            max_auto_priority: None,
            dynamic_interfaces: false,
            allow_if_changes: false,
            default_interface: None,
            vrrp_strict: false,
            vrrp_version: VrrpVersion::V2,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: None,
            vrrp_garp_extra_if: None,
            vrrp_garp_extra_if_all: false,
            nftables: NftablesOptions::default(),
            vrrp_gna_interval: None,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_down_timer_adverts: 3,
            vrrp_startup_delay: None,
            vrrp_notify_priority_changes: false,
            log_unknown_vrids: false,
            notify_fifo: NotifyFifo::default(),
            vrrp_notify_fifo: NotifyFifo::default(),
            lvs_notify_fifo: NotifyFifo::default(),
            lvs_flush: false,
            lvs_flush_on_stop: LvsFlushOnStop::None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_sync_daemon: None,
            rs_init_notifies: false,
            no_checker_emails: false,
            metrics_listen: None,
        }
    }
}

/// The nftables options of `global_defs` (keepalived 2.2.7's defaults:
/// table `keepalived`, priority -1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftablesOptions {
    pub table: String,
    pub priority: i32,
    pub ifindex: bool,
    pub counters: bool,
}

impl Default for NftablesOptions {
    fn default() -> Self {
        NftablesOptions {
            table: "keepalived".to_string(),
            priority: -1,
            ifindex: false,
            counters: false,
        }
    }
}

impl GlobalDefs {
    /// Every script configured in `global_defs`, with what it is for.
    pub fn scripts(&self) -> Vec<(&'static str, &ScriptSpec)> {
        let mut v = Vec::new();
        let items: [(&'static str, &Option<ScriptSpec>); 5] = [
            ("startup_script", &self.startup_script),
            ("shutdown_script", &self.shutdown_script),
            ("notify_fifo_script", &self.notify_fifo.script),
            ("vrrp_notify_fifo_script", &self.vrrp_notify_fifo.script),
            ("lvs_notify_fifo_script", &self.lvs_notify_fifo.script),
        ];
        for (what, s) in items {
            if let Some(s) = s {
                v.push((what, s));
            }
        }
        v
    }
}

/// `global_defs` keywords keepalived 2.2.7 knows that keepalived-rs does not
/// act on: accepted with a warning naming file:line.
pub const IGNORED_GLOBAL_KEYWORDS: &[&str] = &[
    "min_auto_priority_delay",
    "disable_local_igmp",
    "vrrp_min_garp",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "vrrp_priority",
    "vrrp_no_swap",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "vrrp_rlimit_rttime",
    "vrrp_rlimit_rtime",
    "fifo_write_vrrp_states_on_reload",
    "checker_priority",
    "checker_no_swap",
    "checker_rt_priority",
    "checker_cpu_affinity",
    "checker_rlimit_rttime",
    "checker_rlimit_rtime",
    "bfd_priority",
    "bfd_no_swap",
    "bfd_rt_priority",
    "bfd_cpu_affinity",
    "bfd_rlimit_rttime",
    "bfd_rlimit_rtime",
    "snmp_socket",
    "enable_traps",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_checker",
    "enable_dbus",
    "dbus_service_name",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "vmac_prefix",
    "vmac_addr_prefix",
    "umask",
    "random_seed",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "include_check",
    "config_save_dir",
    "tmp_config_directory",
    "data_use_instance",
];

/// Top-level sections and statements keepalived 2.2.7 knows (outside
/// `global_defs`, VRRP and LVS sections) that keepalived-rs does not model.
pub const IGNORED_TOP_LEVEL: &[&str] = &[
    "linkbeat_use_polling",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_pid_dir",
    "instance",
    "child_wait_time",
    "track_group",
    "garp_group",
    "linkbeat_interfaces",
    "interface_up_down_delays",
];

fn set_bool_opt(node: &Node, what: &str, diags: &mut Diagnostics) -> Option<bool> {
    match node.arg(0) {
        None => Some(true),
        Some(a) => match parse_bool_word(a) {
            Some(b) => Some(b),
            None => {
                diags.warn(&node.loc, what.replace("%s", a));
                None
            }
        },
    }
}

fn process_name(node: &Node, name: Option<&str>, diags: &mut Diagnostics) -> Option<String> {
    let Some(src) = name else {
        diags.warn(&node.loc, "Process name missing");
        return None;
    };
    // TASK_COMM_LEN is 16 (including the NUL).
    if src.len() >= 16 {
        diags.warn(
            &node.loc,
            format!("Process name {src} more than 15 characters, truncating"),
        );
        let mut end = 15;
        while !src.is_char_boundary(end) {
            end -= 1;
        }
        return Some(src[..end].to_string());
    }
    Some(src.to_string())
}

fn notify_fifo(node: &Node, prefix: &str, fifo: &mut NotifyFifo, diags: &mut Diagnostics) {
    let Some(path) = node.arg(0) else {
        diags.warn(&node.loc, format!("No {prefix}notify_fifo name specified"));
        return;
    };
    if fifo.path.is_some() {
        diags.warn(
            &node.loc,
            format!("{prefix}notify_fifo already specified - ignoring {path}"),
        );
        return;
    }
    fifo.path = Some(path.to_string());
    fifo.user = node.args.get(1).cloned();
    fifo.group = node.args.get(2).cloned();
    fifo.loc = Some(node.loc.clone());
}

fn notify_fifo_script(node: &Node, prefix: &str, fifo: &mut NotifyFifo, diags: &mut Diagnostics) {
    let Some(s) = node.arg(0) else {
        diags.warn(
            &node.loc,
            format!("No {prefix}notify_fifo_script specified"),
        );
        return;
    };
    if fifo.script.is_some() {
        diags.warn(
            &node.loc,
            format!("{prefix}notify_fifo_script already specified - ignoring {s}"),
        );
        return;
    }
    fifo.script = util::parse_script(node, true, diags);
}

fn startup_shutdown(
    node: &Node,
    kind: &str,
    slot: &mut Option<ScriptSpec>,
    timeout: &mut Option<Duration>,
    diags: &mut Diagnostics,
) {
    if slot.is_some() {
        diags.warn(&node.loc, format!("{kind} script already specified"));
        return;
    }
    if node.args.is_empty() {
        diags.warn(&node.loc, format!("{kind} script missing"));
        return;
    }
    match util::parse_script(node, true, diags) {
        Some(s) => {
            *slot = Some(s);
            if timeout.is_none() {
                *timeout = Some(Duration::from_secs(10));
            }
        }
        None => diags.warn(&node.loc, format!("Invalid {kind} script")),
    }
}

fn script_timeout(node: &Node, kind: &str, slot: &mut Option<Duration>, diags: &mut Diagnostics) {
    let Some(a) = node.arg(0) else {
        diags.warn(&node.loc, format!("{kind}_script_timeout requires value"));
        return;
    };
    match read_unsigned(node, a, 1, 1000, diags) {
        Some(v) => *slot = Some(Duration::from_secs(v)),
        None => diags.warn(
            &node.loc,
            format!("{kind}_script_timeout '{a}' must be in [1, 1000] - ignoring"),
        ),
    }
}

fn mcast_group(node: &Node, v6: bool, diags: &mut Diagnostics) -> Option<IpAddr> {
    let a = arg_or_missing(node, 0, diags)?;
    let k = &node.keyword;
    let Some(ip) = util::parse_ip(a) else {
        diags.warn(&node.loc, format!("Can't parse {k} [{a}]. Skipping"));
        return None;
    };
    if ip.is_ipv6() != v6 {
        let fam = if v6 { "IPv6" } else { "IPv4" };
        diags.warn(&node.loc, format!("{k} [{a}] is not {fam}. Skipping"));
        return None;
    }
    if !ip.is_multicast() {
        diags.warn(&node.loc, format!("{k} [{a}] is not multicast. Skipping"));
        return None;
    }
    if let IpAddr::V6(v) = ip {
        // ff02::/16: link-local scope.
        if v.segments()[0] & 0xff0f != 0xff02 {
            diags.warn(
                &node.loc,
                format!("{k} [{a}] should be link-local multicast."),
            );
        }
    }
    Some(ip)
}

fn lvs_sync_daemon(node: &Node, out: &mut GlobalDefs, diags: &mut Diagnostics) {
    if let Some(s) = &out.lvs_sync_daemon {
        diags.warn(
            &node.loc,
            format!(
                "lvs_sync_daemon has already been specified as {} {} - ignoring",
                s.interface,
                s.instance.as_deref().unwrap_or("")
            ),
        );
        return;
    }
    let Some(ifname) = node.arg(0) else {
        diags.warn(&node.loc, "lvs_sync_daemon requires interface");
        return;
    };
    if ifname.len() >= 16 {
        diags.warn(
            &node.loc,
            format!("lvs_sync_daemon interface name '{ifname}' too long - ignoring"),
        );
        return;
    }
    let mut sd = LvsSyncDaemon {
        interface: ifname.to_string(),
        instance: None,
        syncid: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
        loc: node.loc.clone(),
    };
    // args index 0 is the interface; keepalived's strvec index = i + 1.
    let args = &node.args;
    let mut i = 1;
    while i < args.len() {
        let w = args[i].as_str();
        let val = args.get(i + 1).map(String::as_str);
        let missing = |diags: &mut Diagnostics, what: &str| {
            diags.warn(
                &node.loc,
                format!("No value specified for lvs_sync_daemon {what}"),
            );
        };
        match w {
            "inst" => {
                if sd.instance.is_some() {
                    diags.warn(
                        &node.loc,
                        format!(
                            "lvs_sync_daemon vrrp instance has already been specified as {} - ignoring",
                            sd.instance.as_deref().unwrap_or("")
                        ),
                    );
                } else if let Some(v) = val {
                    sd.instance = Some(v.to_string());
                }
                i += 2;
            }
            "id" => {
                match val {
                    None => missing(diags, "id, defaulting to vrid"),
                    Some(v) => match read_unsigned(node, v, 0, 255, diags) {
                        Some(n) => sd.syncid = Some(n as u8),
                        None => diags.warn(
                            &node.loc,
                            format!("Invalid syncid ({v}) - defaulting to vrid"),
                        ),
                    },
                }
                i += 2;
            }
            "maxlen" | "port" | "ttl" => {
                let max = match w {
                    "maxlen" => 65535 - 20 - 8,
                    "port" => 65535,
                    _ => 255,
                };
                match val {
                    None => missing(diags, &format!("{w} - ignoring")),
                    Some(v) => match read_unsigned(node, v, 1, max, diags) {
                        Some(n) => match w {
                            "maxlen" => sd.maxlen = Some(n as u16),
                            "port" => sd.port = Some(n as u16),
                            _ => sd.ttl = Some(n as u8),
                        },
                        None => diags.warn(
                            &node.loc,
                            format!("Invalid lvs_sync_daemon {w} ({v}) - ignoring"),
                        ),
                    },
                }
                i += 2;
            }
            "group" => {
                match val {
                    None => missing(diags, "group - ignoring"),
                    Some(v) => match util::parse_ip(v) {
                        None => diags.warn(
                            &node.loc,
                            format!("Invalid lvs_sync_daemon group ({v}) - ignoring"),
                        ),
                        Some(ip) if !ip.is_multicast() => diags.warn(
                            &node.loc,
                            format!(
                                "lvs_sync_daemon group address {v} is not multicast - ignoring"
                            ),
                        ),
                        Some(ip) => sd.group = Some(ip),
                    },
                }
                i += 2;
            }
            _ if i == 1 => {
                // Old form: lvs_sync_daemon IF VRRP_INSTANCE [SYNC_ID]
                sd.instance = Some(w.to_string());
                i += 1;
            }
            _ if i == 2 => {
                match read_unsigned(node, w, 0, 255, diags) {
                    Some(n) => {
                        diags.warn(
                            &node.loc,
                            "Please use keyword \"id\" before lvs_sync_daemon SYNCID",
                        );
                        sd.syncid = Some(n as u8);
                    }
                    None => diags.warn(
                        &node.loc,
                        format!("Invalid syncid ({w}) - defaulting to vrid"),
                    ),
                }
                i += 1;
            }
            _ => {
                diags.warn(
                    &node.loc,
                    format!("Unknown option {w} specified for lvs_sync_daemon"),
                );
                i += 1;
            }
        }
    }
    out.lvs_sync_daemon = Some(sd);
}

fn lvs_timeouts(node: &Node, out: &mut GlobalDefs, diags: &mut Diagnostics) {
    if node.args.len() < 2 {
        diags.warn(&node.loc, "lvs_timeouts requires at least one option");
        return;
    }
    // LVS_MAX_TIMEOUT: 86400 * 31
    const MAX: u64 = 86400 * 31;
    let mut i = 0;
    while i < node.args.len() {
        let w = node.args[i].as_str();
        let slot = match w {
            "tcp" => &mut out.lvs_timeouts.tcp,
            "tcpfin" => &mut out.lvs_timeouts.tcpfin,
            "udp" => &mut out.lvs_timeouts.udp,
            _ => {
                diags.warn(
                    &node.loc,
                    format!("Unknown option {w} specified for lvs_timeouts"),
                );
                i += 1;
                continue;
            }
        };
        match node.args.get(i + 1) {
            None => {
                diags.warn(
                    &node.loc,
                    format!("No value specified for lvs_timeout {w} - ignoring"),
                );
                i += 1;
            }
            Some(v) => {
                match read_unsigned(node, v, 0, MAX, diags) {
                    Some(n) => *slot = Some(n as u32),
                    None => diags.warn(
                        &node.loc,
                        format!("Invalid lvs_timeout {w} ({v}) - ignoring"),
                    ),
                }
                i += 2;
            }
        }
    }
}

/// How keepalived reads the keywords of `global_defs`.
pub fn defs_level(keyword: &str) -> Kind {
    match keyword {
        "notification_email" => Kind::Values,
        _ => Kind::Leaf,
    }
}

/// How keepalived reads the keywords of `track_group` (not modelled).
pub fn track_group_level(keyword: &str) -> Kind {
    match keyword {
        "group" => Kind::Values,
        _ => Kind::Leaf,
    }
}

/// How keepalived reads the keywords of `garp_group` (not modelled).
pub fn garp_group_level(keyword: &str) -> Kind {
    match keyword {
        "interfaces" => Kind::Values,
        _ => Kind::Leaf,
    }
}

/// A top-level section or statement keepalived-rs does not model
/// ([`IGNORED_TOP_LEVEL`]): reported as ignored; the keywords of its block
/// are still checked as keepalived checks them.
pub fn ignored_section(node: &Node, diags: &mut Diagnostics) {
    warn_ignored_top_level(node, diags);
    let known: &[&str] = match node.keyword.as_str() {
        "track_group" => &["group"],
        "garp_group" => &["garp_interval", "gna_interval", "interface", "interfaces"],
        // Statements, and list blocks whose lines are values.
        _ => return,
    };
    for c in node.children() {
        if !known.contains(&c.keyword.as_str()) {
            diags.warn(&c.loc, format!("Unknown keyword '{}'", c.keyword));
        }
    }
}

/// Apply one `global_defs` block.
pub fn parse_global_defs(node: &Node, out: &mut GlobalDefs, diags: &mut Diagnostics) {
    for st in node.children() {
        parse_global_keyword(st, out, diags);
    }
}

fn parse_global_keyword(st: &Node, out: &mut GlobalDefs, diags: &mut Diagnostics) {
    let loc = &st.loc;
    let a0 = st.arg(0);
    match st.keyword.as_str() {
        "metrics_listen" => match a0.map(str::parse::<std::net::SocketAddr>) {
            Some(Ok(a)) => out.metrics_listen = Some(a),
            Some(Err(_)) => diags.error(
                loc,
                format!(
                    "metrics_listen '{}': expected ADDRESS:PORT (e.g. 127.0.0.1:9650 or [::1]:9650)",
                    a0.unwrap_or_default()
                ),
            ),
            None => diags.error(loc, "metrics_listen: missing ADDRESS:PORT"),
        },
        "router_id" => match a0 {
            Some(v) => out.router_id = Some(v.to_string()),
            None => diags.warn(loc, "routerid name missing - ignoring"),
        },
        "notification_email_from" => match a0 {
            Some(v) => out.notification_email_from = Some(v.to_string()),
            None => diags.warn(loc, "emailfrom missing - ignoring"),
        },
        "notification_email" => {
            let mut n = 0;
            for e in st.children() {
                out.notification_email.push(e.keyword.clone());
                out.notification_email.extend(e.args.iter().cloned());
                n += 1;
            }
            if n == 0 {
                diags.warn(loc, "Warning - empty notification_email block");
            }
        }
        "smtp_server" => {
            let Some(host) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let port_str = st.arg(1).unwrap_or("25");
            let port = port_str.parse::<u16>().ok().filter(|p| *p != 0);
            let h = match util::parse_ip(host) {
                Some(ip) => Some(SmtpHost::Ip(ip)),
                None if !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
                {
                    Some(SmtpHost::Name(host.to_string()))
                }
                None => None,
            };
            match (h, port) {
                (Some(host), Some(port)) => out.smtp_server = Some(SmtpServer { host, port }),
                _ => diags.warn(loc, format!("Invalid smtp server {host} {port_str}")),
            }
        }
        "smtp_helo_name" => {
            if let Some(v) = a0 {
                out.smtp_helo_name = Some(v.to_string());
            }
        }
        "smtp_connect_timeout" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let max = u64::from(u32::MAX) / TIMER_HZ;
            match read_unsigned(st, a, 0, max, diags) {
                Some(0) => {
                    diags.warn(
                        loc,
                        "smtp_conect_timeout must be greater than 0, setting to 1",
                    );
                    out.smtp_connect_timeout = Duration::from_secs(1);
                }
                Some(v) => out.smtp_connect_timeout = Duration::from_secs(v),
                None => diags.warn(
                    loc,
                    format!("smtp_connect_timeout '{a}' must be in [0, {max}] - ignoring"),
                ),
            }
        }
        "smtp_alert" => {
            if let Some(b) = set_bool_opt(
                st,
                "Invalid value '%s' for global smtp_alert specified",
                diags,
            ) {
                out.smtp_alert = Some(b);
            }
        }
        "smtp_alert_vrrp" => {
            if let Some(b) = set_bool_opt(
                st,
                "Invalid value '%s' for global smtp_alert_vrrp specified",
                diags,
            ) {
                out.smtp_alert_vrrp = Some(b);
            }
        }
        "smtp_alert_checker" => {
            if let Some(b) = set_bool_opt(
                st,
                "Invalid value '%s' for global smtp_alert_checker specified",
                diags,
            ) {
                out.smtp_alert_checker = Some(b);
            }
        }
        "checker_log_all_failures" => {
            if let Some(b) = set_bool_opt(
                st,
                "Invalid value for checker_log_all_failures specified",
                diags,
            ) {
                out.checker_log_all_failures = b;
            }
        }
        "no_email_faults" => out.no_email_faults = true,
        "script_user" => match a0 {
            None => diags.warn(loc, "No script username specified"),
            Some(u) => {
                out.script_user = Some(u.to_string());
                out.script_group = st.arg(1).map(str::to_string);
            }
        },
        "enable_script_security" => out.enable_script_security = true,
        "startup_script" => startup_shutdown(
            st,
            "startup",
            &mut out.startup_script,
            &mut out.startup_script_timeout,
            diags,
        ),
        "shutdown_script" => startup_shutdown(
            st,
            "shutdown",
            &mut out.shutdown_script,
            &mut out.shutdown_script_timeout,
            diags,
        ),
        "startup_script_timeout" => {
            script_timeout(st, "startup", &mut out.startup_script_timeout, diags)
        }
        "shutdown_script_timeout" => {
            script_timeout(st, "shutdown", &mut out.shutdown_script_timeout, diags)
        }
        "process_names" => {
            out.vrrp_process_name = Some("keepalived_vrrp".into());
            out.checker_process_name = Some("keepalived_lvs".into());
            out.bfd_process_name = Some("keepalived_bfd".into());
        }
        "process_name" => {
            if let Some(n) = process_name(st, a0, diags) {
                out.process_name = Some(n);
            }
        }
        "vrrp_process_name" => {
            if let Some(n) = process_name(st, a0, diags) {
                out.vrrp_process_name = Some(n);
            }
        }
        "checker_process_name" | "lvs_process_name" => {
            if st.keyword == "lvs_process_name" {
                diags.warn(
                    loc,
                    "'lvs_process_name' is deprecated - please use 'checker_process_name'",
                );
            }
            if let Some(n) = process_name(st, a0, diags) {
                out.checker_process_name = Some(n);
            }
        }
        "bfd_process_name" => {
            if let Some(n) = process_name(st, a0, diags) {
                out.bfd_process_name = Some(n);
            }
        }
        "max_auto_priority" => match a0 {
            // sched_get_priority_max(SCHED_RR) on Linux.
            None => out.max_auto_priority = Some(99),
            Some(a) => match read_int(st, a, -1, 99, diags) {
                Some(v) => out.max_auto_priority = Some(v as i32),
                None => diags.warn(
                    loc,
                    format!(
                        "max_auto_priority '{a}' must be in [0, 99] (or -1 to disable) - ignoring"
                    ),
                ),
            },
        },
        "dynamic_interfaces" => {
            out.dynamic_interfaces = true;
            if let Some(a) = a0 {
                if a == "allow_if_changes" {
                    out.allow_if_changes = true;
                } else {
                    diags.warn(loc, format!("Unknown dynamic_interfaces option '{a}'"));
                }
            }
        }
        "default_interface" => match a0 {
            Some(v) => out.default_interface = Some(v.to_string()),
            None => diags.warn(loc, "default_interface requires interface name"),
        },
        "lvs_timeouts" => lvs_timeouts(st, out, diags),
        "lvs_flush" => out.lvs_flush = true,
        "lvs_flush_on_stop" | "lvs_flush_onstop" => match a0 {
            None => out.lvs_flush_on_stop = LvsFlushOnStop::Full,
            Some("VS") => out.lvs_flush_on_stop = LvsFlushOnStop::Vs,
            Some(a) => diags.warn(loc, format!("Unknown lvs_flush_on_stop type {a}")),
        },
        "lvs_sync_daemon" => lvs_sync_daemon(st, out, diags),
        "rs_init_notifies" => {
            if let Some(b) = set_bool_opt(st, "Invalid value '%s' for rs_init_notifies", diags) {
                out.rs_init_notifies = b;
            }
        }
        "no_checker_emails" => {
            if let Some(b) = set_bool_opt(st, "Invalid value '%s' for no_checker_emails", diags) {
                out.no_checker_emails = b;
            }
        }
        "vrrp_mcast_group4" => {
            if let Some(IpAddr::V4(ip)) = mcast_group(st, false, diags) {
                out.vrrp_mcast_group4 = ip;
            }
        }
        "vrrp_mcast_group6" => {
            if let Some(IpAddr::V6(ip)) = mcast_group(st, true, diags) {
                out.vrrp_mcast_group6 = ip;
            }
        }
        "vrrp_garp_master_delay" | "vrrp_garp_lower_prio_delay" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let max = u64::from(u32::MAX) / TIMER_HZ;
            match read_unsigned(st, a, 0, max, diags) {
                Some(v) if st.keyword == "vrrp_garp_master_delay" => {
                    out.vrrp_garp_master_delay = Duration::from_secs(v)
                }
                Some(v) => out.vrrp_garp_lower_prio_delay = Some(Duration::from_secs(v)),
                None => diags.warn(loc, format!("{} '{a}' invalid - ignoring", st.keyword)),
            }
        }
        "vrrp_garp_master_repeat" | "vrrp_garp_master_refresh_repeat" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let Some(mut v) = read_unsigned(st, a, 0, u64::from(u32::MAX), diags) else {
                diags.warn(loc, format!("{} '{a}' invalid - ignoring", st.keyword));
                return;
            };
            if v == 0 {
                diags.warn(
                    loc,
                    format!("{} must be greater than 0, setting to 1", st.keyword),
                );
                v = 1;
            }
            if st.keyword == "vrrp_garp_master_repeat" {
                out.vrrp_garp_master_repeat = v as u32;
            } else {
                out.vrrp_garp_master_refresh_repeat = v as u32;
            }
        }
        "vrrp_garp_master_refresh" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 0, u64::from(u32::MAX), diags) {
                Some(v) => out.vrrp_garp_master_refresh = Duration::from_secs(v),
                None => {
                    diags.warn(
                        loc,
                        format!("Invalid vrrp_garp_master_refresh '{a}' - ignoring"),
                    );
                    out.vrrp_garp_master_refresh = Duration::ZERO;
                }
            }
        }
        "vrrp_garp_lower_prio_repeat" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 0, i32::MAX as u64, diags) {
                Some(v) => out.vrrp_garp_lower_prio_repeat = Some(v as u32),
                None => diags.warn(loc, format!("Invalid vrrp_garp_lower_prio_repeat '{a}'")),
            }
        }
        "vrrp_down_timer_adverts" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 1, 100, diags) {
                Some(v) => out.vrrp_down_timer_adverts = v as u32,
                None => diags.warn(
                    loc,
                    format!("Invalid vrrp_down_timer_adverts [1:100] '{a}'"),
                ),
            }
        }
        "nftables" => {
            if let Some(name) = st.arg(0) {
                // The kernel's NFT_TABLE_MAXNAMELEN (256) with its NUL.
                if name.len() >= 256 {
                    diags.warn(loc, "nftables table name too long - ignoring");
                } else {
                    out.nftables.table = name.to_string();
                }
            }
        }
        "nftables_priority" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_int(st, a, i64::from(i32::MIN), i64::from(i32::MAX), diags) {
                Some(v) => out.nftables.priority = v as i32,
                None => diags.warn(loc, format!("invalid nftables chain priority '{a}'")),
            }
        }
        "nftables_ifindex" => out.nftables.ifindex = true,
        "nftables_counters" => out.nftables.counters = true,
        "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => {
            let names = ("vrrp_vmac_garp_intvl", "vrrp_garp_extra_if");
            let (all, secs) = super::util::garp_extra_if(st, 1, names, "", diags);
            out.vrrp_garp_extra_if_all |= all;
            if let Some(v) = secs {
                out.vrrp_garp_extra_if = Some(Duration::from_secs(v));
            }
        }
        "vrrp_garp_interval" | "vrrp_gna_interval" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let slot = if st.keyword == "vrrp_garp_interval" {
                &mut out.vrrp_garp_interval
            } else {
                &mut out.vrrp_gna_interval
            };
            match read_decimal(st, a, 1, u64::from(u32::MAX), TIMER_HZ_DIGITS, diags) {
                Some(v) => *slot = Some(micros(v)),
                None => diags.warn(loc, format!("{} '{a}' is invalid", st.keyword)),
            }
        }
        "vrrp_lower_prio_no_advert" | "vrrp_higher_prio_send_advert" => {
            let msg = format!("Invalid value for {} specified", st.keyword);
            if let Some(b) = set_bool_opt(st, &msg, diags) {
                if st.keyword == "vrrp_lower_prio_no_advert" {
                    out.vrrp_lower_prio_no_advert = b;
                } else {
                    out.vrrp_higher_prio_send_advert = b;
                }
            }
        }
        "vrrp_version" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_int(st, a, 2, 3, diags) {
                Some(2) => out.vrrp_version = VrrpVersion::V2,
                Some(_) => out.vrrp_version = VrrpVersion::V3,
                None => diags.warn(loc, "VRRP Error: Version must be either 2 or 3"),
            }
        }
        "vrrp_check_unicast_src" => out.vrrp_check_unicast_src = true,
        "log_unknown_vrids" => out.log_unknown_vrids = true,
        "vrrp_skip_check_adv_addr" => out.vrrp_skip_check_adv_addr = true,
        "vrrp_strict" => out.vrrp_strict = true,
        "vrrp_startup_delay" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_decimal(
                st,
                a,
                TIMER_HZ / 1000,
                u64::from(u32::MAX),
                TIMER_HZ_DIGITS,
                diags,
            ) {
                Some(v) => out.vrrp_startup_delay = Some(micros(v)),
                None => diags.warn(loc, format!("vrrp_startup_delay '{a}' is invalid")),
            }
        }
        "vrrp_notify_priority_changes" => {
            if let Some(b) = set_bool_opt(
                st,
                "Invalid value '%s' for global vrrp_notify_priority_changes specified",
                diags,
            ) {
                out.vrrp_notify_priority_changes = b;
            }
        }
        "notify_fifo" => notify_fifo(st, "", &mut out.notify_fifo, diags),
        "notify_fifo_script" => notify_fifo_script(st, "", &mut out.notify_fifo, diags),
        "vrrp_notify_fifo" => notify_fifo(st, "vrrp_", &mut out.vrrp_notify_fifo, diags),
        "vrrp_notify_fifo_script" => {
            notify_fifo_script(st, "vrrp_", &mut out.vrrp_notify_fifo, diags)
        }
        "lvs_notify_fifo" => notify_fifo(st, "lvs_", &mut out.lvs_notify_fifo, diags),
        "lvs_notify_fifo_script" => notify_fifo_script(st, "lvs_", &mut out.lvs_notify_fifo, diags),
        k if IGNORED_GLOBAL_KEYWORDS.contains(&k) => warn_ignored_top_level(st, diags),
        other => diags.warn(loc, format!("Unknown keyword '{other}'")),
    }
}

/// Top-level sections keepalived knows but keepalived-rs does not model
/// (e.g. `linkbeat_use_polling`): warned about and ignored.
pub fn is_ignored_top_level(keyword: &str) -> bool {
    IGNORED_TOP_LEVEL.contains(&keyword)
}

/// Keywords whose absence changes what the daemon does on the network
/// (where it runs, what it sends): ignoring them is a warning, so `-t`
/// flags the configuration. (BFD, which keepalived-rs does not run, is a
/// notice: a `track_bfd` that is never down changes nothing.)
const IGNORED_BUT_BEHAVIOURAL: &[&str] = &[
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_ipvlan",
    "vrf",
    "garp_extra_if",
    "lvs_sync_daemon_interface",
];

pub fn warn_ignored_top_level(node: &Node, diags: &mut Diagnostics) {
    let msg = format!(
        "keyword '{}' is not supported by keepalived-rs and is ignored",
        node.keyword
    );
    if IGNORED_BUT_BEHAVIOURAL.contains(&node.keyword.as_str()) {
        diags.warn(&node.loc, msg);
    } else {
        // keepalived accepts these silently and they change nothing on the
        // wire (SNMP, DBus, process tuning): a notice, so `-t` still
        // agrees with keepalived's verdict.
        diags.notice(&node.loc, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;
    use crate::{LoadOptions, load_str};
    use std::path::Path;

    fn load(text: &str) -> crate::Loaded {
        load_str(
            Path::new("/etc/keepalived/g.conf"),
            text,
            &LoadOptions::default(),
        )
    }

    fn msgs(l: &crate::Loaded) -> Vec<(Severity, Option<u32>, String)> {
        l.diagnostics
            .iter()
            .map(|d| {
                (
                    d.severity,
                    d.loc.as_ref().map(|l| l.line),
                    d.message.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn metrics_listen() {
        let l = load("global_defs {\n  metrics_listen [::1]:9650\n}\n");
        assert_eq!(msgs(&l), vec![]);
        assert_eq!(
            l.config.global.metrics_listen,
            Some("[::1]:9650".parse().expect("addr"))
        );
        let l = load("global_defs {\n  metrics_listen 127.0.0.1\n  metrics_listen\n}\n");
        assert_eq!(
            msgs(&l),
            vec![
                (
                    Severity::Error,
                    Some(2),
                    "metrics_listen '127.0.0.1': expected ADDRESS:PORT (e.g. 127.0.0.1:9650 or [::1]:9650)".into()
                ),
                (
                    Severity::Error,
                    Some(3),
                    "metrics_listen: missing ADDRESS:PORT".into()
                ),
            ]
        );
        assert_eq!(l.config.global.metrics_listen, None);
    }

    const TEXT: &str = "global_defs {
    router_id LVS_1
    notification_email {
        a@example.com
        b@example.com
    }
    notification_email_from ka@example.com
    smtp_server 192.0.2.25 2525
    smtp_connect_timeout 0
    smtp_helo_name helo.example.com
    script_user nobody nogroup
    enable_script_security
    vrrp_garp_interval 0.001
    vrrp_gna_interval 1.5
    vrrp_garp_master_repeat 0
    vrrp_garp_master_refresh 60
    vrrp_mcast_group4 10.0.0.1
    vrrp_mcast_group6 ff05::12
    vrrp_startup_delay 5.5
    vrrp_version 4
    max_auto_priority
    lvs_flush
    lvs_flush_on_stop VS
    lvs_timeouts tcp 900 tcpfin 120 udp 300 foo
    lvs_sync_daemon eth0 inst VI_1 id 5 port 8848
    dynamic_interfaces allow_if_changes
    vrrp_process_name this_name_is_way_too_long
    checker_process_name chk
    notify_fifo /run/ka.fifo
    notify_fifo_script \"/bin/fifo.sh x\" root
    vrrp_notify_fifo /run/kav.fifo
    snmp_socket udp:1.2.3.4:705
    umask 0022
    no_such_global_keyword 1
}
";

    #[test]
    fn global_keywords_values_and_messages() {
        let l = load(TEXT);
        let w = |line: u32, m: &str| (Severity::Warning, Some(line), m.to_string());
        let n = |line: u32, m: &str| (Severity::Notice, Some(line), m.to_string());
        assert_eq!(
            msgs(&l),
            vec![
                w(
                    9,
                    "smtp_conect_timeout must be greater than 0, setting to 1"
                ),
                w(
                    15,
                    "vrrp_garp_master_repeat must be greater than 0, setting to 1"
                ),
                w(
                    17,
                    "vrrp_mcast_group4 [10.0.0.1] is not multicast. Skipping"
                ),
                w(
                    18,
                    "vrrp_mcast_group6 [ff05::12] should be link-local multicast."
                ),
                w(20, "number '4' outside range [2, 3]"),
                w(20, "VRRP Error: Version must be either 2 or 3"),
                w(24, "Unknown option foo specified for lvs_timeouts"),
                w(
                    27,
                    "Process name this_name_is_way_too_long more than 15 characters, truncating"
                ),
                n(
                    32,
                    "keyword 'snmp_socket' is not supported by keepalived-rs and is ignored"
                ),
                n(
                    33,
                    "keyword 'umask' is not supported by keepalived-rs and is ignored"
                ),
                w(34, "Unknown keyword 'no_such_global_keyword'"),
            ]
        );
        assert!(!l.has_errors());
        let g = &l.config.global;
        assert_eq!(g.router_id.as_deref(), Some("LVS_1"));
        assert_eq!(g.notification_email, vec!["a@example.com", "b@example.com"]);
        assert_eq!(g.notification_email_from.as_deref(), Some("ka@example.com"));
        assert_eq!(
            g.smtp_server,
            Some(SmtpServer {
                host: SmtpHost::Ip("192.0.2.25".parse().unwrap()),
                port: 2525
            })
        );
        assert_eq!(g.smtp_connect_timeout, Duration::from_secs(1));
        assert_eq!(g.smtp_helo_name.as_deref(), Some("helo.example.com"));
        assert_eq!(
            (g.script_user.as_deref(), g.script_group.as_deref()),
            (Some("nobody"), Some("nogroup"))
        );
        assert!(g.enable_script_security);
        assert_eq!(g.vrrp_garp_interval, Some(Duration::from_millis(1)));
        assert_eq!(g.vrrp_gna_interval, Some(Duration::from_millis(1500)));
        assert_eq!(g.vrrp_garp_master_repeat, 1);
        assert_eq!(g.vrrp_garp_master_refresh, Duration::from_secs(60));
        assert_eq!(g.vrrp_mcast_group4, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(g.vrrp_mcast_group6, "ff05::12".parse::<Ipv6Addr>().unwrap());
        assert_eq!(g.vrrp_startup_delay, Some(Duration::from_millis(5500)));
        assert_eq!(g.vrrp_version, VrrpVersion::V2);
        assert_eq!(g.max_auto_priority, Some(99));
        assert!(g.lvs_flush);
        assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::Vs);
        assert_eq!(
            g.lvs_timeouts,
            LvsTimeouts {
                tcp: Some(900),
                tcpfin: Some(120),
                udp: Some(300)
            }
        );
        let sd = g.lvs_sync_daemon.as_ref().unwrap();
        assert_eq!(
            (
                sd.interface.as_str(),
                sd.instance.as_deref(),
                sd.syncid,
                sd.port
            ),
            ("eth0", Some("VI_1"), Some(5), Some(8848))
        );
        assert!(g.dynamic_interfaces && g.allow_if_changes);
        assert_eq!(g.vrrp_process_name.as_deref(), Some("this_name_is_wa"));
        assert_eq!(g.checker_process_name.as_deref(), Some("chk"));
        assert_eq!(g.notify_fifo.path.as_deref(), Some("/run/ka.fifo"));
        let fs = g.notify_fifo.script.as_ref().unwrap();
        assert_eq!(fs.argv, vec!["/bin/fifo.sh", "x"]);
        assert_eq!(fs.user.as_deref(), Some("root"));
        assert_eq!(g.vrrp_notify_fifo.path.as_deref(), Some("/run/kav.fifo"));
        let listed: Vec<&str> = g.scripts().into_iter().map(|(k, _)| k).collect();
        assert_eq!(listed, vec!["notify_fifo_script"]);
    }

    #[test]
    fn defaults() {
        let l = load("global_defs {\n}\n");
        assert_eq!(msgs(&l), vec![]);
        let g = &l.config.global;
        assert_eq!(*g, GlobalDefs::default());
        assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
        assert_eq!(g.vrrp_garp_master_delay, Duration::from_secs(5));
        assert_eq!(g.vrrp_garp_master_repeat, 5);
        assert_eq!(g.vrrp_garp_master_refresh_repeat, 1);
        assert_eq!(g.vrrp_down_timer_adverts, 3);
        assert_eq!(g.vrrp_mcast_group6, "ff02::12".parse::<Ipv6Addr>().unwrap());
        assert!(!g.vrrp_strict && !g.enable_script_security);
    }

    #[test]
    fn ignored_top_level_and_missing_parameter() {
        let l = load(
            "net_namespace blue\nuse_pid_dir\nglobal_defs {\n    vrrp_garp_master_delay\n    smtp_server 10.0.0.1\n}\n",
        );
        assert_eq!(
            msgs(&l),
            vec![
                (
                    Severity::Warning,
                    Some(1),
                    "keyword 'net_namespace' is not supported by keepalived-rs and is ignored"
                        .to_string()
                ),
                (
                    Severity::Notice,
                    Some(2),
                    "keyword 'use_pid_dir' is not supported by keepalived-rs and is ignored"
                        .to_string()
                ),
                (
                    Severity::Error,
                    Some(4),
                    "*** Configuration line starting `vrrp_garp_master_delay` is missing a parameter after keyword `vrrp_garp_master_delay` at word position 2".to_string()
                ),
            ]
        );
        assert_eq!(
            l.config.global.smtp_server.as_ref().map(|s| s.port),
            Some(25)
        );
    }

    #[test]
    fn a_sync_daemon_naming_a_missing_instance_is_cleared_as_keepalived_does() {
        let vi = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 52\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n";
        let mut l = load(&format!(
            "global_defs {{\n  lvs_sync_daemon eth0 VI_9 id 5\n}}\n{vi}"
        ));
        // Not a configuration error: keepalived -t says nothing.
        assert!(l.diagnostics.is_empty(), "{:?}", msgs(&l));
        assert_eq!(
            l.config.clear_missing_sync_instance().as_deref(),
            Some("Unable to find vrrp instance VI_9 for lvs_syncd - clearing lvs_syncd config")
        );
        assert_eq!(l.config.global.lvs_sync_daemon, None);
        assert_eq!(l.config.clear_missing_sync_instance(), None);
        // An instance that exists, or none named: kept.
        for sd in ["eth0 VI_1 id 5", "eth0 inst VI_1", "eth0"] {
            let mut l = load(&format!("global_defs {{\n  lvs_sync_daemon {sd}\n}}\n{vi}"));
            assert_eq!(l.config.clear_missing_sync_instance(), None, "{sd}");
            assert!(l.config.global.lvs_sync_daemon.is_some(), "{sd}");
        }
    }
}
