//! `spec.postBuild`, Flux's variable substitution, as a moor extension: the variables of
//! `substituteFrom` (ConfigMaps and Secrets in the Application's namespace, a later one
//! overriding an earlier one) and `substitute` (overriding all) are substituted in the rendered
//! objects (see `moor_render::substitute`). It runs after the render cache, as the values may
//! change without a commit: a changed ConfigMap takes effect at the app's next reconcile.
//!
//! Secret values never reach a log, event, condition or error: errors name the variable, the
//! object and the Secret, never what it holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::Api;
use moor_render::{SubstituteError, valid_var_name};

use crate::crd::{Application, PostBuild};
use crate::sources::Rendered;

/// `rendered` with the app's variables substituted; as it is when the app has no `postBuild`.
/// Variables are read through `client`, the controller's own on the Applications' cluster.
/// Errors say which field, object or variable, and why.
pub async fn apply(
    app: &Application,
    client: &Client,
    rendered: Rendered,
    max_bytes: u64,
) -> Result<Rendered, String> {
    let Some(post_build) = &app.spec.post_build else {
        return Ok(rendered);
    };
    let ns = app.metadata.namespace.as_deref().unwrap_or("default");
    let vars = variables(post_build, client, ns).await?;
    let manifests = moor_render::substitute(&rendered.manifests, &vars, false, max_bytes)
        .map_err(|e| format!("spec.postBuild: {e}"))?;
    Ok(Rendered {
        manifests: Arc::new(manifests),
        ..rendered
    })
}

/// The variables of `post_build`, read from namespace `ns`.
async fn variables(
    post_build: &PostBuild,
    client: &Client,
    ns: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    for (i, r) in post_build.substitute_from.iter().enumerate() {
        let field = format!("spec.postBuild.substituteFrom[{i}]");
        let from = format!("{} {ns}/{}", r.kind, r.name);
        let read_error = |e: kube::Error| {
            format!(
                "{field}: failed to read {from}: {}",
                moor_types::error_chain(&e)
            )
        };
        let data: Option<Vec<(String, String)>> = match r.kind.as_str() {
            "ConfigMap" => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
                let found = api.get_opt(&r.name).await.map_err(read_error)?;
                found.map(|cm| cm.data.unwrap_or_default().into_iter().collect())
            }
            "Secret" => {
                let api: Api<Secret> = Api::namespaced(client.clone(), ns);
                let found = api.get_opt(&r.name).await.map_err(read_error)?;
                match found {
                    Some(s) => Some(secret_data(s, &field, &from)?),
                    None => None,
                }
            }
            other => {
                return Err(format!(
                    "{field}.kind: {other:?} is neither ConfigMap nor Secret"
                ));
            }
        };
        let Some(data) = data else {
            if r.optional {
                continue;
            }
            return Err(format!(
                "{field}: {from} does not exist (set optional: true to go on without it)"
            ));
        };
        for (k, v) in data {
            check_name(&k, &from)?;
            vars.insert(k, v);
        }
    }
    for (k, v) in &post_build.substitute {
        check_name(k, "spec.postBuild.substitute")?;
        vars.insert(k.clone(), v.clone());
    }
    Ok(vars)
}

/// A Secret's data as text; a value that is not UTF-8 is named by its key only.
fn secret_data(s: Secret, field: &str, from: &str) -> Result<Vec<(String, String)>, String> {
    (s.data.unwrap_or_default().into_iter())
        .map(|(k, v)| match String::from_utf8(v.0) {
            Ok(text) => Ok((k, text)),
            Err(_) => Err(format!("{field}: key {k:?} of {from} is not UTF-8 text")),
        })
        .collect()
}

fn check_name(name: &str, from: &str) -> Result<(), String> {
    if valid_var_name(name) {
        return Ok(());
    }
    let e = SubstituteError::InvalidName {
        name: name.to_string(),
        from: from.to_string(),
    };
    Err(format!("spec.postBuild: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    #[test]
    fn secret_values_that_are_not_text_are_named_by_key() {
        let s = Secret {
            data: Some(
                [
                    ("ok".to_string(), ByteString(b"fine".to_vec())),
                    ("bin".to_string(), ByteString(vec![0xff, 0xfe])),
                ]
                .into(),
            ),
            ..Secret::default()
        };
        let err = secret_data(s, "spec.postBuild.substituteFrom[1]", "Secret n/s").unwrap_err();
        assert_eq!(
            err,
            "spec.postBuild.substituteFrom[1]: key \"bin\" of Secret n/s is not UTF-8 text"
        );
        let e = check_name("a-b", "ConfigMap n/vars").unwrap_err();
        assert!(
            e.starts_with("spec.postBuild: variable name \"a-b\" from ConfigMap n/vars"),
            "{e}"
        );
    }
}
