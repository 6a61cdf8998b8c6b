//! Character-level pieces of keepalived's line reader: comment removal,
//! splitting a line at block braces, and the two word splitters keepalived
//! uses (the general one, and the quoted/escaped one used for scripts).
//!
//! keepalived works on C strings in the "C" locale, so every class test
//! here is ASCII-only and every split happens at an ASCII byte, which keeps
//! the UTF-8 of the rest intact.

/// keepalived's `WHITE_SPACE`: `" \t\f\n\r\v"`.
pub fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' | b'\x0b')
}

/// `isblank()`: space or tab.
pub fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Number of leading bytes of `s` in `set` (like `strspn` over blanks).
pub fn blank_prefix(s: &[u8]) -> usize {
    s.iter().take_while(|&&b| is_blank(b)).count()
}

/// Remove trailing spaces and tabs.
pub fn trim_blank_end(s: &mut String) {
    let n = s.trim_end_matches([' ', '\t']).len();
    s.truncate(n);
}

/// The result of [`decomment`].
#[derive(Debug, PartialEq, Eq)]
pub struct Decommented {
    /// The line without comment, leading blanks or trailing blanks. A line
    /// continuation (`\` at the very end) is kept as a final `\`.
    pub text: String,
    /// A `"` was opened and not closed (reported by keepalived as
    /// "Unterminated quote").
    pub unterminated_quote: bool,
}

/// keepalived's `decomment()`: strip leading blanks; cut the line at the
/// first `#` or `!` outside `"` quotes; turn `\#` and `\!` outside quotes
/// into `#` and `!`; keep other escapes as they are; a `\` ending the line
/// marks a continuation and is kept (blanks before it are removed); strip
/// trailing blanks.
pub fn decomment(line: &str) -> Decommented {
    let bytes = line.as_bytes();
    let start = blank_prefix(bytes);
    let src = &bytes[start..];
    let mut out: Vec<u8> = Vec::with_capacity(src.len());
    let mut quote = false;
    let mut cont = false;
    let mut comment_at: Option<usize> = None;
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        match b {
            b'"' => {
                if comment_at.is_none() {
                    quote = !quote;
                }
                out.push(b);
                i += 1;
            }
            b'\\' => {
                if i + 1 < src.len() {
                    let n = src[i + 1];
                    if !quote && (n == b'#' || n == b'!') {
                        out.push(n);
                    } else {
                        out.push(b);
                        out.push(n);
                    }
                    i += 2;
                } else {
                    cont = true;
                    break;
                }
            }
            b'#' | b'!' => {
                if !quote && comment_at.is_none() {
                    comment_at = Some(out.len());
                }
                out.push(b);
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    if let Some(at) = comment_at {
        out.truncate(at);
    }
    while out.last().is_some_and(|&b| is_blank(b)) {
        out.pop();
    }
    if cont {
        out.push(b'\\');
    }
    Decommented {
        // Only ASCII bytes were removed or moved, so this stays UTF-8; the
        // lossy conversion never actually replaces anything.
        text: String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        unterminated_quote: quote,
    }
}

/// Where keepalived splits a line at a block brace: the first `{` or `}`
/// outside `"` quotes. Returns `(head, residue)`: the text to use now and
/// the rest, which keepalived reads as the next line. A line starting with
/// a brace yields the brace alone; otherwise the text before the brace.
pub fn split_at_brace(line: &str) -> (&str, Option<&str>) {
    let b = line.as_bytes();
    if b.is_empty() {
        return (line, None);
    }
    let pos = if b[0] == b'{' || b[0] == b'}' {
        Some(0)
    } else {
        let mut i = 0;
        let mut found = None;
        while i < b.len() {
            match b[i] {
                b'{' | b'}' => {
                    found = Some(i);
                    break;
                }
                b'"' => match b[i + 1..].iter().position(|&c| c == b'"') {
                    Some(off) => i += off + 2,
                    None => break,
                },
                _ => i += 1,
            }
        }
        found
    };
    let Some(p) = pos else {
        return (trim_end_blank(line), None);
    };
    let skip = if p == 0 { 1 + blank_prefix(&b[1..]) } else { 0 };
    let split = p + skip;
    let head = trim_end_blank(&line[..split]);
    let rest = trim_end_blank(&line[split..]);
    if rest.is_empty() {
        (head, None)
    } else {
        (head, Some(rest))
    }
}

fn trim_end_blank(s: &str) -> &str {
    s.trim_end_matches([' ', '\t'])
}

/// keepalived's general word splitter (`alloc_strvec`): words separated
/// by white space; a word starting with `"` runs to the next `"` (quotes
/// removed, no escapes); an unquoted word also ends at a `"`. Returns the
/// words and whether a quote was left open (keepalived reports "Unmatched
/// quote" and drops the rest of the line).
pub fn split_words(line: &str) -> (Vec<String>, bool) {
    let b = line.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && is_white(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return (words, false);
        }
        if b[i] == b'"' {
            let start = i + 1;
            match b[start..].iter().position(|&c| c == b'"') {
                Some(off) => {
                    words.push(line[start..start + off].to_string());
                    i = start + off + 1;
                }
                None => return (words, true),
            }
        } else {
            let start = i;
            while i < b.len() && !is_white(b[i]) && b[i] != b'"' {
                i += 1;
            }
            words.push(line[start..i].to_string());
        }
    }
}

/// Why [`split_quoted_escaped`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QeError {
    /// A quote (`"` or `'`) was not closed.
    MissingTerminator(char),
    /// The string ends with a lone backslash.
    MissingEscapeChar,
}

/// keepalived's `alloc_strvec_quoted_escaped`, used for script command
/// lines: words separated by white space; `"..."` and `'...'` quote
/// (quotes may appear inside a word: `a"b c"d` is one word `ab cd`);
/// backslash escapes everywhere: `\a \b \E \f \n \r \t \v`, `\xHH...`,
/// `\cX` (control character), `\NNN` (octal, up to 3 digits), and `\X`
/// for any other `X` (e.g. `\"`, `\'`, `\\`, `\ `). A NUL produced by an
/// escape ends the word, as in C.
pub fn split_quoted_escaped(src: &str) -> Result<Vec<String>, QeError> {
    let b = src.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    let mut quote: u8 = 0;
    loop {
        while i < b.len() && is_white(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut word: Vec<u8> = Vec::new();
        while i < b.len() {
            let c = b[i];
            let special = match quote {
                b'"' => c == b'"' || c == b'\\',
                b'\'' => c == b'\'' || c == b'\\',
                _ => is_white(c) || c == b'"' || c == b'\'' || c == b'\\',
            };
            if !special {
                word.push(c);
                i += 1;
                continue;
            }
            if c == b'\\' {
                i += 1;
                if i >= b.len() {
                    return Err(QeError::MissingEscapeChar);
                }
                let e = b[i];
                let op: u8;
                if e == b'x' && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) {
                    i += 1;
                    let mut v: u8 = 0;
                    while let Some(h) = b.get(i).filter(|h| h.is_ascii_hexdigit()) {
                        let d = (*h as char).to_digit(16).unwrap_or(0) as u8;
                        v = (v << 4) | d;
                        i += 1;
                    }
                    op = v;
                } else if e == b'c' && i + 1 < b.len() {
                    op = b[i + 1] & 0x1f;
                    i += 2;
                } else if (b'0'..=b'7').contains(&e) {
                    let mut v: u8 = e - b'0';
                    i += 1;
                    for _ in 0..2 {
                        match b.get(i) {
                            Some(&d) if (b'0'..=b'7').contains(&d) => {
                                v = (v << 3).wrapping_add(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    op = v;
                } else {
                    op = match e {
                        b'a' => 0x07,
                        b'b' => 0x08,
                        b'E' => 0x1b,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'v' => 0x0b,
                        other => other,
                    };
                    i += 1;
                }
                word.push(op);
                continue;
            }
            if quote != 0 {
                // The closing quote.
                quote = 0;
                i += 1;
                continue;
            }
            if c == b'"' || c == b'\'' {
                quote = c;
                i += 1;
                continue;
            }
            // White space outside quotes ends the word.
            break;
        }
        if quote != 0 {
            return Err(QeError::MissingTerminator(quote as char));
        }
        if let Some(nul) = word.iter().position(|&c| c == 0) {
            word.truncate(nul);
        }
        words.push(String::from_utf8_lossy(&word).into_owned());
    }
    if quote != 0 {
        return Err(QeError::MissingTerminator(quote as char));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn decomment_strips_comments_outside_quotes() {
        assert_eq!(decomment("  a b # c").text, "a b");
        assert_eq!(decomment("a!b").text, "a");
        assert_eq!(decomment(r#"x "a#b" # c"#).text, r#"x "a#b""#);
        assert_eq!(decomment(r"a\#b \!c").text, "a#b !c");
        assert_eq!(decomment(r#""a\#b""#).text, r#""a\#b""#);
        assert_eq!(decomment(r"a\n\\").text, r"a\n\\");
    }

    #[test]
    fn decomment_keeps_continuation_and_reports_quotes() {
        assert_eq!(decomment("abc   \\").text, "abc\\");
        // As in keepalived, a comment ending in `\` still continues.
        assert_eq!(decomment("abc # x \\").text, "abc\\");
        let d = decomment(r#"x "a b"#);
        assert!(d.unterminated_quote);
        assert_eq!(d.text, r#"x "a b"#);
        assert!(!decomment(r#"x "a" # "b"#).unterminated_quote);
    }

    #[test]
    fn brace_split_like_keepalived() {
        assert_eq!(split_at_brace("a b {"), ("a b", Some("{")));
        assert_eq!(split_at_brace("{  c d }"), ("{", Some("c d }")));
        assert_eq!(split_at_brace("c d }"), ("c d", Some("}")));
        assert_eq!(split_at_brace("}"), ("}", None));
        assert_eq!(split_at_brace(r#"x "{" y"#), (r#"x "{" y"#, None));
        assert_eq!(split_at_brace("x 'a}b'"), ("x 'a", Some("}b'")));
        assert_eq!(split_at_brace(r#"x "a { y"#), (r#"x "a { y"#, None));
    }

    #[test]
    fn general_words() {
        assert_eq!(split_words("  a\tb  c "), (s(&["a", "b", "c"]), false));
        assert_eq!(split_words(r#"a "b c" d"#), (s(&["a", "b c", "d"]), false));
        assert_eq!(split_words(r#"a"b c"d"#), (s(&["a", "b c", "d"]), false));
        assert_eq!(
            split_words(r#"x 'a b' \"#),
            (s(&["x", "'a", "b'", "\\"]), false)
        );
        assert_eq!(split_words(r#"""#), (s(&[]), true));
        assert_eq!(split_words(r#"a "b"#), (s(&["a"]), true));
        assert_eq!(split_words(r#""""#), (s(&[""]), false));
    }

    #[test]
    fn quoted_escaped_words() {
        assert_eq!(
            split_quoted_escaped(r#"script "/bin/x \"a b\"" 'c d' e\ f"#),
            Ok(s(&["script", r#"/bin/x "a b""#, "c d", "e f"]))
        );
        assert_eq!(split_quoted_escaped(r#"a"b c"d"#), Ok(s(&["ab cd"])));
        assert_eq!(
            split_quoted_escaped(r"\t\x41\101\cA\E\q"),
            Ok(s(&["\tAA\u{1}\u{1b}q"]))
        );
        assert_eq!(split_quoted_escaped(r"ab\0cd ef"), Ok(s(&["ab", "ef"])));
        assert_eq!(
            split_quoted_escaped(r#"a "b"#),
            Err(QeError::MissingTerminator('"'))
        );
        assert_eq!(
            split_quoted_escaped(r"a \"),
            Err(QeError::MissingEscapeChar)
        );
        assert_eq!(split_quoted_escaped("  "), Ok(vec![]));
    }
}
