//! Objects whose change the API server refuses because a field of theirs is immutable (a Job's
//! template, a Service's clusterIP, a Deployment's selector, a StatefulSet's
//! volumeClaimTemplates). The dry-run finds them before any write; without `Replace=true` or
//! `Force=true` the sync fails there, naming the field and the option, and with either one the
//! object is deleted (foreground), awaited until gone and created again by server-side apply.
//!
//! Argo CD's `Replace=true` writes every object in its scope with `kubectl replace`/`create`.
//! moor keeps server-side apply for every object it can apply and deletes and recreates only
//! those whose dry-run reported an immutable field: a replace of an applicable object would drop
//! the fields other managers own and restart what need not restart.

use std::time::Duration;

use kube::Client;
use kube::api::{DeleteParams, Preconditions};
use moor_types::{Manifest, SyncOption, object_sync_options, option_flag};
use serde_json::Value;
use tokio::time::Instant;

use crate::SyncOptions;
use crate::error::{ObjectError, SyncError, api_reason, is_not_found};
use crate::plan::{Planned, api_for};

/// How often a deleted object is looked for while waiting for it to go.
const POLL: Duration = Duration::from_millis(250);

/// What the API server says (in a 422's causes) about a field that may not change. Kubernetes
/// has no machine-readable reason for it: `FieldValueInvalid` covers any bad value.
const IMMUTABLE_PHRASES: [&str; 3] = [
    "immutable",
    "may not change once set",
    "updates to statefulset spec for fields other than",
];

/// Whether `Replace=true` or `Force=true` applies to `m`: its own options (either annotation)
/// override the app's (`app_options`, else the engine's `replace`/`force`).
pub(crate) fn allowed(m: &Manifest, opts: &SyncOptions) -> bool {
    let own = object_sync_options(|a| m.annotation(a).map(str::to_string));
    let flag = |which| option_flag(&own, &opts.app_options, which);
    flag(SyncOption::Replace).unwrap_or(opts.replace)
        || flag(SyncOption::Force).unwrap_or(opts.force)
}

/// The fields a dry-run refused as immutable (empty when the server named none), or None when
/// the error is anything else, including a 422 with another cause besides (recreating the
/// object would not get past that one).
pub(crate) fn immutable_fields(e: &kube::Error) -> Option<Vec<String>> {
    let kube::Error::Api(s) = e else { return None };
    let immutable = |text: &str| IMMUTABLE_PHRASES.iter().any(|p| text.contains(p));
    if s.code != 422 {
        return None;
    }
    let causes = s
        .details
        .as_ref()
        .map(|d| &d.causes[..])
        .unwrap_or_default();
    if causes.is_empty() {
        return immutable(&s.message).then(Vec::new);
    }
    causes.iter().all(|c| immutable(&c.message)).then(|| {
        causes
            .iter()
            .map(|c| c.field.clone())
            .filter(|f| !f.is_empty())
            .collect()
    })
}

/// Why the dry-run of an object failed on `fields`, and the option that lets the sync through.
pub(crate) fn refusal(fields: &[String]) -> String {
    let what = match fields {
        [] => "a field it changes is immutable".to_string(),
        [one] => format!("{one}: field is immutable"),
        many => format!("{}: fields are immutable", many.join(", ")),
    };
    format!(
        "{what}; set the sync option Replace=true (or Force=true) on the object or the app to \
         delete and recreate it"
    )
}

/// Deletes the live object of `p` with foreground propagation (its dependents go first, so its
/// successor does not meet them) and waits until it is gone, at most `timeout`.
pub(crate) async fn delete_and_wait(
    client: &Client,
    p: &Planned,
    timeout: Duration,
) -> Result<(), SyncError> {
    let fail = |reason: String| {
        SyncError::Apply(ObjectError {
            key: p.d.key.clone(),
            origin: p.d.m.origin.clone(),
            reason,
        })
    };
    let api = api_for(client, &p.d);
    let name = &p.d.key.name;
    let uid = p
        .live
        .as_ref()
        .and_then(|l| l.pointer("/metadata/uid"))
        .and_then(Value::as_str);
    let mut dp = DeleteParams::foreground();
    // Only the object the dry-run was about: one recreated meanwhile is someone else's doing.
    dp.preconditions = uid.map(|uid| Preconditions {
        uid: Some(uid.to_string()),
        resource_version: None,
    });
    match api.delete(name, &dp).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(fail(format!(
                "failed to delete it to recreate it (a field it changes is immutable): {}",
                api_reason(&e)
            )));
        }
    }
    let deadline = Instant::now() + timeout;
    loop {
        match api.get_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(o)) if o.metadata.uid.as_deref() != uid => return Ok(()),
            Ok(Some(_)) => {}
            Err(e) => {
                return Err(fail(format!(
                    "failed to read it while waiting for its deletion: {}",
                    api_reason(&e)
                )));
            }
        }
        if Instant::now() >= deadline {
            return Err(fail(format!(
                "deleted to be recreated (a field it changes is immutable), but still there \
                 after {}s (foreground deletion waits for its dependents to go first)",
                timeout.as_secs_f64()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    /// A 422 as the API server sends it (JSON), with `causes` as (field, message).
    fn invalid(message: &str, causes: &[(&str, &str)]) -> kube::Error {
        let causes: Vec<Value> = causes
            .iter()
            .map(|(field, message)| {
                serde_json::json!({"reason": "FieldValueInvalid", "message": message, "field": field})
            })
            .collect();
        let s: Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "message": message, "reason": "Invalid", "code": 422,
            "details": {"causes": causes},
        }))
        .expect("a Status");
        kube::Error::Api(s.boxed())
    }

    #[test]
    fn immutable_fields_are_named_from_the_causes() {
        // As kube-apiserver v1.34 words a Job's changed template and a Service's changed IP.
        let job = invalid(
            "Job.batch \"m\" is invalid: spec.template: Invalid value: {}: field is immutable",
            &[("spec.template", "Invalid value: {}: field is immutable")],
        );
        assert_eq!(immutable_fields(&job), Some(vec!["spec.template".into()]));
        let svc = invalid(
            "Service \"s\" is invalid: spec.clusterIPs[0]: Invalid value: [\"10.96.0.9\"]: may not change once set",
            &[(
                "spec.clusterIPs[0]",
                "Invalid value: [\"10.96.0.9\"]: may not change once set",
            )],
        );
        assert_eq!(
            immutable_fields(&svc),
            Some(vec!["spec.clusterIPs[0]".into()])
        );
        assert_eq!(
            immutable_fields(&invalid("x: field is immutable", &[])),
            Some(vec![])
        );
    }

    #[test]
    fn other_invalid_values_are_not_immutable_fields() {
        let mixed = invalid(
            "…",
            &[
                ("spec.selector", "Invalid value: {}: field is immutable"),
                (
                    "spec.replicas",
                    "Invalid value: -1: must be greater than or equal to 0",
                ),
            ],
        );
        assert_eq!(immutable_fields(&mixed), None);
        let bad_name = invalid("metadata.name: Invalid value: \"Bad_Name\"", &[]);
        assert_eq!(immutable_fields(&bad_name), None);
        let forbidden = kube::Error::Api(
            Status::failure("spec: field is immutable", "Forbidden")
                .with_code(403)
                .boxed(),
        );
        assert_eq!(immutable_fields(&forbidden), None);
    }

    #[test]
    fn the_refusal_names_the_field_and_the_option() {
        assert_eq!(
            refusal(&["spec.template".into()]),
            "spec.template: field is immutable; set the sync option Replace=true (or Force=true) \
             on the object or the app to delete and recreate it"
        );
        assert!(refusal(&["a".into(), "b".into()]).starts_with("a, b: fields are immutable;"));
    }

    #[test]
    fn an_objects_own_option_overrides_the_apps() {
        let m = |annotations: Value| {
            Manifest::new(
                serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"name": "m", "annotations": annotations}}),
                Default::default(),
            )
        };
        let mut opts = SyncOptions::new("a", "ns");
        assert!(!allowed(&m(serde_json::json!({})), &opts));
        let argo = m(serde_json::json!({"argocd.argoproj.io/sync-options": "Replace=true"}));
        assert!(allowed(&argo, &opts));
        let moor = m(serde_json::json!({"moor.dev/sync-options": "Validate=false,Force=true"}));
        assert!(allowed(&moor, &opts));
        opts.app_options = vec![SyncOption::Force(true)];
        assert!(allowed(&m(serde_json::json!({})), &opts));
        opts.app_options = vec![];
        opts.replace = true;
        assert!(allowed(&m(serde_json::json!({})), &opts));
        let refused = m(serde_json::json!({"moor.dev/sync-options": "Replace=false"}));
        assert!(!allowed(&refused, &opts));
    }
}
