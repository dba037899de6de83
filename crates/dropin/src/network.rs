//! Network: address families and socket bind rules.

use std::fmt;

use crate::error::{Error, Result};
use crate::keyword::keywords;
use crate::known::ADDRESS_FAMILIES;

/// One line of `RestrictAddressFamilies=`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddressFamilies {
    /// `none`: no socket address family at all.
    None,
    /// A list of families allowed (or, with `~`, denied).
    List {
        /// `~`: these are the denied ones.
        deny: bool,
        /// Family names such as `AF_INET`, at least one.
        families: Vec<&'static str>,
    },
}

impl AddressFamilies {
    /// The systemd version that introduced this value, where newer than the
    /// directive (`none` is 249).
    pub fn since(&self) -> Option<u32> {
        match self {
            AddressFamilies::None => Some(249),
            AddressFamilies::List { .. } => None,
        }
    }
}

impl std::str::FromStr for AddressFamilies {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "none" {
            return Ok(AddressFamilies::None);
        }
        let (deny, rest) = match s.strip_prefix('~') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let families = rest
            .split_whitespace()
            .map(|f| {
                ADDRESS_FAMILIES
                    .iter()
                    .find(|&&k| k == f)
                    .copied()
                    .ok_or_else(|| {
                        Error::value(
                            "RestrictAddressFamilies",
                            f,
                            "not an address family systemd 257 knows (AF_INET, AF_UNIX, …)",
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        if families.is_empty() {
            return Err(Error::value(
                "RestrictAddressFamilies",
                s,
                "no family named",
            ));
        }
        Ok(AddressFamilies::List { deny, families })
    }
}

impl fmt::Display for AddressFamilies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressFamilies::None => f.write_str("none"),
            AddressFamilies::List { deny, families } => {
                if *deny {
                    f.write_str("~")?;
                }
                f.write_str(&families.join(" "))
            }
        }
    }
}

keywords! {
    /// The address family of a socket bind rule.
    BindFamily("SocketBindAllow") {
        /// IPv4.
        Ipv4 = "ipv4",
        /// IPv6.
        Ipv6 = "ipv6",
    }
}

keywords! {
    /// The transport protocol of a socket bind rule.
    BindProtocol("SocketBindAllow") {
        /// TCP.
        Tcp = "tcp",
        /// UDP.
        Udp = "udp",
    }
}

/// The ports of a socket bind rule: every port, or an inclusive range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ports {
    /// Every port.
    Any,
    /// `low-high` (a single port when equal), within 1–65535.
    Range(u16, u16),
}

impl Ports {
    /// A validated range: both ends in 1–65535 and `low <= high`.
    pub fn range(low: u16, high: u16) -> Result<Self> {
        if low == 0 || low > high {
            return Err(Error::value(
                "SocketBindAllow",
                &format!("{low}-{high}"),
                "ports must be 1-65535 and the range must not be reversed",
            ));
        }
        Ok(Ports::Range(low, high))
    }
}

impl std::str::FromStr for Ports {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "any" {
            return Ok(Ports::Any);
        }
        let bad = |why: &str| Error::value("SocketBindAllow", s, why);
        let port = |p: &str| -> Result<u16> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("expected a port, a range LOW-HIGH or any"));
            }
            p.parse::<u16>().map_err(|_| bad("a port is at most 65535"))
        };
        let (low, high) = match s.split_once('-') {
            Some((l, h)) => (port(l)?, port(h)?),
            None => {
                let p = port(s)?;
                (p, p)
            }
        };
        Ports::range(low, high)
            .map_err(|_| bad("ports must be 1-65535 and the range must not be reversed"))
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ports::Any => f.write_str("any"),
            Ports::Range(l, h) if l == h => write!(f, "{l}"),
            Ports::Range(l, h) => write!(f, "{l}-{h}"),
        }
    }
}

/// A rule of `SocketBindAllow=`/`SocketBindDeny=`:
/// `[ipv4|ipv6:][tcp|udp:]PORTS`, or `any`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketBind {
    /// Restrict the rule to one family.
    pub family: Option<BindFamily>,
    /// Restrict the rule to one protocol.
    pub protocol: Option<BindProtocol>,
    /// The ports.
    pub ports: Ports,
}

impl std::str::FromStr for SocketBind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        let (ports, head) = parts
            .split_last()
            .ok_or_else(|| Error::value("SocketBindAllow", s, "empty rule"))?;
        if head.len() > 2 {
            return Err(Error::value("SocketBindAllow", s, "too many ':' fields"));
        }
        let mut rule = SocketBind {
            family: None,
            protocol: None,
            ports: ports.parse()?,
        };
        for (i, part) in head.iter().enumerate() {
            if let (0, Ok(f)) = (i, part.parse::<BindFamily>()) {
                rule.family = Some(f);
            } else if rule.protocol.is_none() {
                rule.protocol = Some(part.parse::<BindProtocol>().map_err(|_| {
                    Error::value(
                        "SocketBindAllow",
                        s,
                        "expected ipv4/ipv6 then tcp/udp before the ports",
                    )
                })?);
            } else {
                return Err(Error::value("SocketBindAllow", s, "protocol given twice"));
            }
        }
        Ok(rule)
    }
}

impl fmt::Display for SocketBind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(fam) = self.family {
            write!(f, "{fam}:")?;
        }
        if let Some(p) = self.protocol {
            write!(f, "{p}:")?;
        }
        write!(f, "{}", self.ports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_bind_rules() {
        for ok in ["any", "27015", "udp:27000-27999", "ipv6:tcp:80", "ipv4:any"] {
            assert_eq!(ok.parse::<SocketBind>().unwrap().to_string(), ok);
        }
        for bad in [
            "0",
            "65536",
            "27999-27000",
            "udp:",
            "sctp:1",
            "ipv4:udp:tcp:1",
            "1-",
            "-1",
            "x",
        ] {
            assert!(bad.parse::<SocketBind>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn families() {
        assert_eq!(
            "AF_INET AF_UNIX"
                .parse::<AddressFamilies>()
                .unwrap()
                .to_string(),
            "AF_INET AF_UNIX"
        );
        assert!("AF_BOGUS".parse::<AddressFamilies>().is_err());
        assert!("~".parse::<AddressFamilies>().is_err());
    }
}
