//! Namespaces: private users, home protection, namespace restrictions.

use std::fmt;

use crate::error::{Error, Result};
use crate::keyword::keywords;

keywords! {
    /// `ProtectHome=`.
    ProtectHome("ProtectHome") {
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
}

keywords! {
    /// `PrivateUsers=`.
    PrivateUsers("PrivateUsers") {
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
}

keywords! {
    /// A namespace type, as `RestrictNamespaces=` names it.
    NamespaceType("RestrictNamespaces") {
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
        let (invert, rest) = match s.strip_prefix('~') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let types = rest
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<NamespaceType>>>()?;
        if types.is_empty() {
            return Err(Error::value(
                "RestrictNamespaces",
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
                let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
                f.write_str(&names.join(" "))
            }
        }
    }
}
