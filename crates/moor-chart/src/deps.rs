//! Chart dependencies: what `Chart.yaml` and `Chart.lock` name, fetched for `helm template`.
//!
//! [`dependencies`] does what `helm dependency build` does before Argo CD renders a chart,
//! without writing into the chart (a Git checkout or the chart cache, both shared):
//! - a dependency already in the chart's `charts/` (a directory or an archive) is used as is,
//!   as `helm template` finds it there;
//! - with a `Chart.lock` (`requirements.lock` for `apiVersion: v1`) whose digest matches the
//!   dependencies, the locked versions are fetched; a lock that no longer matches is an error,
//!   as in Helm (the lock pins what the author tested; ignoring it would deploy something else);
//! - without a lock, each version constraint is resolved against its repository, as
//!   `helm dependency update` does;
//! - `https://` and `oci://` repositories go through [`Charts`] (cached and shared, with the
//!   credentials the caller finds for each repository URL), `file://` ones are directories of
//!   the same checkout, confined to it.
//!
//! Helm resolves only the chart's own dependencies, not those of its dependencies (a pulled
//! chart ships them in its `charts/`); so does this.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{ChartError, ChartRequest, Charts, RepoAuth, constraint};

/// Chart.yaml, Chart.lock and a dependency's Chart.yaml are refused past this size.
const MAX_FILE_BYTES: u64 = 1 << 20;
/// A `file://` dependency is hashed (for the render cache key) up to this many bytes …
const MAX_DIR_BYTES: u64 = 64 << 20;
/// … and this many files and directories.
const MAX_DIR_ENTRIES: usize = 50_000;
/// A chart listing more dependencies is refused: each one is a fetch on every reconcile.
const MAX_DEPENDENCIES: usize = 100;
/// Entries of `charts/` looked at, and the bytes of their Chart.yaml files read, to find the
/// vendored dependencies.
const MAX_VENDORED: usize = 1_000;
const MAX_VENDORED_BYTES: u64 = 16 << 20;

/// A dependency to place in the chart's `charts/` before rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartDependency {
    /// The chart's name (the dependency's `name`; `alias` is Helm's business at render time).
    pub name: String,
    /// The exact version fetched.
    pub version: String,
    /// The repository, as written in Chart.yaml, any userinfo redacted.
    pub repository: String,
    /// sha256 hex of the chart archive, or of the files of a `file://` directory.
    pub digest: String,
    /// The chart's directory: extracted in the chart cache, or in the checkout for `file://`.
    /// Shared: never to be written to.
    pub path: PathBuf,
}

/// Why a chart's dependencies cannot be had. Each names the file (and line) that asks for
/// them, the dependency and its repository, and the cause once.
#[derive(Debug, thiserror::Error)]
pub enum DependencyError {
    /// Chart.yaml or the lock file cannot be read or parsed.
    #[error("{file}: {reason}")]
    Invalid {
        /// The file, relative to the checkout.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The lock file's digest is not that of Chart.yaml's dependencies.
    #[error(
        "{lock} is out of sync with the dependencies in {chart_yaml}: run `helm dependency update` \
         and commit the new lock file"
    )]
    LockOutOfSync {
        /// The lock file, relative to the checkout.
        lock: String,
        /// The file listing the dependencies.
        chart_yaml: String,
    },
    /// A dependency that is not in `charts/` and cannot be fetched from where it says.
    #[error("{file}: dependency {name:?} (repository {repository:?}) is missing: {reason}")]
    Missing {
        /// Chart.yaml and the dependency's line in it.
        file: String,
        /// The dependency's name.
        name: String,
        /// Its repository as written (userinfo redacted).
        repository: String,
        /// Why it cannot be had.
        reason: String,
    },
    /// Resolving or pulling a dependency from its repository failed.
    #[error("{file}: dependency {name:?}: {source}")]
    Fetch {
        /// Chart.yaml and the dependency's line in it.
        file: String,
        /// The dependency's name.
        name: String,
        /// The repository's error (names the repository, chart and version).
        #[source]
        source: Box<ChartError>,
    },
}

impl DependencyError {
    /// Whether retrying later may help (the repository unreachable), rather than a fix of the
    /// chart, the Application or the repository Secret.
    pub fn is_transient(&self) -> bool {
        matches!(self, DependencyError::Fetch { source, .. } if source.is_transient())
    }
}

/// One entry of Chart.yaml's `dependencies` (or a lock's), with the fields Helm hashes into
/// the lock's digest, in the order Helm's `chart.Dependency` declares them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct Dep {
    name: String,
    version: String,
    repository: String,
    condition: String,
    tags: Vec<String>,
    enabled: bool,
    #[serde(rename = "import-values")]
    import_values: Vec<serde_json::Value>,
    alias: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ChartYaml {
    #[serde(rename = "apiVersion")]
    api_version: String,
    name: String,
    version: String,
    dependencies: Option<Vec<Dep>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Requirements {
    dependencies: Option<Vec<Dep>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Lock {
    digest: String,
    dependencies: Option<Vec<Dep>>,
}

/// The dependencies of the chart in `chart_dir` (inside the checkout `root`) that its
/// `charts/` lacks, fetched: from Helm repositories and OCI registries through `charts`
/// (indexes and tag lists at most `max_age` old, credentials from `auth_for(repository URL)`),
/// or from directories of the checkout (`file://`). Empty when the chart has none to fetch.
pub async fn dependencies(
    charts: &Charts,
    chart_dir: &Path,
    root: &Path,
    max_age: Duration,
    auth_for: &(dyn Fn(&str) -> RepoAuth + Send + Sync),
) -> Result<Vec<ChartDependency>, DependencyError> {
    let root = root.canonicalize().map_err(|e| DependencyError::Invalid {
        file: root.display().to_string(),
        reason: format!("cannot read the checkout: {e}"),
    })?;
    let chart_dir = chart_dir
        .canonicalize()
        .map_err(|e| DependencyError::Invalid {
            file: chart_dir.display().to_string(),
            reason: format!("cannot read the chart directory: {e}"),
        })?;
    let rel = |p: &Path| {
        let r = p.strip_prefix(&root).unwrap_or(p).to_string_lossy();
        if r.is_empty() {
            ".".to_string()
        } else {
            r.into_owned()
        }
    };
    if !chart_dir.starts_with(&root) {
        return Err(DependencyError::Invalid {
            file: rel(&chart_dir),
            reason: "the chart directory is outside the repository".to_string(),
        });
    }
    let (chart, listed) = read_dependencies(&chart_dir, &rel)?;
    let Some((deps_file, deps, lines)) = listed else {
        return Ok(Vec::new());
    };
    let locked = locked_versions(&chart_dir, &chart, &deps, &deps_file, &rel)?;
    let vendored = vendored(&chart_dir.join("charts"));
    let mut out: Vec<ChartDependency> = Vec::new();
    for (i, dep) in deps.iter().enumerate() {
        if vendored.contains(&dep.name) {
            continue;
        }
        let file = match lines.get(i) {
            Some(line) => format!("{}:{line}", rel(&deps_file)),
            None => rel(&deps_file),
        };
        let missing = |reason: String| DependencyError::Missing {
            file: file.clone(),
            name: dep.name.clone(),
            repository: moor_git::redact_url(&dep.repository),
            reason,
        };
        // The locked version, else Chart.yaml's constraint.
        let (version, exact) = match &locked {
            Some(l) => (l[i].clone(), true),
            None => (dep.version.clone(), false),
        };
        let repo = dep.repository.trim();
        let found = if repo.is_empty() {
            return Err(missing(
                "it names no repository and is not in the chart's charts/ directory".to_string(),
            ));
        } else if repo.starts_with('@') || repo.starts_with("alias:") {
            return Err(missing(
                "repository names from a local Helm configuration (@name, alias:name) are not \
                 supported: write the repository's URL"
                    .to_string(),
            ));
        } else if let Some(path) = repo.strip_prefix("file://") {
            local(&root, &chart_dir, path, dep, &version).map_err(missing)?
        } else {
            let req = ChartRequest {
                repo_url: repo.to_string(),
                chart: dep.name.clone(),
                version: Some(version.clone()),
                auth: auth_for(repo),
                enable_oci: false,
            };
            let fetch = |source| DependencyError::Fetch {
                file: file.clone(),
                name: dep.name.clone(),
                source: Box::new(source),
            };
            let version = match exact {
                true => version,
                false => charts.resolve(&req, max_age).await.map_err(fetch)?,
            };
            let pulled = charts.pull(&req, &version).await.map_err(fetch)?;
            ChartDependency {
                name: dep.name.clone(),
                version: pulled.version,
                repository: moor_git::redact_url(repo),
                digest: pulled.digest,
                path: pulled.dir,
            }
        };
        // Two aliases of one chart need it once.
        if !out
            .iter()
            .any(|d| d.name == found.name && d.version == found.version && d.path == found.path)
        {
            out.push(found);
        }
    }
    Ok(out)
}

/// Chart.yaml's metadata, and the file listing the dependencies with them and the line of
/// each (`requirements.yaml` for an `apiVersion: v1` chart that has one); None without any.
#[allow(clippy::type_complexity)]
fn read_dependencies(
    chart_dir: &Path,
    rel: &dyn Fn(&Path) -> String,
) -> Result<(ChartYaml, Option<(PathBuf, Vec<Dep>, Vec<usize>)>), DependencyError> {
    let chart_yaml = chart_dir.join("Chart.yaml");
    let text = read_small(&chart_yaml, rel)?;
    let chart: ChartYaml = parse(&text, &chart_yaml, rel)?;
    let (file, text, deps) = match &chart.dependencies {
        Some(d) => (chart_yaml, text, d.clone()),
        None if chart.api_version == "v1" && chart_dir.join("requirements.yaml").is_file() => {
            let file = chart_dir.join("requirements.yaml");
            let text = read_small(&file, rel)?;
            let req: Requirements = parse(&text, &file, rel)?;
            (file, text, req.dependencies.unwrap_or_default())
        }
        None => return Ok((chart, None)),
    };
    if deps.is_empty() {
        return Ok((chart, None));
    }
    if deps.len() > MAX_DEPENDENCIES {
        return Err(DependencyError::Invalid {
            file: rel(&file),
            reason: format!(
                "{} dependencies, more than the limit of {MAX_DEPENDENCIES}",
                deps.len()
            ),
        });
    }
    for d in &deps {
        if d.name.trim().is_empty() {
            return Err(DependencyError::Invalid {
                file: rel(&file),
                reason: "a dependency has no name".to_string(),
            });
        }
    }
    let lines = item_lines(&text);
    Ok((chart, Some((file, deps, lines))))
}

/// The version of each dependency the lock file pins, in the order of `deps`; None without a
/// lock file. A lock whose digest is not Helm's digest of `deps` and its entries is refused.
fn locked_versions(
    chart_dir: &Path,
    chart: &ChartYaml,
    deps: &[Dep],
    deps_file: &Path,
    rel: &dyn Fn(&Path) -> String,
) -> Result<Option<Vec<String>>, DependencyError> {
    let v1 = chart.api_version == "v1";
    let lock_file = [("Chart.lock", true), ("requirements.lock", v1)]
        .into_iter()
        .filter(|(_, allowed)| *allowed)
        .map(|(f, _)| chart_dir.join(f))
        .find(|p| p.is_file());
    let Some(lock_file) = lock_file else {
        return Ok(None);
    };
    let text = read_small(&lock_file, rel)?;
    let lock: Lock = parse(&text, &lock_file, rel)?;
    let entries = lock.dependencies.clone();
    let sum = helm_digest(deps, entries.as_deref());
    // Helm accepts a Helm 2 lock of a v1 chart by Helm 2's digest.
    let in_sync = lock.digest == sum || (v1 && lock.digest == helm2_digest(deps));
    let out_of_sync = || DependencyError::LockOutOfSync {
        lock: rel(&lock_file),
        chart_yaml: rel(deps_file),
    };
    if !in_sync {
        return Err(out_of_sync());
    }
    // Helm downloads what the lock lists; matched to Chart.yaml's entries by name and
    // repository, so each dependency gets its pinned version.
    let entries = entries.unwrap_or_default();
    deps.iter()
        .map(|d| {
            entries
                .iter()
                .find(|e| e.name == d.name && e.repository == d.repository)
                .map(|e| e.version.clone())
                .ok_or_else(out_of_sync)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Helm 3's lock digest (`resolver.HashReq`): `sha256:` and the hex sha256 of the JSON that
/// Go's encoding/json writes for `[dependencies, lock entries]`.
fn helm_digest(deps: &[Dep], lock: Option<&[Dep]>) -> String {
    let req = serde_json::Value::Array(deps.iter().map(go_value).collect());
    let lock = match lock {
        Some(l) => serde_json::Value::Array(l.iter().map(go_value).collect()),
        None => serde_json::Value::Null,
    };
    sha256_prefixed(&go_json(&serde_json::json!([req, lock])))
}

/// Helm 2's digest of requirements.yaml (`resolver.HashV2Req`).
fn helm2_digest(deps: &[Dep]) -> String {
    let req = serde_json::Value::Array(deps.iter().map(go_value).collect());
    sha256_prefixed(&go_json(&serde_json::json!({ "dependencies": req })))
}

fn sha256_prefixed(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// A dependency as Go marshals `chart.Dependency`: fields in declaration order, the
/// `omitempty` ones left out when empty.
fn go_value(d: &Dep) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), d.name.clone().into());
    if !d.version.is_empty() {
        m.insert("version".into(), d.version.clone().into());
    }
    m.insert("repository".into(), d.repository.clone().into());
    if !d.condition.is_empty() {
        m.insert("condition".into(), d.condition.clone().into());
    }
    if !d.tags.is_empty() {
        m.insert("tags".into(), d.tags.clone().into());
    }
    if d.enabled {
        m.insert("enabled".into(), true.into());
    }
    if !d.import_values.is_empty() {
        let sorted = d.import_values.iter().map(sorted_keys).collect();
        m.insert("import-values".into(), serde_json::Value::Array(sorted));
    }
    if !d.alias.is_empty() {
        m.insert("alias".into(), d.alias.clone().into());
    }
    serde_json::Value::Object(m)
}

/// `v` with every map's keys sorted, as Go writes a `map[string]interface{}`.
fn sorted_keys(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let sorted = keys
                .into_iter()
                .map(|k| (k.clone(), sorted_keys(&m[k])))
                .collect();
            serde_json::Value::Object(sorted)
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.iter().map(sorted_keys).collect())
        }
        other => other.clone(),
    }
}

/// Compact JSON with Go's escaping: `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX` (they can
/// only occur inside strings, so replacing them everywhere is exact).
fn go_json(v: &serde_json::Value) -> String {
    serde_json::to_string(v)
        .expect("a JSON value serializes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The names of the charts in `charts/` (directories by their Chart.yaml's name, archives by
/// their file name `<name>-<version>.tgz`), as `helm template` would find them.
fn vendored(charts: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(charts) else {
        return names;
    };
    let mut budget = MAX_VENDORED_BYTES;
    for entry in entries.flatten().take(MAX_VENDORED) {
        let file = entry.file_name().to_string_lossy().into_owned();
        // Helm skips entries starting with `.` or `_`.
        if file.starts_with(['.', '_']) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            let chart_yaml = path.join("Chart.yaml");
            let size = chart_yaml.metadata().map_or(0, |m| m.len());
            if size > budget {
                continue; // past the bound: taken as not there, so fetched
            }
            budget -= size;
            let name = read_small(&chart_yaml, &|p| p.display().to_string())
                .ok()
                .and_then(|t| parse::<ChartYaml>(&t, &chart_yaml, &|_| String::new()).ok())
                .map(|c| c.name);
            names.extend(name.filter(|n| !n.is_empty()));
        } else if let Some(stem) = file.strip_suffix(".tgz") {
            names.extend(archive_name(stem));
        }
    }
    names
}

/// `name` of an archive `name-version`: the part before the first `-` after which the rest
/// parses as a version.
fn archive_name(stem: &str) -> Option<String> {
    stem.match_indices('-')
        .map(|(i, _)| i)
        .find(|&i| constraint::parse_version(&stem[i + 1..]).is_some())
        .map(|i| stem[..i].to_string())
}

/// A `file://` dependency: the directory `path` (relative to the chart) inside the checkout,
/// holding a chart of the dependency's name whose version `version` (exact or a constraint)
/// admits.
fn local(
    root: &Path,
    chart_dir: &Path,
    path: &str,
    dep: &Dep,
    version: &str,
) -> Result<ChartDependency, String> {
    let start = chart_dir.strip_prefix(root).unwrap_or(Path::new(""));
    let leaves = || format!("file://{path} leaves the repository");
    let mut parts: Vec<&std::ffi::OsStr> = start.iter().collect();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(leaves)?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(leaves()),
        }
    }
    let dir = root.join(parts.iter().collect::<PathBuf>());
    let dir = dir
        .canonicalize()
        .map_err(|_| format!("file://{path} is not a directory of the repository"))?;
    if !dir.starts_with(root) {
        return Err(leaves());
    }
    let chart_yaml = dir.join("Chart.yaml");
    if !chart_yaml.is_file() {
        return Err(format!("file://{path} holds no Chart.yaml"));
    }
    let text = read_small(&chart_yaml, &|_| format!("file://{path}/Chart.yaml"))
        .map_err(|e| e.to_string())?;
    let chart: ChartYaml = parse(&text, &chart_yaml, &|_| format!("file://{path}/Chart.yaml"))
        .map_err(|e| e.to_string())?;
    if chart.name != dep.name {
        return Err(format!(
            "file://{path} holds the chart {:?}, not {:?}",
            chart.name, dep.name
        ));
    }
    match constraint::pick([chart.version.as_str()], Some(version)) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(format!(
                "file://{path} holds version {:?}, which {version:?} does not admit",
                chart.version
            ));
        }
        Err(reason) => return Err(format!("invalid version constraint {version:?}: {reason}")),
    }
    let digest = dir_digest(&dir, root).map_err(|e| format!("file://{path}: {e}"))?;
    Ok(ChartDependency {
        name: chart.name,
        version: chart.version,
        repository: format!("file://{path}"),
        digest,
        path: dir,
    })
}

/// sha256 hex over the files under `dir` (relative path and content, sorted), links followed
/// only inside `root`, bounded in bytes and entries.
fn dir_digest(dir: &Path, root: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    let mut entries = 0;
    collect(
        dir,
        Path::new(""),
        root,
        &mut BTreeSet::new(),
        &mut files,
        &mut entries,
    )?;
    files.sort();
    let mut h = Sha256::new();
    let mut left = MAX_DIR_BYTES;
    for (rel, real) in files {
        let mut content = Vec::new();
        std::fs::File::open(&real)
            .and_then(|f| f.take(left + 1).read_to_end(&mut content))
            .map_err(|e| format!("cannot read {}: {e}", rel.display()))?;
        if content.len() as u64 > left {
            return Err(format!("larger than {MAX_DIR_BYTES} bytes"));
        }
        left -= content.len() as u64;
        let rel = rel.to_string_lossy();
        h.update((rel.len() as u64).to_le_bytes());
        h.update(rel.as_bytes());
        h.update((content.len() as u64).to_le_bytes());
        h.update(&content);
    }
    Ok(hex::encode(h.finalize()))
}

/// The regular files under `dir` as (path relative to the dependency, real path).
fn collect(
    dir: &Path,
    rel: &Path,
    root: &Path,
    open: &mut BTreeSet<PathBuf>,
    files: &mut Vec<(PathBuf, PathBuf)>,
    entries: &mut usize,
) -> Result<(), String> {
    let real = dir
        .canonicalize()
        .map_err(|e| format!("cannot read {}: {e}", rel.display()))?;
    if !open.insert(real.clone()) {
        return Ok(());
    }
    let list =
        std::fs::read_dir(&real).map_err(|e| format!("cannot read {}: {e}", rel.display()))?;
    for entry in list {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", rel.display()))?;
        if entry.file_name() == ".git" {
            continue;
        }
        *entries += 1;
        if *entries > MAX_DIR_ENTRIES {
            return Err(format!("more than {MAX_DIR_ENTRIES} files"));
        }
        let path = entry.path();
        let name = rel.join(entry.file_name());
        let target = match path.canonicalize() {
            Ok(t) if t.starts_with(root) => t,
            Ok(_) => {
                return Err(format!(
                    "symbolic link {} leads out of the repository",
                    name.display()
                ));
            }
            Err(_) => continue, // dangling
        };
        if target.is_dir() {
            collect(&target, &name, root, open, files, entries)?;
        } else if target.is_file() {
            files.push((name, target));
        }
    }
    open.remove(&real);
    Ok(())
}

/// The 1-based line of each item of the top-level `dependencies:` list (block style); empty
/// when the list is written otherwise.
fn item_lines(text: &str) -> Vec<usize> {
    let mut lines = text.lines().enumerate();
    let Some((start, _)) = lines.find(|(_, l)| {
        l.strip_prefix("dependencies:")
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    }) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    let mut indent = None;
    for (i, line) in text.lines().enumerate().skip(start + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let col = line.len() - trimmed.len();
        if col == 0 && !trimmed.starts_with('-') {
            break; // the next top-level key
        }
        if trimmed == "-" || trimmed.starts_with("- ") {
            match indent {
                None => {
                    indent = Some(col);
                    items.push(i + 1);
                }
                Some(c) if c == col => items.push(i + 1),
                Some(c) if col < c => break,
                _ => {}
            }
        }
    }
    items
}

/// A small file's text; an error naming it when it is larger than [`MAX_FILE_BYTES`].
fn read_small(path: &Path, rel: &dyn Fn(&Path) -> String) -> Result<String, DependencyError> {
    let invalid = |reason: String| DependencyError::Invalid {
        file: rel(path),
        reason,
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| invalid(format!("cannot read it: {e}")))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    Ok(text)
}

fn parse<T: serde::de::DeserializeOwned + Default>(
    text: &str,
    path: &Path,
    rel: &dyn Fn(&Path) -> String,
) -> Result<T, DependencyError> {
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_nodes: 200_000,
            max_depth: 64,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| DependencyError::Invalid {
        file: rel(path),
        reason: e.without_snippet().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str, version: &str, repository: &str) -> Dep {
        Dep {
            name: name.into(),
            version: version.into(),
            repository: repository.into(),
            ..Default::default()
        }
    }

    #[test]
    fn lock_digest_is_helms() {
        // Chart.lock written by `helm dependency update` (Helm 3.19) for this Chart.yaml entry.
        let chart = Dep {
            condition: "sub.enabled".into(),
            tags: vec!["a".into(), "b".into()],
            import_values: vec![
                serde_json::json!({"parent": "z", "child": "x<y"}),
                serde_json::json!("data"),
            ],
            alias: "other".into(),
            ..dep("sub", ">=0.1.0", "file://../sub")
        };
        let lock = [dep("sub", "0.1.0", "file://../sub")];
        assert_eq!(
            helm_digest(&[chart], Some(&lock)),
            "sha256:e70cadfc42224e75a32c54bdf9b2973dc6ee4464f02a591de7d7522fb18b5dab"
        );
    }

    #[test]
    fn item_lines_follow_block_lists() {
        let text = "apiVersion: v2\nname: web\ndependencies:\n  # db first\n  - name: db\n    \
                    tags:\n      - a\n  - name: cache\n    version: ^1\nversion: 1.0.0\n";
        assert_eq!(item_lines(text), [5, 8]);
        assert_eq!(
            item_lines("dependencies: [{name: a}]\n"),
            Vec::<usize>::new()
        );
        assert_eq!(
            item_lines("dependencies:\n- name: a\n-\n  name: b\n"),
            [2, 3]
        );
    }

    #[test]
    fn archive_names_drop_the_version() {
        assert_eq!(archive_name("redis-1.2.3"), Some("redis".into()));
        assert_eq!(archive_name("my-db-0.1.0-rc.1"), Some("my-db".into()));
        assert_eq!(archive_name("my-db"), None);
    }
}
