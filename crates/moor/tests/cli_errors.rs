//! What the CLI prints for errors with nested causes: each cause once, each path quoted once.
//! Snapshots of stderr; the commands use fixed paths (under tests/fixtures, run from there) so
//! the output is the same on every machine. No cluster is needed.

use std::path::Path;
use std::process::Command;

/// Runs `moor` from tests/fixtures/cli-errors without any kubeconfig from the environment.
fn moor_stderr(args: &[&str]) -> (i32, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli-errors");
    let out = Command::new(env!("CARGO_BIN_EXE_moor"))
        .args(args)
        .current_dir(&dir)
        .env_remove("KUBECONFIG")
        .env("HOME", "/nonexistent-home")
        .env("MOOR_CACHE", "/nonexistent-cache")
        .env("NO_COLOR", "1")
        .output()
        .expect("moor runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// No segment of the `: `-joined chain repeats, and no path is quoted twice (`'"` or `""`).
fn assert_each_cause_once(stderr: &str) {
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let segments: Vec<&str> = stderr.trim().split(": ").collect();
    for (i, s) in segments.iter().enumerate() {
        assert!(
            !segments[i + 1..].contains(s),
            "cause {s:?} printed twice: {stderr}"
        );
    }
    assert!(
        !stderr.contains("'\"") && !stderr.contains("\"\""),
        "a path is quoted twice: {stderr}"
    );
}

#[test]
fn missing_kubeconfig_is_reported_once_with_its_path_quoted_once() {
    let (code, stderr) = moor_stderr(&[
        "sync",
        "--kubeconfig",
        "/nonexistent/path",
        "--repo",
        "app",
        "--app",
        "cli-errors",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert_each_cause_once(&stderr);
    assert_eq!(
        stderr.matches("\"/nonexistent/path\"").count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    insta::assert_snapshot!("missing_kubeconfig", stderr);
}

#[test]
fn unreachable_api_server_is_reported_once_per_cause() {
    let (code, stderr) = moor_stderr(&[
        "diff",
        "--kubeconfig",
        "kubeconfig-refused.yaml",
        "--repo",
        "app",
        "--app",
        "cli-errors",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert_each_cause_once(&stderr);
    assert_eq!(stderr.matches("Connection refused").count(), 1, "{stderr}");
    insta::assert_snapshot!("unreachable_api_server", stderr);
}
