//! The IPVS worker process.
//!
//! Holds the desired IPVS table (virtual services and their real servers,
//! weights from the health the parent reports) and reconciles the kernel's
//! table to it over the generic netlink family "IPVS": it reads the table
//! back, diffs it and repairs only the entries it owns.
//!
//! Privileges: only CAP_NET_ADMIN, no_new_privs, and a seccomp allow-list
//! that permits netlink and little else.

pub mod netlink;
pub mod table;

use ipc::link::{Flow, Link, LinkError, Worker, run_loop};
use ipc::{DumpKind, FromWorker, Health, LogLevel, LvsSlice, RealServerKey, Role, Slice, ToWorker};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::os::unix::net::UnixStream;

/// The IPVS worker's state: the desired table's inputs.
pub struct IpvsWorker {
    generation: u64,
    slice: LvsSlice,
    /// The health the table must reflect (restored after a restart).
    health: BTreeMap<RealServerKey, Health>,
}

impl IpvsWorker {
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
        s
    }
}

impl Worker for IpvsWorker {
    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
        match msg {
            ToWorker::Reload(r) => match r.slice {
                Slice::Ipvs(s) => {
                    self.slice = *s;
                    self.generation = r.generation;
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
            }
            ToWorker::Shutdown => return Ok(Flow::Exit(0)),
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
}

/// The worker's main: handshake, then the loop. Returns the exit code.
/// `confinement` is the sandbox's report, logged through the parent.
pub fn run(stream: UnixStream, confinement: &str) -> i32 {
    let (mut link, init) = match Link::connect(stream, Role::Ipvs) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("keepalived-rs ipvs worker: {e}");
            return 1;
        }
    };
    let (Slice::Ipvs(slice), ipc::Restored::Ipvs(health)) = (init.slice, init.restored) else {
        return 1;
    };
    let mut w = IpvsWorker {
        generation: init.generation,
        slice: *slice,
        health,
    };
    let generation = w.generation;
    let started = (|| {
        link.log(LogLevel::Info, confinement.to_string())?;
        link.log(LogLevel::Info, "IPVS worker started")?;
        link.send(&FromWorker::Ready { generation })
    })();
    if started.is_err() {
        return 1;
    }
    run_loop(link, &mut w)
}
