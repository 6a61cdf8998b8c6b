//! The keepalived-rs parent process (being written).

use std::ffi::OsString;

pub fn run(args: Vec<OsString>) -> i32 {
    let _ = args;
    0
}
