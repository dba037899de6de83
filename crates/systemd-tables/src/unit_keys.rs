//! The keys a `.service` unit file may hold (`[Unit]`, `[Service]`,
//! `[Install]`), from `src/core/load-fragment-gperf.gperf.in`, and what
//! each key's parser does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use crate::emit::{Field, FieldKind, Texts, doc, header, span_struct, wrapped};
use crate::text::{self, balanced, function_body, split_top_level, squeeze, strip_comments};
use crate::{Error, Result, Source, jinja};

const GPERF: &str = "src/core/load-fragment-gperf.gperf.in";
const CONF_PARSER_H: &str = "src/shared/conf-parser.h";

/// The sections of a `.service` unit, in the order the table has them.
const SECTIONS: &[&str] = &["Unit", "Service", "Install"];

/// The man pages that document the settings of a `.service` unit.
const MAN_PAGES: &[&str] = &[
    "man/systemd.unit.xml",
    "man/systemd.service.xml",
    "man/systemd.exec.xml",
    "man/systemd.resource-control.xml",
    "man/systemd.kill.xml",
];

/// Where parser functions are defined.
const PARSER_DIRS: &[&str] = &["src/core", "src/shared"];

/// Parsers that compare `lvalue`, and what that picks: `true` when it
/// picks the field written (so keys sharing parser and data expression
/// still have their own storage), `false` when it only shapes the item
/// added to a shared field. Read off the C bodies; the generator fails on
/// an lvalue-comparing parser of a `.service` key missing here.
const LVALUE_ROLES: &[(&str, bool, &str)] = &[
    (
        "config_parse_bind_paths",
        false,
        "BindReadOnlyPaths= sets the item's read_only flag; both keys share one bind list",
    ),
    (
        "config_parse_capability_set",
        false,
        "CapabilityBoundingSet= starts from all capabilities, AmbientCapabilities= from none",
    ),
    (
        "config_parse_exec_directories",
        false,
        "ConfigurationDirectory= refuses a destination; the data argument picks the list",
    ),
    (
        "config_parse_exec_output",
        true,
        "StandardOutput= writes std_output, StandardError= std_error",
    ),
    (
        "config_parse_io_limit",
        true,
        "the key picks the limit type (read/write bandwidth or IOPS) of the shared device list",
    ),
    (
        "config_parse_memory_limit",
        true,
        "each Memory*=/Startup*=/Default*= key writes its own limit field",
    ),
    (
        "config_parse_service_timeout",
        true,
        "TimeoutSec= sets the start and stop timeouts, TimeoutStartSec= only the start timeout",
    ),
    (
        "config_parse_unit_mounts_for",
        true,
        "RequiresMountsFor= and WantsMountsFor= add different dependency types",
    ),
    (
        "config_parse_user_group_compat",
        false,
        "User= only warns about the nobody user; the data argument picks the field",
    ),
];

/// Parsers that write only part of the field their data argument names
/// (bits of `syslog_priority`): their keys keep separate storage ids.
const PARTIAL_WRITERS: &[&str] = &["config_parse_log_facility", "config_parse_log_level"];

/// Different parsers writing the same field, checked in the C: they share
/// the storage (an empty `Condition*=` of either kind resets the whole
/// condition list; `OnFailureIsolate=` and `OnFailureJobMode=` both set the
/// job mode; `[Service] RebootArgument=` is the old spelling of the
/// `[Unit]` one). Any other sharing makes the generator fail until it is
/// classified here or in [`PARTIAL_WRITERS`].
const SHARED_ACROSS_PARSERS: &[&[&str]] = &[
    &[
        "config_parse_unit_condition_path",
        "config_parse_unit_condition_string",
    ],
    &["config_parse_job_mode", "config_parse_job_mode_isolate"],
    &[
        "config_parse_reboot_parameter",
        "config_parse_unit_string_printf",
    ],
];

/// An (empty, repeat) classification.
type MergeClass = (Empty, Repeat);

/// Classifications read off the C where the patterns fall short: (parser,
/// what the patterns say, what the C does, why). The generator fails when
/// the patterns stop saying what is recorded here, so a changed parser is
/// reviewed again.
const REVIEWED: &[(&str, MergeClass, MergeClass, &str)] = &[
    (
        "config_parse_capability_set",
        (Empty::ToValueParser, Repeat::Accumulates),
        (Empty::Resets, Repeat::MergesByPolarity),
        "\"\" parses to the empty set and replaces the value: for CapabilityBoundingSet= that \
         is no capabilities at all, not the default (all); \"~\" alone sets all. An \
         assignment over an unset value replaces it; later ones OR in (or with ~ remove) \
         their capabilities",
    ),
    (
        "config_parse_syscall_filter",
        (Empty::Resets, Repeat::Accumulates),
        (Empty::Resets, Repeat::MergesByPolarity),
        "the first assignment after a reset picks allow-list (plain, with @default added) or \
         deny-list (~); later assignments add names of the same polarity and remove names of \
         the other",
    ),
    (
        "config_parse_syscall_log",
        (Empty::Resets, Repeat::Accumulates),
        (Empty::Resets, Repeat::MergesByPolarity),
        "like SystemCallFilter=, without @default",
    ),
    (
        "config_parse_address_families",
        (Empty::Resets, Repeat::Accumulates),
        (Empty::Resets, Repeat::MergesByPolarity),
        "the first assignment after a reset picks allow-list or deny-list (~); later ones add \
         families of the same polarity and remove the other's; `none` empties the set in \
         allow-list mode",
    ),
    (
        "config_parse_restrict_namespaces",
        (Empty::Resets, Repeat::LastWins),
        (Empty::Resets, Repeat::MergesByPolarity),
        "empty resets to the default (unrestricted); yes/no replace everything; a list over \
         the default replaces it (~list: all but those), later lists add (or with ~ remove) \
         allowed namespaces",
    ),
    (
        "config_parse_delegate",
        (Empty::Resets, Repeat::Accumulates),
        (Empty::Other, Repeat::Accumulates),
        "empty means Delegate=yes with no controllers; a boolean replaces everything; a \
         controller list turns delegation on and adds to the controllers",
    ),
    (
        "config_parse_environ",
        (Empty::Resets, Repeat::Accumulates),
        (Empty::Resets, Repeat::Accumulates),
        "a later assignment of the same variable replaces the earlier one",
    ),
    (
        "config_parse_exec",
        (Empty::Resets, Repeat::Accumulates),
        (Empty::Resets, Repeat::Accumulates),
        "commands accumulate; more than one ExecStart= is refused at load time unless \
         Type=oneshot",
    ),
];

/// How a key is handled by the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Parsed into the unit.
    Parsed,
    /// `config_parse_warn_compat` with `DISABLED_LEGACY`: removed, logged, ignored.
    RemovedLegacy,
    /// `config_parse_warn_compat` with `DISABLED_CONFIGURATION`: compiled out.
    CompiledOut,
    /// `config_parse_unsupported`.
    Unsupported,
    /// No parser (`NULL`): the manager skips it (`[Install]`, read by
    /// `systemctl enable` through `src/shared/install.c`).
    InstallOnly,
}

/// One key of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// `Unit`, `Service` or `Install`.
    pub section: String,
    /// The key name.
    pub name: String,
    /// The parser function (`None` for `NULL`).
    pub parser: Option<String>,
    /// The ltype argument as written.
    pub ltype: String,
    /// The data argument as written (`offsetof(...)` or `0`).
    pub data: String,
    /// How the manager treats it.
    pub kind: KeyKind,
    /// Documented as `<varname>KEY=</varname>` in the unit man pages.
    pub documented: bool,
    /// Storage id: keys with the same id write the same field.
    pub storage: String,
    /// `Section.Key` this key is another spelling of: an undocumented key
    /// sharing its storage with a documented one, or a `[Service]` key
    /// that is the old place of a `[Unit]` one.
    pub alias_of: Option<String>,
}

/// Reads the keys of a `.service` unit, in table order.
pub fn service_keys(src: &Path) -> Result<Vec<Key>> {
    let rendered = jinja::render(&text::read(src, GPERF)?, GPERF)?;
    let start = rendered
        .iter()
        .position(|l| l == "%%")
        .ok_or_else(|| Error::shape(GPERF, "%%", "no keyword section"))?;
    let documented = documented_keys(src)?;
    let mut keys = Vec::new();
    let mut seen = BTreeSet::new();
    for line in &rendered[start + 1..] {
        if line == "%%" {
            break;
        }
        let fields = split_top_level(line);
        let [key, parser, ltype, data] = fields[..] else {
            return Err(Error::shape(
                GPERF,
                line,
                "expected `Section.Key, parser, ltype, data`",
            ));
        };
        let (section, name) = key
            .split_once('.')
            .ok_or_else(|| Error::shape(GPERF, line, "key without a section"))?;
        if !SECTIONS.contains(&section) {
            continue;
        }
        if !seen.insert(key.to_owned()) {
            return Err(Error::shape(GPERF, line, "duplicate key"));
        }
        let parser = (parser != "NULL").then(|| parser.to_owned());
        let kind = match (parser.as_deref(), ltype) {
            (None, _) => KeyKind::InstallOnly,
            (Some("config_parse_warn_compat"), "DISABLED_LEGACY") => KeyKind::RemovedLegacy,
            (Some("config_parse_warn_compat"), "DISABLED_CONFIGURATION") => KeyKind::CompiledOut,
            (Some("config_parse_warn_compat"), other) => {
                return Err(Error::shape(
                    GPERF,
                    line,
                    format!("unknown Disabled reason {other}"),
                ));
            }
            (Some("config_parse_unsupported"), _) => KeyKind::Unsupported,
            _ => KeyKind::Parsed,
        };
        keys.push(Key {
            section: section.to_owned(),
            name: name.to_owned(),
            parser,
            ltype: ltype.to_owned(),
            data: squeeze(data),
            kind,
            documented: documented.contains(name),
            storage: String::new(),
            alias_of: None,
        });
    }
    if keys.is_empty() {
        return Err(Error::shape(GPERF, "keys", "no [Unit]/[Service] keys"));
    }
    Ok(keys)
}

fn documented_keys(src: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for page in MAN_PAGES {
        let t = text::read(src, page)?;
        for piece in t.split("<varname>").skip(1) {
            if let Some(k) = piece
                .split("</varname>")
                .next()
                .and_then(|k| k.strip_suffix('='))
                && !k.is_empty()
                && k.bytes().all(text::is_ident)
            {
                out.insert(k.to_owned());
            }
        }
    }
    Ok(out)
}

/// What an empty assignment (`Key=`) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// The parser has an `isempty(rvalue)` branch that resets the value.
    Resets,
    /// Refused: an `isempty(rvalue)` branch that only logs, or no such
    /// branch and a string-table lookup or `parse_boolean()` that fails on
    /// "" (a warning; the line is ignored, or fatal where ltype says so).
    Refused,
    /// No empty branch: the empty string goes to the value parser; what it
    /// does with "" depends on that parser (many accept it).
    ToValueParser,
    /// Something else (see the C).
    Other,
}

/// What a second assignment does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// It replaces the value.
    LastWins,
    /// It adds to the value.
    Accumulates,
    /// The first assignment (after a reset) picks allow- or deny-list mode
    /// (`~`); later ones add items of the same polarity and remove items of
    /// the other.
    MergesByPolarity,
    /// Not recognised from the C.
    Unknown,
}

/// What one parser does, read off its C body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parser {
    /// The function.
    pub name: String,
    /// The file it is defined in.
    pub file: String,
    /// `DEFINE_CONFIG_PARSE*` macro it is made with, if any.
    pub made_by: Option<String>,
    /// Empty assignment.
    pub empty: Empty,
    /// The empty branch's C, whitespace squeezed.
    pub empty_branch: Option<String>,
    /// Repeated assignment.
    pub repeat: Repeat,
    /// The calls that made `repeat` what it is.
    pub repeat_evidence: Vec<String>,
    /// The parser it hands the (specifier-expanded) value to, if any; its
    /// classification fills in what this body leaves open.
    pub delegates_to: Option<String>,
    /// Calls a `unit_*printf*` function: expands `%` specifiers.
    pub specifiers: bool,
    /// Picks storage by `ltype` (`[ltype]`, `+= ltype`).
    pub indexes_by_ltype: bool,
    /// Compares `lvalue`.
    pub compares_lvalue: bool,
    /// The note of a reviewed classification (see `REVIEWED`).
    pub review: Option<String>,
}

/// Reads every parser the keys use, and fills in the keys' storage ids.
pub fn parsers(src: &Path, keys: &mut [Key]) -> Result<Vec<Parser>> {
    let sources = parser_sources(src)?;
    let macros = define_macros(src)?;
    let names: BTreeSet<&str> = keys.iter().filter_map(|k| k.parser.as_deref()).collect();
    let mut out = Vec::new();
    for name in names {
        out.push(parser(name, &sources, &macros)?);
    }
    for (name, mechanical, reviewed, note) in REVIEWED {
        let Some(p) = out.iter_mut().find(|p| p.name == *name) else {
            continue;
        };
        if (p.empty, p.repeat) != *mechanical {
            return Err(Error::shape(
                &p.file,
                *name,
                format!(
                    "the patterns now read ({:?}, {:?}), not {mechanical:?}: review REVIEWED",
                    p.empty, p.repeat
                ),
            ));
        }
        (p.empty, p.repeat) = *reviewed;
        p.review = Some((*note).to_owned());
    }
    let unclassified: BTreeSet<&str> = out
        .iter()
        .filter(|p| p.compares_lvalue && !LVALUE_ROLES.iter().any(|(n, ..)| *n == p.name))
        .map(|p| p.name.as_str())
        .collect();
    if !unclassified.is_empty() {
        return Err(Error::shape(
            GPERF,
            "parsers",
            format!(
                "these compare lvalue; classify them in LVALUE_ROLES: {}",
                unclassified.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    for k in keys.iter_mut() {
        let Some(p) = k.parser.as_deref() else {
            k.storage = format!("Install.{}", k.name);
            continue;
        };
        let info = out.iter().find(|x| x.name == p);
        // A data argument naming a field is the storage; a whole context
        // (or none) is not: the parser picks the field itself.
        let mut id = if whole_context(&k.data) || PARTIAL_WRITERS.contains(&p) {
            format!("{p}:{}", k.data)
        } else {
            k.data.clone()
        };
        if info.is_some_and(|i| i.indexes_by_ltype) || (k.data == "0" && k.ltype != "0") {
            let _ = write!(id, "[{}]", k.ltype);
        }
        if info.is_some_and(|i| i.compares_lvalue) {
            let role = LVALUE_ROLES.iter().find(|(n, ..)| *n == p).ok_or_else(|| {
                Error::shape(
                    GPERF,
                    format!("{}.{}", k.section, k.name),
                    format!("{p} compares lvalue: classify it in LVALUE_ROLES"),
                )
            })?;
            if role.1 {
                let _ = write!(id, "<{}>", k.name);
            }
        }
        if matches!(
            k.kind,
            KeyKind::RemovedLegacy | KeyKind::CompiledOut | KeyKind::Unsupported
        ) {
            id = format!("{p}:{}.{}", k.section, k.name);
        }
        k.storage = id;
    }
    let mut writers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for k in keys.iter() {
        if let Some(p) = k.parser.as_deref()
            && k.kind == KeyKind::Parsed
            && !whole_context(&k.data)
            && !PARTIAL_WRITERS.contains(&p)
        {
            writers.entry(k.data.as_str()).or_default().insert(p);
        }
    }
    for (data, parsers) in &writers {
        if parsers.len() > 1
            && !SHARED_ACROSS_PARSERS
                .iter()
                .any(|set| parsers.iter().all(|p| set.contains(p)))
        {
            return Err(Error::shape(
                GPERF,
                *data,
                format!(
                    "written by several parsers ({}): classify them in SHARED_ACROSS_PARSERS \
                     or PARTIAL_WRITERS",
                    parsers.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    let snapshot: Vec<(String, String, String, bool)> = keys
        .iter()
        .map(|k| {
            (
                k.section.clone(),
                k.name.clone(),
                k.storage.clone(),
                k.documented,
            )
        })
        .collect();
    for k in keys.iter_mut() {
        // An undocumented key sharing its storage with a documented one, or
        // a [Service] key that is the old spelling of the [Unit] one.
        k.alias_of = snapshot
            .iter()
            .find(|(sec, n, st, d)| {
                *st == k.storage
                    && ((!k.documented && *d && *n != k.name)
                        || (k.section == "Service" && sec == "Unit" && *n == k.name))
            })
            .map(|(sec, n, ..)| format!("{sec}.{n}"));
    }
    Ok(out)
}

/// (file, comment-free text) of every C file that may define a parser.
fn parser_sources(src: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for dir in PARSER_DIRS {
        let path = src.join(dir);
        let entries = std::fs::read_dir(&path).map_err(|source| Error::Io { path, source })?;
        let mut files: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".c"))
            .collect();
        files.sort();
        for f in files {
            let rel = format!("{dir}/{f}");
            let t = text::read(src, &rel)?;
            if t.contains("config_parse_") {
                let t = strip_comments(&t);
                let extra = local_wrappers(&t, &rel)?;
                out.push((rel, t + &extra));
            }
        }
    }
    Ok(out)
}

/// A file may wrap `DEFINE_CONFIG_PARSE*` in a macro of its own
/// (`#define DEFINE_PARSER(type, vartype, conv_func)
/// DEFINE_CONFIG_PARSE_PTR(config_parse_##type, conv_func, vartype)`):
/// returns the expansion of every use of such a wrapper, one per line.
fn local_wrappers(t: &str, file: &str) -> Result<String> {
    let joined = t.replace("\\\n", " ");
    let mut out = String::new();
    for line in joined.lines() {
        let Some(def) = line.trim().strip_prefix("#define ") else {
            continue;
        };
        let Some(open) = def.find('(') else { continue };
        let name = &def[..open];
        if !name.bytes().all(text::is_ident) {
            continue;
        }
        let (params, after) = balanced(def, open, file, name)?;
        let body = def[after..].trim();
        if !body.starts_with("DEFINE_CONFIG_PARSE") {
            continue;
        }
        let params: Vec<&str> = params.split(',').map(str::trim).collect();
        for pos in text::word_positions(&joined, name).collect::<Vec<_>>() {
            let rest = &joined[pos + name.len()..];
            if !rest.starts_with('(') || joined[..pos].trim_end().ends_with("#define") {
                continue;
            }
            let (args, _) = balanced(rest, 0, file, name)?;
            let args = split_top_level(args);
            if args.len() != params.len() {
                return Err(Error::shape(file, name, "argument count"));
            }
            let mut b = body.to_owned();
            for (p, a) in params.iter().zip(&args) {
                b = b
                    .replace(&format!("##{p}"), a)
                    .replace(&format!("{p}##"), a);
                b = replace_word(&b, p, a);
            }
            out.push('\n');
            out.push_str(&b);
            out.push(';');
        }
    }
    Ok(out)
}

/// `DEFINE_CONFIG_PARSE*` macros of conf-parser.h: name → (params, body).
fn define_macros(src: &Path) -> Result<BTreeMap<String, (Vec<String>, String)>> {
    let t = strip_comments(&text::read(src, CONF_PARSER_H)?).replace("\\\n", "\n");
    let mut out = BTreeMap::new();
    for piece in t.split("#define DEFINE_CONFIG_PARSE").skip(1) {
        let open = piece
            .find('(')
            .ok_or_else(|| Error::shape(CONF_PARSER_H, "DEFINE_CONFIG_PARSE*", "no parameters"))?;
        let name = format!("DEFINE_CONFIG_PARSE{}", &piece[..open]);
        let (params, after) = balanced(piece, open, CONF_PARSER_H, &name)?;
        let params = params.split(',').map(|p| p.trim().to_owned()).collect();
        // The body runs to the next blank line.
        let body = piece[after..]
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .to_owned();
        out.insert(name, (params, body));
    }
    if out.is_empty() {
        return Err(Error::shape(
            CONF_PARSER_H,
            "DEFINE_CONFIG_PARSE*",
            "none found",
        ));
    }
    Ok(out)
}

fn parser(
    name: &str,
    sources: &[(String, String)],
    macros: &BTreeMap<String, (Vec<String>, String)>,
) -> Result<Parser> {
    parser_at(name, sources, macros, 0)
}

fn parser_at(
    name: &str,
    sources: &[(String, String)],
    macros: &BTreeMap<String, (Vec<String>, String)>,
    depth: usize,
) -> Result<Parser> {
    let mut found: Option<(String, String, Option<String>)> = None;
    for (file, t) in sources {
        if let Some(body) = function_body(t, name) {
            found = Some((file.clone(), body.to_owned(), None));
            break;
        }
        // DEFINE_CONFIG_PARSE_X(name, args...);
        for pos in text::word_positions(t, name) {
            let before = t[..pos].trim_end();
            let Some(open) = before.strip_suffix('(') else {
                continue;
            };
            let mac_start = open
                .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .map_or(0, |i| i + 1);
            let mac = &open[mac_start..];
            let Some((params, body)) = macros.get(mac) else {
                continue;
            };
            let (args, _) = balanced(t, open.len(), file, mac)?;
            let args = split_top_level(args);
            if args.len() != params.len() {
                return Err(Error::shape(file, mac, format!("{name}: argument count")));
            }
            let mut b = body.clone();
            for (p, a) in params.iter().zip(&args) {
                b = b.replace(&format!("{p}##"), a);
                b = replace_word(&b, p, a);
            }
            // DEFINE_CONFIG_PARSE_ENUM is DEFINE_CONFIG_PARSE_ENUM_FULL(...).
            let b = expand_nested(&b, macros, file)?;
            found = Some((file.clone(), b, Some(mac.to_owned())));
            break;
        }
        if found.is_some() {
            break;
        }
    }
    let Some((file, body, made_by)) = found else {
        return Err(Error::shape(
            PARSER_DIRS.join(", "),
            name,
            "parser function not found",
        ));
    };
    let (mut empty, mut empty_branch) = classify_empty(&body, made_by.as_deref());
    let (mut repeat, mut repeat_evidence) = classify_repeat(&body, empty_branch.as_deref());
    let mut specifiers = body
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| w.starts_with("unit_") && w.contains("printf"));
    // `return config_parse_string(..., k, data, userdata);` after turning
    // rvalue into k: the delegate decides what is stored.
    let delegates_to = body
        .split("return config_parse_")
        .nth(1)
        .and_then(|r| r.split('(').next())
        .map(|r| format!("config_parse_{}", r.trim()))
        .filter(|d| d != name && d.bytes().all(text::is_ident));
    if let Some(d) = &delegates_to {
        if depth > 3 {
            return Err(Error::shape(&file, name, "delegation too deep"));
        }
        let inner = parser_at(d, sources, macros, depth + 1)?;
        // Only a wrapper that does nothing but expand specifiers passes ""
        // through unchanged; one that checks the value first may refuse it.
        let only_specifiers = body.split("log_syntax").skip(1).all(|call| {
            call.split(';')
                .next()
                .is_some_and(|c| c.contains("specifier"))
        });
        if empty_branch.is_none() && !only_specifiers {
            empty = Empty::Other;
        } else if empty_branch.is_none() {
            empty = inner.empty;
            empty_branch = inner.empty_branch.clone();
        }
        if repeat == Repeat::Unknown {
            repeat = inner.repeat;
            repeat_evidence = inner.repeat_evidence.clone();
        }
        specifiers |= inner.specifiers;
    }
    let squeezed: String = body.split_whitespace().collect();
    let indexes_by_ltype = squeezed.contains("[ltype]") || squeezed.contains("+=ltype");
    let compares_lvalue = [
        "streq(lvalue",
        "STR_IN_SET(lvalue",
        "startswith(lvalue",
        "endswith(lvalue",
        "strstr(lvalue",
        "streq_ptr(lvalue",
        "STRPTR_IN_SET(lvalue",
    ]
    .iter()
    .any(|p| squeezed.contains(p));
    Ok(Parser {
        name: name.to_owned(),
        file,
        made_by,
        empty,
        empty_branch,
        repeat,
        repeat_evidence,
        delegates_to,
        specifiers,
        indexes_by_ltype,
        compares_lvalue,
        review: None,
    })
}

/// Expands a `DEFINE_CONFIG_PARSE*` body that is itself another
/// `DEFINE_CONFIG_PARSE*` invocation.
fn expand_nested(
    body: &str,
    macros: &BTreeMap<String, (Vec<String>, String)>,
    file: &str,
) -> Result<String> {
    let t = body.trim();
    let Some(open) = t.find('(') else {
        return Ok(body.to_owned());
    };
    let Some((params, inner)) = macros.get(&t[..open]) else {
        return Ok(body.to_owned());
    };
    let (args, _) = balanced(t, open, file, &t[..open])?;
    let args = split_top_level(args);
    if args.len() != params.len() {
        return Err(Error::shape(file, &t[..open], "argument count"));
    }
    let mut b = inner.clone();
    for (p, a) in params.iter().zip(&args) {
        b = b
            .replace(&format!("{p}##"), a)
            .replace(&format!("##{p}"), a);
        b = replace_word(&b, p, a);
    }
    expand_nested(&b, macros, file)
}

/// `0`, or a data argument naming a whole context structure.
fn whole_context(data: &str) -> bool {
    data == "0"
        || ["exec_context)", "cgroup_context)", "kill_context)"]
            .iter()
            .any(|c| data.ends_with(c))
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for pos in text::word_positions(text, word).collect::<Vec<_>>() {
        out.push_str(&text[last..pos]);
        out.push_str(with);
        last = pos + word.len();
    }
    out.push_str(&text[last..]);
    out
}

/// Finds the `if (isempty(rvalue) ...)` branch and classifies it.
fn classify_empty(body: &str, made_by: Option<&str>) -> (Empty, Option<String>) {
    let Some(at) = body.find("if (isempty(rvalue)") else {
        // An enum's string table (DEFINE_CONFIG_PARSE_ENUM*) or a boolean
        // never accepts "".
        let squeezed: String = body.split_whitespace().collect();
        if let Some(m) = made_by.filter(|m| m.starts_with("DEFINE_CONFIG_PARSE_ENUM")) {
            return (
                Empty::Refused,
                Some(format!("no empty branch; {m}: \"\" is no enum value")),
            );
        }
        if squeezed.contains("r=parse_boolean(rvalue);") {
            return (
                Empty::Refused,
                Some("no empty branch; parse_boolean(\"\") fails".to_owned()),
            );
        }
        return (Empty::ToValueParser, None);
    };
    let open = at + "if ".len();
    let Ok((_, cond_end)) = balanced(body, open, "", "") else {
        return (Empty::Other, None);
    };
    let after = &body[cond_end..];
    let trimmed = after.trim_start();
    let branch = if trimmed.starts_with('{') {
        let open = after.len() - trimmed.len();
        match balanced(after, open, "", "") {
            Ok((b, _)) => b.to_owned(),
            Err(_) => return (Empty::Other, None),
        }
    } else {
        trimmed
            .split_inclusive(';')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let squeezed = squeeze(&branch);
    let logs = squeezed.contains("log_syntax") || squeezed.contains("log_warning");
    let changes = squeezed.contains(" = ")
        || squeezed.starts_with('*')
        || ["free", "_clear", "_reset", "_done", "_remove", "zero("]
            .iter()
            .any(|p| squeezed.contains(p))
        || squeezed.contains("= NULL");
    let kind = match (logs, changes) {
        (_, true) => Empty::Resets,
        (true, false) => Empty::Refused,
        (false, false) => Empty::Other,
    };
    (kind, Some(squeezed))
}

/// Calls that add to a collection.
const ACCUMULATE: &[&str] = &[
    "strv_extend",
    "strv_push",
    "strv_consume",
    "strv_env_replace",
    "strv_env_merge",
    "LIST_APPEND",
    "LIST_PREPEND",
    "set_put",
    "set_ensure_put",
    "set_ensure_consume",
    "set_consume",
    "hashmap_put",
    "hashmap_ensure_put",
    "ordered_hashmap_put",
    "ordered_set_put",
    "GREEDY_REALLOC",
    "exec_command_append_list",
    "strv_extend_strv",
    "bind_mount_add",
    "temporary_filesystem_add",
    "mount_image_add",
    "exec_directory_add",
    "cgroup_context_add",
    "unit_add_dependency_by_name",
    "unit_add_mounts_for",
    "seccomp_parse_syscall_filter",
    "in_addr_prefix_add",
    "iovec_append",
    "|=",
    "memcpy(",
];

/// Statements that replace a value (matched at the start of a statement).
const REPLACE: &[&str] = &[
    "*b = r;",
    "*i = r;",
    "*i = x;",
    "*t = ",
    "*s = ",
    "*usec = ",
    "*nsec = ",
    "*value = ",
    "*capability_set = ",
];

/// Calls that replace a value (including the `DEFINE_CONFIG_PARSE_PTR`
/// shape `r = parser(rvalue, i);`).
const REPLACE_CALLS: &[&str] = &[
    "free_and_replace(",
    "free_and_strdup(",
    "free_and_strdup_warn(",
    "(rvalue, i);",
    "(rvalue, t);",
];

fn classify_repeat(body: &str, empty_branch: Option<&str>) -> (Repeat, Vec<String>) {
    let mut rest = squeeze(body);
    if let Some(e) = empty_branch {
        rest = rest.replacen(e, "", 1);
    }
    let acc: Vec<String> = ACCUMULATE
        .iter()
        .filter(|p| rest.contains(*p))
        .map(|p| (*p).to_owned())
        .collect();
    let rep: Vec<String> = REPLACE
        .iter()
        .filter(|p| {
            ["; ", "{ ", "} "]
                .iter()
                .any(|start| rest.contains(&format!("{start}{p}")))
        })
        .chain(REPLACE_CALLS.iter().filter(|p| rest.contains(*p)))
        .map(|p| (*p).to_owned())
        .collect();
    match (acc.is_empty(), rep.is_empty()) {
        (false, true) => (Repeat::Accumulates, acc),
        (true, false) => (Repeat::LastWins, rep),
        (false, false) => {
            let mut all = acc;
            all.extend(rep);
            (Repeat::Unknown, all)
        }
        (true, true) => {
            // Only plain field stores (`c->nice = n;`): the last one wins.
            let stores = rest
                .split([';', '{', '}'])
                .map(str::trim)
                .any(|st| st.starts_with("c->") && st.contains(" = "));
            if stores {
                (Repeat::LastWins, vec!["c->field = value".to_owned()])
            } else {
                (Repeat::Unknown, Vec::new())
            }
        }
    }
}

/// `unit_keys.rs`.
pub(crate) fn emit(s: &Source, keys: &[Key], parsers: &[Parser]) -> String {
    let mut files: Vec<&str> = vec![GPERF, CONF_PARSER_H];
    let mut parser_files: Vec<&str> = parsers.iter().map(|p| p.file.as_str()).collect();
    parser_files.sort_unstable();
    parser_files.dedup();
    files.extend(parser_files);
    files.extend(MAN_PAGES);
    let mut out = header(
        "The keys of a `.service` unit and what their parsers do.",
        &s.version,
        &files,
        &[
            "The gperf template is expanded as systemd's build does for the Service type, with \
             Debian's build features (HAVE_SECCOMP, HAVE_PAM, HAVE_SELINUX, HAVE_APPARMOR, \
             ENABLE_SMACK all on). `[Install]` keys have no parser: the manager ignores them \
             when it loads a unit; `systemctl enable` reads them (src/shared/install.c).",
            "Storage ids are the data argument when it names a field, `parser:data` when it \
             names a whole context (the parser picks the field) or is 0, plus `[ltype]` when \
             the parser indexes by ltype (or has no data argument) and `<Key>` when it picks \
             the field by the key name. The merge classification of \
             each parser is read off patterns in its C body; `Unknown`/`Other`/`ToValueParser` \
             mean the patterns do not settle it and the C must be read. Where a parser was read \
             by hand, `review` says what it does (the generator fails when the patterns drift \
             from what was reviewed). A refused empty value is fatal (the unit fails to load) \
             for keys whose ltype is `true`.",
        ],
    );
    out.push_str("use crate::span::Span;\n\n");
    out.push_str(
        "/// How the manager treats a key.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) enum KeyKind {\n\
         \x20   /// Parsed into the unit.\n\
         \x20   Parsed,\n\
         \x20   /// Removed: logged (\"support ... has been removed\") and ignored.\n\
         \x20   RemovedLegacy,\n\
         \x20   /// Compiled out of this build: logged at debug level and ignored.\n\
         \x20   CompiledOut,\n\
         \x20   /// Not supported.\n\
         \x20   Unsupported,\n\
         \x20   /// No parser: the manager skips it; `systemctl enable` reads it.\n\
         \x20   InstallOnly,\n\
         }\n\n",
    );
    let mut texts = Texts::default();
    out.push_str(&span_struct(
        "UnitKey",
        "One key of a `.service` unit.",
        &[
            text_field("section", "`Unit`, `Service` or `Install`."),
            text_field("name", "The key."),
            Field {
                name: "parser",
                doc: "The parser function (`None`: no parser).",
                kind: FieldKind::OptText,
            },
            text_field("ltype", "The ltype argument as written."),
            text_field("data", "The data argument as written."),
            Field {
                name: "kind",
                doc: "How the manager treats it.",
                kind: FieldKind::Plain("KeyKind"),
            },
            Field {
                name: "documented",
                doc: "Documented in the unit man pages.",
                kind: FieldKind::Plain("bool"),
            },
            text_field(
                "storage",
                "Keys with the same storage id write the same field.",
            ),
            Field {
                name: "alias_of",
                doc: "`Section.Key` this key is another spelling of (same storage).",
                kind: FieldKind::OptText,
            },
        ],
    ));
    out.push_str(&doc(
        &format!(
            "The {} keys of a `.service` unit, in table order.",
            keys.len()
        ),
        0,
    ));
    out.push_str("#[rustfmt::skip]\npub(crate) const UNIT_KEYS: &[UnitKey] = &[\n");
    for k in keys {
        let kind = match k.kind {
            KeyKind::Parsed => "Parsed",
            KeyKind::RemovedLegacy => "RemovedLegacy",
            KeyKind::CompiledOut => "CompiledOut",
            KeyKind::Unsupported => "Unsupported",
            KeyKind::InstallOnly => "InstallOnly",
        };
        let _ = write!(
            out,
            "    UnitKey {{\n        section: {},\n        name: {},\n        parser: {},\n        \
             ltype: {},\n        data: {},\n        kind: KeyKind::{kind},\n        \
             documented: {},\n        storage: {},\n        alias_of: {},\n    }},\n",
            texts.span(&k.section),
            texts.span(&k.name),
            texts.opt_span(k.parser.as_deref()),
            texts.span(&k.ltype),
            texts.span(&k.data),
            k.documented,
            texts.span(&k.storage),
            texts.opt_span(k.alias_of.as_deref()),
        );
    }
    out.push_str("];\n\n");
    // A hash table of positions, to look keys up without a map built at
    // start-up (and with no pointer in it: nothing for the dynamic loader
    // to relocate).
    let slots = hash_slots(keys.iter().map(|k| (k.section.as_str(), k.name.as_str())));
    out.push_str(&doc(
        "An open-addressing hash table of positions in [`UNIT_KEYS`]: the section and key \
         hashed with FNV-1a (64 bits) over the section's bytes, a `0xff` byte and the key's, \
         masked to the table's size; probed one slot at a time until `u16::MAX` (empty). The \
         first of equal keys is the one a scan of the table finds.",
        0,
    ));
    let slots: Vec<String> = slots.iter().map(ToString::to_string).collect();
    let _ = write!(
        out,
        "#[rustfmt::skip]\npub(crate) const UNIT_KEYS_HASHED: &[u16] = &[\n{}];\n\n",
        wrapped(&slots, 4)
    );
    out.push_str(
        "/// What an empty assignment (`Key=`) does.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) enum Empty {\n\
         \x20   /// The parser's `isempty(rvalue)` branch resets the value.\n\
         \x20   Resets,\n\
         \x20   /// Refused with a warning (an empty branch that only logs, or a string-table or\n\
         \x20   /// boolean parse that fails on \"\"); fatal for keys whose ltype is `true`.\n\
         \x20   Refused,\n\
         \x20   /// No empty branch: \"\" goes to the value parser, which may accept it: read the C.\n\
         \x20   ToValueParser,\n\
         \x20   /// Something else: read the C.\n\
         \x20   Other,\n\
         }\n\n\
         /// What a repeated assignment does.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) enum Repeat {\n\
         \x20   /// The last assignment wins.\n\
         \x20   LastWins,\n\
         \x20   /// Assignments accumulate.\n\
         \x20   Accumulates,\n\
         \x20   /// The first assignment picks allow- or deny-list (`~`); later ones add or remove.\n\
         \x20   MergesByPolarity,\n\
         \x20   /// Not recognised: read the C.\n\
         \x20   Unknown,\n\
         }\n\n",
    );
    out.push_str(&span_struct(
        "ParserInfo",
        "What a parser function does.",
        &[
            text_field("name", "The function."),
            text_field("file", "The file defining it."),
            Field {
                name: "made_by",
                doc: "The `DEFINE_CONFIG_PARSE*` macro making it, if any.",
                kind: FieldKind::OptText,
            },
            Field {
                name: "empty",
                doc: "An empty assignment.",
                kind: FieldKind::Plain("Empty"),
            },
            Field {
                name: "empty_branch",
                doc: "The C of its empty branch.",
                kind: FieldKind::OptText,
            },
            Field {
                name: "repeat",
                doc: "A repeated assignment.",
                kind: FieldKind::Plain("Repeat"),
            },
            Field {
                name: "repeat_evidence",
                doc: "The calls `repeat` was read from.",
                kind: FieldKind::Texts,
            },
            Field {
                name: "delegates_to",
                doc: "The parser it hands the value to after expanding it.",
                kind: FieldKind::OptText,
            },
            Field {
                name: "specifiers",
                doc: "Calls a `unit_*printf*` function: expands `%` specifiers.",
                kind: FieldKind::Plain("bool"),
            },
            Field {
                name: "indexes_by_ltype",
                doc: "Picks its storage by ltype.",
                kind: FieldKind::Plain("bool"),
            },
            Field {
                name: "compares_lvalue",
                doc: "Compares the key name (lvalue).",
                kind: FieldKind::Plain("bool"),
            },
            Field {
                name: "review",
                doc: "Set when `empty`/`repeat` were reviewed by reading the C: why.",
                kind: FieldKind::OptText,
            },
        ],
    ));
    out.push_str(&doc(
        "Every parser the keys use (sorted by name): parser -> merge behaviour.",
        0,
    ));
    out.push_str("#[rustfmt::skip]\npub(crate) const PARSERS: &[ParserInfo] = &[\n");
    for p in parsers {
        let _ = write!(
            out,
            "    ParserInfo {{\n        name: {},\n        file: {},\n        made_by: {},\n        \
             empty: Empty::{:?},\n        empty_branch: {},\n        repeat: Repeat::{:?},\n        \
             repeat_evidence: {},\n        delegates_to: {},\n        specifiers: {},\n        \
             indexes_by_ltype: {},\n        compares_lvalue: {},\n        review: {},\n    }},\n",
            texts.span(&p.name),
            texts.span(&p.file),
            texts.opt_span(p.made_by.as_deref()),
            p.empty,
            texts.opt_span(p.empty_branch.as_deref()),
            p.repeat,
            texts.list(&p.repeat_evidence),
            texts.opt_span(p.delegates_to.as_deref()),
            p.specifiers,
            p.indexes_by_ltype,
            p.compares_lvalue,
            texts.opt_span(p.review.as_deref()),
        );
    }
    out.push_str("];\n\n");
    out.push_str(&texts.emit());
    out
}

/// A text field of a [`span_struct`].
fn text_field<'a>(name: &'a str, doc: &'a str) -> Field<'a> {
    Field {
        name,
        doc,
        kind: FieldKind::Text,
    }
}

/// FNV-1a (64 bits) of `section`, a `0xff` byte (in no UTF-8 text) and
/// `key`: the hash [`hash_slots`] places keys by, and the one the lookup
/// of the generated table uses.
fn key_hash(section: &str, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in section.bytes().chain([0xff]).chain(key.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Refuses more keys than `UNIT_KEYS_HASHED`'s `u16` positions hold
/// (`u16::MAX` marks an empty slot).
pub(crate) fn check_positions(keys: &[Key]) -> Result<()> {
    if keys.len() >= usize::from(u16::MAX) {
        return Err(Error::shape(GPERF, "keys", "too many for u16 positions"));
    }
    Ok(())
}

/// The slots of an open-addressing table of `keys` (fewer than
/// `u16::MAX`, see [`check_positions`]), in order: a power of two at least
/// twice as many, each holding a position or `u16::MAX`; linear probing; a
/// key already placed is not placed again.
fn hash_slots<'a>(keys: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> Vec<u16> {
    let keys: Vec<(&str, &str)> = keys.collect();
    let size = (keys.len() * 2).max(2).next_power_of_two();
    let mut slots = vec![u16::MAX; size];
    for (i, &(section, key)) in keys.iter().enumerate() {
        let mut at = (key_hash(section, key) as usize) & (size - 1);
        loop {
            match slots[at] {
                u16::MAX => {
                    slots[at] = u16::try_from(i).unwrap_or(u16::MAX - 1);
                    break;
                }
                j if keys[usize::from(j)] == (section, key) => break,
                _ => at = (at + 1) & (size - 1),
            }
        }
    }
    slots
}
