//! What the parent keeps of root's capabilities.
//!
//! The parent needs few capabilities itself, but everything its children
//! need must stay in its bounding set: the workers are exec'd as uid 0 and
//! take their capabilities from it before confining themselves. So it
//! keeps, in its bounding, permitted and effective sets:
//!
//! - CAP_NET_ADMIN, CAP_NET_RAW: the VRRP worker (VIPs, raw sockets) and
//!   the IPVS worker (netlink) keep these;
//! - CAP_SETPCAP: every worker drops its own bounding set and locks its
//!   securebits;
//! - CAP_SETUID, CAP_SETGID: the check worker switches to its user, and
//!   the parent starts scripts as their configured users;
//! - CAP_KILL: the parent signals the check worker (another uid) and
//!   kills scripts' process groups (their users) at their timeout;
//! - CAP_DAC_READ_SEARCH: reading configuration files and their includes
//!   wherever they are (and stat-ing scripts for the security checks).
//!
//! and drops the other 34 or so (CAP_SYS_ADMIN, CAP_SYS_MODULE,
//! CAP_DAC_OVERRIDE, CAP_SYS_PTRACE, ...). Only when no configured script
//! runs as root: keepalived users' notify scripts configured as root expect
//! full root (restart services, mount, ...), and a script inherits the
//! parent's bounding set. A reload that adds a root script after the drop
//! cannot give them back: it is logged, and a restart of the daemon does.

use sandbox::Cap;

/// The parent's capabilities when no script runs as root.
pub const PARENT_CAPS: [Cap; 7] = [
    Cap::DacReadSearch,
    Cap::Kill,
    Cap::Setgid,
    Cap::Setuid,
    Cap::Setpcap,
    Cap::NetAdmin,
    Cap::NetRaw,
];

/// Limit the parent's capabilities unless `root_script` names a script
/// that runs as root or we are not root. Returns the log line to write and
/// whether the set was limited.
pub fn limit(root_script: Option<&str>) -> (bool, String) {
    if let Some(s) = root_script {
        return (
            false,
            format!("keeping root's full capabilities: script {s} runs as root"),
        );
    }
    if !rustix::process::geteuid().is_root() {
        return (false, "not running as root: no capability to drop".into());
    }
    match sandbox::limit_capabilities(&PARENT_CAPS) {
        Ok(dropped) => (
            true,
            format!(
                "capabilities limited to {} ({dropped} dropped from the bounding set; no script runs as root)",
                PARENT_CAPS
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(e) => (false, format!("cannot limit the capabilities: {e}")),
    }
}
