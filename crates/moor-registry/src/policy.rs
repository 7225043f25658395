//! Choosing the latest tag, as Flux's ImagePolicy does: an optional regex filter (with a named
//! group to extract the part that is compared), then one of
//! - semver: the highest version in a range (`>=1.0.0 <2.0.0`); pre-releases only match a range
//!   that names a pre-release of the same `major.minor.patch`,
//! - alphabetical / numerical: `asc` (default) picks the last in ascending order, i.e. the
//!   greatest; `desc` picks the smallest.
//!
//! Nothing matching is a result ([`Selection::NoMatch`], with the reason), not an error; errors
//! are invalid policies.

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;
use semver::{Version, VersionReq};

use crate::crd::ImagePolicySpec;

/// What is wrong with an ImagePolicy spec; reported in its Ready condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A semver range that does not parse.
    #[error("invalid semver range {range:?}: {reason}")]
    InvalidRange {
        /// The range as written.
        range: String,
        /// The parser's message.
        reason: String,
    },
    /// A filterTags pattern that is not a valid regex.
    #[error("invalid filterTags pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// The regex parser's message.
        reason: String,
    },
    /// A filterTags extract that names a group the pattern lacks.
    #[error("invalid filterTags extract {extract:?}: {reason}")]
    InvalidExtract {
        /// The extract as written.
        extract: String,
        /// Which group it names that the pattern lacks.
        reason: String,
    },
    /// An order other than asc or desc.
    #[error("invalid order {0:?}: use asc or desc")]
    InvalidOrder(String),
    /// No semver, alphabetical or numerical rule given.
    #[error("the policy names no rule: set one of semver, alphabetical, numerical")]
    NoRule,
    /// More than one rule given (listed).
    #[error("the policy names more than one rule ({0}): set exactly one")]
    TooManyRules(String),
}

/// `asc` picks the last tag in ascending order (the greatest), `desc` the first (the smallest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// The greatest wins (the default).
    #[default]
    Asc,
    /// The smallest wins.
    Desc,
}

impl Order {
    /// Reads `asc` or `desc` (either case); unset is `asc`.
    pub fn parse(s: Option<&str>) -> Result<Order, PolicyError> {
        match s.map(str::trim).unwrap_or("") {
            "" | "asc" | "ASC" => Ok(Order::Asc),
            "desc" | "DESC" => Ok(Order::Desc),
            other => Err(PolicyError::InvalidOrder(other.to_string())),
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Order::Asc => "asc",
            Order::Desc => "desc",
        })
    }
}

/// A semver range in Flux's (Masterminds) syntax: comparators separated by spaces or commas are
/// all required, `||` separates alternatives, `a - b` is `>=a <=b`, a bare version means exactly
/// that version; `~`, `^` and `x`/`*` wildcards as usual.
#[derive(Clone, Debug)]
pub struct SemverRange {
    text: String,
    alternatives: Vec<VersionReq>,
}

impl SemverRange {
    /// Parses a Masterminds range; says what is wrong with an invalid one.
    pub fn parse(range: &str) -> Result<SemverRange, PolicyError> {
        let bad = |reason: String| PolicyError::InvalidRange {
            range: range.to_string(),
            reason,
        };
        let mut alternatives = Vec::new();
        for alt in range.split("||") {
            let req = to_cargo_syntax(alt).map_err(bad)?;
            let parsed = VersionReq::parse(&req).map_err(|e| bad(e.to_string()))?;
            alternatives.push(parsed);
        }
        Ok(SemverRange {
            text: range.trim().to_string(),
            alternatives,
        })
    }

    /// Whether `v` satisfies any alternative of the range.
    pub fn matches(&self, v: &Version) -> bool {
        self.alternatives.iter().any(|r| r.matches(v))
    }
}

impl fmt::Display for SemverRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One alternative of a Masterminds range in the `semver` crate's comma syntax.
fn to_cargo_syntax(alt: &str) -> Result<String, String> {
    let words: Vec<&str> = alt
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err("the range (or one of its || alternatives) is empty".into());
    }
    // `1.2 - 1.4.5`: an inclusive hyphen range.
    if let [lo, "-", hi] = words.as_slice() {
        return Ok(format!(
            ">={}, <={}",
            lo.trim_start_matches(['v', 'V']),
            hi.trim_start_matches(['v', 'V'])
        ));
    }
    let mut comparators = Vec::new();
    let mut pending_op: Option<&str> = None;
    for w in words {
        let op_len = w
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '~' | '^' | '!'))
            .unwrap_or(w.len());
        let (op, version) = w.split_at(op_len);
        let op = match (pending_op.take(), op) {
            (Some(p), "") => p,
            (Some(p), o) => return Err(format!("two operators in a row: {p} {o}")),
            (None, o) => o,
        };
        if version.is_empty() {
            pending_op = Some(op);
            continue;
        }
        let version = version.trim_start_matches(['v', 'V']);
        let wildcard = version.split('.').any(|p| matches!(p, "x" | "X" | "*"));
        let op = match op {
            "" if wildcard => "",
            "" | "==" => "=",
            "~>" => "~",
            "!=" => return Err("!= is not supported: use an exclusionList or filterTags".into()),
            o => o,
        };
        comparators.push(format!("{op}{version}"));
    }
    if let Some(op) = pending_op {
        return Err(format!("the operator {op} has no version"));
    }
    Ok(comparators.join(", "))
}

/// A regex that tags must match, and what of the match is compared (`$name`, `${name}`, `$1`;
/// default the whole tag).
#[derive(Clone, Debug)]
pub struct TagFilter {
    pattern: Regex,
    extract: String,
}

impl TagFilter {
    /// Compiles `pattern` and checks `extract` names only its groups.
    pub fn new(pattern: &str, extract: Option<&str>) -> Result<TagFilter, PolicyError> {
        let re = Regex::new(pattern).map_err(|e| PolicyError::InvalidPattern {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        let extract = extract.map(str::trim).filter(|e| !e.is_empty());
        if let Some(e) = extract {
            check_extract(&re, e).map_err(|reason| PolicyError::InvalidExtract {
                extract: e.to_string(),
                reason,
            })?;
        }
        Ok(TagFilter {
            pattern: re,
            extract: extract.unwrap_or("$0").to_string(),
        })
    }

    /// The compared value of a tag, or None when the tag does not match.
    pub fn apply(&self, tag: &str) -> Option<String> {
        let caps = self.pattern.captures(tag)?;
        let mut out = String::new();
        caps.expand(&self.extract, &mut out);
        Some(out)
    }

    /// The regex as written, for messages.
    pub fn pattern(&self) -> &str {
        self.pattern.as_str()
    }
}

/// Every `$group` of `extract` must be a group of the pattern: a typo would otherwise extract
/// an empty string from every tag.
fn check_extract(re: &Regex, extract: &str) -> Result<(), String> {
    let names: Vec<&str> = re.capture_names().flatten().collect();
    let mut refs = Vec::new();
    let mut rest = extract;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            rest = r;
            continue;
        }
        let name = if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}').ok_or("unclosed ${")?;
            let n = &r[..end];
            rest = &r[end + 1..];
            n
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let n = &rest[..end];
            rest = &rest[end..];
            n
        };
        if name.is_empty() {
            return Err("a $ names no group (write $$ for a dollar sign)".into());
        }
        refs.push(name);
    }
    if refs.is_empty() {
        return Err("it refers to no group of the pattern: write e.g. $ts for (?P<ts>...)".into());
    }
    for r in refs {
        let known = match r.parse::<usize>() {
            Ok(i) => i < re.captures_len(),
            Err(_) => names.contains(&r),
        };
        if !known {
            return Err(format!(
                "the pattern has no group {r} (groups: {})",
                if names.is_empty() {
                    "none named".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// How the tags that pass the filter are ordered to choose one.
#[derive(Clone, Debug)]
pub enum Rule {
    /// The highest version in the range; tags that are not versions are left out.
    Semver(SemverRange),
    /// Ordered as strings.
    Alphabetical(Order),
    /// Ordered as numbers; tags that are not numbers are left out.
    Numerical(Order),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Semver(r) => write!(f, "semver range {:?}", r.to_string()),
            Rule::Alphabetical(o) => write!(f, "alphabetical order {o}"),
            Rule::Numerical(o) => write!(f, "numerical order {o}"),
        }
    }
}

/// The result of a policy over a list of tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The chosen tag (as in the registry, not the extracted value).
    Latest(String),
    /// No tag qualifies; the message says what was looked for.
    NoMatch(String),
}

/// A compiled ImagePolicy: optional filter, then a rule.
#[derive(Clone, Debug)]
pub struct Policy {
    /// How the tags left are ordered.
    pub rule: Rule,
    /// Which tags take part; None: all of them.
    pub filter: Option<TagFilter>,
}

impl Policy {
    /// A policy from its parts.
    pub fn new(rule: Rule, filter: Option<TagFilter>) -> Policy {
        Policy { rule, filter }
    }

    /// From an ImagePolicy spec; says what is wrong with an invalid one.
    pub fn from_spec(spec: &ImagePolicySpec) -> Result<Policy, PolicyError> {
        let p = &spec.policy;
        let mut rules = Vec::new();
        if let Some(s) = &p.semver {
            rules.push(("semver", Rule::Semver(SemverRange::parse(&s.range)?)));
        }
        if let Some(a) = &p.alphabetical {
            rules.push((
                "alphabetical",
                Rule::Alphabetical(Order::parse(a.order.as_deref())?),
            ));
        }
        if let Some(n) = &p.numerical {
            rules.push((
                "numerical",
                Rule::Numerical(Order::parse(n.order.as_deref())?),
            ));
        }
        let rule = match rules.len() {
            0 => return Err(PolicyError::NoRule),
            1 => rules.pop().map(|(_, r)| r).ok_or(PolicyError::NoRule)?,
            _ => {
                let names: Vec<&str> = rules.iter().map(|(n, _)| *n).collect();
                return Err(PolicyError::TooManyRules(names.join(", ")));
            }
        };
        let filter = match &spec.filter_tags {
            Some(f) if !f.pattern.is_empty() => {
                Some(TagFilter::new(&f.pattern, f.extract.as_deref())?)
            }
            _ => None,
        };
        Ok(Policy { rule, filter })
    }

    /// The latest tag of `tags` by this policy.
    pub fn select<'a>(&self, tags: impl IntoIterator<Item = &'a str>) -> Selection {
        let tags: Vec<&str> = tags.into_iter().collect();
        let candidates: Vec<(&str, String)> = match &self.filter {
            Some(f) => tags
                .iter()
                .filter_map(|t| f.apply(t).map(|v| (*t, v)))
                .collect(),
            None => tags.iter().map(|t| (*t, t.to_string())).collect(),
        };
        let best = match &self.rule {
            Rule::Semver(range) => candidates
                .iter()
                .filter_map(|(t, v)| parse_version(v).map(|v| (*t, v)))
                .filter(|(_, v)| range.matches(v))
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)))
                .map(|(t, _)| t),
            Rule::Alphabetical(order) => pick(
                candidates.iter().map(|(t, v)| (*t, v.as_str())),
                *order,
                |a, b| a.cmp(b),
            ),
            Rule::Numerical(order) => pick(
                candidates
                    .iter()
                    .filter_map(|(t, v)| v.parse::<f64>().ok().map(|n| (*t, n)))
                    .filter(|(_, n)| n.is_finite()),
                *order,
                |a, b| a.total_cmp(b),
            ),
        };
        match best {
            Some(t) => Selection::Latest(t.to_string()),
            None => Selection::NoMatch(self.no_match_message(tags.len(), candidates.len())),
        }
    }

    fn no_match_message(&self, total: usize, filtered: usize) -> String {
        let what = match &self.rule {
            Rule::Semver(_) => "is a version in the range",
            Rule::Alphabetical(_) => "exists",
            Rule::Numerical(_) => "is a number",
        };
        match (&self.filter, total) {
            (_, 0) => "the repository has no tags".to_string(),
            (Some(f), _) if filtered == 0 => format!(
                "none of {total} tags matches the filter pattern {:?}",
                f.pattern()
            ),
            (Some(_), _) => format!("of {filtered} tags passing the filter, none {what}"),
            (None, _) => format!("of {total} tags, none {what}"),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.rule)?;
        if let Some(filter) = &self.filter {
            write!(f, " over tags matching {:?}", filter.pattern())?;
        }
        Ok(())
    }
}

/// A tag as a version: `1.2.3`, `v1.2.3`, with pre-release and build parts.
pub fn parse_version(tag: &str) -> Option<Version> {
    Version::parse(tag.strip_prefix(['v', 'V']).unwrap_or(tag)).ok()
}

/// The greatest (asc) or smallest (desc) key; equal keys resolve by tag, for a stable answer.
fn pick<'a, K>(
    items: impl Iterator<Item = (&'a str, K)>,
    order: Order,
    cmp: impl Fn(&K, &K) -> Ordering,
) -> Option<&'a str> {
    let by = |a: &(&str, K), b: &(&str, K)| cmp(&a.1, &b.1).then_with(|| a.0.cmp(b.0));
    match order {
        Order::Asc => items.max_by(by),
        Order::Desc => items.min_by(by),
    }
    .map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn semver(range: &str) -> Policy {
        Policy::new(Rule::Semver(SemverRange::parse(range).unwrap()), None)
    }

    fn latest(p: &Policy, tags: &[&str]) -> String {
        match p.select(tags.iter().copied()) {
            Selection::Latest(t) => t,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn semver_picks_the_highest_in_range_without_prereleases() {
        let tags = ["1.2.0", "1.3.0-rc.1", "1.10.0", "2.0.0", "latest", "0.9.0"];
        assert_eq!(latest(&semver(">=1.0.0 <2.0.0"), &tags), "1.10.0");
        assert_eq!(latest(&semver(">=1.0.0, <2.0.0"), &tags), "1.10.0");
        assert_eq!(latest(&semver(">= 1.0.0 < 2.0.0"), &tags), "1.10.0");
        // Only 1.2.0 and the rc are below 1.4: the rc is a pre-release, so 1.2.0.
        assert_eq!(latest(&semver(">=1.0.0 <1.4.0"), &tags), "1.2.0");
        // A range naming a pre-release of 1.3.0 admits pre-releases of 1.3.0.
        assert_eq!(
            latest(&semver(">=1.3.0-rc.0 <1.4.0"), &["1.2.0", "1.3.0-rc.1"]),
            "1.3.0-rc.1"
        );
        assert_eq!(latest(&semver("*"), &tags), "2.0.0");
        assert_eq!(latest(&semver("1.2.x"), &tags), "1.2.0");
        assert_eq!(
            latest(&semver("~1.2"), &["1.2.0", "1.2.7", "1.3.0"]),
            "1.2.7"
        );
        assert_eq!(latest(&semver("^1.2"), &tags), "1.10.0");
        // A bare version is exactly that version (not cargo's caret).
        assert_eq!(latest(&semver("1.2.0"), &tags), "1.2.0");
        assert_eq!(latest(&semver("1.0.0 - 1.5.0"), &tags), "1.2.0");
        assert_eq!(latest(&semver("<1.0.0 || >=2.0.0"), &tags), "2.0.0");
        assert_eq!(latest(&semver(">=1.0.0"), &["v1.1.0", "1.0.5"]), "v1.1.0");
    }

    #[test]
    fn semver_nothing_matching_is_a_result() {
        let p = semver(">=3.0.0");
        match p.select(["1.0.0", "latest"]) {
            Selection::NoMatch(m) => {
                assert!(
                    m.contains("version in the range") && m.contains("2 tags"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        match p.select([]) {
            Selection::NoMatch(m) => assert!(m.contains("no tags"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_ranges_are_errors() {
        for bad in [">=abc", "", ">= ", "!=1.0.0", "1.0.0 ||", ">= <= 1.0.0"] {
            let e = SemverRange::parse(bad).unwrap_err();
            assert!(
                matches!(e, PolicyError::InvalidRange { .. }),
                "{bad}: {e:?}"
            );
            assert!(e.to_string().contains("invalid semver range"), "{e}");
        }
    }

    #[test]
    fn numerical_and_alphabetical_orders_differ() {
        let tags = ["9", "10", "100", "2", "abc"];
        let num = |o| Policy::new(Rule::Numerical(o), None);
        let alpha = |o| Policy::new(Rule::Alphabetical(o), None);
        assert_eq!(latest(&num(Order::Asc), &tags), "100");
        assert_eq!(latest(&num(Order::Desc), &tags), "2");
        assert_eq!(latest(&alpha(Order::Asc), &tags), "abc");
        assert_eq!(latest(&alpha(Order::Desc), &tags), "10");
        assert_eq!(latest(&alpha(Order::Asc), &["9", "10", "100"]), "9");
        assert_eq!(latest(&num(Order::Asc), &["1.5", "1.25", "-3"]), "1.5");
        match num(Order::Asc).select(["abc", "NaN", "inf"]) {
            Selection::NoMatch(m) => assert!(m.contains("none is a number"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(Order::parse(None).unwrap(), Order::Asc);
        assert_eq!(Order::parse(Some("desc")).unwrap(), Order::Desc);
        assert!(Order::parse(Some("newest")).is_err());
    }

    #[test]
    fn extract_groups_decide_the_order() {
        let tags = [
            "main-abc1234-1700000009",
            "main-def5678-1700000100",
            "main-0000000-900",
            "feature-x-1800000000",
            "1.0.0",
        ];
        let filter = TagFilter::new(r"^main-[a-f0-9]+-(?P<ts>\d+)$", Some("$ts")).unwrap();
        let num = Policy::new(Rule::Numerical(Order::Asc), Some(filter.clone()));
        assert_eq!(latest(&num, &tags), "main-def5678-1700000100");
        // Alphabetically "900" > "1700000100".
        let alpha = Policy::new(Rule::Alphabetical(Order::Asc), Some(filter.clone()));
        assert_eq!(latest(&alpha, &tags), "main-0000000-900");
        // Semver over an extracted part.
        let f = TagFilter::new(r"^app-(?P<version>.*)$", Some("${version}")).unwrap();
        let p = Policy::new(Rule::Semver(SemverRange::parse("^1").unwrap()), Some(f));
        assert_eq!(
            latest(&p, &["app-1.2.0", "app-1.9.1", "1.99.0"]),
            "app-1.9.1"
        );
        // No extract: the whole tag is compared.
        let f = TagFilter::new(r"^\d+$", None).unwrap();
        let p = Policy::new(Rule::Numerical(Order::Asc), Some(f));
        assert_eq!(latest(&p, &["12", "3", "x1", "1.0.0"]), "12");
    }

    #[test]
    fn filter_nothing_matching_says_so() {
        let f = TagFilter::new(r"^release-(?P<n>\d+)$", Some("$n")).unwrap();
        let p = Policy::new(Rule::Numerical(Order::Asc), Some(f));
        match p.select(["1.0.0", "main-1"]) {
            Selection::NoMatch(m) => assert!(m.contains("filter pattern"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_patterns_and_extracts_are_errors() {
        assert!(matches!(
            TagFilter::new("^(unclosed", None),
            Err(PolicyError::InvalidPattern { .. })
        ));
        let e = TagFilter::new(r"^(?P<ts>\d+)$", Some("$tss")).unwrap_err();
        assert!(matches!(e, PolicyError::InvalidExtract { .. }), "{e:?}");
        assert!(e.to_string().contains("no group tss"), "{e}");
        assert!(TagFilter::new(r"^(?P<ts>\d+)$", Some("ts")).is_err());
        assert!(TagFilter::new(r"^(\d+)$", Some("$1")).is_ok());
        assert!(TagFilter::new(r"^(\d+)$", Some("$2")).is_err());
        assert!(TagFilter::new(r"^(?P<a>\d+)-(?P<b>\d+)$", Some("${a}.${b}")).is_ok());
    }
}
