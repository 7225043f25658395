//! What a project permits, as pure functions of its spec, with Argo CD's semantics so that an
//! AppProject written for Argo CD restricts exactly what it restricted there:
//! - patterns are globs in which `*` also matches `/`; a leading `!` makes a pattern deny;
//! - `sourceRepos`: a repository matching a deny pattern is refused, otherwise it must match one;
//! - `destinations`: an entry permits a cluster (by server URL or name) and namespace matching
//!   both of its patterns; an entry with a deny pattern refuses what it denies, whatever else
//!   matches;
//! - cluster-scoped kinds need `clusterResourceWhitelist` (empty: none), namespaced kinds are all
//!   allowed unless `namespaceResourceWhitelist` lists some; the blacklists always win;
//! - Applications live in the controller's namespace or one `sourceNamespaces` matches.

use globset::GlobBuilder;
use moor_types::ObjKey;

use crate::project::{AppProjectSpec, GroupKind};

/// Whether `value` matches the glob `pattern` (`*` matches across `/`); a pattern that is not a
/// valid glob matches only itself.
pub fn glob(pattern: &str, value: &str) -> bool {
    // Checked for every object of every reconcile: the common patterns (`*`, plain names) need
    // no compiled glob.
    if pattern == "*" {
        return true;
    }
    if !pattern.contains(['*', '?', '[', '{', '\\']) {
        return pattern == value;
    }
    match GlobBuilder::new(pattern).literal_separator(false).build() {
        Ok(g) => g.compile_matcher().is_match(value),
        Err(_) => pattern == value,
    }
}

fn is_deny(pattern: &str) -> bool {
    pattern.starts_with('!')
}

/// A pattern as Argo CD reads it: `!p` matches whatever `p` does not.
fn matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_prefix('!') {
        Some(p) => !glob(p, value),
        None => glob(pattern, value),
    }
}

/// Whether the project lets its apps read `repo_url`; `Err` says which rule refused it.
pub fn source_repo(spec: &AppProjectSpec, repo_url: &str) -> Result<(), String> {
    // Both spellings count, so `https://host/org/*` covers `https://host/org/app.git` too.
    let normalized = moor_git::normalize_url(repo_url);
    let hit = |p: &str| matches(p, repo_url) || matches(p, &normalized);
    let mut permitted = false;
    for p in &spec.source_repos {
        if is_deny(p) && !(matches(p, repo_url) && matches(p, &normalized)) {
            return Err(format!("sourceRepos denies it ({p:?})"));
        }
        permitted |= hit(p);
    }
    if permitted {
        Ok(())
    } else {
        Err("it is not in sourceRepos".into())
    }
}

/// A destination as the rules see it: the cluster's API server URL and name, and a namespace
/// (`""` for the app's own destination when it names none).
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// API server URL of the cluster.
    pub server: &'a str,
    /// Name of the cluster (`in-cluster` for the home cluster).
    pub name: &'a str,
    /// Namespace written to.
    pub namespace: &'a str,
}

/// Whether the project's `destinations` permit writing to `t`.
pub fn destination(spec: &AppProjectSpec, t: Target<'_>) -> bool {
    let mut permitted = false;
    for d in &spec.destinations {
        let part = |p: &Option<String>, v: &str| {
            !v.is_empty() && p.as_deref().is_some_and(|p| matches(p, v))
        };
        let denies = |p: &Option<String>| p.as_deref().is_some_and(is_deny);
        let server = part(&d.server, t.server);
        let name = part(&d.name, t.name);
        let ns = matches(d.namespace.as_deref().unwrap_or(""), t.namespace);
        let cluster = server || name;
        if cluster && ns {
            permitted = true;
            continue;
        }
        // A deny pattern that did not "match" matched what it denies: the entry refuses.
        let denied_cluster = (!server && denies(&d.server)) || (!name && denies(&d.name));
        let denied_namespace = !ns && denies(&d.namespace);
        if (ns && denied_cluster) || (cluster && denied_namespace) {
            return false;
        }
    }
    permitted
}

fn listed(list: &[GroupKind], group: &str, kind: &str) -> bool {
    list.iter()
        .any(|gk| glob(&gk.group, group) && glob(&gk.kind, kind))
}

/// Whether the project lets its apps manage objects of `group`/`kind`; `Err` names the rule.
pub fn kind(
    spec: &AppProjectSpec,
    group: &str,
    kind: &str,
    namespaced: bool,
) -> Result<(), String> {
    let (white, black, scope) = if namespaced {
        (
            &spec.namespace_resource_whitelist,
            &spec.namespace_resource_blacklist,
            "namespace",
        )
    } else {
        (
            &spec.cluster_resource_whitelist,
            &spec.cluster_resource_blacklist,
            "cluster",
        )
    };
    let gk = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    };
    if listed(black, group, kind) {
        return Err(format!("{gk} is in {scope}ResourceBlacklist"));
    }
    // An empty namespaced whitelist allows every namespaced kind; an empty cluster one, none.
    if (namespaced && white.is_empty()) || listed(white, group, kind) {
        return Ok(());
    }
    let what = if namespaced {
        "namespaced"
    } else {
        "cluster-scoped"
    };
    Err(format!(
        "{what} kind {gk} is not in {scope}ResourceWhitelist"
    ))
}

/// Every object of an app the project does not permit, each with the rule it breaks. `keys`
/// carry the namespace each object goes to (None for cluster-scoped objects).
pub fn objects(spec: &AppProjectSpec, server: &str, name: &str, keys: &[ObjKey]) -> Vec<String> {
    let mut refused = Vec::new();
    for k in keys {
        let verdict = kind(spec, &k.group, &k.kind, k.namespace.is_some()).and_then(|()| {
            let Some(ns) = k.namespace.as_deref() else {
                return Ok(());
            };
            let t = Target {
                server,
                name,
                namespace: ns,
            };
            if destination(spec, t) {
                Ok(())
            } else {
                Err(format!("namespace {ns} is not in destinations"))
            }
        });
        if let Err(why) = verdict {
            refused.push(format!("{k} ({why})"));
        }
    }
    refused
}

/// Whether an Application in `app_namespace` may use the project: the controller's own
/// namespace always, others only when `sourceNamespaces` matches.
pub fn app_namespace(
    spec: &AppProjectSpec,
    app_namespace: &str,
    controller_namespace: &str,
) -> bool {
    app_namespace == controller_namespace
        || spec
            .source_namespaces
            .iter()
            .any(|p| matches(p, app_namespace))
}

/// The service account (namespace, name) that writes to `t` are made as: the first
/// `destinationServiceAccounts` entry matching the server and namespace. `Err` when that entry's
/// account names no namespace and the destination has none either.
pub fn service_account(
    spec: &AppProjectSpec,
    t: Target<'_>,
) -> Result<Option<(String, String)>, String> {
    let Some(entry) = spec
        .destination_service_accounts
        .iter()
        .find(|d| matches(&d.server, t.server) && matches(&d.namespace, t.namespace))
    else {
        return Ok(None);
    };
    let sa = entry.default_service_account.trim();
    match sa.split_once(':') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
            Ok(Some((ns.to_string(), name.to_string())))
        }
        None if !sa.is_empty() && !t.namespace.is_empty() => {
            Ok(Some((t.namespace.to_string(), sa.to_string())))
        }
        _ => Err(format!(
            "destinationServiceAccounts names {sa:?}, which is not `name` with a destination namespace or `namespace:name`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{DestinationServiceAccount, ProjectDestination, default_project_spec};

    fn dest(server: &str, namespace: &str) -> ProjectDestination {
        ProjectDestination {
            server: Some(server.into()),
            name: None,
            namespace: Some(namespace.into()),
        }
    }

    const HOME: &str = "https://kubernetes.default.svc";

    fn at(namespace: &str) -> Target<'_> {
        Target {
            server: HOME,
            name: "in-cluster",
            namespace,
        }
    }

    fn team_a() -> AppProjectSpec {
        AppProjectSpec {
            source_repos: vec!["https://git.example/team-a/*".into()],
            destinations: vec![dest(HOME, "team-a-*")],
            ..AppProjectSpec::default()
        }
    }

    #[test]
    fn globs_match_across_slashes_and_bad_patterns_match_only_themselves() {
        assert!(glob("https://git.example/*", "https://git.example/a/b.git"));
        assert!(glob("team-?", "team-a"));
        assert!(!glob("team-?", "team-ab"));
        assert!(glob("*", ""));
        assert!(glob("[", "["));
        assert!(!glob("[", "x"));
    }

    #[test]
    fn source_repos_allow_listed_repos_and_deny_patterns_win() {
        let spec = team_a();
        assert!(source_repo(&spec, "https://git.example/team-a/app.git").is_ok());
        let err = source_repo(&spec, "https://git.example/team-b/app.git").unwrap_err();
        assert_eq!(err, "it is not in sourceRepos");

        let spec = AppProjectSpec {
            source_repos: vec!["!https://git.example/secret/*".into(), "*".into()],
            ..AppProjectSpec::default()
        };
        assert!(source_repo(&spec, "https://git.example/team-a/app").is_ok());
        let err = source_repo(&spec, "https://git.example/secret/x").unwrap_err();
        assert!(err.contains("sourceRepos denies it"), "{err}");
        // An empty list permits nothing.
        assert!(source_repo(&AppProjectSpec::default(), "https://x/y").is_err());
    }

    #[test]
    fn destinations_match_server_or_name_and_namespace() {
        let spec = team_a();
        assert!(destination(&spec, at("team-a-dev")));
        assert!(!destination(&spec, at("team-b")));
        assert!(!destination(
            &spec,
            Target {
                server: "https://second:6443",
                name: "second",
                namespace: "team-a-dev"
            }
        ));
        let by_name = AppProjectSpec {
            destinations: vec![ProjectDestination {
                server: None,
                name: Some("in-cluster".into()),
                namespace: Some("*".into()),
            }],
            ..AppProjectSpec::default()
        };
        assert!(destination(&by_name, at("anything")));
    }

    #[test]
    fn a_deny_destination_refuses_what_it_matches_even_when_another_entry_permits_it() {
        // Argo CD's documented example: everything but kube-system and the team1 clusters.
        let spec = AppProjectSpec {
            destinations: vec![dest("*", "!kube-system"), dest("!https://team1-*", "*")],
            ..AppProjectSpec::default()
        };
        assert!(destination(&spec, at("default")));
        assert!(!destination(&spec, at("kube-system")));
        let team1 = Target {
            server: "https://team1-prod",
            name: "team1",
            namespace: "default",
        };
        assert!(!destination(&spec, team1));
    }

    #[test]
    fn kinds_follow_argo_cds_white_and_black_lists() {
        let mut spec = team_a();
        // No cluster whitelist: no cluster-scoped kind.
        let err = kind(
            &spec,
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            false,
        );
        assert_eq!(
            err.unwrap_err(),
            "cluster-scoped kind rbac.authorization.k8s.io/ClusterRoleBinding is not in clusterResourceWhitelist"
        );
        assert!(kind(&spec, "", "Namespace", false).is_err());
        // No namespaced whitelist: every namespaced kind, but the blacklist wins.
        assert!(kind(&spec, "apps", "Deployment", true).is_ok());
        spec.namespace_resource_blacklist = vec![GroupKind {
            group: "".into(),
            kind: "Secret".into(),
        }];
        assert_eq!(
            kind(&spec, "", "Secret", true).unwrap_err(),
            "Secret is in namespaceResourceBlacklist"
        );
        spec.namespace_resource_whitelist = vec![GroupKind {
            group: "apps".into(),
            kind: "*".into(),
        }];
        assert!(kind(&spec, "apps", "StatefulSet", true).is_ok());
        assert!(kind(&spec, "", "ConfigMap", true).is_err());
        let all = default_project_spec();
        assert!(kind(&all, "", "Namespace", false).is_ok());
    }

    #[test]
    fn objects_lists_each_refused_object_with_its_rule() {
        let spec = team_a();
        let keys = vec![
            ObjKey::new("apps", "Deployment", Some("team-a-dev"), "ok"),
            ObjKey::new("apps", "Deployment", Some("team-b"), "web"),
            ObjKey::new("", "Namespace", None, "team-a-new"),
        ];
        let refused = objects(&spec, HOME, "in-cluster", &keys);
        assert_eq!(
            refused,
            vec![
                "Deployment team-b/web (namespace team-b is not in destinations)".to_string(),
                "Namespace team-a-new (cluster-scoped kind Namespace is not in clusterResourceWhitelist)"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn applications_live_in_the_controller_namespace_or_a_source_namespace() {
        let mut spec = team_a();
        assert!(app_namespace(&spec, "moor-system", "moor-system"));
        assert!(!app_namespace(&spec, "team-a-apps", "moor-system"));
        spec.source_namespaces = vec!["team-a-*".into()];
        assert!(app_namespace(&spec, "team-a-apps", "moor-system"));
        assert!(!app_namespace(&spec, "team-b-apps", "moor-system"));
    }

    #[test]
    fn the_first_matching_destination_service_account_is_used() {
        let mut spec = team_a();
        assert_eq!(service_account(&spec, at("team-a-dev")), Ok(None));
        spec.destination_service_accounts = vec![
            DestinationServiceAccount {
                server: HOME.into(),
                namespace: "team-a-dev".into(),
                default_service_account: "deployer".into(),
            },
            DestinationServiceAccount {
                server: "*".into(),
                namespace: "*".into(),
                default_service_account: "team-a-system:fallback".into(),
            },
        ];
        assert_eq!(
            service_account(&spec, at("team-a-dev")),
            Ok(Some(("team-a-dev".into(), "deployer".into())))
        );
        assert_eq!(
            service_account(&spec, at("team-a-prod")),
            Ok(Some(("team-a-system".into(), "fallback".into())))
        );
        spec.destination_service_accounts[1].default_service_account = "nameonly".into();
        assert!(service_account(&spec, at("")).is_err());
    }
}
