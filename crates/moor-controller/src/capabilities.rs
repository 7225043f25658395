//! Helm's `.Capabilities` for an app's destination: the cluster's version and every API version
//! and kind it serves, passed to `helm template` as `--kube-version` and `--api-versions`, so a
//! chart branching on `.Capabilities.APIVersions.Has` renders the branch the cluster would take
//! (Argo CD does the same). Read from the destination engine's discovery, which is shared with
//! its prunes and refreshed every few minutes or when a sync changes a CRD.

use std::path::Path;
use std::time::Duration;

use moor_render::HelmCapabilities;

use crate::clusters::Cluster;
use crate::crd::Source;
use crate::source_set::Resolved;

/// How old a discovery may be for a render: a CRD installed outside moor shows in charts'
/// capabilities within this time.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// The capabilities of `cluster` for a chart render; an error names the cluster and the cause.
async fn of(cluster: &Cluster) -> Result<HelmCapabilities, String> {
    let caps = cluster.engine.capabilities(MAX_AGE).await.map_err(|e| {
        format!(
            "failed to discover the API of cluster {:?} for Helm's .Capabilities: {}",
            cluster.name,
            moor_types::error_chain(&e)
        )
    })?;
    Ok(HelmCapabilities {
        kube_version: Some(caps.kube_version).filter(|v| !v.is_empty()),
        api_versions: caps.api_versions,
    })
}

/// The capabilities to render `resolved` with: the destination's when one of the sources it
/// renders is a chart (a `chart:` source, or a Git path holding a `Chart.yaml`), else Helm's
/// defaults without any discovery (plain and kustomize renders never read them, and keep
/// sharing their cache entries across clusters). An error means a chart would render with
/// capabilities other than the cluster's: the app must not be synced from it.
pub async fn for_render(
    cluster: &Cluster,
    resolved: &Resolved,
) -> Result<HelmCapabilities, String> {
    if renders_a_chart(resolved) {
        of(cluster).await
    } else {
        Ok(HelmCapabilities::default())
    }
}

/// Whether a source `resolved` renders is a chart (`ref` sources only lend files).
fn renders_a_chart(resolved: &Resolved) -> bool {
    (resolved.sources.iter())
        .filter(|s| !resolved.multi || s.source.ref_.is_none())
        .any(|s| is_chart(&s.source, &s.root, &s.path()))
}

/// Whether `source`, at `path` of its files in `root`, is a chart. A path leaving `root` is no
/// chart here (the render refuses it).
fn is_chart(source: &Source, root: &Path, path: &str) -> bool {
    source.is_chart()
        || moor_render::confine(root, root, "path", path)
            .is_ok_and(|dir| dir.join("Chart.yaml").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chart_renders_need_the_cluster() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("chart")).unwrap();
        std::fs::create_dir_all(t.path().join("plain")).unwrap();
        std::fs::write(t.path().join("chart/Chart.yaml"), "name: c\n").unwrap();
        let git = Source::default();
        let chart = Source {
            chart: Some("redis".into()),
            ..Source::default()
        };
        assert!(is_chart(&git, t.path(), "chart"));
        assert!(!is_chart(&git, t.path(), "plain"));
        assert!(!is_chart(&git, t.path(), "../x"));
        assert!(is_chart(&chart, t.path(), "."));
    }
}
