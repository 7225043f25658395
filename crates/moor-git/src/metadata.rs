//! The author, date and subject of a commit, read from a bare repository of the cache, for the
//! lists of a UI (Argo CD's `revisionMetadata`). A repository is untrusted input: what git
//! prints is read up to a bound, and each field is cut to a bound, so a commit with a huge
//! message or author costs no more than a small one.

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::cache::{CacheError, git_command};

/// Most bytes read from git's output: the fields below, with room to spare.
const MAX_OUTPUT: u64 = 8 * 1024;
/// Most characters kept of the subject line, and of the author.
pub const MAX_FIELD_CHARS: usize = 200;
/// Bound on the one `git log` (a local read of one commit).
const TIMEOUT: Duration = Duration::from_secs(10);

/// What a UI shows next to a revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitMetadata {
    /// `Name <email>`, cut to [`MAX_FIELD_CHARS`].
    pub author: String,
    /// The author date, RFC 3339 (`2026-12-01T20:34:30+00:00`).
    pub date: String,
    /// The subject (first line of the message), cut to [`MAX_FIELD_CHARS`].
    pub message: String,
}

/// The metadata of `commit` (a full hex sha) in the bare repository `git_dir`; `shown` names the
/// repository in errors (a redacted URL).
pub async fn commit_metadata(
    git_dir: &Path,
    commit: &str,
    shown: &str,
) -> Result<CommitMetadata, CacheError> {
    let failed = |cause: String| CacheError::Git {
        action: "read the commit metadata of",
        url: shown.to_string(),
        cause,
    };
    // Only a sha: never an option, a range or a ref an attacker named.
    if !(matches!(commit.len(), 40 | 64) && commit.chars().all(|c| c.is_ascii_hexdigit())) {
        return Err(failed(format!("{commit:?} is not a commit sha")));
    }
    let mut cmd = git_command();
    cmd.arg(format!("--git-dir={}", git_dir.display()))
        .args(["log", "-1", "--no-show-signature", "--no-color"])
        .arg("--format=%an <%ae>%x00%aI%x00%s")
        .arg(commit);
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CacheError::GitNotInstalled,
        _ => failed(format!("cannot run git: {e}")),
    })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let read = async {
        let mut out = Vec::new();
        (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut out).await?;
        // A subject longer than the bound: the rest is not read, git is killed below.
        let complete = (out.len() as u64) < MAX_OUTPUT;
        let status = if complete {
            Some(child.wait().await?)
        } else {
            None
        };
        Ok::<_, std::io::Error>((out, status))
    };
    let (out, status) = match tokio::time::timeout(TIMEOUT, read).await {
        Err(_) => {
            return Err(CacheError::Timeout {
                action: "read the commit metadata of",
                url: shown.to_string(),
                timeout: TIMEOUT,
            });
        }
        Ok(r) => r.map_err(|e| failed(e.to_string()))?,
    };
    if status.is_some_and(|s| !s.success()) {
        let mut err = Vec::new();
        if let Some(stderr) = child.stderr.as_mut() {
            let _ = stderr.take(2000).read_to_end(&mut err).await;
        }
        return Err(failed(String::from_utf8_lossy(&err).trim().to_string()));
    }
    // Dropping the child kills it when the output was cut.
    drop(child);
    let text = String::from_utf8_lossy(&out);
    let mut fields = text.trim_end_matches('\n').splitn(3, '\0');
    let mut next = || bounded(fields.next().unwrap_or_default());
    Ok(CommitMetadata {
        author: next(),
        date: next(),
        message: next(),
    })
}

/// At most [`MAX_FIELD_CHARS`] characters of the first line of `s`.
fn bounded(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default().trim();
    line.chars().take(MAX_FIELD_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", "2026-11-30T08:15:00+01:00")
            .env("GIT_COMMITTER_NAME", "ci")
            .env("GIT_COMMITTER_EMAIL", "ci@example.com")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[tokio::test]
    async fn reads_author_date_and_subject_bounded_from_a_bare_repo() {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        git(w, &["init", "-q", "-b", "main"]);
        std::fs::write(w.join("a.yaml"), "kind: ConfigMap\n").unwrap();
        git(w, &["add", "a.yaml"]);
        git(
            w,
            &[
                "commit",
                "-q",
                "-m",
                "Raise replicas to 3\n\nThe body is not shown.",
            ],
        );
        // A hostile commit: a subject of a megabyte on one line.
        std::fs::write(w.join("msg"), "x".repeat(1 << 20)).unwrap();
        git(w, &["commit", "-q", "--allow-empty", "-F", "msg"]);
        let bare = tempfile::tempdir().unwrap();
        let b = bare.path().join("r.git");
        git(w, &["clone", "-q", "--bare", ".", b.to_str().unwrap()]);
        let first = git(w, &["rev-parse", "HEAD~1"]);
        let second = git(w, &["rev-parse", "HEAD"]);

        let m = commit_metadata(&b, &first, "repo").await.unwrap();
        assert_eq!(
            m,
            CommitMetadata {
                author: "Ada Lovelace <ada@example.com>".into(),
                date: "2026-11-30T08:15:00+01:00".into(),
                message: "Raise replicas to 3".into(),
            }
        );
        let m = commit_metadata(&b, &second, "repo").await.unwrap();
        assert_eq!(m.author, "Ada Lovelace <ada@example.com>");
        assert_eq!(m.message, "x".repeat(MAX_FIELD_CHARS));

        let unknown = "0".repeat(40);
        let err = commit_metadata(&b, &unknown, "repo").await.unwrap_err();
        assert!(
            err.to_string().contains("read the commit metadata of repo"),
            "{err}"
        );
        let err = commit_metadata(&b, "--output=/tmp/x", "repo")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is not a commit sha"), "{err}");
    }
}
