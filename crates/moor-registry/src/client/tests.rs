//! Unit tests of the registry client against in-process registries (hostile ones included).
use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A hostile "registry" on loopback: answers every request with `answer(n)` (n counts
/// requests from 0): (extra headers, body). One request per connection.
async fn hostile_registry(
    answer: impl Fn(usize) -> (String, Vec<u8>) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
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
                let (headers, body) = answer(n.fetch_add(1, Ordering::SeqCst));
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n{headers}\r\n",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
                let _ = conn.write_all(&body).await;
            });
        }
    });
    (format!("127.0.0.1:{port}/app"), count)
}

async fn list(image: &str) -> Result<Vec<String>, RegistryError> {
    let client = RegistryClient::new(ClientOptions {
        insecure: true,
        ..Default::default()
    })
    .unwrap();
    client.list_tags(&ImageName::parse(image).unwrap()).await
}

fn next(n: usize) -> String {
    format!("Link: </v2/app/tags/list?last=t{n}>; rel=\"next\"\r\n")
}

#[tokio::test]
async fn a_registry_paging_without_end_is_cut_off() {
    let (image, requests) =
        hostile_registry(|n| (next(n), format!(r#"{{"tags":["t{n}"]}}"#).into_bytes())).await;
    let e = list(&image).await.unwrap_err().to_string();
    assert!(e.contains(&format!("more than {MAX_PAGES} pages")), "{e}");
    assert_eq!(requests.load(Ordering::SeqCst), MAX_PAGES);
}

#[tokio::test]
async fn an_oversized_tag_page_is_refused() {
    let (image, _) = hostile_registry(|_| {
        let mut body = br#"{"tags":[""#.to_vec();
        body.resize(MAX_BODY + 1024, b'a');
        body.extend_from_slice(br#""]}"#);
        (String::new(), body)
    })
    .await;
    let e = list(&image).await.unwrap_err().to_string();
    assert!(e.contains(&format!("larger than {MAX_BODY} bytes")), "{e}");
}

#[tokio::test]
async fn too_many_tags_or_too_long_a_tag_are_refused() {
    let (image, requests) = hostile_registry(|n| {
        let tags: Vec<String> = (0..20_000).map(|i| format!("t{n}-{i}")).collect();
        (next(n), serde_json::to_vec(&json_tags(&tags)).unwrap())
    })
    .await;
    let e = list(&image).await.unwrap_err().to_string();
    assert!(e.contains(&format!("more than {MAX_TAGS} tags")), "{e}");
    assert_eq!(requests.load(Ordering::SeqCst), MAX_TAGS / 20_000 + 1);

    let (image, _) = hostile_registry(|_| {
        let tags = vec!["ok".to_string(), "x".repeat(MAX_TAG_LEN + 1)];
        (
            String::new(),
            serde_json::to_vec(&json_tags(&tags)).unwrap(),
        )
    })
    .await;
    let e = list(&image).await.unwrap_err().to_string();
    assert!(e.contains("longer than 128 bytes"), "{e}");
}

fn json_tags(tags: &[String]) -> serde_json::Value {
    serde_json::json!({ "tags": tags })
}

fn name(s: &str) -> (String, String) {
    let n = ImageName::parse(s).unwrap();
    (n.registry, n.repository)
}

#[test]
fn image_names_parse_like_docker() {
    let p = |r: &str, p: &str| (r.to_string(), p.to_string());
    assert_eq!(name("nginx"), p("docker.io", "library/nginx"));
    assert_eq!(name("fluxcd/flux"), p("docker.io", "fluxcd/flux"));
    assert_eq!(name("index.docker.io/x/y"), p("docker.io", "x/y"));
    assert_eq!(name("ghcr.io/org/app"), p("ghcr.io", "org/app"));
    assert_eq!(name("127.0.0.1:5000/app"), p("127.0.0.1:5000", "app"));
    assert_eq!(name("localhost/a/b-c_d.e"), p("localhost", "a/b-c_d.e"));
    assert_eq!(
        ImageName::parse("nginx").unwrap().api_host(),
        "registry-1.docker.io"
    );
    for bad in [
        "",
        "nginx:1.0",
        "ghcr.io/app@sha256:abc",
        "https://ghcr.io/app",
        "ghcr.io/App",
        "ghcr.io/a//b",
        "ghcr.io/a-",
    ] {
        let e = ImageName::parse(bad).unwrap_err();
        assert_eq!(e.reason(), "InvalidImage", "{bad}: {e}");
    }
    let e = ImageName::parse("ghcr.io/app:v1").unwrap_err().to_string();
    assert!(e.contains("no tag"), "{e}");
}

#[test]
fn docker_config_auth_forms() {
    let json = serde_json::json!({"auths": {
        "https://index.docker.io/v1/": {"auth": BASE64.encode("hub:secret:with:colons")},
        "127.0.0.1:5000": {"username": "u", "password": "p"},
        "http://Reg.Example:8080/v2/": {"auth": BASE64.encode("a:b")},
        "token-only.example": {"identitytoken": "x"}
    }});
    let c = DockerConfig::from_json(json.to_string().as_bytes()).unwrap();
    let hub = c.credentials_for("docker.io").unwrap();
    assert_eq!(
        (hub.username.as_str(), hub.password.as_str()),
        ("hub", "secret:with:colons")
    );
    assert_eq!(c.credentials_for("127.0.0.1:5000").unwrap().username, "u");
    assert_eq!(c.credentials_for("reg.example:8080").unwrap().password, "b");
    assert!(c.credentials_for("token-only.example").is_none());
    assert!(c.credentials_for("other.example").is_none());
    // Legacy .dockercfg: no "auths" level.
    let legacy = serde_json::json!({"r.example": {"auth": BASE64.encode("l:p")}});
    let c = DockerConfig::from_json(legacy.to_string().as_bytes()).unwrap();
    assert_eq!(c.credentials_for("r.example").unwrap().username, "l");
}

#[test]
fn docker_config_errors_never_show_secrets() {
    let json = serde_json::json!({"auths": {"r": {"auth": BASE64.encode("nocolon-s3cret")}}});
    let e = DockerConfig::from_json(json.to_string().as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("username:password") && !e.contains("s3cret"),
        "{e}"
    );
    let e = DockerConfig::from_json(b"{\"auths\": {\"r\": {\"auth\": \"s3cret")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not JSON") && !e.contains("s3cret"), "{e}");
    let creds = RegistryCredentials {
        username: "u".into(),
        password: "s3cret".into(),
    };
    assert!(!format!("{creds:?}").contains("s3cret"));
}

#[test]
fn challenges_parse() {
    let c = Challenge::parse(
        r#"Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push""#,
    );
    let Challenge::Bearer(p) = c else {
        panic!("{c:?}")
    };
    assert_eq!(p["realm"], "https://auth.example/token");
    assert_eq!(p["service"], "reg.example");
    assert_eq!(p["scope"], "repository:a/b:pull,push");
    assert_eq!(Challenge::parse(r#"Basic realm="x""#), Challenge::Basic);
    assert_eq!(
        Challenge::parse("Negotiate"),
        Challenge::Other("Negotiate".into())
    );
    let p = parse_auth_params(r#" a=1 , b="q\"uoted" "#);
    assert_eq!((p["a"].as_str(), p["b"].as_str()), ("1", "q\"uoted"));
}

#[test]
fn next_links_resolve_against_the_request() {
    let base = Url::parse("http://127.0.0.1:5000/v2/app/tags/list?n=2").unwrap();
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        LINK,
        HeaderValue::from_static(r#"</v2/app/tags/list?last=b&n=2>; rel="next""#),
    );
    assert_eq!(
        next_link(&h, &base).unwrap().as_str(),
        "http://127.0.0.1:5000/v2/app/tags/list?last=b&n=2"
    );
    h.insert(
        LINK,
        HeaderValue::from_static(r#"<https://x/prev>; rel="prev""#),
    );
    assert!(next_link(&h, &base).is_none());
    assert!(next_link(&reqwest::header::HeaderMap::new(), &base).is_none());
}

#[test]
fn loopback_hosts() {
    assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && is_loopback("localhost"));
    assert!(!is_loopback("auth.example") && !is_loopback("10.0.0.1"));
}
