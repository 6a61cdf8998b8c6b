//! Turning files into located logical lines and feeding them to the tree
//! builder, following `include` directives.

use super::lexer::{self, LexProblem, Tok};
use super::tree::TreeBuilder;
use crate::LoadOptions;
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How deep includes may nest before we stop following them.
pub const MAX_INCLUDE_DEPTH: usize = 32;

pub struct Reader<'o> {
    #[allow(dead_code)]
    opts: &'o LoadOptions,
    builder: TreeBuilder,
    /// Files being read, outermost first (canonical paths where possible).
    include_stack: Vec<PathBuf>,
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl<'o> Reader<'o> {
    pub fn new(opts: &'o LoadOptions) -> Self {
        Self {
            opts,
            builder: TreeBuilder::new(),
            include_stack: Vec::new(),
        }
    }

    pub fn run_file(&mut self, path: &Path, diags: &mut Diagnostics) {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                self.run_text(path, &text, diags);
            }
            Err(e) => diags.push(
                crate::diag::Severity::Error,
                None,
                format!(
                    "Configuration file '{}' cannot be read: {e}",
                    path.display()
                ),
            ),
        }
    }

    pub fn run_text(&mut self, name: &Path, text: &str, diags: &mut Diagnostics) {
        let file = Arc::new(name.to_path_buf());
        self.include_stack.push(canonical(name));
        for (i, line) in text.lines().enumerate() {
            let loc = Loc::new(file.clone(), u32::try_from(i + 1).unwrap_or(u32::MAX));
            self.line(line, &loc, diags);
        }
        self.include_stack.pop();
    }

    fn line(&mut self, line: &str, loc: &Loc, diags: &mut Diagnostics) {
        let (toks, problems) = lexer::tokenize(line);
        for p in problems {
            match p {
                LexProblem::UnterminatedQuote(q) => {
                    diags.warn(loc, format!("Unterminated {q} quoted string"))
                }
            }
        }
        if let Some(Tok::Word(w)) = toks.first()
            && w == "include"
        {
            let args: Vec<&str> = toks[1..]
                .iter()
                .filter_map(|t| match t {
                    Tok::Word(w) => Some(w.as_str()),
                    _ => None,
                })
                .collect();
            match args.first() {
                Some(pattern) => self.include(pattern, loc, diags),
                None => diags.error(loc, "include directive without a file name"),
            }
            return;
        }
        self.builder.line(toks, loc, diags);
    }

    fn include(&mut self, pattern: &str, loc: &Loc, diags: &mut Diagnostics) {
        if self.include_stack.len() >= MAX_INCLUDE_DEPTH {
            diags.error(
                loc,
                format!("include '{pattern}': includes nested more than {MAX_INCLUDE_DEPTH} deep"),
            );
            return;
        }
        let base = loc.file.parent().map(Path::to_path_buf).unwrap_or_default();
        let full = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            base.join(pattern)
        };
        let full_s = full.to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = match glob::glob(&full_s) {
            Ok(paths) => paths.filter_map(Result::ok).collect(),
            Err(e) => {
                diags.error(loc, format!("Invalid include pattern '{pattern}': {e}"));
                return;
            }
        };
        files.sort();
        if files.is_empty() {
            diags.warn(loc, format!("No config files matched '{pattern}'."));
            return;
        }
        for f in files {
            let c = canonical(&f);
            if self.include_stack.contains(&c) {
                diags.error(
                    loc,
                    format!("Include loop: '{}' is already being read", f.display()),
                );
                continue;
            }
            self.run_file(&f, diags);
        }
    }

    pub fn finish(self, diags: &mut Diagnostics) -> Vec<Node> {
        self.builder.finish(diags)
    }
}
