//! How the parent and the workers name virtual and real servers: one
//! function for all of them, so a health report always names what the
//! parent expects.

use crate::msg::{Family, Protocol, RealServerKey, VirtualServerKey};
use config::model::lvs::{
    IpFamily, LvsConfig, Protocol as CfgProtocol, RealServer, VirtualServer, VsKey,
};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The IPC identity of a virtual server: address, port and protocol; or
/// fwmark and family; or group name and protocol. The protocol is the
/// model's (keepalived's default already applied); TCP stands for none
/// (fwmark services carry no protocol).
pub fn vs_key(vs: &VirtualServer) -> VirtualServerKey {
    let protocol = match vs.protocol {
        Some(CfgProtocol::Udp) => Protocol::Udp,
        Some(CfgProtocol::Sctp) => Protocol::Sctp,
        _ => Protocol::Tcp,
    };
    match &vs.key {
        VsKey::Addr { addr } => VirtualServerKey::Addr {
            addr: addr.ip(),
            port: addr.port(),
            protocol,
        },
        VsKey::Fwmark { mark } => VirtualServerKey::Fwmark {
            mark: *mark,
            family: match vs.family {
                IpFamily::Inet6 => Family::Inet6,
                IpFamily::Inet => Family::Inet,
            },
        },
        VsKey::Group { name, .. } => VirtualServerKey::Group {
            name: name.clone(),
            protocol,
        },
    }
}

/// The address whose presence on the machine `vs`'s checkers wait for:
/// `Some` for a virtual server with `ha_suspend` given by address.
/// keepalived 2.2.7 matches no address for a `virtual_server group`
/// (`addr_matches` returns false for one), so a group's checkers with
/// `ha_suspend` are never activated; fwmark services cannot have it.
pub fn ha_suspend_addr(vs: &VirtualServer) -> Option<IpAddr> {
    match &vs.key {
        VsKey::Addr { addr } if vs.ha_suspend => Some(addr.ip()),
        _ => None,
    }
}

/// Every address of [`ha_suspend_addr`] in `lvs`: what the parent watches.
pub fn ha_suspend_addresses(lvs: &LvsConfig) -> BTreeSet<IpAddr> {
    lvs.virtual_servers
        .iter()
        .filter_map(ha_suspend_addr)
        .collect()
}

/// The IPC identity of a real server of `vs`.
pub fn rs_key(vs: &VirtualServer, rs: &RealServer) -> RealServerKey {
    RealServerKey {
        virtual_server: vs_key(vs),
        addr: rs.addr.ip(),
        port: rs.addr.port(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn keys_of_each_kind() {
        let text = "
virtual_server 10.0.0.1 80 {
    protocol UDP
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
virtual_server fwmark 7 {
    ip_family inet6
    real_server fd00::2 0 {
        TCP_CHECK {
        }
    }
}
";
        let l = config::load_str(Path::new("k.conf"), text, &config::LoadOptions::default());
        let vss = &l.config.lvs.virtual_servers;
        assert_eq!(
            vs_key(&vss[0]),
            VirtualServerKey::Addr {
                addr: "10.0.0.1".parse().expect("ip"),
                port: 80,
                protocol: Protocol::Udp
            }
        );
        assert_eq!(
            vs_key(&vss[1]),
            VirtualServerKey::Fwmark {
                mark: 7,
                family: Family::Inet6
            }
        );
        let rk = rs_key(&vss[0], &vss[0].real_servers[0]);
        assert_eq!(rk.addr, "10.0.0.2".parse::<std::net::IpAddr>().expect("ip"));
        assert_eq!(rk.port, 80);
        assert_eq!(rk.virtual_server, vs_key(&vss[0]));
    }

    #[test]
    fn ha_suspend_addresses_are_those_of_address_services() {
        let text = "
virtual_server_group G {
    10.0.0.9 80
}
virtual_server 10.0.0.1 80 {
    ha_suspend
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
virtual_server 10.0.0.1 443 {
    ha_suspend
    real_server 10.0.0.2 443 {
        TCP_CHECK {
        }
    }
}
virtual_server fd00::1 80 {
    ha_suspend
    real_server fd00::2 80 {
        TCP_CHECK {
        }
    }
}
virtual_server 10.0.0.3 80 {
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
virtual_server group G {
    ha_suspend
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
";
        let l = config::load_str(Path::new("k.conf"), text, &config::LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        let got: Vec<String> = ha_suspend_addresses(&l.config.lvs)
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(got, ["10.0.0.1", "fd00::1"]);
        let g = &l.config.lvs.virtual_servers[4];
        assert!(g.ha_suspend && ha_suspend_addr(g).is_none());
    }
}
