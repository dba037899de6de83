//! What a run may read: bytes per file, bytes and files in all, entries
//! per directory, and wall time.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The caps of a [`Budget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes one file may have.
    pub file_bytes: u64,
    /// The most bytes all reads of a run may return together.
    pub total_bytes: u64,
    /// The most files and directories a run may read (those not there
    /// are not counted).
    pub files: u64,
    /// The most entries one directory may have.
    pub dir_entries: u64,
    /// The longest a run's reads may take, from the budget's creation.
    pub time: Duration,
}

impl Limits {
    /// Generous for configuration trees (a unit file or drop-in is a few
    /// KiB, a host has dozens to thousands of them), small enough that no
    /// read can exhaust memory: 1 MiB per file, 32 MiB and 50,000 files
    /// and directories in all, 10,000 entries per directory, 30 seconds.
    pub const DEFAULT: Limits = Limits {
        file_bytes: 1024 * 1024,
        total_bytes: 32 * 1024 * 1024,
        files: 50_000,
        dir_entries: 10_000,
        time: Duration::from_secs(30),
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// What one run has read and may still read, shared by every read of the
/// run (it may be shared between threads). Each read checks it before it
/// starts and while it goes, and fails with an error naming the file and
/// the cap it would exceed.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    start: Instant,
    bytes: AtomicU64,
    files: AtomicU64,
    stdin: std::sync::atomic::AtomicBool,
}

impl Budget {
    /// A fresh budget; its time starts now.
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            start: Instant::now(),
            bytes: AtomicU64::new(0),
            files: AtomicU64::new(0),
            stdin: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The caps.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The files and directories read so far.
    pub fn files_read(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// The time left, or an error naming `path` if none is.
    pub(crate) fn time_left(&self, path: &Path) -> Result<Duration> {
        match self.limits.time.checked_sub(self.start.elapsed()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(Error::TimeLimit {
                path: path.to_path_buf(),
                limit: self.limits.time,
            }),
        }
    }

    /// Marks standard input read: a run reads it once, so a second read
    /// (`-` given for two inputs) is an error naming `name`, not an empty
    /// file.
    pub(crate) fn take_stdin(&self, name: &Path) -> Result<()> {
        if self.stdin.swap(true, Ordering::Relaxed) {
            return Err(Error::StdinTwice {
                path: name.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Counts one more file (or directory) found and about to be read,
    /// checking the time too. What is not there costs nothing.
    pub(crate) fn start_file(&self, path: &Path) -> Result<()> {
        self.time_left(path)?;
        let before = self.files.fetch_add(1, Ordering::Relaxed);
        if before >= self.limits.files {
            return Err(Error::TotalFiles {
                path: path.to_path_buf(),
                limit: self.limits.files,
            });
        }
        Ok(())
    }

    /// Checks, before reading, that a file of `size` bytes fits both caps.
    pub(crate) fn check_size(&self, path: &Path, size: u64) -> Result<()> {
        if size > self.limits.file_bytes {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
                limit: self.limits.file_bytes,
            });
        }
        if self.bytes_read().saturating_add(size) > self.limits.total_bytes {
            return Err(Error::TotalBytes {
                path: path.to_path_buf(),
                limit: self.limits.total_bytes,
            });
        }
        Ok(())
    }

    /// Charges `n` bytes just read from `path`, of which the file has
    /// now given `so_far`.
    pub(crate) fn charge(&self, path: &Path, n: u64, so_far: u64) -> Result<()> {
        if so_far > self.limits.file_bytes {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
                limit: self.limits.file_bytes,
            });
        }
        let before = self.bytes.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.limits.total_bytes {
            return Err(Error::TotalBytes {
                path: path.to_path_buf(),
                limit: self.limits.total_bytes,
            });
        }
        self.time_left(path).map(|_| ())
    }

    /// Checks a directory's entry count.
    pub(crate) fn check_entries(&self, path: &Path, n: u64) -> Result<()> {
        if n > self.limits.dir_entries {
            return Err(Error::TooManyEntries {
                path: path.to_path_buf(),
                limit: self.limits.dir_entries,
            });
        }
        Ok(())
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::new(Limits::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            file_bytes: 10,
            total_bytes: 25,
            files: 3,
            dir_entries: 2,
            time: Duration::from_secs(3600),
        }
    }

    #[test]
    fn each_cap_names_the_file_and_the_cap() {
        let b = Budget::new(small());
        let p = Path::new("/x/a.conf");
        assert!(b.check_size(p, 10).is_ok());
        let e = b.check_size(p, 11).unwrap_err().to_string();
        assert_eq!(
            e,
            "\"/x/a.conf\" is larger than the 10 bytes a file may have"
        );
        b.charge(p, 10, 10).unwrap();
        b.charge(p, 10, 10).unwrap();
        let e = b.check_size(p, 6).unwrap_err().to_string();
        assert!(e.contains("past the 25 bytes"), "{e}");
        let e = b.charge(p, 6, 6).unwrap_err().to_string();
        assert!(e.contains("past the 25 bytes"), "{e}");
        for _ in 0..3 {
            b.start_file(p).unwrap();
        }
        let e = b.start_file(p).unwrap_err().to_string();
        assert!(e.contains("past the 3 files"), "{e}");
        assert!(b.check_entries(p, 2).is_ok());
        let e = b.check_entries(p, 3).unwrap_err().to_string();
        assert!(e.contains("more than the 2 entries"), "{e}");
    }

    #[test]
    fn time_runs_out() {
        let b = Budget::new(Limits {
            time: Duration::from_millis(1),
            ..small()
        });
        std::thread::sleep(Duration::from_millis(5));
        let e = b.start_file(Path::new("/x")).unwrap_err().to_string();
        assert!(e.contains("took longer than the 0.001 seconds"), "{e}");
    }
}
