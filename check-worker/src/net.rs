//! Checker sockets: created non-blocking, with the connection options
//! (`fwmark`, `bind_if`, `bindto`, `bind_port`) applied before connecting,
//! all through socket2's safe calls. Only what the check worker's seccomp
//! policy allows: INET/INET6 stream and datagram sockets with an explicit
//! protocol, ICMP datagram sockets, setsockopt, bind, connect.

use config::model::lvs::Connection;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What the socket's options could not do (logged once per checker).
#[derive(Debug, Default)]
pub struct Warnings(pub Vec<String>);

fn domain(dst: &SocketAddr) -> Domain {
    if dst.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    }
}

/// A new socket of `ty`/`proto` for `conn`, options applied, not yet
/// connected.
fn prepare(
    conn: &Connection,
    ty: Type,
    proto: Protocol,
    warn: &mut Warnings,
) -> io::Result<Socket> {
    let sock = Socket::new(domain(&conn.dst), ty.nonblocking().cloexec(), Some(proto))?;
    if conn.fwmark != 0 {
        // SO_MARK needs CAP_NET_ADMIN, which the check worker does not
        // have: check without the mark rather than not at all.
        if let Err(e) = sock.set_mark(conn.fwmark) {
            warn.0.push(format!(
                "cannot set fwmark {} on the checker's socket ({e}); checking without it",
                conn.fwmark
            ));
        }
    }
    if let Some(ifname) = &conn.bind_if {
        sock.bind_device(Some(ifname.as_bytes()))?;
    }
    if conn.bindto.is_some() || conn.bind_port.is_some() {
        let ip = conn.bindto.unwrap_or(match conn.dst {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        if conn.bind_port.is_some() {
            // Several checks from the same source port in a row.
            sock.set_reuse_address(true)?;
        }
        sock.bind(&SockAddr::from(SocketAddr::new(
            ip,
            conn.bind_port.unwrap_or(0),
        )))?;
    }
    Ok(sock)
}

/// Start a non-blocking TCP connect to `conn.dst`.
pub fn tcp_connect(conn: &Connection, warn: &mut Warnings) -> io::Result<mio::net::TcpStream> {
    let sock = prepare(conn, Type::STREAM, Protocol::TCP, warn)?;
    // Closed the orderly way, FIN and not RST, as keepalived 2.2.7 closes
    // every checker socket (its socket_bind_connect sets SO_LINGER
    // {1, 5 s}). Not that linger itself: with a linger time close(2)
    // blocks until the FIN is acknowledged, which would stall the whole
    // event loop on a dead server; without one the kernel sends the same
    // FIN after close returns.
    match sock.connect(&SockAddr::from(conn.dst)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc_einprogress()) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(sock.into()))
}

/// A connected UDP socket to `conn.dst`.
pub fn udp_connect(conn: &Connection, warn: &mut Warnings) -> io::Result<mio::net::UdpSocket> {
    let sock = prepare(conn, Type::DGRAM, Protocol::UDP, warn)?;
    sock.connect(&SockAddr::from(conn.dst))?;
    Ok(mio::net::UdpSocket::from_std(sock.into()))
}

/// A connected ICMP (or ICMPv6) datagram socket to `conn.dst`: the
/// unprivileged "ping socket", allowed when the worker's group is in
/// `net.ipv4.ping_group_range`.
pub fn ping_connect(conn: &Connection, warn: &mut Warnings) -> io::Result<mio::net::UdpSocket> {
    let proto = if conn.dst.is_ipv4() {
        Protocol::ICMPV4
    } else {
        Protocol::ICMPV6
    };
    let sock = prepare(conn, Type::DGRAM, proto, warn)?;
    sock.connect(&SockAddr::from(SocketAddr::new(conn.dst.ip(), 0)))?;
    Ok(mio::net::UdpSocket::from_std(sock.into()))
}

/// EINPROGRESS on Linux (every architecture keepalived-rs targets).
const fn libc_einprogress() -> i32 {
    115
}
