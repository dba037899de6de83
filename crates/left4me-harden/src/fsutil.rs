//! Safe writes: atomic replace with fsync, idempotence, stale temp cleanup,
//! symlink policy and a lock against concurrent runs.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
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

/// The temp-file prefix for `name`; stale ones are removed under the lock.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.left4me-harden-tmp.")
}

/// Where the bytes really go: `path` itself, or the target of a symlink
/// when asked to follow it.
pub(crate) fn destination(path: &Path, symlinks: Symlinks) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match symlinks {
            Symlinks::Refuse => bail!(
                "{} is a symbolic link (to {}); refusing to replace it — pass --follow-symlinks to update the file it points to",
                path.display(),
                fs::read_link(path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_else(|_| "?".into())
            ),
            Symlinks::UpdateTarget => {
                let target = fs::canonicalize(path).with_context(|| {
                    format!(
                        "{} is a symbolic link whose target cannot be resolved",
                        path.display()
                    )
                })?;
                if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
                    bail!(
                        "{} points to a directory ({}), not a file",
                        path.display(),
                        target.display()
                    );
                }
                Ok(target)
            }
        },
        Ok(m) if m.is_dir() => bail!("{} is a directory where a file should be", path.display()),
        Ok(_) => Ok(path.to_path_buf()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
}

/// What writing `content` to `path` would do, without writing.
pub(crate) fn plan(path: &Path, content: &[u8]) -> Result<Outcome> {
    match fs::read(path) {
        Ok(old) if old == content => Ok(Outcome::Unchanged),
        Ok(_) => Ok(Outcome::Updated),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Outcome::Created),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Creates missing directories (mode 0755) up to and including `dir`.
pub(crate) fn create_dirs(dir: &Path) -> Result<()> {
    if let Ok(m) = fs::metadata(dir) {
        if m.is_dir() {
            return Ok(());
        }
        bail!("{} exists and is not a directory", dir.display());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Removes temp files a killed run left next to `path`.
pub(crate) fn remove_stale_temps(path: &Path) -> Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let prefix = temp_prefix(&name.to_string_lossy());
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let p = entry.path();
            fs::remove_file(&p)
                .with_context(|| format!("cannot remove stale temp file {}", p.display()))?;
        }
    }
    Ok(())
}

/// Writes `content` to `path` atomically: a temp file in the same
/// directory (mode 0644), fsync, rename over `path`, fsync the directory.
/// On failure the temp file is removed and `path` is untouched.
pub(crate) fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .context("destination has no parent directory")?;
    let name = path
        .file_name()
        .context("destination has no file name")?
        .to_string_lossy()
        .into_owned();
    let temp = dir.join(format!("{}{}", temp_prefix(&name), std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)
            .with_context(|| format!("cannot create temp file {}", temp.display()))?;
        file.write_all(content)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync directory {}", dir.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// An exclusive lock on a directory, held until dropped, so that two runs
/// on the same root do not interleave their temp-file cleanup and renames.
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock> {
        let file =
            File::open(dir).with_context(|| format!("cannot open {} to lock it", dir.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", dir.display()))?;
        Ok(DirLock { _file: file })
    }
}
