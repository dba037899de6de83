//! All diffing: unified diffs of file text. Semantic changes between the
//! settings of two units are [`crate::Effective::changes`].

use std::fmt;

use similar::{Algorithm, ChangeTag, TextDiff};

pub use crate::effective::Change;
pub use crate::kind::Delta;

/// What a line of a unified diff is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineTag {
    /// In both.
    Context,
    /// Only in the old text.
    Delete,
    /// Only in the new text.
    Insert,
}

/// A hunk of a unified diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    /// The `@@ -a,b +c,d @@` header.
    pub header: String,
    /// The lines, without their newline.
    pub lines: Vec<(LineTag, String)>,
}

/// A unified diff as data: the caller decides on colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnifiedDiff {
    /// The old file's name.
    pub old_name: String,
    /// The new file's name.
    pub new_name: String,
    /// The hunks; empty when the texts are equal.
    pub hunks: Vec<Hunk>,
    /// Set when a text was too large to diff line by line (see
    /// [`UnifiedDiff::MAX_LINES`]); the texts differ but no hunks are given.
    pub too_large: Option<String>,
}

impl UnifiedDiff {
    /// Diffs two texts line by line (patience algorithm, three lines of
    /// context).
    pub fn new(old_name: &str, old: &str, new_name: &str, new: &str) -> UnifiedDiff {
        if old == new {
            // What the line diff gives equal texts, without diffing them.
            return UnifiedDiff {
                old_name: old_name.to_owned(),
                new_name: new_name.to_owned(),
                hunks: Vec::new(),
                too_large: None,
            };
        }
        let (old_lines, new_lines) = (old.lines().count(), new.lines().count());
        if old_lines.max(new_lines) > Self::MAX_LINES {
            // A line diff of a huge (or hostile) file can take quadratic
            // time; a time limit would make the output depend on the
            // machine, so a size limit it is.
            return UnifiedDiff {
                old_name: old_name.to_owned(),
                new_name: new_name.to_owned(),
                hunks: Vec::new(),
                too_large: Some(format!(
                    "files differ; no line diff of {old_lines} against {new_lines} lines (more than {})",
                    Self::MAX_LINES
                )),
            };
        }
        let diff = TextDiff::configure()
            .algorithm(Algorithm::Patience)
            .diff_lines(old, new);
        let hunks = diff
            .grouped_ops(3)
            .iter()
            .map(|group| {
                let (mut old_start, mut old_len, mut new_start, mut new_len) = (0, 0, 0, 0);
                if let (Some(first), Some(last)) = (group.first(), group.last()) {
                    old_start = first.old_range().start;
                    old_len = last.old_range().end - old_start;
                    new_start = first.new_range().start;
                    new_len = last.new_range().end - new_start;
                }
                let lines = group
                    .iter()
                    .flat_map(|op| diff.iter_changes(op))
                    .map(|c| {
                        let tag = match c.tag() {
                            ChangeTag::Equal => LineTag::Context,
                            ChangeTag::Delete => LineTag::Delete,
                            ChangeTag::Insert => LineTag::Insert,
                        };
                        (tag, c.value().trim_end_matches('\n').to_owned())
                    })
                    .collect();
                Hunk {
                    header: format!(
                        "@@ -{} +{} @@",
                        range(old_start, old_len),
                        range(new_start, new_len)
                    ),
                    lines,
                }
            })
            .collect();
        UnifiedDiff {
            old_name: old_name.to_owned(),
            new_name: new_name.to_owned(),
            hunks,
            too_large: None,
        }
    }

    /// The most lines a side may have for a line-by-line diff.
    pub const MAX_LINES: usize = 10_000;

    /// Whether the texts were equal.
    pub fn is_empty(&self) -> bool {
        self.hunks.is_empty() && self.too_large.is_none()
    }
}

/// `start,len` in unified-diff numbering (1-based; `start-1,0` when empty).
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

impl fmt::Display for UnifiedDiff {
    /// Plain unified diff text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        writeln!(f, "--- {}", self.old_name)?;
        writeln!(f, "+++ {}", self.new_name)?;
        if let Some(note) = &self.too_large {
            writeln!(f, "({note})")?;
        }
        for h in &self.hunks {
            writeln!(f, "{}", h.header)?;
            for (tag, line) in &h.lines {
                let sign = match tag {
                    LineTag::Context => ' ',
                    LineTag::Delete => '-',
                    LineTag::Insert => '+',
                };
                writeln!(f, "{sign}{line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_hunks_as_the_line_diff_finds() {
        let text = "[Service]\nPrivatePIDs=yes\n\n# x\nUMask=0027\n";
        let d = UnifiedDiff::new("a", text, "b", text);
        assert!(d.is_empty() && d.hunks.is_empty());
        let diff = TextDiff::configure()
            .algorithm(Algorithm::Patience)
            .diff_lines(text, text);
        assert!(diff.grouped_ops(3).is_empty());
        // A control: one changed line makes a hunk.
        assert!(!UnifiedDiff::new("a", text, "b", &text.replace("yes", "no")).is_empty());
    }
    #[test]
    fn unified_text() {
        let d = UnifiedDiff::new("a", "x\ny\nz\n", "b", "x\nY\nz\n");
        assert_eq!(
            d.to_string(),
            "--- a\n+++ b\n@@ -1,3 +1,3 @@\n x\n-y\n+Y\n z\n"
        );
        assert!(UnifiedDiff::new("a", "x\n", "b", "x\n").is_empty());
    }

    #[test]
    fn huge_texts_are_not_diffed_line_by_line() {
        let huge = "ReadOnlyPaths=/a\n".repeat(UnifiedDiff::MAX_LINES + 1);
        let d = UnifiedDiff::new("a", &huge, "b", "x\n");
        assert!(!d.is_empty());
        assert!(
            d.to_string()
                .contains("no line diff of 10001 against 1 lines"),
            "{d}"
        );
        assert!(UnifiedDiff::new("a", &huge, "b", &huge).is_empty());
    }
}
