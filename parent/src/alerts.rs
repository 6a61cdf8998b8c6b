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
//!   and hands them to the check worker, holding them until it is ready;
//! - follows each virtual server's quorum as keepalived's checker does
//!   (`update_quorum_state`, at start, on each health change, around a
//!   reload) and at stop, with `omega`, its "Shutting down" mails
//!   (`clear_services`), handing the check worker the LVS alerts of the
//!   virtual servers (and real servers) whose `smtp_alert` is on.

use crate::log::Level;
use config::model::Config;
use config::model::global::LvsFlushOnStop;
use config::model::global::{GlobalDefs, SmtpHost};
use config::model::lvs::VirtualServer;
use ipc::{Health, InstanceState, LvsAlert, RealServerKey, ToWorker, VirtualServerKey, VrrpState};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{SocketAddr, ToSocketAddrs};

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

/// keepalived's `real_weight`: a weight as IPVS takes it.
const WEIGHT_MAX: u32 = i32::MAX as u32;

/// The weight sum of `vs`'s up real servers (keepalived's
/// `weigh_live_realservers`), real servers in `gone` counted as down.
fn weight_sum(
    vs: &VirtualServer,
    health: &BTreeMap<RealServerKey, Health>,
    gone: &BTreeSet<RealServerKey>,
) -> u64 {
    vs.real_servers
        .iter()
        .map(|rs| ipc::keys::rs_key(vs, rs))
        .filter(|k| !gone.contains(k))
        .filter_map(|k| health.get(&k))
        .filter(|h| h.up)
        .map(|h| u64::from(h.weight.min(WEIGHT_MAX)))
        .sum()
}

/// keepalived 2.2.7's `update_quorum_state`: from the quorum state `up`,
/// the new state and the threshold it compared with, when it changed (or,
/// `init` with quorum down, when a sorry server is to be added: its
/// "Starting with quorum down").
pub fn quorum_step(
    up: bool,
    init: bool,
    sum: u64,
    quorum: u32,
    hysteresis: u32,
    sorry_to_add: bool,
) -> Option<(bool, i64)> {
    let h = i64::from(hysteresis);
    let threshold = i64::from(quorum) + if up { -h } else { h };
    let sum_i = i64::try_from(sum).unwrap_or(i64::MAX);
    if !up && sum_i >= threshold {
        Some((true, threshold))
    } else if (up && (sum == 0 || sum_i < threshold)) || (init && !up && sorry_to_add) {
        Some((false, threshold))
    } else {
        None
    }
}

/// Each virtual server's quorum state, and the LVS mails not yet handed
/// to the check worker.
#[derive(Debug, Default)]
pub struct LvsAlerts {
    /// keepalived's `quorum_state_up`.
    up: BTreeMap<VirtualServerKey, bool>,
    /// The sorry server in use (keepalived's alive `s_svr`).
    sorry: BTreeMap<VirtualServerKey, SocketAddr>,
    pending: VecDeque<ToWorker>,
}

impl LvsAlerts {
    fn push(&mut self, a: LvsAlert) {
        if self.pending.len() < PENDING_MAX {
            self.pending.push_back(ToWorker::LvsAlert(a));
        }
    }

    /// keepalived's `update_quorum_state` for `vs` (`init`: at start or
    /// reload, `init_service_vs`).
    fn update(&mut self, cfg: &Config, vs: &VirtualServer, sum: u64, init: bool) {
        let key = ipc::keys::vs_key(vs);
        let up = self.up.get(&key).copied().unwrap_or(false);
        let sorry_to_add = vs
            .sorry_server
            .as_ref()
            .is_some_and(|s| self.sorry.get(&key) != Some(&s.addr));
        let Some((now_up, threshold)) =
            quorum_step(up, init, sum, vs.quorum, vs.hysteresis, sorry_to_add)
        else {
            self.up.insert(key, up);
            return;
        };
        self.up.insert(key.clone(), now_up);
        match (&vs.sorry_server, now_up) {
            (_, true) => {
                self.sorry.remove(&key);
            }
            (Some(s), false) => {
                self.sorry.insert(key, s.addr);
            }
            (None, false) => {}
        }
        self.mail_quorum(cfg, vs, now_up, init, threshold, sum);
    }

    /// `vs`'s quorum mail, when it has `smtp_alert` and mail can go.
    fn mail_quorum(
        &mut self,
        cfg: &Config,
        vs: &VirtualServer,
        up: bool,
        starting: bool,
        threshold: i64,
        weight_sum: u64,
    ) {
        if mail_possible(cfg) && vs.smtp_alert {
            self.push(LvsAlert::Quorum(ipc::QuorumChange {
                virtual_server: vs.display_name(),
                up,
                starting,
                quorum: vs.quorum,
                hysteresis: vs.hysteresis,
                threshold,
                weight_sum,
            }));
        }
    }

    /// Start (and the end of a reload): keepalived's `init_services`, with
    /// the real servers' initial (or carried over) health.
    pub fn start(&mut self, cfg: &Config, health: &BTreeMap<RealServerKey, Health>) {
        for vs in &cfg.lvs.virtual_servers {
            self.update(cfg, vs, weight_sum(vs, health, &BTreeSet::new()), true);
        }
    }

    /// A real server of the virtual server `key` changed health.
    pub fn on_health(
        &mut self,
        cfg: &Config,
        health: &BTreeMap<RealServerKey, Health>,
        key: &VirtualServerKey,
    ) {
        for vs in &cfg.lvs.virtual_servers {
            if ipc::keys::vs_key(vs) == *key {
                self.update(cfg, vs, weight_sum(vs, health, &BTreeSet::new()), false);
            }
        }
    }

    /// A reload from `old` (with `old_health`) to `new` (`new_health`):
    /// keepalived's `clear_diff_services` (a virtual server that goes, or
    /// loses real servers, may lose its quorum: "Lost quorum" for the old
    /// one) then `init_services` on the new configuration (the state
    /// carried over; "Starting with quorum up/down" on a change).
    pub fn reload(
        &mut self,
        old: &Config,
        old_health: &BTreeMap<RealServerKey, Health>,
        new: &Config,
        new_health: &BTreeMap<RealServerKey, Health>,
    ) {
        let new_keys: BTreeSet<VirtualServerKey> = new
            .lvs
            .virtual_servers
            .iter()
            .map(ipc::keys::vs_key)
            .collect();
        let new_rss: BTreeSet<RealServerKey> = new
            .lvs
            .virtual_servers
            .iter()
            .flat_map(|vs| vs.real_servers.iter().map(|rs| ipc::keys::rs_key(vs, rs)))
            .collect();
        for vs in &old.lvs.virtual_servers {
            let key = ipc::keys::vs_key(vs);
            let stays = new_keys.contains(&key);
            let gone: BTreeSet<RealServerKey> = vs
                .real_servers
                .iter()
                .map(|rs| ipc::keys::rs_key(vs, rs))
                .filter(|k| !stays || !new_rss.contains(k))
                .collect();
            if vs.real_servers.is_empty()
                || (!stays && old.global.lvs_flush_on_stop != LvsFlushOnStop::None)
            {
                // No real server to clear, or (a virtual server that goes
                // with lvs_flush_on_stop) none cleared one by one.
            } else {
                // keepalived's `update_vs_notifies`: only a loss.
                let up = self.up.get(&key).copied().unwrap_or(false);
                let sum = weight_sum(vs, old_health, &gone);
                let threshold = i64::from(vs.quorum) - i64::from(vs.hysteresis);
                let sum_i = i64::try_from(sum).unwrap_or(i64::MAX);
                if up && (sum == 0 || sum_i < threshold) {
                    self.mail_quorum(old, vs, false, false, threshold, sum);
                }
                // The new virtual server took the state before this.
            }
            if !stays {
                self.up.remove(&key);
                self.sorry.remove(&key);
            }
        }
        self.start(new, new_health);
    }

    /// Stop (keepalived's `clear_services`, not with `-I`): with `omega`,
    /// each virtual server's up real servers that are in its service mail
    /// "Shutting down" (when each is removed; not with
    /// `lvs_flush_on_stop`), then the virtual server itself.
    pub fn stop(&mut self, cfg: &Config, health: &BTreeMap<RealServerKey, Health>) {
        if !mail_possible(cfg) {
            return;
        }
        for vs in &cfg.lvs.virtual_servers {
            if !vs.omega {
                continue;
            }
            let key = ipc::keys::vs_key(vs);
            let up = self.up.get(&key).copied().unwrap_or(false);
            // With quorum down the sorry server has replaced the real
            // servers: they are not in the service (keepalived's `set`).
            let in_service = up || vs.sorry_server.is_none();
            let real_servers: Vec<RealServerKey> =
                if cfg.global.lvs_flush_on_stop == LvsFlushOnStop::None && in_service {
                    vs.real_servers
                        .iter()
                        .filter(|rs| rs.smtp_alert)
                        .map(|rs| ipc::keys::rs_key(vs, rs))
                        .filter(|k| health.get(k).is_some_and(|h| h.up))
                        .collect()
                } else {
                    Vec::new()
                };
            let virtual_servers = if vs.smtp_alert {
                vec![vs.display_name()]
            } else {
                Vec::new()
            };
            if !real_servers.is_empty() || !virtual_servers.is_empty() {
                self.push(LvsAlert::ShuttingDown {
                    virtual_servers,
                    real_servers,
                });
            }
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

    const LVS: &str = "global_defs {\n  router_id R\n  notification_email {\n    a@b\n  }\n  smtp_server 127.0.0.1 2525\n}\n\
virtual_server 192.0.2.10 80 {\n  protocol TCP\n  quorum 2\n  hysteresis 1\n  omega\n  smtp_alert\n\
  real_server 127.0.0.1 7102 {\n    weight 1\n    TCP_CHECK {\n    }\n  }\n\
  real_server 127.0.0.1 7103 {\n    weight 2\n    TCP_CHECK {\n    }\n  }\n}\n\
virtual_server 192.0.2.11 80 {\n  protocol TCP\n  alpha\n  smtp_alert\n  sorry_server 127.0.0.1 7104\n\
  real_server 127.0.0.1 7102 {\n    TCP_CHECK {\n    }\n  }\n}\n\
virtual_server 192.0.2.12 80 {\n  protocol TCP\n  quorum 5\n\
  real_server 127.0.0.1 7102 {\n    TCP_CHECK {\n    }\n  }\n}\n";

    fn quorum(a: &ToWorker) -> (String, bool, bool, i64, u64) {
        match a {
            ToWorker::LvsAlert(LvsAlert::Quorum(ipc::QuorumChange {
                virtual_server,
                up,
                starting,
                threshold,
                weight_sum,
                ..
            })) => (
                virtual_server.clone(),
                *up,
                *starting,
                *threshold,
                *weight_sum,
            ),
            other => panic!("{other:?}"),
        }
    }

    fn set(
        c: &Config,
        st: &mut crate::state::State,
        a: &mut LvsAlerts,
        vs: usize,
        rs: usize,
        up: bool,
    ) {
        let v = &c.lvs.virtual_servers[vs];
        let h = ipc::HealthChange {
            real_server: ipc::keys::rs_key(v, &v.real_servers[rs]),
            up,
            weight: v.real_servers[rs].weight,
        };
        assert!(st.on_health(&h).unwrap());
        a.on_health(&st.config, &st.health, &h.real_server.virtual_server);
    }

    #[test]
    fn quorum_steps_as_keepalived_with_hysteresis() {
        // Down: gained at quorum + hysteresis.
        assert_eq!(quorum_step(false, false, 2, 2, 1, false), None);
        assert_eq!(quorum_step(false, false, 3, 2, 1, false), Some((true, 3)));
        // Up: lost below quorum - hysteresis, or at 0.
        assert_eq!(quorum_step(true, false, 1, 2, 1, false), None);
        assert_eq!(quorum_step(true, false, 0, 2, 1, false), Some((false, 1)));
        assert_eq!(quorum_step(true, false, 0, 1, 1, false), Some((false, 0)));
        // Starting down: a change only when a sorry server is to be added.
        assert_eq!(quorum_step(false, true, 1, 5, 0, false), None);
        assert_eq!(quorum_step(false, true, 1, 5, 0, true), Some((false, 5)));
        assert_eq!(quorum_step(false, false, 1, 5, 0, true), None);
    }

    #[test]
    fn quorum_mails_at_start_on_changes_and_omega_mails_at_stop() {
        let c = cfg(LVS);
        let mut st = crate::state::State::new(c.clone());
        let mut a = LvsAlerts::default();
        a.start(&st.config, &st.health);
        let got: Vec<_> = a.take().iter().map(quorum).collect();
        // The third has no smtp_alert: its quorum is followed, not mailed.
        assert_eq!(
            got,
            vec![
                ("[192.0.2.10]:tcp:80".into(), true, true, 3, 3),
                ("[192.0.2.11]:tcp:80".into(), false, true, 1, 0),
            ]
        );
        // 7103 (weight 2) down: 1 is not below 2 - 1; 7102 down too: 0.
        set(&c, &mut st, &mut a, 0, 1, false);
        assert!(!a.has_pending());
        set(&c, &mut st, &mut a, 0, 0, false);
        let got: Vec<_> = a.take().iter().map(quorum).collect();
        assert_eq!(
            got,
            vec![("[192.0.2.10]:tcp:80".into(), false, false, 1, 0)]
        );
        // Back: 1 is not 2 + 1; then 3.
        set(&c, &mut st, &mut a, 0, 0, true);
        assert!(!a.has_pending());
        set(&c, &mut st, &mut a, 0, 1, true);
        let got: Vec<_> = a.take().iter().map(quorum).collect();
        assert_eq!(got, vec![("[192.0.2.10]:tcp:80".into(), true, false, 3, 3)]);
        // The sorry server's virtual server (alpha: started down).
        set(&c, &mut st, &mut a, 1, 0, true);
        set(&c, &mut st, &mut a, 1, 0, false);
        let got: Vec<_> = a.take().iter().map(quorum).collect();
        assert_eq!(
            got,
            vec![
                ("[192.0.2.11]:tcp:80".into(), true, false, 1, 1),
                ("[192.0.2.11]:tcp:80".into(), false, false, 1, 0),
            ]
        );
        // Stop: only the omega one, its two up real servers then itself.
        a.stop(&st.config, &st.health);
        let got = a.take();
        let v = &c.lvs.virtual_servers[0];
        assert_eq!(
            got,
            vec![ToWorker::LvsAlert(LvsAlert::ShuttingDown {
                virtual_servers: vec!["[192.0.2.10]:tcp:80".into()],
                real_servers: v
                    .real_servers
                    .iter()
                    .map(|r| ipc::keys::rs_key(v, r))
                    .collect(),
            })]
        );
        // A down real server is not mailed; with lvs_flush_on_stop none is.
        set(&c, &mut st, &mut a, 0, 1, false);
        a.stop(&st.config, &st.health);
        match &a.take()[..] {
            [ToWorker::LvsAlert(LvsAlert::ShuttingDown { real_servers, .. })] => {
                assert_eq!(real_servers.len(), 1)
            }
            other => panic!("{other:?}"),
        }
        let mut flush = st.config.clone();
        flush.global.lvs_flush_on_stop = LvsFlushOnStop::Full;
        a.stop(&flush, &st.health);
        match &a.take()[..] {
            [
                ToWorker::LvsAlert(LvsAlert::ShuttingDown {
                    real_servers,
                    virtual_servers,
                }),
            ] => {
                assert!(real_servers.is_empty());
                assert_eq!(virtual_servers.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_reload_loses_quorum_for_the_old_and_starts_the_new() {
        let c = cfg(LVS);
        let mut st = crate::state::State::new(c.clone());
        let mut a = LvsAlerts::default();
        a.start(&st.config, &st.health);
        a.take();
        // 7102 (weight 1) down: 2 left, quorum kept. The reload replaces
        // 7103 (weight 2, up) with 7105 (weight 2, alpha: down).
        set(&c, &mut st, &mut a, 0, 0, false);
        assert!(!a.has_pending());
        let text = LVS.replace(
            "real_server 127.0.0.1 7103 {\n    weight 2\n    TCP_CHECK {\n    }",
            "real_server 127.0.0.1 7105 {\n    weight 2\n    TCP_CHECK {\n      alpha\n    }",
        );
        let new = cfg(&text);
        let old = (st.config.clone(), st.health.clone());
        st.reload(new);
        a.reload(&old.0, &old.1, &st.config, &st.health);
        let got: Vec<_> = a.take().iter().map(quorum).collect();
        // As keepalived: the old virtual server loses its quorum (0 left),
        // and the new one, which took the old one's state before that,
        // starts with it down.
        assert_eq!(
            got,
            vec![
                ("[192.0.2.10]:tcp:80".into(), false, false, 1, 0),
                ("[192.0.2.10]:tcp:80".into(), false, true, 1, 0),
            ]
        );
        // A reload removing the virtual server with quorum: "Lost quorum".
        let mut st2 = crate::state::State::new(c.clone());
        let mut b = LvsAlerts::default();
        b.start(&st2.config, &st2.health);
        b.take();
        let text = LVS
            .split("virtual_server 192.0.2.11")
            .next()
            .unwrap()
            .replace(
                "virtual_server 192.0.2.10 80",
                "virtual_server 192.0.2.13 80",
            );
        let old = (st2.config.clone(), st2.health.clone());
        st2.reload(cfg(&text));
        b.reload(&old.0, &old.1, &st2.config, &st2.health);
        let got: Vec<_> = b.take().iter().map(quorum).collect();
        assert_eq!(
            got,
            vec![
                ("[192.0.2.10]:tcp:80".into(), false, false, 1, 0),
                ("[192.0.2.13]:tcp:80".into(), true, true, 3, 3),
            ]
        );
    }
}
