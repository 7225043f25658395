//! Argo CD's (Masterminds) semver constraints and picking a version from a list.
