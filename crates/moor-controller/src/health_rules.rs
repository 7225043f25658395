//! The health rules an app is judged by: its own `spec.healthCheckExprs` first, then the
//! controller-wide rules of the `moor-health` ConfigMap in the controller's namespace, then the
//! built-in rules (moor-health).
//!
//! The ConfigMap holds, under any key, YAML: one rule or a list of rules, in the Application's
//! shape. A rule there that does not compile is logged (naming the key and the rule) and left
//! out, since it is no one app's fault; a rule in an Application makes that app's comparison
//! fail with an InvalidSpecError condition instead.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use moor_health::{HealthCheckExpr, HealthRules};
use serde::Deserialize;

use crate::crd::Application;

/// Name of the controller-wide health rules ConfigMap, in the controller's namespace.
pub const CONFIGMAP: &str = "moor-health";
/// How long a read of the ConfigMap is reused before it is read again.
const TTL: Duration = Duration::from_secs(5);

/// The controller-wide rules, read from the ConfigMap at most every [`TTL`], compiled again only
/// when the ConfigMap changed.
#[derive(Default)]
pub struct ControllerRules {
    cache: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    read_at: Instant,
    /// resourceVersion of what `rules` was compiled from; None when the ConfigMap is absent.
    version: Option<String>,
    rules: HealthRules,
}

/// One ConfigMap value: a rule or a list of rules.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<HealthCheckExpr>),
    One(HealthCheckExpr),
}

impl ControllerRules {
    /// The rules of the ConfigMap `moor-health` in `namespace`; none when it does not exist or
    /// cannot be read (the reason is logged).
    pub async fn get(&self, client: &Client, namespace: &str) -> HealthRules {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| c.read_at.elapsed() < TTL) {
            return c.rules.clone();
        }
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        let cm = match api.get_opt(CONFIGMAP).await {
            Ok(cm) => cm,
            Err(e) => {
                tracing::warn!("failed to read ConfigMap {namespace}/{CONFIGMAP}: {e}");
                // Keep what was read before rather than dropping every rule on a blip.
                return cache.as_ref().map(|c| c.rules.clone()).unwrap_or_default();
            }
        };
        let version = cm
            .as_ref()
            .and_then(|c| c.metadata.resource_version.clone());
        let rules = match cache.as_ref() {
            Some(c) if c.version == version => c.rules.clone(),
            _ => cm
                .as_ref()
                .map(|c| compile_configmap(namespace, c))
                .unwrap_or_default(),
        };
        *cache = Some(Cached {
            read_at: Instant::now(),
            version,
            rules: rules.clone(),
        });
        rules
    }
}

/// Every usable rule of the ConfigMap, keys in name order; what is not usable is logged.
fn compile_configmap(namespace: &str, cm: &ConfigMap) -> HealthRules {
    let mut all = HealthRules::default();
    for (key, text) in cm.data.iter().flatten() {
        let exprs = match serde_saphyr::from_str::<OneOrMany>(text) {
            Ok(OneOrMany::Many(list)) => list,
            Ok(OneOrMany::One(rule)) => vec![rule],
            Err(e) => {
                tracing::error!(
                    "ConfigMap {namespace}/{CONFIGMAP} key {key}: not a health rule or a list of \
                     them (apiVersion, kind, current, inProgress, failed): {e}"
                );
                continue;
            }
        };
        let (rules, errors) = HealthRules::compile_usable(&exprs);
        for err in errors {
            tracing::error!("ConfigMap {namespace}/{CONFIGMAP} key {key}: left out: {err}");
        }
        all = all.then(&rules);
    }
    all
}

/// The rules `app` is judged by, or why its own rules cannot be used (naming the rule and the
/// expression).
pub async fn for_app(
    app: &Application,
    controller: &ControllerRules,
    client: &Client,
    namespace: &str,
) -> Result<HealthRules, String> {
    let own = HealthRules::compile(&app.spec.health_check_exprs)
        .map_err(|e| format!("spec.healthCheckExprs: {e}"))?;
    Ok(own.then(&controller.get(client, namespace).await))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn configmap(data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn configmap_keys_hold_one_rule_or_a_list_and_bad_rules_are_left_out() {
        let cm = configmap(&[
            (
                "widgets.yaml",
                "- apiVersion: example.com/v1\n  kind: Widget\n  current: status.ok == true\n\
                 - apiVersion: example.com/v1\n  kind: Broken\n  current: 'status.ok =='\n",
            ),
            (
                "gadget",
                "apiVersion: example.com/v1\nkind: Gadget\ncurrent: 'true'\n",
            ),
            ("junk", "just text"),
        ]);
        let rules = compile_configmap("moor-system", &cm);
        assert_eq!(
            format!("{rules:?}"),
            r#"["example.com/v1 Gadget", "example.com/v1 Widget"]"#
        );
    }
}
