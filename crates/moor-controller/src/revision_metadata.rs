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
