//! Ingress: progressing until the controller publishes an address, as Argo CD decides it.

use serde_json::Value;

use super::service::has_lb_ingress;
use crate::Health;

pub(super) fn health(obj: &Value) -> Option<Health> {
    Some(if has_lb_ingress(obj) {
        Health::healthy("ingress has an address")
    } else {
        Health::progressing("waiting for the ingress controller to publish an address")
    })
}
