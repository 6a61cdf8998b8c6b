//! The IPVS worker's netlink codec, without I/O: generic netlink framing
//! and attributes ([`nla`]), family resolution and reply classification
//! ([`genl`]), and the IPVS family's requests and answers ([`ipvs`]).
//!
//! Requests are encoded byte for byte as ipvsadm 1.31 sends them (checked
//! against strace captures of ipvsadm in `testdata/ipvsadm.strace`);
//! decoding the kernel's answers returns errors for malformed input and
//! never panics (fuzzed by `fuzz/` target `reply_decode`).

pub mod genl;
pub mod ipvs;
pub mod nla;

pub use genl::{Family, Reply};
pub use ipvs::{Af, Daemon, Dest, DestEntry, Info, Request, Service, ServiceKey, Timeouts};
pub use nla::NlError;

/// Decode every message of a received buffer the way the worker does:
/// classify each, and decode IPVS data messages by command. Used by the
/// fuzz target; returns how many messages decoded cleanly.
pub fn decode_all(buf: &[u8], ipvs_family: u16) -> usize {
    let mut ok = 0;
    for m in nla::Messages::new(buf) {
        let Ok(m) = m else { break };
        let Ok(r) = genl::classify(&m) else { continue };
        let Reply::Data { cmd, attrs } = r else {
            ok += 1;
            continue;
        };
        let good = if m.ty == genl::GENL_ID_CTRL {
            genl::parse_family(attrs).is_ok()
        } else if m.ty == ipvs_family {
            match cmd {
                ipvs::IPVS_CMD_NEW_SERVICE => ipvs::decode_service(attrs).is_ok(),
                ipvs::IPVS_CMD_NEW_DEST => ipvs::decode_dest(attrs, Af::Inet).is_ok(),
                ipvs::IPVS_CMD_NEW_DAEMON => ipvs::decode_daemon(attrs).is_ok(),
                ipvs::IPVS_CMD_SET_CONFIG => ipvs::decode_timeouts(attrs).is_ok(),
                ipvs::IPVS_CMD_SET_INFO => ipvs::decode_info(attrs).is_ok(),
                _ => false,
            }
        } else {
            false
        };
        ok += usize::from(good);
    }
    ok
}

#[cfg(test)]
mod capture_tests;
