//! The metrics worker: serves Prometheus metrics on the listening socket
//! the parent bound (`--metrics-listen` / `metrics_listen`) and passed at
//! fd 4. It runs as `nobody` with no capabilities, no file access
//! (Landlock) and a seccomp allow-list that adds only `accept4` to the
//! workers' common set. It keeps no state of its own: each scrape asks the
//! parent for a snapshot (`MetricsRequest`), renders it (`render`) and
//! answers. Scrapes arriving while a snapshot is on its way share it.

pub mod http;
pub mod render;

use ipc::link::{Flow, Link, LinkError, Worker};
use ipc::{DumpKind, FromWorker, LogLevel, Role, Slice, ToWorker};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The most connections served at once; more are closed at accept.
pub const MAX_CONNS: usize = 32;
/// How long a client may take to send its request and read the answer.
pub const CONN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a scrape waits for the parent's snapshot before a 503.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(2);

const LISTENER: Token = Token(1);
const FIRST_CONN: usize = 2;

enum Phase {
    Reading,
    /// Waiting for a snapshot; `head`: a HEAD request.
    Waiting {
        head: bool,
    },
    Writing {
        out: Vec<u8>,
        pos: usize,
    },
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    phase: Phase,
    deadline: Instant,
}

pub struct MetricsWorker {
    listener: TcpListener,
    conns: HashMap<Token, Conn>,
    next: usize,
    /// A `MetricsRequest` is out; answer with 503 if nothing comes by then.
    pending: Option<Instant>,
    generation: u64,
    scrapes: u64,
}

impl MetricsWorker {
    pub fn new(listener: std::net::TcpListener, generation: u64) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener: TcpListener::from_std(listener),
            conns: HashMap::new(),
            next: FIRST_CONN,
            pending: None,
            generation,
            scrapes: 0,
        })
    }

    fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    if self.conns.len() >= MAX_CONNS {
                        continue; // dropped: closes it
                    }
                    let token = Token(self.next);
                    self.next = self.next.checked_add(1).unwrap_or(FIRST_CONN);
                    if registry
                        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                        .is_ok()
                    {
                        self.conns.insert(
                            token,
                            Conn {
                                stream,
                                buf: Vec::new(),
                                phase: Phase::Reading,
                                deadline: now + CONN_TIMEOUT,
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // ECONNABORTED, EMFILE...: try again on the next event.
                Err(_) => return,
            }
        }
    }

    /// Read, parse, write; true when the connection is done.
    fn drive(&mut self, link: &mut Link, token: Token) -> Result<bool, LinkError> {
        let Some(c) = self.conns.get_mut(&token) else {
            return Ok(false);
        };
        if let Phase::Reading = c.phase {
            let mut chunk = [0u8; 2048];
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => return Ok(true),
                    Ok(n) => {
                        c.buf.extend_from_slice(&chunk[..n]);
                        if c.buf.len() > http::MAX_HEAD + 4 {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return Ok(true),
                }
            }
            match http::parse(&c.buf) {
                http::Parsed::Incomplete => return Ok(false),
                http::Parsed::Reject(status) => {
                    let body = format!("{status}\n");
                    c.phase = Phase::Writing {
                        out: http::response(status, "text/plain; charset=utf-8", &body, false),
                        pos: 0,
                    };
                }
                http::Parsed::Metrics { head } => {
                    c.phase = Phase::Waiting { head };
                    if self.pending.is_none() {
                        self.pending = Some(Instant::now() + SNAPSHOT_TIMEOUT);
                        link.send(&FromWorker::MetricsRequest)?;
                    }
                    return Ok(false);
                }
            }
        }
        let Phase::Writing { out, pos } = &mut c.phase else {
            return Ok(false);
        };
        while *pos < out.len() {
            match c.stream.write(&out[*pos..]) {
                Ok(0) => return Ok(true),
                Ok(n) => *pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Ok(true),
            }
        }
        Ok(true)
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut c) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut c.stream);
        }
    }

    /// Answer every waiting scrape with `status` and `body`.
    fn answer_waiting(&mut self, status: &str, body: &str) -> Vec<Token> {
        let mut ready = Vec::new();
        for (t, c) in self.conns.iter_mut() {
            if let Phase::Waiting { head } = c.phase {
                let ct = if status.starts_with("200") {
                    http::EXPOSITION
                } else {
                    "text/plain; charset=utf-8"
                };
                c.phase = Phase::Writing {
                    out: http::response(status, ct, body, head),
                    pos: 0,
                };
                ready.push(*t);
            }
        }
        ready
    }

    fn flush_tokens(&mut self, link: &mut Link, registry: Option<&Registry>, tokens: Vec<Token>) {
        for t in tokens {
            if let Ok(true) = self.drive(link, t) {
                match registry {
                    Some(r) => self.close(r, t),
                    // Without the registry (a message handler), drop the
                    // connection: the socket closes and epoll forgets it.
                    None => {
                        self.conns.remove(&t);
                    }
                }
            }
        }
    }
}

impl Worker for MetricsWorker {
    fn register(&mut self, registry: &Registry) -> io::Result<()> {
        registry.register(&mut self.listener, LISTENER, Interest::READABLE)
    }

    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
        match msg {
            ToWorker::Metrics(snapshot) => {
                self.pending = None;
                self.scrapes += 1;
                let body = render::render(&snapshot);
                let tokens = self.answer_waiting("200 OK", &body);
                self.flush_tokens(link, None, tokens);
            }
            ToWorker::Reload(r) => {
                self.generation = r.generation;
                link.send(&FromWorker::Ready {
                    generation: r.generation,
                })?;
            }
            ToWorker::Shutdown => return Ok(Flow::Exit(0)),
            ToWorker::DumpRequest { kind } => {
                let addr = self
                    .listener
                    .local_addr()
                    .map_or_else(|e| format!("? ({e})"), |a| a.to_string());
                let text = match kind {
                    DumpKind::Json => String::new(),
                    _ => format!(
                        "------< metrics worker >------\n Listening on {addr}, path /metrics\n Snapshots served = {}\n Connections open = {}\n",
                        self.scrapes,
                        self.conns.len()
                    ),
                };
                link.send(&FromWorker::Dump { kind, text })?;
            }
            ToWorker::Init(_) => {
                return Err(LinkError::Protocol("a second Init".into()));
            }
            ToWorker::ScriptDone { .. } | ToWorker::Health(_) => {}
            #[allow(unreachable_patterns)]
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn on_event(
        &mut self,
        link: &mut Link,
        registry: &Registry,
        event: &mio::event::Event,
    ) -> Result<Flow, LinkError> {
        let t = event.token();
        if t == LISTENER {
            self.accept(registry, Instant::now());
        } else if self.drive(link, t)? {
            self.close(registry, t);
        }
        Ok(Flow::Continue)
    }

    fn on_timer(&mut self, link: &mut Link, now: Instant) -> Result<Flow, LinkError> {
        if self.pending.is_some_and(|d| now >= d) {
            self.pending = None;
            let tokens = self.answer_waiting(
                "503 Service Unavailable",
                "the keepalived-rs parent did not answer in time\n",
            );
            self.flush_tokens(link, None, tokens);
        }
        let late: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| now >= c.deadline)
            .map(|(t, _)| *t)
            .collect();
        for t in late {
            self.conns.remove(&t);
        }
        Ok(Flow::Continue)
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.conns
            .values()
            .map(|c| c.deadline)
            .chain(self.pending)
            .min()
    }
}

/// The worker's main: the link on `stream`, the listening socket
/// `listener` (both already confined by the caller).
pub fn run(stream: UnixStream, listener: std::net::TcpListener, confinement: &str) -> i32 {
    let Some((mut link, init)) = ipc::link::start(stream, Role::Metrics, confinement) else {
        return 1;
    };
    if !matches!(init.slice, Slice::Metrics) {
        return 1;
    }
    let generation = init.generation;
    let mut w = match MetricsWorker::new(listener, generation) {
        Ok(w) => w,
        Err(e) => {
            let _ = link.log(LogLevel::Err, format!("metrics worker: {e}"));
            link.drain(Duration::from_millis(200));
            return 1;
        }
    };
    let addr = w
        .listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let started = (|| {
        link.log(
            LogLevel::Info,
            format!("metrics worker serving http://{addr}/metrics"),
        )?;
        link.send(&FromWorker::Ready { generation })
    })();
    if started.is_err() {
        return 1;
    }
    ipc::link::run_loop(link, &mut w)
}
