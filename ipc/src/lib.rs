//! Messages between the keepalived-rs parent and its workers, and their
//! framing on the socketpair that links each pair.
//!
//! - [`frame`]: the wire format. A 5-byte header (protocol version byte,
//!   u32 little-endian payload length) and a bincode 2 payload, capped at
//!   [`frame::MAX_PAYLOAD`] (16 MiB). Decoding untrusted bytes returns a
//!   [`FrameError`] and never panics.
//! - [`stream`]: [`FrameReader`] and [`FrameWriter`] for non-blocking
//!   streams driven by mio, and blocking [`send`]/[`recv`].
//! - [`keys`]: how everyone names virtual and real servers.
//! - [`link`]: the worker's end: handshake, heartbeats, logging through
//!   the parent, and the [`link::Worker`] loop every worker runs.
//! - [`msg`]: [`ToWorker`] and [`FromWorker`], the messages themselves.
//!
//! The cargo feature `test-messages` (off by default) adds
//! `ToWorker::TestProbe` and `FromWorker::TestProbeReply` for sandbox tests.

pub mod frame;
mod guard;
pub mod keys;
pub mod link;
pub mod msg;
#[cfg(feature = "test-messages")]
pub mod probe;
pub mod stream;

pub use frame::{FrameError, MAX_FRAME, MAX_PAYLOAD, PROTOCOL_VERSION};
pub use msg::*;
pub use stream::{Flush, FrameReader, FrameWriter, Recv, StreamError, recv, send};
