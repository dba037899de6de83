#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Modes whatever the umask: directories 0755, files 0644. A test binary
//! of its own, since the umask is the whole process's.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use rootfs::{Root, WriteOptions};
use rustix::fs::Mode;

/// A scratch directory, removed when dropped (a failed assertion too).
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_strict_umask_does_not_make_files_unreadable() {
    let scratch =
        Scratch(std::env::temp_dir().join(format!("rootfs-umask-{}", std::process::id())));
    let dir = &scratch.0;
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    rustix::process::umask(Mode::from_raw_mode(0o077));
    let root = Root::open(dir).unwrap();
    rootfs::write_all(&root, &[("a/b/c.conf", b"x")], &WriteOptions::default()).unwrap();
    let mode = |p: &str| fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("a"), 0o755);
    assert_eq!(mode("a/b"), 0o755);
    assert_eq!(mode("a/b/c.conf"), 0o644);
}
