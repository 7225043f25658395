//! End to end, the web UI's JSON API (issue 16) served by a real `moor controller --ui-addr` on
//! the local control plane, called over HTTP with real ServiceAccount tokens: Kubernetes RBAC
//! decides what each caller sees and does. A token with get/list/patch on Applications lists
//! and syncs; one with get/list only lists and is refused a sync (403); one with nothing sees no
//! app (an empty list, 404 on the app). A cookie login needs the CSRF header on POSTs, and the
//! event stream tells a reader of an app's change and nobody else.

mod common;
mod ui_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::apps::{apply_app, get_app, spec};
use common::controller::{Controller, free_port};
use common::git_repo;
use common::tenancy::kubectl;
use moor_testkit::{TestNamespace, client, eventually};
use serde_json::{Value, json};
use ui_support::{Reply, request};

/// The UI of a controller on `port`, called as whoever the headers say.
struct Ui {
    port: u16,
}

impl Ui {
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        request(self.port, method, path, headers, body)
    }

    fn get(&self, path: &str, token: &str) -> Reply {
        self.request(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        )
    }

    fn post(&self, path: &str, token: &str, body: &str) -> Reply {
        let auth = format!("Bearer {token}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        self.request("POST", path, &headers, body)
    }

    /// Opens the event stream as `token`; read it with [`read_until`].
    fn events(&self, token: &str) -> TcpStream {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let req = format!(
            "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        s
    }
}

/// Reads the stream until `want` is in what it said, or `timeout` passed; returns what it said.
fn read_until(s: &mut TcpStream, want: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains(want) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("event stream: {e}"),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A ServiceAccount in `ns` bound to a Role with `verbs` on moor.dev Applications (none: no
/// binding), and a token of it.
fn account(ns: &str, name: &str, verbs: &[&str]) -> String {
    let mut docs = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: {ns}}}\n"
    );
    if !verbs.is_empty() {
        docs.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             rules: [{{apiGroups: [moor.dev], resources: [applications], verbs: {verbs:?}}}]\n\
             ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}\n\
             subjects: [{{kind: ServiceAccount, name: {name}, namespace: {ns}}}]\n"
        ));
    }
    kubectl(&["apply", "-f", "-"], Some(&docs));
    let token = kubectl(
        &["create", "token", name, "-n", ns, "--duration", "1h"],
        None,
    );
    token.trim().to_string()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rbac_decides_what_each_token_sees_and_does() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "ui-api").await;
    let dest = TestNamespace::create(&client, "ui-api-d").await;
    let ns = apps.name.as_str();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  v: \"1\"\n";
    let (server, _repo) = git_repo("r", &[("app/cm.yaml", cm)]);
    let url = server.file_url("r");
    for name in ["alpha", "beta"] {
        // Manual sync only: the operations asked here are the only ones.
        let mut manual = spec(&url, "app", &dest.name, json!({}));
        manual.as_object_mut().unwrap().remove("syncPolicy");
        apply_app(&client, ns, name, manual).await;
    }
    let patcher = account(ns, "patcher", &["get", "list", "watch", "patch"]);
    let reader = account(ns, "reader", &["get", "list", "watch"]);
    let nobody = account(ns, "nobody", &[]);

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _ctl = Controller::start(ns, &["--namespace", ns, "--ui-addr", &addr]);
    let ui = Ui { port };

    // No credentials, or credentials the API server does not accept: 401.
    let anon = ui.request("GET", "/api/v1/apps", &[], "");
    assert_eq!(anon.status, 401, "{}", anon.body);
    assert_eq!(ui.get("/api/v1/apps", "not-a-token").status, 401);

    // The reader lists both apps, with counts; nobody sees none.
    let page = eventually(
        "the reader to list both apps",
        Duration::from_secs(30),
        || async {
            let r = ui.get("/api/v1/apps", &reader);
            (r.status == 200 && r.json()["total"] == 2).then(|| r.json())
        },
    )
    .await;
    assert_eq!(names(&page), ["alpha", "beta"]);
    assert_eq!(page["counts"]["total"], 2);
    assert_eq!(page["items"][0]["group"], "moor.dev");
    let filtered = ui.get("/api/v1/apps?search=bet&limit=1", &reader).json();
    assert_eq!(names(&filtered), ["beta"]);
    let bad = ui.get("/api/v1/apps?limit=many", &reader);
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"].as_str().unwrap().contains("limit"),
        "{}",
        bad.body
    );
    let none = ui.get("/api/v1/apps", &nobody);
    assert_eq!(none.status, 200, "{}", none.body);
    assert_eq!(none.json()["total"], 0, "{}", none.body);
    assert_eq!(none.json()["counts"]["total"], 0);
    let me = ui.get("/api/v1/me", &reader).json();
    assert_eq!(me["mode"], "server");
    assert_eq!(me["user"], format!("system:serviceaccount:{ns}:reader"));

    // The app page: 404 without get (the name does not leak), canPatch as RBAC says.
    let path = format!("/api/v1/apps/moor.dev/{ns}/alpha");
    assert_eq!(ui.get(&path, &nobody).status, 404);
    assert_eq!(ui.get(&format!("{path}/history"), &nobody).status, 404);
    let detail = ui.get(&path, &reader);
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert_eq!(detail.json()["canPatch"], false);
    assert_eq!(detail.json()["summary"]["name"], "alpha");
    assert_eq!(ui.get(&path, &patcher).json()["canPatch"], true);
    assert_eq!(ui.get("/api/v1/apps/example.com/x/y", &patcher).status, 404);
    // A name no Kubernetes object has never reaches the API path the server requests.
    let traversal = format!("/api/v1/apps/moor.dev/{ns}/..%2F..%2Fnamespaces");
    assert_eq!(ui.get(&traversal, &patcher).status, 404);

    // Sync: 404 without get, 403 without patch, and as the patcher the operation is written by
    // the patcher's own identity.
    let sync = format!("{path}/sync");
    assert_eq!(ui.post(&sync, &nobody, "{}").status, 404);
    let refused = ui.post(&sync, &reader, r#"{"prune":true}"#);
    assert_eq!(refused.status, 403, "{}", refused.body);
    let done = ui.post(&sync, &patcher, r#"{"prune":false}"#);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json()["ok"], true);
    let patcher_user = format!("system:serviceaccount:{ns}:patcher");
    // The controller may already have run (and cleared) it: then its record names the user.
    let a = get_app(&client, ns, "alpha").await.unwrap();
    let initiator = a["operation"]["initiatedBy"]["username"].clone();
    let recorded = &a["status"]["operationState"]["operation"]["initiatedBy"]["username"];
    assert!(
        initiator == patcher_user.as_str() || *recorded == patcher_user.as_str(),
        "operation not written as the patcher: {a}"
    );
    // While that sync runs, a rollback is refused (409); once it ended, an unknown id is a 400.
    eventually(
        "the requested sync to end",
        Duration::from_secs(60),
        || async {
            let a = get_app(&client, ns, "alpha").await?;
            a["operation"].is_null().then_some(())
        },
    )
    .await;
    assert_eq!(
        ui.post(&format!("{path}/rollback"), &patcher, r#"{"id":999}"#)
            .status,
        400
    );
    assert_eq!(
        ui.post(&format!("{path}/explode"), &patcher, "{}").status,
        404
    );

    // Suspend and resume write spec.suspend, as the CLI does.
    let beta = format!("/api/v1/apps/moor.dev/{ns}/beta");
    assert_eq!(
        ui.post(&format!("{beta}/suspend"), &patcher, "").status,
        200
    );
    let a = get_app(&client, ns, "beta").await.unwrap();
    assert_eq!(a["spec"]["suspend"], true, "{a}");
    assert_eq!(ui.post(&format!("{beta}/resume"), &patcher, "").status, 200);
    let a = get_app(&client, ns, "beta").await.unwrap();
    assert!(a["spec"].get("suspend").is_none(), "{a}");

    // Cookie login: a POST carrying only the cookie needs the CSRF header.
    let bad = ui.request("POST", "/api/v1/login", &[], r#"{"token":"nope"}"#);
    assert_eq!(bad.status, 401, "{}", bad.body);
    let login = ui.request(
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        &json!({ "token": patcher }).to_string(),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let session = login.set_cookie("moor_session").expect("session cookie");
    let csrf = login.set_cookie("moor_csrf").expect("csrf cookie");
    assert_eq!(login.json()["csrf"], csrf.as_str());
    let set: Vec<&str> = login
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        set.iter().any(|c| c.starts_with("moor_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Strict")),
        "{set:?}"
    );
    assert!(!set.iter().any(|c| c.contains("Secure")), "{set:?}");
    let behind_tls = ui.request(
        "POST",
        "/api/v1/login",
        &[("X-Forwarded-Proto", "https")],
        &json!({ "token": reader }).to_string(),
    );
    let secure = behind_tls.headers.iter().filter(|(k, _)| k == "set-cookie");
    assert!(secure.clone().count() == 2 && secure.clone().all(|(_, c)| c.ends_with("; Secure")));
    let cookies = format!("moor_session={session}; moor_csrf={csrf}");
    let refresh = format!("{beta}/refresh");
    let forged = ui.request("POST", &refresh, &[("Cookie", &cookies)], "{}");
    assert_eq!(forged.status, 403, "{}", forged.body);
    let wrong = ui.request(
        "POST",
        &refresh,
        &[("Cookie", &cookies), ("X-Moor-CSRF", "x")],
        "{}",
    );
    assert_eq!(wrong.status, 403);
    let ok = ui.request(
        "POST",
        &refresh,
        &[("Cookie", &cookies), ("X-Moor-CSRF", &csrf)],
        "{}",
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let cross = ui.request(
        "POST",
        &refresh,
        &[
            ("Cookie", &cookies),
            ("X-Moor-CSRF", &csrf),
            ("Origin", "https://evil.example"),
        ],
        "{}",
    );
    assert_eq!(cross.status, 403);
    let me = ui
        .request("GET", "/api/v1/me", &[("Cookie", &cookies)], "")
        .json();
    assert_eq!(me["user"], patcher_user.as_str());
    let out = ui.request("POST", "/api/v1/logout", &[], "");
    assert!(out.set_cookie("moor_session").is_some_and(|v| v.is_empty()));

    // Events: the reader hears of beta's change; nobody does not.
    let mut seen_by_reader = ui.events(&reader);
    let mut seen_by_nobody = ui.events(&nobody);
    // Both streams are open once their headers came.
    assert!(read_until(&mut seen_by_reader, "\r\n\r\n", Duration::from_secs(10)).contains(" 200 "));
    assert!(read_until(&mut seen_by_nobody, "\r\n\r\n", Duration::from_secs(10)).contains(" 200 "));
    kubectl(
        &[
            "label",
            "applications.moor.dev",
            "beta",
            "-n",
            ns,
            "tier=front",
            "--overwrite",
        ],
        None,
    );
    let said = read_until(
        &mut seen_by_reader,
        "\"tier\":\"front\"",
        Duration::from_secs(10),
    );
    assert!(
        said.contains("event: app") && said.contains("\"name\":\"beta\""),
        "{said}"
    );
    let said = read_until(&mut seen_by_nobody, "event: app", Duration::from_secs(2));
    assert!(!said.contains("event: app"), "{said}");
    let page = ui.get("/api/v1/apps?label=tier%3Dfront", &reader).json();
    assert_eq!(names(&page), ["beta"]);

    // A second controller whose UI address is taken stops at once, saying why.
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_moor"))
        .args([
            "controller",
            "--app-namespace",
            ns,
            "--namespace",
            ns,
            "--ui-addr",
            &addr,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("a controller whose --ui-addr is taken kept running");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success());
    assert!(
        err.contains(&format!("failed to listen on {addr} for the UI")),
        "{err}"
    );

    // The pages, with their security headers.
    let index = ui.request("GET", "/", &[], "");
    assert_eq!(index.status, 200);
    assert!(
        index
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = index.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(index.header("x-content-type-options"), Some("nosniff"));
    let js = ui.request("GET", "/ui/app.js", &[], "");
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(ui.request("GET", "/ui/style.css", &[], "").status, 200);
}

/// `moor ui` as a real process (it prints its address), killed when dropped.
struct LocalUi {
    child: std::process::Child,
    port: u16,
}

impl Drop for LocalUi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_local_ui(extra: &[&str]) -> LocalUi {
    use std::io::BufRead;
    moor_testkit::kubeconfig_path();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_moor"))
        .args(["ui", "--port", "0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moor ui starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("moor ui: http://127.0.0.1:")
        .and_then(|p| p.strip_suffix('/'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("moor ui printed {line:?}"));
    LocalUi { child, port }
}

#[tokio::test(flavor = "multi_thread")]
async fn moor_ui_serves_the_kubeconfig_identity_on_loopback_with_a_csrf_token() {
    let client = client().await;
    let apps = TestNamespace::create(&client, "ui-api-local").await;
    let ns = apps.name.as_str();
    let app = json!({
        "source": {"repoURL": "https://git.invalid/r", "path": "app"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}
    });
    apply_app(&client, ns, "gamma", app).await;
    let local = start_local_ui(&[]);
    let ui = Ui { port: local.port };

    let me = ui.request("GET", "/api/v1/me", &[], "");
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["mode"], "local");
    let csrf = me.json()["csrf"].as_str().unwrap().to_string();
    assert_eq!(me.set_cookie("moor_csrf").as_deref(), Some(csrf.as_str()));
    // No login in local mode.
    assert_eq!(ui.request("POST", "/api/v1/login", &[], "{}").status, 400);

    // An Argo CD Application of the same name is listed too, sorted by group after namespace and name.
    let argo = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: gamma, namespace: {ns}}}\n\
         spec: {{project: default, source: {{repoURL: 'https://git.invalid/r'}}, destination: {{name: in-cluster, namespace: {ns}}}}}\n"
    );
    kubectl(&["apply", "-f", "-"], Some(&argo));
    let page = eventually("both apps in the list", Duration::from_secs(30), || async {
        let r = ui.request("GET", &format!("/api/v1/apps?namespace={ns}"), &[], "");
        (r.status == 200 && r.json()["total"] == 2).then(|| r.json())
    })
    .await;
    assert_eq!(names(&page), ["gamma", "gamma"]);
    assert_eq!(page["items"][0]["group"], "argoproj.io");
    assert_eq!(page["items"][1]["group"], "moor.dev");

    // --namespace: only that namespace's apps are watched (and listed without a filter).
    let scoped_process = start_local_ui(&["--namespace", ns]);
    let scoped = Ui {
        port: scoped_process.port,
    };
    let page = eventually(
        "the namespace's apps only",
        Duration::from_secs(30),
        || async {
            let r = scoped.request("GET", "/api/v1/apps", &[], "");
            (r.status == 200 && r.json()["counts"]["total"] == 2).then(|| r.json())
        },
    )
    .await;
    assert_eq!(names(&page), ["gamma", "gamma"]);

    // A POST without the token could come from any page the browser shows: refused.
    let suspend = format!("/api/v1/apps/moor.dev/{ns}/gamma/suspend");
    assert_eq!(ui.request("POST", &suspend, &[], "").status, 403);
    let ok = ui.request("POST", &suspend, &[("X-Moor-CSRF", &csrf)], "");
    assert_eq!(ok.status, 200, "{}", ok.body);
    let a = get_app(&client, ns, "gamma").await.unwrap();
    assert_eq!(a["spec"]["suspend"], true, "{a}");

    // While an operation runs (no controller here: it stays Running), a sync is refused: 409.
    let running = r#"{"operation":{"sync":{"prune":false},"initiatedBy":{"username":"t"}}}"#;
    kubectl(
        &[
            "patch",
            "applications.moor.dev",
            "gamma",
            "-n",
            ns,
            "--type=merge",
            "-p",
            running,
        ],
        None,
    );
    let state = r#"{"status":{"operationState":{"phase":"Running","message":"syncing"}}}"#;
    kubectl(
        &[
            "patch",
            "applications.moor.dev",
            "gamma",
            "-n",
            ns,
            "--type=merge",
            "--subresource=status",
            "-p",
            state,
        ],
        None,
    );
    let sync = format!("/api/v1/apps/moor.dev/{ns}/gamma/sync");
    let busy = ui.request("POST", &sync, &[("X-Moor-CSRF", &csrf)], "{}");
    assert_eq!(busy.status, 409, "{}", busy.body);
    assert!(
        busy.json()["error"]
            .as_str()
            .unwrap()
            .contains("another operation is running"),
        "{}",
        busy.body
    );

    // A name that resolves to 127.0.0.1 but is not loopback's (DNS rebinding) gets nothing.
    let mut s = TcpStream::connect(("127.0.0.1", local.port)).unwrap();
    s.write_all(b"GET /api/v1/apps HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 403"), "{raw}");
}
