//! Loads an app's source: fetch (or use a local directory), then render.

use anyhow::{Context, Result, bail};
use moor_git::{Credentials, RepoCache, Source, redact_url};
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
            ..Default::default()
        },
        kustomize_bin: args.kustomize_bin.clone(),
        helm_bin: args.helm_bin.clone(),
        jsonnet: args.jsonnet.options(),
        jsonnet_bin: args.jsonnet.jsonnet_bin.clone(),
        timeout: args.render_limits.render_timeout,
        allow_remote_value_files: args.render_limits.allow_remote_value_files,
        allow_remote_bases: args.render_limits.allow_remote_bases,
        max_bytes: args.render_limits.max_render_bytes as u64,
        max_objects: args.render_limits.max_render_objects,
        ..RenderOptions::default()
    }
}

/// Materialises and renders the source the operator named with `--repo`, with the credentials
/// of the flags and environment (the operator chose that URL, so they may go there);
/// `namespace` is the release namespace for Helm charts.
pub async fn load(args: &SourceArgs, namespace: Option<&str>) -> Result<Loaded> {
    load_with(args, namespace, &args.git.credentials()).await
}

/// [`load`] with the given credentials, for sources whose URL the operator did not type (an
/// Application's): the caller scopes them.
pub async fn load_with(
    args: &SourceArgs,
    namespace: Option<&str>,
    creds: &Credentials,
) -> Result<Loaded> {
    // The same rule as the controller's for spec.source.path, checked before fetching.
    moor_render::check_relative("path", &args.path)
        .with_context(|| format!("failed to load the source {}", redact_url(&args.repo)))?;
    for lib in &args.jsonnet.libs {
        moor_render::check_relative("--jsonnet-libs", lib)
            .with_context(|| format!("failed to load the source {}", redact_url(&args.repo)))?;
    }
    let source = Source::new(RepoCache::new(RepoCache::default_root()));
    let m = source
        .materialize(&args.repo, args.revision.as_deref(), &args.path, creds)
        .await
        .with_context(|| format!("failed to load the source {}", redact_url(&args.repo)))?;
    let mut opts = render_options(args, namespace);
    // Nothing outside the checkout (or local directory) is read: not through a symlinked
    // path, value file or kustomize reference, as in the controller.
    opts.root = Some(m.root.clone());
    let dir = moor_render::confine(&m.root, &m.root, "path", &args.path)
        .with_context(|| format!("failed to render {}", redact_url(&args.repo)))?;
    let render_opts = opts.clone();
    let manifests = tokio::task::spawn_blocking(move || moor_render::render(&dir, &render_opts))
        .await
        .context("the renderer panicked")?
        .with_context(|| {
            format!(
                "failed to render {} at path {}",
                redact_url(&args.repo),
                args.path
            )
        })?;
    if manifests.is_empty() && !args.allow_empty {
        bail!(
            "path {} of {} renders no objects; files found that no renderer took: {}. \
             Pass --allow-empty if the app is meant to be empty",
            args.path,
            redact_url(&args.repo),
            moor_render::unrendered_files(&m.dir, &opts)
        );
    }
    Ok(Loaded {
        manifests,
        revision: m.commit,
    })
}
