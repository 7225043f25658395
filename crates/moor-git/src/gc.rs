//! Garbage collection of the repository cache: checkouts of commits no app needs and bare
//! repositories no app uses are removed, so a busy repository cannot fill the disk one commit
//! at a time.
//!
//! A checkout's directory mtime is its last use: [`RepoCache::checkout`] sets it each time it
//! hands the directory out. Collection never removes what was used within
//! [`GcPolicy::min_idle`], which is far longer than a render reads a checkout (renders are
//! killed long before), so a render never loses the tree it is reading. The hand-out and the
//! removal take the same file lock (shared for the hand-out, exclusive for the removal), so a
//! checkout cannot be handed out between the collector's look at its mtime and its removal.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cache::{CHECKOUTS, CacheError, RepoCache, io, repo_key};

/// Prefix of a checkout being written (renamed into place when complete).
pub(crate) const TMP_PREFIX: &str = ".tmp-";
/// Prefix of the throwaway index of a checkout being written.
pub(crate) const INDEX_PREFIX: &str = ".index-";
/// Prefix of what the collector is removing.
const TRASH_PREFIX: &str = ".trash-";
/// Lock file of the checkouts: shared while one is handed out, exclusive while collecting.
const LOCK: &str = ".lock";

/// What [`RepoCache::gc`] keeps besides what is in use.
#[derive(Clone, Debug)]
pub struct GcPolicy {
    /// Checkouts kept per repository besides those in use, most recently used first (so a
    /// rollback to a recent commit renders at once).
    pub keep_recent: usize,
    /// Nothing used more recently than this is removed.
    pub min_idle: Duration,
    /// A bare repository no app uses is removed once it has not been fetched for this long:
    /// at least the fetch interval, so that whoever skips a fetch because the last one is
    /// recent still finds the repository.
    pub repo_min_idle: Duration,
}

impl Default for GcPolicy {
    fn default() -> GcPolicy {
        GcPolicy {
            keep_recent: 5,
            min_idle: Duration::from_secs(600),
            repo_min_idle: Duration::from_secs(600),
        }
    }
}

/// The repositories and commits the apps need now.
#[derive(Clone, Debug, Default)]
pub struct InUse {
    /// Repository key to the commits in use.
    repos: HashMap<String, HashSet<String>>,
}

impl InUse {
    /// `url`'s bare repository is in use (an app reads it).
    pub fn repo(&mut self, url: &str) {
        self.repos.entry(repo_key(url)).or_default();
    }

    /// `commit` (a full sha) of `url` is in use; so is the repository.
    pub fn commit(&mut self, url: &str, commit: &str) {
        self.repos
            .entry(repo_key(url))
            .or_default()
            .insert(commit.to_string());
    }
}

/// What one collection removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Checked-out trees deleted.
    pub checkouts_removed: usize,
    /// Bare repositories deleted.
    pub repos_removed: usize,
}

impl RepoCache {
    /// Removes checkouts and bare repositories not in `in_use`, keeping per repository the
    /// `keep_recent` most recently used checkouts, anything used within `min_idle`, and bare
    /// repositories fetched within `repo_min_idle`. A bare repository being fetched is left
    /// for the next collection. Blocking: file system work.
    pub fn gc(&self, in_use: &InUse, policy: &GcPolicy) -> Result<GcReport, CacheError> {
        let mut report = GcReport::default();
        let checkouts = self.root.join(CHECKOUTS);
        if checkouts.is_dir() {
            let lock = open_lock(&checkouts)?;
            lock.lock().map_err(io("lock", &checkouts.join(LOCK)))?;
            for entry in read_dir(&checkouts)? {
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let path = entry.path();
                if is_sha(&name) && name.len() == 40 {
                    // A tree of the older layout (`checkouts/<commit>`): nobody hands it out.
                    if idle(&path, policy.min_idle) && trash(&checkouts, &path) {
                        report.checkouts_removed += 1;
                    }
                } else if is_sha(&name) && path.is_dir() {
                    report.checkouts_removed +=
                        self.gc_repo_checkouts(&path, in_use.repos.get(&name), policy)?;
                }
            }
            drop(lock);
            empty_trash(&checkouts);
        }
        for entry in read_dir(&self.root)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".git").filter(|k| is_sha(k)) else {
                continue;
            };
            if !in_use.repos.contains_key(key) && self.gc_repo(&entry.path(), policy) {
                report.repos_removed += 1;
            }
        }
        empty_trash(&self.root);
        Ok(report)
    }

    /// Removes the unneeded checkouts of one repository (its `checkouts/<key>` directory);
    /// the directory itself goes when it is empty and the repository unused.
    fn gc_repo_checkouts(
        &self,
        dir: &Path,
        in_use: Option<&HashSet<String>>,
        policy: &GcPolicy,
    ) -> Result<usize, CacheError> {
        let checkouts = dir.parent().expect("under checkouts/");
        // A checkout that takes longer than two git commands' timeouts has died.
        let stale_tmp = policy.min_idle.max(self.timeout * 2);
        let mut trees = Vec::new();
        for entry in read_dir(dir)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with(TMP_PREFIX) || name.starts_with(INDEX_PREFIX) {
                if idle(&path, stale_tmp) {
                    trash(checkouts, &path);
                }
            } else if is_sha(&name) {
                trees.push((last_used(&path), name, path));
            }
        }
        // Most recently used first; the first `keep_recent` stay, but only for a repository
        // some app still uses.
        trees.sort_by_key(|t| std::cmp::Reverse(t.0));
        let keep = if in_use.is_some() {
            policy.keep_recent
        } else {
            0
        };
        let mut removed = 0;
        for (_, name, path) in trees.into_iter().skip(keep) {
            let needed = in_use.is_some_and(|commits| commits.contains(&name));
            if !needed && idle(&path, policy.min_idle) && trash(checkouts, &path) {
                removed += 1;
            }
        }
        if in_use.is_none() {
            // Fails while anything is left in it, which is what we want.
            let _ = fs::remove_dir(dir);
        }
        Ok(removed)
    }

    /// Removes an unused bare repository unless it is being fetched or was fetched recently.
    fn gc_repo(&self, dir: &Path, policy: &GcPolicy) -> bool {
        let Ok(lock) = fs::File::open(dir.with_extension("lock")) else {
            return false;
        };
        let min_idle = policy.min_idle.max(policy.repo_min_idle);
        if lock.try_lock().is_err() || !idle(dir, min_idle) {
            return false;
        }
        // The lock file stays: removing it while someone waits on it would let two fetches in.
        trash(&self.root, dir)
    }

    /// The checkout `dir` marked as just used, if it exists; under the shared lock, so the
    /// collector cannot remove it between the check and the mark.
    pub(crate) async fn claim(&self, dir: &Path) -> Result<Option<PathBuf>, CacheError> {
        let checkouts = self.root.join(CHECKOUTS);
        if !dir.is_dir() {
            return Ok(None);
        }
        let lock = open_lock(&checkouts)?;
        let deadline = std::time::Instant::now() + self.timeout;
        loop {
            match lock.try_lock_shared() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(CacheError::Timeout {
                        action: "waiting for the cache's garbage collection in",
                        url: self.root.display().to_string(),
                        timeout: self.timeout,
                    });
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(io("lock", &checkouts.join(LOCK))(e));
                }
            }
        }
        let claimed = dir.is_dir().then(|| {
            touch(dir);
            dir.to_path_buf()
        });
        Ok(claimed)
    }
}

/// Marks `path` as used now (its mtime); best effort.
pub(crate) fn touch(path: &Path) {
    if let Ok(f) = fs::File::open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

fn last_used(path: &Path) -> SystemTime {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Not used for `min_idle` (a clock step backwards counts as recent use).
fn idle(path: &Path, min_idle: Duration) -> bool {
    SystemTime::now()
        .duration_since(last_used(path))
        .is_ok_and(|age| age >= min_idle)
}

fn is_sha(name: &str) -> bool {
    matches!(name.len(), 40 | 64) && name.chars().all(|c| c.is_ascii_hexdigit())
}

fn open_lock(checkouts: &Path) -> Result<fs::File, CacheError> {
    fs::create_dir_all(checkouts).map_err(io("create", checkouts))?;
    let path = checkouts.join(LOCK);
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io("open", &path))
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, CacheError> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io("list", dir)(e)),
    }
}

/// Moves `path` out of the way in one rename (nobody can find it by its name afterwards);
/// [`empty_trash`] deletes it outside the lock.
fn trash(dir: &Path, path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let unique = format!(
        "{TRASH_PREFIX}{name}-{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    match fs::rename(path, dir.join(unique)) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cache gc: cannot remove: {e}");
            false
        }
    }
}

fn empty_trash(dir: &Path) {
    for entry in read_dir(dir).unwrap_or_default() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(TRASH_PREFIX)
        {
            let path = entry.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            if let Err(e) = removed {
                tracing::warn!(path = %path.display(), "cache gc: cannot remove: {e}");
            }
        }
    }
}
