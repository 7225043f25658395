//! What a sync asks the API server, counted by a logging layer on the engine's client: a new
//! object is dry-run created without being read first, an object that exists after all (not
//! in the inventory) is still read for the ownership check, and the state after a sync is told
//! from what it wrote (`Comparison::after`) without another request.

mod common;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use common::{configmap, engine, manifests, opts};
use http::{Request, Response};
use kube::Client;
use kube::client::ClientBuilder;
use moor_apply::{Engine, SyncError};
use moor_testkit::{TestNamespace, unique_name};
use moor_types::{Change, HealthStatus};

/// Every request's method and path (with query), in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl<S> tower::Layer<S> for Log {
    type Service = Logged<S>;
    fn layer(&self, inner: S) -> Logged<S> {
        Logged {
            inner,
            log: self.clone(),
        }
    }
}

#[derive(Clone)]
struct Logged<S> {
    inner: S,
    log: Log,
}

impl<S, B, R> tower::Service<Request<B>> for Logged<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let line = format!("{} {}", req.method(), req.uri());
        self.log.0.lock().unwrap().push(line);
        Box::pin(self.inner.call(req))
    }
}

async fn logged_engine() -> (Engine, Log) {
    let config = moor_testkit::kube_config(&moor_testkit::kubeconfig_path()).await;
    let log = Log::default();
    let client: Client = ClientBuilder::try_from(config)
        .expect("a kube client")
        .with_layer(&log)
        .build();
    (Engine::new(client), log)
}

/// The requests of `log` about ConfigMap `name` in `ns` (not the inventory's).
fn about(log: &[String], ns: &str, name: &str) -> Vec<String> {
    let one = format!("/namespaces/{ns}/configmaps/{name}");
    let create = format!("/namespaces/{ns}/configmaps?");
    (log.iter())
        .filter(|l| l.contains(&one) || l.contains(&create))
        .map(|l| {
            l.split('?').next().unwrap_or(l).to_string()
                + if l.contains("dryRun") {
                    " (dry run)"
                } else {
                    ""
                }
        })
        .collect()
}

#[tokio::test]
async fn a_new_object_is_dry_run_created_unread_and_the_state_after_needs_no_read() {
    let (client, _) = engine().await;
    let ns = TestNamespace::create(&client, "requests-new").await;
    let app = unique_name("requests-new");
    let (engine, log) = logged_engine().await;
    let yaml = configmap("settings", "1", "");
    let mut o = opts(&app, &ns.name);
    o.read_back = true;
    // Warm the engine's discovery, so the log holds only what the sync itself asks.
    engine.compare(manifests(&yaml), &o).await.unwrap();
    log.take();

    let compared = engine.compare(manifests(&yaml), &o).await.unwrap();
    let set = engine.sync_compared(&compared, &o, &|_| {}).await.unwrap();
    assert_eq!(set.objects[0].change, Change::Created);
    let sent = log.take();
    let path = format!("/api/v1/namespaces/{}/configmaps", ns.name);
    assert_eq!(
        about(&sent, &ns.name, "settings"),
        [
            format!("POST {path} (dry run)"),
            format!("PATCH {path}/settings")
        ],
        "no GET of an object the app never had: {sent:#?}"
    );
    let after = compared
        .after(&set, &o.health_rules)
        .expect("told from what the sync wrote");
    assert!(after.in_sync());
    assert_eq!(after.health(), HealthStatus::Healthy);
    assert!(log.take().is_empty(), "Comparison::after asks nothing");

    // Now in the inventory: the next comparison reads it (and finds it unchanged).
    let again = engine.compare(manifests(&yaml), &o).await.unwrap();
    assert!(again.in_sync());
    let sent = log.take();
    assert_eq!(
        about(&sent, &ns.name, "settings"),
        [format!("GET {path}/settings")],
        "{sent:#?}"
    );
    ns.delete(&client).await;
}

#[tokio::test]
async fn an_object_not_in_the_inventory_that_exists_is_read_and_owned_as_before() {
    let (client, admin) = engine().await;
    let ns = TestNamespace::create(&client, "requests-exists").await;
    let (app, other) = (
        unique_name("requests-exists"),
        unique_name("requests-other"),
    );
    let (engine, log) = logged_engine().await;
    // Another app's object: the dry-run create finds it (409), the read tells whose it is,
    // and the sync refuses before any write.
    let theirs = configmap("theirs", "1", "");
    admin
        .sync(manifests(&theirs), &opts(&other, &ns.name), &|_| {})
        .await
        .unwrap();
    log.take();
    let err = engine
        .sync(
            manifests(&configmap("theirs", "2", "")),
            &opts(&app, &ns.name),
            &|_| {},
        )
        .await
        .expect_err("another app's object is never taken over");
    assert!(matches!(err, SyncError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("theirs"), "{err}");
    let sent = log.take();
    assert!(
        !sent
            .iter()
            .any(|l| l.starts_with("PATCH") && !l.contains("dryRun")),
        "nothing written: {sent:#?}"
    );
    let path = format!("/api/v1/namespaces/{}/configmaps", ns.name);
    assert_eq!(
        about(&sent, &ns.name, "theirs"),
        [
            format!("POST {path} (dry run)"),
            format!("GET {path}/theirs")
        ],
        "{sent:#?}"
    );

    // An object nobody tracks: read after the 409, adopted, its value written.
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), &ns.name);
    let loose = serde_json::json!({"metadata": {"name": "loose"}, "data": {"key": "1"}});
    api.create(&Default::default(), &serde_json::from_value(loose).unwrap())
        .await
        .unwrap();
    let set = engine
        .sync(
            manifests(&configmap("loose", "2", "")),
            &opts(&app, &ns.name),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(set.objects[0].change, Change::Adopted);
    assert_eq!(
        api.get("loose").await.unwrap().data.unwrap()["key"],
        "2",
        "adopted and written"
    );
    ns.delete(&client).await;
}
