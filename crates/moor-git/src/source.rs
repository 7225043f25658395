//! An app's source as a directory on disk: a remote repository fetched into the cache and
//! checked out at a commit, or a local directory used as it is.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::cache::{CacheError, Git, RepoCache};
use crate::creds::Credentials;
use crate::url::{parse, redact_url, scp_like};

/// Why a source could not be turned into a directory.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Fetching, resolving or checking out failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The app's path is not in the commit (a typo, or a directory moved in Git).
    #[error("path {path:?} does not exist in {repo} at {commit}")]
    MissingPath {
        /// The repository, redacted.
        repo: String,
        /// The app's path as given.
        path: String,
        /// The commit that was checked out.
        commit: String,
    },
    /// The app's path is not in the local directory.
    #[error("path {path:?} does not exist in {}", .dir.display())]
    MissingLocalPath {
        /// The local directory used as the source.
        dir: PathBuf,
        /// The app's path as given.
        path: String,
    },
    /// An absolute path or one with `..`: it could leave the checkout.
    #[error("path {path:?} must be relative and stay inside the repository")]
    InvalidPath {
        /// The path as given.
        path: String,
    },
    /// The local directory given as the repository does not exist.
    #[error("local directory {} does not exist", .dir.display())]
    MissingDir {
        /// The directory as given.
        dir: PathBuf,
    },
    /// A revision was asked of a local directory that git cannot read revisions from.
    #[error("revision {revision:?} was asked of {}, which is not a git repository", .dir.display())]
    NotARepo {
        /// The directory as given.
        dir: PathBuf,
        /// The revision asked for.
        revision: String,
    },
}

/// A source on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Materialized {
    /// Top of the tree: the checkout, or the local directory.
    pub root: PathBuf,
    /// `root.join(path)`: the app's own directory.
    pub dir: PathBuf,
    /// The commit `root` holds; `None` for a local directory that is not a git work tree.
    pub commit: Option<String>,
}

/// Turns `(repo, revision, path)` into a directory, through a [`RepoCache`].
#[derive(Clone, Debug)]
pub struct Source {
    cache: RepoCache,
}

impl Source {
    /// A source that fetches through `cache`.
    pub fn new(cache: RepoCache) -> Source {
        Source { cache }
    }

    /// The cache it fetches into, for garbage collection and credentials.
    pub fn cache(&self) -> &RepoCache {
        &self.cache
    }

    /// Fetches `repo`, resolves `revision` (`None` = the default branch), checks the commit out
    /// and checks that `path` exists in it. A local directory is used as it is (its `HEAD` is
    /// the commit when it is a git work tree) unless a revision other than `HEAD` is asked for,
    /// which is then fetched from it like from any repository.
    pub async fn materialize(
        &self,
        repo: &str,
        revision: Option<&str>,
        path: &str,
        creds: &Credentials,
    ) -> Result<Materialized, SourceError> {
        let rel = relative(path)?;
        let explicit_revision = revision
            .map(str::trim)
            .filter(|r| !r.is_empty() && *r != "HEAD");
        if is_local(repo) {
            let dir = Path::new(repo);
            let root = dir
                .canonicalize()
                .ok()
                .filter(|d| d.is_dir())
                .ok_or_else(|| SourceError::MissingDir {
                    dir: dir.to_path_buf(),
                })?;
            let head = self.local_head(&root).await?;
            match (explicit_revision, head) {
                (None, commit) => {
                    let app = root.join(&rel);
                    if !app.exists() {
                        return Err(SourceError::MissingLocalPath {
                            dir: root,
                            path: path.to_string(),
                        });
                    }
                    return Ok(Materialized {
                        root,
                        dir: app,
                        commit,
                    });
                }
                (Some(revision), None) => {
                    return Err(SourceError::NotARepo {
                        dir: root,
                        revision: revision.to_string(),
                    });
                }
                (Some(revision), Some(_)) => {
                    let url = root.to_string_lossy().into_owned();
                    return self.remote(&url, Some(revision), path, &rel, creds).await;
                }
            }
        }
        self.remote(repo, explicit_revision, path, &rel, creds)
            .await
    }

    async fn remote(
        &self,
        url: &str,
        revision: Option<&str>,
        path: &str,
        rel: &Path,
        creds: &Credentials,
    ) -> Result<Materialized, SourceError> {
        self.cache.fetch(url, creds).await?;
        let commit = self.cache.resolve(url, revision).await?;
        let root = self.cache.checkout(url, &commit).await?;
        let dir = root.join(rel);
        if !dir.exists() {
            return Err(SourceError::MissingPath {
                repo: redact_url(url),
                path: path.to_string(),
                commit,
            });
        }
        Ok(Materialized {
            root,
            dir,
            commit: Some(commit),
        })
    }

    /// `HEAD` of the work tree holding `dir`, if any.
    async fn local_head(&self, dir: &Path) -> Result<Option<String>, SourceError> {
        let shown = dir.to_string_lossy().into_owned();
        let mut git = Git::new("read HEAD of", &shown, Duration::from_secs(30));
        git.args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
        git.cwd = Some(dir.to_path_buf());
        git.allow_exit_1 = true;
        // Outside a work tree git exits 128: not an error here, just no commit.
        match git.run().await {
            Ok(out) => Ok(out.map(|o| o.trim().to_string()).filter(|s| !s.is_empty())),
            Err(CacheError::Git { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A path inside the repository: relative, no `..`. `""` and `"."` are the top.
fn relative(path: &str) -> Result<PathBuf, SourceError> {
    let p = Path::new(path.trim());
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => {
                return Err(SourceError::InvalidPath {
                    path: path.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// A local directory rather than a URL (`file://` URLs go through the cache like any other).
fn is_local(repo: &str) -> bool {
    parse(repo).is_none() && scp_like(repo).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_repo() {
        assert_eq!(relative("apps/web").unwrap(), PathBuf::from("apps/web"));
        assert_eq!(relative("./apps/web/").unwrap(), PathBuf::from("apps/web"));
        assert_eq!(relative("").unwrap(), PathBuf::new());
        assert_eq!(relative(".").unwrap(), PathBuf::new());
        assert!(relative("../etc").is_err());
        assert!(relative("apps/../../x").is_err());
        assert!(relative("/etc").is_err());
    }

    #[test]
    fn local_paths_are_told_from_urls() {
        assert!(is_local("/srv/repo"));
        assert!(is_local("./repo"));
        assert!(is_local("repo"));
        assert!(!is_local("file:///srv/repo"));
        assert!(!is_local("https://host/r"));
        assert!(!is_local("git@host:o/r"));
    }
}
