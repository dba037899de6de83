//! Where things live on a left4me host: state and config roots, unit names.

use dropin::{UnitName, UnitPath};

use crate::error::Result;

/// The host layout the profiles are built against. The defaults are those
/// of the host the test plan ran on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The state directory (`/var/lib/left4me`).
    pub state_dir: UnitPath,
    /// The configuration directory (`/etc/left4me`).
    pub config_dir: UnitPath,
    /// The game server template (`left4me-server@.service`).
    pub server_unit: UnitName,
    /// The web application unit (`left4me-web.service`).
    pub web_unit: UnitName,
    /// The drop-in file name used in each `.d` directory.
    pub dropin_name: String,
    /// The sysctl.d file (`/etc/sysctl.d/99-left4me-ptrace.conf`).
    pub sysctl_file: UnitPath,
}

impl Layout {
    /// The layout of the host the test plan ran on.
    pub fn standard() -> Result<Layout> {
        Ok(Layout {
            state_dir: UnitPath::new("/var/lib/left4me")?,
            config_dir: UnitPath::new("/etc/left4me")?,
            server_unit: UnitName::new("left4me-server@.service")?,
            web_unit: UnitName::new("left4me-web.service")?,
            dropin_name: "10-hardening.conf".to_owned(),
            sysctl_file: UnitPath::new("/etc/sysctl.d/99-left4me-ptrace.conf")?,
        })
    }
}
