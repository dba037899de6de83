//! How the dump shows each hardening key (the table in
//! `docs/systemd-257-loading.md`), and which keys it never shows.

use systemd_oracle::Tree;

use crate::{SERVICE, unit};

const DIR: &str = "/etc/systemd/system";

/// Not shown: the dump is the same as without the assignment.
const HIDDEN: &[(&str, &str)] = &[
    ("NoNewPrivileges", "NoNewPrivileges=yes"),
    ("PrivateIPC", "PrivateIPC=yes"),
    ("PrivateMounts", "PrivateMounts=yes"),
    ("SystemCallLog", "SystemCallLog=ptrace"),
    (
        "RestrictAddressFamilies",
        "RestrictAddressFamilies=AF_INET AF_UNIX",
    ),
    ("RemoveIPC", "RemoveIPC=yes"),
];

/// A key, an assignment of it, and the (normalised) dump lines it brings.
type Shown = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Shown: the assignment and the (normalised) dump lines it brings.
const SHOWN: &[Shown] = &[
    (
        "RestrictSUIDSGID",
        "RestrictSUIDSGID=yes",
        &[("RestrictSUIDSGID", "yes")],
    ),
    (
        "CapabilityBoundingSet",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_CHOWN",
        &[("CapabilityBoundingSet", "cap_chown cap_net_bind_service")],
    ),
    (
        "AmbientCapabilities",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        &[("AmbientCapabilities", "cap_net_bind_service")],
    ),
    ("UMask", "UMask=0027", &[("UMask", "0027")]),
    (
        "PrivateUsers",
        "PrivateUsers=yes",
        &[("PrivateUsers", "self")],
    ),
    ("PrivatePIDs", "PrivatePIDs=yes", &[("PrivatePIDs", "yes")]),
    (
        "PrivateTmp",
        "PrivateTmp=yes",
        &[("PrivateTmp", "connected")],
    ),
    (
        "PrivateDevices",
        "PrivateDevices=yes",
        &[("PrivateDevices", "yes"), ("DevicePolicy", "closed")],
    ),
    (
        "PrivateNetwork",
        "PrivateNetwork=yes",
        &[("PrivateNetwork", "yes")],
    ),
    (
        "ProtectHome",
        "ProtectHome=read-only",
        &[("ProtectHome", "read-only")],
    ),
    (
        "ProtectSystem",
        "ProtectSystem=strict",
        &[("ProtectSystem", "strict")],
    ),
    (
        "ReadOnlyPaths",
        "ReadOnlyPaths=/a -/b +/c",
        &[("ReadOnlyPaths", "/a -/b +/c")],
    ),
    (
        "ReadWritePaths",
        "ReadWritePaths=/a -/b",
        &[("ReadWritePaths", "/a -/b")],
    ),
    (
        "InaccessiblePaths",
        "InaccessiblePaths=/a -/b",
        &[("InaccessiblePaths", "/a -/b")],
    ),
    ("ExecPaths", "ExecPaths=/a", &[("ExecPaths", "/a")]),
    ("NoExecPaths", "NoExecPaths=/a", &[("NoExecPaths", "/a")]),
    (
        "TemporaryFileSystem",
        "TemporaryFileSystem=/a /b:ro,mode=0755",
        &[
            ("TemporaryFileSystem", "/a"),
            ("TemporaryFileSystem", "/b:ro,mode=0755"),
        ],
    ),
    (
        "BindPaths",
        "BindPaths=/a -/b:/c /d:/e:norbind",
        &[
            ("BindPaths", "/a:/a:rbind"),
            ("BindPaths", "-/b:/c:rbind"),
            ("BindPaths", "/d:/e:norbind"),
        ],
    ),
    (
        "BindReadOnlyPaths",
        "BindReadOnlyPaths=-/b:/c:rbind",
        &[("BindReadOnlyPaths", "-/b:/c:rbind")],
    ),
    (
        "ProtectProc",
        "ProtectProc=invisible",
        &[("ProtectProc", "invisible")],
    ),
    ("ProcSubset", "ProcSubset=pid", &[("ProcSubset", "pid")]),
    (
        "ProtectKernelTunables",
        "ProtectKernelTunables=yes",
        &[("ProtectKernelTunables", "yes")],
    ),
    (
        "ProtectKernelModules",
        "ProtectKernelModules=yes",
        &[("ProtectKernelModules", "yes")],
    ),
    (
        "ProtectKernelLogs",
        "ProtectKernelLogs=yes",
        &[("ProtectKernelLogs", "yes")],
    ),
    (
        "ProtectClock",
        "ProtectClock=yes",
        &[("ProtectClock", "yes")],
    ),
    (
        "ProtectControlGroups",
        "ProtectControlGroups=yes",
        &[("ProtectControlGroups", "yes")],
    ),
    (
        "ProtectHostname",
        "ProtectHostname=yes",
        &[("ProtectHostname", "yes")],
    ),
    (
        "LockPersonality",
        "LockPersonality=yes",
        &[("LockPersonality", "yes")],
    ),
    (
        "SystemCallArchitectures",
        "SystemCallArchitectures=x86 native",
        &[("SystemCallArchitectures", "native x86")],
    ),
    (
        "SystemCallFilter",
        "SystemCallFilter=~ptrace mount",
        &[("SystemCallFilter", "~mount ptrace")],
    ),
    (
        "SystemCallErrorNumber",
        "SystemCallErrorNumber=EPERM",
        &[("SystemCallErrorNumber", "EPERM")],
    ),
    (
        "SocketBindAllow",
        "SocketBindAllow=udp:27015",
        &[("SocketBindAllow", "udp:27015")],
    ),
    (
        "SocketBindDeny",
        "SocketBindDeny=any",
        &[("SocketBindDeny", "any")],
    ),
    (
        "RestrictNamespaces",
        "RestrictNamespaces=net ipc",
        &[("RestrictNamespaces", "ipc net")],
    ),
    (
        "RestrictRealtime",
        "RestrictRealtime=yes",
        &[("RestrictRealtime", "yes")],
    ),
    (
        "KeyringMode",
        "KeyringMode=shared",
        &[("KeyringMode", "shared")],
    ),
    (
        "MemoryDenyWriteExecute",
        "MemoryDenyWriteExecute=yes",
        &[("MemoryDenyWriteExecute", "yes")],
    ),
    ("User", "User=left4me", &[("User", "left4me")]),
    ("Group", "Group=left4me", &[("Group", "left4me")]),
    (
        "DynamicUser",
        "DynamicUser=yes",
        &[
            ("DynamicUser", "yes"),
            ("User", "fmt-DynamicUser"),
            ("PrivateTmp", "disconnected"),
            ("ProtectSystem", "strict"),
        ],
    ),
    (
        "SupplementaryGroups",
        "SupplementaryGroups=a b",
        &[("SupplementaryGroups", "a b")],
    ),
    (
        "DeviceAllow",
        "DeviceAllow=/dev/null rw",
        &[("DeviceAllow", "/dev/null rw")],
    ),
    (
        "DevicePolicy",
        "DevicePolicy=closed",
        &[("DevicePolicy", "closed")],
    ),
    (
        "IPAddressAllow",
        "IPAddressAllow=127.0.0.1 ::1",
        &[
            ("IPAddressAllow", "127.0.0.1/32"),
            ("IPAddressAllow", "::1/128"),
        ],
    ),
    (
        "IPAddressDeny",
        "IPAddressDeny=any",
        &[("IPAddressDeny", "0.0.0.0/0"), ("IPAddressDeny", "::/0")],
    ),
    (
        "RootDirectory",
        "RootDirectory=/srv/root",
        &[("RootDirectory", "/srv/root")],
    ),
    (
        "RootImage",
        "RootImage=/srv/img.raw",
        &[("RootImage", "/srv/img.raw")],
    ),
    (
        "NotifyAccess",
        "NotifyAccess=all",
        &[("NotifyAccess", "all")],
    ),
    (
        "Delegate",
        "Delegate=yes",
        &[("Delegate", "cpu cpuset io memory pids")],
    ),
    (
        "Type",
        "Type=notify",
        &[("Type", "notify"), ("NotifyAccess", "main")],
    ),
    (
        "Environment",
        "Environment=A=1 \"B=2 3\"",
        &[("Environment", "A=1"), ("Environment", "B=2 3")],
    ),
    (
        "EnvironmentFile",
        "EnvironmentFile=-/etc/x.env",
        &[("EnvironmentFile", "-/etc/x.env")],
    ),
    (
        "ExecStart",
        "ExecStart=\nExecStart=-/bin/echo \"a b\" c",
        &[("ExecStart.Command Line", "/bin/echo \"a b\" c")],
    ),
    (
        "WorkingDirectory",
        "WorkingDirectory=-/srv",
        &[("WorkingDirectory", "/srv")],
    ),
];

pub(crate) fn stage(t: &mut Tree) -> Vec<String> {
    let mut units = vec![
        "fmt-default.service".to_owned(),
        "fmt-DefaultDependencies.service".to_owned(),
    ];
    t.file(
        &format!("{DIR}/fmt-default.service"),
        format!("[Unit]\nDescription=fmt\n{SERVICE}"),
    )
    .file(
        &format!("{DIR}/fmt-DefaultDependencies.service"),
        format!("[Unit]\nDescription=fmt\nDefaultDependencies=no\n{SERVICE}"),
    );
    let lines = HIDDEN
        .iter()
        .map(|(k, a)| (*k, *a))
        .chain(SHOWN.iter().map(|(k, a, _)| (*k, *a)));
    for (key, assignment) in lines {
        t.file(
            &format!("{DIR}/fmt-{key}.service"),
            format!("[Unit]\nDescription=fmt\n{SERVICE}{assignment}\n"),
        );
        units.push(format!("fmt-{key}.service"));
    }
    units
}

/// The normalised lines of a unit, without the two that name it.
fn lines(name: &str) -> Vec<(String, String)> {
    unit(name)
        .normalized()
        .into_iter()
        .filter(|(k, _)| k != "Fragment Path" && k != "Description")
        .collect()
}

#[test]
fn keys_the_dump_never_shows() {
    let default = lines("fmt-default.service");
    for (key, _) in HIDDEN {
        assert_eq!(lines(&format!("fmt-{key}.service")), default, "{key}");
    }
}

#[test]
fn how_the_dump_shows_each_hardening_key() {
    let default = lines("fmt-default.service");
    for (key, _, shown) in SHOWN {
        let got = lines(&format!("fmt-{key}.service"));
        // Negative control: the assignment changed the dump.
        assert_ne!(got, default, "{key}");
        for (k, v) in *shown {
            let line = ((*k).to_owned(), (*v).to_owned());
            assert!(got.contains(&line), "{key}: no {k}: {v} in {got:#?}");
            assert!(!default.contains(&line), "{key}: {k}: {v} is the default");
        }
    }
}

#[test]
fn defaults_as_the_dump_shows_them() {
    let u = unit("fmt-default.service");
    for (k, v) in [
        ("UMask", "0022"),
        ("PrivateTmp", "no"),
        ("PrivateUsers", "no"),
        ("ProtectSystem", "no"),
        ("ProtectHome", "no"),
        ("ProtectProc", "default"),
        ("ProcSubset", "all"),
        ("KeyringMode", "private"),
        ("DevicePolicy", "auto"),
        ("Delegate", "no"),
        ("NotifyAccess", "none"),
        ("Type", "simple"),
        ("DefaultDependencies", "yes"),
        ("DynamicUser", "no"),
        ("SystemCallErrorNumber", "kill"),
        ("WorkingDirectory", "/"),
        ("RootDirectory", "/"),
        ("Description", "fmt"),
    ] {
        assert_eq!(u.get(k), Some(v), "{k}");
    }
    // Unset lists and sets print no line at all.
    for k in [
        "CapabilityBoundingSet",
        "AmbientCapabilities",
        "SystemCallFilter",
        "SystemCallArchitectures",
        "RestrictNamespaces",
        "SocketBindAllow",
        "User",
        "Group",
        "BindPaths",
        "ReadWritePaths",
        "IPAddressAllow",
        "RootImage",
    ] {
        assert_eq!(u.get(k), None, "{k}");
    }
    let u = unit("fmt-DefaultDependencies.service");
    assert_eq!(u.get("DefaultDependencies"), Some("no"));
    assert!(
        !u.all("Requires")
            .iter()
            .any(|d| d.starts_with("sysinit.target"))
    );
}
