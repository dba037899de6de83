//! Capabilities, errno names, address families (made at build time from
//! the build host's headers), the architectures `SystemCallArchitectures=`
//! accepts and the namespace names.

use std::fmt::Write as _;

use crate::cpp::Cpp;
use crate::emit::{doc, header, lit, str_slice, wrapped};
use crate::syscalls::{Group, expand};
use crate::text::{self, balanced, c_strings, split_top_level, strip_comments};
use crate::{Error, Result, Source};

const SECCOMP_C: &str = "src/shared/seccomp-util.c";
const NAMESPACE_C: &str = "src/basic/namespace-util.c";
const CAP_SH: &str = "src/basic/generate-cap-list.sh";
const ERRNO_SH: &str = "src/basic/generate-errno-list.sh";
const AF_SH: &str = "src/basic/generate-af-list.sh";
const MISSING_CAP: &str = "src/basic/missing_capability.h";
const MISSING_SOCKET: &str = "src/basic/missing_socket.h";
const CAP_LIST_C: &str = "src/basic/cap-list.c";

/// What systemd's `config.h` contributes to the header runs: it is a build
/// product, not in the source; `_GNU_SOURCE` is the only macro of it the
/// headers read (`conf.set('_GNU_SOURCE', 1)` in meson.build).
const CONFIG_H: &str = "#define _GNU_SOURCE 1\n";

/// An architecture `SystemCallArchitectures=` accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Architecture {
    /// The name, e.g. `x86-64`.
    pub name: String,
    /// libseccomp's constant, e.g. `SCMP_ARCH_X86_64`.
    pub scmp: String,
    /// The `#ifdef` it is under (libseccomp version dependent), if any.
    pub condition: Option<String>,
}

/// A namespace of `namespace_info[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The name `RestrictNamespaces=` uses, e.g. `mnt`.
    pub name: String,
    /// The path below `/proc/PID/`, e.g. `ns/mnt`.
    pub proc_path: String,
    /// The clone flag's name, e.g. `CLONE_NEWNS`.
    pub clone_flag: String,
    /// Its value, from `<linux/sched.h>`.
    pub value: u64,
}

/// Every name table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// (upper-case name, number), by number.
    pub capabilities: Vec<(String, u32)>,
    /// (name, number), by number then name; aliases included.
    pub errnos: Vec<(String, u32)>,
    /// (name, number), by number then name; aliases included.
    pub address_families: Vec<(String, u32)>,
    /// In `seccomp_arch_from_string()`'s order, `native` excluded.
    pub architectures: Vec<Architecture>,
    /// In `namespace_info[]` order.
    pub namespaces: Vec<Namespace>,
}

/// Reads every name table.
pub(crate) fn read(s: &Source) -> Result<Names> {
    check_scripts(s)?;
    let dirs = vec![
        s.headers.join("usr/include/x86_64-linux-gnu"),
        s.headers.join("usr/include"),
    ];
    let missing_cap = s.root.join(MISSING_CAP);
    let missing_socket = s.root.join(MISSING_SOCKET);

    // generate-cap-list.sh: cpp -dM -include linux/capability.h
    //   -include config.h -include missing_capability.h
    let mut cpp = Cpp::new(dirs.clone());
    cpp.include_system("linux/capability.h")?;
    cpp.text("config.h", CONFIG_H)?;
    cpp.include_path(&missing_cap)?;
    let mut capabilities = Vec::new();
    for (name, m) in cpp.macros() {
        let line = m.dm_line(name);
        // awk '/^#define[ \t]+CAP_[A-Z_]+[ \t]+/ { print $2; }' | grep -v CAP_LAST_CAP
        let cap_name = name.strip_prefix("CAP_").is_some_and(|r| {
            !r.is_empty() && r.bytes().all(|c| c.is_ascii_uppercase() || c == b'_')
        });
        if cap_name && m.params.is_none() && !m.body.is_empty() && !line.contains("CAP_LAST_CAP") {
            let v = value(&cpp, name, CAP_SH)?;
            capabilities.push((name.clone(), v));
        }
    }
    capabilities.sort_by_key(|(n, v)| (*v, n.clone()));
    let limit = cap_limit(s)?;
    if capabilities.iter().any(|(_, v)| *v > limit)
        || capabilities
            .iter()
            .enumerate()
            .any(|(i, (_, v))| *v as usize != i)
    {
        return Err(Error::shape(
            CAP_SH,
            "capability list",
            "the numbers are not 0, 1, 2, ... up to CAP_LIMIT",
        ));
    }

    // generate-errno-list.sh: cpp -dM -include errno.h, minus the parisc
    // aliases, then awk '/^#define[ \t]+E[^ _]+[ \t]+/ { print $2; }'
    let mut cpp = Cpp::new(dirs.clone());
    cpp.include_system("errno.h")?;
    let mut errnos = Vec::new();
    for (name, m) in cpp.macros() {
        let dropped = ["ECANCELLED", "EREFUSED", "EFSBADCRC", "EFSCORRUPTED"]
            .iter()
            .any(|d| name.starts_with(d));
        let shape = name
            .strip_prefix('E')
            .is_some_and(|r| !r.is_empty() && !r.contains('_'));
        if shape && !dropped && m.params.is_none() && !m.body.is_empty() {
            errnos.push((name.clone(), value(&cpp, name, ERRNO_SH)?));
        }
    }
    errnos.sort_by_key(|(n, v)| (*v, n.clone()));

    // generate-af-list.sh: cpp -E -dM -include sys/socket.h -include config.h
    //   -include missing_socket.h | grep -Ev 'AF_UNSPEC|AF_MAX'
    //   | awk '/^#define[ \t]+AF_[^ \t]+[ \t]+[AP]F_[^ \t]/ { print $2; }'
    let mut cpp = Cpp::new(dirs.clone());
    cpp.include_system("sys/socket.h")?;
    cpp.text("config.h", CONFIG_H)?;
    cpp.include_path(&missing_socket)?;
    let mut address_families = Vec::new();
    for (name, m) in cpp.macros() {
        let line = m.dm_line(name);
        if line.contains("AF_UNSPEC") || line.contains("AF_MAX") {
            continue;
        }
        let body_ok = (m.body.starts_with("AF_") || m.body.starts_with("PF_")) && m.body.len() > 3;
        if name.starts_with("AF_") && name.len() > 3 && m.params.is_none() && body_ok {
            address_families.push((name.clone(), value(&cpp, name, AF_SH)?));
        }
    }
    address_families.sort_by_key(|(n, v)| (*v, n.clone()));

    let architectures = architectures(s)?;

    let mut cpp = Cpp::new(dirs);
    cpp.include_system("linux/sched.h")?;
    let namespaces = namespaces(s, &cpp)?;

    for (what, list) in [
        ("capabilities", capabilities.len()),
        ("errno names", errnos.len()),
        ("address families", address_families.len()),
    ] {
        if list == 0 {
            return Err(Error::shape("headers", what, "none found"));
        }
    }
    Ok(Names {
        capabilities,
        errnos,
        address_families,
        architectures,
        namespaces,
    })
}

/// The scripts this module emulates must still be the ones it emulates.
fn check_scripts(s: &Source) -> Result<()> {
    for (file, needle) in [
        (
            CAP_SH,
            "${1:?} -dM -include linux/capability.h -include \"${2:?}\" -include \"${3:?}\" - </dev/null | \\\n       awk '/^#define[ \\t]+CAP_[A-Z_]+[ \\t]+/ { print $2; }' | \\\n       grep -v CAP_LAST_CAP",
        ),
        (
            ERRNO_SH,
            "${1:?} -dM -include errno.h - </dev/null | \\\n       grep -Ev '^#define[[:space:]]+(ECANCELLED|EREFUSED|EFSBADCRC|EFSCORRUPTED)' | \\\n       awk '/^#define[ \\t]+E[^ _]+[ \\t]+/ { print $2; }'",
        ),
        (
            AF_SH,
            "${1:?} -E -dM -include sys/socket.h -include \"${2:?}\" -include \"${3:?}\" - </dev/null | \\\n       grep -Ev 'AF_UNSPEC|AF_MAX' | \\\n       awk '/^#define[ \\t]+AF_[^ \\t]+[ \\t]+[AP]F_[^ \\t]/ { print $2; }'",
        ),
    ] {
        if !text::read(s.root, file)?.contains(needle) {
            return Err(Error::shape(
                file,
                "the pipeline",
                "changed: update the emulation in crates/systemd-tables/src/names.rs",
            ));
        }
    }
    Ok(())
}

fn value(cpp: &Cpp, name: &str, file: &str) -> Result<u32> {
    cpp.value(name)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| Error::shape(file, name, "not an integer constant in the headers"))
}

/// `CAP_LIMIT` of `src/basic/capability-util.h` (the highest number
/// `capability_list_length()` allows).
fn cap_limit(s: &Source) -> Result<u32> {
    let file = "src/basic/capability-util.h";
    let t = text::read(s.root, file)?;
    // cap-list.c must still build its list from the generated headers.
    let c = text::read(s.root, CAP_LIST_C)?;
    if !c.contains("#include \"cap-to-name.h\"")
        || !c.contains("MIN((int) ELEMENTSOF(capability_names), CAP_LIMIT + 1)")
    {
        return Err(Error::shape(
            CAP_LIST_C,
            "capability_list_length()",
            "changed shape",
        ));
    }
    t.lines()
        .find_map(|l| l.trim().strip_prefix("#define CAP_LIMIT"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::shape(file, "CAP_LIMIT", "not found"))
}

fn architectures(s: &Source) -> Result<Vec<Architecture>> {
    let what = "seccomp_arch_from_string()";
    let c = strip_comments(&text::read(s.root, SECCOMP_C)?);
    let body = text::function_body(&c, "seccomp_arch_from_string")
        .ok_or_else(|| Error::shape(SECCOMP_C, what, "not found"))?;
    let mut out = Vec::new();
    let mut cond: Option<String> = None;
    let mut pending: Option<String> = None;
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(c) = line.strip_prefix("#ifdef ") {
            cond = Some(c.trim().to_owned());
        } else if line == "#endif" {
            cond = None;
        } else if let Some(rest) = line
            .strip_prefix("if (streq(n, ")
            .or_else(|| line.strip_prefix("else if (streq(n, "))
        {
            let lit = rest
                .strip_suffix("))")
                .ok_or_else(|| Error::shape(SECCOMP_C, what, format!("unexpected {line:?}")))?;
            pending = Some(c_strings(lit, SECCOMP_C, what)?);
        } else if let Some(rest) = line.strip_prefix("*ret = ") {
            let scmp = rest
                .strip_suffix(';')
                .filter(|r| r.starts_with("SCMP_ARCH_"))
                .ok_or_else(|| Error::shape(SECCOMP_C, what, format!("unexpected {line:?}")))?;
            let name = pending
                .take()
                .ok_or_else(|| Error::shape(SECCOMP_C, what, "assignment without a name"))?;
            if name != "native" {
                out.push(Architecture {
                    name,
                    scmp: scmp.to_owned(),
                    condition: cond.clone(),
                });
            }
        } else if !matches!(
            line,
            "if (!n)" | "return -EINVAL;" | "assert(ret);" | "else" | "return 0;"
        ) {
            return Err(Error::shape(
                SECCOMP_C,
                what,
                format!("unexpected {line:?}"),
            ));
        }
    }
    if out.is_empty() {
        return Err(Error::shape(SECCOMP_C, what, "no architectures"));
    }
    Ok(out)
}

fn namespaces(s: &Source, cpp: &Cpp) -> Result<Vec<Namespace>> {
    let what = "namespace_info[]";
    let c = strip_comments(&text::read(s.root, NAMESPACE_C)?);
    let decl = "const struct namespace_info namespace_info[_NAMESPACE_TYPE_MAX + 1] =";
    let at = c
        .find(decl)
        .ok_or_else(|| Error::shape(NAMESPACE_C, what, "declaration not found"))?;
    let open = at + c[at..].find('{').unwrap_or(0);
    let (body, _) = balanced(&c, open, NAMESPACE_C, what)?;
    let mut out = Vec::new();
    for entry in split_top_level(body) {
        let rest = match entry.strip_prefix('[') {
            Some(r) => r
                .split_once('=')
                .map(|(_, r)| r.trim())
                .ok_or_else(|| Error::shape(NAMESPACE_C, what, "designator without ="))?,
            None => entry,
        };
        let (inner, _) = balanced(rest, 0, NAMESPACE_C, what)?;
        let fields = split_top_level(inner);
        if fields.is_empty() {
            continue; // the terminating { }
        }
        let [name, path, flag, _inode] = fields[..] else {
            return Err(Error::shape(NAMESPACE_C, what, format!("entry {entry:?}")));
        };
        let value = cpp
            .value(flag)
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| Error::shape("linux/sched.h", flag, "not defined"))?;
        out.push(Namespace {
            name: c_strings(name, NAMESPACE_C, what)?,
            proc_path: c_strings(path, NAMESPACE_C, what)?,
            clone_flag: flag.to_owned(),
            value,
        });
    }
    Ok(out)
}

fn pairs(list: &[(String, u32)], lower: bool) -> Vec<String> {
    list.iter()
        .map(|(n, v)| {
            let n = if lower { n.to_lowercase() } else { n.clone() };
            format!("({}, {v})", lit(&n))
        })
        .collect()
}

/// `names.rs`.
pub(crate) fn emit(s: &Source, n: &Names) -> String {
    let mut out = header(
        "Capability, errno, address family, architecture and namespace names of systemd 257.",
        &s.version,
        &[
            CAP_SH,
            ERRNO_SH,
            AF_SH,
            MISSING_CAP,
            MISSING_SOCKET,
            CAP_LIST_C,
            SECCOMP_C,
            NAMESPACE_C,
        ],
        &[
            "The capability, errno and address family lists are made by systemd's build from \
             the build host's headers; they were made the same way from Debian trixie's amd64 \
             linux-libc-dev and libc6-dev (`scripts/systemd-source ensure` fetches them).",
        ],
    );
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub(crate) const CAPABILITY_NUMBERS: &[(&str, u32)] = &[\n{}];\n\n",
        doc(
            "Every capability systemd 257 knows, as `capability_names[]` lists it (lower-case, \
             by number). Names are parsed case-insensitively; numbers 0..=62 are accepted too.",
            0
        ),
        wrapped(&pairs(&n.capabilities, true), 4)
    );
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub(crate) const ERRNO_NUMBERS: &[(&str, u32)] = &[\n{}];\n\n",
        doc(
            "Every errno name systemd 257 parses (aliases such as `EWOULDBLOCK` included), by \
             number then name.",
            0
        ),
        wrapped(&pairs(&n.errnos, false), 4)
    );
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub(crate) const ADDRESS_FAMILY_NUMBERS: &[(&str, u32)] = &[\n{}];\n\n",
        doc(
            "Every address family name systemd 257 parses (aliases such as `AF_LOCAL` \
             included), by number then name.",
            0
        ),
        wrapped(&pairs(&n.address_families, false), 4)
    );
    out.push_str(
        "/// An architecture `SystemCallArchitectures=` accepts.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) struct SeccompArchitecture {\n\
         \x20   /// The name.\n\
         \x20   pub(crate) name: &'static str,\n\
         \x20   /// libseccomp's constant.\n\
         \x20   pub(crate) scmp: &'static str,\n\
         \x20   /// Accepted only if libseccomp defines this constant.\n\
         \x20   pub(crate) needs: Option<&'static str>,\n\
         }\n\n",
    );
    out.push_str(&doc(
        "The names `seccomp_arch_from_string()` accepts, in its order; `native` is accepted too.",
        0,
    ));
    out.push_str(
        "#[rustfmt::skip]\npub(crate) const SECCOMP_ARCHITECTURES: &[SeccompArchitecture] = &[\n",
    );
    for a in &n.architectures {
        let needs = a
            .condition
            .as_deref()
            .map_or("None".to_owned(), |c| format!("Some({})", lit(c)));
        let _ = writeln!(
            out,
            "    SeccompArchitecture {{ name: {}, scmp: {}, needs: {needs} }},",
            lit(&a.name),
            lit(&a.scmp)
        );
    }
    out.push_str("];\n\n");
    out.push_str(
        "/// A namespace type.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) struct NamespaceInfo {\n\
         \x20   /// The name `RestrictNamespaces=` uses.\n\
         \x20   pub(crate) name: &'static str,\n\
         \x20   /// The path below `/proc/PID/`.\n\
         \x20   pub(crate) proc_path: &'static str,\n\
         \x20   /// The clone flag's name.\n\
         \x20   pub(crate) clone_flag: &'static str,\n\
         \x20   /// The clone flag's value.\n\
         \x20   pub(crate) value: u64,\n\
         }\n\n",
    );
    out.push_str(&doc("`namespace_info[]`, in order.", 0));
    out.push_str("#[rustfmt::skip]\npub(crate) const NAMESPACES: &[NamespaceInfo] = &[\n");
    for ns in &n.namespaces {
        let _ = writeln!(
            out,
            "    NamespaceInfo {{ name: {}, proc_path: {}, clone_flag: {}, value: {:#x} }},",
            lit(&ns.name),
            lit(&ns.proc_path),
            lit(&ns.clone_flag),
            ns.value
        );
    }
    out.push_str("];\n");
    out
}

/// `known.rs`: the shapes `dropin::names` has always exposed.
pub(crate) fn emit_known(s: &Source, groups: &[Group], n: &Names) -> String {
    let mut out = header(
        "Names systemd 257 knows, in the shapes `dropin::names` exposes (sorted).",
        &s.version,
        &[
            SECCOMP_C,
            "src/basic/syscall-list.txt",
            CAP_SH,
            ERRNO_SH,
            AF_SH,
        ],
        &["Derived from the other generated tables: see syscalls.rs and names.rs."],
    );
    let mut sorted: Vec<&Group> = groups.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    out.push_str(&doc(
        "Every system call group (sorted by name) with its members (sorted): system call names \
         and nested `@group` names.",
        0,
    ));
    out.push_str("#[rustfmt::skip]\npub const SYSCALL_GROUPS: &[(&str, &[&str])] = &[\n");
    for g in sorted {
        let mut m: Vec<&str> = g.members.iter().map(String::as_str).collect();
        m.sort_unstable();
        m.dedup();
        let _ = writeln!(
            out,
            "    ({}, {}),",
            lit(&g.name),
            str_slice(&m, 8 + g.name.len() + 4, 4)
        );
    }
    out.push_str("];\n\n");
    let syscalls: Vec<String> = expand(groups, "@known").iter().map(|s| lit(s)).collect();
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub const SYSCALLS: &[&str] = &[\n{}];\n\n",
        doc(
            "Every system call name in `@known` (nested `@obsolete` expanded), sorted.",
            0
        ),
        wrapped(&syscalls, 4)
    );
    let mut caps: Vec<String> = n.capabilities.iter().map(|(c, _)| c.clone()).collect();
    caps.sort();
    let caps: Vec<String> = caps.iter().map(|c| lit(c)).collect();
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub const CAPABILITIES: &[&str] = &[\n{}];\n\n",
        doc(
            "Every capability name systemd 257 knows, upper-case, sorted.",
            0
        ),
        wrapped(&caps, 4)
    );
    let mut arches: Vec<String> = n.architectures.iter().map(|a| a.name.clone()).collect();
    arches.sort();
    let arches: Vec<String> = arches.iter().map(|a| lit(a)).collect();
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub const ARCHITECTURES: &[&str] = &[\n{}];\n\n",
        doc(
            "Every architecture `SystemCallArchitectures=` accepts, sorted; `native` is \
             accepted too but is not listed.",
            0
        ),
        wrapped(&arches, 4)
    );
    let mut afs: Vec<String> = n.address_families.iter().map(|(a, _)| a.clone()).collect();
    afs.sort();
    let afs: Vec<String> = afs.iter().map(|a| lit(a)).collect();
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub const ADDRESS_FAMILIES: &[&str] = &[\n{}];\n\n",
        doc(
            "Every address family name `RestrictAddressFamilies=` accepts, sorted.",
            0
        ),
        wrapped(&afs, 4)
    );
    let mut errs: Vec<String> = n.errnos.iter().map(|(e, _)| e.clone()).collect();
    errs.sort();
    let errs: Vec<String> = errs.iter().map(|e| lit(e)).collect();
    let _ = write!(
        out,
        "{}#[rustfmt::skip]\npub const ERRNO_NAMES: &[&str] = &[\n{}];\n",
        doc(
            "Every errno name `SystemCallErrorNumber=` accepts, sorted; `kill` is accepted too \
             but is not listed.",
            0
        ),
        wrapped(&errs, 4)
    );
    out
}
