use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "moor",
    version,
    about = "GitOps engine: render, diff and sync Git into Kubernetes"
)]
pub struct Cli {
    /// More log output (-v info, -vv debug); MOOR_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log format: text or json.
    #[arg(long, default_value = "text", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Print the rendered objects as one YAML stream, in apply order.
    Render(RenderArgs),
    /// Show how the cluster differs from Git. Exit 0: in sync; 1: differences; >1: error.
    Diff(DiffArgs),
    /// Make the cluster match Git: validate, dry-run, apply what drifted, prune, wait.
    Sync(SyncArgs),
    /// Manage Applications, the objects the controller syncs from Git.
    App(crate::commands::app::AppArgs),
    /// Run the Application controller (out of cluster with a kubeconfig, or in cluster).
    Controller(ControllerArgs),
    /// Write new image references into the manifests in Git (the CI deploy step).
    Image(crate::commands::image::ImageArgs),
    /// Copy the image references of one path to another (e.g. staging to production), in one commit.
    Promote(crate::commands::image::PromoteArgs),
}

#[derive(Args, Clone)]
pub struct SourceArgs {
    /// Git repository (https://, ssh://, git@host:path, file://) or a local directory.
    #[arg(long)]
    pub repo: String,
    /// Branch, tag or commit (default: the remote's HEAD).
    #[arg(long)]
    pub revision: Option<String>,
    /// Directory inside the repository.
    #[arg(long, default_value = ".")]
    pub path: String,
    /// Read plain directories recursively.
    #[arg(long)]
    pub recurse: bool,
    /// Only files matching these globs (plain directories).
    #[arg(long)]
    pub include: Vec<String>,
    /// Skip files matching these globs (plain directories).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Helm release name (default: the chart directory's name).
    #[arg(long)]
    pub helm_release_name: Option<String>,
    /// Helm values files, relative to the chart.
    #[arg(long = "helm-values-file")]
    pub helm_value_files: Vec<String>,
    /// Inline Helm values (YAML).
    #[arg(long)]
    pub helm_values: Option<String>,
    #[arg(long, env = "MOOR_KUSTOMIZE_BIN")]
    pub kustomize_bin: Option<PathBuf>,
    #[arg(long, env = "MOOR_HELM_BIN")]
    pub helm_bin: Option<PathBuf>,
    #[command(flatten)]
    pub git: GitCredentialArgs,
}

#[derive(Args, Clone)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// The app that owns the synced objects.
    #[arg(long)]
    pub app: String,
    /// Namespace for namespaced objects that have none (default: the context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
}

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Colour the diff: auto (when stdout is a terminal), always or never.
    #[arg(long, default_value = "auto")]
    pub color: Color,
}

#[derive(Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Delete objects this app applied before that are no longer in Git.
    #[arg(long)]
    pub prune: bool,
    /// Validate and dry-run everything, report what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait until every object is healthy.
    #[arg(long)]
    pub wait: bool,
    /// Bound on every wait, e.g. 90s or 5m.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    #[arg(short, long, default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct ControllerArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of cluster and repository Secrets.
    #[arg(long, default_value = "moor-system", env = "MOOR_NAMESPACE")]
    pub namespace: String,
    /// Only reconcile Applications in this namespace (default: all namespaces).
    #[arg(long)]
    pub app_namespace: Option<String>,
    /// How often each app is compared with Git without any other trigger (per-app: spec.pollInterval).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
    /// Address for webhooks, /metrics, /healthz and /readyz, e.g. 0.0.0.0:8080.
    #[arg(long)]
    pub webhook_addr: Option<std::net::SocketAddr>,
    /// Secret of GitHub webhooks (X-Hub-Signature-256).
    #[arg(long, env = "MOOR_GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub github_secret: Option<String>,
    /// Token of GitLab webhooks (X-Gitlab-Token).
    #[arg(long, env = "MOOR_GITLAB_WEBHOOK_TOKEN", hide_env_values = true)]
    pub gitlab_token: Option<String>,
    /// Bearer token of generic webhooks.
    #[arg(long, env = "MOOR_WEBHOOK_TOKEN", hide_env_values = true)]
    pub webhook_token: Option<String>,
    /// Also reconcile argoproj.io/v1alpha1 Applications.
    #[arg(long)]
    pub argocd_compat: bool,
    /// Apps reconciled at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u16,
    /// Cache of repositories and checkouts (default: $MOOR_CACHE or ~/.cache/moor).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// Git credentials by flag; each one given overrides the environment's (MOOR_GIT_*).
#[derive(Args, Clone, Default)]
pub struct GitCredentialArgs {
    /// Git username for https (or MOOR_GIT_USERNAME).
    #[arg(long, env = "MOOR_GIT_USERNAME")]
    pub git_username: Option<String>,
    /// Git password or token for https; prefer the env var MOOR_GIT_PASSWORD.
    #[arg(long, env = "MOOR_GIT_PASSWORD", hide_env_values = true)]
    pub git_password: Option<String>,
    /// SSH private key for ssh:// and git@ URLs (or MOOR_GIT_SSH_KEY).
    #[arg(long, env = "MOOR_GIT_SSH_KEY")]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file for SSH (or MOOR_GIT_KNOWN_HOSTS).
    #[arg(long, env = "MOOR_GIT_KNOWN_HOSTS")]
    pub known_hosts: Option<PathBuf>,
}

impl GitCredentialArgs {
    pub fn credentials(&self) -> moor_git::Credentials {
        let mut c = moor_git::Credentials::from_env();
        if self.git_username.is_some() {
            c.username = self.git_username.clone();
        }
        if self.git_password.is_some() {
            c.password = self.git_password.clone();
        }
        if self.ssh_key.is_some() {
            c.ssh_key = self.ssh_key.clone();
        }
        if self.known_hosts.is_some() {
            c.known_hosts = self.known_hosts.clone();
        }
        c
    }
}
