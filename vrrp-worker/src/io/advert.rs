//! Raw IP sockets for VRRP adverts: one per interface, family and IP
//! protocol (112, or 51 for AH), shared by every instance on that
//! interface.
//!
//! Each socket is bound to its interface (`SO_BINDTODEVICE`), joins the
//! multicast groups it is given there, sends with the outgoing multicast
//! interface set explicitly (`IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`), a TTL
//! / hop limit of 255 (multicast and unicast), traffic class 0xc0 (as
//! keepalived), no multicast loopback, no DF bit on IPv4. The source address
//! of each advert is chosen per send with a packet-info control message, so
//! instances with different `mcast_src_ip`/`unicast_src_ip` share it.
//!
//! An IPv4 socket for AH (protocol 51) sends whole datagrams it is given
//! (`IP_HDRINCL`), as keepalived's: the AH ICV covers the IP header, so
//! its id and length must be ours, not the kernel's.
//!
//! Receiving: IPv4 raw sockets deliver the IP header with the payload, from
//! which the TTL, source and destination are read; IPv6 ones deliver the
//! payload, with the hop limit and destination in `IPV6_HOPLIMIT` and
//! `IPV6_PKTINFO` control messages.

use crate::sys::{self, SockAddr};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of AH (VRRPv2 `auth_type AH`).
pub const IPPROTO_AH: u8 = 51;
/// keepalived's traffic class for adverts (IPTOS_PREC_INTERNETCONTROL).
pub const ADVERT_TOS: u8 = 0xc0;

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpFamily {
    V4,
    V6,
}

impl IpFamily {
    pub fn of(ip: &IpAddr) -> IpFamily {
        if ip.is_ipv4() {
            IpFamily::V4
        } else {
            IpFamily::V6
        }
    }
}

/// A received advert with what validation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// The interface it came in on.
    pub ifindex: u32,
    /// The socket's IP protocol (112, or 51 for AH).
    pub protocol: u8,
    /// IPv4: the whole datagram as received, IP header included (the
    /// codec checks its lengths and AH authenticates the header); IPv6:
    /// the VRRP message.
    pub data: Vec<u8>,
    /// Where the IP header ends in `data` (0 for IPv6).
    pub header_len: usize,
}

impl Received {
    /// What follows the IP header (the VRRP message, or AH and VRRP).
    pub fn payload(&self) -> &[u8] {
        &self.data[self.header_len.min(self.data.len())..]
    }

    /// IPv4: the IP header.
    pub fn ip_header(&self) -> &[u8] {
        &self.data[..self.header_len.min(self.data.len())]
    }
}

/// Why a datagram was not handed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvError {
    /// Not a well-formed IP packet of our protocol (IPv4 header checks),
    /// or missing control information (IPv6).
    Malformed(&'static str),
    /// Longer than the receive buffer.
    Truncated,
}

/// One raw socket.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: OwnedFd,
    family: IpFamily,
    protocol: u8,
    ifindex: u32,
    ifname: String,
    groups: Vec<IpAddr>,
}

/// Largest datagram we accept: an IPv4 header with options, AH, a VRRP
/// header and 255 IPv6 addresses fit in well under this.
const RECV_BUF: usize = 8192;

fn ttl_opt(fd: &OwnedFd, family: IpFamily, ttl: u8) -> io::Result<()> {
    let t = libc::c_int::from(ttl);
    match family {
        IpFamily::V4 => {
            sys::setsockopt_int(fd.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, t)?;
            sys::setsockopt_int(fd.as_fd(), libc::IPPROTO_IP, libc::IP_TTL, t)
        }
        IpFamily::V6 => {
            sys::setsockopt_int(fd.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, t)?;
            sys::setsockopt_int(fd.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, t)
        }
    }
}

impl VrrpSocket {
    /// A non-blocking raw socket for IP protocol `protocol` on interface
    /// `ifname` (index `ifindex`), joined to `groups` (multicast addresses
    /// of `family`; others are ignored) on that interface.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        family: IpFamily,
        protocol: u8,
        groups: &[IpAddr],
    ) -> io::Result<VrrpSocket> {
        let domain = match family {
            IpFamily::V4 => libc::AF_INET,
            IpFamily::V6 => libc::AF_INET6,
        };
        let fd = sys::socket(domain, libc::SOCK_RAW, libc::c_int::from(protocol), true)?;
        let f = fd.as_fd();
        sys::bind_to_device(f, ifname)?;
        match family {
            IpFamily::V4 => {
                sys::set_mreqn(f, libc::IP_MULTICAST_IF, Ipv4Addr::UNSPECIFIED, ifindex)?;
                sys::setsockopt_int(f, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, 0)?;
                sys::setsockopt_int(f, libc::IPPROTO_IP, libc::IP_TOS, ADVERT_TOS.into())?;
                sys::setsockopt_int(
                    f,
                    libc::IPPROTO_IP,
                    libc::IP_MTU_DISCOVER,
                    libc::IP_PMTUDISC_DONT,
                )?;
                if protocol == IPPROTO_AH {
                    sys::setsockopt_int(f, libc::IPPROTO_IP, libc::IP_HDRINCL, 1)?;
                }
            }
            IpFamily::V6 => {
                sys::setsockopt_int(
                    f,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_IF,
                    ifindex as libc::c_int,
                )?;
                sys::setsockopt_int(f, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 0)?;
                sys::setsockopt_int(f, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, ADVERT_TOS.into())?;
                sys::setsockopt_int(f, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
                sys::setsockopt_int(f, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
            }
        }
        ttl_opt(&fd, family, 255)?;
        let mut s = VrrpSocket {
            fd,
            family,
            protocol,
            ifindex,
            ifname: ifname.to_string(),
            groups: Vec::new(),
        };
        for g in groups {
            s.join(*g)?;
        }
        Ok(s)
    }

    /// Join multicast group `group` on the socket's interface (again is a
    /// no-op).
    pub fn join(&mut self, group: IpAddr) -> io::Result<()> {
        if IpFamily::of(&group) != self.family
            || !group.is_multicast()
            || self.groups.contains(&group)
        {
            return Ok(());
        }
        match group {
            IpAddr::V4(g) => {
                sys::set_mreqn(self.fd.as_fd(), libc::IP_ADD_MEMBERSHIP, g, self.ifindex)?
            }
            IpAddr::V6(g) => {
                sys::set_mreq6(self.fd.as_fd(), libc::IPV6_ADD_MEMBERSHIP, g, self.ifindex)?
            }
        }
        self.groups.push(group);
        Ok(())
    }

    /// Leave a group joined with [`VrrpSocket::join`].
    pub fn leave(&mut self, group: IpAddr) -> io::Result<()> {
        let Some(pos) = self.groups.iter().position(|g| *g == group) else {
            return Ok(());
        };
        self.groups.remove(pos);
        match group {
            IpAddr::V4(g) => {
                sys::set_mreqn(self.fd.as_fd(), libc::IP_DROP_MEMBERSHIP, g, self.ifindex)
            }
            IpAddr::V6(g) => {
                sys::set_mreq6(self.fd.as_fd(), libc::IPV6_DROP_MEMBERSHIP, g, self.ifindex)
            }
        }
    }

    /// The TTL / hop limit of what this socket sends from now on
    /// (`unicast_ttl`; 255 by default).
    pub fn set_ttl(&self, ttl: u8) -> io::Result<()> {
        ttl_opt(&self.fd, self.family, ttl)
    }

    pub fn family(&self) -> IpFamily {
        self.family
    }
    pub fn protocol(&self) -> u8 {
        self.protocol
    }
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
    pub fn ifname(&self) -> &str {
        &self.ifname
    }
    pub fn groups(&self) -> &[IpAddr] {
        &self.groups
    }

    /// Whether [`VrrpSocket::send`] takes whole IPv4 datagrams (an IPv4 AH
    /// socket: `IP_HDRINCL`).
    pub fn header_included(&self) -> bool {
        self.family == IpFamily::V4 && self.protocol == IPPROTO_AH
    }

    /// Send `payload` (a VRRP packet; on an IPv4 AH socket the whole
    /// datagram, whose header gives the TTL) to `dst` from `src` (`None`: the
    /// kernel's choice), with TTL / hop limit `ttl` (`None`: the socket's,
    /// 255 unless [`VrrpSocket::set_ttl`] changed it). Returns
    /// `WouldBlock` when the socket's buffer is full.
    pub fn send(
        &self,
        payload: &[u8],
        src: Option<IpAddr>,
        dst: IpAddr,
        ttl: Option<u8>,
    ) -> io::Result<()> {
        if IpFamily::of(&dst) != self.family || src.is_some_and(|s| IpFamily::of(&s) != self.family)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "address family does not match the socket",
            ));
        }
        let scope = match dst {
            IpAddr::V6(a) if a.is_multicast() || a.is_unicast_link_local() => self.ifindex,
            _ => 0,
        };
        let n = sys::sendmsg_from(
            self.fd.as_fd(),
            payload,
            &SockAddr::ip(dst, scope),
            src,
            self.ifindex,
            ttl,
        )?;
        if n != payload.len() {
            return Err(io::Error::other(format!(
                "short send: {n} of {} bytes",
                payload.len()
            )));
        }
        Ok(())
    }

    /// The next datagram: `Ok(None)` when there is none (would block).
    /// A datagram that cannot be an advert is returned as `Err(RecvError)`
    /// inside `Ok(Some(..))`, so the caller can count it and read on.
    pub fn recv(&self) -> io::Result<Option<Result<Received, RecvError>>> {
        let mut buf = [0u8; RECV_BUF];
        let meta = loop {
            match sys::recvmsg(self.fd.as_fd(), &mut buf) {
                Ok(m) => break m,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        if meta.truncated {
            return Ok(Some(Err(RecvError::Truncated)));
        }
        let data = &buf[..meta.len];
        Ok(Some(match self.family {
            IpFamily::V4 => parse_ipv4(data, self.protocol, self.ifindex),
            IpFamily::V6 => {
                match (
                    meta.from.and_then(|f| f.ip_addr()),
                    meta.dst,
                    meta.hop_limit,
                ) {
                    (Some(src), Some(dst), Some(ttl)) => Ok(Received {
                        src,
                        dst,
                        ttl,
                        ifindex: meta.ifindex.unwrap_or(self.ifindex),
                        protocol: self.protocol,
                        data: data.to_vec(),
                        header_len: 0,
                    }),
                    _ => Err(RecvError::Malformed("missing IPv6 packet information")),
                }
            }
        }))
    }
}

/// Check and describe a datagram from an IPv4 raw socket. Only what is
/// needed to read the addresses and TTL is checked here; the lengths are
/// the codec's to judge (keepalived counts those drops).
pub fn parse_ipv4(data: &[u8], protocol: u8, ifindex: u32) -> Result<Received, RecvError> {
    if data.len() < 20 || data[0] >> 4 != 4 {
        return Err(RecvError::Malformed("not an IPv4 packet"));
    }
    let ihl = usize::from(data[0] & 0x0f) * 4;
    if ihl < 20 || ihl > data.len() {
        return Err(RecvError::Malformed("bad IPv4 header length"));
    }
    if data[9] != protocol {
        return Err(RecvError::Malformed("wrong IP protocol"));
    }
    let src = Ipv4Addr::new(data[12], data[13], data[14], data[15]);
    let dst = Ipv4Addr::new(data[16], data[17], data[18], data[19]);
    Ok(Received {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl: data[8],
        ifindex,
        protocol,
        data: data.to_vec(),
        header_len: ihl,
    })
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip4(payload: &[u8], ttl: u8, proto: u8) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut v = vec![0x45, 0xc0];
        v.extend_from_slice(&total.to_be_bytes());
        v.extend_from_slice(&[0, 1, 0, 0, ttl, proto, 0, 0]);
        v.extend_from_slice(&[10, 0, 0, 1, 224, 0, 0, 18]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ipv4_datagrams_are_split_and_checked() {
        let p = [0x21, 51, 100, 1, 0, 1, 0, 0, 10, 0, 0, 100];
        let r = parse_ipv4(&ip4(&p, 255, 112), 112, 3).unwrap();
        assert_eq!(r.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(r.dst, "224.0.0.18".parse::<IpAddr>().unwrap());
        assert_eq!(r.ttl, 255);
        assert_eq!(r.payload(), p);
        assert_eq!(r.ip_header().len(), 20);
        assert_eq!(r.ifindex, 3);
        assert!(parse_ipv4(&ip4(&p, 255, 51), 112, 3).is_err());
        assert!(parse_ipv4(&ip4(&p, 255, 112)[..19], 112, 3).is_err());
        let mut short_ihl = ip4(&p, 255, 112);
        short_ihl[0] = 0x44;
        assert!(parse_ipv4(&short_ihl, 112, 3).is_err());
        let mut long_ihl = ip4(&p, 255, 112);
        long_ihl[0] = 0x4f;
        assert!(parse_ipv4(&long_ihl, 112, 3).is_err());
        for cut in 0..32 {
            let _ = parse_ipv4(&ip4(&p, 1, 112)[..cut], 112, 3);
        }
    }
}
