//! The typed merge rules against systemd 257: each directive's [`Merge`]
//! and shared storage, as the registry records them, and the composition
//! that applies them ([`Composed::compose`] and the renderer), compared
//! with what `systemd --test` loads from the same assignments written one
//! after another.
//!
//! Two parts. The rule facts: for each directive, two values in a row
//! against the second alone (the last wins for [`Merge::Single`], the
//! values accumulate otherwise), an empty assignment between them (a
//! reset: the second alone), and for directives sharing storage
//! (`BindPaths=` and `BindReadOnlyPaths=`, `ReadOnlyPaths=` and
//! `ReadWritePaths=`, …) the empty assignment of the other directive
//! between them (it clears both). The composition: seeded random
//! sequences of assignments and resets over each storage's directives,
//! one layer per assignment, composed and rendered, against the raw
//! sequence. Negative controls: the flipped rule of every directive is
//! refuted, the unshared storage of every sharing pair is refuted, and
//! compositions by deliberately wrong rules (lists as last-wins, single
//! values as first-wins, an empty assignment that clears one directive
//! only, or nothing) are caught.

use std::collections::BTreeMap;

use dropin::load::{self, LoadOptions};
use dropin::{Composed, Directive, Layer, Merge, Provenance, RenderOptions};
use systemd_oracle::{Dump, Oracle};

use super::{Rng, expected, shown, stage};

/// One step of a sequence: a directive and its value (`""` the reset).
pub(crate) type Step = (Directive, String);

/// The directives compared here: every one the test mode dump shows.
fn compared() -> Vec<Directive> {
    let e = load::load(&load::MemFs::new(), "none.service", &LoadOptions::default()).effective;
    Directive::ALL
        .iter()
        .copied()
        .filter(|d| d.spec().section == "Service" && expected(*d, &e).is_some())
        .collect()
}

/// The directives sharing `d`'s storage, `d` first.
fn sharing(d: Directive) -> Vec<Directive> {
    let mut out = vec![d];
    out.extend(
        Directive::ALL
            .iter()
            .copied()
            .filter(|o| *o != d && o.storage() == d.storage()),
    );
    out
}

/// The values of `d`'s samples the model accepts for it, each once.
fn values(d: Directive) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in d.spec().kind.samples() {
        if !s.is_empty() && dropin::Assignment::parse(d, s).is_ok() && !out.iter().any(|o| o == s) {
            out.push((*s).to_owned());
        }
    }
    out
}

/// The drop-in that writes `steps` one line each.
pub(crate) fn raw(steps: &[Step]) -> String {
    let mut out = "[Service]\n".to_owned();
    for (d, v) in steps {
        out.push_str(&format!("{}={v}\n", d.name()));
    }
    out
}

/// The drop-in the library composes from `steps`, one layer per step.
pub(crate) fn composed(steps: &[Step]) -> String {
    let p = Provenance::new("merge test", "one step");
    let layers: Vec<Layer> = steps
        .iter()
        .enumerate()
        .map(|(i, (d, v))| Layer::new(format!("step {i}")).set(*d, v, &p).unwrap())
        .collect();
    dropin::render::dropin(
        &[],
        &Composed::compose(&layers),
        RenderOptions { comments: false },
    )
}

/// A deliberately wrong merge rule, for the negative controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Wrong {
    /// Lists keep only their last line.
    ListLastWins,
    /// Single values keep their first line.
    SingleFirstWins,
    /// An empty assignment clears its own directive only.
    Unshared,
    /// An empty assignment clears nothing.
    NoReset,
}

impl Wrong {
    pub(crate) const ALL: [Wrong; 4] = [
        Wrong::ListLastWins,
        Wrong::SingleFirstWins,
        Wrong::Unshared,
        Wrong::NoReset,
    ];

    /// The drop-in composed from `steps` by this wrong rule: the lines of
    /// each directive in registry order, an empty assignment first where
    /// the rule keeps one.
    pub(crate) fn compose(self, steps: &[Step]) -> String {
        // Per directive: whether its lines start with a reset, and its values.
        let mut lines: BTreeMap<usize, (Directive, bool, Vec<String>)> = BTreeMap::new();
        let at = |d: Directive| Directive::ALL.iter().position(|o| *o == d).unwrap();
        for (d, v) in steps {
            let single = d.spec().merge() == Merge::Single;
            let entry = lines.entry(at(*d)).or_insert((*d, false, Vec::new()));
            match (single, v.is_empty()) {
                (true, _) if self == Wrong::SingleFirstWins => {
                    if entry.2.is_empty() && !entry.1 {
                        if v.is_empty() {
                            entry.1 = true;
                        } else {
                            entry.2.push(v.clone());
                        }
                    }
                }
                (true, true) => *entry = (*d, true, Vec::new()),
                (true, false) => *entry = (*d, false, vec![v.clone()]),
                (false, true) => match self {
                    Wrong::NoReset => {}
                    Wrong::Unshared => *entry = (*d, true, Vec::new()),
                    _ => {
                        // The right reset: every sharing directive's lines
                        // go, the reset kept on the first in order.
                        let all = sharing(*d);
                        for o in &all {
                            lines.remove(&at(*o));
                        }
                        let first = all.iter().copied().min_by_key(|o| at(*o)).unwrap();
                        lines.insert(at(first), (first, true, Vec::new()));
                    }
                },
                (false, false) if self == Wrong::ListLastWins => {
                    entry.2 = vec![v.clone()];
                }
                (false, false) => entry.2.push(v.clone()),
            }
        }
        let mut out = "[Service]\n".to_owned();
        for (d, reset, values) in lines.values() {
            if *reset {
                out.push_str(&format!("{}=\n", d.name()));
            }
            for v in values {
                out.push_str(&format!("{}={v}\n", d.name()));
            }
        }
        out
    }
}

/// Units to ask systemd about, each a drop-in over a plain fragment.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) files: Vec<super::minimise::File>,
    pub(crate) units: Vec<String>,
}

impl Batch {
    /// Adds unit `name` whose drop-in is `text`; returns its name.
    pub(crate) fn unit(&mut self, name: String, text: &str) -> String {
        let base = "/etc/systemd/system";
        self.files.push((
            format!("{base}/{name}"),
            super::Node::File(b"[Service]\nExecStart=/bin/true\n".to_vec()),
        ));
        self.files.push((
            format!("{base}/{name}.d/10-merge.conf"),
            super::Node::File(text.as_bytes().to_vec()),
        ));
        self.units.push(name.clone());
        name
    }

    /// Asks systemd 257 about every unit at once.
    fn dump(&self) -> (Dump, dropin::MemFs) {
        let (tree, fs) = stage(&self.files);
        let names: Vec<&str> = self.units.iter().map(String::as_str).collect();
        (Oracle::get().unwrap().dump(&tree, &names).unwrap(), fs)
    }
}

/// What systemd shows of `members` for `unit`.
fn seen(dump: &Dump, unit: &str, members: &[Directive]) -> Vec<Vec<String>> {
    let u = dump
        .unit(unit)
        .unwrap_or_else(|| panic!("systemd did not load {unit}"));
    members.iter().map(|d| shown(*d, u)).collect()
}

/// What the model reads of `members` for `unit`, as the dump shows it.
fn modelled(fs: &dropin::MemFs, unit: &str, members: &[Directive]) -> Vec<Vec<String>> {
    let e = load::load(fs, unit, &LoadOptions::default()).effective;
    members.iter().map(|d| expected(*d, &e).unwrap()).collect()
}

#[test]
fn each_merge_rule_and_shared_storage_is_as_systemd_257_reads_them() {
    let mut batch = Batch::default();
    // (directive, the pairs' units and each's "second alone" unit, the
    // reset unit, the other-directive reset unit)
    struct Probe {
        d: Directive,
        pairs: Vec<(String, String)>,
        reset: Option<(String, String)>,
        shared: Vec<(Directive, String, String, String)>,
    }
    let mut probes = Vec::new();
    for (k, d) in compared().into_iter().enumerate() {
        let v = values(d);
        if v.len() < 2 {
            continue;
        }
        let mut probe = Probe {
            d,
            pairs: Vec::new(),
            reset: None,
            shared: Vec::new(),
        };
        // Up to four pairs of distinct values.
        let pairs: Vec<(usize, usize)> = (0..v.len())
            .flat_map(|a| (0..v.len()).filter(move |b| *b != a).map(move |b| (a, b)))
            .take(4)
            .collect();
        for (n, (a, b)) in pairs.iter().enumerate() {
            let both = batch.unit(
                format!("r{k}-p{n}.service"),
                &raw(&[(d, v[*a].clone()), (d, v[*b].clone())]),
            );
            let last = batch.unit(format!("r{k}-l{n}.service"), &raw(&[(d, v[*b].clone())]));
            probe.pairs.push((both, last));
        }
        let (first, second) = (v[0].clone(), v[1].clone());
        if d.spec().kind.accepts_empty() {
            // What an empty assignment itself means (the default, or an
            // empty set as for capabilities) is the kind's; that it
            // discards every line before it is the rule.
            let reset = batch.unit(
                format!("r{k}-reset.service"),
                &raw(&[(d, first.clone()), (d, String::new()), (d, second.clone())]),
            );
            let after = batch.unit(
                format!("r{k}-after.service"),
                &raw(&[(d, String::new()), (d, second.clone())]),
            );
            probe.reset = Some((reset, after.clone()));
            for o in sharing(d).into_iter().skip(1) {
                let u = batch.unit(
                    format!("r{k}-s{}.service", o.name().to_ascii_lowercase()),
                    &raw(&[(d, first.clone()), (o, String::new()), (d, second.clone())]),
                );
                probe
                    .shared
                    .push((o, u, after.clone(), probe.pairs[0].0.clone()));
            }
        }
        probes.push(probe);
    }
    let shared: Vec<String> = probes
        .iter()
        .flat_map(|p| p.shared.iter().map(|(o, ..)| format!("{} and {o}", p.d)))
        .collect();
    let (dump, fs) = batch.dump();
    let mut failures = Vec::new();
    let (mut refuted_flips, mut refuted_unshared, mut shared_pairs) = (0, 0, 0);
    for p in &probes {
        let members = sharing(p.d);
        let same = |a: &str, b: &str| seen(&dump, a, &members) == seen(&dump, b, &members);
        // systemd's own verdict: does the last of two values win?
        let last_wins: Vec<bool> = p
            .pairs
            .iter()
            .map(|(both, last)| same(both, last))
            .collect();
        let single = p.d.spec().merge() == Merge::Single;
        // The registry's rule must predict every pair; the flipped rule
        // (the negative control) must fail on at least one.
        let holds = |single: bool| {
            if single {
                last_wins.iter().all(|w| *w)
            } else {
                last_wins.iter().any(|w| !*w)
            }
        };
        if !holds(single) {
            failures.push(format!(
                "{}: the registry says {:?}, but systemd's last-wins per pair is {last_wins:?}",
                p.d,
                p.d.spec().merge()
            ));
        }
        if holds(!single) {
            failures.push(format!(
                "{}: the flipped rule is not refuted (last-wins per pair {last_wins:?})",
                p.d
            ));
        } else {
            refuted_flips += 1;
        }
        if let Some((reset, last)) = &p.reset
            && !same(reset, last)
        {
            failures.push(format!(
                "{}: an empty assignment between two values does not discard the first",
                p.d
            ));
        }
        for (o, u, last, both) in &p.shared {
            shared_pairs += 1;
            // Shared storage: the other directive's reset clears this
            // one as its own does.
            if !same(u, last) {
                failures.push(format!(
                    "{}: {o}= between two values does not clear it, though the registry says \
                     they share storage {}",
                    p.d,
                    p.d.storage()
                ));
            }
            if same(u, both) {
                failures.push(format!("{} and {o}: unshared storage is not refuted", p.d));
            } else {
                refuted_unshared += 1;
            }
        }
        // The model reads every probe unit as systemd does.
        for (a, b) in p.pairs.iter().chain(&p.reset) {
            for u in [a, b] {
                let want = modelled(&fs, u, &members);
                let got = seen(&dump, u, &members);
                if want != got {
                    failures.push(format!("{u} ({}): ours {want:?}, systemd's {got:?}", p.d));
                }
            }
        }
    }
    eprintln!(
        "merge rules: {} directives, {} units; flipped rule refuted for {refuted_flips}, unshared \
         storage refuted for {refuted_unshared} of {shared_pairs} sharing pairs, {} failures",
        probes.len(),
        batch.units.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(refuted_flips, probes.len());
    // BindPaths= and BindReadOnlyPaths=, each way (the one storage that
    // directives the dump shows share).
    assert!(
        shared_pairs >= 2,
        "only {shared_pairs} sharing pairs probed: {shared:?}"
    );
    assert!(
        probes.len() >= 20,
        "only {} directives probed",
        probes.len()
    );
}

/// The steps a sequence over `members` draws from: each one's values,
/// and its reset where systemd takes one.
pub(crate) fn choices(members: &[Directive]) -> Vec<Step> {
    members
        .iter()
        .flat_map(|m| {
            let mut c: Vec<Step> = values(*m).into_iter().map(|v| (*m, v)).collect();
            if m.spec().kind.accepts_empty() {
                c.push((*m, String::new()));
            }
            c
        })
        .collect()
}

/// Sequences per storage in the composition test.
const SEQUENCES: usize = 6;

#[test]
fn compositions_by_the_merge_rules_read_as_the_assignments_they_compose() {
    let seed = super::run_seed();
    // "merge", so that the compositions draw apart from the corpus.
    let mut rng = Rng(seed ^ 0x006d_6572_6765);
    let mut batch = Batch::default();
    // (storage members, steps, raw unit, composed unit, wrong units)
    let mut cases = Vec::new();
    let mut storages: Vec<&str> = Vec::new();
    let directives = compared();
    for d in &directives {
        if storages.contains(&d.storage()) {
            continue;
        }
        storages.push(d.storage());
        let members: Vec<Directive> = sharing(*d)
            .into_iter()
            .filter(|m| directives.contains(m))
            .collect();
        let choices = choices(&members);
        if choices.is_empty() {
            continue;
        }
        // More sequences where directives share storage: a reset of one
        // clearing the other needs both in one sequence.
        let count = if members.len() > 1 {
            4 * SEQUENCES
        } else {
            SEQUENCES
        };
        for _ in 0..count {
            let len = 1 + rng.below(6);
            let steps: Vec<Step> = (0..len).map(|_| rng.pick(&choices).clone()).collect();
            let k = cases.len();
            let raw_unit = batch.unit(format!("m{k}-raw.service"), &raw(&steps));
            let text = composed(&steps);
            let composed_unit = batch.unit(format!("m{k}-composed.service"), &text);
            let mut wrong = Vec::new();
            for w in Wrong::ALL {
                let t = w.compose(&steps);
                if t != text {
                    wrong.push((w, batch.unit(format!("m{k}-w{}.service", w as u8), &t)));
                }
            }
            cases.push((members.clone(), steps, raw_unit, composed_unit, text, wrong));
        }
    }
    let (dump, fs) = batch.dump();
    let mut failures = Vec::new();
    let mut caught: BTreeMap<Wrong, usize> = BTreeMap::new();
    for (members, steps, raw_unit, composed_unit, text, wrong) in &cases {
        let theirs = seen(&dump, raw_unit, members);
        let from_composed = seen(&dump, composed_unit, members);
        let ours = modelled(&fs, raw_unit, members);
        if from_composed != theirs || ours != theirs {
            failures.push(format!(
                "{steps:?}\n  systemd reads the assignments as {theirs:?}\n  the composition as \
                 {from_composed:?}\n  the model reads the assignments as {ours:?}\n--- \
                 composed:\n{text}"
            ));
        }
        for (w, u) in wrong {
            if seen(&dump, u, members) != theirs {
                *caught.entry(*w).or_default() += 1;
            }
        }
    }
    eprintln!(
        "compositions: {} sequences over {} storages, {} units, {} disagreements, seed \
         {seed:#x}; wrong rules caught: {caught:?}",
        cases.len(),
        storages.len(),
        batch.units.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} compositions read otherwise than their assignments (seed {seed:#x}):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    for w in Wrong::ALL {
        assert!(
            caught.get(&w).copied().unwrap_or(0) > 0,
            "negative control: a composition by the wrong rule {w:?} was never caught"
        );
    }
}
