//! All text output: assignment lines, drop-in files, composition traces.

use std::fmt::Write as _;

use crate::compose::{Assignment, Composed, Provenance, Setting};
use crate::directive::{Directive, Group};
use crate::error::Result;
use crate::instance::Instance;
use crate::value::Value;

/// `Name=value`, or `Name=` for a reset.
pub fn assignment_line(a: &Assignment) -> String {
    match &a.value {
        Some(v) => format!("{}={v}", a.directive.name()),
        None => format!("{}=", a.directive.name()),
    }
}

/// How a drop-in is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Group headings, provenance and notes as comments.
    pub comments: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { comments: true }
    }
}

/// `text` with every control character but the tab written escaped
/// (`\n`, `\r`, `\0`, `\u{1b}`), so that it stays on one line and no byte
/// of it reaches a file systemd reads as anything but comment.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Appends [`escape_controls`]`(text)` to `out`.
fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = first_control(rest) {
        let (plain, tail) = rest.split_at(at);
        out.push_str(plain);
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            out.extend(c.escape_default());
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
}

/// Where the first control character but the tab is in `text`. Control
/// characters (`char::is_control`) are U+0000 to U+001F and U+007F to
/// U+009F: in UTF-8 a byte below 0x20, 0x7F, or 0xC2 (always a first
/// byte) followed by 0x80 to 0x9F; so the bytes are scanned, not chars.
fn first_control(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let at = from + candidate(bytes.get(from..)?)?;
        let b = bytes.get(at).copied().unwrap_or(0);
        let control = (b < 0x20 && b != b'\t')
            || b == 0x7f
            || (b == 0xc2 && bytes.get(at + 1).is_some_and(|n| (0x80..=0x9f).contains(n)));
        if control {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The first byte that can start a control character (below 0x20, 0x7F,
/// or 0xC2, which does when a C1 byte follows). Eight bytes are looked at
/// together: comment text is almost always plain, and is scanned per file.
fn candidate(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether a byte of `x` is below `n` (n <= 0x80), or equals `v`.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH != 0;
    let equals = |x: u64, v: u8| {
        let y = x ^ (ONES * u64::from(v));
        y.wrapping_sub(ONES) & !y & HIGH != 0
    };
    let is = |b: u8| b < 0x20 || b == 0x7f || b == 0xc2;
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        if below(x, 0x20) || equals(x, 0x7f) || equals(x, 0xc2) {
            return chunk.iter().position(|&b| is(b)).map(|i| base + i);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| is(b))
        .map(|i| base + i)
}

/// Writes a comment, one `# ` line per line of text, never a trailing
/// space, control characters escaped ([`escape_controls`]): comment text
/// can come from a host configuration.
pub(crate) fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        // Provenance text may end in whitespace; the file never does.
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            push_escaped(out, line);
            out.push('\n');
        }
    }
}

/// Writes the comment of `parts` joined, through `scratch` (reused, so
/// that no comment allocates once it is large enough).
fn comment_of(out: &mut String, scratch: &mut String, parts: &[&str]) {
    // One line that does not end in whitespace, the usual provenance: the
    // parts go straight to `out`, as `comment` would write them.
    let one_line = !parts.iter().any(|p| p.contains('\n'));
    let ends_plain = parts
        .iter()
        .rev()
        .find_map(|p| p.chars().next_back())
        .is_some_and(|c| !c.is_whitespace());
    if one_line && ends_plain {
        out.push_str("# ");
        for p in parts {
            push_escaped(out, p);
        }
        out.push('\n');
        return;
    }
    scratch.clear();
    for p in parts {
        scratch.push_str(p);
    }
    comment(out, scratch);
}

/// Renders a `[Service]` drop-in: the header comment (always), then the
/// settings in registry order, grouped as the test plan's Test 7 drop-in.
///
/// The output depends only on its inputs: fixed group and directive order,
/// no maps iterated in hash order, no timestamps. Every line ends in `\n`
/// and no line ends in a space.
pub fn dropin(header: &[String], composed: &Composed, options: RenderOptions) -> String {
    let mut out = String::with_capacity(4096);
    dropin_into(&mut out, header, composed, options);
    out
}

/// [`dropin`], appended to `out`: one buffer, no allocation per line.
pub fn dropin_into(
    out: &mut String,
    header: &[String],
    composed: &Composed,
    options: RenderOptions,
) {
    for h in header {
        comment(out, h);
    }
    body(out, composed, options, None);
}

/// A template's drop-in rendered once, with the place of every value that
/// uses `%i`/`%I` marked: an instance's drop-in is the text with those
/// values resolved, byte for byte what [`dropin_into`] gives for the
/// template's [`Composed::for_instance`], without rendering the rest again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The body: `[Service]` and everything after it.
    text: String,
    /// Each marked value: its byte range in `text`, and the value.
    holes: Vec<Hole>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Hole {
    start: usize,
    end: usize,
    value: Value,
}

impl Template {
    /// Renders `composed` (a template's composition) once.
    pub fn new(composed: &Composed, options: RenderOptions) -> Template {
        let mut text = String::with_capacity(4096);
        let mut holes = Vec::new();
        body(&mut text, composed, options, Some(&mut holes));
        Template { text, holes }
    }

    /// Appends the drop-in of `instance` to `out`: `header` as comments,
    /// then the body with `%i`/`%I` resolved. An instance that would make
    /// a value unsafe is refused as [`Composed::for_instance`] refuses it;
    /// `out` is then as it was.
    pub fn render_into(
        &self,
        out: &mut String,
        header: &[String],
        instance: &Instance,
    ) -> Result<()> {
        let mark = out.len();
        for h in header {
            comment(out, h);
        }
        let mut at = 0;
        for hole in &self.holes {
            let resolved = match hole.value.resolve_instance(instance) {
                Ok(v) => v,
                Err(e) => {
                    out.truncate(mark);
                    return Err(e);
                }
            };
            out.push_str(self.text.get(at..hole.start).unwrap_or_default());
            let _ = write!(out, "{resolved}");
            at = hole.end;
        }
        out.push_str(self.text.get(at..).unwrap_or_default());
        Ok(())
    }
}

/// Writes the body of a drop-in, recording in `holes` (when given) where
/// each value that uses `%i` is.
fn body(
    out: &mut String,
    composed: &Composed,
    options: RenderOptions,
    mut holes: Option<&mut Vec<Hole>>,
) {
    let mut scratch = String::new();
    out.push_str("[Service]\n");
    // The directives with a setting or a note, in registry order (the
    // settings are kept in it); each group takes its own, in that order.
    let mut present: Vec<Directive> = composed.settings().map(|(d, _)| d).collect();
    if options.comments {
        present.extend(composed.notes().iter().map(|n| n.directive));
        present.sort_unstable();
        present.dedup();
    }
    for group in Group::ALL {
        // The group's heading, taken back if nothing follows it.
        let mark = out.len();
        out.push('\n');
        if options.comments {
            comment(out, group.heading());
        }
        let body = out.len();
        let mut last: Option<&Provenance> = None;
        for d in present.iter().filter(|d| d.spec().group == *group) {
            if options.comments {
                for note in composed.notes().iter().filter(|n| n.directive == *d) {
                    let action = note.action.as_str();
                    comment_of(
                        out,
                        &mut scratch,
                        &[
                            d.name(),
                            "= ",
                            action,
                            " by ",
                            &note.provenance.origin,
                            ": ",
                            &note.provenance.reason,
                        ],
                    );
                    last = None;
                }
            }
            if let Some(setting) = composed.get(*d) {
                setting_lines(
                    out,
                    &mut scratch,
                    setting,
                    options,
                    &mut last,
                    holes.as_deref_mut(),
                );
            }
        }
        if out.len() == body {
            out.truncate(mark);
        }
    }
}

/// Writes a setting's lines, each preceded by its provenance unless the
/// line before (in the same group) had the same one.
fn setting_lines<'a>(
    out: &mut String,
    scratch: &mut String,
    setting: &'a Setting,
    options: RenderOptions,
    last: &mut Option<&'a Provenance>,
    mut holes: Option<&mut Vec<Hole>>,
) {
    let mut line = |a: &Assignment, p: &'a Provenance| {
        if options.comments && *last != Some(p) {
            comment_of(out, scratch, &[&p.origin, ": ", &p.reason]);
        }
        *last = Some(p);
        out.push_str(a.directive.name());
        out.push('=');
        if let Some(v) = &a.value {
            let start = out.len();
            let _ = write!(out, "{v}");
            if let Some(holes) = holes.as_deref_mut()
                && v.uses_instance()
            {
                holes.push(Hole {
                    start,
                    end: out.len(),
                    value: v.clone(),
                });
            }
        }
        out.push('\n');
    };
    match setting {
        Setting::Single(l) => line(&l.assignment, &l.provenance),
        Setting::List {
            directive,
            reset,
            lines,
        } => {
            if let Some(p) = reset {
                let reset = Assignment {
                    directive: *directive,
                    value: None,
                };
                line(&reset, p);
            }
            for l in lines {
                line(&l.assignment, &l.provenance);
            }
        }
    }
}

/// The composition trace, layer by layer: what each layer did to which
/// directive, and why.
pub fn trace(composed: &Composed) -> String {
    let mut out = String::new();
    let mut layer: Option<&str> = None;
    for e in composed.trace() {
        if layer != Some(&*e.layer) {
            if layer.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", e.layer);
            layer = Some(&e.layer);
        }
        let detail = if e.detail.is_empty() {
            format!("{}=", e.directive.name())
        } else {
            e.detail.clone()
        };
        let _ = writeln!(out, "  {:<8} {detail}", e.action);
        let _ = writeln!(
            out,
            "  {:<8} ({}: {})",
            "", e.provenance.origin, e.provenance.reason
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_of_parts_is_the_comment_of_their_text() {
        let pieces = [
            "",
            "Test 7",
            ": ",
            "a reason",
            "ends in space ",
            "tab\t",
            "two\nlines",
            "\r",
            "nel\u{85}",
            "\u{1b}esc",
            "  ",
            "\u{a0}",
            "x",
        ];
        let mut scratch = String::new();
        let mut cases = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let parts = [a, b, c];
                    let mut got = String::from("kept\n");
                    comment_of(&mut got, &mut scratch, &parts);
                    let mut want = String::from("kept\n");
                    comment(&mut want, &parts.concat());
                    assert_eq!(got, want, "{parts:?}");
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, pieces.len().pow(3));
    }

    #[test]
    fn control_characters_are_found_as_char_is_control_finds_them() {
        let by_char = |t: &str| t.find(|c: char| c.is_control() && c != '\t');
        let mut texts: Vec<String> = (0u32..0x800)
            .filter_map(char::from_u32)
            .map(|c| format!("a\u{e9}{c}b"))
            .collect();
        texts.extend(["", "\t", "plain", "\u{85}", "\u{a0}\u{9f}", "é\u{7f}"].map(str::to_owned));
        // Every offset within and across the eight-byte words scanned.
        let shifted: Vec<String> = texts
            .iter()
            .step_by(7)
            .flat_map(|t| {
                (1..18).map(move |k| format!("{}{t}{}", "p".repeat(k), "q".repeat(k % 5)))
            })
            .collect();
        for t in &shifted {
            assert_eq!(first_control(t), by_char(t), "{t:?}");
        }
        let mut found = 0;
        for t in &texts {
            assert_eq!(first_control(t), by_char(t), "{t:?}");
            found += usize::from(first_control(t).is_some());
        }
        // A control: the C0 set but the tab, DEL and the C1 set.
        assert_eq!(found, 31 + 1 + 32 + 3);
        assert_eq!(escape_controls("a\u{1b}b\u{85}\tc"), "a\\u{1b}b\\u{85}\tc");
    }
}
