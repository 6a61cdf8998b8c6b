//! The script runner (relayd's model): workers never exec. A worker asks
//! the parent to run a script by the id the parent gave it; the parent
//! looks the id up in the table it built from the configuration, checks
//! that this worker may ask for it, and runs it as the configured user,
//! with a clean environment, no inherited fds, in its own process group,
//! killing the whole group at the timeout.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// The environment every script gets (keepalived passes its own; a clean
/// one leaks nothing from the daemon's).
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// [`SCRIPT_PATH`]'s folders, where bare script names are looked up.
pub const SCRIPT_PATH_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Whom a script runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    /// It could not be started (named in the text).
    Failed(String),
}

struct Running<K> {
    key: K,
    child: Child,
    deadline: Option<Instant>,
    killed: bool,
}

/// Scripts under way. `K` identifies a run for the caller (the requesting
/// worker and its request number).
pub struct Runner<K> {
    running: Vec<Running<K>>,
}

impl<K> Default for Runner<K> {
    fn default() -> Self {
        Self {
            running: Vec::new(),
        }
    }
}

impl<K: Clone> Runner<K> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Start `argv` as `user`. `timeout` `None` lets it run until it ends.
    pub fn start(
        &mut self,
        key: K,
        argv: &[String],
        user: &RunAs,
        extra_env: &HashMap<String, String>,
        timeout: Option<Duration>,
        now: Instant,
    ) -> Result<(), String> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| "empty script command".to_string())?;
        let mut cmd = Command::new(prog);
        cmd.args(args)
            .env_clear()
            .env("PATH", SCRIPT_PATH)
            .envs(extra_env)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        // std drops the supplementary groups when it changes the uid.
        cmd.gid(user.gid).uid(user.uid);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {prog} as {}: {e}", user.name))?;
        self.running.push(Running {
            key,
            child,
            deadline: timeout.map(|t| now + t),
            killed: false,
        });
        Ok(())
    }

    /// Collect finished scripts and kill those past their deadline (the
    /// whole process group, so a script's own children die with it).
    pub fn reap(&mut self, now: Instant) -> Vec<(K, Outcome)> {
        let mut done = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            let r = &mut self.running[i];
            match r.child.try_wait() {
                Ok(Some(status)) => {
                    use std::os::unix::process::ExitStatusExt;
                    let outcome = if r.killed {
                        Outcome::TimedOut
                    } else if let Some(code) = status.code() {
                        Outcome::Exited(code)
                    } else {
                        Outcome::Signalled(status.signal().unwrap_or(0))
                    };
                    let r = self.running.swap_remove(i);
                    done.push((r.key, outcome));
                    continue;
                }
                Ok(None) => {
                    if !r.killed && r.deadline.is_some_and(|d| now >= d) {
                        kill_group(&r.child);
                        r.killed = true;
                    }
                }
                Err(e) => {
                    let r = self.running.swap_remove(i);
                    done.push((r.key, Outcome::Failed(format!("wait failed: {e}"))));
                    continue;
                }
            }
            i += 1;
        }
        done
    }

    /// The earliest deadline of a script not yet killed.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.running
            .iter()
            .filter(|r| !r.killed)
            .filter_map(|r| r.deadline)
            .min()
    }

    /// Kill every running script's process group (daemon stop).
    pub fn kill_all(&mut self) {
        for r in &mut self.running {
            kill_group(&r.child);
            r.killed = true;
        }
    }

    /// Does any run belong to a key matching `pred` (e.g. a dead worker's)?
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.running.iter().map(|r| &r.key)
    }
}

fn kill_group(child: &Child) {
    let Ok(raw) = i32::try_from(child.id()) else {
        return;
    };
    if let Some(pid) = Pid::from_raw(raw) {
        // The child is its own process group leader (process_group(0)).
        let _ = kill_process_group(pid, Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::sleep;

    fn root() -> RunAs {
        RunAs {
            name: "root".into(),
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        }
    }

    fn sh(s: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), s.into()]
    }

    fn run_until_done(r: &mut Runner<u32>, limit: Duration) -> Vec<(u32, Outcome)> {
        let t0 = Instant::now();
        let mut out = Vec::new();
        while !r.is_empty() && t0.elapsed() < limit {
            out.extend(r.reap(Instant::now()));
            sleep(Duration::from_millis(5));
        }
        out
    }

    #[test]
    fn path_constants_agree() {
        assert_eq!(SCRIPT_PATH_DIRS.join(":"), SCRIPT_PATH);
    }

    #[test]
    fn exit_codes_and_signals() {
        let mut r = Runner::new();
        let env = HashMap::new();
        let now = Instant::now();
        r.start(1, &sh("exit 0"), &root(), &env, None, now)
            .expect("start");
        r.start(2, &sh("exit 3"), &root(), &env, None, now)
            .expect("start");
        r.start(3, &sh("kill -TERM $$"), &root(), &env, None, now)
            .expect("start");
        let mut out = run_until_done(&mut r, Duration::from_secs(10));
        out.sort_by_key(|(k, _)| *k);
        assert_eq!(
            out,
            vec![
                (1, Outcome::Exited(0)),
                (2, Outcome::Exited(3)),
                (3, Outcome::Signalled(15))
            ]
        );
    }

    #[test]
    fn clean_environment_and_no_stdin() {
        let dir = std::env::temp_dir().join(format!("krs-scripts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let out = dir.join("env");
        let mut r = Runner::new();
        let mut env = HashMap::new();
        env.insert("KEEPALIVED_TEST".to_string(), "1".to_string());
        let cmd = format!("env | sort > {}; pwd >> {}", out.display(), out.display());
        r.start(1, &sh(&cmd), &root(), &env, None, Instant::now())
            .expect("start");
        assert_eq!(
            run_until_done(&mut r, Duration::from_secs(10)),
            vec![(1, Outcome::Exited(0))]
        );
        let text = std::fs::read_to_string(&out).expect("read");
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("PWD=")).collect();
        // sh itself adds SHLVL and PWD; nothing of ours leaks through.
        assert!(lines.contains(&"KEEPALIVED_TEST=1"), "{text}");
        assert!(
            lines.contains(&format!("PATH={SCRIPT_PATH}").as_str()),
            "{text}"
        );
        assert!(text.ends_with("/\n"), "runs in /: {text}");
        for l in &lines {
            let name = l.split('=').next().unwrap_or("");
            assert!(
                ["KEEPALIVED_TEST", "PATH", "SHLVL", "_", "/"].contains(&name),
                "unexpected variable {l}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = std::env::temp_dir().join(format!("krs-timeout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let pidfile = dir.join("grandchild");
        let mut r = Runner::new();
        let cmd = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let t0 = Instant::now();
        r.start(
            7,
            &sh(&cmd),
            &root(),
            &HashMap::new(),
            Some(Duration::from_millis(300)),
            t0,
        )
        .expect("start");
        assert!(r.next_deadline().is_some());
        let out = run_until_done(&mut r, Duration::from_secs(10));
        assert_eq!(out, vec![(7, Outcome::TimedOut)]);
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        let gpid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid")
            .trim()
            .parse()
            .expect("number");
        // The background sleep was in the same group: it must be gone
        // (or a zombie about to be reaped by init).
        sleep(Duration::from_millis(100));
        let state = std::fs::read_to_string(format!("/proc/{gpid}/stat")).unwrap_or_default();
        let alive = state
            .rsplit(')')
            .next()
            .map(|s| s.trim_start().starts_with(['R', 'S', 'D']))
            .unwrap_or(false);
        assert!(!alive, "grandchild {gpid} survived the timeout: {state}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn runs_as_the_given_user() {
        if !rustix::process::getuid().is_root() {
            panic!("this test needs root (CI runs as root)");
        }
        let dir = std::env::temp_dir().join(format!("krs-uid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let out = dir.join("id");
        // World-writable so uid 65534 can write the answer.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        let nobody = RunAs {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
        };
        let mut r = Runner::new();
        let cmd = format!("id -u > {0}; id -g >> {0}; id -G >> {0}", out.display());
        r.start(1, &sh(&cmd), &nobody, &HashMap::new(), None, Instant::now())
            .expect("start");
        assert_eq!(
            run_until_done(&mut r, Duration::from_secs(10)),
            vec![(1, Outcome::Exited(0))]
        );
        let text = std::fs::read_to_string(&out).expect("read");
        assert_eq!(
            text, "65534\n65534\n65534\n",
            "no supplementary groups kept"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_program_fails_to_start() {
        let mut r: Runner<u32> = Runner::new();
        let err = r
            .start(
                1,
                &["/nonexistent/script".to_string()],
                &root(),
                &HashMap::new(),
                None,
                Instant::now(),
            )
            .expect_err("must fail");
        assert!(err.contains("/nonexistent/script"), "{err}");
        assert!(r.is_empty());
    }
}
