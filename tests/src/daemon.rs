//! A daemon under test: keepalived-rs (or Debian's keepalived) started in a
//! network namespace with its files in a private folder (configuration,
//! pid files, control socket, log), stopped and cleaned up on drop.

use crate::binaries::{keepalived_rs_binary, keepalived_system_binary};
use crate::netns::NetNs;
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A configuration with one VRRP instance (BACKUP on eth0, VRID 51,
/// VIP 10.250.0.100/24) and one virtual server with a TCP_CHECK real
/// server: all three workers run. Shared by the supervisor and operations
/// tests, which derive variants with `replace`.
pub const BASIC_CONF: &str = r#"
global_defs {
    router_id e2e_test
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.250.0.100/24
    }
}
virtual_server 10.250.0.10 80 {
    delay_loop 5
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.250.0.1 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"#;

pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
}

fn prepare(tag: &str, conf: &str) -> (PathBuf, PathBuf, std::fs::File) {
    let dir = std::env::temp_dir().join(format!("krs-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let conf_path = dir.join("keepalived.conf");
    std::fs::write(&conf_path, conf).expect("write conf");
    let log = std::fs::File::create(dir.join("daemon.log")).expect("log");
    (dir, conf_path, log)
}

impl Daemon {
    /// keepalived-rs in the foreground (`-n -l -G -D`), `extra` options
    /// before `-f`; `tag` names its folder (unique per test).
    pub fn start(ns: &NetNs, tag: &str, conf: &str, extra: &[&str]) -> Daemon {
        Self::start_env(ns, tag, conf, extra, &[])
    }

    /// As `start`, with extra environment variables (e.g. systemd's
    /// `NOTIFY_SOCKET`).
    pub fn start_env(
        ns: &NetNs,
        tag: &str,
        conf: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        Self::start_bin_env(&keepalived_rs_binary(), ns, tag, conf, extra, env)
    }

    /// [`Daemon::start`] with another keepalived-rs binary (e.g.
    /// [`crate::binaries::keepalived_rs_probe_binary`]).
    pub fn start_bin(
        bin: &std::path::Path,
        ns: &NetNs,
        tag: &str,
        conf: &str,
        extra: &[&str],
    ) -> Daemon {
        Self::start_bin_env(bin, ns, tag, conf, extra, &[])
    }

    fn start_bin_env(
        bin: &std::path::Path,
        ns: &NetNs,
        tag: &str,
        conf: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        let (dir, conf_path, log) = prepare(tag, conf);
        let child = ns
            .command(bin)
            .envs(env.iter().copied())
            .args(["-n", "-l", "-G", "-D"])
            .args(extra)
            .arg("-f")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.join("k.pid"))
            .arg("-r")
            .arg(dir.join("v.pid"))
            .arg("-c")
            .arg(dir.join("c.pid"))
            .arg("--control-socket")
            .arg(dir.join("ctl.sock"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keepalived-rs");
        Daemon { child, dir }
    }

    /// Debian's keepalived in the foreground with the same kind of files.
    pub fn start_keepalived(ns: &NetNs, tag: &str, conf: &str, extra: &[&str]) -> Daemon {
        let (dir, conf_path, log) = prepare(tag, conf);
        let child = ns
            .command(keepalived_system_binary())
            .args(["-n", "-l", "-D"])
            .args(extra)
            .arg("-f")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.join("k.pid"))
            .arg("-r")
            .arg(dir.join("v.pid"))
            .arg("-c")
            .arg(dir.join("c.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keepalived");
        Daemon { child, dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn conf_path(&self) -> PathBuf {
        self.dir.join("keepalived.conf")
    }

    /// Replace the configuration file (then SIGHUP to reload).
    pub fn rewrite(&self, conf: &str) {
        std::fs::write(self.conf_path(), conf).expect("write conf");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// `ctl status`, read straight from the control socket.
    pub fn status(&self) -> Option<Value> {
        self.request("status")
    }

    /// One control-socket request and its JSON reply.
    pub fn request(&self, req: &str) -> Option<Value> {
        let mut s = UnixStream::connect(self.dir.join("ctl.sock")).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(format!("{req}\n").as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        serde_json::from_str(&out).ok()
    }

    /// Poll the status until `pred` holds; panics with the log after
    /// `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.status() {
                if pred(&s) {
                    return s;
                }
            }
            assert!(
                t0.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; last status: {:?}\nlog:\n{}",
                self.status(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait until exactly `n` workers are running and ready.
    pub fn wait_ready(&self, n: usize) -> Value {
        self.wait_for(
            &format!("{n} ready workers"),
            Duration::from_secs(10),
            |s| {
                let w = s["workers"].as_array().cloned().unwrap_or_default();
                w.len() == n && w.iter().all(|w| w["ready"] == true)
            },
        )
    }

    pub fn signal(&self, sig: &str) {
        signal_pid(self.pid(), sig);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A worker's `(pid, restarts, ready)` in a status object.
pub fn worker(status: &Value, role: &str) -> Option<(u32, u64, bool)> {
    let w = status["workers"]
        .as_array()?
        .iter()
        .find(|w| w["role"] == role)?;
    Some((
        w["pid"].as_u64()? as u32,
        w["restarts"].as_u64()?,
        w["ready"] == true,
    ))
}

/// `kill -SIG PID`, asserting it worked.
pub fn signal_pid(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid} failed");
}

/// Is this process alive (and not a zombie)?
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// The logs of several daemons, each under a header, for failure messages.
pub fn logs(ds: &[&Daemon]) -> String {
    ds.iter()
        .enumerate()
        .map(|(i, d)| format!("--- node {} ({}) log:\n{}", i + 1, d.dir.display(), d.log()))
        .collect()
}

/// Poll `pred` every 10 ms until it holds; returns how long it took.
/// Panics with the daemons' logs after `limit`.
pub fn wait_until(
    what: &str,
    limit: Duration,
    ds: &[&Daemon],
    pred: impl Fn() -> bool,
) -> Duration {
    let t0 = Instant::now();
    loop {
        if pred() {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}\n{}",
            logs(ds)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
