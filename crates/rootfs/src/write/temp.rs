//! Temp files: their names (the destination's, this process's and this
//! run's) and the removal of those killed runs left behind.

use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher as _, Hasher as _};
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::NAME_MAX;
use crate::error::{Error, Result};
use crate::root::{Listing, entry_type};
use crate::sys::FileType;

/// This run: the process and a random number, in every temp file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Run {
    pid: u32,
    nonce: u64,
}

impl Run {
    pub(super) fn new() -> Run {
        // std's hasher keys come from the system's random source.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        Run {
            pid: std::process::id(),
            nonce: h.finish(),
        }
    }
}

/// The temp file name for destination number `index` named `name`:
/// `.NAME.TAG.PID.NONCE-INDEX`, the name shortened to fit 255 bytes.
pub(super) fn temp_name(name: &OsStr, tag: &str, run: Run, index: usize) -> OsString {
    let suffix = format!(".{tag}.{}.{:016x}-{index}", run.pid, run.nonce);
    let room = NAME_MAX.saturating_sub(1 + suffix.len());
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(NAME_MAX);
    out.push(b'.');
    out.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(bytes));
    out.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(out)
}

/// Who made a temp file, read from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Maker {
    /// `.NAME.TAG.PID.NONCE-N`.
    Run(Run),
    /// `.NAME.TAG.PID`, as earlier versions named them.
    Pid(u32),
}

/// The maker of a temp file of ours with `tag`, if `name` is one.
fn temp_maker(name: &[u8], tag: &str) -> Option<Maker> {
    if name.first() != Some(&b'.') {
        return None;
    }
    let marker = format!(".{tag}.");
    let marker = marker.as_bytes();
    let at = name.windows(marker.len()).rposition(|w| w == marker)?;
    // A leading dot and at least one byte of name before the marker.
    if name.first() != Some(&b'.') || at < 2 {
        return None;
    }
    let rest = std::str::from_utf8(name.get(at + marker.len()..)?).ok()?;
    let digits = |s: &str, most: usize| {
        !s.is_empty() && s.len() <= most && s.bytes().all(|b| b.is_ascii_digit())
    };
    if digits(rest, 10) {
        return rest.parse().ok().map(Maker::Pid);
    }
    let (pid, rest) = rest.split_once('.')?;
    let (nonce, index) = rest.split_once('-')?;
    if !digits(pid, 10) || nonce.len() != 16 || !digits(index, 20) {
        return None;
    }
    Some(Maker::Run(Run {
        pid: pid.parse().ok()?,
        nonce: u64::from_str_radix(nonce, 16).ok()?,
    }))
}

/// Whether a process with this id runs (one that exists but is not ours
/// to signal runs too).
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(rustix::process::test_kill_process(pid), Err(Errno::SRCH))
}

/// Whether a temp file made by `maker` is stale for the run `me`: never
/// one of this run's; one of an earlier process that had this process id;
/// one of a process that is gone. A live process's temp files stay (it
/// may be a run on another root writing through a link into here).
fn stale(maker: Maker, me: Run) -> bool {
    match maker {
        Maker::Run(run) if run == me => false,
        Maker::Run(Run { pid, .. }) | Maker::Pid(pid) if pid == me.pid => true,
        Maker::Run(Run { pid, .. }) | Maker::Pid(pid) => !alive(pid),
    }
}

/// Whether `name` is a stale temp file name with `tag` for the run `me`.
fn is_stale_temp(name: &[u8], tag: &str, me: Run) -> bool {
    temp_maker(name, tag).is_some_and(|m| stale(m, me))
}

/// Whether the directory `dir` holds a stale temp file (see [`stale`])
/// with `tag`, its entries read through `dir` itself: `dir` must be
/// opened for reading and not read from before (its offset moves). With
/// none, also its entries as [`crate::Root::list`] gives them (where
/// there are few).
pub(super) fn scan_for_stale_temps(
    dir: BorrowedFd<'_>,
    shown: &Path,
    tag: &str,
    me: Run,
) -> Result<(bool, Option<Listing>)> {
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
    let mut entries = rustix::fs::RawDir::new(dir, &mut buf);
    let mut names = Some(Vec::new());
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(|e| Error::io("list", shown, e))?;
        let name = entry.file_name().to_bytes();
        if is_stale_temp(name, tag, me) {
            return Ok((true, None));
        }
        if name == b"." || name == b".." {
            continue;
        }
        if let Some(n) = names.as_mut() {
            if n.len() >= LISTED_MAX {
                names = None;
            } else {
                n.push((OsString::from_vec(name.to_vec()), entry_type(&entry)));
            }
        }
    }
    if let Some(n) = names.as_mut() {
        n.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    Ok((false, names))
}

/// The most entries a directory listed while planned may hold for its
/// listing to be kept ([`super::Written::listed`]).
const LISTED_MAX: usize = 4096;

/// Removes the stale temp files (see [`stale`]) with `tag` from the
/// directory `dir`, of any destination name: a killed run may have been
/// writing other files. Only regular files are removed.
pub(super) fn remove_stale_temps(
    dir: BorrowedFd<'_>,
    shown: &Path,
    tag: &str,
    me: Run,
) -> Result<()> {
    let listing = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("open", shown, e))?;
    let mut doomed = Vec::new();
    for entry in rustix::fs::Dir::new(listing).map_err(|e| Error::io("list", shown, e))? {
        let entry = entry.map_err(|e| Error::io("list", shown, e))?;
        let name = entry.file_name().to_bytes();
        if is_stale_temp(name, tag, me) {
            doomed.push(OsString::from_vec(name.to_vec()));
        }
    }
    for name in doomed {
        let path = shown.join(&name);
        match rustix::fs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::of(&st) == FileType::Regular => {}
            _ => continue,
        }
        match rustix::fs::unlinkat(dir, name.as_os_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(Error::io("remove stale temp file", path, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "rootfs-tmp";

    #[test]
    fn temp_names_are_recognised_exactly() {
        let run = Run {
            pid: 4242,
            nonce: 0x0123_4567_89ab_cdef,
        };
        let name = temp_name(OsStr::new("10-hardening.conf"), TAG, run, 7);
        assert_eq!(
            name,
            ".10-hardening.conf.rootfs-tmp.4242.0123456789abcdef-7"
        );
        assert_eq!(temp_maker(name.as_bytes(), TAG), Some(Maker::Run(run)));
        assert_eq!(
            temp_maker(b".10-hardening.conf.rootfs-tmp.4242", TAG),
            Some(Maker::Pid(4242))
        );
        for not_ours in [
            "10-hardening.conf",
            ".10-hardening.conf.rootfs-tmp.",
            ".10-hardening.conf.rootfs-tmp.backup",
            ".10-hardening.conf.rootfs-tmp.12x",
            ".10-hardening.conf.rootfs-tmp.12.0123456789abcdef",
            ".10-hardening.conf.rootfs-tmp.12.0123456789abcde-1",
            ".10-hardening.conf.other-tmp.12",
            "x.rootfs-tmp.12",
            ".rootfs-tmp.12",
        ] {
            assert_eq!(temp_maker(not_ours.as_bytes(), TAG), None, "{not_ours}");
        }
    }

    #[test]
    fn long_names_make_temp_names_that_fit() {
        let run = Run {
            pid: u32::MAX,
            nonce: u64::MAX,
        };
        let long = "x".repeat(255);
        let name = temp_name(OsStr::new(&long), TAG, run, usize::MAX);
        assert_eq!(name.len(), 255);
        assert_eq!(temp_maker(name.as_bytes(), TAG), Some(Maker::Run(run)));
    }

    #[test]
    fn this_runs_temps_are_never_stale() {
        let me = Run {
            pid: std::process::id(),
            nonce: 1,
        };
        assert!(!stale(Maker::Run(me), me));
        // The same process id, another run: a process before us.
        assert!(stale(Maker::Run(Run { nonce: 2, ..me }), me));
        assert!(stale(Maker::Pid(me.pid), me));
        // Pid 1 runs; u32::MAX never does.
        assert!(!stale(Maker::Pid(1), me));
        assert!(stale(Maker::Pid(u32::MAX), me));
        assert!(!stale(Maker::Run(Run { pid: 1, nonce: 1 }), me));
    }
}
