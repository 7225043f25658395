//! The CI "update manifests" step: image references, text-preserving edits of manifests, and a
//! commit pushed with retries.
//!
//! - [`ImageRef`] parses `registry.local:5000/team/app:tag@sha256:...` as written: no
//!   `docker.io` defaults, so names compare as the manifests spell them.
//! - The edits change the text of a file, never re-serialise it: comments, key order, quoting
//!   and blank lines stay as they were. [`set_kustomize_images`] updates (or adds) a
//!   kustomization's `images:` entry, [`set_image_fields`] replaces `image:` fields,
//!   [`set_policy_markers`] follows Flux-style `# {"$imagepolicy": "ns:policy"}` markers.
//!   [`edit_text`] picks the right ones for a file; [`plan_dir`] runs them over a directory
//!   without writing, and [`write_edits`] writes the result.
//! - [`commit_and_push`] clones, applies an edit, commits with a configurable author and a
//!   message from a template, and pushes; when the branch moved meanwhile it fetches, re-applies
//!   the edit on the new head and tries again. Credentials never appear in messages.

#![warn(missing_docs)]

mod error;
mod fields;
mod kustomize;
mod message;
mod push;
mod reference;
mod setters;
mod text;
mod walk;

pub use error::ImageError;
pub use fields::{image_fields, set_image_fields};
pub use kustomize::{KustomizeImage, is_kustomization, kustomization_images, set_kustomize_images};
pub use message::{DEFAULT_PROMOTE_MESSAGE, DEFAULT_SET_MESSAGE, image_lines, render_message};
pub use push::{Author, PushOptions, PushOutcome, commit_and_push};
pub use reference::{ImageRef, ImageUpdate};
pub use setters::{PolicyField, set_policy_markers};
pub use walk::{
    EditPlan, Edits, FileEdit, TextEdit, collect_images, edit_text, plan_dir, resolve_path,
    unified_diff, write_edits,
};

use std::path::PathBuf;

/// One edited image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageChange {
    /// The file, relative to the directory the edit ran on (the repository root).
    pub file: PathBuf,
    /// 1-based line of the change in the new text (of the entry's `name:` for kustomizations).
    pub line: usize,
    /// The image name (NAME), or the setter marker's policy (`ns:policy[:tag|:name|:digest]`).
    pub image: String,
    /// The reference (or setter value) before; `None` when an `images:` entry was added.
    pub old: Option<String>,
    /// The reference (or setter value) after.
    pub new: String,
}
