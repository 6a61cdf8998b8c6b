//! Every FrameError, from every entry point that can produce it.

mod common;

use common::*;
use ipc::frame::{self, HEADER_LEN};
use ipc::*;
use std::io::{Cursor, Read};

fn header(version: u8, len: u32) -> Vec<u8> {
    let mut h = vec![version];
    h.extend_from_slice(&len.to_le_bytes());
    h
}

fn hb(seq: u64) -> FromWorker {
    FromWorker::Heartbeat { seq }
}

fn reader_err<T: serde::de::DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) -> FrameError {
    let mut r = FrameReader::<T>::new();
    let mut src = Cursor::new(bytes.to_vec());
    loop {
        match r.read_from(&mut src) {
            Ok(Recv::Message(_)) => continue,
            Ok(other) => panic!("expected an error, got {other:?}"),
            Err(StreamError::Frame(e)) => return e,
            Err(StreamError::Io(e)) => panic!("{e}"),
        }
    }
}

fn recv_err<T: serde::de::DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) -> FrameError {
    match recv::<_, T>(&mut Cursor::new(bytes.to_vec())) {
        Err(StreamError::Frame(e)) => e,
        other => panic!("expected a frame error, got {other:?}"),
    }
}

#[test]
fn future_protocol_version_is_refused_everywhere() {
    let mut f = frame::encode(&hb(1)).unwrap();
    f[0] = PROTOCOL_VERSION + 1;
    let want = FrameError::Version {
        found: PROTOCOL_VERSION + 1,
        expected: PROTOCOL_VERSION,
    };
    assert_eq!(frame::decode_exact::<FromWorker>(&f), Err(want.clone()));
    assert_eq!(frame::decode::<FromWorker>(&f), Err(want.clone()));
    assert_eq!(recv_err::<FromWorker>(&f), want);
    assert_eq!(reader_err::<FromWorker>(&f), want);
    // Refused on the header alone, before the payload arrives.
    let mut r = FrameReader::<FromWorker>::new();
    r.push_bytes(&f[..HEADER_LEN]);
    assert_eq!(r.next_buffered(), Err(want.clone()));
    // Version 0 (never used) too.
    f[0] = 0;
    assert!(matches!(
        frame::decode_exact::<FromWorker>(&f),
        Err(FrameError::Version { found: 0, .. })
    ));
}

#[test]
fn oversize_length_is_refused_on_the_header_alone() {
    for len in [MAX_PAYLOAD as u32 + 1, u32::MAX] {
        let h = header(PROTOCOL_VERSION, len);
        let want = FrameError::Oversize {
            len: u64::from(len),
            max: MAX_PAYLOAD,
        };
        assert_eq!(frame::decode::<ToWorker>(&h), Err(want.clone()));
        assert_eq!(recv_err::<ToWorker>(&h), want);
        let mut r = FrameReader::<ToWorker>::new();
        let mut src = Cursor::new(h.clone()).chain(std::io::repeat(0));
        // The reader reads a chunk (header + some zeros), refuses, and does
        // not go on reading what the header announced.
        match r.read_from(&mut src) {
            Err(StreamError::Frame(e)) => assert_eq!(e, want),
            other => panic!("{other:?}"),
        }
        assert!(r.buffered() <= 64 * 1024, "{}", r.buffered());
    }
    // Exactly the cap is a valid length (the payload is then checked).
    let h = header(PROTOCOL_VERSION, MAX_PAYLOAD as u32);
    assert_eq!(
        frame::decode::<ToWorker>(&h),
        Err(FrameError::Truncated {
            needed: MAX_FRAME,
            available: HEADER_LEN
        })
    );
}

#[test]
fn oversize_message_is_refused_by_the_sender() {
    let big = FromWorker::Dump {
        kind: DumpKind::Data,
        text: "x".repeat(MAX_PAYLOAD),
    };
    let want = FrameError::MessageTooLarge { max: MAX_PAYLOAD };
    assert_eq!(frame::encode(&big), Err(want.clone()));
    let mut w = FrameWriter::new();
    w.queue(&hb(1)).unwrap();
    let before = w.pending();
    assert_eq!(w.queue(&big), Err(want.clone()));
    assert_eq!(w.pending(), before, "nothing of the refused message queued");
    let mut wire = Vec::new();
    match send(&mut wire, &big) {
        Err(StreamError::Frame(e)) => assert_eq!(e, want),
        other => panic!("{other:?}"),
    }
    assert!(wire.is_empty());
    // The writer still works after the refusal.
    w.queue(&hb(2)).unwrap();
    w.write_to(&mut wire).unwrap();
    let mut r = FrameReader::<FromWorker>::new();
    r.push_bytes(&wire);
    assert_eq!(r.next_buffered(), Ok(Some(hb(1))));
    assert_eq!(r.next_buffered(), Ok(Some(hb(2))));
    assert_eq!(r.next_buffered(), Ok(None));
}

#[test]
fn truncated_frames() {
    let f = frame::encode(&to_worker()[0]).unwrap();
    for cut in [1, 3, HEADER_LEN - 1] {
        let want = FrameError::Truncated {
            needed: HEADER_LEN,
            available: cut,
        };
        assert_eq!(frame::decode::<ToWorker>(&f[..cut]), Err(want.clone()));
        assert_eq!(recv_err::<ToWorker>(&f[..cut]), want);
        assert_eq!(reader_err::<ToWorker>(&f[..cut]), want);
    }
    for cut in [HEADER_LEN, HEADER_LEN + 1, f.len() - 1] {
        let want = FrameError::Truncated {
            needed: f.len(),
            available: cut,
        };
        assert_eq!(frame::decode::<ToWorker>(&f[..cut]), Err(want.clone()));
        assert_eq!(
            frame::decode_exact::<ToWorker>(&f[..cut]),
            Err(want.clone())
        );
        assert_eq!(recv_err::<ToWorker>(&f[..cut]), want);
        assert_eq!(reader_err::<ToWorker>(&f[..cut]), want);
    }
    // Empty input: decode says truncated, recv and the reader say EOF.
    assert_eq!(
        frame::decode::<ToWorker>(&[]),
        Err(FrameError::Truncated {
            needed: HEADER_LEN,
            available: 0
        })
    );
    assert!(matches!(
        recv::<_, ToWorker>(&mut Cursor::new(Vec::new())),
        Ok(None)
    ));
    let mut r = FrameReader::<ToWorker>::new();
    assert_eq!(
        r.read_from(&mut Cursor::new(Vec::new())).unwrap(),
        Recv::Eof
    );
}

#[test]
fn trailing_bytes_in_payload() {
    let mut f = frame::encode(&hb(300)).unwrap();
    f.extend_from_slice(&[0, 0]);
    let len = (f.len() - HEADER_LEN) as u32;
    f[1..HEADER_LEN].copy_from_slice(&len.to_le_bytes());
    let want = FrameError::TrailingBytes { unused: 2 };
    assert_eq!(frame::decode_exact::<FromWorker>(&f), Err(want.clone()));
    assert_eq!(recv_err::<FromWorker>(&f), want);
    assert_eq!(reader_err::<FromWorker>(&f), want);
}

#[test]
fn extra_data_after_a_frame() {
    let mut f = frame::encode(&hb(1)).unwrap();
    let one = f.len();
    f.extend_from_slice(&[9, 9, 9]);
    assert_eq!(
        frame::decode_exact::<FromWorker>(&f),
        Err(FrameError::ExtraData { extra: 3 })
    );
    // `decode` takes the first frame and says where it ends.
    assert_eq!(frame::decode::<FromWorker>(&f), Ok((hb(1), one)));
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut f = header(PROTOCOL_VERSION, payload.len() as u32);
    f.extend_from_slice(payload);
    f
}

#[test]
fn malformed_payloads() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty payload", vec![]),
        ("unknown variant", vec![200]),
        ("variant index past u32", vec![253, 0, 0, 0, 0, 1, 0, 0, 0]),
        // Hello { role: 7 }
        ("unknown role", vec![0, 7, 1, 1]),
        // Ready { generation } cut short: marker for a u64 with no bytes
        ("short integer", vec![1, 253, 1, 2]),
        // IpvsStatus { available: 2 }
        ("bad bool", vec![9, 2, 0, 0]),
        // Log { level: Info, message: invalid UTF-8 }
        ("bad utf-8", vec![3, 6, 2, 0xc3, 0x28]),
        // Log with a string longer than the payload
        ("string past the end", vec![3, 6, 100, b'a']),
        // IpvsStatus { error: Some tag 5 }
        ("bad option tag", vec![9, 1, 5]),
    ];
    for (what, payload) in cases {
        let f = framed(&payload);
        let e = frame::decode_exact::<FromWorker>(&f).unwrap_err();
        assert!(matches!(e, FrameError::Malformed { .. }), "{what}: {e:?}");
        assert_eq!(recv_err::<FromWorker>(&f), e, "{what}");
        assert_eq!(reader_err::<FromWorker>(&f), e, "{what}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn malformed_payload_does_not_break_framing_but_bad_header_does() {
    let good = frame::encode(&hb(5)).unwrap();
    let bad = framed(&[200]);
    let mut r = FrameReader::<FromWorker>::new();
    r.push_bytes(&bad);
    r.push_bytes(&good);
    assert!(matches!(
        r.next_buffered(),
        Err(FrameError::Malformed { .. })
    ));
    assert_eq!(r.next_buffered(), Ok(Some(hb(5))));
    assert_eq!(r.next_buffered(), Ok(None));

    // A bad header is sticky: the next frame's start is unknown.
    let mut r = FrameReader::<FromWorker>::new();
    r.push_bytes(&header(PROTOCOL_VERSION, u32::MAX));
    r.push_bytes(&good);
    let e = r.next_buffered().unwrap_err();
    assert!(e.breaks_framing());
    assert_eq!(r.next_buffered(), Err(e.clone()));
    match r.read_from(&mut Cursor::new(good.clone())) {
        Err(StreamError::Frame(again)) => assert_eq!(again, e),
        other => panic!("{other:?}"),
    }
    // So is truncation at EOF.
    let mut r = FrameReader::<FromWorker>::new();
    let mut src = Cursor::new(good[..3].to_vec());
    assert!(matches!(
        r.read_from(&mut src),
        Err(StreamError::Frame(FrameError::Truncated { .. }))
    ));
    assert!(matches!(
        r.read_from(&mut src),
        Err(StreamError::Frame(FrameError::Truncated { .. }))
    ));
}

#[test]
fn unencodable_message() {
    // serde cannot put a non-UTF-8 path into a frame; the error says so.
    use std::os::unix::ffi::OsStrExt;
    let p = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/etc/\xfe"));
    match frame::encode(&p) {
        Err(FrameError::Encode { reason }) => assert!(!reason.is_empty()),
        other => panic!("{other:?}"),
    }
    let mut w = FrameWriter::new();
    assert!(matches!(w.queue(&p), Err(FrameError::Encode { .. })));
    assert!(w.is_drained());
}

#[test]
fn errors_display_what_was_wrong() {
    let msgs = [
        FrameError::Version {
            found: 9,
            expected: 1,
        }
        .to_string(),
        FrameError::Oversize { len: 99, max: 10 }.to_string(),
        FrameError::MessageTooLarge { max: 10 }.to_string(),
        FrameError::Truncated {
            needed: 7,
            available: 3,
        }
        .to_string(),
        FrameError::TrailingBytes { unused: 4 }.to_string(),
        FrameError::ExtraData { extra: 2 }.to_string(),
    ];
    assert!(msgs[0].contains("version 9"));
    assert!(msgs[1].contains("99"));
    assert!(msgs[2].contains("10"));
    assert!(msgs[3].contains("7 bytes needed, 3 available"));
    assert!(msgs[4].contains("4 bytes"));
    assert!(msgs[5].contains("2 bytes"));
}
