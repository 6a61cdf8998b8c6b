//! Reading the VRRP sections, keyword by keyword, in file order.

use super::addr::{self, Family, IpAddress, Route, Rule};
use super::{
    AuthType, NotifyScripts, ParamMatch, State, TrackFile, TrackFileInit, TrackProcess,
    TrackedInterface, TrackedRef, UnicastPeer, Vmac, VrrpConfig, VrrpScript,
};
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use crate::model::bfd::{self, BfdInstance};
use crate::model::global::VrrpVersion;
use crate::model::relevel::{Kind, leaves};
use crate::model::util::{
    self, ScriptSpec, TIMER_HZ, TIMER_HZ_DIGITS, arg_or_missing, micros, parse_bool_word,
    read_decimal, read_int, read_unsigned,
};
use std::net::IpAddr;

pub(crate) type RulePrio = addr::RulePriorities;

/// A `vrrp_instance` as read, before `finish` completes it. `None` means
/// "not configured" where keepalived distinguishes that.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawInstance {
    pub name: String,
    pub loc: Loc,
    pub family: Option<Family>,
    pub wantstate: Option<State>,
    pub interface: Option<String>,
    /// Where `interface` was given.
    pub interface_loc: Option<Loc>,
    pub vrid: Option<u8>,
    pub priority: Option<u8>,
    /// Microseconds.
    pub advert_int: Option<u64>,
    pub version: Option<VrrpVersion>,
    pub auth_type: Option<AuthType>,
    pub auth_pass: Option<Vec<u8>>,
    pub vips: Vec<IpAddress>,
    pub evips: Vec<IpAddress>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
    pub src_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub mcast_dst: Option<IpAddr>,
    pub peers: Vec<UnicastPeer>,
    pub unicast_configured: bool,
    pub fault_no_peer: bool,
    pub check_unicast_src: bool,
    pub ttl: Option<u8>,
    pub track_ifs: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedRef>,
    pub track_files: Vec<TrackedRef>,
    pub track_processes: Vec<TrackedRef>,
    pub dont_track_primary: bool,
    pub nopreempt: bool,
    /// Microseconds.
    pub preempt_delay: u64,
    pub notify: NotifyScripts,
    pub notify_deleted: bool,
    pub smtp_alert: Option<bool>,
    pub notify_priority_changes: Option<bool>,
    pub vmac: Option<Vmac>,
    pub vmac_addr: bool,
    pub xmit_base: bool,
    pub mac_specified: bool,
    pub accept: Option<bool>,
    pub strict: Option<bool>,
    pub garp_delay: Option<u64>,
    pub garp_rep: Option<u32>,
    pub garp_refresh: Option<u64>,
    pub garp_refresh_rep: Option<u32>,
    pub garp_lower_prio_delay: Option<u64>,
    pub garp_lower_prio_rep: Option<u32>,
    /// `garp_extra_if` / `vmac_garp_intvl` seconds (0: off).
    pub garp_extra_if: Option<u64>,
    pub garp_extra_if_all: bool,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub promote_secondaries: bool,
    pub skip_check_adv_addr: bool,
    pub down_timer_adverts: Option<u32>,
    pub debug: u8,
    pub kernel_rx_buf_size: Option<u32>,
}

impl RawInstance {
    fn new(name: &str, loc: &Loc) -> Self {
        Self {
            name: name.to_string(),
            loc: loc.clone(),
            family: None,
            wantstate: None,
            interface: None,
            interface_loc: None,
            vrid: None,
            priority: None,
            advert_int: None,
            version: None,
            auth_type: None,
            auth_pass: None,
            vips: Vec::new(),
            evips: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            src_ip: None,
            track_src_ip: false,
            mcast_dst: None,
            peers: Vec::new(),
            unicast_configured: false,
            fault_no_peer: false,
            check_unicast_src: false,
            ttl: None,
            track_ifs: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            dont_track_primary: false,
            nopreempt: false,
            preempt_delay: 0,
            notify: NotifyScripts::default(),
            notify_deleted: false,
            smtp_alert: None,
            notify_priority_changes: None,
            vmac: None,
            vmac_addr: false,
            xmit_base: false,
            mac_specified: false,
            accept: None,
            strict: None,
            garp_delay: None,
            garp_rep: None,
            garp_refresh: None,
            garp_refresh_rep: None,
            garp_lower_prio_delay: None,
            garp_lower_prio_rep: None,
            garp_extra_if: None,
            garp_extra_if_all: false,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            promote_secondaries: false,
            skip_check_adv_addr: false,
            down_timer_adverts: None,
            debug: 0,
            kernel_rx_buf_size: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawSyncGroup {
    pub name: String,
    pub loc: Loc,
    /// `None`: no `group {}` block.
    pub members: Option<Vec<String>>,
    pub notify: NotifyScripts,
    pub track_ifs: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedRef>,
    pub track_files: Vec<TrackedRef>,
    pub track_processes: Vec<TrackedRef>,
    pub tracking_weight: bool,
    pub smtp_alert: Option<bool>,
    pub notify_priority_changes: Option<bool>,
}

/// The words of a block's lines, flattened (keepalived's `read_value_block`).
fn value_block(node: &Node) -> Vec<String> {
    let mut v = Vec::new();
    for c in node.children() {
        v.push(c.keyword.clone());
        v.extend(c.args.iter().cloned());
    }
    v
}

/// How keepalived reads the keywords of a `vrrp_instance` block.
pub fn instance_level(keyword: &str) -> Kind {
    match keyword {
        "authentication" => Kind::Block(leaves),
        "virtual_ipaddress"
        | "virtual_ipaddress_excluded"
        | "virtual_routes"
        | "virtual_rules"
        | "unicast_peer"
        | "track_interface"
        | "track_script"
        | "track_file"
        | "track_process"
        | "track_bfd" => Kind::Values,
        _ => Kind::Leaf,
    }
}

/// How keepalived reads the keywords of a `vrrp_sync_group` block.
pub fn sync_group_level(keyword: &str) -> Kind {
    match keyword {
        "group" | "track_interface" | "track_script" | "track_file" | "track_process"
        | "track_bfd" => Kind::Values,
        _ => Kind::Leaf,
    }
}

fn unknown(node: &Node, diags: &mut Diagnostics) {
    diags.warn(&node.loc, format!("Unknown keyword '{}'", node.keyword));
}

/// A top-level VRRP section. `bfds`: the `bfd_instance` blocks read so
/// far (`track_bfd` names them).
pub fn parse_top_level(
    node: &Node,
    out: &mut VrrpConfig,
    bfds: &[BfdInstance],
    diags: &mut Diagnostics,
) {
    match node.keyword.as_str() {
        "vrrp_script" => parse_vrrp_script(node, out, diags),
        "track_file" | "vrrp_track_file" => parse_track_file(node, out, diags),
        "vrrp_track_process" => parse_track_process(node, out, diags),
        "vrrp_instance" => parse_instance(node, out, bfds, diags),
        "vrrp_sync_group" => parse_sync_group(node, out, bfds, diags),
        "static_ipaddress" => {
            for c in node.children() {
                if let Some(a) = addr::parse_ip_address(c, true, diags) {
                    out.static_addresses.push(a);
                }
            }
        }
        "static_routes" => {
            for c in node.children() {
                if let Some(r) = addr::parse_route(c, true, diags) {
                    out.static_routes.push(r);
                }
            }
        }
        "static_rules" => {
            for c in node.children() {
                if let Some(r) = addr::parse_rule(c, true, &mut out.rule_prio, diags) {
                    out.static_rules.push(r);
                }
            }
        }
        _ => unknown(node, diags),
    }
}

// ---------------------------------------------------------------------------
// vrrp_script, track_file, vrrp_track_process
// ---------------------------------------------------------------------------

fn parse_vrrp_script(node: &Node, out: &mut VrrpConfig, diags: &mut Diagnostics) {
    let Some(name) = arg_or_missing(node, 0, diags) else {
        return;
    };
    let mut script: Option<ScriptSpec> = None;
    let mut s = VrrpScript {
        name: name.to_string(),
        script: ScriptSpec {
            argv: Vec::new(),
            user: None,
            group: None,
            loc: node.loc.clone(),
        },
        interval: std::time::Duration::from_secs(1),
        timeout: None,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
        loc: node.loc.clone(),
    };
    let mut user: Option<(String, Option<String>)> = None;
    let max_secs = u64::from(u32::MAX) / TIMER_HZ;
    for st in node.children() {
        let loc = &st.loc;
        match st.keyword.as_str() {
            "script" => {
                if st.args.is_empty() {
                    continue;
                }
                script = util::parse_script(st, false, diags);
            }
            "interval" | "timeout" => {
                let Some(a) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                let k = st.keyword.as_str();
                let Some(mut v) = read_unsigned(st, a, 0, max_secs, diags) else {
                    if k == "interval" {
                        diags.warn(
                            loc,
                            format!(
                                "({name}): vrrp script interval '{a}' must be between 1 and {max_secs} - ignoring"
                            ),
                        );
                    } else {
                        diags.warn(
                            loc,
                            format!("({name}): vrrp script timeout '{a}' invalid - ignoring"),
                        );
                    }
                    continue;
                };
                if v == 0 {
                    diags.warn(
                        loc,
                        format!("({name}): vrrp script {k} must be greater than 0, setting to 1"),
                    );
                    v = 1;
                }
                let d = std::time::Duration::from_secs(v);
                if k == "interval" {
                    s.interval = d;
                } else {
                    s.timeout = Some(d);
                }
            }
            "weight" => {
                let Some(a) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                match read_int(st, a, -253, 253, diags) {
                    Some(w) => s.weight = w as i32,
                    None => diags.warn(
                        loc,
                        format!("vrrp_script {name} weight {a} must be in [-253, 253]"),
                    ),
                }
                if let Some(o) = st.arg(1) {
                    if o == "reverse" {
                        s.weight_reverse = true;
                    } else {
                        diags.warn(loc, format!("vrrp_script {name} unknown weight option {o}"));
                    }
                }
            }
            "rise" | "fall" => {
                let Some(a) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                let k = st.keyword.as_str();
                let v = match read_unsigned(st, a, 1, i32::MAX as u64, diags) {
                    Some(v) => v as u32,
                    None => {
                        diags.warn(
                            loc,
                            format!(
                                "({name}): vrrp script {k} value '{a}' invalid, defaulting to 1"
                            ),
                        );
                        1
                    }
                };
                if k == "rise" {
                    s.rise = v;
                } else {
                    s.fall = v;
                }
            }
            "user" => {
                let Some(u) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                user = Some((u.to_string(), st.arg(1).map(str::to_string)));
            }
            "init_fail" => s.init_fail = true,
            _ => unknown(st, diags),
        }
    }
    let Some(mut script) = script else {
        diags.warn(
            &node.close_loc(),
            format!("No script set for vrrp_script {name} - removing"),
        );
        return;
    };
    if let Some((u, g)) = user {
        script.user = Some(u);
        script.group = g;
    }
    s.script = script;
    out.scripts.push(s);
}

fn parse_track_file(node: &Node, out: &mut VrrpConfig, diags: &mut Diagnostics) {
    if node.keyword == "vrrp_track_file" {
        diags.warn(
            &node.loc,
            "\"vrrp_track_file\" is deprecated, please use \"track_file\"",
        );
    }
    let Some(name) = arg_or_missing(node, 0, diags) else {
        return;
    };
    let mut f = TrackFile {
        name: name.to_string(),
        path: String::new(),
        weight: 1,
        weight_reverse: false,
        init: None,
        loc: node.loc.clone(),
    };
    let mut path: Option<String> = None;
    for st in node.children() {
        let loc = &st.loc;
        match st.keyword.as_str() {
            "file" => match st.arg(0) {
                None => diags.warn(loc, "track file file name missing"),
                Some(p) if path.is_some() => diags.warn(
                    loc,
                    format!("File already set for track file {name} - ignoring {p}"),
                ),
                Some(p) => path = Some(p.to_string()),
            },
            "weight" => {
                let Some(a) = st.arg(0) else {
                    diags.warn(
                        loc,
                        format!("No weight specified for track file {name} - ignoring"),
                    );
                    continue;
                };
                if f.weight != 1 {
                    diags.warn(
                        loc,
                        format!("Weight already set for track file {name} - ignoring {a}"),
                    );
                    continue;
                }
                f.weight = match read_int(st, a, -254, 254, diags) {
                    Some(w) => w as i32,
                    None => {
                        diags.warn(
                            loc,
                            format!(
                                "Weight ({a}) for track_file {name} must be between [-254..254] inclusive. Ignoring..."
                            ),
                        );
                        1
                    }
                };
                if let Some(o) = st.arg(1) {
                    if o == "reverse" {
                        f.weight_reverse = true;
                    } else {
                        diags.warn(loc, format!("track_file {name} unknown weight option {o}"));
                    }
                }
            }
            "init_file" => {
                let mut init = TrackFileInit {
                    value: 0,
                    overwrite: false,
                };
                for w in &st.args {
                    let t = w.trim_start();
                    if t.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                        let mut sub = Diagnostics::new();
                        match read_int(st, t, i64::from(i32::MIN), i64::from(i32::MAX), &mut sub) {
                            Some(v) => {
                                if !(-254..=254).contains(&v) {
                                    diags.warn(
                                        loc,
                                        format!(
                                            "Track file {name} init value {v} is outside sensible range [-254, 254]"
                                        ),
                                    );
                                }
                                init.value = v as i32;
                            }
                            None => {
                                diags.extend(sub);
                                diags.warn(
                                    loc,
                                    format!("Track file {name} init value {t} is invalid"),
                                );
                                init.value = 0;
                            }
                        }
                    } else if t == "overwrite" {
                        init.overwrite = true;
                    } else {
                        diags.warn(loc, format!("Unknown track file init option {t}"));
                    }
                }
                f.init = Some(init);
            }
            _ => unknown(st, diags),
        }
    }
    let Some(path) = path else {
        diags.warn(
            &node.close_loc(),
            format!("No file set for track_file {name} - ignoring"),
        );
        return;
    };
    f.path = path;
    out.track_files.push(f);
}

fn parse_track_process(node: &Node, out: &mut VrrpConfig, diags: &mut Diagnostics) {
    let Some(name) = arg_or_missing(node, 0, diags) else {
        return;
    };
    let mut p = TrackProcess {
        name: name.to_string(),
        process: String::new(),
        params: Vec::new(),
        param_match: ParamMatch::None,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        terminate_delay: None,
        fork_delay: None,
        full_command: false,
        loc: node.loc.clone(),
    };
    let mut have_process = false;
    for st in node.children() {
        let loc = &st.loc;
        match st.keyword.as_str() {
            "process" => {
                let Some(path) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                if have_process {
                    diags.warn(
                        loc,
                        format!("Process already set for track process {name} - ignoring {path}"),
                    );
                    continue;
                }
                have_process = true;
                p.process = path.to_string();
                if st.args.len() > 1 {
                    p.params = st.args[1..].to_vec();
                    if p.param_match == ParamMatch::None {
                        p.param_match = ParamMatch::Exact;
                    }
                    p.full_command = true;
                }
            }
            "param_match" => match st.arg(0) {
                None => {
                    p.param_match = ParamMatch::Exact;
                    p.full_command = true;
                }
                Some("initial") => {
                    p.param_match = ParamMatch::Initial;
                    p.full_command = true;
                }
                Some("partial") => {
                    p.param_match = ParamMatch::Partial;
                    p.full_command = true;
                }
                Some(o) => diags.warn(loc, format!("Invalid param_match type {o} - ignoring")),
            },
            "weight" => {
                let Some(a) = st.arg(0) else {
                    diags.warn(
                        loc,
                        format!("No weight specified for track process {name} - ignoring"),
                    );
                    continue;
                };
                if p.weight != 0 {
                    diags.warn(
                        loc,
                        format!("Weight already set for track process {name} - ignoring {a}"),
                    );
                    continue;
                }
                let Some(w) = read_int(st, a, -254, 254, diags) else {
                    diags.warn(
                        loc,
                        format!(
                            "Weight ({a}) for vrrp_track_process {name} must be between [-254..254] inclusive. Ignoring..."
                        ),
                    );
                    continue;
                };
                if let Some(o) = st.arg(1) {
                    if o == "reverse" {
                        p.weight_reverse = true;
                    } else {
                        diags.warn(
                            loc,
                            format!("vrrp_track_process {name} unknown weight option {o}"),
                        );
                    }
                }
                p.weight = w as i32;
            }
            "quorum" => {
                let Some(a) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                let Some(q) = read_unsigned(st, a, 1, 65535, diags) else {
                    diags.warn(
                        loc,
                        format!(
                            "Quorum ({a}) for vrrp_track_process {name} must be between [1..65535] inclusive. Ignoring..."
                        ),
                    );
                    continue;
                };
                if p.quorum_max.is_some_and(|m| q as u32 > m) {
                    diags.warn(loc, "Quorum is greater than quorum_max - ignoring");
                    continue;
                }
                p.quorum = q as u32;
            }
            "quorum_max" => {
                let Some(a) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                let Some(m) = read_unsigned(st, a, 0, 65535, diags) else {
                    diags.warn(
                        loc,
                        format!(
                            "quorum_max ({a}) for vrrp_track_process {name} must be between [0..65535] inclusive. Ignoring..."
                        ),
                    );
                    continue;
                };
                let m = m as u32;
                if (m != 0 || p.quorum > 1) && m < p.quorum {
                    diags.warn(loc, "quorum_max is less than quorum - ignoring");
                    continue;
                }
                p.quorum_max = Some(m);
                if m == 0 {
                    p.quorum = 0;
                } else if p.quorum == 0 {
                    p.quorum = 1;
                }
            }
            "delay" | "terminate_delay" | "fork_delay" => {
                let Some(a) = arg_or_missing(st, 0, diags) else {
                    continue;
                };
                let k = st.keyword.as_str();
                let Some(v) = read_decimal(st, a, 1, 3600 * TIMER_HZ, TIMER_HZ_DIGITS, diags)
                else {
                    let prefix = match k {
                        "terminate_delay" => "terminate_",
                        "fork_delay" => "fork_",
                        _ => "",
                    };
                    diags.warn(
                        loc,
                        format!(
                            "{prefix}delay ({a}) for vrrp_track_process {name} must be between [0.000001..3600] inclusive. Ignoring..."
                        ),
                    );
                    continue;
                };
                if k != "fork_delay" {
                    p.terminate_delay = Some(micros(v));
                }
                if k != "terminate_delay" {
                    p.fork_delay = Some(micros(v));
                }
            }
            "full_command" => p.full_command = true,
            _ => unknown(st, diags),
        }
    }
    if !have_process {
        diags.warn(
            &node.close_loc(),
            format!("track process '{name}' process name not specified"),
        );
        return;
    }
    out.track_processes.push(p);
}

// ---------------------------------------------------------------------------
// Tracking lists shared by instances and sync groups
// ---------------------------------------------------------------------------

/// `weight N [reverse|noreverse]` after a tracked name. Returns `None` when
/// keepalived drops the line.
fn track_weight(
    owner: &str,
    kind: &str,
    line: &Node,
    default: (i32, bool),
    diags: &mut Diagnostics,
) -> Option<(i32, bool)> {
    let tracked = line.keyword.as_str();
    let loc = &line.loc;
    let (mut weight, mut reverse) = default;
    let Some(opt) = line.arg(0) else {
        return Some((weight, reverse));
    };
    if opt != "weight" {
        let msg = match kind {
            "interface" => {
                format!("({owner}) unknown track_interface {tracked} option {opt} - ignoring")
            }
            "script" => format!("({owner}) unknown track script option {opt} - ignoring"),
            "file" => format!("({owner}) unknown track file option {opt} - ignoring"),
            _ => format!("({owner}) unknown track process option {opt} - ignoring"),
        };
        diags.warn(loc, msg);
        return None;
    }
    let Some(w) = line.arg(1) else {
        let msg = match kind {
            "interface" => format!(
                "({owner}) weight without value specified for track_interface {tracked} - ignoring"
            ),
            _ => format!(
                "({owner}) weight without value specified for track {kind} {tracked} - ignoring"
            ),
        };
        diags.warn(loc, msg);
        return None;
    };
    match read_int(line, w, -254, 254, diags) {
        None => {
            let msg = match kind {
                "interface" => {
                    weight = 0;
                    format!(
                        "({owner}) weight {w} for {tracked} must be between [-253..253] inclusive. Ignoring..."
                    )
                }
                "script" => format!(
                    "({owner}) track script {tracked}: weight must be between [-253..253] inclusive, ignoring..."
                ),
                "file" => format!(
                    "({owner}) weight for track file {tracked} must be in [-254..254] inclusive. Ignoring..."
                ),
                _ => format!(
                    "({owner}) weight for track process {tracked} must be in [-254..254] inclusive. Ignoring..."
                ),
            };
            diags.warn(loc, msg);
        }
        Some(v) if (v == 254 || v == -254) && (kind == "interface" || kind == "script") => {
            diags.warn(
                loc,
                format!("({owner}) weight for {tracked} cannot be +/-254. Setting to +/-253"),
            );
            weight = if v < 0 { -253 } else { 253 };
        }
        Some(v) => weight = v as i32,
    }
    if let Some(o) = line.arg(2) {
        match o {
            "reverse" => reverse = true,
            "noreverse" if kind != "interface" => reverse = false,
            _ => {
                let msg = match kind {
                    "interface" => format!(
                        "({owner}) unknown track_interace {tracked} weight option {o} - ignoring"
                    ),
                    "script" => format!(
                        "({owner}) unknown track_script {tracked} weight option {o} - ignoring"
                    ),
                    "file" => format!(
                        "({owner}) unknown track file {tracked} weight option {o} - ignoring"
                    ),
                    _ => format!(
                        "({owner}) unknown track_process {tracked} weight option {o} - ignoring"
                    ),
                };
                diags.warn(loc, msg);
                if kind == "file" {
                    return None;
                }
            }
        }
    }
    Some((weight, reverse))
}

fn track_interfaces(
    owner: &str,
    node: &Node,
    list: &mut Vec<TrackedInterface>,
    diags: &mut Diagnostics,
) {
    for line in node.children() {
        let name = line.keyword.as_str();
        if list.iter().any(|t| t.name == name) {
            diags.warn(
                &line.loc,
                format!("({owner}) duplicate track_interface {name} - ignoring"),
            );
            continue;
        }
        if let Some((weight, reverse)) = track_weight(owner, "interface", line, (0, false), diags) {
            list.push(TrackedInterface {
                name: name.to_string(),
                weight,
                reverse,
            });
        }
    }
}

fn track_refs(
    owner: &str,
    kind: &str,
    node: &Node,
    defined: &dyn Fn(&str) -> Option<(i32, bool)>,
    list: &mut Vec<TrackedRef>,
    diags: &mut Diagnostics,
) {
    for line in node.children() {
        let name = line.keyword.as_str();
        let Some(default) = defined(name) else {
            diags.warn(
                &line.loc,
                format!("({owner}) track {kind} {name} not found, ignoring..."),
            );
            continue;
        };
        if list.iter().any(|t| t.name == name) {
            let k = if kind == "file" {
                "track_file"
            } else if kind == "script" {
                "track_script"
            } else {
                "track_process"
            };
            diags.warn(
                &line.loc,
                format!("({owner}) duplicate {k} {name} - ignoring"),
            );
            continue;
        }
        if let Some((weight, reverse)) = track_weight(owner, kind, line, default, diags) {
            list.push(TrackedRef {
                name: name.to_string(),
                weight,
                reverse,
            });
        }
    }
}

/// `track_script {}`, `track_file {}`, `track_process {}`, resolved
/// against what has been defined so far.
fn track_block(
    owner: &str,
    st: &Node,
    out: &VrrpConfig,
    scripts: &mut Vec<TrackedRef>,
    files: &mut Vec<TrackedRef>,
    processes: &mut Vec<TrackedRef>,
    diags: &mut Diagnostics,
) {
    match st.keyword.as_str() {
        "track_script" => {
            let f = |n: &str| out.script(n).map(|s| (s.weight, s.weight_reverse));
            track_refs(owner, "script", st, &f, scripts, diags);
        }
        "track_file" => {
            let f = |n: &str| {
                out.track_files
                    .iter()
                    .find(|t| t.name == n)
                    .map(|t| (t.weight, t.weight_reverse))
            };
            track_refs(owner, "file", st, &f, files, diags);
        }
        _ => {
            let f = |n: &str| {
                out.track_processes
                    .iter()
                    .find(|t| t.name == n)
                    .map(|t| (t.weight, t.weight_reverse))
            };
            track_refs(owner, "process", st, &f, processes, diags);
        }
    }
}

/// `notify*` keywords. `prefix` is keepalived's message prefix (`(VI_1)`
/// or `vrrp group G:`).
fn notify_keyword(st: &Node, prefix: &str, n: &mut NotifyScripts, diags: &mut Diagnostics) {
    let k = st.keyword.as_str();
    let slot = match k {
        "notify_master" => &mut n.master,
        "notify_backup" => &mut n.backup,
        "notify_fault" => &mut n.fault,
        "notify_stop" => &mut n.stop,
        "notify" => &mut n.notify,
        "notify_deleted" => &mut n.deleted,
        _ => &mut n.master_rx_lower_pri,
    };
    let Some(first) = arg_or_missing(st, 0, diags) else {
        return;
    };
    if slot.is_some() {
        let what = if k == "notify" {
            "notify".to_string()
        } else {
            k.to_string()
        };
        diags.warn(
            &st.loc,
            format!("{prefix} {what} script already specified - ignoring {first}"),
        );
        return;
    }
    *slot = util::parse_script(st, true, diags);
}

// ---------------------------------------------------------------------------
// vrrp_instance
// ---------------------------------------------------------------------------

fn set_family(inst: &mut RawInstance, f: Family) -> bool {
    match inst.family {
        None => {
            inst.family = Some(f);
            true
        }
        Some(x) => x == f,
    }
}

fn bool_opt(st: &Node, name: &str, key: &str, diags: &mut Diagnostics) -> Option<bool> {
    match st.arg(0) {
        None => Some(true),
        Some(a) => match parse_bool_word(a) {
            Some(b) => Some(b),
            None => {
                diags.warn(&st.loc, format!("({name}) invalid {key} {a} specified"));
                None
            }
        },
    }
}

fn parse_mac(s: &str) -> Option<([u8; 6], bool)> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        return None;
    }
    let parts: Vec<&str> = s.split(':').collect();
    let mut mac = [0u8; 6];
    // 5 octets (optionally with a trailing ':'): the last is the VRID.
    let (n, use_vrid) = match parts.len() {
        6 if parts[5].is_empty() => (5, true),
        6 => (6, false),
        5 => (5, true),
        _ => return None,
    };
    for (i, p) in parts.iter().take(n).enumerate() {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        mac[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some((mac, use_vrid))
}

fn parse_instance(
    node: &Node,
    out: &mut VrrpConfig,
    bfds: &[BfdInstance],
    diags: &mut Diagnostics,
) {
    if node.args.len() != 1 {
        diags.warn(&node.loc, "vrrp_instance must have a name");
        return;
    }
    let name = node.args[0].as_str();
    if out.pending.iter().any(|i| i.name == name) {
        diags.warn(&node.loc, format!("vrrp instance {name} already defined"));
        return;
    }
    let mut inst = RawInstance::new(name, &node.loc);
    for st in node.children() {
        instance_keyword(st, &mut inst, out, bfds, diags);
    }
    // vrrp_end_handler
    if inst.unicast_configured && inst.vmac.is_some() {
        if inst.interface.is_none() {
            diags.warn(
                &node.loc,
                format!("({name}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"),
            );
            inst.vmac = None;
        } else if !inst.xmit_base {
            diags.warn(
                &node.loc,
                format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
            );
            inst.xmit_base = true;
        }
    }
    if inst.peers.is_empty() && inst.ttl.is_some() {
        diags.warn(
            &node.loc,
            format!("({name}): Cannot use unicast_ttl without unicast peers - resetting"),
        );
        inst.ttl = None;
    }
    out.pending.push(inst);
}

fn instance_keyword(
    st: &Node,
    inst: &mut RawInstance,
    out: &mut VrrpConfig,
    bfds: &[BfdInstance],
    diags: &mut Diagnostics,
) {
    let name = inst.name.clone();
    let name = name.as_str();
    let loc = &st.loc;
    let k = st.keyword.as_str();
    match k {
        "state" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match a {
                "MASTER" => inst.wantstate = Some(State::Master),
                "BACKUP" => {
                    if inst.wantstate == Some(State::Master) {
                        diags.warn(
                            loc,
                            format!("({name}) state previously set as MASTER - ignoring BACKUP"),
                        );
                    } else {
                        inst.wantstate = Some(State::Backup);
                    }
                }
                _ => {
                    diags.warn(
                        loc,
                        format!("({name}) unknown state '{a}', defaulting to BACKUP"),
                    );
                    inst.wantstate = Some(State::Backup);
                }
            }
        }
        "interface" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            if a.len() >= 16 {
                diags.warn(loc, format!("Interface name '{a}' too long - ignoring"));
                return;
            }
            if a == "lo" {
                diags.warn(
                    loc,
                    format!("({name}) cannot use a loopback interface ({a}) for vrrp - ignoring"),
                );
                inst.interface = None;
                return;
            }
            inst.interface = Some(a.to_string());
            inst.interface_loc = Some(loc.clone());
        }
        "virtual_router_id" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 1, 255, diags) {
                Some(v) => inst.vrid = Some(v as u8),
                None => diags.warn(
                    loc,
                    format!("({name}): VRID '{a}' not valid - must be between 1 & 255"),
                ),
            }
        }
        "priority" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 1, 255, diags) {
                Some(v) => inst.priority = Some(v as u8),
                None => {
                    diags.warn(
                        loc,
                        format!("({name}) Priority not valid! must be between 1 & 255. Using default 100"),
                    );
                    inst.priority = Some(100);
                }
            }
        }
        "advert_int" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_decimal(
                st,
                a,
                TIMER_HZ / 100,
                255 * TIMER_HZ,
                TIMER_HZ_DIGITS,
                diags,
            ) {
                Some(v) if v > 0 => inst.advert_int = Some(v),
                _ => diags.warn(
                    loc,
                    format!("({name}) Advert interval ({a}) not valid! Must be > 0 - ignoring"),
                ),
            }
        }
        "version" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let Some(v) = read_int(st, a, 2, 3, diags) else {
                diags.warn(loc, format!("({name}): Version must be either 2 or 3"));
                return;
            };
            let v = if v == 2 {
                VrrpVersion::V2
            } else {
                VrrpVersion::V3
            };
            if inst.version.is_some_and(|x| x != v)
                || (v == VrrpVersion::V2 && inst.family == Some(Family::Ipv6))
            {
                diags.warn(
                    loc,
                    format!(
                        "({name}) vrrp_version {} conflicts with configured or deduced version {}; ignoring.",
                        v.number(),
                        inst.version.map_or(0, VrrpVersion::number)
                    ),
                );
                return;
            }
            inst.version = Some(v);
        }
        "native_ipv6" => {
            if inst.family == Some(Family::Ipv4) {
                diags.warn(
                    loc,
                    format!("({name}) Cannot specify native_ipv6 with IPv4 addresses"),
                );
                return;
            }
            inst.family = Some(Family::Ipv6);
            inst.version = Some(VrrpVersion::V3);
        }
        "authentication" => {
            for a in st.children() {
                match a.keyword.as_str() {
                    "auth_type" => {
                        let Some(t) = arg_or_missing(a, 0, diags) else {
                            continue;
                        };
                        match t {
                            "AH" => inst.auth_type = Some(AuthType::Ah),
                            "PASS" => inst.auth_type = Some(AuthType::Pass),
                            _ => diags.warn(
                                &a.loc,
                                format!("({name}) unknown authentication type '{t}'"),
                            ),
                        }
                    }
                    "auth_pass" => {
                        let Some(p) = arg_or_missing(a, 0, diags) else {
                            continue;
                        };
                        let mut b = p.as_bytes().to_vec();
                        if b.len() > 8 {
                            diags.warn(&a.loc, "Truncating auth_pass to 8 characters");
                            b.truncate(8);
                        }
                        inst.auth_pass = Some(b);
                    }
                    _ => unknown(a, diags),
                }
            }
        }
        "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
            let excluded = k == "virtual_ipaddress_excluded";
            for line in st.children() {
                let Some(a) = addr::parse_ip_address(line, false, diags) else {
                    continue;
                };
                if excluded {
                    inst.evips.push(a);
                    continue;
                }
                if !set_family(inst, a.family()) {
                    diags.warn(
                        &line.loc,
                        format!(
                            "({name}): address family must match VRRP instance [{}] - ignoring",
                            line.keyword
                        ),
                    );
                    continue;
                }
                inst.vips.push(a);
            }
        }
        "virtual_routes" => {
            for line in st.children() {
                if let Some(r) = addr::parse_route(line, false, diags) {
                    inst.routes.push(r);
                }
            }
        }
        "virtual_rules" => {
            for line in st.children() {
                if let Some(r) = addr::parse_rule(line, false, &mut out.rule_prio, diags) {
                    inst.rules.push(r);
                }
            }
        }
        "mcast_src_ip" | "unicast_src_ip" => {
            if k == "unicast_src_ip" {
                inst.unicast_configured = true;
            }
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let Some(ip) = util::parse_ip(a) else {
                diags.warn(
                    loc,
                    format!("Configuration error: VRRP instance[{name}] malformed src address[{a}]. Skipping..."),
                );
                return;
            };
            if !set_family(inst, Family::of(&ip)) {
                diags.warn(
                    loc,
                    format!("Configuration error: VRRP instance[{name}] and src address[{a}] MUST be of the same family !!! Skipping..."),
                );
                inst.src_ip = None;
                return;
            }
            inst.src_ip = Some(ip);
        }
        "mcast_dst_ip" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let Some(ip) = util::parse_ip(a) else {
                diags.warn(
                    loc,
                    format!("({name}) malformed mcast dest address {a}. Skipping..."),
                );
                return;
            };
            if !set_family(inst, Family::of(&ip)) {
                diags.warn(
                    loc,
                    format!("({name}) mcast dest address {a} MUST match VRRP instance family. Skipping..."),
                );
                return;
            }
            let ok = match ip {
                IpAddr::V4(v) => v.is_multicast(),
                IpAddr::V6(v) => v.segments()[0] & 0xff0f == 0xff02,
            };
            if !ok {
                diags.warn(
                    loc,
                    format!(
                        "({name}) mcast_dst_ip {a} not{} multicast. Skipping...",
                        if ip.is_ipv6() { " link-local" } else { "" }
                    ),
                );
                return;
            }
            inst.mcast_dst = Some(ip);
        }
        "track_src_ip" => inst.track_src_ip = true,
        "unicast_ttl" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 0, 255, diags) {
                Some(v) => inst.ttl = Some(v as u8),
                None => diags.warn(
                    loc,
                    format!("({name}): TTL '{a}' not valid - must be between 0 & 255"),
                ),
            }
        }
        "unicast_peer" => {
            inst.unicast_configured = true;
            for line in st.children() {
                unicast_peer(name, line, inst, diags);
            }
        }
        "unicast_fault_no_peer" => {
            inst.unicast_configured = true;
            inst.fault_no_peer = true;
        }
        "check_unicast_src" => {
            inst.unicast_configured = true;
            inst.check_unicast_src = true;
        }
        "old_unicast_checksum" => {
            inst.unicast_configured = true;
            if let Some(a) = st.arg(0)
                && a != "never"
            {
                diags.warn(
                    loc,
                    format!("({name}) Unknown old_unicast_chksum mode {a} - ignoring"),
                );
            }
        }
        "track_interface" => {
            let mut list = std::mem::take(&mut inst.track_ifs);
            track_interfaces(name, st, &mut list, diags);
            inst.track_ifs = list;
        }
        "track_script" | "track_file" | "track_process" => {
            track_block(
                name,
                st,
                out,
                &mut inst.track_scripts,
                &mut inst.track_files,
                &mut inst.track_processes,
                diags,
            );
        }
        "dont_track_primary" => inst.dont_track_primary = true,
        "nopreempt" => inst.nopreempt = true,
        "preempt" => inst.nopreempt = false,
        "preempt_delay" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_decimal(st, a, 0, 1000 * TIMER_HZ, TIMER_HZ_DIGITS, diags) {
                Some(v) => inst.preempt_delay = v,
                None => {
                    diags.warn(
                        loc,
                        format!("({name}) Preempt_delay not valid! must be between 0-1000"),
                    );
                    inst.preempt_delay = 0;
                }
            }
        }
        "notify_master"
        | "notify_backup"
        | "notify_fault"
        | "notify_stop"
        | "notify"
        | "notify_master_rx_lower_pri" => {
            notify_keyword(st, &format!("({name})"), &mut inst.notify, diags);
        }
        "notify_deleted" => {
            if inst.notify_deleted {
                diags.warn(
                    loc,
                    format!(
                        "({name}) notify_deleted already specified - ignoring {}",
                        st.arg(0).unwrap_or("")
                    ),
                );
                return;
            }
            if !st.args.is_empty() {
                inst.notify.deleted = util::parse_script(st, true, diags);
            }
            inst.notify_deleted = true;
        }
        "smtp_alert" => match st.arg(0) {
            None => inst.smtp_alert = Some(true),
            Some(a) => match parse_bool_word(a) {
                Some(b) => inst.smtp_alert = Some(b),
                None => diags.warn(
                    loc,
                    format!("Invalid vrrp_instance smtp_alert parameter {a}"),
                ),
            },
        },
        "notify_priority_changes" => match st.arg(0) {
            None => inst.notify_priority_changes = Some(true),
            Some(a) => match parse_bool_word(a) {
                Some(b) => inst.notify_priority_changes = Some(b),
                None => diags.warn(
                    loc,
                    format!("({name}) Invalid value '{a}' for notify_priority_changes specified"),
                ),
            },
        },
        "use_vmac" => {
            let mut v = inst.vmac.take().unwrap_or(Vmac {
                ifname: None,
                mac: None,
                mac_use_vrid: false,
                xmit_base: false,
            });
            for w in st.args.iter().take(2) {
                if w.contains(':') {
                    if inst.mac_specified {
                        diags.warn(loc, "VMAC interface address already specified");
                        continue;
                    }
                    match parse_mac(w) {
                        None => diags.warn(loc, format!("VMAC invalid MAC address {w} - ignored")),
                        Some((m, _)) if m[0] & 1 != 0 => diags.warn(
                            loc,
                            format!("VMAC MAC address is multicast {w} - ignoring"),
                        ),
                        Some((m, _))
                            if m[..4] == [0x00, 0x00, 0x5e, 0x00] && (m[4] == 1 || m[4] == 2) =>
                        {
                            diags.warn(
                                loc,
                                format!(
                                    "VMAC MAC address not allowed to be RFC5798 address ({w}) - ignoring"
                                ),
                            )
                        }
                        Some((m, use_vrid)) => {
                            v.mac = Some(m);
                            v.mac_use_vrid = use_vrid;
                            inst.mac_specified = true;
                        }
                    }
                } else {
                    if v.ifname.is_some() {
                        diags.warn(loc, "VMAC interface name already specified");
                        continue;
                    }
                    if w.is_empty()
                        || w.len() >= 16
                        || w == "."
                        || w == ".."
                        || w.contains(['/', ' ', '\t'])
                    {
                        diags.warn(
                            loc,
                            format!("VMAC interface name '{w}' too long or invalid characters - ignoring"),
                        );
                        continue;
                    }
                    if let Some(o) = out.pending.iter().find(|o| {
                        o.vmac.as_ref().and_then(|x| x.ifname.as_deref()) == Some(w.as_str())
                    }) {
                        diags.warn(
                            loc,
                            format!(
                                "({name}) VRRP instance {} is already using {w} - ignoring name",
                                o.name
                            ),
                        );
                        continue;
                    }
                    v.ifname = Some(w.clone());
                }
            }
            inst.vmac = Some(v);
        }
        "use_vmac_addr" => inst.vmac_addr = true,
        "vmac_xmit_base" => inst.xmit_base = true,
        "accept" => inst.accept = Some(true),
        "no_accept" => inst.accept = Some(false),
        "strict_mode" => {
            if let Some(b) = bool_opt(st, name, "strict_mode", diags) {
                inst.strict = Some(b);
            }
        }
        "skip_check_adv_addr" => {
            // keepalived 2.2.7 sets the flag for any valid value, even "off".
            if bool_opt(st, name, "skip_check_adv_addr", diags).is_some() {
                inst.skip_check_adv_addr = true;
            }
        }
        "lower_prio_no_advert" => {
            if let Some(b) = bool_opt(st, name, "lower_prio_no_advert", diags) {
                inst.lower_prio_no_advert = Some(b);
            }
        }
        "higher_prio_send_advert" => {
            if let Some(b) = bool_opt(st, name, "higher_prio_send_advert", diags) {
                inst.higher_prio_send_advert = Some(b);
            }
        }
        "promote_secondaries" => inst.promote_secondaries = true,
        "debug" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 0, 4, diags) {
                Some(v) => inst.debug = v as u8,
                None => diags.warn(
                    loc,
                    format!("({name}) Debug value '{a}' not valid; must be between 0-4"),
                ),
            }
        }
        "garp_master_delay" | "garp_lower_prio_delay" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 0, u64::from(u32::MAX) / TIMER_HZ, diags) {
                Some(v) if k == "garp_master_delay" => inst.garp_delay = Some(v),
                Some(v) => inst.garp_lower_prio_delay = Some(v),
                None => diags.warn(loc, format!("({name}): {k} '{a}' invalid - ignoring")),
            }
        }
        "garp_master_refresh" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 0, u64::from(u32::MAX), diags) {
                Some(v) => inst.garp_refresh = Some(v),
                None => {
                    diags.warn(
                        loc,
                        format!("({name}): Invalid garp_master_refresh '{a}' - ignoring"),
                    );
                    inst.garp_refresh = Some(0);
                }
            }
        }
        "garp_master_repeat" | "garp_master_refresh_repeat" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            let Some(mut v) = read_unsigned(st, a, 0, u64::from(u32::MAX), diags) else {
                diags.warn(loc, format!("({name}): {k} '{a}' invalid - ignoring"));
                return;
            };
            if v == 0 {
                diags.warn(
                    loc,
                    format!("({name}): {k} must be greater than 0, setting to 1"),
                );
                v = 1;
            }
            if k == "garp_master_repeat" {
                inst.garp_rep = Some(v as u32);
            } else {
                inst.garp_refresh_rep = Some(v as u32);
            }
        }
        "garp_lower_prio_repeat" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 0, i32::MAX as u64, diags) {
                Some(v) => inst.garp_lower_prio_rep = Some(v as u32),
                None => diags.warn(
                    loc,
                    format!("({name}): Invalid garp_lower_prio_repeat '{a}'"),
                ),
            }
        }
        "down_timer_adverts" => {
            let Some(a) = arg_or_missing(st, 0, diags) else {
                return;
            };
            match read_unsigned(st, a, 1, 100, diags) {
                Some(v) => inst.down_timer_adverts = Some(v as u32),
                None => diags.warn(
                    loc,
                    format!("({name}): Invalid down_timer_adverts [1:100] '{a}'"),
                ),
            }
        }
        "kernel_rx_buf_size" => {
            let v = if st.args.len() == 1 {
                let mut sub = Diagnostics::new();
                let r = read_unsigned(st, &st.args[0], 0, u64::from(u32::MAX), &mut sub);
                diags.extend(sub);
                r
            } else {
                None
            };
            match v {
                Some(v) => inst.kernel_rx_buf_size = Some(v as u32),
                None => diags.warn(
                    loc,
                    format!("({name}) invalid kernel_rx_buf_size specified"),
                ),
            }
        }
        "lvs_sync_daemon_interface" => {
            diags.warn(
                loc,
                format!(
                    "({name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated."
                ),
            );
            crate::model::global::warn_ignored_top_level(st, diags);
        }
        "linkbeat_use_polling" => {
            diags.warn(
                loc,
                format!("({name}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block"),
            );
        }
        "track_bfd" => {
            crate::model::global::warn_ignored_top_level(st, diags);
            bfd::check_track_bfd(name, st, bfds, diags);
        }
        "garp_extra_if" | "vmac_garp_intvl" => {
            let names = ("vmac_garp_intvl", "garp_extra_if");
            let prefix = format!("({name}): ");
            let (all, secs) = util::garp_extra_if(st, 0, names, &prefix, diags);
            inst.garp_extra_if_all |= all;
            if secs.is_some() {
                inst.garp_extra_if = secs;
            }
        }
        "use_ipvlan" | "vrf" => {
            crate::model::global::warn_ignored_top_level(st, diags);
        }
        _ => unknown(st, diags),
    }
}

fn unicast_peer(name: &str, line: &Node, inst: &mut RawInstance, diags: &mut Diagnostics) {
    let a = line.keyword.as_str();
    let loc = &line.loc;
    let Some(ip) = util::parse_ip(a) else {
        diags.warn(
            loc,
            format!("Configuration error: VRRP instance[{name}] malformed unicast peer address[{a}]. Skipping..."),
        );
        return;
    };
    if !set_family(inst, Family::of(&ip)) {
        diags.warn(
            loc,
            format!("Configuration error: VRRP instance[{name}] and unicast peer address[{a}] MUST be of the same family !!! Skipping..."),
        );
        return;
    }
    let mut peer = UnicastPeer {
        addr: ip,
        min_ttl: 0,
        max_ttl: 255,
    };
    let mut i = 0;
    while i < line.args.len() {
        let opt = line.args[i].as_str();
        let Some(v) = line.args.get(i + 1) else {
            diags.warn(loc, format!("({name}) {opt} is missing a value"));
            break;
        };
        if let Some(ttl) = read_unsigned(line, v, 0, 255, diags) {
            match opt {
                "min_ttl" => peer.min_ttl = ttl as u8,
                "max_ttl" => peer.max_ttl = ttl as u8,
                _ => {
                    diags.warn(loc, format!("({name}) unknown unicast_peer option {opt}"));
                    break;
                }
            }
            inst.check_unicast_src = true;
        }
        i += 2;
    }
    if peer.min_ttl > peer.max_ttl {
        diags.warn(
            loc,
            format!(
                "({name}) min_ttl {} > max_ttl {} - all packets will be discarded",
                peer.min_ttl, peer.max_ttl
            ),
        );
    }
    inst.peers.push(peer);
}

// ---------------------------------------------------------------------------
// vrrp_sync_group
// ---------------------------------------------------------------------------

fn parse_sync_group(
    node: &Node,
    out: &mut VrrpConfig,
    bfds: &[BfdInstance],
    diags: &mut Diagnostics,
) {
    if node.args.len() != 1 {
        diags.warn(&node.loc, "vrrp_sync_group must have a name - skipping");
        return;
    }
    let name = node.args[0].as_str();
    if out.raw_groups.iter().any(|g| g.name == name) {
        diags.warn(&node.loc, format!("vrrp sync group {name} already defined"));
        return;
    }
    let mut g = RawSyncGroup {
        name: name.to_string(),
        loc: node.loc.clone(),
        members: None,
        notify: NotifyScripts::default(),
        track_ifs: Vec::new(),
        track_scripts: Vec::new(),
        track_files: Vec::new(),
        track_processes: Vec::new(),
        tracking_weight: false,
        smtp_alert: None,
        notify_priority_changes: None,
    };
    for st in node.children() {
        let loc = &st.loc;
        match st.keyword.as_str() {
            "group" => {
                if g.members.is_some() {
                    diags.warn(
                        loc,
                        format!("Group list already specified for sync group {name}"),
                    );
                    continue;
                }
                let m = value_block(st);
                if m.is_empty() {
                    diags.warn(
                        loc,
                        format!("Warning - sync group {name} has empty group block"),
                    );
                    continue;
                }
                g.members = Some(m);
            }
            "track_interface" => track_interfaces(name, st, &mut g.track_ifs, diags),
            "track_script" | "track_file" | "track_process" => track_block(
                name,
                st,
                out,
                &mut g.track_scripts,
                &mut g.track_files,
                &mut g.track_processes,
                diags,
            ),
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                notify_keyword(st, &format!("vrrp group {name}:"), &mut g.notify, diags);
            }
            "smtp_alert" => match st.arg(0) {
                None => g.smtp_alert = Some(true),
                Some(a) => match parse_bool_word(a) {
                    Some(b) => g.smtp_alert = Some(b),
                    None => diags.warn(
                        loc,
                        format!("Invalid vrrp_group smtp_alert parameter {a}"),
                    ),
                },
            },
            "global_tracking" => {
                diags.warn(
                    loc,
                    format!("({name}) global_tracking is deprecated. Use track_interface/script/file on the sync group"),
                );
                g.tracking_weight = true;
            }
            "sync_group_tracking_weight" => g.tracking_weight = true,
            "notify_priority_changes" => match st.arg(0) {
                None => g.notify_priority_changes = Some(true),
                Some(a) => match parse_bool_word(a) {
                    Some(b) => g.notify_priority_changes = Some(b),
                    None => diags.warn(
                        loc,
                        format!("({name}) Invalid value '{a}' for sync group notify_priority_changes specified"),
                    ),
                },
            },
            "track_bfd" => {
                crate::model::global::warn_ignored_top_level(st, diags);
                bfd::check_track_bfd(name, st, bfds, diags);
            }
            _ => unknown(st, diags),
        }
    }
    out.raw_groups.push(g);
}
