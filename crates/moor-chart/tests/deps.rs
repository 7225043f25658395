//! Chart dependencies with the real helm binary: `file://` charts of the same checkout, charts
//! in an OCI registry (distribution's registry, basic auth, pushed by `helm push`), lock files
//! written by `helm dependency update`, and the errors that name a missing dependency.
//! Needs helm on PATH (`source scripts/lib/tools.sh; ensure_tools`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use moor_chart::{ChartDependency, Charts, DependencyError, RepoAuth, dependencies};
use moor_render::{HelmDependency, HelmOptions, RenderOptions};
use moor_testkit::helm_repo::HelmRepo;
use moor_testkit::registry::{Auth, Registry, package_chart};

fn charts(dir: &Path) -> Charts {
    Charts::new(dir.join("cache"), Duration::from_secs(300))
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A chart `name` at `version` in `root/dir` rendering one ConfigMap `<release>-<name>`, with
/// `deps` (YAML list items) as its dependencies.
fn chart(root: &Path, dir: &str, name: &str, version: &str, deps: &str) {
    let deps = match deps {
        "" => String::new(),
        d => format!("dependencies:\n{d}"),
    };
    write(
        root,
        &format!("{dir}/Chart.yaml"),
        &format!("apiVersion: v2\nname: {name}\nversion: {version}\n{deps}"),
    );
    write(
        root,
        &format!("{dir}/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n\
         data:\n  version: {{ .Chart.Version | quote }}\n",
    );
}

/// A checkout with `charts/web` depending on `deps`, and `charts/lib` 0.1.0.
fn checkout(deps: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    chart(&root, "charts/web", "web", "1.0.0", deps);
    chart(&root, "charts/lib", "lib", "0.1.0", "");
    let root = root.canonicalize().unwrap();
    (tmp, root)
}

const LIB: &str = "- name: lib\n  version: ^0.1.0\n  repository: file://../lib\n";

async fn deps_of(
    tmp: &Path,
    root: &Path,
    auth_for: &(dyn Fn(&str) -> RepoAuth + Send + Sync),
) -> Result<Vec<ChartDependency>, DependencyError> {
    let max_age = Duration::from_secs(60);
    dependencies(
        &charts(tmp),
        &root.join("charts/web"),
        root,
        max_age,
        auth_for,
    )
    .await
}

fn no_auth(_: &str) -> RepoAuth {
    RepoAuth::default()
}

/// `helm template` of `charts/web` with `deps`: `name=version` of every ConfigMap.
fn render(root: &Path, deps: &[ChartDependency]) -> Vec<String> {
    let opts = RenderOptions {
        root: Some(root.to_path_buf()),
        helm: HelmOptions {
            release_name: Some("r".into()),
            dependencies: (deps.iter())
                .map(|d| HelmDependency {
                    name: d.name.clone(),
                    version: d.version.clone(),
                    digest: d.digest.clone(),
                    path: d.path.clone(),
                })
                .collect(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut out: Vec<String> = moor_render::render(&root.join("charts/web"), &opts)
        .unwrap()
        .iter()
        .map(|m| {
            let name = m.obj["metadata"]["name"].as_str().unwrap();
            format!("{name}={}", m.obj["data"]["version"].as_str().unwrap())
        })
        .collect();
    out.sort();
    out
}

/// `helm dependency update` of a copy of `charts/web`: the Chart.lock Helm writes for it.
fn helm_lock(root: &Path) -> String {
    helm_lock_with(root, None)
}

/// [`helm_lock`], with the Helm repository `(url, user, password)` added first (as
/// `helm repo add` does before `helm dependency update` can read it).
fn helm_lock_with(root: &Path, repo: Option<(&str, &str, &str)>) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("repo");
    let status = Command::new("cp")
        .arg("-r")
        .arg(root)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let helm = |args: &[&str]| {
        let out = Command::new("helm")
            .args(args)
            .env("HELM_CACHE_HOME", scratch.path().join("cache"))
            .env("HELM_CONFIG_HOME", scratch.path().join("config"))
            .env("HELM_DATA_HOME", scratch.path().join("data"))
            .output()
            .expect("helm on PATH");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    if let Some((url, user, password)) = repo {
        helm(&[
            "repo",
            "add",
            "deps",
            url,
            "--username",
            user,
            "--password",
            password,
        ]);
    }
    helm(&[
        "dependency",
        "update",
        copy.join("charts/web").to_str().unwrap(),
    ]);
    // requirements.lock for an `apiVersion: v1` chart.
    let lock = ["Chart.lock", "requirements.lock"]
        .map(|f| copy.join("charts/web").join(f))
        .into_iter()
        .find(|p| p.is_file())
        .expect("helm wrote a lock file");
    std::fs::read_to_string(lock).unwrap()
}

#[tokio::test]
async fn a_file_dependency_renders_with_the_chart_and_the_checkout_is_untouched() {
    let (tmp, root) = checkout(LIB);
    let deps = deps_of(tmp.path(), &root, &no_auth).await.unwrap();
    assert_eq!(deps.len(), 1);
    let d = &deps[0];
    assert_eq!((d.name.as_str(), d.version.as_str()), ("lib", "0.1.0"));
    assert_eq!(d.repository, "file://../lib");
    assert_eq!(d.path, root.join("charts/lib"));
    assert_eq!(d.digest.len(), 64);
    assert_eq!(render(&root, &deps), ["r-lib=0.1.0", "r-web=1.0.0"]);
    assert!(
        !root.join("charts/web/charts").exists(),
        "nothing written in the checkout"
    );

    // The digest follows the dependency's content (the render cache key holds it).
    write(&root, "charts/lib/templates/extra.yaml", "# nothing\n");
    let again = deps_of(tmp.path(), &root, &no_auth).await.unwrap();
    assert_ne!(again[0].digest, d.digest);

    // Without helm's help: without the dependency in charts/, helm refuses to render.
    let msg = moor_render::render(
        &root.join("charts/web"),
        &RenderOptions {
            root: Some(root.clone()),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("missing in charts/ directory: lib"), "{msg}");
    assert!(
        msg.contains(&root.join("charts/web").display().to_string()),
        "{msg}"
    );
}

#[tokio::test]
async fn a_vendored_dependency_is_used_as_is() {
    let (tmp, root) = checkout(LIB);
    // Vendored at another version than file://../lib holds: helm uses what charts/ has.
    chart(&root, "charts/web/charts/lib", "lib", "0.0.9", "");
    let deps = deps_of(tmp.path(), &root, &no_auth).await.unwrap();
    assert_eq!(deps, []);
    assert_eq!(render(&root, &deps), ["r-lib=0.0.9", "r-web=1.0.0"]);
}

#[tokio::test]
async fn the_lock_file_pins_versions_and_a_stale_one_is_refused() {
    let (tmp, root) = checkout(LIB);
    let lock = helm_lock(&root);
    assert!(lock.contains("version: 0.1.0"), "{lock}");
    write(&root, "charts/web/Chart.lock", &lock);
    let deps = deps_of(tmp.path(), &root, &no_auth).await.unwrap();
    assert_eq!(
        deps[0].version, "0.1.0",
        "Helm's digest of Chart.yaml and lock matches"
    );

    // The local chart moved on within the constraint: the lock still pins 0.1.0.
    chart(&root, "charts/lib", "lib", "0.1.1", "");
    let err = deps_of(tmp.path(), &root, &no_auth).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "charts/web/Chart.yaml:5: dependency \"lib\" (repository \"file://../lib\") is missing: \
         file://../lib holds version \"0.1.1\", which \"0.1.0\" does not admit"
    );

    // Chart.yaml changed without `helm dependency update`.
    chart(
        &root,
        "charts/web",
        "web",
        "1.0.0",
        &LIB.replace("^0.1.0", "^0.1.1"),
    );
    write(&root, "charts/web/Chart.lock", &lock);
    let err = deps_of(tmp.path(), &root, &no_auth).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "charts/web/Chart.lock is out of sync with the dependencies in charts/web/Chart.yaml: \
         run `helm dependency update` and commit the new lock file"
    );
    // Without a lock the constraint is resolved, as `helm dependency update` does.
    std::fs::remove_file(root.join("charts/web/Chart.lock")).unwrap();
    let deps = deps_of(tmp.path(), &root, &no_auth).await.unwrap();
    assert_eq!(deps[0].version, "0.1.1");
}

#[tokio::test]
async fn an_api_v1_chart_reads_requirements_yaml_and_its_lock() {
    let (tmp, root) = checkout("");
    write(
        &root,
        "charts/web/Chart.yaml",
        "apiVersion: v1\nname: web\nversion: 1.0.0\n",
    );
    write(
        &root,
        "charts/web/requirements.yaml",
        &format!("dependencies:\n{LIB}"),
    );
    let lock = helm_lock(&root);
    write(&root, "charts/web/requirements.lock", &lock);
    let deps = deps_of(tmp.path(), &root, &no_auth).await.unwrap();
    assert_eq!(deps[0].version, "0.1.0");
    assert_eq!(render(&root, &deps), ["r-lib=0.1.0", "r-web=1.0.0"]);
    chart(&root, "charts/lib", "lib", "0.1.1", "");
    let err = deps_of(tmp.path(), &root, &no_auth).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "charts/web/requirements.yaml:2: dependency \"lib\" (repository \"file://../lib\") is \
         missing: file://../lib holds version \"0.1.1\", which \"0.1.0\" does not admit"
    );
}

#[tokio::test]
async fn missing_and_escaping_dependencies_are_named() {
    let cases = [
        (
            "- name: nope\n  version: '*'\n  repository: file://../nope\n",
            "charts/web/Chart.yaml:5: dependency \"nope\" (repository \"file://../nope\") is \
             missing: file://../nope is not a directory of the repository",
        ),
        (
            "- name: lib\n  repository: file://../../../../etc\n",
            "charts/web/Chart.yaml:5: dependency \"lib\" (repository \"file://../../../../etc\") \
             is missing: file://../../../../etc leaves the repository",
        ),
        (
            "- name: lib\n  repository: file:///etc\n",
            "charts/web/Chart.yaml:5: dependency \"lib\" (repository \"file:///etc\") is \
             missing: file:///etc leaves the repository",
        ),
        (
            "- name: other\n  repository: file://../lib\n",
            "charts/web/Chart.yaml:5: dependency \"other\" (repository \"file://../lib\") is \
             missing: file://../lib holds the chart \"lib\", not \"other\"",
        ),
        (
            "- name: lib\n  version: '>=1'\n  repository: file://../lib\n",
            "charts/web/Chart.yaml:5: dependency \"lib\" (repository \"file://../lib\") is \
             missing: file://../lib holds version \"0.1.0\", which \">=1\" does not admit",
        ),
        (
            "- name: db\n  version: 1.0.0\n",
            "charts/web/Chart.yaml:5: dependency \"db\" (repository \"\") is missing: it names \
             no repository and is not in the chart's charts/ directory",
        ),
        (
            "- name: db\n  repository: '@stable'\n",
            "charts/web/Chart.yaml:5: dependency \"db\" (repository \"@stable\") is missing: \
             repository names from a local Helm configuration (@name, alias:name) are not \
             supported: write the repository's URL",
        ),
    ];
    for (deps, expected) in cases {
        let (tmp, root) = checkout(&format!("{LIB}{deps}"));
        let err = deps_of(tmp.path(), &root, &no_auth).await.unwrap_err();
        // The second dependency: its own line, not the first one's.
        assert_eq!(err.to_string(), expected.replace(":5:", ":8:"));
    }
    // Every dependency is a fetch per reconcile: their number is bounded.
    let many: String = (0..101)
        .map(|i| format!("- name: d{i}\n  repository: file://../d{i}\n"))
        .collect();
    let (tmp, root) = checkout(&many);
    let err = deps_of(tmp.path(), &root, &no_auth).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "charts/web/Chart.yaml: 101 dependencies, more than the limit of 100"
    );
    // A link in a file:// chart leading out of the checkout is refused, not followed.
    let (tmp, root) = checkout(LIB);
    write(tmp.path(), "secret.yaml", "password: x\n");
    std::os::unix::fs::symlink(
        tmp.path().join("secret.yaml"),
        root.join("charts/lib/values.yaml"),
    )
    .unwrap();
    let err = deps_of(tmp.path(), &root, &no_auth).await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("file://../lib: symbolic link values.yaml leads out of the repository"),
        "{err}"
    );
}

#[tokio::test]
async fn an_oci_dependency_is_pulled_with_the_credentials_of_its_registry() {
    let reg = Registry::start_with(Auth::Basic {
        user: "pusher".into(),
        password: "s3cret-pw".into(),
    });
    let tmp = tempfile::tempdir().unwrap();
    for v in ["1.0.0", "1.0.3", "1.1.0"] {
        reg.helm_push(&package_chart(tmp.path(), "db", v), "charts");
    }
    let url = format!("oci://{}/charts", reg.host());
    let (work, root) = checkout(&format!(
        "- name: db\n  version: ~1.0.0\n  repository: {url}\n{LIB}"
    ));
    let auth = {
        let url = url.clone();
        move |u: &str| match u == url {
            true => RepoAuth {
                username: Some("pusher".into()),
                password: Some("s3cret-pw".into()),
                ..Default::default()
            },
            false => RepoAuth::default(),
        }
    };
    let deps = deps_of(work.path(), &root, &auth).await.unwrap();
    let got: Vec<_> = deps
        .iter()
        .map(|d| (d.name.as_str(), d.version.as_str()))
        .collect();
    assert_eq!(got, [("db", "1.0.3"), ("lib", "0.1.0")]);
    assert!(deps[0].path.join("Chart.yaml").is_file());
    assert_eq!(
        render(&root, &deps),
        ["r-db=1.0.3", "r-lib=0.1.0", "r-web=1.0.0"]
    );

    // Without the registry's credentials: an error naming the dependency and the registry,
    // never a password.
    let err = deps_of(tmp.path(), &root, &no_auth).await.unwrap_err();
    let msg = moor_types::error_chain(&err);
    assert!(
        msg.starts_with("charts/web/Chart.yaml:5: dependency \"db\": chart \"db\""),
        "{msg}"
    );
    assert!(msg.contains(&reg.host()), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");

    // A version the registry does not have.
    let (work, root) = checkout(&format!("- name: db\n  version: ^2\n  repository: {url}\n"));
    let err = deps_of(work.path(), &root, &auth).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "charts/web/Chart.yaml:5: dependency \"db\": chart \"db\" version \"^2\" from {url}: \
             no version matches (newest available: 1.1.0, 1.0.3, 1.0.0)"
        )
    );
}

#[tokio::test]
async fn a_helm_repository_dependency_follows_its_lock_with_the_repositorys_credentials() {
    let (user, password) = ("reader", "repo-Pa55-word");
    let repo = HelmRepo::with_basic_auth(user, password);
    repo.publish("db", "1.0.0");
    let url = repo.url().to_string();
    let (work, root) = checkout(&format!(
        "- name: db\n  version: ^1.0.0\n  repository: {url}\n"
    ));
    let lock = helm_lock_with(&root, Some((&url, user, password)));
    assert!(lock.contains("version: 1.0.0"), "{lock}");
    repo.publish("db", "1.1.0");
    let auth_url = url.clone();
    let auth = move |u: &str| match u == auth_url {
        true => RepoAuth {
            username: Some(user.into()),
            password: Some(password.into()),
            ..Default::default()
        },
        false => RepoAuth::default(),
    };

    // Without a lock: the newest version the constraint admits.
    let deps = deps_of(work.path(), &root, &auth).await.unwrap();
    assert_eq!(deps[0].version, "1.1.0");
    assert_eq!(deps[0].repository, url);
    assert_eq!(render(&root, &deps), ["r-db=1.1.0", "r-web=1.0.0"]);

    // With helm's lock: what it pinned, though a newer version matches.
    write(&root, "charts/web/Chart.lock", &lock);
    let deps = deps_of(work.path(), &root, &auth).await.unwrap();
    assert_eq!(deps[0].version, "1.0.0");
    assert_eq!(render(&root, &deps), ["r-db=1.0.0", "r-web=1.0.0"]);
    assert!(
        !repo.authorized_requests().is_empty(),
        "credentials were sent"
    );

    // Without the credentials: the dependency, the repository and the refusal, no password.
    let err = deps_of(work.path(), &root, &no_auth).await.unwrap_err();
    let msg = moor_types::error_chain(&err);
    // (The repository's own words after the prefix are moor_chart's HTTP errors' business.)
    let prefix = format!(
        "charts/web/Chart.yaml:5: dependency \"db\": chart \"db\" version \"1.0.0\" from {url}: "
    );
    assert!(msg.starts_with(&prefix), "{msg}");
    assert!(
        msg.contains("401") && msg.contains("refused the credentials"),
        "{msg}"
    );
    assert!(!msg.contains(password), "{msg}");

    // A chart the repository does not have.
    let (work, root) = checkout(&format!(
        "- name: cache\n  version: ^1\n  repository: {url}\n"
    ));
    let err = deps_of(work.path(), &root, &auth).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "charts/web/Chart.yaml:5: dependency \"cache\": chart \"cache\" version \"^1\" from \
             {url}: the repository's index.yaml has no chart of that name"
        )
    );
}
