//! The two response headers the tag listing reads: the `WWW-Authenticate` challenge (how to
//! authenticate) and the `Link` header (the next page).

use std::collections::BTreeMap;

use reqwest::Url;
use reqwest::header::LINK;

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Challenge {
    Basic,
    Bearer(BTreeMap<String, String>),
    Other(String),
}

impl Challenge {
    /// `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull,push"`.
    pub(super) fn parse(h: &str) -> Challenge {
        let h = h.trim();
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Challenge::Basic,
            "bearer" => Challenge::Bearer(parse_auth_params(rest)),
            _ => Challenge::Other(scheme.to_string()),
        }
    }
}

/// `k=v, k="quoted, \"v\""` → map (keys lower-cased).
pub(super) fn parse_auth_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        out.insert(key, value);
    }
}

/// The `rel="next"` target of the Link header, resolved against the request URL.
pub(super) fn next_link(headers: &reqwest::header::HeaderMap, base: &Url) -> Option<Url> {
    headers.get_all(LINK).iter().find_map(|h| {
        let h = h.to_str().ok()?;
        h.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            is_next.then(|| base.join(target).ok()).flatten()
        })
    })
}
