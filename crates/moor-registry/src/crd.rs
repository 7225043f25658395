//! The image automation resources (moor.dev/v1alpha1, namespaced), shaped after Flux's:
//! - `ImageRepository`: a registry repository to scan for tags every `interval`,
//! - `ImagePolicy`: how to pick the latest tag of an ImageRepository,
//! - `ImageUpdateAutomation`: where to write the picked images (a Git branch, setter markers).
//!
//! Plain serde types; the schemas in deploy/crds/image*.yaml mirror them field for field.

use std::borrow::Cow;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// API group of the image automation resources.
pub const GROUP: &str = "moor.dev";
/// API version of the image automation resources.
pub const VERSION: &str = "v1alpha1";
/// `group/version`, as objects write it.
pub const API_VERSION: &str = "moor.dev/v1alpha1";

/// The condition every image resource reports.
pub const READY: &str = moor_types::ConditionType::Ready.as_str();

/// Flux's default: cosign signatures and attestations are not images.
pub const DEFAULT_EXCLUSION_LIST: &[&str] = &[r"^.*\.sig$"];
/// Scan and run interval when a resource sets none (Flux's default).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

macro_rules! namespaced_resource {
    ($ty:ident, $kind:literal, $plural:literal) => {
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = kube::core::NamespaceResourceScope;

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }
            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(GROUP)
            }
            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(VERSION)
            }
            fn api_version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(API_VERSION)
            }
            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl $ty {
            /// The kind, for objects built in code and messages.
            pub const KIND: &'static str = $kind;
            /// The resource name in API paths.
            pub const PLURAL: &'static str = $plural;

            /// `namespace/name`.
            pub fn key(&self) -> String {
                format!(
                    "{}/{}",
                    self.metadata.namespace.as_deref().unwrap_or(""),
                    self.metadata.name.as_deref().unwrap_or("")
                )
            }
        }
    };
}

namespaced_resource!(ImageRepository, "ImageRepository", "imagerepositories");
namespaced_resource!(ImagePolicy, "ImagePolicy", "imagepolicies");
namespaced_resource!(
    ImageUpdateAutomation,
    "ImageUpdateAutomation",
    "imageupdateautomations"
);

/// A reference to an object in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalObjectReference {
    /// Name of the object, in the referrer's namespace.
    pub name: String,
}

/// A Kubernetes-style condition (`type`, `status`, `reason`, `message`, `lastTransitionTime`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// What the condition is about (`Ready` for every image resource).
    #[serde(rename = "type")]
    pub type_: String,
    /// True | False | Unknown
    pub status: String,
    /// A CamelCase word saying why, for machines and filters.
    pub reason: String,
    /// Why, in words for a person.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    #[serde(default)]
    pub last_transition_time: String,
    /// The spec generation the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Sets the condition of `new.type_`, keeping the transition time when the status is unchanged.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status && !old.last_transition_time.is_empty() {
                new.last_transition_time = old.last_transition_time.clone();
            }
            *old = new;
        }
        None => conditions.push(new),
    }
}

/// The condition `type_`, if set.
pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

// ---------------------------------------------------------------------------------------------
// ImageRepository

/// A registry repository scanned for tags every interval.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImageRepository {
    /// `moor.dev/v1alpha1`, as the API server sends it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "apiVersion"
    )]
    pub api_version: Option<String>,
    /// The kind, as the API server sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name, namespace, labels and the rest of the standard metadata.
    pub metadata: ObjectMeta,
    /// Which repository to scan and how.
    pub spec: ImageRepositorySpec,
    /// What the controller last observed; None until its first reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ImageRepositoryStatus>,
}

/// What to scan and how.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// `host[:port]/repository` without tag (`nginx` is `docker.io/library/nginx`).
    pub image: String,
    /// How often to scan, e.g. `5m`, `1h30m` (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// A Secret with `.dockerconfigjson` holding credentials for the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Regexes of tags to ignore; unset means [`DEFAULT_EXCLUSION_LIST`], empty means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,
    /// Plain HTTP instead of HTTPS.
    #[serde(default)]
    pub insecure: bool,
    /// Stop scanning (the last results stay).
    #[serde(default)]
    pub suspend: bool,
}

/// What the last scan found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositoryStatus {
    /// `registry/repository` as scanned, e.g. `docker.io/library/nginx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_image_name: Option<String>,
    /// What the last successful scan found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_result: Option<ScanResult>,
    /// Ready, with why not when a scan fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The spec generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The summary of one scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// Tags after the exclusion list.
    pub tag_count: i64,
    /// When the scan finished (RFC 3339).
    pub scan_time: String,
    /// Up to ten tags, in reverse alphabetical order (as Flux reports them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latest_tags: Vec<String>,
}

impl ImageRepository {
    /// The scan interval; `Err` says what is wrong with spec.interval.
    pub fn interval(&self) -> Result<Duration, String> {
        parse_interval(self.spec.interval.as_deref())
    }

    /// The regexes of tags to leave out, with the default applied.
    pub fn exclusion_list(&self) -> Vec<String> {
        match &self.spec.exclusion_list {
            Some(l) => l.clone(),
            None => DEFAULT_EXCLUSION_LIST
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// `5m`, `1h30m`, `90s` (Go duration units ms, s, m, h); unset is [`DEFAULT_INTERVAL`].
pub fn parse_interval(s: Option<&str>) -> Result<Duration, String> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_INTERVAL);
    };
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("invalid interval {s:?} (write e.g. 5m or 1h30m): {e}"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("interval {s:?} is shorter than 1s"));
    }
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// ImagePolicy

/// How to choose the latest tag of an ImageRepository.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImagePolicy {
    /// `moor.dev/v1alpha1`, as the API server sends it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "apiVersion"
    )]
    pub api_version: Option<String>,
    /// The kind, as the API server sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name, namespace, labels and the rest of the standard metadata.
    pub metadata: ObjectMeta,
    /// Which repository and how to choose its latest tag.
    pub spec: ImagePolicySpec,
    /// What the controller last observed; None until its first reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ImagePolicyStatus>,
}

/// The repository to choose from, and the rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicySpec {
    /// The ImageRepository (same namespace) whose tags are chosen from.
    pub image_repository_ref: LocalObjectReference,
    /// How tags are ordered to pick the latest.
    pub policy: PolicyChoice,
    /// Which tags take part, and what part of them is compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<FilterTags>,
}

/// Exactly one of the three.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyChoice {
    /// The highest version in a semver range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemverPolicy>,
    /// The last tag in alphabetical order (or the first, with `desc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<OrderPolicy>,
    /// The greatest number (or the smallest, with `desc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<OrderPolicy>,
}

/// Choose the highest version that satisfies a range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SemverPolicy {
    /// e.g. `>=1.0.0 <2.0.0`, `^1.2`, `1.x`.
    pub range: String,
}

/// Choose by alphabetical or numerical order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderPolicy {
    /// `asc` (default: the greatest wins) or `desc` (the smallest wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// Which tags take part in the choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterTags {
    /// Tags must match this regex.
    pub pattern: String,
    /// What of the match the policy compares, e.g. `$ts` (default: the whole tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

/// The tag chosen and when it changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyStatus {
    /// `<spec.image of the repository>:<tag>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_image: Option<String>,
    /// `latestImage` split into name and tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ref: Option<ImageRef>,
    /// The latestImage before the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_previous_image: Option<String>,
    /// Ready, with why not when no tag could be chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The spec generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// An image split into name and tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// The image name without tag.
    pub name: String,
    /// The tag chosen.
    pub tag: String,
}

impl ImagePolicy {
    /// The latest image this policy resolved (status.latestImage), if any.
    pub fn latest_image(&self) -> Option<&str> {
        self.status.as_ref()?.latest_image.as_deref()
    }
}

// ---------------------------------------------------------------------------------------------
// ImageUpdateAutomation

/// Where to write the images the policies chose: a Git branch with setter markers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImageUpdateAutomation {
    /// `moor.dev/v1alpha1`, as the API server sends it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "apiVersion"
    )]
    pub api_version: Option<String>,
    /// The kind, as the API server sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name, namespace, labels and the rest of the standard metadata.
    pub metadata: ObjectMeta,
    /// Which Git branch to update and where in it.
    pub spec: ImageUpdateAutomationSpec,
    /// What the controller last observed; None until its first reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ImageUpdateAutomationStatus>,
}

/// Which repository and branch, how often, and with what credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// Repository, branches and commit details.
    pub git: GitSpec,
    /// Where in the repository and by which strategy images are updated.
    #[serde(default)]
    pub update: UpdateSpec,
    /// How often to run, e.g. `5m` (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Git credentials: a Secret as the Application controller reads them (username/password,
    /// sshPrivateKey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Stop running (nothing is committed until it is unset).
    #[serde(default)]
    pub suspend: bool,
}

/// The repository and branches the automation works on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitSpec {
    /// The repository to clone and push to.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The branch to check out (and push to, unless pushBranch is set).
    pub branch: String,
    /// Push to this branch instead of `branch` (e.g. to open a pull request from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_branch: Option<String>,
    /// Author and message of the commits.
    pub commit: CommitSpec,
}

/// How the automation's commits are written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// Who the commits are by.
    pub author: CommitAuthor,
    /// Commit message with placeholders; moor's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
}

/// Author of the automation's commits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitAuthor {
    /// Name written in the commits.
    pub name: String,
    /// Email written in the commits.
    pub email: String,
}

/// Where and how manifests are updated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSpec {
    /// Directory of the manifests to update (default: the repository root).
    #[serde(default = "default_update_path")]
    pub path: String,
    /// Only `Setters` (`# {"$imagepolicy": "<namespace>:<policy>"}` markers).
    #[serde(default = "default_strategy")]
    pub strategy: String,
}

impl Default for UpdateSpec {
    fn default() -> Self {
        UpdateSpec {
            path: default_update_path(),
            strategy: default_strategy(),
        }
    }
}

fn default_update_path() -> String {
    "./".into()
}

fn default_strategy() -> String {
    "Setters".into()
}

/// When the automation last ran and pushed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationStatus {
    /// When the automation last ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_automation_run_time: Option<String>,
    /// The commit last pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_commit: Option<String>,
    /// When the last push happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_time: Option<String>,
    /// Ready, with why not when a run fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The spec generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl ImageUpdateAutomation {
    /// The run interval; `Err` says what is wrong with spec.interval.
    pub fn interval(&self) -> Result<Duration, String> {
        parse_interval(self.spec.interval.as_deref())
    }

    /// The branch commits are pushed to.
    pub fn push_branch(&self) -> &str {
        self.spec
            .git
            .push_branch
            .as_deref()
            .filter(|b| !b.is_empty())
            .unwrap_or(&self.spec.git.branch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval(None).unwrap(), DEFAULT_INTERVAL);
        assert_eq!(
            parse_interval(Some("90s")).unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_interval(Some("1h30m")).unwrap(),
            Duration::from_secs(5400)
        );
        assert!(parse_interval(Some("5 minutes please")).is_err());
        assert!(parse_interval(Some("10ms")).is_err());
    }

    #[test]
    fn conditions_keep_their_transition_time() {
        let c = |status: &str, t: &str| Condition {
            type_: READY.into(),
            status: status.into(),
            reason: "R".into(),
            message: "m".into(),
            last_transition_time: t.into(),
            observed_generation: None,
        };
        let mut v = vec![c("True", "t1")];
        set_condition(&mut v, c("True", "t2"));
        assert_eq!(v[0].last_transition_time, "t1");
        set_condition(&mut v, c("False", "t3"));
        assert_eq!((v.len(), v[0].last_transition_time.as_str()), (1, "t3"));
    }

    #[test]
    fn resources_round_trip_in_camel_case() {
        let yaml = r#"
apiVersion: moor.dev/v1alpha1
kind: ImagePolicy
metadata: {name: app, namespace: ns}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: ">=1.0.0 <2.0.0"}}
  filterTags: {pattern: '^v(?P<v>.*)$', extract: '$v'}
status:
  latestImage: reg/app:1.0.0
  latestRef: {name: reg/app, tag: 1.0.0}
"#;
        let p: ImagePolicy = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(p.spec.image_repository_ref.name, "app");
        assert_eq!(p.latest_image(), Some("reg/app:1.0.0"));
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["spec"]["filterTags"]["extract"], "$v");
        assert_eq!(v["spec"]["imageRepositoryRef"]["name"], "app");

        let yaml = r#"
apiVersion: moor.dev/v1alpha1
kind: ImageUpdateAutomation
metadata: {name: auto, namespace: ns}
spec:
  interval: 1m
  git:
    repoURL: https://git.example/repo.git
    branch: main
    commit: {author: {name: bot, email: bot@example.com}}
"#;
        let a: ImageUpdateAutomation = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(a.spec.update.strategy, "Setters");
        assert_eq!(a.push_branch(), "main");
        assert_eq!(a.interval().unwrap(), Duration::from_secs(60));
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["spec"]["git"]["repoURL"], "https://git.example/repo.git");

        let r = ImageRepository::default();
        assert_eq!(r.exclusion_list(), vec![r"^.*\.sig$".to_string()]);
        assert_eq!(
            <ImageRepository as kube::Resource>::plural(&()),
            "imagerepositories"
        );
    }
}
