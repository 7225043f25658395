//! The HTTP client of a repository: TLS settings and basic auth from RepoAuth.
