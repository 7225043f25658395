//! Argo CD's (Masterminds) semver constraints and picking a version from a list.
//!
//! Argo CD hands `targetRevision` to Masterminds semver v3 (as Helm does): a string that parses
//! as a version is that exact version; anything else is a constraint. A constraint is groups
//! joined by `||` (OR), each a list of comparisons separated by spaces or commas (AND).
//! A comparison is an operator (`=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`, or none) and a
//! version in which missing or `x`/`X`/`*` parts are wildcards; `A - B` is `>=A <=B`.
//! Wildcards and missing parts change the meaning: `1.2` and `1.2.x` are `~1.2` (>=1.2.0
//! <1.3.0), `>1.2` is >=1.3.0, `<=1.2` is <1.3.0, `^0.2` is >=0.2.0 <0.3.0. A pre-release is
//! only considered by a group one of whose comparisons names a pre-release (`>=1.0.0-0`).
//! The evaluation below is written from those documented rules.

use std::cmp::Ordering;

use semver::{BuildMetadata, Prerelease, Version};

/// The highest version of `versions` that `constraint` admits, as spelled in `versions`.
/// None or an empty constraint admits every version without a pre-release. An exact version
/// is looked up as is. Versions that do not parse are skipped; `Err` says why the constraint
/// does not parse.
pub(crate) fn pick<'a>(
    versions: impl IntoIterator<Item = &'a str>,
    constraint: Option<&str>,
) -> Result<Option<String>, String> {
    let constraint = constraint.map(str::trim).unwrap_or_default();
    let parsed = versions
        .into_iter()
        .filter_map(|s| parse_version(s).map(|v| (v, s)));
    // An exact version is that version (Argo CD checks this before parsing a constraint).
    if let Some(exact) = parse_version(constraint) {
        let mut best: Option<(Version, &str)> = None;
        for (v, s) in parsed {
            if s == constraint {
                return Ok(Some(s.to_string()));
            }
            if v.cmp_precedence(&exact) == Ordering::Equal && best.is_none() {
                best = Some((v, s));
            }
        }
        return Ok(best.map(|(_, s)| s.to_string()));
    }
    let constraint = Constraint::parse(constraint)?;
    let best = parsed
        .filter(|(v, _)| constraint.admits(v))
        .max_by(|(a, _), (b, _)| a.cmp_precedence(b));
    Ok(best.map(|(_, s)| s.to_string()))
}

/// The `n` highest versions of `versions`, highest first (for error messages).
pub(crate) fn newest<'a>(versions: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<String> {
    let mut parsed: Vec<(Version, &str)> = versions
        .into_iter()
        .filter_map(|s| parse_version(s).map(|v| (v, s)))
        .collect();
    parsed.sort_by(|(a, _), (b, _)| b.cmp_precedence(a));
    parsed.dedup_by(|(_, a), (_, b)| a == b);
    parsed
        .into_iter()
        .take(n)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// A version as Masterminds reads one leniently: an optional `v`, one to three numbers,
/// then an optional `-pre-release` and `+build`.
pub(crate) fn parse_version(s: &str) -> Option<Version> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (rest, build) = match s.split_once('+') {
        Some((r, b)) => (r, BuildMetadata::new(b).ok()?),
        None => (s, BuildMetadata::EMPTY),
    };
    let (nums, pre) = match rest.split_once('-') {
        Some((n, p)) => (n, Prerelease::new(p).ok()?),
        None => (rest, Prerelease::EMPTY),
    };
    let mut parts = [0u64; 3];
    for (i, part) in nums.split('.').enumerate() {
        if i == 3 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts[i] = part.parse().ok()?;
    }
    let mut v = Version::new(parts[0], parts[1], parts[2]);
    v.pre = pre;
    v.build = build;
    Some(v)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

/// One comparison: the operator and its version, with which parts were wildcards.
#[derive(Debug)]
struct Comparison {
    op: Op,
    base: Version,
    /// `*` alone: every part is a wildcard.
    any: bool,
    /// The minor part (and so the patch) was missing or a wildcard: `1`, `1.x`.
    minor_wild: bool,
    /// Only the patch part was missing or a wildcard: `1.2`, `1.2.x`.
    patch_wild: bool,
}

/// OR of ANDs; each group remembers whether it admits pre-releases.
#[derive(Debug)]
struct Constraint {
    groups: Vec<(Vec<Comparison>, bool)>,
}

impl Constraint {
    fn parse(text: &str) -> Result<Constraint, String> {
        let mut groups = Vec::new();
        for group in text.split("||") {
            let comparisons = parse_group(group)?;
            let pre = comparisons.iter().any(|c| !c.base.pre.is_empty());
            groups.push((comparisons, pre));
        }
        Ok(Constraint { groups })
    }

    fn admits(&self, v: &Version) -> bool {
        self.groups.iter().any(|(comparisons, pre)| {
            (v.pre.is_empty() || *pre) && comparisons.iter().all(|c| c.admits(v))
        })
    }
}

/// The comparisons of one AND group: tokens split at spaces and commas, an operator standing
/// alone joined to the version after it, `A - B` rewritten to `>=A <=B`. An empty group
/// admits everything (Masterminds reads it as `>=0.0.0`).
fn parse_group(group: &str) -> Result<Vec<Comparison>, String> {
    let tokens: Vec<&str> = group
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let mut token = tokens[i].to_string();
        if token.chars().all(|c| "=<>!~^".contains(c)) {
            let Some(next) = tokens.get(i + 1) else {
                return Err(format!("operator {token:?} has no version after it"));
            };
            token.push_str(next);
            i += 1;
        }
        if tokens.get(i + 1) == Some(&"-") {
            let Some(upper) = tokens.get(i + 2) else {
                return Err(format!("range {token:?} - has no upper bound"));
            };
            out.push(parse_comparison(&format!(">={token}"))?);
            out.push(parse_comparison(&format!("<={upper}"))?);
            i += 3;
            continue;
        }
        out.push(parse_comparison(&token)?);
        i += 1;
    }
    if out.is_empty() {
        out.push(parse_comparison("*")?);
    }
    Ok(out)
}

fn parse_comparison(token: &str) -> Result<Comparison, String> {
    let split = token
        .find(|c: char| !"=<>!~^".contains(c))
        .ok_or_else(|| format!("{token:?} has no version"))?;
    let (op, version) = token.split_at(split);
    let op = match op {
        "" | "=" => Op::Eq,
        "!=" => Op::Ne,
        ">" => Op::Gt,
        "<" => Op::Lt,
        ">=" | "=>" => Op::Ge,
        "<=" | "=<" => Op::Le,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        other => return Err(format!("unknown operator {other:?} in {token:?}")),
    };
    let bad = || format!("{version:?} in {token:?} is not a version");
    let v = version.strip_prefix('v').unwrap_or(version);
    let (v, build) = match v.split_once('+') {
        Some((r, b)) => (r, BuildMetadata::new(b).map_err(|_| bad())?),
        None => (v, BuildMetadata::EMPTY),
    };
    let (nums, pre) = match v.split_once('-') {
        Some((n, p)) => (n, Prerelease::new(p).map_err(|_| bad())?),
        None => (v, Prerelease::EMPTY),
    };
    let is_wild = |p: &str| matches!(p, "x" | "X" | "*");
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    // A part after a wildcard does not count (`1.x.3` is `1.x`), as in Masterminds.
    let mut numbers = [0u64; 3];
    let mut wild_from = parts.len();
    for (i, part) in parts.iter().enumerate() {
        if is_wild(part) {
            wild_from = i;
            break;
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        numbers[i] = part.parse().map_err(|_| bad())?;
    }
    let mut base = Version::new(numbers[0], numbers[1], numbers[2]);
    base.pre = pre;
    base.build = build;
    Ok(Comparison {
        op,
        base,
        any: wild_from == 0,
        minor_wild: wild_from == 1,
        patch_wild: wild_from == 2,
    })
}

impl Comparison {
    fn admits(&self, v: &Version) -> bool {
        let b = &self.base;
        let cmp = v.cmp_precedence(b);
        let wild = self.any || self.minor_wild || self.patch_wild;
        if self.any {
            // `*` with any operator but != and < admits everything.
            return !matches!(self.op, Op::Ne | Op::Lt);
        }
        match self.op {
            Op::Eq if !wild => cmp == Ordering::Equal,
            Op::Eq | Op::Tilde => {
                cmp != Ordering::Less
                    && v.major == b.major
                    && (self.minor_wild || v.minor == b.minor)
                    // `~0.0.0` admits everything, as in Masterminds.
                    || (self.op == Op::Tilde && !wild && *b == Version::new(0, 0, 0))
            }
            Op::Ne if !wild => cmp != Ordering::Equal,
            Op::Ne => v.major != b.major || (self.patch_wild && v.minor != b.minor),
            Op::Gt if self.minor_wild => v.major > b.major,
            Op::Gt if self.patch_wild => {
                v.major > b.major || (v.major == b.major && v.minor > b.minor)
            }
            Op::Gt => cmp == Ordering::Greater,
            Op::Lt => cmp == Ordering::Less,
            Op::Ge => cmp != Ordering::Less,
            Op::Le if self.minor_wild => v.major <= b.major,
            Op::Le if self.patch_wild => {
                v.major < b.major || (v.major == b.major && v.minor <= b.minor)
            }
            Op::Le => cmp != Ordering::Greater,
            Op::Caret => {
                if cmp == Ordering::Less {
                    false
                } else if b.major > 0 || self.minor_wild {
                    v.major == b.major
                } else if b.minor > 0 || self.patch_wild {
                    v.major == 0 && v.minor == b.minor
                } else {
                    v.major == 0 && v.minor == 0 && v.patch == b.patch
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSIONS: &[&str] = &[
        "0.1.0",
        "0.2.0",
        "0.2.5",
        "0.3.0",
        "1.0.0",
        "1.2.0",
        "1.2.3",
        "1.2.9",
        "1.3.0",
        "1.10.0",
        "2.0.0-rc.1",
        "2.0.0",
        "2.1.0",
        "3.0.0-beta.1",
    ];

    #[test]
    fn picks_the_highest_admitted_version() {
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, Some("2.1.0")),
            (Some(""), Some("2.1.0")),
            (Some("*"), Some("2.1.0")),
            (Some("1.2.3"), Some("1.2.3")),
            (Some("v1.2.3"), Some("1.2.3")),
            (Some("=1.2.3"), Some("1.2.3")),
            (Some("1.2.4"), None),
            (Some(">=1.0.0 <2.0.0"), Some("1.10.0")),
            (Some(">=1.0.0, <2.0.0"), Some("1.10.0")),
            (Some(">= 1.0.0, < 2.0.0"), Some("1.10.0")),
            (Some(">=1.0.0,<1.3"), Some("1.2.9")),
            (Some("<1.0.0 || >=2.0.0 <2.1"), Some("2.0.0")),
            (Some("<1.0.0 || >=5"), Some("0.3.0")),
            (Some("1.2.x"), Some("1.2.9")),
            (Some("1.2.*"), Some("1.2.9")),
            (Some("1.x"), Some("1.10.0")),
            // A string that parses as a version is that version (Argo CD), even `1.2`.
            (Some("1.2"), Some("1.2.0")),
            (Some("1.4"), None),
            (Some("=1.2"), Some("1.2.9")),
            (Some("~1.2.3"), Some("1.2.9")),
            (Some("~1.2"), Some("1.2.9")),
            (Some("~>1.2"), Some("1.2.9")),
            (Some("~1"), Some("1.10.0")),
            (Some("^1.2"), Some("1.10.0")),
            (Some("^1.2.5"), Some("1.10.0")),
            (Some("^0.2"), Some("0.2.5")),
            (Some("^0.2.1"), Some("0.2.5")),
            (Some("^0.0"), None),
            (Some("^0"), Some("0.3.0")),
            (Some("^2"), Some("2.1.0")),
            (Some(">1.2"), Some("2.1.0")),
            (Some(">1.2 <2"), Some("1.10.0")),
            (Some(">1 <2"), None),
            (Some(">1.2.9 <1.10"), Some("1.3.0")),
            (Some("<=1.2"), Some("1.2.9")),
            (Some("<=1.x"), Some("1.10.0")),
            (Some("<=1.2.3"), Some("1.2.3")),
            (Some("!=2.1.0"), Some("2.0.0")),
            (Some("!=2.x"), Some("1.10.0")),
            (Some("1.2 - 1.3"), Some("1.3.0")),
            (Some("1.0.0 - 1.2.3"), Some("1.2.3")),
            // Pre-releases only when the group names one.
            // 3.0.0-beta.1 sorts below 3.0.0, as in semver.
            (Some(">=2.0.0-0 <3.0.0"), Some("3.0.0-beta.1")),
            (Some(">=2.0.0-0 <2.1.0"), Some("2.0.0")),
            (Some(">=2.0.0-0 <2.0.0"), Some("2.0.0-rc.1")),
            (Some(">=3.0.0-0"), Some("3.0.0-beta.1")),
            (Some(">=3.0.0"), None),
            (Some("2.0.0-rc.1"), Some("2.0.0-rc.1")),
            (Some(">=3.0.0-0 || <1"), Some("3.0.0-beta.1")),
            (Some(">=5.0.0"), None),
        ];
        for (constraint, want) in cases {
            let got = pick(VERSIONS.iter().copied(), *constraint).unwrap();
            assert_eq!(got.as_deref(), *want, "constraint {constraint:?}");
        }
    }

    #[test]
    fn keeps_the_spelling_of_the_list_and_skips_unparsable_versions() {
        let versions = ["v1.0.0", "latest", "1.1", "1.0.5+build.7"];
        assert_eq!(pick(versions, Some("^1")).unwrap().as_deref(), Some("1.1"));
        assert_eq!(
            pick(versions, Some("1.0.0")).unwrap().as_deref(),
            Some("v1.0.0")
        );
        assert_eq!(
            pick(versions, Some("~1.0")).unwrap().as_deref(),
            Some("1.0.5+build.7")
        );
        assert_eq!(
            pick(versions, Some("1.1.0")).unwrap().as_deref(),
            Some("1.1")
        );
    }

    #[test]
    fn refuses_what_is_not_a_constraint() {
        for bad in ["latest", ">=", "1.2.3.4", ">>1", "1.a", "^", "1 -", "main"] {
            assert!(
                pick(VERSIONS.iter().copied(), Some(bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn newest_lists_the_highest_first() {
        assert_eq!(
            newest(VERSIONS.iter().copied(), 3),
            ["3.0.0-beta.1", "2.1.0", "2.0.0"]
        );
    }
}
