//! Snapshots of the diffs users read; each was reviewed once by eye.

use moor_diff::{colorize, diff};
use moor_types::ObjKey;
use serde_json::{Value, json};

fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "prod",
            "labels": {"app.kubernetes.io/name": "web"},
            "annotations": {"moor.dev/tracking-id": "shop:apps/Deployment:prod/web"},
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web",
                        "image": image,
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                    }],
                },
            },
        },
    })
}

/// The same object as the API server returns it: server-set metadata and status added.
fn as_live(mut obj: Value, resource_version: &str) -> Value {
    let meta = obj["metadata"].as_object_mut().unwrap();
    meta.insert("uid".into(), json!("3f1c2a9e-5b7d-4c11-9f0e-2b8a6d4e7c01"));
    meta.insert("resourceVersion".into(), json!(resource_version));
    meta.insert("generation".into(), json!(4));
    meta.insert("creationTimestamp".into(), json!("2025-03-02T10:14:07Z"));
    meta.insert(
        "managedFields".into(),
        json!([{"manager": "moor", "operation": "Apply", "apiVersion": "apps/v1",
            "time": "2025-03-02T10:14:07Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}}}]),
    );
    obj["status"] = json!({"observedGeneration": 4, "replicas": 3, "readyReplicas": 3});
    obj
}

fn web_key() -> ObjKey {
    ObjKey::new("apps", "Deployment", Some("prod"), "web")
}

#[test]
fn deployment_image_change() {
    let live = as_live(deployment("ghcr.io/example/web:1.4.2"), "184223");
    let desired = deployment("ghcr.io/example/web:1.5.0");
    let d = diff(&web_key(), Some(&live), Some(&desired)).expect("image changed");
    insta::assert_snapshot!(d.unified);
    assert!(!d.unified.contains("managedFields") && !d.unified.contains("status"));
}

#[test]
fn removed_object() {
    let live = as_live(deployment("ghcr.io/example/web:1.4.2"), "184223");
    let d = diff(&web_key(), Some(&live), None).expect("object removed");
    assert_eq!(d.desired, None);
    insta::assert_snapshot!(d.unified);
}

#[test]
fn no_diff_when_only_server_fields_differ() {
    let desired = deployment("ghcr.io/example/web:1.4.2");
    let live = as_live(desired.clone(), "184223");
    assert_eq!(diff(&web_key(), Some(&live), Some(&desired)), None);
    // Two reads of the live object differing only in resourceVersion, status and key order.
    let mut later = as_live(desired.clone(), "190001");
    later["status"]["readyReplicas"] = json!(2);
    let reordered: Value = {
        let mut m = serde_json::Map::new();
        for (k, v) in later.as_object().unwrap().iter().rev() {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    };
    assert_eq!(diff(&web_key(), Some(&live), Some(&reordered)), None);
}

fn secret(data: Value, string_data: Option<Value>) -> Value {
    let mut s = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-credentials", "namespace": "prod"},
        "type": "Opaque",
        "data": data,
    });
    if let Some(sd) = string_data {
        s["stringData"] = sd;
    }
    s
}

#[test]
fn secret_with_one_changed_key() {
    // base64 of "web", "s3cr3t-old", "s3cr3t-new", "db.prod.svc"
    let (user, old, new, host) = (
        "d2Vi",
        "czNjcjN0LW9sZA==",
        "czNjcjN0LW5ldw==",
        "ZGIucHJvZC5zdmM=",
    );
    let mut live = as_live(
        secret(
            json!({"username": user, "password": old, "host": host}),
            None,
        ),
        "5501",
    );
    live["metadata"]["annotations"] = json!({
        "kubectl.kubernetes.io/last-applied-configuration":
            format!("{{\"data\":{{\"password\":\"{old}\"}},\"stringData\":{{\"password\":\"s3cr3t-old\"}}}}"),
    });
    // Desired names the changed password in plain text, as a user writes it in Git.
    let desired = secret(
        json!({"username": user, "host": host}),
        Some(json!({"password": "s3cr3t-new"})),
    );
    let key = ObjKey::new("", "Secret", Some("prod"), "db-credentials");
    let d = diff(&key, Some(&live), Some(&desired)).expect("password changed");
    let everything = format!(
        "{}\n{}\n{}\n{}",
        d.unified,
        colorize(&d.unified),
        d.live.as_deref().unwrap(),
        d.desired.as_deref().unwrap()
    );
    for value in [
        user,
        old,
        new,
        host,
        "web",
        "s3cr3t-old",
        "s3cr3t-new",
        "db.prod.svc",
    ] {
        assert!(
            !everything.contains(value),
            "secret value {value:?} leaked:\n{everything}"
        );
    }
    insta::assert_snapshot!(d.unified);

    // Same values on both sides (one via stringData): no diff at all.
    let same = secret(
        json!({"username": user, "host": host}),
        Some(json!({"password": "s3cr3t-old"})),
    );
    assert_eq!(diff(&key, Some(&live), Some(&same)), None);
}

#[test]
fn colorized_image_change() {
    let live = as_live(deployment("ghcr.io/example/web:1.4.2"), "1");
    let d = diff(
        &web_key(),
        Some(&live),
        Some(&deployment("ghcr.io/example/web:1.5.0")),
    )
    .unwrap();
    let colored = colorize(&d.unified);
    assert!(
        colored.contains("\x1b[31m-      - image: ghcr.io/example/web:1.4.2\x1b[0m"),
        "{colored}"
    );
    assert!(
        colored.contains("\x1b[32m+      - image: ghcr.io/example/web:1.5.0\x1b[0m"),
        "{colored}"
    );
}
