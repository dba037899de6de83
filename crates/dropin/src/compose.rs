//! Layers composed in drop-in order with systemd's merge rules, keeping
//! the provenance of every line and a trace of what each layer did.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::directive::{Directive, Merge};
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::value::Value;

/// Where a line comes from and why it is there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Provenance {
    /// What proved or asked for it, such as `Test 3` or `host config`.
    pub origin: Arc<str>,
    /// One line on why.
    pub reason: Arc<str>,
}

impl Provenance {
    /// A provenance from an origin and a reason.
    pub fn new(origin: impl Into<Arc<str>>, reason: impl Into<Arc<str>>) -> Self {
        Provenance {
            origin: origin.into(),
            reason: reason.into(),
        }
    }
}

/// One assignment: a value, or the empty assignment (a reset).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Assignment {
    /// The directive.
    pub directive: Directive,
    /// The value; `None` is the empty assignment `Directive=`.
    pub value: Option<Value>,
}

impl Assignment {
    /// An assignment of `value`, checked against the directive's kind.
    pub fn new(directive: Directive, value: Value) -> Result<Self> {
        value.check_kind(directive)?;
        if value.is_empty_list() {
            return Err(Error::value(
                directive.name(),
                "",
                "an empty list is a reset; use Assignment::reset",
            ));
        }
        Ok(Assignment {
            directive,
            value: Some(value),
        })
    }

    /// Parses the text of an assignment (`""` is the reset).
    pub fn parse(directive: Directive, text: &str) -> Result<Self> {
        if text.trim().is_empty() && !text.contains(['\n', '\r', '\0']) {
            Assignment::reset(directive)
        } else {
            Assignment::new(directive, Value::parse(directive, text)?)
        }
    }

    /// The assignment with `%i`/`%I` resolved for `instance`.
    pub fn resolve_instance(&self, instance: &Instance) -> Result<Assignment> {
        Ok(Assignment {
            directive: self.directive,
            value: self
                .value
                .as_ref()
                .map(|v| v.resolve_instance(instance))
                .transpose()?,
        })
    }

    /// The empty assignment, `Directive=`, for directives systemd accepts
    /// it for (lists and `SystemCallErrorNumber=`; see
    /// [`crate::Kind::accepts_empty`]).
    pub fn reset(directive: Directive) -> Result<Self> {
        if !directive.spec().kind.accepts_empty() {
            return Err(Error::value(
                directive.name(),
                "",
                "systemd refuses an empty assignment for this directive; set a value instead",
            ));
        }
        Ok(Assignment {
            directive,
            value: None,
        })
    }
}

/// A line of a layer: an assignment with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The assignment.
    pub assignment: Assignment,
    /// Why it is there.
    pub provenance: Provenance,
}

/// What a layer does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Set(Line),
    /// Drop a directive composed so far, with a reason.
    Remove {
        directive: Directive,
        provenance: Provenance,
    },
    /// Record that a directive was considered and left out.
    Exclude {
        directive: Directive,
        provenance: Provenance,
    },
}

/// A named set of assignments, like one drop-in file of a test plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    name: Arc<str>,
    steps: Vec<Step>,
    amendments: Vec<Amendment>,
}

/// A recorded change to a layer: what it said, what it says now, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Amendment {
    /// The directive amended.
    pub directive: Directive,
    /// The lines it had, rendered.
    pub from: Vec<String>,
    /// The lines it has now, rendered.
    pub to: Vec<String>,
    /// Why.
    pub provenance: Provenance,
}

impl Layer {
    /// An empty layer.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Layer {
            name: name.into(),
            steps: Vec::new(),
            amendments: Vec::new(),
        }
    }

    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds an assignment parsed from text, with its provenance.
    pub fn set(
        mut self,
        directive: Directive,
        text: &str,
        provenance: &Provenance,
    ) -> Result<Self> {
        self.push(Assignment::parse(directive, text)?, provenance.clone());
        Ok(self)
    }

    /// Adds an assignment.
    pub fn push(&mut self, assignment: Assignment, provenance: Provenance) {
        self.steps.push(Step::Set(Line {
            assignment,
            provenance,
        }));
    }

    /// Removes a directive composed by earlier layers; the reason is kept
    /// and rendered where the directive would have been.
    pub fn remove(&mut self, directive: Directive, provenance: Provenance) {
        self.steps.push(Step::Remove {
            directive,
            provenance,
        });
    }

    /// Records that a directive was considered and deliberately left out.
    pub fn exclude(mut self, directive: Directive, provenance: Provenance) -> Self {
        self.steps.push(Step::Exclude {
            directive,
            provenance,
        });
        self
    }

    /// Replaces this layer's lines for `directive` by `texts` (each parsed),
    /// recording the amendment. The new lines stand where the first old one
    /// stood. Fails if the layer does not set the directive.
    pub fn amend(
        mut self,
        directive: Directive,
        texts: &[&str],
        provenance: &Provenance,
    ) -> Result<Self> {
        let is_target = |s: &Step| matches!(s, Step::Set(l) if l.assignment.directive == directive);
        let Some(at) = self.steps.iter().position(is_target) else {
            return Err(Error::value(
                directive.name(),
                "",
                format!(
                    "layer {:?} does not set it, so it cannot be amended",
                    self.name
                ),
            ));
        };
        let from = self
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Set(l) if l.assignment.directive == directive => {
                    Some(crate::render::assignment_line(&l.assignment))
                }
                _ => None,
            })
            .collect();
        self.steps.retain(|s| !is_target(s));
        let new = texts
            .iter()
            .map(|t| {
                Ok(Step::Set(Line {
                    assignment: Assignment::parse(directive, t)?,
                    provenance: provenance.clone(),
                }))
            })
            .collect::<Result<Vec<_>>>()?;
        let to = new
            .iter()
            .filter_map(|s| match s {
                Step::Set(l) => Some(crate::render::assignment_line(&l.assignment)),
                _ => None,
            })
            .collect();
        self.steps.splice(at..at, new);
        self.amendments.push(Amendment {
            directive,
            from,
            to,
            provenance: provenance.clone(),
        });
        Ok(self)
    }

    /// The amendments made to this layer.
    pub fn amendments(&self) -> &[Amendment] {
        &self.amendments
    }
}

/// The composed value of one directive, as it will be rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    /// A single-valued directive: its last assignment (`None`: the reset).
    Single(Line),
    /// A list directive: whether it starts with a reset, and its lines.
    List {
        /// The directive.
        directive: Directive,
        /// The provenance of the reset that opens the list, if any.
        reset: Option<Provenance>,
        /// The non-empty lines, in order.
        lines: Vec<Line>,
    },
}

impl Setting {
    /// The assignments this setting renders to, in order.
    pub fn assignments(&self) -> Vec<(Assignment, &Provenance)> {
        match self {
            Setting::Single(l) => vec![(l.assignment.clone(), &l.provenance)],
            Setting::List {
                directive,
                reset,
                lines,
            } => {
                let mut out = Vec::new();
                if let Some(p) = reset {
                    // Only list directives compose to a List setting, and
                    // every list directive accepts the empty assignment.
                    let reset = Assignment {
                        directive: *directive,
                        value: None,
                    };
                    out.push((reset, p));
                }
                out.extend(lines.iter().map(|l| (l.assignment.clone(), &l.provenance)));
                out
            }
        }
    }
}

/// What a layer did to a directive, in a composition trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// First set.
    Set,
    /// Another item added to a list.
    Add,
    /// A list emptied by an empty assignment.
    Reset,
    /// A single value replaced.
    Override,
    /// A layer's lines replaced by an amendment.
    Amend,
    /// Dropped, with a reason.
    Remove,
    /// Considered and left out, with a reason.
    Exclude,
    /// Emptied by the reset of a directive sharing its storage.
    Clear,
}

impl Action {
    /// The action as traces print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Set => "set",
            Action::Add => "add",
            Action::Reset => "reset",
            Action::Override => "override",
            Action::Amend => "amend",
            Action::Remove => "remove",
            Action::Exclude => "exclude",
            Action::Clear => "clear",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a directive is not in a composition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteAction {
    /// Never set: considered and left out.
    Excluded,
    /// Set by a layer, then dropped.
    Removed,
}

impl NoteAction {
    /// `excluded` or `removed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NoteAction::Excluded => "excluded",
            NoteAction::Removed => "removed",
        }
    }
}

impl std::fmt::Display for NoteAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A note rendered where a directive would have been.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The directive.
    pub directive: Directive,
    /// Left out, or dropped.
    pub action: NoteAction,
    /// Who decided, and why.
    pub provenance: Provenance,
}

/// One thing a layer did to the composition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// The layer.
    pub layer: Arc<str>,
    /// The directive.
    pub directive: Directive,
    /// What happened.
    pub action: Action,
    /// The line(s) concerned, rendered.
    pub detail: String,
    /// The provenance given.
    pub provenance: Provenance,
    /// The lines this step discarded (replaced, reset, cleared or
    /// removed), rendered, each with the provenance it had.
    pub replaced: Vec<(String, Provenance)>,
}

/// Layers composed: per directive, exactly what systemd would end up with
/// from these assignments in this order, on top of whatever came before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Composed {
    // Shared, not copied, between a template's composition and its
    // instances' (only the settings that use `%i` differ).
    settings: BTreeMap<Directive, Arc<Setting>>,
    notes: Arc<Vec<Note>>,
    trace: Arc<Vec<TraceEvent>>,
}

impl Composed {
    /// Composes `layers` in order.
    pub fn compose(layers: &[Layer]) -> Composed {
        let mut c = Composed {
            settings: BTreeMap::new(),
            notes: Arc::new(Vec::new()),
            trace: Arc::new(Vec::new()),
        };
        for layer in layers {
            for a in &layer.amendments {
                c.event(
                    layer,
                    a.directive,
                    Action::Amend,
                    format!("{} -> {}", a.from.join(" | "), a.to.join(" | ")),
                    &a.provenance,
                );
            }
            for step in &layer.steps {
                c.apply(layer, step);
            }
        }
        c
    }

    fn event(
        &mut self,
        layer: &Layer,
        directive: Directive,
        action: Action,
        detail: String,
        p: &Provenance,
    ) {
        Arc::make_mut(&mut self.trace).push(TraceEvent {
            layer: layer.name.clone(),
            directive,
            action,
            detail,
            provenance: p.clone(),
            replaced: Vec::new(),
        });
    }

    /// Records on the last event what `before` (the setting of
    /// `directive` before the step) had that `directive` no longer has.
    fn note_replaced(&mut self, directive: Directive, before: Option<Arc<Setting>>) {
        let Some(before) = before else { return };
        let after = self.settings.get(&directive).cloned();
        if after.as_ref().is_some_and(|a| Arc::ptr_eq(a, &before)) {
            return;
        }
        let after: Vec<(Assignment, &Provenance)> = after
            .as_deref()
            .map(Setting::assignments)
            .unwrap_or_default();
        // A line is gone unless the setting still has it; equal assignments
        // render equally, so the rendering is compared only where they differ.
        let mut after_text: Option<Vec<String>> = None;
        let mut gone = Vec::new();
        for (a, p) in before.assignments() {
            if after.iter().any(|(b, q)| *b == a && **q == *p) {
                continue;
            }
            let text = crate::render::assignment_line(&a);
            let rendered = after_text.get_or_insert_with(|| {
                after
                    .iter()
                    .map(|(b, _)| crate::render::assignment_line(b))
                    .collect()
            });
            let kept = after
                .iter()
                .zip(rendered.iter())
                .any(|((_, q), t)| **q == *p && *t == text);
            if !kept {
                gone.push((text, p.clone()));
            }
        }
        if let Some(e) = Arc::make_mut(&mut self.trace).last_mut() {
            e.replaced = gone;
        }
    }

    fn apply(&mut self, layer: &Layer, step: &Step) {
        match step {
            Step::Set(line) => {
                let d = line.assignment.directive;
                let text = crate::render::assignment_line(&line.assignment);
                // A value added to a list replaces nothing (every line
                // before it stays): only a single value and a reset can.
                let appends = line.assignment.value.is_some() && d.spec().merge() != Merge::Single;
                let before: Vec<(Directive, Option<Arc<Setting>>)> = if appends {
                    Vec::new()
                } else {
                    d.sharing_storage()
                        .iter()
                        .map(|o| (*o, self.settings.get(o).cloned()))
                        .collect()
                };
                let (action, cleared) = self.set(line);
                let was = |x: Directive| {
                    before
                        .iter()
                        .find(|(o, _)| *o == x)
                        .and_then(|(_, s)| s.clone())
                };
                self.event(layer, d, action, text, &line.provenance);
                if !appends {
                    self.note_replaced(d, was(d));
                }
                for c in cleared {
                    self.event(
                        layer,
                        c,
                        Action::Clear,
                        format!("{}= shares its storage with {}=", d.name(), c.name()),
                        &line.provenance,
                    );
                    self.note_replaced(c, was(c));
                }
            }
            Step::Remove {
                directive,
                provenance,
            } => {
                let was = self.settings.remove(directive);
                let notes = Arc::make_mut(&mut self.notes);
                notes.retain(|n| n.directive != *directive);
                notes.push(Note {
                    directive: *directive,
                    action: NoteAction::Removed,
                    provenance: provenance.clone(),
                });
                let detail = was.as_ref().map_or_else(String::new, |s| {
                    s.assignments()
                        .iter()
                        .map(|(a, _)| crate::render::assignment_line(a))
                        .collect::<Vec<_>>()
                        .join(" | ")
                });
                self.event(layer, *directive, Action::Remove, detail, provenance);
                self.note_replaced(*directive, was);
            }
            Step::Exclude {
                directive,
                provenance,
            } => {
                Arc::make_mut(&mut self.notes).push(Note {
                    directive: *directive,
                    action: NoteAction::Excluded,
                    provenance: provenance.clone(),
                });
                self.event(
                    layer,
                    *directive,
                    Action::Exclude,
                    String::new(),
                    provenance,
                );
            }
        }
    }

    /// Applies one line; returns what it did and the other directives an
    /// empty assignment cleared because they share its storage.
    fn set(&mut self, line: &Line) -> (Action, Vec<Directive>) {
        let d = line.assignment.directive;
        Arc::make_mut(&mut self.notes).retain(|n| n.directive != d);
        if d.spec().merge() == Merge::Single {
            let action = if self.settings.contains_key(&d) {
                Action::Override
            } else {
                Action::Set
            };
            self.settings
                .insert(d, Arc::new(Setting::Single(line.clone())));
            return (action, Vec::new());
        }
        match &line.assignment.value {
            None => {
                // An empty assignment empties the storage, which directives
                // may share (BindPaths= and BindReadOnlyPaths=): every
                // sharing directive's lines go, and the reset is kept on the
                // one rendered first, so that it also comes first in the file.
                let sharing = d.sharing_storage();
                let cleared: Vec<Directive> = sharing
                    .iter()
                    .copied()
                    .filter(|o| {
                        *o != d
                            && matches!(self.settings.get(o).map(|s| &**s), Some(Setting::List { lines, .. }) if !lines.is_empty())
                    })
                    .collect();
                for o in sharing {
                    self.settings.remove(o);
                }
                let first = sharing.first().copied().unwrap_or(d);
                self.settings.insert(
                    first,
                    Arc::new(Setting::List {
                        directive: first,
                        reset: Some(line.provenance.clone()),
                        lines: Vec::new(),
                    }),
                );
                (Action::Reset, cleared)
            }
            Some(_) => {
                let entry = self.settings.entry(d).or_insert_with(|| {
                    Arc::new(Setting::List {
                        directive: d,
                        reset: None,
                        lines: Vec::new(),
                    })
                });
                let action = match Arc::make_mut(entry) {
                    Setting::List { lines, .. } => {
                        let action = if lines.is_empty() {
                            Action::Set
                        } else {
                            Action::Add
                        };
                        lines.push(line.clone());
                        action
                    }
                    Setting::Single(_) => Action::Set,
                };
                (action, Vec::new())
            }
        }
    }

    /// The composed settings in render order.
    pub fn settings(&self) -> impl Iterator<Item = (Directive, &Setting)> {
        self.settings.iter().map(|(d, s)| (*d, &**s))
    }

    /// The composed setting of one directive.
    pub fn get(&self, directive: Directive) -> Option<&Setting> {
        self.settings.get(&directive).map(|s| &**s)
    }

    /// Notes on directives left out, in the order they were made.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// What each layer did, in order.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// Every assignment in render order, with provenance.
    pub fn assignments(&self) -> Vec<(Assignment, &Provenance)> {
        self.settings
            .values()
            .flat_map(|s| s.assignments())
            .collect()
    }

    /// Whether any value uses `%i`/`%I`.
    pub fn uses_instance(&self) -> bool {
        self.assignments()
            .iter()
            .any(|(a, _)| a.value.as_ref().is_some_and(Value::uses_instance))
    }

    /// The composition for one instance: `%i` and `%I` resolved everywhere.
    pub fn for_instance(&self, instance: &Instance) -> Result<Composed> {
        let resolve = |l: &Line| -> Result<Line> {
            Ok(Line {
                assignment: l.assignment.resolve_instance(instance)?,
                provenance: l.provenance.clone(),
            })
        };
        let uses = |l: &Line| {
            l.assignment
                .value
                .as_ref()
                .is_some_and(Value::uses_instance)
        };
        // In the template's order: the map is built in bulk, not by insertion.
        let settings = self
            .settings
            .iter()
            .map(|(d, s)| {
                let resolved = match &**s {
                    // Nothing to resolve: the template's setting, shared.
                    Setting::Single(l) if !uses(l) => Arc::clone(s),
                    Setting::List { lines, .. } if !lines.iter().any(uses) => Arc::clone(s),
                    Setting::Single(l) => Arc::new(Setting::Single(resolve(l)?)),
                    Setting::List {
                        directive,
                        reset,
                        lines,
                    } => Arc::new(Setting::List {
                        directive: *directive,
                        reset: reset.clone(),
                        lines: lines.iter().map(resolve).collect::<Result<_>>()?,
                    }),
                };
                Ok((*d, resolved))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(Composed {
            settings,
            notes: Arc::clone(&self.notes),
            trace: Arc::clone(&self.trace),
        })
    }

    /// Every directive or value of the composition that systemd `target`
    /// does not know (collected, not just the first).
    pub fn too_new(&self, target: u32) -> Vec<crate::directive::TooNew> {
        self.settings
            .iter()
            .flat_map(|(d, s)| {
                let values: Vec<Value> = s
                    .assignments()
                    .into_iter()
                    .filter_map(|(a, _)| a.value)
                    .collect();
                crate::directive::too_new(*d, &values, target)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(o: &str) -> Provenance {
        Provenance::new(o, "why")
    }

    #[test]
    fn lists_accumulate_and_reset() {
        let a = Layer::new("a")
            .set(Directive::ReadOnlyPaths, "/a", &p("a"))
            .unwrap();
        let b = Layer::new("b")
            .set(Directive::ReadOnlyPaths, "", &p("b"))
            .unwrap()
            .set(Directive::ReadOnlyPaths, "/b", &p("b"))
            .unwrap();
        let c = Composed::compose(&[a.clone(), b]);
        let lines: Vec<String> = c
            .assignments()
            .iter()
            .map(|(a, _)| crate::render::assignment_line(a))
            .collect();
        assert_eq!(lines, ["ReadOnlyPaths=", "ReadOnlyPaths=/b"]);
        let c = Composed::compose(&[a.clone(), a]);
        assert_eq!(c.assignments().len(), 2);
    }

    #[test]
    fn resets_only_where_systemd_accepts_them() {
        assert!(Assignment::parse(Directive::NoNewPrivileges, "").is_err());
        assert!(Assignment::parse(Directive::UMask, "").is_err());
        assert!(Assignment::parse(Directive::BindPaths, "").is_ok());
        assert!(Assignment::parse(Directive::CapabilityBoundingSet, "").is_ok());
        assert!(Assignment::parse(Directive::SystemCallErrorNumber, "").is_ok());
    }

    #[test]
    fn singles_take_the_last_value() {
        let a = Layer::new("a")
            .set(Directive::UMask, "0022", &p("a"))
            .unwrap();
        let b = Layer::new("b")
            .set(Directive::UMask, "0027", &p("b"))
            .unwrap();
        let c = Composed::compose(&[a, b]);
        assert_eq!(c.assignments().len(), 1);
        assert_eq!(c.trace()[1].action, Action::Override);
    }

    #[test]
    fn amend_replaces_in_place_and_records() {
        let l = Layer::new("t4")
            .set(Directive::SystemCallArchitectures, "native", &p("t4"))
            .unwrap()
            .set(Directive::SystemCallFilter, "@system-service", &p("t4"))
            .unwrap()
            .amend(
                Directive::SystemCallArchitectures,
                &["native x86"],
                &p("t3"),
            )
            .unwrap();
        assert_eq!(l.amendments()[0].from, ["SystemCallArchitectures=native"]);
        let c = Composed::compose(&[l]);
        assert_eq!(c.trace()[0].action, Action::Amend);
        assert!(
            Layer::new("x")
                .amend(Directive::UMask, &["0027"], &p("x"))
                .is_err()
        );
    }

    #[test]
    fn version_gate_names_every_directive() {
        let l = Layer::new("a")
            .set(Directive::PrivatePids, "true", &p("a"))
            .unwrap()
            .set(Directive::ProtectProc, "invisible", &p("a"))
            .unwrap()
            .set(Directive::PrivateUsers, "identity", &p("a"))
            .unwrap();
        let c = Composed::compose(&[l]);
        assert!(c.too_new(257).is_empty());
        let text: Vec<String> = c.too_new(246).iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert_eq!(text[0], "PrivateUsers=identity (systemd 257)");
    }
}
