//! Whatever a real server answers, the HTTP_GET/SSL_GET response parser
//! never panics and never grows without bound: the input is fed in the
//! chunks the first byte chooses (as reads from a socket would split it),
//! then judged against a url with a digest and one without.
#![no_main]

use check_worker::proto::HttpResponse;
use config::model::lvs::{CheckerKind, Url};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Two urls of a real HTTP_GET, built by the configuration parser (so the
/// target follows the model as it changes): status 200-299 with a digest,
/// and status 200,404 without.
fn urls() -> &'static [Url] {
    static URLS: OnceLock<Vec<Url>> = OnceLock::new();
    URLS.get_or_init(|| {
        let conf = r#"
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /
                digest 9b3a0c85a887a256d6939da88aabd8cd
            }
            url {
                path /x
                status_code 200 404
            }
        }
    }
}
"#;
        let loaded = config::load_str(
            std::path::Path::new("fuzz.conf"),
            conf,
            &Default::default(),
        );
        loaded
            .config
            .lvs
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| &rs.checkers)
            .filter_map(|c| match &c.kind {
                CheckerKind::Http(h) => Some(h.urls.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    for url in urls() {
        let mut r = HttpResponse::new();
        let mut ok = true;
        for part in data.chunks(chunk) {
            if r.feed(part).is_err() {
                ok = false;
                break;
            }
            let _ = r.complete();
        }
        let _ = r.digest_hex();
        if ok {
            let _ = r.verdict(url);
        }
    }
});
