//! Exit codes, keepalived's (lib/utils.h KEEPALIVED_EXIT_*).

pub const OK: i32 = 0;
/// A bad command line (getopt's failure; keepalived exits 1 there too).
pub const USAGE: i32 = 1;
pub const PROGRAM_ERROR: i32 = 2;
pub const FATAL: i32 = 3;
/// The daemon refuses a configuration with errors.
pub const CONFIG: i32 = 4;
/// `-t`: any configuration problem.
pub const CONFIG_TEST: i32 = 5;
/// `-t`: script-security problems only.
pub const CONFIG_TEST_SECURITY: i32 = 6;
