//! The reader and writer against streams that deliver or accept bytes in
//! arbitrary pieces, with WouldBlock and Interrupted in between.

mod common;

use common::*;
use ipc::*;
use std::io::{self, Cursor, Read, Write};

/// A source that hands out its data in the given piece sizes, answering
/// WouldBlock (and sometimes Interrupted) between pieces, then EOF.
struct Pieces {
    data: Vec<u8>,
    pos: usize,
    sizes: Box<dyn Iterator<Item = usize>>,
    blocked: bool,
    reads: usize,
}

impl Pieces {
    fn new(data: Vec<u8>, sizes: impl IntoIterator<Item = usize> + 'static) -> Self {
        Pieces {
            data,
            pos: 0,
            sizes: Box::new(sizes.into_iter()),
            blocked: false,
            reads: 0,
        }
    }
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.pos == self.data.len() {
            return Ok(0);
        }
        if !self.blocked {
            self.blocked = true;
            let kind = if self.reads % 7 == 0 {
                io::ErrorKind::Interrupted
            } else {
                io::ErrorKind::WouldBlock
            };
            return Err(kind.into());
        }
        self.blocked = false;
        let want = self.sizes.next().unwrap_or(usize::MAX).max(1);
        let n = want.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Drain `src` through a reader, counting WouldBlocks.
fn drain<T, R>(src: &mut R) -> (Vec<T>, usize)
where
    T: serde::de::DeserializeOwned + std::fmt::Debug,
    R: Read,
{
    let mut r = FrameReader::<T>::new();
    let mut out = Vec::new();
    let mut blocks = 0;
    loop {
        match r.read_from(src) {
            Ok(Recv::Message(m)) => out.push(m),
            Ok(Recv::WouldBlock) => blocks += 1,
            Ok(Recv::Eof) => return (out, blocks),
            Err(e) => panic!("after {} messages: {e}", out.len()),
        }
        assert!(blocks < 1_000_000, "no progress");
    }
}

#[test]
fn split_at_every_byte_boundary() {
    let to = to_worker();
    let from = from_worker();
    let to_bytes = stream_bytes(&to);
    let from_bytes = stream_bytes(&from);
    for at in 0..=to_bytes.len() {
        let mut src = Pieces::new(to_bytes.clone(), [at, usize::MAX]);
        let (got, _) = drain::<ToWorker, _>(&mut src);
        assert_eq!(got, to, "split at {at}");
    }
    for at in 0..=from_bytes.len() {
        // With push_bytes too: the caller does its own reads.
        let mut r = FrameReader::<FromWorker>::new();
        let mut got = Vec::new();
        for part in [&from_bytes[..at], &from_bytes[at..]] {
            r.push_bytes(part);
            while let Some(m) = r.next_buffered().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(r.buffered(), 0);
        assert_eq!(got, from, "split at {at}");
    }
}

#[test]
fn byte_by_byte_and_odd_pieces() {
    let from = from_worker();
    let bytes = stream_bytes(&from);
    let mut src = Pieces::new(bytes.clone(), std::iter::repeat(1));
    let (got, blocks) = drain::<FromWorker, _>(&mut src);
    assert_eq!(got, from);
    assert!(blocks > bytes.len() / 2, "WouldBlock was seen ({blocks})");
    for seed in 1..50usize {
        let sizes = (0..).map(move |i: usize| (i * 7919 + seed * 104729) % (seed * 13) + 1);
        let mut src = Pieces::new(bytes.clone(), sizes.take(100_000));
        assert_eq!(drain::<FromWorker, _>(&mut src).0, from, "seed {seed}");
    }
}

#[test]
fn several_frames_in_one_read() {
    let to = to_worker();
    let bytes = stream_bytes(&to);
    let mut r = FrameReader::<ToWorker>::new();
    let mut src = Pieces::new(bytes, [usize::MAX]);
    let mut got = Vec::new();
    let mut reads_with_data = 0;
    loop {
        match r.read_from(&mut src).unwrap() {
            Recv::Message(m) => got.push(m),
            Recv::WouldBlock => reads_with_data += 1,
            Recv::Eof => break,
        }
    }
    assert_eq!(got, to);
    assert_eq!(reads_with_data, 1, "one read delivered every frame");
}

#[test]
fn eof_after_whole_frames_only() {
    let bytes = stream_bytes(&from_worker());
    let mut r = FrameReader::<FromWorker>::new();
    let mut src = Cursor::new(bytes);
    while let Recv::Message(_) = r.read_from(&mut src).unwrap() {}
    assert!(r.is_eof());
    assert_eq!(r.read_from(&mut src).unwrap(), Recv::Eof);
    // push_eof for a caller doing its own reads
    let mut r = FrameReader::<FromWorker>::new();
    r.push_eof();
    assert_eq!(r.read_from(&mut io::empty()).unwrap(), Recv::Eof);
}

#[test]
fn large_frame_in_small_pieces() {
    // A frame of several MiB arriving 1000 bytes at a time.
    let dump = FromWorker::Dump {
        kind: DumpKind::Data,
        text: "VRRP Instance = VI_1\n".repeat(300_000),
    };
    let mut bytes = frame::encode(&dump).unwrap();
    bytes.extend(frame::encode(&FromWorker::Heartbeat { seq: 9 }).unwrap());
    assert!(bytes.len() > 6_000_000);
    let mut src = Pieces::new(bytes, std::iter::repeat(1000));
    let (got, _) = drain::<FromWorker, _>(&mut src);
    assert_eq!(got, vec![dump, FromWorker::Heartbeat { seq: 9 }]);
}

use ipc::frame;

/// A sink accepting at most `cap` bytes per write, WouldBlock every other
/// call, Interrupted now and then.
struct Throttled {
    out: Vec<u8>,
    cap: usize,
    calls: usize,
}

impl Write for Throttled {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.calls % 11 == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.cap);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn writer_partial_writes_and_would_block() {
    let from = from_worker();
    for cap in [1, 2, 3, 5, 64, 1000] {
        let mut w = FrameWriter::new();
        let mut sink = Throttled {
            out: Vec::new(),
            cap,
            calls: 0,
        };
        let mut queued = from.iter();
        let mut blocked = 0;
        // Interleave queueing with flushing, like an event loop.
        loop {
            if let Some(m) = queued.next() {
                w.queue(m).unwrap();
            }
            match w.write_to(&mut sink).unwrap() {
                Flush::Drained => {
                    assert!(w.is_drained());
                    assert_eq!(w.pending(), 0);
                    if queued.len() == 0 {
                        break;
                    }
                }
                Flush::WouldBlock => {
                    assert!(!w.is_drained());
                    blocked += 1;
                }
            }
        }
        assert!(blocked > 0);
        assert_eq!(sink.out, stream_bytes(&from), "cap {cap}");
    }
}

#[test]
fn writer_errors() {
    struct Zero;
    impl Write for Zero {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Ok(0)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut w = FrameWriter::new();
    w.queue(&ToWorker::Shutdown).unwrap();
    let n = w.pending();
    assert_eq!(
        w.write_to(&mut Zero).unwrap_err().kind(),
        io::ErrorKind::WriteZero
    );
    assert_eq!(
        w.write_to(&mut Broken).unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    assert_eq!(w.pending(), n, "bytes stay queued after an error");
    // An empty queue is drained without touching the stream.
    let mut w = FrameWriter::new();
    assert_eq!(w.write_to(&mut Broken).unwrap(), Flush::Drained);
}

#[test]
fn reader_io_errors_are_reported() {
    struct Reset;
    impl Read for Reset {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::ConnectionReset.into())
        }
    }
    let mut r = FrameReader::<ToWorker>::new();
    match r.read_from(&mut Reset) {
        Err(StreamError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        other => panic!("{other:?}"),
    }
}

#[test]
fn blocking_recv_reads_exactly_one_frame() {
    // recv must leave the following bytes in the stream for a FrameReader.
    let msgs = from_worker();
    let mut src = Pieces::new(stream_bytes(&msgs), std::iter::repeat(3));
    // Pieces answers WouldBlock between pieces: give recv a blocking view.
    struct Blocking<'a>(&'a mut Pieces);
    impl Read for Blocking<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            loop {
                match self.0.read(buf) {
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock
                            || e.kind() == io::ErrorKind::Interrupted => {}
                    other => return other,
                }
            }
        }
    }
    let first: FromWorker = recv(&mut Blocking(&mut src)).unwrap().unwrap();
    assert_eq!(first, msgs[0]);
    let (rest, _) = drain::<FromWorker, _>(&mut src);
    assert_eq!(rest, msgs[1..]);
}
