//! Fuzz VRRP packet decoding and keepalived's receive checks with arbitrary
//! bytes: they must never panic, and whatever decodes must re-encode to
//! something that decodes to the same advert.
//!
//! The first byte picks the family: even = an IPv4 datagram as a raw socket
//! returns it (IP header first), odd = an IPv6 VRRP message. IPv4 datagrams
//! with protocol 51 go through the AH path (ICV, SPI, sequence number), and
//! every decoded IPv4 advert is re-encoded with AH, which must verify.
#![no_main]

use config::model::global::VrrpVersion;
use config::model::vrrp::{Family, UnicastPeer};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use vrrp_worker::packet::{self, Advert, Expect, RxMeta};

fn expects<'a>(family: Family, vips: &'a [IpAddr], peers: &'a [UnicastPeer]) -> Vec<Expect<'a>> {
    let mut v = Vec::new();
    for version in [VrrpVersion::V2, VrrpVersion::V3] {
        for auth_type in [packet::AUTH_NONE, packet::AUTH_PASS, packet::AUTH_AH] {
            for (check_addrs, unicast_peers) in [(true, &[][..]), (false, peers)] {
                v.push(Expect {
                    family,
                    version,
                    auth_type,
                    password: packet::password_bytes(b"secret"),
                    adver_int: Duration::from_secs(1),
                    vips,
                    check_addrs,
                    unicast_peers,
                    check_unicast_src: true,
                    ah_seq: 0,
                });
            }
        }
    }
    v
}

fn roundtrip(a: &Advert, family: Family, src: IpAddr, dst: IpAddr) {
    let bytes = a.encode(src, dst);
    let b = Advert::decode(&bytes, family).expect("re-encoded advert decodes");
    let mut a2 = a.clone();
    a2.checksum = b.checksum;
    assert_eq!(a2, b);
    assert!(packet::checksum_ok(&bytes, a.version, src, dst));
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let _ = packet::peek(bytes);
    if sel % 2 == 0 {
        let vips = [IpAddr::V4(Ipv4Addr::new(10, 200, 0, 100))];
        let peers = [UnicastPeer {
            addr: IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1)),
            min_ttl: 0,
            max_ttl: 255,
        }];
        if let Ok(p) = packet::parse_ipv4(bytes) {
            let meta = RxMeta::from_ipv4(&p);
            for mut e in expects(Family::Ipv4, &vips, &peers) {
                let (r, seq) = packet::check_counting(p.vrrp, &meta, &e);
                // A sequence number is only taken from an AH datagram
                // whose ICV verified, and it is then above the counter.
                if let Some(s) = seq {
                    assert!(p.ah.is_some() && s > e.ah_seq);
                    e.ah_seq = s;
                    let (r2, seq2) = packet::check_counting(p.vrrp, &meta, &e);
                    assert_eq!(seq2, None);
                    assert!(matches!(r2, Err(packet::Reject::AhSequence { .. })));
                }
                let _ = r;
                if let Some(ah) = &p.ah {
                    let _ = packet::ah_icv_ok(ah, p.vrrp, &e.password, sel & 2 == 0);
                }
            }
            if let Ok(a) = Advert::decode(p.vrrp, Family::Ipv4) {
                roundtrip(&a, Family::Ipv4, meta.src, meta.dst);
                let d = a.encode_ipv4(p.src, p.dst, p.ttl, 7);
                let q = packet::parse_ipv4(&d).expect("encoded datagram parses");
                assert_eq!(q.vrrp.len() + 20, d.len());
                // The same advert with AH: it parses, and its ICV verifies
                // with the key it was made with and not with another.
                let key = packet::password_bytes(b"secret12");
                let unicast = sel & 2 != 0;
                let seq = u32::from(sel);
                let d = a.encode_ipv4_ah(p.src, p.dst, p.ttl, 7, seq, &key, unicast);
                let q = packet::parse_ipv4(&d).expect("encoded AH datagram parses");
                let ah = q.ah.expect("an AH header");
                assert_eq!((ah.seq(), ah.spi()), (seq, p.src.octets()));
                assert!(packet::ah_icv_ok(&ah, q.vrrp, &key, unicast));
                let other = packet::password_bytes(b"secret13");
                assert!(!packet::ah_icv_ok(&ah, q.vrrp, &other, unicast));
            }
        }
        let _ = Advert::decode(bytes, Family::Ipv4);
    } else {
        let vips = [IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x100))];
        let peers = [UnicastPeer {
            addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
            min_ttl: 0,
            max_ttl: 255,
        }];
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
        let meta = RxMeta::ipv6(src, dst, Some(sel));
        for e in expects(Family::Ipv6, &vips, &peers) {
            let _ = packet::check(bytes, &meta, &e);
        }
        if let Ok(a) = Advert::decode(bytes, Family::Ipv6) {
            roundtrip(&a, Family::Ipv6, IpAddr::V6(src), IpAddr::V6(dst));
        }
    }
});
