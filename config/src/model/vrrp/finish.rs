//! Completing the VRRP configuration once everything is read, in the order
//! keepalived 2.2.7's `vrrp_complete_init` does it: minimal instance
//! configuration, sync groups, each instance (`vrrp_complete_instance`),
//! then VRID conflicts. Where keepalived refuses the configuration (its
//! VRRP process exits with KEEPALIVED_EXIT_CONFIG) the diagnostic is an
//! error and completion stops there, as keepalived's does; everything
//! keepalived adjusts is a warning.

use super::parse::{RawInstance, RawSyncGroup};
use super::{
    Authentication, Family, GarpSettings, State, SyncGroup, TrackedRef, VrrpConfig, VrrpInstance,
};
use crate::diag::{Diagnostics, Severity};
use crate::model::global::{GlobalDefs, VrrpVersion};
use crate::model::util::{TIMER_HZ, micros};
use std::net::IpAddr;
use std::time::Duration;

/// Default MTU keepalived assumes when sizing adverts (interfaces are not
/// looked at here).
const DEFAULT_MTU: usize = 1500;

/// Warnings without a line are reported against the instance's
/// `vrrp_instance` line.
pub fn finish(out: &mut VrrpConfig, global: &GlobalDefs, diags: &mut Diagnostics) {
    let raws = std::mem::take(&mut out.pending);
    let groups = std::mem::take(&mut out.raw_groups);

    // chk_min_cfg: the first failing instance stops keepalived.
    for r in &raws {
        if r.vrid.is_none() {
            diags.push(
                Severity::Error,
                None,
                format!("({}) the virtual router id must be set", r.name),
            );
            return;
        }
        if r.interface.is_none() {
            diags.push(
                Severity::Error,
                None,
                format!("({}) Unknown interface!", r.name),
            );
            return;
        }
    }

    // Sync groups: membership.
    let mut member_of: Vec<Option<String>> = vec![None; raws.len()];
    for g in groups {
        if let Some(sg) = complete_group(g, &raws, &mut member_of, diags) {
            out.sync_groups.push(sg);
        }
    }

    // Each instance.
    for (idx, r) in raws.into_iter().enumerate() {
        let group = member_of[idx]
            .as_ref()
            .and_then(|n| out.sync_groups.iter().find(|g| &g.name == n));
        match complete_instance(r, group, global, diags) {
            Some(i) => out.instances.push(i),
            None => return,
        }
    }

    check_vrid_conflicts(out, global, diags);
}

fn complete_group(
    g: RawSyncGroup,
    raws: &[RawInstance],
    member_of: &mut [Option<String>],
    diags: &mut Diagnostics,
) -> Option<SyncGroup> {
    let Some(names) = g.members else {
        diags.push(
            Severity::Warning,
            None,
            format!("Sync group {} has no virtual router(s). removing", g.name),
        );
        return None;
    };
    let mut members = Vec::new();
    // keepalived's sgroup->state: None = INIT.
    let mut state: Option<State> = None;
    for n in names {
        let Some(idx) = raws.iter().position(|r| r.name == n) else {
            diags.push(
                Severity::Warning,
                None,
                format!(
                    "Virtual router {n} specified in sync group {} doesn't exist - ignoring",
                    g.name
                ),
            );
            continue;
        };
        if member_of[idx].is_some() {
            diags.push(
                Severity::Warning,
                None,
                format!(
                    "Virtual router {n} cannot exist in more than one sync group; ignoring {}",
                    g.name
                ),
            );
            continue;
        }
        member_of[idx] = Some(g.name.clone());
        members.push(n);
        let r = &raws[idx];
        if state == Some(State::Master) && r.wantstate == Some(State::Backup) {
            diags.push(
                Severity::Warning,
                None,
                format!(
                    "Sync group {} has some member(s) as address owner and some not as address owner. This won't work.",
                    g.name
                ),
            );
        }
        if state != Some(State::Backup) {
            state = Some(
                if r.wantstate == Some(State::Master) && r.priority == Some(255) {
                    State::Master
                } else {
                    State::Backup
                },
            );
        }
    }
    if members.is_empty() {
        diags.push(
            Severity::Warning,
            None,
            format!(
                "Sync group {}, no matching virtual router found in group declaration - removing",
                g.name
            ),
        );
        return None;
    }
    if members.len() == 1 {
        diags.push(
            Severity::Warning,
            None,
            format!(
                "Sync group {} has only 1 virtual router(s) - this probably isn't what you want",
                g.name
            ),
        );
    }
    Some(SyncGroup {
        name: g.name,
        loc: g.loc,
        members,
        notify: g.notify,
        track_interfaces: g.track_ifs,
        track_scripts: g.track_scripts,
        track_files: g.track_files,
        track_processes: g.track_processes,
        tracking_weight: g.tracking_weight,
        smtp_alert: g.smtp_alert,
        notify_priority_changes: g.notify_priority_changes,
    })
}

fn is_link_local6(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V6(v) => v.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

fn secs_f(us: u64) -> f64 {
    us as f64 / TIMER_HZ as f64
}

fn complete_instance(
    mut r: RawInstance,
    group: Option<&SyncGroup>,
    global: &GlobalDefs,
    diags: &mut Diagnostics,
) -> Option<VrrpInstance> {
    let name = r.name.clone();
    let loc = r.loc.clone();
    // keepalived reports these after reading the files: without a line.
    let warn = |diags: &mut Diagnostics, msg: String| diags.push(Severity::Warning, None, msg);
    let error = |diags: &mut Diagnostics, msg: String| diags.push(Severity::Error, None, msg);

    let strict = r.strict.unwrap_or(global.vrrp_strict);

    if r.family == Some(Family::Ipv6) {
        if r.version == Some(VrrpVersion::V2) && strict {
            warn(
                diags,
                format!("({name}) cannot use IPv6 with VRRP version 2; setting version 3"),
            );
            r.version = Some(VrrpVersion::V3);
        } else if r.version.is_none() {
            r.version = Some(VrrpVersion::V3);
        }
    }
    let family = r.family.unwrap_or(Family::Ipv4);
    let version = r.version.unwrap_or(global.vrrp_version);

    if r.vips.is_empty() {
        if version == VrrpVersion::V3 || strict {
            error(
                diags,
                format!("({name}) No VIP specified; at least one is required"),
            );
            return None;
        }
        warn(
            diags,
            format!("({name}) No VIP specified; at least one is sensible"),
        );
    }

    let priority = r.priority.unwrap_or(if r.wantstate == Some(State::Master) {
        255
    } else {
        100
    });
    let owner_state = if priority == 255 {
        State::Master
    } else {
        State::Backup
    };
    let mut state = match r.wantstate {
        None => owner_state,
        Some(s) => {
            if strict && (s == State::Master) != (priority == 255) {
                warn(
                    diags,
                    format!("({name}) State MASTER must match being address owner"),
                );
                owner_state
            } else {
                s
            }
        }
    };

    // Authentication.
    let mut auth = r.auth_type;
    if let Some(t) = auth {
        let pass_empty = r.auth_pass.as_ref().is_none_or(|p| p.is_empty());
        if strict {
            warn(
                diags,
                format!("({name}) Strict mode does not support authentication. Ignoring."),
            );
            auth = None;
        } else if version == VrrpVersion::V3 {
            warn(
                diags,
                format!("({name}) VRRP version 3 does not support authentication. Ignoring."),
            );
            auth = None;
        } else if pass_empty {
            warn(
                diags,
                format!("({name}) Authentication specified but no password given. Ignoring"),
            );
            auth = None;
        } else if family == Family::Ipv6 && t == super::AuthType::Ah {
            warn(
                diags,
                format!("({name}) Cannot use AH authentication with IPv6. ignoring"),
            );
            auth = None;
        } else if t == super::AuthType::Ah && state == State::Master && priority != 255 {
            warn(
                diags,
                format!(
                    "({name}) Initial state master is incompatible with AH authentication - clearing"
                ),
            );
            state = State::Backup;
        }
    }
    let authentication = auth.map(|t| Authentication {
        auth_type: t,
        password: r.auth_pass.clone().unwrap_or_default(),
    });

    // Unicast.
    let mut unicast = false;
    let mut fault_no_peer = false;
    if r.unicast_configured {
        if !r.peers.is_empty() {
            unicast = true;
        } else if r.fault_no_peer {
            fault_no_peer = true;
        } else {
            warn(
                diags,
                format!(
                    "({name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."
                ),
            );
        }
    }

    if strict
        && let Some(v) = r.vmac.as_mut()
        && v.mac.is_some()
    {
        warn(
            diags,
            format!("({name}): cannot specify MAC address with strict mode - clearing"),
        );
        v.mac = None;
        v.mac_use_vrid = false;
    }

    if family == Family::Ipv6
        && !unicast
        && strict
        && r.vips.first().is_some_and(|a| !is_link_local6(&a.addr))
    {
        warn(
            diags,
            format!("({name}) the first IPv6 VIP address must be link local"),
        );
    }

    // Fit the VIPs in an advert.
    let hdr = match family {
        Family::Ipv4 => {
            let mut h = 14 + 20 + 8;
            if version == VrrpVersion::V2 {
                h += 8;
                if authentication
                    .as_ref()
                    .is_some_and(|a| a.auth_type == super::AuthType::Ah)
                {
                    h += 24;
                }
            }
            (DEFAULT_MTU - h) / 4
        }
        Family::Ipv6 => (DEFAULT_MTU - (14 + 40 + 8)) / 16,
    };
    let max_addr = hdr.min(255);
    if r.vips.len() > max_addr {
        warn(
            diags,
            format!(
                "({name}) Number of VIPs ({}) exceeds maximum/space available in packet (max {max_addr} addresses) - excess moved to eVIPs",
                r.vips.len()
            ),
        );
        let extra = r.vips.split_off(max_addr);
        r.evips.extend(extra);
    }

    let mut nopreempt = r.nopreempt;
    if priority == 255 && nopreempt {
        warn(
            diags,
            format!("({name}) nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        nopreempt = false;
    }
    let mut preempt_delay = r.preempt_delay;
    if state == State::Master {
        if nopreempt {
            warn(
                diags,
                format!(
                    "({name}) Warning - nopreempt will not work with initial state MASTER - clearing"
                ),
            );
            nopreempt = false;
        }
        if preempt_delay != 0 {
            warn(
                diags,
                format!(
                    "({name}) Warning - preempt delay will not work with initial state MASTER - clearing"
                ),
            );
            preempt_delay = 0;
        }
    }
    if preempt_delay != 0 {
        if strict {
            warn(
                diags,
                format!("({name}) preempt_delay is incompatible with strict mode - resetting"),
            );
            preempt_delay = 0;
        }
        if nopreempt {
            warn(
                diags,
                format!("({name}) preempt_delay is incompatible with nopreempt mode - resetting"),
            );
            preempt_delay = 0;
        }
    }

    let mut down_timer_adverts = r
        .down_timer_adverts
        .unwrap_or(global.vrrp_down_timer_adverts);
    if down_timer_adverts != 3 && strict {
        warn(
            diags,
            format!("({name}) down_timer_adverts is incompatible with strict mode - resetting"),
        );
        down_timer_adverts = 3;
    }

    let mut accept = r
        .accept
        .unwrap_or(if priority == 255 { true } else { !strict });
    if accept && priority != 255 && strict && version == VrrpVersion::V2 {
        warn(
            diags,
            format!(
                "({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
            ),
        );
        accept = false;
    }

    let mcast_dst_ip = if !unicast {
        Some(r.mcast_dst.unwrap_or(match family {
            Family::Ipv4 => IpAddr::V4(global.vrrp_mcast_group4),
            Family::Ipv6 => IpAddr::V6(global.vrrp_mcast_group6),
        }))
    } else {
        if r.mcast_dst.is_some() {
            warn(
                diags,
                format!("({name}) multicast destination specified with unicast - ignoring"),
            );
        }
        None
    };

    // GARP settings: instance, else global (keepalived copies the global
    // values when the instance is allocated).
    let g_rep = global.vrrp_garp_master_repeat;
    let g_delay = global.vrrp_garp_master_delay;
    let lower_prio_repeat = match r.garp_lower_prio_rep {
        None if strict => 0,
        None => global.vrrp_garp_lower_prio_repeat.unwrap_or(g_rep),
        Some(v) if strict && v != 0 => {
            warn(
                diags,
                format!("({name}) Strict mode requires no repeat garps. resetting"),
            );
            0
        }
        Some(v) => v,
    };
    let lower_prio_delay = match r.garp_lower_prio_delay {
        None if strict => Duration::ZERO,
        None => global.vrrp_garp_lower_prio_delay.unwrap_or(g_delay),
        Some(v) if strict && v != 0 => {
            warn(
                diags,
                format!("({name}) Strict mode requires no repeat garp delay. resetting"),
            );
            Duration::ZERO
        }
        Some(v) => Duration::from_secs(v),
    };
    let lower_prio_no_advert = match r.lower_prio_no_advert {
        None => strict || global.vrrp_lower_prio_no_advert,
        Some(false) if strict => {
            warn(
                diags,
                format!("({name}) Strict mode requires no lower priority advert. resetting"),
            );
            true
        }
        Some(v) => v,
    };
    let higher_prio_send_advert = match r.higher_prio_send_advert {
        None => !strict && global.vrrp_higher_prio_send_advert,
        Some(true) if strict => {
            warn(
                diags,
                format!(
                    "({name}) strict mode requires higher_prio_send_advert to be clear. resetting"
                ),
            );
            false
        }
        Some(v) => v,
    };

    let smtp_alert = r
        .smtp_alert
        .or(global.smtp_alert_vrrp)
        .or(global.smtp_alert)
        .unwrap_or(false);
    let notify_priority_changes = r
        .notify_priority_changes
        .or(group.and_then(|g| g.notify_priority_changes))
        .unwrap_or(global.vrrp_notify_priority_changes);

    // Advert interval.
    let mut adv = r.advert_int.unwrap_or(TIMER_HZ);
    match version {
        VrrpVersion::V2 => {
            if adv >= 256 * TIMER_HZ {
                warn(
                    diags,
                    format!(
                        "({name}) VRRPv2 advertisement interval {:.2}s is out of range. Must be less than 256s. Setting to 255s",
                        secs_f(adv)
                    ),
                );
                adv = 255 * TIMER_HZ;
            } else if adv % TIMER_HZ != 0 {
                warn(
                    diags,
                    format!(
                        "({name}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                        secs_f(adv)
                    ),
                );
                adv += TIMER_HZ / 2;
                adv -= adv % TIMER_HZ;
                if adv == 0 {
                    adv = TIMER_HZ;
                }
            }
        }
        VrrpVersion::V3 => {
            let centi = TIMER_HZ / 100;
            if adv >= 4096 * centi {
                warn(
                    diags,
                    format!(
                        "({name}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                        secs_f(adv)
                    ),
                );
                adv = 4095 * centi;
            } else if adv % centi != 0 {
                warn(
                    diags,
                    format!(
                        "({name}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding",
                        secs_f(adv)
                    ),
                );
                adv += centi / 2;
                adv -= adv % centi;
                if adv == 0 {
                    adv = centi;
                }
            }
        }
    }

    let track_src_ip = r.track_src_ip && r.src_ip.is_some();

    // VMAC adjustments.
    let mut promote_secondaries = r.promote_secondaries;
    if r.vmac.is_some() && promote_secondaries {
        warn(
            diags,
            format!("({name}) promote_secondaries is automatically set for vmacs - ignoring"),
        );
        promote_secondaries = false;
    }

    let interface = r.interface.clone();
    let mut track_interfaces = Vec::new();
    for t in std::mem::take(&mut r.track_ifs) {
        if interface.as_deref() == Some(t.name.as_str()) {
            warn(
                diags,
                format!(
                    "({name}) Ignoring track_interface {} since own interface",
                    t.name
                ),
            );
            continue;
        }
        track_interfaces.push(t);
    }

    let mut xmit_base = r.xmit_base;
    if xmit_base && r.vmac.is_none() {
        warn(
            diags,
            format!("({name}) vmac_xmit_base is only valid with a vmac"),
        );
        xmit_base = false;
    }
    let use_vmac = r.vmac.take().map(|mut v| {
        v.xmit_base = xmit_base;
        v
    });

    // keepalived's vrrp_complete_instance: a VIP's own `use_vmac` is kept
    // only where neither the instance's VMAC (own interface, same family)
    // nor `use_vmac_addr` (another interface or family) already gives it
    // one.
    for a in r.vips.iter_mut().chain(r.evips.iter_mut()) {
        if !a.use_vmac {
            continue;
        }
        let text = if a.prefix == if a.addr.is_ipv4() { 32 } else { 128 } {
            a.addr.to_string()
        } else {
            format!("{}/{}", a.addr, a.prefix)
        };
        let on_own = a.dev.is_none() || a.dev == r.interface;
        let same_family = a.addr.is_ipv4() == (family == Family::Ipv4);
        if on_own && use_vmac.is_some() && same_family {
            warn(
                diags,
                format!("({name}) use_vmac specified for VIP/eVIP {text} and vrrp instance"),
            );
            a.use_vmac = false;
        } else if (!on_own || !same_family) && r.vmac_addr {
            warn(
                diags,
                format!(
                    "({name}) use_vmac_addr specified and use_vmac specified for VIP/eVIP {text}"
                ),
            );
            a.use_vmac = false;
        }
    }

    if r.vips.is_empty() {
        if version == VrrpVersion::V3 || family == Family::Ipv6 || strict {
            error(
                diags,
                format!("({name}) No VIP specified; at least one is required"),
            );
            return None;
        }
        warn(
            diags,
            format!("({name}) No VIP specified; at least one is sensible"),
        );
    }

    // Weighted tracking in a sync group (without tracking weight) or for
    // the address owner.
    let sync_no_weight = group.is_some_and(|g| !g.tracking_weight);
    let mut track_scripts = std::mem::take(&mut r.track_scripts);
    let mut track_files = std::mem::take(&mut r.track_files);
    if sync_no_weight || priority == 255 {
        let why = if sync_no_weight {
            "SYNC group"
        } else {
            "address owner"
        };
        let why2 = if sync_no_weight {
            "SYNC group"
        } else {
            "address_owner"
        };
        track_interfaces.retain_mut(|t| {
            if t.weight == 0 {
                return true;
            }
            warn(
                diags,
                format!(
                    "({name}) ignoring {} tracked interface {}due to {why}",
                    t.name,
                    if sync_no_weight { "weight " } else { "" }
                ),
            );
            if sync_no_weight {
                t.weight = 0;
                true
            } else {
                false
            }
        });
        track_scripts.retain(|t| {
            if t.weight == 0 {
                return true;
            }
            warn(
                diags,
                format!(
                    "({name}) ignoring tracked script {} with weights due to {why2}",
                    t.name
                ),
            );
            false
        });
        track_files.retain_mut(|t: &mut TrackedRef| {
            if t.weight == 1 {
                warn(
                    diags,
                    format!(
                        "({name}) ignoring weight from tracked file {} due to {why2}. specify weight 0",
                        t.name
                    ),
                );
                t.weight = 0;
                true
            } else if t.weight != 0 {
                warn(
                    diags,
                    format!(
                        "({name}) ignoring tracked file {} with weight {} due to {why2}",
                        t.name, t.weight
                    ),
                );
                false
            } else {
                true
            }
        });
    }

    let ttl = match family {
        Family::Ipv4 => Some(r.ttl.unwrap_or(255)),
        Family::Ipv6 => r.ttl,
    };

    Some(VrrpInstance {
        name,
        loc,
        state,
        interface,
        interface_loc: r.interface_loc.clone(),
        vrid: r.vrid.unwrap_or(0),
        priority,
        advert_int: micros(adv),
        version,
        family,
        authentication,
        virtual_ipaddresses: r.vips,
        virtual_ipaddresses_excluded: r.evips,
        virtual_routes: r.routes,
        virtual_rules: r.rules,
        src_ip: r.src_ip,
        track_src_ip,
        unicast_peers: r.peers,
        unicast,
        mcast_dst_ip,
        ttl,
        check_unicast_src: r.check_unicast_src || global.vrrp_check_unicast_src,
        fault_no_peer,
        track_interfaces,
        track_scripts,
        track_files,
        track_processes: r.track_processes,
        dont_track_primary: r.dont_track_primary,
        preempt: !nopreempt,
        preempt_delay: micros(preempt_delay),
        notify: r.notify,
        notify_deleted: r.notify_deleted,
        smtp_alert,
        notify_priority_changes,
        use_vmac,
        use_vmac_addr: r.vmac_addr,
        accept,
        strict_mode: strict,
        garp: GarpSettings {
            master_delay: r
                .garp_delay
                .map_or(global.vrrp_garp_master_delay, Duration::from_secs),
            master_repeat: r.garp_rep.unwrap_or(global.vrrp_garp_master_repeat),
            master_refresh: r
                .garp_refresh
                .map_or(global.vrrp_garp_master_refresh, Duration::from_secs),
            master_refresh_repeat: r
                .garp_refresh_rep
                .unwrap_or(global.vrrp_garp_master_refresh_repeat),
            lower_prio_delay,
            lower_prio_repeat,
            // Measured with keepalived 2.2.7: an instance's own interval
            // (0 included) takes the global one's place with its own
            // `all`; without one the global interval applies, `all` from
            // either.
            extra_if: r.garp_extra_if.map_or(
                global.vrrp_garp_extra_if.unwrap_or_default(),
                Duration::from_secs,
            ),
            extra_if_all: r.garp_extra_if_all
                || (r.garp_extra_if.is_none() && global.vrrp_garp_extra_if_all),
        },
        lower_prio_no_advert,
        higher_prio_send_advert,
        promote_secondaries,
        skip_check_adv_addr: r.skip_check_adv_addr || global.vrrp_skip_check_adv_addr,
        down_timer_adverts,
        debug: r.debug,
        kernel_rx_buf_size: r.kernel_rx_buf_size,
        sync_group: group.map(|g| g.name.clone()),
    })
}

/// keepalived's `check_vrid_conflicts`: two instances with the same VRID
/// and family on the same interface and multicast group (or, unicasting,
/// with the same source and a common peer) are refused.
fn check_vrid_conflicts(out: &VrrpConfig, global: &GlobalDefs, diags: &mut Diagnostics) {
    let inst = &out.instances;
    for (i, a) in inst.iter().enumerate() {
        for b in &inst[i + 1..] {
            if a.family != b.family || a.vrid != b.vrid || a.unicast != b.unicast {
                continue;
            }
            if a.unicast {
                if a.interface != b.interface {
                    continue;
                }
                // Local addresses: configured, or the (same) interface's.
                let same_src = match (a.src_ip, b.src_ip) {
                    (Some(x), Some(y)) => x == y,
                    (None, None) => true,
                    _ => false,
                };
                if !same_src {
                    continue;
                }
                let peer_match = a
                    .unicast_peers
                    .iter()
                    .any(|p| b.unicast_peers.iter().any(|q| q.addr == p.addr));
                if !peer_match {
                    continue;
                }
                diags.push(
                    Severity::Error,
                    None,
                    format!(
                        "({}) duplicate VRID conflict with {} VRID {}",
                        a.name, b.name, a.vrid
                    ),
                );
                continue;
            }
            if a.interface != b.interface {
                continue;
            }
            let group = |x: &VrrpInstance| {
                x.mcast_dst_ip.unwrap_or(match x.family {
                    Family::Ipv4 => IpAddr::V4(global.vrrp_mcast_group4),
                    Family::Ipv6 => IpAddr::V6(global.vrrp_mcast_group6),
                })
            };
            if group(a) != group(b) {
                continue;
            }
            diags.push(
                Severity::Error,
                None,
                format!(
                    "{} and {} both use VRID {} with IPv{} on interface {}",
                    a.name,
                    b.name,
                    a.vrid,
                    if a.family == Family::Ipv4 { 4 } else { 6 },
                    a.interface.as_deref().unwrap_or("")
                ),
            );
        }
    }
}
