//! OCI charts against a real registry (distribution's `docker-registry`, anonymous, htpasswd and
//! token auth), pushed by a real `helm push`: versions from tags, constraints, pulls with the
//! digest the archive has, and refusals that name the registry and chart but no password.
//! Needs helm on PATH (`source scripts/lib/tools.sh; ensure_tools`).

use std::path::Path;
use std::time::Duration;

use moor_chart::{ChartError, ChartRequest, Charts, RepoAuth};
use moor_testkit::registry::{Auth, Registry, package_chart};
use sha2::{Digest, Sha256};

fn charts(dir: &Path) -> Charts {
    Charts::new(dir.join("cache"), Duration::from_secs(300))
}

fn request(repo_url: String, chart: &str, version: &str) -> ChartRequest {
    ChartRequest {
        repo_url,
        chart: chart.into(),
        version: Some(version.into()).filter(|v: &String| !v.is_empty()),
        ..Default::default()
    }
}

fn with_user(mut req: ChartRequest, user: &str, password: &str) -> ChartRequest {
    req.auth = RepoAuth {
        username: Some(user.into()),
        password: Some(password.into()),
        ..Default::default()
    };
    req
}

/// Packages and pushes `versions` of `name` to `oci://<registry>/charts`.
fn push(reg: &Registry, dir: &Path, name: &str, versions: &[&str]) -> Vec<Vec<u8>> {
    versions
        .iter()
        .map(|v| {
            let tgz = package_chart(dir, name, v);
            reg.helm_push(&tgz, "charts");
            std::fs::read(&tgz).unwrap()
        })
        .collect()
}

fn chart_yaml(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Chart.yaml")).expect("Chart.yaml in the pulled chart")
}

#[tokio::test]
async fn a_pushed_chart_resolves_by_constraint_and_pulls_from_oci() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let archives = push(
        &reg,
        tmp.path(),
        "podinfo",
        &["1.0.0", "1.2.0", "1.3.0+build.1", "2.0.0", "2.1.0-rc.1"],
    );
    let charts = charts(tmp.path());
    let url = format!("oci://{}/charts", reg.host());
    let resolve = |c: &str| {
        let req = request(url.clone(), "podinfo", c);
        let charts = &charts;
        async move { charts.resolve(&req, Duration::from_secs(300)).await }
    };
    // Helm stored `+` as `_` in the tag; the version reads as Chart.yaml spells it.
    assert_eq!(resolve("1.x").await.unwrap(), "1.3.0+build.1");
    assert_eq!(resolve("~1.2.0").await.unwrap(), "1.2.0");
    assert_eq!(resolve("").await.unwrap(), "2.0.0");
    assert_eq!(resolve(">=2.1.0-0").await.unwrap(), "2.1.0-rc.1");
    assert_eq!(resolve("1.0.0").await.unwrap(), "1.0.0");
    let e = resolve("3.x").await.unwrap_err();
    assert!(matches!(e, ChartError::NoMatchingVersion { .. }), "{e}");
    assert!(e.to_string().contains("2.0.0, 1.3.0+build.1, 1.2.0"), "{e}");

    let req = request(url.clone(), "podinfo", "1.x");
    let pulled = charts.pull(&req, "1.3.0+build.1").await.unwrap();
    assert_eq!(pulled.version, "1.3.0+build.1");
    assert!(chart_yaml(&pulled.dir).contains("version: 1.3.0+build.1"));
    assert!(pulled.dir.join("templates/configmap.yaml").is_file());
    assert_eq!(pulled.digest, hex::encode(Sha256::digest(&archives[2])));

    // The same request again is the cached chart, even with the registry gone.
    let mut reg = reg;
    reg.stop();
    assert_eq!(charts.pull(&req, "1.3.0+build.1").await.unwrap(), pulled);
}

#[tokio::test]
async fn plain_host_urls_with_enable_oci_are_oci_repositories() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    push(&reg, tmp.path(), "plain", &["0.1.0", "0.2.0"]);
    let charts = charts(tmp.path());
    let mut req = request(format!("{}/charts", reg.host()), "plain", "^0.1");
    req.enable_oci = true;
    let v = charts.resolve(&req, Duration::ZERO).await.unwrap();
    assert_eq!(v, "0.1.0");
    let pulled = charts.pull(&req, &v).await.unwrap();
    assert!(chart_yaml(&pulled.dir).contains("name: plain"));
}

#[tokio::test]
async fn unknown_charts_versions_and_non_chart_artifacts_are_named() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    push(&reg, tmp.path(), "real", &["1.0.0"]);
    reg.push("charts/image", "1.0.0").await;
    let charts = charts(tmp.path());
    let url = format!("oci://{}/charts", reg.host());

    let e = charts
        .resolve(&request(url.clone(), "missing", ""), Duration::ZERO)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ChartError::NotFound { .. }), "{text}");
    assert!(
        text.contains("\"missing\"") && text.contains(&reg.host()),
        "{text}"
    );

    let e = charts
        .pull(&request(url.clone(), "real", ""), "9.9.9")
        .await
        .unwrap_err();
    assert!(matches!(e, ChartError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("manifests/9.9.9"), "{e}");

    let e = charts
        .pull(&request(url.clone(), "image", ""), "1.0.0")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not a Helm chart") && e.contains("\"image\""),
        "{e}"
    );
}

/// With the registry's credentials the chart resolves and pulls; with a wrong password or
/// none, the error names the registry and the chart, and never holds the password.
async fn credentials_are_required_and_never_shown(auth: Auth) {
    let reg = Registry::start_with(auth);
    let (user, password) = reg
        .user()
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    push(&reg, tmp.path(), "private", &["1.0.0", "1.1.0"]);
    let url = format!("oci://{}/charts", reg.host());
    let charts = charts(tmp.path());

    let req = with_user(request(url.clone(), "private", "1.x"), &user, &password);
    let v = charts.resolve(&req, Duration::ZERO).await.unwrap();
    assert_eq!(v, "1.1.0");
    let pulled = charts.pull(&req, &v).await.unwrap();
    assert!(chart_yaml(&pulled.dir).contains("name: private"));

    let wrong = "not-the-Pa55word";
    let denied = [
        with_user(request(url.clone(), "private", "1.x"), &user, wrong),
        request(url.clone(), "private", "1.x"),
    ];
    for req in denied {
        let e = charts.resolve(&req, Duration::ZERO).await.unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, ChartError::AccessDenied { .. }), "{text}");
        assert!(
            text.contains(&reg.host()) && text.contains("\"private\""),
            "{text}"
        );
        assert!(!text.contains(wrong) && !text.contains(&password), "{text}");
        assert!(!format!("{e:?}").contains(wrong), "{e:?}");
        // Nor may the archive be had from the cache the right credentials filled.
        let e = charts.pull(&req, &v).await.unwrap_err();
        assert!(matches!(e, ChartError::AccessDenied { .. }), "{e}");
    }
}

#[tokio::test]
async fn basic_auth_credentials_are_required_and_never_shown() {
    credentials_are_required_and_never_shown(Auth::Basic {
        user: "chartuser".into(),
        password: "s3cret-basic-pw".into(),
    })
    .await;
}

#[tokio::test]
async fn token_auth_credentials_are_required_and_never_shown() {
    credentials_are_required_and_never_shown(Auth::Token {
        user: "chartuser".into(),
        password: "s3cret-token-pw".into(),
    })
    .await;
}

#[tokio::test]
async fn tag_lists_are_fetched_once_per_max_age_until_invalidated() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    push(&reg, tmp.path(), "cached", &["1.0.0"]);
    let charts = charts(tmp.path());
    let url = format!("oci://{}/charts", reg.host());
    let req = request(url.clone(), "cached", "1.x");
    let hour = Duration::from_secs(3600);
    assert_eq!(charts.resolve(&req, hour).await.unwrap(), "1.0.0");

    // Within max_age every app sees the list fetched first; a younger max_age refetches.
    push(&reg, tmp.path(), "cached", &["1.1.0"]);
    assert_eq!(charts.resolve(&req, hour).await.unwrap(), "1.0.0");
    assert_eq!(charts.resolve(&req, Duration::ZERO).await.unwrap(), "1.1.0");

    // A webhook or hard refresh invalidates the repository: the next resolve refetches.
    push(&reg, tmp.path(), "cached", &["1.2.0"]);
    assert_eq!(charts.resolve(&req, hour).await.unwrap(), "1.1.0");
    charts.invalidate(&url);
    assert_eq!(charts.resolve(&req, hour).await.unwrap(), "1.2.0");
}
