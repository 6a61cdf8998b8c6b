//! Fuzz VRRP packet decoding and keepalived's receive checks with arbitrary
//! bytes: they must never panic, and whatever decodes must re-encode to
//! something that decodes to the same advert.
//!
//! The first byte picks the family: even = an IPv4 datagram as a raw socket
//! returns it (IP header first), odd = an IPv6 VRRP message.
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
            for e in expects(Family::Ipv4, &vips, &peers) {
                let _ = packet::check(p.vrrp, &meta, &e);
            }
            if let Ok(a) = Advert::decode(p.vrrp, Family::Ipv4) {
                roundtrip(&a, Family::Ipv4, meta.src, meta.dst);
                let d = a.encode_ipv4(p.src, p.dst, p.ttl, 7);
                let q = packet::parse_ipv4(&d).expect("encoded datagram parses");
                assert_eq!(q.vrrp.len() + 20, d.len());
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
