//! Comparing wanted settings with what `systemctl show UNIT` prints.
//!
//! `systemctl show` prints the unit's settings after systemd merged the
//! unit file and every drop-in, in its own spellings: booleans as
//! `yes`/`no`, `UMask=` as four octal digits, bind mounts as
//! `[-]SOURCE:DEST[:rbind]`, capabilities in lower case, `RestrictNamespaces=`
//! as the namespace types still *allowed* (`yes`: none), `SystemCallFilter=`
//! as the expanded list of calls, `SocketBindAllow=` one rule per line.
//! Each kind knows how its directives print ([`crate::kind::ValueKind::show`]);
//! where the printed form cannot be mapped back with certainty the
//! directive is reported as [`Verdict::NotComparable`] with the reason,
//! never guessed:
//!
//! - `SystemCallFilter=`: a different mode (allow list against deny list)
//!   or a call systemd allows that the wanted filter does not is a
//!   difference; any other mismatch is not comparable, because systemd
//!   drops calls libseccomp cannot resolve on the host and prints aliases
//!   by their canonical name.
//! - `SystemCallLog=` and `SystemCallErrorNumber=` (printed as a number)
//!   are only reported equal when they are; otherwise not comparable.
//! - Values with specifiers other than the instance (`%h`, `%t`, …) are
//!   not comparable: systemd prints them expanded.
//!
//! The show output reflects the whole unit (its own file and every
//! drop-in), so a list the wanted settings do not reset may carry items
//! from elsewhere; for path and bind lists those are reported as a note,
//! not as a difference.

use std::collections::BTreeMap;
use std::fmt;

use crate::directive::Directive;
use crate::effective::Effective;
pub use crate::kind::{Shown, Verdict};
use crate::parse::RawEntry;

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

/// Compares every directive `wanted` sets with the `systemctl show` output
/// `show` (as read by [`crate::parse::show_output`]), in registry order.
pub fn compare(wanted: &Effective, show: &[RawEntry]) -> Vec<Check> {
    let mut shown: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in show {
        shown
            .entry(e.key.as_str())
            .or_default()
            .push(e.value.as_str());
    }
    let empty: Vec<&str> = Vec::new();
    Directive::ALL
        .iter()
        .filter(|d| wanted.is_set(**d))
        .filter_map(|d| {
            let state = wanted.state(*d)?;
            let lines = shown.get(d.name()).unwrap_or(&empty);
            let ex = shown
                .get(format!("{}Ex", d.name()).as_str())
                .and_then(|l| l.last().copied());
            let (verdict, note) = if wanted.origin_values(*d).iter().any(|v| v.contains('%')) {
                (
                    Verdict::not_comparable(
                        "the wanted value has specifiers, which systemctl show prints expanded",
                    ),
                    None,
                )
            } else {
                state.show(*d, wanted.was_reset(*d), Shown { lines, ex })
            };
            Some(Check {
                directive: *d,
                verdict,
                note,
            })
        })
        .collect()
}

/// Compares list items in `systemctl show` spelling with the printed
/// value: equal, or (without a reset) every wanted item there in order
/// with others around it, which is a note rather than a difference.
pub(crate) fn list(want: &[String], reset: bool, shown: Option<&str>) -> (Verdict, Option<String>) {
    let got: Vec<&str> = shown.unwrap_or("").split_whitespace().collect();
    if shown.is_none() && !want.is_empty() {
        return (
            Verdict::Missing {
                wanted: want.join(" "),
            },
            None,
        );
    }
    if got == want {
        return (Verdict::Same, None);
    }
    let mut rest = got.iter();
    let all_there = want.iter().all(|w| rest.any(|g| g == w));
    if !reset && all_there {
        let extra: Vec<&str> = got
            .iter()
            .filter(|g| !want.iter().any(|w| w == *g))
            .copied()
            .collect();
        return (
            Verdict::Same,
            Some(format!(
                "also {} (from the unit or another drop-in)",
                extra.join(" ")
            )),
        );
    }
    (Verdict::of(false, &got.join(" "), &want.join(" ")), None)
}

/// A few names of a set, for messages.
pub(crate) fn sample<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let shown: Vec<&str> = names.iter().take(5).copied().collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(" "))
    } else {
        shown.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::show_output;

    fn eff(text: &str) -> Effective {
        let mut e = Effective::new("x.service");
        e.read("t", format!("[Service]\n{text}").as_bytes());
        e
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
                "RestrictNamespaces=cgroup ipc net mnt pid uts\n"
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
        let e = eff(wanted);
        let f = e
            .get::<crate::SyscallFilter>(Directive::SystemCallFilter)
            .cloned()
            .flatten()
            .unwrap();
        assert!(f.allow_list && f.calls.contains_key("read") && !f.calls.contains_key("ptrace"));
        let exact: Vec<&str> = f.calls.keys().copied().collect();
        assert_eq!(
            run(wanted, &format!("SystemCallFilter={}\n", exact.join(" "))),
            ["= SystemCallFilter"]
        );
        // A call the wanted filter denies but systemd allows is a difference.
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
