//! Ingress: progressing until the controller publishes an address, as Argo CD decides it.

use serde_json::Value;

use super::service::has_lb_ingress;
use crate::Health;

pub(super) fn health(obj: &Value) -> Option<Health> {
    Some(if has_lb_ingress(obj) {
        Health::healthy("ingress has an address")
    } else {
        // The usual cause of an Ingress that never gets an address is a cluster without an
        // ingress controller: say so, and how to stop waiting for it.
        Health::progressing(
            "waiting for an ingress controller to publish an address; none may be running in \
             this cluster (annotate the Ingress moor.dev/health: ignore to not wait for it)",
        )
    })
}
