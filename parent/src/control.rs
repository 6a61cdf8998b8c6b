//! The control socket (`--control-socket`, default
//! /run/keepalived-rs/control.sock, mode 0600): a client writes one request
//! line (`status`, `reload`, `dump`, `stats`, `json`) and reads one JSON
//! reply, then the connection closes. Served on the parent's mio loop
//! without blocking it; a reply that needs the workers (a dump) is sent
//! when it is complete (`Reply::Later`, then `complete`). A client that is
//! slow or sends too much is dropped.

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest request line accepted.
pub const MAX_REQUEST: usize = 256;
/// How long a client may take to send its request and read the reply.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

struct Conn {
    stream: UnixStream,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    replied: bool,
    /// The reply comes later (`complete`).
    waiting: bool,
    deadline: Instant,
}

/// What the handler answers a request with.
pub enum Reply {
    Now(String),
    /// The caller will `complete` this connection's token.
    Later,
}

pub struct ControlServer {
    listener: UnixListener,
    listener_token: Token,
    first_conn_token: usize,
    next: usize,
    conns: HashMap<Token, Conn>,
    path: PathBuf,
}

impl ControlServer {
    /// Bind `path` (creating its folder mode 0700 if missing). A socket
    /// left by a dead daemon is replaced; one a live daemon answers on is
    /// an error.
    pub fn bind(
        path: &Path,
        registry: &Registry,
        listener_token: Token,
        first_conn_token: usize,
    ) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir)?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "{} is in use: is another keepalived-rs running?",
                        path.display()
                    ),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let mut listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        registry.register(&mut listener, listener_token, Interest::READABLE)?;
        Ok(Self {
            listener,
            listener_token,
            first_conn_token,
            next: first_conn_token,
            conns: HashMap::new(),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Is this token the listener's or one of our connections'?
    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token || self.conns.contains_key(&token)
    }

    /// Handle readiness on one of our tokens. `handler` turns a request
    /// line into the reply text.
    pub fn on_event(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
        handler: &mut dyn FnMut(Token, &str) -> Reply,
    ) {
        if token == self.listener_token {
            self.accept(registry, now);
            return;
        }
        let done = match self.conns.get_mut(&token) {
            Some(c) => Self::drive(c, token, handler),
            None => return,
        };
        if done {
            self.close(registry, token);
        }
    }

    /// Drop clients past their deadline; returns the earliest deadline
    /// left.
    pub fn expire(&mut self, registry: &Registry, now: Instant) -> Option<Instant> {
        let late: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| now >= c.deadline)
            .map(|(t, _)| *t)
            .collect();
        for t in late {
            self.close(registry, t);
        }
        self.conns.values().map(|c| c.deadline).min()
    }

    fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    // Wrap within a large range so tokens never collide
                    // with the parent's fixed ones below first_conn_token.
                    let token = Token(self.next);
                    self.next = if self.next == usize::MAX {
                        self.first_conn_token
                    } else {
                        self.next + 1
                    };
                    if registry
                        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                        .is_err()
                    {
                        continue;
                    }
                    self.conns.insert(
                        token,
                        Conn {
                            stream,
                            input: Vec::new(),
                            output: Vec::new(),
                            written: 0,
                            replied: false,
                            waiting: false,
                            deadline: now + CLIENT_TIMEOUT,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Read the request, answer it, write the reply. True when the
    /// connection is finished (answered and flushed, or broken).
    fn drive(c: &mut Conn, token: Token, handler: &mut dyn FnMut(Token, &str) -> Reply) -> bool {
        if !c.replied {
            let mut buf = [0u8; 512];
            let mut eof = false;
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        c.input.extend_from_slice(&buf[..n]);
                        if c.input.len() > MAX_REQUEST {
                            return true;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return true,
                }
            }
            let line_end = c.input.iter().position(|&b| b == b'\n');
            if line_end.is_none() && !eof {
                return false;
            }
            let line = &c.input[..line_end.unwrap_or(c.input.len())];
            let reply = match std::str::from_utf8(line) {
                Ok(req) => handler(token, req.trim()),
                Err(_) => Reply::Now(error_reply("request is not UTF-8")),
            };
            c.replied = true;
            match reply {
                Reply::Now(text) => Self::set_output(c, text),
                Reply::Later => c.waiting = true,
            }
        }
        if c.waiting {
            return false;
        }
        while c.written < c.output.len() {
            match c.stream.write(&c.output[c.written..]) {
                Ok(0) => return true,
                Ok(n) => c.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return true,
            }
        }
        true
    }

    fn set_output(c: &mut Conn, text: String) {
        c.output = text.into_bytes();
        if !c.output.ends_with(b"\n") {
            c.output.push(b'\n');
        }
    }

    /// Send the reply a handler deferred with `Reply::Later` (nothing if
    /// the client has gone).
    pub fn complete(&mut self, registry: &Registry, token: Token, text: String) {
        let done = match self.conns.get_mut(&token) {
            Some(c) if c.waiting => {
                c.waiting = false;
                Self::set_output(c, text);
                Self::drive(c, token, &mut |_, _| Reply::Now(String::new()))
            }
            _ => return,
        };
        if done {
            self.close(registry, token);
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut c) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut c.stream);
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A JSON error reply.
pub fn error_reply(msg: &str) -> String {
    serde_json::json!({ "error": msg }).to_string()
}

/// The client side, for `keepalived-rs ctl`: send `request`, return the
/// reply.
pub fn request(path: &Path, request: &str) -> io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot connect to {}: {e} (is keepalived-rs running?)",
                path.display()
            ),
        )
    })?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    s.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    s.write_all(request.as_bytes())?;
    s.write_all(b"\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};

    fn serve_until(
        server: &mut ControlServer,
        poll: &mut Poll,
        handler: &mut dyn FnMut(Token, &str) -> Reply,
        done: impl Fn() -> bool,
    ) {
        let mut events = Events::with_capacity(16);
        let t0 = Instant::now();
        while !done() && t0.elapsed() < Duration::from_secs(10) {
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .expect("poll");
            for ev in &events {
                server.on_event(poll.registry(), ev.token(), Instant::now(), handler);
            }
        }
    }

    #[test]
    fn request_reply_and_permissions() {
        let dir = std::env::temp_dir().join(format!("krs-ctl-{}", std::process::id()));
        let path = dir.join("sub").join("control.sock");
        let mut poll = Poll::new().expect("poll");
        let mut server = ControlServer::bind(&path, poll.registry(), Token(1), 1000).expect("bind");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = std::fs::metadata(path.parent().expect("dir"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);

        // A second daemon must not steal a live socket.
        let poll2 = Poll::new().expect("poll");
        let err = ControlServer::bind(&path, poll2.registry(), Token(1), 1000)
            .err()
            .expect("in use");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);

        let p2 = path.clone();
        let client = std::thread::spawn(move || {
            let a = request(&p2, "status").expect("status");
            let b = request(&p2, "bogus").expect("bogus");
            (a, b)
        });
        let mut seen = Vec::new();
        let mut handler = |_: Token, req: &str| {
            seen.push(req.to_string());
            Reply::Now(if req == "status" {
                "{\"ok\":true}".to_string()
            } else {
                error_reply(&format!("unknown request '{req}'"))
            })
        };
        serve_until(&mut server, &mut poll, &mut handler, || {
            client.is_finished()
        });
        let (a, b) = client.join().expect("client");
        assert_eq!(a, "{\"ok\":true}\n");
        assert_eq!(b, "{\"error\":\"unknown request 'bogus'\"}\n");
        drop(server);
        assert!(!path.exists(), "socket removed on drop");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn deferred_replies() {
        let dir = std::env::temp_dir().join(format!("krs-ctl3-{}", std::process::id()));
        let path = dir.join("control.sock");
        let mut poll = Poll::new().expect("poll");
        let mut server = ControlServer::bind(&path, poll.registry(), Token(1), 1000).expect("bind");
        let p2 = path.clone();
        let client = std::thread::spawn(move || request(&p2, "dump").expect("dump"));
        let mut later = None;
        let t0 = Instant::now();
        let mut events = Events::with_capacity(8);
        while later.is_none() && t0.elapsed() < Duration::from_secs(5) {
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .expect("poll");
            for ev in &events {
                server.on_event(poll.registry(), ev.token(), Instant::now(), &mut |t, _| {
                    later = Some(t);
                    Reply::Later
                });
            }
        }
        let token = later.expect("request seen");
        // Nothing is sent until the reply is complete.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!client.is_finished());
        server.complete(poll.registry(), token, "{\"done\":1}".into());
        serve_until(
            &mut server,
            &mut poll,
            &mut |_, _| Reply::Now(String::new()),
            || client.is_finished(),
        );
        assert_eq!(client.join().expect("client"), "{\"done\":1}\n");
        assert_eq!(server.conns.len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn oversized_and_slow_clients_are_dropped() {
        let dir = std::env::temp_dir().join(format!("krs-ctl2-{}", std::process::id()));
        let path = dir.join("control.sock");
        let mut poll = Poll::new().expect("poll");
        let mut server = ControlServer::bind(&path, poll.registry(), Token(1), 1000).expect("bind");
        let p2 = path.clone();
        let big = std::thread::spawn(move || {
            let mut s = std::os::unix::net::UnixStream::connect(&p2).expect("connect");
            let _ = s.write_all(&[b'x'; 4096]);
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        });
        let mut calls = 0;
        let mut handler = |_: Token, _: &str| {
            calls += 1;
            Reply::Now(String::new())
        };
        serve_until(&mut server, &mut poll, &mut handler, || big.is_finished());
        assert_eq!(
            big.join().expect("client"),
            "",
            "no reply to an oversized request"
        );
        assert_eq!(calls, 0);

        // A client that never sends its line is dropped at the deadline.
        let _slow = std::os::unix::net::UnixStream::connect(&path).expect("connect");
        let mut events = Events::with_capacity(8);
        poll.poll(&mut events, Some(Duration::from_millis(200)))
            .expect("poll");
        for ev in &events {
            server.on_event(poll.registry(), ev.token(), Instant::now(), &mut |_, _| {
                Reply::Now(String::new())
            });
        }
        assert_eq!(server.conns.len(), 1);
        server.expire(poll.registry(), Instant::now() + CLIENT_TIMEOUT);
        assert_eq!(server.conns.len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
