//! Charts in OCI registries: versions from tags, the chart layer of a manifest.
//!
//! `oci://host[:port]/path` with chart `name` is the repository `path/name` on `host[:port]`
//! (as `helm push chart.tgz oci://host/path` stores it); Argo CD's plain `host[:port]/path`
//! with `enableOCI` is the same. A chart version is a tag, with Helm's `+` → `_` (tags cannot
//! hold `+`). The manifest of that tag has a config of media type [`CONFIG_MEDIA_TYPE`] and one
//! layer of [`CHART_MEDIA_TYPE`]: the chart archive, at most [`MAX_ARCHIVE`] bytes, its digest
//! checked while it is read.
//!
//! The registry protocol (authentication: anonymous, basic, bearer tokens; tag paging; size
//! and digest checks) is moor-registry's client, sending through this crate's HTTP client for
//! the repository Secret's TLS settings. Plain HTTP is used for loopback registries only
//! (`localhost`, `127.0.0.0/8`, `[::1]`), the rule moor-registry applies to token services
//! and the one `helm push --plain-http` to a local registry needs; every other registry is
//! HTTPS.
//!
//! Tag lists are cached per repository URL, chart and credentials like Helm indexes: fetched
//! at most once per `min(interval, max_age)` and after [`Charts::invalidate`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moor_registry::client::{ClientOptions, Descriptor, ImageName, RegistryClient};
use moor_registry::{RegistryCredentials, RegistryError};

use crate::error::scrub;
use crate::{ChartError, ChartRef, ChartRequest, Charts, auth_fingerprint, lock, repo_key};

/// The media type of a Helm chart's config blob (Chart.yaml as JSON).
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// The media type of the layer holding the chart archive.
pub const CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// What Helm 3.0 to 3.7 pushed chart layers as; Helm still pulls them.
const LEGACY_CHART_MEDIA_TYPE: &str = "application/tar+gzip";
/// A chart archive larger than this is refused before it is downloaded.
pub const MAX_ARCHIVE: u64 = 20 << 20;

/// One chart's tag list (as versions) and when it was fetched; one fetch at a time.
type TagSlot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Vec<String>>)>>>;

/// Tag lists per repository URL, chart and credentials; see the module docs.
#[derive(Default)]
pub(crate) struct TagCache {
    slots: Mutex<HashMap<String, TagSlot>>,
}

/// Where a request's chart is: the registry repository and how to reach it.
struct Target {
    image: ImageName,
    client: RegistryClient,
    /// `http` or `https`, for the URLs errors name.
    scheme: &'static str,
}

impl Target {
    fn new(charts: &Charts, req: &ChartRequest, at: &ChartRef) -> Result<Target, ChartError> {
        let invalid = |reason: String| ChartError::InvalidRequest {
            at: at.clone(),
            reason,
        };
        let url = req.repo_url.trim();
        let rest = match url.strip_prefix("oci://") {
            Some(rest) => rest,
            None if !url.contains("://") => url,
            None => return Err(invalid("an OCI repository URL is oci://host/path".into())),
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('@') {
            return Err(invalid(
                "credentials go in a repository Secret, not in the URL".into(),
            ));
        }
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let repository = if path.is_empty() {
            req.chart.clone()
        } else {
            format!("{path}/{}", req.chart)
        };
        let image = ImageName::new(host, &repository).map_err(|e| match e {
            RegistryError::InvalidImage { reason, .. } => invalid(format!(
                "{rest}/{} is not an OCI repository: {reason}",
                req.chart
            )),
            other => invalid(other.to_string()),
        })?;
        let plain_http = is_loopback(&image.registry);
        let credentials = req.auth.username.as_ref().map(|u| RegistryCredentials {
            username: u.clone(),
            password: req.auth.password.clone().unwrap_or_default(),
        });
        let opts = ClientOptions {
            insecure: plain_http,
            credentials,
            ..Default::default()
        };
        let client = RegistryClient::with_http(opts, charts.client(&req.auth, at)?);
        Ok(Target {
            image,
            client,
            scheme: if plain_http { "http" } else { "https" },
        })
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}://{}/v2/{}/{rest}",
            self.scheme,
            self.image.api_host(),
            self.image.repository
        )
    }

    /// A registry error as a chart error about `at`, the URL `rest` names.
    fn error(&self, e: RegistryError, req: &ChartRequest, at: &ChartRef, rest: &str) -> ChartError {
        let at = at.clone();
        let url = self.url(rest);
        match e {
            RegistryError::Unreachable { reason, .. } => ChartError::Unreachable {
                at,
                url,
                reason: scrub(&reason, &req.auth),
            },
            RegistryError::AuthenticationFailed { reason, .. } => ChartError::AccessDenied {
                at,
                url,
                status: if reason.contains("(HTTP 403)") {
                    403
                } else {
                    401
                },
            },
            RegistryError::RepositoryNotFound { .. } => ChartError::NotFound { at, url },
            RegistryError::Protocol { reason, .. } => ChartError::Protocol {
                at,
                reason: format!(
                    "registry {}: {}",
                    self.image.registry,
                    scrub(&reason, &req.auth)
                ),
            },
            RegistryError::InvalidImage { reason, .. } => ChartError::InvalidRequest {
                at,
                reason: scrub(&reason, &req.auth),
            },
            other => ChartError::Client(scrub(&other.to_string(), &req.auth)).context(&at),
        }
    }
}

/// `localhost`, `127.x.y.z`, `[::1]`, with or without a port.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => registry.split(':').next().unwrap_or(""),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Every version (tag) of `req.chart` in the registry, with Helm's `_` read back as `+`;
/// tags that are not versions are left out.
pub(crate) async fn versions(
    charts: &Charts,
    req: &ChartRequest,
    max_age: Duration,
) -> Result<Vec<String>, ChartError> {
    let at = ChartRef::new(req, req.version.as_deref());
    let target = Target::new(charts, req, &at)?;
    let key = format!(
        "{}\n{}\n{}",
        repo_key(&req.repo_url),
        req.chart,
        auth_fingerprint(&req.auth)
    );
    let slot = lock(&charts.oci_tags.slots).entry(key).or_default().clone();
    let mut cached = slot.lock().await;
    if let Some((fetched, tags)) = cached.as_ref()
        && charts.fresh(&req.repo_url, *fetched, max_age)
    {
        return Ok(tags.to_vec());
    }
    let fetched = Instant::now();
    let tags = target
        .client
        .list_tags(&target.image)
        .await
        .map_err(|e| target.error(e, req, &at, "tags/list"))?;
    let versions: Vec<String> = tags
        .iter()
        .map(|t| t.replace('_', "+"))
        .filter(|v| crate::constraint::parse_version(v).is_some())
        .collect();
    *cached = Some((fetched, Arc::new(versions.clone())));
    Ok(versions)
}

/// The chart archive (.tgz bytes) of `req.chart` at `version`: the chart layer of the
/// manifest tagged `version` (`+` as `_`).
pub(crate) async fn archive(
    charts: &Charts,
    req: &ChartRequest,
    version: &str,
) -> Result<Vec<u8>, ChartError> {
    let at = ChartRef::new(req, Some(version));
    let target = Target::new(charts, req, &at)?;
    let tag = version.replace('+', "_");
    let manifest_path = format!("manifests/{tag}");
    let manifest = target
        .client
        .manifest(&target.image, &tag)
        .await
        .map_err(|e| target.error(e, req, &at, &manifest_path))?;
    let layer =
        chart_layer(&manifest.config, &manifest.layers).map_err(|reason| ChartError::Protocol {
            at: at.clone(),
            reason: format!("{}: {reason}", target.url(&manifest_path)),
        })?;
    if layer.size > MAX_ARCHIVE {
        return Err(ChartError::TooLarge {
            at,
            url: target.url(&format!("blobs/{}", layer.digest)),
            limit: MAX_ARCHIVE,
        });
    }
    target
        .client
        .blob(&target.image, layer, MAX_ARCHIVE)
        .await
        .map_err(|e| target.error(e, req, &at, &format!("blobs/{}", layer.digest)))
}

/// The chart archive layer of a Helm chart manifest, or why the artifact is not a chart.
fn chart_layer<'a>(
    config: &Descriptor,
    layers: &'a [Descriptor],
) -> Result<&'a Descriptor, String> {
    if config.media_type != CONFIG_MEDIA_TYPE {
        return Err(format!(
            "not a Helm chart: the config's media type is {:?}, not {CONFIG_MEDIA_TYPE}",
            config.media_type
        ));
    }
    let of_type = |t: &str| {
        layers
            .iter()
            .filter(|l| l.media_type == t)
            .collect::<Vec<_>>()
    };
    let mut found = of_type(CHART_MEDIA_TYPE);
    if found.is_empty() {
        found = of_type(LEGACY_CHART_MEDIA_TYPE);
    }
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "the manifest has no layer of media type {CHART_MEDIA_TYPE}"
        )),
        _ => Err(format!(
            "the manifest has several layers of media type {CHART_MEDIA_TYPE}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(media_type: &str) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: 1,
        }
    }

    #[test]
    fn the_chart_layer_is_the_one_of_the_chart_media_type() {
        let config = desc(CONFIG_MEDIA_TYPE);
        let prov = desc("application/vnd.cncf.helm.chart.provenance.v1.prov");
        let chart = desc(CHART_MEDIA_TYPE);
        let layers = [prov.clone(), chart.clone()];
        assert_eq!(chart_layer(&config, &layers), Ok(&chart));
        let legacy = desc(LEGACY_CHART_MEDIA_TYPE);
        assert_eq!(
            chart_layer(&config, std::slice::from_ref(&legacy)),
            Ok(&legacy)
        );

        let e = chart_layer(&config, std::slice::from_ref(&prov)).unwrap_err();
        assert!(e.contains("no layer of media type"), "{e}");
        let e = chart_layer(&config, &[chart.clone(), chart.clone()]).unwrap_err();
        assert!(e.contains("several layers"), "{e}");
        let image = desc("application/vnd.oci.image.config.v1+json");
        let e = chart_layer(&image, &layers).unwrap_err();
        assert!(e.contains("not a Helm chart"), "{e}");
    }

    #[test]
    fn only_loopback_registries_are_plain_http() {
        for host in [
            "127.0.0.1:5000",
            "localhost",
            "localhost:80",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "ghcr.io",
            "10.0.0.1:5000",
            "[::2]:5000",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    fn target(url: &str, chart: &str) -> Result<ImageName, ChartError> {
        let charts = Charts::new(std::env::temp_dir(), Duration::from_secs(60));
        let req = ChartRequest {
            repo_url: url.into(),
            chart: chart.into(),
            enable_oci: true,
            ..Default::default()
        };
        Target::new(&charts, &req, &ChartRef::new(&req, None)).map(|t| t.image)
    }

    #[test]
    fn oci_urls_name_the_registry_and_the_repository_of_the_chart() {
        let name = |url: &str| {
            let i = target(url, "app").unwrap();
            (i.registry, i.repository)
        };
        let p = |r: &str, p: &str| (r.to_string(), p.to_string());
        assert_eq!(
            name("oci://127.0.0.1:5000/charts"),
            p("127.0.0.1:5000", "charts/app")
        );
        assert_eq!(
            name("oci://ghcr.io/org/charts/"),
            p("ghcr.io", "org/charts/app")
        );
        assert_eq!(name("registry.local/a"), p("registry.local", "a/app"));
        assert_eq!(name("oci://myregistry"), p("myregistry", "app"));
        for bad in [
            "https://x/charts",
            "oci://user:pw@host/charts",
            "oci://host/Charts",
        ] {
            let e = target(bad, "app").unwrap_err().to_string();
            assert!(!e.contains("pw@"), "{e}");
            assert!(matches!(
                target(bad, "app"),
                Err(ChartError::InvalidRequest { .. })
            ));
        }
        assert!(target("oci://host/charts", "App").is_err());
    }
}
