//! Real git servers for tests: smart HTTP (the real `git http-backend` behind a small hyper
//! server, with a public and a basic-auth prefix), a real `sshd` on a loopback port, and
//! `file://`, all serving the same bare repositories in a temp dir. No mocks: what passes here
//! talks to git the way a real forge does.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tempfile::TempDir;

mod http;
mod sshd;

use http::{HttpConfig, http_backend, serve_http};
use sshd::Sshd;

/// Author and committer of every commit the test kit makes.
pub const TEST_AUTHOR_NAME: &str = "Moor Test";
/// Email of every commit the test kit makes (a reserved domain, never a real address).
pub const TEST_AUTHOR_EMAIL: &str = "test@moor.invalid";

/// A running set of git servers over one directory of bare repositories. Stops on drop.
pub struct GitServer {
    // Dropped first, so sshd is gone before its directory is removed.
    sshd: Sshd,
    root: TempDir,
    repos: PathBuf,
    http_port: u16,
    http_user: String,
    http_password: String,
    http_stop: Option<tokio::sync::oneshot::Sender<()>>,
    http_thread: Option<JoinHandle<()>>,
    http_seen: Arc<Seen>,
}

/// What the HTTP server saw, for tests about where credentials go.
#[derive(Default)]
struct Seen {
    /// `host[:port]/path` of every request.
    requests: Mutex<Vec<String>>,
    /// `host[:port]/path` of every request that carried an `Authorization` header.
    authorized: Mutex<Vec<String>>,
    /// Where `/moved/...` redirects to (a URL prefix), when set.
    redirect: Mutex<Option<String>>,
}

impl GitServer {
    /// Starts the HTTP server and sshd. Sync, so it works from `#[test]` and `#[tokio::test]`.
    pub fn start() -> GitServer {
        let root = tempfile::Builder::new()
            .prefix("moor-git-server-")
            .tempdir()
            .expect("create git server temp dir");
        let repos = root.path().join("repos");
        fs::create_dir_all(&repos).expect("create repos dir");
        let http_user = format!("moor-{}", random_hex(4));
        let http_password = random_hex(16);

        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind http listener on loopback");
        let http_port = listener.local_addr().expect("http local addr").port();
        let cfg = Arc::new(HttpConfig {
            repos: repos.clone(),
            user: http_user.clone(),
            password: http_password.clone(),
            backend: http_backend(),
            log: root.path().join("http-backend.log"),
            seen: Arc::new(Seen::default()),
        });
        let http_seen = cfg.seen.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        // Its own thread and runtime: tests that block on `git` would otherwise starve it.
        let http_thread = std::thread::Builder::new()
            .name("moor-git-http".into())
            .spawn(move || serve_http(listener, cfg, stop_rx))
            .expect("spawn http server thread");

        let sshd = Sshd::start(&root.path().join("ssh"));
        GitServer {
            root,
            repos,
            http_port,
            http_user,
            http_password,
            http_stop: Some(stop_tx),
            http_thread: Some(http_thread),
            http_seen,
            sshd,
        }
    }

    /// Every HTTP request received so far, as `host[:port]/path` (the host as the client
    /// spelled it: `127.0.0.1:PORT` or `localhost:PORT`).
    pub fn http_requests(&self) -> Vec<String> {
        self.http_seen.requests.lock().expect("seen lock").clone()
    }

    /// The HTTP requests so far that carried an `Authorization` header (whatever its value),
    /// as `host[:port]/path`: a test that a credential never reached this server asserts this
    /// is empty.
    pub fn http_requests_with_authorization(&self) -> Vec<String> {
        self.http_seen.authorized.lock().expect("seen lock").clone()
    }

    /// From now on `/moved/<rest>` answers `302 Found` to `<target><rest>` (query kept), the
    /// way a forge redirects a renamed repository.
    pub fn redirect_moved_to(&self, target: &str) {
        *self.http_seen.redirect.lock().expect("seen lock") = Some(target.to_string());
    }

    /// `http://127.0.0.1:PORT/moved/<name>.git`: redirected as [`GitServer::redirect_moved_to`] says.
    pub fn http_moved_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/moved/{name}.git", self.http_port)
    }

    /// The HTTP port (for URLs spelled with another host name, e.g. `localhost`).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Directory holding the bare repositories (`<name>.git`).
    pub fn repos_dir(&self) -> &Path {
        &self.repos
    }

    /// Temp dir of this server (logs, keys); removed on drop.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A bare repo `name` on branch `main` holding one commit of `from_dir`'s contents.
    pub fn create_repo(&self, name: &str, from_dir: &Path) -> Repo {
        let repo = self.create_empty_repo(name);
        let index = TempDir::new().expect("temp dir for index");
        let index_file = index.path().join("index");
        let git_dir = format!("--git-dir={}", repo.path.display());
        let work_tree = format!("--work-tree={}", from_dir.display());
        let env = [("GIT_INDEX_FILE", index_file.as_os_str())];
        // Committing straight into the bare repo with a throwaway index is the same as cloning,
        // committing and pushing, without copying the directory.
        git_env(None, &[&git_dir, &work_tree, "add", "-A", "."], &env);
        git_env(
            None,
            &[
                &git_dir,
                &work_tree,
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "initial",
            ],
            &env,
        );
        repo
    }

    /// A bare repo `name` with no commits, `HEAD` on `main`, pushable over HTTP.
    pub fn create_empty_repo(&self, name: &str) -> Repo {
        let path = self.repos.join(format!("{name}.git"));
        assert!(!path.exists(), "repo {name} already exists");
        fs::create_dir_all(&path).expect("create repo dir");
        git(Some(&path), &["init", "-q", "--bare", "-b", "main"]);
        git(Some(&path), &["config", "http.receivepack", "true"]);
        Repo {
            name: name.to_string(),
            path,
        }
    }

    /// `http://127.0.0.1:PORT/public/<name>.git`: no authentication.
    pub fn http_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/public/{name}.git", self.http_port)
    }

    /// `http://127.0.0.1:PORT/private/<name>.git`: needs [`GitServer::http_credentials`].
    pub fn http_auth_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/private/{name}.git", self.http_port)
    }

    /// User and password the private prefix accepts.
    pub fn http_credentials(&self) -> (String, String) {
        (self.http_user.clone(), self.http_password.clone())
    }

    /// `ssh://USER@127.0.0.1:PORT/abs/path/<name>.git`.
    pub fn ssh_url(&self, name: &str) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}/{name}.git",
            self.sshd.user,
            self.sshd.port,
            self.repos.display()
        )
    }

    /// `file:///abs/path/<name>.git`.
    pub fn file_url(&self, name: &str) -> String {
        format!("file://{}/{name}.git", self.repos.display())
    }

    /// Private key sshd accepts.
    pub fn ssh_key_path(&self) -> &Path {
        &self.sshd.client_key
    }

    /// known_hosts holding sshd's host key for `[127.0.0.1]:PORT`.
    pub fn known_hosts_path(&self) -> &Path {
        &self.sshd.known_hosts
    }

    /// Port sshd listens on, on 127.0.0.1.
    pub fn ssh_port(&self) -> u16 {
        self.sshd.port
    }

    /// A `GIT_SSH_COMMAND` value that logs in with the test key and trusts only the test host key.
    pub fn ssh_command(&self) -> String {
        ssh_command_with(&self.sshd.client_key, &self.sshd.known_hosts)
    }

    /// sshd's log so far, for assertion messages.
    pub fn sshd_log(&self) -> String {
        fs::read_to_string(&self.sshd.log).unwrap_or_default()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(stop) = self.http_stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.http_thread.take() {
            let _ = thread.join();
        }
    }
}

/// A `GIT_SSH_COMMAND` value using `key` and trusting only the hosts in `known_hosts`.
pub fn ssh_command_with(key: &Path, known_hosts: &Path) -> String {
    format!(
        "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} \
         -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes",
        shell_quote(&key.display().to_string()),
        shell_quote(&known_hosts.display().to_string())
    )
}

/// A bare repository on a [`GitServer`].
#[derive(Clone, Debug)]
pub struct Repo {
    name: String,
    path: PathBuf,
}

impl Repo {
    /// Name under the server's root, as URLs name it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the bare repository.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `file://` URL of the bare repository, for tests that need no server.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Commit `main` points at.
    pub fn head(&self) -> String {
        git(Some(&self.path), &["rev-parse", "refs/heads/main"])
    }

    /// A work tree cloned over `file://`, to change the repo the way a user would.
    pub fn clone_work(&self) -> WorkTree {
        let dir = tempfile::Builder::new()
            .prefix("moor-work-")
            .tempdir()
            .expect("create work tree dir");
        let target = dir.path().to_str().expect("utf-8 temp path").to_string();
        git(None, &["clone", "-q", &self.file_url(), &target]);
        // An empty repo clones onto the client's default branch; keep to `main`.
        git(
            Some(dir.path()),
            &["symbolic-ref", "HEAD", "refs/heads/main"],
        );
        WorkTree { dir }
    }
}

/// A clone of a [`Repo`] in a temp dir, removed on drop.
pub struct WorkTree {
    dir: TempDir,
}

impl WorkTree {
    /// Directory of the work tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `rel`, creating parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dirs");
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Removes a file or a whole directory.
    pub fn remove(&self, rel: &str) {
        let path = self.dir.path().join(rel);
        let result = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// Commits everything and pushes the current branch; returns the new commit.
    pub fn commit_and_push(&self, message: &str) -> String {
        self.git(&["add", "-A", "."]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["push", "-q", "origin", "HEAD"]);
        self.head()
    }

    /// Commit the work tree's HEAD points at.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs git in the work tree (test identity, no user config); returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git(Some(self.dir.path()), args)
    }
}

/// Runs git with the test identity and no system/global config; panics on failure.
fn git(dir: Option<&Path>, args: &[&str]) -> String {
    git_env(dir, args, &[])
}

fn git_env(dir: Option<&Path>, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> String {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", TEST_AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", TEST_AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", TEST_AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", TEST_AUTHOR_EMAIL);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run git (is it installed?)");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
