//! Messages between the keepalived-rs parent and its workers, and their
//! framing on the socketpair that links each pair.
//!
//! Every frame is length-prefixed, carries a protocol version and is capped
//! in size; decoding an untrusted frame returns an error and never panics.
//! (Being written.)
