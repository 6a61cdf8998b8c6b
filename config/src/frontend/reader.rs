//! keepalived's `read_line()`: turning files into located logical lines
//! and feeding them to the tree builder.
//!
//! Lines come from a stack of generated lines (the rest of a line after a
//! brace, the remaining lines of a multi-line definition, `~SEQ`/`~LST`
//! repetitions) which always take priority, then from a stack of files
//! (the newest `include` first). This is keepalived's order: a `~SEQ`
//! generating `include` lines finishes before any included file is read.

use super::defs::{self, Ctx, Defs};
use super::include;
use super::lexer::{self, QeError};
use super::tree::TreeBuilder;
use crate::LoadOptions;
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc, Severity};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// How deep includes may nest (keepalived has no limit and recurses until
/// it runs out of file descriptors on an include loop).
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Most lines `~SEQ`/`~LST` may generate in one configuration.
pub const MAX_GENERATED_LINES: usize = 1_000_000;
/// Most passes over one line (definitions producing definitions ...).
const MAX_RECHECK: usize = 100;
/// Most patterns one `include` may expand to through braces.
const MAX_BRACE_PATTERNS: usize = 4096;

// keepalived's include check bits.
const INCLUDE_R: u8 = 1;
const INCLUDE_M: u8 = 2;
const INCLUDE_W: u8 = 4;
const INCLUDE_B: u8 = 8;

/// Keywords whose handlers re-read their whole line with keepalived's
/// quoted/escaped splitter (`alloc_strvec_quoted_escaped`): script command
/// lines. Their arguments follow `'...'`, `"..."` and `\` escapes.
pub const SCRIPT_KEYWORDS: &[&str] = &[
    "script",
    "misc_path",
    "regex",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "notify_up",
    "notify_down",
    "quorum_up",
    "quorum_down",
    "notify_fifo_script",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo_script",
    "startup_script",
    "shutdown_script",
];

/// A file being read, shared by the lines it produces.
struct FileCtx {
    path: Arc<PathBuf>,
    /// Folder relative includes resolve against.
    dir: PathBuf,
    /// `${_PWD}`: absolute, symlinks resolved where possible.
    pwd: PathBuf,
    /// Canonical paths of this file and the files that included it.
    chain: Vec<PathBuf>,
    /// The file had bytes that are not UTF-8 (replaced on reading).
    lossy: bool,
}

struct FileSrc {
    ctx: Rc<FileCtx>,
    text: Rc<str>,
    pos: usize,
    line_no: u32,
}

enum Gen {
    /// Literal lines (brace residue, multi-line definition lines), stored
    /// reversed so the next one pops off the end.
    Lines(Vec<String>),
    Seq(defs::SeqSpec),
    Lst {
        spec: defs::LstSpec,
        next: usize,
    },
}

struct GenSrc {
    kind: Gen,
    loc: Loc,
    ctx: Rc<FileCtx>,
    /// Definitions whose expansion produced these lines.
    active: Active,
}

/// Names of the definitions expanded in a line's ancestry (see
/// [`Defs::replace`]).
type Active = Rc<Vec<String>>;

/// A line to process, with where it comes from.
struct Raw {
    text: String,
    loc: Loc,
    ctx: Rc<FileCtx>,
    active: Active,
}

pub struct Reader<'o> {
    opts: &'o LoadOptions,
    /// `${_INSTANCE}`: the instance name, else the config id.
    instance: String,
    builder: TreeBuilder,
    defs: Defs,
    gens: Vec<GenSrc>,
    files: Vec<FileSrc>,
    /// Name of a multi-line definition still being read.
    ml_def: Option<String>,
    block_depth: i64,
    include_check: u8,
    generated: usize,
    gen_limit_hit: bool,
    /// The empty [`Active`] set, shared by all file lines.
    no_active: Active,
}

/// Largest configuration file read (keepalived streams files; we read them
/// whole, so something like `include /proc/kcore` must not exhaust memory).
pub const MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// Read a whole file, refusing more than [`MAX_FILE_SIZE`] bytes.
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_SIZE} bytes"
        )));
    }
    Ok(bytes)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path))
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Split `text` at the next `\n`, from `pos`.
fn next_line(text: &str, pos: usize) -> Option<(&str, usize)> {
    if pos >= text.len() {
        return None;
    }
    let rest = &text[pos..];
    match rest.as_bytes().iter().position(|&b| b == b'\n') {
        Some(n) => Some((&rest[..n], pos + n + 1)),
        None => Some((rest, text.len())),
    }
}

/// keepalived's `is_include`: `include` or `include[rmwba]` followed by
/// white space. Returns the include type bits and the pattern.
fn is_include(buf: &str) -> Option<(u8, &str)> {
    let b = buf.as_bytes();
    if !buf.starts_with("include") || b.len() <= 7 {
        return None;
    }
    let (bits, at) = if lexer::is_white(b[7]) {
        (0, 8)
    } else if b.len() > 8 && lexer::is_white(b[8]) {
        let bits = match b[7] {
            b'r' => INCLUDE_R,
            b'a' => INCLUDE_R | INCLUDE_M | INCLUDE_B | INCLUDE_W,
            b'w' => INCLUDE_R | INCLUDE_M | INCLUDE_W,
            b'm' => INCLUDE_R | INCLUDE_M,
            b'b' => INCLUDE_R | INCLUDE_B,
            _ => return None,
        };
        (bits, 9)
    } else {
        return None;
    };
    let rest = &buf[at..];
    let skip = lexer::blank_prefix(rest.as_bytes());
    Some((bits, &rest[skip..]))
}

impl<'o> Reader<'o> {
    pub fn new(opts: &'o LoadOptions) -> Self {
        Self {
            opts,
            instance: opts
                .instance
                .clone()
                .or_else(|| opts.config_id.clone())
                .unwrap_or_default(),
            builder: TreeBuilder::new(),
            defs: Defs::new(),
            gens: Vec::new(),
            files: Vec::new(),
            ml_def: None,
            block_depth: 0,
            include_check: if opts.all_config {
                INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B
            } else {
                0
            },
            generated: 0,
            gen_limit_hit: false,
            no_active: Rc::new(Vec::new()),
        }
    }

    fn file_ctx(path: &Path, chain: &[PathBuf], lossy: bool) -> Rc<FileCtx> {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let pwd = if dir.as_os_str().is_empty() {
            canonical(Path::new("."))
        } else {
            canonical(&dir)
        };
        let mut chain = chain.to_vec();
        chain.push(canonical(path));
        Rc::new(FileCtx {
            path: Arc::new(path.to_path_buf()),
            dir,
            pwd,
            chain,
            lossy,
        })
    }

    fn push_text(&mut self, path: &Path, chain: &[PathBuf], bytes: Vec<u8>) {
        let (text, lossy): (Rc<str>, bool) = match String::from_utf8(bytes) {
            Ok(s) => (s.into(), false),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into(), true),
        };
        self.files.push(FileSrc {
            ctx: Self::file_ctx(path, chain, lossy),
            text,
            pos: 0,
            line_no: 0,
        });
    }

    /// Read the main configuration file.
    pub fn run_file(&mut self, path: &Path, diags: &mut Diagnostics) {
        match read_limited(path) {
            Ok(bytes) => {
                self.push_text(path, &[], bytes);
                self.run(diags);
            }
            Err(e) => {
                let msg = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("Config files missing '{}'.", path.display())
                } else {
                    format!("Unable to read configuration file {} ({e})", path.display())
                };
                diags.push(Severity::Error, None, msg);
            }
        }
    }

    /// Read configuration text held in memory, named `name`.
    pub fn run_text(&mut self, name: &Path, text: &str, diags: &mut Diagnostics) {
        self.push_text(name, &[], text.as_bytes().to_vec());
        self.run(diags);
    }

    fn run(&mut self, diags: &mut Diagnostics) {
        while let Some(raw) = self.next_raw(diags) {
            self.handle(raw, diags);
        }
        if let Some(name) = self.ml_def.take() {
            self.end_ml_def(&name);
        }
    }

    fn end_ml_def(&mut self, name: &str) {
        if let Some(d) = self.defs.get_mut(name)
            && d.value.is_empty()
        {
            d.multiline = false;
        }
    }

    /// The next line to process: generated lines first, then files.
    fn next_raw(&mut self, diags: &mut Diagnostics) -> Option<Raw> {
        loop {
            if let Some(top) = self.gens.last_mut() {
                let loc = top.loc.clone();
                let ctx = top.ctx.clone();
                let active = top.active.clone();
                let (line, done) = match &mut top.kind {
                    Gen::Lines(v) => {
                        let l = v.pop();
                        let done = v.is_empty();
                        (l, done)
                    }
                    Gen::Seq(s) => {
                        let val = if s.hex {
                            format!("{:x}", s.start)
                        } else {
                            s.start.to_string()
                        };
                        let var = s.var.clone();
                        let text = s.text.clone();
                        let done = match s.start.checked_add(s.step) {
                            Some(n) => {
                                s.start = n;
                                (s.step > 0 && n > s.end) || (s.step < 0 && n < s.end)
                            }
                            None => true,
                        };
                        self.defs.set(&var, val);
                        (Some(text), done)
                    }
                    Gen::Lst { spec, next } => {
                        let set = spec.values.get(*next).cloned().unwrap_or_default();
                        for (var, val) in spec.vars.iter().zip(set) {
                            self.defs.set(var, val);
                        }
                        *next += 1;
                        (Some(spec.text.clone()), *next >= spec.values.len())
                    }
                };
                if done {
                    self.gens.pop();
                }
                match line {
                    Some(text) => {
                        return Some(Raw {
                            text,
                            loc,
                            ctx,
                            active,
                        });
                    }
                    None => continue,
                }
            }
            let file = self.files.last_mut()?;
            let Some((raw, next)) = next_line(&file.text, file.pos) else {
                self.files.pop();
                continue;
            };
            file.pos = next;
            file.line_no = file.line_no.saturating_add(1);
            let loc = Loc::new(file.ctx.path.clone(), file.line_no);
            let ctx = file.ctx.clone();
            // C strings: a NUL ends the line.
            let raw = raw.split('\0').next().unwrap_or("");
            let raw = raw.trim_end_matches(['\r', '\n']);
            if raw.is_empty() {
                if let Some(name) = self.ml_def.take() {
                    self.end_ml_def(&name);
                }
                continue;
            }
            let d = lexer::decomment(raw);
            if d.unterminated_quote {
                diags.warn(&loc, format!("Unterminated quote '{}'", d.text));
            }
            if d.text.is_empty() {
                continue;
            }
            return Some(Raw {
                text: d.text,
                loc,
                ctx,
                active: self.no_active.clone(),
            });
        }
    }

    fn push_gen(&mut self, kind: Gen, loc: &Loc, ctx: &Rc<FileCtx>, active: &Active) {
        self.gens.push(GenSrc {
            kind,
            loc: loc.clone(),
            ctx: ctx.clone(),
            active: active.clone(),
        });
    }

    /// Count a generated `~SEQ`/`~LST` line set against the budget.
    fn budget(&mut self, n: usize, loc: &Loc, diags: &mut Diagnostics) -> bool {
        self.generated = self.generated.saturating_add(n);
        if self.generated > MAX_GENERATED_LINES {
            if !self.gen_limit_hit {
                diags.error(
                    loc,
                    format!(
                        "~SEQ/~LST and multi-line definitions would generate more than {MAX_GENERATED_LINES} lines - ignoring"
                    ),
                );
                self.gen_limit_hit = true;
            }
            return false;
        }
        true
    }

    fn handle(&mut self, raw: Raw, diags: &mut Diagnostics) {
        let Raw {
            text: mut buf,
            loc,
            ctx,
            active: mut child_active,
        } = raw;
        let (loc, ctx) = (&loc, &ctx);
        // Lines continuing a multi-line definition.
        if let Some(name) = self.ml_def.clone() {
            let cont = buf.ends_with('\\');
            if cont {
                buf.pop();
                lexer::trim_blank_end(&mut buf);
                buf.push('\n');
            }
            // Blank lines (a lone `\`) are not added.
            let add = buf.len() >= 2 || (!buf.is_empty() && !cont);
            if add && let Some(d) = self.defs.get_mut(&name) {
                d.value.push_str(&buf);
            }
            if !cont {
                self.ml_def = None;
                self.end_ml_def(&name);
            }
            return;
        }
        if buf.is_empty() {
            return;
        }
        let mut passes = 0;
        let mut subst_budget = defs::MAX_SUBST_COUNT;
        loop {
            let mut recheck = false;
            if buf.starts_with('@') {
                let (rev, ofs) = if buf[1..].starts_with('^') {
                    (true, 2)
                } else {
                    (false, 1)
                };
                let Some(sp) = buf[ofs..].find([' ', '\t']).map(|p| p + ofs) else {
                    return;
                };
                let id = &buf[ofs..sp];
                let matches = self.opts.config_id.as_deref() == Some(id);
                if matches == rev {
                    return;
                }
                let rest = sp + lexer::blank_prefix(&buf.as_bytes()[sp..]);
                buf.drain(..rest);
            }
            if buf.starts_with('$')
                && let Some(name) = self.defs.check_definition(&buf)
            {
                if self.defs.get_mut(&name).is_some_and(|d| d.multiline) {
                    self.ml_def = Some(name);
                }
                return;
            }
            if buf.starts_with("~SEQ") || buf.starts_with("~LST") {
                let ctx_s = Ctx {
                    pwd: &ctx.pwd,
                    instance: &self.instance,
                };
                if buf.as_bytes()[1] == b'S' {
                    match defs::parse_seq(&buf, &mut self.defs, &ctx_s) {
                        Ok(spec) => {
                            let n = spec
                                .end
                                .abs_diff(spec.start)
                                .checked_div(spec.step.unsigned_abs())
                                .unwrap_or(0)
                                .saturating_add(1);
                            let n = usize::try_from(n).unwrap_or(usize::MAX);
                            if self.budget(n, loc, diags) {
                                self.push_gen(Gen::Seq(spec), loc, ctx, &child_active);
                            }
                        }
                        Err(msgs) => {
                            for m in msgs {
                                diags.warn(loc, m);
                            }
                            diags.warn(loc, format!("Invalid ~SEQ specification '{buf}'"));
                        }
                    }
                } else {
                    match defs::parse_lst(&buf) {
                        Ok(spec) => {
                            if self.budget(spec.values.len(), loc, diags) {
                                self.push_gen(Gen::Lst { spec, next: 0 }, loc, ctx, &child_active);
                            }
                        }
                        Err(msgs) => {
                            for m in msgs {
                                diags.warn(loc, m);
                            }
                            diags.warn(loc, format!("Invalid ~LST specification '{buf}'"));
                        }
                    }
                }
                return;
            }
            if buf.starts_with('~') {
                break;
            }
            if buf.contains('$') {
                let ctx_s = Ctx {
                    pwd: &ctx.pwd,
                    instance: &self.instance,
                };
                let sub = self
                    .defs
                    .replace(&mut buf, &ctx_s, &mut subst_budget, &child_active);
                let failed = sub.error.is_some();
                if let Some(e) = sub.error {
                    diags.warn(loc, e);
                }
                // The remaining lines of a multi-line definition descend
                // from it and from what was replaced before it on this line;
                // a brace residue or a `~SEQ` from everything replaced.
                let with = |base: &Active, names: &[String]| -> Active {
                    if names.is_empty() {
                        return base.clone();
                    }
                    let mut a = base.as_ref().clone();
                    for n in names {
                        if !a.contains(n) {
                            a.push(n.clone());
                        }
                    }
                    Rc::new(a)
                };
                for (group, upto) in sub.more_lines {
                    let mut lines = group;
                    lines.reverse();
                    if !lines.is_empty() && self.budget(lines.len(), loc, diags) {
                        let a = with(&child_active, &sub.names[..upto]);
                        self.push_gen(Gen::Lines(lines), loc, ctx, &a);
                    }
                }
                child_active = with(&child_active, &sub.names);
                // keepalived stops (keeping the line as far as it got) when
                // nothing changed or substitution failed.
                if !sub.changed || failed {
                    break;
                }
                let d = lexer::decomment(&buf);
                if d.unterminated_quote {
                    diags.warn(loc, format!("Unterminated quote '{}'", d.text));
                }
                buf = d.text;
                if buf.starts_with('@') || buf.contains('$') {
                    recheck = true;
                }
            }
            if !recheck {
                break;
            }
            passes += 1;
            if passes > MAX_RECHECK {
                diags.warn(
                    loc,
                    format!("Definitions on line '{buf}' keep producing definitions - giving up"),
                );
                break;
            }
        }
        if buf.is_empty() {
            return;
        }
        if let Some((bits, pattern)) = is_include(&buf) {
            let pattern = pattern.to_string();
            self.include(&pattern, bits, loc, ctx, diags);
            return;
        }
        let (head, residue) = lexer::split_at_brace(&buf);
        if let Some(r) = residue {
            self.push_gen(Gen::Lines(vec![r.to_string()]), loc, ctx, &child_active);
        }
        match head {
            "{" => self.block_depth += 1,
            "}" => {
                self.block_depth -= 1;
                if self.block_depth < 0 {
                    diags.warn(loc, "Extra '}' found");
                    self.block_depth = 0;
                }
            }
            _ => {}
        }
        self.emit(head, loc, ctx, diags);
    }

    /// Hand one split line to the tree builder.
    fn emit(&mut self, line: &str, loc: &Loc, ctx: &Rc<FileCtx>, diags: &mut Diagnostics) {
        let (mut words, unmatched) = lexer::split_words(line);
        if unmatched {
            diags.warn(loc, format!("Unmatched quote: '{line}'"));
        }
        let Some(first) = words.first() else {
            return;
        };
        match first.as_str() {
            "{" => return self.builder.open(loc),
            "}" => return self.builder.close(loc),
            _ => {}
        }
        if SCRIPT_KEYWORDS.contains(&first.as_str()) {
            match lexer::split_quoted_escaped(line) {
                Ok(w) if !w.is_empty() => words = w,
                Ok(_) => {}
                Err(QeError::MissingTerminator(q)) => {
                    diags.warn(loc, format!("String '{line}': missing terminating {q}"));
                    words.truncate(1);
                }
                Err(QeError::MissingEscapeChar) => words.truncate(1),
            }
        }
        if ctx.lossy && words.iter().any(|w| w.contains('\u{FFFD}')) {
            diags.warn(
                loc,
                "Configuration text is not valid UTF-8 - invalid bytes replaced by U+FFFD",
            );
        }
        if words[0] == "include_check" && self.builder.in_top_block("global_defs") {
            self.include_check_set(&words[1..], loc, diags);
        }
        self.builder.statement(words, loc);
    }

    /// keepalived's `include_check_set` (global_defs `include_check`).
    fn include_check_set(&mut self, words: &[String], loc: &Loc, diags: &mut Diagnostics) {
        if words.is_empty() {
            self.include_check = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B;
            return;
        }
        for (i, word) in words.iter().enumerate() {
            let (op, name) = match word.as_bytes().first() {
                Some(b'-') => (-1, &word[1..]),
                Some(b'+') => (1, &word[1..]),
                _ => {
                    if i == 0 {
                        self.include_check = 0;
                    } else {
                        diags.warn(
                            loc,
                            format!("Duplicate include_check '{word}' specified - ignoring"),
                        );
                        continue;
                    }
                    (0, word.as_str())
                }
            };
            let flag = match name {
                "read" => INCLUDE_R,
                "match" => INCLUDE_M,
                "wildcard_match" => INCLUDE_W,
                "brace_match" => INCLUDE_B,
                _ => {
                    diags.warn(
                        loc,
                        format!("Unknown include_check type '{name}' - ignoring"),
                    );
                    0
                }
            };
            if flag != 0 {
                match op {
                    0 => self.include_check = INCLUDE_R | flag,
                    1 => self.include_check |= flag,
                    _ => self.include_check &= !flag,
                }
            }
        }
    }

    /// keepalived's `file_config_error`. When the include type or
    /// `include_check` asks for this kind of check it is a
    /// `CONFIG_FILE_NOT_FOUND` error, for which `keepalived -t` exits 6
    /// (and the daemon does not start): [`Severity::Security`] is the
    /// severity with those consequences. Otherwise keepalived prints the
    /// message without counting it as a configuration problem (`-t` still
    /// exits 0): a notice.
    fn file_error(&self, bits: u8, kind: u8, loc: &Loc, msg: String, diags: &mut Diagnostics) {
        if (bits | self.include_check) & kind != 0 {
            diags.security(Some(loc), msg);
        } else {
            diags.notice(loc, msg);
        }
    }

    fn include(
        &mut self,
        pattern: &str,
        bits: u8,
        loc: &Loc,
        ctx: &Rc<FileCtx>,
        diags: &mut Diagnostics,
    ) {
        if ctx.chain.len() >= MAX_INCLUDE_DEPTH {
            diags.error(
                loc,
                format!(
                    "include '{pattern}': includes nested more than {MAX_INCLUDE_DEPTH} deep - skipping"
                ),
            );
            return;
        }
        let absolute_pattern = pattern.starts_with('/');
        let brace = include::has_brace(pattern);
        let mut files: Vec<PathBuf> = Vec::new();
        let mut missing = false;
        let mut wildcards = false;
        let alts = include::expand_braces(pattern, MAX_BRACE_PATTERNS);
        for alt in &alts {
            let r = include::glob_one(&ctx.dir, alt);
            missing |= r.missing;
            wildcards |= r.wildcards;
            files.extend(r.paths);
        }
        if files.is_empty() {
            if missing {
                let kind = if brace { INCLUDE_B } else { INCLUDE_M };
                self.file_error(
                    bits,
                    kind,
                    loc,
                    format!("Config files missing '{pattern}'."),
                    diags,
                );
            } else if wildcards && (bits | self.include_check) & INCLUDE_W != 0 {
                // keepalived says nothing at all without the wildcard check.
                self.file_error(
                    bits,
                    INCLUDE_W,
                    loc,
                    format!("No config files matched '{pattern}'."),
                    diags,
                );
            }
            return;
        }
        // Some alternatives of a brace pattern matched, others are missing:
        // with the brace check on, keepalived reports it and reads none.
        if missing {
            let msg = format!("Some config files missing: \"{pattern}\".");
            self.file_error(bits, INCLUDE_B, loc, msg, diags);
            if (bits | self.include_check) & INCLUDE_B != 0 {
                return;
            }
        }
        let display = |p: &Path| -> String {
            let shown = if absolute_pattern {
                p
            } else {
                p.strip_prefix(&ctx.dir).unwrap_or(p)
            };
            shown.display().to_string()
        };
        let mut to_read: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for f in files {
            let meta = std::fs::metadata(&f);
            if meta.as_ref().is_ok_and(|m| m.is_dir()) {
                self.file_error(
                    bits,
                    INCLUDE_R,
                    loc,
                    format!(
                        "Configuration file '{}/' is a directory - skipping",
                        display(&f)
                    ),
                    diags,
                );
                continue;
            }
            let regular = meta.as_ref().is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 == 0
            });
            if !regular {
                self.file_error(
                    bits,
                    INCLUDE_R,
                    loc,
                    format!(
                        "Configuration file '{}' is not a regular non-executable file - skipping",
                        display(&f)
                    ),
                    diags,
                );
                continue;
            }
            let canon = canonical(&f);
            if ctx.chain.contains(&canon) {
                diags.error(
                    loc,
                    format!(
                        "Configuration file '{}' is already being read (include loop) - skipping",
                        display(&f)
                    ),
                );
                continue;
            }
            match read_limited(&f) {
                Ok(bytes) => to_read.push((f, bytes)),
                Err(e) => self.file_error(
                    bits,
                    INCLUDE_R,
                    loc,
                    format!(
                        "Configuration file '{}' open problem ({e}) - skipping",
                        display(&f)
                    ),
                    diags,
                ),
            }
        }
        // The file stack is read from the end: push the last match first.
        for (f, bytes) in to_read.into_iter().rev() {
            self.push_text(&f, &ctx.chain, bytes);
        }
    }

    pub fn finish(self, diags: &mut Diagnostics) -> Vec<Node> {
        if self.block_depth > 0 {
            diags.push(
                Severity::Warning,
                None,
                format!(
                    "There are {} missing '}}'s or extra '{{'s",
                    self.block_depth
                ),
            );
        }
        self.builder.finish()
    }
}
