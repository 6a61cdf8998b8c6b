//! Test probe: applies a role's profile, then performs the actions given on
//! the command line and prints one line per action on stdout:
//!
//! ```text
//! sandbox-probe ROLE [OPTIONS] [ACTION...]
//! ROLE     vrrp | check | ipvs
//! OPTIONS  --no-seccomp  --no-landlock  --expect-parent=PID
//!          --file-check=PATH  --seccomp-log (default action LOG, to measure)
//!          --close-via-proc (close fds through the /proc/self/fd fallback)
//!          --hide-landlock (a first seccomp filter fails the Landlock calls
//!          with ENOSYS, as on a kernel without Landlock)
//! ACTION   pause            print "paused", wait for a line on stdin
//!          loop             a mio loop: socket pair made before confinement,
//!                           a Waker, a timeout, a HashMap
//!          open:PATH        open read-only            -> "ok open" | "err open ERRNO"
//!          write:PATH       open write-only (no create)
//!          create:PATH      open write-only, create
//!          socket:D:T:P     socket(D, T, P) (numbers)
//!          exec:PATH        execve(PATH) without fork
//!          spawn:PATH       std::process::Command (fork/clone + exec)
//!          thread           std::thread::spawn
//!          resolve:HOST     getaddrinfo through std
//!          connect:ADDR     TCP connect (e.g. 127.0.0.1:9)
//!          panic            an unwinding panic in main (exit status 101)
//!          abort            std::process::abort (SIGABRT)
//! ```
//!
//! Before the actions it prints "keep FDS" and the confinement report, each
//! report line prefixed with "report: ", or "confine-error: ..." and exits 2.

use std::collections::HashMap;
use std::ffi::CString;
use std::io::{BufRead, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use sandbox::{Action, Policy, Profile, confine};

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(-1)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(role) = args.next() else {
        eprintln!("usage: sandbox-probe ROLE [OPTIONS] [ACTION...]");
        std::process::exit(64);
    };
    let mut no_seccomp = false;
    let mut close_via_proc = false;
    let mut hide_landlock = false;
    let mut no_landlock = false;
    let mut seccomp_log = false;
    let mut expected_parent = None;
    let mut file_checks: Vec<String> = Vec::new();
    let mut actions = Vec::new();
    for a in args {
        if a == "--no-seccomp" {
            no_seccomp = true;
        } else if a == "--hide-landlock" {
            hide_landlock = true;
        } else if a == "--close-via-proc" {
            close_via_proc = true;
        } else if a == "--no-landlock" {
            no_landlock = true;
        } else if a == "--seccomp-log" {
            seccomp_log = true;
        } else if let Some(p) = a.strip_prefix("--expect-parent=") {
            expected_parent = p.parse::<u32>().ok();
        } else if let Some(p) = a.strip_prefix("--file-check=") {
            file_checks.push(p.to_string());
        } else {
            actions.push(a);
        }
    }

    let profile = match role.as_str() {
        "vrrp" => Ok(Profile::vrrp()),
        "ipvs" => Ok(Profile::ipvs()),
        "check" => Profile::check(&file_checks),
        other => {
            eprintln!("unknown role {other}");
            std::process::exit(64);
        }
    };
    let mut profile = match profile {
        Ok(p) => p,
        Err(e) => {
            println!("confine-error: {e}");
            std::process::exit(2);
        }
    };

    // The worker's "IPC" socket pair, made before confinement as the
    // parent would hand it over.
    let (a, b) = match std::os::unix::net::UnixStream::pair() {
        Ok(p) => p,
        Err(e) => {
            println!("setup-error: socketpair: {e}");
            std::process::exit(3);
        }
    };
    profile.keep_fds.push(a.as_raw_fd());
    profile.keep_fds.push(b.as_raw_fd());
    profile.expected_parent = expected_parent;
    if no_seccomp {
        profile.seccomp = None;
    }
    if seccomp_log && let Some(p) = profile.seccomp.as_mut() {
        p.default = Action::Log;
    }
    if no_landlock {
        profile.landlock = None;
    }

    if hide_landlock {
        let mut hide = Policy::new("hide-landlock", Action::Allow);
        for (nr, name) in [
            (libc::SYS_landlock_create_ruleset, "landlock_create_ruleset"),
            (libc::SYS_landlock_add_rule, "landlock_add_rule"),
            (libc::SYS_landlock_restrict_self, "landlock_restrict_self"),
        ] {
            hide = hide.errno_if(
                nr,
                name,
                &[],
                libc::ENOSYS,
                "pretend the kernel has no Landlock",
            );
        }
        if let Err(e) = sandbox::apply_seccomp(&hide) {
            println!("setup-error: {e}");
            std::process::exit(3);
        }
    }
    if close_via_proc {
        // The /proc/self/fd fallback first, so that confine's close_range
        // finds nothing left to close.
        if let Err(e) = sandbox::testing::close_fds_listed(&profile.keep_fds) {
            println!("confine-error: {e}");
            std::process::exit(2);
        }
        println!("after-fallback {:?}", open_fds());
    }
    let report = match confine(&profile) {
        Ok(r) => r,
        Err(e) => {
            println!("confine-error: {e}");
            std::process::exit(2);
        }
    };
    let mut keep = profile.keep_fds.clone();
    keep.sort_unstable();
    keep.dedup();
    println!("keep {keep:?}");
    for line in report.to_string().lines() {
        println!("report: {line}");
    }
    println!("confined");

    let mut pair = Some((a, b));
    for action in &actions {
        run(action, &mut pair);
    }
    println!("done");
}

type Pair = Option<(
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixStream,
)>;

fn run(action: &str, pair: &mut Pair) {
    let (verb, arg) = action.split_once(':').unwrap_or((action, ""));
    match verb {
        "pause" => {
            println!("paused");
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
        }
        "loop" => match mio_loop(pair.take()) {
            Ok(()) => println!("ok loop"),
            Err(e) => println!("err loop {e}"),
        },
        "open" => report("open", std::fs::File::open(arg).map(drop)),
        "write" => report(
            "write",
            std::fs::OpenOptions::new().write(true).open(arg).map(drop),
        ),
        "create" => report(
            "create",
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(arg)
                .map(drop),
        ),
        "socket" => {
            let n: Vec<i32> = arg.split(':').filter_map(|s| s.parse().ok()).collect();
            if n.len() != 3 {
                println!("bad socket:{arg}");
                return;
            }
            report(
                "socket",
                sandbox::testing::socket(n[0], n[1], n[2]).map(drop),
            );
        }
        "exec" => {
            let Ok(path) = CString::new(arg) else { return };
            let e = sandbox::testing::execve(&path);
            println!("err exec {}", errno(&e));
        }
        "spawn" => report("spawn", std::process::Command::new(arg).status().map(drop)),
        "thread" => report(
            "thread",
            std::thread::Builder::new()
                .spawn(|| 1)
                .and_then(|h| h.join().map_err(|_| std::io::Error::other("join")))
                .map(drop),
        ),
        "resolve" => match (arg, 0u16).to_socket_addrs() {
            Ok(addrs) => {
                let addrs: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
                println!("ok resolve {}", addrs.join(","));
            }
            Err(e) => println!("err resolve {e}"),
        },
        "connect" => match arg.parse() {
            Ok(addr) => report(
                "connect",
                TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map(drop),
            ),
            Err(_) => println!("bad connect:{arg}"),
        },
        "panic" => panic!("probe panic"),
        "abort" => std::process::abort(),
        other => println!("unknown action {other}"),
    }
}

/// Open descriptors from /proc/self/fd, minus the listing's own.
fn open_fds() -> Vec<i32> {
    let mut fds = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        for e in dir.flatten() {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            let t = target.to_string_lossy();
            if t.starts_with("/proc/") && t.ends_with("/fd") {
                continue;
            }
            if let Some(fd) = e.file_name().to_str().and_then(|n| n.parse().ok()) {
                fds.push(fd);
            }
        }
    }
    fds.sort_unstable();
    fds
}

fn report(what: &str, r: std::io::Result<()>) {
    match r {
        Ok(()) => println!("ok {what}"),
        Err(e) => println!("err {what} {}", errno(&e)),
    }
}

/// What a worker does all day: a mio loop over its IPC socket.
fn mio_loop(pair: Pair) -> std::io::Result<()> {
    let Some((a, b)) = pair else {
        return Err(std::io::Error::other("socket pair already used"));
    };
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    let mut a = mio::net::UnixStream::from_std(a);
    let mut b = mio::net::UnixStream::from_std(b);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut b, Token(1), Interest::READABLE)?;
    let waker = Waker::new(poll.registry(), Token(2))?;
    a.write_all(b"ping")?;
    waker.wake()?;
    let mut events = Events::with_capacity(8);
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let start = Instant::now();
    while seen.len() < 2 && start.elapsed() < Duration::from_secs(5) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for ev in events.iter() {
            *seen.entry(ev.token().0).or_default() += 1;
            if ev.token() == Token(1) {
                let mut buf = [0u8; 16];
                let n = b.read(&mut buf)?;
                if &buf[..n] != b"ping" {
                    return Err(std::io::Error::other("bad payload"));
                }
            }
        }
    }
    // A timeout with nothing ready, as an idle worker's timer tick.
    poll.poll(&mut events, Some(Duration::from_millis(10)))?;
    std::thread::sleep(Duration::from_millis(1));
    if seen.len() < 2 {
        return Err(std::io::Error::other(format!("events seen: {seen:?}")));
    }
    Ok(())
}
