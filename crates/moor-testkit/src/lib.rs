//! Test helpers: real git servers (smart HTTP with auth, sshd, file://) and cluster access.
