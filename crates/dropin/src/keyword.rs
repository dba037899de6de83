//! Keyword-valued settings (`ProtectSystem=strict`) as enums.

/// Defines an enum of keywords with `as_str`, `ALL`, `FromStr` and
/// `Display`. Variants after `bool` accept systemd's boolean spellings
/// (`ProtectSystem=true` means `yes`).
macro_rules! keywords {
    (
        $(#[$meta:meta])*
        $name:ident ($directive:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(since $since:literal)? ),+ $(,)?
        }
        $(bool { yes: $yes:ident, no: $no:ident })?
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
        }

        impl $name {
            /// The boolean this value stands for, where it is `yes` or `no`
            /// (rendered as `true`/`false`, the test plan's spelling).
            #[allow(unreachable_patterns)]
            pub fn as_bool(self) -> Option<bool> {
                match self {
                    $($name::$yes => Some(true), $name::$no => Some(false),)?
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
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
                Err($crate::Error::value($directive, s, format!("expected one of {}", known.join(", "))))
            }
        }
    };
}

pub(crate) use keywords;
