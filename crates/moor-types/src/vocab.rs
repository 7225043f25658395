//! The words moor writes into statuses, conditions and Events, and reads from `syncOptions`, as
//! types: a typo is then a compile error instead of a status no tool recognises. Each word
//! serializes to exactly the string Argo CD (or Flux, for the image automation) writes, so the
//! wire format of the resources does not depend on these types. Status fields stay `String`s
//! (other controllers may write words moor does not know); code builds and compares them through
//! `as_str()`, and every enum also compares equal to its own string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string that is not a word of the vocabulary it was parsed as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownWord {
    /// What was expected, e.g. "operation phase".
    pub vocabulary: &'static str,
    /// The string that was not recognised.
    pub word: String,
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.vocabulary, self.word)
    }
}

impl std::error::Error for UnknownWord {}

/// Declares a closed vocabulary: a fieldless enum with `as_str`, `ALL`, `Display`, `FromStr`,
/// serde as the string, and equality with `str`/`String` both ways.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every word, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word as written in the resources.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                match s {
                    $( $word => Ok($name::$variant), )+
                    _ => Err(UnknownWord { vocabulary: $what, word: s.to_string() }),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }
        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.as_str()
            }
        }
        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }
    };
}

vocabulary! {
    /// Health of one object or of a whole app (Argo CD's words), ordered from best to worst so
    /// that an app is as healthy as its least healthy object.
    #[derive(PartialOrd, Ord)]
    HealthStatus("health status") {
        /// Running as desired.
        Healthy = "Healthy",
        /// Paused on purpose (a suspended CronJob, a paused Deployment).
        Suspended = "Suspended",
        /// Not there yet: rolling out, starting, waiting.
        Progressing = "Progressing",
        /// Desired but absent from the cluster.
        Missing = "Missing",
        /// Failed or failing.
        Degraded = "Degraded",
        /// Not assessed (no rule, or the comparison failed).
        Unknown = "Unknown",
    }
}

vocabulary! {
    /// Whether the live objects match Git (Argo CD's words), for an app or one object.
    SyncStatus("sync status") {
        /// Every object matches Git.
        Synced = "Synced",
        /// Drifted, missing, or still to be pruned.
        OutOfSync = "OutOfSync",
        /// Not compared (the source or destination failed).
        Unknown = "Unknown",
    }
}

vocabulary! {
    /// Phase of an operation (a sync or rollback) in `status.operationState.phase`, as Argo CD
    /// names them, so tools that wait on Argo CD operations read moor's the same way.
    OperationPhase("operation phase") {
        /// Started and not finished; a new operation is refused meanwhile.
        Running = "Running",
        /// Argo CD's phase of an operation being cancelled; moor never writes it.
        Terminating = "Terminating",
        /// Finished, every object applied.
        Succeeded = "Succeeded",
        /// Finished, the sync itself failed (apply, validation, prune, wait).
        Failed = "Failed",
        /// Argo CD's phase of an operation that could not run at all; moor treats it as Failed.
        Error = "Error",
    }
}

impl OperationPhase {
    /// Whether the operation has finished, successfully or not.
    pub const fn is_completed(self) -> bool {
        matches!(
            self,
            OperationPhase::Succeeded | OperationPhase::Failed | OperationPhase::Error
        )
    }
}

vocabulary! {
    /// `type` of a condition moor writes: Argo CD's names on an Application's
    /// `status.conditions` (each says why the app is not plainly Synced), Flux's `Ready` on the
    /// image automation resources.
    ConditionType("condition type") {
        /// The source, destination or render failed: nothing compared or applied.
        ComparisonError = "ComparisonError",
        /// The destination is unusable, a health rule does not compile, the app's project
        /// does not permit its repository, destination or objects, or the spec has a field moor
        /// does not implement that would change what is applied (the message names it).
        InvalidSpecError = "InvalidSpecError",
        /// A setting was replaced by a usable one (e.g. a poll interval under the minimum), a
        /// sync option (the app's or an object's) is unknown and ignored, or a spec field moor
        /// does not implement changes nothing applied (`spec.info`); the message names it.
        InvalidSpecWarning = "InvalidSpecWarning",
        /// The last sync failed.
        SyncError = "SyncError",
        /// Automated without self-heal: drift stays until a sync is asked for.
        OutOfSync = "OutOfSync",
        /// A `dependsOn` app is missing, or not yet Synced and Healthy.
        WaitingForDependencies = "WaitingForDependencies",
        /// `dependsOn` forms a cycle: the app never syncs until it is broken.
        DependencyCycle = "DependencyCycle",
        /// `spec.suspend` (Flux's field): nothing fetched, synced or healed until it is resumed.
        Suspended = "Suspended",
        /// Flux's single condition on ImageRepository, ImagePolicy and ImageUpdateAutomation.
        Ready = "Ready",
    }
}

vocabulary! {
    /// `reason` of a Kubernetes Event moor records on an Application (`kubectl describe`).
    EventReason("event reason") {
        /// A sync began (its note says why: requested, new revision, retry, self-heal).
        SyncStarted = "SyncStarted",
        /// A sync applied everything.
        SyncSucceeded = "SyncSucceeded",
        /// A sync failed (its note has the error).
        SyncFailed = "SyncFailed",
        /// The app's aggregated health changed.
        HealthChanged = "HealthChanged",
        /// Deleting the app's objects (the finalizer) failed; retried.
        DeleteFailed = "DeleteFailed",
        /// The app was deleted but its project no longer admits it: its objects are kept.
        DeleteSkipped = "DeleteSkipped",
    }
}

vocabulary! {
    /// `reason` of the `Ready` condition of ImageRepository, ImagePolicy and
    /// ImageUpdateAutomation (Flux's names where Flux has one), so scripts can tell failures apart.
    ConditionReason("condition reason") {
        /// Ready is True: scanned, resolved, or pushed (or nothing to push).
        Succeeded = "Succeeded",
        /// The registry could not be reached (network, DNS, TLS, timeout).
        RegistryUnavailable = "RegistryUnavailable",
        /// The registry or its token service refused the credentials (or anonymous access).
        AuthenticationFailed = "AuthenticationFailed",
        /// The registry has no such repository (or hides it from these credentials).
        RepositoryNotFound = "RepositoryNotFound",
        /// The registry answered something unexpected.
        RegistryError = "RegistryError",
        /// spec.image (or a chosen image) is not a valid image reference.
        InvalidImage = "InvalidImage",
        /// spec.secretRef is missing, unreadable, or not a usable credential.
        InvalidSecret = "InvalidSecret",
        /// spec.interval or spec.exclusionList is invalid.
        InvalidSpec = "InvalidSpec",
        /// The ImagePolicy's rule is invalid (semver range, pattern, extract).
        InvalidPolicy = "InvalidPolicy",
        /// The policy's ImageRepository is missing or has no scan result yet.
        DependencyNotReady = "DependencyNotReady",
        /// No scanned tag satisfies the policy.
        NoMatchingTag = "NoMatchingTag",
        /// An automation could not list the ImagePolicies of its namespace.
        PolicyListFailed = "PolicyListFailed",
        /// An automation's clone, commit or push failed.
        GitOperationFailed = "GitOperationFailed",
    }
}

vocabulary! {
    /// How a prune deletes an object's dependents (`PrunePropagationPolicy=`), Kubernetes'
    /// cascading deletion policies as Argo CD spells them.
    PropagationPolicy("prune propagation policy") {
        /// The object goes once its dependents are deleted (Argo CD's default).
        Foreground = "foreground",
        /// The object goes at once, the garbage collector deletes its dependents after
        /// (moor's default when no policy is given).
        Background = "background",
        /// Only the object goes: its dependents stay, without an owner.
        Orphan = "orphan",
    }
}

/// One Argo CD sync option, `Key=value`, from an Application's `syncPolicy.syncOptions` or an
/// object's `argocd.argoproj.io/sync-options` (or `moor.dev/sync-options`). Known ones are
/// matched exactly as Argo CD writes (and compares) them; anything else is kept verbatim in
/// `Unknown`, so it round-trips unchanged and can be warned about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SyncOption {
    /// `CreateNamespace=true`: the controller creates the destination namespace (untracked).
    CreateNamespace(bool),
    /// `Prune=false` (object or app): never prune, like `moor.dev/prune: "false"`; an object's
    /// own option overrides the app's.
    Prune(bool),
    /// `Delete=false` (object or app): kept when the app is deleted; a prune still deletes it.
    Delete(bool),
    /// `PruneLast=true` (object or app): pruned after every other object is applied and healthy.
    PruneLast(bool),
    /// `PrunePropagationPolicy=foreground|background|orphan` (app): how prunes cascade.
    PrunePropagationPolicy(PropagationPolicy),
    /// `Validate=false` (object or app): the API server ignores unknown fields instead of
    /// refusing them (`fieldValidation=Ignore`).
    Validate(bool),
    /// `SkipDryRunOnMissingResource=true` (object or app): a custom resource whose kind is not
    /// served yet is not dry-run; it is applied once its CRD exists.
    SkipDryRunOnMissingResource(bool),
    /// `FailOnSharedResource=true` (app): a sync fails before any write when an object belongs
    /// to another app (moor refuses those always; known so it is not "unknown").
    FailOnSharedResource(bool),
    /// `RespectIgnoreDifferences=true`: a sync writes ignored fields at their live values.
    RespectIgnoreDifferences(bool),
    /// `ServerSideApply=true`: moor always applies server-side; known so it is not "unknown".
    ServerSideApply(bool),
    /// `ApplyOutOfSyncOnly=true`: moor only ever writes drifted objects; known so it is not
    /// "unknown".
    ApplyOutOfSyncOnly(bool),
    /// `Replace=true`: replace (or create) instead of apply.
    Replace(bool),
    /// `Force=true`: delete and recreate (with `Replace=true`).
    Force(bool),
    /// An option moor does not interpret, exactly as written.
    Unknown(String),
}

impl SyncOption {
    /// Parses one option; never fails (unrecognised text becomes `Unknown`). No trimming: a
    /// list's separators are the caller's business (see [`SyncOption::split`]).
    pub fn parse(s: &str) -> SyncOption {
        use SyncOption::*;
        let Some((key, value)) = s.split_once('=') else {
            return Unknown(s.to_string());
        };
        if key == "PrunePropagationPolicy" {
            return match value.parse() {
                Ok(p) => PrunePropagationPolicy(p),
                Err(_) => Unknown(s.to_string()),
            };
        }
        let flag = match value {
            "true" => true,
            "false" => false,
            _ => return Unknown(s.to_string()),
        };
        let make: fn(bool) -> SyncOption = match key {
            "CreateNamespace" => CreateNamespace,
            "Prune" => Prune,
            "Delete" => Delete,
            "PruneLast" => PruneLast,
            "Validate" => Validate,
            "SkipDryRunOnMissingResource" => SkipDryRunOnMissingResource,
            "FailOnSharedResource" => FailOnSharedResource,
            "RespectIgnoreDifferences" => RespectIgnoreDifferences,
            "ServerSideApply" => ServerSideApply,
            "ApplyOutOfSyncOnly" => ApplyOutOfSyncOnly,
            "Replace" => Replace,
            "Force" => Force,
            _ => return Unknown(s.to_string()),
        };
        make(flag)
    }

    /// The options of a comma-separated list (the per-object annotation), each trimmed; empty
    /// items (a trailing comma) are skipped.
    pub fn split(list: &str) -> impl Iterator<Item = SyncOption> + '_ {
        list.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(SyncOption::parse)
    }

    /// The option as written, `Key=value`.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        use SyncOption::*;
        let (key, flag) = match self {
            CreateNamespace(b) => ("CreateNamespace", *b),
            Prune(b) => ("Prune", *b),
            Delete(b) => ("Delete", *b),
            PruneLast(b) => ("PruneLast", *b),
            Validate(b) => ("Validate", *b),
            SkipDryRunOnMissingResource(b) => ("SkipDryRunOnMissingResource", *b),
            FailOnSharedResource(b) => ("FailOnSharedResource", *b),
            RespectIgnoreDifferences(b) => ("RespectIgnoreDifferences", *b),
            ServerSideApply(b) => ("ServerSideApply", *b),
            ApplyOutOfSyncOnly(b) => ("ApplyOutOfSyncOnly", *b),
            Replace(b) => ("Replace", *b),
            Force(b) => ("Force", *b),
            PrunePropagationPolicy(p) => {
                return format!("PrunePropagationPolicy={p}").into();
            }
            Unknown(s) => return s.as_str().into(),
        };
        format!("{key}={flag}").into()
    }

    /// The value of a yes/no option if `self` is that option (`which` names it by its
    /// constructor, e.g. `SyncOption::PruneLast`).
    pub fn flag(&self, which: fn(bool) -> SyncOption) -> Option<bool> {
        [true, false].into_iter().find(|b| which(*b) == *self)
    }
}

impl fmt::Display for SyncOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl FromStr for SyncOption {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SyncOption::parse(s))
    }
}

impl Serialize for SyncOption {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for SyncOption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(SyncOption::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + fmt::Display + FromStr + PartialEq + fmt::Debug + Serialize,
        T: for<'de> Deserialize<'de>,
        <T as FromStr>::Err: fmt::Debug,
    {
        for w in all {
            let s = w.to_string();
            assert_eq!(s.parse::<T>().unwrap(), *w);
            let json = serde_json::to_value(w).unwrap();
            assert_eq!(json, serde_json::Value::String(s.clone()));
            assert_eq!(serde_json::from_value::<T>(json).unwrap(), *w);
        }
    }

    #[test]
    fn every_word_round_trips_through_its_string() {
        round_trips(HealthStatus::ALL);
        round_trips(SyncStatus::ALL);
        round_trips(OperationPhase::ALL);
        round_trips(ConditionType::ALL);
        round_trips(EventReason::ALL);
        round_trips(ConditionReason::ALL);
        round_trips(PropagationPolicy::ALL);
    }

    #[test]
    fn every_argo_cd_sync_option_moor_knows_parses_and_round_trips() {
        use SyncOption::*;
        let known = [
            ("Delete=false", Delete(false)),
            ("PruneLast=true", PruneLast(true)),
            ("Validate=false", Validate(false)),
            (
                "SkipDryRunOnMissingResource=true",
                SkipDryRunOnMissingResource(true),
            ),
            ("FailOnSharedResource=true", FailOnSharedResource(true)),
            ("ApplyOutOfSyncOnly=true", ApplyOutOfSyncOnly(true)),
            ("Replace=true", Replace(true)),
            ("Force=true", Force(true)),
            (
                "PrunePropagationPolicy=orphan",
                PrunePropagationPolicy(PropagationPolicy::Orphan),
            ),
            (
                "PrunePropagationPolicy=foreground",
                PrunePropagationPolicy(PropagationPolicy::Foreground),
            ),
        ];
        for (s, o) in known {
            assert_eq!(SyncOption::parse(s), o, "{s}");
            assert_eq!(o.to_string(), s);
        }
        for s in [
            "PrunePropagationPolicy=Orphan",
            "PrunePropagationPolicy=true",
            "Delete=confirm",
            "Validate",
        ] {
            assert_eq!(SyncOption::parse(s), Unknown(s.into()), "{s}");
        }
        assert_eq!(PruneLast(true).flag(PruneLast), Some(true));
        assert_eq!(Delete(false).flag(Delete), Some(false));
        assert_eq!(Delete(false).flag(Prune), None);
    }

    #[test]
    fn words_are_the_strings_in_the_resources() {
        assert_eq!(OperationPhase::Succeeded.as_str(), "Succeeded");
        assert_eq!(ConditionType::ComparisonError.as_str(), "ComparisonError");
        assert_eq!(EventReason::SyncStarted.to_string(), "SyncStarted");
        assert_eq!(ConditionReason::NoMatchingTag.as_str(), "NoMatchingTag");
        assert!(OperationPhase::Running == "Running");
        let stored = String::from("Failed");
        assert!(stored == OperationPhase::Failed);
        assert!("Error" != OperationPhase::Failed);
    }

    #[test]
    fn unknown_words_are_refused_not_guessed() {
        let e = "running".parse::<OperationPhase>().unwrap_err();
        assert_eq!(e.to_string(), "unknown operation phase \"running\"");
        assert!("".parse::<ConditionType>().is_err());
        assert!(serde_json::from_str::<EventReason>("\"Synced\"").is_err());
    }

    #[test]
    fn completed_phases() {
        let done: Vec<bool> = OperationPhase::ALL
            .iter()
            .map(|p| p.is_completed())
            .collect();
        assert_eq!(done, [false, false, true, true, true]);
    }

    #[test]
    fn sync_options_parse_as_argo_cd_writes_them() {
        use SyncOption::*;
        assert_eq!(
            SyncOption::parse("CreateNamespace=true"),
            CreateNamespace(true)
        );
        assert_eq!(SyncOption::parse("Prune=false"), Prune(false));
        assert_eq!(
            SyncOption::parse("RespectIgnoreDifferences=true"),
            RespectIgnoreDifferences(true)
        );
        assert_eq!(
            SyncOption::parse("ServerSideApply=false"),
            ServerSideApply(false)
        );
        // Argo CD compares options exactly: other spellings are not the option.
        for s in [
            "createNamespace=true",
            "CreateNamespace=True",
            " Prune=false",
            "Prune",
        ] {
            assert_eq!(SyncOption::parse(s), Unknown(s.into()), "{s}");
        }
        for s in [
            "CreateNamespace=true",
            "Prune=false",
            "Replace=true",
            "PruneLast=true",
            "x",
        ] {
            assert_eq!(SyncOption::parse(s).as_str(), s);
            assert_eq!(s.parse::<SyncOption>().unwrap().to_string(), s);
            let json = serde_json::to_value(SyncOption::parse(s)).unwrap();
            assert_eq!(
                serde_json::from_value::<SyncOption>(json).unwrap(),
                SyncOption::parse(s)
            );
        }
    }

    #[test]
    fn unknown_sync_options_are_kept() {
        let opts: Vec<SyncOption> =
            SyncOption::split("ServerSideApply=true, Prune=confirm,Prune=false,").collect();
        assert_eq!(
            opts,
            [
                SyncOption::ServerSideApply(true),
                SyncOption::Unknown("Prune=confirm".into()),
                SyncOption::Prune(false),
            ]
        );
        let opts: Vec<SyncOption> =
            serde_json::from_str(r#"["PrunePropagationPolicy=foreground","CreateNamespace=true"]"#)
                .unwrap();
        assert_eq!(
            serde_json::to_string(&opts).unwrap(),
            r#"["PrunePropagationPolicy=foreground","CreateNamespace=true"]"#
        );
    }
}
