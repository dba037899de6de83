//! Identity and privilege: capabilities and the file-mode mask.

use std::fmt;

use crate::error::{Error, Result};
use crate::known::CAPABILITIES;

/// A Linux capability name that systemd 257 knows, such as `CAP_NET_BIND_SERVICE`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(&'static str);

impl Capability {
    /// Looks a capability up by name (upper case, with the `CAP_` prefix).
    pub fn new(directive: &str, name: &str) -> Result<Self> {
        CAPABILITIES
            .iter()
            .find(|&&c| c == name)
            .map(|&c| Capability(c))
            .ok_or_else(|| Error::value(directive, name, "not a capability systemd 257 knows"))
    }

    /// The capability's name.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// One line of `CapabilityBoundingSet=` or `AmbientCapabilities=`: a list of
/// capabilities, inverted with a leading `~`.
///
/// The empty assignment is not a value but a reset, and for these two
/// directives systemd resets to the *empty* set: `CapabilityBoundingSet=`
/// drops every capability.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CapabilityList {
    /// `~`: everything except these.
    pub invert: bool,
    /// The capabilities, at least one.
    pub caps: Vec<Capability>,
}

impl CapabilityList {
    pub(crate) fn parse(directive: &str, text: &str) -> Result<Self> {
        let (invert, rest) = match text.strip_prefix('~') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let caps = rest
            .split_whitespace()
            .map(|c| Capability::new(directive, c))
            .collect::<Result<Vec<_>>>()?;
        if caps.is_empty() {
            return Err(Error::value(directive, text, "no capability named"));
        }
        Ok(CapabilityList { invert, caps })
    }
}

impl fmt::Display for CapabilityList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.invert {
            f.write_str("~")?;
        }
        let names: Vec<&str> = self.caps.iter().map(Capability::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

/// `UMask=`: a file-mode creation mask, at most `0777`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UMask(u16);

impl UMask {
    /// A mask from its numeric value; only permission bits are allowed.
    pub fn new(mode: u16) -> Result<Self> {
        if mode > 0o777 {
            return Err(Error::value(
                "UMask",
                &format!("{mode:o}"),
                "only permission bits (at most 0777)",
            ));
        }
        Ok(UMask(mode))
    }

    /// The numeric mask.
    pub fn mode(self) -> u16 {
        self.0
    }
}

impl std::str::FromStr for UMask {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let digits = s.trim_start_matches('0');
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return Err(Error::value(
                "UMask",
                s,
                "expected an octal mode such as 0027",
            ));
        }
        let mode = u16::from_str_radix(if digits.is_empty() { "0" } else { digits }, 8)
            .map_err(|e| Error::value("UMask", s, e.to_string()))?;
        UMask::new(mode)
            .map_err(|_| Error::value("UMask", s, "only permission bits (at most 0777)"))
    }
}

impl fmt::Display for UMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umask_is_octal_and_bounded() {
        assert_eq!("0027".parse::<UMask>().unwrap().to_string(), "0027");
        assert_eq!("22".parse::<UMask>().unwrap().to_string(), "0022");
        for bad in ["", "0o27", "8", "1000", "07777", "-1", " 027"] {
            assert!(bad.parse::<UMask>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn capabilities_are_checked() {
        assert!(CapabilityList::parse("AmbientCapabilities", "CAP_NET_RAW").is_ok());
        let l = CapabilityList::parse("CapabilityBoundingSet", "~CAP_SYS_ADMIN CAP_SYS_PTRACE")
            .unwrap();
        assert_eq!(l.to_string(), "~CAP_SYS_ADMIN CAP_SYS_PTRACE");
        assert!(CapabilityList::parse("AmbientCapabilities", "CAP_FLY").is_err());
        assert!(CapabilityList::parse("AmbientCapabilities", "cap_net_raw").is_err());
    }
}
