//! Access to the local control plane that `scripts/test` starts (`scripts/cluster up --name test`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, Config};

/// The kubeconfig of the test cluster. Panics with the way out when tests run outside scripts/test.
pub fn kubeconfig_path() -> PathBuf {
    match std::env::var_os("KUBECONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "KUBECONFIG is not set: end-to-end tests need the local control plane; run them through scripts/test \
             (or `scripts/cluster up --name test` and `eval \"$(scripts/cluster env --name test)\"`)"
        ),
    }
}

/// A kube client for the test cluster.
pub async fn client() -> Client {
    let path = kubeconfig_path();
    let kc = kube::config::Kubeconfig::read_from(&path)
        .unwrap_or_else(|e| panic!("failed to read kubeconfig {}: {e}", path.display()));
    let config = Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("failed to load kubeconfig {}: {e}", path.display()));
    Client::try_from(config).expect("failed to build a kube client")
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
    pub name: String,
}

impl TestNamespace {
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
