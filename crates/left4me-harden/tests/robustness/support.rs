//! Helpers: the binary, scratch directories, tmpfs mounts, tree listings.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The binary under test: this build's, or the one `LEFT4ME_HARDEN_BIN`
/// names (to show that rows fail on another build, such as an older one).
pub(crate) fn bin_path() -> PathBuf {
    std::env::var_os("LEFT4ME_HARDEN_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_left4me-harden")),
        PathBuf::from,
    )
}

/// The binary under test, as a command.
pub(crate) fn bin() -> Command {
    Command::new(bin_path())
}

/// Runs the binary with `args`.
pub(crate) fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    bin().args(args).output().expect("the binary runs")
}

/// A scratch directory under the temp directory, removed when dropped.
pub(crate) struct Scratch {
    pub(crate) path: PathBuf,
}

impl Scratch {
    pub(crate) fn new(tag: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "left4me-harden-robustness-{}-{}-{tag}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("scratch directory");
        Scratch { path }
    }

    pub(crate) fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A tmpfs mounted on a fresh directory, unmounted when dropped. The tests
/// that use it need root, which CI has; without it they fail, loudly.
pub(crate) struct Tmpfs {
    _scratch: Scratch,
    pub(crate) path: PathBuf,
    mounted: bool,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (mount(8) syntax, such as `256k`).
    pub(crate) fn mount(tag: &str, size: &str) -> Tmpfs {
        let scratch = Scratch::new(tag);
        let path = scratch.join("mnt");
        fs::create_dir(&path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0755"))
            .arg("tmpfs")
            .arg(&path)
            .output()
            .expect("mount(8) runs");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs on {} (these tests need root, as CI has): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            _scratch: scratch,
            path,
            mounted: true,
        }
    }

    /// Remounts read-only.
    pub(crate) fn remount_ro(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.path)
            .output()
            .expect("mount(8) runs");
        assert!(
            out.status.success(),
            "cannot remount read-only: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if self.mounted {
            let ok = Command::new("umount")
                .arg(&self.path)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                // Busy (a child still running): detach it instead.
                let _ = Command::new("umount").arg("-l").arg(&self.path).status();
            }
        }
    }
}

/// Every entry under `root`: relative path → file bytes, link target
/// (prefixed `-> `) or `<dir>`, with its mode bits for files.
pub(crate) fn listing(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.expect("dir entry");
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .into_owned();
            let m = fs::symlink_metadata(&p).expect("metadata");
            if m.file_type().is_symlink() {
                let t = fs::read_link(&p).expect("link");
                out.insert(rel, format!("-> {}", t.display()).into_bytes());
            } else if m.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                walk(root, &p, out);
            } else if !m.is_file() {
                // A FIFO or a device: never read it (a FIFO would block).
                out.insert(rel, format!("<{:?}>", m.file_type()).into_bytes());
            } else {
                let mut bytes = fs::read(&p).unwrap_or_else(|_| b"<unreadable>".to_vec());
                use std::os::unix::fs::PermissionsExt as _;
                bytes.extend(format!("\n<mode {:o}>", m.permissions().mode()).bytes());
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Every temp file of ours left under `root`.
pub(crate) fn temps(root: &Path) -> Vec<String> {
    listing(root)
        .into_keys()
        .filter(|k| {
            Path::new(k)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".left4me-harden-tmp."))
        })
        .collect()
}

/// The files `write` produces for `instances` (relative paths), with their
/// contents, rendered by the binary itself.
pub(crate) fn expected(instances: &[&str], extra: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let scratch = Scratch::new("expected");
    let out = bin()
        .args(["write", "--root"])
        .arg(&scratch.path)
        .args(instances.iter().flat_map(|i| ["--instance", i]))
        .args(extra)
        .output()
        .expect("write runs");
    assert!(out.status.success(), "{}", stderr(&out));
    files(&scratch.path)
}

/// Regular files under `root`, relative path → bytes.
pub(crate) fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (k, _) in listing(root) {
        let p = root.join(&k);
        if fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
            out.insert(k, fs::read(&p).expect("read"));
        }
    }
    out
}

/// Standard error as text.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a run failed with exit 2 and a one-line message containing all
/// of `needles`.
#[track_caller]
pub(crate) fn assert_trouble(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, got {:?}; stderr: {err}",
        out.status
    );
    for n in needles {
        assert!(err.contains(n), "stderr does not name {n:?}: {err}");
    }
}
