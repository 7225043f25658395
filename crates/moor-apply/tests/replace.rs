//! Objects whose change touches an immutable field, on the local control plane: without
//! `Replace=true`/`Force=true` the sync fails before any write, naming the field and the option;
//! with either (on the object or the app) only that object is deleted and created again.

mod common;

use common::{change_of, configmap, configmap_rv, get, manifests, opts, setup, sync_ok};
use moor_apply::SyncError;
use moor_types::Change;

/// A Job named `migrate` running `image`, with extra metadata lines (already indented).
fn job(image: &str, extra_metadata: &str) -> String {
    format!(
        "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n{extra_metadata}spec:\n  \
         template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        \
         image: {image}\n"
    )
}

/// A Service named `web` with the fixed cluster IP `ip`.
fn service(ip: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: {ip}\n  \
         selector:\n    app: web\n  ports:\n  - port: 80\n"
    )
}

/// Two free-looking addresses in the test cluster's service range (10.96.0.0/16), picked from
/// the namespace's unique name so tests running at once do not ask for the same one.
fn cluster_ips(ns: &str) -> (String, String) {
    let h = ns
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    let third = 100 + h % 150;
    let fourth = 10 + (h / 150) % 200;
    (
        format!("10.96.{third}.{fourth}"),
        format!("10.96.{third}.{}", fourth + 1),
    )
}

async fn uid(client: &kube::Client, api_version: &str, kind: &str, ns: &str, name: &str) -> String {
    let live = get(client, api_version, kind, ns, name)
        .await
        .unwrap_or_else(|| panic!("{kind} {ns}/{name} does not exist"));
    live["metadata"]["uid"].as_str().expect("a uid").to_string()
}

#[tokio::test]
async fn a_changed_job_template_fails_before_any_write_naming_the_field_and_the_option() {
    let (client, engine, ns, app) = setup("replace-refused").await;
    let o = opts(&app, &ns.name);
    let first = [job("busybox:1", ""), configmap("settings", "1", "")].concat();
    sync_ok(&engine, &first, &o, "first sync").await;
    let job_uid = uid(&client, "batch/v1", "Job", &ns.name, "migrate").await;
    let rv = configmap_rv(&client, &ns.name, "settings").await;

    // The ConfigMap changes too: it must not be written, the Job's refusal comes first.
    let second = [job("busybox:2", ""), configmap("settings", "2", "")].concat();
    let err = engine
        .sync(manifests(&second), &o, &|_| {})
        .await
        .expect_err("a changed Job template without Replace=true must fail the sync");
    assert!(matches!(err, SyncError::Invalid(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("Job {}/migrate (test.yaml:", ns.name)),
        "{text}"
    );
    assert!(
        text.contains(
            "): spec.template: field is immutable; set the sync option Replace=true (or \
             Force=true) on the object or the app to delete and recreate it"
        ),
        "{text}"
    );
    assert_eq!(configmap_rv(&client, &ns.name, "settings").await, rv);
    assert_eq!(
        uid(&client, "batch/v1", "Job", &ns.name, "migrate").await,
        job_uid
    );
}

#[tokio::test]
async fn replace_true_on_a_job_recreates_it_and_touches_nothing_else() {
    let (client, engine, ns, app) = setup("replace-job").await;
    let mut o = opts(&app, &ns.name);
    let first = [job("busybox:1", ""), configmap("settings", "1", "")].concat();
    sync_ok(&engine, &first, &o, "first sync").await;
    let job_uid = uid(&client, "batch/v1", "Job", &ns.name, "migrate").await;
    let rv = configmap_rv(&client, &ns.name, "settings").await;

    let annotated = "  annotations:\n    argocd.argoproj.io/sync-options: Replace=true\n";
    let second = [job("busybox:2", annotated), configmap("settings", "1", "")].concat();
    // A dry run reports the replacement and leaves the Job alone.
    o.dry_run = true;
    let set = sync_ok(&engine, &second, &o, "dry run").await;
    assert_eq!(change_of(&set.objects, "migrate"), Change::Replaced);
    assert_eq!(
        uid(&client, "batch/v1", "Job", &ns.name, "migrate").await,
        job_uid
    );

    o.dry_run = false;
    let set = sync_ok(&engine, &second, &o, "a sync with Replace=true on the Job").await;
    assert_eq!(change_of(&set.objects, "migrate"), Change::Replaced);
    assert_eq!(change_of(&set.objects, "settings"), Change::Unchanged);
    let live = get(&client, "batch/v1", "Job", &ns.name, "migrate")
        .await
        .expect("the Job was created again");
    assert_ne!(
        live["metadata"]["uid"],
        job_uid.as_str(),
        "the Job was not recreated"
    );
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:2"
    );
    assert_eq!(configmap_rv(&client, &ns.name, "settings").await, rv);

    // In sync now: nothing is replaced again.
    let set = sync_ok(&engine, &second, &o, "resync").await;
    assert_eq!(change_of(&set.objects, "migrate"), Change::Unchanged);
}

#[tokio::test]
async fn a_changed_service_cluster_ip_is_refused_then_replaced_with_the_apps_force_option() {
    let (client, engine, ns, app) = setup("replace-svc").await;
    let mut o = opts(&app, &ns.name);
    let (ip, next_ip) = cluster_ips(&ns.name);
    let first = [service(&ip), configmap("settings", "1", "")].concat();
    sync_ok(&engine, &first, &o, "first sync").await;
    let svc_uid = uid(&client, "v1", "Service", &ns.name, "web").await;
    let rv = configmap_rv(&client, &ns.name, "settings").await;

    let second = [service(&next_ip), configmap("settings", "1", "")].concat();
    let err = engine
        .sync(manifests(&second), &o, &|_| {})
        .await
        .expect_err("a changed clusterIP without Replace/Force must fail the sync");
    let text = err.to_string();
    assert!(
        text.contains(&format!("Service {}/web (test.yaml:", ns.name))
            && text.contains("): spec.clusterIPs[0]: field is immutable")
            && text.contains("immutable; set the sync option Replace=true (or Force=true)"),
        "{text}"
    );
    assert_eq!(
        uid(&client, "v1", "Service", &ns.name, "web").await,
        svc_uid
    );

    o.force = true;
    let set = sync_ok(&engine, &second, &o, "a sync with the app's Force=true").await;
    assert_eq!(change_of(&set.objects, "web"), Change::Replaced);
    assert_eq!(change_of(&set.objects, "settings"), Change::Unchanged);
    let live = get(&client, "v1", "Service", &ns.name, "web")
        .await
        .expect("the Service was created again");
    assert_ne!(live["metadata"]["uid"], svc_uid.as_str());
    assert_eq!(live["spec"]["clusterIP"], next_ip.as_str());
    assert_eq!(configmap_rv(&client, &ns.name, "settings").await, rv);
}
