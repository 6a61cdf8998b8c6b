//! One frame on the wire: a 5-byte header, then the payload.
//!
//! ```text
//! offset 0  u8      protocol version (PROTOCOL_VERSION)
//! offset 1  u32 LE  payload length in bytes, at most MAX_PAYLOAD
//! offset 5  ...     payload: bincode 2 (standard config: varint integers,
//!                   little endian, decode limit MAX_PAYLOAD) of one message,
//!                   through bincode's serde support
//! ```
//!
//! The payload must be exactly one message: a payload that decodes without
//! using all of its bytes is refused ([`FrameError::TrailingBytes`]).
//!
//! Nothing here allocates according to a length read from the peer: the
//! header's length is checked against the cap before anything else, and
//! inside the payload, strings and byte buffers are copied from bytes
//! actually present and a sequence or map claiming more elements than the
//! payload has bytes is refused (the `guard` module), so decoding a payload
//! of n bytes allocates O(n).

use crate::guard;
use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use bincode::enc::write::Writer;
use bincode::error::EncodeError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The version byte every frame starts with. Bump it whenever a message's
/// encoding changes (a variant added in the middle of an enum, a field
/// added, a type changed). The parent and its workers are the same binary,
/// so a mismatch means a stale worker executable or a corrupted stream.
pub const PROTOCOL_VERSION: u8 = 8;

/// Header size: version byte + u32 length.
pub const HEADER_LEN: usize = 5;

/// The hard cap on a frame's payload: 16 MiB.
///
/// The largest message is the `Init`/`Reload` of the check or IPVS worker,
/// which carries the whole `LvsConfig`. A real server in the model is a few
/// hundred bytes once encoded (addresses, weights, its checkers with their
/// URLs, digests and script command lines, each with a file:line), so 10,000
/// real servers come to roughly 3-8 MiB; 16 MiB leaves a factor of two on top
/// of that. It also bounds what a misbehaving worker can make the parent
/// buffer: at most one frame's worth (plus one read chunk) per worker.
pub const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// The largest a whole frame (header + payload) can be.
pub const MAX_FRAME: usize = HEADER_LEN + MAX_PAYLOAD;

/// bincode's decode limit: the total of what decoding may *claim*. bincode
/// claims a primitive's full width whatever its varint encoding took (8
/// bytes for a u64 sent as 1 byte, 16 for a u128), so a valid payload of
/// [`MAX_PAYLOAD`] bytes may claim up to 16 times that; the limit lets every
/// valid payload through. What a payload can make the decoder *allocate* is
/// bounded by the payload itself (see the `guard` module), not by this.
pub const DECODE_LIMIT: usize = 16 * MAX_PAYLOAD;

type Config = Configuration<LittleEndian, Varint, Limit<DECODE_LIMIT>>;

/// bincode's standard configuration (varint integers, little endian) with
/// the decode limit. Encoder and decoder must use the same one.
const BINCODE: Config = bincode::config::standard().with_limit::<DECODE_LIMIT>();

/// What was wrong with a frame, on encoding or decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The header's version byte is not [`PROTOCOL_VERSION`].
    Version { found: u8, expected: u8 },
    /// The header announces a payload larger than [`MAX_PAYLOAD`].
    Oversize { len: u64, max: usize },
    /// A message to send encodes to more than [`MAX_PAYLOAD`] bytes.
    MessageTooLarge { max: usize },
    /// The input ended inside a frame: `needed` bytes make the frame (or
    /// its header), only `available` were there.
    Truncated { needed: usize, available: usize },
    /// The payload held a complete message followed by `unused` more bytes.
    TrailingBytes { unused: usize },
    /// A buffer that should hold exactly one frame has `extra` bytes after it.
    ExtraData { extra: usize },
    /// The payload is not a valid encoding of the expected message type.
    Malformed { reason: String },
    /// The message could not be encoded (e.g. a path that is not UTF-8).
    Encode { reason: String },
}

impl FrameError {
    /// Whether the stream's framing is lost after this error: the reader
    /// cannot know where the next frame starts. `Malformed` and
    /// `TrailingBytes` concern one payload whose length was valid, so the
    /// next frame can still be found.
    pub fn breaks_framing(&self) -> bool {
        matches!(
            self,
            FrameError::Version { .. } | FrameError::Oversize { .. } | FrameError::Truncated { .. }
        )
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Version { found, expected } => write!(
                f,
                "frame has protocol version {found}, this build speaks version {expected}"
            ),
            FrameError::Oversize { len, max } => {
                write!(
                    f,
                    "frame announces a {len}-byte payload, the limit is {max}"
                )
            }
            FrameError::MessageTooLarge { max } => {
                write!(f, "message encodes to more than the {max}-byte frame limit")
            }
            FrameError::Truncated { needed, available } => write!(
                f,
                "truncated frame: {needed} bytes needed, {available} available"
            ),
            FrameError::TrailingBytes { unused } => {
                write!(f, "frame payload has {unused} bytes after the message")
            }
            FrameError::ExtraData { extra } => {
                write!(f, "{extra} bytes follow the frame")
            }
            FrameError::Malformed { reason } => write!(f, "malformed frame payload: {reason}"),
            FrameError::Encode { reason } => write!(f, "cannot encode message: {reason}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Check a header and return the payload length it announces.
pub fn parse_header(header: &[u8; HEADER_LEN]) -> Result<usize, FrameError> {
    if header[0] != PROTOCOL_VERSION {
        return Err(FrameError::Version {
            found: header[0],
            expected: PROTOCOL_VERSION,
        });
    }
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    // u32 always fits usize on the targets we support (64-bit Linux); the
    // conversion is checked all the same.
    match usize::try_from(len) {
        Ok(n) if n <= MAX_PAYLOAD => Ok(n),
        _ => Err(FrameError::Oversize {
            len: u64::from(len),
            max: MAX_PAYLOAD,
        }),
    }
}

/// The total size (header + payload) of the frame starting at `buf[0]`, if
/// `buf` holds its whole header; `Ok(None)` if the header is incomplete.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    match buf.first_chunk::<HEADER_LEN>() {
        Some(h) => parse_header(h).map(|n| Some(HEADER_LEN + n)),
        None => Ok(None),
    }
}

/// A bincode writer appending to a Vec that refuses to grow it past `limit`.
struct CappedVec<'a> {
    out: &'a mut Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Writer for CappedVec<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        if bytes.len() > self.limit - self.out.len() {
            self.overflowed = true;
            return Err(EncodeError::Other("frame size limit reached"));
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }
}

/// Append one frame holding `msg` to `out`; returns the frame's total size.
/// On error `out` is left as it was. Encoding stops as soon as the payload
/// would pass the cap, so an oversized message costs at most the cap in
/// memory.
pub fn encode_into<T: Serialize + ?Sized>(msg: &T, out: &mut Vec<u8>) -> Result<usize, FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    let limit = out.len() + MAX_PAYLOAD;
    let mut w = CappedVec {
        out,
        limit,
        overflowed: false,
    };
    let res = bincode::serde::encode_into_writer(msg, &mut w, BINCODE);
    let overflowed = w.overflowed;
    if let Err(e) = res {
        out.truncate(start);
        return Err(if overflowed {
            FrameError::MessageTooLarge { max: MAX_PAYLOAD }
        } else {
            FrameError::Encode {
                reason: e.to_string(),
            }
        });
    }
    let payload = out.len() - start - HEADER_LEN;
    let len =
        u32::try_from(payload).map_err(|_| FrameError::MessageTooLarge { max: MAX_PAYLOAD })?;
    out[start] = PROTOCOL_VERSION;
    out[start + 1..start + HEADER_LEN].copy_from_slice(&len.to_le_bytes());
    Ok(HEADER_LEN + payload)
}

/// One frame holding `msg`.
pub fn encode<T: Serialize + ?Sized>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::new();
    encode_into(msg, &mut out)?;
    Ok(out)
}

/// Decode a payload (the bytes after a header) as one `T`.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(FrameError::Oversize {
            len: payload.len() as u64,
            max: MAX_PAYLOAD,
        });
    }
    let seed = guard::Root::<T>::new(payload.len());
    match bincode::serde::seed_decode_from_slice(seed, payload, BINCODE) {
        Ok((msg, used)) if used == payload.len() => Ok(msg),
        Ok((_, used)) => Err(FrameError::TrailingBytes {
            unused: payload.len().saturating_sub(used),
        }),
        Err(e) => Err(FrameError::Malformed {
            reason: e.to_string(),
        }),
    }
}

/// Decode the frame at the start of `buf`; returns the message and the
/// number of bytes the frame took. Bytes after it are left alone.
pub fn decode<T: DeserializeOwned>(buf: &[u8]) -> Result<(T, usize), FrameError> {
    let total = match frame_len(buf)? {
        Some(n) => n,
        None => {
            return Err(FrameError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
    };
    let Some(frame) = buf.get(..total) else {
        return Err(FrameError::Truncated {
            needed: total,
            available: buf.len(),
        });
    };
    let msg = decode_payload(&frame[HEADER_LEN..])?;
    Ok((msg, total))
}

/// Decode a buffer that must hold exactly one frame.
pub fn decode_exact<T: DeserializeOwned>(buf: &[u8]) -> Result<T, FrameError> {
    let (msg, used) = decode(buf)?;
    if used != buf.len() {
        return Err(FrameError::ExtraData {
            extra: buf.len() - used,
        });
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let f = encode(&7u32).unwrap();
        assert_eq!(f, vec![PROTOCOL_VERSION, 1, 0, 0, 0, 7]);
        let f = encode("abc").unwrap();
        assert_eq!(f, vec![PROTOCOL_VERSION, 4, 0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn header_checks() {
        assert_eq!(
            parse_header(&[PROTOCOL_VERSION, 0, 0, 0, 1]),
            Ok(MAX_PAYLOAD)
        );
        assert_eq!(
            parse_header(&[PROTOCOL_VERSION, 1, 0, 0, 1]),
            Err(FrameError::Oversize {
                len: MAX_PAYLOAD as u64 + 1,
                max: MAX_PAYLOAD
            })
        );
        assert_eq!(
            parse_header(&[PROTOCOL_VERSION, 0xff, 0xff, 0xff, 0xff]),
            Err(FrameError::Oversize {
                len: u64::from(u32::MAX),
                max: MAX_PAYLOAD
            })
        );
        assert_eq!(
            parse_header(&[0, 1, 0, 0, 0]),
            Err(FrameError::Version {
                found: 0,
                expected: PROTOCOL_VERSION
            })
        );
        assert_eq!(frame_len(&[PROTOCOL_VERSION, 2, 0, 0]), Ok(None));
        assert_eq!(frame_len(&[PROTOCOL_VERSION, 2, 0, 0, 0]), Ok(Some(7)));
    }

    #[test]
    fn encode_failure_leaves_buffer_alone() {
        let mut out = vec![1, 2, 3];
        let big = vec![0u8; MAX_PAYLOAD]; // + its length prefix: over the cap
        assert_eq!(
            encode_into(&big, &mut out),
            Err(FrameError::MessageTooLarge { max: MAX_PAYLOAD })
        );
        assert_eq!(out, vec![1, 2, 3]);
        // A path that is not UTF-8 cannot go through serde.
        use std::os::unix::ffi::OsStrExt;
        let p = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/\xff"));
        assert!(matches!(
            encode_into(&p, &mut out),
            Err(FrameError::Encode { .. })
        ));
        assert_eq!(out, vec![1, 2, 3]);
    }

    #[test]
    fn largest_message_fits() {
        // A byte vector whose varint length prefix (1 + 4 bytes for lengths
        // of 2^16..2^32) plus contents is exactly the cap.
        let exact = vec![0xa5u8; MAX_PAYLOAD - 5];
        let f = encode(&exact).unwrap();
        assert_eq!(f.len(), MAX_FRAME);
        let back: Vec<u8> = decode_exact(&f).unwrap();
        assert_eq!(back, exact);
        let over = vec![0xa5u8; MAX_PAYLOAD - 4];
        assert_eq!(
            encode(&over),
            Err(FrameError::MessageTooLarge { max: MAX_PAYLOAD })
        );
        // bincode counts a u64 sent as one varint byte as 8 bytes against
        // its decode limit: 4 Mi small integers (4 MiB of payload) count as
        // 32 MiB, more than the cap, and must still decode.
        let small = vec![1u64; 4 << 20];
        let f = encode(&small).unwrap();
        assert!(f.len() < MAX_PAYLOAD / 2);
        assert_eq!(decode_exact::<Vec<u64>>(&f).unwrap(), small);
    }

    #[test]
    fn inner_length_claims_are_limited() {
        // A string claiming 2^40 bytes inside a tiny payload: refused by the
        // decode limit before any allocation.
        let mut payload = vec![253u8]; // varint marker: u64 follows
        payload.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let err = decode_payload::<String>(&payload).unwrap_err();
        assert!(matches!(err, FrameError::Malformed { .. }), "{err:?}");
        let err = decode_payload::<std::path::PathBuf>(&payload).unwrap_err();
        assert!(matches!(err, FrameError::Malformed { .. }), "{err:?}");
        // A vector claiming 2^40 elements: refused before serde reserves
        // anything. With zero-sized elements bincode alone would loop 2^40
        // times.
        for err in [
            decode_payload::<Vec<u64>>(&payload).unwrap_err(),
            decode_payload::<Vec<()>>(&payload).unwrap_err(),
            decode_payload::<std::collections::BTreeMap<(), ()>>(&payload).unwrap_err(),
        ] {
            match err {
                FrameError::Malformed { reason } => {
                    assert!(reason.contains("claims 1099511627776 elements"), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
        // Up to as many zero-sized elements as the payload has bytes pass.
        let v: Vec<Vec<()>> = decode_payload(&[2, 3, 1]).unwrap();
        assert_eq!(v, vec![vec![(); 3], vec![()]]);
        assert!(decode_payload::<Vec<Vec<()>>>(&[2, 4, 1]).is_err());
        // Structs and tuples have their length from the type, and fields
        // may take no bytes: not limited by the payload's length.
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Empty {}
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Fields {
            a: Empty,
            b: Empty,
            c: ((), (), ()),
            d: Vec<Empty>,
        }
        let v = Fields {
            a: Empty {},
            b: Empty {},
            c: ((), (), ()),
            d: vec![Empty {}],
        };
        let f = encode(&v).unwrap();
        assert_eq!(f.len(), HEADER_LEN + 1);
        assert_eq!(decode_exact::<Fields>(&f).unwrap(), v);
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Nest {
        Leaf,
        Node(Box<Nest>),
    }

    fn nest_payload(depth: usize) -> Vec<u8> {
        let mut p = vec![1u8; depth];
        p.push(0);
        p
    }

    #[test]
    fn nesting_is_bounded() {
        let mut n = Nest::Leaf;
        for _ in 0..100 {
            n = Nest::Node(Box::new(n));
        }
        let f = encode(&n).unwrap();
        assert_eq!(f[HEADER_LEN..], nest_payload(100)[..]);
        assert_eq!(decode_exact::<Nest>(&f).unwrap(), n);
        // Deeper than the guard allows: refused, whatever the depth (a
        // million levels would overflow the stack unguarded).
        for depth in [crate::guard::MAX_DEPTH as usize, 1_000_000] {
            match decode_payload::<Nest>(&nest_payload(depth)) {
                Err(FrameError::Malformed { reason }) => {
                    assert!(reason.contains("nested more than"), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
