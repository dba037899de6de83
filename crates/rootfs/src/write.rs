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
//! 2. **Stage.** Temp files of killed runs are removed; missing
//!    directories are created (`mkdirat` relative to their parent, mode
//!    0755 whatever the umask); every new content goes to a temp file
//!    beside its destination (mode 0644), named after the destination,
//!    this process and this run, so no other run's cleanup can take it.
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

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::read::{READ_FLAGS, refuse_pseudo};
use crate::resolve::{self, MAX_LINKS};
use crate::root::Root;
use crate::sys::{self, FileType};

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
/// How many directory descriptors a run keeps open for reuse.
const CACHED_DIRS: usize = 64;

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
    let planned = Plan::make(root, files, options, &mut walker)?;
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
    check_tag(&options.temp_tag)?;
    let _lock = lock(root)?;
    let mut walker = Walker::new(root);
    let planned = Plan::make(root, files, options, &mut walker)?;
    let run = Run::new();
    for (i, d) in planned.dirs.iter().enumerate() {
        if d.id.is_some() {
            let fd = reopen_dir(root, &mut walker, &planned.dirs, i)?;
            remove_stale_temps(fd.as_fd(), &d.shown, &options.temp_tag, run)?;
        }
    }
    let outcomes = planned.outcomes();
    if planned
        .targets
        .iter()
        .all(|t| t.outcome == Outcome::Unchanged)
    {
        return Ok(outcomes);
    }
    let mut staging = Staging {
        root,
        walker,
        dirs: planned.dirs,
        temps: Vec::new(),
        created: Vec::new(),
    };
    // One descriptor per file system, opened before anything is written
    // there, so that `syncfs` reports write-back errors of this run.
    let mut file_systems: BTreeMap<u64, (OwnedFd, PathBuf)> = BTreeMap::new();
    for (i, t) in planned.targets.iter().enumerate() {
        if t.outcome == Outcome::Unchanged {
            continue;
        }
        let dir = staging.dir(t.dir, true)?;
        let st = rustix::fs::fstat(&dir).map_err(|e| Error::io("inspect", &t.shown, e))?;
        if let std::collections::btree_map::Entry::Vacant(slot) = file_systems.entry(st.st_dev) {
            let shown = staging.dirs[t.dir].shown.clone();
            let dup = dir.try_clone().map_err(|e| Error::io("open", &shown, e))?;
            slot.insert((dup, shown));
        }
        let temp = temp_name(&t.name, &options.temp_tag, run, i);
        let temp_shown = staging.dirs[t.dir].shown.join(&temp);
        let stage_err = |action, err: io::Error| Error::Stage {
            dest: t.shown.clone(),
            temp: temp_shown.clone(),
            action,
            err,
        };
        let fd = rustix::fs::openat(
            &dir,
            temp.as_os_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| stage_err("create", e.into()))?;
        // From here on the temp file is ours to remove on failure.
        staging
            .temps
            .push((t.dir, temp.clone(), t.name.clone(), t.shown.clone()));
        // The umask must not make the file unreadable to others.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o644))
            .map_err(|e| stage_err("write", e.into()))?;
        File::from(fd)
            .write_all(t.bytes)
            .map_err(|e| stage_err("write", e))?;
    }
    for (fd, shown) in file_systems.values() {
        rustix::fs::syncfs(fd).map_err(|e| Error::io("sync the file system of", shown, e))?;
    }
    staging.commit()?;
    for (fd, shown) in file_systems.values() {
        rustix::fs::syncfs(fd).map_err(|e| Error::io("sync the file system of", shown, e))?;
    }
    Ok(outcomes)
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

/// This run: the process and a random number, in every temp file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    pid: u32,
    nonce: u64,
}

impl Run {
    fn new() -> Run {
        // std's hasher keys come from the system's random source.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        Run {
            pid: std::process::id(),
            nonce: h.finish(),
        }
    }
}

/// The temp file name for destination number `index` named `name`:
/// `.NAME.TAG.PID.NONCE-INDEX`, the name shortened to fit 255 bytes.
fn temp_name(name: &OsStr, tag: &str, run: Run, index: usize) -> OsString {
    let suffix = format!(".{tag}.{}.{:016x}-{index}", run.pid, run.nonce);
    let room = NAME_MAX.saturating_sub(1 + suffix.len());
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(NAME_MAX);
    out.push(b'.');
    out.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(bytes));
    out.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(out)
}

/// Who made a temp file, read from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Maker {
    /// `.NAME.TAG.PID.NONCE-N`.
    Run(Run),
    /// `.NAME.TAG.PID`, as earlier versions named them.
    Pid(u32),
}

/// The maker of a temp file of ours with `tag`, if `name` is one.
fn temp_maker(name: &[u8], tag: &str) -> Option<Maker> {
    let marker = format!(".{tag}.");
    let marker = marker.as_bytes();
    let at = name.windows(marker.len()).rposition(|w| w == marker)?;
    // A leading dot and at least one byte of name before the marker.
    if name.first() != Some(&b'.') || at < 2 {
        return None;
    }
    let rest = std::str::from_utf8(name.get(at + marker.len()..)?).ok()?;
    let digits = |s: &str, most: usize| {
        !s.is_empty() && s.len() <= most && s.bytes().all(|b| b.is_ascii_digit())
    };
    if digits(rest, 10) {
        return rest.parse().ok().map(Maker::Pid);
    }
    let (pid, rest) = rest.split_once('.')?;
    let (nonce, index) = rest.split_once('-')?;
    if !digits(pid, 10) || nonce.len() != 16 || !digits(index, 20) {
        return None;
    }
    Some(Maker::Run(Run {
        pid: pid.parse().ok()?,
        nonce: u64::from_str_radix(nonce, 16).ok()?,
    }))
}

/// Whether a process with this id runs (one that exists but is not ours
/// to signal runs too).
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(rustix::process::test_kill_process(pid), Err(Errno::SRCH))
}

/// Whether a temp file made by `maker` is stale for the run `me`: never
/// one of this run's; one of an earlier process that had this process id;
/// one of a process that is gone. A live process's temp files stay (it
/// may be a run on another root writing through a link into here).
fn stale(maker: Maker, me: Run) -> bool {
    match maker {
        Maker::Run(run) if run == me => false,
        Maker::Run(Run { pid, .. }) | Maker::Pid(pid) if pid == me.pid => true,
        Maker::Run(Run { pid, .. }) | Maker::Pid(pid) => !alive(pid),
    }
}

/// Removes the stale temp files (see [`stale`]) with `tag` from the
/// directory `dir`, of any destination name: a killed run may have been
/// writing other files. Only regular files are removed.
fn remove_stale_temps(dir: BorrowedFd<'_>, shown: &Path, tag: &str, me: Run) -> Result<()> {
    let listing = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("open", shown, e))?;
    let mut doomed = Vec::new();
    for entry in rustix::fs::Dir::new(listing).map_err(|e| Error::io("list", shown, e))? {
        let entry = entry.map_err(|e| Error::io("list", shown, e))?;
        let name = entry.file_name().to_bytes();
        if temp_maker(name, tag).is_some_and(|m| stale(m, me)) {
            doomed.push(OsString::from_vec(name.to_vec()));
        }
    }
    for name in doomed {
        let path = shown.join(&name);
        match rustix::fs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::of(&st) == FileType::Regular => {}
            _ => continue,
        }
        match rustix::fs::unlinkat(dir, name.as_os_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(Error::io("remove stale temp file", path, e)),
        }
    }
    Ok(())
}

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
enum Reach {
    /// A destination's own directory: real directories all the way (no
    /// link), created where missing.
    Beneath(PathBuf),
    /// The directory a followed link's target lies in: resolved inside
    /// the root, links followed; it must exist.
    InRoot(PathBuf),
}

/// A directory the run writes into.
#[derive(Debug)]
struct DirPlan {
    reach: Reach,
    /// Its path, for messages.
    shown: PathBuf,
    /// Device and inode; `None` while it does not exist yet.
    id: Option<(u64, u64)>,
}

/// One destination, planned.
struct Target<'a> {
    /// The path as given.
    rel: PathBuf,
    /// The directory the file lies in (a followed link's target's).
    dir: usize,
    /// Its name there.
    name: OsString,
    /// The file, for messages.
    shown: PathBuf,
    outcome: Outcome,
    bytes: &'a [u8],
}

/// Every destination checked, before anything is written.
struct Plan<'a> {
    dirs: Vec<DirPlan>,
    targets: Vec<Target<'a>>,
}

impl<'a> Plan<'a> {
    fn make<P: AsRef<Path>, B: AsRef<[u8]>>(
        root: &Root,
        files: &'a [(P, B)],
        options: &WriteOptions,
        walker: &mut Walker<'_>,
    ) -> Result<Plan<'a>> {
        let mut plan = Plan {
            dirs: Vec::new(),
            targets: Vec::new(),
        };
        let mut by_rel: BTreeMap<PathBuf, usize> = BTreeMap::new();
        let mut by_id: BTreeMap<(u64, u64), usize> = BTreeMap::new();
        let mut files_seen: BTreeMap<(usize, OsString), PathBuf> = BTreeMap::new();
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
                        Some(fd) => Some(dir_identity(fd.as_fd(), &root.shown(&dir_rel))?),
                        None => None,
                    };
                    if let Some(first) = id.and_then(|id| by_id.get(&id)) {
                        return Err(Error::AliasedDirectory {
                            first: plan.dirs[*first].shown.clone(),
                            second: root.shown(&dir_rel),
                        });
                    }
                    let i = plan.dirs.len();
                    plan.dirs.push(DirPlan {
                        reach: Reach::Beneath(dir_rel.clone()),
                        shown: root.shown(&dir_rel),
                        id,
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
                    let found = examine(fd.as_fd(), &name, &shown, bytes)?;
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
                            let id = dir_identity(f.dir.as_fd(), &f.dir_shown)?;
                            let i = match by_id.get(&id) {
                                Some(&i) => i,
                                None => {
                                    let i = plan.dirs.len();
                                    plan.dirs.push(DirPlan {
                                        reach: Reach::InRoot(f.dir_rel),
                                        shown: f.dir_shown,
                                        id: Some(id),
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

    fn outcomes(&self) -> Vec<(PathBuf, Outcome)> {
        self.targets
            .iter()
            .map(|t| (t.rel.clone(), t.outcome))
            .collect()
    }
}

/// A directory's device and inode, refusing one on a kernel file system.
fn dir_identity(fd: BorrowedFd<'_>, shown: &Path) -> Result<(u64, u64)> {
    refuse_pseudo(fd, shown)?;
    let st = rustix::fs::fstat(fd).map_err(|e| Error::io("inspect", shown, e))?;
    Ok(sys::identity(&st))
}

/// What is at a destination.
enum Found {
    Outcome(Outcome),
    /// A symbolic link, with its target.
    Symlink(OsString),
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
    let mut old = Vec::with_capacity(bytes.len().saturating_add(1));
    let limit = u64::try_from(bytes.len())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    File::from(fd)
        .take(limit)
        .read_to_end(&mut old)
        .map_err(|e| Error::io("read", shown, e))?;
    Ok(if old == bytes {
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

/// Opens real directories below the root one component at a time,
/// keeping a few ancestors open for the next destinations.
struct Walker<'r> {
    root: &'r Root,
    cache: BTreeMap<PathBuf, OwnedFd>,
}

impl<'r> Walker<'r> {
    fn new(root: &'r Root) -> Walker<'r> {
        Walker {
            root,
            cache: BTreeMap::new(),
        }
    }

    /// The directory at `rel`; `None` if a component is missing.
    fn open(&mut self, rel: &Path) -> Result<Option<OwnedFd>> {
        self.walk(rel, None)
    }

    /// The directory at `rel`, creating what is missing (recorded in
    /// `created`, outermost first).
    fn create(&mut self, rel: &Path, created: &mut Vec<PathBuf>) -> Result<OwnedFd> {
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
        // The deepest ancestor already open.
        let mut start = 0;
        let mut cur: Option<OwnedFd> = None;
        for k in (1..parts.len()).rev() {
            let prefix: PathBuf = parts.iter().take(k).collect();
            if let Some(fd) = self.cache.get(&prefix) {
                cur = Some(
                    fd.try_clone()
                        .map_err(|e| Error::io("open", self.root.shown(&prefix), e))?,
                );
                start = k;
                break;
            }
        }
        let mut cur = match cur {
            Some(fd) => fd,
            None => rustix::fs::openat(
                self.root.fd(),
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::io("open", self.root.path(), e))?,
        };
        for k in start..parts.len() {
            let Some(part) = parts.get(k) else { break };
            let prefix: PathBuf = parts.iter().take(k + 1).collect();
            let next = match resolve::child_dir(cur.as_fd(), part, self.root.resolver()) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                    let Some(created) = create.as_deref_mut() else {
                        return Ok(None);
                    };
                    self.make_dir(cur.as_fd(), part, &prefix, created)?
                }
                Err(e) => return Err(self.diagnose(cur.as_fd(), part, &prefix, e)),
            };
            if k + 1 < parts.len()
                && self.cache.len() < CACHED_DIRS
                && !self.cache.contains_key(&prefix)
                && let Ok(dup) = next.try_clone()
            {
                self.cache.insert(prefix, dup);
            }
            cur = next;
        }
        Ok(Some(cur))
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
fn reopen_dir(root: &Root, walker: &mut Walker<'_>, dirs: &[DirPlan], i: usize) -> Result<OwnedFd> {
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

/// Temp files written and directories made, removed again unless the
/// renames happen.
struct Staging<'r> {
    root: &'r Root,
    walker: Walker<'r>,
    dirs: Vec<DirPlan>,
    /// (directory, temp name, destination name, destination for messages).
    temps: Vec<(usize, OsString, OsString, PathBuf)>,
    /// Directories made, outermost first.
    created: Vec<PathBuf>,
}

impl Staging<'_> {
    /// Directory `i`, created if it is missing and `create`.
    fn dir(&mut self, i: usize, create: bool) -> Result<OwnedFd> {
        let planned = self.dirs.get(i).map(|d| (d.reach.clone(), d.id));
        if let Some((Reach::Beneath(rel), None)) = planned
            && create
        {
            let fd = self.walker.create(&rel, &mut self.created)?;
            let st = rustix::fs::fstat(&fd)
                .map_err(|e| Error::io("inspect", self.root.shown(&rel), e))?;
            if let Some(d) = self.dirs.get_mut(i) {
                d.id = Some(sys::identity(&st));
            }
            return Ok(fd);
        }
        reopen_dir(self.root, &mut self.walker, &self.dirs, i)
    }

    /// Renames every temp file over its destination, in order. On a
    /// failure the temp files not yet renamed are removed.
    fn commit(mut self) -> Result<()> {
        let temps = std::mem::take(&mut self.temps);
        for (n, (dir, temp, name, shown)) in temps.iter().enumerate() {
            let renamed = self.dir(*dir, false).and_then(|fd| {
                rustix::fs::renameat(&fd, temp.as_os_str(), &fd, name.as_os_str())
                    .map_err(|e| Error::io("replace", shown, e))
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
        for (dir, temp, _, _) in std::mem::take(&mut self.temps) {
            if let Ok(fd) = self.dir(dir, false) {
                let _ = rustix::fs::unlinkat(&fd, temp.as_os_str(), AtFlags::empty());
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

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "rootfs-tmp";

    #[test]
    fn temp_names_are_recognised_exactly() {
        let run = Run {
            pid: 4242,
            nonce: 0x0123_4567_89ab_cdef,
        };
        let name = temp_name(OsStr::new("10-hardening.conf"), TAG, run, 7);
        assert_eq!(
            name,
            ".10-hardening.conf.rootfs-tmp.4242.0123456789abcdef-7"
        );
        assert_eq!(temp_maker(name.as_bytes(), TAG), Some(Maker::Run(run)));
        assert_eq!(
            temp_maker(b".10-hardening.conf.rootfs-tmp.4242", TAG),
            Some(Maker::Pid(4242))
        );
        for not_ours in [
            "10-hardening.conf",
            ".10-hardening.conf.rootfs-tmp.",
            ".10-hardening.conf.rootfs-tmp.backup",
            ".10-hardening.conf.rootfs-tmp.12x",
            ".10-hardening.conf.rootfs-tmp.12.0123456789abcdef",
            ".10-hardening.conf.rootfs-tmp.12.0123456789abcde-1",
            ".10-hardening.conf.other-tmp.12",
            "x.rootfs-tmp.12",
            ".rootfs-tmp.12",
        ] {
            assert_eq!(temp_maker(not_ours.as_bytes(), TAG), None, "{not_ours}");
        }
    }

    #[test]
    fn long_names_make_temp_names_that_fit() {
        let run = Run {
            pid: u32::MAX,
            nonce: u64::MAX,
        };
        let long = "x".repeat(255);
        let name = temp_name(OsStr::new(&long), TAG, run, usize::MAX);
        assert_eq!(name.len(), 255);
        assert_eq!(temp_maker(name.as_bytes(), TAG), Some(Maker::Run(run)));
    }

    #[test]
    fn this_runs_temps_are_never_stale() {
        let me = Run {
            pid: std::process::id(),
            nonce: 1,
        };
        assert!(!stale(Maker::Run(me), me));
        // The same process id, another run: a process before us.
        assert!(stale(Maker::Run(Run { nonce: 2, ..me }), me));
        assert!(stale(Maker::Pid(me.pid), me));
        // Pid 1 runs; u32::MAX never does.
        assert!(!stale(Maker::Pid(1), me));
        assert!(stale(Maker::Pid(u32::MAX), me));
        assert!(!stale(Maker::Run(Run { pid: 1, nonce: 1 }), me));
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

    #[test]
    fn tags_are_checked() {
        assert!(check_tag("left4me-harden-tmp").is_ok());
        for bad in ["", "A", "a.b", "a/b", &"x".repeat(33)] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
    }
}
