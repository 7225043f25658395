//! The container image (scripts/image), built with the moor binary under test: pushed to a real
//! registry (moor-testkit's), pulled back with skopeo into a fresh OCI layout, unpacked with
//! umoci, and run the way a container runtime runs it: chrooted into the image's root filesystem
//! in fresh mount and pid namespaces with /dev and /proc mounted, as the image's user, with only
//! the image's environment. moor, kustomize, helm, jsonnet, git and ssh start (a missing library
//! fails here, not on a user's cluster), and `moor render` inside the image fetches over ssh from
//! a real git server (git runs the ssh command through the image's /bin/sh) and renders a
//! kustomization and a Helm chart with the image's tools. Then the image's entrypoint and command,
//! `moor controller`, runs there as the controller Deployment runs it (read-only root, emptyDirs
//! at /tmp and the cache) against the local control plane, whose kwok nodes run no containers:
//! an Application syncs through it from a real git server.
//!
//! Needs root (chroot, mounts), the image tools (scripts/lib/image.sh installs them; the script
//! does it itself when they are missing) and the test cluster (scripts/test).

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::apps::{apply_app, spec, synced_healthy, wait_app};
use common::controller::{ensure_crds, free_port};
use common::{Run, get};
use moor_testkit::git::ssh_command_with;
use moor_testkit::registry::Registry;
use moor_testkit::{GitServer, TestNamespace};
use serde_json::{Value, json};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The budget for what a pull downloads; the test image carries the debug binary,
/// larger than the release one scripts/image puts in by default.
const MAX_COMPRESSED: u64 = 120 * 1024 * 1024;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out.into()
}

fn ok(cmd: &mut Command) -> Run {
    let shown = format!("{cmd:?}");
    let r = run(cmd);
    assert_eq!(
        r.code, 0,
        "{shown} failed:\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    r
}

/// The process a runtime would start for the unpacked bundle: its user and environment.
struct Process {
    uid: u32,
    gid: u32,
    env: Vec<(String, String)>,
}

/// The runtime's part, as a shell script run by `unshare` with the root filesystem as `$0`:
/// private mounts, /dev and /proc; then chroot as the image's user.
const MOUNT_DEV: &str = "/usr/bin/mount --rbind /dev \"$0/dev\"";
const CHROOT: &str = "exec /usr/sbin/chroot --userspec=\"$MOOR_TEST_USERSPEC\" \"$0\" \"$@\"";
/// The filesystem of deploy/controller/deployment.yaml: a read-only root (recursive, so the
/// /proc unshare mounted stays) with fresh emptyDirs at /tmp and at the cache, the user's own.
const DEPLOYMENT_MOUNTS: &str = "/usr/bin/mount --rbind \"$0\" \"$0\" && \
    /usr/bin/mount -o remount,bind,ro \"$0\" && \
    /usr/bin/mount -t tmpfs -o mode=1777 tmpfs \"$0/tmp\" && \
    /usr/bin/mount -t tmpfs -o \"uid=$MOOR_TEST_UID,gid=$MOOR_TEST_GID,mode=0750\" tmpfs \"$0/var/cache/moor\"";

/// `argv` inside `rootfs` as `p`'s user with only `p`'s environment (plus `extra`), after
/// `mounts` (a shell command list, or empty) in fresh mount and pid namespaces.
fn image_command(
    rootfs: &Path,
    p: &Process,
    extra: &[(&str, &str)],
    mounts: &str,
    argv: &[&str],
) -> Command {
    // Host tools by absolute path, since PATH is the image's.
    let script = [mounts, MOUNT_DEV, CHROOT]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" && ");
    let mut cmd = Command::new("/usr/bin/unshare");
    cmd.args(["--mount", "--pid", "--fork"])
        .arg(format!("--mount-proc={}", rootfs.join("proc").display()))
        .args(["/bin/sh", "-c", &script])
        .arg(rootfs)
        .args(argv)
        .env_clear()
        .envs(p.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(extra.iter().copied())
        .env("MOOR_TEST_USERSPEC", format!("{}:{}", p.uid, p.gid))
        .env("MOOR_TEST_UID", p.uid.to_string())
        .env("MOOR_TEST_GID", p.gid.to_string());
    cmd
}

/// Runs `argv` inside `rootfs` as `p`'s user with only `p`'s environment (plus `extra`).
fn in_image(rootfs: &Path, p: &Process, extra: &[(&str, &str)], argv: &[&str]) -> Run {
    run(&mut image_command(rootfs, p, extra, "", argv))
}

fn in_image_ok(rootfs: &Path, p: &Process, extra: &[(&str, &str)], argv: &[&str]) -> Run {
    let r = in_image(rootfs, p, extra, argv);
    assert_eq!(
        r.code, 0,
        "{argv:?} inside the image failed:\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    r
}

/// A repository with a kustomization and a Helm chart, for `moor render` inside the image.
fn app_repo(git: &GitServer) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let w = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    w(
        "kustomize/kustomization.yaml",
        "namePrefix: in-image-\nresources:\n  - cm.yaml\n",
    );
    w(
        "kustomize/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kustomize\ndata:\n  a: b\n",
    );
    w(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: image-chart\nversion: 0.1.0\n",
    );
    w(
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-from-helm\n\
         data:\n  helm: {{ .Capabilities.HelmVersion.Version | quote }}\n",
    );
    git.create_repo("image-app", dir.path());
    git.ssh_url("image-app")
}

/// One test, so CI builds and unpacks the image once for both halves.
#[tokio::test(flavor = "multi_thread")]
async fn image_runs_moor_and_its_tools_as_non_root() {
    // Refuses a foreign cluster before the long build.
    moor_testkit::kubeconfig_path();
    assert!(
        is_root(),
        "the container image test needs root (chroot and mounts, as a container runtime)"
    );
    let work = tempfile::Builder::new()
        .prefix("moor-image-test-")
        .tempdir()
        .expect("temp dir");
    // Kept between runs, so an unchanged image is reused rather than assembled again.
    let layout = Path::new(env!("CARGO_TARGET_TMPDIR")).join("container-image/oci");
    let registry = Registry::start();

    // Build (or reuse) and push.
    let built = ok(Command::new(repo_root().join("scripts/image"))
        .arg("--moor-bin")
        .arg(env!("CARGO_BIN_EXE_moor"))
        .arg("--out")
        .arg(&layout)
        .args(["--push", &registry.host()]));
    eprintln!("{}", built.stderr);
    let refs: Vec<&str> = built.stdout.lines().collect();
    let prefix = format!("{}/moor:", registry.host());
    assert_eq!(refs.len(), 2, "scripts/image pushed {refs:?}");
    assert_eq!(refs[0], format!("{prefix}{VERSION}"));
    let commit_tag = refs[1]
        .strip_prefix(&format!("{prefix}{VERSION}-"))
        .unwrap_or_else(|| panic!("second tag {} is not <version>-<commit>", refs[1]));
    // What the registry serves: config and size.
    let remote = format!("docker://{}", refs[1]);
    let config: Value = serde_json::from_str(
        &ok(Command::new("skopeo").args(["inspect", "--tls-verify=false", "--config", &remote]))
            .stdout,
    )
    .expect("image config is JSON");
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532", "{config}");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/usr/local/bin/moor"]));
    assert_eq!(c["Cmd"], serde_json::json!(["controller"]));
    let labels = &c["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], VERSION);
    // The commit the image was built from: the tag's, and HEAD or (when a commit landed while
    // the test ran) an ancestor of it.
    let revision = labels["org.opencontainers.image.revision"]
        .as_str()
        .unwrap_or_default();
    assert!(
        revision.len() == 40 && revision.starts_with(commit_tag.trim_end_matches(".dirty")),
        "tag {commit_tag} with revision label {revision:?}"
    );
    ok(Command::new("git").arg("-C").arg(repo_root()).args([
        "merge-base",
        "--is-ancestor",
        revision,
        "HEAD",
    ]));
    let manifest: Value = serde_json::from_str(
        &ok(Command::new("skopeo").args(["inspect", "--tls-verify=false", "--raw", &remote]))
            .stdout,
    )
    .expect("manifest is JSON");
    let size: u64 = manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["size"].as_u64().expect("layer size"))
        .sum();
    assert!(
        size < MAX_COMPRESSED,
        "image is {} MiB compressed, over the 120 MiB budget",
        size >> 20
    );

    // Pull into a fresh layout and unpack, as a node would.
    let pulled = work.path().join("pulled");
    ok(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &remote,
        &format!("oci:{}:moor", pulled.display()),
    ]));
    let bundle = work.path().join("bundle");
    ok(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:moor", pulled.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    let runtime: Value =
        serde_json::from_slice(&fs::read(bundle.join("config.json")).expect("bundle config"))
            .expect("bundle config is JSON");
    let proc_ = &runtime["process"];
    assert_eq!(
        proc_["args"],
        serde_json::json!(["/usr/local/bin/moor", "controller"])
    );
    let entrypoint: Vec<String> = proc_["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("arg").to_string())
        .collect();
    let p = Process {
        uid: proc_["user"]["uid"].as_u64().expect("uid") as u32,
        gid: proc_["user"]["gid"].as_u64().expect("gid") as u32,
        env: proc_["env"]
            .as_array()
            .expect("env")
            .iter()
            .filter_map(|e| e.as_str()?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    assert_eq!((p.uid, p.gid), (65532, 65532));
    for want in ["HOME=/tmp", "MOOR_CACHE=/var/cache/moor"] {
        let (k, v) = want.split_once('=').unwrap();
        assert!(
            p.env.iter().any(|(ek, ev)| ek == k && ev == v),
            "image env {:?} lacks {want}",
            p.env
        );
    }
    assert!(
        !rootfs.join("usr/bin/bash").exists(),
        "bash is in the image"
    );
    let bundle_size = fs::metadata(rootfs.join("etc/ssl/certs/ca-certificates.crt"))
        .expect("the CA bundle is in the image")
        .len();
    assert!(bundle_size > 100_000, "CA bundle of {bundle_size} bytes");

    // Every binary starts, as the image's user.
    let v = in_image_ok(&rootfs, &p, &[], &["moor", "--version"]);
    assert_eq!(v.stdout.trim(), format!("moor {VERSION}"));
    let v = in_image_ok(&rootfs, &p, &[], &["helm", "version"]);
    assert!(
        v.stdout.contains("Version:\"v3."),
        "helm version: {}",
        v.stdout
    );
    // Built from the pinned module as a dependency, kustomize knows no version of its own.
    let v = in_image_ok(&rootfs, &p, &[], &["kustomize", "version"]);
    assert!(
        !v.stdout.trim().is_empty(),
        "kustomize version printed nothing"
    );
    let v = in_image_ok(&rootfs, &p, &[], &["jsonnet", "--version"]);
    assert!(
        v.stdout.contains("Jsonnet"),
        "jsonnet --version: {}",
        v.stdout
    );
    let v = in_image_ok(&rootfs, &p, &[], &["git", "--version"]);
    assert!(v.stdout.starts_with("git version 2."), "{}", v.stdout);
    let v = in_image_ok(&rootfs, &p, &[], &["ssh", "-V"]);
    assert!(v.stderr.contains("OpenSSH_"), "ssh -V: {}", v.stderr);
    let id = in_image_ok(&rootfs, &p, &[], &["id", "-un"]);
    assert_eq!(id.stdout.trim(), "moor", "the image's user has a name");

    // moor renders from a real git server over ssh inside the image, with the image's helm
    // and kustomize. The key goes where the image's user can read it and ssh accepts it.
    let git = GitServer::start();
    let url = app_repo(&git);
    let ssh_dir = rootfs.join("tmp/ssh");
    fs::create_dir_all(&ssh_dir).unwrap();
    for (src, name) in [
        (git.ssh_key_path(), "id"),
        (git.known_hosts_path(), "known_hosts"),
    ] {
        let dst = ssh_dir.join(name);
        fs::copy(src, &dst).unwrap();
        fs::set_permissions(&dst, fs::Permissions::from_mode(0o600)).unwrap();
        chown(&dst, Some(p.uid), Some(p.gid)).unwrap();
    }
    chown(&ssh_dir, Some(p.uid), Some(p.gid)).unwrap();
    let ssh = ssh_command_with(Path::new("/tmp/ssh/id"), Path::new("/tmp/ssh/known_hosts"));
    let env = [("GIT_SSH_COMMAND", ssh.as_str())];
    let r = in_image_ok(
        &rootfs,
        &p,
        &env,
        &["moor", "render", "--repo", &url, "--path", "kustomize"],
    );
    assert!(
        r.stdout.contains("name: in-image-from-kustomize"),
        "kustomize render inside the image:\n{}",
        r.stdout
    );
    let r = in_image_ok(
        &rootfs,
        &p,
        &env,
        &["moor", "render", "--repo", &url, "--path", "chart"],
    );
    assert!(
        r.stdout.contains("name: chart-from-helm") && r.stdout.contains("helm: v3."),
        "helm render inside the image:\n{}",
        r.stdout
    );

    let log = work.path().join("controller.log");
    controller_in_image(&rootfs, &p, &entrypoint, &git, &log).await;
}

/// The image's entrypoint and command, `moor controller`, run as deploy/controller/deployment.yaml
/// runs it (read-only root, emptyDirs at /tmp and the cache, leader election) against the local
/// control plane: it syncs an Application from the git server over http with the image's git
/// and kustomize.
async fn controller_in_image(
    rootfs: &Path,
    p: &Process,
    entrypoint: &[String],
    git: &GitServer,
    log: &Path,
) {
    let start = Instant::now();
    let client = moor_testkit::client().await;
    ensure_crds();
    let apps = TestNamespace::create(&client, "image-apps").await;
    let system = TestNamespace::create(&client, "image-system").await;
    // Where a Secret volume would be: the root is read-only, and only the image's user reads it.
    let dir = rootfs.join("etc/moor-test");
    fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    fs::copy(moor_testkit::kubeconfig_path(), &kubeconfig).unwrap();
    fs::set_permissions(&kubeconfig, fs::Permissions::from_mode(0o400)).unwrap();
    chown(&kubeconfig, Some(p.uid), Some(p.gid)).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut argv: Vec<&str> = entrypoint.iter().map(String::as_str).collect();
    argv.extend([
        "--kubeconfig",
        "/etc/moor-test/kubeconfig",
        "--app-namespace",
        &apps.name,
        "--namespace",
        &system.name,
        "--webhook-addr",
        &addr,
        "--leader-elect",
    ]);
    let env = [
        ("POD_NAME", "moor-in-image"),
        ("MOOR_LOG", "info,kube=warn"),
        ("NO_COLOR", "1"),
    ];
    // The mounts hold: the user writes to the emptyDirs, and not even root to the rest.
    let root = Process {
        uid: 0,
        gid: 0,
        env: p.env.clone(),
    };
    for (who, script) in [
        (p, "touch /tmp/w /var/cache/moor/w"),
        (&root, "! touch /usr/local/bin/w 2>/dev/null"),
    ] {
        let argv = ["/bin/sh", "-c", script];
        let r = run(&mut image_command(
            rootfs,
            who,
            &[],
            DEPLOYMENT_MOUNTS,
            &argv,
        ));
        assert_eq!(r.code, 0, "{script} as uid {}: {}", who.uid, r.stderr);
    }
    let mut ctl = ImageProcess::spawn(
        image_command(rootfs, p, &env, DEPLOYMENT_MOUNTS, &argv),
        log,
    );
    let ready = Instant::now() + Duration::from_secs(30);
    while http_status(port, "/readyz") != Some(200) {
        // Its log is shown when the guard drops.
        assert!(
            Instant::now() < ready,
            "the controller in the image was not ready in 30 s"
        );
        assert!(ctl.running(), "the controller in the image exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let url = git.http_url("image-app");
    apply_app(
        &client,
        &apps.name,
        "from-image",
        spec(&url, "kustomize", &apps.name, json!({})),
    )
    .await;
    let app = wait_app(
        &client,
        &apps.name,
        "from-image",
        "Synced and Healthy",
        60,
        synced_healthy,
    )
    .await;
    assert_eq!(
        app["status"]["sync"]["revision"].as_str().map(str::len),
        Some(40),
        "{app}"
    );
    let cm = get(
        &client,
        "v1",
        "ConfigMap",
        Some(&apps.name),
        "in-image-from-kustomize",
    )
    .await
    .expect("the synced ConfigMap");
    assert_eq!(cm["data"]["a"], "b", "{cm}");
    // It was this controller: the leader Lease in its --namespace is held by its POD_NAME.
    let lease = get(
        &client,
        "coordination.k8s.io/v1",
        "Lease",
        Some(&system.name),
        "moor-controller",
    )
    .await
    .expect("the leader Lease");
    assert_eq!(lease["spec"]["holderIdentity"], "moor-in-image", "{lease}");
    ctl.stop();
    eprintln!("controller in the image synced in {:?}", start.elapsed());
}

/// A process in its own pid namespace (`unshare --pid --fork`), stopped by killing the
/// namespace's init (the kernel then kills everything in it), also when the test fails.
struct ImageProcess {
    unshare: Child,
    log: PathBuf,
}

impl ImageProcess {
    fn spawn(mut cmd: Command, log: &Path) -> ImageProcess {
        let file = fs::File::create(log).unwrap();
        let unshare = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        ImageProcess {
            unshare,
            log: log.to_path_buf(),
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn running(&mut self) -> bool {
        matches!(self.unshare.try_wait(), Ok(None))
    }

    /// The host pids of unshare's children: the namespace's init (`sh`, then `moor` by exec).
    fn inits(&self) -> Vec<String> {
        let pid = self.unshare.id();
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    fn kill(&mut self) {
        for init in self.inits() {
            let _ = Command::new("kill").args(["-KILL", &init]).status();
        }
        // unshare exits with its child; killed too in case it had none yet.
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }

    /// Kills it and checks that nothing of it is left.
    fn stop(mut self) {
        let inits = self.inits();
        assert_eq!(inits.len(), 1, "unshare's children: {inits:?}");
        self.kill();
        let gone = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{}", inits[0])).exists() {
            assert!(Instant::now() < gone, "pid {} outlived SIGKILL", inits[0]);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ImageProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- controller in the image, log ---\n{}", self.log());
        }
    }
}

/// The status of `GET path` on 127.0.0.1:`port`, None when nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

/// Whether this process runs as root: `id -u`, to stay free of unsafe code and libc.
fn is_root() -> bool {
    run(Command::new("id").arg("-u")).stdout.trim() == "0"
}
