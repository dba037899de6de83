//! Namespaces: private users, home protection, namespace restrictions.

use std::fmt;

use crate::directive::{Directive, Merge};
use crate::error::{Error, Result};
use crate::keyword::keywords;
use crate::kind::{Apply, Shown, ValueKind, Verdict};
use crate::systemd::extract::{Cursor, Flags};
use crate::systemd::number::parse_boolean;

keywords! {
    /// `ProtectHome=`.
    ProtectHome(Directive::ProtectHome) {
        /// `/home`, `/root` and `/run/user` stay as they are.
        No = "no",
        /// Made inaccessible.
        Yes = "yes",
        /// Made read-only.
        ReadOnly = "read-only",
        /// Replaced by empty tmpfs.
        Tmpfs = "tmpfs" since 238,
    }
    bool { yes: Yes, no: No }
    kind {
        table: ["no", "yes", "read-only", "tmpfs"],
        yes: "yes",
        describe: "yes, read-only, tmpfs or no",
        samples: ["true", "read-only", "tmpfs", "false"],
    }
}

keywords! {
    /// `PrivateTmp=`: a private `/tmp` and `/var/tmp`.
    PrivateTmp(Directive::PrivateTmp) {
        /// The host's `/tmp`.
        No = "no",
        /// Private, connected to the host's `/tmp` tree (`connected`).
        Yes = "yes",
        /// Private, on a tmpfs of its own.
        Disconnected = "disconnected" since 256,
    }
    bool { yes: Yes, no: No }
    kind {
        table: ["no", "connected", "disconnected"],
        yes: "connected",
        describe: "yes, disconnected or no",
        samples: ["true", "disconnected", "false"],
        ex_property: true,
    }
}

keywords! {
    /// `PrivateUsers=`.
    PrivateUsers(Directive::PrivateUsers) {
        /// No user namespace.
        No = "no",
        /// A user namespace mapping only root and the service's own user.
        Yes = "yes",
        /// The same as `yes`, spelled out.
        SelfMap = "self" since 257,
        /// Identity-map the first 65536 uids and gids.
        Identity = "identity" since 257,
    }
    bool { yes: Yes, no: No }
    kind {
        table: ["no", "self", "identity"],
        yes: "self",
        describe: "yes, self, identity or no",
        samples: ["true", "self", "identity", "false"],
        ex_property: true,
    }
}

keywords! {
    /// A namespace type, as `RestrictNamespaces=` names it.
    NamespaceType(Directive::RestrictNamespaces) {
        /// cgroup namespaces.
        Cgroup = "cgroup",
        /// IPC namespaces.
        Ipc = "ipc",
        /// Mount namespaces.
        Mnt = "mnt",
        /// Network namespaces.
        Net = "net",
        /// PID namespaces.
        Pid = "pid",
        /// User namespaces.
        User = "user",
        /// UTS (hostname) namespaces.
        Uts = "uts",
    }
}

/// One line of `RestrictNamespaces=`: a boolean, or the namespace types
/// allowed (or, with `~`, denied).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RestrictNamespaces {
    /// `true` forbids every namespace type, `false` none.
    All(bool),
    /// A list of types.
    Types {
        /// `~`: these are the forbidden ones.
        invert: bool,
        /// The types, at least one.
        types: Vec<NamespaceType>,
    },
}

impl std::str::FromStr for RestrictNamespaces {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if let Some(b) = crate::value::parse_bool(s) {
            return Ok(RestrictNamespaces::All(b));
        }
        let (invert, rest) = crate::systemd::extract::split_inverted(s);
        let types = rest
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<NamespaceType>>>()?;
        if types.is_empty() {
            return Err(Error::value(
                Directive::RestrictNamespaces.name(),
                s,
                "no namespace type named",
            ));
        }
        Ok(RestrictNamespaces::Types { invert, types })
    }
}

impl fmt::Display for RestrictNamespaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestrictNamespaces::All(b) => f.write_str(crate::value::bool_str(*b)),
            RestrictNamespaces::Types { invert, types } => {
                if *invert {
                    f.write_str("~")?;
                }
                crate::filesystem::words(f, types.iter().map(|t| t.as_str()))
            }
        }
    }
}

/// The namespace types systemd knows (`namespace_info[]` of
/// `src/basic/namespace-util.c`, generated) with their clone flags.
fn namespace_flags() -> impl Iterator<Item = (&'static str, u64)> {
    crate::generated::names::NAMESPACES
        .iter()
        .map(|n| (n.name, n.value))
}

/// `NAMESPACE_FLAGS_ALL` of `src/shared/nsflags.h`: every type but `time`,
/// which `RestrictNamespaces=` accepts but the set of all leaves out.
const NAMESPACE_FLAGS_ALL: u64 =
    0x0200_0000 | 0x0800_0000 | 0x4000_0000 | 0x0002_0000 | 0x2000_0000 | 0x1000_0000 | 0x0400_0000;

/// The namespace types a `RestrictNamespaces=` state still allows.
pub fn allowed_namespaces(state: &Option<u64>) -> Vec<&'static str> {
    let flags = state.unwrap_or(NAMESPACE_FLAGS_ALL);
    namespace_flags()
        .filter(|(_, f)| flags & f != 0)
        .map(|(n, _)| n)
        .collect()
}

impl ValueKind for RestrictNamespaces {
    type Value = RestrictNamespaces;
    /// The clone flags of the namespaces still allowed; `None` until a
    /// line sets them (`NAMESPACE_FLAGS_INITIAL`).
    type State = Option<u64>;
    const DESCRIBE: &'static str = "a boolean or namespace types, optionally ~-inverted";
    const SAMPLES: &'static [&'static str] = &["true", "false", "net uts", "~user"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::Lines;

    fn parse(_directive: Directive, text: &str) -> Result<RestrictNamespaces> {
        text.parse()
    }

    /// `config_parse_restrict_namespaces()`: a boolean replaces; the first
    /// list after a reset sets the allowed types (`~`: all others), later
    /// lists add (or, with `~`, remove) types.
    fn apply(state: &mut Option<u64>, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() {
            *state = None;
            return;
        }
        match parse_boolean(rvalue) {
            Some(true) => {
                *state = Some(0);
                return;
            }
            Some(false) => {
                *state = Some(NAMESPACE_FLAGS_ALL);
                return;
            }
            None => {}
        }
        let (invert, rest) = crate::systemd::extract::split_inverted(rvalue);
        let mut flags = 0u64;
        let mut words = Cursor::new(rest);
        loop {
            let known = match words.next_word(None, Flags::NONE) {
                Ok(Some(w)) => namespace_flags().find(|(n, _)| *n == w),
                Ok(None) => break,
                Err(_) => None,
            };
            match known {
                Some((_, f)) => flags |= f,
                None => {
                    cx.warn(format!(
                        "Failed to parse namespace type string, ignoring: {rest}"
                    ));
                    return;
                }
            }
        }
        *state = Some(match *state {
            None if invert => !flags & NAMESPACE_FLAGS_ALL,
            None => flags,
            Some(old) if invert => old & !flags,
            Some(old) => old | flags,
        });
    }

    /// `systemctl show` prints the types still allowed, `yes` for none,
    /// `no` for all.
    fn show(
        directive: Directive,
        state: &Option<u64>,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let printed = shown.last().unwrap_or("no");
        let got: Option<u64> = match printed {
            "yes" => Some(0),
            "no" => Some(NAMESPACE_FLAGS_ALL),
            other => other.split_whitespace().try_fold(0u64, |acc, t| {
                namespace_flags()
                    .find(|(n, _)| *n == t)
                    .map(|(_, f)| acc | f)
            }),
        };
        let Some(got) = got else {
            return (
                Verdict::not_comparable(format!("systemctl show printed {printed:?}")),
                None,
            );
        };
        let want = state.unwrap_or(NAMESPACE_FLAGS_ALL);
        let wanted = Self::lines(state, directive).join(" ");
        (
            Verdict::of(
                got & NAMESPACE_FLAGS_ALL == want & NAMESPACE_FLAGS_ALL,
                printed,
                if wanted.is_empty() { "no" } else { &wanted },
            ),
            None,
        )
    }

    /// `restrict_namespaces_set()`: with every type of
    /// `NAMESPACE_FLAGS_ALL` allowed nothing is restricted (`time` does
    /// not count).
    fn lines(state: &Option<u64>, _directive: Directive) -> Vec<String> {
        match *state {
            None => Vec::new(),
            Some(0) => vec!["yes".to_owned()],
            Some(f) if f & NAMESPACE_FLAGS_ALL == NAMESPACE_FLAGS_ALL => vec!["no".to_owned()],
            Some(_) => vec![allowed_namespaces(state).join(" ")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_every_generated_type_but_time() {
        let all = namespace_flags()
            .filter(|(n, _)| *n != "time")
            .fold(0, |m, (_, f)| m | f);
        assert_eq!(all, NAMESPACE_FLAGS_ALL);
    }
}
