//! Spawns `sandbox-probe` under each role's profile and checks, from the
//! outside, what the kernel says about the confined process
//! (/proc/PID/status, /proc/PID/fd) and how forbidden actions end.
//!
//! These tests need root (CI runs as root): without it they fail, they do
//! not skip.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const PROBE: &str = env!("CARGO_BIN_EXE_sandbox-probe");
const SIGSYS: i32 = 31;
const SIGABRT: i32 = 6;
const EPERM: &str = "1";
const EACCES: &str = "13";

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let uid = field(&status, "Uid");
    assert!(
        uid.split_whitespace().all(|u| u == "0"),
        "the sandbox tests must run as root (Uid: {uid}); they cannot be skipped"
    );
}

fn field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in status"))
}

struct Probe {
    child: Child,
    out: BufReader<ChildStdout>,
    lines: Vec<String>,
}

impl Probe {
    fn command(args: &[&str]) -> Command {
        let mut c = Command::new(PROBE);
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // Backtraces take another path through the panic machinery; the
        // tests that want one set it.
        c.env_remove("RUST_BACKTRACE");
        c
    }

    fn spawn(mut cmd: Command) -> Probe {
        let mut child = cmd.spawn().expect("spawn probe");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        Probe {
            child,
            out,
            lines: Vec::new(),
        }
    }

    fn start(args: &[&str]) -> Probe {
        Probe::spawn(Probe::command(args))
    }

    /// Reads lines until one equals `line`; panics at EOF.
    fn wait_for(&mut self, line: &str) {
        loop {
            let mut l = String::new();
            let n = self.out.read_line(&mut l).expect("read probe output");
            assert!(
                n > 0,
                "probe ended before {line:?}; output: {:#?}",
                self.lines
            );
            let l = l.trim_end().to_string();
            self.lines.push(l.clone());
            if l == line {
                return;
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn resume(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"\n").expect("resume probe");
    }

    fn finish(mut self) -> (ExitStatus, Vec<String>) {
        drop(self.child.stdin.take());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.out, &mut rest).expect("read probe output");
        self.lines.extend(rest.lines().map(str::to_string));
        let status = self.child.wait().expect("wait probe");
        (status, self.lines)
    }
}

fn run(args: &[&str]) -> (ExitStatus, Vec<String>) {
    Probe::start(args).finish()
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

#[track_caller]
fn assert_line(lines: &[String], line: &str) {
    assert!(has(lines, line), "expected {line:?} in {lines:#?}");
}

#[track_caller]
fn assert_sigsys(args: &[&str], before: &str) {
    let (status, lines) = run(args);
    assert_eq!(
        status.signal(),
        Some(SIGSYS),
        "{args:?}: {status:?}, output {lines:#?}"
    );
    assert_line(&lines, before);
    assert!(!has(&lines, "done"), "{lines:#?}");
}

#[track_caller]
fn assert_ok_run(args: &[&str], expected: &[&str]) -> Vec<String> {
    let (status, lines) = run(args);
    assert!(status.success(), "{args:?}: {status:?}, output {lines:#?}");
    for e in expected {
        assert_line(&lines, e);
    }
    assert_line(&lines, "done");
    lines
}

/// /proc/PID/status of a paused probe, the probe resumed afterwards.
fn status_while_paused(args: &[&str]) -> (String, Vec<String>, ExitStatus) {
    let mut p = Probe::start(args);
    p.wait_for("paused");
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid())).expect("status");
    p.resume();
    let (exit, lines) = p.finish();
    (status, lines, exit)
}

#[track_caller]
fn assert_status(status: &str, expected: &[(&str, &str)]) {
    for (name, value) in expected {
        assert_eq!(field(status, name), *value, "{name} in\n{status}");
    }
}

/// Ids of the check worker's user, through `id` (keepalived_script if it
/// exists, else nobody), independently of the crate's lookup.
fn check_user_ids() -> (String, String, String) {
    let id = |args: &[&str]| {
        let out = Command::new("id").args(args).output().expect("run id");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let user = if id(&["-u", "keepalived_script"]).is_some() {
        "keepalived_script"
    } else {
        "nobody"
    };
    let uid = id(&["-u", user]).expect("id -u");
    let gid = id(&["-g", user]).expect("id -g");
    let mut groups: Vec<u32> = id(&["-G", user])
        .expect("id -G")
        .split_whitespace()
        .map(|g| g.parse().expect("gid"))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let groups = groups
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    (uid, gid, groups)
}

const NO_CAPS: &str = "0000000000000000";

#[test]
fn vrrp_status_is_exact() {
    require_root();
    let (status, lines, exit) = status_while_paused(&["vrrp", "pause", "loop"]);
    assert!(exit.success(), "{exit:?} {lines:#?}");
    assert_status(
        &status,
        &[
            ("Uid", "0\t0\t0\t0"),
            ("Gid", "0\t0\t0\t0"),
            ("Groups", ""),
            ("CapInh", NO_CAPS),
            ("CapPrm", "0000000000003000"),
            ("CapEff", "0000000000003000"),
            ("CapBnd", NO_CAPS),
            ("CapAmb", NO_CAPS),
            ("NoNewPrivs", "1"),
            ("Seccomp", "2"),
            ("Seccomp_filters", "1"),
        ],
    );
    assert_line(&lines, "ok loop");
    assert_line(
        &lines,
        "report:   capabilities: kept [CAP_NET_ADMIN, CAP_NET_RAW], effective=permitted=0x3000, \
         inheritable=ambient=bounding=0 (41 dropped), securebits=0xeb",
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("report:   landlock: fully enforced")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("report:   seccomp: policy vrrp")),
        "{lines:#?}"
    );
}

#[test]
fn ipvs_status_is_exact() {
    require_root();
    let (status, lines, exit) = status_while_paused(&["ipvs", "pause", "loop"]);
    assert!(exit.success(), "{exit:?} {lines:#?}");
    assert_status(
        &status,
        &[
            ("Uid", "0\t0\t0\t0"),
            ("Gid", "0\t0\t0\t0"),
            ("Groups", ""),
            ("CapInh", NO_CAPS),
            ("CapPrm", "0000000000001000"),
            ("CapEff", "0000000000001000"),
            ("CapBnd", NO_CAPS),
            ("CapAmb", NO_CAPS),
            ("NoNewPrivs", "1"),
            ("Seccomp", "2"),
            ("Seccomp_filters", "1"),
        ],
    );
    assert_line(&lines, "ok loop");
}

#[test]
fn check_status_is_exact() {
    require_root();
    let (uid, gid, groups) = check_user_ids();
    let (status, lines, exit) = status_while_paused(&["check", "pause", "loop"]);
    assert!(exit.success(), "{exit:?} {lines:#?}");
    let uids = [uid.as_str(); 4].join("\t");
    let gids = [gid.as_str(); 4].join("\t");
    assert_status(
        &status,
        &[
            ("Uid", &uids),
            ("Gid", &gids),
            ("Groups", &groups),
            ("CapInh", NO_CAPS),
            ("CapPrm", NO_CAPS),
            ("CapEff", NO_CAPS),
            ("CapBnd", NO_CAPS),
            ("CapAmb", NO_CAPS),
            ("NoNewPrivs", "1"),
            ("Seccomp", "2"),
            ("Seccomp_filters", "1"),
        ],
    );
    assert_ne!(uid, "0");
    assert_line(&lines, "ok loop");
}

#[test]
fn vrrp_allows_its_job_and_nothing_else() {
    require_root();
    // Raw VRRP (proto 112) over IPv4 and IPv6, rtnetlink, AF_PACKET for ARP,
    // sysctls readable and writable.
    assert_ok_run(
        &[
            "vrrp",
            "socket:2:3:112",
            "socket:10:3:112",
            "socket:16:3:0",
            "socket:17:3:1544",
            "open:/proc/sys/net/ipv4/ip_forward",
            "write:/proc/sys/net/ipv4/conf/lo/arp_ignore",
            "open:/sys/class/net/lo/ifindex",
            "open:/etc/shadow",
            "open:/etc/passwd",
        ],
        &[
            "ok socket",
            "ok open",
            "ok write",
            // Landlock: nothing outside /proc/sys and /sys.
            &format!("err open {EACCES}"),
        ],
    );
    let (status, lines) = run(&["vrrp", "open:/etc/shadow", "open:/etc/passwd"]);
    assert!(status.success());
    assert_eq!(
        lines
            .iter()
            .filter(|l| *l == &format!("err open {EACCES}"))
            .count(),
        2,
        "{lines:#?}"
    );
    // TCP and generic netlink are not the VRRP worker's business.
    assert_sigsys(&["vrrp", "connect:127.0.0.1:9"], "confined");
    assert_sigsys(&["vrrp", "socket:16:3:16"], "confined");
    assert_sigsys(&["vrrp", "exec:/bin/true"], "confined");
    assert_sigsys(&["vrrp", "create:/proc/sys/net/new"], "confined");
}

#[test]
fn vrrp_file_layers() {
    require_root();
    // Without Landlock, /etc/shadow (0640 root:shadow) *is* readable by
    // uid 0 through owner permissions: Landlock is the layer that blocks it.
    let shadow = std::fs::metadata("/etc/shadow").expect("/etc/shadow");
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&shadow), 0);
    assert_ne!(shadow.permissions().mode() & 0o400, 0);
    assert_ok_run(&["vrrp", "--no-landlock", "open:/etc/shadow"], &["ok open"]);
    // And a file uid 0 does not own is unreadable without CAP_DAC_OVERRIDE
    // and CAP_DAC_READ_SEARCH.
    let dir = tempdir("vrrp-dac");
    let file = dir.join("private");
    std::fs::write(&file, "secret").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).expect("chown");
    let open = format!("open:{}", file.display());
    // Control: an unconfined root reads it.
    std::fs::read(&file).expect("root reads it before confinement");
    assert_ok_run(
        &["vrrp", "--no-landlock", &open],
        &[&format!("err open {EACCES}")],
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn ipvs_refuses_files_and_inet() {
    require_root();
    assert_ok_run(&["ipvs", "socket:16:3:16"], &["ok socket"]);
    assert_sigsys(&["ipvs", "open:/etc/hostname"], "confined");
    assert_sigsys(&["ipvs", "open:/proc/self/status"], "confined");
    assert_sigsys(&["ipvs", "socket:2:2:0"], "confined");
    assert_sigsys(&["ipvs", "socket:2:1:0"], "confined");
    assert_sigsys(&["ipvs", "socket:16:3:0"], "confined");
    // Landlock alone (seccomp off) refuses files and TCP too.
    assert_ok_run(
        &[
            "ipvs",
            "--no-seccomp",
            "open:/etc/hostname",
            "connect:127.0.0.1:9",
        ],
        &[
            &format!("err open {EACCES}"),
            &format!("err connect {EACCES}"),
        ],
    );
}

#[test]
fn check_refuses_exec_shadow_raw_sockets() {
    require_root();
    assert_sigsys(&["check", "exec:/bin/true"], "confined");
    assert_sigsys(&["check", "spawn:/bin/true"], "confined");
    assert_sigsys(&["check", "thread"], "confined");
    assert_sigsys(&["check", "socket:2:3:1"], "confined");
    assert_sigsys(&["check", "socket:16:3:0"], "confined");
    assert_sigsys(
        &["check", "create:/tmp/keepalived-rs-sandbox-never"],
        "confined",
    );
    assert_sigsys(&["check", "write:/etc/hosts"], "confined");
    // /etc/shadow: refused by Landlock, and by the uid without Landlock.
    assert_ok_run(
        &["check", "open:/etc/shadow"],
        &[&format!("err open {EACCES}")],
    );
    assert_ok_run(
        &["check", "--no-landlock", "open:/etc/shadow"],
        &[&format!("err open {EACCES}")],
    );
    // A raw socket without seccomp: no CAP_NET_RAW.
    assert_ok_run(
        &["check", "--no-seccomp", "socket:2:3:1"],
        &[&format!("err socket {EPERM}")],
    );
    assert!(!std::path::Path::new("/tmp/keepalived-rs-sandbox-never").exists());
}

#[test]
fn check_does_its_job() {
    require_root();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let connect = format!("connect:127.0.0.1:{port}");
    let lines = assert_ok_run(
        &[
            "check",
            "loop",
            "resolve:localhost",
            &connect,
            "socket:2:2:0",
            "socket:10:1:0",
            "open:/etc/hosts",
        ],
        &["ok loop", "ok connect", "ok socket", "ok open"],
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok resolve") && l.contains("127.0.0.1")),
        "{lines:#?}"
    );
    // CA certificates are symlinks into /usr/share/ca-certificates, which
    // Landlock checks by target: the target hierarchy must be granted too.
    let linked = std::fs::read_dir("/etc/ssl/certs")
        .expect("/etc/ssl/certs (Debian's ca-certificates package)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.extension().is_some_and(|x| x == "pem")
                && std::fs::canonicalize(p)
                    .is_ok_and(|t| t.starts_with("/usr/share/ca-certificates"))
        })
        .expect("a CA certificate symlinked into /usr/share/ca-certificates");
    assert_ok_run(
        &["check", &format!("open:{}", linked.display())],
        &["ok open"],
    );
}

#[test]
fn check_file_check_paths() {
    require_root();
    let dir = tempdir("filecheck");
    let watched = dir.join("watched");
    let other_dir = tempdir("filecheck-other");
    let other = other_dir.join("other");
    for (d, f) in [(&dir, &watched), (&other_dir, &other)] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
        std::fs::write(f, "1\n").expect("write");
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let fc = format!("--file-check={}", watched.display());
    let lines = assert_ok_run(
        &[
            "check",
            &fc,
            &format!("open:{}", watched.display()),
            &format!("open:{}", other.display()),
        ],
        &[],
    );
    let opens: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("ok open") || l.starts_with("err open"))
        .collect();
    assert_eq!(
        opens,
        ["ok open", &format!("err open {EACCES}")],
        "{lines:#?}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
    std::fs::remove_dir_all(&other_dir).expect("cleanup");
}

#[test]
fn panics_and_aborts_are_not_seccomp_kills() {
    require_root();
    for role in ["vrrp", "check", "ipvs"] {
        let (status, lines) = run(&[role, "panic"]);
        assert_eq!(status.code(), Some(101), "{role}: {status:?} {lines:#?}");
        let (status, _) = run(&[role, "abort"]);
        assert_eq!(status.signal(), Some(SIGABRT), "{role}: {status:?}");
    }
    // With RUST_BACKTRACE the panic handler looks for the executable; the
    // roles that may open files get EACCES and still exit 101.
    for role in ["vrrp", "check"] {
        let mut cmd = Probe::command(&[role, "panic"]);
        cmd.env("RUST_BACKTRACE", "1");
        let (status, lines) = Probe::spawn(cmd).finish();
        assert_eq!(status.code(), Some(101), "{role}: {status:?} {lines:#?}");
    }
}

#[test]
fn inherited_fds_are_closed() {
    require_root();
    for method in [None, Some("--close-via-proc")] {
        // bash (dash takes single-digit descriptors only) opens 3, 7, 9 and
        // 200 without close-on-exec and execs the probe: genuinely
        // inherited descriptors.
        let mut args = vec!["vrrp"];
        args.extend(method);
        args.push("pause");
        let mut cmd = Command::new("/bin/bash");
        cmd.arg("-c")
            .arg("exec \"$0\" \"$@\" 3</dev/null 7</dev/null 9</dev/null 200</dev/null")
            .arg(PROBE)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut p = Probe::spawn(cmd);
        p.wait_for("paused");
        let open: BTreeSet<u32> = std::fs::read_dir(format!("/proc/{}/fd", p.pid()))
            .expect("fd dir")
            .map(|e| {
                e.expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .parse()
                    .expect("fd number")
            })
            .collect();
        p.resume();
        let (status, lines) = p.finish();
        assert!(status.success(), "{status:?} {lines:#?}");
        let keep_line = lines
            .iter()
            .find(|l| l.starts_with("keep "))
            .expect("keep line");
        let kept: BTreeSet<u32> = keep_line["keep ".len()..]
            .trim_matches(|c| c == '[' || c == ']')
            .split(", ")
            .map(|n| n.parse().expect("kept fd"))
            .collect();
        // 0-2, the inherited 3 (the IPC slot), and the probe's socket pair
        // (which took the lowest free numbers, 4 and 5).
        assert_eq!(kept, BTreeSet::from([0, 1, 2, 3, 4, 5]), "{method:?}");
        assert_eq!(open, kept, "{method:?}: open fds of the confined probe");
        if method.is_some() {
            // The fallback alone already left exactly the kept set.
            assert_line(&lines, "after-fallback [0, 1, 2, 3, 4, 5]");
        } else {
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("fds: kept [0, 1, 2, 3, 4, 5] (close_range)")),
                "{lines:#?}"
            );
        }
    }
}

#[test]
fn parent_death_signal_survives_the_user_switch() {
    require_root();
    // sh starts the check probe (which switches to an unprivileged user,
    // which clears PR_SET_PDEATHSIG if armed before) and waits; killing sh
    // must kill the probe.
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        // An asynchronous command's stdin is /dev/null unless redirected:
        // hand it the test's pipe so that "pause" really blocks.
        .arg("exec 4<&0; \"$0\" check pause <&4 4<&- & echo \"probe $!\"; wait")
        .arg(PROBE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env_remove("RUST_BACKTRACE");
    let mut sh = Probe::spawn(cmd);
    sh.wait_for("paused");
    let pid: u32 = sh
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("probe "))
        .expect("probe pid")
        .parse()
        .expect("pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("probe alive");
    assert_eq!(field(&status, "PPid"), sh.pid().to_string());
    // Child::wait closes stdin, which would end the pause: keep it open.
    let stdin = sh.child.stdin.take();
    sh.child.kill().expect("kill sh");
    let _ = sh.child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/status")) {
            Err(_) => break,
            Ok(s) if field(&s, "State").starts_with('Z') => break,
            Ok(_) => {}
        }
        assert!(Instant::now() < deadline, "probe {pid} outlived its parent");
        std::thread::sleep(Duration::from_millis(20));
    }
    // It was killed while paused, not resumed by an EOF.
    drop(stdin);
    let (_, lines) = sh.finish();
    assert!(!has(&lines, "done"), "{lines:#?}");
}

#[test]
fn parent_race_is_detected() {
    require_root();
    let (status, lines) = run(&["check", "--expect-parent=1", "pause"]);
    assert_eq!(status.code(), Some(2), "{lines:#?}");
    let err = lines
        .iter()
        .find(|l| l.starts_with("confine-error: "))
        .expect("error line");
    assert!(
        err.starts_with("confine-error: parent death signal: parent is pid ")
            && err.contains("expected 1"),
        "{err}"
    );
}

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "keepalived-rs-sandbox-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn all_roles_report_everything() {
    require_root();
    let mut seen = HashMap::new();
    for role in ["vrrp", "check", "ipvs"] {
        let (status, lines) = run(&[role]);
        assert!(status.success(), "{role}: {lines:#?}");
        let report: Vec<&String> = lines.iter().filter(|l| l.starts_with("report: ")).collect();
        for key in [
            "fds: kept",
            "user: ",
            "parent death signal: 9",
            "no_new_privs: true",
            "capabilities: ",
            "landlock: fully enforced",
            "seccomp: policy ",
        ] {
            assert!(
                report.iter().any(|l| l.contains(key)),
                "{role}: {key} missing from {report:#?}"
            );
        }
        seen.insert(role, report.len());
    }
    assert_eq!(seen.len(), 3);
}

#[test]
fn landlock_is_best_effort() {
    require_root();
    // A first filter makes the Landlock calls fail with ENOSYS, as on a
    // kernel without Landlock: confinement goes on and says so.
    let (status, lines, exit) =
        status_while_paused(&["check", "--hide-landlock", "pause", "open:/etc/shadow"]);
    assert!(exit.success(), "{exit:?} {lines:#?}");
    assert_line(
        &lines,
        "report:   landlock: NOT enforced, kernel without Landlock (ENOSYS)",
    );
    assert_status(
        &status,
        &[
            ("Seccomp", "2"),
            ("Seccomp_filters", "2"),
            ("CapEff", NO_CAPS),
            ("NoNewPrivs", "1"),
        ],
    );
    // The uid still keeps /etc/shadow out of reach.
    assert_line(&lines, &format!("err open {EACCES}"));
}
