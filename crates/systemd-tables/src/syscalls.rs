//! System call groups (`syscall_filter_sets[]`), the `@known` list and the
//! per-architecture system call numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use crate::emit::{Field, FieldKind, Texts, doc, header, slice, span_struct, wrapped};
use crate::text::{self, balanced, c_strings, split_top_level, strip_comments};
use crate::{Error, Result, Source};

const SECCOMP_C: &str = "src/shared/seccomp-util.c";
const SECCOMP_H: &str = "src/shared/seccomp-util.h";
const SYSCALL_LIST: &str = "src/basic/syscall-list.txt";

/// One `@group` of `syscall_filter_sets[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `@name`.
    pub name: String,
    /// The help text `systemd-analyze syscall-filter` prints.
    pub help: String,
    /// Members in source order: system call names and nested `@groups`.
    pub members: Vec<String>,
}

/// The architectures whose numbers are generated: (systemd's file suffix,
/// Rust constant name, `SystemCallArchitectures=` name).
pub(crate) const ARCHES: &[(&str, &str, &str)] = &[
    ("x86_64", "X86_64", "x86-64"),
    ("i386", "X86", "x86"),
    ("arm64", "ARM64", "arm64"),
];

/// The system call names of `src/basic/syscall-list.txt`, in order.
pub(crate) fn known_list(src: &Path) -> Result<Vec<String>> {
    let text = text::read(src, SYSCALL_LIST)?;
    let mut names = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let name = line.trim();
        if name.is_empty() || !name.bytes().all(text::is_ident) {
            return Err(Error::shape(
                SYSCALL_LIST,
                format!("line {}", i + 1),
                format!("not a system call name: {line:?}"),
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// The groups of `syscall_filter_sets[]` in array order (the order of the
/// `SYSCALL_FILTER_SET_*` enum), with `@known` built like systemd's build
/// does: `@obsolete` followed by every line of `syscall-list.txt`
/// (`generate-syscall-list.py` turns each line into a `"name\0"` literal
/// that the table `#include`s).
pub fn groups(src: &Path) -> Result<Vec<Group>> {
    let order = enum_members(
        &strip_comments(&text::read(src, SECCOMP_H)?),
        "_SYSCALL_FILTER_SET_MAX",
        SECCOMP_H,
    )?;
    let known = known_list(src)?;
    let c = strip_comments(&text::read(src, SECCOMP_C)?);
    let decl = "const SyscallFilterSet syscall_filter_sets[_SYSCALL_FILTER_SET_MAX] =";
    let what = "syscall_filter_sets[]";
    let at = c
        .find(decl)
        .ok_or_else(|| Error::shape(SECCOMP_C, what, "declaration not found"))?;
    let open = at
        + c[at..]
            .find('{')
            .ok_or_else(|| Error::shape(SECCOMP_C, what, "no initializer"))?;
    let (body, _) = balanced(&c, open, SECCOMP_C, what)?;
    // The only preprocessor line the table may hold is @known's include.
    let include: String = known.iter().map(|n| format!("\"{n}\\0\"\n")).collect();
    let mut expanded = String::new();
    for line in body.lines() {
        let t = line.trim();
        if t == "#include \"syscall-list.h\"" {
            expanded.push_str(&include);
        } else if t.starts_with('#') {
            return Err(Error::shape(
                SECCOMP_C,
                what,
                format!("unexpected preprocessor line {t:?}"),
            ));
        } else {
            expanded.push_str(line);
            expanded.push('\n');
        }
    }
    let mut by_index: BTreeMap<usize, Group> = BTreeMap::new();
    for entry in split_top_level(&expanded) {
        let (designator, fields) = designated(entry, SECCOMP_C, what)?;
        let designator = designator
            .ok_or_else(|| Error::shape(SECCOMP_C, what, "entry without [designator]"))?;
        let index = order.iter().position(|e| *e == designator).ok_or_else(|| {
            Error::shape(SECCOMP_C, what, format!("unknown designator {designator}"))
        })?;
        let ctx = format!("{what} [{designator}]");
        let mut name = None;
        let mut help = None;
        let mut value = None;
        for (field, expr) in fields {
            match field.as_str() {
                "name" => name = Some(c_strings(&expr, SECCOMP_C, &ctx)?),
                "help" => help = Some(c_strings(&expr, SECCOMP_C, &ctx)?),
                "value" => value = Some(c_strings(&expr, SECCOMP_C, &ctx)?),
                other => {
                    return Err(Error::shape(
                        SECCOMP_C,
                        &ctx,
                        format!("unknown field .{other}"),
                    ));
                }
            }
        }
        let (Some(name), Some(help), Some(value)) = (name, help, value) else {
            return Err(Error::shape(
                SECCOMP_C,
                &ctx,
                "missing .name, .help or .value",
            ));
        };
        let Some(list) = value.strip_suffix('\0') else {
            return Err(Error::shape(SECCOMP_C, &ctx, ".value does not end in \\0"));
        };
        let members: Vec<String> = list.split('\0').map(str::to_owned).collect();
        if members.iter().any(String::is_empty) || !name.starts_with('@') {
            return Err(Error::shape(
                SECCOMP_C,
                &ctx,
                "empty member or name without @",
            ));
        }
        if by_index
            .insert(
                index,
                Group {
                    name,
                    help,
                    members,
                },
            )
            .is_some()
        {
            return Err(Error::shape(SECCOMP_C, &ctx, "designator used twice"));
        }
    }
    if by_index.len() != order.len() {
        return Err(Error::shape(
            SECCOMP_C,
            what,
            format!("{} entries for {} enum values", by_index.len(), order.len()),
        ));
    }
    let groups: Vec<Group> = by_index.into_values().collect();
    for g in &groups {
        for m in g.members.iter().filter(|m| m.starts_with('@')) {
            if !groups.iter().any(|h| h.name == *m) {
                return Err(Error::shape(
                    SECCOMP_C,
                    format!("{what} {}", g.name),
                    format!("nested group {m} does not exist"),
                ));
            }
        }
    }
    Ok(groups)
}

/// Every system call name a group expands to (nested groups followed).
pub fn expand<'a>(groups: &'a [Group], name: &str) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    let mut todo = vec![name.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(g) = todo.pop() {
        if !seen.insert(g.clone()) {
            continue;
        }
        if let Some(group) = groups.iter().find(|x| x.name == g) {
            for m in &group.members {
                if m.starts_with('@') {
                    todo.push(m.clone());
                } else {
                    out.insert(m.as_str());
                }
            }
        }
    }
    out
}

/// The members of the enum whose last member is `last` (which is not
/// included), in order.
pub(crate) fn enum_members(text: &str, last: &str, file: &str) -> Result<Vec<String>> {
    let what = format!("enum ending in {last}");
    let at = text
        .find(&format!("{last},"))
        .or_else(|| text.find(last))
        .ok_or_else(|| Error::shape(file, &what, "not found"))?;
    let open = text[..at]
        .rfind('{')
        .ok_or_else(|| Error::shape(file, &what, "no opening brace"))?;
    let (body, _) = balanced(text, open, file, &what)?;
    let mut out = Vec::new();
    for item in split_top_level(body) {
        if item.contains('=') {
            return Err(Error::shape(
                file,
                &what,
                format!("explicit value in {item:?}"),
            ));
        }
        if item == last {
            return Ok(out);
        }
        out.push(item.to_owned());
    }
    Err(Error::shape(file, &what, "terminator not found"))
}

/// The `.field = expr` pairs of an initializer, in order.
pub(crate) type Fields = Vec<(String, String)>;

/// Splits `[DESIGNATOR] = { .field = expr, ... }` (the designator is
/// optional) into the designator and the fields.
pub(crate) fn designated(entry: &str, file: &str, what: &str) -> Result<(Option<String>, Fields)> {
    let entry = entry.trim();
    let (designator, rest) = if let Some(r) = entry.strip_prefix('[') {
        let close = r
            .find(']')
            .ok_or_else(|| Error::shape(file, what, "unclosed designator"))?;
        let rest = r[close + 1..].trim_start();
        let rest = rest
            .strip_prefix('=')
            .ok_or_else(|| Error::shape(file, what, "designator without ="))?;
        (Some(r[..close].trim().to_owned()), rest.trim())
    } else {
        (None, entry)
    };
    if !rest.starts_with('{') {
        return Err(Error::shape(
            file,
            what,
            format!("expected {{ in {entry:?}"),
        ));
    }
    let (body, end) = balanced(rest, 0, file, what)?;
    if !rest[end..].trim().is_empty() {
        return Err(Error::shape(file, what, "text after the entry"));
    }
    let mut fields = Vec::new();
    for f in split_top_level(body) {
        let Some(f) = f.strip_prefix('.') else {
            return Err(Error::shape(file, what, format!("positional field {f:?}")));
        };
        let (name, expr) = f
            .split_once('=')
            .ok_or_else(|| Error::shape(file, what, format!("field without = {f:?}")))?;
        fields.push((name.trim().to_owned(), expr.trim().to_owned()));
    }
    Ok((designator, fields))
}

/// One architecture's numbers from `src/basic/syscalls-<arch>.txt`.
pub(crate) struct Numbers {
    pub(crate) by_name: Vec<(String, u32)>,
    pub(crate) missing: Vec<String>,
}

/// Reads `syscalls-<arch>.txt`: every name of `syscall-list.txt`, in the
/// same order, each with a number or none.
pub(crate) fn numbers(src: &Path, arch: &str, known: &[String]) -> Result<Numbers> {
    let file = format!("src/basic/syscalls-{arch}.txt");
    let text = text::read(src, &file)?;
    let mut by_name = Vec::new();
    let mut missing = Vec::new();
    let mut names = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut cols = line.split_whitespace();
        let (Some(name), number, None) = (cols.next(), cols.next(), cols.next()) else {
            return Err(Error::shape(
                &file,
                format!("line {}", i + 1),
                "not `name [number]`",
            ));
        };
        names.push(name.to_owned());
        match number {
            Some(n) => {
                let n: u32 = n.parse().map_err(|_| {
                    Error::shape(
                        &file,
                        format!("line {}", i + 1),
                        format!("bad number {n:?}"),
                    )
                })?;
                by_name.push((name.to_owned(), n));
            }
            None => missing.push(name.to_owned()),
        }
    }
    if names != known {
        return Err(Error::shape(
            &file,
            "names",
            format!("the names differ from {SYSCALL_LIST}"),
        ));
    }
    by_name.sort();
    missing.sort();
    Ok(Numbers { by_name, missing })
}

/// Refuses what `SYSCALL_GROUP_CALLS` cannot express: a `known` list
/// that is not strictly ascending (positions would not sort as names), or
/// more than `u16` holds.
pub(crate) fn check_positions(known: &[String]) -> Result<()> {
    if !known.windows(2).all(|w| w[0] < w[1]) || known.len() >= usize::from(u16::MAX) {
        return Err(Error::shape(
            SYSCALL_LIST,
            "names",
            "not strictly ascending, or too many for u16 positions",
        ));
    }
    Ok(())
}

/// `syscalls.rs`: the groups and `@known`.
pub(crate) fn emit_groups(s: &Source, groups: &[Group], known: &[String]) -> String {
    let mut out = header(
        "System call groups of `SystemCallFilter=` and the `@known` list.",
        &s.version,
        &[SECCOMP_C, SECCOMP_H, SYSCALL_LIST],
        &[
            "Groups are in the order of systemd's array (the order `systemd-analyze \
           syscall-filter` prints them), members in source order.",
        ],
    );
    out.push_str("use crate::span::Span;\n\n");
    out.push_str(&span_struct(
        "SyscallGroup",
        "One system call group of `SystemCallFilter=`.",
        &[
            Field {
                name: "name",
                doc: "The `@name`.",
                kind: FieldKind::Text,
            },
            Field {
                name: "help",
                doc: "The help text `systemd-analyze syscall-filter` prints.",
                kind: FieldKind::Text,
            },
            Field {
                name: "members",
                doc: "System call names and nested `@groups`, in source order.",
                kind: FieldKind::TextSlice,
            },
        ],
    ));
    let mut texts = Texts::default();
    out.push_str(&doc(
        "Every system call group systemd 257 knows, in its array order.",
        0,
    ));
    out.push_str("#[rustfmt::skip]\npub(crate) const SYSCALL_FILTER_SETS: &[SyscallGroup] = &[\n");
    for g in groups {
        let members: Vec<String> = g.members.iter().map(|m| texts.span(m)).collect();
        let _ = writeln!(out, "    SyscallGroup {{");
        let _ = writeln!(out, "        name: {},", texts.span(&g.name));
        let _ = writeln!(out, "        help: {},", texts.span(&g.help));
        let _ = writeln!(out, "        members: {},", slice(&members, 17, 8));
        let _ = writeln!(out, "    }},");
    }
    out.push_str("];\n\n");
    // Each group's calls, nested groups followed, as positions in the
    // sorted `SYSCALL_LIST`: a process expands a group without sorting
    // names (and with no pointer per name for the loader to relocate).
    let _ = writeln!(
        out,
        "{}#[rustfmt::skip]\npub(crate) const SYSCALL_GROUP_CALLS: &[(&[u16], &[Span])] = &[",
        doc(
            "The system calls of each group of [`SYSCALL_FILTER_SETS`] (same order), nested \
             groups followed, each once: positions in [`SYSCALL_LIST`] (sorted, so ascending \
             positions are ascending names), then the calls that list lacks, sorted.",
            0,
        )
    );
    for g in groups {
        let (mut ids, mut extra) = (Vec::new(), Vec::new());
        for m in expand(groups, &g.name) {
            match known.binary_search_by(|k| k.as_str().cmp(m)) {
                Ok(i) => ids.push(i.to_string()),
                Err(_) => extra.push(texts.span(m)),
            }
        }
        let _ = write!(
            out,
            "    // {}\n    (\n        {},\n        {},\n    ),\n",
            g.name,
            slice(&ids, 8, 8),
            slice(&extra, 8, 8)
        );
    }
    out.push_str("];\n\n");
    out.push_str(&doc(
        "The system call names of `src/basic/syscall-list.txt`, in order: the names `@known` \
         lists after `@obsolete`.",
        0,
    ));
    let spans: Vec<String> = known.iter().map(|n| texts.span(n)).collect();
    let _ = write!(
        out,
        "#[rustfmt::skip]\npub(crate) const SYSCALL_LIST: &[Span] = &[\n{}];\n\n",
        wrapped(&spans, 4)
    );
    out.push_str(&texts.emit());
    out
}

/// `syscall_numbers.rs`: numbers per architecture, both directions.
pub(crate) fn emit_numbers(s: &Source, tables: &[(&str, &str, &str, Numbers)]) -> String {
    let files: Vec<String> = tables
        .iter()
        .map(|(arch, ..)| format!("src/basic/syscalls-{arch}.txt"))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let mut out = header(
        "System call numbers per architecture, as systemd 257's tables list them.",
        &s.version,
        &files,
        &[
            "A name of `syscall-list.txt` that an architecture does not have is in its \
           `missing` list.",
        ],
    );
    out.push_str(
        "use crate::span::Span;\n\n\
         /// The system calls of one architecture; the names are spans of [`TEXT`] (read with\n\
         /// [`text`]).\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) struct SyscallNumbers {\n\
         \x20   /// The architecture's name in `SystemCallArchitectures=`.\n\
         \x20   pub(crate) architecture: Span,\n\
         \x20   /// (name, number), sorted by name.\n\
         \x20   pub(crate) by_name: &'static [(Span, u32)],\n\
         \x20   /// (number, name), sorted by number then name.\n\
         \x20   pub(crate) by_number: &'static [(u32, Span)],\n\
         \x20   /// Names of `syscall-list.txt` this architecture does not have, sorted.\n\
         \x20   pub(crate) missing: &'static [Span],\n\
         }\n",
    );
    let mut texts = Texts::default();
    for (arch, konst, name, nums) in tables {
        let by_name: Vec<String> = nums
            .by_name
            .iter()
            .map(|(n, v)| format!("({}, {v})", texts.span(n)))
            .collect();
        let mut by_number: Vec<(u32, &str)> =
            nums.by_name.iter().map(|(n, v)| (*v, n.as_str())).collect();
        by_number.sort();
        let by_number: Vec<String> = by_number
            .iter()
            .map(|(v, n)| format!("({v}, {})", texts.span(n)))
            .collect();
        let missing: Vec<String> = nums.missing.iter().map(|n| texts.span(n)).collect();
        out.push('\n');
        out.push_str(&doc(
            &format!("`{name}`, from `src/basic/syscalls-{arch}.txt`."),
            0,
        ));
        let _ = write!(
            out,
            "#[rustfmt::skip]\npub(crate) const {konst}: SyscallNumbers = SyscallNumbers {{\n    \
             architecture: {},\n    by_name: &[\n{}    ],\n    by_number: &[\n{}    ],\n    \
             missing: &[\n{}    ],\n}};\n",
            texts.span(name),
            wrapped(&by_name, 8),
            wrapped(&by_number, 8),
            wrapped(&missing, 8),
        );
    }
    out.push('\n');
    out.push_str(&texts.emit());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str, table: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("systemd-tables-{name}-{}", std::process::id()));
        for (rel, text) in [
            (
                SECCOMP_H,
                "enum {\n SYSCALL_FILTER_SET_DEFAULT,\n SYSCALL_FILTER_SET_KNOWN,\n _SYSCALL_FILTER_SET_MAX,\n};\n",
            ),
            (SECCOMP_C, table),
            (SYSCALL_LIST, "read\nwrite\n"),
        ] {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const HEAD: &str = "const SyscallFilterSet syscall_filter_sets[_SYSCALL_FILTER_SET_MAX] = {\n";
    const KNOWN: &str = "[SYSCALL_FILTER_SET_KNOWN] = { .name = \"@known\", .help = \"All\",\n\
                         .value =\n#include \"syscall-list.h\"\n },\n};\n";

    #[test]
    fn reads_a_table_and_builds_known() {
        let dir = tree(
            "ok",
            &format!(
                "{HEAD}[SYSCALL_FILTER_SET_DEFAULT] = {{ .name = \"@default\", .help = \"D\", .value = \"read\\0\" /* c */ \"@known\\0\" }},\n{KNOWN}"
            ),
        );
        let g = groups(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].members, ["read", "@known"]);
        assert_eq!(g[1].members, ["read", "write"]);
        assert_eq!(
            expand(&g, "@default").into_iter().collect::<Vec<_>>(),
            ["read", "write"]
        );
    }

    #[test]
    fn an_unexpected_shape_is_an_error_naming_file_and_construct() {
        for (name, entry) in [
            (
                "field",
                "[SYSCALL_FILTER_SET_DEFAULT] = { .name = \"@default\", .help = \"D\", .value = \"read\\0\", .extra = 1 },\n",
            ),
            (
                "designator",
                "[SYSCALL_FILTER_SET_OTHER] = { .name = \"@x\", .help = \"D\", .value = \"read\\0\" },\n",
            ),
            (
                "nested",
                "[SYSCALL_FILTER_SET_DEFAULT] = { .name = \"@default\", .help = \"D\", .value = \"@nope\\0\" },\n",
            ),
            ("missing", ""),
            (
                "cpp",
                "#if X\n[SYSCALL_FILTER_SET_DEFAULT] = { .name = \"@default\", .help = \"D\", .value = \"read\\0\" },\n#endif\n",
            ),
        ] {
            let dir = tree(name, &format!("{HEAD}{entry}{KNOWN}"));
            let err = groups(&dir).unwrap_err().to_string();
            std::fs::remove_dir_all(&dir).unwrap();
            assert!(
                err.starts_with("src/shared/seccomp-util.c: syscall_filter_sets[]"),
                "{name}: {err}"
            );
        }
    }
}
