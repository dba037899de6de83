//! Standard output and standard error: a failed write is an error that
//! names the stream; a closed pipe is told apart, so that `main` can stop
//! quietly, as coreutils do.

use std::fmt;
use std::io::{self, Write};

/// The exit status of a run whose output pipe was closed: what a shell
/// reports for a process killed by SIGPIPE (128 + 13), as for coreutils.
pub(crate) const CLOSED_PIPE: u8 = 141;

/// A write to a standard stream failed.
#[derive(Debug)]
pub(crate) struct StreamError {
    stream: &'static str,
    err: io::Error,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write to {}: {}", self.stream, self.err)
    }
}

impl std::error::Error for StreamError {}

/// Whether `err` (anywhere in its chain) is a write to a closed pipe.
pub(crate) fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn named(stream: &'static str) -> impl Fn(io::Error) -> io::Error {
    move |err| io::Error::new(err.kind(), StreamError { stream, err })
}

/// A standard stream whose write errors name it.
pub(crate) struct Stream<W> {
    inner: W,
    name: &'static str,
}

impl<W: Write> Write for Stream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(named(self.name))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(named(self.name))
    }
}

/// Standard output.
pub(crate) fn stdout() -> Stream<io::StdoutLock<'static>> {
    Stream {
        inner: io::stdout().lock(),
        name: "standard output",
    }
}

/// Standard error.
pub(crate) fn stderr() -> Stream<io::StderrLock<'static>> {
    Stream {
        inner: io::stderr().lock(),
        name: "standard error",
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q`: notes, warnings and summaries are left out.
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `-q` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}
