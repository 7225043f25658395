//! YAML/JSON streams to objects: one value per document with its starting line, then the
//! mapping check and `List` flattening every renderer shares.

use moor_types::{Manifest, Origin};
use serde_json::Value;
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, Spanned};

use crate::RenderError;

/// Deepest nesting of mappings and sequences accepted in a document. Deep CRD schemas reach
/// about 40; far deeper is an attack on the parser's stack.
pub(crate) const MAX_DEPTH: usize = 128;

/// Events that YAML aliases may replay in one stream: anchors are rare in manifests, and a
/// handful of levels of aliases to aliases would otherwise expand to billions of nodes.
pub(crate) const MAX_ALIAS_EVENTS: usize = 200_000;

/// One parsed document and the 1-based line its content starts on.
pub(crate) struct Doc {
    pub value: Value,
    pub line: usize,
}

/// A syntax error before it is tied to a file.
pub(crate) struct Syntax {
    pub line: Option<usize>,
    pub cause: String,
}

/// Parses a multi-document YAML stream; empty (and null) documents are skipped by the parser.
pub(crate) fn yaml_docs(text: &str) -> Result<Vec<Doc>, Syntax> {
    let options = serde_saphyr::options! {
        // As kubectl (YAML 1.1 via sigs.k8s.io/yaml): `0755` is octal and a repeated key keeps
        // the last value, so manifests that apply with kubectl parse the same here.
        legacy_octal_numbers: true,
        duplicate_keys: DuplicateKeyPolicy::LastWins,
        // Apps of thousands of objects are normal (a kustomize or helm render is one stream);
        // the default budget (1024 documents, 250k nodes) is sized for config files.
        // Depth and aliases stay bounded, so a hostile repository cannot exhaust the stack or
        // the memory: a billion-laughs document is stopped after MAX_ALIAS_EVENTS replays.
        budget: serde_saphyr::budget! {
            max_documents: 1_000_000,
            max_nodes: 100_000_000,
            max_events: 400_000_000,
            max_depth: MAX_DEPTH,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_EVENTS,
        },
    };
    let docs =
        serde_saphyr::from_multiple_with_options::<Spanned<Value>>(text, options).map_err(|e| {
            Syntax {
                line: e.location().map(|l| l.line() as usize).filter(|l| *l > 0),
                // The bare message: the file and line are in our own prefix.
                cause: serde_saphyr::DefaultMessageFormatter
                    .format_message(e.without_snippet())
                    .into_owned(),
            }
        })?;
    Ok(docs
        .into_iter()
        .map(|d| Doc {
            line: (d.referenced.line() as usize).max(1),
            value: d.value,
        })
        .collect())
}

/// Parses a JSON file holding one value or several concatenated ones (as kubectl accepts).
pub(crate) fn json_docs(text: &str) -> Result<Vec<Doc>, Syntax> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let (mut counted_to, mut line) = (0, 1);
    loop {
        let start = stream.byte_offset();
        let start = start + (text.len() - start - text[start..].trim_start().len());
        match stream.next() {
            None => return Ok(docs),
            Some(Err(e)) => {
                return Err(Syntax {
                    line: Some(e.line()).filter(|l| *l > 0),
                    cause: strip_json_position(&e.to_string()),
                });
            }
            Some(Ok(value)) => {
                line += text[counted_to..start].matches('\n').count();
                counted_to = start;
                docs.push(Doc { value, line });
            }
        }
    }
}

/// serde_json appends " at line L column C"; the line is already in our prefix.
fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Appends `value` as objects: a mapping as is, a `*List` with `items` flattened into its items.
/// Anything else is an error naming `origin`.
pub(crate) fn push_objects(
    value: Value,
    origin: &Origin,
    out: &mut Vec<Manifest>,
) -> Result<(), RenderError> {
    let Value::Object(mut obj) = value else {
        return Err(RenderError::NotAMapping {
            file: origin.file.clone(),
            line: origin.line,
            found: type_name(&value),
        });
    };
    let is_list = obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && matches!(obj.get("items"), Some(Value::Array(_) | Value::Null));
    if !is_list {
        out.push(Manifest::new(Value::Object(obj), origin.clone()));
        return Ok(());
    }
    if let Some(Value::Array(items)) = obj.remove("items") {
        for item in items {
            push_objects(item, origin, out)?;
        }
    }
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "mapping",
    }
}

/// Parses a YAML stream into manifests whose origin is `file` and each document's line.
/// Errors name `file` and the line.
pub fn parse_manifests(text: &str, file: &str) -> Result<Vec<Manifest>, RenderError> {
    let docs = yaml_docs(text).map_err(|s| RenderError::Parse {
        file: file.to_string(),
        line: s.line,
        cause: s.cause,
    })?;
    docs_to_manifests(docs, |line| Origin {
        file: file.to_string(),
        line: Some(line),
    })
}

pub(crate) fn docs_to_manifests(
    docs: Vec<Doc>,
    origin_of: impl Fn(usize) -> Origin,
) -> Result<Vec<Manifest>, RenderError> {
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        push_objects(doc.value, &origin_of(doc.line), &mut out)?;
    }
    Ok(out)
}

/// Parses a tool's YAML output. Lines in its output mean nothing to users, so origins name
/// `file` (what the tool rendered from, per `source_of(line)`) without a line.
pub(crate) fn tool_output_manifests(
    tool: &str,
    text: &str,
    source_of: impl Fn(usize) -> String,
) -> Result<Vec<Manifest>, RenderError> {
    let docs = yaml_docs(text).map_err(|s| RenderError::Parse {
        file: source_of(s.line.unwrap_or(1)),
        line: None,
        cause: match s.line {
            Some(l) => format!("{} (line {l} of {tool}'s output)", s.cause),
            None => format!("{} ({tool}'s output)", s.cause),
        },
    })?;
    docs_to_manifests(docs, |line| Origin {
        file: source_of(line),
        line: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(docs: &[Doc]) -> Vec<usize> {
        docs.iter().map(|d| d.line).collect()
    }

    #[test]
    fn yaml_docs_start_lines_skip_empty_documents() {
        let text = "# header\n\na: 1\n---\n---\n# only a comment\n---\nb: 2\n--- {c: 3}\n";
        let docs = yaml_docs(text).ok().unwrap();
        assert_eq!(lines(&docs), [3, 8, 9]);
        assert_eq!(docs[2].value, serde_json::json!({"c": 3}));
    }

    #[test]
    fn yaml_follows_kubectl_on_octal_and_duplicate_keys() {
        let docs = yaml_docs("mode: 0755\na: 1\na: 2\n").ok().unwrap();
        assert_eq!(docs[0].value, serde_json::json!({"mode": 493, "a": 2}));
    }

    #[test]
    fn yaml_syntax_error_has_line_and_bare_cause() {
        let Err(s) = yaml_docs("a: 1\n---\nb: 2\n  c: 3\n") else {
            panic!("expected an error")
        };
        assert_eq!(s.line, Some(4));
        assert!(!s.cause.contains("line"), "{}", s.cause);
    }

    #[test]
    fn json_stream_lines() {
        let docs = json_docs("\u{feff}{\"a\": 1}\n\n{\n \"b\": 2}\n")
            .ok()
            .unwrap();
        assert_eq!(lines(&docs), [1, 3]);
        let Err(s) = json_docs("{\"a\": 1}\n{\"b\": }\n") else {
            panic!("expected an error")
        };
        assert_eq!(s.line, Some(2));
        assert!(!s.cause.contains("line"), "{}", s.cause);
    }

    #[test]
    fn nested_lists_flatten_and_items_must_be_mappings() {
        let origin = Origin {
            file: "l.yaml".into(),
            line: Some(2),
        };
        let mut out = Vec::new();
        let list = serde_json::json!({"kind": "List", "items": [
            {"kind": "A"}, {"kind": "ConfigMapList", "items": [{"kind": "B"}]}, {"kind": "EmptyList", "items": null}
        ]});
        push_objects(list, &origin, &mut out).unwrap();
        let kinds: Vec<_> = out.iter().map(Manifest::kind).collect();
        assert_eq!(kinds, ["A", "B"]);
        let err = push_objects(
            serde_json::json!({"kind": "List", "items": [3]}),
            &origin,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "l.yaml:2: expected a mapping (a Kubernetes object), found a number"
        );
    }

    #[test]
    fn tool_output_errors_name_the_source() {
        let err = tool_output_manifests("helm", "a: 1\n---\n- x\n", |_| "templates/x.yaml".into())
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("templates/x.yaml: expected a mapping"),
            "{err}"
        );
        let err = tool_output_manifests("kustomize", "a: [\n", |_| "kustomization.yaml".into())
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("failed to parse kustomization.yaml: "),
            "{err}"
        );
        assert!(err.to_string().contains("of kustomize's output"), "{err}");
    }
}

#[cfg(test)]
mod budget_tests {
    use std::time::{Duration, Instant};

    /// A 9-level billion laughs: each level lists the previous one 10 times.
    fn alias_bomb() -> String {
        let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n");
        s.push_str("a0: &a0 [\"lol\"]\n");
        for i in 1..=9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        s
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let start = Instant::now();
        let Err(e) = super::yaml_docs(&alias_bomb()) else {
            panic!("the alias bomb parsed")
        };
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert!(e.cause.contains("alias"), "{}", e.cause);
    }

    #[test]
    fn nesting_past_the_limit_is_refused_and_deep_schemas_parse() {
        let nested = |depth: usize| {
            let mut s = String::from("kind: X\nspec: ");
            s.push_str(&"[".repeat(depth));
            s.push_str(&"]".repeat(depth));
            s
        };
        assert!(super::yaml_docs(&nested(60)).is_ok());
        let Err(e) = super::yaml_docs(&nested(100_000)) else {
            panic!("100000 levels parsed")
        };
        assert!(e.cause.contains("limit"), "{}", e.cause);
    }

    /// Regression: a 2000-object stream hit serde-saphyr's default budget of 1024 documents.
    #[test]
    fn streams_of_thousands_of_documents_parse() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: v\n";
        let text: String = (0..5000).map(|_| format!("---\n{doc}")).collect();
        assert_eq!(
            super::yaml_docs(&text).map_err(|e| e.cause).unwrap().len(),
            5000
        );
    }
}
