//! Drive the VRRP machine with arbitrary inputs: packets (arbitrary bytes
//! and well-formed adverts with arbitrary fields), clock steps, interface,
//! file, process and script events, restores and shutdown. It must never
//! panic and its timers must never stop it from making progress. Instance D
//! uses AH: its adverts are AH datagrams with fuzzed sequence numbers,
//! signed with its password or another, and what it sends must carry AH
//! fields (the others' must not).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use vrrp_worker::machine::{Action, InstanceId, Machine};
use vrrp_worker::packet::{Advert, RxMeta};

const CONF: &str = r#"
vrrp_script chk {
  script "/bin/true"
  interval 1
  weight -20
  rise 2
  fall 2
}
vrrp_script chk0 {
  script "/bin/true"
  interval 2
  weight 0
}
track_file tf {
  file /tmp/x
  weight 3
}
vrrp_sync_group G {
  group {
    A
    B
  }
  notify /bin/true
}
vrrp_instance A {
  state BACKUP
  interface eth0
  virtual_router_id 1
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass pw
  }
  track_script {
    chk
  }
  track_file {
    tf
  }
  virtual_ipaddress {
    10.0.0.100/24
  }
  notify /bin/true
}
vrrp_instance B {
  state MASTER
  interface eth1
  virtual_router_id 2
  priority 150
  advert_int 0.3
  version 3
  preempt_delay 2
  virtual_ipaddress {
    10.0.1.100/24
  }
}
vrrp_instance C {
  state BACKUP
  interface eth0
  virtual_router_id 3
  priority 255
  advert_int 0.5
  virtual_ipaddress {
    fe80::3/64
    fd00::3/64
  }
  track_script {
    chk0
  }
  track_interface {
    eth2 weight -10
  }
  nopreempt
}
vrrp_instance D {
  state BACKUP
  interface eth0
  virtual_router_id 4
  priority 120
  advert_int 1
  authentication {
    auth_type AH
    auth_pass secret12
  }
  virtual_ipaddress {
    10.0.4.100/24
  }
}
"#;

fn slice() -> &'static ipc::VrrpSlice {
    static S: OnceLock<ipc::VrrpSlice> = OnceLock::new();
    S.get_or_init(|| {
        let l = config::load_str(
            Path::new("/x/k.conf"),
            CONF,
            &config::LoadOptions::default(),
        );
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        ipc::VrrpSlice {
            global: l.config.global.clone(),
            vrrp: l.config.vrrp.clone(),
        }
    })
}

fn table() -> Vec<ipc::ScriptEntry> {
    let mut v = Vec::new();
    for (i, n) in ["chk", "chk0"].iter().enumerate() {
        v.push(ipc::ScriptEntry {
            id: ipc::ScriptId(i as u32),
            purpose: ipc::ScriptPurpose::VrrpScript {
                name: n.to_string(),
            },
        });
    }
    v
}

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let restore_sel = b.u8().unwrap_or(0);
    let mut restored = BTreeMap::new();
    if restore_sel & 1 != 0 {
        for (i, n) in ["A", "B", "C", "D"].iter().enumerate() {
            let s = (restore_sel >> (1 + 2 * (i % 3))) & 3;
            let state = [
                ipc::VrrpState::Init,
                ipc::VrrpState::Backup,
                ipc::VrrpState::Master,
                ipc::VrrpState::Fault,
            ][s as usize];
            restored.insert(
                n.to_string(),
                ipc::InstanceRestore {
                    state,
                    holds_vips: s == 2,
                    ah_seq: u32::from(restore_sel) << 8,
                },
            );
        }
    }
    let mut m = Machine::new(slice(), &table(), &restored);
    let t0 = Instant::now();
    let mut now = t0;
    let ids: Vec<InstanceId> = m.instance_ids().collect();
    for &id in &ids {
        let a = if id.0 == 2 {
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 5))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))
        };
        m.set_source_address(now, id, Some(a));
    }
    let mut pending: Vec<u64> = Vec::new();
    let handle = |acts: Vec<Action>, pending: &mut Vec<u64>| {
        for a in acts {
            match a {
                Action::RunScript { request, .. } => pending.push(request),
                Action::SendAdvert { instance, ah, .. } => {
                    assert_eq!(ah.is_some(), instance.0 == 3, "AH fields on {instance:?}");
                }
                _ => {}
            }
        }
    };
    handle(m.start(now), &mut pending);
    while let Some(op) = b.u8() {
        match op % 10 {
            0 | 1 => {
                // Step the clock by up to ~6.5 s and fire the timers.
                let step = u64::from(b.u8().unwrap_or(0)) * 25 + u64::from(op);
                now += Duration::from_millis(step);
                let mut guard = 0;
                while let Some(d) = m.next_deadline() {
                    if d > now || guard > 10_000 {
                        break;
                    }
                    guard += 1;
                    handle(m.on_timer(d.max(t0)), &mut pending);
                }
                assert!(guard <= 10_000, "timers do not advance");
                handle(m.on_timer(now), &mut pending);
            }
            2 | 3 => {
                // A well-formed advert with fuzzed fields.
                let id = ids[usize::from(b.u8().unwrap_or(0)) % ids.len()];
                let c = m.config(id).clone();
                let prio = b.u8().unwrap_or(0);
                let interval = u16::from(b.u8().unwrap_or(1));
                let from = b.u8().unwrap_or(9);
                let mut a = Advert::new(c.version, c.vrid, prio, interval);
                a.addrs = c.virtual_ipaddresses.iter().map(|v| v.addr).collect();
                let mut ah_key = None;
                if let Some(auth) = &c.authentication {
                    if auth.auth_type == config::model::vrrp::AuthType::Ah {
                        a.auth_type = vrrp_worker::packet::AUTH_AH;
                        ah_key = Some(vrrp_worker::packet::password_bytes(if from & 1 == 0 {
                            &auth.password
                        } else {
                            b"wrong"
                        }));
                    } else {
                        a.auth_type = vrrp_worker::packet::AUTH_PASS;
                        a.auth_data = vrrp_worker::packet::password_bytes(&auth.password);
                    }
                }
                let (msg, meta) = if let Some(key) = ah_key {
                    let seq = u32::from_be_bytes([
                        b.u8().unwrap_or(0),
                        b.u8().unwrap_or(0),
                        b.u8().unwrap_or(0),
                        b.u8().unwrap_or(1),
                    ]);
                    let s = Ipv4Addr::new(10, 0, 0, from);
                    let d =
                        a.encode_ipv4_ah(s, Ipv4Addr::new(224, 0, 0, 18), 255, 1, seq, &key, false);
                    let p = vrrp_worker::packet::parse_ipv4(&d).unwrap();
                    (p.vrrp.to_vec(), RxMeta::from_ipv4(&p))
                } else if c.family == config::model::vrrp::Family::Ipv6 {
                    let s = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(from));
                    let d = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
                    (
                        a.encode(IpAddr::V6(s), IpAddr::V6(d)),
                        RxMeta::ipv6(s, d, Some(255)),
                    )
                } else {
                    let s = Ipv4Addr::new(10, 0, 0, from);
                    let d = a.encode_ipv4(s, Ipv4Addr::new(224, 0, 0, 18), 255, 1);
                    let p = vrrp_worker::packet::parse_ipv4(&d).unwrap();
                    (p.vrrp.to_vec(), RxMeta::from_ipv4(&p))
                };
                handle(m.receive(now, id, &msg, &meta), &mut pending);
            }
            4 => {
                // Arbitrary bytes as a message.
                let id = ids[usize::from(b.u8().unwrap_or(0)) % ids.len()];
                let n = usize::from(b.u8().unwrap_or(0));
                let msg = b.take(n).to_vec();
                let meta = RxMeta::ipv6(
                    Ipv6Addr::LOCALHOST,
                    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
                    Some(255),
                );
                handle(m.receive(now, id, &msg, &meta), &mut pending);
            }
            5 => {
                let sel = b.u8().unwrap_or(0);
                let name = ["eth0", "eth1", "eth2", "eth9"][usize::from(sel % 4)];
                handle(m.interface_changed(now, name, sel & 4 != 0), &mut pending);
            }
            6 => {
                if !pending.is_empty() {
                    let sel = b.u8().unwrap_or(0);
                    let r = pending.remove(usize::from(sel) % pending.len());
                    let outcome = match sel % 4 {
                        0 => ipc::ScriptOutcome::Exited { code: 0 },
                        1 => ipc::ScriptOutcome::Exited { code: 1 },
                        2 => ipc::ScriptOutcome::TimedOut,
                        _ => ipc::ScriptOutcome::Refused {
                            reason: String::new(),
                        },
                    };
                    handle(m.script_done(now, r, &outcome), &mut pending);
                }
            }
            7 => {
                let v = i64::from(b.u8().unwrap_or(0) as i8) * 10;
                handle(m.track_file_value(now, "tf", v), &mut pending);
            }
            8 => {
                let id = ids[usize::from(b.u8().unwrap_or(0)) % ids.len()];
                let addr = if b.u8().unwrap_or(0) % 2 == 0 {
                    None
                } else {
                    m.source_address(id)
                        .or(Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 6))))
                };
                handle(m.set_source_address(now, id, addr), &mut pending);
            }
            _ => {
                if b.u8().unwrap_or(0) == 0 {
                    handle(m.shutdown(now), &mut pending);
                    assert_eq!(m.next_deadline(), None);
                }
            }
        }
        for &id in &ids {
            let p = m.effective_priority(id);
            assert!(p >= 1);
        }
    }
});
