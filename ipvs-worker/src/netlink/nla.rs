//! Netlink messages and their attributes (TLVs), without I/O.
//!
//! [`MsgWriter`] builds one message: the 16-byte `nlmsghdr`, the 4-byte
//! generic netlink header, then attributes (nested ones through
//! [`MsgWriter::nest_start`]/[`MsgWriter::nest_end`]), each padded to 4
//! bytes as the kernel (and libnl) align them. [`Messages`] splits a
//! received buffer into messages and [`Attrs`] walks a run of attributes;
//! both check every length against the bytes present and report malformed
//! input as [`NlError`], never by panicking.

use std::fmt;

/// `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;

/// Flag bits of `nla_type` (the type is the low 14 bits).
pub const NLA_F_NESTED: u16 = 0x8000;
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Round up to the 4-byte netlink alignment.
pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A malformed message or attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NlError {
    /// A header or payload runs past the end of the buffer.
    Truncated { what: &'static str },
    /// A length field smaller than its own header.
    BadLength { what: &'static str, len: usize },
    /// An attribute whose payload has the wrong size for its type.
    BadAttr { what: &'static str, len: usize },
    /// A required attribute is missing.
    Missing { what: &'static str },
    /// A value outside what the type allows.
    BadValue { what: &'static str, value: u64 },
    /// The message is too large for a 32-bit length or an attribute for 16
    /// bits.
    TooLarge,
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NlError::Truncated { what } => write!(f, "truncated {what}"),
            NlError::BadLength { what, len } => write!(f, "bad {what} length {len}"),
            NlError::BadAttr { what, len } => write!(f, "attribute {what} has length {len}"),
            NlError::Missing { what } => write!(f, "missing attribute {what}"),
            NlError::BadValue { what, value } => write!(f, "bad {what} value {value}"),
            NlError::TooLarge => f.write_str("message too large"),
        }
    }
}

impl std::error::Error for NlError {}

/// Builds one netlink message with a generic netlink header.
#[derive(Debug, Clone)]
pub struct MsgWriter {
    buf: Vec<u8>,
    /// Offsets of open nests.
    nests: Vec<usize>,
}

impl MsgWriter {
    /// Start a message: `nlmsghdr { len, ty, flags, seq, pid: 0 }` and
    /// `genlmsghdr { cmd, version, reserved: 0 }`.
    pub fn new(ty: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&[cmd, version, 0, 0]);
        MsgWriter {
            buf,
            nests: Vec::new(),
        }
    }

    /// An attribute with a raw payload, padded to 4 bytes with zeros.
    pub fn put(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (NLA_HDRLEN + data.len()).min(u16::MAX as usize) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    pub fn put_u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.put(ty, &[v])
    }

    pub fn put_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }

    /// A 16-bit value in network byte order (ports).
    pub fn put_be16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put(ty, &v.to_be_bytes())
    }

    pub fn put_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string (libnl's `NLA_PUT_STRING`).
    pub fn put_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put(ty, &v)
    }

    /// Open a nested attribute; close it with [`MsgWriter::nest_end`].
    pub fn nest_start(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self
    }

    pub fn nest_end(&mut self) -> &mut Self {
        if let Some(at) = self.nests.pop() {
            let len = (self.buf.len() - at).min(u16::MAX as usize) as u16;
            self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn pad(&mut self) {
        let n = align4(self.buf.len()) - self.buf.len();
        self.buf.extend(std::iter::repeat_n(0u8, n));
    }

    /// Close any open nest, fill in the length and return the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        while !self.nests.is_empty() {
            self.nest_end();
        }
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// One message of a received buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    /// Everything after the `nlmsghdr`.
    pub payload: &'a [u8],
}

/// The messages of a received buffer, in order. Stops after the first
/// error.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Messages<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Messages {
            rest: buf,
            failed: false,
        }
    }
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, NlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        let fail = |s: &mut Self, e| {
            s.failed = true;
            Some(Err(e))
        };
        let (Some(len), Some(ty), Some(flags), Some(seq), Some(pid)) = (
            ne_u32(b, 0),
            ne_u16(b, 4),
            ne_u16(b, 6),
            ne_u32(b, 8),
            ne_u32(b, 12),
        ) else {
            return fail(self, NlError::Truncated { what: "nlmsghdr" });
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN {
            return fail(
                self,
                NlError::BadLength {
                    what: "nlmsghdr",
                    len,
                },
            );
        }
        let Some(payload) = b.get(NLMSG_HDRLEN..len) else {
            return fail(self, NlError::Truncated { what: "message" });
        };
        self.rest = b.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(Message {
            ty,
            flags,
            seq,
            pid,
            payload,
        }))
    }
}

/// One attribute: its type (flag bits removed), whether it is marked
/// nested, and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub ty: u16,
    pub nested: bool,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The attributes nested in this one.
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }

    fn exact<const N: usize>(&self, what: &'static str) -> Result<[u8; N], NlError> {
        self.payload.try_into().map_err(|_| NlError::BadAttr {
            what,
            len: self.payload.len(),
        })
    }

    pub fn u8(&self, what: &'static str) -> Result<u8, NlError> {
        Ok(self.exact::<1>(what)?[0])
    }

    pub fn u16(&self, what: &'static str) -> Result<u16, NlError> {
        Ok(u16::from_ne_bytes(self.exact(what)?))
    }

    pub fn be16(&self, what: &'static str) -> Result<u16, NlError> {
        Ok(u16::from_be_bytes(self.exact(what)?))
    }

    pub fn u32(&self, what: &'static str) -> Result<u32, NlError> {
        Ok(u32::from_ne_bytes(self.exact(what)?))
    }

    pub fn u64(&self, what: &'static str) -> Result<u64, NlError> {
        Ok(u64::from_ne_bytes(self.exact(what)?))
    }

    /// A string: up to the first NUL, lossily decoded.
    pub fn string(&self) -> String {
        let end = self
            .payload
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.payload.len());
        String::from_utf8_lossy(&self.payload[..end]).into_owned()
    }
}

/// The attributes of a payload, in order. Stops after the first error.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Attrs<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs {
            rest: buf,
            failed: false,
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, NlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.len() < NLA_HDRLEN {
            // Fewer than 4 trailing bytes are padding, as the kernel's
            // nla_for_each_attr treats them.
            return None;
        }
        let b = self.rest;
        let (Some(len), Some(ty)) = (ne_u16(b, 0), ne_u16(b, 2)) else {
            self.failed = true;
            return Some(Err(NlError::Truncated { what: "nlattr" }));
        };
        let len = len as usize;
        if len < NLA_HDRLEN {
            self.failed = true;
            return Some(Err(NlError::BadLength {
                what: "nlattr",
                len,
            }));
        }
        let Some(payload) = b.get(NLA_HDRLEN..len) else {
            self.failed = true;
            return Some(Err(NlError::Truncated { what: "attribute" }));
        };
        self.rest = b.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(Attr {
            ty: ty & NLA_TYPE_MASK,
            nested: ty & NLA_F_NESTED != 0,
            payload,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_pads_and_nests() {
        let mut w = MsgWriter::new(0x20, NLM_F_REQUEST | NLM_F_ACK, 7, 1, 1);
        w.nest_start(1);
        w.put_u16(1, 2).put_str(6, "rr").put_u8(13, 9);
        w.nest_end();
        let m = w.finish();
        // 16 + 4 + nest(4 + 8 + 8 + 8) = 48
        assert_eq!(m.len(), 48);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 48);
        assert_eq!(&m[16..20], &[1, 1, 0, 0]);
        // nest header: len 28, type 1
        assert_eq!(&m[20..24], &[28, 0, 1, 0]);
        // u16 attr: len 6, padded to 8
        assert_eq!(&m[24..32], &[6, 0, 1, 0, 2, 0, 0, 0]);
        // "rr\0": len 7, padded to 8
        assert_eq!(&m[32..40], &[7, 0, 6, 0, b'r', b'r', 0, 0]);
        assert_eq!(&m[40..48], &[5, 0, 13, 0, 9, 0, 0, 0]);

        let msgs: Vec<_> = Messages::new(&m).collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty, 0x20);
        assert_eq!(msgs[0].seq, 7);
        let outer: Vec<_> = Attrs::new(&msgs[0].payload[GENL_HDRLEN..])
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(outer.len(), 1);
        let inner: Vec<_> = outer[0].attrs().collect::<Result<_, _>>().unwrap();
        assert_eq!(inner.len(), 3);
        assert_eq!(inner[0].u16("af"), Ok(2));
        assert_eq!(inner[1].string(), "rr");
        assert_eq!(inner[2].u8("x"), Ok(9));
        assert!(inner[2].u32("x").is_err());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        // Length shorter than the header.
        let mut bad = vec![0u8; 16];
        bad[0] = 8;
        assert!(matches!(
            Messages::new(&bad).next(),
            Some(Err(NlError::BadLength { .. }))
        ));
        // Length past the end.
        bad[0] = 200;
        assert!(matches!(
            Messages::new(&bad).next(),
            Some(Err(NlError::Truncated { .. }))
        ));
        // A short header.
        assert!(matches!(
            Messages::new(&[1, 2, 3]).next(),
            Some(Err(NlError::Truncated { .. }))
        ));
        // Attributes: length 2, then length past the end.
        assert!(matches!(
            Attrs::new(&[2, 0, 1, 0]).next(),
            Some(Err(NlError::BadLength { .. }))
        ));
        let mut it = Attrs::new(&[9, 0, 1, 0, 0, 0]);
        assert!(matches!(it.next(), Some(Err(NlError::Truncated { .. }))));
        assert!(it.next().is_none(), "stops after an error");
        // Trailing padding is ignored.
        assert_eq!(Attrs::new(&[0, 0]).count(), 0);
    }

    #[test]
    fn the_last_message_may_omit_its_padding() {
        let mut w = MsgWriter::new(3, 0, 1, 0, 0);
        w.put_u8(1, 1);
        let mut m = w.finish();
        // Declare 25 bytes (no padding) and cut the buffer there.
        m[0] = 25;
        m.truncate(25);
        let v: Vec<_> = Messages::new(&m).collect();
        assert_eq!(v.len(), 1);
        assert!(v[0].is_ok());
    }
}
