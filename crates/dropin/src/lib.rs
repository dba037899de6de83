//! A typed model of systemd hardening directives.
//!
//! Values are validated when they are built, so a drop-in rendered from
//! them can never carry a line break, a relative path, an unknown system
//! call group or a `%` that is not a specifier. Layers compose with
//! systemd's merge rules (lists accumulate, an empty assignment resets,
//! single values take the last assignment), every line keeps its
//! [`Provenance`], and rendering is byte-for-byte deterministic.
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
//! // Reading it back gives the same effective settings.
//! let file = dropin::UnitFile::parse("10-hardening.conf", &text)?;
//! let read = dropin::parse::service_assignments(&file)?;
//! assert_eq!(Effective::from_reads(&read), Effective::of(&composed));
//! # Ok::<(), dropin::Error>(())
//! ```
//!
//! # Limitations
//!
//! - Only the directives in [`REGISTRY`] are typed; other keys read from
//!   installed files are kept as text and compared as text.
//! - Paths containing whitespace, quotes, backslashes or `:` are refused
//!   rather than escaped.
//! - `SystemCallFilter=` items with a per-call error number
//!   (`name:ERRNO`) and `ReadOnlyPaths=` items with the `+` prefix are
//!   refused.
//! - The lists of known names (system call groups, capabilities,
//!   architectures, address families, error numbers) are systemd 257's on
//!   x86-64.

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
mod known;
pub mod namespace;
pub mod network;
pub mod parse;
pub mod path;
pub mod render;
pub mod show;
pub mod syscall;
pub mod sysctl;
pub mod value;

pub use compose::{
    Amendment, Assignment, Composed, Layer, Line, Note, Provenance, Setting, TraceEvent,
};
pub use diff::{Change, UnifiedDiff};
pub use directive::{Directive, Group, Kind, Merge, REGISTRY, Spec};
pub use effective::{Effective, EffectiveValue};
pub use error::{Error, Result};
pub use filesystem::{BindOption, BindSpec, MountOptions, PathSpec, ProtectSystem, TmpfsSpec};
pub use identity::{Capability, CapabilityList, UMask};
pub use instance::{Instance, UnitName};
pub use ipc::KeyringMode;
pub use kernel::{ProcSubset, ProtectControlGroups, ProtectProc};
pub use namespace::{NamespaceType, PrivateUsers, ProtectHome, RestrictNamespaces};
pub use network::{AddressFamilies, BindFamily, BindProtocol, Ports, SocketBind};
pub use parse::{Key, Read, UnitFile};
pub use path::UnitPath;
pub use render::RenderOptions;
pub use syscall::{Architecture, ErrnoAction, Syscall, SyscallFilter};
pub use sysctl::{SysctlFile, SysctlKey, SysctlValue};
pub use value::Value;

/// The names systemd knows, for documentation and lints.
pub mod names {
    pub use crate::known::{
        ADDRESS_FAMILIES, ARCHITECTURES, CAPABILITIES, ERRNO_NAMES, SYSCALL_GROUPS, SYSCALLS,
        SYSCALLS_NOT_ON_X86_64,
    };
}
