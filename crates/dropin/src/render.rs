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
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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
            let _ = writeln!(out, "# {}", escape_controls(line));
        }
    }
}

fn provenance_comment(out: &mut String, p: &Provenance) {
    comment(out, &format!("{}: {}", p.origin, p.reason));
}

/// Renders a `[Service]` drop-in: the header comment (always), then the
/// settings in registry order, grouped as the test plan's Test 7 drop-in.
///
/// The output depends only on its inputs: fixed group and directive order,
/// no maps iterated in hash order, no timestamps. Every line ends in `\n`
/// and no line ends in a space.
pub fn dropin(header: &[String], composed: &Composed, options: RenderOptions) -> String {
    let mut out = String::new();
    for h in header {
        comment(&mut out, h);
    }
    out.push_str("[Service]\n");
    for group in Group::ALL {
        let mut body = String::new();
        let mut last: Option<&Provenance> = None;
        for d in Directive::ALL.iter().filter(|d| d.spec().group == *group) {
            if options.comments {
                for note in composed.notes().iter().filter(|n| n.directive == *d) {
                    comment(
                        &mut body,
                        &format!(
                            "{}= {} by {}: {}",
                            d.name(),
                            note.action,
                            note.provenance.origin,
                            note.provenance.reason
                        ),
                    );
                    last = None;
                }
            }
            if let Some(setting) = composed.get(*d) {
                setting_lines(&mut body, setting, options, &mut last);
            }
        }
        if body.is_empty() {
            continue;
        }
        out.push('\n');
        if options.comments {
            comment(&mut out, group.heading());
        }
        out.push_str(&body);
    }
    out
}

/// Writes a setting's lines, each preceded by its provenance unless the
/// line before (in the same group) had the same one.
fn setting_lines<'a>(
    out: &mut String,
    setting: &'a Setting,
    options: RenderOptions,
    last: &mut Option<&'a Provenance>,
) {
    for (a, p) in setting.assignments() {
        if options.comments && *last != Some(p) {
            provenance_comment(out, p);
        }
        *last = Some(p);
        out.push_str(&assignment_line(&a));
        out.push('\n');
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
