//! What a SECCOMP audit record is read with: the record type, the
//! `AUDIT_ARCH_*` values of its `arch=` field (and which of them are the
//! architectures `SystemCallArchitectures=` names), the x32 bit of its
//! `syscall=` field, the `SECCOMP_RET_*` actions of its `code=` field and
//! the signal number of `SIGSYS`, and the operations i386 multiplexes
//! through `socketcall` and `ipc` — all from the kernel headers systemd's
//! build saw (`linux/audit.h`, `linux/elf-em.h`, `linux/seccomp.h`,
//! `asm/unistd.h`, `asm/signal.h`, `linux/net.h`, `linux/ipc.h`).
//!
//! The one link that is not in those headers is libseccomp's: its
//! `SCMP_ARCH_*` constants (which `seccomp_arch_from_string()` of systemd
//! returns for each architecture name) are the kernel's `AUDIT_ARCH_*`
//! values, except `SCMP_ARCH_X32`, which is x86-64's value without the
//! 64-bit flag and is never seen in a record (an x32 call is logged as
//! x86-64 with the x32 bit set in the number). [`SCMP_TO_AUDIT`] writes
//! that correspondence down (libseccomp's `seccomp.h`); reading fails if an
//! architecture systemd accepts is missing from it.

use std::fmt::Write as _;

use crate::cpp::Cpp;
use crate::emit::{doc, header, lit, opt_lit};
use crate::names::Architecture;
use crate::{Error, Result, Source};

const AUDIT_H: &str = "linux/audit.h";
const SECCOMP_H: &str = "linux/seccomp.h";
const UNISTD_H: &str = "asm/unistd.h";
const SIGNAL_H: &str = "asm/signal.h";
const NET_H: &str = "linux/net.h";
const IPC_H: &str = "linux/ipc.h";

/// libseccomp's `seccomp.h`: each `SCMP_ARCH_*` constant and the
/// `AUDIT_ARCH_*` constant it is defined as (`None`: x32, see the module
/// documentation).
pub const SCMP_TO_AUDIT: &[(&str, Option<&str>)] = &[
    ("SCMP_ARCH_X86", Some("AUDIT_ARCH_I386")),
    ("SCMP_ARCH_X86_64", Some("AUDIT_ARCH_X86_64")),
    ("SCMP_ARCH_X32", None),
    ("SCMP_ARCH_ARM", Some("AUDIT_ARCH_ARM")),
    ("SCMP_ARCH_AARCH64", Some("AUDIT_ARCH_AARCH64")),
    ("SCMP_ARCH_LOONGARCH64", Some("AUDIT_ARCH_LOONGARCH64")),
    ("SCMP_ARCH_MIPS", Some("AUDIT_ARCH_MIPS")),
    ("SCMP_ARCH_MIPS64", Some("AUDIT_ARCH_MIPS64")),
    ("SCMP_ARCH_MIPS64N32", Some("AUDIT_ARCH_MIPS64N32")),
    ("SCMP_ARCH_MIPSEL", Some("AUDIT_ARCH_MIPSEL")),
    ("SCMP_ARCH_MIPSEL64", Some("AUDIT_ARCH_MIPSEL64")),
    ("SCMP_ARCH_MIPSEL64N32", Some("AUDIT_ARCH_MIPSEL64N32")),
    ("SCMP_ARCH_PARISC", Some("AUDIT_ARCH_PARISC")),
    ("SCMP_ARCH_PARISC64", Some("AUDIT_ARCH_PARISC64")),
    ("SCMP_ARCH_PPC", Some("AUDIT_ARCH_PPC")),
    ("SCMP_ARCH_PPC64", Some("AUDIT_ARCH_PPC64")),
    ("SCMP_ARCH_PPC64LE", Some("AUDIT_ARCH_PPC64LE")),
    ("SCMP_ARCH_RISCV64", Some("AUDIT_ARCH_RISCV64")),
    ("SCMP_ARCH_S390", Some("AUDIT_ARCH_S390")),
    ("SCMP_ARCH_S390X", Some("AUDIT_ARCH_S390X")),
];

/// One `AUDIT_ARCH_*` constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditArch {
    /// The name without `AUDIT_ARCH_`, e.g. `I386`.
    pub name: String,
    /// Its value, the `arch=` field of a record.
    pub value: u32,
    /// The `SystemCallArchitectures=` name it is, if systemd accepts one.
    pub architecture: Option<String>,
}

/// Everything read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// `AUDIT_SECCOMP`, the record type (`type=1326`).
    pub seccomp_type: u32,
    /// Every `AUDIT_ARCH_*`, by name.
    pub arches: Vec<AuditArch>,
    /// `__X32_SYSCALL_BIT`.
    pub x32_bit: u32,
    /// `SECCOMP_RET_*` actions (without the `SECCOMP_RET_KILL` alias), by
    /// value.
    pub actions: Vec<(String, u32)>,
    /// `SECCOMP_RET_ACTION_FULL`, the mask of the action part of a code.
    pub action_mask: u32,
    /// `SIGSYS` on x86.
    pub sigsys: u32,
    /// The operations of i386's `socketcall` (`SYS_*` of `linux/net.h`):
    /// the call each is (its name lower-cased), and its number, by number.
    pub socketcall: Vec<(String, u32)>,
    /// The operations of i386's `ipc` (`SEMOP` … `SHMCTL` of
    /// `linux/ipc.h`), likewise.
    pub ipc: Vec<(String, u32)>,
}

fn value(cpp: &Cpp, name: &str, file: &str) -> Result<u32> {
    cpp.value(name)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| Error::shape(file, name, "not an integer constant in the headers"))
}

/// `AUDIT_ARCH_*` constant name → `SystemCallArchitectures=` name, for
/// every architecture systemd accepts (x32 has no constant of its own).
fn links(architectures: &[Architecture]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut by_audit = std::collections::BTreeMap::new();
    for a in architectures {
        let Some((_, audit)) = SCMP_TO_AUDIT.iter().find(|(scmp, _)| *scmp == a.scmp) else {
            return Err(Error::shape(
                "src/shared/seccomp-util.c",
                "seccomp_arch_from_string()",
                format!(
                    "{} ({}) is not in SCMP_TO_AUDIT of crates/systemd-tables/src/audit.rs",
                    a.name, a.scmp
                ),
            ));
        };
        if let Some(audit) = audit {
            by_audit.insert((*audit).to_owned(), a.name.clone());
        }
    }
    Ok(by_audit)
}

/// Reads the constants; `architectures` are the names systemd accepts
/// (with their libseccomp constants).
pub(crate) fn read(s: &Source, architectures: &[Architecture]) -> Result<Audit> {
    let dirs = vec![
        s.headers.join("usr/include/x86_64-linux-gnu"),
        s.headers.join("usr/include"),
    ];
    let mut cpp = Cpp::new(dirs);
    for h in [AUDIT_H, SECCOMP_H, UNISTD_H, SIGNAL_H, NET_H, IPC_H] {
        cpp.include_system(h)?;
    }
    let seccomp_type = value(&cpp, "AUDIT_SECCOMP", AUDIT_H)?;

    let mut by_audit = links(architectures)?;
    let mut arches = Vec::new();
    for (name, m) in cpp.macros() {
        let Some(short) = name.strip_prefix("AUDIT_ARCH_") else {
            continue;
        };
        if m.params.is_some() || short.is_empty() {
            continue;
        }
        arches.push(AuditArch {
            name: short.to_owned(),
            value: value(&cpp, name, AUDIT_H)?,
            architecture: by_audit.remove(name),
        });
    }
    if let Some((audit, arch)) = by_audit.into_iter().next() {
        return Err(Error::shape(
            AUDIT_H,
            audit,
            format!("not defined, but libseccomp's constant for {arch} is it"),
        ));
    }
    let mut actions = Vec::new();
    for (name, m) in cpp.macros() {
        let Some(short) = name.strip_prefix("SECCOMP_RET_") else {
            continue;
        };
        // KILL is an alias of KILL_THREAD; the masks are not actions.
        if m.params.is_some() || matches!(short, "KILL" | "ACTION" | "ACTION_FULL" | "DATA") {
            continue;
        }
        actions.push((short.to_owned(), value(&cpp, name, SECCOMP_H)?));
    }
    actions.sort_by_key(|(n, v)| (*v, n.clone()));
    let action_mask = value(&cpp, "SECCOMP_RET_ACTION_FULL", SECCOMP_H)?;
    if actions.len() < 2 || actions.iter().any(|(_, v)| v & !action_mask != 0) {
        return Err(Error::shape(
            SECCOMP_H,
            "SECCOMP_RET_*",
            "the actions are not values within SECCOMP_RET_ACTION_FULL",
        ));
    }
    let mut socketcall = Vec::new();
    let mut ipc = Vec::new();
    for (name, m) in cpp.macros() {
        if m.params.is_some() {
            continue;
        }
        if let Some(op) = name.strip_prefix("SYS_") {
            socketcall.push((op.to_lowercase(), value(&cpp, name, NET_H)?));
        } else if is_ipc_call(name) {
            ipc.push((name.to_lowercase(), value(&cpp, name, IPC_H)?));
        }
    }
    socketcall.sort_by_key(|(n, v)| (*v, n.clone()));
    ipc.sort_by_key(|(n, v)| (*v, n.clone()));
    if socketcall.is_empty() || ipc.is_empty() {
        return Err(Error::shape(
            NET_H,
            "SYS_* / SEMOP…SHMCTL",
            "the multiplexed operations are not defined",
        ));
    }
    Ok(Audit {
        socketcall,
        ipc,
        seccomp_type,
        arches,
        x32_bit: value(&cpp, "__X32_SYSCALL_BIT", UNISTD_H)?,
        actions,
        action_mask,
        sigsys: value(&cpp, "SIGSYS", SIGNAL_H)?,
    })
}

/// The operation names of `linux/ipc.h`'s `ipc()` call numbers (the header
/// also defines `SEM_UNDO`, `SHM_RDONLY`, `MSG_EXCEPT` and the like, which
/// are flags, not calls).
fn is_ipc_call(name: &str) -> bool {
    matches!(
        name,
        "SEMOP"
            | "SEMGET"
            | "SEMCTL"
            | "SEMTIMEDOP"
            | "MSGSND"
            | "MSGRCV"
            | "MSGGET"
            | "MSGCTL"
            | "SHMAT"
            | "SHMDT"
            | "SHMGET"
            | "SHMCTL"
    )
}

/// `audit.rs`.
pub(crate) fn emit(s: &Source, a: &Audit) -> String {
    let mut out = header(
        "The constants a SECCOMP audit record is read with, from the kernel headers systemd's \
         build saw.",
        &s.version,
        &[],
        &[
            "Headers: `linux/audit.h` (with `linux/elf-em.h`), `linux/seccomp.h`, `linux/net.h`, `linux/ipc.h`, \
             `asm/unistd.h` and `asm/signal.h` of x86-64. The architecture names are \
             systemd's `seccomp_arch_from_string()` names, linked to the audit values through \
             libseccomp's `SCMP_ARCH_*` definitions.",
        ],
    );
    let _ = writeln!(
        out,
        "/// `AUDIT_SECCOMP`: the record type of a seccomp event (`type=1326`).\n\
         pub(crate) const AUDIT_SECCOMP: u32 = {};\n",
        a.seccomp_type
    );
    out.push_str(
        "/// One `AUDIT_ARCH_*` value.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) struct AuditArch {\n\
         \x20   /// The name without `AUDIT_ARCH_`.\n\
         \x20   pub(crate) name: &'static str,\n\
         \x20   /// The value of a record's `arch=` field.\n\
         \x20   pub(crate) value: u32,\n\
         \x20   /// The architecture's name in `SystemCallArchitectures=`, if systemd has one.\n\
         \x20   pub(crate) architecture: Option<&'static str>,\n\
         }\n\n",
    );
    out.push_str(&doc("Every `AUDIT_ARCH_*` of `linux/audit.h`, by name.", 0));
    out.push_str("#[rustfmt::skip]\npub(crate) const AUDIT_ARCHES: &[AuditArch] = &[\n");
    for arch in &a.arches {
        let _ = writeln!(
            out,
            "    AuditArch {{ name: {}, value: {:#010x}, architecture: {} }},",
            lit(&arch.name),
            arch.value,
            opt_lit(arch.architecture.as_deref())
        );
    }
    out.push_str("];\n\n");
    let _ = writeln!(
        out,
        "/// `__X32_SYSCALL_BIT`: set in the number of an x32 call (logged with x86-64's `arch=`).\n\
         pub(crate) const X32_SYSCALL_BIT: u32 = {:#010x};\n",
        a.x32_bit
    );
    out.push_str(&doc(
        "`SECCOMP_RET_*` actions of `linux/seccomp.h` (name without the prefix, value), by \
         value; `SECCOMP_RET_KILL` is `KILL_THREAD`.",
        0,
    ));
    out.push_str("#[rustfmt::skip]\npub(crate) const SECCOMP_ACTIONS: &[(&str, u32)] = &[\n");
    for (n, v) in &a.actions {
        let _ = writeln!(out, "    ({}, {v:#010x}),", lit(n));
    }
    out.push_str("];\n\n");
    let _ = writeln!(
        out,
        "/// `SECCOMP_RET_ACTION_FULL`: the action part of a record's `code=`.\n\
         pub(crate) const SECCOMP_RET_ACTION_FULL: u32 = {:#010x};\n",
        a.action_mask
    );
    let _ = writeln!(
        out,
        "/// `SIGSYS` on x86: the `sig=` of a record whose call was killed.\n\
         pub(crate) const SIGSYS: u32 = {};\n",
        a.sigsys
    );
    for (konst, what, list) in [
        (
            "SOCKETCALL_OPERATIONS",
            "The operations of i386's `socketcall` (`SYS_*` of `linux/net.h`): the call each is, \
             and its number (the call's first argument).",
            &a.socketcall,
        ),
        (
            "IPC_OPERATIONS",
            "The operations of i386's `ipc` (`linux/ipc.h`): the call each is, and its number \
             (the call's first argument).",
            &a.ipc,
        ),
    ] {
        out.push_str(&doc(what, 0));
        let _ = writeln!(
            out,
            "#[rustfmt::skip]\npub(crate) const {konst}: &[(&str, u32)] = &["
        );
        let items: Vec<String> = list
            .iter()
            .map(|(n, v)| format!("({}, {v})", lit(n)))
            .collect();
        out.push_str(&crate::emit::wrapped(&items, 4));
        out.push_str("];\n");
        if konst == "SOCKETCALL_OPERATIONS" {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(name: &str, scmp: &str) -> Architecture {
        Architecture {
            name: name.to_owned(),
            scmp: scmp.to_owned(),
            condition: None,
        }
    }

    #[test]
    fn every_accepted_architecture_needs_a_link() {
        let ok = links(&[arch("x86", "SCMP_ARCH_X86"), arch("x32", "SCMP_ARCH_X32")]).unwrap();
        assert_eq!(
            ok.into_iter().collect::<Vec<_>>(),
            [("AUDIT_ARCH_I386".to_owned(), "x86".to_owned())]
        );
        let err = links(&[arch("sparc", "SCMP_ARCH_SPARC")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sparc (SCMP_ARCH_SPARC) is not in SCMP_TO_AUDIT"),
            "{err}"
        );
    }
}
