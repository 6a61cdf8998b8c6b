//! `static_ipaddress`, `static_routes` and `static_rules`: installed when
//! the worker starts, whatever the instances' states, and removed when the
//! daemon stops, as keepalived 2.2.7 does. A restarted worker adds them again
//! (adding what is there is a no-op); a reload removes the entries no
//! longer configured and adds the new ones. They are removed on stop even
//! with `--dont-release-vrrp`, as keepalived does.

use crate::io::netlink::{AddrSpec, Applied};
use crate::{Out, VrrpWorker, log, route_text};
use config::model::vrrp::{IpAddress, Route, Rule, VrrpConfig};
use ipc::LogLevel;

/// The same entry, wherever it is written in the configuration.
fn same<T: Clone + PartialEq>(a: &T, b: &T, set_loc: impl Fn(&mut T, &T)) -> bool {
    let mut x = a.clone();
    set_loc(&mut x, b);
    x == *b
}

fn same_addr(a: &IpAddress, b: &IpAddress) -> bool {
    same(a, b, |x, y| x.loc = y.loc.clone())
}

fn same_route(a: &Route, b: &Route) -> bool {
    same(a, b, |x, y| x.loc = y.loc.clone())
}

fn same_rule(a: &Rule, b: &Rule) -> bool {
    same(a, b, |x, y| x.loc = y.loc.clone())
}

/// What a configuration installs statically.
#[derive(Default)]
pub(crate) struct Statics<'a> {
    pub addresses: Vec<&'a IpAddress>,
    pub routes: Vec<&'a Route>,
    pub rules: Vec<&'a Rule>,
}

impl<'a> Statics<'a> {
    pub fn all(c: &'a VrrpConfig) -> Statics<'a> {
        Statics {
            addresses: c.static_addresses.iter().collect(),
            routes: c.static_routes.iter().collect(),
            rules: c.static_rules.iter().collect(),
        }
    }

    /// The entries of `old` that `new` does not have.
    pub fn gone(old: &'a VrrpConfig, new: &VrrpConfig) -> Statics<'a> {
        Statics {
            addresses: old
                .static_addresses
                .iter()
                .filter(|a| !new.static_addresses.iter().any(|b| same_addr(a, b)))
                .collect(),
            routes: old
                .static_routes
                .iter()
                .filter(|a| !new.static_routes.iter().any(|b| same_route(a, b)))
                .collect(),
            rules: old
                .static_rules
                .iter()
                .filter(|a| !new.static_rules.iter().any(|b| same_rule(a, b)))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }
}

impl VrrpWorker {
    /// Install (`add`) or remove static entries: adding, addresses, then
    /// routes (which may use them), then rules; removing the other way
    /// round.
    pub(crate) fn set_statics(&mut self, out: &mut Out<'_>, s: &Statics<'_>, add: bool) {
        let verb = if add { "add" } else { "remove" };
        if !add {
            self.static_rules(out, s, false);
            self.static_routes(out, s, false);
        }
        for a in &s.addresses {
            let Some(dev) = a.dev.as_deref() else {
                log(
                    out,
                    LogLevel::Err,
                    format!("cannot {verb} static address {}: no dev given", a.addr),
                );
                continue;
            };
            let Some(index) = self.shell.ifindex(dev) else {
                log(
                    out,
                    LogLevel::Err,
                    format!(
                        "cannot {verb} static address {}/{}: no interface {dev}",
                        a.addr, a.prefix
                    ),
                );
                continue;
            };
            let spec = AddrSpec::from_config(a, index);
            let r = if add {
                self.shell.add_address(&spec)
            } else {
                self.shell.del_address(&spec)
            };
            match r {
                Ok(Applied::Done) => log(
                    out,
                    LogLevel::Info,
                    format!(
                        "static address {}/{} {} {dev}",
                        a.addr,
                        a.prefix,
                        if add { "added to" } else { "removed from" }
                    ),
                ),
                Ok(Applied::AlreadySo) => {}
                Err(e) => log(
                    out,
                    LogLevel::Err,
                    format!(
                        "cannot {verb} static address {}/{} on {dev}: {e}",
                        a.addr, a.prefix
                    ),
                ),
            }
        }
        if add {
            self.static_routes(out, s, true);
            self.static_rules(out, s, true);
        }
    }

    fn static_routes(&mut self, out: &mut Out<'_>, s: &Statics<'_>, add: bool) {
        let verb = if add { "add" } else { "remove" };
        for r in &s.routes {
            if let Err(e) = self.shell.route(r, add) {
                log(
                    out,
                    LogLevel::Err,
                    format!("cannot {verb} static route {}: {e}", route_text(r)),
                );
            }
        }
    }

    fn static_rules(&mut self, out: &mut Out<'_>, s: &Statics<'_>, add: bool) {
        let verb = if add { "add" } else { "remove" };
        for r in &s.rules {
            if let Err(e) = self.shell.rule(r, add) {
                log(
                    out,
                    LogLevel::Err,
                    format!("cannot {verb} a static rule: {e}"),
                );
            }
        }
    }

    /// At start: every static entry.
    pub(crate) fn install_statics(&mut self, out: &mut Out<'_>) {
        let vrrp = self.slice.vrrp.clone();
        let s = Statics::all(&vrrp);
        if !s.is_empty() {
            self.set_statics(out, &s, true);
        }
    }

    /// At stop: every static entry (also with `--dont-release-vrrp`, as
    /// keepalived 2.2.7: it keeps only VIPs, virtual routes and VMACs).
    pub(crate) fn remove_statics(&mut self, out: &mut Out<'_>) {
        let vrrp = self.slice.vrrp.clone();
        let s = Statics::all(&vrrp);
        if !s.is_empty() {
            self.set_statics(out, &s, false);
        }
    }

    /// On reload: what `new` no longer has goes, what it has is added.
    pub(crate) fn reload_statics(&mut self, out: &mut Out<'_>, old: &VrrpConfig) {
        let new = self.slice.vrrp.clone();
        let gone = Statics::gone(old, &new);
        if !gone.is_empty() {
            self.set_statics(out, &gone, false);
        }
        let s = Statics::all(&new);
        if !s.is_empty() {
            self.set_statics(out, &s, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> VrrpConfig {
        let loaded = config::load_str(
            std::path::Path::new("t.conf"),
            text,
            &config::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.config.vrrp
    }

    #[test]
    fn a_reload_removes_only_what_is_gone() {
        let old = load(
            "static_ipaddress {\n 192.168.77.1/24 dev eth0\n 192.168.78.1/24 dev eth0\n}\n\
             static_routes {\n 10.240.0.0/24 via 192.168.77.254 dev eth0\n}\n\
             static_rules {\n from 10.250.0.0/24 table 100\n}\n",
        );
        // Same entries on other lines, one address and the rule changed.
        let new = load(
            "\n\nstatic_ipaddress {\n 192.168.77.1/24 dev eth0\n}\n\
             static_routes {\n 10.240.0.0/24 via 192.168.77.254 dev eth0\n}\n\
             static_rules {\n from 10.250.0.0/24 table 101\n}\n",
        );
        let gone = Statics::gone(&old, &new);
        let addrs: Vec<String> = gone.addresses.iter().map(|a| a.addr.to_string()).collect();
        assert_eq!(addrs, ["192.168.78.1"]);
        assert!(gone.routes.is_empty());
        assert_eq!(gone.rules.len(), 1);
        assert!(Statics::gone(&old, &old).is_empty());
        assert!(!Statics::all(&new).is_empty());
    }
}
