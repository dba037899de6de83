//! Keyword-valued settings (`ProtectSystem=strict`) as enums.

/// Defines an enum of keywords with `as_str`, `ALL`, `FromStr` and
/// `Display`. Variants after `bool` accept systemd's boolean spellings
/// (`ProtectSystem=true` means `yes`) and render as `true`/`false`.
///
/// With a `kind` block the enum is also a directive [`ValueKind`]: `table`
/// is systemd's string table in index order and `yes` the entry a true
/// boolean selects (a false one selects the first entry), or `yes: none`
/// for tables that take no booleans; the state is the entry systemd holds.
///
/// [`ValueKind`]: crate::kind::ValueKind
macro_rules! keywords {
    (
        $(#[$meta:meta])*
        $name:ident ($($directive:ident)::+) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(since $since:literal)? ),+ $(,)?
        }
        $(bool { yes: $yes:ident, no: $no:ident })?
        $(kind {
            table: [$($entry:literal),+ $(,)?],
            yes: $systemd_yes:tt,
            describe: $describe:literal,
            samples: [$($sample:literal),+ $(,)?]
            $(, ex_property: $ex:literal)? $(,)?
        })?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The keyword as systemd spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The systemd version that introduced this value, where it is
            /// newer than the directive itself.
            pub fn since(self) -> Option<u32> {
                match self {
                    $($name::$variant => { None $(.or(Some($since)))? })+
                }
            }

            /// The boolean this value stands for, where it is `yes` or `no`
            /// (rendered as `true`/`false`, the test plan's spelling).
            pub fn as_bool(self) -> Option<bool> {
                $(
                    if self == $name::$yes { return Some(true); }
                    if self == $name::$no { return Some(false); }
                )?
                None
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.as_bool() {
                    Some(b) => f.write_str($crate::value::bool_str(b)),
                    None => f.write_str(self.as_str()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                $(
                    match $crate::value::parse_bool(s) {
                        Some(true) => return Ok($name::$yes),
                        Some(false) => return Ok($name::$no),
                        None => {}
                    }
                )?
                $(if s == $text { return Ok($name::$variant); })+
                let known: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                Err($crate::Error::value($crate::$($directive)::+.name(), s, format!("expected one of {}", known.join(", "))))
            }
        }

        $(
            impl $crate::kind::ValueKind for $name {
                type Value = $name;
                /// systemd's string-table entry, once assigned.
                type State = Option<&'static str>;
                const DESCRIBE: &'static str = $describe;
                const SAMPLES: &'static [&'static str] = &[$($sample),+];
                const ACCEPTS_EMPTY: bool = false;
                const MERGE: $crate::directive::Merge = $crate::directive::Merge::Single;

                fn parse(_directive: $crate::Directive, text: &str) -> $crate::Result<$name> {
                    text.parse()
                }

                fn since(value: &$name) -> Option<u32> {
                    $name::since(*value)
                }

                fn apply(state: &mut Option<&'static str>, cx: &mut $crate::kind::Apply<'_>, rvalue: &str) {
                    match $crate::keyword::from_table(&[$($entry),+], keywords!(@yes $systemd_yes), rvalue) {
                        Some(entry) => *state = Some(entry),
                        None => cx.parse_error(rvalue, "Invalid argument"),
                    }
                }

                /// `systemctl show` prints the entry, or (for tables that
                /// take booleans) a boolean with the entry in `NameEx`.
                fn show(
                    directive: $crate::Directive,
                    state: &Option<&'static str>,
                    _reset: bool,
                    shown: $crate::kind::Shown<'_>,
                ) -> ($crate::kind::Verdict, Option<String>) {
                    let table: &[&str] = &[$($entry),+];
                    $crate::keyword::show(table, keywords!(@yes $systemd_yes), &<$name as $crate::kind::ValueKind>::lines(state, directive).join(""), shown)
                }

                /// The entry, or systemd's initial value (the first entry).
                fn lines(state: &Option<&'static str>, _directive: $crate::Directive) -> Vec<String> {
                    let first: &[&str] = &[$($entry),+];
                    vec![state.or(first.first().copied()).unwrap_or_default().to_owned()]
                }

                /// With `ex_property`, systemd-run parses `Name=` as a
                /// boolean only: an entry that is no boolean goes as
                /// `NameEx=`, the property that takes the string.
                fn properties(state: &Option<&'static str>, directive: $crate::Directive) -> Vec<String> {
                    let ex: bool = keywords!(@ex $($ex)?);
                    <$name as $crate::kind::ValueKind>::lines(state, directive)
                        .into_iter()
                        .map(|v| match $crate::value::parse_bool(&v) {
                            None if ex => format!("{}Ex={v}", directive.name()),
                            _ => format!("{}={v}", directive.name()),
                        })
                        .collect()
                }
            }
        )?
    };
    (@yes none) => { None };
    (@ex) => { false };
    (@ex $ex:literal) => { $ex };
    (@yes $yes:literal) => { Some($yes) };
}

pub(crate) use keywords;

/// `NAME_from_string()` of a systemd string table: with `yes` set, a
/// boolean (any spelling, any case) selects `yes` or the first entry;
/// otherwise the exact entry.
pub(crate) fn from_table(
    table: &[&'static str],
    yes: Option<&'static str>,
    rvalue: &str,
) -> Option<&'static str> {
    if let Some(yes) = yes {
        match crate::systemd::number::parse_boolean(rvalue) {
            Some(true) => return Some(yes),
            Some(false) => return table.first().copied(),
            None => {}
        }
    }
    table.iter().find(|&&t| t == rvalue).copied()
}

/// Compares a keyword entry with `systemctl show` output: the `…Ex`
/// property when printed, else the value, which for a table that takes
/// booleans may be the boolean of the entry.
pub(crate) fn show(
    table: &[&str],
    yes: Option<&str>,
    entry: &str,
    shown: crate::kind::Shown<'_>,
) -> (crate::kind::Verdict, Option<String>) {
    use crate::kind::Verdict;
    if let Some(ex) = shown.ex {
        return (Verdict::of(ex == entry, ex, entry), None);
    }
    let Some(s) = shown.last() else {
        return (
            Verdict::Missing {
                wanted: entry.to_owned(),
            },
            None,
        );
    };
    if s == entry {
        return (Verdict::Same, None);
    }
    let as_bool = match (yes, crate::systemd::number::parse_boolean(s)) {
        (Some(y), Some(true)) => Some(y),
        (Some(_), Some(false)) => table.first().copied(),
        _ => None,
    };
    match as_bool {
        Some(e) if e == entry => (Verdict::Same, None),
        Some(_) if table.first() == Some(&entry) || Some(entry) == yes => {
            (Verdict::of(false, s, entry), None)
        }
        Some(_) => (
            Verdict::not_comparable(format!(
                "systemctl show printed {s:?} and no extended property to tell the mode"
            )),
            None,
        ),
        None => (Verdict::of(false, s, entry), None),
    }
}
