//! Health rules users write: CEL expressions over an object, in Flux's `healthCheckExprs` shape
//! (`apiVersion`, `kind`, `current`, `inProgress`, `failed`), and the per-object opt-out
//! annotation `moor.dev/health: ignore`.
//!
//! Expressions see the object as `self`, and (as in Flux) each of its top-level fields by name,
//! so `status.phase == 'Ready'` and `self.status.phase == 'Ready'` mean the same. They are
//! evaluated in Flux's order: `inProgress`, then `failed`, then `current`; the first that is
//! true decides, and when none is, the object is still progressing. An expression that cannot
//! be evaluated yet (typically a field the controller has not written) also reads as
//! progressing, with the evaluation error in the message.

use std::fmt;
use std::sync::Arc;

use cel::{Context, Program};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Health;
use crate::util::str_at;

/// Annotation that opts one object out of health: `moor.dev/health: ignore` makes it Healthy,
/// so it neither lowers its app's health nor holds up `--wait`.
pub const ANNOTATION_HEALTH: &str = "moor.dev/health";
/// The value of [`ANNOTATION_HEALTH`] that opts out.
pub const HEALTH_IGNORE: &str = "ignore";

/// One health rule as users write it (Flux's `healthCheckExprs` item).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckExpr {
    /// `group/version` (or `v1` for the core group) of the objects the rule is for.
    pub api_version: String,
    /// Kind of the objects the rule is for.
    pub kind: String,
    /// True when the object is healthy.
    pub current: String,
    /// True while the object is still on its way (checked first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// True when the object has failed (checked second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// A rule that cannot be used, named by its kind and by which expression is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A CEL expression that does not parse.
    #[error(
        "health rule {index} ({api_version} {kind}): the {field} expression {expr:?} does not compile: {reason}"
    )]
    Compile {
        /// Position of the rule in the list, counting from 0, to find it in the spec.
        index: usize,
        /// The rule's `apiVersion`, to name which rule failed.
        api_version: String,
        /// The rule's `kind`, to name which rule failed.
        kind: String,
        /// Which expression failed: `current`, `inProgress` or `failed`.
        field: &'static str,
        /// The expression's text as written.
        expr: String,
        /// The CEL parser's message.
        reason: String,
    },
    #[error(
        "health rule {index}: apiVersion, kind and current are required (got apiVersion {api_version:?}, kind {kind:?})"
    )]
    /// A rule without apiVersion, kind or current.
    Incomplete {
        /// Position of the rule in the list, counting from 0, to find it in the spec.
        index: usize,
        /// The rule's `apiVersion` as given (maybe empty).
        api_version: String,
        /// The rule's `kind` as given (maybe empty).
        kind: String,
    },
}

/// One compiled expression and the text it came from (for messages).
struct Expr {
    field: &'static str,
    source: String,
    program: Program,
}

struct Compiled {
    api_version: String,
    kind: String,
    /// In evaluation order: inProgress, failed, current.
    exprs: Vec<Expr>,
}

/// Compiled health rules plus the built-in ones: what [`HealthRules::health`] judges by.
/// Cheap to clone; the default holds no user rules.
#[derive(Clone, Default)]
pub struct HealthRules {
    rules: Arc<Vec<Arc<Compiled>>>,
}

impl fmt::Debug for HealthRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.rules
                    .iter()
                    .map(|r| format!("{} {}", r.api_version, r.kind)),
            )
            .finish()
    }
}

impl HealthRules {
    /// Compiles `exprs`; the first one that does not compile is the error.
    pub fn compile(exprs: &[HealthCheckExpr]) -> Result<HealthRules, RuleError> {
        let rules = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| compile_one(i + 1, e).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HealthRules {
            rules: Arc::new(rules),
        })
    }

    /// Compiles every rule of `exprs` that compiles, and says why each other one does not (its
    /// number is its place in `exprs`): for lists no one caller owns, where one bad rule must not
    /// take the good ones with it.
    pub fn compile_usable(exprs: &[HealthCheckExpr]) -> (HealthRules, Vec<RuleError>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (i, e) in exprs.iter().enumerate() {
            match compile_one(i + 1, e) {
                Ok(r) => rules.push(Arc::new(r)),
                Err(err) => errors.push(err),
            }
        }
        let rules = HealthRules {
            rules: Arc::new(rules),
        };
        (rules, errors)
    }

    /// These rules, then `fallback`'s for the kinds these have no rule for: an Application's own
    /// rules win over the controller-wide ones.
    pub fn then(&self, fallback: &HealthRules) -> HealthRules {
        if fallback.rules.is_empty() {
            return self.clone();
        }
        if self.rules.is_empty() {
            return fallback.clone();
        }
        HealthRules {
            rules: Arc::new(
                self.rules
                    .iter()
                    .chain(fallback.rules.iter())
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// How many user rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No user rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Health of one live object: the opt-out annotation, the generic kstatus rules, the user
    /// rule for its kind if there is one, else the built-in rules.
    pub fn health(&self, obj: &Value) -> Health {
        if ignored(obj) {
            return Health::healthy(format!(
                "health ignored ({ANNOTATION_HEALTH}: {HEALTH_IGNORE})"
            ));
        }
        if let Some(h) = crate::generic(obj) {
            return h;
        }
        let api_version = str_at(obj, "/apiVersion").unwrap_or("");
        let kind = str_at(obj, "/kind").unwrap_or("");
        match self
            .rules
            .iter()
            .find(|r| r.api_version == api_version && r.kind == kind)
        {
            Some(rule) => rule.evaluate(obj),
            None => crate::built_in(obj),
        }
    }
}

/// The object carries `moor.dev/health: ignore`.
pub fn ignored(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_HEALTH))
        .and_then(Value::as_str)
        .is_some_and(|v| v.trim() == HEALTH_IGNORE)
}

fn compile_one(index: usize, e: &HealthCheckExpr) -> Result<Compiled, RuleError> {
    if e.api_version.trim().is_empty() || e.kind.trim().is_empty() || e.current.trim().is_empty() {
        return Err(RuleError::Incomplete {
            index,
            api_version: e.api_version.clone(),
            kind: e.kind.clone(),
        });
    }
    let fields = [
        ("inProgress", e.in_progress.as_deref()),
        ("failed", e.failed.as_deref()),
        ("current", Some(e.current.as_str())),
    ];
    let mut exprs = Vec::new();
    for (field, source) in fields {
        let Some(source) = source.map(str::trim).filter(|s| !s.is_empty()) else {
            continue;
        };
        let program = Program::compile(source).map_err(|err| RuleError::Compile {
            index,
            api_version: e.api_version.clone(),
            kind: e.kind.clone(),
            field,
            expr: source.to_string(),
            reason: parse_errors(&err),
        })?;
        exprs.push(Expr {
            field,
            source: source.to_string(),
            program,
        });
    }
    Ok(Compiled {
        api_version: e.api_version.trim().to_string(),
        kind: e.kind.trim().to_string(),
        exprs,
    })
}

impl Compiled {
    fn evaluate(&self, obj: &Value) -> Health {
        let mut ctx = Context::default();
        if let Err(e) = bind(&mut ctx, obj) {
            return Health::new(
                moor_types::HealthStatus::Unknown,
                format!("{}: cannot read the object: {e}", self.name()),
            );
        }
        for e in &self.exprs {
            match e.program.execute(&ctx) {
                Ok(cel::Value::Bool(true)) => return self.verdict(e, obj),
                Ok(cel::Value::Bool(false)) => {}
                Ok(other) => {
                    return Health::progressing(format!(
                        "{}: the {} expression gave {other:?}, not true or false",
                        self.name(),
                        e.field
                    ));
                }
                Err(err) => {
                    return Health::progressing(format!(
                        "{}: the {} expression cannot be evaluated yet: {err}",
                        self.name(),
                        e.field
                    ));
                }
            }
        }
        Health::progressing(format!("{}: no expression is true yet", self.name()))
    }

    fn verdict(&self, e: &Expr, obj: &Value) -> Health {
        let mut msg = format!("{} is true ({})", e.field, e.source);
        let detail = detail_of(obj);
        if !detail.is_empty() {
            msg = format!("{detail}; {msg}");
        }
        match e.field {
            "current" => Health::healthy(msg),
            "failed" => Health::degraded(msg),
            _ => Health::progressing(msg),
        }
    }

    fn name(&self) -> String {
        format!("health rule for {} {}", self.api_version, self.kind)
    }
}

/// `column 16: Syntax error: ...` per error, without the source snippet the parser draws.
fn parse_errors(err: &cel::ParseErrors) -> String {
    err.errors
        .iter()
        .map(|e| format!("column {}: {}", e.pos.1, e.msg))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `self` is the whole object; its top-level fields are variables too, as Flux binds them.
fn bind(ctx: &mut Context, obj: &Value) -> Result<(), cel::SerializationError> {
    ctx.add_variable("self", obj)?;
    if let Some(fields) = obj.as_object() {
        for (k, v) in fields {
            ctx.add_variable(k.as_str(), v)?;
        }
    }
    Ok(())
}

/// What the object says about itself, for the message: the Ready condition's message, else
/// `status.message`.
fn detail_of(obj: &Value) -> String {
    crate::util::condition(obj, "Ready")
        .map(|c| c.describe())
        .filter(|d| !d.is_empty())
        .or_else(|| str_at(obj, "/status/message").map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moor_types::HealthStatus;
    use serde_json::json;

    fn widget_rule() -> HealthCheckExpr {
        HealthCheckExpr {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            current: "status.phase == 'Ready'".into(),
            in_progress: Some("self.status.phase == 'Starting'".into()),
            failed: Some("status.phase == 'Broken'".into()),
        }
    }

    fn widget(phase: Option<&str>) -> Value {
        let mut w = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w"}});
        if let Some(p) = phase {
            w["status"] = json!({"phase": p, "message": format!("widget is {p}")});
        }
        w
    }

    #[test]
    fn expressions_decide_in_flux_order() {
        let rules = HealthRules::compile(&[widget_rule()]).unwrap();
        let h = rules.health(&widget(Some("Ready")));
        assert_eq!(h.status, HealthStatus::Healthy);
        assert_eq!(
            h.message,
            "widget is Ready; current is true (status.phase == 'Ready')"
        );
        assert_eq!(
            rules.health(&widget(Some("Broken"))).status,
            HealthStatus::Degraded
        );
        assert_eq!(
            rules.health(&widget(Some("Starting"))).status,
            HealthStatus::Progressing
        );
        let other = rules.health(&widget(Some("Other")));
        assert_eq!(other.status, HealthStatus::Progressing);
        assert!(
            other.message.contains("no expression is true yet"),
            "{other}"
        );
    }

    #[test]
    fn missing_field_reads_as_progressing_with_the_error() {
        let rules = HealthRules::compile(&[widget_rule()]).unwrap();
        let h = rules.health(&widget(None));
        assert_eq!(h.status, HealthStatus::Progressing);
        assert!(
            h.message
                .contains("health rule for example.com/v1 Widget: the inProgress expression cannot be evaluated yet"),
            "{h}"
        );
    }

    #[test]
    fn expression_that_does_not_compile_names_the_rule_and_field() {
        let mut bad = widget_rule();
        bad.failed = Some("status.phase == ".into());
        let err = HealthRules::compile(&[widget_rule(), bad])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "health rule 2 (example.com/v1 Widget): the failed expression \"status.phase ==\" does not compile: column 16: Syntax error"
            ),
            "{err}"
        );
    }

    #[test]
    fn usable_rules_are_kept_and_each_bad_one_named_by_its_place() {
        let mut bad = widget_rule();
        bad.current = "status.phase ==".into();
        let mut gadget = widget_rule();
        gadget.kind = "Gadget".into();
        let (rules, errors) = HealthRules::compile_usable(&[widget_rule(), bad, gadget]);
        assert_eq!(
            format!("{rules:?}"),
            r#"["example.com/v1 Widget", "example.com/v1 Gadget"]"#
        );
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("health rule 2 (example.com/v1 Widget): the current"));
    }

    #[test]
    fn rule_without_current_is_refused() {
        let mut bad = widget_rule();
        bad.current = " ".into();
        let err = HealthRules::compile(&[bad]).unwrap_err().to_string();
        assert!(
            err.contains("apiVersion, kind and current are required"),
            "{err}"
        );
    }

    #[test]
    fn non_boolean_result_is_not_a_verdict() {
        let mut r = widget_rule();
        r.in_progress = Some("status.phase".into());
        let h = HealthRules::compile(&[r])
            .unwrap()
            .health(&widget(Some("Ready")));
        assert_eq!(h.status, HealthStatus::Progressing);
        assert!(h.message.contains("not true or false"), "{h}");
    }

    #[test]
    fn user_rules_replace_built_in_ones_for_their_kind_only() {
        let rule = HealthCheckExpr {
            api_version: "networking.k8s.io/v1".into(),
            kind: "Ingress".into(),
            current: "true".into(),
            ..Default::default()
        };
        let rules = HealthRules::compile(&[rule]).unwrap();
        let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "i"}});
        assert_eq!(rules.health(&ing).status, HealthStatus::Healthy);
        assert_eq!(crate::health(&ing).status, HealthStatus::Progressing);
        // Another version of the kind is another rule.
        let mut old = ing.clone();
        old["apiVersion"] = json!("extensions/v1beta1");
        assert_eq!(rules.health(&old).status, HealthStatus::Progressing);
    }

    #[test]
    fn first_rules_win_over_fallback() {
        let app = HealthRules::compile(&[widget_rule()]).unwrap();
        let mut always = widget_rule();
        always.current = "true".into();
        always.in_progress = None;
        always.failed = None;
        let controller = HealthRules::compile(&[always]).unwrap();
        let both = app.then(&controller);
        assert_eq!(both.len(), 2);
        assert_eq!(
            both.health(&widget(Some("Broken"))).status,
            HealthStatus::Degraded
        );
        assert_eq!(
            controller.then(&app).health(&widget(Some("Broken"))).status,
            HealthStatus::Healthy
        );
    }

    #[test]
    fn ignore_annotation_makes_anything_healthy() {
        let mut ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "i", "annotations": {"moor.dev/health": "ignore"}}});
        let h = crate::health(&ing);
        assert_eq!(
            h,
            Health::healthy("health ignored (moor.dev/health: ignore)")
        );
        ing["metadata"]["annotations"]["moor.dev/health"] = json!("check");
        assert_eq!(crate::health(&ing).status, HealthStatus::Progressing);
    }

    #[test]
    fn rules_deserialize_from_flux_shaped_yaml() {
        let r: HealthCheckExpr = serde_json::from_value(json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "current": "true", "inProgress": "false"}))
        .unwrap();
        assert_eq!(r.in_progress.as_deref(), Some("false"));
        assert_eq!(r.failed, None);
    }
}
