//! `Engine::diff` on the local control plane: empty when in sync, the changed fields when not,
//! objects that would be pruned shown as removed, and a Secret's values never shown.

mod common;

use base64::Engine as _;
use common::{configmap, manifests, merge_patch, opts, setup, sync_ok};
use serde_json::json;

fn secret(name: &str, password: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  password: {password}\n"
    )
}

#[tokio::test]
async fn diff_is_empty_when_in_sync_and_shows_the_changed_fields_when_not() {
    let (client, engine, ns, app) = setup("diff-fields").await;
    let o = opts(&app, &ns.name);
    let yaml = [configmap("a", "old-value", ""), configmap("b", "same", "")].concat();
    sync_ok(&engine, &yaml, &o, "sync").await;
    let diffs = engine.diff(manifests(&yaml), &o).await.expect("diff");
    assert!(diffs.is_empty(), "in sync yet: {diffs:?}");

    // Git changes a; someone changes b's live value.
    let changed = [configmap("a", "new-value", ""), configmap("b", "same", "")].concat();
    merge_patch(
        &client,
        "v1",
        "ConfigMap",
        &ns.name,
        "b",
        json!({"data": {"key": "edited"}}),
    )
    .await;
    let diffs = engine.diff(manifests(&changed), &o).await.expect("diff");
    let names: Vec<_> = diffs.iter().map(|d| d.key.name.as_str()).collect();
    assert_eq!(names, ["a", "b"], "{diffs:#?}");
    let removed_added = |name: &str| -> (Vec<String>, Vec<String>) {
        let d = diffs.iter().find(|d| d.key.name == name).unwrap();
        let lines = |prefix: char| {
            d.unified
                .lines()
                .filter(|l| l.starts_with(prefix) && !l.starts_with("---") && !l.starts_with("+++"))
                .map(str::to_string)
                .collect()
        };
        (lines('-'), lines('+'))
    };
    let (removed, added) = removed_added("a");
    assert!(
        removed.len() == 1 && removed[0].contains("old-value"),
        "{removed:?}"
    );
    assert!(
        added.len() == 1 && added[0].contains("new-value"),
        "{added:?}"
    );
    let (removed, added) = removed_added("b");
    assert!(
        removed.len() == 1 && removed[0].contains("edited"),
        "{removed:?}"
    );
    assert!(added.len() == 1 && added[0].contains("same"), "{added:?}");

    // A diff writes nothing.
    let live = common::get(&client, "v1", "ConfigMap", &ns.name, "a")
        .await
        .unwrap();
    assert_eq!(live["data"]["key"], "old-value");
    ns.delete(&client).await;
}

#[tokio::test]
async fn diff_shows_objects_that_would_be_pruned_as_removed() {
    let (client, engine, ns, app) = setup("diff-prune").await;
    let mut o = opts(&app, &ns.name);
    let yaml = [configmap("a", "1", ""), configmap("gone", "1", "")].concat();
    sync_ok(&engine, &yaml, &o, "sync").await;
    o.prune = true;
    let diffs = engine
        .diff(manifests(&configmap("a", "1", "")), &o)
        .await
        .expect("diff");
    assert_eq!(diffs.len(), 1, "{diffs:#?}");
    assert_eq!(diffs[0].key.name, "gone");
    assert!(
        diffs[0].desired.is_none() && diffs[0].live.is_some(),
        "{:#?}",
        diffs[0]
    );
    assert!(
        common::get(&client, "v1", "ConfigMap", &ns.name, "gone")
            .await
            .is_some(),
        "diff deleted it"
    );
    ns.delete(&client).await;
}

#[tokio::test]
async fn a_secrets_values_are_masked_in_its_diff() {
    let (client, engine, ns, app) = setup("diff-secret").await;
    let o = opts(&app, &ns.name);
    sync_ok(&engine, &secret("s", "hunter2-old"), &o, "sync").await;
    let diffs = engine
        .diff(manifests(&secret("s", "hunter2-new")), &o)
        .await
        .expect("diff");
    assert_eq!(
        diffs.len(),
        1,
        "the changed Secret is not shown: {diffs:#?}"
    );
    let d = &diffs[0];
    let shown = format!(
        "{}\n{}\n{}",
        d.unified,
        d.live.as_deref().unwrap_or(""),
        d.desired.as_deref().unwrap_or("")
    );
    for plain in ["hunter2-old", "hunter2-new"] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(plain);
        assert!(
            !shown.contains(plain) && !shown.contains(&b64),
            "{plain} is shown:\n{shown}"
        );
    }
    assert!(shown.contains(moor_diff::MASK), "no mask in:\n{shown}");
    // Changed values are told apart from unchanged ones without showing them.
    assert!(
        d.unified.contains(moor_diff::MASK_LIVE) && d.unified.contains(moor_diff::MASK_DESIRED),
        "{}",
        d.unified
    );
    ns.delete(&client).await;
}
