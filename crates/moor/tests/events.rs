//! End to end: the controller's Events on a real API server (`moor_controller::events`): a
//! repeat within the window is counted on the first Event, another note is a new Event.

use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::Resource;
use kube::api::{Api, ListParams, PostParams};
use moor_controller::events::{Event, EventType, Recorder, Reporter};
use moor_testkit::{TestNamespace, client};

fn ev(type_: EventType, reason: &str, note: &str) -> Event {
    Event {
        type_,
        reason: reason.into(),
        note: Some(note.into()),
        action: "Reconcile".into(),
        secondary: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn repeats_are_counted_on_one_event_and_new_notes_are_new_events() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "events").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"}
    }))
    .unwrap();
    let cm = cms.create(&PostParams::default(), &cm).await.unwrap();
    let regarding: ObjectReference = cm.object_ref(&());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "moor-controller".into(),
            instance: Some("test-replica".into()),
        },
    );

    let applied_a = ev(
        EventType::Normal,
        "SyncSucceeded",
        "applied 3 objects at a1",
    );
    for _ in 0..3 {
        recorder.publish(&applied_a, &regarding).await.unwrap();
    }
    // Same reason, another note: its own Event, not a fourth count of the first.
    let applied_b = ev(
        EventType::Normal,
        "SyncSucceeded",
        "applied 3 objects at b2",
    );
    recorder.publish(&applied_b, &regarding).await.unwrap();
    let failed = ev(EventType::Warning, "SyncFailed", "ConfigMap ns/web: denied");
    recorder.publish(&failed, &regarding).await.unwrap();

    let events: Api<K8sEvent> = Api::namespaced(client.clone(), &ns.name);
    let mut got: Vec<(String, String, String, i32)> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            assert_eq!(e.regarding.as_ref().unwrap().uid, cm.metadata.uid);
            assert_eq!(e.reporting_controller.as_deref(), Some("moor-controller"));
            assert_eq!(e.reporting_instance.as_deref(), Some("test-replica"));
            assert_eq!(e.action.as_deref(), Some("Reconcile"));
            (
                e.type_.unwrap(),
                e.reason.unwrap(),
                e.note.unwrap(),
                e.series.map_or(1, |s| s.count),
            )
        })
        .collect();
    got.sort();
    let want = |t: &str, r: &str, n: &str, c: i32| (t.into(), r.into(), n.into(), c);
    assert_eq!(
        got,
        vec![
            want("Normal", "SyncSucceeded", "applied 3 objects at a1", 3),
            want("Normal", "SyncSucceeded", "applied 3 objects at b2", 1),
            want("Warning", "SyncFailed", "ConfigMap ns/web: denied", 1),
        ]
    );

    // A counted Event deleted meanwhile (by hand, or the API server's TTL): the next repeat
    // writes a new one rather than failing.
    let first = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|e| e.note.as_deref() == Some("applied 3 objects at a1"))
        .unwrap();
    events
        .delete(first.metadata.name.as_deref().unwrap(), &Default::default())
        .await
        .unwrap();
    recorder.publish(&applied_a, &regarding).await.unwrap();
    let notes: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| e.note)
        .filter(|n| n == "applied 3 objects at a1")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
}
