//! Value kinds: the one trait every kind of directive value implements.
//!
//! A kind knows everything that differs between kinds — how a value is
//! parsed strictly (for profiles we write), how systemd 257's own parser
//! applies a line to what it holds (for files we read), how values merge
//! when layers compose, their canonical spelling, the systemd version of
//! newer values, samples for conformance tests. Nothing outside the kind's
//! implementation matches on the kind: `kinds!` generates the [`Kind`]
//! enum, the [`Value`] and [`State`] enums and their dispatch from one
//! list, so a new kind is one line there and one `impl ValueKind`, and a
//! kind that is not fully implemented does not compile.

use std::fmt;
use std::hash::Hash;

use crate::directive::{Directive, Merge};
use crate::error::Result;
use crate::instance::Instance;
use crate::lexer::{Diagnostic, Level};
use crate::systemd::specifier::{self, Expansion, SpecifierError};

/// What a parser of systemd's sees while it applies one assignment, and
/// where it reports what it would log.
pub struct Apply<'a> {
    /// The directive.
    pub directive: Directive,
    /// The key as written (an alias keeps its own name in messages).
    pub lvalue: &'a str,
    /// The file, for diagnostics.
    pub file: &'a str,
    /// The line, for diagnostics.
    pub line: usize,
    /// What specifiers expand to.
    pub specifiers: &'a specifier::Context,
    /// Where diagnostics go.
    pub diagnostics: &'a mut Vec<Diagnostic>,
}

impl Apply<'_> {
    /// Logs a warning, as `log_syntax(…, LOG_WARNING, …)` does.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::new(
            self.file,
            self.line,
            Level::Warning,
            message,
        ));
    }

    /// `log_syntax_parse_error()`: `Failed to parse KEY=VALUE, ignoring: ERR`.
    pub fn parse_error(&mut self, rvalue: &str, strerror: &str) {
        let lvalue = self.lvalue;
        self.warn(format!(
            "Failed to parse {lvalue}={rvalue}, ignoring: {strerror}"
        ));
    }

    /// `unit_path_printf()`: expands specifiers, at most `PATH_MAX - 1`
    /// bytes. Host-dependent specifiers stay as written.
    pub fn path_printf(&self, text: &str) -> std::result::Result<String, SpecifierError> {
        self.printf(text, crate::systemd::path::PATH_MAX - 1)
    }

    /// `unit_full_printf()`: expands specifiers, at most `LONG_LINE_MAX`
    /// bytes.
    pub fn full_printf(&self, text: &str) -> std::result::Result<String, SpecifierError> {
        self.printf(text, crate::lexer::LONG_LINE_MAX)
    }

    fn printf(&self, text: &str, max: usize) -> std::result::Result<String, SpecifierError> {
        match self.specifiers.expand(text, max)? {
            Expansion::Done(s) | Expansion::HostDependent(s) => Ok(s),
        }
    }
}

/// One kind of directive value.
///
/// `Value` is one assignment line as the model builds it (strictly
/// validated); `State` is what systemd holds for the directive's storage
/// after reading any number of lines, compared to decide whether two units
/// have the same settings.
pub trait ValueKind: 'static {
    /// A validated assignment value.
    type Value: Clone + fmt::Debug + PartialEq + Eq + Hash + fmt::Display;
    /// What systemd holds after reading assignments.
    type State: Clone + fmt::Debug + PartialEq + Eq + Default;

    /// A short description for messages and documentation.
    const DESCRIBE: &'static str;
    /// Values, as text, covering every keyword and syntactic form the model
    /// can produce; conformance tests render each for every directive of
    /// the kind and ask systemd.
    const SAMPLES: &'static [&'static str];
    /// Whether systemd 257 accepts the empty assignment (`Key=`) as a reset
    /// for this kind, so that the model may write one.
    const ACCEPTS_EMPTY: bool;
    /// How repeated assignments combine when layers compose.
    const MERGE: Merge;

    /// Parses the text of a non-empty assignment strictly: anything systemd
    /// would warn about, or read other than meant, is an error.
    fn parse(directive: Directive, text: &str) -> Result<Self::Value>;

    /// The systemd version that introduced this particular value, where it
    /// is newer than the directive.
    fn since(_value: &Self::Value) -> Option<u32> {
        None
    }

    /// One value per item, for kinds whose lines carry several items that
    /// systemd appends one by one.
    fn items(value: &Self::Value) -> Vec<Self::Value> {
        vec![value.clone()]
    }

    /// Whether the value mentions `%i` or `%I`.
    fn uses_instance(_value: &Self::Value) -> bool {
        false
    }

    /// The value with `%i`/`%I` replaced for `instance`.
    fn resolve_instance(value: &Self::Value, _instance: &Instance) -> Result<Self::Value> {
        Ok(value.clone())
    }

    /// Applies one assignment (`rvalue` may be empty) to `state` exactly as
    /// systemd 257's parser for the directive does, logging what it logs.
    fn apply(state: &mut Self::State, cx: &mut Apply<'_>, rvalue: &str);

    /// Canonical assignment values that, applied to a fresh state, give
    /// `state`'s part for `directive` (directives sharing storage each show
    /// their own part). Equal states give equal lines.
    fn lines(state: &Self::State, directive: Directive) -> Vec<String>;

    /// The `Key=value` properties `systemd-run --property=` takes to give a
    /// transient unit this state for `directive` (systemd-run parses them
    /// itself, in `bus-unit-util.c`, not always as a unit file does). By
    /// default the canonical lines under the directive's name.
    fn properties(state: &Self::State, directive: Directive) -> Vec<String> {
        Self::lines(state, directive)
            .into_iter()
            .map(|v| format!("{}={v}", directive.name()))
            .collect()
    }

    /// Compares `state` (what is wanted for `directive`) with what
    /// `systemctl show` printed for it; `reset` tells whether the wanted
    /// lines started with an empty assignment (so that items from the unit
    /// or other drop-ins cannot be there). Returns the verdict and a note
    /// worth showing that is not a difference. By default the canonical
    /// lines are compared with the printed value.
    fn show(
        directive: Directive,
        state: &Self::State,
        reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let _ = reset;
        let want = Self::lines(state, directive).join(" ");
        match shown.last() {
            None => (Verdict::Missing { wanted: want }, None),
            Some(s) => (Verdict::of(s == want, s, &want), None),
        }
    }

    /// How `directive` differs between two states, as lines of a
    /// semantic diff: by default one change for single-valued kinds and
    /// the lines added and removed for lists. `fresh` is the state systemd
    /// starts from, so that a value only one side sets reads as added or
    /// removed.
    fn changes(
        directive: Directive,
        old: &Self::State,
        new: &Self::State,
        fresh: &Self::State,
    ) -> Vec<Delta> {
        let (o, n) = (Self::lines(old, directive), Self::lines(new, directive));
        if o == n {
            return Vec::new();
        }
        if Self::MERGE == Merge::Single {
            let f = Self::lines(fresh, directive);
            return vec![if o == f {
                Delta::Added(n.join(" "))
            } else if n == f {
                Delta::Removed(o.join(" "))
            } else {
                Delta::Changed(o.join(" "), n.join(" "))
            }];
        }
        let mut out: Vec<Delta> = o
            .iter()
            .filter(|l| !n.contains(l))
            .map(|l| Delta::Removed(l.clone()))
            .collect();
        out.extend(
            n.iter()
                .filter(|l| !o.contains(l))
                .map(|l| Delta::Added(l.clone())),
        );
        if out.is_empty() {
            // Same lines in another order.
            out.push(Delta::Changed(o.join(" "), n.join(" ")));
        }
        out
    }
}

/// What `systemctl show` printed for one property: its lines (a property
/// printed once per rule prints several), and the `…Ex` variant some
/// booleans have since systemd 257.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shown<'a> {
    /// The values printed for the property, in order.
    pub lines: &'a [&'a str],
    /// The value of the `NameEx` property, if printed.
    pub ex: Option<&'a str>,
}

impl<'a> Shown<'a> {
    /// The last value printed.
    pub fn last(&self) -> Option<&'a str> {
        self.lines.last().copied()
    }
}

/// What comparing a directive with `systemctl show` output found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// systemd has what is wanted.
    Same,
    /// systemd has something else.
    Differs {
        /// What `systemctl show` printed (summarised for long lists).
        shown: String,
        /// What is wanted.
        wanted: String,
    },
    /// The property is not in the show output at all.
    Missing {
        /// What is wanted.
        wanted: String,
    },
    /// The printed form cannot be compared with certainty.
    NotComparable {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// `Same` if `same`, else a difference between the two texts.
    pub fn of(same: bool, shown: &str, wanted: &str) -> Verdict {
        if same {
            Verdict::Same
        } else {
            Verdict::Differs {
                shown: if shown.is_empty() {
                    "\"\"".to_owned()
                } else {
                    shown.to_owned()
                },
                wanted: if wanted.is_empty() {
                    "\"\"".to_owned()
                } else {
                    wanted.to_owned()
                },
            }
        }
    }

    /// Not comparable, for `reason`.
    pub fn not_comparable(reason: impl Into<String>) -> Verdict {
        Verdict::NotComparable {
            reason: reason.into(),
        }
    }
}

/// One line of a semantic difference of a directive.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "change", content = "value")]
pub enum Delta {
    /// A value only the new side has.
    Added(String),
    /// A value only the old side has.
    Removed(String),
    /// Both have it, with these values.
    Changed(String, String),
}

/// Generates [`Kind`], [`Value`] and [`State`] and their dispatch from one
/// list of `Variant: ValueKind-implementing type`.
macro_rules! kinds {
    ($( $(#[$m:meta])* $variant:ident: $ty:ty, )+) => {
        /// What kind of value a directive takes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $( $(#[$m])* $variant, )+
        }

        /// A validated value of one assignment line.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Value {
            $( $(#[$m])* $variant(<$ty as ValueKind>::Value), )+
        }

        /// What systemd holds for one storage after reading assignments.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum State {
            $( $(#[$m])* $variant(<$ty as ValueKind>::State), )+
        }

        impl Kind {
            /// Every kind.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            /// A short description for messages and documentation.
            pub fn describe(self) -> &'static str {
                match self { $( Kind::$variant => <$ty as ValueKind>::DESCRIBE, )+ }
            }

            /// Values, as text, covering every form the model produces.
            pub fn samples(self) -> &'static [&'static str] {
                match self { $( Kind::$variant => <$ty as ValueKind>::SAMPLES, )+ }
            }

            /// Whether systemd 257 accepts the empty assignment as a reset.
            pub fn accepts_empty(self) -> bool {
                match self { $( Kind::$variant => <$ty as ValueKind>::ACCEPTS_EMPTY, )+ }
            }

            /// How repeated assignments combine when layers compose.
            pub fn merge(self) -> Merge {
                match self { $( Kind::$variant => <$ty as ValueKind>::MERGE, )+ }
            }

            pub(crate) fn parse(self, directive: Directive, text: &str) -> Result<Value> {
                match self {
                    $( Kind::$variant => <$ty as ValueKind>::parse(directive, text).map(Value::$variant), )+
                }
            }

            /// The state of storage no assignment touched.
            pub(crate) fn fresh(self) -> State {
                match self {
                    $( Kind::$variant => State::$variant(Default::default()), )+
                }
            }
        }

        impl Value {
            /// The kind of value this is.
            pub fn kind(&self) -> Kind {
                match self { $( Value::$variant(_) => Kind::$variant, )+ }
            }

            /// The systemd version that introduced this value, where newer
            /// than the directive.
            pub fn since(&self) -> Option<u32> {
                match self { $( Value::$variant(v) => <$ty as ValueKind>::since(v), )+ }
            }

            /// One value per item (see [`ValueKind::items`]).
            pub fn items(&self) -> Vec<Value> {
                match self {
                    $( Value::$variant(v) => <$ty as ValueKind>::items(v).into_iter().map(Value::$variant).collect(), )+
                }
            }

            /// Whether the value mentions `%i` or `%I`.
            pub fn uses_instance(&self) -> bool {
                match self { $( Value::$variant(v) => <$ty as ValueKind>::uses_instance(v), )+ }
            }

            /// The value with `%i`/`%I` replaced for `instance`.
            pub fn resolve_instance(&self, instance: &Instance) -> Result<Value> {
                match self {
                    $( Value::$variant(v) => <$ty as ValueKind>::resolve_instance(v, instance).map(Value::$variant), )+
                }
            }
        }

        impl fmt::Display for Value {
            /// The value as written in a drop-in.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $( Value::$variant(v) => fmt::Display::fmt(v, f), )+ }
            }
        }

        impl State {
            /// The kind of state this is.
            pub fn kind(&self) -> Kind {
                match self { $( State::$variant(_) => Kind::$variant, )+ }
            }

            /// Applies one assignment as systemd does.
            pub(crate) fn apply(&mut self, cx: &mut Apply<'_>, rvalue: &str) {
                match self { $( State::$variant(s) => <$ty as ValueKind>::apply(s, cx, rvalue), )+ }
            }

            /// Canonical assignment values for `directive`'s part.
            pub fn lines(&self, directive: Directive) -> Vec<String> {
                match self { $( State::$variant(s) => <$ty as ValueKind>::lines(s, directive), )+ }
            }

            /// `systemd-run --property=` lines (see [`ValueKind::properties`]).
            pub fn properties(&self, directive: Directive) -> Vec<String> {
                match self { $( State::$variant(s) => <$ty as ValueKind>::properties(s, directive), )+ }
            }

            /// Compares with `systemctl show` output (see [`ValueKind::show`]).
            pub fn show(&self, directive: Directive, reset: bool, shown: Shown<'_>) -> (Verdict, Option<String>) {
                match self { $( State::$variant(s) => <$ty as ValueKind>::show(directive, s, reset, shown), )+ }
            }

            /// How `directive` differs from `self` to `new` (see
            /// [`ValueKind::changes`]); states of different kinds never
            /// occur for one directive.
            pub fn changes(&self, directive: Directive, new: &State, fresh: &State) -> Vec<Delta> {
                $(
                    if let (State::$variant(o), State::$variant(n), State::$variant(f)) = (self, new, fresh) {
                        return <$ty as ValueKind>::changes(directive, o, n, f);
                    }
                )+
                vec![Delta::Changed(self.lines(directive).join(" "), new.lines(directive).join(" "))]
            }
        }

    };
}

/// Typed access to a [`State`] of one kind.
pub trait StateOf: ValueKind {
    /// The state, if `state` is of this kind.
    fn state(state: &State) -> Option<&Self::State>;
}

macro_rules! state_of {
    ($( $(#[$m:meta])* $variant:ident: $ty:ty, )+) => {
        $(
            impl StateOf for $ty {
                fn state(state: &State) -> Option<&Self::State> {
                    if let State::$variant(s) = state { Some(s) } else { None }
                }
            }
        )+
    };
}

/// Calls `$m!` with the list of kinds: the one place a kind is added
/// (its `ValueKind` implementation lives in the module of its directive
/// group).
macro_rules! with_kinds {
    ($m:ident) => {
        $m! {
            /// A boolean ([`crate::value::Boolean`]).
            Bool: crate::value::Boolean,
            /// [`crate::ProtectSystem`].
            ProtectSystem: crate::filesystem::ProtectSystem,
            /// [`crate::ProtectHome`].
            ProtectHome: crate::namespace::ProtectHome,
            /// [`crate::PrivateUsers`].
            PrivateUsers: crate::namespace::PrivateUsers,
            /// [`crate::PrivateTmp`].
            PrivateTmp: crate::namespace::PrivateTmp,
            /// [`crate::ProtectProc`].
            ProtectProc: crate::kernel::ProtectProc,
            /// [`crate::ProcSubset`].
            ProcSubset: crate::kernel::ProcSubset,
            /// [`crate::ProtectControlGroups`].
            ProtectControlGroups: crate::kernel::ProtectControlGroups,
            /// [`crate::KeyringMode`].
            KeyringMode: crate::ipc::KeyringMode,
            /// [`crate::UMask`].
            UMask: crate::identity::UMask,
            /// [`crate::CapabilityList`].
            Capabilities: crate::identity::CapabilityList,
            /// [`crate::PathList`].
            Paths: crate::filesystem::PathList,
            /// [`crate::TmpfsList`].
            Tmpfs: crate::filesystem::TmpfsList,
            /// [`crate::BindList`].
            Binds: crate::filesystem::BindList,
            /// [`crate::ArchList`].
            Architectures: crate::syscall::ArchList,
            /// [`crate::SyscallFilter`].
            Syscalls: crate::syscall::SyscallFilter,
            /// [`crate::SyscallLog`].
            SyscallLog: crate::syscall::SyscallLog,
            /// [`crate::ErrnoAction`].
            Errno: crate::syscall::ErrnoAction,
            /// [`crate::AddressFamilies`].
            AddressFamilies: crate::network::AddressFamilies,
            /// [`crate::RestrictNamespaces`].
            Namespaces: crate::namespace::RestrictNamespaces,
            /// [`crate::SocketBind`].
            SocketBind: crate::network::SocketBind,
        }
    };
}

with_kinds!(kinds);
with_kinds!(state_of);
