//! Reading the statement tree the way keepalived reads its configuration
//! (keepalived 2.2.7, lib/parser.c `process_stream` and
//! `alloc_value_block`).
//!
//! The front end builds the tree from the braces as written. keepalived
//! does not: it reads lines one after another, and only a keyword that has
//! a sub-level (`vrrp_instance`, `real_server`, `url`, ...) or a list
//! block (`virtual_ipaddress`, `track_script`, ...) opens a block. So:
//!
//! - a `{` after any other statement (a typo such as `virtual_ipadress`,
//!   or `nopreempt {`) is reported ("Unexpected '{' - ignoring") and
//!   ignored: the lines of that block are read as statements of the
//!   enclosing block (a keyword known there is applied!), and its `}`
//!   closes the *enclosing* block early; the lines after it are read one
//!   level further out, and so on, until surplus `}` lines at the top level
//!   are reported as "Unknown keyword '}'";
//! - a keyword with a sub-level written without its `{` is reported
//!   ("Missing '{' at beginning of configuration block") and the following
//!   lines are read as its sub-level up to the next `}`;
//! - a list block reads every line up to the next `}` as a value (a nested
//!   `{` line is a value `{`), a missing `{` being only logged;
//! - a list block keyword given parameters is reported ("Block X has extra
//!   parameters Y ...").
//!
//! keepalived reads the whole configuration once per process, each with its
//! own keywords active: the parent reads `global_defs`, the VRRP process
//! the VRRP sections, the checker process the LVS sections (`track_file`
//! and `bfd_instance` are read by both). A section of another process is
//! skipped by counting braces. What a section spills to the top level is
//! therefore seen only by the process reading that section; [`sections`]
//! reads the tree once per process and merges what each one reads, in file
//! order.
//!
//! Which keywords have blocks is declared per level by [`Level`] functions
//! (next to the parsers of each section). Every other statement is a
//! [`Kind::Leaf`], handed to the section's parser, which reports it when it
//! does not know it.

use crate::ast::Node;
use crate::diag::{Diagnostic, Diagnostics, Loc, Severity};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How keepalived reads a keyword at one level.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A statement of its own: keywords without a sub-level, and unknown
    /// ones. A block after it is not its block (see the module comment).
    Leaf,
    /// A keyword with a sub-level whose keywords `Level` describes.
    Block(Level),
    /// A list block: each line up to the next `}` is a value. Parameters
    /// after the keyword are reported.
    Values,
    /// A list block whose keyword takes parameters (`virtual_server_group
    /// NAME { ... }`).
    NamedValues,
    /// A top-level keyword read by another keepalived process: skipped,
    /// with its block.
    Inactive,
}

/// The keywords of one level: how each is read. Keywords not mentioned
/// are [`Kind::Leaf`].
pub type Level = fn(&str) -> Kind;

/// A level whose keywords are all statements.
pub fn leaves(_: &str) -> Kind {
    Kind::Leaf
}

/// What keepalived's line reader hands to `process_stream`.
#[derive(Clone, Copy)]
enum Ev<'a> {
    Stmt(&'a Node),
    Open(&'a Loc),
    Close(&'a Loc),
}

/// The tree as keepalived's stream of lines. Blocks still open at the end
/// have no closing event; braces the front end kept as statements of their
/// own are braces again.
fn flatten<'a>(nodes: &'a [Node], out: &mut Vec<Ev<'a>>) {
    for n in nodes {
        if n.block.is_none() && n.args.is_empty() {
            match n.keyword.as_str() {
                "{" => {
                    out.push(Ev::Open(&n.loc));
                    continue;
                }
                "}" => {
                    out.push(Ev::Close(&n.loc));
                    continue;
                }
                _ => {}
            }
        }
        out.push(Ev::Stmt(n));
        if let Some(children) = &n.block {
            out.push(Ev::Open(n.open_loc.as_ref().unwrap_or(&n.loc)));
            flatten(children, out);
            if let Some(end) = &n.end_loc {
                out.push(Ev::Close(end));
            }
        }
    }
}

struct Reader<'e, 'a> {
    ev: &'e [Ev<'a>],
    pos: usize,
    /// Diagnostics with the position in the stream they arose at.
    diags: Vec<(usize, Diagnostic)>,
}

/// A copy of `n` without its block (read as a statement on its own).
fn statement(n: &Node) -> Node {
    Node::leaf(n.keyword.clone(), n.args.clone(), n.loc.clone())
}

impl<'a> Reader<'_, 'a> {
    fn next(&mut self) -> Option<(usize, Ev<'a>)> {
        let i = self.pos;
        let e = *self.ev.get(i)?;
        self.pos += 1;
        Some((i, e))
    }

    fn report(&mut self, at: usize, severity: Severity, loc: &Loc, message: impl Into<String>) {
        self.diags.push((
            at,
            Diagnostic {
                severity,
                loc: Some(loc.clone()),
                message: message.into(),
            },
        ));
    }

    /// keepalived's `process_stream` for one level: the statements it reads
    /// there, each with its position in the stream, and the `}` ending the
    /// level (`None` at the end of the configuration or at the top level).
    /// `need_bob`: the level belongs to a keyword whose `{` has not been
    /// seen yet.
    fn level(
        &mut self,
        kinds: Level,
        mut need_bob: bool,
        nested: bool,
    ) -> (Vec<(usize, Node)>, Option<Loc>) {
        let mut out = Vec::new();
        while let Some((i, ev)) = self.next() {
            if need_bob {
                need_bob = false;
                match ev {
                    Ev::Open(_) => continue,
                    Ev::Stmt(n) => self.report(
                        i,
                        Severity::Warning,
                        &n.loc,
                        "Missing '{' at beginning of configuration block",
                    ),
                    Ev::Close(l) => self.report(
                        i,
                        Severity::Warning,
                        l,
                        "Missing '{' at beginning of configuration block",
                    ),
                }
            }
            let n = match ev {
                Ev::Open(l) => {
                    self.report(i, Severity::Warning, l, "Unexpected '{' - ignoring");
                    continue;
                }
                Ev::Close(l) if nested => return (out, Some(l.clone())),
                // The model reports it as an unknown keyword.
                Ev::Close(l) => {
                    out.push((i, Node::leaf("}", Vec::new(), l.clone())));
                    continue;
                }
                Ev::Stmt(n) => n,
            };
            match kinds(&n.keyword) {
                Kind::Leaf => out.push((i, statement(n))),
                Kind::Inactive => {
                    // Skipped up to the `}` matching the `{` that follows.
                    if let Some(Ev::Open(_)) = self.ev.get(self.pos) {
                        let mut depth = 0usize;
                        while let Some((_, e)) = self.next() {
                            match e {
                                Ev::Open(_) => depth += 1,
                                Ev::Close(_) => {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                Ev::Stmt(_) => {}
                            }
                        }
                    }
                }
                Kind::Block(sub) => {
                    let open_loc = match self.ev.get(self.pos) {
                        Some(Ev::Open(l)) => Some((*l).clone()),
                        _ => None,
                    };
                    let (children, end) = self.level(sub, true, true);
                    let mut node = statement(n);
                    node.block = Some(children.into_iter().map(|(_, c)| c).collect());
                    node.open_loc = open_loc;
                    node.end_loc = end;
                    out.push((i, node));
                }
                kind @ (Kind::Values | Kind::NamedValues) => {
                    if matches!(kind, Kind::Values)
                        && let Some(extra) = n.args.first()
                    {
                        self.report(
                            i,
                            Severity::Warning,
                            &n.loc,
                            format!("Block {} has extra parameters {extra} ...", n.keyword),
                        );
                    }
                    let node = self.values(i, n);
                    out.push((i, node));
                }
            }
        }
        (out, None)
    }

    /// keepalived's `alloc_value_block`: the lines up to the next `}`.
    fn values(&mut self, at: usize, n: &Node) -> Node {
        let mut node = statement(n);
        let mut vals = Vec::new();
        let mut first = true;
        while let Some((_, ev)) = self.next() {
            if first {
                first = false;
                if let Ev::Open(l) = ev {
                    node.open_loc = Some(l.clone());
                    continue;
                }
                // keepalived only logs this.
                self.report(
                    at,
                    Severity::Notice,
                    &n.loc,
                    format!("'{{' missing from beginning of block {}", n.keyword),
                );
            }
            match ev {
                Ev::Close(l) => {
                    node.end_loc = Some(l.clone());
                    break;
                }
                Ev::Open(l) => vals.push(Node::leaf("{", Vec::new(), l.clone())),
                Ev::Stmt(v) => vals.push(statement(v)),
            }
        }
        node.block = Some(vals);
        node
    }
}

/// A top-level statement as keepalived's processes read it.
pub struct Section {
    pub node: Node,
    /// Where it starts in the stream, and where the next one starts.
    start: usize,
    end: usize,
    /// Structural problems found from it up to the next one, with where
    /// in the stream they arose.
    problems: Vec<(usize, Diagnostic)>,
}

/// The configuration as keepalived's processes read it: see [`read`].
pub struct Read {
    pub sections: Vec<Section>,
    pub positions: Positions,
}

/// The location of each event of the stream, for [`Positions::report`].
pub struct Positions {
    locs: Vec<Loc>,
}

/// Read the top level of `tree` as each keepalived process does (one
/// top-level [`Level`] per process) and merge what they read, in file
/// order (a statement several processes read, such as an unknown top-level
/// keyword, once). Structural problems (unexpected or missing braces, ...)
/// are kept with the section they arise in, each once, for
/// [`Read::report`]; those before the first section go to `diags`.
pub fn read(tree: &[Node], processes: &[Level], diags: &mut Diagnostics) -> Read {
    let mut ev = Vec::new();
    flatten(tree, &mut ev);
    let mut merged: BTreeMap<usize, Node> = BTreeMap::new();
    let mut found: Vec<(usize, Diagnostic)> = Vec::new();
    for p in processes {
        let mut r = Reader {
            ev: &ev,
            pos: 0,
            diags: Vec::new(),
        };
        let (stmts, _) = r.level(*p, false, false);
        for (i, n) in stmts {
            merged.entry(i).or_insert(n);
        }
        found.extend(r.diags);
    }
    let starts: Vec<usize> = merged.keys().copied().collect();
    let mut sections: Vec<Section> = merged
        .into_iter()
        .enumerate()
        .map(|(k, (start, node))| Section {
            node,
            start,
            end: starts.get(k + 1).copied().unwrap_or(ev.len()),
            problems: Vec::new(),
        })
        .collect();
    found.sort_by_key(|(i, _)| *i);
    let mut seen = HashSet::new();
    for (i, d) in found {
        if !seen.insert((d.severity, d.loc.clone(), d.message.clone())) {
            continue;
        }
        match starts.partition_point(|&s| s <= i).checked_sub(1) {
            Some(k) => sections[k].problems.push((i, d)),
            None => diags.push(d.severity, d.loc.as_ref(), d.message),
        }
    }
    let locs = ev
        .iter()
        .map(|e| match e {
            Ev::Stmt(n) => n.loc.clone(),
            Ev::Open(l) | Ev::Close(l) => (*l).clone(),
        })
        .collect();
    Read {
        sections,
        positions: Positions { locs },
    }
}

impl Positions {
    /// Report `parsed`, what the parser of `section` reported, with the
    /// section's structural problems among them where keepalived reports
    /// them: before the first of the parser's diagnostics that stands at a
    /// later line of the section.
    pub fn report(&self, section: &Section, parsed: Diagnostics, diags: &mut Diagnostics) {
        let mut pending = section.problems.iter().peekable();
        let parsed = parsed.into_vec();
        // The first place in the section where each line occurs (looked
        // up only for a section with something to report).
        let mut first: HashMap<&Loc, usize> = HashMap::new();
        if !parsed.is_empty() {
            let range = section.start..section.end.min(self.locs.len());
            for (i, l) in self.locs[range.clone()].iter().enumerate() {
                first.entry(l).or_insert(range.start + i);
            }
        }
        for d in parsed {
            let at = d.loc.as_ref().and_then(|l| first.get(l).copied());
            if let Some(at) = at {
                while let Some((_, p)) = pending.next_if(|(i, _)| *i < at) {
                    diags.push(p.severity, p.loc.as_ref(), p.message.clone());
                }
            }
            diags.push(d.severity, d.loc.as_ref(), d.message);
        }
        for (_, p) in pending {
            diags.push(p.severity, p.loc.as_ref(), p.message.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    //! keepalived's readings of misplaced braces, checked against
    //! `keepalived -t` 2.2.7 (the expected messages are its messages).

    use crate::diag::Severity;
    use crate::{LoadOptions, Loaded, load_str};
    use std::path::Path;

    fn load(text: &str) -> Loaded {
        load_str(
            Path::new("/etc/keepalived/t.conf"),
            text,
            &LoadOptions::default(),
        )
    }

    /// `LINE: message` for every diagnostic with a line, `N` marking
    /// notices.
    fn lines(l: &Loaded) -> Vec<String> {
        l.diagnostics
            .iter()
            .filter_map(|d| {
                let line = d.loc.as_ref()?.line;
                let n = if d.severity == Severity::Notice {
                    "N "
                } else {
                    ""
                };
                Some(format!("{n}{line}: {}", d.message))
            })
            .collect()
    }

    const INSTANCE_HEAD: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 13
    priority 100
";

    #[test]
    fn unknown_block_in_an_instance_closes_it_early() {
        let l = load(&format!(
            "{INSTANCE_HEAD}    virtual_ipaddress {{
        192.0.2.13/24
    }}
    bogus {{
        priority 50
    }}
    advert_int 2
}}
"
        ));
        assert_eq!(
            lines(&l),
            [
                "9: Unknown keyword 'bogus'",
                "9: Unexpected '{' - ignoring",
                "12: Unknown keyword 'advert_int'",
                "13: Unknown keyword '}'",
            ]
        );
        // The known keyword inside the unknown block is applied; the one
        // after its `}` is not part of the instance any more.
        let i = &l.config.vrrp.instances[0];
        assert_eq!(i.priority, 50);
        assert_eq!(i.virtual_ipaddresses.len(), 1);
        assert_eq!(i.advert_int, std::time::Duration::from_secs(1));
    }

    #[test]
    fn unknown_blocks_at_every_level_and_the_top() {
        // tests/corpus/bad-unknown-keywords.conf
        let l = load(
            "global_defs {
    router_id typo-a
    notifcation_email_from ops@example.com
}
vrrp_instanse VI_OTHER {
    interface eth0
}
virtual_server 192.0.2.13 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.13.0.1 80 {
        HTTP_CHECK {
            url {
                path /
            }
        }
    }
}
",
        );
        assert_eq!(
            lines(&l),
            [
                "3: Unknown keyword 'notifcation_email_from'",
                "5: Unknown keyword 'vrrp_instanse'",
                "5: Unexpected '{' - ignoring",
                "6: Unknown keyword 'interface'",
                "7: Unknown keyword '}'",
                "13: Unknown keyword 'HTTP_CHECK'",
                "13: Unexpected '{' - ignoring",
                "14: Unknown keyword 'url'",
                "14: Unexpected '{' - ignoring",
                "15: Unknown keyword 'path'",
                "18: Unknown keyword '}'",
                "19: Unknown keyword '}'",
            ]
        );
        // The real server ended at line 16, the virtual server at 17.
        let vs = &l.config.lvs.virtual_servers[0];
        assert_eq!(vs.real_servers.len(), 1);
    }

    #[test]
    fn missing_open_brace_and_list_without_brace() {
        let l = load(&format!(
            "{INSTANCE_HEAD}    virtual_ipaddress
        192.0.2.13/24
    }}
    authentication
      auth_type PASS
      auth_pass secret
    }}
    nopreempt {{
       priority 40
    }}
    advert_int 3
}}
"
        ));
        assert_eq!(
            lines(&l),
            [
                "12: Extra '}' found",
                "17: Extra '}' found",
                // keepalived only logs this one.
                "N 6: '{' missing from beginning of block virtual_ipaddress",
                // The processes that skip the instance (its block ends at
                // line 8 for them) read the rest at the top level.
                "9: Unknown keyword 'authentication'",
                "10: Unknown keyword 'auth_type'",
                // The VRRP process.
                "10: Missing '{' at beginning of configuration block",
                "11: Unknown keyword 'auth_pass'",
                "12: Unknown keyword '}'",
                "13: Unknown keyword 'nopreempt'",
                "13: Unexpected '{' - ignoring",
                "14: Unknown keyword 'priority'",
                "15: Unknown keyword '}'",
                "16: Unknown keyword 'advert_int'",
                "17: Unknown keyword '}'",
            ]
        );
        let i = &l.config.vrrp.instances[0];
        assert_eq!(i.virtual_ipaddresses.len(), 1);
        assert!(i.authentication.is_some());
        assert!(!i.preempt);
        assert_eq!(i.priority, 40);
    }

    #[test]
    fn end_of_block_checks_stand_at_the_closing_brace() {
        // Blank and comment lines before the `}` do not move it.
        let l = load(
            "virtual_server 10.0.0.1 80 {
    lb_algo rr
    protocol TCP
    real_server 10.0.0.2 80 {
        FILE_CHECK {
            weight 3

            # nothing
        }
    }
}
",
        );
        assert_eq!(
            lines(&l),
            ["9: FILE_CHECK has no track_file specified - ignoring"]
        );
    }

    #[test]
    fn spills_reach_only_the_process_reading_the_section() {
        // What spills out of global_defs is read by the parent process,
        // which skips VRRP sections; the VRRP process skips global_defs
        // whole. So VI_X is nobody's, and the virtual server spilled out of
        // the instance is the VRRP process's, which skips it.
        let l = load(
            "global_defs {
    router_id a
    bogus
    {
    vrrp_instance VI_X {
        state MASTER
    }
    }
    notification_email_from x@y
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 13
    priority 100
    virtual_ipaddress {
        192.0.2.13/24
    }
    weird
    {
       virtual_server 10.0.0.1 80 {
          lb_algo rr
          protocol TCP
       }
       nopreempt
    }
    advert_int 1
}
",
        );
        assert_eq!(
            lines(&l),
            [
                "3: Unknown keyword 'bogus'",
                "4: Unexpected '{' - ignoring",
                "5: Unknown keyword 'vrrp_instance'",
                "5: Unexpected '{' - ignoring",
                "6: Unknown keyword 'state'",
                "8: Unknown keyword '}'",
                "9: Unknown keyword 'notification_email_from'",
                "10: Unknown keyword '}'",
                "19: Unknown keyword 'weird'",
                "20: Unexpected '{' - ignoring",
                "21: Unknown keyword 'virtual_server'",
                "21: Unexpected '{' - ignoring",
                "22: Unknown keyword 'lb_algo'",
                "23: Unknown keyword 'protocol'",
                "25: Unknown keyword 'nopreempt'",
                "26: Unknown keyword '}'",
                "27: Unknown keyword 'advert_int'",
                "28: Unknown keyword '}'",
            ]
        );
        assert_eq!(l.config.global.router_id.as_deref(), Some("a"));
        assert_eq!(l.config.global.notification_email_from, None);
        let names: Vec<&str> = l
            .config
            .vrrp
            .instances
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, ["VI_1"]);
        assert!(l.config.lvs.virtual_servers.is_empty());
    }

    #[test]
    fn stray_braces_and_list_parameters() {
        let l = load("{\nglobal_defs {\n  router_id x\n}\n}\n");
        assert_eq!(
            lines(&l),
            ["1: Unexpected '{' - ignoring", "5: Unknown keyword '}'"]
        );
        assert_eq!(l.config.global.router_id.as_deref(), Some("x"));
        // A list keyword with parameters; a `{` line inside a list is a
        // value, and the first `}` ends the list.
        let l = load(&format!(
            "{INSTANCE_HEAD}    virtual_ipaddress foo {{
        192.0.2.13/24
    }}
    virtual_server_group_is_not_here
    track_interface {{
        eth1 {{
        }}
        eth2
    }}
}}
"
        ));
        let got = lines(&l);
        assert_eq!(
            got[..2],
            [
                "6: Block virtual_ipaddress has extra parameters foo ...",
                "9: Unknown keyword 'virtual_server_group_is_not_here'",
            ]
        );
        assert!(got.contains(&"13: Unknown keyword 'eth2'".to_string()));
        assert!(got.contains(&"15: Unknown keyword '}'".to_string()));
        let tracked: Vec<&str> = l.config.vrrp.instances[0]
            .track_interfaces
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(tracked, ["eth1", "{"]);
    }

    #[test]
    fn many_statements_on_one_line_are_linear() {
        // 100,000 unknown keywords, all from line 1 (a ~SEQ), each a
        // section of its own, each followed by a `{` (never closed).
        let start = std::time::Instant::now();
        let l = load("~SEQ(i, 1, 100000) bogus_$i {\n");
        let took = start.elapsed();
        let unknown = l
            .diagnostics
            .iter()
            .filter(|d| d.message.starts_with("Unknown keyword 'bogus_"))
            .count();
        assert_eq!(unknown, 100_000);
        assert_eq!(
            l.diagnostics[1..4]
                .iter()
                .map(|d| d.message.as_str())
                .collect::<Vec<_>>(),
            [
                "Unknown keyword 'bogus_1'",
                "Unexpected '{' - ignoring",
                "Unknown keyword 'bogus_2'"
            ]
        );
        // Debug builds too: quadratic behaviour would take minutes.
        assert!(took.as_secs() < 20, "took {took:?}");
    }
}
