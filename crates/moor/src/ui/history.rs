//! An app's deployed revisions (author, message, time, result) and the diff between two
//! revisions' rendered manifests.

use std::collections::BTreeMap;

use kube::ResourceExt;
use moor_controller::crd::{Application, HistoryEntry, Source};
use moor_types::Manifest;
use serde::Serialize;
use similar::TextDiff;

use super::UiError;
use super::render::Renders;

/// One deployed revision, as the JSON of [`EntryView`] (the router sends `body` as it is).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Entry {
    /// An [`EntryView`] as JSON.
    pub body: serde_json::Value,
}

/// One deployed revision: `{"id", "revision", "shortRevision", "revisions", "author", "message",
/// "deployedAt", "result", "source"}`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntryView {
    /// The history id, for rollback.
    pub id: i64,
    /// The commit deployed.
    pub revision: String,
    /// Its first 7 characters.
    pub short_revision: String,
    /// With spec.sources: each source's revision.
    pub revisions: Vec<String>,
    /// The commit's author; None when the controller did not record it.
    pub author: Option<String>,
    /// The commit's subject; None when not recorded.
    pub message: Option<String>,
    /// When the sync finished (RFC 3339).
    pub deployed_at: String,
    /// Always "Succeeded": history records successful syncs only.
    pub result: &'static str,
    /// The source as it was deployed.
    pub source: Option<Source>,
}

/// The app's history, newest first.
pub(crate) fn entries(app: &Application) -> Vec<Entry> {
    views(app)
        .into_iter()
        .map(|e| Entry {
            body: serde_json::to_value(e).unwrap_or_default(),
        })
        .collect()
}

/// The app's history, newest first, typed.
fn views(app: &Application) -> Vec<EntryView> {
    let mut history: Vec<&HistoryEntry> = app
        .status
        .as_ref()
        .map(|s| s.history.iter().collect())
        .unwrap_or_default();
    // Ids increase with every deployment; the stored order is oldest first, but sort rather
    // than trust it.
    history.sort_by_key(|h| std::cmp::Reverse(h.id));
    history
        .into_iter()
        .map(|h| {
            let meta = h.revision_metadata.as_ref();
            EntryView {
                id: h.id,
                revision: h.revision.clone(),
                short_revision: h.revision.chars().take(7).collect(),
                revisions: h.revisions.clone(),
                author: meta.map(|m| m.author.clone()).filter(|a| !a.is_empty()),
                message: meta.map(|m| m.message.clone()).filter(|m| !m.is_empty()),
                deployed_at: h.deployed_at.clone(),
                result: "Succeeded",
                source: h.source.clone(),
            }
        })
        .collect()
}

/// The diff between two revisions' rendered manifests, as the JSON of [`DiffView`] (the
/// router sends `body` as it is).
#[derive(Debug, Default, Serialize)]
pub(crate) struct RevisionDiff {
    /// A [`DiffView`] as JSON.
    pub body: serde_json::Value,
}

/// `{"from", "to", "diff"}`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct DiffView {
    /// The older entry's id, as asked.
    pub from: i64,
    /// The newer entry's id, as asked.
    pub to: i64,
    /// Unified diff over every object's YAML, Secret values masked; empty when equal.
    pub diff: String,
}

/// The rendered manifests of history entries `from` and `to` of `app` (API group `group`),
/// compared.
pub(crate) async fn diff(
    renders: &Renders,
    app: &Application,
    _group: &str,
    from: i64,
    to: i64,
) -> Result<RevisionDiff, UiError> {
    let entry = |id: i64| {
        let history = app.status.as_ref().map(|s| &s.history[..]).unwrap_or(&[]);
        history.iter().find(|h| h.id == id).ok_or_else(|| {
            UiError::NotFound(format!(
                "application {}/{} has no history entry {id}",
                app.namespace().unwrap_or_default(),
                app.name_any()
            ))
        })
    };
    let (a, b) = (entry(from)?, entry(to)?);
    let (old, new) = tokio::join!(render(renders, app, a), render(renders, app, b));
    let (old, new) = (old?, new?);
    let view = DiffView {
        from,
        to,
        diff: unified(&short(&a.revision), &old, &short(&b.revision), &new),
    };
    Ok(RevisionDiff {
        body: serde_json::to_value(view).unwrap_or_default(),
    })
}

fn short(r: &str) -> String {
    r.chars().take(7).collect()
}

/// Entry `h`'s source rendered at its revision, as `Kind namespace/name` -> object.
async fn render(
    renders: &Renders,
    app: &Application,
    h: &HistoryEntry,
) -> Result<BTreeMap<String, serde_json::Value>, UiError> {
    if !h.sources.is_empty() {
        return Err(UiError::BadRequest(format!(
            "history entry {} has several sources: revision diffs render one Git source",
            h.id
        )));
    }
    // An entry recorded without its source deployed the app's one source as it is now.
    let source = match &h.source {
        Some(s) => s,
        None if !app.is_multi_source() => &app.spec.source,
        None => {
            return Err(UiError::BadRequest(format!(
                "history entry {} recorded no source: its manifests cannot be rendered",
                h.id
            )));
        }
    };
    if source.is_chart() {
        return Err(UiError::BadRequest(format!(
            "history entry {} deploys a chart: revision diffs render one Git source",
            h.id
        )));
    }
    let rendered = renders
        .render(app, source, Some(&h.revision))
        .await
        .map_err(|e| {
            UiError::Internal(format!(
                "rendering history entry {} ({}): {e}",
                h.id,
                short(&h.revision)
            ))
        })?;
    Ok(by_key(&rendered.manifests))
}

fn by_key(manifests: &[Manifest]) -> BTreeMap<String, serde_json::Value> {
    manifests
        .iter()
        .map(|m| (m.key().to_string(), moor_diff::normalize(&m.obj)))
        .collect()
}

/// One unified diff per object that differs, in key order; Secret values masked in pairs (a
/// changed value shows as changed, never its text).
fn unified(
    from_name: &str,
    old: &BTreeMap<String, serde_json::Value>,
    to_name: &str,
    new: &BTreeMap<String, serde_json::Value>,
) -> String {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = String::new();
    for key in keys {
        let (a, b) = moor_diff::mask_secrets_pair(old.get(key), new.get(key));
        let a = a.as_ref().map(moor_diff::to_yaml).unwrap_or_default();
        let b = b.as_ref().map(moor_diff::to_yaml).unwrap_or_default();
        if a == b {
            continue;
        }
        let d = TextDiff::from_lines(&a, &b)
            .unified_diff()
            .context_radius(3)
            .header(&format!("{from_name}/{key}"), &format!("{to_name}/{key}"))
            .to_string();
        out.push_str(&d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn newest_first_with_metadata_or_null() {
        let app: Application = serde_json::from_value(json!({
            "metadata": {"name": "a", "namespace": "n"},
            "spec": {"source": {"repoURL": "https://x/r.git"}, "destination": {}},
            "status": {"history": [
                {"id": 1, "revision": "1111111aaaa", "deployedAt": "t1"},
                {"id": 3, "revision": "3333333cccc", "deployedAt": "t3",
                 "revisionMetadata": {"author": "A <a@x>", "message": "third"}},
                {"id": 2, "revision": "2222222bbbb", "deployedAt": "t2",
                 "revisionMetadata": {"author": "", "message": ""}},
            ]}
        }))
        .unwrap();
        let e = views(&app);
        assert_eq!(e.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 2, 1]);
        assert_eq!(e[0].author.as_deref(), Some("A <a@x>"));
        assert_eq!(e[0].message.as_deref(), Some("third"));
        assert_eq!(e[0].short_revision, "3333333");
        assert_eq!((e[1].author.clone(), e[2].message.clone()), (None, None));
        let v = serde_json::to_value(&e[2]).unwrap();
        assert_eq!(v["author"], serde_json::Value::Null);
        assert_eq!(v["result"], "Succeeded");
        assert_eq!(v["deployedAt"], "t1");
    }

    #[test]
    fn unified_shows_changed_lines_and_masks_secrets() {
        let cm = |v: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c"}, "data": {"k": v}})
        };
        let secret = |v: &str| {
            json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s"}, "data": {"password": v}})
        };
        let old = BTreeMap::from([
            ("ConfigMap c".to_string(), cm("one")),
            ("Secret s".to_string(), secret("b2xkLXNlY3JldA==")),
        ]);
        let new = BTreeMap::from([
            ("ConfigMap c".to_string(), cm("two")),
            ("Secret s".to_string(), secret("bmV3LXNlY3JldA==")),
        ]);
        let d = unified("aaaaaaa", &old, "bbbbbbb", &new);
        assert!(
            d.contains("--- aaaaaaa/ConfigMap c\n+++ bbbbbbb/ConfigMap c\n"),
            "{d}"
        );
        assert!(d.contains("-  k: one\n+  k: two\n"), "{d}");
        assert!(d.contains("Secret s") && d.contains(moor_diff::MASK), "{d}");
        assert!(
            !d.contains("b2xkLXNlY3JldA==") && !d.contains("bmV3LXNlY3JldA=="),
            "{d}"
        );
        assert_eq!(unified("a", &old, "b", &old), "");
    }
}
