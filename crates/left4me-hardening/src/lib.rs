//! The left4me hardening profiles proven on the live host (Debian 13,
//! systemd 257), as typed [`dropin`] compositions with provenance.
//!
//! ```
//! use left4me_hardening::{Layout, Profile, ProfileKind, output};
//!
//! let layout = Layout::standard()?;
//! let server = Profile::standard(ProfileKind::Server, &layout)?;
//! let one = dropin::Instance::new("1")?;
//! let file = output::generate(&server, &layout, Some(&one), Default::default())?;
//! assert_eq!(file.path, "etc/systemd/system/left4me-server@1.service.d/10-hardening.conf");
//! assert!(file.text.contains("BindPaths=/var/lib/left4me/runtime/1\n"));
//! assert!(file.text.contains("SystemCallArchitectures=native x86\n"));
//! assert!(!file.text.contains("MemoryDenyWriteExecute=true"));
//! # Ok::<(), left4me_hardening::Error>(())
//! ```
//!
//! # Limitations
//!
//! - The profiles encode one host's proven composition; a host that
//!   differs says so in a host configuration, not in code.
//! - The bundlewrap output follows the reactor contract of the operator's
//!   deployment (sections, sorted keys, lists as repeated lines); a reset
//!   of a storage two keys share is right for that sorted order only (no
//!   single file can be right in every key order), see
//!   `docs/bundlewrap.md`.

pub mod check;
pub mod config;
pub mod docs;
mod error;
pub mod explain;
pub mod host;
pub mod inspect;
pub mod layout;
pub mod lint;
pub mod output;
mod par;
pub mod profiles;
pub mod report;
pub mod score;
pub mod shell;
pub mod suggest;
pub mod traits;
pub mod triage;

pub use config::HostConfig;
pub use error::{Error, Result};
pub use host::{Batch, Host, Waiver};
pub use layout::Layout;
pub use par::Threads;
pub use profiles::{Content, Profile, ProfileKind};
pub use traits::Trait;
