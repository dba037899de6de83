//! Safe writes: atomic replace with fsync, idempotence, stale temp cleanup,
//! symlink policy and a lock against concurrent runs.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, FileTypeExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// What happened to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// What to do when the destination is a symbolic link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Symlinks {
    /// Refuse, naming the link.
    Refuse,
    /// Replace the file the link points to, atomically; the link stays.
    UpdateTarget,
}

/// A path as error messages show it: debug-escaped and quoted, so a line
/// break or a control character in it cannot break the message.
pub(crate) fn quoted(path: &Path) -> String {
    format!("{path:?}")
}

/// What marks a temp file of ours: `.NAME.left4me-harden-tmp.PID`.
const TEMP_MARK: &str = ".left4me-harden-tmp.";

/// The temp-file prefix for `name`; stale ones are removed under the lock.
fn temp_prefix(name: &str) -> String {
    format!(".{name}{TEMP_MARK}")
}

/// Where the bytes really go: `path` itself, or the final target of a
/// symbolic link when asked to follow it. Anything but a regular file (or
/// nothing) at the destination is refused: a directory, a FIFO (reading
/// it to compare would block), a device or a socket.
pub(crate) fn destination(path: &Path, symlinks: Symlinks) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match symlinks {
            Symlinks::Refuse => bail!(
                "{} is a symbolic link (to {}); refusing to replace it — pass --follow-symlinks to update the file it points to",
                quoted(path),
                fs::read_link(path)
                    .map(|t| quoted(&t))
                    .unwrap_or_else(|_| "?".into())
            ),
            Symlinks::UpdateTarget => {
                let target = resolve_link(path)?;
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_file() => Ok(target),
                    Ok(m) => bail!(
                        "{} points to {}, which is {}, not a regular file",
                        quoted(path),
                        quoted(&target),
                        file_kind(&m)
                    ),
                    // A dangling link: the file it names is created.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(target),
                    Err(e) => Err(e).with_context(|| {
                        format!(
                            "cannot inspect {} (the target of {})",
                            quoted(&target),
                            quoted(path)
                        )
                    }),
                }
            }
        },
        Ok(m) if m.is_dir() => bail!("{} is a directory where a file should be", quoted(path)),
        Ok(m) if !m.is_file() => bail!(
            "{} is {} where a regular file should be",
            quoted(path),
            file_kind(&m)
        ),
        Ok(_) => Ok(path.to_path_buf()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", quoted(path))),
    }
}

/// What a non-regular file is, for messages.
fn file_kind(m: &fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Follows `link` to the path that is not itself a link, resolving each
/// hop relative to the directory of the link it came from. Unlike
/// `canonicalize`, the last component need not exist (a dangling link is
/// followed to the file it would name), but its directory must.
fn resolve_link(link: &Path) -> Result<PathBuf> {
    // Linux's own limit on links followed in one lookup.
    const MAX_HOPS: usize = 40;
    let mut current = link.to_path_buf();
    for _ in 0..MAX_HOPS {
        let target = fs::read_link(&current)
            .with_context(|| format!("cannot read symbolic link {}", quoted(&current)))?;
        let joined = match current.parent() {
            Some(dir) => dir.join(&target),
            None => target.clone(),
        };
        let (Some(dir), Some(name)) = (joined.parent(), joined.file_name()) else {
            bail!(
                "{} is a symbolic link to {}, which does not name a file",
                quoted(link),
                quoted(&target)
            );
        };
        let dir = fs::canonicalize(dir).with_context(|| {
            format!(
                "{} is a symbolic link whose target {} cannot be resolved",
                quoted(link),
                quoted(&joined)
            )
        })?;
        current = dir.join(name);
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {}
            _ => return Ok(current),
        }
    }
    bail!(
        "{} is a symbolic link with more than {MAX_HOPS} levels of indirection",
        quoted(link)
    )
}

/// Reads an installed file for `diff` and `lint`, safely: `None` if it
/// does not exist; refused if it is not a regular file (reading a FIFO
/// would block, a device may never end); at most one byte more than
/// [`dropin::parse::INSTALLED_MAX`] is read, so that an oversized file is
/// refused by [`dropin::parse::installed`] without being read whole.
pub(crate) fn read_installed(path: &Path) -> Result<Option<Vec<u8>>> {
    let m = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", quoted(path))),
    };
    if !m.is_file() {
        bail!("{} is {}, not a regular file", quoted(path), file_kind(&m));
    }
    let limit = u64::try_from(dropin::parse::INSTALLED_MAX).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(limit.saturating_add(1)).read_to_end(&mut bytes))
        .with_context(|| format!("cannot read {}", quoted(path)))?;
    Ok(Some(bytes))
}

/// What writing `content` to `path` would do, without writing.
pub(crate) fn plan(path: &Path, content: &[u8]) -> Result<Outcome> {
    let size = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Outcome::Created),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", quoted(path))),
    };
    // A file of another size differs: no need to read it (it may be huge).
    if usize::try_from(size).ok() != Some(content.len()) {
        return Ok(Outcome::Updated);
    }
    match fs::read(path) {
        Ok(old) if old == content => Ok(Outcome::Unchanged),
        Ok(_) => Ok(Outcome::Updated),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Outcome::Created),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", quoted(path))),
    }
}

/// Creates missing directories (mode 0755) up to and including `dir`, and
/// returns those it created, outermost first.
pub(crate) fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = dir;
    loop {
        match fs::metadata(at) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => bail!("{} exists and is not a directory", quoted(at)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(at.to_path_buf());
                match at.parent() {
                    Some(parent) => at = parent,
                    None => break,
                }
            }
            Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", quoted(at))),
        }
    }
    let mut created = Vec::new();
    for d in missing.into_iter().rev() {
        // The umask must not make the directory unreadable to others.
        let made = DirBuilder::new()
            .mode(0o755)
            .create(&d)
            .and_then(|()| fs::set_permissions(&d, fs::Permissions::from_mode(0o755)));
        match made {
            Ok(()) => created.push(d),
            // Someone else made it meanwhile (the lock covers our runs only).
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => {
                remove_dirs(&created);
                return Err(e).with_context(|| format!("cannot create directory {}", quoted(&d)));
            }
        }
    }
    Ok(created)
}

/// Removes directories `create_dirs` made, innermost first, as long as
/// they are empty; what cannot be removed stays.
fn remove_dirs(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// The process id in a temp file name of ours (`.NAME.left4me-harden-tmp.PID`),
/// if it is one.
fn temp_pid(file_name: &str) -> Option<u32> {
    let (stem, pid) = file_name.rsplit_once(TEMP_MARK)?;
    if !stem.starts_with('.') || stem.len() < 2 || pid.is_empty() {
        return None;
    }
    if !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this id runs (Linux `/proc`; where `/proc` is not
/// mounted every writer counts as gone).
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the temp files killed runs left in the directory of `path`
/// (for any file name, not only `path`'s: a killed run may have been
/// writing another set of files). Only names of our exact form are
/// touched, and only those of processes that are gone: a run on another
/// root that writes through the same symbolic link target may be live.
pub(crate) fn remove_stale_temps(path: &Path) -> Result<()> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", quoted(dir))),
    };
    let me = std::process::id();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", quoted(dir)))?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else {
            continue;
        };
        if pid != me && process_alive(pid) {
            continue;
        }
        let p = entry.path();
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot remove stale temp file {}", quoted(&p)));
            }
        }
    }
    Ok(())
}

/// The temp file `path`'s new content is written to before it replaces it.
fn temp_path(path: &Path) -> Result<PathBuf> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", quoted(path)))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", quoted(path)))?
        .to_string_lossy()
        .into_owned();
    Ok(dir.join(format!("{}{}", temp_prefix(&name), std::process::id())))
}

/// Files written in two phases so that a failure while writing (a full
/// disk, a read-only file system) changes no destination at all: every new
/// content goes to a temp file beside its destination and is synced
/// ([`Staging::stage`]); only when all are written does each replace its
/// destination by `rename` ([`Staging::commit`]), which is atomic per file.
/// Dropped without commit, it removes its temp files and the directories
/// it created.
#[derive(Default)]
pub(crate) struct Staging {
    /// (temp file, destination), in staging order.
    files: Vec<(PathBuf, PathBuf)>,
    /// Directories created for the destinations, outermost first.
    created: Vec<PathBuf>,
}

impl Staging {
    /// Writes `content` to a synced temp file (mode 0644) beside `dest`,
    /// creating `dest`'s directory if needed.
    pub(crate) fn stage(&mut self, dest: &Path, content: &[u8]) -> Result<()> {
        if let Some(dir) = dest.parent() {
            let created = create_dirs(dir)?;
            self.created.extend(created);
        }
        let temp = temp_path(dest)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)
            .with_context(|| format!("cannot create temp file {}", quoted(&temp)))?;
        // From here on the temp file is ours to remove on failure.
        self.files.push((temp.clone(), dest.to_path_buf()));
        // The umask must not make the file unreadable to others.
        file.set_permissions(fs::Permissions::from_mode(0o644))
            .and_then(|()| file.write_all(content))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", quoted(&temp)))
    }

    /// Renames every temp file over its destination, in staging order, then
    /// syncs the directories so the renames survive a crash.
    pub(crate) fn commit(mut self) -> Result<()> {
        let files = std::mem::take(&mut self.files);
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (i, (temp, dest)) in files.iter().enumerate() {
            if let Err(e) = fs::rename(temp, dest) {
                // Leave the rest for Drop to clean up.
                self.files = files.get(i..).map(<[_]>::to_vec).unwrap_or_default();
                return Err(e).with_context(|| format!("cannot replace {}", quoted(dest)));
            }
            if let Some(dir) = dest.parent()
                && !dirs.iter().any(|d| d == dir)
            {
                dirs.push(dir.to_path_buf());
            }
        }
        // New directories must be recorded in their parents too.
        for d in std::mem::take(&mut self.created) {
            if let Some(parent) = d.parent()
                && !dirs.iter().any(|x| x == parent)
            {
                dirs.push(parent.to_path_buf());
            }
        }
        for dir in &dirs {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot sync directory {}", quoted(dir)))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            let _ = fs::remove_file(temp);
        }
        remove_dirs(&self.created);
    }
}

/// An exclusive lock on a directory, held until dropped, so that two runs
/// on the same root do not interleave their temp-file cleanup and renames.
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock> {
        let file =
            File::open(dir).with_context(|| format!("cannot open {} to lock it", quoted(dir)))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", quoted(dir)))?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_exactly() {
        assert_eq!(
            temp_pid(".10-hardening.conf.left4me-harden-tmp.4242"),
            Some(4242)
        );
        for not_ours in [
            "10-hardening.conf",
            ".10-hardening.conf.left4me-harden-tmp.",
            ".10-hardening.conf.left4me-harden-tmp.backup",
            ".10-hardening.conf.left4me-harden-tmp.12x",
            "x.left4me-harden-tmp.12",
            ".left4me-harden-tmp.12",
        ] {
            assert_eq!(temp_pid(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn stale_temps_of_dead_runs_go_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("fsutil-stale-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // Pid 1 is alive; u32::MAX never is; our own run's temps are ours.
        let names = [
            (".a.conf.left4me-harden-tmp.1", true),
            (".a.conf.left4me-harden-tmp.4294967295", false),
            (".b.conf.left4me-harden-tmp.4294967295", false),
            (".a.conf.left4me-harden-tmp.keep", true),
            ("a.conf", true),
        ];
        for (n, _) in names {
            fs::write(dir.join(n), "x").unwrap();
        }
        let own = temp_path(&dir.join("c.conf")).unwrap();
        fs::write(&own, "x").unwrap();
        remove_stale_temps(&dir.join("a.conf")).unwrap();
        for (n, stays) in names {
            assert_eq!(dir.join(n).exists(), stays, "{n}");
        }
        assert!(!own.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn staging_dropped_without_commit_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("fsutil-staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        {
            let mut s = Staging::default();
            s.stage(&dir.join("new/sub/a.conf"), b"a").unwrap();
            s.stage(&dir.join("b.conf"), b"b").unwrap();
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        let mut s = Staging::default();
        s.stage(&dir.join("new/a.conf"), b"a").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(dir.join("new/a.conf")).unwrap(), b"a");
        assert_eq!(fs::read_dir(dir.join("new")).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
