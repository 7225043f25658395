//! `spec.dependsOn`: an app is reconciled only once every app it depends on exists and is Synced
//! and Healthy; apps depending on each other in a cycle are never reconciled, and say so.
//! Pure: apps are looked up through a function (the controller's store in production).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use moor_types::{ConditionType, HealthStatus, SyncStatus};

use crate::crd::Application;

/// An Application by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppRefKey(pub String, pub String);

/// Whether an app's dependencies let it be reconciled now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DependencyState {
    /// No dependencies, or all Synced and Healthy.
    Ready,
    /// The app is on a dependsOn cycle: these apps, from the app back to it.
    Cycle { apps: Vec<String> },
    /// This dependency (`namespace/name`) does not exist (yet).
    Missing { app: String },
    /// This dependency exists but is not Synced and Healthy yet; `sync` and `health` are what it
    /// is ("Unknown" when it has no status).
    Waiting {
        app: String,
        sync: String,
        health: String,
    },
}

impl DependencyState {
    /// The condition type and message that report the state; None when Ready.
    pub fn condition(&self) -> Option<(ConditionType, String)> {
        match self {
            DependencyState::Ready => None,
            DependencyState::Cycle { apps } => Some((
                ConditionType::DependencyCycle,
                format!("dependency cycle: {}", apps.join(" -> ")),
            )),
            DependencyState::Missing { app } => Some((
                ConditionType::WaitingForDependencies,
                format!("waiting for Application {app} to exist"),
            )),
            DependencyState::Waiting { app, sync, health } => Some((
                ConditionType::WaitingForDependencies,
                format!(
                    "waiting for Application {app} to be Synced and Healthy (it is {sync} and {health})"
                ),
            )),
        }
    }

    /// How soon to look again: a dependency is expected to settle soon (and its changes do not
    /// trigger this app), while a cycle stays until someone edits a spec.
    pub fn requeue(&self) -> Duration {
        match self {
            DependencyState::Cycle { .. } => Duration::from_secs(60),
            _ => Duration::from_secs(3),
        }
    }
}

/// Checks `app`'s dependencies (same namespace as the app unless named): a cycle first, then
/// each dependency in order; the first one not ready is reported.
pub fn check(
    app: &Application,
    lookup: impl Fn(&str, &str) -> Option<Arc<Application>>,
) -> DependencyState {
    if app.spec.depends_on.is_empty() {
        return DependencyState::Ready;
    }
    let ns = app.metadata.namespace.clone().unwrap_or_default();
    let me = AppRefKey(ns.clone(), app.metadata.name.clone().unwrap_or_default());
    if let Some(apps) = find_cycle(&me, &lookup) {
        return DependencyState::Cycle { apps };
    }
    for dep in &app.spec.depends_on {
        let dns = dep.namespace.clone().unwrap_or_else(|| ns.clone());
        let name = format!("{dns}/{}", dep.name);
        let Some(d) = lookup(&dns, &dep.name) else {
            return DependencyState::Missing { app: name };
        };
        let st = d.status.clone().unwrap_or_default();
        if st.sync.status != SyncStatus::Synced || st.health.status != HealthStatus::Healthy {
            let or_unknown = |s: String, unknown: &str| {
                if s.is_empty() { unknown.to_string() } else { s }
            };
            return DependencyState::Waiting {
                app: name,
                sync: or_unknown(st.sync.status, SyncStatus::Unknown.as_str()),
                health: or_unknown(st.health.status, HealthStatus::Unknown.as_str()),
            };
        }
    }
    DependencyState::Ready
}

/// A dependsOn cycle through `start`, as the list of apps on it (`namespace/name`, starting and
/// ending with `start`). Apps that do not exist end a path: they cannot close a cycle.
pub fn find_cycle(
    start: &AppRefKey,
    lookup: &impl Fn(&str, &str) -> Option<Arc<Application>>,
) -> Option<Vec<String>> {
    fn visit(
        lookup: &impl Fn(&str, &str) -> Option<Arc<Application>>,
        at: &AppRefKey,
        start: &AppRefKey,
        path: &mut Vec<AppRefKey>,
        seen: &mut HashSet<AppRefKey>,
    ) -> bool {
        let Some(app) = lookup(&at.0, &at.1) else {
            return false;
        };
        for dep in &app.spec.depends_on {
            let next = AppRefKey(
                dep.namespace.clone().unwrap_or_else(|| at.0.clone()),
                dep.name.clone(),
            );
            if &next == start {
                path.push(next);
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if visit(lookup, &next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.clone()];
    let mut seen = HashSet::new();
    visit(lookup, start, start, &mut path, &mut seen)
        .then(|| path.iter().map(|k| format!("{}/{}", k.0, k.1)).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::crd::{AppRef, ApplicationStatus};

    /// `ns/name` depending on `deps` (each `name` or `ns/name`), with sync and health.
    fn app(id: &str, deps: &[&str], sync: &str, health: &str) -> Application {
        let (ns, name) = id.split_once('/').unwrap();
        let mut a = Application::default();
        a.metadata.namespace = Some(ns.into());
        a.metadata.name = Some(name.into());
        a.spec.depends_on = deps
            .iter()
            .map(|d| match d.split_once('/') {
                Some((ns, name)) => AppRef {
                    name: name.into(),
                    namespace: Some(ns.into()),
                },
                None => AppRef {
                    name: d.to_string(),
                    namespace: None,
                },
            })
            .collect();
        if !sync.is_empty() || !health.is_empty() {
            let mut st = ApplicationStatus::default();
            st.sync.status = sync.into();
            st.health.status = health.into();
            a.status = Some(st);
        }
        a
    }

    struct Store(HashMap<(String, String), Arc<Application>>);

    impl Store {
        fn of(apps: Vec<Application>) -> Store {
            Store(
                apps.into_iter()
                    .map(|a| {
                        let key = (
                            a.metadata.namespace.clone().unwrap(),
                            a.metadata.name.clone().unwrap(),
                        );
                        (key, Arc::new(a))
                    })
                    .collect(),
            )
        }

        fn check(&self, id: &str) -> DependencyState {
            let (ns, name) = id.split_once('/').unwrap();
            let me = self.0[&(ns.to_string(), name.to_string())].clone();
            check(&me, |ns, name| {
                self.0.get(&(ns.into(), name.into())).cloned()
            })
        }
    }

    #[test]
    fn no_dependencies_or_all_synced_and_healthy_is_ready() {
        let s = Store::of(vec![
            app("a/alone", &[], "", ""),
            app("a/app", &["db", "b/cache"], "", ""),
            app("a/db", &[], "Synced", "Healthy"),
            app("b/cache", &[], "Synced", "Healthy"),
        ]);
        assert_eq!(s.check("a/alone"), DependencyState::Ready);
        assert_eq!(s.check("a/app"), DependencyState::Ready);
        assert_eq!(DependencyState::Ready.condition(), None);
    }

    #[test]
    fn a_missing_dependency_is_looked_up_in_the_apps_namespace() {
        let s = Store::of(vec![
            app("a/app", &["db"], "", ""),
            app("b/db", &[], "Synced", "Healthy"),
        ]);
        let state = s.check("a/app");
        assert_eq!(state, DependencyState::Missing { app: "a/db".into() });
        assert_eq!(
            state.condition(),
            Some((
                ConditionType::WaitingForDependencies,
                "waiting for Application a/db to exist".into()
            ))
        );
        assert_eq!(state.requeue(), Duration::from_secs(3));
    }

    #[test]
    fn the_first_unready_dependency_is_reported_with_what_it_is() {
        let s = Store::of(vec![
            app("a/app", &["ok", "new", "sick"], "", ""),
            app("a/ok", &[], "Synced", "Healthy"),
            app("a/new", &[], "", ""),
            app("a/sick", &[], "Synced", "Degraded"),
        ]);
        let state = s.check("a/app");
        assert_eq!(
            state,
            DependencyState::Waiting {
                app: "a/new".into(),
                sync: "Unknown".into(),
                health: "Unknown".into()
            }
        );
        assert_eq!(
            state.condition().unwrap().1,
            "waiting for Application a/new to be Synced and Healthy (it is Unknown and Unknown)"
        );
        let s = Store::of(vec![
            app("a/app", &["sick"], "", ""),
            app("a/sick", &[], "Synced", "Degraded"),
        ]);
        assert_eq!(
            s.check("a/app").condition(),
            Some((
                ConditionType::WaitingForDependencies,
                "waiting for Application a/sick to be Synced and Healthy (it is Synced and Degraded)"
                    .into()
            ))
        );
    }

    #[test]
    fn a_cycle_is_reported_before_anything_else_and_waits_longer() {
        let s = Store::of(vec![
            app("a/x", &["y"], "", ""),
            app("a/y", &["b/z"], "Synced", "Healthy"),
            app("b/z", &["a/x"], "Synced", "Healthy"),
        ]);
        let state = s.check("a/x");
        assert_eq!(
            state,
            DependencyState::Cycle {
                apps: vec!["a/x".into(), "a/y".into(), "b/z".into(), "a/x".into()]
            }
        );
        assert_eq!(
            state.condition(),
            Some((
                ConditionType::DependencyCycle,
                "dependency cycle: a/x -> a/y -> b/z -> a/x".into()
            ))
        );
        assert_eq!(state.requeue(), Duration::from_secs(60));
    }

    #[test]
    fn a_cycle_elsewhere_is_not_this_apps_cycle() {
        let s = Store::of(vec![
            app("a/app", &["y"], "", ""),
            app("a/y", &["z"], "Synced", "Healthy"),
            app("a/z", &["y"], "Synced", "Healthy"),
        ]);
        assert_eq!(s.check("a/app"), DependencyState::Ready);
        let me = AppRefKey("a".into(), "app".into());
        let lookup = |ns: &str, name: &str| s.0.get(&(ns.into(), name.into())).cloned();
        assert_eq!(find_cycle(&me, &lookup), None);
        let y = AppRefKey("a".into(), "y".into());
        assert_eq!(
            find_cycle(&y, &lookup),
            Some(vec!["a/y".into(), "a/z".into(), "a/y".into()])
        );
    }

    #[test]
    fn an_app_depending_on_itself_is_a_cycle() {
        let s = Store::of(vec![app("a/me", &["me"], "Synced", "Healthy")]);
        assert_eq!(
            s.check("a/me"),
            DependencyState::Cycle {
                apps: vec!["a/me".into(), "a/me".into()]
            }
        );
    }
}
