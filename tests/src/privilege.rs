//! Whether a privileged or tool-dependent test can run here, and what to do
//! when it cannot: fail under CI (CI=true), skip loudly elsewhere.

use std::path::Path;

/// Something a test needs from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Effective uid 0 (network namespaces, `ip netns exec`).
    Root,
    /// Debian's keepalived at /usr/sbin/keepalived (or `$KEEPALIVED`).
    Keepalived,
    /// The `ip`, `unshare` and `hostname` commands.
    NetTools,
}

/// True when running under CI (`CI=true`, as .ci/run is run).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The effective uid, read from /proc (no libc call needed).
pub fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

pub fn is_root() -> bool {
    euid() == Some(0)
}

fn on_path(cmd: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(cmd).is_file())
}

fn missing(req: Requirement) -> Option<String> {
    match req {
        Requirement::Root => (!is_root()).then(|| {
            format!(
                "needs root (euid is {}): it creates network namespaces",
                euid().map_or("unknown".to_string(), |u| u.to_string())
            )
        }),
        Requirement::Keepalived => {
            let bin = crate::binaries::keepalived_system_binary();
            (!Path::new(&bin).is_file()).then(|| {
                format!(
                    "needs Debian's keepalived at {} (apt-get install keepalived, or set KEEPALIVED)",
                    bin.display()
                )
            })
        }
        Requirement::NetTools => ["ip", "unshare", "hostname"]
            .iter()
            .find(|c| !on_path(c))
            .map(|c| format!("needs the `{c}` command (iproute2 / util-linux / hostname)")),
    }
}

/// Check the requirements of test `test`. Returns true when all are met.
/// When one is not: under CI, panic with a clear message (a privileged test
/// must not silently pass in CI); elsewhere, print a loud SKIP banner on
/// stderr and return false so the caller can return early.
pub fn require(test: &str, reqs: &[Requirement]) -> bool {
    let problems: Vec<String> = reqs.iter().filter_map(|r| missing(*r)).collect();
    if problems.is_empty() {
        return true;
    }
    let msg = format!("{test} {}", problems.join("; "));
    if in_ci() {
        panic!("{msg}. CI=true is set, so this test fails instead of skipping.");
    }
    eprintln!();
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPED: {msg}");
    eprintln!("!!! (set CI=true to make this a failure)");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!();
    false
}
