//! The files to stage in the oracle root, at the paths systemd sees.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// One staged file system object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Node {
    /// A regular file with these bytes and this mode.
    File {
        /// The exact contents (any bytes: NUL, CR, invalid UTF-8, …).
        bytes: Vec<u8>,
        /// The permission bits.
        mode: u32,
    },
    /// A symbolic link with this target text (absolute or relative; it
    /// may point at a directory, at `/dev/null`, or nowhere).
    Symlink(String),
    /// A directory (only needed when it is empty; files create their
    /// parents).
    Dir,
}

/// Files, symlinks and directories to stage at absolute paths as systemd
/// sees them (`/etc/systemd/system/x.service.d/10.conf`,
/// `/run/systemd/system/…`, `/usr/lib/systemd/system/…`).
///
/// Paths must be absolute and normalised (no `.`, `..` or empty
/// components), outside `/proc`, `/sys` and `/dev`, and nothing can be
/// staged below a file or a symlink of the same tree. Problems are
/// reported when the tree is staged, so building one never fails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    entries: BTreeMap<String, Node>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// A regular file (mode 0644) with `bytes`, replacing any entry at
    /// `path`.
    pub fn file(&mut self, path: &str, bytes: impl AsRef<[u8]>) -> &mut Tree {
        self.file_with_mode(path, bytes, 0o644)
    }

    /// A regular file with `bytes` and the permission bits `mode`.
    pub fn file_with_mode(&mut self, path: &str, bytes: impl AsRef<[u8]>, mode: u32) -> &mut Tree {
        self.entries.insert(
            path.to_owned(),
            Node::File {
                bytes: bytes.as_ref().to_vec(),
                mode,
            },
        );
        self
    }

    /// A symbolic link at `path` pointing at `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Tree {
        self.entries
            .insert(path.to_owned(), Node::Symlink(target.to_owned()));
        self
    }

    /// A directory at `path`.
    pub fn dir(&mut self, path: &str) -> &mut Tree {
        self.entries.insert(path.to_owned(), Node::Dir);
        self
    }

    /// The entries, by path.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Everything below the host directory `dir`, as if `dir` were `/`:
    /// regular files with their bytes and mode, symlinks with their
    /// target, empty directories.
    pub fn read_dir(dir: &Path) -> Result<Tree> {
        let mut tree = Tree::new();
        read_into(&mut tree, dir, "")?;
        Ok(tree)
    }

    fn check(&self) -> Result<()> {
        for (path, node) in &self.entries {
            check_path(path)?;
            // Nothing below a file or a symlink: staging it would write
            // through the symlink, on the host.
            let mut at = path.as_str();
            while let Some(cut) = at.rfind('/').filter(|&i| i > 0) {
                at = &at[..cut];
                match self.entries.get(at) {
                    Some(Node::File { .. }) => {
                        return Err(bad(path, "a staged file is on its way"));
                    }
                    Some(Node::Symlink(_)) => {
                        return Err(bad(path, "a staged symlink is on its way"));
                    }
                    _ => {}
                }
            }
            if let Node::Symlink(target) = node
                && (target.is_empty() || target.contains('\0'))
            {
                return Err(bad(path, "a symlink target must be non-empty without NUL"));
            }
        }
        Ok(())
    }

    /// Writes the tree below the host directory `root` (which becomes
    /// `/`): directories 0755, files with their mode, symlinks last.
    pub fn write_to(&self, root: &Path) -> Result<()> {
        self.check()?;
        make_dir(root)?;
        for (path, node) in &self.entries {
            let host = root.join(&path[1..]);
            match node {
                Node::File { bytes, mode } => {
                    parents(root, path)?;
                    fs::write(&host, bytes).map_err(io("cannot write", &host))?;
                    fs::set_permissions(&host, fs::Permissions::from_mode(*mode))
                        .map_err(io("cannot chmod", &host))?;
                }
                Node::Dir => {
                    parents(root, path)?;
                    make_dir(&host)?;
                }
                Node::Symlink(_) => {}
            }
        }
        for (path, node) in &self.entries {
            if let Node::Symlink(target) = node {
                parents(root, path)?;
                let host = root.join(&path[1..]);
                std::os::unix::fs::symlink(target, &host)
                    .map_err(io("cannot create the symlink", &host))?;
            }
        }
        Ok(())
    }
}

fn bad(path: &str, reason: &'static str) -> Error {
    Error::BadPath {
        path: path.to_owned(),
        reason,
    }
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io { what, path, source }
}

fn check_path(path: &str) -> Result<()> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(bad(path, "not absolute"));
    };
    if rest.is_empty() {
        return Err(bad(path, "cannot stage / itself"));
    }
    if path.contains('\0') {
        return Err(bad(path, "contains NUL"));
    }
    if rest
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad(path, "not normalised (empty, . or .. component)"));
    }
    let top = rest.split('/').next().unwrap_or_default();
    if matches!(top, "proc" | "sys" | "dev") {
        return Err(bad(path, "below an API file system (/proc, /sys, /dev)"));
    }
    Ok(())
}

fn make_dir(dir: &Path) -> Result<()> {
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(io("cannot create the directory", dir)(e)),
    }
    // Not subject to the umask: nobody must be able to read the tree.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io("cannot chmod", dir))
}

fn parents(root: &Path, path: &str) -> Result<()> {
    let mut at = root.to_path_buf();
    let components: Vec<&str> = path[1..].split('/').collect();
    for c in &components[..components.len().saturating_sub(1)] {
        at.push(c);
        make_dir(&at)?;
    }
    Ok(())
}

fn read_into(tree: &mut Tree, dir: &Path, prefix: &str) -> Result<()> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io("cannot read the directory", dir))? {
        let entry = entry.map_err(io("cannot read the directory", dir))?;
        names.push(entry.file_name());
    }
    names.sort();
    if names.is_empty() && !prefix.is_empty() {
        tree.dir(prefix);
    }
    for name in names {
        let host = dir.join(&name);
        let Some(name) = name.to_str() else {
            return Err(Error::BadPath {
                path: host.to_string_lossy().into_owned(),
                reason: "not UTF-8",
            });
        };
        let path = format!("{prefix}/{name}");
        let meta = fs::symlink_metadata(&host).map_err(io("cannot stat", &host))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&host).map_err(io("cannot read the symlink", &host))?;
            let Some(target) = target.to_str() else {
                return Err(bad(&path, "symlink target is not UTF-8"));
            };
            tree.symlink(&path, target);
        } else if meta.is_dir() {
            read_into(tree, &host, &path)?;
        } else if meta.is_file() {
            let bytes = fs::read(&host).map_err(io("cannot read", &host))?;
            tree.file_with_mode(&path, bytes, meta.permissions().mode() & 0o7777);
        } else {
            return Err(bad(&path, "neither a file, a directory nor a symlink"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn paths_are_checked_when_staged() {
        let dir = std::env::temp_dir().join(format!("oracle-tree-unit-{}", std::process::id()));
        for (path, reason) in [
            ("etc/x", "not absolute"),
            ("/", "cannot stage / itself"),
            ("/etc//x", "not normalised (empty, . or .. component)"),
            ("/etc/../x", "not normalised (empty, . or .. component)"),
            ("/etc/x/", "not normalised (empty, . or .. component)"),
            ("/proc/x", "below an API file system (/proc, /sys, /dev)"),
        ] {
            let mut t = Tree::new();
            t.file(path, "");
            match t.write_to(&dir) {
                Err(Error::BadPath { reason: r, .. }) => assert_eq!(r, reason, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
        let mut t = Tree::new();
        t.symlink("/etc/a", "/tmp").file("/etc/a/b", "x");
        assert!(matches!(t.write_to(&dir), Err(Error::BadPath { .. })));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn write_then_read_gives_the_same_tree() {
        let dir = std::env::temp_dir().join(format!("oracle-tree-rt-{}", std::process::id()));
        let mut t = Tree::new();
        t.file("/etc/systemd/system/a.service", b"[Unit]\0\xff\r\n")
            .file_with_mode("/etc/g", "#!/bin/sh\n", 0o755)
            .symlink("/etc/systemd/system/b.service", "/dev/null")
            .symlink("/etc/systemd/system/c.service.d", "../d")
            .dir("/etc/empty");
        t.write_to(&dir).unwrap();
        assert_eq!(Tree::read_dir(&dir).unwrap(), t);
        fs::remove_dir_all(&dir).unwrap();
    }
}
