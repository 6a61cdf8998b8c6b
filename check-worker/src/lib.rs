//! The health-check worker process.
//!
//! Runs every real server's checkers (TCP_CHECK, HTTP_GET, SSL_GET,
//! SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK) on one event
//! loop and reports health *changes* to the parent. MISC_CHECK scripts are
//! run by the parent's script runner at this worker's request, by script id.
//!
//! Privileges: none. It runs as an unprivileged user (`keepalived_script`
//! when it exists, else `nobody`) with no capabilities, no_new_privs,
//! seccomp and landlock, and never execs anything.

use ipc::link::{Flow, Link, LinkError, Worker, run_loop};
use ipc::{
    DumpKind, FromWorker, Health, LogLevel, LvsSlice, RealServerKey, Role, ScriptEntry, Slice,
    ToWorker,
};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::os::unix::net::UnixStream;

/// The check worker's state.
pub struct CheckWorker {
    generation: u64,
    slice: LvsSlice,
    scripts: Vec<ScriptEntry>,
    /// Each real server's health as last known (restored after a restart).
    health: BTreeMap<RealServerKey, Health>,
}

impl CheckWorker {
    fn dump(&self, _kind: DumpKind) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "------< check worker (pid {}) >------",
            std::process::id()
        );
        let _ = writeln!(s, " Configuration generation = {}", self.generation);
        let _ = writeln!(s, " Scripts = {}", self.scripts.len());
        let _ = writeln!(
            s,
            " Virtual servers = {}",
            self.slice.lvs.virtual_servers.len()
        );
        for (k, h) in &self.health {
            let _ = writeln!(
                s,
                "   Real server {}:{} up = {}, weight = {}",
                k.addr, k.port, h.up, h.weight
            );
        }
        s
    }
}

impl Worker for CheckWorker {
    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
        match msg {
            ToWorker::Reload(r) => match r.slice {
                Slice::Check(s) => {
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
                    "unexpected {} for the check worker",
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
    let (mut link, init) = match Link::connect(stream, Role::Check) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("keepalived-rs check worker: {e}");
            return 1;
        }
    };
    let (Slice::Check(slice), ipc::Restored::Check(health)) = (init.slice, init.restored) else {
        return 1;
    };
    let mut w = CheckWorker {
        generation: init.generation,
        slice: *slice,
        scripts: init.scripts,
        health,
    };
    let n = w.slice.lvs.virtual_servers.len();
    let generation = w.generation;
    let started = (|| {
        link.log(LogLevel::Info, confinement.to_string())?;
        link.log(
            LogLevel::Info,
            format!("check worker started with {n} virtual server(s)"),
        )?;
        link.send(&FromWorker::Ready { generation })
    })();
    if started.is_err() {
        return 1;
    }
    run_loop(link, &mut w)
}
