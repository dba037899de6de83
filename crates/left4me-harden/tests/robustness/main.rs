#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Robustness: hostile input through every entry, hostile file systems
//! under the root, and safe writes on real file systems (killed runs, a
//! full disk, a read-only file system, permission denied, symbolic links,
//! concurrent runs).

mod filesystem;
mod hostile;
mod installed_rows;
mod support;
mod symlinks;
mod writes;
