//! commit_and_push against real git servers (moor-testkit): one commit with the configured
//! author and message, no commit when nothing changes, a retry when another writer moved the
//! branch meanwhile, and no credentials in errors.

use std::path::Path;

use moor_git::Credentials;
use moor_image::{Author, Edits, ImageError, ImageUpdate, PushOptions, commit_and_push, plan_dir};
use moor_testkit::{GitServer, Repo, WorkTree};

const KUSTOMIZATION: &str = "resources:\n  - deployment.yaml\nimages:\n  - name: registry.local/myapp\n    newTag: 1.0.0 # pinned by CI\n";

fn repo(server: &GitServer, name: &str) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/kustomization.yaml"), KUSTOMIZATION).unwrap();
    std::fs::write(dir.path().join("app/deployment.yaml"), "kind: Deployment\n").unwrap();
    std::fs::write(dir.path().join("README.md"), "docs\n").unwrap();
    server.create_repo(name, dir.path())
}

fn set(tag: &str) -> impl FnMut(&Path) -> Result<Vec<moor_image::FileEdit>, ImageError> {
    let edits = Edits::images(vec![
        ImageUpdate::parse(&format!("registry.local/myapp=registry.local/myapp:{tag}")).unwrap(),
    ]);
    move |root: &Path| Ok(plan_dir(root, "app", &edits)?.files)
}

fn count(work: &WorkTree) -> usize {
    work.git(&["rev-list", "--count", "HEAD"]).parse().unwrap()
}

#[tokio::test]
async fn pushes_one_commit_over_http_with_auth_then_nothing_when_unchanged() {
    let server = GitServer::start();
    let repo = repo(&server, "manifests");
    let (user, password) = server.http_credentials();
    let mut opts = PushOptions::new(server.http_auth_url("manifests"));
    opts.credentials = Credentials {
        username: Some(user),
        password: Some(password.clone()),
        ..Credentials::default()
    };
    opts.author = Author {
        name: "CI Bot".into(),
        email: "ci@example.com".into(),
    };
    opts.message_template = "deploy {path} on {branch}\n\n{images}".into();
    opts.vars = vec![("path".into(), "app".into())];

    let out = commit_and_push(&opts, set("2.0.0")).await.unwrap();
    assert_eq!(out.branch, "main");
    assert_eq!(out.attempts, 1);
    let commit = out.commit.clone().expect("a commit");
    assert_eq!(repo.head(), commit);

    let work = repo.clone_work();
    assert_eq!(count(&work), 2);
    assert_eq!(
        std::fs::read_to_string(work.path().join("app/kustomization.yaml")).unwrap(),
        KUSTOMIZATION.replace("newTag: 1.0.0 #", "newTag: 2.0.0 #")
    );
    assert_eq!(
        work.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>"]),
        "CI Bot <ci@example.com>|CI Bot <ci@example.com>"
    );
    assert_eq!(
        work.git(&["log", "-1", "--format=%B"]),
        "deploy app on main\n\nregistry.local/myapp: registry.local/myapp:1.0.0 -> registry.local/myapp:2.0.0"
    );
    assert_eq!(
        work.git(&["show", "--format=", "--name-only", "HEAD"]),
        "app/kustomization.yaml"
    );

    let again = commit_and_push(&opts, set("2.0.0")).await.unwrap();
    assert_eq!(again.commit, None);
    assert!(again.files.is_empty());
    assert_eq!(repo.head(), commit, "no new commit");

    // Dry run: the message and files, no push.
    opts.dry_run = true;
    let dry = commit_and_push(&opts, set("3.0.0")).await.unwrap();
    assert_eq!(dry.commit, None);
    assert_eq!(dry.files.len(), 1);
    assert!(
        dry.message
            .unwrap()
            .contains("-> registry.local/myapp:3.0.0")
    );
    assert_eq!(repo.head(), commit);
}

#[tokio::test]
async fn retries_on_a_moved_branch_and_keeps_the_other_writers_commit() {
    let server = GitServer::start();
    let repo = repo(&server, "race");
    let other = repo.clone_work();
    let opts = PushOptions::new(server.file_url("race"));
    let mut first = true;
    let mut edit = set("2.0.0");
    let out = commit_and_push(&opts, |root: &Path| {
        if first {
            // Another writer pushes after our clone, before our push.
            first = false;
            other.write("README.md", "docs, edited meanwhile\n");
            other.commit_and_push("someone else");
        }
        edit(root)
    })
    .await
    .unwrap();
    assert_eq!(out.attempts, 2);
    let work = repo.clone_work();
    assert_eq!(count(&work), 3);
    assert_eq!(
        std::fs::read_to_string(work.path().join("README.md")).unwrap(),
        "docs, edited meanwhile\n"
    );
    assert!(
        std::fs::read_to_string(work.path().join("app/kustomization.yaml"))
            .unwrap()
            .contains("newTag: 2.0.0 # pinned by CI")
    );
    assert_eq!(
        work.git(&["log", "-1", "--format=%s"]),
        "Update images in {path}"
    );
}

#[tokio::test]
async fn gives_up_after_max_attempts_on_a_branch_that_keeps_moving() {
    let server = GitServer::start();
    let repo = repo(&server, "busy");
    let other = repo.clone_work();
    let mut opts = PushOptions::new(server.file_url("busy"));
    opts.max_attempts = 2;
    let mut n = 0;
    let mut edit = set("2.0.0");
    let err = commit_and_push(&opts, |root: &Path| {
        n += 1;
        other.write("README.md", format!("edit {n}\n"));
        other.commit_and_push("someone else");
        edit(root)
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, ImageError::PushRejected { attempts: 2, .. }),
        "{err}"
    );
    assert_eq!(
        count(&repo.clone_work()),
        3,
        "only the other writer's commits"
    );
}

#[tokio::test]
async fn failures_never_show_credentials() {
    let server = GitServer::start();
    repo(&server, "private");
    let (user, _) = server.http_credentials();
    let mut opts = PushOptions::new(server.http_auth_url("private"));
    opts.credentials = Credentials {
        username: Some(user.clone()),
        password: Some("wrong-secret-value".into()),
        ..Credentials::default()
    };
    let err = commit_and_push(&opts, set("2.0.0"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("failed to clone"), "{err}");
    assert!(!err.contains("wrong-secret-value"), "{err}");

    let embedded = server
        .http_auth_url("private")
        .replace("http://", &format!("http://{user}:embedded-secret@"));
    let err = commit_and_push(&PushOptions::new(embedded), set("2.0.0"))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("embedded-secret"), "{err}");
    assert!(err.contains(":***@"), "{err}");

    let err = commit_and_push(
        &PushOptions {
            branch: Some("nope".into()),
            ..PushOptions::new(server.file_url("private"))
        },
        set("2.0.0"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("nope"), "{err}");
}
