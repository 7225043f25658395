//! The man pages (docs/man) and shell completions (docs/completions) checked in are what the
//! current clap definitions generate: run scripts/gen-docs after changing a flag.

use std::path::{Path, PathBuf};
use std::process::Command;

fn moor(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_moor"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn stale(what: &str) -> String {
    format!("{what} is not current: run scripts/gen-docs and commit docs/")
}

#[test]
fn man_pages_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    moor(&["man", tmp.path().to_str().unwrap()]);
    let names = |dir: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}; {}", dir.display(), stale("docs/man")))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let made = names(tmp.path());
    assert!(made.contains(&"moor-app-sync.1".to_string()), "{made:?}");
    assert_eq!(made, names(&docs().join("man")), "{}", stale("docs/man"));
    for name in made {
        let want = std::fs::read(tmp.path().join(&name)).unwrap();
        let have = std::fs::read(docs().join("man").join(&name)).unwrap();
        assert!(want == have, "{}", stale(&format!("docs/man/{name}")));
    }
}

#[test]
fn completions_are_current_and_name_the_subcommands() {
    for (shell, file) in [
        ("bash", "moor.bash"),
        ("zsh", "_moor"),
        ("fish", "moor.fish"),
    ] {
        let made = moor(&["completion", shell]);
        let text = String::from_utf8_lossy(&made);
        assert!(
            text.contains("rollback") && text.contains("controller"),
            "{shell}"
        );
        let have = std::fs::read(docs().join("completions").join(file)).unwrap_or_default();
        assert!(
            made == have,
            "{}",
            stale(&format!("docs/completions/{file}"))
        );
    }
}
