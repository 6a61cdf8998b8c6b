//! docs/keywords.md, the keyword reference, is generated from what this
//! crate does, so it cannot drift: every identifier-like string literal in
//! the crate's sources is a candidate, and each is put, one per line, in
//! each section of a configuration and loaded. A candidate is a keyword of
//! that section unless the loader answers "Unknown keyword" for its line;
//! it is listed as ignored when the loader says it is not supported by
//! keepalived-rs (as a notice, or as a warning when it would change
//! behaviour), else as supported.
//!
//! The test fails when docs/keywords.md differs from what it generates;
//! `UPDATE_DOCS=1 cargo test -p config --test keywords_doc` rewrites it.

use config::{LoadOptions, Severity, load_str};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (section title, text before the candidate lines, text after).
const SECTIONS: &[(&str, &str, &str)] = &[
    ("top level", "", ""),
    ("global_defs", "global_defs {\n", "}\n"),
    ("vrrp_script", "vrrp_script S {\n", "}\n"),
    ("vrrp_track_file / track_file", "track_file F {\n", "}\n"),
    ("vrrp_track_process", "vrrp_track_process P {\n", "}\n"),
    ("vrrp_sync_group", "vrrp_sync_group G {\n", "}\n"),
    ("vrrp_instance", "vrrp_instance VI_1 {\n", "}\n"),
    (
        "vrrp_instance: authentication",
        "vrrp_instance VI_1 {\nauthentication {\n",
        "}\n}\n",
    ),
    ("virtual_server", "virtual_server 192.0.2.1 80 {\n", "}\n"),
    (
        "real_server",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\n",
        "}\n}\n",
    ),
    (
        "TCP_CHECK",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nTCP_CHECK {\n",
        "}\n}\n}\n",
    ),
    (
        "HTTP_GET / SSL_GET",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nHTTP_GET {\n",
        "}\n}\n}\n",
    ),
    (
        "HTTP_GET / SSL_GET: url",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nHTTP_GET {\nurl {\n",
        "}\n}\n}\n}\n",
    ),
    (
        "SMTP_CHECK",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nSMTP_CHECK {\n",
        "}\n}\n}\n",
    ),
    (
        "MISC_CHECK",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nMISC_CHECK {\n",
        "}\n}\n}\n",
    ),
    (
        "DNS_CHECK",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nDNS_CHECK {\n",
        "}\n}\n}\n",
    ),
    (
        "UDP_CHECK",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nUDP_CHECK {\n",
        "}\n}\n}\n",
    ),
    (
        "PING_CHECK",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nPING_CHECK {\n",
        "}\n}\n}\n",
    ),
    (
        "FILE_CHECK",
        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nFILE_CHECK {\n",
        "}\n}\n}\n",
    ),
    ("SSL", "SSL {\n", "}\n"),
];

/// Language words handled by the reader, not keywords of a section.
const LANGUAGE: &[&str] = &["include"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every `"identifier"` literal in the crate's sources.
fn candidates() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut set = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        for (i, part) in text.split('"').enumerate() {
            let ident = !part.is_empty()
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if i % 2 == 1 && ident && !LANGUAGE.contains(&part) {
                set.insert(part.to_string());
            }
        }
    }
    set
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Supported,
    IgnoredNotice,
    IgnoredWarning,
}

/// The keywords of one section, with their status: each candidate is
/// loaded alone in the section (keepalived's reader re-levels blocks, so
/// one line can change how the next ones are read).
fn probe(before: &str, after: &str, cands: &BTreeSet<String>) -> BTreeMap<String, Status> {
    let line = before.lines().count() as u32 + 1;
    let mut out = BTreeMap::new();
    for w in cands {
        let text = format!("{before}{w}\n{after}");
        let loaded = load_str(
            Path::new("/etc/keepalived/keywords.conf"),
            &text,
            &LoadOptions::default(),
        );
        let mut status = Some(Status::Supported);
        for d in &loaded.diagnostics {
            if d.loc.as_ref().is_none_or(|l| l.line != line) {
                continue;
            }
            if d.message.starts_with("Unknown keyword") {
                status = None;
                break;
            }
            if d.message
                .contains("is not supported by keepalived-rs and is ignored")
            {
                status = Some(if d.severity == Severity::Notice {
                    Status::IgnoredNotice
                } else {
                    Status::IgnoredWarning
                });
            }
        }
        if let Some(s) = status {
            out.insert(w.clone(), s);
        }
    }
    out
}

fn generate() -> String {
    let cands = candidates();
    let mut s = String::from(
        "# keepalived.conf keywords in keepalived-rs\n\n\
         Generated by `config/tests/keywords_doc.rs` from what the configuration\n\
         crate accepts (do not edit; `UPDATE_DOCS=1 cargo test -p config --test\n\
         keywords_doc` regenerates it). Per section, every keyword keepalived-rs\n\
         knows:\n\n\
         - **supported**: parsed, validated as keepalived 2.2.7 does, and acted on;\n\
         - **ignored (notice)**: accepted and ignored with a notice, as it changes\n  \
         nothing on the wire (SNMP, DBus, process tuning, ...); `-t` still agrees\n  \
         with keepalived;\n\
         - **ignored (warning)**: accepted and ignored with a warning, as it would\n  \
         change behaviour (`-t` exits 5).\n\n\
         Any other keyword gets keepalived's `Unknown keyword` warning.\n\
         keepalived-rs's own keyword is `metrics_listen` (global_defs).\n",
    );
    let mut total = BTreeSet::new();
    for (title, before, after) in SECTIONS {
        let found = probe(before, after, &cands);
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!("\n## {title}\n\n| keyword | status |\n| --- | --- |\n"),
        );
        for (k, st) in &found {
            total.insert(k.clone());
            let st = match st {
                Status::Supported => "supported",
                Status::IgnoredNotice => "ignored (notice)",
                Status::IgnoredWarning => "ignored (warning)",
            };
            let _ = std::fmt::Write::write_fmt(&mut s, format_args!("| `{k}` | {st} |\n"));
        }
    }
    let _ = std::fmt::Write::write_fmt(
        &mut s,
        format_args!(
            "\n{} distinct keywords in {} sections.\n",
            total.len(),
            SECTIONS.len()
        ),
    );
    s
}

#[test]
fn keywords_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/keywords.md");
    let want = generate();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/keywords.md");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/keywords.md is out of date: run UPDATE_DOCS=1 cargo test -p config --test keywords_doc"
    );
}

#[test]
fn probing_finds_known_keywords() {
    let cands = candidates();
    let g = probe("global_defs {\n", "}\n", &cands);
    assert_eq!(g.get("router_id"), Some(&Status::Supported));
    assert_eq!(g.get("metrics_listen"), Some(&Status::Supported));
    assert!(!g.contains_key("lb_algo"), "a virtual_server keyword");
    let v = probe("vrrp_instance VI_1 {\n", "}\n", &cands);
    assert_eq!(v.get("virtual_router_id"), Some(&Status::Supported));
    assert!(!v.contains_key("router_id"));
}
