//! Argo CD's sync options through `Engine::sync` and `Engine::compare` on the local control
//! plane: app-level (`SyncOptions::app_options`) and per object (`argocd.argoproj.io/sync-options`,
//! `moor.dev/sync-options`, `argocd.argoproj.io/compare-options`).

mod common;

use std::time::Duration;

use common::{Recorder, change_of, configmap, engine, get, manifests, opts, setup, sync_ok};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use moor_testkit::{TestNamespace, unique_name};
use moor_types::{Change, SyncOption};

fn pruning(app: &str, ns: &str, options: &[&str]) -> moor_apply::SyncOptions {
    let mut o = opts(app, ns);
    o.prune = true;
    o.app_options = options.iter().map(|s| SyncOption::parse(s)).collect();
    o
}

fn annotated(name: &str, key: &str, value: &str) -> String {
    configmap(
        name,
        "1",
        &format!("  annotations:\n    {key}: {value:?}\n"),
    )
}

async fn exists(client: &kube::Client, ns: &str, name: &str) -> bool {
    get(client, "v1", "ConfigMap", ns, name).await.is_some()
}

#[tokio::test]
async fn prune_last_objects_are_pruned_after_every_other_change() {
    let (client, engine, ns, app) = setup("so-prune-last").await;
    let o = pruning(&app, &ns.name, &[]);
    let first = [
        annotated(
            "z-last",
            "argocd.argoproj.io/sync-options",
            "PruneLast=true",
        ),
        configmap("b", "1", ""),
    ]
    .concat();
    sync_ok(&engine, &first, &o, "first sync").await;

    let rec = Recorder::default();
    let r = rec.clone();
    let set = engine
        .sync(manifests(&configmap("c", "1", "")), &o, &move |x| {
            r.record(x)
        })
        .await
        .expect("second sync");
    assert_eq!(change_of(&set.objects, "z-last"), Change::Pruned);
    assert_eq!(change_of(&set.objects, "b"), Change::Pruned);
    // Reverse apply order alone would prune "z-last" first.
    assert_eq!(rec.names(), ["c", "b", "z-last"]);
    assert!(!exists(&client, &ns.name, "z-last").await);
    ns.delete(&client).await;
}

#[tokio::test]
async fn app_level_prune_false_keeps_objects_unless_their_own_option_says_otherwise() {
    let (client, engine, ns, app) = setup("so-no-prune").await;
    let o = pruning(&app, &ns.name, &["Prune=false"]);
    let all = [
        configmap("keep", "1", ""),
        annotated("go", "moor.dev/sync-options", "Prune=true"),
        configmap("stay", "1", ""),
    ]
    .concat();
    sync_ok(&engine, &all, &o, "first sync").await;
    let set = sync_ok(&engine, &configmap("stay", "1", ""), &o, "second sync").await;
    assert_eq!(change_of(&set.objects, "keep"), Change::Skipped);
    assert_eq!(change_of(&set.objects, "go"), Change::Pruned);
    assert!(exists(&client, &ns.name, "keep").await);
    assert!(!exists(&client, &ns.name, "go").await);
    ns.delete(&client).await;
}

#[tokio::test]
async fn delete_false_keeps_an_object_when_the_app_is_deleted_but_not_from_a_prune() {
    let (client, engine, ns, app) = setup("so-delete").await;
    let o = pruning(&app, &ns.name, &[]);
    let all = [
        annotated("data", "argocd.argoproj.io/sync-options", "Delete=false"),
        annotated("pruned", "argocd.argoproj.io/sync-options", "Delete=false"),
        configmap("plain", "1", ""),
    ]
    .concat();
    sync_ok(&engine, &all, &o, "first sync").await;
    // Delete=false is about deleting the app: leaving Git still prunes.
    let kept = [
        annotated("data", "argocd.argoproj.io/sync-options", "Delete=false"),
        configmap("plain", "1", ""),
    ]
    .concat();
    let set = sync_ok(&engine, &kept, &o, "sync without pruned").await;
    assert_eq!(change_of(&set.objects, "pruned"), Change::Pruned);

    // What the finalizer does when the Application is deleted.
    let mut deleting = o.clone();
    deleting.deleting_app = true;
    let set = engine
        .sync(vec![], &deleting, &|_| {})
        .await
        .expect("app deletion");
    assert_eq!(change_of(&set.objects, "data"), Change::Skipped);
    assert_eq!(change_of(&set.objects, "plain"), Change::Pruned);
    assert!(exists(&client, &ns.name, "data").await);
    assert!(!exists(&client, &ns.name, "plain").await);
    ns.delete(&client).await;
}

#[tokio::test]
async fn orphan_propagation_leaves_the_children_of_a_pruned_object() {
    let (client, engine, ns, app) = setup("so-orphan").await;
    let o = pruning(&app, &ns.name, &["PrunePropagationPolicy=orphan"]);
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  \
        replicas: 0\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      \
        labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: \
        registry.invalid/web:1\n";
    let with_deployment = [deployment, &configmap("c", "1", "")].concat();
    sync_ok(&engine, &with_deployment, &o, "first sync").await;
    let rs_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns.name,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "ReplicaSet")),
    );
    let replica_sets = || async {
        rs_api
            .list(&ListParams::default())
            .await
            .expect("list ReplicaSets")
            .items
    };
    // kube-controller-manager makes the Deployment's ReplicaSet.
    let mut tries = 0;
    while replica_sets().await.is_empty() {
        tries += 1;
        assert!(tries < 120, "no ReplicaSet was created for the Deployment");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let set = sync_ok(
        &engine,
        &configmap("c", "1", ""),
        &o,
        "prune the Deployment",
    )
    .await;
    assert_eq!(change_of(&set.objects, "web"), Change::Pruned);
    // The garbage collector orphans the ReplicaSet (drops its owner) rather than deleting it.
    let mut tries = 0;
    loop {
        let rs = replica_sets().await;
        assert_eq!(
            rs.len(),
            1,
            "the ReplicaSet did not survive the orphaning prune"
        );
        let owners = rs[0].metadata.owner_references.clone().unwrap_or_default();
        let deployment_gone = get(&client, "apps/v1", "Deployment", &ns.name, "web")
            .await
            .is_none();
        if owners.is_empty() && deployment_gone {
            break;
        }
        tries += 1;
        assert!(tries < 120, "the ReplicaSet kept its owner: {owners:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ns.delete(&client).await;
}

#[tokio::test]
async fn skip_dry_run_on_missing_resource_waits_for_the_kind_instead_of_failing() {
    let (client, engine, ns, app) = setup("so-missing").await;
    let group = format!("{}.moor.test", unique_name("so"));
    let widget = |options: &str| {
        format!(
            "---\napiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w\n  annotations:\n    \
             argocd.argoproj.io/sync-options: {options:?}\nspec:\n  size: 1\n"
        )
    };
    let o = pruning(&app, &ns.name, &[]);
    let refused = engine
        .sync(manifests(&widget("Validate=true")), &o, &|_| {})
        .await
        .expect_err("an unserved kind fails planning");
    assert!(
        moor_types::error_chain(&refused).contains("is not served"),
        "{refused}"
    );

    let set_of = [
        widget("SkipDryRunOnMissingResource=true"),
        configmap("next", "1", ""),
    ]
    .concat();
    let set = sync_ok(&engine, &set_of, &o, "skipped, not failed").await;
    assert_eq!(change_of(&set.objects, "w"), Change::Skipped);
    assert_eq!(change_of(&set.objects, "next"), Change::Created);

    // The CRD arrives from elsewhere; the next sync applies the widget.
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: widgets.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names:\n    \
         plural: widgets\n    singular: widget\n    kind: Widget\n  versions:\n  - name: v1\n    \
         served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: \
         object\n        x-kubernetes-preserve-unknown-fields: true\n"
    );
    let crd_app = unique_name("so-missing-crd");
    let mut crd_opts = opts(&crd_app, &ns.name);
    crd_opts.wait = true;
    sync_ok(&engine, &crd, &crd_opts, "CRD").await;
    let mut tries = 0;
    let set = loop {
        // A fresh engine: discovery caches are per engine.
        let (_, fresh) = common::engine().await;
        let set = fresh
            .sync(manifests(&set_of), &o, &|_| {})
            .await
            .expect("sync once the CRD exists");
        if change_of(&set.objects, "w") == Change::Created || tries > 40 {
            break set;
        }
        tries += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(change_of(&set.objects, "w"), Change::Created);

    // The widgets first: a CRD that still holds another app's objects is never pruned.
    engine
        .sync(vec![], &o, &|_| {})
        .await
        .expect("widget pruned");
    let mut gone = opts(&crd_app, &ns.name);
    gone.prune = true;
    engine
        .sync(vec![], &gone, &|_| {})
        .await
        .expect("CRD pruned");
    ns.delete(&client).await;
}

#[tokio::test]
async fn fail_on_shared_resource_fails_before_any_write() {
    let (client, engine) = engine().await;
    let ns = TestNamespace::create(&client, "so-shared").await;
    let owner = unique_name("so-shared-a");
    engine
        .sync(
            manifests(&configmap("shared", "1", "")),
            &opts(&owner, &ns.name),
            &|_| {},
        )
        .await
        .expect("owner's sync");
    let other = unique_name("so-shared-b");
    let o = pruning(&other, &ns.name, &["FailOnSharedResource=true"]);
    let both = [configmap("mine", "1", ""), configmap("shared", "2", "")].concat();
    let err = engine
        .sync(manifests(&both), &o, &|_| {})
        .await
        .expect_err("another app's object");
    assert!(
        moor_types::error_chain(&err).contains("already managed by app"),
        "{err}"
    );
    assert!(
        !exists(&client, &ns.name, "mine").await,
        "written before failing"
    );
    ns.delete(&client).await;
}

#[tokio::test]
async fn ignore_extraneous_objects_do_not_make_the_app_out_of_sync() {
    let (client, engine, ns, app) = setup("so-extraneous").await;
    let o = pruning(&app, &ns.name, &[]);
    let all = [
        annotated(
            "ignored",
            "argocd.argoproj.io/compare-options",
            "IgnoreExtraneous",
        ),
        configmap("stays", "1", ""),
    ]
    .concat();
    sync_ok(&engine, &all, &o, "first sync").await;
    let cmp = engine
        .compare(manifests(&configmap("stays", "1", "")), &o)
        .await
        .expect("compare");
    assert_eq!(cmp.extra.len(), 1, "{:?}", cmp.extra);
    assert!(cmp.extra[0].synced);
    assert!(cmp.in_sync());

    let cmp = engine
        .compare(manifests(&annotated("ignored", "x", "y")), &o)
        .await
        .expect("compare");
    assert!(!cmp.in_sync(), "stays, not ignored, left Git");
    ns.delete(&client).await;
}

#[tokio::test]
async fn validate_false_applies_and_still_dry_runs_before_any_write() {
    let (client, engine, ns, app) = setup("so-validate").await;
    let o = pruning(&app, &ns.name, &["Validate=false"]);
    let set = sync_ok(&engine, &configmap("a", "1", ""), &o, "sync").await;
    assert_eq!(change_of(&set.objects, "a"), Change::Created);
    // Server-side apply refuses fields the schema does not declare whatever the validation
    // setting: the refusal comes from the dry-run, before anything is written.
    let bad = [
        configmap("b", "1", ""),
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nbogus: 1\n".to_string(),
    ]
    .concat();
    let err = engine
        .sync(manifests(&bad), &o, &|_| {})
        .await
        .expect_err("an undeclared field");
    assert!(
        moor_types::error_chain(&err).contains("dry-run failed"),
        "{err}"
    );
    assert!(!exists(&client, &ns.name, "b").await);
    ns.delete(&client).await;
}
