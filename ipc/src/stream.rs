//! Frames over a byte stream: a non-blocking reader and writer for a mio
//! event loop, and blocking `send`/`recv` for tests and worker start-up.
//!
//! Both codecs work with any [`Read`]/[`Write`]: a `mio::net::UnixStream`,
//! a `std::os::unix::net::UnixStream` (blocking or not), a test double.
//!
//! With mio's edge-triggered readiness, call [`FrameReader::read_from`]
//! until it returns [`Recv::WouldBlock`] (or [`Recv::Eof`]) after each
//! readable event, and [`FrameWriter::write_to`] until it returns
//! [`Flush::Drained`] or [`Flush::WouldBlock`] after each writable event and
//! after queueing.

use crate::frame::{self, FrameError, HEADER_LEN, MAX_FRAME};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::io::{self, Read, Write};
use std::marker::PhantomData;

/// How much the reader asks the stream for at least, per `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// Buffers that grew past this (a large `Init`) are given back once empty.
const SHRINK_OVER: usize = 1024 * 1024;

/// An I/O or framing failure on a stream.
#[derive(Debug)]
pub enum StreamError {
    Io(io::Error),
    Frame(FrameError),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Io(e) => write!(f, "I/O error: {e}"),
            StreamError::Frame(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Io(e) => Some(e),
            StreamError::Frame(e) => Some(e),
        }
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

impl From<FrameError> for StreamError {
    fn from(e: FrameError) -> Self {
        StreamError::Frame(e)
    }
}

/// What [`FrameReader::read_from`] produced.
#[derive(Debug, PartialEq)]
pub enum Recv<T> {
    /// A whole message. Call again: more may be buffered or readable.
    Message(T),
    /// Every buffered frame was delivered and the stream has nothing more
    /// for now: wait for the next readable event.
    WouldBlock,
    /// The peer closed the stream after a whole number of frames, and all
    /// of them were delivered. (A close inside a frame is an error,
    /// [`FrameError::Truncated`].)
    Eof,
}

/// Accumulates bytes from a stream and yields the messages of type `T`.
///
/// Memory: the buffer holds at most one incomplete frame plus one read's
/// worth, so never more than [`MAX_FRAME`] + 64 KiB, and it grows only as
/// bytes actually arrive, whatever length a header announces.
///
/// Errors: a framing error ([`FrameError::breaks_framing`]: bad version,
/// oversize length, truncation at EOF) is sticky: every later call returns
/// it again. A `Malformed` or `TrailingBytes` payload consumes its frame
/// and the reader can go on with the next one; whether to go on is the
/// caller's choice (the parent treats it as a broken worker).
pub struct FrameReader<T> {
    buf: Vec<u8>,
    /// `buf[start..filled]` is received and not yet consumed.
    start: usize,
    filled: usize,
    eof: bool,
    failed: Option<FrameError>,
    _msg: PhantomData<fn() -> T>,
}

impl<T> Default for FrameReader<T> {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            filled: 0,
            eof: false,
            failed: None,
            _msg: PhantomData,
        }
    }
}

impl<T> fmt::Debug for FrameReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("buffered", &self.buffered())
            .field("eof", &self.eof)
            .field("failed", &self.failed)
            .finish()
    }
}

impl<T> FrameReader<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes received and not yet consumed as frames.
    pub fn buffered(&self) -> usize {
        self.filled - self.start
    }

    /// Whether the peer closed the stream (seen by a zero-byte read).
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Add bytes obtained elsewhere (tests, fuzzing, a caller doing its
    /// own reads). They are decoded by [`Self::next_buffered`] and
    /// [`Self::read_from`].
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.make_room(bytes.len());
        self.buf[self.filled..self.filled + bytes.len()].copy_from_slice(bytes);
        self.filled += bytes.len();
    }

    /// Record that the stream ended (for a caller doing its own reads).
    pub fn push_eof(&mut self) {
        self.eof = true;
    }

    /// If bytes of an unfinished frame are buffered: (bytes the frame or
    /// header needs, bytes there). Only meaningful when no whole frame is
    /// buffered.
    fn incomplete(&self) -> Option<(usize, usize)> {
        let pending = &self.buf[self.start..self.filled];
        if pending.is_empty() {
            return None;
        }
        let needed = match frame::frame_len(pending) {
            Ok(Some(total)) => total,
            _ => HEADER_LEN,
        };
        Some((needed, pending.len()))
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        if e.breaks_framing() {
            self.failed = Some(e.clone());
        }
        e
    }

    /// Make sure `buf[filled..]` has at least `extra` bytes, moving the
    /// unconsumed bytes to the front first and growing geometrically.
    fn make_room(&mut self, extra: usize) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        let need = self.filled + extra;
        if self.buf.len() < need {
            // Double, but not past what one frame plus one read can use:
            // a frame is consumed as soon as it is complete, so `filled`
            // stays below MAX_FRAME when reading.
            let doubled = (self.buf.len() * 2).min(MAX_FRAME + READ_CHUNK);
            self.buf.resize(need.max(doubled), 0);
        }
    }
}

impl<T: DeserializeOwned> FrameReader<T> {
    /// The next message already buffered, if a whole frame is. Does not
    /// read and does not report EOF.
    pub fn next_buffered(&mut self) -> Result<Option<T>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let pending = &self.buf[self.start..self.filled];
        let total = match frame::frame_len(pending) {
            Ok(Some(total)) if total <= pending.len() => total,
            Ok(_) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        let res = frame::decode_payload(&pending[HEADER_LEN..total]);
        self.start += total;
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
            if self.buf.len() > SHRINK_OVER {
                self.buf = Vec::new();
            }
        }
        res.map(Some)
    }

    /// Read from `src` as needed and return the next message, or say that
    /// the stream would block or has ended. Call it in a loop until it
    /// returns `WouldBlock` or `Eof` (edge-triggered readiness needs that).
    /// `Interrupted` reads are retried.
    pub fn read_from<R: Read + ?Sized>(&mut self, src: &mut R) -> Result<Recv<T>, StreamError> {
        loop {
            if let Some(msg) = self.next_buffered()? {
                return Ok(Recv::Message(msg));
            }
            if self.eof {
                return match self.incomplete() {
                    None => Ok(Recv::Eof),
                    Some((needed, available)) => Err(self
                        .fail(FrameError::Truncated { needed, available })
                        .into()),
                };
            }
            self.make_room(READ_CHUNK);
            match src.read(&mut self.buf[self.filled..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Recv::WouldBlock),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// What [`FrameWriter::write_to`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Everything queued was written.
    Drained,
    /// The stream is full; bytes remain queued. Wait for a writable event.
    WouldBlock,
}

/// An outgoing queue of frames, written as the stream accepts them.
///
/// The queue is not bounded: [`Self::pending`] tells how much is waiting,
/// so the owner can decide a peer that does not read is hung.
#[derive(Debug, Default)]
pub struct FrameWriter {
    buf: Vec<u8>,
    /// `buf[sent..]` is still to be written.
    sent: usize,
}

impl FrameWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Encode `msg` and queue it. A message over the cap (or that cannot
    /// be encoded) is refused and nothing is queued.
    pub fn queue<T: Serialize + ?Sized>(&mut self, msg: &T) -> Result<(), FrameError> {
        if self.sent > 0 && self.sent >= self.buf.len() / 2 {
            self.buf.drain(..self.sent);
            self.sent = 0;
        }
        frame::encode_into(msg, &mut self.buf).map(|_| ())
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// Whether everything queued has been written.
    pub fn is_drained(&self) -> bool {
        self.pending() == 0
    }

    /// Write queued bytes until the queue is empty or `dst` would block.
    /// `Interrupted` writes are retried; a write of zero bytes is an error
    /// (`WriteZero`); other errors are returned with the bytes still queued.
    pub fn write_to<W: Write + ?Sized>(&mut self, dst: &mut W) -> io::Result<Flush> {
        while self.sent < self.buf.len() {
            match dst.write(&self.buf[self.sent..]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "stream accepted no bytes",
                    ));
                }
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flush::WouldBlock),
                Err(e) => return Err(e),
            }
        }
        self.sent = 0;
        if self.buf.capacity() > SHRINK_OVER {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        Ok(Flush::Drained)
    }
}

/// Send one message on a blocking stream.
pub fn send<W: Write + ?Sized, T: Serialize + ?Sized>(
    dst: &mut W,
    msg: &T,
) -> Result<(), StreamError> {
    let f = frame::encode(msg)?;
    dst.write_all(&f)?;
    dst.flush()?;
    Ok(())
}

/// Receive one message from a blocking stream. `Ok(None)`: the peer closed
/// the stream before a frame started. Reads exactly one frame's bytes and
/// no more, so the stream can then be handed to a [`FrameReader`].
///
/// For blocking streams only: a `WouldBlock` or timeout in the middle of a
/// frame is returned as an I/O error and the partial frame is lost.
pub fn recv<R: Read + ?Sized, T: DeserializeOwned>(src: &mut R) -> Result<Option<T>, StreamError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(src, &mut header)?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated {
            needed: HEADER_LEN,
            available: got,
        }
        .into());
    }
    let len = frame::parse_header(&header)?;
    // Grows with the bytes that arrive, not with the announced length.
    let mut payload = Vec::new();
    src.take(len as u64).read_to_end(&mut payload)?;
    if payload.len() < len {
        return Err(FrameError::Truncated {
            needed: HEADER_LEN + len,
            available: HEADER_LEN + payload.len(),
        }
        .into());
    }
    Ok(Some(frame::decode_payload(&payload)?))
}

/// Fill `buf` unless EOF comes first; returns the bytes read.
fn read_full<R: Read + ?Sized>(src: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
