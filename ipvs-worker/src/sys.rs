//! The worker's only system interface beyond std: a generic netlink socket.
//! All of the crate's unsafe code is here.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// A bound `NETLINK_GENERIC` socket, blocking with send/receive timeouts.
#[derive(Debug)]
pub struct NetlinkSocket {
    fd: OwnedFd,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut a: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    a.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    a
}

impl NetlinkSocket {
    /// Open and bind (port id chosen by the kernel). `timeout` bounds every
    /// send and receive.
    pub fn open(timeout: Duration) -> io::Result<NetlinkSocket> {
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        })?;
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let s = NetlinkSocket { fd };
        let addr = kernel_addr();
        // SAFETY: `addr` is a valid sockaddr_nl of the size passed.
        cvt(unsafe {
            libc::bind(
                s.fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        let tv = libc::timeval {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_usec: timeout.subsec_micros() as libc::suseconds_t,
        };
        s.setsockopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
        s.setsockopt(libc::SOL_SOCKET, libc::SO_SNDTIMEO, &tv)?;
        // Acknowledgements echo only the request's header; best effort
        // (the codec copes with full echoes).
        let _ = s.setsockopt(libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, &1 as &libc::c_int);
        // Room for large dumps; best effort.
        let _ = s.setsockopt(
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &(1 << 20) as &libc::c_int,
        );
        Ok(s)
    }

    fn setsockopt<T>(&self, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
        // SAFETY: `v` points to a live T of the size passed.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (v as *const T).cast::<libc::c_void>(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// Send one message to the kernel.
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        let addr = kernel_addr();
        loop {
            // SAFETY: `msg` and `addr` are valid for the lengths passed.
            let r = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    msg.as_ptr().cast::<libc::c_void>(),
                    msg.len(),
                    0,
                    (&raw const addr).cast::<libc::sockaddr>(),
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if r as usize != msg.len() {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "short netlink send",
                ));
            }
            return Ok(());
        }
    }

    /// Receive one datagram into `buf`; a datagram larger than `buf` is
    /// an error (it would have been cut).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for writes of its length; no address
            // is asked for.
            let r = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                    libc::MSG_TRUNC,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let n = r as usize;
            if n > buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("netlink datagram of {n} bytes truncated to {}", buf.len()),
                ));
            }
            return Ok(n);
        }
    }
}
