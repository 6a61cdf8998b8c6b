//! rtnetlink, with a small encoder and decoder of our own: interface
//! lookups (index, name, MAC, flags), address dumps, VIP add/remove and
//! link/address events.
//!
//! Two sockets: [`Rtnl`] for requests (blocking, with a receive timeout;
//! the kernel answers a request before `sendto` returns, so waiting for the
//! answer never blocks for long) and [`RtEvents`], non-blocking and
//! subscribed to the link and address groups, for the worker's mio loop.
//! Both accept messages from the kernel (port id 0) only.

use crate::sys::{self, SockAddr};
use config::model::vrrp::IpAddress;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

// Message types and flags (linux/netlink.h, linux/rtnetlink.h).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_MACVLAN_MODE: u16 = 1;
/// linux/if_link.h `MACVLAN_MODE_PRIVATE`.
pub const MACVLAN_MODE_PRIVATE: u32 = 1;
const NLA_F_NESTED: u16 = 0x8000;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;

/// Address flags (linux/if_addr.h).
pub const IFA_F_SECONDARY: u32 = 0x01;
pub const IFA_F_NODAD: u32 = 0x02;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_HOMEADDRESS: u32 = 0x10;
pub const IFA_F_DEPRECATED: u32 = 0x20;
pub const IFA_F_TENTATIVE: u32 = 0x40;
pub const IFA_F_MANAGETEMPADDR: u32 = 0x100;
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;
pub const IFA_F_MCAUTOJOIN: u32 = 0x400;

/// Link flags (linux/if.h).
pub const IFF_UP: u32 = 0x1;
pub const IFF_RUNNING: u32 = 0x40;

/// The multicast groups of [`RtEvents`] (RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
/// RTMGRP_IPV6_IFADDR).
const EVENT_GROUPS: u32 = 0x1 | 0x10 | 0x100;

const HDR: usize = 16;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// An interface, from a link dump or event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// The link-layer address (6 bytes on Ethernet).
    pub mac: Vec<u8>,
    pub flags: u32,
    pub mtu: u32,
    pub operstate: u8,
    /// IFLA_LINK: the lower interface (a macvlan's base).
    pub lower: Option<u32>,
    /// IFLA_INFO_KIND (`macvlan`, `veth`, ...).
    pub kind: Option<String>,
    /// A macvlan's IFLA_MACVLAN_MODE.
    pub macvlan_mode: Option<u32>,
}

impl LinkInfo {
    /// Administratively up and running (carrier), as keepalived's
    /// `IF_ISUP`.
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0 && self.flags & IFF_RUNNING != 0
    }

    /// The MAC as 6 bytes, when it is an Ethernet-sized address.
    pub fn mac6(&self) -> Option<[u8; 6]> {
        self.mac.as_slice().try_into().ok()
    }
}

/// An address on an interface, from a dump or event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    pub index: u32,
    /// IFA_LOCAL when present (IPv4, and point-to-point), else IFA_ADDRESS.
    pub addr: IpAddr,
    pub prefix: u8,
    pub flags: u32,
    pub scope: u8,
    pub label: Option<String>,
}

/// A change the kernel announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtEvent {
    /// A link appeared or changed (flags, name, MAC...).
    Link(LinkInfo),
    /// A link was deleted.
    LinkGone(LinkInfo),
    AddrAdded(AddrInfo),
    AddrRemoved(AddrInfo),
    /// Events were lost (the socket's buffer overran): dump links and
    /// addresses again.
    Overrun,
}

/// An address to add or remove, in rtnetlink's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSpec {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    pub peer: Option<IpAddr>,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: u8,
    pub label: Option<String>,
    /// IFA_F_* flags.
    pub flags: u32,
    /// IPv6: the preferred lifetime (`None` or forever: no cache info).
    pub preferred_lft: Option<u32>,
}

impl AddrSpec {
    /// A configured `virtual_ipaddress` line on interface `ifindex`, as
    /// keepalived's `netlink_ipaddress` sends it.
    pub fn from_config(a: &IpAddress, ifindex: u32) -> AddrSpec {
        let mut flags = 0;
        if a.nodad {
            flags |= IFA_F_NODAD;
        }
        if a.home {
            flags |= IFA_F_HOMEADDRESS;
        }
        if a.mngtmpaddr {
            flags |= IFA_F_MANAGETEMPADDR;
        }
        if a.noprefixroute {
            flags |= IFA_F_NOPREFIXROUTE;
        }
        if a.autojoin {
            flags |= IFA_F_MCAUTOJOIN;
        }
        AddrSpec {
            ifindex,
            addr: a.addr,
            prefix: a.prefix,
            peer: a.peer,
            broadcast: a.broadcast,
            scope: a.scope.unwrap_or(0),
            label: a.label.clone(),
            flags,
            preferred_lft: a.preferred_lft,
        }
    }

    fn family(&self) -> u8 {
        if self.addr.is_ipv6() {
            libc::AF_INET6 as u8
        } else {
            libc::AF_INET as u8
        }
    }
}

/// The outcome of an idempotent change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// Add: the address was already there. Remove: it was not there.
    AlreadySo,
}

// ---------------------------------------------------------------- encoding

/// A request being built: header, fixed part, attributes.
pub(crate) struct Msg(Vec<u8>);

impl Msg {
    /// NLM_F_REQUEST | NLM_F_ACK.
    pub(crate) const ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;
    /// An acknowledged request that creates and fails if it exists.
    pub(crate) const CREATE_EXCL: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

    /// Attributes only (a nest's contents).
    pub(crate) fn empty() -> Msg {
        Msg(Vec::new())
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub(crate) fn new(ty: u16, flags: u16, seq: u32) -> Msg {
        let mut v = Vec::with_capacity(128);
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        Msg(v)
    }

    pub(crate) fn put(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
        self.0.resize(align4(self.0.len()), 0);
    }

    pub(crate) fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.0.extend_from_slice(&len.to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.put(data);
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[0..4].copy_from_slice(&len.to_ne_bytes());
        self.0
    }
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The RTM_NEWADDR / RTM_DELADDR request for `a`.
fn addr_request(a: &AddrSpec, add: bool, seq: u32) -> Vec<u8> {
    let (ty, flags) = if add {
        (
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
    } else {
        (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK)
    };
    let mut m = Msg::new(ty, flags, seq);
    let mut ifa = [0u8; 8];
    ifa[0] = a.family();
    ifa[1] = a.prefix;
    ifa[2] = (a.flags & 0xff) as u8;
    ifa[3] = a.scope;
    ifa[4..8].copy_from_slice(&a.ifindex.to_ne_bytes());
    m.put(&ifa);
    m.attr(IFA_LOCAL, &ip_bytes(&a.addr));
    match (a.peer, add) {
        (Some(p), _) => m.attr(IFA_ADDRESS, &ip_bytes(&p)),
        (None, false) if a.addr.is_ipv4() => m.attr(IFA_ADDRESS, &ip_bytes(&a.addr)),
        _ => {}
    }
    if add {
        if let Some(b) = a.broadcast {
            m.attr(IFA_BROADCAST, &b.octets());
        }
        if let Some(l) = &a.label {
            let mut v = l.as_bytes().to_vec();
            v.push(0);
            m.attr(IFA_LABEL, &v);
        }
        if a.flags > 0xff {
            m.attr(IFA_FLAGS, &a.flags.to_ne_bytes());
        }
        if let (true, Some(pref)) = (a.addr.is_ipv6(), a.preferred_lft) {
            if pref != u32::MAX {
                // struct ifa_cacheinfo { prefered, valid, cstamp, tstamp }
                let mut ci = [0u8; 16];
                ci[0..4].copy_from_slice(&pref.to_ne_bytes());
                ci[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
                m.attr(IFA_CACHEINFO, &ci);
            }
        }
    }
    m.finish()
}

fn dump_request(ty: u16, seq: u32) -> Vec<u8> {
    let mut m = Msg::new(ty, NLM_F_REQUEST | NLM_F_DUMP, seq);
    if ty == RTM_GETLINK {
        m.put(&[0u8; 16]); // ifinfomsg, AF_UNSPEC
    } else {
        m.put(&[0u8; 8]); // ifaddrmsg, AF_UNSPEC
    }
    m.finish()
}

// ---------------------------------------------------------------- decoding

/// One message of a datagram.
pub(crate) struct Raw<'a> {
    pub(crate) ty: u16,
    pub(crate) flags: u16,
    pub(crate) seq: u32,
    pub(crate) body: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Split a datagram into messages; stops at the first malformed one.
pub(crate) fn messages(mut b: &[u8]) -> Vec<Raw<'_>> {
    let mut out = Vec::new();
    while b.len() >= HDR {
        let Some(len) = u32_at(b, 0).map(|l| l as usize) else {
            break;
        };
        if len < HDR || len > b.len() {
            break;
        }
        out.push(Raw {
            ty: u16_at(b, 4).unwrap_or(0),
            flags: u16_at(b, 6).unwrap_or(0),
            seq: u32_at(b, 8).unwrap_or(0),
            body: &b[HDR..len],
        });
        b = &b[align4(len).min(b.len())..];
    }
    out
}

/// The attributes after a fixed part of `fixed` bytes.
pub(crate) fn attrs(body: &[u8], fixed: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut b = body.get(align4(fixed)..).unwrap_or(&[]);
    while b.len() >= 4 {
        let (Some(len), Some(ty)) = (u16_at(b, 0), u16_at(b, 2)) else {
            break;
        };
        let len = len as usize;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((ty & 0x3fff, &b[4..len]));
        b = &b[align4(len).min(b.len())..];
    }
    out
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn parse_link(body: &[u8]) -> Option<LinkInfo> {
    // struct ifinfomsg { u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change }
    let index = u32_at(body, 4)?;
    let flags = u32_at(body, 8)?;
    let mut l = LinkInfo {
        index,
        name: String::new(),
        mac: Vec::new(),
        flags,
        mtu: 0,
        operstate: 0,
        lower: None,
        kind: None,
        macvlan_mode: None,
    };
    for (ty, data) in attrs(body, 16) {
        match ty {
            IFLA_LINK => l.lower = u32_at(data, 0),
            IFLA_LINKINFO => {
                for (t, d) in attrs(data, 0) {
                    match t {
                        IFLA_INFO_KIND => l.kind = Some(cstr(d)),
                        IFLA_INFO_DATA => {
                            for (t, d) in attrs(d, 0) {
                                if t == IFLA_MACVLAN_MODE {
                                    l.macvlan_mode = u32_at(d, 0);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            IFLA_IFNAME => l.name = cstr(data),
            IFLA_ADDRESS => l.mac = data.to_vec(),
            IFLA_MTU => l.mtu = u32_at(data, 0).unwrap_or(0),
            IFLA_OPERSTATE => l.operstate = data.first().copied().unwrap_or(0),
            _ => {}
        }
    }
    Some(l)
}

fn parse_ip(family: u8, data: &[u8]) -> Option<IpAddr> {
    match (i32::from(family), data.len()) {
        (libc::AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(data).ok()?))),
        (libc::AF_INET6, 16) => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(data).ok()?))),
        _ => None,
    }
}

fn parse_addr(body: &[u8]) -> Option<AddrInfo> {
    // struct ifaddrmsg { u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index }
    let family = *body.first()?;
    let prefix = *body.get(1)?;
    let mut flags = u32::from(*body.get(2)?);
    let scope = *body.get(3)?;
    let index = u32_at(body, 4)?;
    let (mut local, mut address, mut label) = (None, None, None);
    for (ty, data) in attrs(body, 8) {
        match ty {
            IFA_LOCAL => local = parse_ip(family, data),
            IFA_ADDRESS => address = parse_ip(family, data),
            IFA_LABEL => label = Some(cstr(data)),
            IFA_FLAGS => flags = u32_at(data, 0).unwrap_or(flags),
            _ => {}
        }
    }
    Some(AddrInfo {
        index,
        addr: local.or(address)?,
        prefix,
        flags,
        scope,
        label,
    })
}

fn parse_event(m: &Raw<'_>) -> Option<RtEvent> {
    match m.ty {
        RTM_NEWLINK => parse_link(m.body).map(RtEvent::Link),
        RTM_DELLINK => parse_link(m.body).map(RtEvent::LinkGone),
        RTM_NEWADDR => parse_addr(m.body).map(RtEvent::AddrAdded),
        RTM_DELADDR => parse_addr(m.body).map(RtEvent::AddrRemoved),
        _ => None,
    }
}

/// The errno of an NLMSG_ERROR body (0 is an acknowledgement).
fn error_code(body: &[u8]) -> i32 {
    u32_at(body, 0).map_or(-libc::EPROTO, |e| e as i32)
}

// ---------------------------------------------------------------- sockets

fn open(groups: u32, nonblocking: bool) -> io::Result<OwnedFd> {
    let fd = sys::socket(
        libc::AF_NETLINK,
        libc::SOCK_RAW,
        libc::NETLINK_ROUTE,
        nonblocking,
    )?;
    sys::bind(fd.as_fd(), &SockAddr::Netlink { pid: 0, groups })?;
    Ok(fd)
}

/// Receive one datagram from the kernel; datagrams from anyone else are
/// dropped. `Ok(None)`: nothing (more) to read.
fn recv_from_kernel(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match sys::recvmsg(fd, buf) {
            Ok(meta) => {
                if !matches!(meta.from, Some(SockAddr::Netlink { pid: 0, .. })) {
                    continue;
                }
                if meta.truncated {
                    return Err(io::Error::other("netlink message truncated"));
                }
                return Ok(Some(meta.len));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

const BUF: usize = 64 * 1024;

/// The request socket.
pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    /// A socket in the caller's network namespace.
    pub fn open() -> io::Result<Rtnl> {
        let fd = open(0, false)?;
        sys::set_timeout(fd.as_fd(), libc::SO_RCVTIMEO, Duration::from_secs(2))?;
        Ok(Rtnl {
            fd,
            seq: 0,
            buf: vec![0; BUF],
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send(&self, req: &[u8]) -> io::Result<()> {
        sys::sendto(
            self.fd.as_fd(),
            req,
            &SockAddr::Netlink { pid: 0, groups: 0 },
        )
        .map(drop)
    }

    fn recv(&mut self) -> io::Result<usize> {
        match recv_from_kernel(self.fd.as_fd(), &mut self.buf)? {
            Some(n) => Ok(n),
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no answer from rtnetlink",
            )),
        }
    }

    /// Send a request with NLM_F_ACK and wait for its answer: `Ok(0)` or
    /// the positive errno the kernel returned.
    fn request(&mut self, req: Vec<u8>, seq: u32) -> io::Result<i32> {
        self.send(&req)?;
        loop {
            let n = self.recv()?;
            for m in messages(&self.buf[..n]) {
                if m.seq == seq && m.ty == NLMSG_ERROR {
                    return Ok(-error_code(m.body));
                }
            }
        }
    }

    /// Dump with RTM_GETLINK or RTM_GETADDR; each message body is given to
    /// `f`. Retried when the kernel says the dump was interrupted.
    fn dump<T>(&mut self, ty: u16, f: impl Fn(&[u8]) -> Option<T>) -> io::Result<Vec<T>> {
        'again: for _ in 0..5 {
            let seq = self.next_seq();
            self.send(&dump_request(ty, seq))?;
            let mut out = Vec::new();
            let mut interrupted = false;
            loop {
                let n = self.recv()?;
                for m in messages(&self.buf[..n]) {
                    if m.seq != seq {
                        continue;
                    }
                    if m.flags & NLM_F_DUMP_INTR != 0 {
                        interrupted = true;
                    }
                    match m.ty {
                        NLMSG_DONE => {
                            if interrupted {
                                continue 'again;
                            }
                            return Ok(out);
                        }
                        NLMSG_ERROR => {
                            return Err(io::Error::from_raw_os_error(-error_code(m.body)));
                        }
                        _ => {
                            if let Some(x) = f(m.body) {
                                out.push(x);
                            }
                            if m.flags & NLM_F_MULTI == 0 {
                                return Ok(out);
                            }
                        }
                    }
                }
            }
        }
        Err(io::Error::other("rtnetlink dump kept being interrupted"))
    }

    /// Every interface.
    pub fn links(&mut self) -> io::Result<Vec<LinkInfo>> {
        self.dump(RTM_GETLINK, parse_link)
    }

    /// One interface by name.
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<LinkInfo>> {
        Ok(self.links()?.into_iter().find(|l| l.name == name))
    }

    /// Every address of every interface.
    pub fn addresses(&mut self) -> io::Result<Vec<AddrInfo>> {
        self.dump(RTM_GETADDR, parse_addr)
    }

    /// Add `a`; an address that is already there is not an error.
    pub fn add_address(&mut self, a: &AddrSpec) -> io::Result<Applied> {
        let seq = self.next_seq();
        match self.request(addr_request(a, true, seq), seq)? {
            0 => Ok(Applied::Done),
            libc::EEXIST => Ok(Applied::AlreadySo),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Remove `a`; an address that is not there is not an error.
    pub fn del_address(&mut self, a: &AddrSpec) -> io::Result<Applied> {
        let seq = self.next_seq();
        match self.request(addr_request(a, false, seq), seq)? {
            0 => Ok(Applied::Done),
            libc::EADDRNOTAVAIL | libc::ENODEV => Ok(Applied::AlreadySo),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The RTM_NEWLINK request creating macvlan `name` on `lower` with MAC
/// `mac` in `mode`, down (keepalived's `netlink_link_add_vmac`).
pub(crate) fn macvlan_request(
    name: &str,
    lower: u32,
    mac: [u8; 6],
    mode: u32,
    seq: u32,
) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWLINK, Msg::CREATE_EXCL, seq);
    m.put(&[0u8; 16]);
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    m.attr(IFLA_IFNAME, &n);
    m.attr(IFLA_LINK, &lower.to_ne_bytes());
    m.attr(IFLA_ADDRESS, &mac);
    let mut data = Msg::empty();
    data.attr(IFLA_MACVLAN_MODE, &mode.to_ne_bytes());
    let mut info = Msg::empty();
    info.attr(IFLA_INFO_KIND, b"macvlan");
    info.attr(IFLA_INFO_DATA | NLA_F_NESTED, &data.into_bytes());
    m.attr(IFLA_LINKINFO | NLA_F_NESTED, &info.into_bytes());
    m.finish()
}

/// RTM_NEWLINK setting IFF_UP on or off on interface `index`.
pub(crate) fn link_updown_request(index: u32, up: bool, seq: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWLINK, Msg::ACK, seq);
    // struct ifinfomsg { family, pad, type, index, flags, change }
    let mut ifi = [0u8; 16];
    ifi[4..8].copy_from_slice(&index.to_ne_bytes());
    ifi[8..12].copy_from_slice(&(if up { IFF_UP } else { 0 }).to_ne_bytes());
    ifi[12..16].copy_from_slice(&IFF_UP.to_ne_bytes());
    m.put(&ifi);
    m.finish()
}

/// RTM_DELLINK of interface `index`.
pub(crate) fn del_link_request(index: u32, seq: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_DELLINK, Msg::ACK, seq);
    let mut ifi = [0u8; 16];
    ifi[4..8].copy_from_slice(&index.to_ne_bytes());
    m.put(&ifi);
    m.finish()
}

impl Rtnl {
    /// Send an encoded link request; `Ok(0)` or the kernel's errno.
    pub fn link_request(&mut self, encode: impl FnOnce(u32) -> Vec<u8>) -> io::Result<i32> {
        let seq = self.next_seq();
        self.request(encode(seq), seq)
    }

    /// Send an encoded RTM_NEWROUTE/RTM_NEWRULE (`add`) or
    /// RTM_DELROUTE/RTM_DELRULE request; one that exists already (add) or
    /// is not there (remove) is not an error.
    pub fn route_or_rule(
        &mut self,
        encode: impl FnOnce(u32) -> Vec<u8>,
        add: bool,
    ) -> io::Result<Applied> {
        let seq = self.next_seq();
        match (self.request(encode(seq), seq)?, add) {
            (0, _) => Ok(Applied::Done),
            (libc::EEXIST, true) => Ok(Applied::AlreadySo),
            (libc::ESRCH | libc::ENOENT, false) => Ok(Applied::AlreadySo),
            (e, _) => Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The event socket: link and address changes, non-blocking.
pub struct RtEvents {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl RtEvents {
    pub fn open() -> io::Result<RtEvents> {
        Ok(RtEvents {
            fd: open(EVENT_GROUPS, true)?,
            buf: vec![0; BUF],
        })
    }

    /// Everything that arrived since the last call.
    pub fn recv(&mut self) -> io::Result<Vec<RtEvent>> {
        let mut out = Vec::new();
        loop {
            match recv_from_kernel(self.fd.as_fd(), &mut self.buf) {
                Ok(Some(n)) => out.extend(messages(&self.buf[..n]).iter().filter_map(parse_event)),
                Ok(None) => return Ok(out),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => out.push(RtEvent::Overrun),
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsRawFd for RtEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(addr: &str, prefix: u8) -> AddrSpec {
        AddrSpec {
            ifindex: 7,
            addr: addr.parse().unwrap(),
            prefix,
            peer: None,
            broadcast: None,
            scope: 0,
            label: None,
            flags: 0,
            preferred_lft: None,
        }
    }

    #[test]
    fn an_ipv4_add_request_is_laid_out_as_the_kernel_expects() {
        let mut s = spec("10.0.0.100", 24);
        s.broadcast = Some("10.0.0.255".parse().unwrap());
        s.label = Some("eth0:vip".into());
        s.scope = 253;
        let r = addr_request(&s, true, 9);
        let m = messages(&r);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].ty, RTM_NEWADDR);
        assert_eq!(
            m[0].flags,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        );
        assert_eq!(m[0].seq, 9);
        assert_eq!(&m[0].body[..4], &[libc::AF_INET as u8, 24, 0, 253]);
        assert_eq!(u32_at(m[0].body, 4), Some(7));
        let a = attrs(m[0].body, 8);
        assert_eq!(a[0], (IFA_LOCAL, &[10u8, 0, 0, 100][..]));
        assert_eq!(a[1], (IFA_BROADCAST, &[10u8, 0, 0, 255][..]));
        assert_eq!(a[2], (IFA_LABEL, &b"eth0:vip\0"[..]));
        assert_eq!(a.len(), 3);
        // The parser reads back what the encoder wrote.
        let back = parse_addr(m[0].body).unwrap();
        assert_eq!(back.addr, s.addr);
        assert_eq!(back.prefix, 24);
        assert_eq!(back.label.as_deref(), Some("eth0:vip"));
    }

    #[test]
    fn ipv6_flags_and_lifetime_are_sent() {
        let mut s = spec("fd00::1", 64);
        s.flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE;
        s.preferred_lft = Some(0);
        let r = addr_request(&s, true, 1);
        let m = messages(&r);
        assert_eq!(m[0].body[2], IFA_F_NODAD as u8);
        let a = attrs(m[0].body, 8);
        assert!(a.contains(&(
            IFA_FLAGS,
            &(IFA_F_NODAD | IFA_F_NOPREFIXROUTE).to_ne_bytes()[..]
        )));
        let ci = a.iter().find(|(t, _)| *t == IFA_CACHEINFO).unwrap().1;
        assert_eq!(u32_at(ci, 0), Some(0));
        assert_eq!(u32_at(ci, 4), Some(u32::MAX));
        // Forever: no cache info at all.
        s.preferred_lft = Some(u32::MAX);
        let r = addr_request(&s, true, 1);
        assert!(
            !attrs(messages(&r)[0].body, 8)
                .iter()
                .any(|(t, _)| *t == IFA_CACHEINFO)
        );
    }

    #[test]
    fn a_delete_names_the_address_and_nothing_else() {
        let r = addr_request(&spec("10.0.0.100", 24), false, 3);
        let m = messages(&r);
        assert_eq!(m[0].ty, RTM_DELADDR);
        assert_eq!(m[0].flags, NLM_F_REQUEST | NLM_F_ACK);
        let a = attrs(m[0].body, 8);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].0, IFA_LOCAL);
        assert_eq!(a[1].0, IFA_ADDRESS);
    }

    #[test]
    fn from_config_maps_the_options() {
        let conf = "vrrp_instance V { interface eth0\n virtual_router_id 1\n priority 100\n \
                    virtual_ipaddress {\n 10.1.2.3/24 brd + scope link label eth0:1\n }\n \
                    virtual_ipaddress_excluded {\n fd00::5/64 -nodad noprefixroute\n } }\n";
        let loaded = config::load_str(
            std::path::Path::new("t.conf"),
            conf,
            &config::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let i = &loaded.config.vrrp.instances[0];
        let a = AddrSpec::from_config(&i.virtual_ipaddresses[0], 4);
        assert_eq!(a.broadcast, Some("10.1.2.255".parse().unwrap()));
        assert_eq!(a.scope, 253);
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert_eq!(a.ifindex, 4);
        let b = AddrSpec::from_config(&i.virtual_ipaddresses_excluded[0], 4);
        assert_eq!(b.flags, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
        assert_eq!(b.preferred_lft, Some(u32::MAX));
    }

    #[test]
    fn the_decoder_survives_garbage() {
        // Deterministic pseudo-random bytes, and truncations of a real
        // message: nothing panics, nothing bogus comes out of a truncation.
        let good = addr_request(&spec("10.0.0.1", 8), true, 1);
        for cut in 0..good.len() {
            let _ = messages(&good[..cut])
                .iter()
                .filter_map(parse_event)
                .count();
        }
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..2000 {
            let mut b = Vec::new();
            for _ in 0..(x % 200) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.push(x as u8);
            }
            if b.len() >= 4 {
                let l = (b.len() as u32).to_ne_bytes();
                b[..4].copy_from_slice(&l);
            }
            for m in messages(&b) {
                let _ = parse_event(&m);
                let _ = parse_link(m.body);
                let _ = parse_addr(m.body);
            }
        }
    }

    #[test]
    fn a_macvlan_request_reads_back_as_the_link_it_creates() {
        let mac = [0, 0, 0x5e, 0, 1, 51];
        let req = macvlan_request("vrrp.51", 3, mac, MACVLAN_MODE_PRIVATE, 9);
        let ms = messages(&req);
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].ty, RTM_NEWLINK);
        assert_eq!(ms[0].seq, 9);
        assert_eq!(ms[0].flags, Msg::CREATE_EXCL);
        let l = parse_link(ms[0].body).unwrap();
        assert_eq!(l.name, "vrrp.51");
        assert_eq!(l.lower, Some(3));
        assert_eq!(l.mac6(), Some(mac));
        assert_eq!(l.kind.as_deref(), Some("macvlan"));
        assert_eq!(l.macvlan_mode, Some(MACVLAN_MODE_PRIVATE));
        // Up and down change IFF_UP only; delete names the index.
        let up = link_updown_request(4, true, 1);
        let b = messages(&up)[0].body;
        assert_eq!(
            (u32_at(b, 4), u32_at(b, 8), u32_at(b, 12)),
            (Some(4), Some(IFF_UP), Some(IFF_UP))
        );
        let down = link_updown_request(4, false, 1);
        assert_eq!(u32_at(messages(&down)[0].body, 8), Some(0));
        let del = del_link_request(4, 2);
        assert_eq!(messages(&del)[0].ty, RTM_DELLINK);
        assert_eq!(u32_at(messages(&del)[0].body, 4), Some(4));
    }
}
