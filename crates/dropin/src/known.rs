//! Names systemd 257 knows: syscall groups, syscalls, capabilities, architectures, address families, errno names.
//
// All but one of these lists are generated from systemd 257's source by
// `cargo run -p systemd-tables -- write` (see `generated/known.rs` for how).
// SYSCALLS_NOT_ON_X86_64 is a fact about libseccomp, not about systemd's
// source; it is kept here and checked against the oracle root by
// crates/systemd-tables/tests/oracle.

pub use crate::generated::known::{
    ADDRESS_FAMILIES, ARCHITECTURES, CAPABILITIES, ERRNO_NAMES, SYSCALL_GROUPS, SYSCALLS,
};

/// Names systemd's tables mention (in [`SYSCALLS`] or as a member of a
/// group) that libseccomp (2.6.0, Debian trixie) cannot resolve on x86-64
/// (the architecture of the hosts this targets): systemd 257 warns "System
/// call NAME is not known" when a line names one, and skips it silently in
/// a group. Not derivable from systemd's source: the oracle test of
/// `systemd-tables` checks it.
#[rustfmt::skip]
pub const SYSCALLS_NOT_ON_X86_64: &[&str] = &[
    "arc_gettls", "arc_settls", "arc_usr_cmpxchg", "dipc", "exec_with_loader", "execv",
    "file_getattr", "file_setattr", "fstatat", "getdomainname", "getdtablesize", "gethostname", "getxgid",
    "getxpid", "getxuid", "kern_features", "llseek", "memory_ordering", "newfstat", "old_adjtimex",
    "oldumount", "or1k_atomic", "osf_fstat", "osf_fstatfs", "osf_fstatfs64",
    "osf_getdirentries", "osf_getdomainname", "osf_getitimer", "osf_getrusage",
    "osf_getsysinfo", "osf_gettimeofday", "osf_lstat", "osf_mount", "osf_proplist_syscall",
    "osf_select", "osf_set_program_attributes", "osf_setitimer", "osf_setsysinfo",
    "osf_settimeofday", "osf_shmat", "osf_sigprocmask", "osf_sigstack", "osf_stat",
    "osf_statfs", "osf_statfs64", "osf_swapon", "osf_syscall", "osf_sysinfo",
    "osf_usleep_thread", "osf_utimes", "osf_utsname", "osf_wait4", "perfctr",
    "sched_get_affinity", "sched_set_affinity", "sethae", "setpgrp", "utrap_install",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_unique(list: &[&str]) -> bool {
        list.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        let groups: Vec<&str> = SYSCALL_GROUPS.iter().map(|(g, _)| *g).collect();
        assert!(sorted_unique(&groups));
        for (_, members) in SYSCALL_GROUPS {
            assert!(sorted_unique(members));
        }
        for list in [
            SYSCALLS,
            CAPABILITIES,
            ARCHITECTURES,
            ADDRESS_FAMILIES,
            ERRNO_NAMES,
        ] {
            assert!(sorted_unique(list));
        }
    }

    #[test]
    fn nested_groups_exist() {
        for (_, members) in SYSCALL_GROUPS {
            for m in members.iter().filter(|m| m.starts_with('@')) {
                assert!(SYSCALL_GROUPS.iter().any(|(g, _)| g == m), "{m}");
            }
        }
    }

    #[test]
    fn counts() {
        assert_eq!(SYSCALL_GROUPS.len(), 30);
        assert_eq!(SYSCALLS.len(), 556);
        assert_eq!(CAPABILITIES.len(), 41);
        assert_eq!(ARCHITECTURES.len(), 20);
        assert_eq!(ADDRESS_FAMILIES.len(), 48);
        assert_eq!(ERRNO_NAMES.len(), 134);
    }
}
