//! The OCI client and policies against a real registry (distribution's `docker-registry`):
//! anonymous, htpasswd basic auth and token auth, pagination, and failures.

use std::sync::atomic::Ordering;

use moor_registry::policy::{Policy, Rule, SemverRange};
use moor_registry::{
    ClientOptions, ImageName, RegistryClient, RegistryCredentials, RegistryError, Selection,
};
use moor_testkit::registry::{Auth, PagingProxy, Registry};

fn client(
    insecure: bool,
    credentials: Option<(&str, &str)>,
    page_size: Option<u32>,
) -> RegistryClient {
    RegistryClient::new(ClientOptions {
        insecure,
        credentials: credentials.map(|(u, p)| RegistryCredentials {
            username: u.into(),
            password: p.into(),
        }),
        page_size,
        ..Default::default()
    })
    .expect("registry client")
}

async fn push_tags(reg: &Registry, repo: &str, tags: &[&str]) {
    for t in tags {
        reg.push(repo, t).await;
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn lists_tags_page_by_page_and_the_semver_policy_picks_the_latest() {
    let reg = Registry::start();
    let tags = ["1.2.0", "1.3.0-rc.1", "1.10.0", "latest", "0.9.0"];
    push_tags(&reg, "app", &tags).await;
    let image = ImageName::parse(&reg.image("app")).unwrap();

    let mut expected: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    expected.sort();
    let all = client(true, None, None).list_tags(&image).await.unwrap();
    assert_eq!(sorted(all), expected);

    // Two per page: three pages, followed through the Link header (the proxy paginates as the
    // distribution spec says; Debian's registry 2.8 answers every tag at once).
    let proxy = PagingProxy::start(&reg);
    let image = ImageName::parse(&proxy.image("app")).unwrap();
    let paged = client(true, None, Some(2)).list_tags(&image).await.unwrap();
    assert_eq!(paged, expected, "pages in order, no tag twice");
    assert_eq!(proxy.tag_requests.load(Ordering::SeqCst), 3);

    let policy = Policy::new(
        Rule::Semver(SemverRange::parse(">=1.0.0 <2.0.0").unwrap()),
        None,
    );
    assert_eq!(
        policy.select(paged.iter().map(String::as_str)),
        Selection::Latest("1.10.0".into())
    );
}

#[tokio::test]
async fn unknown_repository_is_not_found() {
    let reg = Registry::start();
    reg.push("app", "1.0.0").await;
    let image = ImageName::parse(&reg.image("other")).unwrap();
    let e = client(true, None, None)
        .list_tags(&image)
        .await
        .unwrap_err();
    assert!(
        matches!(e, RegistryError::RepositoryNotFound { .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    println!("{msg}");
    assert!(
        msg.contains(&reg.host()) && msg.contains("other") && msg.contains("NAME_UNKNOWN"),
        "{msg}"
    );
    assert_eq!(e.reason(), "RepositoryNotFound");
}

#[tokio::test]
async fn basic_auth_right_credentials_list_and_wrong_ones_fail() {
    let password = "s3cret-basic-pw";
    let reg = Registry::start_with(Auth::Basic {
        user: "moor".into(),
        password: password.into(),
    });
    push_tags(&reg, "team/app", &["1.0.0", "1.1.0", "2.0.0"]).await;
    let image = ImageName::parse(&reg.image("team/app")).unwrap();

    let tags = client(true, Some(("moor", password)), None)
        .list_tags(&image)
        .await
        .unwrap();
    assert_eq!(sorted(tags), ["1.0.0", "1.1.0", "2.0.0"]);
    // Page by page, the credentials go with every page.
    let proxy = PagingProxy::start(&reg);
    let paged = client(true, Some(("moor", password)), Some(2))
        .list_tags(&ImageName::parse(&proxy.image("team/app")).unwrap())
        .await
        .unwrap();
    assert_eq!(paged, ["1.0.0", "1.1.0", "2.0.0"]);

    let wrong = "wrong-password-xyz";
    let e = client(true, Some(("moor", wrong)), None)
        .list_tags(&image)
        .await
        .unwrap_err();
    assert!(
        matches!(e, RegistryError::AuthenticationFailed { .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    println!("{msg}");
    assert!(
        msg.contains(&reg.host()) && msg.contains("team/app") && msg.contains("\"moor\""),
        "{msg}"
    );
    assert!(!msg.contains(wrong) && !msg.contains(password), "{msg}");
    assert!(!format!("{e:?}").contains(wrong));

    let e = client(true, None, None)
        .list_tags(&image)
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "AuthenticationFailed", "{e}");
    assert!(e.to_string().contains("anonymous"), "{e}");
}

#[tokio::test]
async fn bearer_token_auth_fetches_a_token_with_the_credentials() {
    let password = "s3cret-token-pw";
    let reg = Registry::start_with(Auth::Token {
        user: "robot".into(),
        password: password.into(),
    });
    push_tags(&reg, "app", &["1.2.0", "1.3.0-rc.1", "1.10.0"]).await;
    let image = ImageName::parse(&reg.image("app")).unwrap();

    let tags = client(true, Some(("robot", password)), None)
        .list_tags(&image)
        .await
        .unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", reg.log()));
    assert_eq!(sorted(tags), ["1.10.0", "1.2.0", "1.3.0-rc.1"]);
    assert_eq!(reg.token_requests(), 1);

    // Page by page: the token is fetched once and sent with every page.
    let proxy = PagingProxy::start(&reg);
    let paged = client(true, Some(("robot", password)), Some(1))
        .list_tags(&ImageName::parse(&proxy.image("app")).unwrap())
        .await
        .unwrap();
    assert_eq!(paged, ["1.10.0", "1.2.0", "1.3.0-rc.1"]);
    assert_eq!(reg.token_requests(), 2);
    // 401, then three pages with the token.
    assert_eq!(proxy.tag_requests.load(Ordering::SeqCst), 4);

    let e = client(true, Some(("robot", "nope")), None)
        .list_tags(&image)
        .await
        .unwrap_err();
    println!("{e}");
    assert_eq!(e.reason(), "AuthenticationFailed", "{e}");
    assert!(e.to_string().contains("token service 127.0.0.1"), "{e}");

    // Anonymous: the token service grants nothing, the registry still says 401.
    let e = client(true, None, None)
        .list_tags(&image)
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "AuthenticationFailed", "{e}");
}

#[tokio::test]
async fn a_registry_that_is_down_is_unreachable() {
    let mut reg = Registry::start();
    reg.push("app", "1.0.0").await;
    let image = ImageName::parse(&reg.image("app")).unwrap();
    reg.stop();
    let e = client(true, None, None)
        .list_tags(&image)
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::Unreachable { .. }), "{e:?}");
    assert_eq!(e.reason(), "RegistryUnavailable");
    let msg = e.to_string();
    println!("{msg}");
    assert!(
        msg.contains(&reg.host()) && msg.contains("app") && msg.contains("refused"),
        "{msg}"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_registry_fails_clearly() {
    let reg = Registry::start();
    reg.push("app", "1.0.0").await;
    let image = ImageName::parse(&reg.image("app")).unwrap();
    let e = client(false, None, None)
        .list_tags(&image)
        .await
        .unwrap_err();
    println!("{e}");
    assert_eq!(e.reason(), "RegistryUnavailable", "{e}");
    assert!(e.to_string().contains(&reg.host()), "{e}");
}
