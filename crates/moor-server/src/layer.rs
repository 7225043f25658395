//! A tower layer that counts a kube client's requests into `moor_cluster_api_requests_total`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};

use crate::metrics::Metrics;

/// Counts every request by method and response status, labelled with one cluster name.
///
/// Add it with `kube::client::ClientBuilder::try_from(config)?.with_layer(&layer).build()`. It
/// wraps the whole default stack, so a request retried inside kube counts once, with its final
/// status.
#[derive(Clone, Debug)]
pub struct ApiRequestCounter {
    metrics: Arc<Metrics>,
    cluster: Arc<str>,
}

impl ApiRequestCounter {
    /// A counter into `metrics` for the clients of cluster `cluster` (the label value).
    pub fn new(metrics: Arc<Metrics>, cluster: String) -> Self {
        Self {
            metrics,
            cluster: cluster.into(),
        }
    }
}

impl<S> Layer<S> for ApiRequestCounter {
    type Service = ApiRequestCounterService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiRequestCounterService {
            inner,
            metrics: self.metrics.clone(),
            cluster: self.cluster.clone(),
        }
    }
}

/// The service [`ApiRequestCounter`] wraps around a client stack.
#[derive(Clone, Debug)]
pub struct ApiRequestCounterService<S> {
    inner: S,
    metrics: Arc<Metrics>,
    cluster: Arc<str>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ApiRequestCounterService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    // Boxed: the counting needs an async wrapper and kube boxes its stack's futures anyway.
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let method = req.method().clone();
        let metrics = self.metrics.clone();
        let cluster = self.cluster.clone();
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            match &result {
                Ok(res) => {
                    metrics.inc_api_request(&cluster, method.as_str(), res.status().as_u16())
                }
                Err(_) => metrics.inc_api_request_failed(&cluster, method.as_str()),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Json;
    use axum::Router;
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::get;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::Api;
    use kube::client::ClientBuilder;
    use serde_json::{Value, json};

    async fn fake_api_server() -> String {
        async fn namespace(Path(name): Path<String>) -> Result<Json<Value>, StatusCode> {
            if name != "x" {
                return Err(StatusCode::NOT_FOUND);
            }
            Ok(Json(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "x", "uid": "0b1c", "resourceVersion": "42"},
                "status": {"phase": "Active"}
            })))
        }
        let app = Router::new().route("/api/v1/namespaces/{name}", get(namespace));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn kube_client_requests_are_counted() {
        let url = fake_api_server().await;
        let metrics = Arc::new(Metrics::new());
        let config = kube::Config::new(url.parse().unwrap());
        let layer = ApiRequestCounter::new(metrics.clone(), "local".to_string());
        let client = ClientBuilder::try_from(config)
            .unwrap()
            .with_layer(&layer)
            .build();
        let api = Api::<Namespace>::all(client);

        let ns = api.get("x").await.unwrap();
        assert_eq!(ns.metadata.name.as_deref(), Some("x"));
        assert!(api.get("missing").await.is_err());

        let out = metrics.encode();
        assert!(
            out.contains(
                r#"moor_cluster_api_requests_total{cluster="local",method="GET",code="200"} 1"#
            ),
            "{out}"
        );
        assert!(
            out.contains(
                r#"moor_cluster_api_requests_total{cluster="local",method="GET",code="404"} 1"#
            ),
            "{out}"
        );
    }

    #[tokio::test]
    async fn unreachable_server_counts_as_error() {
        // Bind then drop, so the port is (almost certainly) closed.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let metrics = Arc::new(Metrics::new());
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let client = ClientBuilder::try_from(config)
            .unwrap()
            .with_layer(&ApiRequestCounter::new(metrics.clone(), "gone".into()))
            .build();
        assert!(Api::<Namespace>::all(client).get("x").await.is_err());
        assert!(metrics.encode().contains(
            r#"moor_cluster_api_requests_total{cluster="gone",method="GET",code="<error>"} 1"#
        ));
    }
}
