//! The table of scripts the parent will run for its workers, built from
//! the configuration. Each worker gets the ids of its own scripts only
//! (VRRP: `vrrp_script`s and notify scripts; check: MISC_CHECK, notify_up/
//! down; IPVS: quorum_up/down); a request for any other id is refused.

use crate::scripts::RunAs;
use config::model::Config;
use config::model::lvs::{CheckerKind, ScriptRole};
use config::model::util::ScriptSpec;
use ipc::{NotifyEvent, Role, ScriptEntry, ScriptId, ScriptPurpose, UpDown};
use std::time::Duration;

/// The user scripts run as when neither the script nor `script_user`
/// names one: keepalived's `keepalived_script` when it exists, else
/// `nobody`. (keepalived itself falls back to root; keepalived-rs never
/// runs a script as root unless the configuration says so.)
pub const DEFAULT_SCRIPT_USERS: [&str; 2] = ["keepalived_script", "nobody"];

pub struct TableEntry {
    pub entry: ScriptEntry,
    pub role: Role,
    pub argv: Vec<String>,
    pub timeout: Option<Duration>,
    /// Whom it runs as, or why it cannot run.
    pub run_as: Result<RunAs, String>,
}

#[derive(Default)]
pub struct ScriptTable {
    entries: Vec<TableEntry>,
}

/// Does the configuration give the VRRP worker anything to do?
pub fn has_vrrp(cfg: &Config) -> bool {
    !cfg.vrrp.instances.is_empty()
}

/// Does it give the check and IPVS workers anything to do?
pub fn has_lvs(cfg: &Config) -> bool {
    !cfg.lvs.virtual_servers.is_empty()
}

/// How often workers must show life. A hung VRRP master must be replaced
/// before its backups' master-down timer (3 adverts + skew) runs out, so
/// the watchdog (3 intervals) fires within about one advert interval.
pub fn heartbeat_interval(cfg: &Config) -> Duration {
    let fastest = cfg
        .vrrp
        .instances
        .iter()
        .map(|i| i.advert_int)
        .min()
        .unwrap_or(Duration::from_secs(1));
    (fastest / 4).clamp(Duration::from_millis(20), Duration::from_millis(250))
}

/// Resolve whom `spec` runs as: its own user, else `script_user`, else the
/// default script user.
pub fn resolve_user(spec: &ScriptSpec, cfg: &Config) -> Result<RunAs, String> {
    let (user, group) = match (&spec.user, &cfg.global.script_user) {
        (Some(u), _) => (Some(u.clone()), spec.group.clone()),
        (None, Some(u)) => (Some(u.clone()), cfg.global.script_group.clone()),
        (None, None) => (None, None),
    };
    let (name, uid, mut gid) = match user {
        Some(u) => {
            let (uid, gid) = crate::users::lookup_user(&u)
                .ok_or_else(|| format!("script user '{u}' does not exist"))?;
            (u, uid, gid)
        }
        None => DEFAULT_SCRIPT_USERS
            .iter()
            .find_map(|u| crate::users::lookup_user(u).map(|(uid, gid)| (u.to_string(), uid, gid)))
            .ok_or_else(|| {
                "neither keepalived_script nor nobody exists to run scripts as".to_string()
            })?,
    };
    if let Some(g) = group {
        gid = crate::users::lookup_group(&g)
            .ok_or_else(|| format!("script group '{g}' does not exist"))?;
    }
    Ok(RunAs { name, uid, gid })
}

impl ScriptTable {
    pub fn build(cfg: &Config) -> Self {
        let mut t = ScriptTable::default();
        // One check per program and user (thousands of real servers often
        // share one MISC_CHECK script).
        let mut checked = std::collections::HashMap::new();
        let mut add = |role: Role, purpose: ScriptPurpose, spec: &ScriptSpec, timeout| {
            let id = ScriptId(t.entries.len() as u32);
            // A script the machine checks disable is refused when asked for.
            let run_as = resolve_user(spec, cfg).and_then(|u| {
                let argv0 = spec.argv.first().map(String::as_str).unwrap_or("");
                let check = checked
                    .entry((argv0.to_string(), u.uid, u.gid))
                    .or_insert_with(|| crate::machine::check_script(argv0, u.uid, u.gid))
                    .clone();
                match check {
                    c if c.runnable(cfg.global.enable_script_security) => Ok(u),
                    crate::machine::ScriptCheck::NotFound => {
                        Err(format!("{argv0} is disabled: not found"))
                    }
                    crate::machine::ScriptCheck::NotExecutable(p) => Err(format!(
                        "{} is disabled: not executable by {}",
                        p.display(),
                        u.name
                    )),
                    _ => Err(format!(
                        "{argv0} is disabled due to insecure (enable_script_security)"
                    )),
                }
            });
            t.entries.push(TableEntry {
                entry: ScriptEntry { id, purpose },
                role,
                argv: spec.argv.clone(),
                timeout,
                run_as,
            });
        };
        for s in &cfg.vrrp.scripts {
            add(
                Role::Vrrp,
                ScriptPurpose::VrrpScript {
                    name: s.name.clone(),
                },
                &s.script,
                Some(s.timeout.unwrap_or(s.interval)),
            );
        }
        let notify = |n: &config::model::vrrp::NotifyScripts| {
            [
                (NotifyEvent::Master, n.master.as_ref()),
                (NotifyEvent::Backup, n.backup.as_ref()),
                (NotifyEvent::Fault, n.fault.as_ref()),
                (NotifyEvent::Stop, n.stop.as_ref()),
                (NotifyEvent::Deleted, n.deleted.as_ref()),
                (
                    NotifyEvent::MasterRxLowerPri,
                    n.master_rx_lower_pri.as_ref(),
                ),
                (NotifyEvent::Any, n.notify.as_ref()),
            ]
            .into_iter()
            .filter_map(|(e, s)| s.map(|s| (e, s.clone())))
            .collect::<Vec<_>>()
        };
        for i in &cfg.vrrp.instances {
            for (event, spec) in notify(&i.notify) {
                add(
                    Role::Vrrp,
                    ScriptPurpose::InstanceNotify {
                        instance: i.name.clone(),
                        event,
                    },
                    &spec,
                    None,
                );
            }
        }
        for g in &cfg.vrrp.sync_groups {
            for (event, spec) in notify(&g.notify) {
                add(
                    Role::Vrrp,
                    ScriptPurpose::SyncGroupNotify {
                        group: g.name.clone(),
                        event,
                    },
                    &spec,
                    None,
                );
            }
        }
        for r in cfg.lvs.scripts() {
            let vss = &cfg.lvs.virtual_servers;
            let (purpose, timeout) = match r.role {
                ScriptRole::QuorumUp { vs } | ScriptRole::QuorumDown { vs } => {
                    let Some(v) = vss.get(vs) else { continue };
                    let event = if matches!(r.role, ScriptRole::QuorumUp { .. }) {
                        UpDown::Up
                    } else {
                        UpDown::Down
                    };
                    (
                        ScriptPurpose::QuorumNotify {
                            virtual_server: crate::state::vs_key(v),
                            event,
                        },
                        None,
                    )
                }
                ScriptRole::NotifyUp { vs, rs } | ScriptRole::NotifyDown { vs, rs } => {
                    let Some(v) = vss.get(vs) else { continue };
                    let Some(s) = v.real_servers.get(rs) else {
                        continue;
                    };
                    let event = if matches!(r.role, ScriptRole::NotifyUp { .. }) {
                        UpDown::Up
                    } else {
                        UpDown::Down
                    };
                    (
                        ScriptPurpose::RealServerNotify {
                            real_server: crate::state::rs_key(v, s),
                            event,
                        },
                        None,
                    )
                }
                ScriptRole::Misc { vs, rs, checker } => {
                    let Some(v) = vss.get(vs) else { continue };
                    let Some(s) = v.real_servers.get(rs) else {
                        continue;
                    };
                    let Some(CheckerKind::Misc(m)) = s.checkers.get(checker).map(|c| &c.kind)
                    else {
                        continue;
                    };
                    // The n-th MISC_CHECK of this real server.
                    let index = s.checkers[..checker]
                        .iter()
                        .filter(|c| matches!(c.kind, CheckerKind::Misc(_)))
                        .count() as u32;
                    (
                        ScriptPurpose::MiscCheck {
                            real_server: crate::state::rs_key(v, s),
                            index,
                        },
                        Some(m.timeout),
                    )
                }
            };
            // Quorum is the IPVS worker's business (it computes it).
            let role = match purpose {
                ScriptPurpose::QuorumNotify { .. } => Role::Ipvs,
                _ => Role::Check,
            };
            add(role, purpose, r.script, timeout);
        }
        t
    }

    /// The table a worker of `role` is given.
    pub fn entries_for(&self, role: Role) -> Vec<ScriptEntry> {
        self.entries
            .iter()
            .filter(|e| e.role == role)
            .map(|e| e.entry.clone())
            .collect()
    }

    /// The entry for `id`, only if it belongs to `role`.
    pub fn lookup(&self, role: Role, id: ScriptId) -> Option<&TableEntry> {
        self.entries
            .get(id.0 as usize)
            .filter(|e| e.role == role && e.entry.id == id)
    }

    /// The first script configured to run as root (uid 0), by its
    /// command line's first word.
    pub fn root_script(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.run_as.as_ref().is_ok_and(|u| u.uid == 0))
            .map(|e| e.argv.first().map_or("", String::as_str))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CONF: &str = r#"
global_defs {
    script_user nobody
}
vrrp_script chk {
    script "/bin/true"
    interval 2
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    track_script {
        chk
    }
    notify_master "/bin/echo master"
    virtual_ipaddress {
        10.0.0.100/24
    }
}
virtual_server 10.0.0.10 80 {
    real_server 10.0.0.1 80 {
        notify_up "/bin/echo up" root
        TCP_CHECK {
        }
        MISC_CHECK {
            misc_path "/bin/false"
            misc_timeout 7
        }
    }
}
"#;

    #[test]
    fn per_role_tables_and_lookup() {
        let l = config::load_str(Path::new("t.conf"), CONF, &config::LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        let t = ScriptTable::build(&l.config);
        assert_eq!(t.len(), 4);
        let vrrp = t.entries_for(Role::Vrrp);
        let check = t.entries_for(Role::Check);
        assert_eq!(vrrp.len(), 2);
        assert_eq!(check.len(), 2);
        assert_eq!(
            vrrp[0].purpose,
            ScriptPurpose::VrrpScript { name: "chk".into() }
        );
        let chk = t.lookup(Role::Vrrp, vrrp[0].id).expect("own id");
        assert_eq!(chk.argv, vec!["/bin/true".to_string()]);
        assert_eq!(
            chk.timeout,
            Some(Duration::from_secs(2)),
            "timeout defaults to interval"
        );
        assert_eq!(chk.run_as.as_ref().map(|u| u.name.as_str()), Ok("nobody"));
        // A worker cannot use another role's id, nor an unknown one.
        assert!(t.lookup(Role::Check, vrrp[0].id).is_none());
        assert!(t.lookup(Role::Vrrp, ScriptId(99)).is_none());
        let misc = check
            .iter()
            .find(|e| matches!(e.purpose, ScriptPurpose::MiscCheck { index: 0, .. }))
            .expect("misc");
        let m = t.lookup(Role::Check, misc.id).expect("misc entry");
        assert_eq!(m.timeout, Some(Duration::from_secs(7)));
        let up = check
            .iter()
            .find(|e| {
                matches!(
                    e.purpose,
                    ScriptPurpose::RealServerNotify {
                        event: UpDown::Up,
                        ..
                    }
                )
            })
            .expect("notify_up");
        let u = t.lookup(Role::Check, up.id).expect("entry");
        assert_eq!(
            u.run_as.as_ref().map(|u| u.uid),
            Ok(0),
            "explicit root is honoured"
        );
    }

    #[test]
    fn quorum_scripts_belong_to_the_ipvs_worker() {
        let conf = "virtual_server 10.0.0.1 80 {\n quorum_up /bin/true\n quorum_down /bin/false\n real_server 10.0.0.2 80 {\n }\n}\n";
        let l = config::load_str(Path::new("t.conf"), conf, &config::LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        let t = ScriptTable::build(&l.config);
        let ipvs = t.entries_for(Role::Ipvs);
        assert_eq!(ipvs.len(), 2);
        assert!(t.entries_for(Role::Check).is_empty());
        assert!(matches!(
            ipvs[0].purpose,
            ScriptPurpose::QuorumNotify {
                event: UpDown::Up,
                ..
            }
        ));
        assert!(t.lookup(Role::Ipvs, ipvs[1].id).is_some());
        assert!(t.lookup(Role::Check, ipvs[1].id).is_none());
    }

    #[test]
    fn heartbeat_follows_the_fastest_advert() {
        let l = config::load_str(Path::new("t.conf"), CONF, &config::LoadOptions::default());
        assert_eq!(heartbeat_interval(&l.config), Duration::from_millis(250));
        let fast = CONF.replace(
            "virtual_router_id 51",
            "virtual_router_id 51\n    version 3\n    advert_int 0.1",
        );
        let l = config::load_str(Path::new("t.conf"), &fast, &config::LoadOptions::default());
        assert_eq!(heartbeat_interval(&l.config), Duration::from_millis(25));
    }
}
