//! Turns rendered manifests into desired objects: structure checks, kind resolution, default
//! namespace, ownership annotations and the applied hash. Every problem is collected, so a user
//! sees all invalid objects at once.

use std::collections::HashMap;

use kube::Client;
use moor_types::{
    ANNOTATION_APPLIED_HASH, ANNOTATION_TRACKING, LABEL_APP, Manifest, ObjKey, SyncOption,
    object_sync_options, option_flag, sync_wave, tracking_id,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{ObjectError, SyncError, about};
use crate::ignore::Ignored;
use crate::resolve::{Resolved, Resolver, from_crds, gvk_of};

/// An object ready to dry-run and apply.
#[derive(Clone, Debug)]
pub struct Desired {
    pub m: Manifest,
    pub key: ObjKey,
    pub res: Resolved,
    pub wave: i64,
    /// Fields left out of drift detection (`ignoreDifferences`).
    pub ignore: Ignored,
    /// Write the ignored fields at their live values (`RespectIgnoreDifferences=true`).
    pub keep_ignored_live: bool,
    /// Dry-run new objects with strict field validation; false when `Validate=false` holds
    /// (then `fieldValidation=Ignore`, and the dry-run is the apply's own, which still refuses
    /// fields the schema does not declare: the API server's rule for server-side apply).
    pub validate: bool,
    /// Its kind was not served at planning and `SkipDryRunOnMissingResource=true` holds: not
    /// dry-run, written only if the kind is served by then (`res` is a guess until it is).
    pub kind_missing: bool,
    /// `Replace=true` or `Force=true` applies to it: a dry-run refusing an immutable field
    /// makes it deleted and recreated, its deletion awaited at most this long.
    pub replace: Option<std::time::Duration>,
}

impl Desired {
    pub fn applied_hash(&self) -> &str {
        self.m.annotation(ANNOTATION_APPLIED_HASH).unwrap_or("")
    }

    /// The namespace its API path goes through: None for cluster-scoped kinds.
    pub fn api_namespace(&self) -> Option<&str> {
        self.key
            .namespace
            .as_deref()
            .filter(|_| self.res.namespaced)
    }
}

/// Validates and annotates `manifests` for `app`; namespaced objects without a namespace get
/// `namespace`. `app_options`: the app's sync options (`Validate`, `SkipDryRunOnMissingResource`),
/// each object's own annotation overriding them.
pub async fn prepare(
    client: &Client,
    resolver: &Resolver,
    manifests: Vec<Manifest>,
    app: &str,
    namespace: &str,
    app_options: &[SyncOption],
) -> Result<Vec<Desired>, SyncError> {
    let mut errors = Vec::new();
    let mut out: Vec<Desired> = Vec::with_capacity(manifests.len());
    let mut seen: HashMap<ObjKey, String> = HashMap::new();
    let all = manifests.clone();
    for mut m in manifests {
        let err = |m: &Manifest, reason: String| ObjectError {
            key: m.key(),
            origin: m.origin.clone(),
            reason,
        };
        if let Some(reason) = structure_problem(&m) {
            errors.push(err(&m, reason));
            continue;
        }
        let wave = match sync_wave(&m) {
            Ok(w) => w,
            Err(reason) => {
                errors.push(err(&m, reason));
                continue;
            }
        };
        let own = object_sync_options(|name| m.annotation(name).map(str::to_string));
        let flag = |which| option_flag(&own, app_options, which);
        let gvk = gvk_of(m.api_version(), m.kind());
        let resolved = resolver.resolve(client, &gvk).await;
        let mut kind_missing = false;
        let res = match resolved.map_err(about("look up the kind of", &m.key()))? {
            Some(r) => r,
            None => match from_crds(&all, &gvk) {
                Some(r) => r,
                // Its CRD may come from elsewhere (a controller, another app): wait for it.
                None if flag(SyncOption::SkipDryRunOnMissingResource) == Some(true) => {
                    kind_missing = true;
                    Resolved {
                        ar: kube::core::ApiResource::from_gvk(&gvk),
                        namespaced: true,
                        from_pending_crd: true,
                    }
                }
                None => {
                    let reason = format!(
                        "kind {} is not served by the API server (apiVersion {}); is its CRD installed?",
                        m.kind(),
                        m.api_version()
                    );
                    errors.push(err(&m, reason));
                    continue;
                }
            },
        };
        if res.namespaced {
            if m.namespace().is_none() {
                m.set_namespace(namespace);
            }
        } else if let Some(meta) = m.obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
        strip_server_fields(&mut m.obj);
        let key = m.key();
        if let Some(first) = seen.get(&key) {
            errors.push(err(&m, format!("defined twice (first in {first})")));
            continue;
        }
        seen.insert(key.clone(), m.origin.to_string());
        m.set_meta_entry("annotations", ANNOTATION_TRACKING, &tracking_id(app, &key));
        m.set_meta_entry("labels", LABEL_APP, &label_value(app));
        let hash = content_hash(&m.obj);
        m.set_meta_entry("annotations", ANNOTATION_APPLIED_HASH, &hash);
        out.push(Desired {
            m,
            key,
            res,
            wave,
            ignore: Ignored::default(),
            keep_ignored_live: false,
            validate: flag(SyncOption::Validate) != Some(false),
            kind_missing,
            replace: None,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(SyncError::Invalid(errors))
    }
}

fn structure_problem(m: &Manifest) -> Option<String> {
    if !m.obj.is_object() {
        return Some("is not a mapping".into());
    }
    let missing: Vec<&str> = [
        ("apiVersion", m.api_version()),
        ("kind", m.kind()),
        ("metadata.name", m.name()),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(f, _)| f)
    .collect();
    (!missing.is_empty()).then(|| format!("missing {}", missing.join(", ")))
}

/// Label values are limited to 63 characters of a restricted set; long app names are cut.
pub(crate) fn label_value(app: &str) -> String {
    let mut v: String = app
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    v.truncate(63);
    v.trim_end_matches(['-', '_', '.']).to_string()
}

/// Server-owned metadata in a manifest would make server-side apply fail or conflict.
fn strip_server_fields(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in [
            "resourceVersion",
            "uid",
            "managedFields",
            "selfLink",
            "generation",
            "creationTimestamp",
        ] {
            meta.remove(f);
        }
    }
}

fn content_hash(obj: &Value) -> String {
    let bytes = serde_json::to_vec(obj).expect("a JSON value serializes");
    let digest = Sha256::digest(&bytes);
    hex::encode(&digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use moor_types::Origin;
    use serde_json::json;

    #[test]
    fn structure_problems_name_every_missing_field() {
        let m = Manifest::new(
            json!({"kind": "ConfigMap", "metadata": {}}),
            Origin::default(),
        );
        assert_eq!(
            structure_problem(&m).unwrap(),
            "missing apiVersion, metadata.name"
        );
        let m = Manifest::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            Origin::default(),
        );
        assert_eq!(structure_problem(&m), None);
    }

    #[test]
    fn label_values_are_cut_to_63_valid_chars() {
        assert_eq!(label_value("shop"), "shop");
        assert_eq!(label_value(&"a".repeat(70)).len(), 63);
        assert_eq!(label_value("a/b-"), "ab");
    }

    #[test]
    fn content_hash_changes_with_content() {
        assert_ne!(
            content_hash(&json!({"a": 1})),
            content_hash(&json!({"a": 2}))
        );
        assert_eq!(
            content_hash(&json!({"a": 1})),
            content_hash(&json!({"a": 1}))
        );
    }
}
