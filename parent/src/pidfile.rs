//! pid files: `-p` for the parent, `-r` for the VRRP worker, `-c` for the
//! check worker (keepalived's names and defaults). The IPVS worker, which
//! keepalived does not have, writes none.

use crate::cli::Options;
use ipc::Role;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Write `pid` to `path` (mode 0644, replacing a stale file, never
/// following a symlink).
pub fn write(path: &Path, pid: u32) -> io::Result<()> {
    let tmp = path.with_extension("pid.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    writeln!(f, "{pid}")?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// A pid file naming a live keepalived-rs process, if there is one.
pub fn running(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    if pid == std::process::id() {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = cmdline.split(|&b| b == 0).next()?;
    String::from_utf8_lossy(argv0)
        .contains("keepalived-rs")
        .then_some(pid)
}

fn worker_path(opts: &Options, role: Role) -> Option<&Path> {
    match role {
        Role::Vrrp => Some(&opts.vrrp_pid_file),
        Role::Check => Some(&opts.checkers_pid_file),
        Role::Ipvs | Role::Metrics => None,
    }
}

pub fn write_worker(opts: &Options, role: Role, pid: u32) {
    if let Some(p) = worker_path(opts, role) {
        let _ = write(p, pid);
    }
}

pub fn remove_worker(opts: &Options, role: Role) {
    if let Some(p) = worker_path(opts, role) {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_detect() {
        let dir = std::env::temp_dir().join(format!("krs-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join("k.pid");
        write(&p, 12345).expect("write");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "12345\n");
        write(&p, std::process::id()).expect("rewrite");
        assert_eq!(running(&p), None, "our own pid is not another daemon");
        // A symlink in place of the temporary file is not followed.
        let target = dir.join("target");
        std::fs::write(&target, "x").expect("target");
        std::os::unix::fs::symlink(&target, p.with_extension("pid.tmp")).expect("symlink");
        write(&p, 7).expect("write over a planted link");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "x");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
