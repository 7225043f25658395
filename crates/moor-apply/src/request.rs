//! Requests whose response body moor does not read: the writes of a sync and the dry-runs of
//! objects that do not exist yet. They ask for protobuf, which the API server encodes at a
//! fraction of the cost of JSON (it is CPU-bound while a large app syncs), and the body of a
//! success is drained unparsed. Custom resources have no protobuf form; the server answers those
//! in JSON, the second choice offered.
//!
//! An error still names its cause: a protobuf `Status` is decoded (only the fields moor shows).

use http::header::{ACCEPT, CONTENT_TYPE};
use http_body_util::BodyExt;
use kube::Client;
use kube::api::{DynamicObject, PostParams};
use kube::core::{Resource, Status};
use prost::Message;

use moor_types::FIELD_MANAGER;

use crate::prepare::Desired;

const ACCEPT_PROTOBUF_OR_JSON: &str = "application/vnd.kubernetes.protobuf, application/json";
/// The envelope every protobuf response starts with.
const PROTOBUF_MAGIC: &[u8] = b"k8s\0";

/// The request builder for `d`'s collection (its namespace's, if it is namespaced).
pub(crate) fn for_object(d: &Desired) -> kube::core::Request {
    kube::core::Request::new(DynamicObject::url_path(&d.res.ar, d.api_namespace()))
}

/// A server-side dry-run create of `d` that rejects unknown and duplicate fields. Without
/// `fieldValidation=Strict` a create drops an unknown field with only a warning, while the apply
/// that follows rejects it, after other objects were written (kube's `PostParams` cannot say it).
pub(crate) fn dry_run_create(d: &Desired) -> Result<http::Request<Vec<u8>>, kube::Error> {
    let body = serde_json::to_vec(&d.m.obj).map_err(kube::Error::SerdeError)?;
    let pp = PostParams {
        dry_run: true,
        field_manager: Some(FIELD_MANAGER.to_string()),
    };
    let mut req = for_object(d)
        .create(&pp, body)
        .map_err(kube::Error::BuildRequest)?;
    let uri = format!("{}&fieldValidation=Strict", req.uri());
    *req.uri_mut() = uri.parse().expect("one more query pair keeps a URI valid");
    Ok(req)
}

/// Sends `req`, reads and drops the body of a success, and turns a failure into `kube::Error::Api`.
pub(crate) async fn send_unread(
    client: &Client,
    mut req: http::Request<Vec<u8>>,
) -> Result<(), kube::Error> {
    req.headers_mut().insert(
        ACCEPT,
        ACCEPT_PROTOBUF_OR_JSON.parse().expect("valid header"),
    );
    let res = client.send(req.map(kube::client::Body::from)).await?;
    let code = res.status();
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    // Read to the end either way: a connection whose body was not consumed cannot be reused.
    let body = res.into_body().collect().await?.to_bytes();
    if code.is_success() {
        return Ok(());
    }
    Err(kube::Error::Api(
        error_status(&body, &content_type, code.as_u16()).boxed(),
    ))
}

/// Sends `req` and returns the object the API server answers with (JSON), e.g. what an apply
/// wrote, so a caller that needs it does not read it again.
pub(crate) async fn send_read(
    client: &Client,
    req: http::Request<Vec<u8>>,
) -> Result<serde_json::Value, kube::Error> {
    client.request::<serde_json::Value>(req).await
}

/// The `Status` of an error response in protobuf or JSON, or the raw text for anything else
/// (a proxy's HTML page, say).
fn error_status(body: &[u8], content_type: &str, code: u16) -> Status {
    if content_type.contains("protobuf")
        && let Some(s) = decode_protobuf_status(body)
    {
        return s;
    }
    if let Ok(s) = serde_json::from_slice::<Status>(body) {
        return s;
    }
    Status::failure(
        String::from_utf8_lossy(body).trim(),
        "Failed to parse error data",
    )
    .with_code(code)
}

/// `runtime.Unknown` (k8s.io/apimachinery/pkg/runtime/generated.proto): the envelope.
#[derive(Clone, PartialEq, Message)]
struct UnknownProto {
    #[prost(bytes = "vec", optional, tag = "2")]
    raw: Option<Vec<u8>>,
}

/// `metav1.Status` (k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto), the fields moor shows.
#[derive(Clone, PartialEq, Message)]
struct StatusProto {
    #[prost(string, optional, tag = "3")]
    message: Option<String>,
    #[prost(string, optional, tag = "4")]
    reason: Option<String>,
    #[prost(int32, optional, tag = "6")]
    code: Option<i32>,
}

fn decode_protobuf_status(body: &[u8]) -> Option<Status> {
    let envelope = UnknownProto::decode(body.strip_prefix(PROTOBUF_MAGIC)?).ok()?;
    let s = StatusProto::decode(envelope.raw?.as_slice()).ok()?;
    let code = u16::try_from(s.code.unwrap_or_default()).unwrap_or_default();
    Some(
        Status::failure(
            &s.message.unwrap_or_default(),
            &s.reason.unwrap_or_default(),
        )
        .with_code(code),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body kube-apiserver v1.34 sent for a dry-run create of a ConfigMap with an invalid
    /// name, asked for protobuf (captured with curl from the local control plane).
    const INVALID_NAME_422: &[u8] = include_bytes!("../tests/fixtures/status-422.pb");

    #[test]
    fn protobuf_status_from_the_api_server_keeps_message_reason_and_code() {
        let s = error_status(INVALID_NAME_422, "application/vnd.kubernetes.protobuf", 422);
        assert_eq!(s.code, 422);
        assert_eq!(s.reason, "Invalid");
        assert!(s.message.contains("Bad_Name"), "{}", s.message);
    }

    #[test]
    fn json_and_plain_text_errors_still_name_the_cause() {
        let json = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no way","reason":"Forbidden","code":403}"#;
        let s = error_status(json, "application/json", 403);
        assert_eq!(
            (s.code, s.reason.as_str(), s.message.as_str()),
            (403, "Forbidden", "no way")
        );
        let s = error_status(b"<html>bad gateway</html>\n", "text/html", 502);
        assert_eq!(s.code, 502);
        assert_eq!(s.message, "<html>bad gateway</html>");
        // A truncated protobuf body falls back to its text rather than inventing a reason.
        let s = error_status(
            &INVALID_NAME_422[..6],
            "application/vnd.kubernetes.protobuf",
            422,
        );
        assert_eq!(s.code, 422);
    }
}
