//! Comparing wanted settings with what `systemctl show UNIT` prints.
//!
//! `systemctl show` prints the unit's settings after systemd merged the
//! unit file and every drop-in, in its own spellings: booleans as
//! `yes`/`no`, `UMask=` as four octal digits, bind mounts as
//! `[-]SOURCE:DEST[:rbind]`, capabilities in lower case, `RestrictNamespaces=`
//! as the namespace types still *allowed* (`yes`: none), `SystemCallFilter=`
//! as the expanded list of calls, `SocketBindAllow=` one rule per line.
//! Each directive is normalised on both sides and compared; where the
//! printed form cannot be mapped back with certainty the directive is
//! reported as [`Verdict::NotComparable`] with the reason, never guessed:
//!
//! - `SystemCallFilter=`: the wanted lines are expanded with the groups of
//!   systemd 257 ([`crate::names::SYSCALL_GROUPS`]), `@default` included
//!   as systemd adds it to every allow list. A different mode (allow list
//!   against deny list) or an allowed call the wanted lines deny is a
//!   difference; any other mismatch is not comparable, because systemd
//!   drops calls libseccomp cannot resolve on the host and prints aliases
//!   by their canonical name.
//! - `SystemCallLog=`, `SystemCallErrorNumber=` (printed as a number) and
//!   inverted capability lists (which depend on the running kernel) are
//!   only reported equal when they are; otherwise not comparable.
//! - Values with specifiers other than the instance (`%h`, `%t`, …) are
//!   not comparable: systemd prints them expanded.
//! - `RestrictNamespaces=` ignores the `time` namespace, which this model
//!   does not know.
//!
//! The show output reflects the whole unit (its own file and every
//! drop-in), so a list the wanted settings do not reset may carry items
//! from elsewhere; for path and bind lists those are reported as a note,
//! not as a difference.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::directive::{Directive, Kind};
use crate::effective::{Effective, EffectiveValue};
use crate::known::{CAPABILITIES, SYSCALL_GROUPS};
use crate::namespace::{PrivateUsers, RestrictNamespaces};
use crate::network::{AddressFamilies, SocketBind};
use crate::parse::{Key, RawEntry};
use crate::value::{Value, parse_bool};

/// What the comparison of one directive found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// systemd has what is wanted.
    Same,
    /// systemd has something else.
    Differs {
        /// What `systemctl show` printed (summarised for long lists).
        shown: String,
        /// What is wanted.
        wanted: String,
    },
    /// The property is not in the show output at all.
    Missing {
        /// What is wanted.
        wanted: String,
    },
    /// The printed form cannot be compared with certainty.
    NotComparable {
        /// Why.
        reason: String,
    },
}

/// The comparison of one wanted directive with the show output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The directive.
    pub directive: Directive,
    /// What was found.
    pub verdict: Verdict,
    /// Something worth knowing that is not a difference, such as items
    /// the unit or another drop-in adds to a list.
    pub note: Option<String>,
}

impl Check {
    /// Whether this is a difference (a different or a missing value).
    pub fn differs(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::Differs { .. } | Verdict::Missing { .. }
        )
    }
}

impl fmt::Display for Check {
    /// `= Key`, `~ Key shown -> wanted`, `+ Key=wanted (not in the show
    /// output)` or `? Key: not comparable: reason`; a note follows on its
    /// own line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.directive.name();
        match &self.verdict {
            Verdict::Same => write!(f, "= {name}")?,
            Verdict::Differs { shown, wanted } => write!(f, "~ {name} {shown} -> {wanted}")?,
            Verdict::Missing { wanted } => {
                write!(f, "+ {name}={wanted} (not in the show output)")?;
            }
            Verdict::NotComparable { reason } => write!(f, "? {name}: not comparable: {reason}")?,
        }
        if let Some(note) = &self.note {
            write!(f, "\n  {name}: {note}")?;
        }
        Ok(())
    }
}

/// Compares every directive of `wanted` with the `systemctl show` output
/// `show` (as read by [`crate::parse::show_output`]), in registry order.
/// Keys `wanted` does not know are not compared.
pub fn compare(wanted: &Effective, show: &[RawEntry]) -> Vec<Check> {
    let mut shown: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in show {
        shown
            .entry(e.key.as_str())
            .or_default()
            .push(e.value.as_str());
    }
    wanted
        .iter()
        .filter_map(|(k, v)| match k {
            Key::Known(d) => Some((*d, v)),
            Key::Other(_) => None,
        })
        .map(|(d, v)| {
            let lines = shown.get(d.name()).map(Vec::as_slice);
            let ex = shown
                .get(format!("{}Ex", d.name()).as_str())
                .and_then(|l| l.last().copied());
            let (verdict, note) = check(d, v, lines, ex);
            Check {
                directive: d,
                verdict,
                note,
            }
        })
        .collect()
}

fn not_comparable(reason: impl Into<String>) -> (Verdict, Option<String>) {
    (
        Verdict::NotComparable {
            reason: reason.into(),
        },
        None,
    )
}

fn differs(shown: impl Into<String>, wanted: &EffectiveValue) -> (Verdict, Option<String>) {
    (
        Verdict::Differs {
            shown: display_shown(&shown.into()),
            wanted: wanted.to_string(),
        },
        None,
    )
}

fn display_shown(s: &str) -> String {
    if s.is_empty() {
        "\"\"".to_owned()
    } else {
        s.to_owned()
    }
}

fn verdict(same: bool, shown: &str, wanted: &EffectiveValue) -> (Verdict, Option<String>) {
    if same {
        (Verdict::Same, None)
    } else {
        differs(shown, wanted)
    }
}

/// The single value and whether the wanted setting is a reset.
fn single(wanted: &EffectiveValue) -> Option<&Value> {
    match wanted {
        EffectiveValue::Single(v) => v.as_ref(),
        _ => None,
    }
}

/// The list items after the last reset, and whether there was one.
fn list(wanted: &EffectiveValue) -> (bool, &[Value]) {
    match wanted {
        EffectiveValue::List { reset, items } => (*reset, items),
        _ => (false, &[]),
    }
}

fn check(
    d: Directive,
    wanted: &EffectiveValue,
    lines: Option<&[&str]>,
    ex: Option<&str>,
) -> (Verdict, Option<String>) {
    let kind = d.spec().kind;
    if wanted_has_specifier(wanted) {
        return not_comparable(
            "the wanted value has specifiers, which systemctl show prints expanded",
        );
    }
    if let EffectiveValue::Single(None) = wanted {
        return not_comparable("the wanted setting is a reset to systemd's default");
    }
    // Lists and sets print nothing when empty; everything else always
    // prints a value, so its absence is a difference.
    let last = lines.and_then(|l| l.last().copied());
    match kind {
        Kind::Paths | Kind::Tmpfs | Kind::Binds => return path_list(wanted, last),
        Kind::SocketBind => return socket_binds(wanted, lines.unwrap_or(&[])),
        Kind::Capabilities => return capabilities(wanted, last.unwrap_or("")),
        Kind::Architectures => return architectures(wanted, last.unwrap_or("")),
        Kind::AddressFamilies => return address_families(wanted, last),
        Kind::Syscalls if d == Directive::SystemCallFilter => {
            return syscall_filter(wanted, last);
        }
        Kind::Syscalls => return syscall_log(wanted, last),
        _ => {}
    }
    let Some(shown) = last else {
        return (
            Verdict::Missing {
                wanted: wanted.to_string(),
            },
            None,
        );
    };
    let Some(want) = single(wanted).or_else(|| list(wanted).1.last()) else {
        return not_comparable("nothing is wanted");
    };
    match (kind, want) {
        (Kind::Bool, Value::Bool(b)) => match parse_bool(shown) {
            Some(s) => verdict(s == *b, shown, wanted),
            None => not_comparable(format!("systemctl show printed {shown:?}")),
        },
        (Kind::PrivateUsers, Value::PrivateUsers(p)) => private_users(*p, shown, ex, wanted),
        (Kind::ProtectControlGroups, Value::ProtectControlGroups(p)) => {
            let text = p.as_bool().map_or(p.as_str(), crate::effective::yes_no);
            extended(p.as_bool(), text, shown, ex, wanted)
        }
        (Kind::Namespaces, _) => namespaces(wanted, shown),
        (Kind::Errno, _) => match Value::parse(d, shown) {
            Ok(v) if &v == want => (Verdict::Same, None),
            _ => not_comparable(format!(
                "systemctl show prints the error number ({shown}), not its name"
            )),
        },
        _ => match Value::parse(d, shown) {
            Ok(v) => verdict(&v == want, shown, wanted),
            Err(_) => not_comparable(format!("systemctl show printed {shown:?}")),
        },
    }
}

fn wanted_has_specifier(wanted: &EffectiveValue) -> bool {
    let values: Vec<&Value> = match wanted {
        EffectiveValue::Single(v) => v.iter().collect(),
        EffectiveValue::List { items, .. } => items.iter().collect(),
        EffectiveValue::Raw { .. } => Vec::new(),
    };
    values.iter().any(|v| v.to_string().contains('%'))
}

/// A directive with a boolean D-Bus property and a string `…Ex` one
/// (`PrivateUsersEx=`, `ProtectControlGroupsEx=`, systemd 257).
fn extended(
    as_bool: Option<bool>,
    text: &str,
    shown: &str,
    ex: Option<&str>,
    wanted: &EffectiveValue,
) -> (Verdict, Option<String>) {
    if let Some(ex) = ex {
        return verdict(ex == text, ex, wanted);
    }
    match (parse_bool(shown), as_bool) {
        (Some(s), Some(w)) => verdict(s == w, shown, wanted),
        (Some(false), None) => differs(shown, wanted),
        _ => not_comparable(format!(
            "systemctl show printed {shown:?} and no extended property to tell the mode"
        )),
    }
}

fn private_users(
    p: PrivateUsers,
    shown: &str,
    ex: Option<&str>,
    wanted: &EffectiveValue,
) -> (Verdict, Option<String>) {
    // `yes` is `self` (systemd.exec(5)); the Ex property prints `self`.
    let text = match p {
        PrivateUsers::Yes | PrivateUsers::SelfMap => "self",
        PrivateUsers::Identity => "identity",
        PrivateUsers::No => "no",
    };
    let as_bool = match p {
        PrivateUsers::Yes | PrivateUsers::SelfMap => Some(true),
        PrivateUsers::No => Some(false),
        PrivateUsers::Identity => None,
    };
    extended(as_bool, text, shown, ex, wanted)
}

/// A path, tmpfs or bind item as systemctl show prints it.
fn show_item(v: &Value) -> Vec<String> {
    match v {
        Value::Binds(binds) => binds
            .iter()
            .map(|b| {
                let recursive = b.option != Some(crate::filesystem::BindOption::Norbind);
                format!(
                    "{}{}:{}{}",
                    if b.ignore_missing { "-" } else { "" },
                    b.source,
                    b.target(),
                    if recursive { ":rbind" } else { "" }
                )
            })
            .collect(),
        other => other
            .to_string()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    }
}

fn path_list(wanted: &EffectiveValue, shown: Option<&str>) -> (Verdict, Option<String>) {
    let (reset, items) = list(wanted);
    let want: Vec<String> = items.iter().flat_map(show_item).collect();
    let got: Vec<String> = shown
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if shown.is_none() && !want.is_empty() {
        return (
            Verdict::Missing {
                wanted: wanted.to_string(),
            },
            None,
        );
    }
    if got == want {
        return (Verdict::Same, None);
    }
    // Without a reset, the unit or other drop-ins may add items of their
    // own around the wanted ones: those are a note, not a difference, as
    // long as every wanted item is there, in order.
    let mut rest = got.iter();
    let all_there = want.iter().all(|w| rest.any(|g| g == w));
    if !reset && all_there {
        let extra: Vec<&str> = got
            .iter()
            .filter(|g| !want.contains(g))
            .map(String::as_str)
            .collect();
        return (
            Verdict::Same,
            Some(format!(
                "also {} (from the unit or another drop-in)",
                extra.join(" ")
            )),
        );
    }
    let wanted_text = if want.is_empty() && reset {
        "\"\"".to_owned()
    } else {
        want.join(" ")
    };
    (
        Verdict::Differs {
            shown: display_shown(&got.join(" ")),
            wanted: wanted_text,
        },
        None,
    )
}

/// A socket bind rule as a comparable tuple; systemctl show prints
/// `[ipv4:|ipv6:][tcp|udp][:]PORTS` (some versions leave out the colon
/// after the protocol), one rule per line.
fn bind_rule(text: &str) -> Option<(Option<String>, Option<String>, String)> {
    let mut rest = text.trim();
    let mut family = None;
    for f in ["ipv4:", "ipv6:"] {
        if let Some(r) = rest.strip_prefix(f) {
            family = Some(f.trim_end_matches(':').to_owned());
            rest = r;
        }
    }
    let mut protocol = None;
    for p in ["tcp", "udp"] {
        if let Some(r) = rest.strip_prefix(p) {
            protocol = Some(p.to_owned());
            rest = r.strip_prefix(':').unwrap_or(r);
        }
    }
    let ports: crate::network::Ports = rest.parse().ok()?;
    Some((family, protocol, ports.to_string()))
}

fn socket_binds(wanted: &EffectiveValue, lines: &[&str]) -> (Verdict, Option<String>) {
    let (_, items) = list(wanted);
    let want: BTreeSet<_> = items
        .iter()
        .filter_map(|v| match v {
            Value::SocketBind(SocketBind {
                family,
                protocol,
                ports,
            }) => Some((
                family.map(|f| f.as_str().to_owned()),
                protocol.map(|p| p.as_str().to_owned()),
                ports.to_string(),
            )),
            _ => None,
        })
        .collect();
    let mut got = BTreeSet::new();
    for l in lines.iter().flat_map(|l| l.split_whitespace()) {
        match bind_rule(l) {
            Some(r) => {
                got.insert(r);
            }
            None => return not_comparable(format!("systemctl show printed {l:?}")),
        }
    }
    if lines.is_empty() && !want.is_empty() {
        return (
            Verdict::Missing {
                wanted: wanted.to_string(),
            },
            None,
        );
    }
    verdict(got == want, &lines.join(" "), wanted)
}

/// The capability set of `Lines` items, as systemd's
/// `config_parse_capability_set` builds it; `None` when an inverted list
/// makes it depend on the kernel.
fn capability_set(items: &[Value]) -> Option<BTreeSet<&'static str>> {
    let mut set = BTreeSet::new();
    for v in items {
        let Value::Capabilities(l) = v else {
            continue;
        };
        if l.invert {
            return None;
        }
        set.extend(l.caps.iter().map(|c| c.as_str()));
    }
    Some(set)
}

fn capabilities(wanted: &EffectiveValue, shown: &str) -> (Verdict, Option<String>) {
    let (_, items) = list(wanted);
    let got: BTreeSet<String> = shown
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    match capability_set(items) {
        Some(want) => {
            let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
            verdict(got == want, shown, wanted)
        }
        None => {
            // Inverted: everything the kernel knows but the listed ones.
            let listed: BTreeSet<&str> = items
                .iter()
                .filter_map(|v| match v {
                    Value::Capabilities(l) => Some(l.caps.iter().map(|c| c.as_str())),
                    _ => None,
                })
                .flatten()
                .collect();
            let want: BTreeSet<String> = CAPABILITIES
                .iter()
                .filter(|c| !listed.contains(*c))
                .map(|c| (*c).to_owned())
                .collect();
            if got == want {
                (Verdict::Same, None)
            } else {
                not_comparable(
                    "an inverted capability list depends on the capabilities the running kernel knows",
                )
            }
        }
    }
}

fn architectures(wanted: &EffectiveValue, shown: &str) -> (Verdict, Option<String>) {
    let (_, items) = list(wanted);
    let want: BTreeSet<String> = items.iter().map(ToString::to_string).collect();
    let got: BTreeSet<String> = shown.split_whitespace().map(str::to_owned).collect();
    verdict(got == want, shown, wanted)
}

/// systemd prints an address family by its canonical name.
fn canonical_family(name: &str) -> &str {
    match name {
        "AF_LOCAL" | "AF_FILE" => "AF_UNIX",
        "AF_ROUTE" => "AF_NETLINK",
        other => other,
    }
}

/// The (allow list?, families) systemd's `config_parse_address_families`
/// builds from `Lines` items; `None`: no restriction.
fn family_set(items: &[Value]) -> Option<(bool, BTreeSet<String>)> {
    let mut state: Option<(bool, BTreeSet<String>)> = None;
    for v in items {
        match v {
            Value::AddressFamilies(AddressFamilies::None) => state = Some((true, BTreeSet::new())),
            Value::AddressFamilies(AddressFamilies::List { deny, families }) => {
                let (allow, set) = state.get_or_insert_with(|| (!deny, BTreeSet::new()));
                for f in families {
                    let f = canonical_family(f).to_owned();
                    if *deny != *allow {
                        set.insert(f);
                    } else {
                        set.remove(&f);
                    }
                }
            }
            _ => {}
        }
    }
    state
}

fn address_families(wanted: &EffectiveValue, shown: Option<&str>) -> (Verdict, Option<String>) {
    let (_, items) = list(wanted);
    let want = family_set(items).unwrap_or((false, BTreeSet::new()));
    let (allow, names) = allow_or_deny(shown);
    let got: BTreeSet<String> = names
        .iter()
        .map(|f| canonical_family(f).to_owned())
        .collect();
    verdict((allow, got) == want, shown.unwrap_or(""), wanted)
}

/// Namespace types systemd knows, as `RestrictNamespaces=` prints them;
/// `time` is left out on both sides (see the module documentation).
const NAMESPACES: &[&str] = &["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"];

/// The namespace types still allowed after systemd's
/// `config_parse_restrict_namespaces` read the items.
fn allowed_namespaces(items: &[Value]) -> BTreeSet<&'static str> {
    let all: BTreeSet<&'static str> = NAMESPACES.iter().copied().collect();
    let mut allowed: Option<BTreeSet<&'static str>> = None;
    for v in items {
        match v {
            Value::Namespaces(RestrictNamespaces::All(true)) => allowed = Some(BTreeSet::new()),
            Value::Namespaces(RestrictNamespaces::All(false)) => allowed = Some(all.clone()),
            Value::Namespaces(RestrictNamespaces::Types { invert, types }) => {
                let listed: BTreeSet<&'static str> = types.iter().map(|t| t.as_str()).collect();
                match &mut allowed {
                    None => {
                        allowed = Some(if *invert {
                            all.difference(&listed).copied().collect()
                        } else {
                            listed
                        });
                    }
                    Some(set) if *invert => set.retain(|t| !listed.contains(t)),
                    Some(set) => set.extend(listed),
                }
            }
            _ => {}
        }
    }
    allowed.unwrap_or(all)
}

fn namespaces(wanted: &EffectiveValue, shown: &str) -> (Verdict, Option<String>) {
    let (_, items) = list(wanted);
    let want = allowed_namespaces(items);
    let got: BTreeSet<&str> = match shown {
        "yes" => BTreeSet::new(),
        "no" => NAMESPACES.iter().copied().collect(),
        other => other.split_whitespace().filter(|t| *t != "time").collect(),
    };
    if got.iter().any(|t| !NAMESPACES.contains(t)) {
        return not_comparable(format!("systemctl show printed {shown:?}"));
    }
    verdict(got == want, shown, wanted)
}

/// Adds a call or group, expanded, to `out`.
fn expand(item: &str, out: &mut BTreeSet<&'static str>, depth: u8) {
    if let Some((_, members)) = SYSCALL_GROUPS.iter().find(|(g, _)| *g == item) {
        if depth < 8 {
            for m in *members {
                expand(m, out, depth + 1);
            }
        }
    } else if let Some(name) = crate::known::SYSCALLS.iter().find(|s| **s == item) {
        out.insert(name);
    } else if let Some((_, members)) = SYSCALL_GROUPS.iter().find(|(_, m)| m.contains(&item)) {
        // A call only listed inside a group (not in @known): keep its name.
        if let Some(name) = members.iter().find(|m| **m == item) {
            out.insert(name);
        }
    }
}

/// A seccomp filter as systemd's `config_parse_syscall_filter` builds it.
struct Filter {
    allow: bool,
    names: BTreeSet<&'static str>,
    /// Calls a deny line took out of an allow list.
    denied: BTreeSet<&'static str>,
}

fn filter(items: &[Value], add_default: bool) -> Option<Filter> {
    let mut state: Option<Filter> = None;
    for v in items {
        let Value::Syscalls(f) = v else {
            continue;
        };
        let st = state.get_or_insert_with(|| {
            let mut names = BTreeSet::new();
            if !f.deny && add_default {
                expand("@default", &mut names, 0);
            }
            Filter {
                allow: !f.deny,
                names,
                denied: BTreeSet::new(),
            }
        });
        let mut expanded = BTreeSet::new();
        for i in &f.items {
            expand(i.as_str(), &mut expanded, 0);
        }
        if f.deny != st.allow {
            st.names.extend(expanded);
        } else {
            for n in expanded {
                st.names.remove(n);
                if st.allow {
                    st.denied.insert(n);
                }
            }
        }
    }
    state
}

fn describe_filter(allow: bool, n: usize) -> String {
    format!(
        "{} list of {n} call{}",
        if allow { "an allow" } else { "a deny" },
        if n == 1 { "" } else { "s" }
    )
}

fn sample(names: &BTreeSet<&str>) -> String {
    let shown: Vec<&str> = names.iter().take(5).copied().collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(" "))
    } else {
        shown.join(" ")
    }
}

/// `(allow list?, names)` as systemctl show prints a filter or a family
/// list: `~` opens a deny list; a property left out is an empty deny list
/// (no restriction), an empty value an empty allow list (everything
/// denied).
fn allow_or_deny(shown: Option<&str>) -> (bool, BTreeSet<&str>) {
    let Some(shown) = shown else {
        return (false, BTreeSet::new());
    };
    let (allow, rest) = match shown.strip_prefix('~') {
        Some(r) => (false, r),
        None => (true, shown),
    };
    let names = rest
        .split_whitespace()
        .map(|n| n.split_once(':').map_or(n, |(name, _)| name))
        .collect();
    (allow, names)
}

fn syscall_filter(wanted: &EffectiveValue, shown: Option<&str>) -> (Verdict, Option<String>) {
    let (_, items) = list(wanted);
    let want = filter(items, true);
    let (allow, got) = allow_or_deny(shown);
    let Some(want) = want else {
        return verdict(got.is_empty() && !allow, shown.unwrap_or(""), wanted);
    };
    if shown.is_none() {
        return (
            Verdict::Missing {
                wanted: describe_filter(want.allow, want.names.len()),
            },
            None,
        );
    }
    let want_names: BTreeSet<&str> = want.names.iter().copied().collect();
    if allow != want.allow {
        return (
            Verdict::Differs {
                shown: describe_filter(allow, got.len()),
                wanted: describe_filter(want.allow, want.names.len()),
            },
            None,
        );
    }
    if got == want_names {
        return (Verdict::Same, None);
    }
    if allow {
        let leaked: BTreeSet<&str> = got
            .iter()
            .filter(|n| want.denied.contains(*n) && !want_names.contains(*n))
            .copied()
            .collect();
        if !leaked.is_empty() {
            return (
                Verdict::Differs {
                    shown: format!(
                        "{} allowing {}",
                        describe_filter(true, got.len()),
                        sample(&leaked)
                    ),
                    wanted: format!(
                        "{} that denies them",
                        describe_filter(true, want_names.len())
                    ),
                },
                None,
            );
        }
    }
    let extra: BTreeSet<&str> = got.difference(&want_names).copied().collect();
    let missing: BTreeSet<&str> = want_names.difference(&got).copied().collect();
    not_comparable(format!(
        "{} calls printed but not expected ({}), {} expected but not printed ({}); systemd leaves out \
         calls libseccomp cannot resolve on this host and prints aliases by their canonical name",
        extra.len(),
        sample(&extra),
        missing.len(),
        sample(&missing)
    ))
}

fn syscall_log(wanted: &EffectiveValue, shown: Option<&str>) -> (Verdict, Option<String>) {
    let (_, items) = list(wanted);
    let (allow, got) = allow_or_deny(shown);
    match filter(items, false) {
        Some(f) if f.allow == allow && f.names.iter().copied().collect::<BTreeSet<_>>() == got => {
            (Verdict::Same, None)
        }
        None if got.is_empty() && !allow => (Verdict::Same, None),
        _ => not_comparable("SystemCallLog= is only compared when the expanded lists are equal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{UnitFile, service_assignments, show_output};

    fn eff(text: &str) -> Effective {
        let f = UnitFile::parse("t", &format!("[Service]\n{text}")).unwrap();
        Effective::from_reads(&service_assignments(&f).unwrap())
    }

    fn run(wanted: &str, show: &str) -> Vec<String> {
        compare(&eff(wanted), &show_output("show", show).unwrap())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn booleans_and_keywords_use_show_spelling() {
        assert_eq!(
            run(
                "PrivatePIDs=true\nUMask=0027\nProtectSystem=strict\nProtectHome=true\n",
                "PrivatePIDs=yes\nUMask=0022\nProtectSystem=strict\nProtectHome=yes\n"
            ),
            [
                "~ UMask 0022 -> 0027",
                "= PrivatePIDs",
                "= ProtectHome",
                "= ProtectSystem"
            ]
        );
        assert_eq!(
            run("ProtectClock=true\n", ""),
            ["+ ProtectClock=yes (not in the show output)"]
        );
    }

    #[test]
    fn binds_are_triples() {
        let wanted = "BindReadOnlyPaths=/a -/b:/c:norbind\nBindPaths=/r/1\n";
        assert_eq!(
            run(
                wanted,
                "BindReadOnlyPaths=/a:/a:rbind -/b:/c\nBindPaths=/r/1:/r/1:rbind\n"
            ),
            ["= BindReadOnlyPaths", "= BindPaths"]
        );
        let out = run(
            wanted,
            "BindReadOnlyPaths=/x:/x:rbind /a:/a:rbind -/b:/c\nBindPaths=/r/2:/r/2:rbind\n",
        );
        assert!(out[0].starts_with("= BindReadOnlyPaths\n"), "{out:?}");
        assert!(out[0].contains("also /x:/x:rbind"), "{out:?}");
        assert_eq!(out[1], "~ BindPaths /r/2:/r/2:rbind -> /r/1:/r/1:rbind");
        // With a reset, an extra item is a difference.
        let out = run("ReadOnlyPaths=\n", "ReadOnlyPaths=/x\n");
        assert_eq!(out, ["~ ReadOnlyPaths /x -> \"\""]);
        assert_eq!(run("ReadOnlyPaths=\n", ""), ["= ReadOnlyPaths"]);
    }

    #[test]
    fn capabilities_namespaces_families() {
        assert_eq!(
            run(
                "CapabilityBoundingSet=\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n",
                "AmbientCapabilities=cap_net_bind_service\n"
            ),
            ["= CapabilityBoundingSet", "= AmbientCapabilities"]
        );
        assert_eq!(
            run(
                "CapabilityBoundingSet=\n",
                "CapabilityBoundingSet=cap_chown\n"
            ),
            ["~ CapabilityBoundingSet cap_chown -> \"\""]
        );
        assert_eq!(
            run("RestrictNamespaces=true\n", "RestrictNamespaces=yes\n"),
            ["= RestrictNamespaces"]
        );
        assert_eq!(
            run(
                "RestrictNamespaces=~user\n",
                "RestrictNamespaces=cgroup ipc net mnt pid uts time\n"
            ),
            ["= RestrictNamespaces"]
        );
        assert_eq!(
            run("RestrictNamespaces=true\n", "RestrictNamespaces=net\n"),
            ["~ RestrictNamespaces net -> yes"]
        );
        assert_eq!(
            run(
                "RestrictAddressFamilies=AF_INET AF_INET6 AF_LOCAL\n",
                "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n"
            ),
            ["= RestrictAddressFamilies"]
        );
        assert_eq!(
            run(
                "RestrictAddressFamilies=AF_INET AF_UNIX\n",
                "RestrictAddressFamilies=~AF_PACKET\n"
            ),
            ["~ RestrictAddressFamilies ~AF_PACKET -> AF_INET AF_UNIX"]
        );
    }

    #[test]
    fn syscall_filters_are_expanded_or_declared_not_comparable() {
        let wanted = "SystemCallFilter=@system-service\nSystemCallFilter=~@debug @mount\n";
        let items = match eff(wanted)
            .get(&Key::Known(Directive::SystemCallFilter))
            .cloned()
        {
            Some(EffectiveValue::List { items, .. }) => items,
            other => panic!("{other:?}"),
        };
        let f = filter(&items, true).unwrap();
        assert!(f.allow && f.names.contains("read") && !f.names.contains("ptrace"));
        let exact: Vec<&str> = f.names.iter().copied().collect();
        assert_eq!(
            run(wanted, &format!("SystemCallFilter={}\n", exact.join(" "))),
            ["= SystemCallFilter"]
        );
        // A call the wanted lines deny but systemd allows is a difference.
        let out = run(
            wanted,
            &format!("SystemCallFilter=ptrace {}\n", exact.join(" ")),
        );
        assert!(out[0].starts_with("~ SystemCallFilter"), "{out:?}");
        assert!(out[0].contains("ptrace"), "{out:?}");
        // A shorter list is not evidence of a difference.
        let out = run(
            wanted,
            &format!("SystemCallFilter={}\n", exact[1..].join(" ")),
        );
        assert!(
            out[0].starts_with("? SystemCallFilter: not comparable"),
            "{out:?}"
        );
        let out = run(wanted, "SystemCallFilter=~ptrace\n");
        assert!(
            out[0].contains("a deny list of 1 call -> an allow list"),
            "{out:?}"
        );
    }

    #[test]
    fn socket_rules_one_per_line() {
        assert_eq!(
            run(
                "SocketBindAllow=udp:27000-27999\nSocketBindDeny=any\n",
                "SocketBindAllow=udp27000-27999\nSocketBindDeny=any\n"
            ),
            ["= SocketBindAllow", "= SocketBindDeny"]
        );
        assert_eq!(
            run(
                "SocketBindAllow=ipv4:udp:27015\nSocketBindAllow=tcp:27015\n",
                "SocketBindAllow=ipv4:udp:27015\nSocketBindAllow=tcp:27015\n"
            ),
            ["= SocketBindAllow"]
        );
    }

    #[test]
    fn extended_properties_and_errno() {
        assert_eq!(
            run(
                "PrivateUsers=identity\n",
                "PrivateUsers=yes\nPrivateUsersEx=identity\n"
            ),
            ["= PrivateUsers"]
        );
        assert!(run("PrivateUsers=identity\n", "PrivateUsers=yes\n")[0].starts_with("? "));
        assert_eq!(
            run("PrivateUsers=true\n", "PrivateUsers=yes\n"),
            ["= PrivateUsers"]
        );
        assert!(
            run("SystemCallErrorNumber=EPERM\n", "SystemCallErrorNumber=1\n")[0]
                .starts_with("? SystemCallErrorNumber: not comparable")
        );
    }
}
