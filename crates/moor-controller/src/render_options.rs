//! What an Application's source asks of the renderer: its `directory`, `helm`, `kustomize`
//! and `jsonnet` fields as moor-render's options (the controller's policy is applied on top
//! by `Sources`), and the checks of those fields that must fail before any render.

use moor_render::{HelmOptions, HelmParameter, KustomizeOptions, RenderOptions, Replica};

use crate::crd::{Application, Source};

/// The render options `source` of `app` asks for (the controller's policy not yet applied).
pub fn render_options(app: &Application, source: &Source) -> RenderOptions {
    let Source {
        directory,
        helm,
        kustomize,
        ..
    } = source;
    let dir = directory.clone().unwrap_or_default();
    let helm = helm.clone().unwrap_or_default();
    let k = kustomize.clone().unwrap_or_default();
    RenderOptions {
        recurse: dir.recurse,
        include: moor_render::split_globs(dir.include.as_deref()),
        exclude: moor_render::split_globs(dir.exclude.as_deref()),
        helm: HelmOptions {
            release_name: helm.release_name.or_else(|| app.metadata.name.clone()),
            // Argo CD: helm.namespace, else the destination's.
            namespace: helm
                .namespace
                .filter(|n| !n.is_empty())
                .or_else(|| app.spec.destination.namespace.clone()),
            value_files: helm.value_files,
            values: helm.values,
            values_object: helm.values_object,
            parameters: (helm.parameters.into_iter())
                .map(|p| HelmParameter {
                    name: p.name,
                    value: p.value,
                    force_string: p.force_string,
                })
                .collect(),
            skip_crds: helm.skip_crds,
            ignore_missing_value_files: helm.ignore_missing_value_files,
            // Set per reconcile from the destination's discovery, and per app's sources (see
            // `Sources::render_source`).
            capabilities: Default::default(),
            ref_roots: Default::default(),
            // Chart dependencies: fetched per render (moor_chart::dependencies).
            dependencies: Default::default(),
        },
        kustomize: KustomizeOptions {
            images: k.images,
            name_prefix: k.name_prefix,
            name_suffix: k.name_suffix,
            common_labels: k.common_labels,
            common_annotations: k.common_annotations,
            namespace: k.namespace,
            replicas: (k.replicas.iter())
                .map(|r| Replica {
                    name: r.name.clone(),
                    // Checked by `replica_count_errors` before any render.
                    count: replica_count(&r.count).unwrap_or(0),
                })
                .collect(),
            patches: k.patches,
            components: k.components,
        },
        jsonnet: jsonnet_options(dir.jsonnet.unwrap_or_default()),
        ..RenderOptions::default()
    }
}

/// Argo CD's `directory.jsonnet` as render options.
fn jsonnet_options(j: crate::crd::JsonnetSource) -> moor_render::JsonnetOptions {
    let vars = |vs: Vec<crate::crd::JsonnetVar>| {
        (vs.into_iter())
            .map(|v| moor_render::JsonnetVar {
                name: v.name,
                value: v.value,
                code: v.code,
            })
            .collect()
    };
    moor_render::JsonnetOptions {
        ext_vars: vars(j.ext_vars),
        tlas: vars(j.tlas),
        libs: j.libs,
    }
}

/// A kustomize replica count: a number or a numeric string, as Argo CD takes it.
fn replica_count(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Why the source's kustomize replica overrides cannot be applied, if they cannot.
pub(crate) fn replica_count_errors(source: &Source, field: &str) -> Option<String> {
    let k = source.kustomize.as_ref()?;
    let bad = k
        .replicas
        .iter()
        .find(|r| replica_count(&r.count).is_none())?;
    Some(format!(
        "{field}.kustomize.replicas: count {} of {:?} is not a whole number",
        bad.count, bad.name
    ))
}
