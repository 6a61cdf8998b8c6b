//! The IPVS worker process.
//!
//! Holds the desired IPVS table (virtual services and their real servers,
//! weights from the health the parent reports) and reconciles the kernel's
//! table to it over the generic netlink family "IPVS": it reads the table
//! back, diffs it and repairs only the entries it owns.
//!
//! - [`netlink`]: the sans-IO codec (generic netlink, the IPVS family);
//! - [`table`]: the desired table as keepalived programs it, and the diff;
//! - [`client`] and [`sys`]: the netlink socket and request/answer loop.
//!
//! The worker resolves the family at start. Without IPVS (no ip_vs module)
//! it says so once, reports `IpvsStatus { available: false }` and retries
//! quietly every [`RETRY_INTERVAL`]. With IPVS it reads the kernel's table
//! back, reconciles and applies: at start (a restarted worker resumes from
//! the health the parent restored and never flushes), on each health change
//! and reload, and every [`RECONCILE_INTERVAL`] (longer for tables so
//! large that reading them back takes more than 1% of that time), when
//! whatever it finds changed behind its back (a real server deleted by
//! hand, a weight edited) is put right and counted in
//! `IpvsStatus::repaired`.
//!
//! Privileges: only CAP_NET_ADMIN, no_new_privs, no filesystem, and a
//! seccomp allow-list that permits generic netlink and little else.

pub mod client;
pub mod netlink;
pub mod syncd;
pub mod sys;
pub mod table;

use client::{Ipvs, IpvsError};
use config::model::global::LvsFlushOnStop;
use ipc::link::{Flow, Link, LinkError, Worker, run_loop};
use ipc::{
    DumpKind, FromWorker, Health, IpvsStatus, LogLevel, LvsSlice, RealServerKey, Role, Slice,
    ToWorker,
};
use netlink::ipvs::{Request, ServiceKey, Timeouts};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use table::{Desired, KernelTable, OpDisplay, Planner};

/// How often a worker without IPVS tries again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// How often the kernel's table is read back and repaired.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(5);
/// The periodic pass may take at most 1/this of the time between passes.
const RECONCILE_DUTY: u32 = 100;
/// Kernel requests sent in one datagram (their acknowledgements must fit
/// the socket's receive buffer); a heartbeat goes out between batches.
const OPS_PER_BATCH: usize = 64;
/// Log at most this many repairs of one pass one by one.
const REPAIRS_LOGGED: usize = 10;
/// A health change's requests are logged one by one up to this many.
const CHANGES_LOGGED: usize = 20;

/// Why the table is being synchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The worker's first pass with IPVS available.
    Start,
    /// Inputs changed (health, reload): apply against the cached view.
    Change,
    /// A reload: read the kernel back, apply.
    Reload,
    /// Periodic: read the kernel back; whatever is found is a repair.
    Periodic,
}

/// The IPVS worker's state.
pub struct IpvsWorker {
    generation: u64,
    /// How this start differs (restart; `-I`).
    options: ipc::WorkerOptions,
    slice: LvsSlice,
    /// The health the table must reflect (restored after a restart).
    health: BTreeMap<RealServerKey, Health>,
    planner: Planner,
    desired: Desired,
    ipvs: Option<Ipvs>,
    /// The kernel's table as last read and changed by us; `None` when it
    /// must be read again.
    cache: Option<KernelTable>,
    /// Services this worker created or configured: deleted when no longer
    /// desired (after a reload) and at shutdown.
    owned: BTreeSet<ServiceKey>,
    /// The first pass with IPVS has been made.
    started: bool,
    status: IpvsStatus,
    /// The status last sent to the parent.
    sent_status: Option<IpvsStatus>,
    next_retry: Instant,
    next_reconcile: Instant,
    version: String,
    /// The state and vrid of the VRRP instance driving `lvs_sync_daemon`.
    vrrp: BTreeMap<String, (ipc::VrrpState, u8)>,
    /// The sync daemon states (master/backup) this worker runs.
    syncd_owned: BTreeSet<u32>,
    /// The last sync daemon error logged (not repeated every pass).
    syncd_error: Option<String>,
    /// quorum_up / quorum_down of each virtual server: the parent's ids.
    quorum_scripts: BTreeMap<(ipc::VirtualServerKey, ipc::UpDown), ipc::ScriptId>,
    /// The number of the last `RunScript` request.
    script_request: u64,
    /// Quorum has been computed once (a restarted worker does not repeat
    /// the start's "quorum down" script).
    quorum_known: bool,
}

impl IpvsWorker {
    fn new(generation: u64, slice: LvsSlice, health: BTreeMap<RealServerKey, Health>) -> Self {
        let now = Instant::now();
        IpvsWorker {
            generation,
            options: ipc::WorkerOptions::default(),
            slice,
            health,
            planner: Planner::new(),
            desired: Desired::default(),
            ipvs: None,
            cache: None,
            owned: BTreeSet::new(),
            started: false,
            status: IpvsStatus {
                available: false,
                error: None,
                repaired: 0,
            },
            sent_status: None,
            next_retry: now,
            next_reconcile: now + RECONCILE_INTERVAL,
            version: String::new(),
            vrrp: BTreeMap::new(),
            syncd_owned: BTreeSet::new(),
            syncd_error: None,
            quorum_scripts: BTreeMap::new(),
            script_request: 0,
            quorum_known: false,
        }
    }

    fn dump(&self, _kind: DumpKind) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "------< IPVS worker (pid {}) >------",
            std::process::id()
        );
        let _ = writeln!(s, " Configuration generation = {}", self.generation);
        let _ = writeln!(
            s,
            " Virtual servers = {}",
            self.slice.lvs.virtual_servers.len()
        );
        let up = self.health.values().filter(|h| h.up).count();
        let _ = writeln!(s, " Real servers up = {up} of {}", self.health.len());
        match (&self.ipvs, &self.status.error) {
            (Some(i), _) => {
                let _ = writeln!(
                    s,
                    " IPVS = available (version {}, netlink family {})",
                    self.version,
                    i.family()
                );
            }
            (None, Some(e)) => {
                let _ = writeln!(s, " IPVS = unavailable: {e}");
            }
            (None, None) => {
                let _ = writeln!(s, " IPVS = unavailable");
            }
        }
        let _ = writeln!(s, " Repairs = {}", self.status.repaired);
        let _ = writeln!(
            s,
            " Desired services = {}, real servers = {}",
            self.desired.services.len(),
            self.desired.dest_count()
        );
        for ds in &self.desired.services {
            let _ = writeln!(s, "  {} {}", ds.service.key, ds.service.sched);
            for d in &ds.dests {
                let _ = writeln!(
                    s,
                    "   -> {} weight {}",
                    std::net::SocketAddr::new(d.addr, d.port),
                    d.weight
                );
            }
        }
        s
    }

    fn send_status(&mut self, link: &mut Link) -> Result<(), LinkError> {
        if self.sent_status.as_ref() != Some(&self.status) {
            self.sent_status = Some(self.status.clone());
            link.send(&FromWorker::IpvsStatus(self.status.clone()))?;
        }
        Ok(())
    }

    /// Try to reach IPVS; on success make the first pass.
    fn connect(&mut self, link: &mut Link, now: Instant) -> Result<(), LinkError> {
        match Ipvs::open().and_then(|mut i| i.info().map(|info| (i, info))) {
            Ok((ipvs, info)) => {
                self.version = info.version_string();
                link.log(
                    LogLevel::Info,
                    format!(
                        "IPVS: IP Virtual Server version {} (size={}), netlink family {}",
                        self.version,
                        info.conn_tab_size,
                        ipvs.family()
                    ),
                )?;
                self.ipvs = Some(ipvs);
                self.status.available = true;
                self.status.error = None;
                self.cache = None;
                self.sync(
                    link,
                    if self.started {
                        Pass::Reload
                    } else {
                        Pass::Start
                    },
                )?;
                self.next_reconcile = now + RECONCILE_INTERVAL;
            }
            Err(e) => {
                let msg = e.to_string();
                if self.status.error.is_none() && !self.status.available {
                    // Said once; later tries are quiet.
                    link.log(
                        LogLevel::Err,
                        format!(
                            "IPVS: Can't initialize ipvs: {msg} - will retry every {} s",
                            RETRY_INTERVAL.as_secs()
                        ),
                    )?;
                }
                self.status.available = false;
                self.status.error = Some(msg);
                self.next_retry = now + RETRY_INTERVAL;
            }
        }
        self.send_status(link)
    }

    /// IPVS went away under us: report once, retry later.
    fn lost(&mut self, link: &mut Link, e: &IpvsError) -> Result<(), LinkError> {
        link.log(
            LogLevel::Err,
            format!(
                "IPVS: lost: {e} - will retry every {} s",
                RETRY_INTERVAL.as_secs()
            ),
        )?;
        self.ipvs = None;
        self.cache = None;
        self.status.available = false;
        self.status.error = Some(e.to_string());
        self.next_retry = Instant::now() + RETRY_INTERVAL;
        self.send_status(link)
    }

    fn set_scripts(&mut self, scripts: &[ipc::ScriptEntry]) {
        self.quorum_scripts = scripts
            .iter()
            .filter_map(|e| match &e.purpose {
                ipc::ScriptPurpose::QuorumNotify {
                    virtual_server,
                    event,
                } => Some(((virtual_server.clone(), *event), e.id)),
                _ => None,
            })
            .collect();
    }

    /// Compute the desired table; run quorum_up / quorum_down for the
    /// virtual servers whose quorum changed, as keepalived 2.2.7's
    /// `update_quorum_state` does: on a gain or a loss; at start (or when
    /// a reload adds the virtual server) a service starts with quorum down,
    /// so one that has quorum "gains" it (quorum_up runs), and one without
    /// runs quorum_down only if it has a sorry server ("Starting with
    /// quorum down"). A restarted worker does not repeat the start's.
    fn plan(&mut self, link: &mut Link) -> Result<(), LinkError> {
        let prev = self.planner.states().clone();
        self.desired = self.planner.desired(&self.slice.lvs, &self.health);
        let starting = !self.quorum_known;
        self.quorum_known = true;
        let mut run = Vec::new();
        for vs in &self.slice.lvs.virtual_servers {
            let key = table::vs_key(vs);
            let Some(&up) = self.planner.states().get(&key) else {
                continue;
            };
            let event = match prev.get(&key) {
                Some(false) if up => ipc::UpDown::Up,
                Some(true) if !up => ipc::UpDown::Down,
                None if starting && self.options.resumed => {
                    // The worker before this one ran the start's.
                    continue;
                }
                None if up => ipc::UpDown::Up,
                None if vs.sorry_server.is_some() => ipc::UpDown::Down,
                _ => continue,
            };
            link.log(
                LogLevel::Info,
                format!(
                    "IPVS: {} quorum for VS {} (weight sum {} against quorum {}, hysteresis {})",
                    match (event, prev.contains_key(&key)) {
                        (ipc::UpDown::Up, _) => "Gained",
                        (ipc::UpDown::Down, true) => "Lost",
                        (ipc::UpDown::Down, false) => "Starting with no",
                    },
                    vs_name(&key),
                    self.planner.weight_sum(&key),
                    vs.quorum,
                    vs.hysteresis
                ),
            )?;
            if let Some(&id) = self.quorum_scripts.get(&(key, event)) {
                run.push(id);
            }
        }
        for id in run {
            self.script_request += 1;
            link.send(&FromWorker::RunScript {
                request: self.script_request,
                id,
            })?;
        }
        Ok(())
    }

    /// Bring the kernel to the desired table.
    fn sync(&mut self, link: &mut Link, pass: Pass) -> Result<(), LinkError> {
        self.plan(link)?;
        let Some(ipvs) = self.ipvs.as_mut() else {
            return Ok(());
        };
        let mut prelude = Vec::new();
        if matches!(pass, Pass::Start | Pass::Reload) {
            let t = self.slice.global.lvs_timeouts;
            if t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some() {
                prelude.push(Request::SetTimeouts(Timeouts {
                    tcp: t.tcp.unwrap_or(0),
                    tcp_fin: t.tcpfin.unwrap_or(0),
                    udp: t.udp.unwrap_or(0),
                }));
            }
        }
        let kernel = match (pass, self.cache.take()) {
            (Pass::Change, Some(c)) => c,
            _ => {
                let mut beat = Ok(());
                let r = ipvs.dump(|| {
                    if beat.is_ok() {
                        beat = link.tick(Instant::now());
                    }
                });
                beat?;
                match r {
                    Ok(t) => t,
                    Err(e) => return self.lost(link, &e),
                }
            }
        };
        let desired_keys = self.desired.keys();
        let mut kernel = kernel;
        // lvs_flush: at the first pass, nothing foreign stays. A table with
        // none of our services is flushed at once, as keepalived does; one
        // that has some (a restarted worker) is cleaned entry by entry so
        // that what is right stays in place.
        // Not again for a restarted worker: what was added by hand since the
        // daemon started stays, as with keepalived, whose table outlives no
        // crash of its own.
        let flush_foreign =
            pass == Pass::Start && self.slice.global.lvs_flush && !self.options.resumed;
        if flush_foreign
            && !kernel.services.is_empty()
            && !kernel.services.keys().any(|k| desired_keys.contains(k))
        {
            prelude.push(Request::Flush);
            kernel.apply(&Request::Flush);
        }
        let owned = &self.owned;
        let ops = table::diff(&self.desired, &kernel, |k| {
            flush_foreign || owned.contains(k) || desired_keys.contains(k)
        });
        let mut failed = false;
        let mut logged = 0;
        let mut applied = 0usize;
        let repairs = pass == Pass::Periodic && !ops.is_empty();
        if repairs {
            link.log(
                LogLevel::Warning,
                format!(
                    "IPVS: the kernel's table differs from the configuration in {} place(s): repairing",
                    ops.len()
                ),
            )?;
        }
        let all: Vec<Request> = prelude.into_iter().chain(ops.iter().cloned()).collect();
        let mut results = Vec::with_capacity(all.len());
        for (i, batch) in all.chunks(OPS_PER_BATCH).enumerate() {
            if i > 0 {
                link.tick(Instant::now())?;
            }
            match ipvs.exec_batch(batch) {
                Ok(r) => results.extend(r),
                Err(e) => return self.lost(link, &e),
            }
        }
        for (op, r) in all.iter().zip(results) {
            let ok = match &r {
                Ok(()) => true,
                // Already there / already gone: the kernel is as wanted.
                Err(IpvsError::Kernel(e))
                    if *e == libc::EEXIST
                        && matches!(op, Request::NewService(_) | Request::NewDest(..)) =>
                {
                    true
                }
                Err(IpvsError::Kernel(e))
                    if (*e == libc::ENOENT || *e == libc::ESRCH)
                        && matches!(op, Request::DelService(_) | Request::DelDest(..)) =>
                {
                    true
                }
                Err(e) if e.is_fatal() => {
                    let e = IpvsError::Io(std::io::Error::other(e.to_string()));
                    return self.lost(link, &e);
                }
                Err(e) => {
                    link.log(
                        LogLevel::Err,
                        format!("IPVS: cannot {}: {e}", OpDisplay(op)),
                    )?;
                    self.status.error = Some(format!("{}: {e}", OpDisplay(op)));
                    failed = true;
                    false
                }
            };
            if ok {
                kernel.apply(op);
                if repairs {
                    self.status.repaired += 1;
                    if logged < REPAIRS_LOGGED {
                        logged += 1;
                        link.log(
                            LogLevel::Warning,
                            format!("IPVS: repaired: {}", OpDisplay(op)),
                        )?;
                    }
                } else if pass == Pass::Change && ops.len() <= CHANGES_LOGGED {
                    link.log(LogLevel::Info, format!("IPVS: {}", OpDisplay(op)))?;
                }
                applied += 1;
            }
        }
        if applied > 0 && (pass != Pass::Change || ops.len() > CHANGES_LOGGED) && !repairs {
            link.log(
                LogLevel::Info,
                format!(
                    "IPVS: {applied} request(s) applied; {} service(s), {} real server(s) configured",
                    self.desired.services.len(),
                    self.desired.dest_count()
                ),
            )?;
        }
        // Services no longer desired and now gone are no longer ours.
        self.owned = desired_keys;
        if failed {
            // Read the kernel back at the next pass.
            self.cache = None;
        } else {
            if self.status.error.is_some() && self.ipvs.is_some() {
                self.status.error = None;
            }
            self.cache = Some(kernel);
        }
        self.started = true;
        if pass != Pass::Change {
            self.sync_daemons(link)?;
        }
        self.send_status(link)
    }

    /// Bring the kernel's connection synchronisation daemons to what
    /// `lvs_sync_daemon` and the driving instance's state ask for. Without
    /// `lvs_sync_daemon`, only daemons this worker started are stopped.
    fn sync_daemons(&mut self, link: &mut Link) -> Result<(), LinkError> {
        let want = match &self.slice.global.lvs_sync_daemon {
            None if self.syncd_owned.is_empty() => return Ok(()),
            None => Vec::new(),
            Some(cfg) => match syncd::desired(cfg, &self.vrrp) {
                Some(w) => w,
                // The instance's state is not known yet.
                None => return Ok(()),
            },
        };
        let Some(ipvs) = self.ipvs.as_mut() else {
            return Ok(());
        };
        let kernel = match ipvs.daemons() {
            Ok(k) => k,
            Err(e) if e.is_fatal() => return self.lost(link, &e),
            Err(e) => {
                return self.syncd_failed(link, format!("cannot list the sync daemons: {e}"));
            }
        };
        let mut error = None;
        for op in syncd::plan(&want, &kernel) {
            match ipvs.exec(&op) {
                Ok(()) => link.log(LogLevel::Info, format!("IPVS: {}", OpDisplay(&op)))?,
                // Already stopped.
                Err(IpvsError::Kernel(e))
                    if e == libc::ESRCH && matches!(op, Request::DelDaemon(_)) => {}
                Err(e) if e.is_fatal() => return self.lost(link, &e),
                Err(e) => {
                    error.get_or_insert(format!("cannot {}: {e}", OpDisplay(&op)));
                }
            }
        }
        self.syncd_owned = want.iter().map(|d| d.state).collect();
        match error {
            Some(e) => self.syncd_failed(link, e),
            None => {
                self.syncd_error = None;
                Ok(())
            }
        }
    }

    fn syncd_failed(&mut self, link: &mut Link, e: String) -> Result<(), LinkError> {
        if self.syncd_error.as_ref() != Some(&e) {
            link.log(LogLevel::Err, format!("IPVS: {e}"))?;
            self.syncd_error = Some(e);
        }
        Ok(())
    }

    /// keepalived's `clear_services` at stop: with `lvs_flush_on_stop`
    /// flush everything, else remove the services of the configuration.
    fn clear(&mut self) {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        // The sync daemons stop with the daemon (keepalived's VRRP process
        // stops them at its end, -I or not).
        for state in std::mem::take(&mut self.syncd_owned) {
            let _ = ipvs.exec(&Request::DelDaemon(state));
        }
        // `-I`: leave the IPVS table as it is.
        if self.options.dont_release {
            return;
        }
        if self.slice.global.lvs_flush_on_stop == LvsFlushOnStop::Full {
            let _ = ipvs.exec(&Request::Flush);
            return;
        }
        let mut keys = self.owned.clone();
        keys.extend(self.desired.keys());
        for k in keys {
            let _ = ipvs.exec(&Request::DelService(k));
        }
    }
}

impl Worker for IpvsWorker {
    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
        match msg {
            ToWorker::Reload(r) => match r.slice {
                Slice::Ipvs(s) => {
                    self.slice = *s;
                    self.set_scripts(&r.scripts);
                    self.generation = r.generation;
                    // Keep the health of real servers that remain; new ones
                    // start from keepalived's initial health.
                    let keys: BTreeSet<RealServerKey> = self
                        .slice
                        .lvs
                        .virtual_servers
                        .iter()
                        .flat_map(|vs| vs.real_servers.iter().map(|rs| table::rs_key(vs, rs)))
                        .collect();
                    self.health.retain(|k, _| keys.contains(k));
                    self.sync(link, Pass::Reload)?;
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
            ToWorker::Health(h) => {
                self.health.insert(h.real_server.clone(), h.health());
                self.sync(link, Pass::Change)?;
            }
            ToWorker::ScriptDone { request, outcome } => {
                // A quorum script: keepalived does not wait for them
                // either; say how one that failed ended.
                if !matches!(outcome, ipc::ScriptOutcome::Exited { code: 0 }) {
                    link.log(
                        LogLevel::Warning,
                        format!("IPVS: quorum script (request {request}) ended: {outcome:?}"),
                    )?;
                }
            }
            ToWorker::VrrpState {
                instance,
                state,
                vrid,
            } => {
                if self.vrrp.insert(instance, (state, vrid)) != Some((state, vrid)) {
                    self.sync_daemons(link)?;
                }
            }
            ToWorker::Shutdown => {
                self.clear();
                return Ok(Flow::Exit(0));
            }
            ToWorker::DumpRequest { kind } => link.send(&FromWorker::Dump {
                kind,
                text: self.dump(kind),
            })?,
            other => {
                return Err(LinkError::Protocol(format!(
                    "unexpected {} for the IPVS worker",
                    other.name()
                )));
            }
        }
        Ok(Flow::Continue)
    }

    fn on_timer(&mut self, link: &mut Link, now: Instant) -> Result<Flow, LinkError> {
        if self.ipvs.is_none() {
            if now >= self.next_retry {
                self.connect(link, now)?;
            }
        } else if now >= self.next_reconcile {
            self.sync(link, Pass::Periodic)?;
            // A large table is read back less often: one dump request per
            // service adds up.
            let took = now.elapsed();
            self.next_reconcile = Instant::now() + RECONCILE_INTERVAL.max(took * RECONCILE_DUTY);
        }
        Ok(Flow::Continue)
    }

    fn next_deadline(&self) -> Option<Instant> {
        Some(if self.ipvs.is_none() {
            self.next_retry
        } else {
            self.next_reconcile
        })
    }

    fn on_parent_gone(&mut self) {
        // As on Shutdown: the daemon is stopping.
        self.clear();
    }
}

/// A virtual server as keepalived's logs name it (`[10.0.0.1]:tcp:80`,
/// `FWM 3`, `group NAME`).
fn vs_name(k: &ipc::VirtualServerKey) -> String {
    use ipc::VirtualServerKey as K;
    match k {
        K::Addr {
            addr,
            port,
            protocol,
        } => format!("[{addr}]:{}:{port}", format!("{protocol:?}").to_lowercase()),
        K::Fwmark { mark, .. } => format!("FWM {mark}"),
        K::Group { name, .. } => format!("group {name}"),
    }
}

/// The worker's main: handshake, then the loop. Returns the exit code.
/// `confinement` is the sandbox's report, logged through the parent.
pub fn run(stream: UnixStream, confinement: &str) -> i32 {
    let Some((mut link, init)) = ipc::link::start(stream, Role::Ipvs, confinement) else {
        return 1;
    };
    let (Slice::Ipvs(slice), ipc::Restored::Ipvs(health)) = (init.slice, init.restored) else {
        return 1;
    };
    let mut w = IpvsWorker::new(init.generation, *slice, health);
    w.options = init.options;
    w.set_scripts(&init.scripts);
    let generation = w.generation;
    let started = (|| {
        link.log(LogLevel::Info, "IPVS worker started")?;
        w.connect(&mut link, Instant::now())?;
        if !w.quorum_known {
            // Without IPVS the quorum (and its scripts) still follows the
            // health.
            w.plan(&mut link)?;
        }
        link.send(&FromWorker::Ready { generation })
    })();
    if started.is_err() {
        return 1;
    }
    run_loop(link, &mut w)
}
