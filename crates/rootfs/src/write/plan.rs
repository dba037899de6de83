//! The plan: every destination resolved and checked, and what writing it
//! would do, before anything is written.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read as _;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::temp::{Run, scan_for_stale_temps};
use super::walk::Walker;
use super::{NAME_MAX, Outcome, PATH_MAX, WriteOptions};
use crate::error::{Error, Result};
use crate::read::READ_FLAGS;
use crate::resolve::{self, MAX_LINKS};
use crate::root::Root;
use crate::sys::{self, FileType};

/// A destination path split and checked: the directory's components and
/// the file name, each a plain name.
fn split_dest(path: &Path) -> Result<(PathBuf, OsString)> {
    let invalid = |reason| Error::InvalidPath {
        path: path.to_path_buf(),
        reason,
    };
    let mut bytes = path.as_os_str().as_bytes();
    while let Some(rest) = bytes.strip_prefix(b"/") {
        bytes = rest;
    }
    if bytes.is_empty() {
        return Err(invalid("it names no file"));
    }
    if bytes.contains(&0) {
        return Err(invalid("it contains a NUL byte"));
    }
    if bytes.len() > PATH_MAX {
        return Err(invalid("it is longer than 4095 bytes"));
    }
    let parts: Vec<&[u8]> = bytes.split(|b| *b == b'/').collect();
    for p in &parts {
        if p.is_empty() {
            return Err(invalid("it has an empty component (// or a trailing /)"));
        }
        if *p == b"." || *p == b".." {
            return Err(invalid("it has a . or .. component"));
        }
        if p.len() > NAME_MAX {
            return Err(invalid("a component is longer than 255 bytes"));
        }
    }
    let (name, dir) = parts
        .split_last()
        .ok_or_else(|| invalid("it names no file"))?;
    let dir: PathBuf = dir.iter().map(|p| OsStr::from_bytes(p)).collect();
    Ok((dir, OsString::from_vec(name.to_vec())))
}

/// How a directory is reached from the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Reach {
    /// A destination's own directory: real directories all the way (no
    /// link), created where missing.
    Beneath(PathBuf),
    /// The directory a followed link's target lies in: resolved inside
    /// the root, links followed; it must exist.
    InRoot(PathBuf),
}

/// A directory the run writes into.
#[derive(Debug)]
pub(super) struct DirPlan {
    pub(super) reach: Reach,
    /// Its path, for messages.
    pub(super) shown: PathBuf,
    /// Device and inode; `None` while it does not exist yet.
    pub(super) id: Option<(u64, u64)>,
    /// Whether it holds temp files of killed runs, as listed when it was
    /// planned; `None` where it was not listed then.
    pub(super) stale: Option<bool>,
    /// Its entries as listed when it was planned, where it held no stale
    /// temp file and few entries.
    pub(super) listing: Option<crate::Listing>,
}

/// One destination, planned.
pub(super) struct Target<'a> {
    /// The path as given.
    pub(super) rel: PathBuf,
    /// The directory the file lies in (a followed link's target's).
    pub(super) dir: usize,
    /// Its name there.
    pub(super) name: OsString,
    /// The file, for messages.
    pub(super) shown: PathBuf,
    /// What writing it does.
    pub(super) outcome: Outcome,
    /// Its new content.
    pub(super) bytes: &'a [u8],
}

/// Every destination checked, before anything is written.
pub(super) struct Plan<'a> {
    pub(super) dirs: Vec<DirPlan>,
    pub(super) targets: Vec<Target<'a>>,
}

impl<'a> Plan<'a> {
    /// Plans `files`. With `scan` (this run), each existing destination
    /// directory is listed for temp files of killed runs (tagged
    /// `options.temp_tag`) through the descriptor it is planned with.
    pub(super) fn make<P: AsRef<Path>, B: AsRef<[u8]>>(
        root: &Root,
        files: &'a [(P, B)],
        options: &WriteOptions,
        walker: &mut Walker<'_>,
        scan: Option<Run>,
    ) -> Result<Plan<'a>> {
        let mut plan = Plan {
            dirs: Vec::new(),
            targets: Vec::new(),
        };
        let mut by_rel: HashMap<PathBuf, usize> = HashMap::new();
        let mut by_id: HashMap<(u64, u64), usize> = HashMap::new();
        let mut files_seen: HashMap<(usize, OsString), PathBuf> = HashMap::new();
        for (rel, bytes) in files {
            let rel = rel.as_ref();
            let bytes = bytes.as_ref();
            let (dir_rel, name) = split_dest(rel)?;
            let shown = root.shown(rel);
            let (dir, fd) = match by_rel.get(&dir_rel) {
                Some(&i) => (i, walker.open(&dir_rel)?),
                None => {
                    let fd = walker.open(&dir_rel)?;
                    let id = match &fd {
                        Some(fd) => Some(dir_identity(root, fd.as_fd(), &root.shown(&dir_rel))?),
                        None => None,
                    };
                    // (Not the root itself: its descriptor is a copy of
                    // the walker's, whose offset must not move.)
                    let (stale, listing) = match (&fd, scan) {
                        (Some(fd), Some(run)) if !dir_rel.as_os_str().is_empty() => {
                            let (stale, listing) = scan_for_stale_temps(
                                fd.as_fd(),
                                &root.shown(&dir_rel),
                                &options.temp_tag,
                                run,
                            )?;
                            (Some(stale), listing)
                        }
                        _ => (None, None),
                    };
                    if let Some(first) = id.and_then(|id| by_id.get(&id)) {
                        return Err(Error::AliasedDirectory {
                            first: plan
                                .dirs
                                .get(*first)
                                .map(|d| d.shown.clone())
                                .unwrap_or_default(),
                            second: root.shown(&dir_rel),
                        });
                    }
                    let i = plan.dirs.len();
                    plan.dirs.push(DirPlan {
                        reach: Reach::Beneath(dir_rel.clone()),
                        shown: root.shown(&dir_rel),
                        id,
                        stale,
                        listing,
                    });
                    by_rel.insert(dir_rel.clone(), i);
                    if let Some(id) = id {
                        by_id.insert(id, i);
                    }
                    (i, fd)
                }
            };
            let (dir, name, target_shown, outcome) = match fd {
                None => (dir, name, shown.clone(), Outcome::Created),
                Some(fd) => {
                    let listing = plan.dirs.get(dir).and_then(|d| d.listing.as_ref());
                    let found = examine_listed(fd.as_fd(), &name, &shown, bytes, listing)?;
                    match found {
                        Found::Outcome(o) => (dir, name, shown.clone(), o),
                        Found::Symlink(target) if !options.follow_symlinks => {
                            return Err(Error::Symlink {
                                path: shown,
                                target: PathBuf::from(target),
                            });
                        }
                        Found::Symlink(_) => {
                            let f = follow(root, &dir_rel, fd, name, &shown, bytes)?;
                            let id = dir_identity(root, f.dir.as_fd(), &f.dir_shown)?;
                            let i = match by_id.get(&id) {
                                Some(&i) => i,
                                None => {
                                    let i = plan.dirs.len();
                                    plan.dirs.push(DirPlan {
                                        reach: Reach::InRoot(f.dir_rel),
                                        shown: f.dir_shown,
                                        id: Some(id),
                                        stale: None,
                                        listing: None,
                                    });
                                    by_id.insert(id, i);
                                    i
                                }
                            };
                            (i, f.name, f.shown, f.outcome)
                        }
                    }
                }
            };
            if let Some(first) = files_seen.get(&(dir, name.clone())) {
                return Err(Error::SameFile {
                    first: first.clone(),
                    second: shown,
                });
            }
            files_seen.insert((dir, name.clone()), shown.clone());
            plan.targets.push(Target {
                rel: rel.to_path_buf(),
                dir,
                name,
                shown: target_shown,
                outcome,
                bytes,
            });
        }
        Ok(plan)
    }

    pub(super) fn outcomes(&self) -> Vec<(PathBuf, Outcome)> {
        self.targets
            .iter()
            .map(|t| (t.rel.clone(), t.outcome))
            .collect()
    }
}

/// A directory's device and inode, refusing one on a kernel file system
/// (asked once per device, see [`Root::refuse_pseudo_device`]).
fn dir_identity(root: &Root, fd: BorrowedFd<'_>, shown: &Path) -> Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::io("inspect", shown, e))?;
    root.refuse_pseudo_device(fd, st.st_dev, shown)?;
    Ok(sys::identity(&st))
}

/// What is at a destination.
enum Found {
    Outcome(Outcome),
    /// A symbolic link, with its target.
    Symlink(OsString),
}

/// [`examine`], where the directory's `listing` (made while planned) may
/// say `name` is a regular file: then it is opened at once, not looked at
/// first, and the open file's own type and size decide (the same look
/// `examine` takes after opening it). Whatever else the listing or the
/// open finds is examined as `examine` examines it.
fn examine_listed(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    shown: &Path,
    bytes: &[u8],
    listing: Option<&crate::Listing>,
) -> Result<Found> {
    let regular = listing
        .and_then(|l| {
            let at = l.binary_search_by(|(n, _)| n.as_os_str().cmp(name)).ok()?;
            l.get(at)
        })
        .is_some_and(|(_, t)| *t == FileType::Regular);
    if !regular {
        return examine(dir, name, shown, bytes);
    }
    let Ok(fd) = rustix::fs::openat(dir, name, READ_FLAGS | OFlags::NOFOLLOW, Mode::empty()) else {
        return examine(dir, name, shown, bytes);
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", shown, e))?;
    if FileType::of(&st) != FileType::Regular {
        return examine(dir, name, shown, bytes);
    }
    if usize::try_from(sys::size(&st)).ok() != Some(bytes.len()) {
        return Ok(Found::Outcome(Outcome::Updated));
    }
    holds(fd, shown, bytes).map(Found::Outcome)
}

/// What writing `bytes` to `name` in `dir` would do; `shown` names it.
fn examine(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path, bytes: &[u8]) -> Result<Found> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(Found::Outcome(Outcome::Created)),
        Err(e) => return Err(Error::io("inspect", shown, e)),
    };
    match FileType::of(&st) {
        FileType::Regular => compare(dir, name, shown, bytes, &st).map(Found::Outcome),
        FileType::Symlink => {
            let target = rustix::fs::readlinkat(dir, name, Vec::new())
                .map_err(|e| Error::io("read the link", shown, e))?;
            Ok(Found::Symlink(OsString::from_vec(target.into_bytes())))
        }
        kind => Err(Error::NotRegular {
            path: shown.to_path_buf(),
            kind,
        }),
    }
}

/// Whether the regular file `name` in `dir` (whose `stat` is `st`) holds
/// `bytes`: a file of another size differs without being read.
fn compare(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    shown: &Path,
    bytes: &[u8],
    st: &rustix::fs::Stat,
) -> Result<Outcome> {
    if usize::try_from(sys::size(st)).ok() != Some(bytes.len()) {
        return Ok(Outcome::Updated);
    }
    let fd = match rustix::fs::openat(dir, name, READ_FLAGS | OFlags::NOFOLLOW, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(Outcome::Created),
        Err(e) => return Err(Error::io("open", shown, e)),
    };
    let again = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", shown, e))?;
    if sys::identity(&again) != sys::identity(st) || FileType::of(&again) != FileType::Regular {
        return Err(Error::Changed {
            path: shown.to_path_buf(),
        });
    }
    holds(fd, shown, bytes)
}

/// Whether the open regular file `fd` of the new content's size holds
/// `bytes`.
fn holds(fd: rustix::fd::OwnedFd, shown: &Path, bytes: &[u8]) -> Result<Outcome> {
    // The size is the new content's: its bytes are read, not an end of
    // file after them (a file that grows meanwhile grows after the read).
    let mut old = vec![0u8; bytes.len()];
    let mut got = 0;
    let mut file = File::from(fd);
    while let Some(rest) = old.get_mut(got..).filter(|r| !r.is_empty()) {
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", shown, e)),
        }
    }
    Ok(if got == bytes.len() && old == bytes {
        Outcome::Unchanged
    } else {
        Outcome::Updated
    })
}

/// Where a followed link leads.
struct Followed {
    /// The directory of the final file, open.
    dir: OwnedFd,
    /// Its path below the root, as resolved (links in it allowed).
    dir_rel: PathBuf,
    /// Its path, for messages.
    dir_shown: PathBuf,
    /// The final file's name.
    name: OsString,
    /// The final file, for messages.
    shown: PathBuf,
    outcome: Outcome,
}

/// Follows the link `name` in the destination directory `dir` (at
/// `dir_rel`) to the regular file (or nothing) it leads to, inside the root.
fn follow(
    root: &Root,
    dir_rel: &Path,
    dir: OwnedFd,
    name: OsString,
    link_shown: &Path,
    bytes: &[u8],
) -> Result<Followed> {
    let mut dir = dir;
    let mut dir_text: Vec<u8> = dir_rel.as_os_str().as_bytes().to_vec();
    let mut name = name;
    for _ in 0..MAX_LINKS {
        let target = rustix::fs::readlinkat(&dir, name.as_os_str(), Vec::new())
            .map_err(|e| Error::io("read the link", link_shown, e))?
            .into_bytes();
        let joined = if target.first() == Some(&b'/') {
            target.clone()
        } else {
            [dir_text.as_slice(), b"/", target.as_slice()].concat()
        };
        let target_shown = root.shown(Path::new(OsStr::from_bytes(&resolve::normalize(&joined))));
        let unresolvable = |reason: &str| Error::LinkTarget {
            link: link_shown.to_path_buf(),
            target: target_shown.clone(),
            reason: reason.to_owned(),
        };
        let (parent, file) = match joined.iter().rposition(|b| *b == b'/') {
            Some(at) => (
                joined.get(..at).unwrap_or_default(),
                joined.get(at + 1..).unwrap_or_default(),
            ),
            None => (&b""[..], joined.as_slice()),
        };
        if file.is_empty() || file == b"." || file == b".." {
            return Err(unresolvable("it does not name a file"));
        }
        let parent_fd = match resolve::in_root(
            root.fd(),
            OsStr::from_bytes(parent),
            OFlags::RDONLY | OFlags::DIRECTORY,
            true,
            root.resolver(),
        ) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) => {
                return Err(Error::LinkLoop {
                    link: link_shown.to_path_buf(),
                });
            }
            Err(e) => {
                return Err(unresolvable(&format!(
                    "its directory cannot be opened: {e}"
                )));
            }
        };
        let file = OsString::from_vec(file.to_vec());
        let outcome =
            match rustix::fs::statat(&parent_fd, file.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Err(Errno::NOENT) => Some(Outcome::Created),
                Err(e) => return Err(Error::io("inspect", &target_shown, e)),
                Ok(st) => match FileType::of(&st) {
                    FileType::Regular => Some(compare(
                        parent_fd.as_fd(),
                        &file,
                        &target_shown,
                        bytes,
                        &st,
                    )?),
                    FileType::Symlink => None,
                    kind => {
                        return Err(Error::LinkNotRegular {
                            link: link_shown.to_path_buf(),
                            target: target_shown,
                            kind,
                        });
                    }
                },
            };
        let parent_rel = PathBuf::from(OsStr::from_bytes(parent));
        match outcome {
            Some(outcome) => {
                return Ok(Followed {
                    dir: parent_fd,
                    dir_shown: root
                        .shown(Path::new(OsStr::from_bytes(&resolve::normalize(parent)))),
                    dir_rel: parent_rel,
                    name: file,
                    shown: target_shown,
                    outcome,
                });
            }
            None => {
                dir = parent_fd;
                dir_text = parent.to_vec();
                name = file;
            }
        }
    }
    Err(Error::LinkLoop {
        link: link_shown.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What examining a destination found, for comparing.
    fn said(found: Result<Found>) -> String {
        match found {
            Ok(Found::Outcome(o)) => format!("{o:?}"),
            Ok(Found::Symlink(t)) => format!("link to {t:?}"),
            Err(e) => format!("error: {e}"),
        }
    }

    /// A destination examined through a listing that calls it a regular
    /// file (as a listing made a moment before might, the tree having
    /// changed since) is found as a look at the path finds it: the same
    /// file, one of another size or content, one gone, a link, a FIFO, a
    /// directory.
    #[test]
    fn a_listed_file_is_examined_as_a_look_at_it_examines_it() {
        let tmp = std::env::temp_dir().join(format!("rootfs-listed-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("dir")).unwrap();
        std::fs::write(tmp.join("same"), "new").unwrap();
        std::fs::write(tmp.join("other"), "old").unwrap();
        std::fs::write(tmp.join("longer"), "older").unwrap();
        std::os::unix::fs::symlink("same", tmp.join("link")).unwrap();
        let dir =
            rustix::fs::open(&tmp, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        rustix::fs::mknodat(
            &dir,
            "fifo",
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let names = ["dir", "fifo", "gone", "link", "longer", "other", "same"];
        let listing: crate::Listing = names
            .iter()
            .map(|n| (OsString::from(n), FileType::Regular))
            .collect();
        for name in names {
            let name = OsStr::new(name);
            let shown = tmp.join(name);
            assert_eq!(
                said(examine_listed(
                    dir.as_fd(),
                    name,
                    &shown,
                    b"new",
                    Some(&listing)
                )),
                said(examine(dir.as_fd(), name, &shown, b"new")),
                "{name:?}"
            );
        }
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn destinations_must_be_plain_relative_names() {
        for bad in ["", "/", "a//b", "a/", "a/./b", "a/../b", "..", "a/\0"] {
            assert!(split_dest(Path::new(bad)).is_err(), "{bad:?}");
        }
        let long = format!("a/{}", "x".repeat(256));
        assert!(split_dest(Path::new(&long)).is_err());
        let (dir, name) = split_dest(Path::new("/etc/x.d/a.conf")).unwrap();
        assert_eq!(dir, Path::new("etc/x.d"));
        assert_eq!(name, "a.conf");
        let (dir, name) = split_dest(Path::new("a.conf")).unwrap();
        assert_eq!(dir, Path::new(""));
        assert_eq!(name, "a.conf");
    }
}
