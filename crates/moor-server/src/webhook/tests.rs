use axum::http::{HeaderMap, HeaderValue, StatusCode};

use super::*;

const GITHUB_PUSH: &str = include_str!("../../tests/fixtures/github_push.json");
const GITHUB_PING: &str = include_str!("../../tests/fixtures/github_ping.json");
const GITLAB_PUSH: &str = include_str!("../../tests/fixtures/gitlab_push.json");
const GITLAB_TAG_PUSH: &str = include_str!("../../tests/fixtures/gitlab_tag_push.json");

const SECRET: &str = "It's a Secret to Everybody";

fn config() -> WebhookConfig {
    WebhookConfig {
        github_secret: Some(SECRET.to_string()),
        gitlab_token: Some("gl-token".to_string()),
        generic_token: Some("generic-token".to_string()),
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    map
}

fn github(event: &str, body: &str) -> HeaderMap {
    headers(&[
        ("x-github-event", event),
        ("x-hub-signature-256", &sign(SECRET, body.as_bytes())),
    ])
}

fn push(outcome: Result<WebhookOutcome, WebhookError>) -> PushEvent {
    match outcome {
        Ok(WebhookOutcome::Push(event)) => event,
        other => panic!("expected a push, got {other:?}"),
    }
}

#[test]
fn hmac_matches_githubs_documented_example() {
    // The example from GitHub's "validating webhook deliveries" documentation.
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    verify_github_signature(SECRET.as_bytes(), b"Hello, World!", Some(sig)).unwrap();
}

#[test]
fn hmac_valid_signature() {
    let body = GITHUB_PUSH.as_bytes();
    verify_github_signature(SECRET.as_bytes(), body, Some(&sign(SECRET, body))).unwrap();
}

#[test]
fn hmac_wrong_secret() {
    let body = GITHUB_PUSH.as_bytes();
    let err =
        verify_github_signature(SECRET.as_bytes(), body, Some(&sign("other", body))).unwrap_err();
    assert!(matches!(err, WebhookError::BadSignature), "{err}");
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn hmac_tampered_body() {
    let sig = sign(SECRET, GITHUB_PUSH.as_bytes());
    let tampered = GITHUB_PUSH.replace("refs/heads/main", "refs/heads/evil");
    let err =
        verify_github_signature(SECRET.as_bytes(), tampered.as_bytes(), Some(&sig)).unwrap_err();
    assert!(matches!(err, WebhookError::BadSignature));
}

#[test]
fn hmac_missing_header() {
    let err = verify_github_signature(SECRET.as_bytes(), b"{}", None).unwrap_err();
    assert_eq!(err.to_string(), "missing X-Hub-Signature-256 header");
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn hmac_malformed_header() {
    for bad in [
        "sha1=abcd",
        "sha256=not-hex",
        "757107ea0eb2509fc211221cce984b8a37570b6d",
    ] {
        let err = verify_github_signature(SECRET.as_bytes(), b"{}", Some(bad)).unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedHeader(_)),
            "{bad}: {err}"
        );
    }
    // Right format, wrong length.
    let err = verify_github_signature(SECRET.as_bytes(), b"{}", Some("sha256=00ff")).unwrap_err();
    assert!(matches!(err, WebhookError::BadSignature));
}

#[test]
fn github_push_is_parsed() {
    let event = push(handle(
        &config(),
        WebhookKind::GitHub,
        &github("push", GITHUB_PUSH),
        GITHUB_PUSH.as_bytes(),
    ));
    assert_eq!(
        event,
        PushEvent {
            repo_urls: vec![
                "https://github.com/acme/deploy".into(),
                "https://github.com/acme/deploy.git".into(),
                "git@github.com:acme/deploy.git".into(),
                "git://github.com/acme/deploy.git".into(),
            ],
            git_ref: Some("refs/heads/main".into()),
            branch: Some("main".into()),
            tag: None,
            after: Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c".into()),
        }
    );
}

#[test]
fn github_form_encoded_push_is_parsed() {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", GITHUB_PUSH)
        .finish();
    let mut h = github("push", &body);
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let event = push(handle(&config(), WebhookKind::GitHub, &h, body.as_bytes()));
    assert_eq!(event.branch.as_deref(), Some("main"));
}

#[test]
fn github_tag_and_deleted_branch() {
    let tag = r#"{"ref":"refs/tags/v1.2.0","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "repository":{"clone_url":"https://github.com/acme/deploy.git"}}"#;
    let event = parse_github_push(tag.as_bytes()).unwrap();
    assert_eq!(
        (event.tag.as_deref(), event.branch.as_deref()),
        (Some("v1.2.0"), None)
    );

    let deleted = r#"{"ref":"refs/heads/feature","after":"0000000000000000000000000000000000000000",
        "deleted":true,"repository":{"clone_url":"https://github.com/acme/deploy.git"}}"#;
    let event = parse_github_push(deleted.as_bytes()).unwrap();
    assert_eq!(event.branch.as_deref(), Some("feature"));
    assert_eq!(event.after, None);
}

#[test]
fn github_ping_is_ignored() {
    let outcome = handle(
        &config(),
        WebhookKind::GitHub,
        &github("ping", GITHUB_PING),
        GITHUB_PING.as_bytes(),
    );
    assert_eq!(outcome.unwrap(), WebhookOutcome::Ignored("ping".into()));
}

#[test]
fn github_ping_still_needs_a_signature() {
    let h = headers(&[("x-github-event", "ping")]);
    let err = handle(&config(), WebhookKind::GitHub, &h, GITHUB_PING.as_bytes()).unwrap_err();
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn github_other_events_are_ignored() {
    let body = r#"{"action":"opened"}"#;
    let outcome = handle(
        &config(),
        WebhookKind::GitHub,
        &github("pull_request", body),
        body.as_bytes(),
    );
    assert!(matches!(outcome.unwrap(), WebhookOutcome::Ignored(_)));
}

#[test]
fn github_without_secret_is_rejected() {
    for secret in [None, Some(String::new())] {
        let cfg = WebhookConfig {
            github_secret: secret,
            ..config()
        };
        let err = handle(
            &cfg,
            WebhookKind::GitHub,
            &github("push", GITHUB_PUSH),
            GITHUB_PUSH.as_bytes(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            WebhookError::NotConfigured(WebhookKind::GitHub)
        ));
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn github_signed_malformed_json_is_bad_request() {
    let body = "{not json";
    let err = handle(
        &config(),
        WebhookKind::GitHub,
        &github("push", body),
        body.as_bytes(),
    )
    .unwrap_err();
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn gitlab_push_is_parsed() {
    let h = headers(&[
        ("x-gitlab-event", "Push Hook"),
        ("x-gitlab-token", "gl-token"),
    ]);
    let event = push(handle(
        &config(),
        WebhookKind::GitLab,
        &h,
        GITLAB_PUSH.as_bytes(),
    ));
    assert_eq!(
        event,
        PushEvent {
            repo_urls: vec![
                "https://gitlab.example.com/platform/deploy".into(),
                "https://gitlab.example.com/platform/deploy.git".into(),
                "git@gitlab.example.com:platform/deploy.git".into(),
            ],
            git_ref: Some("refs/heads/release-1.x".into()),
            branch: Some("release-1.x".into()),
            tag: None,
            after: Some("da1560886d4f094c3e6c9ef40349f7d38b5d27d7".into()),
        }
    );
}

#[test]
fn gitlab_tag_push_uses_checkout_sha() {
    let h = headers(&[
        ("x-gitlab-event", "Tag Push Hook"),
        ("x-gitlab-token", "gl-token"),
    ]);
    let event = push(handle(
        &config(),
        WebhookKind::GitLab,
        &h,
        GITLAB_TAG_PUSH.as_bytes(),
    ));
    assert_eq!(event.tag.as_deref(), Some("v1.4.0"));
    assert_eq!(
        event.after.as_deref(),
        Some("5937ac0a7beb003549fc5fd26fc247adbce4a52e")
    );
}

#[test]
fn gitlab_token_is_checked() {
    let wrong = headers(&[
        ("x-gitlab-event", "Push Hook"),
        ("x-gitlab-token", "gl-token2"),
    ]);
    let err = handle(
        &config(),
        WebhookKind::GitLab,
        &wrong,
        GITLAB_PUSH.as_bytes(),
    )
    .unwrap_err();
    assert!(matches!(err, WebhookError::BadToken));
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);

    let missing = headers(&[("x-gitlab-event", "Push Hook")]);
    let err = handle(
        &config(),
        WebhookKind::GitLab,
        &missing,
        GITLAB_PUSH.as_bytes(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "missing X-Gitlab-Token header");

    let cfg = WebhookConfig {
        gitlab_token: None,
        ..config()
    };
    let right = headers(&[
        ("x-gitlab-event", "Push Hook"),
        ("x-gitlab-token", "gl-token"),
    ]);
    let err = handle(&cfg, WebhookKind::GitLab, &right, GITLAB_PUSH.as_bytes()).unwrap_err();
    assert!(matches!(
        err,
        WebhookError::NotConfigured(WebhookKind::GitLab)
    ));
}

#[test]
fn gitlab_other_events_are_ignored() {
    let h = headers(&[
        ("x-gitlab-event", "Merge Request Hook"),
        ("x-gitlab-token", "gl-token"),
    ]);
    let outcome = handle(&config(), WebhookKind::GitLab, &h, b"{}").unwrap();
    assert!(matches!(outcome, WebhookOutcome::Ignored(_)));
}

#[test]
fn generic_bearer_and_header_tokens() {
    let body = br#"{"repoURL": "https://git.example.com/deploy.git", "revision": "main"}"#;
    for h in [
        headers(&[("authorization", "Bearer generic-token")]),
        headers(&[("authorization", "bearer  generic-token ")]),
        headers(&[("x-moor-token", "generic-token")]),
    ] {
        let event = push(handle(&config(), WebhookKind::Generic, &h, body));
        assert_eq!(event.repo_urls, ["https://git.example.com/deploy.git"]);
        // A bare name may be a branch or a tag.
        assert_eq!(event.git_ref.as_deref(), Some("main"));
        assert_eq!(
            (event.branch.as_deref(), event.tag.as_deref()),
            (None, None)
        );
    }
}

#[test]
fn generic_token_is_checked() {
    let body = br#"{"repoURL": "https://git.example.com/deploy.git"}"#;
    for (h, want) in [
        (
            headers(&[("authorization", "Bearer nope")]),
            "token does not match",
        ),
        (
            headers(&[("authorization", "Basic Z2VuZXJpYy10b2tlbg==")]),
            "missing Authorization header",
        ),
        (headers(&[]), "missing Authorization header"),
    ] {
        let err = handle(&config(), WebhookKind::Generic, &h, body).unwrap_err();
        assert_eq!(err.to_string(), want);
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn generic_revisions() {
    let event = parse_generic(br#"{"repoURL": "r", "revision": "refs/tags/v2"}"#).unwrap();
    assert_eq!(
        (event.tag.as_deref(), event.git_ref.as_deref()),
        (Some("v2"), Some("refs/tags/v2"))
    );
    let event = parse_generic(br#"{"repoUrl": "r", "revision": "refs/heads/dev"}"#).unwrap();
    assert_eq!(event.branch.as_deref(), Some("dev"));
    let sha = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
    let event =
        parse_generic(format!(r#"{{"repoURL": "r", "revision": "{sha}"}}"#).as_bytes()).unwrap();
    assert_eq!(
        (event.after.as_deref(), event.git_ref.as_deref()),
        (Some(sha), None)
    );
    let event = parse_generic(br#"{"repoURL": "r"}"#).unwrap();
    assert_eq!(
        event,
        PushEvent {
            repo_urls: vec!["r".into()],
            ..Default::default()
        }
    );
}

#[test]
fn generic_bad_payloads() {
    let err = parse_generic(b"").unwrap_err();
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    let err = parse_generic(br#"{"revision": "main"}"#).unwrap_err();
    assert!(matches!(err, WebhookError::NoRepository));
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn kind_is_detected_from_headers() {
    assert_eq!(
        WebhookKind::detect(&headers(&[("X-GitHub-Event", "push")])),
        WebhookKind::GitHub
    );
    assert_eq!(
        WebhookKind::detect(&headers(&[("X-Gitlab-Event", "Push Hook")])),
        WebhookKind::GitLab
    );
    assert_eq!(
        WebhookKind::detect(&headers(&[("authorization", "Bearer x")])),
        WebhookKind::Generic
    );
}

#[test]
fn debug_does_not_show_secrets() {
    let shown = format!("{:?}", config());
    assert!(
        !shown.contains(SECRET) && !shown.contains("gl-token") && !shown.contains("generic-token")
    );
    assert!(shown.contains("<set>"));
}

#[test]
fn matches_revision() {
    let branch = parse_github_push(GITHUB_PUSH.as_bytes()).unwrap();
    assert!(branch.matches_revision("main"));
    assert!(branch.matches_revision("refs/heads/main"));
    assert!(branch.matches_revision("HEAD"));
    assert!(branch.matches_revision(""));
    assert!(!branch.matches_revision("dev"));
    assert!(!branch.matches_revision("v1"));

    let tag = PushEvent {
        repo_urls: vec!["r".into()],
        git_ref: Some("refs/tags/v1".into()),
        tag: Some("v1".into()),
        ..Default::default()
    };
    assert!(tag.matches_revision("v1"));
    assert!(!tag.matches_revision("HEAD"));
    assert!(!tag.matches_revision("main"));

    let unknown = PushEvent {
        repo_urls: vec!["r".into()],
        ..Default::default()
    };
    assert!(unknown.matches_revision("anything"));
}
