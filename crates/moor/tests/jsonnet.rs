//! End to end: a plain directory of Jsonnet with an external variable, top-level arguments and
//! a library (Argo CD's `spec.source.directory.jsonnet`), synced by the controller to the local
//! control plane, and `moor render` of the same directory with Argo CD's CLI flags giving the
//! same objects. A change to the imported library alone re-renders. Needs `jsonnet` on PATH
//! (`source scripts/lib/tools.sh; ensure_tools`).

mod common;

use std::collections::BTreeMap;

use common::apps::{apply_app, spec, wait_app};
use common::controller::Controller;
use common::{get, moor, moor_ok, write};
use moor_testkit::{GitServer, TestNamespace, client};
use serde_json::{Value, json};

const LIB: &str = "{\n  configMap(name, data):: {\n    apiVersion: 'v1', kind: 'ConfigMap',\n    \
metadata: { name: name, labels: { 'moor.dev/lib': 'one' } },\n    data: data,\n  },\n}\n";

/// The app: a function of `replicas` and `tier` (top-level arguments) reading `env` (an external
/// variable), imports from `vendor/` (a library path) and beside it, next to plain YAML.
const MAIN: &str = "local k = import 'k.libsonnet';\nlocal extra = import 'extra.libsonnet';\n\
// import \"/etc/passwd\" in a comment is no import\n\
function(replicas, tier='web')\n  local name = 'guestbook-' + tier;\n  [\n    \
k.configMap(name, { env: std.extVar('env'), replicas: std.toString(replicas) }),\n    \
{ apiVersion: 'v1', kind: 'List', items: [k.configMap(name + '-' + n, extra) for n in ['a', 'b']] },\n  ]\n";

/// Kind/name -> data of the ConfigMaps in a YAML stream.
fn configmaps(yaml: &str) -> BTreeMap<String, Value> {
    let ms = moor_render::parse_manifests(yaml, "moor render").expect("render output parses");
    ms.into_iter()
        .map(|m| (m.name().to_string(), m.obj["data"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonnet_with_an_ext_var_and_a_tla_syncs_and_renders_the_same() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "jsonnet").await;
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "vendor/k.libsonnet", LIB);
    write(src.path(), "apps/guestbook/main.jsonnet", MAIN);
    write(
        src.path(),
        "apps/guestbook/extra.libsonnet",
        "{ note: importstr 'note.txt' }\n",
    );
    write(src.path(), "apps/guestbook/note.txt", "hello");
    write(
        src.path(),
        "apps/guestbook/plain.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {from: yaml}\n",
    );
    let server = GitServer::start();
    let repo = server.create_repo("jsonnet", src.path());
    let url = server.file_url("jsonnet");
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);

    let mut s = spec(&url, "apps/guestbook", &ns.name, json!({"prune": true}));
    s["source"]["directory"] = json!({"jsonnet": {
        "extVars": [{"name": "env", "value": "prod"}],
        "tlas": [{"name": "replicas", "value": "1 + 2", "code": true},
                 {"name": "tier", "value": "front"}],
        "libs": ["vendor"],
    }});
    apply_app(&client, &ns.name, "guestbook", s).await;
    let synced = |a: &Value| a["status"]["sync"]["status"] == "Synced";
    wait_app(&client, &ns.name, "guestbook", "synced", 90, synced).await;

    let mut live = BTreeMap::new();
    for name in [
        "plain",
        "guestbook-front",
        "guestbook-front-a",
        "guestbook-front-b",
    ] {
        let cm = get(&client, "v1", "ConfigMap", Some(&ns.name), name)
            .await
            .unwrap_or_else(|| panic!("ConfigMap {name} was applied"));
        live.insert(name.to_string(), cm["data"].clone());
    }
    assert_eq!(
        live["guestbook-front"],
        json!({"env": "prod", "replicas": "3"}),
        "the ext var and the code TLA reached the object"
    );
    assert_eq!(live["guestbook-front-a"], json!({"note": "hello"}));

    // `moor render` with Argo CD's flags gives the same objects.
    let args = [
        "render",
        "--repo",
        &url,
        "--path",
        "apps/guestbook",
        "--jsonnet-ext-var-str",
        "env=prod",
        "--jsonnet-tla-code",
        "replicas=1 + 2",
        "--jsonnet-tla-str",
        "tier=front",
        "--jsonnet-libs",
        "vendor",
    ];
    let rendered = configmaps(&moor_ok(&args, &[]).stdout);
    assert_eq!(rendered, live);

    // Without the library path the import is not found, and jsonnet says so.
    let run = moor(&args[..args.len() - 2], &[]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("couldn't open import \"k.libsonnet\""),
        "{}",
        run.stderr
    );

    // A change to the library alone (outside the app's path) renders again.
    let work = repo.clone_work();
    work.write("vendor/k.libsonnet", LIB.replace("'one'", "'two'"));
    let commit = work.commit_and_push("library two");
    let at = |a: &Value| a["status"]["sync"]["revision"] == commit.as_str() && synced(a);
    wait_app(
        &client,
        &ns.name,
        "guestbook",
        "synced at the new commit",
        90,
        at,
    )
    .await;
    let cm = get(
        &client,
        "v1",
        "ConfigMap",
        Some(&ns.name),
        "guestbook-front",
    )
    .await
    .unwrap();
    assert_eq!(cm["metadata"]["labels"]["moor.dev/lib"], "two");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_import_stops_the_app_naming_file_and_line() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "jsonnet-hostile").await;
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "app/main.jsonnet",
        "{\n  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'token' },\n  \
         data: { t: importstr '/var/run/secrets/kubernetes.io/serviceaccount/token' },\n}\n",
    );
    let server = GitServer::start();
    server.create_repo("hostile", src.path());
    let url = server.file_url("hostile");
    let _ctl = Controller::start(&ns.name, &["--namespace", &ns.name]);
    apply_app(
        &client,
        &ns.name,
        "hostile",
        spec(&url, "app", &ns.name, json!({"prune": true})),
    )
    .await;
    let msg = "app/main.jsonnet:3: importstr \"/var/run/secrets/kubernetes.io/serviceaccount/\
               token\" leaves the repository";
    let named = |a: &Value| {
        let conditions = a["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        conditions
            .iter()
            .any(|c| c["message"].as_str().is_some_and(|m| m.contains(msg)))
    };
    wait_app(&client, &ns.name, "hostile", "refused", 90, named).await;
    assert!(
        get(&client, "v1", "ConfigMap", Some(&ns.name), "token")
            .await
            .is_none()
    );
    let run = moor(&["render", "--repo", &url, "--path", "app"], &[]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains(msg), "{}", run.stderr);
}
