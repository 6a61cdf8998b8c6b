//! The VRRP worker process.
//!
//! Runs the VRRP v2 (RFC 3768) and v3 (RFC 5798) state machines for every
//! configured `vrrp_instance`, IPv4 and IPv6, and performs their I/O:
//! raw IP protocol 112 sockets for adverts, VIP add/remove over rtnetlink,
//! gratuitous ARP and unsolicited neighbour advertisements.
//!
//! Privileges: started by the parent with its socketpair at a fixed fd; it
//! keeps only CAP_NET_RAW and CAP_NET_ADMIN (effective and permitted), an
//! empty bounding set, no_new_privs and a seccomp allow-list. It never reads
//! configuration files: the parent sends it its typed slice of the model.

mod firewall;
pub mod io;
pub mod machine;
pub mod packet;
mod statics;
mod sys;
mod vmac;

use config::model::vrrp::{Family, VrrpInstance};
use io::netlink::AddrSpec;
use io::shell::{EVENTS_TOKEN, NetChanges, Shell, SockKey};
use io::{IPPROTO_AH, IPPROTO_VRRP, IpFamily};
use ipc::link::{Flow, LINK_TOKEN, Link, LinkError, Worker, run_loop};
use ipc::{
    DumpKind, FromWorker, InstanceRestore, LogLevel, Role, ScriptEntry, Slice, ToWorker,
    VrrpCounters, VrrpSlice, VrrpState,
};
use machine::{Action, InstanceId, Machine};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// How often changed counters are sent to the parent.
const STATS_INTERVAL: Duration = Duration::from_secs(2);
/// Datagrams read from one socket per turn of the loop.
const RECV_BATCH: usize = 64;

fn ip_family(f: Family) -> IpFamily {
    match f {
        Family::Ipv4 => IpFamily::V4,
        Family::Ipv6 => IpFamily::V6,
    }
}

/// The IP protocol of an instance's adverts: 51 (AH) for `auth_type AH`
/// (VRRPv2 over IPv4: the configuration drops AH elsewhere), else 112.
fn advert_protocol(cfg: &VrrpInstance) -> u8 {
    let ah = cfg.family == Family::Ipv4
        && cfg.version == config::model::global::VrrpVersion::V2
        && cfg
            .authentication
            .as_ref()
            .is_some_and(|a| a.auth_type == config::model::vrrp::AuthType::Ah);
    if ah { IPPROTO_AH } else { IPPROTO_VRRP }
}

fn state_name(s: VrrpState) -> &'static str {
    match s {
        VrrpState::Init => "INIT",
        VrrpState::Backup => "BACKUP",
        VrrpState::Master => "MASTER",
        VrrpState::Fault => "FAULT",
    }
}

/// Every address an instance installs when MASTER: `virtual_ipaddress`
/// and `virtual_ipaddress_excluded`, with the interface each goes on.
fn instance_vips(cfg: &VrrpInstance) -> Vec<(String, &config::model::vrrp::IpAddress)> {
    let default = vmac::vip_ifname(cfg).unwrap_or_default();
    cfg.virtual_ipaddresses
        .iter()
        .chain(&cfg.virtual_ipaddresses_excluded)
        .map(|a| (a.dev.clone().unwrap_or_else(|| default.clone()), a))
        .collect()
}

/// Where an instance's `garp_extra_if` round sends: per interface of its
/// VIPs and excluded VIPs, in their order, the first VIP on it, leaving
/// out the instance's own interface (measured with keepalived 2.2.7: even
/// a `vmac_xmit_base` VMAC, whose MAC the adverts do not refresh, gets
/// none) and, unless `garp_extra_if all`, every interface that is not a
/// VMAC of the configuration (`vmacs`).
fn extra_garp_targets(cfg: &VrrpInstance, vmacs: &BTreeSet<String>) -> Vec<(String, IpAddr)> {
    let own = vmac::vip_ifname(cfg).unwrap_or_default();
    let mut out: Vec<(String, IpAddr)> = Vec::new();
    for (dev, a) in instance_vips(cfg) {
        if dev == own
            || (!cfg.garp.extra_if_all && !vmacs.contains(&dev))
            || out.iter().any(|(d, _)| *d == dev)
        {
            continue;
        }
        out.push((dev, a.addr));
    }
    out
}

/// Where the worker's actions go: the parent while the link is up; nowhere
/// for reports once it is gone (the kernel side is still carried out).
type Out<'a> = Option<&'a mut Link>;

/// The VRRP worker's state: the sans-IO machine and the kernel shell.
pub struct VrrpWorker {
    generation: u64,
    slice: VrrpSlice,
    scripts: Vec<ScriptEntry>,
    machine: Machine,
    shell: Shell,
    /// Every interface name the configuration watches, with the up state
    /// last given to the machine.
    watched: BTreeMap<String, bool>,
    /// All VIPs of all instances (never a source address).
    all_vips: BTreeSet<IpAddr>,
    /// The last send error per instance, so a failing send is logged once.
    send_errors: BTreeMap<usize, String>,
    /// Sockets whose last read stopped at the batch limit.
    pending: BTreeSet<mio::Token>,
    last_stats: BTreeMap<String, VrrpCounters>,
    /// Adverts for a VRID no instance has, by interface (keepalived drops
    /// them uncounted; `ctl status` shows these).
    unknown_vrid: BTreeMap<String, u64>,
    /// What the parent was last sent of `unknown_vrid`.
    last_unknown_vrid: BTreeMap<String, u64>,
    /// `log_unknown_vrids` lines: per interface, rate-limited as the drop
    /// reasons of instances are.
    unknown_vrid_logs: BTreeMap<String, machine::RejectLog>,
    next_stats: Instant,
    stopped: bool,
    /// `--dont-release-vrrp`: leave VIPs, virtual routes and rules, and
    /// VMACs installed on stop (static entries and nftables rules go, as
    /// with keepalived 2.2.7).
    dont_release: bool,
    /// VMACs made or adopted (by name).
    adopted_vmacs: BTreeSet<String>,
    /// The VMACs of addresses (`use_vmac_addr`, a VIP's `use_vmac`), with
    /// their instance's name.
    addr_vmacs: Vec<(String, vmac::VmacPlan)>,
    /// Base interfaces' ARP sysctls before their first IPv4 VMAC.
    vmac_saved: BTreeMap<String, Vec<(&'static str, i64)>>,
    /// `rp_filter` of `all` and the interfaces changed for IPv4 VMACs.
    rp_filter_saved: Vec<(String, i64)>,
    /// nftables drop sets for VIPs of instances without `accept`.
    firewall: firewall::Firewall,
    /// Instances already warned about their blocked VIPs.
    firewall_warned: BTreeSet<String>,
}

impl VrrpWorker {
    /// Build the worker for a configuration, resuming from `restored`.
    /// Returns it with the actions of its start, to be carried out.
    fn new(
        generation: u64,
        slice: VrrpSlice,
        scripts: Vec<ScriptEntry>,
        restored: &BTreeMap<String, InstanceRestore>,
        shell: Shell,
        now: Instant,
        dont_release: bool,
    ) -> VrrpWorker {
        let mut slice = slice;
        vmac::resolve_names(&mut slice.vrrp.instances);
        let addr_vmacs = vmac::resolve_addr_vmacs(&mut slice.vrrp.instances, &shell.links());
        let machine = Machine::new(&slice, &scripts, restored);
        let mut w = VrrpWorker {
            generation,
            slice,
            scripts,
            machine,
            shell,
            watched: BTreeMap::new(),
            all_vips: BTreeSet::new(),
            send_errors: BTreeMap::new(),
            pending: BTreeSet::new(),
            last_stats: BTreeMap::new(),
            unknown_vrid: BTreeMap::new(),
            last_unknown_vrid: BTreeMap::new(),
            unknown_vrid_logs: BTreeMap::new(),
            next_stats: now + STATS_INTERVAL,
            stopped: false,
            dont_release,
            adopted_vmacs: BTreeSet::new(),
            addr_vmacs,
            vmac_saved: BTreeMap::new(),
            rp_filter_saved: Vec::new(),
            firewall: firewall::Firewall::default(),
            firewall_warned: BTreeSet::new(),
        };
        w.index_config();
        w
    }

    /// Recompute what the configuration watches.
    fn index_config(&mut self) {
        let mut names = BTreeSet::new();
        let mut vips = BTreeSet::new();
        for i in &self.slice.vrrp.instances {
            names.extend(i.interface.iter().cloned());
            names.extend(i.track_interfaces.iter().map(|t| t.name.clone()));
            for (dev, a) in instance_vips(i) {
                names.insert(dev);
                vips.insert(a.addr);
            }
        }
        for g in &self.slice.vrrp.sync_groups {
            names.extend(g.track_interfaces.iter().map(|t| t.name.clone()));
        }
        names.retain(|n| !n.is_empty());
        self.watched = names.into_iter().map(|n| (n, true)).collect();
        self.all_vips = vips;
    }

    /// The advert sockets the configuration needs: one per interface and
    /// family, with the multicast groups of the instances on it.
    fn wanted_sockets(&self) -> BTreeMap<SockKey, BTreeSet<IpAddr>> {
        let mut m: BTreeMap<SockKey, BTreeSet<IpAddr>> = BTreeMap::new();
        for i in &self.slice.vrrp.instances {
            let Some(ifname) = vmac::advert_ifname(i) else {
                continue;
            };
            let groups = m
                .entry((ifname, ip_family(i.family), advert_protocol(i)))
                .or_default();
            if !i.unicast {
                groups.extend(i.mcast_dst_ip);
            }
        }
        m
    }

    /// The source address of instance `id` now: the configured one, else
    /// the interface's primary (IPv4) or link-local (IPv6) address.
    fn source_for(&self, cfg: &VrrpInstance) -> Option<IpAddr> {
        if let Some(a) = cfg.src_ip {
            return Some(a);
        }
        let ifname = cfg.interface.as_deref()?;
        self.shell
            .source_address(ifname, ip_family(cfg.family), &self.all_vips)
    }

    /// Give the machine the interfaces' states and the source addresses;
    /// returns the actions that caused.
    fn feed_kernel_state(&mut self, now: Instant, force: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        let names: Vec<String> = self.watched.keys().cloned().collect();
        for n in names {
            let up = self.shell.is_up(&n);
            if force || self.watched.get(&n) != Some(&up) {
                self.watched.insert(n.clone(), up);
                actions.extend(self.machine.interface_changed(now, &n, up));
            }
        }
        let ids: Vec<InstanceId> = self.machine.instance_ids().collect();
        for id in ids {
            let src = self.source_for(self.machine.config(id));
            if force || src != self.machine.source_address(id) {
                actions.extend(self.machine.set_source_address(now, id, src));
            }
        }
        actions
    }

    fn sync_sockets(&mut self, out: &mut Out<'_>) {
        let wanted = self.wanted_sockets();
        for e in self.shell.sync_sockets(&wanted) {
            log(out, LogLevel::Err, e);
        }
    }

    // ------------------------------------------------------------ actions

    fn run(&mut self, out: &mut Out<'_>, now: Instant, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::SendAdvert {
                    instance,
                    advert,
                    ah,
                } => self.send_advert(out, instance, &advert, ah),
                Action::AddVips { instance } => self.set_vips(out, instance, true),
                Action::RemoveVips { instance } => self.set_vips(out, instance, false),
                Action::SendGarp { instance, repeat } => self.send_garp(out, now, instance, repeat),
                Action::SendExtraGarp { instance } => self.send_extra_garp(out, now, instance),
                Action::Report(st) => {
                    if let Some(l) = out.as_deref_mut() {
                        let _ = l.send(&FromWorker::InstanceState(st));
                    }
                }
                Action::RunScript { request, id } => {
                    if let Some(l) = out.as_deref_mut() {
                        let _ = l.send(&FromWorker::RunScript { request, id });
                    }
                }
                Action::Log { level, message } => log(out, level, message),
            }
        }
    }

    fn send_advert(
        &mut self,
        out: &mut Out<'_>,
        id: InstanceId,
        advert: &packet::Advert,
        ah: Option<machine::AhTx>,
    ) {
        let cfg = self.machine.config(id);
        let name = cfg.name.clone();
        let Some(src) = self.machine.source_address(id) else {
            return;
        };
        let Some(ifname) = vmac::advert_ifname(cfg) else {
            return;
        };
        let key = (ifname, ip_family(cfg.family), advert_protocol(cfg));
        let unicast = !cfg.unicast_peers.is_empty();
        let key_bytes = self.machine.ah_key(id);
        let dsts: Vec<(IpAddr, Option<u8>)> = if cfg.unicast {
            cfg.unicast_peers
                .iter()
                .map(|p| (p.addr, cfg.ttl))
                .collect()
        } else {
            cfg.mcast_dst_ip.iter().map(|d| (*d, None)).collect()
        };
        let mut err = None;
        match self.shell.socket(&key) {
            None => err = Some(format!("no VRRP socket on {}", key.0)),
            Some(sock) => {
                for (dst, ttl) in dsts {
                    let (bytes, ttl) = match (ah, src, dst) {
                        (Some(ah), IpAddr::V4(s), IpAddr::V4(d)) if sock.header_included() => (
                            advert.encode_ipv4_ah(
                                s,
                                d,
                                ttl.unwrap_or(packet::VRRP_TTL),
                                ah.ip_id,
                                ah.seq,
                                &key_bytes,
                                unicast,
                            ),
                            None,
                        ),
                        _ => (advert.encode(src, dst), ttl),
                    };
                    if let Err(e) = sock.send(&bytes, Some(src), dst, ttl) {
                        err = Some(format!("sending an advert to {dst} on {}: {e}", key.0));
                    }
                }
            }
        }
        match err {
            Some(e) => {
                if self.send_errors.get(&id.0) != Some(&e) {
                    log(out, LogLevel::Err, format!("({name}) {e}"));
                    self.send_errors.insert(id.0, e);
                }
            }
            None => {
                self.send_errors.remove(&id.0);
            }
        }
    }

    fn set_vips(&mut self, out: &mut Out<'_>, id: InstanceId, add: bool) {
        let cfg = self.machine.config(id).clone();
        let verb = if add { "add" } else { "remove" };
        // Removing: rules, routes, then addresses; adding the other way
        // round (routes may use a VIP as their source).
        if !add {
            self.set_routes(out, &cfg, false);
        }
        let mut removed = Vec::new();
        for (dev, a) in instance_vips(&cfg) {
            let Some(index) = self.shell.ifindex(&dev) else {
                log(
                    out,
                    LogLevel::Err,
                    format!(
                        "({}) cannot {verb} VIP {}: no interface {dev}",
                        cfg.name, a.addr
                    ),
                );
                continue;
            };
            let spec = AddrSpec::from_config(a, index);
            let r = if add {
                self.shell.add_address(&spec)
            } else {
                removed.push(a.addr);
                self.shell.del_address(&spec)
            };
            if let Err(e) = r {
                log(
                    out,
                    LogLevel::Err,
                    format!(
                        "({}) cannot {verb} VIP {}/{} on {dev}: {e}",
                        cfg.name, a.addr, a.prefix
                    ),
                );
            }
        }
        if !removed.is_empty() {
            self.shell.cancel_garp(&removed);
        }
        self.firewall_vips(out, &cfg, add);
        if add {
            self.set_routes(out, &cfg, true);
        }
    }

    /// The instance's `virtual_routes` and `virtual_rules`.
    fn set_routes(&mut self, out: &mut Out<'_>, cfg: &VrrpInstance, add: bool) {
        let verb = if add { "add" } else { "remove" };
        if !add {
            for r in &cfg.virtual_rules {
                if let Err(e) = self.shell.rule(r, false) {
                    log(
                        out,
                        LogLevel::Err,
                        format!("({}) cannot {verb} a virtual rule: {e}", cfg.name),
                    );
                }
            }
        }
        for r in &cfg.virtual_routes {
            if let Err(e) = self.shell.route(r, add) {
                log(
                    out,
                    LogLevel::Err,
                    format!(
                        "({}) cannot {verb} virtual route {}: {e}",
                        cfg.name,
                        route_text(r)
                    ),
                );
            }
        }
        if add {
            for r in &cfg.virtual_rules {
                if let Err(e) = self.shell.rule(r, true) {
                    log(
                        out,
                        LogLevel::Err,
                        format!("({}) cannot {verb} a virtual rule: {e}", cfg.name),
                    );
                }
            }
        }
    }

    /// A first start (nothing to resume): remove whatever a previous run
    /// left behind (a daemon killed outright keeps its VIPs): each
    /// instance's VIPs, excluded VIPs, routes and rules, as keepalived
    /// does at start (`vrrp_complete_instance` forces `vipset` and calls
    /// `vrrp_restore_interface`). Otherwise a node that crashed as MASTER
    /// would come back as BACKUP still answering for the VIP.
    fn clear_leftovers(&mut self, out: &mut Out<'_>) {
        let ids: Vec<InstanceId> = self.machine.instance_ids().collect();
        for id in ids {
            let cfg = self.machine.config(id).clone();
            if self.machine.instance_state(id).holds_vips {
                continue;
            }
            self.set_routes(out, &cfg, false);
            for (dev, a) in instance_vips(&cfg) {
                let Some(index) = self.shell.ifindex(&dev) else {
                    continue;
                };
                let spec = AddrSpec::from_config(a, index);
                match self.shell.del_address(&spec) {
                    Ok(io::netlink::Applied::Done) => log(
                        out,
                        LogLevel::Info,
                        format!(
                            "({}) removed {}/{} from {dev}, left by a previous run",
                            cfg.name, a.addr, a.prefix
                        ),
                    ),
                    Ok(io::netlink::Applied::AlreadySo) => {}
                    Err(e) => log(
                        out,
                        LogLevel::Err,
                        format!(
                            "({}) cannot remove {}/{} from {dev}: {e}",
                            cfg.name, a.addr, a.prefix
                        ),
                    ),
                }
            }
        }
    }

    /// After a (re)start: an instance that resumed holding its VIPs gets
    /// them installed if anything removed them while no worker ran (adding
    /// one that is there is a no-op).
    fn ensure_vips(&mut self, out: &mut Out<'_>) {
        let ids: Vec<InstanceId> = self.machine.instance_ids().collect();
        for id in ids {
            if self.machine.instance_state(id).holds_vips {
                self.set_vips(out, id, true);
            }
        }
    }

    fn send_garp(&mut self, out: &mut Out<'_>, now: Instant, id: InstanceId, repeat: u32) {
        let cfg = self.machine.config(id).clone();
        let g = &self.slice.global;
        let garp_interval = g.vrrp_garp_interval.unwrap_or_default();
        let gna_interval = g.vrrp_gna_interval.unwrap_or_default();
        let mut by_dev: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for (dev, a) in instance_vips(&cfg) {
            by_dev.entry(dev).or_default().push(a.addr);
        }
        for (dev, addrs) in by_dev {
            for a in &addrs {
                log(
                    out,
                    LogLevel::Debug,
                    format!(
                        "({}) Sending/queueing gratuitous ARPs on {dev} for {a}",
                        cfg.name
                    ),
                );
            }
            for e in self
                .shell
                .queue_garp(now, &dev, &addrs, repeat, garp_interval, gna_interval)
            {
                log(out, LogLevel::Err, e);
            }
        }
    }

    /// The `garp_extra_if` round (keepalived's `vrrp_send_vmac_update`).
    fn send_extra_garp(&mut self, out: &mut Out<'_>, now: Instant, id: InstanceId) {
        let cfg = self.machine.config(id).clone();
        let vmacs: BTreeSet<String> = self.vmac_plans().into_iter().map(|(_, p)| p.name).collect();
        let g = &self.slice.global;
        let garp_interval = g.vrrp_garp_interval.unwrap_or_default();
        let gna_interval = g.vrrp_gna_interval.unwrap_or_default();
        for (dev, addr) in extra_garp_targets(&cfg, &vmacs) {
            log(
                out,
                LogLevel::Debug,
                format!(
                    "({}) Sending/queueing gratuitous ARPs on {dev} for {addr}",
                    cfg.name
                ),
            );
            for e in self
                .shell
                .queue_garp(now, &dev, &[addr], 1, garp_interval, gna_interval)
            {
                log(out, LogLevel::Err, e);
            }
        }
    }

    // ------------------------------------------------------------ inputs

    fn on_adverts(&mut self, out: &mut Out<'_>, token: mio::Token) {
        let Some(key) = self.shell.key_of(token).cloned() else {
            return;
        };
        let (got, errors, more) = self.shell.receive(token, RECV_BATCH);
        if more {
            self.pending.insert(token);
        } else {
            self.pending.remove(&token);
        }
        for e in errors {
            log(out, LogLevel::Err, e);
        }
        for r in got {
            let now = Instant::now();
            let (vrrp, meta) = match (r.src, r.dst) {
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    (r.payload(), packet::RxMeta::ipv6(s, d, Some(r.ttl)))
                }
                _ => match packet::parse_ipv4_short(&r.data) {
                    Ok(p) => (p.vrrp, packet::RxMeta::from_ipv4(&p)),
                    Err(_) => continue,
                },
            };
            // The VRID is the second byte: a packet too short for its
            // header still reaches its instance, to be counted as a
            // PacketLength drop.
            let Some(&vrid) = vrrp.get(1) else {
                continue;
            };
            let family = match key.1 {
                IpFamily::V4 => Family::Ipv4,
                IpFamily::V6 => Family::Ipv6,
            };
            let unicast = !meta.dst.is_multicast();
            let Some(id) = self.find_instance(&key.0, family, vrid, unicast) else {
                *self.unknown_vrid.entry(key.0.clone()).or_insert(0) += 1;
                if self.slice.global.log_unknown_vrids {
                    let e = self.unknown_vrid_logs.entry(key.0.clone()).or_default();
                    let (summary, line) = e.admit(now);
                    if let Some(n) = summary {
                        log(
                            out,
                            LogLevel::Info,
                            format!(
                                "{n} more adverts with an unknown VRID on {} without a log line (at most {} per {} s)",
                                key.0,
                                machine::REJECT_LOG_BURST,
                                machine::REJECT_LOG_WINDOW.as_secs()
                            ),
                        );
                    }
                    if line {
                        log(
                            out,
                            LogLevel::Info,
                            format!(
                                "Unknown VRID({vrid}) received on interface({}). ignoring...",
                                key.0
                            ),
                        );
                    }
                }
                continue;
            };
            let actions = self.machine.receive(now, id, vrrp, &meta);
            self.run(out, now, actions);
        }
    }

    /// The instance whose adverts arrive on `ifname` (its VMAC's adverts
    /// arrive on the VMAC).
    fn find_instance(
        &self,
        ifname: &str,
        family: Family,
        vrid: u8,
        unicast: bool,
    ) -> Option<InstanceId> {
        self.machine.instance_ids().find(|id| {
            let c = self.machine.config(*id);
            c.vrid == vrid
                && c.family == family
                && vmac::advert_ifname(c).as_deref() == Some(ifname)
                && c.unicast_peers.is_empty() != unicast
        })
    }

    fn on_net_events(&mut self, out: &mut Out<'_>) {
        let changes = match self.shell.net_events() {
            Ok(c) => c,
            Err(e) => {
                log(out, LogLevel::Err, format!("Netlink: {e}"));
                NetChanges::default()
            }
        };
        if changes.links.is_empty() && !changes.addresses {
            return;
        }
        let now = Instant::now();
        if !changes.links.is_empty() && self.vmacs_missing()
            || changes.addresses && self.vmac6_lacks_link_local()
        {
            self.ensure_vmacs(out);
            self.firewall_vmacs(out);
        }
        if !changes.links.is_empty() {
            // Interfaces re-created or appearing: their sockets follow.
            self.sync_sockets(out);
        }
        let actions = self.feed_kernel_state(now, false);
        self.run(out, now, actions);
        // A VIP of a MASTER removed behind our back is put back, as
        // keepalived does.
        for a in changes.removed {
            if !self.all_vips.contains(&a.addr) {
                continue;
            }
            let ids: Vec<InstanceId> = self.machine.instance_ids().collect();
            for id in ids {
                let st = self.machine.instance_state(id);
                let cfg = self.machine.config(id);
                if st.holds_vips && instance_vips(cfg).iter().any(|(_, v)| v.addr == a.addr) {
                    let name = cfg.name.clone();
                    log(
                        out,
                        LogLevel::Info,
                        format!("({name}) VIP {} was removed - restoring it", a.addr),
                    );
                    self.set_vips(out, id, true);
                }
            }
        }
    }

    fn send_stats(&mut self, out: &mut Out<'_>, all: bool) {
        let Some(l) = out.as_deref_mut() else { return };
        let ids: Vec<InstanceId> = self.machine.instance_ids().collect();
        for id in ids {
            let name = self.machine.config(id).name.clone();
            let c = self.machine.counters(id).clone();
            if all || self.last_stats.get(&name) != Some(&c) {
                let _ = l.send(&FromWorker::VrrpStats {
                    instance: name.clone(),
                    counters: c.clone(),
                });
                self.last_stats.insert(name, c);
            }
        }
        if all && !self.unknown_vrid.is_empty() || self.last_unknown_vrid != self.unknown_vrid {
            let _ = l.send(&FromWorker::VrrpUnknownVrid {
                by_interface: self.unknown_vrid.clone(),
            });
            self.last_unknown_vrid = self.unknown_vrid.clone();
        }
    }

    /// Stop: priority-0 adverts and VIP removal for MASTERs, stop scripts.
    fn stop(&mut self, out: &mut Out<'_>) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let now = Instant::now();
        let mut actions = self.machine.shutdown(now);
        if self.dont_release {
            // keepalived -V: still the priority-0 adverts, but the VIPs
            // and the virtual routes and rules stay.
            actions.retain(|a| !matches!(a, Action::RemoveVips { .. }));
        }
        self.run(out, now, actions);
        self.remove_statics(out);
        self.firewall_clear(out);
        self.stop_vmacs(out);
        self.send_stats(out, true);
    }

    fn reload(&mut self, out: &mut Out<'_>, mut slice: VrrpSlice, scripts: Vec<ScriptEntry>) {
        vmac::resolve_names(&mut slice.vrrp.instances);
        let addr_vmacs = vmac::resolve_addr_vmacs(&mut slice.vrrp.instances, &self.shell.links());
        let now = Instant::now();
        let snapshot = self.machine.snapshot();
        // What each instance had installed.
        let mut held: BTreeMap<String, Vec<(String, config::model::vrrp::IpAddress)>> =
            BTreeMap::new();
        for id in self.machine.instance_ids() {
            let cfg = self.machine.config(id);
            if snapshot.get(&cfg.name).is_some_and(|r| r.holds_vips) {
                held.insert(
                    cfg.name.clone(),
                    instance_vips(cfg)
                        .into_iter()
                        .map(|(d, a)| (d, a.clone()))
                        .collect(),
                );
            }
        }
        self.retire_removed(out, now, &slice, &snapshot);
        self.machine = Machine::new(&slice, &scripts, &snapshot);
        let old_vmacs: Vec<vmac::VmacPlan> =
            self.vmac_plans().into_iter().map(|(_, p)| p).collect();
        let old = std::mem::replace(&mut self.slice, slice);
        self.addr_vmacs = addr_vmacs;
        self.reload_statics(out, &old.vrrp);
        let new_vmacs: Vec<vmac::VmacPlan> =
            self.vmac_plans().into_iter().map(|(_, p)| p).collect();
        let gone: Vec<String> = old_vmacs
            .into_iter()
            .filter(|p| !new_vmacs.contains(p))
            .map(|p| p.name)
            .collect();
        if !gone.is_empty() {
            self.remove_vmacs(out, &gone);
        }
        self.ensure_vmacs(out);
        self.firewall_vmacs(out);
        self.scripts = scripts;
        self.index_config();
        self.send_errors.clear();
        self.sync_sockets(out);
        let mut actions = self.feed_kernel_state(now, true);
        actions.extend(self.machine.start(now));
        self.run(out, now, actions);
        // Addresses that were installed and no longer are configured for
        // their instance (or whose instance is gone) are removed; a
        // MASTER that kept its state gets any address added to it.
        for (name, old) in held {
            let id = self.machine.instance_id(&name);
            let (keep, holds): (Vec<(String, IpAddr, u8)>, bool) = match id {
                Some(id) => (
                    instance_vips(self.machine.config(id))
                        .into_iter()
                        .map(|(d, a)| (d, a.addr, a.prefix))
                        .collect(),
                    self.machine.instance_state(id).holds_vips,
                ),
                None => (Vec::new(), false),
            };
            for (dev, a) in &old {
                if holds && keep.contains(&(dev.clone(), a.addr, a.prefix)) {
                    continue;
                }
                if let Some(index) = self.shell.ifindex(dev) {
                    if let Err(e) = self.shell.del_address(&AddrSpec::from_config(a, index)) {
                        log(
                            out,
                            LogLevel::Err,
                            format!("({name}) cannot remove VIP {}/{}: {e}", a.addr, a.prefix),
                        );
                    }
                }
            }
            if let (Some(id), true) = (id, holds) {
                self.set_vips(out, id, true);
            }
        }
    }

    /// Instances a reload removes that are MASTER say goodbye as on a
    /// stop (keepalived's `clear_diff_vrrp`): a priority-0 advert and
    /// their VIPs removed. Done by a machine holding just those instances,
    /// resumed from their state and shut down; only its kernel actions are
    /// carried out (the parent no longer knows these instances).
    fn retire_removed(
        &mut self,
        out: &mut Out<'_>,
        now: Instant,
        new: &VrrpSlice,
        snapshot: &BTreeMap<String, InstanceRestore>,
    ) {
        let gone: BTreeSet<String> = self
            .slice
            .vrrp
            .instances
            .iter()
            .filter(|i| new.vrrp.instance(&i.name).is_none())
            .filter(|i| {
                snapshot
                    .get(&i.name)
                    .is_some_and(|r| r.state == VrrpState::Master)
            })
            .map(|i| i.name.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        let mut s = self.slice.clone();
        s.vrrp.instances.retain(|i| gone.contains(&i.name));
        s.vrrp.sync_groups.clear();
        for i in &mut s.vrrp.instances {
            i.sync_group = None;
        }
        let restored: BTreeMap<String, InstanceRestore> = snapshot
            .iter()
            .filter(|(n, _)| gone.contains(*n))
            .map(|(n, r)| (n.clone(), *r))
            .collect();
        let mut m = Machine::new(&s, &[], &restored);
        let ids: Vec<InstanceId> = m.instance_ids().collect();
        for id in &ids {
            let src = self
                .machine
                .instance_id(&m.config(*id).name)
                .and_then(|old| self.machine.source_address(old));
            let _ = m.set_source_address(now, *id, src);
        }
        let _ = m.start(now);
        let actions: Vec<Action> = m
            .shutdown(now)
            .into_iter()
            .filter(|a| matches!(a, Action::SendAdvert { .. } | Action::RemoveVips { .. }))
            .collect();
        for name in &gone {
            log(
                out,
                LogLevel::Info,
                format!("({name}) removed from the configuration - stopping it"),
            );
        }
        let current = std::mem::replace(&mut self.machine, m);
        self.run(out, now, actions);
        self.machine = current;
    }

    fn dump(&self, kind: DumpKind) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "------< VRRP worker (pid {}) >------",
            std::process::id()
        );
        let _ = writeln!(s, " Configuration generation = {}", self.generation);
        let _ = writeln!(s, " Scripts = {}", self.scripts.len());
        for id in self.machine.instance_ids() {
            let i = self.machine.config(id);
            let st = self.machine.instance_state(id);
            let _ = writeln!(
                s,
                " VRRP Instance = {}, vrid {}, interface {}",
                i.name,
                i.vrid,
                i.interface.as_deref().unwrap_or("-")
            );
            let _ = writeln!(s, "   State = {}", state_name(st.state));
            let _ = writeln!(
                s,
                "   Priority = {}, effective {}",
                st.priority, st.effective_priority
            );
            let _ = writeln!(s, "   VIPs set = {}", st.holds_vips);
            match self.machine.source_address(id) {
                Some(a) => {
                    let _ = writeln!(s, "   Source address = {a}");
                }
                None => {
                    let _ = writeln!(s, "   Source address = none");
                }
            }
            if kind == DumpKind::Stats {
                let c = self.machine.counters(id);
                let _ = writeln!(
                    s,
                    "   Advertisements: sent {}, received {}; became master {}, released master {}; priority 0 sent {}, received {}",
                    c.adverts_sent,
                    c.adverts_received,
                    c.became_master,
                    c.released_master,
                    c.priority_zero_sent,
                    c.priority_zero_received
                );
                for (r, n) in &c.drops {
                    let _ = writeln!(s, "   Dropped ({r:?}) = {n}");
                }
            }
        }
        s
    }
}

fn route_text(r: &config::model::vrrp::Route) -> String {
    match &r.dst {
        config::model::vrrp::RouteDest::Default => "default".into(),
        config::model::vrrp::RouteDest::Prefix(a, l) => format!("{a}/{l}"),
    }
}

fn log(out: &mut Out<'_>, level: LogLevel, message: String) {
    match out.as_deref_mut() {
        Some(l) => {
            let _ = l.log(level, message);
        }
        None => eprintln!("keepalived-rs vrrp worker: {message}"),
    }
}

impl Worker for VrrpWorker {
    fn register(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
        self.shell.register(registry)
    }

    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
        let mut out = Some(link);
        match msg {
            ToWorker::Reload(r) => match r.slice {
                Slice::Vrrp(s) => {
                    self.generation = r.generation;
                    self.reload(&mut out, *s, r.scripts);
                    let link = out.take().ok_or(LinkError::Closed)?;
                    link.send(&FromWorker::Ready {
                        generation: r.generation,
                    })?;
                }
                _ => {
                    return Err(LinkError::Protocol(
                        "Reload with another role's slice".into(),
                    ));
                }
            },
            ToWorker::Shutdown => {
                self.stop(&mut out);
                return Ok(Flow::Exit(0));
            }
            ToWorker::DumpRequest { kind } => {
                if kind == DumpKind::Stats {
                    self.send_stats(&mut out, true);
                }
                let text = self.dump(kind);
                let link = out.take().ok_or(LinkError::Closed)?;
                link.send(&FromWorker::Dump { kind, text })?;
            }
            ToWorker::ScriptDone { request, outcome } => {
                let now = Instant::now();
                let actions = self.machine.script_done(now, request, &outcome);
                self.run(&mut out, now, actions);
            }
            other => {
                return Err(LinkError::Protocol(format!(
                    "unexpected {} for the VRRP worker",
                    other.name()
                )));
            }
        }
        Ok(Flow::Continue)
    }

    fn on_event(
        &mut self,
        link: &mut Link,
        _registry: &mio::Registry,
        event: &mio::event::Event,
    ) -> Result<Flow, LinkError> {
        let mut out = Some(link);
        let token = event.token();
        if token == EVENTS_TOKEN {
            self.on_net_events(&mut out);
        } else if token != LINK_TOKEN {
            self.on_adverts(&mut out, token);
        }
        Ok(Flow::Continue)
    }

    fn on_timer(&mut self, link: &mut Link, now: Instant) -> Result<Flow, LinkError> {
        let mut out = Some(link);
        let pending: Vec<mio::Token> = self.pending.iter().copied().collect();
        for t in pending {
            self.on_adverts(&mut out, t);
        }
        let actions = self.machine.on_timer(now);
        self.run(&mut out, now, actions);
        for e in self.shell.send_due_frames(now) {
            log(&mut out, LogLevel::Err, e);
        }
        if now >= self.next_stats {
            self.next_stats = now + STATS_INTERVAL;
            self.send_stats(&mut out, false);
        }
        Ok(Flow::Continue)
    }

    fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        let soonest = [
            self.machine.next_deadline(),
            self.shell.next_frame_due(),
            Some(self.next_stats),
            (!self.pending.is_empty()).then_some(now),
        ];
        soonest.into_iter().flatten().min()
    }

    fn on_parent_gone(&mut self) {
        self.stop(&mut None);
    }
}

/// The worker's main: handshake, then the loop. Returns the exit code.
/// `confinement` is the sandbox's report, logged through the parent.
pub fn run(stream: UnixStream, confinement: &str) -> i32 {
    let Some((mut link, init)) = ipc::link::start(stream, Role::Vrrp, confinement) else {
        return 1;
    };
    let (Slice::Vrrp(slice), ipc::Restored::Vrrp(restored)) = (init.slice, init.restored) else {
        return 1;
    };
    let shell = match Shell::open() {
        Ok(s) => s,
        Err(e) => {
            let _ = link.log(
                LogLevel::Err,
                format!("VRRP worker cannot open its netlink/packet sockets: {e}"),
            );
            link.drain(Duration::from_millis(200));
            return 1;
        }
    };
    let now = Instant::now();
    let mut w = VrrpWorker::new(
        init.generation,
        *slice,
        init.scripts,
        &restored,
        shell,
        now,
        init.options.dont_release,
    );
    let n = w.slice.vrrp.instances.len();
    let generation = w.generation;
    {
        let mut out = Some(&mut link);
        if restored.is_empty() {
            w.clear_leftovers(&mut out);
        }
        w.install_statics(&mut out);
        w.firewall_clear(&mut out);
        w.ensure_vmacs(&mut out);
        w.firewall_vmacs(&mut out);
        w.sync_sockets(&mut out);
        let mut actions = w.feed_kernel_state(now, true);
        actions.extend(w.machine.start(now));
        w.run(&mut out, now, actions);
        w.ensure_vips(&mut out);
    }
    let started = (|| {
        link.log(
            LogLevel::Info,
            format!("VRRP worker started with {n} instance(s)"),
        )?;
        link.send(&FromWorker::Ready { generation })
    })();
    if started.is_err() {
        w.stop(&mut None);
        return 1;
    }
    run_loop(link, &mut w)
}
