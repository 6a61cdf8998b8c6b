//! The supervisor: one mio loop in the parent that starts the workers,
//! routes their messages, keeps the authoritative state, restarts a worker
//! that dies or hangs (handing it that state), runs scripts on request,
//! serves the control socket and handles signals.
//!
//! No protocol logic lives here: the parent never parses a packet, never
//! talks to the kernel's VRRP or IPVS side, never runs a health check.

use crate::cli::Options;
use crate::control::{self, ControlServer, Reply};
use crate::log::{Level, Logger};
use crate::restart::{Backoff, Watchdog};
use crate::scripts::{Outcome, Runner};
use crate::state::State;
use crate::{exit, pidfile, script_table, sys};
use ipc::{
    DumpKind, Flush, FrameReader, FrameWriter, FromWorker, Init, LogLevel, PROTOCOL_VERSION, Recv,
    Reload, Restored, Role, ScriptOutcome, Slice, StreamError, ToWorker,
};
use mio::net::UnixStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_mio::v1_0::Signals;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN_SIGNALS: Token = Token(0);
const TOKEN_CONTROL: Token = Token(1);
const TOKEN_ADDRS: Token = Token(2);
const FIRST_CONTROL_CONN: usize = 1000;

/// keepalived's `child_wait_time` default: how long a stop waits for the
/// workers to clean up before killing them.
pub const CHILD_WAIT: Duration = Duration::from_secs(5);
/// How long a dump waits for the workers' parts.
const DUMP_WAIT: Duration = Duration::from_secs(2);
/// The most scripts running at once for one worker; more are refused.
const MAX_SCRIPTS_PER_WORKER: usize = 64;

fn worker_token(role: Role) -> Token {
    Token(10 + role as usize)
}

fn role_of_token(t: Token) -> Option<Role> {
    Role::ALL.into_iter().find(|r| worker_token(*r) == t)
}

/// The ident a role's log lines carry in syslog (keepalived's names, so
/// existing log filters keep working).
pub fn ident(role: Option<Role>) -> &'static str {
    match role {
        None => "Keepalived",
        Some(Role::Vrrp) => "Keepalived_vrrp",
        Some(Role::Check) => "Keepalived_healthcheckers",
        Some(Role::Ipvs) => "Keepalived_ipvs",
        Some(Role::Metrics) => "Keepalived_metrics",
    }
}

fn level_of(l: LogLevel) -> Level {
    match l {
        LogLevel::Emerg | LogLevel::Alert | LogLevel::Crit | LogLevel::Err => Level::Err,
        LogLevel::Warning => Level::Warning,
        LogLevel::Notice => Level::Notice,
        LogLevel::Info => Level::Info,
        LogLevel::Debug => Level::Debug,
    }
}

/// A running worker process.
struct Proc {
    child: Child,
    pid: u32,
    stream: MioStream,
    reader: FrameReader<FromWorker>,
    writer: FrameWriter,
    watchdog: Watchdog,
    started: Instant,
    greeted: bool,
    ready_generation: Option<u64>,
    /// When it first said Ready.
    ready_at: Option<Instant>,
    /// Set once we decided to kill it (why), so the death is expected.
    killing: Option<String>,
    /// Asked to shut down (stop or role no longer configured).
    shutting_down: bool,
    /// Kill it at this time if it has not exited (it closed its link).
    kill_at: Option<Instant>,
}

/// How long a worker that closed its link may take to exit by itself.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// One role's place in the process tree.
struct Slot {
    role: Role,
    proc: Option<Proc>,
    restarts: u32,
    backoff: Backoff,
    restart_at: Option<Instant>,
    /// The role has configuration and should run.
    wanted: bool,
    /// A worker of this role was started before in this daemon: the next
    /// one is a restart (`WorkerOptions::resumed`).
    ran_before: bool,
    /// Workers of this role killed by SIGSYS (a call outside the role's
    /// seccomp allow-list).
    seccomp_violations: u32,
}

/// A dump being collected from the workers.
struct PendingDump {
    kind: DumpKind,
    deadline: Instant,
    waiting: Vec<Role>,
    parts: BTreeMap<Role, String>,
    /// Control clients (`ctl dump`/`ctl stats`) waiting for the text.
    clients: Vec<Token>,
}

pub struct Daemon {
    opts: Options,
    log: Logger,
    poll: Poll,
    signals: Signals,
    control: Option<ControlServer>,
    slots: BTreeMap<Role, Slot>,
    state: State,
    scripts: script_table::ScriptTable,
    /// The table before the last reload, with its generation: a worker
    /// that has not yet acknowledged the reload (`Ready`) still uses it.
    old_scripts: Option<(u64, script_table::ScriptTable)>,
    runner: Runner<(Role, u32, u64)>,
    heartbeat: Duration,
    stop_deadline: Option<Instant>,
    dumps: Vec<PendingDump>,
    exe: std::path::PathBuf,
    /// systemd notification (`Type=notify`); a no-op without systemd.
    notify: crate::notify::Notifier,
    /// The configuration generation `READY=1` was last sent for.
    ready_sent: Option<u64>,
    /// VRRP transitions for the check worker to mail.
    vrrp_alerts: crate::alerts::VrrpAlerts,
    /// Quorum changes and `omega` shutdown mails for the check worker.
    lvs_alerts: crate::alerts::LvsAlerts,
    /// Test builds: the workers' answers to `ctl probe`, oldest first.
    #[cfg(feature = "test-messages")]
    probes: Vec<serde_json::Value>,
    /// The metrics listening socket (bound here, served by the metrics
    /// worker at fd 4), when `--metrics-listen`/`metrics_listen` is set.
    metrics: Option<(std::net::SocketAddr, OwnedFd)>,
    /// The parent dropped capabilities (crate::privileges).
    caps_limited: bool,
    /// The machine's addresses, watched while a virtual server has
    /// `ha_suspend` (crate::addrwatch).
    addr_watch: Option<crate::addrwatch::Watcher>,
    /// The `ha_suspend` addresses on the machine, as the check worker was
    /// (or, at its Init, will be) told.
    vs_present: std::collections::BTreeSet<std::net::IpAddr>,
}

/// Bind the metrics address (the parent binds, so a port below 1024 works
/// and the worker needs no capability). An error is logged and the daemon
/// runs without metrics.
fn bind_metrics(
    opts: &Options,
    cfg: &config::model::Config,
    log: &Logger,
) -> Option<(std::net::SocketAddr, OwnedFd)> {
    let addr = opts.metrics_listen.or(cfg.global.metrics_listen)?;
    let res = std::net::TcpListener::bind(addr).and_then(|l| {
        let fd = sys::high_fd(&l)?;
        Ok((l.local_addr()?, fd))
    });
    match res {
        Ok(v) => Some(v),
        Err(e) => {
            log.log(
                Level::Err,
                ident(None),
                std::process::id(),
                &format!("cannot listen on {addr} for metrics: {e}; running without metrics"),
            );
            None
        }
    }
}

/// The roles a configuration needs, under `-P`/`-C`/`--all`.
pub fn wanted_roles(opts: &Options, cfg: &config::model::Config) -> Vec<Role> {
    let mut roles = Vec::new();
    let has_vrrp = script_table::has_vrrp(cfg);
    let has_lvs = script_table::has_lvs(cfg);
    if !opts.check_only && (has_vrrp || opts.all) {
        roles.push(Role::Vrrp);
    }
    if !opts.vrrp_only && (has_lvs || opts.all) {
        roles.push(Role::Check);
        roles.push(Role::Ipvs);
    } else if !opts.check_only && crate::alerts::vrrp_alerts_wanted(cfg) {
        // The check worker sends the VRRP instances' SMTP alerts (under
        // `-P` with no virtual server: see `slice_for`).
        roles.push(Role::Check);
    }
    roles
}

/// `role`'s slice; under `-P` the check worker (there only to mail VRRP
/// alerts) gets no virtual server to check.
pub(crate) fn slice_for(opts: &Options, role: Role, cfg: &config::model::Config) -> Slice {
    let mut slice = Slice::for_role(role, cfg);
    if opts.vrrp_only {
        if let Slice::Check(s) = &mut slice {
            s.lvs = Default::default();
        }
    }
    slice
}

impl Daemon {
    /// Set up the loop for a configuration that has no errors.
    pub fn new(opts: Options, log: Logger, mut cfg: config::model::Config) -> io::Result<Self> {
        for (level, msg) in crate::alerts::resolve(&mut cfg.global) {
            log.log(level, ident(None), std::process::id(), &msg);
        }
        if let Some(msg) = cfg.clear_missing_sync_instance()
            && !opts.check_only
        {
            log.log(Level::Info, ident(None), std::process::id(), &msg);
        }
        let poll = Poll::new()?;
        let mut signals = Signals::new([
            SIGHUP,
            SIGTERM,
            SIGINT,
            SIGUSR1,
            SIGUSR2,
            SIGCHLD,
            crate::dump::sigjson(),
        ])?;
        poll.registry()
            .register(&mut signals, TOKEN_SIGNALS, Interest::READABLE)?;
        let control = match ControlServer::bind(
            &opts.control_socket,
            poll.registry(),
            TOKEN_CONTROL,
            FIRST_CONTROL_CONN,
        ) {
            Ok(c) => Some(c),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
            Err(e) => {
                log.log(
                    Level::Warning,
                    ident(None),
                    std::process::id(),
                    &format!(
                        "control socket {} unavailable: {e}; `keepalived-rs ctl` will not work",
                        opts.control_socket.display()
                    ),
                );
                None
            }
        };
        let metrics = bind_metrics(&opts, &cfg, &log);
        let mut wanted = wanted_roles(&opts, &cfg);
        if metrics.is_some() {
            wanted.push(Role::Metrics);
        }
        let slots = Role::ALL
            .into_iter()
            .map(|role| {
                (
                    role,
                    Slot {
                        role,
                        proc: None,
                        restarts: 0,
                        backoff: Backoff::default(),
                        restart_at: None,
                        wanted: wanted.contains(&role),
                        ran_before: false,
                        seccomp_violations: 0,
                    },
                )
            })
            .collect();
        let heartbeat = script_table::heartbeat_interval(&cfg);
        let scripts = script_table::ScriptTable::build(&cfg);
        let notify = crate::notify::Notifier::from_env(Instant::now()).unwrap_or_else(|e| {
            log.log(
                Level::Warning,
                ident(None),
                std::process::id(),
                &format!("cannot notify systemd: {e}"),
            );
            crate::notify::Notifier::none()
        });
        let state = State::new(cfg);
        let mut lvs_alerts = crate::alerts::LvsAlerts::default();
        if !opts.vrrp_only {
            lvs_alerts.start(&state.config, &state.health);
        }
        Ok(Self {
            notify,
            ready_sent: None,
            metrics,
            exe: std::fs::read_link("/proc/self/exe")
                .unwrap_or_else(|_| std::path::PathBuf::from("/proc/self/exe")),
            opts,
            log,
            poll,
            signals,
            control,
            slots,
            state,
            scripts,
            old_scripts: None,
            runner: Runner::new(),
            heartbeat,
            stop_deadline: None,
            dumps: Vec::new(),
            vrrp_alerts: Default::default(),
            lvs_alerts,
            #[cfg(feature = "test-messages")]
            probes: Vec::new(),
            caps_limited: false,
            addr_watch: None,
            vs_present: Default::default(),
        })
    }

    fn say(&self, level: Level, msg: &str) {
        self.log.log(level, ident(None), std::process::id(), msg);
    }

    /// Run until stopped; returns the exit code.
    pub fn run(mut self) -> i32 {
        self.say(
            Level::Info,
            &format!("Starting keepalived-rs v{}", crate::VERSION),
        );
        let (limited, line) = crate::privileges::limit(self.scripts.root_script());
        self.caps_limited = limited;
        self.say(Level::Info, &line);
        let roles: Vec<Role> = self
            .slots
            .values()
            .filter(|s| s.wanted)
            .map(|s| s.role)
            .collect();
        if roles.is_empty() {
            self.say(
                Level::Warning,
                "no VRRP instance and no virtual server configured: no worker to start",
            );
        }
        self.watch_addresses();
        for role in roles {
            self.spawn(role, Instant::now());
        }
        self.check_ready();
        let mut events = Events::with_capacity(64);
        loop {
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.say(Level::Err, &format!("poll failed: {e}"));
                    return exit::FATAL;
                }
            }
            let now = Instant::now();
            for ev in &events {
                match ev.token() {
                    TOKEN_SIGNALS => self.on_signals(now),
                    TOKEN_ADDRS => self.on_addresses(),
                    t => {
                        if let Some(role) = role_of_token(t) {
                            self.on_worker_event(
                                role,
                                ev.is_readable() || ev.is_read_closed(),
                                ev.is_writable(),
                                now,
                            );
                        } else if self.control.as_ref().is_some_and(|c| c.owns(t)) {
                            self.on_control(t, now);
                        }
                    }
                }
            }
            self.reap(Instant::now());
            self.on_timers(Instant::now());
            if let Some(deadline) = self.stop_deadline {
                if self.slots.values().all(|s| s.proc.is_none()) {
                    self.runner.kill_all();
                    self.say(Level::Info, "Stopped keepalived-rs");
                    return exit::OK;
                }
                if Instant::now() >= deadline {
                    for s in self.slots.values_mut() {
                        if let Some(p) = s.proc.as_mut() {
                            let _ = p.child.kill();
                        }
                    }
                    // Reaped on the next turn; give SIGKILL a moment.
                    self.stop_deadline = Some(Instant::now() + Duration::from_millis(200));
                    if self.slots.values_mut().all(|s| {
                        s.proc
                            .as_mut()
                            .is_none_or(|p| p.child.try_wait().ok().flatten().is_some())
                    }) {
                        self.runner.kill_all();
                        self.say(
                            Level::Warning,
                            "Stopped keepalived-rs after killing workers that did not stop in time",
                        );
                        return exit::OK;
                    }
                }
            }
        }
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        let mut d: Vec<Instant> = Vec::new();
        for s in self.slots.values() {
            if let Some(t) = s.restart_at {
                d.push(t);
            }
            if let Some(p) = &s.proc {
                if p.killing.is_none() && p.kill_at.is_none() {
                    d.push(p.watchdog.deadline());
                }
                d.extend(p.kill_at);
            }
        }
        d.extend(self.runner.next_deadline());
        d.extend(self.stop_deadline);
        d.extend(self.dumps.iter().map(|p| p.deadline));
        d.extend(self.notify.next_deadline());
        if let Some(c) = self.control.as_mut() {
            d.extend(c.expire(self.poll.registry(), Instant::now()));
        }
        if !self.runner.is_empty() {
            // Scripts are reaped on SIGCHLD; poll now and then as a backstop.
            d.push(Instant::now() + Duration::from_millis(500));
        }
        d.into_iter().min()
    }

    // ------------------------------------------------------------ workers

    fn spawn(&mut self, role: Role, now: Instant) {
        if let Some(s) = self.slots.get_mut(&role) {
            s.restart_at = None;
        }
        let files = match role {
            Role::Check => file_check_paths(&self.state.config),
            _ => Vec::new(),
        };
        let listen = match (role, &self.metrics) {
            (Role::Metrics, Some((_, fd))) => Some(fd),
            _ => None,
        };
        match spawn_worker(&self.exe, role, self.opts.log_detail, &files, listen) {
            Ok((child, stream)) => {
                let mut stream = MioStream::from_std(stream);
                if let Err(e) = self.poll.registry().register(
                    &mut stream,
                    worker_token(role),
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    self.say(Level::Err, &format!("cannot watch the {role} worker: {e}"));
                }
                let pid = child.id();
                let heartbeat = self.heartbeat;
                if let Some(slot) = self.slots.get_mut(&role) {
                    slot.proc = Some(Proc {
                        child,
                        pid,
                        stream,
                        reader: FrameReader::new(),
                        writer: FrameWriter::new(),
                        watchdog: Watchdog::new(heartbeat, role == Role::Vrrp, now),
                        started: now,
                        greeted: false,
                        ready_generation: None,
                        ready_at: None,
                        killing: None,
                        shutting_down: false,
                        kill_at: None,
                    });
                }
                pidfile::write_worker(&self.opts, role, pid);
                self.say(Level::Info, &format!("Starting {role} worker, pid {pid}"));
            }
            Err(e) => {
                self.say(Level::Err, &format!("cannot start the {role} worker: {e}"));
                if let Some(slot) = self.slots.get_mut(&role) {
                    let delay = slot.backoff.on_death(now, now);
                    slot.restart_at = Some(now + delay.max(Duration::from_secs(1)));
                }
            }
        }
    }

    fn on_worker_event(&mut self, role: Role, readable: bool, writable: bool, now: Instant) {
        if readable {
            loop {
                let res = match self.slots.get_mut(&role).and_then(|s| s.proc.as_mut()) {
                    Some(p) if p.killing.is_none() => p.reader.read_from(&mut p.stream),
                    _ => return,
                };
                match res {
                    Ok(Recv::Message(msg)) => {
                        if let Some(p) = self.proc_mut(role) {
                            p.watchdog.seen(now);
                        }
                        self.on_message(role, msg, now);
                    }
                    Ok(Recv::WouldBlock) => break,
                    Ok(Recv::Eof) => {
                        // It is exiting: SIGCHLD tells how. One that lingers
                        // is killed after a grace period.
                        if let Some(p) = self.proc_mut(role) {
                            if !p.shutting_down {
                                p.killing = Some("closed its IPC socket".into());
                            }
                            p.kill_at = Some(now + EXIT_GRACE);
                            let _ = self.poll_deregister(role);
                        }
                        return;
                    }
                    Err(e) => {
                        let why = match &e {
                            StreamError::Frame(f) => format!("sent a bad frame ({f})"),
                            StreamError::Io(io) => format!("IPC read failed ({io})"),
                        };
                        self.kill_worker(role, &why);
                        return;
                    }
                }
            }
        }
        if writable {
            self.flush(role);
        }
    }

    fn poll_deregister(&mut self, role: Role) -> io::Result<()> {
        let registry = self.poll.registry();
        match self.slots.get_mut(&role).and_then(|s| s.proc.as_mut()) {
            Some(p) => registry.deregister(&mut p.stream),
            None => Ok(()),
        }
    }

    fn proc_mut(&mut self, role: Role) -> Option<&mut Proc> {
        self.slots.get_mut(&role).and_then(|s| s.proc.as_mut())
    }

    /// Kill a worker that misbehaved; it is restarted when reaped.
    fn kill_worker(&mut self, role: Role, why: &str) {
        let Some(p) = self.proc_mut(role) else { return };
        if p.killing.is_some() {
            return;
        }
        let pid = p.pid;
        p.killing = Some(why.to_string());
        let _ = p.child.kill();
        let _ = self.poll_deregister(role);
        self.say(
            Level::Err,
            &format!("{role} worker (pid {pid}) {why}: killing it"),
        );
    }

    fn send(&mut self, role: Role, msg: &ToWorker) {
        let res = match self.proc_mut(role) {
            // Before its Hello, a worker may only get its Init, which
            // carries the current configuration and state anyway: anything
            // else would break its handshake. A Shutdown then is a kill.
            Some(p) if !p.greeted && !matches!(msg, ToWorker::Init(_)) => {
                if matches!(msg, ToWorker::Shutdown) {
                    let _ = p.child.kill();
                }
                return;
            }
            Some(p) if p.killing.is_none() => p.writer.queue(msg),
            _ => return,
        };
        if let Err(e) = res {
            self.say(
                Level::Err,
                &format!("cannot send {} to the {role} worker: {e}", msg.name()),
            );
            return;
        }
        self.flush(role);
    }

    fn flush(&mut self, role: Role) {
        let res = match self.proc_mut(role) {
            Some(p) if p.killing.is_none() => p.writer.write_to(&mut p.stream),
            _ => return,
        };
        match res {
            Ok(Flush::Drained) | Ok(Flush::WouldBlock) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => self.kill_worker(role, &format!("IPC write failed ({e})")),
        }
    }

    /// `role`'s slice; the check worker's with the SSL block's client
    /// certificate, which only the parent can read.
    fn slice_for(&self, role: Role) -> Slice {
        let mut slice = slice_for(&self.opts, role, &self.state.config);
        if let Slice::Check(c) = &mut slice
            && !self.opts.vrrp_only
        {
            match crate::machine::client_tls(&self.state.config) {
                Ok(t) => c.client_tls = t,
                Err(e) => self.say(Level::Err, &e),
            }
            c.present_addresses = self.vs_present.iter().copied().collect();
        }
        slice
    }

    /// The `ha_suspend` virtual servers' addresses the check worker is to
    /// follow (none under `-P`).
    fn ha_suspend_watched(&self) -> std::collections::BTreeSet<std::net::IpAddr> {
        if self.opts.vrrp_only {
            return Default::default();
        }
        ipc::keys::ha_suspend_addresses(&self.state.config.lvs)
    }

    /// Watch the machine's addresses while the configuration has an
    /// `ha_suspend` virtual server (at start and each reload), and know
    /// which of their addresses are present for the check worker's slice.
    fn watch_addresses(&mut self) {
        let watched = self.ha_suspend_watched();
        if watched.is_empty() {
            if let Some(w) = self.addr_watch.take() {
                w.close(self.poll.registry());
            }
            self.vs_present.clear();
            return;
        }
        if self.addr_watch.is_none() {
            match crate::addrwatch::Watcher::open(self.poll.registry(), TOKEN_ADDRS) {
                Ok(w) => self.addr_watch = Some(w),
                // keepalived's checker runs on without its reflector.
                Err(e) => self.say(
                    Level::Err,
                    &format!(
                        "cannot watch the machine's addresses for ha_suspend: {e}; those virtual servers' checkers stay suspended"
                    ),
                ),
            }
        }
        self.vs_present = match &self.addr_watch {
            Some(w) => w.addresses().present_of(&watched),
            None => Default::default(),
        };
    }

    /// The kernel reported address changes: tell the check worker which
    /// `ha_suspend` addresses came or went.
    fn on_addresses(&mut self) {
        let Some(w) = self.addr_watch.as_mut() else {
            return;
        };
        if let Err(e) = w.read(self.poll.registry(), TOKEN_ADDRS) {
            self.say(
                Level::Err,
                &format!("reading the machine's addresses failed: {e}"),
            );
        }
        let watched = self.ha_suspend_watched();
        let now = match &self.addr_watch {
            Some(w) => w.addresses().present_of(&watched),
            None => Default::default(),
        };
        let changes: Vec<(std::net::IpAddr, bool)> = now
            .symmetric_difference(&self.vs_present)
            .map(|a| (*a, now.contains(a)))
            .collect();
        self.vs_present = now;
        for (addr, present) in changes {
            self.send(Role::Check, &ToWorker::VsAddress { addr, present });
        }
    }

    fn init_for(&self, role: Role) -> Init {
        let resumed = self.slots.get(&role).is_some_and(|s| s.ran_before);
        let dont_release = match role {
            Role::Vrrp => self.opts.dont_release_vrrp,
            Role::Ipvs => self.opts.dont_release_ipvs,
            Role::Check | Role::Metrics => false,
        };
        Init {
            generation: self.state.generation,
            heartbeat_interval: self.heartbeat,
            slice: self.slice_for(role),
            scripts: self.scripts.entries_for(role),
            restored: self.state.restored(role),
            options: ipc::WorkerOptions {
                resumed,
                dont_release,
            },
        }
    }

    fn on_message(&mut self, role: Role, msg: FromWorker, now: Instant) {
        let (greeted, pid) = match self.proc_mut(role) {
            Some(p) => (p.greeted, p.pid),
            None => return,
        };
        if !greeted {
            match msg {
                FromWorker::Hello {
                    role: r,
                    pid: hp,
                    protocol,
                } if r == role && hp == pid && protocol == PROTOCOL_VERSION => {
                    if let Some(p) = self.proc_mut(role) {
                        p.greeted = true;
                    }
                    let init = self.init_for(role);
                    self.send(role, &ToWorker::Init(init));
                    if role == Role::Ipvs {
                        self.send_sync_state(None);
                    }
                    if let Some(slot) = self.slots.get_mut(&role) {
                        slot.ran_before = true;
                    }
                }
                other => self.kill_worker(
                    role,
                    &format!("opened with {} instead of a matching Hello", other.name()),
                ),
            }
            return;
        }
        match msg {
            FromWorker::Hello { .. } => self.kill_worker(role, "sent a second Hello"),
            FromWorker::Ready { generation } => {
                if let Some(p) = self.proc_mut(role) {
                    p.ready_generation = Some(generation);
                    p.watchdog.settled();
                    p.ready_at.get_or_insert(now);
                }
                self.say(
                    Level::Info,
                    &format!(
                        "{role} worker (pid {pid}) ready, configuration generation {generation}"
                    ),
                );
                self.check_ready();
                self.send_vrrp_alerts();
            }
            FromWorker::Heartbeat { .. } => {}
            FromWorker::Log { level, message } => {
                self.log
                    .log(level_of(level), ident(Some(role)), pid, &message)
            }
            FromWorker::RunScript { request, id } => self.run_script(role, pid, request, id, now),
            FromWorker::Dump { kind, text } => self.on_dump_part(role, kind, text),
            FromWorker::InstanceState(s) => {
                if role != Role::Vrrp {
                    return self.kill_worker(role, "sent a VRRP state report");
                }
                let report = s.clone();
                let prev = self.state.instances.get(&s.name).map(|p| p.state);
                if let Err(e) = self.state.on_instance(s) {
                    self.say(Level::Warning, &format!("{role} worker: {e}"));
                } else {
                    let st = &self.state;
                    self.vrrp_alerts
                        .on_instance(&st.config, &report, &st.instances);
                    self.send_vrrp_alerts();
                    if prev != Some(report.state) {
                        self.send_sync_state(Some(&report.name));
                    }
                }
            }
            FromWorker::VrrpStats { instance, counters } => {
                if role != Role::Vrrp {
                    return self.kill_worker(role, "sent VRRP counters");
                }
                self.state.counters.insert(instance, counters);
            }
            FromWorker::VrrpUnknownVrid { by_interface } => {
                if role != Role::Vrrp {
                    return self.kill_worker(role, "sent VRRP counters");
                }
                self.state.unknown_vrid = by_interface;
            }
            FromWorker::Health(h) => {
                if role != Role::Check {
                    return self.kill_worker(role, "sent a health report");
                }
                match self.state.on_health(&h) {
                    Ok(true) => {
                        let st = &self.state;
                        self.lvs_alerts.on_health(
                            &st.config,
                            &st.health,
                            &h.real_server.virtual_server,
                        );
                        self.send(Role::Ipvs, &ToWorker::Health(h));
                        self.send_vrrp_alerts();
                    }
                    Ok(false) => {}
                    Err(e) => self.say(Level::Warning, &format!("check worker: {e}; ignored")),
                }
            }
            FromWorker::CheckStats(stats) => {
                if role != Role::Check {
                    return self.kill_worker(role, "sent probe figures");
                }
                // Unknown real servers happen around a reload (a summary
                // of the previous configuration): not worth a warning.
                if let Err(e) = self.state.on_check_stats(stats) {
                    self.say(Level::Debug, &format!("check worker: {e}; ignored"));
                }
            }
            FromWorker::IpvsStatus(st) => {
                if role != Role::Ipvs {
                    return self.kill_worker(role, "sent an IPVS status");
                }
                self.state.ipvs = Some(st);
            }
            FromWorker::MetricsRequest => {
                if role != Role::Metrics {
                    return self.kill_worker(role, "asked for metrics");
                }
                let snap = self.state.metrics_snapshot(&self.worker_rows());
                self.send(Role::Metrics, &ToWorker::Metrics(Box::new(snap)));
            }
            #[cfg(feature = "test-messages")]
            FromWorker::TestProbeReply { action, result } => {
                self.say(
                    Level::Info,
                    &format!("{role} worker test probe {action:?}: {result:?}"),
                );
                self.probes
                    .push(crate::probe::reply_json(role, pid, &action, &result));
            }
        }
    }

    /// Hand the pending VRRP alerts to the check worker once it is ready
    /// (dropped when no check worker is to run).
    /// Hand the check worker the VRRP and LVS mails once it is ready (or
    /// drop them when it is not wanted).
    fn send_vrrp_alerts(&mut self) {
        if !self.vrrp_alerts.has_pending() && !self.lvs_alerts.has_pending() {
            return;
        }
        let wanted = self.slots.get(&Role::Check).is_some_and(|s| s.wanted);
        let ready = self
            .proc_mut(Role::Check)
            .is_some_and(|p| p.greeted && p.ready_generation.is_some());
        if ready || !wanted {
            let lvs = self.lvs_alerts.take();
            for m in self.vrrp_alerts.take().into_iter().chain(lvs) {
                if ready {
                    self.send(Role::Check, &m);
                }
            }
        }
    }

    /// Tell the IPVS worker the state of the instance that drives
    /// `lvs_sync_daemon` (when `changed` is it, or is `None`: after Init).
    fn send_sync_state(&mut self, changed: Option<&str>) {
        let cfg = &self.state.config;
        let Some(name) = cfg
            .global
            .lvs_sync_daemon
            .as_ref()
            .and_then(|d| d.instance.clone())
        else {
            return;
        };
        if changed.is_some_and(|c| c != name) {
            return;
        }
        let (Some(i), Some(s)) = (cfg.vrrp.instance(&name), self.state.instances.get(&name)) else {
            return;
        };
        let msg = ToWorker::VrrpState {
            instance: name,
            state: s.state,
            vrid: i.vrid,
        };
        self.send(Role::Ipvs, &msg);
    }

    fn run_script(&mut self, role: Role, pid: u32, request: u64, id: ipc::ScriptId, now: Instant) {
        let refuse = |why: String| ScriptOutcome::Refused { reason: why };
        // The table of the configuration this worker has acknowledged.
        let acked = self.proc_mut(role).and_then(|p| p.ready_generation);
        let table = match &self.old_scripts {
            Some((g, old)) if acked == Some(*g) && *g != self.state.generation => old,
            _ => &self.scripts,
        };
        let outcome = match table.lookup(role, id) {
            None => {
                self.say(
                    Level::Warning,
                    &format!("{role} worker (pid {pid}) asked for {id}, which is not in its script table: refused"),
                );
                Some(refuse(format!("{id} is not a script of the {role} worker")))
            }
            Some(_)
                if self
                    .runner
                    .keys()
                    .filter(|(r, p, _)| *r == role && *p == pid)
                    .count()
                    >= MAX_SCRIPTS_PER_WORKER =>
            {
                Some(refuse("too many scripts running".into()))
            }
            Some(entry) => match &entry.run_as {
                Err(e) => Some(refuse(e.clone())),
                Ok(user) => {
                    let env = HashMap::new();
                    match self.runner.start(
                        (role, pid, request),
                        &entry.argv,
                        user,
                        &env,
                        entry.timeout,
                        now,
                    ) {
                        Ok(()) => None,
                        Err(e) => {
                            self.say(Level::Warning, &e);
                            Some(refuse(e))
                        }
                    }
                }
            },
        };
        if let Some(outcome) = outcome {
            self.send(role, &ToWorker::ScriptDone { request, outcome });
        }
    }

    /// Reap dead workers and finished scripts.
    fn reap(&mut self, now: Instant) {
        for (key, outcome) in self.runner.reap(now) {
            let (role, pid, request) = key;
            let outcome = match outcome {
                Outcome::Exited(code) => ScriptOutcome::Exited { code },
                Outcome::Signalled(signal) => ScriptOutcome::Signaled { signal },
                Outcome::TimedOut => ScriptOutcome::TimedOut,
                Outcome::Failed(reason) => ScriptOutcome::Refused { reason },
            };
            if self.proc_mut(role).is_some_and(|p| p.pid == pid) {
                self.send(role, &ToWorker::ScriptDone { request, outcome });
            }
        }
        let roles: Vec<Role> = self.slots.keys().copied().collect();
        for role in roles {
            let status = match self.proc_mut(role) {
                Some(p) => match p.child.try_wait() {
                    Ok(Some(st)) => st,
                    _ => continue,
                },
                None => continue,
            };
            let _ = self.poll_deregister(role);
            let Some(slot) = self.slots.get_mut(&role) else {
                continue;
            };
            let Some(p) = slot.proc.take() else { continue };
            pidfile::remove_worker(&self.opts, role);
            let how = describe_exit(status);
            let expected = p.shutting_down && (self.stop_deadline.is_some() || !slot.wanted);
            if expected {
                self.log.log(
                    Level::Info,
                    ident(None),
                    std::process::id(),
                    &format!("{role} worker (pid {}) {how}", p.pid),
                );
                continue;
            }
            if std::os::unix::process::ExitStatusExt::signal(&status) == Some(libc::SIGSYS) {
                slot.seccomp_violations += 1;
                self.log.log(
                    Level::Err,
                    ident(None),
                    std::process::id(),
                    &format!(
                        "seccomp violation: the {role} worker (pid {}) made a system call outside the {role} allow-list and was killed ({} so far)",
                        p.pid, slot.seccomp_violations
                    ),
                );
            }
            let why = p.killing.clone().unwrap_or_else(|| "died".into());
            let delay = slot.backoff.on_death_after(p.started, p.ready_at, now);
            let msg = if self.opts.dont_respawn {
                format!(
                    "{role} worker (pid {}) {why}: {how}; not restarting it (-R)",
                    p.pid
                )
            } else {
                slot.restart_at = Some(now + delay);
                format!(
                    "{role} worker (pid {}) {why}: {how}; restarting it{}",
                    p.pid,
                    if delay.is_zero() {
                        String::new()
                    } else {
                        format!(" in {} s", delay.as_secs())
                    }
                )
            };
            self.log
                .log(Level::Err, ident(None), std::process::id(), &msg);
        }
    }

    fn on_timers(&mut self, now: Instant) {
        let roles: Vec<Role> = self.slots.keys().copied().collect();
        for role in roles {
            let Some(slot) = self.slots.get(&role) else {
                continue;
            };
            if slot.restart_at.is_some_and(|t| now >= t) && self.stop_deadline.is_none() {
                if slot.wanted {
                    if let Some(s) = self.slots.get_mut(&role) {
                        s.restarts += 1;
                    }
                    self.spawn(role, now);
                } else if let Some(s) = self.slots.get_mut(&role) {
                    s.restart_at = None;
                }
                continue;
            }
            if let Some(p) = self.slots.get_mut(&role).and_then(|s| s.proc.as_mut()) {
                if p.kill_at.is_some_and(|t| now >= t) {
                    p.kill_at = None;
                    let _ = p.child.kill();
                }
            }
            let Some(slot) = self.slots.get(&role) else {
                continue;
            };
            let hung = slot.proc.as_ref().is_some_and(|p| {
                p.killing.is_none() && p.kill_at.is_none() && p.watchdog.is_hung(now)
            });
            if hung {
                let limit = slot
                    .proc
                    .as_ref()
                    .map_or(Duration::ZERO, |p| p.watchdog.limit());
                self.kill_worker(
                    role,
                    &format!(
                        "sent nothing for {} ms (at least {} heartbeat intervals): hung",
                        limit.as_millis(),
                        Watchdog::MISSED
                    ),
                );
            }
        }
        let due: Vec<usize> = (0..self.dumps.len())
            .filter(|&i| now >= self.dumps[i].deadline)
            .collect();
        for i in due.into_iter().rev() {
            let d = self.dumps.remove(i);
            self.write_dump(d);
        }
        if let Err(e) = self.notify.on_timer(now) {
            self.say(
                Level::Warning,
                &format!("systemd watchdog notification failed: {e}"),
            );
        }
    }

    /// `READY=1` once every worker the configuration wants runs and has
    /// acknowledged the current configuration generation (once per
    /// generation: at start-up and after each reload).
    fn check_ready(&mut self) {
        let generation = self.state.generation;
        if self.ready_sent == Some(generation) || self.stop_deadline.is_some() {
            return;
        }
        let all = self.slots.values().filter(|s| s.wanted).all(|s| {
            s.proc
                .as_ref()
                .is_some_and(|p| p.killing.is_none() && p.ready_generation == Some(generation))
        });
        if !all {
            return;
        }
        self.ready_sent = Some(generation);
        let n = self.slots.values().filter(|s| s.wanted).count();
        let status = format!("{n} workers running, configuration generation {generation}");
        if let Err(e) = self.notify.ready(&status) {
            self.say(Level::Warning, &format!("cannot notify systemd: {e}"));
        }
        // The configuration is loaded and handed out: what that took is
        // free now; give it back rather than keep the peak resident.
        crate::sys::release_free_memory();
    }

    // ------------------------------------------------------------ signals

    fn on_signals(&mut self, now: Instant) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for sig in pending {
            match sig {
                SIGCHLD => {} // reaped after the event batch
                SIGHUP => {
                    let _ = self.reload(now);
                }
                SIGTERM | SIGINT => self.stop(now),
                SIGUSR1 => self.start_dump(DumpKind::Data, now, None),
                SIGUSR2 => self.start_dump(DumpKind::Stats, now, None),
                s if s == crate::dump::sigjson() => {
                    let _ = self.write_json_dump();
                }
                _ => {}
            }
        }
    }

    fn stop(&mut self, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        self.say(Level::Info, "Stopping");
        if let Err(e) = self.notify.stopping() {
            self.say(Level::Warning, &format!("cannot notify systemd: {e}"));
        }
        self.stop_deadline = Some(now + CHILD_WAIT);
        if !self.opts.vrrp_only && !self.opts.dont_release_ipvs {
            self.lvs_alerts.stop(&self.state.config, &self.state.health);
            self.send_vrrp_alerts();
        }
        let roles: Vec<Role> = self.slots.keys().copied().collect();
        for role in roles {
            if let Some(s) = self.slots.get_mut(&role) {
                s.restart_at = None;
            }
            if let Some(p) = self.proc_mut(role) {
                p.shutting_down = true;
            }
            self.send(role, &ToWorker::Shutdown);
        }
    }

    /// SIGHUP: read the configuration again. If it has errors, nothing
    /// changes: the running configuration stays and the errors are logged
    /// (and returned). `Ok` is the new configuration generation.
    fn reload(&mut self, now: Instant) -> Result<u64, String> {
        if self.stop_deadline.is_some() {
            return Err("stopping".into());
        }
        self.say(Level::Info, "Reloading");
        if let Err(e) = self.notify.reloading() {
            self.say(Level::Warning, &format!("cannot notify systemd: {e}"));
        }
        let loaded = crate::load_config(&self.opts);
        for d in &loaded.diagnostics {
            let line = match &d.loc {
                Some(_) => d.to_string(),
                None => format!("{}: {d}", loaded.main_file.display()),
            };
            self.say(crate::diag_level(d.severity), &line);
        }
        if loaded.has_errors() {
            self.say(
                Level::Err,
                &format!(
                    "Reload of {} failed: configuration has errors; keeping the running configuration",
                    loaded.main_file.display()
                ),
            );
            // Still running the old configuration: ready again.
            self.ready_sent = None;
            self.check_ready();
            let errors: Vec<String> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.severity == config::Severity::Error)
                .map(|d| match &d.loc {
                    Some(_) => d.to_string(),
                    None => format!("{}: {d}", loaded.main_file.display()),
                })
                .collect();
            return Err(format!(
                "configuration has errors; keeping the running configuration (generation {}):\n{}",
                self.state.generation,
                errors.join("\n")
            ));
        }
        let mut cfg = loaded.config;
        for (level, msg) in crate::alerts::resolve(&mut cfg.global) {
            self.say(level, &msg);
        }
        if let Some(msg) = cfg.clear_missing_sync_instance()
            && !self.opts.check_only
        {
            self.say(Level::Info, &msg);
        }
        let mut wanted = wanted_roles(&self.opts, &cfg);
        if self.metrics.is_some() {
            wanted.push(Role::Metrics);
        }
        let now_addr = self.opts.metrics_listen.or(cfg.global.metrics_listen);
        if now_addr != self.metrics.as_ref().map(|(a, _)| *a) && self.opts.metrics_listen.is_none()
        {
            self.say(
                Level::Warning,
                "metrics_listen changed: the metrics address is set at start; restart keepalived-rs to apply",
            );
        }
        let old = std::mem::replace(&mut self.scripts, script_table::ScriptTable::build(&cfg));
        self.old_scripts = Some((self.state.generation, old));
        if let Some(script) = self.scripts.root_script().filter(|_| self.caps_limited) {
            self.say(
                Level::Warning,
                &format!(
                    "script {script} runs as root but the capabilities dropped at start cannot come back: it runs with {}; restart keepalived-rs to give it full root",
                    crate::privileges::PARENT_CAPS.map(|c| c.name()).join(", ")
                ),
            );
        }
        self.heartbeat = script_table::heartbeat_interval(&cfg);
        let old = (self.state.config.clone(), self.state.health.clone());
        self.state.reload(cfg);
        self.watch_addresses();
        if !self.opts.vrrp_only {
            let st = &self.state;
            self.lvs_alerts
                .reload(&old.0, &old.1, &st.config, &st.health);
        }
        let generation = self.state.generation;
        let roles: Vec<Role> = self.slots.keys().copied().collect();
        for role in roles {
            let want = wanted.contains(&role);
            let (running, was_wanted) = match self.slots.get_mut(&role) {
                Some(s) => {
                    let was = s.wanted;
                    s.wanted = want;
                    (s.proc.as_ref().is_some_and(|p| p.killing.is_none()), was)
                }
                None => continue,
            };
            match (running, want) {
                (true, true) => {
                    let reload = Reload {
                        generation,
                        slice: self.slice_for(role),
                        scripts: self.scripts.entries_for(role),
                    };
                    // A running worker keeps the heartbeat interval of its
                    // Init; new intervals apply to workers started later.
                    if let Some(p) = self.proc_mut(role) {
                        p.watchdog.seen(now);
                    }
                    self.send(role, &ToWorker::Reload(reload));
                }
                (true, false) => {
                    if let Some(p) = self.proc_mut(role) {
                        p.shutting_down = true;
                    }
                    self.send(role, &ToWorker::Shutdown);
                }
                (false, true)
                    if !was_wanted
                        || self
                            .slots
                            .get(&role)
                            .is_some_and(|s| s.restart_at.is_none()) =>
                {
                    self.spawn(role, now);
                }
                _ => {}
            }
        }
        self.say(
            Level::Info,
            &format!("Reload done, configuration generation {generation}"),
        );
        self.check_ready();
        self.send_vrrp_alerts();
        Ok(generation)
    }

    // ------------------------------------------------------------ dumps

    fn start_dump(&mut self, kind: DumpKind, now: Instant, client: Option<Token>) {
        let roles: Vec<Role> = self
            .slots
            .values()
            .filter(|s| {
                s.proc
                    .as_ref()
                    .is_some_and(|p| p.greeted && p.killing.is_none())
            })
            .map(|s| s.role)
            .collect();
        for r in &roles {
            self.send(*r, &ToWorker::DumpRequest { kind });
        }
        self.dumps.push(PendingDump {
            kind,
            deadline: now + DUMP_WAIT,
            waiting: roles,
            parts: BTreeMap::new(),
            clients: client.into_iter().collect(),
        });
        if self.dumps.last().is_some_and(|d| d.waiting.is_empty()) {
            if let Some(d) = self.dumps.pop() {
                self.write_dump(d);
            }
        }
    }

    fn on_dump_part(&mut self, role: Role, kind: DumpKind, text: String) {
        let Some(i) = self
            .dumps
            .iter()
            .position(|d| d.kind == kind && d.waiting.contains(&role))
        else {
            return;
        };
        let d = &mut self.dumps[i];
        d.waiting.retain(|r| *r != role);
        d.parts.insert(role, text);
        if d.waiting.is_empty() {
            let d = self.dumps.remove(i);
            self.write_dump(d);
        }
    }

    fn write_dump(&mut self, d: PendingDump) {
        let parent_part = self.state.dump_text(d.kind, &self.worker_rows());
        let res = crate::dump::write(d.kind, &parent_part, &d.parts, &d.waiting);
        let reply = match &res {
            Ok(files) => {
                let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
                self.say(
                    Level::Info,
                    &format!("Dump written to {}", paths.join(", ")),
                );
                dump_reply(files)
            }
            Err(e) => {
                self.say(Level::Err, &format!("Dump failed: {e}"));
                control::error_reply(&format!("dump failed: {e}"))
            }
        };
        if let Some(ctl) = self.control.as_mut() {
            for t in d.clients {
                ctl.complete(self.poll.registry(), t, reply.clone());
            }
        }
    }

    /// SIGJSON: /tmp/keepalived.json from the parent's state.
    fn write_json_dump(&mut self) -> String {
        match crate::dump::write_json(&self.state) {
            Ok(Some(file)) => {
                self.say(Level::Info, &format!("JSON dump written to {}", file.0));
                dump_reply(&[file])
            }
            Ok(None) => control::error_reply("no VRRP instance: no JSON dump (as keepalived)"),
            Err(e) => {
                self.say(Level::Err, &format!("JSON dump failed: {e}"));
                control::error_reply(&format!("JSON dump failed: {e}"))
            }
        }
    }

    // ------------------------------------------------------------ control

    fn worker_rows(&self) -> Vec<crate::state::WorkerRow> {
        self.slots
            .values()
            .filter(|s| s.wanted || s.proc.is_some())
            .map(|s| crate::state::WorkerRow {
                role: s.role,
                pid: s.proc.as_ref().map(|p| p.pid),
                restarts: s.restarts,
                ready: s.proc.as_ref().and_then(|p| p.ready_generation).is_some(),
                seccomp_violations: s.seccomp_violations,
            })
            .collect()
    }

    fn on_control(&mut self, token: Token, now: Instant) {
        let Some(mut ctl) = self.control.take() else {
            return;
        };
        let mut actions = Vec::new();
        let rows = self.worker_rows();
        let state = &self.state;
        #[cfg(feature = "test-messages")]
        let probes = &self.probes;
        ctl.on_event(self.poll.registry(), token, now, &mut |t, req: &str| {
            let mut words = req.split_whitespace();
            match words.next().unwrap_or("") {
                #[cfg(feature = "test-messages")]
                "probe" => match crate::probe::parse(words) {
                    Ok((role, action)) => {
                        let reply = serde_json::json!({"probe": "sent", "role": role.as_str(), "action": format!("{action:?}")});
                        actions.push((t, Deferred::Probe(role, action)));
                        Reply::Now(reply.to_string())
                    }
                    Err(e) => Reply::Now(control::error_reply(&e)),
                },
                #[cfg(feature = "test-messages")]
                "probes" => Reply::Now(serde_json::Value::Array(probes.clone()).to_string()),
                "status" => Reply::Now(state.status_json(&rows).to_string()),
                "reload" => {
                    actions.push((t, Deferred::Reload));
                    Reply::Later
                }
                "dump" => {
                    actions.push((t, Deferred::Dump(DumpKind::Data)));
                    Reply::Later
                }
                "stats" => {
                    actions.push((t, Deferred::Dump(DumpKind::Stats)));
                    Reply::Later
                }
                "json" => {
                    actions.push((t, Deferred::Json));
                    Reply::Later
                }
                other => Reply::Now(control::error_reply(&format!(
                    "unknown request '{other}' (status, reload, dump, stats, json)"
                ))),
            }
        });
        self.control = Some(ctl);
        for (t, a) in actions {
            let reply = match a {
                Deferred::Reload => Some(match self.reload(now) {
                    Ok(generation) => {
                        serde_json::json!({"reload": "done", "generation": generation}).to_string()
                    }
                    Err(e) => control::error_reply(&format!("reload failed: {e}")),
                }),
                Deferred::Json => Some(self.write_json_dump()),
                Deferred::Dump(k) => {
                    self.start_dump(k, now, Some(t));
                    None
                }
                #[cfg(feature = "test-messages")]
                Deferred::Probe(role, action) => {
                    self.send(role, &ToWorker::TestProbe { action });
                    None
                }
            };
            if let (Some(reply), Some(ctl)) = (reply, self.control.as_mut()) {
                ctl.complete(self.poll.registry(), t, reply);
            }
        }
    }
}

/// What a control request waits for before its reply.
enum Deferred {
    Reload,
    Dump(DumpKind),
    Json,
    #[cfg(feature = "test-messages")]
    Probe(Role, ipc::ProbeAction),
}

/// The reply to `ctl dump`/`stats`/`json`: each file written and its text.
fn dump_reply(files: &[(String, String)]) -> String {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(p, t)| serde_json::json!({"path": p, "text": t}))
        .collect();
    serde_json::json!({ "files": files }).to_string()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for s in self.slots.values_mut() {
            if let Some(p) = s.proc.as_mut() {
                let _ = p.child.kill();
                let _ = p.child.wait();
            }
        }
        for role in Role::ALL {
            pidfile::remove_worker(&self.opts, role);
        }
    }
}

/// The files the check worker's FILE_CHECKs read: its Landlock rules grant
/// their folders, and are set before it reads its configuration. (A reload
/// that adds a FILE_CHECK on a new folder takes effect when the worker is
/// next started.)
pub fn file_check_paths(cfg: &config::model::Config) -> Vec<String> {
    let mut v: Vec<String> = cfg
        .lvs
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.file_checks)
        .map(|f| f.path.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Start `exe --worker=ROLE` with its end of a new socketpair at fd 3, an
/// empty environment, stdin on /dev/null and in its own process group (so
/// a terminal's ^C reaches only the parent, which stops workers in order).
fn spawn_worker(
    exe: &std::path::Path,
    role: Role,
    detail: bool,
    file_check_paths: &[String],
    listen: Option<&OwnedFd>,
) -> io::Result<(Child, UnixStream)> {
    let (ours, theirs) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    let theirs = OwnedFd::from(theirs);
    let mut cmd = Command::new(exe);
    cmd.arg0(format!("keepalived-rs: {role}"))
        .arg(format!("--worker={role}"))
        .env_clear()
        .stdin(Stdio::null())
        .process_group(0);
    for f in file_check_paths {
        cmd.arg(format!("--file-check-path={f}"));
    }
    if detail {
        cmd.arg("--log-detail");
    }
    sys::pass_ipc_fd(&mut cmd, &theirs);
    if let Some(fd) = listen {
        sys::pass_listen_fd(&mut cmd, fd)?;
    }
    let child = cmd.spawn()?;
    drop(theirs);
    Ok((child, ours))
}

/// `exited with status 3`, `killed by signal 9 (SIGKILL)`, with a hint for
/// SIGSYS (a seccomp violation).
pub fn describe_exit(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = st.code() {
        return format!("exited with status {code}");
    }
    match st.signal() {
        Some(sig) => {
            let name = signal_name(sig);
            if sig == libc::SIGSYS {
                format!(
                    "killed by signal {sig} ({name}: a system call outside its seccomp allow-list)"
                )
            } else {
                format!("killed by signal {sig} ({name})")
            }
        }
        None => "ended".into(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSYS => "SIGSYS",
        _ => "signal",
    }
}

impl State {
    /// What a (re)started worker of `role` resumes from.
    pub fn restored(&self, role: Role) -> Restored {
        match role {
            Role::Vrrp => Restored::Vrrp(self.instance_restore()),
            Role::Check => Restored::Check(self.health.clone()),
            Role::Ipvs => Restored::Ipvs(self.health.clone()),
            Role::Metrics => Restored::Metrics,
        }
    }
}
