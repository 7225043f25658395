//! Admission of an Application by its project, before the controller reads a byte of its
//! source or touches its destination: the project must exist, let the app live in its
//! namespace, read its repository and write to its destination cluster and namespace; then the
//! app's writes are made as the service account the project (or the app) names, so the API
//! server's RBAC has the final word on every object. Which objects a rendered app may hold is
//! checked after rendering (`refused_objects`), before the first dry-run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, PostParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use moor_types::{ConditionType, Manifest, ObjKey};

use crate::clusters::{Cluster, ClusterError, Clusters};
use crate::crd::Application;
use crate::project::{
    AppProject, AppProjectSpec, DEFAULT_PROJECT, default_project_spec, project_resource,
};
use crate::project_rules::{self, Target};

/// Why an app is not reconciled: the condition to show and the message naming the rule.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// Condition type written to the app's status.
    pub condition: ConditionType,
    /// What was refused and by which rule.
    pub message: String,
}

fn invalid(message: String) -> Refusal {
    Refusal {
        condition: ConditionType::InvalidSpecError,
        message,
    }
}

/// Why the controller cannot watch projects.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// The AppProject CRD of an API group is missing.
    #[error(
        "the AppProject CRD appprojects.{0} is not installed or not served: apply deploy/crds/ first"
    )]
    MissingCrd(String, #[source] kube::Error),
    /// The `default` project could not be made.
    #[error("failed to create the default AppProject in namespace {0}")]
    CreateDefault(String, #[source] kube::Error),
}

/// What admission hands the reconcile: the cluster to write to (impersonating when a service
/// account applies) and the project whose object rules the rendered app must pass.
pub struct Admitted {
    /// The destination, its engine writing as the app's service account when one applies.
    pub cluster: Cluster,
    /// Project name, for messages.
    pub project: String,
    /// The project's rules.
    pub spec: AppProjectSpec,
    /// Destination namespace (`""` when the app names none).
    pub namespace: String,
}

/// The projects of each Application API group, watched in the controller's namespace, and the
/// controller's tenancy settings.
#[derive(Default)]
pub struct Tenancy {
    /// `--strict-projects`: no `default` project is created for the apps that name none.
    pub strict: bool,
    /// `--require-impersonation`: an app with no service account is not synced.
    pub require_impersonation: bool,
    /// The controller's namespace: projects live there, and its Applications need no
    /// `sourceNamespaces`.
    pub namespace: String,
    /// Told the name of every project created or changed, so its apps are admitted again at
    /// once rather than at their next poll.
    pub changed: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    stores: HashMap<String, Store<AppProject>>,
}

impl Tenancy {
    /// Watches the AppProjects of `group` in the controller's namespace; creates the `default`
    /// project there unless strict. Fails when the AppProject CRD of the group is not served.
    pub async fn watch(&mut self, home: &Client, group: &str) -> Result<(), TenancyError> {
        let ar = project_resource(group);
        let api: Api<AppProject> = Api::namespaced_with(home.clone(), &self.namespace, &ar);
        api.list(&kube::api::ListParams::default().limit(1))
            .await
            .map_err(|e| TenancyError::MissingCrd(group.to_string(), e))?;
        if !self.strict {
            create_default(&api, &ar)
                .await
                .map_err(|e| TenancyError::CreateDefault(self.namespace.clone(), e))?;
        }
        let writer = reflector::store::Writer::new(ar.clone());
        let store = writer.as_reader();
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .applied_objects();
        let changed = self.changed.clone();
        tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(p) => {
                        if let (Some(tx), Some(name)) = (&changed, p.metadata.name.clone()) {
                            let _ = tx.send(name);
                        }
                    }
                    Err(e) => tracing::warn!("watching AppProjects: {e}"),
                }
            }
        });
        self.stores.insert(group.to_string(), store);
        Ok(())
    }

    async fn project(&self, group: &str, name: &str) -> Option<Arc<AppProject>> {
        let store = self.stores.get(group)?;
        // Before the first list, every project would look missing.
        let _ = tokio::time::timeout(Duration::from_secs(10), store.wait_until_ready()).await;
        let ar = project_resource(group);
        store.get(&ObjectRef::new_with(name, ar).within(&self.namespace))
    }

    /// Admits `app` (of API group `group`) or says which rule refuses it.
    pub async fn admit(
        &self,
        app: &Application,
        group: &str,
        clusters: &Clusters,
    ) -> Result<Admitted, Refusal> {
        let name = app
            .spec
            .project
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_PROJECT);
        let Some(project) = self.project(group, name).await else {
            let why = if self.strict && name == DEFAULT_PROJECT {
                " (the controller runs with --strict-projects: every app needs a project an administrator created)"
            } else {
                ""
            };
            return Err(invalid(format!(
                "project {name:?} does not exist: no AppProject {name} in namespace {}{why}",
                self.namespace
            )));
        };
        let spec = &project.spec;
        let app_ns = app.metadata.namespace.as_deref().unwrap_or_default();
        if !project_rules::app_namespace(spec, app_ns, &self.namespace) {
            return Err(invalid(format!(
                "project {name:?} does not permit Applications in namespace {app_ns}: it is not in sourceNamespaces"
            )));
        }
        // Every source, `ref` sources and chart repositories included.
        for repo in app.sources().iter().map(|s| &s.repo_url) {
            if let Err(why) = project_rules::source_repo(spec, repo) {
                return Err(invalid(format!(
                    "project {name:?} does not permit repository {}: {why}",
                    moor_git::redact_url(repo)
                )));
            }
        }
        let cluster = clusters
            .for_destination(&app.spec.destination)
            .await
            .map_err(|e| invalid(moor_types::error_chain(&e)))?;
        if let Some(owner) = cluster.project.as_deref().filter(|p| *p != name) {
            return Err(invalid(format!(
                "cluster {} belongs to project {owner:?}, not to {name:?}",
                cluster.name
            )));
        }
        let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
        let target = Target {
            server: &cluster.server,
            name: &cluster.name,
            namespace: &namespace,
        };
        if !project_rules::destination(spec, target) {
            return Err(invalid(format!(
                "project {name:?} does not permit destination {} (server {}) namespace {}: it is not in destinations",
                cluster.name,
                cluster.server,
                if namespace.is_empty() {
                    "(none)"
                } else {
                    &namespace
                },
            )));
        }
        let account = project_rules::service_account(spec, target)
            .map_err(|why| invalid(format!("project {name:?}: {why}")))?
            .or_else(|| service_account_of(app));
        let cluster = match account {
            Some((ns, sa)) => clusters
                .impersonating(&cluster, &ns, &sa)
                .map_err(|e: ClusterError| invalid(moor_types::error_chain(&e)))?,
            None if self.require_impersonation => {
                return Err(invalid(format!(
                    "no service account to sync as: the controller runs with --require-impersonation, and neither \
                     project {name:?} (destinationServiceAccounts) nor the app (spec.serviceAccountName) names one"
                )));
            }
            None => cluster,
        };
        Ok(Admitted {
            cluster,
            project: name.to_string(),
            spec: spec.clone(),
            namespace,
        })
    }
}

/// Flux's `spec.serviceAccountName`: an account in the Application's own namespace, so a team
/// can only name accounts of a namespace it already controls.
fn service_account_of(app: &Application) -> Option<(String, String)> {
    let sa = app.spec.service_account_name.as_deref()?.trim();
    let ns = app.metadata.namespace.as_deref()?;
    (!sa.is_empty()).then(|| (ns.to_string(), sa.to_string()))
}

/// Creates the everything-allowed `default` project unless one exists (a user's is kept as is).
async fn create_default(
    api: &Api<AppProject>,
    ar: &kube::core::ApiResource,
) -> Result<(), kube::Error> {
    let mut project = AppProject {
        api_version: Some(AppProject::api_version(ar).into_owned()),
        kind: Some(AppProject::kind(ar).into_owned()),
        spec: default_project_spec(),
        ..AppProject::default()
    };
    project.metadata.name = Some(DEFAULT_PROJECT.into());
    let mut created = api.create(&PostParams::default(), &project).await;
    // The controller's namespace may not exist yet (a controller run outside the cluster, as
    // the inventory's namespace is made on first use too).
    if let Err(kube::Error::Api(s)) = &created
        && s.code == 404
    {
        let ns = api.namespace().unwrap_or_default().to_string();
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> =
            Api::all(api.clone().into_client());
        let obj = serde_json::from_value(serde_json::json!({"metadata": {"name": ns}}))
            .expect("a Namespace");
        match namespaces.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e),
        }
        created = api.create(&PostParams::default(), &project).await;
    }
    match created {
        Ok(_) => {
            tracing::info!("created the default AppProject ({})", ar.group);
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The rendered objects the project does not let the app manage, each with the rule it breaks;
/// empty when all are permitted. Runs before the first dry-run, so nothing refused is sent.
pub async fn refused_objects(admitted: &Admitted, manifests: &[Manifest]) -> Vec<String> {
    let default_ns = if admitted.namespace.is_empty() {
        "default"
    } else {
        &admitted.namespace
    };
    let keys: Vec<ObjKey> = admitted
        .cluster
        .engine
        .placement(manifests, default_ns)
        .await;
    project_rules::objects(
        &admitted.spec,
        &admitted.cluster.server,
        &admitted.cluster.name,
        &keys,
    )
}
