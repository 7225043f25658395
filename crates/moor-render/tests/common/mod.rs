//! Shared by the integration tests, which run the real kustomize and helm binaries.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::{Path, PathBuf};

/// Fails (never skips) when `tool` is not on PATH, saying how to get it there.
pub fn require_tool(tool: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|d| d.join(tool).is_file());
    assert!(
        found,
        "{tool} not found on PATH: run these tests with scripts/test, which builds kustomize and \
         helm and puts them on PATH"
    );
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}
