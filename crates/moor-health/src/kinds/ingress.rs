//! Ingress: progressing until the controller publishes an address, as Argo CD decides it.

use serde_json::Value;

use super::service::has_lb_ingress;
use crate::Health;
use crate::util::str_at;

pub(super) fn health(obj: &Value) -> Option<Health> {
    if has_lb_ingress(obj) {
        return Some(Health::healthy("ingress has an address"));
    }
    // The usual cause of an Ingress that never gets an address is a cluster without an ingress
    // controller: say so, since when (rules have no clock: the creation time tells how long),
    // and how to stop waiting for it.
    let since = str_at(obj, "/metadata/creationTimestamp")
        .map(|t| format!(" (none since it was created at {t})"))
        .unwrap_or_default();
    Some(Health::progressing(format!(
        "waiting for an ingress controller to publish an address{since}; none may be running \
         in this cluster (annotate the Ingress moor.dev/health: ignore to not wait for it)"
    )))
}
