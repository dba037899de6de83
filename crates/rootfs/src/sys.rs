//! Thin helpers over the system calls: file types, kernel file systems,
//! reopening an `O_PATH` descriptor.

use std::io;
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, Stat};

/// What a directory entry or a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// Anything else the system reports.
    Unknown,
}

impl FileType {
    /// The type of a `stat` result.
    pub(crate) fn of(st: &Stat) -> FileType {
        FileType::from_mode(st.st_mode)
    }

    /// The type of a `st_mode`.
    pub(crate) fn from_mode(mode: u32) -> FileType {
        match rustix::fs::FileType::from_raw_mode(mode) {
            rustix::fs::FileType::RegularFile => FileType::Regular,
            rustix::fs::FileType::Directory => FileType::Directory,
            rustix::fs::FileType::Symlink => FileType::Symlink,
            rustix::fs::FileType::Fifo => FileType::Fifo,
            rustix::fs::FileType::Socket => FileType::Socket,
            rustix::fs::FileType::CharacterDevice => FileType::CharDevice,
            rustix::fs::FileType::BlockDevice => FileType::BlockDevice,
            _ => FileType::Unknown,
        }
    }

    /// An article and a name, for messages: `a FIFO`.
    pub fn describe(&self) -> &'static str {
        match self {
            FileType::Regular => "a regular file",
            FileType::Directory => "a directory",
            FileType::Symlink => "a symbolic link",
            FileType::Fifo => "a FIFO",
            FileType::Socket => "a socket",
            FileType::CharDevice => "a character device",
            FileType::BlockDevice => "a block device",
            FileType::Unknown => "a file of unknown type",
        }
    }
}

/// Kernel file systems whose files are not data at rest: reading one may
/// block (`/proc/kmsg`), never end, consume state or expose the host.
/// From `linux/magic.h`.
const PSEUDO_FILE_SYSTEMS: &[(u64, &str)] = &[
    (0x9fa0, "procfs"),
    (0x6265_6572, "sysfs"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
    (0x0027_e0eb, "cgroupfs"),
    (0x6367_7270, "cgroup2fs"),
    (0x6265_6570, "configfs"),
    (0xcafe_4a11, "bpffs"),
    (0x6165_676c, "pstorefs"),
    (0xde5e_81e4, "efivarfs"),
    (0x1cd1, "devpts"),
    (0xf97c_ff8c, "selinuxfs"),
    (0x4341_5d53, "smackfs"),
    (0x5a3c_69f0, "apparmorfs"),
    (0x4249_4e4d, "binfmt_misc"),
    (0x6573_5543, "fusectl"),
    (0x6e73_6673, "nsfs"),
    (0x5049_5045, "pipefs"),
    (0x534f_434b, "sockfs"),
    (0x0904_1934, "anon_inodefs"),
    (0x0765_5821, "resctrl"),
    (0x1980_0202, "mqueue"),
    (0x454d_444d, "devmem"),
    (0x6c6f_6f70, "binderfs"),
    (0x5049_4446, "pidfs"),
    (0x5345_434d, "secretmem"),
    (0x444d_4142, "dmabuf"),
    (0x9fa1, "openpromfs"),
    (0x9fa2, "usbdevfs"),
    (0xabba_1974, "xenfs"),
];

/// The name of the kernel pseudo file system `fd` is on, if it is on one.
pub(crate) fn pseudo_file_system(fd: BorrowedFd<'_>) -> io::Result<Option<&'static str>> {
    let st = rustix::fs::fstatfs(fd)?;
    // f_type is a signed word on some architectures; the magic numbers
    // are 32-bit patterns.
    #[allow(clippy::cast_sign_loss)]
    let magic = (st.f_type as u64) & 0xffff_ffff;
    Ok(PSEUDO_FILE_SYSTEMS
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name))
}

/// Opens what an `O_PATH` descriptor refers to again, with `flags`, without
/// resolving any path: through `/proc/self/fd`, as systemd's `fd_reopen`
/// does. `None` when `/proc` is not mounted (the caller then re-resolves
/// and compares identities).
pub(crate) fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> io::Result<Option<OwnedFd>> {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    match rustix::fs::open(path.as_str(), flags | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::NOENT) if !proc_mounted() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether `/proc` is a mounted procfs.
fn proc_mounted() -> bool {
    match rustix::fs::open(
        "/proc/self",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => matches!(pseudo_file_system(fd.as_fd()), Ok(Some("procfs"))),
        Err(_) => false,
    }
}

/// Device and inode: what identifies a file.
pub(crate) fn identity(st: &Stat) -> (u64, u64) {
    (st.st_dev, st.st_ino)
}

/// The size of a file in a `stat` result (never negative).
pub(crate) fn size(st: &Stat) -> u64 {
    u64::try_from(st.st_size).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_and_sys_are_kernel_file_systems_and_tmp_is_not() {
        let open =
            |p: &str| rustix::fs::open(p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        assert_eq!(
            pseudo_file_system(open("/proc/self/status").as_fd()).unwrap(),
            Some("procfs")
        );
        assert_eq!(
            pseudo_file_system(open("/sys/kernel").as_fd()).unwrap(),
            Some("sysfs")
        );
        let tmp = std::env::temp_dir();
        let fd = rustix::fs::open(&tmp, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        assert_eq!(pseudo_file_system(fd.as_fd()).unwrap(), None);
    }

    #[test]
    fn reopen_gives_a_readable_descriptor_of_the_same_file() {
        let fd = rustix::fs::open(
            "/proc/self/status",
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let again = reopen(fd.as_fd(), OFlags::RDONLY).unwrap().unwrap();
        let a = rustix::fs::fstat(&fd).unwrap();
        let b = rustix::fs::fstat(&again).unwrap();
        assert_eq!(identity(&a), identity(&b));
    }
}
