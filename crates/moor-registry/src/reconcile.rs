//! One reconcile of an ImageRepository (scan the registry, write status) and of an ImagePolicy
//! (pick the latest tag, write status). The tags a scan found live in a [`TagCache`] shared by
//! both, as Flux keeps them in its database: status only holds a summary.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use regex::Regex;

use crate::client::{ClientOptions, DockerConfig, ImageName, RegistryClient};
use crate::crd::*;
use crate::policy::{Policy, Selection};
use moor_types::ConditionReason;

/// A failed scan is retried after this (or the interval, when shorter).
const FAILURE_RETRY: Duration = Duration::from_secs(30);
/// A policy waiting for its repository looks again after this (repository changes also wake it).
const DEPENDENCY_RETRY: Duration = Duration::from_secs(30);
const LATEST_TAGS: usize = 10;

/// An API call of a reconcile failed; the reconcile is retried after a short delay.
#[derive(Debug, thiserror::Error)]
pub enum ImageReconcileError {
    /// The status could not be written.
    #[error("failed to write the status of {kind} {key}")]
    WriteStatus {
        /// The resource's kind.
        kind: &'static str,
        /// `namespace/name` of the resource.
        key: String,
        /// The API server's (or the connection's) error.
        #[source]
        source: kube::Error,
    },
    /// An object the reconcile needs could not be read.
    #[error("failed to read {what}")]
    Read {
        /// The object that could not be read: kind and `namespace/name`.
        what: String,
        /// The API server's (or the connection's) error.
        #[source]
        source: kube::Error,
    },
}

/// What a reconcile did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciled {
    /// The Ready condition now in status; None when nothing was done (suspended, scan not due).
    pub ready: Option<Condition>,
    /// When to reconcile again; None: on the next change of the object.
    pub requeue_after: Option<Duration>,
}

/// The tags of the last successful scan of each ImageRepository, and when each was last tried.
#[derive(Clone, Debug, Default)]
pub struct TagCache {
    inner: Arc<RwLock<HashMap<String, CacheEntry>>>,
}

#[derive(Clone, Debug)]
struct CacheEntry {
    /// spec.image and generation of the last attempt.
    image: String,
    generation: Option<i64>,
    attempted_at: Instant,
    failed: bool,
    /// From the last successful scan of `image`, exclusions applied.
    tags: Option<Arc<Vec<String>>>,
}

impl TagCache {
    /// An empty cache: every repository is scanned on its first reconcile.
    pub fn new() -> TagCache {
        TagCache::default()
    }

    /// The spec.image scanned and its tags (exclusions applied), when a scan succeeded.
    pub fn tags(&self, namespace: &str, name: &str) -> Option<(String, Arc<Vec<String>>)> {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let e = map.get(&format!("{namespace}/{name}"))?;
        Some((e.image.clone(), e.tags.clone()?))
    }

    /// Forgets a deleted ImageRepository.
    pub fn remove(&self, namespace: &str, name: &str) {
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("{namespace}/{name}"));
    }

    /// None when a scan is due now; otherwise how long until it is.
    fn wait_before_scan(&self, repo: &ImageRepository, interval: Duration) -> Option<Duration> {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let e = map.get(&repo.key())?;
        if e.image != repo.spec.image || e.generation != repo.metadata.generation {
            return None;
        }
        let every = if e.failed {
            interval.min(FAILURE_RETRY)
        } else {
            interval
        };
        every.checked_sub(e.attempted_at.elapsed())
    }

    fn record(&self, repo: &ImageRepository, tags: Option<Vec<String>>) {
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let key = repo.key();
        // A failed scan keeps the tags of the last good one, if it was of the same image.
        let kept = map
            .get(&key)
            .filter(|e| e.image == repo.spec.image)
            .and_then(|e| e.tags.clone());
        let failed = tags.is_none();
        map.insert(
            key,
            CacheEntry {
                image: repo.spec.image.clone(),
                generation: repo.metadata.generation,
                attempted_at: Instant::now(),
                failed,
                tags: tags.map(Arc::new).or(kept),
            },
        );
    }
}

/// RFC 3339 time, seconds precision, as Kubernetes writes it.
fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn ready(
    status: bool,
    reason: ConditionReason,
    message: String,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: READY.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.to_string(),
        message,
        last_transition_time: now(),
        observed_generation: generation,
    }
}

fn names<K: kube::Resource>(obj: &K) -> (String, String) {
    let m = obj.meta();
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

/// A failed scan: the condition reason and message.
struct ScanFailure {
    reason: ConditionReason,
    message: String,
}

impl ScanFailure {
    fn new(reason: ConditionReason, message: impl Into<String>) -> ScanFailure {
        ScanFailure {
            reason,
            message: message.into(),
        }
    }
}

/// Scans the repository when due (spec changed, or `interval` since the last scan; 30 s after a
/// failure) and records the result in status: `Ready` True (`Succeeded`) or False with the
/// reason (`RegistryUnavailable`, `AuthenticationFailed`, `RepositoryNotFound`, `InvalidImage`,
/// `InvalidSecret`, `InvalidSpec`, `RegistryError`). Errors are only failed API calls.
pub async fn reconcile_repository(
    client: &Client,
    repo: &ImageRepository,
    cache: &TagCache,
) -> Result<Reconciled, ImageReconcileError> {
    let (ns, name) = names(repo);
    if repo.spec.suspend {
        return Ok(Reconciled {
            ready: None,
            requeue_after: None,
        });
    }
    let generation = repo.metadata.generation;
    let old = repo.status.clone().unwrap_or_default();
    let mut status = old.clone();
    status.observed_generation = generation;

    let interval = match repo.interval() {
        Ok(d) => d,
        Err(m) => {
            let cond = ready(false, ConditionReason::InvalidSpec, m, generation);
            set_condition(&mut status.conditions, cond.clone());
            write_repository_status(client, &ns, &name, &old, &status).await?;
            return Ok(Reconciled {
                ready: Some(cond),
                requeue_after: None,
            });
        }
    };
    if let Some(wait) = cache.wait_before_scan(repo, interval) {
        return Ok(Reconciled {
            ready: None,
            requeue_after: Some(wait),
        });
    }

    let cond = match scan(client, repo).await {
        Ok((image, tags)) => {
            tracing::info!(
                "scanned ImageRepository {ns}/{name} ({image}): {} tags",
                tags.len()
            );
            let mut latest = tags.clone();
            latest.sort_unstable_by(|a, b| b.cmp(a));
            latest.truncate(LATEST_TAGS);
            status.canonical_image_name = Some(image.to_string());
            status.last_scan_result = Some(ScanResult {
                tag_count: tags.len() as i64,
                scan_time: now(),
                latest_tags: latest,
            });
            let n = tags.len();
            cache.record(repo, Some(tags));
            ready(
                true,
                ConditionReason::Succeeded,
                format!("successful scan: found {n} tags"),
                generation,
            )
        }
        Err(f) => {
            tracing::info!("scan of ImageRepository {ns}/{name} failed: {}", f.message);
            cache.record(repo, None);
            ready(false, f.reason, f.message, generation)
        }
    };
    let requeue = if cond.status == "True" {
        interval
    } else {
        interval.min(FAILURE_RETRY)
    };
    set_condition(&mut status.conditions, cond.clone());
    write_repository_status(client, &ns, &name, &old, &status).await?;
    Ok(Reconciled {
        ready: Some(cond),
        requeue_after: Some(requeue),
    })
}

/// Lists the tags of the repository, minus the exclusion list.
async fn scan(
    client: &Client,
    repo: &ImageRepository,
) -> Result<(ImageName, Vec<String>), ScanFailure> {
    let (ns, _) = names(repo);
    let image = ImageName::parse(&repo.spec.image)
        .map_err(|e| ScanFailure::new(ConditionReason::InvalidImage, e.to_string()))?;
    let exclusions = repo
        .exclusion_list()
        .iter()
        .map(|p| {
            Regex::new(p).map_err(|e| {
                ScanFailure::new(
                    ConditionReason::InvalidSpec,
                    format!("invalid exclusionList regex {p:?}: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let credentials = match &repo.spec.secret_ref {
        Some(r) => {
            let config = docker_config(client, &ns, &r.name).await?;
            let creds = config.credentials_for(&image.registry).cloned();
            if creds.is_none() {
                return Err(ScanFailure::new(
                    ConditionReason::InvalidSecret,
                    format!(
                        "Secret {ns}/{} has no credentials for registry {} (it has: {})",
                        r.name,
                        image.registry,
                        config.registries().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            creds
        }
        None => None,
    };
    let client = RegistryClient::new(ClientOptions {
        insecure: repo.spec.insecure,
        credentials,
        ..Default::default()
    })
    .map_err(|e| ScanFailure::new(e.reason(), e.to_string()))?;
    let tags = client
        .list_tags(&image)
        .await
        .map_err(|e| ScanFailure::new(e.reason(), e.to_string()))?;
    let tags = tags
        .into_iter()
        .filter(|t| !exclusions.iter().any(|re| re.is_match(t)))
        .collect();
    Ok((image, tags))
}

/// The docker config of a `kubernetes.io/dockerconfigjson` (or legacy dockercfg) Secret.
async fn docker_config(client: &Client, ns: &str, name: &str) -> Result<DockerConfig, ScanFailure> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = match api.get_opt(name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(ScanFailure::new(
                ConditionReason::InvalidSecret,
                format!("Secret {ns}/{name} (spec.secretRef) not found"),
            ));
        }
        Err(e) => {
            return Err(ScanFailure::new(
                ConditionReason::InvalidSecret,
                format!("failed to read Secret {ns}/{name}: {e}"),
            ));
        }
    };
    let data = secret.data.unwrap_or_default();
    let bytes = data
        .get(".dockerconfigjson")
        .or_else(|| data.get(".dockercfg"))
        .ok_or_else(|| {
            ScanFailure::new(
                ConditionReason::InvalidSecret,
                format!(
                    "Secret {ns}/{name} has no .dockerconfigjson (create it with kubectl create \
                     secret docker-registry)"
                ),
            )
        })?;
    DockerConfig::from_json(&bytes.0).map_err(|e| {
        ScanFailure::new(
            ConditionReason::InvalidSecret,
            format!("Secret {ns}/{name}: {e}"),
        )
    })
}

async fn write_repository_status(
    client: &Client,
    ns: &str,
    name: &str,
    old: &ImageRepositoryStatus,
    new: &ImageRepositoryStatus,
) -> Result<(), ImageReconcileError> {
    if old == new {
        return Ok(());
    }
    let api: Api<ImageRepository> = Api::namespaced(client.clone(), ns);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "status": new })),
    )
    .await
    .map(|_| ())
    .map_err(|source| ImageReconcileError::WriteStatus {
        kind: ImageRepository::KIND,
        key: format!("{ns}/{name}"),
        source,
    })
}

/// Picks the latest tag of the policy's ImageRepository (from `cache`) and records it:
/// status.latestImage `<repository spec.image>:<tag>`, latestRef, observedPreviousImage when it
/// changed, and `Ready` True (`Succeeded`) or False (`NoMatchingTag` saying `no tag matches
/// policy <name>`, `InvalidPolicy`, `DependencyNotReady`). The last latestImage stays when
/// nothing matches any more. Errors are only failed API calls.
pub async fn reconcile_policy(
    client: &Client,
    policy: &ImagePolicy,
    cache: &TagCache,
) -> Result<Reconciled, ImageReconcileError> {
    let (ns, name) = names(policy);
    let generation = policy.metadata.generation;
    let old = policy.status.clone().unwrap_or_default();
    let mut status = old.clone();
    status.observed_generation = generation;
    let repo_name = &policy.spec.image_repository_ref.name;

    let (cond, requeue_after) = match Policy::from_spec(&policy.spec) {
        Err(e) => (
            ready(
                false,
                ConditionReason::InvalidPolicy,
                e.to_string(),
                generation,
            ),
            None,
        ),
        Ok(rule) => {
            let repos: Api<ImageRepository> = Api::namespaced(client.clone(), &ns);
            let repo =
                repos
                    .get_opt(repo_name)
                    .await
                    .map_err(|source| ImageReconcileError::Read {
                        what: format!("ImageRepository {ns}/{repo_name}"),
                        source,
                    })?;
            let scanned = repo.as_ref().and_then(|r| {
                cache
                    .tags(&ns, repo_name)
                    .filter(|(image, _)| *image == r.spec.image)
            });
            match (repo, scanned) {
                (None, _) => {
                    cache.remove(&ns, repo_name);
                    (
                        ready(
                            false,
                            ConditionReason::DependencyNotReady,
                            format!("ImageRepository {ns}/{repo_name} not found"),
                            generation,
                        ),
                        Some(DEPENDENCY_RETRY),
                    )
                }
                (Some(r), None) => {
                    let why = r
                        .status
                        .as_ref()
                        .and_then(|s| condition(&s.conditions, READY))
                        .filter(|c| c.status == "False")
                        .map(|c| format!(": {}", c.message))
                        .unwrap_or_else(|| " yet".into());
                    (
                        ready(
                            false,
                            ConditionReason::DependencyNotReady,
                            format!("ImageRepository {ns}/{repo_name} has no scan result{why}"),
                            generation,
                        ),
                        Some(DEPENDENCY_RETRY),
                    )
                }
                (Some(_), Some((image, tags))) => {
                    let image = image.trim().to_string();
                    match rule.select(tags.iter().map(String::as_str)) {
                        Selection::Latest(tag) => {
                            let latest = format!("{image}:{tag}");
                            if let Some(prev) = old.latest_image.as_ref().filter(|p| **p != latest)
                            {
                                status.observed_previous_image = Some(prev.clone());
                                tracing::info!(
                                    "ImagePolicy {ns}/{name}: latest image {prev} -> {latest}"
                                );
                            }
                            status.latest_ref = Some(ImageRef {
                                name: image.clone(),
                                tag: tag.clone(),
                            });
                            status.latest_image = Some(latest);
                            (
                                ready(
                                    true,
                                    ConditionReason::Succeeded,
                                    format!("latest image tag for {image} resolved to {tag}"),
                                    generation,
                                ),
                                None,
                            )
                        }
                        Selection::NoMatch(why) => (
                            ready(
                                false,
                                ConditionReason::NoMatchingTag,
                                format!("no tag matches policy {name} ({rule}): {why}"),
                                generation,
                            ),
                            None,
                        ),
                    }
                }
            }
        }
    };
    set_condition(&mut status.conditions, cond.clone());
    if status != old {
        let api: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": status })),
        )
        .await
        .map_err(|source| ImageReconcileError::WriteStatus {
            kind: ImagePolicy::KIND,
            key: format!("{ns}/{name}"),
            source,
        })?;
    }
    Ok(Reconciled {
        ready: Some(cond),
        requeue_after,
    })
}

/// The latest image of every policy that has one, by `<namespace>:<policy name>`, the key
/// image automation setter markers use (`# {"$imagepolicy": "<namespace>:<policy>"}`), e.g.
/// `"apps:podinfo" -> "ghcr.io/org/podinfo:1.10.0"`. Split a value with [`split_image_ref`]
/// for the `:name` and `:tag` forms of the marker.
pub fn latest_images<'a>(
    policies: impl IntoIterator<Item = &'a ImagePolicy>,
) -> BTreeMap<String, String> {
    policies
        .into_iter()
        .filter_map(|p| {
            let (ns, name) = names(p);
            Some((format!("{ns}:{name}"), p.latest_image()?.to_string()))
        })
        .collect()
}

/// [`latest_images`] of the ImagePolicies of one namespace (or all).
pub async fn list_latest_images(
    client: &Client,
    namespace: Option<&str>,
) -> Result<BTreeMap<String, String>, kube::Error> {
    let api: Api<ImagePolicy> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let list = api.list(&ListParams::default()).await?;
    Ok(latest_images(&list.items))
}

/// `host:5000/app:1.2.3` → (`host:5000/app`, `1.2.3`); no tag → (image, "").
pub fn split_image_ref(image: &str) -> (&str, &str) {
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_refs_split_at_the_tag_not_the_port() {
        assert_eq!(
            split_image_ref("127.0.0.1:5000/app:1.10.0"),
            ("127.0.0.1:5000/app", "1.10.0")
        );
        assert_eq!(
            split_image_ref("127.0.0.1:5000/app"),
            ("127.0.0.1:5000/app", "")
        );
        assert_eq!(split_image_ref("nginx:1"), ("nginx", "1"));
    }

    #[test]
    fn latest_images_are_keyed_by_namespace_and_policy() {
        let mut a = ImagePolicy::default();
        a.metadata.namespace = Some("apps".into());
        a.metadata.name = Some("podinfo".into());
        a.status = Some(ImagePolicyStatus {
            latest_image: Some("reg/podinfo:1.0.0".into()),
            ..Default::default()
        });
        let mut b = a.clone();
        b.metadata.name = Some("unresolved".into());
        b.status = None;
        let m = latest_images([&a, &b]);
        assert_eq!(m.len(), 1);
        assert_eq!(m["apps:podinfo"], "reg/podinfo:1.0.0");
    }

    #[test]
    fn scans_are_due_by_interval_spec_and_failure() {
        let cache = TagCache::new();
        let mut repo = ImageRepository::default();
        repo.metadata.namespace = Some("ns".into());
        repo.metadata.name = Some("r".into());
        repo.metadata.generation = Some(1);
        repo.spec.image = "reg/app".into();
        let hour = Duration::from_secs(3600);
        assert!(cache.wait_before_scan(&repo, hour).is_none());
        cache.record(&repo, Some(vec!["1.0.0".into()]));
        assert!(cache.wait_before_scan(&repo, hour).unwrap() > Duration::from_secs(3500));
        // A failure keeps the tags and retries sooner.
        cache.record(&repo, None);
        assert!(cache.wait_before_scan(&repo, hour).unwrap() <= FAILURE_RETRY);
        assert_eq!(cache.tags("ns", "r").unwrap().1.as_slice(), ["1.0.0"]);
        // A spec change is due at once; another image drops the old tags.
        repo.metadata.generation = Some(2);
        assert!(cache.wait_before_scan(&repo, hour).is_none());
        repo.spec.image = "reg/other".into();
        cache.record(&repo, None);
        assert!(cache.tags("ns", "r").is_none());
    }
}
