//! ImageUpdateAutomation: writes the images that ImagePolicies chose into Git (Flux-style
//! setter markers `# {"$imagepolicy": "ns:policy"}` under `update.path`), in one commit pushed
//! with retries; the Applications then deploy it like any other commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, future};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, ResourceExt};
use moor_git::Credentials;
use moor_image::{Author, Edits, ImageRef, PushOptions};
use moor_registry::crd::{Condition, ImagePolicy, ImageUpdateAutomation, READY, set_condition};
use moor_server::PushEvent;
use moor_types::ConditionReason;
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use crate::repo_credentials::{RepoCredentials, secret_file};
use crate::status::now;

#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    #[error("failed to update ImageUpdateAutomation {0}")]
    Status(String, #[source] kube::Error),
}

struct Ctx {
    client: Client,
    /// The controller's repository credentials, for automations without `secretRef`.
    creds: Arc<RepoCredentials>,
    /// Its own pushes are announced like a webhook, so the apps on that branch deploy at once.
    pushes: UnboundedSender<PushEvent>,
}

/// Runs the automation loop until the process stops. Each automation runs at its interval and
/// whenever an ImagePolicy of its namespace changes (a new image was chosen).
pub async fn run(
    client: Client,
    namespace: Option<String>,
    creds: Arc<RepoCredentials>,
    pushes: UnboundedSender<PushEvent>,
) {
    let (autos, policies): (Api<ImageUpdateAutomation>, Api<ImagePolicy>) = match &namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let ctl = Controller::new(autos, watcher::Config::default());
    let store = ctl.store();
    let ctx = Arc::new(Ctx {
        client,
        creds,
        pushes,
    });
    ctl.watches(
        policies,
        watcher::Config::default(),
        move |p: ImagePolicy| {
            let ns = p.namespace().unwrap_or_default();
            store
                .state()
                .into_iter()
                .filter(|a| a.namespace().as_deref() == Some(ns.as_str()))
                .map(|a| ObjectRef::from_obj(&*a))
                .collect::<Vec<_>>()
        },
    )
    .run(
        reconcile,
        |_, _, _| Action::requeue(Duration::from_secs(30)),
        ctx,
    )
    .for_each(|r| {
        if let Err(e) = r {
            tracing::debug!("image automation: {}", moor_types::error_chain(&e));
        }
        future::ready(())
    })
    .await;
}

async fn reconcile(
    auto: Arc<ImageUpdateAutomation>,
    ctx: Arc<Ctx>,
) -> Result<Action, AutomationError> {
    let ns = auto.namespace().unwrap_or_default();
    let name = auto.name_any();
    let interval = auto.interval().unwrap_or(Duration::from_secs(60));
    if auto.spec.suspend {
        return Ok(Action::await_change());
    }
    let mut status = auto.status.clone().unwrap_or_default();
    status.last_automation_run_time = Some(now());
    status.observed_generation = auto.metadata.generation;
    let (ok, reason, message) = match run_once(&auto, &ctx, &ns).await {
        Ok(UpdateOutcome::Pushed { commit, images }) => {
            let _ = ctx.pushes.send(PushEvent {
                repo_urls: vec![auto.spec.git.repo_url.clone()],
                git_ref: Some(format!("refs/heads/{}", auto.spec.git.branch)),
                branch: Some(auto.spec.git.branch.clone()),
                tag: None,
                after: Some(commit.clone()),
            });
            status.last_push_commit = Some(commit.clone());
            status.last_push_time = Some(now());
            (
                true,
                ConditionReason::Succeeded,
                format!("pushed {commit}: {images}"),
            )
        }
        Ok(UpdateOutcome::NothingToDo(why)) => (true, ConditionReason::Succeeded, why),
        Err((reason, msg)) => (false, reason, msg),
    };
    if !ok {
        tracing::warn!("ImageUpdateAutomation {ns}/{name}: {reason}: {message}");
    }
    set_condition(
        &mut status.conditions,
        Condition {
            type_: READY.into(),
            status: if ok { "True" } else { "False" }.into(),
            reason: reason.to_string(),
            message,
            last_transition_time: now(),
            observed_generation: auto.metadata.generation,
        },
    );
    let api: Api<ImageUpdateAutomation> = Api::namespaced(ctx.client.clone(), &ns);
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map_err(|e| AutomationError::Status(format!("{ns}/{name}"), e))?;
    Ok(Action::requeue(if ok {
        interval
    } else {
        interval.min(Duration::from_secs(30))
    }))
}

/// What one run of an ImageUpdateAutomation did (named apart from the Application reconcile's
/// `Outcome`).
enum UpdateOutcome {
    Pushed { commit: String, images: String },
    NothingToDo(String),
}

async fn run_once(
    auto: &ImageUpdateAutomation,
    ctx: &Ctx,
    ns: &str,
) -> Result<UpdateOutcome, (ConditionReason, String)> {
    let latest = moor_registry::list_latest_images(&ctx.client, Some(ns))
        .await
        .map_err(|e| {
            (
                ConditionReason::PolicyListFailed,
                format!("failed to list ImagePolicies: {e}"),
            )
        })?;
    let mut policies = BTreeMap::new();
    for (policy, image) in latest {
        match ImageRef::parse(&image) {
            Ok(r) => {
                policies.insert(policy, r);
            }
            Err(e) => return Err((ConditionReason::InvalidImage, e.to_string())),
        }
    }
    if policies.is_empty() {
        return Ok(UpdateOutcome::NothingToDo(format!(
            "no ImagePolicy in {ns} has chosen an image yet"
        )));
    }
    let git = &auto.spec.git;
    let mut opts = PushOptions::new(&git.repo_url);
    opts.branch = Some(git.branch.clone());
    opts.credentials = credentials(auto, ctx, ns)
        .await
        .map_err(|e| (ConditionReason::InvalidSecret, e))?;
    opts.author = Author {
        name: git.commit.author.name.clone(),
        email: git.commit.author.email.clone(),
    };
    if let Some(t) = &git.commit.message_template {
        opts.message_template = t.clone();
    }
    opts.vars = vec![("path".into(), auto.spec.update.path.clone())];
    let path = auto.spec.update.path.clone();
    let edits = Edits {
        images: vec![],
        policies,
    };
    let outcome = moor_image::commit_and_push(&opts, |root| {
        moor_image::plan_dir(root, &path, &edits).map(|p| p.files)
    })
    .await
    .map_err(|e| {
        (
            ConditionReason::GitOperationFailed,
            moor_types::error_chain(&e),
        )
    })?;
    let images: Vec<String> = outcome
        .files
        .iter()
        .flat_map(|f| {
            f.changes
                .iter()
                .map(|c| format!("{} -> {}", c.image, c.new))
        })
        .collect();
    match outcome.commit {
        Some(commit) => Ok(UpdateOutcome::Pushed {
            commit,
            images: images.join(", "),
        }),
        None => Ok(UpdateOutcome::NothingToDo(
            "the manifests already hold the latest images".into(),
        )),
    }
}

/// Git credentials from `spec.secretRef` (username/password, or identity + known_hosts for ssh),
/// which the automation names explicitly; else those of the controller's repository Secrets and
/// environment that cover the repository URL, by the same rule as Applications' fetches.
async fn credentials(
    auto: &ImageUpdateAutomation,
    ctx: &Ctx,
    ns: &str,
) -> Result<Credentials, String> {
    let Some(r) = &auto.spec.secret_ref else {
        return Ok(ctx.creds.for_url(&auto.spec.git.repo_url, None).await);
    };
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), ns)
        .get(&r.name)
        .await
        .map_err(|e| format!("failed to read Secret {ns}/{}: {e}", r.name))?;
    let data = secret.data.unwrap_or_default();
    let field = |k: &str| {
        data.get(k)
            .map(|b| String::from_utf8_lossy(&b.0).to_string())
            .filter(|v| !v.is_empty())
    };
    let file = |k: &str| secret_file(ctx.creds.key_dir(), &field(k)?, k);
    Ok(Credentials {
        username: field("username"),
        password: field("password"),
        ssh_key: file("identity"),
        known_hosts: file("known_hosts"),
    })
}

/// Whether the image automation CRDs are installed (the controller runs those loops only then).
pub async fn installed(client: &Client) -> bool {
    let lp = ListParams::default().limit(1);
    Api::<ImageUpdateAutomation>::all(client.clone())
        .list(&lp)
        .await
        .is_ok()
        && Api::<ImagePolicy>::all(client.clone())
            .list(&lp)
            .await
            .is_ok()
}
