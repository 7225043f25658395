//! Renderers (plain YAML and Jsonnet, Kustomize, Helm) behind one trait, with a cache key.
//!
//! [`render`] turns a directory checked out from Git into [`Manifest`]s, picking the renderer
//! from the directory's content (see [`renderer_for`]). Objects are only checked to be mappings:
//! apiVersion/kind/name are validated by the apply layer, which reports all failures at once
//! using each manifest's [`moor_types::Origin`].

#![warn(missing_docs)]

mod confine;
mod empty;
mod error;
mod exec;
mod helm;
mod helm_deps;
mod jsonnet;
mod jsonnet_lex;
mod kustomize;
mod kustomize_overlay;
mod parse;
mod plain;
mod substitute;

use std::path::{Path, PathBuf};
use std::time::Duration;

use moor_types::Manifest;
use sha2::{Digest, Sha256};

pub use confine::{check_relative, confine, input_files};
pub use empty::unrendered_files;
pub use error::RenderError;
pub use helm::{HelmRenderer, helm_template};
pub use jsonnet::{JsonnetOptions, JsonnetVar};
pub use kustomize::{KustomizeRenderer, kustomization_file, kustomize_build};
pub use kustomize_overlay::{KustomizeOptions, Replica};
pub use parse::parse_manifests;
pub use plain::{PlainRenderer, split_globs};
pub use substitute::{SUBSTITUTE_OPT_OUT, SubstituteError, opted_out, substitute, valid_var_name};

/// Default limit on one render, external tools included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// Default limit on the bytes one render reads or a tool writes: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;

/// Default limit on the objects one render makes.
pub const DEFAULT_MAX_OBJECTS: usize = 10_000;

/// Options of `helm template`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelmOptions {
    /// Release name; defaults to the chart directory's name.
    pub release_name: Option<String>,
    /// `--namespace`; defaults to `default`.
    pub namespace: Option<String>,
    /// Value files relative to the chart directory (or http(s) URLs), applied in order.
    pub value_files: Vec<String>,
    /// Inline values (a YAML document), applied after the value files.
    pub values: Option<String>,
    /// Argo CD's `valuesObject`: values as an object, applied after `values`.
    pub values_object: Option<serde_json::Value>,
    /// `--set` (or `--set-string`) parameters, applied last, in order.
    pub parameters: Vec<HelmParameter>,
    /// Leave out the chart's `crds/` (`--skip-crds`).
    pub skip_crds: bool,
    /// Leave out local value files that do not exist instead of failing.
    pub ignore_missing_value_files: bool,
    /// The destination cluster's version and API groups, so `.Capabilities` checks render as
    /// on that cluster rather than as on Helm's built-in defaults.
    pub capabilities: HelmCapabilities,
    /// Charts to place in the chart's `charts/` (its `Chart.yaml` dependencies not vendored
    /// there): the chart is then rendered from a temporary copy, never written to in place.
    pub dependencies: Vec<HelmDependency>,
    /// Argo CD's `ref` sources: a value file `$name/path` whose `name` is a key here is read
    /// from that checkout (confined to it) instead of the chart's. Keyed in the cache by path:
    /// a checkout's path names its commit.
    pub ref_roots: std::collections::BTreeMap<String, PathBuf>,
}

/// A chart dependency fetched for a render (see [`HelmOptions::dependencies`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelmDependency {
    /// The dependency's chart name.
    pub name: String,
    /// Its exact version.
    pub version: String,
    /// sha256 hex of its content (the archive, or the files of a `file://` directory): the
    /// render cache key holds it, as the path alone says nothing of what is there.
    pub digest: String,
    /// An extracted chart directory or a chart archive (`.tgz`).
    pub path: PathBuf,
}

/// What `helm template` is told of the destination cluster (`--kube-version`, `--api-versions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelmCapabilities {
    /// `--kube-version`, e.g. `v1.34.4`; Helm's default when None.
    pub kube_version: Option<String>,
    /// `--api-versions`: every `group/version` and `group/version/Kind` the cluster serves,
    /// sorted; Helm's built-in list only when empty.
    pub api_versions: Vec<String>,
}

/// One Helm parameter, as Argo CD's `helm.parameters` entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelmParameter {
    /// The value's path, e.g. `image.tag`.
    pub name: String,
    /// The value, in `--set` syntax.
    pub value: String,
    /// Pass it with `--set-string`, so numbers and booleans stay strings.
    pub force_string: bool,
}

/// How a directory is rendered and the bounds every render stays within.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Plain directories: read subdirectories too.
    pub recurse: bool,
    /// Plain directories: globs on the path relative to the directory; empty takes every file.
    pub include: Vec<String>,
    /// Plain directories: globs of files to leave out.
    pub exclude: Vec<String>,
    /// Release name, value files and values for a Helm chart.
    pub helm: HelmOptions,
    /// Overrides applied to a kustomization (Argo CD's `spec.source.kustomize`).
    pub kustomize: KustomizeOptions,
    /// The kustomize binary; `kustomize` on PATH when unset.
    pub kustomize_bin: Option<PathBuf>,
    /// The helm binary; `helm` on PATH when unset.
    pub helm_bin: Option<PathBuf>,
    /// Plain directories: ext vars, top-level arguments and libraries of `.jsonnet` files.
    pub jsonnet: JsonnetOptions,
    /// The jsonnet binary (go-jsonnet); `jsonnet` on PATH when unset.
    pub jsonnet_bin: Option<PathBuf>,
    /// Limit on an external tool's run; it is killed past it.
    pub timeout: Duration,
    /// The checkout the directory is in: nothing outside it is read (symlinks, value files,
    /// kustomize references). `None` confines the render to the directory itself.
    pub root: Option<PathBuf>,
    /// Let Helm fetch `http(s)://` value files.
    pub allow_remote_value_files: bool,
    /// Let kustomize fetch remote bases (`https://`, `git::`, `github.com/...`) and charts.
    pub allow_remote_bases: bool,
    /// Limit on the manifest bytes read from files or written by a tool.
    pub max_bytes: u64,
    /// Limit on the objects rendered.
    pub max_objects: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            recurse: false,
            include: Vec::new(),
            exclude: Vec::new(),
            helm: HelmOptions::default(),
            kustomize: KustomizeOptions::default(),
            kustomize_bin: None,
            helm_bin: None,
            jsonnet: JsonnetOptions::default(),
            jsonnet_bin: None,
            timeout: DEFAULT_TIMEOUT,
            root: None,
            allow_remote_value_files: false,
            allow_remote_bases: false,
            max_bytes: DEFAULT_MAX_BYTES,
            max_objects: DEFAULT_MAX_OBJECTS,
        }
    }
}

/// Turns a directory into manifests.
pub trait Renderer: Send + Sync {
    /// `plain`, `kustomize` or `helm`.
    fn name(&self) -> &str;
    /// The manifests `dir` renders to, each with its origin (file and line, or tool).
    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError>;
}

/// The renderer for `dir`: Kustomize when it holds a kustomization, else Helm when it holds a
/// `Chart.yaml`, else plain files.
pub fn renderer_for(dir: &Path) -> &'static dyn Renderer {
    if kustomization_file(dir).is_some() {
        &KustomizeRenderer
    } else if dir.join("Chart.yaml").is_file() {
        &HelmRenderer
    } else {
        &PlainRenderer
    }
}

/// Renders `dir` with the renderer [`renderer_for`] picks, after checking (see [`input_files`])
/// that nothing it would read leaves `opts.root`; fails past `opts.max_objects` objects.
pub fn render(dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
    if !dir.is_dir() {
        return Err(RenderError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    let renderer = renderer_for(dir);
    tracing::debug!(dir = %dir.display(), renderer = renderer.name(), "rendering");
    let manifests = renderer.render(dir, opts)?;
    if manifests.len() > opts.max_objects {
        return Err(RenderError::TooManyObjects {
            count: manifests.len(),
            limit: opts.max_objects,
        });
    }
    Ok(manifests)
}

/// A rough size in bytes of `manifests` in memory, for bounding caches of renders.
pub fn estimated_size(manifests: &[Manifest]) -> usize {
    fn value(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        // Per node: the enum, plus map/vec bookkeeping, rounded up.
        32 + match v {
            Value::String(s) => s.len(),
            Value::Array(a) => a.iter().map(value).sum(),
            Value::Object(o) => o.iter().map(|(k, v)| 32 + k.len() + value(v)).sum(),
            _ => 0,
        }
    }
    manifests
        .iter()
        .map(|m| 64 + m.origin.file.len() + value(&m.obj))
        .sum()
}

/// Key for caching the render of `path` at `commit`: sha256 hex over them and the options that
/// change the output (not the binaries' paths or the timeout).
pub fn cache_key(commit: &str, path: &str, opts: &RenderOptions) -> String {
    let mut h = Sha256::new();
    // Each field is length-prefixed so that no two different inputs hash the same bytes.
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field("moor-render/1");
    field(commit);
    field(path);
    field(if opts.recurse { "recurse" } else { "flat" });
    for list in [&opts.include, &opts.exclude, &opts.helm.value_files] {
        field(&list.len().to_string());
        list.iter().for_each(|s| field(s));
    }
    for opt in [
        &opts.helm.release_name,
        &opts.helm.namespace,
        &opts.helm.values,
    ] {
        match opt {
            Some(s) => {
                field("some");
                field(s);
            }
            None => field("none"),
        }
    }
    // Every other option, as one canonical JSON text (its own fields tagged by name).
    field(&override_options(opts).to_string());
    hex::encode(h.finalize())
}

/// The Helm, Kustomize and Jsonnet options not hashed one by one in [`cache_key`], as one JSON value.
fn override_options(opts: &RenderOptions) -> serde_json::Value {
    let (h, k) = (&opts.helm, &opts.kustomize);
    let params: Vec<_> = h
        .parameters
        .iter()
        .map(|p| serde_json::json!([p.name, p.value, p.force_string]))
        .collect();
    let deps: Vec<_> = (h.dependencies.iter())
        .map(|d| serde_json::json!([d.name, d.version, d.digest]))
        .collect();
    let replicas: Vec<_> = k
        .replicas
        .iter()
        .map(|r| serde_json::json!([r.name, r.count]))
        .collect();
    let vars = |vs: &[JsonnetVar]| -> Vec<serde_json::Value> {
        (vs.iter())
            .map(|v| serde_json::json!([v.name, v.value, v.code]))
            .collect()
    };
    serde_json::json!({
        "helm": {
            "valuesObject": h.values_object,
            "parameters": params,
            "skipCrds": h.skip_crds,
            "ignoreMissingValueFiles": h.ignore_missing_value_files,
            "kubeVersion": h.capabilities.kube_version,
            "apiVersions": h.capabilities.api_versions,
            "dependencies": deps,
            "refRoots": h.ref_roots,
        },
        "kustomize": {
            "images": k.images,
            "namePrefix": k.name_prefix,
            "nameSuffix": k.name_suffix,
            "commonLabels": k.common_labels,
            "commonAnnotations": k.common_annotations,
            "namespace": k.namespace,
            "replicas": replicas,
            "patches": k.patches,
            "components": k.components,
        },
        "jsonnet": {
            "extVars": vars(&opts.jsonnet.ext_vars),
            "tlas": vars(&opts.jsonnet.tlas),
            "libs": opts.jsonnet.libs,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderer_is_picked_from_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert_eq!(renderer_for(dir).name(), "plain");
        std::fs::write(dir.join("Chart.yaml"), "name: x\n").unwrap();
        assert_eq!(renderer_for(dir).name(), "helm");
        std::fs::write(dir.join("kustomization.yml"), "resources: []\n").unwrap();
        assert_eq!(renderer_for(dir).name(), "kustomize");
    }

    #[test]
    fn render_of_a_missing_dir_is_an_error() {
        let err = render(Path::new("/nonexistent/app"), &RenderOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "/nonexistent/app is not a directory");
    }

    fn dependency(digest: &str) -> HelmDependency {
        HelmDependency {
            name: "db".into(),
            version: "1.0.0".into(),
            digest: digest.into(),
            path: "/cache/db".into(),
        }
    }

    #[test]
    fn cache_key_covers_what_changes_output() {
        let base = RenderOptions::default();
        let key = cache_key("abc", "apps/web", &base);
        assert_eq!(key.len(), 64);
        assert_eq!(key, cache_key("abc", "apps/web", &base));
        let same = RenderOptions {
            timeout: Duration::from_secs(5),
            kustomize_bin: Some("/opt/kustomize".into()),
            ..base.clone()
        };
        assert_eq!(key, cache_key("abc", "apps/web", &same));

        let mut keys = vec![
            key,
            cache_key("abd", "apps/web", &base),
            cache_key("abc", "apps/api", &base),
        ];
        let variants: Vec<fn(&mut RenderOptions)> = vec![
            |o| o.recurse = true,
            |o| o.include = vec!["*.yaml".into()],
            |o| o.exclude = vec!["*.yaml".into()],
            |o| o.helm.release_name = Some("web".into()),
            |o| o.helm.namespace = Some("prod".into()),
            |o| o.helm.value_files = vec!["prod.yaml".into()],
            |o| o.helm.values = Some("replicas: 2".into()),
            // Same strings, other fields: must differ from the ones above.
            |o| o.helm.value_files = vec!["*.yaml".into()],
            |o| o.helm.values = Some("".into()),
            |o| o.helm.values_object = Some(serde_json::json!({"replicas": 2})),
            |o| {
                o.helm.parameters = vec![HelmParameter {
                    name: "a".into(),
                    value: "1".into(),
                    force_string: false,
                }]
            },
            |o| {
                o.helm.parameters = vec![HelmParameter {
                    name: "a".into(),
                    value: "1".into(),
                    force_string: true,
                }]
            },
            |o| o.helm.skip_crds = true,
            |o| o.helm.ignore_missing_value_files = true,
            |o| o.helm.capabilities.kube_version = Some("v1.30.0".into()),
            |o| o.helm.capabilities.api_versions = vec!["example.com/v1".into()],
            |o| o.helm.dependencies = vec![dependency("aa")],
            |o| o.helm.dependencies = vec![dependency("ab")],
            |o| o.kustomize.images = vec!["nginx:2".into()],
            |o| o.kustomize.name_prefix = Some("p-".into()),
            |o| o.kustomize.name_suffix = Some("p-".into()),
            |o| o.kustomize.common_labels = [("a".into(), "b".into())].into(),
            |o| o.kustomize.common_annotations = [("a".into(), "b".into())].into(),
            |o| o.kustomize.namespace = Some("prod".into()),
            |o| {
                o.kustomize.replicas = vec![Replica {
                    name: "web".into(),
                    count: 2,
                }]
            },
            |o| o.kustomize.patches = vec![serde_json::json!({"patch": "x"})],
            |o| o.kustomize.components = vec!["../c".into()],
            |o| o.jsonnet.libs = vec!["vendor".into()],
            |o| {
                o.jsonnet.ext_vars = vec![JsonnetVar {
                    name: "a".into(),
                    value: "1".into(),
                    code: false,
                }]
            },
            |o| {
                o.jsonnet.ext_vars = vec![JsonnetVar {
                    name: "a".into(),
                    value: "1".into(),
                    code: true,
                }]
            },
            |o| {
                o.jsonnet.tlas = vec![JsonnetVar {
                    name: "a".into(),
                    value: "1".into(),
                    code: false,
                }]
            },
        ];
        for f in variants {
            let mut o = base.clone();
            f(&mut o);
            keys.push(cache_key("abc", "apps/web", &o));
        }
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "every variant has its own key");
    }
}
