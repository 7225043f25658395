//! The edits over a directory: which edit applies to which file, planned without writing, then
//! written; and reading the image references a path sets (for promotion).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::error::io;
use crate::{
    ImageChange, ImageError, ImageRef, ImageUpdate, image_fields, is_kustomization,
    kustomization_images, set_image_fields, set_kustomize_images, set_policy_markers,
};

/// What to change: images by name (`NAME=NEWREF`) and setter-marker policies (`ns:policy` to
/// its latest reference).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edits {
    /// Images by name and the reference each gets.
    pub images: Vec<ImageUpdate>,
    /// Setter-marker policies (`ns:policy`) and the latest reference each selected.
    pub policies: BTreeMap<String, ImageRef>,
}

impl Edits {
    /// Edits of images by name only, no policies.
    pub fn images(images: Vec<ImageUpdate>) -> Edits {
        Edits {
            images,
            policies: BTreeMap::new(),
        }
    }

    /// Every image name and policy asked for.
    pub fn names(&self) -> Vec<String> {
        self.images
            .iter()
            .map(|u| u.name.clone())
            .chain(self.policies.keys().cloned())
            .collect()
    }
}

/// The result of editing one text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextEdit {
    /// The new text (the old one when nothing changed).
    pub text: String,
    /// What changed, one entry per reference replaced.
    pub changes: Vec<ImageChange>,
    /// Image names and policies found in the text, whether changed or already as wanted.
    pub matched: BTreeSet<String>,
}

/// One file whose text changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEdit {
    /// Relative to the directory the plan was made in (the repository root).
    pub path: PathBuf,
    /// The text before, for the diff shown.
    pub old: String,
    /// The text to write.
    pub new: String,
    /// What changed in it.
    pub changes: Vec<ImageChange>,
}

/// The edits of a directory, not yet written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditPlan {
    /// Only the files whose text changes, in path order.
    pub files: Vec<FileEdit>,
    /// Image names and policies found, changed or already as wanted.
    pub matched: BTreeSet<String>,
    /// The kustomization at the top of the path, which gets entries for missing images.
    pub root_kustomization: Option<PathBuf>,
}

impl EditPlan {
    /// Every change in every file, for the report.
    pub fn changes(&self) -> impl Iterator<Item = &ImageChange> {
        self.files.iter().flat_map(|f| f.changes.iter())
    }

    /// Nothing to write: every image is already as wanted.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The names and policies of `edits` found nowhere under the path.
    pub fn unmatched(&self, edits: &Edits) -> Vec<String> {
        edits
            .names()
            .into_iter()
            .filter(|n| !self.matched.contains(n))
            .collect()
    }
}

/// Applies `edits` to one file's text, by its name: a kustomization gets its `images:` entries
/// updated (and, with `add_missing`, added), another YAML file its `image:` fields; both get
/// setter markers. Other files come back unchanged. `path` is what changes and errors name.
pub fn edit_text(
    path: &Path,
    text: &str,
    edits: &Edits,
    add_missing: bool,
) -> Result<TextEdit, ImageError> {
    let mut edit = if is_kustomization(path) {
        set_kustomize_images(path, text, &edits.images, add_missing)?
    } else if is_yaml(path) {
        set_image_fields(path, text, &edits.images)
    } else {
        return Ok(TextEdit {
            text: text.to_string(),
            ..TextEdit::default()
        });
    };
    if !edits.policies.is_empty() {
        let markers = set_policy_markers(path, &edit.text, &edits.policies);
        edit.text = markers.text;
        edit.changes.extend(markers.changes);
        edit.changes.sort_by_key(|c| c.line);
        edit.matched.extend(markers.matched);
    }
    Ok(edit)
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// `root/path` when it exists inside `root`; absolute paths and `..` are refused.
pub fn resolve_path(root: &Path, path: &str) -> Result<PathBuf, ImageError> {
    let rel = Path::new(path);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(ImageError::InvalidPath {
            path: path.to_string(),
            reason: "it must be relative to the repository root, without '..'".into(),
        });
    }
    let root = root.canonicalize().map_err(io("read", root))?;
    let full = root.join(rel).canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
            ImageError::PathNotFound {
                path: path.to_string(),
            }
        }
        _ => io("read", root.join(rel))(e),
    })?;
    if !full.starts_with(&root) {
        return Err(ImageError::InvalidPath {
            path: path.to_string(),
            reason: "it leads out of the repository (through a symlink)".into(),
        });
    }
    Ok(full)
}

/// Plans `edits` for every file under `root/path` (recursively; `.git` and symlinks skipped)
/// without writing anything. Every kustomization found must parse.
pub fn plan_dir(root: &Path, path: &str, edits: &Edits) -> Result<EditPlan, ImageError> {
    let root = root.canonicalize().map_err(io("read", root))?;
    let target = resolve_path(&root, path)?;
    let root_kustomization = top_kustomization(&target)?;
    let mut plan = EditPlan {
        root_kustomization: root_kustomization.as_ref().map(|k| relative(&root, k)),
        ..EditPlan::default()
    };
    for file in files_under(&target)? {
        let rel = relative(&root, &file);
        let kustomization = is_kustomization(&file);
        if !kustomization && !is_yaml(&file) {
            continue;
        }
        let bytes = fs::read(&file).map_err(io("read", &rel))?;
        let Ok(text) = String::from_utf8(bytes) else {
            if kustomization {
                return Err(ImageError::KustomizationParse {
                    file: rel,
                    cause: "it is not UTF-8 text".into(),
                });
            }
            continue;
        };
        let add_missing = root_kustomization.as_ref() == Some(&file);
        let edit = edit_text(&rel, &text, edits, add_missing)?;
        plan.matched.extend(edit.matched);
        if edit.text != text {
            plan.files.push(FileEdit {
                path: rel,
                old: text,
                new: edit.text,
                changes: edit.changes,
            });
        }
    }
    Ok(plan)
}

/// Writes the planned files under `root`.
pub fn write_edits(root: &Path, files: &[FileEdit]) -> Result<(), ImageError> {
    for f in files {
        let path = root.join(&f.path);
        fs::write(&path, &f.new).map_err(io("write", &f.path))?;
    }
    Ok(())
}

/// A unified diff of one planned file, with `a/` and `b/` headers like git's.
pub fn unified_diff(edit: &FileEdit) -> String {
    let path = edit.path.display().to_string();
    similar::TextDiff::from_lines(&edit.old, &edit.new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// The image references `root/path` sets, as updates that make another path set the same:
/// the `images:` entries of its kustomization, else (none there) the `image:` fields of its YAML
/// files. With `names`, only those (each must be found).
pub fn collect_images(
    root: &Path,
    path: &str,
    names: &[String],
) -> Result<Vec<ImageUpdate>, ImageError> {
    let root = root.canonicalize().map_err(io("read", root))?;
    let target = resolve_path(&root, path)?;
    let mut found: Vec<ImageUpdate> = Vec::new();
    if let Some(k) = top_kustomization(&target)? {
        let rel = relative(&root, &k);
        let text = fs::read_to_string(&k).map_err(io("read", &rel))?;
        for entry in kustomization_images(&rel, &text)? {
            // An entry with a name only changes nothing: nothing to copy.
            if entry.new_name.is_none() && entry.new_tag.is_none() && entry.digest.is_none() {
                continue;
            }
            found.push(entry.to_update().map_err(|e| ImageError::Unsupported {
                file: rel.clone(),
                reason: format!("images: entry on line {}: {e}", entry.line),
            })?);
        }
    }
    if found.is_empty() {
        let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut parsed: BTreeMap<String, ImageRef> = BTreeMap::new();
        for file in files_under(&target)? {
            if is_kustomization(&file) || !is_yaml(&file) {
                continue;
            }
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            for (_, r) in image_fields(&text) {
                refs.entry(r.name.clone())
                    .or_default()
                    .insert(r.to_string());
                parsed.insert(r.name.clone(), r);
            }
        }
        for (name, set) in refs {
            if set.len() > 1 {
                if names.is_empty() || names.contains(&name) {
                    return Err(ImageError::Ambiguous {
                        path: path.to_string(),
                        name,
                        refs: set.into_iter().collect(),
                    });
                }
                continue;
            }
            let r = parsed.remove(&name).expect("parsed with its name");
            found.push(ImageUpdate::new(name, r));
        }
    }
    if !names.is_empty() {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !found.iter().any(|u| &u.name == *n))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(ImageError::NothingToCopy {
                path: path.to_string(),
                names: missing,
            });
        }
        found.retain(|u| names.contains(&u.name));
    }
    if found.is_empty() {
        return Err(ImageError::NothingToCopy {
            path: path.to_string(),
            names: Vec::new(),
        });
    }
    Ok(found)
}

fn relative(root: &Path, file: &Path) -> PathBuf {
    file.strip_prefix(root).unwrap_or(file).to_path_buf()
}

/// The kustomization file directly in `target` (or `target` itself when it is one).
fn top_kustomization(target: &Path) -> Result<Option<PathBuf>, ImageError> {
    if target.is_file() {
        return Ok(is_kustomization(target).then(|| target.to_path_buf()));
    }
    let found: Vec<PathBuf> = moor_types::KUSTOMIZATION_FILES
        .iter()
        .map(|n| target.join(n))
        .filter(|p| p.is_file())
        .collect();
    // Case-insensitive file systems see kustomization.yaml as Kustomization too.
    let mut unique: Vec<PathBuf> = Vec::new();
    for p in found {
        let canonical = p.canonicalize().map_err(io("read", &p))?;
        if !unique
            .iter()
            .any(|u| u.canonicalize().ok().as_ref() == Some(&canonical))
        {
            unique.push(p);
        }
    }
    if unique.len() > 1 {
        return Err(ImageError::Unsupported {
            file: target.to_path_buf(),
            reason: "it holds more than one kustomization file; kustomize refuses that too".into(),
        });
    }
    Ok(unique.pop())
}

/// Regular files under `target` in path order; `.git` and symlinks are skipped.
fn files_under(target: &Path) -> Result<Vec<PathBuf>, ImageError> {
    if target.is_file() {
        return Ok(vec![target.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(target)
        .map_err(io("read", target))?
        .collect::<Result<_, _>>()
        .map_err(io("read", target))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let kind = e.file_type().map_err(io("read", e.path()))?;
        if kind.is_dir() && e.file_name() != ".git" {
            out.extend(files_under(&e.path())?);
        } else if kind.is_file() {
            out.push(e.path());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "base/kustomization.yaml",
            "resources:\n  - deployment.yaml\n",
        );
        write(
            d,
            "base/deployment.yaml",
            "spec:\n  containers:\n    - name: app\n      image: registry.local/myapp:1.0.0 # base\n",
        );
        write(
            d,
            "overlays/staging/kustomization.yaml",
            "resources:\n  - ../../base\nimages:\n  - name: registry.local/myapp\n    newTag: 1.0.1 # staging\n",
        );
        write(
            d,
            "overlays/production/kustomization.yaml",
            "resources:\n  - ../../base\nimages:\n  - name: registry.local/myapp\n    newTag: 1.0.0 # production\n",
        );
        write(
            d,
            "overlays/staging/notes.txt",
            "image: registry.local/myapp:1.0.0\n",
        );
        write(d, "plain/app.yml", "image: registry.local/myapp:0.9\n");
        dir
    }

    fn edits(args: &[&str]) -> Edits {
        Edits::images(
            args.iter()
                .map(|a| ImageUpdate::parse(a).unwrap())
                .collect(),
        )
    }

    #[test]
    fn plans_only_under_the_path_and_leaves_other_files_alone() {
        let dir = tree();
        let plan = plan_dir(
            dir.path(),
            "overlays/staging",
            &edits(&["registry.local/myapp=registry.local/myapp:3f2c1ab"]),
        )
        .unwrap();
        assert_eq!(plan.files.len(), 1);
        let f = &plan.files[0];
        assert_eq!(f.path, Path::new("overlays/staging/kustomization.yaml"));
        assert_eq!(f.new, f.old.replace("newTag: 1.0.1 #", "newTag: 3f2c1ab #"));
        assert_eq!(
            plan.root_kustomization.as_deref(),
            Some(Path::new("overlays/staging/kustomization.yaml"))
        );
        let diff = unified_diff(f);
        assert!(diff.starts_with("--- a/overlays/staging/kustomization.yaml\n+++ b/overlays/staging/kustomization.yaml\n"), "{diff}");
        assert!(
            diff.contains("-    newTag: 1.0.1 # staging\n+    newTag: 3f2c1ab # staging\n"),
            "{diff}"
        );

        let before: Vec<(PathBuf, Vec<u8>)> = files_under(dir.path())
            .unwrap()
            .into_iter()
            .map(|p| (p.clone(), fs::read(&p).unwrap()))
            .collect();
        write_edits(dir.path(), &plan.files).unwrap();
        for (p, bytes) in before {
            let now = fs::read(&p).unwrap();
            if p.ends_with("overlays/staging/kustomization.yaml") {
                assert_ne!(now, bytes);
            } else {
                assert_eq!(now, bytes, "{} changed", p.display());
            }
        }
    }

    #[test]
    fn whole_repository_updates_fields_and_existing_entries_only() {
        let dir = tree();
        let plan = plan_dir(
            dir.path(),
            ".",
            &edits(&["registry.local/myapp=registry.local/myapp:2.0.0"]),
        )
        .unwrap();
        let paths: Vec<&Path> = plan.files.iter().map(|f| f.path.as_path()).collect();
        assert_eq!(
            paths,
            vec![
                Path::new("base/deployment.yaml"),
                Path::new("overlays/production/kustomization.yaml"),
                Path::new("overlays/staging/kustomization.yaml"),
                Path::new("plain/app.yml"),
            ]
        );
        assert!(plan.root_kustomization.is_none());
        // base/kustomization.yaml got no entry: only the path's own kustomization does.
    }

    #[test]
    fn unmatched_names_are_reported() {
        let dir = tree();
        let e = edits(&["registry.local/other=registry.local/other:1"]);
        let plan = plan_dir(dir.path(), "plain", &e).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan.unmatched(&e), vec!["registry.local/other".to_string()]);
        // A kustomization at the top of the path gets a new entry instead.
        let plan = plan_dir(dir.path(), "overlays/staging", &e).unwrap();
        assert!(plan.unmatched(&e).is_empty());
        assert_eq!(plan.files[0].changes[0].old, None);
    }

    #[test]
    fn bad_paths_and_broken_kustomizations_are_errors() {
        let dir = tree();
        let e = edits(&["a=a:1"]);
        let err = plan_dir(dir.path(), "overlays/nope", &e)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "path \"overlays/nope\" does not exist in the repository"
        );
        let err = plan_dir(dir.path(), "../x", &e).unwrap_err().to_string();
        assert!(err.contains("without '..'"), "{err}");
        write(
            dir.path(),
            "overlays/broken/kustomization.yaml",
            "images:\n  - name: a\n  newTag: [\n",
        );
        let err = plan_dir(dir.path(), "overlays", &e)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "kustomization overlays/broken/kustomization.yaml does not parse: line"
            ),
            "{err}"
        );
    }

    #[test]
    fn collects_kustomize_entries_else_image_fields() {
        let dir = tree();
        let staging = collect_images(dir.path(), "overlays/staging", &[]).unwrap();
        assert_eq!(
            staging,
            vec![ImageUpdate::parse("registry.local/myapp=registry.local/myapp:1.0.1").unwrap()]
        );
        let plain = collect_images(dir.path(), "plain", &[]).unwrap();
        assert_eq!(plain[0].new.to_string(), "registry.local/myapp:0.9");
        let err = collect_images(dir.path(), "overlays/staging", &["nope".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
        write(
            dir.path(),
            "plain/two.yaml",
            "image: registry.local/myapp:1.0\n",
        );
        let err = collect_images(dir.path(), "plain", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("different references"), "{err}");
    }

    #[test]
    fn setter_markers_apply_to_every_yaml_file() {
        let dir = tree();
        write(
            dir.path(),
            "apps/app.yaml",
            "image: ghcr.io/o/app:1 # {\"$imagepolicy\": \"flux-system:app\"}\n",
        );
        let e = Edits {
            images: Vec::new(),
            policies: BTreeMap::from([(
                "flux-system:app".to_string(),
                ImageRef::parse("ghcr.io/o/app:2").unwrap(),
            )]),
        };
        let plan = plan_dir(dir.path(), ".", &e).unwrap();
        assert_eq!(plan.files.len(), 1);
        assert_eq!(
            plan.files[0].new,
            "image: ghcr.io/o/app:2 # {\"$imagepolicy\": \"flux-system:app\"}\n"
        );
    }
}
