//! What the profiles produce: file paths, rendered text, bundlewrap
//! metadata and a self-describing JSON dump.

use std::collections::BTreeMap;

use dropin::{
    Composed, Directive, Instance, Provenance, RenderOptions, Setting, SysctlFile, UnitName,
};
use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::lint::Finding;
use crate::profiles::{Content, Profile, ProfileKind};

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The profile it comes from.
    pub profile: ProfileKind,
    /// The instance, for a per-instance server drop-in.
    pub instance: Option<Instance>,
    /// Its path below the root, such as
    /// `etc/systemd/system/left4me-server@.service.d/10-hardening.conf`.
    pub path: String,
    /// Its name in the reactor's `systemd/units` metadata, such as
    /// `left4me-server@.service.d/10-hardening.conf` (the sysctl file is
    /// named by its absolute path, as a bundlewrap `files` item).
    pub bundlewrap_name: String,
    /// What the file is.
    pub body: Body,
    /// The header comment lines at the top of the file, as rendered: what
    /// produced it, "Do not edit", the waivers of the host configuration
    /// and (with comments) a note on template or instance.
    pub header: Vec<String>,
    /// The file's text.
    pub text: String,
    /// Lint findings below error level that no waiver covers, filled in by
    /// [`crate::Host::generate`]: what `render` and `write` print.
    pub warnings: Vec<Finding>,
}

/// What a generated file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A `[Service]` drop-in of a unit.
    DropIn {
        /// The unit it is for (`left4me-server@2.service`, or the template).
        unit: UnitName,
        /// The composition (instance resolved).
        composed: Composed,
    },
    /// A sysctl.d file.
    Sysctl(SysctlFile),
}

impl Generated {
    /// The composition, for a drop-in.
    pub fn composed(&self) -> Option<&Composed> {
        match &self.body {
            Body::DropIn { composed, .. } => Some(composed),
            Body::Sysctl(_) => None,
        }
    }

    /// The unit, for a drop-in.
    pub fn unit(&self) -> Option<&UnitName> {
        match &self.body {
            Body::DropIn { unit, .. } => Some(unit),
            Body::Sysctl(_) => None,
        }
    }
}

/// Renders a profile, for one instance or (for the server) the template.
pub fn generate(
    profile: &Profile,
    layout: &Layout,
    instance: Option<&Instance>,
    options: RenderOptions,
) -> Result<Generated> {
    generate_with_header(profile, layout, instance, options, &[])
}

/// Like [`generate`], with extra header comment lines (such as the lint
/// waivers of the host configuration) after the "Do not edit" line; they
/// are kept even without comments.
pub fn generate_with_header(
    profile: &Profile,
    layout: &Layout,
    instance: Option<&Instance>,
    options: RenderOptions,
    extra: &[String],
) -> Result<Generated> {
    let generated = build(profile, layout, instance, options, extra, None)?;
    check_writable(&generated)?;
    Ok(generated)
}

/// [`generate_with_header`], an instance's text filled into `template`,
/// the profile's composition rendered once with `options`
/// ([`dropin::render::Template`]): what a batch of instances uses.
pub(crate) fn generate_filled(
    profile: &Profile,
    layout: &Layout,
    instance: Option<&Instance>,
    options: RenderOptions,
    extra: &[String],
    template: &dropin::render::Template,
) -> Result<Generated> {
    let generated = build(profile, layout, instance, options, extra, Some(template))?;
    check_writable(&generated)?;
    Ok(generated)
}

/// The longest file name (one path component) Linux file systems take.
pub const NAME_MAX: usize = 255;

/// Refuses a generated file that could not be written or that the tool
/// could not read back: a path component longer than [`NAME_MAX`] bytes
/// (a long instance name makes a long `.d` directory name), or a text
/// larger than [`dropin::load::FILE_MAX`] (long host-config
/// reasons), which `diff` and `lint` would refuse. The one place where
/// generated sizes are checked.
pub fn check_writable(generated: &Generated) -> Result<()> {
    let unwritable = |reason: String| Error::Unwritable {
        path: generated.path.clone(),
        reason,
    };
    if let Some(long) = generated.path.split('/').find(|c| c.len() > NAME_MAX) {
        return Err(unwritable(format!(
            "its component {long:?} is {} bytes, more than the {NAME_MAX} a file name may have \
             (a shorter instance or unit name fits)",
            long.len()
        )));
    }
    let size = generated.text.len();
    if size > dropin::load::FILE_MAX {
        return Err(unwritable(format!(
            "it would be {size} bytes, more than the {} bytes left4me-harden reads back \
             (shorten the reasons in the host config)",
            dropin::load::FILE_MAX
        )));
    }
    Ok(())
}

/// Renders a profile without the checks of [`check_writable`].
fn build(
    profile: &Profile,
    layout: &Layout,
    instance: Option<&Instance>,
    options: RenderOptions,
    extra: &[String],
    template: Option<&dropin::render::Template>,
) -> Result<Generated> {
    match &profile.content {
        Content::DropIn { unit, composed, .. } => {
            let (unit, composed, note) = match instance {
                None => (
                    unit.clone(),
                    composed.clone(),
                    if unit.is_template() {
                        "Template drop-in: systemd expands %i for each instance."
                    } else {
                        ""
                    },
                ),
                Some(i) if unit.is_template() => (
                    unit.with_instance(i)?,
                    composed.for_instance(i)?,
                    "Instance drop-in: same file name as the template's on purpose, so systemd \
                     reads this file instead of that one; it carries the whole profile.",
                ),
                Some(i) => {
                    return Err(Error::NotATemplate {
                        profile: profile.kind.name().to_owned(),
                        instance: i.as_str().to_owned(),
                    });
                }
            };
            let mut header = vec![
                format!(
                    "Generated by left4me-harden from profile \"{}\" for {unit}.",
                    profile.kind
                ),
                "Do not edit: regenerate with left4me-harden write.".to_owned(),
            ];
            header.extend(extra.iter().cloned());
            if options.comments && !note.is_empty() {
                header.push(note.to_owned());
            }
            let dir = format!("{unit}.d/{}", layout.dropin_name);
            let text = match (instance, template) {
                (Some(i), Some(template)) => {
                    let mut text = String::with_capacity(4096);
                    template.render_into(&mut text, &header, i)?;
                    text
                }
                _ => dropin::render::dropin(&header, &composed, options),
            };
            Ok(Generated {
                profile: profile.kind,
                instance: instance.cloned(),
                path: format!("etc/systemd/system/{dir}"),
                bundlewrap_name: dir,
                text,
                header,
                body: Body::DropIn { unit, composed },
                warnings: Vec::new(),
            })
        }
        Content::Sysctl(file) => {
            if let Some(i) = instance {
                return Err(Error::NotATemplate {
                    profile: profile.kind.name().to_owned(),
                    instance: i.as_str().to_owned(),
                });
            }
            let mut header = vec![
                format!(
                    "Generated by left4me-harden from profile \"{}\" for {}.",
                    profile.kind, layout.sysctl_file
                ),
                "Do not edit: regenerate with left4me-harden write.".to_owned(),
            ];
            header.extend(extra.iter().cloned());
            let path = layout
                .sysctl_file
                .as_str()
                .trim_start_matches('/')
                .to_owned();
            Ok(Generated {
                profile: profile.kind,
                instance: None,
                path,
                bundlewrap_name: layout.sysctl_file.to_string(),
                text: file.render(&header, options.comments),
                header,
                body: Body::Sysctl(file.clone()),
                warnings: Vec::new(),
            })
        }
    }
}

/// One key of a drop-in's section in the reactor's shape: its lines in
/// order, each a value (`""` for a reset) and its provenance.
type KeyLines<'a> = Vec<(String, &'a Provenance)>;

/// A drop-in's `[Service]` keys in the reactor's shape, sorted by name as
/// the reactor renders them.
///
/// The reactor sorts keys, so directives that share one storage in
/// systemd (`BindPaths=` and `BindReadOnlyPaths=` fill one bind list, and
/// an empty assignment of either empties it) no longer come in the
/// composition's order: a reset kept on `BindReadOnlyPaths=` would be
/// rendered after the `BindPaths=` lines and clear them. So a reset moves
/// to the key that sorts first among those sharing its storage; it then
/// comes before every line of that storage, as in the `.conf` rendering.
fn reactor_section(composed: &Composed) -> BTreeMap<&'static str, KeyLines<'_>> {
    let mut keys: BTreeMap<&'static str, KeyLines<'_>> = BTreeMap::new();
    let mut resets: Vec<Directive> = Vec::new();
    for (directive, setting) in composed.settings() {
        if matches!(setting, Setting::List { reset: Some(_), .. }) {
            resets.push(directive);
        }
        let lines = setting
            .assignments()
            .into_iter()
            .map(|(a, p)| (a.value.map(|v| v.to_string()).unwrap_or_default(), p))
            .collect();
        keys.insert(directive.name(), lines);
    }
    for directive in resets {
        let storage = directive.storage();
        let first = composed
            .settings()
            .map(|(d, _)| d)
            .filter(|d| d.storage() == storage)
            .map(Directive::name)
            .min()
            .unwrap_or(directive.name());
        if first == directive.name() {
            continue;
        }
        // A List setting's reset is its first line.
        let Some(lines) = keys.get_mut(directive.name()).filter(|l| !l.is_empty()) else {
            continue;
        };
        let reset = lines.remove(0);
        if lines.is_empty() {
            keys.remove(directive.name());
        }
        keys.entry(first).or_default().insert(0, reset);
    }
    keys
}

/// The reactor's metadata for one generated file.
///
/// A drop-in becomes `{name: {"Service": {Key: value}}}` where a key with
/// one line is a string and a key with several is a list in order, a reset
/// being `""` (always first in its list). The reactor sorts keys and
/// renders each list item as a `Key=item` line, so systemd reads the same
/// effective settings as from the `.conf` rendering: a reset of a storage
/// that several directives share is put on the one that sorts first (see
/// `docs/bundlewrap.md`). The sysctl file becomes a bundlewrap `files`
/// item: `{path: {"content": text, "mode": "0644"}}`.
pub fn bundlewrap(generated: &Generated) -> Json {
    let Some(composed) = generated.composed() else {
        return json!({
            generated.bundlewrap_name.clone(): {
                "content": generated.text,
                "mode": "0644",
            }
        });
    };
    let section: serde_json::Map<String, Json> = reactor_section(composed)
        .into_iter()
        .map(|(key, lines)| {
            let mut values: Vec<Json> = lines.into_iter().map(|(v, _)| Json::String(v)).collect();
            let value = match values.len() {
                1 => values.swap_remove(0),
                _ => Json::Array(values),
            };
            (key.to_owned(), value)
        })
        .collect();
    json!({ generated.bundlewrap_name.clone(): { "Service": section } })
}

/// The provenance of one generated file, as the bundlewrap document
/// carries it beside the reactor's metadata.
///
/// For a drop-in: its profile, unit and instance, its header lines, and
/// under `lines` the shape of its [`bundlewrap`] entry with every key's
/// value replaced by a list of its lines' `{value, origin, reason}`, one
/// per `Key=` line the reactor renders, in the same order (so a renderer
/// can zip them to write provenance comments); under `notes` the
/// directives left out, with why. For the sysctl file: its profile,
/// header lines and each setting's `{key, value, origin, reason}` in file
/// order.
pub fn bundlewrap_provenance(generated: &Generated) -> Json {
    let line = |value: &str, p: &Provenance| json!({ "value": value, "origin": p.origin, "reason": p.reason });
    match &generated.body {
        Body::DropIn { unit, composed } => {
            let lines: serde_json::Map<String, Json> = reactor_section(composed)
                .into_iter()
                .map(|(key, lines)| {
                    let lines = lines.iter().map(|(v, p)| line(v, p)).collect();
                    (key.to_owned(), Json::Array(lines))
                })
                .collect();
            let notes: Vec<Json> = composed
                .notes()
                .iter()
                .map(|n| {
                    json!({
                        "directive": n.directive.name(),
                        "action": n.action.to_string(),
                        "origin": n.provenance.origin,
                        "reason": n.provenance.reason,
                    })
                })
                .collect();
            json!({
                "profile": generated.profile,
                "unit": unit.to_string(),
                "instance": generated.instance.as_ref().map(Instance::as_str),
                "header": generated.header,
                "lines": { "Service": lines },
                "notes": notes,
            })
        }
        Body::Sysctl(file) => {
            let settings: Vec<Json> = file
                .settings
                .iter()
                .map(|s| {
                    json!({
                        "key": s.key.to_string(),
                        "value": s.value.to_string(),
                        "origin": s.provenance.origin,
                        "reason": s.provenance.reason,
                    })
                })
                .collect();
            json!({
                "profile": generated.profile,
                "header": generated.header,
                "settings": settings,
            })
        }
    }
}

/// The merged bundlewrap document of several files, split by where the
/// reactor puts them: the drop-ins under `systemd` → `units` (the
/// `systemd/units` metadata), the sysctl file under `files` (bundlewrap
/// file items), so that no consumer mistakes one for the other; and under
/// `left4me-harden` → `provenance` each file's [`bundlewrap_provenance`],
/// by the same name, which a reactor may ignore or render as comments.
pub fn bundlewrap_document(files: &[Generated]) -> Json {
    let mut units = serde_json::Map::new();
    let mut items = serde_json::Map::new();
    let mut provenance = serde_json::Map::new();
    for f in files {
        if let Json::Object(m) = bundlewrap(f) {
            match f.body {
                Body::DropIn { .. } => units.extend(m),
                Body::Sysctl(_) => items.extend(m),
            }
        }
        provenance.insert(f.bundlewrap_name.clone(), bundlewrap_provenance(f));
    }
    json!({
        "systemd": { "units": units },
        "files": items,
        "left4me-harden": { "provenance": provenance },
    })
}

/// A self-describing dump of a generated file's typed content: every
/// directive with its group, systemd version, lines and their provenance,
/// and the notes on what was left out.
pub fn describe(profile: &Profile, generated: &Generated) -> Json {
    let traits: Vec<&str> = profile.traits.iter().map(|t| t.name()).collect();
    let mut out = json!({
        "profile": profile.kind,
        "description": profile.description,
        "instance": generated.instance.as_ref().map(Instance::as_str),
        "path": format!("/{}", generated.path),
        "traits": traits,
    });
    match (generated.composed(), &profile.content) {
        (Some(composed), _) => {
            let directives: Vec<Json> = composed
                .settings()
                .map(|(d, s)| {
                    let spec = d.spec();
                    let lines: Vec<Json> = s
                        .assignments()
                        .into_iter()
                        .map(|(a, p)| {
                            json!({
                                "reset": a.value.is_none(),
                                "value": a.value.map(|v| v.to_string()).unwrap_or_default(),
                                "origin": p.origin,
                                "reason": p.reason,
                            })
                        })
                        .collect();
                    json!({
                        "directive": spec.name,
                        "group": spec.group.heading(),
                        "merge": match s { Setting::Single(_) => "single", Setting::List { .. } => "list" },
                        "since": spec.since,
                        "doc": spec.doc_url(),
                        "lines": lines,
                    })
                })
                .collect();
            out["directives"] = Json::Array(directives);
            out["notes"] = serde_json::to_value(composed.notes()).unwrap_or(Json::Null);
        }
        (None, Content::Sysctl(file)) => {
            let settings: BTreeMap<String, Json> = file
                .settings
                .iter()
                .map(|s| {
                    (
                        s.key.to_string(),
                        json!({"value": s.value.to_string(), "origin": s.provenance.origin, "reason": s.provenance.reason}),
                    )
                })
                .collect();
            out["sysctl"] = serde_json::to_value(settings).unwrap_or(Json::Null);
        }
        (None, Content::DropIn { .. }) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_must_be_writable_and_readable_back() {
        let layout = Layout::standard().unwrap();
        let server = Profile::standard(ProfileKind::Server, &layout).unwrap();
        // 230 characters make a 255-byte `.d` name: the longest that fits.
        let fits = Instance::new(&"1".repeat(230)).unwrap();
        assert!(generate(&server, &layout, Some(&fits), RenderOptions::default()).is_ok());
        let long = Instance::new(&"1".repeat(231)).unwrap();
        let err = generate(&server, &layout, Some(&long), RenderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("is 256 bytes, more than the 255"), "{err}");
        // A header that makes the file larger than the reader's cap.
        let huge = vec!["x".repeat(dropin::load::FILE_MAX)];
        let err = generate_with_header(&server, &layout, None, RenderOptions::default(), &huge)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("more than the 1048576 bytes left4me-harden reads back"),
            "{err}"
        );
    }
}
