//! The `images:` list of a kustomization, edited as text: the entry whose `name` is the image
//! gets `newName` (when the repository changes), `newTag` and `digest` so that it describes the
//! new reference exactly; a missing entry (or `images:` block) is added. The file must parse
//! as YAML first, and the edited text must parse back to the wanted entry, or nothing is
//! returned.

use std::collections::BTreeMap;
use std::path::Path;

use moor_types::KUSTOMIZATION_FILES;
use serde_json::Value;
use serde_saphyr::MessageFormatter as _;

use crate::text::{
    Line, Scalar, Style, block_scalar_lines, indent_of, is_blank_or_comment, join_lines, key_line,
    newline_of, render_scalar, replace_scalar, scalar, skip_dashes, split_lines,
};
use crate::{ImageChange, ImageError, ImageRef, ImageUpdate, TextEdit};

/// Whether `path` names a kustomization file.
pub fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| KUSTOMIZATION_FILES.contains(&n))
}

/// One `images:` entry as written (values unquoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KustomizeImage {
    /// The image name the entry matches in the manifests.
    pub name: String,
    /// `newName`: the repository the image is replaced with.
    pub new_name: Option<String>,
    /// `newTag`: the tag set.
    pub new_tag: Option<String>,
    /// `digest`: the digest set.
    pub digest: Option<String>,
    /// 1-based line of its `name:`.
    pub line: usize,
}

impl KustomizeImage {
    /// The reference the entry gives the image: `newName` (else `name`), `newTag`, `digest`.
    pub fn reference(&self) -> String {
        let mut s = self.new_name.clone().unwrap_or_else(|| self.name.clone());
        if let Some(tag) = &self.new_tag {
            s = format!("{s}:{tag}");
        }
        if let Some(digest) = &self.digest {
            s = format!("{s}@{digest}");
        }
        s
    }

    /// The value of `newName`, `newTag` or `digest`.
    fn field(&self, key: &str) -> Option<&str> {
        match key {
            "newName" => self.new_name.as_deref(),
            "newTag" => self.new_tag.as_deref(),
            "digest" => self.digest.as_deref(),
            _ => None,
        }
    }

    /// The update that makes another kustomization's entry for this image the same as this one.
    pub fn to_update(&self) -> Result<ImageUpdate, ImageError> {
        let reference = ImageRef::parse(&self.reference())?;
        Ok(ImageUpdate::new(self.name.clone(), reference))
    }
}

/// The `images:` entries of a kustomization; an error when it does not parse.
pub fn kustomization_images(file: &Path, text: &str) -> Result<Vec<KustomizeImage>, ImageError> {
    let value = parse_yaml(file, text)?;
    let lines = split_lines(text);
    let block = scan(file, &lines)?;
    cross_check(file, &value, block.as_ref())?;
    Ok(block
        .map(|b| b.entries.iter().map(Entry::image).collect())
        .unwrap_or_default())
}

/// Applies `updates` to a kustomization's `images:` entries. With `add_missing`, an image with
/// no entry gets one (and the file an `images:` block). `TextEdit::matched` holds the names that
/// have (or now have) an entry.
pub fn set_kustomize_images(
    file: &Path,
    text: &str,
    updates: &[ImageUpdate],
    add_missing: bool,
) -> Result<TextEdit, ImageError> {
    let value = parse_yaml(file, text)?;
    cross_check(file, &value, scan(file, &split_lines(text))?.as_ref())?;
    let mut edit = TextEdit {
        text: text.to_string(),
        ..TextEdit::default()
    };
    let mut changed = Vec::new();
    for update in updates {
        let (next, old, matched) = apply(file, &edit.text, update, add_missing)?;
        if matched {
            edit.matched.insert(update.name.clone());
        }
        if next != edit.text {
            changed.push((update, old));
            edit.text = next;
        }
    }
    if changed.is_empty() {
        return Ok(edit);
    }
    // The edited text must parse, and say what was asked, before anyone writes it.
    let value = parse_yaml(file, &edit.text).map_err(|e| ImageError::Unsupported {
        file: file.to_path_buf(),
        reason: format!("the edited text would not parse ({e}); nothing was changed"),
    })?;
    let block = scan(file, &split_lines(&edit.text))?;
    cross_check(file, &value, block.as_ref())?;
    let entries = block.map(|b| b.entries).unwrap_or_default();
    for (update, old) in changed {
        verify(file, &value, update)?;
        let entry = entries
            .iter()
            .find(|e| e.name() == Some(update.name.as_str()));
        // The first line whose value changed; the `name:` line of an added entry, or when
        // lines were only removed.
        let line = entry.map_or(0, |e| match &old {
            None => e.name_line(),
            Some(o) => ["newName", "newTag", "digest"]
                .iter()
                .filter_map(|k| e.fields.get(*k).map(|f| (*k, f)))
                .filter(|(k, (_, s))| o.field(k) != Some(s.value.as_str()))
                .map(|(_, (l, _))| l + 1)
                .min()
                .unwrap_or_else(|| e.name_line()),
        });
        edit.changes.push(ImageChange {
            file: file.to_path_buf(),
            line,
            image: update.name.clone(),
            old: old.map(|o| o.reference()),
            new: update.new.to_string(),
        });
    }
    Ok(edit)
}

fn parse_yaml(file: &Path, text: &str) -> Result<Value, ImageError> {
    let value = serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).filter(|l| *l > 0);
        let msg = serde_saphyr::DefaultMessageFormatter
            .format_message(e.without_snippet())
            .into_owned();
        ImageError::KustomizationParse {
            file: file.to_path_buf(),
            cause: match line {
                Some(line) => format!("line {line}: {msg}"),
                None => msg,
            },
        }
    })?;
    match value {
        Value::Null | Value::Object(_) => Ok(value),
        other => Err(ImageError::KustomizationParse {
            file: file.to_path_buf(),
            cause: format!("expected a mapping, found {}", kind(&other)),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The values of the wanted entry: `newName` only when the repository changes.
fn wanted(update: &ImageUpdate) -> [(&'static str, Option<String>); 3] {
    let new_name = (update.new.name != update.name).then(|| update.new.name.clone());
    [
        ("newName", new_name),
        ("newTag", update.new.tag.clone()),
        ("digest", update.new.digest.clone()),
    ]
}

fn verify(file: &Path, value: &Value, update: &ImageUpdate) -> Result<(), ImageError> {
    let entry = value["images"].as_array().and_then(|images| {
        images
            .iter()
            .find(|e| e["name"].as_str() == Some(update.name.as_str()))
    });
    let ok = entry.is_some_and(|entry| {
        wanted(update)
            .iter()
            .all(|(key, want)| entry.get(*key).and_then(Value::as_str) == want.as_deref())
    });
    if ok {
        Ok(())
    } else {
        Err(ImageError::Unsupported {
            file: file.to_path_buf(),
            reason: format!(
                "the edited images: entry for {} does not read back as {}; nothing was changed",
                update.name, update.new
            ),
        })
    }
}

/// The `images:` block as found in the text.
struct Block {
    /// Line index of `images:`.
    key: usize,
    /// `images: []`: the value is on the key's line.
    inline_empty: Option<Scalar>,
    entries: Vec<Entry>,
    /// Column of the entries' `-`.
    item_indent: Option<usize>,
    /// Last line index holding part of the block.
    last: usize,
}

struct Entry {
    /// Column of its `-`.
    dash_col: usize,
    /// Column of its keys.
    key_indent: Option<usize>,
    /// `name`, `newName`, `newTag`, `digest`: line index and scalar.
    fields: BTreeMap<String, (usize, Scalar)>,
    /// Last line index holding part of the entry.
    last: usize,
}

impl Entry {
    fn name(&self) -> Option<&str> {
        self.fields.get("name").map(|(_, s)| s.value.as_str())
    }

    fn name_line(&self) -> usize {
        self.fields.get("name").map_or(0, |(l, _)| l + 1)
    }

    fn value(&self, key: &str) -> Option<String> {
        self.fields.get(key).map(|(_, s)| s.value.clone())
    }

    fn image(&self) -> KustomizeImage {
        KustomizeImage {
            name: self.name().unwrap_or_default().to_string(),
            new_name: self.value("newName"),
            new_tag: self.value("newTag"),
            digest: self.value("digest"),
            line: self.name_line(),
        }
    }
}

const FIELDS: [&str; 4] = ["name", "newName", "newTag", "digest"];

fn unsupported(file: &Path, reason: String) -> ImageError {
    ImageError::Unsupported {
        file: file.to_path_buf(),
        reason,
    }
}

fn scan(file: &Path, lines: &[Line]) -> Result<Option<Block>, ImageError> {
    let data = block_scalar_lines(lines);
    let mut keys = lines.iter().enumerate().filter(|(i, l)| {
        !data[*i]
            && key_line(&l.text)
                .is_some_and(|k| k.indent == 0 && k.dash.is_none() && k.key == "images")
    });
    let Some((key, key_text)) = keys.next() else {
        return Ok(None);
    };
    if let Some((again, _)) = keys.next() {
        return Err(unsupported(
            file,
            format!(
                "images: appears twice (lines {} and {})",
                key + 1,
                again + 1
            ),
        ));
    }
    let k = key_line(&key_text.text).expect("matched above");
    let mut block = Block {
        key,
        inline_empty: None,
        entries: Vec::new(),
        item_indent: None,
        last: key,
    };
    let after = &key_text.text[k.value_from..];
    if !is_blank_or_comment(after) {
        let flow = after.trim_start();
        if flow.starts_with("[]") && is_blank_or_comment(&flow[2..]) {
            let start = k.value_from + (after.len() - flow.len());
            block.inline_empty = Some(Scalar {
                start,
                end: start + 2,
                value: "[]".into(),
                style: Style::Plain,
            });
            return Ok(Some(block));
        }
        if !flow.starts_with(['[', '{']) {
            return Err(unsupported(
                file,
                format!(
                    "images: on line {} must be a list of `- name: ...` entries",
                    key + 1
                ),
            ));
        }
        return Err(unsupported(
            file,
            format!(
                "images: on line {} is written in flow style; write it as a block list \
                 (`- name: ...` lines) so it can be edited in place",
                key + 1
            ),
        ));
    }
    for (j, line) in lines.iter().enumerate().skip(key + 1) {
        let text = line.text.as_str();
        if data[j] {
            if let Some(e) = block.entries.last_mut() {
                e.last = j;
            }
            continue;
        }
        if is_blank_or_comment(text) {
            continue;
        }
        if text.starts_with('\t') {
            return Err(unsupported(
                file,
                format!("line {} is indented with a tab", j + 1),
            ));
        }
        let indent = indent_of(text);
        let (dash, _) = skip_dashes(text);
        if indent == 0 && dash.is_none() {
            break;
        }
        let new_entry = dash == Some(indent) && block.item_indent.is_none_or(|i| i == indent);
        if new_entry {
            block.item_indent = Some(indent);
            block.entries.push(Entry {
                dash_col: indent,
                key_indent: None,
                fields: BTreeMap::new(),
                last: j,
            });
        } else if block.item_indent.is_none_or(|i| indent <= i) {
            if indent == 0 {
                break;
            }
            return Err(unsupported(
                file,
                format!("line {} of images: is not inside a `- name:` entry", j + 1),
            ));
        }
        let entry = block.entries.last_mut().expect("an entry is open");
        entry.last = j;
        match key_line(text) {
            Some(k) if entry.key_indent.is_none_or(|i| i == k.indent) => {
                if k.dash.is_some() && !new_entry {
                    continue;
                }
                entry.key_indent = Some(k.indent);
                if !FIELDS.contains(&k.key.as_str()) {
                    continue;
                }
                let Some(s) = scalar(text, k.value_from) else {
                    return Err(unsupported(
                        file,
                        format!(
                            "the {} on line {} must be a single-line value to be edited in place",
                            k.key,
                            j + 1
                        ),
                    ));
                };
                if entry.fields.insert(k.key.clone(), (j, s)).is_some() {
                    return Err(unsupported(
                        file,
                        format!(
                            "{} appears twice in the images: entry (line {})",
                            k.key,
                            j + 1
                        ),
                    ));
                }
            }
            Some(_) => {}
            None if new_entry && !is_blank_or_comment(&text[indent + 1..]) => {
                return Err(unsupported(
                    file,
                    format!("the images: entry on line {} is not a mapping", j + 1),
                ));
            }
            None => {}
        }
        block.last = j;
    }
    if let Some(last) = block.entries.last() {
        block.last = block.last.max(last.last);
    }
    Ok(Some(block))
}

/// The text scan must see the entries the YAML parser sees, or the file is written in a way
/// this editor does not follow, and it refuses rather than guess.
fn cross_check(file: &Path, value: &Value, block: Option<&Block>) -> Result<(), ImageError> {
    let parsed: Vec<Option<&str>> = match &value["images"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(|i| i["name"].as_str()).collect(),
        other => {
            return Err(unsupported(
                file,
                format!("images: must be a list, found {}", kind(other)),
            ));
        }
    };
    if let Some(i) = parsed.iter().position(Option::is_none) {
        return Err(unsupported(
            file,
            format!("images: entry {} has no name", i + 1),
        ));
    }
    let scanned: Vec<Option<&str>> = block
        .map(|b| b.entries.iter().map(Entry::name).collect())
        .unwrap_or_default();
    if parsed != scanned || (block.is_none() && value.get("images").is_some()) {
        return Err(unsupported(
            file,
            "its images: list is written in a form moor cannot edit in place (anchors, flow \
             style or unusual indentation)"
                .into(),
        ));
    }
    Ok(())
}

/// One update on the text: (new text, the entry before, whether an entry matched or was added).
fn apply(
    file: &Path,
    text: &str,
    update: &ImageUpdate,
    add_missing: bool,
) -> Result<(String, Option<KustomizeImage>, bool), ImageError> {
    let mut lines = split_lines(text);
    let nl = newline_of(&lines);
    let block = scan(file, &lines)?;
    let mut replace: BTreeMap<usize, String> = BTreeMap::new();
    let mut delete: Vec<usize> = Vec::new();
    let mut insert: BTreeMap<usize, Vec<String>> = BTreeMap::new();

    let matching: Vec<&Entry> = block
        .iter()
        .flat_map(|b| b.entries.iter())
        .filter(|e| e.name() == Some(update.name.as_str()))
        .collect();
    let mut old = None;
    if !matching.is_empty() {
        for entry in matching {
            old.get_or_insert_with(|| entry.image());
            let (name_line, name) = &entry.fields["name"];
            let indent = " ".repeat(entry.key_indent.unwrap_or(entry.dash_col + 2));
            let mut anchor = *name_line;
            for (key, want) in wanted(update) {
                match (entry.fields.get(key), want) {
                    (Some((l, s)), Some(w)) => {
                        if s.value != w {
                            replace.insert(*l, replace_scalar(&lines[*l].text, s, &w));
                        }
                        anchor = *l;
                    }
                    (Some((l, _)), None) => delete.push(*l),
                    (None, Some(w)) => insert
                        .entry(anchor)
                        .or_default()
                        .push(format!("{indent}{key}: {}", render_scalar(&w, name.style))),
                    (None, None) => {}
                }
            }
        }
    } else if add_missing {
        let style = block
            .iter()
            .flat_map(|b| b.entries.first())
            .find_map(|e| e.fields.get("name").map(|(_, s)| s.style))
            .unwrap_or(Style::Plain);
        let (item, key) = match block.as_ref().and_then(|b| b.entries.first()) {
            Some(e) => (e.dash_col, e.key_indent.unwrap_or(e.dash_col + 2)),
            None => {
                let item = sequence_indent(&lines);
                (item, item + 2)
            }
        };
        // `-` then spaces up to the keys' column, as the existing entries are written.
        let mut entry = vec![format!(
            "{}-{}name: {}",
            " ".repeat(item),
            " ".repeat(key.saturating_sub(item + 1).max(1)),
            render_scalar(&update.name, style)
        )];
        for (k, want) in wanted(update) {
            if let Some(w) = want {
                entry.push(format!(
                    "{}{k}: {}",
                    " ".repeat(key),
                    render_scalar(&w, style)
                ));
            }
        }
        match &block {
            None => {
                let at = lines.len();
                if let Some(last) = lines.last_mut()
                    && last.eol.is_empty()
                {
                    last.eol = nl.clone();
                }
                lines.push(Line {
                    text: "images:".into(),
                    eol: nl.clone(),
                });
                insert.insert(at, entry);
            }
            Some(b) => {
                if let Some(s) = &b.inline_empty {
                    let t = &lines[b.key].text;
                    let rest = t[s.end..].to_string();
                    let head = t[..s.start].trim_end().to_string();
                    replace.insert(b.key, format!("{head}{rest}"));
                }
                let at = if b.entries.is_empty() { b.key } else { b.last };
                insert.insert(at, entry);
            }
        }
    } else {
        return Ok((text.to_string(), None, false));
    }

    let mut out: Vec<Line> = Vec::with_capacity(lines.len() + 4);
    for (i, line) in lines.into_iter().enumerate() {
        if !delete.contains(&i) {
            out.push(Line {
                text: replace.remove(&i).unwrap_or(line.text),
                eol: line.eol,
            });
        }
        for text in insert.remove(&i).unwrap_or_default() {
            if let Some(prev) = out.last_mut()
                && prev.eol.is_empty()
            {
                prev.eol = nl.clone();
            }
            out.push(Line {
                text,
                eol: nl.clone(),
            });
        }
    }
    Ok((join_lines(&out), old, true))
}

/// Column of the `-` of the file's top-level lists (`resources:` and the like), else 0 as
/// `kustomize edit` writes them.
fn sequence_indent(lines: &[Line]) -> usize {
    let data = block_scalar_lines(lines);
    for (i, line) in lines.iter().enumerate() {
        let opens_block = !data[i]
            && key_line(&line.text).is_some_and(|k| {
                k.indent == 0 && k.dash.is_none() && is_blank_or_comment(&line.text[k.value_from..])
            });
        if !opens_block {
            continue;
        }
        let next = lines[i + 1..]
            .iter()
            .find(|l| !is_blank_or_comment(&l.text));
        if let Some(next) = next
            && let (Some(dash), _) = skip_dashes(&next.text)
        {
            return dash;
        }
    }
    0
}

#[cfg(test)]
mod tests;
