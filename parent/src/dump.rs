//! SIGUSR1 / SIGUSR2 dumps, in keepalived's files: /tmp/keepalived.data
//! (VRRP side) and /tmp/keepalived_check.data (checker side) for data,
//! /tmp/keepalived.stats for statistics, /tmp/keepalived.json for JSON.
//! Written by the parent (mode 0600, never following a planted symlink in
//! /tmp).

use ipc::{DumpKind, Role};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub fn paths(kind: DumpKind) -> Vec<&'static str> {
    match kind {
        DumpKind::Data => vec!["/tmp/keepalived.data", "/tmp/keepalived_check.data"],
        DumpKind::Stats => vec!["/tmp/keepalived.stats"],
        DumpKind::Json => vec!["/tmp/keepalived.json"],
    }
}

fn write_file(path: &Path, text: &str) -> io::Result<()> {
    // Write a new file (O_EXCL, O_NOFOLLOW: never through a file or link
    // someone planted in /tmp), then rename it over the old one, so readers
    // see either the old dump or the whole new one.
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    if let Err(e) = f.write_all(text.as_bytes()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Write the parent's part and the workers' parts. `missing` lists workers
/// that did not answer in time.
pub fn write(
    kind: DumpKind,
    parent: &str,
    parts: &BTreeMap<Role, String>,
    missing: &[Role],
) -> io::Result<Vec<String>> {
    let section = |roles: &[Role]| {
        let mut s = String::new();
        for r in roles {
            if let Some(t) = parts.get(r) {
                s.push_str(t);
                if !t.ends_with('\n') {
                    s.push('\n');
                }
            } else if missing.contains(r) {
                s.push_str(&format!("------< {r} worker: no answer >------\n"));
            }
        }
        s
    };
    let mut written = Vec::new();
    match kind {
        DumpKind::Data => {
            let vrrp = format!("{parent}{}", section(&[Role::Vrrp]));
            write_file(Path::new("/tmp/keepalived.data"), &vrrp)?;
            written.push("/tmp/keepalived.data".to_string());
            let check = section(&[Role::Check, Role::Ipvs]);
            write_file(Path::new("/tmp/keepalived_check.data"), &check)?;
            written.push("/tmp/keepalived_check.data".to_string());
        }
        DumpKind::Stats | DumpKind::Json => {
            let path = paths(kind)[0];
            let all = format!("{parent}{}", section(&Role::ALL));
            write_file(Path::new(path), &all)?;
            written.push(path.to_string());
        }
    }
    Ok(written)
}
