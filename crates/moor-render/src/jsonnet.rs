//! Jsonnet in plain directories, as Argo CD renders it (`spec.source.directory.jsonnet`).
//!
//! Every `*.jsonnet` file the plain renderer selects (recurse, include, exclude apply) is
//! evaluated by the reference implementation, go-jsonnet's `jsonnet` binary, with the app's
//! external variables, top-level arguments and library paths; `.libsonnet` files are only
//! imported. A file's output is one object, or an array of objects (`null` entries skipped, as
//! Argo CD does), each `*List` flattened into its items like any manifest; `null` is no object.
//! Library paths are relative to the repository root, searched after the importing file's
//! directory, last library first, then the app directory (Argo CD's `JPaths`).
//!
//! Jsonnet reads whatever file an import names. Before it runs, [`imported_files`] scans every
//! file it can evaluate (and external variables and top-level arguments given as code) for
//! imports — a complete list, as Jsonnet only allows literal import paths (see
//! `jsonnet_lex`) — and refuses any path that is absolute, climbs out of the checkout or goes
//! through a symlink leaving it, at every place Jsonnet would look for it.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use moor_types::{Manifest, Origin};
use serde_json::Value;

use crate::exec::{self, JSONNET};
use crate::jsonnet_lex::{ImportKind, imports};
use crate::{RenderError, RenderOptions};

/// Argo CD's `directory.jsonnet`: how `.jsonnet` files are evaluated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonnetOptions {
    /// External variables (`std.extVar`), in order.
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments of a file that is a function, in order.
    pub tlas: Vec<JsonnetVar>,
    /// Library directories, relative to the repository root, searched by imports.
    pub libs: Vec<String>,
}

impl JsonnetOptions {
    /// No variables, arguments or libraries.
    pub fn is_empty(&self) -> bool {
        self.ext_vars.is_empty() && self.tlas.is_empty() && self.libs.is_empty()
    }
}

/// One external variable or top-level argument.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonnetVar {
    /// Its name.
    pub name: String,
    /// A string, or Jsonnet code when `code`.
    pub value: String,
    /// `value` is Jsonnet code (`--ext-code`/`--tla-code`) rather than a string.
    pub code: bool,
}

/// Is `name` (relative to the directory) a file Jsonnet evaluates?
pub(crate) fn is_jsonnet_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".jsonnet")
}

/// Where a render's Jsonnet runs: the checkout root and app directory (canonical) and the
/// library search paths as passed to `jsonnet -J`, in Argo CD's order.
struct Plan {
    root: PathBuf,
    dir: PathBuf,
    jpaths: Vec<PathBuf>,
}

impl Plan {
    fn new(dir: &Path, opts: &RenderOptions) -> Result<Plan, RenderError> {
        let root = crate::confine::root_of(dir, opts)?;
        let dir = dir.canonicalize().map_err(|source| RenderError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut jpaths = vec![dir.clone()];
        for lib in &opts.jsonnet.libs {
            let field = "jsonnet libs entry";
            let joined = crate::confine(&root, &root, field, lib)?;
            // The real path when it exists, so imports through it resolve as checked below.
            jpaths.push(joined.canonicalize().unwrap_or(joined));
        }
        for (field, vars) in [
            ("extVars", &opts.jsonnet.ext_vars),
            ("tlas", &opts.jsonnet.tlas),
        ] {
            // `jsonnet` splits `name=value` at the first `=`.
            if let Some(v) = vars
                .iter()
                .find(|v| v.name.is_empty() || v.name.contains('='))
            {
                return Err(RenderError::InvalidOverride {
                    field: format!("spec.source.directory.jsonnet.{field}"),
                    cause: format!("name {:?} is empty or holds '='", v.name),
                });
            }
        }
        Ok(Plan { root, dir, jpaths })
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    }
}

/// The files outside the plain directory `dir` that its Jsonnet imports (recursively), as
/// real paths inside the checkout, for the render's input digest; `dir`'s own files are walked
/// anyway. Fails, before Jsonnet runs, on an import leaving the checkout (see the module doc),
/// naming the importing file and line.
pub(crate) fn imported_files(
    dir: &Path,
    opts: &RenderOptions,
    files: &[String],
) -> Result<Vec<PathBuf>, RenderError> {
    let evaluated: Vec<&String> = files.iter().filter(|f| is_jsonnet_file(f)).collect();
    let code_vars = (opts.jsonnet.ext_vars.iter())
        .chain(&opts.jsonnet.tlas)
        .filter(|v| v.code);
    if evaluated.is_empty() {
        return Ok(Vec::new());
    }
    let plan = Plan::new(dir, opts)?;
    let mut scan = Scan {
        plan: &plan,
        seen: BTreeSet::new(),
        found: BTreeSet::new(),
        max_bytes: opts.max_bytes,
    };
    // Code values are evaluated with no file: their imports are relative to the working
    // directory, which is the app directory.
    for v in code_vars {
        let what = format!("jsonnet variable {}", v.name);
        for imported in scan.text(v.value.as_bytes(), &what, &plan.dir)? {
            scan.file(&imported)?;
        }
    }
    for rel in evaluated {
        scan.file(&plan.dir.join(rel))?;
    }
    Ok(scan.found.into_iter().collect())
}

struct Scan<'a> {
    plan: &'a Plan,
    /// Jsonnet files scanned, by the path Jsonnet knows them under.
    seen: BTreeSet<PathBuf>,
    /// Real paths of every file an import reaches.
    found: BTreeSet<PathBuf>,
    max_bytes: u64,
}

impl Scan<'_> {
    /// Scans the Jsonnet file at `path` (as Jsonnet names it) and what it imports.
    fn file(&mut self, path: &Path) -> Result<(), RenderError> {
        let mut stack = vec![path.to_path_buf()];
        while let Some(path) = stack.pop() {
            if !self.seen.insert(path.clone()) {
                continue;
            }
            let text = read_bounded(&path, self.max_bytes)?;
            let base = path.parent().unwrap_or(&self.plan.dir).to_path_buf();
            let what = self.plan.rel(&path);
            stack.extend(self.text(&text, &what, &base)?);
        }
        Ok(())
    }

    /// Checks every import of `text` (named `what` in errors, importing from `base`) and
    /// returns the Jsonnet files it imports, to scan in turn.
    fn text(&mut self, text: &[u8], what: &str, base: &Path) -> Result<Vec<PathBuf>, RenderError> {
        let found = imports(text).map_err(|e| RenderError::Parse {
            file: what.to_string(),
            line: Some(e.line),
            cause: e.cause,
        })?;
        let mut code = Vec::new();
        for import in found {
            let field = format!("{what}:{}: {}", import.line, import.kind.keyword());
            let Some((path, real)) = self.resolve(&field, base, &import.path)? else {
                continue; // Jsonnet finds nothing and fails on its own.
            };
            self.found.insert(real);
            if import.kind == ImportKind::Code {
                code.push(path);
            }
        }
        Ok(code)
    }

    /// The file Jsonnet reads for `import` from a file in `base` (the path it knows it by, and
    /// the real one): it tries `base` joined with it, then each library path, last first, and
    /// takes the first that exists. Each path tried is joined and cleaned as Go's
    /// `filepath.Join` does (lexically, so `..` after a symlinked directory counts from the
    /// link) and must stay in the checkout, also once symlinks are followed.
    fn resolve(
        &self,
        field: &str,
        base: &Path,
        import: &str,
    ) -> Result<Option<(PathBuf, PathBuf)>, RenderError> {
        let escapes = || RenderError::PathEscapes {
            field: field.to_string(),
            path: import.to_string(),
        };
        if import.starts_with('/') {
            return Err(escapes());
        }
        let jpaths = self.plan.jpaths.iter().rev().map(PathBuf::as_path);
        for dir in std::iter::once(base).chain(jpaths) {
            let joined = go_join(dir, import);
            if !joined.starts_with(&self.plan.root) {
                return Err(escapes());
            }
            match joined.canonicalize() {
                Ok(real) if !real.starts_with(&self.plan.root) => return Err(escapes()),
                // Jsonnet fails to read a directory and stops there.
                Ok(real) if real.is_dir() => return Ok(None),
                Ok(real) => return Ok(Some((joined, real))),
                // Missing (or a dangling link): Jsonnet tries the next path.
                Err(_) => continue,
            }
        }
        Ok(None)
    }
}

/// `dir` joined with `rel` and cleaned lexically, as Go's `filepath.Join`: `.` dropped, `..`
/// removing the previous component (never above `/`).
fn go_join(dir: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in dir.components().chain(Path::new(rel).components()) {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, RenderError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(|source| RenderError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max_bytes {
        return Err(RenderError::TooLarge {
            what: path.display().to_string(),
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

/// Evaluates `dir/rel` with `jsonnet` (`opts.jsonnet_bin` or on PATH), its output bounded by
/// `budget` bytes (what is left of `opts.max_bytes`, which it is charged against), and returns
/// its objects with `rel` as their origin. The caller has checked the imports
/// ([`crate::input_files`]).
pub(crate) fn render_file(
    dir: &Path,
    rel: &str,
    opts: &RenderOptions,
    budget: &mut u64,
) -> Result<Vec<Manifest>, RenderError> {
    let plan = Plan::new(dir, opts)?;
    let bin = exec::find_bin(JSONNET, opts.jsonnet_bin.as_deref())?;
    let mut cmd = Command::new(bin);
    // Nothing of the controller's environment reaches the evaluation (JSONNET_PATH would add
    // library paths; `-V name` alone would read a variable).
    cmd.env_clear().current_dir(&plan.dir);
    for (flag, vars) in [("ext", &opts.jsonnet.ext_vars), ("tla", &opts.jsonnet.tlas)] {
        for v in vars.iter() {
            let kind = if v.code { "code" } else { "str" };
            cmd.arg(format!("--{flag}-{kind}"))
                .arg(format!("{}={}", v.name, v.value));
        }
    }
    for j in &plan.jpaths {
        cmd.arg("-J").arg(j);
    }
    cmd.arg("--").arg(plan.dir.join(rel));
    let command = format!("jsonnet {rel} in");
    let out = exec::run(JSONNET, &command, dir, cmd, opts.timeout, *budget)?;
    *budget -= out.len() as u64;
    let value: Value = serde_json::from_str(&out).map_err(|e| RenderError::Parse {
        file: rel.to_string(),
        line: None,
        cause: format!("jsonnet's output is not JSON: {e}"),
    })?;
    let origin = Origin {
        file: rel.to_string(),
        line: None,
    };
    let mut manifests = Vec::new();
    match value {
        Value::Null => {}
        Value::Array(items) => {
            for item in items.into_iter().filter(|i| !i.is_null()) {
                if item.is_array() {
                    return Err(RenderError::NotAMapping {
                        file: rel.to_string(),
                        line: None,
                        found: "sequence inside the output's array",
                    });
                }
                crate::parse::push_objects(item, &origin, &mut manifests)?;
            }
        }
        other => crate::parse::push_objects(other, &origin, &mut manifests)?,
    }
    Ok(manifests)
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

    fn opts(root: &Path, libs: &[&str]) -> RenderOptions {
        RenderOptions {
            root: Some(root.to_path_buf()),
            jsonnet: JsonnetOptions {
                libs: libs.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn scan(root: &Path, app: &str, o: &RenderOptions) -> Result<Vec<String>, RenderError> {
        let dir = root.join(app);
        let files = crate::plain::selected_files(&dir, o)?;
        let real = root.canonicalize().unwrap();
        Ok(imported_files(&dir, o, &files)?
            .iter()
            .map(|p| p.strip_prefix(&real).unwrap().display().to_string())
            .collect())
    }

    #[test]
    fn imports_are_followed_through_libs_and_importstr() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        write(
            root,
            "app/main.jsonnet",
            "local k = import 'k.libsonnet'; k + { c: importstr 'c.txt' }",
        );
        write(root, "app/c.txt", "x");
        write(root, "vendor/k.libsonnet", "import 'inner/deep.libsonnet'");
        write(
            root,
            "vendor/inner/deep.libsonnet",
            "{ b: importbin '../bin.dat' }",
        );
        write(root, "vendor/bin.dat", "\u{1}");
        write(root, "unrelated/x.libsonnet", "{}");
        let files = scan(root, "app", &opts(root, &["vendor"])).unwrap();
        assert_eq!(
            files,
            [
                "app/c.txt",
                "vendor/bin.dat",
                "vendor/inner/deep.libsonnet",
                "vendor/k.libsonnet"
            ]
        );
    }

    #[test]
    fn hostile_imports_are_refused_naming_file_and_line() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        write(t.path(), "token", "MOOR-SECRET-MARKER");
        for (text, path) in [
            (
                "{}\n\nimport '/var/run/secrets/token'",
                "/var/run/secrets/token",
            ),
            ("{}\n\nimportstr '../../token'", "../../token"),
            ("{}\n\nimportbin \"..\\u002f../token\"", "../../token"),
            (
                "{ a: import 'lib.libsonnet' }\n\nimport 'link/token'",
                "link/token",
            ),
        ] {
            let _ = std::fs::remove_dir_all(&root);
            write(&root, "app/main.jsonnet", text);
            write(&root, "app/lib.libsonnet", "{}");
            symlink(t.path(), root.join("app/link")).unwrap();
            let err = scan(&root, "app", &opts(&root, &[]))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("app/main.jsonnet:3: import") && err.contains(path),
                "{err}"
            );
            assert!(err.ends_with("leaves the repository"), "{err}");
            assert!(!err.contains("MOOR-SECRET-MARKER"));
        }
    }

    #[test]
    fn a_nested_import_is_checked_where_jsonnet_resolves_it() {
        // `deep` is a link to a directory two levels down: from `app/deep/x.libsonnet`, Jsonnet
        // resolves `../../../token` lexically (out of the repo), not from the link's target.
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        write(&root, "a/b/c/x.libsonnet", "importstr '../../../token'");
        write(&root, "app/main.jsonnet", "import 'deep/x.libsonnet'");
        symlink(root.join("a/b/c"), root.join("app/deep")).unwrap();
        let err = scan(&root, "app", &opts(&root, &[]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "app/deep/x.libsonnet:1: importstr \"../../../token\" leaves the repository"
        );
    }

    #[test]
    fn libs_code_vars_and_lexing_errors_are_checked() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        write(&root, "app/main.jsonnet", "{}");
        let err = scan(&root, "app", &opts(&root, &["../other"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "jsonnet libs entry \"../other\" leaves the repository"
        );
        let mut o = opts(&root, &[]);
        o.jsonnet.tlas.push(JsonnetVar {
            name: "env".into(),
            value: "import '/etc/passwd'".into(),
            code: true,
        });
        let err = scan(&root, "app", &o).unwrap_err();
        assert_eq!(
            err.to_string(),
            "jsonnet variable env:1: import \"/etc/passwd\" leaves the repository"
        );
        // The same text as a string is only a string.
        o.jsonnet.tlas[0].code = false;
        assert_eq!(scan(&root, "app", &o).unwrap(), Vec::<String>::new());
        write(&root, "app/main.jsonnet", "{}\nimport ('/etc/passwd')");
        let err = scan(&root, "app", &opts(&root, &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to parse app/main.jsonnet:2: import must be followed by a string \
             literal, found something else"
        );
    }

    #[test]
    fn go_join_cleans_like_filepath_join() {
        assert_eq!(
            go_join(Path::new("/r/a/b"), "../c/./d"),
            Path::new("/r/a/c/d")
        );
        assert_eq!(go_join(Path::new("/r"), "../../../x"), Path::new("/x"));
        assert_eq!(go_join(Path::new("/r/a"), ""), Path::new("/r/a"));
    }
}
