//! The Application resource (moor.dev/v1alpha1, and argoproj.io/v1alpha1 with --argocd-compat),
//! with Argo CD's field names. One Rust type serves both groups: the API group is a runtime value
//! (`ApiResource`), which is why `Application` implements `kube::Resource` by hand.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, GroupVersionKind};
use moor_types::SyncOption;
use serde::{Deserialize, Serialize};

pub const MOOR_GROUP: &str = "moor.dev";
pub const ARGO_GROUP: &str = "argoproj.io";
pub const VERSION: &str = "v1alpha1";
pub const KIND: &str = "Application";
/// Finalizer that makes deleting an Application delete (cascade) the objects it manages.
pub const FINALIZER: &str = "moor.dev/resources-finalizer";
/// Annotation asking the controller to fetch the source afresh and compare now (Argo CD's
/// refresh); the controller removes it once the status reflects the fresh comparison.
pub const REFRESH_ANNOTATION: &str = "moor.dev/refresh";
/// Argo CD's refresh annotation, honoured the same way for manifests and tools moved from it.
pub const ARGO_REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";
/// The in-cluster destination, as in Argo CD.
pub const IN_CLUSTER: &str = "https://kubernetes.default.svc";

pub fn api_resource(group: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, VERSION, KIND), "applications")
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Application {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "apiVersion"
    )]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub metadata: ObjectMeta,
    pub spec: ApplicationSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationStatus>,
    /// A requested operation (manual sync, rollback); the controller runs it, records the result
    /// in status.operationState and clears it. It lives in the object, so it survives restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

impl kube::Resource for Application {
    type DynamicType = ApiResource;
    type Scope = kube::core::DynamicResourceScope;

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.kind)
    }
    fn group(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.group)
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.version)
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.api_version)
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.plural)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The AppProject (in the controller's namespace) whose rules bound this app; `default`
    /// when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Flux's field: the service account, in the Application's namespace, that the app's reads
    /// and writes are made as (used when the project's `destinationServiceAccounts` names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    pub source: Source,
    pub destination: Destination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<IgnoreDifference>,
    /// Applications (same namespace unless given) that must be Synced and Healthy first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<AppRef>,
    /// Health rules written as CEL expressions (Flux's `healthCheckExprs`): for the kinds they
    /// name, they replace the built-in rules and the controller-wide ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<moor_health::HealthCheckExpr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<u32>,
    /// Poll interval override, e.g. "30s" (default: the controller's --poll-interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSource>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySource {
    #[serde(default)]
    pub recurse: bool,
    /// Glob (or comma-separated / `{a,b}` globs) of files to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmSource {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Automated {
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub self_heal: bool,
    /// Argo CD's `allowEmpty`: an automated sync may leave the app with zero objects. Off by
    /// default, so a broken generator or an emptied path never prunes a whole app.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_empty: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// e.g. "5s"
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreDifference {
    #[serde(default)]
    pub group: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default)]
    pub json_pointers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who asked: `{username: ...}` or Argo CD's `{automated: true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Commit to sync (rollback); default: spec.source.targetRevision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    #[serde(default)]
    pub sync: SyncStatusField,
    #[serde(default)]
    pub health: HealthStatusField,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStatusField {
    /// A [`moor_types::SyncStatus`] (a string: other controllers may write other words).
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthStatusField {
    /// A [`moor_types::HealthStatus`] (a string: other controllers may write other words).
    #[serde(default)]
    pub status: String,
    /// Serialized even when None: a status merge patch must clear an old message.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceStatus {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// A [`moor_types::SyncStatus`]: Synced or OutOfSync.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatusField>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// A [`moor_types::ConditionType`], e.g. ComparisonError, SyncError, InvalidSpecError.
    #[serde(rename = "type")]
    pub type_: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// A [`moor_types::OperationPhase`]: Running, Succeeded, Failed (Argo CD also writes Error
    /// and Terminating).
    pub phase: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncResult>,
    /// How many times a failed sync of this revision has been retried (`syncPolicy.retry`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_count: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncResult {
    #[serde(default)]
    pub revision: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceResult {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// created | configured | unchanged | pruned | skipped
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: i64,
    pub revision: String,
    pub deployed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl Application {
    /// The app identity written into tracking annotations, labels and the inventory's name:
    /// `namespace_name` for moor.dev, `argo_namespace_name` for argoproj.io. So Applications
    /// with one name in two namespaces, or in the two API groups, never claim each other's
    /// objects; and as namespaces and names hold no `_`, no `moor sync --app NAME` (which
    /// refuses `_`) can be taken for an Application.
    pub fn app_id(&self, group: &str) -> String {
        let ns = self.metadata.namespace.as_deref().unwrap_or("default");
        let name = self.metadata.name.as_deref().unwrap_or("");
        if group == ARGO_GROUP {
            format!("argo_{ns}_{name}")
        } else {
            format!("{ns}_{name}")
        }
    }

    /// The refresh annotations present on the app (moor's and Argo CD's).
    pub fn refresh_requested(&self) -> Vec<&'static str> {
        let annotations = self.metadata.annotations.as_ref();
        [REFRESH_ANNOTATION, ARGO_REFRESH_ANNOTATION]
            .into_iter()
            .filter(|a| annotations.is_some_and(|m| m.contains_key(*a)))
            .collect()
    }

    /// Whether a sync may leave the app with no objects (`syncPolicy.automated.allowEmpty`).
    pub fn allows_empty(&self) -> bool {
        self.automated().is_some_and(|a| a.allow_empty)
    }

    pub fn automated(&self) -> Option<&Automated> {
        self.spec.sync_policy.as_ref()?.automated.as_ref()
    }

    pub fn retry(&self) -> Option<&Retry> {
        self.spec.sync_policy.as_ref()?.retry.as_ref()
    }

    /// `syncPolicy.syncOptions`, typed; options moor does not know come back as `Unknown`.
    pub fn sync_options(&self) -> impl Iterator<Item = SyncOption> + '_ {
        let opts = self.spec.sync_policy.as_ref().map(|p| &p.sync_options[..]);
        opts.unwrap_or_default()
            .iter()
            .map(|o| SyncOption::parse(o))
    }

    pub fn has_sync_option(&self, opt: SyncOption) -> bool {
        self.sync_options().any(|o| o == opt)
    }

    /// `spec.ignoreDifferences` as the engine's rules.
    pub fn ignore_rules(&self) -> Vec<moor_apply::IgnoreRule> {
        self.spec
            .ignore_differences
            .iter()
            .map(|i| moor_apply::IgnoreRule {
                group: i.group.clone(),
                kind: i.kind.clone(),
                name: i.name.clone(),
                namespace: i.namespace.clone(),
                json_pointers: i.json_pointers.clone(),
                managed_fields_managers: i.managed_fields_managers.clone(),
            })
            .collect()
    }
}
