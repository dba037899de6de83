//! Path resolution under a root, two ways: inside the root (reads: links
//! followed, but absolute targets start at the root and `..` stops there,
//! as systemd resolves `--root` paths), and beneath it without any link
//! (writes: one real directory after another).
//!
//! The kernel does either in one call (`openat2` with `RESOLVE_IN_ROOT` or
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`) since Linux 5.6; where it
//! cannot (an older kernel, a seccomp filter refusing the call), the same
//! rules are applied component by component here.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::sys::{self, FileType};

/// The most symbolic links one resolution follows, as Linux's own lookup.
pub(crate) const MAX_LINKS: usize = 40;

/// How paths are resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolver {
    /// By the kernel (`openat2`) where it can, else [`Resolver::Userspace`].
    #[default]
    Kernel,
    /// Component by component with `openat(…, O_NOFOLLOW)`, following the
    /// same rules; what runs on kernels without `openat2`.
    Userspace,
}

/// Set once `openat2` turned out to be missing or filtered.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

fn kernel(r: Resolver) -> bool {
    r == Resolver::Kernel && !NO_OPENAT2.load(Ordering::Relaxed)
}

/// `openat2`, or `None` when the kernel cannot (then remembered).
fn openat2(
    dir: BorrowedFd<'_>,
    path: &OsStr,
    flags: OFlags,
    resolve: ResolveFlags,
) -> Option<io::Result<OwnedFd>> {
    // EAGAIN: a concurrent rename raced a `..`; the kernel asks to retry.
    for _ in 0..8 {
        match rustix::fs::openat2(dir, path, flags, Mode::empty(), resolve) {
            Ok(fd) => return Some(Ok(fd)),
            Err(Errno::AGAIN) => {}
            Err(Errno::NOSYS | Errno::PERM) => {
                NO_OPENAT2.store(true, Ordering::Relaxed);
                return None;
            }
            Err(e) => return Some(Err(e.into())),
        }
    }
    None
}

/// The components of a path, as bytes, empty ones dropped.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|b| *b == b'/').filter(|c| !c.is_empty())
}

/// Opens `path` below `root` with `flags`, symbolic links resolved inside
/// the root: an absolute target starts again at the root, `..` never
/// climbs above it, magic links (`/proc/PID/fd/N`) are not followed. The
/// last component is followed too unless `follow_last` is false. `path`
/// is relative to the root; a leading `/` means the same.
pub(crate) fn in_root(
    root: BorrowedFd<'_>,
    path: &OsStr,
    flags: OFlags,
    follow_last: bool,
    r: Resolver,
) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::CLOEXEC;
    let rel = path.as_bytes();
    if components(rel).next().is_none() {
        return Ok(rustix::fs::openat(root, ".", flags, Mode::empty())?);
    }
    if kernel(r) {
        let flags = if follow_last {
            flags
        } else {
            flags | OFlags::NOFOLLOW
        };
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        if let Some(result) = openat2(root, path, flags, resolve) {
            return result;
        }
    }
    userspace_in_root(root, rel, flags, follow_last)
}

/// [`in_root`] without the kernel's help.
fn userspace_in_root(
    root: BorrowedFd<'_>,
    rel: &[u8],
    flags: OFlags,
    follow_last: bool,
) -> io::Result<OwnedFd> {
    // The directories walked below the root; `..` pops, an absolute link
    // target clears.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut todo: VecDeque<Vec<u8>> = components(rel).map(<[u8]>::to_vec).collect();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == b"." {
            continue;
        }
        if c == b".." {
            stack.pop();
            continue;
        }
        let cur = stack.last().map_or(root, |f| f.as_fd());
        let name = OsStr::from_bytes(&c);
        let fd = rustix::fs::openat(
            cur,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = rustix::fs::fstat(&fd)?;
        let last = todo.is_empty();
        match FileType::of(&st) {
            FileType::Symlink if !last || follow_last => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Errno::LOOP.into());
                }
                let target = rustix::fs::readlinkat(&fd, "", Vec::new())?.into_bytes();
                if target.is_empty() {
                    return Err(Errno::NOENT.into());
                }
                if target.first() == Some(&b'/') {
                    stack.clear();
                }
                for part in components(&target).rev() {
                    todo.push_front(part.to_vec());
                }
            }
            _ if last => return finish(cur, name, fd, &st, flags),
            FileType::Directory => stack.push(fd),
            _ => return Err(Errno::NOTDIR.into()),
        }
    }
    // The path ends on a directory: the root, or after `..`.
    let cur = stack.last().map_or(root, |f| f.as_fd());
    Ok(rustix::fs::openat(cur, ".", flags, Mode::empty())?)
}

/// The last step of [`userspace_in_root`]: `fd` is an `O_PATH` descriptor
/// of `name` in `dir`; open it with the flags asked for and make sure it
/// is still the file that was resolved.
fn finish(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    fd: OwnedFd,
    st: &rustix::fs::Stat,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    if flags.contains(OFlags::PATH) {
        if flags.contains(OFlags::DIRECTORY) && FileType::of(st) != FileType::Directory {
            return Err(Errno::NOTDIR.into());
        }
        return Ok(fd);
    }
    let opened = rustix::fs::openat(dir, name, flags | OFlags::NOFOLLOW, Mode::empty())?;
    let again = rustix::fs::fstat(&opened)?;
    if sys::identity(&again) != sys::identity(st) {
        // Replaced between the two opens: as if it were not there.
        return Err(Errno::NOENT.into());
    }
    Ok(opened)
}

/// Opens the directory `name` in `dir` for writing into it: a real
/// directory, not a symbolic link (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`,
/// or `O_NOFOLLOW`). Fails with `ELOOP` on a link, `ENOTDIR` on another
/// file, `ENOENT` when missing.
pub(crate) fn child_dir(dir: BorrowedFd<'_>, name: &OsStr, r: Resolver) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if kernel(r) {
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        if let Some(result) = openat2(dir, name, flags, resolve) {
            return result;
        }
    }
    Ok(rustix::fs::openat(dir, name, flags, Mode::empty())?)
}

/// `path` lexically normalised below a root: `.` dropped, `..` removing
/// the component before it but never climbing above the root. For
/// messages, and for telling whether a link names `/dev/null`.
pub(crate) fn normalize(path: &[u8]) -> Vec<u8> {
    let mut out: Vec<&[u8]> = Vec::new();
    for c in components(path) {
        match c {
            b"." => {}
            b".." => {
                out.pop();
            }
            _ => out.push(c),
        }
    }
    out.join(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_stays_below_the_root() {
        for (path, want) in [
            ("a/b/../c", "a/c"),
            ("/../../etc/./x", "etc/x"),
            ("a/../../..", ""),
            ("//dev//null/", "dev/null"),
        ] {
            assert_eq!(normalize(path.as_bytes()), want.as_bytes(), "{path}");
        }
    }
}
