//! The VRRP state machines of every instance and sync group, sans I/O.
//!
//! Pure code: no sockets, no clock, no threads. The I/O shell feeds it
//! inputs, each with the current time (`now: Instant`, from a monotonic
//! clock), and carries out the [`Action`]s it returns, in order. Between
//! inputs it sleeps until [`Machine::next_deadline`] and then calls
//! [`Machine::on_timer`]. Everything is deterministic: the same inputs at
//! the same instants give the same actions.
//!
//! # Driving it (the I/O shell's contract)
//!
//! ```text
//! let mut m = Machine::new(&slice, &scripts, &restored);
//! for each instance id (m.instance_ids()):
//!     m.set_source_address(now, id, Some(primary address of its interface))
//!     m.interface_changed(now, ifname, false)   for interfaces that are down
//! run(m.start(now));
//! loop {
//!     poll(timeout = m.next_deadline() - now);
//!     advert on a socket  -> id = m.find(ifname, family, vrid, unicast)
//!                            run(m.receive(now, id, vrrp_bytes, &meta))
//!     link up/down        -> run(m.interface_changed(now, ifname, up))
//!     address change      -> run(m.set_source_address(now, id, addr))
//!     ScriptDone          -> run(m.script_done(now, request, &outcome))
//!     track_file value    -> run(m.track_file_value(now, name, value))
//!     process count       -> run(m.track_process_count(now, name, n))
//!     timer               -> run(m.on_timer(now))
//!     Shutdown            -> run(m.shutdown(now)); exit
//!     Reload              -> snap = m.snapshot(); m = Machine::new(new slice, .., &snap)
//! }
//! ```
//!
//! For IPv4, [`crate::packet::parse_ipv4`] splits what the raw socket
//! returned and [`crate::packet::RxMeta::from_ipv4`] describes it; for IPv6
//! [`crate::packet::RxMeta::ipv6`] takes the hop limit and the packet-info
//! destination. Packets for a VRID no instance has are the shell's to
//! ignore.
//!
//! The worker's Landlock sandbox cannot read `/proc/PID` or arbitrary
//! files, so `track_file` values and `vrrp_track_process` counts come from
//! outside (the parent); until told otherwise a file's value is 0 and a
//! process count is 0 (no quorum), as keepalived starts when the file is
//! missing and no process matches.
//!
//! [`Action`]s, carried out in the order given:
//! * `SendAdvert { instance, advert, ah }`: encode with
//!   [`crate::packet::Advert::encode`] (or `encode_ipv4`, TTL from the
//!   instance, IP id counting up from 1; with `ah`,
//!   [`crate::packet::Advert::encode_ipv4_ah`] with its sequence number and
//!   IP id) from the instance's source address to its multicast group, or
//!   to each `unicast_peer`, and send.
//! * `AddVips` / `RemoveVips`: install / remove the instance's
//!   `virtual_ipaddress`, `virtual_ipaddress_excluded`, `virtual_routes`,
//!   `virtual_rules`.
//! * `SendGarp { instance, repeat }`: `repeat` rounds of gratuitous ARP
//!   (IPv4) / unsolicited NA (IPv6) for each VIP and excluded VIP, spaced
//!   by `vrrp_garp_interval` / `vrrp_gna_interval` per interface (the
//!   shell's job).
//! * `SendExtraGarp { instance }`: the `garp_extra_if` round: one
//!   gratuitous ARP / NA per interface of the instance's VIPs and
//!   excluded VIPs that is not its own interface and is a VMAC (any
//!   interface with `garp_extra_if all`), for the first VIP on it
//!   (keepalived's `vrrp_send_vmac_update`, due at the first advert after
//!   the interval).
//! * `Report(InstanceState)`: send `FromWorker::InstanceState`. Always
//!   before the notify scripts of the same change, so the parent's
//!   `notify` arguments (TYPE NAME STATE PRIORITY) are current.
//! * `RunScript { request, id }`: send `FromWorker::RunScript`; give the
//!   `ScriptDone` to [`Machine::script_done`] (track scripts use it).
//! * `Log { level, message }`: send `FromWorker::Log`.
//!
//! # Timers (keepalived 2.2.7, `vrrp.h`)
//!
//! * Skew: VRRPv2 `(256 - priority) / 256` s whatever the advert interval;
//!   VRRPv3 `(256 - priority) * Master_Adver_Interval / 256` (computed in
//!   microseconds as keepalived does: `(256-p) * (mai / 10ms) * 625 / 16`).
//!   `priority` is the effective priority.
//! * Master down timer: `down_timer_adverts` (default 3) times
//!   Master_Adver_Interval plus the skew.
//! * A VRRPv3 backup adopts the master's advert interval as its
//!   Master_Adver_Interval; a master sends at its own `advert_int`.
//!
//! # Where keepalived-rs follows keepalived rather than the RFCs
//!
//! * `state MASTER` on a non-owner does not make the instance master at
//!   start: like keepalived it starts in BACKUP with the full master down
//!   timer (measured with keepalived 2.2.7: 3.55 s to MASTER with
//!   `state MASTER`, 3.54 s with `state BACKUP`, priority 120, advert 1 s).
//!   Only an address owner (priority 255) goes to MASTER at once (after a
//!   1 µs backup timer, as keepalived does). The same holds in a sync
//!   group (measured: two `state MASTER` members, priorities 100 and 150,
//!   both MASTER after 3.7 s, the 150 one waiting for the 100 one).
//! * The v2 skew is `(256 - priority) / 256` s even when `advert_int` is
//!   longer than 1 s (RFC 3768 has the same formula; RFC 5798 scales it).
//! * A backup does not break priority ties by address (it accepts an equal
//!   priority advert, as both RFCs say); two masters do: the higher
//!   primary address wins.
//! * A master receiving a lower-priority advert (or equal with a lower
//!   address) answers at once with its own advert unless
//!   `lower_prio_no_advert`, sends `garp_lower_prio_repeat` gratuitous ARPs
//!   (again after `garp_lower_prio_delay`), and runs
//!   `notify_master_rx_lower_pri`; with `higher_prio_send_advert` a master
//!   sends one advert before yielding to a higher priority.
//! * A master receiving priority 0 sends an advert at once (RFC 5798
//!   6.4.3), and its advert timer restarts after any advert it accepted.
//! * Two address owners seeing each other: the local one drops to 254.
//! * Leaving MASTER for FAULT sends two priority-0 adverts (keepalived
//!   sends one from `vrrp_state_leave_master` and one from
//!   `vrrp_restore_interface`); every priority-0 advert is counted in
//!   `priority_zero_sent`.
//! * `preempt_delay`: a backup accepts lower-priority adverts for
//!   `preempt_delay` after the first one, then discards them (and takes
//!   over when its down timer runs out).
//! * Becoming master resets Master_Adver_Interval to the configured one
//!   (keepalived 2.2.7 does so only when logging in detail).
//! * After a fault clears, even an owner goes through BACKUP and its
//!   master down timer (keepalived's `try_up_instance`).
//! * Track scripts: keepalived's rise/fall counter (`result`), one success
//!   enough from the initial state; a run is skipped while the previous one
//!   is still running (keepalived logs that and runs it anyway).
//! * Adverts received in FAULT (or before start) are ignored without
//!   counting, as keepalived does.
//! * One departure from keepalived: a packet that fails the checks does not
//!   restart a master's advert timer (keepalived restarts it after any
//!   packet it read, so a stream of bad packets could silence a master).
//!
//! # Not done here
//!
//! * `notify_priority_changes` (keepalived's MASTER_PRIORITY /
//!   BACKUP_PRIORITY events have no [`ipc::NotifyEvent`]).
//! * The gratuitous ARP / NA for its own address a unicast instance sends
//!   when it leaves FAULT.
//! * A restored instance does not know its track scripts' last results:
//!   until they report, weighted scripts add nothing to its priority (a
//!   weight-0 script does not hold a restored MASTER or BACKUP back).
//! * Interface up/down debounce timers.

pub mod instance;
mod sync;
mod track;

#[cfg(test)]
mod tests;

use crate::packet::{self, Advert, RxMeta};
use config::model::vrrp::{Family, VrrpInstance};
use instance::Inst;
use ipc::{
    DropReason, InstanceRestore, InstanceState, LogLevel, NotifyEvent, ScriptEntry, ScriptId,
    ScriptOutcome, ScriptPurpose, VrrpCounters, VrrpSlice, VrrpState,
};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use sync::Group;
use track::{ScriptRun, Tracking};

/// An instance, by its index in the configuration's `instances`. Stable for
/// the life of a [`Machine`] (a reload builds a new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(pub usize);

/// Something the I/O shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this advertisement for the instance (to its multicast group or
    /// to each unicast peer).
    SendAdvert {
        instance: InstanceId,
        advert: Advert,
        /// `auth_type AH`: what goes in the IP and AH headers (see
        /// [`crate::packet::Advert::encode_ipv4_ah`]).
        ah: Option<AhTx>,
    },
    /// Install the instance's virtual addresses, routes and rules.
    AddVips { instance: InstanceId },
    /// Remove them.
    RemoveVips { instance: InstanceId },
    /// Send `repeat` gratuitous ARPs / unsolicited NAs for each VIP.
    SendGarp { instance: InstanceId, repeat: u32 },
    /// `garp_extra_if`: one gratuitous ARP / unsolicited NA on each
    /// interface of the instance's VIPs other than its own (VMACs only,
    /// unless `all`), for the first VIP on it.
    SendExtraGarp { instance: InstanceId },
    /// Tell the parent the instance's state or priority changed.
    Report(InstanceState),
    /// Ask the parent to run a script; `request` comes back in
    /// [`Machine::script_done`].
    RunScript { request: u64, id: ScriptId },
    /// A line for syslog, worded as keepalived words it.
    Log { level: LogLevel, message: String },
}

/// The per-advert fields of an AH-authenticated advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhTx {
    /// The AH sequence number (every unicast peer gets the same).
    pub seq: u32,
    /// The IPv4 id.
    pub ip_id: u16,
}

/// The VRRP side of the worker: every instance, sync group and tracked
/// object.
#[derive(Debug)]
pub struct Machine {
    pub(crate) inst: Vec<Inst>,
    pub(crate) groups: Vec<Group>,
    pub(crate) track: Tracking,
    /// Notify scripts by purpose.
    notify_ids: BTreeMap<ScriptPurpose, ScriptId>,
    next_request: u64,
    /// `vrrp_startup_delay`: backups do not start their timers before.
    delayed_start: Option<Instant>,
    startup_delay: Option<Duration>,
    started: bool,
    stopped: bool,
    out: Vec<Action>,
    /// Log rate limit of dropped adverts, per instance and reason.
    reject_logs: BTreeMap<(usize, DropReason), RejectLog>,
}

/// How many lines one instance logs per drop reason in
/// [`REJECT_LOG_WINDOW`]; the rest are counted (ctl status) and summed up
/// in one line when the next window opens, so a flood of bad adverts
/// cannot flood the log.
pub const REJECT_LOG_BURST: u32 = 5;
/// See [`REJECT_LOG_BURST`].
pub const REJECT_LOG_WINDOW: Duration = Duration::from_secs(10);

/// One rate-limited log: [`REJECT_LOG_BURST`] lines per
/// [`REJECT_LOG_WINDOW`], the rest counted and summed up when the next
/// window opens.
#[derive(Debug, Clone, Copy, Default)]
pub struct RejectLog {
    window_start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl RejectLog {
    /// One more event at `now`: the number of lines suppressed in the
    /// window that just closed (to be summed up in one line), and whether
    /// this event gets its own line.
    pub fn admit(&mut self, now: Instant) -> (Option<u64>, bool) {
        let mut summary = None;
        let expired = self
            .window_start
            .is_none_or(|t| now.saturating_duration_since(t) >= REJECT_LOG_WINDOW);
        if expired {
            if self.suppressed > 0 {
                summary = Some(self.suppressed);
            }
            *self = RejectLog {
                window_start: Some(now),
                logged: 0,
                suppressed: 0,
            };
        }
        if self.logged < REJECT_LOG_BURST {
            self.logged += 1;
            (summary, true)
        } else {
            self.suppressed += 1;
            (summary, false)
        }
    }
}

impl Machine {
    /// Build the machine for a configuration. `scripts` is the worker's
    /// script table (track scripts and notify scripts are found in it by
    /// purpose; a script missing from it is never run). `restored` is the
    /// state each instance had in the previous worker (empty on a first
    /// start): see [`Machine::start`].
    pub fn new(
        slice: &VrrpSlice,
        scripts: &[ScriptEntry],
        restored: &BTreeMap<String, InstanceRestore>,
    ) -> Machine {
        let notify_ids = scripts
            .iter()
            .filter(|e| !matches!(e.purpose, ScriptPurpose::VrrpScript { .. }))
            .map(|e| (e.purpose.clone(), e.id))
            .collect();
        let track = Tracking::new(&slice.vrrp, scripts);
        let mut inst: Vec<Inst> = slice
            .vrrp
            .instances
            .iter()
            .enumerate()
            .map(|(i, c)| Inst::new(InstanceId(i), c, restored.get(&c.name).copied()))
            .collect();
        let groups = sync::build(&slice.vrrp, &mut inst);
        Machine {
            inst,
            groups,
            track,
            notify_ids,
            reject_logs: BTreeMap::new(),
            next_request: 1,
            delayed_start: None,
            startup_delay: if restored.is_empty() {
                slice.global.vrrp_startup_delay.filter(|d| !d.is_zero())
            } else {
                None
            },
            started: false,
            stopped: false,
            out: Vec::new(),
        }
    }

    // ------------------------------------------------------------ queries

    /// Every instance's id, in configuration order.
    pub fn instance_ids(&self) -> impl Iterator<Item = InstanceId> + '_ {
        (0..self.inst.len()).map(InstanceId)
    }

    /// The instance called `name`.
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.inst
            .iter()
            .position(|i| i.cfg.name == name)
            .map(InstanceId)
    }

    /// The instance that receives adverts for `vrid` of `family` on
    /// `interface` (the configured interface name), multicast or unicast.
    pub fn find(
        &self,
        interface: &str,
        family: Family,
        vrid: u8,
        unicast: bool,
    ) -> Option<InstanceId> {
        self.inst
            .iter()
            .position(|i| {
                i.cfg.vrid == vrid
                    && i.cfg.family == family
                    && i.cfg.interface.as_deref() == Some(interface)
                    && i.cfg.unicast_peers.is_empty() != unicast
            })
            .map(InstanceId)
    }

    /// The configuration of an instance.
    pub fn config(&self, id: InstanceId) -> &VrrpInstance {
        &self.inst[id.0].cfg
    }

    /// The instance's state as the parent sees it.
    pub fn instance_state(&self, id: InstanceId) -> InstanceState {
        self.inst[id.0].report()
    }

    pub fn state(&self, id: InstanceId) -> VrrpState {
        self.inst[id.0].state
    }

    pub fn effective_priority(&self, id: InstanceId) -> u8 {
        self.inst[id.0].effective
    }

    pub fn counters(&self, id: InstanceId) -> &VrrpCounters {
        &self.inst[id.0].counters
    }

    /// The AH key of an instance: its password as keepalived pads it.
    pub fn ah_key(&self, id: InstanceId) -> [u8; packet::AUTH_LEN] {
        self.inst[id.0].password
    }

    /// An instance's AH sequence number counter.
    pub fn ah_counter(&self, id: InstanceId) -> packet::AhCounter {
        self.inst[id.0].ah
    }

    /// The source address adverts are sent from (and ties are broken by).
    pub fn source_address(&self, id: InstanceId) -> Option<IpAddr> {
        self.inst[id.0].src
    }

    /// What a new machine needs to resume where this one is (for a reload
    /// or a handover): each instance's state, whether it holds its VIPs,
    /// and its AH sequence number counter (keepalived 2.2.7 goes on
    /// numbering across a reload, measured: 4 before SIGHUP, 5 after; its
    /// IP id starts again from 1, as a new machine's does. Starting again
    /// from 1, a MASTER would have its adverts refused as replays by its
    /// peers until they took over).
    pub fn snapshot(&self) -> BTreeMap<String, InstanceRestore> {
        self.inst
            .iter()
            .map(|i| {
                (
                    i.cfg.name.clone(),
                    InstanceRestore {
                        state: i.state,
                        holds_vips: i.vipset,
                        ah_seq: i.ah.seq,
                    },
                )
            })
            .collect()
    }

    /// The earliest instant at which [`Machine::on_timer`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        if !self.started || self.stopped {
            return None;
        }
        let inst = self.inst.iter().filter_map(|i| i.next_deadline());
        inst.chain(self.track.next_deadline()).min()
    }

    // ------------------------------------------------------------ inputs

    /// The primary address of the instance's interface (or its configured
    /// `mcast_src_ip`/`unicast_src_ip`) appeared, changed or went away.
    /// Without one an instance is in FAULT, as in keepalived.
    pub fn set_source_address(
        &mut self,
        now: Instant,
        id: InstanceId,
        addr: Option<IpAddr>,
    ) -> Vec<Action> {
        self.inst[id.0].src = addr;
        if self.started && !self.stopped {
            self.retrack(now);
        }
        self.finish()
    }

    /// An interface went up or down (by name). Before [`Machine::start`]
    /// this only records it.
    pub fn interface_changed(&mut self, now: Instant, name: &str, up: bool) -> Vec<Action> {
        if self.track.set_interface(name, up) && self.started && !self.stopped {
            self.log(
                LogLevel::Info,
                format!("Netlink reports {name} {}", if up { "up" } else { "down" }),
            );
            self.retrack(now);
        }
        self.finish()
    }

    /// The value read from a `track_file`.
    pub fn track_file_value(&mut self, now: Instant, name: &str, value: i64) -> Vec<Action> {
        if self.track.set_file(name, value) && self.started && !self.stopped {
            self.retrack(now);
        }
        self.finish()
    }

    /// How many processes match a `vrrp_track_process`.
    pub fn track_process_count(&mut self, now: Instant, name: &str, count: u32) -> Vec<Action> {
        if let Some(change) = self.track.set_process(name, count) {
            self.log(
                LogLevel::Info,
                format!(
                    "Quorum {} for tracked process {name}",
                    if change { "gained" } else { "lost" }
                ),
            );
            if self.started && !self.stopped {
                self.retrack(now);
            }
        }
        self.finish()
    }

    /// The end of a script asked for with [`Action::RunScript`].
    pub fn script_done(
        &mut self,
        now: Instant,
        request: u64,
        outcome: &ScriptOutcome,
    ) -> Vec<Action> {
        let mut logs = Vec::new();
        let changed = self.track.script_done(request, outcome, &mut logs);
        for l in logs {
            self.log(LogLevel::Info, l);
        }
        if changed && self.started && !self.stopped {
            self.retrack(now);
        }
        self.finish()
    }

    /// Start: keepalived's `vrrp_init_state`, or the restored states.
    ///
    /// With no restored state, an instance whose tracking is up enters
    /// BACKUP with a full master down timer (an address owner's timer is
    /// 1 µs); otherwise FAULT. Backups' timers start after
    /// `vrrp_startup_delay`.
    ///
    /// Restored MASTER holding its VIPs (and still up): stays MASTER, keeps
    /// the VIPs (no remove, no gratuitous ARP burst, no notify); the first
    /// action returned is its advert, and the next follows one advert
    /// interval later. Restored BACKUP: BACKUP with a fresh master down
    /// timer. Anything else starts as without restore, except that no
    /// notify runs for a state the parent already knew.
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        if self.started {
            return self.finish();
        }
        self.started = true;
        if let Some(d) = self.startup_delay {
            self.delayed_start = Some(now + d);
            self.log(
                LogLevel::Info,
                format!("Delaying startup for {:.1} seconds", d.as_secs_f64()),
            );
        }
        self.track.start(now);
        self.init_state(now);
        self.finish()
    }

    /// A VRRP message (for IPv4 the part after the IP and any AH header)
    /// received for instance `id`.
    pub fn receive(
        &mut self,
        now: Instant,
        id: InstanceId,
        vrrp: &[u8],
        meta: &RxMeta,
    ) -> Vec<Action> {
        if self.started && !self.stopped {
            self.rx(now, id.0, vrrp, meta);
        }
        self.finish()
    }

    /// Whatever is due at `now`: advert timers, master down timers,
    /// delayed gratuitous ARPs, track script runs.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        if !self.started || self.stopped {
            return self.finish();
        }
        // Bounded: each step moves its deadline past `now` or clears it.
        for _ in 0..100_000 {
            let due_inst = self
                .inst
                .iter()
                .enumerate()
                .filter_map(|(i, x)| x.next_deadline().map(|d| (d, i)))
                .filter(|(d, _)| *d <= now)
                .min();
            let due_script = self.track.next_deadline().filter(|d| *d <= now);
            match (due_inst, due_script) {
                (Some((d, i)), s) if s.is_none_or(|s| d <= s) => self.instance_timer(now, i),
                (_, Some(_)) => {
                    let runs = self.track.due_scripts(now);
                    for r in runs {
                        self.run_track_script(r);
                    }
                }
                _ => break,
            }
        }
        self.finish()
    }

    /// Stop everything: each MASTER sends a priority-0 advert and removes
    /// its VIPs; then each instance's `notify_stop` (and `notify` with
    /// STOP), then each sync group's. Reports every instance as INIT
    /// without VIPs. Later inputs do nothing.
    pub fn shutdown(&mut self, now: Instant) -> Vec<Action> {
        if self.stopped {
            return self.finish();
        }
        let was_started = self.started;
        self.stopped = true;
        if was_started {
            for i in 0..self.inst.len() {
                if self.inst[i].state == VrrpState::Master {
                    self.restore_interface(i, true);
                }
            }
        }
        for i in 0..self.inst.len() {
            self.inst[i].state = VrrpState::Init;
            self.inst[i].sands = None;
            self.inst[i].clear_garp_timers();
            self.report(i);
            if was_started {
                self.instance_notify(i, NotifyEvent::Stop);
            }
        }
        if was_started {
            for g in 0..self.groups.len() {
                self.group_notify(g, NotifyEvent::Stop);
            }
        }
        let _ = now;
        self.finish()
    }

    // ------------------------------------------------------------ plumbing

    fn finish(&mut self) -> Vec<Action> {
        for x in &mut self.inst {
            x.counters.ah_seq = x.ah.seq;
        }
        if self.started {
            for i in 0..self.inst.len() {
                self.report(i);
            }
        }
        std::mem::take(&mut self.out)
    }

    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        self.out.push(Action::Log { level, message });
    }

    /// Emit a report if what the parent knows changed.
    pub(crate) fn report(&mut self, i: usize) {
        let r = self.inst[i].report();
        if self.inst[i].last_report.as_ref() != Some(&r) {
            self.inst[i].last_report = Some(r.clone());
            self.out.push(Action::Report(r));
        }
    }

    fn run_script(&mut self, purpose: ScriptPurpose) {
        if let Some(&id) = self.notify_ids.get(&purpose) {
            let request = self.next_request;
            self.next_request += 1;
            self.out.push(Action::RunScript { request, id });
        }
    }

    fn run_track_script(&mut self, r: ScriptRun) {
        let request = self.next_request;
        self.next_request += 1;
        match r {
            ScriptRun::Run { index, id } => {
                self.track.started(index, request);
                self.out.push(Action::RunScript { request, id });
            }
            ScriptRun::Busy { name } => self.log(
                LogLevel::Info,
                format!("Track script {name} is already running, expect idle - skipping run"),
            ),
        }
    }

    /// The state-specific script and then `notify`, of an instance.
    pub(crate) fn instance_notify(&mut self, i: usize, event: NotifyEvent) {
        let instance = self.inst[i].cfg.name.clone();
        self.run_script(ScriptPurpose::InstanceNotify {
            instance: instance.clone(),
            event,
        });
        if event != NotifyEvent::MasterRxLowerPri {
            self.run_script(ScriptPurpose::InstanceNotify {
                instance,
                event: NotifyEvent::Any,
            });
        }
    }

    pub(crate) fn group_notify(&mut self, g: usize, event: NotifyEvent) {
        let group = self.groups[g].name.clone();
        self.run_script(ScriptPurpose::SyncGroupNotify {
            group: group.clone(),
            event,
        });
        self.run_script(ScriptPurpose::SyncGroupNotify {
            group,
            event: NotifyEvent::Any,
        });
    }

    /// keepalived's `send_instance_notifies`: report, then the scripts, when
    /// the state differs from the last one notified.
    pub(crate) fn send_instance_notifies(&mut self, i: usize) {
        self.report(i);
        let s = self.inst[i].state;
        if self.inst[i].notified == Some(s) {
            return;
        }
        self.inst[i].notified = Some(s);
        let ev = match s {
            VrrpState::Master => NotifyEvent::Master,
            VrrpState::Backup => NotifyEvent::Backup,
            VrrpState::Fault => NotifyEvent::Fault,
            VrrpState::Init => return,
        };
        self.instance_notify(i, ev);
    }

    pub(crate) fn send_advert(&mut self, i: usize, priority: u8) {
        let adv = self.inst[i].advert(priority);
        let x = &mut self.inst[i];
        x.counters.adverts_sent += 1;
        if priority == 0 {
            x.counters.priority_zero_sent += 1;
        }
        // keepalived's vrrp_update_pkt: the IP id counts up skipping 0
        // (the kernel would fill a 0 in), the AH sequence number is the
        // counter's next.
        x.ip_id = x.ip_id.wrapping_add(1);
        if x.ip_id == 0 {
            x.ip_id = 1;
        }
        let ah = (x.auth_type == packet::AUTH_AH).then(|| AhTx {
            seq: x.ah.next_seq(),
            ip_id: x.ip_id,
        });
        self.out.push(Action::SendAdvert {
            instance: x.id,
            advert: adv,
            ah,
        });
    }

    pub(crate) fn push(&mut self, a: Action) {
        self.out.push(a);
    }

    fn rx(&mut self, now: Instant, i: usize, vrrp: &[u8], meta: &RxMeta) {
        let state = self.inst[i].state;
        if !matches!(state, VrrpState::Backup | VrrpState::Master) {
            return;
        }
        let x = &self.inst[i];
        // IPv6: keepalived discards a multicast packet on a unicast
        // instance (and the reverse) before looking at it.
        if meta.src.is_ipv6() && meta.dst.is_multicast() != x.cfg.unicast_peers.is_empty() {
            return;
        }
        let check_addrs = match state {
            VrrpState::Backup => !x.cfg.skip_check_adv_addr || x.master_saddr != Some(meta.src),
            _ => true,
        };
        let exp = x.expect(check_addrs);
        let (res, ah_seq) = packet::check_counting(vrrp, meta, &exp);
        self.inst[i].rx_ah_seq = ah_seq;
        if let Some(seq) = ah_seq {
            self.inst[i].ah.accepted(seq, state == VrrpState::Backup);
        }
        let advert = match res {
            Err(r) => {
                self.count_drop(i, &r);
                self.log_reject_limited(now, i, &r, vrrp, meta);
                return;
            }
            Ok(c) => {
                self.inst[i].counters.adverts_received += 1;
                if let Some(r) = c.late_reject {
                    self.count_drop(i, &r);
                    self.log_reject_limited(now, i, &r, vrrp, meta);
                    return;
                }
                if c.advert.priority == 0 {
                    self.inst[i].counters.priority_zero_received += 1;
                }
                c.advert
            }
        };
        let prev = self.inst[i].state;
        match prev {
            VrrpState::Backup => self.backup_rx(now, i, &advert, meta.src),
            VrrpState::Master if self.master_rx(now, i, &advert, meta.src) => {
                self.leave_master(now, i, false)
            }
            _ => {}
        }
        self.tsm(now, i, prev);
        let x = &self.inst[i];
        if x.state != VrrpState::Master || !x.cfg.lower_prio_no_advert {
            self.init_sands(now, i);
        }
    }

    fn count_drop(&mut self, i: usize, r: &packet::Reject) {
        *self.inst[i]
            .counters
            .drops
            .entry(r.drop_reason())
            .or_insert(0) += 1;
    }

    /// [`Machine::log_reject`], at most [`REJECT_LOG_BURST`] lines per
    /// instance and reason in each [`REJECT_LOG_WINDOW`].
    fn log_reject_limited(
        &mut self,
        now: Instant,
        i: usize,
        r: &packet::Reject,
        vrrp: &[u8],
        meta: &RxMeta,
    ) {
        let reason = r.drop_reason();
        let (summary, line) = self
            .reject_logs
            .entry((i, reason.clone()))
            .or_default()
            .admit(now);
        if let Some(suppressed) = summary {
            let name = self.inst[i].cfg.name.clone();
            self.log(
                LogLevel::Info,
                format!(
                    "({name}) {suppressed} more adverts dropped ({reason:?}) without a log line (at most {REJECT_LOG_BURST} per {} s)",
                    REJECT_LOG_WINDOW.as_secs()
                ),
            );
        }
        if line {
            self.log_reject(i, r, vrrp, meta);
        }
    }

    fn log_reject(&mut self, i: usize, r: &packet::Reject, vrrp: &[u8], meta: &RxMeta) {
        use packet::Reject as R;
        let x = &self.inst[i];
        let name = &x.cfg.name;
        let msg = match r {
            R::PacketLength => format!("({name}) vrrp packet length error ({} bytes)", vrrp.len()),
            R::IpTtl => format!(
                "({name}) invalid TTL/HL. Received {} and expect {}",
                meta.ttl.unwrap_or(0),
                packet::VRRP_TTL
            ),
            R::Version => format!(
                "({name}) wrong version. Received {} and expect {}",
                vrrp.first().map_or(0, |b| b >> 4),
                x.cfg.version.number()
            ),
            R::InvalidAuthType => format!(
                "({name}) Invalid auth type: {}",
                vrrp.get(4).copied().unwrap_or(0)
            ),
            R::AuthTypeMismatch => format!(
                "({name}) received a {} auth, expecting {}!",
                vrrp.get(4).copied().unwrap_or(0),
                x.auth_type
            ),
            R::AuthFailure => format!("({name}) received an invalid passwd!"),
            R::AhUnexpected => format!("({name}) Received AH header but auth type not AH"),
            R::AhMissing => format!("({name}) No AH header but auth type is AH"),
            R::AhIcv => format!(
                "({name}) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
            ),
            R::AhSpi { saddr, spi } => {
                format!("IPSEC AH : invalid IPSEC SPI value. {saddr} and expect {spi}")
            }
            R::AhSequence { seq, local } => format!(
                "({name}) IPSEC-AH : sequence number {seq} already processed. Packet dropped. Local({local})"
            ),
            R::AdvertInterval => format!(
                "({name}) advertisement interval mismatch mine={} sec rcv'd={} sec",
                x.cfg.advert_int.as_secs(),
                vrrp.get(5).copied().unwrap_or(0)
            ),
            R::InvalidType => format!(
                "({name}) Invalid packet type. {} and expect {}",
                vrrp.first().map_or(0, |b| b & 0x0f),
                packet::TYPE_ADVERT
            ),
            R::AddressList => format!(
                "({name}) ip address associated with VRID {} not present in MASTER advert",
                x.cfg.vrid
            ),
            R::Checksum => format!("({name}) Invalid VRRPv{} checksum", x.cfg.version.number()),
            R::UnicastSource => format!(
                "({name}) unicast source address {} not a unicast peer",
                meta.src
            ),
            R::AhOtherProtocol => return,
        };
        self.log(LogLevel::Info, msg);
    }

    fn instance_timer(&mut self, now: Instant, i: usize) {
        let x = &mut self.inst[i];
        if x.garp_delay_at.is_some_and(|t| t <= now) {
            x.garp_delay_at = None;
            if x.vipset && x.state == VrrpState::Master {
                let repeat = x.cfg.garp.master_repeat;
                let instance = x.id;
                if repeat > 0 {
                    self.push(Action::SendGarp { instance, repeat });
                }
            }
            return;
        }
        if x.lower_prio_garp_at.front().is_some_and(|t| *t <= now) {
            x.lower_prio_garp_at.pop_front();
            if x.vipset && x.state == VrrpState::Master {
                let repeat = x.cfg.garp.lower_prio_repeat;
                let instance = x.id;
                if repeat > 0 {
                    self.push(Action::SendGarp { instance, repeat });
                }
            }
            return;
        }
        if x.sands.is_none_or(|t| t > now) {
            return;
        }
        let prev = x.state;
        match prev {
            VrrpState::Backup => {
                self.inst[i].wantstate = VrrpState::Master;
                self.goto_master(now, i);
            }
            VrrpState::Master => self.master_tx(now, i),
            _ => self.inst[i].sands = None,
        }
        self.tsm(now, i, prev);
        self.init_sands(now, i);
    }
}
