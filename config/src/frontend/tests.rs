//! Front-end tests: exact nodes, arguments and locations.

use super::*;
use crate::diag::Severity;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

fn parse(text: &str) -> (Vec<Node>, Diagnostics) {
    let mut d = Diagnostics::new();
    let t = parse_str(
        Path::new("/nonexistent/k.conf"),
        text,
        &LoadOptions::default(),
        &mut d,
    );
    (t, d)
}

/// Compact rendering: `kw arg arg {child; child} ` with line numbers.
fn show(nodes: &[Node]) -> String {
    let mut s = String::new();
    for n in nodes {
        s.push_str(&format!("{}:{}", n.loc.line, n.keyword));
        for a in &n.args {
            s.push_str(&format!(" [{a}]"));
        }
        if let Some(b) = &n.block {
            s.push_str(" {");
            s.push_str(&show(b));
            s.push('}');
        }
        s.push(';');
    }
    s
}

fn msgs(d: &Diagnostics) -> Vec<String> {
    d.items()
        .iter()
        .map(|x| match &x.loc {
            Some(l) => format!("{}:{}", l.line, x.message),
            None => x.message.clone(),
        })
        .collect()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty directory under the system temp dir.
pub(super) fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("kars-frontend-{}-{}-{tag}", std::process::id(), n));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn nested_blocks_and_lines() {
    let (t, d) = parse(
        "global_defs {\n  router_id R1\n}\nvrrp_instance VI_1 {\n  state MASTER\n  virtual_ipaddress {\n    10.0.0.1/24 dev eth0\n  }\n}\n",
    );
    assert!(d.is_empty(), "{:?}", msgs(&d));
    assert_eq!(
        show(&t),
        "1:global_defs {2:router_id [R1];};4:vrrp_instance [VI_1] {5:state [MASTER];6:virtual_ipaddress {7:10.0.0.1/24 [dev] [eth0];};};"
    );
}

#[test]
fn brace_on_next_line() {
    let (t, d) = parse("vrrp_instance VI_1\n{\n state BACKUP\n}\n");
    assert!(d.is_empty(), "{:?}", msgs(&d));
    assert_eq!(show(&t), "1:vrrp_instance [VI_1] {3:state [BACKUP];};");
}

#[test]
fn one_line_block() {
    let (t, d) = parse("authentication { auth_type PASS }\nx\n");
    assert!(d.is_empty(), "{:?}", msgs(&d));
    assert_eq!(show(&t), "1:authentication {1:auth_type [PASS];};2:x;");
}

#[test]
fn comments_and_quotes() {
    let (t, d) = parse("# c\n! c\nnotify \"/a b\" 'c d' # tail\n");
    assert!(d.is_empty(), "{:?}", msgs(&d));
    assert_eq!(show(&t), "3:notify [/a b] [c d];");
}

#[test]
fn stray_and_missing_braces() {
    let (t, d) = parse("}\na {\n b\n");
    assert_eq!(show(&t), "2:a {3:b;};");
    assert_eq!(
        msgs(&d),
        vec![
            "1:Extra '}' found".to_string(),
            "1:Unknown keyword '}'".to_string(),
            "There are 1 missing '}'s or extra '{'s".to_string()
        ]
    );
    assert!(d.items().iter().all(|x| x.severity == Severity::Warning));
}

#[test]
fn include_follows_files_with_locations() {
    let dir = temp_dir("inc");
    std::fs::write(dir.join("main.conf"), "a {\ninclude sub/*.conf\n}\nz\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/2.conf"), "two\n").unwrap();
    std::fs::write(dir.join("sub/1.conf"), "\none\n").unwrap();
    let mut d = Diagnostics::new();
    let t = parse_file(&dir.join("main.conf"), &LoadOptions::default(), &mut d);
    assert!(d.is_empty(), "{:?}", msgs(&d));
    assert_eq!(show(&t), "1:a {2:one;1:two;};4:z;");
    let kids = t[0].children();
    assert_eq!(*kids[0].loc.file, dir.join("sub/1.conf"));
    assert_eq!(*kids[1].loc.file, dir.join("sub/2.conf"));
    assert_eq!(*t[1].loc.file, dir.join("main.conf"));
}

#[test]
fn include_cycle_is_reported() {
    let dir = temp_dir("cycle");
    std::fs::write(dir.join("a.conf"), "x\ninclude b.conf\n").unwrap();
    std::fs::write(dir.join("b.conf"), "y\ninclude a.conf\n").unwrap();
    let mut d = Diagnostics::new();
    let t = parse_file(&dir.join("a.conf"), &LoadOptions::default(), &mut d);
    assert_eq!(show(&t), "1:x;1:y;");
    assert_eq!(d.items().len(), 1, "{:?}", msgs(&d));
    assert_eq!(*d.items()[0].loc.as_ref().unwrap().file, dir.join("b.conf"));
}
