//! The arguments of `moor install`, `moor uninstall` and `moor version`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::OutputFormat;

/// Where moor is (or goes): the cluster and the controller's namespace.
#[derive(Args, Clone)]
pub struct InstallTarget {
    /// Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// The controller's namespace. Another than moor-system also names the cluster-wide RBAC
    /// objects after it (moor-controller-NS), so two installs never share them.
    #[arg(short, long, default_value = moor_types::SYSTEM_NAMESPACE)]
    pub namespace: String,
}

#[derive(Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub target: InstallTarget,
    /// Server-side dry run: print what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The moor version to run: the image ghcr.io/moor-dev/moor:VERSION (default: this
    /// client's version).
    #[arg(long, conflicts_with = "image")]
    pub version: Option<String>,
    /// The controller image, e.g. registry.local/moor:1.2.0 (instead of --version).
    #[arg(long)]
    pub image: Option<String>,
    /// full: the controller may write any kind (deploy/rbac); impersonation: every app write is
    /// made as a service account its project names (deploy/impersonation).
    #[arg(long, default_value = "full")]
    pub rbac: RbacMode,
    /// Controller replicas (one leads, the others stand by; default: deploy/'s 2).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub replicas: Option<u32>,
    /// Leave the CustomResourceDefinitions out (someone else manages them, e.g. Argo CD's).
    #[arg(long)]
    pub skip_crds: bool,
    /// Wait until the controller Deployment is Available (--wait=false: return after applying).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
    /// Bound on the wait, e.g. 90s or 5m.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[arg(short, long, default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum RbacMode {
    Full,
    Impersonation,
}

#[derive(Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub target: InstallTarget,
    /// Delete the CustomResourceDefinitions and the namespace too, and with them every
    /// Application, AppProject and image automation object of the cluster.
    #[arg(long)]
    pub crds: bool,
    /// With --crds: go on although Applications exist (their finalizers are removed first,
    /// so the objects they manage stay in the cluster).
    #[arg(long, requires = "crds")]
    pub force: bool,
    /// Server-side dry run: print what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Bound on every wait, e.g. 90s or 5m.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[arg(short, long, default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Args)]
pub struct VersionArgs {
    #[command(flatten)]
    pub target: InstallTarget,
    /// Only the client's version; no cluster is contacted.
    #[arg(long)]
    pub client: bool,
    /// How long to try reaching the cluster.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}
