//! A parent and a worker on a real socketpair, both ends non-blocking under
//! mio (edge-triggered), exchanging thousands of frames, some of them large
//! enough to fill the socket buffer.

mod common;

use ipc::*;
use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};
use std::io;
use std::time::{Duration, Instant};

const COUNT: u64 = 5000;
const DEADLINE: Duration = Duration::from_secs(120);

fn to_msg(i: u64) -> ToWorker {
    match i {
        0 => {
            let mut init = common::inits().remove(0);
            // A big script table: ~ 1 MiB, more than a socket buffer.
            init.scripts = (0..30_000)
                .map(|n| ScriptEntry {
                    id: ScriptId(n),
                    purpose: ScriptPurpose::InstanceNotify {
                        instance: format!("VI_{n}"),
                        event: NotifyEvent::Backup,
                    },
                })
                .collect();
            ToWorker::Init(init)
        }
        i if i % 100 == 50 => ToWorker::DumpRequest {
            kind: DumpKind::Stats,
        },
        i if i % 3 == 0 => ToWorker::Health(HealthChange {
            real_server: common::rs_key(i as u16),
            up: i % 2 == 0,
            weight: i as u32,
        }),
        i => ToWorker::ScriptDone {
            request: i,
            outcome: ScriptOutcome::Exited { code: i as i32 },
        },
    }
}

/// The worker's answer to each message: deterministic, so the parent can
/// check every one.
fn reply(m: &ToWorker) -> FromWorker {
    match m {
        ToWorker::Init(init) => FromWorker::Ready {
            generation: init.generation + init.scripts.len() as u64,
        },
        ToWorker::DumpRequest { kind } => FromWorker::Dump {
            kind: *kind,
            text: "adverts received: 12345\n".repeat(12_000),
        },
        ToWorker::Health(h) => FromWorker::Health(h.clone()),
        ToWorker::ScriptDone { request, .. } => FromWorker::Heartbeat { seq: *request },
        other => panic!("unexpected {other:?}"),
    }
}

fn setup(std: std::os::unix::net::UnixStream) -> (Poll, UnixStream) {
    std.set_nonblocking(true).unwrap();
    let mut s = UnixStream::from_std(std);
    let poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut s, Token(0), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    (poll, s)
}

fn worker(
    std: std::os::unix::net::UnixStream,
    go: std::sync::mpsc::Receiver<()>,
) -> io::Result<u64> {
    let (mut poll, mut s) = setup(std);
    // Start reading only once the parent has filled the socket (or sent
    // everything), so the WouldBlock path is always exercised.
    let _ = go.recv_timeout(DEADLINE);
    let mut events = Events::with_capacity(8);
    let mut r = FrameReader::<ToWorker>::new();
    let mut w = FrameWriter::new();
    let mut shutdown = false;
    let mut handled = 0;
    let start = Instant::now();
    loop {
        // Read everything there is (edge-triggered), answer each message.
        loop {
            match r.read_from(&mut s) {
                Ok(Recv::Message(ToWorker::Shutdown)) => shutdown = true,
                Ok(Recv::Message(m)) => {
                    assert!(!shutdown, "message after Shutdown");
                    w.queue(&reply(&m)).unwrap();
                    handled += 1;
                }
                Ok(Recv::WouldBlock) => break,
                Ok(Recv::Eof) => panic!("parent closed first"),
                Err(e) => panic!("worker: {e}"),
            }
            // Keep the queue short: flush as we go.
            if w.pending() > 256 * 1024 {
                w.write_to(&mut s)?;
            }
        }
        if w.write_to(&mut s)? == Flush::Drained && shutdown {
            return Ok(handled); // dropping `s` closes the stream
        }
        poll.poll(&mut events, Some(Duration::from_secs(1)))?;
        assert!(start.elapsed() < DEADLINE, "worker timed out");
    }
}

#[test]
fn thousands_of_frames_over_a_socketpair() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (go_tx, go) = std::sync::mpsc::channel();
    let child = std::thread::spawn(move || worker(b, go));
    let mut go_tx = Some(go_tx);

    let (mut poll, mut s) = setup(a);
    let mut events = Events::with_capacity(8);
    let mut r = FrameReader::<FromWorker>::new();
    let mut w = FrameWriter::new();
    let mut sent = 0u64;
    let mut shutdown_queued = false;
    let mut received = 0u64;
    let mut would_block = 0u64;
    let start = Instant::now();
    'outer: loop {
        // Queue and write until the socket is full or everything is sent.
        loop {
            while sent < COUNT && w.pending() < 64 * 1024 {
                w.queue(&to_msg(sent)).unwrap();
                sent += 1;
            }
            if sent == COUNT && !shutdown_queued {
                w.queue(&ToWorker::Shutdown).unwrap();
                shutdown_queued = true;
            }
            match w.write_to(&mut s).unwrap() {
                Flush::Drained if shutdown_queued => {
                    // Everything is written: the worker may start (if the
                    // socket never filled, the assertion below says so).
                    if let Some(tx) = go_tx.take() {
                        let _ = tx.send(());
                    }
                    break;
                }
                Flush::Drained => continue,
                Flush::WouldBlock => {
                    would_block += 1;
                    if let Some(tx) = go_tx.take() {
                        let _ = tx.send(());
                    }
                    break;
                }
            }
        }
        // Read every reply there is, checking each against what was sent.
        loop {
            match r.read_from(&mut s).unwrap() {
                Recv::Message(m) => {
                    assert!(received < sent, "more replies than messages");
                    assert_eq!(m, reply(&to_msg(received)), "reply #{received}");
                    received += 1;
                }
                Recv::WouldBlock => break,
                Recv::Eof => break 'outer,
            }
        }
        poll.poll(&mut events, Some(Duration::from_secs(1)))
            .unwrap();
        assert!(start.elapsed() < DEADLINE, "parent timed out");
    }
    assert_eq!(received, COUNT);
    assert!(w.is_drained());
    assert_eq!(child.join().unwrap().unwrap(), COUNT);
    assert!(would_block > 0, "the socket buffer never filled");
}

#[test]
fn blocking_helpers_over_a_socketpair() {
    // Worker start-up: blocking Hello / Init / Ready, then the same socket
    // goes non-blocking for the event loop.
    let (mut parent, mut child) = std::os::unix::net::UnixStream::pair().unwrap();
    let t = std::thread::spawn(move || {
        send(
            &mut child,
            &FromWorker::Hello {
                role: Role::Check,
                pid: std::process::id(),
                protocol: PROTOCOL_VERSION,
            },
        )
        .unwrap();
        let init: ToWorker = recv(&mut child).unwrap().unwrap();
        let ToWorker::Init(init) = init else {
            panic!("{init:?}")
        };
        send(
            &mut child,
            &FromWorker::Ready {
                generation: init.generation,
            },
        )
        .unwrap();
        // Then the parent closes: recv says so.
        assert!(recv::<_, ToWorker>(&mut child).unwrap().is_none());
    });
    let hello: FromWorker = recv(&mut parent).unwrap().unwrap();
    assert!(matches!(
        hello,
        FromWorker::Hello {
            role: Role::Check,
            protocol: PROTOCOL_VERSION,
            ..
        }
    ));
    let init = common::inits().remove(1);
    send(&mut parent, &ToWorker::Init(init)).unwrap();
    let ready: FromWorker = recv(&mut parent).unwrap().unwrap();
    assert_eq!(ready, FromWorker::Ready { generation: 2 });
    drop(parent);
    t.join().unwrap();
}
