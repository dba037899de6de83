//! A host: its layout, its profiles (standard or adjusted by a host
//! configuration) and the systemd version it runs.

use dropin::{Instance, RenderOptions};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::lint::{self, Finding};
use crate::output::{self, Generated};
use crate::profiles::{Profile, ProfileKind};

/// The systemd version of the host the test plan ran on.
pub const DEFAULT_SYSTEMD: u32 = 257;

/// A written decision to let an error-level lint through for a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    /// The lint waived.
    pub lint: crate::lint::LintId,
    /// The profile it applies to; `None`: every profile.
    pub profile: Option<ProfileKind>,
    /// Why; rendered as a comment in the generated file.
    pub reason: String,
    /// Who decided: `host config`, or the profile for standard waivers.
    pub origin: String,
}

/// Everything needed to generate a host's files.
#[derive(Clone, Debug)]
pub struct Host {
    /// Where things live.
    pub layout: Layout,
    /// The game server profile.
    pub server: Profile,
    /// The web profile.
    pub web: Profile,
    /// The sysctl profile.
    pub sysctl: Profile,
    /// The target systemd version.
    pub systemd_version: u32,
    /// Lints waived: the profiles' standard waivers, then the host
    /// configuration's.
    pub waivers: Vec<Waiver>,
}

impl Host {
    /// The host the test plan ran on, with the standard profiles.
    pub fn standard() -> Result<Host> {
        let layout = Layout::standard()?;
        Host::with_layout(layout)
    }

    /// The standard profiles for another layout.
    pub fn with_layout(layout: Layout) -> Result<Host> {
        Ok(Host {
            server: Profile::standard(ProfileKind::Server, &layout)?,
            web: Profile::standard(ProfileKind::Web, &layout)?,
            sysctl: Profile::standard(ProfileKind::Sysctl, &layout)?,
            layout,
            systemd_version: DEFAULT_SYSTEMD,
            waivers: crate::profiles::standard_waivers(),
        })
    }

    /// The profiles, in [`ProfileKind::ALL`] order.
    pub fn profiles(&self) -> [&Profile; 3] {
        [&self.server, &self.web, &self.sysctl]
    }

    /// One profile.
    pub fn profile(&self, kind: ProfileKind) -> &Profile {
        match kind {
            ProfileKind::Server => &self.server,
            ProfileKind::Web => &self.web,
            ProfileKind::Sysctl => &self.sysctl,
        }
    }

    /// Generates one file, refusing directives the target systemd lacks
    /// and error-level lint findings no waiver covers. Waived findings are
    /// rendered as header comments with the waiver's reason.
    pub fn generate(
        &self,
        kind: ProfileKind,
        instance: Option<&Instance>,
        options: RenderOptions,
    ) -> Result<Generated> {
        let profile = self.profile(kind);
        if let Some(composed) = profile.composed() {
            let too_new = composed.too_new(self.systemd_version);
            if !too_new.is_empty() {
                return Err(Error::TooNew {
                    target: self.systemd_version,
                    directives: too_new.iter().map(ToString::to_string).collect(),
                });
            }
        }
        let findings = self.lint(kind, instance)?;
        let refused: Vec<String> = self
            .unwaived(kind, &findings)
            .filter(|f| f.is_error())
            .map(ToString::to_string)
            .collect();
        if !refused.is_empty() {
            return Err(Error::Lints {
                profile: kind.name().to_owned(),
                findings: refused,
            });
        }
        let mut waived: Vec<String> = Vec::new();
        for f in &findings {
            if let Some(w) = self.waiver(Some(kind), f.lint) {
                let line = format!(
                    "Lint {} ({}) waived by {}: {}",
                    f.lint,
                    f.test,
                    w.origin,
                    dropin::render::escape_controls(&w.reason)
                );
                if !waived.contains(&line) {
                    waived.push(line);
                }
            }
        }
        let mut generated =
            output::generate_with_header(profile, &self.layout, instance, options, &waived)?;
        generated.warnings = self
            .unwaived(kind, &findings)
            .filter(|f| !f.is_error())
            .cloned()
            .collect();
        Ok(generated)
    }

    /// The lint findings of one profile (for one instance, `%i` resolved),
    /// waived or not; the sysctl profile has none.
    pub fn lint(&self, kind: ProfileKind, instance: Option<&Instance>) -> Result<Vec<Finding>> {
        let profile = self.profile(kind);
        let Some(composed) = profile.composed() else {
            return Ok(Vec::new());
        };
        let unit = profile.unit_for(instance)?;
        let effective = dropin::Effective::of(composed, &unit);
        Ok(lint::check(&lint::Subject::new(
            &effective,
            &profile.traits,
        )))
    }

    /// The findings of one profile that no waiver covers and that do not
    /// stop generation: what `render` and `write` print as warnings.
    pub fn warnings(&self, kind: ProfileKind, instance: Option<&Instance>) -> Result<Vec<Finding>> {
        let findings = self.lint(kind, instance)?;
        Ok(self
            .unwaived(kind, &findings)
            .filter(|f| !f.is_error())
            .cloned()
            .collect())
    }

    /// The findings of a profile that no waiver covers.
    fn unwaived<'a>(
        &'a self,
        kind: ProfileKind,
        findings: &'a [Finding],
    ) -> impl Iterator<Item = &'a Finding> + 'a {
        findings
            .iter()
            .filter(move |f| self.waiver(Some(kind), f.lint).is_none())
    }

    /// The waiver of lint `id` for a profile (`None`: files of no profile,
    /// which only waivers for every profile cover).
    pub fn waiver(&self, kind: Option<ProfileKind>, id: lint::LintId) -> Option<&Waiver> {
        self.waivers
            .iter()
            .find(|w| w.lint == id && (w.profile.is_none() || w.profile == kind))
    }

    /// Every file `write` produces: the server template, the web drop-in,
    /// the sysctl file, then one drop-in per instance.
    pub fn files(&self, instances: &[Instance], options: RenderOptions) -> Result<Vec<Generated>> {
        let mut out = ProfileKind::ALL
            .iter()
            .map(|k| self.generate(*k, None, options))
            .collect::<Result<Vec<_>>>()?;
        for i in instances {
            out.push(self.generate(ProfileKind::Server, Some(i), options)?);
        }
        Ok(out)
    }
}
