//! Keeping a render inside its repository.
//!
//! A repository is untrusted input: whoever can push to it must not be able to make moor read
//! the controller's files (a symlink to `/etc/passwd`, a value file `../../other-checkout/x`) or
//! fetch what it likes (a kustomize remote base, a remote value file). Before any renderer runs,
//! [`input_files`] walks everything the render can read (the app's directory, what its
//! kustomizations reference, Helm value files) and refuses a symlink or a path that leaves the
//! checkout, and remote references unless they are allowed. The same walk gives the controller
//! the files whose digest keys its render cache, so what is cached is what was checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use moor_types::KUSTOMIZATION_FILES;
use serde_json::Value;

use crate::{RenderError, RenderOptions};

/// Kustomization fields whose entries are local paths or remote URLs of more input.
const REFERENCE_FIELDS: [&str; 6] = [
    "resources",
    "bases",
    "components",
    "generators",
    "transformers",
    "validators",
];

/// The canonical checkout root for a render of `dir`: `opts.root`, or `dir` itself when no root
/// is given (then nothing outside the app's own directory may be read).
pub(crate) fn root_of(dir: &Path, opts: &RenderOptions) -> Result<PathBuf, RenderError> {
    let root = opts.root.as_deref().unwrap_or(dir);
    root.canonicalize().map_err(|source| RenderError::Io {
        path: root.to_path_buf(),
        source,
    })
}

/// Resolves `path`, which the field `field` names relative to `base`, inside the checkout
/// `root`: absolute paths, `..` climbing above `root`, and symlinked directories leading out of
/// it are refused with an error naming the field. `..` that stays inside is fine (Helm value
/// files shared by several charts are kept beside them). The path need not exist.
pub fn confine(root: &Path, base: &Path, field: &str, path: &str) -> Result<PathBuf, RenderError> {
    // Most callers confine to the top itself: then no second walk of the same path.
    let base_is_root = base == root;
    let escapes = || RenderError::PathEscapes {
        field: field.to_string(),
        path: path.to_string(),
    };
    let root = root.canonicalize().map_err(|source| RenderError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let base = if base_is_root {
        root.clone()
    } else {
        base.canonicalize().unwrap_or_else(|_| base.to_path_buf())
    };
    let start = base.strip_prefix(&root).map_err(|_| escapes())?;
    let joined = root.join(lexical(start, field, path)?);
    // A symlinked directory on the way can still lead out; a missing path reads nothing.
    match joined.canonicalize() {
        Ok(real) if !real.starts_with(&root) => Err(escapes()),
        _ => Ok(joined),
    }
}

/// Checks, before any checkout exists, that `path` (named by `field`, relative to the top of a
/// repository) stays inside it: not absolute, no `..` climbing out. [`confine`] applies the same
/// rule and also follows symlinks; the CLI checks flags with this one before fetching.
pub fn check_relative(field: &str, path: &str) -> Result<(), RenderError> {
    lexical(Path::new(""), field, path).map(|_| ())
}

/// `start` joined with `path`, `..` resolved without touching the disk; an error when the path
/// is absolute or climbs above the (empty) top.
fn lexical(start: &Path, field: &str, path: &str) -> Result<PathBuf, RenderError> {
    let escapes = || RenderError::PathEscapes {
        field: field.to_string(),
        path: path.to_string(),
    };
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in start
        .components()
        .chain(Path::new(path.trim()).components())
    {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(escapes)?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(escapes()),
        }
    }
    Ok(parts.iter().collect())
}

/// A remote reference: the URL shapes kustomize fetches (`https://`, `git::`, `git@host:`,
/// `github.com/org/repo`, Azure's `_git/`), anything with a scheme or a `host:port`. Wider than
/// kustomize's own rules on purpose: only entries that do not exist locally are asked.
fn is_remote(entry: &str) -> bool {
    let first = entry.split('/').next().unwrap_or_default();
    entry.contains(':')
        || entry.starts_with("git@")
        || entry.contains("?ref=")
        || entry.contains("_git/")
        || (first.contains('.') && first != "." && first != ".." && entry.contains('/'))
}

/// `url` without user information, so a token in a URL never reaches an error.
fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let host_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..host_end].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..scheme_end], &url[scheme_end + at + 1..]),
        None => url.to_string(),
    }
}

/// What a render reads, keyed by path relative to the checkout root.
struct Walk<'a> {
    root: &'a Path,
    opts: &'a RenderOptions,
    files: BTreeMap<String, PathBuf>,
    /// Directories whose kustomization (if any) was looked at: each once, so references loop
    /// safely.
    dirs: BTreeSet<PathBuf>,
}

/// The files a render of `dir` can read, each as (path relative to the checkout root, real path),
/// sorted: everything under `dir`, the local directories and files its kustomizations reference
/// (recursively) and the Helm value files. Fails, before anything is read, on a symlink or a
/// referenced path that leaves the checkout, and on remote kustomize bases and remote value files
/// unless `opts` allows them. The checkout root is `opts.root` (else `dir`).
pub fn input_files(
    dir: &Path,
    opts: &RenderOptions,
) -> Result<Vec<(String, PathBuf)>, RenderError> {
    let root = root_of(dir, opts)?;
    let dir = dir.canonicalize().map_err(|source| RenderError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !dir.starts_with(&root) {
        return Err(RenderError::PathEscapes {
            field: "the app directory".into(),
            path: dir.to_string_lossy().into_owned(),
        });
    }
    let mut walk = Walk {
        root: &root,
        opts,
        files: BTreeMap::new(),
        dirs: BTreeSet::new(),
    };
    walk.dir(&dir)?;
    if crate::renderer_for(&dir).name() == "kustomize" {
        for c in override_components(&root, &dir, opts)? {
            walk.path(&c)?;
        }
    }
    if crate::renderer_for(&dir).name() == "plain" {
        // Jsonnet imports, checked (see jsonnet.rs) and counted wherever they are.
        let files = crate::plain::selected_files(&dir, opts)?;
        for f in crate::jsonnet::imported_files(&dir, opts, &files)? {
            walk.path(&f)?;
        }
    }
    if crate::renderer_for(&dir).name() == "helm" {
        for f in &opts.helm.value_files {
            match value_file(&root, &dir, f, opts)? {
                // In another source's checkout, confined to it by `value_file`: keyed as
                // written, since it has no path in this one.
                Some(path) if ref_value_file(f, opts).is_some() => {
                    if let Ok(real) = path.canonicalize()
                        && real.is_file()
                    {
                        walk.files.insert(f.clone(), real);
                    }
                }
                Some(path) => walk.path(&path)?,
                None => {}
            }
        }
    }
    Ok(walk.files.into_iter().collect())
}

/// The override components (`opts.kustomize.components`, relative to `dir`) confined to the
/// checkout: remote ones are not fetched.
pub(crate) fn override_components(
    root: &Path,
    dir: &Path,
    opts: &RenderOptions,
) -> Result<Vec<PathBuf>, RenderError> {
    let field = "spec.source.kustomize.components entry";
    (opts.kustomize.components.iter())
        .map(|c| confine(root, dir, field, c))
        .collect()
}

/// A local value file confined to the checkout; `None` for an allowed remote one.
pub(crate) fn value_file(
    root: &Path,
    dir: &Path,
    f: &str,
    opts: &RenderOptions,
) -> Result<Option<PathBuf>, RenderError> {
    if f.starts_with("https://") || f.starts_with("http://") {
        return if opts.allow_remote_value_files {
            Ok(None)
        } else {
            Err(RenderError::RemoteValueFile { url: redacted(f) })
        };
    }
    if let Some((ref_root, rest)) = ref_value_file(f, opts) {
        return confine(ref_root, ref_root, "helm valueFiles entry", rest).map(Some);
    }
    confine(root, dir, "helm valueFiles entry", f).map(Some)
}

/// `$name/path` naming a ref source of `opts.helm.ref_roots`: its checkout and the path in it.
fn ref_value_file<'a>(f: &'a str, opts: &'a RenderOptions) -> Option<(&'a Path, &'a str)> {
    let (name, rest) = f.strip_prefix('$')?.split_once('/')?;
    Some((opts.helm.ref_roots.get(name)?.as_path(), rest))
}

impl Walk<'_> {
    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    }

    /// A referenced path: a directory is walked, a file recorded; a missing one is left to the
    /// renderer to report.
    fn path(&mut self, p: &Path) -> Result<(), RenderError> {
        let Ok(real) = p.canonicalize() else {
            return Ok(());
        };
        if !real.starts_with(self.root) {
            // confine() checked this; a link swapped in since then still must not be read.
            return Err(RenderError::PathEscapes {
                field: "a referenced path".into(),
                path: self.rel(p),
            });
        }
        if real.is_dir() {
            return self.dir(&real);
        }
        self.files.insert(self.rel(&real), real);
        Ok(())
    }

    /// Every file under `dir` (`.git` aside), symlinks checked and in-checkout ones followed,
    /// then the references of the kustomization in `dir`, if any.
    fn dir(&mut self, dir: &Path) -> Result<(), RenderError> {
        let dir = dir.canonicalize().map_err(|source| RenderError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if !self.dirs.insert(dir.clone()) {
            return Ok(());
        }
        // Directories reached through links, so a link loop is walked once.
        let mut linked = BTreeSet::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            let io = |source| RenderError::Io {
                path: d.clone(),
                source,
            };
            for entry in std::fs::read_dir(&d).map_err(io)? {
                let entry = entry.map_err(io)?;
                if entry.file_name() == ".git" {
                    continue;
                }
                let ft = entry.file_type().map_err(io)?;
                let path = entry.path();
                if ft.is_symlink() {
                    match self.link(&path)? {
                        Some(t) if t.is_dir() && linked.insert(t.clone()) => stack.push(t),
                        Some(t) if t.is_file() => {
                            self.files.insert(self.rel(&path), t);
                        }
                        _ => {}
                    }
                } else if ft.is_dir() {
                    stack.push(path);
                } else if ft.is_file() {
                    self.files.insert(self.rel(&path), path);
                }
            }
        }
        self.kustomization(&dir)
    }

    /// The real path of the symlink `link` when it stays in the checkout; an error naming the
    /// link (never reading its target) when it leaves; `None` when it dangles inside.
    fn link(&self, link: &Path) -> Result<Option<PathBuf>, RenderError> {
        let target = std::fs::read_link(link).map_err(|source| RenderError::Io {
            path: link.to_path_buf(),
            source,
        })?;
        let escapes = || RenderError::SymlinkEscapes {
            link: self.rel(link),
            target: target.to_string_lossy().into_owned(),
        };
        match link.canonicalize() {
            Ok(real) if real.starts_with(self.root) => Ok(Some(real)),
            Ok(_) => Err(escapes()),
            // Dangling or a loop: refused when it would leave, on the link's own words.
            Err(_) => {
                let parent = link.parent().unwrap_or(self.root);
                let field = format!("symbolic link {}", self.rel(link));
                confine(self.root, parent, &field, &target.to_string_lossy())
                    .map(|_| None)
                    .map_err(|_| escapes())
            }
        }
    }

    /// The references of the kustomization in `dir`: remote ones refused unless allowed, local
    /// ones confined to the checkout and walked.
    fn kustomization(&mut self, dir: &Path) -> Result<(), RenderError> {
        let Some(name) = KUSTOMIZATION_FILES
            .into_iter()
            .find(|f| dir.join(f).is_file())
        else {
            return Ok(());
        };
        let file = dir.join(name);
        let rel = self.rel(&file);
        let text = std::fs::read_to_string(&file).map_err(|source| RenderError::Io {
            path: file.clone(),
            source,
        })?;
        // An unparsable kustomization is kustomize's to report.
        let Ok(doc) = crate::parse::yaml_docs(&text) else {
            return Ok(());
        };
        let Some(doc) = doc.into_iter().next().map(|d| d.value) else {
            return Ok(());
        };
        let remote = |url: &str| RenderError::RemoteBase {
            file: rel.clone(),
            url: redacted(url),
        };
        if !self.opts.allow_remote_bases {
            let charts = doc.get("helmCharts").and_then(Value::as_array);
            for chart in charts.into_iter().flatten() {
                if let Some(repo) = chart.get("repo").and_then(Value::as_str) {
                    return Err(remote(repo));
                }
            }
        }
        for field in REFERENCE_FIELDS {
            let entries = doc.get(field).and_then(Value::as_array);
            let entries = entries.into_iter().flatten().filter_map(Value::as_str);
            // A multi-line entry is a generator's or transformer's config inline, not a path.
            for entry in entries.filter(|e| !e.contains('\n')) {
                if is_remote(entry) && !dir.join(entry).exists() {
                    if self.opts.allow_remote_bases {
                        continue;
                    }
                    return Err(remote(entry));
                }
                let what = format!("{rel}: {field} entry");
                let path = confine(self.root, dir, &what, entry)?;
                self.path(&path)?;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn opts(root: &Path) -> RenderOptions {
        RenderOptions {
            root: Some(root.to_path_buf()),
            ..Default::default()
        }
    }

    #[test]
    fn confine_refuses_absolute_and_climbing_paths() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        write(&root, "apps/web/cm.yaml", "a: 1\n");
        write(t.path(), "other/secret.yaml", "b: 1\n");
        let web = root.join("apps/web");
        let ok = |b: &Path, p: &str| confine(&root, b, "f", p).unwrap();
        assert!(ok(&root, "apps/web").ends_with("apps/web"));
        assert!(ok(&web, "../web/cm.yaml").ends_with("apps/web/cm.yaml"));
        for (base, bad) in [
            (&root, "../other"),
            (&root, "/etc"),
            (&web, "../../../other/secret.yaml"),
            (&root, "apps/../../other"),
        ] {
            let err = confine(&root, base, "spec.source.path", bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("spec.source.path {bad:?} leaves the repository")
            );
        }
        // A symlinked directory leading out is refused too.
        symlink(t.path().join("other"), root.join("out")).unwrap();
        let err = confine(&root, &root, "spec.source.path", "out").unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.source.path \"out\" leaves the repository"
        );
    }

    #[test]
    fn links_inside_the_checkout_are_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        write(root, "shared/cm.yaml", "a: 1\n");
        write(root, "apps/web/own.yaml", "b: 1\n");
        symlink("../../shared/cm.yaml", root.join("apps/web/cm.yaml")).unwrap();
        symlink("../../shared", root.join("apps/web/shared")).unwrap();
        let files = input_files(&root.join("apps/web"), &opts(root)).unwrap();
        let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["apps/web/cm.yaml", "apps/web/own.yaml", "shared/cm.yaml"]
        );
    }

    #[test]
    fn remote_references_are_recognised() {
        for r in [
            "https://github.com/org/repo//base?ref=v1",
            "git::https://example.com/x",
            "git@github.com:org/repo.git",
            "github.com/org/repo/base",
            "localhost:8080/org/repo",
            "dev.azure.com/org/_git/repo",
        ] {
            assert!(is_remote(r), "{r}");
        }
        for l in ["../base", "cm.yaml", "./x.y/z", "base"] {
            assert!(!is_remote(l), "{l}");
        }
        assert_eq!(
            redacted("https://user:tok@host/x@y"),
            "https://***@host/x@y"
        );
    }
}
