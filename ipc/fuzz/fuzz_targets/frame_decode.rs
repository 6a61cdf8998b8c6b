//! Arbitrary bytes from a worker (or a parent): the reader must never
//! panic, never allocate beyond what it received, and whatever it decodes
//! must encode back to a frame that decodes to the same bytes again.
//!
//! Input layout: byte 0 picks the read size pattern, the rest is the
//! stream. The same bytes are also tried as a bare payload (no header), so
//! the fuzzer reaches the message decoder without having to learn the
//! header first.

#![no_main]

use ipc::frame;
use ipc::{FrameError, FrameReader, FromWorker, Recv, StreamError, ToWorker};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{self, Read};

/// Hands out the data in pieces whose sizes come from `pattern`, with a
/// WouldBlock between pieces.
struct Pieces<'a> {
    data: &'a [u8],
    pattern: u8,
    n: usize,
    blocked: bool,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Ok(0);
        }
        if !self.blocked {
            self.blocked = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.blocked = false;
        self.n += 1;
        let size = match self.pattern % 4 {
            0 => usize::MAX,
            1 => 1,
            2 => usize::from(self.pattern) + 1,
            _ => (self.n * 37 + usize::from(self.pattern)) % 200 + 1,
        };
        let k = size.min(buf.len()).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

/// encode(decode(x)) must be a fixed point.
fn check_reencode<T: Serialize + DeserializeOwned>(m: &T) {
    let f = frame::encode(m).expect("a decoded message encodes");
    let back: T = frame::decode_exact(&f).expect("its encoding decodes");
    let f2 = frame::encode(&back).expect("encodes again");
    assert_eq!(f, f2, "re-encoding is stable");
}

fn stream<T: Serialize + DeserializeOwned>(pattern: u8, data: &[u8]) {
    let mut r = FrameReader::<T>::new();
    let mut src = Pieces {
        data,
        pattern,
        n: 0,
        blocked: false,
    };
    let mut received = 0usize;
    for _ in 0..(data.len() * 3 + 10) {
        match r.read_from(&mut src) {
            Ok(Recv::Message(m)) => {
                received += 1;
                check_reencode(&m);
            }
            Ok(Recv::WouldBlock) => {}
            Ok(Recv::Eof) => return,
            Err(StreamError::Frame(e)) => {
                if e.breaks_framing() {
                    // Sticky: asking again gives the same error.
                    match r.read_from(&mut src) {
                        Err(StreamError::Frame(again)) => assert_eq!(again, e),
                        other => panic!("framing error not sticky: {:?}", other.is_ok()),
                    }
                    return;
                }
            }
            Err(StreamError::Io(e)) => panic!("no I/O error expected: {e}"),
        }
        // Never more buffered than one frame plus one read.
        assert!(r.buffered() <= ipc::MAX_FRAME + 64 * 1024);
        assert!(received <= data.len());
    }
    panic!("reader made no progress");
}

fn whole<T: Serialize + DeserializeOwned>(data: &[u8]) {
    match frame::decode::<T>(data) {
        Ok((m, used)) => {
            assert!(used <= data.len());
            check_reencode(&m);
        }
        Err(FrameError::MessageTooLarge { .. } | FrameError::Encode { .. }) => {
            panic!("decode returned an encode error")
        }
        Err(_) => {}
    }
    if let Ok(m) = frame::decode_payload::<T>(data) {
        check_reencode(&m);
    }
    let mut cur = io::Cursor::new(data);
    if let Ok(Some(m)) = ipc::recv::<_, T>(&mut cur) {
        check_reencode(&m);
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&pattern, data)) = input.split_first() else {
        return;
    };
    stream::<ToWorker>(pattern, data);
    stream::<FromWorker>(pattern, data);
    whole::<ToWorker>(data);
    whole::<FromWorker>(data);
});
