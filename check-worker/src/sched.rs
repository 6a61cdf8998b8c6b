//! The sans-IO core: keepalived's per-checker state machine and the
//! per-real-server aggregate, driven by an injected clock.
//!
//! Everything here is keepalived 2.2.7's behaviour (keepalived/check/
//! check_api.c, ipwrapper.c and the checkers' epilogs), without sockets:
//!
//! - A checker first runs 1 s (keepalived's `BOOTSTRAP_DELAY`) plus a
//!   random part of `warmup` after it is created; then every `delay_loop`
//!   after a probe ends (MISC_CHECK: after the script *started*).
//! - `retry` + `delay_before_retry`: an up checker that fails is retried
//!   `retry` times, `delay_before_retry` apart, before it is declared down.
//!   A checker that has not run yet needs a single failure (keepalived sets
//!   `retry_it = retry` at start-up), as keepalived does.
//! - `alpha`: a new checker with alpha starts down (its real server too)
//!   and needs a success to come up.
//! - A real server is up only when all its checkers are up; its weight is
//!   the configured one, or the last MISC_CHECK `misc_dynamic` weight
//!   (exit status 2..255 sets weight status - 2; 0 is up with the weight
//!   unchanged; 1 and anything else is a failure).
//! - HTTP_GET/SSL_GET check one url per run; a failed url is retried, and
//!   once the checker is down it keeps checking the failed url, then all
//!   the urls again before coming back up (keepalived's `failed_url`);
//!   `fast_recovery` re-runs at once while recovering.
//! - Only changes are reported: a [`HealthChange`] when a real server's
//!   `up` or `weight` differs from what the parent last knew. With
//!   `inhibit_on_failure` the report is the same (`up: false`): the IPVS
//!   side keeps the server with weight 0 instead of removing it.
//!
//! - FILE_CHECK (keepalived's tracked files, see [`crate::filecheck`]) is
//!   one more checker of its real server: the I/O layer reads the files and
//!   hands the numbers to [`Core::file_read`]; a FILE_CHECK is down while
//!   its status is FAULT, and a weighted one adds to the real server's
//!   weight.
//!
//! - `ha_suspend` (keepalived's `register_checkers_thread` and
//!   `update_checker_activity`): a checker of a virtual server with
//!   `ha_suspend` is enabled only while the virtual server's address is
//!   configured on the machine (the parent watches rtnetlink and tells
//!   [`Core::start_checkers`] and [`Core::vs_address`]). A disabled
//!   checker keeps its schedule but probes nothing: at each due time it is
//!   put off by `delay_loop`, its state, its real server's and IPVS stay as
//!   they are. Every checker is logged as "Activating" or "Deactivating"
//!   when the checkers start (start and reload), and as "Activating" /
//!   "Suspending" when its address comes or goes.
//!
//! The core starts from the health the parent restored (a restarted worker
//! does not flap its real servers) and keeps the state of unchanged
//! checkers across a reload.

use crate::filecheck::{self, FAULT, IPVS_WEIGHT_MAX, Transition};
use crate::idmap::IdMap;
use config::model::lvs::{Checker, CheckerKind, FileCheck, LvsConfig, RealServer, VirtualServer};
use ipc::{Health, HealthChange, LogLevel, RealServerKey, ScriptOutcome};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// keepalived's `BOOTSTRAP_DELAY`: checkers start this long after the
/// process (plus their random warmup).
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// A checker's identity for the life of the worker (kept across reloads
/// for unchanged checkers).
pub type CheckerId = u64;

/// A random fraction in `[0, 1]` for the warmup (injected so tests are
/// deterministic).
pub type Jitter = Box<dyn FnMut() -> f64 + Send>;

/// What a finished probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeResult {
    Success,
    /// The probe failed; the reason is for the logs.
    Failure(String),
    /// MISC_CHECK: how the script ended (the parent ran it).
    Script(ScriptOutcome),
}

/// Work for the I/O layer, or a report for the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Run one probe of checker `id` (HTTP: of url number `url`).
    Start {
        id: CheckerId,
        url: usize,
    },
    /// A real server's health changed.
    Health(HealthChange),
    Log(LogLevel, String),
}

/// A checker went up or down (kept for SMTP alerts until
/// [`Core::take_transitions`]): the real server's state before and after,
/// and the checker's last failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerTransition {
    pub id: CheckerId,
    pub up: bool,
    pub rs_was_up: bool,
    pub rs_up: bool,
    pub reason: Option<String>,
}

/// At most this many untaken transitions are kept (the oldest go).
const TRANSITIONS_MAX: usize = 1024;

/// A checker as the I/O layer needs it.
#[derive(Debug, Clone, Copy)]
pub struct CheckerRef<'a> {
    pub id: CheckerId,
    pub real_server: &'a RealServerKey,
    pub checker: &'a Arc<Checker>,
    /// MISC_CHECK: its number among the real server's MISC_CHECKs.
    pub misc_index: u32,
    /// keepalived's `FMT_CHK`: `[addr]:proto:port` of what is checked.
    pub name: &'a Arc<str>,
    /// Its real server's names and `smtp_alert`, for alerts.
    pub rs: RsRef<'a>,
}

/// A real server as alerts and reports name it.
#[derive(Debug, Clone, Copy)]
pub struct RsRef<'a> {
    pub key: &'a RealServerKey,
    /// What the parent was last told.
    pub reported: Health,
    /// keepalived's `FMT_RS`.
    pub name: &'a Arc<str>,
    /// keepalived's `FMT_VS` of its virtual server.
    pub vs_name: &'a Arc<str>,
    pub smtp_alert: bool,
}

/// How a checker's results move it (keepalived's epilogs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// TCP, SMTP, DNS, UDP, PING: `tcp_epilog`.
    Simple,
    /// HTTP_GET/SSL_GET: one url per run.
    Http { urls: usize, fast_recovery: bool },
    /// MISC_CHECK: `misc_check_child_thread`.
    Misc { dynamic: bool },
}

#[derive(Debug, Clone)]
struct Chk {
    id: CheckerId,
    rs: usize,
    /// Shared with the probes in flight (no copy per probe).
    spec: Arc<Checker>,
    flavor: Flavor,
    misc_index: u32,
    /// The real server's name when they are the same text (the usual
    /// case): shared, not copied.
    name: Arc<str>,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    /// HTTP: the url to check next (`None`: all done this round).
    url_it: Option<usize>,
    failed_url: Option<usize>,
    /// When the next probe starts (`None` while one runs).
    due: Option<Instant>,
    /// When the running probe started.
    started: Option<Instant>,
    /// The last failure reason, for the log line when it goes down.
    last_failure: Option<String>,
    /// keepalived's `checker->enabled`: false while `ha_suspend` holds it.
    enabled: bool,
}

/// A FILE_CHECK on a real server.
#[derive(Debug, Clone)]
struct FileChk {
    spec: FileCheck,
    /// Its status for the file's last value ([`FAULT`]: down).
    status: i64,
    /// keepalived's `checker->enabled` of a track-file checker: it changes
    /// nothing (the file is read either way) but `ha_suspend` logs it.
    enabled: bool,
}

/// Whether a real server's virtual server has `ha_suspend`, and on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suspend {
    No,
    /// Its checkers run while this address is on the machine.
    Addr(IpAddr),
    /// A `virtual_server group` with `ha_suspend`: keepalived 2.2.7
    /// matches no address for it, so its checkers never run.
    Group,
}

#[derive(Debug, Clone)]
struct Rs {
    key: RealServerKey,
    /// keepalived's `FMT_RS` and `FMT_VS` (one allocation per virtual
    /// server, shared by its real servers).
    name: Arc<str>,
    vs_name: Arc<str>,
    inhibit: bool,
    smtp_alert: bool,
    /// Its virtual server's number in the configuration.
    vs_index: usize,
    suspend: Suspend,
    /// The configured weight.
    config_weight: u32,
    /// The current weight (config, or a misc_dynamic one).
    weight: u32,
    /// What the weighted FILE_CHECKs add to `weight`.
    file_delta: i64,
    files: Vec<FileChk>,
    /// What the parent knows.
    reported: Health,
    checkers: Vec<usize>,
}

/// The scheduler and state of every checker.
pub struct Core {
    rss: Vec<Rs>,
    chks: Vec<Chk>,
    by_id: IdMap<CheckerId, usize>,
    /// Due times, soonest first: the timer heap. An entry whose time is
    /// no longer its checker's `due` is stale and skipped.
    queue: BinaryHeap<Reverse<(Instant, CheckerId)>>,
    next_id: CheckerId,
    jitter: Jitter,
    /// Each tracked file's last value (keepalived's `last_status`).
    file_values: BTreeMap<String, i64>,
    /// Tracked files whose last read was not a valid number (logged once).
    file_invalid: BTreeSet<String>,
    /// Checker transitions not yet taken (for SMTP alerts).
    transitions: Vec<CheckerTransition>,
    /// The `ha_suspend` virtual server addresses on the machine.
    present: BTreeSet<IpAddr>,
}

/// Tracked files' values as the I/O layer read them: `None` for one that
/// does not hold a valid number (the last value stays).
pub type FileValues = BTreeMap<String, Option<i64>>;

/// The distinct files `lvs`'s FILE_CHECKs read.
pub fn file_paths(lvs: &LvsConfig) -> BTreeSet<String> {
    lvs.virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.file_checks)
        .map(|f| f.path.clone())
        .collect()
}

pub use ipc::keys::{rs_key, vs_key};

fn proto_name(vs: &VirtualServer) -> &'static str {
    vs.protocol.map_or("tcp", |p| p.as_str())
}

fn chk_name(vs: &VirtualServer, rs: &RealServer, c: &Checker) -> String {
    let proto = match c.kind {
        CheckerKind::Udp(_) | CheckerKind::Dns(_) => "udp",
        CheckerKind::Ping => "icmp",
        _ => "tcp",
    };
    match &c.connection {
        Some(co) => format!("[{}]:{proto}:{}", co.dst.ip(), co.dst.port()),
        None => format!("[{}]:{}:{}", rs.addr.ip(), proto_name(vs), rs.addr.port()),
    }
}

fn flavor(c: &Checker) -> Flavor {
    match &c.kind {
        CheckerKind::Http(h) => Flavor::Http {
            urls: h.urls.len(),
            fast_recovery: h.fast_recovery,
        },
        CheckerKind::Misc(m) => Flavor::Misc { dynamic: m.dynamic },
        _ => Flavor::Simple,
    }
}

/// Whether two checkers are "the same" across a reload (keepalived's
/// per-type `compare`): same type, connection and type-specific settings.
fn same_checker(a: &Checker, b: &Checker) -> bool {
    a.kind == b.kind && a.connection == b.connection
}

impl Core {
    /// Build the core for `lvs`, starting from `restored` (the health the
    /// parent holds for each real server). Returns the core and the first
    /// reports (real servers whose computed health differs from what the
    /// parent holds, e.g. a checker with `alpha` on a real server the
    /// parent assumed up).
    pub fn new(
        lvs: &LvsConfig,
        restored: &BTreeMap<RealServerKey, Health>,
        now: Instant,
        jitter: Jitter,
    ) -> (Core, Vec<Output>) {
        Core::with_files(lvs, restored, now, jitter, &FileValues::new())
    }

    /// [`Core::new`] with the tracked files' first values (a file not in
    /// `files` counts as 0, as a missing file does).
    pub fn with_files(
        lvs: &LvsConfig,
        restored: &BTreeMap<RealServerKey, Health>,
        now: Instant,
        jitter: Jitter,
        files: &FileValues,
    ) -> (Core, Vec<Output>) {
        Core::from_config(lvs.clone(), restored, now, jitter, files)
    }

    /// [`Core::with_files`] taking the configuration: its checkers move
    /// into the core instead of being copied (with thousands of real
    /// servers, the configuration and a copy of every checker were the
    /// check worker's peak memory), and each virtual server's part is freed
    /// as soon as the core has taken what it needs.
    pub fn from_config(
        lvs: LvsConfig,
        restored: &BTreeMap<RealServerKey, Health>,
        now: Instant,
        jitter: Jitter,
        files: &FileValues,
    ) -> (Core, Vec<Output>) {
        let mut core = Core {
            rss: Vec::new(),
            chks: Vec::new(),
            by_id: IdMap::default(),
            queue: BinaryHeap::new(),
            next_id: 1,
            jitter,
            file_values: BTreeMap::new(),
            file_invalid: BTreeSet::new(),
            transitions: Vec::new(),
            present: BTreeSet::new(),
        };
        core.set_file_values(files);
        // Sized once: growing them by doubling left freed copies behind
        // at start-up (megabytes with thousands of checkers).
        let (n_rs, n_chk) = lvs
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .fold((0, 0), |(r, c), rs| (r + 1, c + rs.checkers.len()));
        core.rss.reserve_exact(n_rs);
        core.chks.reserve_exact(n_chk);
        core.by_id.reserve(n_chk);
        core.queue.reserve(n_chk);
        let mut out = Vec::new();
        for (vs_index, (vs, real_servers)) in split(lvs).enumerate() {
            let vs_name: Arc<str> = vs.display_name().into();
            for mut rs in real_servers {
                let key = rs_key(&vs, &rs);
                let initial = Health {
                    up: !rs.alpha,
                    weight: rs.weight,
                };
                let (reported, known) = match restored.get(&key) {
                    Some(h) => (*h, true),
                    None => (initial, false),
                };
                let r = core.add_rs(&vs, vs_index, &rs, &vs_name, key, reported);
                for (c, misc_index) in take_checkers(&mut rs) {
                    // A restored real server's checkers take its state; one
                    // the parent does not know starts as keepalived starts
                    // (alpha: down).
                    let up = if known { reported.up } else { !c.alpha };
                    core.add_checker(&vs, &rs, r, c, misc_index, up, now);
                }
                // The files are read afresh. The parent's weight is the
                // configured one (first start) or the last reported one,
                // which includes what weighted FILE_CHECKs added: with
                // those, start from the configured weight (a misc_dynamic
                // weight comes back at the script's next run).
                core.add_files(r, &mut rs);
                let weighted = core.rss[r].files.iter().any(|f| f.spec.weight != 0);
                core.rss[r].weight = if weighted { rs.weight } else { reported.weight };
                core.update_rs(r, &mut out);
            }
        }
        core.rss.shrink_to_fit();
        core.chks.shrink_to_fit();
        (core, out)
    }

    fn add_rs(
        &mut self,
        vs: &VirtualServer,
        vs_index: usize,
        rs: &RealServer,
        vs_name: &Arc<str>,
        key: RealServerKey,
        reported: Health,
    ) -> usize {
        self.rss.push(Rs {
            name: format!("[{}]:{}:{}", rs.addr.ip(), proto_name(vs), rs.addr.port()).into(),
            vs_name: Arc::clone(vs_name),
            key,
            inhibit: rs.inhibit_on_failure,
            smtp_alert: rs.smtp_alert,
            vs_index,
            suspend: match ipc::keys::ha_suspend_addr(vs) {
                Some(a) => Suspend::Addr(a),
                None if vs.ha_suspend => Suspend::Group,
                None => Suspend::No,
            },
            config_weight: rs.weight,
            weight: rs.weight,
            file_delta: 0,
            files: Vec::new(),
            reported,
            checkers: Vec::new(),
        });
        self.rss.len() - 1
    }

    /// Take the values the I/O layer read (an invalid one keeps the last
    /// value, or 0).
    fn set_file_values(&mut self, files: &FileValues) {
        for (path, v) in files {
            match v {
                Some(v) => {
                    self.file_values.insert(path.clone(), *v);
                    self.file_invalid.remove(path);
                }
                None => {
                    self.file_invalid.insert(path.clone());
                }
            }
        }
    }

    /// Real server `r`'s FILE_CHECKs from the files' current values
    /// (keepalived's set_track_file_weights and
    /// set_track_file_checkers_down); returns what they add to its weight.
    fn add_files(&mut self, r: usize, rs: &mut RealServer) -> i64 {
        let mut delta = 0;
        for f in std::mem::take(&mut rs.file_checks) {
            let value = self.file_values.get(&f.path).copied().unwrap_or(0);
            let status = filecheck::status(value, f.weight, f.reverse);
            if status != FAULT {
                delta += status;
            }
            self.rss[r].files.push(FileChk {
                spec: f,
                status,
                enabled: true,
            });
        }
        self.rss[r].file_delta = delta;
        delta
    }

    /// The distinct files the FILE_CHECKs read.
    pub fn file_paths(&self) -> BTreeSet<String> {
        self.rss
            .iter()
            .flat_map(|r| &r.files)
            .map(|f| f.spec.path.clone())
            .collect()
    }

    /// The I/O layer read tracked file `path`: `None` when it does not
    /// hold a valid number (ignored, as keepalived does), else its value
    /// (0 for a missing, unreadable or empty file).
    pub fn file_read(&mut self, path: &str, value: Option<i64>) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(value) = value else {
            if self.file_invalid.insert(path.to_string()) {
                out.push(Output::Log(
                    LogLevel::Info,
                    format!("Invalid number read from {path} - ignoring"),
                ));
            }
            return out;
        };
        self.file_invalid.remove(path);
        if self.file_values.get(path).copied().unwrap_or(0) == value {
            self.file_values.insert(path.to_string(), value);
            return out;
        }
        self.file_values.insert(path.to_string(), value);
        for r in 0..self.rss.len() {
            let mut touched = false;
            for fi in 0..self.rss[r].files.len() {
                let rs = &mut self.rss[r];
                let f = &mut rs.files[fi];
                if f.spec.path != path {
                    continue;
                }
                let new = filecheck::status(value, f.spec.weight, f.spec.reverse);
                let previous = std::mem::replace(&mut f.status, new);
                match filecheck::transition(previous, new) {
                    Transition::None => {}
                    Transition::Down => {
                        touched = true;
                        out.push(Output::Log(
                            LogLevel::Info,
                            format!(
                                "({}): tracked file {} now FAULT state",
                                rs.name, f.spec.track_file
                            ),
                        ));
                    }
                    Transition::Up => {
                        touched = true;
                        out.push(Output::Log(
                            LogLevel::Info,
                            format!(
                                "({}): tracked file {} leaving FAULT state",
                                rs.name, f.spec.track_file
                            ),
                        ));
                    }
                    Transition::Weight(d) => {
                        touched = true;
                        let before = effective_weight(rs);
                        rs.file_delta += d;
                        let after = effective_weight(rs);
                        if before != after {
                            let up = rs.reported.up;
                            out.push(Output::Log(
                                LogLevel::Info,
                                format!(
                                    "Changing weight from {before} to {after} for {}active service {} of VS {}",
                                    if up { "" } else { "in" },
                                    rs.name,
                                    rs.vs_name
                                ),
                            ));
                        }
                    }
                }
            }
            if touched {
                self.update_rs(r, &mut out);
            }
        }
        out
    }

    /// A new checker, first run after the bootstrap delay and warmup; one
    /// failure is enough to take it down until it has run (keepalived).
    #[allow(clippy::too_many_arguments)]
    fn add_checker(
        &mut self,
        vs: &VirtualServer,
        rs: &RealServer,
        r: usize,
        c: Checker,
        misc_index: u32,
        up: bool,
        now: Instant,
    ) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        let warmup = c.warmup.mul_f64((self.jitter)().clamp(0.0, 1.0));
        let due = now + BOOTSTRAP_DELAY + warmup;
        let name = match c.kind {
            CheckerKind::Misc(_) => format!("[{}]", rs.addr.ip()),
            _ => chk_name(vs, rs, &c),
        };
        let k = Chk {
            id,
            rs: r,
            name: match &self.rss[r].name {
                n if **n == *name => Arc::clone(n),
                _ => name.into(),
            },
            flavor: flavor(&c),
            retry_it: c.retry,
            spec: Arc::new(c),
            misc_index,
            is_up: up,
            has_run: false,
            url_it: Some(0),
            failed_url: None,
            due: Some(due),
            started: None,
            last_failure: None,
            enabled: true,
        };
        self.chks.push(k);
        let i = self.chks.len() - 1;
        self.by_id.insert(id, i);
        self.queue.push(Reverse((due, id)));
        self.rss[r].checkers.push(i);
        i
    }

    /// A new configuration. Real servers that remain keep their health;
    /// checkers that remain (same type, connection and settings) keep
    /// their state, schedule and any probe in flight; new ones start as
    /// keepalived starts checkers on a reload.
    pub fn reload(&mut self, lvs: &LvsConfig, now: Instant) -> Vec<Output> {
        self.reload_with_files(lvs, now, &FileValues::new())
    }

    /// [`Core::reload`] with the tracked files read afresh (a file not in
    /// `files` keeps its last value).
    pub fn reload_with_files(
        &mut self,
        lvs: &LvsConfig,
        now: Instant,
        files: &FileValues,
    ) -> Vec<Output> {
        self.reload_from(lvs.clone(), now, files)
    }

    /// [`Core::reload_with_files`] taking the configuration (its checkers
    /// move into the core, see [`Core::from_config`]).
    pub fn reload_from(&mut self, lvs: LvsConfig, now: Instant, files: &FileValues) -> Vec<Output> {
        self.set_file_values(files);
        let old_rss = std::mem::take(&mut self.rss);
        let old_chks = std::mem::take(&mut self.chks);
        let old_by_key: BTreeMap<&RealServerKey, usize> = old_rss
            .iter()
            .enumerate()
            .map(|(i, o)| (&o.key, i))
            .rev()
            .collect();
        self.by_id.clear();
        self.queue.clear();
        let mut taken = vec![false; old_chks.len()];
        let mut out = Vec::new();
        for (vs_index, (vs, real_servers)) in split(lvs).enumerate() {
            let vs_name: Arc<str> = vs.display_name().into();
            for mut rs in real_servers {
                let key = rs_key(&vs, &rs);
                let old = old_by_key.get(&key).map(|&i| &old_rss[i]);
                // The parent keeps a remaining real server's health and
                // starts a new one as keepalived does (up unless alpha).
                let reported = match old {
                    Some(o) => o.reported,
                    None => Health {
                        up: !rs.alpha,
                        weight: rs.weight,
                    },
                };
                let r = self.add_rs(&vs, vs_index, &rs, &vs_name, key, reported);
                if let Some(o) = old {
                    self.rss[r].weight = if o.config_weight == rs.weight {
                        o.weight
                    } else {
                        rs.weight
                    };
                }
                let rs_was_up = old.is_some_and(|o| o.checkers.iter().all(|&i| old_chks[i].is_up));
                for (c, misc_index) in take_checkers(&mut rs) {
                    let found = old.and_then(|o| {
                        o.checkers
                            .iter()
                            .copied()
                            .find(|&i| !taken[i] && same_checker(&old_chks[i].spec, &c))
                    });
                    match found {
                        Some(i) => {
                            taken[i] = true;
                            let mut k = old_chks[i].clone();
                            // keepalived's migrate_checkers.
                            if !k.is_up {
                                k.retry_it = c.retry + 1;
                            } else if k.retry_it >= c.retry {
                                k.retry_it = c.retry;
                            }
                            k.rs = r;
                            if *k.name == *self.rss[r].name {
                                k.name = Arc::clone(&self.rss[r].name);
                            }
                            k.flavor = flavor(&c);
                            k.spec = Arc::new(c);
                            k.misc_index = misc_index;
                            if let Some(d) = k.due {
                                self.queue.push(Reverse((d, k.id)));
                            }
                            self.chks.push(k);
                            let n = self.chks.len() - 1;
                            self.by_id.insert(self.chks[n].id, n);
                            self.rss[r].checkers.push(n);
                        }
                        None => {
                            // New checker: on a real server that is up it
                            // starts up with its full retries; on one that
                            // is down (or a new one) alpha starts it down,
                            // and one failure is enough.
                            let (up, retry_it) = match old {
                                Some(_) if rs_was_up => (true, 0),
                                _ => (!c.alpha, c.retry),
                            };
                            let n = self.add_checker(&vs, &rs, r, c, misc_index, up, now);
                            self.chks[n].retry_it = retry_it;
                        }
                    }
                }
                self.add_files(r, &mut rs);
                self.update_rs(r, &mut out);
            }
        }
        out
    }

    /// keepalived's `register_checkers_thread`, at start and after each
    /// reload: `present` are the `ha_suspend` addresses on the machine now.
    /// Each checker (FILE_CHECKs have no thread) is enabled unless its
    /// virtual server has `ha_suspend` and its address is absent, and
    /// logged as "Activating" or "Deactivating"; the FILE_CHECKs, made
    /// afresh by keepalived's reload, are enabled.
    pub fn start_checkers(&mut self, present: &[IpAddr]) -> Vec<Output> {
        let mut out = Vec::new();
        self.start_checkers_with(present, |o| out.push(o));
        out
    }

    /// [`Core::start_checkers`] handing each line to `emit` as it is made
    /// (with thousands of checkers, not all held at once).
    pub fn start_checkers_with(&mut self, present: &[IpAddr], mut emit: impl FnMut(Output)) {
        self.present = present.iter().copied().collect();
        for k in &mut self.chks {
            let rs = &self.rss[k.rs];
            k.enabled = match rs.suspend {
                Suspend::No => true,
                Suspend::Addr(a) => self.present.contains(&a),
                Suspend::Group => false,
            };
            emit(Output::Log(
                LogLevel::Info,
                format!(
                    "{}ctivating healthchecker for service {} for VS {}",
                    if k.enabled { "A" } else { "Dea" },
                    rs.name,
                    rs.vs_name
                ),
            ));
        }
        for f in self.rss.iter_mut().flat_map(|r| &mut r.files) {
            f.enabled = true;
        }
    }

    /// keepalived's `update_checker_activity`: `addr` was configured on
    /// the machine (`present`) or its last instance removed. The checkers
    /// of each virtual server with `ha_suspend` on that address (in
    /// configuration order, its FILE_CHECKs last, as in keepalived's
    /// queue) are enabled or disabled, each change logged.
    pub fn vs_address(&mut self, addr: IpAddr, present: bool) -> Vec<Output> {
        let mut out = Vec::new();
        let changed = if present {
            self.present.insert(addr)
        } else {
            self.present.remove(&addr)
        };
        // (virtual server, real server), in configuration order.
        let matching: Vec<(usize, usize)> = (0..self.rss.len())
            .filter(|&r| self.rss[r].suspend == Suspend::Addr(addr))
            .map(|r| (self.rss[r].vs_index, r))
            .collect();
        if !changed || matching.is_empty() {
            return out;
        }
        // keepalived logs this with -D (log_detail): here at debug level,
        // which the parent writes only with -D.
        out.push(Output::Log(
            LogLevel::Debug,
            format!(
                "Netlink reflector reports IP {addr} {}",
                if present { "added" } else { "removed" }
            ),
        ));
        let line = |enabled: bool, rs: &Rs| {
            Output::Log(
                LogLevel::Info,
                format!(
                    "{}ing healthchecker for service {} for VS {}",
                    if enabled { "Suspend" } else { "Activat" },
                    rs.name,
                    rs.vs_name
                ),
            )
        };
        for group in matching.chunk_by(|a, b| a.0 == b.0) {
            for &(_, r) in group {
                for &i in &self.rss[r].checkers {
                    let k = &mut self.chks[i];
                    if k.enabled != present {
                        out.push(line(k.enabled, &self.rss[r]));
                        k.enabled = present;
                    }
                }
            }
            for &(_, r) in group {
                let rs = &mut self.rss[r];
                for fi in 0..rs.files.len() {
                    if rs.files[fi].enabled != present {
                        out.push(line(rs.files[fi].enabled, rs));
                        rs.files[fi].enabled = present;
                    }
                }
            }
        }
        out
    }

    /// When [`Core::poll`] has work next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((t, _))| *t)
    }

    /// Start every checker that is due: one [`Output::Start`] each.
    pub fn poll(&mut self, now: Instant) -> Vec<Output> {
        self.poll_max(now, usize::MAX)
    }

    /// Start at most `max` of the checkers that are due (the soonest
    /// first); the others stay due, so [`Core::next_deadline`] is already
    /// past and the caller comes back after its other work.
    pub fn poll_max(&mut self, now: Instant, max: usize) -> Vec<Output> {
        let mut out = Vec::new();
        let mut started = 0;
        while let Some(&Reverse((t, id))) = self.queue.peek() {
            if t > now || started >= max {
                break;
            }
            self.queue.pop();
            let Some(&i) = self.by_id.get(&id) else {
                continue;
            };
            let k = &mut self.chks[i];
            if k.due != Some(t) {
                continue;
            }
            if !k.enabled {
                // keepalived's checker threads: "Register a new checker
                // thread & return if checker is disabled".
                let due = now + k.spec.delay_loop.max(Duration::from_millis(1));
                k.due = Some(due);
                self.queue.push(Reverse((due, id)));
                continue;
            }
            k.due = None;
            k.started = Some(now);
            let url = match k.flavor {
                Flavor::Http { .. } => k.url_it.unwrap_or(0),
                _ => 0,
            };
            out.push(Output::Start { id, url });
            started += 1;
        }
        out
    }

    /// The I/O layer finished checker `id`'s probe.
    pub fn complete(&mut self, id: CheckerId, result: ProbeResult, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(&i) = self.by_id.get(&id) else {
            return out;
        };
        if self.chks[i].started.is_none() {
            return out;
        }
        let delay = match self.chks[i].flavor {
            Flavor::Simple => self.simple_epilog(i, result, &mut out),
            Flavor::Http { .. } => self.http_epilog(i, result, &mut out),
            Flavor::Misc { dynamic } => self.misc_epilog(i, result, dynamic, &mut out),
        };
        let k = &mut self.chks[i];
        let base = match k.flavor {
            // MISC_CHECK counts from the start of the script.
            Flavor::Misc { .. } => k.started.unwrap_or(now),
            _ => now,
        };
        let due = (base + delay).max(now);
        k.started = None;
        k.due = Some(due);
        self.queue.push(Reverse((due, id)));
        out
    }

    /// The checker's log-worthy failure (keepalived logs each failure of an
    /// up checker, and every failure with `log_all_failures`).
    fn note_failure(&mut self, i: usize, why: &str, out: &mut Vec<Output>) {
        let k = &mut self.chks[i];
        if k.is_up || k.spec.log_all_failures {
            out.push(Output::Log(
                LogLevel::Info,
                format!("{} {}: {why}.", k.spec.kind.keyword(), k.name),
            ));
        }
        k.last_failure = Some(why.to_string());
    }

    /// `tcp_epilog` (also SMTP, DNS, UDP and PING).
    fn simple_epilog(&mut self, i: usize, r: ProbeResult, out: &mut Vec<Output>) -> Duration {
        let success = match &r {
            ProbeResult::Success => true,
            ProbeResult::Failure(why) => {
                let why = why.clone();
                self.note_failure(i, &why, out);
                false
            }
            ProbeResult::Script(_) => false,
        };
        let k = &mut self.chks[i];
        let mut delay = k.spec.delay_loop;
        let mut change = None;
        if success || ((k.is_up || !k.has_run) && k.retry_it >= k.spec.retry) {
            k.retry_it = 0;
            if success && !k.is_up {
                change = Some(true);
            } else if !success && k.is_up {
                change = Some(false);
            }
        } else if k.is_up {
            delay = k.spec.delay_before_retry;
            k.retry_it += 1;
        }
        k.has_run = true;
        if let Some(up) = change {
            self.set_checker(i, up, out);
        }
        delay
    }

    /// HTTP_GET/SSL_GET's `epilog`/`timeout_epilog` for one url.
    fn http_epilog(&mut self, i: usize, r: ProbeResult, out: &mut Vec<Output>) -> Duration {
        #[derive(PartialEq)]
        enum M {
            New,
            Retry,
            Failed,
        }
        let success = match &r {
            ProbeResult::Success => true,
            ProbeResult::Failure(why) => {
                let why = why.clone();
                self.note_failure(i, &why, out);
                false
            }
            ProbeResult::Script(_) => false,
        };
        let Flavor::Http {
            urls,
            fast_recovery,
        } = self.chks[i].flavor
        else {
            return self.chks[i].spec.delay_loop;
        };
        let mut change = None;
        let k = &mut self.chks[i];
        let method = if success {
            M::New
        } else if k.is_up || !k.has_run {
            k.has_run = true;
            M::Retry
        } else {
            M::Failed
        };
        match method {
            M::New => {
                let next = k.url_it.map_or(0, |u| u + 1);
                k.url_it = (next < urls).then_some(next);
                k.retry_it = 0;
            }
            M::Retry => k.retry_it += 1,
            M::Failed => {}
        }
        if method == M::New && k.url_it.is_none() && k.failed_url.is_none() {
            // Every url answered: the checker is up.
            if !k.is_up || !k.has_run {
                if !k.is_up {
                    change = Some(true);
                }
                k.has_run = true;
            }
            k.url_it = Some(0);
            k.retry_it = 0;
        } else if method == M::Retry && k.retry_it > k.spec.retry {
            if k.is_up {
                change = Some(false);
            }
            k.failed_url = Some(k.url_it.unwrap_or(0));
        } else if method == M::New && k.failed_url.is_some() {
            // The failed url answers again: check them all.
            k.failed_url = None;
            k.url_it = Some(0);
            k.retry_it = 0;
        }
        let mut delay = if method == M::New {
            if !k.has_run {
                k.retry_it = k.spec.retry;
            }
            k.spec.delay_loop
        } else if k.failed_url.is_some() {
            k.spec.delay_before_retry.max(k.spec.delay_loop)
        } else {
            k.spec.delay_before_retry
        };
        if let Some(up) = change {
            self.set_checker(i, up, out);
        }
        let k = &self.chks[i];
        if fast_recovery && (!k.has_run || (!k.is_up && k.failed_url.is_none())) {
            delay = Duration::ZERO;
        }
        delay
    }

    /// `misc_check_child_thread`.
    fn misc_epilog(
        &mut self,
        i: usize,
        r: ProbeResult,
        dynamic: bool,
        out: &mut Vec<Output>,
    ) -> Duration {
        enum V {
            Up(Option<u32>),
            Down(String),
            /// The parent did not run it: nothing learnt.
            Skip(String),
        }
        let v = match r {
            ProbeResult::Success => V::Up(None),
            ProbeResult::Failure(why) => V::Down(why),
            ProbeResult::Script(ScriptOutcome::Exited { code: 0 }) => V::Up(None),
            ProbeResult::Script(ScriptOutcome::Exited { code })
                if dynamic && (2..=255).contains(&code) =>
            {
                V::Up(Some(code as u32 - 2))
            }
            ProbeResult::Script(ScriptOutcome::Exited { code }) => {
                V::Down(format!("exited with status {code}"))
            }
            ProbeResult::Script(ScriptOutcome::Signaled { signal }) => {
                V::Down(format!("failed due to signal {signal}"))
            }
            ProbeResult::Script(ScriptOutcome::TimedOut) => V::Down("timed out".into()),
            ProbeResult::Script(ScriptOutcome::Refused { reason }) => V::Skip(reason),
        };
        let mut change = None;
        match v {
            V::Up(weight) => {
                if let Some(w) = weight {
                    self.set_weight(self.chks[i].rs, w, out);
                }
                let k = &mut self.chks[i];
                if !k.is_up {
                    change = Some(true);
                }
                k.retry_it = 0;
                k.has_run = true;
            }
            V::Down(why) => {
                self.note_failure(i, &why, out);
                let k = &mut self.chks[i];
                if k.is_up {
                    if k.retry_it < k.spec.retry {
                        k.retry_it += 1;
                    } else {
                        change = Some(false);
                        k.retry_it = 0;
                    }
                }
                k.has_run = true;
            }
            V::Skip(reason) => {
                // Once per reason: a script the parent disabled (insecure,
                // no such user) is refused at every round.
                let k = &mut self.chks[i];
                if k.last_failure.as_deref() != Some(reason.as_str()) {
                    out.push(Output::Log(
                        LogLevel::Warning,
                        format!("Misc check to {} not run: {reason}", k.name),
                    ));
                    k.last_failure = Some(reason);
                }
            }
        }
        if let Some(up) = change {
            self.set_checker(i, up, out);
        }
        // A weight change alone (the checker's state unchanged).
        self.update_rs(self.chks[i].rs, out);
        let k = &self.chks[i];
        if k.retry_it > 0 {
            k.spec.delay_before_retry
        } else {
            k.spec.delay_loop
        }
    }

    fn set_checker(&mut self, i: usize, up: bool, out: &mut Vec<Output>) {
        let k = &mut self.chks[i];
        if k.is_up == up {
            return;
        }
        k.is_up = up;
        let msg = match (&k.spec.kind, up) {
            (CheckerKind::Misc(_), true) => format!("Misc check to {} succeeded.", k.name),
            (CheckerKind::Misc(_), false) => format!(
                "Misc check to {} failed ({}).",
                k.name,
                k.last_failure.as_deref().unwrap_or("failed")
            ),
            (kind, true) => format!("{} on service {} succeeded.", kind.keyword(), k.name),
            (kind, false) if k.spec.retry > 0 => format!(
                "{} on service {} failed after {} retries ({}).",
                kind.keyword(),
                k.name,
                k.spec.retry,
                k.last_failure.as_deref().unwrap_or("failed")
            ),
            (kind, false) => format!(
                "{} on service {} failed ({}).",
                kind.keyword(),
                k.name,
                k.last_failure.as_deref().unwrap_or("failed")
            ),
        };
        out.push(Output::Log(LogLevel::Info, msg));
        let r = k.rs;
        let reason = (!up).then(|| k.last_failure.clone()).flatten();
        let rs_was_up = self.rss[r].reported.up;
        self.update_rs(r, out);
        if self.transitions.len() >= TRANSITIONS_MAX {
            self.transitions.remove(0);
        }
        self.transitions.push(CheckerTransition {
            id: self.chks[i].id,
            up,
            rs_was_up,
            rs_up: self.rss[r].reported.up,
            reason,
        });
    }

    /// The checker transitions since the last call.
    pub fn take_transitions(&mut self) -> Vec<CheckerTransition> {
        std::mem::take(&mut self.transitions)
    }

    fn set_weight(&mut self, r: usize, w: u32, out: &mut Vec<Output>) {
        let rs = &mut self.rss[r];
        let before = effective_weight(rs);
        // misc_dynamic sets the effective weight: what FILE_CHECKs added
        // is gone (keepalived's update_svr_wgt).
        rs.file_delta = 0;
        if rs.weight == w && before == w {
            return;
        }
        let up = rs.checkers.iter().all(|&i| self.chks[i].is_up)
            && rs.files.iter().all(|f| f.status != FAULT);
        out.push(Output::Log(
            LogLevel::Info,
            format!(
                "Changing weight from {before} to {w} for {}active service {} of VS {}",
                if up { "" } else { "in" },
                rs.name,
                rs.vs_name
            ),
        ));
        rs.weight = w;
    }

    /// Report the real server's health if it differs from the parent's.
    fn update_rs(&mut self, r: usize, out: &mut Vec<Output>) {
        let up = self.rss[r].checkers.iter().all(|&i| self.chks[i].is_up)
            && self.rss[r].files.iter().all(|f| f.status != FAULT);
        let rs = &mut self.rss[r];
        let now = Health {
            up,
            weight: effective_weight(rs),
        };
        if now == rs.reported {
            return;
        }
        if now.up != rs.reported.up {
            let msg = match (up, rs.inhibit) {
                (true, false) => format!("Adding service {} to VS {}", rs.name, rs.vs_name),
                (true, true) => format!("Enabling service {} of VS {}", rs.name, rs.vs_name),
                (false, false) => format!("Removing service {} from VS {}", rs.name, rs.vs_name),
                (false, true) => format!("Disabling service {} of VS {}", rs.name, rs.vs_name),
            };
            out.push(Output::Log(LogLevel::Info, msg));
        }
        rs.reported = now;
        out.push(Output::Health(HealthChange {
            real_server: rs.key.clone(),
            up: now.up,
            weight: now.weight,
        }));
    }

    /// Checker `id`, if it exists.
    pub fn checker(&self, id: CheckerId) -> Option<CheckerRef<'_>> {
        let k = &self.chks[*self.by_id.get(&id)?];
        let rs = rs_ref(&self.rss[k.rs]);
        Some(CheckerRef {
            id,
            real_server: rs.key,
            checker: &k.spec,
            misc_index: k.misc_index,
            name: &k.name,
            rs,
        })
    }

    /// Every real server.
    pub fn real_servers(&self) -> impl Iterator<Item = RsRef<'_>> {
        self.rss.iter().map(rs_ref)
    }

    /// Whether checker `id` has a probe running.
    pub fn is_running(&self, id: CheckerId) -> bool {
        self.by_id
            .get(&id)
            .is_some_and(|&i| self.chks[i].started.is_some())
    }

    /// Every real server's health as reported.
    pub fn health(&self) -> impl Iterator<Item = (&RealServerKey, Health)> {
        self.rss.iter().map(|r| (&r.key, r.reported))
    }

    /// The checkers' state, for dumps.
    pub fn dump(&self, now: Instant, s: &mut String) {
        for rs in &self.rss {
            let _ = writeln!(
                s,
                " Real server {} of VS {}: {}, weight {}",
                rs.name,
                rs.vs_name,
                if rs.reported.up { "up" } else { "down" },
                rs.reported.weight
            );
            for &i in &rs.checkers {
                let k = &self.chks[i];
                let when = match (k.started, k.due) {
                    (Some(_), _) => "running".to_string(),
                    (None, Some(d)) => {
                        format!(
                            "next in {:.3}s",
                            d.saturating_duration_since(now).as_secs_f64()
                        )
                    }
                    (None, None) => "idle".to_string(),
                };
                let _ = writeln!(
                    s,
                    "   {} {}: {}, retry {}/{}, {when}{}",
                    k.spec.kind.keyword(),
                    k.name,
                    if k.is_up { "up" } else { "down" },
                    k.retry_it,
                    k.spec.retry,
                    if k.enabled {
                        ""
                    } else {
                        ", suspended (ha_suspend)"
                    }
                );
            }
            for f in &rs.files {
                let _ = writeln!(
                    s,
                    "   FILE_CHECK {} ({}): {}, value {}, weight {}{}",
                    f.spec.track_file,
                    f.spec.path,
                    if f.status == FAULT { "down" } else { "up" },
                    self.file_values.get(&f.spec.path).copied().unwrap_or(0),
                    f.spec.weight,
                    if f.spec.reverse { " reverse" } else { "" }
                );
            }
        }
    }
}

fn rs_ref(r: &Rs) -> RsRef<'_> {
    RsRef {
        key: &r.key,
        reported: r.reported,
        name: &r.name,
        vs_name: &r.vs_name,
        smtp_alert: r.smtp_alert,
    }
}

/// Each virtual server (its real servers taken out) with its real
/// servers, by value and one at a time: what the core has taken is freed
/// before the next.
fn split(lvs: LvsConfig) -> impl Iterator<Item = (VirtualServer, Vec<RealServer>)> {
    lvs.virtual_servers.into_iter().map(|mut vs| {
        let rss = std::mem::take(&mut vs.real_servers);
        (vs, rss)
    })
}

/// A real server's checkers, taken out, each with its number among the
/// real server's MISC_CHECKs.
fn take_checkers(rs: &mut RealServer) -> impl Iterator<Item = (Checker, u32)> + use<> {
    let mut misc = 0;
    std::mem::take(&mut rs.checkers).into_iter().map(move |c| {
        let index = misc;
        if matches!(c.kind, CheckerKind::Misc(_)) {
            misc += 1;
        }
        (c, index)
    })
}

/// A real server's weight with what its FILE_CHECKs add, within IPVS's
/// range.
fn effective_weight(rs: &Rs) -> u32 {
    (i64::from(rs.weight) + rs.file_delta).clamp(0, IPVS_WEIGHT_MAX) as u32
}

#[cfg(test)]
pub(crate) mod tests;
