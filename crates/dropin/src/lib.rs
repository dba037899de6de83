//! A typed model of systemd hardening directives, and of how systemd 257
//! reads them.
//!
//! Two halves meet in [`Effective`]:
//!
//! - **Writing**: values are validated when they are built, so a drop-in
//!   rendered from them can never carry a line break, a relative path, an
//!   unknown system call group or a `%` that is not a specifier. Layers
//!   compose with systemd's merge rules (per storage: `BindPaths=` and
//!   `BindReadOnlyPaths=` share one list), every line keeps its
//!   [`Provenance`], and rendering is byte-for-byte deterministic.
//! - **Reading**: [`lexer`] is systemd's unit-file lexer, [`load()`] its
//!   unit loading (search path, drop-in directories, masks, aliases), and
//!   each value kind ([`kind::ValueKind`]) emulates systemd's own parser
//!   for its directives, word by word, logging what systemd logs. The
//!   result is what systemd holds for the unit.
//!
//! ```
//! use dropin::{Composed, Directive, Effective, Layer, Provenance, RenderOptions};
//!
//! let why = Provenance::new("Test 3", "srcds_linux is i386");
//! let layer = Layer::new("syscalls")
//!     .set(Directive::SystemCallArchitectures, "native x86", &why)?
//!     .set(Directive::SystemCallFilter, "@system-service", &why)?;
//! let composed = Composed::compose(&[layer]);
//! let text = dropin::render::dropin(&[], &composed, RenderOptions { comments: false });
//! assert_eq!(
//!     text,
//!     "[Service]\n\nSystemCallArchitectures=native x86\nSystemCallFilter=@system-service\n"
//! );
//! // Reading it back as systemd does gives the same settings, and systemd
//! // would have nothing to say about it.
//! let mut read = Effective::new("srcds.service");
//! read.read("10-hardening.conf", text.as_bytes());
//! assert_eq!(read, Effective::of(&composed, "srcds.service"));
//! assert!(read.diagnostics().is_empty());
//! # Ok::<(), dropin::Error>(())
//! ```
//!
//! # Limitations
//!
//! - Only the directives in [`REGISTRY`] are typed and emulated; other keys
//!   are kept as text, their values after the last empty assignment.
//! - Paths containing whitespace, quotes, backslashes or `:` are refused
//!   rather than escaped when building values (reading takes them as
//!   systemd does).
//! - `SystemCallFilter=` items with a per-call error number
//!   (`name:ERRNO`) and `ReadOnlyPaths=` items with the `+` prefix are
//!   refused when building values.
//! - The lists of known names (system call groups, capabilities,
//!   architectures, address families, error numbers) are systemd 257's on
//!   x86-64.

pub mod audit;
pub mod compose;
pub mod diff;
pub mod directive;
pub mod effective;
mod error;
pub mod filesystem;
mod generated;
pub mod identity;
pub mod instance;
pub mod ipc;
pub mod kernel;
mod keyword;
pub mod kind;
mod known;
pub mod lexer;
pub mod load;
pub mod namespace;
pub mod network;
pub mod parse;
pub mod path;
pub mod reads;
pub mod render;
pub mod score;
pub mod show;
mod span;
pub mod syscall;
pub mod sysctl;
pub mod systemd;
mod table_index;
pub mod value;

pub use compose::{
    Amendment, Assignment, Composed, Layer, Line, Note, Provenance, Setting, TraceEvent,
};
pub use diff::UnifiedDiff;
pub use directive::{Directive, Group, Kind, Merge, REGISTRY, Spec};
pub use effective::{Change, Effective, Origin};
pub use error::{Error, Result};
pub use filesystem::{
    BindList, BindMount, BindOption, BindSpec, MountOptions, PathList, PathSpec, ProtectSystem,
    TmpfsList, TmpfsMount, TmpfsSpec,
};
pub use identity::{Capability, CapabilityList, UMask};
pub use instance::{Instance, UnitName};
pub use ipc::KeyringMode;
pub use kernel::{ProcSubset, ProtectControlGroups, ProtectProc};
pub use kind::{Delta, State, ValueKind};
pub use lexer::{Diagnostic, Level};
pub use load::{Fs, LoadOptions, LoadState, Loaded, MemFs, RootFs, load};
pub use namespace::{NamespaceType, PrivateTmp, PrivateUsers, ProtectHome, RestrictNamespaces};
pub use network::{
    AddressFamilies, BindFamily, BindProtocol, BindRule, FamilySet, Ports, SocketBind,
};
pub use path::UnitPath;
pub use render::RenderOptions;
pub use syscall::{
    ArchList, Architecture, ErrnoAction, FilterStep, Seccomp, Syscall, SyscallFilter, SyscallLog,
};
pub use sysctl::{SysctlFile, SysctlKey, SysctlValue};
pub use value::{Boolean, Value};

/// The names systemd knows, for documentation and lints.
pub mod names {
    pub use crate::known::{
        ADDRESS_FAMILIES, ARCHITECTURES, CAPABILITIES, ERRNO_NAMES, SYSCALL_GROUPS, SYSCALLS,
        SYSCALLS_NOT_ON_X86_64,
    };
}
