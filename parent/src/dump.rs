//! SIGUSR1 / SIGUSR2 dumps, in keepalived's files: /tmp/keepalived.data
//! (VRRP side) and /tmp/keepalived_check.data (checker side) for data,
//! /tmp/keepalived.stats for statistics; SIGJSON (SIGRTMIN+2)
//! /tmp/keepalived.json in keepalived's JSON layout (an array of
//! `{"data": {...}, "stats": {...}}`, one per VRRP instance). Written by
//! the parent (mode 0600, never following a planted symlink in /tmp).

use ipc::{DumpKind, Role};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::state::State;
use config::model::global::VrrpVersion;
use ipc::{DropReason, VrrpCounters, VrrpState};
use serde_json::{Value, json};

/// keepalived's SIGJSON signal: SIGRTMIN+2.
pub fn sigjson() -> i32 {
    libc::SIGRTMIN() + 2
}

/// keepalived's numeric VRRP states in its JSON dump.
fn state_number(s: VrrpState) -> u8 {
    match s {
        VrrpState::Init => 0,
        VrrpState::Backup => 1,
        VrrpState::Master => 2,
        VrrpState::Fault => 3,
    }
}

/// The /tmp/keepalived.json document, in keepalived 2.2.7's layout
/// (`vrrp_print_json`) so what parses keepalived's file parses ours.
pub fn keepalived_json(state: &State) -> Value {
    let zero = VrrpCounters::default();
    let items: Vec<Value> = state
        .config
        .vrrp
        .instances
        .iter()
        .map(|i| {
            let rep = state.instances.get(&i.name);
            let st = rep.map_or(0, |r| state_number(r.state));
            let c = state.counters.get(&i.name).unwrap_or(&zero);
            let n = |r: DropReason| c.drops.get(&r).copied().unwrap_or(0);
            let addrs = |v: &[config::model::vrrp::IpAddress]| {
                v.iter()
                    .map(|a| format!("{}/{}", a.addr, a.prefix))
                    .collect::<Vec<_>>()
            };
            let mut data = json!({
                "iname": i.name,
                "dont_track_primary": u8::from(i.dont_track_primary),
                "skip_check_adv_addr": u8::from(i.skip_check_adv_addr),
                "strict_mode": u8::from(i.strict_mode),
                "ifp_ifname": i.interface,
                "vrid": i.vrid,
                "base_priority": i.priority,
                "effective_priority": rep.map_or(i.priority, |r| r.effective_priority),
                "vipset": rep.is_some_and(|r| r.holds_vips),
                "promote_secondaries": i.promote_secondaries,
                "adver_int": i.advert_int.as_secs_f64(),
                "lower_prio_no_advert": u8::from(i.lower_prio_no_advert),
                "higher_prio_send_advert": u8::from(i.higher_prio_send_advert),
                "nopreempt": !i.preempt,
                "preempt_delay": i.preempt_delay.as_secs(),
                "state": st,
                "wantstate": st,
                "version": match i.version { VrrpVersion::V2 => 2, VrrpVersion::V3 => 3 },
                "smtp_alert": i.smtp_alert,
                "notify_deleted": i.notify_deleted,
            });
            if let Value::Object(m) = &mut data {
                if !i.virtual_ipaddresses.is_empty() {
                    m.insert("vips".into(), json!(addrs(&i.virtual_ipaddresses)));
                }
                if !i.virtual_ipaddresses_excluded.is_empty() {
                    m.insert(
                        "evips".into(),
                        json!(addrs(&i.virtual_ipaddresses_excluded)),
                    );
                }
                let names = |v: Vec<&String>| json!(v);
                if !i.track_interfaces.is_empty() {
                    m.insert(
                        "track_ifp".into(),
                        names(i.track_interfaces.iter().map(|t| &t.name).collect()),
                    );
                }
                if !i.track_scripts.is_empty() {
                    m.insert(
                        "track_script".into(),
                        names(i.track_scripts.iter().map(|t| &t.name).collect()),
                    );
                }
                if !i.track_processes.is_empty() {
                    m.insert(
                        "track_process".into(),
                        names(i.track_processes.iter().map(|t| &t.name).collect()),
                    );
                }
            }
            json!({
                "data": data,
                "stats": {
                    "advert_rcvd": c.adverts_received,
                    "advert_sent": c.adverts_sent,
                    "become_master": c.became_master,
                    "release_master": c.released_master,
                    "packet_len_err": n(DropReason::PacketLength),
                    "advert_interval_err": n(DropReason::AdvertInterval),
                    "ip_ttl_err": n(DropReason::IpTtl),
                    "invalid_type_rcvd": n(DropReason::InvalidType),
                    "addr_list_err": n(DropReason::AddressList),
                    "invalid_authtype": n(DropReason::InvalidAuthType),
                    "authtype_mismatch": n(DropReason::AuthTypeMismatch),
                    "auth_failure": n(DropReason::AuthFailure),
                    "pri_zero_rcvd": c.priority_zero_received,
                    "pri_zero_sent": c.priority_zero_sent,
                },
            })
        })
        .collect();
    Value::Array(items)
}

/// Write /tmp/keepalived.json (keepalived writes nothing when there is no
/// VRRP instance; neither do we). Returns the path and text written.
pub fn write_json(state: &State) -> io::Result<Option<(String, String)>> {
    if state.config.vrrp.instances.is_empty() {
        return Ok(None);
    }
    let text = format!("{}\n", keepalived_json(state));
    let path = paths(DumpKind::Json)[0];
    write_file(Path::new(path), &text)?;
    Ok(Some((path.to_string(), text)))
}

pub fn paths(kind: DumpKind) -> Vec<&'static str> {
    match kind {
        DumpKind::Data => vec!["/tmp/keepalived.data", "/tmp/keepalived_check.data"],
        DumpKind::Stats => vec!["/tmp/keepalived.stats"],
        DumpKind::Json => vec!["/tmp/keepalived.json"],
    }
}

fn write_file(path: &Path, text: &str) -> io::Result<()> {
    // Write a new file (O_EXCL, O_NOFOLLOW: never through a file or link
    // someone planted in /tmp), then rename it over the old one, so readers
    // see either the old dump or the whole new one.
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    if let Err(e) = f.write_all(text.as_bytes()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Write the parent's part and the workers' parts. `missing` lists workers
/// that did not answer in time. Returns each file written with its text.
pub fn write(
    kind: DumpKind,
    parent: &str,
    parts: &BTreeMap<Role, String>,
    missing: &[Role],
) -> io::Result<Vec<(String, String)>> {
    let section = |roles: &[Role]| {
        let mut s = String::new();
        for r in roles {
            if let Some(t) = parts.get(r) {
                s.push_str(t);
                if !t.ends_with('\n') {
                    s.push('\n');
                }
            } else if missing.contains(r) {
                s.push_str(&format!("------< {r} worker: no answer >------\n"));
            }
        }
        s
    };
    let mut written = Vec::new();
    match kind {
        DumpKind::Data => {
            let vrrp = format!("{parent}{}", section(&[Role::Vrrp]));
            write_file(Path::new("/tmp/keepalived.data"), &vrrp)?;
            written.push(("/tmp/keepalived.data".to_string(), vrrp));
            let check = section(&[Role::Check, Role::Ipvs, Role::Metrics]);
            write_file(Path::new("/tmp/keepalived_check.data"), &check)?;
            written.push(("/tmp/keepalived_check.data".to_string(), check));
        }
        DumpKind::Stats | DumpKind::Json => {
            let path = paths(kind)[0];
            let all = format!("{parent}{}", section(&Role::ALL));
            write_file(Path::new(path), &all)?;
            written.push((path.to_string(), all));
        }
    }
    Ok(written)
}
