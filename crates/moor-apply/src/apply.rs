//! Server-side apply of the drifted objects, in the one sync order (`moor_types::ApplyOrder`):
//! Namespaces and CRDs first (each CRD Established before its custom resources), then waves
//! ascending, each healthy before the next, with the wave's Sync hooks after its objects; inside
//! a wave kinds go in the fixed order, objects of one kind in parallel (bounded).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::{StreamExt, stream};
use kube::Client;
use kube::api::Patch;
use moor_types::{ApplyOrder, Change, ObjKey, SyncPhase};
use serde_json::Value;

use crate::error::{ObjectError, SyncError, api_reason};
use crate::hooks::Runner;
use crate::ignore;
use crate::plan::{Planned, drifted_ignoring, dry_run};
use crate::request;
use crate::wait::until_healthy;
use crate::{ObjectResult, Progress, SyncOptions};

fn order_of(p: &Planned) -> ApplyOrder {
    let k = &p.d.key;
    let ns = k.namespace.as_deref().unwrap_or("");
    ApplyOrder::new(SyncPhase::Sync, p.d.wave, &k.group, &k.kind, ns, &k.name)
}

/// Applies `planned` (all of which passed validation and dry-run), in [`ApplyOrder`]: the
/// Namespaces and CRDs first, then wave by wave, kind by kind, each wave healthy before the
/// next; the Sync-phase hooks of a wave run after its objects. One result per object, and with
/// `opts.read_back` each applied object as written.
pub async fn apply_all(
    client: &Client,
    planned: Vec<Planned>,
    hooks: &mut Runner<'_>,
    opts: &SyncOptions,
    progress: &Progress<'_>,
) -> Result<(Vec<ObjectResult>, Written), SyncError> {
    let mut written = Written::new();
    let (early, rest): (Vec<Planned>, Vec<Planned>) =
        planned.into_iter().partition(|p| !order_of(p).late);
    let mut results = apply_group(client, early.clone(), opts, progress, &mut written).await?;
    let crds: Vec<_> = early
        .iter()
        .filter(|p| p.d.key.kind == "CustomResourceDefinition")
        .map(|p| &p.d)
        .collect();
    if !crds.is_empty() {
        until_healthy(client, &crds, opts).await?;
    }
    let rest = finish_deferred_dry_runs(client, rest).await?;

    // Wave -> (kind rank, kind) -> objects; waves with only hooks count too.
    let mut waves: BTreeMap<i64, BTreeMap<(usize, String), Vec<Planned>>> = BTreeMap::new();
    for w in hooks.waves(SyncPhase::Sync) {
        waves.entry(w).or_default();
    }
    for p in rest {
        let o = order_of(&p);
        waves
            .entry(o.wave)
            .or_default()
            .entry((o.rank, o.kind))
            .or_default()
            .push(p);
    }
    let last_wave = waves.keys().next_back().copied();
    for (wave, kinds) in waves {
        let mut wrote = false;
        let mut in_wave = Vec::new();
        for (_, group) in kinds {
            wrote |= group.iter().any(|p| p.drifted);
            in_wave.extend(group.iter().map(|p| p.d.clone()));
            results.extend(apply_group(client, group, opts, progress, &mut written).await?);
        }
        if hooks.waves(SyncPhase::Sync).contains(&wave) {
            // The wave's objects first, healthy: a Sync hook may use them.
            if wrote {
                let targets: Vec<_> = in_wave.iter().collect();
                until_healthy(client, &targets, opts).await?;
            }
            hooks.run(SyncPhase::Sync, Some(wave)).await?;
            continue;
        }
        // A later wave may depend on this one: it must be healthy first.
        if wrote && Some(wave) != last_wave {
            let targets: Vec<_> = in_wave.iter().collect();
            until_healthy(client, &targets, opts).await?;
        }
    }
    Ok((results, written))
}

/// What the applies wrote, by object (only with `read_back`).
pub type Written = HashMap<ObjKey, Arc<Value>>;

/// Told each object as the API server wrote it, the moment its apply returns (with
/// `read_back`): a controller recognises the watch events of its own writes by their
/// resourceVersion, and does not take them for drift.
#[derive(Clone)]
pub struct WrittenHook(pub Arc<WrittenFn>);

/// The function of a [`WrittenHook`]: the object's key and what the API server wrote.
pub type WrittenFn = dyn Fn(&ObjKey, &Value) + Send + Sync;

impl std::fmt::Debug for WrittenHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WrittenHook")
    }
}

/// Objects whose namespace or CRD did not exist at plan time are dry-run now, before they are written.
async fn finish_deferred_dry_runs(
    client: &Client,
    rest: Vec<Planned>,
) -> Result<Vec<Planned>, SyncError> {
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(rest.len());
    for mut p in rest {
        if p.d.kind_missing {
            crate::options::resolve_missing_kind(client, &mut p).await;
        }
        if !p.checked {
            match dry_run(client, &p.d, p.live.is_some(), false).await {
                Ok(dry) => {
                    p.drifted = dry
                        .as_ref()
                        .is_none_or(|dry| drifted_ignoring(&p.d, dry, p.live.as_ref()));
                    p.checked = true;
                    p.dry = dry;
                }
                Err(e) => errors.push(ObjectError {
                    key: p.d.key.clone(),
                    origin: p.d.m.origin.clone(),
                    reason: format!("server-side dry-run failed: {}", api_reason(&e)),
                }),
            }
        }
        out.push(p);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(SyncError::Invalid(errors))
    }
}

async fn apply_group(
    client: &Client,
    group: Vec<Planned>,
    opts: &SyncOptions,
    progress: &Progress<'_>,
    written: &mut Written,
) -> Result<Vec<ObjectResult>, SyncError> {
    let read_back = opts.read_back;
    let results: Vec<Result<(ObjectResult, Option<Value>), SyncError>> = stream::iter(group)
        .map(|p| async move {
            let r = apply_one(client, &p, read_back).await;
            if let Ok((r, written)) = &r {
                if let (Some(hook), Some(obj)) = (&opts.on_written, written) {
                    (hook.0)(&r.key, obj);
                }
                progress(r);
            }
            r
        })
        .buffered(opts.concurrency)
        .collect()
        .await;
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        let (r, obj) = r?;
        if let Some(obj) = obj {
            written.insert(r.key.clone(), Arc::new(obj));
        }
        out.push(r);
    }
    Ok(out)
}

/// Applies `p` if it drifted; with `read_back`, returns what the API server wrote.
async fn apply_one(
    client: &Client,
    p: &Planned,
    read_back: bool,
) -> Result<(ObjectResult, Option<Value>), SyncError> {
    let result = |change| ObjectResult {
        key: p.d.key.clone(),
        api_version: p.d.m.api_version().to_string(),
        change,
        message: String::new(),
    };
    if p.d.kind_missing {
        let r = ObjectResult {
            message: crate::options::KIND_MISSING.into(),
            ..result(Change::Skipped)
        };
        return Ok((r, None));
    }
    if !p.drifted {
        return Ok((result(Change::Unchanged), None));
    }
    if let (true, Some(timeout)) = (p.replace, p.d.replace) {
        // Gone first: the apply below then creates it with the fields Git gives.
        crate::replace::delete_and_wait(client, p, timeout).await?;
    }
    let pp = crate::plan::apply_params(&p.d);
    let body = if p.d.keep_ignored_live {
        ignore::keep_live(
            &p.d.m.obj,
            p.live.as_ref(),
            &p.d.ignore.pointers_in(&p.d.m.obj),
        )
    } else {
        std::borrow::Cow::Borrowed(&p.d.m.obj)
    };
    let written = match request::for_object(&p.d).patch(&p.d.key.name, &pp, &Patch::Apply(&*body)) {
        Ok(req) if read_back => request::send_read(client, req).await.map(Some),
        Ok(req) => request::send_unread(client, req).await.map(|()| None),
        Err(e) => Err(kube::Error::BuildRequest(e)),
    };
    let written = written.map_err(|e| {
        SyncError::Apply(ObjectError {
            key: p.d.key.clone(),
            origin: p.d.m.origin.clone(),
            reason: api_reason(&e),
        })
    })?;
    let change = if p.replace {
        Change::Replaced
    } else if p.adopts() {
        Change::Adopted
    } else if p.live.is_some() {
        Change::Configured
    } else {
        Change::Created
    };
    Ok((result(change), written))
}
