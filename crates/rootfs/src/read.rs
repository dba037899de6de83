//! Bounded reads: of files under a root, of a file named by a plain path,
//! of standard input.

use std::fs::File;
use std::io::{self, IsTerminal as _, Read as _};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::sys::{self, FileType};

/// The flags a file is opened with for reading: a FIFO or a device that
/// slipped through cannot block the open, a terminal cannot become ours.
pub(crate) const READ_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);

/// Reads the regular file an `O_PATH` descriptor refers to, checked and
/// bounded: anything but a regular file, or a file on a kernel pseudo file
/// system, is refused before it is opened for reading (so opening it has
/// no side effect); the budget is checked before and while reading.
/// `reresolve` opens the file again by name with [`READ_FLAGS`] where
/// `/proc` is missing; its result must be the same file. `pseudo` refuses
/// a file on a kernel file system, given its descriptor and device.
pub(crate) fn read_opath(
    opath: &OwnedFd,
    shown: &Path,
    budget: &Budget,
    reresolve: impl FnOnce() -> io::Result<OwnedFd>,
    pseudo: impl FnOnce(BorrowedFd<'_>, u64) -> Result<()>,
) -> Result<Vec<u8>> {
    let st = rustix::fs::fstat(opath).map_err(|e| Error::io("inspect", shown, e))?;
    let kind = FileType::of(&st);
    if kind != FileType::Regular {
        return Err(Error::NotRegular {
            path: shown.to_path_buf(),
            kind,
        });
    }
    pseudo(opath.as_fd(), st.st_dev)?;
    budget.check_size(shown, sys::size(&st))?;
    let fd =
        match sys::reopen(opath.as_fd(), READ_FLAGS).map_err(|e| Error::io("open", shown, e))? {
            Some(fd) => fd,
            None => {
                let fd = reresolve().map_err(|e| Error::io("open", shown, e))?;
                let again = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", shown, e))?;
                if sys::identity(&again) != sys::identity(&st) {
                    return Err(Error::Changed {
                        path: shown.to_path_buf(),
                    });
                }
                fd
            }
        };
    read_bounded(fd, shown, budget, Some(sys::size(&st)), false)
}

/// Refuses a descriptor on a kernel pseudo file system.
pub(crate) fn refuse_pseudo(fd: BorrowedFd<'_>, shown: &Path) -> Result<()> {
    match sys::pseudo_file_system(fd).map_err(|e| Error::io("inspect", shown, e))? {
        Some(fs) => Err(Error::PseudoFileSystem {
            path: shown.to_path_buf(),
            fs,
        }),
        None => Ok(()),
    }
}

/// Reads `fd` to its end within the budget. With `wait`, every read first
/// waits (at most the time left) for data, so a pipe nobody writes to
/// fails when the time is up instead of blocking forever.
fn read_bounded(
    fd: OwnedFd,
    shown: &Path,
    budget: &Budget,
    size: Option<u64>,
    wait: bool,
) -> Result<Vec<u8>> {
    let cap = budget.limits().file_bytes;
    let expect = size.unwrap_or(0).min(cap).saturating_add(1);
    let mut out = Vec::with_capacity(usize::try_from(expect).unwrap_or(0));
    let mut file = File::from(fd);
    if !wait {
        // A regular file: read straight into the buffer sized for it, at
        // most one byte past the limit (which shows it is too large), and
        // charged once. `read_to_end` retries an interrupted read.
        (&mut file)
            .take(cap.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| Error::io("read", shown, e))?;
        let n = u64::try_from(out.len()).unwrap_or(u64::MAX);
        budget.charge(shown, n, n)?;
        return Ok(out);
    }
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if wait {
            wait_readable(file.as_fd(), shown, budget)?;
        }
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A non-blocking pipe with nothing yet: wait for it.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && wait => continue,
            Err(e) => return Err(Error::io("read", shown, e)),
        };
        if n == 0 {
            return Ok(out);
        }
        let so_far = u64::try_from(out.len().saturating_add(n)).unwrap_or(u64::MAX);
        budget.charge(shown, u64::try_from(n).unwrap_or(u64::MAX), so_far)?;
        out.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Waits until `fd` has data (or its end), at most the time left.
fn wait_readable(fd: BorrowedFd<'_>, shown: &Path, budget: &Budget) -> Result<()> {
    loop {
        let left = budget.time_left(shown)?;
        let timeout = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(Errno::INTR) => {}
            Ok(_) => return Ok(()),
            Err(e) => return Err(Error::io("wait for", shown, e)),
        }
    }
}

/// Reads the file at `path` (a plain path, not under any root; symbolic
/// links are followed as the system follows them) with the same checks
/// and limits as [`crate::Root::read_file`]: a regular file on a regular
/// file system only, no more bytes than the budget allows.
pub fn read_path(path: impl AsRef<Path>, budget: &Budget) -> Result<Vec<u8>> {
    let path = path.as_ref();
    budget.time_left(path)?;
    let opath = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::io("open", path, e))?;
    budget.start_file(path)?;
    read_opath(
        &opath,
        path,
        budget,
        || Ok(rustix::fs::open(path, READ_FLAGS, Mode::empty())?),
        |fd, _| refuse_pseudo(fd, path),
    )
}

/// Reads standard input to its end, bounded like [`read_path`]: a regular
/// file (not on a kernel file system), a pipe, a socket or a terminal;
/// anything else (a device redirected in) is refused. Every read waits at
/// most the time the budget has left, so a pipe that never ends fails
/// instead of hanging. `name` names it in errors (`standard input`). A
/// run reads it once: a second call with the same budget is an error.
pub fn read_stdin(name: &str, budget: &Budget) -> Result<Vec<u8>> {
    budget.take_stdin(Path::new(name))?;
    read_fd(io::stdin().as_fd(), Path::new(name), budget)
}

/// A file named on a command line: `-` is standard input (read as by
/// [`read_stdin`]), anything else a path (as by [`read_path`]). Returns
/// the name to show (`standard input`, or the path) and the bytes.
pub fn read_named(path: impl AsRef<Path>, budget: &Budget) -> Result<(String, Vec<u8>)> {
    let path = path.as_ref();
    if path == Path::new("-") {
        let name = "standard input";
        Ok((name.to_owned(), read_stdin(name, budget)?))
    } else {
        Ok((path.display().to_string(), read_path(path, budget)?))
    }
}

/// [`read_stdin`] for any descriptor; `shown` names it in errors.
pub fn read_fd(fd: BorrowedFd<'_>, shown: &Path, budget: &Budget) -> Result<Vec<u8>> {
    budget.start_file(shown)?;
    let st = rustix::fs::fstat(fd).map_err(|e| Error::io("inspect", shown, e))?;
    let kind = FileType::of(&st);
    let stream = match kind {
        FileType::Regular => {
            refuse_pseudo(fd, shown)?;
            budget.check_size(shown, sys::size(&st))?;
            false
        }
        FileType::Fifo | FileType::Socket => true,
        FileType::CharDevice if fd.is_terminal() => true,
        _ => {
            return Err(Error::NotRegular {
                path: shown.to_path_buf(),
                kind,
            });
        }
    };
    let dup = rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| Error::io("read", shown, e))?;
    read_bounded(
        dup,
        shown,
        budget,
        (!stream).then(|| sys::size(&st)),
        stream,
    )
}
