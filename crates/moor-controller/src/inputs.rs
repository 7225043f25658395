//! The files a render reads: the app's directory (recursively), the local directories and files
//! its kustomizations reference (resources, bases, components, and their own references), and
//! Helm value files. Their digest decides whether a new commit needs a new render.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Digest of every input file (path relative to `root`, and contents) of rendering `dir`.
pub fn digest(root: &Path, dir: &Path, helm_value_files: &[String]) -> io::Result<String> {
    let mut files = BTreeSet::new();
    let mut seen_dirs = BTreeSet::new();
    collect_dir(root, dir, &mut files, &mut seen_dirs)?;
    for v in helm_value_files {
        add_path(root, &dir.join(v), &mut files, &mut seen_dirs)?;
    }
    let mut h = Sha256::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(f)?);
        h.update([0]);
    }
    Ok(hex::encode(h.finalize()))
}

fn add_path(
    root: &Path,
    p: &Path,
    files: &mut BTreeSet<PathBuf>,
    dirs: &mut BTreeSet<PathBuf>,
) -> io::Result<()> {
    let Ok(p) = p.canonicalize() else {
        return Ok(());
    }; // missing: the renderer will say so
    // Never read outside the checkout.
    if !p.starts_with(root.canonicalize()?) {
        return Ok(());
    }
    if p.is_dir() {
        return collect_dir(root, &p, files, dirs);
    }
    files.insert(p);
    Ok(())
}

fn collect_dir(
    root: &Path,
    dir: &Path,
    files: &mut BTreeSet<PathBuf>,
    dirs: &mut BTreeSet<PathBuf>,
) -> io::Result<()> {
    let dir = dir.canonicalize()?;
    if !dirs.insert(dir.clone()) {
        return Ok(());
    }
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let name = e.file_name();
            if name.to_string_lossy().starts_with(".git") {
                continue;
            }
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                files.insert(e.path());
            }
        }
    }
    for k in KUSTOMIZATION_FILES {
        let f = dir.join(k);
        if !f.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&f)?;
        let Ok(doc) = serde_saphyr::from_str::<Value>(&text) else {
            continue;
        };
        for field in ["resources", "bases", "components"] {
            for entry in doc
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(e) = entry.as_str() else { continue };
                if e.contains("://") || e.starts_with("github.com/") {
                    continue; // remote: not part of this commit
                }
                add_path(root, &dir.join(e), files, dirs)?;
            }
        }
    }
    Ok(())
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
        let d1 = digest(root, &prod, &[]).unwrap();
        write(root, "other/x.yaml", "b: 2\n");
        assert_eq!(
            d1,
            digest(root, &prod, &[]).unwrap(),
            "an unrelated change changed the digest"
        );
        write(root, "base/cm.yaml", "a: 2\n");
        assert_ne!(
            d1,
            digest(root, &prod, &[]).unwrap(),
            "a change to the base did not change the digest"
        );
    }
}
