//! The exposure score (`systemd-analyze security --offline=true`, systemd
//! 257, computed by [`dropin::score`]) of what the profiles generate and of
//! what is installed.
//!
//! A drop-in is scored on a unit: over the base units installed under a
//! root when there is one, otherwise over the test plan's reference base
//! units ([`SERVER_UNIT`], [`WEB_UNIT`]), which carry no hardening of
//! their own.

use dropin::load::{self, Fs, LoadOptions, Loader, MemFs, NameKind, Overlay};
use dropin::score::{self, Score};
use dropin::{Composed, Directive, Layer, Provenance};

use crate::host::Host;
use crate::output::Generated;
use crate::profiles::{Content, ProfileKind};

/// The test plan's base unit of the game servers.
pub const SERVER_UNIT: &str = include_str!("../tests/fixtures/units/left4me-server@.service");
/// The test plan's base unit of the web app.
pub const WEB_UNIT: &str = include_str!("../tests/fixtures/units/left4me-web.service");

/// The instance `systemd-analyze security` gives a template.
pub const TEST_INSTANCE: &str = "test_instance";

/// The unit systemd loads to score `name`: a template is scored as its
/// `test_instance`.
pub fn unit_to_load(name: &str) -> String {
    match (load::unit_name_kind(name), name.split_once("@.")) {
        (Some(NameKind::Template), Some((prefix, ty))) => format!("{prefix}@{TEST_INSTANCE}.{ty}"),
        _ => name.to_owned(),
    }
}

/// systemd-analyze's search path: the directories of unit files named by
/// path first, then `unit_path` (`$SYSTEMD_UNIT_PATH`: a trailing `:`
/// appends the defaults), or the defaults (`verify_set_unit_path()`,
/// `lookup_paths_init()`).
pub fn search_path(file_dirs: &[String], unit_path: Option<&str>) -> Vec<String> {
    let mut path: Vec<String> = file_dirs.to_vec();
    let defaults = || load::SEARCH_PATH.iter().map(|s| (*s).to_owned());
    match unit_path {
        Some(v) if !v.is_empty() => {
            path.extend(v.split(':').filter(|p| !p.is_empty()).map(str::to_owned));
            if v.ends_with(':') {
                path.extend(defaults());
            }
        }
        Some(_) => {}
        None => path.extend(defaults()),
    }
    let mut seen = std::collections::BTreeSet::new();
    path.retain(|p| seen.insert(p.clone()));
    path
}

/// Scores units as `systemd-analyze security --offline=true UNIT...`
/// does: each a name on the search path or an absolute path of a unit
/// file under the root of `fs`.
pub fn units(fs: &dyn Fs, names: &[String], unit_path: Option<&str>) -> Vec<dropin::Result<Score>> {
    let mut dirs = Vec::new();
    let mut wanted = Vec::new();
    for n in names {
        match n.rsplit_once('/') {
            Some((dir, file)) if n.starts_with('/') => {
                dirs.push(if dir.is_empty() { "/" } else { dir }.to_owned());
                wanted.push(unit_to_load(file));
            }
            _ => wanted.push(unit_to_load(n)),
        }
    }
    let options = LoadOptions {
        search_path: search_path(&dirs, unit_path),
    };
    let loader = Loader::new(fs, &options);
    wanted
        .iter()
        .map(|u| score::score(&loader.load(u)))
        .collect()
}

/// The test plan's base units, at the host's unit names.
fn reference(host: &Host) -> MemFs {
    let mut fs = MemFs::new();
    fs.file(
        &format!("/etc/systemd/system/{}", host.layout.server_unit),
        SERVER_UNIT,
    )
    .file(
        &format!("/etc/systemd/system/{}", host.layout.web_unit),
        WEB_UNIT,
    );
    fs
}

/// The generated drop-ins in `files` laid over `base` (the installed tree;
/// their texts are read where they are, not copied) or, without one, over
/// the reference base units.
pub fn with_generated<'a>(
    host: &Host,
    files: &'a [Generated],
    base: Option<&'a dyn Fs>,
) -> Box<dyn Fs + 'a> {
    if let Some(base) = base {
        return Box::new(Overlay::new(base, dropins(files)));
    }
    let mut fs = reference(host);
    for (path, text) in dropins(files) {
        fs.file(&path, text);
    }
    Box::new(fs)
}

/// The generated drop-ins of `files` at their absolute paths.
fn dropins(files: &[Generated]) -> impl Iterator<Item = (String, &[u8])> {
    files
        .iter()
        .filter(|f| f.unit().is_some())
        .map(|f| (format!("/{}", f.path), f.text.as_bytes()))
}

/// The score of each generated drop-in's unit (the template scored as
/// `test_instance`), over `base` or the reference base units.
pub fn generated(
    host: &Host,
    files: &[Generated],
    base: Option<&dyn Fs>,
) -> Vec<(String, dropin::Result<Score>)> {
    let fs = with_generated(host, files, base);
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.unit().map(ToString::to_string))
        .collect();
    let scores = units(fs.as_ref(), &names, None);
    names.into_iter().zip(scores).collect()
}

/// How much exposure `directive` removes from a profile: the profile's
/// score (over its reference base unit) as composed and with the directive
/// removed, in tenths; `None` for a profile that does not set it or that
/// cannot be scored.
pub fn directive_effect(
    host: &Host,
    directive: Directive,
) -> Vec<(ProfileKind, Option<(u64, u64)>)> {
    host.profiles()
        .iter()
        .filter_map(|p| match &p.content {
            Content::DropIn {
                layers,
                composed,
                unit,
            } => Some((p.kind, layers, composed, unit)),
            Content::Sysctl(_) => None,
        })
        .map(|(kind, layers, composed, unit)| {
            if composed.get(directive).is_none() {
                return (kind, None);
            }
            let mut without = layers.clone();
            let mut drop = Layer::new("explain: without");
            drop.remove(directive, Provenance::new("explain", "what it removes"));
            without.push(drop);
            let score_of = |c: &Composed| -> Option<u64> {
                let text = dropin::render::dropin(&[], c, dropin::RenderOptions::default());
                let mut fs = reference(host);
                fs.file(
                    &format!("/etc/systemd/system/{unit}.d/{}", host.layout.dropin_name),
                    text,
                );
                units(&fs, &[unit.to_string()], None)
                    .pop()
                    .and_then(Result::ok)
                    .map(|s| s.exposure)
            };
            let with = score_of(composed);
            let without = score_of(&Composed::compose(&without));
            (kind, with.zip(without))
        })
        .collect()
}

/// Scores as text: `1.3 OK`.
pub fn short(s: &Score) -> String {
    format!("{} {}", s.exposure_text(), s.level().name)
}

/// One line per generated unit for `render` and `write`:
/// `score: left4me-server@.service 1.3 OK` (over `base`, else over the
/// test plan's base units), or why it could not be scored.
pub fn lines(host: &Host, files: &[Generated], base: Option<&dyn Fs>) -> Vec<String> {
    lines_on(host, files, base, crate::Threads::Machine)
}

/// [`lines`], the units scored on `threads` threads: the same lines in
/// the same order on any number.
pub fn lines_on(
    host: &Host,
    files: &[Generated],
    base: Option<&dyn Fs>,
    threads: crate::Threads,
) -> Vec<String> {
    let over = if base.is_some() {
        "as installed"
    } else {
        "over the test plan's base unit"
    };
    // Each unit's score becomes its line at once: a thousand instances'
    // scores are never held together. Every thread's loader reads each
    // installed file once, the same file alike; the generated drop-ins
    // laid over them are read where they are (not copied into the cache:
    // a thousand instances' own drop-ins are each read once).
    let cached = base.map(dropin::load::Cached::new);
    let fs = with_generated(host, files, cached.as_ref().map(|c| c as &dyn Fs));
    let options = LoadOptions {
        search_path: search_path(&[], None),
    };
    let units: Vec<(&Generated, String)> = files
        .iter()
        .filter_map(|f| Some((f, f.unit()?.to_string())))
        .collect();
    crate::par::runs(&units, threads, |part| {
        // A loader and scores of each thread's own: the scores keep what
        // the siblings they score share.
        let loader = Loader::new(fs.as_ref(), &options);
        let scores = Instances::new(host, &loader);
        part.iter()
            .map(|(f, unit)| line(scores.score(f, &unit_to_load(unit)), unit, over))
            .collect()
    })
}

/// The line of `unit`'s score.
fn line(score: dropin::Result<Score>, unit: &str, over: &str) -> String {
    match score {
        Ok(s) => format!("score: {unit} {} ({over})", short(&s)),
        Err(dropin::Error::Unscorable { reason, .. }) => {
            format!("score: {unit} not scored: {reason}")
        }
        Err(e) => format!("score: {unit} not scored: {e}"),
    }
}

/// The scores of the units of generated drop-ins: an instance's drop-in
/// differs from its siblings' only in the settings that use `%i`, so an
/// instance whose files load as a sibling's (apart from its own drop-in,
/// as generated) takes the sibling's score when that score read none of
/// those settings ([`score::Scores`]); any other unit is loaded and scored.
pub struct Instances<'l> {
    scores: score::Scores<'l>,
    differs: Vec<(ProfileKind, dropin::reads::Reads)>,
}

impl<'l> Instances<'l> {
    /// Scores units of `loader`, whose file system holds the generated
    /// drop-ins as generated from `host`.
    pub fn new(host: &Host, loader: &'l Loader<'l>) -> Instances<'l> {
        let differs = ProfileKind::ALL
            .iter()
            .filter_map(|k| {
                let composed = host.profile(*k).composed()?;
                Some((*k, score::instance_differs(composed)?))
            })
            .collect();
        Instances {
            scores: score::Scores::new(loader),
            differs,
        }
    }

    /// The score of `name`, the unit of `generated` or the unit scored
    /// for it (a template's `test_instance`).
    pub fn score(&self, generated: &Generated, name: &str) -> dropin::Result<Score> {
        let own = format!("/{}", generated.path);
        self.scores
            .score(name, self.alike(generated, &own).as_ref())
    }

    /// The score of `name`, the unit of `generated`, which the caller
    /// loaded from `located` with the loader given to [`Instances::new`].
    pub fn score_loaded(
        &self,
        generated: &Generated,
        name: &str,
        located: &dropin::load::Located,
        loaded: &dropin::load::Loaded,
    ) -> dropin::Result<Score> {
        let own = format!("/{}", generated.path);
        let alike = self.alike(generated, &own);
        self.scores
            .score_loaded(name, located, loaded, alike.as_ref())
    }

    /// What `generated`'s unit shares with its siblings (instances only),
    /// its own drop-in at `own`.
    fn alike<'a>(&'a self, generated: &Generated, own: &'a str) -> Option<score::Alike<'a>> {
        generated
            .instance
            .as_ref()
            .and_then(|_| self.differs.iter().find(|(k, _)| *k == generated.profile))
            .map(|(k, differs)| score::Alike {
                class: k.name(),
                own,
                differs,
            })
    }

    /// How many scores were a sibling's.
    pub fn reused(&self) -> usize {
        self.scores.reused()
    }
}

/// The score of a generated drop-in's unit over the test plan's base unit,
/// for the JSON dump: the overall exposure and level, and every check that
/// adds exposure (`{"id": "PrivateNetwork=", "exposure": "0.5"}`), so
/// that a reviewer sees the score move in a snapshot. `null` for the
/// sysctl file.
pub fn json(host: &Host, generated: &Generated) -> serde_json::Value {
    let Some((_, Ok(s))) = self::generated(host, std::slice::from_ref(generated), None).pop()
    else {
        return serde_json::Value::Null;
    };
    let checks: Vec<serde_json::Value> = s
        .printed()
        .into_iter()
        .filter_map(|c| {
            c.exposure_text()
                .map(|e| serde_json::json!({"id": c.id, "exposure": e}))
        })
        .collect();
    serde_json::json!({
        "exposure": s.exposure_text(),
        "level": s.level().name,
        "over": "the test plan's base unit",
        "checks": checks,
    })
}
