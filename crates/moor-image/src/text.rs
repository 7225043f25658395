//! Just enough YAML, line by line, to find a scalar on a line and replace it without touching
//! anything else: lines with their endings, `key: value` lines, single-line scalars in their
//! three styles, and which lines belong to block scalars (data, never edited).

use std::sync::LazyLock;

use regex::Regex;

/// One line: its text without the line ending, and the ending (`\n`, `\r\n` or none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub text: String,
    pub eol: String,
}

pub(crate) fn split_lines(text: &str) -> Vec<Line> {
    text.split_inclusive('\n')
        .map(|l| {
            let (text, eol) = if let Some(t) = l.strip_suffix("\r\n") {
                (t, "\r\n")
            } else if let Some(t) = l.strip_suffix('\n') {
                (t, "\n")
            } else {
                (l, "")
            };
            Line {
                text: text.to_string(),
                eol: eol.to_string(),
            }
        })
        .collect()
}

pub(crate) fn join_lines(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(&l.text);
        out.push_str(&l.eol);
    }
    out
}

/// The ending new lines get: the file's first one, else `\n`.
pub(crate) fn newline_of(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| l.eol.as_str())
        .find(|e| !e.is_empty())
        .unwrap_or("\n")
        .to_string()
}

/// Quoting of a scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
}

/// A single-line scalar on a line: its byte range (quotes included), value and style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scalar {
    pub start: usize,
    pub end: usize,
    pub value: String,
    pub style: Style,
}

/// The scalar at or after byte `from` of `line` (blanks skipped), when it is a whole single-line
/// scalar followed by nothing but blanks and an optional comment. `None` for an empty value,
/// block scalars, flow collections, anchors, aliases and tags.
pub(crate) fn scalar(line: &str, from: usize) -> Option<Scalar> {
    let rest = &line[from..];
    let start = from + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
    let s = &line[start..];
    let first = s.chars().next()?;
    let (end, value, style) = match first {
        '\'' => {
            let mut value = String::new();
            let mut chars = s.char_indices().skip(1).peekable();
            let mut close = None;
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if matches!(chars.peek(), Some((_, '\''))) {
                        value.push('\'');
                        chars.next();
                    } else {
                        close = Some(i);
                        break;
                    }
                } else {
                    value.push(c);
                }
            }
            (start + close? + 1, value, Style::Single)
        }
        '"' => {
            let mut value = String::new();
            let mut chars = s.char_indices().skip(1);
            let mut close = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        close = Some(i);
                        break;
                    }
                    '\\' => {
                        let (_, e) = chars.next()?;
                        value.push(match e {
                            '\\' | '"' | '/' | ' ' => e,
                            'n' => '\n',
                            't' => '\t',
                            // Anything fancier is not an image reference: leave the line alone.
                            _ => return None,
                        });
                    }
                    _ => value.push(c),
                }
            }
            (start + close? + 1, value, Style::Double)
        }
        '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' | ',' => {
            return None;
        }
        _ => {
            if matches!(first, '-' | '?' | ':') && s[1..].starts_with([' ', '\t']) || s == "-" {
                return None;
            }
            let end = comment_start(s).unwrap_or(s.len());
            let value = s[..end].trim_end_matches([' ', '\t']);
            if value.is_empty() || value.contains(": ") {
                return None;
            }
            (start + value.len(), value.to_string(), Style::Plain)
        }
    };
    let after = &line[end..];
    let trimmed = after.trim_start_matches([' ', '\t']);
    let comment = trimmed.starts_with('#') && trimmed.len() < after.len();
    if !(trimmed.is_empty() || comment) {
        return None;
    }
    Some(Scalar {
        start,
        end,
        value,
        style,
    })
}

/// Byte offset of a ` #` comment in a plain (unquoted) stretch of text.
fn comment_start(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (1..b.len()).find(|&i| b[i] == b'#' && (b[i - 1] == b' ' || b[i - 1] == b'\t'))
}

/// A `key: ...` line, possibly inside sequence items (`- - key: ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyLine {
    /// Column of the key.
    pub indent: usize,
    /// Column of the first `-`, when the line opens sequence items.
    pub dash: Option<usize>,
    pub key: String,
    /// Byte offset just after the `:`.
    pub value_from: usize,
}

/// Column of the first non-blank character (spaces only, as YAML indentation).
pub(crate) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// After the indentation and any `- ` sequence indicators: (column of the first dash, offset).
pub(crate) fn skip_dashes(line: &str) -> (Option<usize>, usize) {
    let mut pos = indent_of(line);
    let mut dash = None;
    loop {
        let rest = &line[pos..];
        if rest.starts_with('-') && (rest.len() == 1 || rest[1..].starts_with([' ', '\t'])) {
            dash.get_or_insert(pos);
            pos += 1;
            pos += line[pos..].len() - line[pos..].trim_start_matches([' ', '\t']).len();
        } else {
            return (dash, pos);
        }
    }
}

pub(crate) fn key_line(line: &str) -> Option<KeyLine> {
    let (dash, pos) = skip_dashes(line);
    let rest = &line[pos..];
    let (key, after) = match rest.chars().next()? {
        q @ ('"' | '\'') => {
            let close = rest[1..].find(q)? + 1;
            (rest[1..close].to_string(), close + 1)
        }
        '#' => return None,
        _ => {
            let end = rest
                .char_indices()
                .find(|&(i, c)| {
                    c == ':'
                        && rest[i + 1..]
                            .chars()
                            .next()
                            .is_none_or(|n| n == ' ' || n == '\t')
                })
                .map(|(i, _)| i)?;
            let key = rest[..end].trim_end();
            if key.is_empty() || key.contains(['#', '{', '[', '"', '\'']) {
                return None;
            }
            (key.to_string(), end)
        }
    };
    if !rest[after..].starts_with(':') {
        return None;
    }
    let value_from = pos + after + 1;
    if !(line.len() == value_from || line[value_from..].starts_with([' ', '\t'])) {
        return None;
    }
    Some(KeyLine {
        indent: pos,
        dash,
        key,
        value_from,
    })
}

/// Whether a line is blank or only a comment.
pub(crate) fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#')
}

static BLOCK_INDICATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[|>](?:[+-]?[1-9]?|[1-9][+-])\s*(?:#.*)?$").expect("block regex")
});

/// For each line, whether it is content of a block scalar (`key: |` and the lines indented
/// under it): text data, not YAML structure.
pub(crate) fn block_scalar_lines(lines: &[Line]) -> Vec<bool> {
    let mut inside = vec![false; lines.len()];
    let mut parent: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let text = line.text.as_str();
        if let Some(p) = parent {
            if text.trim().is_empty() || indent_of(text) > p {
                inside[i] = true;
                continue;
            }
            parent = None;
        }
        let (dash, pos) = skip_dashes(text);
        let (owner, value) = match key_line(text) {
            Some(k) => (k.indent, text[k.value_from..].trim_start()),
            // `- |`: the block belongs to the last sequence item on the line.
            None => match dash {
                Some(_) => (
                    text[..pos].rfind('-').unwrap_or(0),
                    text[pos..].trim_start(),
                ),
                None => continue,
            },
        };
        if BLOCK_INDICATOR.is_match(value) {
            // Its content is every following line indented more than the key (or dash).
            parent = Some(owner);
        }
    }
    inside
}

static NOT_A_STRING: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // null and booleans, YAML 1.1 and 1.2
        r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$",
        // integers: decimal (with _), octal, hex, binary, sexagesimal
        r"^[-+]?[0-9][0-9_]*$",
        r"^0o[0-7]+$",
        r"^[-+]?0x[0-9a-fA-F_]+$",
        r"^[-+]?0b[01_]+$",
        r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$",
        // floats
        r"^[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$",
        r"^[-+]?\.(?:inf|Inf|INF)$",
        r"^\.(?:nan|NaN|NAN)$",
        // timestamps (YAML 1.1)
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}",
        // merge key and value key
        r"^(?:<<|=)$",
    ]
    .iter()
    .map(|r| Regex::new(r).expect("yaml resolver regex"))
    .collect()
});

/// Whether `value` written plain would not read back as this string.
pub(crate) fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value.trim() != value
        || value.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`',
        ])
        || value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
        || value.chars().any(|c| c.is_control())
        || NOT_A_STRING.iter().any(|r| r.is_match(value))
}

/// `value` written in `style`; a plain value that would not read back as a string gets double
/// quotes.
pub(crate) fn render_scalar(value: &str, style: Style) -> String {
    match style {
        Style::Plain if !needs_quotes(value) => value.to_string(),
        Style::Single => format!("'{}'", value.replace('\'', "''")),
        Style::Plain | Style::Double => {
            let mut out = String::from("\"");
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
    }
}

/// `line` with the scalar `s` replaced by `value` in the same style.
pub(crate) fn replace_scalar(line: &str, s: &Scalar, value: &str) -> String {
    format!(
        "{}{}{}",
        &line[..s.start],
        render_scalar(value, s.style),
        &line[s.end..]
    )
}

/// What [`edit_scalars`] sets on one line: the scalar, the name it was found by (recorded as
/// matched even when nothing changes), the image the change is reported under and the new value
/// (None: matched, but nothing to set).
pub(crate) struct ScalarEdit {
    pub scalar: Scalar,
    pub matched: String,
    pub image: String,
    pub new: Option<String>,
}

/// Runs `pick` on every line of `text` outside block scalars and sets the scalar it names, in the
/// value's own quoting, where the value changes; every other byte stays. The one loop behind
/// `image:` fields and setter markers.
pub(crate) fn edit_scalars(
    file: &std::path::Path,
    text: &str,
    mut pick: impl FnMut(&str) -> Option<ScalarEdit>,
) -> crate::TextEdit {
    let mut lines = split_lines(text);
    let data = block_scalar_lines(&lines);
    let mut edit = crate::TextEdit::default();
    for (i, line) in lines.iter_mut().enumerate() {
        if data[i] {
            continue;
        }
        let Some(ScalarEdit {
            scalar: s,
            matched,
            image,
            new,
        }) = pick(&line.text)
        else {
            continue;
        };
        edit.matched.insert(matched);
        let Some(new) = new.filter(|new| *new != s.value) else {
            continue;
        };
        line.text = replace_scalar(&line.text, &s, &new);
        edit.changes.push(crate::ImageChange {
            file: file.to_path_buf(),
            line: i + 1,
            image,
            old: Some(s.value.clone()),
            new,
        });
    }
    edit.text = join_lines(&lines);
    edit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_in_three_styles_with_comments() {
        let s = scalar("    newTag: 1.0.1 # the staging tag", 11).unwrap();
        assert_eq!((s.value.as_str(), s.style), ("1.0.1", Style::Plain));
        assert_eq!(
            &"    newTag: 1.0.1 # the staging tag"[s.start..s.end],
            "1.0.1"
        );
        let s = scalar("  image: \"reg/app:1\"  # c", 8).unwrap();
        assert_eq!((s.value.as_str(), s.style), ("reg/app:1", Style::Double));
        let s = scalar("x: 'it''s'", 2).unwrap();
        assert_eq!((s.value.as_str(), s.style), ("it's", Style::Single));
        let s = scalar("x: a#b", 2).unwrap();
        assert_eq!(s.value, "a#b");
        for (line, from) in [
            ("x:", 2),
            ("x: # only a comment", 2),
            ("x: |", 2),
            ("x: [a]", 2),
            ("x: &anchor a", 2),
            ("x: \"open", 2),
            ("x: 'a' trailing", 2),
            ("x: a: b", 2),
        ] {
            assert_eq!(scalar(line, from), None, "{line}");
        }
    }

    #[test]
    fn key_lines_inside_sequences() {
        let k = key_line("  - name: registry.local/myapp").unwrap();
        assert_eq!((k.indent, k.dash, k.key.as_str()), (4, Some(2), "name"));
        let k = key_line("- - image: x").unwrap();
        assert_eq!((k.indent, k.dash, k.key.as_str()), (4, Some(0), "image"));
        let k = key_line("images:").unwrap();
        assert_eq!((k.indent, k.key.as_str(), k.value_from), (0, "images", 7));
        let k = key_line("\"image\": x").unwrap();
        assert_eq!(k.key, "image");
        assert!(key_line("# image: x").is_none());
        assert!(key_line("  - just a value").is_none());
        assert!(key_line("url: http://x").is_some_and(|k| k.key == "url"));
    }

    #[test]
    fn block_scalars_are_data() {
        let text = "a: |\n  image: x\n\n  more\nb: 1\nc:\n  - >-\n    image: y\n  - image: z\n";
        let lines = split_lines(text);
        let inside = block_scalar_lines(&lines);
        assert_eq!(
            inside,
            vec![false, true, true, true, false, false, false, true, false]
        );
    }

    #[test]
    fn quoting_only_when_needed() {
        for v in [
            "3f2c1ab",
            "1.0.1",
            "v1.2.3",
            "registry.local/app:1",
            "latest",
        ] {
            assert!(!needs_quotes(v), "{v}");
        }
        for v in [
            "1234567",
            "3e45678",
            "1.0",
            "true",
            "no",
            "null",
            "",
            "2024-01-02",
            "0x1f",
            "1_000",
            "12:30",
        ] {
            assert!(needs_quotes(v), "{v}");
        }
        assert_eq!(render_scalar("1234567", Style::Plain), "\"1234567\"");
        assert_eq!(render_scalar("abc", Style::Single), "'abc'");
        assert_eq!(render_scalar("abc", Style::Double), "\"abc\"");
    }

    #[test]
    fn lines_keep_their_endings() {
        let text = "a: 1\r\nb: 2\nc: 3";
        let lines = split_lines(text);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].eol, "\r\n");
        assert_eq!(lines[2].eol, "");
        assert_eq!(join_lines(&lines), text);
        assert_eq!(newline_of(&lines), "\r\n");
    }
}
