//! The controller's repository credentials: which Secret (or the controller's own environment)
//! supplies credentials for a repository URL, and the files ssh needs written from them. Apart
//! from the reconcile because image automation pushes use the same rule.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ListParams};
use moor_git::{CREDENTIALS_URL_ENV, Credentials, ScopedCredentials};
use sha2::{Digest, Sha256};

/// Label selector of the Secrets that hold repository credentials (Argo CD's repository Secrets).
pub const REPO_SECRET_LABEL: &str = "moor.dev/secret-type=repository";
/// Repository Secrets are listed again after this long, so a new or changed Secret is used soon
/// without a list per reconcile.
const CREDS_TTL: Duration = Duration::from_secs(30);

/// The controller's git credentials: repository Secrets in its namespace and its own
/// environment (`MOOR_GIT_*`, scoped by `MOOR_GIT_CREDENTIALS_URL`). Shared by the Application
/// reconciler and image automation pushes, so both follow one rule.
pub struct RepoCredentials {
    client: Client,
    namespace: String,
    key_dir: PathBuf,
    env: ScopedCredentials,
    secrets: tokio::sync::Mutex<Option<(Instant, Vec<Secret>)>>,
}

/// Whose credentials won a lookup.
enum Chosen<'a> {
    Secret(&'a Secret),
    Env,
}

impl RepoCredentials {
    /// Reads the environment's credentials now; Secrets are listed on use (cached 30 s).
    pub fn new(client: Client, namespace: String, key_dir: PathBuf) -> RepoCredentials {
        let env = ScopedCredentials::from_env();
        if !env.credentials.is_empty() && env.scopes.is_empty() {
            tracing::warn!(
                "MOOR_GIT_* credentials are set but {CREDENTIALS_URL_ENV} is not: \
                 they are sent to no repository"
            );
        }
        RepoCredentials {
            client,
            namespace,
            key_dir,
            env,
            secrets: tokio::sync::Mutex::new(None),
        }
    }

    /// Credentials for a repository: of the repository Secrets (label
    /// `moor.dev/secret-type: repository`) whose `url` covers `repo_url` (same scheme, host and
    /// port, path prefix at a `/` boundary; see [`moor_git::scope_match`]) and the environment's
    /// credentials when one of their scopes covers it, the most specific wins (a Secret over
    /// the environment when equal, else Secrets by name). None when nothing covers it.
    /// A Secret with a `project` key (Argo CD's project-scoped credentials) serves only apps
    /// of that project; `project` None (image automation) uses unscoped Secrets only.
    pub async fn for_url(&self, repo_url: &str, project: Option<&str>) -> Credentials {
        let secrets: Vec<Secret> = self
            .secrets()
            .await
            .into_iter()
            .filter(|s| usable_by(s, project))
            .collect();
        match choose(&secrets, self.env.specificity_for(repo_url), repo_url) {
            None => Credentials::default(),
            Some(Chosen::Env) => self.env.for_url(repo_url),
            Some(Chosen::Secret(s)) => Credentials {
                username: field(s, "username"),
                password: field(s, "password"),
                ssh_key: field(s, "sshPrivateKey")
                    .and_then(|k| secret_file(&self.key_dir, &k, "key")),
                known_hosts: field(s, "knownHosts")
                    .and_then(|k| secret_file(&self.key_dir, &k, "known_hosts")),
            },
        }
    }

    /// The chart repository credentials apps of `project` may use (see [`ChartAuths`]).
    pub async fn chart_auths(&self, project: &str) -> ChartAuths {
        let secrets: Vec<Secret> = self
            .secrets()
            .await
            .into_iter()
            .filter(|s| usable_by(s, Some(project)))
            .collect();
        ChartAuths { secrets }
    }

    /// Where ssh keys and known_hosts from Secrets are written (0600).
    pub fn key_dir(&self) -> &Path {
        &self.key_dir
    }

    /// The repository Secrets, listed at most every 30 s.
    async fn secrets(&self) -> Vec<Secret> {
        let mut cache = self.secrets.lock().await;
        let fresh = cache.as_ref().is_some_and(|(t, _)| t.elapsed() < CREDS_TTL);
        if !fresh {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let list = api
                .list(&ListParams::default().labels(REPO_SECRET_LABEL))
                .await;
            *cache = Some((Instant::now(), list.map(|l| l.items).unwrap_or_default()));
        }
        cache.as_ref().map(|(_, s)| s.clone()).unwrap_or_default()
    }
}

/// Whose credentials `repo_url` gets (the rule of [`RepoCredentials::for_url`]), given the
/// repository Secrets and how specifically the environment's scopes cover it (None: not at all).
fn choose<'a>(secrets: &'a [Secret], env: Option<usize>, repo_url: &str) -> Option<Chosen<'a>> {
    // By name, so that of equally specific Secrets the same one wins on every controller.
    let mut by_name: Vec<&Secret> = secrets.iter().collect();
    by_name.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let from_secret = by_name
        .into_iter()
        .filter_map(|s| Some((moor_git::scope_match(&field(s, "url")?, repo_url)?, s)))
        .fold(None::<(usize, &Secret)>, |best, (n, s)| match best {
            Some((m, _)) if m >= n => best,
            _ => Some((n, s)),
        });
    match (from_secret, env) {
        (Some((n, s)), Some(e)) if n >= e => Some(Chosen::Secret(s)),
        (_, Some(_)) => Some(Chosen::Env),
        (Some((_, s)), None) => Some(Chosen::Secret(s)),
        (None, None) => None,
    }
}

/// The repository Secrets an app of one project may use for chart repositories, as read once:
/// looked up without waiting (chart dependencies ask for each repository they name).
pub struct ChartAuths {
    secrets: Vec<Secret>,
}

impl ChartAuths {
    /// Credentials and TLS settings for a chart repository (Helm repository or OCI registry),
    /// and whether its Secret says `enableOCI`: from the repository Secret whose `url` covers
    /// `repo_url` by the rule of [`RepoCredentials::for_url`]. OCI references
    /// (`oci://host/path`, or a plain `host/path`) are matched as `https://host/path` on both
    /// sides. The environment's git credentials never go to a chart repository.
    pub fn for_url(&self, repo_url: &str) -> (moor_chart::RepoAuth, bool) {
        let Some(s) = choose_chart(&self.secrets, repo_url) else {
            return (moor_chart::RepoAuth::default(), false);
        };
        let yes = |k| field(s, k).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let auth = moor_chart::RepoAuth {
            username: field(s, "username"),
            password: field(s, "password"),
            ca_pem: None,
            tls_client_cert: field(s, "tlsClientCertData"),
            tls_client_key: field(s, "tlsClientCertKey"),
            insecure_skip_verify: yes("insecure"),
        };
        (auth, yes("enableOCI"))
    }
}

/// The repository Secret for the chart repository `repo_url`: the most specific covering it,
/// of equally specific ones the first by name.
fn choose_chart<'a>(secrets: &'a [Secret], repo_url: &str) -> Option<&'a Secret> {
    let repo = chart_scope_url(repo_url);
    let mut by_name: Vec<&Secret> = secrets.iter().collect();
    by_name.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    by_name
        .into_iter()
        .filter_map(|s| {
            let scope = chart_scope_url(&field(s, "url")?);
            Some((moor_git::scope_match(&scope, &repo)?, s))
        })
        .fold(None::<(usize, &Secret)>, |best, (n, s)| match best {
            Some((m, _)) if m >= n => best,
            _ => Some((n, s)),
        })
        .map(|(_, s)| s)
}

/// An OCI reference as the https URL its registry is reached at, for scope matching:
/// `oci://host/path` and a plain `host/path` become `https://host/path`.
fn chart_scope_url(url: &str) -> String {
    let url = url.trim();
    match url.strip_prefix("oci://") {
        Some(rest) => format!("https://{rest}"),
        None if !url.contains("://") => format!("https://{url}"),
        None => url.to_string(),
    }
}

/// Whether a repository Secret may serve an app of `project`: unscoped ones serve every app.
fn usable_by(s: &Secret, project: Option<&str>) -> bool {
    field(s, "project").is_none_or(|p| project == Some(p.as_str()))
}

/// A non-empty string field of a Secret.
fn field(s: &Secret, key: &str) -> Option<String> {
    s.data
        .as_ref()?
        .get(key)
        .map(|b| String::from_utf8_lossy(&b.0).to_string())
        .filter(|v| !v.is_empty())
}

/// Writes a secret that a tool needs as a file (ssh key, known_hosts) under `dir`, mode 0600,
/// named by the hash of its contents so that different secrets never share a file.
pub(crate) fn secret_file(dir: &Path, contents: &str, suffix: &str) -> Option<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!(
        "{}.{suffix}",
        hex::encode(&Sha256::digest(contents.as_bytes())[..12])
    );
    let path = dir.join(name);
    if !path.exists() {
        std::fs::create_dir_all(dir).ok()?;
        // ssh refuses a key file without its final newline.
        let mut text = contents.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .ok()?;
        std::io::Write::write_all(&mut f, text.as_bytes()).ok()?;
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn secret(name: &str, url: &str) -> Secret {
        let mut s = Secret::default();
        s.metadata.name = Some(name.into());
        s.data = Some([("url".to_string(), ByteString(url.as_bytes().to_vec()))].into());
        s
    }

    /// The name of the chosen Secret, "env", or None.
    fn winner(secrets: &[Secret], env_scope: Option<&str>, repo: &str) -> Option<String> {
        let env = env_scope.and_then(|scope| moor_git::scope_match(scope, repo));
        choose(secrets, env, repo).map(|c| match c {
            Chosen::Secret(s) => s.metadata.name.clone().unwrap_or_default(),
            Chosen::Env => "env".into(),
        })
    }

    const REPO: &str = "https://git.example.com/org/app.git";

    #[test]
    fn a_project_scoped_secret_serves_only_its_project() {
        let mut scoped = secret("a", "https://git.example.com");
        scoped
            .data
            .as_mut()
            .unwrap()
            .insert("project".into(), ByteString(b"team-a".to_vec()));
        assert!(usable_by(&scoped, Some("team-a")));
        assert!(!usable_by(&scoped, Some("team-b")));
        assert!(!usable_by(&scoped, None));
        let global = secret("b", "https://git.example.com");
        assert!(usable_by(&global, Some("team-b")) && usable_by(&global, None));
    }

    #[test]
    fn chart_repositories_match_secrets_as_git_does_with_oci_as_https() {
        let secrets = [
            secret("helm", "https://charts.example.com/team"),
            secret("oci", "oci://registry.example.com/charts"),
            secret("plain", "registry.example.com:5000/charts"),
        ];
        let name = |url| choose_chart(&secrets, url).and_then(|s| s.metadata.name.clone());
        assert_eq!(
            name("https://charts.example.com/team/").as_deref(),
            Some("helm")
        );
        assert_eq!(name("https://charts.example.com/other"), None);
        assert_eq!(name("https://charts.example.com.evil.net/team"), None);
        assert_eq!(
            name("oci://registry.example.com/charts/web").as_deref(),
            Some("oci")
        );
        assert_eq!(
            name("registry.example.com/charts").as_deref(),
            Some("oci"),
            "a plain host/path is the oci:// reference"
        );
        assert_eq!(
            name("oci://registry.example.com:5000/charts").as_deref(),
            Some("plain")
        );
        assert_eq!(name("http://charts.example.com/team"), None);
    }

    #[test]
    fn the_most_specific_secret_wins() {
        let secrets = [
            secret("a-host", "https://git.example.com"),
            secret("b-repo", "https://git.example.com/org/app.git"),
            secret("c-org", "https://git.example.com/org"),
        ];
        assert_eq!(winner(&secrets, None, REPO).as_deref(), Some("b-repo"));
        let other = "https://git.example.com/other/x.git";
        assert_eq!(winner(&secrets, None, other).as_deref(), Some("a-host"));
    }

    #[test]
    fn equally_specific_secrets_go_by_name() {
        let secrets = [
            secret("zz", "https://git.example.com/org"),
            secret("aa", "https://git.example.com/org"),
        ];
        assert_eq!(winner(&secrets, None, REPO).as_deref(), Some("aa"));
    }

    #[test]
    fn a_secret_wins_over_an_equally_specific_environment_only() {
        let secrets = [secret("org", "https://git.example.com/org")];
        let org = Some("https://git.example.com/org");
        assert_eq!(winner(&secrets, org, REPO).as_deref(), Some("org"));
        let repo = Some("https://git.example.com/org/app.git");
        assert_eq!(winner(&secrets, repo, REPO).as_deref(), Some("env"));
        assert_eq!(winner(&[], org, REPO).as_deref(), Some("env"));
    }

    #[test]
    fn nothing_covering_the_repository_gives_no_credentials() {
        let secrets = [
            secret("other-host", "https://git.other.com/org"),
            secret("http", "http://git.example.com/org"),
            secret("sibling", "https://git.example.com/or"),
            secret("no-url", ""),
        ];
        assert_eq!(winner(&secrets, None, REPO), None);
        let env = Some("https://git.other.com");
        assert_eq!(winner(&secrets, env, REPO), None);
    }

    #[test]
    fn secret_files_are_private_named_by_content_and_end_in_a_newline() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = secret_file(dir.path(), "key-a", "key").unwrap();
        let b = secret_file(dir.path(), "key-b", "key").unwrap();
        assert_ne!(a, b);
        assert_eq!(secret_file(dir.path(), "key-a", "key").unwrap(), a);
        assert!(a.to_string_lossy().ends_with(".key"));
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "key-a\n");
        let mode = std::fs::metadata(&a).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
