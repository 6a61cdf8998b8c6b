//! Tracking: scripts (rise/fall, weights, reverse, weight 0), interfaces,
//! files, processes, priority clamping, FAULT in and out.

use super::*;

fn script(name: &str, body: &str) -> String {
    format!("vrrp_script {name} {{\n  script \"/bin/true\"\n  interval 2\n  {body}\n}}\n")
}

/// A machine with one script `chk` and VI_1 tracking it.
fn with_script(script_body: &str, track: &str, prio: u8) -> H {
    let conf = format!(
        "{}{}",
        script("chk", script_body),
        instance(
            "VI_1",
            51,
            prio,
            &format!("track_script {{\n  {track}\n}}\nnotify /bin/true"),
        )
    );
    H::new(&conf)
}

fn prio(h: &H) -> u8 {
    h.m.effective_priority(h.id("VI_1"))
}

#[test]
fn scripts_run_at_start_and_every_interval() {
    let mut h = with_script("weight 20", "chk", 100);
    let acts = h.start();
    assert!(h.track_runs(&acts).is_empty());
    let acts = h.run_to(Duration::ZERO);
    assert_eq!(h.track_runs(&acts).len(), 1);
    h.answer(&acts, 0);
    let acts = h.run_to(ms(1999));
    assert!(h.track_runs(&acts).is_empty());
    let acts = h.run_to(ms(2000));
    assert_eq!(h.track_runs(&acts).len(), 1);
    // Still running at the next interval: skipped.
    let acts = h.run_to(ms(4000));
    assert!(h.track_runs(&acts).is_empty());
    assert!(
        logs(&acts)
            .iter()
            .any(|l| l.contains("chk is already running"))
    );
}

#[test]
fn positive_weight_is_a_bonus_while_up() {
    let mut h = with_script("weight 20", "chk", 100);
    h.start();
    assert_eq!(prio(&h), 100);
    let acts = h.run_to(Duration::ZERO);
    let out = h.answer(&acts, 0);
    assert_eq!(prio(&h), 120);
    assert!(
        reports(&out)
            .iter()
            .any(|r| r.2 == 120 && r.1 == VrrpState::Backup)
    );
    assert!(logs(&out).contains(&"(VI_1) Changing effective priority from 100 to 120".to_string()));
    // The master down timer follows the new priority.
    assert_eq!(h.m.next_deadline(), Some(h.t0 + ms(2000)));
    let acts = h.run_to(ms(2000));
    h.answer(&acts, 1);
    assert_eq!(prio(&h), 100);
    assert_eq!(h.m.next_deadline(), Some(h.t0 + us(3_609_375)));
}

#[test]
fn negative_weight_is_a_penalty_while_down() {
    let mut h = with_script("weight -30", "chk", 100);
    h.start();
    let acts = h.run_to(Duration::ZERO);
    h.answer(&acts, 0);
    assert_eq!(prio(&h), 100);
    let acts = h.run_to(ms(2000));
    h.answer(&acts, 2);
    assert_eq!(prio(&h), 70);
}

#[test]
fn reverse_weights() {
    let mut h = with_script("weight 20", "chk weight 20 reverse", 100);
    h.start();
    let acts = h.run_to(Duration::ZERO);
    h.answer(&acts, 0);
    assert_eq!(prio(&h), 80);
    let acts = h.run_to(ms(2000));
    h.answer(&acts, 1);
    assert_eq!(prio(&h), 100);

    let mut h = with_script("weight -20 reverse", "chk", 100);
    h.start();
    let acts = h.run_to(Duration::ZERO);
    h.answer(&acts, 1);
    assert_eq!(prio(&h), 120);
}

#[test]
fn priority_is_clamped_to_1_and_254() {
    let mut h = with_script("weight 100", "chk", 200);
    h.start();
    let acts = h.run_to(Duration::ZERO);
    h.answer(&acts, 0);
    assert_eq!(prio(&h), 254);

    let mut h = with_script("weight -100", "chk", 50);
    h.start();
    let acts = h.run_to(Duration::ZERO);
    h.answer(&acts, 1);
    assert_eq!(prio(&h), 1);
}

#[test]
fn rise_and_fall_count_results() {
    let mut h = with_script("weight -10\n  rise 2\n  fall 3", "chk", 100);
    h.start();
    // One success is enough from the initial state.
    let acts = h.run_to(Duration::ZERO);
    h.answer(&acts, 0);
    // Three failures to go down.
    for (i, t) in [2000u64, 4000, 6000].into_iter().enumerate() {
        assert_eq!(prio(&h), 100, "after {i} failures");
        let acts = h.run_to(ms(t));
        h.answer(&acts, 1);
    }
    assert_eq!(prio(&h), 90);
    // Two successes to come back.
    let acts = h.run_to(ms(8000));
    h.answer(&acts, 0);
    assert_eq!(prio(&h), 90);
    let acts = h.run_to(ms(10_000));
    h.answer(&acts, 0);
    assert_eq!(prio(&h), 100);
}

#[test]
fn init_fail_starts_down() {
    let mut h = with_script("weight -10\n  init_fail", "chk", 100);
    h.start();
    assert_eq!(prio(&h), 90);
    let acts = h.run_to(Duration::ZERO);
    h.answer(&acts, 0);
    assert_eq!(prio(&h), 100);
}

#[test]
fn timed_out_and_killed_scripts_fail_refused_ones_do_nothing() {
    let mut h = with_script("weight -10", "chk", 100);
    h.start();
    let acts = h.run_to(Duration::ZERO);
    let (r, _) = h.track_runs(&acts)[0].clone();
    h.m.script_done(
        h.now,
        r,
        &ScriptOutcome::Refused {
            reason: "insecure".into(),
        },
    );
    assert_eq!(prio(&h), 100);
    let acts = h.run_to(ms(2000));
    let (r, _) = h.track_runs(&acts)[0].clone();
    h.m.script_done(h.now, r, &ScriptOutcome::TimedOut);
    assert_eq!(prio(&h), 90);
    let acts = h.run_to(ms(4000));
    let (r, _) = h.track_runs(&acts)[0].clone();
    h.m.script_done(h.now, r, &ScriptOutcome::Exited { code: 0 });
    assert_eq!(prio(&h), 100);
    let acts = h.run_to(ms(6000));
    let (r, _) = h.track_runs(&acts)[0].clone();
    h.m.script_done(h.now, r, &ScriptOutcome::Signaled { signal: 9 });
    assert_eq!(prio(&h), 90);
    // An unknown request changes nothing.
    h.m.script_done(h.now, 9999, &ScriptOutcome::Exited { code: 0 });
    assert_eq!(prio(&h), 90);
}

#[test]
fn weight_zero_script_holds_the_instance_until_its_first_result() {
    let conf = format!(
        "{}{}",
        script("chk", "weight 0"),
        instance(
            "VI_1",
            51,
            100,
            "track_script {\n  chk\n}\nnotify_backup /bin/true\nnotify_fault /bin/true",
        )
    );
    // Success: BACKUP.
    let mut h = H::new(&conf);
    let acts = h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert!(h.notifies(&acts).is_empty());
    assert_eq!(h.m.next_deadline(), Some(h.t0));
    let acts = h.run_to(Duration::ZERO);
    let out = h.answer(&acts, 0);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(
        h.notifies(&out),
        vec![("VI_1".to_string(), NotifyEvent::Backup)]
    );
    assert_eq!(h.m.next_deadline(), Some(h.t0 + ms(2000)));
    // Failure later: FAULT.
    let acts = h.run_to(ms(2000));
    let out = h.answer(&acts, 1);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert_eq!(
        h.notifies(&out),
        vec![("VI_1".to_string(), NotifyEvent::Fault)]
    );

    // First result a failure: FAULT with its notify.
    let mut h = H::new(&conf);
    h.start();
    let acts = h.run_to(Duration::ZERO);
    let out = h.answer(&acts, 1);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert_eq!(
        h.notifies(&out),
        vec![("VI_1".to_string(), NotifyEvent::Fault)]
    );
}

#[test]
fn interface_down_faults_a_master_and_up_recovers() {
    let mut h = H::new(&instance(
        "VI_1",
        51,
        100,
        "notify_fault /bin/true\nnotify_backup /bin/true",
    ));
    let id = h.id("VI_1");
    h.start();
    h.run_to(ms(4000));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    let acts = h.m.interface_changed(h.now, "eth0", false);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    // keepalived sends priority 0 from leave_master and again from
    // restore_interface.
    assert_eq!(sent(&acts, id), vec![0, 0]);
    assert_eq!(removes(&acts, id), 1);
    assert_eq!(
        h.notifies(&acts),
        vec![("VI_1".to_string(), NotifyEvent::Fault)]
    );
    assert_eq!(h.m.next_deadline(), None);
    // Repeated news changes nothing.
    assert!(h.m.interface_changed(h.now, "eth0", false).is_empty());
    let acts = h.m.interface_changed(h.now, "eth0", true);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(
        h.notifies(&acts),
        vec![("VI_1".to_string(), NotifyEvent::Backup)]
    );
    assert_eq!(h.m.next_deadline(), Some(h.now + us(3_609_375)));
}

#[test]
fn dont_track_primary_ignores_the_own_interface() {
    let mut h = H::new(&instance("VI_1", 51, 100, "dont_track_primary"));
    h.start();
    h.m.interface_changed(h.now, "eth0", false);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
}

#[test]
fn tracked_interfaces_weighted_and_not() {
    let mut h = H::new(&instance(
        "VI_1",
        51,
        100,
        "track_interface {\n  eth1 weight -50\n  eth2\n  eth3 weight 10\n}",
    ));
    h.start();
    assert_eq!(prio(&h), 110);
    h.m.interface_changed(h.now, "eth1", false);
    assert_eq!(prio(&h), 60);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    h.m.interface_changed(h.now, "eth3", false);
    assert_eq!(prio(&h), 50);
    h.m.interface_changed(h.now, "eth2", false);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    h.m.interface_changed(h.now, "eth2", true);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
}

#[test]
fn vip_on_another_interface_is_tracked_unless_no_track() {
    let conf = "vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.0.51.100/24
    10.1.0.100/24 dev eth1
    10.2.0.100/24 dev eth2 no_track
  }
}
";
    let mut h = H::new(conf);
    h.start();
    h.m.interface_changed(h.now, "eth2", false);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    h.m.interface_changed(h.now, "eth1", false);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
}

#[test]
fn track_files() {
    let conf = format!(
        "track_file tf {{\n  file /tmp/x\n  weight 5\n}}\n{}",
        instance("VI_1", 51, 100, "track_file {\n  tf\n}")
    );
    let mut h = H::new(&conf);
    h.start();
    assert_eq!(prio(&h), 100);
    h.m.track_file_value(h.now, "tf", 3);
    assert_eq!(prio(&h), 115);
    h.m.track_file_value(h.now, "tf", -10);
    assert_eq!(prio(&h), 50);
    // 5 * -60 = -300 <= -254: FAULT.
    h.m.track_file_value(h.now, "tf", -60);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    h.m.track_file_value(h.now, "tf", 0);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    // Large values are capped at +253.
    h.m.track_file_value(h.now, "tf", 1000);
    assert_eq!(prio(&h), 254);
}

#[test]
fn track_file_weight_zero_faults_on_non_zero() {
    let conf = format!(
        "track_file tf {{\n  file /tmp/x\n  weight 0\n}}\n{}",
        instance("VI_1", 51, 100, "track_file {\n  tf\n}")
    );
    let mut h = H::new(&conf);
    h.start();
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    h.m.track_file_value(h.now, "tf", 1);
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
}

#[test]
fn track_process_quorum() {
    let conf = format!(
        "vrrp_track_process haproxy {{\n  process haproxy\n  quorum 2\n  quorum_max 3\n  weight 10\n}}\n{}",
        instance("VI_1", 51, 100, "track_process {\n  haproxy\n}")
    );
    let mut h = H::new(&conf);
    h.start();
    assert_eq!(prio(&h), 100);
    h.m.track_process_count(h.now, "haproxy", 1);
    assert_eq!(prio(&h), 100);
    let acts = h.m.track_process_count(h.now, "haproxy", 2);
    assert_eq!(prio(&h), 110);
    assert!(logs(&acts).contains(&"Quorum gained for tracked process haproxy".to_string()));
    h.m.track_process_count(h.now, "haproxy", 3);
    assert_eq!(prio(&h), 110);
    h.m.track_process_count(h.now, "haproxy", 4);
    assert_eq!(prio(&h), 100);
}

#[test]
fn priority_change_of_a_master_goes_into_its_adverts() {
    let mut h = H::new(&instance(
        "VI_1",
        51,
        100,
        "track_interface {\n  eth1 weight -30\n}",
    ));
    let id = h.id("VI_1");
    h.start();
    h.run_to(ms(4000));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
    h.m.interface_changed(h.now, "eth1", false);
    let acts = h.run_for(ms(1000));
    assert_eq!(sent(&acts, id), vec![70]);
    // A backup with 90 now takes over.
    let acts = h.rx("VI_1", "10.0.0.9", 90);
    assert_eq!(h.state("VI_1"), VrrpState::Backup);
    assert_eq!(removes(&acts, id), 1);
}

#[test]
fn unicast_fault_no_peer_without_peers_is_fault_and_silent() {
    let mut h = H::new(&instance("VI_1", 51, 100, "unicast_fault_no_peer"));
    let id = h.id("VI_1");
    let mut acts = h.start();
    acts.extend(h.run_to(ms(10_000)));
    assert_eq!(h.state("VI_1"), VrrpState::Fault);
    assert!(sent(&acts, id).is_empty());
    assert_eq!(adds(&acts, id), 0);
    // An empty unicast_peer block without it: multicast as usual.
    let mut h = H::new(&instance("VI_1", 51, 100, "unicast_peer {\n}"));
    let mut acts = h.start();
    acts.extend(h.run_to(ms(10_000)));
    assert_eq!(h.state("VI_1"), VrrpState::Master);
}
