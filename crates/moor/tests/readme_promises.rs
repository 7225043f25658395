//! End to end: promises of the README that no other test proved. Applying another app's object
//! is refused before any write; `moor sync --dry-run` writes nothing; a private repository over
//! ssh is read through a repository-credential Secret by the controller, with
//! `CreateNamespace=true` making the destination; self-heal writes only the drifted object; GitHub
//! (X-Hub-Signature-256) and GitLab (X-Gitlab-Token) webhooks make the controller sync at once.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::apps::{apply_app, spec, synced_at, synced_healthy, wait_app};
use common::controller::Controller;
use common::{get, git_repo, moor, moor_ok, repo_args, write};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use moor_testkit::{GitServer, TestNamespace, client, eventually, unique_name};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value:?}\n")
}

async fn rv(client: &Client, ns: &str, name: &str) -> Option<String> {
    let o = get(client, "v1", "ConfigMap", Some(ns), name).await?;
    o["metadata"]["resourceVersion"].as_str().map(String::from)
}

#[tokio::test(flavor = "multi_thread")]
async fn applying_an_object_another_app_owns_is_refused_before_any_write() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "owned").await;
    let (first, second) = (unique_name("first"), unique_name("second"));
    let a = tempfile::tempdir().unwrap();
    write(a.path(), "shared.yaml", &cm("shared", "first"));
    let b = tempfile::tempdir().unwrap();
    write(b.path(), "shared.yaml", &cm("shared", "second"));
    write(b.path(), "own.yaml", &cm("own", "second"));
    let sync = |dir: &tempfile::TempDir, app: &str| {
        let dir = dir.path().to_str().unwrap().to_string();
        moor(&repo_args("sync", &dir, app, &ns.name, &[]), &[])
    };
    assert_eq!(sync(&a, &first).code, 0);
    let before = rv(&client, &ns.name, "shared").await;

    let r = sync(&b, &second);
    assert_ne!(
        r.code, 0,
        "the second app took the first's object:\n{}",
        r.stdout
    );
    let named: Vec<_> = r
        .stderr
        .lines()
        .filter(|l| l.contains(&format!("ConfigMap {}/shared", ns.name)))
        .collect();
    assert_eq!(
        named.len(),
        1,
        "the object is not named once:\n{}",
        r.stderr
    );
    assert!(
        named[0].contains(&format!("already managed by app \"{first}\"")),
        "{}",
        r.stderr
    );
    // Nothing was written: not the shared object, not the second app's own object.
    assert_eq!(rv(&client, &ns.name, "shared").await, before);
    assert!(
        rv(&client, &ns.name, "own").await.is_none(),
        "the refused sync wrote its other object"
    );
    let shared = get(&client, "v1", "ConfigMap", Some(&ns.name), "shared")
        .await
        .unwrap();
    assert_eq!(shared["data"]["k"], "first");
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_dry_run_writes_nothing() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "dryrun").await;
    let app = unique_name("dry");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.yaml", &cm("a", "1"));
    write(src.path(), "b.yaml", &cm("b", "1"));
    let dir = src.path().to_str().unwrap().to_string();
    let sync = |extra: &[&str]| {
        let mut args = vec![
            "sync",
            "--repo",
            &dir,
            "--app",
            &app,
            "--namespace",
            &ns.name,
            "--prune",
        ];
        args.extend_from_slice(extra);
        moor_ok(&args, &[])
    };
    sync(&[]);
    let (rv_a, rv_b) = (
        rv(&client, &ns.name, "a").await,
        rv(&client, &ns.name, "b").await,
    );

    // Git now changes a, drops b and adds c: a real sync would write all three.
    write(src.path(), "a.yaml", &cm("a", "2"));
    std::fs::remove_file(src.path().join("b.yaml")).unwrap();
    write(src.path(), "c.yaml", &cm("c", "1"));
    let r = sync(&["--dry-run", "-o", "json"]);
    let set = r.json();
    let change = |name: &str| common::change_of(&set, name).unwrap_or(Value::Null);
    // It reports what it would do...
    assert_eq!(
        (change("a"), change("b"), change("c")),
        (json!("configured"), json!("pruned"), json!("created")),
        "{set}"
    );
    // ...and does none of it.
    assert_eq!(rv(&client, &ns.name, "a").await, rv_a, "a was written");
    assert_eq!(
        rv(&client, &ns.name, "b").await,
        rv_b,
        "b was pruned or written"
    );
    assert!(rv(&client, &ns.name, "c").await.is_none(), "c was created");
    // The real sync afterwards does all three: the dry run had something to hold back.
    sync(&[]);
    let a = get(&client, "v1", "ConfigMap", Some(&ns.name), "a")
        .await
        .unwrap();
    assert_eq!(a["data"]["k"], "2");
    assert!(rv(&client, &ns.name, "b").await.is_none());
    assert!(rv(&client, &ns.name, "c").await.is_some());
    ns.delete(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ssh_repository_is_read_through_a_repository_secret_and_create_namespace_makes_the_destination()
 {
    let client = client().await;
    let ns = TestNamespace::create(&client, "sshcred").await;
    let (server, _repo) = git_repo("private", &[("app/cm.yaml", &cm("settings", "from-ssh"))]);
    let url = server.ssh_url("private");
    // The controller has no key of its own: only the Secret lets it in.
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "ssh-repo", "labels": {"moor.dev/secret-type": "repository"}},
        "stringData": {
            "url": url,
            "sshPrivateKey": std::fs::read_to_string(server.ssh_key_path()).unwrap(),
            "knownHosts": std::fs::read_to_string(server.known_hosts_path()).unwrap(),
        }
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), &ns.name)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the repository Secret");
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    let dest = unique_name("sshdest");
    assert!(get(&client, "v1", "Namespace", None, &dest).await.is_none());
    let mut s = spec(&url, "app", &dest, json!({}));
    s["syncPolicy"]["syncOptions"] = json!(["CreateNamespace=true"]);
    apply_app(&client, &ns.name, "private", s).await;
    wait_app(
        &client,
        &ns.name,
        "private",
        "synced from the ssh repository",
        120,
        synced_healthy,
    )
    .await;
    let settings = get(&client, "v1", "ConfigMap", Some(&dest), "settings")
        .await
        .expect("the ConfigMap was applied");
    assert_eq!(settings["data"]["k"], "from-ssh");
    assert!(
        get(&client, "v1", "Namespace", None, &dest).await.is_some(),
        "CreateNamespace=true made no namespace"
    );
    assert!(
        server.sshd_log().contains("Accepted publickey"),
        "sshd saw no key login:\n{}",
        server.sshd_log()
    );
    delete_namespace(&client, &dest).await;
    ns.delete(&client).await;
}

async fn delete_namespace(client: &Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &Default::default()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn self_heal_writes_only_the_drifted_object() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "heal").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        write(src.path(), &format!("app/{name}.yaml"), &cm(name, "git"));
    }
    server.create_repo("heal", src.path());
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);
    let dest = TestNamespace::create(&client, "healdest").await;
    apply_app(
        &client,
        &ns.name,
        "heal",
        spec(
            &server.file_url("heal"),
            "app",
            &dest.name,
            json!({"selfHeal": true}),
        ),
    )
    .await;
    wait_app(&client, &ns.name, "heal", "synced", 120, synced_healthy).await;
    let (rv_a, rv_c) = (
        rv(&client, &dest.name, "a").await,
        rv(&client, &dest.name, "c").await,
    );

    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), &dest.name);
    cms.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"k": "drifted"}})),
    )
    .await
    .expect("drift b");
    eventually(
        "self-heal to put b back",
        Duration::from_secs(60),
        || async {
            let b = get(&client, "v1", "ConfigMap", Some(&dest.name), "b").await?;
            (b["data"]["k"] == "git").then_some(())
        },
    )
    .await;
    wait_app(
        &client,
        &ns.name,
        "heal",
        "synced after the heal",
        60,
        synced_healthy,
    )
    .await;
    assert_eq!(
        rv(&client, &dest.name, "a").await,
        rv_a,
        "self-heal wrote a, which had not drifted"
    );
    assert_eq!(
        rv(&client, &dest.name, "c").await,
        rv_c,
        "self-heal wrote c, which had not drifted"
    );
    dest.delete(&client).await;
    ns.delete(&client).await;
}

/// HMAC-SHA256 (RFC 2104), as GitHub signs webhook bodies.
fn hmac_sha256(key: &[u8], body: &[u8]) -> String {
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key); // test keys are shorter than the block
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

/// POSTs `body` with `headers` to the controller's webhook port; the HTTP status.
fn post(port: u16, path: &str, headers: &[(&str, String)], body: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the controller");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn github_and_gitlab_webhooks_make_the_controller_sync_the_pushed_commit() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "hooks").await;
    let (server, repo) = git_repo("hooked", &[("app/cm.yaml", &cm("settings", "v1"))]);
    let url = server.http_url("hooked");
    let (secret, token) = ("github-secret-1", "gitlab-token-1");
    // A poll interval far beyond the test's bounds: only a webhook can bring a commit in time.
    let ctl = Controller::start(
        &ns.name,
        &[
            "--namespace",
            &ns.name,
            "--poll-interval",
            "1h",
            "--github-secret",
            secret,
            "--gitlab-token",
            token,
        ],
    );
    let port = ctl.port;
    let dest = TestNamespace::create(&client, "hooksdest").await;
    apply_app(
        &client,
        &ns.name,
        "hooked",
        spec(&url, "app", &dest.name, json!({})),
    )
    .await;
    wait_app(&client, &ns.name, "hooked", "synced", 120, |a| {
        synced_at(a, &repo.head())
    })
    .await;

    let work = repo.clone_work();
    let value_is = |v: &'static str| {
        let (client, dest) = (client.clone(), dest.name.clone());
        async move {
            let o = get(&client, "v1", "ConfigMap", Some(&dest), "settings").await?;
            (o["data"]["k"] == v).then_some(())
        }
    };

    // GitHub: a push signed with the wrong secret is refused; the right signature syncs.
    work.write("app/cm.yaml", cm("settings", "v2"));
    let commit = work.commit_and_push("v2");
    let body = json!({"ref": "refs/heads/main", "after": commit, "repository": {"clone_url": url}})
        .to_string();
    let github = |key: &str| {
        vec![
            ("X-GitHub-Event", "push".to_string()),
            (
                "X-Hub-Signature-256",
                format!("sha256={}", hmac_sha256(key.as_bytes(), body.as_bytes())),
            ),
        ]
    };
    assert_eq!(
        post(port, "/api/webhook", &github("wrong-secret"), &body),
        401
    );
    assert_eq!(post(port, "/api/webhook", &github(secret), &body), 202);
    eventually(
        "the GitHub push to be applied",
        Duration::from_secs(30),
        || value_is("v2"),
    )
    .await;
    wait_app(
        &client,
        &ns.name,
        "hooked",
        "synced at the GitHub commit",
        30,
        |a| synced_at(a, &commit),
    )
    .await;

    // GitLab: the wrong token is refused; the right one syncs.
    work.write("app/cm.yaml", cm("settings", "v3"));
    let commit = work.commit_and_push("v3");
    let body =
        json!({"ref": "refs/heads/main", "checkout_sha": commit, "project": {"git_http_url": url}})
            .to_string();
    let gitlab = |t: &str| {
        vec![
            ("X-Gitlab-Event", "Push Hook".to_string()),
            ("X-Gitlab-Token", t.to_string()),
        ]
    };
    assert_eq!(
        post(port, "/api/webhook", &gitlab("wrong-token"), &body),
        401
    );
    assert_eq!(post(port, "/api/webhook", &gitlab(token), &body), 202);
    eventually(
        "the GitLab push to be applied",
        Duration::from_secs(30),
        || value_is("v3"),
    )
    .await;
    wait_app(
        &client,
        &ns.name,
        "hooked",
        "synced at the GitLab commit",
        30,
        |a| synced_at(a, &commit),
    )
    .await;
    dest.delete(&client).await;
    ns.delete(&client).await;
}
