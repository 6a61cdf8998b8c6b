//! Instances that do not accept traffic to their VIPs (`no_accept`, the
//! default with `vrrp_strict` unless the priority is 255): while MASTER,
//! their VIPs are in keepalived's nftables sets and packets to and from
//! them are dropped, as keepalived 2.2.7 does (its `vrrp_nftables.c`).
//! The tables (`table ip keepalived`, `table ip6 keepalived`, see
//! [`crate::io::nft`]) are made when a first VIP of the family needs them,
//! the VIPs leave the sets when the instance leaves MASTER, and the tables
//! are deleted at start (leftovers) and on stop (even with
//! `--dont-release-vrrp`, which keeps the VIPs: keepalived does so).
//!
//! With `use_vmac`, keepalived also adds VMAC rules to the same tables
//! (IGMP / MLDv2 reports leaving a VMAC are sent on its base interface, and
//! a VMAC sends no router solicitations): made when the VMACs are, with
//! each VMAC and its base interface in the `vmac_map`.
//!
//! Users are often surprised that a strict-mode VIP does not answer
//! (keepalived#474, #2319): the worker says so once per instance.

use crate::io::nft::{NFPROTO_IPV4, NFPROTO_IPV6, Nft, is_link_local};
use crate::{Out, VrrpWorker, instance_vips, log};
use config::model::vrrp::VrrpInstance;
use ipc::LogLevel;
use std::net::IpAddr;

/// Whether the instance's VIPs are blocked while it is MASTER.
pub(crate) fn blocks(cfg: &VrrpInstance) -> bool {
    !cfg.accept && cfg.priority != 255
}

/// nftables state: the socket (opened when first needed) and which
/// families' tables exist.
#[derive(Default)]
pub(crate) struct Firewall {
    nft: Option<Nft>,
    v4: bool,
    v6: bool,
    /// The VMAC parts of the tables.
    vmac4: bool,
    vmac6: bool,
    /// The IPv6 link-local sets (by interface index, by name) exist.
    ll_index: bool,
    ll_name: bool,
    open_error_logged: bool,
    /// A reload changed the nftables options (said once).
    opts_change_logged: bool,
}

impl VrrpWorker {
    fn nft(&mut self, out: &mut Out<'_>) -> Option<&mut Nft> {
        let opts = &self.slice.global.nftables;
        if let Some(n) = &self.firewall.nft
            && n.opts != *opts
            && !self.firewall.opts_change_logged
        {
            self.firewall.opts_change_logged = true;
            let msg = format!(
                "the nftables options changed (table {} priority {}); the table {} stays as it is until keepalived-rs restarts",
                opts.table, opts.priority, n.opts.table
            );
            log(out, LogLevel::Warning, msg);
        }
        if self.firewall.nft.is_none() {
            match Nft::open() {
                Ok(mut n) => {
                    n.opts = opts.clone();
                    self.firewall.nft = Some(n);
                }
                Err(e) => {
                    if !self.firewall.open_error_logged {
                        self.firewall.open_error_logged = true;
                        log(
                            out,
                            LogLevel::Err,
                            format!(
                                "cannot open nftables (NETLINK_NETFILTER): {e}; VIP traffic is not blocked"
                            ),
                        );
                    }
                    return None;
                }
            }
        }
        self.firewall.nft.as_mut()
    }

    /// Delete keepalived's tables (at start: whatever a previous run left;
    /// on stop: ours, also with `--dont-release-vrrp`, as keepalived).
    pub(crate) fn firewall_clear(&mut self, out: &mut Out<'_>) {
        let wanted = self
            .slice
            .vrrp
            .instances
            .iter()
            .any(|i| blocks(i) || i.use_vmac.is_some());
        let f = &self.firewall;
        if !(wanted || f.v4 || f.v6 || f.vmac4 || f.vmac6) {
            return;
        }
        let Some(nft) = self.nft(out) else { return };
        let mut errors = Vec::new();
        for family in [NFPROTO_IPV4, NFPROTO_IPV6] {
            let mut b = nft.batch();
            b.del_table(family);
            match nft.apply(b) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => errors.push(format!(
                    "cannot delete nftables table {} {}: {e}",
                    if family == NFPROTO_IPV4 { "ip" } else { "ip6" },
                    nft.opts.table
                )),
            }
        }
        self.firewall.v4 = false;
        self.firewall.v6 = false;
        self.firewall.vmac4 = false;
        self.firewall.vmac6 = false;
        self.firewall.ll_index = false;
        self.firewall.ll_name = false;
        for e in errors {
            log(out, LogLevel::Err, e);
        }
    }

    /// Put the instance's VIPs in the drop sets (`add`) or take them out.
    pub(crate) fn firewall_vips(&mut self, out: &mut Out<'_>, cfg: &VrrpInstance, add: bool) {
        if !blocks(cfg) {
            return;
        }
        // keepalived keys a `dont_track_primary` instance's link-local
        // VIPs by interface name unless `nftables_ifindex`.
        let by_name = cfg.dont_track_primary && !self.slice.global.nftables.ifindex;
        let vips: Vec<(IpAddr, u32, Option<String>)> = instance_vips(cfg)
            .into_iter()
            .filter_map(|(dev, a)| {
                let i = self.shell.ifindex(&dev)?;
                Some((a.addr, i, by_name.then_some(dev)))
            })
            .collect();
        if vips.is_empty() {
            return;
        }
        let need4 = vips.iter().any(|(a, _, _)| a.is_ipv4());
        let need6 = vips.iter().any(|(a, _, _)| a.is_ipv6());
        let need_ll = vips
            .iter()
            .any(|(a, _, _)| matches!(a, IpAddr::V6(a) if is_link_local(a)));
        let (have4, have6) = (self.firewall.v4, self.firewall.v6);
        let have_ll = if by_name {
            self.firewall.ll_name
        } else {
            self.firewall.ll_index
        };
        let something_installed = need4 && have4 || need6 && have6;
        if !add && !something_installed {
            return;
        }
        let name = cfg.name.clone();
        let Some(nft) = self.nft(out) else { return };
        let table = nft.opts.table.clone();
        let mut b = nft.batch();
        if add {
            if need4 && !have4 {
                b.ipv4_table();
            }
            if need6 && !have6 {
                b.ipv6_table();
            }
            if need_ll && !have_ll {
                b.link_local_set(by_name);
            }
            b.vips(&vips, true);
        } else {
            let kept: Vec<(IpAddr, u32, Option<String>)> = vips
                .into_iter()
                .filter(|(a, _, _)| match a {
                    IpAddr::V4(_) => have4,
                    IpAddr::V6(a) if is_link_local(a) => have_ll,
                    IpAddr::V6(_) => have6,
                })
                .collect();
            b.vips(&kept, false);
        }
        let verb = if add { "add" } else { "remove" };
        match nft.apply(b) {
            Ok(()) => {
                if add {
                    self.firewall.v4 |= need4;
                    self.firewall.v6 |= need6;
                    if need_ll && by_name {
                        self.firewall.ll_name = true;
                    } else if need_ll {
                        self.firewall.ll_index = true;
                    }
                    if self.firewall_warned.insert(name.clone()) {
                        log(
                            out,
                            LogLevel::Warning,
                            format!(
                                "({name}) strict mode / no_accept: traffic to and from its VIPs is dropped while MASTER (nftables table {table}); set 'accept' to allow it"
                            ),
                        );
                    }
                }
            }
            // Removing what is not there (a rule set flushed by hand).
            Err(e) if !add && e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => log(
                out,
                LogLevel::Err,
                format!("({name}) cannot {verb} its VIPs in the nftables drop sets: {e}"),
            ),
        }
    }

    /// keepalived's VMAC rules: each VMAC with its base interface in the
    /// `vmac_map` of its family's table (made when first needed).
    pub(crate) fn firewall_vmacs(&mut self, out: &mut Out<'_>) {
        // An instance's own VMAC goes in the other family's tables too when
        // the instance has an eVIP of that family (keepalived's
        // `evip_other_family`), wherever that eVIP goes.
        let vmacs: Vec<(bool, u32, u32)> = self
            .vmac_plans()
            .into_iter()
            .filter_map(|(_, p)| {
                let (vmac, base) = (self.shell.ifindex(&p.name)?, self.shell.ifindex(&p.base)?);
                let mut v = vec![(p.v6, vmac, base)];
                if p.evip_other_family {
                    v.push((!p.v6, vmac, base));
                }
                Some(v)
            })
            .flatten()
            .collect();
        if vmacs.is_empty() {
            return;
        }
        let (have4, have6) = (self.firewall.vmac4, self.firewall.vmac6);
        let need4 = vmacs.iter().any(|v| !v.0);
        let need6 = vmacs.iter().any(|v| v.0);
        let Some(nft) = self.nft(out) else { return };
        let mut b = nft.batch();
        if need4 && !have4 {
            b.ipv4_vmac_table();
        }
        if need6 && !have6 {
            b.ipv6_vmac_table();
        }
        for (v6, vmac, base) in vmacs {
            b.vmac(v6, vmac, base);
        }
        match nft.apply(b) {
            Ok(()) => {
                self.firewall.vmac4 |= need4;
                self.firewall.vmac6 |= need6;
            }
            Err(e) => log(
                out,
                LogLevel::Err,
                format!(
                    "cannot install the nftables VMAC rules (IGMP/MLD via the base interface): {e}"
                ),
            ),
        }
    }
}
