use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong turning a directory into manifests. Messages name the file (and
/// line, when known) or the tool, so they can be shown to users as is.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{} is not a directory", dir.display())]
    NotADirectory { dir: PathBuf },

    #[error("failed to read {path:?}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("failed to parse {file}{}: {cause}", at_line(*line))]
    Parse {
        file: String,
        line: Option<usize>,
        cause: String,
    },

    #[error("{file}{}: expected a mapping (a Kubernetes object), found a {found}", at_line(*line))]
    NotAMapping {
        file: String,
        line: Option<usize>,
        found: &'static str,
    },

    #[error("invalid glob {pattern:?}: {cause}")]
    Glob { pattern: String, cause: String },

    #[error("{tool} not found{}: install it or pass {flag}", at_path(path))]
    ToolNotFound {
        tool: &'static str,
        flag: &'static str,
        /// The explicitly configured path, when one was given.
        path: Option<PathBuf>,
    },

    #[error("failed to run {command} {}: {stderr}", dir.display())]
    ToolFailed {
        /// E.g. "kustomize build" or "helm template".
        command: String,
        dir: PathBuf,
        stderr: String,
    },

    #[error("{tool} timed out after {}s rendering {}", timeout.as_secs_f64(), dir.display())]
    Timeout {
        tool: &'static str,
        dir: PathBuf,
        timeout: Duration,
    },

    #[error("helm value file {} not found", path.display())]
    ValueFileNotFound { path: PathBuf },

    /// A symlink in the tree a render reads leads out of the checkout. Only the link's own text
    /// is shown: what it points at is never read.
    #[error("symbolic link {link} points outside the repository (to {target}); refusing to render")]
    SymlinkEscapes {
        /// The link, relative to the checkout root.
        link: String,
        /// The link's target as written in the link.
        target: String,
    },

    /// A path an Application or a kustomization names leaves the checkout.
    #[error("{field} {path:?} leaves the repository")]
    PathEscapes { field: String, path: String },

    #[error(
        "helm value file {url} is remote: remote value files are disabled \
         (--allow-remote-value-files allows them)"
    )]
    RemoteValueFile { url: String },

    #[error(
        "{file} references the remote {url}: remote kustomize bases and charts are disabled \
         (--allow-remote-bases allows them)"
    )]
    RemoteBase { file: String, url: String },

    #[error("{what} is larger than the render limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },

    #[error("the render has {count} objects, more than the limit of {limit}")]
    TooManyObjects { count: usize, limit: usize },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

fn at_path(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" at {}", p.display()))
        .unwrap_or_default()
}
