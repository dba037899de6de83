//! Network: address families and socket bind rules.

use std::fmt;

use std::collections::BTreeSet;

use crate::directive::{Directive, Merge};
use crate::error::{Error, Result};
use crate::keyword::keywords;
use crate::kind::{Apply, Shown, ValueKind, Verdict};
use crate::known::ADDRESS_FAMILIES;
use crate::systemd::extract::{Cursor, Flags};
use crate::systemd::number::{AtoFlags, safe_atou};

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
        let (deny, rest) = crate::systemd::extract::split_inverted(s);
        let families = rest
            .split_whitespace()
            .map(|f| {
                ADDRESS_FAMILIES
                    .iter()
                    .find(|&&k| k == f)
                    .copied()
                    .ok_or_else(|| {
                        Error::value(
                            Directive::RestrictAddressFamilies.name(),
                            f,
                            "not an address family systemd 257 knows (AF_INET, AF_UNIX, …)",
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        if families.is_empty() {
            return Err(Error::value(
                Directive::RestrictAddressFamilies.name(),
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
                crate::filesystem::words(f, families.iter().copied())
            }
        }
    }
}

keywords! {
    /// The address family of a socket bind rule.
    BindFamily(Directive::SocketBindAllow) {
        /// IPv4.
        Ipv4 = "ipv4",
        /// IPv6.
        Ipv6 = "ipv6",
    }
}

keywords! {
    /// The transport protocol of a socket bind rule.
    BindProtocol(Directive::SocketBindAllow) {
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
                Directive::SocketBindAllow.name(),
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
        let bad = |why: &str| Error::value(Directive::SocketBindAllow.name(), s, why);
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
            .ok_or_else(|| Error::value(Directive::SocketBindAllow.name(), s, "empty rule"))?;
        if head.len() > 2 {
            return Err(Error::value(
                Directive::SocketBindAllow.name(),
                s,
                "too many ':' fields",
            ));
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
                        Directive::SocketBindAllow.name(),
                        s,
                        "expected ipv4/ipv6 then tcp/udp before the ports",
                    )
                })?);
            } else {
                return Err(Error::value(
                    Directive::SocketBindAllow.name(),
                    s,
                    "protocol given twice",
                ));
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

/// The canonical name of an address family given in any case, aliases
/// (`AF_LOCAL`, `AF_FILE`, `AF_ROUTE`) resolved to the number systemd's
/// `af_from_name()` gives them (generated from the headers systemd is
/// built with).
fn canonical_family(name: &str) -> Option<&'static str> {
    use crate::generated::names::ADDRESS_FAMILY_NUMBERS;
    let (_, number) = ADDRESS_FAMILY_NUMBERS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
    // The kernel's primary name of the number: its socket.h documents
    // AF_LOCAL and AF_FILE as other names of AF_UNIX and AF_ROUTE as one
    // of AF_NETLINK.
    const ALIASES: &[&str] = &["AF_LOCAL", "AF_FILE", "AF_ROUTE"];
    ADDRESS_FAMILIES.iter().copied().find(|f| {
        !ALIASES.contains(f)
            && ADDRESS_FAMILY_NUMBERS
                .iter()
                .any(|(n, v)| n == f && v == number)
    })
}

/// `RestrictAddressFamilies=` as systemd holds it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FamilySet {
    /// An allow list (otherwise a deny list).
    pub allow_list: bool,
    /// The families named, once a line set them (`None` with `allow_list`
    /// is `none`: every family denied).
    pub families: Option<BTreeSet<String>>,
}

impl FamilySet {
    /// Whether sockets of `family` (`AF_INET`, …) may be created.
    pub fn allows(&self, family: &str) -> bool {
        match &self.families {
            None => !self.allow_list,
            Some(set) => set.contains(family) == self.allow_list,
        }
    }
}

impl ValueKind for AddressFamilies {
    type Value = AddressFamilies;
    type State = FamilySet;
    const DESCRIBE: &'static str = "AF_* names, optionally ~-inverted, or none";
    const SAMPLES: &'static [&'static str] = &["AF_INET AF_INET6 AF_UNIX", "~AF_PACKET", "none"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::Lines;

    fn parse(_directive: Directive, text: &str) -> Result<AddressFamilies> {
        text.parse()
    }

    fn since(value: &AddressFamilies) -> Option<u32> {
        AddressFamilies::since(value)
    }

    /// `config_parse_address_families()`.
    fn apply(state: &mut FamilySet, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() {
            *state = FamilySet::default();
            return;
        }
        if rvalue == "none" {
            *state = FamilySet {
                allow_list: true,
                families: None,
            };
            return;
        }
        let (invert, rest) = crate::systemd::extract::split_inverted(rvalue);
        if state.families.is_none() {
            state.families = Some(BTreeSet::new());
            state.allow_list = !invert;
        }
        let allow_list = state.allow_list;
        let mut words = Cursor::new(rest);
        loop {
            let word = match words.next_word(None, Flags::UNQUOTE) {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(_) => {
                    cx.warn(format!("Invalid syntax, ignoring: {rest}"));
                    return;
                }
            };
            let Some(af) = canonical_family(&word) else {
                cx.warn(format!("Failed to parse address family, ignoring: {word}"));
                continue;
            };
            if let Some(set) = state.families.as_mut() {
                if invert != allow_list {
                    set.insert(af.to_owned());
                } else {
                    set.remove(af);
                }
            }
        }
    }

    fn show(
        directive: Directive,
        state: &FamilySet,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let printed = shown.last();
        let (allow, names) = match printed {
            None => (false, ""),
            Some(p) => {
                let (deny, rest) = crate::systemd::extract::split_inverted(p);
                (!deny, rest)
            }
        };
        let got: BTreeSet<String> = names
            .split_whitespace()
            .map(|n| canonical_family(n).unwrap_or(n).to_owned())
            .collect();
        let want = state.families.clone().unwrap_or_default();
        let same = (allow, got) == (state.allow_list, want);
        (
            Verdict::of(
                same,
                printed.unwrap_or(""),
                &Self::lines(state, directive).join(" "),
            ),
            None,
        )
    }

    fn lines(state: &FamilySet, _directive: Directive) -> Vec<String> {
        match &state.families {
            None if state.allow_list => vec!["none".to_owned()],
            None => Vec::new(),
            // An allow list emptied by later `~` lines allows nothing, as
            // `none` does (an empty value would be a reset).
            Some(set) if set.is_empty() && state.allow_list => vec!["none".to_owned()],
            Some(set) => {
                let names: Vec<&str> = set.iter().map(String::as_str).collect();
                vec![format!(
                    "{}{}",
                    if state.allow_list { "" } else { "~" },
                    names.join(" ")
                )]
            }
        }
    }
}

/// One socket bind rule as systemd holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BindRule {
    /// `ipv4` or `ipv6`, if limited.
    pub family: Option<&'static str>,
    /// `tcp` or `udp`, if limited.
    pub protocol: Option<&'static str>,
    /// The number of ports (0: any).
    pub ports: u32,
    /// The first port.
    pub first: u32,
}

impl fmt::Display for BindRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(fam) = self.family {
            write!(f, "{fam}:")?;
        }
        if let Some(p) = self.protocol {
            write!(f, "{p}:")?;
        }
        match self.ports {
            0 => f.write_str("any"),
            1 => write!(f, "{}", self.first),
            n => write!(f, "{}-{}", self.first, self.first + n - 1),
        }
    }
}

/// `parse_socket_bind_item()`: `[ipv4|ipv6:][tcp|udp:](PORT[-PORT]|any)`,
/// each part optional but in this order; ports in any base `safe_atou`
/// takes.
fn parse_bind_rule(text: &str) -> Option<BindRule> {
    if text.is_empty() {
        return None;
    }
    let mut rule = BindRule {
        family: None,
        protocol: None,
        ports: 0,
        first: 0,
    };
    let mut stage = 0;
    let mut p = Cursor::new(text);
    loop {
        let token = match p.next_word(Some(b":"), Flags::DONT_COALESCE) {
            Ok(Some(t)) => t,
            Ok(None) => break,
            Err(_) => return None,
        };
        if token.is_empty() {
            return None;
        }
        let mut parsed = false;
        while stage < 3 {
            let ok = match stage {
                0 => match token.as_str() {
                    "ipv4" => Some("ipv4"),
                    "ipv6" => Some("ipv6"),
                    _ => None,
                }
                .map(|f| rule.family = Some(f)),
                1 => ["tcp", "udp"]
                    .into_iter()
                    .find(|p| token.eq_ignore_ascii_case(p))
                    .map(|p| rule.protocol = Some(p)),
                _ => parse_ports(&token).map(|(first, n)| {
                    rule.first = first;
                    rule.ports = n;
                }),
            };
            stage += 1;
            if ok.is_some() {
                parsed = true;
                break;
            }
        }
        if !parsed {
            return None;
        }
        if stage == 3 {
            break;
        }
    }
    if !p.is_done() {
        return None;
    }
    Some(rule)
}

/// `any` (0 ports) or `parse_ip_port_range(…, allow_zero = true)`.
fn parse_ports(token: &str) -> Option<(u32, u32)> {
    if token == "any" {
        return Some((0, 0));
    }
    let mut t = Cursor::new(token);
    let low = t.next_word(Some(b"-"), Flags::DONT_COALESCE).ok()??;
    let number = |s: &str| {
        safe_atou(s, 0, AtoFlags::default(), u64::from(u32::MAX))
            .ok()
            .and_then(|n| u32::try_from(n).ok())
    };
    let l = number(&low)?;
    let h = if t.is_done() {
        l
    } else if t.rest().is_empty() {
        return None;
    } else {
        number(t.rest())?
    };
    if l > 65535 || h > 65535 || h < l {
        return None;
    }
    Some((l, h - l + 1))
}

impl ValueKind for SocketBind {
    type Value = SocketBind;
    /// The rules, in the order systemd lists them (newest first).
    type State = Vec<BindRule>;
    const DESCRIBE: &'static str = "[ipv4|ipv6:][tcp|udp:]PORTS or any";
    const SAMPLES: &'static [&'static str] =
        &["any", "ipv4:udp:27000-27999", "tcp:8000", "ipv6:443"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::List;

    fn parse(_directive: Directive, text: &str) -> Result<SocketBind> {
        text.parse()
    }

    /// `config_parse_cgroup_socket_bind()`: one rule per line, prepended.
    fn apply(state: &mut Vec<BindRule>, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() {
            state.clear();
            return;
        }
        match parse_bind_rule(rvalue) {
            Some(rule) => state.insert(0, rule),
            None => {
                let lvalue = cx.lvalue;
                cx.warn(format!(
                    "Unable to parse {lvalue}= assignment, ignoring: {rvalue}"
                ));
            }
        }
    }

    /// `systemctl show` prints one rule per line, possibly without the
    /// colon after the protocol.
    fn show(
        directive: Directive,
        state: &Vec<BindRule>,
        _reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let mut got = BTreeSet::new();
        for l in shown.lines.iter().flat_map(|l| l.split_whitespace()) {
            let mut fixed = l.to_owned();
            for p in ["tcp", "udp"] {
                if let Some(at) = fixed.find(p)
                    && at + 3 < fixed.len()
                    && !fixed[at + 3..].starts_with(':')
                {
                    fixed.insert(at + 3, ':');
                }
            }
            match parse_bind_rule(&fixed) {
                Some(r) => {
                    got.insert(r);
                }
                None => {
                    return (
                        Verdict::not_comparable(format!("systemctl show printed {l:?}")),
                        None,
                    );
                }
            }
        }
        let want: BTreeSet<BindRule> = state.iter().cloned().collect();
        let wanted = Self::lines(state, directive).join(" ");
        if shown.lines.is_empty() && !want.is_empty() {
            return (Verdict::Missing { wanted }, None);
        }
        (
            Verdict::of(got == want, &shown.lines.join(" "), &wanted),
            None,
        )
    }

    fn lines(state: &Vec<BindRule>, _directive: Directive) -> Vec<String> {
        state.iter().rev().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the fuzzer: an allow list emptied by a `~` line allows
    /// nothing; its canonical line is `none`, not an empty reset.
    #[test]
    fn an_emptied_allow_list_reads_back_as_none() {
        let mut e = crate::Effective::new("x.service");
        e.read(
            "a.conf",
            b"[Service]\nRestrictAddressFamilies=AF_INET\nRestrictAddressFamilies=~AF_INET\n",
        );
        e.finish();
        assert_eq!(e.lines(Directive::RestrictAddressFamilies), ["none"]);
    }

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
