//! `use_vmac [NAME]`: a macvlan interface in private mode on the
//! instance's interface, carrying the VRRP virtual MAC
//! (00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6), as
//! keepalived 2.2.7's `vrrp_vmac.c` makes it:
//!
//! - named NAME, else `vrrp.VRID` (IPv4) / `vrrp6.VRID` (IPv6); created
//!   at start and kept up in every state; its VIPs go on it and its
//!   adverts and gratuitous ARPs leave from it (with `vmac_xmit_base`, the
//!   adverts leave from the base interface instead);
//! - IPv6 address generation off; an IPv4 VMAC gets IPv6 disabled
//!   (unless its instance has an IPv6 eVIP),
//!   `arp_ignore` 1, `accept_local` 1, `rp_filter` 0,
//!   `promote_secondaries` 1, and its base interface `arp_ignore` 1 and
//!   `arp_filter` 1 (restored when the worker stops); an IPv6 VMAC gets the
//!   base interface's link-local address (nodad, preferred lifetime 0);
//! - with `net.ipv4.conf.all.rp_filter` set, keepalived moves it to the
//!   interfaces (`all` 0, `default` and every interface at 0 get the old
//!   `all` value) so that the VMAC's `rp_filter` 0 counts; all restored on
//!   stop;
//! - deleted on stop (kept with `--dont-release-vrrp`); one that exists
//!   already with our base and MAC (a restarted worker's, or a daemon
//!   killed outright) is adopted rather than failing (keepalived#2693).
//!
//! The sysctls are written in /proc/sys/net (see [`crate::io::sysctl`]).

use crate::io::netlink::{AddrSpec, IFA_F_NODAD, IFF_UP};

/// linux/if.h.
const IFF_LOOPBACK: u32 = 0x8;
use crate::io::sysctl;
use crate::{Out, VrrpWorker, log};
use config::model::vrrp::{Family, VrrpInstance};
use ipc::LogLevel;
use std::net::IpAddr;

/// The VMAC an instance uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VmacPlan {
    pub name: String,
    pub base: String,
    pub mac: [u8; 6],
    pub v6: bool,
    /// An instance's own VMAC whose instance has an eVIP of the other
    /// family (keepalived's `evip_other_family`): an IPv4 one keeps IPv6
    /// enabled, and it joins the other family's nftables VMAC rules too.
    pub evip_other_family: bool,
}

/// Give every unnamed VMAC keepalived's default name: `vrrp.VRID`; an
/// IPv6 instance whose VRID an IPv4 instance's unnamed VMAC already uses
/// gets `vrrp6.VRID`.
pub(crate) fn resolve_names(instances: &mut [VrrpInstance]) {
    let v4_vrids: Vec<u8> = instances
        .iter()
        .filter(|i| i.family == Family::Ipv4)
        .filter(|i| i.use_vmac.as_ref().is_some_and(|v| v.ifname.is_none()))
        .map(|i| i.vrid)
        .collect();
    for i in instances.iter_mut() {
        let (vrid, v6) = (i.vrid, i.family == Family::Ipv6);
        if let Some(v) = i.use_vmac.as_mut() {
            if v.ifname.is_none() {
                let prefix = if v6 && v4_vrids.contains(&vrid) {
                    "vrrp6"
                } else {
                    "vrrp"
                };
                v.ifname = Some(format!("{prefix}.{vrid}"));
            }
        }
    }
}

/// The default MAC of a VMAC for `vrid`: 00:00:5e:00:01:VRID (IPv4) or
/// 00:00:5e:00:02:VRID (IPv6).
fn default_mac(v6: bool, vrid: u8) -> [u8; 6] {
    [0, 0, 0x5e, 0, if v6 { 2 } else { 1 }, vrid]
}

/// keepalived's `create_vmac_name` for an address's VMAC: `vrrp.VRID`,
/// then `vrrpN.VRID` for N = 1, 2, ... (IPv6 tries `vrrp6.VRID` second and
/// skips 6 after), the first that no instance's VMAC and no interface
/// (`taken`) has.
fn addr_vmac_name(vrid: u8, v6: bool, taken: &dyn Fn(&str) -> bool) -> String {
    let mut name = format!("vrrp.{vrid}");
    let mut num: u32 = 0;
    while taken(&name) {
        num = match (v6, num) {
            (true, 0) => 6,
            (true, 6) => 1,
            (true, 5) => 7,
            (_, n) => n + 1,
        };
        name = format!("vrrp{num}.{vrid}");
    }
    name
}

/// `use_vmac_addr` and a VIP's own `use_vmac`, as keepalived 2.2.7's
/// `vrrp_complete_instance` resolves them: a VIP or eVIP on another
/// interface than the instance's (`use_vmac_addr`, or its `use_vmac`), or
/// of the other family on the instance's interface, goes on a VMAC of its
/// own on that interface, with the instance's VRID and its family's MAC:
/// one that exists already for that interface, VRID and family (an
/// instance's, an earlier address's, or one `links` shows, left by an
/// earlier run), else a new one named by [`addr_vmac_name`]. A VIP given
/// `dev` of the instance's own interface goes on the instance's VMAC like
/// one without `dev`. Each VIP's `dev` is rewritten to where it goes; the
/// new VMACs are returned with their instance's name.
pub(crate) fn resolve_addr_vmacs(
    instances: &mut [VrrpInstance],
    links: &[crate::io::netlink::LinkInfo],
) -> Vec<(String, VmacPlan)> {
    let own: Vec<VmacPlan> = instances.iter().filter_map(plan).collect();
    let mut extra: Vec<(String, VmacPlan)> = Vec::new();
    let base_name = |index: u32| {
        links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name.clone())
    };
    for inst in instances.iter_mut() {
        let Some(cfg_if) = inst.interface.clone() else {
            continue;
        };
        let inst_vmac = plan(inst).map(|p| p.name);
        let inst_v6 = inst.family == Family::Ipv6;
        let (vrid, vmac_addr) = (inst.vrid, inst.use_vmac_addr);
        for a in inst
            .virtual_ipaddresses
            .iter_mut()
            .chain(inst.virtual_ipaddresses_excluded.iter_mut())
        {
            let v6 = a.addr.is_ipv6();
            let on_own = a.dev.as_deref().is_none_or(|d| d == cfg_if);
            let base = if on_own {
                if let (Some(v), true) = (&inst_vmac, v6 == inst_v6) {
                    if a.dev.is_some() {
                        a.dev = Some(v.clone());
                    }
                    continue;
                }
                if !(a.use_vmac || (vmac_addr && v6 != inst_v6)) {
                    continue;
                }
                cfg_if.clone()
            } else {
                if !(a.use_vmac || vmac_addr) {
                    continue;
                }
                a.dev.clone().unwrap_or_default()
            };
            let mac = default_mac(v6, vrid);
            let known = own
                .iter()
                .chain(extra.iter().map(|(_, p)| p))
                .find(|p| p.base == base && p.mac == mac)
                .map(|p| p.name.clone())
                .or_else(|| {
                    links
                        .iter()
                        .find(|l| {
                            l.kind.as_deref() == Some("macvlan")
                                && l.mac6() == Some(mac)
                                && l.lower.and_then(base_name).as_deref() == Some(base.as_str())
                        })
                        .map(|l| l.name.clone())
                });
            let name = known.unwrap_or_else(|| {
                let taken = |n: &str| {
                    own.iter().any(|p| p.name == n)
                        || extra.iter().any(|(_, p)| p.name == n)
                        || links.iter().any(|l| l.name == n)
                };
                let name = addr_vmac_name(vrid, v6, &taken);
                extra.push((
                    inst.name.clone(),
                    VmacPlan {
                        name: name.clone(),
                        base: base.clone(),
                        mac,
                        v6,
                        evip_other_family: false,
                    },
                ));
                name
            });
            a.dev = Some(name);
        }
    }
    extra
}

/// The VMAC of an instance with `use_vmac` (and an interface).
pub(crate) fn plan(cfg: &VrrpInstance) -> Option<VmacPlan> {
    let v = cfg.use_vmac.as_ref()?;
    let base = cfg.interface.clone()?;
    let v6 = cfg.family == Family::Ipv6;
    let name = v
        .ifname
        .clone()
        .unwrap_or_else(|| format!("vrrp.{}", cfg.vrid));
    let mac = match v.mac {
        Some(mut m) => {
            if v.mac_use_vrid {
                m[5] = cfg.vrid;
            }
            m
        }
        None => default_mac(v6, cfg.vrid),
    };
    let evip_other_family = cfg
        .virtual_ipaddresses_excluded
        .iter()
        .any(|a| a.addr.is_ipv6() != v6);
    Some(VmacPlan {
        name,
        base,
        mac,
        v6,
        evip_other_family,
    })
}

/// Where an instance's adverts are sent and received: its VMAC, unless
/// `vmac_xmit_base` (or no VMAC), then its interface.
pub(crate) fn advert_ifname(cfg: &VrrpInstance) -> Option<String> {
    match (plan(cfg), &cfg.use_vmac) {
        (Some(p), Some(v)) if !v.xmit_base => Some(p.name),
        _ => cfg.interface.clone(),
    }
}

/// The interface an instance's VIPs go on by default: its VMAC, else its
/// interface.
pub(crate) fn vip_ifname(cfg: &VrrpInstance) -> Option<String> {
    plan(cfg).map(|p| p.name).or_else(|| cfg.interface.clone())
}

fn mac_text(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The sysctls of an IPv4 VMAC, and of its base interface.
const VMAC4_SYSCTLS: [(&str, i64); 4] = [
    ("arp_ignore", 1),
    ("accept_local", 1),
    ("rp_filter", 0),
    ("promote_secondaries", 1),
];
const BASE_SYSCTLS: [(&str, i64); 2] = [("arp_ignore", 1), ("arp_filter", 1)];

impl VrrpWorker {
    /// Every VMAC the configuration wants: the instances' own, then the
    /// addresses' ([`resolve_addr_vmacs`]).
    pub(crate) fn vmac_plans(&self) -> Vec<(String, VmacPlan)> {
        self.slice
            .vrrp
            .instances
            .iter()
            .filter_map(|i| plan(i).map(|p| (i.name.clone(), p)))
            .chain(self.addr_vmacs.iter().cloned())
            .collect()
    }

    /// keepalived's `clear_rp_filter`: with `all.rp_filter` set, the VMAC's
    /// `rp_filter` 0 would not count (the kernel uses the larger of the
    /// two), so the value moves from `all` to `default` and to every
    /// interface that has 0. What was there is kept for the stop.
    fn clear_rp_filter(&mut self, out: &mut Out<'_>) {
        if !self.rp_filter_saved.is_empty() {
            return;
        }
        let all = match sysctl::read(false, "all", "rp_filter") {
            Ok(v) => v,
            Err(e) => {
                log(out, LogLevel::Err, format!("VMAC: {e}"));
                return;
            }
        };
        if all == 0 {
            return;
        }
        let vmacs: Vec<String> = self.vmac_plans().into_iter().map(|(_, p)| p.name).collect();
        let mut names = vec!["default".to_string()];
        // keepalived 2.2.7 leaves an up loopback alone (measured: `lo`
        // down gets the value, `lo` up does not).
        let up_loopback = |n: &str| {
            self.shell
                .link(n)
                .is_some_and(|l| l.flags & IFF_LOOPBACK != 0 && l.flags & IFF_UP != 0)
        };
        names.extend(
            self.shell
                .link_names()
                .into_iter()
                .filter(|n| !vmacs.contains(n) && !up_loopback(n)),
        );
        let mut saved = vec![("all".to_string(), all)];
        let mut errors = Vec::new();
        for n in names {
            match sysctl::read(false, &n, "rp_filter") {
                Ok(0) => match sysctl::write(false, &n, "rp_filter", all) {
                    Ok(()) => saved.push((n, 0)),
                    Err(e) => errors.push(e.to_string()),
                },
                Ok(_) => {}
                Err(e) => errors.push(e.to_string()),
            }
        }
        if let Err(e) = sysctl::write(false, "all", "rp_filter", 0) {
            errors.push(e.to_string());
        }
        self.rp_filter_saved = saved;
        for e in errors {
            log(out, LogLevel::Err, format!("VMAC rp_filter: {e}"));
        }
    }

    /// Put `rp_filter` back as [`Self::clear_rp_filter`] found it.
    fn restore_rp_filter(&mut self, out: &mut Out<'_>) {
        for (n, v) in std::mem::take(&mut self.rp_filter_saved) {
            // An interface gone since is not an error.
            if let Err(e) = sysctl::write(false, &n, "rp_filter", v) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log(out, LogLevel::Err, format!("cannot restore rp_filter: {e}"));
                }
            }
        }
    }

    /// Create (or adopt) and configure every VMAC.
    pub(crate) fn ensure_vmacs(&mut self, out: &mut Out<'_>) {
        if self.vmac_plans().iter().any(|(_, p)| !p.v6) {
            self.clear_rp_filter(out);
        }
        for (inst, p) in self.vmac_plans() {
            self.ensure_vmac(out, &inst, &p);
        }
    }

    fn ensure_vmac(&mut self, out: &mut Out<'_>, inst: &str, p: &VmacPlan) {
        let Some(base) = self.shell.ifindex(&p.base) else {
            log(
                out,
                LogLevel::Err,
                format!(
                    "({inst}) cannot create VMAC {}: no interface {}",
                    p.name, p.base
                ),
            );
            return;
        };
        let existing = self.shell.link(&p.name).cloned();
        let index = match existing {
            Some(l) => {
                let ours = l.kind.as_deref() == Some("macvlan")
                    && l.lower == Some(base)
                    && l.mac6() == Some(p.mac);
                if !ours {
                    log(
                        out,
                        LogLevel::Err,
                        format!(
                            "({inst}) cannot use {} as its VMAC: the name is taken by another interface ({} on index {:?}, MAC {})",
                            p.name,
                            l.kind.as_deref().unwrap_or("unknown kind"),
                            l.lower,
                            mac_text(&l.mac)
                        ),
                    );
                    return;
                }
                if !self.adopted_vmacs.contains(&p.name) {
                    log(
                        out,
                        LogLevel::Info,
                        format!("({inst}) adopting the existing VMAC {}", p.name),
                    );
                }
                l.index
            }
            None => {
                if let Err(e) = self.shell.create_macvlan(&p.name, base, p.mac) {
                    log(
                        out,
                        LogLevel::Err,
                        format!("({inst}) cannot create VMAC {} on {}: {e}", p.name, p.base),
                    );
                    return;
                }
                log(
                    out,
                    LogLevel::Info,
                    format!(
                        "({inst}) VMAC {} created on {} with MAC {}",
                        p.name,
                        p.base,
                        mac_text(&p.mac)
                    ),
                );
                match self.shell.ifindex(&p.name) {
                    Some(i) => i,
                    None => return,
                }
            }
        };
        self.adopted_vmacs.insert(p.name.clone());
        let mut errors = Vec::new();
        // No IPv6 address generation on the VMAC: keepalived gives an IPv6
        // VMAC its own link-local address below.
        if let Err(e) = sysctl::write(true, &p.name, "addr_gen_mode", 1) {
            errors.push(e.to_string());
        }
        if p.v6 {
            let ll = self
                .shell
                .addresses_of(base)
                .find(|a| matches!(a.addr, IpAddr::V6(v) if v.is_unicast_link_local()))
                .map(|a| (a.addr, a.prefix));
            match ll {
                Some((addr, prefix)) => {
                    let spec = AddrSpec {
                        ifindex: index,
                        addr,
                        prefix,
                        peer: None,
                        broadcast: None,
                        scope: 253,
                        label: None,
                        flags: IFA_F_NODAD,
                        preferred_lft: Some(0),
                    };
                    if let Err(e) = self.shell.add_address(&spec) {
                        errors.push(format!("adding link-local {addr}: {e}"));
                    }
                }
                None => errors.push(format!("{} has no IPv6 link-local address", p.base)),
            }
        } else {
            if !p.evip_other_family
                && let Err(e) = sysctl::write(true, &p.name, "disable_ipv6", 1)
            {
                errors.push(e.to_string());
            }
            for (k, v) in VMAC4_SYSCTLS {
                if let Err(e) = sysctl::write(false, &p.name, k, v) {
                    errors.push(e.to_string());
                }
            }
            if !self.vmac_saved.contains_key(&p.base) {
                let mut saved = Vec::new();
                for (k, _) in BASE_SYSCTLS {
                    match sysctl::read(false, &p.base, k) {
                        Ok(old) => saved.push((k, old)),
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                self.vmac_saved.insert(p.base.clone(), saved);
            }
            for (k, v) in BASE_SYSCTLS {
                if let Err(e) = sysctl::write(false, &p.base, k, v) {
                    errors.push(e.to_string());
                }
            }
        }
        if let Err(e) = self.shell.set_link_up(index, true) {
            errors.push(format!("setting it up: {e}"));
        }
        for e in errors {
            log(out, LogLevel::Err, format!("({inst}) VMAC {}: {e}", p.name));
        }
    }

    /// Delete VMACs `names` and, when no VMAC is left on a base interface,
    /// give it back its ARP sysctls.
    pub(crate) fn remove_vmacs(&mut self, out: &mut Out<'_>, names: &[String]) {
        for n in names {
            self.adopted_vmacs.remove(n);
            let Some(index) = self.shell.ifindex(n) else {
                continue;
            };
            match self.shell.delete_link(index) {
                Ok(()) => log(out, LogLevel::Info, format!("VMAC {n} removed")),
                Err(e) => log(out, LogLevel::Err, format!("cannot remove VMAC {n}: {e}")),
            }
        }
        let still: Vec<String> = self
            .vmac_plans()
            .into_iter()
            .filter(|(_, p)| !p.v6 && self.adopted_vmacs.contains(&p.name))
            .map(|(_, p)| p.base)
            .collect();
        if still.is_empty() {
            self.restore_rp_filter(out);
        }
        let bases: Vec<String> = self.vmac_saved.keys().cloned().collect();
        for b in bases {
            if still.contains(&b) {
                continue;
            }
            for (k, v) in self.vmac_saved.remove(&b).unwrap_or_default() {
                if let Err(e) = sysctl::write(false, &b, k, v) {
                    log(out, LogLevel::Err, format!("cannot restore {b} {k}: {e}"));
                }
            }
        }
    }

    /// On stop: every VMAC goes, unless told to keep them.
    pub(crate) fn stop_vmacs(&mut self, out: &mut Out<'_>) {
        if self.dont_release {
            return;
        }
        let names: Vec<String> = self.vmac_plans().into_iter().map(|(_, p)| p.name).collect();
        self.adopted_vmacs.clear();
        self.remove_vmacs(out, &names);
    }

    /// An IPv6 VMAC still without the base interface's link-local address
    /// (the base had none yet when the VMAC was made, e.g. during DAD).
    pub(crate) fn vmac6_lacks_link_local(&self) -> bool {
        let ll = |index: u32| {
            self.shell
                .addresses_of(index)
                .any(|a| matches!(a.addr, IpAddr::V6(v) if v.is_unicast_link_local()))
        };
        !self.stopped
            && self.vmac_plans().iter().any(|(_, p)| {
                p.v6 && match (self.shell.ifindex(&p.name), self.shell.ifindex(&p.base)) {
                    (Some(v), Some(b)) => !ll(v) && ll(b),
                    _ => false,
                }
            })
    }

    /// A VMAC someone deleted while we run is made again.
    pub(crate) fn vmacs_missing(&self) -> bool {
        !self.stopped
            && self.vmac_plans().iter().any(|(_, p)| {
                self.shell.link(&p.name).is_none() && self.shell.link(&p.base).is_some()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Vec<VrrpInstance> {
        let loaded = config::load_str(
            std::path::Path::new("t.conf"),
            text,
            &config::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.config.vrrp.instances
    }

    #[test]
    fn names_and_macs_are_keepalived_s() {
        let mut i = load(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
             virtual_ipaddress {\n 10.1.0.100/24\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
             virtual_ipaddress {\n fe80::100/64\n }\n}\n\
             vrrp_instance C {\n interface eth1\n virtual_router_id 7\n use_vmac vip7\n \
             vmac_xmit_base\n virtual_ipaddress {\n 10.1.0.7/24\n }\n}\n\
             vrrp_instance D {\n interface eth1\n virtual_router_id 8\n \
             virtual_ipaddress {\n 10.1.0.8/24\n }\n}\n\
             vrrp_instance E {\n interface eth0\n virtual_router_id 9\n use_vmac\n \
             virtual_ipaddress {\n fe80::9/64\n }\n}\n",
        );
        resolve_names(&mut i);
        let a = plan(&i[0]).unwrap();
        assert_eq!(a.name, "vrrp.51");
        assert_eq!(a.base, "eth0");
        assert_eq!(a.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert!(!a.v6);
        let b = plan(&i[1]).unwrap();
        assert_eq!(
            (b.name.as_str(), b.mac, b.v6),
            ("vrrp6.51", [0, 0, 0x5e, 0, 2, 51], true)
        );
        assert_eq!(advert_ifname(&i[0]).as_deref(), Some("vrrp.51"));
        assert_eq!(vip_ifname(&i[0]).as_deref(), Some("vrrp.51"));
        // vmac_xmit_base: adverts on the base, VIPs on the VMAC.
        assert_eq!(plan(&i[2]).unwrap().name, "vip7");
        assert_eq!(advert_ifname(&i[2]).as_deref(), Some("eth1"));
        assert_eq!(vip_ifname(&i[2]).as_deref(), Some("vip7"));
        assert_eq!(plan(&i[3]), None);
        assert_eq!(advert_ifname(&i[3]).as_deref(), Some("eth1"));
        assert_eq!(mac_text(&a.mac), "00:00:5e:00:01:33");
        // An IPv6 VRID no IPv4 VMAC uses: plain vrrp.VRID.
        let e = plan(&i[4]).unwrap();
        assert_eq!((e.name.as_str(), e.mac), ("vrrp.9", [0, 0, 0x5e, 0, 2, 9]));
    }

    fn link(
        index: u32,
        name: &str,
        lower: Option<u32>,
        mac: [u8; 6],
        macvlan: bool,
    ) -> crate::io::netlink::LinkInfo {
        crate::io::netlink::LinkInfo {
            index,
            name: name.to_string(),
            mac: mac.to_vec(),
            flags: 0,
            mtu: 1500,
            operstate: 0,
            lower,
            kind: macvlan.then(|| "macvlan".to_string()),
            macvlan_mode: None,
        }
    }

    #[test]
    fn address_vmacs_are_named_and_shared_as_keepalived_s() {
        let conf = "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n use_vmac_addr\n \
             virtual_ipaddress {\n 10.1.0.1/24\n 10.2.0.1/24 dev eth1\n 10.2.0.2/24 dev eth1\n \
             10.1.0.3/24 dev eth0\n }\n virtual_ipaddress_excluded {\n 2001:db8::1/64\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 52\n \
             virtual_ipaddress {\n 10.1.0.52/24\n 10.3.0.52/24 dev eth2 use_vmac\n 10.3.1.52/24 dev eth3\n }\n}\n";
        let links = [
            link(1, "eth0", None, [2, 0, 0, 0, 0, 1], false),
            link(2, "eth1", None, [2, 0, 0, 0, 0, 2], false),
            link(3, "eth2", None, [2, 0, 0, 0, 0, 3], false),
            // `vrrp.52` is taken by an interface that is not B's VMAC.
            link(4, "vrrp.52", None, [2, 0, 0, 0, 0, 4], false),
        ];
        let mut i = load(conf);
        resolve_names(&mut i);
        let extra = resolve_addr_vmacs(&mut i, &links);
        let devs = |n: usize| -> Vec<Option<String>> {
            i[n].virtual_ipaddresses
                .iter()
                .chain(&i[n].virtual_ipaddresses_excluded)
                .map(|a| a.dev.clone())
                .collect()
        };
        let s = |x: &str| Some(x.to_string());
        // A: eth1's two VIPs share vrrp1.51; `dev eth0` is its own VMAC;
        // the IPv6 eVIP on eth0 gets an IPv6 VMAC (vrrp6.51: vrrp.51 is
        // A's).
        assert_eq!(
            devs(0),
            [
                None,
                s("vrrp1.51"),
                s("vrrp1.51"),
                s("vrrp.51"),
                s("vrrp6.51")
            ]
        );
        // B: only the VIP with use_vmac; vrrp.52 exists, so vrrp1.52.
        assert_eq!(devs(1), [None, s("vrrp1.52"), s("eth3")]);
        let got: Vec<(String, String, String, [u8; 6], bool)> = extra
            .iter()
            .map(|(n, p)| (n.clone(), p.name.clone(), p.base.clone(), p.mac, p.v6))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "A".into(),
                    "vrrp1.51".into(),
                    "eth1".into(),
                    [0, 0, 0x5e, 0, 1, 51],
                    false
                ),
                (
                    "A".into(),
                    "vrrp6.51".into(),
                    "eth0".into(),
                    [0, 0, 0x5e, 0, 2, 51],
                    true
                ),
                (
                    "B".into(),
                    "vrrp1.52".into(),
                    "eth2".into(),
                    [0, 0, 0x5e, 0, 1, 52],
                    false
                ),
            ]
        );
        // After a restart: the VMAC an earlier run made on eth2 is found by
        // its base and MAC, whatever its name.
        let mut links = links.to_vec();
        links.push(link(9, "vrrp7.52", Some(3), [0, 0, 0x5e, 0, 1, 52], true));
        let mut i = load(conf);
        resolve_names(&mut i);
        let extra = resolve_addr_vmacs(&mut i, &links);
        assert_eq!(i[1].virtual_ipaddresses[1].dev, s("vrrp7.52"));
        assert!(extra.iter().all(|(_, p)| p.base != "eth2"));
        // The IPv6 name sequence: vrrp.V, vrrp6.V, vrrp1.V, ... vrrp5.V,
        // vrrp7.V.
        let taken = |n: &str| n != "vrrp7.9";
        assert_eq!(addr_vmac_name(9, true, &taken), "vrrp7.9");
        let taken = |n: &str| n == "vrrp.9";
        assert_eq!(addr_vmac_name(9, true, &taken), "vrrp6.9");
        assert_eq!(addr_vmac_name(9, false, &taken), "vrrp1.9");
    }
}
