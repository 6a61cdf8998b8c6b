//! VRRP sections: `vrrp_script`, `track_file`, `vrrp_track_process`,
//! `vrrp_instance`, `vrrp_sync_group`, `static_ipaddress`,
//! `static_routes`, `static_rules`, read as keepalived 2.2.7's
//! `vrrp_parser.c` reads them and completed as its `vrrp_complete_init`
//! completes them ([`finish`]).
//!
//! Parsing happens in file order (a `track_script` must name a
//! `vrrp_script` defined above it, as in keepalived). Instances are kept in
//! a raw form until [`finish`] applies `global_defs` defaults, keepalived's
//! adjustments and the cross-section checks.

pub mod addr;
mod finish;
mod parse;
#[cfg(test)]
mod tests;

pub use addr::{Family, IpAddress, Route, RouteDest, RouteTable, Rule, RuleAction};
pub use finish::finish;
pub use parse::{instance_level, parse_top_level, sync_group_level};

use super::global::VrrpVersion;
use super::util::ScriptSpec;
use crate::diag::Loc;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// Everything VRRP in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpConfig {
    pub scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub instances: Vec<VrrpInstance>,
    pub sync_groups: Vec<SyncGroup>,
    pub static_addresses: Vec<IpAddress>,
    pub static_routes: Vec<Route>,
    pub static_rules: Vec<Rule>,
    /// Instances as read, before [`finish`] completes them.
    #[serde(skip)]
    pub(crate) pending: Vec<parse::RawInstance>,
    #[serde(skip)]
    pub(crate) raw_groups: Vec<parse::RawSyncGroup>,
    #[serde(skip)]
    pub(crate) rule_prio: parse::RulePrio,
}

/// `vrrp_script NAME { script ...; interval; timeout; weight [reverse];
/// rise; fall; user; init_fail }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpScript {
    pub name: String,
    /// The command; its `user`/`group` are those of the `user` keyword.
    pub script: ScriptSpec,
    pub interval: Duration,
    /// `None`: keepalived uses the interval as the timeout.
    pub timeout: Option<Duration>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
    pub loc: Loc,
}

/// `track_file NAME { file PATH; weight N [reverse]; init_file [V]
/// [overwrite] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFile {
    pub name: String,
    pub path: String,
    pub weight: i32,
    pub weight_reverse: bool,
    pub init: Option<TrackFileInit>,
    pub loc: Loc,
}

/// `init_file [VALUE] [overwrite]`: create the file with VALUE (default 0)
/// if missing, or always with `overwrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFileInit {
    pub value: i32,
    pub overwrite: bool,
}

/// How `vrrp_track_process` matches the command line parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ParamMatch {
    #[default]
    None,
    Exact,
    Initial,
    Partial,
}

/// `vrrp_track_process NAME { process PATH [PARAMS...]; param_match;
/// weight; quorum; quorum_max; delay; terminate_delay; fork_delay;
/// full_command }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcess {
    pub name: String,
    pub process: String,
    pub params: Vec<String>,
    pub param_match: ParamMatch,
    pub weight: i32,
    pub weight_reverse: bool,
    pub quorum: u32,
    /// `None`: no maximum.
    pub quorum_max: Option<u32>,
    pub terminate_delay: Option<Duration>,
    pub fork_delay: Option<Duration>,
    /// Match against the full command line rather than the process name.
    pub full_command: bool,
    pub loc: Loc,
}

/// Initial state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Master,
    Backup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    Pass,
    Ah,
}

/// `authentication { auth_type PASS|AH; auth_pass SECRET }` (VRRPv2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// At most 8 bytes (keepalived truncates longer ones).
    pub password: Vec<u8>,
}

/// One `unicast_peer` line: `ADDR [min_ttl N] [max_ttl N]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

/// A `track_interface` line: `IFNAME [weight N [reverse]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedInterface {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// A `track_script` / `track_file` / `track_process` line naming a
/// defined object, with the weight in force (the line's, else the
/// object's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedRef {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// Notify scripts of an instance or sync group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyScripts {
    pub master: Option<ScriptSpec>,
    pub backup: Option<ScriptSpec>,
    pub fault: Option<ScriptSpec>,
    pub stop: Option<ScriptSpec>,
    /// `notify`: called with TYPE NAME STATE PRIORITY appended.
    pub notify: Option<ScriptSpec>,
    /// Instances only.
    pub deleted: Option<ScriptSpec>,
    /// Instances only.
    pub master_rx_lower_pri: Option<ScriptSpec>,
}

impl NotifyScripts {
    fn all(&self) -> Vec<(&'static str, &ScriptSpec)> {
        let items: [(&'static str, &Option<ScriptSpec>); 7] = [
            ("notify_master", &self.master),
            ("notify_backup", &self.backup),
            ("notify_fault", &self.fault),
            ("notify_stop", &self.stop),
            ("notify", &self.notify),
            ("notify_deleted", &self.deleted),
            ("notify_master_rx_lower_pri", &self.master_rx_lower_pri),
        ];
        items
            .into_iter()
            .filter_map(|(k, s)| s.as_ref().map(|s| (k, s)))
            .collect()
    }
}

/// `use_vmac [IFNAME] [MAC]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vmac {
    /// `None`: keepalived's default name (`vrrp.VRID`, or per family).
    pub ifname: Option<String>,
    /// A configured MAC; with `mac_use_vrid` the last octet is the VRID.
    pub mac: Option<[u8; 6]>,
    pub mac_use_vrid: bool,
    /// `vmac_xmit_base`: send adverts on the base interface.
    pub xmit_base: bool,
}

/// Gratuitous ARP / unsolicited NA settings, resolved with `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpSettings {
    pub master_delay: Duration,
    pub master_repeat: u32,
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
    pub lower_prio_delay: Duration,
    pub lower_prio_repeat: u32,
    /// `garp_extra_if` (or `vrrp_garp_extra_if`): while MASTER, at the
    /// first advert this long after the last time, one gratuitous ARP /
    /// NA per interface of its VIPs other than its own, VMACs only unless
    /// `extra_if_all`. Zero: never.
    pub extra_if: Duration,
    pub extra_if_all: bool,
}

/// A completed `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    pub name: String,
    pub loc: Loc,
    pub state: State,
    pub interface: Option<String>,
    /// Where `interface` was given (for the machine checks' messages).
    pub interface_loc: Option<Loc>,
    pub vrid: u8,
    pub priority: u8,
    pub advert_int: Duration,
    pub version: VrrpVersion,
    pub family: Family,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddresses: Vec<IpAddress>,
    pub virtual_ipaddresses_excluded: Vec<IpAddress>,
    pub virtual_routes: Vec<Route>,
    pub virtual_rules: Vec<Rule>,
    /// `mcast_src_ip` / `unicast_src_ip`.
    pub src_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub unicast_peers: Vec<UnicastPeer>,
    /// True when adverts are unicast to `unicast_peers`.
    pub unicast: bool,
    /// Multicast destination (`mcast_dst_ip` or the global group); `None`
    /// when unicasting.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `unicast_ttl` (IPv4 default 255).
    pub ttl: Option<u8>,
    pub check_unicast_src: bool,
    /// `unicast_fault_no_peer` with no peers: the instance starts in FAULT.
    pub fault_no_peer: bool,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedRef>,
    pub track_files: Vec<TrackedRef>,
    pub track_processes: Vec<TrackedRef>,
    pub dont_track_primary: bool,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub notify: NotifyScripts,
    /// `notify_deleted` given (with or without a script).
    pub notify_deleted: bool,
    pub smtp_alert: bool,
    pub notify_priority_changes: bool,
    pub use_vmac: Option<Vmac>,
    pub use_vmac_addr: bool,
    pub accept: bool,
    pub strict_mode: bool,
    pub garp: GarpSettings,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub promote_secondaries: bool,
    pub skip_check_adv_addr: bool,
    pub down_timer_adverts: u32,
    pub debug: u8,
    pub kernel_rx_buf_size: Option<u32>,
    pub sync_group: Option<String>,
}

/// A completed `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroup {
    pub name: String,
    pub loc: Loc,
    /// Member instances that exist (in `group {}` order).
    pub members: Vec<String>,
    pub notify: NotifyScripts,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedRef>,
    pub track_files: Vec<TrackedRef>,
    pub track_processes: Vec<TrackedRef>,
    /// `sync_group_tracking_weight` (or deprecated `global_tracking`).
    pub tracking_weight: bool,
    pub smtp_alert: Option<bool>,
    pub notify_priority_changes: Option<bool>,
}

/// Where a script is configured, for the parent's script-security checks
/// and its script runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptOwner<'a> {
    VrrpScript(&'a str),
    Instance(&'a str),
    SyncGroup(&'a str),
}

impl VrrpConfig {
    /// Every script of the VRRP sections: `vrrp_script`s and the notify
    /// scripts of instances and sync groups, with the keyword naming it.
    pub fn scripts(&self) -> Vec<(ScriptOwner<'_>, &'static str, &ScriptSpec)> {
        let mut v = Vec::new();
        for s in &self.scripts {
            v.push((ScriptOwner::VrrpScript(&s.name), "script", &s.script));
        }
        for i in &self.instances {
            for (k, s) in i.notify.all() {
                v.push((ScriptOwner::Instance(&i.name), k, s));
            }
        }
        for g in &self.sync_groups {
            for (k, s) in g.notify.all() {
                v.push((ScriptOwner::SyncGroup(&g.name), k, s));
            }
        }
        v
    }

    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }

    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.scripts.iter().find(|s| s.name == name)
    }
}

impl crate::model::Config {
    /// Every script the configuration can run (global, VRRP), for the
    /// parent's `enable_script_security` checks. The LVS sections' scripts
    /// are listed by the LVS model.
    pub fn vrrp_and_global_scripts(&self) -> Vec<&ScriptSpec> {
        let mut v: Vec<&ScriptSpec> = self.global.scripts().into_iter().map(|(_, s)| s).collect();
        v.extend(self.vrrp.scripts().into_iter().map(|(_, _, s)| s));
        v
    }
}

/// Top-level keywords this module handles.
pub fn is_top_level(keyword: &str) -> bool {
    matches!(
        keyword,
        "vrrp_script"
            | "track_file"
            | "vrrp_track_file"
            | "vrrp_track_process"
            | "vrrp_instance"
            | "vrrp_sync_group"
            | "static_ipaddress"
            | "static_routes"
            | "static_rules"
    )
}
