//! The exposure score of `systemd-analyze security --offline=true`
//! (systemd 257), computed from a loaded unit without systemd.
//!
//! [`score`] takes a [`Loaded`] unit (fragment and drop-ins read by
//! [`crate::load()`]) and gives what systemd gives: each of the 81 checks of
//! `security_assessor_table[]` (generated from systemd's source) with its
//! badness, weight, range, description and exposure, and the overall
//! exposure and level. [`Score::render`] prints it byte for byte as
//! `systemd-analyze security --offline=true` prints it when its output
//! is not a terminal (text, `--json=short`, `--json=pretty`).
//!
//! ```
//! use dropin::load::{LoadOptions, MemFs, load};
//! use dropin::score::{self, Format, Glyphs};
//!
//! let mut fs = MemFs::new();
//! fs.file(
//!     "/etc/systemd/system/demo.service",
//!     "[Service]\nExecStart=/bin/true\nUser=demo\nPrivateDevices=yes\nProtectClock=yes\n\
//!      ProtectProc=noaccess\nSystemCallFilter=@system-service\nSystemCallArchitectures=native\n",
//! );
//! let unit = load(&fs, "demo.service", &LoadOptions::default());
//! let s = score::score(&unit)?;
//! assert_eq!((s.exposure_text().as_str(), s.level().name), ("6.5", "MEDIUM"));
//! // ProtectClock= adds char-rtc to the device list PrivateDevices= closed.
//! let devices = s.check("DeviceAllow=").unwrap();
//! assert_eq!(devices.badness, Some(5));
//! let text = s.render(Format::Text(Glyphs { utf8: true, emoji: false }));
//! assert!(text.ends_with("\n→ Overall exposure level for demo.service: 6.5 MEDIUM :-|\n"));
//! # Ok::<(), dropin::Error>(())
//! ```
//!
//! # Limitations
//!
//! - Service units only, scored as the system manager loads them; the
//!   native architecture is x86-64 (which system calls of a group exist).
//! - No security policy file (`--security-policy=`, or one installed in
//!   `/etc/systemd`): the built-in weights apply.
//! - A unit systemd refuses to load is refused here when the loading
//!   model refuses it: a fragment that cannot be read, or a fatal setting
//!   ([`Effective::fatal`]: `User=`, `Group=`, `SupplementaryGroups=`,
//!   `DynamicUser=`, `RootDirectory=`, `RootImage=`, `RootVerity=`), or
//!   when the service's own validity checks refuse it (`ExecStart=`,
//!   `ExecStop=`, `SuccessAction=`, `RemainAfterExit=`, `Type=` and
//!   `BusName=`, with the automatic type; not the command lines' syntax,
//!   `ImportCredential=`, or the `Restart=`, `ExitType=` and
//!   `Type=forking` rules).
//! - `MountImages=` is counted when an entry has an absolute source and
//!   destination; its options are not parsed.
//! - The text output is what systemd prints to a pipe or a file: no
//!   colours, links or shrinking to a terminal's width.

mod alike;
mod assess;
mod diff;
mod info;
mod render;

use std::fmt;

use crate::effective::Effective;
use crate::error::{Error, Result};
use crate::generated::exposure::{EXPOSURE_CHECKS, EXPOSURE_LEVELS, ExposureCheck};
use crate::load::{LoadState, Loaded};

pub use alike::{Alike, Scores, instance_differs};
pub use assess::exists_natively;
pub use diff::{CheckMove, ScoreDiff, compare};
pub use render::{Format, Glyphs};

/// One check of the table, as scored for a unit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// The NAME column (`NoNewPrivileges=`,
    /// `RestrictAddressFamilies=~AF_PACKET`).
    pub id: &'static str,
    /// The key of `--json` output.
    pub json_field: &'static str,
    /// How bad the setting is, `0..=range`; `None` where the check does
    /// not apply.
    pub badness: Option<u64>,
    /// Its weight in the overall exposure.
    pub weight: u64,
    /// The badness of the worst setting.
    pub range: u64,
    /// What systemd says about the setting (`None`: an empty cell); the
    /// table's own text where the check's assessment gives no other.
    pub description: Option<std::borrow::Cow<'static, str>>,
    /// What the check adds to the exposure, in tenths as the EXPOSURE
    /// column shows it (`None` when nothing: badness 0 or not applicable).
    pub exposure: Option<u64>,
}

impl Check {
    /// The check mark: passed (badness 0), failed, or `None` where the
    /// check does not apply (JSON's `set`).
    pub fn set(&self) -> Option<bool> {
        self.badness.map(|b| b == 0)
    }

    /// The EXPOSURE column (`0.2`), if not empty.
    pub fn exposure_text(&self) -> Option<String> {
        self.exposure.map(render::tenths)
    }

    /// The check's part of the overall badness sum,
    /// `ceil(badness * weight / range)` (0 where it does not apply).
    pub fn badness_points(&self) -> u64 {
        self.badness
            .map_or(0, |b| (b * self.weight).div_ceil(self.range))
    }

    /// Whether the check counts in the overall exposure.
    pub fn applies(&self) -> bool {
        self.badness.is_some()
    }

    /// The settings this check reads (directives and keys), after
    /// systemd's adjustments at load: `CapabilityBoundingSet=~CAP_MKNOD`
    /// reads `PrivateDevices=` too.
    pub fn inputs(&self) -> &'static [&'static str] {
        diff::inputs(self.id)
    }
}

/// One level of the overall exposure (`OK`, `MEDIUM`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Its name, as systemd prints it.
    pub name: &'static str,
    /// The lowest exposure (in tenths) of the level.
    pub min: u64,
    smiley: crate::generated::exposure::Glyph,
}

impl Level {
    /// The level of an exposure (in tenths).
    pub fn of(exposure: u64) -> Level {
        let l = EXPOSURE_LEVELS
            .iter()
            .find(|l| exposure >= l.min)
            .or(EXPOSURE_LEVELS.last());
        l.map_or(
            Level {
                name: "PERFECT",
                min: 0,
                smiley: crate::generated::exposure::ECSTATIC_SMILEY,
            },
            |l| Level {
                name: l.name,
                min: l.min,
                smiley: l.smiley,
            },
        )
    }

    /// The smiley systemd shows with it, with `glyphs`.
    pub fn smiley(&self, glyphs: Glyphs) -> &'static str {
        glyphs.show(self.smiley)
    }
}

/// A unit's exposure, as `systemd-analyze security --offline=true` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    /// The unit's id (for an alias, the name of the unit it stands for).
    pub unit: String,
    /// The checks, in systemd's table order (shared by the copies of a
    /// score: an instance that takes a sibling's score copies none).
    pub checks: std::sync::Arc<[Check]>,
    /// The overall exposure in tenths (`0..=100`; 13 is "1.3").
    pub exposure: u64,
}

impl Score {
    /// The overall exposure as systemd prints it (`1.3`).
    pub fn exposure_text(&self) -> String {
        render::tenths(self.exposure)
    }

    /// The level (`OK`).
    pub fn level(&self) -> Level {
        Level::of(self.exposure)
    }

    /// The check named `id` (`NoNewPrivileges=`).
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The checks in the order systemd prints them (description
    /// descending, then name).
    pub fn printed(&self) -> Vec<&Check> {
        render::sorted(self)
            .into_iter()
            .map(|i| &self.checks[i])
            .collect()
    }

    /// The output of `systemd-analyze security --offline=true` for this
    /// unit in `format` (stdout not a terminal).
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text(glyphs) => render::text(self, glyphs),
            Format::JsonShort => render::json(self, false, false),
            Format::JsonPretty => render::json(self, true, false),
        }
    }

    /// `--json=short` with the columns `SYSTEMD_ANALYZE_DEBUG=1` adds
    /// (weight, badness, range).
    pub fn render_json_debug(&self) -> String {
        render::json(self, false, true)
    }

    /// Whether `--threshold=threshold` (in tenths, at most 100) fails
    /// this unit: its exposure is above it.
    pub fn exceeds(&self, threshold: u64) -> bool {
        self.exposure > threshold
    }

    /// One line: `left4me-server@1.service 1.3 OK`.
    pub fn summary(&self) -> String {
        format!(
            "{} {} {}",
            self.unit,
            self.exposure_text(),
            self.level().name
        )
    }
}

impl fmt::Display for Score {
    /// The summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// The exit status of `systemd-analyze security --offline=true` over
/// `results` with `--threshold=threshold`: 1 if any unit was refused or
/// is above the threshold, else 0.
pub fn exit_status(results: &[Result<Score>], threshold: u64) -> u8 {
    let failed = results
        .iter()
        .any(|r| r.as_ref().map_or(true, |s| s.exceeds(threshold)));
    u8::from(failed)
}

/// The badness of one check for `info`.
fn assess(check: &ExposureCheck, info: &info::Info<'_>) -> (Option<u64>, Option<String>) {
    if check.default_dependencies_only && !info.default_dependencies {
        return (None, Some(BOOT_PHASE.to_owned()));
    }
    match assess::assessor(check) {
        Some(f) => f(check, info),
        None => (None, None),
    }
}

/// Scores a unit `id` (as systemd names it) holding the settings `e`.
///
/// Settings are taken as they are: whether systemd would load the unit
/// at all is [`score`]'s question.
pub fn score_effective(id: &str, e: &Effective) -> Score {
    let info = info::read(id, e);
    let mut rows: Vec<Check> = Vec::with_capacity(EXPOSURE_CHECKS.len());
    for c in EXPOSURE_CHECKS {
        let (badness, own) = assess(c, &info);
        let badness = badness.map(|b| b.min(c.range));
        let fixed = match badness {
            None => c.description_na,
            Some(b) if b == c.range => c.description_bad,
            Some(0) => c.description_good,
            Some(_) => None,
        };
        rows.push(Check {
            id: c.id,
            json_field: c.json_field,
            badness,
            weight: c.weight,
            range: c.range,
            description: own
                .map(std::borrow::Cow::Owned)
                .or_else(|| fixed.map(std::borrow::Cow::Borrowed)),
            exposure: None,
        });
    }
    Score::of_checks(id, rows)
}

/// What `assess()` says of a check that does not apply because the unit
/// runs in the early boot phase (`DefaultDependencies=no`).
const BOOT_PHASE: &str = "Service runs in special boot phase, option is not appropriate";

impl Score {
    /// The score of checks with these badnesses and weights: the sums,
    /// the overall exposure and each check's EXPOSURE column.
    fn of_checks(unit: &str, mut checks: Vec<Check>) -> Score {
        let badness_sum: u64 = checks.iter().map(Check::badness_points).sum();
        let weight_sum: u64 = checks
            .iter()
            .filter(|c| c.applies())
            .map(|c| c.weight)
            .sum();
        let weight_sum = weight_sum.max(1);
        for c in &mut checks {
            c.exposure = match c.badness {
                Some(b) if b > 0 => {
                    Some((b * c.weight * 100).div_ceil(c.range).div_ceil(weight_sum))
                }
                _ => None,
            };
        }
        Score {
            unit: unit.to_owned(),
            checks: checks.into(),
            exposure: (badness_sum * 100).div_ceil(weight_sum),
        }
    }

    /// The score with other weights, as a security policy
    /// (`--security-policy=`) gives them: `weight` of each check; a weight
    /// of 0 leaves the check out ("Option excluded by policy, skipping").
    pub fn with_weights(&self, weight: impl Fn(&Check) -> u64) -> Score {
        let checks = self
            .checks
            .iter()
            .map(|c| {
                let mut c = c.clone();
                let w = weight(&c);
                if w == 0 && c.description.as_deref() != Some(BOOT_PHASE) {
                    c.badness = None;
                    c.description = Some("Option excluded by policy, skipping".into());
                }
                c.weight = w;
                c
            })
            .collect();
        Score::of_checks(&self.unit, checks)
    }
}

/// [`score`], with everything it read of the unit's settings
/// ([`crate::reads`]): another unit whose settings answer all of it the
/// same way, and that loads as this one does (the same files found, read
/// alike), scores the same, under its own name ([`Score::unit`]).
pub fn score_tracked(unit: &Loaded) -> (Result<Score>, crate::reads::Reads) {
    crate::reads::tracked_on(&unit.effective, || score(unit))
}

/// Scores a loaded service unit as `systemd-analyze security
/// --offline=true` does, or says why systemd would refuse to (with its
/// message: `Unit x.service is masked.`).
pub fn score(unit: &Loaded) -> Result<Score> {
    let id = info::unit_id(&unit.name, unit.fragment.as_deref());
    let refuse = |reason: String| Error::Unscorable {
        unit: id.clone(),
        reason,
    };
    if !unit.name.ends_with(".service") {
        return Err(refuse(format!(
            "Unit {} is not a service unit, refusing.",
            unit.name
        )));
    }
    match unit.state {
        LoadState::Loaded => {}
        LoadState::NotFound => return Err(refuse(format!("Unit {id} not found."))),
        LoadState::Masked => return Err(refuse(format!("Unit {id} is masked."))),
        LoadState::Error if unit.effective.fatal().is_some() => {
            return Err(refuse(format!("Unit {id} has a bad unit file setting.")));
        }
        LoadState::Error => {
            return Err(refuse(format!(
                "Unit {id} failed to load properly, please adjust/correct and reload service manager."
            )));
        }
    }
    if info::service_refusal(&unit.effective).is_some() {
        return Err(refuse(format!("Unit {id} has a bad unit file setting.")));
    }
    Ok(score_effective(&id, &unit.effective))
}

#[cfg(test)]
mod tests;
