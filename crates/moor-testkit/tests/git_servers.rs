//! The test git servers serve real clones and pushes: smart HTTP with and without basic auth,
//! sshd with a pinned host key, and file://, all driven by the git CLI.

use std::path::Path;
use std::process::{Command, Output};

use moor_testkit::GitServer;
use moor_testkit::git::ssh_command_with;

fn seed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps/web")).unwrap();
    std::fs::write(dir.path().join("apps/web/app.yaml"), "kind: ConfigMap\n").unwrap();
    dir
}

/// Runs git with no user config and no prompts; returns the raw output.
fn git(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn clone(url: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let out = git(dir.path(), &["clone", "-q", url, "c"], env);
    (dir, out)
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn with_credentials(url: &str, user: &str, password: &str) -> String {
    url.replacen("http://", &format!("http://{user}:{password}@"), 1)
}

#[test]
fn http_public_and_private_clone() {
    let server = GitServer::start();
    let repo = server.create_repo("shop", seed().path());

    let (dir, out) = clone(&server.http_url("shop"), &[]);
    assert_ok(&out, "public clone");
    assert!(dir.path().join("c/apps/web/app.yaml").is_file());
    let head = git(&dir.path().join("c"), &["rev-parse", "HEAD"], &[]);
    assert_eq!(String::from_utf8_lossy(&head.stdout).trim(), repo.head());

    let (user, password) = server.http_credentials();
    let url = with_credentials(&server.http_auth_url("shop"), &user, &password);
    let (dir, out) = clone(&url, &[]);
    assert_ok(&out, "private clone");
    assert!(dir.path().join("c/apps/web/app.yaml").is_file());

    let (_, out) = clone(&server.http_auth_url("shop"), &[]);
    assert!(!out.status.success(), "private clone without credentials");
    let wrong = with_credentials(&server.http_auth_url("shop"), &user, "wrong");
    let (_, out) = clone(&wrong, &[]);
    assert!(!out.status.success(), "private clone with a wrong password");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Authentication failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn http_push_with_auth() {
    let server = GitServer::start();
    let repo = server.create_repo("shop", seed().path());
    let (user, password) = server.http_credentials();
    let url = with_credentials(&server.http_auth_url("shop"), &user, &password);
    let (dir, out) = clone(&url, &[]);
    assert_ok(&out, "private clone");
    let work = dir.path().join("c");
    std::fs::write(work.join("new.yaml"), "kind: Secret\n").unwrap();
    let env = [
        ("GIT_AUTHOR_NAME", "t"),
        ("GIT_AUTHOR_EMAIL", "t@t"),
        ("GIT_COMMITTER_NAME", "t"),
        ("GIT_COMMITTER_EMAIL", "t@t"),
    ];
    assert_ok(&git(&work, &["add", "-A"], &env), "add");
    assert_ok(&git(&work, &["commit", "-q", "-m", "more"], &env), "commit");
    assert_ok(&git(&work, &["push", "-q", "origin", "HEAD"], &env), "push");
    let pushed = git(&work, &["rev-parse", "HEAD"], &[]);
    assert_eq!(String::from_utf8_lossy(&pushed.stdout).trim(), repo.head());

    // Anonymous pushes to the private prefix are turned away.
    let out = git(
        &work,
        &[
            "push",
            "-q",
            &server.http_auth_url("shop"),
            "HEAD:refs/heads/x",
        ],
        &env,
    );
    assert!(!out.status.success(), "anonymous push");
}

#[test]
fn ssh_clone_checks_the_host_key() {
    let server = GitServer::start();
    let repo = server.create_repo("shop", seed().path());
    let (dir, out) = clone(
        &server.ssh_url("shop"),
        &[("GIT_SSH_COMMAND", &server.ssh_command())],
    );
    assert!(
        out.status.success(),
        "ssh clone failed: {}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.sshd_log()
    );
    let head = git(&dir.path().join("c"), &["rev-parse", "HEAD"], &[]);
    assert_eq!(String::from_utf8_lossy(&head.stdout).trim(), repo.head());

    let empty = tempfile::NamedTempFile::new().unwrap();
    let untrusting = ssh_command_with(server.ssh_key_path(), empty.path());
    let (_, out) = clone(&server.ssh_url("shop"), &[("GIT_SSH_COMMAND", &untrusting)]);
    assert!(!out.status.success(), "clone with an unknown host key");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Host key verification failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn file_clone_and_work_tree_round_trip() {
    let server = GitServer::start();
    let repo = server.create_repo("shop", seed().path());
    let (dir, out) = clone(&server.file_url("shop"), &[]);
    assert_ok(&out, "file clone");
    assert!(dir.path().join("c/apps/web/app.yaml").is_file());

    let work = repo.clone_work();
    work.write("apps/api/app.yaml", "kind: Service\n");
    work.remove("apps/web");
    let sha = work.commit_and_push("move to api");
    assert_eq!(sha, repo.head());
    assert_eq!(sha, work.head());

    let empty = server.create_empty_repo("empty");
    let work = empty.clone_work();
    work.write("a.txt", "a");
    assert_eq!(work.commit_and_push("first"), empty.head());
}

#[test]
fn http_handles_gzipped_requests() {
    let server = GitServer::start();
    let repo = server.create_repo("many", seed().path());
    let work = repo.clone_work();
    // Enough distinct wants that git gzips the upload-pack request (it does past 1 KiB).
    for i in 0..40 {
        work.git(&["commit", "-q", "--allow-empty", "-m", &format!("c{i}")]);
        work.git(&["branch", &format!("b{i}")]);
    }
    work.git(&["push", "-q", "origin", "--all"]);
    let (dir, out) = clone(&server.http_url("many"), &[("GIT_TRACE_CURL", "1")]);
    assert_ok(&out, "clone");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(
        trace.contains("Content-Encoding: gzip"),
        "no gzipped request"
    );
    let branches = git(&dir.path().join("c"), &["branch", "-r"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&branches.stdout).lines().count(),
        42
    );
}
