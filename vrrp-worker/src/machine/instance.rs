//! One VRRP instance: its RFC 5798 section 6 variables and keepalived
//! 2.2.7's transitions (`vrrp.c`: `vrrp_state_backup`,
//! `vrrp_state_master_rx`, `vrrp_state_master_tx`, `vrrp_state_goto_master`,
//! `vrrp_state_leave_master`, `vrrp_state_leave_fault`,
//! `vrrp_restore_interface`; `vrrp_scheduler.c`: `vrrp_init_state`,
//! `vrrp_init_instance_sands`, `try_up_instance`; `vrrp_track.c`:
//! `down_instance`, `vrrp_set_effective_priority`).

use super::{Action, InstanceId, Machine};
use crate::packet::{self, AUTH_AH, AUTH_NONE, AUTH_PASS, Advert, AhCounter, Expect};
use config::model::global::VrrpVersion;
use config::model::vrrp::{AuthType, State, VrrpInstance};
use ipc::{InstanceRestore, InstanceState, LogLevel, NotifyEvent, VrrpCounters, VrrpState};
use std::cmp::Ordering;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The address owner's priority.
pub const PRIO_OWNER: u8 = 255;
/// At most this many delayed `garp_lower_prio_repeat` bursts wait at once
/// per instance (a flood of lower-priority adverts cannot grow the queue
/// further).
pub const MAX_LOWER_PRIO_GARPS: usize = 64;

/// keepalived's VRRP skew for a priority: v2 `(256-p)/256` s; v3
/// `(256-p) * master_adver_int / 256`, computed in microseconds as
/// keepalived does (`(256-p) * (mai / 10 ms) * 625 / 16`).
pub fn skew(version: VrrpVersion, priority: u8, master_adver_int: Duration) -> Duration {
    skew_calc(version, 256 - u64::from(priority), master_adver_int)
}

/// keepalived's `VRRP_TIMER_SKEW_MIN`: the skew for `256 - p` = 1.
pub fn skew_min(version: VrrpVersion, master_adver_int: Duration) -> Duration {
    skew_calc(version, 1, master_adver_int)
}

fn skew_calc(version: VrrpVersion, pri_val: u64, mai: Duration) -> Duration {
    let us = match version {
        VrrpVersion::V2 => pri_val * 1_000_000 / 256,
        VrrpVersion::V3 => {
            let cs = (mai.as_micros() / 10_000) as u64;
            pri_val * cs * 625 / 16
        }
    };
    Duration::from_micros(us)
}

/// keepalived's `VRRP_MS_DOWN_TIMER`: `down_timer_adverts *
/// master_adver_int + skew`.
pub fn master_down_interval(
    version: VrrpVersion,
    priority: u8,
    master_adver_int: Duration,
    down_timer_adverts: u32,
) -> Duration {
    master_adver_int * down_timer_adverts + skew(version, priority, master_adver_int)
}

/// The per-instance state.
#[derive(Debug)]
pub struct Inst {
    pub id: InstanceId,
    pub cfg: VrrpInstance,
    pub state: VrrpState,
    /// keepalived's `wantstate`: the state it would be in regardless of
    /// its sync group.
    pub wantstate: VrrpState,
    pub base_priority: u8,
    pub effective: u8,
    pub adver_int: Duration,
    pub master_adver_int: Duration,
    pub ms_down_timer: Duration,
    /// The instance's timer: advert (MASTER) or master down (BACKUP).
    pub sands: Option<Instant>,
    pub preempt_time: Option<Instant>,
    /// VIPs installed.
    pub vipset: bool,
    pub src: Option<IpAddr>,
    pub master_saddr: Option<IpAddr>,
    pub master_priority: u8,
    pub garp_delay_at: Option<Instant>,
    /// The delayed `garp_lower_prio_repeat` bursts still due, oldest first:
    /// one per lower-priority advert, each its own timer as in keepalived
    /// (a new advert never cancels the burst an earlier one scheduled).
    pub lower_prio_garp_at: std::collections::VecDeque<Instant>,
    pub garp_refresh_at: Option<Instant>,
    /// keepalived's `vmac_garp_timer`: the `garp_extra_if` round is due
    /// at the first advert after this.
    pub extra_garp_at: Option<Instant>,
    pub counters: VrrpCounters,
    pub vips: Vec<IpAddr>,
    pub auth_type: u8,
    pub password: [u8; packet::AUTH_LEN],
    /// `auth_type AH`: the sequence number counter.
    pub ah: AhCounter,
    /// The IPv4 id of the last advert (keepalived's `ip_id`: counts up
    /// from 1, skipping 0).
    pub ip_id: u16,
    /// AH: the sequence number of the advert being processed, once
    /// accepted.
    pub rx_ah_seq: Option<u32>,
    /// The state last handed to notify scripts (or the restored one).
    pub notified: Option<VrrpState>,
    pub last_report: Option<InstanceState>,
    pub restore: Option<InstanceRestore>,
    /// Tracking says the instance is down (keepalived's
    /// `num_script_if_fault != 0`).
    pub faulted: bool,
    /// A weight-0 track script has not reported yet (`num_script_init`).
    pub init_pending: bool,
    /// Index of its sync group.
    pub group: Option<usize>,
}

impl Inst {
    pub fn new(id: InstanceId, cfg: &VrrpInstance, restore: Option<InstanceRestore>) -> Inst {
        let (auth_type, password) = match (&cfg.authentication, cfg.version) {
            (Some(a), VrrpVersion::V2) => match a.auth_type {
                AuthType::Pass => (AUTH_PASS, packet::password_bytes(&a.password)),
                AuthType::Ah => (AUTH_AH, packet::password_bytes(&a.password)),
            },
            _ => (AUTH_NONE, [0; packet::AUTH_LEN]),
        };
        Inst {
            id,
            state: VrrpState::Init,
            wantstate: match cfg.state {
                State::Master => VrrpState::Master,
                State::Backup => VrrpState::Backup,
            },
            base_priority: cfg.priority,
            effective: cfg.priority,
            adver_int: cfg.advert_int,
            master_adver_int: cfg.advert_int,
            ms_down_timer: Duration::ZERO,
            sands: None,
            preempt_time: None,
            vipset: false,
            src: cfg.src_ip,
            master_saddr: None,
            master_priority: 0,
            garp_delay_at: None,
            lower_prio_garp_at: std::collections::VecDeque::new(),
            garp_refresh_at: None,
            extra_garp_at: None,
            counters: VrrpCounters::default(),
            vips: cfg.virtual_ipaddresses.iter().map(|a| a.addr).collect(),
            auth_type,
            password,
            // A restored instance goes on from its predecessor's number.
            ah: AhCounter {
                seq: match (auth_type, restore) {
                    (AUTH_AH, Some(r)) => r.ah_seq,
                    _ => 0,
                },
                cycle: false,
            },
            ip_id: 0,
            rx_ah_seq: None,
            notified: restore.map(|r| r.state),
            last_report: None,
            restore,
            faulted: false,
            init_pending: false,
            group: None,
            cfg: cfg.clone(),
        }
    }

    pub fn report(&self) -> InstanceState {
        InstanceState {
            name: self.cfg.name.clone(),
            state: self.state,
            priority: self.base_priority,
            effective_priority: self.effective,
            holds_vips: self.vipset,
        }
    }

    pub fn skew(&self) -> Duration {
        skew(self.cfg.version, self.effective, self.master_adver_int)
    }

    pub fn ms_down(&self) -> Duration {
        master_down_interval(
            self.cfg.version,
            self.effective,
            self.master_adver_int,
            self.cfg.down_timer_adverts,
        )
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.sands,
            self.garp_delay_at,
            self.lower_prio_garp_at.front().copied(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn clear_garp_timers(&mut self) {
        self.garp_delay_at = None;
        self.lower_prio_garp_at.clear();
        self.garp_refresh_at = None;
        self.extra_garp_at = None;
    }

    /// The advert this instance sends with `priority`.
    pub fn advert(&self, priority: u8) -> Advert {
        let mut a = Advert::new(
            self.cfg.version,
            self.cfg.vrid,
            priority,
            packet::interval_field(self.cfg.version, self.adver_int),
        );
        a.addrs = self.vips.clone();
        if self.cfg.version == VrrpVersion::V2 {
            a.auth_type = self.auth_type;
            if self.auth_type == AUTH_PASS {
                a.auth_data = self.password;
            }
        }
        a
    }

    pub fn expect(&self, check_addrs: bool) -> Expect<'_> {
        Expect {
            family: self.cfg.family,
            version: self.cfg.version,
            auth_type: self.auth_type,
            password: self.password,
            adver_int: self.adver_int,
            vips: &self.vips,
            check_addrs,
            unicast_peers: &self.cfg.unicast_peers,
            check_unicast_src: self.cfg.check_unicast_src,
            ah_seq: self.ah.seq,
        }
    }

    /// keepalived's `vrrp_saddr_cmp`: the sender's address against ours
    /// (an unknown own address compares as all zeros).
    pub fn addr_cmp(&self, from: IpAddr) -> Ordering {
        let ours = self.src.unwrap_or(match from {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        });
        match (from, ours) {
            (IpAddr::V4(a), IpAddr::V4(b)) => a.octets().cmp(&b.octets()),
            (IpAddr::V6(a), IpAddr::V6(b)) => a.octets().cmp(&b.octets()),
            _ => Ordering::Equal,
        }
    }

    /// Restored as MASTER or BACKUP: its track scripts' first results are
    /// awaited without holding it in its initial state.
    pub fn restored_up(&self) -> bool {
        self.restore
            .is_some_and(|r| matches!(r.state, VrrpState::Master | VrrpState::Backup))
    }

    fn name(&self) -> &str {
        &self.cfg.name
    }
}

/// The master's advert interval a VRRPv3 backup adopts. A zero interval
/// (which keepalived would adopt, spinning on a zero master down timer) is
/// taken as one centisecond.
pub fn adopted_interval(adv: &Advert) -> Duration {
    adv.interval_duration().max(Duration::from_millis(10))
}

fn state_word(s: VrrpState) -> &'static str {
    match s {
        VrrpState::Init => "INIT",
        VrrpState::Backup => "BACKUP",
        VrrpState::Master => "MASTER",
        VrrpState::Fault => "FAULT",
    }
}

impl Machine {
    /// keepalived's `vrrp_init_instance_sands`.
    pub(crate) fn init_sands(&mut self, now: Instant, i: usize) {
        let delayed = self.delayed_start.filter(|d| now < *d);
        let x = &mut self.inst[i];
        x.sands = match x.state {
            VrrpState::Master => Some(now + x.adver_int),
            VrrpState::Backup => Some(delayed.unwrap_or(now) + x.ms_down_timer),
            _ => None,
        };
    }

    /// Start-up (`initialise_tracking_priorities` + `vrrp_init_state`).
    pub(crate) fn init_state(&mut self, now: Instant) {
        // Tracking first: priorities and fault/init conditions.
        for i in 0..self.inst.len() {
            let t = self.track.evaluate(&self.inst[i], &self.groups);
            let x = &mut self.inst[i];
            x.faulted = t.fault.is_some();
            x.init_pending = t.init && !x.restored_up();
            if x.cfg.fault_no_peer {
                // keepalived decides this when it reads the configuration:
                // the instance is in FAULT from the start, with this line
                // and no "Entering FAULT STATE (init)".
                let msg = format!(
                    "({}) Cannot use unicast without any peers - going to fault state",
                    x.name()
                );
                self.log(LogLevel::Info, msg);
            } else if let Some(why) = t.fault {
                let msg = format!("({}) entering FAULT state ({why})", x.name());
                self.log(LogLevel::Info, msg);
            }
            self.set_effective_priority(now, i, t.total, false);
        }
        self.init_groups();
        for i in 0..self.inst.len() {
            let restore = self.inst[i].restore;
            let x = &mut self.inst[i];
            let is_up = !x.faulted;
            if x.faulted {
                x.wantstate = VrrpState::Fault;
            }
            let new_state = match x.group {
                Some(g) => self.groups[g].state,
                None => x.wantstate,
            };
            let x = &mut self.inst[i];
            let init = x.init_pending || x.group.is_some_and(|g| self.groups[g].num_init > 0);
            x.master_adver_int = x.adver_int;

            // Resume as MASTER holding the VIPs: keepalived's reload_master.
            if let Some(r) = restore
                && r.state == VrrpState::Master
                && r.holds_vips
                && is_up
                && !init
                && new_state != VrrpState::Fault
            {
                x.state = VrrpState::Master;
                x.wantstate = VrrpState::Master;
                x.vipset = true;
                if !x.cfg.garp.master_refresh.is_zero() {
                    x.garp_refresh_at = Some(now + x.cfg.garp.master_refresh);
                }
                if !x.cfg.garp.extra_if.is_zero() {
                    x.extra_garp_at = Some(now + x.cfg.garp.extra_if);
                }
                if let Some(g) = x.group {
                    self.groups[g].state = VrrpState::Master;
                }
                // keepalived's reload_master: an advert at once, so no
                // backup's master down timer runs out.
                let prio = self.inst[i].effective;
                self.send_advert(i, prio);
                self.init_sands(now, i);
                let msg = format!("({}) resuming MASTER STATE", self.inst[i].name());
                self.log(LogLevel::Info, msg);
                self.report(i);
                continue;
            }
            if let Some(r) = restore {
                x.vipset = r.holds_vips;
            }
            let begin = x.state;
            if is_up
                && restore.is_none()
                && new_state == VrrpState::Master
                && !init
                && x.base_priority == super::instance::PRIO_OWNER
                && x.wantstate == VrrpState::Master
            {
                // "The simplest way to become master is to timeout from the
                // backup state very quickly (1usec)".
                x.state = VrrpState::Backup;
                x.ms_down_timer = Duration::from_micros(1);
            } else {
                // (keepalived's source has a shorter timer for a `state
                // MASTER` member of a BACKUP sync group; 2.2.7 measured
                // does not use it: tests/data/sync-start.sh.)
                x.ms_down_timer = x.ms_down();
                self.restore_interface(i, false);
                let x = &mut self.inst[i];
                if is_up && new_state != VrrpState::Fault && !init {
                    // A `state MASTER` that is not taking the owner's fast
                    // path wants BACKUP like any backup (measured: it does
                    // not let a sync group partner go MASTER early).
                    x.wantstate = VrrpState::Backup;
                    if x.state != VrrpState::Backup {
                        x.state = VrrpState::Backup;
                        if x.notified != Some(VrrpState::Backup) {
                            let msg = format!("({}) Entering BACKUP STATE (init)", x.name());
                            self.log(LogLevel::Info, msg);
                        }
                    }
                } else {
                    x.state = VrrpState::Fault;
                    if begin != VrrpState::Fault && x.faulted && !x.cfg.fault_no_peer {
                        let msg = format!("({}) Entering FAULT STATE (init)", x.name());
                        self.log(LogLevel::Info, msg);
                    }
                }
                let x = &self.inst[i];
                if begin != x.state && (x.state != VrrpState::Fault || x.faulted) {
                    self.send_instance_notifies(i);
                }
            }
            self.report(i);
        }
        for i in 0..self.inst.len() {
            if self.inst[i].sands.is_none() {
                self.init_sands(now, i);
            }
        }
    }

    /// `vrrp_state_goto_master`.
    pub(crate) fn goto_master(&mut self, now: Instant, i: usize) {
        if self.inst[i].group.is_some() && !self.sync_can_goto_master(now, i) {
            self.inst[i].wantstate = VrrpState::Master;
            return;
        }
        // AH: after a cycled counter, the anti-replay counter starts again.
        self.inst[i].ah.goto_master();
        self.inst[i].state = VrrpState::Master;
        self.init_sands(now, i);
        self.master_tx(now, i);
    }

    /// `vrrp_state_master_tx`: the advert, then (first time) the VIPs.
    pub(crate) fn master_tx(&mut self, now: Instant, i: usize) {
        let prio = self.inst[i].effective;
        self.send_advert(i, prio);
        let x = &mut self.inst[i];
        if !x.vipset {
            let msg = format!("({}) Entering MASTER STATE", x.name());
            self.log(LogLevel::Info, msg);
            self.become_master(now, i);
            let x = &mut self.inst[i];
            if !x.cfg.garp.master_delay.is_zero() {
                x.garp_delay_at = Some(now + x.cfg.garp.master_delay);
            }
        } else {
            let instance = x.id;
            if !x.cfg.garp.master_refresh.is_zero() && x.garp_refresh_at.is_some_and(|t| now > t) {
                let repeat = x.cfg.garp.master_refresh_repeat;
                x.garp_refresh_at = Some(now + x.cfg.garp.master_refresh);
                if repeat > 0 {
                    self.push(Action::SendGarp { instance, repeat });
                }
            }
            let x = &mut self.inst[i];
            if !x.cfg.garp.extra_if.is_zero() && x.extra_garp_at.is_some_and(|t| now > t) {
                x.extra_garp_at = Some(now + x.cfg.garp.extra_if);
                self.push(Action::SendExtraGarp { instance });
            }
        }
    }

    /// `vrrp_state_become_master`.
    fn become_master(&mut self, now: Instant, i: usize) {
        let x = &mut self.inst[i];
        x.counters.became_master += 1;
        x.master_adver_int = x.adver_int;
        x.vipset = true;
        let instance = x.id;
        let repeat = x.cfg.garp.master_repeat;
        if !x.cfg.garp.master_refresh.is_zero() {
            x.garp_refresh_at = Some(now + x.cfg.garp.master_refresh);
        }
        if !x.cfg.garp.extra_if.is_zero() {
            x.extra_garp_at = Some(now + x.cfg.garp.extra_if);
        }
        self.push(Action::AddVips { instance });
        if repeat > 0 {
            self.push(Action::SendGarp { instance, repeat });
        }
        self.send_instance_notifies(i);
    }

    /// `vrrp_restore_interface`: optional priority-0 advert, then the VIPs
    /// go.
    pub(crate) fn restore_interface(&mut self, i: usize, adv_f: bool) {
        if adv_f {
            self.send_advert(i, 0);
        }
        let x = &mut self.inst[i];
        x.garp_delay_at = None;
        x.lower_prio_garp_at.clear();
        if x.vipset {
            x.vipset = false;
            let instance = x.id;
            self.push(Action::RemoveVips { instance });
        }
    }

    /// `vrrp_state_leave_master`, to `wantstate` (BACKUP or FAULT).
    pub(crate) fn leave_master(&mut self, now: Instant, i: usize, adv_f: bool) {
        let x = &mut self.inst[i];
        match x.wantstate {
            VrrpState::Backup => {
                let msg = format!("({}) Entering BACKUP STATE", x.name());
                x.preempt_time = None;
                self.log(LogLevel::Info, msg);
            }
            VrrpState::Fault => {
                let msg = format!("({}) Entering FAULT STATE", x.name());
                self.log(LogLevel::Info, msg);
                self.send_advert(i, 0);
            }
            other => {
                let msg = format!(
                    "({}) vrrp_state_leave_master called with invalid wantstate {}",
                    x.name(),
                    state_word(other)
                );
                self.log(LogLevel::Info, msg);
                return;
            }
        }
        self.restore_interface(i, adv_f);
        let x = &mut self.inst[i];
        x.state = x.wantstate;
        x.garp_refresh_at = None;
        x.extra_garp_at = None;
        self.send_instance_notifies(i);
        let x = &mut self.inst[i];
        x.ms_down_timer = x.ms_down();
        x.counters.released_master += 1;
        self.init_sands(now, i);
    }

    /// `vrrp_state_leave_fault`, to `wantstate`.
    pub(crate) fn leave_fault(&mut self, now: Instant, i: usize) {
        if self.inst[i].wantstate == VrrpState::Master {
            self.goto_master(now, i);
        } else {
            let x = &mut self.inst[i];
            let (state, want) = (x.state, x.wantstate);
            if state != want {
                let msg = format!("({}) Entering {} STATE", x.name(), state_word(want));
                self.log(LogLevel::Info, msg);
            }
            if want == VrrpState::Fault && state == VrrpState::Master {
                self.send_advert(i, 0);
                self.restore_interface(i, false);
            }
            let x = &mut self.inst[i];
            x.state = want;
            if want == VrrpState::Backup {
                x.preempt_time = None;
            }
            self.send_instance_notifies(i);
        }
        let x = &mut self.inst[i];
        if x.state != VrrpState::Master {
            x.master_adver_int = x.adver_int;
            x.ms_down_timer = x.ms_down();
            self.init_sands(now, i);
        }
    }

    /// `vrrp_state_backup`: an advert that passed the checks.
    pub(crate) fn backup_rx(&mut self, now: Instant, i: usize, adv: &Advert, from: IpAddr) {
        let x = &mut self.inst[i];
        let prio = adv.priority;
        if prio == 0 {
            x.ms_down_timer = x.skew();
        } else if !x.cfg.preempt
            || prio >= x.effective
            || (!x.cfg.preempt_delay.is_zero() && x.preempt_time.is_none_or(|t| t > now))
        {
            if x.cfg.version == VrrpVersion::V3 {
                x.master_adver_int = adopted_interval(adv);
            }
            x.ms_down_timer = x.ms_down();
            x.master_saddr = Some(from);
            x.master_priority = prio;
            if !x.cfg.preempt_delay.is_zero() {
                if prio >= x.effective {
                    x.preempt_time = None;
                } else if x.preempt_time.is_none() {
                    x.preempt_time = Some(now + x.cfg.preempt_delay);
                    let msg = format!(
                        "({}) start preempt delay ({:.6})",
                        x.name(),
                        x.cfg.preempt_delay.as_secs_f64()
                    );
                    self.log(LogLevel::Info, msg);
                }
            }
            self.inst[i].wantstate = VrrpState::Backup;
        } else {
            let msg = format!(
                "({}) received lower priority ({prio}) advert from {from} - discarding",
                x.name()
            );
            x.master_saddr = Some(from);
            // Ignored: the master down timer keeps running.
            x.ms_down_timer = x
                .sands
                .map_or(Duration::ZERO, |s| s.saturating_duration_since(now));
            self.log(LogLevel::Info, msg);
        }
    }

    /// `vrrp_state_master_rx`: true when the instance must leave MASTER.
    pub(crate) fn master_rx(&mut self, now: Instant, i: usize, adv: &Advert, from: IpAddr) -> bool {
        let x = &self.inst[i];
        let cmp = x.addr_cmp(from);
        let prio = adv.priority;
        let eff = x.effective;
        if prio == 0
            || (x.cfg.higher_prio_send_advert
                && (prio > eff || (prio == eff && cmp == Ordering::Greater)))
        {
            self.send_advert(i, eff);
            if prio == 0 {
                return false;
            }
        }
        let x = &mut self.inst[i];
        if prio == x.effective {
            if cmp == Ordering::Equal {
                let msg = format!(
                    "({}) WARNING - equal priority advert received from remote host with our IP address.",
                    x.name()
                );
                self.log(LogLevel::Info, msg);
            } else if x.effective == PRIO_OWNER {
                let msg = format!(
                    "({}) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority",
                    x.name()
                );
                x.effective = PRIO_OWNER - 1;
                x.base_priority = PRIO_OWNER - 1;
                self.log(LogLevel::Info, msg);
            }
        }
        let x = &self.inst[i];
        let eff = x.effective;
        if prio < eff || (prio == eff && cmp == Ordering::Less) {
            let msg = format!(
                "({}) Received advert from {from} with lower priority {prio}, ours {eff}{}",
                x.name(),
                if x.cfg.lower_prio_no_advert {
                    ""
                } else {
                    ", forcing new election"
                }
            );
            self.log(LogLevel::Info, msg);
            let x = &mut self.inst[i];
            if x.auth_type == AUTH_AH
                && let Some(seq) = x.rx_ah_seq
            {
                x.ah.sync_lower(seq);
                let msg = format!("({}) IPSEC-AH : Syncing seq_num - Increment seq", x.name());
                self.log(LogLevel::Info, msg);
            }
            if !self.inst[i].cfg.lower_prio_no_advert {
                self.send_advert(i, eff);
            }
            self.lower_prio_garp(now, i);
            if let Some(g) = self.inst[i].group {
                for j in self.groups[g].members.clone() {
                    if j != i {
                        self.lower_prio_garp(now, j);
                    }
                }
            }
            self.instance_notify(i, NotifyEvent::MasterRxLowerPri);
            return false;
        }
        if prio > eff || (prio == eff && cmp == Ordering::Greater) {
            let x = &mut self.inst[i];
            let msg = if prio > eff {
                format!(
                    "({}) Master received advert from {from} with higher priority {prio}, ours {eff}",
                    x.name()
                )
            } else {
                format!(
                    "({}) Master received advert from {from} with same priority {prio} but higher IP address than ours",
                    x.name()
                )
            };
            if x.auth_type == AUTH_AH {
                x.ah.sync_higher();
            }
            if x.cfg.version == VrrpVersion::V3 {
                x.master_adver_int = adopted_interval(adv);
            }
            x.ms_down_timer = x.ms_down();
            x.master_priority = prio;
            x.master_saddr = Some(from);
            x.wantstate = VrrpState::Backup;
            self.log(LogLevel::Info, msg);
            return true;
        }
        false
    }

    fn lower_prio_garp(&mut self, now: Instant, i: usize) {
        let x = &mut self.inst[i];
        let repeat = x.cfg.garp.lower_prio_repeat;
        if repeat == 0 || !x.vipset {
            return;
        }
        if !x.cfg.garp.lower_prio_delay.is_zero()
            && x.lower_prio_garp_at.len() < MAX_LOWER_PRIO_GARPS
        {
            x.lower_prio_garp_at
                .push_back(now + x.cfg.garp.lower_prio_delay);
        }
        let instance = x.id;
        self.push(Action::SendGarp { instance, repeat });
    }

    /// `vrrp_set_effective_priority` from keepalived's `total_priority`.
    pub(crate) fn set_effective_priority(&mut self, now: Instant, i: usize, total: i32, log: bool) {
        let x = &mut self.inst[i];
        if x.base_priority == PRIO_OWNER {
            return;
        }
        let new = total.clamp(1, i32::from(PRIO_OWNER) - 1) as u8;
        if new == x.effective {
            return;
        }
        let msg = format!(
            "({}) Changing effective priority from {} to {new}",
            x.name(),
            x.effective
        );
        x.effective = new;
        let old = x.ms_down_timer;
        x.ms_down_timer = x.ms_down();
        if x.state == VrrpState::Backup
            && let Some(s) = x.sands
        {
            x.sands = Some(if old < x.ms_down_timer {
                s + (x.ms_down_timer - old)
            } else {
                s.checked_sub(old - x.ms_down_timer).unwrap_or(now).max(now)
            });
        }
        if log {
            self.log(LogLevel::Info, msg);
        }
    }

    /// `down_instance`: tracking went from up to down.
    pub(crate) fn down_instance(&mut self, now: Instant, i: usize) {
        let x = &mut self.inst[i];
        x.wantstate = VrrpState::Fault;
        if x.state == VrrpState::Master {
            self.leave_master(now, i, true);
        } else {
            self.leave_fault(now, i);
        }
        if let Some(g) = self.inst[i].group {
            self.groups[g].num_fault += 1;
            if self.groups[g].num_fault == 1 {
                self.sync_fault(now, i);
            }
        }
    }

    /// `try_up_instance`: tracking came back (or left its initial state).
    pub(crate) fn try_up_instance(&mut self, now: Instant, i: usize, leaving_init: bool) {
        let x = &mut self.inst[i];
        if !(x.wantstate == VrrpState::Master && x.base_priority == PRIO_OWNER) {
            x.wantstate = VrrpState::Backup;
        }
        x.master_adver_int = x.adver_int;
        x.ms_down_timer = if x.wantstate == VrrpState::Master && x.base_priority == PRIO_OWNER {
            x.master_adver_int + x.skew()
        } else {
            x.ms_down()
        };
        if let Some(g) = x.group {
            if !leaving_init {
                self.groups[g].num_fault = self.groups[g].num_fault.saturating_sub(1);
            }
            if self.groups[g].num_fault > 0 || self.groups[g].num_init > 0 {
                return;
            }
        }
        let saved = self.inst[i].wantstate;
        if self.inst[i].group.is_some()
            && saved == VrrpState::Master
            && !self.sync_can_goto_master(now, i)
        {
            self.inst[i].wantstate = VrrpState::Backup;
        }
        self.leave_fault(now, i);
        self.init_sands(now, i);
        self.inst[i].wantstate = saved;
        if self.inst[i].group.is_some() {
            if self.inst[i].state == VrrpState::Master {
                self.sync_master(now, i);
            } else {
                self.sync_backup(now, i);
            }
        }
    }
}
