//! Hostile repositories made in temp dirs: every renderer refuses to read outside the checkout,
//! to fetch remote content, or to grow without bound, and no error carries what a link points at.
#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use moor_render::{HelmOptions, RenderError, RenderOptions, render};

/// What the "secret" outside the checkout holds: it must appear in no output.
const MARKER: &str = "MOOR-SECRET-MARKER-5f0c";

struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    /// A file outside the checkout holding [`MARKER`].
    secret: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("checkout");
        std::fs::create_dir_all(&root).unwrap();
        let secret = tmp.path().join("secret.yaml");
        std::fs::write(
            &secret,
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {MARKER}\n"),
        )
        .unwrap();
        Repo {
            _tmp: tmp,
            root,
            secret,
        }
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn link(&self, rel: &str, target: impl AsRef<Path>) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    }

    fn opts(&self) -> RenderOptions {
        RenderOptions {
            root: Some(self.root.clone()),
            ..Default::default()
        }
    }

    /// A fake tool that prints every file under the app dir, following links, as a renderer
    /// that trusted the tree would: if the check let it run, the marker would show.
    fn cat_tool(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.root.parent().unwrap().join("cat-tool");
        let body = "#!/bin/sh\nfor a in \"$@\"; do [ -d \"$a\" ] && find -L \"$a\" -type f \
                    -exec cat {} + ; done; exit 0\n";
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A repository whose `app/` holds only a kustomization.yaml of `text`.
    fn with_kustomization(text: &str) -> Repo {
        let repo = Repo::new();
        repo.write("app/kustomization.yaml", text);
        repo
    }

    /// Options rendering kustomizations with [`Repo::cat_tool`] as the kustomize binary.
    fn kustomize_opts(&self) -> RenderOptions {
        RenderOptions {
            kustomize_bin: Some(self.cat_tool()),
            ..self.opts()
        }
    }

    fn render(&self, app: &str, opts: &RenderOptions) -> Result<usize, RenderError> {
        render(&self.root.join(app), opts).map(|m| m.len())
    }
}

/// The error, checked to hold `expected` and never the marker (in any form it is printed).
fn refused(r: Result<usize, RenderError>, expected: &str) -> String {
    let err = r.expect_err("the hostile render succeeded");
    let msg = format!("{err} / {err:?} / {err:#}");
    assert!(!msg.contains(MARKER), "the target's content leaked: {msg}");
    assert!(err.to_string().contains(expected), "{err}");
    err.to_string()
}

#[test]
fn plain_dir_link_to_a_file_outside_is_refused_naming_the_link() {
    let repo = Repo::new();
    repo.write(
        "app/ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    );
    repo.link("app/stolen.yaml", &repo.secret);
    let msg = refused(
        repo.render("app", &repo.opts()),
        "symbolic link app/stolen.yaml points outside the repository",
    );
    assert!(
        msg.contains(&repo.secret.to_string_lossy().to_string()),
        "{msg}"
    );
}

#[test]
fn plain_dir_link_to_etc_passwd_and_dotdot_links_are_refused() {
    let repo = Repo::new();
    repo.link("app/passwd.yaml", "/etc/passwd");
    refused(repo.render("app", &repo.opts()), "app/passwd.yaml");
    let repo = Repo::new();
    repo.link("app/sub/up.yaml", "../../../secret.yaml");
    let opts = RenderOptions {
        recurse: true,
        ..repo.opts()
    };
    refused(
        repo.render("app", &opts),
        "symbolic link app/sub/up.yaml points outside the repository (to ../../../secret.yaml)",
    );
    // Even when the plain renderer would not read it (not recursing), the link is refused.
    refused(repo.render("app", &repo.opts()), "app/sub/up.yaml");
}

#[test]
fn linked_directory_leading_out_is_refused() {
    let repo = Repo::new();
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    );
    repo.link("app/outside", repo.secret.parent().unwrap());
    refused(repo.render("app", &repo.opts()), "app/outside");
}

#[test]
fn links_inside_the_checkout_keep_working() {
    let repo = Repo::new();
    repo.write(
        "shared/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n",
    );
    repo.link("app/cm.yaml", "../shared/cm.yaml");
    repo.link("app/loop", ".");
    assert_eq!(repo.render("app", &repo.opts()).unwrap(), 1);
}

#[test]
fn without_a_root_the_app_directory_is_the_boundary() {
    let repo = Repo::new();
    repo.write("shared/cm.yaml", "a: 1\n");
    repo.link("app/cm.yaml", "../shared/cm.yaml");
    refused(
        repo.render("app", &RenderOptions::default()),
        "symbolic link cm.yaml points outside the repository",
    );
}

#[test]
fn kustomize_never_runs_on_a_tree_with_an_escaping_link() {
    let repo = Repo::new();
    repo.write("base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.link("base/cm.yaml", &repo.secret);
    repo.write("overlay/kustomization.yaml", "resources: [../base]\n");
    let opts = repo.kustomize_opts();
    // The link is in a base the overlay references, not in the overlay itself.
    refused(repo.render("overlay", &opts), "base/cm.yaml");
}

#[test]
fn kustomize_references_leaving_the_checkout_are_refused() {
    let repo = Repo::with_kustomization("resources:\n- ../../other-checkout\n");
    let opts = repo.kustomize_opts();
    refused(
        repo.render("app", &opts),
        "app/kustomization.yaml: resources entry \"../../other-checkout\" leaves the repository",
    );
}

#[test]
fn kustomize_remote_bases_and_charts_are_refused_unless_allowed() {
    let repo = Repo::with_kustomization(
        "resources:\n- https://user:token@example.com/org/repo//base?ref=v1\n",
    );
    let opts = repo.kustomize_opts();
    let msg = refused(
        repo.render("app", &opts),
        "app/kustomization.yaml references the remote https://***@example.com/org/repo//base?ref=v1",
    );
    assert!(!msg.contains("token"), "{msg}");
    assert!(msg.contains("--allow-remote-bases"), "{msg}");
    let allowed = RenderOptions {
        allow_remote_bases: true,
        ..opts.clone()
    };
    // Allowed: the (fake) tool runs and prints the kustomization.
    assert!(matches!(
        repo.render("app", &allowed),
        Err(RenderError::NotAMapping { .. }) | Ok(_)
    ));

    let repo =
        Repo::with_kustomization("helmCharts:\n- name: x\n  repo: https://charts.example.com\n");
    let opts = repo.kustomize_opts();
    refused(
        repo.render("app", &opts),
        "app/kustomization.yaml references the remote https://charts.example.com",
    );
    let repo = Repo::with_kustomization("resources:\n- github.com/org/repo/base\n");
    let opts = repo.kustomize_opts();
    refused(repo.render("app", &opts), "github.com/org/repo/base");
}

fn chart(repo: &Repo) {
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    repo.write("chart/templates/cm.yaml", "kind: ConfigMap\n");
}

fn helm_opts(repo: &Repo, value_files: &[&str]) -> RenderOptions {
    RenderOptions {
        helm_bin: Some(repo.cat_tool()),
        helm: HelmOptions {
            value_files: value_files.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
        ..repo.opts()
    }
}

#[test]
fn helm_chart_with_links_out_in_templates_files_or_charts_is_refused() {
    for link in [
        "chart/templates/secret.yaml",
        "chart/files/key.txt",
        "chart/charts/dep/templates/x.yaml",
    ] {
        let repo = Repo::new();
        chart(&repo);
        repo.link(link, &repo.secret);
        refused(
            repo.render("chart", &helm_opts(&repo, &[])),
            &format!("symbolic link {link} points outside the repository"),
        );
    }
}

#[test]
fn helm_value_files_are_confined_to_the_checkout() {
    let repo = Repo::new();
    chart(&repo);
    repo.write("values/prod.yaml", "a: 1\n");
    // Outside the chart but inside the repository: fine.
    repo.render("chart", &helm_opts(&repo, &["../values/prod.yaml"]))
        .unwrap();
    refused(
        repo.render("chart", &helm_opts(&repo, &["../../secret.yaml"])),
        "helm valueFiles entry \"../../secret.yaml\" leaves the repository",
    );
    refused(
        repo.render(
            "chart",
            &helm_opts(&repo, &[&repo.secret.to_string_lossy()]),
        ),
        "leaves the repository",
    );
    repo.link("values/linked.yaml", &repo.secret);
    refused(
        repo.render("chart", &helm_opts(&repo, &["../values/linked.yaml"])),
        "values/linked.yaml",
    );
}

#[test]
fn helm_remote_value_files_are_off_unless_allowed() {
    let repo = Repo::new();
    chart(&repo);
    let opts = helm_opts(&repo, &["https://example.com/values.yaml"]);
    refused(
        repo.render("chart", &opts),
        "helm value file https://example.com/values.yaml is remote: remote value files are \
         disabled (--allow-remote-value-files allows them)",
    );
    let allowed = RenderOptions {
        allow_remote_value_files: true,
        ..opts
    };
    repo.render("chart", &allowed).unwrap();
}

#[test]
fn alias_bomb_in_a_plain_file_is_refused_quickly() {
    let repo = Repo::new();
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n");
    s.push_str("  a0: &a0 [\"lol\"]\n");
    for i in 1..=9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    repo.write("app/bomb.yaml", &s);
    let start = Instant::now();
    refused(
        repo.render("app", &repo.opts()),
        "failed to parse bomb.yaml",
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn deeply_nested_document_is_refused() {
    let repo = Repo::new();
    let depth = 10_000;
    let text = format!(
        "kind: X\nspec: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    repo.write("app/deep.yaml", &text);
    refused(
        repo.render("app", &repo.opts()),
        "failed to parse deep.yaml",
    );
}

#[test]
fn files_past_the_byte_limit_are_refused() {
    let repo = Repo::new();
    let cm = |n: usize| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{n}\n");
    let text: String = (0..100).map(cm).collect();
    repo.write("app/a.yaml", &text);
    repo.write("app/b.yaml", &text);
    let opts = RenderOptions {
        max_bytes: text.len() as u64 + 10,
        ..repo.opts()
    };
    refused(
        repo.render("app", &opts),
        &format!(
            "b.yaml with the files read before it is larger than the render limit of {} bytes",
            text.len() + 10
        ),
    );
    assert_eq!(repo.render("app", &repo.opts()).unwrap(), 200);
}

#[test]
fn objects_past_the_count_limit_are_refused() {
    let repo = Repo::new();
    let cm = |n: usize| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{n}\n");
    repo.write("app/a.yaml", &(0..11).map(cm).collect::<String>());
    let opts = RenderOptions {
        max_objects: 10,
        ..repo.opts()
    };
    refused(
        repo.render("app", &opts),
        "the render has 11 objects, more than the limit of 10",
    );
}

#[test]
fn renderer_output_without_end_is_cut_off() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::with_kustomization("resources: []\n");
    let tool = repo.root.parent().unwrap().join("endless");
    std::fs::write(&tool, "#!/bin/sh\nexec yes 'a: 1'\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = RenderOptions {
        kustomize_bin: Some(tool),
        max_bytes: 4 << 20,
        ..repo.opts()
    };
    let start = Instant::now();
    refused(
        repo.render("app", &opts),
        "the output of kustomize build is larger than the render limit of 4194304 bytes",
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}
