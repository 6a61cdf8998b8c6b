//! Sandbox test probes (cargo feature `test-messages` only): a worker asked
//! by `ToWorker::TestProbe` tries something its sandbox should forbid and
//! answers with what happened. [`crate::link::run_loop`] handles the
//! message for every role, before the worker sees it, so each role's real
//! confinement is what is tested.
//!
//! A call outside the role's seccomp allow-list never returns: the kernel
//! kills the worker with SIGSYS and the parent logs and counts that. An
//! allowed call that Landlock, the user switch or the missing capabilities
//! refuse comes back as [`ProbeResult::Failed`] with its errno.

use crate::msg::{ProbeAction, ProbeResult, ScriptId, ScriptOutcome};
use serde::Serialize;
use std::os::unix::process::CommandExt;
use std::path::Path;

/// The top bit marks a script probe's request number (a worker's own
/// requests count up from 1); the low 32 bits carry the script id.
const SCRIPT_PROBE: u64 = 1 << 63;

/// The `RunScript` request number of a script probe for `id`.
pub fn script_request(id: ScriptId) -> u64 {
    SCRIPT_PROBE | u64::from(id.0)
}

/// The script id of a script probe's request number, or `None` for a
/// worker's own request.
pub fn script_probe_id(request: u64) -> Option<ScriptId> {
    (request & SCRIPT_PROBE != 0).then_some(ScriptId(request as u32))
}

/// The probe reply for the parent's answer to a script probe.
pub fn script_reply(request: u64, outcome: ScriptOutcome) -> (ProbeAction, ProbeResult) {
    let action = ProbeAction::RunScript(script_probe_id(request).unwrap_or(ScriptId(u32::MAX)));
    let result = match outcome {
        ScriptOutcome::Exited { code: 0 } => ProbeResult::Succeeded,
        other => ProbeResult::Failed {
            errno: None,
            message: format!("{other:?}"),
        },
    };
    (action, result)
}

/// What a compromised worker would send to make the parent run a path:
/// `FromWorker::RunScript` (variant 4) with a string where the id goes.
/// The message type has no such field, so this only exists as a lookalike.
#[derive(Serialize)]
pub enum PathRequest {
    Hello,
    Ready,
    Heartbeat,
    Log,
    RunScript { request: u64, id: String },
}

/// The lookalike `RunScript` naming `path`.
pub fn path_request(path: &Path) -> PathRequest {
    PathRequest::RunScript {
        request: SCRIPT_PROBE,
        id: path.to_string_lossy().into_owned(),
    }
}

/// Try `action` in this process.
pub fn run(action: &ProbeAction) -> ProbeResult {
    match action {
        ProbeAction::OpenNetlink => open_netlink(),
        ProbeAction::ReadFile(path) => match std::fs::read(path) {
            Ok(_) => ProbeResult::Succeeded,
            Err(e) => failed(e),
        },
        ProbeAction::RunScript(_) | ProbeAction::RunScriptPath(_) => ProbeResult::Failed {
            errno: None,
            message: "script probes go through the parent (ipc::link)".into(),
        },
        ProbeAction::Exec(path) => {
            // No fork: the worker itself becomes `path` if execve is
            // allowed (and then exits as that program would, which the
            // parent sees as the worker's death). Only a refused exec
            // returns here.
            let e = std::process::Command::new(path).exec();
            failed(e)
        }
    }
}

fn open_netlink() -> ProbeResult {
    use rustix::net::{AddressFamily, SocketType, socket};
    match socket(
        AddressFamily::NETLINK,
        SocketType::RAW,
        None, // NETLINK_ROUTE is protocol 0
    ) {
        Ok(fd) => {
            drop(fd);
            ProbeResult::Succeeded
        }
        Err(e) => failed(std::io::Error::from(e)),
    }
}

fn failed(e: std::io::Error) -> ProbeResult {
    ProbeResult::Failed {
        errno: e.raw_os_error(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfined_probes_report_their_outcome() {
        // Outside a sandbox: a missing file fails with ENOENT, a readable
        // one succeeds, an exec of a missing program fails with ENOENT
        // (no fork: a successful exec would replace the test process).
        assert_eq!(
            run(&ProbeAction::ReadFile("/proc/self/status".into())),
            ProbeResult::Succeeded
        );
        match run(&ProbeAction::ReadFile("/nonexistent/krs-probe".into())) {
            ProbeResult::Failed { errno, .. } => assert_eq!(errno, Some(libc_enoent())),
            other => panic!("{other:?}"),
        }
        match run(&ProbeAction::Exec("/nonexistent/krs-probe-sh".into())) {
            ProbeResult::Failed { errno, .. } => assert_eq!(errno, Some(libc_enoent())),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_path_where_the_script_id_goes_is_not_a_message() {
        use crate::msg::FromWorker;
        let frame = crate::frame::encode(&path_request(Path::new("/bin/sh"))).expect("encode");
        let r = crate::frame::decode_exact::<FromWorker>(&frame);
        assert!(r.is_err(), "{r:?}");
        // The same frame with a real id decodes: the lookalike has the
        // layout of FromWorker::RunScript.
        let good = crate::frame::encode(&FromWorker::RunScript {
            request: SCRIPT_PROBE,
            id: ScriptId(7),
        })
        .expect("encode");
        // Same protocol byte and variant index (after the 4-byte length).
        assert_eq!((good[0], good[5]), (frame[0], frame[5]));
    }

    #[test]
    fn script_probe_requests_carry_their_id() {
        let r = script_request(ScriptId(42));
        assert_eq!(script_probe_id(r), Some(ScriptId(42)));
        assert_eq!(script_probe_id(1), None);
    }

    /// ENOENT on Linux.
    fn libc_enoent() -> i32 {
        2
    }
}
