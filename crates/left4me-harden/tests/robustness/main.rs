#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Robustness: hostile input through every entry, and safe writes on real
//! file systems (killed runs, a full disk, a read-only file system,
//! permission denied, symbolic links, concurrent runs).

mod hostile;
mod support;
mod symlinks;
mod writes;
