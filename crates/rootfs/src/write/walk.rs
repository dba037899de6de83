//! Directories below the root, opened one real directory at a time.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::plan::{DirPlan, Reach};
use crate::error::{Error, Result};
use crate::resolve;
use crate::root::Root;
use crate::sys::{self, FileType};

/// How many directory descriptors one walker keeps open for reuse (the
/// ancestors of many destinations; a run may have several walkers).
const CACHED_DIRS: usize = 16;

/// Opens real directories below the root one component at a time,
/// keeping the root and a few ancestors open for the next destinations,
/// and remembering which were missing until it is told things changed.
pub(super) struct Walker<'r> {
    root: &'r Root,
    root_dir: Option<OwnedFd>,
    cache: HashMap<PathBuf, OwnedFd>,
    missing: HashSet<PathBuf>,
}

impl<'r> Walker<'r> {
    pub(super) fn new(root: &'r Root) -> Walker<'r> {
        Walker {
            root,
            root_dir: None,
            cache: HashMap::new(),
            missing: HashSet::new(),
        }
    }

    /// Forgets which directories were missing (after directories were made).
    pub(super) fn forget_missing(&mut self) {
        self.missing.clear();
    }

    /// The directory at `rel`; `None` if a component is missing.
    pub(super) fn open(&mut self, rel: &Path) -> Result<Option<OwnedFd>> {
        self.walk(rel, None)
    }

    /// The directory at `rel`, creating what is missing (recorded in
    /// `created`, outermost first).
    pub(super) fn create(&mut self, rel: &Path, created: &mut Vec<PathBuf>) -> Result<OwnedFd> {
        self.missing.clear();
        match self.walk(rel, Some(created))? {
            Some(fd) => Ok(fd),
            None => Err(Error::Changed {
                path: self.root.shown(rel),
            }),
        }
    }

    fn walk(
        &mut self,
        rel: &Path,
        mut create: Option<&mut Vec<PathBuf>>,
    ) -> Result<Option<OwnedFd>> {
        let parts: Vec<&OsStr> = rel.iter().collect();
        let prefix = |k: usize| -> PathBuf { parts.iter().take(k).collect() };
        if create.is_none()
            && !self.missing.is_empty()
            && (1..=parts.len()).any(|k| self.missing.contains(&prefix(k)))
        {
            return Ok(None);
        }
        if self.root_dir.is_none() {
            let fd = rustix::fs::openat(
                self.root.fd(),
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::io("open", self.root.path(), e))?;
            self.root_dir = Some(fd);
        }
        // The deepest ancestor already open: the first step opens below
        // it (its descriptor borrowed from the cache, not duplicated).
        let ancestor = (1..parts.len())
            .rev()
            .find(|k| self.cache.contains_key(&prefix(*k)));
        let start = ancestor.unwrap_or(0);
        let mut cur: Option<OwnedFd> = None;
        for k in start..parts.len() {
            let Some(part) = parts.get(k) else { break };
            let here = prefix(k + 1);
            // Nothing opened yet: this is the first step, from the
            // ancestor (or the root).
            let base = match (&cur, ancestor) {
                (Some(fd), _) => fd.as_fd(),
                (None, Some(a)) => match self.cache.get(&prefix(a)) {
                    Some(fd) => fd.as_fd(),
                    None => {
                        return Err(Error::Changed {
                            path: self.root.shown(prefix(a)),
                        });
                    }
                },
                (None, None) => match &self.root_dir {
                    Some(fd) => fd.as_fd(),
                    None => return Ok(None),
                },
            };
            let next = match resolve::child_dir(base, part, self.root.resolver()) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                    let Some(created) = create.as_deref_mut() else {
                        self.missing.insert(here);
                        return Ok(None);
                    };
                    self.make_dir(base, part, &here, created)?
                }
                Err(e) => return Err(self.diagnose(base, part, &here, e)),
            };
            if k + 1 < parts.len()
                && self.cache.len() < CACHED_DIRS
                && !self.cache.contains_key(&here)
                && let Ok(dup) = next.try_clone()
            {
                self.cache.insert(here, dup);
            }
            cur = Some(next);
        }
        match (cur, &self.root_dir) {
            (Some(fd), _) => Ok(Some(fd)),
            (None, Some(root)) => root
                .try_clone()
                .map(Some)
                .map_err(|e| Error::io("open", self.root.path(), e)),
            (None, None) => Ok(None),
        }
    }

    /// Creates the directory `name` in `parent` (mode 0755 whatever the
    /// umask) and opens it.
    fn make_dir(
        &self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        rel: &Path,
        created: &mut Vec<PathBuf>,
    ) -> Result<OwnedFd> {
        let shown = self.root.shown(rel);
        let made = match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o755)) {
            Ok(()) => true,
            // Someone else made it meanwhile (the lock covers our runs only).
            Err(Errno::EXIST) => false,
            Err(e) => return Err(Error::io("create directory", shown, e)),
        };
        let fd = resolve::child_dir(parent, name, self.root.resolver())
            .map_err(|e| self.diagnose(parent, name, rel, e))?;
        if made {
            created.push(rel.to_path_buf());
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o755))
                .map_err(|e| Error::io("set the mode of", &shown, e))?;
        }
        Ok(fd)
    }

    /// Why `name` in `dir` could not be opened as a real directory.
    fn diagnose(&self, dir: BorrowedFd<'_>, name: &OsStr, rel: &Path, err: io::Error) -> Error {
        let shown = self.root.shown(rel);
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::of(&st) {
                FileType::Symlink => Error::SymlinkedDirectory {
                    target: rustix::fs::readlinkat(dir, name, Vec::new())
                        .map(|t| PathBuf::from(OsString::from_vec(t.into_bytes())))
                        .unwrap_or_else(|_| PathBuf::from("?")),
                    path: shown,
                },
                FileType::Directory => Error::io("open directory", shown, err),
                _ => Error::NotADirectory { path: shown },
            },
            Err(_) => Error::io("open directory", shown, err),
        }
    }
}

/// Opens directory `i` of `dirs` again, checking it is still the one planned.
pub(super) fn reopen_dir(
    root: &Root,
    walker: &mut Walker<'_>,
    dirs: &[DirPlan],
    i: usize,
) -> Result<OwnedFd> {
    let d = dirs.get(i).ok_or_else(|| Error::Changed {
        path: root.path().to_path_buf(),
    })?;
    let changed = || Error::Changed {
        path: d.shown.clone(),
    };
    let fd = match &d.reach {
        Reach::Beneath(rel) => walker.open(rel)?.ok_or_else(changed)?,
        Reach::InRoot(rel) => resolve::in_root(
            root.fd(),
            rel.as_os_str(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            true,
            root.resolver(),
        )
        .map_err(|_| changed())?,
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", &d.shown, e))?;
    if d.id.is_some_and(|id| id != sys::identity(&st)) {
        return Err(changed());
    }
    Ok(fd)
}
