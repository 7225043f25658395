//! Repository URLs: a canonical form for cache keys and matching, and redaction so credentials
//! never reach an error message or a log line.

/// What replaces a secret.
pub const REDACTED: &str = "***";

/// A URL split at its authority: `scheme://[userinfo@]host[:port]path`.
pub(crate) struct Parts<'a> {
    pub scheme: &'a str,
    pub userinfo: Option<&'a str>,
    pub host: &'a str,
    pub path: &'a str,
}

pub(crate) fn parse(url: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    Some(Parts {
        scheme,
        userinfo,
        host,
        path,
    })
}

pub(crate) fn is_http(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}

/// `[user@]host:path` as git reads it: a `:` before any `/`, and no `://`.
pub(crate) fn scp_like(url: &str) -> Option<(&str, &str)> {
    if url.contains("://") {
        return None;
    }
    let colon = url.find(':')?;
    let (host, path) = (&url[..colon], &url[colon + 1..]);
    (!host.is_empty() && !host.contains('/')).then_some((host, path))
}

/// Canonical form of a repository URL, used as the cache key and to match repositories: scheme
/// and host lowercased, credentials and default ports dropped, trailing `/` and `.git` removed,
/// and scp syntax (`git@host:org/repo.git`) turned into `ssh://git@host/org/repo`. The user of
/// an ssh URL is kept: it picks the account, it is not a secret.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim();
    if let Some((userhost, path)) = scp_like(url) {
        let canonical = format!("ssh://{userhost}/{}", path.trim_start_matches('/'));
        return normalize_url(&canonical);
    }
    let Some(parts) = parse(url) else {
        return trim_path(url).to_string();
    };
    let mut scheme = parts.scheme.to_ascii_lowercase();
    if scheme == "git+ssh" || scheme == "ssh+git" {
        scheme = "ssh".into();
    }
    let mut host = parts.host.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        "ssh" => Some(":22"),
        "git" => Some(":9418"),
        _ => None,
    };
    if let Some(port) = default_port
        && host.ends_with(port)
    {
        host.truncate(host.len() - port.len());
    }
    let user = match parts.userinfo {
        Some(info) if scheme == "ssh" => {
            let user = info.split(':').next().unwrap_or("");
            if user.is_empty() {
                String::new()
            } else {
                format!("{user}@")
            }
        }
        _ => String::new(),
    };
    format!("{scheme}://{user}{host}{}", trim_path(parts.path))
}

fn trim_path(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    path.strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/')
}

/// `url` with its password replaced by `***`; for http(s), a lone user is taken to be a token
/// (`https://ghp_xxx@host`) and replaced too. Anything that is not a URL is returned unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(parts) = parse(url) else {
        return url.to_string();
    };
    let Some(info) = parts.userinfo else {
        return url.to_string();
    };
    let info = match info.split_once(':') {
        Some((user, _)) => format!("{user}:{REDACTED}"),
        None if is_http(parts.scheme) => REDACTED.to_string(),
        None => info.to_string(),
    };
    format!("{}://{info}@{}{}", parts.scheme, parts.host, parts.path)
}

/// `text` with every non-empty secret replaced by `***` and the credentials of every URL in it
/// redacted. Run on everything built from git's output before it becomes an error or a log.
pub fn redact<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| !s.is_empty())
        .collect();
    // Longest first, so a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut text = text.to_string();
    for secret in secrets {
        text = text.replace(secret, REDACTED);
    }
    redact_urls_in(&text)
}

/// Redacts the userinfo of every `scheme://user[:pass]@host` found in free text.
fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let start = rest[..pos]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .map_or(0, |i| i + 1);
        let after = &rest[pos + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || "/'\"<>`".contains(c))
            .unwrap_or(after.len());
        out.push_str(&rest[..start]);
        let url = &rest[start..pos + 3 + end];
        out.push_str(&redact_url(url));
        rest = &rest[pos + 3 + end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_canonicalises() {
        let cases = [
            (
                "https://GitHub.com/Org/Repo.git",
                "https://github.com/Org/Repo",
            ),
            (
                "https://github.com/org/repo/",
                "https://github.com/org/repo",
            ),
            (
                "https://github.com/org/repo.git/",
                "https://github.com/org/repo",
            ),
            (
                "HTTPS://user:pw@github.com:443/org/repo",
                "https://github.com/org/repo",
            ),
            (
                "https://ghp_token@github.com/org/repo",
                "https://github.com/org/repo",
            ),
            ("http://host:8080/x.git", "http://host:8080/x"),
            ("http://host:80/x", "http://host/x"),
            (
                "git@github.com:org/repo.git",
                "ssh://git@github.com/org/repo",
            ),
            ("git@GitHub.com:/org/repo", "ssh://git@github.com/org/repo"),
            ("github.com:org/repo", "ssh://github.com/org/repo"),
            (
                "ssh://git@github.com:22/org/repo.git",
                "ssh://git@github.com/org/repo",
            ),
            ("ssh://git:pw@host:2222/r", "ssh://git@host:2222/r"),
            ("git+ssh://git@host/r", "ssh://git@host/r"),
            ("file:///srv/git/repo.git", "file:///srv/git/repo"),
            ("/srv/git/repo.git/", "/srv/git/repo"),
            ("  https://h/r  ", "https://h/r"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_url(input), want, "normalize_url({input:?})");
        }
    }

    #[test]
    fn normalize_makes_equivalent_urls_equal() {
        assert_eq!(
            normalize_url("git@github.com:org/repo.git"),
            normalize_url("ssh://git@github.com/org/repo")
        );
        assert_eq!(
            normalize_url("https://u:p@github.com/org/repo.git"),
            normalize_url("https://github.com/org/repo")
        );
    }

    #[test]
    fn redact_url_hides_passwords_and_tokens() {
        let cases = [
            (
                "https://user:s3cret@host/r.git",
                "https://user:***@host/r.git",
            ),
            (
                "https://ghp_abc123@github.com/o/r",
                "https://***@github.com/o/r",
            ),
            ("https://host/r.git", "https://host/r.git"),
            ("ssh://git@host/r", "ssh://git@host/r"),
            ("ssh://git:pw@host/r", "ssh://git:***@host/r"),
            ("git@host:o/r.git", "git@host:o/r.git"),
            ("/local/path", "/local/path"),
            ("https://u:p@ss@host/r", "https://u:***@host/r"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), want, "redact_url({input:?})");
        }
    }

    #[test]
    fn redact_scrubs_secrets_and_urls_in_text() {
        let text = "fatal: unable to access 'https://bob:hunter22@host/r.git/': \
                    token hunter22 rejected; see http://tok@h2/x";
        let out = redact(text, &["hunter22"]);
        assert!(!out.contains("hunter22"), "{out}");
        assert!(!out.contains("tok@"), "{out}");
        assert!(out.contains("https://bob:***@host/r.git/"), "{out}");
        assert!(out.contains("http://***@h2/x"), "{out}");
        assert_eq!(redact("nothing here", &[""]), "nothing here");
        assert_eq!(redact("ab abc", &["ab", "abc"]), "*** ***");
    }
}
