//! An app's deployed revisions (author, message, time, result) and the diff between two
//! revisions' rendered manifests.

use moor_controller::crd::Application;
use serde::Serialize;

use super::UiError;
use super::render::Renders;

/// One deployed revision.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Entry {
    /// Everything, as JSON.
    pub body: serde_json::Value,
}

/// The app's history, newest first.
pub(crate) fn entries(_app: &Application) -> Vec<Entry> {
    Vec::new()
}

/// The diff between two revisions' rendered manifests.
#[derive(Debug, Default, Serialize)]
pub(crate) struct RevisionDiff {
    /// Everything, as JSON.
    pub body: serde_json::Value,
}

/// The rendered manifests of history entries `from` and `to` of `app` (API group `group`),
/// compared.
pub(crate) async fn diff(
    _renders: &Renders,
    _app: &Application,
    _group: &str,
    _from: i64,
    _to: i64,
) -> Result<RevisionDiff, UiError> {
    Err(UiError::Internal("revision diffs are not served yet".into()))
}
