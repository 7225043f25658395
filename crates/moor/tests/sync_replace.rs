//! End to end: `moor sync` of a Job whose template changed (an immutable field). Without a
//! Replace/Force option the sync fails before any write with one line naming the object, the
//! field and the option; with `--sync-option Replace=true` the Job is deleted and created again
//! and reported as replaced.

mod common;

use common::{get, moor, moor_ok, repo_args, write};
use moor_testkit::{TestNamespace, client, unique_name};

fn job(image: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    \
         spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        \
         image: {image}\n"
    )
}

async fn job_uid(ns: &str) -> String {
    let live = get(&client().await, "batch/v1", "Job", Some(ns), "migrate")
        .await
        .expect("the Job exists");
    live["metadata"]["uid"].as_str().expect("a uid").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_job_template_names_the_option_and_replace_true_recreates_the_job() {
    let ns = TestNamespace::create(&client().await, "sync-replace").await;
    let app = unique_name("sync-replace");
    let src = tempfile::tempdir().unwrap();
    let dir = src.path().to_str().unwrap();
    let sync = repo_args("sync", dir, &app, &ns.name, &[]);
    write(src.path(), "job.yaml", &job("busybox:1"));
    moor_ok(&sync, &[]);
    let uid = job_uid(&ns.name).await;

    write(src.path(), "job.yaml", &job("busybox:2"));
    let r = moor(&sync, &[]);
    assert_ne!(r.code, 0, "the sync must fail: {}", r.stdout);
    let expected = "spec.template: field is immutable; set the sync option Replace=true (or \
                    Force=true) on the object or the app to delete and recreate it";
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains(expected)).collect();
    assert_eq!(lines.len(), 1, "said once: {}", r.stderr);
    assert!(
        lines[0].contains(&format!("Job {}/migrate (job.yaml", ns.name)),
        "{}",
        r.stderr
    );
    assert_eq!(job_uid(&ns.name).await, uid, "nothing was written");

    let replace = [&sync[..], &["--sync-option", "Replace=true"]].concat();
    let r = moor_ok(&replace, &[]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("migrate") && l.contains("replaced")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("1 replaced"), "{}", r.stdout);
    assert_ne!(job_uid(&ns.name).await, uid, "the Job was not recreated");

    // An option `moor sync` does not apply is refused, not ignored.
    let r = moor(
        &[&sync[..], &["--sync-option", "Replace=yes"]].concat(),
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("sync option Replace=yes"), "{}", r.stderr);
}
