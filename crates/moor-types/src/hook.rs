//! Resource hooks: objects that run in a phase of a sync (a migration Job before it, a smoke test
//! after it) instead of being kept in the app's steady state. Read from Argo CD's annotations
//! (`argocd.argoproj.io/hook`, `…/hook-delete-policy`), moor's (`moor.dev/hook`, …) and, as Argo
//! CD maps them, Helm's (`helm.sh/hook`, `helm.sh/hook-weight`, `helm.sh/hook-delete-policy`).

use std::fmt;
use std::time::Duration;

use crate::Manifest;

/// moor's hook annotation: comma-separated phases (Argo CD's names), or `Skip`.
pub const ANNOTATION_HOOK: &str = "moor.dev/hook";
/// Argo CD's hook annotation, read when moor's is absent.
pub const ARGO_ANNOTATION_HOOK: &str = "argocd.argoproj.io/hook";
/// Helm's hook annotation (`pre-install`, `post-upgrade`, …), read when neither is present.
pub const HELM_ANNOTATION_HOOK: &str = "helm.sh/hook";
/// moor's delete policy annotation (Argo CD's policy names).
pub const ANNOTATION_HOOK_DELETE_POLICY: &str = "moor.dev/hook-delete-policy";
/// Argo CD's delete policy annotation.
pub const ARGO_ANNOTATION_HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Helm's delete policy annotation (`before-hook-creation`, `hook-succeeded`, `hook-failed`).
pub const HELM_ANNOTATION_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
/// Helm's hook weight: the hook's wave when it has no sync-wave annotation (as Argo CD reads it).
pub const HELM_ANNOTATION_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
/// How long a hook may run before it fails the operation (a Go-style duration, e.g. `90s`).
pub const ANNOTATION_HOOK_TIMEOUT: &str = "moor.dev/hook-timeout";
/// A hook's deadline when it names none: a hook never waits forever.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(600);

/// A phase of a sync, in the order they run (Argo CD's names). Steady objects belong to `Sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SyncPhase {
    /// Before any steady object is written (a migration).
    PreSync,
    /// With the steady objects, by wave.
    Sync,
    /// After every steady object is written and healthy (a smoke test).
    PostSync,
    /// When the sync failed.
    SyncFail,
    /// Before the objects of a deleted app are deleted.
    PreDelete,
    /// After the objects of a deleted app are gone.
    PostDelete,
}

impl SyncPhase {
    /// Every phase, in running order.
    pub const ALL: [SyncPhase; 6] = [
        SyncPhase::PreSync,
        SyncPhase::Sync,
        SyncPhase::PostSync,
        SyncPhase::SyncFail,
        SyncPhase::PreDelete,
        SyncPhase::PostDelete,
    ];

    /// The word as Argo CD writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            SyncPhase::PreSync => "PreSync",
            SyncPhase::Sync => "Sync",
            SyncPhase::PostSync => "PostSync",
            SyncPhase::SyncFail => "SyncFail",
            SyncPhase::PreDelete => "PreDelete",
            SyncPhase::PostDelete => "PostDelete",
        }
    }

    fn parse(word: &str) -> Option<SyncPhase> {
        SyncPhase::ALL.into_iter().find(|p| p.as_str() == word)
    }
}

impl serde::Serialize for SyncPhase {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for SyncPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a hook object is deleted (Argo CD's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookDeletePolicy {
    /// The previous run's object is deleted before the hook is created again (the default).
    BeforeHookCreation,
    /// Deleted once it succeeded.
    HookSucceeded,
    /// Deleted once it failed.
    HookFailed,
}

impl HookDeletePolicy {
    /// The word as Argo CD writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            HookDeletePolicy::BeforeHookCreation => "BeforeHookCreation",
            HookDeletePolicy::HookSucceeded => "HookSucceeded",
            HookDeletePolicy::HookFailed => "HookFailed",
        }
    }
}

/// What an object's annotations make of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookRole {
    /// An ordinary object of the app's steady state.
    Steady,
    /// A hook, run in its phases.
    Hook(Hook),
    /// `Skip` (or a Helm test hook): never applied.
    Skipped,
}

/// A hook's phases, delete policies and deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// The phases it runs in (usually one).
    pub phases: Vec<SyncPhase>,
    /// When it is deleted; `BeforeHookCreation` when the annotations name none.
    pub delete_policies: Vec<HookDeletePolicy>,
    /// How long it may run.
    pub timeout: Duration,
}

impl Hook {
    /// Whether the hook is deleted in the given situation.
    pub fn deletes(&self, policy: HookDeletePolicy) -> bool {
        self.delete_policies.contains(&policy)
    }
}

fn split(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|w| !w.is_empty())
}

/// Reads the hook annotations of `m`. An unknown phase or policy, or a bad timeout, is an error
/// naming the annotation and the word.
pub fn hook_role(m: &Manifest) -> Result<HookRole, String> {
    let (phases, helm) = if let Some((name, v)) = [ANNOTATION_HOOK, ARGO_ANNOTATION_HOOK]
        .into_iter()
        .find_map(|a| Some((a, m.annotation(a)?)))
    {
        let mut phases = Vec::new();
        for word in split(v) {
            if word == "Skip" {
                return Ok(HookRole::Skipped);
            }
            phases.push(
                SyncPhase::parse(word)
                    .ok_or_else(|| format!("annotation {name}: unknown hook phase {word:?}"))?,
            );
        }
        (phases, false)
    } else if let Some(v) = m.annotation(HELM_ANNOTATION_HOOK) {
        let mut phases = Vec::new();
        for word in split(v) {
            let phase = match word {
                "pre-install" | "pre-upgrade" => Some(SyncPhase::PreSync),
                "post-install" | "post-upgrade" => Some(SyncPhase::PostSync),
                "pre-delete" => Some(SyncPhase::PreDelete),
                "post-delete" => Some(SyncPhase::PostDelete),
                // `helm test` hooks belong to `helm test`, not to a sync.
                "test" | "test-success" | "test-failure" => return Ok(HookRole::Skipped),
                // Rollback hooks have no sync phase (Argo CD ignores them too).
                "pre-rollback" | "post-rollback" => None,
                _ => {
                    return Err(format!(
                        "annotation {HELM_ANNOTATION_HOOK}: unknown hook {word:?}"
                    ));
                }
            };
            if let Some(p) = phase.filter(|p| !phases.contains(p)) {
                phases.push(p);
            }
        }
        if phases.is_empty() {
            return Ok(HookRole::Skipped);
        }
        (phases, true)
    } else {
        return Ok(HookRole::Steady);
    };
    if phases.is_empty() {
        return Ok(HookRole::Steady);
    }
    let mut delete_policies = Vec::new();
    // Helm's policy counts for Helm's hooks only: an Argo CD hook in a chart says its own.
    let helm_policy = helm.then_some(HELM_ANNOTATION_HOOK_DELETE_POLICY);
    let policy = [
        Some(ANNOTATION_HOOK_DELETE_POLICY),
        Some(ARGO_ANNOTATION_HOOK_DELETE_POLICY),
        helm_policy,
    ]
    .into_iter()
    .flatten()
    .find_map(|a| Some((a, m.annotation(a)?)));
    if let Some((name, v)) = policy {
        for word in split(v) {
            delete_policies.push(match word {
                "BeforeHookCreation" | "before-hook-creation" => {
                    HookDeletePolicy::BeforeHookCreation
                }
                "HookSucceeded" | "hook-succeeded" => HookDeletePolicy::HookSucceeded,
                "HookFailed" | "hook-failed" => HookDeletePolicy::HookFailed,
                _ => return Err(format!("annotation {name}: unknown delete policy {word:?}")),
            });
        }
    }
    if delete_policies.is_empty() {
        delete_policies.push(HookDeletePolicy::BeforeHookCreation);
    }
    let timeout = match m.annotation(ANNOTATION_HOOK_TIMEOUT) {
        None => DEFAULT_HOOK_TIMEOUT,
        Some(v) => humantime::parse_duration(v.trim()).map_err(|e| {
            format!("annotation {ANNOTATION_HOOK_TIMEOUT} must be a duration such as 90s, got {v:?}: {e}")
        })?,
    };
    Ok(HookRole::Hook(Hook {
        phases,
        delete_policies,
        timeout,
    }))
}

/// The wave of a hook that names no sync wave: Helm's `helm.sh/hook-weight`, as Argo CD reads it.
pub fn helm_hook_weight(m: &Manifest) -> Result<Option<i64>, String> {
    m.annotation(HELM_ANNOTATION_HOOK_WEIGHT)
        .map(|v| {
            v.trim().parse().map_err(|_| {
                format!("annotation {HELM_ANNOTATION_HOOK_WEIGHT} must be an integer, got {v:?}")
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Origin;
    use serde_json::json;

    fn with(annotations: serde_json::Value) -> Manifest {
        Manifest::new(
            json!({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": "j", "annotations": annotations}}),
            Origin::default(),
        )
    }

    fn hook(phases: &[SyncPhase], policies: &[HookDeletePolicy]) -> HookRole {
        HookRole::Hook(Hook {
            phases: phases.to_vec(),
            delete_policies: policies.to_vec(),
            timeout: DEFAULT_HOOK_TIMEOUT,
        })
    }

    #[test]
    fn argo_cd_and_moor_hooks_default_to_before_hook_creation() {
        use HookDeletePolicy::*;
        assert_eq!(hook_role(&with(json!({}))), Ok(HookRole::Steady));
        assert_eq!(
            hook_role(&with(json!({ARGO_ANNOTATION_HOOK: "PreSync"}))),
            Ok(hook(&[SyncPhase::PreSync], &[BeforeHookCreation]))
        );
        assert_eq!(
            hook_role(&with(json!({ANNOTATION_HOOK: "PostSync, SyncFail",
                                   ARGO_ANNOTATION_HOOK_DELETE_POLICY: "HookSucceeded,HookFailed"}))),
            Ok(hook(
                &[SyncPhase::PostSync, SyncPhase::SyncFail],
                &[HookSucceeded, HookFailed]
            ))
        );
        assert_eq!(
            hook_role(&with(json!({ARGO_ANNOTATION_HOOK: "Skip"}))),
            Ok(HookRole::Skipped)
        );
        let err = hook_role(&with(json!({ARGO_ANNOTATION_HOOK: "Presync"}))).unwrap_err();
        assert!(err.contains("unknown hook phase \"Presync\""), "{err}");
    }

    #[test]
    fn helm_hooks_map_to_phases_as_argo_cd_maps_them() {
        use HookDeletePolicy::*;
        assert_eq!(
            hook_role(&with(
                json!({HELM_ANNOTATION_HOOK: "pre-install,pre-upgrade",
                                   HELM_ANNOTATION_HOOK_DELETE_POLICY: "hook-succeeded"})
            )),
            Ok(hook(&[SyncPhase::PreSync], &[HookSucceeded]))
        );
        assert_eq!(
            hook_role(&with(json!({HELM_ANNOTATION_HOOK: "post-upgrade"}))),
            Ok(hook(&[SyncPhase::PostSync], &[BeforeHookCreation]))
        );
        assert_eq!(
            hook_role(&with(json!({HELM_ANNOTATION_HOOK: "test"}))),
            Ok(HookRole::Skipped)
        );
        // Argo CD's annotation wins over Helm's.
        assert_eq!(
            hook_role(&with(
                json!({HELM_ANNOTATION_HOOK: "pre-install", ARGO_ANNOTATION_HOOK: "Sync"})
            )),
            Ok(hook(&[SyncPhase::Sync], &[BeforeHookCreation]))
        );
        let weight = with(json!({HELM_ANNOTATION_HOOK_WEIGHT: "-5"}));
        assert_eq!(helm_hook_weight(&weight), Ok(Some(-5)));
    }

    #[test]
    fn a_hook_timeout_is_read_and_checked() {
        let m = with(json!({ARGO_ANNOTATION_HOOK: "PreSync", ANNOTATION_HOOK_TIMEOUT: "90s"}));
        let HookRole::Hook(h) = hook_role(&m).unwrap() else {
            panic!("not a hook")
        };
        assert_eq!(h.timeout, Duration::from_secs(90));
        let m = with(json!({ARGO_ANNOTATION_HOOK: "PreSync", ANNOTATION_HOOK_TIMEOUT: "soon"}));
        assert!(hook_role(&m).unwrap_err().contains(ANNOTATION_HOOK_TIMEOUT));
    }
}
