//! The one error type of this crate.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::FileType;

/// A path as messages show it: debug-escaped and quoted, so that a line
/// break or a control character in it cannot break the message.
pub(crate) struct Quoted<'a>(pub(crate) &'a Path);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// What a file of the wrong type is, for messages: a directory gets its
/// own wording ("where a file should be").
fn wrong_type(kind: &FileType) -> &'static str {
    match kind {
        FileType::Directory => "a file",
        _ => "a regular file",
    }
}

/// What can go wrong reading or writing under a root. Every message is
/// one line and names the path (debug-quoted, so control characters show
/// escaped) and, for system calls, the system's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error("cannot {action} {}: {err}", Quoted(path))]
    Io {
        /// What was tried (`open`, `read`, `create directory`, …).
        action: &'static str,
        /// The path it was tried on.
        path: PathBuf,
        /// The system's error.
        err: io::Error,
    },
    /// Writing a destination's new content to its temp file failed.
    #[error("writing {}: cannot {action} {}: {err}", Quoted(dest), Quoted(temp))]
    Stage {
        /// The destination.
        dest: PathBuf,
        /// The temp file beside it.
        temp: PathBuf,
        /// What was tried (`create`, `write`).
        action: &'static str,
        /// The system's error.
        err: io::Error,
    },
    /// A path that does not name a file below the root.
    #[error("invalid path {} below the root: {reason}", Quoted(path))]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The root is not a directory.
    #[error("root {} is not a directory", Quoted(path))]
    RootNotADirectory {
        /// The root.
        path: PathBuf,
    },
    /// Something other than a regular file where one is needed.
    #[error("{} is {} where {} should be", Quoted(path), kind.describe(), wrong_type(kind))]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: FileType,
    },
    /// Something other than a directory where a directory is needed.
    #[error("{} exists and is not a directory", Quoted(path))]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A directory on the way to a written file is a symbolic link.
    #[error(
        "{} is a symbolic link (to {}); refusing to write through it: every directory on the way to a written file must be a real directory",
        Quoted(path),
        Quoted(target)
    )]
    SymlinkedDirectory {
        /// The link.
        path: PathBuf,
        /// Its target, as written in the link.
        target: PathBuf,
    },
    /// A destination is a symbolic link and following links was not asked for.
    #[error(
        "{} is a symbolic link (to {}); refusing to replace it",
        Quoted(path),
        Quoted(target)
    )]
    Symlink {
        /// The link.
        path: PathBuf,
        /// Its target, as written in the link.
        target: PathBuf,
    },
    /// A followed symbolic link whose target cannot be resolved inside the root.
    #[error(
        "{} is a symbolic link whose target {} cannot be resolved inside the root: {reason}",
        Quoted(link),
        Quoted(target)
    )]
    LinkTarget {
        /// The link.
        link: PathBuf,
        /// Its target, below the root.
        target: PathBuf,
        /// Why.
        reason: String,
    },
    /// A followed symbolic link that leads to something other than a regular file.
    #[error(
        "{} points to {}, which is {}, not a regular file",
        Quoted(link),
        Quoted(target),
        kind.describe()
    )]
    LinkNotRegular {
        /// The link.
        link: PathBuf,
        /// What it leads to, below the root.
        target: PathBuf,
        /// What that is.
        kind: FileType,
    },
    /// Too many symbolic links in a row.
    #[error(
        "{} is a symbolic link with more than {} levels of indirection",
        Quoted(link),
        crate::resolve::MAX_LINKS
    )]
    LinkLoop {
        /// The first link.
        link: PathBuf,
    },
    /// A file on a kernel pseudo file system (procfs, sysfs, …), whose
    /// "files" may block, never end or change state when read.
    #[error(
        "{} is on {fs}, a kernel file system, not a regular one; refusing to use it",
        Quoted(path)
    )]
    PseudoFileSystem {
        /// The path.
        path: PathBuf,
        /// The file system's name.
        fs: &'static str,
    },
    /// A file larger than one file may be.
    #[error("{} is larger than the {limit} bytes a file may have", Quoted(path))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Reading a file would exceed the bytes a run may read.
    #[error(
        "reading {} would take this run past the {limit} bytes it may read in all",
        Quoted(path)
    )]
    TotalBytes {
        /// The file that would exceed it.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Reading a file would exceed the number of files a run may read.
    #[error(
        "reading {} would take this run past the {limit} files and directories it may read",
        Quoted(path)
    )]
    TotalFiles {
        /// The file that would exceed it.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The run's reads took longer than allowed.
    #[error(
        "reading {}: this run's reads took longer than the {} seconds allowed",
        Quoted(path),
        limit.as_secs_f64()
    )]
    TimeLimit {
        /// The file being read.
        path: PathBuf,
        /// The limit.
        limit: Duration,
    },
    /// A directory with more entries than a directory may have.
    #[error(
        "{} has more than the {limit} entries a directory may have",
        Quoted(path)
    )]
    TooManyEntries {
        /// The directory.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// Two destinations in directories that are one directory under two names.
    #[error(
        "{} and {} are the same directory (a bind mount?); refusing to write into one directory under two names",
        Quoted(first),
        Quoted(second)
    )]
    AliasedDirectory {
        /// The directory met first.
        first: PathBuf,
        /// The other name of it.
        second: PathBuf,
    },
    /// Two destinations that lead to the same file.
    #[error(
        "{} and {} lead to the same file; refusing to write it twice",
        Quoted(first),
        Quoted(second)
    )]
    SameFile {
        /// The destination met first.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A file or directory replaced by another one while the run used it.
    #[error("{} was replaced while this run was using it; stopping", Quoted(path))]
    Changed {
        /// The directory.
        path: PathBuf,
    },
    /// Standard input named for two inputs of one run.
    #[error(
        "{} is read once per run: `-` names it for more than one input",
        Quoted(path)
    )]
    StdinTwice {
        /// How it is named (`standard input`).
        path: PathBuf,
    },
    /// Bad write options.
    #[error("invalid temp-file tag {tag:?}: expected lowercase letters, digits and '-'")]
    InvalidTag {
        /// The tag.
        tag: String,
    },
}

impl Error {
    /// The system's error behind this one, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io { err, .. } | Error::Stage { err, .. } => Some(err),
            _ => None,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        err: impl Into<io::Error>,
    ) -> Error {
        Error::Io {
            action,
            path: path.into(),
            err: err.into(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
