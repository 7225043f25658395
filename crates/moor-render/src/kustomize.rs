//! The Kustomize renderer: `kustomize build <dir>`.

use std::path::Path;
use std::process::Command;

use moor_types::{KUSTOMIZATION_FILES, Manifest};

use crate::exec::{self, KUSTOMIZE};
use crate::parse::tool_output_manifests;
use crate::{RenderError, RenderOptions, Renderer};

/// The kustomization file in `dir`, if any.
pub fn kustomization_file(dir: &Path) -> Option<&'static str> {
    KUSTOMIZATION_FILES
        .into_iter()
        .find(|f| dir.join(f).is_file())
}

/// Runs `kustomize build <dir>` (`opts.kustomize_bin` or `kustomize` on PATH) within
/// `opts.timeout` and `opts.max_bytes` of output, and returns its output untouched.
///
/// First the kustomizations are checked (see [`crate::input_files`]): kustomize follows
/// symlinks and fetches remote bases, so links and references leaving `opts.root` and remote
/// bases (unless `opts.allow_remote_bases`) are refused before it runs. Its load restrictor is
/// always on, so files it loads stay under each kustomization's directory.
///
/// With `opts.kustomize` overrides, an overlay kustomization referencing `dir` is written to a
/// temporary directory and built instead (see [`KustomizeOptions`](crate::KustomizeOptions));
/// its components are confined to the checkout like every other reference.
pub fn kustomize_build(dir: &Path, opts: &RenderOptions) -> Result<String, RenderError> {
    crate::input_files(dir, opts)?;
    let bin = exec::find_bin(KUSTOMIZE, opts.kustomize_bin.as_deref())?;
    // Kept alive until kustomize has run; deleted on drop.
    let overlay = match opts.kustomize.is_empty() {
        true => None,
        false => Some(write_overlay(dir, opts)?),
    };
    let target = overlay.as_ref().map_or(dir, |t| t.path());
    let mut cmd = Command::new(bin);
    cmd.arg("build")
        .arg(target)
        .arg("--load-restrictor")
        .arg("LoadRestrictionsRootOnly");
    let out = exec::run(
        KUSTOMIZE,
        "kustomize build",
        dir,
        cmd,
        opts.timeout,
        opts.max_bytes,
    );
    drop(overlay);
    out
}

/// A temporary directory holding the overlay of `opts.kustomize` over `dir`.
fn write_overlay(dir: &Path, opts: &RenderOptions) -> Result<tempfile::TempDir, RenderError> {
    let root = crate::confine::root_of(dir, opts)?;
    let canonical = |p: &Path| {
        p.canonicalize().map_err(|source| RenderError::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    let dir = canonical(dir)?;
    let components = crate::confine::override_components(&root, &dir, opts)?
        .iter()
        .map(|c| canonical(c))
        .collect::<Result<Vec<_>, _>>()?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Io { path, source }
    };
    let tmp = std::env::temp_dir();
    let overlay_dir = tempfile::Builder::new()
        .prefix("moor-kustomize-")
        .tempdir()
        .map_err(io(&tmp))?;
    let real = canonical(overlay_dir.path())?;
    let doc = crate::kustomize_overlay::overlay(&real, &dir, &opts.kustomize, &components)?;
    let file = real.join(KUSTOMIZATION_FILES[0]);
    // JSON is YAML: kustomize reads it as is.
    std::fs::write(&file, doc.to_string()).map_err(io(&file))?;
    Ok(overlay_dir)
}

/// Renders a directory holding a kustomization; every object's origin is that file.
#[derive(Clone, Copy, Debug, Default)]
pub struct KustomizeRenderer;

impl Renderer for KustomizeRenderer {
    fn name(&self) -> &str {
        "kustomize"
    }

    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        let file = kustomization_file(dir).unwrap_or(KUSTOMIZATION_FILES[0]);
        let out = kustomize_build(dir, opts)?;
        tool_output_manifests("kustomize", &out, |_| file.to_string())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fake_kustomize(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("kustomize");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn runs_build_on_the_dir_and_names_the_kustomization() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("Kustomization"), "resources: []\n").unwrap();
        // The fake prints its arguments as a ConfigMap, to check the command line.
        let bin = fake_kustomize(
            tmp.path(),
            "printf 'kind: ConfigMap\\nmetadata:\\n  name: cm\\ndata:\\n  args: \"%s %s\"\\n' \"$1\" \"$2\"",
        );
        let opts = RenderOptions {
            kustomize_bin: Some(bin),
            ..Default::default()
        };
        let ms = KustomizeRenderer.render(tmp.path(), &opts).unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(
            ms[0].obj["data"]["args"],
            format!("build {}", tmp.path().display())
        );
        assert_eq!(ms[0].origin.to_string(), "Kustomization");
    }

    #[test]
    fn missing_binary_names_the_flag() {
        let opts = RenderOptions {
            kustomize_bin: Some("/nonexistent/kustomize".into()),
            ..Default::default()
        };
        let err = kustomize_build(Path::new("."), &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kustomize not found at /nonexistent/kustomize: install it or pass --kustomize-bin"
        );
    }
}
