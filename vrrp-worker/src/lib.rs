//! The VRRP worker process.
//!
//! Runs the VRRP v2 (RFC 3768) and v3 (RFC 5798) state machines for every
//! configured `vrrp_instance`, IPv4 and IPv6, and performs their I/O:
//! raw IP protocol 112 sockets for adverts, VIP add/remove over rtnetlink,
//! gratuitous ARP and unsolicited neighbour advertisements.
//!
//! Privileges: started by the parent with its socketpair at a fixed fd; it
//! keeps only CAP_NET_RAW and CAP_NET_ADMIN (effective and permitted), an
//! empty bounding set, no_new_privs and a seccomp allow-list. It never reads
//! configuration files: the parent sends it its typed slice of the model.

pub mod io;
pub mod machine;
pub mod packet;
mod sys;

use ipc::link::{Flow, Link, LinkError, Worker, run_loop};
use ipc::{
    DumpKind, FromWorker, InstanceRestore, LogLevel, Role, ScriptEntry, Slice, ToWorker, VrrpSlice,
};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::os::unix::net::UnixStream;

/// The VRRP worker's state.
pub struct VrrpWorker {
    generation: u64,
    slice: VrrpSlice,
    scripts: Vec<ScriptEntry>,
    /// The state each instance resumes from after a restart.
    restored: BTreeMap<String, InstanceRestore>,
}

impl VrrpWorker {
    fn dump(&self, kind: DumpKind) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "------< VRRP worker (pid {}) >------",
            std::process::id()
        );
        let _ = writeln!(s, " Configuration generation = {}", self.generation);
        let _ = writeln!(s, " Scripts = {}", self.scripts.len());
        for i in &self.slice.vrrp.instances {
            let _ = writeln!(
                s,
                " VRRP Instance = {}, vrid {}, interface {}",
                i.name,
                i.vrid,
                i.interface.as_deref().unwrap_or("-")
            );
            if let (DumpKind::Data, Some(r)) = (kind, self.restored.get(&i.name)) {
                let _ = writeln!(
                    s,
                    "   Resumed from = {:?}, VIPs held = {}",
                    r.state, r.holds_vips
                );
            }
        }
        s
    }
}

impl Worker for VrrpWorker {
    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
        match msg {
            ToWorker::Reload(r) => match r.slice {
                Slice::Vrrp(s) => {
                    self.slice = *s;
                    self.scripts = r.scripts;
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
            ToWorker::Shutdown => return Ok(Flow::Exit(0)),
            ToWorker::DumpRequest { kind } => link.send(&FromWorker::Dump {
                kind,
                text: self.dump(kind),
            })?,
            ToWorker::ScriptDone { .. } => {}
            other => {
                return Err(LinkError::Protocol(format!(
                    "unexpected {} for the VRRP worker",
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
    let (mut link, init) = match Link::connect(stream, Role::Vrrp) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("keepalived-rs vrrp worker: {e}");
            return 1;
        }
    };
    let (Slice::Vrrp(slice), ipc::Restored::Vrrp(restored)) = (init.slice, init.restored) else {
        return 1;
    };
    let mut w = VrrpWorker {
        generation: init.generation,
        slice: *slice,
        scripts: init.scripts,
        restored,
    };
    let n = w.slice.vrrp.instances.len();
    let generation = w.generation;
    let started = (|| {
        link.log(LogLevel::Info, confinement.to_string())?;
        link.log(
            LogLevel::Info,
            format!("VRRP worker started with {n} instance(s)"),
        )?;
        link.send(&FromWorker::Ready { generation })
    })();
    if started.is_err() {
        return 1;
    }
    run_loop(link, &mut w)
}
