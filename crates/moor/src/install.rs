//! `moor install`, `moor uninstall` and `moor version`: deploy/'s objects applied with the CLI's
//! own engine, as one app whose id is the Application `NS/moor`'s. So an Application named
//! `moor` in the controller's namespace (examples/self-managed) takes the installation over
//! from Git without an ownership conflict, and `moor uninstall` knows what install applied
//! from the inventory.

mod manifests;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use moor_apply::{ChangeSet, Engine, ObjectResult, SyncOptions, inventory};
use moor_types::{ANNOTATION_TRACKING, Change, HealthStatus, LABEL_APP};
use serde_json::json;

use crate::cli::OutputFormat;
use crate::cli::install::{InstallArgs, InstallTarget, UninstallArgs, VersionArgs};
use crate::output;
pub use manifests::image_tag;
use manifests::{CONTAINER, DEPLOYMENT, Settings};

/// The name of the Application whose identity the installation carries.
const APP_NAME: &str = "moor";

/// The app id of the installation in `ns`: the Application `ns/moor`'s (crd.rs `app_id`).
fn app_id(ns: &str) -> String {
    format!("{ns}_{APP_NAME}")
}

async fn connect(t: &InstallTarget) -> Result<Client> {
    check_namespace(&t.namespace)?;
    let config = crate::kubeconfig::load(t.kubeconfig.as_deref(), t.context.clone()).await?;
    Client::try_from(config).context("failed to create the Kubernetes client")
}

/// A namespace name (DNS label): it becomes a Namespace and part of ClusterRole names.
fn check_namespace(ns: &str) -> Result<()> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && ns.starts_with(|c: char| c.is_ascii_alphanumeric())
        && ns.ends_with(|c: char| c.is_ascii_alphanumeric());
    ensure!(
        ok,
        "--namespace {ns:?} is not a namespace name: lowercase letters, digits and '-', at most 63"
    );
    Ok(())
}

fn progress(on: bool) -> impl Fn(&ObjectResult) + Send + Sync {
    move |r: &ObjectResult| {
        if on && r.change != Change::Unchanged {
            eprintln!("  {} {}", r.change, r.key);
        }
    }
}

fn print_set(set: &ChangeSet, format: OutputFormat) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(set)?)?,
        OutputFormat::Table => out.write_all(output::change_table(set).as_bytes())?,
    }
    Ok(())
}

/// `moor install`: apply (or dry-run) deploy/'s objects for the settings, prune what an earlier
/// install applied that these settings leave out (the other RBAC mode), wait for the controller.
pub async fn install(args: InstallArgs) -> Result<u8> {
    let ns = args.target.namespace.clone();
    let settings = Settings {
        namespace: ns.clone(),
        image: manifests::image(args.version.as_deref(), args.image.as_deref()),
        rbac: args.rbac,
        replicas: args.replicas,
        crds: !args.skip_crds,
    };
    let objects = manifests::manifests(&settings)?;
    let client = connect(&args.target).await?;
    let mut opts = SyncOptions::new(&app_id(&ns), &ns);
    opts.prune = true;
    opts.dry_run = args.dry_run;
    opts.wait = args.wait && !args.dry_run;
    opts.timeout = args.timeout;
    let show = args.output == OutputFormat::Table && std::io::stderr().is_terminal();
    let set = Engine::new(client.clone())
        .sync(objects, &opts, &progress(show))
        .await
        .with_context(|| format!("failed to install moor into namespace {ns}"))?;
    print_set(&set, args.output)?;
    if args.dry_run || !args.wait {
        return Ok(0);
    }
    // Also when nothing changed: an install that returns 0 leaves a working controller.
    wait_available(&client, &ns, &settings.image, args.timeout).await?;
    if args.output == OutputFormat::Table {
        println!(
            "deployment {ns}/{DEPLOYMENT} is Available, running {}",
            settings.image
        );
    }
    Ok(0)
}

/// Polls the controller Deployment until its health (kstatus rules: rolled out, Available) is
/// Healthy with `image`, or `timeout` passes (naming what it last saw).
async fn wait_available(client: &Client, ns: &str, image: &str, timeout: Duration) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match api.get_opt(DEPLOYMENT).await {
            Ok(Some(d)) => {
                let obj = serde_json::to_value(&d)?;
                let h = moor_health::health(&obj);
                let running = controller_image(&d);
                if h.status == HealthStatus::Healthy && running.as_deref() == Some(image) {
                    return Ok(());
                }
                format!("{}: {}", h.status, h.message)
            }
            Ok(None) => "it does not exist".into(),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "deployment {ns}/{DEPLOYMENT} is not Available after {} ({last})",
                humantime::format_duration(timeout)
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn controller_image(d: &Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == CONTAINER)?
        .image
        .clone()
}

fn is_kept(e: &inventory::Entry) -> bool {
    e.kind == "CustomResourceDefinition" || (e.kind == "Namespace" && e.group.is_empty())
}

/// `moor uninstall`: delete what install applied (its inventory), except the CRDs and the
/// namespace (which hold every Application and the apps' inventories) unless `--crds`.
pub async fn uninstall(args: UninstallArgs) -> Result<u8> {
    let ns = args.target.namespace.clone();
    let client = connect(&args.target).await?;
    let app = app_id(&ns);
    let installed = inventory::load(&client, &app).await?;
    if installed.is_empty() {
        eprintln!("nothing to uninstall: moor install applied nothing in namespace {ns}");
        return Ok(0);
    }
    let kept: Vec<inventory::Entry> = installed.iter().filter(|e| is_kept(e)).cloned().collect();
    if args.crds {
        refuse_while_apps_exist(&client, &kept, args.force, args.dry_run).await?;
    }
    let mut opts = SyncOptions::new(&app, &ns);
    opts.prune = true;
    opts.dry_run = args.dry_run;
    opts.timeout = args.timeout;
    let show = args.output == OutputFormat::Table && std::io::stderr().is_terminal();
    // The kept objects carry moor.dev/prune=false (see manifests.rs): the engine skips them.
    let mut set = Engine::new(client.clone())
        .sync(vec![], &opts, &progress(show))
        .await
        .with_context(|| format!("failed to uninstall moor from namespace {ns}"))?;
    set.objects
        .retain(|o| !kept.iter().any(|k| k.key() == o.key));
    let engine = Engine::new(client.clone());
    if !args.dry_run {
        engine.forget(&app).await?;
    }
    // CRDs (their custom resources with them) before the namespace; forgotten first, since
    // the inventory lives in moor-system.
    let mut last: Vec<&inventory::Entry> = kept.iter().collect();
    last.sort_by_key(|e| e.kind == "Namespace");
    for e in last {
        let (change, message) = if args.crds {
            if !args.dry_run {
                delete(&client, e).await?;
            }
            (Change::Pruned, String::new())
        } else {
            if !args.dry_run {
                release(&client, e, &app).await?;
            }
            (
                Change::Skipped,
                "kept (uninstall --crds deletes it); no longer tracked".to_string(),
            )
        };
        set.objects.push(ObjectResult {
            key: e.key(),
            api_version: e.api_version(),
            change,
            message,
        });
    }
    print_set(&set, args.output)?;
    Ok(0)
}

fn api_of(client: &Client, e: &inventory::Entry) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(&e.group, &e.version, &e.kind));
    Api::all_with(client.clone(), &ar)
}

async fn delete(client: &Client, e: &inventory::Entry) -> Result<()> {
    match api_of(client, e)
        .delete(&e.name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(err) => Err(err).with_context(|| format!("failed to delete {}", e.key())),
    }
}

/// Drops install's tracking id and label from a kept object, so whoever manages it next (a
/// reinstall elsewhere, Argo CD, an Application) may adopt it. Only when it is still ours.
async fn release(client: &Client, e: &inventory::Entry, app: &str) -> Result<()> {
    let api = api_of(client, e);
    let Some(live) = api.get_opt(&e.name).await? else {
        return Ok(());
    };
    let ours = live
        .annotations()
        .get(ANNOTATION_TRACKING)
        .and_then(|t| moor_types::tracking_app(t))
        == Some(app);
    if !ours {
        return Ok(());
    }
    let patch = json!({"metadata": {
        "annotations": {ANNOTATION_TRACKING: null, moor_types::ANNOTATION_PRUNE: null},
        "labels": {LABEL_APP: null}}});
    api.patch(&e.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("failed to release {}", e.key()))?;
    Ok(())
}

/// With `--crds`: deleting the CRDs deletes every Application. Refused while any exists unless
/// `--force` (a script cannot answer Flux's confirmation prompt); forced, their finalizers go
/// first, as `flux uninstall` does, so the workloads they manage stay and nothing hangs on a
/// finalizer whose controller was just deleted.
async fn refuse_while_apps_exist(
    client: &Client,
    kept: &[inventory::Entry],
    force: bool,
    dry_run: bool,
) -> Result<()> {
    let mut apps = vec![];
    let mut all = vec![];
    for crd in kept.iter().filter(|e| e.kind == "CustomResourceDefinition") {
        for obj in custom_resources(client, &crd.name).await? {
            if crd.name.starts_with("applications.") {
                apps.push(format!(
                    "{}/{}",
                    obj.1.namespace().unwrap_or_default(),
                    obj.1.name_any()
                ));
            }
            all.push(obj);
        }
    }
    if !apps.is_empty() && !force {
        apps.sort();
        let n = apps.len();
        apps.truncate(5);
        bail!(
            "{n} Application(s) exist ({}{}): --crds would delete them all; delete them first \
             (moor app delete), or add --force to delete them and leave their objects in the cluster",
            apps.join(", "),
            if n > 5 { ", ..." } else { "" }
        );
    }
    if dry_run {
        return Ok(());
    }
    for (api, obj) in all {
        if obj.finalizers().is_empty() {
            continue;
        }
        let patch = json!({"metadata": {"finalizers": null}});
        api.patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .with_context(|| format!("failed to remove the finalizers of {}", obj.name_any()))?;
    }
    Ok(())
}

/// Every custom resource of CRD `name` (all namespaces), each with the API that reaches it.
async fn custom_resources(
    client: &Client,
    name: &str,
) -> Result<Vec<(Api<DynamicObject>, DynamicObject)>> {
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let Some(crd) = crds.get_opt(name).await? else {
        return Ok(vec![]);
    };
    let Some(version) = crd.spec.versions.iter().find(|v| v.storage) else {
        return Ok(vec![]);
    };
    let gvk = GroupVersionKind::gvk(&crd.spec.group, &version.name, &crd.spec.names.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &crd.spec.names.plural);
    let list = Api::<DynamicObject>::all_with(client.clone(), &ar)
        .list(&ListParams::default())
        .await
        .with_context(|| format!("failed to list the {} objects", crd.spec.names.plural))?;
    Ok(list
        .items
        .into_iter()
        .map(|o| {
            let api = match o.namespace() {
                Some(ns) => Api::namespaced_with(client.clone(), &ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
            (api, o)
        })
        .collect())
}

/// `moor version`: this client's, and the controller's from its Deployment's image tag. A
/// cluster out of reach is no error (exit 0): the client's version is still the answer.
pub async fn version(args: VersionArgs) -> Result<u8> {
    let commit = option_env!("MOOR_GIT_COMMIT")
        .map(|c| format!(" (commit {c})"))
        .unwrap_or_default();
    println!("client: {}{commit}", env!("CARGO_PKG_VERSION"));
    if args.client {
        return Ok(0);
    }
    let ns = args.target.namespace.clone();
    let found = tokio::time::timeout(args.timeout, controller_version(&args.target))
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "no answer within {}",
                humantime::format_duration(args.timeout)
            ))
        });
    match found {
        Ok(Some(image)) => {
            let tag = image_tag(&image).unwrap_or("latest");
            println!("controller: {tag} (image {image}, deployment {ns}/{DEPLOYMENT})");
        }
        Ok(None) => println!("controller: not installed (no deployment {ns}/{DEPLOYMENT})"),
        Err(e) => println!(
            "controller: not reachable ({})",
            moor_types::error_chain(e.as_ref())
        ),
    }
    Ok(0)
}

async fn controller_version(t: &InstallTarget) -> Result<Option<String>> {
    let client = connect(t).await?;
    let api: Api<Deployment> = Api::namespaced(client, &t.namespace);
    let Some(d) = api.get_opt(DEPLOYMENT).await? else {
        return Ok(None);
    };
    Ok(Some(controller_image(&d).unwrap_or_default()))
}
