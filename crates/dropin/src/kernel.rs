//! `/proc` and kernel: process visibility and kernel-facing protections.

use crate::keyword::keywords;

keywords! {
    /// `ProtectProc=`: the `hidepid=` of the unit's `/proc`.
    ProtectProc(Directive::ProtectProc) {
        /// No restriction.
        Default = "default",
        /// Other users' processes are hidden.
        Invisible = "invisible",
        /// Processes that cannot be ptraced are hidden.
        Ptraceable = "ptraceable",
        /// Other users' process directories cannot be accessed.
        Noaccess = "noaccess",
    }
    kind {
        table: ["default", "noaccess", "invisible", "ptraceable"],
        yes: none,
        describe: "default, invisible, ptraceable or noaccess",
        samples: ["default", "invisible", "ptraceable", "noaccess"],
    }
}

keywords! {
    /// `ProcSubset=`: the `subset=` of the unit's `/proc`.
    ProcSubset(Directive::ProcSubset) {
        /// The whole of `/proc`.
        All = "all",
        /// Only the per-process directories.
        Pid = "pid",
    }
    kind {
        table: ["all", "pid"],
        yes: none,
        describe: "all or pid",
        samples: ["all", "pid"],
    }
}

keywords! {
    /// `ProtectControlGroups=`.
    ProtectControlGroups(Directive::ProtectControlGroups) {
        /// The cgroup hierarchy stays writable where permissions allow.
        No = "no",
        /// Read-only.
        Yes = "yes",
        /// A private cgroup namespace, writable.
        Private = "private" since 257,
        /// A private cgroup namespace, read-only.
        Strict = "strict" since 257,
    }
    bool { yes: Yes, no: No }
    kind {
        table: ["no", "yes", "private", "strict"],
        yes: "yes",
        describe: "yes, private, strict or no",
        samples: ["true", "private", "strict", "false"],
        ex_property: true,
    }
}
