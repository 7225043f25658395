//! Helm repositories: index.yaml, fetched at most once per interval, and chart archives.
