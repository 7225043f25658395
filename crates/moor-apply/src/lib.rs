//! The sync engine: validate and dry-run everything before the first write, server-side apply
//! only what drifted (in phase > wave > kind > name order), keep the app's inventory, prune what
//! left Git, and wait for health. Returns a change set that feeds CLI output, events and status.
//!
//! Reading order: [`Engine::sync`] calls `prepare` -> `plan` -> `apply` -> `prune` -> `wait`,
//! one module each (`prune_stale` ends the prune: what is gone leaves the inventory).

#![warn(missing_docs)]

mod apply;
mod capabilities;
mod comparison;
mod error;
mod hooks;
mod ignore;
pub mod inventory;
mod options;
mod plan;
mod prepare;
mod probe;
mod prune;
mod prune_stale;
mod replace;
mod request;
mod resolve;
mod select;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::Client;
use moor_diff::ObjectDiff;
use moor_types::{ANNOTATION_APPLIED_HASH, Change, HealthStatus, Manifest, ObjKey, SyncPhase};
use serde::Serialize;
use serde_json::Value;

pub use apply::WrittenHook;
pub use capabilities::ClusterCapabilities;
pub use comparison::{Comparison, ResourceState};
pub use error::{ObjectError, SyncError};
pub use hooks::{HookProgress, HookResult, HookStatus};
pub use ignore::IgnoreRule;
pub use options::sync_option_warnings;
pub use plan::drifted;
pub use resolve::Resolver;

use inventory::{Entry, Inventory};
use plan::Planned;

/// Called once per object as soon as its result is known (progress output).
pub type Progress<'a> = dyn Fn(&ObjectResult) + Send + Sync + 'a;

/// What to sync as, and how: the same options serve sync, compare and diff.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// The app that owns what is applied (tracking annotation, label, inventory).
    pub app: String,
    /// Namespace given to namespaced objects that have none.
    pub namespace: String,
    /// Delete the objects the app owned that are no longer desired.
    pub prune: bool,
    /// Validate, dry-run and report, but write nothing.
    pub dry_run: bool,
    /// After the last write, wait until every applied object is healthy.
    pub wait: bool,
    /// Bound on every wait (CRDs established, waves healthy, --wait).
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Recorded with the inventory.
    pub revision: Option<String>,
    /// Fields of matching objects that drift detection leaves out (Argo CD's `ignoreDifferences`).
    pub ignore_differences: Vec<IgnoreRule>,
    /// A sync writes ignored fields at their live values instead of Git's.
    pub respect_ignore_differences: bool,
    /// Objects that exist without any app's tracking id may be taken into the app (reported as
    /// adopted). Off: such an object fails the sync before any write.
    pub adopt: bool,
    /// `Replace=true` for the app: only an object whose dry-run refuses a changed immutable
    /// field is deleted and recreated (`replace.rs`); an object's own options override it.
    pub replace: bool,
    /// `Force=true` for the app: the same as `replace` (Argo CD's force deletes and recreates).
    pub force: bool,
    /// How health is judged (user CEL rules over the built-in ones), for compare and waits.
    pub health_rules: moor_health::HealthRules,
    /// Keep what each apply wrote (the API server's answer) in the change set, so
    /// [`Comparison::after`] can tell the state after a sync without reading it again.
    pub read_back: bool,
    /// With `read_back`: told each object as written, the moment its apply returns.
    pub on_written: Option<WrittenHook>,
    /// The app's `syncPolicy.syncOptions`, an object's own sync-options annotation overriding
    /// them: Prune, Delete, PruneLast, PrunePropagationPolicy, Validate,
    /// SkipDryRunOnMissingResource, with Argo CD's meaning (see `options.rs`).
    pub app_options: Vec<moor_types::SyncOption>,
    /// This sync deletes the whole app (its finalizer, `moor app delete`): objects whose
    /// `Delete=false` holds are kept, everything else prunes as usual.
    pub deleting_app: bool,
    /// Told each hook's start and end as they happen.
    pub hook_progress: Option<HookProgress>,
    /// Argo CD's selective sync: only these objects are applied or pruned, no hook runs, and
    /// the inventory keeps the others (`select.rs`). None: the whole app.
    pub selection: Option<Vec<ObjKey>>,
}

impl SyncOptions {
    /// Defaults for app `app` in `namespace`: no prune, no wait, adopt, 5 minute timeout.
    pub fn new(app: &str, namespace: &str) -> Self {
        SyncOptions {
            app: app.to_string(),
            namespace: namespace.to_string(),
            prune: false,
            dry_run: false,
            wait: false,
            timeout: Duration::from_secs(300),
            concurrency: 32,
            revision: None,
            ignore_differences: vec![],
            respect_ignore_differences: false,
            adopt: true,
            replace: false,
            force: false,
            health_rules: moor_health::HealthRules::default(),
            read_back: false,
            on_written: None,
            app_options: vec![],
            deleting_app: false,
            hook_progress: None,
            selection: None,
        }
    }
}

/// What a sync did to one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectResult {
    /// The object.
    pub key: ObjKey,
    /// Its API version, so output can be applied or looked up again.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// What happened to it.
    pub change: Change,
    /// Why, when it was skipped; empty otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The change set of one sync, in apply order (pruned objects last).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChangeSet {
    /// The app synced.
    pub app: String,
    /// The Git revision synced, as given in the options.
    pub revision: Option<String>,
    /// Nothing was written: the changes are what a sync would do.
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
    /// One result per object.
    pub objects: Vec<ObjectResult>,
    /// The hooks run, in the order they started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookResult>,
    /// With [`SyncOptions::read_back`]: each applied object as the API server wrote it.
    #[serde(skip)]
    pub written: std::collections::HashMap<ObjKey, Arc<Value>>,
}

impl ChangeSet {
    /// How many objects had `change`, for summaries.
    pub fn count(&self, change: Change) -> usize {
        self.objects.iter().filter(|o| o.change == change).count()
    }
}

/// What every verb starts from (see `Engine::plan_all`).
#[derive(Clone, Debug)]
struct Plan {
    planned: Vec<Planned>,
    previous: Inventory,
    /// The resourceVersion `previous` was read at (None: no inventory yet).
    previous_rv: Option<String>,
    desired_entries: Inventory,
    stale: Vec<Entry>,
    /// When planning began: prune spares objects that another sync applied after it.
    started_at: Timestamp,
    /// The hooks of the rendered set, validated, run by a sync in their phases.
    hooks: Vec<hooks::HookObj>,
}

/// The sync engine on one cluster, keeping a discovery cache across its syncs.
pub struct Engine {
    client: Client,
    /// Reads and writes the inventory: the controller's own client when `client` impersonates
    /// a tenant's service account, which has no business with moor's bookkeeping.
    inventory: Client,
    resolver: Resolver,
}

impl Engine {
    /// An engine writing through `client`, with an empty discovery cache.
    pub fn new(client: Client) -> Self {
        Engine {
            inventory: client.clone(),
            client,
            resolver: Resolver::default(),
        }
    }

    /// An engine whose objects are read and written through `client` (e.g. impersonating a
    /// service account) and whose inventory through `inventory`.
    pub fn with_inventory_client(client: Client, inventory: Client) -> Self {
        Engine {
            client,
            inventory,
            resolver: Resolver::default(),
        }
    }

    /// Where each object goes: its key with the namespace it is written to (None for a
    /// cluster-scoped kind), as a sync places it; objects naming no namespace get `namespace`.
    /// A kind the server does not serve, and no CRD of the set defines, counts as namespaced
    /// (a sync refuses it anyway).
    pub async fn placement(&self, manifests: &[Manifest], namespace: &str) -> Vec<ObjKey> {
        let mut keys = Vec::with_capacity(manifests.len());
        for m in manifests {
            let gvk = resolve::gvk_of(m.api_version(), m.kind());
            let namespaced = match self.resolver.resolve(&self.client, &gvk).await {
                Ok(Some(r)) => r.namespaced,
                _ => resolve::from_crds(manifests, &gvk).is_none_or(|r| r.namespaced),
            };
            let ns = namespaced.then(|| m.namespace().unwrap_or(namespace));
            keys.push(ObjKey::new(
                ObjKey::group_of(m.api_version()),
                m.kind(),
                ns,
                m.name(),
            ));
        }
        keys
    }

    /// The client it writes through, for callers that read the same cluster.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The API resource of a kind, through the engine's discovery cache.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Option<kube::core::ApiResource> {
        let gvk = resolve::gvk_of(api_version, kind);
        self.resolver
            .resolve(&self.client, &gvk)
            .await
            .ok()
            .flatten()
            .map(|r| r.ar)
    }

    /// Removes what the engine stored for `app` (its inventory), once the app is gone.
    pub async fn forget(&self, app: &str) -> Result<(), SyncError> {
        inventory::remove(&self.inventory, app).await
    }

    /// The first half of every verb: validate and dry-run `manifests`, and find the objects the
    /// app's last inventory holds that are no longer desired.
    /// `new_bodies`: keep the dry-run result of new objects too (only a diff shows them).
    async fn plan_all(
        &self,
        manifests: Vec<Manifest>,
        opts: &SyncOptions,
        new_bodies: bool,
    ) -> Result<Plan, SyncError> {
        let started_at = Timestamp::now();
        let started = std::time::Instant::now();
        let all = manifests.clone();
        let (manifests, hook_manifests) =
            hooks::partition(manifests).map_err(SyncError::Invalid)?;
        let mut desired = prepare::prepare(
            &self.client,
            &self.resolver,
            manifests,
            &opts.app,
            &opts.namespace,
            &opts.app_options,
        )
        .await?;
        let hooks = hooks::prepare(
            &self.client,
            &self.resolver,
            hook_manifests,
            &all,
            &opts.app,
            &opts.namespace,
        )
        .await?;
        for d in &mut desired {
            d.ignore = ignore::Ignored::for_key(&opts.ignore_differences, &d.key);
            d.keep_ignored_live = opts.respect_ignore_differences;
            d.replace = replace::allowed(&d.m, opts).then_some(opts.timeout);
        }
        let prepared = started.elapsed();
        let (previous, previous_rv) = inventory::read(&self.inventory, &opts.app).await?;
        let known = previous.iter().map(Entry::key).collect();
        let planned = plan::plan(
            &self.client,
            desired,
            &opts.app,
            opts.concurrency,
            new_bodies,
            opts.adopt,
            &known,
        )
        .await?;
        tracing::debug!(
            objects = planned.len(),
            prepare_ms = prepared.as_millis() as u64,
            plan_ms = (started.elapsed() - prepared).as_millis() as u64,
            "planned"
        );
        let desired_entries: Inventory = planned.iter().map(entry_of).collect();
        let stale: Vec<Entry> = previous.difference(&desired_entries).cloned().collect();
        Ok(Plan {
            planned,
            previous,
            previous_rv,
            desired_entries,
            stale,
            started_at,
            hooks,
        })
    }

    /// Deletes the app: its PreDelete hooks (of `manifests`, the app's rendered source; its
    /// other objects are ignored), then every object of its inventory (`opts.prune` applies),
    /// then its PostDelete hooks. A failed PreDelete hook deletes nothing.
    pub async fn delete(
        &self,
        manifests: Vec<Manifest>,
        opts: &SyncOptions,
        progress: &Progress<'_>,
    ) -> Result<ChangeSet, SyncError> {
        let deleting = [SyncPhase::PreDelete, SyncPhase::PostDelete];
        let (_, hooks) = hooks::partition(manifests.clone()).map_err(SyncError::Invalid)?;
        let hooks: Vec<_> = hooks
            .into_iter()
            .filter(|(_, h)| h.phases.iter().any(|p| deleting.contains(p)))
            .collect();
        let hooks = hooks::prepare(
            &self.client,
            &self.resolver,
            hooks,
            &manifests,
            &opts.app,
            &opts.namespace,
        )
        .await?;
        let mut runner =
            hooks::Runner::new(&self.client, hooks, &opts.app, opts.hook_progress.clone());
        runner.run(SyncPhase::PreDelete, None).await?;
        let mut set = self.sync(vec![], opts, progress).await?;
        runner.run(SyncPhase::PostDelete, None).await?;
        set.hooks = runner.results;
        Ok(set)
    }

    /// Syncs `manifests` as app `opts.app`. Nothing is written unless every object passes
    /// validation and a server-side dry-run.
    pub async fn sync(
        &self,
        manifests: Vec<Manifest>,
        opts: &SyncOptions,
        progress: &Progress<'_>,
    ) -> Result<ChangeSet, SyncError> {
        let plan = self.plan_all(manifests, opts, false).await?;
        self.execute(plan, opts, progress).await
    }

    /// Syncs what `compared` was compared from (made by [`Engine::compare`] with the same app
    /// and namespace moments ago): the objects it found drifted are applied without a second
    /// dry-run, and `opts.prune` decides about the stale ones.
    pub async fn sync_compared(
        &self,
        compared: &Comparison,
        opts: &SyncOptions,
        progress: &Progress<'_>,
    ) -> Result<ChangeSet, SyncError> {
        let plan = compared
            .plan
            .as_deref()
            .cloned()
            .ok_or(SyncError::NotCompared)?;
        self.execute(plan, opts, progress).await
    }

    /// The writing half of a sync: inventory, apply, prune, inventory, wait.
    async fn execute(
        &self,
        mut plan: Plan,
        opts: &SyncOptions,
        progress: &Progress<'_>,
    ) -> Result<ChangeSet, SyncError> {
        if let Some(selection) = &opts.selection {
            select::narrow(&mut plan, selection).map_err(SyncError::Invalid)?;
        }
        let Plan {
            planned,
            previous,
            previous_rv,
            desired_entries,
            stale,
            started_at,
            hooks,
        } = plan;
        let mut set = ChangeSet {
            app: opts.app.clone(),
            revision: opts.revision.clone(),
            dry_run: opts.dry_run,
            objects: vec![],
            hooks: vec![],
            written: Default::default(),
        };

        if opts.dry_run {
            set.objects = planned.iter().map(would_change).collect();
            if opts.prune {
                let pruned = prune::prune(
                    &self.client,
                    &self.resolver,
                    opts,
                    stale,
                    Some(started_at),
                    true,
                    false,
                )
                .await?;
                set.objects.extend(pruned.results);
            }
            return Ok(set);
        }

        let mut runner =
            hooks::Runner::new(&self.client, hooks, &opts.app, opts.hook_progress.clone());
        let written = self
            .write(
                &mut runner,
                planned,
                (previous, previous_rv, desired_entries, stale, started_at),
                opts,
                progress,
            )
            .await;
        let written = match written {
            Ok(objects) => Ok(objects),
            // SyncFail hooks run after any failure; the sync's own error is what is reported.
            Err(e) => {
                if let Err(fail) = runner.run(SyncPhase::SyncFail, None).await {
                    tracing::warn!("SyncFail hook of app {}: {fail}", opts.app);
                }
                Err(e)
            }
        };
        (set.objects, set.written) = written?;
        set.hooks = runner.results;
        Ok(set)
    }

    /// The phases of a sync that write: PreSync hooks; the inventory; the steady objects wave
    /// by wave, with the Sync hooks of each wave after them; prune; wait; PostSync hooks.
    async fn write(
        &self,
        runner: &mut hooks::Runner<'_>,
        planned: Vec<Planned>,
        (previous, previous_rv, desired_entries, stale, started_at): (
            Inventory,
            Option<String>,
            Inventory,
            Vec<Entry>,
            Timestamp,
        ),
        opts: &SyncOptions,
        progress: &Progress<'_>,
    ) -> Result<(Vec<ObjectResult>, apply::Written), SyncError> {
        // A failing PreSync hook stops the sync before any steady object is written.
        runner.run(SyncPhase::PreSync, None).await?;
        // Record ownership before writing, so a crash mid-sync still lets a later prune find
        // everything this sync may have created. Added to what is stored now, not to what this
        // sync read: a concurrent sync of the same app keeps its entries (the write carries the
        // resourceVersion the plan read, so one written since conflicts and is read again).
        let written = if !desired_entries.is_subset(&previous) {
            inventory::update_from(
                &self.inventory,
                &opts.app,
                opts.revision.as_deref(),
                Some((previous.clone(), previous_rv)),
                |inv| inv.extend(desired_entries.iter().cloned()),
            )
            .await?
        } else {
            None
        };
        let targets: Vec<prepare::Desired> = planned.iter().map(|p| p.d.clone()).collect();
        let started = std::time::Instant::now();
        let (mut objects, applied) =
            apply::apply_all(&self.client, planned, runner, opts, progress).await?;
        // A concurrent sync of the same app may have taken one of our entries out as gone,
        // having found the object missing just before we created it: what this sync applied
        // goes back in (one read when nobody else wrote the inventory).
        inventory::reassert(
            &self.inventory,
            &opts.app,
            opts.revision.as_deref(),
            &desired_entries,
            written.as_deref(),
        )
        .await?;
        tracing::debug!(
            objects = objects.len(),
            apply_ms = started.elapsed().as_millis() as u64,
            "applied"
        );
        self.resolver.forget_missing();
        // A new or changed CRD changes what the cluster serves: Helm's capabilities too.
        if (objects.iter())
            .any(|o| o.change != Change::Unchanged && capabilities::changes_api(&o.key.kind))
        {
            self.resolver.forget_discovery();
        }
        if opts.prune {
            objects.extend(
                self.prune_stale(stale, started_at, &targets, opts, progress)
                    .await?,
            );
        }
        // PostSync hooks run once everything the sync wrote is healthy.
        if opts.wait || runner.has(SyncPhase::PostSync) {
            let refs: Vec<_> = targets.iter().collect();
            wait::until_healthy(&self.client, &refs, opts).await?;
        }
        runner.run(SyncPhase::PostSync, None).await?;
        Ok((objects, applied))
    }

    /// Sync and health of every desired object, and the owned objects that left Git (they
    /// would be pruned): what a controller shows in an app's status. Writes nothing.
    pub async fn compare(
        &self,
        manifests: Vec<Manifest>,
        opts: &SyncOptions,
    ) -> Result<Comparison, SyncError> {
        let plan = self.plan_all(manifests, opts, false).await?;
        let resources = plan
            .planned
            .iter()
            .map(|p| ResourceState {
                key: p.d.key.clone(),
                api_version: p.d.m.api_version().to_string(),
                synced: !p.drifted,
                health: match &p.live {
                    Some(live) => opts.health_rules.health(live),
                    None => moor_health::Health::new(HealthStatus::Missing, "not created yet"),
                },
            })
            .collect();
        let would_prune = prune::prune(
            &self.client,
            &self.resolver,
            opts,
            plan.stale.clone(),
            None,
            true,
            false,
        )
        .await?;
        let extra = would_prune
            .results
            .into_iter()
            .filter(|r| r.change == Change::Pruned)
            .map(|r| ResourceState {
                synced: would_prune.ignore_extraneous.contains(&r.key),
                key: r.key,
                api_version: r.api_version,
                health: moor_health::Health::new(HealthStatus::Healthy, "no longer in Git"),
            })
            .collect();
        Ok(Comparison {
            resources,
            extra,
            plan: Some(Arc::new(plan)),
        })
    }

    /// Differences between the live objects and the dry-run result of `manifests`, plus the
    /// objects that would be pruned (shown as removed). Empty when in sync.
    pub async fn diff(
        &self,
        manifests: Vec<Manifest>,
        opts: &SyncOptions,
    ) -> Result<Vec<ObjectDiff>, SyncError> {
        let Plan { planned, stale, .. } = self.plan_all(manifests, opts, true).await?;
        let mut diffs: Vec<ObjectDiff> = planned
            .iter()
            .filter_map(|p| {
                let desired = p.dry.as_ref().unwrap_or(&p.d.m.obj);
                let live = p.live.as_ref().map(|l| p.d.ignore.strip(l));
                moor_diff::diff(
                    &p.d.key,
                    live.as_deref().map(without_hash).as_ref(),
                    Some(&without_hash(&p.d.ignore.strip(desired))),
                )
            })
            .collect();
        let would_prune = prune::prune(
            &self.client,
            &self.resolver,
            opts,
            stale.clone(),
            None,
            true,
            false,
        )
        .await?;
        for r in would_prune
            .results
            .iter()
            .filter(|r| r.change == Change::Pruned)
        {
            if let Some(live) = self.live_of(&stale, &r.key).await? {
                diffs.extend(moor_diff::diff(&r.key, Some(&without_hash(&live)), None));
            }
        }
        Ok(diffs)
    }

    async fn live_of(&self, entries: &[Entry], key: &ObjKey) -> Result<Option<Value>, SyncError> {
        let Some(e) = entries.iter().find(|e| &e.key() == key) else {
            return Ok(None);
        };
        let Some(res) = self
            .resolver
            .resolve(&self.client, &resolve::gvk_of(&e.api_version(), &e.kind))
            .await
            .map_err(error::about("look up the kind of", key))?
        else {
            return Ok(None);
        };
        let api: kube::Api<kube::api::DynamicObject> = match &e.namespace {
            Some(ns) if res.namespaced => {
                kube::Api::namespaced_with(self.client.clone(), ns, &res.ar)
            }
            _ => kube::Api::all_with(self.client.clone(), &res.ar),
        };
        Ok(api
            .get_opt(&e.name)
            .await
            .map_err(error::about("read", key))?
            .map(|o| serde_json::to_value(o).expect("object serializes")))
    }
}

fn entry_of(p: &Planned) -> Entry {
    Entry {
        group: p.d.res.ar.group.clone(),
        version: p.d.res.ar.version.clone(),
        kind: p.d.key.kind.clone(),
        namespace: p.d.key.namespace.clone(),
        name: p.d.key.name.clone(),
    }
}

fn would_change(p: &Planned) -> ObjectResult {
    let change = match (&p.live, p.drifted) {
        (None, _) => Change::Created,
        (Some(_), _) if p.replace => Change::Replaced,
        (Some(_), _) if p.adopts() => Change::Adopted,
        (Some(_), true) => Change::Configured,
        (Some(_), false) => Change::Unchanged,
    };
    ObjectResult {
        key: p.d.key.clone(),
        api_version: p.d.m.api_version().to_string(),
        change,
        message: String::new(),
    }
}

/// The applied-hash annotation is moor's bookkeeping, not something a user changed: keep it out of diffs.
fn without_hash(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(a) = v
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(ANNOTATION_APPLIED_HASH);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine on an address where nothing listens: every request fails to connect.
    fn unreachable_engine() -> Engine {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        Engine::new(Client::try_from(config).unwrap())
    }

    #[tokio::test]
    async fn sync_compared_needs_a_comparison_made_by_compare() {
        // The engine must refuse before any request.
        let engine = unreachable_engine();
        let r = engine
            .sync_compared(
                &Comparison::default(),
                &SyncOptions::new("a", "ns"),
                &|_| {},
            )
            .await;
        assert!(matches!(r, Err(SyncError::NotCompared)), "{r:?}");
    }

    #[tokio::test]
    async fn an_api_error_names_the_object_it_was_about() {
        let engine = unreachable_engine();
        let m = Manifest::new(
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "settings", "namespace": "shop"}}),
            Default::default(),
        );
        let err = engine
            .compare(vec![m], &SyncOptions::new("a", "shop"))
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, SyncError::Object { .. }), "{err:?}");
        let line = moor_types::error_chain(&err);
        assert!(
            line.starts_with("failed to look up the kind of ConfigMap shop/settings: "),
            "{line}"
        );
    }

    #[tokio::test]
    async fn an_inventory_error_names_its_configmap() {
        let err = unreachable_engine()
            .forget("shop")
            .await
            .expect_err("nothing listens");
        assert_eq!(
            err.to_string(),
            "failed to delete the inventory of app shop (ConfigMap moor-system/inventory-shop)"
        );
    }
}
