//! End to end: `moor sync` / `moor diff` into a destination namespace that does not exist. Without
//! --create-namespace it is one error naming the namespace and the flag, before any write; with
//! it the namespace is created (not owned by the app, so never pruned); with --dry-run nothing is
//! written.

mod common;

use common::{get, moor, moor_ok, repo_args, write};
use moor_testkit::{TestNamespace, client, unique_name};

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
}

/// A source of two ConfigMaps without a namespace, and a namespace name nobody created yet
/// (deleted, if a test creates it, when the guard drops).
fn setup() -> (tempfile::TempDir, TestNamespace) {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.yaml", &cm("a"));
    write(src.path(), "b.yaml", &cm("b"));
    let ns = TestNamespace {
        name: unique_name("missing"),
    };
    (src, ns)
}

async fn namespace_exists(name: &str) -> bool {
    get(&client().await, "v1", "Namespace", None, name)
        .await
        .is_some()
}

/// The lines of `stderr` that mention `ns`.
fn lines_naming<'a>(stderr: &'a str, ns: &str) -> Vec<&'a str> {
    stderr.lines().filter(|l| l.contains(ns)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_into_a_missing_namespace_says_so_once_naming_the_flag_and_writes_nothing() {
    let (src, ns) = setup();
    let app = unique_name("nsapp");
    let dir = src.path().to_str().unwrap();
    for verb in ["sync", "diff"] {
        let r = moor(&repo_args(verb, dir, &app, &ns.name, &[]), &[]);
        assert_eq!(r.code, 2, "moor {verb}: {}", r.stderr);
        let lines = lines_naming(&r.stderr, &ns.name);
        assert_eq!(lines.len(), 1, "moor {verb}: said once: {}", r.stderr);
        assert!(
            lines[0].contains(&format!("namespace \"{}\" does not exist", ns.name))
                && lines[0].contains("--create-namespace"),
            "moor {verb}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("not found"),
            "no per-object errors: {}",
            r.stderr
        );
    }
    assert!(!namespace_exists(&ns.name).await, "nothing was written");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_with_create_namespace_reports_it_and_writes_nothing() {
    let (src, ns) = setup();
    let app = unique_name("nsdry");
    let dir = src.path().to_str().unwrap();
    let r = moor_ok(
        &repo_args(
            "sync",
            dir,
            &app,
            &ns.name,
            &["--create-namespace", "--dry-run", "-o", "json"],
        ),
        &[],
    );
    let set = r.json();
    let objects = set["objects"].as_array().unwrap();
    let namespace_row = objects
        .iter()
        .find(|o| o["key"]["kind"] == "Namespace")
        .unwrap_or_else(|| panic!("the Namespace is reported: {set}"));
    assert_eq!(namespace_row["change"], "created", "{set}");
    assert!(
        objects
            .iter()
            .filter(|o| o["key"]["kind"] == "ConfigMap")
            .count()
            == 2,
        "both ConfigMaps are planned: {set}"
    );
    assert!(
        !namespace_exists(&ns.name).await,
        "the dry run wrote nothing"
    );

    // diff --create-namespace shows what sync --create-namespace would do, writing nothing.
    let r = moor(
        &repo_args(
            "diff",
            dir,
            &app,
            &ns.name,
            &["--create-namespace", "--color", "never"],
        ),
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("kind: Namespace"), "{}", r.stdout);
    assert!(!namespace_exists(&ns.name).await, "the diff wrote nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_namespace_creates_it_without_owning_it_so_prune_keeps_it() {
    let (src, ns) = setup();
    let app = unique_name("nscreate");
    let dir = src.path().to_str().unwrap();
    let run = |extra: &[&'static str]| moor_ok(&repo_args("sync", dir, &app, &ns.name, extra), &[]);
    let r = run(&["--create-namespace"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("Namespace") && l.contains(&ns.name) && l.contains("created")),
        "the table lists the created namespace: {}",
        r.stdout
    );
    let client = client().await;
    let live = get(&client, "v1", "Namespace", None, &ns.name)
        .await
        .expect("namespace created");
    assert!(
        live["metadata"]["annotations"]["moor.dev/tracking-id"].is_null(),
        "the namespace is not owned by the app: {live}"
    );
    for name in ["a", "b"] {
        assert!(
            get(&client, "v1", "ConfigMap", Some(&ns.name), name)
                .await
                .is_some()
        );
    }

    // A second sync finds it there; with prune and one ConfigMap gone, the namespace stays.
    std::fs::remove_file(src.path().join("b.yaml")).unwrap();
    let r = run(&["--create-namespace", "--prune"]);
    assert!(r.stdout.contains("pruned"), "{}", r.stdout);
    assert!(namespace_exists(&ns.name).await, "prune kept the namespace");
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "b")
            .await
            .is_none(),
        "b was pruned"
    );
}
