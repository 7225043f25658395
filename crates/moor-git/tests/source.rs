//! moor-git against real git servers: smart HTTP with basic auth, sshd, file://.

use std::path::Path;
use std::time::{Duration, Instant};

use moor_git::{CacheError, Credentials, RepoCache, Source, SourceError};
use moor_testkit::GitServer;
use moor_testkit::git::Repo;
use tempfile::TempDir;

/// A repo shaped like a kustomize layout: a base and an overlay reaching `../../base`.
fn seed(server: &GitServer, name: &str) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("base/kustomization.yaml", "resources: [cm.yaml]\n");
    write("base/cm.yaml", "kind: ConfigMap\n");
    write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../base]\n",
    );
    server.create_repo(name, dir.path())
}

/// Asserts that `err` is the git cache's error `$variant`, showing it otherwise.
macro_rules! assert_cache_error {
    ($err:expr, $variant:ident) => {
        assert!(
            matches!($err, SourceError::Cache(CacheError::$variant { .. })),
            "{:?}",
            $err
        )
    };
}

/// `materialize` that must fail: the error, for the test to check.
async fn materialize_err(
    source: &Source,
    url: &str,
    revision: Option<&str>,
    path: &str,
    creds: &Credentials,
) -> SourceError {
    source
        .materialize(url, revision, path, creds)
        .await
        .unwrap_err()
}

fn source() -> (TempDir, Source) {
    let cache = tempfile::tempdir().unwrap();
    let source = Source::new(RepoCache::new(cache.path()).with_timeout(Duration::from_secs(60)));
    (cache, source)
}

fn http_creds(server: &GitServer) -> Credentials {
    let (user, password) = server.http_credentials();
    Credentials {
        username: Some(user),
        password: Some(password),
        ..Credentials::default()
    }
}

fn ssh_creds(server: &GitServer) -> Credentials {
    Credentials {
        ssh_key: Some(server.ssh_key_path().to_path_buf()),
        known_hosts: Some(server.known_hosts_path().to_path_buf()),
        ..Credentials::default()
    }
}

fn assert_overlay(root: &Path, dir: &Path) {
    assert_eq!(dir, root.join("overlays/prod"));
    assert!(dir.join("kustomization.yaml").is_file());
    assert!(
        root.join("base/cm.yaml").is_file(),
        "the whole tree is checked out"
    );
}

#[tokio::test]
async fn http_with_auth_fetches_resolves_and_checks_out() {
    let server = GitServer::start();
    let repo = seed(&server, "shop");
    let (_cache, source) = source();
    let url = server.http_auth_url("shop");
    let got = source
        .materialize(&url, None, "overlays/prod", &http_creds(&server))
        .await
        .unwrap();
    assert_eq!(got.commit.as_deref(), Some(repo.head().as_str()));
    assert_overlay(&got.root, &got.dir);

    // Credentials embedded in the URL work too.
    let (user, password) = server.http_credentials();
    let embedded = url.replace("http://", &format!("http://{user}:{password}@"));
    let again = source
        .materialize(
            &embedded,
            Some("main"),
            "overlays/prod",
            &Credentials::default(),
        )
        .await
        .unwrap();
    assert_eq!(again, got);
}

#[tokio::test]
async fn ssh_fetches_with_key_and_known_hosts() {
    let server = GitServer::start();
    let repo = seed(&server, "shop");
    let (_cache, source) = source();
    let got = source
        .materialize(
            &server.ssh_url("shop"),
            None,
            "overlays/prod",
            &ssh_creds(&server),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", server.sshd_log()));
    assert_eq!(got.commit.as_deref(), Some(repo.head().as_str()));
    assert_overlay(&got.root, &got.dir);
}

#[tokio::test]
async fn ssh_rejects_an_unknown_host_key() {
    let server = GitServer::start();
    seed(&server, "shop");
    let (_cache, source) = source();
    let empty = tempfile::NamedTempFile::new().unwrap();
    let creds = Credentials {
        known_hosts: Some(empty.path().to_path_buf()),
        ..ssh_creds(&server)
    };
    let err = materialize_err(&source, &server.ssh_url("shop"), None, ".", &creds).await;
    assert_cache_error!(err, HostKeyRejected);
}

#[tokio::test]
async fn file_url_and_local_directories() {
    let server = GitServer::start();
    let repo = seed(&server, "shop");
    let (_cache, source) = source();
    let none = Credentials::default();
    let got = source
        .materialize(&server.file_url("shop"), None, "overlays/prod", &none)
        .await
        .unwrap();
    assert_eq!(got.commit.as_deref(), Some(repo.head().as_str()));
    assert_overlay(&got.root, &got.dir);

    // A work tree is used in place, with its HEAD as the commit.
    let work = repo.clone_work();
    let local = work.path().to_str().unwrap();
    let got = source
        .materialize(local, None, "base", &none)
        .await
        .unwrap();
    assert_eq!(got.root, work.path().canonicalize().unwrap());
    assert_eq!(got.commit.as_deref(), Some(repo.head().as_str()));

    // A plain directory has no commit, and no revision can be asked of it.
    let plain = tempfile::tempdir().unwrap();
    std::fs::create_dir(plain.path().join("app")).unwrap();
    let plain_path = plain.path().to_str().unwrap();
    let got = source
        .materialize(plain_path, None, "app", &none)
        .await
        .unwrap();
    assert_eq!(got.commit, None);
    let err = materialize_err(&source, plain_path, Some("main"), "app", &none).await;
    assert!(matches!(err, SourceError::NotARepo { .. }), "{err:?}");

    // A revision of a local work tree is fetched from it.
    let old = repo.head();
    work.write("base/cm.yaml", "kind: Secret\n");
    work.git(&["commit", "-qam", "local change"]);
    let got = source
        .materialize(local, Some(&old), "base", &none)
        .await
        .unwrap();
    assert_eq!(got.commit.as_deref(), Some(old.as_str()));
    let cm = std::fs::read_to_string(got.dir.join("cm.yaml")).unwrap();
    assert_eq!(cm, "kind: ConfigMap\n");
}

#[tokio::test]
async fn wrong_password_is_auth_failed_and_never_shown() {
    let server = GitServer::start();
    seed(&server, "shop");
    let (_cache, source) = source();
    let url = server.http_auth_url("shop");
    let (user, _) = server.http_credentials();
    let creds = Credentials {
        username: Some(user.clone()),
        password: Some("wrong-secret-4711".into()),
        ..Credentials::default()
    };
    let err = materialize_err(&source, &url, None, ".", &creds).await;
    assert_cache_error!(err, AuthFailed);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("wrong-secret-4711"), "{shown}");

    let embedded = url.replace("http://", &format!("http://{user}:embedded-secret-0815@"));
    let err = materialize_err(&source, &embedded, None, ".", &Credentials::default()).await;
    assert_cache_error!(err, AuthFailed);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("embedded-secret-0815"), "{shown}");
    assert!(shown.contains(&format!("{user}:***@")), "{shown}");

    // No credentials at all: git must fail at once rather than prompt.
    let err = materialize_err(&source, &url, None, ".", &Credentials::default()).await;
    assert_cache_error!(err, AuthFailed);
}

#[tokio::test]
async fn unreachable_and_missing_repositories() {
    let server = GitServer::start();
    let (_cache, source) = source();
    let none = Credentials::default();
    let err = materialize_err(&source, "http://127.0.0.1:1/nothing.git", None, ".", &none).await;
    assert_cache_error!(err, Unreachable);
    let err = materialize_err(&source, &server.file_url("absent"), None, ".", &none).await;
    assert_cache_error!(err, RepoNotFound);
}

#[tokio::test]
async fn unknown_revision_and_missing_path() {
    let server = GitServer::start();
    let repo = seed(&server, "shop");
    let (_cache, source) = source();
    let url = server.http_url("shop");
    let none = Credentials::default();
    let err = materialize_err(&source, &url, Some("no-such-branch"), ".", &none).await;
    assert!(
        matches!(&err, SourceError::Cache(CacheError::UnknownRevision { revision, .. }) if revision == "no-such-branch"),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such-branch"), "{err}");

    let err = materialize_err(&source, &url, None, "apps/missing", &none).await;
    assert!(matches!(err, SourceError::MissingPath { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("apps/missing") && text.contains(&repo.head()),
        "{text}"
    );

    let err = materialize_err(&source, &url, None, "../outside", &none).await;
    assert!(matches!(err, SourceError::InvalidPath { .. }), "{err:?}");
}

#[tokio::test]
async fn branches_tags_and_short_shas_resolve() {
    let server = GitServer::start();
    let repo = seed(&server, "shop");
    let first = repo.head();
    let work = repo.clone_work();
    work.git(&["tag", "-a", "v1", "-m", "release v1"]);
    work.git(&["tag", "light"]);
    work.git(&["push", "-q", "origin", "v1", "light"]);
    work.git(&["checkout", "-qb", "feature"]);
    work.write("feature.txt", "x");
    let feature = work.commit_and_push("feature");

    let cache = RepoCache::new(tempfile::tempdir().unwrap().keep());
    let url = server.http_url("shop");
    cache.fetch(&url, &Credentials::default()).await.unwrap();
    let resolve = |rev: Option<&'static str>| {
        let cache = cache.clone();
        let url = url.clone();
        async move { cache.resolve(&url, rev).await.unwrap() }
    };
    assert_eq!(resolve(None).await, first, "default branch");
    assert_eq!(resolve(Some("HEAD")).await, first);
    assert_eq!(resolve(Some("main")).await, first);
    assert_eq!(resolve(Some("feature")).await, feature);
    assert_eq!(
        resolve(Some("v1")).await,
        first,
        "annotated tag peels to its commit"
    );
    assert_eq!(resolve(Some("light")).await, first);
    assert_eq!(resolve(Some("refs/heads/feature")).await, feature);
    let short: &'static str = feature[..8].to_string().leak();
    assert_eq!(resolve(Some(short)).await, feature);
    let full: &'static str = feature.clone().leak();
    assert_eq!(resolve(Some(full)).await, feature);
    std::fs::remove_dir_all(cache.root()).unwrap();
}

#[tokio::test]
async fn unchanged_refetch_reuses_the_cache_and_new_commits_show_up() {
    let server = GitServer::start();
    let repo = seed(&server, "shop");
    let (_cache, source) = source();
    let url = server.http_url("shop");
    let none = Credentials::default();
    let first = source.materialize(&url, None, "base", &none).await.unwrap();
    let marker = first.root.join(".moor-test-marker");
    std::fs::write(&marker, "kept").unwrap();

    let started = Instant::now();
    let again = source.materialize(&url, None, "base", &none).await.unwrap();
    let took = started.elapsed();
    assert_eq!(again, first);
    assert!(
        marker.is_file(),
        "the checkout of an unchanged commit is reused"
    );
    assert!(took < Duration::from_secs(5), "refetch took {took:?}");
    // Equivalent spellings of the URL share one cache entry.
    let cache = source.cache();
    assert_eq!(
        cache.repo_dir(&url),
        cache.repo_dir(&url.replace(".git", "/"))
    );

    let work = repo.clone_work();
    work.write("base/cm.yaml", "kind: Secret\n");
    let second = work.commit_and_push("change the base");
    let now = source.materialize(&url, None, "base", &none).await.unwrap();
    assert_eq!(now.commit.as_deref(), Some(second.as_str()));
    assert_ne!(now.root, first.root);
    let cm = std::fs::read_to_string(now.dir.join("cm.yaml")).unwrap();
    assert_eq!(cm, "kind: Secret\n");
    assert!(marker.is_file(), "older checkouts stay");
}

#[tokio::test]
async fn concurrent_fetches_of_one_url_take_turns() {
    let server = GitServer::start();
    let repo = seed(&server, "shop");
    let (_cache, source) = source();
    let url = server.http_url("shop");
    let none = Credentials::default();
    let (a, b, c) = tokio::join!(
        source.materialize(&url, None, "base", &none),
        source.materialize(&url, None, "base", &none),
        source.materialize(&url, Some("main"), "overlays/prod", &none),
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(a, b);
    assert_eq!(a.root, c.root);
    assert_eq!(c.commit.as_deref(), Some(repo.head().as_str()));
}

#[tokio::test]
async fn empty_repository_has_no_default_revision() {
    let server = GitServer::start();
    server.create_empty_repo("empty");
    let cache = RepoCache::new(tempfile::tempdir().unwrap().keep());
    let url = server.http_url("empty");
    cache.fetch(&url, &Credentials::default()).await.unwrap();
    let err = cache.resolve(&url, None).await.unwrap_err();
    assert!(matches!(err, CacheError::UnknownRevision { .. }), "{err:?}");
    std::fs::remove_dir_all(cache.root()).unwrap();
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_server() {
    let home = GitServer::start();
    let elsewhere = GitServer::start();
    seed(&elsewhere, "shop");
    // The repository host redirects (as a forge does for a renamed repo) to another server.
    home.redirect_moved_to(&format!(
        "http://127.0.0.1:{}/public/",
        elsewhere.http_port()
    ));
    let (_cache, source) = source();
    let result = source
        .materialize(&home.http_moved_url("shop"), None, ".", &http_creds(&home))
        .await;
    assert!(
        elsewhere.http_requests_with_authorization().is_empty(),
        "credentials reached the redirect target: {:?}",
        elsewhere.http_requests_with_authorization()
    );
    let err = result.unwrap_err();
    assert!(
        !home.http_requests_with_authorization().is_empty(),
        "the credentials were not even sent to their own host"
    );
    let shown = err.to_string();
    assert!(!shown.contains(&home.http_credentials().1), "{shown}");

    // Without credentials there is nothing to leak: the redirect is followed.
    let m = source
        .materialize(
            &home.http_moved_url("shop"),
            None,
            ".",
            &Credentials::default(),
        )
        .await
        .unwrap();
    assert!(m.dir.join("base/cm.yaml").is_file());
}
