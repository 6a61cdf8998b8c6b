//! `include` patterns: brace expansion, globbing, file checks.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Expand `{a,b}` alternatives the way glibc's `GLOB_BRACE` does: the
/// first (outermost, leftmost) brace group is expanded, each alternative
/// expanded again recursively, results in order. `\` escapes a brace or
/// comma. A `{` without a matching `}` is kept literally. At most `limit`
/// patterns are produced.
pub fn expand_braces(pattern: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, limit, &mut out);
    out
}

fn expand_into(pattern: &str, limit: usize, out: &mut Vec<String>) {
    if out.len() >= limit {
        return;
    }
    let b = pattern.as_bytes();
    // Find the first unescaped '{' that has a matching '}'.
    let mut i = 0;
    let mut group = None;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => {
                if let Some((close, commas)) = matching_brace(b, i) {
                    group = Some((i, close, commas));
                    break;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    let Some((open, close, commas)) = group else {
        out.push(pattern.to_string());
        return;
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut start = open + 1;
    for c in commas.into_iter().chain(std::iter::once(close)) {
        let alt = &pattern[start..c];
        let mut s = String::with_capacity(prefix.len() + alt.len() + suffix.len());
        s.push_str(prefix);
        s.push_str(alt);
        s.push_str(suffix);
        expand_into(&s, limit, out);
        start = c + 1;
    }
}

/// The `}` closing the `{` at `open`, and the top-level commas inside.
fn matching_brace(b: &[u8], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                if depth == 0 {
                    return Some((i, commas));
                }
                depth -= 1;
            }
            b',' if depth == 0 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Does the pattern have a `{` not escaped by `\` (keepalived's
/// `have_brace`)?
pub fn has_brace(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => return true,
            _ => i += 1,
        }
    }
    false
}

fn has_magic(s: &str) -> bool {
    s.bytes().any(|c| matches!(c, b'*' | b'?' | b'['))
}

/// What globbing one alternative found.
#[derive(Debug, Default)]
pub struct GlobResult {
    /// Matches, sorted bytewise (glibc sorts with `strcmp` in the C
    /// locale).
    pub paths: Vec<PathBuf>,
    /// A literal file, or a folder to search, did not exist.
    pub missing: bool,
    /// The pattern had wildcards.
    pub wildcards: bool,
}

/// Glob one (brace-free) pattern, already joined to its base folder.
pub fn glob_one(full: &str) -> GlobResult {
    let mut r = GlobResult::default();
    if !has_magic(full) {
        let p = PathBuf::from(unescape(full));
        if std::fs::symlink_metadata(&p).is_ok() {
            r.paths.push(p);
        } else {
            r.missing = true;
        }
        return r;
    }
    r.wildcards = true;
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    match glob::glob_with(full, opts) {
        Ok(paths) => {
            r.paths = paths.filter_map(Result::ok).collect();
            if r.paths.is_empty() {
                // glibc counts a folder it could not open as missing.
                let dir = literal_dir_prefix(full);
                if !dir.as_os_str().is_empty() && !dir.is_dir() {
                    r.missing = true;
                }
            }
        }
        Err(_) => {
            // glibc takes a malformed bracket expression literally.
            let p = PathBuf::from(full);
            if std::fs::symlink_metadata(&p).is_ok() {
                r.paths.push(p);
            } else {
                r.missing = true;
            }
        }
    }
    r.paths
        .sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    r
}

/// The folder part of `pattern` before the first component with wildcards.
fn literal_dir_prefix(pattern: &str) -> PathBuf {
    let mut dir = PathBuf::new();
    for comp in Path::new(pattern).components() {
        let s = comp.as_os_str().to_string_lossy();
        if has_magic(&s) {
            break;
        }
        dir.push(comp);
    }
    dir
}

/// Remove `\` escapes (glob quoting) from a literal pattern.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_in_order_and_nest() {
        assert_eq!(expand_braces("a{b,c}d", 100), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{x,y{1,2}}/{p,q}", 100),
            vec!["x/p", "x/q", "y1/p", "y1/q", "y2/p", "y2/q"]
        );
        assert_eq!(expand_braces("a{b", 100), vec!["a{b"]);
        assert_eq!(expand_braces(r"a\{b,c}", 100), vec![r"a\{b,c}"]);
        assert_eq!(expand_braces("{a,b}{c,d}{e,f}", 3).len(), 3);
        assert!(has_brace("x{a}") && !has_brace(r"x\{a}"));
    }
}
