//! Image references as written: `[host[:port]/]path[:tag][@algorithm:hex]`.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

use crate::ImageError;

static HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?))*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$",
    )
    .expect("host regex")
});
static PATH_COMPONENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").expect("path regex"));
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("tag regex"));
static ALGORITHM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$").expect("algorithm regex"));
static ENCODED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9=_-]{32,}$").expect("digest regex"));

/// An image reference, kept as written: `nginx` stays `nginx` (no `docker.io/library/`), so two
/// names are the same only when they are spelled the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// The repository: `registry.local:5000/team/app`.
    pub name: String,
    /// `3f2c1ab` in `app:3f2c1ab`.
    pub tag: Option<String>,
    /// `sha256:<64 hex>` in `app@sha256:...`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; the error names it and says what is wrong.
    pub fn parse(reference: &str) -> Result<ImageRef, ImageError> {
        let bad = |reason: String| ImageError::InvalidReference {
            reference: reference.to_string(),
            reason,
        };
        if reference.is_empty() {
            return Err(bad("it is empty".into()));
        }
        if let Some(c) = reference
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad(format!("it contains {c:?}")));
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest).map_err(bad)?;
                (rest, Some(digest.to_string()))
            }
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let (name, tag) = (&rest[..last_slash + i], &rest[last_slash + i + 1..]);
                if tag.is_empty() {
                    return Err(bad("the tag after ':' is empty".into()));
                }
                if !TAG.is_match(tag) {
                    return Err(bad(format!(
                        "tag {tag:?} must be 1 to 128 letters, digits, '_', '.' or '-', not \
                         starting with '.' or '-'"
                    )));
                }
                (name, Some(tag.to_string()))
            }
            None => (rest, None),
        };
        check_name(name).map_err(bad)?;
        Ok(ImageRef {
            name: name.to_string(),
            tag,
            digest,
        })
    }

    /// A repository name alone (no tag or digest), checked like the name part of a reference.
    pub fn parse_name(name: &str) -> Result<String, ImageError> {
        let parsed = ImageRef::parse(name)?;
        if parsed.tag.is_some() || parsed.digest.is_some() {
            return Err(ImageError::InvalidReference {
                reference: name.to_string(),
                reason: "an image name must not have a tag or a digest".into(),
            });
        }
        Ok(parsed.name)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<ImageRef, ImageError> {
        ImageRef::parse(s)
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return Err(format!(
            "digest {digest:?} must be ALGORITHM:HEX, e.g. sha256:<64 hex digits>"
        ));
    };
    if !ALGORITHM.is_match(algorithm) {
        return Err(format!("digest algorithm {algorithm:?} is not valid"));
    }
    let hex_len = match algorithm {
        "sha256" => Some(64),
        "sha384" => Some(96),
        "sha512" => Some(128),
        _ => None,
    };
    match hex_len {
        Some(n)
            if encoded.len() != n
                || !encoded.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) =>
        {
            Err(format!(
                "a {algorithm} digest must be {n} lowercase hex digits, got {encoded:?}"
            ))
        }
        None if !ENCODED.is_match(encoded) => Err(format!(
            "digest {digest:?} must have at least 32 letters, digits, '=', '_' or '-' after ':'"
        )),
        _ => Ok(()),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the repository name is empty".into());
    }
    if name.len() > 255 {
        return Err("the repository name is longer than 255 characters".into());
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first component with '.' or ':' (or localhost) is a registry host, as docker reads it.
    if parts.len() > 1 {
        let first = parts[0];
        if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') {
            if !HOST.is_match(first) {
                return Err(format!(
                    "registry host {first:?} is not a valid host[:port]"
                ));
            }
            parts.remove(0);
        }
    }
    for part in parts {
        if part.is_empty() {
            return Err(format!("{name:?} has an empty path component"));
        }
        if !PATH_COMPONENT.is_match(part) {
            let why = if part.chars().any(|c| c.is_ascii_uppercase()) {
                "must be lowercase"
            } else {
                "may only hold lowercase letters, digits and the separators '.', '_', '__', '-'"
            };
            return Err(format!("repository path component {part:?} {why}"));
        }
    }
    Ok(())
}

/// One requested change: the image NAME (as the manifests write it) becomes `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageUpdate {
    /// The image name to find in the manifests.
    pub name: String,
    /// The reference it gets.
    pub new: ImageRef,
}

impl ImageUpdate {
    /// The update of image `name` to `new`.
    pub fn new(name: impl Into<String>, new: ImageRef) -> ImageUpdate {
        ImageUpdate {
            name: name.into(),
            new,
        }
    }

    /// Parses `NAME=NEWREF`, e.g. `registry.local/myapp=registry.local/myapp:3f2c1ab` or
    /// `myapp=registry.local/myapp@sha256:...`. NEWREF needs a tag or a digest.
    pub fn parse(arg: &str) -> Result<ImageUpdate, ImageError> {
        let bad = |reason: &str| ImageError::InvalidUpdate {
            arg: arg.to_string(),
            reason: reason.to_string(),
        };
        let Some((name, new)) = arg.split_once('=') else {
            return Err(bad(
                "expected NAME=NEWREF, e.g. registry.local/myapp=registry.local/myapp:1.2.3",
            ));
        };
        let name = ImageRef::parse_name(name)?;
        let new = ImageRef::parse(new)?;
        if new.tag.is_none() && new.digest.is_none() {
            return Err(ImageError::InvalidReference {
                reference: new.to_string(),
                reason: "the new reference needs a tag or a digest".into(),
            });
        }
        Ok(ImageUpdate { name, new })
    }
}

impl FromStr for ImageUpdate {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<ImageUpdate, ImageError> {
        ImageUpdate::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_references_as_written() {
        let full = format!("registry.local:5000/team/app:v1.2@{SHA}");
        let cases: Vec<(&str, &str, Option<&str>, Option<&str>)> = vec![
            ("nginx", "nginx", None, None),
            ("nginx:1.27", "nginx", Some("1.27"), None),
            (
                "registry.local/myapp:3f2c1ab",
                "registry.local/myapp",
                Some("3f2c1ab"),
                None,
            ),
            (
                "registry.local:5000/team/app",
                "registry.local:5000/team/app",
                None,
                None,
            ),
            (
                "localhost/app:latest",
                "localhost/app",
                Some("latest"),
                None,
            ),
            ("localhost:5000/a/b/c", "localhost:5000/a/b/c", None, None),
            (
                full.as_str(),
                "registry.local:5000/team/app",
                Some("v1.2"),
                Some(SHA),
            ),
            ("[::1]:5000/app:x", "[::1]:5000/app", Some("x"), None),
            ("a/b__c/d-e.f_g:T_1", "a/b__c/d-e.f_g", Some("T_1"), None),
        ];
        for (input, name, tag, digest) in cases {
            let r = ImageRef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.name, name, "{input}");
            assert_eq!(r.tag.as_deref(), tag, "{input}");
            assert_eq!(r.digest.as_deref(), digest, "{input}");
            assert_eq!(r.to_string(), input, "round trip");
        }
        let d = ImageRef::parse(&format!("myapp@{SHA}")).unwrap();
        assert_eq!(
            (d.name.as_str(), d.tag, d.digest.as_deref()),
            ("myapp", None, Some(SHA))
        );
    }

    #[test]
    fn errors_name_the_reference_and_the_problem() {
        let cases = [
            ("", "empty"),
            ("registry.local/MyApp:1", "must be lowercase"),
            ("registry.local/my app:1", "contains ' '"),
            ("app:", "tag after ':' is empty"),
            ("app:-x", "tag \"-x\""),
            ("app@sha256:abc", "64 lowercase hex"),
            ("app@nope", "ALGORITHM:HEX"),
            ("reg_istry.local/app", "registry host"),
            ("a//b", "empty path component"),
            ("/app", "empty path component"),
        ];
        for (input, want) in cases {
            let err = ImageRef::parse(input).expect_err(input).to_string();
            assert!(err.contains(&format!("{input:?}")), "{err}");
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn updates_parse_name_equals_reference() {
        let u = ImageUpdate::parse("registry.local/myapp=registry.local/myapp:3f2c1ab").unwrap();
        assert_eq!(u.name, "registry.local/myapp");
        assert_eq!(u.new.tag.as_deref(), Some("3f2c1ab"));
        let u = ImageUpdate::parse(&format!("myapp=registry.local/other@{SHA}")).unwrap();
        assert_eq!(u.name, "myapp");
        assert_eq!(u.new.name, "registry.local/other");
        for (bad, want) in [
            ("myapp", "NAME=NEWREF"),
            ("myapp=registry.local/myapp", "tag or a digest"),
            ("myapp:1=myapp:2", "must not have a tag"),
            ("myapp=Bad:1", "\"Bad:1\""),
        ] {
            let err = ImageUpdate::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }
}
