//! The I/O side: every probe of every checker on the worker's one mio
//! loop. A probe is a non-blocking socket registered under its own token
//! with a deadline in an ordered set (the timer heap); it advances on
//! readiness until it has a verdict, which goes to the [`Core`]. MISC_CHECK
//! probes are script runs the parent does on request.
//!
//! Timeouts are keepalived's: `connect_timeout` for the connection, and
//! again for each later step that waits for the server (it is re-armed
//! whenever data arrives).

use crate::filecheck;
use crate::idmap::IdMap;
use crate::net::{self, Warnings};
use crate::proto::{self, HttpResponse, SmtpReply, UrlMatcher};
use crate::sched::{self, CheckerId, Core, FileValues, Jitter, Output, ProbeResult};
use crate::tls;
use config::model::lvs::{Checker, CheckerKind, Connection, LvsConfig, UdpCheck, Url, UrlRegex};
use ipc::{
    Health, HealthChange, LogLevel, RealServerKey, ScriptEntry, ScriptId, ScriptOutcome,
    ScriptPurpose,
};
use mio::net::{TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};
use rustls::{ClientConfig, ClientConnection};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the engine tells the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Health(HealthChange),
    Log(LogLevel, String),
    RunScript { request: u64, id: ScriptId },
}

/// At most this many probes start per turn of the event loop.
const MAX_STARTS_PER_TURN: usize = 256;

/// The first token the engine hands out (the link to the parent has 0).
const FIRST_TOKEN: usize = 1;

enum Step {
    Pending,
    Done(ProbeResult),
}

fn failed(why: impl Into<String>) -> Step {
    Step::Done(ProbeResult::Failure(why.into()))
}

enum App {
    /// TCP_CHECK: connected is success.
    Connect,
    Http(Box<Http>),
    Smtp(Smtp),
}

struct Http {
    /// The checker's settings (shared with the core) and which url.
    spec: Arc<Checker>,
    url: usize,
    request: Vec<u8>,
    sent: usize,
    /// Boxed: a rustls connection is about 1 KiB, which a plain HTTP_GET
    /// probe should not carry.
    tls: Option<Box<ClientConnection>>,
    /// TLS: the request is in rustls's buffer.
    queued: bool,
    response: HttpResponse,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SmtpStep {
    Banner,
    Helo,
    Quit,
}

struct Smtp {
    step: SmtpStep,
    helo: String,
    out: Vec<u8>,
    sent: usize,
    reply: SmtpReply,
}

enum Dgram {
    Udp(UdpCheck),
    Dns { id: u16 },
    Ping { seq: u16, v6: bool },
}

enum Io {
    Tcp {
        sock: TcpStream,
        connected: bool,
        app: App,
    },
    Dgram {
        sock: UdpSocket,
        what: Dgram,
    },
}

struct Probe {
    checker: CheckerId,
    deadline: Instant,
    timeout: Duration,
    io: Io,
}

/// The check worker's checks.
pub struct Engine {
    core: Core,
    registry: Option<Registry>,
    /// Boxed: the table's slots stay small (with every checker in flight
    /// at once, as at start-up, the table has tens of thousands of slots;
    /// a probe's own memory exists only while it runs).
    probes: IdMap<usize, Box<Probe>>,
    /// Probe deadlines, soonest first.
    deadlines: BTreeSet<(Instant, usize)>,
    next_token: usize,
    /// MISC_CHECK scripts: (real server, index) -> the parent's id.
    misc_ids: HashMap<(RealServerKey, u32), ScriptId>,
    /// Scripts running for us: request -> checker.
    misc_pending: IdMap<u64, CheckerId>,
    next_request: u64,
    tls: Option<Arc<ClientConfig>>,
    logged_once: HashSet<String>,
    rng: u64,
    /// When FILE_CHECK's files are read next (`None`: there are none).
    files_due: Option<Instant>,
    /// notify_up/notify_down scripts by (real server, up).
    notify_ids: HashMap<(RealServerKey, bool), ScriptId>,
    /// The up state as last reported of each real server that has a
    /// notify script (they run on a change); the others need no entry.
    rs_up: HashMap<RealServerKey, bool>,
    /// The `SSL` block's client certificate (from the parent).
    client_tls: Option<ipc::ClientTls>,
    /// Log lines from deep inside a probe's set-up, sent with the next
    /// batch.
    pending_logs: Vec<Out>,
    /// The urls' regexes, compiled (or why not), by pattern and options.
    regexes: HashMap<String, Result<Arc<UrlMatcher>, String>>,
    /// Each checker's last probe duration and counts.
    stats: crate::stats::ProbeStats,
    /// The one read buffer every probe reads into (they advance one at a
    /// time): nothing per checker or per probe.
    buf: Vec<u8>,
}

/// The size of [`Engine`]'s read buffer.
const READ_BUF: usize = 16 * 1024;

fn regex_key(r: &UrlRegex) -> String {
    format!("{}\0{}", r.pattern, r.options.join(" "))
}

/// Compile every url regex of `lvs` once; log the ones that cannot be.
fn compile_regexes(
    lvs: &LvsConfig,
    out: &mut Vec<Out>,
) -> HashMap<String, Result<Arc<UrlMatcher>, String>> {
    let mut map = HashMap::new();
    for vs in &lvs.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                let CheckerKind::Http(h) = &c.kind else {
                    continue;
                };
                for u in &h.urls {
                    let Some(r) = &u.regex else { continue };
                    map.entry(regex_key(r)).or_insert_with(|| {
                        let m = UrlMatcher::compile(r).map(Arc::new);
                        if let Err(e) = &m {
                            out.push(Out::Log(
                                LogLevel::Err,
                                format!(
                                    "{} url {} ({}): {e}; the url fails",
                                    c.kind.keyword(),
                                    u.path,
                                    u.loc
                                ),
                            ));
                        }
                        m
                    });
                }
            }
        }
    }
    map
}

/// How often FILE_CHECK's files are read (keepalived watches them with
/// inotify, which the sandbox does not allow).
pub const FILE_POLL: Duration = Duration::from_secs(1);

/// Read a tracked file as keepalived does: read-only, its first 127
/// bytes; missing, unreadable or empty is 0; `None` for a number out of
/// range. A FIFO or socket is not opened (it could block the loop; keepalived
/// reads it non-blocking and finds nothing): 0.
pub fn read_track_file(path: &str) -> Option<i64> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(m) if m.file_type().is_fifo() || m.file_type().is_socket() => return Some(0),
        Ok(_) => {}
        Err(_) => return Some(0),
    }
    let Ok(mut f) = std::fs::File::open(path) else {
        return Some(0);
    };
    let mut buf = [0u8; 127];
    match f.read(&mut buf) {
        Ok(n) if n > 0 => filecheck::parse_value(&buf[..n]),
        _ => Some(0),
    }
}

fn read_files<'a>(paths: impl IntoIterator<Item = &'a String>) -> FileValues {
    paths
        .into_iter()
        .map(|p| (p.clone(), read_track_file(p)))
        .collect()
}

fn misc_table(scripts: &[ScriptEntry]) -> HashMap<(RealServerKey, u32), ScriptId> {
    scripts
        .iter()
        .filter_map(|e| match &e.purpose {
            ScriptPurpose::MiscCheck { real_server, index } => {
                Some(((real_server.clone(), *index), e.id))
            }
            _ => None,
        })
        .collect()
}

/// notify_up/notify_down: (real server, up) -> the parent's id.
fn notify_table(scripts: &[ScriptEntry]) -> HashMap<(RealServerKey, bool), ScriptId> {
    scripts
        .iter()
        .filter_map(|e| match &e.purpose {
            ScriptPurpose::RealServerNotify { real_server, event } => Some((
                (real_server.clone(), matches!(event, ipc::UpDown::Up)),
                e.id,
            )),
            _ => None,
        })
        .collect()
}

/// A seed for the engine's small random numbers (DNS ids, ICMP sequence).
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x6b65_6570_616c_6976);
    h.finish() | 1
}

impl Engine {
    /// The engine for `lvs`, starting from the parent's `restored` health.
    /// The configuration's checkers move into the engine.
    pub fn new(
        lvs: LvsConfig,
        scripts: &[ScriptEntry],
        restored: &BTreeMap<RealServerKey, Health>,
        now: Instant,
        jitter: Jitter,
        seed: u64,
    ) -> (Engine, Vec<Out>) {
        let paths = sched::file_paths(&lvs);
        let files = read_files(&paths);
        let mut out = Vec::new();
        let regexes = compile_regexes(&lvs, &mut out);
        let (core, first) = Core::from_config(lvs, restored, now, jitter, &files);
        let mut e = Engine {
            core,
            registry: None,
            probes: IdMap::default(),
            deadlines: BTreeSet::new(),
            next_token: FIRST_TOKEN,
            misc_ids: misc_table(scripts),
            misc_pending: IdMap::default(),
            next_request: 1,
            tls: None,
            logged_once: HashSet::new(),
            rng: seed | 1,
            files_due: (!paths.is_empty()).then(|| now + FILE_POLL),
            regexes,
            client_tls: None,
            pending_logs: Vec::new(),
            notify_ids: notify_table(scripts),
            rs_up: HashMap::new(),
            stats: Default::default(),
            buf: vec![0; READ_BUF],
        };
        e.absorb(first, now, &mut out);
        // The starting state (configured or restored) is no transition.
        e.sync_rs_up();
        (e, out)
    }

    /// SSL_GET's client certificate (the `SSL` block), from the parent's
    /// `Init` or `Reload`; TLS settings are rebuilt for the next probes.
    pub fn set_client_tls(&mut self, client: Option<ipc::ClientTls>) {
        if self.client_tls != client {
            self.client_tls = client;
            self.tls = None;
        }
    }

    /// Keep a handle on the loop's registry (probes are registered as
    /// they start, also from timers).
    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        self.registry = Some(registry.try_clone()?);
        Ok(())
    }

    /// A new configuration and script table (the configuration's checkers
    /// move into the engine).
    pub fn reload(&mut self, lvs: LvsConfig, scripts: &[ScriptEntry], now: Instant) -> Vec<Out> {
        self.misc_ids = misc_table(scripts);
        self.notify_ids = notify_table(scripts);
        // The state before the reload of the real servers that now have a
        // notify script: the reload's own changes run them.
        self.sync_rs_up();
        let paths = sched::file_paths(&lvs);
        let mut out = Vec::new();
        self.regexes = compile_regexes(&lvs, &mut out);
        let res = self.core.reload_from(lvs, now, &read_files(&paths));
        self.files_due = (!paths.is_empty()).then(|| now + FILE_POLL);
        // Probes of checkers the reload removed or replaced.
        let gone: Vec<usize> = self
            .probes
            .iter()
            .filter(|(_, p)| !self.core.is_running(p.checker))
            .map(|(t, _)| *t)
            .collect();
        for t in gone {
            self.drop_probe(t);
        }
        self.absorb(res, now, &mut out);
        self.sync_rs_up();
        out
    }

    /// Start the checkers (keepalived's `register_checkers_thread`), after
    /// [`Engine::new`] and each [`Engine::reload`]: `present` are the
    /// `ha_suspend` virtual server addresses on the machine (see
    /// [`Core::start_checkers`]). Its only output, a log line per checker,
    /// goes to `emit` line by line.
    pub fn start_checkers(&mut self, present: &[std::net::IpAddr], mut emit: impl FnMut(Out)) {
        self.core.start_checkers_with(present, |o| {
            if let Output::Log(level, message) = o {
                emit(Out::Log(level, message));
            }
        });
    }

    /// An `ha_suspend` virtual server address came or went (the parent's
    /// `VsAddress`; see [`Core::vs_address`]).
    pub fn vs_address(&mut self, addr: std::net::IpAddr, present: bool, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        let res = self.core.vs_address(addr, present);
        self.absorb(res, now, &mut out);
        out
    }

    /// Know the state of every real server with a notify script (new ones
    /// from a reload; gone ones, and ones whose scripts are gone,
    /// forgotten).
    fn sync_rs_up(&mut self) {
        let notify = &self.notify_ids;
        let has_notify = |k: &RealServerKey| {
            notify.contains_key(&(k.clone(), true)) || notify.contains_key(&(k.clone(), false))
        };
        let now: HashMap<RealServerKey, bool> = self
            .core
            .health()
            .filter(|(k, _)| has_notify(k))
            .map(|(k, h)| (k.clone(), h.up))
            .collect();
        self.rs_up.retain(|k, _| now.contains_key(k));
        for (k, up) in now {
            self.rs_up.entry(k).or_insert(up);
        }
    }

    /// When [`Engine::on_timer`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.deadlines.first().map(|(t, _)| *t),
            self.core.next_deadline(),
            self.files_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Readiness of one of the engine's sockets (`writable`: the event
    /// says it is; a TCP connect has completed once it is writable without
    /// an error pending).
    pub fn on_event(&mut self, token: Token, writable: bool, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        let t = token.0;
        let Some(p) = self.probes.get_mut(&t) else {
            return out;
        };
        let (step, activity) = advance(p, writable, &mut self.buf);
        match step {
            Step::Done(r) => self.finish(t, r, now, &mut out),
            Step::Pending if activity => {
                let p = self.probes.get_mut(&t).expect("probe");
                self.deadlines.remove(&(p.deadline, t));
                p.deadline = now + p.timeout;
                self.deadlines.insert((p.deadline, t));
            }
            Step::Pending => {}
        }
        out
    }

    /// Expired probes, then the checks that are due, then FILE_CHECK's
    /// files when they are due.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        if self.files_due.is_some_and(|d| d <= now) {
            for path in self.core.file_paths() {
                let res = self.core.file_read(&path, read_track_file(&path));
                self.absorb(res, now, &mut out);
            }
            self.files_due = Some(now + FILE_POLL);
        }
        while let Some(&(d, t)) = self.deadlines.first() {
            if d > now {
                break;
            }
            let r = match self.probes.get(&t).map(|p| &p.io) {
                // UDP_CHECK without require_reply: no ICMP error in time is
                // success (keepalived's udp_socket_state).
                Some(Io::Dgram {
                    what: Dgram::Udp(u),
                    ..
                }) if !u.require_reply => ProbeResult::Success,
                Some(Io::Tcp {
                    connected: false, ..
                }) => ProbeResult::Failure("connection timeout".into()),
                Some(_) => ProbeResult::Failure("read timeout".into()),
                None => {
                    self.deadlines.pop_first();
                    continue;
                }
            };
            self.finish(t, r, now, &mut out);
        }
        // A probe that ends at once (and fast_recovery's immediate re-run)
        // can make more work due now; a few rounds, the rest next turn.
        // Each turn starts a bounded number of probes, so that with
        // thousands due at once (a start, a loaded machine) the loop still
        // handles the parent's link and its heartbeats between batches.
        let mut budget = MAX_STARTS_PER_TURN;
        for _ in 0..4 {
            let due = self.core.poll_max(now, budget);
            if due.is_empty() {
                break;
            }
            budget -= due.len();
            self.absorb(due, now, &mut out);
            if budget == 0 {
                break;
            }
        }
        out
    }

    /// The parent ran a MISC_CHECK script for us.
    pub fn script_done(&mut self, request: u64, outcome: ScriptOutcome, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        if let Some(id) = self.misc_pending.remove(&request) {
            let res = self.complete(id, ProbeResult::Script(outcome), now);
            self.absorb(res, now, &mut out);
        }
        out
    }

    /// The checkers' transitions since the last call, for SMTP alerts.
    pub fn take_checker_changes(&mut self) -> Vec<crate::alert::CheckerChange> {
        let taken = self.core.take_transitions();
        taken
            .into_iter()
            .filter_map(|t| {
                let c = self.core.checker(t.id)?;
                Some(crate::alert::CheckerChange {
                    rs: crate::alert::RsAlert::of(&c.rs),
                    kind: c.checker.kind.clone(),
                    up: t.up,
                    rs_was_up: t.rs_was_up,
                    rs_up: t.rs_up,
                    reason: t.reason,
                })
            })
            .collect()
    }

    /// Every real server's health as reported.
    pub fn health(&self) -> impl Iterator<Item = (&RealServerKey, Health)> {
        self.core.health()
    }

    /// The real servers that are up, with their names: taken before a
    /// reload, for [`Engine::removed`].
    pub fn up_real_servers(&self) -> Vec<(RealServerKey, crate::alert::RsAlert)> {
        self.core
            .real_servers()
            .filter(|r| r.reported.up)
            .map(|r| (r.key.clone(), crate::alert::RsAlert::of(&r)))
            .collect()
    }

    /// The real servers `keys` (`None` for one the configuration does not
    /// have).
    pub fn rs_alerts(&self, keys: &[RealServerKey]) -> Vec<Option<crate::alert::RsAlert>> {
        let all: HashMap<&RealServerKey, sched::RsRef<'_>> =
            self.core.real_servers().map(|r| (r.key, r)).collect();
        keys.iter()
            .map(|k| all.get(k).map(crate::alert::RsAlert::of))
            .collect()
    }

    /// Those of `before` (from [`Engine::up_real_servers`]) that the
    /// configuration no longer has.
    pub fn removed(
        &self,
        before: Vec<(RealServerKey, crate::alert::RsAlert)>,
    ) -> Vec<crate::alert::RsAlert> {
        let remaining: HashSet<&RealServerKey> = self.core.health().map(|(k, _)| k).collect();
        before
            .into_iter()
            .filter(|(k, _)| !remaining.contains(k))
            .map(|(_, a)| a)
            .collect()
    }

    /// The state of every checker, for dumps.
    pub fn dump(&self, now: Instant) -> String {
        let mut s = String::new();
        self.core.dump(now, &mut s);
        use std::fmt::Write as _;
        let _ = writeln!(
            s,
            " Probes in flight = {}, scripts running = {}",
            self.probes.len(),
            self.misc_pending.len()
        );
        s
    }

    fn absorb(&mut self, outputs: Vec<Output>, now: Instant, out: &mut Vec<Out>) {
        for o in outputs {
            match o {
                Output::Health(h) => {
                    // keepalived's notify_up/notify_down, on a change of
                    // state only (not of weight). Their outcome is not
                    // waited for.
                    let was = self
                        .rs_up
                        .get_mut(&h.real_server)
                        .map(|up| std::mem::replace(up, h.up));
                    if was.is_some_and(|w| w != h.up)
                        && let Some(&id) = self.notify_ids.get(&(h.real_server.clone(), h.up))
                    {
                        let request = self.next_request;
                        self.next_request += 1;
                        out.push(Out::Health(h));
                        out.push(Out::RunScript { request, id });
                    } else {
                        out.push(Out::Health(h));
                    }
                }
                Output::Log(l, m) => out.push(Out::Log(l, m)),
                Output::Start { id, url } => self.start(id, url, now, out),
            }
        }
        out.append(&mut self.pending_logs);
    }

    fn log_once(&mut self, key: String, level: LogLevel, msg: String, out: &mut Vec<Out>) {
        if self.logged_once.insert(key) {
            out.push(Out::Log(level, msg));
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Start one probe of checker `id`.
    fn start(&mut self, id: CheckerId, url: usize, now: Instant, out: &mut Vec<Out>) {
        let Some(c) = self.core.checker(id) else {
            return;
        };
        self.stats.begin(id, now);
        // The checker's settings are shared with the core (an Arc), not
        // copied for each probe.
        let spec = Arc::clone(c.checker);
        if let CheckerKind::Misc(_) = spec.kind {
            let key = (c.real_server.clone(), c.misc_index);
            match self.misc_ids.get(&key) {
                Some(&script) => {
                    let request = self.next_request;
                    self.next_request += 1;
                    self.misc_pending.insert(request, id);
                    out.push(Out::RunScript {
                        request,
                        id: script,
                    });
                }
                None => {
                    let r = ProbeResult::Script(ScriptOutcome::Refused {
                        reason: "no such script in the worker's table".into(),
                    });
                    let res = self.complete(id, r, now);
                    self.absorb(res, now, out);
                }
            }
            return;
        }
        let Some(conn) = spec.connection.as_ref() else {
            let res = self.complete(id, ProbeResult::Failure("no connection".into()), now);
            self.absorb(res, now, out);
            return;
        };
        let mut warn = Warnings::default();
        let io = match self.open(&spec, url, conn, &mut warn) {
            Ok(io) => io,
            Err(e) => {
                let name = self.checker_name(id);
                if matches!(spec.kind, CheckerKind::Ping)
                    && matches!(e.raw_os_error(), Some(1 | 13))
                {
                    self.log_once(
                        "ping_group_range".into(),
                        LogLevel::Err,
                        format!(
                            "PING_CHECK {name}: cannot open an ICMP datagram socket ({e}): \
                             net.ipv4.ping_group_range does not include the check worker's group; \
                             allow it (e.g. sysctl -w net.ipv4.ping_group_range=\"0 2147483647\") \
                             or PING_CHECKs fail"
                        ),
                        out,
                    );
                }
                let res =
                    self.complete(id, ProbeResult::Failure(format!("socket error: {e}")), now);
                self.absorb(res, now, out);
                return;
            }
        };
        if !warn.0.is_empty() {
            let name = self.checker_name(id);
            for w in warn.0 {
                self.log_once(
                    format!("{id}:{w}"),
                    LogLevel::Warning,
                    format!("{name}: {w}"),
                    out,
                );
            }
        }
        let token = self.next_token;
        self.next_token += 1;
        let mut probe = Probe {
            checker: id,
            deadline: now + conn.timeout,
            timeout: conn.timeout,
            io,
        };
        let registered = match (&self.registry, &mut probe.io) {
            (Some(reg), Io::Tcp { sock, .. }) => {
                reg.register(sock, Token(token), Interest::READABLE | Interest::WRITABLE)
            }
            (Some(reg), Io::Dgram { sock, .. }) => {
                reg.register(sock, Token(token), Interest::READABLE)
            }
            (None, _) => Err(io::Error::other("no event loop")),
        };
        if let Err(e) = registered {
            let res = self.complete(id, ProbeResult::Failure(format!("register: {e}")), now);
            self.absorb(res, now, out);
            return;
        }
        self.deadlines.insert((probe.deadline, token));
        self.probes.insert(token, Box::new(probe));
    }

    /// The socket (and first datagram) of a probe.
    fn open(
        &mut self,
        spec: &Arc<Checker>,
        url: usize,
        conn: &Connection,
        warn: &mut Warnings,
    ) -> io::Result<Io> {
        let tcp = |app: App, warn: &mut Warnings| -> io::Result<Io> {
            Ok(Io::Tcp {
                sock: net::tcp_connect(conn, warn)?,
                connected: false,
                app,
            })
        };
        match &spec.kind {
            CheckerKind::Tcp => tcp(App::Connect, warn),
            CheckerKind::Http(h) => {
                let url = if url < h.urls.len() { url } else { 0 };
                let u = h.urls.get(url).ok_or_else(|| io::Error::other("no url"))?;
                let tls = if h.ssl {
                    let cfg = match &self.tls {
                        Some(c) => c.clone(),
                        None => {
                            let c = match tls::client_config(self.client_tls.as_ref()) {
                                Ok(c) => {
                                    if c.client_auth_cert_resolver.has_certs() {
                                        self.pending_logs.push(Out::Log(
                                            LogLevel::Info,
                                            "SSL_GET: the SSL block's client certificate is offered to servers that ask for one".into(),
                                        ));
                                    }
                                    c
                                }
                                Err(e) => {
                                    // keepalived's words; on without the
                                    // client certificate.
                                    self.pending_logs.push(Out::Log(LogLevel::Err, e));
                                    tls::client_config(None).map_err(io::Error::other)?
                                }
                            };
                            self.tls = Some(c.clone());
                            c
                        }
                    };
                    Some(Box::new(
                        tls::connect(&cfg, u.sni_name.as_deref(), conn.dst.ip())
                            .map_err(io::Error::other)?,
                    ))
                } else {
                    None
                };
                let protocol = h.http_protocol;
                let response = match &u.regex {
                    None => HttpResponse::new(),
                    Some(r) => match self.regexes.get(&regex_key(r)) {
                        Some(Ok(m)) => HttpResponse::with_regex(m.clone()),
                        // Not compiled: the verdict fails the url.
                        _ => HttpResponse::new(),
                    },
                };
                tcp(
                    App::Http(Box::new(Http {
                        request: proto::http_request(u, protocol, conn.dst),
                        spec: Arc::clone(spec),
                        url,
                        sent: 0,
                        tls,
                        queued: false,
                        response,
                    })),
                    warn,
                )
            }
            CheckerKind::Smtp(s) => tcp(
                App::Smtp(Smtp {
                    step: SmtpStep::Banner,
                    helo: s.helo_name.clone(),
                    out: Vec::new(),
                    sent: 0,
                    reply: SmtpReply::default(),
                }),
                warn,
            ),
            CheckerKind::Udp(u) => {
                let sock = net::udp_connect(conn, warn)?;
                let payload = u.payload.as_deref().unwrap_or(&proto::UDP_DEFAULT_PAYLOAD);
                sock.send(payload)?;
                Ok(Io::Dgram {
                    sock,
                    what: Dgram::Udp(u.clone()),
                })
            }
            CheckerKind::Dns(d) => {
                let sock = net::udp_connect(conn, warn)?;
                let id = self.random() as u16;
                sock.send(&proto::dns_query(id, &d.name, d.query_type))?;
                Ok(Io::Dgram {
                    sock,
                    what: Dgram::Dns { id },
                })
            }
            CheckerKind::Ping => {
                let sock = net::ping_connect(conn, warn)?;
                let v6 = conn.dst.is_ipv6();
                let seq = self.random() as u16;
                sock.send(&proto::echo_request(v6, seq))?;
                Ok(Io::Dgram {
                    sock,
                    what: Dgram::Ping { seq, v6 },
                })
            }
            CheckerKind::Misc(_) => Err(io::Error::other("MISC_CHECK has no socket")),
        }
    }

    /// A probe of checker `id` ended: its figures, then the core's verdict.
    fn complete(&mut self, id: CheckerId, r: ProbeResult, now: Instant) -> Vec<Output> {
        let ok = match &r {
            ProbeResult::Success => true,
            ProbeResult::Failure(_) => false,
            // keepalived: 0 is up; misc_dynamic's 2-255 are up with a weight.
            ProbeResult::Script(ScriptOutcome::Exited { code }) => {
                *code == 0
                    || (*code >= 2
                        && self.core.checker(id).is_some_and(
                            |c| matches!(&c.checker.kind, CheckerKind::Misc(m) if m.dynamic),
                        ))
            }
            ProbeResult::Script(_) => false,
        };
        self.stats.end(id, ok, now);
        self.core.complete(id, r, now)
    }

    /// Every checker's probe figures when probes ended since the last
    /// call (`None`: nothing new).
    pub fn take_stats(&mut self) -> Option<Vec<ipc::CheckerStats>> {
        if !self.stats.dirty() {
            return None;
        }
        let core = &self.core;
        Some(self.stats.summary(|id| {
            let c = core.checker(id)?;
            Some(crate::stats::Identity {
                real_server: c.real_server,
                kind: c.checker.kind.keyword(),
                target: match c.checker.kind {
                    CheckerKind::Misc(_) => format!("{} #{}", c.name, c.misc_index),
                    _ => c.name.to_string(),
                },
            })
        }))
    }

    /// keepalived's `FMT_CHK` of checker `id`, for log lines.
    fn checker_name(&self, id: CheckerId) -> String {
        self.core
            .checker(id)
            .map(|c| c.name.to_string())
            .unwrap_or_default()
    }

    /// Forget a probe; its socket closes when it is dropped. No
    /// deregistration first: the socket's descriptor is its own (never
    /// duplicated), and closing it takes it out of the epoll set, which
    /// saves an `epoll_ctl` per probe.
    fn drop_probe(&mut self, token: usize) -> Option<Box<Probe>> {
        let p = self.probes.remove(&token)?;
        self.deadlines.remove(&(p.deadline, token));
        Some(p)
    }

    fn finish(&mut self, token: usize, r: ProbeResult, now: Instant, out: &mut Vec<Out>) {
        let Some(p) = self.drop_probe(token) else {
            return;
        };
        let res = self.complete(p.checker, r, now);
        self.absorb(res, now, out);
    }
}

/// Move a probe on; `true` with it when data arrived (re-arms the
/// timeout). `buf` is the engine's read buffer, shared by every probe.
fn advance(p: &mut Probe, writable: bool, buf: &mut [u8]) -> (Step, bool) {
    match &mut p.io {
        Io::Tcp {
            sock,
            connected,
            app,
        } => {
            let mut activity = false;
            if !*connected {
                match sock.take_error() {
                    Ok(Some(e)) | Err(e) => {
                        return (failed(format!("connection error: {e}")), false);
                    }
                    Ok(None) => {}
                }
                // keepalived's tcp_socket_state: writable with SO_ERROR 0
                // is connected (no getpeername).
                if !writable {
                    return (Step::Pending, false);
                }
                *connected = true;
                activity = true;
            }
            let (step, a) = match app {
                App::Connect => (Step::Done(ProbeResult::Success), false),
                App::Http(h) => match h.tls.is_some() {
                    false => http_plain(sock, h, buf),
                    true => http_tls(sock, h, buf),
                },
                App::Smtp(s) => smtp(sock, s),
            };
            (step, activity || a)
        }
        Io::Dgram { sock, what } => {
            let buf = &mut buf[..4096];
            loop {
                match sock.recv(buf) {
                    Ok(n) => {
                        let data = &buf[..n];
                        match what {
                            Dgram::Udp(u) => {
                                return if u.require_reply && !proto::udp_reply_ok(data, u) {
                                    (failed("reply data mismatch"), true)
                                } else {
                                    (Step::Done(ProbeResult::Success), true)
                                };
                            }
                            Dgram::Dns { id } => match proto::dns_answer(*id, data) {
                                None => continue,
                                Some(Ok(())) => return (Step::Done(ProbeResult::Success), true),
                                Some(Err(e)) => return (failed(e), true),
                            },
                            Dgram::Ping { seq, v6 } => {
                                if proto::echo_reply_ok(*v6, *seq, data) {
                                    return (Step::Done(ProbeResult::Success), true);
                                }
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return (Step::Pending, false);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (failed(format!("{e}")), false),
                }
            }
        }
    }
}

impl Http {
    fn url(&self) -> &Url {
        match &self.spec.kind {
            CheckerKind::Http(h) => &h.urls[self.url],
            _ => unreachable!("an HTTP probe of a checker that is not HTTP_GET/SSL_GET"),
        }
    }
}

fn http_verdict(h: &mut Http) -> Step {
    let resp = std::mem::take(&mut h.response);
    let url = h.url();
    match resp.verdict(url) {
        Ok(()) => Step::Done(ProbeResult::Success),
        Err(e) => failed(format!("{e}, url {}", url.path)),
    }
}

fn http_plain(sock: &mut TcpStream, h: &mut Http, buf: &mut [u8]) -> (Step, bool) {
    while h.sent < h.request.len() {
        match sock.write(&h.request[h.sent..]) {
            Ok(0) => return (failed("Cannot send get request"), false),
            Ok(n) => h.sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (Step::Pending, false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (failed(format!("Cannot send get request: {e}")), false),
        }
    }
    let mut activity = false;
    loop {
        match sock.read(buf) {
            Ok(0) => return (http_verdict(h), activity),
            Ok(n) => {
                activity = true;
                if let Err(e) = h.response.feed(&buf[..n]) {
                    return (failed(e), true);
                }
                if h.response.complete() {
                    return (http_verdict(h), true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (Step::Pending, activity),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (failed(format!("Read error: {e}")), activity),
        }
    }
}

fn http_tls(sock: &mut TcpStream, h: &mut Http, buf: &mut [u8]) -> (Step, bool) {
    let mut activity = false;
    loop {
        let Some(conn) = h.tls.as_mut() else {
            return (failed("no TLS session"), activity);
        };
        while conn.wants_write() {
            match conn.write_tls(sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (failed(format!("SSL communication error: {e}")), activity),
            }
        }
        let mut got = false;
        let mut eof = false;
        while conn.wants_read() {
            match conn.read_tls(sock) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {
                    got = true;
                    activity = true;
                    if let Err(e) = conn.process_new_packets() {
                        // Let the alert out before giving up.
                        let _ = conn.write_tls(sock);
                        return (
                            failed(format!("SSL handshake/communication error: {e}")),
                            true,
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (failed(format!("SSL communication error: {e}")), activity),
            }
        }
        if conn.is_handshaking() {
            if eof {
                return (failed("SSL handshake error: connection closed"), activity);
            }
            if got {
                continue;
            }
            return (Step::Pending, activity);
        }
        if !h.queued {
            if let Err(e) = conn.writer().write_all(&h.request) {
                return (failed(format!("Cannot send get request: {e}")), activity);
            }
            h.queued = true;
            continue;
        }
        loop {
            match conn.reader().read(buf) {
                Ok(0) => return (http_verdict(h), activity),
                Ok(n) => {
                    if let Err(e) = h.response.feed(&buf[..n]) {
                        return (failed(e), true);
                    }
                    if h.response.complete() {
                        return (http_verdict(h), true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // The server closed without close_notify: the end of the
                // response all the same (keepalived reads to the close).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return (http_verdict(h), activity);
                }
                Err(e) => return (failed(format!("Read error: {e}")), activity),
            }
        }
        if eof {
            return (http_verdict(h), activity);
        }
        if !got {
            return (Step::Pending, activity);
        }
    }
}

fn smtp(sock: &mut TcpStream, s: &mut Smtp) -> (Step, bool) {
    let mut activity = false;
    let mut buf = [0u8; 4096];
    loop {
        while s.sent < s.out.len() {
            match sock.write(&s.out[s.sent..]) {
                Ok(0) => return (failed("Write failure to server"), activity),
                Ok(n) => s.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return (Step::Pending, activity);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (failed(format!("Write failure to server: {e}")), activity),
            }
        }
        let code = loop {
            match sock.read(&mut buf) {
                Ok(0) => return (failed("Read failure from server"), activity),
                Ok(n) => {
                    activity = true;
                    if let Some(code) = s.reply.feed(&buf[..n]) {
                        break code;
                    }
                    if s.reply.overflow() {
                        return (failed("SMTP reply too long"), true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return (Step::Pending, activity);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (failed(format!("Read failure from server: {e}")), activity),
            }
        };
        s.reply = SmtpReply::default();
        s.out.clear();
        s.sent = 0;
        match s.step {
            SmtpStep::Banner if code == Some(220) => {
                s.out = format!("HELO {}\r\n", s.helo).into_bytes();
                s.step = SmtpStep::Helo;
            }
            SmtpStep::Banner => return (failed("Bad greeting banner from server"), true),
            SmtpStep::Helo if code == Some(250) => {
                s.out = b"QUIT\r\n".to_vec();
                s.step = SmtpStep::Quit;
            }
            SmtpStep::Helo => return (failed("Bad HELO response from server"), true),
            // keepalived takes any answer to QUIT.
            SmtpStep::Quit => return (Step::Done(ProbeResult::Success), true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::tests::lvs;
    use ipc::UpDown;

    /// Two real servers with a MISC_CHECK each (`misc` its path); `.1` has
    /// the notify scripts in `notify`.
    fn conf(misc: &str, notify: &str) -> LvsConfig {
        lvs(&format!(
            "virtual_server 10.0.0.1 80 {{\n protocol TCP\n real_server 10.0.0.2 80 {{\n{notify}\n  MISC_CHECK {{\n   misc_path \"{misc}\"\n  }}\n }}\n real_server 10.0.0.3 80 {{\n  MISC_CHECK {{\n   misc_path \"{misc}\"\n  }}\n }}\n}}\n"
        ))
    }

    /// The script table for `lvs`: MISC_CHECK of the real server i is id
    /// 10+i; notify_up/notify_down (when configured) 20+i / 30+i.
    fn scripts(lvs: &LvsConfig) -> Vec<ScriptEntry> {
        let vs = &lvs.virtual_servers[0];
        let mut v = Vec::new();
        for (i, rs) in vs.real_servers.iter().enumerate() {
            let key = sched::rs_key(vs, rs);
            let i = i as u32;
            v.push(ScriptEntry {
                id: ScriptId(10 + i),
                purpose: ScriptPurpose::MiscCheck {
                    real_server: key.clone(),
                    index: 0,
                },
            });
            for (id, set, event) in [
                (20 + i, rs.notify_up.is_some(), UpDown::Up),
                (30 + i, rs.notify_down.is_some(), UpDown::Down),
            ] {
                if set {
                    v.push(ScriptEntry {
                        id: ScriptId(id),
                        purpose: ScriptPurpose::RealServerNotify {
                            real_server: key.clone(),
                            event,
                        },
                    });
                }
            }
        }
        v
    }

    /// Run every due MISC_CHECK at `t`, each exiting with `code`; what
    /// came out (the scripts' own RunScripts left out).
    fn round(e: &mut Engine, t: Instant, code: i32) -> Vec<Out> {
        let mut out = Vec::new();
        for o in e.on_timer(t) {
            match o {
                Out::RunScript { request, id } if id.0 < 20 => {
                    out.extend(e.script_done(request, ScriptOutcome::Exited { code }, t));
                }
                o => out.push(o),
            }
        }
        out
    }

    fn notified(out: &[Out]) -> Vec<u32> {
        out.iter()
            .filter_map(|o| match o {
                Out::RunScript { id, .. } => Some(id.0),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn notify_scripts_run_on_state_changes_of_their_real_server_only() {
        let notify = "  notify_up /bin/up\n  notify_down /bin/down";
        let cfg = conf("/bin/a", notify);
        let t0 = Instant::now();
        let table = scripts(&cfg);
        let (mut e, first) = Engine::new(cfg, &table, &BTreeMap::new(), t0, Box::new(|| 0.0), 1);
        assert!(first.is_empty(), "{first:?}");
        // Only the real server with notify scripts is tracked.
        assert_eq!(e.rs_up.len(), 1);
        // Both go down: .1's notify_down runs, and nothing for .2.
        let out = round(&mut e, t0 + Duration::from_secs(2), 1);
        assert_eq!(notified(&out), [30]);
        assert_eq!(
            out.iter().filter(|o| matches!(o, Out::Health(_))).count(),
            2
        );
        // Still down: no change, nothing runs.
        let out = round(&mut e, t0 + Duration::from_secs(70), 1);
        assert_eq!(notified(&out), [0u32; 0]);
        // Up again: notify_up.
        let out = round(&mut e, t0 + Duration::from_secs(140), 0);
        assert_eq!(notified(&out), [20]);
    }

    #[test]
    fn a_reload_that_adds_notify_scripts_runs_them_for_its_own_changes() {
        let cfg = conf("/bin/a", "");
        let t0 = Instant::now();
        let table = scripts(&cfg);
        let (mut e, _) = Engine::new(cfg, &table, &BTreeMap::new(), t0, Box::new(|| 0.0), 1);
        assert!(e.rs_up.is_empty());
        let out = round(&mut e, t0 + Duration::from_secs(2), 1);
        assert_eq!(notified(&out), [0u32; 0]);
        // The reload replaces the down checkers (another misc_path: a new
        // checker, up since it has no alpha) and gives .1 a notify_up:
        // the reload brings it up, and notify_up runs.
        let cfg = conf("/bin/b", "  notify_up /bin/up");
        let table = scripts(&cfg);
        let out = e.reload(cfg, &table, t0 + Duration::from_secs(3));
        assert_eq!(notified(&out), [20]);
        assert_eq!(
            out.iter().filter(|o| matches!(o, Out::Health(_))).count(),
            2
        );
        assert_eq!(e.rs_up.len(), 1);
        // A reload without the scripts forgets the real server.
        let cfg = conf("/bin/b", "");
        let table = scripts(&cfg);
        e.reload(cfg, &table, t0 + Duration::from_secs(4));
        assert!(e.rs_up.is_empty());
    }
}
