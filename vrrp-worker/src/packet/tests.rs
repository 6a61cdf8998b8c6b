use super::*;
use config::model::vrrp::UnicastPeer;
use std::str::FromStr;

/// The adverts keepalived 2.2.7 sent (tests/data/capture.sh).
const CAPTURE: &str = include_str!("../../tests/data/keepalived-2.2.7-adverts.txt");

struct Captured {
    family: Family,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    bytes: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn captured() -> Vec<Captured> {
    CAPTURE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Captured {
                family: if f[0] == "v4" {
                    Family::Ipv4
                } else {
                    Family::Ipv6
                },
                src: IpAddr::from_str(f[1]).unwrap(),
                dst: IpAddr::from_str(f[2]).unwrap(),
                ttl: f[3].parse().unwrap(),
                bytes: hex(f[4]),
            }
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    IpAddr::from_str(s).unwrap()
}

/// The configuration of capture.sh's instances, by VRID.
fn expect_for(vrid: u8) -> (Expect<'static>, VrrpVersion) {
    static V2PASS: [IpAddr; 2] = [
        IpAddr::V4(Ipv4Addr::new(10, 200, 0, 100)),
        IpAddr::V4(Ipv4Addr::new(10, 200, 0, 101)),
    ];
    static V3V4: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::new(10, 200, 0, 102))];
    static V3V6: [IpAddr; 2] = [
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x100)),
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x101)),
    ];
    static V2V6: [IpAddr; 1] = [IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x200))];
    let base = |family, version, vips: &'static [IpAddr], adv: u64| Expect {
        family,
        version,
        auth_type: AUTH_NONE,
        password: [0; 8],
        adver_int: Duration::from_millis(adv),
        vips,
        check_addrs: true,
        unicast_peers: &[],
        check_unicast_src: false,
        ah_seq: 0,
    };
    match vrid {
        51 => {
            let mut e = base(Family::Ipv4, VrrpVersion::V2, &V2PASS, 1000);
            e.auth_type = AUTH_PASS;
            e.password = password_bytes(b"secret");
            (e, VrrpVersion::V2)
        }
        52 => (
            base(Family::Ipv4, VrrpVersion::V3, &V3V4, 500),
            VrrpVersion::V3,
        ),
        53 => (
            base(Family::Ipv6, VrrpVersion::V3, &V3V6, 1000),
            VrrpVersion::V3,
        ),
        54 => (
            base(Family::Ipv6, VrrpVersion::V2, &V2V6, 1000),
            VrrpVersion::V2,
        ),
        _ => panic!("vrid {vrid}"),
    }
}

fn split(c: &Captured) -> (Vec<u8>, RxMeta) {
    match c.family {
        Family::Ipv4 => {
            let p = parse_ipv4(&c.bytes).unwrap();
            assert_eq!(IpAddr::V4(p.src), c.src);
            assert_eq!(IpAddr::V4(p.dst), c.dst);
            assert_eq!(p.ttl, c.ttl);
            (p.vrrp.to_vec(), RxMeta::from_ipv4(&p))
        }
        Family::Ipv6 => {
            let (IpAddr::V6(s), IpAddr::V6(d)) = (c.src, c.dst) else {
                panic!()
            };
            (c.bytes.clone(), RxMeta::ipv6(s, d, Some(c.ttl)))
        }
    }
}

#[test]
fn capture_covers_every_kind() {
    let c = captured();
    let kinds: Vec<(u8, bool)> = c
        .iter()
        .map(|c| {
            let (m, _) = split(c);
            (m[1], m[2] == 0)
        })
        .collect();
    for vrid in 51..=54 {
        assert!(kinds.contains(&(vrid, false)), "vrid {vrid} advert");
        assert!(kinds.contains(&(vrid, true)), "vrid {vrid} priority 0");
    }
}

#[test]
fn keepalived_adverts_pass_the_checks() {
    for c in captured() {
        let (m, meta) = split(&c);
        let (exp, version) = expect_for(m[1]);
        let got = check(&m, &meta, &exp).unwrap_or_else(|e| panic!("{e:?} for {}", c.src));
        assert_eq!(got.late_reject, None);
        assert_eq!(got.advert.version, version);
        assert_eq!(got.advert.addrs, exp.vips);
        assert_eq!(got.advert.kind, TYPE_ADVERT);
    }
}

#[test]
fn keepalived_adverts_reencode_byte_for_byte() {
    for c in captured() {
        let (m, _) = split(&c);
        let a = Advert::decode(&m, c.family).unwrap();
        match (c.family, c.src, c.dst) {
            (Family::Ipv4, IpAddr::V4(s), IpAddr::V4(d)) => {
                let id = u16::from_be_bytes([c.bytes[4], c.bytes[5]]);
                assert_eq!(
                    a.encode_ipv4(s, d, c.ttl, id),
                    c.bytes,
                    "vrid {} prio {}",
                    a.vrid,
                    a.priority
                );
            }
            _ => assert_eq!(a.encode(c.src, c.dst), c.bytes, "vrid {}", a.vrid),
        }
    }
}

#[test]
fn adverts_built_from_configuration_match_keepalived() {
    let c = captured();
    let find = |vrid: u8, prio: u8| {
        let c = c
            .iter()
            .find(|c| {
                let (m, _) = split(c);
                m[1] == vrid && m[2] == prio
            })
            .unwrap();
        (split(c).0, c.src, c.dst)
    };
    // V2 + PASS, IPv4.
    let (m, s, d) = find(51, 120);
    let mut a = Advert::new(VrrpVersion::V2, 51, 120, 1);
    a.addrs = vec![ip("10.200.0.100"), ip("10.200.0.101")];
    a.auth_type = AUTH_PASS;
    a.auth_data = password_bytes(b"secret");
    assert_eq!(a.encode(s, d), m);
    a.priority = 0;
    assert_eq!(a.encode(s, d), find(51, 0).0);
    // V3 IPv4, 0.5 s.
    let (m, s, d) = find(52, 150);
    let mut a = Advert::new(
        VrrpVersion::V3,
        52,
        150,
        interval_field(VrrpVersion::V3, Duration::from_millis(500)),
    );
    a.addrs = vec![ip("10.200.0.102")];
    assert_eq!(a.encode(s, d), m);
    // V3 IPv6.
    let (m, s, d) = find(53, 100);
    let mut a = Advert::new(VrrpVersion::V3, 53, 100, 100);
    a.addrs = vec![ip("fd00::100"), ip("fd00::101")];
    assert_eq!(a.encode(s, d), m);
    // V2 over IPv6: no authentication data, pseudo-header checksum.
    let (m, s, d) = find(54, 90);
    let mut a = Advert::new(VrrpVersion::V2, 54, 90, 1);
    a.addrs = vec![ip("fd00::200")];
    assert_eq!(m.len(), HEADER_LEN + 16);
    assert_eq!(a.encode(s, d), m);
}

#[test]
fn interval_fields() {
    assert_eq!(interval_field(VrrpVersion::V2, Duration::from_secs(1)), 1);
    assert_eq!(
        interval_field(VrrpVersion::V2, Duration::from_secs(300)),
        255
    );
    assert_eq!(
        interval_field(VrrpVersion::V3, Duration::from_millis(100)),
        10
    );
    assert_eq!(
        interval_field(VrrpVersion::V3, Duration::from_secs(40)),
        4000
    );
    assert_eq!(
        interval_field(VrrpVersion::V3, Duration::from_secs(41)),
        4095
    );
    let mut a = Advert::new(VrrpVersion::V3, 1, 1, 4095);
    assert_eq!(a.interval_duration(), Duration::from_millis(40950));
    a.version = VrrpVersion::V2;
    a.interval = 3;
    assert_eq!(a.interval_duration(), Duration::from_secs(3));
}

// ------------------------------------------------------------ rejections

/// A v2 PASS IPv4 advert (the capture's), its parts mutable.
fn v2_datagram() -> Vec<u8> {
    captured()
        .into_iter()
        .find(|c| c.family == Family::Ipv4 && c.bytes[21] == 51 && c.bytes[22] == 120)
        .unwrap()
        .bytes
}

fn v3_datagram() -> Vec<u8> {
    captured()
        .into_iter()
        .find(|c| c.family == Family::Ipv4 && c.bytes[21] == 52 && c.bytes[22] == 150)
        .unwrap()
        .bytes
}

/// Recompute the VRRP checksum of an IPv4 datagram after a mutation.
fn fix_checksum(d: &mut [u8], version: VrrpVersion) {
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let src = IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19]));
    d[ihl + 6] = 0;
    d[ihl + 7] = 0;
    let sum = message_checksum(&d[ihl..], version, src, dst);
    d[ihl + 6..ihl + 8].copy_from_slice(&sum.to_be_bytes());
}

fn check_v4(d: &[u8], exp: &Expect<'_>) -> Result<Checked, Reject> {
    let p = parse_ipv4(d)?;
    check(p.vrrp, &RxMeta::from_ipv4(&p), exp)
}

#[test]
fn rejects_in_keepalived_order() {
    let (exp, _) = expect_for(51);
    let good = v2_datagram();
    assert!(check_v4(&good, &exp).is_ok());

    // Bad checksum.
    let mut d = good.clone();
    d[27] ^= 1;
    assert_eq!(check_v4(&d, &exp), Err(Reject::Checksum));

    // TTL 254 on a multicast instance.
    let mut d = good.clone();
    d[8] = 254;
    assert_eq!(check_v4(&d, &exp), Err(Reject::IpTtl));

    // Version 3 on a v2 instance (checked before the checksum).
    let mut d = good.clone();
    d[20] = 0x31;
    assert_eq!(check_v4(&d, &exp), Err(Reject::PacketLength));
    // (keepalived computes the expected length from the packet's own
    // version: a v3 message has no authentication data). A well-formed v3
    // advert to a v2 instance:
    assert_eq!(check_v4(&v3_datagram(), &exp), Err(Reject::Version));
    let mut d = good.clone();
    d[20] = 0x11;
    assert_eq!(check_v4(&d, &exp), Err(Reject::PacketLength));

    // Auth type 3: invalid; 0: mismatch; wrong password.
    let mut d = good.clone();
    d[24] = 3;
    assert_eq!(check_v4(&d, &exp), Err(Reject::InvalidAuthType));
    let mut d = good.clone();
    d[24] = 0;
    assert_eq!(check_v4(&d, &exp), Err(Reject::AuthTypeMismatch));
    let mut d = good.clone();
    let n = d.len();
    d[n - 1] = b'x';
    fix_checksum(&mut d, VrrpVersion::V2);
    assert_eq!(check_v4(&d, &exp), Err(Reject::AuthFailure));

    // Advert interval 2 s against 1 s.
    let mut d = good.clone();
    d[25] = 2;
    fix_checksum(&mut d, VrrpVersion::V2);
    assert_eq!(check_v4(&d, &exp), Err(Reject::AdvertInterval));

    // Type 2.
    let mut d = good.clone();
    d[20] = 0x22;
    fix_checksum(&mut d, VrrpVersion::V2);
    assert_eq!(check_v4(&d, &exp), Err(Reject::InvalidType));

    // One VIP configured, two received.
    let one = [ip("10.200.0.100")];
    let exp1 = Expect {
        vips: &one,
        ..exp.clone()
    };
    assert_eq!(check_v4(&good, &exp1), Err(Reject::AddressList));
    // ... unless skip_check_adv_addr.
    let exp1s = Expect {
        vips: &one,
        check_addrs: false,
        ..exp.clone()
    };
    assert!(check_v4(&good, &exp1s).is_ok());

    // Same count, another address: counted as received, then rejected.
    let other = [ip("10.200.0.100"), ip("10.200.0.199")];
    let exp2 = Expect {
        vips: &other,
        ..exp.clone()
    };
    let c = check_v4(&good, &exp2).unwrap();
    assert_eq!(c.late_reject, Some(Reject::AddressList));

    // IP total length larger than what arrived.
    let mut d = good.clone();
    d[3] += 4;
    assert_eq!(check_v4(&d, &exp), Err(Reject::PacketLength));

    // Too short / too long VRRP message.
    let mut d = good.clone();
    d.truncate(d.len() - 1);
    assert_eq!(check_v4(&d, &exp), Err(Reject::PacketLength));
    let mut d = good.clone();
    d.push(0);
    assert_eq!(check_v4(&d, &exp), Err(Reject::PacketLength));
    assert_eq!(parse_ipv4(&good[..27]), Err(Reject::PacketLength));
    // The short form reaches the checks, which count it as PacketLength.
    let short = parse_ipv4_short(&good[..27]).expect("short");
    assert_eq!(short.vrrp.len(), 7);
    assert_eq!(
        check(short.vrrp, &RxMeta::from_ipv4(&short), &exp),
        Err(Reject::PacketLength)
    );
    assert_eq!(parse_ipv4_short(&good[..21]), Err(Reject::PacketLength));

    // Unicast destination on a multicast instance.
    let mut d = good.clone();
    d[16..20].copy_from_slice(&[10, 200, 0, 2]);
    assert_eq!(check_v4(&d, &exp), Err(Reject::AddressList));
}

#[test]
fn v3_checksum_covers_the_pseudo_header() {
    let (exp, _) = expect_for(52);
    let good = v3_datagram();
    assert!(check_v4(&good, &exp).is_ok());
    // Another source address: same VRRP bytes, wrong pseudo-header.
    let mut d = good.clone();
    d[15] = 9;
    assert_eq!(check_v4(&d, &exp), Err(Reject::Checksum));
    // v3 never checks the advert interval against the configuration.
    let exp_other = Expect {
        adver_int: Duration::from_secs(3),
        ..exp.clone()
    };
    assert!(check_v4(&good, &exp_other).is_ok());
    // But the v2 checksum rule would not accept it.
    assert!(!checksum_ok(
        &good[20..],
        VrrpVersion::V2,
        ip("10.200.0.1"),
        ip("224.0.0.18")
    ));
}

#[test]
fn ipv6_checks() {
    let c = captured()
        .into_iter()
        .find(|c| c.family == Family::Ipv6 && c.bytes[1] == 53 && c.bytes[2] == 100)
        .unwrap();
    let (exp, _) = expect_for(53);
    let (m, meta) = split(&c);
    assert!(check(&m, &meta, &exp).is_ok());
    let hop = RxMeta {
        ttl: Some(64),
        ..meta
    };
    assert_eq!(check(&m, &hop, &exp), Err(Reject::IpTtl));
    let unknown_hop = RxMeta { ttl: None, ..meta };
    assert!(check(&m, &unknown_hop, &exp).is_ok());
    let mut bad = m.clone();
    bad[10] ^= 0xff;
    assert_eq!(check(&bad, &meta, &exp), Err(Reject::Checksum));
    // An IPv4-sized message on an IPv6 instance.
    let mut short = m.clone();
    short.truncate(HEADER_LEN + 16);
    assert_eq!(check(&short, &meta, &exp), Err(Reject::PacketLength));
}

/// The AH adverts keepalived 2.2.7 sent (tests/data/capture-ah.sh):
/// (unicast, datagram).
const AH_CAPTURE: &str = include_str!("../../tests/data/keepalived-2.2.7-ah.txt");

fn ah_captured() -> Vec<(bool, Vec<u8>)> {
    AH_CAPTURE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (tag, h) = l.split_once(' ').unwrap();
            (tag == "uc", hex(h))
        })
        .collect()
}

static AH_VIPS: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::new(10, 211, 0, 100))];
static AH_PEERS: [UnicastPeer; 1] = [UnicastPeer {
    addr: IpAddr::V4(Ipv4Addr::new(10, 211, 0, 2)),
    min_ttl: 0,
    max_ttl: 255,
}];

/// capture-ah.sh's instance.
fn ah_expect(unicast: bool) -> Expect<'static> {
    Expect {
        family: Family::Ipv4,
        version: VrrpVersion::V2,
        auth_type: AUTH_AH,
        password: password_bytes(b"secret12"),
        adver_int: Duration::from_secs(1),
        vips: &AH_VIPS,
        check_addrs: true,
        unicast_peers: if unicast { &AH_PEERS } else { &[] },
        check_unicast_src: false,
        ah_seq: 0,
    }
}

fn check_ah(d: &[u8], exp: &Expect<'_>) -> (Result<Checked, Reject>, Option<u32>) {
    let p = parse_ipv4(d).unwrap();
    check_counting(p.vrrp, &RxMeta::from_ipv4(&p), exp)
}

/// Re-sign a datagram after changing it (as a sender with `key` would).
fn ah_resign(d: &mut [u8], key: &[u8; 8], unicast: bool) {
    let icv = ah_icv(&d[..20 + AH_LEN], &d[20 + AH_LEN..], key, unicast);
    d[32..44].copy_from_slice(&icv);
}

#[test]
fn ah_adverts_of_keepalived_verify_and_encode_identically() {
    let cap = ah_captured();
    assert_eq!(cap.iter().filter(|(u, _)| !u).count(), 5);
    assert_eq!(cap.iter().filter(|(u, _)| *u).count(), 5);
    for (unicast, d) in &cap {
        let p = parse_ipv4(d).unwrap();
        let ah = p.ah.expect("an AH header");
        assert_eq!(ah.next_header(), IPPROTO_VRRP);
        assert_eq!(ah.spi(), [10, 211, 0, 1]);
        let seq = ah.seq();
        // keepalived's first advert carries 1, then one more per advert;
        // the IP id counts alongside.
        assert_eq!(u32::from(u16::from_be_bytes([d[4], d[5]])), seq);
        let mut exp = ah_expect(*unicast);
        let (r, accepted) = check_ah(d, &exp);
        let c = r.unwrap_or_else(|e| panic!("{e:?} for {}", hexs(d)));
        assert_eq!(c.late_reject, None);
        assert_eq!(accepted, Some(seq));
        // Replayed: the counter has it.
        exp.ah_seq = seq;
        assert_eq!(
            check_ah(d, &exp),
            (Err(Reject::AhSequence { seq, local: seq }), None)
        );
        // Encoding the same advert gives the same bytes.
        let a = c.advert;
        let dst = match p.dst {
            d if *unicast => d,
            _ => Ipv4Addr::new(224, 0, 0, 18),
        };
        let mine = a.encode_ipv4_ah(
            p.src,
            dst,
            p.ttl,
            u16::from_be_bytes([d[4], d[5]]),
            seq,
            &password_bytes(b"secret12"),
            *unicast,
        );
        assert_eq!(hexs(&mine), hexs(d));
    }
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn ah_icv_covers_what_keepalived_covers() {
    let cap = ah_captured();
    let key = password_bytes(b"secret12");
    let (_, mc) = cap.iter().find(|(u, _)| !u).unwrap().clone();
    let (_, uc) = cap.iter().find(|(u, _)| *u).unwrap().clone();
    // Another password: the ICV does not match.
    let mut other = ah_expect(false);
    other.password = password_bytes(b"secret13");
    assert_eq!(check_ah(&mc, &other).0, Err(Reject::AhIcv));
    // keepalived keys with the 8 padded bytes: a longer password is the
    // same key.
    other.password = password_bytes(b"secret12-and-more");
    assert!(check_ah(&mc, &other).0.is_ok());
    // Mutable fields are left out: TOS, flags/fragment offset, header
    // checksum.
    let mut d = mc.clone();
    d[1] = 0x10;
    d[6] = 0x40;
    d[10] ^= 0xff;
    assert!(check_ah(&d, &ah_expect(false)).0.is_ok());
    // The TTL is covered for multicast (where it must be 255 anyway) and
    // left out for unicast.
    let mut d = uc.clone();
    d[8] = 64;
    assert!(check_ah(&d, &ah_expect(true)).0.is_ok());
    let mut d = mc.clone();
    d[8] = 64;
    let mut e = ah_expect(false);
    e.unicast_peers = &AH_PEERS;
    // (a multicast packet on a unicast instance passes the AH check, then
    // fails the destination check; with the TTL covered it fails the ICV)
    assert_eq!(check_ah(&d, &e).0, Err(Reject::AhIcv));
    // Everything else is covered: the IP id, addresses, the AH header, the
    // message.
    for at in [4, 5, 12, 19, 21, 27, 31, 44, 46, 60, 63] {
        let mut d = mc.clone();
        d[at] ^= 1;
        let r = check_ah(&d, &ah_expect(false)).0;
        assert!(
            matches!(r, Err(Reject::AhIcv | Reject::AhOtherProtocol)),
            "byte {at}: {r:?}"
        );
    }
    // The SPI must be the source address (checked after the ICV).
    let mut d = mc.clone();
    d[27] = 9;
    ah_resign(&mut d, &key, false);
    assert_eq!(
        check_ah(&d, &ah_expect(false)).0,
        Err(Reject::AhSpi {
            saddr: u32::from_ne_bytes([10, 211, 0, 1]),
            spi: u32::from_ne_bytes([10, 211, 0, 9]),
        })
    );
}

#[test]
fn ah_checks_in_keepalived_order() {
    let cap = ah_captured();
    let (_, mc) = cap.iter().find(|(u, _)| !u).unwrap().clone();
    let key = password_bytes(b"secret12");
    // AH on a non-AH instance, and no AH on an AH instance: auth type
    // mismatches, before anything else.
    let mut pass = ah_expect(false);
    pass.auth_type = AUTH_PASS;
    assert_eq!(check_ah(&mc, &pass).0, Err(Reject::AhUnexpected));
    assert_eq!(
        Reject::AhUnexpected.drop_reason(),
        DropReason::AuthTypeMismatch
    );
    let (exp51, _) = expect_for(51);
    let plain = v2_datagram();
    let ah51 = Expect {
        auth_type: AUTH_AH,
        ..exp51.clone()
    };
    assert_eq!(check_v4(&plain, &ah51), Err(Reject::AhMissing));
    assert_eq!(
        Reject::AhMissing.drop_reason(),
        DropReason::AuthTypeMismatch
    );
    // The message's auth type byte must say AH.
    let mut d = mc.clone();
    d[44 + 4] = AUTH_PASS;
    assert_eq!(
        check_ah(&d, &ah_expect(false)).0,
        Err(Reject::AuthTypeMismatch)
    );
    // AH for another protocol is ignored, not counted as a failure.
    let mut d = mc.clone();
    d[20] = 6;
    assert_eq!(
        check_ah(&d, &ah_expect(false)).0,
        Err(Reject::AhOtherProtocol)
    );
    // ICV, SPI and sequence failures are authentication failures.
    for r in [
        Reject::AhIcv,
        Reject::AhSpi { saddr: 1, spi: 2 },
        Reject::AhSequence { seq: 1, local: 1 },
    ] {
        assert_eq!(r.drop_reason(), DropReason::AuthFailure);
    }
    // A sequence number is taken (keepalived advances its counter) even
    // when a later check rejects the advert: here the interval.
    let mut slow = ah_expect(false);
    slow.adver_int = Duration::from_secs(2);
    assert_eq!(check_ah(&mc, &slow), (Err(Reject::AdvertInterval), Some(1)));
    // ... but not when the ICV fails first.
    let mut d = mc.clone();
    d[60] ^= 1;
    assert_eq!(check_ah(&d, &slow), (Err(Reject::AhIcv), None));
    // A too-short AH datagram does not parse (keepalived: "IPv4 VRRP
    // packet with AH too short").
    assert_eq!(
        parse_ipv4(&mc[..20 + AH_LEN + 4]),
        Err(Reject::PacketLength)
    );
    // The VRRP checksum is still checked after the ICV.
    let mut d = mc.clone();
    d[44 + 6] ^= 1;
    ah_resign(&mut d, &key, false);
    assert_eq!(check_ah(&d, &ah_expect(false)).0, Err(Reject::Checksum));
}

#[test]
fn ah_counter_follows_keepalived() {
    let mut c = AhCounter::default();
    assert_eq!((c.next_seq(), c.next_seq()), (1, 2));
    // Accepted numbers replace the counter; a master goes on from there.
    c.accepted(41, true);
    assert_eq!(c.next_seq(), 42);
    // A master hearing a lower priority takes its number plus one (and
    // increments again to send).
    c.sync_lower(100);
    assert_eq!(c.next_seq(), 102);
    c.sync_lower(u32::MAX);
    assert_eq!(c.seq, 0);
    // Near the top it stops incrementing and marks the cycle.
    let mut c = AhCounter {
        seq: AH_SEQ_LIMIT - 1,
        cycle: false,
    };
    assert_eq!(c.next_seq(), AH_SEQ_LIMIT);
    assert_eq!(c.next_seq(), AH_SEQ_LIMIT + 1);
    assert!(!c.cycle);
    assert_eq!(c.next_seq(), AH_SEQ_LIMIT + 1);
    assert!(c.cycle);
    assert_eq!(c.next_seq(), AH_SEQ_LIMIT + 1);
    // Becoming master after a cycle starts again from 0; without one it
    // goes on.
    let mut d = c;
    d.goto_master();
    assert_eq!((d.seq, d.cycle), (0, false));
    assert_eq!(d.next_seq(), 1);
    let mut e = AhCounter {
        seq: 7,
        cycle: false,
    };
    e.goto_master();
    assert_eq!(e.next_seq(), 8);
    // A backup accepting an advert, or a master hearing a higher priority,
    // clears the cycle; a master accepting one does not.
    let mut f = c;
    f.accepted(AH_SEQ_LIMIT + 2, false);
    assert!(f.cycle);
    f.accepted(AH_SEQ_LIMIT + 2, true);
    assert!(!f.cycle);
    let mut g = c;
    g.sync_higher();
    assert!(!g.cycle);
}

#[test]
fn unicast_checks() {
    let vips = [ip("10.200.0.102")];
    let peers = [UnicastPeer {
        addr: ip("10.200.0.1"),
        min_ttl: 250,
        max_ttl: 255,
    }];
    let exp = Expect {
        family: Family::Ipv4,
        version: VrrpVersion::V3,
        auth_type: AUTH_NONE,
        password: [0; 8],
        adver_int: Duration::from_millis(500),
        vips: &vips,
        check_addrs: true,
        unicast_peers: &peers,
        check_unicast_src: true,
        ah_seq: 0,
    };
    let mut a = Advert::new(VrrpVersion::V3, 52, 150, 50);
    a.addrs = vips.to_vec();
    let src = Ipv4Addr::new(10, 200, 0, 1);
    let dst = Ipv4Addr::new(10, 200, 0, 2);
    let d = a.encode_ipv4(src, dst, 252, 1);
    let c = check_v4(&d, &exp).unwrap();
    assert_eq!(c.late_reject, None);
    // A TTL below 255 is fine for unicast, but not below the peer's min.
    let d = a.encode_ipv4(src, dst, 200, 1);
    assert_eq!(check_v4(&d, &exp).unwrap().late_reject, Some(Reject::IpTtl));
    // Not a peer.
    let d = a.encode_ipv4(Ipv4Addr::new(10, 200, 0, 3), dst, 255, 1);
    assert_eq!(
        check_v4(&d, &exp).unwrap().late_reject,
        Some(Reject::UnicastSource)
    );
    // Not checked without check_unicast_src.
    let exp2 = Expect {
        check_unicast_src: false,
        ..exp.clone()
    };
    assert_eq!(check_v4(&d, &exp2).unwrap().late_reject, None);
    // Multicast packet on a unicast instance.
    let d = a.encode_ipv4(src, Ipv4Addr::new(224, 0, 0, 18), 255, 1);
    assert_eq!(check_v4(&d, &exp), Err(Reject::AddressList));
}

#[test]
fn drop_reasons_map_onto_ipc() {
    assert_eq!(Reject::Checksum.drop_reason(), DropReason::Checksum);
    assert_eq!(
        Reject::AdvertInterval.drop_reason(),
        DropReason::AdvertInterval
    );
    assert_eq!(Reject::IpTtl.drop_reason(), DropReason::IpTtl);
    assert!(matches!(
        Reject::UnicastSource.drop_reason(),
        DropReason::Other(_)
    ));
}

#[test]
fn peek_needs_a_header() {
    assert_eq!(peek(&[0x21, 51, 100, 1, 0, 1, 0]), None);
    assert_eq!(peek(&[0x21, 51, 100, 1, 0, 1, 0, 0]), Some((2, 51)));
}

#[test]
fn decode_never_panics_on_prefixes_and_noise() {
    let mut inputs: Vec<Vec<u8>> = captured().into_iter().map(|c| c.bytes).collect();
    // xorshift noise, deterministic.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in 0..200 {
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(x as u8);
        }
        if len > 0 {
            v[0] = 0x45;
        }
        inputs.push(v);
    }
    let (exp4, _) = expect_for(51);
    let (exp6, _) = expect_for(53);
    for inp in &inputs {
        for n in 0..=inp.len() {
            let b = &inp[..n];
            let _ = parse_ipv4(b).map(|p| check(p.vrrp, &RxMeta::from_ipv4(&p), &exp4));
            for fam in [Family::Ipv4, Family::Ipv6] {
                let _ = Advert::decode(b, fam);
            }
            let meta = RxMeta::ipv6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, Some(255));
            let _ = check(b, &meta, &exp6);
            let _ = peek(b);
        }
    }
}
