//! System calls: architectures, filters and the action for denied calls.

use std::fmt;

use crate::error::{Error, Result};
use crate::known::{ARCHITECTURES, ERRNO_NAMES, SYSCALL_GROUPS, SYSCALLS, SYSCALLS_NOT_ON_X86_64};

/// An architecture for `SystemCallArchitectures=`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Architecture {
    /// The architecture systemd itself was built for.
    Native,
    /// A named architecture systemd 257 knows (`x86`, `x86-64`, …).
    Named(&'static str),
}

impl std::str::FromStr for Architecture {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "native" {
            return Ok(Architecture::Native);
        }
        ARCHITECTURES
            .iter()
            .find(|&&a| a == s)
            .map(|&a| Architecture::Named(a))
            .ok_or_else(|| {
                Error::value(
                    "SystemCallArchitectures",
                    s,
                    "not an architecture systemd 257 knows (x86, x86-64, native, …)",
                )
            })
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Architecture::Native => f.write_str("native"),
            Architecture::Named(a) => f.write_str(a),
        }
    }
}

/// A system call or a group of them (`@debug`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Syscall {
    /// A group systemd 257 defines, such as `@system-service`.
    Group(&'static str),
    /// A single system call systemd 257 knows.
    Name(&'static str),
}

impl Syscall {
    /// Looks a group (with `@`) or a call name up; `directive` names the
    /// setting in the error.
    pub fn new(directive: &str, text: &str) -> Result<Self> {
        if text.starts_with('@') {
            return SYSCALL_GROUPS
                .iter()
                .find(|(g, _)| *g == text)
                .map(|(g, _)| Syscall::Group(g))
                .ok_or_else(|| {
                    Error::value(directive, text, "not a system call group systemd 257 knows")
                });
        }
        if text.contains(':') {
            return Err(Error::value(
                directive,
                text,
                "per-call error numbers (NAME:ERRNO) are not supported; use SystemCallErrorNumber=",
            ));
        }
        if SYSCALLS_NOT_ON_X86_64.contains(&text) {
            return Err(Error::value(
                directive,
                text,
                "systemd 257 knows the name but not on x86-64, so it would be ignored",
            ));
        }
        SYSCALLS
            .iter()
            .find(|&&s| s == text)
            .map(|&s| Syscall::Name(s))
            .ok_or_else(|| Error::value(directive, text, "not a system call systemd 257 knows"))
    }

    /// The group or call name as written.
    pub fn as_str(&self) -> &'static str {
        match self {
            Syscall::Group(s) | Syscall::Name(s) => s,
        }
    }

    /// The members of a group, as systemd 257 lists them (nested groups
    /// included by name); a single call is its own only member.
    pub fn members(&self) -> &'static [&'static str] {
        match self {
            Syscall::Group(g) => SYSCALL_GROUPS
                .iter()
                .find(|(name, _)| name == g)
                .map(|(_, m)| *m)
                .unwrap_or(&[]),
            Syscall::Name(_) => &[],
        }
    }
}

/// One line of `SystemCallFilter=` or `SystemCallLog=`: a list of calls
/// and groups, allowed (logged) or, with a leading `~`, denied (not logged).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyscallFilter {
    /// `~`: the list names what is denied.
    pub deny: bool,
    /// The calls and groups, at least one.
    pub items: Vec<Syscall>,
}

impl SyscallFilter {
    /// An allow list.
    pub fn allow(items: Vec<Syscall>) -> Self {
        SyscallFilter { deny: false, items }
    }

    /// A deny list (`~…`).
    pub fn deny(items: Vec<Syscall>) -> Self {
        SyscallFilter { deny: true, items }
    }

    pub(crate) fn parse(directive: &str, text: &str) -> Result<Self> {
        let (deny, rest) = match text.strip_prefix('~') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let items = rest
            .split_whitespace()
            .map(|s| Syscall::new(directive, s))
            .collect::<Result<Vec<_>>>()?;
        if items.is_empty() {
            return Err(Error::value(directive, text, "no system call named"));
        }
        Ok(SyscallFilter { deny, items })
    }

    /// Whether `name` (a call or `@group`) is named, directly or through a
    /// group it names.
    pub fn covers(&self, name: &str) -> bool {
        self.items.iter().any(|i| covers(i.as_str(), name, 0))
    }
}

/// Whether `item` is `name` or a group that contains it (nesting is shallow
/// in systemd; the depth bound only guards against a cycle in the data).
fn covers(item: &str, name: &str, depth: u8) -> bool {
    if item == name {
        return true;
    }
    depth < 8
        && SYSCALL_GROUPS
            .iter()
            .find(|(g, _)| *g == item)
            .is_some_and(|(_, members)| members.iter().any(|m| covers(m, name, depth + 1)))
}

impl fmt::Display for SyscallFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deny {
            f.write_str("~")?;
        }
        let names: Vec<&str> = self.items.iter().map(Syscall::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

/// `SystemCallErrorNumber=`: what a filtered call gets instead of `SIGSYS`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrnoAction {
    /// An error number by name, such as `EPERM`.
    Errno(&'static str),
    /// Kill the process (the default action, spelled out).
    Kill,
}

impl ErrnoAction {
    /// The systemd version that introduced this value, where newer than the
    /// directive.
    pub fn since(&self) -> Option<u32> {
        match self {
            ErrnoAction::Errno(_) => None,
            ErrnoAction::Kill => Some(247),
        }
    }
}

impl std::str::FromStr for ErrnoAction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "kill" => Ok(ErrnoAction::Kill),
            _ => ERRNO_NAMES
                .iter()
                .find(|&&e| e == s)
                .map(|&e| ErrnoAction::Errno(e))
                .ok_or_else(|| {
                    Error::value(
                        "SystemCallErrorNumber",
                        s,
                        "expected an errno name such as EPERM, or kill",
                    )
                }),
        }
    }
}

impl fmt::Display for ErrnoAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrnoAction::Errno(e) => e,
            ErrnoAction::Kill => "kill",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_render() {
        let f = SyscallFilter::parse("SystemCallFilter", "~@debug @mount ptrace").unwrap();
        assert!(f.deny);
        assert_eq!(f.to_string(), "~@debug @mount ptrace");
        assert!(f.covers("ptrace"));
        assert!(f.covers("@debug"));
        assert!(!f.covers("read"));
        for bad in ["@nope", "~", "", "frobnicate", "ptrace:EPERM", "@Debug"] {
            assert!(
                SyscallFilter::parse("SystemCallFilter", bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn system_service_covers_nested_groups() {
        let f = SyscallFilter::parse("SystemCallFilter", "@system-service").unwrap();
        assert!(f.covers("read"));
    }

    #[test]
    fn architectures_and_errno() {
        assert_eq!("x86".parse::<Architecture>().unwrap().to_string(), "x86");
        assert!("i386".parse::<Architecture>().is_err());
        assert_eq!("EPERM".parse::<ErrnoAction>().unwrap().to_string(), "EPERM");
        assert!("eperm".parse::<ErrnoAction>().is_err());
        assert!(
            "log".parse::<ErrnoAction>().is_err(),
            "systemd 257 refuses log"
        );
        assert!(Syscall::new("SystemCallFilter", "arc_gettls").is_err());
    }
}
