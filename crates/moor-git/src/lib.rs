//! Git source for moor: bare-repo cache, revision resolution, checkout, credentials, URL redaction.
//!
//! [`Source::materialize`] is the entry point: `(repo, revision, path)` in, a directory out.
//! Credentials never reach git's argv, error messages or logs: URLs are redacted with
//! [`redact_url`] and everything git prints goes through [`redact`].

#![warn(missing_docs)]

mod cache;
mod creds;
mod gc;
mod metadata;
mod scope;
mod source;
mod url;

pub use cache::{CacheError, RepoCache, git_command};
pub use creds::{CREDENTIALS_URL_ENV, Credentials, GitAuth, ScopedCredentials};
pub use gc::{GcPolicy, GcReport, InUse};
pub use metadata::{CommitMetadata, MAX_FIELD_CHARS, commit_metadata};
pub use scope::{UrlScope, best_match, scope_match};
pub use source::{Materialized, Source, SourceError};
pub use url::{normalize_url, redact, redact_url};
