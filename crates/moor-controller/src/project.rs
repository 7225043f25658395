//! The AppProject resource (moor.dev/v1alpha1, and argoproj.io/v1alpha1 with --argocd-compat),
//! with Argo CD's field names and meaning: which repositories an app may read, which clusters
//! and namespaces it may write to, which kinds it may manage, where its Applications may live
//! and which service account its writes are made as. The rules themselves are pure functions
//! in `project_rules`; this module is the resource and where the controller finds it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, GroupVersionKind};
use serde::{Deserialize, Serialize};

use crate::crd::VERSION;

/// Kind of the project resource, as Argo CD names it.
pub const PROJECT_KIND: &str = "AppProject";
/// The project of an Application that names none (Argo CD's default).
pub const DEFAULT_PROJECT: &str = "default";

/// The API resource of AppProject in `group` (moor.dev, or argoproj.io with --argocd-compat).
pub fn project_resource(group: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, VERSION, PROJECT_KIND),
        "appprojects",
    )
}

/// A project: the boundary of what its Applications may read, where they may write and what.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppProject {
    /// `moor.dev/v1alpha1` or `argoproj.io/v1alpha1`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "apiVersion"
    )]
    pub api_version: Option<String>,
    /// Always `AppProject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (what `spec.project` of an Application names) and namespace (the controller's).
    pub metadata: ObjectMeta,
    /// The rules.
    #[serde(default)]
    pub spec: AppProjectSpec,
}

crate::crd::dynamic_resource!(AppProject);

/// Argo CD's AppProject spec, the fields moor enforces (others are kept by the API server and
/// ignored). Every list of patterns takes globs (`*`, `?`, `[a-z]`) and, where Argo CD allows it,
/// a leading `!` that denies what it matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// What the project is for, shown by `moor project get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Repository URLs the project's apps may read (globs, `!` denies).
    #[serde(default)]
    pub source_repos: Vec<String>,
    /// Clusters and namespaces the project's apps may write to.
    #[serde(default)]
    pub destinations: Vec<ProjectDestination>,
    /// Cluster-scoped kinds the apps may manage; none when empty (Argo CD's rule).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_whitelist: Vec<GroupKind>,
    /// Cluster-scoped kinds the apps may never manage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_blacklist: Vec<GroupKind>,
    /// Namespaced kinds the apps may manage; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_whitelist: Vec<GroupKind>,
    /// Namespaced kinds the apps may never manage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_blacklist: Vec<GroupKind>,
    /// Namespaces besides the controller's where the project's Applications may live (globs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_namespaces: Vec<String>,
    /// The service account each destination's writes are made as (first match wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destination_service_accounts: Vec<DestinationServiceAccount>,
}

impl AppProjectSpec {
    /// Whether an Application in `app_namespace` may use this project, which lives in
    /// `project_namespace` (the controller's): that namespace always, others only when
    /// `sourceNamespaces` matches (Argo CD's apps in any namespace).
    pub fn admits_app_namespace(&self, app_namespace: &str, project_namespace: &str) -> bool {
        crate::project_rules::app_namespace(self, app_namespace, project_namespace)
    }
}

/// One permitted destination: a cluster (by `server` URL or `name`) and a namespace, all globs;
/// a leading `!` makes the entry deny what it matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectDestination {
    /// API server URL pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Cluster name pattern (the `name` of a cluster Secret, `in-cluster` for the home cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A kind by API group and name, both globs (`""` is the core group).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupKind {
    /// API group pattern.
    #[serde(default)]
    pub group: String,
    /// Kind pattern.
    pub kind: String,
}

/// Argo CD's `destinationServiceAccounts` entry: writes to a matching destination are made as
/// `defaultServiceAccount` (`name`, in the destination namespace, or `namespace:name`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationServiceAccount {
    /// API server URL pattern.
    #[serde(default)]
    pub server: String,
    /// Namespace pattern.
    #[serde(default)]
    pub namespace: String,
    /// The service account to impersonate.
    pub default_service_account: String,
}

/// The project the controller creates when none named `default` exists (unless started with
/// `--strict-projects`): everything allowed, as in Argo CD, and, unlike Argo CD, Applications
/// in any namespace, so a controller upgraded to projects keeps reconciling what it did before.
pub fn default_project_spec() -> AppProjectSpec {
    let all = || GroupKind {
        group: "*".into(),
        kind: "*".into(),
    };
    AppProjectSpec {
        description: Some("Created by moor: every repository, destination and kind.".into()),
        source_repos: vec!["*".into()],
        destinations: vec![ProjectDestination {
            server: Some("*".into()),
            name: Some("*".into()),
            namespace: Some("*".into()),
        }],
        cluster_resource_whitelist: vec![all()],
        source_namespaces: vec!["*".into()],
        ..AppProjectSpec::default()
    }
}
