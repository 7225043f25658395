//! Helm charts in the test registry, pushed the way users push them: `helm package`, then
//! `helm registry login` (when the registry has auth) and `helm push oci://… --plain-http`,
//! with helm's config, cache and registry credentials in a temp dir (never `~`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Registry;

/// A chart `name` at `version` in `dir/name`, packaged as `dir/name-version.tgz` (returned).
/// It renders one ConfigMap named `<release>-<name>` with the chart's version in
/// `data.version` and `.Values.greeting` (default `hello`) in `data.greeting`.
pub fn package_chart(dir: &Path, name: &str, version: &str) -> PathBuf {
    let src = dir.join(format!("src-{name}-{version}"));
    let chart = src.join(name);
    std::fs::create_dir_all(chart.join("templates")).expect("create chart dir");
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\ntype: application\n"),
    )
    .expect("write Chart.yaml");
    std::fs::write(chart.join("values.yaml"), "greeting: hello\n").expect("write values.yaml");
    std::fs::write(
        chart.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n\
         data:\n  version: {{ .Chart.Version | quote }}\n  greeting: {{ .Values.greeting | quote }}\n",
    )
    .expect("write template");
    let helm = HelmHome::new();
    helm.run(
        Command::new("helm")
            .arg("package")
            .arg(&chart)
            .arg("--destination")
            .arg(dir),
        None,
    );
    // Helm names the archive after the version as Chart.yaml spells it.
    let tgz = dir.join(format!("{name}-{version}.tgz"));
    assert!(tgz.is_file(), "helm package wrote no {}", tgz.display());
    tgz
}

impl Registry {
    /// `helm push <tgz> oci://127.0.0.1:<port>/<path> --plain-http`, logged in first as the
    /// registry's user when it has auth. The chart lands in the repository `<path>/<name>`,
    /// tagged with its version (`+` as `_`).
    pub fn helm_push(&self, tgz: &Path, path: &str) {
        let helm = HelmHome::new();
        if let Some((user, password)) = self.user() {
            helm.run(
                Command::new("helm")
                    .args(["registry", "login", "--plain-http", "--password-stdin"])
                    .args(["--username", user])
                    .arg(self.host()),
                Some(password),
            );
        }
        helm.run(
            Command::new("helm")
                .arg("push")
                .arg(tgz)
                .arg(format!("oci://{}/{path}", self.host()))
                .arg("--plain-http"),
            None,
        );
    }
}

/// Helm's config, cache, data and registry-credential locations, all in one temp dir.
struct HelmHome {
    dir: tempfile::TempDir,
}

impl HelmHome {
    fn new() -> HelmHome {
        HelmHome {
            dir: tempfile::Builder::new()
                .prefix("moor-helm-home-")
                .tempdir()
                .expect("create helm home"),
        }
    }

    /// Runs `cmd` with this home, `stdin` written to it; panics with helm's output on failure.
    fn run(&self, cmd: &mut Command, stdin: Option<&str>) {
        let d = self.dir.path();
        cmd.env("HELM_CONFIG_HOME", d.join("config"))
            .env("HELM_CACHE_HOME", d.join("cache"))
            .env("HELM_DATA_HOME", d.join("data"))
            .env("HELM_REGISTRY_CONFIG", d.join("registry.json"))
            .env("HELM_REPOSITORY_CONFIG", d.join("repositories.yaml"))
            .env("HELM_REPOSITORY_CACHE", d.join("repository"))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = format!("{cmd:?}");
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("{what}: {e} (is helm on PATH? source scripts/lib/tools.sh; ensure_tools)")
        });
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("helm stdin");
            pipe.write_all(input.as_bytes()).expect("write helm stdin");
        }
        let out = child.wait_with_output().expect("wait for helm");
        assert!(
            out.status.success(),
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
