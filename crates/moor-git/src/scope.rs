//! Which credentials may go to which repository: the one matching rule every credential lookup
//! in moor uses (repository Secrets, the controller's environment credentials, image
//! automation pushes, the CLI).
//!
//! A credential's URL is a scope: scheme, host and port must be equal and its path must be a
//! prefix of the repository's path ending at a `/` boundary, after normalisation (case of scheme
//! and host, default ports, trailing `/` and `.git`, scp syntax). Nothing looser: a host that
//! merely starts with the scope's host (`git.acme.com.evil.net`), another port, another scheme
//! (`http` is not `https`) or a sibling path (`/teamevil` for `/team`) never matches. URLs that
//! parsers disagree about (a `?`, `#` or `\`, two `@`, dot segments, encoded `/`) match nothing,
//! so an attacker-chosen repository URL cannot make one parser see the scope's host while git
//! connects to another.

/// A URL reduced to what decides where credentials may go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlScope {
    scheme: String,
    /// ssh only: the account. A scope without one matches any account on that host.
    user: Option<String>,
    host: String,
    /// `None`: the scheme's default port.
    port: Option<u16>,
    /// Percent-decoded path segments, `.git` dropped from the last.
    segments: Vec<String>,
}

impl UrlScope {
    /// Parses a repository URL, or a credential's URL prefix. `None` for anything that is not
    /// an http(s), ssh, git or file URL (or scp-style `[user@]host:path`) that can be matched
    /// without ambiguity.
    pub fn parse(url: &str) -> Option<UrlScope> {
        let url = url.trim();
        if url
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "?#\\".contains(c))
        {
            return None;
        }
        let (scheme, authority, path) = split(url)?;
        let (userinfo, hostport) = match authority.split_once('@') {
            Some((_, rest)) if rest.contains('@') => return None,
            Some((info, rest)) => (Some(info), rest),
            None => (None, authority),
        };
        let (host, port) = host_port(hostport, &scheme)?;
        if host.is_empty() && scheme != "file" {
            return None;
        }
        let user = match (scheme.as_str(), userinfo) {
            ("ssh", Some(info)) => {
                let user = info.split(':').next().unwrap_or("");
                (!user.is_empty()).then(|| user.to_string())
            }
            _ => None,
        };
        Some(UrlScope {
            scheme,
            user,
            host,
            port,
            segments: segments(path)?,
        })
    }

    /// Whether credentials scoped to `self` may be sent for the repository `repo`.
    pub fn covers(&self, repo: &UrlScope) -> bool {
        self.scheme == repo.scheme
            && self.host == repo.host
            && self.port == repo.port
            && (self.user.is_none() || self.user == repo.user)
            && repo.segments.starts_with(&self.segments)
    }

    /// How specific the scope is (path segments); of several scopes covering a repository,
    /// the most specific wins.
    pub fn specificity(&self) -> usize {
        self.segments.len()
    }
}

/// `Some(specificity)` when credentials for the URL prefix `scope` may go to `repo_url`,
/// `None` when they must not (including when either does not parse).
pub fn scope_match(scope: &str, repo_url: &str) -> Option<usize> {
    let scope = UrlScope::parse(scope)?;
    let repo = UrlScope::parse(repo_url)?;
    scope.covers(&repo).then(|| scope.specificity())
}

/// The value of the most specific scope covering `repo_url`; the first of equally specific
/// ones (callers order candidates deterministically).
pub fn best_match<'a, T>(
    repo_url: &str,
    candidates: impl IntoIterator<Item = (&'a str, T)>,
) -> Option<T> {
    let repo = UrlScope::parse(repo_url)?;
    let mut best: Option<(usize, T)> = None;
    for (scope, value) in candidates {
        let Some(scope) = UrlScope::parse(scope).filter(|s| s.covers(&repo)) else {
            continue;
        };
        if best.as_ref().is_none_or(|(n, _)| scope.specificity() > *n) {
            best = Some((scope.specificity(), value));
        }
    }
    best.map(|(_, v)| v)
}

/// (scheme, authority, path) with the scheme canonical; scp syntax becomes ssh.
fn split(url: &str) -> Option<(String, &str, &str)> {
    if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "git+ssh" | "ssh+git" | "ssh" => "ssh".to_string(),
            s @ ("http" | "https" | "git" | "file") => s.to_string(),
            _ => return None,
        };
        let end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        return Some((scheme, authority, path));
    }
    // `[user@]host:path`, as git reads it: a `:` before any `/`.
    let colon = url.find(':')?;
    let (authority, path) = (&url[..colon], &url[colon + 1..]);
    if authority.is_empty() || authority.contains('/') {
        return None;
    }
    Some(("ssh".into(), authority, path))
}

/// Lowercased host and explicit non-default port. Hosts are DNS names or IP literals: anything
/// else (percent escapes, unicode, empty labels) is refused rather than guessed at.
fn host_port(hostport: &str, scheme: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || ":.".contains(c))
        {
            return None;
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", v6.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        let labels_ok = host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !host.is_empty() && !labels_ok {
            return None;
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) if p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit()) => {
            return None;
        }
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
    };
    let default = match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "ssh" => Some(22),
        "git" => Some(9418),
        _ => None,
    };
    Some((host, port.filter(|p| Some(*p) != default)))
}

/// Path segments, percent-decoded, trailing `/` and `.git` dropped. Dot segments and encoded
/// separators are refused: servers resolve them, so they could climb out of a scope's prefix.
fn segments(path: &str) -> Option<Vec<String>> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.trim_end_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    if path.is_empty() {
        return Some(Vec::new());
    }
    path.split('/')
        .map(|raw| {
            let seg = percent_decode(raw)?;
            let bad = seg == "." || seg == ".." || seg.contains(['/', '\\', '\0']);
            (!bad).then_some(seg)
        })
        .collect()
}

/// Strict percent-decoding: a `%` not followed by two hex digits, or bytes that are not UTF-8,
/// make the segment unusable.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(scope: &str, repo: &str) -> bool {
        scope_match(scope, repo).is_some()
    }

    #[test]
    fn look_alike_hosts_ports_and_schemes_never_match() {
        let scope = "https://git.acme.com";
        for repo in [
            "https://git.acme.com.evil.net/x",
            "https://git.acme.com.evil.net/team/app.git",
            "https://evil-git.acme.com/x",
            "https://acme.com/x",
            "https://git.acme.co/x",
            "https://git.acme.com:8443/",
            "https://git.acme.com:8443/team/app",
            "http://git.acme.com/team/app",
            "ssh://git@git.acme.com/team/app",
            "git@git.acme.com:team/app.git",
            "https://git.acme.com@evil.net/x",
            "https://user@git.acme.com@evil.net/x",
            "https://evil.net#@git.acme.com/x",
            "https://evil.net?@git.acme.com/x",
            "https://evil.net\\@git.acme.com/x",
            "https://git.acme.com%2eevil.net/x",
            "https://git.acme.com./x",
        ] {
            assert!(!matches(scope, repo), "{scope} must not match {repo}");
        }
    }

    #[test]
    fn the_same_origin_matches_after_normalisation() {
        let scope = "https://git.acme.com";
        for repo in [
            "https://git.acme.com/team/app.git",
            "HTTPS://Git.Acme.COM/team/app",
            "https://git.acme.com:443/team/app",
            "https://bob:pw@git.acme.com/team/app",
            "https://git.acme.com",
            "https://git.acme.com/",
        ] {
            assert!(matches(scope, repo), "{scope} must match {repo}");
        }
        assert!(matches(
            "https://git.acme.com:443/",
            "https://git.acme.com/x"
        ));
        assert!(matches(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/a/b.git"
        ));
        assert!(!matches(
            "http://127.0.0.1:8080",
            "http://localhost:8080/a/b.git"
        ));
        assert!(!matches(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8081/a/b.git"
        ));
    }

    #[test]
    fn paths_match_only_at_a_segment_boundary() {
        let scope = "https://git.acme.com/team";
        assert!(matches(scope, "https://git.acme.com/team/app.git"));
        assert!(matches(scope, "https://git.acme.com/team"));
        assert!(matches(scope, "https://git.acme.com/team.git"));
        assert!(matches(
            "https://git.acme.com/team/",
            "https://git.acme.com/team/app"
        ));
        for repo in [
            "https://git.acme.com/teamevil/app",
            "https://git.acme.com/team-evil/app",
            "https://git.acme.com/Team/app",
            "https://git.acme.com/other/team/app",
            "https://git.acme.com/",
            "https://git.acme.com//team/app",
            "https://git.acme.com/team/../evil/app",
            "https://git.acme.com/team/./app",
            "https://git.acme.com/team/%2e%2e/evil/app",
            "https://git.acme.com/team%2fevil/app",
            "https://git.acme.com/team/app%zz",
        ] {
            assert!(!matches(scope, repo), "{scope} must not match {repo}");
        }
        assert!(matches(scope, "https://git.acme.com/te%61m/app"));
    }

    #[test]
    fn ssh_scopes_match_scp_syntax_and_their_user() {
        assert!(matches("ssh://git@host", "git@host:org/repo.git"));
        assert!(matches("git@host:org", "ssh://git@host:22/org/repo"));
        assert!(matches("ssh://host/org", "ssh://anyone@host/org/repo"));
        assert!(!matches("ssh://git@host", "ssh://other@host/org/repo"));
        assert!(!matches("ssh://git@host", "ssh://git@host:2222/org/repo"));
        assert!(!matches("git@host:org", "git@host:organisation/repo"));
        assert!(matches("file:///srv/git", "file:///srv/git/repo.git"));
        assert!(!matches("file:///srv/git", "file:///srv/gitevil/repo.git"));
    }

    #[test]
    fn non_urls_match_nothing() {
        for (scope, repo) in [
            ("", "https://h/x"),
            ("https://h", "/local/dir"),
            ("https://h", "relative/dir"),
            ("ftp://h", "ftp://h/x"),
            ("https://h", "https:///x"),
            ("https://h", "https://h:0/x"),
            ("https://h", "https://h:99999/x"),
            ("https://h", "https://h:/x"),
            ("https://h", "https://bücher.de/x"),
        ] {
            assert!(!matches(scope, repo), "{scope} must not match {repo}");
        }
    }

    #[test]
    fn the_most_specific_scope_wins() {
        let candidates = [
            ("https://git.acme.com", "host"),
            ("https://git.acme.com/team/app", "repo"),
            ("https://git.acme.com/team", "team"),
            ("https://git.acme.com/team", "team-again"),
            ("https://git.acme.com.evil.net/team/app/x/y", "evil"),
        ];
        let best = |url: &str| best_match(url, candidates.iter().map(|(s, v)| (*s, *v)));
        assert_eq!(best("https://git.acme.com/team/app.git"), Some("repo"));
        assert_eq!(best("https://git.acme.com/team/web"), Some("team"));
        assert_eq!(best("https://git.acme.com/other/web"), Some("host"));
        assert_eq!(best("https://git.acme.com.evil.net/x"), None);
        assert_eq!(
            best("https://git.acme.com.evil.net/team/app/x/y"),
            Some("evil")
        );
    }
}
