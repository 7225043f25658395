//! Finding and reading kubeconfig files like kubectl: `--kubeconfig`, else the files listed in
//! `KUBECONFIG` (merged, missing ones skipped), else `~/.kube/config`. Files are read here first
//! so that a missing or unreadable one is reported once, naming the path once.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kube::Config;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// The client configuration of every command given a kubeconfig: the file(s) [`require`] finds,
/// with `context` (default: the kubeconfig's current context).
pub async fn load(flag: Option<&Path>, context: Option<String>) -> Result<Config> {
    let options = KubeConfigOptions {
        context,
        ..Default::default()
    };
    let kc = require(flag)?;
    Config::from_custom_kubeconfig(kc, &options)
        .await
        .context("failed to load the kubeconfig")
}

/// The kubeconfig to use; `None` when no path was given and none of the usual places has one
/// (the controller then tries in-cluster credentials).
fn read(flag: Option<&Path>) -> Result<Option<Kubeconfig>> {
    let paths: Vec<PathBuf> = match flag {
        Some(p) => vec![p.to_path_buf()],
        None => {
            let found: Vec<PathBuf> = default_paths().into_iter().filter(|p| p.exists()).collect();
            if found.is_empty() {
                return Ok(None);
            }
            found
        }
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in &paths {
        let kc = read_one(path)?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m
                .merge(kc)
                .with_context(|| format!("failed to merge the kubeconfig {path:?}"))?,
        });
    }
    Ok(merged)
}

/// Like [`read`], but a kubeconfig is required (`moor sync`, `moor diff`, `moor app`).
fn require(flag: Option<&Path>) -> Result<Kubeconfig> {
    match read(flag)? {
        Some(kc) => Ok(kc),
        None => bail!(
            "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create {:?}",
            home_config().unwrap_or_else(|| "~/.kube/config".into())
        ),
    }
}

fn read_one(path: &Path) -> Result<Kubeconfig> {
    // Read once here for a clear error; kube reads it again to resolve relative file paths.
    std::fs::read(path).with_context(|| format!("failed to read the kubeconfig {path:?}"))?;
    Kubeconfig::read_from(path).with_context(|| format!("failed to load the kubeconfig {path:?}"))
}

fn default_paths() -> Vec<PathBuf> {
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => home_config().into_iter().collect(),
    }
}

fn home_config() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube").join("config"))
}
