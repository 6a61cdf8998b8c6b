//! Helpers for the end-to-end tests in `tests/tests/`: locating the built
//! `keepalived-rs` binary and Debian's `keepalived`, temporary folders,
//! network namespaces.
