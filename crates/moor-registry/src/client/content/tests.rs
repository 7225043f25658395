//! Manifests and blobs from lying registries: wrong digests, wrong sizes, oversized answers.
use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A "registry" on loopback answering `GET path` with `answer(path)`: (extra headers, body).
/// Returns the image name to ask it for and the count of requests it got.
async fn registry(
    answer: impl Fn(&str) -> (String, Vec<u8>) + Send + Sync + 'static,
) -> (ImageName, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let (n, answer) = (count.clone(), Arc::new(answer));
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (n, answer) = (n.clone(), answer.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                n.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&head).to_string();
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                let (headers, body) = answer(&path);
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
                let _ = conn.write_all(&body).await;
            });
        }
    });
    (
        ImageName::new(&format!("127.0.0.1:{port}"), "charts/app").unwrap(),
        count,
    )
}

fn client() -> RegistryClient {
    RegistryClient::new(ClientOptions {
        insecure: true,
        ..Default::default()
    })
    .unwrap()
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn desc(data: &[u8]) -> Descriptor {
    Descriptor {
        media_type: "application/octet-stream".into(),
        digest: sha(data),
        size: data.len() as u64,
    }
}

fn manifest_json(layer: &Descriptor) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",
                   "digest": sha(b"{}"), "size": 2},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}],
    }))
    .unwrap()
}

#[tokio::test]
async fn a_manifest_is_read_and_its_digest_checked() {
    let layer = desc(b"chart");
    let body = manifest_json(&layer);
    let digest = sha(&body);
    let served = body.clone();
    let (image, _) = registry(move |_| {
        (
            "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n".into(),
            served.clone(),
        )
    })
    .await;
    let m = client().manifest(&image, "1.0.0").await.unwrap();
    assert_eq!(m.digest, digest);
    assert_eq!(
        m.config.media_type,
        "application/vnd.cncf.helm.config.v1+json"
    );
    assert_eq!(m.layers, vec![layer]);
    assert_eq!(client().manifest(&image, &digest).await.unwrap(), m);

    // Asked by another digest: the content does not match it.
    let other = sha(b"other");
    let e = client()
        .manifest(&image, &other)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("has digest {digest}, not {other}")),
        "{e}"
    );
}

#[tokio::test]
async fn a_manifest_unlike_the_announced_digest_or_an_index_is_refused() {
    let body = manifest_json(&desc(b"chart"));
    let wrong = sha(b"not it");
    let announced = format!("Docker-Content-Digest: {wrong}\r\n");
    let (image, _) = registry(move |_| (announced.clone(), body.clone())).await;
    let e = client().manifest(&image, "1.0.0").await.unwrap_err();
    assert!(matches!(e, RegistryError::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains(&format!("not {wrong}")), "{e}");

    let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let (image, _) = registry(|_| (String::new(), index.to_vec())).await;
    let e = client()
        .manifest(&image, "1.0.0")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("manifest 1.0.0 is an index"), "{e}");
}

#[tokio::test]
async fn an_oversized_manifest_is_refused() {
    let (image, _) = registry(|_| (String::new(), vec![b' '; MAX_MANIFEST + 1])).await;
    let e = client()
        .manifest(&image, "1.0.0")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("larger than {MAX_MANIFEST} bytes")),
        "{e}"
    );
}

#[tokio::test]
async fn a_blob_must_match_its_size_and_digest() {
    let good = desc(b"the chart archive");
    let (image, _) = registry(|path| {
        let body: &[u8] = if path.ends_with(&sha(b"the chart archive")) {
            b"the chart archive"
        } else if path.ends_with(&sha(b"short")) {
            b"sho"
        } else {
            b"something else entirely"
        };
        (String::new(), body.to_vec())
    })
    .await;
    let c = client();
    assert_eq!(
        c.blob(&image, &good, 1024).await.unwrap(),
        b"the chart archive"
    );

    let e = c.blob(&image, &desc(b"short"), 1024).await.unwrap_err();
    assert!(e.to_string().contains("3 bytes, not the 5"), "{e}");

    // Same length as claimed, other content.
    let liar = Descriptor {
        digest: sha(b"another thing"),
        size: b"something else entirely".len() as u64,
        ..good.clone()
    };
    let e = c.blob(&image, &liar, 1024).await.unwrap_err().to_string();
    assert!(
        e.contains(&format!("blob {}: the content has digest", liar.digest)),
        "{e}"
    );

    // Longer than the descriptor: cut off at its size.
    let longer = Descriptor {
        digest: sha(b"x"),
        size: 4,
        ..good.clone()
    };
    let e = c.blob(&image, &longer, 1024).await.unwrap_err().to_string();
    assert!(e.contains("larger than 4 bytes"), "{e}");
}

#[tokio::test]
async fn a_blob_over_the_limit_or_with_a_bad_digest_is_not_requested() {
    let (image, requests) = registry(|_| (String::new(), Vec::new())).await;
    let c = client();
    let big = Descriptor {
        size: 10_000,
        ..desc(b"x")
    };
    let e = c.blob(&image, &big, 1000).await.unwrap_err().to_string();
    assert!(
        e.contains("10000 bytes, more than the limit of 1000"),
        "{e}"
    );
    for digest in ["sha512:abcd", "sha256:../../etc/passwd", "sha256:ABC"] {
        let bad = Descriptor {
            digest: digest.into(),
            ..desc(b"x")
        };
        let e = c.blob(&image, &bad, 1000).await.unwrap_err().to_string();
        assert!(e.contains("only sha256"), "{e}");
    }
    let e = c.manifest(&image, "../x").await.unwrap_err().to_string();
    assert!(e.contains("is not a tag or digest"), "{e}");
    assert_eq!(requests.load(Ordering::SeqCst), 0);
}

#[test]
fn names_with_a_known_host_skip_docker_hub_defaults() {
    let n = ImageName::new("Registry:5000", "charts/app").unwrap();
    assert_eq!(
        (n.registry.as_str(), n.repository.as_str()),
        ("registry:5000", "charts/app")
    );
    assert_eq!(ImageName::new("myreg", "app").unwrap().api_host(), "myreg");
    assert!(ImageName::new("host", "Charts/app").is_err());
    assert!(ImageName::new("host/x", "app").is_err());
    assert!(ImageName::new("", "app").is_err());
}
