//! `auth_type AH`: sequence numbers and IP ids of what is sent, what is
//! accepted and dropped, as keepalived 2.2.7's `ipsecah_counter`.

use super::*;
use crate::packet::{self, AUTH_AH};

fn conf(prio: u8) -> String {
    instance(
        "VI",
        51,
        prio,
        "authentication {\n    auth_type AH\n    auth_pass secret12\n  }",
    )
}

/// The (AH sequence number, IP id) of each advert sent.
fn ah_sent(acts: &[Action]) -> Vec<(u32, u16)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::SendAdvert { ah, .. } => Some(ah.map(|x| (x.seq, x.ip_id)).expect("AH fields")),
            _ => None,
        })
        .collect()
}

impl H {
    /// Deliver an AH advert with priority `prio` and sequence number `seq`
    /// from `from`, signed with `password`.
    fn rx_ah(&mut self, from: Ipv4Addr, prio: u8, seq: u32, password: &[u8]) -> Vec<Action> {
        let a = self.advert("VI", prio);
        assert_eq!(a.auth_type, AUTH_AH);
        let d = a.encode_ipv4_ah(
            from,
            Ipv4Addr::new(224, 0, 0, 18),
            255,
            seq as u16,
            seq,
            &packet::password_bytes(password),
            false,
        );
        let p = packet::parse_ipv4(&d).unwrap();
        let id = self.id("VI");
        self.m.receive(self.now, id, p.vrrp, &RxMeta::from_ipv4(&p))
    }
}

#[test]
fn a_lone_instance_counts_from_one() {
    let mut h = H::new(&conf(100));
    h.start();
    let acts = h.run_for(ms(6_100));
    assert_eq!(h.state("VI"), VrrpState::Master);
    // Master after 3 s + skew, then one advert a second.
    assert_eq!(ah_sent(&acts), vec![(1, 1), (2, 2), (3, 3)]);
    // The message carries auth type 2 and no password.
    let a = first_advert(&acts);
    assert_eq!((a.auth_type, a.auth_data), (AUTH_AH, [0; 8]));
}

#[test]
fn a_backup_takes_over_from_the_last_number_it_accepted() {
    let master = Ipv4Addr::new(10, 0, 0, 9);
    let mut h = H::new(&conf(100));
    h.start();
    for seq in 40..43 {
        h.run_for(ms(1000));
        let acts = h.rx_ah(master, 200, seq, b"secret12");
        assert!(logs(&acts).is_empty(), "{:?}", logs(&acts));
    }
    assert_eq!(h.state("VI"), VrrpState::Backup);
    assert_eq!(h.counters("VI").adverts_received, 3);
    assert_eq!(h.m.ah_counter(h.id("VI")).seq, 42);
    // A replay, a wrong password and an old number: dropped, counted as
    // authentication failures, with keepalived's words.
    let l = logs(&h.rx_ah(master, 200, 42, b"secret12"));
    assert_eq!(
        l,
        vec!["(VI) IPSEC-AH : sequence number 42 already processed. Packet dropped. Local(42)"]
    );
    let l = logs(&h.rx_ah(master, 200, 43, b"wrong"));
    assert_eq!(
        l,
        vec![
            "(VI) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
        ]
    );
    h.rx_ah(master, 200, 7, b"secret12");
    let c = h.counters("VI");
    assert_eq!(c.adverts_received, 3);
    assert_eq!(c.drops.get(&DropReason::AuthFailure), Some(&3));
    // A plain advert: no AH header.
    let l = logs(&h.rx("VI", "10.0.0.9", 200));
    assert_eq!(l, vec!["(VI) No AH header but auth type is AH"]);
    assert_eq!(
        h.counters("VI").drops.get(&DropReason::AuthTypeMismatch),
        Some(&1)
    );
    // The master goes silent: the backup takes over, numbering on from 42.
    let acts = h.run_for(ms(5_000));
    assert_eq!(h.state("VI"), VrrpState::Master);
    assert_eq!(ah_sent(&acts), vec![(43, 1), (44, 2)]);
}

#[test]
fn a_master_hearing_a_lower_priority_syncs_its_number() {
    let mut h = H::new(&conf(150));
    h.start();
    h.run_for(ms(3_700));
    assert_eq!(h.state("VI"), VrrpState::Master);
    let acts = h.rx_ah(Ipv4Addr::new(10, 0, 0, 9), 100, 50, b"secret12");
    assert!(
        logs(&acts).contains(&"(VI) IPSEC-AH : Syncing seq_num - Increment seq".to_string()),
        "{:?}",
        logs(&acts)
    );
    // 50 + 1, then incremented for the advert that answers at once.
    assert_eq!(ah_sent(&acts), vec![(52, 2)]);
    assert_eq!(h.state("VI"), VrrpState::Master);
    // A higher priority: it yields.
    h.rx_ah(Ipv4Addr::new(10, 0, 0, 9), 200, 60, b"secret12");
    assert_eq!(h.state("VI"), VrrpState::Backup);
    assert_eq!(h.m.ah_counter(h.id("VI")).seq, 60);
}

#[test]
fn a_reload_goes_on_numbering() {
    let mut h = H::new(&conf(100));
    h.start();
    let acts = h.run_for(ms(5_100));
    assert_eq!(ah_sent(&acts), vec![(1, 1), (2, 2)]);
    let snap = h.m.snapshot();
    let slice = load(&conf(100));
    assert_eq!(snap["VI"].ah_seq, 2);
    let mut m = Machine::new(&slice, &table(&slice), &snap);
    let id = m.instance_id("VI").unwrap();
    let _ = m.set_source_address(h.now, id, Some(IpAddr::V4(OUR_ADDR)));
    // The restored MASTER's first advert: the next number, IP id 1.
    let acts = m.start(h.now);
    assert_eq!(ah_sent(&acts), vec![(3, 1)]);
    // Another password or no AH: nothing to take.
    let other = load(&instance("VI", 51, 100, ""));
    let m2 = Machine::new(&other, &table(&other), &snap);
    assert_eq!(
        m2.ah_counter(m2.instance_id("VI").unwrap()),
        packet::AhCounter::default()
    );
}
