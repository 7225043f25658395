//! `moor app suspend` and `moor app resume`: set or remove `spec.suspend` (Flux's field). The
//! controller stops fetching, syncing and healing a suspended app; removing the field is a spec
//! change, which the controller's watch reconciles at once.

use anyhow::Result;
use serde_json::json;

use super::Apps;
use crate::cli::app::SuspendArgs;

/// `suspend`: true sets the field, false removes it (a merge patch of null), so a resumed app's
/// spec is as it was before the suspension.
pub(super) async fn set(apps: &Apps, args: SuspendArgs, suspend: bool) -> Result<u8> {
    let value = if suspend { json!(true) } else { json!(null) };
    apps.patch(&args.name, json!({"spec": {"suspend": value}}))
        .await?;
    println!(
        "application {}/{} {}",
        apps.namespace,
        args.name,
        if suspend {
            "suspended: no fetch, sync or self-heal until `moor app resume`"
        } else {
            "resumed"
        }
    );
    Ok(0)
}
