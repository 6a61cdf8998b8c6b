//! The machine's addresses, for `ha_suspend`.
//!
//! keepalived's checker process watches RTM_NEWADDR/RTM_DELADDR and runs
//! the checkers of a virtual server with `ha_suspend` only while the
//! virtual server's address is configured on the machine. The check
//! worker's sandbox has no netlink, so the parent watches: a NETLINK_ROUTE
//! socket bound to the IPv4 and IPv6 address groups, which it only reads
//! (plus one RTM_GETADDR dump when it opens it), and the set of (address,
//! interface) pairs the kernel reports. The daemon tells the check worker
//! when an `ha_suspend` address comes or goes (`ToWorker::VsAddress`) and
//! gives it the present ones in its slice; the checker logic stays in the
//! worker.
//!
//! The same address on several interfaces (IPv6 link-local) counts as
//! present until its last one goes, as keepalived counts it.

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, netlink::SocketAddrNetlink,
};
use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const IFADDRMSG: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR (keepalived's checker
/// subscribes to RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR).
const GROUPS: u32 = 0x10 | 0x100;
/// How long the dump at open may take.
const DUMP_TIMEOUT: Duration = Duration::from_secs(2);
const BUF: usize = 64 * 1024;

/// What one netlink message said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An address on an interface (RTM_NEWADDR, also each dump entry).
    Added { addr: IpAddr, ifindex: u32 },
    /// RTM_DELADDR.
    Removed { addr: IpAddr, ifindex: u32 },
    /// The end of a dump.
    Done,
    /// An NLMSG_ERROR with this (positive) errno; 0 is an acknowledgement.
    Error(i32),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The address of an RTM_NEWADDR/RTM_DELADDR body: IFA_LOCAL when there is
/// one (keepalived's choice: on point-to-point links IFA_ADDRESS is the
/// peer's), else IFA_ADDRESS. `None` for other families or a bad body.
fn parse_addr(body: &[u8]) -> Option<(IpAddr, u32)> {
    let family = *body.first()?;
    let ifindex = u32_at(body, 4)?;
    let ip = |d: &[u8]| -> Option<IpAddr> {
        match family {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(d).ok()?))),
            AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(d).ok()?))),
            _ => None,
        }
    };
    let (mut local, mut address) = (None, None);
    let mut at = IFADDRMSG;
    while at + 4 <= body.len() {
        let len = usize::from(u16_at(body, at)?);
        let ty = u16_at(body, at + 2)? & 0x3fff;
        if len < 4 || at + len > body.len() {
            break;
        }
        let data = &body[at + 4..at + len];
        match ty {
            IFA_LOCAL => local = ip(data),
            IFA_ADDRESS => address = ip(data),
            _ => {}
        }
        at += (len + 3) & !3;
    }
    Some((local.or(address)?, ifindex))
}

/// Every event in a datagram from the kernel (malformed parts are
/// skipped; decoding never panics).
pub fn parse(mut b: &[u8]) -> Vec<Event> {
    let mut out = Vec::new();
    while b.len() >= NLMSG_HDR {
        let (Some(len), Some(ty)) = (u32_at(b, 0), u16_at(b, 4)) else {
            break;
        };
        let len = len as usize;
        if len < NLMSG_HDR || len > b.len() {
            break;
        }
        let body = &b[NLMSG_HDR..len];
        match ty {
            RTM_NEWADDR | RTM_DELADDR => {
                if let Some((addr, ifindex)) = parse_addr(body) {
                    out.push(if ty == RTM_NEWADDR {
                        Event::Added { addr, ifindex }
                    } else {
                        Event::Removed { addr, ifindex }
                    });
                }
            }
            NLMSG_DONE => out.push(Event::Done),
            NLMSG_ERROR => {
                let e = u32_at(body, 0).map_or(0, |e| e as i32);
                out.push(Event::Error(-e));
            }
            _ => {}
        }
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    out
}

/// The RTM_GETADDR dump request (both families).
pub fn dump_request(seq: u32) -> Vec<u8> {
    let len = (NLMSG_HDR + IFADDRMSG) as u32;
    let mut m = Vec::with_capacity(len as usize);
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&RTM_GETADDR.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[0u8; IFADDRMSG]);
    m
}

/// The addresses on the machine, with the interface each is on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Addresses {
    on: BTreeSet<(IpAddr, u32)>,
}

impl Addresses {
    pub fn apply(&mut self, e: &Event) {
        match *e {
            Event::Added { addr, ifindex } => {
                self.on.insert((addr, ifindex));
            }
            Event::Removed { addr, ifindex } => {
                self.on.remove(&(addr, ifindex));
            }
            Event::Done | Event::Error(_) => {}
        }
    }

    /// Whether `addr` is on at least one interface.
    pub fn present(&self, addr: IpAddr) -> bool {
        self.on.range((addr, 0)..=(addr, u32::MAX)).next().is_some()
    }

    /// Those of `watched` that are present.
    pub fn present_of(&self, watched: &BTreeSet<IpAddr>) -> BTreeSet<IpAddr> {
        watched
            .iter()
            .copied()
            .filter(|a| self.present(*a))
            .collect()
    }
}

/// The socket and what it has reported.
pub struct Watcher {
    fd: OwnedFd,
    addrs: Addresses,
    buf: Vec<u8>,
}

fn open_socket() -> io::Result<(OwnedFd, Addresses)> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        None, // NETLINK_ROUTE
    )?;
    rustix::net::bind(&fd, &SocketAddrNetlink::new(0, GROUPS))?;
    rustix::net::sockopt::set_socket_timeout(
        &fd,
        rustix::net::sockopt::Timeout::Recv,
        Some(DUMP_TIMEOUT),
    )?;
    rustix::net::send(&fd, &dump_request(1), SendFlags::empty())?;
    let mut addrs = Addresses::default();
    let mut buf = vec![0u8; BUF];
    'dump: loop {
        let (n, _) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty())?;
        for e in parse(&buf[..n.min(BUF)]) {
            match e {
                Event::Done => break 'dump,
                Event::Error(errno) if errno != 0 => {
                    return Err(io::Error::from_raw_os_error(errno));
                }
                e => addrs.apply(&e),
            }
        }
    }
    rustix::io::ioctl_fionbio(&fd, true)?;
    Ok((fd, addrs))
}

impl Watcher {
    /// Subscribe to the address groups, read the current addresses, and
    /// watch the socket on `registry` with `token`.
    pub fn open(registry: &Registry, token: Token) -> io::Result<Watcher> {
        let (fd, addrs) = open_socket()?;
        registry.register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)?;
        Ok(Watcher {
            fd,
            addrs,
            buf: vec![0u8; BUF],
        })
    }

    pub fn addresses(&self) -> &Addresses {
        &self.addrs
    }

    /// Read what the kernel reported. When the socket overran (ENOBUFS:
    /// changes were lost), start afresh with a new socket and dump.
    pub fn read(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        loop {
            match rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()) {
                Ok((n, _)) => {
                    for e in parse(&self.buf[..n.min(BUF)]) {
                        self.addrs.apply(&e);
                    }
                }
                Err(rustix::io::Errno::AGAIN) => return Ok(()),
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::NOBUFS) => {
                    let _ = registry.deregister(&mut SourceFd(&self.fd.as_raw_fd()));
                    *self = Watcher::open(registry, token)?;
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Stop watching.
    pub fn close(self, registry: &Registry) {
        let _ = registry.deregister(&mut SourceFd(&self.fd.as_raw_fd()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlmsg(ty: u16, flags: u16, body: &[u8]) -> Vec<u8> {
        let len = (NLMSG_HDR + body.len()) as u32;
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&[0u8; 8]);
        m.extend_from_slice(body);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    fn attr(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(data);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn ifaddr(family: u8, ifindex: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![family, 24, 0, 0];
        b.extend_from_slice(&ifindex.to_ne_bytes());
        for a in attrs {
            b.extend_from_slice(a);
        }
        b
    }

    #[test]
    fn parses_new_and_deleted_addresses_of_both_families() {
        let v4: Ipv4Addr = "10.0.0.1".parse().unwrap();
        let peer: Ipv4Addr = "10.0.0.2".parse().unwrap();
        let v6: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut d = nlmsg(
            RTM_NEWADDR,
            2,
            &ifaddr(
                AF_INET,
                3,
                &[
                    attr(IFA_ADDRESS, &peer.octets()),
                    attr(IFA_LOCAL, &v4.octets()),
                    attr(3, b"eth0\0"),
                ],
            ),
        );
        d.extend(nlmsg(
            RTM_DELADDR,
            0,
            &ifaddr(AF_INET6, 4, &[attr(IFA_ADDRESS, &v6.octets())]),
        ));
        // Another family, a truncated attribute, an unknown type: skipped.
        d.extend(nlmsg(RTM_NEWADDR, 0, &ifaddr(7, 4, &[attr(1, &[1, 2])])));
        d.extend(nlmsg(RTM_NEWADDR, 0, &ifaddr(AF_INET, 4, &[attr(1, &[1])])));
        d.extend(nlmsg(16, 0, &[0; 16]));
        d.extend(nlmsg(NLMSG_DONE, 2, &[0; 4]));
        d.extend(nlmsg(NLMSG_ERROR, 0, &(-105i32).to_ne_bytes()));
        assert_eq!(
            parse(&d),
            [
                Event::Added {
                    addr: v4.into(),
                    ifindex: 3
                },
                Event::Removed {
                    addr: v6.into(),
                    ifindex: 4
                },
                Event::Done,
                Event::Error(105),
            ]
        );
    }

    #[test]
    fn malformed_datagrams_never_panic() {
        let good = nlmsg(
            RTM_NEWADDR,
            0,
            &ifaddr(AF_INET, 1, &[attr(IFA_LOCAL, &[10, 0, 0, 1])]),
        );
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        let mut bad = good.clone();
        bad[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse(&bad).is_empty());
        bad[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(parse(&bad).is_empty());
        // An attribute longer than the body ends the attributes.
        let mut b = ifaddr(AF_INET, 1, &[]);
        b.extend_from_slice(&200u16.to_ne_bytes());
        b.extend_from_slice(&IFA_LOCAL.to_ne_bytes());
        assert!(parse(&nlmsg(RTM_NEWADDR, 0, &b)).is_empty());
    }

    #[test]
    fn an_address_is_present_until_its_last_interface_loses_it() {
        let a: IpAddr = "fe80::1".parse().unwrap();
        let b: IpAddr = "10.0.0.1".parse().unwrap();
        let watched: BTreeSet<IpAddr> = [a, b].into();
        let mut s = Addresses::default();
        assert!(s.present_of(&watched).is_empty());
        s.apply(&Event::Added {
            addr: a,
            ifindex: 2,
        });
        s.apply(&Event::Added {
            addr: a,
            ifindex: 3,
        });
        // Reported twice (a flags change): still one.
        s.apply(&Event::Added {
            addr: a,
            ifindex: 3,
        });
        s.apply(&Event::Added {
            addr: "10.0.0.2".parse().unwrap(),
            ifindex: 2,
        });
        assert_eq!(s.present_of(&watched), [a].into());
        s.apply(&Event::Removed {
            addr: a,
            ifindex: 3,
        });
        assert!(s.present(a));
        s.apply(&Event::Removed {
            addr: a,
            ifindex: 2,
        });
        assert!(!s.present(a) && !s.present(b));
    }

    #[test]
    fn the_dump_request_is_an_rtm_getaddr_dump() {
        let r = dump_request(7);
        assert_eq!(r.len(), 24);
        assert_eq!(u32_at(&r, 0), Some(24));
        assert_eq!(u16_at(&r, 4), Some(RTM_GETADDR));
        assert_eq!(u16_at(&r, 6), Some(NLM_F_REQUEST | NLM_F_DUMP));
        assert_eq!(u32_at(&r, 8), Some(7));
        assert_eq!(r[16], 0, "both families");
    }
}
