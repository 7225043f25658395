use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong turning a directory into manifests. Messages name the file (and
/// line, when known) or the tool, so they can be shown to users as is.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The app's path names a file or nothing.
    #[error("{} is not a directory", dir.display())]
    NotADirectory {
        /// The path given.
        dir: PathBuf,
    },

    /// A file or directory of the render could not be read.
    #[error("failed to read {path:?}")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A manifest is not valid YAML (or too deep, or too many aliases).
    #[error("failed to parse {file}{}: {cause}", at_line(*line))]
    Parse {
        /// The file (or tool output) the manifest came from.
        file: String,
        /// Where in it, when the parser knows.
        line: Option<usize>,
        /// The parser's message.
        cause: String,
    },

    /// A YAML document that is not an object (a list or a scalar at the top).
    #[error("{file}{}: expected a mapping (a Kubernetes object), found a {found}", at_line(*line))]
    NotAMapping {
        /// The file (or tool output) the document came from.
        file: String,
        /// Where in it, when known.
        line: Option<usize>,
        /// What the document is instead (a list, a string ...).
        found: &'static str,
    },

    /// An include or exclude pattern does not parse.
    #[error("invalid glob {pattern:?}: {cause}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// The glob parser's message.
        cause: String,
    },

    /// kustomize or helm is needed but not installed (or not at the path given).
    #[error("{tool} not found{}: install it or pass {flag}", at_path(path))]
    ToolNotFound {
        /// `kustomize` or `helm`.
        tool: &'static str,
        /// The option that names the binary's path.
        flag: &'static str,
        /// The explicitly configured path, when one was given.
        path: Option<PathBuf>,
    },

    /// kustomize or helm exited with an error.
    #[error("failed to run {command} {}: {stderr}", dir.display())]
    ToolFailed {
        /// E.g. "kustomize build" or "helm template".
        command: String,
        /// The directory it rendered.
        dir: PathBuf,
        /// What the tool printed, its own explanation.
        stderr: String,
    },

    /// kustomize or helm ran past the render timeout and was killed.
    #[error("{tool} timed out after {}s rendering {}", timeout.as_secs_f64(), dir.display())]
    Timeout {
        /// `kustomize` or `helm`.
        tool: &'static str,
        /// The directory it rendered.
        dir: PathBuf,
        /// The limit that was reached.
        timeout: Duration,
    },

    /// A Helm value file named by the app does not exist in the checkout.
    #[error("helm value file {} not found", path.display())]
    ValueFileNotFound {
        /// The file as resolved against the chart directory.
        path: PathBuf,
    },

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
    PathEscapes {
        /// Where the path was written (e.g. a kustomization's `resources`).
        field: String,
        /// The path as written.
        path: String,
    },

    /// A Helm value file is a URL while remote value files are off.
    #[error(
        "helm value file {url} is remote: remote value files are disabled \
         (--allow-remote-value-files allows them)"
    )]
    RemoteValueFile {
        /// The value file's URL.
        url: String,
    },

    /// A kustomization references a remote base or chart while remote bases are off.
    #[error(
        "{file} references the remote {url}: remote kustomize bases and charts are disabled \
         (--allow-remote-bases allows them)"
    )]
    RemoteBase {
        /// The kustomization that holds the reference.
        file: String,
        /// The remote reference as written.
        url: String,
    },

    /// A file or a tool's output is over the byte limit (`RenderOptions::max_bytes`).
    #[error("{what} is larger than the render limit of {limit} bytes")]
    TooLarge {
        /// The file or tool output.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// An override of the app's source (kustomize images, patches ...) cannot be applied.
    #[error("{field}: {cause}")]
    InvalidOverride {
        /// The Application field, e.g. `spec.source.kustomize.images`.
        field: String,
        /// What is wrong with it.
        cause: String,
    },

    /// The render is over the object limit (`RenderOptions::max_objects`).
    #[error("the render has {count} objects, more than the limit of {limit}")]
    TooManyObjects {
        /// Objects rendered when the limit was passed.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

fn at_path(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" at {}", p.display()))
        .unwrap_or_default()
}
