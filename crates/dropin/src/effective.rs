//! Effective settings: what systemd ends up with after reading a sequence
//! of assignments, normalised so that two spellings of the same thing
//! compare equal (`yes`/`true`/`1`, one line or two, order where systemd
//! ignores it).

use std::collections::BTreeMap;
use std::fmt;

use crate::compose::{Assignment, Composed};
use crate::directive::Merge;
use crate::parse::{Key, Read};
use crate::value::Value;

/// The effective value of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EffectiveValue {
    /// A single-valued directive: its value, or `None` after a reset.
    Single(Option<Value>),
    /// A list: whether it starts with a reset (discarding whatever came
    /// before, such as the base unit's entries) and its items.
    List {
        /// Starts with a reset.
        reset: bool,
        /// Items (paths, binds) or lines (filters), normalised.
        items: Vec<Value>,
    },
    /// A key the model does not know: its raw values after the last reset.
    Raw {
        /// Starts with a reset.
        reset: bool,
        /// The values, in order.
        values: Vec<String>,
    },
}

/// How systemd's `show` spells a boolean; used in summaries.
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Bool(b) => yes_no(*b).to_owned(),
        Value::ProtectSystem(k) => k.as_bool().map_or(k.as_str(), yes_no).to_owned(),
        Value::ProtectHome(k) => k.as_bool().map_or(k.as_str(), yes_no).to_owned(),
        Value::PrivateUsers(k) => k.as_bool().map_or(k.as_str(), yes_no).to_owned(),
        Value::ProtectControlGroups(k) => k.as_bool().map_or(k.as_str(), yes_no).to_owned(),
        Value::Namespaces(crate::namespace::RestrictNamespaces::All(b)) => yes_no(*b).to_owned(),
        other => other.to_string(),
    }
}

impl fmt::Display for EffectiveValue {
    /// The value as a summary shows it: booleans as `yes`/`no`, list items
    /// space-separated, a leading reset as `""`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (reset, parts): (bool, Vec<String>) = match self {
            EffectiveValue::Single(None) => return Ok(()),
            EffectiveValue::Single(Some(v)) => return f.write_str(&canonical(v)),
            EffectiveValue::List { reset, items } => {
                (*reset, items.iter().map(canonical).collect())
            }
            EffectiveValue::Raw { reset, values } => (*reset, values.clone()),
        };
        if reset {
            f.write_str("\"\"")?;
            if !parts.is_empty() {
                f.write_str(" ")?;
            }
        }
        f.write_str(&parts.join(" "))
    }
}

/// The effective settings of a sequence of assignments, keyed in registry
/// order, then other keys by name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Effective(BTreeMap<Key, EffectiveValue>);

impl Effective {
    /// Applies assignments in order, as systemd does across a unit and its
    /// drop-ins read in order.
    pub fn from_reads<'a>(reads: impl IntoIterator<Item = &'a Read>) -> Effective {
        let mut e = Effective::default();
        for r in reads {
            e.apply(r);
        }
        e.normalise();
        e
    }

    /// The effective settings of a composition.
    pub fn of(composed: &Composed) -> Effective {
        let reads: Vec<Read> = composed
            .assignments()
            .into_iter()
            .map(|(a, _)| Read::Typed(a))
            .collect();
        Effective::from_reads(&reads)
    }

    /// Applies one assignment.
    pub fn apply(&mut self, read: &Read) {
        match read {
            Read::Typed(a) => self.apply_typed(a),
            Read::Other(k, v) => {
                let slot = self
                    .0
                    .entry(Key::Other(k.clone()))
                    .or_insert(EffectiveValue::Raw {
                        reset: false,
                        values: Vec::new(),
                    });
                if let EffectiveValue::Raw { reset, values } = slot {
                    if v.is_empty() {
                        *reset = true;
                        values.clear();
                    } else {
                        values.push(v.clone());
                    }
                }
            }
        }
    }

    fn apply_typed(&mut self, a: &Assignment) {
        let key = Key::Known(a.directive);
        if a.directive.spec().merge == Merge::Single {
            self.0.insert(key, EffectiveValue::Single(a.value.clone()));
            return;
        }
        let slot = self.0.entry(key).or_insert(EffectiveValue::List {
            reset: false,
            items: Vec::new(),
        });
        if let EffectiveValue::List { reset, items } = slot {
            match &a.value {
                None => {
                    *reset = true;
                    items.clear();
                }
                Some(v) if a.directive.spec().merge == Merge::Lines => items.push(v.clone()),
                Some(v) => items.extend(v.items()),
            }
        }
    }

    fn normalise(&mut self) {
        for (key, value) in &mut self.0 {
            if let (Key::Known(d), EffectiveValue::List { items, .. }) = (key, value)
                && d.spec().merge == Merge::Set
            {
                items.sort_by_key(ToString::to_string);
                items.dedup();
            }
        }
    }

    /// The keys and values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &EffectiveValue)> {
        self.0.iter()
    }

    /// The value of one key.
    pub fn get(&self, key: &Key) -> Option<&EffectiveValue> {
        self.0.get(key)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Effective {
    /// One `Key=value` line per key, as summaries show them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.0 {
            writeln!(f, "{}={v}", k.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directive::Directive;
    use crate::parse::{UnitFile, service_assignments};

    fn eff(text: &str) -> Effective {
        let f = UnitFile::parse("t", text).unwrap();
        Effective::from_reads(&service_assignments(&f).unwrap())
    }

    #[test]
    fn spelling_and_grouping_do_not_matter() {
        let a = eff(
            "[Service]\nPrivatePIDs=yes\nBindReadOnlyPaths=/a /b\nSystemCallArchitectures=x86 native\n",
        );
        let b = eff(
            "[Service]\nPrivatePIDs=1\nBindReadOnlyPaths=/a\nBindReadOnlyPaths=/b\nSystemCallArchitectures=native\nSystemCallArchitectures=x86 native\n",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn order_of_binds_and_resets_matter() {
        assert_ne!(
            eff("[Service]\nBindPaths=/a /b\n"),
            eff("[Service]\nBindPaths=/b /a\n")
        );
        assert_ne!(eff("[Service]\nReadOnlyPaths=\n"), eff("[Service]\n"));
        assert_eq!(
            eff("[Service]\nReadOnlyPaths=/x\nReadOnlyPaths=\nReadOnlyPaths=/y\n"),
            eff("[Service]\nReadOnlyPaths=\nReadOnlyPaths=/y\n")
        );
    }

    #[test]
    fn summaries_use_show_spelling() {
        let e = eff("[Service]\nPrivatePIDs=true\nReadOnlyPaths=\nExecStart=/bin/true\n");
        assert_eq!(
            e.to_string(),
            "PrivatePIDs=yes\nReadOnlyPaths=\"\"\nExecStart=/bin/true\n"
        );
        assert!(e.get(&Key::Known(Directive::PrivatePids)).is_some());
    }
}
