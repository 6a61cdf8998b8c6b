//! systemd's service notification protocol (sd_notify(3)), spoken directly
//! on `$NOTIFY_SOCKET` without libsystemd: one datagram of `KEY=VALUE`
//! lines per message. The parent sends `READY=1` once every worker has
//! reported its configuration loaded, `RELOADING=1` with `MONOTONIC_USEC`
//! when a SIGHUP reload starts (then `READY=1` again), `STOPPING=1` when it
//! stops, and `WATCHDOG=1` every half `WatchdogSec` when systemd set
//! `$WATCHDOG_USEC` for this process.
//!
//! Without `$NOTIFY_SOCKET` (not started by systemd, or `Type=` is not
//! `notify`) every call is a no-op.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
    next_watchdog: Option<Instant>,
}

/// Where `$NOTIFY_SOCKET` points: a path, or an abstract name after `@`.
pub fn parse_socket(value: &str) -> io::Result<SocketAddr> {
    if let Some(name) = value.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes())
    } else if value.starts_with('/') {
        SocketAddr::from_pathname(value)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("NOTIFY_SOCKET={value}: neither an absolute path nor @abstract"),
        ))
    }
}

/// The watchdog interval systemd asks this process for: `$WATCHDOG_USEC`,
/// when `$WATCHDOG_PID` is unset or names `pid` (sd_watchdog_enabled(3)).
pub fn watchdog_interval(usec: Option<&str>, wpid: Option<&str>, pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
    if let Some(w) = wpid {
        if w.trim().parse::<u32>().ok() != Some(pid) {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

/// `CLOCK_MONOTONIC` in microseconds, as `MONOTONIC_USEC=` wants it.
pub fn monotonic_usec() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64) * 1_000_000 + (t.tv_nsec as u64) / 1_000
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn none() -> Self {
        Self {
            target: None,
            watchdog: None,
            next_watchdog: None,
        }
    }

    /// From the environment systemd gives a service. An unusable
    /// `$NOTIFY_SOCKET` is an error (the caller logs it and runs on).
    pub fn from_env(now: Instant) -> io::Result<Self> {
        let Some(value) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(Self::none());
        };
        let value = value
            .into_string()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NOTIFY_SOCKET not UTF-8"))?;
        let addr = parse_socket(&value)?;
        let sock = UnixDatagram::unbound()?;
        sock.set_nonblocking(true)?;
        let watchdog = watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        Ok(Self {
            target: Some((sock, addr)),
            watchdog,
            next_watchdog: watchdog.map(|w| now + w / 2),
        })
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Send one message (`KEY=VALUE` lines). Errors are returned for the
    /// caller to log; systemd not listening changes nothing else.
    pub fn send(&self, msg: &str) -> io::Result<()> {
        match &self.target {
            Some((sock, addr)) => sock.send_to_addr(msg.as_bytes(), addr).map(|_| ()),
            None => Ok(()),
        }
    }

    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&format!("READY=1\nSTATUS={status}"))
    }

    pub fn reloading(&self) -> io::Result<()> {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=Reloading the configuration",
            monotonic_usec()
        ))
    }

    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1\nSTATUS=Stopping")
    }

    /// When the next `WATCHDOG=1` is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_watchdog
    }

    /// Send `WATCHDOG=1` if it is due.
    pub fn on_timer(&mut self, now: Instant) -> io::Result<()> {
        match (self.next_watchdog, self.watchdog) {
            (Some(t), Some(w)) if now >= t => {
                self.next_watchdog = Some(now + w / 2);
                self.send("WATCHDOG=1")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses() {
        let a = parse_socket("/run/systemd/notify").expect("path");
        assert_eq!(
            a.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
        use std::os::linux::net::SocketAddrExt;
        let b = parse_socket("@/org/freedesktop/systemd1/notify/123").expect("abstract");
        assert_eq!(
            b.as_abstract_name(),
            Some(&b"/org/freedesktop/systemd1/notify/123"[..])
        );
        assert!(parse_socket("relative").is_err());
    }

    #[test]
    fn watchdog_for_this_pid_only() {
        assert_eq!(
            watchdog_interval(Some("3000000"), None, 7),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            watchdog_interval(Some("3000000"), Some("7"), 7),
            Some(Duration::from_secs(3))
        );
        assert_eq!(watchdog_interval(Some("3000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval(None, Some("7"), 7), None);
    }

    #[test]
    fn messages_reach_a_bound_socket() {
        let dir = std::env::temp_dir().join(format!("krs-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("notify");
        let rx = UnixDatagram::bind(&path).expect("bind");
        rx.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let now = Instant::now();
        let mut n = Notifier {
            target: Some((
                UnixDatagram::unbound().expect("sock"),
                SocketAddr::from_pathname(&path).expect("addr"),
            )),
            watchdog: Some(Duration::from_millis(100)),
            next_watchdog: Some(now + Duration::from_millis(50)),
        };
        let mut buf = [0u8; 512];
        let mut recv = || {
            let k = rx.recv(&mut buf).expect("recv");
            String::from_utf8_lossy(&buf[..k]).into_owned()
        };
        n.ready("up").expect("send");
        assert_eq!(recv(), "READY=1\nSTATUS=up");
        let before = monotonic_usec();
        n.reloading().expect("send");
        let r = recv();
        let usec: u64 = r
            .lines()
            .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
            .expect("MONOTONIC_USEC")
            .parse()
            .expect("number");
        assert!(r.starts_with("RELOADING=1\n"));
        assert!(usec >= before && usec < before + 5_000_000);
        // Not due yet: nothing sent; due: one WATCHDOG=1, next at +50 ms.
        n.on_timer(now).expect("timer");
        n.on_timer(now + Duration::from_millis(60)).expect("timer");
        assert_eq!(recv(), "WATCHDOG=1");
        assert_eq!(n.next_deadline(), Some(now + Duration::from_millis(110)));
        n.stopping().expect("send");
        assert_eq!(recv(), "STOPPING=1\nSTATUS=Stopping");
        assert!(Notifier::none().send("READY=1").is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
