//! Every argument of the `moor` command line; the subcommands with many have a module here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod app;
pub mod image;
pub mod install;
pub mod project;

/// The exit codes of every command (shown by `moor --help` and in moor(1)).
const EXIT_CODES: &str = "\
Exit codes:
  0  success; `diff` and `app diff`: no differences; `app wait`: the state was reached
  1  `diff`, `app diff`: the cluster differs from Git; `app wait`: timed out
  2  error: invalid arguments, cluster, Git or render failure, a refused or failed sync, an
     operation that failed or timed out (`app sync --wait`, `app rollback --wait`,
     `app delete --wait`), a sync that failed during `app wait`

Environment: KUBECONFIG, MOOR_LOG (log filter), NO_COLOR (no colour with --color auto).";

#[derive(Parser)]
#[command(
    name = "moor",
    version,
    about = "GitOps engine: render, diff and sync Git into Kubernetes",
    after_help = EXIT_CODES
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
    App(app::AppArgs),
    /// Manage AppProjects: which repositories, destinations and kinds an Application may use.
    Project(project::ProjectArgs),
    /// Run the Application controller (out of cluster with a kubeconfig, or in cluster).
    Controller(ControllerArgs),
    /// Serve the web UI on 127.0.0.1 with your kubeconfig's identity (prints its address).
    Ui(UiArgs),
    /// Write new image references into the manifests in Git (the CI deploy step).
    Image(image::ImageArgs),
    /// Copy the image references of one path to another (e.g. staging to production), in one commit.
    Promote(image::PromoteArgs),
    /// Install the controller, its CRDs and RBAC (deploy/) into the cluster, or upgrade them.
    Install(install::InstallArgs),
    /// Remove what `moor install` installed (the CRDs, and so every Application, only with --crds).
    Uninstall(install::UninstallArgs),
    /// Print the client's version and the installed controller's.
    Version(install::VersionArgs),
    /// Print a shell completion script: `source <(moor completion bash)`.
    Completion(CompletionArgs),
    /// Write the man pages (moor.1, moor-app.1, ...) into a directory.
    #[command(hide = true)]
    Man(ManArgs),
}

/// What `--shards auto` splits apps by.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ShardByArg {
    /// Each Application on its own.
    App,
    /// All apps of one destination cluster on one replica.
    Cluster,
}

#[derive(Args)]
pub struct UiArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Path to the kubeconfig file (default: KUBECONFIG, ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// Show only the Applications of this namespace (for a user who may not list them in all
    /// namespaces); default: every namespace.
    #[arg(long, short)]
    pub namespace: Option<String>,
}

#[derive(Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Where to write them (created when missing).
    pub dir: PathBuf,
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
    pub jsonnet: JsonnetArgs,
    /// Accept a path that renders no objects (with --prune, a sync then deletes everything the
    /// app owns). Without it, an empty render is an error listing the files found.
    #[arg(long)]
    pub allow_empty: bool,
    #[command(flatten)]
    pub git: GitCredentialArgs,
    #[command(flatten)]
    pub render_limits: RenderLimitArgs,
}

/// Argo CD's `directory.jsonnet` for the `.jsonnet` files of a plain directory, with the names
/// of Argo CD's CLI flags; each repeatable.
#[derive(Args, Clone, Debug, Default)]
pub struct JsonnetArgs {
    /// A Jsonnet external variable as a string, NAME=VALUE.
    #[arg(long = "jsonnet-ext-var-str", value_name = "NAME=VALUE", value_parser = name_value)]
    pub ext_var_str: Vec<(String, String)>,
    /// A Jsonnet external variable as Jsonnet code, NAME=CODE.
    #[arg(long = "jsonnet-ext-var-code", value_name = "NAME=CODE", value_parser = name_value)]
    pub ext_var_code: Vec<(String, String)>,
    /// A Jsonnet top-level argument as a string, NAME=VALUE.
    #[arg(long = "jsonnet-tla-str", value_name = "NAME=VALUE", value_parser = name_value)]
    pub tla_str: Vec<(String, String)>,
    /// A Jsonnet top-level argument as Jsonnet code, NAME=CODE.
    #[arg(long = "jsonnet-tla-code", value_name = "NAME=CODE", value_parser = name_value)]
    pub tla_code: Vec<(String, String)>,
    /// A Jsonnet library directory, relative to the repository root.
    #[arg(long = "jsonnet-libs", value_name = "DIR")]
    pub libs: Vec<String>,
    /// The jsonnet binary (go-jsonnet); `jsonnet` on PATH by default.
    #[arg(long, env = "MOOR_JSONNET_BIN")]
    pub jsonnet_bin: Option<PathBuf>,
}

impl JsonnetArgs {
    /// The flags as render options.
    pub fn options(&self) -> moor_render::JsonnetOptions {
        fn vars(
            pairs: &[(String, String)],
            code: bool,
        ) -> impl Iterator<Item = moor_render::JsonnetVar> + '_ {
            pairs
                .iter()
                .map(move |(name, value)| moor_render::JsonnetVar {
                    name: name.clone(),
                    value: value.clone(),
                    code,
                })
        }
        moor_render::JsonnetOptions {
            ext_vars: (vars(&self.ext_var_str, false))
                .chain(vars(&self.ext_var_code, true))
                .collect(),
            tlas: (vars(&self.tla_str, false))
                .chain(vars(&self.tla_code, true))
                .collect(),
            libs: self.libs.clone(),
        }
    }
}

/// `NAME=VALUE`, split at the first `=`; the name may not be empty.
fn name_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// What a repository may make a render do; the same flags for the CLI and the controller.
#[derive(Args, Clone, Debug)]
pub struct RenderLimitArgs {
    /// Let Helm fetch http(s):// value files named by the source (off: a repository or an
    /// Application could make moor fetch any URL).
    #[arg(long)]
    pub allow_remote_value_files: bool,
    /// Let kustomize fetch remote bases and charts (https://, git::, github.com/...); off by
    /// default, as Flux's --no-remote-bases.
    #[arg(long)]
    pub allow_remote_bases: bool,
    /// A renderer (kustomize, helm) running longer is killed.
    #[arg(long, default_value = "90s", value_parser = humantime::parse_duration)]
    pub render_timeout: Duration,
    /// Largest render: manifest files read or renderer output (e.g. 64MiB).
    #[arg(long, default_value = "64MiB", value_parser = moor_server::parse_byte_size)]
    pub max_render_bytes: usize,
    /// Most objects one source may render.
    #[arg(long, default_value_t = moor_render::DEFAULT_MAX_OBJECTS)]
    pub max_render_objects: usize,
}

impl Default for RenderLimitArgs {
    fn default() -> Self {
        RenderLimitArgs {
            allow_remote_value_files: false,
            allow_remote_bases: false,
            render_timeout: moor_render::DEFAULT_TIMEOUT,
            max_render_bytes: moor_render::DEFAULT_MAX_BYTES as usize,
            max_render_objects: moor_render::DEFAULT_MAX_OBJECTS,
        }
    }
}

#[derive(Args, Clone)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// The app that owns the synced objects (lowercase letters, digits, '-' and '.').
    #[arg(long, value_parser = cli_app_name)]
    pub app: String,
    /// Namespace for namespaced objects that have none (default: the context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
}

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Substitute `${NAME}` in the rendered objects, as an Application's
    /// `spec.postBuild.substitute` does (Flux's syntax); repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = name_value)]
    pub substitute: Vec<(String, String)>,
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
    /// Show the diff as `moor sync --create-namespace` would make it: a missing destination
    /// namespace as new, instead of an error.
    #[arg(long)]
    pub create_namespace: bool,
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
    /// Create the destination namespace (--namespace) if it does not exist. It is not owned by
    /// the app, so never pruned. Without it, a missing namespace is an error before any write.
    #[arg(long)]
    pub create_namespace: bool,
    /// Wait until every object is healthy.
    #[arg(long)]
    pub wait: bool,
    /// Bound on every wait, e.g. 90s or 5m.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// An Argo CD sync option for every object (repeatable): Replace=true or Force=true deletes
    /// and recreates an object whose change the API server refuses as immutable; Prune=false,
    /// PruneLast=true, PrunePropagationPolicy=orphan, Validate=false,
    /// SkipDryRunOnMissingResource=true as in an Application's syncOptions. An object's
    /// `argocd.argoproj.io/sync-options` or `moor.dev/sync-options` annotation overrides it.
    #[arg(long = "sync-option", value_name = "KEY=VALUE")]
    pub sync_options: Vec<String>,
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
    /// No app is polled more often than this; a shorter --poll-interval is refused and a
    /// shorter spec.pollInterval is raised to it (with a condition).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub min_poll_interval: Duration,
    /// Address for webhooks, /healthz and /readyz (and /metrics unless --metrics-addr is given),
    /// e.g. 0.0.0.0:8080.
    #[arg(long)]
    pub webhook_addr: Option<std::net::SocketAddr>,
    /// Address for /metrics, /healthz and /readyz only, e.g. 0.0.0.0:9090; the webhook address
    /// then serves no metrics.
    #[arg(long)]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Address for the web UI and its JSON API, e.g. 0.0.0.0:8443: callers authenticate with
    /// bearer tokens and Kubernetes RBAC decides what they see and do (docs/ui-api.md).
    #[arg(long)]
    pub ui_addr: Option<std::net::SocketAddr>,
    /// Largest webhook body read (e.g. 1MiB); larger ones get 413 before any signature check.
    #[arg(long, default_value = "1MiB", value_parser = moor_server::parse_byte_size)]
    pub webhook_max_body: usize,
    /// Webhook requests handled at once; more get 503 at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub webhook_max_in_flight: u16,
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
    /// How often unused checkouts and repositories are removed from the cache.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub cache_gc_interval: Duration,
    /// Checkouts and repositories used within this time are never removed (a render may be
    /// reading them); besides those, the apps' current commits and the 5 most recently used
    /// checkouts per repository are kept.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub cache_gc_min_idle: Duration,
    /// Refuse to take objects that already exist without any app's tracking id into an app
    /// (by default they are adopted, and reported as such).
    #[arg(long)]
    pub no_adopt: bool,
    /// A command that kubeconfigs of cluster Secrets may run as an exec credential plugin or
    /// auth-provider cmd-path, exactly as written there (repeatable; none by default).
    #[arg(long)]
    pub allow_exec_command: Vec<String>,
    /// Create no `default` AppProject: an app syncs only in a project an administrator made.
    #[arg(long)]
    pub strict_projects: bool,
    /// Sync an app only as a service account (its project's destinationServiceAccounts, or its
    /// spec.serviceAccountName), so the API server's RBAC bounds every write.
    #[arg(long)]
    pub require_impersonation: bool,
    #[command(flatten)]
    pub render_limits: RenderLimitArgs,
    /// Bound of the render cache in memory (estimated), e.g. 256MiB.
    #[arg(long, default_value = "256MiB", value_parser = moor_server::parse_byte_size)]
    pub render_cache_bytes: usize,
    /// Reconcile only while holding a Lease in --namespace, so several replicas can run: the
    /// others serve probes, metrics and webhooks (pushes are passed on to the leader).
    #[arg(long, conflicts_with = "shards")]
    pub leader_elect: bool,
    /// `auto`: replicas split the apps between them through per-replica Leases in --namespace
    /// (the --leader-election-* timings), each reconciling its own share; a replica that joins
    /// or dies moves only its share, handed over once the previous owner stopped.
    #[arg(long, value_parser = ["auto"])]
    pub shards: Option<String>,
    /// With --shards: split by app (namespace/name), or by destination cluster (every app of a
    /// cluster on one replica).
    #[arg(long, value_enum, default_value = "app", requires = "shards")]
    pub shard_by: ShardByArg,
    /// Name of the leader election Lease.
    #[arg(long, default_value = moor_controller::DEFAULT_LEASE_NAME)]
    pub leader_election_id: String,
    /// How long followers wait after the leader's last renewal before taking over. 10s (client-go:
    /// 15s) so a dead leader is replaced within 15 s: a follower needs the lease duration plus a
    /// retry period (BENCHMARKS.md, failover).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub leader_election_lease_duration: Duration,
    /// How long the leader retries renewing before it gives up (and exits, to be restarted).
    #[arg(long, default_value = "7s", value_parser = humantime::parse_duration)]
    pub leader_election_renew_deadline: Duration,
    /// How often candidates try to take the Lease and the leader renews it.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub leader_election_retry_period: Duration,
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

/// `--app`: a DNS-style name, so it can never be taken for the id of an Application managed by
/// the controller (`namespace_name`, which always holds a `_`) and claim its objects.
fn cli_app_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a valid app name: use lowercase letters, digits, '-' and '.', starting \
             and ending with a letter or digit ('_' is kept for Applications of the controller)"
        ))
    }
}
