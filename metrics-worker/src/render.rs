//! The Prometheus text exposition format (version 0.0.4) of a
//! [`MetricsSnapshot`]. VRRP metrics carry the names and labels of the
//! community keepalived-exporter (github.com/mehdy/keepalived-exporter), so
//! its dashboards and alerts work unchanged; metrics it has no equivalent
//! for are prefixed `keepalived_rs_` or `keepalived_lvs_`.

use ipc::{DropReason, MetricsSnapshot, VrrpState};
use std::fmt::Write;

/// keepalived's numbering of VRRP states (the exporter's
/// `keepalived_vrrp_state` value).
fn state_number(s: Option<VrrpState>) -> u8 {
    match s {
        None | Some(VrrpState::Init) => 0,
        Some(VrrpState::Backup) => 1,
        Some(VrrpState::Master) => 2,
        Some(VrrpState::Fault) => 3,
    }
}

fn state_name(s: Option<VrrpState>) -> &'static str {
    ["INIT", "BACKUP", "MASTER", "FAULT"][state_number(s) as usize]
}

/// A label value with `\`, `"` and newlines escaped.
pub fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// One metric family: HELP and TYPE, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out }
    }
    fn sample(&mut self, name: &str, l: &[(&str, &str)], v: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{name}{} {v}", labels(l));
    }
}

/// keepalived's per-instance counters: (exporter metric name, help, how
/// to read it from the counters).
type Counter = (&'static str, &'static str, fn(&ipc::VrrpCounters) -> u64);

fn drop_count(c: &ipc::VrrpCounters, r: DropReason) -> u64 {
    c.drops.get(&r).copied().unwrap_or(0)
}

const COUNTERS: &[Counter] = &[
    (
        "keepalived_advertisements_received_total",
        "Advertisements received",
        |c| c.adverts_received,
    ),
    (
        "keepalived_advertisements_sent_total",
        "Advertisements sent",
        |c| c.adverts_sent,
    ),
    ("keepalived_become_master_total", "Became master", |c| {
        c.became_master
    }),
    ("keepalived_release_master_total", "Released master", |c| {
        c.released_master
    }),
    (
        "keepalived_packet_length_errors_total",
        "Packet length errors",
        |c| drop_count(c, DropReason::PacketLength),
    ),
    (
        "keepalived_advertisements_interval_errors_total",
        "Advertisement interval errors",
        |c| drop_count(c, DropReason::AdvertInterval),
    ),
    ("keepalived_ip_ttl_errors_total", "TTL errors", |c| {
        drop_count(c, DropReason::IpTtl)
    }),
    (
        "keepalived_invalid_type_received_total",
        "Invalid type errors",
        |c| drop_count(c, DropReason::InvalidType),
    ),
    (
        "keepalived_address_list_errors_total",
        "Address list errors",
        |c| drop_count(c, DropReason::AddressList),
    ),
    (
        "keepalived_authentication_invalid_total",
        "Authentication invalid",
        |c| drop_count(c, DropReason::InvalidAuthType),
    ),
    (
        "keepalived_authentication_mismatch_total",
        "Authentication mismatch",
        |c| drop_count(c, DropReason::AuthTypeMismatch),
    ),
    (
        "keepalived_authentication_failure_total",
        "Authentication failure",
        |c| drop_count(c, DropReason::AuthFailure),
    ),
    (
        "keepalived_priority_zero_received_total",
        "Priority zero received",
        |c| c.priority_zero_received,
    ),
    (
        "keepalived_priority_zero_sent_total",
        "Priority zero sent",
        |c| c.priority_zero_sent,
    ),
];

/// A drop reason's label value (as `ctl status` names it).
fn reason(r: &DropReason) -> String {
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

/// The whole exposition for one scrape.
pub fn render(s: &MetricsSnapshot) -> String {
    let mut out = String::new();
    Family::new(
        &mut out,
        "keepalived_up",
        "gauge",
        "Status (1: keepalived-rs answers)",
    )
    .sample("keepalived_up", &[], 1);

    {
        let mut f = Family::new(
            &mut out,
            "keepalived_vrrp_state",
            "gauge",
            "State of vrrp (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT), per virtual address",
        );
        for i in &s.instances {
            let vrid = i.vrid.to_string();
            for (addr, intf) in &i.vips {
                f.sample(
                    "keepalived_vrrp_state",
                    &[
                        ("iname", &i.name),
                        ("intf", intf),
                        ("vrid", &vrid),
                        ("ip_address", addr),
                    ],
                    state_number(i.state),
                );
            }
        }
    }
    for (name, help, get) in COUNTERS {
        let mut f = Family::new(&mut out, name, "counter", help);
        for i in &s.instances {
            let vrid = i.vrid.to_string();
            f.sample(
                name,
                &[
                    ("iname", &i.name),
                    ("intf", &i.interface),
                    ("vrid", &vrid),
                    ("state", state_name(i.state)),
                ],
                get(&i.counters),
            );
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "keepalived_rs_vrrp_priority",
            "gauge",
            "Configured VRRP priority",
        );
        for i in &s.instances {
            let vrid = i.vrid.to_string();
            f.sample(
                "keepalived_rs_vrrp_priority",
                &[("iname", &i.name), ("intf", &i.interface), ("vrid", &vrid)],
                i.priority,
            );
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "keepalived_rs_vrrp_effective_priority",
            "gauge",
            "VRRP priority after tracked scripts, interfaces and files",
        );
        for i in &s.instances {
            let vrid = i.vrid.to_string();
            f.sample(
                "keepalived_rs_vrrp_effective_priority",
                &[("iname", &i.name), ("intf", &i.interface), ("vrid", &vrid)],
                i.effective_priority,
            );
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "keepalived_rs_vrrp_drops_total",
            "counter",
            "Received advertisements dropped, by reason",
        );
        for i in &s.instances {
            let vrid = i.vrid.to_string();
            for (r, n) in &i.counters.drops {
                let why = reason(r);
                f.sample(
                    "keepalived_rs_vrrp_drops_total",
                    &[
                        ("iname", &i.name),
                        ("intf", &i.interface),
                        ("vrid", &vrid),
                        ("reason", &why),
                    ],
                    n,
                );
            }
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "keepalived_lvs_rs_up",
            "gauge",
            "Real server health (1 up, 0 down) as the checkers last reported",
        );
        for vs in &s.virtual_servers {
            for (rs, up, _) in &vs.real_servers {
                f.sample(
                    "keepalived_lvs_rs_up",
                    &[
                        ("virtual_server", &vs.name),
                        ("protocol", &vs.protocol),
                        ("real_server", rs),
                    ],
                    u8::from(*up),
                );
            }
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "keepalived_lvs_rs_weight",
            "gauge",
            "Real server weight",
        );
        for vs in &s.virtual_servers {
            for (rs, _, w) in &vs.real_servers {
                f.sample(
                    "keepalived_lvs_rs_weight",
                    &[
                        ("virtual_server", &vs.name),
                        ("protocol", &vs.protocol),
                        ("real_server", rs),
                    ],
                    w,
                );
            }
        }
    }
    checker_families(&mut out, s);
    if let Some(ipvs) = &s.ipvs {
        Family::new(
            &mut out,
            "keepalived_rs_ipvs_available",
            "gauge",
            "Whether the kernel's IPVS can be driven",
        )
        .sample(
            "keepalived_rs_ipvs_available",
            &[],
            u8::from(ipvs.available),
        );
        Family::new(
            &mut out,
            "keepalived_rs_ipvs_repaired_total",
            "counter",
            "IPVS entries found wrong or missing and put right",
        )
        .sample("keepalived_rs_ipvs_repaired_total", &[], ipvs.repaired);
    }
    {
        let mut f = Family::new(
            &mut out,
            "keepalived_rs_worker_restarts_total",
            "counter",
            "Restarts of each worker process",
        );
        for w in &s.workers {
            f.sample(
                "keepalived_rs_worker_restarts_total",
                &[("role", w.role.as_str())],
                w.restarts,
            );
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "keepalived_rs_worker_up",
            "gauge",
            "Whether each worker runs and has the current configuration",
        );
        for w in &s.workers {
            f.sample(
                "keepalived_rs_worker_up",
                &[("role", w.role.as_str())],
                u8::from(w.running && w.ready),
            );
        }
    }
    Family::new(
        &mut out,
        "keepalived_rs_config_generation",
        "gauge",
        "Configuration generation (1 at start, +1 per successful reload)",
    )
    .sample("keepalived_rs_config_generation", &[], s.generation);
    out
}

/// The checkers' probe figures: the last probe's duration, probes and
/// failures, per checker (labelled by the checker's keyword and what it
/// connects to; a second checker with the same labels gets ` #2`, ...).
fn checker_families(out: &mut String, s: &MetricsSnapshot) {
    let mut rows: Vec<([String; 5], &ipc::CheckerStats)> = Vec::new();
    let mut seen = std::collections::HashMap::<[String; 5], u32>::new();
    for vs in &s.virtual_servers {
        for c in &vs.checkers {
            let rs = std::net::SocketAddr::new(c.real_server.addr, c.real_server.port).to_string();
            let mut l = [
                vs.name.clone(),
                vs.protocol.clone(),
                rs,
                c.kind.clone(),
                c.target.clone(),
            ];
            let n = seen.entry(l.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                l[4] = format!("{} #{n}", l[4]);
            }
            rows.push((l, c));
        }
    }
    const NAMES: [&str; 5] = [
        "virtual_server",
        "protocol",
        "real_server",
        "checker",
        "target",
    ];
    let pairs = |l: &[String; 5]| -> Vec<(&'static str, String)> {
        NAMES
            .iter()
            .zip(l.iter())
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    };
    type Get = fn(&ipc::CheckerStats) -> Option<String>;
    let families: [(&str, &str, &str, Get); 3] = [
        (
            "keepalived_lvs_rs_check_latency_seconds",
            "gauge",
            "How long the checker's last completed probe took (connect and protocol exchange; MISC_CHECK: the script)",
            |c| c.last_duration.map(|d| format!("{}", d.as_secs_f64())),
        ),
        (
            "keepalived_lvs_rs_checks_total",
            "counter",
            "Probes the checker completed since the check worker started it",
            |c| Some(c.checks.to_string()),
        ),
        (
            "keepalived_lvs_rs_check_failures_total",
            "counter",
            "Probes of the checker that failed",
            |c| Some(c.failures.to_string()),
        ),
    ];
    for (name, kind, help, get) in families {
        let mut f = Family::new(out, name, kind, help);
        for (l, c) in &rows {
            if let Some(v) = get(c) {
                let p = pairs(l);
                let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
                f.sample(name, &p, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc::{InstanceMetrics, Role, VirtualServerMetrics, VrrpCounters, WorkerMetrics};

    fn checker(micros: Option<u64>) -> ipc::CheckerStats {
        ipc::CheckerStats {
            real_server: ipc::RealServerKey {
                virtual_server: ipc::VirtualServerKey::Addr {
                    addr: "10.0.0.10".parse().unwrap(),
                    port: 80,
                    protocol: ipc::Protocol::Tcp,
                },
                addr: "10.0.0.2".parse().unwrap(),
                port: 80,
            },
            kind: "TCP_CHECK".into(),
            target: "[10.0.0.2]:tcp:80".into(),
            last_duration: micros.map(std::time::Duration::from_micros),
            last_ok: true,
            checks: if micros.is_some() { 9 } else { 1 },
            failures: 1,
        }
    }

    #[test]
    fn exposition() {
        let mut counters = VrrpCounters {
            adverts_sent: 7,
            adverts_received: 3,
            became_master: 1,
            ..VrrpCounters::default()
        };
        counters.drops.insert(DropReason::IpTtl, 2);
        counters
            .drops
            .insert(DropReason::Other("a \"b\"".into()), 1);
        let s = MetricsSnapshot {
            generation: 4,
            instances: vec![InstanceMetrics {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: Some(VrrpState::Master),
                priority: 100,
                effective_priority: 90,
                vips: vec![("10.0.0.1/24".into(), "eth0".into())],
                counters,
            }],
            virtual_servers: vec![VirtualServerMetrics {
                name: "10.0.0.10:80".into(),
                protocol: "TCP".into(),
                real_servers: vec![("10.0.0.2:80".into(), true, 3)],
                checkers: vec![checker(Some(1_500)), checker(None)],
            }],
            workers: vec![WorkerMetrics {
                role: Role::Vrrp,
                running: true,
                ready: true,
                restarts: 2,
            }],
            ipvs: None,
        };
        let t = render(&s);
        for line in [
            "keepalived_up 1",
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"10.0.0.1/24\"} 2",
            "keepalived_advertisements_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"MASTER\"} 7",
            "keepalived_advertisements_received_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"MASTER\"} 3",
            "keepalived_ip_ttl_errors_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"MASTER\"} 2",
            "keepalived_rs_vrrp_drops_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",reason=\"other: a \\\"b\\\"\"} 1",
            "keepalived_rs_vrrp_effective_priority{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 90",
            "keepalived_lvs_rs_up{virtual_server=\"10.0.0.10:80\",protocol=\"TCP\",real_server=\"10.0.0.2:80\"} 1",
            "keepalived_lvs_rs_weight{virtual_server=\"10.0.0.10:80\",protocol=\"TCP\",real_server=\"10.0.0.2:80\"} 3",
            "keepalived_rs_worker_restarts_total{role=\"vrrp\"} 2",
            "keepalived_rs_config_generation 4",
            "keepalived_lvs_rs_check_latency_seconds{virtual_server=\"10.0.0.10:80\",protocol=\"TCP\",real_server=\"10.0.0.2:80\",checker=\"TCP_CHECK\",target=\"[10.0.0.2]:tcp:80\"} 0.0015",
            "keepalived_lvs_rs_checks_total{virtual_server=\"10.0.0.10:80\",protocol=\"TCP\",real_server=\"10.0.0.2:80\",checker=\"TCP_CHECK\",target=\"[10.0.0.2]:tcp:80\"} 9",
            "keepalived_lvs_rs_check_failures_total{virtual_server=\"10.0.0.10:80\",protocol=\"TCP\",real_server=\"10.0.0.2:80\",checker=\"TCP_CHECK\",target=\"[10.0.0.2]:tcp:80 #2\"} 1",
            "# TYPE keepalived_lvs_rs_check_latency_seconds gauge",
            "# TYPE keepalived_become_master_total counter",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line}\n{t}");
        }
        // Every family is announced once, before its samples.
        let mut seen = std::collections::HashSet::new();
        for l in t.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(seen.insert(l.split(' ').nth(2).map(str::to_string)), "{l}");
        }
        assert!(!t.contains("keepalived_rs_ipvs_available"));
        // No latency before a checker's first probe.
        assert!(!t.contains("tcp:80 #2\"} 0."), "{t}");
        assert_eq!(
            t.matches("keepalived_lvs_rs_check_latency_seconds{")
                .count(),
            1
        );
        assert!(t.ends_with('\n'));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
