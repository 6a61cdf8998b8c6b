//! RFC 5798 section 6.4 (and RFC 3768 6.4): every transition of the
//! Initialize, Backup and Master state tables, plus preemption, priority 0
//! and 255, tie-breaks, restore and shutdown.

use super::*;

// ------------------------------------------------------------ 6.4.1 Initialize

#[test]
fn owner_configured_backup_waits_like_a_backup() {
    // keepalived: priority 255 with `state BACKUP` starts as a backup, with
    // the owner's skew (1/256 s).
    let mut h = H::new(&instance("VI_1", 51, 255, ""));
    h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(3_003_906)));
}

#[test]
fn init_startup_non_owner_enters_backup_with_master_down_timer() {
    let mut h = H::new(&instance("VI_1", 51, 100, "notify_backup /bin/true"));
    let id = h.id("VI_1");
    let acts = h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(sent(&acts, id), Vec::<u8>::new());
    assert_eq!(adds(&acts, id), 0);
    assert_eq!(
        h.notifies(&acts),
        vec![("VI_1".to_string(), NotifyEvent::Backup)]
    );
    assert!(logs(&acts).contains(&"(VI_1) Entering BACKUP STATE (init)".to_string()));
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(3_609_375)));
}

#[test]
fn init_startup_owner_sends_advert_and_garp_and_becomes_master() {
    let conf = instance("VI_1", 51, 255, "").replace("state BACKUP", "state MASTER");
    let mut h = H::new(&conf);
    let id = h.id("VI_1");
    let mut acts = h.start();
    acts.extend(h.run_to(us(1)));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(sent(&acts, id), vec![255]);
    assert_eq!(adds(&acts, id), 1);
    assert_eq!(garps(&acts, id), vec![5]);
    // Adver_Timer = Advertisement_Interval.
    assert_eq!(h.m.next_deadline(), Some(h.now + ms(1000)));
}

// ------------------------------------------------------------ 6.4.2 Backup

#[test]
fn backup_shutdown_just_stops() {
    let mut h = H::new(&instance("VI_1", 51, 100, "notify_stop /bin/true"));
    let id = h.id("VI_1");
    h.start();
    let acts = h.m.shutdown(h.now);
    assert_eq!(sent(&acts, id), Vec::<u8>::new());
    assert_eq!(removes(&acts, id), 0);
    assert_eq!(
        h.notifies(&acts),
        vec![("VI_1".to_string(), NotifyEvent::Stop)]
    );
    assert_eq!(h.m.next_deadline(), None);
    assert!(h.rx("VI_1", "10.0.0.9", 150).is_empty());
}

#[test]
fn backup_advert_priority_zero_sets_timer_to_skew() {
    let mut h = H::new(&instance("VI_1", 51, 100, ""));
    h.start();
    h.run_to(ms(1000));
    h.rx("VI_1", "10.0.0.9", 150);
    h.run_to(ms(2000));
    h.rx("VI_1", "10.0.0.9", 0);
    assert_eq!(h.m.next_deadline(), Some(h.now + us(609_375)));
    h.run_for(us(609_374));
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    h.run_for(us(1));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
}

#[test]
fn backup_advert_higher_or_equal_priority_resets_timer() {
    for prio in [100, 101, 254] {
        let mut h = H::new(&instance("VI_1", 51, 100, ""));
        h.start();
        for s in 1..=20u64 {
            h.run_to(ms(s * 1000));
            h.rx("VI_1", "10.0.0.9", prio);
        }
        assert_eq!(h.state("VI_1"), VrrpState::Backup, "prio {prio}");
        assert_eq!(h.m.next_deadline(), Some(h.now + us(3_609_375)));
    }
}

#[test]
fn backup_preempt_discards_lower_priority_and_takes_over() {
    let mut h = H::new(&instance("VI_1", 51, 150, ""));
    h.start();
    // A live master with 100: its adverts are discarded, so we take over
    // when our master down timer (from start) runs out.
    let down = us(3_000_000 + 106 * 1_000_000 / 256);
    let mut acts = Vec::new();
    for s in 1..=3u64 {
        acts.extend(h.run_to(ms(s * 1000)));
        acts.extend(h.rx("VI_1", "10.0.0.9", 100));
    }
    assert!(logs(&acts).contains(
        &"(VI_1) received lower priority (100) advert from 10.0.0.9 - discarding".to_string()
    ));
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    h.run_to(down);
    assert_eq!(h.state("VI_1"), VrrpState::Master);
}

#[test]
fn backup_nopreempt_stays_backup_under_a_lower_master() {
    let conf = instance("VI_1", 51, 150, "nopreempt");
    let mut h = H::new(&conf);
    h.start();
    for s in 1..=10u64 {
        h.run_to(ms(s * 1000));
        h.rx("VI_1", "10.0.0.9", 100);
    }
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    // But it takes over when the master goes silent.
    h.run_for(us(3_000_000 + 106 * 1_000_000 / 256));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
}

#[test]
fn backup_preempt_delay_waits_then_takes_over() {
    let conf = instance("VI_1", 51, 150, "preempt_delay 5");
    let mut h = H::new(&conf);
    h.start();
    // Lower adverts are accepted for 5 s after the first one (at 1 s): the
    // ones at 1..5 s reset the timer, the one at 6 s (= preempt time) is
    // discarded, so the timer set at 5 s (3.4140625 s) expires at
    // 8.4140625 s.
    for s in 1..=12u64 {
        h.run_to(ms(s * 1000));
        if h.state("VI_1") != VrrpState::Backup {
            break;
        }
        h.rx("VI_1", "10.0.0.9", 100);
    }
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    let mut h2 = H::new(&conf);
    h2.start();
    for s in 1..=8u64 {
        h2.run_to(ms(s * 1000));
        h2.rx("VI_1", "10.0.0.9", 100);
    }
    h2.run_to(us(8_414_061));
    assert_eq!(h2.state("VI_1"), VrrpState::Backup);
    h2.run_to(us(8_414_063));
    assert_eq!(h2.state("VI_1"), VrrpState::Master);
}

#[test]
fn backup_ignores_adverts_that_fail_the_checks() {
    let conf = instance(
        "VI_1",
        51,
        100,
        "authentication {\n auth_type PASS\n auth_pass secret\n}",
    );
    let mut h = H::new(&conf);
    h.start();
    let mut a = h.advert("VI_1", 200);
    a.auth_data = crate::packet::password_bytes(b"wrong");
    for s in 1..=3u64 {
        h.run_to(ms(s * 1000));
        h.rx_advert("VI_1", "10.0.0.9", &a);
    }
    assert_eq!(drops(h.counters("VI_1"), DropReason::AuthFailure), 3);
    h.run_to(us(3_609_375));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    // The right password is accepted.
    let good = h.advert("VI_1", 200);
    h.rx_advert("VI_1", "10.0.0.9", &good);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
}

// ------------------------------------------------------------ 6.4.3 Master

fn master(conf: &str) -> H {
    let mut h = H::new(conf);
    h.start();
    h.run_to(ms(4000));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    h
}

#[test]
fn master_adver_timer_sends_adverts() {
    let mut h = master(&instance("VI_1", 51, 100, ""));
    let id = h.id("VI_1");
    let acts = h.run_for(ms(5000));
    assert_eq!(sent(&acts, id), vec![100; 5]);
}

#[test]
fn master_shutdown_sends_priority_zero_and_removes_vips() {
    let mut h = master(&instance(
        "VI_1",
        51,
        100,
        "notify_stop /bin/true\nnotify /bin/true",
    ));
    let id = h.id("VI_1");
    let acts = h.m.shutdown(h.now);
    assert_eq!(sent(&acts, id), vec![0]);
    assert_eq!(removes(&acts, id), 1);
    let p_adv = acts
        .iter()
        .position(|a| matches!(a, Action::SendAdvert { .. }))
        .unwrap();
    let p_rm = acts
        .iter()
        .position(|a| matches!(a, Action::RemoveVips { .. }))
        .unwrap();
    assert!(p_adv < p_rm);
    assert_eq!(
        h.notifies(&acts),
        vec![
            ("VI_1".to_string(), NotifyEvent::Stop),
            ("VI_1".to_string(), NotifyEvent::Any)
        ]
    );
    assert_eq!(h.counters("VI_1").priority_zero_sent, 1);
    assert_eq!(
        reports(&acts),
        vec![("VI_1".to_string(), VrrpState::Init, 100, false)]
    );
    assert_eq!(h.m.next_deadline(), None);
}

#[test]
fn master_priority_zero_answers_at_once() {
    let mut h = master(&instance("VI_1", 51, 100, ""));
    let id = h.id("VI_1");
    h.run_for(ms(300));
    let acts = h.rx("VI_1", "10.0.0.9", 0);
    assert_eq!(sent(&acts, id), vec![100]);
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    // The advert timer restarts.
    assert_eq!(h.m.next_deadline(), Some(h.now + ms(1000)));
}

#[test]
fn master_higher_priority_goes_backup() {
    let mut h = master(&instance("VI_1", 51, 100, "notify_backup /bin/true"));
    let id = h.id("VI_1");
    let acts = h.rx("VI_1", "10.0.0.9", 150);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(sent(&acts, id), Vec::<u8>::new());
    assert_eq!(removes(&acts, id), 1);
    assert_eq!(
        h.notifies(&acts),
        vec![("VI_1".to_string(), NotifyEvent::Backup)]
    );
    assert_eq!(h.counters("VI_1").released_master, 1);
    assert_eq!(h.m.next_deadline(), Some(h.now + us(3_609_375)));
    assert!(
        logs(&acts).contains(
            &"(VI_1) Master received advert from 10.0.0.9 with higher priority 150, ours 100"
                .to_string()
        )
    );
}

#[test]
fn master_higher_prio_send_advert() {
    let mut h = master(&instance("VI_1", 51, 100, "higher_prio_send_advert"));
    let id = h.id("VI_1");
    let acts = h.rx("VI_1", "10.0.0.9", 150);
    assert_eq!(sent(&acts, id), vec![100]);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
}

#[test]
fn master_equal_priority_tie_break_by_address() {
    // Ours is 10.0.0.5: a higher address wins, a lower one loses.
    let mut h = master(&instance("VI_1", 51, 100, ""));
    let id = h.id("VI_1");
    let acts = h.rx("VI_1", "10.0.0.4", 100);
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(sent(&acts, id), vec![100]);
    let acts = h.rx("VI_1", "10.0.0.6", 100);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert!(logs(&acts).contains(
        &"(VI_1) Master received advert from 10.0.0.6 with same priority 100 but higher IP address than ours"
            .to_string()
    ));
}

#[test]
fn master_lower_priority_forces_new_election() {
    let conf = instance(
        "VI_1",
        51,
        100,
        "garp_lower_prio_repeat 2\ngarp_lower_prio_delay 3\nnotify_master_rx_lower_pri /bin/true",
    );
    let mut h = master(&conf);
    let id = h.id("VI_1");
    h.run_for(ms(400));
    let acts = h.rx("VI_1", "10.0.0.9", 50);
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(sent(&acts, id), vec![100]);
    assert_eq!(garps(&acts, id), vec![2]);
    assert_eq!(
        h.notifies(&acts),
        vec![("VI_1".to_string(), NotifyEvent::MasterRxLowerPri)]
    );
    assert_eq!(h.m.next_deadline(), Some(h.now + ms(1000)));
    // The second lower-priority GARP round after 3 s.
    let acts = h.run_for(ms(3000));
    assert_eq!(garps(&acts, id), vec![2]);
}

#[test]
fn lower_prio_garp_timers_do_not_cancel_each_other() {
    // keepalived: one timer per lower-priority advert. Adverts 1 s apart
    // with a 2 s delay: each delayed round still comes.
    let conf = instance(
        "VI_1",
        51,
        100,
        "garp_lower_prio_repeat 2\ngarp_lower_prio_delay 2\ngarp_master_delay 30",
    );
    let mut h = master(&conf);
    let id = h.id("VI_1");
    h.run_for(ms(100));
    let acts = h.rx("VI_1", "10.0.0.9", 50);
    assert_eq!(garps(&acts, id), vec![2]);
    h.run_for(ms(1000));
    let acts = h.rx("VI_1", "10.0.0.9", 50);
    assert_eq!(garps(&acts, id), vec![2]);
    // 2 s after the first advert, then 2 s after the second.
    let acts = h.run_for(ms(1100));
    assert_eq!(garps(&acts, id), vec![2]);
    let acts = h.run_for(ms(1000));
    assert_eq!(garps(&acts, id), vec![2]);
    let acts = h.run_for(ms(3000));
    assert_eq!(garps(&acts, id), Vec::<u32>::new());
}

#[test]
fn master_lower_prio_no_advert() {
    let mut h = master(&instance("VI_1", 51, 100, "lower_prio_no_advert"));
    let id = h.id("VI_1");
    let before = h.m.next_deadline();
    h.run_for(ms(400));
    let acts = h.rx("VI_1", "10.0.0.9", 50);
    assert_eq!(sent(&acts, id), Vec::<u8>::new());
    // The advert timer is not restarted either.
    assert_eq!(h.m.next_deadline(), before);
}

#[test]
fn owner_conflict_drops_local_priority() {
    let conf = instance("VI_1", 51, 255, "").replace("state BACKUP", "state MASTER");
    let mut h = H::new(&conf);
    h.start();
    h.run_to(ms(1));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    let acts = h.rx("VI_1", "10.0.0.9", 255);
    assert_eq!(h.m.effective_priority(h.id("VI_1")), 254);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert!(
        reports(&acts)
            .iter()
            .any(|r| r.1 == VrrpState::Backup && r.2 == 254)
    );
}

#[test]
fn garp_refresh_while_master() {
    let conf = instance(
        "VI_1",
        51,
        100,
        "garp_master_refresh 2\ngarp_master_refresh_repeat 3\ngarp_master_delay 0",
    );
    let mut h = master(&conf);
    let id = h.id("VI_1");
    // Became master at 3.609375 s: refreshes at the first advert after
    // each 2 s.
    let acts = h.run_for(ms(6000));
    assert_eq!(garps(&acts, id), vec![3, 3]);
}

// ------------------------------------------------------------ restore

fn restored(state: VrrpState, holds_vips: bool) -> BTreeMap<String, InstanceRestore> {
    [(
        "VI_1".to_string(),
        InstanceRestore {
            state,
            holds_vips,
            ah_seq: 0,
        },
    )]
    .into_iter()
    .collect()
}

#[test]
fn restored_master_keeps_vips_and_adverts_at_once() {
    let conf = instance("VI_1", 51, 100, "notify_master /bin/true");
    let mut h = H::with_restore(&conf, &restored(VrrpState::Master, true));
    let id = h.id("VI_1");
    let mut acts = h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    // The first action of all: the advert.
    assert!(matches!(&acts[0], Action::SendAdvert { advert, .. } if advert.priority == 100));
    assert_eq!(h.m.next_deadline(), Some(h.t0 + ms(1000)));
    acts.extend(h.run_to(ms(10_000)));
    assert_eq!(removes(&acts, id), 0);
    assert_eq!(adds(&acts, id), 0);
    assert_eq!(garps(&acts, id), Vec::<u32>::new());
    assert!(h.notifies(&acts).is_empty());
    assert_eq!(sent(&acts, id).len(), 11);
    assert_eq!(
        reports(&acts),
        vec![("VI_1".to_string(), VrrpState::Master, 100, true)]
    );
}

#[test]
fn restored_master_without_vips_becomes_master_again() {
    let conf = instance("VI_1", 51, 100, "");
    let mut h = H::with_restore(&conf, &restored(VrrpState::Master, false));
    let id = h.id("VI_1");
    let mut acts = h.start();
    acts.extend(h.run_to(ms(100)));
    // Not holding its VIPs, it is not resumed: it starts as a backup.
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(removes(&acts, id), 0);
}

#[test]
fn restored_backup_resumes_with_fresh_timer() {
    let conf = instance("VI_1", 51, 100, "notify_backup /bin/true");
    let mut h = H::with_restore(&conf, &restored(VrrpState::Backup, false));
    let id = h.id("VI_1");
    let acts = h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert!(h.notifies(&acts).is_empty());
    assert_eq!(removes(&acts, id), 0);
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(3_609_375)));
}

#[test]
fn restored_master_with_interface_down_releases() {
    let conf = instance("VI_1", 51, 100, "");
    let mut h = H::with_restore(&conf, &restored(VrrpState::Master, true));
    let id = h.id("VI_1");
    h.m.interface_changed(h.now, "eth0", false);
    let mut acts = h.start();
    acts.extend(h.run_to(ms(100)));
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert_eq!(removes(&acts, id), 1);
}

#[test]
fn snapshot_round_trip_keeps_the_master() {
    let conf = instance("VI_1", 51, 100, "");
    let mut h = master(&conf);
    let snap = h.m.snapshot();
    assert_eq!(
        snap["VI_1"],
        InstanceRestore {
            state: VrrpState::Master,
            holds_vips: true,
            ah_seq: 0,
        }
    );
    let mut h2 = H::with_restore(&conf, &snap);
    let id = h2.id("VI_1");
    let acts = h2.start();
    assert_eq!(sent(&acts, id), vec![100]);
    assert_eq!(removes(&acts, id), 0);
    let _ = h.m.shutdown(h.now);
}

// ------------------------------------------------------------ faults

#[test]
fn adverts_in_fault_are_ignored() {
    let mut h = H::new(&instance("VI_1", 51, 100, ""));
    h.m.interface_changed(h.now, "eth0", false);
    h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert!(
        h.rx("VI_1", "10.0.0.9", 150)
            .iter()
            .all(|a| matches!(a, Action::Log { .. }))
    );
    assert_eq!(h.counters("VI_1").adverts_received, 0);
    assert_eq!(h.m.next_deadline(), None);
}

#[test]
fn no_source_address_is_a_fault() {
    let slice = load(&instance("VI_1", 51, 100, ""));
    let mut m = Machine::new(&slice, &[], &BTreeMap::new());
    let t = Instant::now();
    let acts = m.start(t);
    let id = InstanceId(0);
    assert_eq!(m.state(id), VrrpState::Fault);
    assert!(
        logs(&acts)
            .contains(&"(VI_1) entering FAULT state (no IPv4 address for interface)".to_string())
    );
    m.set_source_address(t, id, Some("10.0.0.5".parse().unwrap()));
    assert_eq!(m.state(id), VrrpState::Backup);
}

#[test]
fn ipv6_v3_instance_runs() {
    let conf = "vrrp_instance V6 {
  state BACKUP
  interface eth0
  virtual_router_id 60
  priority 100
  advert_int 1
  virtual_ipaddress {
    fe80::60/64
    fd00::60/64
  }
}
";
    let mut h = H::new(conf);
    let id = h.id("V6");
    assert_eq!(h.m.config(id).version, VrrpVersion::V3);
    h.start();
    h.run_to(ms(2000));
    h.rx("V6", "fe80::9", 150);
    assert_eq!(h.counters("V6").adverts_received, 1);
    let acts = h.run_to(ms(10_000));
    assert_eq!(h.state("V6"), VrrpState::Master);
    let a = first_advert(&acts);
    assert_eq!(a.addrs.len(), 2);
    assert_eq!(a.interval, 100);
    h.rx("V6", "fe80::9", 150);
    assert_eq!(h.state("V6"), VrrpState::Backup);
}

#[test]
fn master_advert_timer_ignores_invalid_packets() {
    let mut h = master(&instance("VI_1", 51, 100, ""));
    let id = h.id("VI_1");
    let next = h.m.next_deadline().unwrap();
    h.run_for(ms(500));
    let mut bad = h.advert("VI_1", 150);
    bad.addrs = vec!["10.9.9.9".parse().unwrap()];
    let acts = h.rx_advert("VI_1", "10.0.0.9", &bad);
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert!(sent(&acts, id).is_empty());
    assert_eq!(h.m.next_deadline(), Some(next));
    assert_eq!(drops(h.counters("VI_1"), DropReason::AddressList), 1);
}

#[test]
fn skip_check_adv_addr_checks_only_a_new_master() {
    let mut h = H::new(&instance("VI_1", 51, 100, "skip_check_adv_addr"));
    h.start();
    let good = h.advert("VI_1", 150);
    let mut odd = good.clone();
    odd.addrs = vec!["10.9.9.9".parse().unwrap()];
    // From an unknown master the addresses are checked...
    h.rx_advert("VI_1", "10.0.0.9", &odd);
    assert_eq!(drops(h.counters("VI_1"), DropReason::AddressList), 1);
    // ... then not, from the same master.
    h.rx_advert("VI_1", "10.0.0.9", &good);
    h.rx_advert("VI_1", "10.0.0.9", &odd);
    assert_eq!(drops(h.counters("VI_1"), DropReason::AddressList), 1);
    h.rx_advert("VI_1", "10.0.0.8", &odd);
    assert_eq!(drops(h.counters("VI_1"), DropReason::AddressList), 2);
}

#[test]
fn zero_v3_interval_does_not_spin() {
    // Found by fuzzing: a v3 master announcing interval 0 made the
    // master down timer 0 and a blocked sync member re-armed it at 0.
    let mut h = H::new(&instance("VI_1", 51, 100, "version 3"));
    h.start();
    let mut a = h.advert("VI_1", 200);
    a.interval = 0;
    h.rx_advert("VI_1", "10.0.0.9", &a);
    // 3 * 10 ms + (256-100) * 10 ms / 256.
    assert_eq!(h.m.next_deadline(), Some(h.now + us(36_093)));
}

#[test]
fn ipv6_unicast_packet_on_multicast_instance_is_discarded_silently() {
    let conf = "vrrp_instance V6 {
  state BACKUP
  interface eth0
  virtual_router_id 60
  priority 100
  advert_int 1
  virtual_ipaddress {
    fd00::60/64
  }
}
";
    let mut h = H::new(conf);
    h.start();
    let a = h.advert("V6", 150);
    let src: std::net::Ipv6Addr = "fe80::9".parse().unwrap();
    let dst: std::net::Ipv6Addr = "fe80::5".parse().unwrap();
    let msg = a.encode(IpAddr::V6(src), IpAddr::V6(dst));
    let id = h.id("V6");
    let acts =
        h.m.receive(h.now, id, &msg, &RxMeta::ipv6(src, dst, Some(255)));
    assert!(acts.is_empty());
    assert_eq!(h.counters("V6"), &VrrpCounters::default());
}

#[test]
fn garp_extra_if_at_the_first_advert_after_each_interval_while_master() {
    let conf = instance("VI_1", 51, 100, "garp_extra_if all 2\ngarp_master_delay 0");
    let mut h = master(&conf);
    let id = h.id("VI_1");
    let extra = |acts: &[Action]| {
        acts.iter()
            .filter(|a| matches!(a, Action::SendExtraGarp { instance } if *instance == id))
            .count()
    };
    // Became master at 3.609375 s: due after 5.609375, so at the adverts
    // of 6.609375 and 9.609375 (keepalived's `timercmp(now, timer, >)`).
    let acts = h.run_for(ms(6000));
    assert_eq!(extra(&acts), 2);
    // Not while BACKUP.
    let mut acts = h.rx("VI_1", "10.0.0.9", 200);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    acts.extend(h.run_for(ms(6000)));
    assert_eq!(extra(&acts), 0);
}
