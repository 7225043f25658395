//! The digest of the files a render reads (see [`moor_render::input_files`]: the app's
//! directory, the local directories and files its kustomizations reference, Helm value files).
//! It decides whether a new commit needs a new render. The walk that finds the files also
//! refuses links and references leaving the checkout, so nothing outside it is ever read here.

use std::path::Path;

use moor_render::{RenderError, RenderOptions};
use sha2::{Digest, Sha256};

/// Digest of every input file (path relative to the checkout `opts.root`, and contents) of
/// rendering `dir`.
pub fn digest(dir: &Path, opts: &RenderOptions) -> Result<String, RenderError> {
    let mut h = Sha256::new();
    for (rel, real) in moor_render::input_files(dir, opts)? {
        h.update(rel.as_bytes());
        h.update([0]);
        let bytes = std::fs::read(&real).map_err(|source| RenderError::Io {
            path: real.clone(),
            source,
        })?;
        h.update(bytes);
        h.update([0]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn digest_follows_kustomize_references_and_ignores_unrelated_dirs() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        write(root, "base/kustomization.yaml", "resources: [cm.yaml]\n");
        write(root, "base/cm.yaml", "a: 1\n");
        write(
            root,
            "overlays/prod/kustomization.yaml",
            "resources: [../../base, https://example.com/x.yaml]\n",
        );
        write(root, "other/x.yaml", "b: 1\n");
        let prod = root.join("overlays/prod");
        let opts = RenderOptions {
            root: Some(root.to_path_buf()),
            allow_remote_bases: true,
            ..Default::default()
        };
        let d1 = digest(&prod, &opts).unwrap();
        write(root, "other/x.yaml", "b: 2\n");
        assert_eq!(
            d1,
            digest(&prod, &opts).unwrap(),
            "an unrelated change changed the digest"
        );
        write(root, "base/cm.yaml", "a: 2\n");
        assert_ne!(
            d1,
            digest(&prod, &opts).unwrap(),
            "a change to the base did not change the digest"
        );
    }

    #[cfg(unix)]
    #[test]
    fn digest_never_reads_a_link_leaving_the_checkout() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        write(t.path(), "secret", "MOOR-SECRET-MARKER\n");
        write(&root, "app/cm.yaml", "a: 1\n");
        std::os::unix::fs::symlink(t.path().join("secret"), root.join("app/x.yaml")).unwrap();
        let opts = RenderOptions {
            root: Some(root.clone()),
            ..Default::default()
        };
        let err = digest(&root.join("app"), &opts).unwrap_err().to_string();
        assert!(
            err.starts_with("symbolic link app/x.yaml points outside"),
            "{err}"
        );
        assert!(!err.contains("MOOR-SECRET-MARKER"), "{err}");
    }
}
