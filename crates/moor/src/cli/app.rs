//! The arguments of `moor app`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use moor_controller::crd::{ARGO_GROUP, MOOR_GROUP};

use super::Color;

#[derive(Args)]
pub struct AppArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Namespace of the Application (default: the context's namespace).
    #[arg(short, long, global = true)]
    pub namespace: Option<String>,
    /// API group of the Application resource (argoproj.io when the controller runs with
    /// --argocd-compat).
    #[arg(long, global = true, hide = true, default_value = MOOR_GROUP,
        value_parser = clap::builder::PossibleValuesParser::new([MOOR_GROUP, ARGO_GROUP]))]
    pub group: String,
    #[command(subcommand)]
    pub command: AppCommand,
}

#[derive(Subcommand)]
pub enum AppCommand {
    /// Create an Application (or update it with --upsert).
    Create(CreateArgs),
    /// List the Applications of the namespace.
    List(ListArgs),
    /// Show an Application: source, destination, sync, health and its objects.
    Get(GetArgs),
    /// Ask the controller to fetch the source afresh and compare now; then show the Application.
    Refresh(RefreshArgs),
    /// Ask the controller to sync an Application now.
    Sync(AppSyncArgs),
    /// Show how the cluster differs from the Application's source (rendered locally).
    /// Exit 0: in sync; 1: differences; >1: error.
    Diff(AppDiffArgs),
    /// List the revisions an Application was synced to.
    History(HistoryArgs),
    /// Sync an Application back to a revision of its history (turns auto-sync off).
    Rollback(RollbackArgs),
    /// Delete an Application and, unless --cascade=false, the objects it manages.
    Delete(DeleteArgs),
    /// Stop reconciling an Application (spec.suspend): no fetch, sync or self-heal.
    Suspend(SuspendArgs),
    /// Reconcile a suspended Application again, at once.
    Resume(SuspendArgs),
    /// Wait until an Application is Synced and Healthy (both unless --sync or --health).
    /// Exit 0: reached; 1: timed out; 2: a sync failed while waiting for --sync.
    Wait(AppWaitArgs),
}

#[derive(Args)]
pub struct SuspendArgs {
    pub name: String,
}

#[derive(Args)]
pub struct AppWaitArgs {
    pub name: String,
    /// Wait until the app is Synced.
    #[arg(long)]
    pub sync: bool,
    /// Wait until the app is Healthy.
    #[arg(long)]
    pub health: bool,
    /// And until it was compared at a commit starting with this (a full or short SHA).
    #[arg(long)]
    pub revision: Option<String>,
    /// How long to wait, e.g. 90s or 5m.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Args)]
pub struct CreateArgs {
    pub name: String,
    /// Git repository URL; with --chart a Helm repository (https://) or OCI registry
    /// (oci://host/path).
    #[arg(long, required_unless_present_any = ["sources", "file"], conflicts_with_all = ["sources", "file"])]
    pub repo: Option<String>,
    /// Branch, tag or commit (default: the remote's HEAD); with --chart the chart version or a
    /// semver constraint (e.g. ^1.2).
    #[arg(long, requires = "repo")]
    pub revision: Option<String>,
    /// Directory inside the repository.
    #[arg(long, requires = "repo", conflicts_with = "chart")]
    pub path: Option<String>,
    /// A chart of the Helm repository or OCI registry --repo (instead of a Git path).
    #[arg(long, requires = "repo")]
    pub chart: Option<String>,
    /// One of several sources (Argo CD's spec.sources), repeatable:
    /// repo=URL,path=P,revision=R,chart=C,ref=NAME,name=N,values=FILE (values repeatable; a
    /// value file $NAME/path is read from the source with ref=NAME), e.g.
    /// `--source repo=URL,path=chart,values=$values/prod.yaml --source repo=URL2,ref=values`.
    #[arg(long = "source", value_name = "KEY=VALUE,...", conflicts_with = "file")]
    pub sources: Vec<String>,
    /// A YAML file of sources (Argo CD's spec.sources): a list, or a mapping with sources or
    /// spec.sources (an Application manifest).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// API server URL of the destination cluster [default: https://kubernetes.default.svc].
    #[arg(long, conflicts_with = "dest_name")]
    pub dest_server: Option<String>,
    /// Name of the destination cluster (instead of --dest-server).
    #[arg(long)]
    pub dest_name: Option<String>,
    /// Namespace for the app's namespaced objects that have none.
    #[arg(long)]
    pub dest_namespace: Option<String>,
    /// The AppProject whose rules the app is admitted by (see `moor project`) [default:
    /// default].
    #[arg(long)]
    pub project: Option<String>,
    /// Sync automatically whenever Git or the cluster changes.
    #[arg(long)]
    pub auto_sync: bool,
    /// With --auto-sync: delete objects that left Git.
    #[arg(long, requires = "auto_sync")]
    pub prune: bool,
    /// With --auto-sync: revert changes made in the cluster.
    #[arg(long, requires = "auto_sync")]
    pub self_heal: bool,
    /// With --auto-sync: allow a sync that leaves the app with no objects (off by default).
    #[arg(long, requires = "auto_sync")]
    pub allow_empty: bool,
    /// A sync option, e.g. CreateNamespace=true (repeatable).
    #[arg(long = "sync-option")]
    pub sync_options: Vec<String>,
    /// An Application (NAME or NAMESPACE/NAME) that must be synced and healthy first (repeatable).
    #[arg(long = "depends-on")]
    pub depends_on: Vec<String>,
    /// Update the Application if it exists (server-side apply), instead of failing.
    #[arg(long)]
    pub upsert: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(short, long, default_value = "table")]
    pub output: Output,
}

#[derive(Args)]
pub struct GetArgs {
    pub name: String,
    #[arg(short, long, default_value = "table")]
    pub output: Output,
    /// Ask the controller to fetch the source afresh and compare first (as `moor app refresh`).
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Args)]
pub struct WaitArgs {
    /// Wait until the controller has run the operation; exit 2 if it fails.
    #[arg(long)]
    pub wait: bool,
    /// Bound on --wait, e.g. 90s or 5m.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Args)]
pub struct AppSyncArgs {
    pub name: String,
    /// Commit, branch or tag to sync (default: the app's target revision).
    #[arg(long)]
    pub revision: Option<String>,
    /// Delete objects this app applied before that are no longer in Git.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args)]
pub struct AppDiffArgs {
    pub name: String,
    /// Kubeconfig of the destination cluster, when it is not the cluster the app lives in.
    #[arg(long)]
    pub dest_kubeconfig: Option<PathBuf>,
    /// Context in --dest-kubeconfig.
    #[arg(long, requires = "dest_kubeconfig")]
    pub dest_context: Option<String>,
    /// Colour the diff: auto (when stdout is a terminal), always or never.
    #[arg(long, default_value = "auto")]
    pub color: Color,
    #[arg(long, env = "MOOR_KUSTOMIZE_BIN")]
    pub kustomize_bin: Option<PathBuf>,
    #[arg(long, env = "MOOR_HELM_BIN")]
    pub helm_bin: Option<PathBuf>,
}

#[derive(Args)]
pub struct HistoryArgs {
    pub name: String,
    /// wide adds the source of each revision; json and yaml print the history entries.
    #[arg(short, long, default_value = "table")]
    pub output: Output,
}

#[derive(Args)]
pub struct RollbackArgs {
    pub name: String,
    /// The history ID to go back to (see `moor app history`).
    pub id: i64,
    /// Delete objects that are not in that revision.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args)]
pub struct DeleteArgs {
    pub name: String,
    /// Delete the app's objects too (true), or leave them in the cluster (false).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true")]
    pub cascade: bool,
    /// Wait until the Application is gone (after its objects, with --cascade).
    #[arg(long)]
    pub wait: bool,
    /// Bound on --wait, e.g. 90s or 5m.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    /// Columns for a terminal.
    Table,
    /// The table with more columns (sources, destinations in full).
    Wide,
    /// The objects as JSON.
    Json,
    /// The objects as YAML.
    Yaml,
}

impl Output {
    /// JSON or YAML: the objects themselves rather than a table.
    pub fn structured(self) -> bool {
        matches!(self, Output::Json | Output::Yaml)
    }
}

#[derive(Args)]
pub struct RefreshArgs {
    pub name: String,
    /// How long to wait for the controller to refresh, e.g. 30s or 2m.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[arg(short, long, default_value = "table")]
    pub output: Output,
}
