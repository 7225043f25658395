//! `moor app refresh` and `moor app get --refresh`: Argo CD's refresh. The CLI sets the refresh
//! annotation; the controller fetches the source afresh, compares, writes the status and then
//! removes the annotation, so the annotation's going is the signal that the status is fresh.

use std::time::Duration;

use anyhow::{Result, bail};
use kube::ResourceExt;
use moor_controller::crd::{Application, REFRESH_ANNOTATION};
use serde_json::json;

use super::{Apps, GetArgs, get};
use crate::cli::app::RefreshArgs;

/// Refreshes, then shows the app as `moor app get` does.
pub(super) async fn refresh(apps: &Apps, args: RefreshArgs) -> Result<u8> {
    request_refresh(apps, &args.name, args.timeout).await?;
    get(
        apps,
        GetArgs {
            name: args.name,
            output: args.output,
            refresh: false,
        },
    )
    .await
}

/// Asks the controller for a fresh fetch and comparison of `name` and waits until it is done.
pub(super) async fn request_refresh(
    apps: &Apps,
    name: &str,
    timeout: Duration,
) -> Result<Application> {
    // A value of its own per request: the controller removes exactly the value it served.
    let token = format!(
        "{}-{}",
        std::process::id(),
        k8s_openapi::jiff::Timestamp::now().as_nanosecond()
    );
    apps.patch(
        name,
        json!({"metadata": {"annotations": {REFRESH_ANNOTATION: token}}}),
    )
    .await?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let app = apps.get(name).await?;
        if !app.annotations().contains_key(REFRESH_ANNOTATION) {
            return Ok(app);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "timed out after {} waiting for the controller to refresh application {}/{name} \
                 (is the controller running?)",
                humantime::format_duration(timeout),
                apps.namespace
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
