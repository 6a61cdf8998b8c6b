//! The worker's end of its link to the parent: the handshake, heartbeats,
//! logging through the parent, and a non-blocking message pump for the
//! worker's mio loop.

use crate::frame::PROTOCOL_VERSION;
use crate::msg::{FromWorker, Init, LogLevel, Role, ToWorker};
use crate::stream::{Flush, FrameReader, FrameWriter, Recv, StreamError};
use mio::net::UnixStream as MioStream;
use mio::{Interest, Registry, Token};
use std::fmt;
use std::io;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// How long a starting worker waits for its `Init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum LinkError {
    /// The parent closed the link (it exited or is replacing us).
    Closed,
    Stream(StreamError),
    /// The parent sent something that makes no sense here.
    Protocol(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Closed => f.write_str("the parent closed the link"),
            LinkError::Stream(e) => e.fmt(f),
            LinkError::Protocol(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for LinkError {}

impl From<StreamError> for LinkError {
    fn from(e: StreamError) -> Self {
        LinkError::Stream(e)
    }
}

impl From<io::Error> for LinkError {
    fn from(e: io::Error) -> Self {
        LinkError::Stream(StreamError::Io(e))
    }
}

impl From<crate::frame::FrameError> for LinkError {
    fn from(e: crate::frame::FrameError) -> Self {
        LinkError::Stream(StreamError::Frame(e))
    }
}

pub struct Link {
    stream: MioStream,
    reader: FrameReader<ToWorker>,
    writer: FrameWriter,
    heartbeat: Duration,
    next_heartbeat: Instant,
    seq: u64,
    /// The parent closed the link after messages we have delivered.
    closed: bool,
}

impl Link {
    /// Greet the parent and wait for `Init` (blocking, bounded by
    /// [`INIT_TIMEOUT`]). The `Init` must be for `role`.
    pub fn connect(stream: UnixStream, role: Role) -> Result<(Link, Init), LinkError> {
        stream.set_read_timeout(Some(INIT_TIMEOUT))?;
        let mut s = stream;
        crate::stream::send(
            &mut s,
            &FromWorker::Hello {
                role,
                pid: std::process::id(),
                protocol: PROTOCOL_VERSION,
            },
        )?;
        let init = match crate::stream::recv::<_, ToWorker>(&mut s)? {
            Some(ToWorker::Init(init)) => init,
            Some(other) => {
                return Err(LinkError::Protocol(format!(
                    "expected Init, got {}",
                    other.name()
                )));
            }
            None => return Err(LinkError::Closed),
        };
        if init.role() != Some(role) {
            return Err(LinkError::Protocol(format!(
                "Init is not for the {role} worker"
            )));
        }
        s.set_read_timeout(None)?;
        s.set_nonblocking(true)?;
        let heartbeat = init.heartbeat_interval.max(Duration::from_millis(10));
        Ok((
            Link {
                stream: MioStream::from_std(s),
                reader: FrameReader::new(),
                writer: FrameWriter::new(),
                heartbeat,
                next_heartbeat: Instant::now(),
                seq: 0,
                closed: false,
            },
            init,
        ))
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut self.stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// Queue a message and write what the socket takes now.
    pub fn send(&mut self, msg: &FromWorker) -> Result<(), LinkError> {
        self.writer.queue(msg)?;
        self.flush()
    }

    /// A log line for the parent to write to syslog.
    pub fn log(&mut self, level: LogLevel, message: impl Into<String>) -> Result<(), LinkError> {
        self.send(&FromWorker::Log {
            level,
            message: message.into(),
        })
    }

    fn flush(&mut self) -> Result<(), LinkError> {
        match self.writer.write_to(&mut self.stream) {
            Ok(Flush::Drained) | Ok(Flush::WouldBlock) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(LinkError::Closed),
            Err(e) => Err(e.into()),
        }
    }

    /// Handle readiness of the link's token: the messages that arrived.
    pub fn on_event(&mut self, writable: bool) -> Result<Vec<ToWorker>, LinkError> {
        if self.closed {
            return Err(LinkError::Closed);
        }
        if writable {
            self.flush()?;
        }
        let mut out = Vec::new();
        loop {
            match self.reader.read_from(&mut self.stream)? {
                Recv::Message(m) => out.push(m),
                Recv::WouldBlock => return Ok(out),
                Recv::Eof => {
                    if out.is_empty() {
                        return Err(LinkError::Closed);
                    }
                    // Deliver what came before the close; `is_closed` (and
                    // every later call) reports it, since an edge-triggered
                    // poll may never wake us for it again.
                    self.closed = true;
                    return Ok(out);
                }
            }
        }
    }

    /// Has the parent closed the link (after messages already delivered)?
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Send a heartbeat when one is due.
    pub fn tick(&mut self, now: Instant) -> Result<(), LinkError> {
        if now >= self.next_heartbeat {
            self.seq += 1;
            self.next_heartbeat = now + self.heartbeat;
            self.send(&FromWorker::Heartbeat { seq: self.seq })?;
        }
        Ok(())
    }

    /// When [`Link::tick`] must run next.
    pub fn next_deadline(&self) -> Instant {
        self.next_heartbeat
    }

    /// A new heartbeat interval (from a reload).
    pub fn set_heartbeat(&mut self, interval: Duration) {
        self.heartbeat = interval.max(Duration::from_millis(10));
    }

    /// Before exiting: push out what is queued, waiting at most `limit`.
    pub fn drain(&mut self, limit: Duration) {
        let end = Instant::now() + limit;
        while !self.writer.is_drained() && Instant::now() < end {
            if self.flush().is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A worker's start: greet the parent, take its `Init`, and log the
/// sandbox's `confinement` report through it. On failure the reason goes to
/// stderr (the parent's) and `None` comes back: the worker exits 1.
pub fn start(stream: UnixStream, role: Role, confinement: &str) -> Option<(Link, Init)> {
    match Link::connect(stream, role) {
        Ok((mut link, init)) => {
            let _ = link.log(LogLevel::Info, confinement.to_string());
            Some((link, init))
        }
        Err(e) => {
            eprintln!("keepalived-rs {role} worker: {e}");
            None
        }
    }
}

/// The link's token in a worker's mio loop; a worker's own sources use
/// other tokens.
pub const LINK_TOKEN: Token = Token(0);

/// What a worker does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Leave the loop with this exit code.
    Exit(i32),
}

/// A worker's behaviour, driven by [`run_loop`].
pub trait Worker {
    /// Register the worker's own sources (any token but [`LINK_TOKEN`]).
    fn register(&mut self, _registry: &Registry) -> io::Result<()> {
        Ok(())
    }
    /// A message from the parent.
    fn on_message(&mut self, link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError>;
    /// Readiness on one of the worker's own sources.
    fn on_event(
        &mut self,
        _link: &mut Link,
        _registry: &Registry,
        _event: &mio::event::Event,
    ) -> Result<Flow, LinkError> {
        Ok(Flow::Continue)
    }
    /// Called on every turn of the loop after events; do timed work.
    fn on_timer(&mut self, _link: &mut Link, _now: Instant) -> Result<Flow, LinkError> {
        Ok(Flow::Continue)
    }
    /// The next time [`Worker::on_timer`] has work.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
    /// The parent is gone (closed link): clean up before exiting, as on a
    /// `Shutdown`.
    fn on_parent_gone(&mut self) {}
}

/// Run `worker` until it exits or the parent goes away. Returns the exit
/// code: the worker's own, 0 when the parent closed the link (after
/// [`Worker::on_parent_gone`]), 1 on a link error.
pub fn run_loop<W: Worker>(mut link: Link, worker: &mut W) -> i32 {
    let mut poll = match mio::Poll::new() {
        Ok(p) => p,
        Err(_) => return 1,
    };
    if link.register(poll.registry(), LINK_TOKEN).is_err()
        || worker.register(poll.registry()).is_err()
    {
        return 1;
    }
    let mut events = mio::Events::with_capacity(64);
    let outcome = 'outer: loop {
        let now = Instant::now();
        let deadline = worker
            .next_deadline()
            .map_or(link.next_deadline(), |d| d.min(link.next_deadline()));
        let timeout = deadline.saturating_duration_since(now);
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                break Err(LinkError::from(e));
            }
        }
        for ev in &events {
            let r = if ev.token() == LINK_TOKEN {
                match link.on_event(ev.is_writable()) {
                    Ok(msgs) => {
                        let mut flow = Ok(Flow::Continue);
                        for m in msgs {
                            // Sandbox probes are answered here, for every
                            // role, without the worker seeing them.
                            #[cfg(feature = "test-messages")]
                            let m = match m {
                                ToWorker::TestProbe { action } => {
                                    flow = start_probe(&mut link, action);
                                    if !matches!(flow, Ok(Flow::Continue)) {
                                        break;
                                    }
                                    continue;
                                }
                                ToWorker::ScriptDone { request, outcome }
                                    if crate::probe::script_probe_id(request).is_some() =>
                                {
                                    flow = finish_script_probe(&mut link, request, outcome);
                                    if !matches!(flow, Ok(Flow::Continue)) {
                                        break;
                                    }
                                    continue;
                                }
                                m => m,
                            };
                            flow = worker.on_message(&mut link, m);
                            if !matches!(flow, Ok(Flow::Continue)) {
                                break;
                            }
                        }
                        match flow {
                            Ok(Flow::Continue) if link.is_closed() => Err(LinkError::Closed),
                            other => other,
                        }
                    }
                    Err(e) => Err(e),
                }
            } else {
                worker.on_event(&mut link, poll.registry(), ev)
            };
            match r {
                Ok(Flow::Continue) => {}
                other => break 'outer other,
            }
        }
        let now = Instant::now();
        match worker
            .on_timer(&mut link, now)
            .and_then(|f| link.tick(now).map(|()| f))
        {
            Ok(Flow::Continue) => {}
            other => break other,
        }
    };
    match outcome {
        Ok(Flow::Exit(code)) => {
            link.drain(Duration::from_secs(1));
            code
        }
        Ok(Flow::Continue) => 0,
        Err(LinkError::Closed) => {
            worker.on_parent_gone();
            0
        }
        Err(e) => {
            let _ = link.log(LogLevel::Err, format!("worker stopping: {e}"));
            link.drain(Duration::from_millis(200));
            worker.on_parent_gone();
            1
        }
    }
}

/// Try a probe and report the outcome (see [`crate::probe`]). A script
/// probe is answered when the parent's `ScriptDone` comes back.
#[cfg(feature = "test-messages")]
fn start_probe(link: &mut Link, action: crate::msg::ProbeAction) -> Result<Flow, LinkError> {
    use crate::msg::ProbeAction;
    match action {
        ProbeAction::RunScript(id) => {
            link.send(&FromWorker::RunScript {
                request: crate::probe::script_request(id),
                id,
            })?;
        }
        ProbeAction::RunScriptPath(path) => {
            link.writer
                .queue(&crate::probe::path_request(&path))
                .map_err(|e| LinkError::Stream(StreamError::Frame(e)))?;
            link.flush()?;
        }
        action => {
            let result = crate::probe::run(&action);
            link.send(&FromWorker::TestProbeReply { action, result })?;
        }
    }
    Ok(Flow::Continue)
}

/// The parent's answer to a script probe.
#[cfg(feature = "test-messages")]
fn finish_script_probe(
    link: &mut Link,
    request: u64,
    outcome: crate::msg::ScriptOutcome,
) -> Result<Flow, LinkError> {
    let (action, result) = crate::probe::script_reply(request, outcome);
    link.send(&FromWorker::TestProbeReply { action, result })?;
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{DumpKind, Restored, Slice};

    /// Records what it is given.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<&'static str>,
        parent_gone: bool,
    }

    impl Worker for Recorder {
        fn on_message(&mut self, _link: &mut Link, msg: ToWorker) -> Result<Flow, LinkError> {
            self.seen.push(msg.name());
            Ok(Flow::Continue)
        }
        fn on_parent_gone(&mut self) {
            self.parent_gone = true;
        }
    }

    fn init() -> Init {
        Init {
            generation: 1,
            heartbeat_interval: Duration::from_millis(50),
            slice: Slice::Vrrp(Box::default()),
            scripts: Vec::new(),
            restored: Restored::empty(Role::Vrrp),
            options: Default::default(),
        }
    }

    #[test]
    fn handshake_then_close_with_messages_in_flight() {
        let (worker_end, mut parent_end) = UnixStream::pair().expect("pair");
        let parent = std::thread::spawn(move || {
            let hello: Option<FromWorker> = crate::stream::recv(&mut parent_end).expect("hello");
            assert!(matches!(
                hello,
                Some(FromWorker::Hello {
                    role: Role::Vrrp,
                    ..
                })
            ));
            crate::stream::send(&mut parent_end, &ToWorker::Init(init())).expect("init");
            // A message and the close arrive together: the worker must see
            // both, without waiting for another event.
            crate::stream::send(
                &mut parent_end,
                &ToWorker::DumpRequest {
                    kind: DumpKind::Data,
                },
            )
            .expect("dump");
            drop(parent_end);
        });
        let (link, init) = Link::connect(worker_end, Role::Vrrp).expect("connect");
        assert_eq!(init.generation, 1);
        parent.join().expect("parent thread");
        let mut w = Recorder::default();
        let t0 = Instant::now();
        let code = run_loop(link, &mut w);
        assert_eq!(code, 0);
        assert_eq!(w.seen, vec!["DumpRequest"]);
        assert!(w.parent_gone, "clean shutdown on the parent's close");
        assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    }

    #[test]
    fn init_for_another_role_is_refused() {
        let (worker_end, mut parent_end) = UnixStream::pair().expect("pair");
        let parent = std::thread::spawn(move || {
            let _: Option<FromWorker> = crate::stream::recv(&mut parent_end).expect("hello");
            crate::stream::send(&mut parent_end, &ToWorker::Init(init())).expect("init");
        });
        let err = Link::connect(worker_end, Role::Check)
            .err()
            .expect("refused");
        assert!(matches!(err, LinkError::Protocol(_)), "{err}");
        parent.join().expect("parent thread");
    }
}
