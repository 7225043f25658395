//! End to end: `spec.postBuild` (Flux's variable substitution, a moor extension) through the
//! controller: values from `substitute`, a ConfigMap and a Secret of the Application's
//! namespace, a default for a variable set nowhere, the `$${var}` escape, an object opted out,
//! a number that stays a number; a changed ConfigMap taking effect without a commit; and a
//! missing ConfigMap stopping the app with a condition that names it.

mod common;

use common::apps::{apply_app, spec, wait_app};
use common::controller::Controller;
use common::get;
use common::tenancy::{apply, condition};
use moor_testkit::{TestNamespace, client};
use serde_json::json;

const SETTINGS: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels:
    region: ${region}
data:
  region: ${region}
  cluster: ${cluster}
  shared: ${shared}
  tier: ${tier:=gold}
  token: ${token}
  upper: ${cluster^^}
  escaped: $${region}
  bare: $region
"#;

const OPTED_OUT: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  run.sh: echo ${region} ${tier:=gold}
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: ${port}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn variables_from_the_spec_a_configmap_a_secret_and_defaults_are_substituted() {
    let client = client().await;
    let home = TestNamespace::create(&client, "subst").await;
    let dest = TestNamespace::create(&client, "subst-dest").await;
    let (server, _repo) = common::git_repo(
        "r",
        &[
            ("app/settings.yaml", SETTINGS),
            ("app/script.yaml", OPTED_OUT),
            ("app/service.yaml", SERVICE),
        ],
    );
    let url = server.file_url("r");
    let vars = |region: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "cluster-vars", "namespace": home.name},
               "data": {"region": region, "shared": "from-configmap", "port": "8080"}})
    };
    apply(&client, vars("eu-west-1")).await;
    apply(
        &client,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "cluster-secrets", "namespace": home.name},
               "stringData": {"token": "s3cr3t-t0ken", "shared": "from-secret"}}),
    )
    .await;
    let _ctl = Controller::start(
        &home.name,
        &[
            "--namespace",
            &home.name,
            "--poll-interval",
            "2s",
            "--min-poll-interval",
            "1s",
        ],
    );
    // selfHeal: a changed ConfigMap changes what is desired without a new commit.
    let mut s = spec(
        &url,
        "app",
        &dest.name,
        json!({"prune": true, "selfHeal": true}),
    );
    s["postBuild"] = json!({
        "substitute": {"cluster": "prod-a", "shared": "from-spec"},
        "substituteFrom": [
            {"kind": "ConfigMap", "name": "cluster-vars"},
            {"kind": "Secret", "name": "cluster-secrets"},
            {"kind": "ConfigMap", "name": "absent", "optional": true},
        ],
    });
    apply_app(&client, &home.name, "a", s.clone()).await;
    let app = wait_app(&client, &home.name, "a", "synced", 90, |a| {
        a["status"]["sync"]["status"] == "Synced"
    })
    .await;

    let settings = get(&client, "v1", "ConfigMap", Some(&dest.name), "settings")
        .await
        .expect("settings applied");
    assert_eq!(
        settings["data"],
        json!({
            "region": "eu-west-1",
            "cluster": "prod-a",
            // substitute overrides substituteFrom; the Secret (later) overrides the ConfigMap.
            "shared": "from-spec",
            "tier": "gold",
            "token": "s3cr3t-t0ken",
            "upper": "PROD-A",
            "escaped": "${region}",
            "bare": "$region",
        })
    );
    assert_eq!(settings["metadata"]["labels"]["region"], "eu-west-1");
    let script = get(&client, "v1", "ConfigMap", Some(&dest.name), "script")
        .await
        .expect("script applied");
    assert_eq!(script["data"]["run.sh"], "echo ${region} ${tier:=gold}");
    let service = get(&client, "v1", "Service", Some(&dest.name), "web")
        .await
        .expect("service applied");
    assert_eq!(service["spec"]["ports"][0]["port"], json!(8080));
    assert!(
        !app["status"].to_string().contains("s3cr3t"),
        "a Secret value is in the status: {}",
        app["status"]
    );

    // A changed ConfigMap takes effect at a later reconcile, without a commit.
    apply(&client, vars("us-east-2")).await;
    moor_testkit::eventually(
        "the new region is applied",
        std::time::Duration::from_secs(60),
        || async {
            let cm = get(&client, "v1", "ConfigMap", Some(&dest.name), "settings").await?;
            (cm["data"]["region"] == "us-east-2").then_some(())
        },
    )
    .await;

    // A ConfigMap that is not there (and not optional) stops the app, naming it.
    let mut missing = s.clone();
    missing["postBuild"]["substituteFrom"] = json!([{"kind": "ConfigMap", "name": "nowhere"}]);
    apply_app(&client, &home.name, "missing", missing).await;
    let a = wait_app(&client, &home.name, "missing", "refused", 60, |a| {
        condition(a, "ComparisonError").is_some()
    })
    .await;
    assert_eq!(
        condition(&a, "ComparisonError").unwrap(),
        format!(
            "spec.postBuild.substituteFrom[0]: ConfigMap {}/nowhere does not exist (set optional: true to go on without it)",
            home.name
        )
    );

    // A value that breaks an object's YAML names the object and the variable, not the value.
    apply(
        &client,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "cluster-secrets", "namespace": home.name},
               "stringData": {"token": "s3cr3t: [", "shared": "x"}}),
    )
    .await;
    let a = wait_app(
        &client,
        &home.name,
        "a",
        "failing on the broken value",
        60,
        |a| condition(a, "ComparisonError").is_some(),
    )
    .await;
    let msg = condition(&a, "ComparisonError").unwrap();
    assert!(
        msg.starts_with(
            "spec.postBuild: substitution in ConfigMap settings (settings.yaml:1): not valid YAML"
        ),
        "{msg}"
    );
    assert!(msg.contains("${token}"), "{msg}");
    assert!(
        !a["status"].to_string().contains("s3cr3t"),
        "a Secret value is in the status: {}",
        a["status"]
    );
    home.delete(&client).await;
    dest.delete(&client).await;
}

#[test]
fn moor_render_substitutes_given_variables() {
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "app/settings.yaml", SETTINGS);
    common::write(dir.path(), "app/script.yaml", OPTED_OUT);
    let repo = dir.path().to_str().unwrap();
    let args = ["render", "--repo", repo, "--path", "app"];
    let vars = ["--substitute", "region=eu", "--substitute", "cluster=a=b"];
    let out = common::moor_ok(&[&args[..], &vars[..]].concat(), &[]).stdout;
    let objects = moor_render::parse_manifests(&out, "stdout").unwrap();
    let data = |name: &str| {
        let m = objects.iter().find(|m| m.name() == name).unwrap();
        m.obj["data"].clone()
    };
    assert_eq!(data("settings")["region"], "eu");
    assert_eq!(data("settings")["cluster"], "a=b");
    assert_eq!(data("settings")["tier"], "gold");
    // Set nowhere, no default: empty, so the YAML value is null (as with Flux).
    assert_eq!(data("settings")["token"], serde_json::Value::Null);
    assert_eq!(data("script")["run.sh"], "echo ${region} ${tier:=gold}");

    let bad = common::moor(&[&args[..], &["--substitute", "a-b=1"][..]].concat(), &[]);
    assert!(
        bad.stderr
            .contains("--substitute \"a-b\": a variable name is"),
        "{}",
        bad.stderr
    );
}
