//! Writing Rust text: literals, wrapped lists and the common file header.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The width generated lines wrap at (rustfmt's default).
const WIDTH: usize = 100;

/// A Rust string literal for `s`.
pub(crate) fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// `Some("x")` / `None`.
pub(crate) fn opt_lit(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), |s| format!("Some({})", lit(s)))
}

/// Items joined with `, ` and wrapped at [`WIDTH`], each line indented by
/// `indent` spaces and ending with a comma.
pub(crate) fn wrapped(items: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for item in items {
        let piece = format!("{item},");
        if !line.is_empty() && pad.len() + line.len() + 1 + piece.len() > WIDTH {
            let _ = writeln!(out, "{pad}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{pad}{line}");
    }
    out
}

/// A `&[&str]` expression of `items`: inline when it fits after `prefix`,
/// otherwise wrapped on its own lines indented by `indent`.
pub(crate) fn str_slice(items: &[&str], prefix_len: usize, indent: usize) -> String {
    let lits: Vec<String> = items.iter().map(|s| lit(s)).collect();
    slice(&lits, prefix_len, indent)
}

/// A `&[...]` expression of `items` (written as Rust already), laid out
/// as [`str_slice`] lays out strings.
pub(crate) fn slice(lits: &[String], prefix_len: usize, indent: usize) -> String {
    let inline = format!("&[{}]", lits.join(", "));
    if prefix_len + inline.len() + 2 <= WIDTH {
        return inline;
    }
    format!("&[\n{}{}]", wrapped(lits, indent + 4), " ".repeat(indent))
}

/// The texts of one generated module's tables, gathered into one string
/// (`TEXT`) so that a table holds places in it (`Span::new(at, len)`)
/// instead of `&'static str` pointers, which a position-independent
/// executable relocates, page by page, at every start. Equal texts share
/// one place. Lists of texts are spans in `TEXT_LISTS`.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    text: String,
    at: BTreeMap<String, usize>,
    lists: Vec<String>,
}

impl Texts {
    /// `Span::new(at, len)` of `s`, added to the string if it is new.
    pub(crate) fn span(&mut self, s: &str) -> String {
        let at = match self.at.get(s) {
            Some(&at) => at,
            None => {
                let at = self.text.len();
                self.text.push_str(s);
                self.at.insert(s.to_owned(), at);
                at
            }
        };
        format!("Span::new({at}, {})", s.len())
    }

    /// `Some(Span::new(..))` / `None`.
    pub(crate) fn opt_span(&mut self, s: Option<&str>) -> String {
        s.map_or_else(|| "None".to_owned(), |s| format!("Some({})", self.span(s)))
    }

    /// `(start, len)`: where the spans of `items` start in `TEXT_LISTS`.
    pub(crate) fn list<S: AsRef<str>>(&mut self, items: &[S]) -> String {
        let start = self.lists.len();
        for s in items {
            let span = self.span(s.as_ref());
            self.lists.push(span);
        }
        format!("({start}, {})", items.len())
    }

    /// The module's `TEXT` (and `TEXT_LISTS`, if a list was added).
    pub(crate) fn emit(&self) -> String {
        let mut pieces = Vec::new();
        let mut by_place: Vec<(&usize, &String)> = self.at.iter().map(|(s, at)| (at, s)).collect();
        by_place.sort();
        for (_, s) in by_place {
            pieces.push(lit(s));
        }
        let mut out = doc(
            "Every text of this module's tables, one after another; a [`Span`] is a place in \
             it.",
            0,
        );
        let _ = write!(
            out,
            "#[rustfmt::skip]\nconst TEXT: &str = concat!(\n{});\n\n\
             /// The text `span` marks in this module's [`TEXT`].\n\
             pub(crate) fn text(span: Span) -> &'static str {{\n    span.of(TEXT)\n}}\n",
            wrapped(&pieces, 4)
        );
        if !self.lists.is_empty() {
            out.push('\n');
            out.push_str(&doc(
                "The lists of texts of this module's tables: a `(start, len)` is `len` spans from \
                 `start`.",
                0,
            ));
            let _ = write!(
                out,
                "#[rustfmt::skip]\nconst TEXT_LISTS: &[Span] = &[\n{}];\n",
                wrapped(&self.lists, 4)
            );
        }
        out
    }
}

/// One field of a struct [`span_struct`] writes.
pub(crate) struct Field<'a> {
    /// The field's (and its accessor's) name.
    pub(crate) name: &'a str,
    /// What it holds.
    pub(crate) doc: &'a str,
    /// Its kind.
    pub(crate) kind: FieldKind<'a>,
}

/// How a field of a [`span_struct`] is kept and read.
pub(crate) enum FieldKind<'a> {
    /// A text: a `Span`, read as `&'static str`.
    Text,
    /// An optional text: `Option<Span>`, read as `Option<&'static str>`.
    OptText,
    /// A list of texts: `(u16, u16)` in `TEXT_LISTS`, read as an iterator.
    Texts,
    /// A list of texts: `&'static [Span]`, read as an iterator.
    TextSlice,
    /// Any other type, written as Rust, kept and read as is (a public field).
    Plain(&'a str),
}

/// A struct whose texts are [`Texts`] spans, and its accessors: each text
/// field is read through a method of the field's name.
pub(crate) fn span_struct(name: &str, doc_text: &str, fields: &[Field<'_>]) -> String {
    let mut out = doc(doc_text, 0);
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq)]\npub(crate) struct {name} {{"
    );
    let mut methods = String::new();
    for f in fields {
        let (ty, read) = match f.kind {
            FieldKind::Text => ("Span", Some(("&'static str", "self.{}.of(TEXT)".to_owned()))),
            FieldKind::OptText => (
                "Option<Span>",
                Some((
                    "Option<&'static str>",
                    "self.{}.map(|s| s.of(TEXT))".to_owned(),
                )),
            ),
            FieldKind::Texts => (
                "(u16, u16)",
                Some((
                    "impl Iterator<Item = &'static str>",
                    "let (start, len) = self.{0};\n        \
                     TEXT_LISTS\n            .iter()\n            .skip(usize::from(start))\n            \
                     .take(usize::from(len))\n            .map(|s| s.of(TEXT))"
                        .to_owned(),
                )),
            ),
            FieldKind::TextSlice => (
                "&'static [Span]",
                Some((
                    "impl Iterator<Item = &'static str> + use<>",
                    "self.{}.iter().map(|s| s.of(TEXT))".to_owned(),
                )),
            ),
            FieldKind::Plain(ty) => (ty, None),
        };
        match read {
            None => {
                out.push_str(&doc(f.doc, 4));
                let _ = writeln!(out, "    pub(crate) {}: {ty},", f.name);
            }
            Some((returns, body)) => {
                let _ = writeln!(out, "    {}: {ty},", f.name);
                if !methods.is_empty() {
                    methods.push('\n');
                }
                methods.push_str(&doc(f.doc, 4));
                let _ = writeln!(
                    methods,
                    "    pub(crate) fn {}(&self) -> {returns} {{\n        {}\n    }}",
                    f.name,
                    body.replace("{0}", f.name).replace("{}", f.name)
                );
            }
        }
    }
    out.push_str("}\n\n");
    if !methods.is_empty() {
        let _ = write!(out, "impl {name} {{\n{methods}}}\n\n");
    }
    out
}

/// The comment every generated file starts with.
pub(crate) fn header(summary: &str, version: &str, files: &[&str], notes: &[&str]) -> String {
    let mut out = format!("//! {summary}\n");
    out.push_str("//!\n");
    out.push_str("//! Generated by `cargo run -p systemd-tables -- write`; do not edit by hand.\n");
    if files.is_empty() {
        let _ = writeln!(out, "//! From the source of systemd {version}.");
    } else {
        let _ = writeln!(out, "//! Read from the source of systemd {version}:");
    }
    for f in files {
        let _ = writeln!(out, "//! - `{f}`");
    }
    for n in notes {
        out.push_str("//!\n");
        for line in wrap_words(n, WIDTH - 4) {
            let _ = writeln!(out, "//! {line}");
        }
    }
    out.push('\n');
    out
}

/// Doc comment lines (`/// ...`) for `text`, wrapped, with `indent`.
pub(crate) fn doc(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for para in text.split("\n\n") {
        if !out.is_empty() {
            let _ = writeln!(out, "{pad}///");
        }
        for line in wrap_words(para, WIDTH - indent - 4) {
            let _ = writeln!(out, "{pad}/// {line}");
        }
    }
    out
}

fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_lists() {
        let items: Vec<String> = (0..40).map(|i| lit(&format!("item{i}"))).collect();
        let text = wrapped(&items, 4);
        assert!(text.lines().all(|l| l.len() <= WIDTH && l.ends_with(',')));
        assert_eq!(text.matches("item").count(), 40);
    }
}
