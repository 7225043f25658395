//! `moor project`: create, list, show and delete the AppProjects the controller admits
//! Applications by. Projects live in the controller's namespace; the controller reads them,
//! this only writes and prints them.

use anyhow::{Result, anyhow, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use moor_controller::crd::ARGO_GROUP;
use moor_controller::project::{
    AppProject, AppProjectSpec, GroupKind, ProjectDestination, project_resource,
};

use crate::app::print::{or_dash, print_as, table};
use crate::cli::ClusterArgs;
use crate::cli::app::Output;
use crate::cli::project::{CreateArgs, DeleteArgs, GetArgs, ListArgs, ProjectArgs, ProjectCommand};
use crate::commands::connect;

/// Field manager of every write `moor project` makes (the same as `moor app`'s).
const MANAGER: &str = "moor-cli";

/// The AppProjects of one namespace.
struct Projects {
    api: Api<AppProject>,
    namespace: String,
    group: String,
}

impl Projects {
    /// `namespace/name` of the Applications (of this group, in every namespace the caller may
    /// list; the project's own namespace when it may not list them all) whose spec.project is
    /// `project`.
    async fn users(&self, project: &str, spec: &AppProjectSpec) -> Result<Vec<String>> {
        let ar = moor_controller::crd::api_resource(&self.group);
        let client = self.api.clone().into_client();
        let all: Api<kube::api::DynamicObject> = Api::all_with(client.clone(), &ar);
        let apps = match all.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(kube::Error::Api(s)) if s.code == 403 => {
                Api::<kube::api::DynamicObject>::namespaced_with(client, &self.namespace, &ar)
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| anyhow!(e).context("listing the Applications that may use it"))?
            }
            Err(e) => return Err(anyhow!(e).context("listing the Applications that may use it")),
        };
        let mut users: Vec<String> = apps
            .items
            .iter()
            .filter(|a| a.data["spec"]["project"].as_str() == Some(project))
            // Only the apps that can reach this project: an app in a namespace the project does
            // not admit names another controller's project of the same name.
            .filter(|a| {
                spec.admits_app_namespace(&a.namespace().unwrap_or_default(), &self.namespace)
            })
            .map(|a| format!("{}/{}", a.namespace().unwrap_or_default(), a.name_any()))
            .collect();
        users.sort();
        Ok(users)
    }

    async fn get(&self, name: &str) -> Result<AppProject> {
        self.api.get(name).await.map_err(|e| self.error(e, name))
    }

    /// The API server's error, naming the object once (`AppProject NAMESPACE/NAME`) and saying
    /// when it is the resource type or the namespace that is missing rather than the project.
    fn error(&self, e: kube::Error, name: &str) -> anyhow::Error {
        let object = if name.is_empty() {
            format!("AppProjects in namespace {}", self.namespace)
        } else {
            format!("AppProject {}/{name}", self.namespace)
        };
        match &e {
            // What the API server says for a resource type it does not serve.
            kube::Error::Api(s)
                if s.is_not_found()
                    && s.message.contains("could not find the requested resource") =>
            {
                anyhow!(
                    "the AppProject resource (appprojects.{}) is not installed in this cluster: \
                     kubectl apply --server-side -f deploy/crds/{}",
                    self.group,
                    if self.group == ARGO_GROUP {
                        "argoproj-appproject.yaml"
                    } else {
                        "appproject.yaml"
                    }
                )
            }
            // Creating in a namespace that does not exist.
            kube::Error::Api(s) if s.is_not_found() && s.message.starts_with("namespaces ") => {
                anyhow!(
                    "namespace {} does not exist: projects live in the controller's namespace \
                     (-n, default moor-system)",
                    self.namespace
                )
            }
            kube::Error::Api(s) if s.is_not_found() => anyhow!("{object} not found"),
            kube::Error::Api(s) => {
                anyhow!("{}", s.message).context(format!("the API server refused {object}"))
            }
            _ => anyhow!(e).context(format!("request for {object} failed")),
        }
    }
}

pub async fn run(args: ProjectArgs) -> Result<u8> {
    let cluster = ClusterArgs {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        app: String::new(),
        namespace: Some(args.namespace.clone()),
    };
    let (client, namespace) = connect(&cluster).await?;
    let projects = Projects {
        api: Api::namespaced_with(client, &namespace, &project_resource(&args.group)),
        namespace,
        group: args.group,
    };
    match args.command {
        ProjectCommand::Create(a) => create(&projects, *a).await,
        ProjectCommand::List(a) => list(&projects, a).await,
        ProjectCommand::Get(a) => get(&projects, a).await,
        ProjectCommand::Delete(a) => delete(&projects, a).await,
    }
}

async fn create(projects: &Projects, args: CreateArgs) -> Result<u8> {
    let ar = project_resource(&projects.group);
    let project = AppProject {
        api_version: Some(AppProject::api_version(&ar).into_owned()),
        kind: Some(AppProject::kind(&ar).into_owned()),
        metadata: ObjectMeta {
            name: Some(args.name.clone()),
            namespace: Some(projects.namespace.clone()),
            ..ObjectMeta::default()
        },
        spec: AppProjectSpec {
            description: args.description,
            source_repos: args.source_repos,
            destinations: args.destinations,
            cluster_resource_whitelist: args.allow_cluster_resources,
            cluster_resource_blacklist: args.deny_cluster_resources,
            namespace_resource_whitelist: args.allow_namespaced_resources,
            namespace_resource_blacklist: args.deny_namespaced_resources,
            source_namespaces: args.source_namespaces,
            destination_service_accounts: args.dest_service_accounts,
        },
    };
    let name = &args.name;
    // As `moor app create`: server-side apply either way, so a later --upsert removes the
    // rules it no longer gives; without --upsert an existing project is an error.
    if !args.upsert
        && projects
            .api
            .get_opt(name)
            .await
            .map_err(|e| projects.error(e, name))?
            .is_some()
    {
        bail!(
            "AppProject {}/{name} already exists; use --upsert to replace its rules",
            projects.namespace
        );
    }
    let pp = PatchParams::apply(MANAGER).force();
    projects
        .api
        .patch(name, &pp, &Patch::Apply(&project))
        .await
        .map_err(|e| projects.error(e, name))?;
    println!(
        "AppProject {}/{name} {}",
        projects.namespace,
        if args.upsert { "applied" } else { "created" }
    );
    Ok(0)
}

/// The object as `-o json|yaml` prints it: without managedFields, like kubectl.
fn for_output(mut p: AppProject) -> AppProject {
    p.metadata.managed_fields = None;
    p
}

async fn list(projects: &Projects, args: ListArgs) -> Result<u8> {
    let list = projects
        .api
        .list(&ListParams::default())
        .await
        .map_err(|e| projects.error(e, ""))?;
    let mut items = list.items;
    items.sort_by_key(|p| p.name_any());
    if args.output.structured() {
        let items: Vec<AppProject> = items.into_iter().map(for_output).collect();
        return print_as(&items, args.output);
    }
    if items.is_empty() {
        eprintln!("no AppProjects in namespace {}", projects.namespace);
        return Ok(0);
    }
    // Wide: every source and destination, not the first three.
    let wide = args.output == Output::Wide;
    let list = |items: &[String], sep: &str| {
        if wide {
            items.join(sep)
        } else {
            few(items, sep)
        }
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|p| {
            let s = &p.spec;
            let dests: Vec<String> = s.destinations.iter().map(destination).collect();
            vec![
                p.name_any(),
                or_dash(s.description.as_deref().unwrap_or_default()),
                or_dash(&list(&s.source_repos, ", ")),
                or_dash(&list(&dests, "; ")),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["NAME", "DESCRIPTION", "SOURCES", "DESTINATIONS"], &rows)
    );
    Ok(0)
}

/// Up to three items, then how many more: a list cell stays one readable line. Destinations
/// hold a comma themselves, so they are set apart by `; `.
fn few(items: &[String], sep: &str) -> String {
    const SHOWN: usize = 3;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > SHOWN {
        s.push_str(&format!(" (+{} more)", items.len() - SHOWN));
    }
    s
}

/// A destination as `--dest` takes it, SERVER_OR_NAME,NAMESPACE (both when it has both).
fn destination(d: &ProjectDestination) -> String {
    let cluster = match (&d.server, &d.name) {
        (Some(s), Some(n)) if s != n => format!("{s} (name {n})"),
        (Some(c), _) | (None, Some(c)) => c.clone(),
        (None, None) => String::new(),
    };
    format!("{cluster},{}", d.namespace.as_deref().unwrap_or_default())
}

/// A kind as `--allow-cluster-resource` takes it: GROUP/KIND, KIND alone in the core group.
fn group_kind(gk: &GroupKind) -> String {
    if gk.group.is_empty() {
        gk.kind.clone()
    } else {
        format!("{}/{}", gk.group, gk.kind)
    }
}

async fn get(projects: &Projects, args: GetArgs) -> Result<u8> {
    let project = projects.get(&args.name).await?;
    if args.output.structured() {
        return print_as(&for_output(project), args.output);
    }
    print!("{}", describe(&project));
    Ok(0)
}

/// The rules in words; what an empty list means is said, since it differs by list (no
/// cluster-scoped kind, but every namespaced one).
fn describe(p: &AppProject) -> String {
    let s = &p.spec;
    let mut out = String::new();
    let mut field = |k: &str, v: String| out.push_str(&format!("{:<30}{v}\n", format!("{k}:")));
    field(
        "Name",
        format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any()),
    );
    field(
        "Description",
        or_dash(s.description.as_deref().unwrap_or_default()),
    );
    let list = |items: Vec<String>, empty: &str| {
        if items.is_empty() {
            empty.to_string()
        } else {
            items.join(", ")
        }
    };
    let kinds = |l: &[GroupKind], empty: &str| list(l.iter().map(group_kind).collect(), empty);
    field(
        "Source Repositories",
        list(s.source_repos.clone(), "none (sourceRepos is empty)"),
    );
    field(
        "Source Namespaces",
        list(
            s.source_namespaces.clone(),
            "the controller's namespace only",
        ),
    );
    field(
        "Cluster Resources Allowed",
        kinds(&s.cluster_resource_whitelist, "none"),
    );
    field(
        "Cluster Resources Denied",
        kinds(&s.cluster_resource_blacklist, "-"),
    );
    field(
        "Namespaced Resources Allowed",
        kinds(&s.namespace_resource_whitelist, "all"),
    );
    field(
        "Namespaced Resources Denied",
        kinds(&s.namespace_resource_blacklist, "-"),
    );
    out.push_str("\nDESTINATIONS\n");
    if s.destinations.is_empty() {
        out.push_str("none: the project's apps may write nowhere\n");
    } else {
        let dash = |v: &Option<String>| or_dash(v.as_deref().unwrap_or_default());
        let rows: Vec<Vec<String>> = s
            .destinations
            .iter()
            .map(|d| vec![dash(&d.server), dash(&d.name), dash(&d.namespace)])
            .collect();
        out.push_str(&table(&["SERVER", "NAME", "NAMESPACE"], &rows));
    }
    if !s.destination_service_accounts.is_empty() {
        out.push_str("\nDESTINATION SERVICE ACCOUNTS\n");
        let rows: Vec<Vec<String>> = s
            .destination_service_accounts
            .iter()
            .map(|a| {
                vec![
                    or_dash(&a.server),
                    or_dash(&a.namespace),
                    a.default_service_account.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["SERVER", "NAMESPACE", "SERVICE ACCOUNT"], &rows));
    }
    out
}

async fn delete(projects: &Projects, args: DeleteArgs) -> Result<u8> {
    let name = &args.name;
    let found = projects.get(name).await?;
    // As Argo CD: a project still named by Applications stays, or the controller would refuse
    // those apps (or, without --strict-projects, admit them under no rules) at their next
    // reconcile.
    let users = projects.users(name, &found.spec).await?;
    if !users.is_empty() {
        let shown: Vec<&str> = users.iter().take(5).map(String::as_str).collect();
        let more = users.len().saturating_sub(shown.len());
        bail!(
            "AppProject {}/{name} is used by {} Application{}: {}{}; delete them or move them to \
             another project first",
            projects.namespace,
            users.len(),
            if users.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
        );
    }
    projects
        .api
        .delete(name, &DeleteParams::default())
        .await
        .map_err(|e| projects.error(e, name))?;
    println!("AppProject {}/{name} deleted", projects.namespace);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_and_kinds_print_as_their_flags_take_them() {
        let d = |server: Option<&str>, name: Option<&str>| ProjectDestination {
            server: server.map(Into::into),
            name: name.map(Into::into),
            namespace: Some("team-a-*".into()),
        };
        assert_eq!(
            destination(&d(Some("https://kubernetes.default.svc"), None)),
            "https://kubernetes.default.svc,team-a-*"
        );
        assert_eq!(
            destination(&d(None, Some("in-cluster"))),
            "in-cluster,team-a-*"
        );
        assert_eq!(destination(&d(Some("*"), Some("*"))), "*,team-a-*");
        let gk = |g: &str, k: &str| GroupKind {
            group: g.into(),
            kind: k.into(),
        };
        assert_eq!(group_kind(&gk("", "Namespace")), "Namespace");
        assert_eq!(group_kind(&gk("apps", "Deployment")), "apps/Deployment");
        let repos: Vec<String> = (1..=5).map(|i| format!("r{i}")).collect();
        assert_eq!(few(&repos, ", "), "r1, r2, r3 (+2 more)");
        assert_eq!(few(&repos[..2], "; "), "r1; r2");
    }
}
