//! The assessors of `security_assessor_table[]`: each check's badness and
//! the description it returns (`assess_*()` of
//! `src/analyze/analyze-security.c`).

use crate::generated::exposure::{ExposureCheck, Parameter};
use crate::generated::names::NAMESPACES;
use crate::generated::syscall_numbers::{self, X86_64};

use super::info::{Info, NOBODY_USER_NAME};

/// What an assessor returns: the badness (`None`: not applicable) and
/// its own description, if it gives one.
pub(crate) type Assessed = (Option<u64>, Option<String>);

/// The assessor of a row, by its C name; `None` for one this port does
/// not know (the table test makes sure there is none).
pub(crate) fn assessor(check: &ExposureCheck) -> Option<fn(&ExposureCheck, &Info<'_>) -> Assessed> {
    Some(match check.assess {
        "assess_bool" => assess_bool,
        "assess_user" => assess_user,
        "assess_protect_home" => assess_protect_home,
        "assess_protect_system" => assess_protect_system,
        "assess_root_directory" => assess_root_directory,
        "assess_capability_bounding_set" => assess_capability_bounding_set,
        "assess_umask" => assess_umask,
        "assess_keyring_mode" => assess_keyring_mode,
        "assess_protect_proc" => assess_protect_proc,
        "assess_proc_subset" => assess_proc_subset,
        "assess_notify_access" => assess_notify_access,
        "assess_remove_ipc" => assess_remove_ipc,
        "assess_supplementary_groups" => assess_supplementary_groups,
        "assess_restrict_namespaces" => assess_restrict_namespaces,
        "assess_system_call_architectures" => assess_system_call_architectures,
        "assess_system_call_filter" => assess_system_call_filter,
        "assess_ip_address_allow" => assess_ip_address_allow,
        "assess_device_allow" => assess_device_allow,
        "assess_ambient_capabilities" => assess_ambient_capabilities,
        _ => return None,
    })
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn assess_bool(a: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let b = a.offset.and_then(|o| info.flag(o)).unwrap_or(false);
    let inverted = a.parameter == Parameter::Bool(true);
    (Some(u64::from(if inverted { b } else { !b })), None)
}

fn assess_user(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let user = info.user.as_deref();
    if user == Some(NOBODY_USER_NAME) {
        return (
            Some(9),
            Some(format!(
                "Service runs under as '{NOBODY_USER_NAME}' user, which should not be used for services"
            )),
        );
    }
    if info.dynamic_user && !matches!(user, Some("0" | "root")) {
        return (
            Some(0),
            text("Service runs under a transient non-root user identity"),
        );
    }
    if user.is_some_and(|u| !matches!(u, "0" | "root" | "")) {
        return (
            Some(0),
            text("Service runs under a static non-root user identity"),
        );
    }
    (Some(10), None)
}

fn assess_protect_home(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let (b, d) = match crate::systemd::number::parse_boolean(&info.protect_home) {
        Some(true) => (0, "Service has no access to home directories"),
        None if info.protect_home == "read-only" => {
            (5, "Service has read-only access to home directories")
        }
        None if info.protect_home == "tmpfs" => {
            (1, "Service has access to fake empty home directories")
        }
        _ => (10, "Service has full access to home directories"),
    };
    (Some(b), text(d))
}

fn assess_protect_system(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let (b, d) = match crate::systemd::number::parse_boolean(&info.protect_system) {
        Some(true) => (
            5,
            "Service has limited write access to the OS file hierarchy",
        ),
        None if info.protect_system == "full" => (
            3,
            "Service has very limited write access to the OS file hierarchy",
        ),
        None if info.protect_system == "strict" => (
            0,
            "Service has strict read-only access to the OS file hierarchy",
        ),
        _ => (10, "Service has full access to the OS file hierarchy"),
    };
    (Some(b), text(d))
}

fn assess_root_directory(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let empty_or_root = |p: &Option<String>| p.as_deref().is_none_or(|p| p.is_empty() || p == "/");
    (
        Some(u64::from(
            empty_or_root(&info.root_directory) && empty_or_root(&info.root_image),
        )),
        None,
    )
}

fn assess_capability_bounding_set(a: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let mask = match a.parameter {
        Parameter::Capabilities(_, m) => m,
        _ => 0,
    };
    (
        Some(u64::from(info.capability_bounding_set & mask != 0)),
        None,
    )
}

fn assess_umask(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let m = info.umask;
    let (b, d) = if m & 0o002 == 0 {
        (10, "Files created by service are world-writable by default")
    } else if m & 0o004 == 0 {
        (5, "Files created by service are world-readable by default")
    } else if m & 0o020 == 0 {
        (2, "Files created by service are group-writable by default")
    } else if m & 0o040 == 0 {
        (1, "Files created by service are group-readable by default")
    } else {
        (
            0,
            "Files created by service are accessible only by service's own user by default",
        )
    };
    (Some(b), text(d))
}

fn assess_keyring_mode(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    (Some(u64::from(info.keyring_mode != "private")), None)
}

fn assess_protect_proc(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let b = match info.protect_proc.as_str() {
        "noaccess" => 1,
        "invisible" | "ptraceable" => 0,
        _ => 3,
    };
    (Some(b), None)
}

fn assess_proc_subset(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    (Some(u64::from(info.proc_subset != "pid")), None)
}

fn assess_notify_access(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    (Some(u64::from(info.notify_access == Some("all"))), None)
}

fn assess_remove_ipc(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    if info.runs_privileged() {
        return (None, None);
    }
    (Some(u64::from(!info.remove_ipc)), None)
}

fn assess_supplementary_groups(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    if info.runs_privileged() {
        return (None, None);
    }
    (Some(u64::from(!info.supplementary_groups.is_empty())), None)
}

fn assess_restrict_namespaces(a: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let flag = match a.parameter {
        Parameter::Namespace(n) => NAMESPACES
            .iter()
            .find(|ns| ns.name == n)
            .map_or(0, |ns| ns.value),
        _ => 0,
    };
    (Some(u64::from(info.restrict_namespaces & flag != 0)), None)
}

fn assess_system_call_architectures(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let archs = &info.system_call_architectures;
    let (b, d) = if archs.is_empty() {
        (10, "Service may execute system calls with all ABIs")
    } else if archs.len() == 1 && archs.contains("native") {
        (0, "Service may execute system calls only with native ABI")
    } else {
        (8, "Service may execute system calls with multiple ABIs")
    };
    (Some(b), text(d))
}

/// System calls libseccomp (2.6.0, Debian 13) still numbers on x86-64
/// that systemd's own table (`src/basic/syscalls-x86_64.txt`, from the
/// kernel's headers) no longer lists: calls the kernel removed. Not
/// derivable from systemd's source; the score corpus test derives the
/// native members of every scored group from systemd itself and checks
/// them against [`exists_natively`].
const REMOVED_BUT_NUMBERED: &[&str] = &[
    "_sysctl",
    "afs_syscall",
    "create_module",
    "get_kernel_syms",
    "getpmsg",
    "nfsservctl",
    "putpmsg",
    "query_module",
    "security",
    "tuxcall",
    "uselib",
    "vserver",
];

/// Whether `seccomp_syscall_resolve_name(name)` gives a real system call
/// number on x86-64 (not an error, not a pseudo number): the members of
/// a group `systemd-analyze security` considers.
pub fn exists_natively(name: &str) -> bool {
    X86_64
        .by_name
        .binary_search_by(|(n, _)| syscall_numbers::text(*n).cmp(name))
        .is_ok()
        || REMOVED_BUT_NUMBERED.contains(&name)
}

/// The members of `group` in the order `syscall_names_in_filter()` visits
/// them (sub-groups expanded in place), those that do not exist natively
/// left out.
fn native_members(group: &str, out: &mut Vec<&'static str>) {
    crate::syscall::walk_group(
        group,
        &mut |m| {
            if !m.starts_with('@') && exists_natively(m) {
                out.push(m);
            }
        },
        0,
    );
}

/// `syscall_names_in_filter()`: the first member of `group` that exists
/// natively and breaks the rule: allowed by an allow list, or not denied
/// by a deny list.
fn offending_syscall(info: &Info<'_>, group: &str) -> Option<&'static str> {
    type Members = Vec<(&'static str, Vec<&'static str>)>;
    static MEMBERS: std::sync::OnceLock<Members> = std::sync::OnceLock::new();
    // The groups the table checks, expanded once.
    let all = MEMBERS.get_or_init(|| {
        crate::generated::exposure::EXPOSURE_CHECKS
            .iter()
            .filter_map(|c| match c.parameter {
                Parameter::SyscallGroup(g) => Some(g),
                _ => None,
            })
            .map(|g| {
                let mut out = Vec::new();
                native_members(g, &mut out);
                (g, out)
            })
            .collect()
    });
    let (_, members) = all.iter().find(|(g, _)| *g == group)?;
    members
        .iter()
        .find(|m| info.filter_contains(m) == info.system_call_filter_allow_list)
        .copied()
}

fn assess_system_call_filter(a: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let Parameter::SyscallGroup(group) = a.parameter else {
        return (Some(a.range), None);
    };
    if !info.system_call_filter_allow_list && info.filter_is_empty() {
        return (Some(10), text("Service does not filter system calls"));
    }
    let offender = offending_syscall(info, group);
    let (b, d) = match (info.system_call_filter_allow_list, offender) {
        (true, Some(s)) => (
            9,
            format!(
                "System call allow list defined for service, and {group} is included (e.g. {s} is allowed)"
            ),
        ),
        (true, None) => (
            0,
            format!("System call allow list defined for service, and {group} is not included"),
        ),
        (false, Some(s)) => (
            10,
            format!(
                "System call deny list defined for service, and {group} is not included (e.g. {s} is allowed)"
            ),
        ),
        (false, None) => (
            0,
            format!("System call deny list defined for service, and {group} is included"),
        ),
    };
    (Some(b), Some(d))
}

fn assess_ip_address_allow(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    let (b, d) = if info.ip_filters_custom_ingress || info.ip_filters_custom_egress {
        (
            0,
            "Service defines custom ingress/egress IP filters with BPF programs",
        )
    } else if !info.ip_address_deny_all {
        (10, "Service does not define an IP address allow list")
    } else if info.ip_address_allow_other {
        (
            5,
            "Service defines IP address allow list with non-localhost entries",
        )
    } else if info.ip_address_allow_localhost {
        (
            2,
            "Service defines IP address allow list with only localhost entries",
        )
    } else {
        (0, "Service blocks all IP address ranges")
    };
    (Some(b), text(d))
}

fn assess_device_allow(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    if matches!(info.device_policy, "strict" | "closed") {
        if info.device_allow.is_empty() {
            return (Some(0), text("Service has a minimal device ACL"));
        }
        return (
            Some(5),
            Some(format!(
                "Service has a device ACL with some special devices: {}",
                info.device_allow.join(" ")
            )),
        );
    }
    (Some(10), text("Service has no device ACL"))
}

fn assess_ambient_capabilities(_: &ExposureCheck, info: &Info<'_>) -> Assessed {
    (Some(u64::from(info.ambient_capabilities != 0)), None)
}
