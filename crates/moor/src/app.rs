//! `moor app`: create, inspect, sync, roll back, suspend, wait for and delete Application
//! objects. Everything goes through the API server (the controller does the work); only `diff`
//! renders locally.
//!
//! A sync or rollback is requested the way Argo CD does it: by writing the top-level `operation`
//! field, which the controller runs, records in `status.operationState` and clears.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use moor_apply::{Engine, SyncOptions};
use moor_controller::IN_CLUSTER_NAME;
use moor_controller::crd::{
    ARGO_GROUP, AppRef, Application, ApplicationSpec, Automated, Destination, FINALIZER,
    IN_CLUSTER, Source, SyncPolicy, api_resource,
};
use moor_controller::project::DEFAULT_PROJECT;

use serde_json::json;

use crate::cli::{ClusterArgs, SourceArgs};
use crate::commands::{connect, print_diffs};
use crate::source;

pub(crate) mod operation;
pub(crate) mod print;
mod refresh;
mod sources;
mod suspend;
mod wait;
use operation::{refuse_if_running, request_operation, wait_for_operation};
use print::{age, describe, for_output, or_dash, print_as, short, table};

/// Field manager of every write `moor app` makes, and the user named in `operation.initiatedBy`.
const MANAGER: &str = "moor-cli";

use crate::cli::app::{
    AppArgs, AppCommand, AppDiffArgs, AppSyncArgs, CreateArgs, DeleteArgs, GetArgs, HistoryArgs,
    ListArgs, Output, RollbackArgs,
};

/// The Applications of one namespace.
struct Apps {
    api: Api<Application>,
    client: Client,
    namespace: String,
    group: String,
}

impl Apps {
    /// The Application, with errors that say whether the app or its CRD is missing.
    async fn get(&self, name: &str) -> Result<Application> {
        self.api.get(name).await.map_err(|e| self.error(e, name))
    }

    fn error(&self, e: kube::Error, name: &str) -> anyhow::Error {
        match &e {
            // What the API server says for a resource type it does not serve.
            kube::Error::Api(s)
                if s.is_not_found()
                    && s.message.contains("could not find the requested resource") =>
            {
                anyhow!(
                    "the Application resource ({}) is not installed in this cluster: \
                 kubectl apply --server-side -f deploy/crds/{}",
                    self.plural(),
                    if self.group == ARGO_GROUP {
                        "argoproj-application.yaml"
                    } else {
                        "application.yaml"
                    }
                )
            }
            kube::Error::Api(s) if s.is_not_found() => anyhow!(
                "application {name} not found in namespace {}",
                self.namespace
            ),
            kube::Error::Api(s) => anyhow!("{}", s.message).context(format!(
                "the API server refused the request for application {}/{name}",
                self.namespace
            )),
            _ => anyhow!(e).context(format!(
                "request for application {}/{name} failed",
                self.namespace
            )),
        }
    }

    fn plural(&self) -> String {
        format!("applications.{}", self.group)
    }

    /// Merge patch by field manager moor-cli.
    async fn patch(&self, name: &str, patch: serde_json::Value) -> Result<Application> {
        let pp = PatchParams {
            field_manager: Some(MANAGER.to_string()),
            ..PatchParams::default()
        };
        self.api
            .patch(name, &pp, &Patch::Merge(&patch))
            .await
            .map_err(|e| self.error(e, name))
    }
}

pub async fn run(args: AppArgs) -> Result<u8> {
    let cluster = ClusterArgs {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        app: String::new(),
        namespace: args.namespace.clone(),
    };
    let (client, namespace) = connect(&cluster).await?;
    let apps = Apps {
        api: Api::namespaced_with(client.clone(), &namespace, &api_resource(&args.group)),
        client,
        namespace,
        group: args.group,
    };
    match args.command {
        AppCommand::Create(a) => create(&apps, a).await,
        AppCommand::List(a) => list(&apps, a).await,
        AppCommand::Get(a) => get(&apps, a).await,
        AppCommand::Refresh(a) => refresh::refresh(&apps, a).await,
        AppCommand::Sync(a) => sync(&apps, a).await,
        AppCommand::Diff(a) => diff(&apps, a).await,
        AppCommand::History(a) => history(&apps, a).await,
        AppCommand::Rollback(a) => rollback(&apps, a).await,
        AppCommand::Delete(a) => delete(&apps, a).await,
        AppCommand::Suspend(a) => suspend::set(&apps, a, true).await,
        AppCommand::Resume(a) => suspend::set(&apps, a, false).await,
        AppCommand::Wait(a) => wait::wait(&apps, a).await,
    }
}

async fn create(apps: &Apps, args: CreateArgs) -> Result<u8> {
    let ar = api_resource(&apps.group);
    let (source, many) = match (&args.repo, &args.file) {
        (Some(repo), _) => (
            Source {
                repo_url: repo.clone(),
                target_revision: args.revision.clone(),
                path: args.path.clone(),
                chart: args.chart.clone(),
                ..Source::default()
            },
            vec![],
        ),
        (None, Some(file)) => (Source::default(), sources::read_sources(file)?),
        (None, None) => {
            let parsed = args.sources.iter().map(|f| sources::parse_source(f));
            (Source::default(), parsed.collect::<Result<_>>()?)
        }
    };
    let app = Application {
        api_version: Some(ar.api_version.clone()),
        kind: Some(ar.kind.clone()),
        metadata: ObjectMeta {
            name: Some(args.name.clone()),
            namespace: Some(apps.namespace.clone()),
            ..ObjectMeta::default()
        },
        spec: ApplicationSpec {
            // Argo CD requires a project; moor takes none as `default`.
            project: args
                .project
                .or_else(|| (apps.group == ARGO_GROUP).then(|| DEFAULT_PROJECT.to_string())),
            source,
            sources: many,
            destination: Destination {
                server: match (&args.dest_server, &args.dest_name) {
                    (None, None) => Some(IN_CLUSTER.to_string()),
                    (server, _) => server.clone(),
                },
                name: args.dest_name,
                namespace: args.dest_namespace,
            },
            sync_policy: (args.auto_sync || !args.sync_options.is_empty()).then(|| SyncPolicy {
                automated: args.auto_sync.then_some(Automated {
                    prune: args.prune,
                    self_heal: args.self_heal,
                    allow_empty: args.allow_empty,
                }),
                sync_options: args.sync_options,
                retry: None,
            }),
            depends_on: args.depends_on.iter().map(|d| app_ref(d)).collect(),
            ..ApplicationSpec::default()
        },
        status: None,
        operation: None,
    };
    let name = &args.name;
    // Server-side apply in both cases, so every field is moor-cli's: a later --upsert then
    // removes what it no longer sets. Without --upsert an existing app is an error (checked
    // just before; two creates racing could still merge).
    if !args.upsert
        && apps
            .api
            .get_opt(name)
            .await
            .map_err(|e| apps.error(e, name))?
            .is_some()
    {
        bail!(
            "application {name} already exists in namespace {}; use --upsert to update it",
            apps.namespace
        );
    }
    let mut app = serde_json::to_value(&app)?;
    // An empty --repo is sent as given, for the API server's validation to name.
    if let Some(repo) = args.repo.as_deref().filter(|r| r.is_empty()) {
        app["spec"]["source"]["repoURL"] = json!(repo);
    }
    let pp = PatchParams::apply(MANAGER).force();
    apps.api
        .patch(name, &pp, &Patch::Apply(&app))
        .await
        .map_err(|e| apps.error(e, name))?;
    println!(
        "application {}/{name} {}",
        apps.namespace,
        if args.upsert { "applied" } else { "created" }
    );
    Ok(0)
}

/// `NAME` or `NAMESPACE/NAME`.
fn app_ref(s: &str) -> AppRef {
    match s.split_once('/') {
        Some((ns, name)) => AppRef {
            name: name.to_string(),
            namespace: Some(ns.to_string()),
        },
        None => AppRef {
            name: s.to_string(),
            namespace: None,
        },
    }
}

async fn list(apps: &Apps, args: ListArgs) -> Result<u8> {
    let list = apps
        .api
        .list(&ListParams::default())
        .await
        .map_err(|e| apps.error(e, ""))?;
    let mut items = list.items;
    items.sort_by_key(|a| a.name_any());
    if args.output.structured() {
        let items: Vec<Application> = items.into_iter().map(for_output).collect();
        return print_as(&items, args.output);
    }
    if items.is_empty() {
        eprintln!("no applications in namespace {}", apps.namespace);
        return Ok(0);
    }
    let now = Timestamp::now();
    let wide = args.output == Output::Wide;
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|a| {
            let st = a.status.clone().unwrap_or_default();
            let mut row = vec![
                a.name_any(),
                or_dash(&st.sync.status),
                or_dash(&st.health.status),
                st.sync.revision.as_deref().map(short).unwrap_or("-").into(),
                age(a.metadata.creation_timestamp.as_ref(), now),
            ];
            if wide {
                row.extend(wide_columns(a));
            }
            row
        })
        .collect();
    let mut header = vec!["NAME", "SYNC", "HEALTH", "REVISION", "AGE"];
    if wide {
        header.extend(["PROJECT", "REPO", "PATH", "DESTINATION", "AUTO-SYNC"]);
    }
    print!("{}", table(&header, &rows));
    Ok(0)
}

/// `-o wide`'s columns of an app: where it comes from and goes, and whether it syncs itself.
fn wide_columns(a: &Application) -> Vec<String> {
    let s = &a.spec;
    let sources = a.sources();
    let join = |f: &dyn Fn(&moor_controller::crd::Source) -> String| {
        or_dash(&sources.iter().map(f).collect::<Vec<_>>().join(","))
    };
    let d = &s.destination;
    let cluster = d
        .name
        .clone()
        .or_else(|| d.server.clone())
        .unwrap_or_default();
    let auto = s
        .sync_policy
        .as_ref()
        .and_then(|p| p.automated.as_ref())
        .is_some();
    vec![
        or_dash(s.project.as_deref().unwrap_or_default()),
        join(&|src| src.repo_url.clone()),
        join(&|src| {
            src.chart
                .clone()
                .or_else(|| src.path.clone())
                .unwrap_or_default()
        }),
        format!("{cluster},{}", d.namespace.as_deref().unwrap_or_default()),
        if auto { "auto" } else { "manual" }.into(),
    ]
}

async fn get(apps: &Apps, args: GetArgs) -> Result<u8> {
    let app = if args.refresh {
        refresh::request_refresh(apps, &args.name, Duration::from_secs(120)).await?
    } else {
        apps.get(&args.name).await?
    };
    if args.output.structured() {
        return print_as(&for_output(app), args.output);
    }
    print!("{}", describe(&app));
    Ok(0)
}

async fn sync(apps: &Apps, args: AppSyncArgs) -> Result<u8> {
    let app = apps.get(&args.name).await?;
    refuse_if_running(&app)?;
    let requested = request_operation(
        apps,
        &args.name,
        json!({}),
        args.revision.as_deref(),
        &[],
        args.prune,
    )
    .await?;
    println!(
        "sync of application {}/{} requested{}",
        apps.namespace,
        args.name,
        args.revision
            .as_deref()
            .map(|r| format!(" at {r}"))
            .unwrap_or_default()
    );
    if !args.wait.wait {
        return Ok(0);
    }
    wait_for_operation(apps, &args.name, requested, args.wait.timeout).await
}

async fn diff(apps: &Apps, args: AppDiffArgs) -> Result<u8> {
    let app = apps.get(&args.name).await?;
    let dest = &app.spec.destination;
    let client = match &args.dest_kubeconfig {
        Some(path) => {
            let cluster = ClusterArgs {
                kubeconfig: Some(path.clone()),
                context: args.dest_context.clone(),
                app: String::new(),
                namespace: None,
            };
            connect(&cluster).await?.0
        }
        None if is_in_cluster(dest) => apps.client.clone(),
        None => bail!(
            "application {}/{} deploys to {}, not to the cluster it lives in: \
             diff needs that cluster's kubeconfig, given with --dest-kubeconfig (and --dest-context)",
            apps.namespace,
            args.name,
            dest.server
                .as_deref()
                .or(dest.name.as_deref())
                .unwrap_or_default()
        ),
    };
    if app.is_multi_source() || app.spec.source.is_chart() {
        bail!(
            "moor app diff renders one Git source: application {}/{} has spec.sources or a chart; \
             its comparison is in `moor app get`",
            apps.namespace,
            args.name
        );
    }
    if app
        .spec
        .source
        .kustomize
        .as_ref()
        .is_some_and(|k| !k.is_empty())
    {
        eprintln!(
            "warning: spec.source.kustomize overrides are applied by the controller, not by this diff; rendering the kustomization as it is in Git"
        );
    }
    let loaded = render(&app, &app.spec.source, args.kustomize_bin, args.helm_bin).await?;
    let opts = diff_options(&app, &apps.group, loaded.revision.clone());
    let diffs = Engine::new(client).diff(loaded.manifests, &opts).await?;
    print_diffs(&diffs, args.color)?;
    Ok(if diffs.is_empty() { 0 } else { 1 })
}

/// Renders `source` (the app's one Git source, or one of its history entries') as `moor app
/// diff` does, for it and the web UI's diff panels: one rule for what an app's Git holds.
/// Kustomize overrides of the source are not applied (the controller applies them).
pub(crate) async fn render(
    app: &Application,
    source: &Source,
    kustomize_bin: Option<PathBuf>,
    helm_bin: Option<PathBuf>,
) -> Result<source::Loaded> {
    let source_args = source_args(app, source, kustomize_bin, helm_bin);
    // The repository URL is the Application's, not the operator's: MOOR_GIT_* credentials go
    // only to URLs the operator named in MOOR_GIT_CREDENTIALS_URL.
    let creds = moor_git::ScopedCredentials::from_env().for_url(&source_args.repo);
    source::load_with(&source_args, Some(&destination_namespace(app)), &creds).await
}

/// Namespaced objects without a namespace go to the destination namespace, as in Argo CD.
fn destination_namespace(app: &Application) -> String {
    let ns = app.spec.destination.namespace.clone();
    ns.unwrap_or_else(|| "default".into())
}

/// The options `moor app diff` compares a render of `app` (API group `group`) with: the app's
/// identity, destination namespace and ignoreDifferences.
pub(crate) fn diff_options(
    app: &Application,
    group: &str,
    revision: Option<String>,
) -> SyncOptions {
    let mut opts = SyncOptions::new(&app.app_id(group), &destination_namespace(app));
    opts.revision = revision;
    opts.ignore_differences = app.ignore_rules();
    opts
}

/// The destination is the cluster the Application lives in: Argo CD's in-cluster server or
/// name, or nothing given.
pub(crate) fn is_in_cluster(d: &Destination) -> bool {
    match (d.server.as_deref(), d.name.as_deref()) {
        (Some(s), _) if !s.is_empty() => s.trim_end_matches('/') == IN_CLUSTER,
        (_, Some(n)) if !n.is_empty() => n == IN_CLUSTER_NAME,
        _ => true,
    }
}

/// The app's source `s` as the flags of `moor diff` would give it.
fn source_args(
    app: &Application,
    s: &Source,
    kustomize_bin: Option<PathBuf>,
    helm_bin: Option<PathBuf>,
) -> SourceArgs {
    let dir = s.directory.clone().unwrap_or_default();
    let helm = s.helm.clone().unwrap_or_default();
    SourceArgs {
        repo: s.repo_url.clone(),
        revision: s.target_revision.clone(),
        path: s
            .path
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".into()),
        recurse: dir.recurse,
        include: moor_render::split_globs(dir.include.as_deref()),
        exclude: moor_render::split_globs(dir.exclude.as_deref()),
        // Argo CD names the release after the app.
        helm_release_name: helm.release_name.or_else(|| Some(app.name_any())),
        helm_value_files: helm.value_files,
        helm_values: helm.values,
        kustomize_bin,
        helm_bin,
        jsonnet: jsonnet_args(dir.jsonnet.unwrap_or_default()),
        // A diff writes nothing: an empty render shows every object the app would lose.
        allow_empty: true,
        // Not used: `diff` picks credentials scoped to the app's repository URL.
        git: Default::default(),
        render_limits: Default::default(),
    }
}

/// The app's `directory.jsonnet` as `moor diff` flags.
fn jsonnet_args(j: moor_controller::crd::JsonnetSource) -> crate::cli::JsonnetArgs {
    let pairs = |code: bool, vs: &[moor_controller::crd::JsonnetVar]| -> Vec<(String, String)> {
        (vs.iter().filter(|v| v.code == code))
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    };
    crate::cli::JsonnetArgs {
        ext_var_str: pairs(false, &j.ext_vars),
        ext_var_code: pairs(true, &j.ext_vars),
        tla_str: pairs(false, &j.tlas),
        tla_code: pairs(true, &j.tlas),
        libs: j.libs,
        jsonnet_bin: None,
    }
}

async fn history(apps: &Apps, args: HistoryArgs) -> Result<u8> {
    let app = apps.get(&args.name).await?;
    let history = app.status.map(|s| s.history).unwrap_or_default();
    if args.output.structured() {
        return print_as(&history, args.output);
    }
    if history.is_empty() {
        eprintln!(
            "application {}/{} has no history yet",
            apps.namespace, args.name
        );
        return Ok(0);
    }
    // With spec.sources: each source's revision, by its repository (chart) or ref.
    let revision = |h: &moor_controller::crd::HistoryEntry| {
        if h.revisions.is_empty() {
            return h.revision.clone();
        }
        let named = h.revisions.iter().enumerate().map(|(i, r)| {
            let s = h.sources.get(i);
            let what = s.map_or(String::new(), |s| match (&s.chart, &s.ref_) {
                (Some(c), _) => format!("{} {c}", s.repo_url),
                (None, Some(r)) => format!("{} (ref {r})", s.repo_url),
                _ => s.repo_url.clone(),
            });
            format!("{} {what}", short(r))
        });
        named.collect::<Vec<_>>().join("; ")
    };
    let wide = args.output == Output::Wide;
    let rows: Vec<Vec<String>> = history
        .iter()
        .map(|h| {
            let mut row = vec![h.id.to_string(), h.deployed_at.clone(), revision(h)];
            if wide {
                let src = h.source.as_ref().map(|s| {
                    let at = s
                        .chart
                        .clone()
                        .or_else(|| s.path.clone())
                        .unwrap_or_default();
                    format!("{} {at}", s.repo_url)
                });
                row.push(or_dash(src.as_deref().unwrap_or_default()));
            }
            row
        })
        .collect();
    let mut header = vec!["ID", "DEPLOYED AT", "REVISION"];
    if wide {
        header.push("SOURCE");
    }
    print!("{}", table(&header, &rows));
    Ok(0)
}

async fn rollback(apps: &Apps, args: RollbackArgs) -> Result<u8> {
    let app = apps.get(&args.name).await?;
    refuse_if_running(&app)?;
    // The same rule as the web UI's rollback: the entry's revision(s), auto-sync off.
    let rb = operation::rollback_to(&app, args.id)?;
    if rb.auto_sync_off {
        eprintln!(
            "auto-sync of application {}/{} is now off; turn it back on to follow Git again",
            apps.namespace, args.name
        );
    }
    let (revision, revisions) = (rb.revision.as_deref(), &rb.revisions[..]);
    let requested =
        request_operation(apps, &args.name, rb.extra, revision, revisions, args.prune).await?;
    println!(
        "rollback of application {}/{} to {} ({}) requested",
        apps.namespace,
        args.name,
        args.id,
        short(&rb.entry_revision)
    );
    if !args.wait.wait {
        return Ok(0);
    }
    wait_for_operation(apps, &args.name, requested, args.wait.timeout).await
}

async fn delete(apps: &Apps, args: DeleteArgs) -> Result<u8> {
    let name = &args.name;
    let app = apps.get(name).await?;
    let has_finalizer = app.finalizers().iter().any(|f| f == FINALIZER);
    if !args.cascade && has_finalizer {
        // Without the finalizer the controller has nothing to do on deletion: objects stay.
        let rest: Vec<&String> = app
            .finalizers()
            .iter()
            .filter(|f| *f != FINALIZER)
            .collect();
        apps.patch(
            name,
            json!({"metadata": {
                "finalizers": rest,
                // Fails rather than dropping a finalizer someone added meanwhile.
                "resourceVersion": app.resource_version(),
            }}),
        )
        .await
        .with_context(|| format!("failed to remove the finalizer {FINALIZER}"))?;
    }
    if args.cascade && !has_finalizer && app.metadata.deletion_timestamp.is_none() {
        eprintln!(
            "warning: application {}/{name} has no {FINALIZER} finalizer (yet): \
             the objects it manages stay in the cluster",
            apps.namespace
        );
    }
    match apps.api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        // Removing the last finalizer of an app already being deleted lets it go by itself.
        Err(kube::Error::Api(s)) if s.is_not_found() => {}
        Err(e) => return Err(apps.error(e, name)),
    }
    println!(
        "application {}/{name} deleted{}",
        apps.namespace,
        if args.cascade {
            ""
        } else {
            " (its objects are left in place)"
        }
    );
    if !args.wait {
        return Ok(0);
    }
    let deadline = tokio::time::Instant::now() + args.timeout;
    loop {
        let Some(app) = apps
            .api
            .get_opt(name)
            .await
            .map_err(|e| apps.error(e, name))?
        else {
            return Ok(0);
        };
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "error: timed out after {} waiting for application {}/{name} to be deleted; \
                 waiting on finalizers: {}",
                humantime::format_duration(args.timeout),
                apps.namespace,
                app.finalizers().join(", ")
            );
            return Ok(2);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_cluster_destinations() {
        let d = |server: Option<&str>, name: Option<&str>| Destination {
            server: server.map(Into::into),
            name: name.map(Into::into),
            namespace: None,
        };
        assert!(is_in_cluster(&d(None, None)));
        assert!(is_in_cluster(&d(Some(IN_CLUSTER), None)));
        assert!(is_in_cluster(&d(
            Some("https://kubernetes.default.svc/"),
            None
        )));
        assert!(is_in_cluster(&d(None, Some(IN_CLUSTER_NAME))));
        assert!(!is_in_cluster(&d(Some("https://10.0.0.1:6443"), None)));
        assert!(!is_in_cluster(&d(None, Some("prod-eu"))));
    }
}
