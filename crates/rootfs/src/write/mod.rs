//! Writes under a root: confined, atomic, batched.
//!
//! [`write_all`] works in phases under an exclusive lock on the root:
//!
//! 1. **Plan.** Every destination's directory is opened one real directory
//!    after another from the root (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`
//!    per component): a symbolic link or another file on the way is
//!    refused, so nothing can lead outside the root. Directories are known
//!    by device and inode: two destination directories that are one
//!    directory under two names (a bind mount) are refused, as are two
//!    destinations that lead to one file. Each destination is then
//!    *created*, *updated* or *unchanged* (same bytes: left alone, its
//!    mtime too); a symbolic link is refused unless following is asked
//!    for, anything but a regular file always.
//! 2. **Stage.** Temp files of killed runs are removed (each directory
//!    was listed for them while planned, through the descriptor it was
//!    planned with, and is opened again only if it holds some); missing
//!    directories are created (`mkdirat` relative to their parent, mode
//!    0755 whatever the umask); every new content goes to a temp file
//!    beside its destination (mode 0644), named after the destination,
//!    this process and this run, so no other run's cleanup can take it.
//!    With many directories, several threads stage at once.
//! 3. **Sync.** One `syncfs` per file system written: every temp file's
//!    data is on disk before any destination is replaced.
//! 4. **Rename.** Each temp file replaces its destination (`renameat`,
//!    atomic per file), in the order given.
//! 5. **Sync.** One more `syncfs` per file system: the renames and new
//!    directories are on disk before the run reports success.
//!
//! A failure before the renames removes every temp file and directory the
//! run made and leaves every destination as it was; a killed run leaves
//! only temp files, which the next run removes. After a crash each file
//! is its old or its new content.

mod plan;
mod stage;
mod temp;
mod walk;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::root::Root;
use plan::{DirPlan, Plan, Reach};
use stage::Staging;
use temp::{Run, remove_stale_temps};
use walk::{Walker, reopen_dir};

/// What happened, or would happen, to a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// It did not exist.
    Created,
    /// Its content changed.
    Updated,
    /// It already had the content; it was not touched.
    Unchanged,
}

impl Outcome {
    /// `created`, `updated` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// How [`write_all`] and [`plan`] treat destinations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Where a destination file is a symbolic link, replace the file it
    /// leads to instead of refusing. Only the destination's own last
    /// component may be a link (the directories on the way never may);
    /// its target, and the target's target up to 40 links, is resolved
    /// inside the root as systemd reads it (an absolute target starts at
    /// the root, `..` stops there), its directory must exist, and what it
    /// leads to must be a regular file or nothing (then it is created).
    /// The links themselves stay.
    pub follow_symlinks: bool,
    /// The tag that marks temp files, `.NAME.TAG.PID.RUN-N`: lowercase
    /// letters, digits and `-`. Temp files of dead processes with this
    /// tag are removed from every destination directory.
    pub temp_tag: String,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions {
            follow_symlinks: false,
            temp_tag: "rootfs-tmp".to_owned(),
        }
    }
}

/// The largest file name Linux file systems take.
const NAME_MAX: usize = 255;
/// The longest path Linux takes, without its NUL.
const PATH_MAX: usize = 4095;

/// Reports what writing `files` (paths relative to the root, and their
/// new bytes) would do, with every check of [`write_all`] but without the
/// lock and without writing anything.
pub fn plan<P: AsRef<Path>, B: AsRef<[u8]>>(
    root: &Root,
    files: &[(P, B)],
    options: &WriteOptions,
) -> Result<Vec<(PathBuf, Outcome)>> {
    check_tag(&options.temp_tag)?;
    let mut walker = Walker::new(root);
    let planned = Plan::make(root, files, options, &mut walker, None)?;
    Ok(planned.outcomes())
}

/// Writes `files` (paths relative to the root, and their new bytes) under
/// `root`, atomically and durably, as the [module](self) describes, and
/// reports what happened to each, in the order given.
pub fn write_all<P: AsRef<Path>, B: AsRef<[u8]>>(
    root: &Root,
    files: &[(P, B)],
    options: &WriteOptions,
) -> Result<Vec<(PathBuf, Outcome)>> {
    write_all_listed(root, files, options).map(|w| w.outcomes)
}

/// What [`write_all_listed`] did.
#[derive(Debug)]
pub struct Written {
    /// What happened to each file, in the order given.
    pub outcomes: Vec<(PathBuf, Outcome)>,
    /// The destination directories listed while the run was planned and
    /// left as they were (nothing written into them, no stale temp file
    /// removed), by path relative to the root, with their entries as
    /// [`Root::list`] gives them: a caller that reads the tree next need
    /// not list them again. Reached without links, so the same path
    /// resolved inside the root names them. Directories of many entries
    /// are left out.
    pub listed: Vec<(PathBuf, crate::Listing)>,
}

/// [`write_all`], with the listings the run made.
pub fn write_all_listed<P: AsRef<Path>, B: AsRef<[u8]>>(
    root: &Root,
    files: &[(P, B)],
    options: &WriteOptions,
) -> Result<Written> {
    check_tag(&options.temp_tag)?;
    let _lock = lock(root)?;
    let mut walker = Walker::new(root);
    let run = Run::new();
    let mut planned = Plan::make(root, files, options, &mut walker, Some(run))?;
    for (i, d) in planned.dirs.iter().enumerate() {
        // A directory listed while planned is opened again only when it
        // held temp files of killed runs.
        if d.id.is_some() && d.stale != Some(false) {
            let fd = reopen_dir(root, &mut walker, &planned.dirs, i)?;
            remove_stale_temps(fd.as_fd(), &d.shown, &options.temp_tag, run)?;
        }
    }
    let outcomes = planned.outcomes();
    let written: BTreeSet<usize> = planned
        .targets
        .iter()
        .filter(|t| t.outcome != Outcome::Unchanged)
        .map(|t| t.dir)
        .collect();
    let listed = planned
        .dirs
        .iter_mut()
        .enumerate()
        .filter(|(i, d)| d.stale == Some(false) && !written.contains(i))
        .filter_map(|(_, d)| match (&d.reach, d.listing.take()) {
            (plan::Reach::Beneath(rel), Some(listing)) => Some((rel.clone(), listing)),
            _ => None,
        })
        .collect();
    let done = Written { outcomes, listed };
    if written.is_empty() {
        return Ok(done);
    }
    let file_systems = file_systems(root, &mut walker, &planned.dirs, &written)?;
    let mut staging = Staging::new(root, walker, planned.dirs);
    staging.stage(&planned.targets, &options.temp_tag, run)?;
    sync(&file_systems)?;
    staging.commit()?;
    sync(&file_systems)?;
    Ok(done)
}

/// Refuses a tag that could make temp names ambiguous.
fn check_tag(tag: &str) -> Result<()> {
    let ok = !tag.is_empty()
        && tag.len() <= 32
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidTag {
            tag: tag.to_owned(),
        })
    }
}

/// Takes the root's lock, held until the descriptor is dropped, so that
/// two runs on one root do not interleave their cleanup and renames.
fn lock(root: &Root) -> Result<OwnedFd> {
    let fd = rustix::fs::openat(
        root.fd(),
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("open", root.path(), e))?;
    loop {
        match rustix::fs::flock(&fd, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(fd),
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::io("lock", root.path(), e)),
        }
    }
}

/// One descriptor per file system the run writes to, opened before
/// anything is written, so that `syncfs` reports every write-back error
/// of this run (it reports those after the descriptor was opened). A
/// directory still to be made is on the file system of its deepest
/// existing ancestor.
fn file_systems(
    root: &Root,
    walker: &mut Walker<'_>,
    dirs: &[DirPlan],
    written: &BTreeSet<usize>,
) -> Result<BTreeMap<u64, (OwnedFd, PathBuf)>> {
    let mut out: BTreeMap<u64, (OwnedFd, PathBuf)> = BTreeMap::new();
    // Directories already looked at: each one's device, or none if missing.
    let mut seen: BTreeMap<PathBuf, Option<u64>> = BTreeMap::new();
    for &i in written {
        let Some(d) = dirs.get(i) else { continue };
        let mut at = match (&d.reach, d.id) {
            (Reach::Beneath(rel), None) => rel.parent(),
            _ => {
                let fd = reopen_dir(root, walker, dirs, i)?;
                let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", &d.shown, e))?;
                out.entry(st.st_dev).or_insert((fd, d.shown.clone()));
                continue;
            }
        };
        // A directory still to be made: its deepest existing ancestor.
        while let Some(p) = at {
            match seen.get(p) {
                Some(Some(_)) => break,
                Some(None) => {
                    at = p.parent();
                    continue;
                }
                None => {}
            }
            match walker.open(p)? {
                Some(fd) => {
                    let shown = root.shown(p);
                    let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", &shown, e))?;
                    seen.insert(p.to_path_buf(), Some(st.st_dev));
                    out.entry(st.st_dev).or_insert((fd, shown));
                    break;
                }
                None => {
                    seen.insert(p.to_path_buf(), None);
                    at = p.parent();
                }
            }
        }
    }
    Ok(out)
}

/// `syncfs` on every file system written.
fn sync(file_systems: &BTreeMap<u64, (OwnedFd, PathBuf)>) -> Result<()> {
    for (fd, shown) in file_systems.values() {
        rustix::fs::syncfs(fd).map_err(|e| Error::io("sync the file system of", shown, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked() {
        assert!(check_tag("left4me-harden-tmp").is_ok());
        for bad in ["", "A", "a.b", "a/b", &"x".repeat(33)] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
    }
}
