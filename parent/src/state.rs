//! The parent's authoritative state: the running configuration, each VRRP
//! instance's last reported state, each real server's health, the IPVS
//! worker's status. A restarted worker resumes from it.
//!
//! Reports from workers are checked against the configuration: a worker
//! can only speak of instances and real servers the parent knows.

use config::model::Config;
use config::model::lvs::VsKey;
use ipc::{
    CheckerStats, DropReason, DumpKind, Health, HealthChange, InstanceRestore, InstanceState,
    IpvsStatus, RealServerKey, Role, VrrpCounters, VrrpState,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write;

/// What a restarted VRRP worker adds to the last AH sequence number its
/// predecessor reported (it reports every 2 s; an instance sends one
/// advert per `advert_int`, at least 1 s, and one per lower-priority
/// advert it hears).
pub const AH_SEQ_RESTORE_MARGIN: u32 = 1000;

/// One line of the `workers` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRow {
    pub role: Role,
    pub pid: Option<u32>,
    pub restarts: u32,
    pub ready: bool,
    /// Workers of this role killed by SIGSYS (seccomp) so far.
    pub seccomp_violations: u32,
}

pub struct State {
    /// 1 for the first configuration, +1 per successful reload.
    pub generation: u64,
    pub config: Config,
    pub instances: BTreeMap<String, InstanceState>,
    pub health: BTreeMap<RealServerKey, Health>,
    pub counters: BTreeMap<String, VrrpCounters>,
    /// Adverts the VRRP worker dropped for a VRID no instance has, by
    /// interface (no instance to count them under).
    pub unknown_vrid: BTreeMap<String, u64>,
    pub ipvs: Option<IpvsStatus>,
    /// The check worker's last summary of its checkers' probes, per real
    /// server (in checker order).
    pub checker_stats: BTreeMap<RealServerKey, Vec<CheckerStats>>,
}

pub use ipc::keys::{rs_key, vs_key};

/// keepalived's health before any check has run: a real server is up
/// unless it (or its virtual server, or one of its checkers) has `alpha`:
/// a checker with alpha starts failed, and a real server is up only when
/// all its checkers are.
fn initial_health(cfg: &Config) -> BTreeMap<RealServerKey, Health> {
    let mut m = BTreeMap::new();
    for vs in &cfg.lvs.virtual_servers {
        for rs in &vs.real_servers {
            m.insert(
                rs_key(vs, rs),
                Health {
                    up: !rs.alpha && !rs.checkers.iter().any(|c| c.alpha),
                    weight: rs.weight,
                },
            );
        }
    }
    m
}

/// A drop reason's key in `ctl status` (`counters.drops`).
pub fn drop_key(r: &DropReason) -> String {
    match r {
        DropReason::PacketLength => "packet_length".into(),
        DropReason::AdvertInterval => "advert_interval".into(),
        DropReason::IpTtl => "ip_ttl".into(),
        DropReason::InvalidType => "invalid_type".into(),
        DropReason::AddressList => "address_list".into(),
        DropReason::InvalidAuthType => "invalid_auth_type".into(),
        DropReason::AuthTypeMismatch => "auth_type_mismatch".into(),
        DropReason::AuthFailure => "auth_failure".into(),
        DropReason::Checksum => "checksum".into(),
        DropReason::Version => "version".into(),
        DropReason::Other(why) => format!("other: {why}"),
    }
}

/// An instance's counters as `ctl status` shows them (all zero before
/// the VRRP worker's first report).
fn counters_json(c: Option<&VrrpCounters>) -> Value {
    let zero = VrrpCounters::default();
    let c = c.unwrap_or(&zero);
    let drops: serde_json::Map<String, Value> = c
        .drops
        .iter()
        .map(|(r, n)| (drop_key(r), json!(n)))
        .collect();
    json!({
        "adverts_sent": c.adverts_sent,
        "adverts_received": c.adverts_received,
        "became_master": c.became_master,
        "released_master": c.released_master,
        "priority_zero_sent": c.priority_zero_sent,
        "priority_zero_received": c.priority_zero_received,
        "drops": drops,
    })
}

/// A real server's health checkers as `ctl status` lists them: kind,
/// target, interval, timeout and retries (FILE_CHECK: the file).
fn checkers_json(
    rs: &config::model::lvs::RealServer,
    stats: Option<&Vec<CheckerStats>>,
) -> Vec<Value> {
    // The check worker's figures, matched to the configured checkers of
    // the same type in order.
    let mut unused: Vec<&CheckerStats> = stats.map(|v| v.iter().collect()).unwrap_or_default();
    let mut v: Vec<Value> = rs
        .checkers
        .iter()
        .map(|c| {
            let kind = c.kind.keyword();
            let st = unused
                .iter()
                .position(|s| s.kind == kind)
                .map(|i| unused.remove(i));
            json!({
                "type": kind,
                "target": c.connection.as_ref().map(|k| k.dst.to_string()),
                "interval_s": c.delay_loop.as_secs_f64(),
                "timeout_s": c.connection.as_ref().map(|k| k.timeout.as_secs_f64()),
                "retry": c.retry,
                "alpha": c.alpha,
                "last_probe_s": st.and_then(|s| s.last_duration).map(|d| d.as_secs_f64()),
                "last_probe_ok": st.and_then(|s| s.last_duration.map(|_| s.last_ok)),
                "probes": st.map_or(0, |s| s.checks),
                "probe_failures": st.map_or(0, |s| s.failures),
            })
        })
        .collect();
    v.extend(rs.file_checks.iter().map(|f| {
        json!({
            "type": "FILE_CHECK",
            "target": f.path,
        })
    }));
    v
}

/// keepalived's `/tmp/keepalived.stats` block for one instance
/// (`vrrp_print_stats`), then the reasons keepalived has no line for.
fn write_stats(s: &mut String, name: &str, c: &VrrpCounters) {
    let n = |r: DropReason| c.drops.get(&r).copied().unwrap_or(0);
    let _ = writeln!(s, "VRRP Instance: {name}");
    let _ = writeln!(s, "  Advertisements:");
    let _ = writeln!(s, "    Received: {}", c.adverts_received);
    let _ = writeln!(s, "    Sent: {}", c.adverts_sent);
    let _ = writeln!(s, "  Became master: {}", c.became_master);
    let _ = writeln!(s, "  Released master: {}", c.released_master);
    let _ = writeln!(s, "  Packet Errors:");
    let _ = writeln!(s, "    Length: {}", n(DropReason::PacketLength));
    let _ = writeln!(s, "    TTL: {}", n(DropReason::IpTtl));
    let _ = writeln!(s, "    Invalid Type: {}", n(DropReason::InvalidType));
    let _ = writeln!(
        s,
        "    Advertisement Interval: {}",
        n(DropReason::AdvertInterval)
    );
    let _ = writeln!(s, "    Address List: {}", n(DropReason::AddressList));
    let _ = writeln!(s, "    Checksum: {}", n(DropReason::Checksum));
    let _ = writeln!(s, "    Version: {}", n(DropReason::Version));
    for (r, k) in &c.drops {
        if let DropReason::Other(why) = r {
            let _ = writeln!(s, "    Other ({why}): {k}");
        }
    }
    let _ = writeln!(s, "  Authentication Errors:");
    let _ = writeln!(s, "    Invalid Type: {}", n(DropReason::InvalidAuthType));
    let _ = writeln!(s, "    Type Mismatch: {}", n(DropReason::AuthTypeMismatch));
    let _ = writeln!(s, "    Failure: {}", n(DropReason::AuthFailure));
    let _ = writeln!(s, "  Priority Zero:");
    let _ = writeln!(s, "    Received: {}", c.priority_zero_received);
    let _ = writeln!(s, "    Sent: {}", c.priority_zero_sent);
}

fn state_name(s: VrrpState) -> &'static str {
    match s {
        VrrpState::Init => "INIT",
        VrrpState::Backup => "BACKUP",
        VrrpState::Master => "MASTER",
        VrrpState::Fault => "FAULT",
    }
}

impl State {
    pub fn new(config: Config) -> Self {
        let health = initial_health(&config);
        Self {
            generation: 1,
            config,
            instances: BTreeMap::new(),
            health,
            counters: BTreeMap::new(),
            unknown_vrid: BTreeMap::new(),
            ipvs: None,
            checker_stats: BTreeMap::new(),
        }
    }

    /// A new configuration: instances and real servers that remain keep
    /// their state; new ones start from keepalived's initial state.
    pub fn reload(&mut self, config: Config) {
        let fresh = initial_health(&config);
        let mut health = BTreeMap::new();
        for (k, h) in fresh {
            let kept = self.health.get(&k).copied().unwrap_or(h);
            health.insert(k, kept);
        }
        self.health = health;
        self.checker_stats
            .retain(|k, _| self.health.contains_key(k));
        self.instances
            .retain(|name, _| config.vrrp.instance(name).is_some());
        self.counters
            .retain(|name, _| config.vrrp.instance(name).is_some());
        self.config = config;
        self.generation += 1;
    }

    /// A VRRP worker's state report.
    pub fn on_instance(&mut self, s: InstanceState) -> Result<(), String> {
        if self.config.vrrp.instance(&s.name).is_none() {
            return Err(format!("state report for unknown instance '{}'", s.name));
        }
        self.instances.insert(s.name.clone(), s);
        Ok(())
    }

    /// A check worker's health report; `Ok(true)` when it changed anything.
    pub fn on_health(&mut self, h: &HealthChange) -> Result<bool, String> {
        match self.health.get_mut(&h.real_server) {
            None => Err(format!(
                "health report for unknown real server {}:{} of {:?}",
                h.real_server.addr, h.real_server.port, h.real_server.virtual_server
            )),
            Some(cur) => {
                let new = h.health();
                let changed = *cur != new;
                *cur = new;
                Ok(changed)
            }
        }
    }

    /// The check worker's summary of its checkers' probes: replaces the
    /// previous one. Entries for real servers the configuration does not
    /// have are left out; `Err` says how many.
    pub fn on_check_stats(&mut self, stats: Vec<CheckerStats>) -> Result<(), String> {
        let mut unknown = 0usize;
        let mut map: BTreeMap<RealServerKey, Vec<CheckerStats>> = BTreeMap::new();
        for c in stats {
            if self.health.contains_key(&c.real_server) {
                map.entry(c.real_server.clone()).or_default().push(c);
            } else {
                unknown += 1;
            }
        }
        self.checker_stats = map;
        match unknown {
            0 => Ok(()),
            n => Err(format!("probe figures for {n} unknown real server(s)")),
        }
    }

    /// What a restarted VRRP worker resumes from.
    pub fn instance_restore(&self) -> BTreeMap<String, InstanceRestore> {
        self.instances
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    InstanceRestore {
                        state: s.state,
                        holds_vips: s.holds_vips,
                        // The worker reports its counters every 2 s at
                        // most: the adverts sent since are covered by a
                        // margin (a peer takes any higher number).
                        ah_seq: self.counters.get(n).map_or(0, |c| match c.ah_seq {
                            0 => 0,
                            s => s.saturating_add(AH_SEQ_RESTORE_MARGIN),
                        }),
                    },
                )
            })
            .collect()
    }

    /// The `ctl status` object.
    pub fn status_json(&self, workers: &[WorkerRow]) -> Value {
        let workers: Vec<Value> = workers
            .iter()
            .map(|w| {
                json!({
                    "role": w.role.as_str(),
                    "pid": w.pid,
                    "restarts": w.restarts,
                    "ready": w.ready,
                    "seccomp_violations": w.seccomp_violations,
                })
            })
            .collect();
        let instances: Vec<Value> = self
            .config
            .vrrp
            .instances
            .iter()
            .map(|i| {
                let rep = self.instances.get(&i.name);
                json!({
                    "name": i.name,
                    "state": rep.map_or("INIT", |r| state_name(r.state)),
                    "priority": i.priority,
                    "effective_priority": rep.map_or(i.priority, |r| r.effective_priority),
                    "holds_vips": rep.is_some_and(|r| r.holds_vips),
                    "vips": i.virtual_ipaddresses.iter()
                        .map(|a| format!("{}/{}", a.addr, a.prefix))
                        .collect::<Vec<_>>(),
                    "counters": counters_json(self.counters.get(&i.name)),
                })
            })
            .collect();
        let vss: Vec<Value> = self
            .config
            .lvs
            .virtual_servers
            .iter()
            .map(|vs| {
                let (address, port, fwmark, group) = match &vs.key {
                    VsKey::Addr { addr } => {
                        (Some(addr.ip().to_string()), Some(addr.port()), None, None)
                    }
                    VsKey::Fwmark { mark } => (None, None, Some(*mark), None),
                    VsKey::Group { name, .. } => (None, None, None, Some(name.clone())),
                };
                let rss: Vec<Value> = vs
                    .real_servers
                    .iter()
                    .map(|rs| {
                        let h = self.health.get(&rs_key(vs, rs));
                        json!({
                            "address": rs.addr.ip().to_string(),
                            "port": rs.addr.port(),
                            "up": h.is_some_and(|h| h.up),
                            "weight": h.map_or(rs.weight, |h| h.weight),
                            "configured_weight": rs.weight,
                            "checkers": checkers_json(rs, self.checker_stats.get(&rs_key(vs, rs))),
                        })
                    })
                    .collect();
                json!({
                    "address": address,
                    "port": port,
                    "fwmark": fwmark,
                    "group": group,
                    "protocol": vs.protocol.map(|p| p.as_str().to_uppercase()),
                    "real_servers": rss,
                })
            })
            .collect();
        json!({
            "generation": self.generation,
            "workers": workers,
            "vrrp_instances": instances,
            "vrrp_unknown_vrid": self.unknown_vrid,
            "virtual_servers": vss,
            "ipvs": self.ipvs.as_ref().map(|s| json!({
                "available": s.available,
                "error": s.error,
                "repaired": s.repaired,
            })),
        })
    }

    /// What the metrics worker renders for one scrape.
    pub fn metrics_snapshot(&self, workers: &[WorkerRow]) -> ipc::MetricsSnapshot {
        let instances = self
            .config
            .vrrp
            .instances
            .iter()
            .map(|i| {
                let rep = self.instances.get(&i.name);
                let intf = i.interface.clone().unwrap_or_default();
                ipc::InstanceMetrics {
                    name: i.name.clone(),
                    interface: intf.clone(),
                    vrid: i.vrid,
                    state: rep.map(|r| r.state),
                    priority: i.priority,
                    effective_priority: rep.map_or(i.priority, |r| r.effective_priority),
                    vips: i
                        .virtual_ipaddresses
                        .iter()
                        .map(|a| {
                            (
                                format!("{}/{}", a.addr, a.prefix),
                                a.dev.clone().unwrap_or_else(|| intf.clone()),
                            )
                        })
                        .collect(),
                    counters: self.counters.get(&i.name).cloned().unwrap_or_default(),
                }
            })
            .collect();
        let virtual_servers = self
            .config
            .lvs
            .virtual_servers
            .iter()
            .map(|vs| ipc::VirtualServerMetrics {
                name: match &vs.key {
                    VsKey::Addr { addr } => addr.to_string(),
                    VsKey::Fwmark { mark } => format!("fwmark {mark}"),
                    VsKey::Group { name, .. } => format!("group {name}"),
                },
                protocol: vs
                    .protocol
                    .map_or(String::new(), |p| p.as_str().to_uppercase()),
                real_servers: vs
                    .real_servers
                    .iter()
                    .map(|rs| {
                        let h = self.health.get(&rs_key(vs, rs));
                        (
                            rs.addr.to_string(),
                            h.is_some_and(|h| h.up),
                            h.map_or(rs.weight, |h| h.weight),
                        )
                    })
                    .collect(),
                checkers: vs
                    .real_servers
                    .iter()
                    .filter_map(|rs| self.checker_stats.get(&rs_key(vs, rs)))
                    .flatten()
                    .cloned()
                    .collect(),
            })
            .collect();
        ipc::MetricsSnapshot {
            generation: self.generation,
            instances,
            virtual_servers,
            workers: workers
                .iter()
                .map(|w| ipc::WorkerMetrics {
                    role: w.role,
                    running: w.pid.is_some(),
                    ready: w.ready,
                    restarts: w.restarts,
                })
                .collect(),
            ipvs: self.ipvs.clone(),
        }
    }

    /// The parent's part of a SIGUSR1/SIGUSR2 dump.
    pub fn dump_text(&self, kind: DumpKind, workers: &[WorkerRow]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "------< keepalived-rs parent >------");
        let _ = writeln!(s, " Configuration generation = {}", self.generation);
        for w in workers {
            let _ = writeln!(
                s,
                " Worker {} pid = {}, restarts = {}, ready = {}",
                w.role,
                w.pid.map_or("-".to_string(), |p| p.to_string()),
                w.restarts,
                w.ready
            );
        }
        if kind == DumpKind::Json {
            let _ = writeln!(s, "{}", self.status_json(workers));
            return s;
        }
        for i in &self.config.vrrp.instances {
            let rep = self.instances.get(&i.name);
            let _ = writeln!(s, " VRRP Instance = {}", i.name);
            let _ = writeln!(
                s,
                "   State = {}",
                rep.map_or("INIT", |r| state_name(r.state))
            );
            let _ = writeln!(s, "   Priority = {}", i.priority);
            if let Some(r) = rep {
                let _ = writeln!(s, "   Effective priority = {}", r.effective_priority);
            }
        }
        if kind == DumpKind::Stats {
            // keepalived's layout, so what reads its stats file reads ours.
            let zero = VrrpCounters::default();
            for i in &self.config.vrrp.instances {
                write_stats(&mut s, &i.name, self.counters.get(&i.name).unwrap_or(&zero));
            }
        }
        if kind == DumpKind::Data {
            for vs in &self.config.lvs.virtual_servers {
                let _ = writeln!(s, " Virtual Server = {}", vs.display_name());
                for rs in &vs.real_servers {
                    let h = self.health.get(&rs_key(vs, rs));
                    let _ = writeln!(
                        s,
                        "   Real Server = {}, {}, weight = {}",
                        rs.addr,
                        if h.is_some_and(|h| h.up) {
                            "up"
                        } else {
                            "down"
                        },
                        h.map_or(rs.weight, |h| h.weight)
                    );
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        let l = config::load_str(
            Path::new("test.conf"),
            text,
            &config::LoadOptions::default(),
        );
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    const CONF: &str = "
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 120
    virtual_ipaddress {
        10.0.0.100/24
    }
}
virtual_server 10.0.0.10 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.1 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 10.0.0.2 80 {
        alpha
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

    #[test]
    fn a_checker_with_alpha_starts_its_real_server_down() {
        let text = CONF.replace(
            "real_server 10.0.0.1 80 {\n        weight 2\n        TCP_CHECK {\n",
            "real_server 10.0.0.1 80 {\n        weight 2\n        TCP_CHECK {\n            alpha\n",
        );
        assert_ne!(text, CONF, "the test config was changed");
        let st = State::new(cfg(&text));
        let v = st.status_json(&[]);
        assert_eq!(v["virtual_servers"][0]["real_servers"][0]["up"], false);
    }

    #[test]
    fn probe_figures_in_status_and_snapshot() {
        let mut st = State::new(cfg(CONF));
        let vs = &st.config.lvs.virtual_servers[0];
        let known = rs_key(vs, &vs.real_servers[0]);
        let mut unknown = known.clone();
        unknown.port = 81;
        let stats = |k: &RealServerKey, ms: u64| CheckerStats {
            real_server: k.clone(),
            kind: "TCP_CHECK".into(),
            target: "[10.0.0.1]:tcp:80".into(),
            last_duration: Some(std::time::Duration::from_millis(ms)),
            last_ok: true,
            checks: 5,
            failures: 2,
        };
        // An unknown real server is left out and said.
        assert!(
            st.on_check_stats(vec![stats(&known, 3), stats(&unknown, 4)])
                .is_err()
        );
        let v = st.status_json(&[]);
        let c = &v["virtual_servers"][0]["real_servers"][0]["checkers"][0];
        assert_eq!(c["type"], "TCP_CHECK");
        assert_eq!(c["last_probe_s"], 0.003);
        assert_eq!(c["last_probe_ok"], true);
        assert_eq!(
            (c["probes"].as_u64(), c["probe_failures"].as_u64()),
            (Some(5), Some(2))
        );
        // Not reported yet: no figures.
        let c = &v["virtual_servers"][0]["real_servers"][1]["checkers"][0];
        assert!(
            c["last_probe_s"].is_null() && c["last_probe_ok"].is_null(),
            "{c}"
        );
        assert_eq!(c["probes"], 0);
        let snap = st.metrics_snapshot(&[]);
        assert_eq!(snap.virtual_servers[0].checkers, vec![stats(&known, 3)]);
        // A new summary replaces the previous one.
        assert!(st.on_check_stats(Vec::new()).is_ok());
        assert!(
            st.metrics_snapshot(&[]).virtual_servers[0]
                .checkers
                .is_empty()
        );
        // A reload keeps the figures of the real servers that remain.
        st.on_check_stats(vec![stats(&known, 1)]).expect("known");
        st.reload(cfg(CONF));
        assert_eq!(st.checker_stats.len(), 1);
        let gone = CONF.replace("real_server 10.0.0.1 80", "real_server 10.0.0.9 80");
        st.reload(cfg(&gone));
        assert!(st.checker_stats.is_empty());
    }

    #[test]
    fn initial_status_and_reports() {
        let mut st = State::new(cfg(CONF));
        let rows = vec![WorkerRow {
            role: Role::Vrrp,
            pid: Some(42),
            restarts: 1,
            ready: true,
            seccomp_violations: 0,
        }];
        let v = st.status_json(&rows);
        assert_eq!(v["workers"][0]["role"], "vrrp");
        assert_eq!(v["workers"][0]["pid"], 42);
        assert_eq!(v["workers"][0]["restarts"], 1);
        assert_eq!(v["vrrp_instances"][0]["name"], "VI_1");
        assert_eq!(v["vrrp_instances"][0]["state"], "INIT");
        assert_eq!(v["vrrp_instances"][0]["priority"], 120);
        assert_eq!(v["vrrp_instances"][0]["vips"][0], "10.0.0.100/24");
        let rss = &v["virtual_servers"][0]["real_servers"];
        assert_eq!(v["virtual_servers"][0]["address"], "10.0.0.10");
        assert_eq!(v["virtual_servers"][0]["port"], 80);
        assert_eq!(v["virtual_servers"][0]["protocol"], "TCP");
        assert_eq!(rss[0]["up"], true);
        assert_eq!(rss[0]["weight"], 2);
        assert_eq!(rss[1]["up"], false, "alpha starts down");

        st.on_instance(InstanceState {
            name: "VI_1".into(),
            state: VrrpState::Master,
            priority: 120,
            effective_priority: 118,
            holds_vips: true,
        })
        .expect("known instance");
        assert!(
            st.on_instance(InstanceState {
                name: "NOPE".into(),
                state: VrrpState::Master,
                priority: 1,
                effective_priority: 1,
                holds_vips: true,
            })
            .is_err()
        );
        let restore = st.instance_restore();
        assert_eq!(restore["VI_1"].state, VrrpState::Master);
        assert!(restore["VI_1"].holds_vips);
        assert_eq!(restore["VI_1"].ah_seq, 0);
        // AH: the last reported sequence number, plus the margin.
        st.counters.insert(
            "VI_1".into(),
            VrrpCounters {
                ah_seq: 41,
                ..VrrpCounters::default()
            },
        );
        assert_eq!(
            st.instance_restore()["VI_1"].ah_seq,
            41 + AH_SEQ_RESTORE_MARGIN
        );
        st.counters.clear();

        let vs = &st.config.lvs.virtual_servers[0];
        let key = rs_key(vs, &vs.real_servers[1]);
        let change = HealthChange {
            real_server: key.clone(),
            up: true,
            weight: 1,
        };
        assert_eq!(st.on_health(&change), Ok(true));
        assert_eq!(
            st.on_health(&change),
            Ok(false),
            "no change the second time"
        );
        let mut bogus = change.clone();
        bogus.real_server.port = 81;
        assert!(st.on_health(&bogus).is_err());

        let v = st.status_json(&rows);
        assert_eq!(v["vrrp_instances"][0]["state"], "MASTER");
        assert_eq!(v["vrrp_instances"][0]["effective_priority"], 118);
        assert_eq!(v["virtual_servers"][0]["real_servers"][1]["up"], true);

        // Counters: zero until the worker reports, then as reported, in
        // `ctl status` and in keepalived's layout in the stats dump.
        let c = &v["vrrp_instances"][0]["counters"];
        assert_eq!(c["adverts_sent"], 0);
        assert_eq!(c["drops"], json!({}));
        let mut counters = VrrpCounters {
            adverts_sent: 7,
            adverts_received: 5,
            became_master: 1,
            released_master: 1,
            priority_zero_sent: 1,
            priority_zero_received: 2,
            drops: BTreeMap::new(),
            ah_seq: 0,
        };
        counters.drops.insert(DropReason::AuthFailure, 3);
        counters.drops.insert(DropReason::Checksum, 1);
        counters
            .drops
            .insert(DropReason::Other("unicast source not a peer".into()), 4);
        st.counters.insert("VI_1".into(), counters);
        let v = st.status_json(&rows);
        assert_eq!(
            v["vrrp_instances"][0]["counters"],
            json!({
                "adverts_sent": 7,
                "adverts_received": 5,
                "became_master": 1,
                "released_master": 1,
                "priority_zero_sent": 1,
                "priority_zero_received": 2,
                "drops": {
                    "auth_failure": 3,
                    "checksum": 1,
                    "other: unicast source not a peer": 4,
                },
            })
        );
        let stats = st.dump_text(DumpKind::Stats, &rows);
        assert!(
            stats.contains(
                "VRRP Instance: VI_1\n  Advertisements:\n    Received: 5\n    Sent: 7\n  \
                 Became master: 1\n  Released master: 1\n  Packet Errors:\n    Length: 0\n"
            ),
            "{stats}"
        );
        assert!(
            stats.contains(
                "    Checksum: 1\n    Version: 0\n    Other (unicast source not a peer): 4\n  \
                 Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    \
                 Failure: 3\n  Priority Zero:\n    Received: 2\n    Sent: 1\n"
            ),
            "{stats}"
        );
        assert!(!st.dump_text(DumpKind::Data, &rows).contains("Failure"));

        // Reload: what remains keeps its state; what went is forgotten.
        st.reload(cfg(
            &CONF.replace("real_server 10.0.0.1 80", "real_server 10.0.0.3 80")
        ));
        assert_eq!(st.generation, 2);
        assert_eq!(st.instances["VI_1"].state, VrrpState::Master);
        assert_eq!(st.health.get(&key).map(|h| h.up), Some(true));
        assert_eq!(st.health.len(), 2);
        st.reload(cfg("global_defs {\n router_id x\n}\n"));
        assert!(st.instances.is_empty());
        assert!(st.health.is_empty());
    }
}
