//! What a workload is, as data: the facts the lints check profiles against.

use serde::{Deserialize, Serialize};

/// A trait of the service a profile hardens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trait {
    /// It runs a 32-bit i386 binary (srcds_linux).
    I386Binary,
    /// Its libraries have text relocations (Source engine `.so` files).
    TextRelocations,
    /// It shares its uid with another service (srcds and gunicorn, uid 980).
    SharesUid,
    /// It runs setuid `sudo` helpers (the web app).
    RunsSudo,
    /// It reads `/proc/cpuinfo` and `/proc/sys` (the Source engine's CPU
    /// detection, the Steam API).
    ReadsCpuinfo,
    /// It reads the boot id (`journalctl`, run through the web app's sudo
    /// helper).
    ReadsBootId,
}

impl Trait {
    /// Every trait.
    pub const ALL: &'static [Trait] = &[
        Trait::I386Binary,
        Trait::TextRelocations,
        Trait::SharesUid,
        Trait::RunsSudo,
        Trait::ReadsCpuinfo,
        Trait::ReadsBootId,
    ];

    /// Every trait's name, in [`Trait::ALL`] order.
    pub fn names() -> Vec<&'static str> {
        Trait::ALL.iter().map(|t| t.name()).collect()
    }

    /// The trait's name in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Trait::I386Binary => "i386-binary",
            Trait::TextRelocations => "text-relocations",
            Trait::SharesUid => "shares-uid",
            Trait::RunsSudo => "runs-sudo",
            Trait::ReadsCpuinfo => "reads-cpuinfo",
            Trait::ReadsBootId => "reads-boot-id",
        }
    }

    /// What the trait means, and where the test plan found it.
    pub fn describe(self) -> &'static str {
        match self {
            Trait::I386Binary => {
                "runs a 32-bit i386 binary (Test 3: srcds_linux is ELF 32-bit, Intel i386)"
            }
            Trait::TextRelocations => {
                "its libraries have text relocations (Test 6: libtier0_srv.so cannot make segment writable)"
            }
            Trait::SharesUid => {
                "shares its uid with another service (Test 5: srcds and gunicorn are both uid 980)"
            }
            Trait::RunsSudo => {
                "runs setuid sudo helpers (Test 10: left4me-systemctl, left4me-overlay, …)"
            }
            Trait::ReadsCpuinfo => {
                "reads /proc/cpuinfo and /proc/sys (production: the Source engine's CPU \
                 detection and the Steam API; hidden, the server fell back to LAN-only)"
            }
            Trait::ReadsBootId => {
                "reads the boot id, /proc/sys/kernel/random/boot_id (production: the web app's \
                 sudo journalctl helper failed with \"Failed to get boot ID\")"
            }
        }
    }
}

impl std::str::FromStr for Trait {
    type Err = crate::Error;
    /// A trait by its name (`i386-binary`); an unknown one is an error
    /// naming it, the known ones and the closest.
    fn from_str(s: &str) -> crate::Result<Trait> {
        Trait::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .ok_or_else(|| crate::Error::UnknownTrait(s.to_owned()))
    }
}
