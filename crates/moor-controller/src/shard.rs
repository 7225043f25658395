//! Sharding (`--shards auto`): replicas split the Applications between them, each reconciling
//! only its own, with no app ever reconciled by two replicas at once.
//!
//! Membership is Kubernetes Leases, one per replica (`moor-shard-<identity>`, labelled with the
//! group), renewed every retry period; a replica is live while its Lease names it and its record
//! keeps changing, as timed by the observer's own clock (the rules of `leader.rs`). Each app goes
//! to the live replica with the highest rendezvous hash of (replica, app key): every replica
//! computes the same owner from the same member list, and a join or a death moves only the apps
//! of the replica that came or went.
//!
//! Hand-over: views change at different moments on different replicas, so a replica that
//! gains apps must not start before the previous owner has stopped. Each replica writes into
//! its Lease the view (a hash of the member list) it works under, and only once no reconcile of
//! an app it no longer owns is still running (it stops starting those at once). A gained app
//! is reconciled once every live member has written the current view; until then a replica
//! reconciles only apps it owned in the last view all members agreed on. A replica that cannot
//! renew its Lease within the renew deadline exits (before anyone may count it dead), and one
//! asked to stop releases its Lease and exits, so the dead and the gone reconcile nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use moor_server::Metrics;
use sha2::{Digest, Sha256};

use crate::crd::Application;

/// Label of the member Leases: its value is the group's name (`--leader-election-id`'s default).
pub const MEMBER_LABEL: &str = "moor.dev/shard-group";
/// Annotation of a member Lease: the view (hash of the member list) its replica works under.
pub const VIEW_ANNOTATION: &str = "moor.dev/shard-view";
/// Label of an Application pinning it to one replica: that replica's identity, or a number
/// `n` for the n-th live member in name order (modulo their count, for StatefulSet-like
/// names). While no live member matches, the app goes by the hash: pinned apps are never
/// left without a replica.
pub const PIN_LABEL: &str = "moor.dev/shard";
/// Shard keys of pinned apps: the prefix, then the label's value.
const PIN_PREFIX: &str = "pin:";

/// What apps are split by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardBy {
    /// Each Application on its own (namespace/name).
    App,
    /// All apps of one destination cluster on one replica (Argo CD's shard per cluster).
    Cluster,
}

/// How replicas share the apps (Kubernetes' lease timings, as for leader election).
#[derive(Clone, Debug)]
pub struct Sharding {
    /// Name of the group; member Leases are `<group>-shard-<identity>`.
    pub group: String,
    /// This replica's name in its Lease ([`crate::default_identity`]).
    pub identity: String,
    /// A member whose Lease has not changed for this long is dead.
    pub lease_duration: Duration,
    /// A member that has not renewed its own Lease for this long exits.
    pub renew_deadline: Duration,
    /// How often members renew their Lease and look at the others'.
    pub retry_period: Duration,
    /// What apps are split by.
    pub by: ShardBy,
}

/// The shard key of an app: its pin ([`PIN_LABEL`]), else namespace/name or its destination
/// cluster. Every rule of who owns an app is in this key and [`owner`], so the hand-over rules
/// hold for pinned apps too.
pub fn shard_key(app: &Application, by: ShardBy) -> String {
    if let Some(pin) = app.labels().get(PIN_LABEL).filter(|v| !v.is_empty()) {
        return format!("{PIN_PREFIX}{pin}");
    }
    match by {
        ShardBy::App => format!(
            "{}/{}",
            app.metadata.namespace.as_deref().unwrap_or_default(),
            app.metadata.name.as_deref().unwrap_or_default()
        ),
        ShardBy::Cluster => {
            let d = &app.spec.destination;
            match (d.server.as_deref(), d.name.as_deref()) {
                (Some(s), _) if !s.is_empty() => format!("server:{s}"),
                (_, Some(n)) if !n.is_empty() => format!("name:{n}"),
                _ => "server:https://kubernetes.default.svc".into(),
            }
        }
    }
}

/// The member owning `key`: for a pinned key, the member it names (by identity, or by its
/// index in `members`, which are sorted); otherwise, or when the pin names no live member, the
/// highest rendezvous hash (ties, which need a hash collision, go to the smaller name). None
/// without members.
pub fn owner<'a>(members: &'a [String], key: &str) -> Option<&'a str> {
    if let Some(pin) = key.strip_prefix(PIN_PREFIX) {
        if let Some(m) = members.iter().find(|m| *m == pin) {
            return Some(m);
        }
        if let (Ok(n), false) = (pin.parse::<usize>(), members.is_empty()) {
            return Some(&members[n % members.len()]);
        }
    }
    let score = |m: &str| {
        let mut h = Sha256::new();
        h.update(m.as_bytes());
        h.update([0]);
        h.update(key.as_bytes());
        let d = h.finalize();
        u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
    };
    members
        .iter()
        .map(|m| (score(m), std::cmp::Reverse(m.as_str())))
        .max()
        .map(|(_, std::cmp::Reverse(m))| m)
}

/// The view hash of a member list (sorted) and the split rule: replicas disagreeing on either
/// never agree on a view, so none takes over apps.
fn view_hash(members: &[String], by: ShardBy) -> String {
    let mut h = Sha256::new();
    h.update(format!("{by:?}").as_bytes());
    for m in members {
        h.update([0]);
        h.update(m.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

#[derive(Default)]
struct State {
    /// Live members, sorted; empty until the first look at the Leases.
    members: Vec<String>,
    /// The hash of `members`.
    view: String,
    /// Whether every live member works under `view`.
    agreed: bool,
    /// The members of the last view every member agreed on.
    last_agreed: Option<Vec<String>>,
    /// Reconciles running, by shard key.
    running: HashMap<String, usize>,
}

/// This replica's share of the apps, asked before each reconcile.
pub struct Shards {
    cfg: Sharding,
    state: Mutex<State>,
}

/// A running reconcile holding its [`Shards`], counted until dropped.
pub struct RunningOwned {
    shards: Arc<Shards>,
    key: String,
}

impl Drop for RunningOwned {
    fn drop(&mut self) {
        self.shards.finish(&self.key);
    }
}

impl Shards {
    /// One reconcile of `key` is over.
    fn finish(&self, key: &str) {
        let mut st = self.state.lock().expect("shard lock");
        if let Some(n) = st.running.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                st.running.remove(key);
            }
        }
    }

    /// No view yet: nothing is reconciled until the first look at the member Leases.
    pub fn new(cfg: Sharding) -> Shards {
        Shards {
            cfg,
            state: Mutex::default(),
        }
    }

    /// Whether `key` may be reconciled here now (see the module docs).
    fn mine(&self, st: &State, key: &str) -> bool {
        let me = self.cfg.identity.as_str();
        if owner(&st.members, key) != Some(me) {
            return false;
        }
        st.agreed || (st.last_agreed.as_ref()).is_some_and(|m| owner(m, key) == Some(me))
    }

    /// Starts a reconcile of `app` when it is this replica's now; the returned guard counts it
    /// as running until dropped (a hand-over of its app waits for it). None: another
    /// replica's, or not yet handed over.
    pub fn begin_owned(self: &Arc<Self>, app: &Application) -> Option<RunningOwned> {
        let key = shard_key(app, self.cfg.by);
        let mut st = self.state.lock().expect("shard lock");
        if !self.mine(&st, &key) {
            return None;
        }
        *st.running.entry(key.clone()).or_default() += 1;
        Some(RunningOwned {
            shards: self.clone(),
            key,
        })
    }

    /// Whether `app` is this replica's now.
    pub fn owns(&self, app: &Application) -> bool {
        let st = self.state.lock().expect("shard lock");
        self.mine(&st, &shard_key(app, self.cfg.by))
    }

    /// Takes a new member list; returns the view to write into this replica's Lease: the new
    /// one once no reconcile of an app it lost is running, else None (keep the old).
    fn observe(&self, members: Vec<String>) -> Option<String> {
        let mut st = self.state.lock().expect("shard lock");
        if st.members != members {
            tracing::info!(members = ?members, "shard members changed");
            st.view = view_hash(&members, self.cfg.by);
            st.members = members;
            st.agreed = false;
        }
        let me = self.cfg.identity.as_str();
        let draining = st
            .running
            .keys()
            .filter(|k| owner(&st.members, k) != Some(me))
            .count();
        (draining == 0).then(|| st.view.clone())
    }

    /// Every live member wrote `views`: marks the current view agreed when they all equal it.
    /// True when it became agreed just now (gained apps may start).
    fn agree(&self, views: &BTreeMap<String, String>) -> bool {
        let mut st = self.state.lock().expect("shard lock");
        let all = !st.members.is_empty()
            && st
                .members
                .iter()
                .all(|m| views.get(m).is_some_and(|v| *v == st.view));
        if all && !st.agreed {
            st.agreed = true;
            st.last_agreed = Some(st.members.clone());
            tracing::info!(members = ?st.members, "shard view agreed: apps handed over");
            return true;
        }
        false
    }

    /// This replica's identity in its Lease.
    pub fn identity(&self) -> &str {
        &self.cfg.identity
    }

    /// The live members as last seen.
    pub fn members(&self) -> usize {
        self.state.lock().expect("shard lock").members.len()
    }
}

/// The member Lease name of `identity` (a DNS subdomain: lower case, `-` for anything else).
fn lease_name(group: &str, identity: &str) -> String {
    let id: String = identity
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = format!("{group}-shard-{}", id.trim_matches(['-', '.']));
    name.chars().take(253).collect()
}

/// Keeps this replica's member Lease, follows the others', and hands apps over; `on_agreed`
/// runs whenever a new view is agreed (to start the gained apps at once), `owned` counts the
/// apps this replica owns for the metric. Exits the process when its own Lease cannot be
/// renewed within the renew deadline; releases it and exits on SIGTERM/SIGINT.
pub(crate) async fn run(
    client: Client,
    namespace: String,
    shards: Arc<Shards>,
    metrics: Arc<Metrics>,
    on_agreed: Box<dyn Fn() + Send + Sync>,
    owned: Box<dyn Fn() -> usize + Send + Sync>,
) {
    let cfg = shards.cfg.clone();
    let api: Api<Lease> = Api::namespaced(client, &namespace);
    let mine = lease_name(&cfg.group, &cfg.identity);
    let selector = format!("{MEMBER_LABEL}={}", cfg.group);
    // Per member Lease: the resourceVersion last seen and when it was first seen.
    let mut seen: HashMap<String, (String, Instant)> = HashMap::new();
    let mut renewed = Instant::now();
    let mut published = String::new();
    let mut stop = crate::leader::stop_signals();
    loop {
        match renew(&api, &mine, &cfg, &published).await {
            Ok(()) => renewed = Instant::now(),
            Err(e) => {
                tracing::warn!(lease = %mine, "renewing the shard Lease: {}", moor_types::error_chain(&e))
            }
        }
        if renewed.elapsed() >= cfg.renew_deadline {
            metrics.set_shard(0, 0);
            tracing::error!(lease = %mine, "shard Lease not renewed within the renew deadline: exiting so that no app is reconciled by two replicas");
            std::process::exit(1);
        }
        match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => {
                let mut members = Vec::new();
                let mut views = BTreeMap::new();
                for lease in list.items {
                    let spec = lease.spec.clone().unwrap_or_default();
                    let holder = spec.holder_identity.clone().unwrap_or_default();
                    if holder.is_empty() {
                        continue; // released
                    }
                    let rv = lease.resource_version().unwrap_or_default();
                    let first = match seen.get(&lease.name_any()) {
                        Some((v, at)) if *v == rv => *at,
                        _ => Instant::now(),
                    };
                    seen.insert(lease.name_any(), (rv, first));
                    let alive = holder == cfg.identity || first.elapsed() < cfg.lease_duration;
                    if alive {
                        if let Some(v) = lease.annotations().get(VIEW_ANNOTATION) {
                            views.insert(holder.clone(), v.clone());
                        }
                        members.push(holder);
                    }
                }
                if !members.contains(&cfg.identity) {
                    members.push(cfg.identity.clone());
                }
                members.sort();
                members.dedup();
                if let Some(view) = shards.observe(members)
                    && view != published
                {
                    published = view;
                    match renew(&api, &mine, &cfg, &published).await {
                        Ok(()) => renewed = Instant::now(),
                        Err(e) => {
                            tracing::warn!(lease = %mine, "writing the shard view: {}", moor_types::error_chain(&e))
                        }
                    }
                }
                views.insert(cfg.identity.clone(), published.clone());
                if shards.agree(&views) {
                    on_agreed();
                }
            }
            Err(e) => tracing::warn!("listing the shard Leases: {}", moor_types::error_chain(&e)),
        }
        metrics.set_shard(shards.members(), owned());
        tokio::select! {
            () = tokio::time::sleep(cfg.retry_period) => {}
            sig = stop.recv() => {
                release(&api, &mine, &cfg).await;
                tracing::info!(lease = %mine, "{}: released the shard Lease; exiting", sig.unwrap_or("a stop signal"));
                std::process::exit(0);
            }
        }
    }
}

/// Creates or renews this replica's member Lease, writing the view it works under.
async fn renew(
    api: &Api<Lease>,
    name: &str,
    cfg: &Sharding,
    view: &str,
) -> Result<(), kube::Error> {
    let now = Some(MicroTime(Timestamp::now()));
    let seconds = i32::try_from(cfg.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
    let mut lease = api.get_opt(name).await?.unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        spec: Some(LeaseSpec::default()),
    });
    lease
        .labels_mut()
        .insert(MEMBER_LABEL.into(), cfg.group.clone());
    lease
        .annotations_mut()
        .insert(VIEW_ANNOTATION.into(), view.to_string());
    let spec = lease.spec.get_or_insert_with(Default::default);
    if spec.holder_identity.as_deref() != Some(cfg.identity.as_str()) {
        spec.acquire_time = now.clone();
    }
    spec.holder_identity = Some(cfg.identity.clone());
    spec.lease_duration_seconds = Some(seconds);
    spec.renew_time = now;
    if lease.resource_version().is_some() {
        api.replace(name, &PostParams::default(), &lease).await?;
    } else {
        api.create(&PostParams::default(), &lease).await?;
    }
    Ok(())
}

/// Gives the member Lease up, so the others take this replica's apps at their next look
/// rather than after the lease duration. Bounded: a stopping process must not hang.
async fn release(api: &Api<Lease>, name: &str, cfg: &Sharding) {
    let attempt = async {
        let mut lease = api.get(name).await?;
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() == Some(cfg.identity.as_str()) {
            spec.holder_identity = Some(String::new());
            api.replace(name, &PostParams::default(), &lease).await?;
        }
        Ok::<(), kube::Error>(())
    };
    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), attempt).await {
        tracing::warn!(lease = %name, "releasing the shard Lease: {}", moor_types::error_chain(&e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("replica-{i}")).collect()
    }

    #[test]
    fn a_join_moves_only_apps_to_the_new_member() {
        let (three, four) = (members(3), members(4));
        let keys: Vec<String> = (0..3000).map(|i| format!("apps/app-{i}")).collect();
        let mut moved = 0;
        let mut per = HashMap::new();
        for k in &keys {
            let (a, b) = (owner(&three, k).unwrap(), owner(&four, k).unwrap());
            if a != b {
                assert_eq!(b, "replica-3", "{k} moved between old members");
                moved += 1;
            }
            *per.entry(b).or_insert(0) += 1;
        }
        // About a quarter moves, and the split is even within a few percent.
        assert!((600..900).contains(&moved), "{moved} moved");
        for (m, n) in per {
            assert!((650..850).contains(&n), "{m} owns {n} of 3000");
        }
    }

    #[test]
    fn gained_apps_wait_for_agreement_and_lost_ones_stop_at_once() {
        let cfg = |id: &str| Sharding {
            group: "moor-controller".into(),
            identity: id.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            by: ShardBy::App,
        };
        let a = Shards::new(cfg("replica-0"));
        let alone = vec!["replica-0".to_string()];
        let view = a.observe(alone.clone()).expect("nothing running: publish");
        let views = BTreeMap::from([("replica-0".to_string(), view)]);
        assert!(a.agree(&views));
        let both = members(2);
        // An app that moves to replica-1 when it joins.
        let key = (0..100)
            .map(|i| format!("apps/app-{i}"))
            .find(|k| owner(&both, k) == Some("replica-1"))
            .unwrap();
        let kept = (0..100)
            .map(|i| format!("apps/app-{i}"))
            .find(|k| owner(&both, k) == Some("replica-0"))
            .unwrap();
        let st = |s: &Shards, k: &str| s.mine(&s.state.lock().unwrap(), k);
        assert!(st(&a, &key) && st(&a, &kept));
        // A reconcile of the moving app is running on replica-0 when replica-1 joins.
        a.state.lock().unwrap().running.insert(key.clone(), 1);
        assert_eq!(a.observe(both.clone()), None, "still draining");
        assert!(!st(&a, &key), "a lost app is not started again");
        assert!(st(&a, &kept), "a kept app goes on before agreement");
        let b = Shards::new(cfg("replica-1"));
        let b_view = b.observe(both.clone()).unwrap();
        let mut views = BTreeMap::from([
            ("replica-1".to_string(), b_view.clone()),
            ("replica-0".to_string(), "old".to_string()),
        ]);
        assert!(!b.agree(&views));
        assert!(!st(&b, &key), "not before the old owner wrote the view");
        a.state.lock().unwrap().running.clear();
        let a_view = a.observe(both.clone()).expect("drained");
        assert_eq!(a_view, b_view);
        views.insert("replica-0".into(), a_view);
        assert!(b.agree(&views));
        assert!(st(&b, &key));
    }

    #[test]
    fn a_pin_names_a_member_by_identity_or_index_and_falls_back_to_the_hash() {
        let m = members(3);
        assert_eq!(owner(&m, "pin:replica-1"), Some("replica-1"));
        assert_eq!(owner(&m, "pin:2"), Some("replica-2"));
        assert_eq!(
            owner(&m, "pin:4"),
            Some("replica-1"),
            "modulo the member count"
        );
        // A pin naming no live member: the hash of the key, as for any other app.
        let gone = owner(&m, "pin:r9").unwrap();
        assert!(m.iter().any(|x| x == gone));
        assert_eq!(owner(&m[..0], "pin:replica-1"), None);
        let mut app: Application = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "a", "namespace": "n", "labels": {PIN_LABEL: "r1"}},
            "spec": {"source": {"repoURL": "x"}, "destination": {}}
        }))
        .unwrap();
        assert_eq!(shard_key(&app, ShardBy::Cluster), "pin:r1");
        app.metadata.labels = None;
        assert_eq!(shard_key(&app, ShardBy::App), "n/a");
    }

    #[test]
    fn lease_names_are_dns_names() {
        assert_eq!(
            lease_name("moor-controller", "Host_1-42"),
            "moor-controller-shard-host-1-42"
        );
    }
}
