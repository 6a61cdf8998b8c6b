//! One sample of every message variant, shared by the integration tests
//! and the fuzz seed generator.
#![allow(dead_code)]

use ipc::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub fn vs_key() -> VirtualServerKey {
    VirtualServerKey::Addr {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        port: 443,
        protocol: Protocol::Tcp,
    }
}

pub fn rs_key(n: u16) -> RealServerKey {
    RealServerKey {
        virtual_server: vs_key(),
        addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)),
        port: 8443,
    }
}

pub fn scripts() -> Vec<ScriptEntry> {
    let fw = VirtualServerKey::Fwmark {
        mark: 7,
        family: Family::Inet6,
    };
    let grp = VirtualServerKey::Group {
        name: "web".into(),
        protocol: Protocol::Sctp,
    };
    let purposes = vec![
        ScriptPurpose::VrrpScript {
            name: "chk_nginx".into(),
        },
        ScriptPurpose::InstanceNotify {
            instance: "VI_1".into(),
            event: NotifyEvent::Master,
        },
        ScriptPurpose::InstanceNotify {
            instance: "VI_1".into(),
            event: NotifyEvent::Any,
        },
        ScriptPurpose::SyncGroupNotify {
            group: "G1".into(),
            event: NotifyEvent::MasterRxLowerPri,
        },
        ScriptPurpose::MiscCheck {
            real_server: rs_key(1),
            index: 1,
        },
        ScriptPurpose::RealServerNotify {
            real_server: rs_key(2),
            event: UpDown::Down,
        },
        ScriptPurpose::QuorumNotify {
            virtual_server: fw,
            event: UpDown::Up,
        },
        ScriptPurpose::QuorumNotify {
            virtual_server: grp,
            event: UpDown::Down,
        },
    ];
    purposes
        .into_iter()
        .enumerate()
        .map(|(i, purpose)| ScriptEntry {
            id: ScriptId(i as u32 * 3),
            purpose,
        })
        .collect()
}

fn health_map() -> BTreeMap<RealServerKey, Health> {
    (1..4)
        .map(|n| {
            (
                rs_key(n),
                Health {
                    up: n % 2 == 0,
                    weight: u32::from(n) * 100,
                },
            )
        })
        .collect()
}

pub fn inits() -> Vec<Init> {
    let mut vrrp = BTreeMap::new();
    vrrp.insert(
        "VI_1".to_string(),
        InstanceRestore {
            state: VrrpState::Master,
            holds_vips: true,
            ah_seq: 7,
        },
    );
    vrrp.insert(
        "VI_2".to_string(),
        InstanceRestore {
            state: VrrpState::Fault,
            holds_vips: false,
            ah_seq: 0,
        },
    );
    let cfg = config::model::Config::default();
    vec![
        Init {
            generation: 1,
            heartbeat_interval: Duration::from_millis(1500),
            slice: Slice::for_role(Role::Vrrp, &cfg),
            scripts: scripts(),
            restored: Restored::Vrrp(vrrp),
            options: Default::default(),
        },
        Init {
            generation: 2,
            heartbeat_interval: Duration::from_secs(1),
            slice: Slice::for_role(Role::Check, &cfg),
            scripts: scripts(),
            restored: Restored::Check(health_map()),
            options: Default::default(),
        },
        Init {
            generation: 3,
            heartbeat_interval: Duration::from_secs(1),
            slice: {
                let mut s = Slice::for_role(Role::Check, &cfg);
                if let Slice::Check(c) = &mut s {
                    c.present_addresses = vec![
                        "192.0.2.10".parse().unwrap(),
                        "2001:db8::10".parse().unwrap(),
                    ];
                }
                s
            },
            scripts: Vec::new(),
            restored: Restored::empty(Role::Check),
            options: Default::default(),
        },
        Init {
            generation: u64::MAX,
            heartbeat_interval: Duration::new(3, 999_999_999),
            slice: Slice::for_role(Role::Ipvs, &cfg),
            scripts: Vec::new(),
            restored: Restored::Ipvs(health_map()),
            options: Default::default(),
        },
        Init {
            generation: 1,
            heartbeat_interval: Duration::ZERO,
            slice: Slice::for_role(Role::Ipvs, &cfg),
            scripts: Vec::new(),
            restored: Restored::empty(Role::Ipvs),
            options: Default::default(),
        },
    ]
}

/// Index of the variant, with no wildcard: adding a variant breaks this
/// until the samples cover it.
pub fn to_worker_index(m: &ToWorker) -> usize {
    match m {
        ToWorker::Init(_) => 0,
        ToWorker::Reload(_) => 1,
        ToWorker::Shutdown => 2,
        ToWorker::DumpRequest { .. } => 3,
        ToWorker::ScriptDone { .. } => 4,
        ToWorker::Health(_) => 5,
        ToWorker::VrrpAlert { .. } => 6,
        ToWorker::Metrics(_) => 7,
        ToWorker::VrrpState { .. } => 8,
        ToWorker::LvsAlert(_) => 9,
        ToWorker::VsAddress { .. } => 10,
        #[cfg(feature = "test-messages")]
        ToWorker::TestProbe { .. } => 11,
    }
}

pub const TO_WORKER_VARIANTS: usize = if cfg!(feature = "test-messages") {
    12
} else {
    11
};

pub fn from_worker_index(m: &FromWorker) -> usize {
    match m {
        FromWorker::Hello { .. } => 0,
        FromWorker::Ready { .. } => 1,
        FromWorker::Heartbeat { .. } => 2,
        FromWorker::Log { .. } => 3,
        FromWorker::RunScript { .. } => 4,
        FromWorker::Dump { .. } => 5,
        FromWorker::InstanceState(_) => 6,
        FromWorker::VrrpStats { .. } => 7,
        FromWorker::Health(_) => 8,
        FromWorker::IpvsStatus(_) => 9,
        FromWorker::MetricsRequest => 10,
        FromWorker::CheckStats(_) => 11,
        FromWorker::VrrpUnknownVrid { .. } => 12,
        #[cfg(feature = "test-messages")]
        FromWorker::TestProbeReply { .. } => 13,
    }
}

pub const FROM_WORKER_VARIANTS: usize = if cfg!(feature = "test-messages") {
    14
} else {
    13
};

pub fn checker_stats() -> Vec<CheckerStats> {
    vec![
        CheckerStats {
            real_server: rs_key(3),
            kind: "TCP_CHECK".into(),
            target: "[2001:db8::3]:tcp:8443".into(),
            last_duration: Some(Duration::from_micros(137)),
            last_ok: true,
            checks: 42,
            failures: 1,
        },
        CheckerStats {
            real_server: rs_key(4),
            kind: "MISC_CHECK".into(),
            target: "[2001:db8::4] #0".into(),
            last_duration: None,
            last_ok: false,
            checks: 0,
            failures: 0,
        },
    ]
}

pub fn to_worker() -> Vec<ToWorker> {
    let mut v: Vec<ToWorker> = inits().into_iter().map(ToWorker::Init).collect();
    let cfg = config::model::Config::default();
    for role in Role::ALL {
        v.push(ToWorker::Reload(Reload {
            generation: 9,
            slice: Slice::for_role(role, &cfg),
            scripts: scripts(),
        }));
    }
    v.push(ToWorker::Shutdown);
    for kind in [DumpKind::Data, DumpKind::Stats, DumpKind::Json] {
        v.push(ToWorker::DumpRequest { kind });
    }
    for outcome in [
        ScriptOutcome::Exited { code: 0 },
        ScriptOutcome::Exited { code: -1 },
        ScriptOutcome::Signaled { signal: 9 },
        ScriptOutcome::TimedOut,
        ScriptOutcome::Refused {
            reason: "script#4 is not in this worker's table".into(),
        },
    ] {
        v.push(ToWorker::ScriptDone {
            request: 77,
            outcome,
        });
    }
    v.push(ToWorker::Health(HealthChange {
        real_server: rs_key(3),
        up: true,
        weight: 65535,
    }));
    for (group, state) in [(false, VrrpState::Master), (true, VrrpState::Fault)] {
        v.push(ToWorker::VrrpAlert {
            group,
            name: "VI_1".into(),
            state,
        });
    }
    v.push(ToWorker::LvsAlert(LvsAlert::Quorum(QuorumChange {
        virtual_server: "[192.0.2.10]:tcp:443".into(),
        up: false,
        starting: true,
        quorum: 3,
        hysteresis: 1,
        threshold: 4,
        weight_sum: 0,
    })));
    v.push(ToWorker::LvsAlert(LvsAlert::ShuttingDown {
        virtual_servers: vec!["[192.0.2.10]:tcp:443".into()],
        real_servers: vec![rs_key(3)],
    }));
    v.push(ToWorker::VsAddress {
        addr: "192.0.2.10".parse().unwrap(),
        present: true,
    });
    v.push(ToWorker::VsAddress {
        addr: "2001:db8::10".parse().unwrap(),
        present: false,
    });
    let mut counters = VrrpCounters::default();
    counters.drops.insert(DropReason::Other("x".into()), 3);
    v.push(ToWorker::Metrics(Box::default()));
    v.push(ToWorker::Metrics(Box::new(MetricsSnapshot {
        generation: 2,
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
            name: "192.0.2.10:443".into(),
            protocol: "TCP".into(),
            real_servers: vec![("[2001:db8::1]:8443".into(), true, 1)],
            checkers: checker_stats(),
        }],
        workers: vec![WorkerMetrics {
            role: Role::Metrics,
            running: true,
            ready: true,
            restarts: 4,
        }],
        ipvs: Some(IpvsStatus {
            available: false,
            error: Some("no IP_VS".into()),
            repaired: 2,
        }),
    })));
    v.push(ToWorker::VrrpState {
        instance: "VI_1".into(),
        state: VrrpState::Master,
        vrid: 51,
    });
    #[cfg(feature = "test-messages")]
    for action in probe_actions() {
        v.push(ToWorker::TestProbe { action });
    }
    v
}

#[cfg(feature = "test-messages")]
pub fn probe_actions() -> Vec<ProbeAction> {
    vec![
        ProbeAction::OpenNetlink,
        ProbeAction::ReadFile("/etc/shadow".into()),
        ProbeAction::Exec("/bin/sh".into()),
    ]
}

pub fn from_worker() -> Vec<FromWorker> {
    let mut v = Vec::new();
    for role in Role::ALL {
        v.push(FromWorker::Hello {
            role,
            pid: 4_000_000,
            protocol: PROTOCOL_VERSION,
        });
    }
    v.push(FromWorker::Ready { generation: 3 });
    v.push(FromWorker::Heartbeat { seq: 0 });
    v.push(FromWorker::Heartbeat { seq: u64::MAX });
    for level in [
        LogLevel::Emerg,
        LogLevel::Alert,
        LogLevel::Crit,
        LogLevel::Err,
        LogLevel::Warning,
        LogLevel::Notice,
        LogLevel::Info,
        LogLevel::Debug,
    ] {
        v.push(FromWorker::Log {
            level,
            message: format!("VRRP_Instance(VI_1) Entering MASTER STATE ({level:?}) é"),
        });
    }
    v.push(FromWorker::RunScript {
        request: 1,
        id: ScriptId(u32::MAX),
    });
    v.push(FromWorker::Dump {
        kind: DumpKind::Json,
        text: "[{\"iname\":\"VI_1\"}]\n".repeat(50),
    });
    for state in [
        VrrpState::Init,
        VrrpState::Backup,
        VrrpState::Master,
        VrrpState::Fault,
    ] {
        v.push(FromWorker::InstanceState(InstanceState {
            name: "VI_1".into(),
            state,
            priority: 100,
            effective_priority: 254,
            holds_vips: state == VrrpState::Master,
        }));
    }
    let mut drops = BTreeMap::new();
    for (i, r) in [
        DropReason::PacketLength,
        DropReason::AdvertInterval,
        DropReason::IpTtl,
        DropReason::InvalidType,
        DropReason::AddressList,
        DropReason::InvalidAuthType,
        DropReason::AuthTypeMismatch,
        DropReason::AuthFailure,
        DropReason::Checksum,
        DropReason::Version,
        DropReason::Other("vrid mismatch".into()),
    ]
    .into_iter()
    .enumerate()
    {
        drops.insert(r, i as u64 * 1000);
    }
    v.push(FromWorker::VrrpStats {
        instance: "VI_2".into(),
        counters: VrrpCounters {
            adverts_sent: 1,
            adverts_received: 2,
            became_master: 3,
            released_master: 4,
            priority_zero_sent: 5,
            priority_zero_received: u64::MAX,
            drops,
            ah_seq: u32::MAX,
        },
    });
    v.push(FromWorker::VrrpStats {
        instance: String::new(),
        counters: VrrpCounters::default(),
    });
    v.push(FromWorker::Health(HealthChange {
        real_server: rs_key(9),
        up: false,
        weight: 0,
    }));
    v.push(FromWorker::IpvsStatus(IpvsStatus {
        available: false,
        error: Some("Protocol not available (ip_vs module not loaded?)".into()),
        repaired: 0,
    }));
    v.push(FromWorker::IpvsStatus(IpvsStatus {
        available: true,
        error: None,
        repaired: 12,
    }));
    v.push(FromWorker::MetricsRequest);
    v.push(FromWorker::CheckStats(checker_stats()));
    v.push(FromWorker::CheckStats(Vec::new()));
    v.push(FromWorker::VrrpUnknownVrid {
        by_interface: [("eth0".to_string(), 20), ("vrrp.71".to_string(), u64::MAX)]
            .into_iter()
            .collect(),
    });
    v.push(FromWorker::VrrpUnknownVrid {
        by_interface: BTreeMap::new(),
    });
    #[cfg(feature = "test-messages")]
    for action in probe_actions() {
        v.push(FromWorker::TestProbeReply {
            action: action.clone(),
            result: ProbeResult::Succeeded,
        });
        v.push(FromWorker::TestProbeReply {
            action,
            result: ProbeResult::Failed {
                errno: Some(13),
                message: "Permission denied".into(),
            },
        });
    }
    v
}

/// All samples of both directions, encoded back to back.
pub fn stream_bytes<T: serde::Serialize>(msgs: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        ipc::frame::encode_into(m, &mut out).unwrap();
    }
    out
}
