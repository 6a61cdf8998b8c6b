//! Tracked objects (interfaces, `vrrp_script`s, `track_file`s,
//! `vrrp_track_process`es) and what they do to an instance, as keepalived
//! 2.2.7's `vrrp_track.c` computes it:
//!
//! * weight 0: the instance is in FAULT while the object is down (with
//!   `reverse`, while it is up);
//! * weight `w` != 0, multiplier `m` = -1 with `reverse`, else 1: an up
//!   object adds `w * m` when `w > 0`, a down one adds `w * m` when `w < 0`
//!   (so `+w` is a bonus while up, `-w` a penalty while down);
//! * a `track_file` adds `value * w * m` (capped at 253), and puts the
//!   instance in FAULT at -254 or below; with weight 0, a non-zero value is
//!   a fault (a zero value with `reverse`);
//! * a process is up while its count is within `quorum..=quorum_max`;
//! * a track script is neither up nor down until its first result: a
//!   weighted one adds nothing, a weight-0 one holds the instance in its
//!   initial state (`init_fail` starts it down);
//! * the instance's own interface is tracked with weight 0 unless
//!   `dont_track_primary`, and so is the interface of each VIP or excluded
//!   VIP on another interface unless `no_track`;
//! * no source address, or `unicast_fault_no_peer` without peers: FAULT;
//! * the sync group's tracked objects count for each member.
//!
//! The effective priority is base + the sum, clamped to 1..=254; an
//! address owner's never changes.

use super::Machine;
use super::instance::Inst;
use super::sync::Group;
use config::model::vrrp::{TrackedInterface, TrackedRef, VrrpConfig};
use ipc::{ScriptEntry, ScriptId, ScriptOutcome, ScriptPurpose};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Where a track script stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptStatus {
    Init,
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitState {
    Init,
    Failed,
    Done,
}

#[derive(Debug)]
struct Script {
    name: String,
    id: Option<ScriptId>,
    interval: Duration,
    rise: i32,
    fall: i32,
    /// keepalived's `result`: 0..rise-1 failing, rise..rise+fall-1 good.
    result: i32,
    init_state: InitState,
    status: ScriptStatus,
    last_status: Option<i32>,
    running: Option<u64>,
    next_run: Option<Instant>,
    used: bool,
}

#[derive(Debug)]
struct Process {
    quorum: u32,
    quorum_max: Option<u32>,
    count: u32,
}

impl Process {
    fn has_quorum(&self) -> bool {
        self.count >= self.quorum && self.quorum_max.is_none_or(|m| self.count <= m)
    }
}

/// A track script run to ask for, or a run skipped.
#[derive(Debug)]
pub enum ScriptRun {
    Run { index: usize, id: ScriptId },
    Busy { name: String },
}

/// What tracking says about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eval {
    /// keepalived's `total_priority`.
    pub total: i32,
    /// Why the instance is down, if it is.
    pub fault: Option<String>,
    /// A weight-0 script has no result yet.
    pub init: bool,
}

/// All tracked objects.
#[derive(Debug, Default)]
pub struct Tracking {
    down_ifs: BTreeSet<String>,
    files: BTreeMap<String, i64>,
    processes: BTreeMap<String, Process>,
    scripts: Vec<Script>,
}

fn contribution(up: bool, weight: i32, reverse: bool) -> i32 {
    let m = if reverse { -1 } else { 1 };
    if up {
        if weight > 0 { weight * m } else { 0 }
    } else if weight < 0 {
        weight * m
    } else {
        0
    }
}

impl Tracking {
    pub fn new(cfg: &VrrpConfig, table: &[ScriptEntry]) -> Tracking {
        let mut used = BTreeSet::new();
        for i in &cfg.instances {
            used.extend(i.track_scripts.iter().map(|t| t.name.clone()));
        }
        for g in &cfg.sync_groups {
            used.extend(g.track_scripts.iter().map(|t| t.name.clone()));
        }
        let scripts = cfg
            .scripts
            .iter()
            .map(|s| {
                let id = table.iter().find_map(|e| match &e.purpose {
                    ScriptPurpose::VrrpScript { name } if *name == s.name => Some(e.id),
                    _ => None,
                });
                let rise = s.rise.clamp(1, 1_000_000) as i32;
                let fall = s.fall.clamp(1, 1_000_000) as i32;
                Script {
                    name: s.name.clone(),
                    id,
                    interval: s.interval.max(Duration::from_millis(1)),
                    rise,
                    fall,
                    result: if s.init_fail { 0 } else { rise - 1 },
                    init_state: if s.init_fail {
                        InitState::Failed
                    } else {
                        InitState::Init
                    },
                    status: if s.init_fail {
                        ScriptStatus::Down
                    } else {
                        ScriptStatus::Init
                    },
                    last_status: None,
                    running: None,
                    next_run: None,
                    used: used.contains(&s.name) && id.is_some(),
                }
            })
            .collect();
        let processes = cfg
            .track_processes
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    Process {
                        quorum: p.quorum,
                        quorum_max: p.quorum_max,
                        count: 0,
                    },
                )
            })
            .collect();
        Tracking {
            down_ifs: BTreeSet::new(),
            files: cfg
                .track_files
                .iter()
                .map(|f| (f.name.clone(), 0))
                .collect(),
            processes,
            scripts,
        }
    }

    /// Record an interface's state; true if it changed.
    pub fn set_interface(&mut self, name: &str, up: bool) -> bool {
        if up {
            self.down_ifs.remove(name)
        } else {
            self.down_ifs.insert(name.to_string())
        }
    }

    pub fn interface_up(&self, name: &str) -> bool {
        !self.down_ifs.contains(name)
    }

    pub fn set_file(&mut self, name: &str, value: i64) -> bool {
        match self.files.get_mut(name) {
            Some(v) if *v != value => {
                *v = value;
                true
            }
            _ => false,
        }
    }

    /// Some(new quorum) when the quorum changed.
    pub fn set_process(&mut self, name: &str, count: u32) -> Option<bool> {
        let p = self.processes.get_mut(name)?;
        let before = p.has_quorum();
        p.count = count;
        let after = p.has_quorum();
        (before != after).then_some(after)
    }

    pub fn script_status(&self, name: &str) -> Option<ScriptStatus> {
        self.scripts
            .iter()
            .find(|s| s.name == name && s.used)
            .map(|s| s.status)
    }

    /// Schedule every used script to run at once (keepalived runs them at
    /// start, then every interval).
    pub fn start(&mut self, now: Instant) {
        for s in self.scripts.iter_mut().filter(|s| s.used) {
            s.next_run = Some(now);
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.scripts.iter().filter_map(|s| s.next_run).min()
    }

    pub fn due_scripts(&mut self, now: Instant) -> Vec<ScriptRun> {
        let mut v = Vec::new();
        for (index, s) in self.scripts.iter_mut().enumerate() {
            if s.next_run.is_some_and(|t| t <= now) {
                s.next_run = Some(now + s.interval);
                match (s.running, s.id) {
                    (Some(_), _) => v.push(ScriptRun::Busy {
                        name: s.name.clone(),
                    }),
                    (None, Some(id)) => v.push(ScriptRun::Run { index, id }),
                    (None, None) => {}
                }
            }
        }
        v
    }

    pub fn started(&mut self, index: usize, request: u64) {
        self.scripts[index].running = Some(request);
    }

    /// A script finished; true when its up/down status changed.
    pub fn script_done(
        &mut self,
        request: u64,
        outcome: &ScriptOutcome,
        logs: &mut Vec<String>,
    ) -> bool {
        let Some(s) = self.scripts.iter_mut().find(|s| s.running == Some(request)) else {
            return false;
        };
        s.running = None;
        let (success, kind, reason) = match outcome {
            ScriptOutcome::Exited { code } => {
                if s.last_status != Some(*code) {
                    logs.push(format!("Script `{}` now returning {code}", s.name));
                }
                s.last_status = Some(*code);
                if *code == 0 {
                    (true, "succeeded", None)
                } else {
                    (false, "failed", Some(format!("exited with status {code}")))
                }
            }
            ScriptOutcome::Signaled { signal } => {
                (false, "failed", Some(format!("due to signal {signal}")))
            }
            ScriptOutcome::TimedOut => (false, "timed_out", None),
            ScriptOutcome::Refused { reason } => {
                logs.push(format!("Track script {} not run: {reason}", s.name));
                return false;
            }
        };
        let mut changed = false;
        if success {
            if s.result < s.rise - 1 {
                s.result += 1;
            } else if s.result != s.rise + s.fall - 1 {
                if s.result < s.rise {
                    logs.push(format!("VRRP_Script({}) {kind}", s.name));
                    changed = s.status != ScriptStatus::Up;
                    s.status = ScriptStatus::Up;
                }
                s.result = s.rise + s.fall - 1;
            }
        } else if s.result > s.rise {
            s.result -= 1;
        } else {
            if s.result == s.rise || s.init_state == InitState::Init {
                match reason {
                    Some(r) => logs.push(format!("VRRP_Script({}) {kind} ({r})", s.name)),
                    None => logs.push(format!("VRRP_Script({}) {kind}", s.name)),
                }
                changed = s.status != ScriptStatus::Down;
                s.status = ScriptStatus::Down;
            }
            s.result = 0;
        }
        s.init_state = InitState::Done;
        changed
    }

    fn eval_if(&self, t: &TrackedInterface, e: &mut Eval) {
        let up = self.interface_up(&t.name);
        if t.weight == 0 {
            if up == t.reverse {
                e.fault
                    .get_or_insert_with(|| format!("interface {} down", t.name));
            }
        } else {
            e.total += contribution(up, t.weight, t.reverse);
        }
    }

    fn eval_script(&self, t: &TrackedRef, e: &mut Eval) {
        match self.script_status(&t.name) {
            None => {}
            Some(ScriptStatus::Init) if t.weight == 0 => e.init = true,
            Some(ScriptStatus::Init) => {}
            Some(st) => {
                let up = st == ScriptStatus::Up;
                if t.weight == 0 {
                    if up == t.reverse {
                        e.fault
                            .get_or_insert_with(|| format!("script {} failed", t.name));
                    }
                } else {
                    e.total += contribution(up, t.weight, t.reverse);
                }
            }
        }
    }

    fn eval_file(&self, t: &TrackedRef, e: &mut Eval) {
        let Some(&value) = self.files.get(&t.name) else {
            return;
        };
        let m: i64 = if t.reverse { -1 } else { 1 };
        let status = if t.weight == 0 {
            if (value != 0) == (m == 1) { -254 } else { 0 }
        } else {
            value.saturating_mul(i64::from(t.weight)).saturating_mul(m)
        };
        if status <= -254 {
            e.fault
                .get_or_insert_with(|| format!("tracked file {} has status {status}", t.name));
        } else {
            e.total += status.min(253) as i32;
        }
    }

    fn eval_process(&self, t: &TrackedRef, e: &mut Eval) {
        let Some(p) = self.processes.get(&t.name) else {
            return;
        };
        let up = p.has_quorum();
        if t.weight == 0 {
            if up == t.reverse {
                e.fault.get_or_insert_with(|| {
                    format!("tracked process {} quorum not achieved", t.name)
                });
            }
        } else {
            e.total += contribution(up, t.weight, t.reverse);
        }
    }

    /// What tracking says about an instance now.
    pub fn evaluate(&self, x: &Inst, groups: &[Group]) -> Eval {
        let c = &x.cfg;
        let mut e = Eval {
            total: i32::from(x.base_priority),
            fault: None,
            init: false,
        };
        if x.src.is_none() {
            e.fault = Some(format!(
                "no IPv{} address for interface",
                match c.family {
                    config::model::vrrp::Family::Ipv4 => 4,
                    config::model::vrrp::Family::Ipv6 => 6,
                }
            ));
        }
        if c.fault_no_peer {
            e.fault
                .get_or_insert_with(|| "no unicast peers".to_string());
        }
        if let Some(ifname) = &c.interface {
            if !c.dont_track_primary && !self.interface_up(ifname) {
                e.fault
                    .get_or_insert_with(|| format!("interface {ifname} down"));
            }
            for a in c
                .virtual_ipaddresses
                .iter()
                .chain(&c.virtual_ipaddresses_excluded)
            {
                if let Some(dev) = &a.dev
                    && dev != ifname
                    && !a.no_track
                    && !self.interface_up(dev)
                {
                    e.fault
                        .get_or_insert_with(|| format!("interface {dev} down"));
                }
            }
        }
        let group = x.group.map(|g| &groups[g]);
        for t in c
            .track_interfaces
            .iter()
            .chain(group.into_iter().flat_map(|g| g.track_interfaces.iter()))
        {
            self.eval_if(t, &mut e);
        }
        for t in c
            .track_scripts
            .iter()
            .chain(group.into_iter().flat_map(|g| g.track_scripts.iter()))
        {
            self.eval_script(t, &mut e);
        }
        for t in c
            .track_files
            .iter()
            .chain(group.into_iter().flat_map(|g| g.track_files.iter()))
        {
            self.eval_file(t, &mut e);
        }
        for t in c
            .track_processes
            .iter()
            .chain(group.into_iter().flat_map(|g| g.track_processes.iter()))
        {
            self.eval_process(t, &mut e);
        }
        e
    }
}

impl Machine {
    /// Re-evaluate every instance after a tracked object changed:
    /// priority first, then FAULT in or out (`down_instance`,
    /// `try_up_instance`).
    pub(crate) fn retrack(&mut self, now: Instant) {
        for i in 0..self.inst.len() {
            let e = self.track.evaluate(&self.inst[i], &self.groups);
            self.set_effective_priority(now, i, e.total, true);
            let x = &mut self.inst[i];
            let init = e.init && !x.restored_up();
            let (was_fault, was_init) = (x.faulted, x.init_pending);
            let fault = e.fault.is_some();
            x.faulted = fault;
            x.init_pending = init;
            if let Some(g) = x.group {
                let n = self.groups[g]
                    .members
                    .iter()
                    .filter(|&&j| self.inst[j].init_pending)
                    .count();
                self.groups[g].num_init = n as u32;
            }
            let x = &self.inst[i];
            if fault && !was_fault {
                let msg = format!(
                    "({}) entering FAULT state ({})",
                    x.cfg.name,
                    e.fault.as_deref().unwrap_or("")
                );
                self.log(ipc::LogLevel::Info, msg);
                self.down_instance(now, i);
            } else if !fault && was_fault && !init {
                self.try_up_instance(now, i, false);
            } else if !fault && !was_fault && was_init && !init {
                self.try_up_instance(now, i, true);
            } else if !fault && was_fault && init {
                if let Some(g) = x.group {
                    self.groups[g].num_fault = self.groups[g].num_fault.saturating_sub(1);
                }
                self.inst[i].wantstate = ipc::VrrpState::Backup;
            }
        }
    }
}
