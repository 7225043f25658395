use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong; messages name the bad reference, file or path, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An image reference that does not parse.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as written.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `NAME=NEWREF` argument that does not parse.
    #[error("invalid image update {arg:?}: {reason}")]
    InvalidUpdate {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The path to edit is not in the checkout.
    #[error("path {path:?} does not exist in the repository")]
    PathNotFound {
        /// The path as given.
        path: String,
    },
    /// An absolute path, or one that leaves the repository.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A kustomization that is not valid YAML: its `images:` cannot be found.
    #[error("kustomization {} does not parse: {cause}", .file.display())]
    KustomizationParse {
        /// The kustomization file.
        file: PathBuf,
        /// The parser's message.
        cause: String,
    },
    /// A file whose layout a text edit cannot change safely (e.g. flow-style `images:`).
    #[error("cannot edit {} in place: {reason}", .file.display())]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// What in it cannot be edited.
        reason: String,
    },
    /// Images asked for appear nowhere under the path, so the edit would silently do nothing.
    #[error("{} {} not used under {path:?}: no kustomize images: entry, image: field or setter marker{}",
        .names.join(", "),
        if .names.len() == 1 { "is" } else { "are" },
        if *.root_kustomization { "" } else { ", and no kustomization there to add an entry to" })]
    NotUsed {
        /// The image names and policies not found.
        names: Vec<String>,
        /// The path searched.
        path: String,
        /// Whether a kustomization at the path could have taken a new `images:` entry.
        root_kustomization: bool,
    },
    /// A promotion's source path holds none of the image references to copy.
    #[error("{path:?} has no image references to copy{}", names_note(.names))]
    NothingToCopy {
        /// The source path.
        path: String,
        /// The names asked for and missing (empty: none asked, none found).
        names: Vec<String>,
    },
    /// A promotion's source path uses one image with several references.
    #[error("{path:?} uses {name} with different references ({}); cannot choose one",
        .refs.join(", "))]
    Ambiguous {
        /// The source path.
        path: String,
        /// The image name.
        name: String,
        /// The references it is given there.
        refs: Vec<String>,
    },
    /// A file system step failed.
    #[error("failed to {action} {:?}", .path)]
    Io {
        /// The step that failed.
        action: &'static str,
        /// The file or directory it was about.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No `git` binary: commits and pushes shell out to git.
    #[error("git is not installed (no `git` on PATH); moor needs it to push changes")]
    GitNotInstalled,
    /// A git command failed.
    #[error("failed to {action} {url}: {cause}")]
    Git {
        /// The git step that failed.
        action: &'static str,
        /// The repository, redacted.
        url: String,
        /// What git printed, redacted.
        cause: String,
    },
    /// A git command ran past its timeout and was killed.
    #[error("{action} {url} timed out after {}s", .timeout.as_secs())]
    Timeout {
        /// The git step that timed out.
        action: &'static str,
        /// The repository, redacted.
        url: String,
        /// The limit that was reached.
        timeout: Duration,
    },
    /// The branch kept moving: every re-applied edit lost the race to another push.
    #[error(
        "push to branch {branch} of {url} was still rejected after {attempts} attempts: {cause}"
    )]
    PushRejected {
        /// The repository, redacted.
        url: String,
        /// The branch pushed to.
        branch: String,
        /// Pushes tried.
        attempts: u32,
        /// What git printed for the last rejection, redacted.
        cause: String,
    },
}

impl ImageError {
    /// Bad input from the caller (a reference, a path, a manifest), as opposed to a git or I/O
    /// failure.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            ImageError::Io { .. }
                | ImageError::GitNotInstalled
                | ImageError::Git { .. }
                | ImageError::Timeout { .. }
                | ImageError::PushRejected { .. }
        )
    }
}

fn names_note(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" for {}", names.join(", "))
    }
}

pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> ImageError {
    let path = path.into();
    move |source| ImageError::Io {
        action,
        path,
        source,
    }
}
