//! The sources `moor app create` writes: one (`--repo`, with `--path` or `--chart`), several
//! (`--source KEY=VALUE,...` repeated: Argo CD's `spec.sources`), or those of a file (`-f`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use moor_controller::crd::{HelmSource, Source};

/// What `--source` takes, in order: the keys of one source.
pub const SOURCE_KEYS: &str = "repo, revision, path, chart, ref, name, values";

/// One `--source` flag: `repo=URL,path=P,revision=R,chart=C,ref=NAME,name=N,values=FILE`
/// (`values` repeatable, each a Helm value file; `$REF/path` reads it from the source with
/// `ref=REF`). Values cannot hold a `,`.
pub fn parse_source(flag: &str) -> Result<Source> {
    let mut s = Source::default();
    let mut values = vec![];
    for part in flag.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            bail!("--source {flag:?}: {part:?} is not KEY=VALUE (keys: {SOURCE_KEYS})");
        };
        let value = value.trim().to_string();
        let slot = match key.trim() {
            "repo" | "repoURL" => {
                s.repo_url = value;
                continue;
            }
            "values" | "valueFiles" => {
                values.push(value);
                continue;
            }
            "revision" | "targetRevision" => &mut s.target_revision,
            "path" => &mut s.path,
            "chart" => &mut s.chart,
            "ref" => &mut s.ref_,
            "name" => &mut s.name,
            other => bail!("--source {flag:?}: unknown key {other:?} (keys: {SOURCE_KEYS})"),
        };
        if slot.replace(value).is_some() {
            bail!("--source {flag:?}: {key} is given twice");
        }
    }
    if s.repo_url.is_empty() {
        bail!("--source {flag:?}: repo=URL is missing");
    }
    if !values.is_empty() {
        s.helm = Some(HelmSource {
            value_files: values,
            ..HelmSource::default()
        });
    }
    Ok(s)
}

/// The sources of a YAML file: a list of sources in Argo CD's shape, or a mapping holding one
/// under `sources` (or `spec.sources`, so an Application manifest works too).
pub fn read_sources(path: &Path) -> Result<Vec<Source>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading sources from {}", path.display()))?;
    let doc: serde_json::Value =
        serde_saphyr::from_str(&text).with_context(|| format!("{} is not YAML", path.display()))?;
    let list = match &doc {
        serde_json::Value::Array(_) => doc.clone(),
        _ => doc
            .get("sources")
            .or_else(|| doc.get("spec")?.get("sources"))
            .cloned()
            .with_context(|| {
                format!(
                    "{}: expected a list of sources, or a mapping with sources or spec.sources",
                    path.display()
                )
            })?,
    };
    let sources: Vec<Source> = serde_json::from_value(list)
        .with_context(|| format!("{}: not a list of sources", path.display()))?;
    if sources.is_empty() {
        bail!("{}: the list of sources is empty", path.display());
    }
    Ok(sources)
}

/// One line per source for `moor app get`: `URL chart C | path P at REV [ref R]`.
pub fn describe(s: &Source) -> String {
    let what = match (&s.chart, &s.path) {
        (Some(c), _) => format!("chart {c}"),
        (None, Some(p)) if !p.is_empty() => format!("path {p}"),
        _ => "path .".into(),
    };
    let mut line = format!(
        "{} {what} at {}",
        s.repo_url,
        s.target_revision.as_deref().unwrap_or("HEAD")
    );
    if let Some(r) = &s.ref_ {
        line.push_str(&format!(" (ref {r})"));
    }
    if let Some(n) = &s.name {
        line.push_str(&format!(" (name {n})"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_flags_parse_into_argo_cd_sources() {
        let s = parse_source(
            "repo=https://g/c.git,path=chart,revision=main,values=$values/prod.yaml,values=x.yaml",
        )
        .unwrap();
        assert_eq!(s.repo_url, "https://g/c.git");
        assert_eq!(s.path.as_deref(), Some("chart"));
        assert_eq!(s.target_revision.as_deref(), Some("main"));
        assert_eq!(s.helm.unwrap().value_files, ["$values/prod.yaml", "x.yaml"]);
        let r = parse_source("repo=https://g/v.git, ref=values").unwrap();
        assert_eq!(r.ref_.as_deref(), Some("values"));
        let c = parse_source("repo=oci://r/charts,chart=web,revision=^1.2").unwrap();
        assert_eq!(c.chart.as_deref(), Some("web"));
        for bad in [
            "path=x",
            "repo=a,colour=red",
            "repo=a,path=x,path=y",
            "repo=a,oops",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_holds_a_list_or_an_application() {
        let t = tempfile::tempdir().unwrap();
        let list = t.path().join("list.yaml");
        std::fs::write(&list, "- repoURL: a\n  path: p\n- repoURL: b\n  ref: v\n").unwrap();
        assert_eq!(read_sources(&list).unwrap().len(), 2);
        let app = t.path().join("app.yaml");
        std::fs::write(
            &app,
            "spec:\n  sources:\n  - repoURL: a\n    chart: c\n    targetRevision: 1.0.0\n",
        )
        .unwrap();
        assert_eq!(read_sources(&app).unwrap()[0].chart.as_deref(), Some("c"));
        std::fs::write(&app, "kind: x\n").unwrap();
        assert!(read_sources(&app).is_err());
    }
}
