//! Fields of an Application that moor does not implement (issue 14, "Nothing ignored"). The
//! stored spec is read as JSON, unknown fields included (Argo CD's CRD, and ours under
//! `kustomize`, keep them), and every field moor does not implement is named by its JSON path:
//! one that would change what is rendered or applied stops the app before anything is fetched
//! (an `InvalidSpecError`); one that only informs (`spec.info`, a tool version) is a warning.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use kube::api::{Api, DynamicObject};

use crate::context::Ctx;
use crate::crd::{Application, ApplicationSpec, ApplicationStatus, Operation};
use crate::tenancy::Refusal;
use moor_types::ConditionType;

/// What ignoring a field would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Something else would be rendered or applied than the spec says: the app is not synced.
    Changes,
    /// Nothing applied would differ (information, a tool version): a warning only.
    Ignored,
}

/// One field of the stored spec that moor does not implement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// Its JSON path, e.g. `spec.source.plugin` or `spec.ignoreDifferences[0].jqPathExpressions`.
    pub path: String,
    /// Whether ignoring it would change what is applied.
    pub effect: Effect,
    /// What it is, in a few words.
    pub what: &'static str,
}

/// How moor treats one field of the spec.
#[derive(Clone, Copy)]
enum Field {
    /// Implemented; its content is the business of what reads it (renderer, engine).
    Done,
    /// Implemented; an object whose own fields are checked against the list.
    Object(&'static [(&'static str, Field)]),
    /// Implemented; a list of objects, each checked against the list.
    Items(&'static [(&'static str, Field)]),
    /// Implemented at this value only (`automated.enabled: true`, `dryRun: false`); another
    /// value would change what is done.
    Only(bool, &'static str),
    /// Not implemented, and it would change what is rendered or applied.
    Changes(&'static str),
    /// Not implemented, and it changes nothing applied.
    Ignored(&'static str),
}

use Field::*;

const SPEC: &[(&str, Field)] = &[
    ("project", Done),
    ("serviceAccountName", Done),
    ("source", Object(SOURCE)),
    (
        "destination",
        Object(&[("server", Done), ("name", Done), ("namespace", Done)]),
    ),
    ("syncPolicy", Object(SYNC_POLICY)),
    ("ignoreDifferences", Items(IGNORE_DIFFERENCES)),
    ("dependsOn", Items(&[("name", Done), ("namespace", Done)])),
    ("healthCheckExprs", Done),
    ("revisionHistoryLimit", Done),
    ("pollInterval", Done),
    ("suspend", Done),
    ("postBuild", Object(POST_BUILD)),
    ("sources", Items(SOURCE)),
    ("sourceHydrator", Changes("source hydration")),
    ("info", Ignored("information for Argo CD's UI")),
];

const POST_BUILD: &[(&str, Field)] = &[
    ("substitute", Done),
    (
        "substituteFrom",
        Items(&[("kind", Done), ("name", Done), ("optional", Done)]),
    ),
];

const SOURCE: &[(&str, Field)] = &[
    ("repoURL", Done),
    ("targetRevision", Done),
    ("path", Done),
    ("directory", Object(DIRECTORY)),
    ("kustomize", Object(KUSTOMIZE)),
    ("helm", Object(HELM)),
    ("chart", Done),
    ("plugin", Changes("config management plugins")),
    ("ref", Done),
    ("name", Done),
];

const DIRECTORY: &[(&str, Field)] = &[
    ("recurse", Done),
    ("include", Done),
    ("exclude", Done),
    ("jsonnet", Object(JSONNET)),
];

const JSONNET_VAR: &[(&str, Field)] = &[("name", Done), ("value", Done), ("code", Done)];

const JSONNET: &[(&str, Field)] = &[
    ("extVars", Items(JSONNET_VAR)),
    ("tlas", Items(JSONNET_VAR)),
    ("libs", Done),
];

const KUSTOMIZE: &[(&str, Field)] = &[
    ("images", Done),
    ("namePrefix", Done),
    ("nameSuffix", Done),
    ("commonLabels", Done),
    ("commonAnnotations", Done),
    ("namespace", Done),
    ("replicas", Done),
    ("patches", Done),
    ("components", Done),
    (
        "version",
        Ignored("the kustomize version: moor's built-in one renders"),
    ),
];

const HELM: &[(&str, Field)] = &[
    ("valueFiles", Done),
    ("values", Done),
    ("valuesObject", Done),
    ("releaseName", Done),
    ("parameters", Done),
    ("skipCrds", Done),
    ("ignoreMissingValueFiles", Done),
    ("namespace", Done),
    ("passCredentials", Done),
    (
        "version",
        Ignored("the Helm version: the installed helm renders"),
    ),
];

const SYNC_POLICY: &[(&str, Field)] = &[
    (
        "automated",
        Object(&[
            ("prune", Done),
            ("selfHeal", Done),
            ("allowEmpty", Done),
            ("enabled", Only(true, "automated sync switched off")),
        ]),
    ),
    ("syncOptions", Done),
    (
        "retry",
        Object(&[
            ("limit", Done),
            (
                "backoff",
                Object(&[("duration", Done), ("factor", Done), ("maxDuration", Done)]),
            ),
            ("refresh", Ignored("refreshing between retries")),
        ]),
    ),
    (
        "managedNamespaceMetadata",
        Changes("labels and annotations of the created namespace"),
    ),
];

const IGNORE_DIFFERENCES: &[(&str, Field)] = &[
    ("group", Done),
    ("kind", Done),
    ("name", Done),
    ("namespace", Done),
    ("jsonPointers", Done),
    ("managedFieldsManagers", Done),
    ("jqPathExpressions", Changes("jq path expressions")),
];

/// A requested operation (`operation`), as Argo CD and `moor app sync` write it.
const OPERATION: &[(&str, Field)] = &[
    ("sync", Object(OPERATION_SYNC)),
    ("initiatedBy", Done),
    ("info", Ignored("information for Argo CD's UI")),
    ("retry", Ignored("retries of a requested sync")),
];

const OPERATION_SYNC: &[(&str, Field)] = &[
    ("revision", Done),
    ("prune", Done),
    ("dryRun", Done),
    (
        "syncStrategy",
        Object(&[
            // The default strategy, and the only one moor has: apply, running hooks.
            ("hook", Object(&[("force", Only(false, "a forced sync"))])),
            ("apply", Changes("a sync without hooks")),
        ]),
    ),
    (
        "resources",
        Items(&[
            ("group", Done),
            ("kind", Done),
            ("namespace", Done),
            ("name", Done),
        ]),
    ),
    ("syncOptions", Changes("sync options of one sync")),
    ("source", Changes("a sync of another source")),
    ("sources", Changes("a sync of other sources")),
    ("revisions", Done),
    ("manifests", Changes("a sync of given manifests")),
    (
        "autoHealAttemptsCount",
        Ignored("Argo CD's self-heal count"),
    ),
    (
        "selfHealAttemptsCount",
        Ignored("Argo CD's self-heal count"),
    ),
];

/// The fields of `spec` (the stored object's, as JSON) moor does not implement, in the order
/// they are written. A field that is null or an empty list counts as absent, as in Argo CD.
pub fn fields(spec: &Value) -> Vec<Unsupported> {
    let mut found = vec![];
    walk(spec, SPEC, "spec", &mut found);
    found
}

/// The fields of a requested `operation` (as JSON) moor does not implement.
pub fn operation_fields(operation: &Value) -> Vec<Unsupported> {
    let mut found = vec![];
    walk(operation, OPERATION, "operation", &mut found);
    found
}

fn walk(value: &Value, known: &[(&str, Field)], at: &str, found: &mut Vec<Unsupported>) {
    let Some(map) = value.as_object() else {
        return;
    };
    for (key, v) in map {
        if v.is_null() || v.as_array().is_some_and(|a| a.is_empty()) {
            continue;
        }
        let path = format!("{at}.{key}");
        let mut report = |effect, what| {
            found.push(Unsupported {
                path: path.clone(),
                effect,
                what,
            })
        };
        match known.iter().find(|(k, _)| k == key).map(|(_, f)| *f) {
            Some(Done) => {}
            Some(Object(fields)) => walk(v, fields, &path, found),
            Some(Items(fields)) => {
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    walk(item, fields, &format!("{path}[{i}]"), found);
                }
            }
            Some(Only(b, what)) if v != &Value::Bool(b) => report(Effect::Changes, what),
            Some(Only(..)) => {}
            Some(Changes(what)) => report(Effect::Changes, what),
            Some(Ignored(what)) => report(Effect::Ignored, what),
            None => report(Effect::Changes, "a field moor does not know"),
        }
    }
}

/// Reads `spec` as stored and records in it the fields moor does not implement: the typed spec
/// drops them, and the controller must not ignore them silently.
pub(crate) fn spec_with_unsupported<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<ApplicationSpec, D::Error> {
    let raw = Value::deserialize(d)?;
    let mut spec: ApplicationSpec =
        serde_json::from_value(raw.clone()).map_err(serde::de::Error::custom)?;
    spec.unsupported = fields(&raw);
    Ok(spec)
}

/// The reconcile step: an `InvalidSpecWarning` naming the ignored fields, and the refusal
/// (the app is not synced: nothing fetched or written) naming those that change what is applied.
pub(crate) fn check(status: &mut ApplicationStatus, spec: &ApplicationSpec) -> Option<Refusal> {
    let v = verdict(spec);
    if let Some(msg) = &v.warning {
        crate::status::condition(status, ConditionType::InvalidSpecWarning, msg);
    }
    v.refusal
}

/// Why a requested operation is not run as the app's copy has it.
pub(crate) enum Stop {
    /// It has a field moor does not implement that would change what it does.
    Refused(Refusal),
    /// The stored object could not be read.
    Unreadable(String),
    /// The stored operation is gone or another: this copy of the app is older than the stored
    /// one (the operation was handled or replaced), and the newer copy's reconcile follows.
    Stale,
}

/// The reconcile step for a requested operation: one with a field moor does not implement that
/// would change what it does (`dryRun: true`, `resources`, ...) is refused naming it, before
/// anything is fetched or written. Read from the stored object, as the typed operation drops
/// such fields; only when an operation is pending (a manual sync), so polls cost nothing. An
/// operation is only ever run as it was checked: a copy whose operation is no longer the stored
/// one is `Stale`. Fields that change nothing done (`info`) are left: the operation is gone
/// once it ran.
pub(crate) async fn check_operation(app: &Application, ctx: &Ctx) -> Result<(), Stop> {
    if crate::decide::operation_to_run(app).is_none() {
        return Ok(());
    }
    let ns = app.metadata.namespace.as_deref().unwrap_or_default();
    let name = app.metadata.name.as_deref().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.shared.home.clone(), ns, &ctx.ar);
    let stored = api
        .get_opt(name)
        .await
        .map_err(|e| Stop::Unreadable(format!("reading the requested operation: {e}")))?;
    let stored = stored.as_ref().and_then(|o| o.data.get("operation"));
    let same = stored.and_then(|op| serde_json::from_value::<Operation>(op.clone()).ok());
    let Some(op) = stored.filter(|_| same.as_ref() == app.operation.as_ref()) else {
        return Err(Stop::Stale);
    };
    let named: Vec<String> = operation_fields(op)
        .into_iter()
        .filter(|u| u.effect == Effect::Changes)
        .map(|u| format!("{} ({})", u.path, u.what))
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    Err(Stop::Refused(Refusal {
        condition: ConditionType::InvalidSpecError,
        message: format!(
            "the requested sync is not run: moor does not implement {}",
            named.join(", ")
        ),
    }))
}

/// What the controller makes of a spec's unsupported fields.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Names the fields that change nothing applied.
    pub warning: Option<String>,
    /// Names the fields that would change what is applied.
    pub refusal: Option<Refusal>,
}

pub(crate) fn verdict(spec: &ApplicationSpec) -> Verdict {
    let list = |effect| {
        let named: Vec<String> = spec
            .unsupported
            .iter()
            .filter(|u| u.effect == effect)
            .map(|u| format!("{} ({})", u.path, u.what))
            .collect();
        (!named.is_empty()).then(|| named.join(", "))
    };
    Verdict {
        warning: list(Effect::Ignored)
            .map(|l| format!("moor does not implement, and ignores: {l}")),
        refusal: list(Effect::Changes).map(|l| Refusal {
            condition: ConditionType::InvalidSpecError,
            message: format!(
                "not synced: moor does not implement {l}, and cannot render the app as written"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(spec: Value) -> Vec<(String, Effect)> {
        fields(&spec)
            .into_iter()
            .map(|u| (u.path, u.effect))
            .collect()
    }

    #[test]
    fn what_moor_implements_is_not_listed() {
        let spec = json!({
            "project": "default",
            "source": {"repoURL": "https://example.com/r.git", "targetRevision": "HEAD",
                       "path": "app", "directory": {"recurse": true, "include": "*.yaml",
                           "jsonnet": {"extVars": [{"name": "e", "value": "v", "code": false}],
                                       "tlas": [{"name": "t", "value": "1", "code": true}],
                                       "libs": ["vendor"]}},
                       "kustomize": {"images": ["nginx:1.27"], "namePrefix": "p-",
                                     "patches": [{"patch": "x", "unknownInside": 1}]},
                       "helm": {"valueFiles": ["v.yaml"], "valuesObject": {"a": 1},
                                "parameters": [{"name": "a", "value": "1"}], "skipCrds": true}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true, "enabled": true},
                           "syncOptions": ["CreateNamespace=true"],
                           "retry": {"limit": 2, "backoff": {"duration": "5s"}}},
            "ignoreDifferences": [{"group": "apps", "kind": "Deployment",
                                   "jsonPointers": ["/spec/replicas"]}],
            "dependsOn": [{"name": "db"}],
            "healthCheckExprs": [{"apiVersion": "v1", "kind": "X", "current": "true"}],
            "revisionHistoryLimit": 3, "pollInterval": "30s", "suspend": false,
            "sources": [], "info": null,
            "postBuild": {"substitute": {"a": "b"},
                          "substituteFrom": [{"kind": "Secret", "name": "s", "optional": true}]},
        });
        assert_eq!(paths(spec), vec![]);
    }

    #[test]
    fn fields_that_change_what_is_applied_are_named_by_path() {
        let spec = json!({
            "source": {"repoURL": "r", "plugin": {}, "chart": "nginx", "ref": "values",
                       "directory": {"jsonnet": {"libs": ["l"], "tlas": [{"name": "t", "x": 1}]}},
                       "helm": {"fileParameters": [{"name": "a", "path": "f"}]},
                       "kustomize": {"forceCommonLabels": true}},
            "sources": [{"repoURL": "r", "chart": "c", "ref": "v", "name": "n"},
                        {"repoURL": "r", "plugin": {}}],
            "syncPolicy": {"automated": {"enabled": false},
                           "managedNamespaceMetadata": {"labels": {"a": "b"}}},
            "ignoreDifferences": [{"kind": "A"}, {"kind": "B", "jqPathExpressions": [".x"]}],
            "destination": {"server": "s", "cluster": "typo"},
            "syncpolicy": {},
        });
        let mut found = paths(spec);
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let expected: Vec<(String, Effect)> = [
            "spec.destination.cluster",
            "spec.ignoreDifferences[1].jqPathExpressions",
            "spec.source.directory.jsonnet.tlas[0].x",
            "spec.source.helm.fileParameters",
            "spec.source.kustomize.forceCommonLabels",
            "spec.source.plugin",
            "spec.sources[1].plugin",
            "spec.syncPolicy.automated.enabled",
            "spec.syncPolicy.managedNamespaceMetadata",
            "spec.syncpolicy",
        ]
        .into_iter()
        .map(|p| (p.to_string(), Effect::Changes))
        .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn informational_fields_are_only_ignored() {
        let spec = json!({
            "info": [{"name": "url", "value": "https://example.com"}],
            "source": {"repoURL": "r", "name": "main", "kustomize": {"version": "v5"},
                       "helm": {"version": "v3"}},
            "syncPolicy": {"retry": {"refresh": true}},
        });
        let mut found = paths(spec);
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let expected: Vec<(String, Effect)> = [
            "spec.info",
            "spec.source.helm.version",
            "spec.source.kustomize.version",
            "spec.syncPolicy.retry.refresh",
        ]
        .into_iter()
        .map(|p| (p.to_string(), Effect::Ignored))
        .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn operations_moor_cannot_run_as_written_are_named() {
        // What `moor app sync` writes, and the common kubectl snippet for an Argo CD sync.
        for ok in [
            json!({"sync": {"revision": null, "prune": true},
                   "initiatedBy": {"username": "moor-cli", "requestID": "1-2"}}),
            json!({"initiatedBy": {"username": "admin"},
                   "sync": {"syncStrategy": {"hook": {}}, "dryRun": false},
                   "info": [{"name": "reason", "value": "x"}]}),
        ] {
            assert!(
                operation_fields(&ok)
                    .iter()
                    .all(|u| u.effect == Effect::Ignored),
                "{ok}"
            );
        }
        // A dry run and a selective sync are implemented; a forced or hook-less one is not.
        let op = json!({"sync": {"dryRun": true, "resources": [{"kind": "ConfigMap", "name": "a"}],
                                 "syncStrategy": {"apply": {"force": true}, "hook": {"force": true}}}});
        let mut found: Vec<String> = operation_fields(&op).into_iter().map(|u| u.path).collect();
        found.sort();
        assert_eq!(
            found,
            [
                "operation.sync.syncStrategy.apply",
                "operation.sync.syncStrategy.hook.force",
            ]
        );
    }

    #[test]
    fn the_typed_spec_carries_them_and_the_verdict_names_them() {
        let spec: ApplicationSpec = serde_json::from_value(json!({
            "source": {"repoURL": "r", "plugin": {"name": "p"}},
            "destination": {"server": "s"},
        }))
        .unwrap();
        // Plain deserialization of the spec alone does not look: the Application's `spec` does.
        assert!(spec.unsupported.is_empty());
        let app: crate::crd::Application = serde_json::from_value(json!({
            "metadata": {"name": "a"},
            "spec": {"source": {"repoURL": "r", "plugin": {"name": "p"}},
                     "destination": {"server": "s"},
                     "info": [{"name": "a", "value": "b"}]},
        }))
        .unwrap();
        let v = verdict(&app.spec);
        let refusal = v.refusal.unwrap();
        assert_eq!(refusal.condition, ConditionType::InvalidSpecError);
        assert!(
            refusal
                .message
                .contains("spec.source.plugin (config management plugins)"),
            "{}",
            refusal.message
        );
        assert!(v.warning.unwrap().contains("spec.info"));
        // Serializing never writes the list back.
        let out = serde_json::to_value(&app).unwrap();
        assert!(out["spec"].get("unsupported").is_none());
        assert_eq!(out["spec"]["source"]["repoURL"], "r");
    }
}
