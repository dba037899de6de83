//! What `systemd-analyze security --offline=true` reads of a unit: its
//! `SecurityInfo` (`get_security_info()` of
//! `src/analyze/analyze-security.c`), built from the settings systemd
//! loaded, after the adjustments `unit_patch_contexts()` of
//! `src/core/unit.c` makes once every file is read.
//!
//! The registry directives come typed from [`Effective`]; the other keys
//! the checks read are replayed here from [`Effective::untyped_log`]
//! through ports of their parsers, so that a value systemd refuses keeps
//! the one before it.

use std::collections::{BTreeMap, BTreeSet};

use crate::directive::{Directive, key};
use crate::effective::Effective;
use crate::generated::exposure::{DEVICE_POLICIES, NOTIFY_ACCESS};
use crate::identity::{CapabilityList, UMask};
use crate::namespace::RestrictNamespaces;
use crate::network::AddressFamilies;
use crate::syscall::{ArchList, Seccomp, SyscallFilter};
use crate::systemd::extract::{Cursor, Flags};
use crate::systemd::number::{AtoFlags, parse_boolean, safe_atou};
use crate::systemd::path;
use crate::value::Boolean;

/// `NOBODY_USER_NAME` of Debian's build.
pub(crate) const NOBODY_USER_NAME: &str = "nobody";

/// What the checks read, as `SecurityInfo` holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Info<'a> {
    pub(crate) default_dependencies: bool,
    pub(crate) notify_access: Option<&'static str>,
    pub(crate) ambient_capabilities: u64,
    pub(crate) capability_bounding_set: u64,
    pub(crate) user: Option<String>,
    pub(crate) supplementary_groups: Vec<String>,
    pub(crate) dynamic_user: bool,
    pub(crate) ip_address_deny_all: bool,
    pub(crate) ip_address_allow_localhost: bool,
    pub(crate) ip_address_allow_other: bool,
    pub(crate) ip_filters_custom_ingress: bool,
    pub(crate) ip_filters_custom_egress: bool,
    pub(crate) keyring_mode: String,
    pub(crate) protect_proc: String,
    pub(crate) proc_subset: String,
    pub(crate) lock_personality: bool,
    pub(crate) memory_deny_write_execute: bool,
    pub(crate) no_new_privileges: bool,
    pub(crate) protect_hostname: bool,
    pub(crate) private_devices: bool,
    pub(crate) private_mounts: bool,
    pub(crate) private_network: bool,
    pub(crate) private_tmp: bool,
    pub(crate) private_users: bool,
    pub(crate) protect_control_groups: bool,
    pub(crate) protect_kernel_modules: bool,
    pub(crate) protect_kernel_tunables: bool,
    pub(crate) protect_kernel_logs: bool,
    pub(crate) protect_clock: bool,
    pub(crate) protect_home: String,
    pub(crate) protect_system: String,
    pub(crate) remove_ipc: bool,
    pub(crate) restrict_address_family_inet: bool,
    pub(crate) restrict_address_family_unix: bool,
    pub(crate) restrict_address_family_netlink: bool,
    pub(crate) restrict_address_family_packet: bool,
    pub(crate) restrict_address_family_other: bool,
    pub(crate) restrict_namespaces: u64,
    pub(crate) restrict_realtime: bool,
    pub(crate) restrict_suid_sgid: bool,
    pub(crate) root_directory: Option<String>,
    pub(crate) root_image: Option<String>,
    pub(crate) delegate: bool,
    pub(crate) device_policy: &'static str,
    pub(crate) device_allow: Vec<String>,
    pub(crate) system_call_architectures: BTreeSet<String>,
    pub(crate) system_call_filter_allow_list: bool,
    /// The filter's calls: in an allow list, those without an error
    /// number are allowed; in a deny list, all are denied.
    pub(crate) system_call_filter: Option<&'a Seccomp>,
    pub(crate) umask: u32,
}

impl Info<'_> {
    /// Whether the filter set `SecurityInfo` builds holds `call`: every
    /// call of a deny list, the calls of an allow list without an error
    /// number.
    pub(crate) fn filter_contains(&self, call: &str) -> bool {
        self.system_call_filter
            .is_some_and(|s| match s.calls.get(call) {
                Some(errno) => !s.allow_list || errno.is_none(),
                None => false,
            })
    }

    /// Whether that set is empty.
    pub(crate) fn filter_is_empty(&self) -> bool {
        self.system_call_filter.is_none_or(|s| {
            s.calls
                .values()
                .all(|errno| s.allow_list && errno.is_some())
        })
    }

    /// `security_info_runs_privileged()`.
    pub(crate) fn runs_privileged(&self) -> bool {
        match self.user.as_deref() {
            Some("0" | "root") => true,
            _ if self.dynamic_user => false,
            user => user.is_none_or(str::is_empty),
        }
    }

    /// The `SecurityInfo` field `assess_bool` reads at `offset`.
    pub(crate) fn flag(&self, offset: &str) -> Option<bool> {
        Some(match offset {
            "private_devices" => self.private_devices,
            "private_mounts" => self.private_mounts,
            "private_network" => self.private_network,
            "private_tmp" => self.private_tmp,
            "private_users" => self.private_users,
            "protect_control_groups" => self.protect_control_groups,
            "protect_kernel_modules" => self.protect_kernel_modules,
            "protect_kernel_tunables" => self.protect_kernel_tunables,
            "protect_kernel_logs" => self.protect_kernel_logs,
            "protect_clock" => self.protect_clock,
            "protect_hostname" => self.protect_hostname,
            "lock_personality" => self.lock_personality,
            "memory_deny_write_execute" => self.memory_deny_write_execute,
            "no_new_privileges" => self.no_new_privileges,
            "remove_ipc" => self.remove_ipc,
            "restrict_address_family_inet" => self.restrict_address_family_inet,
            "restrict_address_family_unix" => self.restrict_address_family_unix,
            "restrict_address_family_netlink" => self.restrict_address_family_netlink,
            "restrict_address_family_packet" => self.restrict_address_family_packet,
            "restrict_address_family_other" => self.restrict_address_family_other,
            "restrict_realtime" => self.restrict_realtime,
            "restrict_suid_sgid" => self.restrict_suid_sgid,
            "delegate" => self.delegate,
            _ => return None,
        })
    }
}

/// One `DeviceAllow=` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DeviceAllow {
    path: String,
    /// `CGroupDevicePermissions`: r = 1, w = 2, m = 4.
    permissions: u8,
}

/// The untyped settings the checks read, after replaying their parsers.
#[derive(Clone, Debug)]
struct Untyped {
    user: Option<String>,
    supplementary_groups: Vec<String>,
    dynamic_user: bool,
    private_mounts: Option<bool>,
    private_network: bool,
    root_directory: Option<String>,
    root_image: Option<String>,
    notify_access: Option<&'static str>,
    delegate: bool,
    device_policy: &'static str,
    /// In list order: systemd prepends, so the last line read comes first.
    device_allow: Vec<DeviceAllow>,
    ip_deny: BTreeSet<Prefix>,
    ip_allow: BTreeSet<Prefix>,
    ip_ingress: Vec<String>,
    ip_egress: Vec<String>,
    default_dependencies: bool,
    mount_images: usize,
    /// Credential id to whether it is encrypted.
    load_credentials: BTreeMap<String, bool>,
    set_credentials: BTreeMap<String, bool>,
}

impl Default for Untyped {
    fn default() -> Untyped {
        Untyped {
            user: None,
            supplementary_groups: Vec::new(),
            dynamic_user: false,
            private_mounts: None,
            private_network: false,
            root_directory: None,
            root_image: None,
            notify_access: None,
            delegate: false,
            device_policy: "auto",
            device_allow: Vec::new(),
            ip_deny: BTreeSet::new(),
            ip_allow: BTreeSet::new(),
            ip_ingress: Vec::new(),
            ip_egress: Vec::new(),
            default_dependencies: true,
            mount_images: 0,
            load_credentials: BTreeMap::new(),
            set_credentials: BTreeMap::new(),
        }
    }
}

/// An address prefix as `in_addr_prefix_add()` stores it (masked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Prefix {
    V4(u32, u8),
    V6(u128, u8),
}

impl Prefix {
    fn masked(self) -> Prefix {
        match self {
            Prefix::V4(a, len) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                Prefix::V4(a & mask, len)
            }
            Prefix::V6(a, len) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                Prefix::V6(a & mask, len)
            }
        }
    }

    fn len(self) -> u8 {
        match self {
            Prefix::V4(_, l) | Prefix::V6(_, l) => l,
        }
    }

    /// `in_addr_is_localhost()`: 127.0.0.0/8 or `::1`.
    fn is_localhost(self) -> bool {
        match self {
            Prefix::V4(a, _) => a >> 24 == 127,
            Prefix::V6(a, _) => a == 1,
        }
    }
}

/// `in_addr_prefix_from_string_auto()` with `PREFIXLEN_FULL`.
fn parse_prefix(word: &str) -> Option<Prefix> {
    let (addr, len) = match word.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (word, None),
    };
    let parse_len = |max: u64| -> Option<u8> {
        match len {
            None => u8::try_from(max).ok(),
            // safe_atou8(): base 0, at most the address size.
            Some(l) => safe_atou(l, 0, AtoFlags::default(), 255)
                .ok()
                .filter(|v| *v <= max)
                .and_then(|v| u8::try_from(v).ok()),
        }
    };
    if let Ok(v4) = addr.parse::<std::net::Ipv4Addr>() {
        return Some(Prefix::V4(u32::from(v4), parse_len(32)?).masked());
    }
    if let Ok(v6) = addr.parse::<std::net::Ipv6Addr>() {
        return Some(Prefix::V6(u128::from(v6), parse_len(128)?).masked());
    }
    None
}

/// `is_localhost()` of `src/basic/hostname-util.c`.
fn is_localhost_name(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    [
        "localhost",
        "localhost.",
        "localhost.localdomain",
        "localhost.localdomain.",
    ]
    .contains(&w.as_str())
        || [
            ".localhost",
            ".localhost.",
            ".localhost.localdomain",
            ".localhost.localdomain.",
        ]
        .iter()
        .any(|s| w.ends_with(s))
}

/// `credential_name_valid()`: a valid file name of at most
/// `NAME_MAX` bytes.
fn credential_name_valid(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && s.len() <= path::NAME_MAX
}

/// `valid_device_node_path()`.
fn valid_device_node_path(p: &str) -> bool {
    (p.starts_with("/dev/") || p.starts_with("/run/systemd/inaccessible/"))
        && !p.ends_with('/')
        && path::is_normalized(p)
}

/// `path_simplify_and_warn(path, 0, …)`: the simplified path, if valid
/// and normalized.
fn simplify_checked(p: &str) -> Option<String> {
    crate::lexer::systemd_utf8(p.as_bytes())?;
    let s = path::simplify(p);
    (path::is_valid(&s, true) && path::is_normalized(&s)).then_some(s)
}

/// `cgroup_device_permissions_from_string()`.
fn device_permissions(s: &str) -> Option<u8> {
    s.bytes().try_fold(0u8, |p, c| match c {
        b'r' => Some(p | 1),
        b'w' => Some(p | 2),
        b'm' => Some(p | 4),
        _ => None,
    })
}

/// `cgroup_device_permissions_to_string()`.
fn permissions_text(p: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [(1, 'r'), (2, 'w'), (4, 'm')] {
        if p & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Whether `s` decodes as base64 the way `unbase64mem()` decodes
/// `SetCredentialEncrypted=` data (whitespace anywhere, `=` padding).
fn is_base64(s: &str) -> bool {
    let body: Vec<u8> = s.bytes().filter(|b| !b" \t\n\r".contains(b)).collect();
    let data_end = body.iter().position(|b| *b == b'=').unwrap_or(body.len());
    let (data, pad) = body.split_at(data_end);
    data.iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        && pad.iter().all(|b| *b == b'=')
        && pad.len() <= 2
        && (data.len() + pad.len()) % 4 == 0
}

/// `service_type_from_string()`.
const SERVICE_TYPES: &[&str] = &[
    "simple",
    "forking",
    "oneshot",
    "dbus",
    "notify",
    "notify-reload",
    "idle",
    "exec",
];

/// `emergency_action_from_string()`: every action, as the system manager
/// takes them.
const EMERGENCY_ACTIONS: &[&str] = &[
    "none",
    "reboot",
    "reboot-force",
    "reboot-immediate",
    "poweroff",
    "poweroff-force",
    "poweroff-immediate",
    "exit",
    "exit-force",
    "soft-reboot",
    "soft-reboot-force",
    "kexec",
    "kexec-force",
    "halt",
    "halt-force",
    "halt-immediate",
];

/// Why systemd 257 refuses the service at load (`service_verify()`, with
/// the automatic `Type=` of `service_add_extras()`, src/core/service.c),
/// as it logs it; `None` when these rules let it load. Emulated: the rules
/// on `ExecStart=`, `ExecStop=`, `SuccessAction=`, `RemainAfterExit=`,
/// `Type=` and `BusName=`, and the automatic type (`dbus` with a bus
/// name, `exec` with credentials, `simple` with `ExecStart=`, else
/// `oneshot`). Not emulated: the command lines' own validity (each
/// non-empty `ExecStart=` counts as one command), the bus name's syntax,
/// `ImportCredential=`, and the `Restart=`, `ExitType=` and
/// `Type=forking` with `PrivatePIDs=` rules.
pub(super) fn service_refusal(e: &Effective) -> Option<&'static str> {
    let mut exec_start = 0usize;
    let mut exec_stop = false;
    let mut service_type: Option<&str> = None;
    let mut bus_name = false;
    let mut success_action = false;
    let mut remain_after_exit = false;
    for a in e.untyped_log() {
        let v = a.value.as_str();
        match (a.section, a.key) {
            ("Service", key::EXEC_START) if v.is_empty() => exec_start = 0,
            ("Service", key::EXEC_START) => exec_start += 1,
            ("Service", key::EXEC_STOP) => exec_stop = !v.is_empty(),
            ("Service", key::TYPE) => {
                if let Some(t) = SERVICE_TYPES.iter().find(|t| **t == v) {
                    service_type = Some(t);
                }
            }
            ("Service", key::BUS_NAME) if !v.is_empty() => bus_name = true,
            ("Unit", key::SUCCESS_ACTION) => {
                if let Some(x) = EMERGENCY_ACTIONS.iter().find(|x| **x == v) {
                    success_action = *x != "none";
                }
            }
            ("Service", key::REMAIN_AFTER_EXIT) => {
                if let Some(b) = parse_boolean(v) {
                    remain_after_exit = b;
                }
            }
            _ => {}
        }
    }
    let u = Untyped::read(e);
    let credentials = !u.load_credentials.is_empty() || !u.set_credentials.is_empty();
    let service_type = service_type.unwrap_or(if bus_name {
        "dbus"
    } else if credentials {
        "exec"
    } else if exec_start > 0 {
        "simple"
    } else {
        "oneshot"
    });
    let oneshot = service_type == "oneshot";
    if exec_start == 0 && !exec_stop && !success_action {
        Some("Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.")
    } else if !oneshot && exec_start == 0 {
        Some(
            "Service has no ExecStart= setting, which is only allowed for Type=oneshot services. \
             Refusing.",
        )
    } else if !remain_after_exit && exec_start == 0 && !success_action {
        Some(
            "Service has no ExecStart= and no SuccessAction= settings and does not have \
             RemainAfterExit=yes set. Refusing.",
        )
    } else if !oneshot && exec_start > 1 {
        Some(
            "Service has more than one ExecStart= setting, which is only allowed for \
             Type=oneshot services. Refusing.",
        )
    } else if service_type == "dbus" && !bus_name {
        Some("Service is of type D-Bus but no D-Bus service name has been specified. Refusing.")
    } else {
        None
    }
}

impl Untyped {
    /// Replays every untyped assignment systemd's parsers read. (Values
    /// that make a parser fail fatally never get here: reading stops at
    /// them, see [`Effective::fatal`]; should one be applied anyway, it is
    /// skipped.)
    fn read(e: &Effective) -> Untyped {
        let mut u = Untyped::default();
        for a in e.untyped_log() {
            let v = a.value.as_str();
            match (a.section, a.key) {
                ("Unit", key::DEFAULT_DEPENDENCIES) => {
                    if let Some(b) = parse_boolean(v) {
                        u.default_dependencies = b;
                    }
                }
                ("Service", key::USER | key::GROUP) => {
                    if v.is_empty() {
                        if a.key == key::USER {
                            u.user = None;
                        }
                        continue;
                    }
                    let Some(k) = e.expand(v) else {
                        continue;
                    };
                    if !crate::systemd::user::valid_user_group_name(&k, true) {
                        continue;
                    }
                    if a.key == key::USER {
                        u.user = Some(k);
                    }
                }
                ("Service", key::SUPPLEMENTARY_GROUPS) => {
                    if v.is_empty() {
                        u.supplementary_groups.clear();
                        continue;
                    }
                    let mut words = Cursor::new(v);
                    while let Ok(Some(w)) = words.next_word(None, Flags::NONE) {
                        match e.expand(&w) {
                            Some(k) if crate::systemd::user::valid_user_group_name(&k, true) => {
                                u.supplementary_groups.push(k);
                            }
                            _ => break,
                        }
                    }
                }
                ("Service", key::DYNAMIC_USER) => {
                    if let Some(b) = parse_boolean(v) {
                        u.dynamic_user = b;
                    }
                }
                ("Service", key::PRIVATE_MOUNTS) => {
                    if v.is_empty() {
                        u.private_mounts = None;
                    } else if let Some(b) = parse_boolean(v) {
                        u.private_mounts = Some(b);
                    }
                }
                ("Service", key::PRIVATE_NETWORK) => {
                    if let Some(b) = parse_boolean(v) {
                        u.private_network = b;
                    }
                }
                ("Service", key::ROOT_DIRECTORY | key::ROOT_IMAGE) => {
                    let value = if v.is_empty() {
                        None
                    } else {
                        match e.expand_path(v).map(|k| path::simplify_absolute(&k, a.key)) {
                            Some(Ok(p)) => Some(p),
                            _ => continue,
                        }
                    };
                    if a.key == key::ROOT_DIRECTORY {
                        u.root_directory = value;
                    } else {
                        u.root_image = value;
                    }
                }
                ("Service", key::NOTIFY_ACCESS) => {
                    if let Some(n) = NOTIFY_ACCESS.iter().find(|n| **n == v) {
                        u.notify_access = Some(n);
                    }
                }
                ("Service", key::DELEGATE) => u.read_delegate(v),
                ("Service", key::DEVICE_POLICY) => {
                    if let Some(p) = DEVICE_POLICIES.iter().find(|p| **p == v) {
                        u.device_policy = p;
                    }
                }
                ("Service", key::DEVICE_ALLOW) => u.read_device_allow(e, v),
                ("Service", key::IP_ADDRESS_DENY) => read_prefixes(&mut u.ip_deny, v),
                ("Service", key::IP_ADDRESS_ALLOW) => read_prefixes(&mut u.ip_allow, v),
                ("Service", key::IP_INGRESS_FILTER_PATH) => {
                    read_filter_path(e, &mut u.ip_ingress, v)
                }
                ("Service", key::IP_EGRESS_FILTER_PATH) => read_filter_path(e, &mut u.ip_egress, v),
                ("Service", key::MOUNT_IMAGES) => u.read_mount_images(e, v),
                ("Service", key::LOAD_CREDENTIAL | key::LOAD_CREDENTIAL_ENCRYPTED) => {
                    u.read_load_credential(e, v, a.key == key::LOAD_CREDENTIAL_ENCRYPTED);
                }
                ("Service", key::SET_CREDENTIAL | key::SET_CREDENTIAL_ENCRYPTED) => {
                    u.read_set_credential(e, v, a.key == key::SET_CREDENTIAL_ENCRYPTED);
                }
                _ => {}
            }
        }
        u
    }

    /// `config_parse_delegate()`: only whether delegation is on matters.
    fn read_delegate(&mut self, v: &str) {
        if v.is_empty() {
            self.delegate = true;
            return;
        }
        match parse_boolean(v) {
            Some(b) => self.delegate = b,
            None => {
                // A controller list turns delegation on, unless its syntax
                // is invalid (then the line is ignored).
                let mut words = Cursor::new(v);
                loop {
                    match words.next_word(None, Flags::UNQUOTE) {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => return,
                    }
                }
                self.delegate = true;
            }
        }
    }

    /// `config_parse_device_allow()`.
    fn read_device_allow(&mut self, e: &Effective, v: &str) {
        if v.is_empty() {
            self.device_allow.clear();
            return;
        }
        let mut words = Cursor::new(v);
        let Ok(Some(word)) = words.next_word(None, Flags::UNQUOTE) else {
            return;
        };
        let Some(mut resolved) = e.expand_path(&word) else {
            return;
        };
        if !(resolved.starts_with("block-") || resolved.starts_with("char-")) {
            let Some(s) = simplify_checked(&resolved) else {
                return;
            };
            if !valid_device_node_path(&s) {
                return;
            }
            resolved = s;
        }
        let rest = words.rest();
        let permissions = if words.is_done() || rest.is_empty() {
            Some(0)
        } else {
            device_permissions(rest)
        };
        let Some(p) = permissions else {
            return;
        };
        self.add_device_allow(&resolved, p);
    }

    /// `cgroup_context_add_device_allow()`: prepends; no permissions means
    /// all of them.
    fn add_device_allow(&mut self, path: &str, permissions: u8) {
        let permissions = if permissions == 0 { 7 } else { permissions };
        self.device_allow.insert(
            0,
            DeviceAllow {
                path: path.to_owned(),
                permissions,
            },
        );
    }

    /// `config_parse_mount_images()`, as far as the checks care: how many
    /// images with an absolute source and destination are listed.
    fn read_mount_images(&mut self, e: &Effective, v: &str) {
        if v.is_empty() {
            self.mount_images = 0;
            return;
        }
        let retain = Flags {
            retain_escape: true,
            ..Flags::UNQUOTE
        };
        let mut tuples = Cursor::new(v);
        loop {
            let tuple = match tuples.next_word(None, retain) {
                Ok(Some(t)) => t,
                Ok(None) | Err(_) => return,
            };
            let mut parts = tuple.splitn(3, ':');
            let source = parts.next().unwrap_or_default();
            let source = source.strip_prefix('-').unwrap_or(source);
            let Some(dest) = parts.next() else {
                continue;
            };
            let absolute = |s: &str| {
                e.expand_path(s)
                    .is_some_and(|k| path::simplify_absolute(&k, key::MOUNT_IMAGES).is_ok())
            };
            if absolute(source) && absolute(dest) {
                self.mount_images += 1;
            }
        }
    }

    /// `config_parse_load_credential()`: credentials by id, the last
    /// assignment of an id winning (with its encryption).
    fn read_load_credential(&mut self, e: &Effective, v: &str, encrypted: bool) {
        if v.is_empty() {
            self.load_credentials.clear();
            return;
        }
        let mut c = Cursor::new(v);
        let Ok(Some(word)) = c.next_word(Some(b":"), Flags::DONT_COALESCE) else {
            return;
        };
        let Some(id) = e.expand(&word) else {
            return;
        };
        if !credential_name_valid(&id) {
            return;
        }
        let rest = c.rest();
        if !c.is_done() && !rest.is_empty() {
            let Some(p) = e.expand_path(rest) else {
                return;
            };
            let ok = if p.starts_with('/') {
                path::is_normalized(&p)
            } else {
                credential_name_valid(&p)
            };
            if !ok {
                return;
            }
        }
        self.load_credentials.insert(id, encrypted);
    }

    /// `config_parse_set_credential()`: as for loading; encrypted data
    /// must be base64.
    fn read_set_credential(&mut self, e: &Effective, v: &str, encrypted: bool) {
        if v.is_empty() {
            self.set_credentials.clear();
            return;
        }
        let mut c = Cursor::new(v);
        let Ok(Some(word)) = c.next_word(Some(b":"), Flags::DONT_COALESCE) else {
            return;
        };
        if c.is_done() {
            return;
        }
        let Some(id) = e.expand(&word) else {
            return;
        };
        if !credential_name_valid(&id) {
            return;
        }
        if encrypted && !is_base64(c.rest()) {
            return;
        }
        self.set_credentials.insert(id, encrypted);
    }
}

/// `config_parse_in_addr_prefixes()` with `AF_UNSPEC`.
fn read_prefixes(set: &mut BTreeSet<Prefix>, v: &str) {
    if v.is_empty() {
        set.clear();
        return;
    }
    let mut words = Cursor::new(v);
    loop {
        let word = match words.next_word(None, Flags::NONE) {
            Ok(Some(w)) => w,
            Ok(None) | Err(_) => return,
        };
        let pair: &[Prefix] = match word.as_str() {
            "any" => &[Prefix::V4(0, 0), Prefix::V6(0, 0)],
            "link-local" => &[Prefix::V4(0xa9fe_0000, 16), Prefix::V6(0xfe80 << 112, 64)],
            "multicast" => &[Prefix::V4(0xe000_0000, 4), Prefix::V6(0xff00 << 112, 8)],
            w if is_localhost_name(w) => &[Prefix::V4(0x7f00_0000, 8), Prefix::V6(1, 128)],
            w => match parse_prefix(w) {
                Some(p) => {
                    set.insert(p);
                    continue;
                }
                None => continue,
            },
        };
        set.extend(pair.iter().copied());
    }
}

/// `config_parse_ip_filter_bpf_progs()`.
fn read_filter_path(e: &Effective, list: &mut Vec<String>, v: &str) {
    if v.is_empty() {
        list.clear();
        return;
    }
    let Some(k) = e.expand_path(v) else {
        return;
    };
    let Ok(p) = path::simplify_absolute(&k, key::IP_INGRESS_FILTER_PATH) else {
        return;
    };
    if !list.contains(&p) {
        list.push(p);
    }
}

/// The unit's id as systemd names it once loaded: the fragment's own
/// name for an alias, with the instance of `name` for a template.
pub(crate) fn unit_id(name: &str, fragment: Option<&str>) -> String {
    let Some(file) = fragment.and_then(|f| f.rsplit('/').next()) else {
        return name.to_owned();
    };
    match crate::load::unit_name_kind(file) {
        Some(crate::load::NameKind::Plain) => file.to_owned(),
        Some(crate::load::NameKind::Template) => match crate::load::instance_name(name) {
            Some(i) => file.replacen("@.", &format!("@{i}."), 1),
            None => name.to_owned(),
        },
        _ => name.to_owned(),
    }
}

/// `user_from_unit_name()`, as far as the checks care: the unit's prefix
/// when it is a valid user name, otherwise a hashed name (which is never
/// `root`, `0` or `nobody`).
fn dynamic_user_name(id: &str) -> String {
    let stem = id.rsplit_once('.').map_or(id, |(s, _)| s);
    let prefix = stem.split_once('@').map_or(stem, |(p, _)| p);
    if crate::systemd::user::valid_user_group_name(prefix, false) {
        prefix.to_owned()
    } else {
        "_du".to_owned()
    }
}

fn flag(e: &Effective, d: Directive) -> bool {
    e.get::<Boolean>(d).copied().flatten().unwrap_or(false)
}

fn keyword(e: &Effective, d: Directive) -> String {
    e.lines(d).into_iter().next().unwrap_or_default()
}

/// Builds what the checks read of unit `id` (as systemd names it) with
/// settings `e`.
pub(crate) fn read<'a>(id: &str, e: &'a Effective) -> Info<'a> {
    let u = Untyped::read(e);

    // The exec context, as parsed.
    let mut user = u.user.clone();
    let mut private_tmp = keyword(e, Directive::PrivateTmp) != "no";
    let mut remove_ipc = flag(e, Directive::RemoveIpc);
    let mut protect_system = keyword(e, Directive::ProtectSystem);
    let mut protect_home = keyword(e, Directive::ProtectHome);
    let mut no_new_privileges = flag(e, Directive::NoNewPrivileges);
    let mut restrict_suid_sgid = flag(e, Directive::RestrictSuidSgid);
    let private_devices = flag(e, Directive::PrivateDevices);
    let protect_clock = flag(e, Directive::ProtectClock);

    // unit_patch_contexts(): the capability drops are already applied by
    // Effective::finish(); DynamicUser= implies a strict sandbox.
    if u.dynamic_user {
        if user.is_none() {
            // The user's name comes from the unit's.
            crate::reads::note(|r| r.name = true);
            user = Some(dynamic_user_name(id));
        }
        private_tmp = true;
        remove_ipc = true;
        protect_system = "strict".to_owned();
        if protect_home == "no" {
            protect_home = "read-only".to_owned();
        }
        no_new_privileges = true;
        restrict_suid_sgid = true;
    }
    let mut device_policy = u.device_policy;
    let mut device_allow = u.device_allow.clone();
    let mut untyped = u;
    if private_devices && device_policy == "auto" {
        device_policy = "closed";
    }
    if device_policy != "auto" || !device_allow.is_empty() {
        if untyped.root_image.is_some() || untyped.mount_images > 0 {
            for p in ["/dev/loop-control", "/dev/mapper/control"] {
                untyped.add_device_allow(p, 3);
            }
            for p in ["block-loop", "block-blkext", "block-device-mapper"] {
                untyped.add_device_allow(p, 7);
            }
        }
        if protect_clock {
            untyped.add_device_allow("char-rtc", 1);
        }
        let encrypted = untyped.load_credentials.values().any(|e| *e)
            || untyped.set_credentials.values().any(|e| *e);
        if encrypted {
            untyped.add_device_allow("char-tpm", 3);
        }
        device_allow = untyped.device_allow.clone();
    }

    let families = e
        .get::<AddressFamilies>(Directive::RestrictAddressFamilies)
        .cloned()
        .unwrap_or_default();
    let allow_list = families.allow_list;
    let (mut inet, mut unix, mut netlink, mut packet, mut other) =
        (allow_list, allow_list, allow_list, allow_list, allow_list);
    for f in families.families.iter().flatten() {
        match f.as_str() {
            "AF_INET" | "AF_INET6" => inet = !allow_list,
            "AF_UNIX" => unix = !allow_list,
            "AF_NETLINK" => netlink = !allow_list,
            "AF_PACKET" => packet = !allow_list,
            _ => other = !allow_list,
        }
    }

    let filter = e
        .get::<SyscallFilter>(Directive::SystemCallFilter)
        .and_then(Option::as_ref);
    let filter_allow_list = filter.is_some_and(|s| s.allow_list);

    let deny_v4 = untyped
        .ip_deny
        .iter()
        .any(|p| matches!(p, Prefix::V4(..)) && p.len() == 0);
    let deny_v6 = untyped
        .ip_deny
        .iter()
        .any(|p| matches!(p, Prefix::V6(..)) && p.len() == 0);

    Info {
        default_dependencies: untyped.default_dependencies,
        notify_access: untyped.notify_access,
        ambient_capabilities: e
            .get::<CapabilityList>(Directive::AmbientCapabilities)
            .copied()
            .unwrap_or(0),
        capability_bounding_set: e
            .get::<CapabilityList>(Directive::CapabilityBoundingSet)
            .copied()
            .unwrap_or(u64::MAX),
        user,
        supplementary_groups: untyped.supplementary_groups.clone(),
        dynamic_user: untyped.dynamic_user,
        ip_address_deny_all: deny_v4 && deny_v6,
        ip_address_allow_localhost: untyped.ip_allow.iter().any(|p| p.is_localhost()),
        ip_address_allow_other: untyped.ip_allow.iter().any(|p| !p.is_localhost()),
        ip_filters_custom_ingress: !untyped.ip_ingress.is_empty(),
        ip_filters_custom_egress: !untyped.ip_egress.is_empty(),
        keyring_mode: keyword(e, Directive::KeyringMode),
        protect_proc: keyword(e, Directive::ProtectProc),
        proc_subset: keyword(e, Directive::ProcSubset),
        lock_personality: flag(e, Directive::LockPersonality),
        memory_deny_write_execute: flag(e, Directive::MemoryDenyWriteExecute),
        no_new_privileges,
        protect_hostname: flag(e, Directive::ProtectHostname),
        private_devices,
        // The exec context's tristate, copied into a bool: unset is true.
        private_mounts: untyped.private_mounts.unwrap_or(true),
        private_network: untyped.private_network,
        private_tmp,
        private_users: keyword(e, Directive::PrivateUsers) != "no",
        protect_control_groups: keyword(e, Directive::ProtectControlGroups) != "no",
        protect_kernel_modules: flag(e, Directive::ProtectKernelModules),
        protect_kernel_tunables: flag(e, Directive::ProtectKernelTunables),
        protect_kernel_logs: flag(e, Directive::ProtectKernelLogs),
        protect_clock,
        protect_home,
        protect_system,
        remove_ipc,
        restrict_address_family_inet: inet,
        restrict_address_family_unix: unix,
        restrict_address_family_netlink: netlink,
        restrict_address_family_packet: packet,
        restrict_address_family_other: other,
        restrict_namespaces: e
            .get::<RestrictNamespaces>(Directive::RestrictNamespaces)
            .copied()
            .flatten()
            .unwrap_or(u64::MAX),
        restrict_realtime: flag(e, Directive::RestrictRealtime),
        restrict_suid_sgid,
        root_directory: untyped.root_directory.clone(),
        root_image: untyped.root_image.clone(),
        delegate: untyped.delegate,
        device_policy,
        device_allow: device_allow
            .iter()
            .map(|d| format!("{}:{}", d.path, permissions_text(d.permissions)))
            .collect(),
        system_call_architectures: e
            .get::<ArchList>(Directive::SystemCallArchitectures)
            .cloned()
            .unwrap_or_default(),
        system_call_filter_allow_list: filter_allow_list,
        system_call_filter: filter,
        umask: e
            .get::<UMask>(Directive::UMask)
            .copied()
            .flatten()
            .unwrap_or(0o022),
    }
}
