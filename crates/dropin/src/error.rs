//! The one error type of this crate.

/// Everything that can go wrong while building, composing, parsing or
/// resolving a drop-in.
///
/// Every message is one line and quotes the offending value with Rust's
/// debug escaping, so a newline or a NUL byte shows up as `\n` or `\0`
/// instead of breaking the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path is not an absolute, normalised path systemd reads as meant.
    #[error("invalid path {value:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A directive value does not parse or is out of range.
    #[error("invalid value {value:?} for {directive}=: {reason}")]
    InvalidValue {
        /// The directive the value was meant for.
        directive: String,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A directive name that the registry does not know.
    #[error("unknown directive {0:?}")]
    UnknownDirective(String),
    /// A value of the wrong type was paired with a directive.
    #[error("{directive}= takes {expected}, not {found}")]
    KindMismatch {
        /// The directive.
        directive: &'static str,
        /// What the directive takes.
        expected: &'static str,
        /// What was given.
        found: &'static str,
    },
    /// An instance name systemd would refuse, or one that would make a
    /// path unsafe once substituted for `%i`.
    #[error("invalid instance name {value:?}: {reason}")]
    InvalidInstance {
        /// The instance name as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A unit name systemd would refuse.
    #[error("invalid unit name {value:?}: {reason}")]
    InvalidUnitName {
        /// The unit name as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A sysctl key or value that sysctl.d(5) would not read as meant.
    #[error("invalid sysctl {what} {value:?}: {reason}")]
    InvalidSysctl {
        /// `key` or `value`.
        what: &'static str,
        /// The text as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A line of a unit file or drop-in that cannot be read.
    #[error("{file}:{line}: {message}")]
    Parse {
        /// The file name (as given by the caller).
        file: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A unit `systemd-analyze security` would not score: not loaded, not
    /// a service, or refused by systemd for one of its settings. The
    /// reason is systemd's message where it has one.
    #[error("{unit}: {reason}")]
    Unscorable {
        /// The unit.
        unit: String,
        /// Why.
        reason: String,
    },
    /// A directive that the requested systemd version does not know.
    #[error("{directive}{} needs systemd {since}, but the target is systemd {target}", equals_unless_valued(.directive))]
    TooNew {
        /// The directive (and value, where the value is the newer part).
        directive: String,
        /// The version that introduced it.
        since: u32,
        /// The version asked for.
        target: u32,
    },
}

/// `=` after a directive name, nothing after a `Name=value` entry.
fn equals_unless_valued(directive: &str) -> &'static str {
    if directive.contains('=') { "" } else { "=" }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn value(directive: &str, value: &str, reason: impl Into<String>) -> Self {
        Error::InvalidValue {
            directive: directive.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn path(value: &str, reason: impl Into<String>) -> Self {
        Error::InvalidPath {
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}
