//! The directive registry: one table that drives render order, parsing by
//! name, generated documentation and systemd version gates.

use std::fmt;

use crate::error::{Error, Result};
pub use crate::kind::Kind;

/// The groups a drop-in is laid out in, in the order of the test plan's
/// full composition (its Test 7 drop-in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Identity and privilege.
    Identity,
    /// Namespaces.
    Namespaces,
    /// What of the file system the service sees.
    Filesystem,
    /// `/proc` and the kernel.
    ProcKernel,
    /// System calls.
    Syscall,
    /// Network.
    Network,
    /// IPC, realtime, memory and namespace creation.
    Ipc,
}

impl Group {
    /// Every group, in render order.
    pub const ALL: &'static [Group] = &[
        Group::Identity,
        Group::Namespaces,
        Group::Filesystem,
        Group::ProcKernel,
        Group::Syscall,
        Group::Network,
        Group::Ipc,
    ];

    /// The heading the group gets in a rendered drop-in.
    pub fn heading(self) -> &'static str {
        match self {
            Group::Identity => "Identity / privilege",
            Group::Namespaces => "Namespaces",
            Group::Filesystem => "Filesystem view (clean slate)",
            Group::ProcKernel => "/proc + kernel",
            Group::Syscall => "Syscall",
            Group::Network => "Network",
            Group::Ipc => "IPC + realtime + namespaces + memory",
        }
    }
}

/// How repeated assignments of a directive combine (systemd's merge rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Merge {
    /// The last assignment wins; an empty one restores the default.
    Single,
    /// Assignments accumulate item by item, in order; an empty one
    /// discards everything before it.
    List,
    /// Like [`Merge::List`] but a set: order and repetition do not matter.
    Set,
    /// Assignments accumulate line by line, each line keeping its own
    /// inversion (`~`); an empty one discards everything before it.
    Lines,
}

/// The man page a directive is documented in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ManPage {
    /// systemd.exec(5).
    Exec,
    /// systemd.resource-control(5).
    ResourceControl,
}

impl ManPage {
    /// The page's name.
    pub fn name(self) -> &'static str {
        match self {
            ManPage::Exec => "systemd.exec(5)",
            ManPage::ResourceControl => "systemd.resource-control(5)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            ManPage::Exec => "systemd.exec",
            ManPage::ResourceControl => "systemd.resource-control",
        }
    }
}

/// What the registry knows about one directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The directive.
    pub directive: Directive,
    /// Its name as written in unit files.
    pub name: &'static str,
    /// The group it is rendered in.
    pub group: Group,
    /// The value it takes.
    pub kind: Kind,
    /// The value systemd starts from, as the assignment that produces it
    /// when it is not the kind's empty state.
    pub default: Option<&'static str>,
    /// The unit-file section it belongs to.
    pub section: &'static str,
    /// The systemd version that introduced it (per systemd's documentation).
    pub since: u32,
    /// Where it is documented.
    pub page: ManPage,
    /// One line on what it does.
    pub summary: &'static str,
}

impl Spec {
    /// How repeated assignments combine (the kind's rule).
    pub fn merge(&self) -> Merge {
        self.kind.merge()
    }

    /// The link to its entry in the systemd 257 manual.
    pub fn doc_url(&self) -> String {
        format!(
            "https://www.freedesktop.org/software/systemd/man/257/{}.html#{}=",
            self.page.slug(),
            self.name
        )
    }
}

macro_rules! registry {
    (@opt) => { None };
    (@opt $d:literal) => { Some($d) };
    ($( $(#[$m:meta])* $variant:ident = $name:literal, $group:ident, $kind:ident $(default $default:literal)?, $since:literal, $page:ident, $summary:literal; )+) => {
        /// A hardening directive the model knows. The declaration order is
        /// the render order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Directive {
            $( $(#[$m])* $variant, )+
        }

        /// The registry's entries, indexed by directive (the enum's
        /// discriminants count from 0 in declaration order).
        static SPECS: [Spec; [$(stringify!($variant)),+].len()] = [
            $( Spec {
                directive: Directive::$variant,
                name: $name,
                group: Group::$group,
                kind: Kind::$kind,
                default: registry!(@opt $($default)?),
                section: "Service",
                since: $since,
                page: ManPage::$page,
                summary: $summary,
            }, )+
        ];

        /// The registry, in render order.
        pub const REGISTRY: &[Spec] = &SPECS;

        impl Directive {
            /// Every directive, in render order.
            pub const ALL: &'static [Directive] = &[$(Directive::$variant),+];

            /// The directive's registry entry: one place in one table (a
            /// `match` would be compiled into a table of pointers at each
            /// call, each relocated when the process starts).
            pub const fn spec(self) -> &'static Spec {
                &SPECS[self as usize]
            }
        }
    };
}

registry! {
    /// [NoNewPrivileges=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#NoNewPrivileges=), systemd 187.
    NoNewPrivileges = "NoNewPrivileges", Identity, Bool, 187, Exec,
        "the service and its children can never gain privileges (setuid, file capabilities)";
    /// [RestrictSUIDSGID=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#RestrictSUIDSGID=), systemd 242.
    RestrictSuidSgid = "RestrictSUIDSGID", Identity, Bool, 242, Exec,
        "the service cannot create setuid or setgid files";
    /// [CapabilityBoundingSet=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#CapabilityBoundingSet=), systemd 13.
    CapabilityBoundingSet = "CapabilityBoundingSet", Identity, Capabilities default "~", 13, Exec,
        "the capabilities the service can ever have; empty means none";
    /// [AmbientCapabilities=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#AmbientCapabilities=), systemd 229.
    AmbientCapabilities = "AmbientCapabilities", Identity, Capabilities, 229, Exec,
        "capabilities passed to the service's unprivileged process; empty means none";
    /// [UMask=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#UMask=), systemd 12.
    UMask = "UMask", Identity, UMask default "0022", 12, Exec,
        "the file mode creation mask";
    /// [PrivateUsers=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#PrivateUsers=), systemd 232.
    PrivateUsers = "PrivateUsers", Namespaces, PrivateUsers, 232, Exec,
        "a user namespace that maps only root and the service's user";
    /// [PrivatePIDs=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#PrivatePIDs=), systemd 257.
    PrivatePids = "PrivatePIDs", Namespaces, Bool, 257, Exec,
        "a private PID namespace: the service sees only its own processes";
    /// [PrivateTmp=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#PrivateTmp=), systemd 12.
    PrivateTmp = "PrivateTmp", Namespaces, PrivateTmp, 12, Exec,
        "private /tmp and /var/tmp";
    /// [PrivateDevices=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#PrivateDevices=), systemd 209.
    PrivateDevices = "PrivateDevices", Namespaces, Bool, 209, Exec,
        "a minimal /dev without physical devices";
    /// [PrivateIPC=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#PrivateIPC=), systemd 248.
    PrivateIpc = "PrivateIPC", Namespaces, Bool, 248, Exec,
        "a private IPC namespace (System V IPC, POSIX message queues)";
    /// [ProtectHome=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectHome=), systemd 214.
    ProtectHome = "ProtectHome", Namespaces, ProtectHome, 214, Exec,
        "/home, /root and /run/user are hidden or read-only";
    /// [ReadOnlyPaths=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ReadOnlyPaths=), systemd 231.
    ReadOnlyPaths = "ReadOnlyPaths", Filesystem, Paths, 231, Exec,
        "paths made read-only in the service's view";
    /// [ReadWritePaths=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ReadWritePaths=), systemd 231.
    ReadWritePaths = "ReadWritePaths", Filesystem, Paths, 231, Exec,
        "paths kept writable in the service's view";
    /// [TemporaryFileSystem=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#TemporaryFileSystem=), systemd 238.
    TemporaryFileSystem = "TemporaryFileSystem", Filesystem, Tmpfs, 238, Exec,
        "empty tmpfs mounted over these paths";
    /// [BindReadOnlyPaths=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#BindReadOnlyPaths=), systemd 233.
    BindReadOnlyPaths = "BindReadOnlyPaths", Filesystem, Binds, 233, Exec,
        "paths bound back read-only";
    /// [BindPaths=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#BindPaths=), systemd 233.
    BindPaths = "BindPaths", Filesystem, Binds, 233, Exec,
        "paths bound back writable";
    /// [ProtectSystem=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectSystem=), systemd 214.
    ProtectSystem = "ProtectSystem", Filesystem, ProtectSystem, 214, Exec,
        "the operating system's trees are read-only";
    /// [ProtectProc=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectProc=), systemd 247.
    ProtectProc = "ProtectProc", ProcKernel, ProtectProc, 247, Exec,
        "hidepid= for the service's /proc";
    /// [ProcSubset=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProcSubset=), systemd 247.
    ProcSubset = "ProcSubset", ProcKernel, ProcSubset, 247, Exec,
        "subset= for the service's /proc";
    /// [ProtectKernelTunables=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectKernelTunables=), systemd 232.
    ProtectKernelTunables = "ProtectKernelTunables", ProcKernel, Bool, 232, Exec,
        "/proc/sys, /sys and friends are read-only";
    /// [ProtectKernelModules=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectKernelModules=), systemd 232.
    ProtectKernelModules = "ProtectKernelModules", ProcKernel, Bool, 232, Exec,
        "no kernel module loading";
    /// [ProtectKernelLogs=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectKernelLogs=), systemd 244.
    ProtectKernelLogs = "ProtectKernelLogs", ProcKernel, Bool, 244, Exec,
        "no access to the kernel log ring buffer";
    /// [ProtectClock=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectClock=), systemd 245.
    ProtectClock = "ProtectClock", ProcKernel, Bool, 245, Exec,
        "no changes to the system or hardware clock";
    /// [ProtectControlGroups=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectControlGroups=), systemd 232.
    ProtectControlGroups = "ProtectControlGroups", ProcKernel, ProtectControlGroups, 232, Exec,
        "the cgroup hierarchy is read-only";
    /// [ProtectHostname=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#ProtectHostname=), systemd 242.
    ProtectHostname = "ProtectHostname", ProcKernel, Bool, 242, Exec,
        "no changes to the hostname";
    /// [LockPersonality=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#LockPersonality=), systemd 235.
    LockPersonality = "LockPersonality", ProcKernel, Bool, 235, Exec,
        "the execution domain (personality) cannot change";
    /// [SystemCallArchitectures=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#SystemCallArchitectures=), systemd 209.
    SystemCallArchitectures = "SystemCallArchitectures", Syscall, Architectures, 209, Exec,
        "system calls of other architectures are refused";
    /// [SystemCallFilter=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#SystemCallFilter=), systemd 187.
    SystemCallFilter = "SystemCallFilter", Syscall, Syscalls, 187, Exec,
        "the system calls the service may make";
    /// [SystemCallLog=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#SystemCallLog=), systemd 247.
    SystemCallLog = "SystemCallLog", Syscall, SyscallLog, 247, Exec,
        "system calls logged (not blocked) when made";
    /// [SystemCallErrorNumber=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#SystemCallErrorNumber=), systemd 209.
    SystemCallErrorNumber = "SystemCallErrorNumber", Syscall, Errno, 209, Exec,
        "what a filtered system call returns instead of killing the process";
    /// [RestrictAddressFamilies=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#RestrictAddressFamilies=), systemd 211.
    RestrictAddressFamilies = "RestrictAddressFamilies", Network, AddressFamilies, 211, Exec,
        "the socket address families the service may use";
    /// [SocketBindAllow=](https://www.freedesktop.org/software/systemd/man/257/systemd.resource-control.html#SocketBindAllow=), systemd 249.
    SocketBindAllow = "SocketBindAllow", Network, SocketBind, 249, ResourceControl,
        "ports the service may bind, taking precedence over SocketBindDeny=";
    /// [SocketBindDeny=](https://www.freedesktop.org/software/systemd/man/257/systemd.resource-control.html#SocketBindDeny=), systemd 249.
    SocketBindDeny = "SocketBindDeny", Network, SocketBind, 249, ResourceControl,
        "ports the service may not bind";
    /// [RestrictNamespaces=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#RestrictNamespaces=), systemd 233.
    RestrictNamespaces = "RestrictNamespaces", Ipc, Namespaces, 233, Exec,
        "the namespace types the service may create";
    /// [RestrictRealtime=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#RestrictRealtime=), systemd 231.
    RestrictRealtime = "RestrictRealtime", Ipc, Bool, 231, Exec,
        "no realtime scheduling";
    /// [RemoveIPC=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#RemoveIPC=), systemd 232.
    RemoveIpc = "RemoveIPC", Ipc, Bool, 232, Exec,
        "the user's System V and POSIX IPC objects are removed when it stops";
    /// [KeyringMode=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#KeyringMode=), systemd 235.
    KeyringMode = "KeyringMode", Ipc, KeyringMode default "private", 235, Exec,
        "the kernel session keyring of the service";
    /// [MemoryDenyWriteExecute=](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#MemoryDenyWriteExecute=), systemd 231.
    MemoryDenyWriteExecute = "MemoryDenyWriteExecute", Ipc, Bool, 231, Exec,
        "no memory mapping that is both writable and executable";
}

impl Directive {
    /// Where systemd keeps the directive's value: the storage id of its key
    /// in systemd 257's own key table (`load-fragment-gperf.gperf.in`, as
    /// generated into `generated/unit_keys.rs`). Directives with the same
    /// storage share it, as `BindPaths=` and `BindReadOnlyPaths=` share one
    /// bind list: an empty assignment of one resets the other too.
    pub fn storage(self) -> &'static str {
        static STORAGE: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        let all = STORAGE.get_or_init(|| {
            Directive::ALL
                .iter()
                .map(|d| {
                    let spec = d.spec();
                    crate::effective::unit_key(spec.section, spec.name)
                        .map_or(spec.name, |k| k.storage())
                })
                .collect()
        });
        all.get(self as usize).copied().unwrap_or(self.spec().name)
    }

    /// Every directive with this one's [storage](Directive::storage), this
    /// one included, in declaration (render) order.
    pub fn sharing_storage(self) -> &'static [Directive] {
        static SHARING: std::sync::OnceLock<Vec<Vec<Directive>>> = std::sync::OnceLock::new();
        let all = SHARING.get_or_init(|| {
            // One pass groups the registry by storage, in declaration order.
            let mut by_storage: std::collections::BTreeMap<&str, Vec<Directive>> =
                std::collections::BTreeMap::new();
            for d in Directive::ALL {
                by_storage.entry(d.storage()).or_default().push(*d);
            }
            Directive::ALL
                .iter()
                .map(|d| by_storage.get(d.storage()).cloned().unwrap_or_default())
                .collect()
        });
        all.get(self as usize).map_or(&[], Vec::as_slice)
    }

    /// This directive's [storage](Directive::storage)'s place among every
    /// storage in name order, `0..Directive::storage_names().len()`: the
    /// index of what is kept per storage.
    pub fn storage_rank(self) -> usize {
        Self::storages().1.get(self as usize).copied().unwrap_or(0)
    }

    /// Every [storage](Directive::storage) once, in name order (at each
    /// one's [rank](Directive::storage_rank)).
    pub fn storage_names() -> &'static [&'static str] {
        &Self::storages().0
    }

    /// The storages in name order, and each directive's rank among them.
    fn storages() -> &'static (Vec<&'static str>, Vec<usize>) {
        static STORAGES: std::sync::OnceLock<(Vec<&'static str>, Vec<usize>)> =
            std::sync::OnceLock::new();
        STORAGES.get_or_init(|| {
            let mut names: Vec<&'static str> = Directive::ALL.iter().map(|d| d.storage()).collect();
            names.sort_unstable();
            names.dedup();
            let ranks = Directive::ALL
                .iter()
                .map(|d| names.binary_search(&d.storage()).unwrap_or(0))
                .collect();
            (names, ranks)
        })
    }

    /// The directive's name as written in unit files.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// Looks a directive up by its unit-file name.
    pub fn from_name(name: &str) -> Option<Directive> {
        // Every line read asks: an index, made once per process (the first
        // entry of a name wins, as a scan of the registry finds it).
        static INDEX: std::sync::OnceLock<crate::table_index::Index<&'static str, usize>> =
            std::sync::OnceLock::new();
        INDEX
            .get_or_init(|| crate::table_index::first_of(REGISTRY, |s| s.name))
            .get(name)
            .and_then(|&i| REGISTRY.get(i))
            .map(|s| s.directive)
    }
}

/// A directive, or a value of one, that a systemd version does not know.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TooNew {
    /// The directive.
    pub directive: Directive,
    /// The value, where the value is the newer part.
    pub value: Option<String>,
    /// The systemd version that introduced it.
    pub since: u32,
}

impl fmt::Display for TooNew {
    /// `PrivatePIDs= (systemd 257)`, `PrivateUsers=identity (systemd 257)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={} (systemd {})",
            self.directive.name(),
            self.value.as_deref().unwrap_or(""),
            self.since
        )
    }
}

/// The version gate, the one place it is decided: what of `directive` and
/// `values` systemd `target` does not know — the directive itself, or
/// else each value newer than `target`.
pub fn too_new<'a>(
    directive: Directive,
    values: impl IntoIterator<Item = &'a crate::Value>,
    target: u32,
) -> Vec<TooNew> {
    let since = directive.spec().since;
    if since > target {
        return vec![TooNew {
            directive,
            value: None,
            since,
        }];
    }
    let mut out: Vec<TooNew> = Vec::new();
    for v in values {
        if let Some(since) = v.since().filter(|s| *s > target) {
            let item = TooNew {
                directive,
                value: Some(v.to_string()),
                since,
            };
            if !out.contains(&item) {
                out.push(item);
            }
        }
    }
    out
}

impl std::str::FromStr for Directive {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let name = s.strip_suffix('=').unwrap_or(s);
        Directive::from_name(name).ok_or_else(|| Error::UnknownDirective(s.to_owned()))
    }
}

impl serde::Serialize for Directive {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The names of the unit keys outside [`REGISTRY`] that the library reads
/// (the scorer's `SecurityInfo` inputs, the lints' view of a unit, the
/// runtime check's identity), written once here as the directives are in
/// the registry. Every one is a key of systemd 257's table (a test says
/// so).
pub mod key {
    macro_rules! keys {
        ($( $konst:ident = $name:literal, $section:literal; )+) => {
            $(
                #[doc = concat!("`", $section, "`: `", $name, "=`.")]
                pub const $konst: &str = $name;
            )+
            /// Every key here with its section.
            pub const ALL: &[(&str, &str)] = &[$( ($section, $name) ),+];
        };
    }
    keys! {
        DEFAULT_DEPENDENCIES = "DefaultDependencies", "Unit";
        USER = "User", "Service";
        GROUP = "Group", "Service";
        SUPPLEMENTARY_GROUPS = "SupplementaryGroups", "Service";
        DYNAMIC_USER = "DynamicUser", "Service";
        PRIVATE_MOUNTS = "PrivateMounts", "Service";
        PRIVATE_NETWORK = "PrivateNetwork", "Service";
        ROOT_DIRECTORY = "RootDirectory", "Service";
        ROOT_IMAGE = "RootImage", "Service";
        NOTIFY_ACCESS = "NotifyAccess", "Service";
        DELEGATE = "Delegate", "Service";
        DEVICE_POLICY = "DevicePolicy", "Service";
        DEVICE_ALLOW = "DeviceAllow", "Service";
        IP_ADDRESS_DENY = "IPAddressDeny", "Service";
        IP_ADDRESS_ALLOW = "IPAddressAllow", "Service";
        IP_INGRESS_FILTER_PATH = "IPIngressFilterPath", "Service";
        IP_EGRESS_FILTER_PATH = "IPEgressFilterPath", "Service";
        MOUNT_IMAGES = "MountImages", "Service";
        LOAD_CREDENTIAL = "LoadCredential", "Service";
        LOAD_CREDENTIAL_ENCRYPTED = "LoadCredentialEncrypted", "Service";
        SET_CREDENTIAL = "SetCredential", "Service";
        SET_CREDENTIAL_ENCRYPTED = "SetCredentialEncrypted", "Service";
        KILL_SIGNAL = "KillSignal", "Service";
        SUCCESS_EXIT_STATUS = "SuccessExitStatus", "Service";
        EXEC_CONDITION = "ExecCondition", "Service";
        EXEC_START_PRE = "ExecStartPre", "Service";
        EXEC_START = "ExecStart", "Service";
        EXEC_START_POST = "ExecStartPost", "Service";
        EXEC_RELOAD = "ExecReload", "Service";
        EXEC_STOP = "ExecStop", "Service";
        EXEC_STOP_POST = "ExecStopPost", "Service";
        WORKING_DIRECTORY = "WorkingDirectory", "Service";
        RUNTIME_MAX_SEC = "RuntimeMaxSec", "Service";
        TYPE = "Type", "Service";
        BUS_NAME = "BusName", "Service";
        REMAIN_AFTER_EXIT = "RemainAfterExit", "Service";
        SUCCESS_ACTION = "SuccessAction", "Unit";
    }

    /// The command lines of a service, in the order systemd runs them.
    pub const EXEC: &[&str] = &[
        EXEC_CONDITION,
        EXEC_START_PRE,
        EXEC_START,
        EXEC_START_POST,
        EXEC_RELOAD,
        EXEC_STOP,
        EXEC_STOP_POST,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_declaration_order() {
        assert_eq!(REGISTRY.len(), Directive::ALL.len());
        for (spec, d) in REGISTRY.iter().zip(Directive::ALL) {
            assert_eq!(spec.directive, *d);
            assert_eq!(d.spec(), spec);
            assert_eq!(Directive::from_name(spec.name), Some(*d));
        }
    }

    #[test]
    fn storage_ranks_are_equal_exactly_where_storages_are() {
        let names = Directive::storage_names();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "in name order, once");
        for a in Directive::ALL {
            assert_eq!(names.get(a.storage_rank()), Some(&a.storage()), "{a:?}");
            for b in Directive::ALL {
                assert_eq!(
                    a.storage_rank() == b.storage_rank(),
                    a.storage() == b.storage(),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn sharing_storage_is_every_directive_of_the_storage_in_order() {
        for d in Directive::ALL {
            let want: Vec<Directive> = Directive::ALL
                .iter()
                .copied()
                .filter(|o| o.storage() == d.storage())
                .collect();
            assert_eq!(d.sharing_storage(), want.as_slice(), "{d}");
        }
        assert_eq!(
            Directive::BindPaths.sharing_storage(),
            &[Directive::BindReadOnlyPaths, Directive::BindPaths]
        );
    }

    #[test]
    fn every_directive_is_a_key_systemd_parses() {
        use crate::generated::unit_keys::{KeyKind, UNIT_KEYS};
        for d in Directive::ALL {
            let spec = d.spec();
            let key = UNIT_KEYS
                .iter()
                .find(|k| k.section() == spec.section && k.name() == spec.name)
                .unwrap_or_else(|| panic!("{d} is not a key of systemd 257's table"));
            assert_eq!(key.kind, KeyKind::Parsed, "{d}");
            assert_eq!(d.storage(), key.storage(), "{d}");
        }
        // Shared storage, as systemd's own table says.
        assert_eq!(
            Directive::BindPaths.storage(),
            Directive::BindReadOnlyPaths.storage()
        );
        assert_ne!(
            Directive::ReadOnlyPaths.storage(),
            Directive::ReadWritePaths.storage()
        );
        assert_ne!(
            Directive::SocketBindAllow.storage(),
            Directive::SocketBindDeny.storage()
        );
    }

    #[test]
    fn groups_are_contiguous_in_render_order() {
        let groups: Vec<Group> = REGISTRY.iter().map(|s| s.group).collect();
        let mut sorted = groups.clone();
        sorted.sort();
        assert_eq!(groups, sorted);
    }
    #[test]
    fn every_named_key_is_a_key_of_systemds_table() {
        use crate::generated::unit_keys::{KeyKind, UNIT_KEYS};
        for (section, name) in super::key::ALL {
            let k = UNIT_KEYS
                .iter()
                .find(|k| k.section() == *section && k.name() == *name)
                .unwrap_or_else(|| panic!("{section}.{name} is not a key of systemd 257's table"));
            assert_eq!(k.kind, KeyKind::Parsed, "{name}");
            assert!(
                Directive::from_name(name).is_none(),
                "{name} is in the registry"
            );
        }
    }
}
