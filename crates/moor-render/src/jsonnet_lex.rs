//! Finding every `import`, `importstr` and `importbin` of a Jsonnet text without evaluating it.
//!
//! Jsonnet reads any file an import names, so a hostile repository could import the
//! controller's service-account token. Jsonnet's grammar only allows a string literal after an
//! import keyword ("computed imports are not allowed"), so scanning the tokens finds every path a
//! file can ever read: this is complete as long as the scan agrees with go-jsonnet on what is
//! code, comment and string. So comments (`//`, `#`, `/* */`) and strings (`"…"`, `'…'`,
//! `@"…"`, `@'…'`, `|||` text blocks) are skipped by go-jsonnet's own rules (its lexer.go), and
//! wherever the two could disagree the scan errs towards seeing more code: numbers and operators
//! are split into single characters, a word that looks like an import keyword anywhere is one,
//! and anything after it but a plain string literal is refused. Text jsonnet would refuse to lex
//! (an unterminated string or comment) is refused too, so a scan never stops early.

/// Which import keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImportKind {
    /// `import`: the file is Jsonnet, evaluated, and may import more.
    Code,
    /// `importstr`: the file's text.
    Str,
    /// `importbin`: the file's bytes.
    Bin,
}

impl ImportKind {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            ImportKind::Code => "import",
            ImportKind::Str => "importstr",
            ImportKind::Bin => "importbin",
        }
    }
}

/// One import: its keyword, the path as Jsonnet decodes the literal, and its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Import {
    pub kind: ImportKind,
    pub path: String,
    pub line: usize,
}

/// Why a text cannot be scanned (so it is not rendered): the line and the cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    pub line: usize,
    pub cause: String,
}

/// A token the import check cares about.
enum Token {
    Import(ImportKind),
    /// A string literal other than a text block, decoded; `None` when its bytes are no UTF-8
    /// (such a path is refused rather than guessed at).
    Str(Option<String>),
    Other,
}

/// Every import of `text`, in order.
pub(crate) fn imports(text: &[u8]) -> Result<Vec<Import>, LexError> {
    let mut lx = Lexer {
        b: text,
        i: 0,
        lines: text
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .map(|(i, _)| i)
            .collect(),
    };
    let mut out = Vec::new();
    let mut pending: Option<(ImportKind, usize)> = None;
    while let Some((token, start)) = lx.next_token()? {
        if let Some((kind, line)) = pending.take() {
            let refuse = |what: &str| LexError {
                line,
                cause: format!(
                    "{} must be followed by a string literal, found {what}",
                    kind.keyword()
                ),
            };
            match token {
                Token::Str(Some(path)) => out.push(Import { kind, path, line }),
                Token::Str(None) => return Err(refuse("a path that is not UTF-8")),
                _ => return Err(refuse("something else")),
            }
            continue;
        }
        if let Token::Import(kind) = token {
            pending = Some((kind, lx.line_of(start)));
        }
    }
    match pending {
        Some((kind, line)) => Err(LexError {
            line,
            cause: format!("{} at the end of the file", kind.keyword()),
        }),
        None => Ok(out),
    }
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    /// Offsets of every `\n`, for line numbers.
    lines: Vec<usize>,
}

impl Lexer<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.lines.partition_point(|&nl| nl < offset) + 1
    }

    fn peek(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    fn err(&self, at: usize, cause: &str) -> LexError {
        LexError {
            line: self.line_of(at),
            cause: cause.to_string(),
        }
    }

    /// The next token and where it starts, comments and whitespace skipped; `None` at the end.
    fn next_token(&mut self) -> Result<Option<(Token, usize)>, LexError> {
        loop {
            while matches!(self.peek(0), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                self.i += 1;
            }
            let start = self.i;
            let Some(c) = self.peek(0) else {
                return Ok(None);
            };
            match (c, self.peek(1)) {
                (b'#', _) | (b'/', Some(b'/')) => {
                    while !matches!(self.peek(0), None | Some(b'\n')) {
                        self.i += 1;
                    }
                }
                (b'/', Some(b'*')) => {
                    let body = &self.b[start + 2..];
                    let end = find(body, b"*/")
                        .ok_or_else(|| self.err(start, "unterminated /* comment"))?;
                    self.i = start + 2 + end + 2;
                }
                (b'|', _) if self.b[start..].starts_with(b"|||") => {
                    self.text_block(start)?;
                    // A text block is a string, but never a valid import path.
                    return Ok(Some((Token::Other, start)));
                }
                (b'"' | b'\'', _) => {
                    let raw = self.quoted(start, c)?;
                    let s = std::str::from_utf8(raw).ok().map(unescape).transpose();
                    let s = s.map_err(|cause| self.err(start, &cause))?;
                    return Ok(Some((Token::Str(s), start)));
                }
                (b'@', Some(q @ (b'"' | b'\''))) => {
                    let s = self.verbatim(start, q)?;
                    return Ok(Some((Token::Str(String::from_utf8(s).ok()), start)));
                }
                (b'@', _) => return Err(self.err(start, "'@' not followed by a quote")),
                (c, _) if c.is_ascii_alphabetic() || c == b'_' => {
                    while matches!(self.peek(0), Some(c) if c.is_ascii_alphanumeric() || c == b'_')
                    {
                        self.i += 1;
                    }
                    let token = match &self.b[start..self.i] {
                        b"import" => Token::Import(ImportKind::Code),
                        b"importstr" => Token::Import(ImportKind::Str),
                        b"importbin" => Token::Import(ImportKind::Bin),
                        _ => Token::Other,
                    };
                    return Ok(Some((token, start)));
                }
                _ => {
                    // Digits, operators, punctuation: one character at a time, so a comment or
                    // text block starting inside an operator run is still seen.
                    self.i += 1;
                    return Ok(Some((Token::Other, start)));
                }
            }
        }
    }

    /// A `"` or `'` string from `start`: a backslash escapes the next byte, newlines are
    /// allowed. Returns the bytes between the quotes.
    fn quoted(&mut self, start: usize, quote: u8) -> Result<&[u8], LexError> {
        let mut j = start + 1;
        loop {
            match self.b.get(j) {
                None => return Err(self.err(start, "unterminated string")),
                Some(&c) if c == quote => {
                    self.i = j + 1;
                    return Ok(&self.b[start + 1..j]);
                }
                Some(b'\\') if j + 1 < self.b.len() => j += 2,
                Some(_) => j += 1,
            }
        }
    }

    /// A verbatim `@"…"` or `@'…'` string from `start` (the `@`): a doubled quote is one quote,
    /// nothing else is an escape. Returns its value.
    fn verbatim(&mut self, start: usize, quote: u8) -> Result<Vec<u8>, LexError> {
        let mut j = start + 2;
        let mut out = Vec::new();
        loop {
            match self.b.get(j) {
                None => return Err(self.err(start, "unterminated string")),
                Some(&c) if c == quote => {
                    if self.b.get(j + 1) == Some(&quote) {
                        out.push(quote);
                        j += 2;
                    } else {
                        self.i = j + 1;
                        return Ok(out);
                    }
                }
                Some(&c) => {
                    out.push(c);
                    j += 1;
                }
            }
        }
    }

    /// A `|||` text block from `start`, by go-jsonnet's rules: `|||` (or `|||-`), blanks, a new
    /// line; the first non-empty line sets the indentation; the block goes on while lines (empty
    /// ones aside) start with it, and ends at `|||` after less indentation.
    fn text_block(&mut self, start: usize) -> Result<(), LexError> {
        let b = self.b;
        let n = b.len();
        let mut j = start + 3;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        while matches!(b.get(j), Some(b' ' | b'\t' | b'\r')) {
            j += 1;
        }
        if b.get(j) != Some(&b'\n') {
            return Err(self.err(start, "text block requires a new line after |||"));
        }
        j += 1;
        while b.get(j) == Some(&b'\n') {
            j += 1;
        }
        let indent_len = b[j..]
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\t'))
            .count();
        if indent_len == 0 {
            return Err(self.err(start, "text block's first line must start with whitespace"));
        }
        let indent = &b[j..j + indent_len];
        loop {
            j += indent_len;
            while j < n && b[j] != b'\n' {
                j += 1;
            }
            if j >= n {
                return Err(self.err(start, "unterminated text block"));
            }
            j += 1;
            while b.get(j) == Some(&b'\n') {
                j += 1;
            }
            if !b[j..].starts_with(indent) {
                while matches!(b.get(j), Some(b' ' | b'\t')) {
                    j += 1;
                }
                if !b[j..].starts_with(b"|||") {
                    return Err(self.err(start, "text block not terminated with |||"));
                }
                self.i = j + 3;
                return Ok(());
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of a `"` or `'` string's body, by Jsonnet's escapes (JSON's, plus `\'`).
fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars
            .next()
            .ok_or("truncated escape sequence in a string")?;
        out.push(match e {
            '"' | '\'' | '\\' | '/' => e,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let code = hex4(&mut chars)?;
                if (0xD800..0xE000).contains(&code) {
                    // A surrogate must be followed by its pair, as go-jsonnet requires.
                    if chars.next() != Some('\\') || chars.next() != Some('u') {
                        return Err("unicode surrogate without its pair in a string".into());
                    }
                    let low = hex4(&mut chars)?;
                    char::decode_utf16([code, low])
                        .next()
                        .and_then(Result::ok)
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                } else {
                    char::from_u32(code.into()).ok_or("invalid unicode escape in a string")?
                }
            }
            other => return Err(format!("unknown escape sequence \\{other} in a string")),
        });
    }
    Ok(out)
}

/// Four hex digits (exactly: no sign, no fewer).
fn hex4(chars: &mut std::str::Chars) -> Result<u16, String> {
    let mut v = 0u16;
    for _ in 0..4 {
        let d = chars
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or("malformed unicode escape in a string")?;
        v = v * 16 + d as u16;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<(ImportKind, String, usize)> {
        imports(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|i| (i.kind, i.path, i.line))
            .collect()
    }

    fn refused(text: &str) -> LexError {
        imports(text.as_bytes()).unwrap_err()
    }

    use ImportKind::*;

    #[test]
    fn every_string_form_is_an_import_path() {
        let text = "local a = import \"a.libsonnet\";\nlocal b = importstr 'b.txt';\n\
                    local c = importbin @\"c\"\"q.bin\";\nlocal d = import @'d''x';\n\
                    local e = import /* why */ \"\\u002e\\u002e/e\" ;\n{}";
        assert_eq!(
            paths(text),
            [
                (Code, "a.libsonnet".into(), 1),
                (Str, "b.txt".into(), 2),
                (Bin, "c\"q.bin".into(), 3),
                (Code, "d'x".into(), 4),
                (Code, "../e".into(), 5),
            ]
        );
    }

    #[test]
    fn comments_and_strings_hide_imports_as_in_jsonnet() {
        let text = "// import \"/etc/a\"\n# import \"/etc/b\"\n/* import \"/etc/c\"\n */\n\
                    { s: \"import '/etc/d' \\\" import \", t: 'it''s', \
                    u: @\"import \"\"/etc/e\"\"\", v: |||\n    import \"/etc/f\"\n\n  \
                    ||| , w: import \"ok\" }";
        assert_eq!(paths(text), [(Code, "ok".into(), 8)]);
    }

    #[test]
    fn a_text_block_ends_where_jsonnet_ends_it() {
        // The block ends at the first line with less indentation; what follows is code.
        let text = "{ a: |||-\n    x\n\n    y\n  |||, b: import \"/etc/passwd\" }";
        assert_eq!(paths(text), [(Code, "/etc/passwd".into(), 5)]);
        // `|||` right after an operator starts a block (go-jsonnet breaks operators there).
        let text = "{ a: 'x'+|||\n  import \"inside\"\n|||, b: importstr \"after\" }";
        assert_eq!(paths(text), [(Str, "after".into(), 3)]);
        // `//` and `/*` inside an operator run start comments.
        let text = "1 +// import \"a\"\n+/* import \"b\" */ import (\"c\")";
        assert_eq!(refused(text).line, 2, "a parenthesised path is computed");
        let text = "1 +// import \"a\"\n+/* import \"b\" */ import \"c\"";
        assert_eq!(paths(text), [(Code, "c".into(), 2)]);
    }

    #[test]
    fn anything_but_a_literal_after_import_is_refused() {
        for (text, line) in [
            ("local p = 'x'; import p", 1),
            ("\n\nimport ('a')", 3),
            ("import |||\n  a\n|||", 1),
            ("{ a: importstr }", 1),
            ("import", 1),
            ("importbin\n\n", 1),
        ] {
            let err = refused(text);
            assert_eq!(err.line, line, "{text}: {err:?}");
            assert!(err.cause.contains("must be followed") || err.cause.contains("end of"));
        }
        // A word merely starting with import is not a keyword; one glued to a number is.
        assert_eq!(paths("{ imports: 1, x: importer }"), []);
        assert_eq!(paths("1import 'x'"), [(Code, "x".into(), 1)]);
    }

    #[test]
    fn unterminated_or_malformed_text_is_refused() {
        for (text, cause) in [
            ("/* import 'x'", "unterminated /* comment"),
            ("'abc", "unterminated string"),
            ("@\"abc", "unterminated string"),
            (
                "||| x\n  a\n|||",
                "text block requires a new line after |||",
            ),
            (
                "|||\na\n|||",
                "text block's first line must start with whitespace",
            ),
            ("|||\n  a", "unterminated text block"),
            ("|||\n  a\nb", "text block not terminated with |||"),
            ("import 'a\\qb'", "unknown escape sequence \\q in a string"),
            ("import \"\\u+abc\"", "malformed unicode escape in a string"),
            (
                "import \"\\ud800x\"",
                "unicode surrogate without its pair in a string",
            ),
            ("@x", "'@' not followed by a quote"),
        ] {
            assert_eq!(refused(text).cause, cause, "{text}");
        }
        let err = imports(b"import '\xff'").unwrap_err();
        assert!(err.cause.contains("not UTF-8"), "{err:?}");
    }

    #[test]
    fn unicode_escapes_decode_as_jsonnet_does() {
        assert_eq!(
            paths(r#"import "\/etc\u002Fpasswd\ud83d\ude00""#),
            [(Code, "/etc/passwd\u{1F600}".into(), 1)]
        );
    }
}
