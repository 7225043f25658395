//! A chart directory with dependencies placed in its `charts/`, for `helm template`.
//!
//! The chart lives in a Git checkout (or the chart cache) that other apps share, so its
//! dependencies are never written beside it: the chart is copied into a temporary directory and
//! each dependency (an extracted chart directory or a `.tgz`) is copied into the copy's
//! `charts/`. The copy follows the rules the render already checked: symlinks are followed only
//! inside the checkout, nothing but regular files and directories is read, and the bytes and
//! entries copied are bounded.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::{HelmDependency, RenderError};

/// Entries (files and directories) one copy may make: a bound besides the bytes, so a tree of
/// millions of empty files cannot stall a render.
const MAX_ENTRIES: usize = 50_000;

/// A copy of a chart with its dependencies in `charts/`; removed on drop.
pub(crate) struct PreparedChart {
    tmp: TempDir,
}

impl PreparedChart {
    /// The copied chart's directory.
    pub(crate) fn dir(&self) -> PathBuf {
        self.tmp.path().join("chart")
    }
}

/// Copies the chart `dir` (inside the checkout `root`) into a temporary directory and places
/// `deps` in the copy's `charts/`, within `max_bytes` in all.
pub(crate) fn prepare(
    dir: &Path,
    root: &Path,
    deps: &[HelmDependency],
    max_bytes: u64,
) -> Result<PreparedChart, RenderError> {
    let tmp = tempfile::Builder::new()
        .prefix("moor-chart-")
        .tempdir()
        .map_err(|source| RenderError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let prepared = PreparedChart { tmp };
    let mut copy = Copy {
        what: format!("chart {} with its dependencies", dir.display()),
        bytes_left: max_bytes,
        limit: max_bytes,
        entries: 0,
    };
    let dest = prepared.dir();
    copy.tree(dir, &dest, root, &mut BTreeSet::new())?;
    let charts = dest.join("charts");
    mkdir(&charts)?;
    for d in deps {
        check_component("dependency name", &d.name)?;
        check_component("dependency version", &d.version)?;
        let meta = std::fs::metadata(&d.path).map_err(|source| RenderError::Io {
            path: d.path.clone(),
            source,
        })?;
        // A dependency inside the checkout (`file://`) may link within it; one from the chart
        // cache only within itself.
        let src = canonical(&d.path)?;
        let dep_root = if src.starts_with(root) { root } else { &src };
        let base = format!("{}-{}", d.name, d.version);
        if meta.is_dir() {
            let target = free_name(&charts, &base, "");
            copy.tree(&src, &target, dep_root, &mut BTreeSet::new())?;
        } else {
            copy.file(&src, &free_name(&charts, &base, ".tgz"))?;
        }
    }
    Ok(prepared)
}

/// `charts/<base><ext>`, or with a `-2`, `-3` … suffix when a vendored entry has that name.
fn free_name(charts: &Path, base: &str, ext: &str) -> PathBuf {
    let mut p = charts.join(format!("{base}{ext}"));
    let mut n = 2;
    while p.symlink_metadata().is_ok() {
        p = charts.join(format!("{base}-{n}{ext}"));
        n += 1;
    }
    p
}

/// A name or version used as a file name in `charts/`: one plain path component that Helm
/// does not skip (it ignores entries starting with `.` or `_`).
fn check_component(field: &str, s: &str) -> Result<(), RenderError> {
    let ok = !s.is_empty()
        && !s.starts_with(['.', '_'])
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    if ok {
        Ok(())
    } else {
        Err(RenderError::PathEscapes {
            field: field.to_string(),
            path: s.to_string(),
        })
    }
}

fn canonical(p: &Path) -> Result<PathBuf, RenderError> {
    p.canonicalize().map_err(|source| RenderError::Io {
        path: p.to_path_buf(),
        source,
    })
}

fn mkdir(p: &Path) -> Result<(), RenderError> {
    std::fs::create_dir_all(p).map_err(|source| RenderError::Io {
        path: p.to_path_buf(),
        source,
    })
}

/// One bounded copy.
struct Copy {
    /// Named in the size error.
    what: String,
    bytes_left: u64,
    limit: u64,
    entries: usize,
}

impl Copy {
    fn too_large(&self) -> RenderError {
        RenderError::TooLarge {
            what: self.what.clone(),
            limit: self.limit,
        }
    }

    fn count(&mut self) -> Result<(), RenderError> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(RenderError::TooLarge {
                what: format!("{} ({MAX_ENTRIES} files at most)", self.what),
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Copies the directory `src` to `dest`: symlinks are followed when they stay in `root`
    /// (refused otherwise); `.git`, sockets, FIFOs and devices are left out. `open` holds the
    /// directories being copied, so a link back to one of them is not followed round again.
    fn tree(
        &mut self,
        src: &Path,
        dest: &Path,
        root: &Path,
        open: &mut BTreeSet<PathBuf>,
    ) -> Result<(), RenderError> {
        let real = canonical(src)?;
        if !open.insert(real.clone()) {
            return Ok(());
        }
        mkdir(dest)?;
        let io = |source| RenderError::Io {
            path: src.to_path_buf(),
            source,
        };
        let mut entries: Vec<_> = std::fs::read_dir(&real)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if entry.file_name() == ".git" {
                continue;
            }
            self.count()?;
            let path = entry.path();
            let to = dest.join(entry.file_name());
            let ft = entry.file_type().map_err(io)?;
            let target = if ft.is_symlink() {
                match path.canonicalize() {
                    Ok(t) if t.starts_with(root) => t,
                    Ok(_) => return Err(escapes(&path, root)),
                    // Dangling: nothing to read, as helm would find nothing either.
                    Err(_) => continue,
                }
            } else {
                path
            };
            let meta = std::fs::metadata(&target).map_err(|source| RenderError::Io {
                path: target.clone(),
                source,
            })?;
            if meta.is_dir() {
                self.tree(&target, &to, root, open)?;
            } else if meta.is_file() {
                self.file(&target, &to)?;
            }
        }
        open.remove(&real);
        Ok(())
    }

    /// Copies one regular file, counting its bytes against the budget as they are read (so a
    /// file growing meanwhile is still bounded).
    fn file(&mut self, src: &Path, dest: &Path) -> Result<(), RenderError> {
        let read_err = |source| RenderError::Io {
            path: src.to_path_buf(),
            source,
        };
        let write_err = |source| RenderError::Io {
            path: dest.to_path_buf(),
            source,
        };
        let mut input = std::fs::File::open(src).map_err(read_err)?;
        let mut buf = Vec::new();
        (&mut input)
            .take(self.bytes_left + 1)
            .read_to_end(&mut buf)
            .map_err(read_err)?;
        if buf.len() as u64 > self.bytes_left {
            return Err(self.too_large());
        }
        self.bytes_left -= buf.len() as u64;
        let mut out = std::fs::File::create(dest).map_err(write_err)?;
        out.write_all(&buf).map_err(write_err)
    }
}

/// The refusal of a link leaving `root`, naming the link and its own text only.
fn escapes(link: &Path, root: &Path) -> RenderError {
    RenderError::SymlinkEscapes {
        link: link
            .strip_prefix(root)
            .unwrap_or(link)
            .to_string_lossy()
            .into_owned(),
        target: std::fs::read_link(link)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default(),
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

    /// An empty checkout in `t`, by its canonical path (as the render passes it).
    fn repo(t: &TempDir) -> PathBuf {
        std::fs::create_dir_all(t.path().join("repo")).unwrap();
        t.path().join("repo").canonicalize().unwrap()
    }

    fn dep(name: &str, version: &str, path: PathBuf) -> HelmDependency {
        HelmDependency {
            name: name.into(),
            version: version.into(),
            digest: "d".into(),
            path,
        }
    }

    #[test]
    fn chart_is_copied_with_dependencies_in_charts() {
        let t = tempfile::tempdir().unwrap();
        let root = repo(&t);
        write(&root, "web/Chart.yaml", "name: web\n");
        write(&root, "web/charts/db/Chart.yaml", "name: db\n");
        write(&root, "shared/values.yaml", "a: 1\n");
        write(&root, "lib/Chart.yaml", "name: lib\n");
        symlink("../shared/values.yaml", root.join("web/values.yaml")).unwrap();
        let cache = t.path().join("cache");
        write(&cache, "redis-1.2.0.tgz", "archive");
        let deps = [
            dep("lib", "0.1.0", root.join("lib")),
            dep("redis", "1.2.0", cache.join("redis-1.2.0.tgz")),
        ];
        let p = prepare(&root.join("web"), &root, &deps, 1 << 20).unwrap();
        let d = p.dir();
        let read = |rel: &str| std::fs::read_to_string(d.join(rel)).unwrap();
        assert_eq!(read("values.yaml"), "a: 1\n");
        assert!(!d.join("values.yaml").is_symlink(), "links become files");
        assert_eq!(read("charts/db/Chart.yaml"), "name: db\n");
        assert_eq!(read("charts/lib-0.1.0/Chart.yaml"), "name: lib\n");
        assert_eq!(read("charts/redis-1.2.0.tgz"), "archive");
        assert!(
            !root.join("web/charts/lib-0.1.0").exists(),
            "source untouched"
        );
    }

    #[test]
    fn links_out_sizes_and_bad_names_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let root = repo(&t);
        write(&root, "web/Chart.yaml", "name: web\n");
        write(t.path(), "secret", "s");
        let out = prepare(&root.join("web"), &root, &[], 5).err().unwrap();
        assert!(
            out.to_string()
                .contains("larger than the render limit of 5 bytes")
        );
        let bad = dep("../x", "1.0.0", root.join("web"));
        let err = prepare(&root.join("web"), &root, &[bad], 1 << 20)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "dependency name \"../x\" leaves the repository"
        );
        symlink(t.path().join("secret"), root.join("web/leak")).unwrap();
        let err = prepare(&root.join("web"), &root, &[], 1 << 20)
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("symbolic link web/leak points outside"),
            "{err}"
        );
    }

    #[test]
    fn a_link_loop_is_copied_once() {
        let t = tempfile::tempdir().unwrap();
        let root = repo(&t);
        write(&root, "web/Chart.yaml", "name: web\n");
        symlink("..", root.join("web/up")).unwrap();
        let p = prepare(&root.join("web"), &root, &[], 1 << 20).unwrap();
        assert!(p.dir().join("up").is_dir());
        assert!(
            !p.dir().join("up/web").exists(),
            "the chart is not copied into itself"
        );
    }
}
