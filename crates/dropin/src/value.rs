//! Typed directive values: strict parsing by directive, and the boolean
//! kind. The [`Value`] enum itself is generated from the kind list in
//! [`crate::kind`].

use crate::directive::{Directive, Merge};
use crate::error::{Error, Result};
use crate::kind::{Apply, ValueKind};
use crate::path::forbidden_char;
use crate::systemd::number::parse_boolean;

pub use crate::kind::Value;

/// The model's own boolean spellings (what it accepts from profiles and
/// host configurations): systemd's `parse_boolean` words, lower case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// How booleans are written in rendered drop-ins (the test plan's spelling).
pub(crate) fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// How systemd's `show` and summaries spell a boolean.
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A boolean directive (`config_parse_bool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Boolean;

impl ValueKind for Boolean {
    type Value = bool;
    type State = Option<bool>;
    const DESCRIBE: &'static str = "a boolean";
    const SAMPLES: &'static [&'static str] = &["true", "false"];
    const ACCEPTS_EMPTY: bool = false;
    const MERGE: Merge = Merge::Single;

    fn parse(directive: Directive, text: &str) -> Result<bool> {
        parse_bool(text).ok_or_else(|| Error::value(directive.name(), text, "expected a boolean"))
    }

    fn apply(state: &mut Option<bool>, cx: &mut Apply<'_>, rvalue: &str) {
        match parse_boolean(rvalue) {
            Some(b) => *state = Some(b),
            None => cx.parse_error(rvalue, "Invalid argument"),
        }
    }

    fn lines(state: &Option<bool>, _directive: Directive) -> Vec<String> {
        vec![yes_no(state.unwrap_or(false)).to_owned()]
    }
}

impl Value {
    /// Reads the text of a non-empty assignment for `directive` strictly:
    /// no line break, control character, quote or backslash, and a value
    /// the directive's kind accepts as meant.
    pub fn parse(directive: Directive, text: &str) -> Result<Value> {
        let name = directive.name();
        if let Some((c, why)) = forbidden_char(text).filter(|(c, _)| !matches!(c, ' ' | '\t')) {
            return Err(Error::value(name, text, format!("contains {why} ({c:?})")));
        }
        if text.trim().is_empty() {
            return Err(Error::value(
                name,
                text,
                "empty; an empty assignment is a reset, not a value",
            ));
        }
        directive.spec().kind.parse(directive, text.trim())
    }

    /// Checks that this value fits `directive`.
    pub fn check_kind(&self, directive: Directive) -> Result<()> {
        let spec = directive.spec();
        if self.kind() == spec.kind {
            Ok(())
        } else {
            Err(Error::KindMismatch {
                directive: spec.name,
                expected: spec.kind.describe(),
                found: self.kind().describe(),
            })
        }
    }

    /// Whether a list value is empty (which the model never renders: an
    /// empty assignment is a reset).
    pub fn is_empty_list(&self) -> bool {
        self.items().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_parses_and_renders_back() {
        for d in Directive::ALL {
            for sample in d.spec().kind.samples() {
                let v = Value::parse(*d, sample).unwrap_or_else(|e| panic!("{d}: {e}"));
                assert_eq!(&v.to_string(), sample, "{d}");
                v.check_kind(*d).unwrap();
            }
        }
    }

    #[test]
    fn booleans_read_every_spelling() {
        for t in ["1", "yes", "y", "true", "t", "on"] {
            assert_eq!(
                Value::parse(Directive::PrivatePids, t).unwrap(),
                Value::Bool(true)
            );
        }
        assert_eq!(
            Value::parse(Directive::ProtectHome, "yes")
                .unwrap()
                .to_string(),
            "true"
        );
        assert!(Value::parse(Directive::PrivatePids, "maybe").is_err());
    }

    #[test]
    fn line_breaks_are_impossible() {
        for d in Directive::ALL {
            for bad in ["true\nBogus=1", "x\r", "\0"] {
                let err = Value::parse(*d, bad).unwrap_err().to_string();
                assert!(err.contains(d.name()), "{err}");
            }
        }
    }

    #[test]
    fn empty_is_not_a_value() {
        assert!(Value::parse(Directive::BindPaths, "").is_err());
        assert!(Value::parse(Directive::BindPaths, "  ").is_err());
    }
}
