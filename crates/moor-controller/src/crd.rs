//! The Application resource (moor.dev/v1alpha1, and argoproj.io/v1alpha1 with --argocd-compat),
//! with Argo CD's field names. One Rust type serves both groups: the API group is a runtime value
//! (`ApiResource`), which is why `Application` implements `kube::Resource` by hand.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, GroupVersionKind};
use moor_types::SyncOption;
use serde::{Deserialize, Serialize};

/// moor's own API group for Application.
pub const MOOR_GROUP: &str = "moor.dev";
/// Argo CD's API group, served with --argocd-compat.
pub const ARGO_GROUP: &str = "argoproj.io";
/// The Application API version in both groups.
pub const VERSION: &str = "v1alpha1";
/// The kind in both groups.
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

/// The Application resource in `group`: the type is one, the group a runtime value.
pub fn api_resource(group: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, VERSION, KIND), "applications")
}

/// An app: a source in Git, a destination cluster and namespace, and how to sync.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Application {
    /// `moor.dev/v1alpha1` or `argoproj.io/v1alpha1`, as the API server sends it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "apiVersion"
    )]
    pub api_version: Option<String>,
    /// `Application`, as the API server sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name, namespace, annotations (refresh), finalizers and the rest.
    pub metadata: ObjectMeta,
    /// What to deploy, where, and how to sync it (read with the fields moor does not
    /// implement listed in `spec.unsupported`).
    #[serde(deserialize_with = "crate::unsupported::spec_with_unsupported")]
    pub spec: ApplicationSpec,
    /// What the controller last found and did; None until its first reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationStatus>,
    /// A requested operation (manual sync, rollback); the controller runs it, records the result
    /// in status.operationState and clears it. It lives in the object, so it survives restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

/// `kube::Resource` for a type whose API group is a runtime value (`ApiResource`): kube's derive
/// fixes the group at compile time, and Application and AppProject are served in two groups.
macro_rules! dynamic_resource {
    ($ty:ident) => {
        impl kube::Resource for $ty {
            type DynamicType = kube::core::ApiResource;
            type Scope = kube::core::DynamicResourceScope;

            fn kind(dt: &kube::core::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.kind)
            }
            fn group(dt: &kube::core::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.group)
            }
            fn version(dt: &kube::core::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.version)
            }
            fn api_version(dt: &kube::core::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.api_version)
            }
            fn plural(dt: &kube::core::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.plural)
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(
                &mut self,
            ) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
pub(crate) use dynamic_resource;

dynamic_resource!(Application);

/// Variables substituted in the rendered objects (Flux's `postBuild`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables by name; they override those of `substitute_from`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub substitute: std::collections::BTreeMap<String, String>,
    /// ConfigMaps and Secrets in the Application's namespace whose data are variables; a later
    /// one overrides an earlier one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
}

/// A ConfigMap or Secret holding variables.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubstituteReference {
    /// `ConfigMap` or `Secret`.
    pub kind: String,
    /// Its name, in the Application's namespace.
    pub name: String,
    /// A missing one is skipped rather than stopping the app.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// What the user asks for, in Argo CD's field names.
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
    /// Where the manifests come from (one source). Unset when `sources` is given; read both
    /// through [`Application::sources`].
    #[serde(default, skip_serializing_if = "Source::is_unset")]
    pub source: Source,
    /// Argo CD 2.6+'s multiple sources: each non-`ref` source is rendered and the manifests
    /// merged; `ref` sources only lend files (`$ref/path` Helm value files). When non-empty,
    /// `source` is not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// The cluster and default namespace they go to.
    pub destination: Destination,
    /// Automated sync, sync options and retries; None: sync only when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Fields left out of drift detection (Argo CD's `ignoreDifferences`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<IgnoreDifference>,
    /// Applications (same namespace unless given) that must be Synced and Healthy first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<AppRef>,
    /// Health rules written as CEL expressions (Flux's `healthCheckExprs`): for the kinds they
    /// name, they replace the built-in rules and the controller-wide ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<moor_health::HealthCheckExpr>,
    /// How many deployments `status.history` keeps (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<u32>,
    /// Poll interval override, e.g. "30s" (default: the controller's --poll-interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<String>,
    /// Flux's field: while true the app is not reconciled (no fetch, sync or self-heal; its
    /// deletion still cascades). Setting it back to false reconciles at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// moor's extension (Flux's `postBuild`): variables substituted in the rendered objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Fields of the stored spec that moor does not implement, found when the Application is
    /// read (the typed fields above drop them); never written back.
    #[serde(skip)]
    pub unsupported: Vec<crate::unsupported::Unsupported>,
}

/// Where the manifests come from: repository, revision, path and renderer options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The Git repository (https, ssh, scp-like or file URL), or with `chart` a Helm
    /// repository (`https://…`) or OCI registry (`oci://host/path`).
    #[serde(rename = "repoURL", default)]
    pub repo_url: String,
    /// Branch, tag or commit to follow; the default branch when unset or `HEAD`. With
    /// `chart`: the chart version or a semver constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// A chart of the Helm repository or OCI registry `repoURL` (instead of a Git path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// In `spec.sources`: the name other sources' Helm `valueFiles` use as `$name/path` to
    /// read this source's files; a source with a `ref` is not rendered itself.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// In `spec.sources`: a name for the source, shown in errors and status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The app's directory in the repository; the root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Options for a plain directory of manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
    /// Argo CD's kustomize overrides, applied as an overlay over the app's kustomization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeSource>,
    /// Options for a Helm chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSource>,
}

/// Options for a plain directory of manifests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySource {
    /// Read subdirectories too.
    #[serde(default)]
    pub recurse: bool,
    /// Glob (or comma-separated / `{a,b}` globs) of files to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Glob (or comma-separated / `{a,b}` globs) of files to leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// How `.jsonnet` files are evaluated (Argo CD's `directory.jsonnet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<JsonnetSource>,
}

/// Argo CD's `directory.jsonnet`: external variables, top-level arguments and library paths.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetSource {
    /// External variables (`std.extVar`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlas: Vec<JsonnetVar>,
    /// Library directories, relative to the repository root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libs: Vec<String>,
}

/// One Jsonnet external variable or top-level argument.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonnetVar {
    /// Its name.
    pub name: String,
    /// A string, or Jsonnet code when `code`.
    #[serde(default)]
    pub value: String,
    /// `value` is Jsonnet code.
    #[serde(default)]
    pub code: bool,
}

/// Options of `helm template` for a chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmSource {
    /// Value files relative to the chart, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    /// Inline values (YAML), applied after the value files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Release name; the chart directory's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Values as an object, applied after `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_object: Option<serde_json::Value>,
    /// `--set` / `--set-string` parameters, applied last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<HelmParameter>,
    /// Leave out the chart's CRDs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_crds: bool,
    /// Leave out value files that do not exist instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_value_files: bool,
    /// The release namespace; the destination namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Argo CD's Helm version (`v3`): ignored, moor runs Helm 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Argo CD's passCredentials: accepted; charts come from Git, nothing is fetched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_credentials: bool,
    /// Fields moor does not read, kept so the spec round-trips.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// One Helm parameter (`--set`, or `--set-string` with `forceString`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    /// The value's path, e.g. `image.tag`.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub value: String,
    /// Keep numbers and booleans strings.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_string: bool,
}

/// Argo CD's kustomize overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSource {
    /// Image overrides: `name=newName:tag`, `name:tag`, `name@digest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Prefix of every object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Suffix of every object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Labels added to every object.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub common_labels: std::collections::BTreeMap<String, String>,
    /// Annotations added to every object.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub common_annotations: std::collections::BTreeMap<String, String>,
    /// Namespace of every namespaced object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Replica counts by workload name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<KustomizeReplica>,
    /// Inline kustomize patches, each with an optional target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<serde_json::Value>,
    /// Component directories relative to the app's path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Argo CD's kustomize version: ignored (logged), moor runs the one kustomize it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Fields moor does not read, kept so the spec round-trips.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// One kustomize replica override.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KustomizeReplica {
    /// The workload's name.
    #[serde(default)]
    pub name: String,
    /// Replicas to set (Argo CD accepts a number or a numeric string).
    #[serde(default)]
    pub count: serde_json::Value,
}

impl Source {
    /// Nothing set: `spec.source` of an app that uses `spec.sources`.
    pub fn is_unset(&self) -> bool {
        *self == Source::default()
    }

    /// A chart from a Helm repository or OCI registry rather than a Git path.
    pub fn is_chart(&self) -> bool {
        self.chart.as_deref().is_some_and(|c| !c.is_empty())
    }
}

impl KustomizeSource {
    /// No field is set.
    pub fn is_empty(&self) -> bool {
        *self == KustomizeSource::default()
    }
}

/// The cluster (by server URL or name) and the default namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// API server URL of the cluster; `https://kubernetes.default.svc` is the controller's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Cluster name from a cluster Secret (instead of `server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace given to namespaced objects that have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// When and how the app syncs without being asked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync on every new revision without being asked; None: manual only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    /// Argo CD's `syncOptions` strings (e.g. `Prune=false`), read through [`Application::sync_options`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Whether and how a failed sync is tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

/// Automated sync and what it may do.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Automated {
    /// Automated syncs delete objects that left Git.
    #[serde(default)]
    pub prune: bool,
    /// Re-apply when live objects drift from Git, not only on new revisions.
    #[serde(default)]
    pub self_heal: bool,
    /// Argo CD's `allowEmpty`: an automated sync may leave the app with zero objects. Off by
    /// default, so a broken generator or an emptied path never prunes a whole app.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_empty: bool,
}

/// Argo CD's `syncPolicy.retry`: trying a failed sync again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    /// Retries of a failed revision: none when 0 or unset, no limit when negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Wait between retries; 5s doubling up to 3m when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// The wait between retries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// e.g. "5s"
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Multiplier of the wait after each retry (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// Longest wait, e.g. "3m" (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
}

/// One `ignoreDifferences` entry: which objects, which fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreDifference {
    /// API group of the objects ("" for the core group).
    #[serde(default)]
    pub group: String,
    /// Kind of the objects.
    pub kind: String,
    /// Only the object of this name; any when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects in this namespace; any when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 pointers to the ignored fields.
    #[serde(default)]
    pub json_pointers: Vec<String>,
    /// Fields these field managers own are ignored too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

/// A reference to another Application (`dependsOn`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppRef {
    /// Name of the Application.
    pub name: String,
    /// Its namespace; the referring app's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A requested operation; only sync is known.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// A sync to run (the only operation moor knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who asked: `{username: ...}` or Argo CD's `{automated: true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<serde_json::Value>,
}

/// A requested sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Commit to sync (rollback); default: spec.source.targetRevision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// With `spec.sources`: the revision of each source, in order (rollback); default: each
    /// source's targetRevision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Prune in this sync; the sync policy's setting when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Validate and dry-run only: report what the sync would do, write nothing, run no hook.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Argo CD's selective sync: only these objects are applied (and pruned); no hooks run.
    /// Empty: the whole app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<SyncOperationResource>,
}

/// One object of a selective sync (`operation.sync.resources[]`); an empty group is the core
/// group, an empty namespace a cluster-scoped object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResource {
    /// API group, `` for the core group.
    #[serde(default)]
    pub group: String,
    /// Kind. Defaulted, as every field here, so that a malformed entry fails its sync (no such
    /// object) instead of making the whole Application unreadable.
    #[serde(default)]
    pub kind: String,
    /// Namespace; empty or absent for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// What the controller last found and did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Whether live matches Git, and at which revision.
    #[serde(default)]
    pub sync: SyncStatusField,
    /// The app's health: its least healthy object's.
    #[serde(default)]
    pub health: HealthStatusField,
    /// Sync and health of each object, desired or left to prune.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// Errors a user should see (comparison, sync, spec).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last (or running) operation and its result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    /// Past deployments, newest last, up to `spec.revisionHistoryLimit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// The spec generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the last reconcile finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
    /// With `--shards auto`: the identity of the replica that reconciled the app last (its
    /// shard), as `moor app get` shows it.
    #[serde(
        default,
        rename = "reconciledBy",
        skip_serializing_if = "Option::is_none"
    )]
    pub reconciled_by: Option<String>,
}

/// The app's sync status and the revision it was compared at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStatusField {
    /// A [`moor_types::SyncStatus`] (a string: other controllers may write other words).
    #[serde(default)]
    pub status: String,
    /// The commit compared against (with `spec.sources`, every source's revision joined by
    /// `, `, as moor compares them as one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// With `spec.sources`: the revision of each source, in order (Argo CD's field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Author, time and subject of `revision` (of the first Git source with `spec.sources`),
    /// for lists that show the commit message next to the SHA.
    #[serde(
        default,
        rename = "revisionMetadata",
        skip_serializing_if = "Option::is_none"
    )]
    pub revision_metadata: Option<RevisionMetadata>,
}

/// Who made a commit, when, and its subject line (Argo CD's `RevisionMetadata` fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RevisionMetadata {
    /// `Name <email>` of the commit's author.
    #[serde(default)]
    pub author: String,
    /// When it was authored (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The commit message's first line, at most 200 characters.
    #[serde(default)]
    pub message: String,
}

/// A health status and why.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthStatusField {
    /// A [`moor_types::HealthStatus`] (a string: other controllers may write other words).
    #[serde(default)]
    pub status: String,
    /// Serialized even when None: a status merge patch must clear an old message.
    #[serde(default)]
    pub message: Option<String>,
}

/// Sync and health of one object of the app.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceStatus {
    /// API group ("" for the core group).
    #[serde(default)]
    pub group: String,
    /// API version it is applied at.
    #[serde(default)]
    pub version: String,
    /// Its kind.
    pub kind: String,
    /// None for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// A [`moor_types::SyncStatus`]: Synced or OutOfSync.
    pub status: String,
    /// Its health status and why, as the app's health is judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatusField>,
}

/// An error condition shown on the app.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// A [`moor_types::ConditionType`], e.g. ComparisonError, SyncError, InvalidSpecError.
    #[serde(rename = "type")]
    pub type_: String,
    /// What went wrong, in words for a person.
    pub message: String,
    /// When it was set (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// An operation's progress and result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// A [`moor_types::OperationPhase`]: Running, Succeeded, Failed (Argo CD also writes Error
    /// and Terminating).
    pub phase: String,
    /// What happened, in words for a person.
    #[serde(default)]
    pub message: String,
    /// The operation this state is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// When it started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended (RFC 3339); None while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// What the sync did to each object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncResult>,
    /// How many times a failed sync of this revision has been retried (`syncPolicy.retry`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_count: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncResult {
    /// The commit synced (with `spec.sources`: every source's, joined by `, `).
    #[serde(default)]
    pub revision: String,
    /// With `spec.sources`: the revision of each source, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// One result per object the sync touched or skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
}

/// What one sync did to one object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceResult {
    /// API group ("" for the core group).
    #[serde(default)]
    pub group: String,
    /// API version it was applied at.
    #[serde(default)]
    pub version: String,
    /// Its kind.
    pub kind: String,
    /// None for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// created | configured | unchanged | pruned | skipped; for a hook, its `hookPhase`
    pub status: String,
    /// Why, when it was skipped; how a hook ended.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// For a hook: the phase it ran in (Argo CD's `hookType`: PreSync, Sync, PostSync, SyncFail).
    #[serde(default, rename = "hookType", skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<String>,
    /// For a hook: Running, Succeeded or Failed (Argo CD's `hookPhase`).
    #[serde(default, rename = "hookPhase", skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<String>,
}

/// One past deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Increasing number of the deployment, for rollback by id.
    pub id: i64,
    /// The commit deployed.
    pub revision: String,
    /// When the sync finished (RFC 3339).
    pub deployed_at: String,
    /// The source as it was then, so a rollback renders the same thing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// With `spec.sources`: the revision of each source, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// With `spec.sources`: the sources as they were then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// Author, time and subject of `revision` (of the first Git source with `spec.sources`).
    #[serde(
        default,
        rename = "revisionMetadata",
        skip_serializing_if = "Option::is_none"
    )]
    pub revision_metadata: Option<RevisionMetadata>,
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

    /// The app's sources: `spec.sources` when given, else the one `spec.source`.
    pub fn sources(&self) -> &[Source] {
        if self.spec.sources.is_empty() {
            std::slice::from_ref(&self.spec.source)
        } else {
            &self.spec.sources
        }
    }

    /// Whether the app uses `spec.sources` (revisions are then recorded per source).
    pub fn is_multi_source(&self) -> bool {
        !self.spec.sources.is_empty()
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

    /// `syncPolicy.automated`, if set.
    pub fn automated(&self) -> Option<&Automated> {
        self.spec.sync_policy.as_ref()?.automated.as_ref()
    }

    /// `syncPolicy.retry`, if set.
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

    /// Whether `syncPolicy.syncOptions` holds `opt`.
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
