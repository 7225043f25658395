//! Test helpers: real git servers (smart HTTP with auth, sshd, file://), an OCI registry
//! (`registry`), headless Chromium for the web UI (`browser`) and access to the local control
//! plane started by `scripts/test`. Used by end-to-end tests only; never by the product.

#![warn(missing_docs)]

pub mod browser;
pub mod cluster;
pub mod git;
pub mod helm_repo;
pub mod registry;

pub use cluster::{
    Refused, TestNamespace, apply_crds, check_test_kubeconfig, client, eventually, kube_config,
    kubeconfig_path, second_kubeconfig_path, unique_name,
};
pub use git::{GitServer, Repo, WorkTree};
