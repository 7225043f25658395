//! End to end: a repository whoever can push to it controls. Through `moor render`/`moor sync`
//! and through a real `moor controller`, a symlink or a path leaving the checkout, a remote
//! kustomize base or value file, an alias bomb and too many objects are all refused with a clear
//! error naming the link or field, nothing is applied, and what a link points at never shows
//! in any output, status, event or log.
#![cfg(unix)]

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::apps::{apply_app, synced_healthy, wait_app};
use common::controller::Controller;
use common::{get, moor, write};
use kube::api::{Api, ListParams};
use moor_testkit::git::GitServer;
use moor_testkit::{TestNamespace, client};
use serde_json::{Value, json};

/// What the file outside every repository holds: it must never appear anywhere.
const MARKER: &str = "MOOR-HOSTILE-SECRET-7d1e";

/// A file outside the repository, as the controller's service-account token or a kubeconfig.
fn secret_file(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("secret.yaml");
    std::fs::write(
        &p,
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  k: {MARKER}\n"
        ),
    )
    .unwrap();
    p
}

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
}

fn link(dir: &Path, rel: &str, target: &Path) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    symlink(target, p).unwrap();
}

/// A billion laughs: nine levels of ten aliases each.
fn alias_bomb() -> String {
    let mut s = cm("lol");
    s.push_str("  a0: &a0 [\"lol\"]\n");
    for i in 1..=9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    s
}

/// One repository holding every hostile app, plus a good one whose in-repo links must work.
fn hostile_tree(dir: &Path, secret: &Path) {
    // Plain directory: a file linked to the secret, by absolute path and by climbing out.
    write(dir, "plain/ok.yaml", &cm("plain-ok"));
    link(dir, "plain/stolen.yaml", secret);
    let up = format!("../../../../../../../../../../..{}", secret.display());
    write(dir, "climb/ok.yaml", &cm("climb-ok"));
    link(dir, "climb/up.yaml", Path::new(&up));
    // Kustomize: the link is in a base the overlay pulls in.
    write(
        dir,
        "kbase/kustomization.yaml",
        "resources: [cm.yaml, stolen.yaml]\n",
    );
    write(dir, "kbase/cm.yaml", &cm("kustomize-ok"));
    link(dir, "kbase/stolen.yaml", secret);
    write(
        dir,
        "koverlay/kustomization.yaml",
        "resources: [../kbase]\n",
    );
    // Kustomize reaching out.
    write(
        dir,
        "kremote/kustomization.yaml",
        "resources:\n- cm.yaml\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1\n",
    );
    write(dir, "kremote/cm.yaml", &cm("kremote-ok"));
    // Helm: a template linked to the secret; and a clean chart for value-file attacks.
    for chart in ["hlink", "hvalues"] {
        write(
            dir,
            &format!("{chart}/Chart.yaml"),
            &format!("apiVersion: v2\nname: {chart}\nversion: 0.1.0\n"),
        );
        write(
            dir,
            &format!("{chart}/templates/cm.yaml"),
            &cm(&format!("{chart}-ok")),
        );
    }
    link(dir, "hlink/templates/stolen.yaml", secret);
    // Shape and size.
    write(dir, "bomb/bomb.yaml", &alias_bomb());
    let many: String = (0..12)
        .map(|i| format!("---\n{}", cm(&format!("many-{i}"))))
        .collect();
    write(dir, "many/all.yaml", &many);
    // Links that stay inside keep working.
    write(dir, "shared/cm.yaml", &cm("shared-ok"));
    link(dir, "good/cm.yaml", Path::new("../shared/cm.yaml"));
}

/// The error is there and the secret is not, whatever stream it went to.
fn assert_refused(r: &common::Run, expected: &str) {
    assert_ne!(r.code, 0, "the hostile render succeeded:\n{}", r.stdout);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains(MARKER), "the secret leaked:\n{all}");
    assert!(
        r.stderr.contains(expected),
        "expected {expected:?} in:\n{}",
        r.stderr
    );
}

fn render(url: &str, path: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["render", "--repo", url, "--path", path];
    args.extend_from_slice(extra);
    moor(&args, &[])
}

#[test]
fn moor_render_refuses_hostile_repository_content() {
    let outside = tempfile::tempdir().unwrap();
    let secret = secret_file(outside.path());
    let tree = tempfile::tempdir().unwrap();
    hostile_tree(tree.path(), &secret);
    let server = GitServer::start();
    let url = server.create_repo("hostile", tree.path()).file_url();

    let cases: &[(&str, &[&str], &str)] = &[
        (
            "plain",
            &[],
            "symbolic link plain/stolen.yaml points outside the repository",
        ),
        (
            "climb",
            &[],
            "symbolic link climb/up.yaml points outside the repository",
        ),
        (
            "koverlay",
            &[],
            "symbolic link kbase/stolen.yaml points outside the repository",
        ),
        (
            "kremote",
            &[],
            "kremote/kustomization.yaml references the remote https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1",
        ),
        (
            "hlink",
            &[],
            "symbolic link hlink/templates/stolen.yaml points outside the repository",
        ),
        (
            "hvalues",
            &["--helm-values-file", "../../../secret.yaml"],
            "helm valueFiles entry \"../../../secret.yaml\" leaves the repository",
        ),
        (
            "hvalues",
            &["--helm-values-file", "https://example.invalid/values.yaml"],
            "remote value files are disabled (--allow-remote-value-files allows them)",
        ),
        ("bomb", &[], "failed to parse bomb.yaml"),
        (
            "many",
            &["--max-render-objects", "10"],
            "the render has 12 objects, more than the limit of 10",
        ),
        (
            "many",
            &["--max-render-bytes", "200"],
            "larger than the render limit of 200 bytes",
        ),
        ("../outside", &[], "leaves the repository"),
    ];
    for (path, extra, expected) in cases {
        let start = std::time::Instant::now();
        assert_refused(&render(&url, path, extra), expected);
        assert!(
            start.elapsed().as_secs() < 30,
            "{path} took {:?}",
            start.elapsed()
        );
    }
    // A local directory is confined the same way.
    let local = tree.path().to_str().unwrap();
    assert_refused(
        &moor(&["render", "--repo", local, "--path", "plain"], &[]),
        "symbolic link plain/stolen.yaml points outside the repository",
    );
    // Links inside the repository render.
    let r = render(&url, "good", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("shared-ok"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn moor_sync_applies_nothing_from_a_repository_with_an_escaping_link() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "hostile-sync").await;
    let outside = tempfile::tempdir().unwrap();
    let secret = secret_file(outside.path());
    let tree = tempfile::tempdir().unwrap();
    hostile_tree(tree.path(), &secret);
    let server = GitServer::start();
    let url = server.create_repo("hostile", tree.path()).file_url();
    let r = moor(
        &[
            "sync", "--repo", &url, "--path", "plain", "--app", "hostile", "-n", &ns.name,
        ],
        &[],
    );
    assert_refused(
        &r,
        "symbolic link plain/stolen.yaml points outside the repository",
    );
    for name in ["plain-ok", "stolen"] {
        assert!(
            get(&client, "v1", "ConfigMap", Some(&ns.name), name)
                .await
                .is_none(),
            "{name} was applied"
        );
    }
}

/// The Application's ComparisonError condition, once there.
fn comparison_error(a: &Value) -> Option<String> {
    a["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "ComparisonError")
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn controller_refuses_hostile_repositories_and_never_shows_the_secret() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "hostile-apps").await;
    let dest = TestNamespace::create(&client, "hostile-dest").await;
    let outside = tempfile::tempdir().unwrap();
    let secret = secret_file(outside.path());
    let tree = tempfile::tempdir().unwrap();
    hostile_tree(tree.path(), &secret);
    let server = GitServer::start();
    let url = server.create_repo("hostile", tree.path()).file_url();
    let ctl = Controller::start(&apps_ns.name, &["--max-render-objects", "10"]);

    let source = |path: &str, helm: Value| {
        let mut s = json!({"repoURL": url, "targetRevision": "main", "path": path});
        if !helm.is_null() {
            s["helm"] = helm;
        }
        json!({
            "source": s,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest.name},
            "syncPolicy": {"automated": {"prune": true}}
        })
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "plain",
            source("plain", Value::Null),
            "symbolic link plain/stolen.yaml points outside the repository",
        ),
        (
            "climb",
            source("climb", Value::Null),
            "symbolic link climb/up.yaml points outside the repository",
        ),
        (
            "koverlay",
            source("koverlay", Value::Null),
            "symbolic link kbase/stolen.yaml points outside the repository",
        ),
        (
            "kremote",
            source("kremote", Value::Null),
            "kremote/kustomization.yaml references the remote https://github.com/",
        ),
        (
            "hlink",
            source("hlink", Value::Null),
            "symbolic link hlink/templates/stolen.yaml points outside the repository",
        ),
        (
            "hvalues",
            source("hvalues", json!({"valueFiles": ["../../../secret.yaml"]})),
            "spec.source.helm.valueFiles entry \"../../../secret.yaml\" leaves the repository",
        ),
        (
            "hremote",
            source(
                "hvalues",
                json!({"valueFiles": ["https://example.invalid/v.yaml"]}),
            ),
            "remote value files are disabled (--allow-remote-value-files allows them)",
        ),
        (
            "outpath",
            source("../hostile.git", Value::Null),
            "spec.source.path \"../hostile.git\" leaves the repository",
        ),
        ("bomb", source("bomb", Value::Null), "bomb.yaml"),
        (
            "many",
            source("many", Value::Null),
            "the render has 12 objects, more than the limit of 10",
        ),
    ];
    for (name, spec, _) in &cases {
        apply_app(&client, &apps_ns.name, name, spec.clone()).await;
    }
    apply_app(&client, &apps_ns.name, "good", source("good", Value::Null)).await;

    for (name, _, expected) in &cases {
        let a = wait_app(&client, &apps_ns.name, name, "refused", 90, |a| {
            comparison_error(a).is_some()
        })
        .await;
        let msg = comparison_error(&a).unwrap();
        assert!(msg.contains(expected), "{name}: {msg}");
        assert!(
            !a.to_string().contains(MARKER),
            "{name}: the secret is in the status"
        );
    }
    wait_app(&client, &apps_ns.name, "good", "Synced", 90, synced_healthy).await;
    assert!(
        get(&client, "v1", "ConfigMap", Some(&dest.name), "shared-ok")
            .await
            .is_some()
    );

    // Nothing of the hostile apps was applied.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), &dest.name);
    let names: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    assert_eq!(names, ["shared-ok"], "hostile objects were applied");

    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(client.clone(), &apps_ns.name);
    let all =
        serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    assert!(!all.contains(MARKER), "the secret is in an event");
    assert!(
        !ctl.log_text().contains(MARKER),
        "the secret is in the controller log"
    );
}

/// A fake kustomize: a render of a `slow*` directory never ends, any other floods its output.
fn runaway_kustomize(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("kustomize");
    let body =
        "#!/bin/sh\ncase \"$2\" in\n  *slow*) exec sleep 600 ;;\n  *) exec yes 'a: 1' ;;\nesac\n";
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn runaway_tree(dir: &Path) {
    for app in ["slow", "flood"] {
        write(
            dir,
            &format!("{app}/kustomization.yaml"),
            "resources: [cm.yaml]\n",
        );
        write(dir, &format!("{app}/cm.yaml"), &cm(app));
    }
}

#[test]
fn moor_render_kills_a_renderer_past_its_timeout_or_its_output_limit() {
    let tools = tempfile::tempdir().unwrap();
    let bin = runaway_kustomize(tools.path());
    let tree = tempfile::tempdir().unwrap();
    runaway_tree(tree.path());
    let server = GitServer::start();
    let url = server.create_repo("runaway", tree.path()).file_url();
    let bin = bin.to_str().unwrap();
    let start = std::time::Instant::now();
    let r = render(
        &url,
        "slow",
        &["--kustomize-bin", bin, "--render-timeout", "2s"],
    );
    assert_refused(&r, "kustomize timed out after 2s");
    assert!(start.elapsed().as_secs() < 30, "{:?}", start.elapsed());
    let r = render(
        &url,
        "flood",
        &["--kustomize-bin", bin, "--max-render-bytes", "1MiB"],
    );
    assert_refused(
        &r,
        "the output of kustomize build is larger than the render limit of 1048576 bytes",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn controller_kills_a_renderer_past_its_timeout_or_its_output_limit() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "runaway-apps").await;
    let dest = TestNamespace::create(&client, "runaway-dest").await;
    let tools = tempfile::tempdir().unwrap();
    runaway_kustomize(tools.path());
    let tree = tempfile::tempdir().unwrap();
    runaway_tree(tree.path());
    let server = GitServer::start();
    let url = server.create_repo("runaway", tree.path()).file_url();
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let _ctl = Controller::start_with_env(
        &apps_ns.name,
        &["--render-timeout", "3s", "--max-render-bytes", "1MiB"],
        &[("PATH", &path)],
    );
    for (app, expected) in [
        ("slow", "kustomize timed out after 3s"),
        (
            "flood",
            "the output of kustomize build is larger than the render limit of 1048576 bytes",
        ),
    ] {
        let spec = json!({
            "source": {"repoURL": url, "targetRevision": "main", "path": app},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest.name},
            "syncPolicy": {"automated": {}}
        });
        apply_app(&client, &apps_ns.name, app, spec).await;
        let a = wait_app(&client, &apps_ns.name, app, "refused", 90, |a| {
            comparison_error(a).is_some()
        })
        .await;
        let msg = comparison_error(&a).unwrap();
        assert!(msg.contains(expected), "{app}: {msg}");
        assert!(
            get(&client, "v1", "ConfigMap", Some(&dest.name), app)
                .await
                .is_none(),
            "{app} was applied"
        );
    }
}

/// Serves `body` to every HTTP request on a free local port, for the life of the test.
fn serve(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
    });
    port
}

fn values_chart(dir: &Path) {
    write(
        dir,
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    );
    write(
        dir,
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote-values\ndata:\n  from: {{ .Values.from | default \"chart\" | quote }}\n",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_value_files_are_fetched_only_with_the_flag() {
    let client = client().await;
    let apps_ns = TestNamespace::create(&client, "remote-values-apps").await;
    let dest = TestNamespace::create(&client, "remote-values-dest").await;
    let values_url = format!("http://127.0.0.1:{}/values.yaml", serve("from: remote\n"));
    let tree = tempfile::tempdir().unwrap();
    values_chart(tree.path());
    let server = GitServer::start();
    let url = server.create_repo("values", tree.path()).file_url();

    let args = ["--helm-values-file", values_url.as_str()];
    assert_refused(
        &render(&url, "chart", &args),
        "remote value files are disabled",
    );
    let r = render(
        &url,
        "chart",
        &[&args[..], &["--allow-remote-value-files"]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("from: remote"), "{}", r.stdout);

    let _ctl = Controller::start(&apps_ns.name, &["--allow-remote-value-files"]);
    let spec = json!({
        "source": {"repoURL": url, "targetRevision": "main", "path": "chart",
                   "helm": {"valueFiles": [values_url]}},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": dest.name},
        "syncPolicy": {"automated": {}}
    });
    apply_app(&client, &apps_ns.name, "remote", spec).await;
    wait_app(
        &client,
        &apps_ns.name,
        "remote",
        "Synced",
        90,
        synced_healthy,
    )
    .await;
    let cm = get(
        &client,
        "v1",
        "ConfigMap",
        Some(&dest.name),
        "remote-values",
    )
    .await
    .unwrap();
    assert_eq!(cm["data"]["from"], "remote");
}

#[test]
fn kustomize_remote_bases_are_fetched_only_with_the_flag() {
    let server = GitServer::start();
    let base = tempfile::tempdir().unwrap();
    write(
        base.path(),
        "base/kustomization.yaml",
        "resources: [cm.yaml]\n",
    );
    write(base.path(), "base/cm.yaml", &cm("from-remote-base"));
    server.create_repo("base", base.path());
    let tree = tempfile::tempdir().unwrap();
    let remote = format!("{}//base?ref=main", server.http_url("base"));
    write(
        tree.path(),
        "app/kustomization.yaml",
        &format!("resources:\n- {remote}\n"),
    );
    let url = server.create_repo("app", tree.path()).file_url();
    assert_refused(
        &render(&url, "app", &[]),
        &format!("app/kustomization.yaml references the remote {remote}"),
    );
    assert!(
        server
            .http_requests()
            .iter()
            .all(|r| !r.contains("base.git")),
        "the remote base was fetched while refused"
    );
    let r = render(&url, "app", &["--allow-remote-bases"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("from-remote-base"), "{}", r.stdout);
    assert!(
        server
            .http_requests()
            .iter()
            .any(|r| r.contains("base.git")),
        "the server does not record fetches of the base, so the check above proves nothing"
    );
}
