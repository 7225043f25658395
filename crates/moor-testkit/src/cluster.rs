//! Access to the local control plane that `scripts/test` starts (`scripts/cluster up --name test`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, Config};

/// How to run end-to-end tests, said by every refusal.
const HOW: &str = "run them through scripts/test, or start the cluster with `scripts/cluster up --name test` \
                   and `eval \"$(scripts/cluster env --name test)\"; export MOOR_TEST_CLUSTER=test`";

/// Why the tests refuse a kubeconfig: end-to-end tests write to the cluster they are given, so
/// they only take one that scripts/cluster started from this repository (never a developer's
/// real cluster that KUBECONFIG happens to point at).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// `MOOR_TEST_CLUSTER` does not name the cluster the tests may use.
    #[error(
        "MOOR_TEST_CLUSTER is not set: end-to-end tests only use a cluster that scripts/cluster started; {HOW}"
    )]
    NoClusterName,
    /// The cluster name is not one scripts/cluster accepts (it could leave the state directory).
    #[error(
        "MOOR_TEST_CLUSTER={0:?} is not a scripts/cluster name (lowercase letters, digits and '-')"
    )]
    BadClusterName(String),
    /// `KUBECONFIG` (or the variable named) is not set.
    #[error("{0} is not set: end-to-end tests need the local control plane; {HOW}")]
    NoKubeconfig(&'static str),
    /// The kubeconfig is not the one scripts/cluster wrote for that cluster.
    #[error(
        "refusing to run end-to-end tests against {got}: it is not the kubeconfig scripts/cluster wrote for cluster {cluster:?} ({want}); the tests write to the cluster they are given; {HOW}"
    )]
    Elsewhere {
        /// The kubeconfig given.
        got: PathBuf,
        /// The cluster named by the environment.
        cluster: String,
        /// The kubeconfig that cluster's state directory holds.
        want: PathBuf,
    },
    /// The cluster's kube-apiserver is not running (no live pid in its state directory).
    #[error("cluster {cluster:?} is not running: {pid_file} names no live kube-apiserver; {HOW}")]
    NotRunning {
        /// The cluster named by the environment.
        cluster: String,
        /// Where scripts/cluster records the API server's pid.
        pid_file: PathBuf,
    },
}

/// The repository whose `.moor-state` holds the clusters scripts/cluster started.
fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The state directory scripts/cluster keeps for cluster `name` under `repo`.
pub fn cluster_state_dir(repo: &Path, name: &str) -> PathBuf {
    repo.join(".moor-state/clusters").join(name)
}

/// The decision of [`kubeconfig_path`], over plain values: `kubeconfig` (the variable's value)
/// must be, once canonicalised, `<repo>/.moor-state/clusters/<cluster>/kubeconfig`, and that
/// cluster's kube-apiserver pid file must name a live process (`apiserver_alive` judges it).
pub fn check_test_kubeconfig(
    repo: &Path,
    cluster: Option<&str>,
    kubeconfig: Option<&Path>,
    apiserver_alive: impl Fn(&Path) -> bool,
) -> Result<PathBuf, Refused> {
    let cluster = cluster
        .filter(|c| !c.is_empty())
        .ok_or(Refused::NoClusterName)?;
    let valid = cluster
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(Refused::BadClusterName(cluster.to_string()));
    }
    let got = kubeconfig
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or(Refused::NoKubeconfig("KUBECONFIG"))?;
    let state = cluster_state_dir(repo, cluster);
    let want = state.join("kubeconfig");
    let canonical = |p: &Path| p.canonicalize().ok();
    match (canonical(got), canonical(&want)) {
        (Some(g), Some(w)) if g == w => {}
        _ => {
            return Err(Refused::Elsewhere {
                got: got.to_path_buf(),
                cluster: cluster.to_string(),
                want,
            });
        }
    }
    let pid_file = state.join("pids/kube-apiserver");
    if !apiserver_alive(&pid_file) {
        return Err(Refused::NotRunning {
            cluster: cluster.to_string(),
            pid_file,
        });
    }
    Ok(want)
}

/// Whether `pid_file` names a running kube-apiserver (as scripts/cluster's `alive` judges: the
/// pid runs and is still that binary, since pids get reused).
pub fn apiserver_alive(pid_file: &Path) -> bool {
    let Ok(pid) = std::fs::read_to_string(pid_file) else {
        return false;
    };
    let Ok(pid) = pid.trim().parse::<u32>() else {
        return false;
    };
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("kube-apiserver"))
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The kubeconfig of the test cluster, checked: `MOOR_TEST_CLUSTER` names a cluster that
/// scripts/cluster started from this repository and is running, and `KUBECONFIG` is its
/// kubeconfig. Panics saying why otherwise, so no test ever writes to another cluster. Every
/// end-to-end helper calls it before it reaches the cluster.
pub fn kubeconfig_path() -> PathBuf {
    let cluster = std::env::var("MOOR_TEST_CLUSTER").ok();
    check_test_kubeconfig(
        &repo_root(),
        cluster.as_deref(),
        env_path("KUBECONFIG").as_deref(),
        apiserver_alive,
    )
    .unwrap_or_else(|refused| panic!("{refused}"))
}

/// Applies the manifests at `paths` (files or directories) to the test cluster server-side with
/// kubectl, then waits until each of `crds` (`crd/NAME`) is Established: how the tests of several
/// crates install the CRDs they need, idempotently. KUBECONFIG is checked first, since kubectl
/// takes it from the environment.
pub fn apply_crds(paths: &[PathBuf], crds: &[&str]) {
    kubeconfig_path();
    let mut apply = std::process::Command::new("kubectl");
    apply.args(["apply", "--server-side", "--force-conflicts"]);
    for p in paths {
        apply.arg("-f").arg(p);
    }
    let out = apply.output().expect("kubectl runs");
    assert!(
        out.status.success(),
        "applying {paths:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new("kubectl")
        .args(["wait", "--for=condition=Established", "--timeout=60s"])
        .args(crds)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "{crds:?} not established: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The kubeconfig of the second test cluster (multi-cluster tests), from
/// `MOOR_TEST_SECOND_KUBECONFIG`, checked like [`kubeconfig_path`]: it must be the kubeconfig of a
/// running cluster scripts/cluster started from this repository, other than the first.
pub fn second_kubeconfig_path() -> PathBuf {
    let first = kubeconfig_path();
    let got = env_path("MOOR_TEST_SECOND_KUBECONFIG")
        .unwrap_or_else(|| panic!("{}", Refused::NoKubeconfig("MOOR_TEST_SECOND_KUBECONFIG")));
    // The cluster is named by the directory the kubeconfig is in.
    let name: Option<OsString> = got
        .canonicalize()
        .ok()
        .and_then(|p| p.parent()?.file_name().map(|n| n.to_os_string()));
    let Some(name) = name.and_then(|n| n.into_string().ok()) else {
        panic!(
            "MOOR_TEST_SECOND_KUBECONFIG={}: no such kubeconfig; {HOW}",
            got.display()
        )
    };
    let path = check_test_kubeconfig(&repo_root(), Some(&name), Some(&got), apiserver_alive)
        .unwrap_or_else(|refused| panic!("MOOR_TEST_SECOND_KUBECONFIG: {refused}"));
    assert_ne!(
        path, first,
        "MOOR_TEST_SECOND_KUBECONFIG is the first test cluster's kubeconfig"
    );
    path
}

/// A kube client for the test cluster.
pub async fn client() -> Client {
    let config = kube_config(&kubeconfig_path()).await;
    Client::try_from(config).expect("failed to build a kube client")
}

/// The client configuration of a kubeconfig file, its current context; panics naming the file.
/// Give it a checked path ([`kubeconfig_path`], [`second_kubeconfig_path`]).
pub async fn kube_config(path: &Path) -> Config {
    let kc = kube::config::Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("failed to read kubeconfig {}: {e}", path.display()));
    Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("failed to load kubeconfig {}: {e}", path.display()))
}

/// A name no other test (or earlier run) uses: `prefix-<pid><counter><time>` within 63 chars.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        % 100_000;
    let mut s = format!("{prefix}-{:x}{n:x}{t:x}", std::process::id());
    s.truncate(63);
    s
}

/// A namespace made for one test, deleted (without waiting) when dropped.
pub struct TestNamespace {
    /// Unique per test run, so tests never see each other's objects.
    pub name: String,
}

impl TestNamespace {
    /// Creates a namespace named `prefix-<unique>`, labelled `moor.dev/test` (a test made it).
    pub async fn create(client: &Client, prefix: &str) -> TestNamespace {
        let name = unique_name(prefix);
        let api: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"moor.dev/test": "true"}}
        }))
        .expect("namespace object");
        api.create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("failed to create namespace {name}: {e}"));
        TestNamespace { name }
    }

    /// Deletes it now (without waiting), for tests that check what remains after.
    pub async fn delete(self, client: &Client) {
        let api: Api<Namespace> = Api::all(client.clone());
        let _ = api.delete(&self.name, &DeleteParams::background()).await;
        std::mem::forget(self);
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Best effort without an async runtime: kubectl is on PATH under scripts/test.
        let _ = std::process::Command::new("kubectl")
            .args([
                "delete",
                "namespace",
                &self.name,
                "--wait=false",
                "--ignore-not-found",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Polls `check` every 200 ms until it returns Some, or panics after `timeout` saying `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with a state directory for cluster `name` (kubeconfig and pid file).
    fn repo_with_cluster(name: &str) -> tempfile::TempDir {
        let repo = tempfile::tempdir().unwrap();
        let state = cluster_state_dir(repo.path(), name);
        std::fs::create_dir_all(state.join("pids")).unwrap();
        std::fs::write(state.join("kubeconfig"), "apiVersion: v1\nkind: Config\n").unwrap();
        std::fs::write(state.join("pids/kube-apiserver"), "1\n").unwrap();
        repo
    }

    #[test]
    fn only_the_kubeconfig_of_a_running_cluster_of_this_repository_is_taken() {
        let repo = repo_with_cluster("test");
        let kc = cluster_state_dir(repo.path(), "test").join("kubeconfig");
        let alive = |_: &Path| true;
        let ok = check_test_kubeconfig(repo.path(), Some("test"), Some(&kc), alive);
        assert_eq!(ok, Ok(kc.clone()));
        // The same file through another spelling of its path is the same kubeconfig.
        let dotted = repo
            .path()
            .join(".moor-state/clusters/test/../test/kubeconfig");
        assert_eq!(
            check_test_kubeconfig(repo.path(), Some("test"), Some(&dotted), alive),
            Ok(kc.clone())
        );

        assert_eq!(
            check_test_kubeconfig(repo.path(), None, Some(&kc), alive),
            Err(Refused::NoClusterName)
        );
        assert_eq!(
            check_test_kubeconfig(repo.path(), Some(""), Some(&kc), alive),
            Err(Refused::NoClusterName)
        );
        assert_eq!(
            check_test_kubeconfig(repo.path(), Some("../test"), Some(&kc), alive),
            Err(Refused::BadClusterName("../test".into()))
        );
        assert_eq!(
            check_test_kubeconfig(repo.path(), Some("test"), None, alive),
            Err(Refused::NoKubeconfig("KUBECONFIG"))
        );
        // Named cluster other than the one whose kubeconfig is given.
        let other = check_test_kubeconfig(repo.path(), Some("second"), Some(&kc), alive);
        assert!(matches!(other, Err(Refused::Elsewhere { .. })), "{other:?}");
        // Stopped: the pid file names no live API server.
        let stopped = check_test_kubeconfig(repo.path(), Some("test"), Some(&kc), |_| false);
        assert_eq!(
            stopped,
            Err(Refused::NotRunning {
                cluster: "test".into(),
                pid_file: cluster_state_dir(repo.path(), "test").join("pids/kube-apiserver"),
            })
        );
    }

    #[test]
    fn a_kubeconfig_elsewhere_is_refused_even_with_the_same_content() {
        let repo = repo_with_cluster("test");
        let real = cluster_state_dir(repo.path(), "test").join("kubeconfig");
        // A developer's ~/.kube/config that happens to hold the very same text.
        let home = tempfile::tempdir().unwrap();
        let elsewhere = home.path().join("config");
        std::fs::copy(&real, &elsewhere).unwrap();
        let refused = check_test_kubeconfig(repo.path(), Some("test"), Some(&elsewhere), |_| true)
            .expect_err("a kubeconfig outside the cluster's state directory");
        assert_eq!(
            refused,
            Refused::Elsewhere {
                got: elsewhere.clone(),
                cluster: "test".into(),
                want: real
            }
        );
        let text = refused.to_string();
        assert!(
            text.contains(&elsewhere.display().to_string()) && text.contains("scripts/test"),
            "{text}"
        );
        // And a kubeconfig that does not exist at all.
        let missing = home.path().join("missing");
        let refused = check_test_kubeconfig(repo.path(), Some("test"), Some(&missing), |_| true);
        assert!(
            matches!(refused, Err(Refused::Elsewhere { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn a_pid_file_counts_only_when_it_names_a_running_kube_apiserver() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("kube-apiserver");
        assert!(!apiserver_alive(&pid_file), "no pid file");
        std::fs::write(&pid_file, "not a pid").unwrap();
        assert!(!apiserver_alive(&pid_file));
        // This test process runs, but it is not a kube-apiserver (a reused pid).
        std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
        assert!(!apiserver_alive(&pid_file));
    }
}
