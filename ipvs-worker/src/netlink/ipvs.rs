//! The generic netlink family "IPVS" (include/uapi/linux/ip_vs.h): request
//! encoding, byte for byte as ipvsadm 1.31 (libnl 3.7) sends them, and
//! decoding of the kernel's answers.

use super::nla::{
    Attr, Attrs, MsgWriter, NLA_F_NESTED, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NlError,
};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const IPVS_GENL_NAME: &str = "IPVS";
pub const IPVS_GENL_VERSION: u8 = 1;

// Commands.
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
pub const IPVS_CMD_NEW_DEST: u8 = 5;
pub const IPVS_CMD_SET_DEST: u8 = 6;
pub const IPVS_CMD_DEL_DEST: u8 = 7;
pub const IPVS_CMD_GET_DEST: u8 = 8;
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
pub const IPVS_CMD_SET_INFO: u8 = 14;
pub const IPVS_CMD_GET_INFO: u8 = 15;
pub const IPVS_CMD_ZERO: u8 = 16;
pub const IPVS_CMD_FLUSH: u8 = 17;

// First-level attributes.
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

// Service attributes.
pub const IPVS_SVC_ATTR_AF: u16 = 1;
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

// Destination attributes.
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

// Sync daemon attributes.
pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

// GET_INFO answer attributes.
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

// Service flags.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

// Forwarding methods (IP_VS_CONN_F_FWD_MASK part of the conn flags).
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
pub const IP_VS_CONN_F_MASQ: u32 = 0;
pub const IP_VS_CONN_F_LOCALNODE: u32 = 1;
pub const IP_VS_CONN_F_TUNNEL: u32 = 2;
pub const IP_VS_CONN_F_DROUTE: u32 = 3;

// Tunnel types and encapsulation flags.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;
pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u16 = 1;
pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 2;

// Sync daemon states.
pub const IP_VS_STATE_MASTER: u32 = 1;
pub const IP_VS_STATE_BACKUP: u32 = 2;

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const IPPROTO_TCP: u16 = 6;
pub const IPPROTO_UDP: u16 = 17;
pub const IPPROTO_SCTP: u16 = 132;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Af {
    Inet,
    Inet6,
}

impl Af {
    pub fn of(a: &IpAddr) -> Af {
        match a {
            IpAddr::V4(_) => Af::Inet,
            IpAddr::V6(_) => Af::Inet6,
        }
    }

    pub fn raw(self) -> u16 {
        match self {
            Af::Inet => AF_INET,
            Af::Inet6 => AF_INET6,
        }
    }

    pub fn from_raw(v: u16) -> Result<Af, NlError> {
        match v {
            AF_INET => Ok(Af::Inet),
            AF_INET6 => Ok(Af::Inet6),
            _ => Err(NlError::BadValue {
                what: "address family",
                value: v.into(),
            }),
        }
    }

    /// The netmask a service has without persistence granularity: all
    /// ones for IPv4, prefix length 128 for IPv6.
    pub fn full_netmask(self) -> u32 {
        match self {
            Af::Inet => u32::MAX,
            Af::Inet6 => 128,
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// `protocol`, address and port (the family is the address's).
    Addr {
        protocol: u16,
        addr: IpAddr,
        port: u16,
    },
    /// A firewall mark of a family.
    Fwmark { af: Af, mark: u32 },
}

impl ServiceKey {
    pub fn af(&self) -> Af {
        match self {
            ServiceKey::Addr { addr, .. } => Af::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

fn proto_name(p: u16) -> String {
    match p {
        IPPROTO_TCP => "TCP".into(),
        IPPROTO_UDP => "UDP".into(),
        IPPROTO_SCTP => "SCTP".into(),
        other => format!("proto {other}"),
    }
}

impl fmt::Display for ServiceKey {
    /// As ipvsadm lists it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`,
    /// `FWM 100` (`FWM 100 IPv6`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(
                f,
                "{} {}",
                proto_name(*protocol),
                std::net::SocketAddr::new(*addr, *port)
            ),
            ServiceKey::Fwmark { af: Af::Inet, mark } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                af: Af::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// A virtual service and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, ...).
    pub sched: String,
    /// `IP_VS_SVC_F_*` flags, without `IP_VS_SVC_F_HASHED` (the kernel's
    /// own bookkeeping, which it reports in dumps).
    pub flags: u32,
    /// Persistence timeout in seconds (with `IP_VS_SVC_F_PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity: for IPv4 the netmask as a number
    /// (0xffffff00 for /24), for IPv6 the prefix length.
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
}

/// A real server (destination) of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dest {
    pub addr: IpAddr,
    pub port: u16,
    /// `IP_VS_CONN_F_MASQ`/`TUNNEL`/`DROUTE`/`LOCALNODE`.
    pub fwd: u32,
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    /// Tunnel type, port and `IP_VS_TUNNEL_ENCAP_FLAG_*` (TUN only; zero
    /// otherwise).
    pub tun_type: u8,
    pub tun_port: u16,
    pub tun_flags: u16,
}

impl Dest {
    /// A destination with ipvsadm's defaults: direct routing, weight 1.
    pub fn new(addr: IpAddr, port: u16) -> Dest {
        Dest {
            addr,
            port,
            fwd: IP_VS_CONN_F_DROUTE,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: 0,
            tun_port: 0,
            tun_flags: 0,
        }
    }
}

/// A destination as a dump reports it, with its connection counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestEntry {
    pub dest: Dest,
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
}

/// `ipvsadm --set TCP TCPFIN UDP` (seconds; 0 leaves a value unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// A connection synchronisation daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    /// `IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP`.
    pub state: u32,
    pub mcast_ifn: String,
    pub sync_id: u32,
    pub sync_maxlen: Option<u16>,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
}

/// `IPVS_CMD_GET_INFO`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    /// `1.2.1` for 0x010201.
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

/// A request to the IPVS family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    GetInfo,
    /// Dump every service.
    GetServices,
    /// Dump the destinations of a service.
    GetDests(ServiceKey),
    NewService(Service),
    SetService(Service),
    DelService(ServiceKey),
    NewDest(ServiceKey, Dest),
    SetDest(ServiceKey, Dest),
    DelDest(ServiceKey, Dest),
    /// Remove every service.
    Flush,
    SetTimeouts(Timeouts),
    GetTimeouts,
    NewDaemon(Daemon),
    /// Stop the daemon of this state.
    DelDaemon(u32),
    GetDaemons,
}

fn nla_addr(a: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b = v6.octets(),
    }
    b
}

fn netmask_bytes(af: Af, netmask: u32) -> [u8; 4] {
    match af {
        // The kernel reads an IPv4 netmask as a __be32.
        Af::Inet => netmask.to_be_bytes(),
        // An IPv6 "netmask" is a prefix length in host order.
        Af::Inet6 => netmask.to_ne_bytes(),
    }
}

fn put_key(w: &mut MsgWriter, key: &ServiceKey) {
    w.put_u16(IPVS_SVC_ATTR_AF, key.af().raw());
    match key {
        ServiceKey::Fwmark { mark, .. } => {
            w.put_u32(IPVS_SVC_ATTR_FWMARK, *mark);
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            w.put_u16(IPVS_SVC_ATTR_PROTOCOL, *protocol)
                .put(IPVS_SVC_ATTR_ADDR, &nla_addr(addr))
                .put_be16(IPVS_SVC_ATTR_PORT, *port);
        }
    }
}

fn put_flags(w: &mut MsgWriter, flags: u32) {
    let mut f = [0u8; 8];
    f[..4].copy_from_slice(&flags.to_ne_bytes());
    f[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    w.put(IPVS_SVC_ATTR_FLAGS, &f);
}

/// The full service (NEW/SET_SERVICE).
fn put_service(w: &mut MsgWriter, s: &Service) {
    w.nest_start(IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED);
    put_key(w, &s.key);
    w.put_str(IPVS_SVC_ATTR_SCHED_NAME, &s.sched);
    if let Some(pe) = &s.pe_name {
        w.put_str(IPVS_SVC_ATTR_PE_NAME, pe);
    }
    put_flags(w, s.flags);
    w.put_u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout)
        .put(IPVS_SVC_ATTR_NETMASK, &netmask_bytes(s.key.af(), s.netmask));
    w.nest_end();
}

/// The service a destination or deletion refers to, as ipvsadm sends it:
/// the key with an empty scheduler and default options.
fn put_service_ref(w: &mut MsgWriter, key: &ServiceKey) {
    put_service(
        w,
        &Service {
            key: *key,
            sched: String::new(),
            flags: 0,
            timeout: 0,
            netmask: key.af().full_netmask(),
            pe_name: None,
        },
    );
}

fn put_dest(w: &mut MsgWriter, d: &Dest) {
    w.nest_start(IPVS_CMD_ATTR_DEST | NLA_F_NESTED)
        .put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, Af::of(&d.addr).raw())
        .put(IPVS_DEST_ATTR_ADDR, &nla_addr(&d.addr))
        .put_be16(IPVS_DEST_ATTR_PORT, d.port)
        .put_u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd & IP_VS_CONN_F_FWD_MASK)
        .put_u32(IPVS_DEST_ATTR_WEIGHT, d.weight)
        .put_u8(IPVS_DEST_ATTR_TUN_TYPE, d.tun_type)
        .put_be16(IPVS_DEST_ATTR_TUN_PORT, d.tun_port)
        .put_u16(IPVS_DEST_ATTR_TUN_FLAGS, d.tun_flags)
        .put_u32(IPVS_DEST_ATTR_U_THRESH, d.u_threshold)
        .put_u32(IPVS_DEST_ATTR_L_THRESH, d.l_threshold)
        .nest_end();
}

impl Request {
    /// Whether the kernel answers with a multi-part dump.
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::GetServices | Request::GetDests(_) | Request::GetDaemons
        )
    }

    pub fn cmd(&self) -> u8 {
        match self {
            Request::GetInfo => IPVS_CMD_GET_INFO,
            Request::GetServices => IPVS_CMD_GET_SERVICE,
            Request::GetDests(_) => IPVS_CMD_GET_DEST,
            Request::NewService(_) => IPVS_CMD_NEW_SERVICE,
            Request::SetService(_) => IPVS_CMD_SET_SERVICE,
            Request::DelService(_) => IPVS_CMD_DEL_SERVICE,
            Request::NewDest(..) => IPVS_CMD_NEW_DEST,
            Request::SetDest(..) => IPVS_CMD_SET_DEST,
            Request::DelDest(..) => IPVS_CMD_DEL_DEST,
            Request::Flush => IPVS_CMD_FLUSH,
            Request::SetTimeouts(_) => IPVS_CMD_SET_CONFIG,
            Request::GetTimeouts => IPVS_CMD_GET_CONFIG,
            Request::NewDaemon(_) => IPVS_CMD_NEW_DAEMON,
            Request::DelDaemon(_) => IPVS_CMD_DEL_DAEMON,
            Request::GetDaemons => IPVS_CMD_GET_DAEMON,
        }
    }

    /// The message, for the family id the controller gave and sequence
    /// number `seq` (the port id is left 0: the kernel fills it in).
    pub fn encode(&self, family: u16, seq: u32) -> Vec<u8> {
        let flags = if self.is_dump() {
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let mut w = MsgWriter::new(family, flags, seq, self.cmd(), IPVS_GENL_VERSION);
        match self {
            Request::GetInfo
            | Request::GetServices
            | Request::Flush
            | Request::GetTimeouts
            | Request::GetDaemons => {}
            Request::GetDests(key) => {
                w.nest_start(IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED);
                put_key(&mut w, key);
                w.nest_end();
            }
            Request::NewService(s) | Request::SetService(s) => put_service(&mut w, s),
            Request::DelService(key) => put_service_ref(&mut w, key),
            Request::NewDest(key, d) | Request::SetDest(key, d) | Request::DelDest(key, d) => {
                put_service_ref(&mut w, key);
                put_dest(&mut w, d);
            }
            Request::SetTimeouts(t) => {
                w.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp)
                    .put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin)
                    .put_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
            }
            Request::NewDaemon(d) => {
                w.nest_start(IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED)
                    .put_u32(IPVS_DAEMON_ATTR_STATE, d.state)
                    .put_str(IPVS_DAEMON_ATTR_MCAST_IFN, &d.mcast_ifn)
                    .put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
                if let Some(v) = d.sync_maxlen {
                    w.put_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, v);
                }
                if let Some(v) = d.mcast_port {
                    // Host order: the kernel reads it with nla_get_u16.
                    w.put_u16(IPVS_DAEMON_ATTR_MCAST_PORT, v);
                }
                if let Some(v) = d.mcast_ttl {
                    w.put_u8(IPVS_DAEMON_ATTR_MCAST_TTL, v);
                }
                match d.mcast_group {
                    Some(IpAddr::V4(g)) => {
                        w.put(IPVS_DAEMON_ATTR_MCAST_GROUP, &g.octets());
                    }
                    Some(IpAddr::V6(g)) => {
                        w.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &g.octets());
                    }
                    None => {}
                }
                w.nest_end();
            }
            Request::DelDaemon(state) => {
                w.nest_start(IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED)
                    .put_u32(IPVS_DAEMON_ATTR_STATE, *state)
                    .put_str(IPVS_DAEMON_ATTR_MCAST_IFN, "")
                    .put_u32(IPVS_DAEMON_ATTR_SYNC_ID, 0)
                    .nest_end();
            }
        }
        w.finish()
    }
}

// ------------------------------------------------------------ decoding

fn decode_addr(a: &Attr<'_>, af: Af, what: &'static str) -> Result<IpAddr, NlError> {
    let p = a.payload;
    match af {
        Af::Inet if p.len() >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(p[0], p[1], p[2], p[3]))),
        Af::Inet6 if p.len() >= 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&p[..16]);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => Err(NlError::BadAttr { what, len: p.len() }),
    }
}

fn find_nested<'a>(attrs: &'a [u8], ty: u16, what: &'static str) -> Result<&'a [u8], NlError> {
    for a in Attrs::new(attrs) {
        let a = a?;
        if a.ty == ty {
            return Ok(a.payload);
        }
    }
    Err(NlError::Missing { what })
}

/// A service from the attributes of a `GET_SERVICE` answer (the whole
/// message's attributes: the `IPVS_CMD_ATTR_SERVICE` nest is looked up).
pub fn decode_service(msg_attrs: &[u8]) -> Result<Service, NlError> {
    let nest = find_nested(msg_attrs, IPVS_CMD_ATTR_SERVICE, "IPVS_CMD_ATTR_SERVICE")?;
    decode_service_attrs(nest)
}

/// A service from the attributes inside an `IPVS_CMD_ATTR_SERVICE` nest.
pub fn decode_service_attrs(nest: &[u8]) -> Result<Service, NlError> {
    let (mut af, mut protocol, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, None, None, None, None);
    for a in Attrs::new(nest) {
        let a = a?;
        match a.ty {
            IPVS_SVC_ATTR_AF => af = Some(Af::from_raw(a.u16("IPVS_SVC_ATTR_AF")?)?),
            IPVS_SVC_ATTR_PROTOCOL => protocol = Some(a.u16("IPVS_SVC_ATTR_PROTOCOL")?),
            IPVS_SVC_ATTR_ADDR => addr = Some(a),
            IPVS_SVC_ATTR_PORT => port = Some(a.be16("IPVS_SVC_ATTR_PORT")?),
            IPVS_SVC_ATTR_FWMARK => fwmark = Some(a.u32("IPVS_SVC_ATTR_FWMARK")?),
            IPVS_SVC_ATTR_SCHED_NAME => sched = Some(a.string()),
            IPVS_SVC_ATTR_FLAGS => {
                let p = a.payload;
                if p.len() < 4 {
                    return Err(NlError::BadAttr {
                        what: "IPVS_SVC_ATTR_FLAGS",
                        len: p.len(),
                    });
                }
                flags = Some(u32::from_ne_bytes([p[0], p[1], p[2], p[3]]));
            }
            IPVS_SVC_ATTR_TIMEOUT => timeout = Some(a.u32("IPVS_SVC_ATTR_TIMEOUT")?),
            IPVS_SVC_ATTR_NETMASK => netmask = Some(a.u32("IPVS_SVC_ATTR_NETMASK")?),
            IPVS_SVC_ATTR_PE_NAME => pe = Some(a.string()),
            _ => {}
        }
    }
    let af = af.ok_or(NlError::Missing {
        what: "IPVS_SVC_ATTR_AF",
    })?;
    let key = match (fwmark, protocol, addr, port) {
        (Some(mark), _, _, _) if mark != 0 => ServiceKey::Fwmark { af, mark },
        (_, Some(protocol), Some(addr), Some(port)) => ServiceKey::Addr {
            protocol,
            addr: decode_addr(&addr, af, "IPVS_SVC_ATTR_ADDR")?,
            port,
        },
        _ => {
            return Err(NlError::Missing {
                what: "IPVS_SVC_ATTR_FWMARK or PROTOCOL/ADDR/PORT",
            });
        }
    };
    let netmask = netmask.ok_or(NlError::Missing {
        what: "IPVS_SVC_ATTR_NETMASK",
    })?;
    // The attribute holds a __be32 for IPv4, read above in host order.
    let netmask = match af {
        Af::Inet => u32::from_be_bytes(netmask.to_ne_bytes()),
        Af::Inet6 => netmask,
    };
    Ok(Service {
        key,
        sched: sched.ok_or(NlError::Missing {
            what: "IPVS_SVC_ATTR_SCHED_NAME",
        })?,
        flags: flags.ok_or(NlError::Missing {
            what: "IPVS_SVC_ATTR_FLAGS",
        })? & !IP_VS_SVC_F_HASHED,
        timeout: timeout.ok_or(NlError::Missing {
            what: "IPVS_SVC_ATTR_TIMEOUT",
        })?,
        netmask,
        pe_name: pe.filter(|p| !p.is_empty()),
    })
}

/// A destination from the attributes of a `GET_DEST` answer. `svc_af` is
/// the service's family, used when the kernel does not say the
/// destination's own (kernels before 4.5).
pub fn decode_dest(msg_attrs: &[u8], svc_af: Af) -> Result<DestEntry, NlError> {
    let nest = find_nested(msg_attrs, IPVS_CMD_ATTR_DEST, "IPVS_CMD_ATTR_DEST")?;
    let mut af = None;
    let mut addr = None;
    let mut e = DestEntry {
        dest: Dest::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        active_conns: 0,
        inact_conns: 0,
        persist_conns: 0,
    };
    let (mut have_port, mut have_fwd, mut have_weight) = (false, false, false);
    for a in Attrs::new(nest) {
        let a = a?;
        let d = &mut e.dest;
        match a.ty {
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                af = Some(Af::from_raw(a.u16("IPVS_DEST_ATTR_ADDR_FAMILY")?)?)
            }
            IPVS_DEST_ATTR_ADDR => addr = Some(a),
            IPVS_DEST_ATTR_PORT => {
                d.port = a.be16("IPVS_DEST_ATTR_PORT")?;
                have_port = true;
            }
            IPVS_DEST_ATTR_FWD_METHOD => {
                d.fwd = a.u32("IPVS_DEST_ATTR_FWD_METHOD")? & IP_VS_CONN_F_FWD_MASK;
                have_fwd = true;
            }
            IPVS_DEST_ATTR_WEIGHT => {
                d.weight = a.u32("IPVS_DEST_ATTR_WEIGHT")?;
                have_weight = true;
            }
            IPVS_DEST_ATTR_U_THRESH => d.u_threshold = a.u32("IPVS_DEST_ATTR_U_THRESH")?,
            IPVS_DEST_ATTR_L_THRESH => d.l_threshold = a.u32("IPVS_DEST_ATTR_L_THRESH")?,
            IPVS_DEST_ATTR_TUN_TYPE => d.tun_type = a.u8("IPVS_DEST_ATTR_TUN_TYPE")?,
            IPVS_DEST_ATTR_TUN_PORT => d.tun_port = a.be16("IPVS_DEST_ATTR_TUN_PORT")?,
            IPVS_DEST_ATTR_TUN_FLAGS => d.tun_flags = a.u16("IPVS_DEST_ATTR_TUN_FLAGS")?,
            IPVS_DEST_ATTR_ACTIVE_CONNS => e.active_conns = a.u32("IPVS_DEST_ATTR_ACTIVE_CONNS")?,
            IPVS_DEST_ATTR_INACT_CONNS => e.inact_conns = a.u32("IPVS_DEST_ATTR_INACT_CONNS")?,
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                e.persist_conns = a.u32("IPVS_DEST_ATTR_PERSIST_CONNS")?
            }
            _ => {}
        }
    }
    let addr = addr.ok_or(NlError::Missing {
        what: "IPVS_DEST_ATTR_ADDR",
    })?;
    e.dest.addr = decode_addr(&addr, af.unwrap_or(svc_af), "IPVS_DEST_ATTR_ADDR")?;
    if !(have_port && have_fwd && have_weight) {
        return Err(NlError::Missing {
            what: "IPVS_DEST_ATTR_PORT/FWD_METHOD/WEIGHT",
        });
    }
    Ok(e)
}

/// `GET_INFO`'s answer.
pub fn decode_info(msg_attrs: &[u8]) -> Result<Info, NlError> {
    let (mut version, mut size) = (None, None);
    for a in Attrs::new(msg_attrs) {
        let a = a?;
        match a.ty {
            IPVS_INFO_ATTR_VERSION => version = Some(a.u32("IPVS_INFO_ATTR_VERSION")?),
            IPVS_INFO_ATTR_CONN_TAB_SIZE => size = Some(a.u32("IPVS_INFO_ATTR_CONN_TAB_SIZE")?),
            _ => {}
        }
    }
    Ok(Info {
        version: version.ok_or(NlError::Missing {
            what: "IPVS_INFO_ATTR_VERSION",
        })?,
        conn_tab_size: size.unwrap_or(0),
    })
}

/// `GET_CONFIG`'s answer.
pub fn decode_timeouts(msg_attrs: &[u8]) -> Result<Timeouts, NlError> {
    let mut t = Timeouts::default();
    for a in Attrs::new(msg_attrs) {
        let a = a?;
        match a.ty {
            IPVS_CMD_ATTR_TIMEOUT_TCP => t.tcp = a.u32("IPVS_CMD_ATTR_TIMEOUT_TCP")?,
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => t.tcp_fin = a.u32("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?,
            IPVS_CMD_ATTR_TIMEOUT_UDP => t.udp = a.u32("IPVS_CMD_ATTR_TIMEOUT_UDP")?,
            _ => {}
        }
    }
    Ok(t)
}

/// One daemon of a `GET_DAEMON` dump.
pub fn decode_daemon(msg_attrs: &[u8]) -> Result<Daemon, NlError> {
    let nest = find_nested(msg_attrs, IPVS_CMD_ATTR_DAEMON, "IPVS_CMD_ATTR_DAEMON")?;
    let mut d = Daemon {
        state: 0,
        mcast_ifn: String::new(),
        sync_id: 0,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
    };
    let mut have_state = false;
    for a in Attrs::new(nest) {
        let a = a?;
        match a.ty {
            IPVS_DAEMON_ATTR_STATE => {
                d.state = a.u32("IPVS_DAEMON_ATTR_STATE")?;
                have_state = true;
            }
            IPVS_DAEMON_ATTR_MCAST_IFN => d.mcast_ifn = a.string(),
            IPVS_DAEMON_ATTR_SYNC_ID => d.sync_id = a.u32("IPVS_DAEMON_ATTR_SYNC_ID")?,
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                d.sync_maxlen = Some(a.u16("IPVS_DAEMON_ATTR_SYNC_MAXLEN")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                d.mcast_group = Some(decode_addr(&a, Af::Inet, "IPVS_DAEMON_ATTR_MCAST_GROUP")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                d.mcast_group = Some(decode_addr(&a, Af::Inet6, "IPVS_DAEMON_ATTR_MCAST_GROUP6")?)
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => {
                d.mcast_port = Some(a.u16("IPVS_DAEMON_ATTR_MCAST_PORT")?)
            }
            IPVS_DAEMON_ATTR_MCAST_TTL => d.mcast_ttl = Some(a.u8("IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => {}
        }
    }
    if !have_state {
        return Err(NlError::Missing {
            what: "IPVS_DAEMON_ATTR_STATE",
        });
    }
    Ok(d)
}
