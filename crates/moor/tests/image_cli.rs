//! End to end: `moor image set` and `moor promote` against real git servers (moor-testkit: smart
//! HTTP with auth, ssh, file://) on a copy of examples/seed. Exact text edits with every comment
//! kept, no commit when nothing changes, two concurrent runs that both land, promotion in one
//! commit, clear errors with nothing committed, and dry runs that push nothing.
//! No cluster needed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Run, copy_dir};
use moor_testkit::{GitServer, Repo};

const DIGEST: &str = "sha256:3f2c1ab3f2c1ab3f2c1ab3f2c1ab3f2c1ab3f2c1ab3f2c1ab3f2c1ab3f2c1ab0";

const STAGING_AFTER: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: staging
resources:
  - namespace.yaml
  - ../../base
images:
  - name: registry.local/myapp
    newTag: 3f2c1ab # the staging tag
replicas:
  - name: myapp
    count: 2
";

/// `moor` with a clean git environment (no user or system config).
fn moor(args: &[&str], env: &[(&str, &str)]) -> Run {
    moor_command(args, env)
        .output()
        .expect("failed to run moor")
        .into()
}

fn moor_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_moor"));
    cmd.args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_CONFIG_COUNT")
        .stdin(Stdio::null());
    for var in [
        "MOOR_GIT_USERNAME",
        "MOOR_GIT_PASSWORD",
        "MOOR_GIT_TOKEN",
        "MOOR_GIT_SSH_KEY",
        "MOOR_GIT_KNOWN_HOSTS",
        "MOOR_GIT_AUTHOR_NAME",
        "MOOR_GIT_AUTHOR_EMAIL",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn moor_ok(args: &[&str], env: &[(&str, &str)]) -> Run {
    moor(args, env).expect_ok(args)
}

/// A copy of examples/seed, as is.
fn seed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed"),
        dir.path(),
    );
    dir
}

/// A copy of examples/seed served as repository `name`: the copy, the server and the repository.
fn served_seed(name: &str) -> (tempfile::TempDir, GitServer, Repo) {
    let seed = seed();
    let server = GitServer::start();
    let repo = server.create_repo(name, seed.path());
    (seed, server, repo)
}

/// Every file under `dir` but `.git`, by relative path.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_name() == ".git" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn bare_git(repo: &Repo, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg(format!("--git-dir={}", repo.path().display()))
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commits(repo: &Repo) -> usize {
    bare_git(repo, &["rev-list", "--count", "main"])
        .parse()
        .unwrap()
}

/// The files of `main`'s head, and the files its last commit touched.
fn head_files(repo: &Repo) -> (BTreeMap<PathBuf, Vec<u8>>, String) {
    let work = repo.clone_work();
    let touched = work.git(&["show", "--format=", "--name-only", "HEAD"]);
    (files(work.path()), touched)
}

fn text(files: &BTreeMap<PathBuf, Vec<u8>>, rel: &str) -> String {
    String::from_utf8(files[Path::new(rel)].clone()).unwrap()
}

#[test]
fn image_set_over_http_with_auth_changes_only_the_tag_line_then_makes_no_commit() {
    let (seed, server, repo) = served_seed("manifests");
    let before = files(seed.path());
    let url = server.http_auth_url("manifests");
    let (user, password) = server.http_credentials();
    let env = [
        ("MOOR_GIT_USERNAME", user.as_str()),
        ("MOOR_GIT_PASSWORD", password.as_str()),
    ];
    let args = [
        "image",
        "set",
        "--repo",
        &url,
        "--path",
        "overlays/staging",
        "--author-name",
        "CI Pipeline",
        "--author-email",
        "ci@example.com",
        "--message",
        "deploy: {path} on {branch}\n\n{images}",
        "registry.local/myapp=registry.local/myapp:3f2c1ab",
    ];
    let r = moor_ok(&args, &env);
    assert!(
        r.stdout.contains(
            "overlays/staging/kustomization.yaml:9: registry.local/myapp: \
             registry.local/myapp:1.0.1 -> registry.local/myapp:3f2c1ab\n"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("pushed "), "{}", r.stdout);
    assert!(!r.stdout.contains(&password) && !r.stderr.contains(&password));

    let (after, touched) = head_files(&repo);
    assert_eq!(
        text(&after, "overlays/staging/kustomization.yaml"),
        STAGING_AFTER
    );
    assert_eq!(touched, "overlays/staging/kustomization.yaml");
    for (path, bytes) in &before {
        if path != Path::new("overlays/staging/kustomization.yaml") {
            assert_eq!(&after[path], bytes, "{} changed", path.display());
        }
    }
    assert_eq!(after.len(), before.len());
    assert_eq!(commits(&repo), 2);
    assert_eq!(
        bare_git(&repo, &["log", "-1", "--format=%an <%ae>%n%B", "main"]),
        "CI Pipeline <ci@example.com>\ndeploy: overlays/staging on main\n\n\
         registry.local/myapp: registry.local/myapp:1.0.1 -> registry.local/myapp:3f2c1ab"
    );

    let head = repo.head();
    let r = moor_ok(&args, &env);
    assert!(r.stdout.contains("nothing to change"), "{}", r.stdout);
    assert_eq!(repo.head(), head, "a second run makes no commit");
    assert_eq!(commits(&repo), 2);
}

#[test]
fn two_concurrent_image_sets_on_different_overlays_both_land() {
    let (_seed, server, repo) = served_seed("race");
    // A barrier in the server: a push waits (up to 20 s) until a second one arrives, so both
    // runs cloned the same head and one of them must re-apply its edit and push again.
    let barrier = server.root().join("barrier");
    std::fs::create_dir_all(&barrier).unwrap();
    let hook = repo.path().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ncat >/dev/null\ntouch '{dir}'/push.$$\ni=0\n\
             while [ \"$(ls '{dir}' | wc -l)\" -lt 2 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done\n",
            dir = barrier.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let url = server.file_url("race");
    let run = |path: &str, tag: &str| {
        let image = format!("registry.local/myapp=registry.local/myapp:{tag}");
        moor_command(
            &["image", "set", "--repo", &url, "--path", path, &image],
            &[],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn moor")
    };
    let staging = run("overlays/staging", "3f2c1ab");
    let production = run("overlays/production", "9e8d7c6");
    let outputs: Vec<_> = [staging, production]
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut retried = 0;
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if stdout.contains("the branch moved meanwhile") {
            retried += 1;
        }
    }
    assert_eq!(retried, 1, "exactly one run re-applied its edit");
    assert_eq!(
        std::fs::read_dir(&barrier).unwrap().count(),
        3,
        "two pushes met at the barrier, then the retried one"
    );
    assert_eq!(commits(&repo), 3, "initial + one commit per run");
    let (after, _) = head_files(&repo);
    assert_eq!(
        text(&after, "overlays/staging/kustomization.yaml"),
        STAGING_AFTER
    );
    assert!(
        text(&after, "overlays/production/kustomization.yaml")
            .contains("    newTag: 9e8d7c6 # the production tag\n")
    );
}

#[test]
fn promote_moves_the_staging_images_to_production_in_one_commit() {
    let (seed, server, repo) = served_seed("promote");
    let before = files(seed.path());
    let url = server.http_url("promote");
    let image = format!("registry.local/myapp=registry.local/myapp:3f2c1ab@{DIGEST}");
    moor_ok(
        &[
            "image",
            "set",
            "--repo",
            &url,
            "--path",
            "overlays/staging",
            &image,
        ],
        &[],
    );
    assert_eq!(commits(&repo), 2);

    let args = [
        "promote",
        "--repo",
        &url,
        "--from",
        "overlays/staging",
        "--to",
        "overlays/production",
    ];
    let r = moor_ok(&args, &[]);
    assert!(r.stdout.contains("pushed "), "{}", r.stdout);
    assert_eq!(commits(&repo), 3, "one commit");
    let (after, touched) = head_files(&repo);
    assert_eq!(touched, "overlays/production/kustomization.yaml");
    assert_eq!(
        text(&after, "overlays/production/kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
resources:
  - namespace.yaml
  - ../../base
images:
  - name: registry.local/myapp
    newTag: 3f2c1ab # the production tag
    digest: {DIGEST}
replicas:
  - name: myapp
    count: 3
"
        )
    );
    assert_eq!(
        after[Path::new("overlays/development/kustomization.yaml")],
        before[Path::new("overlays/development/kustomization.yaml")]
    );
    assert_eq!(
        bare_git(&repo, &["log", "-1", "--format=%s", "main"]),
        "Promote images from overlays/staging to overlays/production"
    );

    let r = moor_ok(&args, &[]);
    assert!(r.stdout.contains("nothing to change"), "{}", r.stdout);
    assert_eq!(commits(&repo), 3);

    // Only the names given: an unknown one is an error.
    let r = moor(&[&args[..], &["registry.local/other"]].concat(), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("registry.local/other"), "{}", r.stderr);
}

#[test]
fn bad_inputs_give_clear_errors_exit_2_and_no_commit() {
    let seed = seed();
    common::write(
        seed.path(),
        "overlays/broken/kustomization.yaml",
        "resources:\n  - ../../base\nimages:\n  - name: registry.local/myapp\n   newTag: [1.0\n",
    );
    let server = GitServer::start();
    let repo = server.create_repo("bad", seed.path());
    let head = repo.head();
    let url = server.http_auth_url("bad");
    let (user, password) = server.http_credentials();
    let env = [
        ("MOOR_GIT_USERNAME", user.as_str()),
        ("MOOR_GIT_PASSWORD", password.as_str()),
    ];
    let good = "registry.local/myapp=registry.local/myapp:2.0.0";
    let set = |path: &str, image: &str| {
        vec![
            "image".to_string(),
            "set".into(),
            "--repo".into(),
            url.clone(),
            "--path".into(),
            path.into(),
            image.into(),
        ]
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            set(
                "overlays/staging",
                "registry.local/myapp=registry.local/MyApp:2",
            ),
            "invalid image reference \"registry.local/MyApp:2\": repository path component \"MyApp\" must be lowercase",
        ),
        (
            set(
                "overlays/staging",
                "registry.local/myapp=registry.local/myapp",
            ),
            "needs a tag or a digest",
        ),
        (
            set("overlays/staging", "registry.local/myapp"),
            "expected NAME=NEWREF",
        ),
        (
            set("overlays/nope", good),
            "path \"overlays/nope\" does not exist in the repository",
        ),
        (
            set("overlays/broken", good),
            "kustomization overlays/broken/kustomization.yaml does not parse: line 5",
        ),
        (
            set(
                "base/deployment.yaml",
                "registry.local/other=registry.local/other:1",
            ),
            "registry.local/other is not used under \"base/deployment.yaml\"",
        ),
        (
            vec![
                "promote".into(),
                "--repo".into(),
                url.clone(),
                "--from".into(),
                "overlays/nope".into(),
                "--to".into(),
                "overlays/production".into(),
            ],
            "path \"overlays/nope\" does not exist",
        ),
        (
            vec![
                "promote".into(),
                "--repo".into(),
                url.clone(),
                "--from".into(),
                "overlays/staging".into(),
                "--to".into(),
                "overlays/broken".into(),
            ],
            "kustomization overlays/broken/kustomization.yaml does not parse",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = moor(&args, &env);
        assert_eq!(r.code, 2, "{args:?}:\n{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(want),
            "{args:?}: want {want:?} in:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains(&password), "{}", r.stderr);
        assert_eq!(repo.head(), head, "{args:?} committed");
    }

    // A wrong password: an authentication error that does not show it.
    let r = moor(
        &set("overlays/staging", good)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &[
            ("MOOR_GIT_USERNAME", user.as_str()),
            ("MOOR_GIT_PASSWORD", "not-the-password-42"),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("failed to clone"), "{}", r.stderr);
    assert!(!r.stderr.contains("not-the-password-42"), "{}", r.stderr);
    assert_eq!(repo.head(), head);
    assert_eq!(commits(&repo), 1);
}

#[test]
fn dry_run_over_ssh_prints_a_diff_and_pushes_nothing() {
    let (_seed, server, repo) = served_seed("dry");
    let head = repo.head();
    let url = server.ssh_url("dry");
    let env = [
        ("MOOR_GIT_SSH_KEY", server.ssh_key_path().to_str().unwrap()),
        (
            "MOOR_GIT_KNOWN_HOSTS",
            server.known_hosts_path().to_str().unwrap(),
        ),
    ];
    let r = moor_ok(
        &[
            "image",
            "set",
            "--repo",
            &url,
            "--path",
            "overlays/staging",
            "--dry-run",
            "registry.local/myapp=registry.local/myapp:3f2c1ab",
        ],
        &env,
    );
    assert!(
        r.stdout.starts_with(
            "--- a/overlays/staging/kustomization.yaml\n+++ b/overlays/staging/kustomization.yaml\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "   - name: registry.local/myapp\n-    newTag: 1.0.1 # the staging tag\n+    newTag: 3f2c1ab # the staging tag\n replicas:\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("dry run: nothing committed or pushed"),
        "{}",
        r.stdout
    );
    assert_eq!(repo.head(), head);
    assert_eq!(commits(&repo), 1);
}
