//! Helpers for the end-to-end tests in `tests/tests/`: locating the built
//! `keepalived-rs` binary and Debian's `keepalived`, temporary folders,
//! network namespaces, a LAN of them for VRRP tests, a daemon under test,
//! helper servers in a namespace, side-by-side runs with Debian's
//! keepalived ([`side`]), running commands with a time limit, and deciding
//! whether a privileged test may skip.
//!
//! Everything here is plain `std` plus the `ip`, `unshare` and `hostname`
//! commands, so that any e2e test can use it.

pub mod binaries;
pub mod daemon;
pub mod lan;
pub mod netns;
pub mod oracle;
pub mod privilege;
pub mod process;
pub mod servers;
pub mod side;
pub mod tempdir;

pub use binaries::{keepalived_rs_binary, keepalived_system_binary, workspace_root};
pub use daemon::Daemon;
pub use netns::NetNs;
pub use privilege::{Requirement, require};
pub use process::{RunOutput, run_with_timeout};
pub use tempdir::TempDir;
