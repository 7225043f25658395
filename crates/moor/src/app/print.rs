//! What `moor app` prints: the app summary, tables, and `-o json|yaml`.

use std::io::Write;

use anyhow::Result;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use moor_controller::crd::{Application, OperationState};
use moor_controller::project::DEFAULT_PROJECT;
use moor_types::ConditionType;
use serde::Serialize;

use super::Output;

/// The summary and resource table of `moor app get`.
pub(super) fn describe(app: &Application) -> String {
    let spec = &app.spec;
    let st = app.status.clone().unwrap_or_default();
    let mut out = String::new();
    let mut field = |k: &str, v: String| out.push_str(&format!("{:<16}{v}\n", format!("{k}:")));
    field(
        "Name",
        format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any()),
    );
    field(
        "Project",
        spec.project
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_PROJECT.into()),
    );
    // A spec error (a project rule refusing the app, a bad health rule) stops every reconcile:
    // shown at the top, by the project, rather than among the other conditions.
    let (blocking, conditions): (Vec<_>, Vec<_>) = st
        .conditions
        .iter()
        .partition(|c| c.type_ == ConditionType::InvalidSpecError.as_str());
    for c in &blocking {
        field("Spec Error", c.message.clone());
    }
    if spec.sources.is_empty() {
        field("Repo", spec.source.repo_url.clone());
        field(
            "Target",
            spec.source
                .target_revision
                .clone()
                .unwrap_or_else(|| "HEAD".into()),
        );
        match &spec.source.chart {
            Some(chart) => field("Chart", chart.clone()),
            None => field(
                "Path",
                spec.source.path.clone().unwrap_or_else(|| ".".into()),
            ),
        }
    }
    for (i, s) in spec.sources.iter().enumerate() {
        let rev = st.sync.revisions.get(i).map(|r| short(r).to_string());
        let at = rev.map(|r| format!(" [synced {r}]")).unwrap_or_default();
        field(
            &format!("Source {i}"),
            format!("{}{at}", super::sources::describe(s)),
        );
    }
    let d = &spec.destination;
    let cluster = d
        .server
        .clone()
        .or_else(|| d.name.clone())
        .unwrap_or_default();
    field(
        "Destination",
        match &d.namespace {
            Some(ns) => format!("{cluster} (namespace {ns})"),
            None => cluster,
        },
    );
    field(
        "Sync Policy",
        match app.automated() {
            None => "manual".to_string(),
            Some(a) => {
                let mut opts = vec![];
                if a.prune {
                    opts.push("prune");
                }
                if a.self_heal {
                    opts.push("self-heal");
                }
                if a.allow_empty {
                    opts.push("allow-empty");
                }
                if opts.is_empty() {
                    "automated".into()
                } else {
                    format!("automated ({})", opts.join(", "))
                }
            }
        },
    );
    if spec.suspend {
        field(
            "Suspended",
            "yes: no fetch, sync or self-heal until `moor app resume`".into(),
        );
    }
    if let Some(p) = &spec.sync_policy
        && !p.sync_options.is_empty()
    {
        field("Sync Options", p.sync_options.join(", "));
    }
    if !spec.depends_on.is_empty() {
        let deps: Vec<String> = spec
            .depends_on
            .iter()
            .map(|r| match &r.namespace {
                Some(ns) => format!("{ns}/{}", r.name),
                None => r.name.clone(),
            })
            .collect();
        field("Depends On", deps.join(", "));
    }
    field(
        "Sync Status",
        match &st.sync.revision {
            Some(rev) => format!("{} at {}", or_dash(&st.sync.status), short(rev)),
            None => or_dash(&st.sync.status),
        },
    );
    if let Some(m) = &st.sync.revision_metadata {
        field("Commit", format!("{} ({})", m.message, m.author));
    }
    // Sharded controllers: which replica has the app, and whether a label pins it there.
    if let Some(by) = &st.reconciled_by {
        let pin = app.labels().get(moor_controller::SHARD_PIN_LABEL);
        field(
            "Shard",
            match pin {
                Some(p) => format!(
                    "{by} (pinned by label {}={p})",
                    moor_controller::SHARD_PIN_LABEL
                ),
                None => by.clone(),
            },
        );
    }
    field(
        "Health Status",
        match st.health.message.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => format!("{}: {m}", or_dash(&st.health.status)),
            None => or_dash(&st.health.status),
        },
    );
    if let Some(op) = app.operation.as_ref().and_then(|o| o.sync.as_ref()) {
        field(
            "Requested",
            format!(
                "sync to {}{}",
                op.revision.as_deref().unwrap_or("the target revision"),
                if op.prune == Some(true) {
                    " with prune"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(os) = &st.operation_state {
        field("Last Operation", operation_line(os));
    }
    // The last operation's hooks, as `argocd app get` lists hook results.
    let hooks: Vec<Vec<String>> = st
        .operation_state
        .iter()
        .flat_map(|os| os.sync_result.iter().flat_map(|r| r.resources.iter()))
        .filter_map(|r| {
            Some(vec![
                r.hook_type.clone()?,
                r.kind.clone(),
                r.namespace.clone().unwrap_or_default(),
                r.name.clone(),
                r.hook_phase.clone().unwrap_or_default(),
                r.message.clone(),
            ])
        })
        .collect();
    if !hooks.is_empty() {
        out.push_str("\nHOOKS\n");
        out.push_str(&table(
            &["PHASE", "KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE"],
            &hooks,
        ));
    }
    if !conditions.is_empty() {
        out.push_str("\nCONDITIONS\n");
        let rows: Vec<Vec<String>> = conditions
            .iter()
            .map(|c| {
                vec![
                    c.type_.clone(),
                    c.last_transition_time.clone().unwrap_or_default(),
                    c.message.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["TYPE", "SINCE", "MESSAGE"], &rows));
    }
    if !st.resources.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = st
            .resources
            .iter()
            .map(|r| {
                let h = r.health.clone().unwrap_or_default();
                vec![
                    r.group.clone(),
                    r.kind.clone(),
                    r.namespace.clone().unwrap_or_default(),
                    r.name.clone(),
                    r.status.clone(),
                    h.status,
                    h.message.unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "GROUP",
                "KIND",
                "NAMESPACE",
                "NAME",
                "SYNC",
                "HEALTH",
                "MESSAGE",
            ],
            &rows,
        ));
    }
    out
}

/// `Succeeded: message (started ..., finished ...)`.
pub(super) fn operation_line(os: &OperationState) -> String {
    let mut s = os.phase.clone();
    if !os.message.is_empty() {
        s = format!("{s}: {}", os.message);
    }
    let times: Vec<String> = [("started", &os.started_at), ("finished", &os.finished_at)]
        .iter()
        .filter_map(|(what, t)| t.as_ref().map(|t| format!("{what} {t}")))
        .collect();
    if !times.is_empty() {
        s = format!("{s} ({})", times.join(", "));
    }
    s
}

/// The object as `-o json|yaml` prints it: without managedFields, like kubectl.
pub(super) fn for_output(mut app: Application) -> Application {
    app.metadata.managed_fields = None;
    app
}

pub(crate) fn print_as<T: Serialize>(value: &T, output: Output) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(value)?)?,
        Output::Yaml => out.write_all(serde_saphyr::to_string(value)?.as_bytes())?,
        Output::Table | Output::Wide => unreachable!("tables are printed by each command"),
    }
    Ok(0)
}

/// Columns padded to their widest cell, three spaces apart; the last one is not padded.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

pub(crate) fn or_dash(s: &str) -> String {
    if s.is_empty() { "-".into() } else { s.into() }
}

/// A commit's first 7 characters; anything else (a tag, a branch) as it is.
pub(super) fn short(rev: &str) -> &str {
    if rev.len() >= 40 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
        &rev[..7]
    } else {
        rev
    }
}

/// Age as kubectl prints it, roughly: 45s, 12m, 5h, 3d.
pub(super) fn age(created: Option<&Time>, now: Timestamp) -> String {
    let Some(t) = created else {
        return "-".into();
    };
    let s = (now.as_second() - t.0.as_second()).max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_revisions_and_ages() {
        assert_eq!(short("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"), "9f8e7d6");
        assert_eq!(short("v1.2.0"), "v1.2.0");
        let now: Timestamp = "2025-03-05T10:00:00Z".parse().unwrap();
        let t = |s: &str| Time(s.parse().unwrap());
        assert_eq!(age(Some(&t("2025-03-05T09:59:15Z")), now), "45s");
        assert_eq!(age(Some(&t("2025-03-05T09:48:00Z")), now), "12m");
        assert_eq!(age(Some(&t("2025-03-05T05:00:00Z")), now), "5h");
        assert_eq!(age(Some(&t("2025-03-02T10:00:00Z")), now), "3d");
        assert_eq!(age(None, now), "-");
    }
}
