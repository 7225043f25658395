//! Loads an app's source: fetch (or use a local directory), then render.

use anyhow::{Context, Result};
use moor_git::{RepoCache, Source, redact_url};
use moor_render::{HelmOptions, RenderOptions};
use moor_types::Manifest;

use crate::cli::SourceArgs;

pub struct Loaded {
    pub manifests: Vec<Manifest>,
    /// The commit rendered, when the source is a git repository.
    pub revision: Option<String>,
}

pub fn render_options(args: &SourceArgs, namespace: Option<&str>) -> RenderOptions {
    RenderOptions {
        recurse: args.recurse,
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        helm: HelmOptions {
            release_name: args.helm_release_name.clone(),
            namespace: namespace.map(str::to_string),
            value_files: args.helm_value_files.clone(),
            values: args.helm_values.clone(),
        },
        kustomize_bin: args.kustomize_bin.clone(),
        helm_bin: args.helm_bin.clone(),
        ..RenderOptions::default()
    }
}

/// Materialises and renders the source; `namespace` is the release namespace for Helm charts.
pub async fn load(args: &SourceArgs, namespace: Option<&str>) -> Result<Loaded> {
    let source = Source::new(RepoCache::new(RepoCache::default_root()));
    let m = source
        .materialize(
            &args.repo,
            args.revision.as_deref(),
            &args.path,
            &args.git.credentials(),
        )
        .await
        .with_context(|| format!("failed to load the source {}", redact_url(&args.repo)))?;
    let opts = render_options(args, namespace);
    let dir = m.dir.clone();
    let manifests = tokio::task::spawn_blocking(move || moor_render::render(&dir, &opts))
        .await
        .context("the renderer panicked")?
        .with_context(|| {
            format!(
                "failed to render {} at path {}",
                redact_url(&args.repo),
                args.path
            )
        })?;
    Ok(Loaded {
        manifests,
        revision: m.commit,
    })
}
