//! Service: only a LoadBalancer waits on something (the cloud provider's address).

use serde_json::Value;

use crate::Health;
use crate::util::str_at;

pub(super) fn health(obj: &Value) -> Option<Health> {
    if str_at(obj, "/spec/type") != Some("LoadBalancer") {
        return Some(Health::healthy(""));
    }
    Some(if has_lb_ingress(obj) {
        Health::healthy("load balancer is ready")
    } else {
        Health::progressing("waiting for the load balancer to get an address")
    })
}

/// `status.loadBalancer.ingress` has at least one entry (shared with Ingress).
pub(super) fn has_lb_ingress(obj: &Value) -> bool {
    obj.pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}
