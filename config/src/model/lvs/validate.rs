//! What keepalived does once the whole configuration is read:
//! `link_vsg_to_vs` (ipwrapper.c) and `validate_check_config`
//! (check_data.c), then the checkers' inheritance of defaults.

use super::checkers::{Checker, CheckerKind, RawChecker};
use super::num::micros;
use super::parse::{DEFAULT_PERSISTENCE, Method, RawFwd, RawKey, RawRs, RawVs};
use super::{
    IpFamily, LvsConfig, Notice, RealServer, Scheduler, SorryServer, VirtualServer, VsKey,
    fmt_trio, fmt_vs,
};
use crate::diag::Diagnostics;
use crate::model::global::GlobalDefs;
use std::time::Duration;

fn key_of(vs: &RawVs, index: u16) -> VsKey {
    match &vs.key {
        RawKey::Addr(a) => VsKey::Addr { addr: *a },
        RawKey::Fwmark(m) => VsKey::Fwmark { mark: *m },
        RawKey::Group(n) => VsKey::Group {
            name: n.clone(),
            index,
        },
    }
}

pub(super) fn finish(out: &mut LvsConfig, global: &GlobalDefs, diags: &mut Diagnostics) {
    let pending = std::mem::take(&mut out.pending);

    // link_vsg_to_vs: drop group services whose group is missing or of
    // the wrong family. keepalived only logs these (INFO).
    let mut linked: Vec<RawVs> = Vec::new();
    for mut vs in pending {
        let RawKey::Group(name) = &vs.key else {
            linked.push(vs);
            continue;
        };
        let fmt = fmt_vs(&key_of(&vs, 0), vs.protocol);
        let Some(g) = out.group(name) else {
            out.notices.push(Notice {
                loc: Some(vs.loc.clone()),
                message: format!(
                    "Virtual server group {name} specified but not configured - ignoring virtual server {fmt}"
                ),
            });
            continue;
        };
        let (v4, v6) = (g.has_ipv4(), g.has_ipv6());
        let vsg_af = match (v4, v6) {
            (true, false) => Some(IpFamily::Inet),
            (false, true) => Some(IpFamily::Inet6),
            _ => None,
        };
        if v4 && v6 && vs.af.is_some() {
            out.notices.push(Notice {
                loc: Some(vs.loc.clone()),
                message: format!(
                    "{name}: virtual server group with IPv4 & IPv6 doesn't match virtual server {fmt} - ignoring"
                ),
            });
            continue;
        }
        if (v4 && vs.af == Some(IpFamily::Inet6)) || (v6 && vs.af == Some(IpFamily::Inet)) {
            out.notices.push(Notice {
                loc: Some(vs.loc.clone()),
                message: format!(
                    "{name}: address family doesn't match virtual server {fmt} - ignoring"
                ),
            });
            continue;
        }
        if let Some(f) = vsg_af {
            vs.af.get_or_insert(f);
        } else if vs.af.is_none() && g.fwmark_without_family() {
            out.notices.push(Notice {
                loc: Some(vs.loc.clone()),
                message: format!(
                    "{name}: Virtual server {fmt} address family cannot be determined, defaulting to IPv4"
                ),
            });
        }
        linked.push(vs);
    }

    // Sequence numbers of the services sharing a group.
    let mut keys: Vec<VsKey> = Vec::with_capacity(linked.len());
    for vs in &linked {
        let index = match &vs.key {
            RawKey::Group(n) => keys
                .iter()
                .filter(|k| matches!(k, VsKey::Group { name, .. } if name == n))
                .count(),
            _ => 0,
        };
        keys.push(key_of(vs, u16::try_from(index).unwrap_or(u16::MAX)));
    }

    for (vs, key) in linked.into_iter().zip(keys) {
        if let Some(v) = validate_vs(out, vs, key, global, diags) {
            out.virtual_servers.push(v);
        }
    }
}

fn default_nat(vs: &mut RawVs, name: &str, diags: &mut Diagnostics) -> RawFwd {
    if vs.fwd.method.is_none() {
        diags.push(
            crate::Severity::Warning,
            None,
            format!("Virtual server {name}: no forwarding method set, setting default NAT"),
        );
        vs.fwd.method = Some(Method::Nat);
    }
    vs.fwd
}

fn note(diags: &mut Diagnostics, msg: String) {
    diags.push(crate::Severity::Warning, None, msg);
}

/// keepalived's `validate_check_config` for one virtual server.
fn validate_vs(
    out: &LvsConfig,
    mut vs: RawVs,
    key: VsKey,
    global: &GlobalDefs,
    diags: &mut Diagnostics,
) -> Option<VirtualServer> {
    let group = match &vs.key {
        RawKey::Group(n) => out.group(n),
        _ => None,
    };
    let is_fwmark = matches!(vs.key, RawKey::Fwmark(_));
    let name = |vs: &RawVs| fmt_vs(&key, vs.protocol);

    if vs.rs.is_empty() {
        note(
            diags,
            format!(
                "Virtual server {} has no real servers - ignoring",
                name(&vs)
            ),
        );
        return None;
    }
    if vs.ha_suspend && (is_fwmark || group.is_some_and(|g| g.has_fwmarks())) {
        note(
            diags,
            format!(
                "Virtual server {}: cannot use ha_suspend with fwmarks - clearing ha_suspend",
                name(&vs)
            ),
        );
        vs.ha_suspend = false;
    }
    let vs_port = match &vs.key {
        RawKey::Addr(a) => a.port(),
        _ => 0,
    };
    if group.is_some_and(|g| g.has_addresses()) || (group.is_none() && !is_fwmark) {
        if vs.protocol.is_none() {
            note(
                diags,
                format!(
                    "Virtual server {}: no protocol set - defaulting to UDP",
                    name(&vs)
                ),
            );
            vs.protocol = Some(super::Protocol::Udp);
        }
        if vs.flags.one_packet && vs.protocol != Some(super::Protocol::Udp) {
            note(
                diags,
                format!(
                    "Virtual server {}: one packet scheduling requires UDP - resetting",
                    name(&vs)
                ),
            );
            vs.flags.one_packet = false;
        }
        if vs.persistence_timeout == 0 && group.is_none() && !is_fwmark && vs_port == 0 {
            note(
                diags,
                format!(
                    "Virtual server {}: zero port only valid for persistent services - setting",
                    name(&vs)
                ),
            );
            vs.persistence_timeout = DEFAULT_PERSISTENCE;
        }
    }
    if vs.persistence_timeout == 0
        && let Some(g) = group
        && g.entries
            .iter()
            .any(|e| matches!(e, super::VsgEntry::Addresses { port: 0, .. }))
    {
        note(
            diags,
            format!(
                "Virtual server {}: zero port only valid for persistent services - setting",
                name(&vs)
            ),
        );
        vs.persistence_timeout = DEFAULT_PERSISTENCE;
    }
    if vs.protocol.is_some()
        && (group.is_some_and(|g| !g.has_addresses() && g.has_fwmarks())
            || (group.is_none() && is_fwmark))
    {
        note(
            diags,
            format!(
                "Warning: Virtual server {}: protocol specified for fwmark - protocol will be ignored",
                name(&vs)
            ),
        );
        vs.protocol = None;
    }
    let scheduler = match vs.sched {
        Some(s) => s,
        None => {
            note(
                diags,
                format!(
                    "Virtual server {}: no scheduler set, setting default 'wlc'",
                    name(&vs)
                ),
            );
            Scheduler::Wlc
        }
    };
    let vs_smtp_alert = vs
        .smtp_alert
        .or(global.smtp_alert_checker)
        .or(global.smtp_alert)
        .unwrap_or(false);

    // The real servers.
    let raw_rs = std::mem::take(&mut vs.rs);
    let mut kept: Vec<RawRs> = Vec::with_capacity(raw_rs.len());
    let mut weight_sum: u32 = 0;
    let mut sorry_dup = false;
    let mut resolved: Vec<RealServer> = Vec::new();
    for mut rs in raw_rs {
        if kept.iter().any(|k| k.addr == rs.addr) {
            note(
                diags,
                format!(
                    "VS {}: real server {} is duplicated - removing second rs",
                    name(&vs),
                    fmt_trio(&rs.addr, vs.protocol)
                ),
            );
            continue;
        }
        if rs.fwd.method.is_none() {
            let n = name(&vs);
            rs.fwd = default_nat(&mut vs, &n, diags);
        }
        let weight = rs.weight.unwrap_or(vs.weight);
        let inhibit = rs.inhibit.unwrap_or(vs.inhibit);
        let smtp_alert = rs
            .smtp_alert
            .or(global.smtp_alert_checker)
            .or(global.smtp_alert)
            .unwrap_or(true);
        weight_sum = weight_sum.wrapping_add(weight);
        if let Some(s) = vs.sorry.as_mut()
            && s.addr == rs.addr
        {
            if s.inhibit != inhibit {
                note(
                    diags,
                    format!(
                        "Virtual server {}: real server {} matches sorry server, but inhibit setting differs, {}ing on sorry server",
                        fmt_vs(&key, vs.protocol),
                        fmt_trio(&rs.addr, vs.protocol),
                        if inhibit { "sett" } else { "clear" }
                    ),
                );
                s.inhibit = inhibit;
            }
            sorry_dup = true;
        }
        let alpha = rs.alpha.unwrap_or(vs.alpha);
        let retry = rs.retry.or(vs.retry);
        let connect_timeout = rs.connect_timeout.unwrap_or(vs.connect_timeout);
        let delay_loop = rs.delay_loop.unwrap_or(vs.delay_loop);
        let warmup = rs.warmup.or(vs.warmup);
        let dbr = rs.delay_before_retry.or(vs.delay_before_retry);
        let checkers = rs
            .checkers
            .iter()
            .map(|c| {
                resolve_checker(
                    c,
                    &CheckerDefaults {
                        alpha,
                        retry,
                        connect_timeout,
                        delay_loop,
                        warmup,
                        delay_before_retry: dbr,
                        vs_delay_loop: vs.delay_loop,
                        log_all_failures: global.checker_log_all_failures,
                        rs_virtualhost: rs.virtualhost.as_deref(),
                        vs_virtualhost: vs.virtualhost.as_deref(),
                    },
                )
            })
            .collect();
        resolved.push(RealServer {
            addr: rs.addr,
            weight,
            forwarding: rs.fwd.resolve(),
            inhibit_on_failure: inhibit,
            alpha,
            uthreshold: rs.uthreshold,
            lthreshold: rs.lthreshold,
            retry,
            delay_loop: micros(delay_loop),
            connect_timeout: micros(connect_timeout),
            delay_before_retry: dbr.map(micros),
            warmup: warmup.map(micros),
            smtp_alert,
            virtualhost: rs.virtualhost.clone(),
            snmp_name: rs.snmp_name.clone(),
            notify_up: rs.notify_up.clone(),
            notify_down: rs.notify_down.clone(),
            checkers,
            file_checks: rs.file_checks.clone(),
            bfd_checks: rs.bfd_checks.clone(),
            loc: rs.loc.clone(),
        });
        kept.push(rs);
    }
    if vs.sorry.as_ref().is_some_and(|s| s.fwd.method.is_none()) {
        let n = name(&vs);
        let f = default_nat(&mut vs, &n, diags);
        if let Some(s) = vs.sorry.as_mut() {
            s.fwd = f;
        }
    }
    if vs.quorum > weight_sum {
        note(
            diags,
            format!(
                "Warning - quorum {} for {} exceeds total weight of real servers {}, reducing quorum to {}",
                vs.quorum,
                name(&vs),
                weight_sum,
                weight_sum
            ),
        );
        vs.quorum = weight_sum;
    }
    if vs.hysteresis >= vs.quorum {
        let h = vs.quorum.wrapping_sub(1);
        note(
            diags,
            format!(
                "Virtual server {}: hysteresis {} >= quorum {}; setting hysteresis to {}",
                name(&vs),
                vs.hysteresis,
                vs.quorum,
                h
            ),
        );
        vs.hysteresis = h;
    }

    // Ports: unless NAT, real and virtual server ports must agree; a
    // fwmark service's non-NAT real servers have none.
    let mut sorry_addr = vs.sorry.as_ref().map(|s| s.addr);
    let sorry_nat = vs
        .sorry
        .as_ref()
        .is_some_and(|s| s.fwd.method == Some(Method::Nat));
    if let Some(g) = group {
        if g.has_fwmarks() {
            for rs in &resolved {
                if rs.forwarding == super::Forwarding::Nat || rs.addr.port() == 0 {
                    continue;
                }
                note(
                    diags,
                    format!(
                        "WARNING - fwmark virtual server {}, real server {} has port specified - port will be ignored",
                        name(&vs),
                        fmt_trio(&rs.addr, vs.protocol)
                    ),
                );
            }
            if sorry_addr.is_some_and(|a| a.port() != 0) && !sorry_nat {
                note(
                    diags,
                    format!(
                        "WARNING - fwmark virtual server {}, sorry server has port specified - port will be ignored",
                        name(&vs)
                    ),
                );
            }
        }
        for e in &g.entries {
            let super::VsgEntry::Addresses { port, .. } = e else {
                continue;
            };
            for rs in &resolved {
                if rs.forwarding == super::Forwarding::Nat {
                    continue;
                }
                if rs.addr.port() != 0 && rs.addr.port() != *port {
                    note(
                        diags,
                        format!(
                            "virtual server {}:[{}] and real server {} ports don't match",
                            name(&vs),
                            e,
                            fmt_trio(&rs.addr, vs.protocol)
                        ),
                    );
                }
            }
            if !sorry_nat && sorry_addr.is_some_and(|a| a.port() != 0 && a.port() != *port) {
                note(
                    diags,
                    format!(
                        "WARNING - virtual server {}, sorry server has port specified - port will be ignored",
                        name(&vs)
                    ),
                );
            }
        }
    } else {
        for rs in &mut resolved {
            if rs.forwarding == super::Forwarding::Nat {
                if !is_fwmark && rs.addr.port() == 0 {
                    rs.addr.set_port(vs_port);
                }
                continue;
            }
            if is_fwmark {
                if rs.addr.port() != 0 {
                    note(
                        diags,
                        format!(
                            "WARNING - fwmark virtual server {}, real server {} has port specified - clearing",
                            name(&vs),
                            fmt_trio(&rs.addr, vs.protocol)
                        ),
                    );
                    rs.addr.set_port(0);
                }
            } else if rs.addr.port() == 0 {
                rs.addr.set_port(vs_port);
            } else if rs.addr.port() != vs_port {
                note(
                    diags,
                    format!(
                        "WARNING - virtual server {} and real server {} ports don't match - resetting",
                        name(&vs),
                        fmt_trio(&rs.addr, vs.protocol)
                    ),
                );
                rs.addr.set_port(vs_port);
            }
        }
        if let Some(a) = sorry_addr.as_mut()
            && !sorry_nat
        {
            if is_fwmark {
                if a.port() != 0 {
                    note(
                        diags,
                        format!(
                            "WARNING - virtual server {}, sorry server has port specified - clearing",
                            name(&vs)
                        ),
                    );
                    a.set_port(0);
                }
            } else if a.port() == 0 {
                a.set_port(vs_port);
            } else if a.port() != vs_port {
                note(
                    diags,
                    format!(
                        "WARNING - virtual server {} and sorry server ports don't match - resetting",
                        name(&vs)
                    ),
                );
                a.set_port(vs_port);
            }
        }
    }

    let sorry_server = vs.sorry.as_ref().map(|s| SorryServer {
        addr: sorry_addr.unwrap_or(s.addr),
        forwarding: s.fwd.resolve(),
        inhibit: s.inhibit,
        duplicates_real_server: sorry_dup,
        loc: s.loc.clone(),
    });
    let fwd = vs.fwd.resolve();
    Some(VirtualServer {
        key,
        family: vs.af.unwrap_or(IpFamily::Inet),
        protocol: vs.protocol,
        scheduler,
        flags: vs.flags,
        forwarding: fwd,
        persistence_timeout: (vs.persistence_timeout != 0)
            .then(|| Duration::from_secs(u64::from(vs.persistence_timeout))),
        persistence_granularity: vs.granularity,
        persistence_engine: vs.pe_name.clone(),
        delay_loop: micros(vs.delay_loop),
        connect_timeout: micros(vs.connect_timeout),
        retry: vs.retry,
        delay_before_retry: vs.delay_before_retry.map(micros),
        warmup: vs.warmup.map(micros),
        weight: vs.weight,
        inhibit_on_failure: vs.inhibit,
        alpha: vs.alpha,
        omega: vs.omega,
        ha_suspend: vs.ha_suspend,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        smtp_alert: vs_smtp_alert,
        virtualhost: vs.virtualhost.clone(),
        snmp_name: vs.snmp_name.clone(),
        sorry_server,
        real_servers: resolved,
        loc: vs.loc.clone(),
    })
}

/// A real server's resolved settings a checker inherits (microseconds).
struct CheckerDefaults<'a> {
    alpha: bool,
    retry: Option<u32>,
    connect_timeout: u64,
    delay_loop: u64,
    warmup: Option<u64>,
    delay_before_retry: Option<u64>,
    vs_delay_loop: u64,
    log_all_failures: bool,
    rs_virtualhost: Option<&'a str>,
    vs_virtualhost: Option<&'a str>,
}

/// The tail of keepalived's `validate_check_config`: checker settings
/// fall back to the real server's, then to the checker's defaults.
fn resolve_checker(c: &RawChecker, d: &CheckerDefaults<'_>) -> Checker {
    let delay_loop = c.delay_loop.unwrap_or(d.delay_loop);
    let retry = c.retry.or(d.retry).unwrap_or(c.default_retry);
    let warmup = c.warmup.or(d.warmup).unwrap_or(delay_loop);
    let delay_before_retry = c
        .delay_before_retry
        .or(d.delay_before_retry)
        .or(c.default_delay_before_retry.filter(|v| *v != 0))
        .unwrap_or(delay_loop);
    let mut kind = c.kind.clone();
    if let CheckerKind::Http(h) = &mut kind {
        let own = h.virtualhost.clone();
        let sni = h.ssl && h.enable_sni;
        for u in &mut h.urls {
            let url_or_checker = u.virtualhost.clone().or_else(|| own.clone());
            u.request_host = url_or_checker
                .clone()
                .or_else(|| d.rs_virtualhost.map(str::to_string))
                .or_else(|| d.vs_virtualhost.map(str::to_string));
            u.sni_name = if sni {
                url_or_checker.or_else(|| d.vs_virtualhost.map(str::to_string))
            } else {
                None
            };
        }
    }
    if let CheckerKind::Misc(m) = &mut kind {
        m.timeout = micros(if c.misc_timeout != 0 {
            c.misc_timeout
        } else {
            d.vs_delay_loop
        });
    }
    Checker {
        kind,
        alpha: c.alpha.unwrap_or(d.alpha),
        delay_loop: micros(delay_loop),
        warmup: micros(warmup),
        retry,
        delay_before_retry: micros(delay_before_retry),
        log_all_failures: c.log_all_failures || d.log_all_failures,
        connection: c.conn.as_ref().map(|co| co.resolve(d.connect_timeout)),
        loc: c.loc.clone(),
    }
}
