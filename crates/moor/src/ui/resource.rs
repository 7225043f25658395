//! One object of an app: its live manifest (Secret values masked), its diff against Git (the
//! normalised diff of `moor app diff`) and its Events.

use kube::Client;
use moor_controller::crd::Application;
use serde::{Deserialize, Serialize};

use super::UiError;
use super::render::Renders;

/// Which object: the query string of `GET .../resource`.
#[derive(Debug, Deserialize)]
pub(crate) struct ObjectQuery {
    /// API group ("" for the core group).
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace; none for cluster-scoped objects.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// What the node panel shows.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Resource {
    /// Everything, as JSON.
    pub body: serde_json::Value,
}

/// The object `q` of `app` (whose API group is `group`).
pub(crate) async fn get(
    _client: &Client,
    _renders: &Renders,
    _app: &Application,
    _group: &str,
    _q: &ObjectQuery,
) -> Result<Resource, UiError> {
    Err(UiError::Internal("resources are not served yet".into()))
}
