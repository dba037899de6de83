//! How a unit's score moves between two sets of settings (installed and
//! generated), check by check, and which settings moved it.

use std::fmt;

use crate::effective::Effective;

use super::{Check, Score};

/// The settings each check reads: the directive or key of its own, and
/// those whose adjustments at load (`unit_patch_contexts()`) or whose
/// part in `SecurityInfo` change what it sees.
pub(super) fn inputs(id: &str) -> &'static [&'static str] {
    match id {
        "User=/DynamicUser=" => &["User", "DynamicUser"],
        "SupplementaryGroups=" => &["SupplementaryGroups", "User", "DynamicUser"],
        "RemoveIPC=" => &["RemoveIPC", "User", "DynamicUser"],
        "PrivateTmp=" => &["PrivateTmp", "DynamicUser", "DefaultDependencies"],
        "ProtectHome=" => &["ProtectHome", "DynamicUser", "DefaultDependencies"],
        "ProtectSystem=" => &["ProtectSystem", "DynamicUser", "DefaultDependencies"],
        "RootDirectory=/RootImage=" => &["RootDirectory", "RootImage", "DefaultDependencies"],
        "NoNewPrivileges=" => &["NoNewPrivileges", "DynamicUser"],
        "RestrictSUIDSGID=" => &["RestrictSUIDSGID", "DynamicUser"],
        "CapabilityBoundingSet=~CAP_MKNOD" | "CapabilityBoundingSet=~CAP_SYS_RAWIO" => {
            &["CapabilityBoundingSet", "PrivateDevices"]
        }
        "CapabilityBoundingSet=~CAP_SYS_MODULE" => {
            &["CapabilityBoundingSet", "ProtectKernelModules"]
        }
        "CapabilityBoundingSet=~CAP_SYSLOG" => &["CapabilityBoundingSet", "ProtectKernelLogs"],
        "CapabilityBoundingSet=~CAP_SYS_TIME" | "CapabilityBoundingSet=~CAP_WAKE_ALARM" => {
            &["CapabilityBoundingSet", "ProtectClock"]
        }
        "IPAddressDeny=" => &[
            "IPAddressDeny",
            "IPAddressAllow",
            "IPIngressFilterPath",
            "IPEgressFilterPath",
        ],
        "DeviceAllow=" => &[
            "DevicePolicy",
            "DeviceAllow",
            "PrivateDevices",
            "ProtectClock",
            "RootImage",
            "MountImages",
            "LoadCredential",
            "LoadCredentialEncrypted",
            "SetCredential",
            "SetCredentialEncrypted",
        ],
        id if id.starts_with("CapabilityBoundingSet=") => &["CapabilityBoundingSet"],
        id if id.starts_with("RestrictNamespaces=") => &["RestrictNamespaces"],
        id if id.starts_with("RestrictAddressFamilies=") => &["RestrictAddressFamilies"],
        id if id.starts_with("SystemCallFilter=") => &["SystemCallFilter"],
        // The other checks read the directive they are named after.
        "PrivateDevices=" => &["PrivateDevices"],
        "PrivateMounts=" => &["PrivateMounts"],
        "PrivateNetwork=" => &["PrivateNetwork"],
        "PrivateUsers=" => &["PrivateUsers"],
        "ProtectControlGroups=" => &["ProtectControlGroups"],
        "ProtectKernelModules=" => &["ProtectKernelModules"],
        "ProtectKernelTunables=" => &["ProtectKernelTunables"],
        "ProtectKernelLogs=" => &["ProtectKernelLogs"],
        "ProtectClock=" => &["ProtectClock"],
        "ProtectHostname=" => &["ProtectHostname"],
        "LockPersonality=" => &["LockPersonality"],
        "MemoryDenyWriteExecute=" => &["MemoryDenyWriteExecute"],
        "UMask=" => &["UMask"],
        "KeyringMode=" => &["KeyringMode"],
        "ProtectProc=" => &["ProtectProc"],
        "ProcSubset=" => &["ProcSubset"],
        "NotifyAccess=" => &["NotifyAccess"],
        "Delegate=" => &["Delegate"],
        "RestrictRealtime=" => &["RestrictRealtime"],
        "SystemCallArchitectures=" => &["SystemCallArchitectures"],
        "AmbientCapabilities=" => &["AmbientCapabilities"],
        _ => &[],
    }
}

/// One check whose result differs between two scores.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckMove {
    /// The check (`PrivateNetwork=`).
    pub id: &'static str,
    /// The check before and after.
    pub before: Check,
    /// The check after.
    pub after: Check,
    /// The settings the check reads whose values differ between the two
    /// (directive or key names, in the order [`Check::inputs`] lists
    /// them); empty when the check moved only because the others changed
    /// the weight sum (its EXPOSURE column).
    pub settings: Vec<&'static str>,
}

impl CheckMove {
    /// The check's exposure column before and after, `-` for none
    /// (`0.5 -> -`).
    pub fn exposure_change(&self) -> String {
        let show = |c: &Check| c.exposure_text().unwrap_or_else(|| "-".to_owned());
        format!("{} -> {}", show(&self.before), show(&self.after))
    }
}

impl fmt::Display for CheckMove {
    /// `PrivateNetwork= 0.5 -> - (PrivateNetwork)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.exposure_change())?;
        if !self.settings.is_empty() {
            write!(f, " ({})", self.settings.join(", "))?;
        }
        Ok(())
    }
}

/// How a unit's score moved from one set of settings to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreDiff {
    /// The overall exposure before, in tenths.
    pub before: u64,
    /// The overall exposure after, in tenths.
    pub after: u64,
    /// The checks whose badness, applicability, description or exposure
    /// column differ, in table order.
    pub moves: Vec<CheckMove>,
}

impl ScoreDiff {
    /// Whether nothing moved.
    pub fn is_empty(&self) -> bool {
        self.before == self.after && self.moves.is_empty()
    }

    /// The checks whose own result (badness or applicability) changed,
    /// leaving out those that only moved with the weight sum.
    pub fn changed(&self) -> impl Iterator<Item = &CheckMove> {
        self.moves
            .iter()
            .filter(|m| m.before.badness != m.after.badness)
    }
}

impl fmt::Display for ScoreDiff {
    /// `1.7 -> 1.3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {}",
            super::render::tenths(self.before),
            super::render::tenths(self.after)
        )
    }
}

/// Compares the score of one unit under two sets of settings (say the
/// installed ones, `before`, and the generated ones, `after`): per check,
/// what moved and which of the settings it reads differ.
pub fn compare(
    before: &Score,
    before_settings: &Effective,
    after: &Score,
    after_settings: &Effective,
) -> ScoreDiff {
    // A setting counts when systemd holds something else for it, unless
    // only systemd's own adjustments at load differ (both sides write the
    // same: PrivateDevices= taking CAP_MKNOD out of the bounding set is a
    // PrivateDevices= change).
    let written =
        |e: &Effective, d: crate::Directive| (e.was_reset(d), e.origin_values(d).to_vec());
    let changed_keys: Vec<String> = before_settings
        .changes(after_settings)
        .into_iter()
        .filter(|c| {
            c.directive
                .is_none_or(|d| written(before_settings, d) != written(after_settings, d))
        })
        .map(|c| c.key)
        .collect();
    let moves = before
        .checks
        .iter()
        .zip(&after.checks)
        .filter(|(b, a)| b != a)
        .map(|(b, a)| CheckMove {
            id: b.id,
            before: b.clone(),
            after: a.clone(),
            settings: inputs(b.id)
                .iter()
                .copied()
                .filter(|k| changed_keys.iter().any(|c| c == k))
                .collect(),
        })
        .collect();
    ScoreDiff {
        before: before.exposure,
        after: after.exposure,
        moves,
    }
}
