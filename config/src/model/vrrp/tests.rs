//! Tests: real configuration text through `crate::load_str`.

use crate::diag::{Diagnostic, Severity};
use crate::model::global::VrrpVersion;
use crate::model::vrrp::*;
use crate::{LoadOptions, Loaded, load_str};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

fn load(text: &str) -> Loaded {
    load_str(
        Path::new("/etc/keepalived/t.conf"),
        text,
        &LoadOptions::default(),
    )
}

fn msgs(l: &Loaded) -> Vec<(Severity, Option<u32>, String)> {
    l.diagnostics
        .iter()
        .map(|d: &Diagnostic| {
            (
                d.severity,
                d.loc.as_ref().map(|l| l.line),
                d.message.clone(),
            )
        })
        .collect()
}

fn w(line: Option<u32>, m: &str) -> (Severity, Option<u32>, String) {
    (Severity::Warning, line, m.to_string())
}

fn e(line: Option<u32>, m: &str) -> (Severity, Option<u32>, String) {
    (Severity::Error, line, m.to_string())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Dev aid: `KH_CONF=file cargo test -p config dump_file -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump_file() {
    let p = std::env::var("KH_CONF").unwrap();
    let l = crate::load(Path::new(&p), &LoadOptions::default());
    for d in &l.diagnostics {
        println!("{d}");
    }
    println!("{}", serde_json::to_string_pretty(&l.config.vrrp).unwrap());
}
