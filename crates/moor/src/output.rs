//! What the CLI prints: YAML streams and the change-set table.

use anyhow::{Context, Result};
use moor_apply::ChangeSet;
use moor_types::{Change, Manifest};

/// Objects as one YAML stream (`---` between documents).
pub fn yaml_stream(manifests: &[Manifest]) -> Result<String> {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n");
        let doc = serde_saphyr::to_string(&m.obj)
            .with_context(|| format!("failed to print {} as YAML", m.key()))?;
        out.push_str(&doc);
        if !doc.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

fn kind_of(key: &moor_types::ObjKey) -> String {
    if key.group.is_empty() {
        key.kind.clone()
    } else {
        format!("{}.{}", key.kind, key.group)
    }
}

/// One row per object (KIND NAMESPACE NAME RESULT MESSAGE), hooks where they ran (PreSync ones
/// first, the others after the objects), and a summary line.
pub fn change_table(set: &ChangeSet) -> String {
    let hook_row = |h: &moor_apply::HookResult| {
        [
            kind_of(&h.key),
            h.key.namespace.clone().unwrap_or_default(),
            h.key.name.clone(),
            format!("{} hook {}", h.phase, h.status.as_str().to_lowercase()),
            h.message.clone(),
        ]
    };
    let (pre, post): (Vec<_>, Vec<_>) = set
        .hooks
        .iter()
        .partition(|h| h.phase == moor_types::SyncPhase::PreSync);
    let rows: Vec<[String; 5]> = pre
        .into_iter()
        .map(hook_row)
        .chain(set.objects.iter().map(|o| {
            [
                kind_of(&o.key),
                o.key.namespace.clone().unwrap_or_default(),
                o.key.name.clone(),
                o.change.to_string(),
                o.message.clone(),
            ]
        }))
        .chain(post.into_iter().map(hook_row))
        .collect();
    let header = ["KIND", "NAMESPACE", "NAME", "RESULT", "MESSAGE"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |r: &[String; 5]| {
        let mut s = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i == 4 {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for r in &rows {
        out.push_str(&line(r));
    }
    let counts: Vec<String> = [
        Change::Created,
        Change::Configured,
        Change::Adopted,
        Change::Unchanged,
        Change::Pruned,
        Change::Skipped,
        Change::Replaced,
    ]
    .iter()
    // Adoption and replacement are rare: counted only when they happened.
    .filter(|c| !matches!(c, Change::Adopted | Change::Replaced) || set.count(**c) > 0)
    .map(|c| format!("{} {c}", set.count(*c)))
    .collect();
    let prefix = if set.dry_run {
        "dry run, nothing written: "
    } else {
        ""
    };
    let rev = set
        .revision
        .as_deref()
        .map(|r| format!(" at {}", &r[..r.len().min(12)]))
        .unwrap_or_default();
    out.push_str(&format!(
        "{prefix}app {}{rev}: {}\n",
        set.app,
        counts.join(", ")
    ));
    out
}
