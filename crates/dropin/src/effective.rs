//! Effective settings: what systemd 257 holds for a unit after reading its
//! files, computed by running each assignment through the emulation of
//! systemd's own parser for the directive ([`crate::kind::ValueKind::apply`]).
//!
//! State is kept per *storage*, as systemd keeps it: `BindPaths=` and
//! `BindReadOnlyPaths=` share one list, so an empty assignment of either
//! clears both. Two units have the same settings when every directive's
//! canonical lines ([`State::lines`]) are equal and so are the keys the
//! model does not type.

use std::collections::BTreeMap;
use std::fmt;

use crate::compose::Composed;
use crate::directive::{Directive, Merge};
use crate::generated::unit_keys::UnitKey;
use crate::kind::{Apply, Delta, State, StateOf};
use crate::lexer::{self, Diagnostic};
use crate::reads::{self, Reads};
use crate::systemd::specifier;

/// Where an assignment was read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Origin {
    /// The file (shared by the origins of one file's lines).
    pub file: std::sync::Arc<str>,
    /// The line, numbered as systemd numbers it.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One storage: what systemd holds and the assignments that made it so
/// (since the last one that replaced everything before it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// What systemd holds (shared between copies until one writes it: a
    /// replayed storage costs a reference, not a copy of a filter's
    /// hundreds of calls).
    pub state: std::sync::Arc<State>,
    /// Where the assignments that count came from.
    pub origins: Vec<Origin>,
    /// Their values, as written (shared between copies until one writes
    /// them: a replayed storage renames its origins only).
    pub values: std::sync::Arc<Vec<String>>,
    /// The directive each value was written for (storage may be shared).
    pub keys: std::sync::Arc<Vec<Directive>>,
    /// Whether an empty assignment came first (discarding what was before).
    pub reset: bool,
}

/// A key the model does not type: its values since the last empty
/// assignment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Raw {
    /// Whether an empty assignment came first (discarding earlier values).
    pub reset: bool,
    /// The values, in order.
    pub values: Vec<String>,
    /// Where they came from.
    pub origins: Vec<Origin>,
}

/// The settings of one unit as systemd holds them after reading its files.
#[derive(Clone, Debug)]
pub struct Effective {
    specifiers: specifier::Context,
    /// Every typed storage at its [rank](Directive::storage_rank), shared
    /// between copies until one writes it (a copy of a unit's settings
    /// costs a reference per storage).
    typed: Vec<std::sync::Arc<Slot>>,
    /// Every storage's state with nothing read, at its rank (shared by
    /// every copy).
    fresh: std::sync::Arc<Vec<State>>,
    /// Each untyped key's values, by the section and name of its
    /// storage (shared between copies until one writes it).
    raw: BTreeMap<(&'static str, &'static str), std::sync::Arc<Raw>>,
    untyped_log: Vec<UntypedAssignment>,
    fatal: Option<Diagnostic>,
    diagnostics: Vec<Diagnostic>,
    shared_resets: Vec<SharedReset>,
    /// The name of the file read last, shared by its lines' origins.
    last_file: Option<std::sync::Arc<str>>,
}

/// One assignment of a key the model does not type, as read, in reading
/// order (see [`Effective::untyped_log`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UntypedAssignment {
    /// The section of the key's storage.
    pub section: &'static str,
    /// The key (another spelling already mapped to the key it stands for).
    pub key: &'static str,
    /// The value as written (specifiers not expanded; may be empty).
    pub value: String,
    /// Where it was read.
    pub origin: Origin,
}

/// What reading lines did to settings, kept to read the same lines again
/// at once ([`Effective::read_shared`]): the instance drop-ins of a
/// template differ in their names, comments and a few lines only.
///
/// What is kept is, per typed storage, the lines of one file that set it
/// (in order, with their line numbers) and the storage after each of them:
/// kept when the storage was untouched before the file, no line of it
/// holds a specifier (no value then depends on the unit read), no line of
/// the file is fatal, and none of its lines logged anything or cleared
/// another directive's lines. A line changes its own storage only, so the
/// same first lines read onto another unit's untouched storage leave the
/// same storage (the origins naming the other file) and log nothing: a
/// file whose lines for a storage begin as kept ones do takes the storage
/// after as many of them and reads only the rest (an instance's bind list
/// that differs in its last line); every other line of that file is read
/// as `read` reads it, in order.
#[derive(Clone, Debug, Default)]
pub struct Replays {
    /// At each storage's [rank](Directive::storage_rank).
    /// The lines of one file that set it, with the storage after each.
    seen: Vec<Vec<(Vec<lexer::Assignment>, Vec<Slot>)>>,
    /// Unit files read first, onto nothing, with no `%` in them: their
    /// name, bytes, the settings they left and whether reading stopped
    /// ([`Effective::read_first`]).
    first: Vec<(String, Vec<u8>, Effective, bool)>,
    /// Unit files read first with a `%` in them: what their lines that
    /// depend on no specifier left ([`Effective::read_first`]).
    partial: Vec<Partial>,
    /// Files lexed, by name and bytes (lexing depends on nothing else).
    lexed: Vec<(String, Vec<u8>, std::sync::Arc<lexer::Lexed>)>,
    replayed: usize,
}

impl Replays {
    /// How many different line sets are kept per storage (a storage set
    /// differently in every instance is not worth keeping).
    const PER_STORAGE: usize = 8;

    /// How many unit files read first are kept (the templates of a run).
    const FIRST_FILES: usize = 8;

    /// The largest file whose bytes are kept to be recognised again (unit
    /// files are a few KiB; holding a large one is not worth its memory).
    const KEPT_BYTES: usize = 64 * 1024;

    /// Nothing kept yet.
    pub fn new() -> Replays {
        Replays::default()
    }

    /// `file` lexed, as [`lexer::lex`] lexes it for a service: the same
    /// name and bytes are lexed once.
    fn lex(&mut self, file: &str, bytes: &[u8]) -> std::sync::Arc<lexer::Lexed> {
        if let Some((_, _, lexed)) = self
            .lexed
            .iter()
            .find(|(f, b, _)| f == file && b.as_slice() == bytes)
        {
            return lexed.clone();
        }
        let lexed = std::sync::Arc::new(lexer::lex(file, bytes, SERVICE_SECTIONS));
        if self.lexed.len() < Replays::FIRST_FILES && bytes.len() <= Replays::KEPT_BYTES {
            self.lexed
                .push((file.to_owned(), bytes.to_vec(), lexed.clone()));
        }
        lexed
    }

    /// How many storages were set from what was kept, not by reading.
    pub fn replayed(&self) -> usize {
        self.replayed
    }
}

/// A unit file read first onto nothing, with `%` in some lines: the
/// settings its other lines left, and the lines each unit reads itself.
///
/// A storage (typed, or an untyped key's) with a `%` in any of its lines
/// is read by each unit, all its lines in order; every other storage is
/// what the first unit's read left, the same for every unit where those
/// lines logged nothing and no line is fatal. The untyped assignments'
/// log is kept in line order, as reading gives it.
#[derive(Clone, Debug)]
struct Partial {
    file: String,
    bytes: Vec<u8>,
    /// The settings the lines in no such storage left (the first unit's
    /// specifiers).
    effective: Effective,
    /// The lines each unit reads, by index in the file's assignments,
    /// each with its key resolved.
    lines: Vec<(usize, Resolved)>,
    stopped: bool,
}

/// The lines of one storage in a file being read.
struct Group {
    /// The storage's [rank](Directive::storage_rank).
    rank: usize,
    lines: Vec<usize>,
    /// How many of its first lines were set from what was kept (all of
    /// them, or none).
    from: usize,
    /// How many of its lines the read has come to.
    done: usize,
    /// The storage after each line, where it is to be kept (untouched
    /// before, no specifier, nothing kept began so, and room to keep).
    steps: Option<Vec<Slot>>,
    /// Its lines, applied, logged nothing.
    quiet: bool,
}

/// An empty assignment that emptied what another directive had put in the
/// storage both share (`BindPaths=` clears the `BindReadOnlyPaths=` binds).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SharedReset {
    /// Where the empty assignment is.
    pub at: Origin,
    /// The directive assigned empty.
    pub reset: Directive,
    /// The directive whose lines it cleared.
    pub cleared: Directive,
    /// Those lines.
    pub lines: Vec<String>,
}

impl PartialEq for Effective {
    /// Same settings: every directive's canonical lines and every untyped
    /// key's values equal (where the values came from does not matter).
    fn eq(&self, other: &Effective) -> bool {
        Directive::ALL
            .iter()
            .all(|d| self.lines(*d) == other.lines(*d))
            && self.raw.len() == other.raw.len()
            && self
                .raw
                .iter()
                .zip(&other.raw)
                .all(|((k, a), (l, b))| k == l && a.reset == b.reset && a.values == b.values)
    }
}

impl Eq for Effective {}

/// The registry directive key `k` is another spelling of, by systemd's
/// key table (`ReadWriteDirectories=` is `ReadWritePaths=`).
fn alias_directive(k: &UnitKey) -> Option<Directive> {
    let (s, n) = k.alias_of()?.split_once('.')?;
    Directive::from_name(n).filter(|d| d.spec().section == s)
}

/// An assignment's key looked up once: its entry in systemd's key table
/// and the registry directive it is read as (its own, or the one it is
/// another spelling of).
#[derive(Clone, Copy, Debug)]
struct Resolved {
    key: Option<&'static UnitKey>,
    directive: Option<Directive>,
}

/// Where an untyped key's values are kept: its own section and name, or
/// those of the key it is an alias of.
fn untyped_storage(key: &'static UnitKey) -> (&'static str, &'static str) {
    key.alias_of()
        .and_then(|k| k.split_once('.'))
        .unwrap_or((key.section(), key.name()))
}

impl Resolved {
    fn of(a: &lexer::Assignment) -> Resolved {
        let key = unit_key(a.section, &a.key);
        let directive = Directive::from_name(&a.key)
            .filter(|d| d.spec().section == a.section)
            .or_else(|| key.and_then(alias_directive));
        Resolved { key, directive }
    }
}

/// The parsers whose failure is fatal (systemd's `-ENOEXEC`), by the
/// generated key table's parser and `ltype`, never by the key's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FatalParser {
    /// `config_parse_user_group_compat()`.
    User,
    /// `config_parse_user_group_strv_compat()`.
    UserList,
    /// `config_parse_bool()` with `ltype` true.
    Bool,
    /// `config_parse_unit_path_printf()` with `ltype` true.
    UnitPath,
}

/// The fatal parser of `[section] key=`, if its parser can fail fatally.
fn fatal_parser(section: &str, key: &str) -> Option<FatalParser> {
    fatal_parser_of(unit_key(section, key)?)
}

/// The fatal parser of key `key` of systemd's table, if its parser can
/// fail fatally (only `[Service]` keys do).
fn fatal_parser_of(key: &UnitKey) -> Option<FatalParser> {
    if key.section() != "Service" {
        return None;
    }
    let fatal_ltype = key.ltype() == "true";
    match key.parser()? {
        "config_parse_user_group_compat" => Some(FatalParser::User),
        "config_parse_user_group_strv_compat" => Some(FatalParser::UserList),
        "config_parse_bool" if fatal_ltype => Some(FatalParser::Bool),
        "config_parse_unit_path_printf" if fatal_ltype => Some(FatalParser::UnitPath),
        _ => None,
    }
}

/// The entry of `[section] key=` in systemd's key table: the first, as a
/// scan of the table finds it; looked up in the generated hash table.
pub(crate) fn unit_key(section: &str, key: &str) -> Option<&'static UnitKey> {
    use crate::generated::unit_keys::{UNIT_KEYS, UNIT_KEYS_HASHED};
    let mask = UNIT_KEYS_HASHED.len().checked_sub(1)?;
    let mut slot = crate::table_index::key_hash(section, key) as usize & mask;
    for _ in 0..UNIT_KEYS_HASHED.len() {
        // An empty slot (`u16::MAX`) is no position: not found.
        let k = UNIT_KEYS.get(usize::from(*UNIT_KEYS_HASHED.get(slot)?))?;
        if k.section() == section && k.name() == key {
            return Some(k);
        }
        slot = (slot + 1) & mask;
    }
    None
}

/// The sections of a service unit.
pub const SERVICE_SECTIONS: &[&str] = &["Unit", "Service", "Install"];

impl Effective {
    /// Nothing read yet, for unit `unit` (specifiers expand for it).
    pub fn new(unit: &str) -> Effective {
        Effective::with_specifiers(specifier::Context::new(unit, None))
    }

    /// Nothing read yet, with the given specifier context.
    pub fn with_specifiers(specifiers: specifier::Context) -> Effective {
        // Without a specifier in any default, the fresh states are the same
        // for every unit: made once per process.
        static SHARED: std::sync::OnceLock<Option<Effective>> = std::sync::OnceLock::new();
        let shared = SHARED.get_or_init(|| {
            Effective::fresh_shared().then(|| Effective::made(specifier::Context::new("", None)))
        });
        match shared {
            Some(e) => Effective {
                specifiers,
                ..e.clone()
            },
            None => Effective::made(specifiers),
        }
    }

    /// Nothing read yet, as [`Effective::with_specifiers`] gives, then
    /// `file` read as [`Effective::read_shared`] reads it; `true` where
    /// reading stopped.
    ///
    /// Reading depends on the unit only where a specifier expands: a file
    /// without any `%` read onto the fresh states (the same for every unit
    /// where no default holds a specifier) leaves the same settings for
    /// every unit, logs and origins included. Such a file read again by
    /// name and bytes is not read: what it left is copied, with this
    /// unit's specifiers.
    pub fn read_first(
        specifiers: specifier::Context,
        file: &str,
        bytes: &[u8],
        replays: &mut Replays,
    ) -> (Effective, bool) {
        if !Effective::fresh_shared() {
            let mut e = Effective::with_specifiers(specifiers);
            let stopped = e.read_shared(file, bytes, replays);
            return (e, stopped);
        }
        if bytes.contains(&b'%') {
            return Effective::read_first_partly(specifiers, file, bytes, replays);
        }
        let mut e = Effective::with_specifiers(specifiers);
        if let Some((_, _, kept, stopped)) = replays
            .first
            .iter()
            .find(|(f, b, _, _)| f == file && b.as_slice() == bytes)
        {
            let specifiers =
                std::mem::replace(&mut e.specifiers, specifier::Context::new("", None));
            let mut copy = kept.clone();
            copy.specifiers = specifiers;
            replays.replayed += 1;
            return (copy, *stopped);
        }
        let stopped = e.read_shared(file, bytes, replays);
        if replays.first.len() < Replays::FIRST_FILES && bytes.len() <= Replays::KEPT_BYTES {
            replays
                .first
                .push((file.to_owned(), bytes.to_vec(), e.clone(), stopped));
        }
        (e, stopped)
    }

    /// [`Effective::read_first`] of a file with `%` in it: the lines of
    /// storages without one are read once for every unit ([`Partial`]).
    fn read_first_partly(
        specifiers: specifier::Context,
        file: &str,
        bytes: &[u8],
        replays: &mut Replays,
    ) -> (Effective, bool) {
        let lexed = replays.lex(file, bytes);
        let assignments = &lexed.assignments;
        // This unit's own lines read onto the others' settings; `None`
        // where one of them is fatal for this unit (its specifiers
        // expanding to what the parser refuses).
        let finish = |mut e: Effective, lines: &[(usize, Resolved)]| {
            let mine: Vec<(&lexer::Assignment, &Resolved)> = lines
                .iter()
                .filter_map(|(i, r)| Some((assignments.get(*i)?, r)))
                .collect();
            if mine.iter().any(|(a, r)| e.fatal_error(a, r).is_some()) {
                return None;
            }
            for (a, r) in &mine {
                e.apply_resolved(file, a, r);
            }
            // Only this file was read: its log in line order is the
            // order reading gives.
            e.untyped_log.sort_by_key(|u| u.origin.line);
            Some(e)
        };
        let plain = |specifiers, replays: &mut Replays| {
            let mut e = Effective::with_specifiers(specifiers);
            let stopped = e.read_shared(file, bytes, replays);
            (e, stopped)
        };
        if let Some(kept) = replays
            .partial
            .iter()
            .find(|p| p.file == file && p.bytes == bytes)
        {
            let mut e = kept.effective.clone();
            e.specifiers = specifiers.clone();
            let stopped = kept.stopped;
            return match finish(e, &kept.lines) {
                Some(e) => {
                    replays.replayed += 1;
                    (e, stopped)
                }
                None => plain(specifiers, replays),
            };
        }
        let mut e = Effective::with_specifiers(specifiers);
        let resolved: Vec<Resolved> = assignments.iter().map(Resolved::of).collect();
        let fatal = assignments
            .iter()
            .zip(&resolved)
            .any(|(a, r)| e.fatal_error(a, r).is_some());
        if fatal
            || bytes.len() > Replays::KEPT_BYTES
            || replays.partial.len() >= Replays::FIRST_FILES
        {
            let stopped = e.read_shared(file, bytes, replays);
            return (e, stopped);
        }
        // The storages some line with a specifier sets.
        let storage = |r: &Resolved| match r.directive {
            Some(d) => Ok(d.storage_rank()),
            None => Err(r.key.map(untyped_storage)),
        };
        let per_unit: Vec<_> = assignments
            .iter()
            .zip(&resolved)
            .filter(|(a, _)| a.value.contains('%'))
            .map(|(_, r)| storage(r))
            .collect();
        let mut lines = Vec::new();
        e.diagnostics.extend(lexed.diagnostics.iter().cloned());
        let logged = (e.diagnostics.len(), e.shared_resets.len());
        for (i, (a, r)) in assignments.iter().zip(&resolved).enumerate() {
            if per_unit.contains(&storage(r)) {
                lines.push((i, *r));
            } else {
                e.apply_resolved(file, a, r);
            }
        }
        if logged != (e.diagnostics.len(), e.shared_resets.len()) {
            // What those lines logged would come before the other lines'
            // logs: read as reading gives it.
            return plain(e.specifiers, replays);
        }
        replays.partial.push(Partial {
            file: file.to_owned(),
            bytes: bytes.to_vec(),
            effective: e.clone(),
            lines: lines.clone(),
            stopped: lexed.stopped,
        });
        let specifiers = e.specifiers.clone();
        match finish(e, &lines) {
            Some(e) => (e, lexed.stopped),
            None => plain(specifiers, replays),
        }
    }

    /// Whether the fresh states are the same for every unit (no default
    /// holds a specifier).
    fn fresh_shared() -> bool {
        static SHARED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *SHARED.get_or_init(|| {
            !Directive::ALL
                .iter()
                .any(|d| d.spec().default.is_some_and(|v| v.contains('%')))
        })
    }

    /// Every storage at its default, defaults applied for `specifiers`.
    fn made(specifiers: specifier::Context) -> Effective {
        // The first directive of each storage gives its state.
        let mut fresh: Vec<Option<State>> =
            Directive::storage_names().iter().map(|_| None).collect();
        for d in Directive::ALL {
            let spec = d.spec();
            if !fresh.get(d.storage_rank()).is_some_and(Option::is_none) {
                continue;
            }
            let mut state = spec.kind.fresh();
            if let Some(default) = spec.default {
                let mut ignored = Vec::new();
                let mut cx = Apply {
                    directive: *d,
                    lvalue: spec.name,
                    file: "",
                    line: 0,
                    specifiers: &specifiers,
                    diagnostics: &mut ignored,
                };
                state.apply(&mut cx, default);
            }
            if let Some(at) = fresh.get_mut(d.storage_rank()) {
                *at = Some(state);
            }
        }
        // Every storage is some directive's: none is left out.
        let fresh: Vec<State> = fresh.into_iter().flatten().collect();
        let typed = fresh
            .iter()
            .map(|s| {
                std::sync::Arc::new(Slot {
                    state: std::sync::Arc::new(s.clone()),
                    origins: Vec::new(),
                    values: Default::default(),
                    keys: Default::default(),
                    reset: false,
                })
            })
            .collect();
        Effective {
            specifiers,
            typed,
            fresh: std::sync::Arc::new(fresh),
            raw: BTreeMap::new(),
            untyped_log: Vec::new(),
            fatal: None,
            diagnostics: Vec::new(),
            shared_resets: Vec::new(),
            last_file: None,
        }
    }

    /// `file` as an origin's: the name of the file read last again where
    /// it is that file, so that one file's lines share one name.
    fn file_name(&mut self, file: &str) -> std::sync::Arc<str> {
        match &self.last_file {
            Some(f) if **f == *file => f.clone(),
            _ => {
                let f: std::sync::Arc<str> = file.into();
                self.last_file = Some(f.clone());
                f
            }
        }
    }

    /// The effective settings of a unit of `unit` holding only `composed`'s
    /// lines (rendered, then read back as systemd reads them).
    pub fn of(composed: &Composed, unit: &str) -> Effective {
        let mut e = Effective::new(unit);
        for (i, (a, _)) in composed.assignments().iter().enumerate() {
            e.apply_generated(i + 1, &crate::render::assignment_line(a));
        }
        e.finish();
        e
    }

    /// Applies line number `line` of a generated file, `Key=value`.
    fn apply_generated(&mut self, line: usize, text: &str) {
        let (key, value) = text.split_once('=').unwrap_or((text, ""));
        self.apply(
            "(generated)",
            &lexer::Assignment {
                section: "Service",
                key: key.to_owned(),
                value: value.to_owned(),
                line,
            },
        );
    }

    /// Reads a whole file (lexed as systemd lexes it) on top of what is
    /// there. Returns whether reading stopped before the end of the file
    /// (invalid UTF-8, a bad section header, a line of 1 MiB), which makes
    /// systemd refuse a unit's fragment; a drop-in just ends there.
    ///
    /// An assignment systemd's parser refuses with a fatal error (see
    /// [`Effective::fatal`]) also stops the file there: systemd then
    /// refuses a fragment, and skips the rest of a drop-in.
    pub fn read(&mut self, file: &str, bytes: &[u8]) -> bool {
        let lexed = lexer::lex(file, bytes, SERVICE_SECTIONS);
        self.diagnostics.extend(lexed.diagnostics);
        for a in &lexed.assignments {
            if self.apply_checked(file, a, &Resolved::of(a)) {
                return true;
            }
        }
        lexed.stopped
    }

    /// [`Effective::read`], with what reading the same lines did before
    /// kept in `replays` and replayed where that is provably the same (see
    /// [`Replays`]). The result, origins and logs included, is exactly
    /// what [`Effective::read`] gives.
    pub fn read_shared(&mut self, file: &str, bytes: &[u8], replays: &mut Replays) -> bool {
        let lexed = replays.lex(file, bytes);
        self.diagnostics.extend(lexed.diagnostics.iter().cloned());
        let assignments = &lexed.assignments;
        let resolved: Vec<Resolved> = assignments.iter().map(Resolved::of).collect();
        // A fatal line stops the file there: such a file is read line by
        // line, as `read` does.
        if assignments
            .iter()
            .zip(&resolved)
            .any(|(a, r)| self.fatal_error(a, r).is_some())
        {
            for (a, r) in assignments.iter().zip(&resolved) {
                if self.apply_checked(file, a, r) {
                    return true;
                }
            }
            return lexed.stopped;
        }
        // The lines of each typed storage, in order.
        let mut groups: Vec<Group> = Vec::new();
        let mut of_line: Vec<Option<usize>> = Vec::with_capacity(assignments.len());
        for (i, r) in resolved.iter().enumerate() {
            let storage = r
                .directive
                .map(Directive::storage_rank)
                .filter(|k| *k < self.typed.len());
            of_line.push(
                storage.map(|k| match groups.iter().position(|g| g.rank == k) {
                    Some(g) => {
                        groups[g].lines.push(i);
                        g
                    }
                    None => {
                        groups.push(Group {
                            rank: k,
                            lines: vec![i],
                            from: 0,
                            done: 0,
                            steps: None,
                            quiet: true,
                        });
                        groups.len() - 1
                    }
                }),
            );
        }
        for g in &mut groups {
            let shared = self.untouched(g.rank)
                && !g.lines.iter().any(|i| assignments[*i].value.contains('%'));
            if !shared {
                continue;
            }
            // The kept lines that begin as this file's do, the most of
            // them: the storage after them is this storage after as many
            // of its lines (the same lines onto the same untouched storage).
            let kept = replays.seen.get(g.rank).map_or(&[][..], Vec::as_slice);
            let best = kept
                .iter()
                .map(|(lines, steps)| {
                    let p = lines
                        .iter()
                        .zip(&g.lines)
                        .take_while(|(k, i)| **k == assignments[**i])
                        .count();
                    (p, p.checked_sub(1).and_then(|at| steps.get(at)))
                })
                .filter_map(|(p, step)| Some((p, step?)))
                .max_by_key(|(p, _)| *p);
            let Some((from, step)) = best else {
                // Nothing kept begins so: kept once read, if there is room.
                if kept.len() < Replays::PER_STORAGE {
                    g.steps = Some(Vec::with_capacity(g.lines.len()));
                }
                continue;
            };
            let mut slot = step.clone();
            let name = self.file_name(file);
            for o in &mut slot.origins {
                o.file = name.clone();
            }
            if let Some(at) = self.typed.get_mut(g.rank) {
                *at = std::sync::Arc::new(slot);
            }
            g.from = from;
            replays.replayed += 1;
        }
        for ((a, r), g) in assignments.iter().zip(&resolved).zip(&of_line) {
            match g.map(|g| &mut groups[g]) {
                Some(g) if g.done < g.from => g.done += 1,
                Some(g) => {
                    let logged = (self.diagnostics.len(), self.shared_resets.len());
                    self.apply_resolved(file, a, r);
                    g.quiet &= logged == (self.diagnostics.len(), self.shared_resets.len());
                    g.done += 1;
                    if let (Some(steps), Some(slot)) = (g.steps.as_mut(), self.typed.get(g.rank)) {
                        steps.push(Slot::clone(slot));
                    }
                }
                None => self.apply_resolved(file, a, r),
            }
        }
        for g in groups.iter_mut().filter(|g| g.quiet) {
            let Some(steps) = g.steps.take() else {
                continue;
            };
            if replays.seen.len() <= g.rank {
                replays.seen.resize_with(g.rank + 1, Vec::new);
            }
            // (Room was checked when `steps` was begun.)
            let Some(kept) = replays.seen.get_mut(g.rank) else {
                continue;
            };
            if steps.len() != g.lines.len() {
                continue;
            }
            let lines = g.lines.iter().map(|i| assignments[*i].clone()).collect();
            kept.push((lines, steps));
        }
        lexed.stopped
    }

    /// Whether `storage` is as nothing read left it.
    fn untouched(&self, rank: usize) -> bool {
        match (self.typed.get(rank), self.fresh.get(rank)) {
            (Some(slot), Some(fresh)) => {
                slot.origins.is_empty()
                    && slot.values.is_empty()
                    && slot.keys.is_empty()
                    && !slot.reset
                    && *slot.state == *fresh
            }
            _ => false,
        }
    }

    /// Applies one assignment; `true` when its parser fails fatally
    /// (the assignment is then not applied).
    fn apply_checked(&mut self, file: &str, a: &lexer::Assignment, r: &Resolved) -> bool {
        if let Some(message) = self.fatal_error(a, r) {
            let d = Diagnostic::new(file, a.line, lexer::Level::Error, message);
            self.diagnostics.push(d.clone());
            self.fatal.get_or_insert(d);
            return true;
        }
        self.apply_resolved(file, a, r);
        false
    }

    /// The first assignment read whose parser failed fatally (systemd's
    /// `-ENOEXEC`: in a fragment the unit then fails to load with
    /// "bad-setting"; in a drop-in the rest of that file is not read).
    pub fn fatal(&self) -> Option<&Diagnostic> {
        reads::note(|r| r.fatal = true);
        self.fatal.as_ref()
    }

    /// Whether an assignment of `directive` can make systemd's parser fail
    /// fatally (see [`Effective::fatal`]), by the same parser and `ltype`
    /// rule that decides it for a value.
    pub fn may_fail_fatally(directive: Directive) -> bool {
        fatal_parser(directive.spec().section, directive.name()).is_some()
    }

    /// Whether the model types `directive`'s storage (an untyped key is
    /// kept as text, see [`Effective::raw`]).
    pub fn types(&self, directive: Directive) -> bool {
        directive.storage_rank() < self.fresh.len()
    }

    /// The typed storages a value that counts was written for with a
    /// specifier in it: their state depends on the unit's name.
    pub fn specified_storages(&self) -> std::collections::BTreeSet<&'static str> {
        self.typed
            .iter()
            .zip(Directive::storage_names())
            .filter(|(slot, _)| slot.values.iter().any(|v| v.contains('%')))
            .map(|(_, storage)| *storage)
            .collect()
    }

    /// systemd's message when `a` makes its parser fail fatally, chosen by
    /// the key's parser and `ltype` in the generated key table (never by
    /// the key's name): `config_parse_user_group_compat()` and `_strv_compat()`
    /// (`User=`, `Group=`, `SupplementaryGroups=`: a bad name or
    /// specifier), `config_parse_bool()` with `ltype` true (`DynamicUser=`)
    /// and `config_parse_unit_path_printf()` with `ltype` true
    /// (`RootDirectory=`, `RootImage=`, `RootVerity=`). Other parsers, such
    /// as `ExecStart=`'s, are not covered.
    fn fatal_error(&self, a: &lexer::Assignment, r: &Resolved) -> Option<String> {
        use crate::systemd::user::valid_user_group_name;
        let parser = fatal_parser_of(r.key?)?;
        let v = a.value.as_str();
        let user = |name: &str| -> Option<String> {
            let Some(k) = self.expand(name) else {
                return Some(format!(
                    "Failed to resolve unit specifiers in {name}: Invalid argument"
                ));
            };
            (!valid_user_group_name(&k, true))
                .then(|| format!("Invalid user/group name or numeric ID: {k}"))
        };
        match parser {
            _ if v.is_empty() && parser != FatalParser::Bool => None,
            FatalParser::User => user(v),
            FatalParser::UserList => {
                let mut words = crate::systemd::extract::Cursor::new(v);
                loop {
                    match words.next_word(None, crate::systemd::extract::Flags::NONE) {
                        Ok(Some(w)) => {
                            if let Some(m) = user(&w) {
                                return Some(m);
                            }
                        }
                        Ok(None) => return None,
                        Err(_) => return Some(format!("Invalid syntax: {v}")),
                    }
                }
            }
            FatalParser::Bool => crate::systemd::number::parse_boolean(v)
                .is_none()
                .then(|| format!("Failed to parse {}={v}: Invalid argument", a.key)),
            FatalParser::UnitPath => {
                let Some(k) = self.expand_path(v) else {
                    return Some(format!(
                        "Failed to resolve unit specifiers in '{v}': Invalid argument"
                    ));
                };
                crate::systemd::path::simplify_absolute(&k, &a.key).err()
            }
        }
    }

    /// Applies one assignment, as systemd's parser for its key does.
    pub fn apply(&mut self, file: &str, a: &lexer::Assignment) {
        self.apply_resolved(file, a, &Resolved::of(a));
    }

    /// [`Effective::apply`] with `a`'s key already looked up.
    fn apply_resolved(&mut self, file: &str, a: &lexer::Assignment, r: &Resolved) {
        let origin = Origin {
            file: self.file_name(file),
            line: a.line,
        };
        let Some(d) = r.directive else {
            self.apply_untyped(a, r.key, origin);
            return;
        };
        let spec = d.spec();
        let Some(slot) = self
            .typed
            .get_mut(d.storage_rank())
            .map(std::sync::Arc::make_mut)
        else {
            return;
        };
        if a.value.is_empty() && spec.merge() != Merge::Single {
            for other in d.sharing_storage().iter().filter(|o| **o != d) {
                let lines = slot.state.lines(*other);
                if !lines.is_empty() {
                    self.shared_resets.push(SharedReset {
                        at: origin.clone(),
                        reset: d,
                        cleared: *other,
                        lines,
                    });
                }
            }
        }
        let mut cx = Apply {
            directive: d,
            lvalue: &a.key,
            file,
            line: a.line,
            specifiers: &self.specifiers,
            diagnostics: &mut self.diagnostics,
        };
        let before = cx.diagnostics.len();
        std::sync::Arc::make_mut(&mut slot.state).apply(&mut cx, &a.value);
        let ignored = cx.diagnostics.len() > before && a.value.is_empty();
        if ignored {
            return;
        }
        if a.value.is_empty() && spec.merge() != Merge::Single {
            slot.origins.clear();
            slot.values = Default::default();
            slot.keys = Default::default();
            slot.reset = true;
        }
        if spec.merge() == Merge::Single {
            slot.origins = vec![origin];
            slot.values = std::sync::Arc::new(vec![a.value.clone()]);
            slot.keys = std::sync::Arc::new(vec![d]);
        } else {
            slot.origins.push(origin);
            if !a.value.is_empty() {
                std::sync::Arc::make_mut(&mut slot.values).push(a.value.clone());
                std::sync::Arc::make_mut(&mut slot.keys).push(d);
            }
        }
    }

    /// The values assigned to `directive`'s storage that count, as written.
    pub fn origin_values(&self, directive: Directive) -> &[String] {
        reads::storage(directive.storage());
        self.typed
            .get(directive.storage_rank())
            .map_or(&[], |s| s.values.as_slice())
    }

    /// Whether `directive`'s storage was reset by an empty assignment
    /// before the values that count.
    pub fn was_reset(&self, directive: Directive) -> bool {
        reads::storage(directive.storage());
        self.typed
            .get(directive.storage_rank())
            .is_some_and(|s| s.reset)
    }

    /// What systemd changes once every file is read
    /// (`unit_patch_contexts()` of `src/core/unit.c`): `PrivateDevices=`,
    /// `ProtectKernelModules=`, `ProtectKernelLogs=` and `ProtectClock=`
    /// take the capabilities they make useless out of the bounding set.
    pub fn finish(&mut self) {
        use crate::value::Boolean;
        const DROPS: &[(Directive, &[u32])] = &[
            // CAP_MKNOD, CAP_SYS_RAWIO
            (Directive::PrivateDevices, &[27, 17]),
            // CAP_SYS_MODULE
            (Directive::ProtectKernelModules, &[16]),
            // CAP_SYSLOG
            (Directive::ProtectKernelLogs, &[34]),
            // CAP_SYS_TIME, CAP_WAKE_ALARM
            (Directive::ProtectClock, &[25, 35]),
        ];
        let mut drop = 0u64;
        for (d, caps) in DROPS {
            if self.get::<Boolean>(*d) == Some(&Some(true)) {
                drop |= caps.iter().fold(0, |m, c| m | (1 << c));
            }
        }
        if drop == 0 {
            return;
        }
        if let Some(slot) = self
            .typed
            .get_mut(Directive::CapabilityBoundingSet.storage_rank())
            .map(std::sync::Arc::make_mut)
            && let State::Capabilities(mask) = std::sync::Arc::make_mut(&mut slot.state)
        {
            *mask &= !drop;
        }
    }

    /// Applies an assignment of a key the model does not type, as systemd's
    /// key table (generated from systemd 257) says: an unknown key is
    /// logged and ignored, a removed one too; otherwise its values are
    /// kept as text, an empty assignment resetting or being refused as its
    /// parser does, a repeated one replacing or adding as its parser does.
    fn apply_untyped(
        &mut self,
        a: &lexer::Assignment,
        key: Option<&'static UnitKey>,
        origin: Origin,
    ) {
        use crate::generated::unit_keys::{Empty, KeyKind, PARSERS, Repeat};
        let warn = |e: &mut Effective, message: String| {
            e.diagnostics.push(Diagnostic::new(
                &origin.file,
                origin.line,
                lexer::Level::Warning,
                message,
            ));
        };
        let Some(key) = key else {
            if !a.key.starts_with("X-") {
                warn(
                    self,
                    format!(
                        "Unknown key '{}' in section [{}], ignoring.",
                        a.key, a.section
                    ),
                );
            }
            return;
        };
        match key.kind {
            KeyKind::Parsed => {}
            KeyKind::RemovedLegacy => {
                warn(
                    self,
                    format!(
                        "Support for option {}= has been removed and it is ignored",
                        a.key
                    ),
                );
                return;
            }
            KeyKind::Unsupported => {
                warn(
                    self,
                    format!(
                        "Support for option {}= has not yet been enabled and it is ignored",
                        a.key
                    ),
                );
                return;
            }
            KeyKind::CompiledOut | KeyKind::InstallOnly => return,
        }
        let (section, name) = untyped_storage(key);
        self.untyped_log.push(UntypedAssignment {
            section,
            key: name,
            value: a.value.clone(),
            origin: origin.clone(),
        });
        let parser = key
            .parser()
            .and_then(|p| PARSERS.binary_search_by(|x| x.name().cmp(p)).ok())
            .and_then(|i| PARSERS.get(i));
        let (empty, repeat) =
            parser.map_or((Empty::Other, Repeat::Unknown), |p| (p.empty, p.repeat));
        if a.value.is_empty() && empty == Empty::Refused {
            warn(
                self,
                format!("Failed to parse {}=, ignoring: Invalid argument", a.key),
            );
            return;
        }
        let raw = std::sync::Arc::make_mut(self.raw.entry((section, name)).or_default());
        if a.value.is_empty() && empty == Empty::Resets {
            *raw = Raw {
                reset: true,
                values: Vec::new(),
                origins: vec![origin],
            };
        } else if repeat == Repeat::LastWins {
            raw.values = vec![a.value.clone()];
            raw.origins = vec![origin];
        } else {
            raw.values.push(a.value.clone());
            raw.origins.push(origin);
        }
    }

    /// What systemd holds for `directive`'s storage.
    pub fn state(&self, directive: Directive) -> Option<&State> {
        reads::storage(directive.storage());
        self.typed.get(directive.storage_rank()).map(|s| &*s.state)
    }

    /// The state of `directive` as its kind's type.
    pub fn get<K: StateOf>(&self, directive: Directive) -> Option<&K::State> {
        self.state(directive).and_then(K::state)
    }

    /// `directive`'s canonical lines (its default where nothing set it).
    pub fn lines(&self, directive: Directive) -> Vec<String> {
        self.state(directive)
            .map(|s| s.lines(directive))
            .unwrap_or_default()
    }

    /// `directive`'s `Key=value` lines as `systemd-run --property=` takes
    /// them (see [`crate::ValueKind::properties`]).
    pub fn properties(&self, directive: Directive) -> Vec<String> {
        self.state(directive)
            .map(|s| s.properties(directive))
            .unwrap_or_default()
    }

    /// Whether any assignment touched `directive`'s storage, or it differs
    /// from where systemd starts.
    pub fn is_set(&self, directive: Directive) -> bool {
        reads::storage(directive.storage());
        let rank = directive.storage_rank();
        match (self.typed.get(rank), self.fresh.get(rank)) {
            (Some(slot), Some(fresh)) => {
                !slot.origins.is_empty() || slot.state.lines(directive) != fresh.lines(directive)
            }
            _ => false,
        }
    }

    /// Where the assignments that count for `directive`'s storage came from.
    pub fn origins(&self, directive: Directive) -> &[Origin] {
        reads::note(|r| r.origins = true);
        self.typed
            .get(directive.storage_rank())
            .map_or(&[], |s| s.origins.as_slice())
    }

    /// The lines of `directive`'s assignments that give its canonical
    /// line `item` (`BindPaths=/a /b` gives `/a` and `/b`): each value
    /// that counts applied alone, as systemd's parser does. All of the
    /// directive's origins where no value alone gives `item`.
    pub fn item_origins(&self, directive: Directive, item: &str) -> Vec<Origin> {
        reads::note(|r| r.origins = true);
        let Some(slot) = self.typed.get(directive.storage_rank()) else {
            return Vec::new();
        };
        // A leading empty assignment has an origin but no value.
        let skip = slot.origins.len().saturating_sub(slot.values.len());
        if directive.spec().merge() == Merge::Single || skip > 1 {
            return slot.origins.clone();
        }
        let mut scratch = Vec::new();
        let found: Vec<Origin> = slot.origins[skip..]
            .iter()
            .zip(slot.values.iter().zip(slot.keys.iter()))
            .filter(|(o, (v, key))| {
                // Applied as written (a BindPaths= value to a shared bind
                // list gives no BindReadOnlyPaths= item).
                let mut state = key.spec().kind.fresh();
                let mut cx = Apply {
                    directive: **key,
                    lvalue: key.name(),
                    file: &o.file,
                    line: o.line,
                    specifiers: &self.specifiers,
                    diagnostics: &mut scratch,
                };
                state.apply(&mut cx, v);
                state.lines(directive).iter().any(|l| l == item)
            })
            .map(|(o, _)| o.clone())
            .collect();
        if found.is_empty() {
            slot.origins.clone()
        } else {
            found
        }
    }

    /// Every directive set here, or value of one, that systemd `target`
    /// does not know.
    pub fn too_new(&self, target: u32) -> Vec<crate::directive::TooNew> {
        Directive::ALL
            .iter()
            .filter(|d| !self.origins(**d).is_empty())
            .flat_map(|d| {
                let values: Vec<crate::Value> = self
                    .origin_values(*d)
                    .iter()
                    .filter_map(|v| crate::Value::parse(*d, v).ok())
                    .collect();
                crate::directive::too_new(*d, &values, target)
            })
            .collect()
    }

    /// `text` with specifiers expanded for this unit (`unit_full_printf()`),
    /// or `None` where systemd would refuse it.
    pub fn expand(&self, text: &str) -> Option<String> {
        Self::note_specifiers(text);
        match self.specifiers.expand(text, lexer::LONG_LINE_MAX).ok()? {
            specifier::Expansion::Done(s) | specifier::Expansion::HostDependent(s) => Some(s),
        }
    }

    /// `text` with specifiers expanded as `unit_path_printf()` does (at
    /// most `PATH_MAX - 1` bytes), or `None` where systemd would refuse it.
    pub fn expand_path(&self, text: &str) -> Option<String> {
        Self::note_specifiers(text);
        match self
            .specifiers
            .expand(text, crate::systemd::path::PATH_MAX - 1)
            .ok()?
        {
            specifier::Expansion::Done(s) | specifier::Expansion::HostDependent(s) => Some(s),
        }
    }

    /// An expansion reads the unit's name when there is a specifier to
    /// expand.
    fn note_specifiers(text: &str) {
        if text.contains('%') {
            reads::note(|r| r.name = true);
        }
    }

    /// Every assignment of a key the model does not type (and that
    /// systemd parses), in the order read, empty ones included: for
    /// emulating that key's own parser, including the values it refuses
    /// and keeps the earlier one for.
    pub fn untyped_log(&self) -> &[UntypedAssignment] {
        reads::note(|r| r.untyped = true);
        &self.untyped_log
    }

    /// The unit these settings are for.
    pub fn unit(&self) -> &str {
        reads::note(|r| r.name = true);
        &self.specifiers.id
    }

    /// A key the model does not type.
    pub fn raw(&self, section: &str, key: &str) -> Option<&Raw> {
        reads::note(|r| r.untyped = true);
        // The keys are the table's (`'static`): found by comparing, a few
        // dozen at most.
        self.raw
            .iter()
            .find(|((s, k), _)| *s == section && *k == key)
            .map(|(_, r)| &**r)
    }

    /// The values of an untyped `[Service]` key after the last reset.
    pub fn service_values(&self, key: &str) -> &[String] {
        self.raw("Service", key)
            .map_or(&[], |r| r.values.as_slice())
    }

    /// Every untyped key.
    pub fn raw_keys(&self) -> impl Iterator<Item = (&(&'static str, &'static str), &Raw)> {
        reads::note(|r| r.untyped = true);
        self.raw.iter().map(|(k, r)| (k, &**r))
    }

    /// Empty assignments that cleared another directive's lines from the
    /// storage they share.
    pub fn shared_resets(&self) -> &[SharedReset] {
        reads::note(|r| r.diagnostics = true);
        &self.shared_resets
    }

    /// What systemd would have logged while reading.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        reads::note(|r| r.diagnostics = true);
        &self.diagnostics
    }

    /// The semantic differences from `self` to `new`, in registry order,
    /// then untyped keys by section and name.
    pub fn changes(&self, new: &Effective) -> Vec<Change> {
        reads::note(Reads::everything);
        let mut out = Vec::new();
        for d in Directive::ALL {
            let (Some(old), Some(n), Some(fresh)) = (
                self.state(*d),
                new.state(*d),
                self.fresh.get(d.storage_rank()),
            ) else {
                continue;
            };
            let touched = |e: &Effective| !e.origins(*d).is_empty();
            let (old_set, new_set) = (touched(self), touched(new));
            for delta in old.changes(*d, n, fresh) {
                // A value set to the default on one side still reads as a
                // change of that value, not as an addition.
                let delta = match delta {
                    Delta::Added(v) if old_set && d.spec().merge() == Merge::Single => {
                        Delta::Changed(self.lines(*d).join(" "), v)
                    }
                    Delta::Removed(v) if new_set && d.spec().merge() == Merge::Single => {
                        Delta::Changed(v, new.lines(*d).join(" "))
                    }
                    other => other,
                };
                // An item only one side has came from that side's lines
                // that give it.
                let (old_origins, new_origins) = match &delta {
                    Delta::Added(v) => (self.origins(*d).to_vec(), new.item_origins(*d, v)),
                    Delta::Removed(v) => (self.item_origins(*d, v), new.origins(*d).to_vec()),
                    Delta::Changed(..) => (self.origins(*d).to_vec(), new.origins(*d).to_vec()),
                };
                out.push(Change {
                    key: d.name().to_owned(),
                    directive: Some(*d),
                    delta,
                    old_origins,
                    new_origins,
                });
            }
        }
        let keys: std::collections::BTreeSet<&(&'static str, &'static str)> =
            self.raw.keys().chain(new.raw.keys()).collect();
        for k in keys {
            let (a, b) = (self.raw.get(k), new.raw.get(k));
            let values =
                |r: Option<&std::sync::Arc<Raw>>| r.map(|r| r.values.clone()).unwrap_or_default();
            let (va, vb) = (values(a), values(b));
            if va == vb && a.map(|r| r.reset) == b.map(|r| r.reset) {
                continue;
            }
            let delta = match (va.is_empty(), vb.is_empty()) {
                (true, false) => Delta::Added(vb.join(" ")),
                (false, true) => Delta::Removed(va.join(" ")),
                _ => Delta::Changed(va.join(" "), vb.join(" ")),
            };
            out.push(Change {
                key: k.1.to_owned(),
                directive: None,
                delta,
                old_origins: a.map(|r| r.origins.clone()).unwrap_or_default(),
                new_origins: b.map(|r| r.origins.clone()).unwrap_or_default(),
            });
        }
        out
    }
}

/// One line of a semantic difference between two units' settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// The key.
    pub key: String,
    /// The directive, where the model types it.
    #[serde(skip)]
    pub directive: Option<Directive>,
    /// What changed.
    #[serde(flatten)]
    pub delta: Delta,
    /// Where the old side's value came from.
    pub old_origins: Vec<Origin>,
    /// Where the new side's value came from.
    pub new_origins: Vec<Origin>,
}

/// `""` for an empty value, the value otherwise.
fn shown(v: &str) -> &str {
    if v.is_empty() { "\"\"" } else { v }
}

impl fmt::Display for Change {
    /// `+ PrivatePIDs=yes`, `- ProcSubset=pid`, `~ UMask 0022 -> 0027`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.delta {
            Delta::Added(v) => write!(f, "+ {}={v}", self.key),
            Delta::Removed(v) => write!(f, "- {}={v}", self.key),
            Delta::Changed(a, b) => write!(f, "~ {} {} -> {}", self.key, shown(a), shown(b)),
        }
    }
}

impl fmt::Display for Effective {
    /// One `Key=value` line per line of every directive set and every
    /// untyped key, as summaries show them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in Directive::ALL {
            if !self.is_set(*d) {
                continue;
            }
            for l in self.lines(*d) {
                writeln!(f, "{}={l}", d.name())?;
            }
        }
        for ((_, k), raw) in &self.raw {
            if raw.reset {
                writeln!(f, "{k}=")?;
            }
            for v in &raw.values {
                writeln!(f, "{k}={v}")?;
            }
        }
        Ok(())
    }
}

/// The effective settings of one composition for many units: what
/// [`Effective::of`] gives for each of them, computed once for the lines
/// that read the same in every unit.
///
/// A storage is *per unit* when any line of it holds a specifier (`%`):
/// its lines expand differently in each unit (`%i`, `%n`), from its first
/// line with a specifier on. Every other line reads the same for every
/// unit and is applied once; for a unit, only those lines are applied, on
/// a copy. A line changes its own storage only, so the result equals
/// [`Effective::of`], values and line numbers alike, and the logs are
/// kept in line order.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The shared lines applied (`finish` not yet run); `None` when
    /// nothing can be shared (a directive default with a specifier).
    base: Option<Effective>,
    /// Every line: its number, its text and whether it is applied per unit.
    lines: Vec<(usize, String, bool)>,
}

impl Prepared {
    /// Prepares `composed` for many units.
    pub fn new(composed: &Composed) -> Prepared {
        let assignments = composed.assignments();
        let texts: Vec<String> = assignments
            .iter()
            .map(|(a, _)| crate::render::assignment_line(a))
            .collect();
        // Each storage's first line with a specifier: the lines of that
        // storage before it read the same for every unit and are applied
        // once too (a storage is changed by its own lines only, in order).
        let mut first_per_unit: std::collections::BTreeMap<usize, usize> =
            std::collections::BTreeMap::new();
        for (i, ((a, _), t)) in assignments.iter().zip(&texts).enumerate() {
            if t.contains('%') {
                first_per_unit
                    .entry(a.directive.storage_rank())
                    .or_insert(i);
            }
        }
        let lines: Vec<(usize, String, bool)> = assignments
            .iter()
            .zip(texts)
            .enumerate()
            .map(|(i, ((a, _), t))| {
                let per_unit = first_per_unit
                    .get(&a.directive.storage_rank())
                    .is_some_and(|first| i >= *first);
                (i + 1, t, per_unit)
            })
            .collect();
        // Defaults are applied with the unit's specifiers: with one that
        // holds a specifier, no state is the same in every unit.
        let base = Effective::fresh_shared().then(|| {
            let mut e = Effective::new("");
            for (line, text, _) in lines.iter().filter(|(_, _, per_unit)| !per_unit) {
                e.apply_generated(*line, text);
            }
            e
        });
        Prepared { base, lines }
    }

    /// What [`Effective::of`] gives for the composition and `unit`.
    pub fn of(&self, unit: &str) -> Effective {
        let Some(base) = &self.base else {
            let mut e = Effective::new(unit);
            for (line, text, _) in &self.lines {
                e.apply_generated(*line, text);
            }
            e.finish();
            return e;
        };
        let mut e = base.clone();
        e.specifiers = specifier::Context::new(unit, None);
        let logged = (
            e.diagnostics.len(),
            e.shared_resets.len(),
            e.untyped_log.len(),
        );
        for (line, text, _) in self.lines.iter().filter(|(_, _, per_unit)| *per_unit) {
            e.apply_generated(*line, text);
        }
        // The logs in line order, as one pass over the file makes them (a
        // stable sort keeps the order within a line).
        if e.diagnostics.len() > logged.0 {
            e.diagnostics.sort_by_key(|d| d.line);
        }
        if e.shared_resets.len() > logged.1 {
            e.shared_resets.sort_by_key(|r| r.at.line);
        }
        if e.untyped_log.len() > logged.2 {
            e.untyped_log.sort_by_key(|u| u.origin.line);
        }
        e.finish();
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_storage_is_kept_at_its_rank() {
        let e = Effective::new("a.service");
        let n = Directive::storage_names().len();
        assert_eq!((e.typed.len(), e.fresh.len()), (n, n));
        for d in Directive::ALL {
            // The state at the rank is the storage's: it takes the
            // directive's lines.
            let fresh = e.fresh.get(d.storage_rank()).map(|s| s.lines(*d));
            assert_eq!(fresh, e.state(*d).map(|s| s.lines(*d)), "{d}");
        }
    }

    #[test]
    fn the_parsers_are_sorted_by_name_for_the_binary_search() {
        use crate::generated::unit_keys::PARSERS;
        assert!(PARSERS.windows(2).all(|w| w[0].name() < w[1].name()));
        // Every parser a key names is found.
        for k in crate::generated::unit_keys::UNIT_KEYS {
            if let Some(p) = k.parser() {
                assert!(PARSERS.binary_search_by(|x| x.name().cmp(p)).is_ok(), "{p}");
            }
        }
    }

    #[test]
    fn the_key_tables_texts_read_back_whole() {
        // The tables keep their texts as spans of one string: a span the
        // generator got wrong reads as a piece of a neighbour, or empty.
        use crate::generated::unit_keys::{PARSERS, UNIT_KEYS};
        let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        for k in UNIT_KEYS {
            assert!(
                ["Unit", "Service", "Install"].contains(&k.section()),
                "{k:?}"
            );
            // A key's name is one CamelCase word: a span shifted by a byte
            // starts in lower case or ends in the next text.
            assert!(
                word(k.name()) && k.name().starts_with(|c: char| c.is_ascii_uppercase()),
                "{k:?}"
            );
            assert!(!k.ltype().is_empty() && !k.storage().is_empty(), "{k:?}");
            assert!(
                k.parser().is_none_or(
                    |p| p.starts_with("config_parse_") && word(&p[13..].replace('_', ""))
                ),
                "{k:?}"
            );
            assert!(
                k.alias_of()
                    .and_then(|a| a.split_once('.'))
                    .is_none_or(|(s, n)| word(s) && word(n)),
                "{k:?}"
            );
        }
        for p in PARSERS {
            assert!(p.name().starts_with("config_parse_"), "{p:?}");
            assert!(
                p.file().starts_with("src/") && p.file().ends_with(".c"),
                "{p:?}"
            );
            assert!(p.repeat_evidence().all(|e| !e.is_empty()), "{p:?}");
        }
    }

    #[test]
    fn a_key_is_found_as_a_scan_of_the_table_finds_it() {
        use crate::generated::unit_keys::UNIT_KEYS;
        let scan = |section: &str, key: &str| {
            UNIT_KEYS
                .iter()
                .find(|k| k.section() == section && k.name() == key)
        };
        let mut asked = 0;
        for k in UNIT_KEYS {
            for (section, key) in [
                (k.section(), k.name()),
                ("Service", k.name()),
                ("Unit", k.name()),
                (k.section(), &k.name()[1..]),
            ] {
                assert_eq!(
                    unit_key(section, key),
                    scan(section, key),
                    "[{section}] {key}"
                );
                asked += 1;
            }
        }
        assert!(asked > 1000);
        assert!(unit_key("Service", "NoSuchKey").is_none());
        assert!(unit_key("Service", "").is_none());
    }

    fn eff(text: &str) -> Effective {
        let mut e = Effective::new("x.service");
        e.read("t", text.as_bytes());
        e
    }

    #[test]
    fn spelling_and_grouping_do_not_matter() {
        let a = eff(
            "[Service]\nPrivatePIDs=yes\nBindReadOnlyPaths=/a /b\nSystemCallArchitectures=x86 native\n",
        );
        let b = eff(
            "[Service]\nPrivatePIDs=1\nBindReadOnlyPaths=/a\nBindReadOnlyPaths=/b\nSystemCallArchitectures=native\nSystemCallArchitectures=x86 native\n",
        );
        assert_eq!(a, b);
        assert_eq!(eff("[Service]\nPrivateTmp=no\n"), eff("[Service]\n"));
    }

    #[test]
    fn an_item_comes_from_the_lines_that_give_it() {
        let o = |line| Origin {
            file: "t".into(),
            line,
        };
        let e = eff(
            "[Service]\nBindReadOnlyPaths=/old\nBindPaths=\nBindReadOnlyPaths=/a /b\n\
             BindPaths=/a\nBindReadOnlyPaths=-/c\nProtectSystem=full\nProtectSystem=strict\n",
        );
        // A shared bind list: each value as written, after the reset.
        assert_eq!(e.item_origins(Directive::BindReadOnlyPaths, "/b"), [o(4)]);
        assert_eq!(e.item_origins(Directive::BindReadOnlyPaths, "/a"), [o(4)]);
        assert_eq!(e.item_origins(Directive::BindPaths, "/a"), [o(5)]);
        assert_eq!(e.item_origins(Directive::BindReadOnlyPaths, "-/c"), [o(6)]);
        // Nothing gives it (the reset discarded it): every line counts.
        assert_eq!(
            e.item_origins(Directive::BindReadOnlyPaths, "/old"),
            [o(3), o(4), o(5), o(6)]
        );
        // A single value: its last line.
        assert_eq!(e.item_origins(Directive::ProtectSystem, "strict"), [o(8)]);
    }

    #[test]
    fn an_empty_bind_line_clears_both_bind_directives() {
        let e = eff("[Service]\nBindReadOnlyPaths=/a /b\nBindPaths=\nBindPaths=/c\n");
        assert_eq!(e.lines(Directive::BindReadOnlyPaths), Vec::<String>::new());
        assert_eq!(e.lines(Directive::BindPaths), ["/c"]);
    }

    #[test]
    fn order_of_binds_and_resets_matter() {
        assert_ne!(
            eff("[Service]\nBindPaths=/a /b\n"),
            eff("[Service]\nBindPaths=/b /a\n")
        );
        assert_eq!(
            eff("[Service]\nReadOnlyPaths=/x\nReadOnlyPaths=\nReadOnlyPaths=/y\n"),
            eff("[Service]\nReadOnlyPaths=/y\n")
        );
    }

    #[test]
    fn invalid_lines_are_skipped_and_reported() {
        let e = eff("[Service]\nProcSubset=\nProtectProc=invisible\u{a0}\nUMask=0027\n");
        assert_eq!(e.lines(Directive::UMask), ["0027"]);
        assert_eq!(e.lines(Directive::ProcSubset), ["all"]);
        let d: Vec<String> = e.diagnostics().iter().map(ToString::to_string).collect();
        assert_eq!(
            d,
            [
                "t:2: Failed to parse ProcSubset=, ignoring: Invalid argument",
                "t:3: Failed to parse ProtectProc=invisible\u{a0}, ignoring: Invalid argument",
            ]
        );
    }

    #[test]
    fn semantic_lines() {
        let old = eff("[Service]\nUMask=0022\nProcSubset=pid\n");
        let new = eff("[Service]\nUMask=0027\nPrivatePIDs=true\n");
        let lines: Vec<String> = old.changes(&new).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "~ UMask 0022 -> 0027",
                "+ PrivatePIDs=yes",
                "- ProcSubset=pid"
            ]
        );
        assert!(new.changes(&new).is_empty());
        let c = &old.changes(&new)[0];
        assert_eq!(c.old_origins[0].to_string(), "t:2");
    }

    #[test]
    fn summaries_use_canonical_spelling() {
        let e = eff("[Service]\nPrivatePIDs=true\nReadOnlyPaths=\nExecStart=/bin/true\n");
        assert_eq!(e.to_string(), "PrivatePIDs=yes\nExecStart=/bin/true\n");
    }

    #[test]
    fn prepared_gives_what_of_gives() {
        use crate::compose::{Assignment, Layer, Provenance};
        let why = || Provenance::new("t", "t");
        let mut layer = Layer::new("t");
        for (d, v) in [
            (Directive::BindReadOnlyPaths, "/etc/ssl"),
            (Directive::BindPaths, "/var/lib/x/%i"),
            (Directive::ReadWritePaths, "/run/%n"),
            (Directive::SystemCallFilter, "@system-service"),
            (Directive::SystemCallFilter, "~@mount ptrace"),
            (Directive::PrivateDevices, "yes"),
            (
                Directive::CapabilityBoundingSet,
                "CAP_SYS_RAWIO CAP_NET_BIND_SERVICE",
            ),
        ] {
            layer.push(Assignment::parse(d, v).unwrap(), why());
        }
        layer.push(Assignment::reset(Directive::BindPaths).unwrap(), why());
        layer.push(
            Assignment::parse(Directive::BindPaths, "/srv/%i").unwrap(),
            why(),
        );
        layer.push(
            Assignment::parse(Directive::BindPaths, "/data").unwrap(),
            why(),
        );
        let composed = Composed::compose(&[layer]);
        let prepared = Prepared::new(&composed);
        // Storages with a specifier are the ones applied per unit, from
        // their first line with one on.
        let texts: Vec<&str> = prepared.lines.iter().map(|l| l.1.as_str()).collect();
        let per_unit: Vec<&str> = prepared
            .lines
            .iter()
            .filter(|l| l.2)
            .map(|l| l.1.as_str())
            .collect();
        assert!(per_unit.contains(&"BindPaths=/srv/%i"), "{per_unit:?}");
        assert!(per_unit.contains(&"BindPaths=/data"), "{texts:?}");
        assert!(texts.contains(&"BindReadOnlyPaths="), "{texts:?}");
        assert!(!per_unit.contains(&"BindReadOnlyPaths="), "{per_unit:?}");
        assert!(!per_unit.iter().any(|l| l.starts_with("SystemCallFilter")));
        for unit in ["x@1.service", "x@two.service", "x@.service"] {
            let (a, b) = (prepared.of(unit), Effective::of(&composed, unit));
            assert_eq!(a, b, "{unit}");
            for d in Directive::ALL {
                assert_eq!(a.origins(*d), b.origins(*d), "{unit} {d}");
            }
            assert_eq!(a.shared_resets(), b.shared_resets(), "{unit}");
            assert_eq!(a.diagnostics(), b.diagnostics(), "{unit}");
        }
        // A negative control: another unit's settings are not these.
        assert_ne!(
            prepared.of("x@1.service"),
            Effective::of(&composed, "x@2.service")
        );
    }
}
