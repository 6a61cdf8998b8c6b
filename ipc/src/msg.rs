//! The messages: [`ToWorker`] (parent -> worker) and [`FromWorker`]
//! (worker -> parent).
//!
//! Conversation:
//!
//! 1. worker: `Hello { role, pid, protocol }`
//! 2. parent: `Init(Init)` (the role's config slice, its script table, the
//!    state to restore, the heartbeat interval, a config generation)
//! 3. worker: `Ready { generation }` once the config is applied; then
//!    `Heartbeat` every interval and its role's reports.
//! 4. parent, at any time: `Reload(Reload)` (worker applies the difference
//!    and answers `Ready` with the new generation), `DumpRequest` (answered
//!    by `Dump`), `ScriptDone` (answers a `RunScript`), `Health` (IPVS
//!    worker only), `VsAddress` (check worker only), `Shutdown` (worker
//!    cleans up and exits).
//!
//! Everything is identified by data (instance names, addresses, ports,
//! script ids), never by an index into something the peer holds, except
//! [`ScriptId`], whose table travels in `Init`/`Reload`.
//!
//! Encoding rules (bincode through serde): no `#[serde(untagged)]`,
//! `flatten`, `skip_serializing_if`, or `deserialize_any` anywhere in these
//! types or the config model they embed; new variants go at the end of an
//! enum, and any change to the encoding bumps
//! [`crate::frame::PROTOCOL_VERSION`].

use config::model::Config;
use config::model::global::GlobalDefs;
use config::model::lvs::LvsConfig;
use config::model::vrrp::VrrpConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// The parent kills a worker that sent no message for this many heartbeat
/// intervals.
pub const HEARTBEAT_MISSES: u32 = 3;

/// How often the check worker sums up its checkers' probes for the parent
/// ([`FromWorker::CheckStats`]): never per probe.
pub const CHECK_STATS_INTERVAL: Duration = Duration::from_secs(5);

/// A worker's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Vrrp,
    Check,
    Ipvs,
    /// Serves Prometheus metrics (`--metrics-listen`, `metrics_listen`):
    /// started only when configured.
    Metrics,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Vrrp, Role::Check, Role::Ipvs, Role::Metrics];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Vrrp => "vrrp",
            Role::Check => "check",
            Role::Ipvs => "ipvs",
            Role::Metrics => "metrics",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------- identities

/// A transport protocol of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// An address family (for fwmark services, which have no address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    Inet,
    Inet6,
}

/// Which `virtual_server`: keepalived tells them apart by address, port and
/// protocol, by fwmark and family, or by the group they name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VirtualServerKey {
    /// `virtual_server IP PORT` with its `protocol`.
    Addr {
        addr: IpAddr,
        port: u16,
        protocol: Protocol,
    },
    /// `virtual_server fwmark N`.
    Fwmark { mark: u32, family: Family },
    /// `virtual_server group NAME` with its `protocol`.
    Group { name: String, protocol: Protocol },
}

/// Which `real_server` of which virtual server. `port` is 0 where the
/// configuration gives none (fwmark services).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RealServerKey {
    pub virtual_server: VirtualServerKey,
    pub addr: IpAddr,
    pub port: u16,
}

// ---------------------------------------------------------------- scripts

/// A script the parent may run for a worker: an index into the script table
/// sent in `Init`/`Reload`. The parent maps it to the configured command
/// line itself; a worker never sends a path or an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScriptId(pub u32);

impl fmt::Display for ScriptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "script#{}", self.0)
    }
}

/// Which `notify*` statement of a VRRP instance or sync group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NotifyEvent {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
    MasterRxLowerPri,
    /// The plain `notify` script, run on every transition (the parent adds
    /// keepalived's TYPE NAME STATE PRIORITY arguments from its own state).
    Any,
}

/// `notify_up`/`notify_down` of a real server, `quorum_up`/`quorum_down`
/// of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum UpDown {
    Up,
    Down,
}

/// What a script in a worker's table is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ScriptPurpose {
    /// The `script` of `vrrp_script NAME`.
    VrrpScript { name: String },
    /// A `notify*` of `vrrp_instance NAME`.
    InstanceNotify {
        instance: String,
        event: NotifyEvent,
    },
    /// A `notify*` of `vrrp_sync_group NAME`.
    SyncGroupNotify { group: String, event: NotifyEvent },
    /// The `misc_path` of a real server's `MISC_CHECK`; `index` counts
    /// that real server's MISC_CHECKs in configuration order from 0.
    MiscCheck {
        real_server: RealServerKey,
        index: u32,
    },
    /// `notify_up`/`notify_down` of a real server.
    RealServerNotify {
        real_server: RealServerKey,
        event: UpDown,
    },
    /// `quorum_up`/`quorum_down` of a virtual server.
    QuorumNotify {
        virtual_server: VirtualServerKey,
        event: UpDown,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScriptEntry {
    pub id: ScriptId,
    pub purpose: ScriptPurpose,
}

/// How a script requested with `RunScript` ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScriptOutcome {
    /// It exited with this status.
    Exited { code: i32 },
    /// It was killed by this signal (not by the parent's timeout).
    Signaled { signal: i32 },
    /// It ran past its timeout and the parent killed it.
    TimedOut,
    /// The parent did not run it: unknown id, id not in this worker's
    /// table, script failed the security checks, too many running, ...
    Refused { reason: String },
}

// ---------------------------------------------------------------- state

/// A VRRP instance's state, as keepalived names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VrrpState {
    Init,
    Backup,
    Master,
    Fault,
}

/// What the parent remembers of a VRRP instance, to hand a restarted VRRP
/// worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceRestore {
    pub state: VrrpState,
    /// Whether its virtual addresses were installed.
    pub holds_vips: bool,
    /// `auth_type AH`: the sequence number to go on from (peers refuse
    /// adverts numbered at or below the last one they accepted); 0
    /// otherwise.
    pub ah_seq: u32,
}

/// A real server's health: alive or not, and its current weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Health {
    pub up: bool,
    pub weight: u32,
}

/// A change of one real server's health (check -> parent -> IPVS).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HealthChange {
    pub real_server: RealServerKey,
    pub up: bool,
    pub weight: u32,
}

impl HealthChange {
    pub fn health(&self) -> Health {
        Health {
            up: self.up,
            weight: self.weight,
        }
    }
}

/// A virtual server's quorum change (keepalived's `update_quorum_state`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuorumChange {
    /// keepalived's `FMT_VS`.
    pub virtual_server: String,
    /// The quorum state after the change.
    pub up: bool,
    /// At start or reload (keepalived's "Starting with quorum up/down"),
    /// else "Gained/Lost quorum".
    pub starting: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    /// What the weight sum was compared with.
    pub threshold: i64,
    pub weight_sum: u64,
}

/// An LVS mail for the check worker to send (keepalived's `SMTP_MSG_VS`
/// and `SMTP_MSG_RS_SHUT` alerts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LvsAlert {
    Quorum(QuorumChange),
    /// Stopping with `omega`: "Shutting down" for these virtual servers
    /// (`FMT_VS`) and real servers.
    ShuttingDown {
        virtual_servers: Vec<String>,
        real_servers: Vec<RealServerKey>,
    },
}

/// A VRRP instance's state change (VRRP -> parent).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceState {
    pub name: String,
    pub state: VrrpState,
    /// Configured priority.
    pub priority: u8,
    /// Priority after tracked scripts/interfaces/files adjusted it.
    pub effective_priority: u8,
    pub holds_vips: bool,
}

/// Why a received VRRP advertisement was dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DropReason {
    PacketLength,
    AdvertInterval,
    IpTtl,
    InvalidType,
    AddressList,
    InvalidAuthType,
    AuthTypeMismatch,
    AuthFailure,
    Checksum,
    Version,
    /// Anything else, named by the worker.
    Other(String),
}

/// A VRRP instance's counters since the worker started it (keepalived's
/// `vrrp_stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpCounters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    pub drops: BTreeMap<DropReason, u64>,
    /// `auth_type AH`: the instance's sequence number counter (not a
    /// count: what a restarted worker goes on from); 0 otherwise.
    pub ah_seq: u32,
}

/// What the metrics worker exposes: the parent's state at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub generation: u64,
    pub instances: Vec<InstanceMetrics>,
    pub virtual_servers: Vec<VirtualServerMetrics>,
    pub workers: Vec<WorkerMetrics>,
    /// `None` before the IPVS worker's first report (or without one).
    pub ipvs: Option<IpvsStatus>,
}

/// One VRRP instance in a [`MetricsSnapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceMetrics {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    /// `None` before the VRRP worker's first report (keepalived's INIT).
    pub state: Option<VrrpState>,
    pub priority: u8,
    pub effective_priority: u8,
    /// Each virtual address as `ADDR/PREFIX` with the interface it is on.
    pub vips: Vec<(String, String)>,
    pub counters: VrrpCounters,
}

/// One virtual server and its real servers in a [`MetricsSnapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerMetrics {
    /// `ADDR:PORT`, `fwmark N` or `group NAME`.
    pub name: String,
    pub protocol: String,
    /// `(ADDR:PORT, up, weight)`.
    pub real_servers: Vec<(String, bool, u32)>,
    /// The checkers' probe figures, as the check worker last summed them
    /// up (empty before its first summary).
    pub checkers: Vec<CheckerStats>,
}

/// One checker's probes, in the check worker's periodic summary
/// ([`FromWorker::CheckStats`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CheckerStats {
    pub real_server: RealServerKey,
    /// The checker's keyword: `TCP_CHECK`, `HTTP_GET`, ...
    pub kind: String,
    /// What it checks: keepalived's `[ADDR]:PROTO:PORT` (MISC_CHECK:
    /// `[ADDR]` and its number among the real server's MISC_CHECKs).
    pub target: String,
    /// How long its last completed probe took (connect and protocol
    /// exchange; MISC_CHECK: the script's run); `None` before the first.
    pub last_duration: Option<Duration>,
    /// Whether that probe succeeded.
    pub last_ok: bool,
    /// Probes completed since the check worker started the checker.
    pub checks: u64,
    /// Of those, the failed ones.
    pub failures: u64,
}

/// At most this many checkers in one [`FromWorker::CheckStats`] (the frame
/// stays well under [`crate::frame::MAX_PAYLOAD`]); the rest are left out.
pub const MAX_CHECKER_STATS: usize = 50_000;

/// One worker role in a [`MetricsSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerMetrics {
    pub role: Role,
    pub running: bool,
    pub ready: bool,
    pub restarts: u32,
}

/// The IPVS worker's view of the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpvsStatus {
    /// Whether IPVS can be driven (module loaded, netlink family found).
    pub available: bool,
    /// Why not, or the last error, as text.
    pub error: Option<String>,
    /// Kernel entries found wrong or missing and put right, since start.
    pub repaired: u64,
}

// ---------------------------------------------------------------- config slices

/// What the VRRP worker is given of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpSlice {
    pub global: GlobalDefs,
    pub vrrp: VrrpConfig,
}

/// What the check and IPVS workers are given of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LvsSlice {
    pub global: GlobalDefs,
    pub lvs: LvsConfig,
}

/// What the check worker is given: the LVS configuration and the client
/// certificate of the top-level `SSL` block, read by the parent (the files
/// are root's; the worker cannot open them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckSlice {
    pub global: GlobalDefs,
    pub lvs: LvsConfig,
    pub client_tls: Option<ClientTls>,
    /// The addresses of the `ha_suspend` virtual servers
    /// ([`crate::keys::ha_suspend_addresses`]) that are configured on the
    /// machine as the parent sends this (it watches rtnetlink; the worker
    /// has no netlink); later changes come as [`ToWorker::VsAddress`].
    pub present_addresses: Vec<IpAddr>,
}

/// SSL_GET's client certificate (`SSL { certificate key ca password }`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTls {
    /// The `certificate` file (PEM, the chain), then the `ca` file's
    /// certificates (OpenSSL completes the chain it sends from its CA
    /// store).
    pub chain_pem: Vec<u8>,
    /// The private key, decrypted with `password` when it was encrypted.
    pub key: ClientKey,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientKey {
    /// A PEM private key (PKCS#8, PKCS#1 or SEC1).
    Pem(Vec<u8>),
    /// A PKCS#8 key in DER (decrypted from an `ENCRYPTED PRIVATE KEY`).
    Pkcs8Der(Vec<u8>),
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key in a log or dump.
        write!(
            f,
            "ClientTls {{ chain_pem: {} bytes, key: <redacted> }}",
            self.chain_pem.len()
        )
    }
}

/// A worker's slice of the configuration. The variant names the role it is
/// for, so a worker can refuse a slice meant for another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Slice {
    Vrrp(Box<VrrpSlice>),
    Check(Box<CheckSlice>),
    Ipvs(Box<LvsSlice>),
    /// The metrics worker needs no configuration: the parent sends it
    /// snapshots of its state on request.
    Metrics,
}

impl Slice {
    /// The slice of `config` that `role` needs.
    pub fn for_role(role: Role, config: &Config) -> Slice {
        match role {
            Role::Vrrp => Slice::Vrrp(Box::new(VrrpSlice {
                global: config.global.clone(),
                vrrp: config.vrrp.clone(),
            })),
            // The parent adds the client certificate (it reads files).
            Role::Check => Slice::Check(Box::new(CheckSlice {
                global: config.global.clone(),
                lvs: config.lvs.clone(),
                client_tls: None,
                present_addresses: Vec::new(),
            })),
            Role::Ipvs => Slice::Ipvs(Box::new(LvsSlice {
                global: config.global.clone(),
                lvs: config.lvs.clone(),
            })),
            Role::Metrics => Slice::Metrics,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Slice::Vrrp(_) => Role::Vrrp,
            Slice::Check(_) => Role::Check,
            Slice::Ipvs(_) => Role::Ipvs,
            Slice::Metrics => Role::Metrics,
        }
    }
}

/// The state a (re)started worker resumes from. Empty maps on first start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Restored {
    /// Per VRRP instance name.
    Vrrp(BTreeMap<String, InstanceRestore>),
    /// Per real server: the health the checkers last reported.
    Check(BTreeMap<RealServerKey, Health>),
    /// Per real server: the health IPVS should reflect.
    Ipvs(BTreeMap<RealServerKey, Health>),
    /// Nothing: the metrics worker keeps no state.
    Metrics,
}

impl Restored {
    /// Nothing to restore, for `role`.
    pub fn empty(role: Role) -> Restored {
        match role {
            Role::Vrrp => Restored::Vrrp(BTreeMap::new()),
            Role::Check => Restored::Check(BTreeMap::new()),
            Role::Ipvs => Restored::Ipvs(BTreeMap::new()),
            Role::Metrics => Restored::Metrics,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Restored::Vrrp(_) => Role::Vrrp,
            Restored::Check(_) => Role::Check,
            Restored::Ipvs(_) => Role::Ipvs,
            Restored::Metrics => Role::Metrics,
        }
    }
}

/// How this start of a worker differs from others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerOptions {
    /// A restart of a worker that ran before in this daemon (after a crash
    /// or a hang), not the daemon's first start of it: start-up actions
    /// such as IPVS's `lvs_flush` are not repeated.
    pub resumed: bool,
    /// `-V` (VRRP) / `-I` (IPVS): leave VIPs, routes or the IPVS table in
    /// place when stopping.
    pub dont_release: bool,
}

/// Everything a worker needs to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Init {
    /// Counts configurations: 1 for the first, +1 per reload. Echoed in
    /// `Ready`.
    pub generation: u64,
    /// Send a `Heartbeat` at least this often; the parent kills a worker
    /// silent for [`HEARTBEAT_MISSES`] intervals.
    pub heartbeat_interval: Duration,
    pub slice: Slice,
    /// The scripts this worker may ask for, by id.
    pub scripts: Vec<ScriptEntry>,
    pub restored: Restored,
    pub options: WorkerOptions,
}

impl Init {
    /// The role this `Init` is for, if its slice and its restored state
    /// agree.
    pub fn role(&self) -> Option<Role> {
        let r = self.slice.role();
        (r == self.restored.role()).then_some(r)
    }
}

/// A new configuration. Script ids are those of the new table from the
/// moment the worker has it; `RunScript`s the parent receives before the
/// matching `Ready { generation }` may still refer to the previous table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reload {
    pub generation: u64,
    pub slice: Slice,
    pub scripts: Vec<ScriptEntry>,
}

// ---------------------------------------------------------------- dumps, logs

/// keepalived's dumps: SIGUSR1 (data), SIGUSR2 (stats), SIGJSON (json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DumpKind {
    Data,
    Stats,
    Json,
}

/// syslog severities, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogLevel {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl LogLevel {
    /// The syslog priority number (LOG_EMERG = 0 ... LOG_DEBUG = 7).
    pub fn syslog_priority(self) -> i32 {
        self as i32
    }
}

// ---------------------------------------------------------------- test probes

/// Something a sandboxed worker is asked to try, to show its sandbox holds.
#[cfg(feature = "test-messages")]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProbeAction {
    /// Open a netlink socket (NETLINK_ROUTE).
    OpenNetlink,
    /// Open and read this file.
    ReadFile(std::path::PathBuf),
    /// Execute this program.
    Exec(std::path::PathBuf),
    /// Ask the parent to run this script id (answered with the parent's
    /// `ScriptDone`, turned into the probe's reply).
    RunScript(ScriptId),
    /// Try to make the parent run a path: send a `RunScript` whose id is
    /// this path, which the message type cannot express (the parent
    /// rejects the frame and restarts the worker).
    RunScriptPath(std::path::PathBuf),
}

/// What happened when the worker tried a [`ProbeAction`].
#[cfg(feature = "test-messages")]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProbeResult {
    Succeeded,
    Failed {
        /// The OS error number, when there is one.
        errno: Option<i32>,
        message: String,
    },
}

// ---------------------------------------------------------------- the enums

/// Parent -> worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// The answer to `Hello`: config slice, scripts, restored state.
    Init(Init),
    /// Apply a new configuration; answer `Ready` with its generation.
    Reload(Reload),
    /// Clean up (VRRP: priority-0 adverts, remove VIPs) and exit.
    Shutdown,
    /// Answer with `Dump` of the same kind.
    DumpRequest { kind: DumpKind },
    /// The end of a script asked for with `RunScript`.
    ScriptDone {
        request: u64,
        outcome: ScriptOutcome,
    },
    /// To the IPVS worker: a real server's health changed.
    Health(HealthChange),
    /// To the check worker: a VRRP instance (`group` false) or sync group
    /// whose `smtp_alert` is on entered `state`; it mails the alert.
    VrrpAlert {
        group: bool,
        name: String,
        state: VrrpState,
    },
    /// To the metrics worker: the state it asked for (`MetricsRequest`).
    Metrics(Box<MetricsSnapshot>),
    /// To the IPVS worker: the state of the VRRP instance that drives
    /// `lvs_sync_daemon` (sent when it changes and after each `Init`);
    /// `vrid` is the sync id's default.
    VrrpState {
        instance: String,
        state: VrrpState,
        vrid: u8,
    },
    /// To the check worker: an LVS alert the parent decided on (quorum
    /// changes, the `omega` shutdown mails); it mails it.
    LvsAlert(LvsAlert),
    /// To the check worker: the address of an `ha_suspend` virtual server
    /// was configured on the machine (`present`) or removed from it (the
    /// last instance of it, on any interface); keepalived's checker
    /// process learns this from RTM_NEWADDR/RTM_DELADDR.
    VsAddress { addr: IpAddr, present: bool },
    /// Sandbox test: try something and answer `TestProbeReply`.
    /// Only with the `test-messages` feature; keep it last.
    #[cfg(feature = "test-messages")]
    TestProbe { action: ProbeAction },
}

/// Worker -> parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// First message of every worker. `protocol` is its
    /// [`crate::frame::PROTOCOL_VERSION`].
    Hello { role: Role, pid: u32, protocol: u8 },
    /// The configuration of `generation` is applied.
    Ready { generation: u64 },
    /// Liveness, at least once per heartbeat interval; `seq` counts up.
    Heartbeat { seq: u64 },
    /// A line for syslog (the parent alone writes it).
    Log { level: LogLevel, message: String },
    /// Ask the parent to run a script of this worker's table. `request` is
    /// the worker's own number, echoed in `ScriptDone`.
    RunScript { request: u64, id: ScriptId },
    /// The answer to `DumpRequest`.
    Dump { kind: DumpKind, text: String },
    /// VRRP: an instance changed state or priority.
    InstanceState(InstanceState),
    /// VRRP: an instance's counters.
    VrrpStats {
        instance: String,
        counters: VrrpCounters,
    },
    /// Check: a real server's health changed.
    Health(HealthChange),
    /// IPVS: the kernel side's status.
    IpvsStatus(IpvsStatus),
    /// Metrics: a scrape arrived; answer with `ToWorker::Metrics`.
    MetricsRequest,
    /// Check: every checker's probe figures (at most
    /// [`MAX_CHECKER_STATS`]), sent every [`CHECK_STATS_INTERVAL`] when
    /// probes completed since the last one; replaces the previous summary.
    CheckStats(Vec<CheckerStats>),
    /// VRRP: adverts dropped before reaching an instance, because no
    /// instance has their VRID (and family, and unicast or multicast) on
    /// the interface they came in on: counts since the worker started, by
    /// interface.
    VrrpUnknownVrid { by_interface: BTreeMap<String, u64> },
    /// Sandbox test: the result of a `TestProbe`.
    /// Only with the `test-messages` feature; keep it last.
    #[cfg(feature = "test-messages")]
    TestProbeReply {
        action: ProbeAction,
        result: ProbeResult,
    },
}

impl ToWorker {
    /// The variant's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            ToWorker::Init(_) => "Init",
            ToWorker::Reload(_) => "Reload",
            ToWorker::Shutdown => "Shutdown",
            ToWorker::DumpRequest { .. } => "DumpRequest",
            ToWorker::ScriptDone { .. } => "ScriptDone",
            ToWorker::Health(_) => "Health",
            ToWorker::VrrpAlert { .. } => "VrrpAlert",
            ToWorker::LvsAlert(_) => "LvsAlert",
            ToWorker::Metrics(_) => "Metrics",
            ToWorker::VrrpState { .. } => "VrrpState",
            ToWorker::VsAddress { .. } => "VsAddress",
            #[cfg(feature = "test-messages")]
            ToWorker::TestProbe { .. } => "TestProbe",
        }
    }
}

impl FromWorker {
    /// The variant's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            FromWorker::Hello { .. } => "Hello",
            FromWorker::Ready { .. } => "Ready",
            FromWorker::Heartbeat { .. } => "Heartbeat",
            FromWorker::Log { .. } => "Log",
            FromWorker::RunScript { .. } => "RunScript",
            FromWorker::Dump { .. } => "Dump",
            FromWorker::InstanceState(_) => "InstanceState",
            FromWorker::VrrpStats { .. } => "VrrpStats",
            FromWorker::VrrpUnknownVrid { .. } => "VrrpUnknownVrid",
            FromWorker::Health(_) => "Health",
            FromWorker::IpvsStatus(_) => "IpvsStatus",
            FromWorker::MetricsRequest => "MetricsRequest",
            FromWorker::CheckStats(_) => "CheckStats",
            #[cfg(feature = "test-messages")]
            FromWorker::TestProbeReply { .. } => "TestProbeReply",
        }
    }
}
