//! An app's sources as one: `spec.source`, or Argo CD 2.6+'s `spec.sources`. Each source is a
//! Git path or a chart of a Helm repository / OCI registry (`chart:`). Resolving gives every
//! source its revision (a commit, or the chart version a constraint picks) and its files (a
//! checkout, or the pulled chart); rendering renders each source that has no `ref` and merges
//! the manifests. `ref` sources only lend files: a Helm value file `$name/path` of another
//! source is read from the checkout of the source with `ref: name`, confined to it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use moor_render::HelmCapabilities;

use crate::context::Shared;
use crate::crd::{Application, Source, SyncOperation};
use crate::repo_credentials::ChartAuths;
use crate::sources::{Rendered, ResolvedSource, SourceError, Sources};

/// Most sources one app may have.
pub const MAX_SOURCES: usize = 32;

/// Every source of an app, resolved.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// In the order of the spec.
    pub sources: Vec<ResolvedSource>,
    /// The app uses `spec.sources`.
    pub multi: bool,
}

impl Resolved {
    /// The one revision the app is compared, synced and recorded at: its source's, or with
    /// `spec.sources` every source's joined by `, ` (a change of any source is a new revision).
    pub fn revision(&self) -> String {
        self.revisions_all().join(", ")
    }

    /// With `spec.sources`, the revision of each source (Argo CD's `revisions`); else empty.
    pub fn revisions(&self) -> Vec<String> {
        if self.multi {
            self.revisions_all()
        } else {
            vec![]
        }
    }

    fn revisions_all(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.revision.clone()).collect()
    }
}

/// Whether a source is rendered: all but a `ref` source of `spec.sources` with neither `path`
/// nor `chart`, which only lends its files (Argo CD renders a `ref` source that has a path).
pub fn renders(multi: bool, s: &Source) -> bool {
    let only_files =
        s.ref_.is_some() && s.path.as_deref().is_none_or(str::is_empty) && !s.is_chart();
    !multi || !only_files
}

/// Where the spec has source `i`: `spec.source` or `spec.sources[i]`.
pub fn field(app: &Application, i: usize) -> String {
    if app.is_multi_source() {
        format!("spec.sources[{i}]")
    } else {
        "spec.source".into()
    }
}

/// The revision (or chart version constraint) to resolve source `i` at: what the requested
/// operation names (`revision`, or with `spec.sources` its `revisions`, as a rollback writes
/// them), else the source's `targetRevision`.
pub fn wanted_revision(app: &Application, i: usize, op: Option<&SyncOperation>) -> Option<String> {
    let asked = op.and_then(|op| {
        if app.is_multi_source() {
            op.revisions.get(i).cloned()
        } else {
            op.revision.clone()
        }
    });
    asked
        .filter(|r| !r.trim().is_empty())
        .or_else(|| app.sources().get(i)?.target_revision.clone())
        .filter(|r| !r.trim().is_empty())
}

/// What is wrong with the app's sources as written, before anything is fetched: an empty
/// `repoURL`, a `ref` given twice, a `$name/...` value file naming no `ref` source.
pub fn check(app: &Application) -> Result<(), String> {
    let sources = app.sources();
    // Each source is a fetch and a checkout or pull at every reconcile.
    if sources.len() > MAX_SOURCES {
        return Err(format!(
            "spec.sources has {} sources; moor takes at most {MAX_SOURCES}",
            sources.len()
        ));
    }
    for (i, s) in sources.iter().enumerate() {
        if s.repo_url.trim().is_empty() {
            return Err(format!("{}.repoURL is empty", field(app, i)));
        }
    }
    if !app.is_multi_source() {
        return Ok(());
    }
    let mut refs: HashMap<&str, usize> = HashMap::new();
    for (i, s) in sources.iter().enumerate() {
        let Some(name) = s.ref_.as_deref() else {
            continue;
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(format!(
                "spec.sources[{i}].ref {name:?} is not a name (letters, digits, - and _)"
            ));
        }
        if let Some(first) = refs.insert(name, i) {
            return Err(format!(
                "spec.sources[{first}] and spec.sources[{i}] both have ref {name:?}"
            ));
        }
    }
    for (i, s) in sources.iter().enumerate() {
        let files = s.helm.as_ref().map(|h| &h.value_files[..]).unwrap_or(&[]);
        for f in files.iter().filter(|f| f.starts_with('$')) {
            let name = f[1..].split('/').next().unwrap_or_default();
            if !refs.contains_key(name) {
                return Err(format!(
                    "spec.sources[{i}].helm.valueFiles entry {f:?} names ref {name:?}, but no \
                     source of spec.sources has ref: {name}"
                ));
            }
        }
    }
    Ok(())
}

/// Resolves every source of `app` (credentials of `project`): fetches what is older than
/// `max_age` (shared with every app), picks the revision `op` or the spec asks for, and checks
/// it out or pulls the chart.
pub async fn resolve(
    shared: &Shared,
    app: &Application,
    project: &str,
    op: Option<&SyncOperation>,
    max_age: Duration,
) -> Result<Resolved, SourceError> {
    let mut out = Vec::new();
    let auths = shared.repo_creds.chart_auths(project).await;
    for (i, source) in app.sources().iter().enumerate() {
        let revision = wanted_revision(app, i, op);
        let field = field(app, i);
        let mut resolved = if source.is_chart() {
            resolve_chart(shared, source, field, &auths, revision, max_age).await?
        } else {
            let url = &source.repo_url;
            let creds = shared.credentials_for(url, project).await;
            let sources = &shared.sources;
            let commit = sources
                .resolve(url, revision.as_deref(), &creds, max_age)
                .await?;
            let root = sources.checkout(url, &commit).await?;
            ResolvedSource {
                source: source.clone(),
                field,
                revision: commit,
                root,
                chart_digest: None,
                dependencies: vec![],
            }
        };
        if renders(app.is_multi_source(), source) {
            resolved.dependencies = dependencies(shared, &resolved, &auths, max_age).await?;
        }
        out.push(resolved);
    }
    Ok(Resolved {
        sources: out,
        multi: app.is_multi_source(),
    })
}

/// A chart source: the version its `targetRevision` (a version or a semver constraint) picks
/// from the repository's index or the registry's tags, pulled into the chart cache.
async fn resolve_chart(
    shared: &Shared,
    source: &Source,
    field: String,
    auths: &ChartAuths,
    version: Option<String>,
    max_age: Duration,
) -> Result<ResolvedSource, SourceError> {
    let (auth, enable_oci) = auths.for_url(&source.repo_url);
    let req = moor_chart::ChartRequest {
        repo_url: source.repo_url.clone(),
        chart: source.chart.clone().unwrap_or_default(),
        version,
        auth,
        enable_oci,
    };
    let err = |e: moor_chart::ChartError| SourceError::Chart {
        field: field.clone(),
        cause: moor_types::error_chain(&e),
    };
    let charts = &shared.sources.charts;
    let version = charts.resolve(&req, max_age).await.map_err(err)?;
    let pulled = charts.pull(&req, &version).await.map_err(err)?;
    Ok(ResolvedSource {
        source: source.clone(),
        field,
        revision: pulled.version,
        root: pulled.dir,
        chart_digest: Some(pulled.digest),
        dependencies: vec![],
    })
}

/// The dependencies (Chart.yaml, Chart.lock) of a source that is a chart, fetched into the
/// chart cache with the project's credentials for each repository they name (`file://` ones
/// confined to the source's checkout); none for a source that is no chart.
async fn dependencies(
    shared: &Shared,
    rs: &ResolvedSource,
    auths: &ChartAuths,
    max_age: Duration,
) -> Result<Vec<moor_render::HelmDependency>, SourceError> {
    let path_field = format!("{}.path", rs.field);
    // A path that leaves the checkout or does not exist is the render's to report.
    let Ok(dir) = moor_render::confine(&rs.root, &rs.root, &path_field, &rs.path()) else {
        return Ok(vec![]);
    };
    if !dir.join("Chart.yaml").is_file() {
        return Ok(vec![]);
    }
    let auth_for = |url: &str| auths.for_url(url).0;
    let charts = &shared.sources.charts;
    let deps = moor_chart::dependencies(charts, &dir, &rs.root, max_age, &auth_for)
        .await
        .map_err(|e| SourceError::Chart {
            field: rs.field.clone(),
            cause: moor_types::error_chain(&e),
        })?;
    Ok(deps
        .into_iter()
        .map(|d| moor_render::HelmDependency {
            name: d.name,
            version: d.version,
            digest: d.digest,
            path: d.path,
        })
        .collect())
}

/// Renders every source of `resolved` that has no `ref` (with `spec.sources`; the one source
/// otherwise) and merges their manifests. An object two sources both render is an error
/// naming both: which one should win is not for moor to guess.
pub async fn render(
    sources: &Sources,
    app: &Application,
    resolved: &Resolved,
    capabilities: &HelmCapabilities,
) -> Result<Rendered, SourceError> {
    let refs: BTreeMap<String, PathBuf> = if resolved.multi {
        (resolved.sources.iter())
            .filter_map(|s| Some((s.source.ref_.clone()?, s.root.clone())))
            .collect()
    } else {
        BTreeMap::new()
    };
    let rendering: Vec<&ResolvedSource> = (resolved.sources.iter())
        .filter(|s| renders(resolved.multi, &s.source))
        .collect();
    let mut parts = Vec::new();
    for rs in &rendering {
        parts.push(sources.render_source(app, rs, &refs, capabilities).await?);
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    let Some(first) = parts.first() else {
        // Only ref sources: nothing to render (Argo CD renders nothing either).
        let rs = resolved.sources.first().expect("an app has a source");
        return Ok(Rendered {
            manifests: Arc::new(vec![]),
            dir: rs.root.clone(),
            what: "spec.sources (all of them ref sources)".into(),
            opts: Default::default(),
        });
    };
    let mut seen: HashMap<moor_types::ObjKey, usize> = HashMap::new();
    let mut merged = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        for m in part.manifests.iter() {
            if let Some(j) = seen.insert(m.key(), i).filter(|j| *j != i) {
                return Err(SourceError::Duplicate {
                    object: m.key().to_string(),
                    first: describe(rendering[j]),
                    second: describe(rendering[i]),
                });
            }
            merged.push(m.clone());
        }
    }
    Ok(Rendered {
        manifests: Arc::new(merged),
        dir: first.dir.clone(),
        what: parts
            .iter()
            .map(|p| p.what.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        opts: first.opts.clone(),
    })
}

/// `spec.sources[i] (chart c of URL at version V)`, for errors.
fn describe(rs: &ResolvedSource) -> String {
    let name = rs
        .source
        .name
        .as_deref()
        .map(|n| format!(" {n:?}"))
        .unwrap_or_default();
    format!("{}{name} ({})", rs.field, rs.describe())
}

/// The repository URLs of the app's sources that a push to `urls` (normalised) concerns: the
/// URL is one of them and, for a Git source, the pushed ref is its revision.
pub fn pushed_sources<'a>(
    app: &'a Application,
    urls: &[String],
    push: &moor_server::PushEvent,
) -> Vec<&'a str> {
    (app.sources().iter())
        .filter(|s| urls.contains(&moor_git::normalize_url(&s.repo_url)))
        .filter(|s| s.is_chart() || crate::revision_matches(s.target_revision.as_deref(), push))
        .map(|s| s.repo_url.as_str())
        .collect()
}

/// The repository URLs of the app's sources, for webhooks and the cache's garbage collector.
pub fn repo_urls(app: &Application) -> impl Iterator<Item = &str> {
    app.sources().iter().map(|s| s.repo_url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(spec: serde_json::Value) -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": "a", "namespace": "n"},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn refs_must_name_a_ref_source_and_be_unique() {
        let chart = json!({"repoURL": "https://g/c.git", "path": "chart",
                           "helm": {"valueFiles": ["$values/prod.yaml", "local.yaml"]}});
        let ok = app(
            json!({"sources": [chart, {"repoURL": "https://g/v.git", "ref": "values"}],
                            "destination": {"namespace": "d"}}),
        );
        assert_eq!(check(&ok), Ok(()));
        let unknown = app(
            json!({"sources": [chart, {"repoURL": "https://g/v.git", "ref": "vals"}],
                                 "destination": {"namespace": "d"}}),
        );
        let e = check(&unknown).unwrap_err();
        assert!(
            e.contains("spec.sources[0].helm.valueFiles entry \"$values/prod.yaml\"")
                && e.contains("names ref \"values\""),
            "{e}"
        );
        let twice = app(
            json!({"sources": [{"repoURL": "a", "ref": "v"}, {"repoURL": "b", "ref": "v"}],
                               "destination": {}}),
        );
        assert!(check(&twice).unwrap_err().contains("both have ref \"v\""));
        let many = vec![json!({"repoURL": "a"}); MAX_SOURCES + 1];
        let many = app(json!({"sources": many, "destination": {}}));
        assert!(check(&many).unwrap_err().contains("at most 32"));
        let empty = app(json!({"sources": [{"repoURL": ""}], "destination": {}}));
        assert_eq!(
            check(&empty).unwrap_err(),
            "spec.sources[0].repoURL is empty"
        );
    }

    #[tokio::test]
    async fn an_object_two_sources_render_is_an_error_naming_both() {
        let t = tempfile::tempdir().unwrap();
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\n";
        for dir in ["a", "b"] {
            std::fs::create_dir_all(t.path().join(dir)).unwrap();
            std::fs::write(t.path().join(dir).join("cm.yaml"), cm).unwrap();
        }
        let a = app(
            json!({"sources": [{"repoURL": "https://g/x.git", "path": "a"},
                                       {"repoURL": "https://g/x.git", "path": "b", "name": "bee"}],
                           "destination": {"namespace": "d"}}),
        );
        let resolved = Resolved {
            sources: (a.sources().iter().enumerate())
                .map(|(i, s)| ResolvedSource {
                    source: s.clone(),
                    field: field(&a, i),
                    revision: format!("c{i}"),
                    root: t.path().to_path_buf(),
                    chart_digest: None,
                    dependencies: vec![],
                })
                .collect(),
            multi: true,
        };
        assert_eq!(resolved.revision(), "c0, c1");
        assert_eq!(resolved.revisions(), ["c0", "c1"]);
        let sources = Sources::new(
            moor_git::RepoCache::new(t.path().join("cache")),
            t.path().join("charts"),
            Duration::ZERO,
        );
        let caps = HelmCapabilities::default();
        let Err(e) = render(&sources, &a, &resolved, &caps).await else {
            panic!("two sources rendering one object merged")
        };
        assert_eq!(
            e.to_string(),
            "ConfigMap same is rendered by both spec.sources[0] (path a of https://g/x.git at c0) \
             and spec.sources[1] \"bee\" (path b of https://g/x.git at c1)"
        );
    }

    #[test]
    fn a_ref_source_is_rendered_only_with_a_path_or_chart() {
        let s = |v: serde_json::Value| serde_json::from_value::<Source>(v).unwrap();
        assert!(!renders(true, &s(json!({"repoURL": "a", "ref": "v"}))));
        assert!(!renders(
            true,
            &s(json!({"repoURL": "a", "ref": "v", "path": ""}))
        ));
        assert!(renders(
            true,
            &s(json!({"repoURL": "a", "ref": "v", "path": "p"}))
        ));
        assert!(renders(true, &s(json!({"repoURL": "a"}))));
        assert!(renders(false, &s(json!({"repoURL": "a", "ref": "v"}))));
    }

    #[test]
    fn operations_name_revisions_per_source() {
        let a = app(
            json!({"sources": [{"repoURL": "a", "targetRevision": "main"},
                                       {"repoURL": "b", "chart": "c", "targetRevision": "1.x"}],
                           "destination": {}}),
        );
        assert_eq!(wanted_revision(&a, 1, None).as_deref(), Some("1.x"));
        let op = SyncOperation {
            revision: Some("ignored".into()),
            revisions: vec!["abc".into(), "1.2.0".into()],
            ..Default::default()
        };
        assert_eq!(wanted_revision(&a, 0, Some(&op)).as_deref(), Some("abc"));
        assert_eq!(wanted_revision(&a, 1, Some(&op)).as_deref(), Some("1.2.0"));
        let single = app(json!({"source": {"repoURL": "a", "targetRevision": "main"},
                                "destination": {}}));
        assert_eq!(
            wanted_revision(&single, 0, Some(&op)).as_deref(),
            Some("ignored")
        );
        assert_eq!(single.sources().len(), 1);
    }
}
