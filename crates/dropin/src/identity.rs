//! Identity and privilege: capabilities and the file-mode mask.

use std::fmt;

use crate::directive::{Directive, Merge};
use crate::error::{Error, Result};
use crate::kind::{Apply, Delta, Shown, ValueKind, Verdict};
use crate::known::CAPABILITIES;
use crate::systemd::extract::{Cursor, Flags};
use crate::systemd::number::{AtoFlags, parse_mode, safe_atou};

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
        let (invert, rest) = crate::systemd::extract::split_inverted(text);
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
        crate::filesystem::words(f, self.caps.iter().map(Capability::as_str))
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
                Directive::UMask.name(),
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
                Directive::UMask.name(),
                s,
                "expected an octal mode such as 0027",
            ));
        }
        let mode = u16::from_str_radix(if digits.is_empty() { "0" } else { digits }, 8)
            .map_err(|e| Error::value(Directive::UMask.name(), s, e.to_string()))?;
        UMask::new(mode).map_err(|_| {
            Error::value(
                Directive::UMask.name(),
                s,
                "only permission bits (at most 0777)",
            )
        })
    }
}

impl fmt::Display for UMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

/// systemd's `CAP_LIMIT`: the highest capability number it accepts.
const CAP_LIMIT: u64 = 62;

/// `capability_from_name()`: a number up to `CAP_LIMIT` or a name, in any
/// case.
fn capability_from_name(word: &str) -> Option<u32> {
    use crate::generated::names::CAPABILITY_NUMBERS;
    if let Ok(n) = safe_atou(word, 0, AtoFlags::default(), u64::from(u32::MAX)) {
        return (n <= CAP_LIMIT).then(|| u32::try_from(n).ok()).flatten();
    }
    CAPABILITY_NUMBERS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(word))
        .map(|(_, n)| *n)
}

/// The name of capability `bit` (upper case), or its number.
pub fn capability_name(bit: u32) -> String {
    use crate::generated::names::CAPABILITY_NUMBERS;
    CAPABILITY_NUMBERS
        .iter()
        .find(|(_, n)| *n == bit)
        .map_or_else(|| bit.to_string(), |(c, _)| c.to_ascii_uppercase())
}

/// The highest capability number systemd 257 has a name for.
pub fn last_named_capability() -> u32 {
    crate::generated::names::CAPABILITY_NUMBERS
        .iter()
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
}

impl ValueKind for CapabilityList {
    type Value = CapabilityList;
    /// The capability mask (bit N: capability N).
    type State = u64;
    const DESCRIBE: &'static str = "capability names, optionally ~-inverted";
    const SAMPLES: &'static [&'static str] =
        &["CAP_NET_BIND_SERVICE", "~CAP_SYS_ADMIN CAP_SYS_PTRACE"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::Lines;

    fn parse(directive: Directive, text: &str) -> Result<CapabilityList> {
        CapabilityList::parse(directive.name(), text)
    }

    /// `config_parse_capability_set()`: a line replaces the set when it
    /// names nothing (`""`, `"~"`, only unknown names) or when the set is
    /// still at its default, and is merged into it (OR, or AND NOT with
    /// `~`) otherwise. Unknown names are skipped silently.
    fn apply(state: &mut u64, cx: &mut Apply<'_>, rvalue: &str) {
        let (invert, rest) = crate::systemd::extract::split_inverted(rvalue);
        // The registry's default: `~` (every capability, the bounding
        // set) or none (the empty set, the ambient set).
        let default = if cx.directive.spec().default == Some("~") {
            u64::MAX
        } else {
            0
        };
        let mut sum = 0u64;
        let mut words = Cursor::new(rest);
        let flags = Flags {
            relax: true,
            ..Flags::UNQUOTE
        };
        loop {
            match words.next_word(None, flags) {
                Ok(Some(word)) => {
                    if let Some(bit) = capability_from_name(&word) {
                        sum |= 1 << bit;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    let lvalue = cx.lvalue;
                    cx.warn(format!(
                        "Failed to parse {lvalue}= specifier '{rest}', ignoring: Invalid argument"
                    ));
                    return;
                }
            }
        }
        if sum == 0 || *state == default {
            *state = if invert { !sum } else { sum };
        } else if invert {
            *state &= !sum;
        } else {
            *state |= sum;
        }
    }

    /// `systemctl show` prints the capabilities the running kernel knows,
    /// in lower case.
    fn show(
        _directive: Directive,
        state: &u64,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let printed = shown.last().unwrap_or("");
        let mut got = 0u64;
        for w in printed.split_whitespace() {
            match capability_from_name(w) {
                Some(bit) => got |= 1 << bit,
                None => {
                    return (
                        Verdict::not_comparable(format!("systemctl show printed {w:?}")),
                        None,
                    );
                }
            }
        }
        let known = (1u64 << (last_named_capability() + 1)) - 1;
        let want = *state & known;
        let wanted: Vec<String> = (0..64u32)
            .filter(|b| want & (1 << b) != 0)
            .map(|b| capability_name(b).to_ascii_lowercase())
            .collect();
        (Verdict::of(got == want, printed, &wanted.join(" ")), None)
    }

    fn lines(state: &u64, _directive: Directive) -> Vec<String> {
        let names = |bits: u64| -> Vec<String> {
            (0..64u32)
                .filter(|b| bits & (1 << b) != 0)
                .map(capability_name)
                .collect()
        };
        let high = *state >> (CAP_LIMIT + 1);
        let line = if *state == 0 {
            String::new()
        } else if high == u64::MAX >> (CAP_LIMIT + 1) {
            format!("~{}", names(!*state).join(" "))
        } else {
            names(*state).join(" ")
        };
        vec![line]
    }

    /// The capabilities the new side no longer holds as one removed line
    /// (`- CapabilityBoundingSet=CAP_SYS_MODULE CAP_SYS_TIME`), those it
    /// gains as one added line.
    fn changes(_directive: Directive, old: &u64, new: &u64, _fresh: &u64) -> Vec<Delta> {
        let names = |mask: u64| -> String {
            let v: Vec<String> = (0..64u32)
                .filter(|b| u64::from(*b) <= CAP_LIMIT && mask & (1 << b) != 0)
                .map(capability_name)
                .collect();
            v.join(" ")
        };
        let mut out = Vec::new();
        if old & !new != 0 {
            out.push(Delta::Removed(names(old & !new)));
        }
        if new & !old != 0 {
            out.push(Delta::Added(names(new & !old)));
        }
        out
    }
}

impl ValueKind for UMask {
    type Value = UMask;
    /// The mode.
    type State = Option<u32>;
    const DESCRIBE: &'static str = "an octal mode";
    const SAMPLES: &'static [&'static str] = &["0027", "0777", "0000"];
    const ACCEPTS_EMPTY: bool = false;
    const MERGE: Merge = Merge::Single;

    fn parse(_directive: Directive, text: &str) -> Result<UMask> {
        text.parse()
    }

    /// `config_parse_mode()`: octal, at most `07777`, no sign.
    fn apply(state: &mut Option<u32>, cx: &mut Apply<'_>, rvalue: &str) {
        match parse_mode(rvalue) {
            Ok(m) => *state = Some(m),
            Err(e) => cx.parse_error(rvalue, e.strerror()),
        }
    }

    fn lines(state: &Option<u32>, _directive: Directive) -> Vec<String> {
        state.iter().map(|m| format!("{m:04o}")).collect()
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
