//! Jobs finish on the local control plane as on a real cluster: kwok's stages
//! (test-env/kwok/stages.yaml) make a Job's pod Succeed, or, marked with
//! `moor.dev/test-outcome`, fail (exit code 1) or run forever. Hook tests rely on all three.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use moor_testkit::{TestNamespace, client, eventually};
use serde_json::{Value, json};

/// Creates Job `name` with `backoffLimit: 0`; `template_meta` is its pod template's metadata.
async fn create_job(jobs: &Api<Job>, name: &str, template_meta: Value) {
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": template_meta,
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1.37", "command": ["true"]}]
                }
            }
        }
    }))
    .expect("job object");
    jobs.create(&PostParams::default(), &job)
        .await
        .unwrap_or_else(|e| panic!("create job {name}: {e}"));
}

/// The Job's finished condition: `Complete` or `Failed` with status True, if any.
fn finished(job: &Job) -> Option<String> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.clone())
}

async fn job_pods(pods: &Api<Pod>, job: &str) -> Vec<Pod> {
    pods.list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .expect("list pods")
        .items
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

#[tokio::test]
async fn an_unmarked_job_completes() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "kwok-job-ok").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns.name);
    create_job(&jobs, "ok", json!({})).await;

    let outcome = eventually("Job ok to finish", Duration::from_secs(60), || async {
        finished(&jobs.get("ok").await.ok()?)
    })
    .await;
    assert_eq!(outcome, "Complete");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let pods = job_pods(&pods, "ok").await;
    assert_eq!(pods.len(), 1);
    assert_eq!(phase(&pods[0]), Some("Succeeded"));
    ns.delete(&client).await;
}

#[tokio::test]
async fn a_job_marked_fail_fails_with_exit_code_1() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "kwok-job-fail").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns.name);
    create_job(
        &jobs,
        "bad",
        json!({"labels": {"moor.dev/test-outcome": "fail"}}),
    )
    .await;

    let outcome = eventually("Job bad to finish", Duration::from_secs(60), || async {
        finished(&jobs.get("bad").await.ok()?)
    })
    .await;
    assert_eq!(outcome, "Failed");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let pods = job_pods(&pods, "bad").await;
    assert_eq!(pods.len(), 1, "backoffLimit 0: one pod, no retry");
    assert_eq!(phase(&pods[0]), Some("Failed"));
    let exit_code = pods[0]
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.first())
        .and_then(|c| c.state.as_ref()?.terminated.as_ref())
        .map(|t| t.exit_code);
    assert_eq!(exit_code, Some(1));
    ns.delete(&client).await;
}

#[tokio::test]
async fn a_job_marked_hang_keeps_running() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "kwok-job-hang").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns.name);
    // The annotation form of the marker (the label form is tested above).
    create_job(
        &jobs,
        "stuck",
        json!({"annotations": {"moor.dev/test-outcome": "hang"}}),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    eventually(
        "the pod of Job stuck to run",
        Duration::from_secs(60),
        || async {
            let pods = job_pods(&pods, "stuck").await;
            pods.iter()
                .any(|p| phase(p) == Some("Running"))
                .then_some(())
        },
    )
    .await;

    // An unmarked Job's pod completes within about a second of running; give this one five.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let job = jobs.get("stuck").await.expect("get job stuck");
    assert_eq!(finished(&job), None, "Job stuck finished: {:?}", job.status);
    let pods = job_pods(&pods, "stuck").await;
    assert_eq!(pods.len(), 1);
    assert_eq!(phase(&pods[0]), Some("Running"));
    ns.delete(&client).await;
}
