//! The score corpus: our generated units (the snapshotted profiles on the
//! reference base units) and seeded variants of them, written both as a
//! tree to stage for systemd and as a file system for the model; shared
//! by the corpus test and the bench.

#![allow(dead_code, unreachable_pub)]

use dropin::load::MemFs;
use systemd_oracle::{Node, Tree};

/// The shipped service units of a root's `/usr/lib/systemd/system`
/// (host directory `dir`), as the model's file system and the names asked
/// for.
pub(crate) fn shipped_units(dir: &std::path::Path) -> (MemFs, Vec<String>) {
    let tree = Tree::read_dir(dir).expect("the root's unit directory");
    let mut fs = MemFs::new();
    fs.special("/dev/null");
    let mut units = Vec::new();
    for (path, node) in tree.entries() {
        let full = format!("{SHIPPED}{path}");
        match node {
            Node::File { bytes, .. } => {
                fs.file(&full, bytes.clone());
            }
            Node::Symlink(t) => {
                fs.symlink(&full, t);
            }
            Node::Dir => {
                fs.dir(&full);
            }
            _ => {}
        }
        let name = &path[1..];
        if !name.contains('/') && name.ends_with(".service") {
            units.push(name.to_owned());
        }
    }
    (fs, units)
}

/// Where systemd reads the shipped units.
pub(crate) const SHIPPED: &str = "/usr/lib/systemd/system";

/// SplitMix64, so that a corpus is reproduced from its seed alone.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub(crate) fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Both a tree for the oracle and a file system for the model.
#[derive(Default)]
pub(crate) struct Files {
    pub(crate) tree: Tree,
    pub(crate) fs: MemFs,
}

impl Files {
    pub(crate) fn file(&mut self, path: &str, text: &str) {
        self.tree.file(path, text);
        self.fs.file(path, text.as_bytes().to_vec());
    }
}

/// The body of a snapshot file (after its insta header).
pub(crate) fn snapshot(name: &str) -> String {
    let path = format!("{}/../../snapshots/{name}.snap", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut parts = text.splitn(3, "---\n");
    let _ = (parts.next(), parts.next());
    parts.next().unwrap_or_default().to_owned()
}

pub(crate) fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../left4me-hardening/tests/fixtures/units/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) const GEN: &str = "/corpus/gen";

/// Our generated units: the profiles' drop-ins (as snapshotted) on the
/// reference base units.
pub(crate) fn profiles(files: &mut Files, units: &mut Vec<String>) {
    files.file(
        &format!("{GEN}/left4me-server@.service"),
        &fixture("left4me-server@.service"),
    );
    files.file(
        &format!("{GEN}/left4me-web.service"),
        &fixture("left4me-web.service"),
    );
    files.file(
        &format!("{GEN}/left4me-server@.service.d/10-hardening.conf"),
        &snapshot("server-template"),
    );
    for i in ["1", "2"] {
        files.file(
            &format!("{GEN}/left4me-server@{i}.service.d/10-hardening.conf"),
            &snapshot(&format!("server@{i}")),
        );
    }
    files.file(
        &format!("{GEN}/left4me-web.service.d/10-hardening.conf"),
        &snapshot("web"),
    );
    units.extend(
        [
            "left4me-server@1.service",
            "left4me-server@2.service",
            "left4me-server@.service",
            "left4me-web.service",
        ]
        .map(str::to_owned),
    );
}

/// Values for the settings the checks read (and some they do not), odd
/// ones included: empty resets, `~` lists, unknown names, values systemd
/// ignores, and a few that make it refuse the unit.
pub(crate) fn values(key: &str) -> &'static [&'static str] {
    const BOOL: &[&str] = &["yes", "no", "true", "0", "on", "bogus", ""];
    match key {
        "NoNewPrivileges"
        | "RestrictSUIDSGID"
        | "PrivatePIDs"
        | "PrivateDevices"
        | "PrivateIPC"
        | "ProtectKernelTunables"
        | "ProtectKernelModules"
        | "ProtectKernelLogs"
        | "ProtectClock"
        | "ProtectHostname"
        | "LockPersonality"
        | "RestrictRealtime"
        | "RemoveIPC"
        | "MemoryDenyWriteExecute"
        | "PrivateNetwork" => BOOL,
        "CapabilityBoundingSet" => &[
            "",
            "~",
            "CAP_SYS_ADMIN",
            "~CAP_SYS_ADMIN CAP_SYS_PTRACE",
            "CAP_NET_BIND_SERVICE CAP_KILL",
            "~CAP_MKNOD",
            "cap_chown cap_setuid",
            "CAP_BOGUS",
            "~CAP_BPF CAP_SYS_TIME CAP_WAKE_ALARM",
            "CAP_SYSLOG CAP_SYS_MODULE CAP_SYS_RAWIO",
            "CAP_AUDIT_READ CAP_MAC_ADMIN",
        ],
        "AmbientCapabilities" => &["", "CAP_NET_BIND_SERVICE", "~CAP_SYS_ADMIN", "CAP_BOGUS"],
        "UMask" => &[
            "0022", "0027", "0077", "0002", "0000", "0007", "0020", "0057", "777", "bogus",
        ],
        "PrivateUsers" => &["yes", "no", "self", "identity", "bogus"],
        "PrivateTmp" => &["yes", "no", "disconnected", "connected", "bogus"],
        "ProtectHome" => &["yes", "no", "read-only", "tmpfs", "true", "bogus"],
        "ProtectSystem" => &["yes", "no", "full", "strict", "true", "bogus"],
        "ProtectProc" => &["default", "invisible", "ptraceable", "noaccess", "bogus"],
        "ProcSubset" => &["all", "pid", "bogus"],
        "ProtectControlGroups" => &["yes", "no", "private", "strict", "bogus"],
        "KeyringMode" => &["private", "shared", "inherit", "bogus"],
        "SystemCallArchitectures" => &[
            "",
            "native",
            "native x86",
            "x86-64",
            "x86 x86-64 native",
            "bogus",
        ],
        "SystemCallFilter" => &[
            "",
            "@system-service",
            "~@privileged @resources",
            "@clock",
            "~@resources:EPERM @privileged",
            "~@mount",
            "@default @basic-io",
            "~@swap @obsolete @clock @cpu-emulation @debug @mount @module @raw-io @reboot @privileged @resources",
            "ptrace",
            "~ptrace:EPERM",
            "@known",
            "~@known",
            "~@debug @mount @raw-io @reboot @swap @cpu-emulation @obsolete @privileged",
            "chown fchown",
            "~chown:kill",
            "@nope",
        ],
        "SystemCallErrorNumber" => &["EPERM", "kill"],
        "RestrictAddressFamilies" => &[
            "",
            "none",
            "AF_UNIX",
            "AF_INET AF_INET6",
            "~AF_PACKET",
            "~AF_NETLINK AF_PACKET",
            "AF_UNIX AF_NETLINK",
            "AF_INET AF_INET6 AF_UNIX AF_NETLINK AF_PACKET",
            "AF_BLUETOOTH",
            "~AF_UNIX",
            "AF_LOCAL",
        ],
        "RestrictNamespaces" => &[
            "",
            "yes",
            "no",
            "net",
            "~net uts",
            "user mnt ipc pid cgroup net uts",
            "~user",
            "time",
            "bogus",
        ],
        "User" => &[
            "left4me", "root", "0", "nobody", "65534", "", "demo", "a:b", "%i", "u%i", "%p",
        ],
        "Group" => &["left4me", ""],
        "DynamicUser" => &["yes", "no", "yes", "maybe"],
        "SupplementaryGroups" => &["", "audio", "audio video"],
        "PrivateMounts" => &["yes", "no", "", "bogus"],
        "RootDirectory" => &["", "/", "/srv/root", "/srv//root/", "relative", "/srv/%i"],
        "RootImage" => &["", "/srv/image.raw", "/"],
        "NotifyAccess" => &["none", "main", "exec", "all", "bogus"],
        "Delegate" => &["yes", "no", "", "cpu memory", "bogus"],
        "DevicePolicy" => &["auto", "closed", "strict", "bogus"],
        "DeviceAllow" => &[
            "",
            "/dev/null rw",
            "char-pts",
            "block-loop rwm",
            "/dev/sda",
            "/dev/x bogus",
            "/dev/../dev/null r",
            "relative r",
            "/run/systemd/inaccessible/chr rw",
            "/dev/net/tun m",
            "\"/dev/with space\" w",
            "/dev/tty%i rw",
            "char-%p r",
        ],
        "IPAddressDeny" => &[
            "",
            "any",
            "0.0.0.0/0",
            "::/0",
            "0.0.0.0/0 ::/0",
            "10.0.0.0/8",
            "bogus",
        ],
        "IPAddressAllow" => &[
            "",
            "localhost",
            "127.0.0.1",
            "127.0.0.1/32",
            "127.0.0.1/0",
            "::1",
            "10.0.0.0/8",
            "link-local",
            "multicast",
            "192.168.1.1/24 ::1",
        ],
        "IPIngressFilterPath" | "IPEgressFilterPath" => &["", "/sys/fs/bpf/x", "relative"],
        "DefaultDependencies" => &["no", "yes", "no"],
        "MountImages" => &["/srv/a.raw:/mnt/a", ""],
        "LoadCredentialEncrypted" => &["cred:/etc/cred", ""],
        "LoadCredential" => &["cred:/etc/x", "other"],
        "SetCredentialEncrypted" => &["cred:aGVsbG8=", "cred:!!notbase64"],
        _ => &[""],
    }
}

/// The keys the variants set, weighted towards the ones the checks read.
pub(crate) const KEYS: &[&str] = &[
    "NoNewPrivileges",
    "RestrictSUIDSGID",
    "PrivatePIDs",
    "PrivateDevices",
    "PrivateIPC",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectClock",
    "ProtectClock",
    "ProtectHostname",
    "LockPersonality",
    "RestrictRealtime",
    "RemoveIPC",
    "MemoryDenyWriteExecute",
    "PrivateNetwork",
    "CapabilityBoundingSet",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "UMask",
    "PrivateUsers",
    "PrivateTmp",
    "ProtectHome",
    "ProtectSystem",
    "ProtectProc",
    "ProcSubset",
    "ProtectControlGroups",
    "KeyringMode",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallFilter",
    "SystemCallFilter",
    "SystemCallErrorNumber",
    "RestrictAddressFamilies",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictNamespaces",
    "User",
    "User",
    "Group",
    "DynamicUser",
    "SupplementaryGroups",
    "PrivateMounts",
    "RootDirectory",
    "RootImage",
    "NotifyAccess",
    "Delegate",
    "DevicePolicy",
    "DevicePolicy",
    "DeviceAllow",
    "DeviceAllow",
    "IPAddressDeny",
    "IPAddressDeny",
    "IPAddressAllow",
    "IPIngressFilterPath",
    "IPEgressFilterPath",
    "DefaultDependencies",
    "MountImages",
    "LoadCredentialEncrypted",
    "LoadCredential",
    "SetCredentialEncrypted",
];

/// One drop-in of `lines` random assignments.
pub(crate) fn dropin(rng: &mut Rng, lines: usize) -> String {
    let mut service = String::from("[Service]\n");
    let mut unit = String::new();
    for _ in 0..lines {
        let key = *rng.pick(KEYS);
        let mut value = *rng.pick(values(key));
        // The values that make systemd refuse the unit: rarely.
        if matches!(value, "a:b" | "maybe" | "relative") && !rng.chance(15) {
            value = "";
        }
        let line = format!("{key}={value}\n");
        if key == "DefaultDependencies" {
            unit.push_str(&line);
        } else {
            service.push_str(&line);
        }
    }
    if unit.is_empty() {
        service
    } else {
        format!("[Unit]\n{unit}{service}")
    }
}

pub(crate) const MINIMAL: &str = "[Service]\nExecStart=/bin/true\n";

/// A drop-in that leaves almost nothing exposed (for the low levels).
pub(crate) const FORTRESS: &str = "[Service]\nDynamicUser=yes\nPrivateNetwork=yes\nPrivateDevices=yes\n\
PrivateUsers=yes\nProtectHome=yes\nProtectControlGroups=yes\nProtectKernelModules=yes\n\
ProtectKernelTunables=yes\nProtectKernelLogs=yes\nProtectClock=yes\nProtectHostname=yes\n\
ProtectProc=invisible\nProcSubset=pid\nLockPersonality=yes\nMemoryDenyWriteExecute=yes\n\
RestrictRealtime=yes\nRestrictNamespaces=yes\nRestrictAddressFamilies=none\n\
CapabilityBoundingSet=\nSystemCallArchitectures=native\nSystemCallFilter=@system-service\n\
SystemCallFilter=~@privileged @resources\nIPAddressDeny=any\nUMask=0077\nRootDirectory=/srv/root\n";
pub(crate) const NOTIFY: &str =
    "[Unit]\nDescription=notify\n[Service]\nType=notify\nExecStart=/bin/true\nUser=svc\n";

/// `n` variants: a base unit (a fixture or a minimal service), sometimes
/// with a profile's drop-in under it, and random drop-ins over it, in the
/// unit's, the template's or the instance's directory.
pub(crate) fn variants(rng: &mut Rng, n: u64, files: &mut Files, units: &mut Vec<String>) {
    for i in 0..n {
        let base = rng.below(4);
        let (stem, template, fragment, profile): (&str, bool, String, Option<String>) = match base {
            0 => (
                "srv",
                true,
                fixture("left4me-server@.service"),
                Some(snapshot("server-template")),
            ),
            1 => (
                "web",
                false,
                fixture("left4me-web.service"),
                Some(snapshot("web")),
            ),
            2 => ("min", false, MINIMAL.to_owned(), Some(FORTRESS.to_owned())),
            _ => ("ntf", rng.chance(50), NOTIFY.to_owned(), None),
        };
        let prefix = format!("{stem}{i:04}");
        let file = if template {
            format!("{prefix}@.service")
        } else {
            format!("{prefix}.service")
        };
        let asked = if template && rng.chance(70) {
            format!("{prefix}@{}.service", 1 + rng.below(3))
        } else {
            file.clone()
        };
        files.file(&format!("{GEN}/{file}"), &fragment);
        let dirs: Vec<String> = if template {
            vec![format!("{GEN}/{file}.d"), format!("{GEN}/{asked}.d")]
        } else {
            vec![format!("{GEN}/{file}.d")]
        };
        if let Some(p) = profile
            && rng.chance(45)
        {
            files.file(&format!("{}/10-hardening.conf", dirs[0]), &p);
        }
        for k in 0..rng.below(4) {
            let dir = rng.pick(&dirs).clone();
            let lines = 1 + rng.below(9);
            let text = dropin(rng, lines);
            files.file(&format!("{dir}/{:02}-case.conf", 20 + k * 10), &text);
        }
        units.push(asked);
    }
}

/// A file: its name and text.
type Named = (String, String);

/// The shipped services of a root's unit directory (host directory
/// `dir`) that variants can be built on: each regular `.service` file
/// (name, text) with the `.conf` drop-ins the root ships for it.
pub(crate) struct Shipped {
    units: Vec<(String, String, Vec<Named>)>,
}

impl Shipped {
    pub(crate) fn read(dir: &std::path::Path) -> Shipped {
        let tree = Tree::read_dir(dir).expect("the root's unit directory");
        let mut fragments = Vec::new();
        let mut dropins: std::collections::BTreeMap<String, Vec<Named>> =
            std::collections::BTreeMap::new();
        for (path, node) in tree.entries() {
            let Node::File { bytes, .. } = node else {
                continue;
            };
            let text = String::from_utf8_lossy(bytes).into_owned();
            match path[1..].split_once('/') {
                None if path.ends_with(".service") => fragments.push((path[1..].to_owned(), text)),
                Some((d, f)) if !f.contains('/') && f.ends_with(".conf") => {
                    if let Some(unit) = d.strip_suffix(".d")
                        && unit.ends_with(".service")
                    {
                        dropins
                            .entry(unit.to_owned())
                            .or_default()
                            .push((f.to_owned(), text));
                    }
                }
                _ => {}
            }
        }
        let units = fragments
            .into_iter()
            .map(|(name, text)| {
                let d = dropins.remove(&name).unwrap_or_default();
                (name, text, d)
            })
            .collect();
        Shipped { units }
    }

    /// How many services variants are built on.
    pub(crate) fn len(&self) -> usize {
        self.units.len()
    }
}

/// `n` variants on the services the root ships: a shipped service (a
/// template asked for as an instance or as itself) copied under a name of
/// its own with the drop-ins the root ships for it, and one to three
/// random drop-ins over it, in the unit's, the template's or the
/// instance's directory.
pub(crate) fn shipped_variants(
    rng: &mut Rng,
    n: u64,
    shipped: &Shipped,
    files: &mut Files,
    units: &mut Vec<String>,
) {
    // systemd refuses a second service that claims a bus name another
    // loaded service holds ("Two services allocated for the same bus
    // name"): a property of the copies sharing one manager, not of a
    // unit's score. Each bus name is copied once.
    let mut buses = std::collections::BTreeSet::new();
    for i in 0..n {
        let mut k = rng.below(shipped.units.len());
        loop {
            let bus = shipped.units[k]
                .1
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("BusName="));
            if bus.is_none_or(|b| buses.insert(b.to_owned())) {
                break;
            }
            k = (k + 1) % shipped.units.len();
        }
        let (name, text, shipped_dropins) = &shipped.units[k];
        let file = format!("deb{i:04}-{name}");
        let template = file.contains("@.");
        let asked = if template && rng.chance(70) {
            file.replacen("@.", &format!("@{}.", 1 + rng.below(3)), 1)
        } else {
            file.clone()
        };
        files.file(&format!("{GEN}/{file}"), text);
        let mut dirs = vec![format!("{GEN}/{file}.d")];
        if asked != file {
            dirs.push(format!("{GEN}/{asked}.d"));
        }
        for (f, t) in shipped_dropins {
            files.file(&format!("{}/{f}", dirs[0]), t);
        }
        for k in 0..1 + rng.below(3) {
            let dir = rng.pick(&dirs).clone();
            let lines = 1 + rng.below(9);
            let text = dropin(rng, lines);
            files.file(&format!("{dir}/{:02}-case.conf", 60 + k * 10), &text);
        }
        units.push(asked);
    }
}
