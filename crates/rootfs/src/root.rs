//! A root directory and the reads under it.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::read::{READ_FLAGS, read_opath, refuse_pseudo};
use crate::resolve::{self, Resolver};
use crate::sys::{self, FileType};

/// A directory everything is read and written under, held open (an
/// `O_PATH` descriptor), so that renaming or replacing its path later does
/// not move the run elsewhere.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
    resolver: Resolver,
    /// The device last found not to be a kernel file system, plus one
    /// (0: none yet): a device is one file system, asked about once.
    regular_device: std::sync::atomic::AtomicU64,
}

/// A directory's entries as [`Root::list`] gives them: each name and the
/// entry's own type, sorted by name.
pub type Listing = Vec<(OsString, FileType)>;

/// What [`Root::inspect_kept`] says of a path: what it is, a link's
/// target, and a regular file's `O_PATH` descriptor.
pub type Inspected = (Metadata, Option<OsString>, Option<OwnedFd>);

/// The type a directory listing gives an entry (`Unknown` where it gives
/// none).
pub(crate) fn entry_type(entry: &rustix::fs::RawDirEntry<'_>) -> FileType {
    match entry.file_type() {
        rustix::fs::FileType::Unknown => FileType::Unknown,
        t => FileType::from_mode(t.as_raw_mode()),
    }
}

/// What a path names, links followed inside the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Its type.
    pub file_type: FileType,
    /// Its size in bytes.
    pub size: u64,
}

/// One entry of a directory, as [`Root::read_dir`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The entry's name, as the bytes the directory holds.
    pub name: OsString,
    /// The entry's own type (a link is [`FileType::Symlink`]).
    pub file_type: FileType,
    /// The entry's own size (for a link, the length of its target).
    pub size: u64,
    /// For a symbolic link: its target and what that is inside the root.
    pub link: Option<Link>,
}

/// A symbolic link's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The target, as written in the link.
    pub target: OsString,
    /// What the link leads to, resolved inside the root.
    pub resolved: Resolved,
    /// Whether the target, read as a path below the root (an absolute one
    /// from the root, a relative one from the link's directory), is
    /// `/dev/null`: systemd's mask, whether `/dev/null` exists there or not.
    pub names_dev_null: bool,
}

/// Where a symbolic link leads, inside the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolved {
    /// To an existing file.
    Found(Metadata),
    /// Nowhere: the file it names does not exist (a dangling link).
    Missing,
    /// It cannot be resolved (a loop, a file used as a directory, …): the
    /// system's error number.
    Unresolvable(i32),
}

impl Entry {
    /// What the entry is once links are followed: its own type and size,
    /// or those of the file a link leads to; `None` for a link that leads
    /// nowhere.
    pub fn followed(&self) -> Option<Metadata> {
        match &self.link {
            None => Some(Metadata {
                file_type: self.file_type,
                size: self.size,
            }),
            Some(Link {
                resolved: Resolved::Found(m),
                ..
            }) => Some(*m),
            Some(_) => None,
        }
    }

    /// Whether the entry is, or leads to, a regular file.
    pub fn is_file(&self) -> bool {
        self.followed()
            .is_some_and(|m| m.file_type == FileType::Regular)
    }

    /// Whether the entry is, or leads to, a directory.
    pub fn is_dir(&self) -> bool {
        self.followed()
            .is_some_and(|m| m.file_type == FileType::Directory)
    }

    /// Whether systemd takes this entry for a mask, as its
    /// `null_or_empty_path_with_root()` does: a link naming `/dev/null`
    /// (even a dangling one), or, links followed, an empty regular file or
    /// a character device.
    pub fn is_masked(&self) -> bool {
        if self.link.as_ref().is_some_and(|l| l.names_dev_null) {
            return true;
        }
        self.followed().is_some_and(null_or_empty)
    }
}

/// systemd's `null_or_empty()`: an empty regular file or a character device.
fn null_or_empty(m: Metadata) -> bool {
    (m.file_type == FileType::Regular && m.size == 0) || m.file_type == FileType::CharDevice
}

/// Whether a link's target, read from the directory `dir` (below the
/// root), names `/dev/null`.
fn names_dev_null(dir: &[u8], target: &[u8]) -> bool {
    let joined = if target.first() == Some(&b'/') {
        target.to_vec()
    } else {
        [dir, b"/", target].concat()
    };
    resolve::normalize(&joined) == b"dev/null"
}

impl Root {
    /// Opens the directory at `path` as the root (links in `path` itself
    /// are followed: it is the caller's choice).
    pub fn open(path: impl AsRef<Path>) -> Result<Root> {
        let path = path.as_ref();
        let fd = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| Error::io("open root", path, e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect root", path, e))?;
        if FileType::of(&st) != FileType::Directory {
            return Err(Error::RootNotADirectory {
                path: path.to_path_buf(),
            });
        }
        Ok(Root {
            fd,
            path: path.to_path_buf(),
            resolver: Resolver::default(),
            regular_device: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The same root, resolving paths the way `resolver` says (tests use
    /// [`Resolver::Userspace`] to check the fallback agrees).
    pub fn with_resolver(mut self, resolver: Resolver) -> Root {
        self.resolver = resolver;
        self
    }

    /// The root's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` joined to the root's path, as messages show it.
    pub fn shown(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        self.path.join(rel.strip_prefix("/").unwrap_or(rel))
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn resolver(&self) -> Resolver {
        self.resolver
    }

    /// An `O_PATH` descriptor of `rel`, links followed inside the root
    /// (the last one too unless `follow_last` is false); `None` if it does
    /// not exist.
    fn open_path(&self, rel: &Path, follow_last: bool) -> io::Result<Option<OwnedFd>> {
        match resolve::in_root(
            self.fd(),
            rel.as_os_str(),
            OFlags::PATH,
            follow_last,
            self.resolver,
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads the file at `rel`, the way systemd reads a tree under
    /// `--root`: links followed, but inside the root. `None` if nothing is
    /// there (or a link leads nowhere). Refused, before anything is read:
    /// anything but a regular file (a FIFO would block, a device may never
    /// end), a file on a kernel file system (procfs, sysfs, …), a file
    /// larger than the budget allows.
    pub fn read_file(&self, rel: impl AsRef<Path>, budget: &Budget) -> Result<Option<Vec<u8>>> {
        let rel = rel.as_ref();
        let shown = self.shown(rel);
        budget.time_left(&shown)?;
        let Some(opath) = self
            .open_path(rel, true)
            .map_err(|e| Error::io("open", &shown, e))?
        else {
            return Ok(None);
        };
        self.read_opened(&opath, rel, &shown, budget).map(Some)
    }

    /// Reads `rel` (shown as `shown`), opened as `opath`: counted as a
    /// file read, then read as [`read_opath`] reads.
    fn read_opened(
        &self,
        opath: &OwnedFd,
        rel: &Path,
        shown: &Path,
        budget: &Budget,
    ) -> Result<Vec<u8>> {
        budget.start_file(shown)?;
        read_opath(
            opath,
            shown,
            budget,
            || resolve::in_root(self.fd(), rel.as_os_str(), READ_FLAGS, true, self.resolver),
            // The device cache the listings use: a tree's files are on a
            // few devices, each asked about once.
            |fd, dev| self.refuse_pseudo_device(fd, dev, shown),
        )
    }

    /// What `rel` is, links followed inside the root; `None` if nothing
    /// is there.
    pub fn metadata(&self, rel: impl AsRef<Path>) -> Result<Option<Metadata>> {
        self.stat(rel.as_ref(), true)
    }

    /// What `rel` itself is (a link is not followed); `None` if nothing is
    /// there.
    pub fn symlink_metadata(&self, rel: impl AsRef<Path>) -> Result<Option<Metadata>> {
        self.stat(rel.as_ref(), false)
    }

    fn stat(&self, rel: &Path, follow: bool) -> Result<Option<Metadata>> {
        let shown = self.shown(rel);
        let Some(fd) = self
            .open_path(rel, follow)
            .map_err(|e| Error::io("open", &shown, e))?
        else {
            return Ok(None);
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", &shown, e))?;
        Ok(Some(Metadata {
            file_type: FileType::of(&st),
            size: sys::size(&st),
        }))
    }

    /// Whether `rel` exists, links followed inside the root (a dangling
    /// link does not).
    pub fn exists(&self, rel: impl AsRef<Path>) -> Result<bool> {
        Ok(self.metadata(rel)?.is_some())
    }

    /// The target of the symbolic link at `rel`, as written in it; `None`
    /// if `rel` is not a link or does not exist.
    pub fn symlink_target(&self, rel: impl AsRef<Path>) -> Result<Option<OsString>> {
        Ok(self.inspect(rel)?.and_then(|(_, target)| target))
    }

    /// What `rel` itself is (a link is not followed) and, for a symbolic
    /// link, its target as written; `None` if nothing is there. One open
    /// of the path answers both, and for anything but a link it is also
    /// what [`Root::metadata`] would say.
    pub fn inspect(&self, rel: impl AsRef<Path>) -> Result<Option<(Metadata, Option<OsString>)>> {
        Ok(self.inspect_kept(rel)?.map(|(m, t, _)| (m, t)))
    }

    /// [`Root::inspect`], and for a regular file the `O_PATH` descriptor
    /// the look was taken through: [`Root::read_inspected`] reads the file
    /// through it without resolving the path again.
    pub fn inspect_kept(&self, rel: impl AsRef<Path>) -> Result<Option<Inspected>> {
        let rel = rel.as_ref();
        let shown = self.shown(rel);
        let Some(fd) = self
            .open_path(rel, false)
            .map_err(|e| Error::io("open", &shown, e))?
        else {
            return Ok(None);
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", &shown, e))?;
        let metadata = Metadata {
            file_type: FileType::of(&st),
            size: sys::size(&st),
        };
        match metadata.file_type {
            FileType::Regular => return Ok(Some((metadata, None, Some(fd)))),
            FileType::Symlink => {}
            _ => return Ok(Some((metadata, None, None))),
        }
        let target = rustix::fs::readlinkat(&fd, "", Vec::new())
            .map_err(|e| Error::io("read the link", &shown, e))?;
        Ok(Some((
            metadata,
            Some(OsString::from_vec(target.into_bytes())),
            None,
        )))
    }

    /// [`Root::read_file`] of `rel`, a regular file [`Root::inspect_kept`]
    /// looked at through `fd` (the tree unchanged since: a path to a
    /// regular file leads there whether its last link is followed or not).
    pub fn read_inspected(
        &self,
        fd: &OwnedFd,
        rel: impl AsRef<Path>,
        budget: &Budget,
    ) -> Result<Vec<u8>> {
        let rel = rel.as_ref();
        let shown = self.shown(rel);
        budget.time_left(&shown)?;
        self.read_opened(fd, rel, &shown, budget)
    }

    /// Whether systemd takes `rel` for a mask (see [`Entry::is_masked`]).
    pub fn is_masked(&self, rel: impl AsRef<Path>) -> Result<bool> {
        let rel = rel.as_ref();
        if let Some(target) = self.symlink_target(rel)? {
            let dir = rel.parent().unwrap_or(Path::new(""));
            if names_dev_null(dir.as_os_str().as_bytes(), target.as_bytes()) {
                return Ok(true);
            }
        }
        Ok(self.metadata(rel)?.is_some_and(null_or_empty))
    }

    /// Lists the directory at `rel` (links followed inside the root), its
    /// entries sorted by name; `None` if nothing is there. Each entry
    /// carries its own type and, for a link, its target and what that is
    /// inside the root. Counts as one file read (if it is there); more
    /// entries than the budget allows per directory are refused.
    pub fn read_dir(&self, rel: impl AsRef<Path>, budget: &Budget) -> Result<Option<Vec<Entry>>> {
        let rel = rel.as_ref();
        let shown = self.shown(rel);
        let Some((fd, names)) = self.listing(rel, &shown, budget)? else {
            return Ok(None);
        };
        let dir_bytes = resolve::normalize(rel.as_os_str().as_bytes());
        let mut out = Vec::with_capacity(names.len());
        for (name, _) in names {
            if let Some(e) = self.entry(&fd, rel, &dir_bytes, name, &shown)? {
                out.push(e);
            }
        }
        Ok(Some(out))
    }

    /// The names of the entries of the directory at `rel` (links followed
    /// inside the root to reach it) and each entry's own type (a link is
    /// [`FileType::Symlink`]), sorted by name; `None` if nothing is there.
    /// The types are the listing's own (`d_type`), so a directory of a
    /// thousand entries costs no `stat` of each; only where the file
    /// system does not record them is an entry looked at. Budgeted as
    /// [`Root::read_dir`].
    pub fn list(&self, rel: impl AsRef<Path>, budget: &Budget) -> Result<Option<Listing>> {
        let rel = rel.as_ref();
        let shown = self.shown(rel);
        let Some((fd, names)) = self.listing(rel, &shown, budget)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(names.len());
        for (name, file_type) in names {
            if file_type != FileType::Unknown {
                out.push((name, file_type));
                continue;
            }
            match rustix::fs::statat(&fd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => out.push((name, FileType::of(&st))),
                // Gone meanwhile: left out, as `read_dir` leaves it out.
                Err(Errno::NOENT) => {}
                Err(e) => return Err(Error::io("inspect", shown.join(&name), e)),
            }
        }
        Ok(Some(out))
    }

    /// The directory at `rel` (opened for reading, as a directory only:
    /// the kernel refuses anything else before opening it, so a FIFO or a
    /// device is never opened), checked, and its entries' names with the
    /// types the listing gives (`Unknown` where it gives none), sorted by
    /// name; `None` if nothing is there.
    fn listing(
        &self,
        rel: &Path,
        shown: &Path,
        budget: &Budget,
    ) -> Result<Option<(OwnedFd, Listing)>> {
        budget.time_left(shown)?;
        let opened = resolve::in_root(
            self.fd(),
            rel.as_os_str(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            true,
            self.resolver,
        );
        let fd = match opened {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => return Ok(None),
            Err(e) if e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error()) => {
                // It, or a directory on the way, is something else: said
                // as a look at the path itself says it.
                let Some(fd) = self
                    .open_path(rel, true)
                    .map_err(|e| Error::io("open", shown, e))?
                else {
                    return Ok(None);
                };
                budget.start_file(shown)?;
                let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", shown, e))?;
                if FileType::of(&st) != FileType::Directory {
                    return Err(Error::NotADirectory {
                        path: shown.to_path_buf(),
                    });
                }
                // A directory now: it changed meanwhile.
                return Err(Error::io("open", shown, e));
            }
            Err(e) => return Err(Error::io("open", shown, e)),
        };
        budget.start_file(shown)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", shown, e))?;
        if FileType::of(&st) != FileType::Directory {
            return Err(Error::NotADirectory {
                path: shown.to_path_buf(),
            });
        }
        self.refuse_pseudo_device(fd.as_fd(), st.st_dev, shown)?;
        let mut names = Vec::new();
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
        let mut entries = rustix::fs::RawDir::new(&fd, &mut buf);
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(|e| Error::io("list", shown, e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            names.push((OsString::from_vec(name.to_vec()), entry_type(&entry)));
            budget.check_entries(shown, u64::try_from(names.len()).unwrap_or(u64::MAX))?;
            if names.len() % 256 == 0 {
                budget.time_left(shown)?;
            }
        }
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(Some((fd, names)))
    }

    /// Refuses `fd`, on device `dev`, if it is on a kernel file system;
    /// the last device found not to be one is not asked about again (a
    /// device is one file system). Listings and the write plan both ask.
    pub(crate) fn refuse_pseudo_device(
        &self,
        fd: BorrowedFd<'_>,
        dev: u64,
        shown: &Path,
    ) -> Result<()> {
        use std::sync::atomic::Ordering;
        let known = dev.checked_add(1);
        if known.is_some_and(|k| self.regular_device.load(Ordering::Relaxed) == k) {
            return Ok(());
        }
        refuse_pseudo(fd, shown)?;
        if let Some(k) = known {
            self.regular_device.store(k, Ordering::Relaxed);
        }
        Ok(())
    }

    /// One entry of the directory `dir` (at `rel`); `None` if it vanished
    /// meanwhile.
    fn entry(
        &self,
        dir: &OwnedFd,
        rel: &Path,
        dir_bytes: &[u8],
        name: OsString,
        shown: &Path,
    ) -> Result<Option<Entry>> {
        let path = shown.join(&name);
        let st = match rustix::fs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(Error::io("inspect", path, e)),
        };
        let file_type = FileType::of(&st);
        let link = if file_type == FileType::Symlink {
            let target = match rustix::fs::readlinkat(dir, name.as_os_str(), Vec::new()) {
                Ok(t) => t.into_bytes(),
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(Error::io("read the link", path, e)),
            };
            let resolved = match self.open_path(&rel.join(&name), true) {
                Ok(Some(fd)) => {
                    let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", &path, e))?;
                    Resolved::Found(Metadata {
                        file_type: FileType::of(&st),
                        size: sys::size(&st),
                    })
                }
                Ok(None) => Resolved::Missing,
                Err(e) => Resolved::Unresolvable(e.raw_os_error().unwrap_or(0)),
            };
            Some(Link {
                names_dev_null: names_dev_null(dir_bytes, &target),
                target: OsString::from_vec(target),
                resolved,
            })
        } else {
            None
        };
        Ok(Some(Entry {
            name,
            file_type,
            size: sys::size(&st),
            link,
        }))
    }
}
