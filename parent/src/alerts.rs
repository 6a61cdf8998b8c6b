//! SMTP alerts, the parent's part. The check worker sends the mail (it has
//! the network and nothing else); the parent
//!
//! - fills in keepalived's defaults from this machine when it loads a
//!   configuration: `router_id` is the host name and, with an
//!   `smtp_server`, `notification_email_from` is `root@HOST` (keepalived's
//!   user, which is root) and `smtp_helo_name` is the host name;
//! - resolves an `smtp_server` given as a name, once, as keepalived does
//!   when it reads the configuration (the sandboxed worker has no resolver
//!   to ask);
//! - decides which VRRP transitions are mailed (the instance's or sync
//!   group's `smtp_alert`, `no_email_faults`, one mail per state entered)
//!   and hands them to the check worker, holding them until it is ready.

use crate::log::Level;
use config::model::Config;
use config::model::global::{GlobalDefs, SmtpHost};
use ipc::{InstanceState, ToWorker, VrrpState};
use std::collections::{BTreeMap, VecDeque};
use std::net::ToSocketAddrs;

/// VRRP alerts held for the check worker; more are dropped.
pub const PENDING_MAX: usize = 64;

/// keepalived's name for an unknown host name.
const UNKNOWN_NAME: &str = "[unknown]";

/// This machine's name as keepalived's `get_local_name` finds it: the
/// resolver's canonical name for the host name, else the host name.
fn local_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_string();
    if name.is_empty() {
        return None;
    }
    Some(crate::sys::canonical_name(&name).unwrap_or(name))
}

/// Fill in keepalived's defaults and resolve a named `smtp_server`; returns
/// what to log. Only what is unset and needed is looked up (keepalived's
/// `init_global_data`).
pub fn resolve(g: &mut GlobalDefs) -> Vec<(Level, String)> {
    let needed = g.router_id.is_none()
        || (g.smtp_server.is_some()
            && (g.smtp_helo_name.is_none() || g.notification_email_from.is_none()));
    resolve_with(g, if needed { local_name() } else { None })
}

fn resolve_with(g: &mut GlobalDefs, local: Option<String>) -> Vec<(Level, String)> {
    let mut logs = Vec::new();
    if g.router_id.is_none() {
        g.router_id = Some(local.clone().unwrap_or_else(|| UNKNOWN_NAME.to_string()));
    }
    let Some(server) = g.smtp_server.as_mut() else {
        return logs;
    };
    if let Some(name) = &local {
        if g.notification_email_from.is_none() {
            g.notification_email_from = Some(format!("root@{name}"));
        }
        if g.smtp_helo_name.is_none() {
            g.smtp_helo_name = Some(name.clone());
        }
    }
    if let SmtpHost::Name(host) = &server.host {
        match (host.as_str(), server.port).to_socket_addrs() {
            Ok(mut addrs) => match addrs.next() {
                Some(a) => server.host = SmtpHost::Ip(a.ip()),
                None => {
                    logs.push((
                        Level::Err,
                        format!("smtp_server {host}: no address found; no SMTP alerts"),
                    ));
                    g.smtp_server = None;
                }
            },
            Err(e) => {
                logs.push((
                    Level::Err,
                    format!("smtp_server {host}: cannot resolve ({e}); no SMTP alerts"),
                ));
                g.smtp_server = None;
            }
        }
    }
    logs
}

fn mail_possible(cfg: &Config) -> bool {
    cfg.global.smtp_server.is_some() && !cfg.global.notification_email.is_empty()
}

fn group_alerts(cfg: &Config, g: &config::model::vrrp::SyncGroup) -> bool {
    g.smtp_alert
        .or(cfg.global.smtp_alert_vrrp)
        .or(cfg.global.smtp_alert)
        .unwrap_or(false)
}

/// Whether some VRRP instance or sync group mails its transitions (the
/// check worker must run for them even with no virtual server).
pub fn vrrp_alerts_wanted(cfg: &Config) -> bool {
    mail_possible(cfg)
        && (cfg.vrrp.instances.iter().any(|i| i.smtp_alert)
            || cfg.vrrp.sync_groups.iter().any(|g| group_alerts(cfg, g)))
}

/// Which VRRP transitions are mailed, and the mails not yet handed over.
#[derive(Debug, Default)]
pub struct VrrpAlerts {
    /// The state last mailed, per (is a group, name) (keepalived's
    /// `last_email_state`).
    last: BTreeMap<(bool, String), VrrpState>,
    pending: VecDeque<ToWorker>,
}

impl VrrpAlerts {
    /// An instance reported `s`; `states` holds every instance's last
    /// report (this one included).
    pub fn on_instance(
        &mut self,
        cfg: &Config,
        s: &InstanceState,
        states: &BTreeMap<String, InstanceState>,
    ) {
        if !mail_possible(cfg) {
            return;
        }
        let Some(inst) = cfg.vrrp.instance(&s.name) else {
            return;
        };
        if inst.smtp_alert {
            self.mail(cfg, false, &s.name, s.state);
        }
        for g in &cfg.vrrp.sync_groups {
            if !g.members.contains(&s.name) || !group_alerts(cfg, g) {
                continue;
            }
            let member_states: Vec<Option<VrrpState>> = g
                .members
                .iter()
                .map(|m| states.get(m).map(|st| st.state))
                .collect();
            // FAULT as soon as one member is; MASTER or BACKUP once all are.
            let state = if member_states.contains(&Some(VrrpState::Fault)) {
                Some(VrrpState::Fault)
            } else if member_states.iter().all(|m| *m == Some(VrrpState::Master)) {
                Some(VrrpState::Master)
            } else if member_states.iter().all(|m| *m == Some(VrrpState::Backup)) {
                Some(VrrpState::Backup)
            } else {
                None
            };
            if let Some(state) = state {
                self.mail(cfg, true, &g.name, state);
            }
        }
    }

    fn mail(&mut self, cfg: &Config, group: bool, name: &str, state: VrrpState) {
        if state == VrrpState::Init || (state == VrrpState::Fault && cfg.global.no_email_faults) {
            return;
        }
        let key = (group, name.to_string());
        if self.last.get(&key) == Some(&state) {
            return;
        }
        self.last.insert(key, state);
        if self.pending.len() < PENDING_MAX {
            self.pending.push_back(ToWorker::VrrpAlert {
                group,
                name: name.to_string(),
                state,
            });
        }
    }

    /// The mails to hand the check worker now.
    pub fn take(&mut self) -> Vec<ToWorker> {
        self.pending.drain(..).collect()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        let l = config::load_str(Path::new("t.conf"), text, &config::LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    const CONF: &str = "global_defs {\n  router_id R\n  notification_email {\n    a@b\n  }\n  smtp_server 127.0.0.1 2525\n}\n\
vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  smtp_alert\n}\n\
vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  priority 100\n  smtp_alert\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n\
vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 2\n  priority 100\n  virtual_ipaddress {\n    192.0.2.2\n  }\n}\n";

    fn report(name: &str, state: VrrpState) -> InstanceState {
        InstanceState {
            name: name.into(),
            state,
            priority: 100,
            effective_priority: 100,
            holds_vips: state == VrrpState::Master,
        }
    }

    #[test]
    fn defaults_come_from_the_host_name() {
        let mut g = cfg(CONF).global;
        g.router_id = None;
        assert!(resolve_with(&mut g, Some("lb1".into())).is_empty());
        assert_eq!(g.router_id.as_deref(), Some("lb1"));
        assert_eq!(g.notification_email_from.as_deref(), Some("root@lb1"));
        assert_eq!(g.smtp_helo_name.as_deref(), Some("lb1"));
        // Without an smtp_server only the router_id.
        let mut g = GlobalDefs::default();
        resolve_with(&mut g, Some("lb1".into()));
        assert_eq!(g.notification_email_from, None);
    }

    #[test]
    fn the_canonical_name_comes_from_the_resolver() {
        assert_eq!(
            crate::sys::canonical_name("localhost").as_deref(),
            Some("localhost")
        );
        assert_eq!(crate::sys::canonical_name("no-such-host.invalid"), None);
        let mut g = GlobalDefs::default();
        resolve_with(&mut g, None);
        assert_eq!(g.router_id.as_deref(), Some("[unknown]"));
    }

    #[test]
    fn a_server_name_is_resolved_once_or_dropped() {
        let mut g = cfg(CONF).global;
        g.smtp_server.as_mut().unwrap().host = SmtpHost::Name("localhost".into());
        assert!(resolve_with(&mut g, None).is_empty());
        assert!(matches!(
            g.smtp_server.as_ref().unwrap().host,
            SmtpHost::Ip(ip) if ip.is_loopback()
        ));
        g.smtp_server.as_mut().unwrap().host = SmtpHost::Name("no-such-host.invalid".into());
        let logs = resolve_with(&mut g, None);
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert!(logs[0].1.starts_with("smtp_server no-such-host.invalid: "));
        assert_eq!(g.smtp_server, None);
    }

    #[test]
    fn instances_and_groups_mail_each_state_once() {
        let c = cfg(CONF);
        assert!(vrrp_alerts_wanted(&c));
        let mut a = VrrpAlerts::default();
        let mut states = BTreeMap::new();
        let mut step = |a: &mut VrrpAlerts, name: &str, st| {
            let r = report(name, st);
            states.insert(name.to_string(), r.clone());
            a.on_instance(&c, &r, &states);
            a.take()
        };
        let alert = |group, name: &str, state| ToWorker::VrrpAlert {
            group,
            name: name.into(),
            state,
        };
        assert_eq!(
            step(&mut a, "VI_1", VrrpState::Backup),
            vec![alert(false, "VI_1", VrrpState::Backup)]
        );
        // VI_2 has no smtp_alert; the group is all BACKUP now.
        assert_eq!(
            step(&mut a, "VI_2", VrrpState::Backup),
            vec![alert(true, "G", VrrpState::Backup)]
        );
        // A priority change in the same state: nothing.
        assert_eq!(step(&mut a, "VI_1", VrrpState::Backup), vec![]);
        assert_eq!(
            step(&mut a, "VI_1", VrrpState::Master),
            vec![alert(false, "VI_1", VrrpState::Master)]
        );
        assert_eq!(
            step(&mut a, "VI_2", VrrpState::Master),
            vec![alert(true, "G", VrrpState::Master)]
        );
        assert_eq!(
            step(&mut a, "VI_2", VrrpState::Fault),
            vec![alert(true, "G", VrrpState::Fault)]
        );
    }

    #[test]
    fn the_check_worker_runs_for_vrrp_alerts_and_under_p_checks_nothing() {
        use crate::daemon::{slice_for, wanted_roles};
        use ipc::{Role, Slice};
        let text = format!(
            "{CONF}virtual_server 10.0.0.1 80 {{\n  protocol TCP\n  real_server 127.0.0.1 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n}}\n"
        );
        let with_vs = cfg(&text);
        let vrrp_only = cfg(CONF);
        let mut opts = crate::cli::Options::default();
        assert_eq!(
            wanted_roles(&opts, &vrrp_only),
            vec![Role::Vrrp, Role::Check]
        );
        assert_eq!(
            wanted_roles(&opts, &with_vs),
            vec![Role::Vrrp, Role::Check, Role::Ipvs]
        );
        opts.vrrp_only = true;
        assert_eq!(wanted_roles(&opts, &with_vs), vec![Role::Vrrp, Role::Check]);
        let Slice::Check(s) = slice_for(&opts, Role::Check, &with_vs) else {
            panic!("a check slice");
        };
        assert!(s.lvs.virtual_servers.is_empty());
        assert!(!s.global.notification_email.is_empty());
        opts.vrrp_only = false;
        opts.check_only = true;
        assert_eq!(wanted_roles(&opts, &vrrp_only), vec![]);
        let mut quiet = vrrp_only.clone();
        quiet.global.notification_email.clear();
        assert_eq!(
            wanted_roles(&crate::cli::Options::default(), &quiet),
            vec![Role::Vrrp]
        );
    }

    #[test]
    fn no_mail_without_recipients_or_with_no_email_faults() {
        let mut c = cfg(CONF);
        c.global.no_email_faults = true;
        let mut a = VrrpAlerts::default();
        let r = report("VI_1", VrrpState::Fault);
        let states = BTreeMap::from([("VI_1".to_string(), r.clone())]);
        a.on_instance(&c, &r, &states);
        assert!(!a.has_pending());
        c.global.notification_email.clear();
        assert!(!vrrp_alerts_wanted(&c));
        let r = report("VI_1", VrrpState::Master);
        a.on_instance(&c, &r, &states);
        assert!(!a.has_pending());
    }
}
