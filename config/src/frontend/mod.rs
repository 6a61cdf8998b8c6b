//! The keepalived.conf language, as keepalived 2.2.7's `lib/parser.c`
//! reads it (checked against `keepalived -t`).
//!
//! # What is understood
//!
//! - **Lines and comments.** A `#` or `!` outside `"` quotes starts a
//!   comment anywhere on a line; `\#` and `\!` are literal. CR/LF line
//!   ends; a NUL ends a line. Bytes that are not UTF-8 are replaced (and
//!   reported when they end up in a statement).
//! - **Blocks.** `{` and `}` outside `"` quotes split the line, so
//!   `authentication { auth_type PASS }` on one line, `{` on the next line,
//!   and text after a `}` all work. A `{` opens a block for the statement
//!   on the line just before it. Any other brace (a `{` not after a
//!   statement, a `}` at the top level, the braces of blocks nested deeper
//!   than 32) stays in the tree as a statement `{` or `}` of its own, so
//!   that the model can read the lines as keepalived does (a block is only
//!   a block for keywords that have one: `model::relevel`, which reports
//!   misplaced braces). Brace balance is counted as keepalived counts it
//!   ("Extra '}' found", "There are N missing '}'s or extra '{'s").
//! - **Words.** Separated by white space; `"..."` groups words (no
//!   escapes, quotes removed). Statements whose keyword is one of
//!   [`SCRIPT_KEYWORDS`] are split as keepalived's script handlers re-split
//!   them: `"..."` and `'...'` quoting and `\` escapes
//!   ([`split_quoted_escaped`], also for splitting the command string
//!   itself).
//! - **`include PATTERN`** (and keepalived's `includer`, `includem`,
//!   `includew`, `includeb`, `includea`, plus `include_check` in
//!   `global_defs`): glob and `{a,b}` patterns, relative to the including
//!   file's folder, each brace alternative's matches sorted bytewise,
//!   folders and executable files skipped. Problems are reported as
//!   keepalived reports them: notices for plain includes, errors
//!   ([`crate::Severity::Security`], `-t` exit 6) when a check asks for
//!   them. Include loops and nesting beyond 32 are errors (keepalived
//!   would recurse until it fails).
//! - **Definitions.** `$NAME=VALUE`, continued over lines by a trailing
//!   `\` (a blank line ends it); `$NAME` (followed by a blank, `,`, `)` or
//!   the end of the line) and `${NAME}` are replaced anywhere on a line,
//!   quotes included; replaced text is scanned again. A multi-line
//!   definition expands to several lines and only at the end of a line.
//!   Undefined names stay as they are. Predefined: `${_PWD}` (folder of
//!   the file being read), `${_INSTANCE}` (instance name, else config id),
//!   `${_RANDOM}` / `${_RANDOM MIN}` / `${_RANDOM MIN MAX}` (default 0 to
//!   32767), `$_HASH` (`#`) and `$_BANG` (`!`). keepalived 2.2.7 has no
//!   environment lookup. Definitions that expand to themselves stop
//!   instead of looping forever as keepalived does.
//! - **`@ID` / `@^ID`** line prefixes against `LoadOptions::config_id`
//!   (with no id, `@ID` lines are dropped and `@^ID` lines kept).
//! - **`~SEQ(VAR, END)`, `~SEQ(VAR, START, END)`, `~SEQ(VAR, START, STEP,
//!   END)`, `~SEQx(...)`** (hexadecimal values) and **`~LST(VAR, V1, V2,
//!   ...)`, `~LST({A, B}, {A1, B1}, {A2, B2}, ...)`** repeat the rest of
//!   the line, nested freely, with keepalived's messages for bad forms.
//!   At most 1,000,000 lines are generated.
//!
//! Every [`Node`] carries the file and line it comes from; lines produced
//! by definitions or repetitions carry the line that produced them.
//!
//! # Pipeline
//!
//! `reader` is keepalived's `read_line`: it turns files into logical
//! lines (see above) and hands them to `tree`, which assembles the
//! statement tree. `lexer` holds the character-level pieces, `defs`
//! definitions and repetitions, `include` pattern expansion.

mod defs;
mod include;
mod lexer;
mod reader;
mod tree;

#[cfg(test)]
mod tests;

use crate::LoadOptions;
use crate::ast::Node;
use crate::diag::Diagnostics;
use std::path::Path;

pub use lexer::{QeError, split_quoted_escaped};
pub use reader::SCRIPT_KEYWORDS;

/// Read `path` and everything it includes; return the statement tree.
/// Problems (missing file, unbalanced braces, include cycles, ...) are
/// pushed to `diags` with their file:line; this never panics.
pub fn parse_file(path: &Path, opts: &LoadOptions, diags: &mut Diagnostics) -> Vec<Node> {
    let mut r = reader::Reader::new(opts);
    r.run_file(path, diags);
    r.finish(diags)
}

/// As [`parse_file`] for text already in memory named `name`.
pub fn parse_str(
    name: &Path,
    text: &str,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut r = reader::Reader::new(opts);
    r.run_text(name, text, diags);
    r.finish(diags)
}
