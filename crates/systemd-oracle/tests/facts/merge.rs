//! How repeated and empty assignments of the hardening keys merge, value
//! spellings (number bases, UMask, booleans), and specifier expansion.

use systemd_oracle::{Oracle, Tree, UnitDump, sort_words};

use crate::{SERVICE, messages, unit};

const DIR: &str = "/etc/systemd/system";

const CASES: &[(&str, &str)] = &[
    (
        "bind-empty-clears-ro",
        "BindReadOnlyPaths=/a\nBindReadOnlyPaths=/b\nBindPaths=/c\nBindPaths=",
    ),
    (
        "ro-empty-clears-bind",
        "BindPaths=/c\nBindReadOnlyPaths=/a\nBindReadOnlyPaths=",
    ),
    (
        "bind-after-empty",
        "BindReadOnlyPaths=/a\nBindPaths=\nBindReadOnlyPaths=/b",
    ),
    (
        "ropaths",
        "ReadOnlyPaths=/a\nReadOnlyPaths=/b /c\nReadOnlyPaths=\nReadOnlyPaths=/d",
    ),
    ("ropaths-empty", "ReadOnlyPaths=/a\nReadOnlyPaths="),
    ("rwpaths", "ReadWritePaths=/a\nReadWritePaths=-/b"),
    (
        "cap-or",
        "CapabilityBoundingSet=CAP_CHOWN CAP_KILL\nCapabilityBoundingSet=CAP_NET_RAW",
    ),
    (
        "cap-tilde-after",
        "CapabilityBoundingSet=CAP_CHOWN CAP_KILL\nCapabilityBoundingSet=~CAP_KILL",
    ),
    ("cap-tilde-first", "CapabilityBoundingSet=~CAP_KILL"),
    (
        "cap-tilde-two",
        "CapabilityBoundingSet=~CAP_KILL\nCapabilityBoundingSet=~CAP_CHOWN",
    ),
    (
        "cap-tilde-then-plain",
        "CapabilityBoundingSet=~CAP_KILL\nCapabilityBoundingSet=CAP_KILL",
    ),
    (
        "cap-empty",
        "CapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=",
    ),
    (
        "cap-empty-then",
        "CapabilityBoundingSet=\nCapabilityBoundingSet=CAP_KILL",
    ),
    ("cap-tilde-alone", "CapabilityBoundingSet=~"),
    (
        "ambient",
        "AmbientCapabilities=CAP_KILL\nAmbientCapabilities=CAP_CHOWN",
    ),
    (
        "ambient-tilde",
        "AmbientCapabilities=CAP_KILL CAP_CHOWN\nAmbientCapabilities=~CAP_KILL",
    ),
    (
        "ambient-empty",
        "AmbientCapabilities=CAP_KILL\nAmbientCapabilities=",
    ),
    ("scf-allow", "SystemCallFilter=read"),
    (
        "scf-allow-deny",
        "SystemCallFilter=read write open\nSystemCallFilter=~write",
    ),
    (
        "scf-deny-allow",
        "SystemCallFilter=~read write\nSystemCallFilter=read",
    ),
    (
        "scf-deny-deny",
        "SystemCallFilter=~read\nSystemCallFilter=~write",
    ),
    (
        "scf-reset",
        "SystemCallFilter=read\nSystemCallFilter=\nSystemCallFilter=~write",
    ),
    ("scf-empty", "SystemCallFilter=read\nSystemCallFilter="),
    ("scf-errno", "SystemCallFilter=~write:EPERM read"),
    (
        "scf-unknown",
        "SystemCallFilter=~nosuchcall write\nSystemCallFilter=~@nosuchgroup",
    ),
    ("rn-or", "RestrictNamespaces=net\nRestrictNamespaces=ipc"),
    ("rn-yes", "RestrictNamespaces=yes"),
    ("rn-tilde", "RestrictNamespaces=~net"),
    (
        "rn-tilde-two",
        "RestrictNamespaces=~net\nRestrictNamespaces=~ipc",
    ),
    (
        "rn-list-then-tilde",
        "RestrictNamespaces=net ipc\nRestrictNamespaces=~net",
    ),
    (
        "rn-yes-then",
        "RestrictNamespaces=yes\nRestrictNamespaces=net",
    ),
    ("rn-no", "RestrictNamespaces=no"),
    (
        "rn-then-no",
        "RestrictNamespaces=net\nRestrictNamespaces=no",
    ),
    ("rn-empty", "RestrictNamespaces=net\nRestrictNamespaces="),
    (
        "sba-bases",
        "SocketBindAllow=udp:027015\nSocketBindAllow=tcp:0x10\nSocketBindAllow=udp:0o17",
    ),
    (
        "sba-order",
        "SocketBindAllow=ipv4:udp:27000-27999\nSocketBindAllow=any\nSocketBindAllow=ipv6:1000",
    ),
    (
        "sba-reset",
        "SocketBindAllow=udp:1\nSocketBindAllow=\nSocketBindAllow=tcp:2",
    ),
    ("sba-bad", "SocketBindAllow=udp:99999"),
    ("umask-027", "UMask=027"),
    ("umask-27", "UMask=27"),
    ("umask-7", "UMask=7"),
    ("umask-1777", "UMask=1777"),
    ("umask-0o27", "UMask=0o27"),
    ("umask-8", "UMask=8"),
    ("umask-symbolic", "UMask=u=rwx"),
    ("umask-empty", "UMask=0077\nUMask="),
    ("bool-on", "LockPersonality=on"),
    ("bool-1", "LockPersonality=1"),
    ("bool-Yes", "LockPersonality=Yes"),
    ("bool-TRUE", "LockPersonality=TRUE"),
    ("bool-y", "LockPersonality=y"),
    ("bool-t", "LockPersonality=t"),
    ("bool-oN", "LockPersonality=oN"),
    ("bool-2", "LockPersonality=2"),
    ("bool-off", "LockPersonality=yes\nLockPersonality=off"),
    ("bool-empty", "LockPersonality=yes\nLockPersonality="),
    ("nnp-empty", "NoNewPrivileges=yes\nNoNewPrivileges="),
    ("procsubset-empty", "ProcSubset=pid\nProcSubset="),
    ("protectproc-empty", "ProtectProc=invisible\nProtectProc="),
    (
        "protectsystem-empty",
        "ProtectSystem=strict\nProtectSystem=",
    ),
    (
        "sca-lines",
        "SystemCallArchitectures=native\nSystemCallArchitectures=x86",
    ),
    (
        "sca-reset",
        "SystemCallArchitectures=native\nSystemCallArchitectures=\nSystemCallArchitectures=x86",
    ),
    (
        "sca-empty",
        "SystemCallArchitectures=native\nSystemCallArchitectures=",
    ),
    ("sca-bad", "SystemCallArchitectures=native bogus"),
    (
        "tmpfs-reset",
        "TemporaryFileSystem=/a\nTemporaryFileSystem=\nTemporaryFileSystem=/b:ro",
    ),
    (
        "groups-reset",
        "SupplementaryGroups=a\nSupplementaryGroups=\nSupplementaryGroups=b c",
    ),
    (
        "env-reset",
        "Environment=A=1\nEnvironment=\nEnvironment=B=2",
    ),
    ("user-empty", "User=a\nUser="),
    (
        "devallow-reset",
        "DeviceAllow=/dev/null rw\nDeviceAllow=\nDeviceAllow=/dev/zero r",
    ),
    (
        "ipallow-reset",
        "IPAddressAllow=10.0.0.1\nIPAddressAllow=\nIPAddressAllow=localhost",
    ),
    (
        "inaccessible-empty",
        "InaccessiblePaths=/a\nInaccessiblePaths=",
    ),
];

pub(crate) fn stage(t: &mut Tree) -> Vec<String> {
    let mut units = Vec::new();
    for (name, lines) in CASES {
        t.file(
            &format!("{DIR}/mg-{name}.service"),
            format!("[Unit]\nDescription=merge\n{SERVICE}{lines}\n"),
        );
        units.push(format!("mg-{name}.service"));
    }
    t.file(
        &format!("{DIR}/spec@.service"),
        "[Unit]\nDescription=i=%i I=%I n=%n N=%N p=%p P=%P pct=%% j=%j\n\
         [Service]\nExecStart=/bin/true\nBindPaths=/srv/%i:/mnt/%I\n\
         ReadWritePaths=/var/lib/%p/%i /x/%%\n",
    )
    .file(
        &format!("{DIR}/spec-unknown@.service"),
        "[Unit]\nDescription=q=%Q\n[Service]\nExecStart=/bin/true\nBindPaths=/srv/%Q\n\
         ReadWritePaths=/a/%Q /b\nBindReadOnlyPaths=/c%\n",
    )
    .file(
        &format!("{DIR}/spec-plain.service"),
        "[Unit]\nDescription=i=[%i] I=[%I] p=%p\n[Service]\nExecStart=/bin/true\nBindPaths=/srv/%i\n",
    );
    units.extend(
        [
            "spec@foo\\x2dbar.service",
            "spec@a-b.service",
            "spec-unknown@1.service",
            "spec-plain.service",
        ]
        .map(String::from),
    );
    units
}

fn mg(name: &str) -> &'static UnitDump {
    unit(&format!("mg-{name}.service"))
}

fn get(name: &str, key: &str) -> Option<&'static str> {
    mg(name).get(key)
}

fn log(name: &str) -> Vec<String> {
    messages(&format!("{DIR}/mg-{name}.service"))
}

#[test]
fn an_empty_bind_assignment_clears_both_bind_lists() {
    for name in ["bind-empty-clears-ro", "ro-empty-clears-bind"] {
        assert_eq!(mg(name).all("BindPaths"), Vec::<&str>::new(), "{name}");
        assert_eq!(
            mg(name).all("BindReadOnlyPaths"),
            Vec::<&str>::new(),
            "{name}"
        );
    }
    assert_eq!(
        mg("bind-after-empty").all("BindReadOnlyPaths"),
        ["/b:/b:rbind"]
    );
}

#[test]
fn path_lists_accumulate_and_reset_on_empty() {
    assert_eq!(get("ropaths", "ReadOnlyPaths"), Some("/d"));
    assert_eq!(get("ropaths-empty", "ReadOnlyPaths"), None);
    assert_eq!(get("rwpaths", "ReadWritePaths"), Some("/a -/b"));
    assert_eq!(get("inaccessible-empty", "InaccessiblePaths"), None);
    assert_eq!(mg("tmpfs-reset").all("TemporaryFileSystem"), ["/b:ro"]);
}

#[test]
fn capability_sets_or_plain_lines_and_subtract_tilde_lines() {
    assert_eq!(
        get("cap-or", "CapabilityBoundingSet"),
        Some("cap_chown cap_kill cap_net_raw")
    );
    assert_eq!(
        get("cap-tilde-after", "CapabilityBoundingSet"),
        Some("cap_chown")
    );
    let all_but_kill = get("cap-tilde-first", "CapabilityBoundingSet").unwrap();
    assert!(all_but_kill.starts_with("cap_chown cap_dac_override"));
    assert!(!all_but_kill.split(' ').any(|c| c == "cap_kill"));
    let two = get("cap-tilde-two", "CapabilityBoundingSet").unwrap();
    assert!(!two.split(' ').any(|c| c == "cap_kill" || c == "cap_chown"));
    assert_eq!(two.split(' ').count() + 1, all_but_kill.split(' ').count());
    // "~CAP_KILL" then "CAP_KILL" is every bit again: printed as unset.
    assert_eq!(get("cap-tilde-then-plain", "CapabilityBoundingSet"), None);
    // Empty is the empty set; the next line starts from it.
    assert_eq!(get("cap-empty", "CapabilityBoundingSet"), Some(""));
    assert_eq!(
        get("cap-empty-then", "CapabilityBoundingSet"),
        Some("cap_kill")
    );
    // "~" alone inverts nothing: every bit, printed as unset.
    assert_eq!(get("cap-tilde-alone", "CapabilityBoundingSet"), None);
    assert_eq!(
        get("ambient", "AmbientCapabilities"),
        Some("cap_chown cap_kill")
    );
    assert_eq!(
        get("ambient-tilde", "AmbientCapabilities"),
        Some("cap_chown")
    );
    assert_eq!(get("ambient-empty", "AmbientCapabilities"), None);
}

#[test]
fn system_call_filter_allow_deny_and_reset() {
    let words = |name: &str| -> Vec<String> {
        let v = get(name, "SystemCallFilter").unwrap_or_default();
        sort_words(v).split(' ').map(str::to_owned).collect()
    };
    // An allow list always gets @default added (exit_group, …).
    let allow = words("scf-allow");
    assert!(allow.contains(&"read".to_owned()) && allow.contains(&"exit_group".to_owned()));
    assert!(!allow.contains(&"write".to_owned()));
    assert!(!allow[0].starts_with('~'));
    // A deny line after an allow list removes from it.
    let allow_deny = words("scf-allow-deny");
    assert!(allow_deny.contains(&"open".to_owned()));
    assert!(!allow_deny.contains(&"write".to_owned()));
    // A plain line after a deny list removes from the deny list.
    assert_eq!(words("scf-deny-allow"), ["~write"]);
    assert_eq!(words("scf-deny-deny"), ["~read", "write"]);
    assert_eq!(words("scf-reset"), ["~write"]);
    assert_eq!(get("scf-empty", "SystemCallFilter"), None);
    assert_eq!(words("scf-errno"), ["~read", "write:EPERM"]);
    assert_eq!(words("scf-unknown"), ["~write"]);
    assert_eq!(
        log("scf-unknown"),
        [
            "5: System call nosuchcall is not known, ignoring.",
            "6: Unknown system call group, ignoring: @nosuchgroup",
        ]
    );
}

#[test]
fn restrict_namespaces_lines_or_and_tilde_lines_and() {
    assert_eq!(get("rn-or", "RestrictNamespaces"), Some("ipc net"));
    // yes = no namespace allowed: an empty set, printed "n/a".
    assert_eq!(get("rn-yes", "RestrictNamespaces"), Some("n/a"));
    assert_eq!(
        get("rn-tilde", "RestrictNamespaces"),
        Some("cgroup ipc mnt pid user uts")
    );
    assert_eq!(
        get("rn-tilde-two", "RestrictNamespaces"),
        Some("cgroup mnt pid user uts")
    );
    assert_eq!(get("rn-list-then-tilde", "RestrictNamespaces"), Some("ipc"));
    assert_eq!(get("rn-yes-then", "RestrictNamespaces"), Some("net"));
    // no, and an empty assignment: every namespace allowed, no line.
    for name in ["rn-no", "rn-then-no", "rn-empty"] {
        assert_eq!(get(name, "RestrictNamespaces"), None, "{name}");
    }
}

#[test]
fn socket_bind_ports_take_c_number_bases_and_print_last_first() {
    // 027015 is octal (11789), 0x10 hex, 0o17 octal too.
    assert_eq!(
        get("sba-bases", "SocketBindAllow"),
        Some("udp:15 tcp:16 udp:11789")
    );
    assert_eq!(
        get("sba-order", "SocketBindAllow"),
        Some("ipv6:1000 any ipv4:udp:27000-27999")
    );
    assert_eq!(get("sba-reset", "SocketBindAllow"), Some("tcp:2"));
    assert_eq!(get("sba-bad", "SocketBindAllow"), None);
    assert_eq!(
        log("sba-bad"),
        ["5: Unable to parse SocketBindAllow= assignment, ignoring: udp:99999"]
    );
}

#[test]
fn umask_is_octal_without_prefix_and_up_to_07777() {
    for (name, shown) in [
        ("umask-027", "0027"),
        ("umask-27", "0027"),
        ("umask-7", "0007"),
        ("umask-1777", "1777"),
    ] {
        assert_eq!(get(name, "UMask"), Some(shown), "{name}");
    }
    for (name, value) in [
        ("umask-0o27", "0o27"),
        ("umask-8", "8"),
        ("umask-symbolic", "u=rwx"),
    ] {
        assert_eq!(get(name, "UMask"), Some("0022"), "{name}");
        assert_eq!(
            log(name),
            [format!(
                "5: Failed to parse UMask={value}, ignoring: Invalid argument"
            )]
        );
    }
    // Empty is no reset: refused, the earlier value stays.
    assert_eq!(get("umask-empty", "UMask"), Some("0077"));
    assert_eq!(
        log("umask-empty"),
        ["6: Failed to parse UMask=, ignoring: Invalid argument"]
    );
}

#[test]
fn booleans_and_their_empty_assignment() {
    for name in [
        "bool-on",
        "bool-1",
        "bool-Yes",
        "bool-TRUE",
        "bool-y",
        "bool-t",
        "bool-oN",
    ] {
        assert_eq!(get(name, "LockPersonality"), Some("yes"), "{name}");
    }
    assert_eq!(get("bool-off", "LockPersonality"), Some("no"));
    assert_eq!(get("bool-2", "LockPersonality"), Some("no"));
    assert_eq!(
        log("bool-2"),
        ["5: Failed to parse LockPersonality=2, ignoring: Invalid argument"]
    );
    // An empty boolean is refused; the earlier value stays.
    assert_eq!(get("bool-empty", "LockPersonality"), Some("yes"));
    assert_eq!(
        log("bool-empty"),
        ["6: Failed to parse LockPersonality=, ignoring: Invalid argument"]
    );
    assert_eq!(
        log("nnp-empty"),
        ["6: Failed to parse NoNewPrivileges=, ignoring: Invalid argument"]
    );
}

#[test]
fn enum_keys_refuse_the_empty_assignment() {
    assert_eq!(get("procsubset-empty", "ProcSubset"), Some("pid"));
    assert_eq!(get("protectproc-empty", "ProtectProc"), Some("invisible"));
    assert_eq!(get("protectsystem-empty", "ProtectSystem"), Some("strict"));
    for (name, key) in [
        ("procsubset-empty", "ProcSubset"),
        ("protectproc-empty", "ProtectProc"),
        ("protectsystem-empty", "ProtectSystem"),
    ] {
        assert_eq!(
            log(name),
            [format!(
                "6: Failed to parse {key}=, ignoring: Invalid argument"
            )]
        );
    }
}

#[test]
fn system_call_architectures_accumulate_and_reset() {
    let sorted = |name: &str| get(name, "SystemCallArchitectures").map(sort_words);
    assert_eq!(sorted("sca-lines").as_deref(), Some("native x86"));
    assert_eq!(sorted("sca-reset").as_deref(), Some("x86"));
    assert_eq!(sorted("sca-empty"), None);
    assert_eq!(sorted("sca-bad").as_deref(), Some("native"));
    assert_eq!(
        log("sca-bad"),
        ["5: Failed to parse system call architecture \"bogus\", ignoring: Invalid argument"]
    );
}

#[test]
fn other_lists_reset_on_empty() {
    assert_eq!(get("groups-reset", "SupplementaryGroups"), Some("b c"));
    assert_eq!(mg("env-reset").all("Environment"), ["B=2"]);
    assert_eq!(get("user-empty", "User"), None);
    assert_eq!(mg("devallow-reset").all("DeviceAllow"), ["/dev/zero r"]);
    let mut ips = mg("ipallow-reset").all("IPAddressAllow");
    ips.sort_unstable();
    assert_eq!(ips, ["127.0.0.0/8", "::1/128"]);
}

#[test]
fn specifiers_in_paths_and_description() {
    let u = unit("spec@foo\\x2dbar.service");
    assert_eq!(
        u.get("Description"),
        Some(
            "i=foo\\x2dbar I=foo-bar n=spec@foo\\x2dbar.service N=spec@foo\\x2dbar p=spec P=spec pct=% j=spec"
        )
    );
    assert_eq!(
        u.get("BindPaths"),
        Some("/srv/foo\\x2dbar:/mnt/foo-bar:rbind")
    );
    assert_eq!(
        u.get("ReadWritePaths"),
        Some("/var/lib/spec/foo\\x2dbar /x/%")
    );
    // %I unescapes a plain "-" to "/".
    let u = unit("spec@a-b.service");
    assert_eq!(u.get("BindPaths"), Some("/srv/a-b:/mnt/a/b:rbind"));
    // Outside an instance %i and %I are empty; the path is normalised.
    let u = unit("spec-plain.service");
    assert_eq!(u.get("Description"), Some("i=[] I=[] p=spec-plain"));
    assert_eq!(u.get("BindPaths"), Some("/srv:/srv:rbind"));
}

#[test]
fn an_unknown_specifier_drops_the_assignment_or_the_item() {
    let u = unit("spec-unknown@1.service");
    assert_eq!(u.get("Description"), Some("spec-unknown@1.service"));
    assert_eq!(u.get("BindPaths"), None);
    assert_eq!(u.get("ReadWritePaths"), Some("/b"));
    // A "%" at the end stays.
    assert_eq!(u.get("BindReadOnlyPaths"), Some("/c%:/c%:rbind"));
    assert_eq!(
        messages(&format!("{DIR}/spec-unknown@.service")),
        [
            "2: Failed to resolve unit specifiers in 'q=%Q', ignoring: Invalid slot",
            "5: Failed to resolve unit specifiers in \"/srv/%Q\", ignoring: Invalid slot",
            "6: Failed to resolve unit specifiers in /a/%Q: Invalid slot",
        ]
    );
}

/// Keys the dump does not print, seen through `security`'s checks:
/// `RestrictAddressFamilies=` lines accumulate (AF_INET then AF_UNIX
/// allows both and restricts the rest).
#[test]
fn restrict_address_families_lines_accumulate_per_security() {
    let oracle = Oracle::get().unwrap();
    let checks = |lines: &str| {
        let mut t = Tree::new();
        t.file(
            "/etc/systemd/system/raf.service",
            format!("{SERVICE}{lines}\n"),
        );
        oracle
            .security(&t, "raf.service", &["--json=short"])
            .unwrap()
            .security_checks()
            .unwrap()
            .into_iter()
            .filter(|c| {
                c.name.starts_with("RestrictAddressFamilies=") || c.name == "NoNewPrivileges="
            })
            .map(|c| (c.name, c.set))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let set = checks(
        "RestrictAddressFamilies=AF_INET\nRestrictAddressFamilies=AF_UNIX\nNoNewPrivileges=yes",
    );
    assert_eq!(set["RestrictAddressFamilies=~AF_UNIX"], Some(false));
    assert_eq!(set["RestrictAddressFamilies=~AF_(INET|INET6)"], Some(false));
    assert_eq!(set["RestrictAddressFamilies=~AF_PACKET"], Some(true));
    assert_eq!(set["RestrictAddressFamilies=~AF_NETLINK"], Some(true));
    assert_eq!(set["RestrictAddressFamilies=~…"], Some(true));
    assert_eq!(set["NoNewPrivileges="], Some(true));
    // Negative control: an empty assignment resets, nothing restricted.
    let reset =
        checks("RestrictAddressFamilies=AF_INET\nRestrictAddressFamilies=\nNoNewPrivileges=no");
    assert!(
        reset.iter().all(|(_, set)| *set == Some(false)),
        "{reset:?}"
    );
}
