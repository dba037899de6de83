//! Confined, bounded file-system access under a root directory.
//!
//! Everything a tool reads from or writes to a file tree it was pointed at
//! (`--root DIR`, an image, a container's file system) goes through a
//! [`Root`]:
//!
//! - **Reads** resolve paths the way systemd resolves them under `--root`:
//!   symbolic links are followed, but *inside* the root (an absolute target
//!   starts again at the root, `..` stops there, `/proc/PID/fd` magic links
//!   are not followed). Only regular files on regular file systems are
//!   read — a FIFO, a device, a file on procfs or sysfs is refused before it
//!   is opened for reading — and every read of a run shares one [`Budget`]:
//!   bytes per file, bytes and files in all, entries per directory, time.
//!   [`Root::read_dir`] lists a directory with each entry's own type and,
//!   for links, what they lead to, so that a caller can tell a mask
//!   ([`Entry::is_masked`]) as systemd does.
//! - **Writes** ([`write_all`]) never leave the root: every directory on
//!   the way is a real directory (no symbolic link at all), opened one
//!   after the other from the root; destinations are staged, synced in one
//!   batch and renamed, under a lock (see [`mod@write`]).
//! - Files outside any root ([`read_path`], [`read_stdin`]) get the same
//!   checks and limits.
//!
//! ```
//! use rootfs::{Budget, Outcome, Root, WriteOptions};
//!
//! let dir = std::env::temp_dir().join(format!("rootfs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let root = Root::open(&dir)?;
//! let files = [("etc/app.d/10-x.conf", b"[Service]\n".to_vec())];
//! let done = rootfs::write_all(&root, &files, &WriteOptions::default())?;
//! assert_eq!(done[0].1, Outcome::Created);
//! let again = rootfs::write_all(&root, &files, &WriteOptions::default())?;
//! assert_eq!(again[0].1, Outcome::Unchanged);
//!
//! let budget = Budget::default();
//! let bytes = root.read_file("/etc/app.d/10-x.conf", &budget)?;
//! assert_eq!(bytes.as_deref(), Some(&b"[Service]\n"[..]));
//! let entries = root.read_dir("etc/app.d", &budget)?.unwrap_or_default();
//! assert_eq!(entries[0].name, "10-x.conf");
//! assert!(entries[0].is_file() && !entries[0].is_masked());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), rootfs::Error>(())
//! ```
//!
//! # Limitations
//!
//! - Linux only. Resolution uses `openat2` (Linux 5.6) where the kernel has
//!   it and applies the same rules component by component where it does
//!   not ([`Resolver`]).
//! - Mount points inside the root are crossed (a root is often several
//!   file systems); whoever can mount inside it can make it lead anywhere.
//! - A network or FUSE file system that hangs inside a system call cannot
//!   be interrupted: the time limit is checked between reads.
//! - `syncfs` flushes every dirty file of the file systems written, not
//!   only this run's.

// No index can panic: every access says what happens when it is out of range.
#![deny(clippy::indexing_slicing)]

mod budget;
mod error;
mod read;
mod resolve;
mod root;
mod sys;
pub mod write;

pub use budget::{Budget, Limits};
pub use error::{Error, Result};
pub use read::{read_fd, read_named, read_path, read_stdin};
pub use resolve::Resolver;
pub use root::{Entry, Inspected, Link, Listing, Metadata, Resolved, Root};
pub use sys::FileType;
pub use write::{Outcome, WriteOptions, Written, plan, write_all, write_all_listed};
