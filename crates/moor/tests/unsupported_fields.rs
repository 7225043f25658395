//! End to end: fields moor does not implement are never ignored silently (issue 14). One that
//! would change what is applied (a plugin source) stops the app before anything is written;
//! one that only informs (`spec.info`) is a warning, and the app syncs. A requested sync moor
//! cannot run as written (`syncStrategy.apply`, a sync without hooks) fails naming the field.

mod common;

use common::apps::{apply_app, spec, synced_healthy, wait_app};
use common::controller::Controller;
use common::tenancy::*;
use common::{get, moor_ok, write};
use moor_testkit::{GitServer, TestNamespace, client};
use serde_json::json;

const ARGO: &str = "argoproj.io/v1alpha1";

#[tokio::test(flavor = "multi_thread")]
async fn an_argo_cd_plugin_source_is_named_and_nothing_is_written() {
    let client = client().await;
    let home = TestNamespace::create(&client, "unsupported").await;
    let dest = TestNamespace::create(&client, "unsupported-dest").await;
    let server = GitServer::start();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/settings.yaml", &cm("settings", "v1"));
    let repo = server.create_repo("plugin", src.path());
    let url = server.file_url("plugin");
    let _ctl = Controller::start(&home.name, &["--namespace", &home.name, "--argocd-compat"]);
    let app = |source: serde_json::Value| {
        json!({"apiVersion": ARGO, "kind": "Application",
               "metadata": {"name": "guestbook", "namespace": home.name},
               "spec": {"project": "default",
                        "source": source,
                        "destination": {"server": HOME, "namespace": dest.name},
                        "info": [{"name": "owner", "value": "team-a"}],
                        "syncPolicy": {"automated": {"prune": true}}}})
    };
    let plain = json!({"repoURL": url, "targetRevision": "main", "path": "app"});
    let mut with_plugin = plain.clone();
    with_plugin["plugin"] = json!({"name": "argocd-vault-plugin"});
    apply(&client, app(with_plugin)).await;

    let get_app = || get(&client, ARGO, "Application", Some(&home.name), "guestbook");
    let msg = moor_testkit::eventually(
        "the plugin source to be refused",
        std::time::Duration::from_secs(90),
        || async { condition(&get_app().await?, "InvalidSpecError") },
    )
    .await;
    assert!(msg.contains("spec.source.plugin"), "{msg}");
    let a = get_app().await.unwrap();
    let warning = condition(&a, "InvalidSpecWarning").unwrap_or_default();
    assert!(warning.contains("spec.info"), "{warning}");
    assert_ne!(a["status"]["sync"]["status"], "Synced", "{a}");
    // The controller has looked (the condition) and wrote nothing of the app's path.
    assert!(
        configmap_value(&client, &dest.name, "settings")
            .await
            .is_none()
    );
    let shown = moor_ok(
        &[
            "app",
            "get",
            "guestbook",
            "-n",
            &home.name,
            "--group",
            "argoproj.io",
        ],
        &[],
    )
    .stdout;
    assert!(
        shown.contains("Spec Error:") && shown.contains("spec.source.plugin"),
        "{shown}"
    );

    // Without the plugin the same app syncs: the path did hold what was not written.
    apply(&client, app(plain.clone())).await;
    moor_testkit::eventually(
        "the app to sync without the plugin",
        std::time::Duration::from_secs(90),
        || async {
            let a = get_app().await?;
            let synced = a["status"]["sync"]["status"] == "Synced"
                && condition(&a, "InvalidSpecError").is_none();
            configmap_value(&client, &dest.name, "settings")
                .await
                .filter(|_| synced)
        },
    )
    .await;

    // A requested sync without hooks of a new commit, the app synced by hand only, is not run
    // as a plain sync: it fails naming the field, is cleared, and the object keeps its value.
    let mut manual = app(plain);
    manual["spec"].as_object_mut().unwrap().remove("syncPolicy");
    apply(&client, manual.clone()).await;
    let work = repo.clone_work();
    work.write("app/settings.yaml", cm("settings", "v2"));
    work.commit_and_push("v2");
    let mut dry_run = manual;
    dry_run["operation"] = json!({"initiatedBy": {"username": "test"},
                                  "sync": {"syncStrategy": {"apply": {}}, "prune": true}});
    apply(&client, dry_run).await;
    moor_testkit::eventually(
        "the sync without hooks to fail",
        std::time::Duration::from_secs(90),
        || async {
            let a = get_app().await?;
            let msg = a["status"]["operationState"]["message"].as_str()?;
            (a["status"]["operationState"]["phase"] == "Failed"
                && msg.contains("operation.sync.syncStrategy.apply")
                && a.get("operation").is_none())
            .then_some(())
        },
    )
    .await;
    assert_eq!(
        configmap_value(&client, &dest.name, "settings")
            .await
            .as_deref(),
        Some("v1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spec_info_is_a_warning_and_the_app_syncs() {
    let client = client().await;
    let home = TestNamespace::create(&client, "unsupported-info").await;
    let dest = TestNamespace::create(&client, "unsupported-info-dest").await;
    let server = settings_repo("info", "v1");
    let url = server.file_url("info");
    let _ctl = Controller::start(&home.name, &[]);
    let mut s = spec(&url, "app", &dest.name, json!({"prune": true}));
    s["info"] = json!([{"name": "docs", "value": "https://example.com/docs"}]);
    apply_app(&client, &home.name, "a", s).await;
    let a = wait_app(&client, &home.name, "a", "synced with a warning", 90, |a| {
        synced_healthy(a) && condition(a, "InvalidSpecWarning").is_some()
    })
    .await;
    let warning = condition(&a, "InvalidSpecWarning").unwrap();
    assert!(warning.contains("spec.info"), "{warning}");
    assert_eq!(
        configmap_value(&client, &dest.name, "settings")
            .await
            .as_deref(),
        Some("v1")
    );
    let shown = moor_ok(&["app", "get", "a", "-n", &home.name], &[]).stdout;
    assert!(
        shown.contains("InvalidSpecWarning") && shown.contains("spec.info"),
        "{shown}"
    );
    assert!(!shown.contains("Spec Error:"), "{shown}");
}
