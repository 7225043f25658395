//! The repository cache: one bare repository per normalised URL, shared by every app that uses
//! that URL, and one checked-out tree per commit.
//!
//! It drives the `git` CLI rather than a library. gix's https transport would pull in a second
//! TLS/HTTP stack next to kube's, and its ssh support runs the `ssh` binary anyway; the CLI also
//! brings the user's proxy, credential-helper and CA settings for free. Moving fetches to gix is
//! a possible follow-up.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::creds::{Credentials, GitAuth};
use crate::url::{normalize_url, redact, redact_url};

/// Directory of the checked-out trees, under the cache root.
pub(crate) const CHECKOUTS: &str = "checkouts";
/// Ref where a fetch records the commit the remote's `HEAD` (its default branch) points at.
const REMOTE_HEAD: &str = "refs/moor/remote-head";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a fetch, resolve or checkout failed, sorted by what the user can do about it. Every
/// `url` is redacted and every `cause` is git's output with credentials removed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No `git` binary: moor shells out to git for every fetch and checkout.
    #[error("git is not installed (no `git` on PATH); moor needs it to fetch repositories")]
    GitNotInstalled,
    /// The host could not be found or did not answer (DNS, refused, timed out, reset).
    #[error("cannot reach {url}: {cause}")]
    Unreachable {
        /// The repository, redacted.
        url: String,
        /// What git printed, redacted.
        cause: String,
    },
    /// The server refused the credentials (or asked for some and none were given).
    #[error("authentication failed for {url}: {cause}")]
    AuthFailed {
        /// The repository, redacted.
        url: String,
        /// What git printed, redacted.
        cause: String,
    },
    /// ssh refused the server's host key (missing from or different in known_hosts).
    #[error("host key of {url} is not trusted (add it to known_hosts): {cause}")]
    HostKeyRejected {
        /// The repository, redacted.
        url: String,
        /// What ssh printed, redacted.
        cause: String,
    },
    /// The server answered that there is no such repository.
    #[error("repository {url} not found: {cause}")]
    RepoNotFound {
        /// The repository, redacted.
        url: String,
        /// What git printed, redacted.
        cause: String,
    },
    /// A git command ran past the cache's timeout and was killed.
    #[error("{action} {url} timed out after {}s", .timeout.as_secs())]
    Timeout {
        /// What was being done (fetching, checking out ...).
        action: &'static str,
        /// The repository, redacted.
        url: String,
        /// The limit that was reached.
        timeout: Duration,
    },
    /// A revision was asked of a repository that is not in the cache yet.
    #[error("{url} has not been fetched yet")]
    NotFetched {
        /// The repository, redacted.
        url: String,
    },
    /// No branch, tag or commit of that name in the repository.
    #[error("unknown revision {revision:?} in {url}")]
    UnknownRevision {
        /// The repository, redacted.
        url: String,
        /// The revision as the user gave it.
        revision: String,
    },
    /// Any other git failure.
    #[error("failed to {action} {url}: {cause}")]
    Git {
        /// The git step that failed.
        action: &'static str,
        /// The repository, redacted.
        url: String,
        /// What git printed, redacted.
        cause: String,
    },
    /// A file system step on the cache failed.
    #[error("failed to {action} {:?}", .path)]
    Io {
        /// The step that failed.
        action: &'static str,
        /// The file or directory it was about.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Bare repositories under `root/<key>.git`, trees under `root/checkouts/<key>/<commit>`, where
/// `key` is the sha256 of the normalised URL. Trees are per repository: naming a commit of
/// another repository never reaches its tree, and [`RepoCache::gc`] knows whose each tree is.
#[derive(Clone, Debug)]
pub struct RepoCache {
    pub(crate) root: PathBuf,
    pub(crate) timeout: Duration,
}

impl RepoCache {
    /// A cache under `root` with the default timeout (5 minutes per git command).
    pub fn new(root: impl Into<PathBuf>) -> RepoCache {
        RepoCache {
            root: root.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `$MOOR_CACHE/repos`, else `$XDG_CACHE_HOME/moor/repos`, else `~/.cache/moor/repos`.
    pub fn default_root() -> PathBuf {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(cache) = var("MOOR_CACHE") {
            return PathBuf::from(cache).join("repos");
        }
        let base = var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("moor").join("repos")
    }

    /// Limit for each git command (and for waiting on another fetch of the same repo).
    pub fn with_timeout(mut self, timeout: Duration) -> RepoCache {
        self.timeout = timeout;
        self
    }

    /// Where the cache lives, for garbage collection and messages.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The bare repository caching `url`.
    pub fn repo_dir(&self, url: &str) -> PathBuf {
        self.root.join(format!("{}.git", repo_key(url)))
    }

    /// Where [`RepoCache::checkout`] puts the tree of `commit` (a full sha) of `url`.
    pub fn checkout_dir(&self, url: &str, commit: &str) -> PathBuf {
        self.checkouts_of(&repo_key(url)).join(commit)
    }

    pub(crate) fn checkouts_of(&self, key: &str) -> PathBuf {
        self.root.join(CHECKOUTS).join(key)
    }

    /// Brings the cache of `url` up to date: all branches and tags, pruned, and the remote's
    /// `HEAD`. Fetches of the same URL, from this process or another, take turns.
    pub async fn fetch(&self, url: &str, creds: &Credentials) -> Result<(), CacheError> {
        let shown = redact_url(url);
        let dir = self.repo_dir(url);
        let _lock = self.lock(&dir, &shown).await?;
        // The garbage collector keeps repositories fetched within its idle time.
        crate::gc::touch(&dir);
        if !dir.join("HEAD").is_file() {
            fs::create_dir_all(&dir).map_err(io("create", &dir))?;
            self.git(&dir, "initialise the cache of", &shown)
                .args(["-c", "init.defaultBranch=main", "init", "--quiet", "--bare"])
                .run()
                .await?;
            // For people looking into the cache; the name alone is a hash.
            let _ = fs::write(dir.join("moor-url"), normalize_url(&shown) + "\n");
        }
        let auth = GitAuth::new(url, creds);
        let started = Instant::now();
        let result = self.fetch_refs(&dir, &shown, &auth, true).await;
        let result = match result {
            // An empty remote, or one whose HEAD names a missing branch: branches and tags can
            // still be fetched, only the default branch is unknown.
            Err(CacheError::Git { cause, .. })
                if cause.contains("couldn't find remote ref HEAD") =>
            {
                self.fetch_refs(&dir, &shown, &auth, false).await?;
                self.git(&dir, "update the cache of", &shown)
                    .args(["update-ref", "-d", REMOTE_HEAD])
                    .run()
                    .await
                    .map(drop)
            }
            other => other,
        };
        tracing::debug!(url = %shown, elapsed = ?started.elapsed(), ok = result.is_ok(), "git fetch");
        result
    }

    async fn fetch_refs(
        &self,
        dir: &Path,
        shown: &str,
        auth: &GitAuth,
        with_head: bool,
    ) -> Result<(), CacheError> {
        let mut cmd = self.git(dir, "fetch", shown);
        cmd.args(["-c", "gc.autoDetach=false", "fetch", "--quiet", "--prune"])
            .args(["--no-tags", "--no-recurse-submodules", "--end-of-options"])
            .args([auth.url.as_str(), "+refs/heads/*:refs/heads/*"])
            .arg("+refs/tags/*:refs/tags/*");
        if with_head {
            cmd.arg(format!("+HEAD:{REMOTE_HEAD}"));
        }
        cmd.env.extend(auth.env.iter().cloned());
        cmd.secrets.extend(auth.secrets.iter().cloned());
        cmd.network = true;
        cmd.run().await.map(drop)
    }

    /// The commit `revision` names in the cache of `url`: `None` or `"HEAD"` for the remote's
    /// default branch, else a branch, a tag, a full ref or a (short) commit sha, in that order.
    pub async fn resolve(&self, url: &str, revision: Option<&str>) -> Result<String, CacheError> {
        let shown = redact_url(url);
        let dir = self.repo_dir(url);
        if !dir.join("HEAD").is_file() {
            return Err(CacheError::NotFetched { url: shown });
        }
        let revision = revision
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("HEAD");
        let candidates = if revision == "HEAD" {
            vec![REMOTE_HEAD.to_string()]
        } else if revision.starts_with("refs/") {
            vec![revision.to_string()]
        } else {
            let mut c = vec![
                format!("refs/heads/{revision}"),
                format!("refs/tags/{revision}"),
            ];
            if (4..=64).contains(&revision.len()) && revision.chars().all(|c| c.is_ascii_hexdigit())
            {
                c.push(revision.to_string());
            }
            c
        };
        for candidate in candidates {
            if let Some(sha) = self.rev_parse(&dir, &shown, &candidate).await? {
                return Ok(sha);
            }
        }
        Err(CacheError::UnknownRevision {
            url: shown,
            revision: revision.to_string(),
        })
    }

    async fn rev_parse(
        &self,
        dir: &Path,
        shown: &str,
        rev: &str,
    ) -> Result<Option<String>, CacheError> {
        let mut cmd = self.git(dir, "resolve a revision in", shown);
        cmd.args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{rev}^{{commit}}"));
        cmd.allow_exit_1 = true;
        let out = cmd.run().await?;
        Ok(out.map(|o| o.trim().to_string()).filter(|s| !s.is_empty()))
    }

    /// The whole tree of `commit` (kustomize overlays reach `../../base`), in a directory keyed
    /// by the commit and reused once it exists. It is written to a temp dir and renamed into
    /// place, so a reader never sees half a tree.
    pub async fn checkout(&self, url: &str, commit: &str) -> Result<PathBuf, CacheError> {
        let full = matches!(commit.len(), 40 | 64) && commit.chars().all(|c| c.is_ascii_hexdigit());
        if full && let Some(dir) = self.claim(&self.checkout_dir(url, commit)).await? {
            return Ok(dir);
        }
        let shown = redact_url(url);
        let dir = self.repo_dir(url);
        if !dir.join("HEAD").is_file() {
            return Err(CacheError::NotFetched { url: shown });
        }
        let unknown = || CacheError::UnknownRevision {
            url: shown.clone(),
            revision: commit.to_string(),
        };
        let sha = self
            .rev_parse(&dir, &shown, commit)
            .await?
            .ok_or_else(unknown)?;
        let target = self.checkout_dir(url, &sha);
        if let Some(dir) = self.claim(&target).await? {
            return Ok(dir);
        }
        let parent = target
            .parent()
            .expect("a checkout has a parent")
            .to_path_buf();
        fs::create_dir_all(&parent).map_err(io("create", &parent))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{}{sha}-", crate::gc::TMP_PREFIX))
            .tempdir_in(&parent)
            .map_err(io("create a temp dir in", &parent))?;
        let index = tempfile::Builder::new()
            .prefix(crate::gc::INDEX_PREFIX)
            .tempfile_in(&parent)
            .map_err(io("create a temp file in", &parent))?;
        let index_env = (
            "GIT_INDEX_FILE".to_string(),
            index.path().to_string_lossy().into_owned(),
        );
        let work_tree = format!("--work-tree={}", tmp.path().display());
        // A throwaway index: the bare repo's own is never touched, so checkouts can run side by
        // side with a fetch.
        let mut read = self.git(&dir, "check out", &shown);
        read.args([work_tree.as_str(), "read-tree", sha.as_str()]);
        read.env.push(index_env.clone());
        read.run().await?;
        let mut write = self.git(&dir, "check out", &shown);
        write.args([work_tree.as_str(), "checkout-index", "--all", "--force"]);
        write.env.push(index_env);
        write.cwd = Some(tmp.path().to_path_buf());
        write.run().await?;
        if let Err(e) = fs::rename(tmp.path(), &target) {
            // Lost a race with another checkout of the same commit: theirs is as good.
            if !target.is_dir() {
                return Err(io("move a checkout to", &target)(e));
            }
        }
        crate::gc::touch(&target);
        Ok(target)
    }

    fn git<'a>(&self, dir: &Path, action: &'static str, url: &'a str) -> Git<'a> {
        let mut cmd = Git::new(action, url, self.timeout);
        cmd.args.push(format!("--git-dir={}", dir.display()));
        cmd
    }

    /// Takes the per-repo file lock, waiting for another fetch of the same repo to finish.
    pub(crate) async fn lock(&self, dir: &Path, shown: &str) -> Result<fs::File, CacheError> {
        fs::create_dir_all(&self.root).map_err(io("create", &self.root))?;
        let path = dir.with_extension("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io("open", &path))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(CacheError::Timeout {
                        action: "waiting for another fetch of",
                        url: shown.to_string(),
                        timeout: self.timeout,
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(io("lock", &path)(e)),
            }
        }
    }
}

/// The name of `url`'s bare repository and checkouts directory: sha256 of the normalised URL.
pub(crate) fn repo_key(url: &str) -> String {
    hex::encode(Sha256::digest(normalize_url(url).as_bytes()))
}

pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CacheError {
    let path = path.to_path_buf();
    move |source| CacheError::Io {
        action,
        path,
        source,
    }
}

/// One git invocation: no prompts, C locale (its messages are matched), a timeout, and output
/// scrubbed of secrets before it is put in an error.
pub(crate) struct Git<'a> {
    action: &'static str,
    url: &'a str,
    timeout: Duration,
    args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub secrets: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// Network failures are classified (auth, unreachable, ...); local ones are not.
    pub network: bool,
    /// Exit status 1 is an answer (`rev-parse --verify --quiet`): `Ok(None)`.
    pub allow_exit_1: bool,
}

impl<'a> Git<'a> {
    pub fn new(action: &'static str, url: &'a str, timeout: Duration) -> Git<'a> {
        Git {
            action,
            url,
            timeout,
            args: Vec::new(),
            env: Vec::new(),
            secrets: Vec::new(),
            cwd: None,
            network: false,
            allow_exit_1: false,
        }
    }

    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<S: Into<String>>(&mut self, args: impl IntoIterator<Item = S>) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Stdout on success; `Ok(None)` for an allowed exit status 1.
    pub async fn run(&mut self) -> Result<Option<String>, CacheError> {
        let mut cmd = git_command();
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        let child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CacheError::GitNotInstalled,
            _ => CacheError::Git {
                action: self.action,
                url: self.url.to_string(),
                cause: format!("cannot run git: {e}"),
            },
        })?;
        let out = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            // Dropping the future drops the child, which kills it.
            Err(_) => {
                return Err(CacheError::Timeout {
                    action: self.action,
                    url: self.url.to_string(),
                    timeout: self.timeout,
                });
            }
            Ok(out) => out.map_err(|e| CacheError::Git {
                action: self.action,
                url: self.url.to_string(),
                cause: e.to_string(),
            })?,
        };
        if out.status.success() {
            return Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()));
        }
        if self.allow_exit_1 && out.status.code() == Some(1) {
            return Ok(None);
        }
        Err(self.failure(&String::from_utf8_lossy(&out.stderr)))
    }

    fn failure(&self, stderr: &str) -> CacheError {
        let cause = summarize(&redact(stderr, &self.secrets));
        let url = self.url.to_string();
        if !self.network {
            return CacheError::Git {
                action: self.action,
                url,
                cause,
            };
        }
        let lower = cause.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
        if any(&[
            "host key verification failed",
            "remote host identification has changed",
        ]) {
            CacheError::HostKeyRejected { url, cause }
        } else if any(&[
            "authentication failed",
            "could not read username",
            "could not read password",
            "permission denied",
            "access denied",
            "invalid username or password",
            "returned error: 401",
            "returned error: 403",
        ]) {
            CacheError::AuthFailed { url, cause }
        } else if any(&[
            "repository not found",
            "does not appear to be a git repository",
            "returned error: 404",
            "project not found",
        ]) {
            CacheError::RepoNotFound { url, cause }
        } else if any(&[
            "could not resolve host",
            "could not resolve hostname",
            "name or service not known",
            "temporary failure in name resolution",
            "connection refused",
            "failed to connect",
            "couldn't connect",
            "connection timed out",
            "operation timed out",
            "no route to host",
            "network is unreachable",
            "connection reset",
            "connection closed by",
        ]) {
            CacheError::Unreachable { url, cause }
        } else {
            CacheError::Git {
                action: self.action,
                url,
                cause,
            }
        }
    }
}

/// git's stderr on one line: hints, boilerplate and `fatal: ` prefixes dropped, length capped.
fn summarize(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        // git's stock advice after every failed connection; it adds nothing to the cause.
        .filter(|l| {
            !l.starts_with("Could not read from remote repository")
                && !l.starts_with("Please make sure you have the correct access rights")
                && !l.starts_with("and the repository exists")
        })
        .map(|l| l.strip_prefix("fatal: ").unwrap_or(l).trim_end_matches('.'))
        .collect();
    let text = if lines.is_empty() {
        "git exited with an error and no message".to_string()
    } else {
        lines.join("; ")
    };
    match text.char_indices().nth(2000) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A `git` command that never prompts, speaks English (errors are matched), captures its output,
/// dies with its future, and ignores a calling git hook's repository variables.
pub fn git_command() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("git");
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
    ] {
        cmd.env_remove(var);
    }
    cmd
}
