//! Helm repositories: index.yaml, fetched at most once per interval, and chart archives.
//!
//! `GET <repo>/index.yaml` lists every chart's versions with the URLs of their archives
//! (relative ones resolved against the repository URL) and their sha256 `digest`. The
//! repository's credentials go only to URLs on the repository's own origin (scheme, host and
//! port): an index naming an archive on another host gets it without them. Helm's
//! `passCredentials` (send them anyway) is not supported.

use std::collections::BTreeMap;

use reqwest::Url;
use serde::Deserialize;

use crate::{ChartError, ChartRef, ChartRequest, http};

/// index.yaml is refused past this size (large public repositories are about 20 MiB).
pub(crate) const MAX_INDEX_BYTES: u64 = 32 << 20;
/// A chart archive is refused past this size.
pub(crate) const MAX_ARCHIVE_BYTES: u64 = 20 << 20;

/// What moor reads of an index.yaml.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Chart name → its versions.
    pub entries: BTreeMap<String, Vec<Entry>>,
}

/// One version of a chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub version: String,
    /// The archive's URL, absolute (resolved against the repository URL).
    pub url: Url,
    /// sha256 hex of the archive, lower case, when the index names one.
    pub digest: Option<String>,
}

#[derive(Deserialize)]
struct RawIndex {
    #[serde(default)]
    entries: BTreeMap<String, Vec<RawEntry>>,
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(default)]
    version: Option<Scalar>,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    digest: Option<String>,
}

/// A version written as a YAML number (`version: 1.0`) is still read as its text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
        }
    }
}

/// The repository URL with a trailing `/` (so `join` keeps its path), without `index.yaml`,
/// userinfo, query or fragment.
pub(crate) fn base_url(req: &ChartRequest, at: &ChartRef) -> Result<Url, ChartError> {
    let invalid = |reason: String| ChartError::InvalidRequest {
        at: at.clone(),
        reason,
    };
    let text = req.repo_url.trim();
    let text = text.strip_suffix("index.yaml").unwrap_or(text);
    let mut url =
        Url::parse(text).map_err(|e| invalid(format!("the repository URL does not parse: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "a Helm repository URL is http(s)://… or oci://…, not {}://",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the repository URL are refused: put them in a repository Secret"
                .to_string(),
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Fetches and parses `<repo>/index.yaml`.
pub(crate) async fn fetch_index(
    client: &reqwest::Client,
    req: &ChartRequest,
    at: &ChartRef,
) -> Result<Index, ChartError> {
    let base = base_url(req, at)?;
    let url = base
        .join("index.yaml")
        .expect("a fixed relative path joins");
    let body = http::get(client, &url, &req.auth, true, MAX_INDEX_BYTES, at).await?;
    let text = String::from_utf8(body).map_err(|_| ChartError::InvalidIndex {
        at: at.clone(),
        reason: "it is not UTF-8".to_string(),
    })?;
    parse_index(&text, &base, at)
}

/// Parses an index.yaml fetched from `base`. Entries without a version or a URL are skipped;
/// a digest that is not sha256 hex makes the whole index invalid (it could not be checked).
pub(crate) fn parse_index(text: &str, base: &Url, at: &ChartRef) -> Result<Index, ChartError> {
    let invalid = |reason: String| ChartError::InvalidIndex {
        at: at.clone(),
        reason,
    };
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_nodes: 20_000_000,
            max_events: 80_000_000,
            max_depth: 64,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 1_000_000,
        },
    };
    let raw: RawIndex = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| invalid(e.without_snippet().to_string()))?;
    let mut entries = BTreeMap::new();
    for (chart, versions) in raw.entries {
        let mut list = Vec::new();
        for entry in versions {
            let (Some(version), Some(first)) = (entry.version, entry.urls.first()) else {
                continue;
            };
            let version = version.text();
            let url = base.join(first).map_err(|e| {
                invalid(format!(
                    "{chart} {version}: URL {first:?} does not parse: {e}"
                ))
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(invalid(format!(
                    "{chart} {version}: URL {} is not http(s)",
                    moor_git::redact_url(url.as_str())
                )));
            }
            let digest = match entry.digest.map(|d| d.trim().to_ascii_lowercase()) {
                None => None,
                Some(d) if d.is_empty() => None,
                Some(d) => {
                    let d = d.strip_prefix("sha256:").map(str::to_string).unwrap_or(d);
                    if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(invalid(format!(
                            "{chart} {version}: digest {d:?} is not a sha256 in hex"
                        )));
                    }
                    Some(d)
                }
            };
            list.push(Entry {
                version,
                url,
                digest,
            });
        }
        entries.insert(chart, list);
    }
    Ok(Index { entries })
}

/// Downloads the archive of `entry`, with the repository's credentials only when it is on the
/// repository's own origin.
pub(crate) async fn download(
    client: &reqwest::Client,
    req: &ChartRequest,
    entry: &Entry,
    at: &ChartRef,
) -> Result<Vec<u8>, ChartError> {
    let base = base_url(req, at)?;
    let same_origin = base.origin() == entry.url.origin();
    http::get(
        client,
        &entry.url,
        &req.auth,
        same_origin,
        MAX_ARCHIVE_BYTES,
        at,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://charts.example.com/stable/").unwrap()
    }

    #[test]
    fn reads_versions_urls_and_digests() {
        let digest = "AB".repeat(32);
        let text = format!(
            "apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.2.0\n    urls: [web-1.2.0.tgz]\n    digest: {digest}\n  - version: 1.0\n    urls: ['https://cdn.example.org/web-1.0.tgz']\n  - version: 2.0.0\n    urls: []\n  db:\n  - version: '0.1.0'\n    urls: ['/abs/db-0.1.0.tgz']\ngenerated: '2024-01-01T00:00:00Z'\n"
        );
        let index = parse_index(&text, &base(), &ChartRef::default()).unwrap();
        let web = &index.entries["web"];
        assert_eq!(web.len(), 2, "the entry without URL is skipped");
        assert_eq!(
            web[0].url.as_str(),
            "https://charts.example.com/stable/web-1.2.0.tgz"
        );
        assert_eq!(web[0].digest.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(web[1].version, "1");
        assert_eq!(web[1].url.as_str(), "https://cdn.example.org/web-1.0.tgz");
        assert_eq!(
            index.entries["db"][0].url.as_str(),
            "https://charts.example.com/abs/db-0.1.0.tgz"
        );
    }

    #[test]
    fn refuses_bad_digests_and_schemes() {
        for entry in [
            "version: 1.0.0\n    urls: [a.tgz]\n    digest: nothex",
            "version: 1.0.0\n    urls: ['file:///etc/passwd']",
        ] {
            let text = format!("entries:\n  a:\n  - {entry}\n");
            let err = parse_index(&text, &base(), &ChartRef::default()).unwrap_err();
            assert!(matches!(err, ChartError::InvalidIndex { .. }), "{err}");
        }
    }

    #[test]
    fn the_base_url_keeps_its_path() {
        let req = |url: &str| ChartRequest {
            repo_url: url.to_string(),
            chart: "c".to_string(),
            ..Default::default()
        };
        let at = ChartRef::default();
        for url in [
            "https://h/charts",
            "https://h/charts/",
            "https://h/charts/index.yaml",
        ] {
            assert_eq!(
                base_url(&req(url), &at).unwrap().as_str(),
                "https://h/charts/"
            );
        }
        assert!(base_url(&req("https://u:p@h/charts"), &at).is_err());
        assert!(base_url(&req("ftp://h/charts"), &at).is_err());
    }
}
