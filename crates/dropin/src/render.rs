//! All text output: assignment lines, drop-in files, composition traces.

use std::fmt::Write as _;

use crate::compose::{Assignment, Composed, Provenance, Setting};
use crate::directive::{Directive, Group};

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
    bytes.iter().enumerate().find_map(|(i, &b)| {
        let control = (b < 0x20 && b != b'\t')
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)));
        control.then_some(i)
    })
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
    let mut scratch = String::new();
    for h in header {
        comment(out, h);
    }
    out.push_str("[Service]\n");
    for group in Group::ALL {
        // The group's heading, taken back if nothing follows it.
        let mark = out.len();
        out.push('\n');
        if options.comments {
            comment(out, group.heading());
        }
        let body = out.len();
        let mut last: Option<&Provenance> = None;
        for d in in_group(*group) {
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
                setting_lines(out, &mut scratch, setting, options, &mut last);
            }
        }
        if out.len() == body {
            out.truncate(mark);
        }
    }
}

/// The registry's directives of `group`, in registry order (worked out
/// once per process).
fn in_group(group: Group) -> &'static [Directive] {
    static ORDER: std::sync::OnceLock<Vec<(Group, Vec<Directive>)>> = std::sync::OnceLock::new();
    ORDER
        .get_or_init(|| {
            Group::ALL
                .iter()
                .map(|g| {
                    let members = Directive::ALL
                        .iter()
                        .copied()
                        .filter(|d| d.spec().group == *g)
                        .collect();
                    (*g, members)
                })
                .collect()
        })
        .iter()
        .find(|(g, _)| *g == group)
        .map_or(&[], |(_, members)| members.as_slice())
}

/// Writes a setting's lines, each preceded by its provenance unless the
/// line before (in the same group) had the same one.
fn setting_lines<'a>(
    out: &mut String,
    scratch: &mut String,
    setting: &'a Setting,
    options: RenderOptions,
    last: &mut Option<&'a Provenance>,
) {
    let mut line = |a: &Assignment, p: &'a Provenance| {
        if options.comments && *last != Some(p) {
            comment_of(out, scratch, &[&p.origin, ": ", &p.reason]);
        }
        *last = Some(p);
        out.push_str(a.directive.name());
        out.push('=');
        if let Some(v) = &a.value {
            let _ = write!(out, "{v}");
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
        if layer != Some(e.layer.as_str()) {
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
    fn control_characters_are_found_as_char_is_control_finds_them() {
        let by_char = |t: &str| t.find(|c: char| c.is_control() && c != '\t');
        let mut texts: Vec<String> = (0u32..0x800)
            .filter_map(char::from_u32)
            .map(|c| format!("a\u{e9}{c}b"))
            .collect();
        texts.extend(["", "\t", "plain", "\u{85}", "\u{a0}\u{9f}", "é\u{7f}"].map(str::to_owned));
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
