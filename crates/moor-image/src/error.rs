use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong; messages name the bad reference, file or path, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("invalid image update {arg:?}: {reason}")]
    InvalidUpdate { arg: String, reason: String },
    #[error("path {path:?} does not exist in the repository")]
    PathNotFound { path: String },
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("kustomization {} does not parse: {cause}", .file.display())]
    KustomizationParse { file: PathBuf, cause: String },
    #[error("cannot edit {} in place: {reason}", .file.display())]
    Unsupported { file: PathBuf, reason: String },
    #[error("{} {} not used under {path:?}: no kustomize images: entry, image: field or setter marker{}",
        .names.join(", "),
        if .names.len() == 1 { "is" } else { "are" },
        if *.root_kustomization { "" } else { ", and no kustomization there to add an entry to" })]
    NotUsed {
        names: Vec<String>,
        path: String,
        root_kustomization: bool,
    },
    #[error("{path:?} has no image references to copy{}", names_note(.names))]
    NothingToCopy { path: String, names: Vec<String> },
    #[error("{path:?} uses {name} with different references ({}); cannot choose one",
        .refs.join(", "))]
    Ambiguous {
        path: String,
        name: String,
        refs: Vec<String>,
    },
    #[error("failed to {action} {:?}", .path)]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("git is not installed (no `git` on PATH); moor needs it to push changes")]
    GitNotInstalled,
    #[error("failed to {action} {url}: {cause}")]
    Git {
        action: &'static str,
        url: String,
        cause: String,
    },
    #[error("{action} {url} timed out after {}s", .timeout.as_secs())]
    Timeout {
        action: &'static str,
        url: String,
        timeout: Duration,
    },
    #[error(
        "push to branch {branch} of {url} was still rejected after {attempts} attempts: {cause}"
    )]
    PushRejected {
        url: String,
        branch: String,
        attempts: u32,
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
