//! The health-check worker process.
//!
//! Runs every real server's checkers (TCP_CHECK, HTTP_GET, SSL_GET,
//! SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK) on one mio
//! event loop and reports health *changes* to the parent, plus every 5 s a
//! summary of the checkers' probe figures ([`stats`]: last probe's
//! duration, probes, failures), never a message per probe. MISC_CHECK scripts are run by
//! the parent's script runner at this worker's request, by script id.
//!
//! - [`sched`]: the sans-IO core, keepalived's checker state machine
//!   (delay_loop, warmup, retry/delay_before_retry, alpha, all checkers up,
//!   misc_dynamic weights) with an injected clock;
//! - [`proto`]: what the checkers send and expect (HTTP with MD5 digests,
//!   SMTP, DNS, UDP, ICMP echo), without sockets;
//! - [`engine`]: the probes on non-blocking sockets with deadlines, TLS
//!   through rustls on the same loop, FILE_CHECK's files polled every
//!   second (the sandbox has no inotify);
//! - [`filecheck`]: what a tracked file's number means;
//! - [`alert`]: keepalived's SMTP alerts for the checkers' transitions and,
//!   at the parent's word, for VRRP transitions;
//! - [`stats`]: each checker's last probe duration and counts;
//! - this module: the link to the parent (Init, Reload, ScriptDone,
//!   VsAddress, dumps).
//!
//! Privileges: none. It runs as an unprivileged user (`keepalived_script`
//! when it exists, else `nobody`) with no capabilities, no_new_privs,
//! seccomp and landlock, and never execs anything.

pub mod alert;
pub mod engine;
pub mod filecheck;
pub mod idmap;
pub mod net;
pub mod proto;
pub mod sched;
pub mod stats;
pub mod tls;

use engine::{Engine, Out};
use ipc::link::{Flow, LINK_TOKEN, Link, LinkError, Worker, run_loop};
use ipc::{DumpKind, FromWorker, LogLevel, Role, Slice, ToWorker};
use mio::Registry;
use std::fmt::Write;
use std::io;
use std::os::unix::net::UnixStream;
use std::time::Instant;

/// The check worker's state.
pub struct CheckWorker {
    generation: u64,
    scripts: usize,
    virtual_servers: usize,
    engine: Engine,
    mailer: alert::Mailer,
    /// When the checkers' probe figures go to the parent next.
    stats_due: Instant,
    /// Stopping: the checks are over; the worker exits once its mails are
    /// out (the `omega` shutdown alerts), at the latest at this instant.
    stopping: Option<Instant>,
}

/// How long a stopping worker waits for its last mails (the parent kills
/// its workers after 5 s).
pub const STOP_MAIL_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Send the engine's output to the parent.
fn send_all(link: &mut Link, outs: Vec<Out>) -> Result<(), LinkError> {
    for o in outs {
        match o {
            Out::Health(h) => link.send(&FromWorker::Health(h))?,
            Out::Log(level, message) => link.log(level, message)?,
            Out::RunScript { request, id } => link.send(&FromWorker::RunScript { request, id })?,
        }
    }
    Ok(())
}

/// Start the checkers (each one's "Activating"/"Deactivating" line sent
/// as it is made).
fn start_checkers(
    engine: &mut Engine,
    link: &mut Link,
    present: &[std::net::IpAddr],
) -> Result<(), LinkError> {
    let mut res = Ok(());
    engine.start_checkers(present, |o| {
        if res.is_ok()
            && let Out::Log(level, message) = o
        {
            res = link.log(level, message);
        }
    });
    res
}

/// A random fraction for the checkers' warmup.
fn jitter(seed: u64) -> sched::Jitter {
    let mut x = seed | 1;
    Box::new(move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// Log lines from the mailer.
fn log_all(link: &mut Link, logs: Vec<(LogLevel, String)>) -> Result<(), LinkError> {
    for (level, message) in logs {
        link.log(level, message)?;
    }
    Ok(())
}

impl CheckWorker {
    /// The engine's output to the parent, then the mails for the checkers
    /// that changed state.
    fn emit(&mut self, link: &mut Link, outs: Vec<Out>, now: Instant) -> Result<(), LinkError> {
        send_all(link, outs)?;
        for c in self.engine.take_checker_changes() {
            let logs = self.mailer.checker(&c, now);
            log_all(link, logs)?;
        }
        Ok(())
    }

    /// Stopping: exit once the mails are out or the wait is over.
    fn stop_flow(&self, now: Instant) -> Flow {
        match self.stopping {
            Some(end) if self.mailer.idle() || now >= end => Flow::Exit(0),
            _ => Flow::Continue,
        }
    }

    fn dump(&self, _kind: DumpKind) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "------< check worker (pid {}) >------",
            std::process::id()
        );
        let _ = writeln!(s, " Configuration generation = {}", self.generation);
        let _ = writeln!(s, " Scripts = {}", self.scripts);
        let _ = writeln!(s, " Virtual servers = {}", self.virtual_servers);
        for (k, h) in self.engine.health() {
            let _ = writeln!(
                s,
                "   Real server {}:{} up = {}, weight = {}",
                k.addr, k.port, h.up, h.weight
            );
        }
        s.push_str(&self.engine.dump(Instant::now()));
        s.push_str(&self.mailer.dump());
        s
    }
}

impl Worker for CheckWorker {
    fn register(&mut self, registry: &Registry) -> io::Result<()> {
        self.engine.register(registry)?;
        self.mailer.register(registry)
    }

    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
        match msg {
            ToWorker::Reload(r) => match r.slice {
                Slice::Check(s) => {
                    let now = Instant::now();
                    let s = *s;
                    self.engine.set_client_tls(s.client_tls);
                    let was_up = self.engine.up_real_servers();
                    self.virtual_servers = s.lvs.virtual_servers.len();
                    let outs = self.engine.reload(s.lvs, &r.scripts, now);
                    let removed = self.engine.removed(was_up);
                    let logs = self.mailer.reload(&s.global, &removed, now);
                    log_all(link, logs)?;
                    self.scripts = r.scripts.len();
                    self.generation = r.generation;
                    self.emit(link, outs, now)?;
                    start_checkers(&mut self.engine, link, &s.present_addresses)?;
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
                if self.mailer.idle() {
                    return Ok(Flow::Exit(0));
                }
                self.stopping = Some(Instant::now() + STOP_MAIL_WAIT);
            }
            ToWorker::DumpRequest { kind } => link.send(&FromWorker::Dump {
                kind,
                text: self.dump(kind),
            })?,
            ToWorker::ScriptDone { request, outcome } => {
                let now = Instant::now();
                let outs = self.engine.script_done(request, outcome, now);
                self.emit(link, outs, now)?;
            }
            ToWorker::VrrpAlert { group, name, state } => {
                let logs = self.mailer.vrrp(group, &name, state, Instant::now());
                log_all(link, logs)?;
            }
            ToWorker::VsAddress { addr, present } => {
                let now = Instant::now();
                let outs = self.engine.vs_address(addr, present, now);
                self.emit(link, outs, now)?;
            }
            ToWorker::LvsAlert(a) => {
                let engine = &self.engine;
                let logs = self.mailer.lvs(&a, |k| engine.rs_alerts(k), Instant::now());
                log_all(link, logs)?;
            }
            other => {
                return Err(LinkError::Protocol(format!(
                    "unexpected {} for the check worker",
                    other.name()
                )));
            }
        }
        Ok(Flow::Continue)
    }

    fn on_event(
        &mut self,
        link: &mut Link,
        _registry: &Registry,
        event: &mio::event::Event,
    ) -> Result<Flow, LinkError> {
        debug_assert_ne!(event.token(), LINK_TOKEN);
        let now = Instant::now();
        if alert::Mailer::owns(event.token()) {
            let logs = self.mailer.on_event(event.token(), now);
            log_all(link, logs)?;
            return Ok(self.stop_flow(now));
        }
        if self.stopping.is_some() {
            return Ok(Flow::Continue);
        }
        let outs = self
            .engine
            .on_event(event.token(), event.is_writable(), now);
        self.emit(link, outs, now)?;
        Ok(Flow::Continue)
    }

    fn on_timer(&mut self, link: &mut Link, now: Instant) -> Result<Flow, LinkError> {
        if self.stopping.is_some() {
            let logs = self.mailer.on_timer(now);
            log_all(link, logs)?;
            return Ok(self.stop_flow(now));
        }
        let outs = self.engine.on_timer(now);
        self.emit(link, outs, now)?;
        let logs = self.mailer.on_timer(now);
        log_all(link, logs)?;
        if self.stats_due <= now {
            self.stats_due = now + ipc::CHECK_STATS_INTERVAL;
            if let Some(stats) = self.engine.take_stats() {
                link.send(&FromWorker::CheckStats(stats))?;
            }
        }
        Ok(Flow::Continue)
    }

    fn next_deadline(&self) -> Option<Instant> {
        if let Some(end) = self.stopping {
            return Some(self.mailer.next_deadline().map_or(end, |d| d.min(end)));
        }
        [
            self.engine.next_deadline(),
            self.mailer.next_deadline(),
            Some(self.stats_due),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// The worker's main: handshake, then the loop. Returns the exit code.
/// `confinement` is the sandbox's report, logged through the parent.
pub fn run(stream: UnixStream, confinement: &str) -> i32 {
    let Some((mut link, init)) = ipc::link::start(stream, Role::Check, confinement) else {
        return 1;
    };
    let (Slice::Check(slice), ipc::Restored::Check(health)) = (init.slice, init.restored) else {
        return 1;
    };
    let seed = engine::random_seed();
    let slice = *slice;
    let virtual_servers = slice.lvs.virtual_servers.len();
    let mailer = alert::Mailer::new(&slice.global);
    // The engine takes the configuration's checkers and frees the rest of
    // it as it goes (with thousands of real servers, a copy alongside the
    // configuration was the worker's peak memory).
    let (mut engine, first) = Engine::new(
        slice.lvs,
        &init.scripts,
        &health,
        Instant::now(),
        jitter(seed),
        seed.rotate_left(17),
    );
    engine.set_client_tls(slice.client_tls);
    drop(health);
    let mut w = CheckWorker {
        generation: init.generation,
        scripts: init.scripts.len(),
        virtual_servers,
        engine,
        mailer,
        stats_due: Instant::now() + ipc::CHECK_STATS_INTERVAL,
        stopping: None,
    };
    let n = w.virtual_servers;
    let generation = w.generation;
    let started = (|| {
        link.log(
            LogLevel::Info,
            format!("check worker started with {n} virtual server(s)"),
        )?;
        w.emit(&mut link, first, Instant::now())?;
        start_checkers(&mut w.engine, &mut link, &slice.present_addresses)?;
        link.send(&FromWorker::Ready { generation })
    })();
    if started.is_err() {
        return 1;
    }
    run_loop(link, &mut w)
}
