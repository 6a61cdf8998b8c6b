//! The VRRP worker's I/O shell: everything that touches the kernel.
//!
//! - [`advert`]: raw IP sockets (protocol 112, or 51 for AH) per interface
//!   and family, multicast membership, TTL 255, per-send source address.
//! - [`netlink`]: rtnetlink requests (links, addresses, VIP add/remove) and
//!   link/address events.
//! - [`nft`]: nftables (NETLINK_NETFILTER) for VIPs not accepting traffic.
//! - [`route`]: `virtual_routes` / `virtual_rules` as rtnetlink requests.
//! - [`sysctl`]: per-interface sysctls for VMACs, in /proc/sys/net.
//! - [`garp`]: gratuitous ARP and unsolicited neighbour advertisements on an
//!   `AF_PACKET` socket, in keepalived's wire format.
//!
//! The calls themselves are in [`crate::sys`], the only module with
//! `unsafe`. Every socket type and call used here is inside the VRRP
//! worker's seccomp policy (`sandbox::Policy::vrrp`).

pub mod advert;
pub mod garp;
pub mod netlink;
pub mod nft;
pub mod route;
pub mod shell;
pub mod sysctl;

pub use advert::{IPPROTO_AH, IPPROTO_VRRP, IpFamily, Received, RecvError, VrrpSocket};
pub use garp::FrameSender;
pub use netlink::{AddrInfo, AddrSpec, Applied, LinkInfo, RtEvent, RtEvents, Rtnl};
