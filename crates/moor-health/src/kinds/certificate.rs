//! cert-manager Certificate: issuing first (a renewal in flight is progress, even while the old
//! certificate is still Ready), then the `Ready` condition, as Argo CD decides it.

use serde_json::Value;

use crate::util::condition;
use crate::{Health, with_detail};

pub(super) fn health(obj: &Value) -> Option<Health> {
    if let Some(c) = condition(obj, "Issuing").filter(|c| c.is_true()) {
        return Some(Health::progressing(with_detail("issuing", &c.describe())));
    }
    Some(match condition(obj, "Ready") {
        Some(c) if c.is_true() => Health::healthy(c.message),
        // Not issuing and not ready: cert-manager has given up until something changes.
        Some(c) if c.is_false() => Health::degraded(with_detail("not ready", &c.describe())),
        _ => Health::progressing("waiting for cert-manager to issue the certificate"),
    })
}
