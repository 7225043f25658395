//! The Helm renderer: `helm template`.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use moor_types::Manifest;

use crate::exec::{self, HELM};
use crate::parse::tool_output_manifests;
use crate::{RenderError, RenderOptions, Renderer};

/// Runs `helm template <release> <dir>` (`opts.helm_bin` or `helm` on PATH) with
/// `opts.helm` within `opts.timeout` and returns its output untouched.
///
/// Beyond the options: the namespace defaults to `default` rather than the kubeconfig's, so
/// output does not depend on the machine; CRDs from `crds/` are included (an app needs them);
/// test hooks are skipped (they belong to `helm test`, not to every sync).
///
/// First the chart and its value files are checked (see [`crate::input_files`]): helm follows
/// symlinks in `templates/`, `charts/` and `.Files`, so a link leaving `opts.root`, a value file
/// outside it, or a remote value file (unless `opts.allow_remote_value_files`) is refused before
/// helm runs. Output past `opts.max_bytes` is refused too.
///
/// With `opts.helm.dependencies`, helm renders a temporary copy of the chart with them in its
/// `charts/` (the checkout is shared and never written to); value files are still read from the
/// checkout, and helm's messages name the chart's own directory, not the copy.
pub fn helm_template(dir: &Path, opts: &RenderOptions) -> Result<String, RenderError> {
    crate::input_files(dir, opts)?;
    let root = crate::confine::root_of(dir, opts)?;
    let bin = exec::find_bin(HELM, opts.helm_bin.as_deref())?;
    let h = &opts.helm;
    let release = match &h.release_name {
        Some(r) => r.clone(),
        None => default_release_name(dir),
    };
    let prepared = match h.dependencies.is_empty() {
        true => None,
        false => {
            let real = dir.canonicalize().map_err(|source| RenderError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            Some(crate::helm_deps::prepare(
                &real,
                &root,
                &h.dependencies,
                opts.max_bytes,
            )?)
        }
    };
    let chart = prepared.as_ref().map_or(dir.to_path_buf(), |p| p.dir());
    let mut cmd = Command::new(bin);
    cmd.arg("template")
        .arg(&release)
        .arg(&chart)
        .arg("--namespace")
        .arg(h.namespace.as_deref().unwrap_or("default"))
        .arg(if h.skip_crds {
            "--skip-crds"
        } else {
            "--include-crds"
        })
        .arg("--skip-tests");
    for f in &h.value_files {
        let Some(path) = crate::confine::value_file(&root, dir, f, opts)? else {
            cmd.arg("-f").arg(f); // an allowed remote one
            continue;
        };
        if !path.is_file() {
            if h.ignore_missing_value_files {
                continue;
            }
            return Err(RenderError::ValueFileNotFound { path: dir.join(f) });
        }
        cmd.arg("-f").arg(path);
    }
    // Kept alive until helm has run; deleted on drop. `values`, then `valuesObject`, then
    // parameters: each later one wins (Argo CD's order of precedence).
    let mut inline = Vec::new();
    let object = h.values_object.as_ref().map(|v| v.to_string());
    let texts = [h.values.as_deref(), object.as_deref()];
    for values in texts.into_iter().flatten().filter(|v| !v.trim().is_empty()) {
        let io = |source| RenderError::Io {
            path: std::env::temp_dir(),
            source,
        };
        let mut file = tempfile::Builder::new()
            .prefix("moor-values-")
            .suffix(".yaml")
            .tempfile()
            .map_err(io)?;
        file.write_all(values.as_bytes()).map_err(io)?;
        cmd.arg("--values").arg(file.path());
        inline.push(file);
    }
    cmd.args(parameter_args(&h.parameters));
    if let Some(v) = &h.capabilities.kube_version {
        cmd.arg("--kube-version").arg(v);
    }
    if !h.capabilities.api_versions.is_empty() {
        // One comma-separated flag: thousands of `--api-versions` arguments would be slow to pass.
        cmd.arg("--api-versions")
            .arg(h.capabilities.api_versions.join(","));
    }
    let out = exec::run(
        HELM,
        "helm template",
        dir,
        cmd,
        opts.timeout,
        opts.max_bytes,
    );
    drop(inline);
    match (&prepared, out) {
        (
            Some(p),
            Err(RenderError::ToolFailed {
                command,
                dir,
                stderr,
            }),
        ) => {
            let copy = p.dir().to_string_lossy().into_owned();
            let stderr = stderr.replace(&copy, &dir.to_string_lossy());
            Err(RenderError::ToolFailed {
                command,
                dir,
                stderr,
            })
        }
        (_, out) => out,
    }
}

/// `--set name=value` (`--set-string` when forced) for each parameter, in order.
fn parameter_args(params: &[crate::HelmParameter]) -> Vec<String> {
    params
        .iter()
        .flat_map(|p| {
            let flag = if p.force_string {
                "--set-string"
            } else {
                "--set"
            };
            [flag.to_string(), format!("{}={}", p.name, p.value)]
        })
        .collect()
}

/// The chart directory's name (of its absolute path, so `.` works too).
fn default_release_name(dir: &Path) -> String {
    let name = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_string);
    name(dir)
        .or_else(|| dir.canonicalize().ok().as_deref().and_then(name))
        .unwrap_or_else(|| "release".to_string())
}

/// `(line, file)` for each `# Source: chart/templates/x.yaml` comment helm writes before a
/// document, the file made relative to the chart dir by dropping the chart name.
fn sources(output: &str) -> Vec<(usize, String)> {
    output
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let src = l.strip_prefix("# Source: ")?.trim();
            let rel = src.split_once('/').map_or(src, |(_, rest)| rest);
            Some((i + 1, rel.to_string()))
        })
        .collect()
}

/// Renders a chart directory; origins name the template each object came from.
#[derive(Clone, Copy, Debug, Default)]
pub struct HelmRenderer;

impl Renderer for HelmRenderer {
    fn name(&self) -> &str {
        "helm"
    }

    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        let out = helm_template(dir, opts)?;
        let sources = sources(&out);
        tool_output_manifests("helm", &out, |line| {
            // The last `# Source:` comment before the document names it.
            let i = sources.partition_point(|(l, _)| *l < line);
            match i {
                0 => "Chart.yaml".to_string(),
                _ => sources[i - 1].1.clone(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_drop_the_chart_name() {
        let out = "---\n# Source: web/templates/svc.yaml\nkind: Service\n---\n\
                   # Source: web/charts/db/templates/sts.yaml\nkind: StatefulSet\n";
        assert_eq!(
            sources(out),
            [
                (2, "templates/svc.yaml".to_string()),
                (5, "charts/db/templates/sts.yaml".to_string())
            ]
        );
    }

    #[test]
    fn parameters_become_set_flags_in_order() {
        let p = |name: &str, value: &str, force_string| crate::HelmParameter {
            name: name.into(),
            value: value.into(),
            force_string,
        };
        let args = parameter_args(&[p("replicas", "2", false), p("tag", "1.10", true)]);
        assert_eq!(
            args,
            ["--set", "replicas=2", "--set-string", "tag=1.10"].map(String::from)
        );
    }

    #[test]
    fn release_name_defaults_to_the_dir_name() {
        assert_eq!(default_release_name(Path::new("charts/web")), "web");
        let here = std::env::current_dir().unwrap();
        let base = here.file_name().unwrap().to_str().unwrap();
        assert_eq!(default_release_name(Path::new(".")), base);
    }

    #[test]
    fn missing_value_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = RenderOptions {
            // Any executable will do: the value file is checked before helm runs.
            helm_bin: Some("/bin/sh".into()),
            helm: crate::HelmOptions {
                value_files: vec!["prod.yaml".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let err = helm_template(tmp.path(), &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "helm value file {}/prod.yaml not found",
                tmp.path().display()
            )
        );
    }
}
