//! Machine tests: real configurations through the `config` crate, scripted
//! packets and an injected clock.

use super::*;
use crate::packet::{Advert, RxMeta};
use config::model::global::VrrpVersion;
use ipc::{DropReason, ScriptEntry, ScriptId, ScriptOutcome};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

mod ah;
mod rfc;
mod sync;
mod tracking;

/// A machine under test with its clock.
pub struct H {
    pub m: Machine,
    pub t0: Instant,
    pub now: Instant,
    pub table: Vec<ScriptEntry>,
}

pub fn load(conf: &str) -> VrrpSlice {
    let l = config::load_str(
        Path::new("/nonexistent/keepalived.conf"),
        conf,
        &config::LoadOptions::default(),
    );
    assert!(!l.has_errors(), "configuration errors: {:?}", l.diagnostics);
    VrrpSlice {
        global: l.config.global.clone(),
        vrrp: l.config.vrrp.clone(),
    }
}

/// The parent's script table for a configuration (same purposes).
pub fn table(slice: &VrrpSlice) -> Vec<ScriptEntry> {
    let mut v = Vec::new();
    let mut add = |purpose: ScriptPurpose| {
        v.push(ScriptEntry {
            id: ScriptId(v.len() as u32),
            purpose,
        })
    };
    for s in &slice.vrrp.scripts {
        add(ScriptPurpose::VrrpScript {
            name: s.name.clone(),
        });
    }
    let events = |n: &config::model::vrrp::NotifyScripts| {
        [
            (NotifyEvent::Master, n.master.is_some()),
            (NotifyEvent::Backup, n.backup.is_some()),
            (NotifyEvent::Fault, n.fault.is_some()),
            (NotifyEvent::Stop, n.stop.is_some()),
            (
                NotifyEvent::MasterRxLowerPri,
                n.master_rx_lower_pri.is_some(),
            ),
            (NotifyEvent::Any, n.notify.is_some()),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(e, _)| e)
        .collect::<Vec<_>>()
    };
    for i in &slice.vrrp.instances {
        for event in events(&i.notify) {
            add(ScriptPurpose::InstanceNotify {
                instance: i.name.clone(),
                event,
            });
        }
    }
    for g in &slice.vrrp.sync_groups {
        for event in events(&g.notify) {
            add(ScriptPurpose::SyncGroupNotify {
                group: g.name.clone(),
                event,
            });
        }
    }
    v
}

/// One instance block.
pub fn instance(name: &str, vrid: u8, prio: u8, extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{
  state BACKUP
  interface eth0
  virtual_router_id {vrid}
  priority {prio}
  advert_int 1
  virtual_ipaddress {{
    10.0.{vrid}.100/24
  }}
  {extra}
}}
"
    )
}

pub const OUR_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

impl H {
    /// A machine for `conf`, every instance's source address 10.0.0.5
    /// (IPv4) or fe80::5 (IPv6), not started.
    pub fn new(conf: &str) -> H {
        H::with_restore(conf, &BTreeMap::new())
    }

    pub fn with_restore(conf: &str, restored: &BTreeMap<String, InstanceRestore>) -> H {
        let slice = load(conf);
        let table = table(&slice);
        let mut m = Machine::new(&slice, &table, restored);
        let t0 = Instant::now();
        let ids: Vec<InstanceId> = m.instance_ids().collect();
        for id in ids {
            let a = match m.config(id).family {
                Family::Ipv4 => IpAddr::V4(OUR_ADDR),
                Family::Ipv6 => "fe80::5".parse().unwrap(),
            };
            if m.source_address(id).is_none() {
                assert!(m.set_source_address(t0, id, Some(a)).is_empty());
            }
        }
        H {
            m,
            t0,
            now: t0,
            table,
        }
    }

    pub fn start(&mut self) -> Vec<Action> {
        self.m.start(self.now)
    }

    pub fn id(&self, name: &str) -> InstanceId {
        self.m.instance_id(name).unwrap()
    }

    pub fn state(&self, name: &str) -> VrrpState {
        self.m.state(self.id(name))
    }

    /// Run the clock forward to `t0 + d`, firing every deadline on the way
    /// at its own instant. Returns every action.
    pub fn run_to(&mut self, d: Duration) -> Vec<Action> {
        let end = self.t0 + d;
        let mut all = Vec::new();
        while let Some(t) = self.m.next_deadline() {
            if t > end {
                break;
            }
            self.now = t.max(self.now);
            all.extend(self.m.on_timer(self.now));
        }
        self.now = end.max(self.now);
        all
    }

    /// Run forward by `d` from now.
    pub fn run_for(&mut self, d: Duration) -> Vec<Action> {
        let target = self.now + d - self.t0;
        self.run_to(target)
    }

    /// The advert instance `name`'s peers would send, with `prio`.
    pub fn advert(&self, name: &str, prio: u8) -> Advert {
        let c = self.m.config(self.id(name));
        let mut a = Advert::new(
            c.version,
            c.vrid,
            prio,
            crate::packet::interval_field(c.version, c.advert_int),
        );
        a.addrs = c.virtual_ipaddresses.iter().map(|v| v.addr).collect();
        if let (VrrpVersion::V2, Some(auth)) = (c.version, &c.authentication) {
            a.auth_type = match auth.auth_type {
                config::model::vrrp::AuthType::Pass => crate::packet::AUTH_PASS,
                config::model::vrrp::AuthType::Ah => crate::packet::AUTH_AH,
            };
            if a.auth_type == crate::packet::AUTH_PASS {
                a.auth_data = crate::packet::password_bytes(&auth.password);
            }
        }
        a
    }

    /// Deliver `a` to `name` from `from` (multicast, TTL 255).
    pub fn rx_advert(&mut self, name: &str, from: &str, a: &Advert) -> Vec<Action> {
        let from: IpAddr = from.parse().unwrap();
        let id = self.id(name);
        let (msg, meta) = match from {
            IpAddr::V4(s) => {
                let d = a.encode_ipv4(s, Ipv4Addr::new(224, 0, 0, 18), 255, 1);
                let p = crate::packet::parse_ipv4(&d).unwrap();
                (p.vrrp.to_vec(), RxMeta::from_ipv4(&p))
            }
            IpAddr::V6(s) => {
                let dst = "ff02::12".parse().unwrap();
                (
                    a.encode(from, IpAddr::V6(dst)),
                    RxMeta::ipv6(s, dst, Some(255)),
                )
            }
        };
        self.m.receive(self.now, id, &msg, &meta)
    }

    /// Deliver an advert with priority `prio` from `from`.
    pub fn rx(&mut self, name: &str, from: &str, prio: u8) -> Vec<Action> {
        let a = self.advert(name, prio);
        self.rx_advert(name, from, &a)
    }

    /// The purpose of a script id.
    pub fn purpose(&self, id: ScriptId) -> &ScriptPurpose {
        &self.table[id.0 as usize].purpose
    }

    /// The notify events asked for in `acts`, as (name, event).
    pub fn notifies(&self, acts: &[Action]) -> Vec<(String, NotifyEvent)> {
        acts.iter()
            .filter_map(|a| match a {
                Action::RunScript { id, .. } => match self.purpose(*id) {
                    ScriptPurpose::InstanceNotify { instance, event } => {
                        Some((instance.clone(), *event))
                    }
                    ScriptPurpose::SyncGroupNotify { group, event } => {
                        Some((format!("group:{group}"), *event))
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// The track script runs asked for: (request, script name).
    pub fn track_runs(&self, acts: &[Action]) -> Vec<(u64, String)> {
        acts.iter()
            .filter_map(|a| match a {
                Action::RunScript { request, id } => match self.purpose(*id) {
                    ScriptPurpose::VrrpScript { name } => Some((*request, name.clone())),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// Answer every track script run in `acts` with `code`.
    pub fn answer(&mut self, acts: &[Action], code: i32) -> Vec<Action> {
        let mut out = Vec::new();
        for (r, _) in self.track_runs(acts) {
            out.extend(
                self.m
                    .script_done(self.now, r, &ScriptOutcome::Exited { code }),
            );
        }
        out
    }

    pub fn counters(&self, name: &str) -> &VrrpCounters {
        self.m.counters(self.id(name))
    }
}

/// The priorities of the adverts sent for `id` in `acts`.
pub fn sent(acts: &[Action], id: InstanceId) -> Vec<u8> {
    acts.iter()
        .filter_map(|a| match a {
            Action::SendAdvert {
                instance, advert, ..
            } if *instance == id => Some(advert.priority),
            _ => None,
        })
        .collect()
}

/// The first advert sent in `acts` (panics when there is none).
pub fn first_advert(acts: &[Action]) -> Advert {
    acts.iter()
        .find_map(|a| match a {
            Action::SendAdvert { advert, .. } => Some(advert.clone()),
            _ => None,
        })
        .expect("an advert was sent")
}

pub fn adds(acts: &[Action], id: InstanceId) -> usize {
    acts.iter()
        .filter(|a| matches!(a, Action::AddVips { instance } if *instance == id))
        .count()
}

pub fn removes(acts: &[Action], id: InstanceId) -> usize {
    acts.iter()
        .filter(|a| matches!(a, Action::RemoveVips { instance } if *instance == id))
        .count()
}

pub fn garps(acts: &[Action], id: InstanceId) -> Vec<u32> {
    acts.iter()
        .filter_map(|a| match a {
            Action::SendGarp { instance, repeat } if *instance == id => Some(*repeat),
            _ => None,
        })
        .collect()
}

pub fn reports(acts: &[Action]) -> Vec<(String, VrrpState, u8, bool)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Report(r) => {
                Some((r.name.clone(), r.state, r.effective_priority, r.holds_vips))
            }
            _ => None,
        })
        .collect()
}

pub fn logs(acts: &[Action]) -> Vec<String> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

pub fn drops(c: &VrrpCounters, r: DropReason) -> u64 {
    c.drops.get(&r).copied().unwrap_or(0)
}

// ------------------------------------------------------------ timer figures

#[test]
fn skew_and_master_down_figures() {
    use instance::{master_down_interval, skew, skew_min};
    // v2: (256 - p) / 256 s, whatever the interval.
    assert_eq!(skew(VrrpVersion::V2, 100, ms(1000)), us(609_375));
    assert_eq!(skew(VrrpVersion::V2, 100, ms(5000)), us(609_375));
    assert_eq!(skew(VrrpVersion::V2, 254, ms(1000)), us(7_812));
    assert_eq!(skew(VrrpVersion::V2, 255, ms(1000)), us(3_906));
    assert_eq!(
        master_down_interval(VrrpVersion::V2, 100, ms(1000), 3),
        us(3_609_375)
    );
    assert_eq!(
        master_down_interval(VrrpVersion::V2, 120, ms(1000), 3),
        us(3_531_250)
    );
    // v3: (256 - p) * Master_Adver_Interval / 256.
    assert_eq!(skew(VrrpVersion::V3, 100, ms(1000)), us(609_375));
    assert_eq!(skew(VrrpVersion::V3, 200, ms(100)), us(21_875));
    assert_eq!(skew(VrrpVersion::V3, 120, ms(100)), us(53_125));
    assert_eq!(
        master_down_interval(VrrpVersion::V3, 200, ms(100), 3),
        us(321_875)
    );
    assert_eq!(
        master_down_interval(VrrpVersion::V3, 200, ms(100), 5),
        us(521_875)
    );
    assert_eq!(skew_min(VrrpVersion::V2, ms(1000)), us(3_906));
    assert_eq!(skew_min(VrrpVersion::V3, ms(2000)), us(7_812));
}

#[test]
fn backup_takes_over_exactly_at_master_down() {
    // priority 120, v2 1 s: 3 + 136/256 s = 3.53125 s.
    let mut h = H::new(&instance(
        "VI_1",
        51,
        120,
        "notify /bin/true\nnotify_master /bin/true",
    ));
    let id = h.id("VI_1");
    let acts = h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(
        reports(&acts),
        vec![("VI_1".to_string(), VrrpState::Backup, 120, false)]
    );
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(3_531_250)));
    let acts = h.run_to(us(3_531_249));
    assert!(acts.is_empty());
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    let acts = h.run_to(us(3_531_250));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(sent(&acts, id), vec![120]);
    assert_eq!(adds(&acts, id), 1);
    assert_eq!(garps(&acts, id), vec![5]);
    // The advert goes first (the old master must drop the VIPs before the
    // ARPs), the report precedes the notify scripts.
    let pos = |f: &dyn Fn(&Action) -> bool| acts.iter().position(f).unwrap();
    let p_adv = pos(&|a| matches!(a, Action::SendAdvert { .. }));
    let p_add = pos(&|a| matches!(a, Action::AddVips { .. }));
    let p_rep = pos(&|a| matches!(a, Action::Report(_)));
    let p_run = pos(&|a| matches!(a, Action::RunScript { .. }));
    assert!(p_adv < p_add && p_add < p_rep && p_rep < p_run);
    assert_eq!(
        h.notifies(&acts),
        vec![
            ("VI_1".to_string(), NotifyEvent::Master),
            ("VI_1".to_string(), NotifyEvent::Any)
        ]
    );
    assert_eq!(h.counters("VI_1").became_master, 1);
    // Then one advert per second, and the delayed GARP burst at 5 s.
    let acts = h.run_for(ms(10_000));
    assert_eq!(sent(&acts, id).len(), 10);
    assert_eq!(garps(&acts, id), vec![5]);
    assert_eq!(h.counters("VI_1").adverts_sent, 11);
}

#[test]
fn state_master_non_owner_starts_like_backup() {
    let conf = instance("VI_1", 51, 120, "").replace("state BACKUP", "state MASTER");
    let mut h = H::new(&conf);
    h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(3_531_250)));
    h.run_to(us(3_531_250));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
}

#[test]
fn owner_goes_master_at_once() {
    let conf = instance("VI_1", 51, 255, "").replace("state BACKUP", "state MASTER");
    let mut h = H::new(&conf);
    let id = h.id("VI_1");
    h.start();
    let acts = h.run_to(us(1));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(sent(&acts, id), vec![255]);
}

#[test]
fn v3_backup_uses_the_masters_interval() {
    // Our advert_int 1 s, the master's 0.5 s: master down = 3 * 0.5 +
    // (256-100) * 0.5 / 256 = 1.5 + 0.3046875 s.
    let conf = instance("VI_1", 51, 100, "version 3");
    let mut h = H::new(&conf);
    h.start();
    let mut a = h.advert("VI_1", 200);
    a.interval = 50;
    h.rx_advert("VI_1", "10.0.0.9", &a);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(h.m.next_deadline(), Some(h.now + us(1_804_687)));
    let id = h.id("VI_1");
    let acts = h.run_for(us(1_804_687));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    // As master it sends at its own interval (100 cs) again.
    assert_eq!(h.m.next_deadline(), Some(h.now + ms(1000)));
    let a = first_advert(&acts);
    assert_eq!(a.interval, 100);
    assert_eq!(sent(&acts, id), vec![100]);
}

#[test]
fn down_timer_adverts_setting() {
    let conf = instance("VI_1", 51, 100, "down_timer_adverts 5");
    let mut h = H::new(&conf);
    h.start();
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(5_609_375)));
}

#[test]
fn startup_delay_postpones_backup_timers() {
    let conf = format!(
        "global_defs {{\n vrrp_startup_delay 2\n}}\n{}",
        instance("VI_1", 51, 100, "")
    );
    let mut h = H::new(&conf);
    h.start();
    assert_eq!(h.m.next_deadline(), Some(h.t0 + ms(2000) + us(3_609_375)));
    // An advert during the delay does not shorten it.
    h.run_to(ms(1000));
    h.rx("VI_1", "10.0.0.9", 150);
    assert_eq!(h.m.next_deadline(), Some(h.t0 + ms(2000) + us(3_609_375)));
}

#[test]
fn counters_and_drops() {
    let mut h = H::new(&instance("VI_1", 51, 100, ""));
    h.start();
    h.rx("VI_1", "10.0.0.9", 150);
    h.rx("VI_1", "10.0.0.9", 0);
    let mut bad = h.advert("VI_1", 150);
    bad.interval = 2;
    h.rx_advert("VI_1", "10.0.0.9", &bad);
    let mut wrong = h.advert("VI_1", 150);
    wrong.addrs = vec!["10.0.51.101".parse().unwrap()];
    h.rx_advert("VI_1", "10.0.0.9", &wrong);
    let c = h.counters("VI_1").clone();
    assert_eq!(c.adverts_received, 3);
    assert_eq!(c.priority_zero_received, 1);
    assert_eq!(drops(&c, DropReason::AdvertInterval), 1);
    assert_eq!(drops(&c, DropReason::AddressList), 1);
}

#[test]
fn dropped_adverts_are_counted_each_but_logged_at_a_bounded_rate() {
    use crate::machine::{REJECT_LOG_BURST, REJECT_LOG_WINDOW};
    let mut h = H::new(&instance("VI_1", 51, 100, ""));
    h.start();
    let mut bad = h.advert("VI_1", 150);
    bad.interval = 2;
    let mut lines = Vec::new();
    for _ in 0..1000 {
        lines.extend(logs(&h.rx_advert("VI_1", "10.0.0.9", &bad)));
    }
    assert_eq!(
        drops(h.counters("VI_1"), DropReason::AdvertInterval),
        1000,
        "every drop counted"
    );
    assert_eq!(lines.len(), REJECT_LOG_BURST as usize, "{lines:?}");
    // Another reason has its own allowance.
    let mut wrong = h.advert("VI_1", 150);
    wrong.addrs = vec!["10.0.51.101".parse().unwrap()];
    let l = logs(&h.rx_advert("VI_1", "10.0.0.9", &wrong));
    assert_eq!(l.len(), 1, "{l:?}");
    // The next window opens with a summary of what was not logged.
    h.run_to(REJECT_LOG_WINDOW + ms(1));
    let l = logs(&h.rx_advert("VI_1", "10.0.0.9", &bad));
    assert_eq!(l.len(), 2, "{l:?}");
    assert!(
        l[0].contains(&format!(
            "{} more adverts dropped (AdvertInterval)",
            1000 - REJECT_LOG_BURST
        )),
        "{l:?}"
    );
}
