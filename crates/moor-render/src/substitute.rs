//! Variable substitution after rendering, as Flux's `postBuild`: each object is written as YAML,
//! its `${var}` references are replaced, and the text is parsed again, so `replicas: ${N}`
//! becomes a number as it does with Flux.
//!
//! The syntax (a subset of bash's, as Flux's envsubst takes it):
//! `${var}`; `${var:=default}` and `${var:-default}` (unset or empty), `${var=default}` and
//! `${var-default}` (unset); `${var:pos}`, `${var:pos:len}`; `${var/old/new}`,
//! `${var//old/new}`; `${var#prefix}`, `${var%suffix}` (literal text); `${var^}`, `${var^^}`,
//! `${var,}`, `${var,,}`; `${#var}`. `$${var}` stays as the literal `${var}`, and `$var` is not
//! substituted. Text after `${` that is not a variable name (`${{ github.sha }}`) stays as it
//! is. A variable set nowhere and without a default becomes empty, as in Flux, unless `strict`.
//! Defaults may name variables themselves; substituted values are never read again.
//!
//! Values may be Secret data: no error says a value, only variable names, objects and lines.

use std::collections::BTreeMap;

use moor_types::Manifest;
use serde_json::Value;

/// Annotations (or labels) whose value `disabled` leaves an object unsubstituted: Flux's, and
/// moor's own.
pub const SUBSTITUTE_OPT_OUT: [&str; 2] = [
    "kustomize.toolkit.fluxcd.io/substitute",
    "moor.dev/substitute",
];

/// How deep defaults may nest variable references (`${a:=${b:=${c}}}`).
const MAX_NESTING: usize = 8;

/// Why a text could not be expanded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A reference that cannot be evaluated (its text, never a value).
    #[error("{0}")]
    Invalid(String),
    /// The text would grow past its limit, in bytes.
    #[error("substitution makes the text larger than {0} bytes")]
    TooLarge(usize),
}

impl From<String> for ExpandError {
    fn from(cause: String) -> Self {
        ExpandError::Invalid(cause)
    }
}

/// A substitution that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SubstituteError {
    /// A variable name Flux would refuse (it must match `^[_a-zA-Z][_a-zA-Z0-9]*$`).
    #[error(
        "variable name {name:?} from {from} is not valid: names are letters, digits and `_`, not starting with a digit"
    )]
    InvalidName {
        /// The name.
        name: String,
        /// Where it was set, e.g. `ConfigMap "vars"`.
        from: String,
    },
    /// An object's substitution failed.
    #[error("substitution in {object} ({origin}): {cause}")]
    Object {
        /// Kind and name of the object.
        object: String,
        /// The file it was rendered from.
        origin: String,
        /// What went wrong; never a variable's value.
        cause: String,
    },
    /// The substituted objects would exceed the render's byte limit.
    #[error("substitution makes the rendered objects larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

/// Whether `name` is a variable name Flux accepts.
pub fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Whether `m` opts out of substitution (annotation or label `...substitute: disabled`).
pub fn opted_out(m: &Manifest) -> bool {
    let meta = m.obj.get("metadata");
    ["annotations", "labels"].iter().any(|field| {
        let map = meta.and_then(|md| md.get(*field));
        SUBSTITUTE_OPT_OUT
            .iter()
            .any(|k| map.and_then(|a| a.get(*k)).and_then(Value::as_str) == Some("disabled"))
    })
}

/// Substitutes `vars` in every object of `manifests` but those that opt out (see
/// [`opted_out`]); objects naming no `${` are kept as they are. Fails, naming the object and
/// the variables, when an object's text is no longer one YAML mapping, or past `max_bytes`.
pub fn substitute(
    manifests: &[Manifest],
    vars: &BTreeMap<String, String>,
    strict: bool,
    max_bytes: u64,
) -> Result<Vec<Manifest>, SubstituteError> {
    let mut out = Vec::with_capacity(manifests.len());
    let mut total: u64 = 0;
    for m in manifests {
        if opted_out(m) || !mentions_variable(&m.obj) {
            out.push(m.clone());
            continue;
        }
        let fail = |cause: String| SubstituteError::Object {
            object: describe(m),
            origin: m.origin.to_string(),
            cause,
        };
        // Never folded: a `${var:=a b}` wrapped across lines would no longer be a reference.
        let options = serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX };
        let text = serde_saphyr::to_string_with_options(&m.obj, options)
            .map_err(|e| fail(e.to_string()))?;
        let left = usize::try_from(max_bytes.saturating_sub(total)).unwrap_or(usize::MAX);
        let expanded = match expand(&text, vars, strict, left) {
            Ok(e) => e,
            Err(ExpandError::TooLarge(_)) => {
                return Err(SubstituteError::TooLarge { limit: max_bytes });
            }
            Err(ExpandError::Invalid(cause)) => return Err(fail(cause)),
        };
        total += expanded.text.len() as u64;
        let obj = reparse(&expanded).map_err(fail)?;
        out.push(Manifest::new(obj, m.origin.clone()));
    }
    Ok(out)
}

/// `Kind namespace/name` of an object, as rendered.
fn describe(m: &Manifest) -> String {
    match m.namespace() {
        Some(ns) => format!("{} {ns}/{}", m.kind(), m.name()),
        None => format!("{} {}", m.kind(), m.name()),
    }
}

/// Whether any key or string of `v` holds `${`.
fn mentions_variable(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(a) => a.iter().any(mentions_variable),
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.contains("${") || mentions_variable(v)),
        _ => false,
    }
}

/// Parses a substituted object back: exactly one YAML mapping. The parser's message is left
/// out, as it may quote the text (values included); the line and its variables are named.
fn reparse(expanded: &Expanded) -> Result<Value, String> {
    let invalid = |line: Option<usize>| {
        let vars = expanded.vars_on(line);
        let at = line.map(|l| format!(" at line {l}")).unwrap_or_default();
        format!("not valid YAML{at} after substituting {vars}")
    };
    let docs = crate::parse::yaml_docs(&expanded.text).map_err(|s| invalid(s.line))?;
    match <[_; 1]>::try_from(docs) {
        Ok([doc]) if doc.value.is_object() => Ok(doc.value),
        Ok(_) => Err(format!(
            "not a mapping after substituting {}",
            expanded.vars_on(None)
        )),
        Err(docs) => Err(format!(
            "{} documents instead of one after substituting {}",
            docs.len(),
            expanded.vars_on(None)
        )),
    }
}

/// A substituted text and where each variable went.
#[derive(Debug)]
pub struct Expanded {
    /// The text.
    pub text: String,
    /// Each variable substituted, with the 1-based line of the output it went to.
    pub used: Vec<(String, usize)>,
    /// The line `text` reached at byte `counted`: lines are counted once, not per reference.
    line: usize,
    counted: usize,
    /// The most bytes `text` may grow to.
    max_len: usize,
}

impl Expanded {
    /// The 1-based line the text has reached.
    fn current_line(&mut self) -> usize {
        self.line += self.text[self.counted..].matches('\n').count();
        self.counted = self.text.len();
        self.line
    }

    fn check_len(&self) -> Result<(), ExpandError> {
        if self.text.len() > self.max_len {
            return Err(ExpandError::TooLarge(self.max_len));
        }
        Ok(())
    }

    /// The variables substituted on `line` (all when None or none there), as `${A}, ${B}`.
    fn vars_on(&self, line: Option<usize>) -> String {
        let on_line: Vec<&str> = (self.used.iter())
            .filter(|(_, l)| Some(*l) == line)
            .map(|(v, _)| v.as_str())
            .collect();
        let mut names: Vec<&str> = if on_line.is_empty() {
            self.used.iter().map(|(v, _)| v.as_str()).collect()
        } else {
            on_line
        };
        names.sort_unstable();
        names.dedup();
        let list: Vec<String> = names.iter().map(|n| format!("${{{n}}}")).collect();
        if list.is_empty() {
            "nothing".into()
        } else {
            list.join(", ")
        }
    }
}

/// Substitutes `vars` in `text` (see the module's syntax).
/// Fails once the result passes `max_len` bytes, before it grows further (many references to a
/// large value).
pub fn expand(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
    max_len: usize,
) -> Result<Expanded, ExpandError> {
    let mut out = Expanded {
        text: String::with_capacity(text.len()),
        used: Vec::new(),
        line: 1,
        counted: 0,
        max_len,
    };
    expand_into(text, vars, strict, 0, &mut out)?;
    out.check_len()?;
    Ok(out)
}

fn expand_into(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
    depth: usize,
    out: &mut Expanded,
) -> Result<(), ExpandError> {
    if depth > MAX_NESTING {
        return Err(ExpandError::Invalid(format!(
            "variable defaults nest deeper than {MAX_NESTING} levels"
        )));
    }
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.text.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            // The escape: `$${var}` is the literal `${var}`.
            out.text.push_str("${");
            rest = after;
            continue;
        }
        let parsed = tail
            .strip_prefix("${")
            .and_then(|body| Some((body, closing_brace(body)?)))
            .and_then(|(body, end)| Some((end, parse(&body[..end])?)));
        let Some((end, expr)) = parsed else {
            out.text.push('$');
            rest = &tail[1..];
            continue;
        };
        let expr = expr?;
        let line = out.current_line();
        out.used.push((expr.name.to_string(), line));
        eval(&expr, vars, strict, depth, out)?;
        out.check_len()?;
        rest = &tail[2 + end + 1..];
    }
    out.text.push_str(rest);
    Ok(())
}

/// The byte offset of the `}` closing a `${`, counting nested braces; None when unclosed.
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            '\n' => return None,
            _ => {}
        }
    }
    None
}

/// One `${...}` reference.
struct Expr<'a> {
    name: &'a str,
    op: Op<'a>,
}

enum Op<'a> {
    Plain,
    Length,
    /// `:=` / `:-` (`if_empty`) or `=` / `-`.
    Default {
        text: &'a str,
        if_empty: bool,
    },
    Substring {
        pos: usize,
        len: Option<usize>,
    },
    Replace {
        old: &'a str,
        new: &'a str,
        all: bool,
    },
    TrimPrefix(&'a str),
    TrimSuffix(&'a str),
    Upper {
        all: bool,
    },
    Lower {
        all: bool,
    },
}

/// Parses the text between `${` and `}`: None when it does not start with a variable name
/// (the text is then left alone), an error for an operator moor does not implement.
fn parse(body: &str) -> Option<Result<Expr<'_>, String>> {
    if let Some(name) = body.strip_prefix('#')
        && valid_var_name(name)
    {
        return Some(Ok(Expr {
            name,
            op: Op::Length,
        }));
    }
    let name_len = body
        .char_indices()
        .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(body.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = body.split_at(name_len);
    let unsupported = || Err(format!("unsupported substitution ${{{body}}}"));
    let op = if rest.is_empty() {
        Op::Plain
    } else if let Some(d) = rest.strip_prefix(":=").or_else(|| rest.strip_prefix(":-")) {
        Op::Default {
            text: d,
            if_empty: true,
        }
    } else if let Some(d) = rest.strip_prefix('=').or_else(|| rest.strip_prefix('-')) {
        Op::Default {
            text: d,
            if_empty: false,
        }
    } else if let Some(range) = rest.strip_prefix(':') {
        let (pos, len) = match range.split_once(':') {
            Some((p, l)) => (p, Some(l)),
            None => (range, None),
        };
        let (Ok(pos), Ok(len)) = (
            pos.trim().parse(),
            len.map(|l| l.trim().parse()).transpose(),
        ) else {
            return Some(unsupported());
        };
        Op::Substring { pos, len }
    } else if let Some(r) = rest.strip_prefix('/') {
        let (all, r) = match r.strip_prefix('/') {
            Some(r) => (true, r),
            None => (false, r),
        };
        let (old, new) = r.split_once('/').unwrap_or((r, ""));
        Op::Replace { old, new, all }
    } else if let Some(p) = rest.strip_prefix('#') {
        Op::TrimPrefix(p.strip_prefix('#').unwrap_or(p))
    } else if let Some(s) = rest.strip_prefix('%') {
        Op::TrimSuffix(s.strip_prefix('%').unwrap_or(s))
    } else {
        match rest {
            "^" => Op::Upper { all: false },
            "^^" => Op::Upper { all: true },
            "," => Op::Lower { all: false },
            ",," => Op::Lower { all: true },
            _ => return Some(unsupported()),
        }
    };
    // Trims are literal here; Flux's take glob patterns, which would silently differ.
    if let Op::TrimPrefix(p) | Op::TrimSuffix(p) = op
        && p.contains(['*', '?', '['])
    {
        return Some(unsupported());
    }
    Some(Ok(Expr { name, op }))
}

fn eval(
    expr: &Expr<'_>,
    vars: &BTreeMap<String, String>,
    strict: bool,
    depth: usize,
    out: &mut Expanded,
) -> Result<(), ExpandError> {
    let value = vars.get(expr.name).map(String::as_str);
    if let Op::Default { text, if_empty } = expr.op {
        match value {
            Some(v) if !(if_empty && v.is_empty()) => out.text.push_str(v),
            _ => expand_into(text, vars, strict, depth + 1, out)?,
        }
        return Ok(());
    }
    let value = match value {
        Some(v) => v,
        None if strict => {
            return Err(ExpandError::Invalid(format!(
                "variable {} is not set and has no default",
                expr.name
            )));
        }
        None => "",
    };
    let first_mapped = |f: fn(char) -> String| {
        let mut chars = value.chars();
        chars
            .next()
            .map(|c| f(c) + chars.as_str())
            .unwrap_or_default()
    };
    let result = match expr.op {
        Op::Plain => value.to_string(),
        Op::Length => value.chars().count().to_string(),
        Op::Substring { pos, len } => {
            let chars = value.chars().skip(pos);
            match len {
                Some(n) => chars.take(n).collect(),
                None => chars.collect(),
            }
        }
        Op::Replace { old: "", .. } => value.to_string(),
        Op::Replace {
            old,
            new,
            all: true,
        } => value.replace(old, new),
        Op::Replace {
            old,
            new,
            all: false,
        } => value.replacen(old, new, 1),
        Op::TrimPrefix(p) => value.strip_prefix(p).unwrap_or(value).to_string(),
        Op::TrimSuffix(s) => value.strip_suffix(s).unwrap_or(value).to_string(),
        Op::Upper { all: true } => value.to_uppercase(),
        Op::Lower { all: true } => value.to_lowercase(),
        Op::Upper { all: false } => first_mapped(|c| c.to_uppercase().collect()),
        Op::Lower { all: false } => first_mapped(|c| c.to_lowercase().collect()),
        Op::Default { .. } => unreachable!("handled above"),
    };
    out.text.push_str(&result);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use moor_types::Origin;
    use serde_json::json;

    const MAX: usize = 1 << 20;

    fn vars() -> BTreeMap<String, String> {
        [
            ("name", "web"),
            ("empty", ""),
            ("tag", "v1.2.3"),
            ("Mixed_9", "Hello World"),
            ("n", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn syntax() {
        let table = [
            ("${name}", "web"),
            ("a-${name}-b ${name}", "a-web-b web"),
            ("${Mixed_9}", "Hello World"),
            ("${unset}", ""),
            ("${unset:=dflt}", "dflt"),
            ("${unset:-dflt}", "dflt"),
            ("${unset=dflt}", "dflt"),
            ("${unset-dflt}", "dflt"),
            ("${empty:=dflt}", "dflt"),
            ("${empty=dflt}", ""),
            ("${name:=dflt}", "web"),
            ("${unset:=}", ""),
            ("${unset:=a b:c/d}", "a b:c/d"),
            ("${unset:=${name}-x}", "web-x"),
            ("${unset:=${also_unset:=deep}}", "deep"),
            ("${tag:1}", "1.2.3"),
            ("${tag:1:3}", "1.2"),
            ("${tag:99}", ""),
            ("${tag/./-}", "v1-2.3"),
            ("${tag//./-}", "v1-2-3"),
            ("${tag//.}", "v123"),
            ("${tag#v}", "1.2.3"),
            ("${tag##v1}", ".2.3"),
            ("${tag%.3}", "v1.2"),
            ("${tag%x}", "v1.2.3"),
            ("${name^}", "Web"),
            ("${name^^}", "WEB"),
            ("${Mixed_9,}", "hello World"),
            ("${Mixed_9,,}", "hello world"),
            ("${#tag}", "6"),
            ("${#unset}", "0"),
            // Escape, bare `$var`, non-names and unclosed references stay as they are.
            ("$${name}", "${name}"),
            ("$${name:=x} ${name}", "${name:=x} web"),
            ("$name $$name", "$name $$name"),
            ("${{ github.sha }}", "${{ github.sha }}"),
            ("${1abc}", "${1abc}"),
            ("${}", "${}"),
            ("${name", "${name"),
            ("${name\n}", "${name\n}"),
            ("cost: 5$", "cost: 5$"),
            ("ünï ${name} ç", "ünï web ç"),
            // Values are not read again.
            ("${n}", "3"),
        ];
        let mut with_ref = vars();
        with_ref.insert("ref".into(), "${name}".into());
        for (input, want) in table {
            let got = expand(input, &vars(), false, MAX).unwrap();
            assert_eq!(got.text, want, "{input}");
        }
        assert_eq!(
            expand("${ref}", &with_ref, false, MAX).unwrap().text,
            "${name}"
        );
    }

    #[test]
    fn errors_name_the_expression_never_a_value() {
        for (input, want) in [
            ("${tag%*.3}", "unsupported substitution ${tag%*.3}"),
            ("${tag:x}", "unsupported substitution ${tag:x}"),
            ("${tag@Q}", "unsupported substitution ${tag@Q}"),
        ] {
            assert_eq!(
                expand(input, &vars(), false, MAX).unwrap_err().to_string(),
                want
            );
        }
        let strict = expand("${unset}", &vars(), true, MAX)
            .unwrap_err()
            .to_string();
        assert_eq!(strict, "variable unset is not set and has no default");
        assert_eq!(expand("${unset:=d}", &vars(), true, MAX).unwrap().text, "d");
        let deep = "${a:=".repeat(20) + &"}".repeat(20);
        assert!(
            expand(&deep, &vars(), false, MAX)
                .unwrap_err()
                .to_string()
                .contains("nest deeper")
        );
    }

    #[test]
    fn growth_is_bounded_while_expanding() {
        let mut v = vars();
        v.insert("big".into(), "x".repeat(1000));
        let many = "${big}".repeat(10_000);
        assert_eq!(
            expand(&many, &v, false, 50_000).unwrap_err(),
            ExpandError::TooLarge(50_000)
        );
        let m =
            manifest(json!({"kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": many}}));
        let err = substitute(&[m], &v, false, 50_000).unwrap_err().to_string();
        assert_eq!(
            err,
            "substitution makes the rendered objects larger than 50000 bytes"
        );
        // Lines are still right after many references.
        let e = expand("${name}\n${name}\n\n${tag}", &v, false, MAX).unwrap();
        assert_eq!(
            e.used,
            [("name".into(), 1), ("name".into(), 2), ("tag".into(), 4)]
        );
    }

    #[test]
    fn names() {
        for ok in ["a", "_", "A_1", "_x9"] {
            assert!(valid_var_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "é", "a b"] {
            assert!(!valid_var_name(bad), "{bad}");
        }
    }

    fn manifest(obj: Value) -> Manifest {
        Manifest::new(
            obj,
            Origin {
                file: "app.yaml".into(),
                line: Some(1),
            },
        )
    }

    #[test]
    fn objects_are_substituted_as_yaml_text() {
        let m = manifest(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "${name}", "labels": {"tag": "${tag}"}},
            "spec": {"replicas": "${n}", "note": "${unset:=a default}"}
        }));
        let out = substitute(&[m], &vars(), false, 1 << 20).unwrap();
        assert_eq!(
            out[0].obj,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"tag": "v1.2.3"}},
                "spec": {"replicas": 3, "note": "a default"}
            })
        );
        assert_eq!(out[0].origin.file, "app.yaml");
    }

    #[test]
    fn long_and_multi_line_strings_keep_their_references_whole() {
        let long = format!("{} ${{unset:=a b c}} end", "word ".repeat(40));
        let m = manifest(json!({
            "kind": "ConfigMap", "metadata": {"name": "cm"},
            "data": {"long": long, "script": "echo 1\necho ${name}\n", "q": "'${name}': \"${tag}\""}
        }));
        let out = substitute(&[m], &vars(), false, 1 << 20).unwrap();
        let data = &out[0].obj["data"];
        assert_eq!(data["long"], format!("{} a b c end", "word ".repeat(40)));
        assert_eq!(data["script"], "echo 1\necho web\n");
        assert_eq!(data["q"], "'web': \"v1.2.3\"");
    }

    #[test]
    fn opted_out_objects_and_objects_without_references_are_kept() {
        for key in SUBSTITUTE_OPT_OUT {
            for field in ["annotations", "labels"] {
                let m = manifest(json!({
                    "kind": "ConfigMap",
                    "metadata": {"name": "x", field: {key: "disabled"}},
                    "data": {"script": "echo ${name}"}
                }));
                let out = substitute(std::slice::from_ref(&m), &vars(), true, 1 << 20).unwrap();
                assert_eq!(out[0].obj, m.obj, "{key} as {field}");
            }
        }
        // Only `disabled` opts out.
        let m = manifest(json!({
            "kind": "ConfigMap",
            "metadata": {"name": "x", "annotations": {SUBSTITUTE_OPT_OUT[0]: "enabled"}},
            "data": {"a": "${name}"}
        }));
        let out = substitute(&[m], &vars(), false, 1 << 20).unwrap();
        assert_eq!(out[0].obj["data"]["a"], "web");
    }

    #[test]
    fn a_result_that_is_no_longer_yaml_names_the_object_and_variable_not_the_value() {
        let mut v = vars();
        v.insert("broken".into(), "s3cr3t: [unclosed".into());
        v.insert("docs".into(), "x\n---\nkind: Secret".into());
        let m = manifest(json!({
            "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"},
            "data": {"a": "${name}", "b": "${broken}"}
        }));
        let err = substitute(&[m], &v, false, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("substitution in ConfigMap ns/cm (app.yaml:1): not valid YAML"),
            "{err}"
        );
        assert!(err.contains("${broken}"), "{err}");
        assert!(!err.contains("s3cr3t"), "a value leaked: {err}");

        let m = manifest(json!({"kind": "ConfigMap", "metadata": {"name": "cm"}, "x": "${docs}"}));
        let err = substitute(&[m], &v, false, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("Secret"), "a value leaked: {err}");

        let m = manifest(json!({"kind": "ConfigMap", "metadata": {"name": "${name}"}}));
        let err = substitute(&[m], &vars(), false, 10)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "substitution makes the rendered objects larger than 10 bytes"
        );
    }
}
