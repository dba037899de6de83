//! Typed directive values: parsing by directive, rendering, instances.

use std::fmt;

use crate::directive::{Directive, Kind};
use crate::error::{Error, Result};
use crate::filesystem::{BindSpec, PathSpec, ProtectSystem, TmpfsSpec};
use crate::identity::{CapabilityList, UMask};
use crate::instance::Instance;
use crate::ipc::KeyringMode;
use crate::kernel::{ProcSubset, ProtectControlGroups, ProtectProc};
use crate::namespace::{PrivateUsers, ProtectHome, RestrictNamespaces};
use crate::network::{AddressFamilies, SocketBind};
use crate::path::forbidden_char;
use crate::syscall::{Architecture, ErrnoAction, SyscallFilter};

/// systemd's `parse_boolean`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// How booleans are written in rendered drop-ins (the test plan's spelling).
pub(crate) fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The value of one non-empty assignment line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// `ProtectSystem=`.
    ProtectSystem(ProtectSystem),
    /// `ProtectHome=`.
    ProtectHome(ProtectHome),
    /// `PrivateUsers=`.
    PrivateUsers(PrivateUsers),
    /// `ProtectProc=`.
    ProtectProc(ProtectProc),
    /// `ProcSubset=`.
    ProcSubset(ProcSubset),
    /// `ProtectControlGroups=`.
    ProtectControlGroups(ProtectControlGroups),
    /// `KeyringMode=`.
    KeyringMode(KeyringMode),
    /// `UMask=`.
    UMask(UMask),
    /// `CapabilityBoundingSet=`, `AmbientCapabilities=`.
    Capabilities(CapabilityList),
    /// `ReadOnlyPaths=`, `ReadWritePaths=`.
    Paths(Vec<PathSpec>),
    /// `TemporaryFileSystem=`.
    Tmpfs(Vec<TmpfsSpec>),
    /// `BindPaths=`, `BindReadOnlyPaths=`.
    Binds(Vec<BindSpec>),
    /// `SystemCallArchitectures=`.
    Architectures(Vec<Architecture>),
    /// `SystemCallFilter=`, `SystemCallLog=`.
    Syscalls(SyscallFilter),
    /// `SystemCallErrorNumber=`.
    Errno(ErrnoAction),
    /// `RestrictAddressFamilies=`.
    AddressFamilies(AddressFamilies),
    /// `RestrictNamespaces=`.
    Namespaces(RestrictNamespaces),
    /// `SocketBindAllow=`, `SocketBindDeny=`.
    SocketBind(SocketBind),
}

fn list<T>(text: &str, item: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    text.split_whitespace().map(item).collect()
}

impl Value {
    /// Reads the text of a non-empty assignment for `directive`.
    pub fn parse(directive: Directive, text: &str) -> Result<Value> {
        let name = directive.name();
        if let Some((c, why)) = forbidden_char(text).filter(|(c, _)| !matches!(c, ' ' | '\t')) {
            return Err(Error::value(name, text, format!("contains {why} ({c:?})")));
        }
        if text.trim().is_empty() {
            return Err(Error::value(
                name,
                text,
                "empty; an empty assignment is a reset, not a value",
            ));
        }
        let text = text.trim();
        let kw = |what: &str| Error::value(name, text, format!("expected {what}"));
        Ok(match directive.spec().kind {
            Kind::Bool => Value::Bool(parse_bool(text).ok_or_else(|| kw("a boolean"))?),
            Kind::ProtectSystem => Value::ProtectSystem(text.parse()?),
            Kind::ProtectHome => Value::ProtectHome(text.parse()?),
            Kind::PrivateUsers => Value::PrivateUsers(text.parse()?),
            Kind::ProtectProc => Value::ProtectProc(text.parse()?),
            Kind::ProcSubset => Value::ProcSubset(text.parse()?),
            Kind::ProtectControlGroups => Value::ProtectControlGroups(text.parse()?),
            Kind::KeyringMode => Value::KeyringMode(text.parse()?),
            Kind::UMask => Value::UMask(text.parse()?),
            Kind::Capabilities => Value::Capabilities(CapabilityList::parse(name, text)?),
            Kind::Paths => Value::Paths(list(text, |p| PathSpec::parse(name, p))?),
            Kind::Tmpfs => Value::Tmpfs(list(text, TmpfsSpec::parse)?),
            Kind::Binds => Value::Binds(list(text, |b| BindSpec::parse(name, b))?),
            Kind::Architectures => Value::Architectures(list(text, str::parse)?),
            Kind::Syscalls => Value::Syscalls(SyscallFilter::parse(name, text)?),
            Kind::Errno => Value::Errno(text.parse()?),
            Kind::AddressFamilies => Value::AddressFamilies(text.parse()?),
            Kind::Namespaces => Value::Namespaces(text.parse()?),
            Kind::SocketBind => Value::SocketBind(text.parse().map_err(|e| match e {
                Error::InvalidValue { value, reason, .. } => Error::InvalidValue {
                    directive: name.to_owned(),
                    value,
                    reason,
                },
                other => other,
            })?),
        })
    }

    /// The kind of value this is.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Bool(_) => Kind::Bool,
            Value::ProtectSystem(_) => Kind::ProtectSystem,
            Value::ProtectHome(_) => Kind::ProtectHome,
            Value::PrivateUsers(_) => Kind::PrivateUsers,
            Value::ProtectProc(_) => Kind::ProtectProc,
            Value::ProcSubset(_) => Kind::ProcSubset,
            Value::ProtectControlGroups(_) => Kind::ProtectControlGroups,
            Value::KeyringMode(_) => Kind::KeyringMode,
            Value::UMask(_) => Kind::UMask,
            Value::Capabilities(_) => Kind::Capabilities,
            Value::Paths(_) => Kind::Paths,
            Value::Tmpfs(_) => Kind::Tmpfs,
            Value::Binds(_) => Kind::Binds,
            Value::Architectures(_) => Kind::Architectures,
            Value::Syscalls(_) => Kind::Syscalls,
            Value::Errno(_) => Kind::Errno,
            Value::AddressFamilies(_) => Kind::AddressFamilies,
            Value::Namespaces(_) => Kind::Namespaces,
            Value::SocketBind(_) => Kind::SocketBind,
        }
    }

    fn kind_name(&self) -> &'static str {
        self.kind().describe()
    }

    /// Checks that this value fits `directive`.
    pub fn check_kind(&self, directive: Directive) -> Result<()> {
        let spec = directive.spec();
        if self.kind() == spec.kind {
            Ok(())
        } else {
            Err(Error::KindMismatch {
                directive: spec.name,
                expected: spec.kind.describe(),
                found: self.kind_name(),
            })
        }
    }

    /// The systemd version that introduced this particular value, where it
    /// is newer than the directive (`PrivateUsers=identity` is 257).
    pub fn since(&self) -> Option<u32> {
        match self {
            Value::PrivateUsers(v) => v.since(),
            Value::ProtectControlGroups(v) => v.since(),
            Value::ProtectSystem(v) => v.since(),
            Value::ProtectHome(v) => v.since(),
            Value::ProtectProc(v) => v.since(),
            Value::ProcSubset(v) => v.since(),
            Value::KeyringMode(v) => v.since(),
            Value::Errno(v) => v.since(),
            Value::AddressFamilies(v) => v.since(),
            _ => None,
        }
    }

    /// Whether a list value is empty (which the model never renders: an
    /// empty assignment is a reset).
    pub fn is_empty_list(&self) -> bool {
        match self {
            Value::Paths(v) => v.is_empty(),
            Value::Tmpfs(v) => v.is_empty(),
            Value::Binds(v) => v.is_empty(),
            Value::Architectures(v) => v.is_empty(),
            _ => false,
        }
    }

    /// For item lists (paths, binds, tmpfs, architectures), one value per
    /// item; any other value is its own single item.
    pub fn items(&self) -> Vec<Value> {
        match self {
            Value::Paths(v) => v.iter().map(|i| Value::Paths(vec![i.clone()])).collect(),
            Value::Tmpfs(v) => v.iter().map(|i| Value::Tmpfs(vec![i.clone()])).collect(),
            Value::Binds(v) => v.iter().map(|i| Value::Binds(vec![i.clone()])).collect(),
            Value::Architectures(v) => v
                .iter()
                .map(|i| Value::Architectures(vec![i.clone()]))
                .collect(),
            other => vec![other.clone()],
        }
    }

    /// Whether the value mentions `%i` or `%I`.
    pub fn uses_instance(&self) -> bool {
        let paths: Vec<&crate::UnitPath> = match self {
            Value::Paths(v) => v.iter().map(|p| &p.path).collect(),
            Value::Tmpfs(v) => v.iter().map(|t| &t.path).collect(),
            Value::Binds(v) => v
                .iter()
                .flat_map(|b| std::iter::once(&b.source).chain(b.destination.as_ref()))
                .collect(),
            _ => Vec::new(),
        };
        paths
            .iter()
            .any(|p| p.uses_specifier('i') || p.uses_specifier('I'))
    }

    /// The value with `%i`/`%I` replaced for `instance`.
    pub fn resolve_instance(&self, instance: &Instance) -> Result<Value> {
        Ok(match self {
            Value::Paths(v) => Value::Paths(
                v.iter()
                    .map(|p| p.resolve_instance(instance))
                    .collect::<Result<_>>()?,
            ),
            Value::Tmpfs(v) => Value::Tmpfs(
                v.iter()
                    .map(|t| t.resolve_instance(instance))
                    .collect::<Result<_>>()?,
            ),
            Value::Binds(v) => Value::Binds(
                v.iter()
                    .map(|b| b.resolve_instance(instance))
                    .collect::<Result<_>>()?,
            ),
            other => other.clone(),
        })
    }
}

fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn keyword(f: &mut fmt::Formatter<'_>, b: Option<bool>, text: &str) -> fmt::Result {
    match b {
        Some(b) => f.write_str(bool_str(b)),
        None => f.write_str(text),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => f.write_str(bool_str(*b)),
            Value::ProtectSystem(v) => keyword(f, v.as_bool(), v.as_str()),
            Value::ProtectHome(v) => keyword(f, v.as_bool(), v.as_str()),
            Value::PrivateUsers(v) => keyword(f, v.as_bool(), v.as_str()),
            Value::ProtectControlGroups(v) => keyword(f, v.as_bool(), v.as_str()),
            Value::ProtectProc(v) => write!(f, "{v}"),
            Value::ProcSubset(v) => write!(f, "{v}"),
            Value::KeyringMode(v) => write!(f, "{v}"),
            Value::UMask(v) => write!(f, "{v}"),
            Value::Capabilities(v) => write!(f, "{v}"),
            Value::Paths(v) => join(f, v),
            Value::Tmpfs(v) => join(f, v),
            Value::Binds(v) => join(f, v),
            Value::Architectures(v) => join(f, v),
            Value::Syscalls(v) => write!(f, "{v}"),
            Value::Errno(v) => write!(f, "{v}"),
            Value::AddressFamilies(v) => write!(f, "{v}"),
            Value::Namespaces(v) => write!(f, "{v}"),
            Value::SocketBind(v) => write!(f, "{v}"),
        }
    }
}

impl Kind {
    /// Values of this kind, as text, that together cover every keyword and
    /// every syntactic form the model can produce. Conformance tests render
    /// each of them for every directive of the kind and ask systemd.
    pub fn samples(self) -> &'static [&'static str] {
        match self {
            Kind::Bool => &["true", "false"],
            Kind::ProtectSystem => &["true", "full", "strict", "false"],
            Kind::ProtectHome => &["true", "read-only", "tmpfs", "false"],
            Kind::PrivateUsers => &["true", "self", "identity", "false"],
            Kind::ProtectProc => &["default", "invisible", "ptraceable", "noaccess"],
            Kind::ProcSubset => &["all", "pid"],
            Kind::ProtectControlGroups => &["true", "private", "strict", "false"],
            Kind::KeyringMode => &["inherit", "private", "shared"],
            Kind::UMask => &["0027", "0777", "0000"],
            Kind::Capabilities => &["CAP_NET_BIND_SERVICE", "~CAP_SYS_ADMIN CAP_SYS_PTRACE"],
            Kind::Paths => &["/var/lib/left4me", "-/srv/missing /opt/%i"],
            Kind::Tmpfs => &["/var/lib /etc", "/srv:ro,mode=0755"],
            Kind::Binds => &[
                "/var/lib/left4me/runtime/%i",
                "-/srv/a:/srv/b /srv/c:/srv/d:norbind /srv/e:/srv/f:rbind",
            ],
            Kind::Architectures => &["native x86", "x86-64"],
            Kind::Syscalls => &["@system-service", "~@debug @mount ptrace"],
            Kind::Errno => &["EPERM", "kill"],
            Kind::AddressFamilies => &["AF_INET AF_INET6 AF_UNIX", "~AF_PACKET", "none"],
            Kind::Namespaces => &["true", "false", "net uts", "~user"],
            Kind::SocketBind => &["any", "ipv4:udp:27000-27999", "tcp:8000", "ipv6:443"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_parses_and_renders_back() {
        for d in Directive::ALL {
            for sample in d.spec().kind.samples() {
                let v = Value::parse(*d, sample).unwrap_or_else(|e| panic!("{d}: {e}"));
                assert_eq!(&v.to_string(), sample, "{d}");
                v.check_kind(*d).unwrap();
            }
        }
    }

    #[test]
    fn booleans_read_every_spelling() {
        for t in ["1", "yes", "y", "true", "t", "on"] {
            assert_eq!(
                Value::parse(Directive::PrivatePids, t).unwrap(),
                Value::Bool(true)
            );
        }
        assert_eq!(
            Value::parse(Directive::ProtectHome, "yes")
                .unwrap()
                .to_string(),
            "true"
        );
        assert!(Value::parse(Directive::PrivatePids, "maybe").is_err());
    }

    #[test]
    fn line_breaks_are_impossible() {
        for d in Directive::ALL {
            for bad in ["true\nBogus=1", "x\r", "\0"] {
                let err = Value::parse(*d, bad).unwrap_err().to_string();
                assert!(err.contains(d.name()), "{err}");
            }
        }
    }

    #[test]
    fn empty_is_not_a_value() {
        assert!(Value::parse(Directive::BindPaths, "").is_err());
        assert!(Value::parse(Directive::BindPaths, "  ").is_err());
    }
}
