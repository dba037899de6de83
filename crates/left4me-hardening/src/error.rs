//! The one error type of this crate.

/// What can go wrong building, configuring or checking a profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value, path, instance or name was refused by the model.
    #[error(transparent)]
    Model(#[from] dropin::Error),
    /// `diff --show` was asked something it cannot answer.
    #[error("{0}")]
    Show(String),
    /// Files under the root that the reader refused (not regular, on a
    /// kernel file system, too large, over the run's budget): what systemd
    /// would read there is unknown, so no report is given.
    #[error("{}{}", .0.first().map(String::as_str).unwrap_or_default(), match .0.len() { 0 | 1 => String::new(), n => format!(" (and {} more refused)", n - 1) })]
    Refused(Vec<String>),
    /// A lint id that does not exist.
    #[error("unknown lint id {0:?}{hint}", hint = crate::suggest::hint(.0, crate::lint::LintId::ALL.iter().map(|l| l.as_str())))]
    UnknownLint(String),
    /// A profile name that does not exist.
    #[error("unknown profile {0:?} (expected server, web or sysctl){hint}", hint = crate::suggest::hint(.0, crate::ProfileKind::ALL.iter().map(|k| k.name())))]
    UnknownProfile(String),
    /// Bad input the other variants do not name (the message says what).
    #[error("{0}")]
    Input(String),
    /// An `explain` subject that is none of the known ones.
    #[error(
        "{subject:?} is neither a profile (server, web, sysctl), a lint id, a sysctl key a profile sets nor a known directive{hint}"
    )]
    UnknownSubject {
        /// What was asked.
        subject: String,
        /// ` (did you mean …?)`, or empty.
        hint: String,
    },
    /// A workload trait name that does not exist.
    #[error("unknown trait {0:?} (expected one of {names}){hint}", names = crate::Trait::names().join(", "), hint = crate::suggest::hint(.0, crate::Trait::names()))]
    UnknownTrait(String),
    /// Instances asked of a profile that is not a template.
    #[error("profile {profile} is not a template, so it has no instances (asked for {instance:?})")]
    NotATemplate {
        /// The profile.
        profile: String,
        /// The instance asked for.
        instance: String,
    },
    /// The host configuration could not be read.
    #[error("{file}: {message}")]
    Config {
        /// The configuration file.
        file: String,
        /// What is wrong, with line and column where known.
        message: String,
    },
    /// Directives the target systemd does not know.
    #[error("systemd {target} does not know: {}", .directives.join(", "))]
    TooNew {
        /// The target version.
        target: u32,
        /// Every directive (or directive=value) too new, with its version.
        directives: Vec<String>,
    },
    /// `check` cannot ask the host: not root, a command missing or failing.
    #[error("check: {0}")]
    Check(String),
    /// A generated file that could not be written or read back.
    #[error("generated file /{path}: {reason}")]
    Unwritable {
        /// Its path below the root.
        path: String,
        /// Why.
        reason: String,
    },
    /// Two generated files with one path.
    #[error(
        "two generated files would be written to /{path}: {first} and {second} (check the unit names of the host config)"
    )]
    Collision {
        /// The path, or the directory one of them needs.
        path: String,
        /// The first file, described.
        first: String,
        /// The second.
        second: String,
    },
    /// Error-level lint findings that no waiver covers.
    #[error(
        "refusing to emit profile {profile}: {} (a [[waivers]] entry of the host config with the lint id and a written reason lets a lint through)",
        .findings.join("; ")
    )]
    Lints {
        /// The profile.
        profile: String,
        /// The findings, rendered.
        findings: Vec<String>,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
