//! The VRRP worker's system calls: the only module with `unsafe`.
//!
//! Thin, typed wrappers over the socket calls the I/O layer needs
//! (`socket`, `setsockopt`, `bind`, `sendto`, `sendmsg` with a packet-info
//! control message, `recvmsg` with its control messages). Every call here
//! is allowed by the VRRP worker's seccomp policy
//! (`sandbox::Policy::vrrp`): nothing else is called.

#![allow(unsafe_code)]

use std::ffi::c_int;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// A socket address the wrappers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockAddr {
    V4(SocketAddrV4),
    V6(SocketAddrV6),
    /// `sockaddr_ll`: an interface, an ethertype (host order) and a
    /// link-layer destination (6 bytes used when `halen` is 6).
    Link {
        ifindex: u32,
        protocol: u16,
        halen: u8,
        addr: [u8; 8],
    },
    /// `sockaddr_nl`: a port id and a multicast group bit mask.
    Netlink {
        pid: u32,
        groups: u32,
    },
}

impl SockAddr {
    /// An IP address with port 0 (raw sockets have no ports), with the
    /// interface as IPv6 scope id.
    pub fn ip(ip: IpAddr, scope: u32) -> SockAddr {
        match ip {
            IpAddr::V4(a) => SockAddr::V4(SocketAddrV4::new(a, 0)),
            IpAddr::V6(a) => SockAddr::V6(SocketAddrV6::new(a, 0, 0, scope)),
        }
    }

    fn to_raw(self) -> (libc::sockaddr_storage, libc::socklen_t) {
        // SAFETY: sockaddr_storage is plain old data; all zeroes is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let len = match self {
            SockAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*a.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for
                // every sockaddr type.
                unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
                size_of::<libc::sockaddr_in>()
            }
            SockAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: as above.
                unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
                size_of::<libc::sockaddr_in6>()
            }
            SockAddr::Link {
                ifindex,
                protocol,
                halen,
                addr,
            } => {
                let sll = libc::sockaddr_ll {
                    sll_family: libc::AF_PACKET as u16,
                    sll_protocol: protocol.to_be(),
                    sll_ifindex: ifindex as c_int,
                    sll_hatype: 0,
                    sll_pkttype: 0,
                    sll_halen: halen,
                    sll_addr: addr,
                };
                // SAFETY: as above.
                unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_ll, sll) };
                size_of::<libc::sockaddr_ll>()
            }
            SockAddr::Netlink { pid, groups } => {
                // SAFETY: sockaddr_nl is plain old data (it has a private
                // padding field, so it is built from zeroes).
                let mut snl: libc::sockaddr_nl = unsafe { zeroed() };
                snl.nl_family = libc::AF_NETLINK as libc::sa_family_t;
                snl.nl_pid = pid;
                snl.nl_groups = groups;
                // SAFETY: as above.
                unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_nl, snl) };
                size_of::<libc::sockaddr_nl>()
            }
        };
        (ss, len as libc::socklen_t)
    }

    fn from_raw(ss: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SockAddr> {
        let len = len as usize;
        match c_int::from(ss.ss_family) {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a sockaddr_in,
                // and the length covers it.
                let sin = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
                Some(SockAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
                Some(SockAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            libc::AF_NETLINK if len >= size_of::<libc::sockaddr_nl>() => {
                // SAFETY: as above, for sockaddr_nl.
                let snl = unsafe { &*(ss as *const _ as *const libc::sockaddr_nl) };
                Some(SockAddr::Netlink {
                    pid: snl.nl_pid,
                    groups: snl.nl_groups,
                })
            }
            _ => None,
        }
    }

    /// The IP address, for the IP variants.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self {
            SockAddr::V4(a) => Some(IpAddr::V4(*a.ip())),
            SockAddr::V6(a) => Some(IpAddr::V6(*a.ip())),
            _ => None,
        }
    }
}

fn cvt(r: c_int) -> io::Result<c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// `socket(domain, ty | SOCK_CLOEXEC [| SOCK_NONBLOCK], protocol)`.
pub fn socket(domain: c_int, ty: c_int, protocol: c_int, nonblocking: bool) -> io::Result<OwnedFd> {
    let mut flags = ty | libc::SOCK_CLOEXEC;
    if nonblocking {
        flags |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: socket(2) takes no pointers.
    let fd = cvt(unsafe { libc::socket(domain, flags, protocol) })?;
    // SAFETY: the descriptor was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt` with a plain-old-data value.
///
/// # Safety
/// `T` must be a plain-old-data type the kernel expects for this option.
unsafe fn setsockopt_raw<T>(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` points to a live T of the given size; the caller
    // guarantees T is what the option expects.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            val as *const T as *const libc::c_void,
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// An `int` socket option.
pub fn setsockopt_int(fd: BorrowedFd<'_>, level: c_int, name: c_int, val: c_int) -> io::Result<()> {
    // SAFETY: every option set through this takes an int.
    unsafe { setsockopt_raw(fd, level, name, &val) }
}

/// `SO_BINDTODEVICE`.
pub fn bind_to_device(fd: BorrowedFd<'_>, ifname: &str) -> io::Result<()> {
    let b = ifname.as_bytes();
    if b.len() >= libc::IFNAMSIZ || b.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface name '{ifname}'"),
        ));
    }
    // SAFETY: the pointer and length describe `b`, a live byte slice; the
    // kernel reads at most that many bytes and does not need a NUL.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            b.as_ptr() as *const libc::c_void,
            b.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `IP_ADD_MEMBERSHIP` / `IP_DROP_MEMBERSHIP` / `IP_MULTICAST_IF` with an
/// `ip_mreqn` naming the interface by index.
pub fn set_mreqn(fd: BorrowedFd<'_>, name: c_int, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
    let m = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from(group).to_be(),
        },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as c_int,
    };
    // SAFETY: these options accept an ip_mreqn.
    unsafe { setsockopt_raw(fd, libc::IPPROTO_IP, name, &m) }
}

/// `IPV6_ADD_MEMBERSHIP` / `IPV6_DROP_MEMBERSHIP` with an `ipv6_mreq`.
pub fn set_mreq6(fd: BorrowedFd<'_>, name: c_int, group: Ipv6Addr, ifindex: u32) -> io::Result<()> {
    let m = libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr {
            s6_addr: group.octets(),
        },
        ipv6mr_interface: ifindex as _,
    };
    // SAFETY: these options take an ipv6_mreq.
    unsafe { setsockopt_raw(fd, libc::IPPROTO_IPV6, name, &m) }
}

/// `SO_RCVTIMEO` / `SO_SNDTIMEO`.
pub fn set_timeout(fd: BorrowedFd<'_>, name: c_int, d: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: these options take a timeval.
    unsafe { setsockopt_raw(fd, libc::SOL_SOCKET, name, &tv) }
}

pub fn bind(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<()> {
    let (ss, len) = addr.to_raw();
    // SAFETY: `ss` holds a valid address of `len` bytes.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &ss as *const _ as *const libc::sockaddr,
            len,
        )
    })
    .map(drop)
}

pub fn sendto(fd: BorrowedFd<'_>, buf: &[u8], addr: &SockAddr) -> io::Result<usize> {
    let (ss, len) = addr.to_raw();
    // SAFETY: `buf` and `ss` are live for the call, with their lengths.
    cvt_size(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            buf.as_ptr() as *const libc::c_void,
            buf.len(),
            0,
            &ss as *const _ as *const libc::sockaddr,
            len,
        )
    })
}

/// Room for the control messages we send or receive (packet info, hop
/// limit), 8-byte aligned.
#[repr(C, align(8))]
struct CmsgBuf([u8; 256]);

/// Append one control message to `buf` at `*at`.
fn put_cmsg(buf: &mut CmsgBuf, at: &mut usize, level: c_int, ty: c_int, data: &[u8]) {
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic.
    let (space, len) = unsafe {
        (
            libc::CMSG_SPACE(data.len() as u32) as usize,
            libc::CMSG_LEN(data.len() as u32) as usize,
        )
    };
    let hdr = libc::cmsghdr {
        cmsg_len: len as _,
        cmsg_level: level,
        cmsg_type: ty,
    };
    // SAFETY: the header is plain old data, read once as bytes.
    let hdr_bytes = unsafe {
        std::slice::from_raw_parts(&hdr as *const _ as *const u8, size_of::<libc::cmsghdr>())
    };
    let b = &mut buf.0[*at..*at + space];
    b[..hdr_bytes.len()].copy_from_slice(hdr_bytes);
    // CMSG_DATA is the header rounded up to the alignment, which is what
    // CMSG_LEN(0) is.
    let off = len - data.len();
    b[off..off + data.len()].copy_from_slice(data);
    *at += space;
}

/// Bytes of a plain-old-data value.
fn pod_bytes<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: T is one of the kernel structs or integers below (plain old
    // data without padding that matters to the kernel); its bytes are
    // copied once.
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }.to_vec()
}

/// `sendmsg` to `dst`, with control messages setting the source address
/// `src` and the outgoing interface `ifindex` (IPv4 `IP_PKTINFO`, IPv6
/// `IPV6_PKTINFO`; `ifindex` 0: the socket's), and the TTL / hop limit of
/// this datagram (`IP_TTL` / `IPV6_HOPLIMIT`).
pub fn sendmsg_from(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    dst: &SockAddr,
    src: Option<IpAddr>,
    ifindex: u32,
    ttl: Option<u8>,
) -> io::Result<usize> {
    let (mut ss, sslen) = dst.to_raw();
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBuf([0; 256]);
    let mut clen = 0;
    let v6 = match dst {
        SockAddr::V4(_) => false,
        SockAddr::V6(_) => true,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not an IP destination",
            ));
        }
    };
    match (src, v6) {
        (Some(IpAddr::V4(s)), false) => {
            let p = libc::in_pktinfo {
                ipi_ifindex: ifindex as c_int,
                ipi_spec_dst: libc::in_addr {
                    s_addr: u32::from(s).to_be(),
                },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            put_cmsg(
                &mut cbuf,
                &mut clen,
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                &pod_bytes(&p),
            );
        }
        (Some(IpAddr::V6(s)), true) => {
            let p = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: s.octets(),
                },
                ipi6_ifindex: ifindex,
            };
            put_cmsg(
                &mut cbuf,
                &mut clen,
                libc::IPPROTO_IPV6,
                libc::IPV6_PKTINFO,
                &pod_bytes(&p),
            );
        }
        (None, _) => {}
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination of different families",
            ));
        }
    }
    if let Some(t) = ttl {
        let (level, ty) = if v6 {
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
        } else {
            (libc::IPPROTO_IP, libc::IP_TTL)
        };
        put_cmsg(&mut cbuf, &mut clen, level, ty, &pod_bytes(&c_int::from(t)));
    }
    // SAFETY: msghdr is plain old data; zeroes are valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = &mut ss as *mut _ as *mut libc::c_void;
    msg.msg_namelen = sslen;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if clen > 0 {
        msg.msg_control = cbuf.0.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = clen as _;
    }
    // SAFETY: every pointer in `msg` refers to a live local for the call,
    // with its length.
    cvt_size(unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, 0) })
}

/// What `recvmsg` returned besides the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecvMeta {
    /// Bytes placed in the buffer.
    pub len: usize,
    /// The datagram was longer than the buffer.
    pub truncated: bool,
    pub from: Option<SockAddr>,
    /// IPv6: `IPV6_HOPLIMIT`.
    pub hop_limit: Option<u8>,
    /// IPv6 `IPV6_PKTINFO` / IPv4 `IP_PKTINFO`: the destination address.
    pub dst: Option<IpAddr>,
    /// The same: the interface it arrived on.
    pub ifindex: Option<u32>,
}

/// `recvmsg` with the sender's address and the packet-info / hop-limit
/// control messages.
pub fn recvmsg(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<RecvMeta> {
    // SAFETY: zeroes are a valid sockaddr_storage and msghdr.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBuf([0; 256]);
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = &mut ss as *mut _ as *mut libc::c_void;
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = cbuf.0.len() as _;
    // SAFETY: every pointer in `msg` refers to a live local or to `buf`,
    // with the matching lengths.
    let n = cvt_size(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) })?;
    let mut meta = RecvMeta {
        len: n.min(buf.len()),
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        from: SockAddr::from_raw(&ss, msg.msg_namelen),
        ..RecvMeta::default()
    };
    // SAFETY: the kernel filled the control buffer and set msg_controllen;
    // CMSG_FIRSTHDR/NXTHDR stay inside it, and each payload is read with
    // an unaligned read after checking its length.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let dlen = ((*c).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) if dlen >= size_of::<c_int>() => {
                    let v = std::ptr::read_unaligned(data as *const c_int);
                    meta.hop_limit = u8::try_from(v).ok();
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                    if dlen >= size_of::<libc::in6_pktinfo>() =>
                {
                    let p = std::ptr::read_unaligned(data as *const libc::in6_pktinfo);
                    meta.dst = Some(IpAddr::V6(Ipv6Addr::from(p.ipi6_addr.s6_addr)));
                    meta.ifindex = Some(p.ipi6_ifindex);
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) if dlen >= size_of::<libc::in_pktinfo>() => {
                    let p = std::ptr::read_unaligned(data as *const libc::in_pktinfo);
                    meta.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(p.ipi_addr.s_addr))));
                    meta.ifindex = u32::try_from(p.ipi_ifindex).ok();
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_the_raw_form() {
        for a in [
            SockAddr::ip("192.0.2.7".parse().unwrap(), 0),
            SockAddr::ip("fe80::1".parse().unwrap(), 3),
            SockAddr::Netlink { pid: 0, groups: 5 },
        ] {
            let (ss, len) = a.to_raw();
            assert_eq!(SockAddr::from_raw(&ss, len), Some(a));
        }
    }

    #[test]
    fn a_bad_interface_name_is_refused_before_the_kernel() {
        let fd = socket(libc::AF_INET, libc::SOCK_DGRAM, 0, true).unwrap();
        use std::os::fd::AsFd;
        let e = bind_to_device(fd.as_fd(), "a-name-far-too-long-for-linux").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
