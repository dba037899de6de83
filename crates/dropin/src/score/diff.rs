//! How a unit's score moves between two sets of settings (installed and
//! generated), check by check, and which settings moved it.

use std::fmt;

use crate::directive::Directive;
use crate::effective::Effective;

use super::{Check, Score};

/// The settings whose load-time adjustments (`unit_patch_contexts()`) or
/// whose part in `SecurityInfo` change what a check sees, besides the
/// settings the check is named after: for the checks named after `.0`
/// (and, when given, the item `.1` after its `~`).
const IMPLIED: &[(&str, Option<&str>, &[&str])] = {
    use crate::directive::key::*;
    const CAPS: &str = Directive::CapabilityBoundingSet.name();
    const BY_USER: &[&str] = &[USER, DYNAMIC_USER];
    const BY_DEFAULTS: &[&str] = &[DYNAMIC_USER, DEFAULT_DEPENDENCIES];
    &[
        (SUPPLEMENTARY_GROUPS, None, BY_USER),
        (Directive::RemoveIpc.name(), None, BY_USER),
        (Directive::PrivateTmp.name(), None, BY_DEFAULTS),
        (Directive::ProtectHome.name(), None, BY_DEFAULTS),
        (Directive::ProtectSystem.name(), None, BY_DEFAULTS),
        (ROOT_DIRECTORY, None, &[DEFAULT_DEPENDENCIES]),
        (Directive::NoNewPrivileges.name(), None, &[DYNAMIC_USER]),
        (Directive::RestrictSuidSgid.name(), None, &[DYNAMIC_USER]),
        (CAPS, Some("CAP_MKNOD"), &[Directive::PrivateDevices.name()]),
        (
            CAPS,
            Some("CAP_SYS_RAWIO"),
            &[Directive::PrivateDevices.name()],
        ),
        (
            CAPS,
            Some("CAP_SYS_MODULE"),
            &[Directive::ProtectKernelModules.name()],
        ),
        (
            CAPS,
            Some("CAP_SYSLOG"),
            &[Directive::ProtectKernelLogs.name()],
        ),
        (
            CAPS,
            Some("CAP_SYS_TIME"),
            &[Directive::ProtectClock.name()],
        ),
        (
            CAPS,
            Some("CAP_WAKE_ALARM"),
            &[Directive::ProtectClock.name()],
        ),
        (
            IP_ADDRESS_DENY,
            None,
            &[
                IP_ADDRESS_ALLOW,
                IP_INGRESS_FILTER_PATH,
                IP_EGRESS_FILTER_PATH,
            ],
        ),
        (
            DEVICE_ALLOW,
            None,
            &[
                DEVICE_POLICY,
                Directive::PrivateDevices.name(),
                Directive::ProtectClock.name(),
                ROOT_IMAGE,
                MOUNT_IMAGES,
                LOAD_CREDENTIAL,
                LOAD_CREDENTIAL_ENCRYPTED,
                SET_CREDENTIAL,
                SET_CREDENTIAL_ENCRYPTED,
            ],
        ),
    ]
};

/// The name as the registry spells it, for a name read out of a check id.
fn known_name(name: &str) -> Option<&'static str> {
    Directive::from_name(name).map(Directive::name).or_else(|| {
        crate::directive::key::ALL
            .iter()
            .find(|(_, k)| *k == name)
            .map(|(_, k)| *k)
    })
}

/// The settings each check reads: those its id names (`User=/DynamicUser=`
/// names two; `CapabilityBoundingSet=~CAP_MKNOD` one, with the item
/// `CAP_MKNOD`), then the [`IMPLIED`] ones. Empty for an unknown id.
pub(super) fn inputs(id: &str) -> &'static [&'static str] {
    use std::collections::BTreeMap;
    type Inputs = BTreeMap<&'static str, Vec<&'static str>>;
    static INPUTS: std::sync::OnceLock<Inputs> = std::sync::OnceLock::new();
    let all = INPUTS.get_or_init(|| {
        crate::generated::exposure::EXPOSURE_CHECKS
            .iter()
            .map(|c| {
                let named: Vec<(&'static str, Option<&str>)> =
                    c.id.split('/')
                        .filter_map(|part| {
                            let (name, value) = part.split_once('=').unwrap_or((part, ""));
                            Some((known_name(name)?, value.strip_prefix('~')))
                        })
                        .collect();
                let mut keys: Vec<&'static str> = named.iter().map(|(n, _)| *n).collect();
                for (name, item) in &named {
                    for (own, on, implied) in IMPLIED {
                        if own == name && on.is_none_or(|i| Some(i) == *item) {
                            keys.extend(implied.iter().copied());
                        }
                    }
                }
                let mut seen = std::collections::BTreeSet::new();
                keys.retain(|k| seen.insert(*k));
                (c.id, keys)
            })
            .collect()
    });
    all.get(id).map_or(&[], Vec::as_slice)
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
        .zip(after.checks.iter())
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
