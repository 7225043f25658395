//! Reading content, not only tags: a manifest (`GET /v2/<name>/manifests/<reference>`) and a
//! blob (`GET /v2/<name>/blobs/<digest>`), with the same authentication as the tag listing.
//! What moor-chart pulls Helm charts from OCI registries with.
//!
//! A registry is not trusted: a manifest is at most [`MAX_MANIFEST`] bytes and must match the
//! digest asked for (or the `Docker-Content-Digest` the registry announces); a blob must be as
//! long as its descriptor says, no longer than the caller's limit, and hash to its digest. Both
//! are checked while reading, so a lying registry costs at most the limit in memory.

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use sha2::{Digest as _, Sha256};

use super::*;

/// The distribution spec's recommended limit on a manifest registries accept (4 MiB).
pub const MAX_MANIFEST: usize = 4 << 20;

/// The manifest media types [`RegistryClient::manifest`] asks for and reads.
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// What an index (several manifests, one per platform) is served as; not read here.
const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// A content descriptor: what a manifest says about its config and each layer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// e.g. `application/vnd.cncf.helm.chart.content.v1.tar+gzip`.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<64 hex>`; other algorithms are refused when fetched.
    pub digest: String,
    /// Bytes, as the manifest claims; the blob read is held to it.
    pub size: u64,
}

/// An image manifest (OCI or Docker schema 2), its digest checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// `sha256:<hex>` of the manifest bytes.
    pub digest: String,
    /// The manifest's media type (from its `mediaType`, else the response's Content-Type).
    pub media_type: String,
    /// `config.mediaType` tells what the artifact is (`application/vnd.cncf.helm.config.v1+json`).
    pub config: Descriptor,
    /// The layers, in order.
    pub layers: Vec<Descriptor>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestJson {
    #[serde(default)]
    schema_version: u32,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

impl ImageName {
    /// A repository whose host is known (an `oci://host/path` URL), without Docker Hub's
    /// defaults of [`ImageName::parse`]: `registry` is `host[:port]`, `repository` the path,
    /// checked against the distribution spec's grammar.
    pub fn new(registry: &str, repository: &str) -> Result<ImageName, RegistryError> {
        let image = format!("{registry}/{repository}");
        let bad = |reason: &str| RegistryError::InvalidImage {
            image: image.clone(),
            reason: reason.to_string(),
        };
        let host_ok = !registry.is_empty()
            && registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if !host_ok {
            return Err(bad("the registry must be host[:port]"));
        }
        if !repository.split('/').all(valid_path_component) {
            return Err(bad(
                "the repository path must be lower-case components of letters, digits and . _ - \
                 separated by /",
            ));
        }
        Ok(ImageName {
            registry: registry.to_ascii_lowercase(),
            repository: repository.to_string(),
        })
    }
}

impl RegistryClient {
    /// A client sending its requests through `http` (one with a custom CA, a client
    /// certificate, or no certificate checks) instead of the shared one.
    pub fn with_http(opts: ClientOptions, http: reqwest::Client) -> RegistryClient {
        RegistryClient { http, opts }
    }

    /// The manifest `reference` (a tag, or a `sha256:` digest) of a repository. An index
    /// (one manifest per platform) is refused: charts and other artifacts have none.
    pub async fn manifest(
        &self,
        image: &ImageName,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let what = format!("manifest {reference}");
        let context = |e: RegistryError| with_context(e, &what);
        let reference_ok = !reference.is_empty()
            && reference.len() <= 200
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
        if !reference_ok {
            return Err(self.protocol(image, format!("{what:?} is not a tag or digest")));
        }
        let url = self.api_url(image, &format!("manifests/{reference}"))?;
        let accept = MANIFEST_TYPES.join(", ");
        let resp = self
            .get_authorized_accepting(image, &url, &accept)
            .await
            .map_err(context)?;
        let announced = header(resp.headers(), "docker-content-digest");
        let content_type = header(resp.headers(), CONTENT_TYPE.as_str()).unwrap_or_default();
        let body = read_limited(resp, MAX_MANIFEST as u64, None)
            .await
            .map_err(|reason| self.protocol(image, format!("{what}: {reason}")))?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
        let expected = if reference.contains(':') {
            Some(reference.to_string())
        } else {
            announced
        };
        if let Some(expected) = expected.filter(|e| e.starts_with("sha256:"))
            && expected != digest
        {
            return Err(self.protocol(
                image,
                format!("{what}: the content has digest {digest}, not {expected}"),
            ));
        }
        let m: ManifestJson = serde_json::from_slice(&body)
            .map_err(|e| self.protocol(image, format!("{what} is not manifest JSON: {e}")))?;
        let media_type = m
            .media_type
            .clone()
            .unwrap_or_else(|| content_type.split(';').next().unwrap_or("").trim().into());
        if INDEX_TYPES.contains(&media_type.as_str()) || m.manifests.is_some() {
            return Err(self.protocol(
                image,
                format!("{what} is an index of manifests, not one manifest"),
            ));
        }
        let config = match m.config {
            Some(c) if m.schema_version == 2 => c,
            _ => {
                return Err(self.protocol(
                    image,
                    format!("{what} is not a schema 2 manifest with a config"),
                ));
            }
        };
        Ok(Manifest {
            digest,
            media_type,
            config,
            layers: m.layers,
        })
    }

    /// The blob `desc` names, at most `max_bytes` long, its size and digest checked.
    pub async fn blob(
        &self,
        image: &ImageName,
        desc: &Descriptor,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("blob {}", desc.digest);
        let hex_ok = desc.digest.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !hex_ok {
            return Err(self.protocol(
                image,
                format!("{what}: only sha256:<64 lower-case hex> digests are read"),
            ));
        }
        if desc.size > max_bytes {
            return Err(self.protocol(
                image,
                format!(
                    "{what} is {} bytes, more than the limit of {max_bytes}",
                    desc.size
                ),
            ));
        }
        let url = self.api_url(image, &format!("blobs/{}", desc.digest))?;
        let resp = self
            .get_authorized_accepting(image, &url, "*/*")
            .await
            .map_err(|e| with_context(e, &what))?;
        let body = read_limited(resp, desc.size, Some(desc.size))
            .await
            .map_err(|reason| self.protocol(image, format!("{what}: {reason}")))?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
        if digest != desc.digest {
            return Err(self.protocol(image, format!("{what}: the content has digest {digest}")));
        }
        Ok(body)
    }

    fn api_url(&self, image: &ImageName, rest: &str) -> Result<Url, RegistryError> {
        let scheme = if self.opts.insecure { "http" } else { "https" };
        let url = format!(
            "{scheme}://{}/v2/{}/{rest}",
            image.api_host(),
            image.repository
        );
        Url::parse(&url).map_err(|e| RegistryError::InvalidImage {
            image: image.to_string(),
            reason: e.to_string(),
        })
    }

    /// [`RegistryClient::get_authorized`] with another `Accept` header.
    async fn get_authorized_accepting(
        &self,
        image: &ImageName,
        url: &Url,
        accept: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        // The tag listing's request sends `Accept: application/json`; content requests must
        // name the media types they read, or a registry may convert or refuse the manifest.
        let mut auth: Option<HeaderValue> = None;
        self.get_authorized_with(image, url, &mut auth, accept)
            .await
    }
}

/// Says which request failed, in the reason: the error variants name the repository only.
fn with_context(e: RegistryError, what: &str) -> RegistryError {
    match e {
        RegistryError::Unreachable {
            registry,
            repository,
            reason,
        } => RegistryError::Unreachable {
            registry,
            repository,
            reason: format!("{what}: {reason}"),
        },
        RegistryError::AuthenticationFailed {
            registry,
            repository,
            reason,
        } => RegistryError::AuthenticationFailed {
            registry,
            repository,
            reason: format!("{what}: {reason}"),
        },
        RegistryError::RepositoryNotFound {
            registry,
            repository,
            reason,
        } => RegistryError::RepositoryNotFound {
            registry,
            repository,
            reason: format!("{what}: {reason}"),
        },
        RegistryError::Protocol {
            registry,
            repository,
            reason,
        } => RegistryError::Protocol {
            registry,
            repository,
            reason: format!("{what}: {reason}"),
        },
        other => other,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

/// The body, refused as soon as it passes `max` bytes; with `exact`, it must be that long.
async fn read_limited(
    mut resp: reqwest::Response,
    max: u64,
    exact: Option<u64>,
) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is larger than {max} bytes");
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(exact.unwrap_or(0).min(max) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    match exact {
        Some(n) if body.len() as u64 != n => Err(format!(
            "the answer is {} bytes, not the {n} the manifest says",
            body.len()
        )),
        _ => Ok(body),
    }
}

#[cfg(test)]
mod tests;
