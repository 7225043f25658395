//! `status.sync.revisionMetadata` and `status.history[].revisionMetadata`: the author, date and
//! subject of the commit an app is at, for the lists of a UI. Read from the bare repository
//! the fetch just updated (moor-git bounds what a hostile commit can make it read), once per
//! commit: the answer, or its absence, is kept in memory by sha.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use moor_git::redact_url;

use crate::crd::RevisionMetadata;
use crate::source_set::Resolved;
use crate::sources::Sources;

/// Commits remembered; the whole map is dropped when full (a new commit per app is rare).
const MAX_CACHED: usize = 4096;

static CACHE: LazyLock<Mutex<HashMap<String, Option<RevisionMetadata>>>> =
    LazyLock::new(Default::default);

/// The metadata of the commit of the app's first Git source (a chart has none); None when it
/// cannot be read (logged once per commit).
pub async fn of(sources: &Sources, resolved: &Resolved) -> Option<RevisionMetadata> {
    let git = resolved.sources.iter().find(|s| !s.source.is_chart())?;
    let sha = git.revision.clone();
    if let Some(hit) = CACHE.lock().expect("metadata cache lock").get(&sha) {
        return hit.clone();
    }
    let url = &git.source.repo_url;
    let dir = sources.repo_dir(url);
    let found = match moor_git::commit_metadata(&dir, &sha, &redact_url(url)).await {
        Ok(m) => Some(from_commit(m)),
        Err(e) => {
            tracing::warn!("{}", moor_types::error_chain(&e));
            None
        }
    };
    let mut cache = CACHE.lock().expect("metadata cache lock");
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
    cache.insert(sha, found.clone());
    found
}

fn from_commit(m: moor_git::CommitMetadata) -> RevisionMetadata {
    RevisionMetadata {
        author: m.author,
        date: Some(m.date).filter(|d| !d.is_empty()),
        message: m.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Source;
    use crate::sources::ResolvedSource;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "ci")
            .env("GIT_COMMITTER_EMAIL", "ci@example.com")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn resolved(source: Source, revision: &str) -> ResolvedSource {
        ResolvedSource {
            source,
            field: "spec.sources[0]".into(),
            revision: revision.into(),
            root: Default::default(),
            chart_digest: None,
            dependencies: vec![],
        }
    }

    #[tokio::test]
    async fn the_first_git_source_of_a_multi_source_app_gives_the_metadata() {
        let root = tempfile::tempdir().unwrap();
        let sources = Sources::new(
            moor_git::RepoCache::new(root.path().join("git")),
            root.path().join("charts"),
            std::time::Duration::from_secs(60),
        );
        let url = "https://git.example.com/team/app.git";
        let work = root.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        git(
            &work,
            &["commit", "-q", "--allow-empty", "-m", "Deploy v2\n\nbody"],
        );
        let sha = git(&work, &["rev-parse", "HEAD"]);
        let bare = sources.repo_dir(url);
        git(
            &work,
            &["clone", "-q", "--bare", ".", bare.to_str().unwrap()],
        );

        let chart = Source {
            repo_url: "https://charts.example.com".into(),
            chart: Some("web".into()),
            ..Default::default()
        };
        let repo = Source {
            repo_url: url.into(),
            ..Default::default()
        };
        let app = Resolved {
            sources: vec![resolved(chart.clone(), "1.2.0"), resolved(repo, &sha)],
            multi: true,
        };
        let m = of(&sources, &app)
            .await
            .expect("metadata of the Git source");
        assert_eq!(
            (m.author.as_str(), m.message.as_str()),
            ("Ada <ada@example.com>", "Deploy v2")
        );
        assert!(m.date.is_some());
        // Kept by sha: the bare repository is not read again.
        std::fs::remove_dir_all(&bare).unwrap();
        assert_eq!(of(&sources, &app).await, Some(m));
        // A chart has none.
        let charts_only = Resolved {
            sources: vec![resolved(chart, "1.2.0")],
            multi: false,
        };
        assert_eq!(of(&sources, &charts_only).await, None);
    }

    #[test]
    fn an_empty_date_is_left_out() {
        let m = moor_git::CommitMetadata {
            author: "A <a@b>".into(),
            date: String::new(),
            message: "subject".into(),
        };
        let r = from_commit(m);
        assert_eq!(r.date, None);
        assert_eq!(
            (r.author.as_str(), r.message.as_str()),
            ("A <a@b>", "subject")
        );
    }
}
