//! Clone, edit, commit, push; when the branch moved meanwhile, fetch, re-apply the edit on the
//! new head and push again (bounded, with jittered backoff).
//!
//! Credentials reach git through [`moor_git::GitAuth`], as for fetches: https credentials as an
//! `http.<origin>/.extraHeader` through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/
//! `GIT_CONFIG_VALUE_n` (never in argv, never in the clone's config) with redirects not
//! followed, ssh keys and known_hosts through `GIT_SSH_COMMAND`; git's output is scrubbed with
//! [`moor_git::redact`] and URLs are shown through [`moor_git::redact_url`]. Which credentials
//! a push gets is the caller's choice, by [`moor_git::scope_match`]'s rule where the URL is not
//! the operator's own.

use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use moor_git::{Credentials, GitAuth, redact, redact_url};

use crate::error::io;
use crate::{DEFAULT_SET_MESSAGE, FileEdit, ImageChange, ImageError, render_message, write_edits};

/// Author and committer of the commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// Name written in the commit.
    pub name: String,
    /// Email written in the commit.
    pub email: String,
}

impl Default for Author {
    fn default() -> Author {
        Author {
            name: "moor".into(),
            email: "moor@localhost".into(),
        }
    }
}

/// Where and how to commit.
#[derive(Clone, Debug)]
pub struct PushOptions {
    /// https://, ssh://, git@host:path or file:// URL.
    pub repo_url: String,
    /// The branch to commit to; `None` for the remote's default branch.
    pub branch: Option<String>,
    /// What clone and push authenticate with (never shown in messages).
    pub credentials: Credentials,
    /// Who the commits are by.
    pub author: Author,
    /// Commit message with `{images}`, `{branch}` and the `vars` as placeholders.
    pub message_template: String,
    /// More placeholders, e.g. `("path", "overlays/staging")`.
    pub vars: Vec<(String, String)>,
    /// Pushes tried before giving up on a branch that keeps moving.
    pub max_attempts: u32,
    /// Limit for each git command.
    pub timeout: Duration,
    /// Clone and plan the edit, but commit and push nothing.
    pub dry_run: bool,
}

impl PushOptions {
    /// Defaults for `repo_url`: default branch, author moor, 5 attempts, 5 minute timeout.
    pub fn new(repo_url: impl Into<String>) -> PushOptions {
        PushOptions {
            repo_url: repo_url.into(),
            branch: None,
            credentials: Credentials::default(),
            author: Author::default(),
            message_template: DEFAULT_SET_MESSAGE.into(),
            vars: Vec::new(),
            max_attempts: 5,
            timeout: Duration::from_secs(300),
            dry_run: false,
        }
    }
}

/// What [`commit_and_push`] did.
#[derive(Clone, Debug)]
pub struct PushOutcome {
    /// The branch committed to (or that would have been).
    pub branch: String,
    /// The commit the (last) edit was applied on.
    pub base: String,
    /// The pushed commit; `None` when nothing changed or on a dry run.
    pub commit: Option<String>,
    /// The commit message (also rendered on a dry run); `None` when nothing changed.
    pub message: Option<String>,
    /// The edited files of the last attempt.
    pub files: Vec<FileEdit>,
    /// Edits applied (1 unless the branch moved meanwhile).
    pub attempts: u32,
}

impl PushOutcome {
    /// Every image change of the last attempt, for the report.
    pub fn changes(&self) -> Vec<ImageChange> {
        self.files.iter().flat_map(|f| f.changes.clone()).collect()
    }
}

/// Clones `opts.repo_url` at `opts.branch`, calls `edit` with the work tree to plan the edit
/// (it must not write: the files it returns are written here), commits them with `opts.author`
/// and the rendered message, and pushes. When the push is rejected because the branch moved,
/// it fetches, resets to the new head and calls `edit` again, up to `opts.max_attempts` times.
/// No file edits: no commit.
pub async fn commit_and_push<F>(opts: &PushOptions, mut edit: F) -> Result<PushOutcome, ImageError>
where
    F: FnMut(&Path) -> Result<Vec<FileEdit>, ImageError>,
{
    if opts.repo_url.starts_with('-') {
        return Err(ImageError::Git {
            action: "clone",
            url: redact_url(&opts.repo_url),
            cause: "a repository URL cannot start with '-'".into(),
        });
    }
    let auth = GitAuth::new(&opts.repo_url, &opts.credentials);
    let git = Git {
        shown: redact_url(&opts.repo_url),
        auth,
        author: opts.author.clone(),
        timeout: opts.timeout,
    };
    let tmp = tempfile::Builder::new()
        .prefix("moor-image-")
        .tempdir()
        .map_err(io("create a temp dir in", std::env::temp_dir()))?;
    let work = tmp.path().join("repo");
    let work_arg = work.to_string_lossy().into_owned();
    let mut clone = vec!["clone", "--quiet", "--no-tags", "--single-branch"];
    if let Some(b) = &opts.branch {
        clone.extend(["--branch", b.as_str()]);
    }
    clone.extend(["--", git.auth.url.as_str(), work_arg.as_str()]);
    git.run(None, "clone", &clone).await?;

    let branch = match &opts.branch {
        Some(b) => b.clone(),
        None => git
            .run(
                Some(&work),
                "read the default branch of",
                &["symbolic-ref", "--quiet", "--short", "HEAD"],
            )
            .await?
            .trim()
            .to_string(),
    };
    let head = git
        .output(
            Some(&work),
            "read",
            &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        )
        .await?;
    if !head.status.success() {
        return Err(ImageError::Git {
            action: "read",
            url: git.shown.clone(),
            cause: format!("branch {branch} has no commits"),
        });
    }
    let tracking = format!("refs/remotes/origin/{branch}");
    let fetch_spec = format!("+refs/heads/{branch}:{tracking}");
    let push_spec = format!("HEAD:refs/heads/{branch}");
    let mut vars: Vec<(&str, &str)> = opts
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    vars.push(("branch", branch.as_str()));

    let max = opts.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let base = git
            .run(Some(&work), "read", &["rev-parse", "HEAD"])
            .await?
            .trim()
            .to_string();
        let files = edit(&work)?;
        let mut outcome = PushOutcome {
            branch: branch.clone(),
            base,
            commit: None,
            message: None,
            files,
            attempts: attempt,
        };
        if outcome.files.is_empty() {
            return Ok(outcome);
        }
        let message = render_message(&opts.message_template, &outcome.changes(), &vars);
        outcome.message = Some(message.clone());
        if opts.dry_run {
            return Ok(outcome);
        }
        write_edits(&work, &outcome.files)?;
        let paths: Vec<String> = outcome
            .files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect();
        let mut add = vec!["add", "--"];
        add.extend(paths.iter().map(String::as_str));
        git.run(Some(&work), "stage the edits in", &add).await?;
        let staged = git
            .output(Some(&work), "compare", &["diff", "--cached", "--quiet"])
            .await?;
        if staged.status.success() {
            outcome.files.clear();
            outcome.message = None;
            return Ok(outcome);
        }
        git.run(
            Some(&work),
            "commit to",
            &["commit", "--quiet", "--no-verify", "-m", &message],
        )
        .await?;
        let commit = git
            .run(Some(&work), "read", &["rev-parse", "HEAD"])
            .await?
            .trim()
            .to_string();
        let pushed = git
            .output(
                Some(&work),
                "push to",
                &["push", "--porcelain", "origin", &push_spec],
            )
            .await?;
        if pushed.status.success() {
            outcome.commit = Some(commit);
            return Ok(outcome);
        }
        let said = git.said(&pushed);
        if !moved(&said) {
            return Err(ImageError::Git {
                action: "push to",
                url: git.shown.clone(),
                cause: summarize(&said),
            });
        }
        if attempt >= max {
            return Err(ImageError::PushRejected {
                url: git.shown.clone(),
                branch,
                attempts: attempt,
                cause: summarize(&said),
            });
        }
        let wait = backoff(attempt);
        tracing::warn!(
            url = %git.shown,
            branch = %branch,
            attempt,
            wait_ms = wait.as_millis() as u64,
            "push rejected because the branch moved; re-applying the edit on its new head"
        );
        tokio::time::sleep(wait).await;
        git.run(
            Some(&work),
            "fetch",
            &["fetch", "--quiet", "--no-tags", "origin", &fetch_spec],
        )
        .await?;
        git.run(
            Some(&work),
            "reset the clone of",
            &["reset", "--quiet", "--hard", &tracking],
        )
        .await?;
    }
}

/// Whether a failed push was turned down because the branch is no longer where the clone saw
/// it (another writer won the race), which a fetch and a fresh edit fix.
fn moved(said: &str) -> bool {
    let lower = said.to_ascii_lowercase();
    [
        "fetch first",
        "non-fast-forward",
        "cannot lock ref",
        "failed to update ref",
        "failed to lock",
        "incorrect old value",
        "stale info",
    ]
    .iter()
    .any(|m| lower.contains(m))
}

/// 250 ms doubling to 4 s, each with up to as much again of jitter so racing writers part.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64 << attempt.saturating_sub(1).min(4);
    let jitter = RandomState::new().hash_one(attempt) % base;
    Duration::from_millis(base / 2 + jitter)
}

/// git's stderr on one line: hints and `fatal: ` prefixes dropped, length capped.
fn summarize(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:") && *l != "Done")
        .map(|l| l.strip_prefix("fatal: ").unwrap_or(l))
        .collect();
    let text = if lines.is_empty() {
        "git exited with an error and no message".to_string()
    } else {
        lines.join("; ")
    };
    match text.char_indices().nth(1500) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

struct Git {
    shown: String,
    auth: GitAuth,
    author: Author,
    timeout: Duration,
}

impl Git {
    /// Stdout of a command that must succeed.
    async fn run(
        &self,
        cwd: Option<&Path>,
        action: &'static str,
        args: &[&str],
    ) -> Result<String, ImageError> {
        let out = self.output(cwd, action, args).await?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(ImageError::Git {
                action,
                url: self.shown.clone(),
                cause: summarize(&self.said(&out)),
            })
        }
    }

    /// Everything a command printed, secrets scrubbed.
    fn said(&self, out: &Output) -> String {
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        redact(&text, &self.auth.secrets)
    }

    async fn output(
        &self,
        cwd: Option<&Path>,
        action: &'static str,
        args: &[&str],
    ) -> Result<Output, ImageError> {
        let mut cmd = moor_git::git_command();
        cmd.args(args)
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("GIT_AUTHOR_NAME", &self.author.name)
            .env("GIT_AUTHOR_EMAIL", &self.author.email)
            .env("GIT_COMMITTER_NAME", &self.author.name)
            .env("GIT_COMMITTER_EMAIL", &self.author.email);
        cmd.envs(self.auth.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        }
        let child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ImageError::GitNotInstalled,
            _ => ImageError::Git {
                action,
                url: self.shown.clone(),
                cause: format!("cannot run git: {e}"),
            },
        })?;
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            // Dropping the future drops the child, which kills it.
            Err(_) => Err(ImageError::Timeout {
                action,
                url: self.shown.clone(),
                timeout: self.timeout,
            }),
            Ok(out) => out.map_err(|e| ImageError::Git {
                action,
                url: self.shown.clone(),
                cause: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_from_a_moved_branch_are_retried_others_are_not() {
        for said in [
            "To x\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone",
            "! [rejected] HEAD -> main (non-fast-forward)",
            "! [remote rejected] HEAD -> main (cannot lock ref 'refs/heads/main': is at 1 but expected 2)",
            "! [remote rejected] HEAD -> main (failed to update ref)",
        ] {
            assert!(moved(said), "{said}");
        }
        for said in [
            "! [remote rejected] HEAD -> main (pre-receive hook declined)",
            "fatal: Authentication failed for 'https://host/r'",
            "! [remote rejected] HEAD -> main (protected branch hook declined)",
        ] {
            assert!(!moved(said), "{said}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        for attempt in 1..10 {
            let d = backoff(attempt).as_millis() as u64;
            let base = 250u64 << (attempt - 1).min(4);
            assert!(d >= base / 2 && d < base / 2 + base, "{attempt}: {d}");
        }
    }

    #[test]
    fn summaries_drop_hints() {
        assert_eq!(
            summarize("fatal: bad thing\nhint: do this\n\nerror: more\n"),
            "bad thing; error: more"
        );
    }
}
