//! Sync groups, as keepalived 2.2.7's `vrrp_sync.c` and the transition
//! matrix of `vrrp_scheduler.c` run them:
//!
//! * a member whose master down timer expires goes MASTER only if every
//!   other member wants MASTER too (or the group already is MASTER);
//!   otherwise it stays BACKUP wanting MASTER, with a fresh timer;
//! * a member becoming MASTER takes the others to MASTER (`vrrp_sync_master`);
//! * a MASTER member going BACKUP takes the other masters to BACKUP
//!   (`vrrp_sync_backup`);
//! * a member going to FAULT takes every other member to FAULT (masters
//!   send priority 0 and drop their VIPs), and the group leaves FAULT, all
//!   members to BACKUP, when no member is faulty any more;
//! * the group's notify scripts run on each group state change.

use super::Machine;
use super::instance::{Inst, PRIO_OWNER};
use config::model::vrrp::{TrackedInterface, TrackedRef, VrrpConfig};
use ipc::{LogLevel, NotifyEvent, VrrpState};
use std::time::Instant;

#[derive(Debug)]
pub struct Group {
    pub name: String,
    pub members: Vec<usize>,
    pub state: VrrpState,
    /// Members whose own tracking is down (`num_member_fault`).
    pub num_fault: u32,
    /// Members waiting for a weight-0 script's first result.
    pub num_init: u32,
    pub notified: Option<VrrpState>,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedRef>,
    pub track_files: Vec<TrackedRef>,
    pub track_processes: Vec<TrackedRef>,
}

pub fn build(cfg: &VrrpConfig, inst: &mut [Inst]) -> Vec<Group> {
    let mut groups = Vec::new();
    for g in &cfg.sync_groups {
        let members: Vec<usize> = g
            .members
            .iter()
            .filter_map(|m| inst.iter().position(|i| i.cfg.name == *m))
            .collect();
        if members.is_empty() {
            continue;
        }
        let gi = groups.len();
        for &m in &members {
            inst[m].group = Some(gi);
        }
        groups.push(Group {
            name: g.name.clone(),
            members,
            state: VrrpState::Init,
            num_fault: 0,
            num_init: 0,
            notified: None,
            track_interfaces: g.track_interfaces.clone(),
            track_scripts: g.track_scripts.clone(),
            track_files: g.track_files.clone(),
            track_processes: g.track_processes.clone(),
        });
    }
    groups
}

impl Machine {
    /// The groups' initial states (`vrrp_sync_set_group` and
    /// `initialise_tracking_priorities`).
    pub(crate) fn init_groups(&mut self) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].members.clone();
            let mut state = VrrpState::Init;
            for &m in &members {
                let x = &self.inst[m];
                if state != VrrpState::Backup {
                    state = if x.wantstate == VrrpState::Master && x.base_priority == PRIO_OWNER {
                        VrrpState::Master
                    } else {
                        VrrpState::Backup
                    };
                }
            }
            let num_fault = members.iter().filter(|&&m| self.inst[m].faulted).count() as u32;
            let num_init = members
                .iter()
                .filter(|&&m| self.inst[m].init_pending)
                .count() as u32;
            // A member resuming as MASTER with its VIPs keeps the group
            // MASTER.
            if members.iter().any(|&m| {
                let x = &self.inst[m];
                x.restore
                    .is_some_and(|r| r.state == VrrpState::Master && r.holds_vips)
            }) {
                state = VrrpState::Master;
            }
            if num_fault > 0 {
                state = VrrpState::Fault;
            } else if num_init > 0 {
                state = VrrpState::Init;
            }
            // What the parent knew: no notify for it again.
            let restored: Vec<VrrpState> = members
                .iter()
                .filter_map(|&m| self.inst[m].restore.map(|r| r.state))
                .collect();
            let notified = if restored.is_empty() {
                None
            } else if restored.contains(&VrrpState::Master) {
                Some(VrrpState::Master)
            } else if restored.contains(&VrrpState::Fault) {
                Some(VrrpState::Fault)
            } else {
                Some(VrrpState::Backup)
            };
            let grp = &mut self.groups[g];
            grp.state = state;
            grp.num_fault = num_fault;
            grp.num_init = num_init;
            grp.notified = notified;
            if matches!(state, VrrpState::Fault | VrrpState::Backup) {
                self.send_group_notifies(g);
            }
        }
    }

    pub(crate) fn send_group_notifies(&mut self, g: usize) {
        let s = self.groups[g].state;
        if self.groups[g].notified == Some(s) {
            return;
        }
        self.groups[g].notified = Some(s);
        let ev = match s {
            VrrpState::Master => NotifyEvent::Master,
            VrrpState::Backup => NotifyEvent::Backup,
            VrrpState::Fault => NotifyEvent::Fault,
            VrrpState::Init => return,
        };
        self.group_notify(g, ev);
    }

    /// `vrrp_sync_can_goto_master`.
    pub(crate) fn sync_can_goto_master(&mut self, now: Instant, i: usize) -> bool {
        let Some(g) = self.inst[i].group else {
            return true;
        };
        if self.groups[g].state == VrrpState::Master {
            return true;
        }
        let others_want = self.groups[g]
            .members
            .iter()
            .all(|&j| j == i || self.inst[j].wantstate == VrrpState::Master);
        if !others_want {
            let x = &mut self.inst[i];
            x.ms_down_timer = x.ms_down();
            self.init_sands(now, i);
        }
        others_want
    }

    /// The transition matrix: B->M, M->M, F->M sync the group to MASTER;
    /// M->B syncs it to BACKUP.
    pub(crate) fn tsm(&mut self, now: Instant, i: usize, prev: VrrpState) {
        if self.inst[i].group.is_none() {
            return;
        }
        match (prev, self.inst[i].state) {
            (VrrpState::Backup | VrrpState::Master | VrrpState::Fault, VrrpState::Master) => {
                self.sync_master(now, i)
            }
            (VrrpState::Master, VrrpState::Backup) => self.sync_backup(now, i),
            _ => {}
        }
    }

    /// `vrrp_sync_master`.
    pub(crate) fn sync_master(&mut self, now: Instant, i: usize) {
        let Some(g) = self.inst[i].group else { return };
        if self.groups[g].state == VrrpState::Master || !self.sync_can_goto_master(now, i) {
            return;
        }
        let msg = format!(
            "VRRP_Group({}) Syncing instances to MASTER state",
            self.groups[g].name
        );
        self.log(LogLevel::Info, msg);
        for j in self.groups[g].members.clone() {
            if j != i && self.inst[j].state != VrrpState::Master {
                self.inst[j].wantstate = VrrpState::Master;
                self.goto_master(now, j);
            }
        }
        self.groups[g].state = VrrpState::Master;
        self.send_group_notifies(g);
    }

    /// `vrrp_sync_backup`.
    pub(crate) fn sync_backup(&mut self, now: Instant, i: usize) {
        let Some(g) = self.inst[i].group else { return };
        if self.groups[g].state == VrrpState::Backup {
            return;
        }
        let msg = format!(
            "VRRP_Group({}) Syncing instances to BACKUP state",
            self.groups[g].name
        );
        self.log(LogLevel::Info, msg);
        for j in self.groups[g].members.clone() {
            if j == i || self.inst[j].state == VrrpState::Backup {
                continue;
            }
            self.inst[j].wantstate = VrrpState::Backup;
            if matches!(self.inst[j].state, VrrpState::Fault | VrrpState::Init) {
                self.leave_fault(now, j);
            } else {
                self.leave_master(now, j, false);
            }
        }
        self.groups[g].state = VrrpState::Backup;
        self.send_group_notifies(g);
    }

    /// `vrrp_sync_fault`.
    pub(crate) fn sync_fault(&mut self, now: Instant, i: usize) {
        let Some(g) = self.inst[i].group else { return };
        if self.groups[g].state == VrrpState::Fault {
            return;
        }
        let msg = format!(
            "VRRP_Group({}) Syncing instances to FAULT state",
            self.groups[g].name
        );
        self.log(LogLevel::Info, msg);
        for j in self.groups[g].members.clone() {
            if j == i || self.inst[j].state == VrrpState::Fault {
                continue;
            }
            self.inst[j].wantstate = VrrpState::Fault;
            match self.inst[j].state {
                VrrpState::Master => self.leave_master(now, j, false),
                _ => {
                    let msg = format!("({}) Entering FAULT STATE", self.inst[j].cfg.name);
                    self.log(LogLevel::Info, msg);
                    self.inst[j].state = VrrpState::Fault;
                    self.leave_fault(now, j);
                }
            }
        }
        self.groups[g].state = VrrpState::Fault;
        self.send_group_notifies(g);
    }
}
