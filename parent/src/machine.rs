//! Checks of the configuration against this machine, as keepalived makes
//! them at start-up and under `-t`: do the interfaces exist, is `lo` used
//! for VRRP, are script files safe to run. (Being written; waits for the
//! model's VRRP and script listings.)

use config::Diagnostic;
use config::model::Config;
use std::path::Path;

/// Does a network interface of this name exist in our network namespace?
pub fn interface_exists(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && name != "."
        && name != ".."
        && Path::new("/sys/class/net").join(name).exists()
}

pub fn check(cfg: &Config) -> Vec<Diagnostic> {
    let _ = cfg;
    Vec::new()
}
