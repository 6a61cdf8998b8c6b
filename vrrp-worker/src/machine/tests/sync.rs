//! Sync groups (keepalived's vrrp_sync.c).

use super::*;

fn group_conf(p1: u8, p2: u8, extra1: &str, group_extra: &str) -> String {
    format!(
        "vrrp_sync_group G {{
  group {{
    VI_1
    VI_2
  }}
  notify_master /bin/true
  notify_backup /bin/true
  notify_fault /bin/true
  {group_extra}
}}
{}{}",
        instance("VI_1", 51, p1, extra1),
        instance("VI_2", 52, p2, "")
    )
}

fn group_events(h: &H, acts: &[Action]) -> Vec<NotifyEvent> {
    h.notifies(acts)
        .into_iter()
        .filter(|(n, _)| n == "group:G")
        .map(|(_, e)| e)
        .collect()
}

#[test]
fn group_starts_backup_and_goes_master_together() {
    let mut h = H::new(&group_conf(100, 150, "", ""));
    let (i1, i2) = (h.id("VI_1"), h.id("VI_2"));
    let acts = h.start();
    assert_eq!(group_events(&h, &acts), vec![NotifyEvent::Backup]);
    // VI_2 (150) times out first at 3.4140625 s but waits: VI_1 still
    // wants BACKUP.
    let acts = h.run_to(us(3_414_063));
    assert_eq!(h.state("VI_2"), VrrpState::Backup);
    assert!(sent(&acts, i2).is_empty());
    // VI_1 times out at 3.609375 s: both want MASTER, both go.
    let acts = h.run_to(us(3_609_375));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(h.state("VI_2"), VrrpState::Master);
    assert_eq!(sent(&acts, i1), vec![100]);
    assert_eq!(sent(&acts, i2), vec![150]);
    assert_eq!(adds(&acts, i1) + adds(&acts, i2), 2);
    assert_eq!(group_events(&h, &acts), vec![NotifyEvent::Master]);
    assert!(logs(&acts).contains(&"VRRP_Group(G) Syncing instances to MASTER state".to_string()));
}

#[test]
fn a_member_hearing_its_master_keeps_the_group_backup() {
    let mut h = H::new(&group_conf(100, 150, "", ""));
    h.start();
    // VI_1's master is alive; VI_2's is not.
    for s in 1..=10u64 {
        h.run_to(ms(s * 1000));
        h.rx("VI_1", "10.0.0.9", 200);
    }
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(h.state("VI_2"), VrrpState::Backup);
}

#[test]
fn master_member_yielding_takes_the_group_to_backup() {
    let mut h = H::new(&group_conf(100, 150, "", ""));
    let (i1, i2) = (h.id("VI_1"), h.id("VI_2"));
    h.start();
    h.run_to(ms(4000));
    assert_eq!(h.state("VI_2"), VrrpState::Master);
    let acts = h.rx("VI_1", "10.0.0.9", 200);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(h.state("VI_2"), VrrpState::Backup);
    assert_eq!(removes(&acts, i1), 1);
    assert_eq!(removes(&acts, i2), 1);
    // Going BACKUP with the group sends no priority 0.
    assert!(sent(&acts, i2).is_empty());
    assert_eq!(group_events(&h, &acts), vec![NotifyEvent::Backup]);
}

#[test]
fn a_faulty_member_faults_the_group_and_recovery_brings_it_back() {
    let conf = group_conf(
        100,
        150,
        "track_interface {\n  eth1\n}\nnotify_fault /bin/true",
        "",
    );
    let mut h = H::new(&conf);
    let (i1, i2) = (h.id("VI_1"), h.id("VI_2"));
    h.start();
    h.run_to(ms(4000));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    let acts = h.m.interface_changed(h.now, "eth1", false);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert_eq!(h.state("VI_2"), VrrpState::Fault);
    // The faulty one: priority 0 twice; the synced one: once.
    assert_eq!(sent(&acts, i1), vec![0, 0]);
    assert_eq!(sent(&acts, i2), vec![0]);
    assert_eq!(removes(&acts, i1), 1);
    assert_eq!(removes(&acts, i2), 1);
    assert_eq!(group_events(&h, &acts), vec![NotifyEvent::Fault]);
    assert!(
        h.notifies(&acts)
            .contains(&("VI_1".to_string(), NotifyEvent::Fault))
    );
    let acts = h.m.interface_changed(h.now, "eth1", true);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(h.state("VI_2"), VrrpState::Backup);
    assert_eq!(group_events(&h, &acts), vec![NotifyEvent::Backup]);
    // And they become master again together.
    h.run_for(ms(4000));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(h.state("VI_2"), VrrpState::Master);
}

#[test]
fn a_member_faulty_at_start_holds_the_group_in_fault() {
    let conf = group_conf(100, 150, "track_interface {\n  eth1\n}", "");
    let mut h = H::new(&conf);
    h.m.interface_changed(h.now, "eth1", false);
    let acts = h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert_eq!(h.state("VI_2"), VrrpState::Fault);
    assert_eq!(group_events(&h, &acts), vec![NotifyEvent::Fault]);
    h.run_to(ms(10_000));
    assert_eq!(h.state("VI_2"), VrrpState::Fault);
    h.m.interface_changed(h.now, "eth1", true);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(h.state("VI_2"), VrrpState::Backup);
}

#[test]
fn group_tracking_applies_to_every_member() {
    let conf = group_conf(100, 150, "", "track_interface {\n  eth3\n}");
    let mut h = H::new(&conf);
    h.start();
    h.m.interface_changed(h.now, "eth3", false);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert_eq!(h.state("VI_2"), VrrpState::Fault);
}

#[test]
fn lower_priority_advert_garps_every_member_that_asks() {
    let conf = format!(
        "vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n}}\n{}{}",
        instance("VI_1", 51, 100, "garp_lower_prio_repeat 1"),
        instance("VI_2", 52, 100, "garp_lower_prio_repeat 2")
    );
    let mut h = H::new(&conf);
    let (i1, i2) = (h.id("VI_1"), h.id("VI_2"));
    h.start();
    h.run_to(ms(4000));
    let acts = h.rx("VI_1", "10.0.0.9", 50);
    assert_eq!(garps(&acts, i1), vec![1]);
    assert_eq!(garps(&acts, i2), vec![2]);
}

#[test]
fn restored_group_resumes_master_without_notifies() {
    let conf = group_conf(100, 150, "", "");
    let restored: BTreeMap<String, InstanceRestore> = ["VI_1", "VI_2"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                InstanceRestore {
                    state: VrrpState::Master,
                    holds_vips: true,
                    ah_seq: 0,
                },
            )
        })
        .collect();
    let mut h = H::with_restore(&conf, &restored);
    let (i1, i2) = (h.id("VI_1"), h.id("VI_2"));
    let mut acts = h.start();
    assert_eq!(sent(&acts, i1), vec![100]);
    assert_eq!(sent(&acts, i2), vec![150]);
    acts.extend(h.run_to(ms(5000)));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(h.state("VI_2"), VrrpState::Master);
    assert!(h.notifies(&acts).is_empty());
    assert_eq!(removes(&acts, i1) + removes(&acts, i2), 0);
}

#[test]
fn owners_group_starts_master() {
    let conf = group_conf(255, 255, "", "").replace("state BACKUP", "state MASTER");
    let mut h = H::new(&conf);
    let mut acts = h.start();
    acts.extend(h.run_to(us(1)));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(h.state("VI_2"), VrrpState::Master);
}

#[test]
fn state_master_members_start_like_backups() {
    // Measured with keepalived 2.2.7 (tests/data/sync-start.sh): both
    // MASTER after ~3.7 s with `state MASTER` as with `state BACKUP`; VI_1
    // enters MASTER first and syncs VI_2.
    let conf = group_conf(100, 150, "", "").replace("state BACKUP", "state MASTER");
    let mut h = H::new(&conf);
    h.start();
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(3_414_062)));
    let acts = h.run_to(us(3_609_374));
    assert_eq!(h.state("VI_2"), VrrpState::Backup);
    assert!(acts.iter().all(|a| !matches!(a, Action::SendAdvert { .. })));
    let acts = h.run_to(us(3_609_375));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    assert_eq!(h.state("VI_2"), VrrpState::Master);
    let l = logs(&acts);
    let pos = |m: &str| l.iter().position(|x| x == m).unwrap();
    assert!(
        pos("(VI_1) Entering MASTER STATE")
            < pos("VRRP_Group(G) Syncing instances to MASTER state")
    );
    assert!(
        pos("VRRP_Group(G) Syncing instances to MASTER state")
            < pos("(VI_2) Entering MASTER STATE")
    );
}
