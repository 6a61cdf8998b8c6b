//! Logging: the parent alone writes syslog (so sandboxed workers need no
//! `/dev/log`); workers send their lines over IPC and the parent writes
//! them under the worker's ident, as keepalived's children log under
//! `Keepalived_vrrp` and `Keepalived_healthcheckers`.
//!
//! Text from a worker is untrusted: control characters are escaped and the
//! length is capped, so a compromised worker cannot forge extra log lines.

use std::cell::RefCell;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::time::{SystemTime, UNIX_EPOCH};

/// syslog severities (RFC 5424).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// The longest message kept from one log call; the rest is cut with a mark.
pub const MAX_MESSAGE: usize = 2048;

pub struct Logger {
    facility: u8,
    console: bool,
    detail: bool,
    syslog_enabled: bool,
    syslog: RefCell<Option<UnixDatagram>>,
    syslog_path: String,
}

impl Logger {
    pub fn new(facility: u8, console: bool, detail: bool, syslog: bool) -> Self {
        Self::with_syslog_path(facility, console, detail, syslog, "/dev/log")
    }

    pub fn with_syslog_path(
        facility: u8,
        console: bool,
        detail: bool,
        syslog: bool,
        path: &str,
    ) -> Self {
        Self {
            facility,
            console,
            detail,
            syslog_enabled: syslog,
            syslog: RefCell::new(None),
            syslog_path: path.to_string(),
        }
    }

    pub fn detail(&self) -> bool {
        self.detail
    }

    /// Log `msg` under `ident[pid]`. Debug lines are written only with
    /// `-D`.
    pub fn log(&self, level: Level, ident: &str, pid: u32, msg: &str) {
        if level == Level::Debug && !self.detail {
            return;
        }
        let msg = sanitize(msg);
        if self.console {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "{} {ident}[{pid}]: {msg}",
                timestamp(SystemTime::now())
            );
        }
        if self.syslog_enabled {
            self.send_syslog(level, ident, pid, &msg);
        }
    }

    fn send_syslog(&self, level: Level, ident: &str, pid: u32, msg: &str) {
        let pri = u32::from(self.facility) * 8 + level as u32;
        let line = format!("<{pri}>{ident}[{pid}]: {msg}");
        let mut sock = self.syslog.borrow_mut();
        for _ in 0..2 {
            if sock.is_none() {
                *sock = UnixDatagram::unbound()
                    .and_then(|s| s.connect(&self.syslog_path).map(|()| s))
                    .ok();
            }
            match sock.as_ref() {
                Some(s) if s.send(line.as_bytes()).is_ok() => return,
                // syslogd restarted or gone: reconnect once, else drop the line.
                Some(_) => *sock = None,
                None => return,
            }
        }
    }
}

/// Escape control characters (newlines included) and cap the length.
pub fn sanitize(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(MAX_MESSAGE) + 8);
    for c in msg.chars() {
        if out.len() >= MAX_MESSAGE {
            out.push_str("...[truncated]");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), for console lines.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sanitize_escapes_and_caps() {
        assert_eq!(sanitize("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
        let long = "x".repeat(MAX_MESSAGE * 2);
        let s = sanitize(&long);
        assert!(s.len() <= MAX_MESSAGE + 20);
        assert!(s.ends_with("...[truncated]"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_325_321_042);
        assert_eq!(timestamp(t), "2026-11-22T05:28:41.042Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn syslog_lines_carry_facility_and_ident() {
        let dir = std::env::temp_dir().join(format!("krs-log-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).expect("bind");
        let logger = Logger::with_syslog_path(
            16 + 3,
            false,
            false,
            true,
            path.to_str().expect("utf-8 path"),
        );
        logger.log(Level::Warning, "Keepalived_vrrp", 42, "line\ninjected");
        logger.log(Level::Debug, "Keepalived", 1, "dropped without -D");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).expect("recv");
        // local3 = 19; 19 * 8 + warning (4) = 156
        assert_eq!(
            std::str::from_utf8(&buf[..n]).expect("utf-8"),
            "<156>Keepalived_vrrp[42]: line\\ninjected"
        );
        server.set_nonblocking(true).expect("nonblocking");
        assert!(
            server.recv(&mut buf).is_err(),
            "debug line must not be sent"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
