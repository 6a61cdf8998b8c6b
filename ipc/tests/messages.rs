//! Every message survives encoding and decoding, by every path.

mod common;

use common::*;
use ipc::frame;
use ipc::*;
use std::collections::BTreeSet;
use std::io::Cursor;

fn roundtrip_all<T>(msgs: &[T])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    for m in msgs {
        // Whole frame.
        let f = frame::encode(m).unwrap();
        assert_eq!(f[0], PROTOCOL_VERSION);
        let len = u32::from_le_bytes(f[1..5].try_into().unwrap()) as usize;
        assert_eq!(len + 5, f.len());
        let back: T = frame::decode_exact(&f).unwrap();
        assert_eq!(&back, m);
        // Blocking helpers.
        let mut wire = Vec::new();
        send(&mut wire, m).unwrap();
        assert_eq!(wire, f);
        let mut cur = Cursor::new(wire);
        let back: Option<T> = recv(&mut cur).unwrap();
        assert_eq!(back.as_ref(), Some(m));
        let end: Option<T> = recv(&mut cur).unwrap();
        assert!(end.is_none());
    }
    // All of them through one reader and one writer.
    let mut w = FrameWriter::new();
    for m in msgs {
        w.queue(m).unwrap();
    }
    let mut wire = Vec::new();
    assert_eq!(w.write_to(&mut wire).unwrap(), Flush::Drained);
    assert!(w.is_drained());
    assert_eq!(wire, stream_bytes(msgs));
    let mut r = FrameReader::<T>::new();
    let mut src = Cursor::new(wire);
    for m in msgs {
        assert_eq!(
            r.read_from(&mut src).unwrap(),
            Recv::Message(m.clone_via_frame())
        );
    }
    assert_eq!(r.read_from(&mut src).unwrap(), Recv::Eof);
    assert_eq!(r.read_from(&mut src).unwrap(), Recv::Eof);
}

/// `T` need not be Clone for the test helper: copy through a frame.
trait CloneViaFrame: Sized {
    fn clone_via_frame(&self) -> Self;
}
impl<T: serde::Serialize + serde::de::DeserializeOwned> CloneViaFrame for T {
    fn clone_via_frame(&self) -> Self {
        frame::decode_exact(&frame::encode(self).unwrap()).unwrap()
    }
}

#[test]
fn every_to_worker_variant_round_trips() {
    let msgs = to_worker();
    let seen: BTreeSet<usize> = msgs.iter().map(to_worker_index).collect();
    assert_eq!(seen, (0..TO_WORKER_VARIANTS).collect());
    roundtrip_all(&msgs);
}

#[test]
fn every_from_worker_variant_round_trips() {
    let msgs = from_worker();
    let seen: BTreeSet<usize> = msgs.iter().map(from_worker_index).collect();
    assert_eq!(seen, (0..FROM_WORKER_VARIANTS).collect());
    roundtrip_all(&msgs);
}

#[test]
fn names_are_distinct() {
    let to: BTreeSet<&str> = to_worker().iter().map(ToWorker::name).collect();
    assert_eq!(to.len(), TO_WORKER_VARIANTS);
    let from: BTreeSet<&str> = from_worker().iter().map(FromWorker::name).collect();
    assert_eq!(from.len(), FROM_WORKER_VARIANTS);
}

#[test]
fn directions_do_not_mix() {
    // A parent-bound frame read as a worker-bound one must not pass for a
    // valid message silently when the variant index is out of range. Every
    // parent-bound variant whose index ToWorker does not have (with or
    // without the test-messages feature) is refused.
    let beyond: Vec<FromWorker> = from_worker()
        .into_iter()
        .filter(|m| from_worker_index(m) >= TO_WORKER_VARIANTS)
        .collect();
    assert!(!beyond.is_empty());
    for m in beyond {
        let f = frame::encode(&m).unwrap();
        assert!(
            matches!(
                frame::decode_exact::<ToWorker>(&f),
                Err(FrameError::Malformed { .. })
            ),
            "{} read as a ToWorker",
            m.name()
        );
    }
}

#[test]
fn init_roles() {
    for (init, role) in
        inits()
            .into_iter()
            .zip([Role::Vrrp, Role::Check, Role::Check, Role::Ipvs, Role::Ipvs])
    {
        assert_eq!(init.role(), Some(role));
        assert_eq!(init.slice.role(), role);
    }
    let mut bad = inits().remove(0);
    bad.restored = Restored::empty(Role::Check);
    assert_eq!(bad.role(), None);
    for role in Role::ALL {
        assert_eq!(Restored::empty(role).role(), role);
        assert_eq!(role.to_string(), role.as_str());
    }
}

#[test]
fn log_levels_are_syslog_priorities() {
    assert_eq!(LogLevel::Emerg.syslog_priority(), 0);
    assert_eq!(LogLevel::Err.syslog_priority(), 3);
    assert_eq!(LogLevel::Warning.syslog_priority(), 4);
    assert_eq!(LogLevel::Debug.syslog_priority(), 7);
}

/// The index TestProbe takes when the feature is on: the number of normal
/// ToWorker variants. Its frame: that index, then OpenNetlink (0).
const TEST_PROBE_BYTES: [u8; 2] = [11, 0];

#[cfg(not(feature = "test-messages"))]
#[test]
fn test_probe_does_not_exist_in_normal_builds() {
    assert_eq!(TO_WORKER_VARIANTS, usize::from(TEST_PROBE_BYTES[0]));
    let f = [&[PROTOCOL_VERSION, 2, 0, 0, 0][..], &TEST_PROBE_BYTES].concat();
    let err = frame::decode_exact::<ToWorker>(&f).unwrap_err();
    assert!(matches!(err, FrameError::Malformed { .. }), "{err:?}");
    // Same for the reply, at FromWorker's first free index.
    let f = [PROTOCOL_VERSION, 3, 0, 0, 0, 13, 0, 0];
    let err = frame::decode_exact::<FromWorker>(&f).unwrap_err();
    assert!(matches!(err, FrameError::Malformed { .. }), "{err:?}");
}

#[cfg(feature = "test-messages")]
#[test]
fn test_probe_exists_with_the_feature() {
    let f = [&[PROTOCOL_VERSION, 2, 0, 0, 0][..], &TEST_PROBE_BYTES].concat();
    assert_eq!(
        frame::decode_exact::<ToWorker>(&f).unwrap(),
        ToWorker::TestProbe {
            action: ProbeAction::OpenNetlink
        }
    );
}

#[test]
fn restored_state_for_many_real_servers_fits() {
    // 10,000 real servers' health, as a restarted check worker gets it.
    let map = (0..10_000u32)
        .map(|n| {
            (
                RealServerKey {
                    virtual_server: vs_key(),
                    addr: std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n)),
                    port: 80,
                },
                Health {
                    up: true,
                    weight: n,
                },
            )
        })
        .collect();
    let mut init = inits().remove(1);
    init.restored = Restored::Check(map);
    let f = frame::encode(&ToWorker::Init(init.clone())).unwrap();
    assert!(f.len() < MAX_PAYLOAD / 16, "{} bytes", f.len());
    assert_eq!(
        frame::decode_exact::<ToWorker>(&f).unwrap(),
        ToWorker::Init(init)
    );
}

#[test]
fn the_largest_check_summary_fits() {
    // MAX_CHECKER_STATS checkers with long targets still fit in a frame.
    let one = |n: u32| CheckerStats {
        real_server: RealServerKey {
            virtual_server: VirtualServerKey::Group {
                name: "a-long-virtual-server-group-name".into(),
                protocol: Protocol::Tcp,
            },
            addr: std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                0x2001_0db8_u128 << 96 | n as u128,
            )),
            port: 65535,
        },
        kind: "HTTP_GET".into(),
        target: format!("[2001:db8::{n:x}]:tcp:65535"),
        last_duration: Some(std::time::Duration::from_nanos(123_456_789)),
        last_ok: false,
        checks: u64::MAX,
        failures: u64::MAX,
    };
    let msg = FromWorker::CheckStats((0..MAX_CHECKER_STATS as u32).map(one).collect());
    let f = frame::encode(&msg).unwrap();
    assert!(f.len() < MAX_PAYLOAD / 2, "{} bytes", f.len());
    assert_eq!(frame::decode_exact::<FromWorker>(&f).unwrap(), msg);
}
