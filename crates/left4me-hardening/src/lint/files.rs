//! Lints over drop-in files as installed or hand-written: which unit each
//! file belongs to (from its `NAME.service.d/` directory), the order
//! systemd reads them in, and the base unit underneath.
//!
//! For an instance such as `left4me-server@1.service`, systemd reads the
//! drop-ins of `left4me-server@.service.d/` and `left4me-server@1.service.d/`
//! together, in file-name order; a file in the instance directory with the
//! name of one in the template directory replaces it (the
//! [`INSTANCE_REPLACES_TEMPLATE`] note), and `%i` is the instance in both.
//!
//! Limitations: only the unit's own `.d` directories are considered, not
//! the prefix directories (`left4me-.service.d/`) or `service.d/`; files
//! outside a `.d` directory are taken as one set, in the order given.

use std::collections::BTreeMap;
use std::path::Path;

use dropin::parse::service_assignments;
use dropin::{Effective, Instance, Read, UnitFile, UnitName};

use super::{Finding, INSTANCE_REPLACES_TEMPLATE, Subject, check};
use crate::error::Result;
use crate::host::Host;
use crate::profiles::ProfileKind;
use crate::traits::Trait;

/// A drop-in file, read.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its path as given; its directory names the unit it belongs to.
    pub path: String,
    /// Its content.
    pub file: UnitFile,
}

/// The unit a file's directory names (`left4me-server@1.service.d/x.conf`
/// belongs to `left4me-server@1.service`).
pub fn unit_of(path: &str) -> Option<UnitName> {
    let dir = Path::new(path).parent()?.file_name()?.to_str()?;
    UnitName::new(dir.strip_suffix(".d")?).ok()
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// One unit's drop-ins, as systemd reads them.
#[derive(Clone, Debug)]
pub struct Target {
    /// The unit, where the files' directory names one.
    pub unit: Option<UnitName>,
    /// The files, in the order they are read.
    pub files: Vec<String>,
    /// Findings on the set of files itself ([`INSTANCE_REPLACES_TEMPLATE`]).
    pub findings: Vec<Finding>,
    /// Their `[Service]` assignments in order, `%i` resolved for an instance.
    reads: Vec<Read>,
}

fn reads_of(file: &UnitFile, instance: Option<&Instance>) -> Result<Vec<Read>> {
    service_assignments(file)?
        .into_iter()
        .map(|r| match instance {
            Some(i) => r.resolve_instance(i),
            None => Ok(r),
        })
        .collect::<dropin::Result<_>>()
        .map_err(Into::into)
}

impl Target {
    /// What the target is called in messages: its unit, or its files.
    pub fn label(&self) -> String {
        match &self.unit {
            Some(u) => u.to_string(),
            None => self.files.join(", "),
        }
    }

    /// The instance `%i` stands for, for an instantiated unit.
    pub fn instance(&self) -> Option<&Instance> {
        self.unit.as_ref().and_then(UnitName::instance)
    }

    /// Whether the base unit `base` is this target's unit (or, for an
    /// instance, its template).
    pub fn is_based_on(&self, base: &UnitName) -> bool {
        self.unit
            .as_ref()
            .is_some_and(|u| u == base || u.template().as_ref() == Some(base))
    }

    /// The effective settings: the base unit's `[Service]` section, then
    /// the drop-ins in order.
    pub fn effective(&self, base: Option<&UnitFile>) -> Result<Effective> {
        let mut reads = match base {
            Some(b) => reads_of(b, self.instance())?,
            None => Vec::new(),
        };
        reads.extend(self.reads.iter().cloned());
        Ok(Effective::from_reads(&reads))
    }

    /// Every finding: those on the files, then the lints of the effective
    /// settings against `traits`.
    pub fn check(&self, base: Option<&UnitFile>, traits: &[Trait]) -> Result<Vec<Finding>> {
        let effective = self.effective(base)?;
        let mut out = check(&Subject {
            effective: &effective,
            traits,
            instance: self.instance(),
        });
        out.extend(self.findings.iter().cloned());
        Ok(out)
    }
}

/// Sorts files into the units they belong to, in the order systemd reads
/// them: instances (with their template's files), templates linted on
/// their own (when no instance of theirs is among the files), other units,
/// then the files outside any `.d` directory.
pub fn targets(sources: &[Source]) -> Result<Vec<Target>> {
    let mut by_unit: BTreeMap<UnitName, BTreeMap<String, &Source>> = BTreeMap::new();
    let mut loose: Vec<&Source> = Vec::new();
    for s in sources {
        match unit_of(&s.path) {
            Some(u) => {
                by_unit.entry(u).or_default().insert(file_name(&s.path), s);
            }
            None => loose.push(s),
        }
    }
    let mut out = Vec::new();
    for (unit, files) in &by_unit {
        if unit.is_template() && by_unit.keys().any(|u| u.template().as_ref() == Some(unit)) {
            // Linted with each of its instances.
            continue;
        }
        let template = unit.template().and_then(|t| by_unit.get(&t));
        let mut merged: BTreeMap<&str, &Source> = BTreeMap::new();
        let mut findings = Vec::new();
        if let Some(t) = template {
            merged.extend(t.iter().map(|(n, s)| (n.as_str(), *s)));
        }
        for (name, s) in files {
            if let Some(replaced) = merged.insert(name.as_str(), s)
                && template.is_some()
            {
                findings.push(Finding::new(
                    INSTANCE_REPLACES_TEMPLATE,
                    format!(
                        "{} has the file name of {} and replaces it wholesale: none of the \
                         template file's settings apply to {unit}",
                        s.path, replaced.path
                    ),
                    "intended when the instance file carries the whole profile (as \
                     left4me-harden writes it); otherwise give it a name of its own, such as \
                     20-local.conf"
                        .to_owned(),
                ));
            }
        }
        let instance = unit.instance();
        let mut reads = Vec::new();
        for s in merged.values() {
            reads.extend(reads_of(&s.file, instance)?);
        }
        out.push(Target {
            unit: Some(unit.clone()),
            files: merged.values().map(|s| s.path.clone()).collect(),
            findings,
            reads,
        });
    }
    if !loose.is_empty() {
        let mut reads = Vec::new();
        for s in &loose {
            reads.extend(reads_of(&s.file, None)?);
        }
        out.push(Target {
            unit: None,
            files: loose.iter().map(|s| s.path.clone()).collect(),
            findings: Vec::new(),
            reads,
        });
    }
    Ok(out)
}

/// The profile whose unit `unit` is (or instantiates), and its traits.
pub fn profile_of<'h>(host: &'h Host, unit: &UnitName) -> Option<(ProfileKind, &'h [Trait])> {
    let template = unit.template();
    [&host.server, &host.web].into_iter().find_map(|p| {
        let own = match &p.content {
            crate::profiles::Content::DropIn { unit, .. } => unit,
            crate::profiles::Content::Sysctl(_) => return None,
        };
        (own == unit || template.as_ref() == Some(own)).then_some((p.kind, p.traits.as_slice()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{I386_NATIVE_ONLY, PATH_HIDDEN, Severity};

    fn source(path: &str, text: &str) -> Source {
        Source {
            path: path.to_owned(),
            file: UnitFile::parse(path, text).unwrap(),
        }
    }

    #[test]
    fn units_come_from_directories() {
        assert_eq!(
            unit_of("/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf")
                .map(|u| u.to_string()),
            Some("left4me-server@1.service".to_owned())
        );
        assert_eq!(unit_of("x.conf"), None);
        assert_eq!(unit_of("/tmp/x.conf"), None);
        assert_eq!(unit_of("/tmp/not a unit.d/x.conf"), None);
    }

    #[test]
    fn instances_read_their_template_files_in_name_order() {
        let sources = [
            source(
                "a/left4me-server@.service.d/20-arch.conf",
                "[Service]\nSystemCallArchitectures=native\nBindPaths=/var/lib/left4me/runtime/%i\n",
            ),
            source(
                "b/left4me-server@1.service.d/30-arch.conf",
                "[Service]\nSystemCallArchitectures=x86\n",
            ),
            source(
                "b/left4me-server@2.service.d/10-other.conf",
                "[Service]\nUMask=0027\n",
            ),
        ];
        let t = targets(&sources).unwrap();
        let labels: Vec<String> = t.iter().map(Target::label).collect();
        assert_eq!(
            labels,
            ["left4me-server@1.service", "left4me-server@2.service"]
        );
        assert_eq!(
            t[0].files,
            [
                "a/left4me-server@.service.d/20-arch.conf",
                "b/left4me-server@1.service.d/30-arch.conf"
            ]
        );
        assert_eq!(
            t[1].files,
            [
                "b/left4me-server@2.service.d/10-other.conf",
                "a/left4me-server@.service.d/20-arch.conf"
            ]
        );
        let e = t[1].effective(None).unwrap().to_string();
        assert!(e.contains("BindPaths=/var/lib/left4me/runtime/2\n"), "{e}");
        let i386 = [Trait::I386Binary];
        assert!(t[0].check(None, &i386).unwrap().is_empty());
        let f = t[1].check(None, &i386).unwrap();
        assert_eq!(f[0].lint, I386_NATIVE_ONLY);
    }

    #[test]
    fn an_instance_file_of_the_same_name_replaces_the_template_file() {
        let sources = [
            source(
                "left4me-server@.service.d/10-hardening.conf",
                "[Service]\nSystemCallArchitectures=native\n",
            ),
            source(
                "left4me-server@1.service.d/10-hardening.conf",
                "[Service]\nUMask=0027\n",
            ),
        ];
        let t = targets(&sources).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].files, ["left4me-server@1.service.d/10-hardening.conf"]);
        let f = t[0].check(None, &[Trait::I386Binary]).unwrap();
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(
            (f[0].lint, f[0].severity),
            (INSTANCE_REPLACES_TEMPLATE, Severity::Note)
        );
        assert!(f[0].to_string().contains("replaces it wholesale"));
    }

    #[test]
    fn no_note_for_files_of_different_names_or_without_template() {
        let sources = [
            source("left4me-server@.service.d/10-a.conf", "[Service]\n"),
            source("left4me-server@1.service.d/20-b.conf", "[Service]\n"),
            source("left4me-web.service.d/10-a.conf", "[Service]\n"),
            source("loose.conf", "[Service]\n"),
        ];
        let t = targets(&sources).unwrap();
        assert_eq!(t.len(), 3);
        for target in &t {
            assert!(target.check(None, &[]).unwrap().is_empty());
        }
        assert_eq!(t[2].label(), "loose.conf");
    }

    #[test]
    fn the_base_unit_lies_underneath_with_the_instance_resolved() {
        let base = UnitFile::parse(
            "left4me-server@.service",
            "[Service]\nExecStart=/var/lib/left4me/runtime/%i/merged/srcds_run\n",
        )
        .unwrap();
        let ok = source(
            "left4me-server@7.service.d/10.conf",
            "[Service]\nTemporaryFileSystem=/var/lib\nBindPaths=/var/lib/left4me/runtime/%i\n",
        );
        let hidden = source(
            "left4me-server@7.service.d/10.conf",
            "[Service]\nTemporaryFileSystem=/var/lib\nBindPaths=/var/lib/left4me/runtime/8\n",
        );
        let name = UnitName::new("left4me-server@.service").unwrap();
        let t = targets(&[ok]).unwrap();
        assert!(t[0].is_based_on(&name));
        assert!(t[0].check(Some(&base), &[]).unwrap().is_empty());
        let t = targets(&[hidden]).unwrap();
        let f = t[0].check(Some(&base), &[]).unwrap();
        assert_eq!(f[0].lint, PATH_HIDDEN);
        assert!(
            f[0].message.contains("/var/lib/left4me/runtime/7/merged"),
            "{f:#?}"
        );
    }

    #[test]
    fn profiles_are_found_by_unit() {
        let host = Host::standard().unwrap();
        let one = UnitName::new("left4me-server@1.service").unwrap();
        let web = UnitName::new("left4me-web.service").unwrap();
        let other = UnitName::new("nginx.service").unwrap();
        assert_eq!(
            profile_of(&host, &one).map(|(k, _)| k),
            Some(ProfileKind::Server)
        );
        assert_eq!(
            profile_of(&host, &web).map(|(k, t)| (k, t.contains(&Trait::RunsSudo))),
            Some((ProfileKind::Web, true))
        );
        assert_eq!(profile_of(&host, &other), None);
    }
}
