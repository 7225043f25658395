//! The namespaces `moor sync` and `moor diff` put objects in: checked before anything is written,
//! so a missing one is reported once (not once per object), and the destination namespace
//! created on request (`--create-namespace`, as `helm install` has). A namespace created this
//! way is applied server-side like the controller's `CreateNamespace=true`: it is not recorded
//! in the app's inventory, so it is never pruned.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use kube::{Client, ResourceExt};
use moor_apply::ObjectResult;
use moor_types::{Change, FIELD_MANAGER, Manifest, ObjKey, Origin};
use serde_json::json;

/// What to do about a destination namespace that does not exist.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Report it and stop (no `--create-namespace`).
    Refuse,
    /// Create it (`moor sync --create-namespace`).
    Create,
    /// Write nothing, but plan as if it existed (`--dry-run`, `moor diff`).
    Pretend,
}

/// Checks every namespace the objects land in. A missing destination namespace (`dest`) is
/// created, or planned as if created, as `missing` says; any other missing namespace, or the
/// destination without `--create-namespace`, is an error naming it once. `Pretend` adds the
/// Namespace to `manifests`, so the dry-run plans its objects as new; the returned row (when the
/// namespace was or would be created) belongs in the change set.
pub async fn prepare(
    client: &Client,
    manifests: &mut Vec<Manifest>,
    dest: &str,
    missing: Missing,
) -> Result<Option<ObjectResult>> {
    let absent = absent_namespaces(client, manifests, dest).await?;
    if absent.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    for (ns, count) in &absent {
        if ns != dest {
            problems.push(format!(
                "namespace {ns:?} does not exist ({count} object(s) name it in metadata.namespace): \
                 create it first or add a Namespace object to the source"
            ));
        } else if missing == Missing::Refuse {
            problems.push(format!(
                "namespace {ns:?} does not exist: pass --create-namespace to create it (or add a \
                 Namespace object to the source)"
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let message = match missing {
        Missing::Create => {
            create(client, dest).await?;
            "created by --create-namespace; not owned by the app, never pruned"
        }
        _ => {
            manifests.push(namespace_manifest(dest));
            "would be created by --create-namespace"
        }
    };
    Ok(Some(ObjectResult {
        key: namespace_key(dest),
        api_version: "v1".into(),
        change: Change::Created,
        message: message.into(),
    }))
}

/// Namespaces that objects would land in but that do not exist, each with how many objects
/// name it; the ones the source itself defines are not counted. One GET per namespace; kinds
/// are looked up (to tell namespaced from cluster-scoped) only when one is missing.
async fn absent_namespaces(
    client: &Client,
    manifests: &[Manifest],
    dest: &str,
) -> Result<BTreeMap<String, usize>> {
    let in_source: Vec<&str> = manifests
        .iter()
        .filter(|m| m.kind() == "Namespace" && m.api_version() == "v1")
        .map(Manifest::name)
        .collect();
    let mut named: BTreeMap<String, Vec<&Manifest>> = BTreeMap::new();
    for m in manifests {
        let ns = m.namespace().unwrap_or(dest);
        if !in_source.contains(&ns) {
            named.entry(ns.to_string()).or_default().push(m);
        }
    }
    let api: Api<Namespace> = Api::all(client.clone());
    let mut scopes = Scopes::default();
    let mut absent = BTreeMap::new();
    for (ns, objects) in named {
        let exists = api
            .get_opt(&ns)
            .await
            .with_context(|| format!("failed to read namespace {ns:?}"))?
            .is_some();
        if exists {
            continue;
        }
        let mut count = 0;
        for m in objects {
            if scopes.namespaced(client, m).await {
                count += 1;
            }
        }
        if count > 0 {
            absent.insert(ns, count);
        }
    }
    Ok(absent)
}

/// Whether kinds are namespaced, from discovery, cached per kind. A kind the API server does
/// not serve counts as not namespaced here: the sync reports it, naming the object.
#[derive(Default)]
struct Scopes(HashMap<(String, String), bool>);

impl Scopes {
    async fn namespaced(&mut self, client: &Client, m: &Manifest) -> bool {
        let key = (m.api_version().to_string(), m.kind().to_string());
        if let Some(n) = self.0.get(&key) {
            return *n;
        }
        let (group, version) = match key.0.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", key.0.as_str()),
        };
        let gvk = GroupVersionKind::gvk(group, version, &key.1);
        let namespaced = pinned_kind(client, &gvk)
            .await
            .is_ok_and(|(_, caps)| caps.scope == Scope::Namespaced);
        self.0.insert(key, namespaced);
        namespaced
    }
}

/// Server-side apply of the Namespace alone (as the controller's `CreateNamespace=true` does).
async fn create(client: &Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = api
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
            ),
        )
        .await
        .with_context(|| format!("failed to create namespace {name:?}"))?;
    tracing::info!("created namespace {}", ns.name_any());
    Ok(())
}

fn namespace_manifest(name: &str) -> Manifest {
    Manifest::new(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        Origin {
            file: "--create-namespace".into(),
            line: None,
        },
    )
}

fn namespace_key(name: &str) -> ObjKey {
    namespace_manifest(name).key()
}
