//! System calls: architectures, filters and the action for denied calls.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::directive::{Directive, Merge};
use crate::error::{Error, Result};
use crate::filesystem::item_list;
use crate::kind::{Apply, Delta, Shown, ValueKind, Verdict};
use crate::known::{ARCHITECTURES, ERRNO_NAMES, SYSCALL_GROUPS, SYSCALLS, SYSCALLS_NOT_ON_X86_64};
use crate::systemd::extract::{Cursor, Flags};
use crate::systemd::number::{AtoFlags, safe_atou};

/// An architecture for `SystemCallArchitectures=`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Architecture {
    /// The architecture systemd itself was built for.
    Native,
    /// A named architecture systemd 257 knows (`x86`, `x86-64`, …).
    Named(&'static str),
}

impl std::str::FromStr for Architecture {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "native" {
            return Ok(Architecture::Native);
        }
        ARCHITECTURES
            .iter()
            .find(|&&a| a == s)
            .map(|&a| Architecture::Named(a))
            .ok_or_else(|| {
                Error::value(
                    Directive::SystemCallArchitectures.name(),
                    s,
                    "not an architecture systemd 257 knows (x86, x86-64, native, …)",
                )
            })
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Architecture::Native => f.write_str("native"),
            Architecture::Named(a) => f.write_str(a),
        }
    }
}

/// A system call or a group of them (`@debug`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Syscall {
    /// A group systemd 257 defines, such as `@system-service`.
    Group(&'static str),
    /// A single system call systemd 257 knows.
    Name(&'static str),
}

impl Syscall {
    /// Looks a group (with `@`) or a call name up; `directive` names the
    /// setting in the error.
    pub fn new(directive: &str, text: &str) -> Result<Self> {
        if text.starts_with('@') {
            return SYSCALL_GROUPS
                .iter()
                .find(|(g, _)| *g == text)
                .map(|(g, _)| Syscall::Group(g))
                .ok_or_else(|| {
                    Error::value(directive, text, "not a system call group systemd 257 knows")
                });
        }
        if text.contains(':') {
            return Err(Error::value(
                directive,
                text,
                "per-call error numbers (NAME:ERRNO) are not supported; use SystemCallErrorNumber=",
            ));
        }
        if SYSCALLS_NOT_ON_X86_64.contains(&text) {
            return Err(Error::value(
                directive,
                text,
                "systemd 257 knows the name but not on x86-64, so it would be ignored",
            ));
        }
        SYSCALLS
            .iter()
            .find(|&&s| s == text)
            .map(|&s| Syscall::Name(s))
            .ok_or_else(|| Error::value(directive, text, "not a system call systemd 257 knows"))
    }

    /// The group or call name as written.
    pub fn as_str(&self) -> &'static str {
        match self {
            Syscall::Group(s) | Syscall::Name(s) => s,
        }
    }

    /// The members of a group, as systemd 257 lists them (nested groups
    /// included by name); a single call is its own only member.
    pub fn members(&self) -> &'static [&'static str] {
        match self {
            Syscall::Group(g) => SYSCALL_GROUPS
                .iter()
                .find(|(name, _)| name == g)
                .map(|(_, m)| *m)
                .unwrap_or(&[]),
            Syscall::Name(_) => &[],
        }
    }
}

/// One line of `SystemCallFilter=` or `SystemCallLog=`: a list of calls
/// and groups, allowed (logged) or, with a leading `~`, denied (not logged).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyscallFilter {
    /// `~`: the list names what is denied.
    pub deny: bool,
    /// The calls and groups, at least one.
    pub items: Vec<Syscall>,
}

impl SyscallFilter {
    /// An allow list.
    pub fn allow(items: Vec<Syscall>) -> Self {
        SyscallFilter { deny: false, items }
    }

    /// A deny list (`~…`).
    pub fn deny(items: Vec<Syscall>) -> Self {
        SyscallFilter { deny: true, items }
    }

    pub(crate) fn parse(directive: &str, text: &str) -> Result<Self> {
        let (deny, rest) = crate::systemd::extract::split_inverted(text);
        let items = rest
            .split_whitespace()
            .map(|s| Syscall::new(directive, s))
            .collect::<Result<Vec<_>>>()?;
        if items.is_empty() {
            return Err(Error::value(directive, text, "no system call named"));
        }
        Ok(SyscallFilter { deny, items })
    }

    /// Whether `name` (a call or `@group`) is named, directly or through a
    /// group it names.
    pub fn covers(&self, name: &str) -> bool {
        self.items.iter().any(|i| covers(i.as_str(), name))
    }
}

/// Every member of `group` (a `@name` of systemd 257's tables), nested
/// groups included by name and walked in place, in systemd's own order
/// (`syscall_filter_sets[]`), each visited: the one expansion of
/// system call groups (nesting is shallow in systemd; the depth bound only
/// guards against a cycle in the data). Nothing for a name that is not a
/// group.
pub(crate) fn walk_group(group: &str, visit: &mut dyn FnMut(&'static str), depth: u8) {
    let sets = crate::generated::syscalls::SYSCALL_FILTER_SETS;
    let Some(set) = sets.iter().find(|g| g.name() == group) else {
        return;
    };
    for m in set.members() {
        visit(m);
        if m.starts_with('@') && depth < 8 {
            walk_group(m, visit, depth + 1);
        }
    }
}

/// Whether `item` is `name` or a group that contains it.
fn covers(item: &str, name: &str) -> bool {
    let mut found = item == name;
    if !found {
        walk_group(item, &mut |m| found |= m == name, 0);
    }
    found
}

impl fmt::Display for SyscallFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deny {
            f.write_str("~")?;
        }
        crate::filesystem::words(f, self.items.iter().map(Syscall::as_str))
    }
}

/// `SystemCallErrorNumber=`: what a filtered call gets instead of `SIGSYS`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrnoAction {
    /// An error number by name, such as `EPERM`.
    Errno(&'static str),
    /// Kill the process (the default action, spelled out).
    Kill,
}

impl ErrnoAction {
    /// The systemd version that introduced this value, where newer than the
    /// directive.
    pub fn since(&self) -> Option<u32> {
        match self {
            ErrnoAction::Errno(_) => None,
            ErrnoAction::Kill => Some(247),
        }
    }
}

impl std::str::FromStr for ErrnoAction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "kill" => Ok(ErrnoAction::Kill),
            _ => ERRNO_NAMES
                .iter()
                .find(|&&e| e == s)
                .map(|&e| ErrnoAction::Errno(e))
                .ok_or_else(|| {
                    Error::value(
                        Directive::SystemCallErrorNumber.name(),
                        s,
                        "expected an errno name such as EPERM, or kill",
                    )
                }),
        }
    }
}

impl fmt::Display for ErrnoAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrnoAction::Errno(e) => e,
            ErrnoAction::Kill => "kill",
        })
    }
}

item_list!(
    /// `SystemCallArchitectures=`: a list of architectures.
    ArchList(Architecture)
);

impl ValueKind for ArchList {
    type Value = ArchList;
    /// The architectures, by the names systemd prints.
    type State = BTreeSet<String>;
    const DESCRIBE: &'static str = "architecture names";
    const SAMPLES: &'static [&'static str] = &["native x86", "x86-64"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::Set;

    fn parse(_directive: Directive, text: &str) -> Result<ArchList> {
        text.split_whitespace()
            .map(str::parse)
            .collect::<Result<_>>()
            .map(ArchList)
    }

    fn items(value: &ArchList) -> Vec<ArchList> {
        value.0.iter().map(|a| ArchList(vec![a.clone()])).collect()
    }

    /// `config_parse_syscall_archs()`: a set, emptied by an empty line.
    fn apply(state: &mut BTreeSet<String>, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() {
            state.clear();
            return;
        }
        let mut words = Cursor::new(rvalue);
        loop {
            match words.next_word(None, Flags::UNQUOTE) {
                Ok(Some(w)) => {
                    if w == "native" || ARCHITECTURES.contains(&w.as_str()) {
                        state.insert(w);
                    } else {
                        cx.warn(format!(
                            "Failed to parse system call architecture \"{w}\", ignoring: Invalid argument"
                        ));
                    }
                }
                Ok(None) => return,
                Err(_) => {
                    cx.warn(format!("Invalid syntax, ignoring: {rvalue}"));
                    return;
                }
            }
        }
    }

    fn show(
        _directive: Directive,
        state: &BTreeSet<String>,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let printed = shown.last().unwrap_or("");
        let got: BTreeSet<&str> = printed.split_whitespace().collect();
        let want: BTreeSet<&str> = state.iter().map(String::as_str).collect();
        let wanted: Vec<&str> = want.iter().copied().collect();
        (Verdict::of(got == want, printed, &wanted.join(" ")), None)
    }

    fn lines(state: &BTreeSet<String>, _directive: Directive) -> Vec<String> {
        state.iter().cloned().collect()
    }
}

/// An error number or action of a filter entry as systemd holds it
/// (`seccomp_parse_errno_or_action()`), spelled canonically so that two
/// spellings of one number compare equal: `kill`, or the first name of the
/// number (`EWOULDBLOCK` is `EAGAIN`), or the number where it has no name.
fn errno_or_action(text: &str) -> Option<String> {
    use crate::generated::names::ERRNO_NUMBERS;
    if text == "kill" {
        return Some("kill".to_owned());
    }
    let number = match ERRNO_NUMBERS
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(text))
    {
        Some((_, n)) => u64::from(*n),
        // safe_atoi(): 0 and 1..4095 are valid.
        None => safe_atou(text, 0, AtoFlags::default(), 4095).ok()?,
    };
    Some(
        ERRNO_NUMBERS
            .iter()
            .find(|(_, n)| u64::from(*n) == number)
            .map_or_else(|| number.to_string(), |(e, _)| (*e).to_owned()),
    )
}

/// A system call filter as systemd holds it (`SystemCallFilter=`,
/// `SystemCallLog=`): an allow or deny list of calls, each with the error
/// number (or action) it gets instead of the default, if any.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Seccomp {
    /// An allow list (otherwise a deny list).
    pub allow_list: bool,
    /// The calls, by name, with their own error number or action.
    pub calls: BTreeMap<&'static str, Option<String>>,
}

/// Whether libseccomp resolves `name` on the native architecture (x86-64):
/// a call systemd's tables mention (in `@known` or in a group), but not
/// one of those libseccomp cannot resolve there (which systemd ignores).
fn resolvable(name: &str) -> bool {
    // Binary searches of the sorted tables: filters like `@system-service`
    // ask for hundreds of names.
    let mentioned = SYSCALLS.binary_search(&name).is_ok()
        || SYSCALL_GROUPS
            .iter()
            .any(|(_, members)| members.binary_search(&name).is_ok());
    mentioned && SYSCALLS_NOT_ON_X86_64.binary_search(&name).is_err()
}

/// `seccomp_parse_syscall_filter()` with `SECCOMP_PARSE_PERMISSIVE`:
/// adds or removes `name` (a call or `@group`, recursively).
fn parse_syscall_filter(
    filter: &mut Seccomp,
    name: &str,
    errno: Option<&str>,
    invert: bool,
    log: Option<&mut Apply<'_>>,
) {
    if name.starts_with('@') {
        if !SYSCALL_GROUPS.iter().any(|(g, _)| *g == name) {
            if let Some(cx) = log {
                cx.warn(format!("Unknown system call group, ignoring: {name}"));
            }
            return;
        }
        let calls = group_calls(name);
        // Every call of the group gets the same treatment, so their order
        // does not matter: added ones are merged in, in one go.
        if adds(filter, errno, invert) {
            merge(filter, calls, errno);
            return;
        }
        for m in calls {
            add_or_remove(filter, m, errno, invert);
        }
        return;
    }
    let Some(name) = resolvable(name).then(|| static_name(name)).flatten() else {
        if let Some(cx) = log {
            cx.warn(format!("System call {name} is not known, ignoring."));
        }
        return;
    };
    add_or_remove(filter, name, errno, invert);
}

/// What the walk of `group` gives [`parse_syscall_filter`]: each call in
/// it (groups walked in place, in systemd's order) that libseccomp
/// resolves, sorted, each once. Worked out once per group and process:
/// filters like `@system-service` name hundreds of calls.
fn group_calls(group: &str) -> &'static [&'static str] {
    // Expanded when first asked for, each group on its own: a unit names
    // a few groups, and a process should not pay for the others.
    type Calls = Vec<std::sync::OnceLock<Vec<&'static str>>>;
    static CALLS: std::sync::OnceLock<Calls> = std::sync::OnceLock::new();
    let sets = crate::generated::syscalls::SYSCALL_FILTER_SETS;
    let Some(i) = sets.iter().position(|g| g.name() == group) else {
        return &[];
    };
    let Some(slot) = CALLS
        .get_or_init(|| sets.iter().map(|_| std::sync::OnceLock::new()).collect())
        .get(i)
    else {
        return &[];
    };
    slot.get_or_init(|| {
        use crate::generated::syscalls::{SYSCALL_GROUP_CALLS, SYSCALL_LIST, text};
        let Some((positions, unlisted)) = SYSCALL_GROUP_CALLS.get(i) else {
            return Vec::new();
        };
        // The generator expanded the group: positions in the sorted list
        // ascend as the names do; the few calls the list lacks are merged in.
        let gaps = listed_gaps();
        let mut calls: Vec<&'static str> = positions
            .iter()
            .filter(|p| gaps.binary_search(p).is_err())
            .filter_map(|&p| SYSCALL_LIST.get(usize::from(p)).map(|s| text(*s)))
            .chain(
                unlisted
                    .iter()
                    .map(|s| text(*s))
                    .filter(|m| resolvable_member(m)),
            )
            .collect();
        if !unlisted.is_empty() {
            calls.sort_unstable();
            calls.dedup();
        }
        calls
    })
}

/// The positions in `SYSCALL_LIST` of the calls libseccomp cannot resolve
/// on x86-64 ([`resolvable_member`] false), sorted.
fn listed_gaps() -> &'static [u16] {
    static GAPS: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    GAPS.get_or_init(|| {
        use crate::generated::syscalls::{SYSCALL_LIST, text};
        let mut gaps: Vec<u16> = SYSCALLS_NOT_ON_X86_64
            .iter()
            .filter_map(|n| SYSCALL_LIST.binary_search_by(|s| text(*s).cmp(n)).ok())
            .filter_map(|p| u16::try_from(p).ok())
            .collect();
        gaps.sort_unstable();
        gaps
    })
}

/// [`resolvable`] for a member of a group: every member is mentioned in
/// systemd's tables, so only libseccomp's x86-64 gaps are looked up.
fn resolvable_member(name: &str) -> bool {
    SYSCALLS_NOT_ON_X86_64.binary_search(&name).is_err()
}

/// The tables' own copy of a call's name (every resolvable call is in
/// `@known` or in a group).
fn static_name(name: &str) -> Option<&'static str> {
    let found = |table: &'static [&'static str]| {
        table
            .binary_search(&name)
            .ok()
            .and_then(|i| table.get(i).copied())
    };
    found(SYSCALLS).or_else(|| {
        SYSCALL_GROUPS
            .iter()
            .find_map(|(_, members)| found(members))
    })
}

/// Adds `calls` (sorted, each once) to the filter, each with `errno`, as
/// adding them one by one does: merged with the calls already there and
/// the map built in one go.
fn merge(filter: &mut Seccomp, calls: &[&'static str], errno: Option<&str>) {
    let old = std::mem::take(&mut filter.calls);
    let mut merged: Vec<(&'static str, Option<String>)> =
        Vec::with_capacity(old.len() + calls.len());
    let mut new = calls.iter().copied().peekable();
    for (k, v) in old {
        while let Some(c) = new.next_if(|c| *c < k) {
            merged.push((c, errno.map(str::to_owned)));
        }
        if new.next_if_eq(&k).is_some() {
            merged.push((k, errno.map(str::to_owned)));
        } else {
            merged.push((k, v));
        }
    }
    merged.extend(new.map(|c| (c, errno.map(str::to_owned))));
    filter.calls = merged.into_iter().collect();
}

/// Whether a call named with this error number and inversion is added to
/// the filter (otherwise it is taken out).
fn adds(filter: &Seccomp, errno: Option<&str>, invert: bool) -> bool {
    invert != filter.allow_list || (invert && filter.allow_list && errno.is_some())
}

/// Adds call `name` (resolvable) to the filter, or takes it out.
fn add_or_remove(filter: &mut Seccomp, name: &'static str, errno: Option<&str>, invert: bool) {
    if adds(filter, errno, invert) {
        match filter.calls.get_mut(name) {
            Some(e) if e.as_deref() == errno => {}
            Some(e) => *e = errno.map(str::to_owned),
            None => {
                filter.calls.insert(name, errno.map(str::to_owned));
            }
        }
    } else {
        filter.calls.remove(name);
    }
}

impl Seccomp {
    /// Whether a process under this filter may make `call` (by name).
    pub fn allows(&self, call: &str) -> bool {
        match self.calls.get(call) {
            Some(errno) => self.allow_list && errno.is_none(),
            None => !self.allow_list,
        }
    }

    /// Whether a process may make operation `operation` through the i386
    /// multiplexer `multiplexer` (`socketcall`, `ipc`; see
    /// [`crate::audit::multiplexed`]). libseccomp applies a rule for an
    /// operation's own call (`connect`) to the multiplexer with that
    /// operation as its first argument too, so an allow list lets the
    /// operation through when it allows either, a deny list when it denies
    /// neither. Measured with systemd 257 and libseccomp 2.6 (Debian 13):
    /// `~connect` kills an i386 `connect()` made through `socketcall`, and
    /// `@system-service` followed by `~socketcall` does not.
    pub fn allows_operation(&self, multiplexer: &str, operation: &str) -> bool {
        if self.allow_list {
            self.allows(multiplexer) || self.allows(operation)
        } else {
            self.allows(multiplexer) && self.allows(operation)
        }
    }

    fn line(&self) -> String {
        let mut out = String::new();
        if !self.allow_list {
            out.push('~');
        }
        let names: Vec<String> = self
            .calls
            .iter()
            .map(|(c, e)| match e {
                Some(e) => format!("{c}:{e}"),
                None => (*c).to_owned(),
            })
            .collect();
        out.push_str(&names.join(" "));
        out
    }

    /// How the filter changes from `old` to `new`, call by call: the calls
    /// `new` allows that `old` denies as added, those it denies that `old`
    /// allows as removed (the items are the calls the filter lets through).
    /// A filter only one side has, or a change of list kind, is one line
    /// naming each side's list.
    fn changes(old: Option<&Seccomp>, new: Option<&Seccomp>) -> Vec<Delta> {
        let summary = |f: &Seccomp| Seccomp::describe(f.allow_list, f.calls.len());
        match (old, new) {
            (None, None) => Vec::new(),
            (None, Some(n)) => vec![Delta::Added(summary(n))],
            (Some(o), None) => vec![Delta::Removed(summary(o))],
            (Some(o), Some(n)) if o == n => Vec::new(),
            (Some(o), Some(n)) if o.allow_list != n.allow_list => {
                vec![Delta::Changed(summary(o), summary(n))]
            }
            (Some(o), Some(n)) => {
                let names: BTreeSet<&str> = o.calls.keys().chain(n.calls.keys()).copied().collect();
                let joined = |keep: &dyn Fn(&str) -> bool| -> String {
                    let v: Vec<&str> = names.iter().copied().filter(|c| keep(c)).collect();
                    v.join(" ")
                };
                let allowed = joined(&|c| !o.allows(c) && n.allows(c));
                let denied = joined(&|c| o.allows(c) && !n.allows(c));
                let mut out = Vec::new();
                if !allowed.is_empty() {
                    out.push(Delta::Added(allowed));
                }
                if !denied.is_empty() {
                    out.push(Delta::Removed(denied));
                }
                if out.is_empty() {
                    // The same calls, other error numbers.
                    out.push(Delta::Changed(o.line(), n.line()));
                }
                out
            }
        }
    }

    fn describe(allow: bool, n: usize) -> String {
        format!(
            "{} list of {n} call{}",
            if allow { "an allow" } else { "a deny" },
            if n == 1 { "" } else { "s" }
        )
    }

    /// Compares with a printed filter: `~` opens a deny list; an absent
    /// property is no filter. With `strict`, a call systemd allows that the
    /// wanted filter does not is a difference; otherwise only equality
    /// counts.
    fn show(
        want: Option<&Seccomp>,
        printed: Option<&str>,
        strict: bool,
    ) -> (Verdict, Option<String>) {
        let (allow, got): (bool, BTreeSet<&str>) = match printed {
            None => (false, BTreeSet::new()),
            Some(p) => {
                let (deny, rest) = crate::systemd::extract::split_inverted(p);
                (
                    !deny,
                    rest.split_whitespace()
                        .map(|n| n.split_once(':').map_or(n, |(name, _)| name))
                        .collect(),
                )
            }
        };
        let Some(want) = want else {
            return (
                Verdict::of(got.is_empty() && !allow, printed.unwrap_or(""), ""),
                None,
            );
        };
        let names: BTreeSet<&str> = want.calls.keys().copied().collect();
        if printed.is_none() {
            return (
                Verdict::Missing {
                    wanted: Seccomp::describe(want.allow_list, names.len()),
                },
                None,
            );
        }
        if got == names && allow == want.allow_list {
            return (Verdict::Same, None);
        }
        if !strict {
            return (
                Verdict::not_comparable(
                    "SystemCallLog= is only compared when the expanded lists are equal",
                ),
                None,
            );
        }
        if allow != want.allow_list {
            return (
                Verdict::Differs {
                    shown: Seccomp::describe(allow, got.len()),
                    wanted: Seccomp::describe(want.allow_list, names.len()),
                },
                None,
            );
        }
        // Calls systemd allows that the wanted filter does not.
        let leaked: Vec<&str> = if allow {
            got.iter()
                .filter(|n| !names.contains(*n) && SYSCALLS.contains(*n))
                .copied()
                .collect()
        } else {
            names
                .iter()
                .filter(|n| !got.contains(*n) && SYSCALLS.contains(*n))
                .copied()
                .collect()
        };
        if !leaked.is_empty() {
            return (
                Verdict::Differs {
                    shown: format!(
                        "{} allowing {}",
                        Seccomp::describe(allow, got.len()),
                        crate::show::sample(leaked.iter().copied())
                    ),
                    wanted: format!(
                        "{} that denies them",
                        Seccomp::describe(want.allow_list, names.len())
                    ),
                },
                None,
            );
        }
        let extra: Vec<&str> = got.difference(&names).copied().collect();
        let missing: Vec<&str> = names.difference(&got).copied().collect();
        (
            Verdict::not_comparable(format!(
                "{} calls printed but not expected ({}), {} expected but not printed ({}); systemd \
                 leaves out calls libseccomp cannot resolve on this host and prints aliases by \
                 their canonical name",
                extra.len(),
                crate::show::sample(extra.iter().copied()),
                missing.len(),
                crate::show::sample(missing.iter().copied())
            )),
            None,
        )
    }

    /// Applies a line of `SystemCallFilter=` (`errnos`) or `SystemCallLog=`.
    fn apply(state: &mut Option<Seccomp>, cx: &mut Apply<'_>, rvalue: &str, errnos: bool) {
        if rvalue.is_empty() {
            *state = None;
            return;
        }
        let (invert, rest) = crate::systemd::extract::split_inverted(rvalue);
        let filter = state.get_or_insert_with(|| {
            let mut f = Seccomp {
                allow_list: !invert,
                calls: BTreeMap::new(),
            };
            if errnos && !invert {
                parse_syscall_filter(&mut f, "@default", None, false, None);
            }
            f
        });
        let mut words = Cursor::new(rest);
        loop {
            let word = match words.next_word(None, Flags::NONE) {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(_) => {
                    cx.warn(format!("Invalid syntax, ignoring: {rest}"));
                    return;
                }
            };
            let (name, errno) = if errnos {
                match word.split_once(':') {
                    Some((n, e)) => match errno_or_action(e) {
                        Some(e) if !n.is_empty() => (n.to_owned(), Some(e)),
                        _ => {
                            cx.warn(format!("Failed to parse syscall:errno, ignoring: {word}"));
                            continue;
                        }
                    },
                    None => (word.clone(), None),
                }
            } else {
                (word.clone(), None)
            };
            if errnos && !invert && errno.is_some() {
                cx.warn(format!(
                    "Allow-listed system calls cannot take error number, ignoring: {word}"
                ));
                continue;
            }
            parse_syscall_filter(filter, &name, errno.as_deref(), invert, Some(cx));
        }
    }
}

impl ValueKind for SyscallFilter {
    type Value = SyscallFilter;
    /// The filter, once a line set one.
    type State = Option<Seccomp>;
    const DESCRIBE: &'static str = "system calls and @groups, optionally ~-inverted";
    const SAMPLES: &'static [&'static str] = &["@system-service", "~@debug @mount ptrace"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::Lines;

    fn parse(directive: Directive, text: &str) -> Result<SyscallFilter> {
        SyscallFilter::parse(directive.name(), text)
    }

    /// A different mode, or a call systemd allows that the wanted filter
    /// does not, is a difference; other mismatches are not comparable.
    fn show(
        _directive: Directive,
        state: &Option<Seccomp>,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        Seccomp::show(state.as_ref(), shown.last(), true)
    }

    /// `config_parse_syscall_filter()`: the first line after a reset
    /// decides allow or deny list (an allow list starts with `@default`);
    /// a later line of the same polarity adds, of the other removes.
    fn apply(state: &mut Option<Seccomp>, cx: &mut Apply<'_>, rvalue: &str) {
        Seccomp::apply(state, cx, rvalue, true);
    }

    fn lines(state: &Option<Seccomp>, _directive: Directive) -> Vec<String> {
        state.iter().map(Seccomp::line).collect()
    }

    fn changes(
        _directive: Directive,
        old: &Option<Seccomp>,
        new: &Option<Seccomp>,
        _fresh: &Option<Seccomp>,
    ) -> Vec<Delta> {
        Seccomp::changes(old.as_ref(), new.as_ref())
    }
}

/// `SystemCallLog=`: the same lines as `SystemCallFilter=`, without error
/// numbers and without `@default`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyscallLog(pub SyscallFilter);

impl fmt::Display for SyscallLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ValueKind for SyscallLog {
    type Value = SyscallLog;
    type State = Option<Seccomp>;
    const DESCRIBE: &'static str = "system calls and @groups to log, optionally ~-inverted";
    const SAMPLES: &'static [&'static str] = &["@privileged", "~@debug ptrace"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::Lines;

    fn parse(directive: Directive, text: &str) -> Result<SyscallLog> {
        SyscallFilter::parse(directive.name(), text).map(SyscallLog)
    }

    fn show(
        _directive: Directive,
        state: &Option<Seccomp>,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        Seccomp::show(state.as_ref(), shown.last(), false)
    }

    /// `config_parse_syscall_log()`.
    fn apply(state: &mut Option<Seccomp>, cx: &mut Apply<'_>, rvalue: &str) {
        Seccomp::apply(state, cx, rvalue, false);
    }

    fn lines(state: &Option<Seccomp>, _directive: Directive) -> Vec<String> {
        state.iter().map(Seccomp::line).collect()
    }

    fn changes(
        _directive: Directive,
        old: &Option<Seccomp>,
        new: &Option<Seccomp>,
        _fresh: &Option<Seccomp>,
    ) -> Vec<Delta> {
        Seccomp::changes(old.as_ref(), new.as_ref())
    }
}

impl ValueKind for ErrnoAction {
    type Value = ErrnoAction;
    /// The error number (name or number); `None` is the default, kill.
    type State = Option<String>;
    const DESCRIBE: &'static str = "an errno name or kill";
    const SAMPLES: &'static [&'static str] = &["EPERM", "kill"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::Single;

    fn parse(_directive: Directive, text: &str) -> Result<ErrnoAction> {
        text.parse()
    }

    fn since(value: &ErrnoAction) -> Option<u32> {
        ErrnoAction::since(value)
    }

    /// `systemctl show` prints the number: only equal spellings compare.
    fn show(
        directive: Directive,
        state: &Option<String>,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let want = Self::lines(state, directive).join("");
        match shown.last() {
            Some(s) if s == want => (Verdict::Same, None),
            Some(s) => (
                Verdict::not_comparable(format!(
                    "systemctl show prints the error number ({s}), not its name"
                )),
                None,
            ),
            None => (Verdict::Missing { wanted: want }, None),
        }
    }

    /// `config_parse_syscall_errno()`: empty or `kill` is the default.
    fn apply(state: &mut Option<String>, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() || rvalue == "kill" {
            *state = None;
            return;
        }
        match errno_or_action(rvalue) {
            Some(e) if e == "0" => cx.warn(format!("Invalid error number, ignoring: {rvalue}")),
            Some(e) => *state = Some(e),
            None => cx.warn(format!("Failed to parse error number, ignoring: {rvalue}")),
        }
    }

    fn lines(state: &Option<String>, _directive: Directive) -> Vec<String> {
        vec![state.clone().unwrap_or_else(|| "kill".to_owned())]
    }
}

/// Every call group `group` stands for, nested groups expanded (empty for
/// a name that is not a group).
pub fn expand_group(group: &str) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    walk_group(
        group,
        &mut |m| {
            if !m.starts_with('@') {
                out.insert(m);
            }
        },
        0,
    );
    out
}

/// The groups systemd 257 defines that hold `call`, directly or through a
/// nested group: the smallest first (fewest calls), then by name.
pub fn groups_of(call: &str) -> Vec<&'static str> {
    let mut found: Vec<(usize, &'static str)> = SYSCALL_GROUPS
        .iter()
        .filter(|(g, _)| covers(g, call))
        .map(|(g, _)| (expand_group(g).len(), *g))
        .collect();
    found.sort();
    found.into_iter().map(|(_, g)| g).collect()
}

/// One assignment of `SystemCallFilter=` or `SystemCallLog=`, as it bears
/// on one system call: what [`crate::Effective::syscall_trace`] returns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FilterStep {
    /// Where the line is.
    pub origin: crate::Origin,
    /// Its value as written; empty for the reset that starts the lines
    /// that count.
    pub value: String,
    /// Whether it is a deny (`~`) line.
    pub deny: bool,
    /// The words of the line that name the call, directly or as a group
    /// holding it.
    pub named_by: Vec<String>,
    /// Whether this line opened the filter (the first after a reset), and
    /// so chose an allow list (`Some(true)`, which starts from `@default`)
    /// or a deny list.
    pub opens: Option<bool>,
    /// After this line: whether the call passes (`SystemCallFilter=`: is
    /// allowed; `SystemCallLog=`: is logged); `None` while no filter is set.
    pub passes: Option<bool>,
}

impl crate::Effective {
    /// How each assignment that counts for `directive` (`SystemCallFilter=`
    /// or `SystemCallLog=`; any other gives nothing) changed whether `call`
    /// passes, replaying them through the emulation of systemd's parser.
    /// The last step's `passes` is what the unit's filter does with the
    /// call.
    pub fn syscall_trace(&self, directive: Directive, call: &str) -> Vec<FilterStep> {
        // The directive's own kind replays its lines; only the filter
        // kinds hold a seccomp filter.
        let seccomp = |s: &crate::kind::State| -> Option<Option<Seccomp>> {
            <SyscallFilter as crate::kind::StateOf>::state(s)
                .or_else(|| <SyscallLog as crate::kind::StateOf>::state(s))
                .cloned()
        };
        let mut state = directive.spec().kind.fresh();
        if seccomp(&state).is_none() {
            return Vec::new();
        }
        let origins = self.origins(directive);
        let values = self.origin_values(directive);
        let reset = self.was_reset(directive);
        let mut steps = Vec::new();
        let mut origins = origins.iter();
        if reset && let Some(o) = origins.next() {
            steps.push(FilterStep {
                origin: o.clone(),
                value: String::new(),
                deny: false,
                named_by: Vec::new(),
                opens: None,
                passes: None,
            });
        }
        let specifiers = crate::systemd::specifier::Context::new(self.unit(), None);
        for (value, origin) in values.iter().zip(origins) {
            let opened = seccomp(&state).flatten().is_none();
            let mut ignored = Vec::new();
            let mut cx = Apply {
                directive,
                lvalue: directive.name(),
                file: &origin.file,
                line: origin.line,
                specifiers: &specifiers,
                diagnostics: &mut ignored,
            };
            state.apply(&mut cx, value);
            let filter = seccomp(&state).flatten();
            let (deny, rest) = crate::systemd::extract::split_inverted(value);
            let named_by = rest
                .split_whitespace()
                .map(|w| w.split_once(':').map_or(w, |(n, _)| n))
                .filter(|w| covers(w, call))
                .map(str::to_owned)
                .collect();
            steps.push(FilterStep {
                origin: origin.clone(),
                value: value.clone(),
                deny,
                named_by,
                opens: (opened && filter.is_some()).then_some(!deny),
                passes: filter.as_ref().map(|s| s.allows(call)),
            });
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_expands_to_the_calls_its_walk_finds() {
        // The generated expansion against the walk of the groups in place.
        use crate::generated::syscalls::{SYSCALL_LIST, text};
        let list: Vec<&str> = SYSCALL_LIST.iter().map(|s| text(*s)).collect();
        // The names are spans of one string: a span the generator got wrong
        // reads as a piece of a neighbour, which breaks a name's shape.
        let call = |n: &str| {
            n.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        assert!(list.iter().all(|n| call(n)), "SYSCALL_LIST names");
        for set in crate::generated::syscalls::SYSCALL_FILTER_SETS {
            assert!(set.name().starts_with('@') && call(&set.name()[1..].replace('-', "_")));
            assert!(!set.help().is_empty(), "{}", set.name());
            assert!(
                set.members()
                    .all(|m| call(m.strip_prefix('@').unwrap_or(m).replace('-', "_").as_str())),
                "{}",
                set.name()
            );
        }
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "SYSCALL_LIST is sorted"
        );
        let mut unlisted = 0;
        for set in crate::generated::syscalls::SYSCALL_FILTER_SETS {
            let mut walked = Vec::new();
            walk_group(
                set.name(),
                &mut |m| {
                    if !m.starts_with('@') && resolvable_member(m) {
                        walked.push(m);
                    }
                },
                0,
            );
            walked.sort_unstable();
            walked.dedup();
            unlisted += walked
                .iter()
                .filter(|m| list.binary_search(m).is_err())
                .count();
            assert_eq!(group_calls(set.name()), walked.as_slice(), "{}", set.name());
        }
        // Some groups name calls the list lacks, and some calls are gaps.
        assert!(unlisted > 0);
        assert!(!listed_gaps().is_empty());
    }

    #[test]
    fn a_member_of_a_group_is_resolvable_as_any_name_is() {
        let mut members = 0;
        for set in crate::generated::syscalls::SYSCALL_FILTER_SETS {
            for m in set.members().filter(|m| !m.starts_with('@')) {
                assert_eq!(resolvable_member(m), resolvable(m), "{m} of {}", set.name());
                members += 1;
            }
        }
        assert!(members > 500, "{members}");
        // Some members are not on x86-64: the lookup that is left matters.
        assert!(SYSCALLS_NOT_ON_X86_64.iter().any(|c| !resolvable_member(c)));
    }

    #[test]
    fn a_group_merged_in_is_its_calls_added_one_by_one() {
        for (first, second, errno) in [
            ("@default", "@system-service", None),
            ("@file-system", "@io-event", Some("EPERM")),
            ("@basic-io", "@basic-io", None),
        ] {
            let start = || {
                let mut f = Seccomp {
                    allow_list: true,
                    calls: BTreeMap::new(),
                };
                parse_syscall_filter(&mut f, first, Some("EACCES"), false, None);
                f
            };
            let mut merged = start();
            parse_syscall_filter(&mut merged, second, errno, false, None);
            let mut one_by_one = start();
            let mut calls = Vec::new();
            walk_group(second, &mut |m| calls.push(m), 0);
            for m in calls
                .into_iter()
                .filter(|m| !m.starts_with('@') && resolvable(m))
            {
                add_or_remove(&mut one_by_one, m, errno, false);
            }
            assert!(!merged.calls.is_empty(), "{first} {second}");
            assert_eq!(merged, one_by_one, "{first} {second}");
        }
    }

    #[test]
    fn filters_parse_and_render() {
        let f = SyscallFilter::parse("SystemCallFilter", "~@debug @mount ptrace").unwrap();
        assert!(f.deny);
        assert_eq!(f.to_string(), "~@debug @mount ptrace");
        assert!(f.covers("ptrace"));
        assert!(f.covers("@debug"));
        assert!(!f.covers("read"));
        for bad in ["@nope", "~", "", "frobnicate", "ptrace:EPERM", "@Debug"] {
            assert!(
                SyscallFilter::parse("SystemCallFilter", bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn system_service_covers_nested_groups() {
        let f = SyscallFilter::parse("SystemCallFilter", "@system-service").unwrap();
        assert!(f.covers("read"));
    }

    fn eff(text: &str) -> crate::Effective {
        let mut e = crate::Effective::new("x.service");
        e.read("t.conf", text.as_bytes());
        e
    }

    #[test]
    fn groups_of_a_call_smallest_first() {
        assert_eq!(groups_of("ptrace")[0], "@debug");
        assert_eq!(groups_of("socketcall")[0], "@network-io");
        assert!(groups_of("socketcall").contains(&"@system-service"));
        assert!(groups_of("frobnicate").is_empty());
        assert!(expand_group("@system-service").contains("brk"));
        assert!(expand_group("brk").is_empty());
    }

    #[test]
    fn trace_names_the_lines_that_decide() {
        // Test 7's filter: ptrace is never allowed, and the deny line names it.
        let e = eff("[Service]\nSystemCallFilter=@system-service\n\
             SystemCallFilter=~@debug @mount @raw-io @reboot @swap @cpu-emulation @obsolete @privileged\n");
        let t = e.syscall_trace(Directive::SystemCallFilter, "ptrace");
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].opens, t[0].passes), (Some(true), Some(false)));
        assert!(t[0].named_by.is_empty());
        assert_eq!(t[1].named_by, ["@debug"]);
        assert_eq!((t[1].deny, t[1].passes), (true, Some(false)));
        assert_eq!(t[1].origin.to_string(), "t.conf:3");
        // brk stays allowed; a later allow line lets ptrace back in.
        assert_eq!(
            e.syscall_trace(Directive::SystemCallFilter, "brk")
                .last()
                .unwrap()
                .passes,
            Some(true)
        );
        let e = eff(
            "[Service]\nSystemCallFilter=~@debug\nSystemCallFilter=\nSystemCallFilter=~ptrace\nSystemCallFilter=ptrace\n",
        );
        let t = e.syscall_trace(Directive::SystemCallFilter, "ptrace");
        let shown: Vec<(usize, Option<bool>)> =
            t.iter().map(|s| (s.origin.line, s.passes)).collect();
        assert_eq!(shown, [(3, None), (4, Some(false)), (5, Some(true))]);
        assert_eq!(t[1].opens, Some(false));
        // The replay ends where systemd's state is.
        let Some(Some(f)) = e.get::<SyscallFilter>(Directive::SystemCallFilter) else {
            panic!()
        };
        assert!(f.allows("ptrace"));
        // SystemCallLog= logs what it lists.
        let e = eff("[Service]\nSystemCallLog=@privileged @debug\n");
        let t = e.syscall_trace(Directive::SystemCallLog, "setuid");
        assert_eq!(
            (t[0].passes, t[0].named_by.clone()),
            (Some(true), vec!["@privileged".to_owned()])
        );
        assert!(e.syscall_trace(Directive::UMask, "setuid").is_empty());
    }

    #[test]
    fn operations_through_a_multiplexer() {
        let filter = |text: &str| {
            let e = eff(text);
            e.get::<SyscallFilter>(Directive::SystemCallFilter)
                .unwrap()
                .clone()
                .unwrap()
        };
        // The cases measured at runtime (i386 busybox nc: socket, connect).
        let deny_connect = filter("[Service]\nSystemCallFilter=~connect\n");
        assert!(deny_connect.allows("socketcall"));
        assert!(!deny_connect.allows_operation("socketcall", "connect"));
        assert!(deny_connect.allows_operation("socketcall", "socket"));
        let allow_without =
            filter("[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~socketcall\n");
        assert!(!allow_without.allows("socketcall"));
        assert!(allow_without.allows_operation("socketcall", "connect"));
        let allow_without_both = filter(
            "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~socketcall connect\n",
        );
        assert!(allow_without_both.allows_operation("socketcall", "socket"));
        assert!(!allow_without_both.allows_operation("socketcall", "connect"));
        let deny_shmctl = filter("[Service]\nSystemCallFilter=~shmctl\n");
        assert!(!deny_shmctl.allows_operation("ipc", "shmctl"));
        assert!(deny_shmctl.allows_operation("ipc", "semop"));
    }

    /// Each step's verdict is the effective filter of the lines up to it:
    /// the trace is the model's reading of the unit, line by line, not a
    /// second reader.
    #[test]
    fn each_step_is_the_effective_filter_of_its_prefix() {
        let lines = [
            "SystemCallFilter=@system-service",
            "SystemCallFilter=~@debug @privileged",
            "SystemCallFilter=setuid ptrace:EPERM",
            "SystemCallFilter=",
            "SystemCallFilter=~@network-io",
            "SystemCallFilter=socket",
            "SystemCallFilter=~socketcall:EPERM",
        ];
        for call in ["ptrace", "setuid", "socket", "socketcall", "brk", "mount"] {
            let e = eff(&format!("[Service]\n{}\n", lines.join("\n")));
            let trace = e.syscall_trace(Directive::SystemCallFilter, call);
            assert_eq!(trace.len(), lines.len() - 3, "{call}");
            for step in &trace {
                let upto = step.origin.line - 1;
                let prefix = eff(&format!("[Service]\n{}\n", lines[..upto].join("\n")));
                let want = prefix
                    .get::<SyscallFilter>(Directive::SystemCallFilter)
                    .and_then(|f| f.as_ref())
                    .map(|f| f.allows(call));
                assert_eq!(step.passes, want, "{call} after line {}", step.origin.line);
            }
        }
    }

    #[test]
    fn architectures_and_errno() {
        assert_eq!("x86".parse::<Architecture>().unwrap().to_string(), "x86");
        assert!("i386".parse::<Architecture>().is_err());
        assert_eq!("EPERM".parse::<ErrnoAction>().unwrap().to_string(), "EPERM");
        assert!("eperm".parse::<ErrnoAction>().is_err());
        assert!(
            "log".parse::<ErrnoAction>().is_err(),
            "systemd 257 refuses log"
        );
        assert!(Syscall::new("SystemCallFilter", "arc_gettls").is_err());
    }
}
