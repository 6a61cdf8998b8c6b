//! `keepalived-rs --worker=ROLE`: the entry point of a worker process the
//! parent exec'd. It takes its socket from fd 3 and confines itself (fds,
//! user, capabilities, no_new_privs, Landlock, seccomp) before reading
//! anything from it, then runs the role's loop.

use crate::exit;
use crate::sys;
use ipc::{FromWorker, LogLevel};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

fn profile(role: &str, file_check_paths: &[PathBuf]) -> Result<sandbox::Profile, String> {
    let mut p = match role {
        "vrrp" => sandbox::Profile::vrrp(),
        "check" => sandbox::Profile::check(file_check_paths).map_err(|e| e.to_string())?,
        "ipvs" => sandbox::Profile::ipvs(),
        "metrics" => sandbox::Profile::metrics().map_err(|e| e.to_string())?,
        other => {
            return Err(format!(
                "unknown worker role '{other}' (vrrp, check, ipvs, metrics)"
            ));
        }
    };
    // The parent's death closes the IPC socket, and the worker then cleans
    // up (VRRP: priority-0 adverts, VIPs removed) before exiting; a death
    // signal would kill it before it could.
    p.parent_death_signal = None;
    Ok(p)
}

/// Tell the parent why we cannot run (output only: nothing is read before
/// confinement), then exit.
fn fail(mut stream: UnixStream, role: &str, msg: String) -> i32 {
    let _ = ipc::send(
        &mut stream,
        &FromWorker::Log {
            level: LogLevel::Err,
            message: format!("{role} worker cannot confine itself, exiting: {msg}"),
        },
    );
    eprintln!("keepalived-rs --worker={role}: {msg}");
    exit::FATAL
}

pub fn main(role: &str, file_check_paths: &[PathBuf]) -> i32 {
    let stream = match sys::take_ipc_fd() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("keepalived-rs --worker={role}: {e}");
            return exit::USAGE;
        }
    };
    // The metrics worker's listening socket (fd 4) is taken before
    // confinement closes every other fd; it is only accepted on after.
    let listener = if role == "metrics" {
        match sys::take_metrics_listener() {
            Ok(l) => Some(l),
            Err(e) => return fail(stream, role, e.to_string()),
        }
    } else {
        None
    };
    let report = match profile(role, file_check_paths)
        .and_then(|p| sandbox::confine(&p).map_err(|e| e.to_string()))
    {
        // One log line: the report's lines joined.
        Ok(r) => r
            .to_string()
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => return fail(stream, role, e),
    };
    match role {
        "vrrp" => vrrp_worker::run(stream, &report),
        "check" => check_worker::run(stream, &report),
        "ipvs" => ipvs_worker::run(stream, &report),
        "metrics" => match listener {
            Some(l) => metrics_worker::run(stream, l, &report),
            None => exit::USAGE,
        },
        _ => exit::USAGE,
    }
}
