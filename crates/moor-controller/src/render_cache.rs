//! The render cache (renders by key, bounded in entries and bytes) and the guard that keeps
//! one render per key in flight.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use moor_types::Manifest;

use crate::sources::RENDER_CACHE_MAX;

/// Renders by key, bounded in entries and in estimated bytes; the oldest go first.
#[derive(Default)]
pub(crate) struct RenderCache {
    map: HashMap<String, (Arc<Vec<Manifest>>, usize)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl RenderCache {
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Vec<Manifest>>> {
        self.map.get(key).map(|(m, _)| m.clone())
    }

    /// Keeps `manifests` (of estimated `size`) unless it alone passes `max_bytes`, evicting
    /// the oldest entries until both bounds hold.
    pub(crate) fn insert(
        &mut self,
        key: String,
        manifests: Arc<Vec<Manifest>>,
        size: usize,
        max_bytes: usize,
    ) {
        if size > max_bytes || self.map.contains_key(&key) {
            return;
        }
        while self.map.len() >= RENDER_CACHE_MAX || self.bytes + size > max_bytes {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, n)) = self.map.remove(&old) {
                self.bytes -= n;
            }
        }
        self.bytes += size;
        self.order.push_back(key.clone());
        self.map.insert(key, (manifests, size));
    }
}

/// Removes a render's in-flight entry however the render ends (success, error, cancellation),
/// so a failed render never leaves one behind.
pub(crate) struct InflightGuard<'a> {
    pub(crate) inflight: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) key: String,
    pub(crate) flight: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        let mut inflight = self.inflight.lock().expect("inflight lock");
        // Only our own entry: a later render may have made a new one since.
        if inflight
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            inflight.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifests(n: usize) -> Arc<Vec<Manifest>> {
        let m = Manifest::new(json!({"kind": "ConfigMap"}), Default::default());
        Arc::new(vec![m; n])
    }

    #[test]
    fn render_cache_is_bounded_in_bytes_oldest_first() {
        let mut c = RenderCache::default();
        for k in ["a", "b", "c"] {
            c.insert(k.into(), manifests(1), 400, 1000);
        }
        assert!(c.get("a").is_none(), "the oldest was not evicted");
        assert!(c.get("b").is_some() && c.get("c").is_some());
        assert_eq!(c.bytes, 800);
        // One render larger than the whole bound is not kept at all.
        c.insert("huge".into(), manifests(1), 1001, 1000);
        assert!(c.get("huge").is_none());
        assert_eq!((c.map.len(), c.order.len(), c.bytes), (2, 2, 800));
    }
}
