//! Helper processes for the end-to-end tests, in a test's network
//! namespace: a process killed (and reaped) when dropped, started with
//! [`spawn`]; [`wait_tcp`] until something accepts on a loopback port;
//! [`listener`], a TCP server that accepts and closes (what a TCP_CHECK
//! real server needs).

use crate::netns::NetNs;
use std::path::Path;
use std::process::{Child, Stdio};

/// Debian's Python (the one python3-aiosmtpd belongs to; a `python3`
/// earlier on PATH may be another one).
pub const PYTHON: &str = "/usr/bin/python3";

/// A process in a namespace, killed and reaped on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `args` (program first) in `ns` with `dir` as its folder, its
/// standard input a pipe held open (servers such as `openssl s_server`
/// stop at end of input) and its output discarded.
pub fn spawn(ns: &NetNs, dir: &Path, args: &[&str]) -> Proc {
    Proc(
        ns.command(args[0])
            .args(&args[1..])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", args[0])),
    )
}

/// Wait (10 s at most, polling every 20 ms) until a connection to
/// 127.0.0.1:`port` in `ns` succeeds; panics if none does.
pub fn wait_tcp(ns: &NetNs, port: u16) {
    let code = format!(
        "import socket, time\nfor _ in range(500):\n    try:\n        socket.create_connection(('127.0.0.1', {port})).close()\n        break\n    except OSError:\n        time.sleep(0.02)\nelse:\n    raise SystemExit(1)\n"
    );
    let ok = ns
        .command(PYTHON)
        .args(["-c", &code])
        .status()
        .expect("python3")
        .success();
    assert!(ok, "nothing listens on {port}");
}

/// A TCP listener on 127.0.0.1:`port` in `ns` that accepts and closes each
/// connection, until dropped; returned once it accepts.
pub fn listener(ns: &NetNs, port: u16) -> Proc {
    let code = format!(
        "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port}))\ns.listen(16)\nwhile True:\n    s.accept()[0].close()\n"
    );
    let p = spawn(ns, Path::new("/"), &[PYTHON, "-c", &code]);
    wait_tcp(ns, port);
    p
}
