//! Gratuitous ARP and unsolicited neighbour advertisements, as keepalived
//! 2.2.7 sends them (`vrrp_arp.c`, `vrrp_ndisc.c`): whole Ethernet frames
//! on an `AF_PACKET` socket.
//!
//! - GARP: to ff:ff:ff:ff:ff:ff, an ARP *request* whose sender and target
//!   protocol addresses are the VIP, sender hardware address the
//!   interface's MAC, target hardware address ff:ff:ff:ff:ff:ff; 42 bytes.
//! - NA: to 33:33:00:00:00:01 / ff02::1 from the VIP itself, hop limit 255,
//!   ICMPv6 type 136 with the Override flag (and Router when the interface
//!   forwards IPv6), target the VIP, a target link-layer address option.

use crate::sys::{self, SockAddr};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, OwnedFd};

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST: [u8; 6] = [0xff; 6];
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A gratuitous ARP frame for `ip` owned by `mac`.
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    // ARP: Ethernet, IPv4, 6, 4, request.
    f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    f[32..38].copy_from_slice(&BROADCAST);
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// The 16-bit one's complement sum used by IPv6 upper-layer checksums.
fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An unsolicited neighbour advertisement frame for `ip` owned by `mac`.
pub fn na_frame(mac: [u8; 6], ip: Ipv6Addr, router: bool) -> [u8; 86] {
    let mut f = [0u8; 86];
    f[0..6].copy_from_slice(&ALL_NODES_MAC);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    // IPv6 header: version 6, class 0, flow 0, payload 32, ICMPv6, 255.
    let ip6 = &mut f[14..54];
    ip6[0] = 0x60;
    ip6[4..6].copy_from_slice(&32u16.to_be_bytes());
    ip6[6] = 58;
    ip6[7] = 255;
    ip6[8..24].copy_from_slice(&ip.octets());
    ip6[24..40].copy_from_slice(&ALL_NODES.octets());
    // ICMPv6 NA.
    let icmp = &mut f[54..86];
    icmp[0] = 136;
    icmp[4] = 0x20 | if router { 0x80 } else { 0 };
    icmp[8..24].copy_from_slice(&ip.octets());
    icmp[24] = 2; // target link-layer address
    icmp[25] = 1; // 8 bytes
    icmp[26..32].copy_from_slice(&mac);
    // Checksum over the pseudo-header (src, dst, length, next header).
    let mut sum = csum_add(0, &ip.octets());
    sum = csum_add(sum, &ALL_NODES.octets());
    sum = csum_add(sum, &32u32.to_be_bytes());
    sum = csum_add(sum, &[0, 0, 0, 58]);
    sum = csum_add(sum, &f[54..86]);
    let c = csum_fold(sum);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f
}

/// Whether `ifname` forwards IPv6 (keepalived then sets the NA's Router
/// flag). Read from /proc/sys, which the worker's Landlock rules allow.
pub fn ipv6_forwarding(ifname: &str) -> bool {
    if ifname.contains('/') || ifname.starts_with('.') {
        return false;
    }
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .is_ok_and(|s| s.trim() == "1")
}

/// An `AF_PACKET` socket that only sends (protocol 0: it receives
/// nothing).
#[derive(Debug)]
pub struct FrameSender {
    fd: OwnedFd,
}

impl FrameSender {
    pub fn open() -> io::Result<FrameSender> {
        Ok(FrameSender {
            fd: sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, true)?,
        })
    }

    fn send(&self, ifindex: u32, frame: &[u8], proto: u16, dst: [u8; 6]) -> io::Result<()> {
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(&dst);
        let n = sys::sendto(
            self.fd.as_fd(),
            frame,
            &SockAddr::Link {
                ifindex,
                protocol: proto,
                halen: 6,
                addr,
            },
        )?;
        if n != frame.len() {
            return Err(io::Error::other("short frame send"));
        }
        Ok(())
    }

    /// One gratuitous ARP for `ip` on interface `ifindex` with MAC `mac`.
    pub fn send_garp(&self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
        self.send(ifindex, &garp_frame(mac, ip), ETH_P_ARP, BROADCAST)
    }

    /// One unsolicited neighbour advertisement for `ip`.
    pub fn send_na(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        ip: Ipv6Addr,
        router: bool,
    ) -> io::Result<()> {
        self.send(
            ifindex,
            &na_frame(mac, ip, router),
            ETH_P_IPV6,
            ALL_NODES_MAC,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0a];

    #[test]
    fn garp_is_byte_for_byte_keepalived_s() {
        // Captured from keepalived 2.2.7 (10.210.0.100 on 02:00:00:00:00:0a).
        let want: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
            0x0a, 0xd2, 0x00, 0x64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0xd2, 0x00, 0x64,
        ];
        assert_eq!(garp_frame(MAC, Ipv4Addr::new(10, 210, 0, 100)), want);
    }

    #[test]
    fn na_is_byte_for_byte_keepalived_s() {
        // Captured from keepalived 2.2.7 (fd00:210::100 on 02:00:00:00:00:0a).
        let want: [u8; 86] = [
            0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x86, 0xdd,
            0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x02, 0x10, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0x02, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00,
            0x54, 0x74, 0x20, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x02, 0x10, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00,
            0x00, 0x0a,
        ];
        let ip: Ipv6Addr = "fd00:210::100".parse().unwrap();
        assert_eq!(na_frame(MAC, ip, false), want);
        // The Router flag changes the flags and the checksum consistently.
        let r = na_frame(MAC, ip, true);
        assert_eq!(r[58], 0xa0);
        let mut sum = csum_add(0, &ip.octets());
        sum = csum_add(sum, &ALL_NODES.octets());
        sum = csum_add(sum, &32u32.to_be_bytes());
        sum = csum_add(sum, &[0, 0, 0, 58]);
        sum = csum_add(sum, &r[54..86]);
        assert_eq!(csum_fold(sum), 0, "checksum verifies");
    }

    #[test]
    fn odd_interface_names_are_not_paths() {
        assert!(!ipv6_forwarding("../../../etc"));
        assert!(!ipv6_forwarding(".."));
    }
}
