//! Staging: missing directories made and every new content written to a
//! temp file beside its destination, directory by directory (by several
//! threads when there are many directories: creating files waits on the
//! file system's journal, and waits overlap); then the renames.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write as _};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags};

use super::Outcome;
use super::plan::{DirPlan, Reach, Target};
use super::temp::{Run, temp_name};
use super::walk::{Walker, reopen_dir};
use crate::error::{Error, Result};
use crate::root::Root;
use crate::sys;

/// From how many directories on, staging runs on several threads.
const PARALLEL_FROM: usize = 32;
/// How many threads stage at most.
const WORKERS: usize = 8;

/// A temp file written.
#[derive(Clone, Debug)]
struct Temp {
    /// The destination's number, in the order given.
    index: usize,
    /// The directory it lies in.
    dir: usize,
    /// Its name.
    temp: OsString,
    /// The destination's name in the same directory.
    name: OsString,
    /// The destination, for messages.
    shown: PathBuf,
}

/// What one staging thread did.
#[derive(Default)]
struct Done {
    temps: Vec<Temp>,
    created: Vec<PathBuf>,
    /// Directories made, with their device and inode.
    ids: Vec<(usize, (u64, u64))>,
    /// Failures, with the number of the destination they concern.
    errors: Vec<(usize, Error)>,
}

/// Temp files written and directories made, removed again unless the
/// renames happen.
pub(super) struct Staging<'r> {
    root: &'r Root,
    walker: Walker<'r>,
    dirs: Vec<DirPlan>,
    temps: Vec<Temp>,
    /// Directories made, outermost first.
    created: Vec<PathBuf>,
}

impl<'r> Staging<'r> {
    pub(super) fn new(root: &'r Root, mut walker: Walker<'r>, dirs: Vec<DirPlan>) -> Staging<'r> {
        // Directories are about to be made: what was missing may not be.
        walker.forget_missing();
        Staging {
            root,
            walker,
            dirs,
            temps: Vec::new(),
            created: Vec::new(),
        }
    }

    /// Writes every changed target to a temp file, making missing
    /// directories. On a failure, the error of the first destination (in
    /// the order given) that failed; what was made is removed on drop.
    pub(super) fn stage(&mut self, targets: &[Target<'_>], tag: &str, run: Run) -> Result<()> {
        // The changed destinations, by directory, in the order first met.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut group_of: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, t) in targets.iter().enumerate() {
            if t.outcome == Outcome::Unchanged {
                continue;
            }
            let g = *group_of.entry(t.dir).or_insert_with(|| {
                groups.push((t.dir, Vec::new()));
                groups.len() - 1
            });
            if let Some((_, members)) = groups.get_mut(g) {
                members.push(i);
            }
        }
        let next = AtomicUsize::new(0);
        let (root, dirs) = (self.root, &self.dirs);
        let work = || stage_groups(root, dirs, &groups, targets, tag, run, &next);
        let done: Vec<Done> = if groups.len() < PARALLEL_FROM {
            vec![work()]
        } else {
            std::thread::scope(|s| {
                // A thread that cannot be started is not needed: the others,
                // and this one, take the directories left.
                let handles: Vec<_> = (0..WORKERS)
                    .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
                    .collect();
                let mut done = vec![work()];
                done.extend(handles.into_iter().map(|h| h.join().unwrap_or_default()));
                done
            })
        };
        let mut errors = Vec::new();
        for d in done {
            self.temps.extend(d.temps);
            self.created.extend(d.created);
            for (i, id) in d.ids {
                if let Some(dir) = self.dirs.get_mut(i) {
                    dir.id = Some(id);
                }
            }
            errors.extend(d.errors);
        }
        // Renames in the order given; directories removed innermost first.
        self.temps.sort_by_key(|t| t.index);
        self.created
            .sort_by(|a, b| (a.components().count(), a).cmp(&(b.components().count(), b)));
        // Every thread finishes its directories, so the error reported is
        // the first destination's that failed, whatever the timing.
        match errors.into_iter().min_by_key(|(i, _)| *i) {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Renames every temp file over its destination, in the order given.
    /// On a failure the temp files not yet renamed are removed.
    pub(super) fn commit(mut self) -> Result<()> {
        let temps = std::mem::take(&mut self.temps);
        for (n, t) in temps.iter().enumerate() {
            let renamed =
                reopen_dir(self.root, &mut self.walker, &self.dirs, t.dir).and_then(|fd| {
                    rustix::fs::renameat(&fd, t.temp.as_os_str(), &fd, t.name.as_os_str())
                        .map_err(|e| Error::io("replace", &t.shown, e))
                });
            if let Err(e) = renamed {
                self.temps = temps.get(n..).map(<[_]>::to_vec).unwrap_or_default();
                return Err(e);
            }
        }
        // Every file is in place: the directories made stay.
        self.created.clear();
        Ok(())
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        for t in std::mem::take(&mut self.temps) {
            if let Ok(fd) = reopen_dir(self.root, &mut self.walker, &self.dirs, t.dir) {
                let _ = rustix::fs::unlinkat(&fd, t.temp.as_os_str(), AtFlags::empty());
            }
        }
        for rel in std::mem::take(&mut self.created).iter().rev() {
            let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
                continue;
            };
            if let Ok(Some(fd)) = self.walker.open(parent) {
                let _ = rustix::fs::unlinkat(&fd, name, AtFlags::REMOVEDIR);
            }
        }
    }
}

/// One staging thread: takes the next directory until none is left.
fn stage_groups(
    root: &Root,
    dirs: &[DirPlan],
    groups: &[(usize, Vec<usize>)],
    targets: &[Target<'_>],
    tag: &str,
    run: Run,
    next: &AtomicUsize,
) -> Done {
    let mut walker = Walker::new(root);
    let mut done = Done::default();
    while let Some((dir, members)) = groups.get(next.fetch_add(1, Ordering::Relaxed)) {
        let first = members.first().copied().unwrap_or(0);
        let fd = match stage_dir(root, &mut walker, dirs, *dir, &mut done) {
            Ok(fd) => fd,
            Err(e) => {
                done.errors.push((first, e));
                continue;
            }
        };
        for &index in members {
            let Some(t) = targets.get(index) else {
                continue;
            };
            let shown_dir = dirs.get(*dir).map(|d| d.shown.clone()).unwrap_or_default();
            let temp = temp_name(&t.name, tag, run, index);
            let (written, result) = write_temp(&fd, t, &temp, shown_dir.join(&temp));
            if written {
                done.temps.push(Temp {
                    index,
                    dir: *dir,
                    temp,
                    name: t.name.clone(),
                    shown: t.shown.clone(),
                });
            }
            if let Err(e) = result {
                done.errors.push((index, e));
            }
        }
    }
    done
}

/// The directory `i`, made (with what is missing above it) if it does
/// not exist yet, else opened again and checked to be the one planned.
fn stage_dir(
    root: &Root,
    walker: &mut Walker<'_>,
    dirs: &[DirPlan],
    i: usize,
    done: &mut Done,
) -> Result<OwnedFd> {
    if let Some(DirPlan {
        reach: Reach::Beneath(rel),
        id: None,
        ..
    }) = dirs.get(i)
    {
        let fd = walker.create(rel, &mut done.created)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", root.shown(rel), e))?;
        done.ids.push((i, sys::identity(&st)));
        return Ok(fd);
    }
    reopen_dir(root, walker, dirs, i)
}

/// Writes `t`'s new content to the temp file `temp` in `dir` (mode 0644
/// whatever the umask). Says whether the temp file was created, so that
/// it is removed on failure.
fn write_temp(
    dir: &OwnedFd,
    t: &Target<'_>,
    temp: &OsString,
    temp_shown: PathBuf,
) -> (bool, Result<()>) {
    let stage_err = |action, err: io::Error| Error::Stage {
        dest: t.shown.clone(),
        temp: temp_shown.clone(),
        action,
        err,
    };
    let fd = match rustix::fs::openat(
        dir,
        temp.as_os_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    ) {
        Ok(fd) => fd,
        Err(e) => return (false, Err(stage_err("create", e.into()))),
    };
    let result = rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o644))
        .map_err(|e| stage_err("write", e.into()))
        .and_then(|()| {
            File::from(fd)
                .write_all(t.bytes)
                .map_err(|e| stage_err("write", e))
        });
    (true, result)
}
