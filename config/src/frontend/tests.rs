//! Front-end tests: exact nodes, arguments, locations and messages. The
//! expected behaviour was checked against keepalived 2.2.7 (`keepalived -t`).

use super::*;
use crate::diag::Severity;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

fn opts(id: Option<&str>) -> LoadOptions {
    LoadOptions {
        config_id: id.map(str::to_string),
        ..LoadOptions::default()
    }
}

fn parse_with(text: &str, o: &LoadOptions) -> (Vec<Node>, Diagnostics) {
    let mut d = Diagnostics::new();
    let t = parse_str(Path::new("/nonexistent/k.conf"), text, o, &mut d);
    (t, d)
}

fn parse(text: &str) -> (Vec<Node>, Diagnostics) {
    parse_with(text, &opts(Some("lb1")))
}

/// Compact rendering: `LINE:kw [arg] [arg] {child;child};`.
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

/// Keywords only, in order, flattened.
fn keywords(nodes: &[Node]) -> Vec<String> {
    let mut v = Vec::new();
    for n in nodes {
        v.push(n.keyword.clone());
        v.extend(keywords(n.children()));
    }
    v
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

fn clean(text: &str) -> Vec<Node> {
    let (t, d) = parse(text);
    assert!(d.is_empty(), "unexpected diagnostics: {:?}", msgs(&d));
    t
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("kars-frontend-{}-{}-{tag}", std::process::id(), n));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn load(path: &Path, o: &LoadOptions) -> (Vec<Node>, Diagnostics) {
    let mut d = Diagnostics::new();
    let t = parse_file(path, o, &mut d);
    (t, d)
}

// ------------------------------------------------------------ blocks

#[test]
fn nested_blocks_and_lines() {
    let t = clean(
        "global_defs {\n  router_id R1\n}\nvrrp_instance VI_1 {\n  state MASTER\n  virtual_ipaddress {\n    10.0.0.1/24 dev eth0\n  }\n}\n",
    );
    assert_eq!(
        show(&t),
        "1:global_defs {2:router_id [R1];};4:vrrp_instance [VI_1] {5:state [MASTER];6:virtual_ipaddress {7:10.0.0.1/24 [dev] [eth0];};};"
    );
    assert_eq!(*t[1].loc.file, PathBuf::from("/nonexistent/k.conf"));
}

#[test]
fn brace_on_next_line() {
    let t = clean("vrrp_instance VI_1\n{\n state BACKUP\n}\n");
    assert_eq!(show(&t), "1:vrrp_instance [VI_1] {3:state [BACKUP];};");
}

#[test]
fn blocks_on_one_line() {
    let t = clean("authentication { auth_type PASS }\nx\n");
    assert_eq!(show(&t), "1:authentication {1:auth_type [PASS];};2:x;");
    let t = clean("a { b { c 1 } d } e\n");
    assert_eq!(show(&t), "1:a {1:b {1:c [1];};1:d;};1:e;");
    let t = clean("vrrp_instance V { state BACKUP\n  priority 1 }\n");
    assert_eq!(
        show(&t),
        "1:vrrp_instance [V] {1:state [BACKUP];2:priority [1];};"
    );
    // Words on one line are one statement, as in keepalived.
    let t = clean("virtual_ipaddress { 10.0.0.1 10.0.0.2 }\n");
    assert_eq!(show(&t), "1:virtual_ipaddress {1:10.0.0.1 [10.0.0.2];};");
    // An empty block.
    let t = clean("a {}\nb\n{\n}\n");
    assert_eq!(show(&t), "1:a {};2:b {};");
}

#[test]
fn braces_inside_double_quotes_are_text() {
    let t = clean("x \"a { b }\" c\n");
    assert_eq!(show(&t), "1:x [a { b }] [c];");
    // Single quotes do not protect braces (keepalived splits there).
    let (t, _) = parse("x 'a}b'\n");
    assert_eq!(show(&t), "1:x ['a];1:};1:b';");
}

#[test]
fn extra_close_brace() {
    // The surplus `}` stays in the tree: whether it closes something
    // depends on how keepalived reads the keywords (the model reports it
    // as an unknown keyword at the top level).
    let (t, d) = parse("a {\n}\n}\nb\n");
    assert_eq!(show(&t), "1:a {};3:};4:b;");
    assert_eq!(msgs(&d), vec!["3:Extra '}' found"]);
    assert!(d.items().iter().all(|x| x.severity == Severity::Warning));
}

#[test]
fn missing_close_brace() {
    let (t, d) = parse("a {\n b {\n c\n");
    assert_eq!(show(&t), "1:a {2:b {3:c;};};");
    assert_eq!(msgs(&d), vec!["There are 2 missing '}'s or extra '{'s"]);
    assert!(d.items()[0].loc.is_none());
}

#[test]
fn open_brace_after_a_statement_opens_its_block() {
    // Whether keepalived takes it as the block of `x` depends on `x` (the
    // model decides); the tree records the braces where they are.
    let (t, d) = parse("a {\n x\n {\n y\n }\n z\n}\n");
    assert_eq!(show(&t), "1:a {2:x {4:y;};6:z;};");
    assert_eq!(
        t[0].children()[0].open_loc.as_ref().map(|l| l.line),
        Some(3)
    );
    assert_eq!(t[0].children()[0].end_loc.as_ref().map(|l| l.line), Some(5));
    assert_eq!(t[0].end_loc.as_ref().map(|l| l.line), Some(7));
    assert!(d.is_empty(), "{:?}", msgs(&d));
}

#[test]
fn stray_braces_stay_in_the_tree() {
    // A `{` after no statement and a `}` at the top level are kept as
    // statements of their own (the model reports them where keepalived
    // does).
    let (t, d) = parse("a {\n}\n{\nb\n}\n");
    assert_eq!(show(&t), "1:a {};3:{;4:b;5:};");
    assert!(d.is_empty(), "{:?}", msgs(&d));
    // A block still open at the end has no closing brace.
    let (t, _) = parse("a {\n b\n");
    assert_eq!(t[0].open_loc.as_ref().map(|l| l.line), Some(1));
    assert_eq!(t[0].end_loc, None);
}

// ------------------------------------------------------ comments, quoting

#[test]
fn comments() {
    let t = clean("# c\n! c\n  # indented\nx 1 # tail\ny 2 ! tail\nz a#b\nw \"a#b\" \\#c\n");
    assert_eq!(show(&t), "4:x [1];5:y [2];6:z [a];7:w [a#b] [#c];");
}

#[test]
fn comment_ending_in_backslash_is_a_line() {
    // keepalived keeps the continuation mark of a comment line: the line
    // becomes a lone '\' (reported by keepalived as an unknown keyword).
    let t = clean("# a comment \\\nx\n");
    assert_eq!(show(&t), "1:\\;2:x;");
}

#[test]
fn double_quotes_group_words() {
    let t = clean("router_id \"a b\"  c\"d e\"f\nx \"\"\n");
    assert_eq!(show(&t), "1:router_id [a b] [c] [d e] [f];2:x [];");
    // No escapes in ordinary statements.
    let t = clean("x a\\tb\n");
    assert_eq!(t[0].args, vec!["a\\tb"]);
}

#[test]
fn unterminated_quote() {
    let (t, d) = parse("x a \"b c\ny\n");
    assert_eq!(show(&t), "1:x [a];2:y;");
    assert_eq!(
        msgs(&d),
        vec![
            "1:Unterminated quote 'x a \"b c'",
            "1:Unmatched quote: 'x a \"b c'"
        ]
    );
}

#[test]
fn script_keywords_use_quoted_escaped_splitting() {
    let t = clean(
        "vrrp_script c {\n script 'killall -0 haproxy'\n}\nnotify \"/bin/n.sh \\\"q\\\" \\x41\" root\nmisc_path /bin/x\\ y 'a b'\n",
    );
    assert_eq!(t[0].children()[0].args, vec!["killall -0 haproxy"]);
    assert_eq!(t[1].args, vec!["/bin/n.sh \"q\" A", "root"]);
    assert_eq!(t[2].args, vec!["/bin/x y", "a b"]);
    // Other keywords keep keepalived's plain splitting.
    let t = clean("router_id 'a b'\n");
    assert_eq!(t[0].args, vec!["'a", "b'"]);
    let (t, d) = parse("notify_master 'abc\n");
    assert_eq!(show(&t), "1:notify_master;");
    assert_eq!(
        msgs(&d),
        vec!["1:String 'notify_master 'abc': missing terminating '"]
    );
    assert_eq!(
        split_quoted_escaped("/bin/a 'b c' d\\ e"),
        Ok(vec!["/bin/a".into(), "b c".into(), "d e".into()])
    );
}

#[test]
fn line_endings_nul_and_last_line() {
    let t = clean("a {\r\n b 1\r\n}\r\nc");
    assert_eq!(show(&t), "1:a {2:b [1];};4:c;");
    let t = clean("a\0 hidden\nb\n");
    assert_eq!(show(&t), "1:a;2:b;");
}

#[test]
fn invalid_utf8_is_replaced_and_reported_only_when_used() {
    let dir = temp_dir("utf8");
    let p = dir.join("k.conf");
    std::fs::write(&p, b"# caf\xe9 in a comment\nrouter_id caf\xe9\n").unwrap();
    let (t, d) = load(&p, &opts(None));
    assert_eq!(show(&t), "2:router_id [caf\u{FFFD}];");
    assert_eq!(
        msgs(&d),
        vec!["2:Configuration text is not valid UTF-8 - invalid bytes replaced by U+FFFD"]
    );
    std::fs::write(&p, b"# caf\xe9\nx\n").unwrap();
    let (t, d) = load(&p, &opts(None));
    assert_eq!(show(&t), "2:x;");
    assert!(d.is_empty());
}

// ------------------------------------------------------------ includes

#[test]
fn include_follows_files_with_locations() {
    let dir = temp_dir("inc");
    let main = write(&dir, "main.conf", "a {\ninclude sub/*.conf\n}\nz\n");
    write(&dir, "sub/2.conf", "two\n");
    write(&dir, "sub/1.conf", "\none\ninclude deeper/x.conf\n");
    write(&dir, "sub/deeper/x.conf", "x\n");
    let (t, d) = load(&main, &opts(None));
    assert!(d.is_empty(), "{:?}", msgs(&d));
    assert_eq!(show(&t), "1:a {2:one;1:x;1:two;};4:z;");
    let kids = t[0].children();
    assert_eq!(*kids[0].loc.file, dir.join("sub/1.conf"));
    assert_eq!(*kids[1].loc.file, dir.join("sub/deeper/x.conf"));
    assert_eq!(*kids[2].loc.file, dir.join("sub/2.conf"));
    assert_eq!(*t[1].loc.file, main);
}

#[test]
fn include_sorting_and_braces() {
    let dir = temp_dir("sort");
    for n in ["b.conf", "a.conf", "B.conf", "a-1.conf", ".hidden.conf"] {
        write(
            &dir,
            &format!("d/{n}"),
            &format!("{}\n", n.replace('.', "_")),
        );
    }
    let main = write(&dir, "m.conf", "include d/*.conf\ninclude d/{b,a}.conf\n");
    let t = clean_file(&main);
    // Bytewise order, no dot files; brace alternatives in their own order.
    assert_eq!(
        keywords(&t),
        vec!["B_conf", "a-1_conf", "a_conf", "b_conf", "b_conf", "a_conf"]
    );
}

fn clean_file(p: &Path) -> Vec<Node> {
    let (t, d) = load(p, &opts(None));
    assert!(d.is_empty(), "unexpected diagnostics: {:?}", msgs(&d));
    t
}

#[test]
fn include_inside_a_line_after_a_brace() {
    let dir = temp_dir("inline");
    write(&dir, "v.conf", "10.0.0.1\n");
    let main = write(&dir, "m.conf", "virtual_ipaddress { include v.conf\n}\n");
    let t = clean_file(&main);
    assert_eq!(show(&t), "1:virtual_ipaddress {1:10.0.0.1;};");
}

#[test]
fn plain_include_of_missing_files_is_a_notice() {
    // keepalived prints these but they are not configuration errors (`-t`
    // exits 0); a wildcard matching nothing is not even mentioned.
    let dir = temp_dir("missing");
    let main = write(
        &dir,
        "m.conf",
        "include nothere.conf\ninclude nodir/*.conf\ninclude *.nomatch\nx\n",
    );
    let (t, d) = load(&main, &opts(None));
    assert_eq!(show(&t), "4:x;");
    assert_eq!(
        msgs(&d),
        vec![
            "1:Config files missing 'nothere.conf'.",
            "2:Config files missing 'nodir/*.conf'."
        ]
    );
    assert!(d.items().iter().all(|x| x.severity == Severity::Notice));
}

#[test]
fn all_config_checks_every_include() {
    // keepalived -e: plain includes are checked as `includea` ones (a
    // partly missing brace pattern is not read at all).
    let dir = temp_dir("all-config");
    write(&dir, "a.conf", "a\n");
    let main = write(
        &dir,
        "m.conf",
        "include nothere.conf\ninclude *.nomatch\ninclude {a,x}.conf\nx\n",
    );
    let all = LoadOptions {
        all_config: true,
        ..LoadOptions::default()
    };
    let (t, d) = load(&main, &all);
    assert_eq!(show(&t), "4:x;");
    assert_eq!(
        msgs(&d),
        vec![
            "1:Config files missing 'nothere.conf'.",
            "2:No config files matched '*.nomatch'.",
            "3:Some config files missing: \"{a,x}.conf\".",
        ]
    );
    assert!(d.items().iter().all(|x| x.severity == Severity::Security));
    // Without -e the same lines are log-only and a.conf is read.
    let (t, d) = load(&main, &opts(None));
    assert_eq!(show(&t), "1:a;4:x;");
    assert!(d.items().iter().all(|x| x.severity == Severity::Notice));
    // `include_check` in global_defs still decides from there on.
    let main = write(
        &dir,
        "m2.conf",
        "global_defs {\ninclude_check -match\n}\ninclude nothere.conf\n",
    );
    let (_, d) = load(&main, &all);
    assert_eq!(msgs(&d), vec!["4:Config files missing 'nothere.conf'."]);
    assert!(d.items().iter().all(|x| x.severity == Severity::Notice));
}

#[test]
fn checked_includes_report_missing_files() {
    let dir = temp_dir("checked");
    write(&dir, "a.conf", "a\n");
    let main = write(
        &dir,
        "m.conf",
        "includer nothere.conf\nincludew *.nomatch\nincludea nodir/*.conf\nincludeb {a,x}.conf\nincludem {a,x}.conf\n",
    );
    let (t, d) = load(&main, &opts(None));
    // includeb skips a partly missing brace pattern; includem reads it.
    assert_eq!(show(&t), "1:a;");
    let sev: Vec<_> = d.items().iter().map(|x| x.severity).collect();
    assert_eq!(
        msgs(&d),
        vec![
            "1:Config files missing 'nothere.conf'.",
            "2:No config files matched '*.nomatch'.",
            "3:Config files missing 'nodir/*.conf'.",
            "4:Some config files missing: \"{a,x}.conf\".",
            "5:Some config files missing: \"{a,x}.conf\".",
        ]
    );
    assert_eq!(
        sev,
        vec![
            Severity::Notice,
            Severity::Security,
            Severity::Security,
            Severity::Security,
            Severity::Notice
        ]
    );
}

#[test]
fn include_check_in_global_defs() {
    let dir = temp_dir("incheck");
    let main = write(
        &dir,
        "m.conf",
        "include none1.conf\nglobal_defs {\n include_check\n}\ninclude none2.conf\nglobal_defs {\n include_check read +bogus brace_match\n}\ninclude none3.conf\n",
    );
    let (_, d) = load(&main, &opts(None));
    assert_eq!(
        msgs(&d),
        vec![
            "1:Config files missing 'none1.conf'.",
            "5:Config files missing 'none2.conf'.",
            "7:Unknown include_check type 'bogus' - ignoring",
            "7:Duplicate include_check 'brace_match' specified - ignoring",
            "9:Config files missing 'none3.conf'.",
        ]
    );
    let sev: Vec<_> = d.items().iter().map(|x| x.severity).collect();
    assert_eq!(
        sev,
        vec![
            Severity::Notice,
            Severity::Security,
            Severity::Warning,
            Severity::Warning,
            Severity::Notice
        ]
    );
}

#[test]
fn included_directories_and_executables_are_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("skip");
    std::fs::create_dir_all(dir.join("d.conf")).unwrap();
    let exe = write(&dir, "x.conf", "exe\n");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&dir, "ok.conf", "ok\n");
    let main = write(&dir, "m.cfg", "include *.conf\nincluder d.conf\n");
    let (t, d) = load(&main, &opts(None));
    assert_eq!(show(&t), "1:ok;");
    assert_eq!(
        msgs(&d),
        vec![
            "1:Configuration file 'd.conf/' is a directory - skipping",
            "1:Configuration file 'x.conf' is not a regular non-executable file - skipping",
            "2:Configuration file 'd.conf/' is a directory - skipping"
        ]
    );
    let sev: Vec<_> = d.items().iter().map(|x| x.severity).collect();
    assert_eq!(
        sev,
        vec![Severity::Notice, Severity::Notice, Severity::Security]
    );
}

#[test]
fn include_cycle_is_reported() {
    let dir = temp_dir("cycle");
    let a = write(&dir, "a.conf", "x\ninclude b.conf\n");
    write(&dir, "b.conf", "y\ninclude a.conf\nz\n");
    let (t, d) = load(&a, &opts(None));
    assert_eq!(show(&t), "1:x;1:y;3:z;");
    assert_eq!(
        msgs(&d),
        vec!["2:Configuration file 'a.conf' is already being read (include loop) - skipping"]
    );
    assert_eq!(*d.items()[0].loc.as_ref().unwrap().file, dir.join("b.conf"));
    assert_eq!(d.items()[0].severity, Severity::Error);
    // A file including itself.
    let s = write(&dir, "self.conf", "s\ninclude self.conf\n");
    let (t, d) = load(&s, &opts(None));
    assert_eq!(show(&t), "1:s;");
    assert_eq!(d.items().len(), 1);
}

#[test]
fn include_depth_is_bounded() {
    let dir = temp_dir("depth");
    for i in 0..50 {
        write(
            &dir,
            &format!("f{i}.conf"),
            &format!("l{i}\ninclude f{}.conf\n", i + 1),
        );
    }
    let (t, d) = load(&dir.join("f0.conf"), &opts(None));
    assert_eq!(t.len(), reader::MAX_INCLUDE_DEPTH);
    assert_eq!(d.items().len(), 1);
    assert!(d.items()[0].message.contains("nested more than 32 deep"));
    assert_eq!(
        *d.items()[0].loc.as_ref().unwrap().file,
        dir.join("f31.conf")
    );
}

#[test]
fn include_order_after_seq_is_keepalived_order() {
    // keepalived finishes the ~SEQ before reading the files, newest first.
    let dir = temp_dir("seqinc");
    write(&dir, "f1.conf", "f1a\n");
    write(&dir, "f2.conf", "f2a\n");
    let main = write(&dir, "m.conf", "~SEQ(i,1,2) include f${i}.conf\nz\n");
    let t = clean_file(&main);
    assert_eq!(keywords(&t), vec!["f2a", "f1a", "z"]);
}

#[test]
fn missing_main_file() {
    let (t, d) = load(Path::new("/nonexistent/kars/none.conf"), &opts(None));
    assert!(t.is_empty());
    assert_eq!(
        msgs(&d),
        vec!["Config files missing '/nonexistent/kars/none.conf'."]
    );
    assert_eq!(d.items()[0].severity, Severity::Error);
}

// --------------------------------------------------------- definitions

#[test]
fn definitions_and_substitution() {
    let t = clean(
        "$A=xa1\n$A\n${A}\n$A.b\n${A}.b\n$B\nq \"$A\" \"${A}\" $A,$A) x$A\n$A=new value\nr $A\n",
    );
    assert_eq!(
        show(&t),
        "2:xa1;3:xa1;4:$A.b;5:xa1.b;6:$B;7:q [$A] [xa1] [xa1,xa1)] [xxa1];9:r [new] [value];"
    );
}

#[test]
fn definition_syntax() {
    // Not definitions: space before '=', bad name.
    let t = clean("$A =1\n$1=2\n$A\n");
    assert_eq!(show(&t), "1:$A [=1];2:$1=2;3:$A;");
    // Leading blanks of the value are dropped; an empty value is allowed.
    // `$A$E`: `$A` is not followed by a separator so only `$E` is replaced
    // at first; the line is then scanned again and `$A` now ends it.
    let t = clean("$A=   v w\n$E=\nx $A$E\ny $E\n");
    assert_eq!(show(&t), "3:x [v] [w];4:y;");
}

#[test]
fn definitions_use_other_definitions() {
    let t = clean("$IP=10.0.0\n$VIP=${IP}.1/24\n$VIP\n");
    assert_eq!(show(&t), "3:10.0.0.1/24;");
    // A definition produced by substitution is itself a definition.
    let t = clean("$D=$X=5\n$D\ny $X\n");
    assert_eq!(show(&t), "3:y [5];");
}

#[test]
fn multi_line_definitions() {
    let t = clean(
        "$BODY= \\\n  state BACKUP \\\n  # a comment inside\n  priority 100\nv {\n $BODY\n}\nw ${BODY}\n",
    );
    assert_eq!(
        show(&t),
        "5:v {6:state [BACKUP];6:priority [100];};8:w [state] [BACKUP];8:priority [100];"
    );
    // A blank line ends the definition.
    let t = clean("$M=m1 \\\n  m2 a\\\n\n  m3\nx $M\n");
    assert_eq!(show(&t), "4:m3;5:x [m1];5:m2 [a];");
    // Not at the end of a line: left alone.
    let t = clean("$M=a \\\nb\nx $M y\n");
    assert_eq!(show(&t), "3:x [$M] [y];");
}

#[test]
fn multi_line_definitions_nest() {
    let t = clean("$IN=i1 \\\ni2\n$OUT=o1 \\\no2 $IN\n$OUT\n");
    assert_eq!(show(&t), "5:o1;5:o2 [i1];5:i2;");
}

#[test]
fn predefined_definitions() {
    let dir = temp_dir("pwd");
    let main = write(&dir, "m.conf", "a ${_PWD}\ninclude sub/s.conf\n");
    write(&dir, "sub/s.conf", "b $_PWD\n");
    let t = clean_file(&main);
    let canon = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(t[0].args, vec![canon.display().to_string()]);
    assert_eq!(t[1].args, vec![canon.join("sub").display().to_string()]);

    let o = LoadOptions {
        config_id: Some("lb1".into()),
        instance: Some("inst".into()),
        ..LoadOptions::default()
    };
    let (t, _) = parse_with("i ${_INSTANCE}\n", &o);
    assert_eq!(t[0].args, vec!["inst"]);
    let t = clean("i $_INSTANCE\n");
    assert_eq!(t[0].args, vec!["lb1"]);

    for _ in 0..20 {
        let t = clean("r ${_RANDOM 5 6} ${_RANDOM} ${_RANDOM 7 7}\n");
        let a: u32 = t[0].args[0].parse().unwrap();
        let b: u32 = t[0].args[1].parse().unwrap();
        assert!((5..=6).contains(&a) && b <= 32767, "{:?}", t[0].args);
        assert_eq!(t[0].args[2], "7");
    }
    // _HASH and _BANG become comment characters after substitution, unless
    // quoted, as in keepalived.
    let t = clean("h a$_HASH b\nq \"x${_HASH}y${_BANG}\"\n");
    assert_eq!(show(&t), "1:h [a];2:q [x#y!];");
    // Predefined names can be redefined.
    let t = clean("$_PWD=mine\np $_PWD\n");
    assert_eq!(t[0].args, vec!["mine"]);
}

#[test]
fn substitution_loops_are_bounded() {
    let (t, d) = parse("$A=$B\n$B=$A\nx $A\ny\n");
    assert_eq!(keywords(&t).last().map(String::as_str), Some("y"));
    assert_eq!(d.items().len(), 1);
    assert!(
        d.items()[0].message.contains("refer to each other"),
        "{:?}",
        msgs(&d)
    );
    let (t, d) = parse("$A=x $A\n$A\nz\n");
    assert_eq!(keywords(&t).last().map(String::as_str), Some("z"));
    assert_eq!(d.items().len(), 1);
    assert!(
        d.items()[0]
            .message
            .contains("would exceed maximum line length")
    );
}

// ----------------------------------------------------------- @ID lines

#[test]
fn conditional_lines() {
    let text = "@lb1 a 1\n@lb2 b 2\n@^lb2 c 3\n@^lb1 d 4\n@lb1\n@lb1 $X=5\nx $X\n";
    let (t, d) = parse_with(text, &opts(Some("lb1")));
    assert!(d.is_empty());
    assert_eq!(show(&t), "1:a [1];3:c [3];7:x [5];");
    let (t, _) = parse_with(text, &opts(Some("lb2")));
    assert_eq!(show(&t), "2:b [2];4:d [4];7:x [$X];");
    // No config id: @ID lines never apply, @^ID lines always do.
    let (t, _) = parse_with(text, &opts(None));
    assert_eq!(show(&t), "3:c [3];4:d [4];7:x [$X];");
    // Inside blocks, and a definition that expands to an @ line.
    let (t, _) = parse_with(
        "v {\n  @lb1 p 1\n  @lb2 p 2\n}\n$C=@lb1 q\n$C\n",
        &opts(Some("lb1")),
    );
    assert_eq!(show(&t), "1:v {2:p [1];};6:q;");
}

// -------------------------------------------------------- ~SEQ / ~LST

#[test]
fn seq_forms() {
    let t = clean(
        "~SEQ(i,3) a$i\n~SEQ(i,-2) b$i\n~SEQ(i,5,3) c$i\n~SEQ(i,1,2,6) d$i\n~SEQ(i,6,-2,1) e$i\n~SEQx(i,9,12) f$i\n~SEQ(i,0) g$i\n~SEQ( i , 0x10 , 0x11 ) h$i\n",
    );
    assert_eq!(
        keywords(&t),
        vec![
            "a1", "a2", "a3", "b-1", "b-2", "c5", "c4", "c3", "d1", "d3", "d5", "e6", "e4", "e2",
            "f9", "fa", "fb", "fc", "g1", "g0", "h16", "h17"
        ]
    );
    assert!(t.iter().take(3).all(|n| n.loc.line == 1));
}

#[test]
fn seq_with_a_multibyte_character_after_the_name_does_not_panic() {
    // keepalived skips the byte after the name and its blanks, whatever it
    // is: here the first byte of 'é', which left a cut inside the character
    // (found by the config fuzzer). What follows is no number: invalid.
    let (t, d) = parse("~SEQ(i \u{e9}1, 2) a$i\nz\n");
    assert_eq!(show(&t), "2:z;");
    assert_eq!(
        msgs(&d),
        vec![
            "1:Invalid ~SEQ definition '~SEQ(i \u{e9}1, 2) a$i'",
            "1:Invalid ~SEQ specification '~SEQ(i \u{e9}1, 2) a$i'",
        ]
    );
}

#[test]
fn seq_errors() {
    let (t, d) = parse(
        "~SEQ(i,1,0,3) g\n~SEQ(i,3,1,1) h\n~SEQ(i) j\n~SEQ(i,a) k\n~SEQx(i,-1,2) l\n~SEQ i,1) m\n~SEQ(i,1 n\nz\n",
    );
    assert_eq!(show(&t), "8:z;");
    assert_eq!(
        msgs(&d),
        vec![
            "1:Invalid ~SEQ values '~SEQ(i,1,0,3) g'",
            "1:Invalid ~SEQ specification '~SEQ(i,1,0,3) g'",
            "2:Invalid ~SEQ values '~SEQ(i,3,1,1) h'",
            "2:Invalid ~SEQ specification '~SEQ(i,3,1,1) h'",
            "3:Invalid ~SEQ definition '~SEQ(i) j'",
            "3:Invalid ~SEQ specification '~SEQ(i) j'",
            "4:Invalid ~SEQ definition '~SEQ(i,a) k'",
            "4:Invalid ~SEQ specification '~SEQ(i,a) k'",
            "5:~SEQx is only valid for positive numbers '~SEQx(i,-1,2) l'",
            "5:Invalid ~SEQ specification '~SEQx(i,-1,2) l'",
            "6:Invalid ~SEQ specification '~SEQ i,1) m'",
            "7:~SEQ parameter strings too long '~SEQ(i,1 n'",
            "7:Invalid ~SEQ specification '~SEQ(i,1 n'",
        ]
    );
    assert!(d.items().iter().all(|x| x.severity == Severity::Warning));
}

#[test]
fn seq_params_and_nesting() {
    let t = clean("$N=2\n~SEQ(i,1,$N) a${i}\n~SEQ(i,2) ~SEQ(j,2) p${i}${j}\n");
    assert_eq!(keywords(&t), vec!["a1", "a2", "p11", "p12", "p21", "p22"]);
    // A multi-line definition is not substituted before ')'.
    let (t, d) = parse("$M=1 \\\n2\n~SEQ(i,$M) x\n");
    assert!(t.is_empty());
    assert_eq!(
        msgs(&d),
        vec![
            "3:Invalid ~SEQ definition '~SEQ(i,$M) x'",
            "3:Invalid ~SEQ specification '~SEQ(i,$M) x'"
        ]
    );
}

#[test]
fn seq_from_a_definition_and_in_blocks() {
    let t = clean("$S=~SEQ(i,1,3) s$i\n$S\n");
    assert_eq!(show(&t), "2:s1;2:s2;2:s3;");
    let t = clean(
        "$VI= \\\nvrrp_instance VI_${N} { \\\n  virtual_router_id ${N} \\\n}\n~SEQ(N,1,2) $VI\n",
    );
    assert_eq!(
        show(&t),
        "5:vrrp_instance [VI_1] {5:virtual_router_id [1];};5:vrrp_instance [VI_2] {5:virtual_router_id [2];};"
    );
    let t = clean("v {\n ~SEQx(S, 144, 16, 160) 2001:db8:${S}::1/64\n}\n");
    assert_eq!(show(&t), "1:v {2:2001:db8:90::1/64;2:2001:db8:a0::1/64;};");
}

#[test]
fn lst_forms() {
    let t = clean(
        "~LST(v,a,b,c) l$v\n~LST({x,y},{1,2},{3},{5,6}) m${x}-${y}\n~LST(a,1,2) ~SEQ(j,2) q${a}_$j\n",
    );
    assert_eq!(
        keywords(&t),
        vec![
            "la", "lb", "lc", "m1-2", "m3-", "m5-6", "q1_1", "q1_2", "q2_1", "q2_2"
        ]
    );
    let (t, d) = parse("~LST({x,y},{1,2,3}) n\n~LST(x) o\n~LST x,1) p\nz\n");
    assert_eq!(show(&t), "4:z;");
    assert_eq!(
        msgs(&d),
        vec![
            "1:~LST specification has too many values '~LST({x,y},{1,2,3}) n'",
            "1:Invalid ~LST specification '~LST({x,y},{1,2,3}) n'",
            "2:Invalid ~LST specification '~LST(x) o'",
            "3:Invalid ~LST specification '~LST x,1) p'",
        ]
    );
}

#[test]
fn generated_lines_are_bounded() {
    let (t, d) = parse("~SEQ(i,1,2000000) x\ny\n");
    assert_eq!(show(&t), "2:y;");
    assert_eq!(d.items().len(), 1);
    assert_eq!(d.items()[0].severity, Severity::Error);
    assert!(d.items()[0].message.contains("more than 1000000 lines"));
    let (t, d) = parse("~SEQ(i,-9223372036854775808,9223372036854775807) x\ny\n");
    assert_eq!(show(&t), "2:y;");
    assert_eq!(d.items().len(), 1);
}

#[test]
fn other_tilde_lines_are_kept() {
    let t = clean("$A=1\n~FOO $A\n");
    assert_eq!(show(&t), "2:~FOO [$A];");
}

// -------------------------------------------------------------- scale

#[test]
fn large_configuration_is_linear() {
    let mut text = String::new();
    let mut n = 0;
    while n < 100_000 {
        text.push_str(&format!(
            "vrrp_instance VI_{n} {{\n  state BACKUP # c\n  interface eth0\n  virtual_ipaddress {{\n    10.0.0.1/24\n  }}\n  notify \"/bin/x 'a b'\"\n}}\n"
        ));
        n += 8;
    }
    let start = std::time::Instant::now();
    let t = clean(&text);
    let took = start.elapsed();
    assert_eq!(t.len(), 12_500);
    assert_eq!(t[12_499].loc.line, 99_993);
    // Debug builds too: quadratic behaviour would take minutes.
    assert!(took.as_secs() < 20, "took {took:?}");
}

#[test]
fn nesting_is_bounded() {
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("b{i} {{\n"));
    }
    text.push_str("leaf\n");
    for _ in 0..40 {
        text.push_str("}\n");
    }
    text.push_str("after\n");
    let (t, d) = parse(&text);
    assert!(d.is_empty(), "{:?}", msgs(&d));
    // 32 levels of blocks; the deeper statements and their braces stay at
    // the 32nd level, in order.
    let mut n = &t[0];
    let mut depth = 1;
    while let Some(c) = n.children().first().filter(|c| c.block.is_some()) {
        n = c;
        depth += 1;
    }
    assert_eq!(depth, 32);
    assert_eq!(
        keywords(n.children()),
        vec![
            "b32", "{", "b33", "{", "b34", "{", "b35", "{", "b36", "{", "b37", "{", "b38", "{",
            "b39", "{", "leaf", "}", "}", "}", "}", "}", "}", "}", "}"
        ]
    );
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].keyword, "after");
}

#[test]
fn recursive_definitions_stop() {
    // keepalived loops forever on these.
    let (t, d) = parse("$M=a \\\nb $M\n$M\nz\n");
    assert_eq!(show(&t), "3:a;3:b [$M];4:z;");
    assert!(d.is_empty());
    let (t, _) = parse("$S=~SEQ(i,1,2) $S\n$S\nz\n");
    assert_eq!(show(&t), "2:$S;2:$S;3:z;");
    let (t, d) = parse("$A=x { $A\n$A\nz\n");
    assert_eq!(keywords(&t).last().map(String::as_str), Some("z"));
    assert!(msgs(&d)[0].contains("would exceed maximum line length"));
}

// ------------------------------------------------- fuzzing regressions

/// Parse `bytes` on another thread; fail if it takes more than 30 s (a
/// hang) or panics. Returns the tree and diagnostics.
fn parse_bounded(bytes: &'static [u8]) -> (Vec<Node>, Diagnostics) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let text = String::from_utf8_lossy(bytes);
        let _ = tx.send(parse(&text));
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("the parser hung or panicked")
}

#[test]
fn fuzz_timeout_self_referencing_multiline_definition() {
    // `$BODY` is a multi-line definition whose last line ends with
    // `{ $BODY`: every expansion produced another (keepalived loops).
    let (t, d) = parse_bounded(include_bytes!(
        "fuzz_regressions/timeout-self-referencing-multiline.conf"
    ));
    assert!(!t.is_empty());
    assert!(
        msgs(&d).contains(&"24:Unmatched quote: '\"unterminated'".to_string()),
        "{:?}",
        msgs(&d)
    );
}

#[test]
fn fuzz_crash_seq_multibyte_after_name() {
    // `~SEQx(SUB` followed by bytes that are not UTF-8 (each read as
    // U+FFFD, three bytes): the byte skipped after the name cut a character.
    let (t, _) = parse_bounded(include_bytes!(
        "fuzz_regressions/crash-seq-multibyte-after-name.conf"
    ));
    assert!(!t.is_empty());
}
