//! What the kernel writes when a seccomp filter acts (`type=1326`, SECCOMP
//! audit records), decoded with the tables systemd 257 and the kernel
//! headers of its build define: the `arch=` value and the architecture
//! name `SystemCallArchitectures=` uses for it, the number of `syscall=`
//! resolved in systemd's table for that architecture, and the action of
//! `code=`.
//!
//! ```
//! use dropin::audit::{self, SeccompAction};
//!
//! let arch = audit::audit_arch(0x4000_0003).unwrap();
//! assert_eq!((arch.name, arch.architecture), ("I386", Some("x86")));
//! assert_eq!(audit::syscall_name("x86", 102), Some("socketcall"));
//! assert_eq!(audit::syscall_name("x86-64", 101), Some("ptrace"));
//! assert_eq!(SeccompAction::from_code(0x8000_0000), Some(SeccompAction::KillProcess));
//! ```
//!
//! # Limitations
//!
//! - Numbers resolve on the architectures systemd 257 ships tables for:
//!   x86-64 (and x32, numbers with [`X32_SYSCALL_BIT`]), x86 and arm64.
//! - Names are systemd's, from its tables (`src/basic/syscalls-*.txt`); a
//!   number systemd's list does not name has no name here.

use crate::generated::audit as table;
use crate::generated::syscall_numbers::{ARM64, SyscallNumbers, X86, X86_64, text};

/// `AUDIT_SECCOMP`: the record type of a seccomp event (`type=1326`).
pub const AUDIT_SECCOMP: u32 = table::AUDIT_SECCOMP;
/// `__X32_SYSCALL_BIT`: set in the number of an x32 call, which is logged
/// with x86-64's `arch=`.
pub const X32_SYSCALL_BIT: u32 = table::X32_SYSCALL_BIT;
/// `SIGSYS` on x86: the `sig=` of a record whose call was killed.
pub const SIGSYS: u32 = table::SIGSYS;

/// An `AUDIT_ARCH_*` value of a record's `arch=` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditArch {
    /// The kernel's name without `AUDIT_ARCH_` (`I386`, `X86_64`).
    pub name: &'static str,
    /// The value.
    pub value: u32,
    /// The name `SystemCallArchitectures=` knows it by (`x86`, `x86-64`),
    /// if systemd has one.
    pub architecture: Option<&'static str>,
}

impl AuditArch {
    /// Whether the value has the kernel's 64-bit flag (`__AUDIT_ARCH_64BIT`).
    pub fn is_64bit(&self) -> bool {
        self.value & 0x8000_0000 != 0
    }
}

fn from_table(a: &table::AuditArch) -> AuditArch {
    AuditArch {
        name: a.name,
        value: a.value,
        architecture: a.architecture,
    }
}

/// The architecture of `arch=` (its value, hexadecimal in records).
pub fn audit_arch(value: u32) -> Option<AuditArch> {
    table::AUDIT_ARCHES
        .iter()
        .find(|a| a.value == value)
        .map(from_table)
}

/// The `AUDIT_ARCH_*` of a `SystemCallArchitectures=` name (`x86` is
/// `I386`); x32 calls are logged as x86-64's.
pub fn audit_arch_of(architecture: &str) -> Option<AuditArch> {
    let architecture = if architecture == "x32" {
        "x86-64"
    } else {
        architecture
    };
    table::AUDIT_ARCHES
        .iter()
        .find(|a| a.architecture == Some(architecture))
        .map(from_table)
}

/// The architectures with a number table: `x86-64`, `x86`, `arm64`.
pub const SYSCALL_TABLES: &[&str] = &["x86-64", "x86", "arm64"];

fn table(architecture: &str) -> Option<&'static SyscallNumbers> {
    [&X86_64, &X86, &ARM64]
        .into_iter()
        .find(|t| text(t.architecture) == architecture)
}

/// The name systemd 257's table gives number `nr` on `architecture` (a
/// `SystemCallArchitectures=` name; `x32` is x86-64's table, the number
/// without [`X32_SYSCALL_BIT`]).
pub fn syscall_name(architecture: &str, nr: u32) -> Option<&'static str> {
    let t = table(if architecture == "x32" {
        "x86-64"
    } else {
        architecture
    })?;
    let at = t.by_number.partition_point(|(n, _)| *n < nr);
    t.by_number
        .get(at)
        .filter(|(n, _)| *n == nr)
        .map(|(_, name)| text(*name))
}

/// The number of call `name` on `architecture`, if it has one there.
pub fn syscall_number(architecture: &str, name: &str) -> Option<u32> {
    let t = table(architecture)?;
    t.by_name
        .binary_search_by(|(n, _)| text(*n).cmp(name))
        .ok()
        .and_then(|i| t.by_name.get(i))
        .map(|(_, nr)| *nr)
}

/// The highest number in `architecture`'s table.
pub fn highest_syscall(architecture: &str) -> Option<u32> {
    table(architecture)?.by_number.last().map(|(n, _)| *n)
}

/// The operations i386 multiplexes through `call` (`socketcall`, 102, and
/// `ipc`, 117): each operation's call name and its number, the call's first
/// argument. A SECCOMP record carries the number of the multiplexer only,
/// never the operation. `None` for any other call or architecture.
pub fn multiplexed(architecture: &str, call: &str) -> Option<&'static [(&'static str, u32)]> {
    match (architecture, call) {
        ("x86", "socketcall") => Some(table::SOCKETCALL_OPERATIONS),
        ("x86", "ipc") => Some(table::IPC_OPERATIONS),
        _ => None,
    }
}

/// What a seccomp filter did: the action part of a record's `code=`
/// (`SECCOMP_RET_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeccompAction {
    /// `SECCOMP_RET_KILL_PROCESS`: the whole process is killed by `SIGSYS`.
    KillProcess,
    /// `SECCOMP_RET_KILL_THREAD` (`SECCOMP_RET_KILL`): the thread is killed
    /// (the process, if it was its only thread).
    KillThread,
    /// `SECCOMP_RET_TRAP`: `SIGSYS` delivered to a handler.
    Trap,
    /// `SECCOMP_RET_ERRNO`: the call fails with an error number (not logged
    /// in the record).
    Errno,
    /// `SECCOMP_RET_USER_NOTIF`: a supervisor decides.
    UserNotif,
    /// `SECCOMP_RET_TRACE`: a tracer is notified.
    Trace,
    /// `SECCOMP_RET_LOG`: allowed, and logged.
    Log,
    /// `SECCOMP_RET_ALLOW`.
    Allow,
}

impl SeccompAction {
    /// Every action.
    pub const ALL: &'static [SeccompAction] = &[
        SeccompAction::KillProcess,
        SeccompAction::KillThread,
        SeccompAction::Trap,
        SeccompAction::Errno,
        SeccompAction::UserNotif,
        SeccompAction::Trace,
        SeccompAction::Log,
        SeccompAction::Allow,
    ];

    /// The kernel's name, without `SECCOMP_RET_`.
    pub fn kernel_name(self) -> &'static str {
        match self {
            SeccompAction::KillProcess => "KILL_PROCESS",
            SeccompAction::KillThread => "KILL_THREAD",
            SeccompAction::Trap => "TRAP",
            SeccompAction::Errno => "ERRNO",
            SeccompAction::UserNotif => "USER_NOTIF",
            SeccompAction::Trace => "TRACE",
            SeccompAction::Log => "LOG",
            SeccompAction::Allow => "ALLOW",
        }
    }

    /// The value, from the kernel headers.
    pub fn value(self) -> Option<u32> {
        table::SECCOMP_ACTIONS
            .iter()
            .find(|(n, _)| *n == self.kernel_name())
            .map(|(_, v)| *v)
    }

    /// The action of a record's `code=`: its action part
    /// (`SECCOMP_RET_ACTION_FULL`), the data part ignored.
    pub fn from_code(code: u32) -> Option<SeccompAction> {
        let action = code & table::SECCOMP_RET_ACTION_FULL;
        SeccompAction::ALL
            .iter()
            .copied()
            .find(|a| a.value() == Some(action))
    }

    /// Whether the process or thread is killed.
    pub fn kills(self) -> bool {
        matches!(self, SeccompAction::KillProcess | SeccompAction::KillThread)
    }
}

impl std::fmt::Display for SeccompAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SeccompAction::KillProcess => "kill process",
            SeccompAction::KillThread => "kill thread",
            SeccompAction::Trap => "trap",
            SeccompAction::Errno => "errno",
            SeccompAction::UserNotif => "user notification",
            SeccompAction::Trace => "trace",
            SeccompAction::Log => "log",
            SeccompAction::Allow => "allow",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_value_and_codes_decode() {
        for a in SeccompAction::ALL {
            let v = a.value().unwrap();
            assert_eq!(SeccompAction::from_code(v), Some(*a));
            // The data part (an errno, a trace message) does not matter.
            assert_eq!(SeccompAction::from_code(v | 0x1), Some(*a));
        }
        assert_eq!(SeccompAction::from_code(0), Some(SeccompAction::KillThread));
        assert_eq!(SeccompAction::from_code(0x0001_0000), None);
    }

    #[test]
    fn the_number_tables_names_read_back_whole() {
        // The names are spans of one string: a span the generator got
        // wrong reads as a piece of a neighbour, breaking the order or the
        // shape of a name, or the agreement of the two directions.
        for t in [&X86_64, &X86, &ARM64] {
            let arch = text(t.architecture);
            assert!(SYSCALL_TABLES.contains(&arch), "{arch}");
            let names: Vec<&str> = t.by_name.iter().map(|(n, _)| text(*n)).collect();
            assert!(names.windows(2).all(|w| w[0] < w[1]), "{arch}: not sorted");
            for (n, nr) in t.by_name {
                let name = text(*n);
                assert!(
                    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                    "{arch}: {name:?}"
                );
                assert!(syscall_name(arch, *nr).is_some(), "{arch}: {name}");
                assert_eq!(syscall_number(arch, name), Some(*nr), "{arch}: {name}");
            }
            assert_eq!(t.by_number.len(), t.by_name.len(), "{arch}");
            for m in t.missing {
                assert!(
                    names.binary_search(&text(*m)).is_err(),
                    "{arch}: {}",
                    text(*m)
                );
            }
        }
        assert_eq!(syscall_number("x86-64", "read"), Some(0));
        assert_eq!(syscall_name("x86", 11), Some("execve"));
    }

    #[test]
    fn architectures_and_numbers() {
        for (value, name, arch) in [
            (0xc000_003e, "X86_64", Some("x86-64")),
            (0x4000_0003, "I386", Some("x86")),
            (0xc000_00b7, "AARCH64", Some("arm64")),
            (0x4000_0028, "ARM", Some("arm")),
            (0x8000_0016, "S390X", Some("s390x")),
            (0x4000_00f3, "RISCV32", None),
        ] {
            let a = audit_arch(value).unwrap();
            assert_eq!((a.name, a.architecture), (name, arch));
        }
        assert!(audit_arch(0xdead_beef).is_none());
        assert_eq!(audit_arch_of("x32").map(|a| a.name), Some("X86_64"));
        // The i386 calls the test plan met, and the socketcall multiplexer.
        assert_eq!(syscall_name("x86", 45), Some("brk"));
        assert_eq!(syscall_name("x86", 26), Some("ptrace"));
        assert_eq!(syscall_name("x86", 102), Some("socketcall"));
        assert_eq!(syscall_name("x86-64", 12), Some("brk"));
        // systemd's arm64 table: 79 is newfstatat, no 32-bit time64 calls.
        assert_eq!(syscall_name("arm64", 79), Some("newfstatat"));
        assert_eq!(syscall_name("arm64", 403), None);
        assert_eq!(syscall_name("x86", 403), Some("clock_gettime64"));
        assert_eq!(syscall_number("x86", "socketcall"), Some(102));
        assert_eq!(syscall_number("x86-64", "socketcall"), None);
        assert!(highest_syscall("x86").unwrap() > 400);
        assert_eq!(syscall_name("ppc64-le", 1), None);
        let socket = multiplexed("x86", "socketcall").unwrap();
        assert_eq!(socket.first(), Some(&("socket", 1)));
        assert!(socket.contains(&("connect", 3)) && socket.len() == 20);
        assert!(multiplexed("x86", "ipc").unwrap().contains(&("shmctl", 24)));
        assert!(multiplexed("x86-64", "socketcall").is_none());
        assert_eq!(syscall_name("x86", u32::MAX), None);
    }
}
