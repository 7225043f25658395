//! Objects the app never had (not in its inventory) are most likely new: the server-side
//! dry-run of their create is sent first, without reading them. Only when that says the object
//! exists (409) is it read, for the ownership check and a dry-run of the apply. A first sync
//! of N objects thus sends N requests before the first write instead of 2N (at 10,000 apps the
//! GETs answered 404 were a fifth of all requests: BENCHMARKS.md, scale).

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, stream};
use kube::Client;
use moor_types::ObjKey;
use serde_json::Value;

use crate::error::{SyncError, about};
use crate::plan::{api_for, dry_run, dry_run_create, to_value};
use crate::prepare::Desired;

/// What probing one object found.
pub(crate) enum Probe {
    /// It did not exist: the dry-run of its create (its body only with `new_bodies`), or why
    /// the API server refused it.
    New(Result<Option<Value>, kube::Error>),
    /// It exists: the live object, to be planned like any other.
    Exists(Value),
}

/// Whether `d` is probed by a dry-run create instead of read: validated (`Validate=false`
/// dry-runs the apply only), its kind served already, and not in the app's inventory.
fn probed(d: &Desired, known: &HashSet<ObjKey>) -> bool {
    d.validate && !d.res.from_pending_crd && !known.contains(&d.key)
}

/// Probes every object of `desired` that [`probed`] picks, `concurrency` at once.
pub(crate) async fn new_objects(
    client: &Client,
    desired: &[Desired],
    known: &HashSet<ObjKey>,
    new_bodies: bool,
    concurrency: usize,
) -> Result<HashMap<ObjKey, Probe>, SyncError> {
    // The futures made up front: a stream of closures over borrowed objects is not Send
    // enough for a spawned sync.
    let probes: Vec<_> = (desired.iter())
        .filter(|d| probed(d, known))
        .map(|d| probe(client, d, new_bodies))
        .collect();
    let results: Vec<Result<(ObjKey, Probe), SyncError>> = stream::iter(probes)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn probe(
    client: &Client,
    d: &Desired,
    new_bodies: bool,
) -> Result<(ObjKey, Probe), SyncError> {
    let key = d.key.clone();
    let created = dry_run_create(client, d, new_bodies).await;
    match &created {
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        _ => return Ok((key, Probe::New(created))),
    }
    // It exists: read it, as for an inventory entry.
    match api_for(client, d).get_opt(&d.key.name).await {
        Ok(Some(o)) => Ok((key, Probe::Exists(to_value(o, d)))),
        // Deleted again meanwhile: new after all.
        Ok(None) => Ok((key, Probe::New(dry_run(client, d, false, new_bodies).await))),
        Err(e) => Err(about("read", &d.key)(e)),
    }
}
