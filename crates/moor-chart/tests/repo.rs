//! Helm repositories against a real one: a static HTTP server with basic auth serving what
//! `helm package` and `helm repo index` produce (moor_testkit::helm_repo). Versions from the
//! index, constraints, the index cache and its interval, pulls checked against the index's
//! digest, and refusals (credentials, digests, hostile archives) that name the repository and
//! chart but never the password. Needs helm on PATH (`source scripts/lib/tools.sh; ensure_tools`).

use std::path::Path;
use std::time::Duration;

use moor_chart::{ChartError, ChartRequest, Charts, RepoAuth};
use moor_testkit::helm_repo::HelmRepo;
use sha2::{Digest, Sha256};

const USER: &str = "charts-user";
const PASSWORD: &str = "s3cret-chart-pass";

fn charts(dir: &Path, interval: Duration) -> Charts {
    Charts::new(dir.join("cache"), interval)
}

fn request(repo: &HelmRepo, chart: &str, version: &str, password: &str) -> ChartRequest {
    ChartRequest {
        repo_url: repo.url().to_string(),
        chart: chart.into(),
        version: Some(version.into()).filter(|v: &String| !v.is_empty()),
        auth: RepoAuth {
            username: Some(USER.into()),
            password: Some(password.into()),
            ..Default::default()
        },
        enable_oci: false,
    }
}

/// A repository with auth holding `web` at each of `versions`.
fn repo_with(versions: &[&str]) -> HelmRepo {
    let repo = HelmRepo::with_basic_auth(USER, PASSWORD);
    for v in versions {
        repo.publish("web", v);
    }
    repo
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

const LONG: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_range_picks_the_highest_match_and_the_pull_is_that_chart() {
    let repo = repo_with(&["1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0"]);
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);
    let req = request(&repo, "web", ">=1.0.0 <2.0.0", PASSWORD);

    let version = charts.resolve(&req, LONG).await.unwrap();
    assert_eq!(
        version, "1.1.0",
        "pre-releases are not picked by a range without one"
    );
    let pulled = charts.pull(&req, &version).await.unwrap();
    assert_eq!(pulled.version, "1.1.0");
    assert_eq!(
        pulled.digest,
        sha256_file(&repo.dir().join("web-1.1.0.tgz"))
    );
    let chart_yaml = std::fs::read_to_string(pulled.dir.join("Chart.yaml")).unwrap();
    assert!(chart_yaml.contains("version: 1.1.0"), "{chart_yaml}");
    assert!(pulled.dir.join("templates/configmap.yaml").is_file());
    assert!(pulled.dir.starts_with(tmp.path().join("cache")));

    // Exact versions, other constraints, and the newest without one.
    for (constraint, want) in [
        ("2.0.0", "2.0.0"),
        ("~1.0", "1.0.0"),
        ("", "2.0.0"),
        ("^1.2.0-0", "1.2.0-rc.1"),
    ] {
        let req = request(&repo, "web", constraint, PASSWORD);
        assert_eq!(
            charts.resolve(&req, LONG).await.unwrap(),
            want,
            "{constraint:?}"
        );
    }
    assert_eq!(
        repo.count("/index.yaml"),
        1,
        "one index fetch for every resolve and pull"
    );
    assert_eq!(repo.authorized_requests().len(), repo.requests().len());
}

#[tokio::test]
async fn concurrent_pulls_download_once_and_later_pulls_reuse_the_cache() {
    let repo = repo_with(&["1.0.0"]);
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);
    let req = request(&repo, "web", "1.0.0", PASSWORD);
    let pulls = tokio::join!(
        charts.pull(&req, "1.0.0"),
        charts.pull(&req, "1.0.0"),
        charts.pull(&req, "1.0.0"),
        charts.pull(&req, "1.0.0"),
    );
    let dirs = [pulls.0, pulls.1, pulls.2, pulls.3].map(|p| p.unwrap().dir);
    assert!(dirs.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(repo.count("/web-1.0.0.tgz"), 1);

    // A new process (a new Charts on the same cache dir) reuses the extraction whose digest
    // the index still names.
    let again = self::charts(tmp.path(), LONG)
        .pull(&req, "1.0.0")
        .await
        .unwrap();
    assert_eq!(again.dir, dirs[0]);
    assert_eq!(repo.count("/web-1.0.0.tgz"), 1);
    assert_eq!(repo.count("/index.yaml"), 2);
}

#[tokio::test]
async fn a_new_version_is_seen_after_the_interval_or_an_invalidation() {
    let repo = repo_with(&["1.0.0"]);
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), Duration::from_secs(2));
    let req = request(&repo, "web", ">=1.0.0 <2.0.0", PASSWORD);
    assert_eq!(charts.resolve(&req, LONG).await.unwrap(), "1.0.0");

    repo.publish("web", "1.1.0");
    assert_eq!(
        charts.resolve(&req, LONG).await.unwrap(),
        "1.0.0",
        "cached index"
    );
    assert_eq!(repo.count("/index.yaml"), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        charts.resolve(&req, LONG).await.unwrap(),
        "1.1.0",
        "after the interval"
    );
    assert_eq!(repo.count("/index.yaml"), 2);

    repo.publish("web", "1.2.0");
    charts.invalidate(&format!("{}/", repo.url()));
    assert_eq!(
        charts.resolve(&req, LONG).await.unwrap(),
        "1.2.0",
        "after invalidate"
    );
    repo.publish("web", "1.3.0");
    assert_eq!(
        charts.resolve(&req, Duration::ZERO).await.unwrap(),
        "1.3.0",
        "max_age 0"
    );
    assert_eq!(repo.count("/index.yaml"), 4);
}

#[tokio::test]
async fn refusals_name_the_repository_chart_and_version_but_not_the_password() {
    let repo = repo_with(&["1.0.0", "1.1.0"]);
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);

    let wrong = request(&repo, "web", "1.0.0", "wrong-password");
    let err = charts.resolve(&wrong, LONG).await.unwrap_err();
    assert!(
        matches!(err, ChartError::AccessDenied { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    for want in [
        repo.url(),
        "\"web\"",
        "\"1.0.0\"",
        "401",
        "username and password",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    assert!(!text.contains("wrong-password"), "{text}");
    let mut anonymous = request(&repo, "web", "1.0.0", "");
    anonymous.auth = RepoAuth::default();
    assert!(
        matches!(
            charts.pull(&anonymous, "1.0.0").await.unwrap_err(),
            ChartError::AccessDenied { .. }
        ),
        "a cached chart is not handed to a request without access"
    );

    let err = charts
        .resolve(&request(&repo, "web", ">=5.0.0", PASSWORD), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChartError::NoMatchingVersion { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("newest available: 1.1.0, 1.0.0"),
        "{err}"
    );

    let err = charts
        .resolve(&request(&repo, "db", "1.0.0", PASSWORD), LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::ChartNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("\"db\""), "{err}");

    let err = charts
        .resolve(&request(&repo, "web", "main", PASSWORD), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChartError::InvalidConstraint { .. }),
        "{err:?}"
    );

    let err = charts
        .pull(&request(&repo, "../web", "1.0.0", PASSWORD), "1.0.0")
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn an_archive_that_is_not_the_indexed_one_is_refused() {
    let repo = repo_with(&["1.0.0", "1.1.0"]);
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);
    // Another archive served under the indexed name: its digest is not the index's.
    std::fs::copy(
        repo.dir().join("web-1.1.0.tgz"),
        repo.dir().join("web-1.0.0.tgz"),
    )
    .unwrap();
    let err = charts
        .pull(&request(&repo, "web", "1.0.0", PASSWORD), "1.0.0")
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::DigestMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("\"1.0.0\""), "{err}");
    assert!(!tmp.path().join("cache").exists() || no_chart_yaml_under(&tmp.path().join("cache")));
}

#[tokio::test]
async fn hostile_and_oversized_archives_are_refused() {
    let repo = repo_with(&["1.0.0", "2.0.0"]);
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);

    // A symlink out of the chart, with the index naming its digest (the repository itself
    // is hostile, so the digest matches).
    let hostile = tgz_with_symlink();
    serve_as(&repo, "web-1.0.0.tgz", &hostile);
    let err = charts
        .pull(&request(&repo, "web", "1.0.0", PASSWORD), "1.0.0")
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::UnsafeArchive { .. }), "{err:?}");
    assert!(err.to_string().contains("Symlink"), "{err}");

    let huge = vec![0u8; 21 << 20];
    serve_as(&repo, "web-2.0.0.tgz", &huge);
    let err = charts
        .pull(&request(&repo, "web", "2.0.0", PASSWORD), "2.0.0")
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::TooLarge { .. }), "{err:?}");
    assert!(no_chart_yaml_under(&tmp.path().join("cache")));
}

#[tokio::test]
async fn credentials_stay_on_the_repository_host() {
    // The index of `private` names archives on `cdn`, another origin.
    let cdn = HelmRepo::start();
    cdn.publish("web", "1.0.0");
    let private = HelmRepo::with_basic_auth(USER, PASSWORD);
    std::fs::copy(
        cdn.dir().join("index.yaml"),
        private.dir().join("index.yaml"),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);
    let req = request(&private, "web", "1.0.0", PASSWORD);
    let pulled = charts.pull(&req, "1.0.0").await.unwrap();
    assert!(pulled.dir.join("Chart.yaml").is_file());
    assert_eq!(cdn.requests(), ["/web-1.0.0.tgz"]);
    assert!(
        cdn.authorized_requests().is_empty(),
        "no credentials to another host"
    );
    assert_eq!(private.authorized_requests(), ["/index.yaml"]);
}

/// Serves `bytes` as `name` and rewrites the index's digest of it to theirs.
fn serve_as(repo: &HelmRepo, name: &str, bytes: &[u8]) {
    let path = repo.dir().join(name);
    let old = sha256_file(&path);
    std::fs::write(&path, bytes).unwrap();
    let index = repo.dir().join("index.yaml");
    let text = std::fs::read_to_string(&index).unwrap();
    assert!(text.contains(&old), "index.yaml names the digest of {name}");
    let new = hex::encode(Sha256::digest(bytes));
    std::fs::write(&index, text.replace(&old, &new)).unwrap();
}

fn tgz_with_symlink() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let chart = b"apiVersion: v2\nname: web\nversion: 1.0.0\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(chart.len() as u64);
    h.set_mode(0o644);
    tar.append_data(&mut h, "web/Chart.yaml", &chart[..])
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    tar.append_link(&mut h, "web/templates", "/etc").unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

fn no_chart_yaml_under(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries.flatten().all(|e| {
        let p = e.path();
        p.file_name() != Some("Chart.yaml".as_ref()) && (!p.is_dir() || no_chart_yaml_under(&p))
    })
}

fn tls_request(repo: &HelmRepo, auth: RepoAuth) -> ChartRequest {
    ChartRequest {
        repo_url: repo.url().to_string(),
        chart: "web".into(),
        version: Some("1.0.0".into()),
        auth,
        enable_oci: false,
    }
}

#[tokio::test]
async fn https_trusts_the_secrets_ca_or_insecure_and_refuses_an_unknown_issuer() {
    let repo = HelmRepo::with_tls(false);
    repo.publish("web", "1.0.0");
    let certs = repo.tls().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);

    let err = charts
        .resolve(&tls_request(&repo, RepoAuth::default()), LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");

    let with_ca = RepoAuth {
        ca_pem: Some(certs.ca_pem.clone()),
        ..Default::default()
    };
    let pulled = charts
        .pull(&tls_request(&repo, with_ca), "1.0.0")
        .await
        .unwrap();
    assert!(pulled.dir.join("Chart.yaml").is_file());
    let insecure = RepoAuth {
        insecure_skip_verify: true,
        ..Default::default()
    };
    let req = tls_request(&repo, insecure);
    assert_eq!(charts.resolve(&req, LONG).await.unwrap(), "1.0.0");

    let bad_ca = RepoAuth {
        ca_pem: Some("not a certificate".into()),
        ..Default::default()
    };
    let err = charts
        .resolve(&tls_request(&repo, bad_ca), LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::InvalidTls { .. }), "{err:?}");
    assert!(err.to_string().contains(repo.url()), "{err}");
}

#[tokio::test]
async fn mutual_tls_sends_the_secrets_client_certificate() {
    let repo = HelmRepo::with_tls(true);
    repo.publish("web", "1.0.0");
    let certs = repo.tls().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let charts = charts(tmp.path(), LONG);
    let ca_only = RepoAuth {
        ca_pem: Some(certs.ca_pem.clone()),
        ..Default::default()
    };
    let err = charts
        .resolve(&tls_request(&repo, ca_only.clone()), LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::Unreachable { .. }), "{err:?}");

    let with_cert = RepoAuth {
        tls_client_cert: Some(certs.client_cert_pem.clone()),
        tls_client_key: Some(certs.client_key_pem.clone()),
        ..ca_only.clone()
    };
    let pulled = charts
        .pull(&tls_request(&repo, with_cert), "1.0.0")
        .await
        .unwrap();
    assert!(pulled.dir.join("Chart.yaml").is_file());

    let cert_only = RepoAuth {
        tls_client_cert: Some(certs.client_cert_pem.clone()),
        ..ca_only
    };
    let err = charts
        .resolve(&tls_request(&repo, cert_only), LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, ChartError::InvalidTls { .. }), "{err:?}");
    assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
}
