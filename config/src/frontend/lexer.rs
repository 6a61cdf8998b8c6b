//! Splitting one logical line into tokens: words, `{` and `}`.
//!
//! Words are separated by white space. `{` and `}` are tokens of their own
//! wherever they stand outside quotes. A `#` or `!` outside quotes that
//! starts a token ends the line (a comment). Quoted strings (`"..."` or
//! `'...'`) keep their white space and braces; the quotes are removed.

/// One token of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    Open,
    Close,
}

/// Problems found while splitting a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexProblem {
    /// A quoted string was not closed before the end of the line.
    UnterminatedQuote(char),
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\x0b' || c == '\x0c'
}

/// Split `line` into tokens. Problems are returned alongside; the tokens
/// are always usable.
pub fn tokenize(line: &str) -> (Vec<Tok>, Vec<LexProblem>) {
    let mut toks = Vec::new();
    let mut problems = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|&c| is_space(c)) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        match c {
            '#' | '!' => break,
            '{' => {
                chars.next();
                toks.push(Tok::Open);
            }
            '}' => {
                chars.next();
                toks.push(Tok::Close);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if is_space(c) || c == '{' || c == '}' {
                        break;
                    }
                    if c == '"' || c == '\'' {
                        chars.next();
                        let mut closed = false;
                        while let Some(q) = chars.next() {
                            if q == c {
                                closed = true;
                                break;
                            }
                            if q == '\\' {
                                match chars.next() {
                                    Some(e) => word.push(e),
                                    None => break,
                                }
                            } else {
                                word.push(q);
                            }
                        }
                        if !closed {
                            problems.push(LexProblem::UnterminatedQuote(c));
                        }
                        continue;
                    }
                    chars.next();
                    word.push(c);
                }
                toks.push(Tok::Word(word));
            }
        }
    }
    (toks, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Tok {
        Tok::Word(s.to_string())
    }

    #[test]
    fn splits_words_and_braces() {
        let (t, p) = tokenize("  vrrp_instance VI_1{state MASTER}  ");
        assert!(p.is_empty());
        assert_eq!(
            t,
            vec![
                w("vrrp_instance"),
                w("VI_1"),
                Tok::Open,
                w("state"),
                w("MASTER"),
                Tok::Close
            ]
        );
    }

    #[test]
    fn comments_end_the_line() {
        let (t, _) = tokenize("priority 100 # the priority");
        assert_eq!(t, vec![w("priority"), w("100")]);
        let (t, _) = tokenize("! whole line");
        assert!(t.is_empty());
    }

    #[test]
    fn quotes_keep_spaces_and_braces() {
        let (t, p) = tokenize(r#"notify "/bin/x { y }" 'a b'"#);
        assert!(p.is_empty());
        assert_eq!(t, vec![w("notify"), w("/bin/x { y }"), w("a b")]);
    }

    #[test]
    fn unterminated_quote_is_reported() {
        let (t, p) = tokenize(r#"notify "abc"#);
        assert_eq!(t, vec![w("notify"), w("abc")]);
        assert_eq!(p, vec![LexProblem::UnterminatedQuote('"')]);
    }
}
