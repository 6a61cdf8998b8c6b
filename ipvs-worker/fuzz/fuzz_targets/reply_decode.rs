//! Whatever the kernel (or anything on the socket) sends, decoding never
//! panics: split into messages, classify, decode every IPVS answer kind,
//! walk every attribute of every nest.
#![no_main]

use ipvs_worker::netlink::nla::{Attrs, Messages};
use ipvs_worker::netlink::{Af, Reply, genl, ipvs};
use libfuzzer_sys::fuzz_target;

fn walk(buf: &[u8], depth: u32) {
    if depth > 4 {
        return;
    }
    for a in Attrs::new(buf).flatten() {
        let _ = a.u8("x");
        let _ = a.u16("x");
        let _ = a.be16("x");
        let _ = a.u32("x");
        let _ = a.u64("x");
        let _ = a.string();
        walk(a.payload, depth + 1);
    }
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the IPVS family id, as the controller
    // would have said.
    let (fam, buf) = match data {
        [a, b, rest @ ..] => (u16::from_ne_bytes([*a, *b]), rest),
        _ => return,
    };
    let _ = ipvs_worker::netlink::decode_all(buf, fam);
    for m in Messages::new(buf).flatten() {
        if let Ok(Reply::Data { attrs, .. }) = genl::classify(&m) {
            let _ = genl::parse_family(attrs);
            let _ = ipvs::decode_service(attrs);
            let _ = ipvs::decode_service_attrs(attrs);
            let _ = ipvs::decode_dest(attrs, Af::Inet);
            let _ = ipvs::decode_dest(attrs, Af::Inet6);
            let _ = ipvs::decode_info(attrs);
            let _ = ipvs::decode_timeouts(attrs);
            let _ = ipvs::decode_daemon(attrs);
            walk(attrs, 0);
        }
    }
});
