//! systemd 257's unit loading, as the system manager does it: the unit
//! search path, the fragment (with template fallback, aliases and masks),
//! the drop-in directories at every level (the unit's, its template's,
//! the dash-prefix ones, the type-wide `service.d/`, for the unit and each
//! alias), same-name precedence across directories, file-name order, and
//! then every file read with systemd's lexer and parsers.
//!
//! Sources followed: `unit_file_build_name_map()`,
//! `unit_file_find_fragment()` and `unit_file_resolve_symlink()` of
//! `src/shared/unit-file.c`, `unit_file_find_dropin_paths()` and
//! `unit_file_find_dirs()` of `src/shared/dropin.c`, `conf_files_list_strv()`
//! of `src/basic/conf-files.c`, `lookup_paths_init()` of
//! `src/libsystemd/sd-path/path-lookup.c` and `unit_load_fragment()` /
//! `unit_load_dropin()` of `src/core/`.
//!
//! All file access goes through [`Fs`], which sees paths as systemd does
//! (absolute, inside whatever root the implementation confines them to).
//!
//! # Limitations
//!
//! - Generators do not run: the generator directories are read as they
//!   are.
//! - `.wants/`, `.requires/` and `.upholds/` directories (dependencies,
//!   not settings) are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::effective::{Effective, Replays};
use crate::lexer::{Diagnostic, Level};
use crate::systemd::specifier;

/// The system manager's unit search path, highest priority first
/// (`lookup_paths_init()` for `RUNTIME_SCOPE_SYSTEM`, no `$SYSTEMD_UNIT_PATH`).
pub const SEARCH_PATH: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
];

/// What a directory entry is (its `d_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (device, FIFO, socket).
    Other,
}

/// One entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The name (entries whose names are not UTF-8 are left out: no unit
    /// name or drop-in name systemd reads can be).
    pub name: String,
    /// What it is, without following a symlink.
    pub kind: EntryKind,
}

/// What a path leads to, following symbolic links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Nothing (or a dangling link, or a loop).
    Missing,
    /// A regular file of this size.
    File(u64),
    /// A directory.
    Dir,
    /// The null device (`/dev/null`, or a link to it): a mask.
    Null,
    /// Anything else (device, FIFO, socket): systemd would open it and
    /// block or fail; the model refuses to read it.
    Other,
}

/// Why reading failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsError(pub String);

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A read-only view of a file system as systemd sees it: absolute paths,
/// symbolic links followed within whatever root the view is confined to.
///
/// A view is shared by readers on several threads (`Sync`): one that keeps
/// answers keeps them behind a lock.
pub trait Fs: Sync {
    /// The entries of directory `path`, or `None` if it is missing or not a
    /// directory.
    fn read_dir(&self, path: &str) -> Result<Option<Vec<DirEntry>>, FsError>;
    /// The target text of symbolic link `path`, if it is one.
    fn read_link(&self, path: &str) -> Result<Option<String>, FsError>;
    /// What `path` leads to, following links.
    fn target(&self, path: &str) -> Result<Target, FsError>;
    /// The bytes of regular file `path` (following links).
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError>;
    /// How `path` is shown to people (under a root: the host path).
    fn display(&self, path: &str) -> String {
        path.to_owned()
    }
    /// Everything this view refused to read so far (a file that is not
    /// regular, on a kernel file system, too large, over the run's budget),
    /// each once, in the order met. A reader that skipped such a path
    /// cannot say what systemd would read there: a caller that found any
    /// must report them rather than a result.
    fn refused(&self) -> Vec<String> {
        Vec::new()
    }
}

/// An in-memory file system, for tests and generated corpora.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemFs {
    nodes: BTreeMap<String, MemNode>,
    shown: BTreeMap<String, String>,
}

/// A node of a [`MemFs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemNode {
    /// A regular file.
    File(Vec<u8>),
    /// A directory.
    Dir,
    /// A symbolic link to this target text.
    Symlink(String),
    /// A character device, FIFO or socket.
    Special,
}

fn parent_of(path: &str) -> Option<&str> {
    let (p, _) = path.rsplit_once('/')?;
    Some(if p.is_empty() { "/" } else { p })
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        cat(&[dir, name])
    } else {
        cat(&[dir, "/", name])
    }
}

/// The pieces one after another, in one allocation (paths are built for
/// every file of every unit; `format!` costs several times more).
fn cat(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for p in pieces {
        out.push_str(p);
    }
    out
}

impl MemFs {
    /// An empty file system (just `/`).
    pub fn new() -> MemFs {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_owned(), MemNode::Dir);
        MemFs {
            nodes,
            shown: BTreeMap::new(),
        }
    }

    fn mkdirs(&mut self, path: &str) {
        let mut p = parent_of(path);
        while let Some(dir) = p {
            self.nodes.entry(dir.to_owned()).or_insert(MemNode::Dir);
            if dir == "/" {
                break;
            }
            p = parent_of(dir);
        }
    }

    /// Adds a regular file (and its parent directories).
    pub fn file(&mut self, path: &str, bytes: impl Into<Vec<u8>>) -> &mut MemFs {
        self.mkdirs(path);
        self.nodes
            .insert(path.to_owned(), MemNode::File(bytes.into()));
        self
    }

    /// Adds a symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut MemFs {
        self.mkdirs(path);
        self.nodes
            .insert(path.to_owned(), MemNode::Symlink(target.to_owned()));
        self
    }

    /// Adds a directory.
    pub fn dir(&mut self, path: &str) -> &mut MemFs {
        self.mkdirs(path);
        self.nodes.insert(path.to_owned(), MemNode::Dir);
        self
    }

    /// Adds a special file (device, FIFO).
    pub fn special(&mut self, path: &str) -> &mut MemFs {
        self.mkdirs(path);
        self.nodes.insert(path.to_owned(), MemNode::Special);
        self
    }

    /// Names `path` `shown` in diagnostics and reports (such as the path a
    /// file was given by).
    pub fn show_as(&mut self, path: &str, shown: &str) -> &mut MemFs {
        self.shown.insert(path.to_owned(), shown.to_owned());
        self
    }

    /// Every node, by path.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &MemNode)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Resolves `path` following links (at most 32), components `.` and
    /// `..` handled as the kernel does, never above `/`.
    fn resolve(&self, path: &str) -> Option<String> {
        walk_links(path, &|p| match self.nodes.get(p)? {
            MemNode::Symlink(t) => Some(Some(t.clone())),
            _ => Some(None),
        })
    }
}

impl Fs for MemFs {
    fn read_dir(&self, path: &str) -> Result<Option<Vec<DirEntry>>, FsError> {
        let Some(dir) = self.resolve(path) else {
            return Ok(None);
        };
        if self.nodes.get(&dir) != Some(&MemNode::Dir) {
            return Ok(None);
        }
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            cat(&[&dir, "/"])
        };
        // Only the nodes below the directory (the map is sorted by path).
        let below = self
            .nodes
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(p, _)| p.starts_with(&prefix));
        Ok(Some(
            below
                .filter_map(|(p, n)| {
                    let name = p.strip_prefix(&prefix)?;
                    (!name.is_empty() && !name.contains('/')).then(|| DirEntry {
                        name: name.to_owned(),
                        kind: match n {
                            MemNode::File(_) => EntryKind::File,
                            MemNode::Dir => EntryKind::Dir,
                            MemNode::Symlink(_) => EntryKind::Symlink,
                            MemNode::Special => EntryKind::Other,
                        },
                    })
                })
                .collect(),
        ))
    }

    fn read_link(&self, path: &str) -> Result<Option<String>, FsError> {
        let parent = parent_of(path).and_then(|p| self.resolve(p));
        let name = path.rsplit('/').next().unwrap_or_default();
        Ok(parent.and_then(|p| match self.nodes.get(&join(&p, name)) {
            Some(MemNode::Symlink(t)) => Some(t.clone()),
            _ => None,
        }))
    }

    fn target(&self, path: &str) -> Result<Target, FsError> {
        let Some(p) = self.resolve(path) else {
            return Ok(Target::Missing);
        };
        if p == "/dev/null" {
            return Ok(Target::Null);
        }
        Ok(match self.nodes.get(&p) {
            None | Some(MemNode::Symlink(_)) => Target::Missing,
            Some(MemNode::File(b)) => Target::File(b.len() as u64),
            Some(MemNode::Dir) => Target::Dir,
            Some(MemNode::Special) => Target::Other,
        })
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        match self.resolve(path).and_then(|p| self.nodes.get(&p)) {
            Some(MemNode::File(b)) => Ok(b.clone()),
            _ => Err(FsError(format!("{path}: not a regular file"))),
        }
    }

    fn display(&self, path: &str) -> String {
        self.shown
            .get(path)
            .cloned()
            .unwrap_or_else(|| path.to_owned())
    }
}

/// A file system with some files laid over another: what a host would
/// look like after those files are written (parent directories appear as
/// needed; an overlaid file hides whatever was at its path).
pub struct Overlay<'a> {
    base: &'a dyn Fs,
    files: BTreeMap<String, std::borrow::Cow<'a, [u8]>>,
}

impl<'a> Overlay<'a> {
    /// `files` (absolute paths) laid over `base`: owned contents
    /// (`Vec<u8>`) or contents borrowed for as long as the overlay
    /// (`&[u8]`, not copied).
    pub fn new<B: Into<std::borrow::Cow<'a, [u8]>>>(
        base: &'a dyn Fs,
        files: impl IntoIterator<Item = (String, B)>,
    ) -> Self {
        Overlay {
            base,
            files: files.into_iter().map(|(p, b)| (p, b.into())).collect(),
        }
    }

    fn is_overlaid_dir(&self, path: &str) -> bool {
        let prefix = cat(&[path.trim_end_matches('/'), "/"]);
        self.files
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(f, _)| f.starts_with(&prefix))
    }
}

impl Fs for Overlay<'_> {
    fn read_dir(&self, path: &str) -> Result<Option<Vec<DirEntry>>, FsError> {
        let mut entries = self.base.read_dir(path)?;
        let prefix = cat(&[path.trim_end_matches('/'), "/"]);
        // The overlaid files below `path` sort together: only they are
        // looked at, and each entry is found by name, not by a scan.
        let mut at: BTreeMap<String, usize> = BTreeMap::new();
        for f in self
            .files
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(f, _)| f)
            .take_while(|f| f.starts_with(&prefix))
        {
            let Some(rest) = f.strip_prefix(&prefix) else {
                continue;
            };
            let (name, kind) = match rest.split_once('/') {
                Some((dir, _)) => (dir, EntryKind::Dir),
                None => (rest, EntryKind::File),
            };
            let list = entries.get_or_insert_with(Vec::new);
            if at.is_empty() {
                at = list
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.name.clone(), i))
                    .collect();
            }
            match at.get(name).and_then(|&i| list.get_mut(i)) {
                Some(e) if kind == EntryKind::File => e.kind = EntryKind::File,
                Some(_) => {}
                None => {
                    at.insert(name.to_owned(), list.len());
                    list.push(DirEntry {
                        name: name.to_owned(),
                        kind,
                    });
                }
            }
        }
        Ok(entries)
    }

    fn read_link(&self, path: &str) -> Result<Option<String>, FsError> {
        if self.files.contains_key(path) {
            return Ok(None);
        }
        self.base.read_link(path)
    }

    fn target(&self, path: &str) -> Result<Target, FsError> {
        if let Some(b) = self.files.get(path) {
            return Ok(Target::File(b.len() as u64));
        }
        match self.base.target(path)? {
            Target::Missing if self.is_overlaid_dir(path) => Ok(Target::Dir),
            t => Ok(t),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        match self.files.get(path) {
            Some(b) => Ok(b.to_vec()),
            None => self.base.read(path),
        }
    }

    fn display(&self, path: &str) -> String {
        self.base.display(path)
    }

    fn refused(&self) -> Vec<String> {
        self.base.refused()
    }
}

/// The largest unit file or drop-in the reader reads (bytes). A drop-in is
/// a few KiB; a larger file is refused with an error naming it rather than
/// read in part (systemd would read it whole).
pub const FILE_MAX: usize = 1024 * 1024;

/// A host's tree under a root directory, read through [`rootfs`]: links
/// followed inside the root as systemd follows them under `--root`, only
/// regular files on regular file systems read, every read within one
/// [`rootfs::Budget`]. When the budget runs out the read fails and
/// [`Fs::refused`] names what was too big; a caller must then stop
/// rather than report on half a tree.
pub struct RootFs<'a> {
    root: &'a rootfs::Root,
    budget: &'a rootfs::Budget,
    refused: Mutex<Vec<String>>,
    /// The paths looked at last and what they are, newest last: what a
    /// path leads to and its link target are asked one after the other,
    /// and one look at the path answers both (the tree must not change
    /// while it is read). A few, not one: readers on other threads ask in
    /// between.
    inspected: Mutex<Vec<(String, Inspected)>>,
    /// Directories listed, by path, and how many entries they hold in
    /// all: whether a path in one is there, and whether it is a
    /// directory, is answered from its listing (the tree must not change
    /// while it is read). Small directories only, a bounded number of
    /// entries in all.
    listed: Mutex<(std::collections::HashMap<String, Vec<DirEntry>>, usize)>,
    /// The regular files looked at last, by path, and the descriptors the
    /// looks opened, newest last: a file is read through its descriptor
    /// if it is read soon after.
    kept: Mutex<Vec<(String, std::os::fd::OwnedFd)>>,
    /// The root's host path where it is UTF-8: a path is shown by joining
    /// text, not through `Path` (see [`shown`]).
    root_text: Option<String>,
}

/// What [`rootfs::Root::shown`] shows for `rel` (no leading `/`) under a
/// root whose host path is `root`, as `Path::join` joins them: a `/`
/// between them unless the root is empty or ends with one.
fn shown(root: &str, rel: &str) -> String {
    if root.is_empty() {
        return rel.to_owned();
    }
    join(root, rel)
}

/// A listing's entries as the loader sees them (a name that is not UTF-8
/// is one no unit path can name).
fn entries_of(listing: rootfs::Listing) -> Vec<DirEntry> {
    listing
        .into_iter()
        .filter_map(|(name, file_type)| {
            let name = name.into_string().ok()?;
            let kind = match file_type {
                rootfs::FileType::Regular => EntryKind::File,
                rootfs::FileType::Directory => EntryKind::Dir,
                rootfs::FileType::Symlink => EntryKind::Symlink,
                _ => EntryKind::Other,
            };
            Some(DirEntry { name, kind })
        })
        .collect()
}

/// The value in `m`: a reader that panicked while holding it left
/// nothing half-written (each holder makes one whole change).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How many recent looks [`RootFs`] keeps.
const LOOKS_KEPT: usize = 4;

/// Adds `entry` as the newest of `kept`, dropping the oldest past
/// [`LOOKS_KEPT`].
fn keep_last<T>(kept: &mut Vec<T>, entry: T) {
    if kept.len() == LOOKS_KEPT {
        kept.remove(0);
    }
    kept.push(entry);
}

/// What [`rootfs::Root::inspect`] says of a path.
type Inspected = Option<(rootfs::Metadata, Option<std::ffi::OsString>)>;

impl<'a> RootFs<'a> {
    /// [`rootfs::Root::inspect`] of `path`, the last answer given again
    /// for the same path.
    fn inspect(&self, path: &str) -> Result<Inspected, rootfs::Error> {
        if let Some((_, i)) = lock(&self.inspected).iter().rev().find(|(p, _)| p == path) {
            return Ok(i.clone());
        }
        if let Some(known) = self.answer_from_listing(path) {
            return Ok(known);
        }
        let kept = self.root.inspect_kept(Self::rel(path))?;
        let (i, fd) = match kept {
            Some((m, t, fd)) => (Some((m, t)), fd),
            None => (None, None),
        };
        if let Some(fd) = fd {
            keep_last(&mut lock(&self.kept), (path.to_owned(), fd));
        }
        keep_last(&mut lock(&self.inspected), (path.to_owned(), i.clone()));
        Ok(i)
    }

    /// The tree under `root`, read within `budget`.
    pub fn new(root: &'a rootfs::Root, budget: &'a rootfs::Budget) -> Self {
        RootFs {
            root,
            budget,
            refused: Mutex::new(Vec::new()),
            inspected: Mutex::new(Vec::new()),
            listed: Default::default(),
            kept: Mutex::new(Vec::new()),
            root_text: root.path().to_str().map(str::to_owned),
        }
    }

    /// A directory listed with at most this many entries is kept.
    const LISTED_DIR: usize = 4096;
    /// At most this many entries are kept in all.
    const LISTED_ALL: usize = 65_536;

    /// What the listing of its directory says of `path`, if that was
    /// listed: nothing there, or a directory (not a link); `None` where
    /// the listing cannot say (not listed, a file whose size it does not
    /// give, a link, a name that is not one entry).
    fn answer_from_listing(&self, path: &str) -> Option<Inspected> {
        let (dir, name) = path.rsplit_once('/')?;
        if name.is_empty() || name == "." || name == ".." {
            return None;
        }
        let dir = if dir.is_empty() { "/" } else { dir };
        let listed = lock(&self.listed);
        let entries = listed.0.get(dir)?;
        match entries.binary_search_by(|e| e.name.as_str().cmp(name)) {
            Err(_) => Some(None),
            Ok(i) => match entries.get(i)?.kind {
                EntryKind::Dir => Some(Some((
                    rootfs::Metadata {
                        file_type: rootfs::FileType::Directory,
                        size: 0,
                    },
                    None,
                ))),
                _ => None,
            },
        }
    }

    /// This view, knowing what directories listed elsewhere hold (paths
    /// relative to the root, as [`rootfs::Written::listed`] gives them):
    /// they are not listed again. The tree must not have changed since.
    pub fn with_listed(self, listed: Vec<(std::path::PathBuf, rootfs::Listing)>) -> Self {
        for (rel, listing) in listed {
            if let Some(rel) = rel.to_str() {
                let dir = cat(&["/", rel.trim_matches('/')]);
                self.keep_listing(&dir, &entries_of(listing));
            }
        }
        self
    }

    /// Keeps the listing of `dir` for [`RootFs::answer_from_listing`] if it is
    /// small and the bound allows.
    fn keep_listing(&self, dir: &str, entries: &[DirEntry]) {
        let mut listed = lock(&self.listed);
        let fits = entries.len() <= Self::LISTED_DIR
            && listed.1 + entries.len() <= Self::LISTED_ALL
            && entries.windows(2).all(|w| w[0].name < w[1].name);
        if fits && !listed.0.contains_key(dir) {
            listed.1 += entries.len();
            listed.0.insert(dir.to_owned(), entries.to_vec());
        }
    }

    fn rel(path: &str) -> &str {
        path.trim_start_matches('/')
    }

    fn fail(&self, e: &rootfs::Error) -> FsError {
        let text = e.to_string();
        let mut refused = lock(&self.refused);
        if !refused.contains(&text) {
            refused.push(text.clone());
        }
        FsError(text)
    }
}

impl Fs for RootFs<'_> {
    fn read_dir(&self, path: &str) -> Result<Option<Vec<DirEntry>>, FsError> {
        let dir = match path.trim_end_matches('/') {
            "" => "/",
            dir => dir,
        };
        if let Some(entries) = lock(&self.listed).0.get(dir) {
            return Ok(Some(entries.clone()));
        }
        match self.root.list(Self::rel(path), self.budget) {
            Ok(None) | Err(rootfs::Error::NotADirectory { .. }) => Ok(None),
            Ok(Some(entries)) => {
                let entries = entries_of(entries);
                self.keep_listing(dir, &entries);
                Ok(Some(entries))
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    fn read_link(&self, path: &str) -> Result<Option<String>, FsError> {
        match self.inspect(path) {
            Ok(i) => Ok(i
                .and_then(|(_, t)| t)
                .map(|t| t.to_string_lossy().into_owned())),
            Err(e) => Err(self.fail(&e)),
        }
    }

    fn target(&self, path: &str) -> Result<Target, FsError> {
        let rel = Self::rel(path);
        // One look at the path itself: anything but a link is what it is
        // (the path is not opened again to follow it).
        let followed = match self.inspect(path) {
            Ok(Some((m, None))) => Ok(Some(m)),
            Ok(Some((_, Some(t)))) => {
                let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
                let t = t.to_string_lossy();
                let joined = if t.starts_with('/') {
                    t.into_owned()
                } else {
                    cat(&["/", dir, "/", &t])
                };
                if normalise(&joined) == "/dev/null" {
                    return Ok(Target::Null);
                }
                self.root.metadata(rel)
            }
            other => other.map(|_| None),
        };
        match followed {
            Ok(None) => Ok(Target::Missing),
            Ok(Some(m)) => Ok(match m.file_type {
                rootfs::FileType::Regular => Target::File(m.size),
                rootfs::FileType::Directory => Target::Dir,
                rootfs::FileType::CharDevice if path == "/dev/null" => Target::Null,
                _ => Target::Other,
            }),
            // A loop or a file used as a directory: nothing systemd reads.
            Err(rootfs::Error::Io { .. } | rootfs::Error::LinkLoop { .. }) => Ok(Target::Missing),
            Err(e) => Err(self.fail(&e)),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        // A regular file just looked at is read through the descriptor
        // the look opened (the path is not resolved again).
        let kept = {
            let mut kept = lock(&self.kept);
            let at = kept.iter().rposition(|(p, _)| p == path);
            at.map(|at| kept.remove(at))
        };
        if let Some((_, fd)) = kept {
            return self
                .root
                .read_inspected(&fd, Self::rel(path), self.budget)
                .map_err(|e| self.fail(&e));
        }
        match self.root.read_file(Self::rel(path), self.budget) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(FsError(format!("{}: not found", self.display(path)))),
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// The path as it is under the root (`R/etc/...` for `--root R`).
    fn display(&self, path: &str) -> String {
        match &self.root_text {
            Some(root) => shown(root, Self::rel(path)),
            None => self.root.shown(Self::rel(path)).display().to_string(),
        }
    }

    fn refused(&self) -> Vec<String> {
        lock(&self.refused).clone()
    }
}

/// Unit types systemd knows (`unit_type_from_string()`).
pub const UNIT_TYPES: &[&str] = &[
    "service",
    "mount",
    "swap",
    "socket",
    "target",
    "device",
    "automount",
    "timer",
    "path",
    "slice",
    "scope",
];

/// `VALID_CHARS` of `src/basic/unit-name.c`.
fn valid_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b":-_.\\".contains(&c)
}

/// What a valid unit name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// `foo.service`.
    Plain,
    /// `foo@.service`.
    Template,
    /// `foo@bar.service`.
    Instance,
}

/// `unit_name_is_valid(name, UNIT_NAME_ANY)`, and which kind it is.
pub fn unit_name_kind(name: &str) -> Option<NameKind> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() >= 256 {
        return None;
    }
    let dot = name.rfind('.')?;
    if dot == 0 || !UNIT_TYPES.contains(&&name[dot + 1..]) {
        return None;
    }
    let mut at = None;
    for (i, &c) in b[..dot].iter().enumerate() {
        if c == b'@' && at.is_none() {
            at = Some(i);
        }
        if !(valid_char(c) || c == b'@') {
            return None;
        }
    }
    match at {
        None => Some(NameKind::Plain),
        Some(0) => None,
        Some(a) if a + 1 == dot => Some(NameKind::Template),
        Some(_) => Some(NameKind::Instance),
    }
}

/// The unit type of a valid name (`service`).
fn unit_type(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, t)| t)
}

/// `unit_name_template()`: `foo@bar.service` gives `foo@.service`.
pub fn template_of(name: &str) -> Option<String> {
    let (p, rest) = name.split_once('@')?;
    let (_, t) = rest.rsplit_once('.')?;
    Some(cat(&[p, "@.", t]))
}

/// The instance of `foo@bar.service` (`bar`).
pub fn instance_name(name: &str) -> Option<&str> {
    instance_of(name)
}

/// The instance of `foo@bar.service`.
fn instance_of(name: &str) -> Option<&str> {
    let (_, rest) = name.split_once('@')?;
    rest.rsplit_once('.')
        .map(|(i, _)| i)
        .filter(|i| !i.is_empty())
}

/// `unit_name_to_prefix()`: the part before `@` (or before the type).
fn prefix_of(name: &str) -> &str {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    stem.split_once('@').map_or(stem, |(p, _)| p)
}

/// `directory_name_is_valid()`: a unit or type name with `.wants`,
/// `.requires`, `.upholds` or `.d` appended.
fn directory_name_is_valid(name: &str) -> bool {
    [".wants", ".requires", ".upholds", ".d"].iter().any(|s| {
        name.strip_suffix(s)
            .is_some_and(|c| unit_name_kind(c).is_some() || UNIT_TYPES.contains(&c))
    })
}

/// How a unit was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadState {
    /// Found and read.
    Loaded,
    /// No fragment anywhere on the search path.
    NotFound,
    /// The fragment is a mask (a link to `/dev/null`, or empty).
    Masked,
    /// The fragment could not be read to the end (systemd then refuses
    /// the unit).
    Error,
}

/// A unit as systemd 257 loads it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The unit's name.
    pub name: String,
    /// Its other names (aliases), sorted.
    pub aliases: Vec<String>,
    /// How it loaded.
    pub state: LoadState,
    /// The fragment's path, if one was found.
    pub fragment: Option<String>,
    /// The drop-ins read, in the order systemd reads them.
    pub dropins: Vec<String>,
    /// The drop-in directories that exist, in search order.
    pub dropin_dirs: Vec<String>,
    /// Drop-in files that are links to `/dev/null`: they read as nothing
    /// and, by their name, keep a lower-priority file of that name from
    /// being read (as an empty file does, which is read).
    pub masked_dropins: Vec<String>,
    /// Drop-ins not read because a file of the same name in a directory
    /// searched earlier is: `(read, not read)`.
    pub shadowed: Vec<(String, String)>,
    /// The settings.
    pub effective: Effective,
    /// What systemd would log while loading (and what the model refused
    /// to read), file and line where there is one.
    pub diagnostics: Vec<Diagnostic>,
}

/// The map of names to unit files, as `unit_file_build_name_map()` builds
/// it from the search path.
struct NameMap {
    /// Unit name to what it points at: an absolute path (a file or linked
    /// file) or another unit name (an alias).
    ids: BTreeMap<String, String>,
    /// Every `.d` (and `.wants` …) directory path found in the search path
    /// (hashed: the paths share long prefixes, which an ordered lookup
    /// compares again and again).
    paths: std::collections::HashSet<String>,
    /// The search path directories some path of `paths` is directly under
    /// (no other has a drop-in directory to find).
    live: std::collections::HashSet<String>,
    /// The names by the file name of the path they resolve to, sorted
    /// (built when first asked, for [`NameMap::aliases`]).
    by_file: std::sync::OnceLock<BTreeMap<String, Vec<String>>>,
}

/// `chase(path, NULL, 0, …)`: the path with every symbolic link on it
/// resolved (at most 32), `.` and `..` handled as the kernel does; `None`
/// if it leads nowhere.
pub fn chase(fs: &dyn Fs, path: &str) -> Option<String> {
    walk_links(path, &|p| fs.read_link(p).ok())
}

/// Resolves `path` component by component: `link(p)` says what `p` is (a
/// link to a target, `Some(Some(target))`; anything else, `Some(None)`;
/// `None` stops the walk). At most 32 links; `.` and `..` as the kernel
/// handles them, never above `/`.
fn walk_links(path: &str, link: &dyn Fn(&str) -> Option<Option<String>>) -> Option<String> {
    let mut todo: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_owned)
        .collect();
    let mut at = String::from("/");
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                at = parent_of(&at).unwrap_or("/").to_owned();
                continue;
            }
            _ => {}
        }
        let next = join(&at, &c);
        match link(&next)? {
            Some(t) => {
                hops += 1;
                if hops > 32 {
                    return None;
                }
                if t.starts_with('/') {
                    at = "/".to_owned();
                }
                todo.extend(
                    t.split('/')
                        .filter(|c| !c.is_empty())
                        .rev()
                        .map(str::to_owned),
                );
            }
            None => at = next,
        }
    }
    Some(at)
}

/// Lexical normalisation of an absolute path (`chase(…, CHASE_NOFOLLOW |
/// CHASE_NONEXISTENT)` for our purposes): `.` and `..` resolved, never
/// above `/`.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn path_startswith(path: &str, prefix: &str) -> Option<String> {
    let p = normalise(path);
    let pre = normalise(prefix);
    if pre == "/" {
        return Some(p.trim_start_matches('/').to_owned());
    }
    match p.strip_prefix(&pre) {
        Some("") => Some(String::new()),
        Some(rest) if rest.starts_with('/') => Some(rest.trim_start_matches('/').to_owned()),
        _ => None,
    }
}

impl NameMap {
    fn build(fs: &dyn Fs, search: &[String], diags: &mut Vec<Diagnostic>) -> NameMap {
        let mut expanded: Vec<String> = Vec::new();
        for dir in search {
            expanded.push(dir.clone());
            if let Ok(Some(t)) = fs.read_link(dir) {
                let resolved = if t.starts_with('/') {
                    normalise(&t)
                } else {
                    normalise(&join(parent_of(dir).unwrap_or("/"), &t))
                };
                if !expanded.contains(&resolved) {
                    expanded.push(resolved);
                }
            }
        }
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        let mut paths = BTreeSet::new();
        for dir in search {
            let entries = match fs.read_dir(dir) {
                Ok(Some(e)) => e,
                Ok(None) => continue,
                Err(e) => {
                    diags.push(Diagnostic::new(
                        &fs.display(dir),
                        0,
                        Level::Warning,
                        format!("cannot read directory: {e}"),
                    ));
                    continue;
                }
            };
            for entry in entries {
                let path = join(dir, &entry.name);
                let unit_name = unit_name_kind(&entry.name).is_some();
                match entry.kind {
                    EntryKind::File if unit_name => {}
                    EntryKind::Dir if directory_name_is_valid(&entry.name) => {
                        paths.insert(path);
                        continue;
                    }
                    EntryKind::Symlink if unit_name => {}
                    EntryKind::Symlink if directory_name_is_valid(&entry.name) => {
                        // `is_dir(target, follow)` on the link's text: a
                        // relative target is taken relative to the working
                        // directory of the manager, which is `/`.
                        if let Ok(Some(t)) = fs.read_link(&path)
                            && fs.target(&normalise(&join("/", &t))) == Ok(Target::Dir)
                        {
                            paths.insert(path);
                        }
                        continue;
                    }
                    _ => continue,
                }
                if ids.contains_key(&entry.name) {
                    continue;
                }
                let dst = if entry.kind == EntryKind::Symlink {
                    let Ok(Some(target)) = fs.read_link(&path) else {
                        continue;
                    };
                    let abs = if target.starts_with('/') {
                        target.clone()
                    } else {
                        join(dir, &target)
                    };
                    let simplified = normalise(&abs);
                    let inside = expanded
                        .iter()
                        .any(|d| path_startswith(&simplified, d).is_some());
                    if inside {
                        let target_name = simplified.rsplit('/').next().unwrap_or_default();
                        if !alias_is_valid(&entry.name, target_name) {
                            diags.push(Diagnostic::new(
                                &fs.display(&path),
                                0,
                                Level::Warning,
                                format!("invalid unit alias symlink to {target_name}, ignoring"),
                            ));
                            continue;
                        }
                        target_name.to_owned()
                    } else {
                        path.clone()
                    }
                } else {
                    path.clone()
                };
                ids.insert(entry.name.clone(), dst);
            }
        }
        let live = search
            .iter()
            .filter(|dir| {
                let under = cat(&[dir.trim_end_matches('/'), "/"]);
                paths
                    .range::<str, _>((
                        std::ops::Bound::Included(under.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .is_some_and(|p| p.starts_with(&under))
            })
            .cloned()
            .collect();
        NameMap {
            ids,
            live,
            paths: paths.into_iter().collect(),
            by_file: std::sync::OnceLock::new(),
        }
    }

    /// `unit_ids_map_get()`: follows alias names to a path (at most 32
    /// hops).
    fn get(&self, name: &str) -> Option<&str> {
        let mut n = name;
        for _ in 0..32 {
            let dst = self.ids.get(n)?;
            if dst.starts_with('/') {
                return Some(dst);
            }
            n = dst;
        }
        None
    }

    /// Every name whose resolution ends at the same file as `name`'s
    /// (`unit_names_map`), instances of template aliases included.
    fn aliases(&self, fs: &dyn Fs, name: &str, fragment: Option<&str>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(fragment) = fragment else {
            return out;
        };
        let kind = unit_name_kind(name);
        let instance = instance_of(name);
        // Only names resolving to a file of the fragment's file name can
        // match: look those up rather than every unit of the directories.
        let by_file = self.by_file.get_or_init(|| {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for src in self.ids.keys() {
                if let Some(dst) = self.get(src) {
                    let base = dst.rsplit('/').next().unwrap_or_default();
                    m.entry(base.to_owned()).or_default().push(src.clone());
                }
            }
            m
        });
        let fragment_file = fragment.rsplit('/').next().unwrap_or_default();
        for src in by_file.get(fragment_file).into_iter().flatten() {
            let Some(dst) = self.get(src) else { continue };
            if matches!(fs.target(dst), Ok(Target::Null | Target::File(0))) {
                continue;
            }
            match (kind, instance, unit_name_kind(src)) {
                (Some(NameKind::Instance), Some(i), Some(NameKind::Template)) => {
                    let (p, t) = (prefix_of(src), unit_type(src));
                    out.insert(cat(&[p, "@", i, ".", t]));
                }
                (Some(NameKind::Instance), _, Some(NameKind::Template)) => {}
                _ => {
                    out.insert(src.clone());
                }
            }
        }
        out.remove(name);
        out
    }
}

/// `unit_validate_alias_symlink_or_warn()`, in short: the same type, and a
/// template only to a template.
fn alias_is_valid(alias: &str, target: &str) -> bool {
    let (Some(a), Some(t)) = (unit_name_kind(alias), unit_name_kind(target)) else {
        return false;
    };
    unit_type(alias) == unit_type(target)
        && match a {
            NameKind::Plain => t == NameKind::Plain,
            NameKind::Template => t == NameKind::Template,
            NameKind::Instance => t != NameKind::Plain,
        }
}

/// `unit_file_find_dirs()`: the drop-in directories of `name` (and its
/// template, and its dash prefixes) under `unit_path`, in order.
fn find_dirs(map: &NameMap, fs: &Memo<'_>, unit_path: &str, name: &str, out: &mut Vec<String>) {
    // Every directory looked for is directly under `unit_path`: where the
    // search found none, there is nothing to find for any name.
    if !map.live.contains(unit_path) {
        return;
    }
    find_dirs_under(map, fs, unit_path, name, out);
}

/// [`find_dirs`] under a directory the search found some directory in.
fn find_dirs_under(
    map: &NameMap,
    fs: &Memo<'_>,
    unit_path: &str,
    name: &str,
    out: &mut Vec<String>,
) {
    if unit_name_kind(name) == Some(NameKind::Instance) {
        return find_dirs_named(map, fs, unit_path, name, out);
    }
    let key = cat(&[unit_path, "\0", name]);
    let found = remembered(&fs.found, &key, || {
        let mut found = Vec::new();
        find_dirs_named(map, fs, unit_path, name, &mut found);
        found
    });
    out.extend(found);
}

/// [`find_dirs_under`], asked of the map and file system.
fn find_dirs_named(
    map: &NameMap,
    fs: &Memo<'_>,
    unit_path: &str,
    name: &str,
    out: &mut Vec<String>,
) {
    let path = cat(&[unit_path.trim_end_matches('/'), "/", name, ".d"]);
    // unit_file_add_dir(): the directory is recorded as chase() resolves
    // it, so a linked directory's files are named by their real path.
    if map.paths.contains(&path)
        && fs.target(&path) == Ok(Target::Dir)
        && let Some(real) = fs.chase(&path)
    {
        out.push(real);
    }
    let kind = unit_name_kind(name);
    if kind == Some(NameKind::Instance)
        && let Some(t) = template_of(name)
    {
        find_dirs_under(map, fs, unit_path, &t, out);
    }
    if UNIT_TYPES.contains(&name) {
        return;
    }
    let mut prefix = prefix_of(name).to_owned();
    let mut chopped = false;
    loop {
        let Some(dash) = prefix.rfind('-') else {
            return;
        };
        if dash == 0 {
            return;
        }
        if dash + 1 != prefix.len() || chopped {
            prefix.truncate(dash + 1);
            break;
        }
        prefix.truncate(dash);
        chopped = true;
    }
    if !prefix.bytes().all(|c| valid_char(c) || c == b'@') {
        return;
    }
    let built = match instance_of(name) {
        Some(i) if kind == Some(NameKind::Instance) => {
            cat(&[&prefix, "@", i, ".", unit_type(name)])
        }
        _ => cat(&[&prefix, ".", unit_type(name)]),
    };
    find_dirs_under(map, fs, unit_path, &built, out);
}

/// Options for [`load`].
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The search path (default [`SEARCH_PATH`]).
    pub search_path: Vec<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            search_path: SEARCH_PATH.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// Loads unit `name` from `fs` as systemd 257's system manager does.
pub fn load(fs: &dyn Fs, name: &str, options: &LoadOptions) -> Loaded {
    let fs = Memo::new(fs);
    let mut diagnostics = Vec::new();
    let map = NameMap::build(&fs, &options.search_path, &mut diagnostics);
    let located = locate(&fs, name, options, &map);
    load_with(&fs, name, located, diagnostics, None)
}

/// Loads many units of one file system, as one manager does: the map of
/// unit names to files is built once (`unit_file_build_name_map()`), not
/// per unit. Each [`Loader::load`] gives what [`load`] gives.
///
/// What the loader asks of the file system is asked once: the template's
/// unit file, its drop-in directories and every link on the way are read
/// once for all its instances. The file system must not change while the
/// loader is in use (as for the name map).
///
/// A file whose assignments were read before is not parsed again where
/// that provably gives the same settings ([`Replays`]): the instances'
/// drop-ins of a template differ only in their names and comments.
pub struct Loader<'a> {
    fs: Memo<'a>,
    options: &'a LoadOptions,
    map: NameMap,
    diagnostics: Vec<Diagnostic>,
    replays: std::cell::RefCell<Replays>,
}

impl<'a> Loader<'a> {
    /// Reads the search path of `options` in `fs`.
    pub fn new(fs: &'a dyn Fs, options: &'a LoadOptions) -> Loader<'a> {
        let fs = Memo::new(fs);
        let mut diagnostics = Vec::new();
        let map = NameMap::build(&fs, &options.search_path, &mut diagnostics);
        Loader {
            fs,
            options,
            map,
            diagnostics,
            replays: Default::default(),
        }
    }

    /// Loads unit `name`.
    pub fn load(&self, name: &str) -> Loaded {
        self.load_located(name, self.locate(name))
    }

    /// Loads unit `name` from its files as [`Loader::locate`] found them.
    pub fn load_located(&self, name: &str, located: Located) -> Loaded {
        load_with(
            &self.fs,
            name,
            located,
            self.diagnostics.clone(),
            Some(&mut self.replays.borrow_mut()),
        )
    }

    /// The files a [`Loader::load`] of `name` reads, found without reading
    /// any: two units located alike whose files read alike load alike.
    pub fn locate(&self, name: &str) -> Located {
        locate(&self.fs, name, self.options, &self.map)
    }

    /// How many storages were set from lines read before rather than by
    /// reading them again ([`Replays::replayed`]).
    pub fn replayed(&self) -> usize {
        self.replays.borrow().replayed()
    }
}

/// Answers from a file system, each question asked of it once.
///
/// Hash maps, as the answers are only looked up, never listed: paths share
/// long prefixes, which ordered lookups compare again and again.
struct Memo<'a> {
    base: &'a dyn Fs,
    dirs: Cache<Result<Option<Vec<DirEntry>>, FsError>>,
    links: Cache<Result<Option<String>, FsError>>,
    targets: Cache<Result<Target, FsError>>,
    files: Cache<Result<Vec<u8>, FsError>>,
    chased: Cache<Option<String>>,
    /// [`find_dirs_under`] of a name that is no instance, by search path
    /// directory and name (a template's directories, found once for all
    /// its instances).
    found: Cache<Vec<String>>,
}

/// Answers by path.
type Cache<T> = Mutex<std::collections::HashMap<String, T>>;

impl<'a> Memo<'a> {
    fn new(base: &'a dyn Fs) -> Memo<'a> {
        Memo {
            base,
            dirs: Default::default(),
            links: Default::default(),
            targets: Default::default(),
            files: Default::default(),
            chased: Default::default(),
            found: Default::default(),
        }
    }

    /// [`chase`], each path resolved once: a path whose last component is
    /// a name is its parent resolved (remembered) and that name, where the
    /// name there is no link (the walk would come to the parent's end,
    /// then take the name as it is); any other path is walked.
    fn chase(&self, path: &str) -> Option<String> {
        remembered(&self.chased, path, || {
            if let Some((parent, last)) = path.rsplit_once('/')
                && !matches!(last, "" | "." | "..")
            {
                let base = self.chase(if parent.is_empty() { "/" } else { parent })?;
                let next = join(&base, last);
                if let Ok(None) = self.read_link(&next) {
                    return Some(next);
                }
            }
            chase(self, path)
        })
    }
}

/// The answer to `path` in `cache`, asked of `ask` the first time.
fn remembered<T: Clone>(cache: &Cache<T>, path: &str, ask: impl FnOnce() -> T) -> T {
    if let Some(v) = lock(cache).get(path) {
        return v.clone();
    }
    let v = ask();
    lock(cache).insert(path.to_owned(), v.clone());
    v
}

impl Fs for Memo<'_> {
    fn read_dir(&self, path: &str) -> Result<Option<Vec<DirEntry>>, FsError> {
        remembered(&self.dirs, path, || self.base.read_dir(path))
    }

    fn read_link(&self, path: &str) -> Result<Option<String>, FsError> {
        remembered(&self.links, path, || self.base.read_link(path))
    }

    fn target(&self, path: &str) -> Result<Target, FsError> {
        remembered(&self.targets, path, || self.base.target(path))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        remembered(&self.files, path, || self.base.read(path))
    }

    fn display(&self, path: &str) -> String {
        self.base.display(path)
    }

    fn refused(&self) -> Vec<String> {
        self.base.refused()
    }
}

/// A file system whose answers are kept: each question is asked of the
/// one below once. File contents are kept up to [`Cached::HOLD`] bytes in
/// all (a larger file, or one past that, is read again when asked again),
/// so that holding them never doubles what a run may read. The file
/// system must not change while it is in use.
///
/// Readers on several threads share one: a path is asked of the file
/// system below by one reader at a time (another asking of it waits for
/// that answer), so two readers asking the same question get the same one
/// answer and each file counts against a [`rootfs::Budget`] once; readers
/// of other paths do not wait.
pub struct Cached<'a> {
    base: &'a dyn Fs,
    answers: Mutex<Answers>,
    /// Told when a question was answered.
    answered: std::sync::Condvar,
}

/// What a [`Cached`] was answered, by path.
#[derive(Default)]
struct Answers {
    dirs: std::collections::HashMap<String, Result<Option<Vec<DirEntry>>, FsError>>,
    links: std::collections::HashMap<String, Result<Option<String>, FsError>>,
    targets: std::collections::HashMap<String, Result<Target, FsError>>,
    files: std::collections::HashMap<String, Result<Vec<u8>, FsError>>,
    /// The bytes of the file contents kept.
    held: usize,
    /// The paths being asked of the file system below.
    asking: std::collections::HashSet<String>,
    /// How many readers wait for one of them.
    waiting: usize,
}

/// A path being asked of the file system below by one reader: no longer
/// when dropped (answered, or the reader gone), and the others told.
struct Asking<'c> {
    cached: &'c Cached<'c>,
    path: &'c str,
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        let mut answers = lock(&self.cached.answers);
        answers.asking.remove(self.path);
        if answers.waiting > 0 {
            self.cached.answered.notify_all();
        }
    }
}

impl<'a> Cached<'a> {
    /// The file contents kept, in bytes at most.
    pub const HOLD: usize = 8 << 20;

    /// Answers from `fs`, each once.
    pub fn new(fs: &'a dyn Fs) -> Cached<'a> {
        Cached {
            base: fs,
            answers: Mutex::default(),
            answered: std::sync::Condvar::new(),
        }
    }

    /// The answer kept in the map `of` picks, else `ask`'s, kept where
    /// `keep` says so.
    fn answer<T: Clone>(
        &self,
        of: impl Fn(&mut Answers) -> &mut std::collections::HashMap<String, T>,
        path: &str,
        ask: impl FnOnce() -> T,
        keep: impl FnOnce(&mut Answers, &T) -> bool,
    ) -> T {
        let mut answers = lock(&self.answers);
        loop {
            if let Some(v) = of(&mut answers).get(path) {
                return v.clone();
            }
            if !answers.asking.contains(path) {
                break;
            }
            answers.waiting += 1;
            answers = self
                .answered
                .wait(answers)
                .unwrap_or_else(PoisonError::into_inner);
            answers.waiting -= 1;
        }
        answers.asking.insert(path.to_owned());
        drop(answers);
        let asking = Asking { cached: self, path };
        let v = ask();
        let mut answers = lock(&self.answers);
        if keep(&mut answers, &v) {
            of(&mut answers).insert(path.to_owned(), v.clone());
        }
        drop(answers);
        drop(asking);
        v
    }
}

impl Fs for Cached<'_> {
    fn read_dir(&self, path: &str) -> Result<Option<Vec<DirEntry>>, FsError> {
        let ask = || self.base.read_dir(path);
        self.answer(|a| &mut a.dirs, path, ask, |_, _| true)
    }

    fn read_link(&self, path: &str) -> Result<Option<String>, FsError> {
        let ask = || self.base.read_link(path);
        self.answer(|a| &mut a.links, path, ask, |_, _| true)
    }

    fn target(&self, path: &str) -> Result<Target, FsError> {
        let ask = || self.base.target(path);
        self.answer(|a| &mut a.targets, path, ask, |_, _| true)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let keep = |answers: &mut Answers, read: &Result<Vec<u8>, FsError>| {
            let size = read.as_ref().map_or(0, Vec::len);
            let fits = answers.held + size <= Self::HOLD;
            if fits {
                answers.held += size;
            }
            fits
        };
        self.answer(|a| &mut a.files, path, || self.base.read(path), keep)
    }

    fn display(&self, path: &str) -> String {
        self.base.display(path)
    }

    fn refused(&self) -> Vec<String> {
        self.base.refused()
    }
}

/// The files a load of a unit reads, found before any is read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Located {
    /// The unit file (for an instance without one, its template's).
    pub fragment: Option<String>,
    /// The unit's other names.
    pub aliases: BTreeSet<String>,
    /// The drop-in directories, in order.
    pub dirs: Vec<String>,
    /// The drop-ins in them, and those shadowed by one of the same name.
    pub files: ConfFiles,
}

/// Finds the files of unit `name`: its fragment, its names, its drop-in
/// directories (the unit's names on every search path directory, then the
/// type-wide directory on each) and the drop-ins in them.
fn locate(fs: &Memo<'_>, name: &str, options: &LoadOptions, map: &NameMap) -> Located {
    let mut fragment = map.get(name).map(str::to_owned);
    if fragment.is_none()
        && unit_name_kind(name) == Some(NameKind::Instance)
        && let Some(t) = template_of(name)
    {
        fragment = map.get(&t).map(str::to_owned);
    }
    let aliases = map.aliases(fs, name, fragment.as_deref());
    let mut dirs = Vec::new();
    for n in std::iter::once(name.to_owned()).chain(aliases.iter().cloned()) {
        for p in &options.search_path {
            find_dirs(map, fs, p, &n, &mut dirs);
        }
    }
    let ty = unit_type(name).to_owned();
    for p in &options.search_path {
        find_dirs(map, fs, p, &ty, &mut dirs);
    }
    let mut seen_dirs = BTreeSet::new();
    dirs.retain(|d| seen_dirs.insert(d.clone()));
    let files = conf_files(fs, &dirs, ".conf");
    Located {
        fragment,
        aliases,
        dirs,
        files,
    }
}

fn load_with(
    fs: &Memo<'_>,
    name: &str,
    located: Located,
    mut diagnostics: Vec<Diagnostic>,
    mut replays: Option<&mut Replays>,
) -> Loaded {
    let read = |e: &mut Effective, file: &str, bytes: &[u8], r: Option<&mut Replays>| match r {
        Some(r) => e.read_shared(file, bytes, r),
        None => e.read(file, bytes),
    };
    let Located {
        fragment,
        aliases,
        dirs,
        files: ConfFiles { files, shadowed },
    } = located;
    let mut state = match &fragment {
        None => LoadState::NotFound,
        Some(_) => LoadState::Loaded,
    };
    let specifiers = specifier::Context::new(name, fragment.as_deref());
    let mut effective = Effective::with_specifiers(specifiers.clone());
    if let Some(f) = &fragment {
        match fs.target(f) {
            Ok(Target::Null | Target::File(0)) => state = LoadState::Masked,
            Ok(Target::File(_)) => match fs.read(f) {
                Ok(bytes) => {
                    let stopped = match replays.as_deref_mut() {
                        Some(r) => {
                            let (e, stopped) =
                                Effective::read_first(specifiers, &fs.display(f), &bytes, r);
                            effective = e;
                            stopped
                        }
                        None => read(&mut effective, &fs.display(f), &bytes, None),
                    };
                    if stopped {
                        state = LoadState::Error;
                    }
                }
                Err(e) => {
                    diagnostics.push(Diagnostic::new(&fs.display(f), 0, Level::Error, e.0));
                    state = LoadState::Error;
                }
            },
            Ok(other) => {
                diagnostics.push(Diagnostic::new(
                    &fs.display(f),
                    0,
                    Level::Error,
                    format!("unit file is not a regular file ({other:?})"),
                ));
                state = LoadState::Error;
            }
            Err(e) => {
                diagnostics.push(Diagnostic::new(&fs.display(f), 0, Level::Error, e.0));
                state = LoadState::Error;
            }
        }
    }
    let mut dropins = Vec::new();
    let mut masked_dropins = Vec::new();
    if state != LoadState::Masked {
        for path in &files {
            match fs.target(path) {
                // systemd reads every drop-in listed (no mask check):
                // a link to /dev/null reads as nothing. An empty file is
                // read, so that a file the stat calls empty but that is not
                // (on a kernel file system) is refused by the view.
                Ok(Target::Null) => masked_dropins.push(path.clone()),
                Ok(Target::File(_)) => match fs.read(path) {
                    Ok(bytes) => {
                        read(
                            &mut effective,
                            &fs.display(path),
                            &bytes,
                            replays.as_deref_mut(),
                        );
                        dropins.push(path.clone());
                    }
                    Err(e) => diagnostics.push(Diagnostic::new(
                        &fs.display(path),
                        0,
                        Level::Error,
                        format!("not read: {e}"),
                    )),
                },
                Ok(Target::Missing) => {}
                // systemd lists every type (conf_files_list_strv() with no
                // flags) and fails to read a directory, logging it.
                Ok(Target::Dir) => diagnostics.push(Diagnostic::new(
                    &fs.display(path),
                    0,
                    Level::Error,
                    "not read: is a directory (systemd fails to read it too)".to_owned(),
                )),
                // A FIFO or a device: systemd would open and read it (and
                // could block); the view refuses and records why.
                Ok(Target::Other) => {
                    if let Err(e) = fs.read(path) {
                        diagnostics.push(Diagnostic::new(
                            &fs.display(path),
                            0,
                            Level::Error,
                            format!("not read: {e}"),
                        ));
                    }
                }
                Err(e) => diagnostics.push(Diagnostic::new(
                    &fs.display(path),
                    0,
                    Level::Error,
                    format!("not read: {e}"),
                )),
            }
        }
    }
    effective.finish();
    diagnostics.extend(effective.diagnostics().iter().cloned());
    Loaded {
        name: name.to_owned(),
        aliases: aliases.into_iter().collect(),
        state,
        fragment,
        dropins,
        dropin_dirs: dirs,
        masked_dropins,
        shadowed,
        effective,
        diagnostics,
    }
}

/// What [`conf_files`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfFiles {
    /// The files to read, sorted by file name.
    pub files: Vec<String>,
    /// Files not read because one of the same name in a directory listed
    /// earlier is: `(read, not read)`.
    pub shadowed: Vec<(String, String)>,
}

/// `conf_files_list_strv()`: the files ending in `suffix` in `dirs`
/// (hidden and backup files left out), the first directory winning for a
/// name, sorted by file name.
pub fn conf_files(fs: &dyn Fs, dirs: &[String], suffix: &str) -> ConfFiles {
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    let mut shadowed = Vec::new();
    for d in dirs {
        let Ok(Some(mut entries)) = fs.read_dir(d) else {
            continue;
        };
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for e in entries {
            if hidden_or_backup(&e.name) || !e.name.ends_with(suffix) {
                continue;
            }
            let path = join(d, &e.name);
            match by_name.get(&e.name) {
                Some(winner) => shadowed.push((winner.clone(), path)),
                None => {
                    by_name.insert(e.name.clone(), path);
                }
            }
        }
    }
    ConfFiles {
        files: by_name.into_values().collect(),
        shadowed,
    }
}

/// `hidden_or_backup_file()` of `src/basic/path-util.c`.
pub fn hidden_or_backup(name: &str) -> bool {
    if name.starts_with('.')
        || matches!(name, "lost+found" | "aquota.user" | "aquota.group")
        || name.ends_with('~')
    {
        return true;
    }
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    matches!(
        ext,
        "rpmnew"
            | "rpmsave"
            | "rpmorig"
            | "dpkg-old"
            | "dpkg-new"
            | "dpkg-tmp"
            | "dpkg-dist"
            | "dpkg-bak"
            | "dpkg-backup"
            | "dpkg-remove"
            | "ucf-new"
            | "ucf-old"
            | "ucf-dist"
            | "swp"
            | "bak"
            | "old"
            | "new"
    )
}

/// The names of every instance of `template` (`foo@.service`) that has a
/// drop-in directory or a fragment of its own on the search path.
pub fn installed_instances(fs: &dyn Fs, template: &str, options: &LoadOptions) -> Vec<String> {
    let Some((prefix, ty)) = template.split_once("@.") else {
        return Vec::new();
    };
    let mut out = BTreeSet::new();
    for dir in &options.search_path {
        let Ok(Some(entries)) = fs.read_dir(dir) else {
            continue;
        };
        for e in entries {
            let name = e.name.strip_suffix(".d").unwrap_or(&e.name);
            if unit_name_kind(name) != Some(NameKind::Instance) {
                continue;
            }
            if prefix_of(name) == prefix && unit_type(name) == ty {
                out.insert(name.to_owned());
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {

    /// A path shown by joining text is what `Path::join` and `display`
    /// show, for roots with and without a trailing `/` and paths with
    /// doubled, trailing and no separators (the empty path included).
    #[test]
    fn a_path_is_shown_as_path_join_shows_it() {
        let roots = ["/srv/root", "/srv/root/", "/", "", "root", "./r", "/a//b"];
        let rels = [
            "",
            "etc",
            "etc/systemd/system/x.conf",
            "etc//x",
            "etc/",
            "a b/ü",
        ];
        for root in roots {
            for rel in rels {
                let want = std::path::Path::new(root).join(rel).display().to_string();
                assert_eq!(super::shown(root, rel), want, "{root:?} + {rel:?}");
            }
        }
    }
    use super::*;
    use crate::directive::Directive;

    #[test]
    fn a_root_answers_from_a_listing_what_a_look_at_the_path_answers() {
        let tmp = std::env::temp_dir().join(format!("dropin-listing-{}", std::process::id()));
        let d = tmp.join("etc/systemd/system");
        std::fs::create_dir_all(d.join("a.service.d")).unwrap();
        std::fs::write(d.join("a.service"), "[Service]\n").unwrap();
        std::os::unix::fs::symlink("a.service.d", d.join("b.service.d")).unwrap();
        std::os::unix::fs::symlink("/dev/null", d.join("c.service")).unwrap();
        let root = rootfs::Root::open(&tmp).unwrap();
        let budget = rootfs::Budget::default();
        let paths = [
            "a.service.d",
            "a.service",
            "b.service.d",
            "c.service",
            "missing.service.d",
            ".",
            "..",
            "",
        ]
        .map(|n| format!("/etc/systemd/system/{n}"));
        let ask = |fs: &RootFs<'_>| -> Vec<String> {
            paths
                .iter()
                .map(|p| format!("{p}: {:?} {:?}", fs.target(p), fs.read_link(p)))
                .collect()
        };
        let looked = ask(&RootFs::new(&root, &budget));
        let listed = RootFs::new(&root, &budget);
        assert!(listed.read_dir("/etc/systemd/system").unwrap().is_some());
        // Answered from the listing: a directory, and nothing there.
        for p in ["a.service.d", "missing.service.d"] {
            let p = format!("/etc/systemd/system/{p}");
            assert!(listed.answer_from_listing(&p).is_some(), "{p}");
        }
        assert_eq!(ask(&listed), looked);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// What a write listed and left as it was is handed to the reader,
    /// and read there as a fresh listing reads it; a directory the write
    /// put a file in, or removed a dead run's temp file from, is not
    /// handed over (its listing from before the write is out of date).
    #[test]
    fn what_a_write_listed_and_left_reads_as_a_fresh_listing() {
        let tmp = std::env::temp_dir().join(format!("dropin-written-{}", std::process::id()));
        let d = tmp.join("etc/systemd/system");
        for (dir, files) in [
            ("a.service.d", &["10-x.conf", "20-operator.conf"][..]),
            ("b.service.d", &["10-x.conf"][..]),
            (
                "c.service.d",
                &["10-x.conf", ".10-x.conf.rootfs-tmp.4194999"][..],
            ),
        ] {
            std::fs::create_dir_all(d.join(dir)).unwrap();
            for f in files {
                std::fs::write(d.join(dir).join(f), "x").unwrap();
            }
        }
        let root = rootfs::Root::open(&tmp).unwrap();
        let files = [
            ("etc/systemd/system/a.service.d/10-x.conf", "x"),
            ("etc/systemd/system/b.service.d/10-x.conf", "x"),
            ("etc/systemd/system/b.service.d/30-new.conf", "y"),
            ("etc/systemd/system/c.service.d/10-x.conf", "x"),
        ];
        let written =
            rootfs::write_all_listed(&root, &files, &rootfs::WriteOptions::default()).unwrap();
        let handed: Vec<String> = written
            .listed
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        assert_eq!(handed, ["etc/systemd/system/a.service.d"]);
        let budget = rootfs::Budget::default();
        let seeded = RootFs::new(&root, &budget).with_listed(written.listed);
        let fresh = RootFs::new(&root, &budget);
        for dir in ["a", "b", "c"] {
            let dir = format!("/etc/systemd/system/{dir}.service.d");
            let listing = fresh.read_dir(&dir).unwrap();
            assert!(listing.is_some(), "{dir}");
            assert_eq!(seeded.read_dir(&dir).unwrap(), listing, "{dir}");
        }
        // The listing handed over is the one read, not a new one: a file
        // added since is not seen through it (the tree must not change).
        std::fs::write(d.join("a.service.d/40-late.conf"), "z").unwrap();
        let a = "/etc/systemd/system/a.service.d";
        let now = RootFs::new(&root, &budget).read_dir(a).unwrap();
        assert_ne!(seeded.read_dir(a).unwrap(), now);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// Paths resolved through their remembered parents are what a walk of
    /// the whole path gives: links to directories (relative, absolute,
    /// through `..`), a link to a link, a loop, a missing name, `.` and
    /// `..` in paths, each asked parents first and children first.
    #[test]
    fn a_path_resolved_from_its_parent_is_the_walked_path() {
        let mut fs = MemFs::new();
        fs.dir("/etc/systemd/system/a.d")
            .file("/etc/systemd/system/a.d/x.conf", "x")
            .symlink("/etc/systemd/system/b.d", "a.d")
            .symlink("/etc/systemd/system/c.d", "/etc/systemd/system/b.d")
            .symlink("/etc/systemd/system/up", "../..")
            .symlink("/etc/systemd/system/loop", "loop")
            .symlink("/etc/s", "systemd/system")
            .dir("/usr/lib/systemd/system");
        let paths = [
            "/etc",
            "/etc/systemd",
            "/etc/systemd/system",
            "/etc/systemd/system/a.d",
            "/etc/systemd/system/a.d/x.conf",
            "/etc/systemd/system/b.d",
            "/etc/systemd/system/b.d/x.conf",
            "/etc/systemd/system/c.d/x.conf",
            "/etc/systemd/system/up",
            "/etc/systemd/system/up/systemd/system/a.d",
            "/etc/systemd/system/loop",
            "/etc/systemd/system/loop/x",
            "/etc/s/b.d/x.conf",
            "/etc/systemd/system/missing.d",
            "/etc/./systemd/../systemd/system/b.d",
            "/etc/systemd/system/b.d/",
            "/",
            "/usr/lib/systemd/system",
        ];
        let walked: Vec<Option<String>> = paths.iter().map(|p| chase(&fs, p)).collect();
        for order in [paths.to_vec(), paths.iter().rev().copied().collect()] {
            let memo = Memo::new(&fs);
            for p in order {
                let i = paths.iter().position(|q| *q == p).unwrap();
                assert_eq!(memo.chase(p), walked[i], "{p}");
            }
        }
    }

    /// A file read right after a look at it reads as a fresh read does:
    /// a regular file, a link to one, a directory, something missing, a
    /// link to nothing; and the look's descriptor is what is read (a file
    /// renamed over the path between the two is not seen: the tree must
    /// not change while it is read).
    #[test]
    fn a_file_read_after_a_look_reads_as_a_fresh_read() {
        let tmp = std::env::temp_dir().join(format!("dropin-kept-{}", std::process::id()));
        let d = tmp.join("etc");
        std::fs::create_dir_all(d.join("dir")).unwrap();
        std::fs::write(d.join("file"), "one").unwrap();
        std::os::unix::fs::symlink("file", d.join("link")).unwrap();
        std::os::unix::fs::symlink("nothing", d.join("dangling")).unwrap();
        let root = rootfs::Root::open(&tmp).unwrap();
        let budget = rootfs::Budget::default();
        for name in ["file", "link", "dir", "missing", "dangling"] {
            let p = format!("/etc/{name}");
            let looked = RootFs::new(&root, &budget);
            let target = looked.target(&p);
            let fresh = RootFs::new(&root, &budget);
            assert_eq!(looked.read(&p), fresh.read(&p), "{p} ({target:?})");
        }
        let looked = RootFs::new(&root, &budget);
        assert_eq!(looked.target("/etc/file"), Ok(Target::File(3)));
        std::fs::write(d.join("new"), "two").unwrap();
        std::fs::rename(d.join("new"), d.join("file")).unwrap();
        assert_eq!(looked.read("/etc/file").unwrap(), b"one");
        assert_eq!(
            RootFs::new(&root, &budget).read("/etc/file").unwrap(),
            b"two"
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    const BASE: &str = "[Service]\nExecStart=/bin/true\n";

    fn server(fs: &mut MemFs) {
        fs.file("/etc/systemd/system/left4me-server@.service", BASE);
    }

    /// Instances of one template with every kind of drop-in a shared read
    /// must get right: the template's drop-in alone, an instance drop-in
    /// of the same name (shadowing it) that differs from the others in
    /// one line, resets (one clearing another directive's lines), a fatal
    /// line, a specifier, an unknown key, the same lines twice in one
    /// unit, the same lines at other line numbers, a masked drop-in, a
    /// masked instance, and a drop-in some instances have only.
    fn varied(fs: &mut MemFs) -> Vec<String> {
        let dir = "/etc/systemd/system";
        fs.file("/dev/null", "");
        fs.file(
            &format!("{dir}/t@.service"),
            "[Unit]\nDescription=t %i\n[Service]\nExecStart=/bin/true %i\nUser=app\n\
             ProtectSystem=strict\nBindPaths=/srv/%i\nSystemCallFilter=@system-service\n\
             Environment=A=1\n",
        );
        fs.file(
            &format!("{dir}/t@.service.d/10-a.conf"),
            "[Service]\nNoNewPrivileges=yes\nReadWritePaths=/var/lib/t\nCapabilityBoundingSet=\n",
        );
        let mut names = Vec::new();
        for k in 0..40 {
            let name = format!("t@{k}.service");
            let d = format!("{dir}/{name}.d");
            let common = "PrivateTmp=yes\nSystemCallFilter=~@mount\nRestrictSUIDSGID=yes\n\
                          CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nProtectHome=yes\n";
            match k % 10 {
                // The template's drop-in only.
                0 => {}
                // Shadows the template's drop-in; one line differs.
                1 | 2 => {
                    fs.file(
                        &format!("{d}/10-a.conf"),
                        format!("# for {name}\n[Service]\n{common}BindReadOnlyPaths=/run/{k}\n"),
                    );
                }
                // Resets, and an empty BindPaths= clearing BindReadOnlyPaths=.
                3 => {
                    fs.file(
                        &format!("{d}/10-a.conf"),
                        format!(
                            "[Service]\n{common}BindReadOnlyPaths=/ro\nBindPaths=\n\
                             SystemCallFilter=\nSystemCallFilter=@basic-io\n"
                        ),
                    );
                }
                // A fatal line: the rest of the file is not read.
                4 => {
                    fs.file(
                        &format!("{d}/10-a.conf"),
                        format!("[Service]\nPrivateTmp=yes\nUser=a:b\n{common}"),
                    );
                }
                // A specifier, and an unknown key.
                5 => {
                    fs.file(
                        &format!("{d}/10-a.conf"),
                        format!("[Service]\n{common}ReadWritePaths=/var/%i\nNoSuchKey=1\n"),
                    );
                }
                // The same lines twice in one unit (the second onto storages
                // the first set), and a drop-in of its own.
                6 => {
                    let text = format!("[Service]\n{common}");
                    fs.file(&format!("{d}/10-a.conf"), text.clone());
                    fs.file(&format!("{d}/20-b.conf"), text);
                }
                // The same lines at other line numbers.
                7 => {
                    fs.file(
                        &format!("{d}/10-a.conf"),
                        format!("# one\n# two\n[Service]\n{common}"),
                    );
                }
                // A masked drop-in and a later one.
                8 => {
                    fs.symlink(&format!("{d}/10-a.conf"), "/dev/null");
                    fs.file(&format!("{d}/30-c.conf"), format!("[Service]\n{common}"));
                }
                // A masked instance.
                _ => {
                    fs.symlink(&format!("{dir}/{name}"), "/dev/null");
                    fs.file(&format!("{d}/10-a.conf"), format!("[Service]\n{common}"));
                }
            }
            names.push(name);
        }
        // A template without any specifier (its settings are the same in
        // every instance), with a line that logs, a section that is not
        // read, and one instance with a unit file of its own.
        fs.file(
            &format!("{dir}/p@.service"),
            "[Unit]\nDescription=p\n[X-Other]\nA=b\n[Service]\nExecStart=/bin/true\n\
             NoSuchKey=1\nProtectSystem=full\nBindPaths=/srv/p\n",
        );
        fs.file(
            &format!("{dir}/p@3.service"),
            "[Service]\nExecStart=/bin/false\nProtectHome=yes\n",
        );
        for k in 0..6 {
            let name = format!("p@{k}.service");
            if k % 2 == 1 {
                fs.file(
                    &format!("{dir}/{name}.d/10-a.conf"),
                    format!("[Service]\nBindReadOnlyPaths=/run/{k}\nPrivateTmp=yes\n"),
                );
            }
            names.push(name);
        }
        names
    }

    /// Everything a load gives, origins and logs included.
    fn all_of(l: &Loaded) -> String {
        format!("{l:#?}")
    }

    #[test]
    fn a_shared_load_is_the_load_of_the_unit_alone() {
        let mut fs = MemFs::new();
        let names = varied(&mut fs);
        let options = LoadOptions::default();
        let loader = Loader::new(&fs, &options);
        for name in &names {
            let shared = loader.load(name);
            let alone = load(&fs, name, &options);
            assert_eq!(all_of(&shared), all_of(&alone), "{name}");
            assert_eq!(shared.effective, alone.effective, "{name}");
        }
        // Each again, in another order: what was kept is used again.
        for name in names.iter().rev() {
            assert_eq!(
                all_of(&loader.load(name)),
                all_of(&load(&fs, name, &options)),
                "{name}"
            );
        }
        // The cases are what they say.
        let l = |n: &str| load(&fs, n, &options);
        let logged =
            |n: &str, what: &str| l(n).diagnostics.iter().any(|d| d.message.contains(what));
        assert!(logged("t@4.service", "Invalid user/group name"));
        assert!(logged("t@5.service", "Unknown key 'NoSuchKey'"));
        assert!(!l("t@3.service").effective.shared_resets().is_empty());
        assert_eq!(l("t@9.service").state, LoadState::Masked);
        assert_eq!(l("t@8.service").masked_dropins.len(), 1);
        assert_eq!(l("t@6.service").dropins.len(), 2);
        assert!(
            l("t@5.service")
                .effective
                .origin_values(Directive::ReadWritePaths)
                .iter()
                .any(|v| v == "/var/%i")
        );
        // The shared path was taken, not just the plain one.
        assert!(loader.replayed() > 100, "{}", loader.replayed());
        // Negative controls: the comparison sees what a replay could get
        // wrong. Another instance with the same drop-in lines differs (its
        // origins and its specifiers); the same lines read under another
        // file name differ in their origins only.
        assert_ne!(
            all_of(&loader.load("t@1.service")),
            all_of(&load(&fs, "t@11.service", &options))
        );
        let one = load(&fs, "t@7.service", &options);
        let mut renamed = fs.clone();
        let d = "/etc/systemd/system/t@7.service.d";
        let bytes = fs.read(&format!("{d}/10-a.conf")).unwrap();
        renamed.file(&format!("{d}/10-a.conf"), "");
        renamed.file(&format!("{d}/11-a.conf"), bytes);
        let other = load(&renamed, "t@7.service", &options);
        assert_eq!(one.effective, other.effective);
        assert_ne!(all_of(&one), all_of(&other));
    }

    #[test]
    fn names() {
        assert_eq!(unit_name_kind("a.service"), Some(NameKind::Plain));
        assert_eq!(unit_name_kind("a@.service"), Some(NameKind::Template));
        assert_eq!(unit_name_kind("a@b@c.service"), Some(NameKind::Instance));
        assert_eq!(unit_name_kind("@a.service"), None);
        assert_eq!(unit_name_kind("a.servic"), None);
        assert_eq!(unit_name_kind("a b.service"), None);
        assert!(directory_name_is_valid("service.d"));
        assert!(directory_name_is_valid("a@.service.d"));
        assert!(!directory_name_is_valid("a.d"));
    }

    #[test]
    fn template_instance_and_precedence() {
        let mut fs = MemFs::new();
        server(&mut fs);
        fs.file(
            "/etc/systemd/system/left4me-server@.service.d/10-h.conf",
            "[Service]\nUMask=0027\nPrivatePIDs=yes\n",
        )
        .file(
            "/etc/systemd/system/left4me-server@1.service.d/10-h.conf",
            "[Service]\nUMask=0077\n",
        )
        .file(
            "/usr/lib/systemd/system/left4me-server@.service.d/05-a.conf",
            "[Service]\nProcSubset=pid\n",
        )
        .file(
            "/usr/lib/systemd/system/left4me-server@.service.d/10-h.conf",
            "[Service]\nProtectProc=invisible\n",
        )
        .file(
            "/run/systemd/system/service.d/99-all.conf",
            "[Service]\nProtectSystem=no\n",
        )
        .file(
            "/etc/systemd/system/left4me-.service.d/50-x.conf",
            "[Service]\nPrivateIPC=yes\n",
        )
        .file(
            "/etc/systemd/system/left4me-server@1.service.d/.hidden.conf",
            "[Service]\nUMask=0000\n",
        )
        .file(
            "/etc/systemd/system/left4me-server@1.service.d/x.conf~",
            "[Service]\nUMask=0000\n",
        );
        let one = load(&fs, "left4me-server@1.service", &LoadOptions::default());
        assert_eq!(one.state, LoadState::Loaded);
        assert_eq!(
            one.dropins,
            [
                "/usr/lib/systemd/system/left4me-server@.service.d/05-a.conf",
                "/etc/systemd/system/left4me-server@1.service.d/10-h.conf",
                "/etc/systemd/system/left4me-.service.d/50-x.conf",
                "/run/systemd/system/service.d/99-all.conf",
            ]
        );
        let e = &one.effective;
        assert_eq!(e.lines(Directive::UMask), ["0077"]);
        assert_eq!(e.lines(Directive::PrivatePids), ["no"]);
        assert_eq!(e.lines(Directive::ProcSubset), ["pid"]);
        assert_eq!(e.lines(Directive::PrivateIpc), ["yes"]);
        let two = load(&fs, "left4me-server@2.service", &LoadOptions::default());
        assert_eq!(two.effective.lines(Directive::UMask), ["0027"]);
        assert_eq!(two.effective.lines(Directive::PrivatePids), ["yes"]);
    }

    #[test]
    fn masks() {
        let mut fs = MemFs::new();
        server(&mut fs);
        fs.file(
            "/usr/lib/systemd/system/left4me-server@.service.d/10-h.conf",
            "[Service]\nUMask=0027\n",
        )
        .symlink(
            "/etc/systemd/system/left4me-server@.service.d/10-h.conf",
            "/dev/null",
        )
        .file("/dev/null", "");
        let one = load(&fs, "left4me-server@1.service", &LoadOptions::default());
        assert_eq!(one.effective.lines(Directive::UMask), ["0022"]);
        assert_eq!(one.masked_dropins.len(), 1);
        fs.symlink("/etc/systemd/system/left4me-web.service", "/dev/null");
        let web = load(&fs, "left4me-web.service", &LoadOptions::default());
        assert_eq!(web.state, LoadState::Masked);
    }

    #[test]
    fn aliases_bring_their_dropins() {
        let mut fs = MemFs::new();
        fs.file("/usr/lib/systemd/system/left4me-web.service", BASE)
            .symlink(
                "/etc/systemd/system/evil.service",
                "/usr/lib/systemd/system/left4me-web.service",
            )
            .file(
                "/etc/systemd/system/evil.service.d/x.conf",
                "[Service]\nProtectSystem=no\nUMask=0000\n",
            );
        let web = load(&fs, "left4me-web.service", &LoadOptions::default());
        assert_eq!(web.aliases, ["evil.service"]);
        assert_eq!(web.effective.lines(Directive::UMask), ["0000"]);
    }

    #[test]
    fn installed_instances_are_found() {
        let mut fs = MemFs::new();
        server(&mut fs);
        fs.dir("/etc/systemd/system/left4me-server@2.service.d")
            .dir("/run/systemd/system/left4me-server@7.service.d")
            .dir("/etc/systemd/system/other@3.service.d");
        assert_eq!(
            installed_instances(&fs, "left4me-server@.service", &LoadOptions::default()),
            ["left4me-server@2.service", "left4me-server@7.service"]
        );
    }

    /// A file system that counts what it is asked, each answer slow
    /// enough that readers on other threads ask meanwhile.
    struct Counting {
        fs: MemFs,
        asked: Mutex<BTreeMap<String, usize>>,
    }

    impl Counting {
        fn ask(&self, what: &str, path: &str) {
            *lock(&self.asked)
                .entry(format!("{what} {path}"))
                .or_default() += 1;
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    impl Fs for Counting {
        fn read_dir(&self, path: &str) -> Result<Option<Vec<DirEntry>>, FsError> {
            self.ask("list", path);
            self.fs.read_dir(path)
        }
        fn read_link(&self, path: &str) -> Result<Option<String>, FsError> {
            self.ask("link", path);
            self.fs.read_link(path)
        }
        fn target(&self, path: &str) -> Result<Target, FsError> {
            self.ask("target", path);
            self.fs.target(path)
        }
        fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
            self.ask("read", path);
            self.fs.read(path)
        }
    }

    /// Readers on eight threads asking the same questions of one
    /// [`Cached`], each in its own order: every question is asked of the
    /// file system below once, and every reader gets the same answers.
    #[test]
    fn readers_on_many_threads_ask_each_question_once() {
        let mut fs = MemFs::new();
        for i in 0..12 {
            fs.file(&format!("/etc/u{i}.conf"), format!("[Service]\nX={i}\n"));
        }
        fs.symlink("/etc/l", "u1.conf");
        let counting = Counting {
            fs,
            asked: Mutex::default(),
        };
        let cached = Cached::new(&counting);
        let paths: Vec<String> = (0..12)
            .map(|i| format!("/etc/u{i}.conf"))
            .chain(["/etc/l".to_owned(), "/etc/missing".to_owned()])
            .collect();
        let answers: Vec<Vec<String>> = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..8)
                .map(|t| {
                    let (cached, paths) = (&cached, &paths);
                    scope.spawn(move || {
                        let mut seen = Vec::new();
                        // Each reader starts elsewhere in the list.
                        for k in 0..paths.len() {
                            let p = &paths[(k + t * 5) % paths.len()];
                            seen.push(format!(
                                "{p} {:?} {:?} {:?} {:?}",
                                cached.target(p),
                                cached.read_link(p),
                                cached.read(p),
                                cached.read_dir("/etc").map(|d| d.map(|d| d.len())),
                            ));
                        }
                        seen.sort();
                        seen
                    })
                })
                .collect();
            readers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert!(answers.windows(2).all(|w| w[0] == w[1]));
        let asked = lock(&counting.asked);
        assert_eq!(asked.len(), 3 * paths.len() + 1, "{asked:?}");
        assert!(asked.values().all(|n| *n == 1), "{asked:?}");
    }
}
