//! Credentials for private repositories, and how they reach git without appearing in argv
//! (visible to every user through `ps`) or in any message.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::scope::best_match;
use crate::url::{REDACTED, is_http, parse};

/// Environment variable naming the URL prefixes (comma-separated) the `MOOR_GIT_*` credentials
/// are for, wherever moor (rather than the operator) picked the repository URL.
pub const CREDENTIALS_URL_ENV: &str = "MOOR_GIT_CREDENTIALS_URL";

/// Credentials for one fetch. Empty fields leave git's own configuration in charge.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// HTTP(S) user; defaults to `git` when only a password/token is given (forges accept any
    /// user name with a token).
    pub username: Option<String>,
    /// HTTP(S) password or token.
    pub password: Option<String>,
    /// Private key for ssh URLs.
    pub ssh_key: Option<PathBuf>,
    /// known_hosts for ssh URLs; with it, unknown or changed host keys are rejected.
    pub known_hosts: Option<PathBuf>,
}

impl Credentials {
    /// Reads `MOOR_GIT_USERNAME`, `MOOR_GIT_PASSWORD` (or `MOOR_GIT_TOKEN`), `MOOR_GIT_SSH_KEY`
    /// and `MOOR_GIT_KNOWN_HOSTS`; unset or empty variables stay `None`.
    pub fn from_env() -> Credentials {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Credentials {
            username: var("MOOR_GIT_USERNAME"),
            password: var("MOOR_GIT_PASSWORD").or_else(|| var("MOOR_GIT_TOKEN")),
            ssh_key: var("MOOR_GIT_SSH_KEY").map(PathBuf::from),
            known_hosts: var("MOOR_GIT_KNOWN_HOSTS").map(PathBuf::from),
        }
    }

    /// No field set.
    pub fn is_empty(&self) -> bool {
        *self == Credentials::default()
    }
}

/// Credentials with the URL prefixes they may be sent to (see [`crate::scope_match`]).
#[derive(Clone, Debug, Default)]
pub struct ScopedCredentials {
    /// URL prefixes; empty: the credentials go nowhere.
    pub scopes: Vec<String>,
    /// What is sent to a URL under one of `scopes`.
    pub credentials: Credentials,
}

impl ScopedCredentials {
    /// The `MOOR_GIT_*` credentials, scoped to the prefixes in `MOOR_GIT_CREDENTIALS_URL`.
    pub fn from_env() -> ScopedCredentials {
        let scopes = std::env::var(CREDENTIALS_URL_ENV).unwrap_or_default();
        ScopedCredentials {
            scopes: scopes
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            credentials: Credentials::from_env(),
        }
    }

    /// How specific the best scope covering `repo_url` is; `None` when none does.
    pub fn specificity_for(&self, repo_url: &str) -> Option<usize> {
        if self.credentials.is_empty() {
            return None;
        }
        self.scopes
            .iter()
            .filter_map(|s| crate::scope_match(s, repo_url))
            .max()
    }

    /// The credentials when a scope covers `repo_url`, else none.
    pub fn for_url(&self, repo_url: &str) -> Credentials {
        best_match(
            repo_url,
            self.scopes.iter().map(|s| (s.as_str(), &self.credentials)),
        )
        .cloned()
        .unwrap_or_default()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("ssh_key", &self.ssh_key)
            .field("known_hosts", &self.known_hosts)
            .finish()
    }
}

/// What one git invocation needs for `url`: the URL to hand git (embedded credentials moved
/// out), extra environment, and the secrets to scrub from its output. Public so that every
/// crate running git (fetch here, commit/push in moor-image) passes credentials the same way.
#[derive(Default)]
pub struct GitAuth {
    /// The URL to hand git, without embedded credentials.
    pub url: String,
    /// Environment for git: config entries through `GIT_CONFIG_*`, `GIT_SSH_COMMAND`.
    pub env: Vec<(String, String)>,
    /// What to scrub from git's output.
    pub secrets: Vec<String>,
}

impl GitAuth {
    /// Sets up `creds` (or the credentials embedded in `url`) for one git invocation on `url`.
    pub fn new(url: &str, creds: &Credentials) -> GitAuth {
        let mut auth = GitAuth {
            url: url.to_string(),
            ..GitAuth::default()
        };
        if let Some(parts) = parse(url).filter(|p| is_http(p.scheme)) {
            // Credentials in the URL are specific to this repo, so they win over the global ones.
            let (user, password) = match parts.userinfo {
                Some(info) => {
                    auth.url = format!("{}://{}{}", parts.scheme, parts.host, parts.path);
                    let (user, password) = info.split_once(':').unwrap_or((info, ""));
                    (decode(user), decode(password))
                }
                None => (
                    creds.username.clone().unwrap_or_default(),
                    creds.password.clone().unwrap_or_default(),
                ),
            };
            if !user.is_empty() || !password.is_empty() {
                let user = if user.is_empty() { "git".into() } else { user };
                let token = BASE64.encode(format!("{user}:{password}"));
                // Scoped to this origin, so a redirect to another host does not get the header.
                let origin = format!("{}://{}/", parts.scheme, parts.host);
                auth.config(
                    &format!("http.{origin}.extraHeader"),
                    &format!("Authorization: Basic {token}"),
                );
                // git sends extra headers with every request of a session, to wherever the
                // first one was redirected: with credentials, redirects are not followed.
                auth.config("http.followRedirects", "false");
                auth.secrets.extend([password, token]);
                if parts.userinfo.is_some() {
                    auth.secrets.push(user);
                }
            }
        } else if creds.ssh_key.is_some() || creds.known_hosts.is_some() {
            let mut cmd = String::from("ssh -o BatchMode=yes");
            if let Some(key) = &creds.ssh_key {
                cmd += &format!(
                    " -i {} -o IdentitiesOnly=yes",
                    shell_quote(&key.to_string_lossy())
                );
            }
            if let Some(kh) = &creds.known_hosts {
                cmd += &format!(
                    " -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
                    shell_quote(&kh.to_string_lossy())
                );
            }
            auth.env.push(("GIT_SSH_COMMAND".into(), cmd));
        } else if std::env::var_os("GIT_SSH_COMMAND").is_none()
            && std::env::var_os("GIT_SSH").is_none()
        {
            // ssh prompts on the terminal for host keys and passphrases; never wait for that.
            auth.env
                .push(("GIT_SSH_COMMAND".into(), "ssh -o BatchMode=yes".into()));
        }
        auth.secrets.retain(|s| !s.is_empty());
        auth
    }

    /// Adds a config entry through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`,
    /// after any the caller's environment already has.
    fn config(&mut self, key: &str, value: &str) {
        let inherited: usize = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let n = inherited
            + self
                .env
                .iter()
                .filter(|(k, _)| k.starts_with("GIT_CONFIG_KEY_"))
                .count();
        self.env.retain(|(k, _)| k != "GIT_CONFIG_COUNT");
        self.env.push((format!("GIT_CONFIG_KEY_{n}"), key.into()));
        self.env
            .push((format!("GIT_CONFIG_VALUE_{n}"), value.into()));
        self.env
            .push(("GIT_CONFIG_COUNT".into(), (n + 1).to_string()));
    }
}

/// Percent-decoding of URL userinfo (`p%40ss` is `p@ss`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(auth: &'a GitAuth, key: &str) -> Option<&'a str> {
        auth.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn debug_never_shows_the_password() {
        let creds = Credentials {
            username: Some("bob".into()),
            password: Some("hunter22".into()),
            ..Credentials::default()
        };
        let shown = format!("{creds:?}");
        assert!(!shown.contains("hunter22"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }

    #[test]
    fn http_credentials_become_a_scoped_header() {
        let creds = Credentials {
            username: Some("bob".into()),
            password: Some("hunter22".into()),
            ..Credentials::default()
        };
        let auth = GitAuth::new("https://host:8443/o/r.git", &creds);
        assert_eq!(auth.url, "https://host:8443/o/r.git");
        let n = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        assert_eq!(
            env(&auth, &format!("GIT_CONFIG_KEY_{n}")),
            Some("http.https://host:8443/.extraHeader")
        );
        let header = format!("Authorization: Basic {}", BASE64.encode("bob:hunter22"));
        assert_eq!(
            env(&auth, &format!("GIT_CONFIG_VALUE_{n}")),
            Some(header.as_str())
        );
        assert!(auth.secrets.contains(&"hunter22".to_string()));
        assert_eq!(
            env(&auth, &format!("GIT_CONFIG_KEY_{}", n + 1)),
            Some("http.followRedirects")
        );
        assert_eq!(
            env(&auth, &format!("GIT_CONFIG_VALUE_{}", n + 1)),
            Some("false")
        );
    }

    #[test]
    fn scoped_credentials_go_only_where_a_scope_covers() {
        let scoped = ScopedCredentials {
            scopes: vec!["https://git.acme.com/team".into(), "ssh://git@h".into()],
            credentials: Credentials {
                password: Some("tok".into()),
                ..Credentials::default()
            },
        };
        assert!(!scoped.for_url("https://git.acme.com/team/app").is_empty());
        assert!(!scoped.for_url("git@h:o/r.git").is_empty());
        assert!(
            scoped
                .for_url("https://git.acme.com/teamevil/app")
                .is_empty()
        );
        assert!(
            scoped
                .for_url("https://git.acme.com.evil.net/team/app")
                .is_empty()
        );
        assert_eq!(
            scoped.specificity_for("https://git.acme.com/team/a"),
            Some(1)
        );
        let unscoped = ScopedCredentials {
            scopes: vec![],
            ..scoped
        };
        assert!(unscoped.for_url("https://git.acme.com/team/app").is_empty());
    }

    #[test]
    fn embedded_credentials_leave_the_url() {
        let auth = GitAuth::new("https://bob:p%40ss@host/r", &Credentials::default());
        assert_eq!(auth.url, "https://host/r");
        assert!(auth.secrets.contains(&"p@ss".to_string()));
        let token = GitAuth::new("https://ghp_tok@host/r", &Credentials::default());
        assert_eq!(token.url, "https://host/r");
        assert!(token.secrets.contains(&"ghp_tok".to_string()));
    }

    #[test]
    fn ssh_credentials_become_an_ssh_command() {
        let creds = Credentials {
            ssh_key: Some("/k/id".into()),
            known_hosts: Some("/k/known hosts".into()),
            ..Credentials::default()
        };
        let auth = GitAuth::new("ssh://git@host/r", &creds);
        assert_eq!(
            env(&auth, "GIT_SSH_COMMAND"),
            Some(
                "ssh -o BatchMode=yes -i '/k/id' -o IdentitiesOnly=yes \
                 -o UserKnownHostsFile='/k/known hosts' -o StrictHostKeyChecking=yes"
            )
        );
    }
}
