//! The kernel side of the worker, as one object: the rtnetlink sockets and
//! what they report (links, addresses), the advert sockets per interface
//! and family, the frame sender and its gratuitous ARP / NA queue.
//!
//! It knows nothing of VRRP: the worker (crate root) asks it for
//! interfaces, addresses and sockets and tells it what to send and
//! install.

use super::advert::{IpFamily, Received, RecvError, VrrpSocket};
use super::garp::{FrameSender, ipv6_forwarding};
use super::netlink::{
    AddrInfo, AddrSpec, Applied, IFA_F_DADFAILED, IFA_F_SECONDARY, IFA_F_TENTATIVE, LinkInfo,
    RtEvent, RtEvents, Rtnl,
};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The event socket's token (the link to the parent is token 0).
pub const EVENTS_TOKEN: Token = Token(1);
/// Advert sockets get tokens from here on.
const FIRST_SOCKET_TOKEN: usize = 16;

/// Which advert socket: interface name and family.
/// An advert socket: interface, family, IP protocol (112, or 51 for AH).
pub type SockKey = (String, IpFamily, u8);

/// A frame waiting for its turn on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueuedFrame {
    due: Instant,
    ifname: String,
    addr: IpAddr,
}

/// What the shell saw change in the kernel, for the worker to act on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NetChanges {
    /// Interfaces (by name) whose up/running state may have changed, or
    /// that appeared or went away.
    pub links: BTreeSet<String>,
    /// Addresses were added or removed (sources may have changed).
    pub addresses: bool,
    /// Our own addresses that someone else removed.
    pub removed: Vec<AddrInfo>,
}

pub struct Shell {
    rtnl: Rtnl,
    events: RtEvents,
    frames: FrameSender,
    links: BTreeMap<u32, LinkInfo>,
    addrs: Vec<AddrInfo>,
    sockets: BTreeMap<SockKey, (VrrpSocket, Token)>,
    tokens: BTreeMap<Token, SockKey>,
    next_token: usize,
    registry: Option<Registry>,
    queue: VecDeque<QueuedFrame>,
    /// When each interface may send its next GARP / NA.
    next_free: BTreeMap<(String, IpFamily), Instant>,
}

impl Shell {
    /// Open the netlink and packet sockets and read the interfaces and
    /// addresses.
    pub fn open() -> io::Result<Shell> {
        let mut s = Shell {
            rtnl: Rtnl::open()?,
            events: RtEvents::open()?,
            frames: FrameSender::open()?,
            links: BTreeMap::new(),
            addrs: Vec::new(),
            sockets: BTreeMap::new(),
            tokens: BTreeMap::new(),
            next_token: FIRST_SOCKET_TOKEN,
            registry: None,
            queue: VecDeque::new(),
            next_free: BTreeMap::new(),
        };
        s.refresh()?;
        Ok(s)
    }

    /// Dump links and addresses again.
    pub fn refresh(&mut self) -> io::Result<()> {
        self.links = self
            .rtnl
            .links()?
            .into_iter()
            .map(|l| (l.index, l))
            .collect();
        self.addrs = self.rtnl.addresses()?;
        Ok(())
    }

    /// Register the event socket and every advert socket; keep a handle on
    /// the registry for sockets opened later.
    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        let fd = self.events.as_raw_fd();
        registry.register(&mut SourceFd(&fd), EVENTS_TOKEN, Interest::READABLE)?;
        for (sock, token) in self.sockets.values() {
            let fd = sock.as_raw_fd();
            registry.register(&mut SourceFd(&fd), *token, Interest::READABLE)?;
        }
        self.registry = Some(registry.try_clone()?);
        Ok(())
    }

    // ------------------------------------------------------------ lookups

    pub fn link(&self, name: &str) -> Option<&LinkInfo> {
        self.links.values().find(|l| l.name == name)
    }

    /// Every interface, as last read.
    pub fn links(&self) -> Vec<LinkInfo> {
        self.links.values().cloned().collect()
    }

    /// Every interface's name.
    pub fn link_names(&self) -> Vec<String> {
        self.links.values().map(|l| l.name.clone()).collect()
    }

    pub fn ifindex(&self, name: &str) -> Option<u32> {
        self.link(name).map(|l| l.index)
    }

    /// Up and running; a missing interface is down.
    pub fn is_up(&self, name: &str) -> bool {
        self.link(name).is_some_and(LinkInfo::is_up)
    }

    /// The address adverts are sent from when none is configured, as
    /// keepalived picks it: IPv4, the interface's primary address; IPv6,
    /// its link-local address. Addresses in `exclude` (VIPs) never count.
    pub fn source_address(
        &self,
        ifname: &str,
        family: IpFamily,
        exclude: &BTreeSet<IpAddr>,
    ) -> Option<IpAddr> {
        let index = self.ifindex(ifname)?;
        self.addrs
            .iter()
            .filter(|a| a.index == index && IpFamily::of(&a.addr) == family)
            .filter(|a| !exclude.contains(&a.addr))
            .find(|a| match a.addr {
                IpAddr::V4(_) => a.flags & IFA_F_SECONDARY == 0,
                IpAddr::V6(v) => {
                    v.is_unicast_link_local() && a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0
                }
            })
            .map(|a| a.addr)
    }

    /// Whether `addr` is configured on the interface.
    pub fn has_address(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.addrs
            .iter()
            .any(|a| a.index == ifindex && a.addr == addr)
    }

    // ------------------------------------------------------------ sockets

    /// Make the advert sockets exactly `wanted` (key -> multicast groups):
    /// open what is missing (or whose interface was re-created), join and
    /// leave groups, close what is no longer wanted. Returns one message
    /// per failure; the rest is done anyway.
    pub fn sync_sockets(&mut self, wanted: &BTreeMap<SockKey, BTreeSet<IpAddr>>) -> Vec<String> {
        let mut errors = Vec::new();
        let stale: Vec<SockKey> = self
            .sockets
            .iter()
            .filter(|(k, (s, _))| {
                !wanted.contains_key(*k) || self.ifindex(&k.0) != Some(s.ifindex())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.close_socket(&k);
        }
        for (key, groups) in wanted {
            let Some(index) = self.ifindex(&key.0) else {
                continue; // opened when the interface appears
            };
            if !self.sockets.contains_key(key) {
                match VrrpSocket::open(&key.0, index, key.1, key.2, &[]) {
                    Ok(sock) => {
                        let token = Token(self.next_token);
                        self.next_token += 1;
                        if let Some(r) = &self.registry {
                            let fd = sock.as_raw_fd();
                            if let Err(e) =
                                r.register(&mut SourceFd(&fd), token, Interest::READABLE)
                            {
                                errors.push(format!("cannot watch the socket on {}: {e}", key.0));
                                continue;
                            }
                        }
                        self.tokens.insert(token, key.clone());
                        self.sockets.insert(key.clone(), (sock, token));
                    }
                    Err(e) => {
                        errors.push(format!(
                            "cannot open the VRRP socket on {} ({:?}, protocol {}): {e}",
                            key.0, key.1, key.2
                        ));
                        continue;
                    }
                }
            }
            let Some((sock, _)) = self.sockets.get_mut(key) else {
                continue;
            };
            let old: Vec<IpAddr> = sock.groups().to_vec();
            for g in old.iter().filter(|g| !groups.contains(g)) {
                if let Err(e) = sock.leave(*g) {
                    errors.push(format!("cannot leave {g} on {}: {e}", key.0));
                }
            }
            for g in groups {
                if let Err(e) = sock.join(*g) {
                    errors.push(format!("cannot join {g} on {}: {e}", key.0));
                }
            }
        }
        errors
    }

    fn close_socket(&mut self, key: &SockKey) {
        if let Some((sock, token)) = self.sockets.remove(key) {
            if let Some(r) = &self.registry {
                let fd = sock.as_raw_fd();
                let _ = r.deregister(&mut SourceFd(&fd));
            }
            self.tokens.remove(&token);
        }
    }

    pub fn socket(&self, key: &SockKey) -> Option<&VrrpSocket> {
        self.sockets.get(key).map(|(s, _)| s)
    }

    /// The socket behind a token.
    pub fn key_of(&self, token: Token) -> Option<&SockKey> {
        self.tokens.get(&token)
    }

    /// What arrived on the socket behind `token`, at most `limit`
    /// datagrams (so a flood cannot starve timers and the parent). The
    /// flag says the limit was reached: with edge-triggered polling the
    /// caller must come back to this socket without waiting for an event.
    pub fn receive(&self, token: Token, limit: usize) -> (Vec<Received>, Vec<String>, bool) {
        let mut got = Vec::new();
        let mut errors = Vec::new();
        let Some((sock, _)) = self.tokens.get(&token).and_then(|k| self.sockets.get(k)) else {
            return (got, errors, false);
        };
        for _ in 0..limit {
            match sock.recv() {
                Ok(None) => return (got, errors, false),
                Ok(Some(Ok(r))) => got.push(r),
                Ok(Some(Err(RecvError::Truncated | RecvError::Malformed(_)))) => {}
                Err(e) => {
                    errors.push(format!("receiving on {}: {e}", sock.ifname()));
                    return (got, errors, false);
                }
            }
        }
        (got, errors, true)
    }

    // ------------------------------------------------------------ events

    /// Read the event socket and update the links and addresses.
    pub fn net_events(&mut self) -> io::Result<NetChanges> {
        let mut ch = NetChanges::default();
        let events = self.events.recv()?;
        let mut resync = false;
        for ev in events {
            match ev {
                RtEvent::Link(l) => {
                    if let Some(old) = self.links.get(&l.index) {
                        if old.name != l.name {
                            ch.links.insert(old.name.clone());
                        }
                    }
                    ch.links.insert(l.name.clone());
                    self.links.insert(l.index, l);
                }
                RtEvent::LinkGone(l) => {
                    let name = self.links.remove(&l.index).map_or(l.name, |o| o.name);
                    self.addrs.retain(|a| a.index != l.index);
                    ch.links.insert(name);
                    ch.addresses = true;
                }
                RtEvent::AddrAdded(a) => {
                    self.addrs
                        .retain(|x| !(x.index == a.index && x.addr == a.addr));
                    self.addrs.push(a);
                    ch.addresses = true;
                }
                RtEvent::AddrRemoved(a) => {
                    self.addrs
                        .retain(|x| !(x.index == a.index && x.addr == a.addr));
                    ch.addresses = true;
                    ch.removed.push(a);
                }
                RtEvent::Overrun => resync = true,
            }
        }
        if resync {
            self.refresh()?;
            ch.addresses = true;
            ch.links.extend(self.links.values().map(|l| l.name.clone()));
        }
        Ok(ch)
    }

    // ------------------------------------------------------------ addresses

    pub fn add_address(&mut self, spec: &AddrSpec) -> io::Result<Applied> {
        self.rtnl.add_address(spec)
    }

    pub fn del_address(&mut self, spec: &AddrSpec) -> io::Result<Applied> {
        self.rtnl.del_address(spec)
    }

    /// Install (`add`) or remove a `virtual_routes` entry. `Err` with a
    /// message when it cannot be expressed or the kernel refused it.
    pub fn route(&mut self, r: &config::model::vrrp::Route, add: bool) -> Result<Applied, String> {
        let oif = match &r.dev {
            Some(d) => Some(self.ifindex(d).ok_or_else(|| format!("no interface {d}"))?),
            None => None,
        };
        // Encode once up front so an unsupported route is reported as such.
        super::route::route_request(r, oif, add, 0)?;
        self.rtnl
            .route_or_rule(
                |seq| super::route::route_request(r, oif, add, seq).unwrap_or_default(),
                add,
            )
            .map_err(|e| e.to_string())
    }

    /// Install or remove a `virtual_rules` entry.
    pub fn rule(&mut self, r: &config::model::vrrp::Rule, add: bool) -> Result<Applied, String> {
        super::route::rule_request(r, add, 0)?;
        self.rtnl
            .route_or_rule(
                |seq| super::route::rule_request(r, add, seq).unwrap_or_default(),
                add,
            )
            .map_err(|e| e.to_string())
    }

    // ------------------------------------------------------------ links

    /// Create macvlan `name` on interface `lower` with `mac`, down.
    /// `Err` with the kernel's error (EEXIST: the name is taken).
    pub fn create_macvlan(&mut self, name: &str, lower: u32, mac: [u8; 6]) -> io::Result<()> {
        let mode = super::netlink::MACVLAN_MODE_PRIVATE;
        match self
            .rtnl
            .link_request(|seq| super::netlink::macvlan_request(name, lower, mac, mode, seq))?
        {
            0 => self.refresh(),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Set interface `index` up or down.
    pub fn set_link_up(&mut self, index: u32, up: bool) -> io::Result<()> {
        match self
            .rtnl
            .link_request(|seq| super::netlink::link_updown_request(index, up, seq))?
        {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Delete interface `index` (gone already is not an error).
    pub fn delete_link(&mut self, index: u32) -> io::Result<()> {
        match self
            .rtnl
            .link_request(|seq| super::netlink::del_link_request(index, seq))?
        {
            0 | libc::ENODEV => {
                self.links.remove(&index);
                self.addrs.retain(|a| a.index != index);
                Ok(())
            }
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// The addresses of interface `index`.
    pub fn addresses_of(&self, index: u32) -> impl Iterator<Item = &AddrInfo> {
        self.addrs.iter().filter(move |a| a.index == index)
    }

    // ------------------------------------------------------------ GARP / NA

    /// Queue `repeat` rounds of gratuitous ARP (IPv4) / unsolicited NA
    /// (IPv6) for `addrs` on `ifname`, spaced on that interface by
    /// `garp_interval` / `gna_interval` (zero: all at once), and send what
    /// is due now.
    pub fn queue_garp(
        &mut self,
        now: Instant,
        ifname: &str,
        addrs: &[IpAddr],
        repeat: u32,
        garp_interval: Duration,
        gna_interval: Duration,
    ) -> Vec<String> {
        for _ in 0..repeat {
            for a in addrs {
                let fam = IpFamily::of(a);
                let interval = match fam {
                    IpFamily::V4 => garp_interval,
                    IpFamily::V6 => gna_interval,
                };
                let free = self
                    .next_free
                    .entry((ifname.to_string(), fam))
                    .or_insert(now);
                let due = (*free).max(now);
                *free = due + interval;
                self.queue.push_back(QueuedFrame {
                    due,
                    ifname: ifname.to_string(),
                    addr: *a,
                });
            }
        }
        self.send_due_frames(now)
    }

    /// Drop what is queued for `addrs` (an instance left MASTER).
    pub fn cancel_garp(&mut self, addrs: &[IpAddr]) {
        self.queue.retain(|f| !addrs.contains(&f.addr));
    }

    /// When the next queued frame is due.
    pub fn next_frame_due(&self) -> Option<Instant> {
        self.queue.iter().map(|f| f.due).min()
    }

    /// Send the frames that are due. One message per failed frame.
    pub fn send_due_frames(&mut self, now: Instant) -> Vec<String> {
        let mut errors = Vec::new();
        let mut keep = VecDeque::with_capacity(self.queue.len());
        let queue = std::mem::take(&mut self.queue);
        for f in queue {
            if f.due > now {
                keep.push_back(f);
                continue;
            }
            let Some(link) = self.link(&f.ifname) else {
                errors.push(format!("no interface {} for gratuitous ARP/NA", f.ifname));
                continue;
            };
            let Some(mac) = link.mac6() else {
                continue; // not Ethernet: nothing to announce
            };
            let r = match f.addr {
                IpAddr::V4(a) => self.frames.send_garp(link.index, mac, a),
                IpAddr::V6(a) => {
                    self.frames
                        .send_na(link.index, mac, a, ipv6_forwarding(&f.ifname))
                }
            };
            if let Err(e) = r {
                errors.push(format!(
                    "cannot send gratuitous ARP/NA for {} on {}: {e}",
                    f.addr, f.ifname
                ));
            }
        }
        self.queue = keep;
        errors
    }
}
