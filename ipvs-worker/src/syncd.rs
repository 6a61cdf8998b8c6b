//! `lvs_sync_daemon`: which connection synchronisation daemons the kernel
//! must run, and the requests that get it there (sans-IO).
//!
//! keepalived (its VRRP process) starts the daemon in the state of the
//! instance named by `lvs_sync_daemon`: the master daemon while the
//! instance is MASTER, the backup daemon otherwise (BACKUP, FAULT, at
//! start); on each transition it stops the one and starts the other. With
//! no instance named, its checker process runs both. The sync id defaults
//! to the instance's virtual_router_id (0 without an instance).

use crate::netlink::ipvs::{Daemon, Request};
use config::model::global::LvsSyncDaemon;
use ipc::VrrpState;
use std::collections::BTreeMap;

/// `IP_VS_STATE_MASTER`.
pub const STATE_MASTER: u32 = 1;
/// `IP_VS_STATE_BACKUP`.
pub const STATE_BACKUP: u32 = 2;

/// The daemons `cfg` asks for, given the driving instances' states
/// (name -> (state, vrid)); `None` while the instance's state is not
/// known yet (the kernel is then left as it is).
pub fn desired(
    cfg: &LvsSyncDaemon,
    states: &BTreeMap<String, (VrrpState, u8)>,
) -> Option<Vec<Daemon>> {
    let daemon = |state, syncid| Daemon {
        state,
        mcast_ifn: cfg.interface.clone(),
        sync_id: u32::from(syncid),
        sync_maxlen: cfg.maxlen,
        mcast_group: cfg.group,
        mcast_port: cfg.port,
        mcast_ttl: cfg.ttl,
    };
    match &cfg.instance {
        None => {
            let id = cfg.syncid.unwrap_or(0);
            Some(vec![daemon(STATE_MASTER, id), daemon(STATE_BACKUP, id)])
        }
        Some(name) => {
            let (state, vrid) = states.get(name)?;
            let s = if *state == VrrpState::Master {
                STATE_MASTER
            } else {
                STATE_BACKUP
            };
            Some(vec![daemon(s, cfg.syncid.unwrap_or(*vrid))])
        }
    }
}

/// Whether the kernel's daemon `k` is the desired `d`. What the kernel
/// does not report is taken as matching; what the configuration leaves
/// unset is the kernel's default and matches anything.
fn matches(d: &Daemon, k: &Daemon) -> bool {
    fn opt<T: PartialEq>(want: &Option<T>, got: &Option<T>) -> bool {
        match (want, got) {
            (Some(w), Some(g)) => w == g,
            _ => true,
        }
    }
    d.state == k.state
        && d.mcast_ifn == k.mcast_ifn
        && d.sync_id == k.sync_id
        && opt(&d.sync_maxlen, &k.sync_maxlen)
        && opt(&d.mcast_group, &k.mcast_group)
        && opt(&d.mcast_port, &k.mcast_port)
        && opt(&d.mcast_ttl, &k.mcast_ttl)
}

/// The requests that turn the kernel's daemons into `want`: stops first
/// (as keepalived stops the backup daemon before starting the master),
/// then starts. A daemon that differs is stopped and started again.
pub fn plan(want: &[Daemon], kernel: &[Daemon]) -> Vec<Request> {
    let mut out = Vec::new();
    for k in kernel {
        if !want.iter().any(|d| matches(d, k)) {
            out.push(Request::DelDaemon(k.state));
        }
    }
    for d in want {
        if !kernel.iter().any(|k| matches(d, k)) {
            out.push(Request::NewDaemon(d.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::diag::Loc;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn cfg(instance: Option<&str>, syncid: Option<u8>) -> LvsSyncDaemon {
        LvsSyncDaemon {
            interface: "eth1".into(),
            instance: instance.map(String::from),
            syncid,
            maxlen: Some(1400),
            port: None,
            ttl: Some(2),
            group: Some("239.1.2.3".parse().unwrap()),
            loc: Loc::new(Arc::new(PathBuf::from("k.conf")), 1),
        }
    }

    fn states(s: VrrpState) -> BTreeMap<String, (VrrpState, u8)> {
        BTreeMap::from([("VI_1".to_string(), (s, 51))])
    }

    #[test]
    fn the_instance_state_picks_master_or_backup() {
        let c = cfg(Some("VI_1"), None);
        assert_eq!(desired(&c, &BTreeMap::new()), None, "state unknown");
        let m = desired(&c, &states(VrrpState::Master)).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].state, m[0].sync_id), (STATE_MASTER, 51));
        for s in [VrrpState::Backup, VrrpState::Fault, VrrpState::Init] {
            let b = desired(&c, &states(s)).unwrap();
            assert_eq!((b[0].state, b[0].sync_id), (STATE_BACKUP, 51), "{s:?}");
        }
        let c = cfg(Some("VI_1"), Some(7));
        assert_eq!(
            desired(&c, &states(VrrpState::Master)).unwrap()[0].sync_id,
            7
        );
    }

    #[test]
    fn without_an_instance_both_run() {
        let d = desired(&cfg(None, None), &BTreeMap::new()).unwrap();
        let s: Vec<(u32, u32)> = d.iter().map(|d| (d.state, d.sync_id)).collect();
        assert_eq!(s, [(STATE_MASTER, 0), (STATE_BACKUP, 0)]);
    }

    #[test]
    fn a_transition_stops_one_and_starts_the_other() {
        let c = cfg(Some("VI_1"), None);
        let backup = desired(&c, &states(VrrpState::Backup)).unwrap();
        let master = desired(&c, &states(VrrpState::Master)).unwrap();
        assert_eq!(plan(&backup, &[]), [Request::NewDaemon(backup[0].clone())]);
        assert_eq!(plan(&backup, &backup), []);
        assert_eq!(
            plan(&master, &backup),
            [
                Request::DelDaemon(STATE_BACKUP),
                Request::NewDaemon(master[0].clone())
            ]
        );
        // The kernel reports its defaults for what is not configured.
        let mut k = master[0].clone();
        k.mcast_port = Some(8848);
        assert_eq!(plan(&master, &[k.clone()]), []);
        // A daemon on another interface or sync id is restarted.
        k.sync_id = 9;
        assert_eq!(
            plan(&master, &[k]),
            [
                Request::DelDaemon(STATE_MASTER),
                Request::NewDaemon(master[0].clone())
            ]
        );
        // Nothing wanted: stop what runs.
        assert_eq!(plan(&[], &master), [Request::DelDaemon(STATE_MASTER)]);
    }
}
