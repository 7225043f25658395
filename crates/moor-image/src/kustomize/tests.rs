//! Edits of `images:` lists on kustomization texts written the ways people write them.

use super::*;

const STAGING: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: staging
resources:
  - namespace.yaml
  - ../../base
images:
  - name: registry.local/myapp
    newTag: 1.0.1 # the staging tag
replicas:
  - name: myapp
    count: 2
";
const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn set(text: &str, args: &[&str], add: bool) -> TextEdit {
    let updates: Vec<ImageUpdate> = args
        .iter()
        .map(|a| ImageUpdate::parse(a).unwrap())
        .collect();
    set_kustomize_images(
        Path::new("overlays/staging/kustomization.yaml"),
        text,
        &updates,
        add,
    )
    .unwrap()
}

#[test]
fn changes_only_the_tag_keeping_its_comment() {
    let edit = set(
        STAGING,
        &["registry.local/myapp=registry.local/myapp:3f2c1ab"],
        true,
    );
    assert_eq!(
        edit.text,
        STAGING.replace(
            "newTag: 1.0.1 # the staging tag",
            "newTag: 3f2c1ab # the staging tag"
        )
    );
    assert_eq!(
        edit.changes,
        vec![ImageChange {
            file: "overlays/staging/kustomization.yaml".into(),
            line: 9,
            image: "registry.local/myapp".into(),
            old: Some("registry.local/myapp:1.0.1".into()),
            new: "registry.local/myapp:3f2c1ab".into(),
        }]
    );
}

#[test]
fn same_value_changes_nothing() {
    let edit = set(
        STAGING,
        &["registry.local/myapp=registry.local/myapp:1.0.1"],
        true,
    );
    assert_eq!(edit.text, STAGING);
    assert!(edit.changes.is_empty());
    assert!(edit.matched.contains("registry.local/myapp"));
}

#[test]
fn keeps_quoting_styles() {
    let text = "images:\n- name: \"app\"\n  newTag: 'v1'   # pinned\n  digest: \"sha256:1111111111111111111111111111111111111111111111111111111111111111\"\n";
    let edit = set(text, &[&format!("app=app:v2@{SHA}")], false);
    assert_eq!(
        edit.text,
        format!("images:\n- name: \"app\"\n  newTag: 'v2'   # pinned\n  digest: \"{SHA}\"\n")
    );
}

#[test]
fn numeric_looking_tags_get_quotes() {
    let edit = set(
        STAGING,
        &["registry.local/myapp=registry.local/myapp:1234567"],
        true,
    );
    assert!(
        edit.text
            .contains("    newTag: \"1234567\" # the staging tag\n"),
        "{}",
        edit.text
    );
}

#[test]
fn new_repository_and_digest_are_added_in_kustomize_order() {
    let edit = set(
        STAGING,
        &[&format!(
            "registry.local/myapp=mirror.local:5000/team/myapp:2.0@{SHA}"
        )],
        true,
    );
    assert_eq!(
        edit.text,
        STAGING.replace(
            "  - name: registry.local/myapp\n    newTag: 1.0.1 # the staging tag\n",
            &format!(
                "  - name: registry.local/myapp\n    newName: mirror.local:5000/team/myapp\n    \
                     newTag: \"2.0\" # the staging tag\n    digest: {SHA}\n"
            )
        )
    );
    // Back to the original repository, by digest only: newName and newTag go.
    let back = set(
        &edit.text,
        &[&format!("registry.local/myapp=registry.local/myapp@{SHA}")],
        true,
    );
    assert_eq!(
        back.text,
        STAGING.replace(
            "    newTag: 1.0.1 # the staging tag\n",
            &format!("    digest: {SHA}\n")
        )
    );
    assert_eq!(
        back.changes[0].old.as_deref(),
        Some(format!("mirror.local:5000/team/myapp:2.0@{SHA}").as_str())
    );
}

#[test]
fn adds_a_missing_entry_after_the_last_one() {
    let edit = set(
        STAGING,
        &["registry.local/worker=registry.local/worker:7"],
        true,
    );
    assert_eq!(
            edit.text,
            STAGING.replace(
                "    newTag: 1.0.1 # the staging tag\n",
                "    newTag: 1.0.1 # the staging tag\n  - name: registry.local/worker\n    newTag: \"7\"\n"
            )
        );
    assert_eq!(edit.changes[0].line, 10);
    assert_eq!(edit.changes[0].old, None);
    let none = set(
        STAGING,
        &["registry.local/worker=registry.local/worker:7"],
        false,
    );
    assert_eq!(none.text, STAGING);
    assert!(none.matched.is_empty());
}

#[test]
fn adds_the_images_block_when_missing() {
    let text = "# base\nresources:\n  - deployment.yaml # the app\n";
    let edit = set(text, &["myapp=registry.local/myapp:v3"], true);
    assert_eq!(
        edit.text,
        "# base\nresources:\n  - deployment.yaml # the app\nimages:\n  - name: myapp\n    newName: registry.local/myapp\n    newTag: v3\n"
    );
    let no_newline = set("resources:\n- a.yaml", &["myapp=myapp:v3"], true);
    assert_eq!(
        no_newline.text,
        "resources:\n- a.yaml\nimages:\n- name: myapp\n  newTag: v3\n"
    );
    let crlf = set("resources:\r\n- a.yaml\r\n", &["myapp=myapp:v3"], true);
    assert_eq!(
        crlf.text,
        "resources:\r\n- a.yaml\r\nimages:\r\n- name: myapp\r\n  newTag: v3\r\n"
    );
}

#[test]
fn fills_an_empty_images_list() {
    let edit = set(
        "images: [] # none yet\nreplicas: []\n",
        &["a=a:1.2.3"],
        true,
    );
    assert_eq!(
        edit.text,
        "images: # none yet\n- name: a\n  newTag: 1.2.3\nreplicas: []\n"
    );
    let edit = set("images:\nnamespace: x\n", &["a=a:1.2.3"], true);
    assert_eq!(
        edit.text,
        "images:\n- name: a\n  newTag: 1.2.3\nnamespace: x\n"
    );
}

#[test]
fn entries_with_other_layouts() {
    let text = "images:\n# comment\n-   name: a   # the a\n    newTag: x\n-\n  name: b\n  newTag: y\n\n# trailing\nkind: Kustomization\n";
    let edit = set(text, &["a=a:1", "b=b:2", "c=c:3"], true);
    assert_eq!(
        edit.text,
        "images:\n# comment\n-   name: a   # the a\n    newTag: \"1\"\n-\n  name: b\n  newTag: \"2\"\n-   name: c\n    newTag: \"3\"\n\n# trailing\nkind: Kustomization\n"
    );
}

#[test]
fn a_kustomization_that_does_not_parse_is_an_error_naming_it() {
    let err = set_kustomize_images(
        Path::new("overlays/broken/kustomization.yaml"),
        "images:\n  - name: a\n   newTag: [oops\n",
        &[ImageUpdate::parse("a=a:1").unwrap()],
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("kustomization overlays/broken/kustomization.yaml does not parse"),
        "{err}"
    );
}

#[test]
fn refuses_what_it_cannot_edit_in_place() {
    for (text, want) in [
        ("images: [{name: a, newTag: x}]\n", "flow style"),
        (
            "images:\n  - name: a\n    newTag: |\n      x\n",
            "single-line value",
        ),
        ("images: 3\n", "must be a list"),
    ] {
        let err = set_kustomize_images(
            Path::new("k.yaml"),
            text,
            &[ImageUpdate::parse("a=a:1").unwrap()],
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(want), "{text}: {err}");
    }
}

#[test]
fn lists_entries() {
    let images = kustomization_images(Path::new("k.yaml"), STAGING).unwrap();
    assert_eq!(
        images,
        vec![KustomizeImage {
            name: "registry.local/myapp".into(),
            new_name: None,
            new_tag: Some("1.0.1".into()),
            digest: None,
            line: 8,
        }]
    );
    assert_eq!(images[0].reference(), "registry.local/myapp:1.0.1");
}
