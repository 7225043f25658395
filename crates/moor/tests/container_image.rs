//! The container image (scripts/image), built with the moor binary under test: pushed to a real
//! registry (moor-testkit's), pulled back with skopeo into a fresh OCI layout, unpacked with
//! umoci, and run the way a container runtime runs it: chrooted into the image's root filesystem
//! in fresh mount and pid namespaces with /dev and /proc mounted, as the image's user, with only
//! the image's environment. moor, kustomize, helm, jsonnet, git and ssh start (a missing library
//! fails here, not on a user's cluster), and `moor render` inside the image fetches over ssh from
//! a real git server (git runs the ssh command through the image's /bin/sh) and renders a
//! kustomization and a Helm chart with the image's tools.
//!
//! Needs root (chroot, mounts) and the image tools (scripts/lib/image.sh installs them; the
//! script does it itself when they are missing). No cluster needed.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Run;
use moor_testkit::GitServer;
use moor_testkit::git::ssh_command_with;
use moor_testkit::registry::Registry;
use serde_json::Value;

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

/// Runs `argv` inside `rootfs` as `p`'s user with only `p`'s environment (plus `extra`).
fn in_image(rootfs: &Path, p: &Process, extra: &[(&str, &str)], argv: &[&str]) -> Run {
    // The runtime's part: private mounts, /dev and /proc; then chroot as the image's user.
    // Host tools by absolute path, since PATH is the image's.
    let script = "/usr/bin/mount --rbind /dev \"$0/dev\" && \
                  exec /usr/sbin/chroot --userspec=\"$MOOR_TEST_USERSPEC\" \"$0\" \"$@\"";
    let mut cmd = Command::new("/usr/bin/unshare");
    cmd.args(["--mount", "--pid", "--fork"])
        .arg(format!("--mount-proc={}", rootfs.join("proc").display()))
        .args(["/bin/sh", "-c", script])
        .arg(rootfs)
        .args(argv)
        .env_clear()
        .envs(p.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(extra.iter().copied())
        .env("MOOR_TEST_USERSPEC", format!("{}:{}", p.uid, p.gid));
    run(&mut cmd)
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

#[test]
fn image_runs_moor_and_its_tools_as_non_root() {
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
}

/// Whether this process runs as root: `id -u`, to stay free of unsafe code and libc.
fn is_root() -> bool {
    run(Command::new("id").arg("-u")).stdout.trim() == "0"
}
