//! The arguments of `moor image` and `moor promote`.

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Set image references under a path (kustomize images: entries, image: fields, setter
    /// markers) and push one commit. Comments, key order and quoting stay as they are.
    Set(SetArgs),
}

/// The repository to commit to, and as whom.
#[derive(Args, Clone)]
pub struct CommitArgs {
    /// Git repository (https://, ssh://, git@host:path, file://).
    #[arg(long)]
    pub repo: String,
    /// Branch to commit to (default: the remote's default branch).
    #[arg(long)]
    pub branch: Option<String>,
    /// Commit author and committer name.
    #[arg(long, env = "MOOR_GIT_AUTHOR_NAME", default_value = "moor")]
    pub author_name: String,
    /// Commit author and committer email.
    #[arg(long, env = "MOOR_GIT_AUTHOR_EMAIL", default_value = "moor@localhost")]
    pub author_email: String,
    /// Print the diff; commit and push nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Pushes tried while other writers keep moving the branch.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    #[command(flatten)]
    pub git: super::GitCredentialArgs,
}

#[derive(Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub commit: CommitArgs,
    /// Directory (or file) in the repository to edit, e.g. overlays/staging.
    #[arg(long)]
    pub path: String,
    /// Commit message; {images}, {path} and {branch} are replaced.
    /// [default: "Update images in {path}", a blank line, {images}]
    #[arg(long)]
    pub message: Option<String>,
    /// The latest reference of a policy, for `# {"$imagepolicy": "NS:POLICY"}` setter markers.
    #[arg(long = "policy", value_name = "NS:POLICY=REF")]
    pub policies: Vec<String>,
    /// Images to set, e.g. registry.local/myapp=registry.local/myapp:3f2c1ab (NAME as the
    /// manifests write it; NEWREF with a tag and/or a @sha256: digest).
    #[arg(value_name = "NAME=NEWREF")]
    pub images: Vec<String>,
}

#[derive(Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub commit: CommitArgs,
    /// Path whose image references are copied, e.g. overlays/staging.
    #[arg(long)]
    pub from: String,
    /// Path that gets them, e.g. overlays/production.
    #[arg(long)]
    pub to: String,
    /// Commit message; {images}, {from}, {path} (the --to path) and {branch} are replaced.
    /// [default: "Promote images from {from} to {path}", a blank line, {images}]
    #[arg(long)]
    pub message: Option<String>,
    /// Only these images (default: every image --from sets).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}
