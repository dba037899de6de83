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
    /// The host configuration the host was built from; `None`: the
    /// standard profiles. Named in every generated file's header.
    pub config: Option<crate::config::ConfigId>,
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
            config: None,
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
        self.batch(kind)?.generate(instance, options)
    }

    /// A profile made ready to generate many files (the template and any
    /// number of instances): the version gate runs here, once, and what
    /// the lints read is prepared once ([`dropin::effective::Prepared`]).
    pub fn batch(&self, kind: ProfileKind) -> Result<Batch<'_>> {
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
        Ok(Batch {
            host: self,
            kind,
            prepared: profile.composed().map(dropin::effective::Prepared::new),
            differs: profile.composed().and_then(dropin::score::instance_differs),
            linted: Default::default(),
            templates: Default::default(),
        })
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
        Ok(lint::check(&lint::Subject {
            composed: Some(composed),
            ..lint::Subject::new(&effective, &profile.traits)
        }))
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

    /// The self-describing JSON dump of a generated file
    /// ([`output::describe`]) with its unit's exposure score
    /// ([`crate::score::json`]).
    pub fn describe(&self, generated: &Generated) -> serde_json::Value {
        let mut json = output::describe(self.profile(generated.profile), generated);
        json["score"] = crate::score::json(self, generated);
        json
    }

    /// Every file `write` produces: the server template, the web drop-in,
    /// the sysctl file, then one drop-in per instance. Two files with one
    /// path (an instance given twice: see [`fold_instances`]; a web unit
    /// named like a server instance), or a file where another needs a
    /// directory, are refused.
    pub fn files(&self, instances: &[Instance], options: RenderOptions) -> Result<Vec<Generated>> {
        self.files_on(instances, options, crate::Threads::Machine)
    }

    /// [`Host::files`], the instances generated on `threads` threads: the
    /// same files in the same order on any number.
    pub fn files_on(
        &self,
        instances: &[Instance],
        options: RenderOptions,
        threads: crate::Threads,
    ) -> Result<Vec<Generated>> {
        let mut out = Vec::with_capacity(ProfileKind::ALL.len() + instances.len());
        let mut server = None;
        for kind in ProfileKind::ALL {
            let batch = self.batch(*kind)?;
            out.push(batch.generate(None, options)?);
            if *kind == ProfileKind::Server {
                server = Some(batch);
            }
        }
        // The instances come last, in the order given.
        // The first is generated before the others: what its lints read
        // and found is what the others are compared with, on any thread.
        if let (Some(server), Some((first, rest))) = (server, instances.split_first()) {
            out.push(server.generate(Some(first), options)?);
            let others = crate::par::runs(rest, threads, |part| {
                part.iter()
                    .map(|i| server.generate(Some(i), options))
                    .collect()
            });
            for generated in others {
                out.push(generated?);
            }
        }
        check_collisions(&out)?;
        Ok(out)
    }
}

/// One profile of a host made ready to generate many files
/// ([`Host::batch`]): the template and each instance cost only what
/// differs between them.
#[derive(Debug)]
pub struct Batch<'h> {
    host: &'h Host,
    kind: ProfileKind,
    prepared: Option<dropin::effective::Prepared>,
    /// What two instances' settings may differ in (the storages of the
    /// settings that use `%i`); `None` where instances are not compared.
    differs: Option<dropin::reads::Reads>,
    /// The first instance's findings and what each lint read, in
    /// [`lint::LINTS`] order.
    linted: std::sync::OnceLock<Vec<Linted>>,
    /// The profile's composition rendered once, with and without
    /// comments, for instances to be filled into.
    templates: [std::sync::OnceLock<dropin::render::Template>; 2],
}

/// One lint's findings for an instance, and what it read.
type Linted = (Vec<Finding>, dropin::reads::Reads);

impl Batch<'_> {
    /// What [`Host::generate`] gives for this profile.
    pub fn generate(
        &self,
        instance: Option<&Instance>,
        options: RenderOptions,
    ) -> Result<Generated> {
        let (host, kind) = (self.host, self.kind);
        let profile = host.profile(kind);
        let findings = self.lint(instance)?;
        let refused: Vec<String> = host
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
        let mut waived = vec![crate::config::ConfigId::header_of(host.config.as_ref())];
        for f in &findings {
            if let Some(w) = host.waiver(Some(kind), f.lint) {
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
        let template = match (profile.composed(), instance) {
            (Some(composed), Some(_)) => self
                .templates
                .get(usize::from(options.comments))
                .map(|t| t.get_or_init(|| dropin::render::Template::new(composed, options))),
            _ => None,
        };
        let mut generated = match template {
            Some(t) => {
                output::generate_filled(profile, &host.layout, instance, options, &waived, t)?
            }
            None => {
                output::generate_with_header(profile, &host.layout, instance, options, &waived)?
            }
        };
        generated.warnings = host
            .unwaived(kind, &findings)
            .filter(|f| !f.is_error())
            .cloned()
            .collect();
        Ok(generated)
    }

    /// What [`Host::lint`] gives for this profile.
    pub fn lint(&self, instance: Option<&Instance>) -> Result<Vec<Finding>> {
        let profile = self.host.profile(self.kind);
        let (Some(composed), Some(prepared)) = (profile.composed(), &self.prepared) else {
            return Ok(Vec::new());
        };
        let unit = profile.unit_for(instance)?;
        let subject = |effective| lint::Subject {
            composed: Some(composed),
            ..lint::Subject::new(effective, &profile.traits)
        };
        // An instance's settings differ from another's only in `differs`:
        // a lint that read none of that for the first instance finds here
        // what it found there (the lints read the settings through their
        // accessors only, see `dropin::reads`); the others run again, on
        // this instance's settings.
        let Some(differs) = self.differs.as_ref().filter(|_| instance.is_some()) else {
            return Ok(lint::check(&subject(&prepared.of(&unit))));
        };
        let Some(per_lint) = self.linted.get() else {
            let effective = prepared.of(&unit);
            let per_lint: Vec<Linted> = lint::LINTS
                .iter()
                .map(|l| {
                    let mut found = Vec::new();
                    let ((), reads) = dropin::reads::tracked_on(&effective, || {
                        l.check(&subject(&effective), &mut found);
                    });
                    (found, reads)
                })
                .collect();
            let findings = per_lint
                .iter()
                .flat_map(|(f, _)| f.iter().cloned())
                .collect();
            // Two threads may both lint a first instance: each finds the
            // same, the first to finish is kept.
            let _ = self.linted.set(per_lint);
            return Ok(findings);
        };
        let effective = std::cell::OnceCell::new();
        let mut findings = Vec::new();
        for (l, (found, reads)) in lint::LINTS.iter().zip(per_lint) {
            if reads.touches(differs) {
                l.check(
                    &subject(effective.get_or_init(|| prepared.of(&unit))),
                    &mut findings,
                );
            } else {
                findings.extend(found.iter().cloned());
            }
        }
        Ok(findings)
    }
}

/// The instances with repeats left out (the first of each kept, in the
/// order given), and each instance that was repeated, once.
pub fn fold_instances(instances: &[Instance]) -> (Vec<Instance>, Vec<Instance>) {
    let mut kept: Vec<Instance> = Vec::with_capacity(instances.len());
    let mut seen = std::collections::BTreeSet::new();
    let mut repeated = Vec::new();
    for i in instances {
        if seen.insert(i) {
            kept.push(i.clone());
        } else if !repeated.contains(i) {
            repeated.push(i.clone());
        }
    }
    (kept, repeated)
}

/// A generated file, for messages: `the server drop-in of instance 1`.
fn describe(g: &Generated) -> String {
    match (&g.instance, g.composed().is_some()) {
        (Some(i), _) => format!("the {} drop-in of instance {i}", g.profile),
        (None, true) => format!("the {} drop-in", g.profile),
        (None, false) => format!("the {} file", g.profile),
    }
}

/// Refuses two generated files with one path, and a file where another
/// needs a directory.
fn check_collisions(files: &[Generated]) -> Result<()> {
    let collision = |path: &str, first: &Generated, second: &Generated| Error::Collision {
        path: path.to_owned(),
        first: describe(first),
        second: describe(second),
    };
    let mut by_path: std::collections::BTreeMap<&str, &Generated> = Default::default();
    for g in files {
        if let Some(first) = by_path.insert(&g.path, g) {
            return Err(collision(&g.path, first, g));
        }
    }
    for (path, g) in &by_path {
        let mut dir = *path;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if let Some(other) = by_path.get(parent) {
                return Err(collision(parent, other, g));
            }
            dir = parent;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instances(names: &[&str]) -> Vec<Instance> {
        names.iter().map(|n| Instance::new(n).unwrap()).collect()
    }

    #[test]
    fn a_batch_generates_what_generate_does() {
        // Text, header, composition and warnings alike.
        let host = Host::standard().unwrap();
        let names = ["1", "2", "a-b", "web_7"];
        let files = host
            .files(&instances(&names), RenderOptions::default())
            .unwrap();
        assert_eq!(files.len(), 3 + names.len());
        for (g, name) in files[3..].iter().zip(names) {
            let one = host
                .generate(
                    ProfileKind::Server,
                    Some(&Instance::new(name).unwrap()),
                    RenderOptions::default(),
                )
                .unwrap();
            assert_eq!(*g, one, "{name}");
        }
        assert!(
            files[3]
                .text
                .contains("BindPaths=/var/lib/left4me/runtime/1\n")
        );
        assert!(
            files[4]
                .text
                .contains("BindPaths=/var/lib/left4me/runtime/2\n")
        );
    }

    #[test]
    fn repeated_instances_fold_in_order() {
        let (once, repeated) = fold_instances(&instances(&["2", "1", "2", "3", "2", "1"]));
        assert_eq!(once, instances(&["2", "1", "3"]));
        assert_eq!(repeated, instances(&["2", "1"]));
    }

    #[test]
    fn two_files_with_one_path_are_refused() {
        let host = Host::standard().unwrap();
        let err = host
            .files(&instances(&["1", "1"]), RenderOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "two generated files would be written to \
             /etc/systemd/system/left4me-server@1.service.d/10-hardening.conf: the server drop-in of \
             instance 1 and the server drop-in of instance 1 (check the unit names of the host config)"
        );
        // A web unit named like a server instance, with no config check
        // in the way (a host built by hand).
        let mut host = Host::standard().unwrap();
        host.layout.web_unit = dropin::UnitName::new("left4me-server@7.service").unwrap();
        host.web = Profile::standard(ProfileKind::Web, &host.layout).unwrap();
        let err = host
            .files(&instances(&["7"]), RenderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the web drop-in and the server drop-in of instance 7"),
            "{err}"
        );
    }
}
