//! Garbage collection of the repository cache, on real repositories.

use std::path::Path;
use std::time::{Duration, SystemTime};

use moor_git::{CacheError, Credentials, GcPolicy, InUse, RepoCache};
use moor_testkit::GitServer;

fn cache() -> (tempfile::TempDir, RepoCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(dir.path()).with_timeout(Duration::from_secs(60));
    (dir, cache)
}

/// Checkout directories of `url` in the cache.
fn trees(cache: &RepoCache, url: &str) -> Vec<String> {
    let dir = cache
        .checkout_dir(url, &"0".repeat(40))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn policy(keep_recent: usize, min_idle: Duration) -> GcPolicy {
    GcPolicy {
        keep_recent,
        min_idle,
        repo_min_idle: Duration::ZERO,
    }
}

/// A repo on `server` with `n` commits on main, oldest first.
fn repo_with_commits(server: &GitServer, name: &str, n: usize) -> Vec<String> {
    let seed = tempfile::tempdir().unwrap();
    // Named, so that two repos never share a commit.
    let cm = format!("kind: ConfigMap\nmetadata:\n  name: {name}\n");
    std::fs::write(seed.path().join("cm.yaml"), cm).unwrap();
    let repo = server.create_repo(name, seed.path());
    let work = repo.clone_work();
    for i in 1..n {
        work.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("commit {i}"),
        ]);
    }
    work.git(&["push", "-q", "origin", "HEAD"]);
    let list = work.git(&["rev-list", "--reverse", "HEAD"]);
    list.lines().map(str::to_string).collect()
}

fn set_last_used(dir: &Path, ago: Duration) {
    let f = std::fs::File::open(dir).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
}

#[tokio::test]
async fn two_hundred_commits_in_a_row_leave_a_bounded_number_of_checkouts() {
    let server = GitServer::start();
    let commits = repo_with_commits(&server, "busy", 200);
    assert_eq!(commits.len(), 200);
    let (_dir, cache) = cache();
    let url = server.file_url("busy");
    cache.fetch(&url, &Credentials::default()).await.unwrap();
    let pinned = &commits[10];
    let keep = policy(5, Duration::ZERO);
    let mut removed = 0;
    for commit in &commits {
        cache.checkout(&url, commit).await.unwrap();
        // The app follows each commit; another app stays on an old one.
        let mut in_use = InUse::default();
        in_use.commit(&url, commit);
        in_use.commit(&url, pinned);
        removed += cache.gc(&in_use, &keep).unwrap().checkouts_removed;
        let now = trees(&cache, &url);
        assert!(now.len() <= 6, "{} checkouts after {commit}", now.len());
        assert!(now.contains(commit), "the commit in use was removed");
    }
    let left = trees(&cache, &url);
    assert_eq!(left.len(), 6, "{left:?}");
    assert!(left.contains(pinned), "a commit still in use was removed");
    assert!(left.contains(commits.last().unwrap()));
    for recent in &commits[195..] {
        assert!(
            left.contains(recent),
            "recent {recent} not kept for rollback"
        );
    }
    assert_eq!(removed, 200 - 6);
    // What was removed comes back on demand (a rollback further back than `keep_recent`).
    let old = cache.checkout(&url, &commits[0]).await.unwrap();
    assert!(old.join("cm.yaml").is_file());
}

#[tokio::test]
async fn checkouts_used_recently_survive_collection_and_a_reused_one_counts_as_used() {
    let server = GitServer::start();
    let commits = repo_with_commits(&server, "r", 3);
    let (_dir, cache) = cache();
    let url = server.file_url("r");
    cache.fetch(&url, &Credentials::default()).await.unwrap();
    for c in &commits {
        cache.checkout(&url, c).await.unwrap();
    }
    let mut in_use = InUse::default();
    in_use.repo(&url);
    // Nothing in use and nothing kept for rollback, but all were used within the idle time:
    // a render may be reading any of them.
    let minute = policy(0, Duration::from_secs(60));
    assert_eq!(cache.gc(&in_use, &minute).unwrap().checkouts_removed, 0);
    assert_eq!(trees(&cache, &url).len(), 3);

    // Two go idle; one of them is handed out again (a rollback render starts), which marks
    // it used: only the other goes.
    for c in &commits[..2] {
        set_last_used(&cache.checkout_dir(&url, c), Duration::from_secs(3600));
    }
    let again = cache.checkout(&url, &commits[0]).await.unwrap();
    assert_eq!(cache.gc(&in_use, &minute).unwrap().checkouts_removed, 1);
    assert!(again.join("cm.yaml").is_file());
    assert!(!cache.checkout_dir(&url, &commits[1]).exists());
}

#[tokio::test]
async fn repositories_no_app_uses_are_removed_with_their_checkouts() {
    let server = GitServer::start();
    let a = repo_with_commits(&server, "a", 2);
    let b = repo_with_commits(&server, "b", 2);
    let (_dir, cache) = cache();
    let (url_a, url_b) = (server.file_url("a"), server.file_url("b"));
    for (url, commits) in [(&url_a, &a), (&url_b, &b)] {
        cache.fetch(url, &Credentials::default()).await.unwrap();
        for c in commits.iter() {
            cache.checkout(url, c).await.unwrap();
        }
    }
    let mut in_use = InUse::default();
    in_use.commit(&url_a, &a[1]);
    // Fetched and used just now: kept until idle.
    let report = cache
        .gc(&in_use, &policy(5, Duration::from_secs(60)))
        .unwrap();
    assert_eq!((report.repos_removed, report.checkouts_removed), (0, 0));

    // Checkouts idle, but the repository fetched within its own idle time: it stays (a
    // fetch skipped because the last one is recent must still find it).
    let fetched_lately = GcPolicy {
        repo_min_idle: Duration::from_secs(60),
        ..policy(5, Duration::ZERO)
    };
    let report = cache.gc(&in_use, &fetched_lately).unwrap();
    assert_eq!((report.repos_removed, report.checkouts_removed), (0, 2));
    assert!(cache.repo_dir(&url_b).join("HEAD").is_file());

    let report = cache.gc(&in_use, &policy(5, Duration::ZERO)).unwrap();
    assert_eq!((report.repos_removed, report.checkouts_removed), (1, 0));
    assert!(!cache.repo_dir(&url_b).exists());
    assert!(trees(&cache, &url_b).is_empty());
    assert!(cache.repo_dir(&url_a).join("HEAD").is_file());
    assert_eq!(
        trees(&cache, &url_a).len(),
        2,
        "repo a keeps its recent checkouts"
    );
    // The removed repository is fetched again when an app needs it again.
    cache.fetch(&url_b, &Credentials::default()).await.unwrap();
    assert!(cache.checkout(&url_b, &b[0]).await.is_ok());
}

#[tokio::test]
async fn a_commit_of_another_repository_is_never_served_from_its_checkout() {
    let server = GitServer::start();
    let private = repo_with_commits(&server, "private", 1);
    repo_with_commits(&server, "mine", 1);
    let (_dir, cache) = cache();
    let (url_private, url_mine) = (server.file_url("private"), server.file_url("mine"));
    cache
        .fetch(&url_private, &Credentials::default())
        .await
        .unwrap();
    cache.checkout(&url_private, &private[0]).await.unwrap();
    cache
        .fetch(&url_mine, &Credentials::default())
        .await
        .unwrap();
    // Naming the other repository's commit from this one finds nothing.
    let err = cache.checkout(&url_mine, &private[0]).await.unwrap_err();
    assert!(matches!(err, CacheError::UnknownRevision { .. }), "{err:?}");
}
