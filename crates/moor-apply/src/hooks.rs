//! Resource hooks: objects that run in a phase of a sync instead of living in the app's steady
//! state. A hook is created (its `generateName` honoured), waited for (Jobs and Pods to
//! completion, other kinds to Healthy) within its deadline, and deleted by its policies. Hooks of
//! one phase go wave by wave; within a wave they are created in order and awaited together. They
//! are never in the app's inventory, comparison or prune.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use moor_types::{
    ApplyOrder, FIELD_MANAGER, Hook, HookDeletePolicy, HookRole, Manifest, ObjKey, SyncPhase,
    hook_role, wave_of,
};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ObjectError, SyncError, api_reason, is_not_found};
use crate::resolve::{Resolved, Resolver, from_crds, gvk_of};

/// Label on every hook object: the app it ran for (as the app label spells it).
pub const LABEL_HOOK_OF: &str = "moor.dev/hook-of";
/// Annotation on every hook object: its name in Git (the `generateName` prefix or the name),
/// so the next run finds the previous runs of a generated hook to delete.
pub const ANNOTATION_HOOK_NAME: &str = "moor.dev/hook-name";
/// How often a running hook is looked at.
const POLL: Duration = Duration::from_millis(500);
/// Bound on waiting for a deleted hook object to be gone.
const DELETE_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a hook run is (Argo CD's `hookPhase` words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum HookStatus {
    /// Created, not finished.
    Running,
    /// Completed (a Job or Pod) or Healthy (another kind).
    Succeeded,
    /// Failed, or not finished within its deadline.
    Failed,
}

impl HookStatus {
    /// The word as Argo CD writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            HookStatus::Running => "Running",
            HookStatus::Succeeded => "Succeeded",
            HookStatus::Failed => "Failed",
        }
    }
}

/// One run of one hook.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HookResult {
    /// The object run (its generated name once created).
    pub key: ObjKey,
    /// Its API version.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The phase it ran in.
    pub phase: SyncPhase,
    /// Running, Succeeded or Failed.
    pub status: HookStatus,
    /// Why it failed, or what it finished with.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Told every change of a hook run as it happens (the controller's operation state).
#[derive(Clone)]
pub struct HookProgress(pub Arc<dyn Fn(&HookResult) + Send + Sync>);

impl fmt::Debug for HookProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookProgress")
    }
}

/// A validated hook, ready to run.
#[derive(Clone, Debug)]
pub struct HookObj {
    m: Manifest,
    /// Kind, namespace and name in Git (the `generateName` prefix for generated hooks).
    key: ObjKey,
    generated: bool,
    hook: Hook,
    res: Resolved,
    wave: i64,
}

impl HookObj {
    fn runs_in(&self, phase: SyncPhase) -> bool {
        self.hook.phases.contains(&phase)
    }

    fn order(&self, phase: SyncPhase) -> ApplyOrder {
        let k = &self.key;
        let ns = k.namespace.as_deref().unwrap_or("");
        ApplyOrder::new(phase, self.wave, &k.group, &k.kind, ns, &k.name)
    }

    fn api(&self, client: &Client) -> Api<DynamicObject> {
        match self
            .key
            .namespace
            .as_deref()
            .filter(|_| self.res.namespaced)
        {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.res.ar),
            None => Api::all_with(client.clone(), &self.res.ar),
        }
    }
}

fn invalid(m: &Manifest, key: ObjKey, reason: String) -> ObjectError {
    ObjectError {
        key,
        origin: m.origin.clone(),
        reason,
    }
}

fn key_of(m: &Manifest) -> ObjKey {
    let name = match m.name() {
        "" => m
            .obj
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or(""),
        n => n,
    };
    ObjKey::new(
        ObjKey::group_of(m.api_version()),
        m.kind(),
        m.namespace(),
        name,
    )
}

/// Rendered manifests split into the steady ones and the hooks (with how they run).
pub type Split = (Vec<Manifest>, Vec<(Manifest, Hook)>);

/// Splits rendered manifests into the steady ones and the hooks; `Skip` objects and Helm test
/// hooks are dropped. A hook annotation that does not parse fails, naming the object.
pub fn partition(manifests: Vec<Manifest>) -> Result<Split, Vec<ObjectError>> {
    let (mut steady, mut hooks, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for m in manifests {
        match hook_role(&m) {
            Ok(HookRole::Steady) => steady.push(m),
            Ok(HookRole::Hook(h)) => hooks.push((m, h)),
            Ok(HookRole::Skipped) => {}
            Err(reason) => errors.push(invalid(&m, key_of(&m), reason)),
        }
    }
    if errors.is_empty() {
        Ok((steady, hooks))
    } else {
        Err(errors)
    }
}

/// Validates hooks before anything is written: a name or `generateName`, a served kind (or one
/// a CRD of the same sync defines), a wave, and a server-side dry-run of their creation where
/// their namespace and kind exist already.
pub async fn prepare(
    client: &Client,
    resolver: &Resolver,
    hooks: Vec<(Manifest, Hook)>,
    all: &[Manifest],
    app: &str,
    namespace: &str,
) -> Result<Vec<HookObj>, SyncError> {
    let mut out = Vec::with_capacity(hooks.len());
    let mut errors = Vec::new();
    for (mut m, hook) in hooks {
        let generated = m.name().is_empty();
        let key = key_of(&m);
        if key.name.is_empty() || m.kind().is_empty() || m.api_version().is_empty() {
            errors.push(invalid(
                &m,
                key,
                "a hook needs apiVersion, kind and metadata.name or metadata.generateName".into(),
            ));
            continue;
        }
        let wave = match wave_of(&m) {
            Ok(w) => w,
            Err(reason) => {
                errors.push(invalid(&m, key, reason));
                continue;
            }
        };
        let gvk = gvk_of(m.api_version(), m.kind());
        let res = match resolver.resolve(client, &gvk).await {
            Ok(Some(r)) => r,
            Ok(None) => match from_crds(all, &gvk) {
                Some(r) => r,
                None => {
                    let reason = format!(
                        "kind {} is not served by the API server (apiVersion {})",
                        m.kind(),
                        m.api_version()
                    );
                    errors.push(invalid(&m, key, reason));
                    continue;
                }
            },
            Err(e) => {
                errors.push(invalid(&m, key, api_reason(&e)));
                continue;
            }
        };
        if res.namespaced && m.namespace().is_none() {
            m.set_namespace(namespace);
        }
        m.set_meta_entry("labels", LABEL_HOOK_OF, &crate::prepare::label_value(app));
        let template = key_of(&m).name;
        m.set_meta_entry("annotations", ANNOTATION_HOOK_NAME, &template);
        let h = HookObj {
            key: key_of(&m),
            m,
            generated,
            hook,
            res,
            wave,
        };
        if !h.res.from_pending_crd
            && let Err(e) = create(client, &h, true).await
            && !is_not_found(&e)
        {
            errors.push(invalid(
                &h.m,
                h.key.clone(),
                format!("server-side dry-run failed: {}", api_reason(&e)),
            ));
            continue;
        }
        out.push(h);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(SyncError::Invalid(errors))
    }
}

/// Creates the hook's object (a dry run with `dry_run`); returns the name it got. A dry run is
/// always a creation under a generated name: the previous run of a named hook may still exist
/// (it is deleted only when the hook runs), and its immutable fields must not fail the check.
async fn create(client: &Client, h: &HookObj, dry_run: bool) -> Result<String, kube::Error> {
    let api = h.api(client);
    if h.generated || dry_run {
        let mut body = h.m.obj.clone();
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut)
            && let Some(Value::String(name)) = meta.remove("name")
        {
            let mut prefix = format!("{name}-");
            prefix.truncate(58);
            meta.insert("generateName".into(), Value::String(prefix));
        }
        let obj: DynamicObject = serde_json::from_value(body).expect("a hook object");
        let pp = PostParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.into()),
        };
        let made = api.create(&pp, &obj).await?;
        return Ok(made.metadata.name.unwrap_or_default());
    }
    let mut pp = PatchParams::apply(FIELD_MANAGER).force();
    pp.dry_run = dry_run;
    api.patch(&h.key.name, &pp, &Patch::Apply(&h.m.obj)).await?;
    Ok(h.key.name.clone())
}

/// Runs hooks phase by phase and keeps every result.
pub struct Runner<'a> {
    client: &'a Client,
    hooks: Vec<HookObj>,
    app_label: String,
    progress: Option<HookProgress>,
    /// Every run so far, in the order they started.
    pub results: Vec<HookResult>,
}

impl<'a> Runner<'a> {
    /// A runner of `hooks` (from [`prepare`]) for `app`.
    pub fn new(
        client: &'a Client,
        hooks: Vec<HookObj>,
        app: &str,
        progress: Option<HookProgress>,
    ) -> Self {
        Runner {
            client,
            hooks,
            app_label: crate::prepare::label_value(app),
            progress,
            results: Vec::new(),
        }
    }

    /// The waves in which `phase` has hooks.
    pub fn waves(&self, phase: SyncPhase) -> BTreeSet<i64> {
        self.hooks
            .iter()
            .filter(|h| h.runs_in(phase))
            .map(|h| h.wave)
            .collect()
    }

    /// Whether `phase` has hooks.
    pub fn has(&self, phase: SyncPhase) -> bool {
        self.hooks.iter().any(|h| h.runs_in(phase))
    }

    fn report(&mut self, r: HookResult) {
        if let Some(p) = &self.progress {
            (p.0)(&r);
        }
        match self
            .results
            .iter_mut()
            .find(|x| x.key == r.key && x.phase == r.phase)
        {
            Some(x) => *x = r,
            None => self.results.push(r),
        }
    }

    /// Runs the hooks of `phase` (only those of `wave` when given), wave by wave. The first wave
    /// with a failed hook stops the phase: its error names the hook.
    pub async fn run(&mut self, phase: SyncPhase, wave: Option<i64>) -> Result<(), SyncError> {
        let waves: Vec<i64> = match wave {
            Some(w) => vec![w],
            None => self.waves(phase).into_iter().collect(),
        };
        for w in waves {
            let mut batch: Vec<HookObj> = self
                .hooks
                .iter()
                .filter(|h| h.runs_in(phase) && h.wave == w)
                .cloned()
                .collect();
            batch.sort_by_key(|h| h.order(phase));
            self.run_wave(phase, batch).await?;
        }
        Ok(())
    }

    async fn run_wave(&mut self, phase: SyncPhase, batch: Vec<HookObj>) -> Result<(), SyncError> {
        // Created one after another, in order; then awaited together.
        let mut started = Vec::new();
        for h in batch {
            let result = |key: ObjKey, status, message: String| HookResult {
                key,
                api_version: h.m.api_version().to_string(),
                phase,
                status,
                message,
            };
            match self.start(&h).await {
                Ok(name) => {
                    let key = ObjKey {
                        name,
                        ..h.key.clone()
                    };
                    self.report(result(key.clone(), HookStatus::Running, String::new()));
                    started.push((h, key));
                }
                Err(message) => {
                    self.report(result(h.key.clone(), HookStatus::Failed, message.clone()));
                    return Err(hook_failed(phase, &h.key, message));
                }
            }
        }
        let client = self.client;
        let outcomes = join_all(started.iter().map(|(h, key)| finish(client, h, &key.name))).await;
        let mut failure = None;
        for ((h, key), (status, message)) in started.iter().zip(outcomes) {
            self.report(HookResult {
                key: key.clone(),
                api_version: h.m.api_version().to_string(),
                phase,
                status,
                message: message.clone(),
            });
            if status == HookStatus::Failed && failure.is_none() {
                failure = Some(hook_failed(phase, key, message));
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Deletes the previous run (BeforeHookCreation), then creates the hook.
    async fn start(&self, h: &HookObj) -> Result<String, String> {
        if h.hook.deletes(HookDeletePolicy::BeforeHookCreation) {
            for name in self.previous_runs(h).await? {
                delete_and_wait(&h.api(self.client), &name).await?;
            }
        }
        create(self.client, h, false)
            .await
            .map_err(|e| format!("failed to create: {}", api_reason(&e)))
    }

    /// The objects of earlier runs of `h`: its name, or every object this app's runs of a
    /// generated hook left.
    async fn previous_runs(&self, h: &HookObj) -> Result<Vec<String>, String> {
        if !h.generated {
            return Ok(vec![h.key.name.clone()]);
        }
        let lp = ListParams::default().labels(&format!("{LABEL_HOOK_OF}={}", self.app_label));
        let list = h
            .api(self.client)
            .list(&lp)
            .await
            .map_err(|e| format!("failed to list earlier runs: {}", api_reason(&e)))?;
        Ok(list
            .items
            .into_iter()
            .filter(|o| {
                o.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(ANNOTATION_HOOK_NAME))
                    == Some(&h.key.name)
            })
            .filter_map(|o| o.metadata.name)
            .collect())
    }
}

fn hook_failed(phase: SyncPhase, key: &ObjKey, message: String) -> SyncError {
    SyncError::Hook {
        phase: phase.as_str(),
        key: key.clone(),
        message,
    }
}

/// Waits for the hook to finish within its deadline, then deletes it as its policies say.
async fn finish(client: &Client, h: &HookObj, name: &str) -> (HookStatus, String) {
    let api = h.api(client);
    let (status, message) = wait_done(&api, name, h.hook.timeout).await;
    let policy = match status {
        HookStatus::Succeeded => HookDeletePolicy::HookSucceeded,
        _ => HookDeletePolicy::HookFailed,
    };
    if h.hook.deletes(policy)
        && let Err(e) = delete_and_wait(&api, name).await
    {
        return (status, format!("{message}; {e}"));
    }
    (status, message)
}

async fn wait_done(
    api: &Api<DynamicObject>,
    name: &str,
    timeout: Duration,
) -> (HookStatus, String) {
    let deadline = Instant::now() + timeout;
    loop {
        match api.get_opt(name).await {
            Ok(Some(o)) => {
                let v = serde_json::to_value(o).expect("an object serializes");
                if let Some(done) = finished(&v) {
                    return done;
                }
            }
            Ok(None) => {
                return (HookStatus::Failed, "was deleted before it finished".into());
            }
            // Transient errors are retried until the deadline.
            Err(e) => tracing::debug!("reading hook {name}: {e}"),
        }
        if Instant::now() >= deadline {
            return (
                HookStatus::Failed,
                format!(
                    "did not finish within {} (annotation moor.dev/hook-timeout)",
                    humantime::format_duration(timeout)
                ),
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether a hook object is done: a Job by its Complete/Failed conditions, a Pod by its phase,
/// any other kind by its health.
fn finished(obj: &Value) -> Option<(HookStatus, String)> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    match kind {
        "Job" => {
            let conditions = obj.pointer("/status/conditions")?.as_array()?;
            let on = |t: &str| {
                conditions
                    .iter()
                    .find(|c| c["type"] == t && c["status"] == "True")
            };
            if let Some(c) = on("Complete") {
                let msg = c["message"].as_str().unwrap_or("job completed");
                return Some((HookStatus::Succeeded, msg.to_string()));
            }
            let c = on("Failed")?;
            let reason = c["reason"].as_str().unwrap_or("Failed");
            let msg = c["message"].as_str().unwrap_or("");
            Some((HookStatus::Failed, format!("job failed: {reason}: {msg}")))
        }
        "Pod" => match obj.pointer("/status/phase").and_then(Value::as_str)? {
            "Succeeded" => Some((HookStatus::Succeeded, "pod succeeded".into())),
            "Failed" => Some((
                HookStatus::Failed,
                format!(
                    "pod failed: {}",
                    obj.pointer("/status/message")
                        .and_then(Value::as_str)
                        .unwrap_or("a container exited with an error")
                ),
            )),
            _ => None,
        },
        _ => {
            let h = moor_health::health(obj);
            match h.status {
                moor_types::HealthStatus::Healthy => Some((HookStatus::Succeeded, h.message)),
                moor_types::HealthStatus::Degraded => Some((HookStatus::Failed, h.message)),
                _ => None,
            }
        }
    }
}

/// Deletes a hook object (its children in the background) and waits until it is gone.
async fn delete_and_wait(api: &Api<DynamicObject>, name: &str) -> Result<(), String> {
    let dp = DeleteParams::background();
    match api.delete(name, &dp).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(format!("failed to delete {name}: {}", api_reason(&e))),
    }
    let deadline = Instant::now() + DELETE_TIMEOUT;
    loop {
        match api.get_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) | Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            _ => {
                return Err(format!(
                    "{name} was not gone {} after its deletion",
                    humantime::format_duration(DELETE_TIMEOUT)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jobs_pods_and_other_kinds_finish_by_their_own_signals() {
        let job = |t: &str| {
            json!({"kind": "Job", "status": {"conditions": [
                {"type": t, "status": "True", "reason": "BackoffLimitExceeded", "message": "limit reached"}]}})
        };
        assert_eq!(finished(&job("Complete")).unwrap().0, HookStatus::Succeeded);
        assert_eq!(
            finished(&job("Failed")),
            Some((
                HookStatus::Failed,
                "job failed: BackoffLimitExceeded: limit reached".into()
            ))
        );
        assert_eq!(finished(&json!({"kind": "Job", "status": {}})), None);
        let pod = |p: &str| json!({"kind": "Pod", "status": {"phase": p}});
        assert_eq!(finished(&pod("Running")), None);
        assert_eq!(
            finished(&pod("Succeeded")).unwrap().0,
            HookStatus::Succeeded
        );
        assert_eq!(finished(&pod("Failed")).unwrap().0, HookStatus::Failed);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert_eq!(finished(&cm).unwrap().0, HookStatus::Succeeded);
    }

    #[test]
    fn partition_drops_skipped_objects_and_names_bad_annotations() {
        let m = |name: &str, hook: Option<&str>| {
            let mut v =
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
            if let Some(h) = hook {
                v["metadata"]["annotations"] = json!({"argocd.argoproj.io/hook": h});
            }
            Manifest::new(v, Default::default())
        };
        let (steady, hooks) = partition(vec![
            m("a", None),
            m("b", Some("PreSync")),
            m("c", Some("Skip")),
        ])
        .unwrap();
        assert_eq!(steady.len(), 1);
        assert_eq!(hooks.len(), 1);
        let err =
            SyncError::Invalid(partition(vec![m("d", Some("Later"))]).unwrap_err()).to_string();
        assert!(
            err.contains("ConfigMap d") && err.contains("\"Later\""),
            "{err}"
        );
    }
}
