//! End to end: `moor install`, `moor uninstall` and `moor version` on the local control plane,
//! in a namespace of the test's own (`--namespace`, which also names the cluster-wide RBAC
//! after it), so installs of other tests never meet this one. The nodes are kwok's: the
//! Deployment becomes Available without the image running, which is what install waits for.

mod common;

use common::apps::{apply_app, get_app};
use common::controller::ensure_crds;
use common::{Run, get, moor};
use moor_testkit::{TestNamespace, client};
use serde_json::{Value, json};

/// `moor ARGS --namespace NS`.
fn moor_in(ns: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--namespace", ns]);
    moor(&all, &[])
}

fn ok(ns: &str, args: &[&str]) -> Run {
    moor_in(ns, args).expect_ok(args)
}

async fn deployment(client: &kube::Client, ns: &str) -> Option<Value> {
    get(client, "apps/v1", "Deployment", Some(ns), "moor-controller").await
}

async fn cluster_role(client: &kube::Client, name: &str) -> Option<Value> {
    get(
        client,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        None,
        name,
    )
    .await
}

fn changed(set: &Value) -> Vec<String> {
    set["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["change"] != "unchanged")
        .map(|o| format!("{} {}", o["change"], o["key"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn install_makes_the_controller_available_changes_nothing_twice_switches_rbac_and_uninstall_keeps_the_crds_and_apps()
 {
    let client = client().await;
    ensure_crds();
    let ns = TestNamespace::create(&client, "minst").await;
    let n = ns.name.as_str();
    let role = format!("moor-controller-{n}");
    let imp_role = format!("moor-controller-impersonation-{n}");
    // An Application that must outlive the uninstall (no controller runs for this namespace).
    apply_app(
        &client,
        n,
        "survivor",
        json!({"source": {"repoURL": "https://example.invalid/r.git", "path": "."},
               "destination": {"server": "https://kubernetes.default.svc", "namespace": n}}),
    )
    .await;
    // -o wide: where the app comes from and goes, and whether it syncs itself.
    let wide = ok(n, &["app", "list", "-o", "wide"]).stdout;
    assert!(wide.starts_with("NAME") && wide.contains("REPO"), "{wide}");
    let row = wide.lines().find(|l| l.starts_with("survivor")).unwrap();
    assert!(
        row.contains("https://example.invalid/r.git") && row.contains("manual"),
        "{wide}"
    );
    let image = "registry.invalid/moor:test-1";
    let base = [
        "install",
        "--image",
        image,
        "--replicas",
        "1",
        "--timeout",
        "2m",
        "-o",
        "json",
    ];

    // --dry-run: reports what it would create, writes nothing.
    let mut dry = base.to_vec();
    dry.push("--dry-run");
    let set = ok(n, &dry).json();
    assert_eq!(set["dryRun"], true, "{set}");
    assert!(
        changed(&set)
            .iter()
            .any(|c| c.contains("Deployment") && c.contains("created")),
        "{set}"
    );
    assert!(deployment(&client, n).await.is_none());
    assert!(cluster_role(&client, &role).await.is_none());

    // Install: Available, with the image asked for.
    let run = ok(n, &base);
    let d = deployment(&client, n).await.expect("the Deployment exists");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        image
    );
    let available = d["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Available" && c["status"] == "True");
    assert!(
        available,
        "install returned before the Deployment was Available: {d}\n{}",
        run.stdout
    );
    let crb = get(
        &client,
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        None,
        &role,
    )
    .await
    .expect("the ClusterRoleBinding, named after the namespace");
    assert_eq!(crb["subjects"][0]["namespace"], n);
    assert!(cluster_role(&client, &role).await.is_some());
    // The web UI's Service, in the install's namespace.
    let ui = get(&client, "v1", "Service", Some(n), "moor-ui")
        .await
        .expect("the Service moor-ui");
    assert_eq!(ui["spec"]["ports"][0]["targetPort"], "ui", "{ui}");

    // A second install changes nothing.
    let again = ok(n, &base).json();
    assert_eq!(changed(&again), Vec::<String>::new(), "{again}");

    // `moor version` reads the controller's version from the installed image.
    let v = ok(n, &["version"]);
    assert!(
        v.stdout.contains("controller: test-1"),
        "moor version: {}",
        v.stdout
    );
    assert!(
        v.stdout
            .contains(&format!("client: {}", env!("CARGO_PKG_VERSION")))
    );

    // --rbac impersonation swaps the ClusterRole (the old one is pruned) and the flag.
    let mut imp = base.to_vec();
    imp.extend(["--rbac", "impersonation"]);
    ok(n, &imp);
    assert!(cluster_role(&client, &imp_role).await.is_some());
    assert!(cluster_role(&client, &role).await.is_none());
    let d = deployment(&client, n).await.unwrap();
    assert!(
        d["spec"]["template"]["spec"]["containers"][0]["args"]
            .to_string()
            .contains("--require-impersonation")
    );

    // --crds is refused while Applications exist (there is at least ours).
    let refused = moor_in(n, &["uninstall", "--crds", "--dry-run"]);
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);

    // A dry-run uninstall deletes nothing.
    ok(n, &["uninstall", "--dry-run"]);
    assert!(deployment(&client, n).await.is_some());

    // Uninstall: the controller and its RBAC go; the CRDs, the namespace and the Application
    // stay, and the kept objects no longer carry install's tracking id.
    ok(n, &["uninstall"]);
    moor_testkit::eventually(
        "the controller Deployment to be deleted",
        std::time::Duration::from_secs(60),
        || async { deployment(&client, n).await.is_none().then_some(()) },
    )
    .await;
    assert!(cluster_role(&client, &imp_role).await.is_none());
    assert!(
        get(&client, "v1", "Service", Some(n), "moor-ui")
            .await
            .is_none()
    );
    assert!(get_app(&client, n, "survivor").await.is_some());
    let crd = get(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "applications.moor.dev",
    )
    .await
    .expect("the Application CRD stays");
    let tracking = crd["metadata"]["annotations"]["moor.dev/tracking-id"].as_str();
    assert!(
        !tracking.is_some_and(|t| t.starts_with(&format!("{n}_moor:"))),
        "{tracking:?}"
    );
    let kept = get(&client, "v1", "Namespace", None, n).await.unwrap();
    assert!(kept["metadata"]["deletionTimestamp"].is_null());

    // Nothing left to uninstall.
    let again = ok(n, &["uninstall"]);
    assert!(
        again.stderr.contains("nothing to uninstall"),
        "{}",
        again.stderr
    );
}
