//! VRRP advertisements: encoding, decoding and keepalived's receive checks,
//! for VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), over IPv4 and IPv6.
//!
//! Pure code: no sockets. The I/O shell hands over bytes and what the
//! kernel told it (addresses, TTL / hop limit), and gets bytes back.
//!
//! # The layers
//!
//! * [`parse_ipv4`]: what an IPv4 raw socket (protocol 112, or 51 for AH)
//!   returns, the IP header included: the header fields the checks need
//!   and the VRRP message. IPv6 raw sockets return the VRRP message alone
//!   (the hop limit and destination come from `IPV6_HOPLIMIT` /
//!   `IPV6_PKTINFO` ancillary data).
//! * [`peek`]: version and VRID of a VRRP message, to find the instance.
//! * [`Advert::decode`]: structure only (length, addresses); never panics.
//! * [`check`]: keepalived 2.2.7's `vrrp_check_packet`, in its order,
//!   against an instance's [`Expect`]; the error is a [`Reject`] that maps
//!   onto [`ipc::DropReason`] and says whether keepalived counted the packet
//!   as a received advert before rejecting it.
//! * [`Advert::encode`] (the VRRP message with its checksum) and
//!   [`Advert::encode_ipv4`] (with the IPv4 header keepalived builds:
//!   TOS 0xc0, DF clear, the caller's TTL and IP id, protocol 112), and
//!   [`Advert::encode_ipv4_ah`] (the same with protocol 51 and an AH
//!   header, as keepalived's `vrrp_build_ipsecah` / `vrrp_update_pkt`).
//!
//! # Wire formats
//!
//! ```text
//!  0               1               2               3
//! |Ver=2|Type=1   | VRID          | Priority      | Count IPvX    |   v2
//! | Auth Type     | Adver Int (s) | Checksum                      |
//! | IPvX addresses ... | Authentication data (8 bytes, IPv4 only) |
//!
//! |Ver=3|Type=1   | VRID          | Priority      | Count IPvX    |   v3
//! |rsvd | Max Adver Int (centiseconds, 12 bits)  | Checksum      |
//! | IPvX addresses ...                                            |
//! ```
//!
//! Checksums, as keepalived computes them: v2 over IPv4 covers the VRRP
//! message only (authentication data included); v3 over IPv4 and every
//! version over IPv6 (keepalived runs v2 over IPv6 when configured so, with
//! no authentication data) include the pseudo-header (source, destination,
//! upper-layer length, protocol 112). For IPv6 keepalived sets
//! `IPV6_CHECKSUM` = 6 so the kernel fills and verifies it; [`Advert::encode`]
//! fills it too (the kernel recomputes it correctly over a pre-filled
//! value) and [`check`] verifies it again.
//!
//! Authentication: PASS compares the 8 password bytes (keepalived pads the
//! configured password with zeros). VRRPv2 over IPv6 carries no
//! authentication data (keepalived sends none); its auth type byte is
//! still compared, the password cannot be (keepalived 2.2.7 reads it from
//! an offset computed from a nonexistent IPv4 header).
//!
//! IPsec AH (RFC 2402, IPv4 only), as keepalived 2.2.7 does it:
//!
//! ```text
//! | IPv4 header, protocol 51 | Next hdr=112 | Len=4 | Reserved=0   |
//! | SPI = the sender's IPv4 source address                        |
//! | Sequence number                                               |
//! | ICV (12 bytes)                                                |
//! | VRRPv2 message, auth type 2, 8 zero authentication bytes      |
//! ```
//!
//! The ICV is HMAC-MD5 truncated to 96 bits, keyed with the 8 password
//! bytes (the password zero padded, as for PASS), over the IP header with
//! TOS, flags and fragment offset, header checksum (and, for unicast
//! instances only, TTL) zeroed, then the AH header with its ICV zeroed,
//! then the VRRP message. The IP id and total length are covered, so the
//! sender builds the IP header itself (`IP_HDRINCL`). The receiver checks
//! the ICV, then that the SPI is the source address, then that the
//! sequence number is above its counter ([`Expect::ah_seq`]); the counter
//! rules (start, increments, wrap, new master) are [`AhCounter`]'s.

use config::model::global::VrrpVersion;
use config::model::vrrp::{Family, UnicastPeer};
use ipc::DropReason;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH.
pub const IPPROTO_AH: u8 = 51;
/// The TTL / hop limit adverts are sent with and must arrive with.
pub const VRRP_TTL: u8 = 255;
/// The fixed VRRP header.
pub const HEADER_LEN: usize = 8;
/// VRRPv2 authentication data (IPv4 only).
pub const AUTH_LEN: usize = 8;
/// keepalived's `ipsec_ah_t`: next header, length, reserved, SPI, sequence
/// number, 96-bit ICV.
pub const AH_LEN: usize = 24;
/// The AH payload length field: the header's length in 32-bit words
/// minus 2 (keepalived's `IPSEC_AH_PLEN`).
pub const AH_PAYLOAD_LEN: u8 = 4;
/// HMAC-MD5-96: the ICV is the digest's first 12 bytes.
pub const AH_ICV_LEN: usize = 12;
/// The longest IPv4 header (60 bytes) and the AH header.
pub const AH_HEADERS_MAX: usize = 60 + AH_LEN;
/// The only VRRP packet type.
pub const TYPE_ADVERT: u8 = 1;
/// keepalived's IPv4 TOS for adverts (internetwork control).
pub const IPV4_TOS: u8 = 0xc0;
/// Largest v3 interval (12 bits of centiseconds).
pub const V3_MAX_INTERVAL_CS: u16 = 0x0fff;

/// VRRPv2 authentication types.
pub const AUTH_NONE: u8 = 0;
pub const AUTH_PASS: u8 = 1;
pub const AUTH_AH: u8 = 2;

/// A VRRP advertisement, decoded or to be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: VrrpVersion,
    /// The low 4 bits of the first byte (1 for an advertisement).
    pub kind: u8,
    pub vrid: u8,
    pub priority: u8,
    /// v2: seconds (8 bits); v3: centiseconds (12 bits).
    pub interval: u16,
    /// v2: the auth type byte ([`AUTH_NONE`], [`AUTH_PASS`], [`AUTH_AH`]);
    /// v3: 0.
    pub auth_type: u8,
    /// v2 over IPv4: the 8 authentication bytes (the password for PASS,
    /// zeros otherwise). Ignored elsewhere.
    pub auth_data: [u8; AUTH_LEN],
    /// The virtual addresses, all of one family.
    pub addrs: Vec<IpAddr>,
    /// The checksum field as received (0 before encoding).
    pub checksum: u16,
}

/// Version and VRID of a VRRP message, read without validating anything.
/// `None` if it is shorter than the fixed header.
pub fn peek(vrrp: &[u8]) -> Option<(u8, u8)> {
    (vrrp.len() >= HEADER_LEN).then(|| (vrrp[0] >> 4, vrrp[1]))
}

/// Why a received packet was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// Shorter than its headers, or its length differs from what the
    /// header's count implies, or the IPv4 total length differs from what
    /// was received.
    PacketLength,
    /// TTL / hop limit not 255 on a multicast instance, or outside a
    /// unicast peer's `min_ttl`..`max_ttl`.
    IpTtl,
    /// Not the configured VRRP version.
    Version,
    /// v2 auth type not 0, 1 or 2.
    InvalidAuthType,
    /// v2 auth type (or the presence of an AH header) differs from the
    /// configured one.
    AuthTypeMismatch,
    /// v2 PASS: wrong password.
    AuthFailure,
    /// v2: the advert interval differs from the configured one (keepalived
    /// drops these so two masters with different intervals cannot both
    /// run one VRID).
    AdvertInterval,
    /// Packet type not 1.
    InvalidType,
    /// Address count or addresses differ from the configured VIPs, or a
    /// multicast instance received a unicast packet (or the reverse).
    AddressList,
    /// Bad checksum.
    Checksum,
    /// Unicast instance with `check_unicast_src`: the source is not one of
    /// the `unicast_peer`s.
    UnicastSource,
    /// An AH header for some other protocol: not ours, ignored.
    AhOtherProtocol,
    /// An AH header, but the instance's auth type is not AH (counted as
    /// an auth type mismatch).
    AhUnexpected,
    /// No AH header, but the instance's auth type is AH (counted as an
    /// auth type mismatch).
    AhMissing,
    /// AH: the ICV is wrong (another password, or a changed packet).
    /// Counted as an authentication failure.
    AhIcv,
    /// AH: the SPI is not the source address (authentication failure).
    /// The values as keepalived logs them: the 32-bit words in host order.
    AhSpi { saddr: u32, spi: u32 },
    /// AH: the sequence number is not above the instance's counter (a
    /// replay, or a restarted sender; authentication failure).
    AhSequence { seq: u32, local: u32 },
}

impl Reject {
    /// The counter it increments.
    pub fn drop_reason(&self) -> DropReason {
        match self {
            Reject::PacketLength => DropReason::PacketLength,
            Reject::IpTtl => DropReason::IpTtl,
            Reject::Version => DropReason::Version,
            Reject::InvalidAuthType => DropReason::InvalidAuthType,
            Reject::AuthTypeMismatch | Reject::AhUnexpected | Reject::AhMissing => {
                DropReason::AuthTypeMismatch
            }
            Reject::AuthFailure
            | Reject::AhIcv
            | Reject::AhSpi { .. }
            | Reject::AhSequence { .. } => DropReason::AuthFailure,
            Reject::AdvertInterval => DropReason::AdvertInterval,
            Reject::InvalidType => DropReason::InvalidType,
            Reject::AddressList => DropReason::AddressList,
            Reject::Checksum => DropReason::Checksum,
            Reject::UnicastSource => DropReason::Other("unicast source not a peer".into()),
            Reject::AhOtherProtocol => DropReason::Other("AH for another protocol".into()),
        }
    }
}

/// What an IPv4 raw socket delivered, split up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Rx<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    /// The header's total length field.
    pub total_len: u16,
    /// The number of bytes received (IP header included).
    pub received_len: usize,
    /// The IP and AH headers, when an AH header sits between the IP
    /// header and the message.
    pub ah: Option<AhRx>,
    /// The VRRP message: everything after the IP (and AH) header.
    pub vrrp: &'a [u8],
}

/// The IP header and the AH header of a received AH datagram, as received
/// (what the ICV check needs besides the VRRP message).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AhRx {
    headers: [u8; AH_HEADERS_MAX],
    len: u8,
}

impl std::fmt::Debug for AhRx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AhRx")
            .field("headers", &&self.headers[..usize::from(self.len)])
            .finish()
    }
}

impl AhRx {
    /// From the IP header (any length from 20 to 60) followed by the AH
    /// header; `None` if `headers` is not that.
    pub fn new(headers: &[u8]) -> Option<AhRx> {
        let ihl = usize::from(*headers.first()? & 0x0f) * 4;
        if ihl < 20 || headers.len() != ihl + AH_LEN {
            return None;
        }
        let mut h = [0u8; AH_HEADERS_MAX];
        h[..headers.len()].copy_from_slice(headers);
        Some(AhRx {
            headers: h,
            len: headers.len() as u8,
        })
    }

    /// The IP header and the AH header.
    pub fn headers(&self) -> &[u8] {
        &self.headers[..usize::from(self.len)]
    }

    fn ihl(&self) -> usize {
        usize::from(self.len) - AH_LEN
    }

    fn ah(&self) -> &[u8] {
        &self.headers[self.ihl()..usize::from(self.len)]
    }

    pub fn next_header(&self) -> u8 {
        self.ah()[0]
    }

    /// The source address from the IP header.
    pub fn saddr(&self) -> [u8; 4] {
        [
            self.headers[12],
            self.headers[13],
            self.headers[14],
            self.headers[15],
        ]
    }

    pub fn spi(&self) -> [u8; 4] {
        let a = self.ah();
        [a[4], a[5], a[6], a[7]]
    }

    pub fn seq(&self) -> u32 {
        let a = self.ah();
        u32::from_be_bytes([a[8], a[9], a[10], a[11]])
    }

    pub fn icv(&self) -> &[u8] {
        &self.ah()[12..AH_LEN]
    }
}

/// Split what an IPv4 raw socket returned (keepalived's `vrrp_get_header`):
/// [`Reject::PacketLength`] when the IP header, the AH header (protocol
/// 51) or the fixed VRRP header is not all there.
pub fn parse_ipv4(buf: &[u8]) -> Result<Ipv4Rx<'_>, Reject> {
    if buf.len() < 20 || buf[0] >> 4 != 4 {
        return Err(Reject::PacketLength);
    }
    let ihl = usize::from(buf[0] & 0x0f) * 4;
    if ihl < 20 || buf.len() < ihl + HEADER_LEN {
        return Err(Reject::PacketLength);
    }
    let (start, ah) = if buf[9] == IPPROTO_AH {
        if buf.len() < ihl + AH_LEN + HEADER_LEN {
            return Err(Reject::PacketLength);
        }
        (ihl + AH_LEN, AhRx::new(&buf[..ihl + AH_LEN]))
    } else {
        (ihl, None)
    };
    Ok(Ipv4Rx {
        src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        dst: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
        ttl: buf[8],
        total_len: u16::from_be_bytes([buf[2], buf[3]]),
        received_len: buf.len(),
        ah,
        vrrp: &buf[start..],
    })
}

/// [`parse_ipv4`], but a VRRP part shorter than its header is returned
/// too (from 2 bytes, enough for the VRID), so that a short packet reaches
/// its instance and is counted there as a PacketLength drop (by
/// [`check`]) rather than vanishing uncounted.
pub fn parse_ipv4_short(buf: &[u8]) -> Result<Ipv4Rx<'_>, Reject> {
    match parse_ipv4(buf) {
        Err(Reject::PacketLength) if buf.len() >= 20 && buf[0] >> 4 == 4 => {
            let ihl = usize::from(buf[0] & 0x0f) * 4;
            if ihl < 20 || buf[9] == IPPROTO_AH || buf.len() < ihl + 2 {
                return Err(Reject::PacketLength);
            }
            Ok(Ipv4Rx {
                src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
                dst: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
                ttl: buf[8],
                total_len: u16::from_be_bytes([buf[2], buf[3]]),
                received_len: buf.len(),
                ah: None,
                vrrp: &buf[ihl..],
            })
        }
        other => other,
    }
}

fn family_of_len(family: Family) -> usize {
    match family {
        Family::Ipv4 => 4,
        Family::Ipv6 => 16,
    }
}

/// The length a VRRP message with this header must have
/// (keepalived's `expected_vrrp_pkt_len`): `None` if shorter than the
/// fixed header.
pub fn expected_len(vrrp: &[u8], family: Family) -> Option<usize> {
    let (version, _) = peek(vrrp)?;
    let n = usize::from(vrrp[3]);
    let auth = if family == Family::Ipv4 && version == 2 {
        AUTH_LEN
    } else {
        0
    };
    Some(HEADER_LEN + auth + n * family_of_len(family))
}

impl Advert {
    /// An advertisement to send (type 1, checksum 0 until encoded). For
    /// v2 `interval` is in seconds, for v3 in centiseconds (see
    /// [`interval_field`]).
    pub fn new(version: VrrpVersion, vrid: u8, priority: u8, interval: u16) -> Advert {
        Advert {
            version,
            kind: TYPE_ADVERT,
            vrid,
            priority,
            interval,
            auth_type: AUTH_NONE,
            auth_data: [0; AUTH_LEN],
            addrs: Vec::new(),
            checksum: 0,
        }
    }

    /// The family of its addresses (IPv4 when it has none).
    pub fn family(&self) -> Family {
        match self.addrs.first() {
            Some(IpAddr::V6(_)) => Family::Ipv6,
            _ => Family::Ipv4,
        }
    }

    /// The interval as a duration.
    pub fn interval_duration(&self) -> Duration {
        match self.version {
            VrrpVersion::V2 => Duration::from_secs(u64::from(self.interval)),
            VrrpVersion::V3 => Duration::from_millis(u64::from(self.interval) * 10),
        }
    }

    /// Decode a VRRP message structurally: at least the fixed header,
    /// version 2 or 3, exactly as long as its address count says (plus the
    /// authentication data for v2 over IPv4), addresses of `family`. Does
    /// not verify the checksum or anything configured: see [`check`].
    pub fn decode(vrrp: &[u8], family: Family) -> Result<Advert, Reject> {
        let exp = expected_len(vrrp, family).ok_or(Reject::PacketLength)?;
        if vrrp.len() != exp {
            return Err(Reject::PacketLength);
        }
        let version = match vrrp[0] >> 4 {
            2 => VrrpVersion::V2,
            3 => VrrpVersion::V3,
            _ => return Err(Reject::Version),
        };
        let (interval, auth_type) = match version {
            VrrpVersion::V2 => (u16::from(vrrp[5]), vrrp[4]),
            VrrpVersion::V3 => (
                u16::from_be_bytes([vrrp[4], vrrp[5]]) & V3_MAX_INTERVAL_CS,
                0,
            ),
        };
        let n = usize::from(vrrp[3]);
        let alen = family_of_len(family);
        let body = &vrrp[HEADER_LEN..];
        let mut addrs = Vec::with_capacity(n);
        for chunk in body.chunks_exact(alen).take(n) {
            addrs.push(match family {
                Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(chunk[0], chunk[1], chunk[2], chunk[3])),
                Family::Ipv6 => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(chunk);
                    IpAddr::V6(Ipv6Addr::from(o))
                }
            });
        }
        let mut auth_data = [0u8; AUTH_LEN];
        if version == VrrpVersion::V2 && family == Family::Ipv4 {
            auth_data.copy_from_slice(&body[n * alen..n * alen + AUTH_LEN]);
        }
        Ok(Advert {
            version,
            kind: vrrp[0] & 0x0f,
            vrid: vrrp[1],
            priority: vrrp[2],
            interval,
            auth_type,
            auth_data,
            addrs,
            checksum: u16::from_be_bytes([vrrp[6], vrrp[7]]),
        })
    }

    /// The VRRP message without its checksum (field 0).
    fn encode_body(&self, family: Family) -> Vec<u8> {
        let n = self.addrs.len().min(255);
        let mut b = Vec::with_capacity(HEADER_LEN + n * 16 + AUTH_LEN);
        b.push((self.version.number() << 4) | (self.kind & 0x0f));
        b.push(self.vrid);
        b.push(self.priority);
        b.push(n as u8);
        match self.version {
            VrrpVersion::V2 => {
                b.push(self.auth_type);
                b.push(self.interval.min(255) as u8);
            }
            VrrpVersion::V3 => {
                b.extend_from_slice(&(self.interval & V3_MAX_INTERVAL_CS).to_be_bytes())
            }
        }
        b.extend_from_slice(&[0, 0]);
        for a in self.addrs.iter().take(n) {
            match a {
                IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
            }
        }
        if self.version == VrrpVersion::V2 && family == Family::Ipv4 {
            b.extend_from_slice(&self.auth_data);
        }
        b
    }

    /// The VRRP message with its checksum, as keepalived sends it from
    /// `src` to `dst` (they matter for v3 over IPv4 and for IPv6; for
    /// IPv6 keepalived leaves the checksum to the kernel, which computes
    /// this same value).
    pub fn encode(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let family = Family::of(&src);
        let mut b = self.encode_body(family);
        let sum = message_checksum(&b, self.version, src, dst);
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        b
    }

    /// The whole IPv4 datagram as keepalived builds it with `IP_HDRINCL`:
    /// IHL 5, TOS 0xc0, the given id, no fragment flags, `ttl`, protocol
    /// 112, header checksum (the kernel fills it too), then
    /// [`Advert::encode`].
    pub fn encode_ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16) -> Vec<u8> {
        let msg = self.encode(IpAddr::V4(src), IpAddr::V4(dst));
        let total = (20 + msg.len()) as u16;
        let mut p = Vec::with_capacity(usize::from(total));
        p.extend_from_slice(&[0x45, IPV4_TOS]);
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[0, 0, ttl, IPPROTO_VRRP, 0, 0]);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        let hc = fold(sum_words(&p, 0));
        p[10..12].copy_from_slice(&hc.to_be_bytes());
        p.extend_from_slice(&msg);
        p
    }

    /// The AH-authenticated IPv4 datagram keepalived sends for
    /// `auth_type AH` (built with `IP_HDRINCL`): IPv4 header as in
    /// [`Advert::encode_ipv4`] but protocol 51 and the total length
    /// covering AH; the AH header (next header 112, payload length 4, SPI
    /// = `src`, sequence number `seq`, the ICV); then [`Advert::encode`].
    /// `key` is the password as [`password_bytes`] pads it; `unicast`
    /// says the instance has unicast peers (its TTL is left out of the
    /// ICV).
    #[allow(clippy::too_many_arguments)]
    pub fn encode_ipv4_ah(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        id: u16,
        seq: u32,
        key: &[u8; AUTH_LEN],
        unicast: bool,
    ) -> Vec<u8> {
        let msg = self.encode(IpAddr::V4(src), IpAddr::V4(dst));
        let total = (20 + AH_LEN + msg.len()) as u16;
        let mut p = Vec::with_capacity(usize::from(total));
        p.extend_from_slice(&[0x45, IPV4_TOS]);
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[0, 0, ttl, IPPROTO_AH, 0, 0]);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(&[IPPROTO_VRRP, AH_PAYLOAD_LEN, 0, 0]);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0; AH_ICV_LEN]);
        let icv = ah_icv(&p, &msg, key, unicast);
        p[20 + 12..20 + AH_LEN].copy_from_slice(&icv);
        let hc = fold(sum_words(&p[..20], 0));
        p[10..12].copy_from_slice(&hc.to_be_bytes());
        p.extend_from_slice(&msg);
        p
    }
}

// ------------------------------------------------------------- IPsec AH

type HmacMd5 = hmac::Hmac<md5::Md5>;

/// keepalived's ICV computation: HMAC-MD5 keyed with `key` over `headers`
/// (the IPv4 header, options included, then the AH header) with the
/// mutable fields zeroed as keepalived zeroes them (TOS, flags and
/// fragment offset, header checksum, the ICV, and the TTL when `unicast`),
/// then `msg` (the VRRP message).
fn ah_mac(headers: &[u8], msg: &[u8], key: &[u8; AUTH_LEN], unicast: bool) -> HmacMd5 {
    use hmac::Mac;
    let mut h = [0u8; AH_HEADERS_MAX];
    let n = headers.len().min(AH_HEADERS_MAX);
    let h = &mut h[..n];
    h.copy_from_slice(&headers[..n]);
    if n >= 20 + AH_LEN {
        h[1] = 0;
        h[6] = 0;
        h[7] = 0;
        h[10] = 0;
        h[11] = 0;
        if unicast {
            h[8] = 0;
        }
        h[n - AH_ICV_LEN..].fill(0);
    }
    // HMAC accepts keys of any length.
    let mut m = <HmacMd5 as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(h);
    m.update(msg);
    m
}

/// The 96-bit ICV of an AH datagram: see [`ah_mac`].
pub fn ah_icv(headers: &[u8], msg: &[u8], key: &[u8; AUTH_LEN], unicast: bool) -> [u8; AH_ICV_LEN] {
    use hmac::Mac;
    let d = ah_mac(headers, msg, key, unicast).finalize().into_bytes();
    let mut icv = [0u8; AH_ICV_LEN];
    icv.copy_from_slice(&d[..AH_ICV_LEN]);
    icv
}

/// Whether a received AH datagram's ICV is right for `key` (compared in
/// constant time, as keepalived's `memcmp_constant_time`).
pub fn ah_icv_ok(ah: &AhRx, msg: &[u8], key: &[u8; AUTH_LEN], unicast: bool) -> bool {
    use hmac::Mac;
    ah_mac(ah.headers(), msg, key, unicast)
        .verify_truncated_left(ah.icv())
        .is_ok()
}

/// Above this the sequence number is not incremented: keepalived's
/// "cycled" limit (`0xFFFFFFFD`).
pub const AH_SEQ_LIMIT: u32 = 0xFFFF_FFFD;

/// An instance's AH sequence number state, keepalived 2.2.7's
/// `ipsecah_counter`: one counter for what it sends and what it accepts.
///
/// * It starts at 0; each advert sent increments it first (the first
///   advert carries 1), unless it is above [`AH_SEQ_LIMIT`]: then it stays
///   and `cycle` is set (one advert for every unicast peer carries the
///   same number).
/// * A received advert is accepted only with a number above the counter,
///   which then takes that number (so a backup that becomes master goes on
///   from the last master's number). Accepted in BACKUP, `cycle` clears.
/// * A master receiving a lower-priority advert sets it to that advert's
///   number plus one ("Syncing seq_num - Increment seq"), clearing
///   `cycle`; a higher-priority advert clears `cycle`.
/// * Becoming master with `cycle` set starts again from 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AhCounter {
    pub seq: u32,
    pub cycle: bool,
}

impl AhCounter {
    /// The number for the next advert sent.
    pub fn next_seq(&mut self) -> u32 {
        if self.seq > AH_SEQ_LIMIT {
            self.cycle = true;
        } else {
            self.seq += 1;
        }
        self.seq
    }

    /// A received advert's number passed [`check_counting`] (which
    /// compared it with `seq`); `backup`: the instance is in BACKUP.
    pub fn accepted(&mut self, seq: u32, backup: bool) {
        self.seq = seq;
        if backup {
            self.cycle = false;
        }
    }

    /// A master received a lower-priority advert numbered `seq`.
    pub fn sync_lower(&mut self, seq: u32) {
        self.seq = seq.wrapping_add(1);
        self.cycle = false;
    }

    /// A master received a higher-priority advert.
    pub fn sync_higher(&mut self) {
        self.cycle = false;
    }

    /// Becoming master: keepalived's anti-replay reset after a cycle.
    pub fn goto_master(&mut self) {
        if self.cycle {
            self.cycle = false;
            self.seq = 0;
        }
    }
}

/// The v2 interval field (whole seconds, at most 255) or the v3 one
/// (centiseconds, at most 4095) for an interval.
pub fn interval_field(version: VrrpVersion, interval: Duration) -> u16 {
    match version {
        VrrpVersion::V2 => interval.as_secs().min(255) as u16,
        VrrpVersion::V3 => (interval.as_millis() / 10).min(u128::from(V3_MAX_INTERVAL_CS)) as u16,
    }
}

// ------------------------------------------------------------- checksums

fn sum_words(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
        acc = (acc & 0xffff) + (acc >> 16);
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, len: usize) -> u32 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = [0u8; 12];
            h[0..4].copy_from_slice(&s.octets());
            h[4..8].copy_from_slice(&d.octets());
            h[9] = IPPROTO_VRRP;
            h[10..12].copy_from_slice(&(len as u16).to_be_bytes());
            sum_words(&h, 0)
        }
        _ => {
            let s = match src {
                IpAddr::V6(s) => s,
                IpAddr::V4(s) => s.to_ipv6_mapped(),
            };
            let d = match dst {
                IpAddr::V6(d) => d,
                IpAddr::V4(d) => d.to_ipv6_mapped(),
            };
            let mut h = [0u8; 40];
            h[0..16].copy_from_slice(&s.octets());
            h[16..32].copy_from_slice(&d.octets());
            h[32..36].copy_from_slice(&(len as u32).to_be_bytes());
            h[39] = IPPROTO_VRRP;
            sum_words(&h, 0)
        }
    }
}

/// The checksum of a VRRP message whose checksum field is 0 (or, when
/// verifying, the value 0 for a correct one).
fn message_checksum(msg: &[u8], version: VrrpVersion, src: IpAddr, dst: IpAddr) -> u16 {
    let pseudo = src.is_ipv6() || version == VrrpVersion::V3;
    let acc = if pseudo {
        pseudo_sum(src, dst, msg.len())
    } else {
        0
    };
    fold(sum_words(msg, acc))
}

/// Whether a received VRRP message's checksum is right, as keepalived
/// computes it for `version` (the message's own version field decides
/// nothing: keepalived uses the configured one, which [`check`] has
/// verified first).
pub fn checksum_ok(msg: &[u8], version: VrrpVersion, src: IpAddr, dst: IpAddr) -> bool {
    message_checksum(msg, version, src, dst) == 0
}

// ------------------------------------------------------------- receive checks

/// What an instance expects of the adverts it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect<'a> {
    pub family: Family,
    pub version: VrrpVersion,
    /// [`AUTH_NONE`], [`AUTH_PASS`] or [`AUTH_AH`] (v2).
    pub auth_type: u8,
    /// The PASS password, zero padded as keepalived keeps it.
    pub password: [u8; AUTH_LEN],
    /// The configured advert interval (v2 adverts must carry it).
    pub adver_int: Duration,
    /// The configured virtual addresses (`virtual_ipaddress`, in order).
    pub vips: &'a [IpAddr],
    /// `!skip_check_adv_addr`: verify the count and the addresses.
    pub check_addrs: bool,
    pub unicast_peers: &'a [UnicastPeer],
    /// `check_unicast_src` (instance or global).
    pub check_unicast_src: bool,
    /// AH: the instance's sequence number counter ([`AhCounter::seq`]); an
    /// advert must carry a higher one.
    pub ah_seq: u32,
}

/// What the socket told about a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxMeta {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL / hop limit, when the kernel reported it.
    pub ttl: Option<u8>,
    /// IPv4: the header's total length and the number of bytes received
    /// (IP header included), from [`Ipv4Rx`].
    pub ipv4_lengths: Option<(u16, usize)>,
    /// IPv4: the IP and AH headers, when an AH header preceded the
    /// message.
    pub ah: Option<AhRx>,
}

impl RxMeta {
    /// From a parsed IPv4 datagram.
    pub fn from_ipv4(p: &Ipv4Rx<'_>) -> RxMeta {
        RxMeta {
            src: IpAddr::V4(p.src),
            dst: IpAddr::V4(p.dst),
            ttl: Some(p.ttl),
            ipv4_lengths: Some((p.total_len, p.received_len)),
            ah: p.ah,
        }
    }

    /// For an IPv6 message (source, packet-info destination, hop limit).
    pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: Option<u8>) -> RxMeta {
        RxMeta {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl: hop_limit,
            ipv4_lengths: None,
            ah: None,
        }
    }
}

/// A message that passed [`check`] up to the point where keepalived counts
/// it as a received advert, or failed before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub advert: Advert,
    /// `Err` when a check after the "advert received" count failed
    /// (address list, unicast source, peer TTL range).
    pub late_reject: Option<Reject>,
}

/// keepalived 2.2.7's `vrrp_check_packet`, in its order:
///
/// 1. IPv4: an AH header present if and only if AH is configured
///    (AhUnexpected / AhMissing, counted as AuthTypeMismatch);
/// 2. the length implied by the header's version and count, then
///    ([`Advert::decode`]) the structure (PacketLength);
/// 3. multicast instances: TTL / hop limit 255 (IpTtl);
/// 4. the configured version (Version);
/// 5. v2: auth type known (InvalidAuthType), equal to the configured one
///    (AuthTypeMismatch), the PASS password (AuthFailure); AH: a next
///    header other than 112 is ignored (AhOtherProtocol), then the ICV
///    (AhIcv), the SPI (AhSpi) and the sequence number (AhSequence), all
///    counted as AuthFailure; the advert interval equal to the configured
///    one (AdvertInterval);
/// 6. type 1 (InvalidType);
/// 7. unless `skip_check_adv_addr`: the address count (AddressList);
/// 8. IPv4: total length equal to the bytes received (PacketLength);
/// 9. the checksum (Checksum);
/// 10. a multicast destination if and only if no unicast peers
///     (AddressList).
///
/// Then keepalived counts the advert as received and, unless
/// `skip_check_adv_addr`, checks that every VIP is in it (AddressList), and
/// for unicast with `check_unicast_src` that the source is a peer
/// (UnicastSource) with a TTL in its range (IpTtl): those land in
/// [`Checked::late_reject`].
pub fn check(vrrp: &[u8], meta: &RxMeta, exp: &Expect<'_>) -> Result<Checked, Reject> {
    check_counting(vrrp, meta, exp).0
}

/// [`check`], and the AH sequence number it accepted, if it got that far:
/// keepalived advances the instance's counter as soon as the number
/// passes, even when a later check rejects the advert (give it to
/// [`AhCounter::accepted`]).
pub fn check_counting(
    vrrp: &[u8],
    meta: &RxMeta,
    exp: &Expect<'_>,
) -> (Result<Checked, Reject>, Option<u32>) {
    let mut ah_seq = None;
    let r = check_inner(vrrp, meta, exp, &mut ah_seq);
    (r, ah_seq)
}

fn check_inner(
    vrrp: &[u8],
    meta: &RxMeta,
    exp: &Expect<'_>,
    ah_seq: &mut Option<u32>,
) -> Result<Checked, Reject> {
    let unicast = !exp.unicast_peers.is_empty();
    if exp.family == Family::Ipv4 && meta.ah.is_some() != (exp.auth_type == AUTH_AH) {
        return Err(if meta.ah.is_some() {
            Reject::AhUnexpected
        } else {
            Reject::AhMissing
        });
    }
    let exp_len = expected_len(vrrp, exp.family).ok_or(Reject::PacketLength)?;
    if vrrp.len() != exp_len {
        return Err(Reject::PacketLength);
    }
    if !unicast && meta.ttl.is_some_and(|t| t != VRRP_TTL) {
        return Err(Reject::IpTtl);
    }
    if vrrp[0] >> 4 != exp.version.number() {
        return Err(Reject::Version);
    }
    let advert = Advert::decode(vrrp, exp.family)?;
    if exp.version == VrrpVersion::V2 {
        if !matches!(advert.auth_type, AUTH_NONE | AUTH_PASS | AUTH_AH) {
            return Err(Reject::InvalidAuthType);
        }
        if advert.auth_type != exp.auth_type {
            return Err(Reject::AuthTypeMismatch);
        }
        if exp.auth_type == AUTH_PASS
            && exp.family == Family::Ipv4
            && !constant_time_eq(&advert.auth_data, &exp.password)
        {
            return Err(Reject::AuthFailure);
        }
        if exp.auth_type == AUTH_AH {
            // The configuration refuses AH on IPv6, so an AH instance is
            // IPv4 and the header was checked present above.
            let ah = meta.ah.as_ref().ok_or(Reject::AhMissing)?;
            if ah.next_header() != IPPROTO_VRRP {
                return Err(Reject::AhOtherProtocol);
            }
            if !ah_icv_ok(ah, vrrp, &exp.password, unicast) {
                return Err(Reject::AhIcv);
            }
            if ah.spi() != ah.saddr() {
                return Err(Reject::AhSpi {
                    saddr: u32::from_ne_bytes(ah.saddr()),
                    spi: u32::from_ne_bytes(ah.spi()),
                });
            }
            let seq = ah.seq();
            if seq <= exp.ah_seq {
                return Err(Reject::AhSequence {
                    seq,
                    local: exp.ah_seq,
                });
            }
            *ah_seq = Some(seq);
        }
        if Duration::from_secs(u64::from(advert.interval)) != exp.adver_int {
            return Err(Reject::AdvertInterval);
        }
    }
    if advert.kind != TYPE_ADVERT {
        return Err(Reject::InvalidType);
    }
    if exp.check_addrs && advert.addrs.len() != exp.vips.len() {
        return Err(Reject::AddressList);
    }
    if let Some((total, received)) = meta.ipv4_lengths
        && usize::from(total) != received
    {
        return Err(Reject::PacketLength);
    }
    if !checksum_ok(vrrp, exp.version, meta.src, meta.dst) {
        return Err(Reject::Checksum);
    }
    if meta.dst.is_multicast() == unicast {
        return Err(Reject::AddressList);
    }
    let mut late_reject = None;
    if exp.check_addrs {
        if exp.vips.iter().any(|v| !advert.addrs.contains(v)) {
            late_reject = Some(Reject::AddressList);
        } else if unicast && exp.check_unicast_src {
            match exp.unicast_peers.iter().find(|p| p.addr == meta.src) {
                None => late_reject = Some(Reject::UnicastSource),
                Some(p) => {
                    if meta.ttl.is_some_and(|t| t < p.min_ttl || t > p.max_ttl) {
                        late_reject = Some(Reject::IpTtl);
                    }
                }
            }
        }
    }
    Ok(Checked {
        advert,
        late_reject,
    })
}

fn constant_time_eq(a: &[u8; AUTH_LEN], b: &[u8; AUTH_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// keepalived's `auth_data`: the password's first 8 bytes, zero padded.
pub fn password_bytes(password: &[u8]) -> [u8; AUTH_LEN] {
    let mut p = [0u8; AUTH_LEN];
    let n = password.len().min(AUTH_LEN);
    p[..n].copy_from_slice(&password[..n]);
    p
}

#[cfg(test)]
mod tests;
