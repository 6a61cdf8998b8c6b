//! The desired IPVS table and its reconciliation with the kernel's, without
//! I/O.
//!
//! [`Planner::desired`] computes, from the configuration slice and the
//! real servers' health, the table keepalived 2.2.7 programs
//! (keepalived/check/ipwrapper.c and ipvswrapper.c):
//!
//! - one kernel service per `virtual_server`; a `virtual_server group`
//!   expands into one service per address of each range entry (IPv4 ranges
//!   count through the address, IPv6 ranges through the last group, as
//!   keepalived's `ipvs_group_range_cmd`) and one fwmark service per
//!   `fwmark` entry; real servers that are not masqueraded take each
//!   service's port (0 for fwmark services), and a service two virtual
//!   servers share (a group's fwmark used with two protocols) gets the
//!   real servers of both;
//! - scheduler, `ops` and scheduler flags, persistence timeout (with the
//!   persistent flag), granularity netmask (IPv4 mask or IPv6 prefix
//!   length, else all ones / 128) and persistence engine;
//! - a real server is present with its current weight while it is up; when
//!   down it is removed, or kept with weight 0 with `inhibit_on_failure`;
//! - quorum: the sum of the up real servers' weights is compared with
//!   `quorum` with `hysteresis` as keepalived's `update_quorum_state`
//!   does (a service starts with quorum down and gains it at
//!   `quorum + hysteresis`; loses it below `quorum - hysteresis` or at a
//!   sum of 0). Without quorum the `sorry_server` replaces the real servers
//!   (inhibited ones stay with weight 0); with quorum an inhibited sorry
//!   server (`sorry_server_inhibit`) stays with weight 0.
//!
//! [`diff`] compares a kernel dump with the desired table and lists the
//! requests that make the kernel match, touching only services the caller
//! owns: a service of the configuration is created, corrected or given
//! back a destination someone deleted (keepalived#1877); a service that is
//! neither desired nor owned is left alone.

use crate::netlink::ipvs::{
    Af, Dest, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL,
    IP_VS_CONN_F_TUNNEL_TYPE_GRE, IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
    IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2,
    IP_VS_SVC_F_SCHED3, IP_VS_TUNNEL_ENCAP_FLAG_CSUM, IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
    IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, Request, Service,
    ServiceKey,
};
use config::model::lvs::{
    Forwarding, Granularity, IpFamily, LvsConfig, Protocol as CfgProtocol, RealServer, TunnelCsum,
    TunnelType, VirtualServer, VsKey, VsgEntry,
};
use ipc::{Health, RealServerKey, VirtualServerKey};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The largest weight IPVS takes (the kernel's `int` weight).
const WEIGHT_MAX: u32 = i32::MAX as u32;

/// A service of the desired table with its destinations in the order
/// keepalived adds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    pub service: Service,
    pub dests: Vec<Dest>,
}

/// The desired table, services in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub services: Vec<DesiredService>,
    /// Position of each service in `services`.
    index: BTreeMap<ServiceKey, usize>,
}

impl Desired {
    pub fn keys(&self) -> BTreeSet<ServiceKey> {
        self.index.keys().copied().collect()
    }

    pub fn get(&self, key: &ServiceKey) -> Option<&DesiredService> {
        self.index.get(key).map(|&i| &self.services[i])
    }

    pub fn contains(&self, key: &ServiceKey) -> bool {
        self.index.contains_key(key)
    }

    pub fn dest_count(&self) -> usize {
        self.services.iter().map(|s| s.dests.len()).sum()
    }

    fn push(&mut self, s: DesiredService) {
        self.index.insert(s.service.key, self.services.len());
        self.services.push(s);
    }
}

/// A service of the kernel's table and its destinations by address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelService {
    pub service: Service,
    pub dests: BTreeMap<(IpAddr, u16), Dest>,
}

/// The kernel's table as a dump read it (or as the worker last left it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelTable {
    pub services: BTreeMap<ServiceKey, KernelService>,
}

impl KernelTable {
    pub fn insert(&mut self, service: Service, dests: impl IntoIterator<Item = Dest>) {
        let dests = dests.into_iter().map(|d| ((d.addr, d.port), d)).collect();
        self.services
            .insert(service.key, KernelService { service, dests });
    }

    pub fn dest_count(&self) -> usize {
        self.services.values().map(|s| s.dests.len()).sum()
    }

    /// Record the effect of a request the kernel accepted.
    pub fn apply(&mut self, op: &Request) {
        match op {
            Request::NewService(s) | Request::SetService(s) => {
                match self.services.get_mut(&s.key) {
                    Some(k) => k.service = s.clone(),
                    None => self.insert(s.clone(), []),
                }
            }
            Request::DelService(k) => {
                self.services.remove(k);
            }
            Request::NewDest(k, d) | Request::SetDest(k, d) => {
                if let Some(ks) = self.services.get_mut(k) {
                    ks.dests.insert((d.addr, d.port), *d);
                }
            }
            Request::DelDest(k, d) => {
                if let Some(ks) = self.services.get_mut(k) {
                    ks.dests.remove(&(d.addr, d.port));
                }
            }
            Request::Flush => self.services.clear(),
            _ => {}
        }
    }
}

pub use ipc::keys::{rs_key, vs_key};

/// keepalived's health of a real server before its checkers have run: down
/// when one of its checkers is in alpha mode (`num_failed_checkers` > 0),
/// else up, at its configured weight.
pub fn initial_health(rs: &RealServer) -> Health {
    Health {
        up: !rs.checkers.iter().any(|c| c.alpha),
        weight: rs.weight,
    }
}

fn protocol_number(vs: &VirtualServer) -> u16 {
    match vs.protocol {
        Some(CfgProtocol::Udp) => IPPROTO_UDP,
        Some(CfgProtocol::Sctp) => IPPROTO_SCTP,
        _ => IPPROTO_TCP,
    }
}

fn af_of(f: IpFamily) -> Af {
    match f {
        IpFamily::Inet => Af::Inet,
        IpFamily::Inet6 => Af::Inet6,
    }
}

/// The addresses of a range entry, as keepalived walks them.
fn range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            (a..=b.max(a))
                .map(|x| IpAddr::V4(Ipv4Addr::from(x)))
                .collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            // keepalived steps the last 16-bit group only.
            let mut seg = a.segments();
            let (from, to) = (seg[7], b.segments()[7].max(seg[7]));
            (from..=to)
                .map(|x| {
                    seg[7] = x;
                    IpAddr::V6(Ipv6Addr::from(seg))
                })
                .collect()
        }
        (a, _) => vec![a],
    }
}

/// The kernel services of a virtual server.
pub fn kernel_keys(vs: &VirtualServer, lvs: &LvsConfig) -> Vec<ServiceKey> {
    let protocol = protocol_number(vs);
    let af = af_of(vs.family);
    match &vs.key {
        VsKey::Addr { addr } => vec![ServiceKey::Addr {
            protocol,
            addr: addr.ip(),
            port: addr.port(),
        }],
        VsKey::Fwmark { mark } => vec![ServiceKey::Fwmark { af, mark: *mark }],
        VsKey::Group { name, .. } => {
            let Some(g) = lvs.group(name) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for e in &g.entries {
                match e {
                    VsgEntry::Addresses {
                        first, last, port, ..
                    } if Af::of(first) == af => {
                        for addr in range(*first, *last) {
                            out.push(ServiceKey::Addr {
                                protocol,
                                addr,
                                port: *port,
                            });
                        }
                    }
                    VsgEntry::Fwmark { mark, family, .. }
                        if family.map(af_of).unwrap_or(af) == af =>
                    {
                        out.push(ServiceKey::Fwmark { af, mark: *mark });
                    }
                    _ => {}
                }
            }
            out
        }
    }
}

/// The kernel service of `key` with the virtual server's options.
pub fn service_for(vs: &VirtualServer, key: ServiceKey) -> Service {
    let af = key.af();
    let mut flags = 0;
    if vs.flags.one_packet {
        flags |= IP_VS_SVC_F_ONEPACKET;
    }
    if vs.flags.sched_flag_1 {
        flags |= IP_VS_SVC_F_SCHED1;
    }
    if vs.flags.sched_flag_2 {
        flags |= IP_VS_SVC_F_SCHED2;
    }
    if vs.flags.sched_flag_3 {
        flags |= IP_VS_SVC_F_SCHED3;
    }
    let mut timeout = 0;
    let mut netmask = af.full_netmask();
    if let Some(t) = vs.persistence_timeout {
        flags |= IP_VS_SVC_F_PERSISTENT;
        timeout = u32::try_from(t.as_secs()).unwrap_or(u32::MAX);
        match vs.persistence_granularity {
            Some(Granularity::Netmask(m)) => netmask = u32::from(m),
            Some(Granularity::PrefixLen(n)) => netmask = u32::from(n),
            None => {}
        }
    }
    Service {
        key,
        sched: vs.scheduler.name().to_string(),
        flags,
        timeout,
        netmask,
        pe_name: vs.persistence_engine.clone(),
    }
}

/// A destination for `addr` forwarded by `fwd`.
pub fn dest_for(addr: SocketAddr, fwd: Forwarding, weight: u32, uth: u32, lth: u32) -> Dest {
    let mut d = Dest {
        addr: addr.ip(),
        port: addr.port(),
        fwd: IP_VS_CONN_F_MASQ,
        weight: weight.min(WEIGHT_MAX),
        u_threshold: uth,
        l_threshold: lth,
        tun_type: 0,
        tun_port: 0,
        tun_flags: 0,
    };
    match fwd {
        Forwarding::Nat => {}
        Forwarding::Dr => d.fwd = IP_VS_CONN_F_DROUTE,
        Forwarding::Tun { tunnel, csum } => {
            d.fwd = IP_VS_CONN_F_TUNNEL;
            match tunnel {
                TunnelType::Ipip => d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
                TunnelType::Gue { port } => {
                    d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GUE;
                    d.tun_port = port;
                }
                TunnelType::Gre => d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            }
            d.tun_flags = match csum {
                TunnelCsum::NoCsum => IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
                TunnelCsum::Csum => IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                TunnelCsum::RemCsum => IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
            };
        }
    }
    d
}

/// keepalived's quorum transition for a weight sum, from the previous
/// state (`None`: starting, which keepalived treats as down).
pub fn quorum_up(prev: Option<bool>, weight_sum: u64, quorum: u32, hysteresis: u32) -> bool {
    let (s, q, h) = (
        i128::from(weight_sum),
        i128::from(quorum),
        i128::from(hysteresis),
    );
    match prev {
        Some(true) => !(s == 0 || s < q - h),
        None | Some(false) => s >= q + h,
    }
}

/// Why a real server is or is not in its service, for logs and dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VsState {
    pub quorum_up: bool,
    pub weight_sum: u64,
}

/// Computes desired tables; keeps each virtual server's quorum state
/// between computations (keepalived's `quorum_state_up`).
#[derive(Debug, Clone, Default)]
pub struct Planner {
    quorum: BTreeMap<VirtualServerKey, bool>,
    sums: BTreeMap<VirtualServerKey, u64>,
}

impl Planner {
    pub fn new() -> Self {
        Planner::default()
    }

    /// The quorum state of each virtual server after the last computation.
    pub fn states(&self) -> &BTreeMap<VirtualServerKey, bool> {
        &self.quorum
    }

    /// The weight sum of the up real servers of a virtual server at the
    /// last computation.
    pub fn weight_sum(&self, vs: &VirtualServerKey) -> u64 {
        self.sums.get(vs).copied().unwrap_or(0)
    }

    /// The desired table for `lvs` with `health` (real servers missing
    /// from it have keepalived's initial health). Updates the quorum states.
    pub fn desired(
        &mut self,
        lvs: &LvsConfig,
        health: &BTreeMap<RealServerKey, Health>,
    ) -> Desired {
        let mut out = Desired::default();
        let mut states = BTreeMap::new();
        for vs in &lvs.virtual_servers {
            let vk = vs_key(vs);
            let hs: Vec<Health> = vs
                .real_servers
                .iter()
                .map(|rs| {
                    health
                        .get(&rs_key(vs, rs))
                        .copied()
                        .unwrap_or_else(|| initial_health(rs))
                })
                .collect();
            let weight_sum: u64 = hs
                .iter()
                .filter(|h| h.up)
                .map(|h| u64::from(h.weight.min(WEIGHT_MAX)))
                .sum();
            let up = quorum_up(
                self.quorum.get(&vk).copied(),
                weight_sum,
                vs.quorum,
                vs.hysteresis,
            );
            self.sums.insert(vk.clone(), weight_sum);
            states.insert(vk, up);
            let sorry_active = !up && vs.sorry_server.is_some();
            let mut dests: Vec<Dest> = Vec::new();
            for (rs, h) in vs.real_servers.iter().zip(&hs) {
                let weight = if h.up && !sorry_active {
                    h.weight
                } else if rs.inhibit_on_failure {
                    0
                } else {
                    continue;
                };
                dests.push(dest_for(
                    rs.addr,
                    rs.forwarding,
                    weight,
                    rs.uthreshold,
                    rs.lthreshold,
                ));
            }
            if let Some(s) = &vs.sorry_server {
                let weight = if sorry_active {
                    Some(1)
                } else if s.inhibit && !s.duplicates_real_server {
                    Some(0)
                } else {
                    None
                };
                if let Some(w) = weight {
                    let d = dest_for(s.addr, s.forwarding, w, 0, 0);
                    dests.retain(|x| !(x.addr == d.addr && x.port == d.port));
                    dests.push(d);
                }
            }
            for key in kernel_keys(vs, lvs) {
                let dests = dests_for_service(&dests, &key);
                match out.index.get(&key) {
                    None => out.push(DesiredService {
                        service: service_for(vs, key),
                        dests,
                    }),
                    Some(&i) => {
                        // Two virtual servers share a kernel service (a
                        // group's fwmark entry used with two protocols): the
                        // first one configures it, each adds its real
                        // servers.
                        let s = &mut out.services[i];
                        for d in dests {
                            if !s.dests.iter().any(|x| x.addr == d.addr && x.port == d.port) {
                                s.dests.push(d);
                            }
                        }
                    }
                }
            }
        }
        self.sums.retain(|k, _| states.contains_key(k));
        self.quorum = states;
        out
    }
}

/// The destinations as the kernel service `key` gets them: keepalived
/// (`ipvs_group_cmd`) gives a destination that is not masqueraded the
/// service's port, 0 for a fwmark service.
fn dests_for_service(dests: &[Dest], key: &ServiceKey) -> Vec<Dest> {
    let port = match key {
        ServiceKey::Addr { port, .. } => *port,
        ServiceKey::Fwmark { .. } => 0,
    };
    dests
        .iter()
        .map(|d| {
            let mut d = *d;
            if d.fwd != IP_VS_CONN_F_MASQ {
                d.port = port;
            }
            d
        })
        .collect()
}

fn same_dest(a: &Dest, b: &Dest) -> bool {
    let tun = |d: &Dest| {
        if d.fwd == IP_VS_CONN_F_TUNNEL {
            (d.tun_type, d.tun_port, d.tun_flags)
        } else {
            (0, 0, 0)
        }
    };
    a.fwd == b.fwd
        && a.weight == b.weight
        && a.u_threshold == b.u_threshold
        && a.l_threshold == b.l_threshold
        && tun(a) == tun(b)
}

/// The requests that make `kernel` match `desired`. Services in the kernel
/// that are not desired are deleted only when `owned` says so; foreign
/// destinations of a desired service are deleted (the service is ours).
/// Destinations are added in the desired order.
pub fn diff(
    desired: &Desired,
    kernel: &KernelTable,
    owned: impl Fn(&ServiceKey) -> bool,
) -> Vec<Request> {
    let mut ops = Vec::new();
    for key in kernel.services.keys() {
        if !desired.contains(key) && owned(key) {
            ops.push(Request::DelService(*key));
        }
    }
    for ds in &desired.services {
        let key = ds.service.key;
        match kernel.services.get(&key) {
            None => {
                ops.push(Request::NewService(ds.service.clone()));
                for d in &ds.dests {
                    ops.push(Request::NewDest(key, *d));
                }
            }
            Some(ks) => {
                if ks.service != ds.service {
                    ops.push(Request::SetService(ds.service.clone()));
                }
                let want: BTreeSet<(IpAddr, u16)> =
                    ds.dests.iter().map(|d| (d.addr, d.port)).collect();
                for (k, d) in &ks.dests {
                    if !want.contains(k) {
                        ops.push(Request::DelDest(key, *d));
                    }
                }
                for d in &ds.dests {
                    match ks.dests.get(&(d.addr, d.port)) {
                        None => ops.push(Request::NewDest(key, *d)),
                        Some(x) if !same_dest(x, d) => ops.push(Request::SetDest(key, *d)),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    ops
}

/// A request as a log line names it.
pub struct OpDisplay<'a>(pub &'a Request);

fn daemon_state(s: u32) -> &'static str {
    match s {
        crate::syncd::STATE_MASTER => "master",
        crate::syncd::STATE_BACKUP => "backup",
        _ => "unknown",
    }
}

impl fmt::Display for OpDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dest = |d: &Dest| SocketAddr::new(d.addr, d.port);
        match self.0 {
            Request::NewService(s) => write!(f, "add service {} ({})", s.key, s.sched),
            Request::SetService(s) => write!(f, "update service {} ({})", s.key, s.sched),
            Request::DelService(k) => write!(f, "remove service {k}"),
            Request::NewDest(k, d) => write!(
                f,
                "add real server {} to {k} (weight {})",
                dest(d),
                d.weight
            ),
            Request::SetDest(k, d) => write!(
                f,
                "update real server {} of {k} (weight {})",
                dest(d),
                d.weight
            ),
            Request::DelDest(k, d) => write!(f, "remove real server {} from {k}", dest(d)),
            Request::Flush => f.write_str("flush"),
            Request::NewDaemon(d) => write!(
                f,
                "start the {} sync daemon (mcast={}, syncid={})",
                daemon_state(d.state),
                d.mcast_ifn,
                d.sync_id
            ),
            Request::DelDaemon(s) => write!(f, "stop the {} sync daemon", daemon_state(*s)),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests;
