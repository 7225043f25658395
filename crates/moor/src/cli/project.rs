//! The arguments of `moor project`, named after `argocd proj create`'s so a project made with
//! either reads the same.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use moor_controller::crd::{ARGO_GROUP, MOOR_GROUP};
use moor_controller::project::{DestinationServiceAccount, GroupKind, ProjectDestination};

use super::app::Output;

#[derive(Args)]
pub struct ProjectArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Namespace of the projects: the controller's (its --namespace), where it reads them.
    #[arg(
        short,
        long,
        global = true,
        default_value = "moor-system",
        env = "MOOR_NAMESPACE"
    )]
    pub namespace: String,
    /// API group of the AppProject resource (argoproj.io for the projects of Argo CD
    /// Applications, read by a controller running with --argocd-compat).
    #[arg(long, global = true, hide = true, default_value = MOOR_GROUP,
        value_parser = clap::builder::PossibleValuesParser::new([MOOR_GROUP, ARGO_GROUP]))]
    pub group: String,
    #[command(subcommand)]
    pub command: ProjectCommand,
}

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create an AppProject (or replace its rules with --upsert).
    Create(Box<CreateArgs>),
    /// List the AppProjects of the namespace.
    List(ListArgs),
    /// Show an AppProject's rules.
    Get(GetArgs),
    /// Delete an AppProject (its Applications are then refused until it exists again).
    Delete(DeleteArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// The name Applications give in spec.project.
    pub name: String,
    /// What the project is for.
    #[arg(long)]
    pub description: Option<String>,
    /// A repository URL the project's apps may read (repeatable; globs, a leading ! denies).
    #[arg(
        short = 's',
        long = "source-repo",
        visible_alias = "src",
        value_name = "URL"
    )]
    pub source_repos: Vec<String>,
    /// A destination its apps may write to, SERVER_OR_NAME,NAMESPACE (repeatable; globs, a
    /// leading ! denies): a URL is a cluster's API server, anything else a cluster name, e.g.
    /// `-d https://kubernetes.default.svc,team-a-*` or `-d in-cluster,team-a`.
    #[arg(short = 'd', long = "dest", value_name = "SERVER_OR_NAME,NAMESPACE",
        value_parser = parse_destination)]
    pub destinations: Vec<ProjectDestination>,
    /// A cluster-scoped kind its apps may manage, GROUP/KIND (repeatable; KIND alone for the
    /// core group, */* for all). None when not given, as in Argo CD.
    #[arg(long = "allow-cluster-resource", value_name = "GROUP/KIND", value_parser = parse_group_kind)]
    pub allow_cluster_resources: Vec<GroupKind>,
    /// A cluster-scoped kind its apps may never manage, GROUP/KIND (repeatable).
    #[arg(long = "deny-cluster-resource", value_name = "GROUP/KIND", value_parser = parse_group_kind)]
    pub deny_cluster_resources: Vec<GroupKind>,
    /// A namespaced kind its apps may manage, GROUP/KIND (repeatable). All when not given.
    #[arg(long = "allow-namespaced-resource", value_name = "GROUP/KIND", value_parser = parse_group_kind)]
    pub allow_namespaced_resources: Vec<GroupKind>,
    /// A namespaced kind its apps may never manage, GROUP/KIND (repeatable).
    #[arg(long = "deny-namespaced-resource", value_name = "GROUP/KIND", value_parser = parse_group_kind)]
    pub deny_namespaced_resources: Vec<GroupKind>,
    /// A namespace besides the controller's where its Applications may live (repeatable; globs).
    #[arg(long = "source-namespace", value_name = "NS")]
    pub source_namespaces: Vec<String>,
    /// The service account writes to matching destinations are made as,
    /// SERVER,NAMESPACE,SERVICE_ACCOUNT (repeatable; the first match wins; the account is in
    /// the destination namespace, or written NAMESPACE:NAME).
    #[arg(long = "dest-service-account", value_name = "SERVER,NAMESPACE,SA",
        value_parser = parse_service_account)]
    pub dest_service_accounts: Vec<DestinationServiceAccount>,
    /// Replace the rules of the project if it exists (server-side apply), instead of failing.
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
}

#[derive(Args)]
pub struct DeleteArgs {
    pub name: String,
}

/// Whether a destination's cluster part names an API server rather than a cluster: a URL, as
/// Argo CD tells them apart (a `!` in front denies, and is not part of the URL).
fn is_server(cluster: &str) -> bool {
    cluster.trim_start_matches('!').contains("://")
}

fn parse_destination(s: &str) -> Result<ProjectDestination, String> {
    let Some((cluster, namespace)) = s.split_once(',') else {
        return Err(format!(
            "{s:?} is not SERVER_OR_NAME,NAMESPACE (e.g. https://kubernetes.default.svc,team-a-*)"
        ));
    };
    let (cluster, namespace) = (cluster.trim(), namespace.trim());
    if cluster.is_empty() || namespace.is_empty() || namespace.contains(',') {
        return Err(format!(
            "{s:?} is not SERVER_OR_NAME,NAMESPACE: both parts are needed (* for any)"
        ));
    }
    let (server, name) = if is_server(cluster) {
        (Some(cluster.to_string()), None)
    } else {
        (None, Some(cluster.to_string()))
    };
    Ok(ProjectDestination {
        server,
        name,
        namespace: Some(namespace.to_string()),
    })
}

fn parse_group_kind(s: &str) -> Result<GroupKind, String> {
    let (group, kind) = s.split_once('/').unwrap_or(("", s));
    if kind.is_empty() || kind.contains('/') {
        return Err(format!(
            "{s:?} is not GROUP/KIND (e.g. apps/Deployment, Namespace for the core group, */*)"
        ));
    }
    Ok(GroupKind {
        group: group.to_string(),
        kind: kind.to_string(),
    })
}

fn parse_service_account(s: &str) -> Result<DestinationServiceAccount, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts[..] {
        [server, namespace, account] if !server.is_empty() && !account.is_empty() => {
            Ok(DestinationServiceAccount {
                server: server.to_string(),
                namespace: namespace.to_string(),
                default_service_account: account.to_string(),
            })
        }
        _ => Err(format!(
            "{s:?} is not SERVER,NAMESPACE,SERVICE_ACCOUNT (e.g. https://kubernetes.default.svc,team-a-*,deployer)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_is_a_server_when_it_is_a_url_else_a_cluster_name() {
        let d = parse_destination("https://kubernetes.default.svc,team-a-*").unwrap();
        assert_eq!(d.server.as_deref(), Some("https://kubernetes.default.svc"));
        assert_eq!((d.name, d.namespace.as_deref()), (None, Some("team-a-*")));
        let d = parse_destination("in-cluster,team-a").unwrap();
        assert_eq!((d.server, d.name.as_deref()), (None, Some("in-cluster")));
        let d = parse_destination("!https://team1-*,*").unwrap();
        assert_eq!(d.server.as_deref(), Some("!https://team1-*"));
        for bad in ["in-cluster", ",ns", "in-cluster,", "a,b,c"] {
            assert!(parse_destination(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_kinds_and_service_accounts() {
        let gk = parse_group_kind("apps/Deployment").unwrap();
        assert_eq!(
            (gk.group.as_str(), gk.kind.as_str()),
            ("apps", "Deployment")
        );
        let gk = parse_group_kind("Namespace").unwrap();
        assert_eq!((gk.group.as_str(), gk.kind.as_str()), ("", "Namespace"));
        assert_eq!(parse_group_kind("/Namespace").unwrap().group, "");
        for bad in ["apps/", "a/b/c", ""] {
            assert!(parse_group_kind(bad).is_err(), "{bad}");
        }
        let sa = parse_service_account("https://kubernetes.default.svc,team-a,deployer").unwrap();
        assert_eq!(sa.default_service_account, "deployer");
        assert!(parse_service_account("https://x,deployer").is_err());
    }
}
