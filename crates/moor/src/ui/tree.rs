//! An app's resource tree: the Application, the objects it manages (status.resources) and their
//! children by ownerReferences (Deployment -> ReplicaSet -> Pod), each with health and sync.

use kube::Client;
use moor_controller::crd::Application;
use serde::Serialize;

use super::UiError;

/// The nodes of one app's tree, parents before children.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Tree {
    /// Every node.
    pub nodes: Vec<serde_json::Value>,
}

/// The tree of `app` as it is live in its destination.
pub(crate) async fn build(_client: &Client, _app: &Application) -> Result<Tree, UiError> {
    Err(UiError::Internal("the resource tree is not built yet".into()))
}
