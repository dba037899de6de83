//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while asking the oracle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The oracle root could not be built or does not run systemd.
    #[error("the systemd 257 oracle is not available: {0}")]
    Unavailable(String),
    /// The oracle script could not be started.
    #[error("cannot run {script}: {source}")]
    Spawn {
        /// The script.
        script: PathBuf,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// A path of a [`Tree`](crate::Tree) cannot be staged as given.
    #[error("cannot stage {path:?}: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A unit name with characters no unit name has (it would be written
    /// into a generated unit file).
    #[error("not a unit name: {0:?}")]
    BadUnit(String),
    /// Writing the staged tree or reading the oracle's output failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// An oracle run failed: the script or systemd exited unsuccessfully.
    #[error("{what} failed ({status}): {output}")]
    Run {
        /// What was run.
        what: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        output: String,
    },
    /// The oracle's output does not have the expected shape.
    #[error("unexpected oracle output: {0}")]
    Malformed(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
