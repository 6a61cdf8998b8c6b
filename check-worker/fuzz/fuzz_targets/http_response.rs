//! Whatever a real server answers, the HTTP_GET/SSL_GET response parser
//! never panics and never grows without bound: the input is fed in the
//! chunks the first byte chooses (as reads from a socket would split it),
//! then judged against a url with a digest, one without, and one with a
//! `regex` (scanned as the response streams in).
#![no_main]

use check_worker::proto::{HttpResponse, UrlMatcher};
use config::model::lvs::{CheckerKind, Url};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

/// Three urls of a real HTTP_GET, built by the configuration parser (so
/// the target follows the model as it changes): status 200-299 with a
/// digest, status 200,404 without, and a regex with offsets; each with its
/// compiled matcher when it has a regex.
fn urls() -> &'static [(Url, Option<Arc<UrlMatcher>>)] {
    static URLS: OnceLock<Vec<(Url, Option<Arc<UrlMatcher>>)>> = OnceLock::new();
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
            url {
                path /r
                regex "^(OK|ready)[0-9]+$"
                regex_options multiline
                regex_min_offset 2
                regex_max_offset 3000
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
            .map(|u| {
                let m = u
                    .regex
                    .as_ref()
                    .and_then(|r| UrlMatcher::compile(r).ok())
                    .map(Arc::new);
                (u, m)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    for (url, matcher) in urls() {
        let mut r = match matcher {
            Some(m) => HttpResponse::with_regex(m.clone()),
            None => HttpResponse::new(),
        };
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
